"""Two sessions wired back to back (ESME <-> SMSC), driven by hypothesis in any order.

Bytes cross the "wire" only when a rule delivers them, cut at any point, so
TCP's splitting, late responses, timeouts and garbage all interleave with
binds, traffic and unbinds. Whatever happens: no method that takes the peer's
bytes or the clock raises, the window never exceeds its limit, the session's
count of outstanding requests is the one a model of the conversation
expects, and a clean wire never produces a protocol error.
"""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from smpp.events import (
    BindRequested,
    ConnectionClosed,
    Event,
    PduReceived,
    ProtocolError,
    RequestTimedOut,
    ResponseReceived,
)
from smpp.pdu import RESPONSE_FOR, DeliverSm, EnquireLink, Pdu, SubmitSm
from smpp.session import BindState, LocalProtocolError, Role, Session, WindowFull

WINDOW = 3
TIMEOUT = 10.0


class _End:
    """One side of the wire: its session, what it still has to send, what the model expects."""

    def __init__(self, role: Role) -> None:
        self.session = Session(role, now=0.0, window=WINDOW, response_timeout=TIMEOUT,
                               enquire_link_interval=15.0, idle_timeout=60.0)
        self.outbox = bytearray()  # bytes written towards the other end, not yet delivered
        self.awaiting: set[int] = set()  # sequences of send_request requests not yet answered
        self.to_answer: list[Pdu] = []  # PduReceived requests the caller still owes a response
        self.bind_request: Pdu | None = None
        self.protocol_errors = 0

    def take(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, ResponseReceived | RequestTimedOut):
                self.awaiting.remove(event.sequence)  # KeyError: a response we never awaited
            elif isinstance(event, ConnectionClosed):
                assert len(event.unanswered) == len(self.awaiting)
                self.awaiting.clear()
                self.to_answer.clear()
            elif isinstance(event, PduReceived) and event.pdu.command_id in RESPONSE_FOR:
                self.to_answer.append(event.pdu)
            elif isinstance(event, BindRequested):
                self.bind_request = event.pdu
            elif isinstance(event, ProtocolError):
                self.protocol_errors += 1
        self.outbox += self.session.data_to_send()

    def send(self, pdu: Pdu, now: float) -> None:
        try:
            seq, data = self.session.send_request(pdu, now)
        except (LocalProtocolError, WindowFull):
            return  # a caller's mistake, refused before anything was sent or counted
        self.awaiting.add(seq)
        self.outbox += data


class SessionPair(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.esme = _End(Role.ESME)
        self.smsc = _End(Role.SMSC)
        self.now = 0.0
        self.garbage_sent = False

    def other(self, end: _End) -> _End:
        return self.smsc if end is self.esme else self.esme

    @initialize(kind=st.sampled_from(["transmitter", "receiver", "transceiver", None]))
    def start(self, kind: str | None) -> None:
        """Mostly start bound (a clean handshake): traffic is where most states are."""
        if kind is None:
            return
        self.bind(kind)
        self.deliver(True, 400)
        self.answer_bind(True)
        self.deliver(False, 400)

    # --- the ESME's caller ------------------------------------------------------------

    @precondition(lambda self: self.esme.session.state is BindState.OPEN)
    @rule(kind=st.sampled_from(["transmitter", "receiver", "transceiver"]))
    def bind(self, kind: str) -> None:
        self.esme.outbox += self.esme.session.bind(kind, "acme", "secret",  # type: ignore[arg-type]
                                                   now=self.now)

    @rule(text=st.binary(max_size=40))
    def esme_submits(self, text: bytes) -> None:
        self.esme.send(SubmitSm(destination_addr="33612345678", short_message=text), self.now)

    @rule(side=st.booleans())
    def enquire_link(self, side: bool) -> None:
        (self.esme if side else self.smsc).send(EnquireLink(), self.now)

    @rule(side=st.booleans())
    def unbind(self, side: bool) -> None:
        end = self.esme if side else self.smsc
        try:
            end.outbox += end.session.unbind(self.now)
        except LocalProtocolError:
            assert end.session.state not in (BindState.BOUND_TX, BindState.BOUND_RX,
                                             BindState.BOUND_TRX)

    # --- the SMSC's caller ------------------------------------------------------------

    @precondition(lambda self: self.smsc.bind_request is not None)
    @rule(accept=st.booleans())
    def answer_bind(self, accept: bool) -> None:
        request, self.smsc.bind_request = self.smsc.bind_request, None
        assert request is not None
        # LocalProtocolError: the bind was superseded (the session closed meanwhile).
        with contextlib.suppress(LocalProtocolError):
            self.smsc.outbox += (self.smsc.session.accept_bind(request, "stopgate") if accept
                                 else self.smsc.session.reject_bind(request, 0x0E))

    @rule(text=st.binary(max_size=40))
    def smsc_delivers(self, text: bytes) -> None:
        self.smsc.send(DeliverSm(source_addr="33612345678", short_message=text), self.now)

    @rule(side=st.booleans(), status=st.sampled_from([0, 0, 0x58]))
    def respond(self, side: bool, status: int) -> None:
        end = self.esme if side else self.smsc
        if end.to_answer:
            request = end.to_answer.pop(0)
            response = RESPONSE_FOR[request.command_id](command_status=status)
            end.outbox += end.session.send_response(request, response)

    # --- the wire and the clock -------------------------------------------------------

    @rule(side=st.booleans(), cut=st.integers(0, 400))
    def deliver(self, side: bool, cut: int) -> None:
        """Hand the receiver what is on the wire, in two chunks cut anywhere."""
        sender = self.esme if side else self.smsc
        receiver = self.other(sender)
        wire, sender.outbox = bytes(sender.outbox), bytearray()
        cut = min(cut, len(wire))
        for chunk in (wire[:cut], wire[cut:]):
            receiver.take(receiver.session.receive_data(chunk, self.now))

    # Garbage and a lost connection mostly end the session: drawn one time in four, so
    # most runs also get far with traffic.
    @rule(side=st.booleans(), junk=st.binary(min_size=1, max_size=40), draw=st.integers(0, 3))
    def inject_garbage(self, side: bool, junk: bytes, draw: int) -> None:
        if draw:
            return
        self.garbage_sent = True
        (self.esme if side else self.smsc).outbox += junk

    @rule(seconds=st.sampled_from([0.5, 3.0, TIMEOUT, 16.0, 61.0]))
    def tick(self, seconds: float) -> None:
        self.now += seconds
        for end in (self.esme, self.smsc):
            end.take(end.session.tick(self.now))

    @rule(side=st.booleans(), draw=st.integers(0, 3))
    def connection_lost(self, side: bool, draw: int) -> None:
        if draw:
            return
        end = self.esme if side else self.smsc
        end.take(end.session.connection_lost())

    # --- what must always hold --------------------------------------------------------

    @invariant()
    def window_holds_and_counts_agree(self) -> None:
        for end in (self.esme, self.smsc):
            assert end.session.outstanding <= WINDOW
            assert end.session.outstanding == len(end.awaiting)

    @invariant()
    def a_clean_wire_gives_no_protocol_errors(self) -> None:
        if not self.garbage_sent:
            assert self.esme.protocol_errors == self.smsc.protocol_errors == 0

    @invariant()
    def a_closed_session_holds_nothing(self) -> None:
        for end in (self.esme, self.smsc):
            if end.session.state is BindState.CLOSED:
                assert end.session.outstanding == 0
                assert end.session.next_deadline() is None


SessionPair.TestCase.settings = settings(
    max_examples=60, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_session_pair = SessionPair.TestCase
