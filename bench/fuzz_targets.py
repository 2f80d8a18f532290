"""The contract each fuzz target must keep, as functions of one input's bytes.

Every target takes ``bytes`` and either returns or raises ``ContractBroken``
(any other exception escaping is a broken contract too). Inputs are plain
bytes, not Python objects, so a finding is a file that replays byte for byte
(tests/smpp/test_fuzz_corpus.py) and any bytes at all are a valid input: the
session and reassembler targets read theirs as a small program (see
``SessionOp`` and ``ReassemblyOp``), so a mutated program is still a program.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from functools import partial

from smpp.codec import decode, encode, frame_length, parse_header
from smpp.constants import HEADER_SIZE, RESPONSE_BIT, CommandStatus
from smpp.errors import PduError
from smpp.events import (
    BindRequested,
    ConnectionClosed,
    Event,
    PduReceived,
    ProtocolError,
)
from smpp.pdu import (
    RESPONSE_FOR,
    DataSm,
    DeliverSm,
    EnquireLink,
    GenericNack,
    Pdu,
    SubmitSm,
)
from smpp.reassembly import Completed, Expired, Reassembler, ReassemblyError
from smpp.segments import ConcatError, ConcatInfo, concat_info
from smpp.session import LocalProtocolError, Session, WindowFull
from smpp.states import BindKind, BindState, Role
from smpp.text import ConcatKind

__all__ = ["TARGETS", "ContractBroken", "ReassemblyOp", "SessionOp"]


class ContractBroken(AssertionError):
    """The code under test did something its documentation says it never does."""


class _Reader:
    """Reads a program's operands; past the end every read is 0 or empty (never raises)."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def more(self) -> bool:
        return self.pos < len(self.data)

    def u8(self) -> int:
        pos = self.pos
        self.pos = pos + 1
        return self.data[pos] if pos < len(self.data) else 0

    def u16(self) -> int:
        return (self.u8() << 8) | self.u8()

    def take(self, size: int) -> bytes:
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk


# --- (a) the PDU decoder -----------------------------------------------------------------

def _outcome(frame: bytes | memoryview) -> Pdu | tuple[int, bool]:
    try:
        return decode(frame)
    except PduError as err:
        return (err.command_status, err.fatal)


def check_decode(data: bytes) -> None:
    """decode raises only PduError, never hides an internal error, and round-trips what it
    accepts; frame_length and parse_header raise only PduError."""
    try:
        pdu = decode(data)
    except PduError as err:
        # decode turns an unexpected exception into ESME_RSYSERR to keep sessions alive:
        # on fuzzed input that status means a codec bug was caught, not a bad frame.
        if err.command_status == CommandStatus.ESME_RSYSERR:
            raise ContractBroken(f"decode hid an internal error: {err.message}") from None
        pdu = None
    try:
        length = frame_length(data)
        parse_header(data)
    except PduError:
        length = None
    if pdu is None:
        return
    _, command_id, status, sequence = parse_header(data)
    if (pdu.command_id, pdu.command_status, pdu.sequence) != (command_id, status, sequence):
        raise ContractBroken(f"decoded header {pdu!r} differs from the frame's")
    if length != len(data):
        raise ContractBroken(f"frame_length {length} for a decodable frame of {len(data)}")
    # A response with an empty body decodes to default fields (a documented leniency),
    # which encode writes out in full: only bodies that were sent can round-trip.
    if len(data) > HEADER_SIZE or not command_id & RESPONSE_BIT:
        try:
            again = encode(pdu)
        except ValueError as exc:
            raise ContractBroken(f"decode accepted what encode refuses: {exc}") from None
        if again != data:
            raise ContractBroken(f"encode(decode(frame)) differs: {again.hex()}")
    # The session decodes slices of its receive buffer: the bytes after the frame must
    # not change the outcome ("never reads past the frame").
    padded = memoryview(data + b"\x00\xff" * 8)[: len(data)]
    if _outcome(padded) != pdu:
        raise ContractBroken("decode of a memoryview slice differs from decode of bytes")


# --- (b) the session state machine -------------------------------------------------------

