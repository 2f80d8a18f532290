"""The suppression management API: one number at a time, bulk CSV import, CSV export.

Every route takes the caller's ``Authorization: Bearer <api_key>`` and works on
that account's own scope (its ``system_id``). Numbers in the path may be in any
format ``POST /v1/messages`` takes for ``to``: E.164 (``+33612345678``, URL-encode
the ``+`` as ``%2B`` or leave it, aiohttp keeps a literal ``+`` in a path),
international with ``00``, international digits, or national format read with
the account's ``default_region``; spaces, dashes, dots and brackets are ignored.
Every format of one number is the same entry.

``GET /v1/suppressions/{number}``
    200 ``{"number": "+33612345678", "suppressed": true, "scopes": ["*", "acme"]}``:
    ``scopes`` are the ones that block this account's promotional messages to the
    number: its own and ``"*"`` (operator-wide); other accounts' are never shown.
``PUT /v1/suppressions/{number}``
    Opt-out (source ``api``); optional JSON body ``{"reason": str, "campaign": str}``
    (each at most 64 characters). Durable in the ledger and effective in the
    Redis cache before the answer: 200 ``{"number": ..., "suppressed": true}``.
    Idempotent.
``DELETE /v1/suppressions/{number}``
    Opt-in (re-consent) for this account. Requires ``source``, how the recipient
    consented again (``web_form``, ``paper_form``, ...: 1-64 of A-Z a-z 0-9 _ . : -),
    as a JSON body ``{"source": "web_form"}`` or ``?source=web_form``; without it
    400 ``source_required`` and nothing changes. Recorded with the API key (its
    account and fingerprint, never the key) and the client's address. 200
    ``{"number": ..., "suppressed": b}``, ``b`` true when the number stays blocked by
    an operator-wide ``"*"`` entry (only the operator lifts those, with ``stopgate
    suppressions remove``). Idempotent. A re-consent also lifts an opt-out kept
    under the number's erasure hash.
``GET /v1/suppressions/{number}/history``
    Every event of the number in this account's scope and ``"*"``, and its
    erasures, oldest first (gateway.suppression.evidence): JSON ``{"number",
    "scopes", "events": [...]}``, or CSV with ``?format=csv`` (or ``Accept:
    text/csv``); 400 ``invalid_request`` for another format.
``POST /v1/suppressions/{number}/erase``
    GDPR erasure in this account's scope: the number replaced by its keyed hash in
    the ledger (events, state, tokens, webhook rows, review-list replies, held
    messages), the Redis cache and the campaign notes; a suppression stays in force.
    200 ``{"erased": true, "events", "suppressions", "tokens", "webhooks", "reviews",
    "held", "suppressed"}`` (plus ``erased_before``
    when it was erased already); 404 ``not_found`` when stopgate holds nothing of
    the number for the account; 501 ``erasure_not_configured`` without
    ``storage.hash_key``.
``POST /v1/suppressions/import``
    Body: CSV with the number in the first column, a header line optional, or one
    number a line (UTF-8; blank lines and ``#`` comments skipped). Send it as the
    raw body (``curl --data-binary @numbers.csv -H 'Content-Type: text/csv'``):
    form posts are refused with 415, because ``curl -d`` strips the newlines. The
    body is streamed, never held whole: it may be up to ``MAX_IMPORT_BYTES``
    (100 MiB, about seven million numbers), whatever ``http.max_body_size`` says;
    a bigger one gets 413 (at once when Content-Length says so; otherwise once
    the limit is crossed, after the complete lines before it were imported, which
    the detail says; re-sending the whole file is safe). Answer::

        200 {"lines": 5, "added": 3, "already": 0, "invalid": 1,
             "errors": [{"line": 4, "error": "not a valid phone number: '12'"}]}

    ``lines`` counts every line read (header and blank ones included) and
    ``errors`` gives the first 100 invalid lines by line number. Good lines are
    imported and bad ones only reported. The ledger commits in chunks of 50,000
    numbers, each whole or not at all, and the cache is written through after
    each; re-importing is idempotent (numbers already suppressed count as
    ``already``), so an import cut short is completed by running it again.
``GET /v1/suppressions``
    The account's own suppressions as CSV (``text/csv``), streamed: header
    ``number,scope,since,source``, one row per number, ``since`` in ISO 8601
    UTC. Operator-wide ``"*"`` entries are not exported: they are the
    operator's list (a national do-not-call register, say) and not the
    account's to copy; ``GET /v1/suppressions/{number}`` still says when one
    blocks a number. The export reads back with ``POST /v1/suppressions/import``.

Errors are ``{"error", "detail"}`` as everywhere: 401 ``unauthorized``, 400
``invalid_number``, 400 ``invalid_json`` / ``invalid_request`` (PUT and DELETE
bodies), 400 ``source_required``, 404 ``not_found``, 413 ``body_too_large``, 415
``unsupported_media_type`` (import), 503 ``ledger_unavailable`` (nothing was recorded; retry).
"""

