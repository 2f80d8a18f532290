"""Properties of the session's receive path, whatever the peer sends and however TCP cuts it."""

from __future__ import annotations

import itertools
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from smpp.codec import encode
from smpp.constants import CommandId
from smpp.events import BindRequested, Event, ProtocolError
from smpp.pdu import (
    BindTransceiver,
    BindTransmitter,
    DeliverSm,
    EnquireLink,
    GenericNack,
    QuerySm,
    SubmitSm,
    SubmitSmResp,
    Unbind,
)
from smpp.session import BindState, Role, Session

SETTINGS = settings(max_examples=150, deadline=None)

sequences = st.integers(1, 0x7FFFFFFF)
addresses = st.text(alphabet="0123456789", max_size=20)


def _truncated_submit_sm(seq: int) -> bytes:
    good = encode(SubmitSm(sequence=seq, destination_addr="33612345678", short_message=b"hi"))
    return struct.pack(">I", 20) + good[4:20]


#: Frames a sender might put on a bound transceiver link, good and bad.
frames = st.one_of(
    st.builds(
        lambda seq, to, text: encode(
            SubmitSm(sequence=seq, destination_addr=to, short_message=text)
        ),
        sequences, addresses, st.binary(max_size=160),
    ),
    st.builds(lambda seq: encode(EnquireLink(sequence=seq)), sequences),
    st.builds(lambda seq: encode(QuerySm(sequence=seq, message_id="42")), sequences),
    st.builds(lambda seq: encode(SubmitSmResp(sequence=seq, message_id="x")), sequences),
    st.builds(lambda seq: encode(GenericNack(sequence=seq, command_status=3)), sequences),
    st.builds(lambda seq: encode(DeliverSm(sequence=seq)), sequences),
    st.builds(lambda seq: encode(BindTransmitter(sequence=seq)), sequences),
    st.builds(lambda seq: struct.pack(">IIII", 16, 0x00000099, 0, seq), sequences),
    st.builds(_truncated_submit_sm, sequences),
)


def bound_smsc(**options: int) -> Session:
    smsc = Session(Role.SMSC, now=0.0, **options)
    (requested,) = smsc.receive_data(encode(BindTransceiver(sequence=1, system_id="acme")), 0.0)
    assert isinstance(requested, BindRequested)
    smsc.accept_bind(requested.pdu, "stopgate")
    return smsc


def comparable(event: Event) -> object:
    """Events compare by value, except the exception inside ProtocolError."""
    if isinstance(event, ProtocolError):
        error = event.error
        return ("ProtocolError", error.command_status, error.command_id, error.sequence,
                error.fatal, event.reply)
    return event


def cut(stream: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(cuts), len(stream)]
    return [stream[a:b] for a, b in itertools.pairwise(bounds)]


def feed(session: Session, chunks: list[bytes]) -> tuple[list[object], bytes]:
    events: list[object] = []
    sent = b""
    for chunk in chunks:
        events += [comparable(event) for event in session.receive_data(chunk, 1.0)]
        sent += session.data_to_send()
    return events, sent


@SETTINGS
@given(
    stream_frames=st.lists(frames, max_size=25),
    end_with_unbind=st.booleans(),
    data=st.data(),
)
def test_any_split_of_a_byte_stream_yields_the_same_events_and_replies(
    stream_frames: list[bytes], end_with_unbind: bool, data: st.DataObject
) -> None:
    stream = b"".join(stream_frames)
    if end_with_unbind:
        # the session closes at the unbind: the enquire_link after it is never read
        stream += encode(Unbind(sequence=7)) + encode(EnquireLink(sequence=8))
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=30), label="cuts")

    whole = feed(bound_smsc(), [stream])
    split = feed(bound_smsc(), cut(stream, cuts))
    byte_at_a_time = feed(bound_smsc(), [stream[i : i + 1] for i in range(len(stream))])

    assert split == whole
    assert byte_at_a_time == whole


def _frame_with_random_body(command_id: int, seq: int, body: bytes) -> bytes:
    return struct.pack(">IIII", 16 + len(body), command_id, 0, seq) + body


#: Garbage that often looks like SMPP: real command ids and lengths with random bodies.
plausible_garbage = st.builds(
    _frame_with_random_body,
    st.sampled_from([int(c) for c in CommandId] + [0x99, 0x80000099]),
    sequences,
    st.binary(max_size=120),
)


def _session(role: Role, bound: bool, max_pdu_size: int) -> Session:
    if bound and role is Role.SMSC:
        return bound_smsc(max_pdu_size=max_pdu_size)
    return Session(role, now=0.0, max_pdu_size=max_pdu_size)


@SETTINGS
@given(
    role=st.sampled_from(Role),
    bound=st.booleans(),
    max_pdu_size=st.integers(64, 400),  # 64: room for the bind of a bound session
    pieces=st.lists(st.one_of(st.binary(max_size=300), plausible_garbage), max_size=12),
    data=st.data(),
)
def test_garbage_never_raises_and_the_buffer_stays_below_the_pdu_size_limit(
    role: Role, bound: bool, max_pdu_size: int, pieces: list[bytes], data: st.DataObject
) -> None:
    session = _session(role, bound, max_pdu_size)
    stream = b"".join(pieces)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=10), label="cuts")
    seen: list[object] = []
    for chunk in cut(stream, cuts):
        events = session.receive_data(chunk, 1.0)
        assert all(isinstance(event, Event) for event in events)
        seen += [comparable(event) for event in events]
        session.data_to_send()
        assert session.buffered < max_pdu_size
        if session.state is BindState.CLOSED:
            assert session.buffered == 0
    session.tick(1e9)
    session.connection_lost()

    # and garbage, too, means the same however it is cut
    assert feed(_session(role, bound, max_pdu_size), [stream])[0] == seen
