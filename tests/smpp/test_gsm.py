"""GSM 03.38 default alphabet and extension table, against 3GPP TS 23.038 6.2.1 typed out here."""

from __future__ import annotations

import pytest
import smpplib.gsm

from smpp.gsm import UnencodableError, decode_gsm, encode_gsm, gsm_septets

# 3GPP TS 23.038 6.2.1, the default alphabet, by septet value (0x1B, the escape, is not a
# character). Written out independently of smpp/gsm.py, as code points, so that look-alikes
# (Greek capitals vs Latin, U+2126 OHM vs U+03A9 OMEGA) cannot slip through.
DEFAULT_TABLE: dict[int, str] = {
    0x00: "\u0040",  # COMMERCIAL AT
    0x01: "\u00a3",  # POUND SIGN
    0x02: "\u0024",  # DOLLAR SIGN
    0x03: "\u00a5",  # YEN SIGN
    0x04: "\u00e8",  # LATIN SMALL LETTER E WITH GRAVE
    0x05: "\u00e9",  # LATIN SMALL LETTER E WITH ACUTE
    0x06: "\u00f9",  # LATIN SMALL LETTER U WITH GRAVE
    0x07: "\u00ec",  # LATIN SMALL LETTER I WITH GRAVE
    0x08: "\u00f2",  # LATIN SMALL LETTER O WITH GRAVE
    0x09: "\u00c7",  # LATIN CAPITAL LETTER C WITH CEDILLA
    0x0A: "\u000a",  # LINE FEED
    0x0B: "\u00d8",  # LATIN CAPITAL LETTER O WITH STROKE
    0x0C: "\u00f8",  # LATIN SMALL LETTER O WITH STROKE
    0x0D: "\u000d",  # CARRIAGE RETURN
    0x0E: "\u00c5",  # LATIN CAPITAL LETTER A WITH RING ABOVE
    0x0F: "\u00e5",  # LATIN SMALL LETTER A WITH RING ABOVE
    0x10: "\u0394",  # GREEK CAPITAL LETTER DELTA
    0x11: "\u005f",  # LOW LINE
    0x12: "\u03a6",  # GREEK CAPITAL LETTER PHI
    0x13: "\u0393",  # GREEK CAPITAL LETTER GAMMA
    0x14: "\u039b",  # GREEK CAPITAL LETTER LAMDA
    0x15: "\u03a9",  # GREEK CAPITAL LETTER OMEGA
    0x16: "\u03a0",  # GREEK CAPITAL LETTER PI
    0x17: "\u03a8",  # GREEK CAPITAL LETTER PSI
    0x18: "\u03a3",  # GREEK CAPITAL LETTER SIGMA
    0x19: "\u0398",  # GREEK CAPITAL LETTER THETA
    0x1A: "\u039e",  # GREEK CAPITAL LETTER XI
    0x1C: "\u00c6",  # LATIN CAPITAL LETTER AE
    0x1D: "\u00e6",  # LATIN SMALL LETTER AE
    0x1E: "\u00df",  # LATIN SMALL LETTER SHARP S
    0x1F: "\u00c9",  # LATIN CAPITAL LETTER E WITH ACUTE
    0x20: "\u0020",  # SPACE
    0x21: "\u0021",  # EXCLAMATION MARK
    0x22: "\u0022",  # QUOTATION MARK
    0x23: "\u0023",  # NUMBER SIGN
    0x24: "\u00a4",  # CURRENCY SIGN
    0x25: "\u0025",  # PERCENT SIGN
    0x26: "\u0026",  # AMPERSAND
    0x27: "\u0027",  # APOSTROPHE
    0x28: "\u0028",  # LEFT PARENTHESIS
    0x29: "\u0029",  # RIGHT PARENTHESIS
    0x2A: "\u002a",  # ASTERISK
    0x2B: "\u002b",  # PLUS SIGN
    0x2C: "\u002c",  # COMMA
    0x2D: "\u002d",  # HYPHEN-MINUS
    0x2E: "\u002e",  # FULL STOP
    0x2F: "\u002f",  # SOLIDUS
    **{0x30 + d: str(d) for d in range(10)},  # DIGIT ZERO..NINE
    0x3A: "\u003a",  # COLON
    0x3B: "\u003b",  # SEMICOLON
    0x3C: "\u003c",  # LESS-THAN SIGN
    0x3D: "\u003d",  # EQUALS SIGN
    0x3E: "\u003e",  # GREATER-THAN SIGN
    0x3F: "\u003f",  # QUESTION MARK
    0x40: "\u00a1",  # INVERTED EXCLAMATION MARK
    **{0x41 + i: chr(ord("A") + i) for i in range(26)},  # LATIN CAPITAL LETTER A..Z
    0x5B: "\u00c4",  # LATIN CAPITAL LETTER A WITH DIAERESIS
    0x5C: "\u00d6",  # LATIN CAPITAL LETTER O WITH DIAERESIS
    0x5D: "\u00d1",  # LATIN CAPITAL LETTER N WITH TILDE
    0x5E: "\u00dc",  # LATIN CAPITAL LETTER U WITH DIAERESIS
    0x5F: "\u00a7",  # SECTION SIGN
    0x60: "\u00bf",  # INVERTED QUESTION MARK
    **{0x61 + i: chr(ord("a") + i) for i in range(26)},  # LATIN SMALL LETTER A..Z
    0x7B: "\u00e4",  # LATIN SMALL LETTER A WITH DIAERESIS
    0x7C: "\u00f6",  # LATIN SMALL LETTER O WITH DIAERESIS
    0x7D: "\u00f1",  # LATIN SMALL LETTER N WITH TILDE
    0x7E: "\u00fc",  # LATIN SMALL LETTER U WITH DIAERESIS
    0x7F: "\u00e0",  # LATIN SMALL LETTER A WITH GRAVE
}

