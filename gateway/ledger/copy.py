"""``stopgate ledger copy --from SQLITE --to POSTGRESQL``: move a ledger to PostgreSQL.

What is copied, from one snapshot of the SQLite file (one read transaction):

- every event, with its id (so the order of recording is kept, and so are the
  ``event_id`` links of webhook deliveries) and its time;
- the current state (suppressions), the opt-out link tokens (links already sent
  keep resolving), the ledger facts (``ledger_meta``: the opt-out pages' secret
  above all, so forms already served still post);
- the webhook deliveries still open (neither delivered nor given up), with their
  attempts and next attempt, claims cleared (their workers belonged to the old
  ledger). Delivered and abandoned deliveries are history the new ledger does not
  need.
- the held messages (every status, claims cleared), the erasures (the record of who
  erased what, when) and the review list (pending and decided replies), with their
  ids.

Into a PostgreSQL ledger that must hold no events, suppressions, tokens or
deliveries: the command refuses a non-empty target (merging two histories would
renumber one of them) and says so. The whole copy is one transaction on the
target, so an interrupted copy leaves it empty and running the command again is
safe. Both ledgers are migrated to this stopgate's schema first.

Stop the gateways writing the SQLite ledger before copying (opt-outs recorded
after the snapshot would stay behind), then point ``storage.ledger`` at the
PostgreSQL URL and start them. README: "Backups and upgrades".
"""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from gateway.ledger.engines import sqlite_file
from gateway.ledger.model import LedgerError, counted, counted_if_any
from gateway.ledger.postgres import PostgresLedger, redact
from gateway.ledger.sql import OPEN
from gateway.ledger.sqlite import SqliteLedger, from_micros

__all__ = ["CopyReport", "copy_command", "copy_sqlite_to_postgres"]

_BATCH = 10_000
#: Facts about one ledger instance's life, not about the data: the target keeps its own.
_OWN_META = ("opened", "health_checked")


@dataclass(frozen=True, slots=True)
class CopyReport:
    """What was copied (counted in the target, in the copy's transaction)."""

    events: int
    suppressions: int
    tokens: int
    webhooks_open: int
    meta: int
    seconds: float
    #: Held messages (quiet hours), every status: the ones still held are released by the
    #: new ledger's gateways, the rest are the reports' history.
    held: int = 0
    #: Erasures recorded (the evidence of each, not the numbers).
    erasures: int = 0
    #: Replies on the review list, pending and decided.
    reviews: int = 0

    def summary(self, source: str, target: str) -> str:
        webhooks = counted(self.webhooks_open, "open webhook delivery",
                            "open webhook deliveries")
        # The tables issue 16 added are named only when they hold rows.
        more = counted_if_any(
            (self.held, "held message", "held messages"),
            (self.erasures, "erasure", "erasures"),
            (self.reviews, "reply on the review list", "replies on the review list"))
        return (f"copied {source} to {target} in {self.seconds:.1f}s: "
                f"{counted(self.events, 'event', 'events')}, "
                f"{counted(self.suppressions, 'suppression', 'suppressions')}, "
                f"{counted(self.tokens, 'opt-out link token', 'opt-out link tokens')}, "
                f"{webhooks}{more}, "
                f"{counted(self.meta, 'ledger fact', 'ledger facts')}")



def _micros(value: int | None) -> Any:
    return None if value is None else from_micros(value)


#: (table, SELECT on SQLite, columns on PostgreSQL, row converter)
_TABLES: tuple[tuple[str, str, str, Callable[[tuple[Any, ...]], tuple[Any, ...]]], ...] = (
    ("events",
     "SELECT id, at, scope, number, event, source, changed, campaign, keyword, reason, "
     "number_called, mo_text, user_agent, api_key, client_address, consent_source "
     "FROM events ORDER BY id",
     "id, at, scope, number, event, source, changed, campaign, keyword, reason, number_called, "
     "mo_text, user_agent, api_key, client_address, consent_source",
     lambda r: (r[0], from_micros(r[1]), *r[2:6], bool(r[6]), *r[7:])),
    ("suppressions",
     "SELECT scope, number, since, source, campaign FROM suppressions ORDER BY scope, number",
     "scope, number, since, source, campaign",
     lambda r: (r[0], r[1], from_micros(r[2]), r[3], r[4])),
    ("tokens",
     "SELECT token, account, number, campaign, created FROM tokens",
     "token, account, number, campaign, created",
     lambda r: (*r[:4], from_micros(r[4]))),
    ("webhook_outbox",
     f"SELECT id, event_id, account, number, payload, created, attempts, next_attempt, "
     f"last_status FROM webhook_outbox WHERE {OPEN} ORDER BY id",
     "id, event_id, account, number, payload, created, attempts, next_attempt, last_status",
     lambda r: (*r[:4], bytes(r[4]), from_micros(r[5]), r[6], from_micros(r[7]), r[8])),
    # Without their claims: a lease of the old ledger's gateways means nothing here.
    ("held_messages",
     "SELECT id, account, number, campaign, message_id, due_at, held_at, expires_at, message, "
     "status, reason, attempts, finished_at, notified_at FROM held_messages ORDER BY id",
     "id, account, number, campaign, message_id, due_at, held_at, expires_at, message, "
     "status, reason, attempts, finished_at, notified_at",
     lambda r: (*r[:5], from_micros(r[5]), from_micros(r[6]), from_micros(r[7]), bytes(r[8]),
                *r[9:12], _micros(r[12]), _micros(r[13]))),
    ("erasures",
     "SELECT id, at, scope, number_hash, source, api_key, client_address, events, "
     "suppressions, tokens, webhooks FROM erasures ORDER BY id",
     "id, at, scope, number_hash, source, api_key, client_address, events, suppressions, "
     "tokens, webhooks",
     lambda r: (r[0], from_micros(r[1]), *r[2:])),
    ("optout_reviews",
     "SELECT id, scope, number, number_called, text, matched, received_at, deadline, "
     "remind_at, status, decided_by, decided_at FROM optout_reviews ORDER BY id",
     "id, scope, number, number_called, text, matched, received_at, deadline, remind_at, "
     "status, decided_by, decided_at",
     lambda r: (*r[:6], from_micros(r[6]), from_micros(r[7]), from_micros(r[8]), *r[9:11],
                _micros(r[11]))),
)
_COPIED = ("events", "suppressions", "tokens", "webhook_outbox", "held_messages", "erasures",
           "optout_reviews")
