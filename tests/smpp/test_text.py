"""Text codecs by data_coding, unit counting and the choice of the cheapest encoding."""

from __future__ import annotations

import pytest

from smpp.constants import DataCoding
from smpp.gsm import UnencodableError
from smpp.text import (
    Alphabet,
    ConcatKind,
    alphabet_of,
    choose_encoding,
    decode_text,
    encode_text,
    is_text,
    part_capacity,
    segment_count,
    units,
)

GRINNING = "\U0001f600"  # outside the BMP: a surrogate pair in UTF-16
THUMBS_UP_MEDIUM = "\U0001f44d\U0001f3fd"  # emoji + skin tone modifier: two pairs


# --- UCS-2 ---------------------------------------------------------------------------


def test_ucs2_is_utf16_big_endian() -> None:
    assert encode_text("Aé€Я", DataCoding.ucs2) == b"\x00A\x00\xe9\x20\xac\x04\x2f"
    assert decode_text(b"\x00A\x00\xe9\x20\xac\x04\x2f", DataCoding.ucs2) == "Aé€Я"


def test_ucs2_emoji_round_trips_as_a_surrogate_pair() -> None:
    encoded = encode_text(f"hi {GRINNING}", DataCoding.ucs2)
    assert encoded == b"\x00h\x00i\x00 \xd8\x3d\xde\x00"
    assert decode_text(encoded, DataCoding.ucs2) == f"hi {GRINNING}"


def test_ucs2_emoji_counts_two_code_units() -> None:
    assert units(GRINNING, DataCoding.ucs2) == 2
    assert units(THUMBS_UP_MEDIUM, DataCoding.ucs2) == 4
    assert units("hé " + GRINNING, DataCoding.ucs2) == 5


def test_ucs2_lone_surrogate_in_text_is_unencodable() -> None:
    with pytest.raises(UnencodableError) as raised:
        encode_text("ab\ud83d", DataCoding.ucs2)
    assert raised.value.position == 2


def test_ucs2_malformed_octets_decode_with_replacement_characters() -> None:
    assert decode_text(b"\x00A\xd8\x3d\x00B", DataCoding.ucs2) == "A\ufffdB"  # lone high surrogate
    assert decode_text(b"\x00A\x00", DataCoding.ucs2) == "A\ufffd"  # odd trailing octet


# --- Latin-1 and IA5 -------------------------------------------------------------------


def test_latin1_is_one_octet_per_character() -> None:
    text = "Reçu: 20% à 10h, ½ prix ©"
    encoded = encode_text(text, DataCoding.latin1)
    assert len(encoded) == len(text) == units(text, DataCoding.latin1)
    assert encoded[2] == 0xE7
    assert decode_text(encoded, DataCoding.latin1) == text


def test_latin1_cannot_encode_the_euro_sign() -> None:
    with pytest.raises(UnencodableError, match="Latin-1"):
        encode_text("5€", DataCoding.latin1)


def test_latin1_decodes_every_octet() -> None:
    every = bytes(range(256))
    assert encode_text(decode_text(every, DataCoding.latin1), DataCoding.latin1) == every


def test_ia5_is_seven_bit_ascii() -> None:
    assert encode_text("STOP `{}`", DataCoding.ia5) == b"STOP `{}`"
    with pytest.raises(UnencodableError, match="IA5"):
        encode_text("é", DataCoding.ia5)
    assert decode_text(b"ok\xe9", DataCoding.ia5) == "ok\ufffd"


# --- GSM through encode_text -------------------------------------------------------------


def test_gsm_is_data_coding_zero() -> None:
    assert encode_text("@{€}", DataCoding.default) == b"\x00\x1b\x28\x1b\x65\x1b\x29"
    assert decode_text(b"\x00\x1b\x28\x1b\x65\x1b\x29", DataCoding.default) == "@{€}"
    assert units("@{€}", DataCoding.default) == 7


def test_units_names_the_unencodable_character() -> None:
    with pytest.raises(UnencodableError, match="'`'"):
        units("a`", DataCoding.default)


# --- data_coding values -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data_coding", "alphabet"),
    [
        (0x00, Alphabet.GSM),
        (0x01, Alphabet.IA5),
        (0x02, Alphabet.BINARY),
        (0x03, Alphabet.LATIN1),
        (0x04, Alphabet.BINARY),
        (0x05, Alphabet.JIS),  # SMPP 3.4 5.2.19 national codings: text (issue 12)
        (0x06, Alphabet.CYRILLIC),
        (0x07, Alphabet.HEBREW),
        (0x09, Alphabet.BINARY),  # pictograms
        (0x0A, Alphabet.ISO2022JP),
        (0x0B, Alphabet.BINARY),  # reserved
        (0x0D, Alphabet.KANJI_EXT),
        (0x0E, Alphabet.KSC5601),
        (0x0F, Alphabet.BINARY),  # reserved
        (0x08, Alphabet.UCS2),
        (0x10, Alphabet.GSM),  # flash (class 0), default alphabet
        (0x14, Alphabet.BINARY),
        (0x18, Alphabet.UCS2),  # flash, UCS-2
        (0x20, Alphabet.BINARY),  # compressed
        (0xC8, Alphabet.GSM),  # message waiting, default alphabet
        (0xE0, Alphabet.UCS2),
        (0xF0, Alphabet.GSM),  # message class 0, default alphabet
        (0xF4, Alphabet.BINARY),  # message class 0, 8-bit data
    ],
)
def test_data_coding_selects_an_alphabet(data_coding: int, alphabet: Alphabet) -> None:
    assert alphabet_of(data_coding) is alphabet
    assert is_text(data_coding) is (alphabet is not Alphabet.BINARY)


