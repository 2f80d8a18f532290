"""The simulator's TLS when it demands client certificates: done by hand, alert included.

asyncio's own TLS (and uvloop's) drops the alert a server writes when it refuses a
handshake: the client sees the connection close and nothing more. OpenSSL servers,
which carriers run, send it: under TLS 1.3 the client's handshake is already done
and the alert ("certificate required") arrives on its first read. ``HandTls`` runs
``ssl.SSLObject`` over a plain TCP transport and flushes that alert before closing,
so stopgate meets the simulator as it would meet such a carrier. It is used only with
a client CA; a plain TLS simulator uses the event loop's TLS (faster, for the bench).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from typing import Any

__all__ = ["HandTls"]

_READ = 65536


class HandTls(asyncio.Protocol):
    """Server-side TLS between a TCP transport and ``inner`` (an SMPP link protocol)."""

    def __init__(self, context: ssl.SSLContext, inner: asyncio.Protocol) -> None:
        self.inner = inner
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._incoming, self._outgoing, server_side=True)
        self._raw: asyncio.Transport | None = None
        self._up = False  # handshake done, inner told
        self._transport = _Transport(self)

    # --- the TCP side ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._raw = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._incoming.write(data)
        plain: list[bytes] = []
        closing = False
        try:
            if not self._up:
                try:
                    self._tls.do_handshake()
                except ssl.SSLWantReadError:
                    self._flush()
                    return
                self._up = True
                self._flush()
                self.inner.connection_made(self._transport)
            while True:
                try:
                    chunk = self._tls.read(_READ)
                except ssl.SSLWantReadError:
                    break
                if not chunk:  # close_notify
                    closing = True
                    break
                plain.append(chunk)
        except ssl.SSLError:
            # A refused handshake (no or bad client certificate) or garbage: the alert
            # OpenSSL wrote goes out before the connection closes.
            self._flush()
            self.close()
            return
        self._flush()
        if plain:
            self.inner.data_received(b"".join(plain))
        if closing:
            self.close()

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self._raw = None
        if self._up:
            self.inner.connection_lost(exc)

    # --- what the inner protocol's transport does ----------------------------------

    def _flush(self) -> None:
        data = self._outgoing.read()
        if data and self._raw is not None:
            self._raw.write(data)

    def write(self, data: bytes) -> None:
        if self._raw is None:
            return
        try:
            self._tls.write(data)
        except ssl.SSLError:
            self.abort()
            return
        self._flush()

    def close(self) -> None:
        if self._raw is None:
            return
        if self._up:
            with contextlib.suppress(ssl.SSLError):
                self._tls.unwrap()
            self._flush()
        self._raw.close()

    def abort(self) -> None:
        if self._raw is not None:
            self._raw.abort()

    def extra(self, name: str, default: Any = None) -> Any:
        if name == "ssl_object":
            return self._tls
        if name == "peercert":
            return self._tls.getpeercert()
        return self._raw.get_extra_info(name, default) if self._raw is not None else default


class _Transport(asyncio.Transport):
    """The inner protocol's view: writes are encrypted, closes say close_notify."""

    def __init__(self, owner: HandTls) -> None:
        super().__init__()
        self._owner = owner

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._owner.write(bytes(data))

    def close(self) -> None:
        self._owner.close()

    def abort(self) -> None:
        self._owner.abort()

    def is_closing(self) -> bool:
        return self._owner._raw is None or self._owner._raw.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._owner.extra(name, default)
