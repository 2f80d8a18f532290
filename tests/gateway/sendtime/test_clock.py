"""The injectable clock: the test clock, the shifted clock STOPGATE_TEST_CLOCK starts, and
the variable's exact refusals."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

import pytest

from gateway.sendtime.clock import (
    ShiftedClock,
    SystemClock,
    TestClock,
    clock_from_env,
    parse_instant,
)

START = datetime(2026, 6, 9, 20, 0, tzinfo=UTC)


def test_the_test_clock_stands_still_until_moved() -> None:
    clock = TestClock(START)
    assert clock.now() == START
    clock.advance(timedelta(minutes=5))
    assert clock.now() == START + timedelta(minutes=5)
    clock.set(datetime(2026, 6, 9, 22, 0, tzinfo=UTC))
    assert clock.now() == START + timedelta(hours=2)
    with pytest.raises(ValueError, match="timezone-aware"):
        TestClock(datetime(2026, 6, 9, 20, 0))


def test_the_shifted_clock_starts_at_its_instant_and_runs() -> None:
    clock = ShiftedClock(START)
    first = clock.now()
    time.sleep(0.01)
    assert START <= first < clock.now() < START + timedelta(seconds=5)
    assert clock.now().tzinfo == UTC


def test_without_the_variable_the_clock_is_the_systems() -> None:
    assert isinstance(clock_from_env({}), SystemClock)
    assert abs(SystemClock().now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_the_variable_starts_a_shifted_clock_and_says_so_loudly(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "stopgate"):
        clock = clock_from_env({"STOPGATE_TEST_CLOCK": "2026-06-09T22:00:00+02:00"})
    assert isinstance(clock, ShiftedClock)
    assert START <= clock.now() < START + timedelta(seconds=5)
    [record] = [r for r in caplog.records if getattr(r, "event", "") == "test_clock"]
    assert record.levelno == logging.WARNING
    assert "for tests and demos only" in record.getMessage()


@pytest.mark.parametrize(("text", "message"), [
    ("tomorrow", "STOPGATE_TEST_CLOCK: 'tomorrow' is not an ISO 8601 instant such as "
                 "2026-06-09T20:00:00Z"),
    ("2026-06-09T20:00:00", "STOPGATE_TEST_CLOCK: '2026-06-09T20:00:00' has no time zone; "
                            "write it with Z or an offset (2026-06-09T20:00:00Z)"),
])
def test_a_bad_instant_is_refused_with_its_reason(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_instant(text)
    assert str(caught.value) == message
    assert parse_instant("2026-06-09T20:00:00Z") == START
