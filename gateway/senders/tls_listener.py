"""The senders' TLS listener: accept TCP, upgrade it to TLS, then speak SMPP as on the plain one.

asyncio's ``create_server(ssl=...)`` hands a failed handshake to the loop's exception
handler (or to nobody), so this listener accepts plain TCP and upgrades each connection
with ``loop.start_tls``, whose failure it catches: one log line
(``sender_tls_handshake_failed``: peer, reason, error) and one count in
``stopgate_tls_handshake_failures_total{link="sender", reason}`` (reasons:
``gateway.tls.failure_reason``). A handshake must finish within ``smpp.bind_timeout``,
the time a plain connection has to bind; one that does not is a ``timeout``.

Once the handshake is done, the connection belongs to an ``SmppLink`` exactly like a
plaintext one (same handler, same options): binds, pacing, limits, submits and receipts
do not know the difference, except that a bind reads the verified client certificate,
if any, from the link's transport (``gateway.senders.server.SenderServer.bind``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import cast

from gateway.lifecycle import TaskSet
from gateway.observability.logs import fields
from gateway.observability.metrics import Metrics
from gateway.tls import ServerTls, failure_reason

__all__ = ["TlsHandshake"]

log = logging.getLogger("stopgate.server")


class TlsHandshake(asyncio.Protocol):
    """One accepted TCP connection until its TLS handshake is done.

    It is also the application protocol during the handshake: whatever the sender sends
    right after its side of the handshake (TLS 1.3 lets it write at once) is kept here and
    replayed into the ``SmppLink`` that takes the connection over.
    """

    __slots__ = ("_buffer", "_lost", "_make_link", "_metrics", "_pending", "_timeout", "_tls",
                 "peer", "transport")

    def __init__(self, tls: ServerTls, make_link: Callable[[], asyncio.Protocol],
                 metrics: Metrics, timeout: float, pending: TaskSet) -> None:
        self._tls = tls
        self._make_link = make_link
        self._metrics = metrics
        self._timeout = timeout
        self._pending = pending
        self._buffer: list[bytes] = []
        self._lost = False
        self.peer = ""
        self.transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer or "")
        self._pending.spawn(self._upgrade(transport))

    def data_received(self, data: bytes) -> None:
        self._buffer.append(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True

    async def _upgrade(self, transport: asyncio.BaseTransport) -> None:
        loop = asyncio.get_running_loop()
        plain = cast(asyncio.Transport, transport)
        try:
            secure = await loop.start_tls(plain, self, self._tls.context, server_side=True,
                                          ssl_handshake_timeout=self._timeout)
        except asyncio.CancelledError:
            plain.abort()
            raise
        except Exception as error:  # every failure is counted and logged, never raised
            plain.abort()
            self._failed(error)
            return
        if secure is None or self._lost:
            return  # the sender left right after the handshake
        link = self._make_link()
        secure.set_protocol(link)
        link.connection_made(secure)
        for data in self._buffer:
            link.data_received(data)
        self._buffer.clear()

    def _failed(self, error: BaseException) -> None:
        reason = _reason(error)
        self._metrics.tls_handshake_failures.labels("sender", reason).inc()
        log.warning("sender TLS handshake failed (%s) from %s", reason, self.peer,
                    extra=fields("sender_tls_handshake_failed", peer=self.peer,
                                 reason=reason, error=_describe(error)))


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text if isinstance(error, OSError) else f"{type(error).__name__}: {text}"


def _reason(error: BaseException) -> str:
    # asyncio and uvloop end a slow handshake with ConnectionAbortedError("SSL handshake
    # is taking longer than N seconds"), not TimeoutError.
    if isinstance(error, ConnectionAbortedError) and "taking longer" in str(error):
        return "timeout"
    return failure_reason(error)
