"""Properties of the codec over generated PDUs and frames, for every PDU class.

Valid frames are laid out here from a declarative copy of the SMPP 3.4 body
layouts, independently of smpp.codec, so a shared mistake would have to be
made twice.
"""

from __future__ import annotations

import struct
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smpp.codec import SM_LENGTH_MAX, decode, encode
from smpp.constants import CommandStatus
from smpp.errors import PduError
from smpp.pdu import (
    PDU_CLASSES,
    AlertNotification,
    BindReceiver,
    BindReceiverResp,
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitter,
    BindTransmitterResp,
    CancelSm,
    CancelSmResp,
    DataSm,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Outbind,
    Pdu,
    QuerySm,
    QuerySmResp,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
)
from smpp.tlv import TLV_SPECS

PROPERTY = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Field kinds: ("c", size incl. NUL) C-octet string, ("time",) empty or 16 chars,
# ("u8",) one octet, ("sm",) sm_length + short_message, ("tlvs",) optional parameters.
Field = tuple[str, str, int]

_BIND = [("system_id", "c", 16), ("password", "c", 9), ("system_type", "c", 13),
         ("interface_version", "u8", 0), ("addr_ton", "u8", 0), ("addr_npi", "u8", 0),
         ("address_range", "c", 41)]
_BIND_RESP = [("system_id", "c", 16), ("tlvs", "tlvs", 0)]
_SHORT_MESSAGE = [
    ("service_type", "c", 6), ("source_addr_ton", "u8", 0), ("source_addr_npi", "u8", 0),
    ("source_addr", "c", 21), ("dest_addr_ton", "u8", 0), ("dest_addr_npi", "u8", 0),
    ("destination_addr", "c", 21), ("esm_class", "u8", 0), ("protocol_id", "u8", 0),
    ("priority_flag", "u8", 0), ("schedule_delivery_time", "time", 0),
    ("validity_period", "time", 0), ("registered_delivery", "u8", 0),
    ("replace_if_present_flag", "u8", 0), ("data_coding", "u8", 0),
    ("sm_default_msg_id", "u8", 0), ("short_message", "sm", 0), ("tlvs", "tlvs", 0),
]
LAYOUTS: dict[type[Pdu], list[Field]] = {
    BindTransmitter: _BIND, BindReceiver: _BIND, BindTransceiver: _BIND,
    BindTransmitterResp: _BIND_RESP, BindReceiverResp: _BIND_RESP,
    BindTransceiverResp: _BIND_RESP,
    Outbind: [("system_id", "c", 16), ("password", "c", 9)],
    Unbind: [], UnbindResp: [], EnquireLink: [], EnquireLinkResp: [], GenericNack: [],
    CancelSmResp: [],
    SubmitSm: _SHORT_MESSAGE, DeliverSm: _SHORT_MESSAGE,
    SubmitSmResp: [("message_id", "c", 65), ("tlvs", "tlvs", 0)],
    DeliverSmResp: [("message_id", "c", 65), ("tlvs", "tlvs", 0)],
    DataSm: [
        ("service_type", "c", 6), ("source_addr_ton", "u8", 0), ("source_addr_npi", "u8", 0),
        ("source_addr", "c", 65), ("dest_addr_ton", "u8", 0), ("dest_addr_npi", "u8", 0),
        ("destination_addr", "c", 65), ("esm_class", "u8", 0),
        ("registered_delivery", "u8", 0), ("data_coding", "u8", 0), ("tlvs", "tlvs", 0),
    ],
    DataSmResp: [("message_id", "c", 65), ("tlvs", "tlvs", 0)],
    QuerySm: [("message_id", "c", 65), ("source_addr_ton", "u8", 0),
              ("source_addr_npi", "u8", 0), ("source_addr", "c", 21)],
    QuerySmResp: [("message_id", "c", 65), ("final_date", "time", 0),
                  ("message_state", "u8", 0), ("error_code", "u8", 0)],
    CancelSm: [("service_type", "c", 6), ("message_id", "c", 65), ("source_addr_ton", "u8", 0),
               ("source_addr_npi", "u8", 0), ("source_addr", "c", 21),
               ("dest_addr_ton", "u8", 0), ("dest_addr_npi", "u8", 0),
               ("destination_addr", "c", 21)],
    AlertNotification: [("source_addr_ton", "u8", 0), ("source_addr_npi", "u8", 0),
                        ("source_addr", "c", 65), ("esme_addr_ton", "u8", 0),
                        ("esme_addr_npi", "u8", 0), ("esme_addr", "c", 65), ("tlvs", "tlvs", 0)],
}
CLASSES = sorted(LAYOUTS, key=lambda cls: cls.command_id)

u8 = st.integers(0, 255)
u32 = st.integers(0, 0xFFFFFFFF)
latin1 = st.characters(min_codepoint=1, max_codepoint=255)
time_field = st.one_of(
    st.just(""),
    st.from_regex(r"\A[0-9]{12}[0-9][0-9]{2}[-+R]\Z"),
    st.text(latin1, min_size=16, max_size=16),
)
_unknown_tags = st.integers(0, 0xFFFF).filter(lambda tag: tag not in TLV_SPECS)