class SessionOp(IntEnum):
    """One step of a session program; operands follow the op byte."""

    DATA = 0  # u16 size, bytes: the peer's bytes as TCP delivered them
    TICK = 1  # u16 hundredths of a second to advance the clock, then tick(now)
    BIND = 2  # u8 kind: ESME asks to bind
    ANSWER_BIND = 3  # u8 status (0 accepts): SMSC answers the last BindRequested
    SEND = 4  # u8 kind: send_request of submit_sm / deliver_sm / data_sm / enquire_link
    RESPOND = 5  # u8 status: answer the oldest PduReceived request
    REPLY = 6  # u8 pick, u8 status, u8 cut: the peer answers a request the session sent
    UNBIND = 7
    LOST = 8  # connection_lost()


_SESSION_OPS = len(SessionOp)
_BIND_KINDS: tuple[BindKind, ...] = ("transmitter", "receiver", "transceiver")
_MAX_PDU_SIZES = (64, 512, 65536)
_TIMERS = ((None, None), (5.0, 10.0), (30.0, 60.0))
#: Requests remembered for REPLY/RESPOND; a program never needs older ones.
_REMEMBERED = 32


def _frames(out: bytes, where: str) -> list[Pdu]:
    """Every PDU in bytes the session produced; they must all decode."""
    pdus = []
    pos = 0
    while pos < len(out):
        try:
            length = frame_length(out, pos)
            if length is None or pos + length > len(out):
                raise ContractBroken(f"{where} produced a partial frame: {out[pos:].hex()}")
            pdus.append(decode(out[pos : pos + length]))
        except PduError as err:
            raise ContractBroken(f"{where} produced a frame decode refuses: {err}") from None
        pos += length
    return pdus


