"""The SMPP session state machine: an ESME session and an SMSC session talking in memory."""

from __future__ import annotations

import struct

import pytest

from smpp.codec import decode, encode
from smpp.constants import CommandId, CommandStatus, Tag
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
from smpp.pdu import (
    AlertNotification,
    BindTransmitter,
    CancelSm,
    DataSm,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Pdu,
    QuerySm,
    SubmitSm,
    SubmitSmResp,
    UnbindResp,
)
from smpp.session import BindKind, BindState, LocalProtocolError, Role, Session, WindowFull

S = CommandStatus


def frames(data: bytes) -> list[Pdu]:
    """Split a byte stream into decoded PDUs."""
    pdus = []
    while data:
        (length,) = struct.unpack_from(">I", data)
        pdus.append(decode(data[:length]))
        data = data[length:]
    return pdus


def submit(text: bytes = b"hello") -> SubmitSm:
    return SubmitSm(source_addr="36173", destination_addr="33612345678", short_message=text)


def new_pair(**options: float | int | None) -> tuple[Session, Session]:
    esme = Session(Role.ESME, now=0.0, **options)
    smsc = Session(Role.SMSC, now=0.0, **options)
    return esme, smsc


def bound_pair(
    kind: BindKind = "transceiver", **options: float | int | None
) -> tuple[Session, Session]:
    esme, smsc = new_pair(**options)
    (requested,) = smsc.receive_data(esme.bind(kind, "acme", "secret", now=0.0), 0.0)
    assert isinstance(requested, BindRequested)
    (bound,) = esme.receive_data(smsc.accept_bind(requested.pdu, "stopgate"), 0.0)
    assert isinstance(bound, Bound)
    return esme, smsc


def only(events: list[Event], kind: type[Event]) -> list[Event]:
    return [event for event in events if isinstance(event, kind)]


# --- binds ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "state"),
    [
        ("transmitter", BindState.BOUND_TX),
        ("receiver", BindState.BOUND_RX),
        ("transceiver", BindState.BOUND_TRX),
    ],
)
def test_accepted_bind_binds_both_sides_in_the_requested_mode(
    kind: BindKind, state: BindState
) -> None:
    esme, smsc = new_pair()
    data = esme.bind(kind, "acme", "secret", now=0.0)
    assert esme.state is BindState.BINDING

    (requested,) = smsc.receive_data(data, 0.0)
    assert isinstance(requested, BindRequested)
    assert requested.pdu.system_id == "acme"
    assert requested.pdu.password == "secret"
    assert smsc.state is BindState.BINDING

    (bound,) = esme.receive_data(smsc.accept_bind(requested.pdu, "stopgate"), 0.1)
    assert isinstance(bound, Bound)
    assert bound.response.system_id == "stopgate"
    assert esme.state is state
    assert smsc.state is state


def test_bind_response_to_a_3_4_esme_carries_sc_interface_version() -> None:
    esme, smsc = new_pair()
    (requested,) = smsc.receive_data(esme.bind("transmitter", "acme", "secret", now=0.0), 0.0)
    (bound,) = esme.receive_data(smsc.accept_bind(requested.pdu, "stopgate"), 0.0)
    assert isinstance(bound, Bound)
    assert bound.response.tlv(Tag.sc_interface_version) == b"\x34"


def test_bind_response_to_a_3_3_esme_carries_no_tlv() -> None:
    smsc = Session(Role.SMSC, now=0.0)
    (requested,) = smsc.receive_data(
        encode(BindTransmitter(sequence=1, system_id="old", interface_version=0x33)), 0.0
    )
    assert isinstance(requested, BindRequested)
    (response,) = frames(smsc.accept_bind(requested.pdu, "stopgate"))
    assert response.tlvs == ()


def test_bind_rejected_with_invalid_password_reports_bind_failed_and_both_sides_stay_open() -> None:
    esme, smsc = new_pair()
    (requested,) = smsc.receive_data(esme.bind("transceiver", "acme", "wrong", now=0.0), 0.0)
    assert isinstance(requested, BindRequested)

    (failed,) = esme.receive_data(smsc.reject_bind(requested.pdu, S.ESME_RINVPASWD), 0.0)
    assert isinstance(failed, BindFailed)
    assert failed.status == S.ESME_RINVPASWD
    assert esme.state is BindState.OPEN
    assert smsc.state is BindState.OPEN

    # and the ESME may try again on the same connection
    (requested,) = smsc.receive_data(esme.bind("transceiver", "acme", "secret", now=1.0), 1.0)
    assert isinstance(requested, BindRequested)


