"""The SMPP 3.4 session state machine, sans-I/O in the manner of h11 and wsproto.

Feed received bytes to ``receive_data`` and act on the events it returns; build
outgoing bytes with ``bind`` / ``accept_bind`` / ``send_request`` /
``send_response`` / ``unbind``; call ``tick`` whenever ``next_deadline`` has
passed. Nothing here reads a clock or touches a socket: every time-dependent
call takes ``now`` (a monotonic clock, e.g. ``time.monotonic()``).

Where outgoing bytes come from (one rule, so none get lost):

- a method the caller calls in order to send something returns the bytes to write;
- whatever the session sends on its own (enquire_link_resp, unbind_resp, error
  responses, generic_nack, keepalive enquire_link) is queued: after every
  ``receive_data``, ``tick`` and ``connection_lost``, write ``data_to_send()``.

SMPP matches responses by sequence, so the order between the two does not matter.
When the session becomes CLOSED it emits ``ConnectionClosed`` as its last event:
write ``data_to_send()`` and close the transport.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from .codec import decode, encode, encode_submit_sm_resp
from .constants import (
    DEFAULT_MAX_PDU_SIZE,
    HEADER_SIZE,
    HEADER_STRUCT,
    LENGTH_STRUCT,
    RESPONSE_BIT,
    CommandId,
    CommandStatus,
    Tag,
)
from .errors import PduError
from .events import (
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
from .pdu import (
    RESPONSE_FOR,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Outbind,
    Pdu,
    Unbind,
    UnbindResp,
)
from .states import (
    BIND_CLASSES,
    BIND_RESP,
    BOUND_BY_BIND,
    BOUND_STATES,
    ENQUIRE_LINK,
    FROM_PEER,
    GENERIC_NACK,
    MAX_SEQUENCE,
    NOTHING,
    OUTBIND,
    SENDABLE,
    SESSION_REQUESTS,
    SURFACED,
    UNBIND,
    UNBOUND_STATES,
    BindKind,
    BindState,
    Role,
)

__all__ = ["BindKind", "BindState", "LocalProtocolError", "Role", "Session", "WindowFull"]

class LocalProtocolError(Exception):
    """The caller asked for something SMPP forbids in the session's role or state."""


class WindowFull(Exception):
    """``window`` requests are already awaiting responses; queue or throttle and retry."""


# (request, deadline) for every request awaiting its response.
_Pending = tuple[Pdu, float]