class _SessionRun:
    """Runs one session program and checks the session after every step."""

    def __init__(self, program: bytes) -> None:
        self.r = _Reader(program)
        header = self.r.take(4).ljust(4, b"\0")
        self.role = Role.ESME if header[0] & 1 else Role.SMSC
        self.window = 1 + header[1] % 8
        self.max_pdu_size = _MAX_PDU_SIZES[header[2] % len(_MAX_PDU_SIZES)]
        keepalive, idle = _TIMERS[header[3] % len(_TIMERS)]
        self.now = 0.0
        self.session = Session(
            self.role, now=0.0, window=self.window, max_pdu_size=self.max_pdu_size,
            response_timeout=20.0, enquire_link_interval=keepalive, idle_timeout=idle,
        )
        self.closed_seen = False
        self.closed_buffered = 0  # buffered when the session closed
        self.sent: list[Pdu] = []  # requests the session put on the wire, with their sequence
        self.received: list[Pdu] = []  # requests surfaced to us, to answer
        self.bind_request: Pdu | None = None

    def run(self) -> None:
        while self.r.more():
            op = self.r.u8() % _SESSION_OPS
            self.step(SessionOp(op))
            self.check_invariants(SessionOp(op))

    def step(self, op: SessionOp) -> None:
        s, r = self.session, self.r
        if op is SessionOp.DATA:
            self.receive(r.take(r.u16()))
        elif op is SessionOp.TICK:
            self.now += r.u16() / 100
            self.events(s.tick(self.now), "tick")
            deadline = s.next_deadline()
            if deadline is not None and deadline <= self.now:
                raise ContractBroken(f"tick({self.now}) left a deadline due at {deadline}")
        elif op is SessionOp.BIND:
            kind = _BIND_KINDS[r.u8() % 3]
            self.caller(partial(s.bind, kind, "fuzz", "secret", now=self.now), "bind")
        elif op is SessionOp.ANSWER_BIND:
            status, request = r.u8(), self.bind_request
            if request is not None:
                self.caller(partial(s.reject_bind, request, status) if status else
                            partial(s.accept_bind, request, "stopgate"), "answer_bind")
        elif op is SessionOp.SEND:
            pdu = _request(r.u8())
            self.caller(lambda: s.send_request(pdu, self.now)[1], "send_request")
        elif op is SessionOp.RESPOND:
            status = r.u8()
            if self.received:
                request = self.received.pop(0)
                response = RESPONSE_FOR.get(request.command_id, GenericNack)(
                    command_status=status)
                self.caller(partial(s.send_response, request, response), "send_response")
        elif op is SessionOp.REPLY:
            pick, status, cut = r.u8(), r.u8(), r.u8()
            if self.sent:
                request = self.sent[-1 - pick % len(self.sent)]
                # Mostly success, so binds succeed and programs reach the bound states.
                answer = RESPONSE_FOR.get(request.command_id, GenericNack)(
                    sequence=request.sequence, command_status=0 if status < 192 else status)
                frame = encode(answer)
                cut %= len(frame) + 1
                self.receive(frame[:cut])
                self.receive(frame[cut:])
        elif op is SessionOp.UNBIND:
            self.caller(lambda: s.unbind(self.now), "unbind")
        else:
            self.events(s.connection_lost(), "connection_lost")

    def receive(self, chunk: bytes) -> None:
        was_closed = self.session.state is BindState.CLOSED
        events = self.session.receive_data(chunk, self.now)
        if was_closed and events:
            raise ContractBroken(f"receive_data after CLOSED returned {events!r}")
        self.events(events, "receive_data")

    def caller(self, call: Callable[[], bytes], what: str) -> None:
        """A caller-side method: its documented refusals are fine, its bytes must decode."""
        try:
            out = call()
        except (LocalProtocolError, WindowFull):
            return
        self.remember(_frames(out, what))

    def remember(self, pdus: list[Pdu]) -> None:
        self.sent.extend(p for p in pdus if not p.command_id & RESPONSE_BIT)
        del self.sent[:-_REMEMBERED]

    def events(self, events: list[Event], where: str) -> None:
        for index, event in enumerate(events):
            if not isinstance(event, Event):
                raise ContractBroken(f"{where} returned a non-event {event!r}")
            if isinstance(event, ConnectionClosed):
                if self.closed_seen:
                    raise ContractBroken(f"{where}: a second ConnectionClosed")
                if index != len(events) - 1:
                    raise ContractBroken(f"{where}: ConnectionClosed is not the last event")
                self.closed_seen = True
            elif isinstance(event, ProtocolError) and event.fatal and not isinstance(
                events[-1], ConnectionClosed
            ):
                raise ContractBroken(f"{where}: fatal {event.error} without closing")
            elif isinstance(event, BindRequested):
                self.bind_request = event.pdu
            elif isinstance(event, PduReceived):
                self.received.append(event.pdu)
                del self.received[:-_REMEMBERED]

    def check_invariants(self, op: SessionOp) -> None:
        s = self.session
        self.remember(_frames(s.data_to_send(), f"{op.name}: data_to_send"))
        if s.outstanding > self.window:
            raise ContractBroken(f"{s.outstanding} outstanding over a window of {self.window}")
        if s.buffered >= self.max_pdu_size:
            raise ContractBroken(f"{s.buffered} octets buffered, max_pdu_size {self.max_pdu_size}")
        if (s.state is BindState.CLOSED) != self.closed_seen:
            raise ContractBroken(f"state {s.state.name} but ConnectionClosed seen: "
                                 f"{self.closed_seen}")
        # A session closed by a timer or connection_lost keeps its partial frame until it
        # is dropped; bounded (< max_pdu_size) and never added to, so only growth is a fault.
        if s.state is BindState.CLOSED and (s.outstanding or s.buffered > self.closed_buffered):
            raise ContractBroken("a CLOSED session still tracks requests or takes bytes")
        if s.state is not BindState.CLOSED:
            self.closed_buffered = s.buffered


def _request(kind: int) -> Pdu:
    choice = kind % 4
    if choice == 0:
        return SubmitSm(destination_addr="33612345678", short_message=b"fuzz" * (kind % 8))
    if choice == 1:
        return DeliverSm(source_addr="33612345678", short_message=b"STOP")
    if choice == 2:
        return DataSm(destination_addr="33612345678")
    return EnquireLink()


def check_session(program: bytes) -> None:
    """receive_data, tick and connection_lost never raise; the session keeps its bounds."""
    _SessionRun(program).run()


# --- (c) the reassembler -----------------------------------------------------------------

class ReassemblyOp(IntEnum):
    """One step of a reassembler program; operands follow the op byte."""

    # u8 key, u8 esm_class, u8 size + short_message, u8 count + TLVs (u16 tag, u8 size, value):
    # a PDU's fields through concat_info, then add
    PDU = 0
    # u8 key, u8 kind, u16 ref, u8 total, u8 seqnum, u8 size + payload: a part as parsed
    PART = 1
    TICK = 2  # u16 hundredths of a second to advance the clock, then expire(now)


_REASSEMBLY_OPS = len(ReassemblyOp)
_PART_KINDS: tuple[ConcatKind, ...] = ("udh8", "udh16", "sar")


