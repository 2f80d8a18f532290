"""The GSM 03.38 default alphabet (3GPP TS 23.038 6.2.1), unpacked: one septet per octet.

SMPP carries data_coding 0 text one septet per octet; packing into 7-bit
octets is the SMSC's job. A character of the default extension table is two
septets: the escape 0x1B followed by its code.
"""

from __future__ import annotations

import codecs
import re

__all__ = [
    "DEFAULT_ALPHABET",
    "ESCAPE",
    "EXTENSION_TABLE",
    "UnencodableError",
    "decode_gsm",
    "encode_gsm",
    "gsm_septets",
]

ESCAPE = 0x1B

#: The default alphabet by septet value; 0x1B is the escape, kept here as "\x1b".
DEFAULT_ALPHABET = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)

#: The default extension table: septet after the escape -> character.
EXTENSION_TABLE: dict[int, str] = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}


class UnencodableError(ValueError):
    """A character that the target alphabet cannot represent."""

    def __init__(self, text: str, position: int, alphabet: str = "GSM 03.38") -> None:
        self.char = text[position]
        self.position = position
        self.alphabet = alphabet
        super().__init__(
            f"character {self.char!r} (U+{ord(self.char):04X}) at position {position} "
            f"is not in the {alphabet} alphabet"
        )


# --- encoding tables -------------------------------------------------------------

#: Character -> septet(s), the complete map (charmap codec form).
_ENCODE_MAP: dict[int, int | bytes] = {
    ord(char): code for code, char in enumerate(DEFAULT_ALPHABET) if code != ESCAPE
}
_ENCODE_MAP.update({ord(char): bytes((ESCAPE, code)) for code, char in EXTENSION_TABLE.items()})

# Fast path for text within Latin-1 (nearly all GSM-encodable traffic): one
# bytes.translate maps each octet to its septet; extension characters become a
# marker octet (0x80 + index) replaced by their escape pair afterwards, and
# characters outside the alphabet become 0xFF. Plain septets are all < 0x80, so
# markers cannot collide with them.
_UNENCODABLE = 0xFF
_LATIN1_EXTENSIONS = [(ord(c), code) for code, c in EXTENSION_TABLE.items() if ord(c) < 0x100]
_MARKERS = [
    (bytes((0x80 + i,)), bytes((ESCAPE, code))) for i, (_, code) in enumerate(_LATIN1_EXTENSIONS)
]


def _latin1_table() -> bytes:
    table = bytearray([_UNENCODABLE]) * 256
    for code, char in enumerate(DEFAULT_ALPHABET):
        if code != ESCAPE and ord(char) < 0x100:
            table[ord(char)] = code
    for i, (ordinal, _) in enumerate(_LATIN1_EXTENSIONS):
        table[ordinal] = 0x80 + i
    return bytes(table)


_LATIN1_TO_SEPTET = _latin1_table()
_SEPTET_BYTES = bytes(range(0x80))

# --- decoding tables -------------------------------------------------------------

# Octets 0x80-0xFF are not septets: they decode to U+FFFD rather than failing,
# because a proxy must not crash on what a peer sends.
_DECODE_TABLE = DEFAULT_ALPHABET + "\ufffd" * 128

# What follows an escape, keyed by the default-table character of that septet.
# 23.038 6.2.1.1: a code with no extension character shows the default-table
# character; escape-escape is reserved for a further table and shows a space.
_AFTER_ESCAPE: dict[str, str] = {DEFAULT_ALPHABET[code]: c for code, c in EXTENSION_TABLE.items()}
_AFTER_ESCAPE["\x1b"] = " "
_ESCAPE_PAIR = re.compile("\x1b(.?)", re.DOTALL)


def _unescape(match: re.Match[str]) -> str:
    follower = match.group(1)
    # A lone escape at the very end carries no character: it is dropped.
    return _AFTER_ESCAPE.get(follower, follower)


# --- public functions ---------------------------------------------------------------


def encode_gsm(text: str) -> bytes:
    """Encode ``text`` as unpacked GSM 03.38 septets; raise UnencodableError otherwise."""
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:
        return _encode_slow(text)
    septets = raw.translate(_LATIN1_TO_SEPTET)
    if septets.isascii():
        return septets
    if _UNENCODABLE in septets:
        raise UnencodableError(text, septets.index(_UNENCODABLE))
    for marker, pair in _MARKERS:
        septets = septets.replace(marker, pair)
    return septets


def _encode_slow(text: str) -> bytes:
    try:
        return codecs.charmap_encode(text, "strict", _ENCODE_MAP)[0]
    except UnicodeEncodeError as exc:
        raise UnencodableError(text, exc.start) from None


def gsm_septets(text: str) -> int | None:
    """Septets ``text`` takes in GSM 03.38, escapes included; None if unencodable."""
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:
        try:
            return len(codecs.charmap_encode(text, "strict", _ENCODE_MAP)[0])
        except UnicodeEncodeError:
            return None
    septets = raw.translate(_LATIN1_TO_SEPTET)
    if septets.isascii():
        return len(septets)
    if _UNENCODABLE in septets:
        return None
    # Every remaining octet >= 0x80 is an extension marker: one more septet each.
    return len(septets) + len(septets.translate(None, _SEPTET_BYTES))


def decode_gsm(data: bytes) -> str:
    """Decode unpacked GSM 03.38 septets; never raises.

    An escape before a code with no extension character yields the default-table
    character (23.038 6.2.1.1); escape-escape yields a space; a lone trailing escape
    is dropped; octets above 0x7F yield U+FFFD.
    """
    text = codecs.charmap_decode(data, "strict", _DECODE_TABLE)[0]
    if "\x1b" in text:
        return _ESCAPE_PAIR.sub(_unescape, text)
    return text
