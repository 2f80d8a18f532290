"""The ledger in PostgreSQL (psycopg 3, synchronous): for several instances sharing one truth.

Same tables, same behaviour as the SQLite ledger (gateway.ledger.sqlite; schema
steps in ``gateway.ledger.migrations.POSTGRES_STEPS``), with PostgreSQL types:
ids are ``bigint`` identities (ascending = recording order), times ``timestamptz``
(µs), text keys ``COLLATE "C"`` (byte order, as SQLite sorts), payloads ``bytea``.

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
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from gateway.ledger.migrations import POSTGRES_STEPS, Schema, Step, migrate_postgres
from gateway.ledger.model import (
    IMPORT_CHUNK,
    TOKEN_RE,
    ImportResult,
    LedgerError,
    OptEvent,
    OutboxRow,
    Progress,
    ReportGroup,
    ReportRow,
    Source,
    SuppressionRow,
    TokenInfo,
    check_source,
    new_token,
    webhook_payload,
)

__all__ = ["PostgresError", "PostgresLedger", "redact"]

_BUSY_TIMEOUT_S = 10.0
_OPEN = "delivered_at IS NULL AND given_up_at IS NULL"
_CLAIM = f"""
    WITH due AS (
        SELECT o.id FROM webhook_outbox o
        WHERE o.{_OPEN.replace(" AND ", " AND o.")}
          AND o.next_attempt <= %(now)s
          AND (o.claimed_until IS NULL OR o.claimed_until <= %(now)s)
          AND NOT EXISTS (SELECT 1 FROM webhook_outbox p
                          WHERE p.account = o.account AND p.number = o.number
                            AND p.id < o.id AND p.{_OPEN.replace(" AND ", " AND p.")})
        ORDER BY o.id LIMIT %(limit)s
        FOR UPDATE OF o SKIP LOCKED)
    UPDATE webhook_outbox w SET claimed_by = %(worker)s, claimed_until = %(until)s,
                                attempts = w.attempts + 1
    FROM due WHERE w.id = due.id
    RETURNING w.id, w.event_id, w.account, w.payload, w.created, w.attempts"""
_REPORT_KEYS = {
    "campaign": "campaign",
    "source": "source",
    "reason": "CASE WHEN reason LIKE 'other:%%' THEN 'other' ELSE reason END",
    "day": "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
}
_EVENT_COLUMNS = ("id, at, scope, number, event, source, changed, campaign, keyword, reason, "
                  "number_called")
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


class PostgresLedger:
    """The ``Ledger`` on a PostgreSQL database; its schema is created or migrated at opening.

    ``dsn``: a libpq connection string or URL (``storage.ledger``). ``busy_timeout``:
    ``storage.ledger_busy_timeout`` (see the module docstring).
    """

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
        self.schema = Schema(0, 1, ())
        try:
            with self._lock:
                try:
                    self.schema = migrate_postgres(self._connection(), self.where, steps)
                except psycopg.Error as exc:
                    raise self._fault(exc, "cannot migrate") from exc
            self._write_meta("opened", datetime.now(UTC).isoformat())
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return f"PostgresLedger({self.where!r})"

    # --- plumbing ---------------------------------------------------------------------

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
    def _tx(self) -> Iterator[psycopg.Cursor[Any]]:
        """One transaction, committed on leaving, rolled back on error; psycopg errors
        leave as PostgresError. Retried once on a fresh connection if BEGIN fails."""
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
                    yield conn.cursor()
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

    def _write_meta(self, key: str, value: str) -> None:
        with self._tx() as cur:
            cur.execute("INSERT INTO ledger_meta VALUES (%s, %s) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    def schema_version(self) -> int:
        """The schema version of the database (the last migration step applied)."""
        return int(self._read("SELECT max(version) FROM schema_migrations")[0][0])

    # --- events and state -------------------------------------------------------------

    def record(self, events: Sequence[OptEvent]) -> list[OptEvent]:
        if not events:
            return []
        for event in events:
            if event.id is not None:
                raise ValueError(f"event {event.id} is recorded already")
        now = datetime.now(UTC)
        with self._tx() as cur:
            return self._apply_events(cur, events, now)

    def _apply_events(self, cur: psycopg.Cursor[Any], events: Sequence[OptEvent],
                      now: datetime) -> list[OptEvent]:
        recorded = []
        for event in events:
            at = (event.at or now).astimezone(UTC)
            if event.event == "optout":
                cur.execute("INSERT INTO suppressions VALUES (%s, %s, %s, %s, %s) "
                            "ON CONFLICT (scope, number) DO NOTHING",
                            (event.scope, event.number, at, event.source, event.campaign))
            else:
                cur.execute("DELETE FROM suppressions WHERE scope = %s AND number = %s",
                            (event.scope, event.number))
            changed = cur.rowcount == 1
            cur.execute("INSERT INTO events (at, scope, number, event, source, changed, "
                        "campaign, keyword, reason, number_called) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                        (at, event.scope, event.number, event.event, event.source, changed,
                         event.campaign, event.keyword, event.reason, event.number_called))
            row = cur.fetchone()
            assert row is not None
            event_id = int(row[0])
            if changed:
                rows = []
                for account in dict.fromkeys(event.notify_accounts()):
                    if not account or account == "*":
                        raise ValueError(f"OptEvent.notify names an account, got {account!r}")
                    rows.append((event_id, account, event.number,
                                 webhook_payload(event, account, at), now, now))
                cur.executemany("INSERT INTO webhook_outbox (event_id, account, number, "
                                "payload, created, next_attempt) "
                                "VALUES (%s, %s, %s, %s, %s, %s)", rows)
            recorded.append(replace(event, at=at, id=event_id, changed=changed))
        return recorded

    def is_suppressed(self, scope: str, number: str) -> bool:
        return bool(self._read("SELECT 1 FROM suppressions WHERE scope = %s AND number = %s",
                               (scope, number)))

    def suppressed_scopes(self, number: str) -> list[str]:
        rows = self._read("SELECT scope FROM suppressions WHERE number = %s ORDER BY scope",
                          (number,))
        return [scope for (scope,) in rows]

    def suppressions_of(self, number: str) -> list[SuppressionRow]:
        rows = self._read("SELECT number, scope, since, source FROM suppressions "
                          "WHERE number = %s ORDER BY scope", (number,))
        return [SuppressionRow(n, scope, _utc(since), source)
                for n, scope, since, source in rows]

    def count_suppressed(self, scope: str | None = None) -> int:
        if scope is None:
            rows = self._read("SELECT count(*) FROM suppressions")
        else:
            rows = self._read("SELECT count(*) FROM suppressions WHERE scope = %s", (scope,))
        return int(rows[0][0])

    def iter_suppressed(self, batch: int = 10_000) -> Iterator[list[tuple[str, str]]]:
        return self._snapshot("SELECT scope, number FROM suppressions", (), batch,
                              tuple)

    def export(self, scope: str | None = None) -> Iterator[SuppressionRow]:
        sql = "SELECT number, scope, since, source FROM suppressions"
        params: tuple[str, ...] = ()
        if scope is not None:
            sql, params = f"{sql} WHERE scope = %s", (scope,)
        batches = self._snapshot(f"{sql} ORDER BY scope, number", params, 5_000,
                                 lambda r: SuppressionRow(r[0], r[1], _utc(r[2]), r[3]))
        return (row for rows in batches for row in rows)

    def _snapshot(self, sql: str, params: Sequence[Any], batch: int,
                  convert: Callable[[Any], Any]) -> Iterator[list[Any]]:
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
                 batch: int, convert: Callable[[Any], Any]) -> Iterator[list[Any]]:
        try:
            while rows := cursor.fetchmany(batch):
                yield [convert(row) for row in rows]
        except psycopg.Error as exc:
            raise PostgresError(f"{self.where}: snapshot read failed: {exc}",
                                _reason(exc)) from exc
        finally:
            conn.close()

    # --- bulk import ------------------------------------------------------------------

    def import_numbers(self, scope: str, numbers: Iterable[str], *, source: Source = "import",
                       at: datetime | None = None,
                       progress: Progress | None = None) -> ImportResult:
        check_source(source)
        if not scope:
            raise ValueError("scope is empty (an account's system_id, or '*')")
        if at is not None and at.utcoffset() is None:
            raise ValueError("at must be timezone-aware (UTC)")
        when = (at or datetime.now(UTC)).astimezone(UTC)
        done = ImportResult()
        it = iter(numbers)
        while chunk := list(islice(it, IMPORT_CHUNK)):
            if not all(chunk):
                raise ValueError(f"empty number in an import chunk after {done.total} numbers")
            done += self._import_chunk(scope, chunk, source, when)
            if progress is not None:
                progress(done)
        return done

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

    def token_for(self, account: str, number: str, campaign: str | None = None) -> str:
        return self.tokens_for(account, (number,), campaign)[number]

    def tokens_for(self, account: str, numbers: Iterable[str],
                   campaign: str | None = None) -> dict[str, str]:
        wanted = list(dict.fromkeys(numbers))
        if not account or not all(wanted):
            raise ValueError("tokens need an account and non-empty numbers")
        with self._lock:
            tokens = self._tokens(account, wanted)
            missing = [number for number in wanted if number not in tokens]
            for _attempt in range(3):
                if not missing:
                    break
                # Not waiting for the fsync (synchronous_commit off for this transaction):
                # a token is no consent record; see the SQLite ledger for the reasoning.
                # ON CONFLICT DO NOTHING covers both another instance creating the
                # (account, number) meanwhile (theirs stands) and a 53-bit token clash
                # (drawn again on the next pass).
                created = datetime.now(UTC)
                with self._tx() as cur:
                    cur.execute("SET LOCAL synchronous_commit = off")
                    cur.executemany("INSERT INTO tokens VALUES (%s, %s, %s, %s, %s) "
                                    "ON CONFLICT DO NOTHING",
                                    [(new_token(), account, number, campaign, created)
                                     for number in missing])
                tokens.update(self._tokens(account, missing))
                missing = [number for number in missing if number not in tokens]
            if missing:
                raise LedgerError(f"could not create opt-out tokens for {len(missing)} numbers")
        return tokens

    def _tokens(self, account: str, numbers: list[str]) -> dict[str, str]:
        rows = self._read("SELECT number, token FROM tokens WHERE account = %s "
                          "AND number = ANY(%s)", (account, numbers))
        return dict(rows)

    def resolve_token(self, token: str) -> TokenInfo | None:
        if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
            return None
        rows = self._read("SELECT account, number, campaign FROM tokens WHERE token = %s",
                          (token,))
        return TokenInfo(*rows[0]) if rows else None

    # --- webhook outbox ---------------------------------------------------------------

    def claim_webhooks(self, worker_id: str, limit: int, lease_seconds: float,
                       now: datetime) -> list[OutboxRow]:
        if limit < 1:
            return []
        until = now + timedelta(seconds=lease_seconds)
        with self._tx() as cur:
            rows = cur.execute(_CLAIM, {"worker": worker_id, "until": until, "now": now,
                                        "limit": limit}).fetchall()
        return sorted(OutboxRow(id_, event_id, account, bytes(payload), _utc(created),
                                attempts)
                      for id_, event_id, account, payload, created, attempts in rows)

    def webhook_done(self, outbox_id: int, status: int, now: datetime) -> None:
        with self._tx() as cur:
            cur.execute(f"UPDATE webhook_outbox SET delivered_at = %s, last_status = %s, "
                        f"claimed_until = NULL WHERE id = %s AND {_OPEN}",
                        (now, status, outbox_id))

    def webhook_retry(self, outbox_id: int, worker_id: str, status: int | None,
                      next_attempt: datetime) -> None:
        with self._tx() as cur:
            cur.execute(f"UPDATE webhook_outbox SET next_attempt = %s, last_status = %s, "
                        f"claimed_until = NULL, claimed_by = NULL "
                        f"WHERE id = %s AND claimed_by = %s AND {_OPEN}",
                        (next_attempt, status, outbox_id, worker_id))

    def webhook_give_up(self, outbox_id: int, worker_id: str, status: int | None,
                        now: datetime) -> None:
        with self._tx() as cur:
            cur.execute(f"UPDATE webhook_outbox SET given_up_at = %s, last_status = %s, "
                        f"claimed_until = NULL WHERE id = %s AND claimed_by = %s AND {_OPEN}",
                        (now, status, outbox_id, worker_id))

    def webhook_release(self, worker_id: str) -> int:
        with self._tx() as cur:
            cur.execute(f"UPDATE webhook_outbox SET claimed_until = NULL, claimed_by = NULL "
                        f"WHERE claimed_by = %s AND claimed_until IS NOT NULL AND {_OPEN}",
                        (worker_id,))
            return cur.rowcount

    def webhook_backlog(self) -> int:
        return int(self._read(f"SELECT count(*) FROM webhook_outbox WHERE {_OPEN}")[0][0])

    # --- reasons and reports ----------------------------------------------------------

    def optout_in_force(self, scope: str, number: str) -> OptEvent | None:
        with self._tx() as cur:
            return _in_force(cur, scope, number)

    def set_reason(self, event_id: int, reason: str) -> bool:
        with self._tx() as cur:
            row = cur.execute("SELECT scope, number, changed FROM events "
                              "WHERE id = %s AND event = 'optout' FOR UPDATE",
                              (event_id,)).fetchone()
            if row is None:
                return False
            scope, number, changed = row
            cur.execute("UPDATE events SET reason = %s WHERE id = %s", (reason, event_id))
            target = event_id if changed else None
            if not changed:  # a repeat: the reports count the opt-out in force instead
                found = _in_force(cur, scope, number)
                if (found is not None and found.id is not None and found.id < event_id
                        and found.reason is None):
                    cur.execute("UPDATE events SET reason = %s WHERE id = %s",
                                (reason, found.id))
                    target = found.id
            if target is not None:
                _refresh_payloads(cur, target)
            return True

    def report(self, scope: str | None, since: datetime, until: datetime,
               group_by: ReportGroup) -> list[ReportRow]:
        key = _REPORT_KEYS.get(group_by)
        if key is None:
            raise ValueError(f"group_by must be one of {sorted(_REPORT_KEYS)}, got {group_by!r}")
        where = "changed AND at >= %s AND at < %s"
        params: list[Any] = [since, until]
        if scope is not None:
            where, params = f"scope = %s AND {where}", [scope, *params]
        rows = self._read(f"SELECT {key} AS k, count(*) FILTER (WHERE event = 'optout'), "
                          f"count(*) FILTER (WHERE event = 'optin') "
                          f"FROM events WHERE {where} GROUP BY k ORDER BY k NULLS FIRST", params)
        return [(k, int(optouts), int(optins)) for k, optouts, optins in rows]

    def meta_value(self, key: str, default: str) -> str:
        with self._tx() as cur:
            cur.execute("INSERT INTO ledger_meta VALUES (%s, %s) ON CONFLICT (key) DO NOTHING",
                        (key, default))
            row = cur.execute("SELECT value FROM ledger_meta WHERE key = %s", (key,)).fetchone()
            assert row is not None
            return str(row[0])

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
                        conn.execute("INSERT INTO ledger_meta VALUES ('health_checked', %s) "
                                     "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                                     (datetime.now(UTC).isoformat(),))
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

    def health(self) -> bool:
        try:
            self.write_probe()
        except LedgerError:
            return False
        return True

    def close(self) -> None:
        self._closed = True
        with self._lock:
            self._drop()
        with self._probe_lock:
            if self._probe_db is not None:
                self._probe_db.close()
                self._probe_db = None


def _event(row: Sequence[Any]) -> OptEvent:
    id_, at, scope, number, event, source, changed, campaign, keyword, reason, called = row
    return OptEvent(id=id_, at=_utc(at), scope=scope, number=number, event=event,
                    source=source, changed=bool(changed), campaign=campaign, keyword=keyword,
                    reason=reason, number_called=called)


def _in_force(cur: psycopg.Cursor[Any], scope: str, number: str) -> OptEvent | None:
    row = cur.execute(f"SELECT {_EVENT_COLUMNS} FROM events WHERE number = %s AND scope = %s "
                      f"AND changed ORDER BY id DESC LIMIT 1", (number, scope)).fetchone()
    if row is None or row[4] != "optout":
        return None
    if cur.execute("SELECT 1 FROM suppressions WHERE scope = %s AND number = %s",
                   (scope, number)).fetchone() is None:
        return None
    return _event(row)


def _refresh_payloads(cur: psycopg.Cursor[Any], event_id: int) -> None:
    row = cur.execute(f"SELECT {_EVENT_COLUMNS} FROM events WHERE id = %s",
                      (event_id,)).fetchone()
    if row is None:
        return
    event = _event(row)
    assert event.at is not None
    open_rows = cur.execute(f"SELECT id, account FROM webhook_outbox "
                            f"WHERE event_id = %s AND {_OPEN}", (event_id,)).fetchall()
    cur.executemany("UPDATE webhook_outbox SET payload = %s WHERE id = %s",
                    [(webhook_payload(event, account, event.at), outbox_id)
                     for outbox_id, account in open_rows])
