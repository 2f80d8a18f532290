"""The opt-out landing page behind the ``{url}`` footer link: what a recipient sees.

Routes (HTML, never JSON; also under ``/{token}`` and ``/{token}/reason``, so a short
domain in ``optout.base_url`` may point straight at stopgate instead of through a
proxy that maps it to ``/o/``)::

    GET  /o/{token}          the page: who writes (the account's display_name), what the
                             recipient leaves (its marketing messages), one confirm
                             button. Never opts out: link scanners and previews fetch it.
    HEAD /o/{token}          what GET answers (status and headers), without the body:
                             mail and chat scanners probe links this way.
    POST /o/{token}          csrf=...: opts (account, number) out with source "link" and
                             the token's campaign, durable in the ledger and effective in
                             the cache before the answer; the answer offers a reason.
    POST /o/{token}/reason   csrf, event, reason (never_subscribed | too_many |
                             not_relevant | other), text (free, at most 200 characters,
                             stored as "other: <text>"): stored on the opt-out event;
                             when that was a repeat (opted out already, by a STOP say),
                             also on the opt-out in force if it has no reason yet, so
                             reports and its webhook, if not sent yet, carry it
                             (``Ledger.set_reason``).

Language: the recipient's country (region of the number) picks it (FR fr, ES es,
DE/AT/CH de, IT it, NL/BE nl, ... else en); a supported language in the browser's
Accept-Language (by q, first one wins) overrides it. EN, FR, ES, DE, IT, NL
(gateway.http.optout_text). Pages are pre-rendered per language at start; a request only
fills in the name, the token and the form's fields. No script, no external asset;
CSP ``default-src 'none'``, not framable (a one-click page must not be clickjacked),
``Cache-Control: no-store``.

CSRF: each form carries ``csrf = "<issued>.<mac>"``, ``mac`` = HMAC-SHA256(secret,
purpose | token | event | issued), valid ``CSRF_TTL`` seconds; the reason form's MAC
also binds the event id, so only the event the recipient just created can be given
a reason. The secret is 32 random bytes made at first start and kept in the ledger
(``ledger_meta`` key ``optout_secret``): every instance on one ledger shares it, and
pages issued before a restart stay valid. When the POST has an ``Origin`` (or else a
``Referer``), its host must be the request's Host or ``optout.base_url``'s host.
A missing, forged or old field: 403 with a link back to the page. A form no page of
ours sent (a body that does not decode as a form, a ``csrf`` or ``event`` field of
the wrong shape, such as non-ASCII characters): 400, the localised "form could not be
read" page with the same link, logged at INFO without a traceback; nothing changes.

Unknown or malformed tokens: 404, the same page whatever the token, saying nothing
about numbers. Guessing is limited per client address (IPv6: per /64): only unknown
tokens count (GET, HEAD or POST alike; a real token never does), and after
``GUESS_BURST`` unknown tokens (refilled at ``GUESS_BURST`` a minute) every request
from that address, known token or not, is answered 429 with Retry-After after a
short delay, so a guesser learns nothing more. Addresses are kept in an LRU of
``GUESS_ADDRESSES`` entries. The address is ``request.remote``: the TCP peer's, or
behind a load balancer the client its PROXY header names (``http.proxy_protocol``),
or behind an L7 proxy listed in ``http.trusted_proxies`` the client its
X-Forwarded-For names (gateway.http.guard.real_client); X-Forwarded-For from anyone
else is ignored (anyone can send it).

A form body over ``http.max_body_size`` (413) or arriving slower than
``http.body_timeout`` (408) is answered as on every route, in JSON: no recipient's
browser sends either, so nobody is owed a page.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import html
import logging
import math
import re
import secrets
import string
import time
from collections import OrderedDict
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from gateway.config.model import Config
from gateway.config.values import base_url_host
from gateway.http.guard import client_key
from gateway.http.optout_text import LANGUAGE_OF_REGION, LANGUAGES, TEXT
from gateway.http.responses import Handler, client_gone, route_of
from gateway.instances.counters import SharedCounters
from gateway.ledger.model import REASONS, TOKEN_RE, TokenInfo
from gateway.ledger.threaded import AsyncLedger
from gateway.observability.logs import fields
from gateway.suppression.store import Suppressions
from rules.numbers import normalize

log = logging.getLogger("stopgate.optout")

CSRF_TTL = 3600  # seconds a page's form stays valid
_CLOCK_SKEW = 300  # instances' clocks may differ this much
GUESS_BURST = 20  # unknown tokens an address may try at once, and per minute after
GUESS_ADDRESSES = 50_000  # addresses remembered (LRU)
GUESS_DELAY = 0.05  # seconds a 429 answer waits
MAX_REASON_TEXT = 200
SECRET_KEY = "optout_secret"
#: New tokens (9 base62 characters) and those of links sent before them (12 base64url).
_TOKEN_PATTERN = "{token:[A-Za-z0-9]{9}|[A-Za-z0-9_-]{12}}"
#: What a form field of ours can look like; anything else is a malformed form (400).
_CSRF_SHAPE = re.compile(r"[0-9]{1,12}\.[A-Za-z0-9_-]{1,64}")
_EVENT_SHAPE = re.compile(r"[0-9]{1,18}")

_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

_STYLE = (
    "body{margin:0;font:1.0625rem/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
    "color:#1a1a1a;background:#f4f4f4}"
    "main{max-width:32rem;margin:2rem auto;padding:1.5rem;background:#fff;"
    "border-radius:.5rem;box-shadow:0 1px 3px rgba(0,0,0,.15)}"
    "h1{font-size:1.5rem;line-height:1.25;margin:0 0 1rem}"
    "p{margin:0 0 1rem}.note{color:#454545;font-size:.95rem}"
    "button{font:inherit;font-weight:600;color:#fff;background:#0b57d0;border:0;"
    "border-radius:.375rem;padding:.75rem 1.5rem;min-height:44px;cursor:pointer}"
    "button:hover{background:#0842a0}"
    "button:focus-visible,input:focus-visible,textarea:focus-visible,a:focus-visible"
    "{outline:3px solid #1a1a1a;outline-offset:2px}"
    "fieldset{border:0;padding:0;margin:0 0 1rem}legend{font-weight:600;margin-bottom:.5rem}"
    ".choice{display:flex;gap:.5rem;align-items:center;min-height:44px}"
    "textarea{box-sizing:border-box;width:100%;font:inherit;padding:.5rem;"
    "border:1px solid #6b6b6b;border-radius:.25rem}"
    "label.block{display:block;margin:.5rem 0 .25rem}a{color:#0b57d0}"
)

Page = tuple[int, string.Template]


def _page(lang: str, title: str, body: str) -> string.Template:
    words = TEXT[lang]
    document = (
        f'<!doctype html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="robots" content="noindex,nofollow">'
        f"<title>{html.escape(words[title])}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )
    return string.Template(document)


def _say(lang: str, key: str) -> str:
    """A phrase, HTML-escaped, with ``{name}`` left as the template's ``$name``."""
    escaped = html.escape(TEXT[lang][key]).replace("$", "$$")
    return escaped.replace("{name}", "$name")