def test_bind_that_gets_no_response_fails_without_one() -> None:
    esme = Session(Role.ESME, now=0.0, response_timeout=5.0, idle_timeout=None)
    esme.bind("transmitter", "acme", "secret", now=0.0)
    assert esme.next_deadline() == 5.0
    assert esme.tick(4.9) == []
    (failed,) = esme.tick(5.0)
    assert isinstance(failed, BindFailed)
    assert failed.response is None
    assert failed.status is None
    assert esme.state is BindState.OPEN


def test_accept_bind_only_answers_the_pending_bind() -> None:
    esme, smsc = new_pair()
    smsc.receive_data(esme.bind("transceiver", "acme", "secret", now=0.0), 0.0)
    with pytest.raises(LocalProtocolError):
        smsc.accept_bind(BindTransmitter(sequence=1, system_id="acme"), "stopgate")


def test_only_the_esme_side_binds_and_only_the_smsc_side_accepts() -> None:
    esme, smsc = new_pair()
    with pytest.raises(LocalProtocolError):
        smsc.bind("transmitter", "acme", "secret", now=0.0)
    with pytest.raises(LocalProtocolError):
        esme.accept_bind(BindTransmitter(sequence=1), "x")


def test_second_bind_on_a_bound_session_is_answered_with_ralybnd() -> None:
    _, smsc = bound_pair()
    (rejected,) = smsc.receive_data(encode(BindTransmitter(sequence=77, system_id="acme")), 1.0)
    assert isinstance(rejected, RequestRejected)
    assert rejected.status == S.ESME_RALYBND
    (reply,) = frames(smsc.data_to_send())
    assert reply.command_id == CommandId.bind_transmitter_resp
    assert (reply.sequence, reply.command_status) == (77, S.ESME_RALYBND)
    assert smsc.state is BindState.BOUND_TRX


def test_bind_while_another_awaits_its_answer_is_answered_with_ralybnd() -> None:
    smsc = Session(Role.SMSC, now=0.0)
    smsc.receive_data(encode(BindTransmitter(sequence=1, system_id="acme")), 0.0)
    (rejected,) = smsc.receive_data(encode(BindTransmitter(sequence=2, system_id="acme")), 0.0)
    assert isinstance(rejected, RequestRejected)
    assert rejected.status == S.ESME_RALYBND


# --- bind state enforcement ------------------------------------------------------------


def test_submit_sm_before_bind_is_answered_with_rinvbndsts() -> None:
    smsc = Session(Role.SMSC, now=0.0)
    (rejected,) = smsc.receive_data(encode(SubmitSm(sequence=5, destination_addr="33612")), 0.0)
    assert isinstance(rejected, RequestRejected)
    assert rejected.status == S.ESME_RINVBNDSTS
    (reply,) = frames(smsc.data_to_send())
    assert isinstance(reply, SubmitSmResp)
    assert (reply.sequence, reply.command_status) == (5, S.ESME_RINVBNDSTS)
    assert smsc.state is BindState.OPEN


def test_submit_sm_sent_while_the_bind_awaits_its_answer_is_answered_with_rinvbndsts() -> None:
    smsc = Session(Role.SMSC, now=0.0)
    chunk = encode(BindTransmitter(sequence=1)) + encode(SubmitSm(sequence=2))
    requested, rejected = smsc.receive_data(chunk, 0.0)
    assert isinstance(requested, BindRequested)
    assert isinstance(rejected, RequestRejected)
    assert rejected.status == S.ESME_RINVBNDSTS


def test_submit_sm_on_a_receiver_bind_is_answered_with_rinvbndsts() -> None:
    _, smsc = bound_pair("receiver")
    (rejected,) = smsc.receive_data(encode(SubmitSm(sequence=9)), 1.0)
    assert isinstance(rejected, RequestRejected)
    assert rejected.status == S.ESME_RINVBNDSTS
    (reply,) = frames(smsc.data_to_send())
    assert isinstance(reply, SubmitSmResp)
    assert reply.command_status == S.ESME_RINVBNDSTS


def test_esme_may_not_send_submit_sm_on_a_receiver_bind_nor_before_binding() -> None:
    esme, _ = bound_pair("receiver")
    with pytest.raises(LocalProtocolError):
        esme.send_request(submit(), 1.0)
    unbound = Session(Role.ESME, now=0.0)
    with pytest.raises(LocalProtocolError):
        unbound.send_request(submit(), 0.0)


def test_smsc_may_not_send_deliver_sm_on_a_transmitter_bind() -> None:
    _, smsc = bound_pair("transmitter")
    with pytest.raises(LocalProtocolError):
        smsc.send_request(DeliverSm(destination_addr="36173"), 1.0)


def test_deliver_sm_sent_to_the_smsc_side_is_refused_as_the_wrong_direction() -> None:
    _, smsc = bound_pair()
    (rejected,) = smsc.receive_data(encode(DeliverSm(sequence=3)), 1.0)
    assert isinstance(rejected, RequestRejected)
    assert rejected.status == S.ESME_RINVCMDID
    (reply,) = frames(smsc.data_to_send())
    assert isinstance(reply, DeliverSmResp)


