"""Quiet hours: whether a promotional message may go to a number now, and when it may if not.

    rule = QuietRule.parse({"region": "FR", "days": "mon-sat", "start": "08:00",
                            "end": "20:00", "holidays": True, "action": "hold"})
    check("+33612345678", datetime(2025, 6, 9, 10, 0, tzinfo=UTC), [rule])
      -> Verdict(allowed=False, refused_by=(rule,), action="hold",
                 next_open=datetime(2025, 6, 10, 6, 0, tzinfo=UTC))
         (Whit Monday; Tuesday 08:00 in Paris is 06:00 UTC)

**A rule** (``[[quiet_hours]]``) allows sending in its region's local time on
its ``days`` ("mon-sat", "mon-fri,sun", "fri-mon" wraps), from ``start``
(inclusive) to ``end`` (exclusive, "24:00" allowed), and, with ``holidays =
true``, not on the public holidays of the region's country
(:mod:`rules.sendtime.holidays`; "US-FL" uses the US calendar). A window never
crosses midnight (``start`` < ``end``), so ``days`` always means the local day
the message is sent on. ``action`` is "hold" (deliver when the window opens) or
"reject" (answer ``quiet_status``).

**A number** is placed by :func:`rules.sendtime.zones.placement`: its regions
("US", "US-FL") and the zones it may be in. The rules that apply are those whose
region is one of the number's regions: a Florida number gets the US rule and the
US-FL rule, each in full. The number may be sent to at an instant only when
every applicable rule allows it in every zone the number may be in: a US
toll-free number (every US zone, Hawaii to Eastern) may be texted under the TCPA
between 08:00 Hawaii time and 21:00 Eastern time, i.e. when it is 08:00-21:00
everywhere at once; zones with no common window (a 3-hour window over a
Russian mobile's zones, UTC+3 to UTC+12) are never open. A number with no
applicable rule is always allowed; so is a number of no country (+882...).

**The verdict** says whether sending is allowed, which rules refuse (each one
that refuses in at least one zone), and ``next_open``: the earliest instant (UTC)
at or after ``now`` at which every applicable rule allows sending in every zone,
looked for up to :data:`HORIZON` (14 days) ahead, ``None`` if there is none. It
is exact to the second across DST changes: candidate instants are each zone's
local window starts on each day (both readings of an ambiguous local time) and
each zone's UTC offset changes, each checked with the same test as ``now``, so a
window opening at 02:30 on a spring-forward night opens at the jump. Its
``action`` is "reject" when any refusing rule says reject, or when there is no
``next_open`` (a message that could never be released is not held), else "hold".

:func:`closed_regions` finds configurations that can never send to a region
(two rules for "CA", one "mon-fri" and one "sat-sun", both apply to every number,
so nothing is ever allowed): the config loader should refuse them.

Cost (dev box, CPython 3.11): ~4 µs for a number whose rules allow sending
(one UTC->local conversion per zone, a set lookup per rule). A refusal also
looks for ``next_open``: ~30 µs for a one-zone number, ~120 µs for a US
toll-free number (11 zones), once the zones' UTC offsets for the days searched
are cached (the first search of a zone and day costs ~0.1-1 ms).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

import phonenumbers

from rules.sendtime.holidays import CALENDARS, calendar_country, has_calendar, is_holiday
from rules.sendtime.zones import Placement, placement

__all__ = [
    "HORIZON",
    "Action",
    "QuietRule",
    "Verdict",
    "applicable",
    "check",
    "closed_regions",
    "format_days",
    "normalize_region",
    "parse_days",
]

Action = Literal["hold", "reject"]
ACTIONS: tuple[Action, ...] = ("hold", "reject")
#: How far ahead ``next_open`` is looked for.
HORIZON = timedelta(days=14)
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60

_TIME = re.compile(r"([01][0-9]|2[0-4]):([0-5][0-9])")
_REGION = re.compile(r"([A-Z]{2})(?:-([A-Z0-9]{1,3}))?")
_RULE_KEYS = frozenset({"region", "days", "start", "end", "holidays", "action",
                        "source", "certainty"})


@dataclass(frozen=True, slots=True)
class QuietRule:
    """One allowed sending window in a region's local time.

    ``days`` are weekday numbers (0 = Monday); ``start``/``end`` minutes after local
    midnight, ``start`` inclusive, ``end`` exclusive (1440 = "24:00"). ``source``
    says where the rule comes from (a law and its article, a regulator's or an
    industry code, or "config"), ``certainty`` how sure that reading is
    ("high", "medium", "low"; "own" for the operator's own rules).
    """

    region: str
    days: frozenset[int]
    start: int
    end: int
    holidays: bool = False
    action: Action = "hold"
    source: str = "config"
    certainty: str = "own"

    def __post_init__(self) -> None:
        check_normalized_region(self.region)
        if not self.days or not self.days <= frozenset(range(7)):
            raise ValueError(f"days: {sorted(self.days)} are not weekdays 0-6")
        if not 0 <= self.start < self.end <= MINUTES_PER_DAY:
            raise ValueError(f"start {_hhmm(self.start)} must be before end {_hhmm(self.end)} "
                             "on the same day (windows do not cross midnight)")
        if self.action not in ACTIONS:
            raise ValueError(f"action: {self.action!r} is not one of {', '.join(ACTIONS)}")
        if self.holidays and not has_calendar(self.region):
            raise ValueError(f"holidays: no public holiday calendar for {self.region} "
                             f"(known: {', '.join(sorted(CALENDARS))})")

    @classmethod
    def parse(cls, table: Mapping[str, Any], *, source: str = "config",
              certainty: str = "own") -> QuietRule:
        """A rule from a ``[[quiet_hours]]`` table (ValueError naming the bad key).

        ``region``, ``start`` and ``end`` are required; ``days`` defaults to
        "mon-sun", ``holidays`` to false, ``action`` to "hold". A ``source`` or
        ``certainty`` key in the table wins over the arguments (the packs' data uses them).
        """
        check_keys(table, _RULE_KEYS, ("region", "start", "end"))
        holidays = table.get("holidays", False)
        if not isinstance(holidays, bool):
            raise ValueError(f"holidays: expected true or false, got {holidays!r}")
        action = table.get("action", "hold")
        if action not in ACTIONS:
            raise ValueError(f"action: {action!r} is not one of {', '.join(ACTIONS)}")
        return cls(
            region=normalize_region(_text(table, "region")),
            days=parse_days(_text(table, "days", "mon-sun")),
            start=_parse_time(_text(table, "start"), "start", allow_24=False),
            end=_parse_time(_text(table, "end"), "end", allow_24=True),
            holidays=holidays,
            action=cast(Action, action),
            source=_text(table, "source", source),
            certainty=_text(table, "certainty", certainty),
        )

    @property
    def window(self) -> str:
        """The rule as text: "FR mon-sat 08:00-20:00, not on public holidays"."""
        text = f"{self.region} {format_days(self.days)} {_hhmm(self.start)}-{_hhmm(self.end)}"
        return text + (", not on public holidays" if self.holidays else "")

    def allows_local(self, local: datetime) -> bool:
        """Whether the rule allows sending at this local (zone-aware) time."""
        if local.weekday() not in self.days:
            return False
        if not self.start <= local.hour * 60 + local.minute < self.end:
            return False
        return not (self.holidays and is_holiday(self.region, local.date()))


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a message may be sent now (see the module docstring).

    ``next_open`` is UTC, equal to ``now`` when allowed. ``action`` is None when
    allowed. ``rules`` are the rules that applied to the number.
    """

    allowed: bool
    refused_by: tuple[QuietRule, ...]
    next_open: datetime | None
    action: Action | None
    rules: tuple[QuietRule, ...] = ()


def check(number: str | Placement, now: datetime, rules: Iterable[QuietRule],
          *, horizon: timedelta = HORIZON) -> Verdict:
    """Whether a promotional message may go to ``number`` at ``now`` under ``rules``.

    ``number`` is an E.164 string or a :class:`Placement` already looked up; ``now``
    must be timezone-aware.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    where = placement(number) if isinstance(number, str) else number
    rules_here = applicable(where, rules)
    if not rules_here:
        return Verdict(True, (), now, None)
    zones = tuple(_zone(name) for name in where.zones)
    if not zones:
        # A number with rules but no known zone: never known to be inside a window.
        return Verdict(False, rules_here, None, "reject", rules_here)
    refused = _refusing(rules_here, zones, now)
    if not refused:
        return Verdict(True, (), now, None, rules_here)
    opens = _next_open(rules_here, zones, now, horizon)
    rejects = opens is None or any(rule.action == "reject" for rule in refused)
    return Verdict(False, refused, opens, "reject" if rejects else "hold", rules_here)


def applicable(number: str | Placement, rules: Iterable[QuietRule]) -> tuple[QuietRule, ...]:
    """The rules whose region is one of the number's regions, in the order given."""
    where = placement(number) if isinstance(number, str) else number
    return tuple(rule for rule in rules if rule.region in where.regions)


def closed_regions(rules: Iterable[QuietRule]) -> tuple[str, ...]:
    """Regions no message could ever be sent to: the rules that apply there share no window.

    A rule for "US-FL" applies with the rules for "US" (a Florida number has both
    regions). Holidays and zones are not considered: this is about a week's windows.
    """
    rules = tuple(rules)
    closed = []
    for region in sorted({rule.region for rule in rules}):
        country = region.split("-", 1)[0]
        here = [rule for rule in rules if rule.region in (region, country)]
        days = frozenset(range(7)).intersection(*(rule.days for rule in here))
        if not days or max(r.start for r in here) >= min(r.end for r in here):
            closed.append(region)
    return tuple(closed)


def parse_days(text: str) -> frozenset[int]:
    """ "mon-sat" -> {0..5}; "mon-fri,sun"; "fri-mon" wraps round the week; "sun" alone."""
    days: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        first, dash, last = part.partition("-")
        if first not in DAY_NAMES or (dash and last not in DAY_NAMES):
            raise ValueError(f"days: {text!r} is not a list of days or ranges like "
                             "\"mon-sat\" or \"mon-fri,sun\"")
        start = DAY_NAMES.index(first)
        stop = DAY_NAMES.index(last) if last else start
        days.update((start + i) % 7 for i in range((stop - start) % 7 + 1))
    return frozenset(days)


def format_days(days: Iterable[int]) -> str:
    """{0..5} -> "mon-sat"; {0..4, 6} -> "mon-fri,sun" (runs of three or more as ranges)."""
    wanted = sorted(set(days))
    parts: list[str] = []
    i = 0
    while i < len(wanted):
        j = i
        while j + 1 < len(wanted) and wanted[j + 1] == wanted[j] + 1:
            j += 1
        if j - i >= 2:
            parts.append(f"{DAY_NAMES[wanted[i]]}-{DAY_NAMES[wanted[j]]}")
        else:
            parts.extend(DAY_NAMES[d] for d in wanted[i:j + 1])
        i = j + 1
    return ",".join(parts)


def check_keys(table: Mapping[str, Any], allowed: Iterable[str],
               required: Iterable[str]) -> None:
    """ValueError for a key of ``table`` not in ``allowed``, or a ``required`` one missing."""
    allowed = set(allowed)
    unknown = set(table) - allowed
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(sorted(unknown))}; "
                         f"expected {', '.join(sorted(allowed))}")
    for key in required:
        if key not in table:
            raise ValueError(f"{key}: required")