def _render(lang: str) -> dict[str, string.Template]:
    s = {key: _say(lang, key) for key in TEXT[lang]}
    reasons = "".join(
        f'<div class="choice"><input type="radio" id="r-{code}" name="reason" value="{code}">'
        f'<label for="r-{code}">{s[code]}</label></div>'
        for code in REASONS
    )
    return {
        "confirm": _page(lang, "title", (
            f"<h1>{s['heading']}</h1><p>{s['intro']}</p><p class=\"note\">{s['keeps']}</p>"
            '<form method="post"><input type="hidden" name="csrf" value="$csrf">'
            f'<button type="submit">{s["confirm"]}</button></form>')),
        "done": _page(lang, "done_title", (
            f"<h1>{s['done_title']}</h1><p>{s['done']}</p>"
            '<form method="post" action="$token/reason">'
            '<input type="hidden" name="csrf" value="$csrf">'
            '<input type="hidden" name="event" value="$event">'
            f"<fieldset><legend>{s['why']}</legend>{reasons}</fieldset>"
            f'<label class="block" for="text">{s["other_text"]}</label>'
            f'<textarea id="text" name="text" rows="3" maxlength="{MAX_REASON_TEXT}">'
            "</textarea>"
            f'<p></p><button type="submit">{s["send"]}</button></form>')),
        "thanks": _page(lang, "thanks_title",
                        f"<h1>{s['thanks_title']}</h1><p>{s['thanks']}</p>"),
        "missing": _page(lang, "missing_title",
                         f"<h1>{s['missing_title']}</h1><p>{s['missing']}</p>"),
        "expired": _page(lang, "expired_title", (
            f"<h1>{s['expired_title']}</h1><p>{s['expired']}</p>"
            f'<p><a href="$again">{s["again"]}</a></p>')),
        "invalid": _page(lang, "invalid_title", (
            f"<h1>{s['invalid_title']}</h1><p>{s['invalid']}</p>"
            f'<p><a href="$again">{s["again"]}</a></p>')),
        "slow": _page(lang, "slow_title", f"<h1>{s['slow_title']}</h1><p>{s['slow']}</p>"),
        "failed": _page(lang, "failed_title",
                        f"<h1>{s['failed_title']}</h1><p>{s['failed']}</p>"),
    }


