"""The SMPP 3.4 codec on examples: one per PDU type, byte-exact against frames laid out by hand."""

from __future__ import annotations

import pickle
import struct
from typing import Any

import pytest

from smpp.codec import SM_LENGTH_MAX, decode, encode, frame_length, parse_header
from smpp.constants import (
    ESM_DELIVERY_RECEIPT,
    ESM_UDHI,
    CommandId,
    CommandStatus,
    DataCoding,
    MessageState,
    Tag,
)
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
from smpp.tlv import TLV_SPECS, TlvKind, encode_tlv_int, encode_tlv_str, tlv_int, tlv_str


def frame(command_id: int, body: bytes = b"", *, status: int = 0, sequence: int = 1) -> bytes:
    """A PDU laid out by hand: the 16-octet header, then ``body``."""
    return struct.pack(">IIII", 16 + len(body), command_id, status, sequence) + body


def c(text: str) -> bytes:
    """A C-octet string."""
    return text.encode("latin-1") + b"\0"


def tlv(tag: int, value: bytes) -> bytes:
    return struct.pack(">HH", tag, len(value)) + value


DLR_TEXT = (
    b"id:4f1c2a9e77 sub:001 dlvrd:001 submit date:2405311200 done date:2405311201 "
    b"stat:DELIVRD err:000 text:Hello"
)

