"""Byte-exact interop with smpplib, an independent SMPP 3.4 implementation.

Every case is checked three ways: smpplib's frame decodes here to the
expected PDU, our frame is byte-identical to smpplib's, and smpplib parses
our frame back to the fields it was given. Where smpplib departs from SMPP
3.4 the tests below say so and hold stopgate to the spec.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import pytest
import smpplib.command
import smpplib.consts
import smpplib.exceptions
import smpplib.smpp

from smpp.codec import decode, encode
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
    AlertNotification,
    BindReceiver,
    BindReceiverResp,
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitter,
    BindTransmitterResp,
    DataSm,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Pdu,
    QuerySm,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
)
from smpp.tlv import tlv_str

pytestmark = pytest.mark.interop


class SequenceSource:
    """What smpplib asks of its client: the sequence number to stamp on a PDU."""

    def __init__(self, sequence: int) -> None:
        self.sequence = sequence

    def next_sequence(self) -> int:
        return self.sequence


def smpplib_frame(command: str, sequence: int, status: int = 0, **fields: Any) -> bytes:
    """The frame smpplib generates for ``command`` with ``fields``."""
    pdu = smpplib.smpp.make_pdu(command, client=SequenceSource(sequence), **fields)
    pdu.sequence = sequence
    pdu.status = status
    return bytes(pdu.generate())


def smpplib_parse(wire: bytes, **options: Any) -> Any:
    return smpplib.smpp.parse_pdu(wire, client=SequenceSource(0), **options)


def with_tlvs(wire: bytes, extra: bytes) -> bytes:
    """``wire`` with TLVs appended by hand (smpplib cannot send vendor tags)."""
    wire += extra
    return struct.pack(">I", len(wire)) + wire[4:]


def tlv(tag: int, value: bytes) -> bytes:
    return struct.pack(">HH", tag, len(value)) + value


@dataclass(frozen=True)
class Case:
    name: str
    command: str  # smpplib's name
    fields: dict[str, Any]  # smpplib's keyword arguments
    pdu: Pdu  # the same PDU in smpp.pdu terms


UDH = b"\x05\x00\x03\x2a\x02\x01"  # 8-bit reference 0x2A, part 1 of 2
DLR_TEXT = (
    b"id:4f1c2a9e77 sub:001 dlvrd:001 submit date:2405311200 done date:2405311201 "
    b"stat:DELIVRD err:000 text:Spring sale"
)
UCS2_TEXT = "\u65e5\u672c\u8a9e \u30c6\u30ad\u30b9\u30c8 \u00e9\u00e8".encode("utf-16-be")

CASES = [
    Case(
        "submit_sm_short_gsm",
        "submit_sm",
        # GSM 03.38 unpacked: 0x01 is the pound sign and 0x00 is '@', a NUL inside the text.
        dict(source_addr_ton=5, source_addr="ACME", dest_addr_ton=1, dest_addr_npi=1,
             destination_addr="33612345678", registered_delivery=1,
             short_message=b"\x015 off \x00 shop"),
        SubmitSm(sequence=1, source_addr_ton=5, source_addr="ACME", dest_addr_ton=1,
                 dest_addr_npi=1, destination_addr="33612345678", registered_delivery=1,
                 short_message=b"\x015 off \x00 shop"),
    ),
    Case(
        "submit_sm_udh_long_part",
        "submit_sm",
        dict(source_addr="36173", destination_addr="33612345678", esm_class=ESM_UDHI,
             short_message=UDH + b"a" * 153),
        SubmitSm(sequence=2, source_addr="36173", destination_addr="33612345678",
                 esm_class=ESM_UDHI, short_message=UDH + b"a" * 153),
    ),
    Case(
        "submit_sm_sar_long_part",
        "submit_sm",
        dict(source_addr="36173", destination_addr="33612345678", short_message=b"b" * 153,
             sar_msg_ref_num=0x1234, sar_total_segments=3, sar_segment_seqnum=2),
        SubmitSm(sequence=3, source_addr="36173", destination_addr="33612345678",
                 short_message=b"b" * 153,
                 tlvs=((Tag.sar_msg_ref_num, b"\x12\x34"), (Tag.sar_total_segments, b"\x03"),
                       (Tag.sar_segment_seqnum, b"\x02"))),
    ),
    Case(
        "submit_sm_ucs2",
        "submit_sm",
        dict(service_type="OTP", source_addr="Bank", source_addr_ton=5,
             destination_addr="819012345678", data_coding=DataCoding.ucs2,
             validity_period="000001000000000R", short_message=UCS2_TEXT),
        SubmitSm(sequence=4, service_type="OTP", source_addr="Bank", source_addr_ton=5,
                 destination_addr="819012345678", data_coding=DataCoding.ucs2,
                 validity_period="000001000000000R", short_message=UCS2_TEXT),
    ),
    Case(
        "submit_sm_extra_tlvs",
        "submit_sm",
        dict(destination_addr="33612345678", short_message=b"", user_message_reference=77,
             source_port=0x23F4, destination_port=0x0B84, payload_type=0,
             message_payload=b"p" * 400, its_session_info=0x0102),
        SubmitSm(sequence=5, destination_addr="33612345678",
                 tlvs=((Tag.user_message_reference, b"\x00\x4d"), (Tag.source_port, b"\x23\xf4"),
                       (Tag.destination_port, b"\x0b\x84"), (Tag.payload_type, b"\x00"),
                       (Tag.message_payload, b"p" * 400), (Tag.its_session_info, b"\x01\x02"))),
    ),
    Case(
        "deliver_sm_mo",
        "deliver_sm",
        dict(source_addr_ton=1, source_addr_npi=1, source_addr="33612345678",
             destination_addr="36173", short_message=b"STOP"),
        DeliverSm(sequence=6, source_addr_ton=1, source_addr_npi=1, source_addr="33612345678",
                  destination_addr="36173", short_message=b"STOP"),
    ),
    Case(
        "deliver_sm_dlr",
        "deliver_sm",
        dict(source_addr="33612345678", destination_addr="36173",
             esm_class=ESM_DELIVERY_RECEIPT, short_message=DLR_TEXT,
             network_error_code=b"\x03\x00\x00", message_state=MessageState.DELIVERED,
             receipted_message_id="4f1c2a9e77"),
        DeliverSm(sequence=7, source_addr="33612345678", destination_addr="36173",
                  esm_class=ESM_DELIVERY_RECEIPT, short_message=DLR_TEXT,
                  tlvs=((Tag.network_error_code, b"\x03\x00\x00"), (Tag.message_state, b"\x02"),
                        (Tag.receipted_message_id, b"4f1c2a9e77\0"))),
    ),
    Case("submit_sm_resp", "submit_sm_resp", dict(message_id="4f1c2a9e77"),
         SubmitSmResp(sequence=1, message_id="4f1c2a9e77")),
    Case("submit_sm_resp_throttled", "submit_sm_resp",
         dict(status=smpplib.consts.SMPP_ESME_RTHROTTLED),
         SubmitSmResp(sequence=1, command_status=CommandStatus.ESME_RTHROTTLED)),
    Case("deliver_sm_resp", "deliver_sm_resp", {}, DeliverSmResp(sequence=7)),
    Case(
        "bind_transmitter",
        "bind_transmitter",
        dict(system_id="acme", password="secret", system_type="SMPP", addr_ton=1, addr_npi=1,
             address_range=""),
        BindTransmitter(sequence=1, system_id="acme", password="secret", system_type="SMPP",
                        addr_ton=1, addr_npi=1),
    ),
    Case("bind_receiver", "bind_receiver",
         dict(system_id="acme", password="secret", address_range="^33"),
         BindReceiver(sequence=2, system_id="acme", password="secret", address_range="^33")),
    Case("bind_transceiver", "bind_transceiver", dict(system_id="acme", password="secret"),
         BindTransceiver(sequence=3, system_id="acme", password="secret")),
    Case("bind_transmitter_resp", "bind_transmitter_resp",
         dict(system_id="stopgate", sc_interface_version=0x34),
         BindTransmitterResp(sequence=1, system_id="stopgate",
                             tlvs=((Tag.sc_interface_version, b"\x34"),))),
    Case("bind_receiver_resp", "bind_receiver_resp", dict(system_id="stopgate"),
         BindReceiverResp(sequence=2, system_id="stopgate")),
    Case("bind_transceiver_resp_rinvpaswd", "bind_transceiver_resp", dict(status=0x0E),
         BindTransceiverResp(sequence=3, command_status=CommandStatus.ESME_RINVPASWD)),
    Case("enquire_link", "enquire_link", {}, EnquireLink(sequence=8)),
    Case("enquire_link_resp", "enquire_link_resp", {}, EnquireLinkResp(sequence=8)),
    Case("unbind", "unbind", {}, Unbind(sequence=9)),
    Case("unbind_resp", "unbind_resp", {}, UnbindResp(sequence=9)),
    Case("generic_nack", "generic_nack", dict(status=0x03),
         GenericNack(sequence=10, command_status=CommandStatus.ESME_RINVCMDID)),
    Case("data_sm", "data_sm",
         dict(source_addr="36173", destination_addr="33612345678", registered_delivery=1,
              message_payload=b"long text " * 40),
         DataSm(sequence=11, source_addr="36173", destination_addr="33612345678",
                registered_delivery=1, tlvs=((Tag.message_payload, b"long text " * 40),))),
    Case("query_sm", "query_sm", dict(message_id="4f1c2a9e77", source_addr="36173"),
         QuerySm(sequence=12, message_id="4f1c2a9e77", source_addr="36173")),
    Case("alert_notification", "alert_notification",
         dict(source_addr="33612345678", esme_addr="acme", ms_availability_status=0),
         AlertNotification(sequence=13, source_addr="33612345678", esme_addr="acme",
                           tlvs=((Tag.ms_availability_status, b"\x00"),))),
]


def build(case: Case) -> bytes:
    fields = dict(case.fields)
    status = fields.pop("status", 0)
    return smpplib_frame(case.command, case.pdu.sequence, status, **fields)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_smpplib_frame_decodes_to_the_same_pdu(case: Case) -> None:
    assert decode(build(case)) == case.pdu


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_our_frame_is_byte_identical_to_smpplib(case: Case) -> None:
    assert encode(case.pdu) == build(case)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_smpplib_parses_our_frame_to_the_same_fields(case: Case) -> None:
    parsed = smpplib_parse(encode(case.pdu))
    assert parsed.command == CommandId(case.pdu.command_id).name
    assert (parsed.sequence, parsed.status) == (case.pdu.sequence, case.pdu.command_status)
    for name, value in case.fields.items():
        if name == "status":
            continue
        expected = value.encode("latin-1") if isinstance(value, str) else value
        assert getattr(parsed, name) == expected, name


# --- vendor TLVs: smpplib cannot send them and only skips them ---------------------------

VENDOR_TLVS = tlv(Tag.stopgate_class, b"\x02") + tlv(Tag.stopgate_campaign, b"spring\0") + tlv(
    0x3FFF, b"\xde\xad"
)


def test_vendor_tlvs_appended_to_an_smpplib_frame_are_kept_byte_exact() -> None:
    case = next(case for case in CASES if case.name == "submit_sm_sar_long_part")
    wire = with_tlvs(build(case), VENDOR_TLVS)
    decoded = decode(wire)
    assert isinstance(decoded, SubmitSm)
    assert decoded.tlvs == (*case.pdu.tlvs,  # type: ignore[attr-defined]
                            (0x1500, b"\x02"), (0x1501, b"spring\0"), (0x3FFF, b"\xde\xad"))
    assert encode(decoded) == wire


def test_smpplib_reads_the_standard_fields_around_our_vendor_tlvs() -> None:
    # smpplib refuses unknown tags unless told to skip them; SMPP 3.4 (5.3) says a receiver
    # must ignore optional parameters it does not support, which stopgate does by keeping them.
    pdu = SubmitSm(sequence=5, destination_addr="33612345678", short_message=b"hi",
                   tlvs=((0x1500, b"\x02"), (Tag.sar_msg_ref_num, b"\x00\x07"), (0x1501, b"c\0")))
    wire = encode(pdu)
    with pytest.raises(smpplib.exceptions.UnknownCommandError):
        smpplib_parse(wire)
    parsed = smpplib_parse(wire, allow_unknown_opt_params=True)
    assert (parsed.destination_addr, parsed.short_message) == (b"33612345678", b"hi")
    assert parsed.sar_msg_ref_num == 7


# --- where smpplib departs from SMPP 3.4 ----------------------------------------------------


def test_source_addr_subunit_of_two_octets_from_smpplib_is_refused() -> None:
    # smpplib's SubmitSM packs source_addr_subunit in 2 octets; SMPP 3.4 5.3.2.2 says 1.
    assert smpplib.command.SubmitSM.params["source_addr_subunit"].size == 2
    wire = smpplib_frame("submit_sm", 1, destination_addr="1", source_addr_subunit=1)
    assert wire.endswith(tlv(Tag.source_addr_subunit, b"\x00\x01"))
    with pytest.raises(PduError) as caught:
        decode(wire)
    assert caught.value.command_status == CommandStatus.ESME_RINVPARLEN
    assert not caught.value.fatal


def test_over_long_source_addr_is_refused_where_smpplib_truncates_it() -> None:
    # smpplib cuts a C-octet string to its maximum without a word; stopgate refuses to
    # send an address other than the one it was given.
    wire = smpplib_frame("submit_sm", 1, source_addr="1" * 25, destination_addr="2")
    assert decode(wire).source_addr == "1" * 20  # type: ignore[attr-defined]
    with pytest.raises(ValueError):
        encode(SubmitSm(source_addr="1" * 25, destination_addr="2"))


def test_data_sm_addresses_up_to_64_octets_reach_smpplib_intact() -> None:
    # SMPP 3.4 4.7.1 gives data_sm addresses 65 octets; smpplib's generator allows 21 (it
    # truncates), its parser has no limit, so our long address still reads back whole.
    long_addr = "4" * 64
    wire = encode(DataSm(sequence=1, source_addr=long_addr, destination_addr="1"))
    assert smpplib_parse(wire).source_addr == long_addr.encode()
    short = smpplib_frame("data_sm", 1, source_addr=long_addr, destination_addr="1")
    assert decode(short).source_addr == "4" * 20  # type: ignore[attr-defined]


def test_receipted_message_id_without_nul_keeps_its_last_character() -> None:
    # Some SMSCs omit the NUL of C-octet string TLVs; smpplib then drops the last octet,
    # stopgate reads the whole id (the DLR must match the id the sender was given).
    body = smpplib_frame("deliver_sm", 1, source_addr="336", destination_addr="36173",
                         esm_class=ESM_DELIVERY_RECEIPT, short_message=b"id:abc stat:DELIVRD")
    wire = with_tlvs(body, tlv(Tag.receipted_message_id, b"abc"))
    dlr = decode(wire)
    assert isinstance(dlr, DeliverSm)
    assert tlv_str(dlr, Tag.receipted_message_id) == "abc"
    assert smpplib_parse(wire).receipted_message_id == b"ab"