#: Every page in every language, rendered once at import.
PAGES: dict[str, dict[str, string.Template]] = {lang: _render(lang) for lang in LANGUAGES}


def pick_language(accept_language: str, region: str | None) -> str:
    """The first supported language of Accept-Language (by q), else the region's, else en."""
    tags: list[tuple[float, int, str]] = []
    for index, item in enumerate(accept_language.split(",")[:20]):
        tag, _, params = item.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().split("-")[0].lower()
        if q > 0 and primary in TEXT:
            tags.append((-q, index, primary))
    if tags:
        return min(tags)[2]
    return LANGUAGE_OF_REGION.get(region or "", "en")


#: The guessing limit's kind in the shared counters (gateway.instances.counters).
GUESSES = "guess"


class GuessLimiter:
    """Unknown tokens per client address: a token bucket each, in a bounded LRU."""

    def __init__(self, burst: int = GUESS_BURST, per_minute: int = GUESS_BURST,
                 size: int = GUESS_ADDRESSES) -> None:
        self.burst = burst
        self.rate = per_minute / 60.0
        self.size = size
        self._buckets: OrderedDict[str, list[float]] = OrderedDict()

    def _level(self, address: str, now: float) -> list[float] | None:
        bucket = self._buckets.get(address)
        if bucket is not None:
            bucket[0] = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
            bucket[1] = now
        return bucket

    def take(self, address: str, now: float) -> float:
        """Charge ``address`` one guess before looking its token up: 0 if it may ask
        now, else the seconds until it may again (nothing charged). Charging first
        keeps concurrent requests from all passing one check before any is counted."""
        bucket = self._level(address, now)
        if bucket is None:
            bucket = self._buckets[address] = [float(self.burst), now]
            if len(self._buckets) > self.size:
                self._buckets.popitem(last=False)
        if bucket[0] < 1:
            return (1 - bucket[0]) / self.rate
        self._buckets.move_to_end(address)
        bucket[0] -= 1
        return 0.0

    def refund(self, address: str) -> None:
        """The token was a real one: the guess charged for it is given back."""
        bucket = self._buckets.get(address)
        if bucket is not None:
            bucket[0] = min(self.burst, bucket[0] + 1)