class Session:
    """One SMPP 3.4 connection, either end; see the module docstring for the I/O contract."""

    __slots__ = (
        "_buf",
        "_control",
        "_enquire_link_interval",
        "_idle_timeout",
        "_keepalive_seq",
        "_last_rx",
        "_max_pdu_size",
        "_opened_at",
        "_outbox",
        "_partial_since",
        "_peer_unbound",
        "_pending_bind",
        "_response_timeout",
        "_sendable",
        "_seq",
        "_state",
        "_surfaced",
        "_window",
        "_window_size",
        "enquire_links_received",
        "role",
    )

    def __init__(
        self,
        role: Role,
        *,
        now: float,
        max_pdu_size: int = DEFAULT_MAX_PDU_SIZE,
        window: int = 10,
        response_timeout: float = 30.0,
        enquire_link_interval: float | None = 30.0,
        idle_timeout: float | None = 60.0,
        initial_sequence: int = 1,
    ) -> None:
        """Start a session on a connection opened at ``now``.

        ``enquire_link_interval`` None disables keepalive; ``idle_timeout`` None lets a
        connection stay unbound forever.
        """
        if max_pdu_size < HEADER_SIZE:
            raise ValueError(f"max_pdu_size must be at least {HEADER_SIZE}, not {max_pdu_size}")
        if window < 1:
            raise ValueError(f"window must be at least 1, not {window}")
        if response_timeout <= 0:
            raise ValueError(f"response_timeout must be positive, not {response_timeout}")
        if not 1 <= initial_sequence <= MAX_SEQUENCE:
            raise ValueError(f"initial_sequence must be in 1..0x7FFFFFFF, not {initial_sequence}")
        self.role: Final = role
        #: enquire_link PDUs the peer sent (answered automatically, not surfaced as events).
        self.enquire_links_received = 0
        self._max_pdu_size = max_pdu_size
        self._window_size = window
        self._response_timeout = response_timeout
        self._enquire_link_interval = enquire_link_interval
        self._idle_timeout = idle_timeout
        self._seq = initial_sequence
        self._opened_at = now
        self._last_rx = now
        self._buf = bytearray()
        self._partial_since: float | None = None
        self._outbox = bytearray()
        # Requests sent with send_request; insertion order is deadline order because
        # every deadline is now + response_timeout with a monotonic now.
        self._window: dict[int, _Pending] = {}
        # The session's own requests: bind, unbind, keepalive enquire_link.
        self._control: dict[int, _Pending] = {}
        self._keepalive_seq: int | None = None
        self._pending_bind: Pdu | None = None
        #: The peer unbound while requests of ours were unanswered: closed once they are.
        self._peer_unbound = False
        self._state = BindState.OPEN
        self._surfaced = NOTHING
        self._sendable = NOTHING

    # --- state --------------------------------------------------------------------

    @property
    def state(self) -> BindState:
        return self._state

    @property
    def outstanding(self) -> int:
        """Requests sent with ``send_request`` still awaiting a response."""
        return len(self._window)

    @property
    def can_send(self) -> bool:
        """True when bound (not unbinding) and the window has room for another request."""
        return self._state in BOUND_STATES and len(self._window) < self._window_size

    @property
    def response_timeout(self) -> float:
        """Seconds a request waits for its response before ``RequestTimedOut``."""
        return self._response_timeout

    @property
    def buffered(self) -> int:
        """Received bytes held while waiting for the rest of a frame (always < max_pdu_size)."""
        return len(self._buf)

    def _set_state(self, state: BindState) -> None:
        self._state = state
        key = (self.role, state)
        self._surfaced = SURFACED.get(key, NOTHING)
        self._sendable = SENDABLE.get(key, NOTHING)

    def _close(self, events: list[Event]) -> None:
        if self._state is BindState.CLOSED:
            return
        self._peer_unbound = False
        self._set_state(BindState.CLOSED)
        unanswered = tuple(
            request if request.sequence == seq else replace(request, sequence=seq)
            for seq, (request, _) in self._window.items()
        )
        self._window.clear()
        self._control.clear()
        self._keepalive_seq = None
        self._pending_bind = None
        events.append(ConnectionClosed(unanswered))

    @property
    def last_received(self) -> float:
        """When bytes last arrived from the peer (the connection's opening time if never)."""
        return self._last_rx

    @property
    def partial_since(self) -> float | None:
        """Since when an incomplete frame has waited for its remaining bytes (None: none waits).

        Measured from the latest chunk that completed a frame, so a steady stream whose
        chunks end mid-frame never looks stuck; a frame trickled a byte at a time does.
        """
        return self._partial_since

    @property
    def next_sequence(self) -> int:
        """The sequence the next request will get.

        A PDU built with it goes out as is; any other is copied to renumber it, which
        costs a few microseconds for a submit_sm.
        """
        seq = self._seq
        # Only after a wrap-around can a number still be in flight; skip it.
        while seq in self._window or seq in self._control:
            seq = 1 if seq >= MAX_SEQUENCE else seq + 1
        return seq

    def _take_sequence(self) -> int:
        seq = self.next_sequence
        self._seq = 1 if seq >= MAX_SEQUENCE else seq + 1
        return seq

    def _queue(self, pdu: Pdu) -> None:
        self._outbox += encode(pdu)

    def data_to_send(self) -> bytes:
        """Bytes the session queued by itself; write them after receive_data/tick."""
        out = bytes(self._outbox)
        self._outbox.clear()
        return out

    # --- receiving ----------------------------------------------------------------

    def receive_data(self, data: bytes | bytearray | memoryview, now: float) -> list[Event]:
        """Take bytes from the transport; return what they mean. Never raises on bad input."""
        if self._state is BindState.CLOSED or not data:
            return []
        self._last_rx = now
        closed = BindState.CLOSED  # compared below after calls that may close; not narrowed
        buf = self._buf
        src: bytes | bytearray | memoryview
        if buf:
            try:
                buf += data
            except BufferError:  # a decoded value still references the buffer: start a new one
                buf = self._buf = bytearray(buf)
                buf += data
            src = buf
        else:
            src = data  # common case: frames straight from the caller's chunk, no copy
        events: list[Event] = []
        view = memoryview(src)
        try:
            pos = self._receive_frames(view, events)
            if self._state is closed:
                self._buf = bytearray()
            elif src is not buf and pos < len(view):
                buf += view[pos:]
        finally:
            view.release()
        if src is buf and self._state is not closed:
            # CPython drops a bytearray's head in O(1) (it moves its start), so
            # consuming once per chunk costs nothing per PDU.
            try:
                del buf[:pos]
            except BufferError:
                self._buf = bytearray(buf[pos:])
        if not self._buf:
            self._partial_since = None
        elif pos or self._partial_since is None:
            self._partial_since = now
        return events

    def _receive_frames(self, view: memoryview, events: list[Event]) -> int:
        """Handle every whole frame in ``view``; return the offset of the first unused byte."""
        unpack = HEADER_STRUCT.unpack_from
        append = events.append
        window = self._window
        max_size = self._max_pdu_size
        end = len(view)
        pos = 0
        length: int
        command_id: int
        seq: int
        while end - pos >= HEADER_SIZE:
            length, command_id, _, seq = unpack(view, pos)
            if length < HEADER_SIZE or length > max_size:
                self._bad_length(length, command_id, seq, events)
                return pos
            if end - pos < length:
                break
            try:
                pdu = decode(view[pos : pos + length], max_pdu_size=max_size)
            except PduError as err:
                pos += length
                self._on_pdu_error(err.with_traceback(None), command_id, seq, events)
                if self._state is BindState.CLOSED:
                    return pos
                continue
            pos += length
            if command_id & RESPONSE_BIT:
                pending = window.get(seq)
                if pending is not None and (
                    pending[0].command_id | RESPONSE_BIT == command_id
                    or command_id == GENERIC_NACK
                ):
                    del window[seq]
                    append(ResponseReceived(pending[0], pdu, seq))
                    if self._peer_unbound and not window:
                        self._close(events)
                else:
                    self._on_other_response(pdu, command_id, seq, events)
            elif command_id in self._surfaced:
                append(PduReceived(pdu))
            else:
                self._on_other_request(pdu, command_id, seq, events)
            if self._state is BindState.CLOSED:
                return pos
        else:
            # A length below the header size is detectable from 4 bytes; do not wait
            # for 16 that a broken peer may never send.
            if end - pos >= 4 and LENGTH_STRUCT.unpack_from(view, pos)[0] < HEADER_SIZE:
                self._bad_length(LENGTH_STRUCT.unpack_from(view, pos)[0], 0, 0, events)
        return pos

    def _bad_length(self, length: int, command_id: int, seq: int, events: list[Event]) -> None:
        header_known = length >= HEADER_SIZE  # else the "header" runs into the next frame
        error = PduError(
            f"command_length {length} outside {HEADER_SIZE}..{self._max_pdu_size}",
            command_status=CommandStatus.ESME_RINVCMDLEN,
            command_id=command_id if header_known else None,
            sequence=seq if header_known else None,
            fatal=True,
        )
        self._on_pdu_error(error, command_id, seq if header_known else 0, events)

    def _on_pdu_error(self, err: PduError, command_id: int, seq: int, events: list[Event]) -> None:
        status = err.command_status or CommandStatus.ESME_RUNKNOWNERR
        reply: Pdu | None
        if err.fatal:
            reply = GenericNack(sequence=seq, command_status=status)
        elif command_id & RESPONSE_BIT:
            reply = None  # never answer a response; its request will time out
        else:
            reply = RESPONSE_FOR.get(command_id, GenericNack)(sequence=seq, command_status=status)
        if reply is not None:
            self._queue(reply)
        events.append(ProtocolError(err, reply))
        if err.fatal:
            self._close(events)

    def _on_other_response(self, pdu: Pdu, command_id: int, seq: int, events: list[Event]) -> None:
        pending = self._control.get(seq)
        if pending is None or not (
            pending[0].command_id | RESPONSE_BIT == command_id or command_id == GENERIC_NACK
        ):
            events.append(UnexpectedResponse(pdu))
            return
        del self._control[seq]
        request = pending[0]
        if request.command_id == ENQUIRE_LINK:
            self._keepalive_seq = None
        elif request.command_id == UNBIND:
            events.append(UnbindComplete(pdu))
            self._close(events)
        elif pdu.command_status == 0 and command_id != GENERIC_NACK:
            self._set_state(BOUND_BY_BIND[request.command_id])
            events.append(Bound(pdu))
        else:
            self._set_state(BindState.OPEN)  # the ESME may try again
            events.append(BindFailed(request, pdu))

    def _on_other_request(self, pdu: Pdu, command_id: int, seq: int, events: list[Event]) -> None:
        state = self._state
        if command_id == ENQUIRE_LINK:
            # Answered in any state, bound or not (as SMPP 5.0 allows): a keepalive
            # before bind is harmless and refusing it only breaks lenient clients.
            self.enquire_links_received += 1
            self._queue(EnquireLinkResp(sequence=seq))
            return
        if command_id == UNBIND:
            self._queue(UnbindResp(sequence=seq))
            events.append(Unbound(pdu))
            if not self._window:
                self._close(events)
                return
            # Requests of ours crossed the peer's unbind on the wire: the peer reads them
            # before our unbind_resp and answers them before it closes. Wait for those
            # answers (bounded by their response timers), sending nothing new, then close:
            # closing now would lose answers already on their way (a sender would not
            # know whether its message was taken).
            self._peer_unbound = True
            self._set_state(BindState.UNBINDING)
            return
        status: int
        if command_id in BIND_RESP and self.role is Role.SMSC:
            if state is BindState.OPEN:
                self._pending_bind = pdu
                self._set_state(BindState.BINDING)
                events.append(BindRequested(pdu))
                return
            bound = state is BindState.BINDING or state in BOUND_STATES
            status = CommandStatus.ESME_RALYBND if bound else CommandStatus.ESME_RINVBNDSTS
        elif command_id == OUTBIND and self.role is Role.ESME:
            if state is BindState.OPEN:
                events.append(OutbindReceived(pdu))
                return
            status = CommandStatus.ESME_RINVBNDSTS
        elif command_id in FROM_PEER[self.role]:
            status = CommandStatus.ESME_RINVBNDSTS
        else:
            status = CommandStatus.ESME_RINVCMDID  # the wrong side of the link sent it
        self._queue(RESPONSE_FOR.get(command_id, GenericNack)(sequence=seq, command_status=status))
        events.append(RequestRejected(pdu, status))

    def connection_lost(self) -> list[Event]:
        """The transport closed; returns ConnectionClosed unless the session already ended."""
        events: list[Event] = []
        self._close(events)
        return events

    # --- timers -------------------------------------------------------------------

    def tick(self, now: float) -> list[Event]:
        """Fire every timer due at ``now``: response timeouts, keepalive, idle timeout."""
        events: list[Event] = []
        if self._state is BindState.CLOSED:
            return events
        window = self._window
        while window:
            seq, (request, deadline) = next(iter(window.items()))
            if deadline > now:
                break
            del window[seq]
            events.append(RequestTimedOut(request, seq))
        closed = BindState.CLOSED  # a local: mypy does not see _control_timed_out close
        for seq, (request, deadline) in list(self._control.items()):
            if self._state is closed:
                break  # an earlier timeout closed the session and emptied _control
            if deadline <= now:
                del self._control[seq]
                self._control_timed_out(request, events)
        if self._peer_unbound and not window and self._state is not closed:
            self._close(events)  # the last answer awaited after the peer's unbind timed out
            return events
        if self._state in UNBOUND_STATES:
            idle_timeout = self._idle_timeout
            if idle_timeout is not None and now >= self._opened_at + idle_timeout:
                events.append(IdleTimeout())
                self._close(events)
            return events
        keepalive_at = self._keepalive_at()
        if keepalive_at is not None and now >= keepalive_at:
            self._queue(self._enquire_link(now))
        return events

    def probe(self, now: float) -> bytes:
        """An enquire_link to send now, because the caller suspects the link (a request
        timed out); unanswered within ``response_timeout`` it ends in ``LinkDead``.

        Empty when the session is not bound or a keepalive is already awaited: one
        probe answers for every request that timed out with it.
        """
        if self._keepalive_seq is not None or self._state not in BOUND_STATES:
            return b""
        return encode(self._enquire_link(now))

    def _enquire_link(self, now: float) -> EnquireLink:
        seq = self._take_sequence()
        enquire_link = EnquireLink(sequence=seq)
        self._control[seq] = (enquire_link, now + self._response_timeout)
        self._keepalive_seq = seq
        return enquire_link

    def _control_timed_out(self, request: Pdu, events: list[Event]) -> None:
        if self._state is BindState.CLOSED:
            return
        command_id = request.command_id
        if command_id == ENQUIRE_LINK:
            events.append(LinkDead())
            self._close(events)
        elif command_id == UNBIND:
            events.append(UnbindComplete(None))
            self._close(events)
        else:
            self._set_state(BindState.OPEN)
            events.append(BindFailed(request, None))

    def _keepalive_at(self) -> float | None:
        """When the next keepalive enquire_link is due: after an interval with nothing received."""
        interval = self._enquire_link_interval
        if interval is None or self._keepalive_seq is not None or self._state not in BOUND_STATES:
            return None
        return self._last_rx + interval

    def next_deadline(self) -> float | None:
        """When ``tick`` next has something to do, or None while nothing is scheduled."""
        if self._state is BindState.CLOSED:
            return None
        deadlines = [deadline for _, deadline in self._control.values()]
        if self._window:
            deadlines.append(next(iter(self._window.values()))[1])
        if self._state in UNBOUND_STATES:
            if self._idle_timeout is not None:
                deadlines.append(self._opened_at + self._idle_timeout)
        else:
            keepalive_at = self._keepalive_at()
            if keepalive_at is not None:
                deadlines.append(keepalive_at)
        return min(deadlines, default=None)

    # --- sending ------------------------------------------------------------------

    def send_request(self, pdu: Pdu, now: float) -> tuple[int, bytes]:
        """Number ``pdu`` with ``next_sequence`` (any other sequence it has is replaced), track
        it until its response or ``now + response_timeout``; return (sequence, bytes).

        Raises WindowFull when ``window`` requests are outstanding, LocalProtocolError when
        the role or bind state does not allow ``pdu``.
        """
        command_id = pdu.command_id
        if command_id not in self._sendable:
            raise LocalProtocolError(
                f"{_name(command_id)} cannot be sent by the {self.role.name} side in state "
                f"{self._state.name}"
                + (" (use bind/unbind/outbind)" if command_id in SESSION_REQUESTS else "")
            )
        expects_response = command_id in RESPONSE_FOR
        if expects_response and len(self._window) >= self._window_size:
            raise WindowFull(f"{len(self._window)} requests awaiting responses")
        seq = self._take_sequence()
        # Numbered in the encoding, not by copying the PDU: events carry ``seq`` beside it.
        data = encode(pdu, seq)  # before recording: a ValueError must leave no phantom request
        if expects_response:
            self._window[seq] = (pdu, now + self._response_timeout)
        return seq, data

    def send_response(self, request: Pdu, response: Pdu) -> bytes:
        """Answer ``request`` (a PduReceived pdu) with ``response``, copying its sequence.

        Returns b"" once the session is CLOSED: an answer computed asynchronously may
        race the peer's unbind, and there is nobody left to tell.
        """
        if self._state is BindState.CLOSED:
            return b""
        request_id = request.command_id
        if request_id in SESSION_REQUESTS:
            raise LocalProtocolError(
                f"{_name(request_id)} is answered by the session (accept_bind/reject_bind)"
            )
        response_id = response.command_id
        if response_id != request_id | RESPONSE_BIT and response_id != GENERIC_NACK:
            raise LocalProtocolError(
                f"{_name(response.command_id)} does not answer {_name(request_id)}"
            )
        return encode(response, request.sequence)

    def send_submit_sm_resp(self, request: Pdu, status: int, message_id: str) -> bytes:
        """``send_response`` for the PDU every MT gets, without building a SubmitSmResp."""
        if self._state is BindState.CLOSED:
            return b""
        if request.command_id != CommandId.submit_sm:
            raise LocalProtocolError(f"submit_sm_resp does not answer {_name(request.command_id)}")
        return encode_submit_sm_resp(request.sequence, status, message_id)

    def bind(
        self,
        kind: BindKind,
        system_id: str,
        password: str,
        system_type: str = "",
        *,
        now: float,
        addr_ton: int = 0,
        addr_npi: int = 0,
        address_range: str = "",
    ) -> bytes:
        """ESME side: ask to bind; ``Bound`` or ``BindFailed`` follows."""
        if self.role is not Role.ESME:
            raise LocalProtocolError("only the ESME side sends bind; the SMSC side accepts binds")
        if self._state is not BindState.OPEN:
            raise LocalProtocolError(f"cannot bind in state {self._state.name}")
        try:
            bind_class = BIND_CLASSES[kind]
        except KeyError:
            raise ValueError(
                f"bind kind must be transmitter, receiver or transceiver, not {kind!r}"
            ) from None
        request = bind_class(
            sequence=self._take_sequence(),
            system_id=system_id,
            password=password,
            system_type=system_type,
            addr_ton=addr_ton,
            addr_npi=addr_npi,
            address_range=address_range,
        )
        data = encode(request)
        self._control[request.sequence] = (request, now + self._response_timeout)
        self._set_state(BindState.BINDING)
        return data

    def accept_bind(self, request: Pdu, system_id: str) -> bytes:
        """SMSC side: accept the bind from ``BindRequested``; ``system_id`` is ours."""
        if self._state is BindState.CLOSED:
            return b""
        self._check_pending_bind(request)
        # sc_interface_version tells a 3.4 ESME which version we speak; a 3.3 ESME
        # knows no TLVs, so it gets none.
        version = getattr(request, "interface_version", 0)
        tlvs = ((int(Tag.sc_interface_version), b"\x34"),) if version >= 0x34 else ()
        response_class = BIND_RESP[request.command_id]
        data = encode(response_class(sequence=request.sequence, system_id=system_id, tlvs=tlvs))
        self._pending_bind = None
        self._set_state(BOUND_BY_BIND[request.command_id])
        return data

    def reject_bind(self, request: Pdu, status: int) -> bytes:
        """SMSC side: refuse the bind from ``BindRequested``; the peer may try again."""
        if status == 0:
            raise ValueError("reject_bind needs a non-zero command_status, e.g. ESME_RINVPASWD")
        if self._state is BindState.CLOSED:
            return b""
        self._check_pending_bind(request)
        self._pending_bind = None
        self._set_state(BindState.OPEN)
        response = BIND_RESP[request.command_id](sequence=request.sequence, command_status=status)
        return encode(response)

    def _check_pending_bind(self, request: Pdu) -> None:
        if self._pending_bind is None or request is not self._pending_bind:
            raise LocalProtocolError("no such bind is awaiting an answer (see BindRequested)")

    def unbind(self, now: float) -> bytes:
        """Start unbinding; ``UnbindComplete`` follows. Responses still in flight arrive."""
        if self._state not in BOUND_STATES:
            raise LocalProtocolError(f"cannot unbind in state {self._state.name}")
        request = Unbind(sequence=self._take_sequence())
        self._control[request.sequence] = (request, now + self._response_timeout)
        self._set_state(BindState.UNBINDING)
        return encode(request)

    def outbind(self, system_id: str, password: str) -> bytes:
        """SMSC side, on a connection it opened: ask the ESME to bind (it has no response)."""
        if self.role is not Role.SMSC or self._state is not BindState.OPEN:
            raise LocalProtocolError("outbind is sent by the SMSC side before any bind")
        return encode(
            Outbind(sequence=self._take_sequence(), system_id=system_id, password=password)
        )


def _name(command_id: int) -> str:
    try:
        return CommandId(command_id).name
    except ValueError:
        return f"command 0x{command_id:08X}"
