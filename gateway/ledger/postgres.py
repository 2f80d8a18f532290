"""The ledger in PostgreSQL (psycopg 3, synchronous): for several instances sharing one truth.

Same tables, same behaviour as the SQLite ledger (gateway.ledger.sqlite; schema
steps in ``gateway.ledger.migrations.POSTGRES_STEPS``), with PostgreSQL types:
ids are ``bigint`` identities (ascending = recording order), times ``timestamptz``
(µs), text keys ``COLLATE "C"`` (byte order, as SQLite sorts), payloads ``bytea``.
The statements and logic shared with the SQLite ledger are written once in
``gateway.ledger.sql`` (``SqlLedger``); this module holds what is PostgreSQL's own:
connections, sessions, errors and recovery, snapshot reads, the import by COPY, the
write probe, and the claim's locking.

**Connections.** ``storage.ledger`` is handed to libpq as it is, so every libpq
form works: ``postgresql://user@host/db?sslmode=verify-full&sslrootcert=...``,
multi-host ``postgresql://h1,h2/db?target_session_attrs=read-write`` (the default
when the URL says nothing: the ledger always writes, so it must reach the
primary), ``PGPASSWORD``/``~/.pgpass``/``PGSSLMODE`` from the environment. One
connection carries the ledger's calls (AsyncLedger runs them on one thread, in
order); the write probe has its own (``LedgerHealth`` runs it on another
thread), and each snapshot read opens one for its duration.

**Timeouts.** ``busy_timeout`` (``storage.ledger_busy_timeout``) is the session's
``lock_timeout``, and ``statement_timeout`` is one second more: a STOP waits at
most that long for a row lock another instance holds (or a statement for the
server) before it fails and the carrier is asked to retry (ESME_RX_T_APPN), as
SQLite's busy timeout does. Bulk
import chunks and migrations lift the statement timeout for their transaction
(they hold few locks others wait for). ``connect_timeout`` is the same number of
seconds (at least 2), and TCP keepalives notice a server that vanished.

**Failures and recovery.** Every psycopg error leaves as ``PostgresError`` (a
``LedgerError``, so the STOP path, the HTTP handlers and ``LedgerHealth`` treat
it like a SQLite fault) with a ``reason`` for the health metric. A lost
connection is dropped; the next call connects again, so a restarted server is
used again without restarting the gateway. A write whose ``BEGIN`` finds the
connection dead is retried once on a fresh one (nothing was sent); a failure
after that is not retried (the commit may or may not have happened: the caller
does not acknowledge, the carrier sends the STOP again, and a repeat is harmless).
Reads are retried once.

**Concurrency.** Recording takes the (scope, number) row lock first (INSERT ...
ON CONFLICT DO NOTHING, or DELETE), so two instances recording the same pair
serialise, and ``changed`` is right. Webhook claims use ``FOR UPDATE SKIP
LOCKED``: concurrent claimers take disjoint rows, and a claimed row stays open,
so a later delivery for the same (account, number) waits for it. Imports COPY a
chunk into a temporary table, insert its state rows (``ON CONFLICT DO NOTHING
RETURNING``) and the events of exactly those rows: a STOP of the same number by
another instance meanwhile is counted once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from gateway.ledger.held import HeldStatements
from gateway.ledger.migrations import POSTGRES_STEPS, Schema, Step, migrate_postgres
from gateway.ledger.model import ImportResult, LedgerError
from gateway.ledger.reviews import ReviewSqlLedger, ReviewStatements
from gateway.ledger.sql import DUE_WEBHOOKS, Statements

__all__ = ["PostgresError", "PostgresLedger", "redact"]

_BUSY_TIMEOUT_S = 10.0
#: The claim: the due rows locked in a CTE (evaluated once) with SKIP LOCKED, so
#: concurrent claimers in other instances take disjoint rows without waiting.
_CLAIM = f"""
    WITH due AS ({DUE_WEBHOOKS}
        FOR UPDATE OF o SKIP LOCKED)
    UPDATE webhook_outbox w SET claimed_by = %(worker)s, claimed_until = %(until)s,
                                attempts = w.attempts + 1
    FROM due WHERE w.id = due.id
    RETURNING w.id, w.event_id, w.account, w.payload, w.created, w.attempts"""
#: The held-message claims: rows locked with SKIP LOCKED, like the webhook claim.
_HELD_CLAIM = """
    WITH c AS ({select}
        FOR UPDATE OF h SKIP LOCKED)
    UPDATE held_messages w SET claimed_by = %(worker)s, claimed_until = %(until)s,
                               attempts = w.attempts + 1
    FROM c WHERE w.id = c.id
    RETURNING {w_columns}"""
#: SQLSTATE classes and codes -> LedgerHealth reasons.
_REASONS = {"55P03": "locked", "57014": "locked", "40P01": "locked", "53100": "disk_full",
            "25006": "read_only", "58": "io_error", "08": "unreachable",
            "57P": "unreachable"}


class PostgresError(LedgerError):
    """A PostgreSQL failure, with the short ``reason`` LedgerHealth reports."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def _reason(error: BaseException) -> str:
    state = getattr(error, "sqlstate", None) or ""
    for key in (state, state[:3], state[:2]):
        if key and key in _REASONS:
            return _REASONS[key]
    if isinstance(error, psycopg.OperationalError):
        return "unreachable"  # no SQLSTATE: the connection failed or was lost
    return "error"


