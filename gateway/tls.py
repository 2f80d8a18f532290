"""TLS on every link: the contexts stopgate serves and dials with.

- **Listeners** (senders' SMPP, HTTP): ``ServerTls`` holds one ``ssl.SSLContext``
  (TLS 1.2 or later) built from ``tls_cert``/``tls_key`` and, for SMPP, an optional
  ``tls_client_ca``: a client that presents a certificate must present one that CA
  signed (``CERT_OPTIONAL``); whether an account *needs* one is the server's business
  (``[[accounts]] tls_client_cert``). ``reload()`` builds a new context from the files
  and swaps it in, so handshakes from then on use the new files while established
  sessions keep theirs (SIGHUP).
- **Carrier links**: ``ClientTls`` holds the context (``client_context(...)``) each
  session reads at connect, reloadable like ``ServerTls`` (SIGHUP: from each session's
  next connect). It verifies the carrier's certificate against ``tls_ca`` (else the
  system's CAs) and its name against ``tls_server_name`` (else ``host``), presents
  ``tls_cert``/``tls_key`` when given; ``tls_verify = false`` turns verification off,
  which the carrier session logs loudly at every connect.
- **Files**: gateway/config/certificates.py checks them when the config is loaded.
- **Failures**: ``failure_reason`` names a failed handshake for logs and the
  ``stopgate_tls_handshake_failures_total{link, reason}`` metric.
- **Accepting**: ``TlsListener`` is how both TLS listeners accept. asyncio's
  ``create_server(ssl=...)`` hands a failed handshake to the loop's exception handler
  (or to nobody), and ``loop.start_tls`` on an accepted connection loses a ClientHello
  read before it is called (uvloop reads at once; MagicStack/uvloop#707). So the
  listener accepts sockets itself and hands each to ``loop.connect_accepted_socket(
  ssl=...)``, which returns once the handshake is done or raises why it failed: one
  INFO line (``tls_handshake_failed``: link, peer, reason, error; never a stack trace)
  and one count per failure. Once the handshake is done, the connection belongs to the
  listener's protocol exactly as a plaintext one would.
- **Behind a load balancer** (``smpp.proxy_protocol``, ``http.proxy_protocol``): the
  listener first reads the connection's PROXY v1/v2 header from the raw socket (peeking,
  so not a byte past it is consumed: TLS, SMPP or HTTP starts right after it) within
  the handshake deadline, and the client it names is the connection's peer from then
  on (admission, the protocol's ``peer``). A connection without a valid header is
  closed: one INFO line (``proxy_protocol_refused``: listener, peer, reason, error) and
  one count in ``stopgate_proxy_protocol_errors_total{listener, reason}``. With
  ``tls=None`` the listener serves plaintext this way (the plain listeners use it
  only with the PROXY protocol on).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

from prometheus_client import Counter

from gateway.lifecycle import TaskSet
from gateway.observability.logs import fields
from gateway.proxy_protocol import ProxyProtocolError, header_length, parse

log = logging.getLogger("stopgate.tls")

__all__ = [
    "REASONS",
    "ClientTls",
    "ListenerTls",
    "ServerTls",
    "TlsListener",
    "client_context",
    "failure_reason",
    "peer_names",
    "read_proxy_header",
    "reload_logged",
]

#: What a refused handshake is counted as (the metric's ``reason`` label).
REASONS = ("unknown_ca", "expired", "wrong_name", "no_client_cert", "bad_certificate",
           "protocol", "timeout", "other")


def _modern(context: ssl.SSLContext) -> ssl.SSLContext:
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class ServerTls:
    """A listener's TLS context, reloadable from its files.

    Listeners read ``context`` at every handshake; ``reload`` builds a whole new one from
    the files and swaps it in, so a certificate, key or client CA replaced on disk takes
    effect for the next handshake (a CA removed from ``client_ca`` is no longer trusted),
    and sessions already up keep the context they were made with.
    """

    def __init__(self, cert: Path, key: Path, client_ca: Path | None = None) -> None:
        self.cert, self.key, self.client_ca = cert, key, client_ca
        self.context = self._load()

    def reload(self) -> None:
        """Load the certificate, key (and client CA) again: new handshakes use them.

        Raises ``ssl.SSLError``/``OSError`` when the files are unusable; the listener
        keeps the context it had, so a bad file at SIGHUP does not take it down.
        """
        self.context = self._load()

    def _load(self) -> ssl.SSLContext:
        context = _modern(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
        context.load_cert_chain(self.cert, self.key)
        if self.client_ca is not None:
            context.verify_mode = ssl.CERT_OPTIONAL
            context.load_verify_locations(cafile=self.client_ca)
        return context


class ListenerTls:
    """The TLS contexts of stopgate's listeners (None: that listener is plaintext only)."""

    __slots__ = ("http", "smpp")

    def __init__(self, smpp: ServerTls | None = None, http: ServerTls | None = None) -> None:
        self.smpp, self.http = smpp, http

    def reload(self) -> None:
        """SIGHUP: every listener loads its certificate and key again; sessions already up
        keep theirs. A file that cannot be loaded is logged, and that listener keeps its
        old certificate."""
        for name, tls in (("smpp", self.smpp), ("http", self.http)):
            if tls is not None:
                reload_logged({"listener": name}, tls, tls.cert)


