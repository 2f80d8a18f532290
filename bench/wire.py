"""The few SMPP 3.4 PDUs the benchmark's generator and sink exchange, as raw bytes.

The load generator and the sink must cost little next to the proxy they measure,
so they never go through ``smpp.codec``: every PDU they send is encoded once,
here, and only its sequence number (and a message id or a few digits) is patched
in place with ``struct.pack_into`` before each write; what they receive is read
as a 16-byte header plus the handful of body fields they must look at.
"""

from __future__ import annotations

import struct

HEADER = struct.Struct(">IIII")  # command_length, command_id, command_status, sequence
SEQ = struct.Struct(">I")

BIND_RECEIVER = 0x00000001
BIND_TRANSMITTER = 0x00000002
BIND_TRANSCEIVER = 0x00000009
SUBMIT_SM = 0x00000004
DELIVER_SM = 0x00000005
UNBIND = 0x00000006
ENQUIRE_LINK = 0x00000015
GENERIC_NACK = 0x80000000
RESP = 0x80000000
SUBMIT_SM_RESP = SUBMIT_SM | RESP
DELIVER_SM_RESP = DELIVER_SM | RESP
BINDS = frozenset({BIND_RECEIVER, BIND_TRANSMITTER, BIND_TRANSCEIVER})
BIND_RESPS = frozenset(b | RESP for b in BINDS)

ESM_UDHI = 0x40
ESM_RECEIPT = 0x04
ESME_RINVCMDID = 0x00000003
TAG_MESSAGE_PAYLOAD = 0x0424
TAG_RECEIPTED_MESSAGE_ID = 0x001E
TAG_MESSAGE_STATE = 0x0427
TAG_STOPGATE_CLASS = 0x1500
TAG_STOPGATE_CAMPAIGN = 0x1501
#: Width of the sink's message ids (lowercase hex): fixed, so they can be patched in place.
ID_WIDTH = 8


def c_string(text: str | bytes) -> bytes:
    return (text.encode("latin-1") if isinstance(text, str) else text) + b"\0"


def pdu(command_id: int, body: bytes = b"", status: int = 0, sequence: int = 0) -> bytes:
    return HEADER.pack(16 + len(body), command_id, status, sequence) + body


def tlv(tag: int, value: bytes) -> bytes:
    return struct.pack(">HH", tag, len(value)) + value


def bind(command_id: int, system_id: str, password: str, sequence: int = 1) -> bytes:
    body = c_string(system_id) + c_string(password) + c_string("") + bytes((0x34, 0, 0))
    return pdu(command_id, body + b"\0", sequence=sequence)


def submit_sm(
    *, service_type: str, source: str, destination: str, short_message: bytes,
    esm_class: int = 0, data_coding: int = 0, registered_delivery: int = 1,
    tlvs: bytes = b"",
) -> tuple[bytearray, int]:
    """A submit_sm (sequence 0) and the offset of its destination_addr in the PDU."""
    head = c_string(service_type) + bytes((5, 0)) + c_string(source) + bytes((1, 1))
    body = (
        head + c_string(destination) + bytes((esm_class, 0, 0)) + b"\0" + b"\0"
        + bytes((registered_delivery, 0, data_coding, 0, len(short_message)))
        + short_message + tlvs
    )
    return bytearray(pdu(SUBMIT_SM, body)), 16 + len(head)


def submit_sm_resp_template() -> bytearray:
    """submit_sm_resp with an ID_WIDTH-character message_id at offset 16."""
    return bytearray(pdu(SUBMIT_SM_RESP, b"0" * ID_WIDTH + b"\0"))


def receipt_template() -> tuple[bytearray, tuple[int, ...]]:
    """A DELIVRD delivery receipt deliver_sm and the offsets of its two id fields.

    The carrier id appears in the text (``id:``) and in receipted_message_id, as
    carriers send it; both are patched per receipt.
    """
    placeholder = b"X" * ID_WIDTH
    text = (b"id:" + placeholder + b" sub:001 dlvrd:001 submit date:2611231504 "
            b"done date:2611231504 stat:DELIVRD err:000 text:")
    body = (
        c_string("") + bytes((1, 1)) + c_string("33600000000") + bytes((5, 0))
        + c_string("BENCH") + bytes((ESM_RECEIPT, 0, 0)) + b"\0" + b"\0"
        + bytes((0, 0, 0, 0, len(text))) + text
        + tlv(TAG_RECEIPTED_MESSAGE_ID, placeholder + b"\0") + tlv(TAG_MESSAGE_STATE, b"\x02")
    )
    frame = bytearray(pdu(DELIVER_SM, body))
    first = frame.index(placeholder)
    second = frame.index(placeholder, first + ID_WIDTH)
    return frame, (first, second)


def short_message_of(frame: bytes | bytearray, start: int, end: int) -> tuple[int, int, bytes]:
    """(esm_class, data_coding, user data) of the submit_sm or deliver_sm at [start, end).

    Only C-string boundaries are searched; the text comes from message_payload when
    sm_length is 0.
    """
    find = frame.find
    pos = find(b"\0", start + 16) + 3  # service_type, source ton/npi
    pos = find(b"\0", pos) + 3  # source_addr, dest ton/npi
    pos = find(b"\0", pos) + 1  # destination_addr
    esm_class = frame[pos]
    pos = find(b"\0", pos + 3) + 1  # esm_class, protocol_id, priority_flag, schedule
    pos = find(b"\0", pos) + 1  # validity_period
    data_coding = frame[pos + 2]
    sm_length = frame[pos + 4]
    pos += 5
    if sm_length:
        return esm_class, data_coding, bytes(frame[pos:pos + sm_length])
    while pos + 4 <= end:  # message_payload TLV
        tag, length = struct.unpack_from(">HH", frame, pos)
        if tag == TAG_MESSAGE_PAYLOAD:
            return esm_class, data_coding, bytes(frame[pos + 4:pos + 4 + length])
        pos += 4 + length
    return esm_class, data_coding, b""


def destination_of(frame: bytes | bytearray, start: int) -> bytes:
    find = frame.find
    pos = find(b"\0", start + 16) + 3
    pos = find(b"\0", pos) + 3
    return bytes(frame[pos:find(b"\0", pos)])
