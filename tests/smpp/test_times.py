"""SMPP 3.4 time fields: absolute with their offset, relative from now, and refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from smpp.times import absolute_time, parse_time

NOW = datetime(2026, 11, 23, 21, 0, tzinfo=UTC)


def test_an_empty_field_is_no_time() -> None:
    assert parse_time("", NOW) is None


def test_an_absolute_time_is_read_with_its_quarter_hour_offset() -> None:
    assert parse_time("261124080000004+", NOW) == datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
    assert parse_time("261124080000520-", NOW) == datetime(2026, 11, 24, 13, 0, 0, 500_000,
                                                          tzinfo=UTC)


def test_a_relative_time_counts_from_now_with_30_day_months_and_365_day_years() -> None:
    assert parse_time("000000010000000R", NOW) == NOW + timedelta(hours=1)
    assert parse_time("010203040506000R", NOW) == NOW + timedelta(
        days=365 + 60 + 3, hours=4, minutes=5, seconds=6)


@pytest.mark.parametrize(("value", "message"), [
    ("2611240800000", "16 characters YYMMDDhhmmsstnnp"),
    ("261124080000004X", "16 characters YYMMDDhhmmsstnnp"),
    ("261324080000004+", "not a date and time"),
    ("261124080000049+", "at most 48 quarter hours"),
])
def test_malformed_times_are_refused_naming_the_problem(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_time(value, NOW)


def test_absolute_time_writes_utc_and_reads_back() -> None:
    at = datetime(2026, 11, 26, 21, 0, 0, 300_000, tzinfo=UTC)
    assert absolute_time(at) == "261126210000300+"
    assert parse_time(absolute_time(at), NOW) == at