#: (PDU, the frame SMPP 3.4 chapter 4 lays out for it), at least one per PDU class.
EXAMPLES: list[tuple[Pdu, bytes]] = [
    (
        BindTransmitter(sequence=1, system_id="SMPP3TEST", password="secret08",
                        system_type="SUBMIT1", addr_ton=1, addr_npi=1),
        frame(CommandId.bind_transmitter,
              c("SMPP3TEST") + c("secret08") + c("SUBMIT1") + b"\x34\x01\x01" + c("")),
    ),
    (
        BindReceiver(sequence=2, system_id="acme", password="pw", address_range="^336"),
        frame(CommandId.bind_receiver, c("acme") + c("pw") + c("") + b"\x34\0\0" + c("^336"),
              sequence=2),
    ),
    (
        BindTransceiver(sequence=3, system_id="acme", password="pw", interface_version=0x33),
        frame(CommandId.bind_transceiver, c("acme") + c("pw") + c("") + b"\x33\0\0" + c(""),
              sequence=3),
    ),
    (
        BindTransmitterResp(sequence=1, system_id="SMSC"),
        frame(CommandId.bind_transmitter_resp, c("SMSC")),
    ),
    (
        BindReceiverResp(sequence=2, system_id="SMSC", tlvs=((Tag.sc_interface_version, b"\x34"),)),
        frame(CommandId.bind_receiver_resp, c("SMSC") + tlv(0x0210, b"\x34"), sequence=2),
    ),
    (
        BindTransceiverResp(sequence=3, command_status=CommandStatus.ESME_RINVPASWD),
        frame(CommandId.bind_transceiver_resp, c(""), status=0x0E, sequence=3),
    ),
    (
        Outbind(sequence=9, system_id="SMSC", password="pw"),
        frame(CommandId.outbind, c("SMSC") + c("pw"), sequence=9),
    ),
    (Unbind(sequence=4), frame(CommandId.unbind, sequence=4)),
    (UnbindResp(sequence=4), frame(CommandId.unbind_resp, sequence=4)),
    (EnquireLink(sequence=5), bytes.fromhex("00000010 00000015 00000000 00000005")),
    (EnquireLinkResp(sequence=5), bytes.fromhex("00000010 80000015 00000000 00000005")),
    (
        GenericNack(sequence=6, command_status=CommandStatus.ESME_RINVCMDID),
        bytes.fromhex("00000010 80000000 00000003 00000006"),
    ),
    (
        SubmitSm(sequence=7, source_addr_ton=5, source_addr_npi=0, source_addr="ACME",
                 dest_addr_ton=1, dest_addr_npi=1, destination_addr="33612345678",
                 registered_delivery=1, short_message=b"Hello"),
        frame(CommandId.submit_sm,
              c("") + b"\x05\x00" + c("ACME") + b"\x01\x01" + c("33612345678")
              + b"\0\0\0" + c("") + c("") + b"\x01\0\0\0" + b"\x05Hello", sequence=7),
    ),
    (
        SubmitSm(sequence=8, service_type="CMT", source_addr="36173",
                 destination_addr="33612345678", esm_class=ESM_UDHI, protocol_id=0,
                 priority_flag=1, schedule_delivery_time="240531120000000+",
                 validity_period="000001000000000R", data_coding=DataCoding.ucs2,
                 short_message=b"\x05\x00\x03\x2a\x02\x01" + "Été".encode("utf-16-be"),
                 tlvs=((Tag.stopgate_class, b"\x02"), (Tag.stopgate_campaign, b"spring\0"))),
        frame(CommandId.submit_sm,
              c("CMT") + b"\0\0" + c("36173") + b"\0\0" + c("33612345678") + b"\x40\x00\x01"
              + c("240531120000000+") + c("000001000000000R") + b"\x00\x00\x08\x00"
              + b"\x0c\x05\x00\x03\x2a\x02\x01\x00\xc9\x00\x74\x00\xe9"
              + tlv(0x1500, b"\x02") + tlv(0x1501, b"spring\0"), sequence=8),
    ),
    (
        SubmitSmResp(sequence=7, message_id="4f1c2a9e77"),
        frame(CommandId.submit_sm_resp, c("4f1c2a9e77"), sequence=7),
    ),
    (
        DeliverSm(sequence=10, source_addr_ton=1, source_addr_npi=1, source_addr="33612345678",
                  destination_addr="36173", esm_class=ESM_DELIVERY_RECEIPT,
                  short_message=DLR_TEXT,
                  tlvs=((Tag.receipted_message_id, b"4f1c2a9e77\0"),
                        (Tag.message_state, b"\x02"),
                        (Tag.network_error_code, b"\x03\x00\x00"))),
        frame(CommandId.deliver_sm,
              c("") + b"\x01\x01" + c("33612345678") + b"\0\0" + c("36173") + b"\x04\0\0"
              + c("") + c("") + b"\0\0\0\0" + bytes([len(DLR_TEXT)]) + DLR_TEXT
              + tlv(0x001E, b"4f1c2a9e77\0") + tlv(0x0427, b"\x02")
              + tlv(0x0423, b"\x03\x00\x00"), sequence=10),
    ),
    (DeliverSmResp(sequence=10), frame(CommandId.deliver_sm_resp, c(""), sequence=10)),
    (
        DataSm(sequence=11, source_addr="A" * 64, destination_addr="33612345678",
               data_coding=DataCoding.default, registered_delivery=1,
               tlvs=((Tag.message_payload, b"x" * 300),)),
        frame(CommandId.data_sm,
              c("") + b"\0\0" + c("A" * 64) + b"\0\0" + c("33612345678") + b"\0\x01\0"
              + tlv(0x0424, b"x" * 300), sequence=11),
    ),
    (
        DataSmResp(sequence=11, message_id="m1",
                   tlvs=((Tag.additional_status_info_text, b"queued\0"),)),
        frame(CommandId.data_sm_resp, c("m1") + tlv(0x001D, b"queued\0"), sequence=11),
    ),
    (
        QuerySm(sequence=12, message_id="m1", source_addr_ton=1, source_addr="36173"),
        frame(CommandId.query_sm, c("m1") + b"\x01\x00" + c("36173"), sequence=12),
    ),
    (
        QuerySmResp(sequence=12, message_id="m1", final_date="240531120000004+",
                    message_state=MessageState.DELIVERED, error_code=0),
        frame(CommandId.query_sm_resp, c("m1") + c("240531120000004+") + b"\x02\x00",
              sequence=12),
    ),
    (
        CancelSm(sequence=13, message_id="m1", source_addr="36173",
                 destination_addr="33612345678"),
        frame(CommandId.cancel_sm,
              c("") + c("m1") + b"\0\0" + c("36173") + b"\0\0" + c("33612345678"), sequence=13),
    ),
    (CancelSmResp(sequence=13), frame(CommandId.cancel_sm_resp, sequence=13)),
    (
        AlertNotification(sequence=14, source_addr="33612345678", esme_addr="acme",
                          tlvs=((Tag.ms_availability_status, b"\x00"),)),
        frame(CommandId.alert_notification,
              b"\0\0" + c("33612345678") + b"\0\0" + c("acme") + tlv(0x0422, b"\x00"),
              sequence=14),
    ),
]