from __future__ import annotations

import codecs
import contextlib
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import orjson
from aiohttp import web

from gateway.config.model import Account
from gateway.http.auth import AccountHandler, Authenticate, ledger_guarded
from gateway.http.responses import (
    MAX_CAMPAIGN,
    MAX_TO_CHARS,
    OWN_BODY_LIMIT,
    Handler,
    error,
    json_response,
)
from gateway.ledger.model import api_key_id
from gateway.observability.logs import fields
from gateway.suppression.erasure import ErasureNotConfigured
from gateway.suppression.evidence import history_csv, history_json
from gateway.suppression.store import OPERATOR_SCOPE, Suppressions, parse_number

log = logging.getLogger("stopgate.http")

#: The most a streamed import body may hold (``http.max_body_size`` does not apply).
MAX_IMPORT_BYTES = 100 * 1024 * 1024
_READ_CHUNK = 1 << 16
#: A "line" longer than this is not a number: it is cut and reported as one bad line.
_MAX_LINE_CHARS = 1024
_PUT_FIELDS = ("reason", "campaign")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")



class SuppressionRoutes:
    """The /v1/suppressions routes of one gateway (see the module docstring)."""

    def __init__(self, authenticate: Authenticate, suppressions: Suppressions) -> None:
        self.authenticate = authenticate
        self.suppressions = suppressions

    def register(self, app: web.Application) -> None:
        app.router.add_post("/v1/suppressions/import", self._guarded(self.import_csv))
        app[OWN_BODY_LIMIT].add("/v1/suppressions/import")  # MAX_IMPORT_BYTES, streamed
        app.router.add_get("/v1/suppressions", self._guarded(self.export_csv))
        one = app.router.add_resource("/v1/suppressions/{number}")
        one.add_route("GET", self._guarded(self.show))
        one.add_route("PUT", self._guarded(self.opt_out))
        one.add_route("DELETE", self._guarded(self.opt_in))
        app.router.add_get("/v1/suppressions/{number}/history", self._guarded(self.history))
        app.router.add_post("/v1/suppressions/{number}/erase", self._guarded(self.erase))

    def _guarded(self, handler: AccountHandler) -> Handler:
        """The handler behind the Bearer check, with ledger failures as 503."""
        return ledger_guarded(
            self.authenticate, handler, what="suppressions",
            unchanged="nothing was recorded by this request unless it says so")

    # --- one number ---------------------------------------------------------------------

    async def show(self, request: web.Request, account: Account) -> web.Response:
        number = _number(request, account)
        if isinstance(number, web.Response):
            return number
        scopes = [scope for scope in await self.suppressions.scopes(number)
                  if scope in (account.system_id, OPERATOR_SCOPE)]
        return json_response({"number": number, "suppressed": bool(scopes), "scopes": scopes})

    async def opt_out(self, request: web.Request, account: Account) -> web.Response:
        number = _number(request, account)
        if isinstance(number, web.Response):
            return number
        body = await _put_body(request)
        if isinstance(body, web.Response):
            return body
        await self.suppressions.optout(account.system_id, number, source="api",
                                       campaign=body.get("campaign"), reason=body.get("reason"),
                                       **_who(request, account))
        return json_response({"number": number, "suppressed": True})

    async def opt_in(self, request: web.Request, account: Account) -> web.Response:
        number = _number(request, account)
        if isinstance(number, web.Response):
            return number
        consent = await _consent_source(request)
        if isinstance(consent, web.Response):
            return consent
        await self.suppressions.optin(account.system_id, number, source="api",
                                      consent_source=consent, **_who(request, account))
        still = OPERATOR_SCOPE in await self.suppressions.scopes(number)
        return json_response({"number": number, "suppressed": still})

    # --- evidence and erasure -------------------------------------------------------------

    async def history(self, request: web.Request, account: Account) -> web.Response:
        number = _number(request, account)
        if isinstance(number, web.Response):
            return number
        wanted = _history_format(request)
        if wanted is None:
            return error(400, "invalid_request",
                         f"format must be csv or json, got {request.query['format'][:20]!r}")
        scopes = [account.system_id, OPERATOR_SCOPE]
        rows = await self.suppressions.history(number, scopes)
        if wanted == "csv":
            return web.Response(text=history_csv(rows), content_type="text/csv",
                                charset="utf-8", headers={
                                    "Content-Disposition": 'attachment; filename="history.csv"'})
        return web.Response(body=history_json(number, scopes, rows),
                            content_type="application/json")

    async def erase(self, request: web.Request, account: Account) -> web.Response:
        number = _number(request, account)
        if isinstance(number, web.Response):
            return number
        try:
            result = await self.suppressions.erase(account.system_id, number, source="api",
                                                   **_who(request, account))
        except ErasureNotConfigured as exc:
            return error(501, "erasure_not_configured", f"{exc}; nothing was changed")
        if not result.found:
            return error(404, "not_found",
                         f"stopgate holds nothing of this number for {account.system_id}: "
                         f"nothing to erase")
        body: dict[str, Any] = {
            "erased": True, "events": result.events, "suppressions": result.suppressions,
            "tokens": result.tokens, "webhooks": result.webhooks, "reviews": result.reviews,
            "held": result.held,
            "suppressed": bool(await self.suppressions.scopes(number)),
        }
        if result.erased_before is not None:
            body["erased_before"] = result.erased_before.isoformat().replace("+00:00", "Z")
        return json_response(body)

    # --- bulk ---------------------------------------------------------------------------

    async def import_csv(self, request: web.Request, account: Account) -> web.Response:
        if request.content_type in _FORM_TYPES:
            return error(415, "unsupported_media_type",
                         f"send the CSV itself as the body, not a form ({request.content_type}): "
                         "curl --data-binary @numbers.csv -H 'Content-Type: text/csv'")
        length = request.content_length
        if length is not None and length > MAX_IMPORT_BYTES:
            return error(413, "body_too_large", _too_large(length))
        body = _BodyLines(request)
        report = await self.suppressions.import_lines(
            account.system_id, body.lines(), account.default_region, source="import")
        if body.truncated:
            return error(413, "body_too_large",
                         f"{_too_large(body.size)}; the first {report.lines} lines were "
                         f"imported ({report.added} added, {report.already} already "
                         f"suppressed, {report.invalid} invalid); split the file (re-importing "
                         f"lines is harmless)")
        return json_response(report.as_dict())

    async def export_csv(self, request: web.Request, account: Account) -> web.StreamResponse:
        response = web.StreamResponse(headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="suppressions-{account.system_id}.csv"',
        })
        async with contextlib.aclosing(self.suppressions.export_csv(account.system_id)) as rows:
            # The header and the first rows before the 200: a ledger that cannot be read
            # is a 503, not an empty list.
            head = [text async for text in _take(rows, 2)]
            await response.prepare(request)
            try:
                for text in head:
                    await response.write(text.encode())
                async for text in rows:
                    await response.write(text.encode())
                await response.write_eof()
            except ConnectionError:
                log.info("suppression export: the client went away", extra=fields(
                    "suppression_export_aborted", account=account.system_id))
            except Exception:
                # The 200 is sent: cut the connection, so the client sees a broken
                # transfer (no final chunk), not a short list that looks complete.
                log.exception("suppression export failed midway", extra=fields(
                    "suppression_export_failed", account=account.system_id))
                if request.transport is not None:
                    request.transport.abort()
        return response


