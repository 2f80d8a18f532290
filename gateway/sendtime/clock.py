"""The gateway's clock for send-time rules: what "now" is when a quiet-hour window or a
frequency cap is judged.

    clock.now() -> an aware datetime in UTC

Everything that judges the time of day (rules/sendtime is pure: ``now`` is passed in)
takes a ``Clock``, so tests, the demo and the bench never depend on the hour they run at:

- ``SystemClock``: the real time (``stopgate serve``);
- ``TestClock``: stands still at the instant it is given until told otherwise
  (``set``, ``advance``): unit and in-process tests;
- ``ShiftedClock``: starts at a given instant and advances in real time, for the demo
  and for a whole ``stopgate serve`` process under test.

``STOPGATE_TEST_CLOCK=<ISO instant>`` (say ``2026-06-09T20:00:00Z``, or with an offset,
``2026-06-09T22:00:00+02:00``) makes a ``stopgate serve`` process's clock a
``ShiftedClock`` starting at that instant when the process builds its components: for
tests and demos only, never in production (every quiet-hour window and cap would be
judged at the wrong time); it is logged as a warning at start. A worker process
(``server.workers`` > 1) reads it when it starts, so workers may be a few milliseconds
apart. A value that is not an ISO instant with a time zone stops the start.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Protocol

from gateway.observability.logs import fields

__all__ = ["TEST_CLOCK_ENV", "Clock", "ShiftedClock", "SystemClock", "TestClock",
           "clock_from_env", "parse_instant"]

log = logging.getLogger("stopgate")

#: The variable that starts a process's clock at a given instant (tests and demos only).
TEST_CLOCK_ENV = "STOPGATE_TEST_CLOCK"


class Clock(Protocol):
    """What time it is, for send-time rules."""

    def now(self) -> datetime:
        """The current instant: timezone-aware, in UTC."""
        ...


class SystemClock:
    """The real time."""

    __slots__ = ()

    def now(self) -> datetime:
        return datetime.now(UTC)


class TestClock:
    """A clock that stands still until told otherwise (tests)."""

    __slots__ = ("_now",)
    __test__ = False  # not a pytest test class

    def __init__(self, start: datetime) -> None:
        self._now = _aware(start)

    def now(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> None:
        self._now = _aware(instant)

    def advance(self, by: timedelta) -> None:
        self._now += by


class ShiftedClock:
    """Starts at ``start`` and advances in real time (monotonic) from there."""

    __slots__ = ("_origin", "_start")

    def __init__(self, start: datetime) -> None:
        self._start = _aware(start)
        self._origin = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._origin)


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant with its offset ("2026-06-09T20:00:00Z", "...+02:00"), in UTC;
    ValueError for anything else (a local time without an offset is ambiguous)."""
    try:
        instant = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{TEST_CLOCK_ENV}: {text!r} is not an ISO 8601 instant such as "
                         "2026-06-09T20:00:00Z") from None
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{TEST_CLOCK_ENV}: {text!r} has no time zone; write it with Z or "
                         "an offset (2026-06-09T20:00:00Z)")
    return instant.astimezone(UTC)


def clock_from_env(env: Mapping[str, str] | None = None) -> Clock:
    """The system clock, or a ``ShiftedClock`` when ``STOPGATE_TEST_CLOCK`` is set (logged
    loudly: a process judging send-time rules at a made-up time must not go unnoticed)."""
    value = (os.environ if env is None else env).get(TEST_CLOCK_ENV, "")
    if not value:
        return SystemClock()
    start = parse_instant(value)
    log.warning("%s is set: send-time rules (quiet hours, frequency caps) are judged on a "
                "clock that started at %s, not the real time; for tests and demos only",
                TEST_CLOCK_ENV, start.isoformat(), extra=fields(
                    "test_clock", start=start.isoformat()))
    return ShiftedClock(start)


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("a clock's instant must be timezone-aware")
    return instant.astimezone(UTC)