EXAMPLE_IDS = [f"{type(pdu).__name__}-{i}" for i, (pdu, _) in enumerate(EXAMPLES)]


def example(cls: type[Pdu]) -> tuple[Pdu, bytes]:
    """The first example of ``cls``."""
    return next((pdu, wire) for pdu, wire in EXAMPLES if type(pdu) is cls)


def test_every_pdu_class_has_a_byte_exact_example() -> None:
    assert {type(pdu) for pdu, _ in EXAMPLES} == set(PDU_CLASSES.values())


@pytest.mark.parametrize(("pdu", "wire"), EXAMPLES, ids=EXAMPLE_IDS)
def test_encode_lays_out_the_frame_as_smpp_34_does(pdu: Pdu, wire: bytes) -> None:
    assert encode(pdu) == wire


@pytest.mark.parametrize(("pdu", "wire"), EXAMPLES, ids=EXAMPLE_IDS)
def test_decode_reads_every_field_of_the_frame(pdu: Pdu, wire: bytes) -> None:
    assert decode(wire) == pdu


@pytest.mark.parametrize("kind", [bytearray, memoryview])
def test_decode_accepts_bytearray_and_memoryview(kind: type) -> None:
    pdu, wire = example(SubmitSm)
    decoded = decode(kind(wire))
    assert decoded == pdu
    assert type(decoded.short_message) is bytes  # type: ignore[attr-defined]


def test_decoded_short_message_is_a_copy_not_a_view_of_the_buffer() -> None:
    pdu, wire = example(SubmitSm)
    buffer = bytearray(wire)
    decoded = decode(buffer)
    buffer[-1] = 0
    assert decoded == pdu


# --- headers and framing ---------------------------------------------------------------


def test_parse_header_reads_length_id_status_and_sequence() -> None:
    wire = b"junk" + frame(CommandId.submit_sm_resp, c("x"), status=0x45, sequence=0xFFFFFFFF)
    assert parse_header(wire, 4) == (18, 0x80000004, 0x45, 0xFFFFFFFF)


def test_parse_header_of_fewer_than_16_octets_is_a_fatal_rinvcmdlen() -> None:
    with pytest.raises(PduError) as caught:
        parse_header(b"\0" * 15)
    assert caught.value.command_status == CommandStatus.ESME_RINVCMDLEN
    assert caught.value.fatal


def test_frame_length_waits_until_four_octets_are_buffered() -> None:
    assert frame_length(b"\0\0\0") is None
    assert frame_length(b"xx\0\0\0\x10", offset=2) == 16
    assert frame_length(b"\0\0\x01\x00" + b"\0" * 10) == 256


def test_frame_length_below_16_is_fatal_before_the_header_is_complete() -> None:
    with pytest.raises(PduError) as caught:
        frame_length(b"\0\0\0\x08")
    assert caught.value.command_status == CommandStatus.ESME_RINVCMDLEN
    assert caught.value.fatal
    assert caught.value.sequence is None


def test_frame_length_over_the_limit_is_fatal_and_names_the_sequence_when_known() -> None:
    header = struct.pack(">IIII", 2000, CommandId.submit_sm, 0, 42)
    with pytest.raises(PduError) as caught:
        frame_length(header, max_pdu_size=1024)
    assert caught.value.fatal
    assert (caught.value.command_id, caught.value.sequence) == (CommandId.submit_sm, 42)
    assert frame_length(header) == 2000