def redact(dsn: str) -> str:
    """The DSN without its password (for messages and logs)."""
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.Error:
        return "postgresql://(unparsable DSN)"
    if "password" in params:
        params["password"] = "***"
    return make_conninfo("", **params)


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC)


class PostgresLedger(ReviewSqlLedger):
    """The ``Ledger`` on a PostgreSQL database; its schema is created or migrated at opening.

    ``dsn``: a libpq connection string or URL (``storage.ledger``). ``busy_timeout``:
    ``storage.ledger_busy_timeout`` (see the module docstring).
    """

    _q = Statements(None, day="to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
                    lock_row=" FOR UPDATE", claim=_CLAIM)
    _rq = ReviewStatements(None, lock_row=" FOR UPDATE", returning_id=True)
    _hq = HeldStatements(None, claim=_HELD_CLAIM)

    @staticmethod
    def _to_db(at: datetime) -> datetime:
        return at

    _from_db = staticmethod(_utc)

    def __init__(self, dsn: str, busy_timeout: float = _BUSY_TIMEOUT_S, *,
                 steps: Sequence[Step] = POSTGRES_STEPS) -> None:
        self.busy_timeout = busy_timeout
        self.where = f"the ledger {redact(dsn)}"
        try:
            params = conninfo_to_dict(dsn)
        except psycopg.Error as exc:
            raise LedgerError(f"storage.ledger: not a PostgreSQL connection string: {exc}"
                              ) from exc
        params.setdefault("target_session_attrs", "read-write")
        params.setdefault("application_name", "stopgate")
        params.setdefault("connect_timeout", str(max(2, round(busy_timeout))))
        params.setdefault("keepalives_idle", "10")
        params.setdefault("keepalives_interval", "3")
        params.setdefault("keepalives_count", "3")
        self._dsn = make_conninfo("", **params)
        self._lock = threading.RLock()
        self._probe_lock = threading.Lock()
        self._db: psycopg.Connection[Any] | None = None
        self._probe_db: psycopg.Connection[Any] | None = None
        self._closed = False
        self._open(lambda: self._migrate(steps))

    def __repr__(self) -> str:
        return f"PostgresLedger({self.where!r})"

    # --- plumbing ---------------------------------------------------------------------

    def _migrate(self, steps: Sequence[Step]) -> Schema:
        with self._lock:
            try:
                return migrate_postgres(self._connection(), self.where, steps)
            except psycopg.Error as exc:
                raise self._fault(exc, "cannot migrate") from exc

    def _connect(self, *, autocommit: bool = True) -> psycopg.Connection[Any]:
        try:
            conn = psycopg.connect(self._dsn, autocommit=autocommit)
        except psycopg.Error as exc:
            raise PostgresError(f"cannot connect to {self.where}: {exc}".rstrip(),
                                _reason(exc)) from exc
        try:
            millis = max(1, int(self.busy_timeout * 1000))
            conn.execute(f"SET lock_timeout = {millis}")
            # A second more than the lock wait: a lock is reported as one ("lock timeout",
            # reason locked), and a statement stuck on something else is cut short too.
            conn.execute(f"SET statement_timeout = {millis + 1000}")
            conn.execute("SET TIME ZONE 'UTC'")
            if not autocommit:
                conn.commit()
        except psycopg.Error as exc:
            conn.close()
            raise PostgresError(f"cannot set up a session on {self.where}: {exc}",
                                _reason(exc)) from exc
        return conn

    def _connection(self) -> psycopg.Connection[Any]:
        """The ledger's connection, made anew if there is none or it broke."""
        if self._closed:
            raise LedgerError(f"{self.where} is closed")
        if self._db is not None and (self._db.closed or self._db.broken):
            self._drop()
        if self._db is None:
            self._db = self._connect()
        return self._db

    def _drop(self) -> None:
        if self._db is not None:
            try:
                self._db.close()
            finally:
                self._db = None

    def _fault(self, exc: psycopg.Error, what: str = "failed") -> PostgresError:
        if self._db is not None and (self._db.closed or self._db.broken):
            self._drop()
        return PostgresError(f"{self.where}: {what}: {exc}".rstrip(), _reason(exc))

    @contextmanager
    def _tx(self, *, durable: bool = True) -> Iterator[psycopg.Cursor[Any]]:
        """One transaction, committed on leaving, rolled back on error; psycopg errors
        leave as PostgresError. Retried once on a fresh connection if BEGIN fails.
        ``durable=False``: the commit does not wait for the WAL flush (synchronous_commit
        off for this transaction)."""
        with self._lock:
            for attempt in (1, 2):
                conn = self._connection()
                tx = conn.transaction()
                try:
                    tx.__enter__()
                except psycopg.OperationalError as exc:
                    self._drop()
                    if attempt == 2:
                        raise self._fault(exc) from exc
                    continue
                break
            try:
                try:
                    cur = conn.cursor()
                    if not durable:
                        cur.execute("SET LOCAL synchronous_commit = off")
                    yield cur
                except BaseException as exc:
                    tx.__exit__(type(exc), exc, exc.__traceback__)
                    raise
                tx.__exit__(None, None, None)
            except psycopg.Error as exc:
                raise self._fault(exc) from exc

    def _read(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        with self._lock:
            for attempt in (1, 2):
                try:
                    return self._connection().execute(sql, params).fetchall()
                except psycopg.OperationalError as exc:
                    fault = self._fault(exc)
                    if attempt == 2 or self._db is not None:  # not a lost connection
                        raise fault from exc
                except psycopg.Error as exc:
                    raise self._fault(exc) from exc
        raise AssertionError("unreachable")

    def _snapshot(self, sql: str, params: Sequence[Any], batch: int,
                  convert: Callable[[Any], Any] | None) -> Iterator[list[Any]]:
        """Rows of one SELECT through a server-side cursor, in a REPEATABLE READ READ ONLY
        transaction on a connection of its own: one snapshot, however long the caller
        takes between batches, without holding the whole result in memory."""
        if batch < 1:
            raise ValueError(f"batch must be at least 1, got {batch}")
        if self._closed:
            raise LedgerError(f"{self.where} is closed")
        conn = self._connect(autocommit=False)
        try:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            conn.execute("SET statement_timeout = 0")  # a slow consumer is not a stuck query
            cursor = conn.cursor(name="stopgate_snapshot")
            cursor.itersize = batch
            cursor.execute(sql, params)  # DECLARE: the snapshot starts here
        except psycopg.Error as exc:
            conn.close()
            raise PostgresError(f"{self.where}: snapshot read failed: {exc}",
                                _reason(exc)) from exc
        except BaseException:
            conn.close()
            raise
        return self._batches(conn, cursor, batch, convert)

    def _batches(self, conn: psycopg.Connection[Any], cursor: psycopg.ServerCursor[Any],
                 batch: int, convert: Callable[[Any], Any] | None) -> Iterator[list[Any]]:
        try:
            while rows := cursor.fetchmany(batch):
                yield rows if convert is None else [convert(row) for row in rows]
        except psycopg.Error as exc:
            raise PostgresError(f"{self.where}: snapshot read failed: {exc}",
                                _reason(exc)) from exc
        finally:
            conn.close()

    # --- bulk import ------------------------------------------------------------------

    def _import_chunk(self, scope: str, chunk: list[str], source: str,
                      at: datetime) -> ImportResult:
        # COPY into a temp table, then two set-wise statements in one: the state rows that
        # are new (ON CONFLICT DO NOTHING RETURNING) and the events of exactly those.
        with self._tx() as cur:
            cur.execute("SET LOCAL statement_timeout = 0")
            cur.execute("CREATE TEMP TABLE import_batch (number text COLLATE \"C\") "
                        "ON COMMIT DROP")
            with cur.copy("COPY import_batch (number) FROM STDIN") as copy:
                if any(c in number for number in chunk for c in "\\\t\n\r"):
                    for number in chunk:
                        copy.write_row((number,))
                else:
                    copy.write("\n".join(chunk) + "\n")
            cur.execute("WITH added AS ("
                        "  INSERT INTO suppressions (scope, number, since, source) "
                        "  SELECT DISTINCT %(scope)s, number, %(at)s, %(source)s "
                        "  FROM import_batch ORDER BY 2 "
                        "  ON CONFLICT (scope, number) DO NOTHING RETURNING number) "
                        "INSERT INTO events (at, scope, number, event, source, changed) "
                        "SELECT %(at)s, %(scope)s, number, 'optout', %(source)s, true "
                        "FROM added ORDER BY number",
                        {"scope": scope, "at": at, "source": source})
            added = cur.rowcount
        return ImportResult(added, len(chunk) - added, len(chunk))

    # --- opt-out link tokens ----------------------------------------------------------

    def _tokens(self, account: str, numbers: list[str]) -> dict[str, str]:
        rows = self._read("SELECT number, token FROM tokens WHERE account = %s "
                          "AND number = ANY(%s)", (account, numbers))
        return dict(rows)

    # --- life -------------------------------------------------------------------------

    def write_probe(self) -> None:
        """A real committed write on the probe's own connection: safe from any thread, and
        it never holds up the ledger's other calls. Reconnects if the connection broke.

        A kept connection found dead (the server restarted since the last probe, which
        ended it) is replaced and the write tried once more on the new one (the write is
        idempotent): a server that is back must not be reported unwritable, and
        promotional traffic refused, by a probe that only met its old connection's end."""
        if self._closed:
            raise LedgerError(f"{self.where} is closed")
        with self._probe_lock:
            for attempt in (1, 2):
                conn = self._probe_db
                if conn is not None and (conn.closed or conn.broken):
                    conn.close()
                    conn = self._probe_db = None
                fresh = conn is None
                if conn is None:
                    conn = self._probe_db = self._connect()
                try:
                    with conn.transaction():
                        conn.execute(self._q.meta_set,
                                     ("health_checked", datetime.now(UTC).isoformat()))
                    return
                except psycopg.Error as exc:
                    lost = conn.closed or conn.broken
                    if lost:
                        conn.close()
                        self._probe_db = None
                    if lost and not fresh and attempt == 1:
                        continue
                    raise PostgresError(f"{self.where}: write probe failed: {exc}".rstrip(),
                                        _reason(exc)) from exc

    def close(self) -> None:
        self._closed = True
        with self._lock:
            self._drop()
        with self._probe_lock:
            if self._probe_db is not None:
                self._probe_db.close()
                self._probe_db = None

