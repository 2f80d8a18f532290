"""API keys: how a request names its account."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Awaitable, Callable

from aiohttp import web

from gateway.config.model import Account
from gateway.http.responses import Handler, error, route_of
from gateway.ledger.model import LedgerError
from gateway.observability.logs import fields

log = logging.getLogger("stopgate.http")

#: Finds a request's account, or answers it (401, 429) when it has none.
Authenticate = Callable[[web.Request], Awaitable[Account | web.Response]]
#: A route's handler once its account is known.
AccountHandler = Callable[[web.Request, Account], Awaitable[web.StreamResponse]]


def ledger_guarded(authenticate: Authenticate, handler: AccountHandler, *, what: str,
                   unchanged: str) -> Handler:
    """``handler`` behind the Bearer check, a ledger failure answered 503
    ``ledger_unavailable`` (Retry-After: 1) and logged as ``what`` failing; ``unchanged``
    tells the client what the failure left as it was."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        account = await authenticate(request)
        if isinstance(account, web.Response):
            return account
        try:
            return await handler(request, account)
        except (LedgerError, sqlite3.Error) as exc:
            log.error("%s: ledger failed", what, extra=fields(
                "ledger_failed", account=account.system_id, method=request.method,
                route=route_of(request), error=str(exc)))
            return error(503, "ledger_unavailable",
                         f"the ledger cannot be used now; {unchanged}; retry",
                         {"Retry-After": "1"})

    return guarded


def key_digest(api_key: str) -> bytes:
    # Accounts are found by a digest of the key, so the lookup time says nothing about
    # how much of a guessed key was right.
    return hashlib.sha256(api_key.encode()).digest()


def bearer_digest(request: web.Request) -> bytes | None:
    """The SHA-256 of the request's Bearer token; None when it carries none."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        return None
    return key_digest(key)
