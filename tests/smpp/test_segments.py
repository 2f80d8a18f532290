"""Long messages: UDH and SAR headers byte-exact, per-part limits at their boundaries, splitting."""

from __future__ import annotations

import pytest
import smpplib.consts
import smpplib.gsm

from smpp.constants import ESM_UDHI, DataCoding, Tag
from smpp.segments import (
    ConcatError,
    ConcatInfo,
    ConcatKind,
    SarError,
    TooManyPartsError,
    UdhError,
    build_parts,
    build_udh,
    concat_info,
    parse_udh,
    split_payload,
    split_text,
)

GSM, LATIN1, UCS2 = DataCoding.default, DataCoding.latin1, DataCoding.ucs2
GRINNING = "\U0001f600"  # UTF-16: D8 3D DE 00
PORTS = (0x05, b"\x0b\x84\x23\xf0")  # 16-bit application port addressing, WAP push ports


def sar_tlvs(ref: int, total: int, seqnum: int) -> tuple[tuple[int, bytes], ...]:
    return (
        (Tag.sar_msg_ref_num, ref.to_bytes(2, "big")),
        (Tag.sar_total_segments, bytes((total,))),
        (Tag.sar_segment_seqnum, bytes((seqnum,))),
    )


# --- parsing a UDH ----------------------------------------------------------------------


def test_parse_udh_with_8bit_concatenation() -> None:
    ies, rest = parse_udh(b"\x05\x00\x03\xab\x03\x02hello")
    assert ies == ((0x00, b"\xab\x03\x02"),)
    assert rest == b"hello"


def test_parse_udh_with_16bit_concatenation() -> None:
    ies, rest = parse_udh(b"\x06\x08\x04\x12\x34\x03\x01hello")
    assert ies == ((0x08, b"\x12\x34\x03\x01"),)
    assert rest == b"hello"


def test_parse_udh_keeps_other_information_elements_in_order() -> None:
    ies, rest = parse_udh(b"\x0b\x05\x04\x0b\x84\x23\xf0\x00\x03\x07\x02\x01\x01\x02")
    assert ies == (PORTS, (0x00, b"\x07\x02\x01"))
    assert rest == b"\x01\x02"


def test_parse_udh_of_length_zero_is_empty() -> None:
    assert parse_udh(b"\x00abc") == ((), b"abc")


@pytest.mark.parametrize(
    "short_message",
    [
        b"",  # no room even for the UDHL
        b"\x05\x00\x03\x01",  # UDHL beyond the message
        b"\x02\x00\x03\x01\x02\x01",  # IE longer than the UDH
        b"\x01\x00hi",  # IE header cut off
    ],
)
def test_parse_udh_rejects_lengths_that_do_not_add_up(short_message: bytes) -> None:
    with pytest.raises(UdhError):
        parse_udh(short_message)


def test_udh_error_is_a_concat_error_and_a_value_error() -> None:
    assert issubclass(UdhError, ConcatError)
    assert issubclass(SarError, ConcatError)
    assert issubclass(ConcatError, ValueError)


def test_build_udh_is_the_inverse_of_parse_udh() -> None:
    ies = (PORTS, (0x00, b"\x07\x02\x01"))
    udh = build_udh(ies)
    assert udh == b"\x0b\x05\x04\x0b\x84\x23\xf0\x00\x03\x07\x02\x01"
    assert parse_udh(udh + b"x") == (ies, b"x")
    assert build_udh(()) == b"\x00"


# --- reading a part ---------------------------------------------------------------------


def test_concat_info_reads_8bit_udh() -> None:
    info = concat_info(ESM_UDHI, b"\x05\x00\x03\xab\x03\x02hello", ())
    assert info == ConcatInfo("udh8", 0xAB, 3, 2, b"hello")


def test_concat_info_reads_16bit_udh() -> None:
    info = concat_info(ESM_UDHI | 0x03, b"\x06\x08\x04\x12\x34\x03\x03end", ())
    assert info == ConcatInfo("udh16", 0x1234, 3, 3, b"end")


def test_concat_info_keeps_port_addressing_as_extra_ies() -> None:
    sm = b"\x0b\x05\x04\x0b\x84\x23\xf0\x00\x03\x07\x02\x01data"
    assert concat_info(ESM_UDHI, sm, ()) == ConcatInfo("udh8", 7, 2, 1, b"data", (PORTS,))


def test_concat_info_ignores_the_udh_when_udhi_is_clear() -> None:
    assert concat_info(0, b"\x05\x00\x03\xab\x03\x02hello", ()) is None


def test_concat_info_of_a_plain_message_is_none() -> None:
    assert concat_info(0, b"hello", ()) is None
    assert concat_info(ESM_UDHI, b"\x06\x05\x04\x0b\x84\x23\xf0data", ()) is None


