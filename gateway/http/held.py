"""Held messages (quiet hours) over HTTP: list them, cancel a campaign's, count them.

Every route takes the caller's ``Authorization: Bearer <api_key>`` and sees only that
account's messages.

``GET /v1/held``
    The account's messages still held, oldest first. Query (all optional):
    ``campaign`` (only that campaign's), ``limit`` (1..1000, default 100), ``after``
    (the ``next`` of the previous page)::

        200 {"account": "acme", "held": [
                {"id": "9f2c61d0a4b3e871", "number": "+33612345678",
                 "campaign": "black-friday", "held_at": "2026-11-23T21:00:00Z",
                 "due": "2026-11-24T07:00:00Z", "expires": "2026-11-26T21:00:00Z"}],
             "next": 1234}

    ``id`` is the id the sender was given (and will see in the receipts); ``next`` is
    null on the last page.

``DELETE /v1/held?campaign=NAME``
    Cancels the account's held messages of that campaign: they are never sent, and each
    part whose message asked for receipts gets a ``DELETED`` receipt (sent within a
    second, to the account's receiver binds or their queue). A message being released
    at that very moment is not cancelled (it is on its way)::

        200 {"account": "acme", "campaign": "black-friday", "cancelled": 1200}

    Idempotent: a second call cancels nothing more (``cancelled``: 0).

``GET /v1/reports/held?from=YYYY-MM-DD&to=YYYY-MM-DD``
    The account's messages held in those UTC days (both optional, as for
    ``/v1/reports/optouts``), by where they stand now::

        200 {"account": "acme", "from": null, "to": "2026-11-30",
             "held": 3, "released": 1200, "dropped": 4, "expired": 1, "cancelled": 20}

    ``held`` counts those still waiting; ``dropped``, those refused at their release
    (opted out overnight, over a frequency cap, refused).

Errors: 401 ``unauthorized``, 400 ``invalid_request`` (an unknown parameter, a missing
``campaign`` on DELETE, a ``limit`` or ``after`` that is not a number in range, a bad
date; the detail names it), 503 ``ledger_unavailable`` (Retry-After: 1).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from aiohttp import web

from gateway.config.model import Account
from gateway.http.auth import AccountHandler, Authenticate, ledger_guarded
from gateway.http.reports import day_bounds, parse_days
from gateway.http.responses import MAX_CAMPAIGN, Handler, error, json_response
from gateway.ledger.held import HELD_STATUSES
from gateway.ledger.threaded import AsyncLedger

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
_LIST_PARAMS = ("campaign", "limit", "after")


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _unknown(query: dict[str, str], known: tuple[str, ...]) -> str | None:
    unknown = sorted(set(query) - set(known))
    if unknown:
        return f"unknown parameter(s) {', '.join(unknown)}; expected {', '.join(known)}"
    return None


def _campaign(query: dict[str, str]) -> str | web.Response | None:
    campaign = query.get("campaign")
    if campaign is not None and not 0 < len(campaign) <= MAX_CAMPAIGN:
        return error(400, "invalid_request",
                     f"'campaign' is a name of 1 to {MAX_CAMPAIGN} characters")
    return campaign


def _whole(query: dict[str, str], name: str, default: int, low: int, high: int) -> int | str:
    text = query.get(name)
    if text is None or text == "":
        return default
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        return f"'{name}' must be a whole number from {low} to {high}, got {text[:20]!r}"
    return int(text)


class HeldRoutes:
    """``/v1/held`` and ``/v1/reports/held`` (see the module docstring)."""

    def __init__(self, authenticate: Authenticate, ledger: AsyncLedger,
                 on_cancelled: Callable[[], None] | None = None,
                 now: Callable[[], datetime] | None = None) -> None:
        self.authenticate = authenticate
        self.ledger = ledger
        #: The gateway's clock (the one held rows' leases are taken on).
        self.now = now or (lambda: datetime.now(UTC))
        #: Told after a cancellation, so the receipts go out at once (the releaser's wake).
        self.on_cancelled = on_cancelled

    def register(self, app: web.Application) -> None:
        held = app.router.add_resource("/v1/held")
        held.add_route("GET", self._guarded(self.list))
        held.add_route("DELETE", self._guarded(self.cancel))
        app.router.add_get("/v1/reports/held", self._guarded(self.report))

    def _guarded(self, handler: AccountHandler) -> Handler:
        """The handler behind the Bearer check, with ledger failures as 503."""
        return ledger_guarded(self.authenticate, handler, what="held messages",
                              unchanged="nothing was changed by this request")

    async def list(self, request: web.Request, account: Account) -> web.Response:
        query = dict(request.query)
        if problem := _unknown(query, _LIST_PARAMS):
            return error(400, "invalid_request", problem)
        campaign = _campaign(query)
        if isinstance(campaign, web.Response):
            return campaign
        limit = _whole(query, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        after = _whole(query, "after", 0, 0, 2**63 - 1)
        for value in (limit, after):
            if isinstance(value, str):
                return error(400, "invalid_request", value)
        assert isinstance(limit, int) and isinstance(after, int)
        rows = await self.ledger.list_held(account.system_id, after=after, limit=limit,
                                           campaign=campaign)
        return json_response({
            "account": account.system_id,
            "held": [{"id": row.message_id, "number": row.number, "campaign": row.campaign,
                      "held_at": _utc(row.held_at), "due": _utc(row.due_at),
                      "expires": _utc(row.expires_at)} for row in rows],
            "next": rows[-1].id if len(rows) == limit else None,
        })

    async def cancel(self, request: web.Request, account: Account) -> web.Response:
        query = dict(request.query)
        if problem := _unknown(query, ("campaign",)):
            return error(400, "invalid_request", problem)
        campaign = _campaign(query)
        if isinstance(campaign, web.Response):
            return campaign
        if campaign is None:
            return error(400, "invalid_request", "say which campaign's held messages to "
                         "cancel: DELETE /v1/held?campaign=NAME")
        cancelled = await self.ledger.cancel_held(account.system_id, campaign, self.now())
        if cancelled and self.on_cancelled is not None:
            self.on_cancelled()
        return json_response({"account": account.system_id, "campaign": campaign,
                              "cancelled": cancelled})

    async def report(self, request: web.Request, account: Account) -> web.Response:
        query = dict(request.query)
        if problem := _unknown(query, ("from", "to")):
            return error(400, "invalid_request", problem)
        days = parse_days(query)
        if isinstance(days, str):
            return error(400, "invalid_request", days)
        since, until = days
        counts = await self.ledger.held_counts(account.system_id, *day_bounds(since, until))
        return json_response({
            "account": account.system_id,
            "from": since.isoformat() if since else None,
            "to": until.isoformat(),
            **{status: counts.get(status, 0) for status in HELD_STATUSES},
        })