class ClientTls:
    """A carrier link's TLS context, reloadable from its files like ``ServerTls``.

    Sessions read ``context`` at every connect; ``reload`` builds a new one from
    ``tls_ca``/``tls_cert``/``tls_key`` and swaps it in, so a renewed client certificate
    or a new carrier CA takes effect at each session's next connect while the links
    already up keep theirs (a carrier link is long-lived: it is not dropped for this).
    """

    def __init__(self, *, ca: Path | None, cert: Path | None, key: Path | None,
                 verify: bool) -> None:
        self.ca, self.cert, self.key, self.verify = ca, cert, key, verify
        self.context = self._load()

    def reload(self) -> None:
        """Load the files again. Raises ``ssl.SSLError``/``OSError`` when they are
        unusable; the context in use stays, so a bad file at SIGHUP takes nothing down."""
        self.context = self._load()

    def _load(self) -> ssl.SSLContext:
        return client_context(ca=self.ca, cert=self.cert, key=self.key, verify=self.verify)


def reload_logged(what: dict[str, str], tls: ServerTls | ClientTls, file: Path | None) -> None:
    """``tls.reload()``, logged: ``tls_reloaded`` or, keeping the old context,
    ``tls_reload_failed`` (``what`` names the listener or upstream in both lines)."""
    try:
        tls.reload()
    except (OSError, ssl.SSLError) as error:
        log.error("TLS certificate not reloaded; the link keeps the old one",
                  extra=fields("tls_reload_failed", **what, cert=str(file),
                               error=str(error)))
    else:
        log.info("TLS certificate reloaded", extra=fields("tls_reloaded", **what,
                                                          cert=str(file)))


def client_context(*, ca: Path | None, cert: Path | None, key: Path | None,
                   verify: bool) -> ssl.SSLContext:
    """The context stopgate dials a carrier with (TLS 1.2 or later)."""
    context = _modern(ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca))
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if cert is not None:
        context.load_cert_chain(cert, key)
    return context


def peer_names(peercert: dict[str, Any] | None) -> set[str]:
    """The names a verified peer certificate gives: its subject's commonName and its
    subjectAltName DNS and URI entries."""
    if not peercert:
        return set()
    names = {value for rdn in peercert.get("subject", ()) for key, value in rdn
             if key == "commonName"}
    names.update(value for kind, value in peercert.get("subjectAltName", ())
                 if kind in ("DNS", "URI"))
    return names


