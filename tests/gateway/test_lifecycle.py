"""The lifecycle pieces every component shares (gateway/lifecycle.py)."""

from __future__ import annotations

import asyncio

from gateway.lifecycle import Background, TaskSet, backoff


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
