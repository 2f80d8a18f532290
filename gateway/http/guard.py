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

- **A request that is not HTTP** (a bad request line, a bad header, a line too long) is
  answered 400 ``{"error": "bad_request", "detail": ...}`` (JSON whatever its path: it
  has none that could be trusted) and the connection closes; logged at INFO
  (``http_bad_request``, the peer and the parser's first line), never a traceback.

Every close is counted in ``stopgate_http_connections_closed_total{reason}``
(``bad_request`` for the last case). Every answer, these included, says
``Server: stopgate``: no product or version a scanner could match to advisories.

**HTTPS** (``[http] tls_cert``/``tls_key``: ``GuardedSite(tls=...)``): the site accepts
through ``gateway.tls.TlsListener`` (why not asyncio's ``ssl=``: see there), with the
``ServerTls`` context that SIGHUP replaces for new handshakes. So:

- a connection is admitted against the caps *before* its handshake, and one over a
  cap is closed at once without a handshake (no HTTP answer is possible before
  one, and a handshake is the work a flood wants from us): counted as above;
- the handshake must finish within ``http.header_timeout`` (then the headers get
  their own ``header_timeout``);
- a failed handshake (a client that does not trust our certificate, plain HTTP on
  the HTTPS port, a timeout) is logged at INFO (``tls_handshake_failed``, the peer,
  the reason and OpenSSL's words) and counted in
  ``stopgate_tls_handshake_failures_total{link="http", reason}``; the connection
  closes, nothing else is touched.

**Behind a load balancer.** With ``http.proxy_protocol`` every connection (HTTP or
HTTPS) starts with a PROXY v1/v2 header, read by ``gateway.tls.TlsListener`` within
``http.header_timeout`` before anything else (before TLS): the client it names is the
one admitted against the caps above and the one every request comes from. With
``http.trusted_proxies`` (CIDRs), a request whose peer is one of them comes from the
right-most X-Forwarded-For address that is not itself a trusted proxy (all of them
trusted: the left-most; an entry that is not an IP address ends the walk at the hop
after it). ``real_client`` sets that as ``request.remote``, which the failed-auth
pacing and the opt-out page's guessing limit key on (``client_key``); the connection
caps stay on the TCP (or PROXY) peer, since a header is read only after admission.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, cast

import orjson
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from prometheus_client import Counter

from gateway.config.model import Http
from gateway.http.responses import SERVER
from gateway.lifecycle import backoff
from gateway.limits import AddressCounts
from gateway.observability.logs import fields
from gateway.observability.metrics import Metrics
from gateway.tls import ServerTls, TlsListener

log = logging.getLogger("stopgate.http")

__all__ = ["AuthPacing", "ConnectionGuard", "GuardedSite", "client_key", "forwarded_client",
           "real_client"]


def _refusal(detail: str) -> bytes:
    body = orjson.dumps({"error": "too_many_connections", "detail": detail})
    head = (f"HTTP/1.1 503 Service Unavailable\r\nServer: {SERVER}\r\n"
            f"Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n")
    return head.encode() + body


_TOO_MANY = _refusal("this gateway has too many open HTTP connections; retry later")
_TOO_MANY_HERE = _refusal("too many open HTTP connections from your address; "
                          "close some or retry later")


def _peer_host(transport: asyncio.BaseTransport) -> str:
    peer = transport.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) else str(peer or "")


def client_key(remote: str | None) -> str:
    """The rate-limited unit: the IPv4 address, or the IPv6 /64."""
    try:
        address = ipaddress.ip_address(remote or "")
    except ValueError:
        return remote or "?"
    if address.version == 6 and address.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(getattr(address, "ipv4_mapped", None) or address)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _trusted(address: str, proxies: tuple[Network, ...]) -> bool | None:
    """Whether ``address`` is a trusted proxy (None: not an IP address)."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    mapped = getattr(ip, "ipv4_mapped", None)
    return any(ip in network or (mapped is not None and mapped in network)
               for network in proxies)


def forwarded_client(peer: str, forwarded_for: list[str],
                     proxies: tuple[Network, ...]) -> str:
    """The client of a request from ``peer`` with these X-Forwarded-For headers: ``peer``
    unless it is a trusted proxy; then the right-most forwarded address not itself trusted."""
    if not proxies or not _trusted(peer, proxies):
        return peer
    client = peer
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",")]
    for hop in reversed(hops):
        trusted = _trusted(hop, proxies)
        if trusted is None:  # not an address: the hop that wrote it is all we know
            return client
        client = str(ipaddress.ip_address(hop))
        if not trusted:
            return client
    return client


def real_client(http: Http) -> Any:
    """Middleware: ``request.remote`` is the client (the PROXY header's, then the trusted
    proxies' X-Forwarded-For), for everything keyed on it."""
    proxies = tuple(ipaddress.ip_network(cidr) for cidr in http.trusted_proxies)

    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        protocol = request.protocol
        peer = (protocol.client if isinstance(protocol, GuardedHandler) else None) \
            or request.remote or ""
        client = forwarded_client(peer, request.headers.getall("X-Forwarded-For", []),
                                  proxies)
        if client != request.remote:
            request = request.clone(remote=client)
        return cast(web.StreamResponse, await handler(request))

    return middleware


#: Addresses (and address/key pairs) remembered at most; past it the oldest are forgotten.
MAX_ADDRESSES = 100_000


@dataclass(slots=True)
class _Failures:
    count: int = 0
    last: float = 0.0


class AuthPacing:
    """Wrong API (or admin) keys per client address: slowed, then refused unchecked.

    - The first wrong or missing key from an address is answered 401 at once; each
      further one waits ``http.failed_auth_delay``, doubled per failure, at most
      ``failed_auth_delay_max``.
    - After ``failed_auth_limit`` of them the address is *blocked*: a key is no longer
      checked, the answer is 429 with Retry-After, until ``failed_auth_window`` passes
      without a wrong key (the refusals do not count). Failures are forgotten after the
      same quiet spell.
    - A key that opened its account from an address before stays *trusted* there: it is
      still checked, never refused unchecked, and never slowed. So a client already
      working behind the same NAT as a guesser keeps working, while a guesser can
      not have any further key checked (answering right keys at once and wrong ones
      later would tell it a key's worth by the wait alone). A success does not forgive
      the address: a neighbour's traffic must not reset a guesser's count.
    """

    def __init__(self, http: Http) -> None:
        self.http = http
        self._failures: OrderedDict[str, _Failures] = OrderedDict()
        self._trusted: OrderedDict[tuple[str, bytes], None] = OrderedDict()

    def _current(self, address: str, now: float) -> _Failures | None:
        failures = self._failures.get(address)
        if failures is not None and now - failures.last > self.http.failed_auth_window:
            del self._failures[address]  # quiet long enough: forgotten
            return None
        return failures

    def blocked_for(self, address: str, digest: bytes | None, now: float) -> float:
        """Seconds ``address`` stays blocked for this key (0: check the key)."""
        failures = self._current(address, now)
        if failures is None or failures.count < self.http.failed_auth_limit:
            return 0.0
        if digest is not None and (address, digest) in self._trusted:
            return 0.0
        return max(failures.last + self.http.failed_auth_window - now, 0.001)

    def failed(self, address: str, now: float, at_least: int = 0) -> float:
        """Count a wrong or missing key from ``address``: the seconds its 401 waits.
        ``at_least``: the failures every instance counted (gateway.instances.counters)."""
        failures = self._current(address, now)
        if failures is None:
            failures = self._failures[address] = _Failures()
            if len(self._failures) > MAX_ADDRESSES:
                self._failures.popitem(last=False)
        self._failures.move_to_end(address)
        failures.count = max(failures.count + 1, at_least)
        failures.last = now
        if failures.count < 2:
            return 0.0  # a single typo: answered at once
        # The second failure waits failed_auth_delay, each further one twice the one before.
        return backoff(failures.count - 1, self.http.failed_auth_delay,
                       self.http.failed_auth_delay_max)

    def shared(self, address: str, count: int) -> float:
        """Every instance's count for ``address`` (gateway.instances.counters), known after
        this process counted the failure itself (``failed``): raises ours to it; the
        seconds that failure's 401 waits by it."""
        failures = self._failures.get(address)
        if failures is None or count < 2:
            return 0.0
        failures.count = max(failures.count, count)
        return backoff(count - 1, self.http.failed_auth_delay, self.http.failed_auth_delay_max)

    def succeeded(self, address: str, digest: bytes) -> None:
        """``digest``'s key opened its account from ``address``: trusted there from now on."""
        pair = (address, digest)
        self._trusted[pair] = None
        self._trusted.move_to_end(pair)
        if len(self._trusted) > MAX_ADDRESSES:
            self._trusted.popitem(last=False)

    def trusted(self, address: str, digest: bytes | None) -> bool:
        return digest is not None and (address, digest) in self._trusted


class ConnectionGuard:
    """Open HTTP connections, in all and per client address, against their caps."""

    def __init__(self, http: Http, metrics: Metrics) -> None:
        self.http = http
        self.closed = metrics.http_connections_closed
        #: stopgate_proxy_protocol_errors_total: counted when http.proxy_protocol is on.
        self.proxy_errors = metrics.proxy_protocol_errors if http.proxy_protocol else None
        self.open = AddressCounts()

    def admit(self, host: str) -> bytes | None:
        """Count a new connection from ``host``; the answer to send instead if it is over a cap."""
        if self.open.total >= self.http.max_connections:
            self.closed.labels("max_connections").inc()
            return _TOO_MANY
        if self.open[host] >= self.http.max_connections_per_address:
            self.closed.labels("max_connections_per_address").inc()
            return _TOO_MANY_HERE
        self.open.add(host)
        return None

    def release(self, host: str) -> None:
        self.open.remove(host)


class GuardedHandler(RequestHandler):
    """aiohttp's connection handler with the deadlines and caps of the module docstring."""

    def __init__(self, manager: web.Server, *, guard: ConnectionGuard, **kwargs: Any) -> None:
        super().__init__(manager, keepalive_timeout=guard.http.header_timeout, **kwargs)
        self._guard = guard
        self._host: str | None = None  # set once admitted
        self._proxied: str | None = None  # the client a PROXY header named, to admit
        self._header_bytes = False  # bytes of a request whose headers are not complete yet
        self._body_deadline: asyncio.TimerHandle | None = None
        self._timed_payload: Any = None  # the StreamReader of the body being timed

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._host is None:  # plaintext; over TLS the handshake admitted it (admitted())
            host = self._proxied or _peer_host(transport)
            refusal = self._guard.admit(host)
            if refusal is not None:
                # Not handed to aiohttp at all: nothing is read, nothing waits.
                cast(asyncio.Transport, transport).write(refusal)  # a TCP server: a stream
                transport.close()
                return
            self._host = host
        super().connection_made(transport)

    def admitted(self, host: str) -> None:
        """``host``'s connection was counted against the caps before its TLS handshake
        (or, behind a load balancer, is the client its PROXY header named)."""
        self._host = host

    def proxied(self, host: str) -> None:
        """A plaintext connection's PROXY header named ``host``: admitted as it, at once."""
        self._proxied = host

    @property
    def client(self) -> str | None:
        """The client's address (the PROXY header's, when there is one); None once closed."""
        return self._host

    def abandoned(self) -> None:
        """The TLS handshake failed: give the connection's place back (once)."""
        if self._host is not None and self.transport is None:
            self._guard.release(self._host)
            self._host = None

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

    def no_linger(self) -> None:
        """Close after the answer instead of reading (and dropping) the rest of the body."""
        self._lingering_time = 0.0

    def handle_error(self, request: BaseRequest, status: int = 500,
                     exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        """aiohttp's answer to what no handler answered, as JSON and without a traceback
        when it is the client's doing: a request that does not parse as HTTP (400) or a
        client gone (nobody to answer). A failure of ours stays an ERROR with its trace."""
        if isinstance(exc, HttpProcessingError):
            self._guard.closed.labels("bad_request").inc()
            detail = (message or exc.message or "").strip().splitlines()
            log.info("malformed HTTP request refused", extra=fields(
                "http_bad_request", peer=request.remote,
                error=(detail[0] if detail else type(exc).__name__)[:200]))
            code = exc.code if 400 <= exc.code < 500 else 400
            body = {"error": "bad_request",
                    "detail": "the request is not valid HTTP/1.1" +
                              (f": {detail[0][:200]}" if detail else "")}
        elif isinstance(exc, ConnectionError):
            log.debug("HTTP client left", extra=fields("http_client_left",
                                                       peer=request.remote))
            code, body = 400, {"error": "client_left", "detail": "the connection closed"}
        else:
            log.error("HTTP request failed outside any handler", exc_info=exc, extra=fields(
                "http_failed", method=request.method, status=status))
            code = status
            body = {"error": "internal_error" if status == 500 else "gateway_timeout",
                    "detail": "stopgate failed on this request; see its log"}
        if request.writer.output_size > 0:  # an answer already started: cut it short
            raise ConnectionError("response already started; closing")
        response = web.Response(body=orjson.dumps(body), status=code,
                                content_type="application/json", headers={"Server": SERVER})
        response.force_close()
        return response

    def _process_keepalive(self) -> None:
        was_closed = self._force_close
        super()._process_keepalive()
        if self._force_close and not was_closed and self._header_bytes:
            self._guard.closed.labels("header_timeout").inc()


class GuardedSite(web.TCPSite):
    """A TCPSite whose connections go through ``GuardedHandler``, over TLS with ``tls``."""

    def __init__(self, runner: web.AppRunner, host: str, port: int, *,
                 guard: ConnectionGuard, tls: ServerTls | None = None,
                 handshake_failures: Counter, **kwargs: Any) -> None:
        super().__init__(runner, host, port, **kwargs)
        self.guard = guard
        self._tls = tls
        # stopgate_tls_handshake_failures_total (labelled link, reason)
        self._handshake_failures = handshake_failures
        self._listener: TlsListener[GuardedHandler] | None = None
        self._listening_port: int | None = None

    @property
    def name(self) -> str:
        scheme = "https" if self._tls is not None else "http"
        return f"{scheme}://{self._host}:{self._listening_port or self._port}"

    def _handler(self) -> GuardedHandler:
        server = self._runner.server
        assert server is not None
        return GuardedHandler(server, loop=asyncio.get_running_loop(), guard=self.guard,
                              access_log=None)

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with its runner
        if self._tls is not None or self.guard.proxy_errors is not None:
            self._start_tls(self._tls)
            return
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._handler, self._host, self._port, backlog=self._backlog,
            reuse_address=self._reuse_address, reuse_port=self._reuse_port,
        )
        self._listening_port = int(self._server.sockets[0].getsockname()[1])

    # --- HTTPS or PROXY: gateway.tls.TlsListener admits each connection, then upgrades it

    def _start_tls(self, tls: ServerTls | None) -> None:
        self._listener = TlsListener(
            tls, link="http", protocol=self._admitted, failures=self._handshake_failures,
            handshake_timeout=self.guard.http.header_timeout,
            # counted there (max_connections...); nothing can be said in HTTP before TLS
            # (nor, behind a load balancer, before the PROXY header: closed unanswered)
            # (plaintext behind a balancer: admitted in connection_made, answered 503)
            admit=None if tls is None else (lambda host: self.guard.admit(host) is None),
            abandoned=lambda handler: handler.abandoned(),
            proxy_errors=self.guard.proxy_errors, listener="http")
        self._listening_port = self._listener.listen(
            self._host or "", self._port, reuse_port=bool(self._reuse_port),
            backlog=self._backlog)

    def _admitted(self, host: str, peer: str) -> GuardedHandler:
        handler = self._handler()
        if self._tls is None:
            handler.proxied(host)
        else:
            handler.admitted(host)
        return handler

    async def stop(self) -> None:
        if self._listener is not None:
            await self._listener.stop()
        await super().stop()

    @property
    def port(self) -> int:
        """The listening port (useful with port 0)."""
        assert self._listening_port is not None
        return self._listening_port
