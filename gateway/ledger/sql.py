"""What the SQLite and the PostgreSQL ledger share: every common statement, and the logic
around it, written once.

``SqlLedger`` is the ``Ledger`` on an SQL database through a DB-API driver. The two
ledgers (``gateway.ledger.sqlite``, ``gateway.ledger.postgres``) subclass it and keep
what is really theirs: connections, transactions and their errors, snapshot reads,
the bulk import, token lookups by many numbers, the write probe; and, as hooks:

- **times**: ``_to_db`` / ``_from_db`` (SQLite stores integer µs since the epoch,
  PostgreSQL ``timestamptz``);
- **SQL that differs**: the report's day key, the row lock ``set_reason`` takes, and
  the webhook claim's locking (``FOR UPDATE SKIP LOCKED`` in PostgreSQL; SQLite's
  write lock serialises claimers), each given to ``Statements`` once per class.

**Placeholders.** Every shared statement is written in psycopg's format style (``%s``;
``%(name)s`` where a value is used twice or the two ledgers' statements take the
values in another order, as in the claim; ``%%`` for a literal ``%``), and
``Statements(qmark, ...)`` rewrites it once, when the SQLite ledger class is created,
into sqlite3's qmark/named style (``?``, ``:name``, ``%``). That direction because the
format style is self-delimiting: psycopg reads every ``%`` as a placeholder or an
escaped ``%%``, inside string literals too, so the rewrite is a regex that needs no SQL
parsing, and a ``%`` it does not know is refused. The other way round (``?`` or
``:name`` to psycopg) would have to tell a placeholder from a ``?`` in a literal or a
``::`` cast, and double every ``%``. Statements only one ledger runs stay in their
driver's own style, in their own module.
"""

from __future__ import annotations

import json
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any, ClassVar, Protocol

from gateway.ledger.held import HeldRows, HeldStatements
from gateway.ledger.model import (
    ERASED_PREFIX,
    ERASED_TEXT,
    IMPORT_CHUNK,
    TOKEN_RE,
    ErasureResult,
    HistoryRow,
    ImportResult,
    LedgerError,
    OptEvent,
    OutboxRow,
    Progress,
    ReportGroup,
    ReportRow,
    Schema,
    Source,
    SuppressionRow,
    TokenInfo,
    check_source,
    new_token,
    webhook_payload,
)

__all__ = ["DUE_WEBHOOKS", "OPEN", "Cursor", "SqlLedger", "Statements", "qmark"]

#: An outbox row still to deliver: neither delivered nor given up.
OPEN = "delivered_at IS NULL AND given_up_at IS NULL"
#: The ids of the deliveries due at ``now``, oldest first, at most ``limit``: next attempt
#: reached, not claimed or lease expired, and no earlier delivery for the same (account,
#: number) still open (a number's events are announced in order). Each ledger wraps it in
#: its own claiming UPDATE.
DUE_WEBHOOKS = f"""
        SELECT o.id FROM webhook_outbox o
        WHERE o.{OPEN.replace(" AND ", " AND o.")}
          AND o.next_attempt <= %(now)s
          AND (o.claimed_until IS NULL OR o.claimed_until <= %(now)s)
          AND NOT EXISTS (SELECT 1 FROM webhook_outbox p
                          WHERE p.account = o.account AND p.number = o.number
                            AND p.id < o.id AND p.{OPEN.replace(" AND ", " AND p.")})
        ORDER BY o.id LIMIT %(limit)s"""
_EVENT_COLUMNS = ("id, at, scope, number, event, source, changed, campaign, keyword, reason, "
                  "number_called")
#: The SQL key of each report grouping but "day" (whose date function is the dialect's).
_REPORT_KEYS = {
    "campaign": "campaign",
    "source": "source",
    "reason": "CASE WHEN reason LIKE 'other:%%' THEN 'other' ELSE reason END",
}
_FORMAT_STYLE = re.compile(r"%(?:\((\w+)\))?s|%%|%")


