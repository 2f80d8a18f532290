"""Frequency caps: how many promotional messages a recipient may get from one account, per window.

    cap = FrequencyCap.parse({"region": "US-FL", "max": 3, "per": "24h", "action": "reject"})
    cap.window_ms                          -> 86_400_000
    caps_for("+13055550123", [cap])        -> (cap,)        (a Florida number)
    caps_for("+33612345678", [cap])        -> ()
    cap_key("acme", "+13055550123", cap)   -> "fc:{acme|13055550123}:US-FL:86400000"
    allows(sent_in_window=2, cap=cap)      -> True   (the 3rd may go)
    allows(sent_in_window=3, cap=cap)      -> False  (a 4th answers cap_status)

A cap (``[[frequency_caps]]``) applies to a number when its region is one of the
number's regions (:func:`rules.sendtime.zones.placement`: "US" and "US-FL" for a
Florida number), like quiet hours; every cap that applies must allow the message.
``per`` is a whole number of seconds, minutes, hours or days ("90s", "30m",
"24h", "7d"); the window is rolling (the last ``per`` before the send, not a
calendar day). ``action`` is "reject" (answer ``cap_status``), the only action:
holding a message until the window rolls would deliver a burst later.

Counting is the gateway's, in Redis, at the moment a message is sent (at release
for a held one), per sender account and recipient. This module gives it the key
and the window; the intended shape is one sorted set per key, members the
messages, scores their send times in ms, and one Lua script per message over all
the caps that apply:

    for each key: ZREMRANGEBYSCORE key -inf (now - window_ms); n = ZCARD key
    if every n < max: for each key: ZADD key now msg_id; PEXPIRE key window_ms

Every key of one (account, recipient) carries the same hash tag
``{account|digits}``, so on a Redis Cluster they live in one slot and one script
can check and count them together. The key names the region and the window, not
``max``: changing a cap's maximum keeps its count, changing its window starts a
new one. Two caps with the same region and window share a count (their maxima
both apply to it).

The laws the packs cite count calls "on the same subject matter" (Florida,
Oklahoma); a gateway cannot tell subjects apart, so it counts every promotional
message of the account: stricter than the law, never looser.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from rules.sendtime.quiet import check_keys, check_normalized_region, normalize_region
from rules.sendtime.zones import Placement, placement

__all__ = [
    "CapAction",
    "FrequencyCap",
    "allows",
    "cap_key",
    "caps_for",
    "format_window",
    "parse_window",
]

CapAction = Literal["reject"]
_UNITS_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_WINDOW = re.compile(r"([1-9][0-9]{0,6})\s*([smhd])")
_CAP_KEYS = frozenset({"region", "max", "per", "action", "source", "certainty"})
#: The prefix of every cap key in Redis.
KEY_PREFIX = "fc:"


@dataclass(frozen=True, slots=True)
class FrequencyCap:
    """At most ``max`` promotional messages per recipient per account in ``window_ms``."""

    region: str
    max: int
    window_ms: int
    action: CapAction = "reject"
    source: str = "config"
    certainty: str = "own"

    def __post_init__(self) -> None:
        check_normalized_region(self.region)
        if isinstance(self.max, bool) or not isinstance(self.max, int) or self.max < 1:
            raise ValueError(f"max: expected a whole number of messages >= 1, got {self.max!r}")
        if self.window_ms < 1000:
            raise ValueError(f"per: a window of at least one second, got {self.window_ms} ms")
        if self.action != "reject":
            raise ValueError(f"action: {self.action!r}; a frequency cap can only \"reject\"")

    @classmethod
    def parse(cls, table: Mapping[str, Any], *, source: str = "config",
              certainty: str = "own") -> FrequencyCap:
        """A cap from a ``[[frequency_caps]]`` table (ValueError naming the bad key).

        ``region``, ``max`` and ``per`` are required; ``action`` defaults to "reject".
        """
        check_keys(table, _CAP_KEYS, ("region", "max", "per"))
        region, per = table["region"], table["per"]
        if not isinstance(region, str):
            raise ValueError(f"region: expected a string, got {region!r}")
        if not isinstance(per, str):
            raise ValueError(f"per: expected a duration like \"24h\", got {per!r}")
        return cls(
            region=normalize_region(region),
            max=table["max"],
            window_ms=parse_window(per),
            action=table.get("action", "reject"),
            source=str(table.get("source", source)),
            certainty=str(table.get("certainty", certainty)),
        )

    @property
    def per(self) -> str:
        """The window as written in config, canonical: "24h", "7d", "30m"."""
        return format_window(self.window_ms)

    @property
    def description(self) -> str:
        """ "US-FL: at most 3 per 24h"."""
        return f"{self.region}: at most {self.max} per {self.per}"


def parse_window(text: str) -> int:
    """ "24h" -> 86_400_000 (ms); "7d", "30m", "90s"; ValueError otherwise."""
    match = _WINDOW.fullmatch(text.strip().lower())
    if not match:
        raise ValueError(f"per: {text!r} is not a duration like \"30m\", \"24h\" or \"7d\"")
    return int(match.group(1)) * _UNITS_MS[match.group(2)]


def format_window(window_ms: int) -> str:
    """86_400_000 -> "24h" (the largest unit of hours, minutes, seconds that divides it;
    days only past 48 hours, so a law's "24 hours" reads as written)."""
    if window_ms % _UNITS_MS["d"] == 0 and window_ms > 2 * _UNITS_MS["d"]:
        return f"{window_ms // _UNITS_MS['d']}d"
    for unit in ("h", "m", "s"):
        if window_ms % _UNITS_MS[unit] == 0:
            return f"{window_ms // _UNITS_MS[unit]}{unit}"
    return f"{window_ms}ms"


def caps_for(number: str | Placement, caps: Iterable[FrequencyCap]) -> tuple[FrequencyCap, ...]:
    """The caps whose region is one of the number's regions, in the order given."""
    where = placement(number) if isinstance(number, str) else number
    return tuple(cap for cap in caps if cap.region in where.regions)


def cap_key(account: str, e164: str, cap: FrequencyCap) -> str:
    """The Redis key counting ``cap`` for one account and recipient (see the module docstring)."""
    return f"{KEY_PREFIX}{{{account}|{e164.removeprefix('+')}}}:{cap.region}:{cap.window_ms}"


def allows(sent_in_window: int, cap: FrequencyCap) -> bool:
    """Whether one more message may go when ``sent_in_window`` went in the last window."""
    return sent_in_window < cap.max
