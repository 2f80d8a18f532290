"""How the suppression cache reads the ledger: its interface, and batches off the event loop.

The ledger (gateway.ledger.model) comes in two forms and the cache takes either: the
blocking ``Ledger``, which it reads on a thread of its own (the whole scan on
one thread, so a SQLite cursor is fine), or the ``AsyncLedger``, which runs
its calls on its own worker thread. They are told apart by whether
``count_suppressed`` is a coroutine function.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from typing import Protocol, cast

__all__ = ["AsyncSuppressionSource", "LedgerSource", "SuppressionSource", "ledger_batches",
           "ledger_count"]

Pair = tuple[str, str]


class SuppressionSource(Protocol):
    """What the cache needs of the ledger, blocking (gateway.ledger.model.Ledger).

    The cache runs these on a thread of its own: the whole iteration on one
    thread (a SQLite cursor is fine), never on the event loop.
    """

    def iter_suppressed(self, batch: int = 10_000) -> Iterator[list[Pair]]:
        """Every (scope, number) currently suppressed, from one consistent snapshot
        that starts no earlier than this call."""
        ...

    def count_suppressed(self) -> int:
        """How many (scope, number) pairs are currently suppressed."""
        ...


class AsyncSuppressionSource(Protocol):
    """The same for the event loop (gateway.ledger.model.AsyncLedger, which has its own thread)."""

    def iter_suppressed(self, batch: int = 10_000) -> AsyncIterator[list[Pair]]:
        ...

    async def count_suppressed(self) -> int:
        ...


#: A ledger either way: told apart by whether ``count_suppressed`` is a coroutine function.
LedgerSource = SuppressionSource | AsyncSuppressionSource


def _is_async(ledger: LedgerSource) -> bool:
    return inspect.iscoroutinefunction(ledger.count_suppressed)


async def ledger_count(ledger: LedgerSource) -> int:
    """The ledger's count of suppressed pairs, off the event loop either way."""
    if _is_async(ledger):
        return int(await cast(AsyncSuppressionSource, ledger).count_suppressed())
    return int(await asyncio.to_thread(cast(SuppressionSource, ledger).count_suppressed))


async def ledger_batches(ledger: LedgerSource, batch: int) -> AsyncGenerator[list[Pair], None]:
    """The ledger's batches: from its own async iterator, or read on one dedicated thread."""
    if _is_async(ledger):
        batches = cast(AsyncSuppressionSource, ledger).iter_suppressed(batch)
        try:
            async for rows in batches:
                yield rows
        finally:
            close = getattr(batches, "aclose", None)
            if close is not None:
                await close()
        return
    async with contextlib.aclosing(_threaded_batches(cast(SuppressionSource, ledger), batch)) \
            as threaded:
        async for rows in threaded:
            yield rows


async def _threaded_batches(
    ledger: SuppressionSource, batch: int
) -> AsyncGenerator[list[Pair], None]:
    """The ledger's batches, read on one dedicated thread, at most two batches ahead."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[list[Pair] | BaseException | None] = asyncio.Queue(maxsize=2)
    stop = threading.Event()

    def put(item: list[Pair] | BaseException | None) -> bool:
        future = asyncio.run_coroutine_threadsafe(queue.put(item), loop)
        while True:
            try:
                future.result(timeout=0.2)
                return True
            except concurrent.futures.TimeoutError:
                if stop.is_set():
                    future.cancel()
                    return False

    def produce() -> None:
        iterator: Iterator[list[Pair]] | None = None
        try:
            iterator = ledger.iter_suppressed(batch)
            for rows in iterator:
                if stop.is_set() or not put(list(rows)):
                    return
            put(None)
        except BaseException as exc:
            with contextlib.suppress(BaseException):
                put(exc)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    close()

    threading.Thread(target=produce, name="stopgate-ledger-scan", daemon=True).start()
    try:
        while True:
            item = await queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