def qmark(statement: str) -> str:
    """A statement in psycopg's format style as sqlite3 takes it: ``%s`` -> ``?``,
    ``%(name)s`` -> ``:name``, ``%%`` -> ``%``. Any other ``%`` is refused (ValueError)."""

    def rewrite(match: re.Match[str]) -> str:
        text, name = match.group(0), match.group(1)
        if text == "%%":
            return "%"
        if text == "%":
            raise ValueError(f"a lone % in {statement!r} (write %% for a literal %)")
        return "?" if name is None else f":{name}"

    return _FORMAT_STYLE.sub(rewrite, statement)


def _erased_payload(payload: bytes, number: str, hashed: str) -> bytes:
    """A webhook body with its number replaced by the hash (same compact JSON)."""
    try:
        body = json.loads(payload)
    except ValueError:  # not a body webhook_payload wrote: replace the text itself
        return payload.replace(number.encode(), hashed.encode())
    if isinstance(body, dict) and "unsubscribed_number" in body:
        body["unsubscribed_number"] = hashed
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _as_is(statement: str) -> str:
    return statement


class Statements:
    """Every statement the ledgers share, in one driver's placeholder style.

    ``style``: ``qmark`` for sqlite3, None for psycopg (the statements are written in its
    style). ``day``: the SQL of an event's UTC day as YYYY-MM-DD. ``lock_row``: what
    ``SELECT ... FOR UPDATE`` says in the dialect ("" where the transaction holds the
    write lock already). ``claim``: the claiming UPDATE around ``DUE_WEBHOOKS``, with
    ``%(worker)s`` and ``%(until)s``, returning (id, event_id, account, payload, created,
    attempts). ``returning_id``: whether the event INSERT returns the new id (False
    where the driver keeps it, ``SqlLedger._event_id``).
    """

    def __init__(self, style: Callable[[str], str] | None, *, day: str, lock_row: str,
                 claim: str, returning_id: bool = True) -> None:
        s = style or _as_is
        #: The driver's style, for statements built per call (a list of IN values).
        self.style = s
        # --- events and state
        self.insert_suppression = s("INSERT INTO suppressions VALUES (%s, %s, %s, %s, %s) "
                                    "ON CONFLICT (scope, number) DO NOTHING")
        self.delete_suppression = s("DELETE FROM suppressions WHERE scope = %s AND number = %s")
        self.insert_event = s("INSERT INTO events (at, scope, number, event, source, changed, "
                              "campaign, keyword, reason, number_called, mo_text, "
                              "user_agent, api_key, client_address, consent_source) "
                              "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
                              "%s, %s)"
                              + (" RETURNING id" if returning_id else ""))
        self.insert_outbox = s("INSERT INTO webhook_outbox (event_id, account, number, payload, "
                               "created, next_attempt) VALUES (%s, %s, %s, %s, %s, %s)")
        self.is_suppressed = s("SELECT 1 FROM suppressions WHERE scope = %s AND number = %s")
        self.suppressed_scopes = s("SELECT scope FROM suppressions WHERE number = %s "
                                   "ORDER BY scope")
        self.suppressions_of = s("SELECT number, scope, since, source FROM suppressions "
                                 "WHERE number = %s ORDER BY scope")
        self.count_all = s("SELECT count(*) FROM suppressions")
        self.count_scope = s("SELECT count(*) FROM suppressions WHERE scope = %s")
        self.all_suppressed = s("SELECT scope, number FROM suppressions")
        export = "SELECT number, scope, since, source FROM suppressions"
        self.export_all = s(f"{export} ORDER BY scope, number")
        self.export_scope = s(f"{export} WHERE scope = %s ORDER BY scope, number")
        # --- opt-out link tokens
        self.insert_tokens = s("INSERT INTO tokens VALUES (%s, %s, %s, %s, %s) "
                               "ON CONFLICT DO NOTHING")
        self.resolve_token = s("SELECT account, number, campaign FROM tokens WHERE token = %s")
        # --- webhook outbox
        self.claim = s(claim)
        self.webhook_done = s(f"UPDATE webhook_outbox SET delivered_at = %s, last_status = %s, "
                              f"claimed_until = NULL WHERE id = %s AND {OPEN}")
        self.webhook_retry = s(f"UPDATE webhook_outbox SET next_attempt = %s, last_status = %s, "
                               f"claimed_until = NULL, claimed_by = NULL "
                               f"WHERE id = %s AND claimed_by = %s AND {OPEN}")
        self.webhook_give_up = s(f"UPDATE webhook_outbox SET given_up_at = %s, "
                                 f"last_status = %s, claimed_until = NULL "
                                 f"WHERE id = %s AND claimed_by = %s AND {OPEN}")
        self.webhook_release = s(f"UPDATE webhook_outbox SET claimed_until = NULL, "
                                 f"claimed_by = NULL WHERE claimed_by = %s "
                                 f"AND claimed_until IS NOT NULL AND {OPEN}")
        self.webhook_backlog = s(f"SELECT count(*) FROM webhook_outbox WHERE {OPEN}")
        self.open_outbox_of = s(f"SELECT id, account FROM webhook_outbox "
                                f"WHERE event_id = %s AND {OPEN}")
        self.set_payload = s("UPDATE webhook_outbox SET payload = %s WHERE id = %s")
        # --- reasons and reports
        self.event = s(f"SELECT {_EVENT_COLUMNS} FROM events WHERE id = %s")
        self.latest_change = s(f"SELECT {_EVENT_COLUMNS} FROM events "
                               f"WHERE number = %s AND scope = %s AND changed "
                               f"ORDER BY id DESC LIMIT 1")
        self.optout_to_reason = s(f"SELECT scope, number, changed FROM events "
                                  f"WHERE id = %s AND event = 'optout'{lock_row}")
        self.set_reason = s("UPDATE events SET reason = %s WHERE id = %s")
        #: (group_by, with a scope) -> the report's SELECT.
        self.report = {
            (group, scoped): s(
                f"SELECT {key} AS k, count(*) FILTER (WHERE event = 'optout'), "
                f"count(*) FILTER (WHERE event = 'optin') FROM events "
                f"WHERE {'scope = %s AND ' if scoped else ''}changed AND at >= %s AND at < %s "
                f"GROUP BY k ORDER BY k NULLS FIRST")
            for group, key in {**_REPORT_KEYS, "day": day}.items()
            for scoped in (False, True)
        }
        # --- erasure (each with and without a scope: ``[scoped]``)
        scoped = (" AND scope = %(scope)s", " AND account = %(scope)s")
        self.erase_events = [s(
            "UPDATE events SET number = %(hashed)s, mo_text = NULL, user_agent = NULL, "
            "reason = CASE WHEN reason LIKE 'other:%%' THEN 'other' ELSE reason END "
            f"WHERE number = %(clear)s{where}") for where in ("", scoped[0])]
        self.erase_scopes = [s(f"SELECT scope FROM suppressions WHERE number = %(clear)s{where} "
                               f"ORDER BY scope") for where in ("", scoped[0])]
        # A pair suppressed under the hash already (erased before, then a STOP in clear):
        # the clear row goes, the hashed one stays in force.
        self.erase_state_twins = [s(
            f"DELETE FROM suppressions WHERE number = %(clear)s{where} AND scope IN "
            f"(SELECT h.scope FROM suppressions h WHERE h.number = %(hashed)s)")
            for where in ("", scoped[0])]
        self.erase_state = [s(f"UPDATE suppressions SET number = %(hashed)s "
                              f"WHERE number = %(clear)s{where}") for where in ("", scoped[0])]
        self.erase_token_twins = [s(
            f"DELETE FROM tokens WHERE number = %(clear)s{where} AND account IN "
            f"(SELECT h.account FROM tokens h WHERE h.number = %(hashed)s)")
            for where in ("", scoped[1])]
        self.erase_tokens = [s(f"UPDATE tokens SET number = %(hashed)s "
                               f"WHERE number = %(clear)s{where}") for where in ("", scoped[1])]
        # The outbox rows of the events just erased (a "*" event's rows go to every account).
        self.erase_outbox_rows = [s(
            "SELECT id, payload FROM webhook_outbox WHERE number = %(clear)s" + where)
            for where in ("", " AND event_id IN (SELECT e.id FROM events e "
                              "WHERE e.number = %(hashed)s AND e.scope = %(scope)s)")]
        self.erase_outbox_row = s("UPDATE webhook_outbox SET number = %s, payload = %s "
                                  "WHERE id = %s")
        # The review list (step 5): the reply's text is the recipient's own words.
        self.erase_reviews = [s(f"UPDATE optout_reviews SET number = %(hashed)s, "
                                f"text = %(erased_text)s WHERE number = %(clear)s{where}")
                              for where in ("", scoped[0])]
        self.insert_erasure = s("INSERT INTO erasures (at, scope, number_hash, source, api_key, "
                                "client_address, events, suppressions, tokens, webhooks) "
                                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)")
        self.first_erasure = [s(f"SELECT min(at) FROM erasures WHERE number_hash = %(hashed)s"
                                f"{where}") for where in ("", " AND scope IN (%(scope)s, '*')")]
        # --- ledger facts
        self.meta_default = s("INSERT INTO ledger_meta VALUES (%s, %s) "
                              "ON CONFLICT (key) DO NOTHING")
        self.meta_value = s("SELECT value FROM ledger_meta WHERE key = %s")
        self.meta_set = s("INSERT INTO ledger_meta VALUES (%s, %s) "
                          "ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        self.schema_version = s("SELECT max(version) FROM schema_migrations")


class Cursor(Protocol):
    """What the shared code uses of a DB-API cursor (sqlite3's and psycopg's)."""

    @property
    def rowcount(self) -> int: ...

    def execute(self, sql: str, params: Any, /) -> Cursor: ...

    def executemany(self, sql: str, params: Any, /) -> object: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class SqlLedger(HeldRows, ABC):
    """The ``Ledger`` on an SQL database; see the module docstring for what a subclass
    brings. The subclass's ``_tx``, ``_read`` and ``_reading`` hold its ``_lock`` (an
    RLock), so a ledger is safe from any thread, one call at a time."""

    #: The shared statements in the driver's style: set once by each subclass.
    _q: ClassVar[Statements]
    #: The held-message statements (gateway.ledger.held), likewise.
    _hq: ClassVar[HeldStatements]
    #: What ``health`` counts as "cannot write" (anything else is a bug and raises).
    _FAULTS: ClassVar[tuple[type[BaseException], ...]] = (LedgerError,)
    _lock: threading.RLock
    schema: Schema

    def _open(self, migrate: Callable[[], Schema]) -> None:
        """The end of opening: the schema created or migrated (``migrate``), the opening
        noted in ``ledger_meta``; the ledger is closed again if either fails."""
        #: The schema as found and migrated at opening.
        self.schema = Schema(0, 1, ())
        try:
            self.schema = migrate()
            self._write_meta("opened", datetime.now(UTC).isoformat())
        except BaseException:
            self.close()
            raise

    # --- the hooks ----------------------------------------------------------------------

    @staticmethod
    @abstractmethod
    def _to_db(at: datetime, /) -> Any:
        """An aware datetime as the database's time columns hold it."""

    @staticmethod
    @abstractmethod
    def _from_db(value: Any, /) -> datetime:
        """A time column's value as an aware UTC datetime."""

    @staticmethod
    def _event_id(cur: Cursor) -> int:
        """The id of the event ``insert_event`` just inserted on ``cur``."""
        return int(cur.fetchone()[0])

    @abstractmethod
    def _tx(self, *, durable: bool = True) -> AbstractContextManager[Cursor]:
        """One write transaction, committed on leaving, rolled back on error. ``durable``:
        on disk when the commit returns; False for what may be lost in a machine crash."""

    @abstractmethod
    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """The rows of one read statement."""

    def _reading(self) -> AbstractContextManager[Cursor]:
        """A cursor for a few reads that belong together (default: one transaction)."""
        return self._tx()

    @abstractmethod
    def _snapshot(self, sql: str, params: Sequence[Any], batch: int,
                  convert: Callable[[Any], Any] | None) -> Iterator[list[Any]]:
        """The rows of one SELECT, ``batch`` at a time, each through ``convert`` (None: as
        they are), from one snapshot on a connection of its own."""

    @abstractmethod
    def _import_chunk(self, scope: str, chunk: list[str], source: str,
                      at: Any) -> ImportResult:
        """Opt the numbers of one chunk out in one transaction (``at``: a database time)."""

    @abstractmethod
    def _tokens(self, account: str, numbers: list[str]) -> dict[str, str]:
        """number -> token of the numbers of ``account`` that have one."""

    # --- events and state -----------------------------------------------------------------

    def record(self, events: Sequence[OptEvent]) -> list[OptEvent]:
        if not events:
            return []
        for event in events:
            if event.id is not None:
                raise ValueError(f"event {event.id} is recorded already")
        now = datetime.now(UTC)
        with self._tx() as cur:
            return self._apply_events(cur, events, now)

    def _apply_events(self, cur: Cursor, events: Sequence[OptEvent],
                      now: datetime) -> list[OptEvent]:
        q = self._q
        recorded = []
        for event in events:
            at = (event.at or now).astimezone(UTC)
            db_at = self._to_db(at)
            # The (scope, number) row first: it serialises two writers of the same pair, and
            # whether it changed says whether the event changes the state.
            if event.event == "optout":
                cur.execute(q.insert_suppression, (event.scope, event.number, db_at,
                                                   event.source, event.campaign))
                changed = cur.rowcount == 1
            else:
                cur.execute(q.delete_suppression, (event.scope, event.number))
                changed = cur.rowcount == 1
                for alias in event.aliases:  # an opt-out kept under the erasure hash
                    cur.execute(q.delete_suppression, (event.scope, alias))
                    changed = changed or cur.rowcount == 1
            cur.execute(q.insert_event, (
                db_at, event.scope, event.number, event.event, event.source, changed,
                event.campaign, event.keyword, event.reason, event.number_called,
                event.mo_text, event.user_agent, event.api_key, event.client_address,
                event.consent_source))
            event_id = self._event_id(cur)
            if changed:
                db_now = self._to_db(now)
                rows = []
                for account in dict.fromkeys(event.notify_accounts()):
                    if not account or account == "*":
                        raise ValueError(f"OptEvent.notify names an account, got {account!r}")
                    rows.append((event_id, account, event.number,
                                 webhook_payload(event, account, at), db_now, db_now))
                cur.executemany(q.insert_outbox, rows)
            recorded.append(replace(event, at=at, id=event_id, changed=changed))
        return recorded

    def is_suppressed(self, scope: str, number: str) -> bool:
        return bool(self._read(self._q.is_suppressed, (scope, number)))

    def suppressed_scopes(self, number: str) -> list[str]:
        return [scope for (scope,) in self._read(self._q.suppressed_scopes, (number,))]

    def suppressions_of(self, number: str) -> list[SuppressionRow]:
        rows = self._read(self._q.suppressions_of, (number,))
        return [SuppressionRow(n, scope, self._from_db(since), source)
                for n, scope, since, source in rows]

    def count_suppressed(self, scope: str | None = None) -> int:
        if scope is None:
            rows = self._read(self._q.count_all)
        else:
            rows = self._read(self._q.count_scope, (scope,))
        return int(rows[0][0])

    def iter_suppressed(self, batch: int = 10_000) -> Iterator[list[tuple[str, str]]]:
        return self._snapshot(self._q.all_suppressed, (), batch, None)

    def export(self, scope: str | None = None) -> Iterator[SuppressionRow]:
        from_db = self._from_db
        sql, params = ((self._q.export_all, ()) if scope is None
                       else (self._q.export_scope, (scope,)))
        batches = self._snapshot(sql, params, 5_000,
                                 lambda r: SuppressionRow(r[0], r[1], from_db(r[2]), r[3]))
        return (row for rows in batches for row in rows)

    # --- bulk import ----------------------------------------------------------------------

    def import_numbers(self, scope: str, numbers: Iterable[str], *, source: Source = "import",
                       at: datetime | None = None,
                       progress: Progress | None = None) -> ImportResult:
        check_source(source)
        if not scope:
            raise ValueError("scope is empty (an account's system_id, or '*')")
        if at is not None and at.utcoffset() is None:
            raise ValueError("at must be timezone-aware (UTC)")
        when = self._to_db((at or datetime.now(UTC)).astimezone(UTC))
        done = ImportResult()
        it = iter(numbers)
        while chunk := list(islice(it, IMPORT_CHUNK)):
            if not all(chunk):
                raise ValueError(f"empty number in an import chunk after {done.total} numbers")
            done += self._import_chunk(scope, chunk, source, when)
            if progress is not None:
                progress(done)
        return done

    # --- opt-out link tokens --------------------------------------------------------------

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
                self._create_tokens(account, missing, campaign)
                tokens.update(self._tokens(account, missing))
                missing = [number for number in missing if number not in tokens]
            if missing:
                raise LedgerError(f"could not create opt-out tokens for {len(missing)} numbers")
        return tokens

    def _create_tokens(self, account: str, numbers: list[str], campaign: str | None) -> None:
        created = self._to_db(datetime.now(UTC))
        # Not durable: a new recipient's first promotional message waits for this write,
        # and an fsync (0.4-1 ms) was most of its latency. A token is no consent record
        # (opt-outs and opt-ins are, and stay durable); only a machine crash within a
        # second of its creation could lose one, and its link would answer 404.
        # ON CONFLICT DO NOTHING covers both another process creating the (account,
        # number) meanwhile (theirs stands) and a 53-bit token clash (that number is
        # still missing afterwards, and drawn again on the next pass).
        with self._tx(durable=False) as cur:
            cur.executemany(self._q.insert_tokens,
                            [(new_token(), account, number, campaign, created)
                             for number in numbers])

    def resolve_token(self, token: str) -> TokenInfo | None:
        if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
            return None
        rows = self._read(self._q.resolve_token, (token,))
        return TokenInfo(*rows[0]) if rows else None

    # --- webhook outbox -------------------------------------------------------------------

    def claim_webhooks(self, worker_id: str, limit: int, lease_seconds: float,
                       now: datetime) -> list[OutboxRow]:
        if limit < 1:
            return []
        until = now + timedelta(seconds=lease_seconds)
        with self._tx() as cur:
            rows = cur.execute(self._q.claim, {
                "worker": worker_id, "until": self._to_db(until), "now": self._to_db(now),
                "limit": limit}).fetchall()
        return sorted(OutboxRow(id_, event_id, account, bytes(payload), self._from_db(created),
                                attempts)
                      for id_, event_id, account, payload, created, attempts in rows)

    def webhook_done(self, outbox_id: int, status: int, now: datetime) -> None:
        # Whoever holds the claim: it was delivered, that is the truth to keep.
        with self._tx() as cur:
            cur.execute(self._q.webhook_done, (self._to_db(now), status, outbox_id))

    def webhook_retry(self, outbox_id: int, worker_id: str, status: int | None,
                      next_attempt: datetime) -> None:
        with self._tx() as cur:
            cur.execute(self._q.webhook_retry,
                        (self._to_db(next_attempt), status, outbox_id, worker_id))

    def webhook_give_up(self, outbox_id: int, worker_id: str, status: int | None,
                        now: datetime) -> None:
        with self._tx() as cur:
            cur.execute(self._q.webhook_give_up, (self._to_db(now), status, outbox_id, worker_id))

    def webhook_release(self, worker_id: str) -> int:
        with self._tx() as cur:
            cur.execute(self._q.webhook_release, (worker_id,))
            return cur.rowcount

    def webhook_backlog(self) -> int:
        return int(self._read(self._q.webhook_backlog)[0][0])

    # --- reasons and reports --------------------------------------------------------------

    def optout_in_force(self, scope: str, number: str) -> OptEvent | None:
        with self._reading() as cur:
            return self._in_force(cur, scope, number)

    def set_reason(self, event_id: int, reason: str) -> bool:
        q = self._q
        with self._tx() as cur:
            row = cur.execute(q.optout_to_reason, (event_id,)).fetchone()
            if row is None:
                return False
            scope, number, changed = row
            cur.execute(q.set_reason, (reason, event_id))
            target = event_id if changed else None
            if not changed:  # a repeat: the reports count the opt-out in force instead
                found = self._in_force(cur, scope, number)
                if (found is not None and found.id is not None and found.id < event_id
                        and found.reason is None):
                    cur.execute(q.set_reason, (reason, found.id))
                    target = found.id
            if target is not None:
                self._refresh_payloads(cur, target)
            return True

    def report(self, scope: str | None, since: datetime, until: datetime,
               group_by: ReportGroup) -> list[ReportRow]:
        sql = self._q.report.get((group_by, scope is not None))
        if sql is None:
            groups = sorted({group for group, _scoped in self._q.report})
            raise ValueError(f"group_by must be one of {groups}, got {group_by!r}")
        # With a scope: the (scope, at) index; without one, a scan of the range.
        params = [self._to_db(since), self._to_db(until)]
        rows = self._read(sql, params if scope is None else [scope, *params])
        return [(k, int(optouts), int(optins)) for k, optouts, optins in rows]

    def _event(self, row: Sequence[Any]) -> OptEvent:
        """An ``events`` row (``_EVENT_COLUMNS``) as the OptEvent it records."""
        id_, at, scope, number, event, source, changed, campaign, keyword, reason, called = row
        return OptEvent(id=id_, at=self._from_db(at), scope=scope, number=number, event=event,
                        source=source, changed=bool(changed), campaign=campaign,
                        keyword=keyword, reason=reason, number_called=called)

    def _in_force(self, cur: Cursor, scope: str, number: str) -> OptEvent | None:
        """The latest state-changing event of (scope, number), if it is an opt-out still in
        force (events_by_number: a number has a handful of events)."""
        row = cur.execute(self._q.latest_change, (number, scope)).fetchone()
        if row is None or row[4] != "optout":
            return None
        if cur.execute(self._q.is_suppressed, (scope, number)).fetchone() is None:
            return None
        return self._event(row)

    def _refresh_payloads(self, cur: Cursor, event_id: int) -> None:
        """Rewrite the open outbox rows of an event from its row as it is now (a reason
        added after the fact): their next attempt sends it. Delivered rows stay as they
        were sent. The partial index of open rows serves the lookup: only the backlog is
        read."""
        row = cur.execute(self._q.event, (event_id,)).fetchone()
        if row is None:
            return
        event = self._event(row)
        assert event.at is not None
        open_rows = cur.execute(self._q.open_outbox_of, (event_id,)).fetchall()
        cur.executemany(self._q.set_payload,
                        [(webhook_payload(event, account, event.at), outbox_id)
                         for outbox_id, account in open_rows])

    # --- evidence and erasure ------------------------------------------------------------

    def history(self, numbers: Sequence[str], scopes: Sequence[str] | None
                ) -> list[HistoryRow]:
        wanted = list(dict.fromkeys(n for n in numbers if n))
        if not wanted:
            return []
        s, from_db = self._q.style, self._from_db
        where = f"number IN ({', '.join(['%s'] * len(wanted))})"
        params: list[Any] = list(wanted)
        if scopes is not None:
            where += f" AND scope IN ({', '.join(['%s'] * len(scopes))})"
            params += list(scopes)
        rows = self._read(s(
            f"SELECT at, scope, event, source, changed, number, keyword, mo_text, "
            f"number_called, campaign, reason, user_agent, api_key, client_address, "
            f"consent_source FROM events WHERE {where} ORDER BY id"), params)
        erased = {n for n in wanted if n.startswith(ERASED_PREFIX)}
        found = [HistoryRow(from_db(at), scope, event, source, bool(changed),
                            "erased" if number in erased else "clear", *rest)
                 for at, scope, event, source, changed, number, *rest in rows]
        if erased:
            e_where = f"number_hash IN ({', '.join(['%s'] * len(erased))})"
            e_params: list[Any] = sorted(erased)
            if scopes is not None:
                e_where += f" AND scope IN ({', '.join(['%s'] * (len(scopes) + 1))})"
                e_params += [*scopes, "*"]
            for at, scope, source, api_key, address in self._read(s(
                    f"SELECT at, scope, source, api_key, client_address FROM erasures "
                    f"WHERE {e_where} ORDER BY id"), e_params):
                found.append(HistoryRow(from_db(at), scope, "erased", source, True, "erased",
                                        api_key=api_key, client_address=address))
        found.sort(key=lambda row: row.at)  # stable: events stay in recording order
        return found

    def erase(self, number: str, hashed: str, scope: str | None, *, source: Source,
              api_key: str | None = None, client_address: str | None = None,
              at: datetime | None = None) -> ErasureResult:
        check_source(source)
        if not number or not hashed.startswith(ERASED_PREFIX) or number == hashed:
            raise ValueError("erase needs a number and its hash (h:...)")
        q, which = self._q, 0 if scope is None else 1
        values = {"clear": number, "hashed": hashed, "scope": scope}
        when = (at or datetime.now(UTC)).astimezone(UTC)
        with self._tx() as cur:
            events = cur.execute(q.erase_events[which], values).rowcount
            scopes = tuple(row[0] for row in
                           cur.execute(q.erase_scopes[which], values).fetchall())
            cur.execute(q.erase_state_twins[which], values)
            cur.execute(q.erase_state[which], values)
            cur.execute(q.erase_token_twins[which], values)
            tokens = cur.rowcount
            cur.execute(q.erase_tokens[which], values)
            tokens += cur.rowcount
            outbox = cur.execute(q.erase_outbox_rows[which], values).fetchall()
            cur.executemany(q.erase_outbox_row, [
                (hashed, _erased_payload(bytes(payload), number, hashed), outbox_id)
                for outbox_id, payload in outbox])
            reviews = cur.execute(q.erase_reviews[which],
                                  {**values, "erased_text": ERASED_TEXT}).rowcount
            held = self._erase_held(cur, number, hashed, scope)
            result = ErasureResult(events, len(scopes), tokens, len(outbox), scopes,
                                   reviews=reviews, held=held)
            if result.found:
                cur.execute(q.insert_erasure, (
                    self._to_db(when), scope or "*", hashed, source, api_key, client_address,
                    result.events, result.suppressions, result.tokens, result.webhooks))
                return result
            first = cur.execute(q.first_erasure[which], values).fetchone()
        if first is not None and first[0] is not None:
            return replace(result, erased_before=self._from_db(first[0]))
        return result

    # --- ledger facts and life ------------------------------------------------------------

    def meta_value(self, key: str, default: str) -> str:
        with self._tx() as cur:
            cur.execute(self._q.meta_default, (key, default))
            row = cur.execute(self._q.meta_value, (key,)).fetchone()
            assert row is not None
            return str(row[0])

    def meta_get(self, key: str) -> str | None:
        rows = self._read(self._q.meta_value, (key,))
        return str(rows[0][0]) if rows else None

    def _write_meta(self, key: str, value: str) -> None:
        with self._tx() as cur:
            cur.execute(self._q.meta_set, (key, value))

    def schema_version(self) -> int:
        """The schema version of the database (the last migration step applied)."""
        return int(self._read(self._q.schema_version)[0][0])

    @abstractmethod
    def close(self) -> None:
        """Release the connections; further calls fail (``health`` says False)."""

    @abstractmethod
    def write_probe(self) -> None:
        """Commit one small durable write; raise what the ledger raised if it cannot."""

    def health(self) -> bool:
        try:
            self.write_probe()
        except self._FAULTS:
            return False
        return True