def test_deliver_sm_on_a_transmitter_bind_is_refused_by_the_esme_side() -> None:
    esme, _ = bound_pair("transmitter")
    (rejected,) = esme.receive_data(encode(DeliverSm(sequence=3)), 1.0)
    assert isinstance(rejected, RequestRejected)
    assert rejected.status == S.ESME_RINVBNDSTS


@pytest.mark.parametrize(
    "request_pdu",
    [submit(), DataSm(destination_addr="336"), QuerySm(message_id="1"), CancelSm(message_id="1")],
)
def test_requests_from_a_transmitting_esme_reach_the_smsc_caller(request_pdu: Pdu) -> None:
    esme, smsc = bound_pair("transmitter")
    seq, data = esme.send_request(request_pdu, 1.0)
    (received,) = smsc.receive_data(data, 1.0)
    assert isinstance(received, PduReceived)
    assert type(received.pdu) is type(request_pdu)
    assert received.pdu.sequence == seq


@pytest.mark.parametrize(
    ("request_pdu", "response_pdu"),
    [
        (DeliverSm(destination_addr="36173"), DeliverSmResp()),
        (DataSm(destination_addr="36173"), DataSmResp(message_id="m1")),
    ],
)
def test_requests_from_the_smsc_reach_a_receiving_esme(request_pdu: Pdu, response_pdu: Pdu) -> None:
    esme, smsc = bound_pair("receiver")
    seq, data = smsc.send_request(request_pdu, 1.0)
    (received,) = esme.receive_data(data, 1.0)
    assert isinstance(received, PduReceived)
    assert received.pdu.sequence == seq
    (answered,) = smsc.receive_data(esme.send_response(received.pdu, response_pdu), 1.1)
    assert isinstance(answered, ResponseReceived)
    assert answered.sequence == seq
    assert type(answered.response) is type(response_pdu)


def test_alert_notification_expects_no_response_and_takes_no_window_slot() -> None:
    esme, smsc = bound_pair("receiver", window=1)
    _, data = smsc.send_request(AlertNotification(source_addr="336", esme_addr="36173"), 1.0)
    assert smsc.outstanding == 0
    (received,) = esme.receive_data(data, 1.0)
    assert isinstance(received, PduReceived)
    assert isinstance(received.pdu, AlertNotification)


# --- requests, responses and the window -----------------------------------------------


def test_response_is_matched_to_its_request() -> None:
    esme, smsc = bound_pair()
    seq, data = esme.send_request(submit(), 1.0)
    (received,) = smsc.receive_data(data, 1.0)
    assert isinstance(received, PduReceived)
    reply = smsc.send_response(received.pdu, SubmitSmResp(message_id="abc"))
    (answered,) = esme.receive_data(reply, 1.2)
    assert isinstance(answered, ResponseReceived)
    assert answered.sequence == seq
    assert answered.request.short_message == b"hello"
    assert answered.response.message_id == "abc"
    assert esme.outstanding == 0


def test_responses_out_of_order_each_find_their_request() -> None:
    esme, smsc = bound_pair()
    sent = [esme.send_request(submit(bytes([i])), 1.0) for i in range(5)]
    received = smsc.receive_data(b"".join(data for _, data in sent), 1.0)
    replies = b"".join(
        smsc.send_response(event.pdu, SubmitSmResp(message_id=f"m{event.pdu.sequence}"))
        for event in reversed(received)
    )
    answered = esme.receive_data(replies, 1.1)
    assert [event.sequence for event in answered] == [seq for seq, _ in reversed(sent)]
    for event in answered:
        assert isinstance(event, ResponseReceived)
        assert event.response.message_id == f"m{event.sequence}"


def test_send_response_copies_the_request_sequence() -> None:
    _, smsc = bound_pair()
    request = SubmitSm(sequence=4242)
    (reply,) = frames(smsc.send_response(request, SubmitSmResp(message_id="x")))
    assert reply.sequence == 4242


def test_send_response_refuses_a_response_of_another_command() -> None:
    _, smsc = bound_pair()
    with pytest.raises(LocalProtocolError):
        smsc.send_response(SubmitSm(sequence=1), DeliverSmResp())


def test_send_response_may_answer_with_generic_nack() -> None:
    _, smsc = bound_pair()
    (reply,) = frames(smsc.send_response(SubmitSm(sequence=3), GenericNack(command_status=8)))
    assert isinstance(reply, GenericNack)
    assert reply.sequence == 3


