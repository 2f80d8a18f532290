"""Review deadlines: 10 business days (the FCC's), weekends and the country's holidays
skipped, the reminder 2 business days before; pure functions of the time given."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.deadlines import add_business_days, is_business_day, reminder, review_deadline


def test_ten_business_days_skip_weekends() -> None:
    monday = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
    assert review_deadline(monday, "US") == datetime(2026, 3, 16, 9, 15, tzinfo=UTC)
    saturday = datetime(2026, 3, 7, 23, 0, tzinfo=UTC)
    assert review_deadline(saturday, "US") == datetime(2026, 3, 20, 23, 0, tzinfo=UTC)


def test_the_recipients_holidays_are_skipped() -> None:
    friday = datetime(2026, 12, 18, 15, 0, tzinfo=UTC)
    # Christmas Day and New Year's Day (US federal) fall in between.
    assert review_deadline(friday, "US") == datetime(2027, 1, 5, 15, 0, tzinfo=UTC)
    # France: Christmas and New Year's Day too; Spain adds Epiphany (6 January).
    assert review_deadline(friday, "FR") == datetime(2027, 1, 5, 15, 0, tzinfo=UTC)
    assert review_deadline(datetime(2026, 12, 23, 10, 0, tzinfo=UTC), "ES") == \
        datetime(2027, 1, 11, 10, 0, tzinfo=UTC)
    # Easter Monday in France, not in the US.
    thursday = datetime(2026, 4, 2, 12, 0, tzinfo=UTC)
    assert review_deadline(thursday, "US") == datetime(2026, 4, 16, 12, 0, tzinfo=UTC)
    assert review_deadline(thursday, "FR") == datetime(2026, 4, 17, 12, 0, tzinfo=UTC)


def test_no_calendar_skips_weekends_only() -> None:
    monday = datetime(2026, 12, 21, 8, 0, tzinfo=UTC)
    assert review_deadline(monday, "") == datetime(2027, 1, 4, 8, 0, tzinfo=UTC)
    assert review_deadline(monday, "ZZ") == datetime(2027, 1, 4, 8, 0, tzinfo=UTC)


def test_the_reminder_is_two_business_days_before() -> None:
    deadline = datetime(2027, 1, 5, 15, 0, tzinfo=UTC)  # Tuesday
    assert reminder(deadline, "US") == datetime(2026, 12, 31, 15, 0, tzinfo=UTC)
    assert reminder(datetime(2026, 3, 16, 9, 0, tzinfo=UTC), "US") == \
        datetime(2026, 3, 12, 9, 0, tzinfo=UTC)


def test_times_are_read_in_utc_and_must_be_aware() -> None:
    paris = timezone(timedelta(hours=1))
    late = datetime(2026, 3, 7, 0, 30, tzinfo=paris)  # Friday 23:30 UTC
    assert review_deadline(late, "FR") == datetime(2026, 3, 20, 23, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        review_deadline(datetime(2026, 3, 2), "US")


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 1),
                    timezones=st.just(UTC)),
       st.sampled_from(["US", "FR", "ES", "DE", "IT", "NL", "PT", "GB", ""]))
def test_deadline_properties(received: datetime, region: str) -> None:
    deadline = review_deadline(received, region)
    days = [received.date() + timedelta(days=n)
            for n in range(1, (deadline.date() - received.date()).days + 1)]
    assert sum(is_business_day(day, region) for day in days) == 10
    assert is_business_day(deadline.date(), region)
    assert deadline.time() == received.time()
    assert 12 <= (deadline.date() - received.date()).days <= 24
    remind = reminder(deadline, region)
    assert received < remind < deadline
    assert add_business_days(remind.date(), 2, region) == deadline.date()


def test_is_business_day() -> None:
    assert is_business_day(date(2026, 12, 7), "US")
    assert not is_business_day(date(2026, 12, 12), "US")
    assert not is_business_day(date(2026, 11, 26), "US")  # Thanksgiving
    assert is_business_day(date(2026, 11, 26), "FR")
