"""How the gateway's long-lived pieces run: background tasks, task sets, retry delays.

One piece each, used everywhere:

- ``Background``: one long-running task a component owns (a probe loop, a listener,
  a flusher): ``start()`` creates it once, ``stop()`` cancels it and waits for it.
- ``TaskSet``: fire-and-forget work (a receipt on its way, a confirmation being sent)
  that must stay referenced until done and be waited for, bounded, at shutdown.
- ``TickBatcher``: questions asked during one loop tick, sent to Redis together (the
  suppression lookups, the frequency caps), each caller answered once.
- ``backoff``: the delay before retry number ``attempt`` (1, 2, ...): doubling from
  ``first``, capped at ``cap``, optionally with full jitter.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, Generic, TypeVar

from gateway.observability.logs import fields

T = TypeVar("T")
Q = TypeVar("Q")
R = TypeVar("R")

__all__ = ["Background", "TaskSet", "TickBatcher", "backoff"]


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


class TickBatcher(Generic[Q, R]):
    """The questions asked during one loop tick, sent together with ``ask`` (one Redis
    round trip), each caller's ``answer`` called once with its result, or with the
    exception that left it unknown: ``ask`` failing, or not done within ``timeout``
    (a TimeoutError saying so), answers every caller with it, so each fails closed.

    ``failed`` sees that exception first (to wake a keeper, say); ``took`` the seconds
    the round trip took, whatever came of it (a histogram). A caller whose ``answer``
    raises is logged (``what`` answer failed, ``event``/``stage``) and the others are
    still answered.
    """

    def __init__(self, ask: Callable[[list[Q]], Awaitable[Sequence[R]]], *, timeout: float,
                 log: logging.Logger, what: str, event: str, stage: str,
                 failed: Callable[[Exception], None] | None = None,
                 took: Callable[[float], None] | None = None) -> None:
        self._ask, self._timeout = ask, timeout
        self._log, self._what, self._event, self._stage = log, what, event, stage
        self._failed, self._took = failed, took
        self._pending: list[tuple[Q, Callable[[R | Exception], None]]] = []
        self._running = TaskSet()

    def add(self, question: Q, answer: Callable[[R | Exception], None]) -> None:
        """Ask ``question`` with this tick's others; ``answer`` is called once."""
        pending = self._pending
        if not pending:
            asyncio.get_running_loop().call_soon(self._flush)
        pending.append((question, answer))

    async def drain(self, timeout: float) -> None:
        """Wait (bounded) for the batches under way; at shutdown."""
        await self._running.drain(timeout)

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        if batch:
            self._running.spawn(self._run(batch))

    async def _run(self, batch: list[tuple[Q, Callable[[R | Exception], None]]]) -> None:
        started = time.perf_counter()
        found: Sequence[R | Exception]
        try:
            async with asyncio.timeout(self._timeout):
                found = await self._ask([question for question, _ in batch])
        except Exception as error:  # Redis down or slow: every caller fails closed
            if isinstance(error, TimeoutError):
                error = TimeoutError(f"no answer from Redis within {self._timeout:g} s")
            if self._failed is not None:
                self._failed(error)
            found = [error] * len(batch)
        finally:
            if self._took is not None:
                self._took(time.perf_counter() - started)
        for (_, answer), outcome in zip(batch, found, strict=True):
            try:
                answer(outcome)
            except Exception:  # one caller's bug must not leave the others unanswered
                self._log.exception("%s answer failed", self._what,
                                    extra=fields(self._event, stage=self._stage))


def backoff(attempt: int, first: float, cap: float, *, jitter: bool = False) -> float:
    """The delay before retry ``attempt`` (1 for the first): ``first * 2**(attempt-1)``,
    at most ``cap``; with ``jitter``, uniformly drawn from 0 to that ("full jitter")."""
    ceiling = min(cap, first * 2.0 ** min(max(attempt - 1, 0), 60))
    return random.uniform(0, ceiling) if jitter else ceiling