def test_generic_nack_answers_the_request_with_its_sequence() -> None:
    esme, _ = bound_pair()
    seq, _ = esme.send_request(submit(), 1.0)
    nack = encode(GenericNack(sequence=seq, command_status=S.ESME_RSYSERR))
    (answered,) = esme.receive_data(nack, 1.1)
    assert isinstance(answered, ResponseReceived)
    assert isinstance(answered.response, GenericNack)
    assert esme.outstanding == 0


def test_response_matching_no_request_is_reported_as_unexpected() -> None:
    esme, _ = bound_pair()
    (event,) = esme.receive_data(encode(SubmitSmResp(sequence=999, message_id="x")), 1.0)
    assert isinstance(event, UnexpectedResponse)
    assert event.response.sequence == 999


def test_response_of_the_wrong_command_leaves_the_request_outstanding() -> None:
    esme, _ = bound_pair()
    seq, _ = esme.send_request(submit(), 1.0)
    (event,) = esme.receive_data(encode(EnquireLinkResp(sequence=seq)), 1.0)
    assert isinstance(event, UnexpectedResponse)
    assert esme.outstanding == 1


def test_full_window_raises_window_full_until_a_response_frees_a_slot() -> None:
    esme, smsc = bound_pair(window=2)
    sent = [esme.send_request(submit(), 1.0) for _ in range(2)]
    assert esme.outstanding == 2
    assert not esme.can_send
    with pytest.raises(WindowFull):
        esme.send_request(submit(), 1.0)

    first = smsc.receive_data(sent[0][1], 1.0)[0]
    esme.receive_data(smsc.send_response(first.pdu, SubmitSmResp(message_id="1")), 1.1)
    assert esme.outstanding == 1
    assert esme.can_send
    esme.send_request(submit(), 1.2)


def test_window_full_takes_no_sequence_number() -> None:
    esme, _ = bound_pair(window=1)
    seq, _ = esme.send_request(submit(), 1.0)
    with pytest.raises(WindowFull):
        esme.send_request(submit(), 1.0)
    assert esme.outstanding == 1
    esme.receive_data(encode(SubmitSmResp(sequence=seq)), 1.1)
    assert esme.send_request(submit(), 1.2)[0] == seq + 1


def test_request_without_response_times_out_and_leaves_the_window() -> None:
    esme, _ = bound_pair(response_timeout=10.0, enquire_link_interval=None)
    seq, _ = esme.send_request(submit(), 1.0)
    assert esme.next_deadline() == 11.0
    assert esme.tick(10.9) == []
    (timed_out,) = esme.tick(11.0)
    assert isinstance(timed_out, RequestTimedOut)
    assert timed_out.sequence == seq
    assert esme.outstanding == 0
    assert esme.next_deadline() is None


def test_timeouts_fire_in_deadline_order_and_only_when_due() -> None:
    esme, _ = bound_pair(response_timeout=10.0, enquire_link_interval=None)
    first, _ = esme.send_request(submit(), 1.0)
    second, _ = esme.send_request(submit(), 2.0)
    third, _ = esme.send_request(submit(), 3.0)
    events = esme.tick(12.5)
    assert [event.sequence for event in events] == [first, second]
    assert esme.next_deadline() == 13.0
    assert [event.sequence for event in esme.tick(13.0)] == [third]


def test_response_after_its_timeout_is_unexpected() -> None:
    esme, _ = bound_pair(response_timeout=10.0, enquire_link_interval=None)
    seq, _ = esme.send_request(submit(), 1.0)
    esme.tick(11.0)
    (event,) = esme.receive_data(encode(SubmitSmResp(sequence=seq)), 12.0)
    assert isinstance(event, UnexpectedResponse)


def test_sequence_numbers_wrap_from_0x7fffffff_back_to_1() -> None:
    esme = Session(Role.ESME, now=0.0, initial_sequence=0x7FFFFFFE)
    smsc = Session(Role.SMSC, now=0.0)
    (requested,) = smsc.receive_data(esme.bind("transmitter", "a", "b", now=0.0), 0.0)
    assert requested.pdu.sequence == 0x7FFFFFFE
    esme.receive_data(smsc.accept_bind(requested.pdu, "s"), 0.0)
    assert [esme.send_request(submit(), 1.0)[0] for _ in range(3)] == [0x7FFFFFFF, 1, 2]


def test_sequence_numbers_skip_one_still_in_flight_after_wrapping() -> None:
    esme = Session(Role.ESME, now=0.0, initial_sequence=0x7FFFFFFF)
    smsc = Session(Role.SMSC, now=0.0)
    (requested,) = smsc.receive_data(esme.bind("transmitter", "a", "b", now=0.0), 0.0)
    esme.receive_data(smsc.accept_bind(requested.pdu, "s"), 0.0)
    first, _ = esme.send_request(submit(), 1.0)
    assert first == 1
    # one full lap later, 1 would come round again while still unanswered
    esme._seq = 0x7FFFFFFF  # fast-forward one lap instead of sending 2**31 requests
    assert esme.send_request(submit(), 1.0)[0] == 0x7FFFFFFF
    assert esme.send_request(submit(), 1.0)[0] == 2


