"""The lifecycle pieces every component shares (gateway/lifecycle.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import pytest

from gateway.lifecycle import Background, TaskSet, TickBatcher, backoff

LOG = logging.getLogger("stopgate.test")


def _batcher(ask: object, **options: object) -> TickBatcher[int, int]:
    return TickBatcher(ask, timeout=0.2, log=LOG, what="test question",  # type: ignore[arg-type]
                       event="test_failed", stage="test_answer", **options)  # type: ignore[arg-type]


async def test_tick_batcher_sends_one_ticks_questions_together_and_answers_each_once() -> None:
    asked: list[list[int]] = []

    async def ask(questions: Sequence[int]) -> list[int]:
        asked.append(list(questions))
        return [q * 10 for q in questions]

    took: list[float] = []
    batcher = _batcher(ask, took=took.append)
    answers: list[tuple[int, int | Exception]] = []
    for q in (1, 2, 3):
        batcher.add(q, lambda outcome, q=q: answers.append((q, outcome)))
    await asyncio.sleep(0)  # the tick ends: one batch goes
    batcher.add(4, lambda outcome: answers.append((4, outcome)))
    await batcher.drain(1)
    await asyncio.sleep(0)
    await batcher.drain(1)
    assert asked == [[1, 2, 3], [4]]
    assert answers == [(1, 10), (2, 20), (3, 30), (4, 40)]
    assert len(took) == 2 and all(t >= 0 for t in took)


async def test_tick_batcher_answers_every_caller_with_the_failure_and_survives_a_bad_answer(
        caplog: pytest.LogCaptureFixture) -> None:
    async def slow(questions: Sequence[int]) -> list[int]:
        await asyncio.sleep(5)
        return list(questions)

    failures: list[Exception] = []
    batcher = _batcher(slow, failed=failures.append)
    answers: list[int | Exception] = []

    def broken(outcome: int | Exception) -> None:
        raise RuntimeError("a caller's bug")

    batcher.add(1, broken)
    batcher.add(2, answers.append)
    await asyncio.sleep(0)
    await batcher.drain(2)
    assert len(answers) == 1 and isinstance(answers[0], TimeoutError)
    assert str(answers[0]) == "no answer from Redis within 0.2 s"
    assert failures == answers  # seen first, the same exception
    failed = [r for r in caplog.records if r.getMessage() == "test question answer failed"]
    assert len(failed) == 1 and failed[0].fields["stage"] == "test_answer"


async def test_background_starts_once_and_stop_waits_for_the_task_to_unwind() -> None:
    ticks: list[int] = []
    unwound = asyncio.Event()

    async def run() -> None:
        try:
            while True:
                ticks.append(1)
                await asyncio.sleep(0.001)
        finally:
            unwound.set()

    loop = Background("ticker", run)
    first = loop.start()
    assert loop.start() is first and loop.running and first.get_name() == "ticker"
    while len(ticks) < 3:
        await asyncio.sleep(0.001)
    await loop.stop()
    assert unwound.is_set() and first.cancelled() and not loop.running
    await loop.stop()  # idempotent
    restarted = loop.start()
    assert restarted is not first
    await loop.stop()


async def test_task_set_keeps_tasks_until_done_and_drain_is_bounded() -> None:
    tasks = TaskSet()
    release = asyncio.Event()

    async def quick() -> int:
        return 7

    async def held() -> None:
        await release.wait()

    done = tasks.spawn(quick())
    stuck = tasks.spawn(held())
    assert len(tasks) == 2
    assert await done == 7
    await asyncio.sleep(0)
    assert len(tasks) == 1
    assert await tasks.drain(0.01) is False and not stuck.done()
    release.set()
    assert await tasks.drain(1.0) is True and len(tasks) == 0


async def test_task_set_cancel_unwinds_every_task() -> None:
    tasks = TaskSet()
    stuck = tasks.spawn(asyncio.sleep(3600))
    await tasks.cancel()
    assert stuck.cancelled() and len(tasks) == 0


def test_backoff_doubles_from_first_up_to_the_cap() -> None:
    assert [backoff(n, 0.5, 5.0) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    assert backoff(0, 0.5, 5.0) == 0.5  # no attempt yet counts as the first
    assert backoff(10_000, 1.0, 3600.0) == 3600.0  # no overflow however many attempts
    drawn = [backoff(3, 1.0, 60.0, jitter=True) for _ in range(200)]
    assert all(0 <= delay <= 4.0 for delay in drawn) and len(set(drawn)) > 100
