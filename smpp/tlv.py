"""The TLV table (SMPP 3.4 section 5.3.2) and typed access to optional parameters.

The codec uses the table only to check the length of known parameters; every
TLV, known or not (vendor tags 0x1400-0x3FFF included), is kept as raw bytes
in wire order. Typed values are read and built on demand with the helpers.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .constants import Tag
from .pdu import Tlv, TlvPdu


class TlvKind(Enum):
    INT = "int"  # unsigned big-endian integer of a fixed size
    CSTRING = "cstring"  # C-octet string: value octets, then one NUL
    OCTETS = "octets"  # raw octet string


@dataclass(frozen=True, slots=True)
class TlvSpec:
    """What SMPP 3.4 says about one tag: its value's kind and length bounds (octets)."""

    tag: int
    name: str
    kind: TlvKind
    min_length: int
    max_length: int


def _int(tag: Tag, size: int) -> TlvSpec:
    return TlvSpec(tag, tag.name, TlvKind.INT, size, size)


def _cstr(tag: Tag, max_length: int) -> TlvSpec:
    return TlvSpec(tag, tag.name, TlvKind.CSTRING, 1, max_length)


def _octets(tag: Tag, min_length: int, max_length: int) -> TlvSpec:
    return TlvSpec(tag, tag.name, TlvKind.OCTETS, min_length, max_length)


#: Every tag stopgate knows, by tag. Lengths are those of the value, without the 4-octet header.
TLV_SPECS: dict[int, TlvSpec] = {
    spec.tag: spec
    for spec in (
        _int(Tag.dest_addr_subunit, 1),
        _int(Tag.dest_network_type, 1),
        _int(Tag.dest_bearer_type, 1),
        _int(Tag.dest_telematics_id, 2),
        _int(Tag.source_addr_subunit, 1),
        _int(Tag.source_network_type, 1),
        _int(Tag.source_bearer_type, 1),
        # The 3.4 text gives 1 octet, implementations disagree (smpplib sends 2): accept both.
        TlvSpec(Tag.source_telematics_id, "source_telematics_id", TlvKind.INT, 1, 2),
        _int(Tag.qos_time_to_live, 4),
        _int(Tag.payload_type, 1),
        _cstr(Tag.additional_status_info_text, 256),
        _cstr(Tag.receipted_message_id, 65),
        _int(Tag.ms_msg_wait_facilities, 1),
        _int(Tag.privacy_indicator, 1),
        _octets(Tag.source_subaddress, 2, 23),
        _octets(Tag.dest_subaddress, 2, 23),
        _int(Tag.user_message_reference, 2),
        _int(Tag.user_response_code, 1),
        _int(Tag.source_port, 2),
        _int(Tag.destination_port, 2),
        _int(Tag.sar_msg_ref_num, 2),
        _int(Tag.language_indicator, 1),
        _int(Tag.sar_total_segments, 1),
        _int(Tag.sar_segment_seqnum, 1),
        _int(Tag.sc_interface_version, 1),
        _int(Tag.callback_num_pres_ind, 1),
        _octets(Tag.callback_num_atag, 0, 65),
        _int(Tag.number_of_messages, 1),
        _octets(Tag.callback_num, 4, 19),
        _int(Tag.dpf_result, 1),
        _int(Tag.set_dpf, 1),
        _int(Tag.ms_availability_status, 1),
        _octets(Tag.network_error_code, 3, 3),
        _octets(Tag.message_payload, 0, 0xFFFF),
        _int(Tag.delivery_failure_reason, 1),
        _int(Tag.more_messages_to_send, 1),
        _int(Tag.message_state, 1),
        # An "octet string" of 1 in the text, but its value is a code: read it as an int.
        _int(Tag.ussd_service_op, 1),
        _int(Tag.display_time, 1),
        _int(Tag.sms_signal, 2),
        _int(Tag.ms_validity, 1),
        _octets(Tag.alert_on_message_delivery, 0, 0),
        _int(Tag.its_reply_type, 1),
        _octets(Tag.its_session_info, 2, 2),
        _int(Tag.stopgate_class, 1),
        _cstr(Tag.stopgate_campaign, 65),
    )
}

#: (min, max) value length of each known tag: the codec's check on the hot path.
TLV_LENGTHS: dict[int, tuple[int, int]] = {
    tag: (spec.min_length, spec.max_length) for tag, spec in TLV_SPECS.items()
}


def tlv_name(tag: int) -> str:
    """The SMPP name of ``tag``, or ``tlv_0xNNNN`` for tags outside the table."""
    spec = TLV_SPECS.get(tag)
    return spec.name if spec is not None else f"tlv_0x{tag:04X}"


def tlv_int(pdu: TlvPdu, tag: int) -> int | None:
    """The first ``tag`` TLV of ``pdu`` read as a big-endian unsigned integer, or None."""
    value = pdu.tlv(tag)
    return None if value is None else int.from_bytes(value, "big")


def tlv_str(pdu: TlvPdu, tag: int) -> str | None:
    """The first ``tag`` TLV of ``pdu`` as text up to its NUL (Latin-1), or None.

    A missing NUL is tolerated: some SMSCs send receipted_message_id without it.
    """
    value = pdu.tlv(tag)
    if value is None:
        return None
    nul = value.find(0)
    return (value if nul < 0 else value[:nul]).decode("latin-1")


def encode_tlv_int(tag: int, value: int, size: int | None = None) -> Tlv:
    """A ``(tag, value)`` integer TLV; ``size`` is needed only for tags outside the table."""
    spec = TLV_SPECS.get(tag)
    if spec is not None:
        if spec.kind is not TlvKind.INT:
            raise ValueError(f"{spec.name} is a {spec.kind.value} TLV, not an integer")
        if size is None:
            size = spec.min_length
        elif not spec.min_length <= size <= spec.max_length:
            raise ValueError(f"{spec.name} is {spec.max_length} octets, not {size}")
    elif size is None:
        raise ValueError(f"tlv_0x{tag:04X} is not in the TLV table: give its size")
    try:
        return (tag, value.to_bytes(size, "big"))
    except OverflowError:
        raise ValueError(f"{tlv_name(tag)} value {value} does not fit {size} octet(s)") from None


def encode_tlv_str(tag: int, value: str) -> Tlv:
    """A ``(tag, value)`` TLV holding ``value`` as a C-octet string (Latin-1, NUL-terminated)."""
    spec = TLV_SPECS.get(tag)
    if spec is not None and spec.kind is not TlvKind.CSTRING:
        raise ValueError(f"{spec.name} is a {spec.kind.value} TLV, not a C-octet string")
    raw = value.encode("latin-1")
    if 0 in raw:
        raise ValueError(f"{tlv_name(tag)} must not contain NUL: {value!r}")
    if spec is not None and len(raw) >= spec.max_length:
        raise ValueError(
            f"{spec.name} is {len(raw)} octets; SMPP allows at most {spec.max_length - 1}"
        )
    return (tag, raw + b"\0")
