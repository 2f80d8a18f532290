"""One bind to a carrier, kept up: connect, bind, keep alive, reconnect with backoff.

A ``CarrierSession`` owns one connection at a time and tells its owner (the
upstream pool) when a link comes up, when it goes away and what the carrier
sends. Keepalive is the SMPP session's own enquire_link (``enquire_link_interval``);
a dead link closes itself and the session reconnects.

Reconnects back off exponentially from ``reconnect_delay`` to
``reconnect_delay_max`` with full jitter (a uniform draw between 0 and the
current delay), so a carrier that restarts is not hit by every bind at the
same instant; a successful bind resets the backoff.

Every failure is counted (``stopgate_upstream_events_total``); the log says it
once per change of state (cannot connect -> bind refused -> bound), not per
retry, so an hour-long outage is a handful of lines. What the carrier does
wrong on a bound link is counted too: malformed or out-of-place PDUs
(``protocol_error``: answered with generic_nack or an error response; a broken
frame closes the link), responses to nothing we sent (``stray_response``:
ignored), an enquire_link left unanswered (``link_dead``: the link closes).

An upstream with ``tls = true`` is dialled over TLS 1.2 or later with the context
``carrier_tls`` builds once per upstream (gateway.tls.ClientTls, read at every connect so
SIGHUP's reload reaches the next connect), its name checked
against ``tls_server_name`` (else ``host``), the handshake bounded by ``bind_timeout``
(``timeout``; the TCP connect before it has its own ``bind_timeout``).
A handshake that fails (unknown CA, expired, wrong name, a carrier that wants a client
certificate...) is a failed connect: ``tls_failed`` in the upstream events,
``stopgate_tls_handshake_failures_total{link="carrier", reason}``, a log line naming
the reason and OpenSSL's message, and the usual backoff. With TLS 1.3 a carrier refuses
a missing client certificate only after the client's handshake is done, on the first
read: a link that closes with a TLS error before its bind is answered counts the same.
``tls_verify = false`` is logged at WARNING at start and at every connect.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import TYPE_CHECKING, Literal, Protocol

from gateway.lifecycle import backoff
from gateway.observability.logs import fields
from gateway.smpp_link import BindError, LinkHandler, LinkOptions, SmppLink
from gateway.tls import ClientTls, failure_reason
from smpp.constants import CommandStatus
from smpp.session import BindKind, Role

if TYPE_CHECKING:
    from gateway.config.model import Smpp, Upstream
    from gateway.observability.metrics import Metrics
    from smpp.events import ProtocolError, RequestRejected, UnexpectedResponse
    from smpp.pdu import Pdu

__all__ = ["CarrierSession", "SessionOwner", "SessionState", "carrier_tls"]

log = logging.getLogger("stopgate.upstream")

SessionState = Literal["connecting", "bound", "down"]

#: Said at start and at every connect of an upstream with ``tls_verify = false``.
UNVERIFIED = ("TLS to %s: the carrier's certificate is NOT verified (tls_verify = false): "
              "anyone between stopgate and the carrier can read and change this link")


def carrier_tls(upstream: Upstream) -> ClientTls | None:
    """The TLS context to dial ``upstream`` with (None: plaintext), reloadable; build it
    once per upstream. Unreadable files raise (``OSError``, ``ssl.SSLError``)."""
    if not upstream.tls:
        return None
    return ClientTls(ca=upstream.tls_ca, cert=upstream.tls_cert, key=upstream.tls_key,
                     verify=upstream.tls_verify)


class _CarrierLink(SmppLink):
    """An ESME link that remembers why its connection was lost (a TLS alert after the
    handshake, for a carrier that wants a client certificate under TLS 1.3)."""

    lost_with: Exception | None = None

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost_with = exc
        super().connection_lost(exc)


class SessionOwner(Protocol):
    """What a carrier session reports to (the upstream pool)."""

    @property
    def stopping(self) -> bool: ...

    def session_up(self, session: CarrierSession, link: SmppLink) -> None: ...

    def session_down(self, session: CarrierSession, link: SmppLink) -> None: ...

    def carrier_request(self, session: CarrierSession, link: SmppLink, pdu: Pdu) -> None: ...


class CarrierSession(LinkHandler):
    """One bind (transceiver, transmitter or receiver) to one upstream, reconnecting."""

    def __init__(
        self,
        owner: SessionOwner,
        upstream: Upstream,
        kind: BindKind,
        smpp: Smpp,
        metrics: Metrics,
        *,
        label: str,
        tls: ClientTls | None = None,
    ) -> None:
        self.owner = owner
        self.upstream = upstream
        self.kind: BindKind = kind
        self.smpp = smpp
        self.label = label
        self.state: SessionState = "down"
        self.link: SmppLink | None = None
        self.task: asyncio.Task[None] | None = None
        self._gauge = metrics.upstream_sessions
        self._events = metrics.upstream_events
        self._tls_failures = metrics.tls_handshake_failures
        self.tls = tls
        #: Why the last attempt failed ("connect_failed", "bind_failed", "tls_<reason>"),
        #: None once bound: what /readyz says about a link that does not come up.
        self.failure: str | None = None
        self._gauge.labels(upstream.name, "down").inc()
        # The failure being repeated ("connect_failed", "bind_failed", "tls_failed:<reason>")
        # or None: a warning when it changes, debug lines while it repeats.
        self._failing: str | None = None
        self._link_complaints = 0  # warnings logged about the current link's PDUs
        self._was_bound = False
        #: Retired (``retire``): no reconnect once its link closes.
        self.retiring = False
        self._forgotten = False

    @property
    def transmits(self) -> bool:
        return self.kind != "receiver"

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run(), name=self.label)

    def retire(self) -> SmppLink | None:
        """This session is no longer wanted (its upstream's share of sessions went down):
        it stops reconnecting; its bound link, returned, is the owner's to drain and unbind."""
        self.retiring = True
        if self.task is not None and self.state != "bound":
            self.task.cancel()
        return self.link

    def forget(self) -> None:
        """A retired session is gone: its state leaves the sessions gauge."""
        if not self._forgotten:
            self._forgotten = True
            self._gauge.labels(self.upstream.name, self.state).dec()

    def stop_reconnecting(self) -> None:
        """Stop trying to bind; a bound link stays up until the owner unbinds it."""
        if self.task is not None and self.state != "bound":
            self.task.cancel()

    def _set_state(self, state: SessionState) -> None:
        if state != self.state and not self._forgotten:
            name = self.upstream.name
            self._gauge.labels(name, self.state).dec()
            self._gauge.labels(name, state).inc()
            self.state = state

    def _event(self, event: str) -> None:
        self._events.labels(self.upstream.name, event).inc()

    async def _run(self) -> None:
        attempt = 0
        try:
            while not self.owner.stopping and not self.retiring:
                self._set_state("connecting")
                link = await self._connect()
                if link is not None:
                    attempt = 0
                    await self._serve(link)
                self._set_state("down")
                if self.owner.stopping or self.retiring:
                    return
                attempt = min(attempt + 1, 33)  # 2**32 seconds is forever enough
                await asyncio.sleep(backoff(attempt, self.smpp.reconnect_delay,
                                            self.smpp.reconnect_delay_max, jitter=True))
        finally:
            self._set_state("down")

    async def _connect(self) -> SmppLink | None:
        """Connect and bind; None (event counted, connection closed) when either fails."""
        up, smpp = self.upstream, self.smpp
        loop = asyncio.get_running_loop()
        tls = None if self.tls is None else self.tls.context  # the newest (SIGHUP)
        if tls is not None and not up.tls_verify:
            log.warning("%s: " + UNVERIFIED, self.label, f"{up.host}:{up.port}",
                        extra=fields("carrier_tls_unverified", upstream=up.name,
                                     session=self.label, address=f"{up.host}:{up.port}"))
        try:
            # Over TLS: the TCP connect, then the handshake, each within bind_timeout.
            connecting = loop.create_connection(
                self._new_link, up.host, up.port, ssl=tls,
                server_hostname=None if tls is None else (up.tls_server_name or up.host),
                ssl_handshake_timeout=None if tls is None else smpp.bind_timeout)
            link: SmppLink
            async with asyncio.timeout(smpp.bind_timeout * (2 if tls else 1)):
                _, link = await connecting
        except ssl.SSLError as error:
            self._tls_failed(error)
            return None
        except (OSError, TimeoutError) as error:
            if (tls is not None and isinstance(error, ConnectionAbortedError)
                    and failure_reason(error) == "timeout"):  # asyncio's ssl_handshake_timeout
                self._tls_failed(error)
                return None
            self._event("connect_failed")
            self.failure = "connect_failed"
            self._complain("connect_failed", "carrier_connect_failed",
                           "cannot connect to %s:%d: %s (retrying with backoff)",
                           up.host, up.port, error or "timeout",
                           address=f"{up.host}:{up.port}", error=str(error) or "timeout")
            return None
        try:
            async with asyncio.timeout(smpp.bind_timeout):
                await link.bind(self.kind, up.system_id, up.password, up.system_type)
        except (BindError, TimeoutError, ConnectionError) as error:
            link.abort()
            lost_with = getattr(link, "lost_with", None)
            if isinstance(lost_with, ssl.SSLError):  # refused after the handshake (TLS 1.3)
                self._tls_failed(lost_with)
                return None
            self._event("bind_failed")
            self.failure = "bind_failed"
            self._complain("bind_failed", "carrier_bind_failed",
                           "%s bind as %r refused: %s (retrying with backoff)",
                           self.kind, up.system_id, _bind_error(error),
                           address=f"{up.host}:{up.port}", system_id=up.system_id,
                           error=_bind_error(error))
            return None
        except BaseException:
            link.abort()  # cancelled while binding: leave no half-bound connection behind
            raise
        self._failing = None
        self.failure = None
        self._link_complaints = 0
        # After a lost link the same session binds again: "rebound" tells the operator the
        # link came back, "bound" is the first bind of this session.
        name = "carrier_rebound" if self._was_bound else "carrier_bound"
        self._was_bound = True
        log.info("%s: %s %s as %r to %s%s", self.label, name.removeprefix("carrier_"),
                 self.kind, up.system_id, link.peer, " over TLS" if self.tls else "",
                 extra=fields(name, upstream=up.name, session=self.label, bind=self.kind,
                              system_id=up.system_id, peer=link.peer,
                              tls=self.tls is not None))
        return link

    def _tls_failed(self, error: OSError) -> None:
        """A refused TLS handshake: counted twice (upstream event, TLS metric), logged."""
        up = self.upstream
        reason = failure_reason(error)
        message = getattr(error, "verify_message", None) or getattr(error, "reason", None) \
            or str(error)
        self._event("tls_failed")
        self._tls_failures.labels("carrier", reason).inc()
        self.failure = f"tls_{reason}"
        server_name = up.tls_server_name or up.host
        self._complain(f"tls_failed:{reason}", "carrier_tls_failed",
                       "TLS handshake with %s:%d (%s) failed: %s, %s (retrying with backoff)",
                       up.host, up.port, server_name, reason, message,
                       address=f"{up.host}:{up.port}", server_name=server_name,
                       reason=reason, error=str(message), detail=str(error))

    def _new_link(self) -> SmppLink:
        # idle_timeout None: the bind is bounded by bind_timeout instead.
        options = LinkOptions.from_config(self.smpp, window=self.upstream.window,
                                          idle_timeout=None)
        return _CarrierLink(Role.ESME, self, options, name=self.label)

    async def _serve(self, link: SmppLink) -> None:
        """Hand the bound link to the owner until it closes."""
        if not link.is_open:  # closed between the bind response and now
            return
        self.link = link
        self._set_state("bound")
        self.owner.session_up(self, link)
        try:
            if self.owner.stopping or self.retiring:  # bound meanwhile: leave politely
                await link.unbind(self.smpp.response_timeout)
            await asyncio.shield(link.closed)
        finally:
            self.link = None
        if self.retiring:
            log.info("carrier session retired (this process's share of sessions went down)",
                     extra=fields("carrier_retired", upstream=self.upstream.name,
                                  session=self.label, bind=self.kind, peer=link.peer))
        elif not self.owner.stopping:
            self._event("link_lost")
            log.warning("carrier link lost; reconnecting", extra=fields(
                "carrier_link_lost", upstream=self.upstream.name, session=self.label,
                bind=self.kind, peer=link.peer))
        else:
            log.info("carrier link closed (stopping)", extra=fields(
                "carrier_unbound", upstream=self.upstream.name, session=self.label,
                bind=self.kind, peer=link.peer))

    def _complain(self, failure: str, event: str, message: str, *args: object,
                  **values: object) -> None:
        """A warning when the failure starts or changes, debug lines while it repeats."""
        log.log(logging.DEBUG if self._failing == failure else logging.WARNING,
                "%s: " + message, self.label, *args,
                extra=fields(event, upstream=self.upstream.name, session=self.label,
                             bind=self.kind, **values))
        self._failing = failure

    def _misbehaved(self, event: str, message: str, *args: object) -> None:
        """Count what the carrier did wrong; warn about the first on each link."""
        self._event(event)
        level = logging.WARNING if not self._link_complaints else logging.DEBUG
        self._link_complaints += 1
        log.log(level, "%s: " + message, self.label, *args, extra=fields(
            f"carrier_{event}", upstream=self.upstream.name, session=self.label))

    # --- LinkHandler ----------------------------------------------------------------

    def on_pdu(self, link: SmppLink, pdu: Pdu) -> None:
        self.owner.carrier_request(self, link, pdu)

    def on_closed(self, link: SmppLink, unanswered: tuple[Pdu, ...]) -> None:
        # Unanswered submit_sm need nothing here: their futures fail with LinkClosed.
        self.owner.session_down(self, link)

    def on_outbind(self, link: SmppLink, pdu: Pdu) -> None:
        log.info("carrier outbind ignored (stopgate binds by itself)", extra=fields(
            "carrier_outbind_ignored", upstream=self.upstream.name, session=self.label,
            peer=link.peer))

    def on_protocol_error(self, link: SmppLink, event: ProtocolError) -> None:
        self._misbehaved("protocol_error", "malformed PDU from %s: %s (%s)", link.peer,
                         event.error, "closing" if event.error.fatal else "answered with an error")

    def on_rejected(self, link: SmppLink, event: RequestRejected) -> None:
        self._misbehaved("protocol_error", "%s sent %s, which an SMSC must not send here; "
                         "answered 0x%08X", link.peer, type(event.request).__name__, event.status)

    def on_unexpected_response(self, link: SmppLink, event: UnexpectedResponse) -> None:
        pdu = event.response
        self._misbehaved("stray_response", "%s sent %s for sequence %d, which awaits no "
                         "response; ignored", link.peer, type(pdu).__name__, pdu.sequence)

    def on_link_dead(self, link: SmppLink) -> None:
        self._event("link_dead")
        log.warning("%s: %s left enquire_link unanswered for %gs; closing the link",
                    self.label, link.peer, self.smpp.response_timeout, extra=fields(
                        "carrier_link_dead", upstream=self.upstream.name, session=self.label,
                        peer=link.peer))


def _bind_error(error: BaseException) -> str:
    """A refused bind as an operator reads it: the status by name."""
    if isinstance(error, BindError) and error.status is not None:
        try:
            return f"{CommandStatus(error.status).name} (0x{error.status:08X})"
        except ValueError:
            return f"status 0x{error.status:08X}"
    return str(error) or "no answer within bind_timeout"
