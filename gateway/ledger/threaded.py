"""The ledger for the event loop: every call on one worker thread, in order."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Callable,
    Iterable,
    Iterator,
    Sequence,
)
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from itertools import islice
from typing import ParamSpec, TypeVar

from gateway.ledger.held import FinalStatus, HeldInfo, HeldRow, NewHeld
from gateway.ledger.model import (
    IMPORT_CHUNK,
    ErasureResult,
    HistoryRow,
    ImportResult,
    Ledger,
    OptEvent,
    OutboxRow,
    Progress,
    ReportGroup,
    ReportRow,
    Review,
    ReviewDecision,
    ReviewStatus,
    ReviewSummary,
    Source,
    SuppressionRow,
    TokenInfo,
    check_source,
)

_P = ParamSpec("_P")
_T = TypeVar("_T")
_Row = TypeVar("_Row")

_EXPORT_BATCH = 5_000


class AsyncLedger:
    """A ``Ledger`` for the event loop: every call runs on one dedicated worker thread.

    One thread means SQLite writes are serialised and run in the order they were
    called (FIFO); the loop only awaits. A call cancelled before the worker starts it
    is dropped; once started it runs to the end (a commit cannot be half undone).
    """

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger")

    async def _call(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    async def record(self, events: Sequence[OptEvent]) -> list[OptEvent]:
        return await self._call(self.ledger.record, events)

    async def is_suppressed(self, scope: str, number: str) -> bool:
        return await self._call(self.ledger.is_suppressed, scope, number)

    async def suppressed_scopes(self, number: str) -> list[str]:
        return await self._call(self.ledger.suppressed_scopes, number)

    async def suppressions_of(self, number: str) -> list[SuppressionRow]:
        return await self._call(self.ledger.suppressions_of, number)

    async def count_suppressed(self, scope: str | None = None) -> int:
        return await self._call(self.ledger.count_suppressed, scope)

    async def iter_suppressed(self, batch: int = 10_000
                             ) -> AsyncGenerator[list[tuple[str, str]], None]:
        """Batches of the snapshot; other calls run between batches (the snapshot is
        held by its own connection, so they neither see nor disturb it). Stopping early:
        wrap it in ``contextlib.aclosing`` so the snapshot is let go at once (a held
        snapshot keeps the WAL from being checkpointed)."""
        batches = await self._call(self.ledger.iter_suppressed, batch)
        try:
            while (rows := await self._call(next, batches, None)) is not None:
                yield rows
        finally:
            await self._call(_close_iterator, batches)

    async def export(self, scope: str | None = None) -> AsyncGenerator[SuppressionRow, None]:
        rows = await self._call(self.ledger.export, scope)
        try:
            while chunk := await self._call(_take, rows, _EXPORT_BATCH):
                for row in chunk:
                    yield row
        finally:
            await self._call(_close_iterator, rows)

    async def import_numbers(self, scope: str, numbers: Iterable[str] | AsyncIterable[str], *,
                             source: Source = "import", at: datetime | None = None,
                             progress: Progress | None = None) -> ImportResult:
        """Like ``Ledger.import_numbers``, one worker call per ``IMPORT_CHUNK`` numbers so
        opt-outs from MOs interleave with a long import. ``numbers`` may be async (a
        streamed HTTP body); a sync iterable is read on the loop, so pass a list or a
        cheap generator, not a slow file."""
        check_source(source)
        at = at or datetime.now(UTC)
        done = ImportResult()
        async for chunk in _chunks(numbers, IMPORT_CHUNK):
            done += await self._call(self.ledger.import_numbers, scope, chunk,
                                     source=source, at=at)
            if progress is not None:
                progress(done)
        return done

    async def token_for(self, account: str, number: str, campaign: str | None = None) -> str:
        return await self._call(self.ledger.token_for, account, number, campaign)

    async def tokens_for(self, account: str, numbers: Iterable[str],
                         campaign: str | None = None) -> dict[str, str]:
        return await self._call(self.ledger.tokens_for, account, list(numbers), campaign)

    async def resolve_token(self, token: str) -> TokenInfo | None:
        return await self._call(self.ledger.resolve_token, token)

    async def claim_webhooks(self, worker_id: str, limit: int, lease_seconds: float,
                             now: datetime) -> list[OutboxRow]:
        return await self._call(self.ledger.claim_webhooks, worker_id, limit, lease_seconds,
                                now)

    async def webhook_done(self, outbox_id: int, status: int, now: datetime) -> None:
        await self._call(self.ledger.webhook_done, outbox_id, status, now)

    async def webhook_retry(self, outbox_id: int, worker_id: str, status: int | None,
                            next_attempt: datetime) -> None:
        await self._call(self.ledger.webhook_retry, outbox_id, worker_id, status, next_attempt)

    async def webhook_give_up(self, outbox_id: int, worker_id: str, status: int | None,
                              now: datetime) -> None:
        await self._call(self.ledger.webhook_give_up, outbox_id, worker_id, status, now)

    async def webhook_release(self, worker_id: str) -> int:
        return await self._call(self.ledger.webhook_release, worker_id)

    async def webhook_backlog(self) -> int:
        return await self._call(self.ledger.webhook_backlog)

    # --- held messages ----------------------------------------------------------------

    async def hold(self, held: NewHeld) -> int:
        return await self._call(self.ledger.hold, held)

    async def hold_many(self, rows: Sequence[NewHeld]) -> list[int]:
        return await self._call(self.ledger.hold_many, list(rows))

    async def claim_held(self, worker_id: str, limit: int, lease_seconds: float,
                         now: datetime) -> list[HeldRow]:
        return await self._call(self.ledger.claim_held, worker_id, limit, lease_seconds, now)

    async def held_finish(self, held_id: int, worker_id: str, status: FinalStatus,
                          now: datetime, reason: str | None = None) -> bool:
        return await self._call(self.ledger.held_finish, held_id, worker_id, status, now,
                                reason)

    async def held_again(self, held_id: int, worker_id: str, due_at: datetime,
                         reason: str | None = None) -> bool:
        return await self._call(self.ledger.held_again, held_id, worker_id, due_at, reason)

    async def held_notified(self, held_id: int, worker_id: str, now: datetime) -> bool:
        return await self._call(self.ledger.held_notified, held_id, worker_id, now)

    async def cancel_held(self, account: str, campaign: str, now: datetime,
                          reason: str = "cancelled") -> int:
        return await self._call(self.ledger.cancel_held, account, campaign, now, reason)

    async def held_give_back(self, worker_id: str) -> int:
        return await self._call(self.ledger.held_give_back, worker_id)

    async def list_held(self, account: str, *, after: int = 0, limit: int = 100,
                        campaign: str | None = None) -> list[HeldInfo]:
        return await self._call(self.ledger.list_held, account, after=after, limit=limit,
                                campaign=campaign)

    async def count_held(self) -> dict[str, int]:
        return await self._call(self.ledger.count_held)

    async def held_counts(self, account: str, since: datetime,
                          until: datetime) -> dict[str, int]:
        return await self._call(self.ledger.held_counts, account, since, until)

    async def optout_in_force(self, scope: str, number: str) -> OptEvent | None:
        return await self._call(self.ledger.optout_in_force, scope, number)

    async def set_reason(self, event_id: int, reason: str) -> bool:
        return await self._call(self.ledger.set_reason, event_id, reason)

    async def report(self, scope: str | None, since: datetime, until: datetime,
                     group_by: ReportGroup) -> list[ReportRow]:
        return await self._call(self.ledger.report, scope, since, until, group_by)

    async def add_review(self, review: Review) -> tuple[Review, bool]:
        return await self._call(self.ledger.add_review, review)

    async def reviews(self, scope: str | None = None, status: ReviewStatus | None = None,
                      limit: int = 1000) -> list[Review]:
        return await self._call(self.ledger.reviews, scope, status, limit)

    async def review(self, review_id: int) -> Review | None:
        return await self._call(self.ledger.review, review_id)

    async def decide_review(self, review_id: int, decision: ReviewDecision, decided_by: str,
                            at: datetime, optout: Callable[[Review], OptEvent] | None = None
                            ) -> tuple[Review | None, OptEvent | None]:
        return await self._call(self.ledger.decide_review, review_id, decision, decided_by,
                                at, optout)

    async def review_summary(self, now: datetime) -> ReviewSummary:
        return await self._call(self.ledger.review_summary, now)
    async def history(self, numbers: Sequence[str], scopes: Sequence[str] | None
                      ) -> list[HistoryRow]:
        return await self._call(self.ledger.history, list(numbers),
                                None if scopes is None else list(scopes))

    async def erase(self, number: str, hashed: str, scope: str | None, *, source: Source,
                    api_key: str | None = None, client_address: str | None = None
                    ) -> ErasureResult:
        return await self._call(self.ledger.erase, number, hashed, scope, source=source,
                                api_key=api_key, client_address=client_address)

    async def meta_value(self, key: str, default: str) -> str:
        return await self._call(self.ledger.meta_value, key, default)

    async def meta_get(self, key: str) -> str | None:
        return await self._call(self.ledger.meta_get, key)

    async def health(self) -> bool:
        return await self._call(self.ledger.health)

    async def write_probe(self) -> None:
        await self._call(self.ledger.write_probe)

    async def aclose(self) -> None:
        """Close the ledger after every call already queued, then stop the worker."""
        try:
            await self._call(self.ledger.close)
        finally:
            self._executor.shutdown(wait=False)


def _take(rows: Iterator[_Row], n: int) -> list[_Row]:
    return list(islice(rows, n))


def _close_iterator(rows: Iterator[object]) -> None:
    close = getattr(rows, "close", None)  # generators hold a snapshot connection: let it go
    if close is not None:
        close()


async def _chunks(numbers: Iterable[str] | AsyncIterable[str], size: int
                  ) -> AsyncIterator[list[str]]:
    if not isinstance(numbers, AsyncIterable):
        it = iter(numbers)
        while chunk := list(islice(it, size)):
            yield chunk
        return
    chunk = []
    async for number in numbers:
        chunk.append(number)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