#: The tables whose ids are an identity column: its sequence continues after the copy.
_NUMBERED = ("events", "webhook_outbox", "held_messages", "erasures", "optout_reviews")


def _rows(cursor: sqlite3.Cursor) -> Iterator[tuple[Any, ...]]:
    while batch := cursor.fetchmany(_BATCH):
        yield from batch


def copy_sqlite_to_postgres(source: Path, target: str) -> CopyReport:
    """Copy the SQLite ledger ``source`` into the empty PostgreSQL ledger ``target``."""
    started = time.monotonic()
    if not source.is_file():
        raise LedgerError(f"no SQLite ledger at {source}")
    SqliteLedger(source).close()  # migrated to this stopgate's schema (as serve would)
    PostgresLedger(target).close()  # created or migrated likewise
    try:
        with closing(sqlite3.connect(source, isolation_level=None)) as src, \
                psycopg.connect(target, autocommit=True) as dst:
            src.execute("BEGIN")  # one snapshot for every table
            with dst.transaction():
                dst.execute("SET LOCAL statement_timeout = 0")
                dst.execute(f"LOCK TABLE {', '.join(_COPIED)} IN EXCLUSIVE MODE")
                busy = [table for table in _COPIED
                        if dst.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()
                        != (False,)]
                if busy:
                    raise LedgerError(
                        f"the target ledger {redact(target)} is not empty ({', '.join(busy)} "
                        f"hold rows): copy only into a new, empty PostgreSQL ledger (drop "
                        f"and re-create its database or schema if it holds only a failed "
                        f"trial)")
                with dst.cursor() as cur:
                    for table, select, columns, convert in _TABLES:
                        with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                            for row in _rows(src.execute(select)):
                                copy.write_row(convert(row))
                    for table in _NUMBERED:
                        cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                    f"coalesce(max(id), 0) + 1, false) FROM {table}")
                    meta = [row for row in src.execute("SELECT key, value FROM ledger_meta")
                            if row[0] not in _OWN_META]
                    cur.executemany("INSERT INTO ledger_meta VALUES (%s, %s) ON CONFLICT (key) "
                                    "DO UPDATE SET value = excluded.value", meta)
                    events, suppressions, tokens, webhooks, held, erasures, reviews = (
                        _count(cur, table) for table in _COPIED)
            src.rollback()
    except (sqlite3.Error, psycopg.Error) as exc:
        raise LedgerError(f"copy failed, the target is left as it was: {exc}") from exc
    return CopyReport(events, suppressions, tokens, webhooks, len(meta),
                      time.monotonic() - started, held, erasures, reviews)


def _count(cur: psycopg.Cursor[Any], table: str) -> int:
    row = cur.execute(f"SELECT count(*) FROM {table}").fetchone()
    return 0 if row is None else int(row[0])


def copy_command(source: str, target: str) -> int:
    """``stopgate ledger copy``: 0 and the counts on stdout, or 1 and why on stderr."""
    path = sqlite_file(source, Path("."))
    if path is None or not source:
        print(f"stopgate ledger copy: --from must name a SQLite ledger (a path or "
              f"sqlite:///path), got {source!r}", file=sys.stderr)
        return 1
    if not target.startswith(("postgresql://", "postgres://")):
        print("stopgate ledger copy: --to must be a postgresql:// URL (the new ledger)",
              file=sys.stderr)
        return 1
    try:
        report = copy_sqlite_to_postgres(path, target)
    except LedgerError as exc:
        print(f"stopgate ledger copy: {exc}", file=sys.stderr)
        return 1
    print(report.summary(str(path), redact(target)))
    return 0