def check_normalized_region(region: str) -> None:
    """ValueError unless ``region`` is already as normalize_region writes it (a rule built
    in code, not parsed, must say "US-FL", not "us-fl")."""
    if normalize_region(region) != region:
        raise ValueError(f"region: write {normalize_region(region)!r}, not {region!r}")


def normalize_region(text: str) -> str:
    """ "fr" -> "FR", "us-fl" -> "US-FL", "UK" -> "GB"; ValueError for an unknown country."""
    region = text.strip().upper()
    match = _REGION.fullmatch(region)
    if not match:
        raise ValueError(f"region: {text!r} is not a country (\"FR\") or a subdivision "
                         "(\"US-FL\")")
    country = calendar_country(match.group(1))
    if country not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"region: {text!r}: no country {match.group(1)}")
    return country + (f"-{match.group(2)}" if match.group(2) else "")


def _refusing(rules: Sequence[QuietRule], zones: Sequence[ZoneInfo],
              instant: datetime) -> tuple[QuietRule, ...]:
    locals_ = [instant.astimezone(zone) for zone in zones]
    return tuple(rule for rule in rules
                 if not all(rule.allows_local(local) for local in locals_))


def _allowed(rules: Sequence[QuietRule], zones: Sequence[ZoneInfo], instant: datetime) -> bool:
    for zone in zones:
        local = instant.astimezone(zone)
        if not all(rule.allows_local(local) for rule in rules):
            return False
    return True