def test_pdu_built_with_next_sequence_goes_out_with_that_number() -> None:
    esme, _ = bound_pair()
    expected = esme.next_sequence
    seq, data = esme.send_request(SubmitSm(sequence=expected, destination_addr="336"), 1.0)
    assert seq == expected
    assert frames(data)[0].sequence == expected
    assert esme.next_sequence == expected + 1


def test_send_request_numbers_the_pdu_whatever_sequence_it_had() -> None:
    esme, _ = bound_pair()
    seq, data = esme.send_request(SubmitSm(sequence=12345), 1.0)
    (pdu,) = frames(data)
    assert pdu.sequence == seq != 12345


# --- enquire_link and keepalive ---------------------------------------------------------


def test_enquire_link_from_the_peer_is_answered_automatically() -> None:
    _, smsc = bound_pair()
    assert smsc.receive_data(encode(EnquireLink(sequence=31)), 1.0) == []
    (reply,) = frames(smsc.data_to_send())
    assert isinstance(reply, EnquireLinkResp)
    assert reply.sequence == 31
    assert smsc.enquire_links_received == 1
    assert smsc.data_to_send() == b""


def test_enquire_link_before_bind_is_answered_too() -> None:
    smsc = Session(Role.SMSC, now=0.0)
    assert smsc.receive_data(encode(EnquireLink(sequence=1)), 0.0) == []
    (reply,) = frames(smsc.data_to_send())
    assert (reply.command_id, reply.command_status) == (CommandId.enquire_link_resp, 0)


def test_keepalive_enquire_link_goes_out_after_an_interval_with_nothing_received() -> None:
    esme, smsc = bound_pair(enquire_link_interval=30.0, response_timeout=10.0)
    assert esme.next_deadline() == 30.0
    assert esme.tick(29.9) == []
    assert esme.data_to_send() == b""
    assert esme.tick(30.0) == []
    (probe,) = frames(esme.data_to_send())
    assert isinstance(probe, EnquireLink)
    assert esme.outstanding == 0  # keepalive takes no window slot
    assert esme.next_deadline() == 40.0  # now the probe's response deadline

    assert smsc.receive_data(encode(probe), 30.1) == []
    assert esme.receive_data(smsc.data_to_send(), 30.2) == []  # answer is not an event
    assert esme.next_deadline() == pytest.approx(60.2)


def test_traffic_received_postpones_the_keepalive() -> None:
    esme, _ = bound_pair(enquire_link_interval=30.0)
    esme.receive_data(encode(EnquireLink(sequence=5)), 20.0)
    esme.data_to_send()
    assert esme.next_deadline() == 50.0
    esme.tick(30.0)
    assert esme.data_to_send() == b""


def test_unanswered_keepalive_means_the_link_is_dead() -> None:
    esme, _ = bound_pair(enquire_link_interval=30.0, response_timeout=10.0)
    esme.tick(30.0)
    esme.data_to_send()
    seq, _ = esme.send_request(submit(), 35.0)
    assert esme.tick(39.9) == []
    dead, closed = esme.tick(40.0)
    assert isinstance(dead, LinkDead)
    assert isinstance(closed, ConnectionClosed)
    assert [request.sequence for request in closed.unanswered] == [seq]
    assert esme.state is BindState.CLOSED
    assert esme.next_deadline() is None


def test_keepalive_and_unbind_timing_out_together_close_once_without_raising() -> None:
    # Found by bench/fuzz.py: the first control timeout closed the session and emptied
    # its control requests while tick was still walking them (KeyError).
    esme, _ = bound_pair(enquire_link_interval=30.0, response_timeout=10.0)
    esme.tick(30.0)  # keepalive enquire_link out, unanswered
    esme.unbind(31.0)
    dead, closed = esme.tick(45.0)
    assert isinstance(dead, LinkDead)
    assert isinstance(closed, ConnectionClosed)
    assert esme.state is BindState.CLOSED


def test_a_probe_checks_the_link_at_once_and_a_silent_peer_makes_it_dead() -> None:
    esme, _ = bound_pair(enquire_link_interval=30.0, response_timeout=10.0)
    esme.send_request(submit(), 1.0)
    assert esme.tick(11.0)  # the submit_sm timed out: the caller suspects the link
    (probe,) = frames(esme.probe(11.0))
    assert isinstance(probe, EnquireLink)
    assert esme.probe(11.5) == b""  # one probe at a time answers for every timeout
    assert esme.next_deadline() == 21.0
    dead, closed = esme.tick(21.0)
    assert isinstance(dead, LinkDead)
    assert isinstance(closed, ConnectionClosed)


