"""Properties of the text layer over generated text: round trips, splitting, reassembly."""

from __future__ import annotations

from random import Random

from hypothesis import given, settings
from hypothesis import strategies as st

from smpp.constants import DataCoding
from smpp.gsm import DEFAULT_ALPHABET, EXTENSION_TABLE, decode_gsm, encode_gsm, gsm_septets
from smpp.reassembly import Completed, Reassembler
from smpp.segments import ConcatInfo, build_parts, concat_info, split_text
from smpp.text import (
    CONCAT_UDH_LENGTH,
    ConcatKind,
    choose_encoding,
    decode_text,
    encode_text,
    part_capacity,
    segment_count,
    units,
)

PROPERTIES = settings(max_examples=250, deadline=None)

GSM_CHARS = [c for c in DEFAULT_ALPHABET if c != "\x1b"]
EXTENSION_CHARS = list(EXTENSION_TABLE.values())
# Characters that stress the edges: extension characters (two septets), an emoji and a
# flag (surrogate pairs), Cyrillic (UCS-2 only), c cedilla (Latin-1 but not GSM).
EDGE_CHARS = ["\U0001f600", "\U0001f1eb\U0001f1f7", "я", "ç", "ß", "€"]


def long_text(chars: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Text of up to ~1,000 characters built from runs, so that cuts land everywhere."""
    run = st.builds(lambda char, count: char * count, chars, st.integers(1, 160))
    return st.lists(st.one_of(run, chars), max_size=12).map("".join)


gsm_chars = st.one_of(st.sampled_from(GSM_CHARS), st.sampled_from(EXTENSION_CHARS))
gsm_text = long_text(gsm_chars)
any_text = long_text(
    st.one_of(gsm_chars, st.sampled_from(EDGE_CHARS), st.characters(exclude_categories=["Cs"]))
)
mixed_text = st.one_of(gsm_text, any_text)
kinds = st.sampled_from(["udh8", "udh16", "sar"])


def text_coding(text: str) -> int:
    return DataCoding.default if gsm_septets(text) is not None else DataCoding.ucs2


# --- codec round trips ------------------------------------------------------------------


@PROPERTIES
@given(gsm_text)
def test_gsm_round_trips_over_its_alphabet(text: str) -> None:
    encoded = encode_gsm(text)
    assert decode_gsm(encoded) == text
    assert gsm_septets(text) == len(encoded)
    assert max(encoded, default=0) < 0x80


@PROPERTIES
@given(st.binary(max_size=300).map(lambda b: bytes(x & 0x7F for x in b)))
def test_gsm_decoding_any_septets_gives_text_that_encodes_back_to_the_same_text(
    data: bytes,
) -> None:
    text = decode_gsm(data)
    assert decode_gsm(encode_gsm(text)) == text


@PROPERTIES
@given(st.binary(max_size=300), st.integers(0, 255))
def test_decoding_never_raises_for_any_coding(data: bytes, data_coding: int) -> None:
    assert isinstance(decode_text(data, data_coding), str)


@PROPERTIES
@given(st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=300))
def test_ia5_round_trips_over_ascii(text: str) -> None:
    encoded = encode_text(text, DataCoding.ia5)
    assert decode_text(encoded, DataCoding.ia5) == text
    assert units(text, DataCoding.ia5) == len(encoded)


@PROPERTIES
@given(st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=300))
def test_latin1_round_trips_over_its_alphabet(text: str) -> None:
    encoded = encode_text(text, DataCoding.latin1)
    assert decode_text(encoded, DataCoding.latin1) == text
    assert units(text, DataCoding.latin1) == len(encoded) == len(text)


@PROPERTIES
@given(any_text)
def test_ucs2_round_trips_any_text_including_astral_characters(text: str) -> None:
    encoded = encode_text(text, DataCoding.ucs2)
    assert decode_text(encoded, DataCoding.ucs2) == text
    assert units(text, DataCoding.ucs2) * 2 == len(encoded)


@PROPERTIES
@given(st.binary(max_size=300), st.sampled_from([0x02, 0x04, 0x09, 0x0F, 0xF4]))
def test_binary_round_trips_any_octets(data: bytes, data_coding: int) -> None:
    assert encode_text(decode_text(data, data_coding), data_coding) == data


# --- splitting ----------------------------------------------------------------------------


@PROPERTIES
@given(mixed_text, kinds)
def test_split_then_join_equals_the_encoded_text_and_parts_fit(text: str, kind: ConcatKind) -> None:
    data_coding = text_coding(text)
    unit = 2 if data_coding == DataCoding.ucs2 else 1
    encoded = encode_text(text, data_coding)
    parts = split_text(text, data_coding, udh=kind)
    assert b"".join(parts) == encoded
    assert len(parts) == segment_count(text, data_coding, concat=kind)
    if len(parts) == 1:
        assert len(encoded) <= part_capacity(data_coding) * unit
        return
    limit = part_capacity(data_coding, CONCAT_UDH_LENGTH[kind]) * unit
    for part in parts:
        assert 0 < len(part) <= limit
    for part in parts[:-1]:
        assert len(part) >= limit - unit  # a cut moves back by at most one unit


@PROPERTIES
@given(mixed_text, kinds)
def test_every_part_decodes_on_its_own(text: str, kind: ConcatKind) -> None:
    # No escape sequence and no surrogate pair is ever separated by a cut.
    data_coding = text_coding(text)
    decoded = [decode_text(part, data_coding) for part in split_text(text, data_coding, udh=kind)]
    assert "".join(decoded) == text


@PROPERTIES
@given(mixed_text, st.booleans(), kinds)
def test_chosen_encoding_encodes_the_text_in_the_fewest_parts(
    text: str, allow_latin1: bool, kind: ConcatKind
) -> None:
    chosen = choose_encoding(text, allow_latin1, concat=kind)
    chosen_parts = segment_count(text, chosen, concat=kind)
    assert decode_text(encode_text(text, chosen), chosen) == text
    candidates = [DataCoding.default, DataCoding.ucs2]
    if allow_latin1:
        candidates.append(DataCoding.latin1)
    for other in candidates:
        try:
            assert chosen_parts <= segment_count(text, other, concat=kind)
        except ValueError:
            continue  # not encodable in that alphabet


# --- the whole trip ----------------------------------------------------------------------


@PROPERTIES
@given(mixed_text, kinds, st.integers(0, 255), st.randoms(use_true_random=False))
def test_build_parts_then_reassemble_in_any_order_gives_the_original_text(
    text: str, kind: ConcatKind, ref: int, random: Random
) -> None:
    data_coding = text_coding(text)
    parts = build_parts(split_text(text, data_coding, udh=kind), ref, kind)
    order = list(range(len(parts)))
    random.shuffle(order)
    reassembler = Reassembler[int](max_pending=4, max_bytes=100_000, timeout=60.0)
    # Another message with the same reference from another conversation, interleaved.
    reassembler.add(("other",), ConcatInfo(kind, ref, 2, 1, b"x"), 0.0)
    results: list[Completed[int] | None] = []
    for index in order:
        esm_class, short_message, tlvs = parts[index]
        info = concat_info(esm_class, short_message, tlvs)
        if info is None:  # a single part travels plain
            assert len(parts) == 1
            assert decode_text(short_message, data_coding) == text
            return
        results.append(reassembler.add(("conversation",), info, 1.0, context=index))
    *waiting, done = results
    assert waiting == [None] * (len(parts) - 1)
    assert done is not None
    assert done.contexts == tuple(range(len(parts)))
    assert decode_text(done.payload, data_coding) == text
    assert reassembler.pending == 1  # the other conversation's message only