class _ReassemblyRun:
    def __init__(self, program: bytes) -> None:
        self.r = _Reader(program)
        header = self.r.take(4).ljust(4, b"\0")
        self.reassembler: Reassembler[int] = Reassembler(
            max_pending=1 + header[0] % 8, max_bytes=(header[1] << 4) | (header[2] & 0xF),
            timeout=1.0 + header[3] % 60, owners=1 + (header[0] >> 3) % 2,
        )
        self.now = 0.0
        self.accepted = 0  # parts add() took (did not refuse)
        self.returned = 0  # parts handed back in Completed or Expired

    def run(self) -> None:
        step = 0
        while self.r.more():
            op = ReassemblyOp(self.r.u8() % _REASSEMBLY_OPS)
            if op is ReassemblyOp.TICK:
                self.now += self.r.u16() / 100
                self.expire(self.now)
            else:
                key, info = self.read_part(op)
                if info is not None:
                    self.add(key, info, step)
            self.check_bounds()
            step += 1
        # Every part taken comes back exactly once: nothing is lost or kept forever.
        self.expire(self.now + self.reassembler.timeout + 1)  # + 1: float rounding of now - started
        if self.reassembler.pending or self.reassembler.pending_bytes:
            raise ContractBroken("messages left after expiring past the timeout")
        if self.accepted != self.returned:
            raise ContractBroken(f"{self.accepted} parts taken, {self.returned} handed back")

    def read_part(self, op: ReassemblyOp) -> tuple[int, ConcatInfo | None]:
        r = self.r
        key = r.u8() % 4
        if op is ReassemblyOp.PDU:
            esm_class = r.u8()
            short_message = r.take(r.u8())
            tlvs = tuple((r.u16(), r.take(r.u8())) for _ in range(r.u8() % 5))
            try:
                return key, concat_info(esm_class, short_message, tlvs)
            except ConcatError:
                return key, None
        kind = _PART_KINDS[r.u8() % 3]
        ref, total, seqnum = r.u16(), r.u8(), r.u8()
        payload = r.take(r.u8())
        if kind == "udh8":
            ref &= 0xFF
        try:
            return key, ConcatInfo(kind, ref, total, seqnum, payload)
        except ValueError:  # an impossible position; concat_info never builds one
            return key, None

    def add(self, key: int, info: ConcatInfo, context: int) -> None:
        try:
            completed = self.reassembler.add(key, info, self.now, context, owner=key % 2)
        except ReassemblyError:
            return
        self.accepted += 1
        if completed is not None:
            self.check_message(completed)

    def expire(self, now: float) -> None:
        for expired in self.reassembler.expire(now):
            self.check_message(expired)
            if expired.reason == "timeout" and now - expired.started < self.reassembler.timeout:
                raise ContractBroken(f"expired at {now} a message started at {expired.started}")

    def check_message(self, message: Completed[int] | Expired[int]) -> None:
        seqnums = [part.seqnum for part in message.parts]
        if seqnums != sorted(set(seqnums)) or len(message.contexts) != len(message.parts):
            raise ContractBroken(f"parts out of order or repeated: {seqnums}")
        if any(part.ref != message.ref or part.total != message.total for part in message.parts):
            raise ContractBroken("a message holds a part of another message")
        if isinstance(message, Completed):
            if seqnums != list(range(1, message.total + 1)):
                raise ContractBroken(f"completed with parts {seqnums} of {message.total}")
            if message.payload != b"".join(part.payload for part in message.parts):
                raise ContractBroken("completed payload is not its parts joined")
        self.returned += len(message.parts)

    def check_bounds(self) -> None:
        reassembler = self.reassembler
        if reassembler.pending > reassembler.max_pending:
            raise ContractBroken(f"{reassembler.pending} pending, max {reassembler.max_pending}")
        if not 0 <= reassembler.pending_bytes <= reassembler.max_bytes:
            raise ContractBroken(
                f"{reassembler.pending_bytes} pending bytes, max {reassembler.max_bytes}")


def check_reassembly(program: bytes) -> None:
    """concat_info raises only ConcatError, add only ReassemblyError; bounds always hold and
    every part taken is handed back once."""
    _ReassemblyRun(program).run()


TARGETS: dict[str, Callable[[bytes], None]] = {
    "decode": check_decode,
    "session": check_session,
    "reassembly": check_reassembly,
}
