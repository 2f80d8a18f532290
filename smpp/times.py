"""SMPP 3.4 time fields (``schedule_delivery_time``, ``validity_period``; section 7.1.1).

Sixteen characters ``YYMMDDhhmmsstnnp``:

- absolute (``p`` is ``+`` or ``-``): a local time, ``t`` tenths of a second, ``nn``
  quarter hours ahead of (``+``) or behind (``-``) UTC: ``261124080000004+`` is
  08:00:00.0 on 24 Nov 2026 at UTC+01:00;
- relative (``p`` is ``R``): a duration of ``YY`` years, ``MM`` months, ``DD`` days and
  ``hh:mm:ss`` from now: ``000001000000000R`` is one day. A year counts 365 days and a
  month 30 (the standard leaves them undefined; SMSCs commonly do so).

Years ``YY`` are 2000 + YY. An empty field means "none" (the SMSC's default).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["absolute_time", "parse_time"]


def parse_time(value: str, now: datetime) -> datetime | None:
    """The instant a time field stands for (UTC), relative ones counted from ``now``;
    None when the field is empty. ValueError names what is wrong with a malformed one."""
    if not value:
        return None
    if len(value) != 16 or not value[:15].isdigit() or value[15] not in "+-R":
        raise ValueError(f"an SMPP time is 16 characters YYMMDDhhmmsstnnp, got {value!r}")
    yy, mo, dd, hh, mi, ss = (int(value[i:i + 2]) for i in range(0, 12, 2))
    tenths, quarters, sign = int(value[12]), int(value[13:15]), value[15]
    if sign == "R":
        return now.astimezone(UTC) + timedelta(days=365 * yy + 30 * mo + dd, hours=hh,
                                               minutes=mi, seconds=ss)
    if quarters > 48:
        raise ValueError(f"an SMPP time's offset is at most 48 quarter hours, got {value!r}")
    offset = timedelta(minutes=15 * quarters) * (1 if sign == "+" else -1)
    try:
        local = datetime(2000 + yy, mo, dd, hh, mi, ss, tenths * 100_000, tzinfo=UTC)
    except ValueError as exc:
        raise ValueError(f"not a date and time: {value!r} ({exc})") from None
    return local - offset


def absolute_time(at: datetime) -> str:
    """``at`` as an absolute SMPP time in UTC (``YYMMDDhhmmsst00+``)."""
    utc = at.astimezone(UTC)
    return f"{utc:%y%m%d%H%M%S}{utc.microsecond // 100_000}00+"
