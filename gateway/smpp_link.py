"""One SMPP connection on asyncio: a sans-I/O ``smpp.Session`` plus a transport.

Used by all three SMPP roles stopgate plays: the sender-facing server (SMSC
side), the carrier link pool (ESME side) and the carrier simulator (SMSC
side). It owns the session's timers, turns responses into awaitable
results and hands everything else to a ``LinkHandler``. ``LinkOptions`` says
how its session behaves (window, timers, largest PDU); ``LinkOptions.from_config``
builds them from the ``[smpp]`` config for the server and the carrier sessions.

Writes are coalesced: PDUs produced in one loop iteration leave in one
``transport.write`` at the end of it, so a burst of responses costs one
system call, not one per PDU.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from gateway.config.model import Smpp
from gateway.observability.logs import fields
from smpp.events import (
    BindFailed,
    BindRequested,
    Bound,
    ConnectionClosed,
    Event,
    IdleTimeout,
    LinkDead,
    OutbindReceived,
    PduReceived,
    ProtocolError,
    RequestRejected,
    RequestTimedOut,
    ResponseReceived,
    UnbindComplete,
    Unbound,
    UnexpectedResponse,
)
from smpp.pdu import Pdu
from smpp.session import BindKind, BindState, Role, Session, WindowFull

__all__ = [
    "BindError",
    "LinkClosed",
    "LinkHandler",
    "LinkOptions",
    "ResponseTimeout",
    "SmppLink",
    "WindowFull",
]

log = logging.getLogger("stopgate.smpp")


class LinkClosed(ConnectionError):
    """The connection closed before the request was answered."""


class ResponseTimeout(TimeoutError):
    """The peer did not answer within the session's response_timeout."""


class BindError(Exception):
    """The peer refused our bind (or did not answer it)."""

    def __init__(self, status: int | None) -> None:
        self.status = status
        super().__init__(
            "bind timed out" if status is None else f"bind refused with status 0x{status:08X}"
        )


class LinkHandler:
    """What a link tells its owner. Every method has a harmless default."""

    def on_bind_request(self, link: SmppLink, pdu: Pdu) -> None:
        """SMSC side: a bind arrived; answer with ``link.accept_bind`` / ``link.reject_bind``."""
        link.reject_bind(pdu, 0x0000000D)  # ESME_RBINDFAIL: nobody accepts binds here

    def on_pdu(self, link: SmppLink, pdu: Pdu) -> None:
        """A request the owner must answer with ``link.respond`` (submit_sm, deliver_sm...)."""

    def on_unbound(self, link: SmppLink) -> None:
        """The peer unbound (already answered)."""

    def on_protocol_error(self, link: SmppLink, event: ProtocolError) -> None:
        """A malformed PDU (already answered; the session closes itself if framing broke)."""

    def on_rejected(self, link: SmppLink, event: RequestRejected) -> None:
        """A request refused by the session itself (wrong bind state...), already answered."""

    def on_outbind(self, link: SmppLink, pdu: Pdu) -> None:
        """ESME side: the SMSC asks us to bind."""

    def on_unexpected_response(self, link: SmppLink, event: UnexpectedResponse) -> None:
        """A response to no request awaiting one (late, duplicated or made up): ignored."""
        log.debug("SMPP stray response ignored", extra=fields(
            "smpp_stray_response", peer=link.peer or link.name, detail=str(event)))

    def on_link_dead(self, link: SmppLink) -> None:
        """The peer left an enquire_link unanswered; the link closes right after this."""
        log.debug("enquire_link unanswered, closing", extra=fields(
            "smpp_link_dead", peer=link.peer or link.name))

    def on_closed(self, link: SmppLink, unanswered: tuple[Pdu, ...]) -> None:
        """The connection is gone; ``unanswered`` are our requests that got no response."""