def test_an_answered_probe_keeps_the_link() -> None:
    esme, smsc = bound_pair(enquire_link_interval=30.0, response_timeout=10.0)
    (probe,) = frames(esme.probe(5.0))
    smsc.receive_data(encode(probe), 5.1)
    assert esme.receive_data(smsc.data_to_send(), 5.2) == []
    assert esme.tick(15.0) == []
    assert esme.state is BindState.BOUND_TRX
    assert frames(esme.probe(16.0))  # and the link can be probed again


def test_an_unbound_session_is_not_probed() -> None:
    smsc = Session(Role.SMSC, now=0.0, idle_timeout=None)
    assert smsc.probe(1.0) == b""


def test_unbound_sessions_send_no_keepalive() -> None:
    smsc = Session(Role.SMSC, now=0.0, enquire_link_interval=5.0, idle_timeout=None)
    assert smsc.next_deadline() is None
    assert smsc.tick(100.0) == []
    assert smsc.data_to_send() == b""


# --- idle timeout ------------------------------------------------------------------------


def test_connection_that_never_binds_times_out() -> None:
    smsc = Session(Role.SMSC, now=100.0, idle_timeout=15.0)
    assert smsc.next_deadline() == 115.0
    assert smsc.tick(114.0) == []
    idle, closed = smsc.tick(115.0)
    assert isinstance(idle, IdleTimeout)
    assert isinstance(closed, ConnectionClosed)
    assert smsc.state is BindState.CLOSED


def test_bound_connection_has_no_idle_timeout() -> None:
    _, smsc = bound_pair(idle_timeout=15.0, enquire_link_interval=None)
    assert smsc.next_deadline() is None
    assert smsc.tick(1000.0) == []
    assert smsc.state is BindState.BOUND_TRX


# --- unbind ------------------------------------------------------------------------------


def test_unbind_from_the_esme_closes_both_sides() -> None:
    esme, smsc = bound_pair()
    data = esme.unbind(5.0)
    assert esme.state is BindState.UNBINDING
    with pytest.raises(LocalProtocolError):
        esme.send_request(submit(), 5.0)

    unbound, closed = smsc.receive_data(data, 5.0)
    assert isinstance(unbound, Unbound)
    assert isinstance(closed, ConnectionClosed)
    assert smsc.state is BindState.CLOSED

    complete, closed = esme.receive_data(smsc.data_to_send(), 5.1)
    assert isinstance(complete, UnbindComplete)
    assert isinstance(complete.response, UnbindResp)
    assert isinstance(closed, ConnectionClosed)
    assert esme.state is BindState.CLOSED


def test_unbind_from_the_smsc_closes_both_sides() -> None:
    esme, smsc = bound_pair()
    unbound, _ = esme.receive_data(smsc.unbind(5.0), 5.0)
    assert isinstance(unbound, Unbound)
    complete, _ = smsc.receive_data(esme.data_to_send(), 5.1)
    assert isinstance(complete, UnbindComplete)
    assert esme.state is smsc.state is BindState.CLOSED


def test_answers_to_requests_that_crossed_the_peers_unbind_still_arrive() -> None:
    """The SMSC unbinds while a submit of the ESME is on the wire: the ESME answers the
    unbind, sends nothing new, and closes only once the SMSC's answer to it arrived."""
    esme, smsc = bound_pair()
    _, crossing = esme.send_request(submit(), 1.0)
    unbind = smsc.unbind(1.0)
    (unbound,) = esme.receive_data(unbind, 1.1)
    assert isinstance(unbound, Unbound) and esme.state is BindState.UNBINDING
    with pytest.raises(LocalProtocolError):
        esme.send_request(submit(), 1.1)
    # The SMSC, unbinding, answers it itself: not bound any more.
    (rejected,) = smsc.receive_data(crossing, 1.2)
    assert isinstance(rejected, RequestRejected)
    answer = smsc.data_to_send()
    complete, closed = smsc.receive_data(esme.data_to_send(), 1.3)
    assert isinstance(complete, UnbindComplete) and isinstance(closed, ConnectionClosed)
    answered, esme_closed = esme.receive_data(answer, 1.4)
    assert isinstance(answered, ResponseReceived)
    assert answered.response.command_status == CommandStatus.ESME_RINVBNDSTS
    assert isinstance(esme_closed, ConnectionClosed) and esme_closed.unanswered == ()
    assert esme.state is BindState.CLOSED


def test_an_answer_that_never_comes_after_the_peers_unbind_times_out_and_closes() -> None:
    esme, smsc = bound_pair()
    esme.send_request(submit(), 1.0)
    esme.receive_data(smsc.unbind(1.0), 1.1)
    timed_out, closed = esme.tick(1.0 + esme.response_timeout)
    assert isinstance(timed_out, RequestTimedOut) and isinstance(closed, ConnectionClosed)
    assert esme.state is BindState.CLOSED