# 23.038 6.2.1.1, the default extension table: the septet after the escape 0x1B.
EXTENSION_TABLE: dict[int, str] = {
    0x0A: "\u000c",  # FORM FEED (page break)
    0x14: "\u005e",  # CIRCUMFLEX ACCENT
    0x28: "\u007b",  # LEFT CURLY BRACKET
    0x29: "\u007d",  # RIGHT CURLY BRACKET
    0x2F: "\u005c",  # REVERSE SOLIDUS
    0x3C: "\u005b",  # LEFT SQUARE BRACKET
    0x3D: "\u007e",  # TILDE
    0x3E: "\u005d",  # RIGHT SQUARE BRACKET
    0x40: "\u007c",  # VERTICAL LINE
    0x65: "\u20ac",  # EURO SIGN
}


def test_the_typed_tables_are_complete() -> None:
    assert sorted(DEFAULT_TABLE) == [code for code in range(128) if code != 0x1B]
    assert len(set(DEFAULT_TABLE.values())) == 127
    assert not set(DEFAULT_TABLE.values()) & set(EXTENSION_TABLE.values())


@pytest.mark.parametrize(("code", "char"), sorted(DEFAULT_TABLE.items()))
def test_every_default_alphabet_character_encodes_to_its_septet(code: int, char: str) -> None:
    assert encode_gsm(char) == bytes((code,))
    assert decode_gsm(bytes((code,))) == char
    assert gsm_septets(char) == 1


@pytest.mark.parametrize(("code", "char"), sorted(EXTENSION_TABLE.items()))
def test_every_extension_character_encodes_to_escape_and_code(code: int, char: str) -> None:
    assert encode_gsm(char) == bytes((0x1B, code))
    assert decode_gsm(bytes((0x1B, code))) == char
    assert gsm_septets(char) == 2


def test_whole_alphabet_round_trips_in_one_string() -> None:
    text = "".join(DEFAULT_TABLE.values()) + "".join(EXTENSION_TABLE.values())
    encoded = encode_gsm(text)
    assert len(encoded) == 127 + 2 * 10 == gsm_septets(text)
    assert decode_gsm(encoded) == text


def test_section_sign_is_0x5f_where_smpplib_has_a_backtick() -> None:
    assert encode_gsm("§") == b"\x5f"
    assert decode_gsm(b"\x5f") == "§"
    # smpplib's table is wrong at 0x5F: it has "`" where 23.038 has "§".
    assert smpplib.gsm.gsm_encode("`") == b"\x5f"
    with pytest.raises(UnicodeError):
        smpplib.gsm.gsm_encode("§")