async def _take(rows: AsyncIterator[str], n: int) -> AsyncIterator[str]:
    for _ in range(n):
        try:
            yield await anext(rows)
        except StopAsyncIteration:
            return


def _number(request: web.Request, account: Account) -> str | web.Response:
    """The path's number in E.164, or the 400 to answer."""
    text = request.match_info["number"]
    number = parse_number(text, account.default_region) if len(text) <= MAX_TO_CHARS else None
    if number is None:
        return error(400, "invalid_number",
                     f"{text[:MAX_TO_CHARS]!r} is not a valid phone number: give it in E.164 "
                     f"(+33612345678) or in national format for {account.default_region}")
    return number


async def _put_body(request: web.Request) -> dict[str, Any] | web.Response:
    """The optional ``{reason, campaign}`` of a PUT, or the 400 to answer."""
    raw = await request.read()  # over client_max_size: 413 from the middleware
    if not raw.strip():
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return error(400, "invalid_json", f"the body is not JSON: {exc}")
    if body is None:
        return {}
    if not isinstance(body, dict):
        return error(400, "invalid_request", "expected a JSON object {reason?, campaign?}")
    unknown = sorted(set(body) - set(_PUT_FIELDS))
    if unknown:
        return error(400, "invalid_request",
                     f"unknown field(s) {', '.join(unknown)}; expected reason, campaign")
    for name in _PUT_FIELDS:
        value = body.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > MAX_CAMPAIGN):
            return error(400, "invalid_request",
                         f"'{name}' is a string of at most {MAX_CAMPAIGN} characters")
    return body


