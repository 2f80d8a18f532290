"""Quiet hours: parsing, verdicts at chosen instants (DST, holidays, several zones), next_open."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.sendtime.holidays import has_calendar, is_holiday
from rules.sendtime.packs import all_packs
from rules.sendtime.quiet import (
    QuietRule,
    check,
    closed_regions,
    format_days,
    normalize_region,
    parse_days,
)
from rules.sendtime.zones import placement


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def rule(region: str = "FR", days: str = "mon-sun", start: str = "08:00", end: str = "20:00",
         **extra: Any) -> QuietRule:
    return QuietRule.parse({"region": region, "days": days, "start": start, "end": end,
                            **extra})


FR = rule("FR", "mon-sat", "08:00", "20:00", holidays=True)
US = rule("US", "mon-sun", "08:00", "21:00")
US_FL = rule("US-FL", "mon-sun", "08:00", "20:00")
FR_MOBILE = "+33612345678"
MIAMI = "+13055550123"
NEW_YORK = "+12125550123"
TOLL_FREE = "+18005550123"
SOUTH_DAKOTA = "+16055550123"  # Mountain and Central time
RUSSIAN_MOBILE = "+79161234567"

# --- parsing ------------------------------------------------------------------------------


def test_parse_the_spec_example() -> None:
    parsed = QuietRule.parse({"region": "FR", "days": "mon-sat", "start": "08:00",
                              "end": "20:00", "holidays": True, "action": "hold"})
    assert parsed == QuietRule("FR", frozenset(range(6)), 480, 1200, True, "hold")
    assert parsed.window == "FR mon-sat 08:00-20:00, not on public holidays"
    assert parsed.source == "config" and parsed.certainty == "own"


@pytest.mark.parametrize(("text", "days"), [
    ("mon-sat", {0, 1, 2, 3, 4, 5}), ("mon-fri,sun", {0, 1, 2, 3, 4, 6}),
    ("fri-mon", {4, 5, 6, 0}), ("sun", {6}), ("Mon - Fri , Sat", {0, 1, 2, 3, 4, 5}),
    ("mon-sun", set(range(7))), ("tue,thu", {1, 3}),
])
def test_days(text: str, days: set[int]) -> None:
    assert parse_days(text) == days


@pytest.mark.parametrize("text", ["", "monday", "mon-", "mon-xyz", "mon;tue", "1-5"])
def test_bad_days(text: str) -> None:
    with pytest.raises(ValueError, match="days"):
        parse_days(text)


@given(st.sets(st.integers(min_value=0, max_value=6), min_size=1))
def test_format_days_round_trips(days: set[int]) -> None:
    assert parse_days(format_days(days)) == days


def test_format_days_reads_like_config() -> None:
    assert format_days(range(6)) == "mon-sat"
    assert format_days({0, 1, 2, 3, 4, 6}) == "mon-fri,sun"
    assert format_days({5, 6}) == "sat,sun"


def test_end_may_be_midnight_and_start_may_not() -> None:
    assert rule(start="00:00", end="24:00").end == 1440
    with pytest.raises(ValueError, match="start"):
        rule(start="24:00", end="24:00")


@pytest.mark.parametrize(("table", "key"), [
    ({"days": "mon-sun", "start": "08:00", "end": "20:00"}, "region"),
    ({"region": "FR", "end": "20:00"}, "start"),
    ({"region": "FR", "start": "08:00"}, "end"),
    ({"region": "FR", "start": "8h", "end": "20:00"}, "start"),
    ({"region": "FR", "start": "08:00", "end": "24:01"}, "end"),
    ({"region": "FR", "start": "08:00", "end": "25:00"}, "end"),
    ({"region": "FR", "start": "20:00", "end": "08:00"}, "midnight"),
    ({"region": "FR", "start": "08:00", "end": "08:00"}, "midnight"),
    ({"region": "FR", "start": "08:00", "end": "20:00", "holidays": "yes"}, "holidays"),
    ({"region": "FR", "start": "08:00", "end": "20:00", "action": "drop"}, "action"),
    ({"region": "FR", "start": "08:00", "end": "20:00", "hours": 3}, "unknown key"),
    ({"region": "XX", "start": "08:00", "end": "20:00"}, "no country"),
    ({"region": "France", "start": "08:00", "end": "20:00"}, "region"),
    ({"region": "JP", "start": "08:00", "end": "20:00", "holidays": True}, "calendar"),
    ({"region": 33, "start": "08:00", "end": "20:00"}, "region"),
])
def test_bad_rules_name_the_key(table: dict[str, Any], key: str) -> None:
    with pytest.raises(ValueError, match=key):
        QuietRule.parse(table)


def test_regions_are_normalised() -> None:
    assert normalize_region("us-fl") == "US-FL"
    assert normalize_region(" fr ") == "FR"
    assert normalize_region("UK") == "GB"
    assert rule("uk").region == "GB"
    with pytest.raises(ValueError, match="GB"):
        QuietRule("UK", frozenset({0}), 0, 60)


def test_defaults() -> None:
    parsed = QuietRule.parse({"region": "DE", "start": "09:00", "end": "18:00"})
    assert parsed.days == set(range(7))
    assert parsed.holidays is False
    assert parsed.action == "hold"


# --- verdicts at chosen instants ---------------------------------------------------------


def test_france_whit_monday_is_held_until_tuesday_morning() -> None:
    verdict = check(FR_MOBILE, utc("2025-06-09 10:00"), [FR])
    assert not verdict.allowed
    assert verdict.refused_by == (FR,)
    assert verdict.action == "hold"
    assert verdict.next_open == utc("2025-06-10 06:00")  # 08:00 CEST


def test_france_bastille_day_and_sunday() -> None:
    assert check(FR_MOBILE, utc("2025-07-14 09:00"), [FR]).next_open == utc("2025-07-15 06:00")
    assert check(FR_MOBILE, utc("2025-06-15 12:00"), [FR]).next_open == utc("2025-06-16 06:00")


def test_end_is_exclusive_and_saturday_evening_waits_for_monday() -> None:
    assert check(FR_MOBILE, utc("2025-06-14 17:59:59"), [FR]).allowed  # 19:59:59 CEST
    verdict = check(FR_MOBILE, utc("2025-06-14 18:00"), [FR])  # 20:00 CEST
    assert not verdict.allowed
    assert verdict.next_open == utc("2025-06-16 06:00")


def test_an_allowed_verdict() -> None:
    now = utc("2025-06-10 10:15:42")
    verdict = check(FR_MOBILE, now, [FR, US])
    assert verdict.allowed and verdict.next_open == now and verdict.action is None
    assert verdict.refused_by == () and verdict.rules == (FR,)


def test_rules_of_other_regions_do_not_apply() -> None:
    verdict = check("+4915112345678", utc("2025-06-15 02:00"), [FR, US, US_FL])
    assert verdict.allowed and verdict.rules == ()
    assert check("+882123456789", utc("2025-06-15 02:00"), [FR, US]).allowed
    assert check(FR_MOBILE, utc("2025-06-15 02:00"), []).allowed


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        check(FR_MOBILE, datetime(2025, 6, 10, 12), [FR])


def test_a_non_utc_now_is_read_as_the_instant_it_is() -> None:
    paris = datetime(2025, 6, 14, 20, 0, tzinfo=ZoneInfo("Europe/Paris"))
    verdict = check(FR_MOBILE, paris, [FR])
    assert not verdict.allowed and verdict.next_open == utc("2025-06-16 06:00")
    assert verdict.next_open is not None and verdict.next_open.tzinfo is UTC


def test_florida_gets_the_federal_and_the_state_rule() -> None:
    at_2030 = check(MIAMI, utc("2025-06-11 00:30"), [US, US_FL])  # 20:30 EDT
    assert at_2030.rules == (US, US_FL)
    assert at_2030.refused_by == (US_FL,)
    assert at_2030.next_open == utc("2025-06-11 12:00")
    at_2130 = check(MIAMI, utc("2025-06-11 01:30"), [US, US_FL])
    assert at_2130.refused_by == (US, US_FL)
    assert check(NEW_YORK, utc("2025-06-11 00:30"), [US, US_FL]).allowed


def test_reject_wins_over_hold() -> None:
    strict = rule("US-FL", "mon-sun", "09:00", "20:00", action="reject")
    verdict = check(MIAMI, utc("2025-06-11 12:30"), [US, strict])  # 08:30 EDT
    assert verdict.refused_by == (strict,)
    assert verdict.action == "reject"
    assert verdict.next_open == utc("2025-06-11 13:00")
    both = check(MIAMI, utc("2025-06-11 11:30"), [US, strict])
    assert both.refused_by == (US, strict) and both.action == "reject"


# --- DST -------------------------------------------------------------------------------


def test_us_spring_forward_morning_opens_an_hour_earlier_in_utc() -> None:
    # 9 March 2025: 02:00 EST -> 03:00 EDT. 08:00 is 13:00 UTC on the 8th, 12:00 UTC on the 9th.
    assert check(NEW_YORK, utc("2025-03-08 12:30"), [US]).next_open == utc("2025-03-08 13:00")
    verdict = check(NEW_YORK, utc("2025-03-09 02:30"), [US])  # 21:30 EST the 8th
    assert verdict.next_open == utc("2025-03-09 12:00")
    assert check(NEW_YORK, utc("2025-03-09 11:59:59"), [US]).next_open == \
        utc("2025-03-09 12:00")
    assert check(NEW_YORK, utc("2025-03-09 12:00"), [US]).allowed


def test_us_fall_back_night_is_an_hour_longer() -> None:
    # 2 November 2025: 02:00 EDT -> 01:00 EST; 08:00 EST is 13:00 UTC.
    verdict = check(NEW_YORK, utc("2025-11-02 01:30"), [US])  # 21:30 EDT the 1st
    assert verdict.next_open == utc("2025-11-02 13:00")
    assert not check(NEW_YORK, utc("2025-11-02 12:30"), [US]).allowed  # 07:30 EST
    assert check(NEW_YORK, utc("2025-11-01 12:00"), [US]).allowed  # 08:00 EDT


def test_a_window_starting_in_the_spring_forward_gap_opens_at_the_jump() -> None:
    # Paris, 30 March 2025 01:00 UTC: 02:00 CET -> 03:00 CEST; 02:30 never happens.
    night = rule("FR", "mon-sun", "02:30", "04:00")
    verdict = check(FR_MOBILE, utc("2025-03-30 00:59:59"), [night])  # 01:59:59 CET
    assert not verdict.allowed
    assert verdict.next_open == utc("2025-03-30 01:00")  # 03:00 CEST


def test_a_window_in_the_repeated_hour_opens_twice() -> None:
    # New York, 2 November 2025: 01:00-01:59 happens in EDT (05:00 UTC) then in EST (06:00 UTC).
    repeated = rule("US", "mon-sun", "01:30", "01:45")
    assert check(NEW_YORK, utc("2025-11-02 05:40"), [repeated]).allowed  # 01:40 EDT
    verdict = check(NEW_YORK, utc("2025-11-02 05:50"), [repeated])  # 01:50 EDT
    assert verdict.next_open == utc("2025-11-02 06:30")  # 01:30 EST


def test_france_fall_back() -> None:
    # 26 October 2025 (Sunday, closed); Monday 27 opens at 08:00 CET = 07:00 UTC.
    verdict = check(FR_MOBILE, utc("2025-10-25 18:30"), [FR])  # Saturday 20:30 CEST
    assert verdict.next_open == utc("2025-10-27 07:00")


# --- several zones ----------------------------------------------------------------------


def test_a_toll_free_number_waits_for_hawaii_and_stops_with_new_york() -> None:
    # June: Honolulu UTC-10, Adak UTC-9, New York UTC-4: 08:00-21:00 everywhere is 18:00-01:00 UTC.
    morning = check(TOLL_FREE, utc("2025-06-10 13:00"), [US])
    assert not morning.allowed and morning.next_open == utc("2025-06-10 18:00")
    assert check(TOLL_FREE, utc("2025-06-10 18:00"), [US]).allowed
    assert check(TOLL_FREE, utc("2025-06-11 00:59"), [US]).allowed
    late = check(TOLL_FREE, utc("2025-06-11 01:00"), [US])
    assert not late.allowed and late.next_open == utc("2025-06-11 18:00")
    # January: New York is UTC-5, so the common window ends at 02:00 UTC.
    assert check(TOLL_FREE, utc("2025-01-15 01:30"), [US]).allowed


def test_a_number_on_two_zones_waits_for_the_later_one() -> None:
    # South Dakota, June: Mountain (UTC-6) and Central (UTC-5).
    verdict = check(SOUTH_DAKOTA, utc("2025-06-10 13:30"), [US])  # 08:30 CDT, 07:30 MDT
    assert not verdict.allowed and verdict.next_open == utc("2025-06-10 14:00")
    assert not check(SOUTH_DAKOTA, utc("2025-06-11 02:00"), [US]).allowed  # 21:00 CDT


def test_zones_with_no_common_window_are_never_open() -> None:
    # A Russian mobile may be anywhere from UTC+3 to UTC+12: no 3-hour window is common.
    narrow = rule("RU", "mon-sun", "09:00", "12:00", action="hold")
    verdict = check(RUSSIAN_MOBILE, utc("2025-06-10 04:00"), [narrow])
    assert not verdict.allowed
    assert verdict.next_open is None
    assert verdict.action == "reject"  # never released, so not held
    # A 14-hour window has a common part: 08:00 at UTC+3 (05:00 UTC) to 22:00 at UTC+12.
    wide = rule("RU", "mon-sun", "08:00", "22:00")
    assert check(RUSSIAN_MOBILE, utc("2025-06-10 04:00"), [wide]).next_open == \
        utc("2025-06-10 05:00")
    assert check(RUSSIAN_MOBILE, utc("2025-06-10 09:59"), [wide]).allowed
    assert not check(RUSSIAN_MOBILE, utc("2025-06-10 10:00"), [wide]).allowed


def test_next_open_looks_no_further_than_the_horizon() -> None:
    verdict = check(FR_MOBILE, utc("2025-06-14 18:00"), [FR], horizon=timedelta(hours=12))
    assert not verdict.allowed and verdict.next_open is None


# --- closed regions ----------------------------------------------------------------------


def test_closed_regions() -> None:
    weekdays = rule("CA", "mon-fri", "09:00", "21:30")
    weekends = rule("CA", "sat-sun", "10:00", "18:00")
    assert closed_regions([weekdays, weekends]) == ("CA",)
    assert closed_regions([US, US_FL, FR]) == ()
    assert closed_regions([US, rule("US-OK", "mon-sun", "21:00", "22:00")]) == ("US-OK",)


# --- properties: next_open against a minute-by-minute oracle -----------------------------

NUMBERS = [FR_MOBILE, MIAMI, NEW_YORK, TOLL_FREE, SOUTH_DAKOTA, "+447700900123",
           "+34612345678", "+393123456789", "+14165550123", "+12085550123", "+31612345678"]
SHIPPED = tuple(r for pack in all_packs().values() for r in pack.quiet)


def _oracle(rules: list[QuietRule], zones: tuple[str, ...], instant: datetime) -> bool:
    """Allowed, read straight from the definition."""
    for zone in zones:
        local = instant.astimezone(ZoneInfo(zone))
        for r in rules:
            minute = local.hour * 60 + local.minute
            if local.weekday() not in r.days or not r.start <= minute < r.end:
                return False
            if r.holidays and is_holiday(r.region, local.date()):
                return False
    return True


@st.composite
def extra_rules(draw: st.DrawFn, regions: frozenset[str], least: int = 0) -> list[QuietRule]:
    chosen = []
    for _ in range(draw(st.integers(min_value=least, max_value=2))):
        region = draw(st.sampled_from(sorted(regions)))
        start = draw(st.integers(min_value=0, max_value=1439))
        end = draw(st.integers(min_value=start + 1, max_value=1440))
        days = draw(st.sets(st.integers(min_value=0, max_value=6), min_size=1))
        holidays = draw(st.booleans()) and has_calendar(region)
        chosen.append(QuietRule(region, frozenset(days), start, end, holidays))
    return chosen


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), number=st.sampled_from(NUMBERS),
       now=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31),
                        timezones=st.just(UTC)))
def test_next_open_is_allowed_and_no_earlier_minute_is(data: st.DataObject, number: str,
                                                       now: datetime) -> None:
    where = placement(number)
    rules = [*SHIPPED, *data.draw(extra_rules(where.regions))]
    here = [r for r in rules if r.region in where.regions]
    verdict = check(number, now, rules)
    assert verdict.allowed == _oracle(here, where.zones, now)
    assert set(verdict.refused_by) == {r for r in here if not _oracle([r], where.zones, now)}
    if verdict.allowed:
        assert verdict.next_open == now
        return
    minute = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    last = verdict.next_open or now + timedelta(days=14)
    if verdict.next_open is not None:
        assert verdict.next_open > now
        assert _oracle(here, where.zones, verdict.next_open)
    while minute < last:
        assert not _oracle(here, where.zones, minute), minute
        minute += timedelta(minutes=1)


#: Clock changes: US (second Sunday of March, first of November), EU (last Sundays of
#: March and October).
TRANSITIONS = [utc("2025-03-09 07:00"), utc("2025-11-02 06:00"), utc("2025-03-30 01:00"),
               utc("2025-10-26 01:00"), utc("2026-03-08 07:00"), utc("2026-10-25 01:00")]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), number=st.sampled_from([FR_MOBILE, NEW_YORK, TOLL_FREE, SOUTH_DAKOTA,
                                               "+447700900123"]),
       around=st.sampled_from(TRANSITIONS),
       offset=st.integers(min_value=-36 * 3600, max_value=36 * 3600))
def test_next_open_across_clock_changes(data: st.DataObject, number: str, around: datetime,
                                        offset: int) -> None:
    """Rules with any start and end (2:30 in a gap, 1:30 in a repeated hour) near a change."""
    where = placement(number)
    rules = data.draw(extra_rules(where.regions, least=1))
    now = around + timedelta(seconds=offset)
    verdict = check(number, now, rules)
    assert verdict.allowed == _oracle(rules, where.zones, now)
    if verdict.allowed or verdict.next_open is None:
        return
    assert _oracle(rules, where.zones, verdict.next_open)
    # Instants between minutes matter here (a jump is at a whole minute, but check it all).
    instant = now + timedelta(seconds=1)
    while instant < verdict.next_open:
        assert not _oracle(rules, where.zones, instant), instant
        instant += timedelta(seconds=60 if verdict.next_open - instant > timedelta(hours=1)
                             else 1)