@st.composite
def _known_tlv(draw: st.DrawFn) -> tuple[int, bytes]:
    spec = draw(st.sampled_from(sorted(TLV_SPECS.values(), key=lambda spec: spec.tag)))
    size = draw(st.integers(spec.min_length, min(spec.max_length, 300)))
    return spec.tag, draw(st.binary(min_size=size, max_size=size))


tlv_lists = st.lists(
    st.one_of(_known_tlv(), st.tuples(_unknown_tags, st.binary(max_size=40))), max_size=5
).map(tuple)


def field_strategy(kind: str, size: int) -> st.SearchStrategy[Any]:
    return {
        "c": lambda: st.text(latin1, max_size=size - 1),
        "time": lambda: time_field,
        "u8": lambda: u8,
        "sm": lambda: st.binary(max_size=SM_LENGTH_MAX),
        "tlvs": lambda: tlv_lists,
    }[kind]()


def pdus(cls: type[Pdu]) -> st.SearchStrategy[Pdu]:
    fields = {name: field_strategy(kind, size) for name, kind, size in LAYOUTS[cls]}
    return st.builds(cls, sequence=u32, command_status=u32, **fields)


any_pdu = st.one_of([pdus(cls) for cls in CLASSES])


def lay_out(pdu: Pdu) -> bytes:
    """The frame of ``pdu``, built from LAYOUTS rather than by smpp.codec."""
    body = bytearray()
    for name, kind, _ in LAYOUTS[type(pdu)]:
        value = getattr(pdu, name)
        if kind in ("c", "time"):
            body += value.encode("latin-1") + b"\0"
        elif kind == "u8":
            body.append(value)
        elif kind == "sm":
            body += bytes([len(value)]) + value
        else:
            for tag, raw in value:
                body += struct.pack(">HH", tag, len(raw)) + raw
    return struct.pack(">IIII", 16 + len(body), pdu.command_id, pdu.command_status,
                       pdu.sequence) + bytes(body)


def test_layouts_cover_every_pdu_class() -> None:
    assert set(LAYOUTS) == set(PDU_CLASSES.values())


@PROPERTY
@given(any_pdu)
def test_encode_then_decode_gives_back_the_pdu(pdu: Pdu) -> None:
    assert decode(encode(pdu)) == pdu


@PROPERTY
@given(any_pdu)
def test_encode_lays_out_fields_as_smpp_34_does(pdu: Pdu) -> None:
    assert encode(pdu) == lay_out(pdu)


@PROPERTY
@given(any_pdu.map(lay_out))
def test_decode_then_encode_gives_back_the_frame(wire: bytes) -> None:
    assert encode(decode(wire)) == wire


@PROPERTY
@given(st.binary(max_size=400))
def test_arbitrary_bytes_decode_or_raise_pdu_error(data: bytes) -> None:
    _decode_or_pdu_error(data)


@st.composite
def framed_junk(draw: st.DrawFn) -> bytes:
    """A sound header of a known command over a random body."""
    cls = draw(st.sampled_from(CLASSES))
    body = draw(st.binary(max_size=300))
    return struct.pack(">IIII", 16 + len(body), cls.command_id, draw(u32), draw(u32)) + body


@PROPERTY
@given(framed_junk())
def test_random_body_decodes_to_a_pdu_that_reencodes_or_raises_pdu_error(wire: bytes) -> None:
    pdu = _decode_or_pdu_error(wire)
    if pdu is not None:
        # Anything decode accepts, encode can send on unchanged.
        assert decode(encode(pdu)) == pdu


@PROPERTY
@given(any_pdu.map(lay_out), st.data())
def test_a_valid_frame_with_one_octet_changed_decodes_or_raises_pdu_error(
    wire: bytes, data: st.DataObject
) -> None:
    index = data.draw(st.integers(0, len(wire) - 1))
    spoilt = bytearray(wire)
    spoilt[index] = data.draw(u8)
    _decode_or_pdu_error(bytes(spoilt))


@PROPERTY
@given(any_pdu.map(lay_out), st.data())
def test_a_truncated_frame_is_a_fatal_length_error(wire: bytes, data: st.DataObject) -> None:
    cut = wire[: data.draw(st.integers(0, len(wire) - 1))]
    try:
        decode(cut)
    except PduError as error:
        assert (error.command_status, error.fatal) == (CommandStatus.ESME_RINVCMDLEN, True)
    else:
        raise AssertionError("a truncated frame decoded")


@PROPERTY
@given(any_pdu.map(lay_out), st.data())
def test_a_truncated_body_in_a_sound_frame_is_refused_unless_it_ends_between_tlvs(
    wire: bytes, data: st.DataObject
) -> None:
    if len(wire) == 16:
        return
    size = data.draw(st.integers(16, len(wire) - 1))
    cut = struct.pack(">I", size) + wire[4:size]
    try:
        pdu = decode(cut)
    except PduError as error:
        assert not error.fatal
        return
    # Only a cut at a TLV boundary, or a response cut to an empty body, is still a PDU.
    assert encode(pdu) == cut or (size == 16 and pdu.is_response)


def _decode_or_pdu_error(wire: bytes) -> Pdu | None:
    try:
        return decode(wire)
    except PduError as error:
        # ESME_RSYSERR is the codec's own guard firing: a bug, never an answer to bad input.
        assert error.command_status != CommandStatus.ESME_RSYSERR, str(error)
        return None