def failure_reason(error: BaseException) -> str:
    """One of ``REASONS`` for a failed handshake (either side's complaint)."""
    if isinstance(error, TimeoutError) or (
            # asyncio and uvloop end a slow handshake with ConnectionAbortedError("SSL
            # handshake is taking longer than N seconds"), not TimeoutError.
            isinstance(error, ConnectionAbortedError) and "taking longer" in str(error)):
        return "timeout"
    if isinstance(error, ssl.SSLCertVerificationError):
        code = error.verify_code
        if code in (10, 9):  # X509_V_ERR_CERT_HAS_EXPIRED, _CERT_NOT_YET_VALID
            return "expired"
        if code == 62:  # X509_V_ERR_HOSTNAME_MISMATCH
            return "wrong_name"
        if code in (2, 18, 19, 20, 21):  # issuer unknown, self-signed, chain incomplete
            return "unknown_ca"
        return "bad_certificate"
    text = f"{getattr(error, 'reason', '') or ''} {error}".upper()
    if "CERTIFICATE_REQUIRED" in text or "PEER DID NOT RETURN A CERTIFICATE" in text:
        return "no_client_cert"
    if "UNKNOWN_CA" in text:
        return "unknown_ca"
    if "CERTIFICATE_EXPIRED" in text:
        return "expired"
    if "BAD_CERTIFICATE" in text or "CERTIFICATE_UNKNOWN" in text:
        return "bad_certificate"
    if isinstance(error, ssl.SSLError):
        return "protocol"
    return "other"


#: Bytes peeked at a time while looking for a PROXY header's end.
_PEEK = 4096