# --- leniencies ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cls",
    [BindTransmitterResp, BindReceiverResp, BindTransceiverResp, SubmitSmResp, DeliverSmResp,
     DataSmResp, QuerySmResp],
)
def test_error_response_without_body_decodes_with_default_fields(cls: type[Pdu]) -> None:
    wire = frame(cls.command_id, status=CommandStatus.ESME_RTHROTTLED, sequence=77)
    assert decode(wire) == cls(sequence=77, command_status=CommandStatus.ESME_RTHROTTLED)


def test_deliver_sm_resp_without_body_is_accepted_even_when_ok() -> None:
    # Many ESMEs omit the unused message_id; refusing it would make carriers resend DLRs.
    assert decode(frame(CommandId.deliver_sm_resp, sequence=3)) == DeliverSmResp(sequence=3)


def test_bodiless_response_reencodes_with_its_mandatory_fields() -> None:
    decoded = decode(frame(CommandId.submit_sm_resp, status=0x58, sequence=3))
    assert encode(decoded) == frame(CommandId.submit_sm_resp, c(""), status=0x58, sequence=3)


def test_cstring_tlv_without_nul_is_kept_and_read() -> None:
    wire = frame(CommandId.deliver_sm,
                 c("") + b"\0\0" + c("33612345678") + b"\0\0" + c("36173") + b"\x04\0\0"
                 + c("") + c("") + b"\0\0\0\0\0" + tlv(0x001E, b"4f1c2a9e77"))
    dlr = decode(wire)
    assert isinstance(dlr, DeliverSm)
    assert tlv_str(dlr, Tag.receipted_message_id) == "4f1c2a9e77"
    assert encode(dlr) == wire


# --- TLVs ------------------------------------------------------------------------------


def test_unknown_and_vendor_tlvs_survive_a_round_trip_byte_exact_and_in_order() -> None:
    tlvs = ((0x3FFF, b""), (Tag.sar_msg_ref_num, b"\x12\x34"), (0x1400, b"\xff" * 300),
            (0x0042, b"anything"), (0x1500, b"\x01"), (0x3FFF, b"again"))
    wire = encode(SubmitSm(destination_addr="1", tlvs=tlvs))
    decoded = decode(wire)
    assert isinstance(decoded, SubmitSm)
    assert decoded.tlvs == tlvs
    assert encode(decoded) == wire


def test_dlr_tlvs_read_as_typed_values() -> None:
    dlr = decode(example(DeliverSm)[1])
    assert isinstance(dlr, DeliverSm)
    assert tlv_str(dlr, Tag.receipted_message_id) == "4f1c2a9e77"
    assert tlv_int(dlr, Tag.message_state) == MessageState.DELIVERED
    assert dlr.tlv(Tag.network_error_code) == b"\x03\x00\x00"
    assert tlv_int(dlr, Tag.sar_msg_ref_num) is None
    assert tlv_str(dlr, Tag.additional_status_info_text) is None


def test_encode_tlv_int_takes_its_size_from_the_table() -> None:
    assert encode_tlv_int(Tag.sar_msg_ref_num, 0x1234) == (0x020C, b"\x12\x34")
    assert encode_tlv_int(Tag.qos_time_to_live, 1) == (0x0017, b"\0\0\0\x01")
    assert encode_tlv_int(Tag.stopgate_class, 2) == (0x1500, b"\x02")
    assert encode_tlv_int(0x1600, 7, size=2) == (0x1600, b"\0\x07")


def test_encode_tlv_str_adds_the_nul() -> None:
    assert encode_tlv_str(Tag.receipted_message_id, "abc") == (0x001E, b"abc\0")
    assert encode_tlv_str(Tag.stopgate_campaign, "spring") == (0x1501, b"spring\0")
    assert encode_tlv_str(0x1600, "") == (0x1600, b"\0")


@pytest.mark.parametrize(
    ("call", "args"),
    [
        (encode_tlv_int, (Tag.message_state, 256)),
        (encode_tlv_int, (Tag.receipted_message_id, 1)),
        (encode_tlv_int, (0x1600, 1)),
        (encode_tlv_int, (Tag.sar_msg_ref_num, 1, 4)),
        (encode_tlv_str, (Tag.message_state, "1")),
        (encode_tlv_str, (Tag.receipted_message_id, "x" * 65)),
        (encode_tlv_str, (Tag.receipted_message_id, "a\0b")),
        (encode_tlv_str, (Tag.stopgate_campaign, "\u20ac")),
    ],
)
def test_tlv_builders_refuse_values_smpp_does_not_allow(
    call: object, args: tuple[Any, ...]
) -> None:
    with pytest.raises(ValueError):
        call(*args)  # type: ignore[operator]