def test_flash_gsm_text_encodes_like_data_coding_zero() -> None:
    assert encode_text("€", 0xF0) == encode_text("€", 0x10) == b"\x1b\x65"


def test_binary_codings_map_octets_one_to_one_and_never_fail() -> None:
    every = bytes(range(256))
    for data_coding in (0x02, 0x04, 0x09, 0x0B, 0x0C, 0x0F, 0xF4):
        text = decode_text(every, data_coding)
        assert len(text) == 256
        assert encode_text(text, data_coding) == every


# --- capacity and counting -------------------------------------------------------------


@pytest.mark.parametrize(
    ("data_coding", "udh_length", "capacity"),
    [
        (DataCoding.default, 0, 160),
        (DataCoding.default, 6, 153),
        (DataCoding.default, 7, 152),
        (DataCoding.latin1, 0, 140),
        (DataCoding.latin1, 6, 134),
        (DataCoding.latin1, 7, 133),
        (DataCoding.ucs2, 0, 70),
        (DataCoding.ucs2, 6, 67),
        (DataCoding.ucs2, 7, 66),
        (DataCoding.default, 12, 146),  # concatenation + 16-bit port addressing IE
    ],
)
def test_part_capacity(data_coding: int, udh_length: int, capacity: int) -> None:
    assert part_capacity(data_coding, udh_length) == capacity


@pytest.mark.parametrize(
    ("text", "data_coding", "concat", "parts"),
    [
        ("", DataCoding.default, "udh8", 1),
        ("a" * 160, DataCoding.default, "udh8", 1),
        ("a" * 161, DataCoding.default, "udh8", 2),
        ("a" * 306, DataCoding.default, "udh8", 2),
        ("a" * 307, DataCoding.default, "udh8", 3),
        ("a" * 304, DataCoding.default, "udh16", 2),
        ("a" * 305, DataCoding.default, "udh16", 3),
        ("a" * 306, DataCoding.default, "sar", 2),  # SAR parts: 153 septets, like udh8
        ("a" * 307, DataCoding.default, "sar", 3),
        ("€" * 80, DataCoding.default, "udh8", 1),
        ("€" * 81, DataCoding.default, "udh8", 2),
        # 152 plain septets then an escape: it cannot straddle parts, so 152 + 153 + 1.
        ("a" * 152 + "€" + "a" * 152, DataCoding.default, "udh8", 3),
        ("я" * 70, DataCoding.ucs2, "udh8", 1),
        ("я" * 134, DataCoding.ucs2, "udh8", 2),
        ("я" * 135, DataCoding.ucs2, "udh8", 3),
        (GRINNING * 35, DataCoding.ucs2, "udh8", 1),
        # 66 units then a pair: the pair moves whole, so 66 + 67 + 1.
        ("я" * 66 + GRINNING + "я" * 66, DataCoding.ucs2, "udh8", 3),
        ("é" * 268, DataCoding.latin1, "udh8", 2),
        ("a" * 10_000, DataCoding.default, "payload", 1),
    ],
)
def test_segment_count(text: str, data_coding: int, concat: ConcatKind, parts: int) -> None:
    assert segment_count(text, data_coding, concat=concat) == parts


# --- choosing the encoding ------------------------------------------------------------


def test_choose_encoding_prefers_gsm_when_it_can() -> None:
    assert choose_encoding("Votre code est 1234. STOP au 36173") == DataCoding.default
    assert choose_encoding("Prix: 20€ {promo}") == DataCoding.default
    assert choose_encoding("") == DataCoding.default


def test_choose_encoding_falls_back_to_ucs2() -> None:
    assert choose_encoding("Привет") == DataCoding.ucs2
    assert choose_encoding(f"Merci {GRINNING}") == DataCoding.ucs2
    # c cedilla is outside GSM and Latin-1 is only used when asked for.
    assert choose_encoding("Reçu") == DataCoding.ucs2


def test_choose_encoding_picks_latin1_only_when_allowed_and_cheaper() -> None:
    accented = "Reçu " + "à" * 100  # 105 characters: 1 Latin-1 part, 2 UCS-2 parts
    assert choose_encoding(accented) == DataCoding.ucs2
    assert choose_encoding(accented, allow_latin1=True) == DataCoding.latin1
    # Same number of parts either way: UCS-2, the form carriers agree on.
    assert choose_encoding("Reçu", allow_latin1=True) == DataCoding.ucs2


def test_choose_encoding_picks_latin1_over_gsm_for_text_full_of_escapes() -> None:
    braces = "{}" * 60  # 240 septets (2 GSM parts), 120 octets (1 Latin-1 part)
    assert choose_encoding(braces) == DataCoding.default
    assert choose_encoding(braces, allow_latin1=True) == DataCoding.latin1
    # The euro sign is not Latin-1: GSM even though it takes two parts.
    assert choose_encoding("€" * 100, allow_latin1=True) == DataCoding.default


def test_choose_encoding_never_picks_latin1_for_gsm_text_without_escapes() -> None:
    assert choose_encoding("a" * 1000, allow_latin1=True) == DataCoding.default