def _next_open(rules: Sequence[QuietRule], zones: Sequence[ZoneInfo], now: datetime,
               horizon: timedelta) -> datetime | None:
    """The first instant in (now, now + horizon] every rule allows in every zone.

    The allowed set of one rule in one zone only starts at a local window start
    (the minute of day reaches ``start``; a start of 00:00 covers the change of
    day) or at a change of the zone's UTC offset (the local clock jumps); so does
    an intersection of such sets. Those instants are the candidates, looked at one
    UTC day at a time so that a window opening soon costs one day's work.
    """
    limit = now + horizon
    starts = sorted({rule.start for rule in rules})
    day = datetime.combine(now.date(), time(), tzinfo=UTC)
    while day <= limit:
        following = day + timedelta(days=1)
        candidates: set[datetime] = set()
        for zone in zones:
            first = day.astimezone(zone).date()
            last = following.astimezone(zone).date()
            for offset in range((last - first).days + 1):
                for start in starts:
                    candidates.update(_instants(first + timedelta(days=offset), start, zone))
            candidates.update(_offset_changes(zone, day.date()))
        for candidate in sorted(c for c in candidates
                                if day <= c < following and now < c <= limit):
            if _allowed(rules, zones, candidate):
                return candidate
        day = following
    return None


def _instants(day: date, minute: int, zone: ZoneInfo) -> tuple[datetime, ...]:
    """The UTC instants the wall time (day, minute) names in a zone (both folds)."""
    wall = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)
    return (wall.astimezone(UTC), wall.replace(fold=1).astimezone(UTC))


