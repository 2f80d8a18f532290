"""Public holidays, computed per country and year from rules (no per-year lists).

    easter(2025)                          -> date(2025, 4, 20)
    is_holiday("FR", date(2025, 6, 9))    -> True   (Whit Monday)
    is_holiday("US-FL", date(2026, 11, 26)) -> True (Thanksgiving: a subdivision uses
                                                     its country's national calendar)
    [h.name for h in holidays("GB", 2026) if h.observed] -> ["Boxing Day (substitute)"]

Each calendar is a tuple of rules of four kinds:

- a fixed date (``_Fixed``: 14 July, 25 December), optionally with a substitute
  rule for when it falls on a weekend;
- an offset from Easter Sunday (``_Easter``: Good Friday -2, Easter Monday +1,
  Ascension +39, Whit Monday +50, Corpus Christi +60), Easter computed with the
  anonymous Gregorian algorithm (Meeus/Jones/Butcher), valid for every Gregorian year;
- the n-th (or last) weekday of a month (``_NthWeekday``: US Thanksgiving is the
  4th Thursday of November, the UK spring bank holiday the last Monday of May);
- a weekday on or before a date (``_WeekdayOnOrBefore``: Canada's Victoria Day
  is the Monday on or before 24 May, i.e. the Monday preceding 25 May).

Substitute days, only where a rule says so:

- ``us``: 5 U.S.C. 6103(b): a federal holiday on a Saturday is observed on the
  Friday before, on a Sunday on the Monday after (New Year's Day on a Saturday is
  observed on 31 December of the year before, which is why a year's calendar is
  built from its neighbours too);
- ``next_weekday``: UK bank holidays (Banking and Financial Dealings Act 1971, as
  proclaimed each year): a holiday on a Saturday or Sunday gets the next weekday
  that is not already a holiday (Christmas on Saturday -> Monday 27, Boxing Day on
  Sunday -> Tuesday 28);
- ``sunday_to_monday``: Canada Day (Holidays Act, s. 2): on a Sunday, 2 July is
  the holiday;
- ``sunday_to_saturday``: the Dutch King's Day: on a Sunday it moves to Saturday
  26 April (the 27th is then no holiday).

A substitute day is listed with ``observed=True`` and the actual date stays a
holiday (Christmas Day is a holiday even on a Saturday), except King's Day,
which moves.

The calendars are national only: a German Land's, a Spanish comunidad's or an
Alsace-Moselle holiday is not in them, and the UK calendar is England and
Wales (a number does not say whether it is in Scotland or Northern Ireland).
One-off holidays proclaimed for a single year (a coronation, a jubilee) are
not computable and not included. ``"UK"`` is accepted for ``"GB"``.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Literal

__all__ = [
    "CALENDARS",
    "Holiday",
    "calendar_country",
    "easter",
    "has_calendar",
    "holidays",
    "is_holiday",
]

Substitute = Literal["none", "us", "next_weekday", "sunday_to_monday", "sunday_to_saturday"]

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


@dataclass(frozen=True, slots=True)
class Holiday:
    """One holiday: its date, its name, and whether it is a substitute/observed day."""

    date: date
    name: str
    observed: bool = False


@dataclass(frozen=True, slots=True)
class _Fixed:
    month: int
    day: int
    name: str
    substitute: Substitute = "none"
    since: int = 0

    def dates(self, year: int) -> date:
        return date(year, self.month, self.day)


@dataclass(frozen=True, slots=True)
class _Easter:
    offset: int
    name: str

    def dates(self, year: int) -> date:
        return easter(year) + timedelta(days=self.offset)


@dataclass(frozen=True, slots=True)
class _NthWeekday:
    month: int
    weekday: int
    n: int  # 1..4, or -1 for the last
    name: str

    def dates(self, year: int) -> date:
        if self.n > 0:
            first = date(year, self.month, 1)
            shift = (self.weekday - first.weekday()) % 7
            return first + timedelta(days=shift + 7 * (self.n - 1))
        last = date(year, self.month, calendar.monthrange(year, self.month)[1])
        return last - timedelta(days=(last.weekday() - self.weekday) % 7)


@dataclass(frozen=True, slots=True)
class _WeekdayOnOrBefore:
    month: int
    day: int
    weekday: int
    name: str

    def dates(self, year: int) -> date:
        limit = date(year, self.month, self.day)
        return limit - timedelta(days=(limit.weekday() - self.weekday) % 7)


_Rule = _Fixed | _Easter | _NthWeekday | _WeekdayOnOrBefore


def easter(year: int) -> date:
    """Easter Sunday of a Gregorian year (anonymous Gregorian algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


_NEW_YEAR = _Fixed(1, 1, "New Year's Day")
_CHRISTMAS = _Fixed(12, 25, "Christmas Day")
_GOOD_FRIDAY = _Easter(-2, "Good Friday")
_EASTER_SUNDAY = _Easter(0, "Easter Sunday")
_EASTER_MONDAY = _Easter(1, "Easter Monday")
_ASCENSION = _Easter(39, "Ascension Day")
_WHIT_SUNDAY = _Easter(49, "Whit Sunday")
_WHIT_MONDAY = _Easter(50, "Whit Monday")
_CORPUS_CHRISTI = _Easter(60, "Corpus Christi")
_LABOUR_DAY = _Fixed(5, 1, "Labour Day")
_ASSUMPTION = _Fixed(8, 15, "Assumption Day")
_ALL_SAINTS = _Fixed(11, 1, "All Saints' Day")
_IMMACULATE = _Fixed(12, 8, "Immaculate Conception")

#: Country (ISO 3166-1 alpha-2, as phonenumbers spells it) -> its national holiday rules.
CALENDARS: dict[str, tuple[_Rule, ...]] = {
    # Code du travail, art. L3133-1 (11 jours fériés).
    "FR": (
        _NEW_YEAR, _EASTER_MONDAY, _LABOUR_DAY, _Fixed(5, 8, "Victory in Europe Day"),
        _ASCENSION, _WHIT_MONDAY, _Fixed(7, 14, "Bastille Day"), _ASSUMPTION, _ALL_SAINTS,
        _Fixed(11, 11, "Armistice Day"), _CHRISTMAS,
    ),
    # 5 U.S.C. 6103(a): the eleven federal holidays.
    "US": (
        _Fixed(1, 1, "New Year's Day", "us"),
        _NthWeekday(1, MON, 3, "Birthday of Martin Luther King, Jr."),
        _NthWeekday(2, MON, 3, "Washington's Birthday"),
        _NthWeekday(5, MON, -1, "Memorial Day"),
        _Fixed(6, 19, "Juneteenth National Independence Day", "us", since=2021),
        _Fixed(7, 4, "Independence Day", "us"),
        _NthWeekday(9, MON, 1, "Labor Day"),
        _NthWeekday(10, MON, 2, "Columbus Day"),
        _Fixed(11, 11, "Veterans Day", "us"),
        _NthWeekday(11, THU, 4, "Thanksgiving Day"),
        _Fixed(12, 25, "Christmas Day", "us"),
    ),
    # Nationwide holidays only (federal law for 3 October; the rest are in every Land's law).
    "DE": (
        _NEW_YEAR, _GOOD_FRIDAY, _EASTER_MONDAY, _LABOUR_DAY, _ASCENSION, _WHIT_MONDAY,
        _Fixed(10, 3, "German Unity Day"), _CHRISTMAS, _Fixed(12, 26, "Second Christmas Day"),
    ),
    # Fiestas de ámbito nacional (Real Decreto 2001/1983, art. 45) kept by every region.
    "ES": (
        _NEW_YEAR, _Fixed(1, 6, "Epiphany"), _GOOD_FRIDAY, _LABOUR_DAY, _ASSUMPTION,
        _Fixed(10, 12, "National Day of Spain"), _ALL_SAINTS,
        _Fixed(12, 6, "Constitution Day"), _IMMACULATE, _CHRISTMAS,
    ),
    # Legge 260/1949 and later amendments.
    "IT": (
        _NEW_YEAR, _Fixed(1, 6, "Epiphany"), _EASTER_SUNDAY, _EASTER_MONDAY,
        _Fixed(4, 25, "Liberation Day"), _LABOUR_DAY, _Fixed(6, 2, "Republic Day"),
        _ASSUMPTION, _ALL_SAINTS, _IMMACULATE, _CHRISTMAS, _Fixed(12, 26, "St Stephen's Day"),
    ),
    # England and Wales bank holidays.
    "GB": (
        _Fixed(1, 1, "New Year's Day", "next_weekday"), _GOOD_FRIDAY, _EASTER_MONDAY,
        _NthWeekday(5, MON, 1, "Early May bank holiday"),
        _NthWeekday(5, MON, -1, "Spring bank holiday"),
        _NthWeekday(8, MON, -1, "Summer bank holiday"),
        _Fixed(12, 25, "Christmas Day", "next_weekday"),
        _Fixed(12, 26, "Boxing Day", "next_weekday"),
    ),
    # Algemene termijnenwet, art. 3 (Liberation Day is a national holiday every year).
    "NL": (
        _NEW_YEAR, _EASTER_SUNDAY, _EASTER_MONDAY,
        _Fixed(4, 27, "King's Day", "sunday_to_saturday"),
        _Fixed(5, 5, "Liberation Day"), _ASCENSION, _WHIT_SUNDAY, _WHIT_MONDAY,
        _CHRISTMAS, _Fixed(12, 26, "Second Christmas Day"),
    ),
    # Arrêté royal du 18 avril 1974 (the ten legal holidays).
    "BE": (
        _NEW_YEAR, _EASTER_MONDAY, _LABOUR_DAY, _ASCENSION, _WHIT_MONDAY,
        _Fixed(7, 21, "National Day"), _ASSUMPTION, _ALL_SAINTS,
        _Fixed(11, 11, "Armistice Day"), _CHRISTMAS,
    ),
    # Código do Trabalho, art. 234 (the thirteen mandatory holidays).
    "PT": (
        _NEW_YEAR, _GOOD_FRIDAY, _EASTER_SUNDAY, _Fixed(4, 25, "Freedom Day"), _LABOUR_DAY,
        _CORPUS_CHRISTI, _Fixed(6, 10, "Portugal Day"), _ASSUMPTION,
        _Fixed(10, 5, "Republic Day"), _ALL_SAINTS,
        _Fixed(12, 1, "Restoration of Independence"), _IMMACULATE, _CHRISTMAS,
    ),
    # Federal general holidays (Canada Labour Code, s. 166); provinces have their own lists.
    "CA": (
        _NEW_YEAR, _GOOD_FRIDAY, _EASTER_MONDAY,
        _WeekdayOnOrBefore(5, 24, MON, "Victoria Day"),
        _Fixed(7, 1, "Canada Day", "sunday_to_monday"),
        _NthWeekday(9, MON, 1, "Labour Day"),
        _Fixed(9, 30, "National Day for Truth and Reconciliation", since=2021),
        _NthWeekday(10, MON, 2, "Thanksgiving Day"),
        _Fixed(11, 11, "Remembrance Day"), _CHRISTMAS, _Fixed(12, 26, "Boxing Day"),
    ),
}

_ALIASES = {"UK": "GB"}


def calendar_country(region: str) -> str:
    """The country whose calendar a region uses: "US-FL" -> "US", "UK" -> "GB"."""
    country = region.split("-", 1)[0].upper()
    return _ALIASES.get(country, country)


def has_calendar(region: str) -> bool:
    """Whether holidays are known for a region (its country's national calendar)."""
    return calendar_country(region) in CALENDARS


def holidays(region: str, year: int) -> tuple[Holiday, ...]:
    """The region's national holidays falling in ``year``, by date (KeyError if none known)."""
    return _holidays(calendar_country(region), year)


def is_holiday(region: str, day: date) -> bool:
    """Whether ``day`` is a public holiday (or a substitute day) of the region's country."""
    return day in _dates(calendar_country(region), day.year)


@lru_cache(maxsize=1024)
def _dates(country: str, year: int) -> frozenset[date]:
    return frozenset(h.date for h in _holidays(country, year))


@lru_cache(maxsize=1024)
def _holidays(country: str, year: int) -> tuple[Holiday, ...]:
    rules = CALENDARS[country]
    found: list[Holiday] = []
    # Observed days can cross the year boundary (US: 1 January on a Saturday is
    # observed on 31 December), so the neighbouring years are built too.
    for y in (year - 1, year, year + 1):
        found.extend(_year(rules, y))
    return tuple(sorted((h for h in found if h.date.year == year), key=lambda h: h.date))


def _year(rules: tuple[_Rule, ...], year: int) -> list[Holiday]:
    actual: list[tuple[Holiday, Substitute]] = []
    for rule in rules:
        if isinstance(rule, _Fixed) and year < rule.since:
            continue
        substitute: Substitute = rule.substitute if isinstance(rule, _Fixed) else "none"
        actual.append((Holiday(rule.dates(year), rule.name), substitute))
    result = [h for h, substitute in actual if substitute != "sunday_to_saturday"]
    taken = {h.date for h in result}
    for holiday, substitute in sorted(actual, key=lambda pair: pair[0].date):
        moved = _SUBSTITUTES[substitute](holiday.date, taken)
        if moved is not None:
            taken.add(moved)
            suffix = _SUFFIX[substitute]
            result.append(Holiday(moved, holiday.name + suffix, observed=moved != holiday.date))
    return result


def _none(day: date, taken: set[date]) -> date | None:
    return None


def _us(day: date, taken: set[date]) -> date | None:
    if day.weekday() == SAT:
        return day - timedelta(days=1)
    if day.weekday() == SUN:
        return day + timedelta(days=1)
    return None


def _next_weekday(day: date, taken: set[date]) -> date | None:
    if day.weekday() < SAT:
        return None
    candidate = day + timedelta(days=1)
    while candidate.weekday() >= SAT or candidate in taken:
        candidate += timedelta(days=1)
    return candidate


def _sunday_to_monday(day: date, taken: set[date]) -> date | None:
    return day + timedelta(days=1) if day.weekday() == SUN else None


def _sunday_to_saturday(day: date, taken: set[date]) -> date:
    return day - timedelta(days=1) if day.weekday() == SUN else day


_SUFFIX: dict[Substitute, str] = {
    "none": "", "us": " (observed)", "next_weekday": " (substitute)",
    "sunday_to_monday": " (substitute)", "sunday_to_saturday": "",
}

_SUBSTITUTES: dict[Substitute, Callable[[date, set[date]], date | None]] = {
    "none": _none,
    "us": _us,
    "next_weekday": _next_weekday,
    "sunday_to_monday": _sunday_to_monday,
    "sunday_to_saturday": _sunday_to_saturday,
}
