"""The ledger in one SQLite file (WAL, synchronous=FULL): the default, for one instance.

Schema (version 2; the steps are ``gateway.ledger.migrations.SQLITE_STEPS``, and
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

Times are integers (µs, UTC): 8 bytes instead of a 27-character string per
row, and ordered. Reports group by day with ``date(at / 1000000, 'unixepoch')``.
``changed`` lets reports count an opt-out once however many STOPs repeat it.

**Webhook outbox.** ``_apply_events`` writes one outbox row per account in
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
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from gateway.ledger.migrations import Schema, migrate_sqlite
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

__all__ = ["SqliteLedger", "from_micros", "to_micros", "webhook_payload"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

_OPEN = "delivered_at IS NULL AND given_up_at IS NULL"
_CLAIM = f"""
    UPDATE webhook_outbox SET claimed_by = :worker, claimed_until = :until,
                              attempts = attempts + 1
    WHERE id IN (
        SELECT o.id FROM webhook_outbox o
        WHERE o.{_OPEN.replace(" AND ", " AND o.")}
          AND o.next_attempt <= :now
          AND (o.claimed_until IS NULL OR o.claimed_until <= :now)
          AND NOT EXISTS (SELECT 1 FROM webhook_outbox p
                          WHERE p.account = o.account AND p.number = o.number
                            AND p.id < o.id AND p.{_OPEN.replace(" AND ", " AND p.")})
        ORDER BY o.id LIMIT :limit)
    RETURNING id, event_id, account, payload, created, attempts"""

_BUSY_TIMEOUT_S = 10.0
#: The SQL key of each report grouping (plain SQL a PostgreSQL ledger can mirror).
_REPORT_KEYS = {
    "campaign": "campaign",
    "source": "source",
    "reason": "CASE WHEN reason LIKE 'other:%' THEN 'other' ELSE reason END",
    "day": "date(at / 1000000, 'unixepoch')",
}


def to_micros(at: datetime) -> int:
    """An aware datetime as integer microseconds since the Unix epoch."""
    return (at - _EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime:
    """The UTC datetime of ``to_micros``."""
    return _EPOCH + timedelta(microseconds=micros)


def _connect(path: Path, busy_timeout: float = _BUSY_TIMEOUT_S) -> sqlite3.Connection:
    # isolation_level=None: no implicit transactions; every write says BEGIN IMMEDIATE itself.
    conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None,
                           check_same_thread=False)
    try:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
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


class SqliteLedger:
    """The ``Ledger`` on a SQLite file; created (with its directory) if missing.

    ``busy_timeout``: how long a write waits for another process's write lock before it
    fails (``storage.ledger_busy_timeout``).
    """

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
        #: The schema as found and migrated at opening.
        self.schema = Schema(0, 1, ())
        try:
            self._migrate()
            self._write_meta("opened", datetime.now(UTC).isoformat())
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return f"SqliteLedger({str(self.path)!r})"

    # --- plumbing ---------------------------------------------------------------------

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise LedgerError(f"the ledger {self.path} is closed")
        return self._db

    @contextmanager
    def _write(self, *, durable: bool = True) -> Iterator[sqlite3.Cursor]:
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

    def _migrate(self) -> None:
        with self._lock:
            self.schema = migrate_sqlite(self._conn, f"the ledger {self.path}")

    def _write_meta(self, key: str, value: str) -> None:
        with self._write() as cur:
            cur.execute("INSERT INTO ledger_meta VALUES (?, ?) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    def schema_version(self) -> int:
        """The schema version of the file (the last migration step applied)."""
        return int(self._read("SELECT max(version) FROM schema_migrations")[0][0])

    def pragma(self, name: str) -> Any:
        """A PRAGMA's value on the ledger's connection (for checks and tests)."""
        if not name.isidentifier():
            raise ValueError(f"not a pragma name: {name!r}")
        return self._read(f"PRAGMA {name}")[0][0]

    # --- events and state -------------------------------------------------------------

    def record(self, events: Sequence[OptEvent]) -> list[OptEvent]:
        if not events:
            return []
        for event in events:
            if event.id is not None:
                raise ValueError(f"event {event.id} is recorded already")
        now = datetime.now(UTC)
        with self._write() as cur:
            return self._apply_events(cur, events, now)

    def _apply_events(self, cur: sqlite3.Cursor, events: Sequence[OptEvent],
                      now: datetime) -> list[OptEvent]:
        recorded = []
        for event in events:
            at = (event.at or now).astimezone(UTC)
            micros = to_micros(at)
            if event.event == "optout":
                cur.execute("INSERT INTO suppressions VALUES (?, ?, ?, ?, ?) "
                            "ON CONFLICT (scope, number) DO NOTHING",
                            (event.scope, event.number, micros, event.source, event.campaign))
            else:
                cur.execute("DELETE FROM suppressions WHERE scope = ? AND number = ?",
                            (event.scope, event.number))
            changed = cur.rowcount == 1
            cur.execute("INSERT INTO events (at, scope, number, event, source, changed, "
                        "campaign, keyword, reason, number_called) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (micros, event.scope, event.number, event.event, event.source, changed,
                         event.campaign, event.keyword, event.reason, event.number_called))
            event_id = cur.lastrowid
            if changed:
                self._enqueue_webhooks(cur, event, event_id, at, now)
            recorded.append(replace(event, at=at, id=event_id, changed=changed))
        return recorded

    @staticmethod
    def _enqueue_webhooks(cur: sqlite3.Cursor, event: OptEvent, event_id: int | None,
                          at: datetime, now: datetime) -> None:
        created = to_micros(now)
        rows = []
        for account in dict.fromkeys(event.notify_accounts()):
            if not account or account == "*":
                raise ValueError(f"OptEvent.notify names an account, got {account!r}")
            rows.append((event_id, account, event.number,
                         webhook_payload(event, account, at), created, created))
        cur.executemany("INSERT INTO webhook_outbox (event_id, account, number, payload, "
                        "created, next_attempt) VALUES (?, ?, ?, ?, ?, ?)", rows)

    # --- webhook outbox ---------------------------------------------------------------

    def claim_webhooks(self, worker_id: str, limit: int, lease_seconds: float,
                       now: datetime) -> list[OutboxRow]:
        if limit < 1:
            return []
        micros = to_micros(now)
        until = micros + int(lease_seconds * 1_000_000)
        with self._write() as cur:
            rows = cur.execute(_CLAIM, {"worker": worker_id, "until": until, "now": micros,
                                        "limit": limit}).fetchall()
        return sorted(OutboxRow(id_, event_id, account, bytes(payload), from_micros(created),
                                attempts)
                      for id_, event_id, account, payload, created, attempts in rows)

    def webhook_done(self, outbox_id: int, status: int, now: datetime) -> None:
        # Whoever holds the claim: it was delivered, that is the truth to keep.
        with self._write() as cur:
            cur.execute(f"UPDATE webhook_outbox SET delivered_at = ?, last_status = ?, "
                        f"claimed_until = NULL WHERE id = ? AND {_OPEN}",
                        (to_micros(now), status, outbox_id))

    def webhook_retry(self, outbox_id: int, worker_id: str, status: int | None,
                      next_attempt: datetime) -> None:
        with self._write() as cur:
            cur.execute(f"UPDATE webhook_outbox SET next_attempt = ?, last_status = ?, "
                        f"claimed_until = NULL, claimed_by = NULL "
                        f"WHERE id = ? AND claimed_by = ? AND {_OPEN}",
                        (to_micros(next_attempt), status, outbox_id, worker_id))

    def webhook_give_up(self, outbox_id: int, worker_id: str, status: int | None,
                        now: datetime) -> None:
        with self._write() as cur:
            cur.execute(f"UPDATE webhook_outbox SET given_up_at = ?, last_status = ?, "
                        f"claimed_until = NULL WHERE id = ? AND claimed_by = ? AND {_OPEN}",
                        (to_micros(now), status, outbox_id, worker_id))

    def webhook_release(self, worker_id: str) -> int:
        with self._write() as cur:
            cur.execute(f"UPDATE webhook_outbox SET claimed_until = NULL, claimed_by = NULL "
                        f"WHERE claimed_by = ? AND claimed_until IS NOT NULL AND {_OPEN}",
                        (worker_id,))
            return cur.rowcount

    def webhook_backlog(self) -> int:
        return int(self._read(f"SELECT count(*) FROM webhook_outbox WHERE {_OPEN}")[0][0])

    def is_suppressed(self, scope: str, number: str) -> bool:
        return bool(self._read("SELECT 1 FROM suppressions WHERE scope = ? AND number = ?",
                               (scope, number)))

    def suppressed_scopes(self, number: str) -> list[str]:
        rows = self._read("SELECT scope FROM suppressions WHERE number = ? ORDER BY scope",
                          (number,))
        return [scope for (scope,) in rows]

    def suppressions_of(self, number: str) -> list[SuppressionRow]:
        rows = self._read("SELECT number, scope, since, source FROM suppressions "
                          "WHERE number = ? ORDER BY scope", (number,))
        return [SuppressionRow(n, scope, from_micros(since), source)
                for n, scope, since, source in rows]

    def count_suppressed(self, scope: str | None = None) -> int:
        if scope is None:
            rows = self._read("SELECT count(*) FROM suppressions")
        else:
            rows = self._read("SELECT count(*) FROM suppressions WHERE scope = ?", (scope,))
        return int(rows[0][0])

    def iter_suppressed(self, batch: int = 10_000) -> Iterator[list[tuple[str, str]]]:
        return self._snapshot("SELECT scope, number FROM suppressions", (), batch, None)

    def export(self, scope: str | None = None) -> Iterator[SuppressionRow]:
        sql = "SELECT number, scope, since, source FROM suppressions"
        params: tuple[str, ...] = ()
        if scope is not None:
            sql, params = f"{sql} WHERE scope = ?", (scope,)
        batches = self._snapshot(f"{sql} ORDER BY scope, number", params, 5_000,
                                 lambda r: SuppressionRow(r[0], r[1], from_micros(r[2]), r[3]))
        return (row for rows in batches for row in rows)

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

    def import_numbers(self, scope: str, numbers: Iterable[str], *, source: Source = "import",
                       at: datetime | None = None,
                       progress: Progress | None = None) -> ImportResult:
        check_source(source)
        if not scope:
            raise ValueError("scope is empty (an account's system_id, or '*')")
        if at is not None and at.utcoffset() is None:
            raise ValueError("at must be timezone-aware (UTC)")
        micros = to_micros(at or datetime.now(UTC))
        done = ImportResult()
        it = iter(numbers)
        while chunk := list(islice(it, IMPORT_CHUNK)):
            if not all(chunk):
                raise ValueError(f"empty number in an import chunk after {done.total} numbers")
            done += self._import_chunk(scope, chunk, source, micros)
            if progress is not None:
                progress(done)
        return done

    def _import_chunk(self, scope: str, chunk: list[str], source: str,
                      micros: int) -> ImportResult:
        # The chunk goes into a temp table (deduplicated, sorted by its key), then two
        # set-wise statements: events for the numbers not yet suppressed, then their state
        # rows, inserted in key order. No per-number Python round trip in the transaction.
        with self._write() as cur:
            cur.execute("CREATE TEMP TABLE IF NOT EXISTS import_batch "
                        "(number TEXT PRIMARY KEY) WITHOUT ROWID")
            cur.execute("DELETE FROM temp.import_batch")
            cur.executemany("INSERT INTO temp.import_batch VALUES (?) ON CONFLICT DO NOTHING",
                            ((number,) for number in chunk))
            cur.execute("INSERT INTO events (at, scope, number, event, source, changed) "
                        "SELECT ?, ?, b.number, 'optout', ?, 1 FROM temp.import_batch b "
                        "WHERE NOT EXISTS (SELECT 1 FROM suppressions s "
                        "                  WHERE s.scope = ? AND s.number = b.number)",
                        (micros, scope, source, scope))
            added = cur.rowcount
            cur.execute("INSERT INTO suppressions (scope, number, since, source) "
                        "SELECT ?, number, ?, ? FROM temp.import_batch WHERE true "
                        "ON CONFLICT (scope, number) DO NOTHING", (scope, micros, source))
            if cur.rowcount != added:  # cannot happen under the write lock; never commit it
                raise LedgerError(f"import: {added} events but {cur.rowcount} state rows")
            cur.execute("DELETE FROM temp.import_batch")
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
                try:
                    self._create_tokens(account, missing, campaign)
                except sqlite3.IntegrityError:  # a 53-bit collision: draw again
                    continue
                tokens.update(self._tokens(account, missing))
                missing = [number for number in missing if number not in tokens]
            if missing:
                raise LedgerError(f"could not create opt-out tokens for {len(missing)} numbers")
        return tokens

    def _tokens(self, account: str, numbers: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for start in range(0, len(numbers), 500):  # under SQLite's bound-parameter limit
            part = numbers[start:start + 500]
            marks = ",".join("?" * len(part))
            found.update(self._read(f"SELECT number, token FROM tokens WHERE account = ? "
                                    f"AND number IN ({marks})", (account, *part)))
        return found

    def _create_tokens(self, account: str, numbers: list[str], campaign: str | None) -> None:
        created = to_micros(datetime.now(UTC))
        # Not fsynced: a new recipient's first promotional message waits for this write,
        # and an fsync (0.4-1 ms here) was most of its latency. A token is no consent
        # record (opt-outs and opt-ins are, and stay durable); only a machine crash within
        # a second of its creation could lose one, and its link would answer 404.
        with self._write(durable=False) as cur:
            # Another process may have created some meanwhile: theirs stand (DO NOTHING on
            # (account, number)); a clash on the token itself raises and rolls back.
            cur.executemany("INSERT INTO tokens VALUES (?, ?, ?, ?, ?) "
                            "ON CONFLICT (account, number) DO NOTHING",
                            [(new_token(), account, number, campaign,
                              created) for number in numbers])

    def resolve_token(self, token: str) -> TokenInfo | None:
        if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
            return None
        rows = self._read("SELECT account, number, campaign FROM tokens WHERE token = ?",
                          (token,))
        return TokenInfo(*rows[0]) if rows else None

    # --- reasons and reports ------------------------------------------------------------

    def optout_in_force(self, scope: str, number: str) -> OptEvent | None:
        with self._lock:
            return _in_force(self._conn.cursor(), scope, number)

    def set_reason(self, event_id: int, reason: str) -> bool:
        with self._write() as cur:
            row = cur.execute("SELECT scope, number, changed FROM events "
                              "WHERE id = ? AND event = 'optout'", (event_id,)).fetchone()
            if row is None:
                return False
            scope, number, changed = row
            cur.execute("UPDATE events SET reason = ? WHERE id = ?", (reason, event_id))
            target = event_id if changed else None
            if not changed:  # a repeat: the reports count the opt-out in force instead
                found = _in_force(cur, scope, number)
                if (found is not None and found.id is not None and found.id < event_id
                        and found.reason is None):
                    cur.execute("UPDATE events SET reason = ? WHERE id = ?", (reason, found.id))
                    target = found.id
            if target is not None:
                _refresh_payloads(cur, target)
            return True

    def report(self, scope: str | None, since: datetime, until: datetime,
               group_by: ReportGroup) -> list[ReportRow]:
        key = _REPORT_KEYS.get(group_by)
        if key is None:
            raise ValueError(f"group_by must be one of {sorted(_REPORT_KEYS)}, got {group_by!r}")
        where = "changed = 1 AND at >= ? AND at < ?"
        params: list[Any] = [to_micros(since), to_micros(until)]
        if scope is not None:  # (scope, at) index; without a scope, a scan of the range
            where, params = f"scope = ? AND {where}", [scope, *params]
        rows = self._read(f"SELECT {key} AS k, sum(event = 'optout'), sum(event = 'optin') "
                          f"FROM events WHERE {where} GROUP BY k ORDER BY k", params)
        return [(k, int(optouts), int(optins)) for k, optouts, optins in rows]

    def meta_value(self, key: str, default: str) -> str:
        with self._write() as cur:
            cur.execute("INSERT INTO ledger_meta VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                        (key, default))
            return str(cur.execute("SELECT value FROM ledger_meta WHERE key = ?",
                                   (key,)).fetchone()[0])

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
                conn.execute("INSERT INTO ledger_meta VALUES ('health_checked', ?) "
                             "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                             (datetime.now(UTC).isoformat(),))
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    def health(self) -> bool:
        try:
            self.write_probe()
        except (sqlite3.Error, LedgerError, OSError):
            return False
        return True

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


_EVENT_COLUMNS = "id, at, scope, number, event, source, changed, campaign, keyword, reason, " \
                 "number_called"


def _event(row: Sequence[Any]) -> OptEvent:
    """An ``events`` row (``_EVENT_COLUMNS``) as the OptEvent it records."""
    id_, at, scope, number, event, source, changed, campaign, keyword, reason, called = row
    return OptEvent(id=id_, at=from_micros(at), scope=scope, number=number, event=event,
                    source=source, changed=bool(changed), campaign=campaign, keyword=keyword,
                    reason=reason, number_called=called)


def _in_force(cur: sqlite3.Cursor, scope: str, number: str) -> OptEvent | None:
    """The latest state-changing event of (scope, number), if it is an opt-out still in
    force (events_by_number: a number has a handful of events)."""
    row = cur.execute(f"SELECT {_EVENT_COLUMNS} FROM events WHERE number = ? AND scope = ? "
                      f"AND changed = 1 ORDER BY id DESC LIMIT 1", (number, scope)).fetchone()
    if row is None or row[4] != "optout":
        return None
    if cur.execute("SELECT 1 FROM suppressions WHERE scope = ? AND number = ?",
                   (scope, number)).fetchone() is None:
        return None
    return _event(row)


def _refresh_payloads(cur: sqlite3.Cursor, event_id: int) -> None:
    """Rewrite the open outbox rows of an event from its row as it is now (a reason added
    after the fact): their next attempt sends it. Delivered rows stay as they were sent.
    The partial index of open rows serves the lookup: only the backlog is read."""
    row = cur.execute(f"SELECT {_EVENT_COLUMNS} FROM events WHERE id = ?",
                      (event_id,)).fetchone()
    if row is None:
        return
    event = _event(row)
    assert event.at is not None
    open_rows = cur.execute(f"SELECT id, account FROM webhook_outbox "
                            f"WHERE event_id = ? AND {_OPEN}", (event_id,)).fetchall()
    cur.executemany("UPDATE webhook_outbox SET payload = ? WHERE id = ?",
                    [(webhook_payload(event, account, event.at), outbox_id)
                     for outbox_id, account in open_rows])


def _batches(conn: sqlite3.Connection, cursor: sqlite3.Cursor, batch: int,
             convert: Callable[[Any], Any] | None) -> Iterator[list[Any]]:
    try:
        while rows := cursor.fetchmany(batch):
            yield rows if convert is None else [convert(row) for row in rows]
    finally:
        conn.close()