def test_tlv_table_covers_every_tag_constant() -> None:
    assert set(TLV_SPECS) == set(Tag)
    assert TLV_SPECS[Tag.receipted_message_id].kind is TlvKind.CSTRING
    assert TLV_SPECS[Tag.message_payload].kind is TlvKind.OCTETS


# --- encode refuses what a strict peer would reject ----------------------------------------


@pytest.mark.parametrize(
    "pdu",
    [
        SubmitSm(source_addr="1" * 21),
        SubmitSm(destination_addr="1" * 21),
        SubmitSm(service_type="PROMO1"),
        SubmitSm(source_addr="a\0b"),
        SubmitSm(source_addr="\u20ac"),
        SubmitSm(schedule_delivery_time="2405311200"),
        SubmitSm(validity_period="1" * 17),
        SubmitSm(short_message=b"x" * (SM_LENGTH_MAX + 1)),
        SubmitSm(esm_class=256),
        SubmitSm(data_coding=-1),
        SubmitSm(sequence=2**32),
        SubmitSm(tlvs=((Tag.sar_msg_ref_num, b"\x01"),)),
        SubmitSm(tlvs=((0x1400, b"x" * 65536),)),
        SubmitSm(tlvs=((0x10000, b""),)),
        DataSm(source_addr="1" * 65),
        BindTransmitter(system_id="s" * 16),
        BindTransmitter(password="p" * 9),
        BindTransmitter(system_type="t" * 13),
        BindTransmitter(address_range="r" * 41),
        SubmitSmResp(message_id="m" * 65),
        QuerySmResp(final_date="tomorrow"),
    ],
    ids=repr,
)
def test_encode_refuses_fields_over_smpp_limits(pdu: Pdu) -> None:
    with pytest.raises(ValueError):
        encode(pdu)


def test_encode_accepts_fields_at_exactly_the_smpp_limits() -> None:
    pdu = SubmitSm(service_type="PROMO", source_addr="1" * 20, destination_addr="2" * 20,
                   short_message=b"x" * SM_LENGTH_MAX)
    assert decode(encode(pdu)) == pdu


def test_encode_refuses_what_is_not_a_pdu() -> None:
    with pytest.raises(TypeError):
        encode(Pdu())


# --- the error type ------------------------------------------------------------------------


def test_pdu_error_says_what_is_wrong_and_which_status_it_earns() -> None:
    wire = frame(CommandId.submit_sm, c("") + b"\0\0" + b"1" * 30)
    with pytest.raises(PduError) as caught:
        decode(wire)
    assert "source_addr" in str(caught.value)
    assert "ESME_RINVSRCADR" in str(caught.value)
    assert "submit_sm" in str(caught.value)


def test_pdu_error_survives_pickling() -> None:
    error = PduError("x", command_status=2, command_id=4, sequence=9, fatal=True)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.message, copy.command_status, copy.command_id, copy.sequence, copy.fatal) == (
        "x", 2, 4, 9, True)


def test_submit_sm_resp_with_smpp5_tlvs_from_a_carrier_is_accepted_and_kept() -> None:
    # SMPP 3.4 gives submit_sm_resp no TLVs, but SMSCs send 5.0-style ones; refusing the
    # frame would lose the carrier's answer to a message it has accepted.
    body = b"abc123\0" + b"\x00\x1d\x00\x05oops\0"
    frame = struct.pack(">IIII", 16 + len(body), CommandId.submit_sm_resp, 0, 9) + body
    pdu = decode(frame)
    assert isinstance(pdu, SubmitSmResp)
    assert pdu.message_id == "abc123"
    assert pdu.tlvs == ((0x001D, b"oops\0"),)
    assert encode(pdu) == frame