@pytest.mark.parametrize(
    "ie",
    [
        b"\x00\x03\x01\x00\x00",  # total 0
        b"\x00\x03\x01\x02\x00",  # sequence 0
        b"\x00\x03\x01\x02\x03",  # sequence beyond total
        b"\x00\x04\x01\x02\x01\x00",  # wrong length for the 8-bit form
        b"\x08\x03\x01\x02\x01",  # wrong length for the 16-bit form
    ],
)
def test_concat_info_ignores_an_invalid_concatenation_ie(ie: bytes) -> None:
    # 23.040 9.2.3.24.1: the receiving entity shall ignore the whole information element.
    assert concat_info(ESM_UDHI, bytes((len(ie),)) + ie + b"x", ()) is None


def test_concat_info_uses_the_last_of_repeated_concatenation_ies() -> None:
    sm = b"\x0a\x00\x03\x01\x02\x01\x00\x03\x09\x03\x02x"
    assert concat_info(ESM_UDHI, sm, ()) == ConcatInfo("udh8", 9, 3, 2, b"x")


def test_concat_info_reads_sar_tlvs() -> None:
    info = concat_info(0, b"part two", sar_tlvs(0x0102, 4, 2))
    assert info == ConcatInfo("sar", 0x0102, 4, 2, b"part two")


def test_concat_info_prefers_udh_over_sar() -> None:
    info = concat_info(ESM_UDHI, b"\x05\x00\x03\x05\x02\x01x", sar_tlvs(9, 3, 3))
    assert info is not None
    assert (info.kind, info.ref) == ("udh8", 5)


def test_concat_info_refuses_incomplete_sar_tlvs() -> None:
    with pytest.raises(SarError, match="sar_segment_seqnum"):
        concat_info(0, b"x", sar_tlvs(1, 2, 1)[:2])


@pytest.mark.parametrize(
    "tlvs",
    [
        ((Tag.sar_msg_ref_num, b"\x01"), *sar_tlvs(1, 2, 1)[1:]),  # reference must be 2 octets
        (*sar_tlvs(1, 2, 1)[:2], (Tag.sar_segment_seqnum, b"\x00\x01")),
        sar_tlvs(1, 2, 3),  # beyond the total
        sar_tlvs(1, 0, 0),  # total 0
    ],
)
def test_concat_info_refuses_malformed_sar_tlvs(tlvs: tuple[tuple[int, bytes], ...]) -> None:
    with pytest.raises(SarError):
        concat_info(0, b"x", tlvs)


def test_concat_info_reads_message_payload_as_a_whole_message() -> None:
    info = concat_info(0, b"", ((Tag.message_payload, b"a long text"),))
    assert info == ConcatInfo("payload", 0, 1, 1, b"a long text")


def test_concat_info_reads_a_udh_inside_message_payload() -> None:
    tlvs = ((Tag.message_payload, b"\x05\x00\x03\x07\x02\x02rest"),)
    assert concat_info(ESM_UDHI, b"", tlvs) == ConcatInfo("udh8", 7, 2, 2, b"rest")


def test_concat_info_refuses_message_payload_with_a_short_message() -> None:
    with pytest.raises(ConcatError, match="message_payload"):
        concat_info(0, b"x", ((Tag.message_payload, b"y"),))


def test_concat_info_values_are_validated() -> None:
    with pytest.raises(ValueError):
        ConcatInfo("udh8", 256, 2, 1, b"")
    with pytest.raises(ValueError):
        ConcatInfo("sar", 1, 2, 3, b"")


# --- per-part limits at their boundaries ---------------------------------------------------