@dataclass(frozen=True, slots=True)
class LinkOptions:
    """How a link's ``smpp.Session`` behaves (see its parameters); None turns a timer off."""

    window: int = 10
    response_timeout: float = 10.0
    enquire_link_interval: float | None = 30.0
    idle_timeout: float | None = 60.0
    max_pdu_size: int = 65536

    @classmethod
    def from_config(cls, smpp: Smpp, *, window: int, idle_timeout: float | None) -> LinkOptions:
        """The ``[smpp]`` timers and PDU size; the window and idle timeout are the caller's
        (the server's sender window and bind timeout, an upstream's window and none)."""
        return cls(window=window, response_timeout=smpp.response_timeout,
                   enquire_link_interval=smpp.enquire_link_interval,
                   idle_timeout=idle_timeout, max_pdu_size=smpp.max_pdu_size)


class SmppLink(asyncio.Protocol):
    """An asyncio protocol driving one ``smpp.Session``."""

    def __init__(
        self,
        role: Role,
        handler: LinkHandler,
        options: LinkOptions = LinkOptions(),
        *,
        name: str = "",
        peer: str = "",
    ) -> None:
        self.role = role
        self.handler = handler
        self.name = name
        self.options = options
        self.loop = asyncio.get_running_loop()
        self.session: Session | None = None
        self.transport: asyncio.Transport | None = None
        #: "host:port" of the other end: ``peer`` when given (the client a PROXY header
        #: named), else the socket's.
        self.peer: str = peer
        #: Set by the owner: the account a sender bound as, the upstream a carrier link serves.
        self.owner: Any = None
        self._waiters: dict[int, asyncio.Future[Pdu]] = {}
        #: Requests sent with ``send_then``: sequence -> who hears the response.
        self._thens: dict[int, Callable[[Pdu | BaseException], None]] = {}
        self._bind_waiter: asyncio.Future[Pdu] | None = None
        self._unbind_waiter: asyncio.Future[None] | None = None
        self._out: list[bytes] = []
        self._flush_scheduled = False
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self.closed: asyncio.Future[None] = self.loop.create_future()

    # --- state ------------------------------------------------------------------

    @property
    def state(self) -> BindState:
        return self.session.state if self.session is not None else BindState.CLOSED

    @property
    def is_open(self) -> bool:
        return self.session is not None and self.session.state is not BindState.CLOSED

    @property
    def can_send(self) -> bool:
        return self.session is not None and self.session.can_send

    @property
    def outstanding(self) -> int:
        return self.session.outstanding if self.session is not None else 0

    # --- asyncio.Protocol ---------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCPTransport does not derive from asyncio.Transport, but behaves as one.
        self.transport = cast(asyncio.Transport, transport)
        if not self.peer:
            peer = transport.get_extra_info("peername")
            self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer or "")
        options = self.options
        self.session = Session(self.role, now=self.loop.time(), window=options.window,
                               response_timeout=options.response_timeout,
                               enquire_link_interval=options.enquire_link_interval,
                               idle_timeout=options.idle_timeout,
                               max_pdu_size=options.max_pdu_size)
        self._schedule_timer()

    def data_received(self, data: bytes) -> None:
        session = self.session
        if session is None:
            return
        events = session.receive_data(data, self.loop.time())
        self._pull_control_bytes()
        if events:
            self._dispatch(events)
        self._schedule_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.session is not None:
            self._dispatch(self.session.connection_lost())
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._fail_waiters(LinkClosed(f"connection to {self.peer or self.name} closed"))
        if not self.closed.done():
            self.closed.set_result(None)

    def pause_writing(self) -> None:  # pragma: no cover - only under socket back-pressure
        pass

    def resume_writing(self) -> None:  # pragma: no cover
        pass

    # --- writing --------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        if not data or self.transport is None:
            return
        self._out.append(data)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        out, self._out = self._out, []
        if self.transport is not None and out:
            self.transport.write(b"".join(out) if len(out) > 1 else out[0])

    def _pull_control_bytes(self) -> None:
        assert self.session is not None
        self._write(self.session.data_to_send())

    def close(self) -> None:
        """Flush what is queued and close the connection."""
        self._flush()
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        """Drop the connection at once (corrupt peer, shutdown deadline)."""
        if self.transport is not None:
            self.transport.abort()

    # --- timers -----------------------------------------------------------------------

    def _schedule_timer(self) -> None:
        session = self.session
        if session is None:
            return
        deadline = session.next_deadline()
        if deadline is None:
            return
        if self._timer is not None:
            if self._timer_at is not None and self._timer_at <= deadline:
                return  # the earlier timer will reschedule
            self._timer.cancel()
        self._timer_at = deadline
        self._timer = self.loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        session = self.session
        if session is None:
            return
        events = session.tick(self.loop.time())
        self._pull_control_bytes()
        if events:
            self._dispatch(events)
        self._schedule_timer()

    # --- events --------------------------------------------------------------------------

    def _dispatch(self, events: list[Event]) -> None:
        handler = self.handler
        for event in events:
            kind = type(event)
            if kind is ResponseReceived:
                assert isinstance(event, ResponseReceived)
                then = self._thens.pop(event.sequence, None)
                if then is not None:
                    try:
                        then(event.response)
                    except Exception:  # the requester's bug must not stop this link's events
                        self._callback_failed()
                    continue
                waiter = self._waiters.pop(event.sequence, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(event.response)
            elif kind is PduReceived:
                assert isinstance(event, PduReceived)
                handler.on_pdu(self, event.pdu)
            elif kind is RequestTimedOut:
                assert isinstance(event, RequestTimedOut)
                timeout = ResponseTimeout(f"no response to {event.request!r:.80}")
                then = self._thens.pop(event.sequence, None)
                if then is not None:  # in a later step, as a future's callback would be
                    self.loop.call_soon(self._call, then, timeout)
                    continue
                waiter = self._waiters.pop(event.sequence, None)
                if waiter is not None and not waiter.done():
                    waiter.set_exception(timeout)
            elif kind is BindRequested:
                assert isinstance(event, BindRequested)
                handler.on_bind_request(self, event.pdu)
            elif kind is Bound:
                assert isinstance(event, Bound)
                if self._bind_waiter is not None and not self._bind_waiter.done():
                    self._bind_waiter.set_result(event.response)
            elif kind is BindFailed:
                assert isinstance(event, BindFailed)
                if self._bind_waiter is not None and not self._bind_waiter.done():
                    self._bind_waiter.set_exception(BindError(event.status))
            elif kind is Unbound:
                handler.on_unbound(self)
            elif kind is UnbindComplete:
                if self._unbind_waiter is not None and not self._unbind_waiter.done():
                    self._unbind_waiter.set_result(None)
            elif kind is ProtocolError:
                assert isinstance(event, ProtocolError)
                handler.on_protocol_error(self, event)
            elif kind is RequestRejected:
                assert isinstance(event, RequestRejected)
                handler.on_rejected(self, event)
            elif kind is OutbindReceived:
                assert isinstance(event, OutbindReceived)
                handler.on_outbind(self, event.pdu)
            elif kind is ConnectionClosed:
                assert isinstance(event, ConnectionClosed)
                self._pull_control_bytes()
                self._fail_waiters(LinkClosed(f"session with {self.peer or self.name} closed"))
                handler.on_closed(self, event.unanswered)
                self.close()
            elif kind is UnexpectedResponse:
                assert isinstance(event, UnexpectedResponse)
                handler.on_unexpected_response(self, event)
            elif kind is LinkDead:
                handler.on_link_dead(self)  # ConnectionClosed follows
            elif kind is IdleTimeout:  # followed by ConnectionClosed
                log.debug("SMPP session event", extra=fields(
                    "smpp_session_event", peer=self.peer or self.name, detail=str(event)))

    def _fail_waiters(self, exc: Exception) -> None:
        thens, self._thens = self._thens, {}
        for then in thens.values():  # after the handler has heard of the close
            self.loop.call_soon(self._call, then, exc)
        waiters, self._waiters = self._waiters, {}
        for waiter in waiters.values():
            if not waiter.done():
                waiter.set_exception(exc)
        for single in (self._bind_waiter, self._unbind_waiter):
            if single is not None and not single.done():
                single.set_exception(exc)

    # --- requests and responses ------------------------------------------------------------

    def send(self, pdu: Pdu) -> asyncio.Future[Pdu]:
        """Send a request now; the future resolves to its response.

        Raises WindowFull at once when the window is full (the caller queues or
        throttles), LinkClosed when the link is gone. The future fails with
        ResponseTimeout or LinkClosed.
        """
        session = self.session
        if session is None or self.transport is None:
            raise LinkClosed(f"link {self.peer or self.name} is not connected")
        if session.state is BindState.UNBINDING:  # either side unbound: nothing new goes
            raise LinkClosed(f"link {self.peer or self.name} is unbinding")
        now = self.loop.time()
        seq, data = session.send_request(pdu, now)
        waiter: asyncio.Future[Pdu] = self.loop.create_future()
        self._waiters[seq] = waiter
        self._write(data)
        timer_at = self._timer_at
        if timer_at is None or timer_at > now + session.response_timeout:
            # Only when this request's deadline comes before the armed timer: otherwise that
            # timer fires first and re-arms for what is next (recomputing costs per send).
            self._schedule_timer()
        return waiter

    def send_then(self, pdu: Pdu, then: Callable[[Pdu | BaseException], None]) -> None:
        """``send`` without a future: ``then`` gets the response in the loop step that
        reads it, or (in a later step) the ResponseTimeout or LinkClosed. Raises as
        ``send`` does."""
        session = self.session
        if session is None or self.transport is None:
            raise LinkClosed(f"link {self.peer or self.name} is not connected")
        if session.state is BindState.UNBINDING:  # either side unbound: nothing new goes
            raise LinkClosed(f"link {self.peer or self.name} is unbinding")
        now = self.loop.time()
        seq, data = session.send_request(pdu, now)
        self._thens[seq] = then
        self._write(data)
        timer_at = self._timer_at
        if timer_at is None or timer_at > now + session.response_timeout:
            self._schedule_timer()

    def _call(self, then: Callable[[Pdu | BaseException], None],
              outcome: Pdu | BaseException) -> None:
        try:
            then(outcome)
        except Exception:  # the requester's bug must not stop this link's other events
            self._callback_failed()

    def _callback_failed(self) -> None:
        log.exception("a response callback failed", extra=fields(
            "smpp_response_callback_failed", peer=self.peer or self.name))

    def probe(self) -> None:
        """Check the link now with an enquire_link (a request timed out): left unanswered
        for ``response_timeout``, the link is dead and closes."""
        session = self.session
        if session is not None and self.transport is not None:
            self._write(session.probe(self.loop.time()))
            self._schedule_timer()

    async def request(self, pdu: Pdu) -> Pdu:
        """Send a request and wait for its response."""
        return await self.send(pdu)

    def respond(self, request: Pdu, response: Pdu) -> None:
        """Answer a request that came in through ``on_pdu``."""
        if self.session is not None:
            self._write(self.session.send_response(request, response))

    def respond_submit(self, request: Pdu, status: int, message_id: str) -> None:
        """Answer a submit_sm: ``respond`` without building a SubmitSmResp (one per MT)."""
        if self.session is not None:
            self._write(self.session.send_submit_sm_resp(request, status, message_id))

    def accept_bind(self, request: Pdu, system_id: str) -> None:
        assert self.session is not None
        self._write(self.session.accept_bind(request, system_id))
        self._schedule_timer()

    def reject_bind(self, request: Pdu, status: int) -> None:
        assert self.session is not None
        self._write(self.session.reject_bind(request, status))

    async def bind(
        self, kind: BindKind, system_id: str, password: str, system_type: str = ""
    ) -> Pdu:
        """ESME side: bind and wait for the response; raises BindError when refused."""
        assert self.session is not None
        self._bind_waiter = self.loop.create_future()
        self._write(
            self.session.bind(kind, system_id, password, system_type, now=self.loop.time())
        )
        self._schedule_timer()
        return await self._bind_waiter

    async def unbind(self, timeout: float = 5.0) -> None:
        """Unbind politely and wait (bounded) for the answer; then close."""
        session = self.session
        if session is None or self.transport is None or session.state not in (
            BindState.BOUND_TX, BindState.BOUND_RX, BindState.BOUND_TRX
        ):
            self.close()
            return
        self._unbind_waiter = self.loop.create_future()
        self._write(session.unbind(self.loop.time()))
        self._schedule_timer()
        try:
            await asyncio.wait_for(asyncio.shield(self._unbind_waiter), timeout)
        except (TimeoutError, LinkClosed):
            pass
        finally:
            self.close()
