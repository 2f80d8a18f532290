"""Business-day deadlines for the opt-out review list: pure, clock-free (times passed in).

    review_deadline(datetime(2026, 12, 18, 15, 0, tzinfo=UTC), "US")
        -> 2027-01-05 15:00 UTC  (weekends, Christmas Day and New Year's Day skipped)
    reminder(deadline, "US") -> two business days before it

The FCC's consent-revocation rule (47 CFR 64.1200(a)(10), in force 2025) gives a
sender 10 business days from receipt to honour a revocation made by reasonable
means. A reply that is not a clear opt-out goes on the review list with
``deadline = received_at + 10 business days``: the same time of day on the tenth
business day after the day of receipt. A business day is a Monday to Friday that is
not a public holiday of the recipient's country (rules.sendtime.holidays computes
them, national calendars only; a country without a calendar there skips weekends
only). Days are counted on the UTC calendar: stopgate does not know the recipient's
zone for certain (a country may span several), and a UTC day is off by at most a
few hours, which the reminder two business days ahead more than covers.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from rules.sendtime.holidays import has_calendar, is_holiday

__all__ = ["REMIND_BEFORE", "REVIEW_BUSINESS_DAYS", "add_business_days", "is_business_day",
           "reminder", "review_deadline"]

#: The FCC's 10 business days to honour a revocation.
REVIEW_BUSINESS_DAYS = 10
#: The alert starts when fewer than this many business days are left.
REMIND_BEFORE = 2


def is_business_day(day: date, region: str) -> bool:
    """Monday to Friday and not a public holiday of ``region``'s country (weekends only
    where no calendar is known, or no region)."""
    if day.weekday() >= 5:
        return False
    return not (region and has_calendar(region) and is_holiday(region, day))


def add_business_days(day: date, days: int, region: str) -> date:
    """The ``days``-th business day after ``day`` (before it when ``days`` < 0)."""
    step = 1 if days >= 0 else -1
    left = abs(days)
    while left:
        day += timedelta(days=step)
        if is_business_day(day, region):
            left -= 1
    return day


def _same_time(at: datetime, day: date) -> datetime:
    return at.replace(year=day.year, month=day.month, day=day.day)


def review_deadline(received_at: datetime, region: str,
                    days: int = REVIEW_BUSINESS_DAYS) -> datetime:
    """When a reply received at ``received_at`` (aware) from a number of ``region`` must
    be decided: the same UTC time on the ``days``-th business day after."""
    if received_at.utcoffset() is None:
        raise ValueError("received_at must be timezone-aware")
    received_at = received_at.astimezone(UTC)
    return _same_time(received_at, add_business_days(received_at.date(), days, region))


def reminder(deadline: datetime, region: str, before: int = REMIND_BEFORE) -> datetime:
    """When fewer than ``before`` business days are left before ``deadline``."""
    deadline = deadline.astimezone(UTC)
    return _same_time(deadline, add_business_days(deadline.date(), -before, region))
