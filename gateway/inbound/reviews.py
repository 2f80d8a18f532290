"""The opt-out review list: replies that look like a revocation without being a clear one.

::

    MO "not interested" -> KeywordHandler: no keyword, rules.phrases says "review"
        -> ReviewList.add: one row per account the reply binds (as a STOP would), in
           the ledger (table optout_reviews, schema step 5) before the MO is answered;
           deadline = received + 10 business days (the FCC's), skipping weekends and
           the recipient country's public holidays (rules.deadlines); no reply is sent
           (nothing was decided)
    GET /v1/reviews, `stopgate reviews list`       -> the list (an account sees its own)
    POST /v1/reviews/{id} {"decision": "optout"}   -> ReviewList.decide: the opt-out is
           recorded like a STOP's (source "review", keyword "review:<id> by <who>", the
           webhook, the cache) in the same ledger transaction as the decision
    {"decision": "dismiss"}                        -> dismissed, nothing recorded

The first decision stands: a second one on the same review changes nothing and says
so. The metrics ``stopgate_optout_reviews_pending``,
``stopgate_optout_review_deadline_seconds`` and ``stopgate_optout_reviews_due_soon``
are counted in the ledger every ``REFRESH_EVERY`` seconds (and after each change); the
alert StopgateOptoutReviewDue (deploy/prometheus/alerts.yml) fires when a pending
review has fewer than 2 business days left.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from gateway.ledger.model import ERASED_PREFIX, OptEvent, Review, ReviewDecision, ReviewStatus
from gateway.ledger.threaded import AsyncLedger
from gateway.observability.logs import fields
from gateway.observability.metrics import Metrics
from gateway.suppression.store import Suppressions
from rules.deadlines import reminder, review_deadline

__all__ = ["REFRESH_EVERY", "Decided", "ReviewList"]

log = logging.getLogger("stopgate.reviews")

#: How often the gauges are counted in the ledger, in seconds.
REFRESH_EVERY = 30.0
#: A reply's text is kept up to this many characters (an MO is at most a few hundred).
MAX_TEXT = 2000


class Decided:
    """What a decision did: the review as it is now, and whether this call decided it."""

    __slots__ = ("changed", "event", "review")

    def __init__(self, review: Review, changed: bool, event: OptEvent | None) -> None:
        self.review = review
        self.changed = changed
        self.event = event


class ReviewList:
    """See the module docstring. ``clock``: aware UTC now (tests pass their own)."""

    def __init__(self, ledger: AsyncLedger, suppressions: Suppressions, metrics: Metrics, *,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.ledger = ledger
        self.suppressions = suppressions
        self.metrics = metrics
        self.clock = clock or (lambda: datetime.now(UTC))

    async def add(self, scope: str, number: str, region: str, text: str, *,
                  number_called: str | None, matched: str | None) -> Review:
        """Put a reply on the list (durable on return); the same pending one is kept."""
        received = self.clock()
        deadline = review_deadline(received, region)
        # A ledger write like an opt-out's: its failure is the ledger's health too, and the
        # MO goes unanswered (the carrier sends it again).
        review, created = await self.suppressions.record_with(self.ledger.add_review(Review(
            scope=scope, number=number, text=text[:MAX_TEXT], received_at=received,
            deadline=deadline, remind_at=reminder(deadline, region),
            number_called=number_called, matched=matched)))
        if created:
            log.info("reply sent to review", extra=fields(
                "optout_review_added", account=scope, number=number, review=review.id,
                matched=matched, deadline=review.deadline.isoformat()))
            await self.refresh()
        return review

    async def list(self, scope: str | None, status: ReviewStatus | None = None,
                   limit: int = 1000) -> list[Review]:
        return await self.ledger.reviews(scope, status, limit)

    async def get(self, review_id: int) -> Review | None:
        return await self.ledger.review(review_id)

    async def decide(self, review_id: int, decision: ReviewDecision,
                     decided_by: str) -> Decided | None:
        """Decide a pending review (None: no such review). "optout" records the opt-out
        in the same transaction, then makes it effective in the cache like any other."""
        def event(review: Review) -> OptEvent:
            return self.suppressions.event(
                review.scope, review.number, "optout", source="review",
                keyword=f"review:{review.id} by {decided_by}"[:200],
                number_called=review.number_called,
                # An erased number's reply is gone (ERASED_TEXT): nothing to keep.
                mo_text=None if review.number.startswith(ERASED_PREFIX) else review.text)

        before = await self.ledger.review(review_id)
        if before is None:
            return None
        now = self.clock()
        review, recorded = await self.suppressions.record_with(
            self.ledger.decide_review(review_id, decision, decided_by, now,
                                      event if decision == "optout" else None))
        if review is None:
            return None
        changed = before.status == "pending" and review.status != "pending" \
            and review.decided_at == now
        if recorded is not None:
            await self.suppressions.recorded(recorded)
        if changed:
            log.info("review decided", extra=fields(
                "optout_review_decided", account=review.scope, number=review.number,
                review=review.id, decision=decision, decided_by=decided_by))
            await self.refresh()
        return Decided(review, changed, recorded)

    async def refresh(self) -> None:
        """Count the pending reviews for the gauges (a failure is logged, not raised)."""
        now = self.clock()
        try:
            summary = await self.ledger.review_summary(now)
        except Exception as error:
            log.warning("review list not counted", extra=fields(
                "optout_reviews_uncounted", error=str(error)))
            return
        self.metrics.optout_reviews_pending.set(summary.pending)
        earliest = summary.earliest_deadline
        self.metrics.optout_review_deadline.set(
            0 if earliest is None else (earliest - now).total_seconds())
        self.metrics.optout_reviews_due_soon.set(summary.due_soon)

    async def run(self, every: float = REFRESH_EVERY) -> None:
        """The gauges' loop (a Background task)."""
        while True:
            await self.refresh()
            await asyncio.sleep(every)
