"""The review list in the SQL ledgers (schema step 5, table ``optout_reviews``).

A reply that looks like a revocation without being a clear one ("not interested",
"who is this?") is kept here for a person to decide within 10 business days (the
FCC's consent-revocation rule). ``ReviewSqlLedger`` adds the ``Ledger`` methods of the
list to ``SqlLedger``; each ledger gives it its statements in its driver's style
(``ReviewStatements(qmark, ...)`` for SQLite, as ``Statements``).

Deciding "optout" records the opt-out event in the same transaction as the decision,
so a review is never marked opted out without the opt-out being in force, and two
people deciding at once get one decision: the row is read under the dialect's row
lock (SQLite's write lock serialises writers) and only a pending one is changed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, ClassVar

from gateway.ledger.model import (
    OptEvent,
    Review,
    ReviewDecision,
    ReviewStatus,
    ReviewSummary,
)
from gateway.ledger.sql import SqlLedger

__all__ = ["ReviewSqlLedger", "ReviewStatements"]

_COLUMNS = ("id, scope, number, number_called, text, matched, received_at, deadline, "
            "remind_at, status, decided_by, decided_at")


class ReviewStatements:
    """The review list's statements in one driver's placeholder style (see
    ``gateway.ledger.sql.Statements``); ``lock_row``: " FOR UPDATE" or ""."""

    def __init__(self, style: Callable[[str], str] | None, *, lock_row: str,
                 returning_id: bool) -> None:
        def s(sql: str) -> str:
            return sql if style is None else style(sql)

        self.insert = s("INSERT INTO optout_reviews (scope, number, number_called, text, "
                        "matched, received_at, deadline, remind_at) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                        + (" RETURNING id" if returning_id else ""))
        self.same_pending = s(f"SELECT {_COLUMNS} FROM optout_reviews WHERE number = %s "
                              f"AND scope = %s AND text = %s AND status = 'pending' "
                              f"ORDER BY id LIMIT 1")
        self.one = s(f"SELECT {_COLUMNS} FROM optout_reviews WHERE id = %s")
        self.one_locked = s(f"SELECT {_COLUMNS} FROM optout_reviews WHERE id = %s{lock_row}")
        self.decide = s("UPDATE optout_reviews SET status = %s, decided_by = %s, "
                        "decided_at = %s WHERE id = %s AND status = 'pending'")
        where = {(False, False): "", (True, False): " WHERE scope = %s",
                 (False, True): " WHERE status = %s",
                 (True, True): " WHERE scope = %s AND status = %s"}
        #: (with a scope, with a status) -> the list's SELECT
        self.list = {key: s(f"SELECT {_COLUMNS} FROM optout_reviews{clause} "
                            f"ORDER BY id LIMIT %s")
                     for key, clause in where.items()}
        self.summary = s("SELECT count(*), min(deadline), "
                         "count(*) FILTER (WHERE remind_at <= %s) "
                         "FROM optout_reviews WHERE status = 'pending'")


class ReviewSqlLedger(SqlLedger):
    """``SqlLedger`` with the review list (see the module docstring)."""

    _rq: ClassVar[ReviewStatements]

    def _review(self, row: Sequence[Any]) -> Review:
        (id_, scope, number, called, text, matched, received, deadline, remind, status,
         by, decided) = row
        f = self._from_db
        return Review(id=int(id_), scope=scope, number=number, number_called=called,
                      text=text, matched=matched, received_at=f(received),
                      deadline=f(deadline), remind_at=f(remind), status=status,
                      decided_by=by, decided_at=None if decided is None else f(decided))

    def add_review(self, review: Review) -> tuple[Review, bool]:
        if review.id is not None:
            raise ValueError(f"review {review.id} is on the list already")
        for at in (review.received_at, review.deadline, review.remind_at):
            if at.utcoffset() is None:
                raise ValueError("review times must be timezone-aware (UTC)")
        q = self._rq
        with self._tx() as cur:
            row = cur.execute(q.same_pending, (review.number, review.scope,
                                               review.text)).fetchone()
            if row is not None:
                return self._review(row), False
            cur.execute(q.insert, (
                review.scope, review.number, review.number_called, review.text,
                review.matched, self._to_db(review.received_at), self._to_db(review.deadline),
                self._to_db(review.remind_at)))
            review_id = self._event_id(cur)
            found = cur.execute(q.one, (review_id,)).fetchone()
        return self._review(found), True

    def reviews(self, scope: str | None = None, status: ReviewStatus | None = None,
                limit: int = 1000) -> list[Review]:
        params: list[Any] = [p for p in (scope, status) if p is not None]
        sql = self._rq.list[scope is not None, status is not None]
        return [self._review(row) for row in self._read(sql, [*params, limit])]

    def review(self, review_id: int) -> Review | None:
        rows = self._read(self._rq.one, (review_id,))
        return self._review(rows[0]) if rows else None

    def decide_review(self, review_id: int, decision: ReviewDecision, decided_by: str,
                      at: datetime, optout: Callable[[Review], OptEvent] | None = None
                      ) -> tuple[Review | None, OptEvent | None]:
        if decision not in ("optout", "dismiss"):
            raise ValueError(f"decision must be 'optout' or 'dismiss', got {decision!r}")
        if decision == "optout" and optout is None:
            raise ValueError("an optout decision needs the event to record")
        q = self._rq
        with self._tx() as cur:
            row = cur.execute(q.one_locked, (review_id,)).fetchone()
            if row is None:
                return None, None
            found = self._review(row)
            if found.status != "pending":
                return found, None
            status = "opted_out" if decision == "optout" else "dismissed"
            cur.execute(q.decide, (status, decided_by, self._to_db(at), review_id))
            recorded = None
            if decision == "optout" and optout is not None:
                [recorded] = self._apply_events(cur, [optout(found)], at)
            decided = cur.execute(q.one, (review_id,)).fetchone()
        return self._review(decided), recorded

    def review_summary(self, now: datetime) -> ReviewSummary:
        pending, earliest, due = self._read(self._rq.summary, (self._to_db(now),))[0]
        return ReviewSummary(int(pending), None if earliest is None else self._from_db(earliest),
                             int(due or 0))
