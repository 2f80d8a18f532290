"""Long messages: User Data Headers, SAR TLVs, message_payload; splitting text into parts.

A part of a concatenated message names its message (reference), the number of
parts and its own place, in one of three ways: a concatenation information
element in a User Data Header (3GPP TS 23.040 9.2.3.24.1 with an 8-bit
reference, 9.2.3.24.8 with a 16-bit one; esm_class bit 0x40 says the
short_message starts with a UDH), or the SMPP 3.4 sar_* TLVs (5.3.2.22-24).
A message_payload TLV carries a whole long message in one PDU.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from .constants import ESM_UDHI, Tag
from .pdu import Tlvs
from .text import CONCAT_UDH_LENGTH, ConcatKind, encode_text, segments_of

__all__ = [
    "IEI_CONCAT_8BIT",
    "IEI_CONCAT_16BIT",
    "MAX_PARTS",
    "ConcatError",
    "ConcatInfo",
    "ConcatKind",
    "Ie",
    "Part",
    "SarError",
    "TooManyPartsError",
    "UdhError",
    "build_parts",
    "build_udh",
    "concat_info",
    "parse_udh",
    "split_payload",
    "split_text",
]

#: An information element of a User Data Header: (IEI, data).
Ie: TypeAlias = tuple[int, bytes]
#: One PDU's worth of a long message: (esm_class bits to set, short_message, TLVs to add).
Part: TypeAlias = tuple[int, bytes, Tlvs]

IEI_CONCAT_8BIT = 0x00
IEI_CONCAT_16BIT = 0x08
#: Parts a message can have: the total is one octet in every form.
MAX_PARTS = 255
#: Largest TLV value (its length field is two octets).
_MAX_TLV_VALUE = 0xFFFF

_CONCAT_IES = (IEI_CONCAT_8BIT, IEI_CONCAT_16BIT)
# Plain ints: comparing against IntEnum members costs an attribute lookup per TLV.
_TAG_MESSAGE_PAYLOAD = int(Tag.message_payload)
_TAG_SAR_REF = int(Tag.sar_msg_ref_num)
_TAG_SAR_TOTAL = int(Tag.sar_total_segments)
_TAG_SAR_SEQNUM = int(Tag.sar_segment_seqnum)
_SAR_TAGS = {
    _TAG_SAR_REF: "sar_msg_ref_num",
    _TAG_SAR_TOTAL: "sar_total_segments",
    _TAG_SAR_SEQNUM: "sar_segment_seqnum",
}
_REF_LIMIT: dict[ConcatKind, int] = {"udh8": 0xFF, "udh16": 0xFFFF, "sar": 0xFFFF, "payload": 0}


class ConcatError(ValueError):
    """A long-message header or TLV set that cannot be read."""


class UdhError(ConcatError):
    """A User Data Header whose lengths do not add up."""


class SarError(ConcatError):
    """SAR TLVs that are incomplete, of the wrong size or out of range."""


class TooManyPartsError(ValueError):
    """A message that needs more parts than a concatenation header can number."""


# --- User Data Header ---------------------------------------------------------------


def parse_udh(short_message: bytes) -> tuple[tuple[Ie, ...], bytes]:
    """Split a short_message that starts with a UDH into its information elements and the rest."""
    if not short_message:
        raise UdhError("UDH indicator set but short_message is empty")
    end = 1 + short_message[0]
    if end > len(short_message):
        raise UdhError(
            f"UDH length {end - 1} exceeds the {len(short_message) - 1} octets that follow"
        )
    ies: list[Ie] = []
    pos = 1
    while pos < end:
        if pos + 2 > end:
            raise UdhError(f"information element at UDH offset {pos} is cut off")
        iei = short_message[pos]
        data_end = pos + 2 + short_message[pos + 1]
        if data_end > end:
            raise UdhError(f"information element 0x{iei:02X} overruns the UDH")
        ies.append((iei, short_message[pos + 2 : data_end]))
        pos = data_end
    return tuple(ies), short_message[end:]


def build_udh(ies: Iterable[Ie]) -> bytes:
    """A User Data Header (UDHL included) holding ``ies`` in order."""
    body = b"".join(bytes((iei, len(data))) + data for iei, data in ies)
    if len(body) > 0xFF:
        raise ValueError(f"UDH of {len(body)} octets exceeds 255")
    return bytes((len(body),)) + body


def _ies_length(ies: Sequence[Ie]) -> int:
    return sum(2 + len(data) for _, data in ies)


# --- reading a part ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConcatInfo:
    """Where one PDU sits in a long message.

    ``payload`` is the user data without any UDH; ``extra_ies`` are the UDH's other
    information elements (port addressing and the like), kept for the caller.
    A message_payload PDU is the single part (1 of 1, reference 0) of its message.
    """

    kind: ConcatKind
    ref: int
    total: int
    seqnum: int
    payload: bytes
    extra_ies: tuple[Ie, ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= self.seqnum <= self.total <= MAX_PARTS:
            raise ValueError(f"part {self.seqnum} of {self.total} is not a valid position")
        if not 0 <= self.ref <= _REF_LIMIT[self.kind]:
            raise ValueError(f"reference {self.ref} out of range for {self.kind}")


def concat_info(esm_class: int, short_message: bytes, tlvs: Tlvs) -> ConcatInfo | None:
    """How a submit_sm/deliver_sm/data_sm is part of a long message, or None for a plain one.

    A concatenation IE in a UDH wins over SAR TLVs. An invalid concatenation IE
    (total 0, sequence 0 or beyond the total, wrong length) is ignored as
    23.040 9.2.3.24.1 requires. Raises ConcatError for a malformed UDH, incomplete
    or malformed SAR TLVs, or message_payload alongside a non-empty short_message.
    """
    message_payload: bytes | None = None
    sar: dict[int, bytes] = {}
    for tag, value in tlvs:
        if tag == _TAG_MESSAGE_PAYLOAD:
            message_payload = value
        elif tag in _SAR_TAGS:
            sar[tag] = value
    body = short_message
    if message_payload is not None:
        if short_message:
            raise ConcatError("message_payload present with a non-empty short_message")
        body = message_payload

    ies: tuple[Ie, ...] = ()
    user_data = body
    if esm_class & ESM_UDHI:
        ies, user_data = parse_udh(body)
        found = _concat_ie(ies)
        if len(ies) > 1 or found is None:
            ies = tuple(ie for ie in ies if ie[0] not in _CONCAT_IES)
        else:
            ies = ()  # the usual UDH: the concatenation IE alone
        if found is not None:
            kind, ref, total, seqnum = found
            return ConcatInfo(kind, ref, total, seqnum, user_data, ies)
    if sar:
        ref, total, seqnum = _read_sar(sar)
        return ConcatInfo("sar", ref, total, seqnum, user_data, ies)
    if message_payload is not None:
        return ConcatInfo("payload", 0, 1, 1, user_data, ies)
    return None


def _concat_ie(ies: tuple[Ie, ...]) -> tuple[ConcatKind, int, int, int] | None:
    # 23.040 9.2.3.24: of a repeated non-repeatable IE, the last occurrence counts.
    for iei, data in reversed(ies):
        if iei == IEI_CONCAT_8BIT and len(data) == 3:
            kind: ConcatKind = "udh8"
            ref, total, seqnum = data
        elif iei == IEI_CONCAT_16BIT and len(data) == 4:
            kind = "udh16"
            ref, total, seqnum = (data[0] << 8) | data[1], data[2], data[3]
        else:
            continue
        if 1 <= seqnum <= total:
            return kind, ref, total, seqnum
        return None  # ignored whole, as 23.040 requires of an out-of-range IE
    return None


def _read_sar(sar: dict[int, bytes]) -> tuple[int, int, int]:
    missing = [name for tag, name in _SAR_TAGS.items() if tag not in sar]
    if missing:
        raise SarError(f"SAR TLVs incomplete: {', '.join(missing)} missing")
    ref_raw = sar[_TAG_SAR_REF]
    total_raw = sar[_TAG_SAR_TOTAL]
    seqnum_raw = sar[_TAG_SAR_SEQNUM]
    if len(ref_raw) != 2 or len(total_raw) != 1 or len(seqnum_raw) != 1:
        raise SarError(
            "SAR TLV of the wrong size: sar_msg_ref_num takes 2 octets, "
            "sar_total_segments and sar_segment_seqnum 1"
        )
    total, seqnum = total_raw[0], seqnum_raw[0]
    if not 1 <= seqnum <= total:
        raise SarError(f"sar_segment_seqnum {seqnum} is not within sar_total_segments {total}")
    return int.from_bytes(ref_raw, "big"), total, seqnum


# --- writing parts ----------------------------------------------------------------------


def split_payload(
    encoded: bytes,
    data_coding: int,
    *,
    udh: ConcatKind = "udh8",
    extra_ies: Sequence[Ie] = (),
) -> list[bytes]:
    """Cut encoded text into the user data of each part (UDH not included).

    One segment if it fits a single part; else as many as the per-part room
    after the ``udh`` concatenation header (and ``extra_ies``) allows, never
    separating a GSM escape sequence, a UTF-16 surrogate pair or the octets of a
    multibyte character; ISO-2022-JP parts are each encoded alone (segments_of).
    """
    extra = _ies_length(extra_ies)
    single_udh = 1 + extra if extra_ies else 0
    if udh == "payload":
        if single_udh + len(encoded) > _MAX_TLV_VALUE:
            raise TooManyPartsError(f"{len(encoded)} octets exceed one message_payload TLV")
        return [encoded]
    part_udh = CONCAT_UDH_LENGTH[udh] + extra
    segments = segments_of(
        encoded, data_coding, single_udh_length=single_udh, part_udh_length=part_udh
    )
    if len(segments) > MAX_PARTS:
        raise TooManyPartsError(f"message needs {len(segments)} parts, more than {MAX_PARTS}")
    return segments


def split_text(
    text: str,
    data_coding: int,
    *,
    udh: ConcatKind = "udh8",
    extra_ies: Sequence[Ie] = (),
) -> list[bytes]:
    """Encode ``text`` for ``data_coding`` and cut it into parts (see split_payload)."""
    return split_payload(encode_text(text, data_coding), data_coding, udh=udh, extra_ies=extra_ies)


def build_parts(
    segments: Sequence[bytes],
    ref: int,
    kind: ConcatKind,
    *,
    extra_ies: Sequence[Ie] = (),
) -> list[Part]:
    """The (esm_class bits, short_message, TLVs) of each PDU carrying ``segments``.

    A single segment is sent plain: no concatenation header, no SAR TLVs.
    UDH kinds prefix each short_message with the concatenation IE (then
    ``extra_ies``) and set esm_class 0x40; SAR adds sar_msg_ref_num (2 octets),
    sar_total_segments and sar_segment_seqnum (1 octet each); payload puts the
    single segment in a message_payload TLV with an empty short_message.
    """
    total = len(segments)
    if not 1 <= total <= MAX_PARTS:
        raise TooManyPartsError(f"{total} segments: a message has 1 to {MAX_PARTS} parts")
    if not 0 <= ref <= _REF_LIMIT[kind]:
        raise ValueError(f"reference {ref} out of range for {kind} (0..{_REF_LIMIT[kind]})")
    extra = build_udh(extra_ies) if extra_ies else b""
    esm = ESM_UDHI if extra_ies else 0
    if kind == "payload":
        if total != 1:
            raise TooManyPartsError("message_payload carries a message in one PDU")
        return [(esm, b"", ((_TAG_MESSAGE_PAYLOAD, extra + segments[0]),))]
    if total == 1:
        return [(esm, extra + segments[0], ())]
    if kind == "sar":
        ref_tlv = (_TAG_SAR_REF, ref.to_bytes(2, "big"))
        total_tlv = (_TAG_SAR_TOTAL, bytes((total,)))
        return [
            (esm, extra + segment, (ref_tlv, total_tlv, (_TAG_SAR_SEQNUM, bytes((i,)))))
            for i, segment in enumerate(segments, 1)
        ]
    # The concatenation IE goes first; extra IEs follow it inside the same UDH.
    extra_body = extra[1:]
    if kind == "udh8":
        head = bytes((5 + len(extra_body), IEI_CONCAT_8BIT, 3, ref, total))
    else:
        head = bytes((6 + len(extra_body), IEI_CONCAT_16BIT, 4, ref >> 8, ref & 0xFF, total))
    return [
        (ESM_UDHI, b"".join((head, bytes((i,)), extra_body, segment)), ())
        for i, segment in enumerate(segments, 1)
    ]