def _who(request: web.Request, account: Account) -> dict[str, str | None]:
    """Who made an API change, for the evidence: the key (named, never shown) and the
    client's address (as resolved behind trusted proxies)."""
    return {"api_key": api_key_id(account.system_id, account.api_key),
            "client_address": request.remote}


#: A re-consent's source: a short word saying how the recipient consented again.
_CONSENT_SOURCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")


async def _consent_source(request: web.Request) -> str | web.Response:
    """The ``source`` a DELETE must give (JSON body ``{"source": ...}`` or ``?source=``),
    or the 400 to answer (nothing changed)."""
    raw = await request.read()
    from_body: Any = None
    if raw.strip():
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return error(400, "invalid_json", f"the body is not JSON: {exc}")
        if body is not None:
            if not isinstance(body, dict) or set(body) - {"source"}:
                return error(400, "invalid_request",
                             'expected a JSON object {"source": "web_form"}')
            from_body = body.get("source")
    from_query = request.query.get("source")
    if from_body is not None and from_query is not None and from_body != from_query:
        return error(400, "invalid_request",
                     "source is given twice (body and query) with different values")
    source = from_body if from_body is not None else from_query
    if source is None or source == "":
        return error(400, "source_required",
                     "a re-consent must say how the recipient consented again: send "
                     '{"source": "web_form"} (or ?source=web_form; e.g. web_form, paper_form, '
                     "phone_call, keyword); nothing was changed")
    if not isinstance(source, str) or not _CONSENT_SOURCE.fullmatch(source):
        return error(400, "invalid_request",
                     "source is 1 to 64 of A-Z a-z 0-9 _ . : - starting with a letter or "
                     "digit (e.g. web_form); nothing was changed")
    return source


def _history_format(request: web.Request) -> str | None:
    """csv or json: ``?format=``, else the Accept header (JSON by default); None: bad."""
    wanted = request.query.get("format")
    if wanted is not None:
        return wanted if wanted in ("csv", "json") else None
    accept = request.headers.get("Accept", "")
    return "csv" if "text/csv" in accept and "application/json" not in accept else "json"


def _too_large(size: int) -> str:
    return (f"an import body holds at most {MAX_IMPORT_BYTES // (1024 * 1024)} MiB, this one "
            f"{'has' if size <= MAX_IMPORT_BYTES else 'is over'} that "
            f"({size} bytes)")


class _BodyLines:
    """The lines of a streamed request body, decoded as UTF-8 (bad bytes replaced).

    Stops (``truncated``) at the read that crosses ``MAX_IMPORT_BYTES``, dropping
    that read and any partial line before it: a number cut in two must not be
    imported as another number.
    """

    def __init__(self, request: web.Request) -> None:
        self.request = request
        self.size = 0
        self.truncated = False

    async def lines(self) -> AsyncIterator[str]:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        carry = ""
        skipping = False  # inside an over-long line, after its first _MAX_LINE_CHARS
        async for data in self.request.content.iter_chunked(_READ_CHUNK):
            self.size += len(data)
            if self.size > MAX_IMPORT_BYTES:
                self.truncated = True
                return
            text = carry + decoder.decode(data)
            *complete, carry = text.split("\n")
            for line in complete:
                if skipping:
                    skipping = False
                    continue
                yield line
            if len(carry) > _MAX_LINE_CHARS:
                if not skipping:
                    yield carry[:_MAX_LINE_CHARS]
                skipping = True
                carry = ""
        carry += decoder.decode(b"", final=True)
        if carry and not skipping:
            yield carry
