"""Held messages in the ledger: promotional messages kept through quiet hours.

One row per message the quiet-hour check held (``held_messages``, schema step 3):
who sent it to whom (account, number, campaign, the sender-visible ``message_id``),
when it is due (the window's next opening) and when it expires (its
``validity_period``, or the longest hold), the message as received (``message``: the
bytes ``gateway.sendtime.stored`` writes, enough to rebuild it as the sender gave it),
and where it stands::

    held --claim--> (leased to one worker) --released / dropped / expired (terminal)
                                            \\-- held again, due later (window closed
                                                 again, or a temporary failure)
    held --cancel--> cancelled, receipt pending --claim--> receipt sent (notified_at)
    held --erasure--> held under the hash, reason "erased", due now --claim--> dropped

**Claims.** A releaser takes rows with ``claim_held`` for a lease (``claimed_by``,
``claimed_until``), like the webhook outbox: a row is claimed by one worker at a
time, across processes and instances (SQLite's write lock; PostgreSQL's ``FOR UPDATE
SKIP LOCKED``), and an unfinished lease (a killed instance) runs out and the row is
claimed again. Three kinds of row are claimable, in one transaction:

- **due**: held, ``due_at`` reached, and the first of its recipient's held messages
  for that account in (due_at, id) order: messages to one person go out in order, one
  at a time, across every instance (a later one waits while an earlier one is in
  flight);
- **expired**: held past ``expires_at``, whatever its place (its EXPIRED receipt
  should not wait for the window);
- **cancelled** with its receipt still to send.

Every transition after a claim is made only by the worker holding the claim
(``claimed_by``): a worker whose lease ran out and was taken over changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal, NamedTuple, Protocol, get_args

from gateway.sendtime.stored import without_destination

__all__ = ["ERASED_REASON", "HELD_STATUSES", "FinalStatus", "HeldInfo", "HeldRow", "HeldRows",
           "HeldStatements", "HeldStatus", "NewHeld"]

HeldStatus = Literal["held", "released", "dropped", "expired", "cancelled"]
HELD_STATUSES: tuple[str, ...] = get_args(HeldStatus)
#: The reason of a held row whose number was erased (``HeldRows._erase_held``): still held
#: until a releaser drops it, then the reason it was dropped.
ERASED_REASON = "erased"
#: Where a claimed held row can end.
FinalStatus = Literal["released", "dropped", "expired"]

_COLUMNS = ("id, account, number, campaign, message_id, due_at, held_at, expires_at, "
            "message, status, attempts")
_UNCLAIMED = "(h.claimed_until IS NULL OR h.claimed_until <= %(now)s)"
#: The first held message of its (account, number), in (due_at, id) order.
_HEAD = """NOT EXISTS (SELECT 1 FROM held_messages p
                   WHERE p.account = h.account AND p.number = h.number
                     AND p.status = 'held'
                     AND (p.due_at < h.due_at OR (p.due_at = h.due_at AND p.id < h.id)))"""
#: The three kinds of claimable row (module docstring), each served by its partial index.
CLAIMABLE = {
    "due": f"""SELECT h.id FROM held_messages h
               WHERE h.status = 'held' AND h.due_at <= %(now)s AND {_UNCLAIMED}
                 AND {_HEAD}
               ORDER BY h.due_at, h.id LIMIT %(limit)s""",
    "expired": f"""SELECT h.id FROM held_messages h
                   WHERE h.status = 'held' AND h.expires_at <= %(now)s AND {_UNCLAIMED}
                   ORDER BY h.expires_at, h.id LIMIT %(limit)s""",
    "cancelled": f"""SELECT h.id FROM held_messages h
                     WHERE h.status = 'cancelled' AND h.notified_at IS NULL AND {_UNCLAIMED}
                     ORDER BY h.id LIMIT %(limit)s""",
}


def _as_is(statement: str) -> str:
    return statement


class NewHeld(NamedTuple):
    """A message to hold (times aware, UTC)."""

    account: str
    number: str
    campaign: str | None
    message_id: str
    due_at: datetime
    held_at: datetime
    expires_at: datetime
    message: bytes
    reason: str | None = None


class HeldRow(NamedTuple):
    """One claimed row: ``attempts`` counts this claim."""

    id: int
    account: str
    number: str
    campaign: str | None
    message_id: str
    due_at: datetime
    held_at: datetime
    expires_at: datetime
    message: bytes
    status: str
    attempts: int


class HeldInfo(NamedTuple):
    """One row as listed (``GET /v1/held``, ``stopgate held list``)."""

    id: int
    account: str
    number: str
    campaign: str | None
    message_id: str
    held_at: datetime
    due_at: datetime
    expires_at: datetime
    status: str
    reason: str | None


class HeldStatements:
    """The held-message statements in one driver's placeholder style.

    ``style``: as ``gateway.ledger.sql.Statements``. ``claim``: the claiming statement
    around a ``CLAIMABLE`` select (``{select}``), with ``%(worker)s`` and ``%(until)s``,
    returning ``{columns}`` (or ``{w_columns}``, the same qualified by ``w.``)."""

    def __init__(self, style: Callable[[str], str] | None, claim: str) -> None:
        s = style or _as_is
        self.insert = s("INSERT INTO held_messages (account, number, campaign, message_id, "
                        "due_at, held_at, expires_at, message, reason) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id")
        qualified = ", ".join(f"w.{column.strip()}" for column in _COLUMNS.split(","))
        self.claim = {kind: s(claim.format(select=select, columns=_COLUMNS,
                                           w_columns=qualified))
                      for kind, select in CLAIMABLE.items()}
        mine = "id = %s AND claimed_by = %s"
        self.finish = s(f"UPDATE held_messages SET status = %s, reason = %s, finished_at = %s, "
                        f"notified_at = %s, claimed_by = NULL, claimed_until = NULL "
                        f"WHERE {mine} AND status = 'held'")
        self.again = s(f"UPDATE held_messages SET due_at = %s, reason = %s, claimed_by = NULL, "
                       f"claimed_until = NULL WHERE {mine} AND status = 'held'")
        self.notified = s(f"UPDATE held_messages SET notified_at = %s, claimed_by = NULL, "
                          f"claimed_until = NULL WHERE {mine} AND status = 'cancelled'")
        self.cancel = s("UPDATE held_messages SET status = 'cancelled', reason = %s, "
                        "finished_at = %s WHERE account = %s AND campaign = %s "
                        "AND status = 'held' AND (claimed_until IS NULL OR claimed_until <= %s)")
        self.give_back = s("UPDATE held_messages SET claimed_by = NULL, claimed_until = NULL "
                           "WHERE claimed_by = %s AND claimed_until IS NOT NULL "
                           "AND (status = 'held' OR notified_at IS NULL)")
        listed = ("SELECT id, account, number, campaign, message_id, held_at, due_at, "
                  "expires_at, status, reason FROM held_messages "
                  "WHERE account = %s AND status = 'held' AND id > %s")
        self.list = s(f"{listed} ORDER BY id LIMIT %s")
        self.list_campaign = s(f"{listed} AND campaign = %s ORDER BY id LIMIT %s")
        self.count = s("SELECT account, count(*) FROM held_messages WHERE status = 'held' "
                       "GROUP BY account ORDER BY account")
        # Erasure (``HeldRows._erase_held``): every row of the number, whatever its status.
        self.erase_rows = [s("SELECT id, message FROM held_messages WHERE number = %s" + where)
                           for where in ("", " AND account = %s")]
        self.erase_row = s("UPDATE held_messages SET number = %s, message = %s, "
                           "reason = CASE WHEN status = 'held' THEN %s ELSE reason END, "
                           "due_at = CASE WHEN status = 'held' THEN held_at ELSE due_at END "
                           "WHERE id = %s")
        self.counts = s("SELECT status, count(*) FROM held_messages "
                        "WHERE account = %s AND held_at >= %s AND held_at < %s "
                        "GROUP BY status ORDER BY status")


class _Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def execute(self, sql: str, params: Any, /) -> _Cursor: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class HeldRows:
    """The held-message methods of ``SqlLedger`` (it brings the hooks below)."""

    _hq: ClassVar[HeldStatements]

    # --- what SqlLedger brings ------------------------------------------------------------

    _to_db: Callable[[datetime], Any]
    _from_db: Callable[[Any], datetime]

    def _tx(self, *, durable: bool = True) -> AbstractContextManager[_Cursor]:
        raise NotImplementedError

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError

    # --- writes ---------------------------------------------------------------------------

    def hold(self, held: NewHeld) -> int:
        """Keep one message, durable on return; its row id."""
        return self.hold_many([held])[0]

    def hold_many(self, rows: Sequence[NewHeld]) -> list[int]:
        """Keep several messages in one transaction (one fsync), durable on return; their
        row ids, in order. Nothing is written if one of them is malformed."""
        for held in rows:
            for name in ("due_at", "held_at", "expires_at"):
                if getattr(held, name).utcoffset() is None:
                    raise ValueError(f"NewHeld.{name} must be timezone-aware (UTC)")
            if not held.account or not held.number or not held.message_id:
                raise ValueError("a held message needs an account, a number and a message id")
        to_db = self._to_db
        ids = []
        with self._tx() as cur:
            for held in rows:
                row = cur.execute(self._hq.insert, (
                    held.account, held.number, held.campaign, held.message_id,
                    to_db(held.due_at), to_db(held.held_at), to_db(held.expires_at),
                    held.message, held.reason)).fetchone()
                ids.append(int(row[0]))
        return ids

    def claim_held(self, worker_id: str, limit: int, lease_seconds: float,
                   now: datetime) -> list[HeldRow]:
        """Claim up to ``limit`` rows of each kind (module docstring) for ``lease_seconds``;
        the due ones in (due_at, id) order, then the expired, then the cancelled."""
        if limit < 1:
            return []
        params = {"worker": worker_id, "now": self._to_db(now),
                  "until": self._to_db(now + timedelta(seconds=lease_seconds)),
                  "limit": limit}
        from_db = self._from_db
        claimed: list[HeldRow] = []
        with self._tx() as cur:
            for kind in ("due", "expired", "cancelled"):
                rows = cur.execute(self._hq.claim[kind], params).fetchall()
                found = [HeldRow(int(id_), account, number, campaign, message_id,
                                 from_db(due), from_db(held), from_db(expires), bytes(message),
                                 status, int(attempts))
                         for (id_, account, number, campaign, message_id, due, held, expires,
                              message, status, attempts) in rows]
                claimed.extend(sorted(found, key=lambda r: (r.due_at, r.id)))
        unique: dict[int, HeldRow] = {}  # a row both due and expired is claimed once
        for row in claimed:
            unique.setdefault(row.id, row)
        return list(unique.values())

    def held_finish(self, held_id: int, worker_id: str, status: FinalStatus,
                    now: datetime, reason: str | None = None) -> bool:
        """A claimed held row ends: released (the carrier took it), dropped (refused at
        release; its failure receipt sent) or expired (its EXPIRED receipt sent). False if
        ``worker_id`` no longer holds the claim."""
        if status not in get_args(FinalStatus):
            raise ValueError(f"a held message ends released, dropped or expired, not {status!r}")
        at = self._to_db(now)
        with self._tx() as cur:
            cur.execute(self._hq.finish, (status, reason, at, at, held_id, worker_id))
            return bool(cur.rowcount == 1)

    def held_again(self, held_id: int, worker_id: str, due_at: datetime,
                   reason: str | None = None) -> bool:
        """A claimed held row stays held, due at ``due_at`` (the window closed again, or a
        temporary failure to retry); False if ``worker_id`` no longer holds the claim."""
        with self._tx() as cur:
            cur.execute(self._hq.again, (self._to_db(due_at), reason, held_id, worker_id))
            return bool(cur.rowcount == 1)

    def held_notified(self, held_id: int, worker_id: str, now: datetime) -> bool:
        """The failure receipt of a cancelled row was sent."""
        with self._tx() as cur:
            cur.execute(self._hq.notified, (self._to_db(now), held_id, worker_id))
            return bool(cur.rowcount == 1)

    def cancel_held(self, account: str, campaign: str, now: datetime,
                    reason: str = "cancelled") -> int:
        """Cancel ``account``'s held messages of ``campaign`` (not those being released
        right now); how many. Their receipts are sent by a releaser (``claim_held``)."""
        if not account or not campaign:
            raise ValueError("cancelling held messages needs an account and a campaign")
        at = self._to_db(now)
        with self._tx() as cur:
            cur.execute(self._hq.cancel, (reason, at, account, campaign, at))
            return int(cur.rowcount)

    def _erase_held(self, cur: _Cursor, number: str, hashed: str, scope: str | None) -> int:
        """Erasure, in its transaction: ``number``'s held messages (of account ``scope``;
        None: every account) under ``hashed``, their stored message without its
        destination (``without_destination``). Those still held can never be sent (the
        number is gone): they are made due since they were held (``held_at``: due on the
        gateways' own clock, whatever the erasure's) with reason ``ERASED_REASON``, and a
        releaser drops them and sends their failure receipts (gateway/sendtime/held.py),
        which the part ids kept in the message are enough for. How many rows."""
        which = self._hq.erase_rows[0] if scope is None else self._hq.erase_rows[1]
        rows = cur.execute(which, (number,) if scope is None else (number, scope)).fetchall()
        for held_id, message in rows:
            cur.execute(self._hq.erase_row, (hashed, without_destination(bytes(message)),
                                             ERASED_REASON, held_id))
        return len(rows)

    def held_give_back(self, worker_id: str) -> int:
        """Let go of every open claim of ``worker_id`` (a releaser stopping)."""
        with self._tx() as cur:
            cur.execute(self._hq.give_back, (worker_id,))
            return int(cur.rowcount)

    # --- reads ----------------------------------------------------------------------------

    def list_held(self, account: str, *, after: int = 0, limit: int = 100,
                  campaign: str | None = None) -> list[HeldInfo]:
        """``account``'s messages still held, by id, those after ``after`` (paging)."""
        if campaign is None:
            rows = self._read(self._hq.list, (account, after, limit))
        else:
            rows = self._read(self._hq.list_campaign, (account, after, campaign, limit))
        from_db = self._from_db
        return [HeldInfo(int(id_), acc, number, camp, message_id, from_db(held), from_db(due),
                         from_db(expires), status, reason)
                for id_, acc, number, camp, message_id, held, due, expires, status, reason
                in rows]

    def count_held(self) -> dict[str, int]:
        """Messages still held, per account (accounts with none are absent)."""
        return {account: int(n) for account, n in self._read(self._hq.count)}

    def held_counts(self, account: str, since: datetime, until: datetime) -> dict[str, int]:
        """``account``'s messages held in [since, until), by where they stand now."""
        rows = self._read(self._hq.counts, (account, self._to_db(since), self._to_db(until)))
        return {status: int(n) for status, n in rows}


def iter_pages(fetch: Callable[[int], list[HeldInfo]]) -> Iterator[HeldInfo]:
    """Every row of a paged listing (``fetch(after)`` gives the page after an id)."""
    after = 0
    while page := fetch(after):
        yield from page
        after = page[-1].id