@pytest.mark.parametrize(
    ("data_coding", "char", "single", "udh8", "udh16", "sar"),
    [
        # SAR parts hold what udh8 parts hold: the SMSC adds that UDH over the air.
        (GSM, "a", 160, 153, 152, 153),
        (LATIN1, "é", 140, 134, 133, 134),
        (UCS2, "я", 70, 67, 66, 67),
    ],
)
def test_limits_at_the_exact_boundaries(
    data_coding: int, char: str, single: int, udh8: int, udh16: int, sar: int
) -> None:
    unit = 2 if data_coding == UCS2 else 1
    assert len(split_text(char * single, data_coding)) == 1
    assert [len(p) // unit for p in split_text(char * (single + 1), data_coding)] == [
        udh8,
        1 + single - udh8,
    ]
    limits: tuple[tuple[ConcatKind, int], ...] = (("udh8", udh8), ("udh16", udh16), ("sar", sar))
    for kind, per_part in limits:
        two_full = split_text(char * (2 * per_part), data_coding, udh=kind)
        assert [len(p) // unit for p in two_full] == [per_part, per_part]
        over = split_text(char * (2 * per_part + 1), data_coding, udh=kind)
        assert [len(p) // unit for p in over] == [per_part, per_part, 1]


def test_153_septets_fit_one_part_and_161_need_two() -> None:
    assert len(split_text("a" * 153, GSM)) == 1
    assert len(split_text("a" * 160, GSM)) == 1
    assert [len(p) for p in split_text("a" * 161, GSM)] == [153, 8]


def test_a_text_that_fits_one_part_is_one_segment_whatever_the_concatenation() -> None:
    for kind in ("udh8", "udh16", "sar", "payload"):
        assert split_text("€" * 80, GSM, udh=kind) == [b"\x1be" * 80]


def test_payload_is_never_split() -> None:
    assert split_text("a" * 5000, GSM, udh="payload") == [b"a" * 5000]


def test_split_never_separates_escape_sequence() -> None:
    text = "a" * 152 + "€" + "b" * 10  # the escape would be septet 153, its code 154
    parts = split_text(text, GSM)
    assert parts == [b"a" * 152, b"\x1be" + b"b" * 10]


def test_split_never_separates_escape_sequence_with_16bit_reference() -> None:
    parts = split_text("a" * 151 + "[" + "b" * 10, GSM, udh="udh16")
    assert parts == [b"a" * 151, b"\x1b<" + b"b" * 10]


def test_escape_that_ends_exactly_at_the_limit_stays() -> None:
    parts = split_text("a" * 151 + "€" + "b" * 10, GSM)
    assert parts == [b"a" * 151 + b"\x1be", b"b" * 10]


def test_split_of_raw_septets_pairs_escapes_from_the_left() -> None:
    # 0x1B 0x1B is one (reserved) pair: the escape at septet 153 is a code, not a start.
    data = b"a" * 151 + b"\x1b\x1b" + b"b" * 10
    assert split_payload(data, GSM) == [b"a" * 151 + b"\x1b\x1b", b"b" * 10]
    data = b"a" * 150 + b"\x1b\x1b\x1b(" + b"b" * 10
    assert split_payload(data, GSM) == [b"a" * 150 + b"\x1b\x1b", b"\x1b(" + b"b" * 10]


def test_split_never_separates_surrogate_pair() -> None:
    text = "я" * 66 + GRINNING + "я" * 10  # the pair would be code units 67 and 68
    parts = split_text(text, UCS2)
    assert parts == [("я" * 66).encode("utf-16-be"), (GRINNING + "я" * 10).encode("utf-16-be")]


def test_surrogate_pair_that_ends_exactly_at_the_limit_stays() -> None:
    parts = split_text("я" * 65 + GRINNING + "я" * 10, UCS2)
    assert [len(p) // 2 for p in parts] == [67, 10]


def test_split_leaves_room_for_extra_ies() -> None:
    # 6 (concatenation) + 6 (16-bit ports) octets of UDH: 160 - ceil(96 / 7) = 146 septets.
    parts = split_text("a" * 300, GSM, extra_ies=[PORTS])
    assert [len(p) for p in parts] == [146, 146, 8]
    # Alone, the ports IE makes a 7-octet UDH: 152 septets fit one part.
    assert split_text("a" * 152, GSM, extra_ies=[PORTS]) == [b"a" * 152]
    assert len(split_text("a" * 153, GSM, extra_ies=[PORTS])) == 2


def test_more_than_255_parts_is_refused() -> None:
    assert len(split_text("a" * 153 * 255, GSM)) == 255
    with pytest.raises(TooManyPartsError):
        split_text("a" * (153 * 255 + 1), GSM)


def test_unencodable_text_cannot_be_split() -> None:
    with pytest.raises(ValueError, match="'`'"):
        split_text("`", GSM)


# --- building parts ----------------------------------------------------------------------


def test_build_parts_with_8bit_reference_is_byte_exact() -> None:
    parts = build_parts([b"one", b"two"], 0xAB, "udh8")
    assert parts == [
        (ESM_UDHI, b"\x05\x00\x03\xab\x02\x01one", ()),
        (ESM_UDHI, b"\x05\x00\x03\xab\x02\x02two", ()),
    ]


def test_build_parts_with_16bit_reference_is_byte_exact() -> None:
    parts = build_parts([b"one", b"two", b"3"], 0x1234, "udh16")
    assert parts == [
        (ESM_UDHI, b"\x06\x08\x04\x12\x34\x03\x01one", ()),
        (ESM_UDHI, b"\x06\x08\x04\x12\x34\x03\x02two", ()),
        (ESM_UDHI, b"\x06\x08\x04\x12\x34\x03\x033", ()),
    ]


def test_build_parts_with_sar_tlvs_is_byte_exact() -> None:
    parts = build_parts([b"one", b"two"], 0x0102, "sar")
    assert parts == [
        (0, b"one", ((0x020C, b"\x01\x02"), (0x020E, b"\x02"), (0x020F, b"\x01"))),
        (0, b"two", ((0x020C, b"\x01\x02"), (0x020E, b"\x02"), (0x020F, b"\x02"))),
    ]


def test_build_parts_puts_extra_ies_after_the_concatenation_ie() -> None:
    parts = build_parts([b"one", b"two"], 7, "udh8", extra_ies=[PORTS])
    assert parts[1] == (ESM_UDHI, b"\x0b\x00\x03\x07\x02\x02\x05\x04\x0b\x84\x23\xf0two", ())
    sar = build_parts([b"one", b"two"], 7, "sar", extra_ies=[PORTS])
    assert sar[0][:2] == (ESM_UDHI, b"\x06\x05\x04\x0b\x84\x23\xf0one")


def test_build_parts_of_one_segment_is_a_plain_message() -> None:
    for kind in ("udh8", "udh16", "sar"):
        assert build_parts([b"short"], 1, kind) == [(0, b"short", ())]
    assert build_parts([b"short"], 1, "udh8", extra_ies=[PORTS]) == [
        (ESM_UDHI, b"\x06\x05\x04\x0b\x84\x23\xf0short", ())
    ]


def test_build_parts_for_message_payload() -> None:
    assert build_parts([b"a" * 500], 0, "payload") == [(0, b"", ((0x0424, b"a" * 500),))]


@pytest.mark.parametrize(("kind", "ref"), [("udh8", 256), ("udh16", 65536), ("sar", -1)])
def test_build_parts_refuses_a_reference_out_of_range(kind: ConcatKind, ref: int) -> None:
    with pytest.raises(ValueError, match="reference"):
        build_parts([b"a", b"b"], ref, kind)


def test_build_parts_refuses_no_segments_and_too_many() -> None:
    with pytest.raises(TooManyPartsError):
        build_parts([], 1, "udh8")
    with pytest.raises(TooManyPartsError):
        build_parts([b"x"] * 256, 1, "udh8")


@pytest.mark.parametrize("kind", ["udh8", "udh16", "sar"])
def test_built_parts_read_back_as_their_position(kind: ConcatKind) -> None:
    parts = build_parts([b"one", b"two", b"three"], 200, kind)
    infos = [concat_info(esm, sm, tlvs) for esm, sm, tlvs in parts]
    assert [(i.kind, i.ref, i.total, i.seqnum, i.payload) for i in infos if i] == [
        (kind, 200, 3, 1, b"one"),
        (kind, 200, 3, 2, b"two"),
        (kind, 200, 3, 3, b"three"),
    ]


# --- against smpplib's splitter -----------------------------------------------------------


def smpplib_segments(text: str, encoding: int) -> list[bytes]:
    """smpplib's parts with their 6-octet UDH removed (its reference is random)."""
    parts, _, esm_class = smpplib.gsm.make_parts(text, encoding)
    assert esm_class == smpplib.consts.SMPP_GSMFEAT_UDHI
    for part in parts:
        assert part[:3] == b"\x05\x00\x03"
    return [part[6:] for part in parts]


@pytest.mark.interop
def test_smpplib_splits_plain_text_where_we_do() -> None:
    text = "x" * 400
    assert smpplib_segments(text, smpplib.consts.SMPP_ENCODING_DEFAULT) == split_text(text, GSM)
    text = "я" * 200
    assert smpplib_segments(text, smpplib.consts.SMPP_ENCODING_ISO10646) == split_text(text, UCS2)


@pytest.mark.interop
def test_smpplib_separates_an_escape_sequence_where_we_do_not() -> None:
    text = "a" * 152 + "€" + "b" * 10
    theirs = smpplib_segments(text, smpplib.consts.SMPP_ENCODING_DEFAULT)
    assert theirs == [b"a" * 152 + b"\x1b", b"e" + b"b" * 10]  # the escape dangles at the end
    ours = split_text(text, GSM)
    assert ours == [b"a" * 152, b"\x1be" + b"b" * 10]
    assert b"".join(theirs) == b"".join(ours)


@pytest.mark.interop
def test_smpplib_separates_a_surrogate_pair_where_we_do_not() -> None:
    text = "я" * 66 + GRINNING + "я" * 10
    theirs = smpplib_segments(text, smpplib.consts.SMPP_ENCODING_ISO10646)
    assert theirs[0][-2:] == b"\xd8\x3d"  # high surrogate alone at the end of part 1
    assert theirs[1][:2] == b"\xde\x00"  # low surrogate alone at the start of part 2
    ours = split_text(text, UCS2)
    assert ours[0][-2:] == "я".encode("utf-16-be")
    assert ours[1][:4] == GRINNING.encode("utf-16-be")
    assert b"".join(theirs) == b"".join(ours)
