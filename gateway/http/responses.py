"""What every JSON route shares: the error body, the Server header, the size limits of fields
several routes take, and how a failed request is logged."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from aiohttp import web

from gateway.observability.logs import fields

log = logging.getLogger("stopgate.http")

#: The Server header of every answer: no product or version to fingerprint.
SERVER = "stopgate"
MAX_CAMPAIGN = 64
MAX_TO_CHARS = 32  # separators allowed: "+33 (0)6 12 34 56 78"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: Routes that stream their body under a limit of their own, and check it themselves.
OWN_BODY_LIMIT = web.AppKey("own_body_limit", set[str])


def json_response(
    body: Mapping[str, Any], status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=orjson.dumps(body), status=status, content_type="application/json", headers=headers
    )


def error(
    status: int, code: str, detail: str, headers: Mapping[str, str] | None = None
) -> web.Response:
    return json_response({"error": code, "detail": detail}, status, headers)


#: Headers of aiohttp's own error responses that still hold for the JSON one.
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")




async def server_header(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Server"] = SERVER


@web.middleware
async def json_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Every error as JSON, including aiohttp's own (413, 404, 405) and unexpected ones."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {name: exc.headers[name] for name in _KEPT_HEADERS if name in exc.headers}
        if isinstance(exc, web.HTTPRequestEntityTooLarge):
            return error(413, "body_too_large", exc.text or "request body too large", headers)
        if isinstance(exc, web.HTTPNotFound):
            detail = f"nothing at {request.path}"
        elif isinstance(exc, web.HTTPMethodNotAllowed):
            detail = f"{request.method} is not allowed on {request.path}; use {headers['Allow']}"
        else:
            detail = exc.text or exc.reason
        return error(exc.status, exc.reason.lower().replace(" ", "_"), detail, headers)
    except Exception as exc:
        if isinstance(exc, ConnectionError) and client_gone(request):
            # The client left while its body was read: nobody to answer, nothing was done.
            # (A ConnectionError of one of our own connections is a failure, below.)
            log.info("HTTP client left before its request was read", extra=fields(
                "http_client_left", method=request.method, route=route_of(request)))
            return error(400, "client_left", "the connection closed before the body arrived")
        log.exception("HTTP request failed", extra=fields(
            "http_failed", method=request.method, route=route_of(request)))
        return error(500, "internal_error", "stopgate failed on this request; see its log")


def client_gone(request: web.Request) -> bool:
    """Whether the request's own connection is closed (a ConnectionError was the client's)."""
    transport = request.transport
    return transport is None or transport.is_closing()


def route_of(request: web.Request) -> str:
    """The route a request matched (``/v1/suppressions/{number}``): its path would put a
    number or a token in the log."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "?"
