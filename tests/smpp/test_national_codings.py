"""The national codings of SMPP 3.4 5.2.19 (issue 12): text, cut without breaking a character.

0x05 JIS X 0208 (Shift_JIS), 0x06 ISO-8859-5, 0x07 ISO-8859-8, 0x0A ISO-2022-JP,
0x0D JIS X 0212 (EUC-JP), 0x0E KS C 5601 (EUC-KR): 140 octets in a single part,
134/133 after a concatenation UDH; a multibyte character is never split, and each
ISO-2022-JP part starts and ends in ASCII so that it decodes alone.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smpp.segments import split_payload, split_text
from smpp.text import (
    CONCAT_UDH_LENGTH,
    Alphabet,
    alphabet_of,
    decode_text,
    encode_text,
    is_text,
    part_capacity,
    segment_count,
    segment_ends,
)

PROPERTIES = settings(max_examples=200, deadline=None)

CODINGS = {
    0x05: "shift_jis",
    0x06: "iso8859_5",
    0x07: "iso8859_8",
    0x0A: "iso2022_jp",
    0x0D: "euc_jp",
    0x0E: "euc_kr",
}
#: Sample characters of each coding: ASCII, and the wide ones that stress the cuts.
SAMPLES = {
    0x05: "aZ09 !?日本語カタカナｶﾀｶﾅ漢字。、",
    0x06: "aZ09 !?ПриветЁёЖж№",
    0x07: "aZ09 !?שלוםאבג\u00d7\u00f7",
    0x0A: "aZ09 !?日本語カタカナ漢字。、",
    0x0D: "aZ09 !?日本語丂丄ｶﾀ漢字。",
    0x0E: "aZ09 !?한국어똠똡뷁가나다",
}


def coded_text(data_coding: int) -> st.SearchStrategy[str]:
    chars = st.sampled_from(SAMPLES[data_coding])
    run = st.builds(lambda char, count: char * count, chars, st.integers(1, 150))
    return st.lists(st.one_of(run, chars), max_size=12).map("".join)


coded = st.sampled_from(sorted(CODINGS)).flatmap(lambda dc: st.tuples(st.just(dc), coded_text(dc)))
kinds = st.sampled_from(["udh8", "udh16", "sar"])


@pytest.mark.parametrize("data_coding", sorted(CODINGS))
def test_national_codings_are_text(data_coding: int) -> None:
    assert is_text(data_coding)
    assert alphabet_of(data_coding) is not Alphabet.BINARY
    assert part_capacity(data_coding) == 140
    assert part_capacity(data_coding, 6) == 134


@PROPERTIES
@given(coded)
def test_national_text_round_trips(case: tuple[int, str]) -> None:
    data_coding, text = case
    encoded = encode_text(text, data_coding)
    assert encoded == text.encode(CODINGS[data_coding])
    assert decode_text(encoded, data_coding) == text


@PROPERTIES
@given(coded, kinds)
def test_every_part_fits_and_decodes_alone(case: tuple[int, str], kind: str) -> None:
    data_coding, text = case
    codec = CODINGS[data_coding]
    udh = "udh8" if kind == "sar" else kind
    segments = split_text(text, data_coding, udh=udh)  # type: ignore[arg-type]
    room = 140 if len(segments) == 1 else 140 - CONCAT_UDH_LENGTH[udh]  # type: ignore[index]
    for segment in segments:
        assert len(segment) <= room
        segment.decode(codec)  # strict: a split character, or an open escape, raises
    assert "".join(s.decode(codec) for s in segments) == text
    assert segment_count(text, data_coding, concat=udh) == len(segments)  # type: ignore[arg-type]


@PROPERTIES
@given(coded)
def test_parts_are_as_full_as_a_character_boundary_allows(case: tuple[int, str]) -> None:
    data_coding, text = case
    segments = split_text(text, data_coding)
    for segment, following in itertools.pairwise(segments):
        # The next part's first character would not have fitted in this one.
        first = following.decode(CODINGS[data_coding])[0]
        grown = (segment.decode(CODINGS[data_coding]) + first).encode(CODINGS[data_coding])
        assert len(grown) > 134


def test_a_stateless_multibyte_cut_moves_back_to_a_character_boundary() -> None:
    encoded = b"a" + "日".encode("shift_jis") * 70  # the 134th octet is a lead byte
    assert segment_ends(encoded, 0x05) == [133, 141]
    assert split_payload(encoded, 0x05) == [encoded[:133], encoded[133:]]


def test_an_undecodable_iso2022_jp_payload_is_cut_by_octets() -> None:
    encoded = b"\x1b$B" + b"\xff" * 200  # no valid ISO-2022-JP: cut like binary
    segments = split_payload(encoded, 0x0A)
    assert b"".join(segments) == encoded
    assert [len(s) for s in segments] == [134, 69]


@PROPERTIES
@given(coded, kinds, st.sampled_from(["STOP au 36173", "Opt-out: no-s.ms/AbC123xyz"]))
def test_a_fitted_footer_ends_the_message_and_every_part_decodes_alone(
    case: tuple[int, str], kind: str, footer: str,
) -> None:
    from rules.footers import fit

    data_coding, text = case
    codec = CODINGS[data_coding]
    fitted = fit(text, footer, data_coding, concat=kind)  # type: ignore[arg-type]
    assert fitted.added and fitted.data_coding == data_coding
    room = 140 if len(fitted.segments) == 1 else 134 if kind != "udh16" else 133
    for segment in fitted.segments:
        assert len(segment) <= room
        segment.decode(codec)
    assert "".join(s.decode(codec) for s in fitted.segments) == f"{text}\n{footer}"
    assert fitted.parts_before == segment_count(text, data_coding, concat=kind)  # type: ignore[arg-type]
