"""The HTTP side: the send API, health, readiness and metrics.

Routes
------

``POST /v1/messages``: send one SMS through the same pipeline as an SMPP submit_sm.
Authenticate with the account's ``api_key``::

    POST /v1/messages
    Authorization: Bearer acme-key
    Content-Type: application/json

    {"to": "+33612345678", "from": "ACME", "text": "Your code is 4711",
     "class": "transactional", "campaign": "otp"}

    202 Accepted
    {"id": "9f2c61d0a4b3e871", "status": "accepted", "class": "transactional",
     "parts": 1, "footer": null}

- ``to`` (required): E.164 (``+33612345678``) or the account's national format
  (``06 12 34 56 78`` for a ``default_region = "FR"`` account). The carrier gets
  the international digits with TON 1 / NPI 1.
- ``text`` (required): any Unicode; GSM 03.38 when it fits, else UCS-2; long
  texts go out as concatenated parts (UDH), ``parts`` says how many.
- ``from`` (optional): ``+`` and up to 15 digits (TON 1 / NPI 1), up to 15
  digits (shortcode or number as the carrier knows it; TON 0 / NPI 1), or an
  alphanumeric sender id of at most 11 GSM characters with at least one
  letter (TON 5 / NPI 0). Missing, null or "": the account's ``shortcode``,
  else the first entry of its ``numbers``, else of its ``senders``; an account
  with none of them must give it. A source that is another account's (see
  ``senders`` in config.toml) is refused 422 ``sender_not_allowed``.
- ``class`` (optional): ``promotional`` or ``transactional``; beats every rule.
  The answer's ``class`` is what the pipeline decided (null while nothing
  classified the message).
- ``campaign`` (optional): a label of at most 64 characters, for the reports.
- Unknown fields are refused (a typo must not pass silently); null counts as absent.

A promotional message held for its recipient's sending window (quiet hours with
``action = "hold"``; gateway/sendtime/held.py) is also 202, once it is in the ledger::

    202 Accepted
    {"id": "9f2c61d0a4b3e871", "status": "held", "due": "2026-11-24T07:00:00Z",
     "class": "promotional", "parts": 0, "footer": null}

``due`` is when the window opens (UTC); ``parts`` and ``footer`` are decided when it is
released. 503 ``held_backlog_full`` refuses one beyond ``policy.held_max_per_account``,
503 ``held_write_failed`` one the ledger could not keep (retry); ``/v1/held`` lists and
cancels them (gateway.http.held).

``id`` is the id the account's receiver binds see in the message's delivery
receipts (``receipted_message_id`` and the ``id:`` field), one receipt per
part, all with this id; receipts wait in the account's queue while no receiver
is bound. ``footer`` is the opt-out footer the policy appended (null: none).

Refusals are JSON ``{"error": code, "detail": text}``::

    401 unauthorized          no/unknown Bearer key (with WWW-Authenticate: Bearer); from
                              the second one of an address on, answered after a delay
    429 too_many_auth_failures  the address sent too many wrong keys: keys not checked
                              (Retry-After), see gateway.http.guard.AuthPacing
    400 invalid_json          the body is not JSON (or not UTF-8)
    400 invalid_request       not an object, a missing/empty/ill-typed field, an unknown field
    400 invalid_source        ``from`` is not a number or a valid alphanumeric id
    400 invalid_destination   ``to`` is not a valid phone number
    400 no_route              no upstream is configured for the destination
    400 text_too_long         more than 255 parts
    408 request_timeout       the body took longer than ``http.body_timeout`` (then a close)
    413 body_too_large        over ``http.max_body_size`` (at once, connection closed, when
                              Content-Length says so)
    429 throttled             over the account's ``tps`` (Retry-After: 1)
    503 upstream_unavailable  no carrier link can take it now (Retry-After: 1); retry
    503 queue_full            too many parts waiting for a carrier window (Retry-After: 1)
    503 too_many_connections  over ``http.max_connections(_per_address)`` (see gateway.http.guard)
    502 carrier_refused       the carrier answered an error status (in ``detail``)
    500 internal_error        a bug; logged, never a stack trace in the answer
    404 not_found, 405 method_not_allowed (with Allow), for any route
    400 bad_request           not HTTP at all (bad request line or header): any path,
                              connection closed (gateway.http.guard)

and a message the opt-out policy blocks is ``422 {"status": "blocked", "reason": ...}``:
``opted_out``, or ``sender_not_allowed`` when ``from`` is another account's sender
(400 ``invalid_source`` is for a ``from`` that is malformed or the carrier refused),
``quiet_hours`` outside the recipient's sending window (with ``retry_after``: when it
next opens, ``"2026-06-10T06:00:00Z"``, or null when not within 14 days) and
``frequency_cap`` over a frequency cap. 503 ``frequency_cap_state_unknown``
(Retry-After: 1) refuses a promotional message whose caps cannot be counted (Redis).
Every answer says ``Server: stopgate`` (no aiohttp version). A client that leaves
while its body is read is logged at INFO (``http_client_left``), never as a failure.

``GET /healthz``: 200 ``{"status": "ok"}`` while the process serves HTTP.
``GET /readyz``: 200 when a carrier session can transmit, Redis answers, the
suppression cache is complete and the ledger commits writes; the same body with
503 otherwise::

    {"ready": false, "redis": true, "suppression_cache": true, "ledger": false,
     "upstreams": {"sim": {"bound": 1, "connecting": 0, "down": 0, "transmitting": 1,
                           "ready": true}},
     "reasons": {"ledger": "disk_full"}}

``reasons`` names why each false part is false: ``redis``: unreachable;
``upstreams``: down, connecting, tls_failed, no_transmitter_bound, none_configured
(an upstream with no bound session also has ``failure``: connect_failed, bind_failed,
tls_<reason>);
``suppression_cache``: rebuilding, redis_unreachable, not_verified; ``ledger``:
locked, disk_full, read_only, io_error, closed, error. Never a secret or a number.
The body also carries ``config_hash`` (this instance's configuration hash) and
``config_hashes`` (each hash live instances sharing its Redis run, and how many run
it; gateway.observability.drift); they never make the answer 503.
``GET /metrics``: Prometheus text format.
``GET /v1/reports/mislabelled`` (operator): the messages each account labelled
transactional although their text carries an offer (forwarded: the explicit class
wins), counted since this start, every worker included -- the JSON view of
``stopgate_mt_offer_as_transactional_total``::

    200 {"accounts": {"acme": 12}, "total": 12}

The operator's routes: with ``http.admin_key`` set, ``/metrics`` needs
``Authorization: Bearer <admin_key>`` (401 otherwise, like a sender route) and
``/readyz`` answers its status code and ``{"ready": ...}`` to anyone but its details
(which upstream, Redis, ledger) only with the key. ``/healthz`` stays open (load
balancers probe it). No account's api_key opens them; the admin key opens no
account's data. Without an admin_key these routes are open, as before: keep the
HTTP port off the internet or set the key.

Keys are never looked up by their own value: accounts are found by the SHA-256 of
the presented key and confirmed with ``hmac.compare_digest``, so neither a dict's
hashing nor ``==`` tells a guesser how much of a key was right.

``/v1/suppressions`` (read, add, remove, import, export): see gateway.http.suppressions.
``/v1/reviews`` (the opt-out review list, decide one): see gateway.http.reviews.
``GET /v1/reports/optouts``: see gateway.http.reports. ``/o/{token}``, the opt-out
landing page (HTML, not JSON): see gateway.http.optout.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

import orjson
from aiohttp import web

from gateway.config.model import Account, Config
from gateway.http.auth import bearer_digest, key_digest
from gateway.http.guard import AuthPacing, GuardedHandler, client_key, real_client
from gateway.http.held import HeldRoutes
from gateway.http.optout import OptoutPages
from gateway.http.reports import ReportRoutes
from gateway.http.responses import (
    MAX_CAMPAIGN,
    MAX_TO_CHARS,
    OWN_BODY_LIMIT,
    Handler,
    error,
    json_errors,
    json_response,
    route_of,
    server_header,
)
from gateway.http.reviews import ReviewRoutes
from gateway.http.suppressions import SuppressionRoutes
from gateway.inbound.reviews import ReviewList
from gateway.instances.counters import SharedCounters
from gateway.ledger.threaded import AsyncLedger
from gateway.limits import TokenBucket
from gateway.message import Message
from gateway.mt.pipeline import FREQUENCY_CAP, QUIET_HOURS, SENDER_NOT_ALLOWED, MtPipeline, MtResult
from gateway.observability.metrics import Metrics
from gateway.sendtime.held import BACKLOG_FULL, WRITE_FAILED, held_answer
from gateway.suppression.store import Suppressions
from rules.numbers import TON_ALPHANUMERIC, TON_INTERNATIONAL, TON_UNKNOWN, normalize
from smpp.constants import CommandStatus
from smpp.gsm import gsm_septets

log = logging.getLogger("stopgate.http")

MAX_TEXT_CHARS = 255 * 67  # the most a 255-part UCS-2 message carries
MAX_ALPHANUMERIC = 11  # GSM 03.40 TP-OA: 11 characters in 7-bit
MAX_DIGITS = 15  # E.164
NPI_ISDN = 1
RETRY_AFTER = {"Retry-After": "1"}
_FIELDS = ("to", "from", "text", "class", "campaign")
_CLASSES = ("promotional", "transactional")

#: How a refused MT reads over HTTP: SMPP status -> (HTTP status, error code, detail).
_HTTP_FOR_STATUS: dict[int, tuple[int, str, str]] = {
    CommandStatus.ESME_RINVDSTADR: (400, "invalid_destination", "'to' is not a valid phone number"),
    CommandStatus.ESME_RINVSRCADR: (400, "invalid_source",
                                    "the carrier refused the 'from' address"),
    CommandStatus.ESME_RINVMSGLEN: (400, "text_too_long", "the text needs more than 255 parts"),
    CommandStatus.ESME_RTHROTTLED: (503, "upstream_unavailable",
                                    "no carrier link can take the message now; retry later"),
    CommandStatus.ESME_RMSGQFUL: (503, "queue_full",
                                  "too many messages wait for the carrier; retry later"),
}
#: Pipeline refusals that say more than their SMPP status (MtResult.reason).
_HTTP_FOR_REASON: dict[str, tuple[int, str, str]] = {
    "NoRoute": (400, "no_route", "no upstream is configured for this destination"),
    # stopgate's own fail-closed refusal: temporary, the sender should retry.
    "suppression_unknown": (503, "suppression_state_unknown",
                            "promotional messages wait until the opt-out state is known; "
                            "retry later (transactional messages are not affected)"),
    # the same for frequency caps that cannot be counted (gateway/sendtime/stage.py)
    "frequency_cap_unknown": (503, "frequency_cap_state_unknown",
                              "promotional messages wait until their frequency caps can be "
                              "counted; retry later (transactional messages are not "
                              "affected)"),
    # a promotional message to hold for its recipient's window that cannot be kept
    BACKLOG_FULL: (503, "held_backlog_full",
                   "the account has as many messages held for their recipients' sending "
                   "window as it may (policy.held_max_per_account); retry once some are "
                   "released, or send later"),
    WRITE_FAILED: (503, "held_write_failed",
                   "the message must be held for its recipient's sending window and the "
                   "ledger could not keep it; retry"),
    "footer_impossible": (400, "invalid_text",
                          "the text cannot carry the opt-out footer its destination requires"),
    "footer_too_long": (400, "text_too_long",
                        "with its opt-out footer the text needs more than 255 parts"),
    # the pipeline caught (and logged) a failure of its own: a bug, never the sender's doing
    "internal": (500, "internal_error", "stopgate failed on this request; see its log"),
}

ACCOUNT = web.AppKey("account_by_key", dict)
Readiness = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]
class HttpApi:
    """Handlers for the sender-facing and ops routes."""

    def __init__(
        self,
        config: Config,
        pipeline: MtPipeline,
        metrics: Metrics,
        buckets: Mapping[str, TokenBucket],
        readiness: Readiness,
        suppressions: Suppressions | None = None,
        ledger: AsyncLedger | None = None,
        counters: SharedCounters | None = None,
        reviews: ReviewList | None = None,
        on_held_cancelled: Callable[[], None] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        #: Told when a campaign's held messages are cancelled (their receipts go out).
        self.on_held_cancelled = on_held_cancelled
        #: The gateway's send-time clock (held messages' leases are taken on it).
        self.clock = clock
        self.config = config
        #: The opt-out review list (/v1/reviews); None: not served.
        self.reviews = reviews
        #: Failed-auth counts shared with the other instances on this Redis.
        self.counters = counters
        self.ledger = ledger
        self.suppressions = suppressions
        self.pipeline = pipeline
        self.metrics = metrics
        self.buckets = buckets
        self.readiness = readiness
        self.accounts = {
            key_digest(account.api_key): account for account in config.accounts if account.api_key
        }
        admin_key = config.http.admin_key
        self.admin_digest = key_digest(admin_key) if admin_key else None
        self.pacing = AuthPacing(config.http)

    def app(self) -> web.Application:
        app = web.Application(
            client_max_size=self.config.http.max_body_size,
            middlewares=[real_client(self.config.http), json_errors, self.declared_size],
        )
        app.on_response_prepare.append(server_header)
        app[OWN_BODY_LIMIT] = set()
        app.router.add_post("/v1/messages", self.send_message)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/metrics", self.prometheus)
        app.router.add_get("/v1/reports/mislabelled", self.mislabelled)
        if self.suppressions is not None:
            SuppressionRoutes(self.authenticate, self.suppressions).register(app)
        if self.reviews is not None:
            ReviewRoutes(self.authenticate, self.reviews).register(app)
        if self.ledger is not None:
            ReportRoutes(self.authenticate, self.ledger).register(app)
            HeldRoutes(self.authenticate, self.ledger, self.on_held_cancelled,
                       self.clock).register(app)
            if self.suppressions is not None:
                OptoutPages(self.config, self.ledger, self.suppressions,
                            counters=self.counters).register(app)
        return app

    @web.middleware
    async def declared_size(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """413 at once, before any byte of the body is read or the key is checked, when
        Content-Length alone says the body is over the route's limit; the connection then
        closes instead of reading the rest."""
        declared = request.content_length
        limit = self.config.http.max_body_size
        if declared is not None and declared > limit:
            routed = request.match_info.http_exception is None  # else its 404/405 answers
            if routed and route_of(request) not in request.app[OWN_BODY_LIMIT]:
                protocol = request.protocol
                if isinstance(protocol, GuardedHandler):
                    protocol.no_linger()
                response = error(413, "body_too_large",
                                 f"Content-Length {declared} is over the limit of {limit} "
                                 "bytes (http.max_body_size)")
                response.force_close()
                return response
        return await handler(request)

    async def authenticate(self, request: web.Request) -> Account | web.Response:
        """The account whose api_key the request carries as a Bearer token, or the answer
        to send instead: 401 (paced), or 429 from a blocked address (gateway.http.guard)."""
        digest = bearer_digest(request)
        address = client_key(request.remote)
        blocked = self._blocked(address, digest)
        if blocked is not None:
            return blocked
        account = self.accounts.get(digest) if digest is not None else None
        if account is None or digest is None or not hmac.compare_digest(
                digest, key_digest(account.api_key)):
            self.metrics.http_unauthorized.labels("sender").inc()
            await self._failed(address)
            return error(401, "unauthorized", "send 'Authorization: Bearer <api_key>'",
                         {"WWW-Authenticate": 'Bearer realm="stopgate"'})
        self.pacing.succeeded(address, digest)
        return account

    async def admin_refusal(self, request: web.Request) -> web.Response | None:
        """None when the request may use the operator's routes (always, without an
        admin_key); else the 401 (paced) or 429 to answer, as for an api_key."""
        if self.admin_digest is None:
            return None
        digest = bearer_digest(request)
        address = client_key(request.remote)
        blocked = self._blocked(address, digest)
        if blocked is not None:
            return blocked
        if digest is not None and hmac.compare_digest(digest, self.admin_digest):
            self.pacing.succeeded(address, digest)
            return None
        await self._failed(address)
        return error(401, "unauthorized", "send 'Authorization: Bearer <http.admin_key>'",
                     {"WWW-Authenticate": 'Bearer realm="stopgate-admin"'})

    def _blocked(self, address: str, digest: bytes | None) -> web.Response | None:
        wait = self.pacing.blocked_for(address, digest, time.monotonic())
        if not wait:
            return None
        self.metrics.http_auth_failures.labels("blocked").inc()
        return error(429, "too_many_auth_failures",
                     "too many wrong API keys from your address: keys are not checked until "
                     "it has sent none for a while; retry after Retry-After seconds",
                     {"Retry-After": str(max(1, math.ceil(wait)))})

    async def _failed(self, address: str) -> None:
        """Count a wrong or missing key and wait before its 401 is answered."""
        # Counted here at once, before Redis answers: requests sent in parallel are
        # blocked by it from the limit on, not all checked while the shared count is asked.
        delay = self.pacing.failed(address, time.monotonic())
        if self.counters is not None:  # None when Redis fails: this instance counts alone
            shared = await self.counters.failure("auth", address,
                                                 self.config.http.failed_auth_window)
            if shared is not None:
                delay = max(delay, self.pacing.shared(address, shared))
        self.metrics.http_auth_failures.labels("delayed" if delay else "at_once").inc()
        if delay:
            await asyncio.sleep(delay)

    async def send_message(self, request: web.Request) -> web.Response:
        """POST /v1/messages: {to, from, text, class?, campaign?} through the MT pipeline."""
        account = await self.authenticate(request)
        if isinstance(account, web.Response):
            return account
        raw = await request.read()  # over client_max_size: HTTPRequestEntityTooLarge -> 413
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return error(400, "invalid_json", f"the body is not JSON: {exc}")
        problem = _check_body(body)
        if problem:
            return error(400, *problem)
        source = _source(body.get("from") or _default_source(account))
        if isinstance(source, str):
            if not body.get("from"):
                source = (f"no 'from' given and account {account.system_id} has no shortcode, "
                          "numbers or senders to send from")
            return error(400, "invalid_source", source)
        now = asyncio.get_running_loop().time()
        if not self.buckets[account.system_id].take(now):
            self.metrics.throttled.labels("account_tps").inc()
            return error(429, "throttled", f"account {account.system_id} is over its tps limit",
                         RETRY_AFTER)
        started = time.perf_counter()
        destination, dest_ton = _destination(body["to"], account.default_region)
        sender, source_ton, source_npi = source
        message = Message.from_text(
            account.system_id,
            source_addr=sender,
            source_addr_ton=source_ton,
            source_addr_npi=source_npi,
            destination_addr=destination,
            dest_addr_ton=dest_ton,
            dest_addr_npi=NPI_ISDN,
            text=body["text"],
            received_at=now,
        )
        message.klass = body.get("class")
        message.campaign = body.get("campaign")
        result = await self.pipeline.submit(message)
        self.metrics.submit_latency.observe(time.perf_counter() - started)
        held = held_answer(result)
        if held is not None:  # kept for the recipient's window: the footer comes then
            return json_response({"id": result.message_id, **held, "class": message.klass,
                                  "parts": 0, "footer": None}, 202)
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
        # The status is public; what is down, and where, only for the admin key. A wrong
        # key here is paced and counted like anywhere, but still gets the public answer.
        if self.admin_digest is not None and (
                "Authorization" not in request.headers
                or await self.admin_refusal(request) is not None):
            details = {}
        return json_response({"ready": ready, **details}, 200 if ready else 503)

    async def operator_refusal(self, request: web.Request) -> web.Response | None:
        """:meth:`admin_refusal` for an operator route, its 401s counted."""
        refusal = await self.admin_refusal(request)
        if refusal is not None and refusal.status == 401:
            self.metrics.http_unauthorized.labels("admin").inc()
        return refusal

    async def prometheus(self, request: web.Request) -> web.Response:
        if (refusal := await self.operator_refusal(request)) is not None:
            return refusal
        return web.Response(
            body=self.metrics.render(), content_type="text/plain", charset="utf-8",
            headers={"X-Content-Type-Options": "nosniff"},
        )

    async def mislabelled(self, request: web.Request) -> web.Response:
        """GET /v1/reports/mislabelled (operator): see the module docstring."""
        if (refusal := await self.operator_refusal(request)) is not None:
            return refusal
        counts = self.metrics.counts("stopgate_mt_offer_as_transactional", "account")
        accounts = {account: n for account, n in sorted(counts.items()) if n}
        return json_response({"accounts": accounts, "total": sum(accounts.values())})


def _default_source(account: Account) -> str:
    """The source of a message without ``from``: the shortcode, else the first of
    ``numbers``, else the first of ``senders`` (always one the account may use)."""
    return account.shortcode or next(iter(account.numbers), "") \
        or next(iter(account.senders), "")


def _refusal(result: MtResult) -> web.Response:
    if result.reason == "blocked":
        return json_response({"status": "blocked", "reason": "opted_out"}, 422)
    if result.reason == SENDER_NOT_ALLOWED:
        return json_response({"status": "blocked", "reason": SENDER_NOT_ALLOWED}, 422)
    if result.reason == QUIET_HOURS:
        retry_after = result.retry_after
        return json_response({"status": "blocked", "reason": QUIET_HOURS, "retry_after": (
            retry_after.strftime("%Y-%m-%dT%H:%M:%SZ") if retry_after is not None else None)},
            422)
    if result.reason == FREQUENCY_CAP:
        return json_response({"status": "blocked", "reason": FREQUENCY_CAP}, 422)
    known = _HTTP_FOR_REASON.get(result.reason) or _HTTP_FOR_STATUS.get(result.status)
    if known is None:
        return error(502, "carrier_refused",
                     f"refused with SMPP status 0x{result.status:08X} ({result.reason})")
    status, code, detail = known
    return error(status, code, detail, RETRY_AFTER if status == 503 else None)


def _destination(to: str, region: str) -> tuple[str, int]:
    """The carrier-facing recipient: international digits (TON 1) when ``to`` is valid.

    An invalid one goes on as written (TON 0) for the pipeline's normalise stage to
    refuse, so it is counted like any other refused MT.
    """
    number = normalize(to, TON_UNKNOWN, region)
    if number is None:
        return to, TON_UNKNOWN
    return number.e164.removeprefix("+"), TON_INTERNATIONAL


def _source(sender: str) -> tuple[str, int, int] | str:
    """(source_addr, TON, NPI) for a ``from`` value, or what is wrong with it."""
    if not sender:
        return "'from' is empty"
    if sender.startswith("+"):
        digits = sender[1:]
        if not (digits.isascii() and digits.isdigit() and len(digits) <= MAX_DIGITS):
            return f"'from' {sender!r}: after '+' come 1 to {MAX_DIGITS} digits"
        return digits, TON_INTERNATIONAL, NPI_ISDN
    if sender.isascii() and sender.isdigit():
        if len(sender) > MAX_DIGITS:
            return f"'from' {sender!r}: a number has at most {MAX_DIGITS} digits"
        return sender, TON_UNKNOWN, NPI_ISDN
    if len(sender) > MAX_ALPHANUMERIC:
        return (f"'from' {sender!r}: an alphanumeric sender id has at most "
                f"{MAX_ALPHANUMERIC} characters ({len(sender)} given)")
    if gsm_septets(sender) != len(sender) or not any(c.isalpha() for c in sender):
        return (f"'from' {sender!r}: an alphanumeric sender id has at least one letter and only "
                "characters of the GSM 03.38 default alphabet")
    return sender, TON_ALPHANUMERIC, 0


def _check_body(body: Any) -> tuple[str, str] | None:
    """(error code, detail) for what is wrong with a send request, or None."""
    if not isinstance(body, dict):
        return "invalid_request", "expected a JSON object {to, from, text, class?, campaign?}"
    unknown = sorted(set(body) - set(_FIELDS))
    if unknown:
        return "invalid_request", (f"unknown field(s) {', '.join(unknown)}; "
                                   f"expected {', '.join(_FIELDS)}")
    for name in ("to", "text"):
        if not isinstance(body.get(name), str) or not body[name].strip():
            return "invalid_request", f"'{name}' must be a non-empty string"
    if body.get("from") is not None and not isinstance(body["from"], str):
        return "invalid_source", "'from' must be a string"
    if len(body["to"]) > MAX_TO_CHARS:
        return "invalid_destination", f"'to' is at most {MAX_TO_CHARS} characters"
    if len(body["text"]) > MAX_TEXT_CHARS:
        return "text_too_long", f"'text' is at most {MAX_TEXT_CHARS} characters"
    klass = body.get("class")
    if klass is not None and (not isinstance(klass, str) or klass not in _CLASSES):
        return "invalid_request", f"'class' must be one of {', '.join(_CLASSES)}, got {klass!r}"
    campaign = body.get("campaign")
    if campaign is not None and (not isinstance(campaign, str) or len(campaign) > MAX_CAMPAIGN):
        return "invalid_request", f"'campaign' is a string of at most {MAX_CAMPAIGN} characters"
    return None