def test_smpplib_agrees_on_every_other_character_but_form_feed() -> None:
    for code, char in DEFAULT_TABLE.items():
        if code != 0x5F:
            assert smpplib.gsm.gsm_encode(char) == encode_gsm(char), hex(code)
    for code, char in EXTENSION_TABLE.items():
        if code != 0x0A:
            assert smpplib.gsm.gsm_encode(char) == encode_gsm(char), repr(char)
    # smpplib's extension table lacks the form feed (page break) that 23.038 has at 0x0A.
    with pytest.raises(UnicodeError):
        smpplib.gsm.gsm_encode("\f")


def test_form_feed_is_the_escape_sequence_1b0a() -> None:
    assert encode_gsm("a\fb") == b"a\x1b\x0ab"
    assert decode_gsm(b"a\x1b\x0ab") == "a\fb"


def test_at_dollar_and_underscore_are_not_their_ascii_octets() -> None:
    assert encode_gsm("@$_") == b"\x00\x02\x11"
    assert decode_gsm(b"\x00\x02\x11\x24\x40\x60") == "@$_¤¡¿"


@pytest.mark.parametrize(
    "char",
    # backtick, c cedilla (only the capital is in the table), tab, NUL, a acute, Greek capital
    # alpha (looks like A), ohm sign (looks like omega), Cyrillic, an emoji, a C1 control
    ["`", "\u00e7", "\t", "\x00", "\u00e1", "\u0391", "\u2126", "\u0448", "\U0001f600", "\x80"],
)
def test_characters_outside_the_alphabet_are_unencodable(char: str) -> None:
    with pytest.raises(UnencodableError) as raised:
        encode_gsm("ok " + char + " ok")
    assert raised.value.char == char
    assert raised.value.position == 3
    assert repr(char) in str(raised.value)
    assert gsm_septets("ok " + char) is None


def test_backtick_is_not_encodable() -> None:
    with pytest.raises(UnencodableError, match="'`'"):
        encode_gsm("`")
    assert gsm_septets("`") is None


def test_unencodable_error_is_a_value_error_naming_the_first_bad_character() -> None:
    with pytest.raises(ValueError, match=r"'ç' \(U\+00E7\) at position 6"):
        encode_gsm("{€} gaç `")


def test_unencodable_error_position_is_exact_beyond_latin1() -> None:
    with pytest.raises(UnencodableError) as raised:
        encode_gsm("€€ΩΔ ok Я")
    assert raised.value.position == 8
    assert raised.value.char == "Я"


@pytest.mark.parametrize(
    ("text", "septets"),
    [
        ("", 0),
        ("hello", 5),
        ("€", 2),
        ("{}", 4),
        ("a[b]c", 7),
        ("Ω€", 3),
        ("^" * 80, 160),
        ("\f\\|~", 8),
        ("é" * 10 + "|", 12),
    ],
)
def test_septet_count_counts_each_escape_as_a_septet(text: str, septets: int) -> None:
    assert gsm_septets(text) == septets
    assert len(encode_gsm(text)) == septets


def test_escape_before_unknown_code_decodes_as_default_table_character() -> None:
    # 23.038 6.2.1.1: no extension character at 0x41 -> show the default table's "A".
    assert decode_gsm(b"\x1b\x41") == "A"
    assert decode_gsm(b"\x1b\x00x") == "@x"


def test_escape_escape_decodes_as_space() -> None:
    # Reserved for a further extension table; 23.038 says display a space.
    assert decode_gsm(b"a\x1b\x1bb") == "a b"
    assert decode_gsm(b"\x1b\x1b\x1b\x28") == " {"


def test_trailing_lone_escape_is_dropped() -> None:
    assert decode_gsm(b"STOP\x1b") == "STOP"
    assert decode_gsm(b"\x1b") == ""


def test_octets_above_0x7f_decode_as_replacement_character() -> None:
    assert decode_gsm(b"a\x80\xffb") == "a\ufffd\ufffdb"


def test_decoding_every_septet_pair_never_raises() -> None:
    for first in range(256):
        for second in range(256):
            assert isinstance(decode_gsm(bytes((first, second))), str)
