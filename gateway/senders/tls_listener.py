"""The senders' TLS listener: accept TCP, do the TLS handshake, then speak SMPP as on the plain one.

asyncio's ``create_server(ssl=...)`` hands a failed handshake to the loop's exception
handler (or, for most failures, to nobody), and ``loop.start_tls`` on an accepted
connection loses a ClientHello read before it is called (uvloop reads at once;
MagicStack/uvloop#707). So this listener accepts sockets itself and hands each to
``loop.connect_accepted_socket(ssl=...)``, which returns once the handshake is done or
raises why it failed. A failure is one log line (``sender_tls_handshake_failed``: peer,
reason, error; never a stack trace) and one count in
``stopgate_tls_handshake_failures_total{link="sender", reason}`` (reasons:
``gateway.tls.failure_reason``). A handshake must finish within ``smpp.bind_timeout``,
the time a plain connection has to bind; one that does not is a ``timeout``.

Once the handshake is done, the connection belongs to an ``SmppLink`` exactly like a
plaintext one (same handler, same options): binds, pacing, limits, submits and receipts
do not know the difference, except that a bind reads the verified client certificate,
if any, from the link's transport (``gateway.senders.server``).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Callable

from gateway.lifecycle import TaskSet
from gateway.observability.logs import fields
from gateway.observability.metrics import Metrics
from gateway.tls import ServerTls, failure_reason

__all__ = ["TlsListener"]

log = logging.getLogger("stopgate.server")

#: After accept() fails for want of file descriptors, wait this long before the next one.
ACCEPT_PAUSE = 0.1


class TlsListener:
    """Listening sockets whose connections become ``make_link()`` protocols after TLS."""

    def __init__(self, tls: ServerTls, make_link: Callable[[], asyncio.Protocol],
                 metrics: Metrics, handshake_timeout: float) -> None:
        self.tls = tls
        self._make_link = make_link
        self._metrics = metrics
        self._timeout = handshake_timeout
        self._sockets: list[socket.socket] = []
        self._accepting = TaskSet()
        self._handshakes = TaskSet()

    def listen(self, host: str, port: int, *, reuse_port: bool, backlog: int) -> int:
        """Bind and listen on every address ``host`` resolves to; the port (port 0: the
        first address's, for all)."""
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
        try:
            for family, kind, proto, _, sockaddr in infos:
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

    def _close_sockets(self) -> None:
        for sock in self._sockets:
            sock.close()
        self._sockets.clear()

    async def stop(self) -> None:
        """Stop accepting and give up the handshakes under way; sessions already handed
        to their link are not touched (the server unbinds them)."""
        await self._accepting.cancel()  # first: the loop watches the sockets until then
        self._close_sockets()
        await self._handshakes.cancel()

    async def _accept(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                connection, _ = await loop.sock_accept(sock)
            except OSError as error:
                if error.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    log.warning("TLS listener cannot accept: %s", error, extra=fields(
                        "sender_tls_accept_failed", error=str(error)))
                    await asyncio.sleep(ACCEPT_PAUSE)
                elif sock.fileno() < 0:
                    return
                continue
            self._handshakes.spawn(self._handshake(connection))

    async def _handshake(self, connection: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        try:
            peer = _peer(connection.getpeername())
        except OSError:  # gone already
            connection.close()
            return
        try:
            await loop.connect_accepted_socket(self._make_link, connection,
                                               ssl=self.tls.context,
                                               ssl_handshake_timeout=self._timeout)
        except asyncio.CancelledError:
            connection.close()
            raise
        except Exception as error:  # every failure is counted and logged, never raised
            connection.close()
            reason = _reason(error)
            self._metrics.tls_handshake_failures.labels("sender", reason).inc()
            log.warning("sender TLS handshake failed (%s) from %s", reason, peer,
                        extra=fields("sender_tls_handshake_failed", peer=peer,
                                     reason=reason, error=_describe(error)))


def _peer(address: object) -> str:
    if isinstance(address, tuple):
        return f"{address[0]}:{address[1]}"
    return str(address or "")


def _reason(error: BaseException) -> str:
    # asyncio and uvloop end a slow handshake with ConnectionAbortedError("SSL handshake
    # is taking longer than N seconds"), not TimeoutError.
    if isinstance(error, ConnectionAbortedError) and "taking longer" in str(error):
        return "timeout"
    return failure_reason(error)


def _describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