class OptoutPages:
    """The /o/{token} routes of one gateway (see the module docstring)."""

    def __init__(self, config: Config, ledger: AsyncLedger, suppressions: Suppressions, *,
                 counters: SharedCounters | None = None) -> None:
        self.config = config
        #: The guessing limit shared with the other instances on this Redis.
        self.counters = counters
        self.ledger = ledger
        self.suppressions = suppressions
        self.names = {account.system_id: html.escape(account.display_name)
                      for account in config.accounts}
        base_host = base_url_host(config.optout.base_url)
        self.base_hosts = frozenset({base_host} if base_host else ())
        self.limiter = GuessLimiter()
        self.secret = b""

    def register(self, app: web.Application) -> None:
        app.on_startup.append(self._load_secret)
        for prefix in ("/o/", "/"):
            page = app.router.add_resource(prefix + _TOKEN_PATTERN)
            page.add_route("GET", self._html(self.show))
            page.add_route("HEAD", self._html(self.show))  # the same answer, no body
            page.add_route("POST", self._html(self.confirm))
            app.router.add_post(prefix + _TOKEN_PATTERN + "/reason", self._html(self.reason))
        app.router.add_route("*", "/o/{anything:.*}", self._html(self.malformed))

    async def _load_secret(self, app: web.Application) -> None:
        value = await self.ledger.meta_value(SECRET_KEY, secrets.token_hex(32))
        self.secret = bytes.fromhex(value)

    # --- plumbing ---------------------------------------------------------------------

    def _html(self, handler: Handler) -> Handler:
        """The handler behind the guessing limit, failures as an HTML 503 (never JSON)."""

        async def guarded(request: web.Request) -> web.StreamResponse:
            lang = pick_language(request.headers.get("Accept-Language", ""), None)
            address = client_key(request.remote)
            wait = self.limiter.take(address, time.monotonic())
            if not wait and self.counters is not None:  # None: Redis failed, local alone
                wait = await self.counters.take(GUESSES, address, self.limiter.burst,
                                                self.limiter.rate) or 0.0
            if wait:
                await asyncio.sleep(GUESS_DELAY)
                return _respond(PAGES[lang]["slow"], 429,
                                {"Retry-After": str(max(1, math.ceil(wait)))})
            try:
                return await handler(request)
            except web.HTTPException:
                raise  # 413, 408 from reading the body: answered like on every route
            except ConnectionError:
                if not client_gone(request):
                    raise  # not the browser's doing: json_errors logs it as a failure
                # The browser left mid-body: nobody to answer, nothing was changed.
                log.info("opt-out page: the client left before its request was read",
                         extra=fields("http_client_left", method=request.method,
                                      route=route_of(request)))
                return _respond(PAGES[lang]["failed"], 400)
            except Exception:
                # Not the path: it holds the recipient's token, which opts them out.
                log.exception("opt-out page failed", extra=fields(
                    "optout_page_failed", method=request.method))
                return _respond(PAGES[lang]["failed"], 503, {"Retry-After": "60"})

        return guarded

    async def _resolve(self, request: web.Request) -> tuple[TokenInfo, str] | web.Response:
        """(what the token stands for, page language), or the 404 page (the guess stays
        charged; a real token's is refunded)."""
        token = request.match_info.get("token", "")
        info = None
        if TOKEN_RE.fullmatch(token):
            info = await self.ledger.resolve_token(token)
        if info is None:
            return self._missing(request)
        address = client_key(request.remote)
        self.limiter.refund(address)
        if self.counters is not None:
            await self.counters.refund(GUESSES, address, self.limiter.burst, self.limiter.rate)
        number = normalize(info.number)
        lang = pick_language(request.headers.get("Accept-Language", ""),
                             number.region if number is not None else None)
        return info, lang

    def _missing(self, request: web.Request) -> web.Response:
        lang = pick_language(request.headers.get("Accept-Language", ""), None)
        return _respond(PAGES[lang]["missing"], 404)

    def _name(self, info: TokenInfo) -> str:
        return self.names.get(info.account) or html.escape(info.account)

    def csrf(self, purpose: str, token: str, event: int | str = "",
             issued: int | None = None) -> str:
        issued = int(time.time()) if issued is None else issued
        message = f"{purpose}|{token}|{event}|{issued}".encode()
        mac = hmac.new(self.secret, message, hashlib.sha256).digest()
        return f"{issued}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"

    def _csrf_ok(self, value: str, purpose: str, token: str, event: int | str = "") -> bool:
        issued_text, _, _ = value.partition(".")
        if not issued_text.isascii() or not issued_text.isdigit() or len(issued_text) > 12:
            return False
        issued = int(issued_text)
        age = time.time() - issued
        if not -_CLOCK_SKEW <= age <= CSRF_TTL:
            return False
        expected = self.csrf(purpose, token, event, issued)
        return hmac.compare_digest(value.encode(), expected.encode())  # str: ASCII only

    def _same_site(self, request: web.Request) -> bool:
        """Origin (else Referer), when the browser sends one, names this site."""
        origin = request.headers.get("Origin")
        if origin is None or origin == "null":
            origin = request.headers.get("Referer")
        if not origin:
            return True  # old browsers, privacy settings: the CSRF field decides alone
        try:
            host = urlsplit(origin).netloc.lower()
        except ValueError:  # "http://[": not a URL any browser sends
            return False
        return host == request.host.lower() or host in self.base_hosts

    def _expired(self, request: web.Request, lang: str, token: str) -> web.Response:
        again = request.path.removesuffix("/reason")  # the page itself, /o/ or not
        return _respond(PAGES[lang]["expired"], 403, again=html.escape(again))

    def _invalid(self, request: web.Request, lang: str) -> web.Response:
        """400: a form no page of ours sent (undecodable, or a field of the wrong shape)."""
        again = request.path.removesuffix("/reason")
        log.info("opt-out form refused as malformed", extra=fields(
            "optout_form_malformed", method=request.method))
        return _respond(PAGES[lang]["invalid"], 400, again=html.escape(again))

    async def _form(self, request: web.Request, lang: str,
                    names: tuple[str, ...]) -> tuple[str | None, ...] | web.Response:
        """The named fields of the posted form (None: absent), or the 400 page when the
        body cannot be read as a form or a field is not text our pages could have sent."""
        try:
            form = await request.post()
        except (ValueError, LookupError, HttpProcessingError):  # encoding, charset, multipart
            return self._invalid(request, lang)
        values: list[str | None] = []
        for name in names:
            value = form.get(name)
            if value is not None and not isinstance(value, str):
                return self._invalid(request, lang)  # a file upload where text belongs
            values.append(value)
        return tuple(values)

    # --- handlers ---------------------------------------------------------------------

    async def show(self, request: web.Request) -> web.Response:
        resolved = await self._resolve(request)
        if isinstance(resolved, web.Response):
            return resolved
        info, lang = resolved
        token = request.match_info["token"]
        return _respond(PAGES[lang]["confirm"], 200, name=self._name(info),
                        csrf=self.csrf("optout", token))

    async def confirm(self, request: web.Request) -> web.Response:
        resolved = await self._resolve(request)
        if isinstance(resolved, web.Response):
            return resolved
        info, lang = resolved
        token = request.match_info["token"]
        form = await self._form(request, lang, ("csrf",))
        if isinstance(form, web.Response):
            return form
        (csrf,) = form
        if csrf is not None and not _CSRF_SHAPE.fullmatch(csrf):
            return self._invalid(request, lang)
        if (csrf is None or not self._same_site(request)
                or not self._csrf_ok(csrf, "optout", token)):
            return self._expired(request, lang, token)
        event = await self.suppressions.optout(info.account, info.number, source="link",
                                               campaign=info.campaign,
                                               user_agent=user_agent(request))
        assert event.id is not None
        return _respond(PAGES[lang]["done"], 200, name=self._name(info), token=token,
                        event=str(event.id), csrf=self.csrf("reason", token, event.id))

    async def reason(self, request: web.Request) -> web.Response:
        resolved = await self._resolve(request)
        if isinstance(resolved, web.Response):
            return resolved
        _info, lang = resolved
        token = request.match_info["token"]
        form = await self._form(request, lang, ("csrf", "event", "reason", "text"))
        if isinstance(form, web.Response):
            return form
        csrf, event, reason, text = form
        if ((csrf is not None and not _CSRF_SHAPE.fullmatch(csrf))
                or (event is not None and not _EVENT_SHAPE.fullmatch(event))):
            return self._invalid(request, lang)
        if (csrf is None or event is None or not self._same_site(request)
                or not self._csrf_ok(csrf, "reason", token, int(event))):
            return self._expired(request, lang, token)
        code = reason if isinstance(reason, str) and reason in REASONS else None
        free = " ".join(text.split())[:MAX_REASON_TEXT] if isinstance(text, str) else ""
        free = "".join(c for c in free if c.isprintable())
        if free and code in (None, "other"):
            code = f"other: {free}"
        if code is not None:
            await self.ledger.set_reason(int(event), code)
        return _respond(PAGES[lang]["thanks"], 200)

    async def malformed(self, request: web.Request) -> web.Response:
        """Anything else under /o/: the same 404 as an unknown token (charged as one)."""
        return self._missing(request)


#: The most of a User-Agent header kept as evidence.
MAX_USER_AGENT = 512


def user_agent(request: web.Request) -> str | None:
    """The browser's User-Agent as evidence of the opt-out (None when it sent none);
    control characters dropped, at most MAX_USER_AGENT characters."""
    text = request.headers.get("User-Agent", "")
    text = "".join(c for c in text if c.isprintable())[:MAX_USER_AGENT]
    return text or None


def _respond(page: string.Template, status: int, headers: dict[str, str] | None = None,
             **fields: str) -> web.Response:
    body = page.substitute(fields) if fields else page.safe_substitute()
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8",
                        headers={**_HEADERS, **(headers or {})})