def test_responses_in_flight_still_arrive_while_unbinding() -> None:
    esme, smsc = bound_pair()
    _, data = esme.send_request(submit(), 1.0)
    (received,) = smsc.receive_data(data, 1.0)
    esme.unbind(1.1)
    (answered,) = esme.receive_data(
        smsc.send_response(received.pdu, SubmitSmResp(message_id="1")), 1.2
    )
    assert isinstance(answered, ResponseReceived)


def test_unanswered_unbind_completes_at_its_timeout() -> None:
    esme, _ = bound_pair(response_timeout=10.0)
    esme.unbind(1.0)
    complete, closed = esme.tick(11.0)
    assert isinstance(complete, UnbindComplete)
    assert complete.response is None
    assert isinstance(closed, ConnectionClosed)


def test_connection_closed_hands_back_the_unanswered_requests() -> None:
    esme, smsc = bound_pair()
    sent = [esme.send_request(submit(bytes([i])), 1.0)[0] for i in range(3)]
    (unbound,) = esme.receive_data(smsc.unbind(2.0), 2.0)  # waits for their answers...
    assert isinstance(unbound, Unbound)
    (closed,) = esme.connection_lost()  # ...which never come: the peer closed
    assert isinstance(closed, ConnectionClosed)
    assert [request.sequence for request in closed.unanswered] == sent
    assert esme.outstanding == 0


def test_connection_lost_reports_closed_once() -> None:
    esme, _ = bound_pair()
    esme.send_request(submit(), 1.0)
    (closed,) = esme.connection_lost()
    assert isinstance(closed, ConnectionClosed)
    assert len(closed.unanswered) == 1
    assert esme.connection_lost() == []
    assert esme.receive_data(encode(EnquireLink(sequence=1)), 2.0) == []
    assert esme.tick(1000.0) == []


def test_answers_computed_after_the_peer_left_are_dropped() -> None:
    esme, smsc = bound_pair()
    _, data = esme.send_request(submit(), 1.0)
    (received,) = smsc.receive_data(data, 1.0)
    smsc.connection_lost()
    assert smsc.send_response(received.pdu, SubmitSmResp()) == b""


# --- outbind -----------------------------------------------------------------------------


def test_outbind_asks_the_esme_to_bind_as_usual() -> None:
    esme, smsc = new_pair()
    (outbind,) = esme.receive_data(smsc.outbind("proxy", "secret"), 0.0)
    assert isinstance(outbind, OutbindReceived)
    assert outbind.pdu.system_id == "proxy"
    assert esme.state is BindState.OPEN
    (requested,) = smsc.receive_data(esme.bind("receiver", "proxy", "secret", now=0.1), 0.1)
    (bound,) = esme.receive_data(smsc.accept_bind(requested.pdu, "carrier"), 0.2)
    assert isinstance(bound, Bound)
    assert esme.state is BindState.BOUND_RX


def test_outbind_on_a_bound_session_is_refused() -> None:
    esme, _ = bound_pair()
    fresh = Session(Role.SMSC, now=0.0)
    (rejected,) = esme.receive_data(fresh.outbind("x", "y"), 1.0)
    assert isinstance(rejected, RequestRejected)
    (reply,) = frames(esme.data_to_send())
    assert isinstance(reply, GenericNack)


# --- broken peers ------------------------------------------------------------------------


def test_command_length_8_is_fatal_with_generic_nack_and_closes() -> None:
    smsc = Session(Role.SMSC, now=0.0)
    events = smsc.receive_data(struct.pack(">II", 8, CommandId.enquire_link), 0.0)
    error, closed = events
    assert isinstance(error, ProtocolError)
    assert error.fatal
    assert error.error.command_status == S.ESME_RINVCMDLEN
    assert isinstance(closed, ConnectionClosed)
    (reply,) = frames(smsc.data_to_send())
    assert isinstance(reply, GenericNack)
    assert reply.command_status == S.ESME_RINVCMDLEN
    assert smsc.state is BindState.CLOSED
    assert smsc.buffered == 0


def test_command_length_of_one_megabyte_is_fatal_and_the_nack_echoes_the_sequence() -> None:
    _, smsc = bound_pair()
    header = struct.pack(">IIII", 1 << 20, CommandId.submit_sm, 0, 4711)
    error, closed = smsc.receive_data(header + b"\x00" * 100, 1.0)
    assert isinstance(error, ProtocolError)
    assert error.fatal
    assert isinstance(closed, ConnectionClosed)
    (reply,) = frames(smsc.data_to_send())
    assert isinstance(reply, GenericNack)
    assert (reply.sequence, reply.command_status) == (4711, S.ESME_RINVCMDLEN)
    assert smsc.receive_data(b"\x00" * 1000, 1.1) == []  # nothing after it is read
    assert smsc.buffered == 0


