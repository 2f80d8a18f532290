"""Bad frames: each earns one exact command_status, and only broken framing is fatal."""

from __future__ import annotations

import struct
from dataclasses import dataclass

import pytest

from smpp.codec import decode
from smpp.constants import CommandId, CommandStatus
from smpp.errors import PduError

S = CommandStatus
SEQ = 0x01020304


def frame(command_id: int, body: bytes = b"", *, status: int = 0) -> bytes:
    return struct.pack(">IIII", 16 + len(body), command_id, status, SEQ) + body


def relength(wire: bytes) -> bytes:
    """``wire`` with command_length set to its size: a sound frame around a cut or padded body."""
    return struct.pack(">I", len(wire)) + wire[4:]


def c(text: str) -> bytes:
    return text.encode("latin-1") + b"\0"


def tlv(tag: int, value: bytes, length: int | None = None) -> bytes:
    return struct.pack(">HH", tag, len(value) if length is None else length) + value


def submit_sm(
    *,
    service_type: bytes = c(""),
    source_addr: bytes = c("36173"),
    destination_addr: bytes = c("33612345678"),
    schedule: bytes = c(""),
    validity: bytes = c(""),
    sm_length: int | None = None,
    short_message: bytes = b"hi",
    tail: bytes = b"",
) -> bytes:
    """A submit_sm frame, field by field, so a test can spoil exactly one."""
    length = len(short_message) if sm_length is None else sm_length
    return frame(
        CommandId.submit_sm,
        service_type + b"\x01\x01" + source_addr + b"\x01\x01" + destination_addr + b"\0\0\0"
        + schedule + validity + b"\0\0\0\0" + bytes([length]) + short_message + tail,
    )


def bind(system_id: bytes = c("acme"), password: bytes = c("pw"), system_type: bytes = c(""),
         address_range: bytes = c("")) -> bytes:
    return frame(CommandId.bind_transceiver,
                 system_id + password + system_type + b"\x34\0\0" + address_range)


@dataclass(frozen=True)
class Bad:
    name: str
    wire: bytes
    status: int
    fatal: bool = False
    header_known: bool = True


