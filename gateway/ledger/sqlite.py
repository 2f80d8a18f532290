"""The ledger in one SQLite file (WAL, synchronous=FULL): the default, for one instance.

Schema (version 3; the steps are ``gateway.ledger.migrations.SQLITE_STEPS``, and
``schema_migrations`` records which were applied)::

    events        id INTEGER PK (rowid, ascending = recording order), at (µs since
                  the Unix epoch, UTC), scope, number, event ('optout'|'optin'),
                  source, changed (0/1: did it change the state), campaign, keyword,
                  reason, number_called.  Append-only.
                  Indexes: (number) for a number's history; (scope, at) for reports.
    suppressions  (scope, number) PK, since, source, campaign.  WITHOUT ROWID.
                  The current state: one row per suppressed pair. Index: (number).
    tokens        token PK, account, number, campaign, created; UNIQUE (account, number).
    ledger_meta   key PK, value: small facts (created, last health check, the
                  opt-out pages' CSRF secret ``optout_secret``, shared by every
                  instance on the ledger).
    webhook_outbox  (version 2) id PK (ascending = recording order), event_id, account
                  (whose webhook_url), number, payload (the exact JSON body), created,
                  attempts, next_attempt, claimed_until, claimed_by, delivered_at,
                  given_up_at, last_status (HTTP status of the last attempt; NULL: no
                  answer). "Open" = neither delivered nor given up; partial indexes
                  cover the open rows only, so a long history costs the claim nothing.
    held_messages (version 3) promotional messages held for quiet hours: account,
                  number, campaign, message_id, due_at, held_at, expires_at, message (as
                  received), status, reason, attempts, the claim (claimed_by,
                  claimed_until), finished_at, notified_at. Partial indexes cover the
                  rows still held (gateway/ledger/held.py).

Times are integers (µs, UTC): 8 bytes instead of a 27-character string per
row, and ordered. Reports group by day with ``date(at / 1000000, 'unixepoch')``.
``changed`` lets reports count an opt-out once however many STOPs repeat it.

**Code.** The statements and logic the PostgreSQL ledger shares are written once in
``gateway.ledger.sql`` (``SqlLedger``); this module holds what is SQLite's own: the
file and its PRAGMAs, ``BEGIN IMMEDIATE`` transactions, snapshot reads, the import,
the write probe, µs times, and the claim's UPDATE.

**Webhook outbox.** ``SqlLedger._apply_events`` writes one outbox row per account in
``OptEvent.notify_accounts()`` for each event that changed the state (a repeated
STOP announces nothing), inside the record transaction: an event and its outbox
rows commit together or not at all. Bulk imports (``import_numbers``) announce
nothing: the account sent the list itself. Workers claim rows with one
``UPDATE ... WHERE id IN (SELECT due, unclaimed or lease expired, no earlier
open row for the same (account, number) ORDER BY id) RETURNING``: a row is
claimed by one worker at a time across processes (the write lock), and a
number's events are announced in order.
Reports read ``events`` through the (scope, at) index; no new table needed.

**Reasons** are the one thing written after the fact (``set_reason``): on the event
the landing page created, and, when that was a repeat, on the opt-out in force for
its (scope, number) if it has none yet, so that reports (state-changing events
only) see it. The open outbox rows of the event that got it are rewritten with it
(their payload is rebuilt from the event row); delivered ones are history.

**Threads.** One connection, ``check_same_thread=False``, every method under one
lock: safe from any thread, one at a time. Snapshot reads (``iter_suppressed``,
``export``) open a connection of their own, so writes made while a snapshot is
being read neither see nor disturb it (WAL: readers don't block the writer).
Several processes (``stopgate suppressions import`` next to ``serve``) share the
file through SQLite's locks; a writer waits up to ``busy_timeout`` for another.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, cast

from gateway.ledger.held import HeldStatements
from gateway.ledger.migrations import Schema, migrate_sqlite
from gateway.ledger.model import ImportResult, LedgerError, webhook_payload
from gateway.ledger.reviews import ReviewSqlLedger, ReviewStatements
from gateway.ledger.sql import DUE_WEBHOOKS, Cursor, Statements, qmark

__all__ = ["SqliteLedger", "from_micros", "to_micros", "webhook_payload"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

#: The claim: one UPDATE; claimers in other processes wait for the write lock.
_CLAIM = f"""
    UPDATE webhook_outbox SET claimed_by = %(worker)s, claimed_until = %(until)s,
                              attempts = attempts + 1
    WHERE id IN ({DUE_WEBHOOKS})
    RETURNING id, event_id, account, payload, created, attempts"""

#: The held-message claims: one UPDATE each, in one transaction (the write lock).
_HELD_CLAIM = """
    UPDATE held_messages SET claimed_by = %(worker)s, claimed_until = %(until)s,
                             attempts = attempts + 1
    WHERE id IN ({select})
    RETURNING {columns}"""

_BUSY_TIMEOUT_S = 10.0
_SQLITE_BUSY = 5  # the primary result code (extended codes keep it in the low byte)


def to_micros(at: datetime) -> int:
    """An aware datetime as integer microseconds since the Unix epoch."""
    return (at - _EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime:
    """The UTC datetime of ``to_micros``."""
    return _EPOCH + timedelta(microseconds=micros)


def _wal(conn: sqlite3.Connection, busy_timeout: float) -> str:
    """``PRAGMA journal_mode = WAL``, tried again while another connection holds the lock,
    up to ``busy_timeout``. Two processes opening a new ledger at once both read it in
    rollback mode and both ask for the exclusive lock the switch needs; SQLite answers
    one of them SQLITE_BUSY at once, without waiting (it would deadlock), so the busy
    timeout alone does not cover it. The retry finds the file in WAL mode already."""
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as error:
            busy = getattr(error, "sqlite_errorcode", 0) & 0xFF == _SQLITE_BUSY
            if not busy or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def _connect(path: Path, busy_timeout: float = _BUSY_TIMEOUT_S) -> sqlite3.Connection:
    # isolation_level=None: no implicit transactions; every write says BEGIN IMMEDIATE itself.
    conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None,
                           check_same_thread=False)
    try:
        mode = _wal(conn, busy_timeout)
        if mode != "wal":
            raise LedgerError(f"ledger {path}: SQLite refused WAL mode (got {mode!r}); "
                              f"put it on a local file system")
        conn.execute("PRAGMA synchronous = FULL")  # a commit is on disk when it returns
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute("PRAGMA cache_size = -65536")  # 64 MiB: bulk imports touch many pages
        conn.execute("PRAGMA journal_size_limit = 67108864")  # shrink the WAL after an import
    except BaseException:
        conn.close()
        raise
    return conn


class SqliteLedger(ReviewSqlLedger):
    """The ``Ledger`` on a SQLite file; created (with its directory) if missing.

    ``busy_timeout``: how long a write waits for another process's write lock before it
    fails (``storage.ledger_busy_timeout``).
    """

    _q = Statements(qmark, day="date(at / 1000000, 'unixepoch')", lock_row="", claim=_CLAIM,
                    returning_id=False)
    _rq = ReviewStatements(qmark, lock_row="", returning_id=False)
    _hq = HeldStatements(qmark, claim=_HELD_CLAIM)
    _FAULTS: ClassVar[tuple[type[BaseException], ...]] = (sqlite3.Error, LedgerError, OSError)
    _to_db = staticmethod(to_micros)
    _from_db = staticmethod(from_micros)

    @staticmethod
    def _event_id(cur: Cursor) -> int:
        # The rowid sqlite3 keeps of the last INSERT: RETURNING costs ~7 µs more a record.
        event_id = cast(sqlite3.Cursor, cur).lastrowid
        assert event_id is not None
        return event_id

    def __init__(self, path: Path, busy_timeout: float = _BUSY_TIMEOUT_S) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = _connect(self.path, busy_timeout)
        except (OSError, sqlite3.Error) as exc:
            raise LedgerError(f"cannot open the ledger {self.path}: {exc}") from exc
        self._db: sqlite3.Connection | None = conn
        self._open(self._migrate)

    def __repr__(self) -> str:
        return f"SqliteLedger({str(self.path)!r})"

    # --- plumbing ---------------------------------------------------------------------

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise LedgerError(f"the ledger {self.path} is closed")
        return self._db

    @contextmanager
    def _tx(self, *, durable: bool = True) -> Iterator[sqlite3.Cursor]:
        """One write transaction, committed on leaving, rolled back on error.

        ``durable``: on disk when the commit returns (fsync). Without it the commit is in
        the WAL file, safe from a crash of this process but not from one of the machine,
        until the next durable commit or checkpoint syncs it.
        """
        with self._lock:
            conn = self._conn
            if not durable:
                conn.execute("PRAGMA synchronous = NORMAL")
            try:
                # IMMEDIATE takes the write lock now, so a second process waits here
                # (busy_timeout) rather than failing later on a lock upgrade.
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn.cursor()
                except BaseException:
                    conn.rollback()
                    raise
                conn.commit()
            finally:
                if not durable:
                    conn.execute("PRAGMA synchronous = FULL")

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Cursor]:
        """Reads on the ledger's connection, outside a transaction (no write lock)."""
        with self._lock:
            yield self._conn.cursor()

    def _migrate(self) -> Schema:
        with self._lock:
            return migrate_sqlite(self._conn, f"the ledger {self.path}")

    def pragma(self, name: str) -> Any:
        """A PRAGMA's value on the ledger's connection (for checks and tests)."""
        if not name.isidentifier():
            raise ValueError(f"not a pragma name: {name!r}")
        return self._read(f"PRAGMA {name}")[0][0]

    def _snapshot(self, sql: str, params: Sequence[Any], batch: int,
                  convert: Callable[[Any], Any] | None) -> Iterator[list[Any]]:
        """Rows of one SELECT on a connection of its own: one statement reads one snapshot
        (WAL), however long the caller takes between batches."""
        if batch < 1:
            raise ValueError(f"batch must be at least 1, got {batch}")
        self._conn  # noqa: B018 -- fail now, not at the first next(), if closed
        conn = _connect(self.path)
        conn.execute("PRAGMA query_only = ON")
        cursor = conn.execute(sql, params)  # the snapshot starts here, before the first next()
        return _batches(conn, cursor, batch, convert)

    # --- bulk import ------------------------------------------------------------------

    def _import_chunk(self, scope: str, chunk: list[str], source: str,
                      at: int) -> ImportResult:
        # The chunk goes into a temp table (deduplicated, sorted by its key), then two
        # set-wise statements: events for the numbers not yet suppressed, then their state
        # rows, inserted in key order. No per-number Python round trip in the transaction.
        with self._tx() as cur:
            cur.execute("CREATE TEMP TABLE IF NOT EXISTS import_batch "
                        "(number TEXT PRIMARY KEY) WITHOUT ROWID")
            cur.execute("DELETE FROM temp.import_batch")
            cur.executemany("INSERT INTO temp.import_batch VALUES (?) ON CONFLICT DO NOTHING",
                            ((number,) for number in chunk))
            cur.execute("INSERT INTO events (at, scope, number, event, source, changed) "
                        "SELECT ?, ?, b.number, 'optout', ?, 1 FROM temp.import_batch b "
                        "WHERE NOT EXISTS (SELECT 1 FROM suppressions s "
                        "                  WHERE s.scope = ? AND s.number = b.number)",
                        (at, scope, source, scope))
            added = cur.rowcount
            cur.execute("INSERT INTO suppressions (scope, number, since, source) "
                        "SELECT ?, number, ?, ? FROM temp.import_batch WHERE true "
                        "ON CONFLICT (scope, number) DO NOTHING", (scope, at, source))
            if cur.rowcount != added:  # cannot happen under the write lock; never commit it
                raise LedgerError(f"import: {added} events but {cur.rowcount} state rows")
            cur.execute("DELETE FROM temp.import_batch")
        return ImportResult(added, len(chunk) - added, len(chunk))

    # --- opt-out link tokens ----------------------------------------------------------

    def _tokens(self, account: str, numbers: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for start in range(0, len(numbers), 500):  # under SQLite's bound-parameter limit
            part = numbers[start:start + 500]
            marks = ",".join("?" * len(part))
            found.update(self._read(f"SELECT number, token FROM tokens WHERE account = ? "
                                    f"AND number IN ({marks})", (account, *part)))
        return found

    # --- life -------------------------------------------------------------------------

    def write_probe(self) -> None:
        """A real, fsynced write, on a connection of its own: safe from any thread, and it
        never holds up the ledger's other calls (a probe may wait ``busy_timeout``)."""
        # A SELECT succeeds on a full disk or under another process's exclusive lock,
        # where recording a STOP would fail: only a commit tells.
        self._conn  # noqa: B018 -- a closed ledger is not writable
        with contextlib.closing(_connect(self.path, self.busy_timeout)) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(self._q.meta_set,
                             ("health_checked", datetime.now(UTC).isoformat()))
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def _batches(conn: sqlite3.Connection, cursor: sqlite3.Cursor, batch: int,
             convert: Callable[[Any], Any] | None) -> Iterator[list[Any]]:
    try:
        while rows := cursor.fetchmany(batch):
            yield rows if convert is None else [convert(row) for row in rows]
    finally:
        conn.close()