@lru_cache(maxsize=4096)
def _offset_changes(zone: ZoneInfo, day: date) -> tuple[datetime, ...]:
    """The instants of a UTC day at which the zone's UTC offset changes (exact to the second).

    Offsets are sampled hourly (no zone changes twice within an hour), then each
    change is narrowed down by bisection over whole seconds.
    """
    changes = []
    low = int(datetime.combine(day, time(), tzinfo=UTC).timestamp())
    end = low + 86_400
    offset = _offset_at(zone, low)
    while low < end:
        high = low + 3600
        if _offset_at(zone, high) != offset:
            lo, hi = low, high
            while hi - lo > 1:
                middle = (lo + hi) // 2
                if _offset_at(zone, middle) == offset:
                    lo = middle
                else:
                    hi = middle
            if hi < end:
                changes.append(datetime.fromtimestamp(hi, UTC))
            offset = _offset_at(zone, high)
        low = high
    return tuple(changes)


def _offset_at(zone: ZoneInfo, epoch_seconds: int) -> timedelta | None:
    return datetime.fromtimestamp(epoch_seconds, zone).utcoffset()


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _text(table: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise ValueError(f"{key}: expected a string, got {value!r}")
    return value


def _parse_time(text: str, key: str, *, allow_24: bool) -> int:
    match = _TIME.fullmatch(text.strip())
    if not match:
        raise ValueError(f"{key}: {text!r} is not a time like \"08:00\"")
    minutes = int(match.group(1)) * 60 + int(match.group(2))
    if minutes > MINUTES_PER_DAY or (minutes == MINUTES_PER_DAY and not allow_24):
        raise ValueError(f"{key}: {text!r} is not a time of day"
                         + (" (\"24:00\" is allowed as an end)" if not allow_24 else ""))
    return minutes


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
