"""Opt-outs and opt-ins by any path: the ledger first (durable), then the Redis cache.

Every writer (the HTTP management API, the CLI, and later STOP replies and
opt-out links) goes through ``Suppressions``, so the order is always the
same: the ledger commits, then the cache is written through, then the
caller acknowledges. A cache write that fails leaves the cache marked dirty
(lookups refuse promotional traffic) until the keeper has rebuilt it from
the ledger: an opt-out is never acknowledged and then forgotten.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import re
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Iterable,
    Sequence,
)
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from gateway.ledger.health import LedgerHealth
from gateway.ledger.model import (
    IMPORT_CHUNK,
    ErasureResult,
    EventKind,
    HistoryRow,
    ImportResult,
    OptEvent,
    Source,
    SuppressionRow,
)
from gateway.ledger.threaded import AsyncLedger
from gateway.observability.logs import fields
from gateway.observability.metrics import Metrics
from gateway.suppression.cache import SuppressionCache
from gateway.suppression.erasure import (
    KEY_META,
    ErasureNotConfigured,
    NumberHasher,
    key_mismatch,
)
from rules.numbers import normalize_once

log = logging.getLogger("stopgate.suppressions")

OPERATOR_SCOPE = "*"
_T = TypeVar("_T")
_CELL_END = re.compile(r"[,;\t]")
_MAX_LINE_ERRORS = 100
#: An import gives the event loop a turn every this many lines (~5 ms of parsing), so the
#: MT path of a gateway that imports a streamed body keeps its latency.
_YIELD_EVERY = 500


@dataclass(slots=True)
class ImportReport:
    """What an import did: counts, and the first problems by line number."""

    added: int = 0
    already: int = 0
    invalid: int = 0
    lines: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "lines": self.lines, "added": self.added, "already": self.already,
            "invalid": self.invalid,
            "errors": [{"line": line, "error": error} for line, error in self.errors],
        }


def parse_number(text: str, region: str) -> str | None:
    """A CSV cell or CLI argument to E.164, or None when it is not a phone number.

    Uncached (``normalize_once``): imports see each number once, and must not push
    the MT path's recipients out of ``normalize``'s cache.
    """
    number = normalize_once(text.strip(), 0, region)
    return number.e164 if number is not None else None


def first_cell(line: str) -> str | None:
    """The first cell of one CSV line (None for a blank line or a # comment).

    Separated by a comma, a semicolon (spreadsheets in much of Europe) or a tab; a
    quoted cell may hold any of them and doubled quotes. Numbers contain none.
    """
    line = line.strip()
    if not line or line[0] == "#":
        return None
    if line[0] != '"':
        return _CELL_END.split(line, 1)[0].strip()
    parts, start = [], 1
    while (quote := line.find('"', start)) >= 0:
        parts.append(line[start:quote])
        if line[quote + 1:quote + 2] != '"':
            return "".join(parts).strip()
        parts.append('"')
        start = quote + 2
    return ("".join(parts) + line[start:]).strip()  # no closing quote: the rest


class Suppressions:
    """The one write path for suppression state (see the module docstring).

    ``cache`` None: the ledger only (the CLI when no Redis is reachable); whoever
    builds it that way says what that means for running gateways.

    Webhooks: ``webhook_accounts`` (the accounts that have a ``webhook_url``) decides
    who hears of an event: its account if it has one, every one of them for ``"*"``.
    None: the ledger's default (the event's account; nobody for ``"*"``). The outbox
    rows commit with the event; ``on_recorded`` (the webhook worker's ``wake``) is
    called after a state change so delivery starts at once rather than at the next poll.
    """

    def __init__(
        self, ledger: AsyncLedger, cache: SuppressionCache | None, metrics: Metrics, *,
        webhook_accounts: Collection[str] | None = None,
        on_recorded: Callable[[], None] | None = None,
        health: LedgerHealth | None = None,
        hasher: NumberHasher | None = None,
    ) -> None:
        self.ledger = ledger
        #: The erasure hash (``storage.hash_key``); None: erasure is not configured.
        self.hasher = hasher
        #: Called with (scope or None for every scope, number) after an erasure: what
        #: else keeps the number (campaign notes in Redis) forgets it.
        self.forget: list[Callable[[str | None, str], Awaitable[None]]] = []
        #: Told of every opt-out/opt-in write's outcome: a failed one makes the gateway
        #: refuse promotional traffic at once, not at the next probe.
        self.health = health
        self.cache = cache
        self.metrics = metrics
        self.webhook_accounts = (None if webhook_accounts is None
                                 else tuple(dict.fromkeys(webhook_accounts)))
        self.on_recorded = on_recorded

    def _notify(self, scope: str) -> tuple[str, ...] | None:
        if self.webhook_accounts is None:
            return None
        if scope == OPERATOR_SCOPE:
            return self.webhook_accounts
        return (scope,) if scope in self.webhook_accounts else ()

    async def _record(self, event: OptEvent) -> OptEvent:
        recorded = (await self.record_with(self.ledger.record([event])))[0]
        if recorded.changed and recorded.notify_accounts() and self.on_recorded is not None:
            self.on_recorded()
        return recorded

    async def record_with(self, write: Awaitable[_T]) -> _T:
        """Await a ledger write that records opt-outs or opt-ins, telling ``health`` how
        it went (a failed one makes the gateway refuse promotional traffic at once)."""
        try:
            done = await write
        except Exception as error:
            if self.health is not None:
                self.health.failed(error)
            raise
        if self.health is not None:
            self.health.succeeded()
        return done

    def event(self, scope: str, number: str, kind: EventKind, *, source: Source,
              keyword: str | None = None, campaign: str | None = None,
              reason: str | None = None, number_called: str | None = None,
              mo_text: str | None = None, user_agent: str | None = None,
              api_key: str | None = None, client_address: str | None = None) -> OptEvent:
        """An event to record now, announced to whom ``webhook_accounts`` says, with its
        evidence (the MO's text, the page's user agent, the API key and address)."""
        return OptEvent(
            number=number, scope=scope, event=kind, source=source, campaign=campaign,
            keyword=keyword, reason=reason, number_called=number_called, mo_text=mo_text,
            user_agent=user_agent, api_key=api_key, client_address=client_address,
            at=datetime.now(UTC), notify=self._notify(scope),
        )

    async def optout(
        self,
        scope: str,
        number: str,
        *,
        source: Source,
        campaign: str | None = None,
        keyword: str | None = None,
        reason: str | None = None,
        number_called: str | None = None,
        mo_text: str | None = None,
        user_agent: str | None = None,
        api_key: str | None = None,
        client_address: str | None = None,
    ) -> OptEvent:
        """Record an opt-out durably, then make it effective in the cache."""
        event = self.event(scope, number, "optout", source=source, campaign=campaign,
                           keyword=keyword, reason=reason, number_called=number_called,
                           mo_text=mo_text, user_agent=user_agent, api_key=api_key,
                           client_address=client_address)
        return await self.recorded(await self._record(event), wake=False)

    async def recorded(self, recorded: OptEvent, *, wake: bool = True) -> OptEvent:
        """After an opt-out committed in the ledger (by ``optout``, or with another write:
        a review decided): the cache, the webhook worker woken, the metric, the log."""
        if wake and recorded.changed and recorded.notify_accounts() \
                and self.on_recorded is not None:
            self.on_recorded()
        scope, number, source = recorded.scope, recorded.number, recorded.source
        await self._write_through("add", [(scope, number)])
        if recorded.changed:
            self.metrics.optouts_total.labels(source).inc()
        log.info("opt-out recorded", extra=fields(
            "optout_recorded", account=scope, number=number, source=source,
            keyword=recorded.keyword, campaign=recorded.campaign,
            number_called=recorded.number_called, reason=recorded.reason,
            changed=recorded.changed))
        return recorded

    async def optin(
        self, scope: str, number: str, *, source: Source, keyword: str | None = None,
        number_called: str | None = None, mo_text: str | None = None,
        api_key: str | None = None, client_address: str | None = None,
        consent_source: str | None = None,
    ) -> OptEvent:
        """Record a re-consent durably, then lift it from the cache (an opt-out kept
        under the number's erasure hash too: the recipient consented again)."""
        aliases = (self.hasher(number),) if self.hasher is not None else ()
        event = OptEvent(
            number=number, scope=scope, event="optin", source=source, keyword=keyword,
            number_called=number_called, mo_text=mo_text, api_key=api_key,
            client_address=client_address, consent_source=consent_source,
            at=datetime.now(UTC), notify=self._notify(scope), aliases=aliases,
        )
        recorded = await self._record(event)
        await self._write_through("remove", [(scope, n) for n in (number, *aliases)])
        log.info("opt-in recorded", extra=fields(
            "optin_recorded", account=scope, number=number, source=source, keyword=keyword,
            number_called=number_called, changed=recorded.changed))
        return recorded

    async def optout_in_force(self, scope: str, number: str) -> OptEvent | None:
        """The opt-out event that keeps (scope, number) suppressed now, from the ledger."""
        return await self.ledger.optout_in_force(scope, number)

    async def scopes(self, number: str) -> list[str]:
        """The scopes (accounts, "*") that ``number`` is opted out of, from the ledger
        (in clear or, once erased there, under its hash)."""
        found = await self.ledger.suppressed_scopes(number)
        if self.hasher is not None:
            found = sorted({*found, *await self.ledger.suppressed_scopes(self.hasher(number))})
        return list(found)

    async def history(self, number: str, scopes: Sequence[str] | None) -> list[HistoryRow]:
        """Every event of ``number`` in ``scopes`` (None: all), in clear or erased, and
        its erasures, oldest first."""
        numbers = [number] if self.hasher is None else [number, self.hasher(number)]
        return await self.ledger.history(numbers, scopes)

    async def erase(self, scope: str | None, number: str, *, source: Source,
                    api_key: str | None = None,
                    client_address: str | None = None) -> ErasureResult:
        """Replace ``number`` by its keyed hash in ``scope`` (None: every scope): the
        ledger in one transaction, then the cache (the hashed entry before the clear one
        goes: never a moment unblocked), then the campaign notes. Raises
        ErasureNotConfigured without a key, or under a key other than earlier erasures'."""
        if self.hasher is None:
            raise ErasureNotConfigured(
                "erasure needs a key: set storage.hash_key (or storage.hash_key_file) to a "
                "secret of at least 32 characters, and never change it afterwards")
        problem = key_mismatch(self.hasher, await self.ledger.meta_get(KEY_META))
        if problem is not None:
            raise ErasureNotConfigured(problem)
        hashed = self.hasher(number)
        try:
            result = await self.ledger.erase(number, hashed, scope, source=source,
                                             api_key=api_key, client_address=client_address)
        except Exception as error:
            if self.health is not None:
                self.health.failed(error)
            raise
        if result.found:
            # The key is fixed by the first erasure that erased something (a number
            # stopgate never held fixes nothing). The first one recorded wins.
            recorded = await self.ledger.meta_value(KEY_META, self.hasher.fingerprint)
            if recorded != self.hasher.fingerprint:
                log.error("erasure: another key was recorded meanwhile", extra=fields(
                    "erasure_key_race", account=scope or "*", error=key_mismatch(
                        self.hasher, recorded)))
        await self._write_through("add", [(s, hashed) for s in result.scopes])
        await self._write_through("remove", [(s, number) for s in result.scopes])
        for forget in self.forget:
            try:
                await forget(scope, number)
            except Exception as exc:  # the ledger and the cache are done; say what is left
                log.error("erasure: a campaign note could not be removed", extra=fields(
                    "erasure_forget_failed", account=scope, error=f"{type(exc).__name__}: {exc}"))
                raise
        log.info("number erased", extra=fields(
            "number_erased", account=scope or "*", source=source, events=result.events,
            suppressions=result.suppressions, tokens=result.tokens, webhooks=result.webhooks))
        return result

    async def import_lines(
        self, scope: str, lines: AsyncIterable[str] | Iterable[str], region: str, *,
        source: Source = "import",
    ) -> ImportReport:
        """Import numbers (CSV first column, or one a line): ledger in chunks, then the cache.

        Lines are numbered from 1 as read (a header or blank line counts); a first line
        without digits is a header; blank lines and ``#`` comments are skipped. Each chunk
        of ``IMPORT_CHUNK`` numbers is committed whole and then written through, while
        the next one is parsed; an import cut short (a dropped connection, a crash) leaves
        whole chunks done, and running it again completes it (numbers already suppressed
        count as ``already``).
        """
        report = ImportReport()
        chunk: list[str] = []
        pending: asyncio.Task[None] | None = None

        async def commit(numbers: list[str]) -> None:
            # A task of its own: if the caller is cancelled mid-import, a chunk the ledger
            # took is still written through to the cache.
            result: ImportResult = await self.ledger.import_numbers(scope, numbers,
                                                                    source=source)
            report.added += result.added
            report.already += result.already
            self.metrics.suppression_imports.labels("added").inc(result.added)
            self.metrics.suppression_imports.labels("already").inc(result.already)
            await self._write_through("add", [(scope, number) for number in numbers])

        async def flush() -> None:
            nonlocal chunk, pending
            if pending is not None:
                await pending  # one chunk in flight: commits stay in order
                pending = None
            if chunk:
                pending = asyncio.create_task(commit(chunk), name="suppression-import-chunk")
                pending.add_done_callback(_log_failure)
                chunk = []

        try:
            async for index, cell in _numbered(lines):
                report.lines = index
                if index % _YIELD_EVERY == 0:
                    await asyncio.sleep(0)
                if cell is None:
                    continue
                number = parse_number(cell, region) if cell else None
                if number is None:
                    report.invalid += 1
                    if len(report.errors) < _MAX_LINE_ERRORS:
                        report.errors.append((index, f"not a valid phone number: {cell[:40]!r}"
                                              if cell else "no number in the first column"))
                    continue
                chunk.append(number)
                if len(chunk) >= IMPORT_CHUNK:
                    await flush()
            await flush()
            await flush()
        finally:
            self.metrics.suppression_imports.labels("invalid").inc(report.invalid)
            log.info("suppression import ended", extra=fields(
                "suppression_import", account=scope, source=source, lines=report.lines,
                added=report.added, already=report.already, invalid=report.invalid))
        return report

    async def export_csv(self, scope: str | None) -> AsyncGenerator[str, None]:
        """CSV lines (with a header) of the current suppressions of ``scope`` (None: all)."""
        yield "number,scope,since,source\r\n"
        async for rows in _batched(self.ledger.export(scope)):
            out = io.StringIO()
            writer = csv.writer(out)
            for number, row_scope, since, row_source in rows:
                writer.writerow((number, row_scope, since.isoformat(), row_source))
            yield out.getvalue()

    async def _write_through(self, mode: str, pairs: list[tuple[str, str]]) -> None:
        if self.cache is None:
            return
        try:
            if mode == "add":
                await self.cache.add_many(pairs)
            else:
                await self.cache.remove_many(pairs)
        except Exception as exc:
            # The ledger has it; the cache is now marked dirty and refuses promotional
            # traffic until the keeper rebuilds it from the ledger.
            log.warning("suppression cache write-through failed; cache marked for rebuild",
                        extra=fields("suppression_write_through_failed", entries=len(pairs),
                                     error=f"{type(exc).__name__}: {exc}"))


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("suppression import: a chunk failed", exc_info=task.exception(),
                  extra=fields("suppression_import_failed"))


async def _numbered(
    lines: AsyncIterable[str] | Iterable[str],
) -> AsyncIterator[tuple[int, str | None]]:
    """(line number, first cell) of every line: the cell is None for a line that holds no
    number by design (blank, a # comment, a first line without digits: a header)."""
    index = 0

    def numbered(line: str) -> tuple[int, str | None]:
        nonlocal index
        index += 1
        if index == 1:
            line = line.lstrip("\ufeff")  # a UTF-8 byte order mark
        cell = first_cell(line)
        if index == 1 and cell is not None and not any(c.isdigit() for c in cell):
            return index, None
        return index, cell

    if isinstance(lines, AsyncIterable):
        async for line in lines:
            yield numbered(line)
    else:
        for line in lines:
            yield numbered(line)


async def _batched(rows: AsyncIterable[SuppressionRow]) -> AsyncIterator[list[SuppressionRow]]:
    batch: list[SuppressionRow] = []
    async for row in rows:
        batch.append(row)
        if len(batch) >= 5000:
            yield batch
            batch = []
    if batch:
        yield batch