def test_unknown_command_id_gets_generic_nack_and_the_session_continues() -> None:
    esme, smsc = bound_pair()
    unknown = struct.pack(">IIII", 16, 0x00000099, 0, 12)
    _, data = esme.send_request(submit(), 1.0)
    error, received = smsc.receive_data(unknown + data, 1.0)
    assert isinstance(error, ProtocolError)
    assert not error.fatal
    assert isinstance(error.reply, GenericNack)
    (reply,) = frames(smsc.data_to_send())
    assert isinstance(reply, GenericNack)
    assert (reply.sequence, reply.command_status) == (12, S.ESME_RINVCMDID)
    assert isinstance(received, PduReceived)
    assert smsc.state is BindState.BOUND_TRX


def test_known_request_with_a_bad_body_gets_its_own_response_with_the_error() -> None:
    _, smsc = bound_pair()
    good = encode(SubmitSm(sequence=21, destination_addr="336", short_message=b"hi"))
    truncated = struct.pack(">I", 20) + good[4:20]  # body cut inside the mandatory fields
    (error,) = smsc.receive_data(truncated, 1.0)
    assert isinstance(error, ProtocolError)
    assert not error.fatal
    (reply,) = frames(smsc.data_to_send())
    assert isinstance(reply, SubmitSmResp)
    assert reply.sequence == 21
    assert reply.command_status != 0
    assert smsc.state is BindState.BOUND_TRX


def test_undecodable_response_is_reported_and_not_answered() -> None:
    esme, _ = bound_pair()
    bad = struct.pack(">IIII", 20, CommandId.submit_sm_resp, 0, 1) + b"abcd"  # no NUL
    (error,) = esme.receive_data(bad, 1.0)
    assert isinstance(error, ProtocolError)
    assert error.reply is None
    assert esme.data_to_send() == b""


# --- framing -----------------------------------------------------------------------------


def test_bytes_fed_one_at_a_time_give_the_same_events() -> None:
    esme, smsc = bound_pair()
    sent = [esme.send_request(submit(bytes([i]) * i), 1.0) for i in range(1, 4)]
    stream = b"".join(data for _, data in sent)
    events: list[Event] = []
    for i in range(len(stream)):
        events += smsc.receive_data(stream[i : i + 1], 1.0)
        assert smsc.buffered < len(stream)
    assert [event.pdu.sequence for event in events] == [seq for seq, _ in sent]
    assert smsc.buffered == 0


def test_many_pdus_in_one_chunk_are_all_delivered_in_order() -> None:
    esme, smsc = bound_pair(window=1000)
    sent = [esme.send_request(submit(str(i).encode()), 1.0) for i in range(1000)]
    chunk = b"".join(data for _, data in sent) + sent[0][1][:10]  # plus a partial frame
    events = smsc.receive_data(chunk, 1.0)
    assert len(events) == 1000
    assert all(isinstance(event, PduReceived) for event in events)
    assert [event.pdu.short_message for event in events] == [
        str(i).encode() for i in range(1000)
    ]
    assert smsc.buffered == 10


def test_a_frame_split_across_chunks_is_reassembled() -> None:
    esme, smsc = bound_pair()
    _, data = esme.send_request(submit(b"x" * 100), 1.0)
    assert smsc.receive_data(data[:3], 1.0) == []
    assert smsc.receive_data(data[3:50], 1.0) == []
    (received,) = smsc.receive_data(data[50:] + data[:20], 1.0)
    assert received.pdu.short_message == b"x" * 100
    assert smsc.buffered == 20


def test_memoryview_and_bytearray_chunks_are_accepted() -> None:
    esme, smsc = bound_pair()
    _, data = esme.send_request(submit(), 1.0)
    assert len(smsc.receive_data(memoryview(data)[:10], 1.0)) == 0
    (received,) = smsc.receive_data(bytearray(data[10:]), 1.0)
    assert isinstance(received, PduReceived)


def test_session_options_are_checked() -> None:
    with pytest.raises(ValueError):
        Session(Role.SMSC, now=0.0, window=0)
    with pytest.raises(ValueError):
        Session(Role.SMSC, now=0.0, max_pdu_size=8)
    with pytest.raises(ValueError):
        Session(Role.SMSC, now=0.0, initial_sequence=0)
    esme = Session(Role.ESME, now=0.0)
    with pytest.raises(ValueError):
        esme.bind("both", "a", "b", now=0.0)
    _, smsc = new_pair()
    with pytest.raises(ValueError):
        smsc.reject_bind(BindTransmitter(), 0)
