"""The opt-out review list over HTTP (gateway.inbound.reviews): an account's own replies.

Every route takes the caller's ``Authorization: Bearer <api_key>`` and sees only the
reviews of that account (its ``system_id``); the operator's (scope ``"*"``, replies to
``optout.operator_number``) are decided with ``stopgate reviews``.

``GET /v1/reviews[?status=pending|opted_out|dismissed|all]``
    200 ``{"reviews": [{"id", "account", "number", "number_called", "text", "matched",
    "received_at", "deadline", "status", "decided_by", "decided_at"}, ...]}``, oldest
    first, at most 1000; ``status`` defaults to ``pending`` (the work to do). Times are
    ISO 8601 UTC; ``deadline`` is 10 business days after ``received_at`` (the FCC's).
``POST /v1/reviews/{id}`` with ``{"decision": "optout" | "dismiss"}``
    ``optout``: the number is opted out of the account like by a STOP (source
    ``review``, keyword ``review:<id> by api:<account>``, the webhook), durable in the
    same ledger transaction as the decision and effective before the answer; no
    confirmation SMS is sent (the person did not write a keyword and may not expect
    one). ``dismiss``: nothing is recorded. 200 ``{"review": {...}}``.

Errors are ``{"error", "detail"}``: 401 ``unauthorized``; 400 ``invalid_request``
(unknown status, bad decision), 400 ``invalid_json``; 404 ``not_found`` (no such
review for this account); 409 ``already_decided`` (the first decision stands: the
detail says which and by whom); 503 ``ledger_unavailable`` (nothing was recorded).
"""

from __future__ import annotations

from typing import get_args

import orjson
from aiohttp import web

from gateway.config.model import Account
from gateway.http.auth import AccountHandler, Authenticate, ledger_guarded
from gateway.http.responses import Handler, error, json_response
from gateway.inbound.reviews import ReviewList
from gateway.ledger.model import REVIEW_STATUSES, ReviewDecision, ReviewStatus

__all__ = ["ReviewRoutes"]


_DECISIONS: tuple[str, ...] = get_args(ReviewDecision)


class ReviewRoutes:
    """The /v1/reviews routes (see the module docstring)."""

    def __init__(self, authenticate: Authenticate, reviews: ReviewList) -> None:
        self.authenticate = authenticate
        self.reviews = reviews

    def register(self, app: web.Application) -> None:
        app.router.add_get("/v1/reviews", self._guarded(self.list))
        app.router.add_post("/v1/reviews/{id}", self._guarded(self.decide))

    def _guarded(self, handler: AccountHandler) -> Handler:
        """The handler behind the Bearer check, with ledger failures as 503."""
        return ledger_guarded(self.authenticate, handler, what="review list",
                              unchanged="nothing was recorded")

    async def list(self, request: web.Request, account: Account) -> web.Response:
        wanted = request.query.get("status", "pending")
        if wanted != "all" and wanted not in REVIEW_STATUSES:
            return error(400, "invalid_request",
                         f"status must be one of {', '.join(REVIEW_STATUSES)} or all, "
                         f"got {wanted!r}")
        status: ReviewStatus | None = None if wanted == "all" else wanted  # type: ignore[assignment]
        found = await self.reviews.list(account.system_id, status)
        return json_response({"reviews": [review.as_dict() for review in found]})

    async def decide(self, request: web.Request, account: Account) -> web.Response:
        raw_id = request.match_info["id"]
        review_id = int(raw_id) if raw_id.isascii() and raw_id.isdigit() else None
        review = await self.reviews.get(review_id) if review_id is not None else None
        if review is None or review.scope != account.system_id or review_id is None:
            return error(404, "not_found", f"no review {raw_id} for this account")
        raw = await request.read()
        try:
            body = orjson.loads(raw) if raw.strip() else None
        except orjson.JSONDecodeError as exc:
            return error(400, "invalid_json", f"the body is not JSON: {exc}")
        decision = body.get("decision") if isinstance(body, dict) else None
        if not isinstance(body, dict) or decision not in _DECISIONS or set(body) != {"decision"}:
            return error(400, "invalid_request",
                         'expected {"decision": "optout"} or {"decision": "dismiss"}')
        done = await self.reviews.decide(review_id, decision, f"api:{account.system_id}")
        if done is None:
            return error(404, "not_found", f"no review {raw_id} for this account")
        if not done.changed:
            now = done.review
            when = now.decided_at.isoformat() if now.decided_at else "?"
            return error(409, "already_decided",
                         f"review {review_id} is {now.status} already (by {now.decided_by} at "
                         f"{when}): the first decision stands")
        return json_response({"review": done.review.as_dict()})