CASES = [
    # --- framing: fatal ---
    Bad("empty_frame", b"", S.ESME_RINVCMDLEN, fatal=True, header_known=False),
    Bad("frame_shorter_than_header", frame(CommandId.enquire_link)[:12], S.ESME_RINVCMDLEN,
        fatal=True, header_known=False),
    Bad("command_length_0", struct.pack(">IIII", 0, CommandId.enquire_link, 0, SEQ),
        S.ESME_RINVCMDLEN, fatal=True),
    Bad("command_length_15", struct.pack(">IIII", 15, CommandId.enquire_link, 0, SEQ),
        S.ESME_RINVCMDLEN, fatal=True),
    Bad("command_length_over_64k_limit", struct.pack(">IIII", 65537, CommandId.submit_sm, 0, SEQ),
        S.ESME_RINVCMDLEN, fatal=True),
    Bad("command_length_0xffffffff",
        struct.pack(">IIII", 0xFFFFFFFF, CommandId.submit_sm, 0, SEQ), S.ESME_RINVCMDLEN,
        fatal=True),
    Bad("command_length_longer_than_frame", frame(CommandId.submit_sm_resp, c("id"))[:-1],
        S.ESME_RINVCMDLEN, fatal=True),
    Bad("command_length_shorter_than_frame", frame(CommandId.enquire_link) + b"\0",
        S.ESME_RINVCMDLEN, fatal=True),
    # --- command ids ---
    Bad("unknown_command_id", frame(0x00000099), S.ESME_RINVCMDID),
    Bad("unknown_response_id", frame(0x80000099), S.ESME_RINVCMDID),
    Bad("replace_sm_is_not_supported", frame(CommandId.replace_sm, b"\0" * 30), S.ESME_RINVCMDID),
    Bad("submit_multi_is_not_supported", frame(CommandId.submit_multi, b"\0" * 30),
        S.ESME_RINVCMDID),
    Bad("vendor_command_id", frame(0x00010200), S.ESME_RINVCMDID),
    # --- bodies that end early or run on ---
    Bad("enquire_link_with_a_body", frame(CommandId.enquire_link, b"\0"), S.ESME_RINVCMDLEN),
    Bad("generic_nack_with_a_body", frame(0x80000000, b"\0\0\0\0"), S.ESME_RINVCMDLEN),
    Bad("submit_sm_resp_with_a_truncated_tlv_after_message_id",
        frame(CommandId.submit_sm_resp, c("id") + tlv(0x001D, c("x"))[:-1]),
        S.ESME_RINVOPTPARSTREAM),
    Bad("bind_with_tlvs", relength(bind() + tlv(0x0210, b"\x34")), S.ESME_RINVCMDLEN),
    Bad("submit_sm_without_body", frame(CommandId.submit_sm), S.ESME_RINVCMDLEN),
    Bad("body_ends_inside_destination_addr", relength(submit_sm()[:40]), S.ESME_RINVCMDLEN),
    Bad("body_ends_inside_fixed_fields",
        frame(CommandId.submit_sm, c("") + b"\x01\x01" + c("36173") + b"\x01"), S.ESME_RINVCMDLEN),
    Bad("query_sm_resp_missing_error_code",
        frame(CommandId.query_sm_resp, c("m") + c("") + b"\x02"), S.ESME_RINVCMDLEN),
    Bad("bind_missing_address_range",
        frame(CommandId.bind_transmitter, c("a") + c("b") + c("") + b"\x34\0\0"),
        S.ESME_RINVCMDLEN),
    # --- C-octet strings over their SMPP maximum ---
    Bad("source_addr_of_21_octets", submit_sm(source_addr=c("1" * 21)), S.ESME_RINVSRCADR),
    Bad("source_addr_without_nul", submit_sm(source_addr=b"1" * 40), S.ESME_RINVSRCADR),
    Bad("destination_addr_of_21_octets", submit_sm(destination_addr=c("2" * 21)),
        S.ESME_RINVDSTADR),
    Bad("service_type_of_6_octets", submit_sm(service_type=c("PROMO1")), S.ESME_RINVSERTYP),
    Bad("schedule_delivery_time_of_17_octets", submit_sm(schedule=c("1" * 17)), S.ESME_RINVSCHED),
    Bad("schedule_delivery_time_not_16_characters", submit_sm(schedule=c("2405311200")),
        S.ESME_RINVSCHED),
    Bad("validity_period_not_16_characters", submit_sm(validity=c("1d")), S.ESME_RINVEXPIRY),
    Bad("system_id_of_16_octets", bind(system_id=c("s" * 16)), S.ESME_RINVSYSID),
    Bad("password_of_9_octets", bind(password=c("p" * 9)), S.ESME_RINVPASWD),
    Bad("system_type_of_13_octets", bind(system_type=c("t" * 13)), S.ESME_RINVSYSTYP),
    Bad("address_range_of_41_octets", bind(address_range=c("r" * 41)), S.ESME_RINVPARLEN),
    Bad("message_id_of_65_octets", frame(CommandId.submit_sm_resp, c("m" * 65)),
        S.ESME_RINVMSGID),
    Bad("final_date_not_16_characters",
        frame(CommandId.query_sm_resp, c("m") + c("yesterday") + b"\x02\0"), S.ESME_RINVPARLEN),
    Bad("data_sm_source_addr_of_65_octets",
        frame(CommandId.data_sm, c("") + b"\0\0" + c("1" * 65) + b"\0\0" + c("2") + b"\0\0\0"),
        S.ESME_RINVSRCADR),
    Bad("alert_notification_esme_addr_of_65_octets",
        frame(CommandId.alert_notification, b"\0\0" + c("1") + b"\0\0" + c("e" * 65)),
        S.ESME_RINVDSTADR),
    # --- short_message ---
    Bad("sm_length_past_end_of_frame", submit_sm(sm_length=10, short_message=b"hi"),
        S.ESME_RINVMSGLEN),
    Bad("sm_length_255", submit_sm(short_message=b"x" * 255), S.ESME_RINVMSGLEN),
    # --- TLVs ---
    Bad("tlv_header_cut_short", submit_sm(tail=b"\x02\x0c\x00"), S.ESME_RINVOPTPARSTREAM),
    Bad("tlv_length_past_end", submit_sm(tail=tlv(0x0424, b"abc", length=4)),
        S.ESME_RINVOPTPARSTREAM),
    Bad("vendor_tlv_length_past_end", submit_sm(tail=tlv(0x1400, b"", length=1)),
        S.ESME_RINVOPTPARSTREAM),
    Bad("second_tlv_length_past_end",
        submit_sm(tail=tlv(0x020C, b"\0\x01") + tlv(0x1501, b"c\0", length=9)),
        S.ESME_RINVOPTPARSTREAM),
    Bad("sar_msg_ref_num_of_1_octet", submit_sm(tail=tlv(0x020C, b"\x01")), S.ESME_RINVPARLEN),
    Bad("message_state_of_2_octets",
        frame(CommandId.deliver_sm, submit_sm(tail=tlv(0x0427, b"\0\x02"))[16:]),
        S.ESME_RINVPARLEN),
    Bad("qos_time_to_live_of_2_octets", submit_sm(tail=tlv(0x0017, b"\0\x02")), S.ESME_RINVPARLEN),
    Bad("network_error_code_of_2_octets", submit_sm(tail=tlv(0x0423, b"\0\x02")),
        S.ESME_RINVPARLEN),
    Bad("receipted_message_id_of_66_octets", submit_sm(tail=tlv(0x001E, c("r" * 65))),
        S.ESME_RINVPARLEN),
    Bad("empty_receipted_message_id", submit_sm(tail=tlv(0x001E, b"")), S.ESME_RINVPARLEN),
    Bad("stopgate_class_of_2_octets", submit_sm(tail=tlv(0x1500, b"\0\x02")), S.ESME_RINVPARLEN),
    Bad("bind_resp_sc_interface_version_of_0_octets",
        frame(CommandId.bind_transceiver_resp, c("SMSC") + tlv(0x0210, b"")), S.ESME_RINVPARLEN),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_frame_earns_its_command_status(case: Bad) -> None:
    with pytest.raises(PduError) as caught:
        decode(case.wire)
    error = caught.value
    assert CommandStatus(error.command_status) == case.status, str(error)
    assert error.fatal is case.fatal
    if case.header_known:
        assert error.sequence == SEQ
        assert error.command_id == struct.unpack_from(">I", case.wire, 4)[0]
    else:
        assert (error.sequence, error.command_id) == (None, None)


def test_custom_size_limit_makes_a_larger_frame_fatal() -> None:
    wire = submit_sm(short_message=b"x" * 200)
    assert decode(wire, max_pdu_size=len(wire))
    with pytest.raises(PduError) as caught:
        decode(wire, max_pdu_size=len(wire) - 1)
    assert (caught.value.command_status, caught.value.fatal) == (S.ESME_RINVCMDLEN, True)


@pytest.mark.parametrize(
    "wire",
    [
        submit_sm(source_addr=c("1" * 20), destination_addr=c("2" * 20), service_type=c("PROMO")),
        submit_sm(short_message=b"x" * 254),
        submit_sm(schedule=c("240531120000000+"), validity=c("000001000000000R")),
        bind(system_id=c("s" * 15), password=c("p" * 8), system_type=c("t" * 12),
             address_range=c("r" * 40)),
        frame(CommandId.submit_sm_resp, c("m" * 64)),
        submit_sm(tail=tlv(0x001E, c("r" * 64)) + tlv(0x0010, b"\0\x01") + tlv(0x0010, b"\x01")),
        submit_sm(tail=tlv(0x1400, b"") + tlv(0x3FFF, b"\xff" * 1000)),
    ],
    ids=["addresses_of_20", "sm_length_254", "both_times_of_16", "bind_fields_at_max",
         "message_id_of_64", "tlvs_at_max_and_source_telematics_id_1_or_2", "vendor_tlvs"],
)
def test_fields_at_their_smpp_maximum_are_accepted(wire: bytes) -> None:
    decode(wire)
