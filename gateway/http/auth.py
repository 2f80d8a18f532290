"""API keys: how a request names its account."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

from aiohttp import web

from gateway.config.model import Account

#: Finds a request's account, or answers it (401, 429) when it has none.
Authenticate = Callable[[web.Request], Awaitable[Account | web.Response]]


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
