"""The HTTP side: the send API, health, readiness and metrics.

Errors are JSON ``{"error": code, "detail": text}`` with the matching status,
whatever raised them (aiohttp's own 404/405/413 included).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from aiohttp import web

from gateway.config import Account, Config
from gateway.message import Message
from gateway.metrics import Metrics
from gateway.mt import MtPipeline, MtResult
from gateway.token_bucket import TokenBucket
from smpp.constants import CommandStatus
from smpp.gsm import UnencodableError

log = logging.getLogger("stopgate.http")

S = CommandStatus
MAX_TEXT_CHARS = 255 * 67  # the most a 255-part UCS-2 message carries
MAX_CAMPAIGN = 64
_CLASSES = ("promotional", "transactional")

#: How a refused MT reads over HTTP: SMPP status -> (HTTP status, error code).
_HTTP_FOR_STATUS: dict[int, tuple[int, str]] = {
    S.ESME_RINVDSTADR: (400, "invalid_destination"),
    S.ESME_RINVSRCADR: (400, "invalid_source"),
    S.ESME_RINVMSGLEN: (400, "text_too_long"),
    S.ESME_RTHROTTLED: (429, "throttled"),
    S.ESME_RMSGQFUL: (429, "queue_full"),
}

ACCOUNT = web.AppKey("account_by_key", dict)
Readiness = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]


def json_response(body: Mapping[str, Any], status: int = 200) -> web.Response:
    return web.Response(
        body=orjson.dumps(body), status=status, content_type="application/json"
    )


def error(status: int, code: str, detail: str) -> web.Response:
    return json_response({"error": code, "detail": detail}, status)


def _key_digest(api_key: str) -> bytes:
    # Accounts are found by a digest of the key, so the lookup time says nothing about
    # how much of a guessed key was right.
    return hashlib.sha256(api_key.encode()).digest()


@web.middleware
async def json_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Every error as JSON, including aiohttp's own (413, 404, 405)."""
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge as exc:
        return error(413, "body_too_large", exc.text or "request body too large")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error(exc.status, exc.reason.lower().replace(" ", "_"), exc.text or exc.reason)


class HttpApi:
    """Handlers for the sender-facing and ops routes."""

    def __init__(
        self,
        config: Config,
        pipeline: MtPipeline,
        metrics: Metrics,
        buckets: Mapping[str, TokenBucket],
        readiness: Readiness,
    ) -> None:
        self.config = config
        self.pipeline = pipeline
        self.metrics = metrics
        self.buckets = buckets
        self.readiness = readiness
        self.accounts = {
            _key_digest(account.api_key): account for account in config.accounts if account.api_key
        }

    def app(self) -> web.Application:
        app = web.Application(
            client_max_size=self.config.http.max_body_size, middlewares=[json_errors]
        )
        app.router.add_post("/v1/messages", self.send_message)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/metrics", self.prometheus)
        return app

    def authenticate(self, request: web.Request) -> Account | None:
        header = request.headers.get("Authorization", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return None
        return self.accounts.get(_key_digest(key.strip()))

    async def send_message(self, request: web.Request) -> web.Response:
        """POST /v1/messages: {to, from, text, class?, campaign?} through the MT pipeline."""
        account = self.authenticate(request)
        if account is None:
            return error(401, "unauthorized", "send 'Authorization: Bearer <api_key>'")
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError as exc:
            return error(400, "invalid_json", f"the body is not JSON: {exc}")
        problem = _check_body(body)
        if problem:
            return error(400, "invalid_request", problem)
        now = asyncio.get_running_loop().time()
        if not self.buckets[account.system_id].take(now):
            self.metrics.throttled.labels("account_tps").inc()
            return error(429, "throttled", f"account {account.system_id} is over its tps limit")
        started = time.perf_counter()
        sender = body.get("from") or account.shortcode or (account.numbers or ("",))[0]
        try:
            message = Message.from_text(
                account.system_id,
                source_addr=sender,
                source_addr_ton=_source_ton(sender),
                source_addr_npi=0 if _source_ton(sender) == 5 else 1,
                destination_addr=body["to"],
                dest_addr_ton=1 if body["to"].startswith("+") else 0,
                text=body["text"],
                received_at=now,
            )
        except UnencodableError as exc:  # pragma: no cover - UCS-2 encodes every str
            return error(400, "invalid_text", str(exc))
        message.klass = body.get("class")
        message.campaign = body.get("campaign")
        result = await self.pipeline.submit(message)
        self.metrics.submit_latency.observe(time.perf_counter() - started)
        if result.ok:
            return json_response(
                {
                    "id": result.message_id,
                    "status": "accepted",
                    "class": message.klass,
                    "parts": result.parts,
                    "footer": message.notes.get("footer"),
                },
                202,
            )
        return _refusal(result)

    async def healthz(self, request: web.Request) -> web.Response:
        return json_response({"status": "ok"})

    async def readyz(self, request: web.Request) -> web.Response:
        ready, details = await self.readiness()
        return json_response({"ready": ready, **details}, 200 if ready else 503)

    async def prometheus(self, request: web.Request) -> web.Response:
        return web.Response(
            body=self.metrics.render(), content_type="text/plain", charset="utf-8",
            headers={"X-Content-Type-Options": "nosniff"},
        )


def _refusal(result: MtResult) -> web.Response:
    if result.reason == "blocked":
        return json_response({"status": "blocked", "reason": result.reason}, 422)
    status, code = _HTTP_FOR_STATUS.get(result.status, (502, "carrier_refused"))
    detail = f"refused with SMPP status 0x{result.status:08X} ({result.reason or code})"
    return error(status, code, detail)


def _source_ton(sender: str) -> int:
    if any(c.isalpha() for c in sender):
        return 5  # alphanumeric
    return 1 if sender.startswith("+") else 0


def _check_body(body: Any) -> str:
    """What is wrong with a send request, or "" when nothing is."""
    if not isinstance(body, dict):
        return "expected a JSON object {to, from, text, class?, campaign?}"
    unknown = sorted(set(body) - {"to", "from", "text", "class", "campaign"})
    if unknown:
        return f"unknown field(s) {', '.join(unknown)}; expected to, from, text, class, campaign"
    for name in ("to", "text"):
        if not isinstance(body.get(name), str) or not body[name].strip():
            return f"'{name}' must be a non-empty string"
    if "from" in body and not isinstance(body["from"], str):
        return "'from' must be a string"
    if len(body.get("from") or "") > 20:
        return "'from' is at most 20 characters (SMPP source_addr)"
    if len(body["to"]) > 20:
        return "'to' is at most 20 characters"
    if len(body["text"]) > MAX_TEXT_CHARS:
        return f"'text' is at most {MAX_TEXT_CHARS} characters"
    if body.get("class") is not None and body["class"] not in _CLASSES:
        return f"'class' must be one of {', '.join(_CLASSES)}, got {body['class']!r}"
    campaign = body.get("campaign")
    if campaign is not None and (not isinstance(campaign, str) or len(campaign) > MAX_CAMPAIGN):
        return f"'campaign' must be a string of at most {MAX_CAMPAIGN} characters"
    return ""
