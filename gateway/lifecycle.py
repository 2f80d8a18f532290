"""How the gateway's long-lived pieces run: background tasks, task sets, retry delays.

One piece each, used everywhere:

- ``Background``: one long-running task a component owns (a probe loop, a listener,
  a flusher): ``start()`` creates it once, ``stop()`` cancels it and waits for it.
- ``TaskSet``: fire-and-forget work (a receipt on its way, a confirmation being sent)
  that must stay referenced until done and be waited for, bounded, at shutdown.
- ``backoff``: the delay before retry number ``attempt`` (1, 2, ...): doubling from
  ``first``, capped at ``cap``, optionally with full jitter.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["Background", "TaskSet", "backoff"]


class Background:
    """One named task running ``run()`` until it returns or ``stop()`` cancels it."""

    __slots__ = ("_run", "_task", "name")

    def __init__(self, name: str, run: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self.name = name
        self._run = run
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> asyncio.Task[None]:
        """Start the task unless it is already running; return it."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=self.name)
        return self._task

    async def stop(self) -> None:
        """Cancel the task and wait until it has unwound (idempotent)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class TaskSet:
    """Tasks started and forgotten by their caller, kept here until they finish.

    The event loop holds only weak references to tasks: one nobody keeps can vanish
    mid-flight. ``drain`` waits (bounded) for the ones still running at shutdown.
    """

    __slots__ = ("_tasks",)

    def __init__(self) -> None:
        self._tasks: set[asyncio.Future[Any]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, work: Awaitable[T]) -> asyncio.Future[T]:
        """Run ``work`` (a coroutine or a future) in the background, kept until done."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def add(self, task: asyncio.Future[Any]) -> None:
        """Keep a task someone else created until it is done."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for every task; True when none is left."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
        return not self._tasks

    async def cancel(self) -> None:
        """Cancel every task and wait until they have unwound."""
        tasks = set(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


def backoff(attempt: int, first: float, cap: float, *, jitter: bool = False) -> float:
    """The delay before retry ``attempt`` (1 for the first): ``first * 2**(attempt-1)``,
    at most ``cap``; with ``jitter``, uniformly drawn from 0 to that ("full jitter")."""
    ceiling = min(cap, first * 2.0 ** min(max(attempt - 1, 0), 60))
    return random.uniform(0, ceiling) if jitter else ceiling
