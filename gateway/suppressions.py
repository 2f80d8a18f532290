"""Opt-outs and opt-ins by any path: the ledger first (durable), then the Redis cache.

Every writer (the HTTP management API, the CLI, and later STOP replies and
opt-out links) goes through ``Suppressions``, so the order is always the
same: the ledger commits, then the cache is written through, then the
caller acknowledges. A cache write that fails leaves the cache marked dirty
(lookups refuse promotional traffic) until the keeper has rebuilt it from
the ledger: an opt-out is never acknowledged and then forgotten.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from gateway.ledger import AsyncLedger, ImportResult, OptEvent, Source, SuppressionRow
from gateway.metrics import Metrics
from gateway.suppression_cache import SuppressionCache
from rules.numbers import normalize

log = logging.getLogger("stopgate.suppressions")

OPERATOR_SCOPE = "*"
_IMPORT_CHUNK = 50_000
_MAX_LINE_ERRORS = 100


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
    """A CSV cell or CLI argument to E.164, or None when it is not a phone number."""
    number = normalize(text.strip(), 0, region)
    return number.e164 if number is not None else None


def first_cell(line: str) -> str:
    """The first CSV cell of one line ("" for a blank line or a # comment)."""
    line = line.strip()
    if not line or line.startswith("#"):
        return ""
    if '"' not in line:
        return line.split(",", 1)[0].strip()
    row = next(csv.reader([line]), [])
    return row[0].strip() if row else ""


class Suppressions:
    """The one write path for suppression state (see the module docstring)."""

    def __init__(self, ledger: AsyncLedger, cache: SuppressionCache, metrics: Metrics) -> None:
        self.ledger = ledger
        self.cache = cache
        self.metrics = metrics

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
    ) -> OptEvent:
        """Record an opt-out durably, then make it effective in the cache."""
        event = OptEvent(
            number=number, scope=scope, event="optout", source=source, campaign=campaign,
            keyword=keyword, reason=reason, number_called=number_called, at=datetime.now(UTC),
        )
        recorded = (await self.ledger.record([event]))[0]
        await self._write_through("add", [(scope, number)])
        if recorded.changed:
            self.metrics.optouts_total.labels(source).inc()
        return recorded

    async def optin(
        self, scope: str, number: str, *, source: Source, keyword: str | None = None
    ) -> OptEvent:
        """Record a re-consent durably, then lift it from the cache."""
        event = OptEvent(
            number=number, scope=scope, event="optin", source=source, keyword=keyword,
            at=datetime.now(UTC),
        )
        recorded = (await self.ledger.record([event]))[0]
        await self._write_through("remove", [(scope, number)])
        return recorded

    async def scopes(self, number: str) -> list[str]:
        """The scopes (accounts, "*") that ``number`` is opted out of, from the ledger."""
        return list(await self.ledger.suppressed_scopes(number))

    async def import_lines(
        self, scope: str, lines: AsyncIterable[str] | Iterable[str], region: str, *,
        source: Source = "import",
    ) -> ImportReport:
        """Import numbers (CSV first column, or one a line): ledger in chunks, then the cache."""
        report = ImportReport()
        chunk: list[str] = []

        async def flush() -> None:
            if not chunk:
                return
            result: ImportResult = await self.ledger.import_numbers(scope, chunk, source=source)
            report.added += result.added
            report.already += result.already
            await self._write_through("add", [(scope, number) for number in chunk])
            chunk.clear()

        async for index, cell in _numbered(lines):
            report.lines = index
            number = parse_number(cell, region)
            if number is None:
                report.invalid += 1
                if len(report.errors) < _MAX_LINE_ERRORS:
                    report.errors.append((index, f"not a valid phone number: {cell[:40]!r}"))
                continue
            chunk.append(number)
            if len(chunk) >= _IMPORT_CHUNK:
                await flush()
        await flush()
        for outcome in ("added", "already", "invalid"):
            self.metrics.suppression_imports.labels(outcome).inc(getattr(report, outcome))
        return report

    async def export_csv(self, scope: str | None) -> AsyncIterator[str]:
        """CSV lines (with a header) of the current suppressions of ``scope`` (None: all)."""
        yield "number,scope,since,source\r\n"
        async for rows in _batched(self.ledger.export(scope)):
            out = io.StringIO()
            writer = csv.writer(out)
            for number, row_scope, since, row_source in rows:
                writer.writerow((number, row_scope, since.isoformat(), row_source))
            yield out.getvalue()

    async def _write_through(self, mode: str, pairs: list[tuple[str, str]]) -> None:
        try:
            if mode == "add":
                await self.cache.add_many(pairs)
            else:
                await self.cache.remove_many(pairs)
        except Exception:
            # The ledger has it; the cache is now marked dirty and refuses promotional
            # traffic until the keeper rebuilds it from the ledger.
            log.warning("suppression cache write-through failed; cache marked for rebuild")


async def _numbered(lines: AsyncIterable[str] | Iterable[str]) -> AsyncIterator[tuple[int, str]]:
    """(line number, first cell) of each number line; a first line without digits is a header."""
    index = 0

    def numbered(line: str) -> tuple[int, str] | None:
        nonlocal index
        index += 1
        cell = first_cell(line)
        if not cell or (index == 1 and not any(c.isdigit() for c in cell)):
            return None
        return index, cell

    if isinstance(lines, AsyncIterable):
        async for line in lines:
            if (item := numbered(line)) is not None:
                yield item
    else:
        for line in lines:
            if (item := numbered(line)) is not None:
                yield item


async def _batched(rows: AsyncIterable[SuppressionRow]) -> AsyncIterator[list[SuppressionRow]]:
    batch: list[SuppressionRow] = []
    async for row in rows:
        batch.append(row)
        if len(batch) >= 5000:
            yield batch
            batch = []
    if batch:
        yield batch