async def _readable(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(sock, wake)
    try:
        await ready
    finally:
        loop.remove_reader(sock)


async def read_proxy_header(sock: socket.socket) -> tuple[str, int] | None:
    """Consume the PROXY header ``sock`` starts with, and not a byte more; the client it
    names (None: LOCAL/UNKNOWN, the socket's peer stands). Raises ``ProxyProtocolError``
    (the caller bounds the wait)."""
    loop = asyncio.get_running_loop()
    data = b""
    while True:
        try:
            peeked = sock.recv(_PEEK, socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            await _readable(loop, sock)
            continue
        except OSError as error:
            raise ProxyProtocolError("closed", f"the connection failed: {error}") from None
        if not peeked:
            raise ProxyProtocolError(
                "closed" if data else "missing",
                "the client closed the connection " + (
                    "midway through its PROXY header" if data else "before any PROXY header"))
        length = header_length(data + peeked)
        # What was peeked is all header (it is not complete yet), or the header ends in it.
        take = len(peeked) if length is None else min(length - len(data), len(peeked))
        try:
            data += sock.recv(take)
        except OSError as error:
            raise ProxyProtocolError("closed", f"the connection failed: {error}") from None
        if length is not None and len(data) >= length:
            return parse(data).source
        if len(peeked) < _PEEK:
            await _readable(loop, sock)


P = TypeVar("P", bound=asyncio.BaseProtocol)

#: After accept() fails (out of file descriptors, say), wait this long before the next one.
ACCEPT_PAUSE = 0.1


class TlsListener(Generic[P]):
    """Listening sockets whose connections become ``protocol(host, peer)`` after TLS
    (``tls=None``: plaintext), ``host`` the client's address and ``peer`` "host:port".

    ``admit(host)`` (optional) decides at accept, before any handshake work, whether
    the connection may go on (a refused one is closed at once; the caller counts it);
    ``abandoned(protocol)`` is told when a handshake fails or the listener stops first.
    With ``proxy_errors`` (a Counter labelled listener, reason) each connection must
    start with a PROXY header, read before ``admit``: ``host`` and ``peer`` are then the
    client it names; ``listener`` is its label.
    """

    def __init__(self, tls: ServerTls | None, *, link: str, protocol: Callable[[str, str], P],
                 failures: Counter, handshake_timeout: float,
                 admit: Callable[[str], bool] | None = None,
                 abandoned: Callable[[P], None] | None = None,
                 proxy_errors: Counter | None = None, listener: str = "") -> None:
        self.tls = tls
        self.link = link
        self._proxy_errors = proxy_errors
        self._listener = listener or link
        self._protocol = protocol
        self._failures = failures
        self._timeout = handshake_timeout
        self._admit = admit
        self._abandoned = abandoned
        self._sockets: list[socket.socket] = []
        self._accepting = TaskSet()
        self._handshakes = TaskSet()

    def listen(self, host: str, port: int, *, reuse_port: bool, backlog: int) -> int:
        """Bind and listen on every address ``host`` resolves to; the port (port 0: the
        first address's, for all)."""
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
        try:
            for family, kind, proto, _, sockaddr in dict.fromkeys(infos):
                sock = socket.socket(family, kind, proto)
                self._sockets.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if reuse_port:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind((sockaddr[0], port, *sockaddr[2:]))
                port = int(sock.getsockname()[1])
                sock.listen(backlog)
                sock.setblocking(False)
        except BaseException:
            self._close_sockets()
            raise
        for sock in self._sockets:
            self._accepting.spawn(self._accept(sock))
        return port

    async def stop(self) -> None:
        """Stop accepting and give up the handshakes under way; connections already
        handed to their protocol are not touched."""
        await self._accepting.cancel()  # first: the loop watches the sockets until then
        self._close_sockets()
        await self._handshakes.cancel()

    def _close_sockets(self) -> None:
        for sock in self._sockets:
            sock.close()
        self._sockets.clear()

    async def _accept(self, listening: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                sock, peer = await loop.sock_accept(listening)
            except OSError as error:
                if listening.fileno() < 0:
                    return
                if error.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    log.warning("TLS listener cannot accept a connection", extra=fields(
                        "tls_accept_failed", link=self.link, error=str(error)))
                    await asyncio.sleep(ACCEPT_PAUSE)
                continue
            host = str(peer[0]) if isinstance(peer, tuple) else str(peer or "")
            where = f"{host}:{peer[1]}" if isinstance(peer, tuple) else host
            if self._proxy_errors is not None:
                self._handshakes.spawn(self._proxied(sock, host, where))
                continue
            if self._admit is not None and not self._admit(host):
                sock.close()
                continue
            self._handshakes.spawn(self._handshake(sock, host, where))

    async def _proxied(self, sock: socket.socket, host: str, peer: str) -> None:
        """Read the PROXY header (within the handshake deadline), then go on as the
        client it names."""
        started = asyncio.get_running_loop().time()
        try:
            async with asyncio.timeout(self._timeout):
                client = await read_proxy_header(sock)
        except (ProxyProtocolError, TimeoutError) as error:
            sock.close()
            reason = error.reason if isinstance(error, ProxyProtocolError) else "timeout"
            text = str(error) or f"no PROXY header within {self._timeout:g}s"
            assert self._proxy_errors is not None
            self._proxy_errors.labels(self._listener, reason).inc()
            log.info("%s connection without a valid PROXY header (%s) from %s",
                     self._listener, reason, peer, extra=fields(
                         "proxy_protocol_refused", listener=self._listener, peer=peer,
                         reason=reason, error=text[:200]))
            return
        except BaseException:
            sock.close()
            raise
        if client is not None:
            host, peer = client[0], f"{client[0]}:{client[1]}"
        if self._admit is not None and not self._admit(host):
            sock.close()
            return
        left = self._timeout - (asyncio.get_running_loop().time() - started)
        await self._handshake(sock, host, peer, max(left, 0.001))

    async def _handshake(self, sock: socket.socket, host: str, peer: str,
                         timeout: float | None = None) -> None:
        protocol = self._protocol(host, peer)
        try:
            if self.tls is None:
                await asyncio.get_running_loop().connect_accepted_socket(
                    lambda: protocol, sock)
            else:
                await asyncio.get_running_loop().connect_accepted_socket(
                    lambda: protocol, sock, ssl=self.tls.context,
                    ssl_handshake_timeout=timeout or self._timeout)
        except asyncio.CancelledError:  # the listener stops
            self._give_up(sock, protocol)
            raise
        except Exception as error:  # every failure is counted and logged, never raised
            self._give_up(sock, protocol)
            self._failed(peer, error)

    def _give_up(self, sock: socket.socket, protocol: P) -> None:
        sock.close()
        if self._abandoned is not None:
            self._abandoned(protocol)

    def _failed(self, peer: str, error: BaseException) -> None:
        reason = failure_reason(error)
        self._failures.labels(self.link, reason).inc()
        text = str(getattr(error, "reason", None) or error)
        if not text and isinstance(error, ConnectionError):
            text = "the client closed the connection during the handshake"
        log.info("%s TLS handshake failed (%s) from %s", self.link, reason, peer,
                 extra=fields("tls_handshake_failed", link=self.link, peer=peer,
                                         reason=reason,
                                         error=(text or type(error).__name__)[:200]))
