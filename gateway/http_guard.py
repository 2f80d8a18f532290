"""Limits on HTTP clients that aiohttp has no setting for: slow clients and connection floods.

- **Headers** must be complete within ``http.header_timeout`` of the connection's
  start or of its previous response. aiohttp's keep-alive timer already measures
  exactly that span and closes a connection still waiting for a request when it
  fires, however many header bytes trickle in meanwhile, so the handler runs with
  ``keepalive_timeout = header_timeout`` (an idle keep-alive connection is closed
  after the same time; clients reconnect). Only closes with header bytes pending
  count as ``header_timeout`` in the metric.
- **A body** must arrive in full within ``http.body_timeout`` of its headers: past
  that, the handler's read fails with 408 ``{"error": "request_timeout"}`` and the
  connection closes after the answer.
- **Connections** beyond ``http.max_connections`` in all, or
  ``http.max_connections_per_address`` from one IP address, are answered at once
  with a 503 JSON error (Retry-After: 1) and closed, before a byte is read; held
  connections last at most the timeouts above, so slow clients cannot fill them.

Every close is counted in ``stopgate_http_connections_closed_total{reason}``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from gateway.config import Http
from gateway.metrics import Metrics

__all__ = ["ConnectionGuard", "GuardedSite"]


def _refusal(detail: str) -> bytes:
    body = orjson.dumps({"error": "too_many_connections", "detail": detail})
    head = (f"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n")
    return head.encode() + body


_TOO_MANY = _refusal("this gateway has too many open HTTP connections; retry later")
_TOO_MANY_HERE = _refusal("too many open HTTP connections from your address; "
                          "close some or retry later")


class ConnectionGuard:
    """Open HTTP connections, in all and per client address, against their caps."""

    def __init__(self, http: Http, metrics: Metrics) -> None:
        self.http = http
        self.closed = metrics.http_connections_closed
        self.total = 0
        self.by_address: dict[str, int] = {}

    def admit(self, host: str) -> bytes | None:
        """Count a new connection from ``host``; the answer to send instead if it is over a cap."""
        if self.total >= self.http.max_connections:
            self.closed.labels("max_connections").inc()
            return _TOO_MANY
        held = self.by_address.get(host, 0)
        if held >= self.http.max_connections_per_address:
            self.closed.labels("max_connections_per_address").inc()
            return _TOO_MANY_HERE
        self.total += 1
        self.by_address[host] = held + 1
        return None

    def release(self, host: str) -> None:
        self.total -= 1
        left = self.by_address.get(host, 1) - 1
        if left > 0:
            self.by_address[host] = left
        else:
            self.by_address.pop(host, None)


class GuardedHandler(RequestHandler):
    """aiohttp's connection handler with the deadlines and caps of the module docstring."""

    def __init__(self, manager: web.Server, *, guard: ConnectionGuard, **kwargs: Any) -> None:
        super().__init__(manager, keepalive_timeout=guard.http.header_timeout, **kwargs)
        self._guard = guard
        self._host: str | None = None  # set once admitted
        self._header_bytes = False  # bytes of a request whose headers are not complete yet
        self._body_deadline: asyncio.TimerHandle | None = None
        self._timed_payload: Any = None  # the StreamReader of the body being timed

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        host = str(peer[0]) if isinstance(peer, tuple) else str(peer or "")
        refusal = self._guard.admit(host)
        if refusal is not None:
            # Not handed to aiohttp at all: nothing is read, nothing waits.
            transport.write(refusal)  # type: ignore[attr-defined]
            transport.close()
            return
        self._host = host
        super().connection_made(transport)

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._host is None:
            return  # refused in connection_made
        self._guard.release(self._host)
        self._host = None
        self._stop_body_clock()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        before = self._request_count
        super().data_received(data)
        if self._request_count != before:  # headers completed: the body's clock starts
            self._header_bytes = False
            self._stop_body_clock()
            if self._messages:
                payload = self._messages[-1][1]
                if not payload.is_eof():
                    self._timed_payload = payload
                    self._body_deadline = self._loop.call_later(
                        self._guard.http.body_timeout, self._body_too_slow)
        elif self._timed_payload is not None:
            if self._timed_payload.is_eof():
                self._stop_body_clock()
        elif data and not self._request_in_progress:
            self._header_bytes = True

    def _stop_body_clock(self) -> None:
        if self._body_deadline is not None:
            self._body_deadline.cancel()
        self._body_deadline = None
        self._timed_payload = None

    def _body_too_slow(self) -> None:
        payload = self._timed_payload
        self._body_deadline = self._timed_payload = None
        if payload is None or payload.is_eof() or self.transport is None:
            return
        self._guard.closed.labels("body_timeout").inc()
        # The handler's read raises this; json_errors answers it as a JSON 408. Then no
        # lingering over the rest of the body: the connection closes after the answer.
        payload.set_exception(web.HTTPRequestTimeout(
            text=f"the request body did not arrive within {self._guard.http.body_timeout:g}s"))
        self._lingering_time = 0.0

    def _process_keepalive(self) -> None:
        was_closed = self._force_close
        super()._process_keepalive()
        if self._force_close and not was_closed and self._header_bytes:
            self._guard.closed.labels("header_timeout").inc()


class GuardedSite(web.TCPSite):
    """A TCPSite whose connections go through ``GuardedHandler``."""

    def __init__(self, runner: web.AppRunner, host: str, port: int, *,
                 guard: ConnectionGuard, **kwargs: Any) -> None:
        super().__init__(runner, host, port, **kwargs)
        self._guard = guard

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with its runner
        loop = asyncio.get_running_loop()
        server = self._runner.server
        assert server is not None
        guard = self._guard
        self._server = await loop.create_server(
            lambda: GuardedHandler(server, loop=loop, guard=guard, access_log=None),
            self._host, self._port, backlog=self._backlog,
            reuse_address=self._reuse_address, reuse_port=self._reuse_port,
        )

    @property
    def port(self) -> int:
        """The listening port (useful with port 0)."""
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])
