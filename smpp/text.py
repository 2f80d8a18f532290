"""Message text <-> short_message octets by data_coding, and what a text costs in parts.

SMPP 3.4 data_coding 0 is GSM 03.38 here (stopgate's SMSC default), 1 IA5
(ASCII), 3 Latin-1, 8 UCS-2. UCS-2 is read and written as UTF-16BE so that a
character outside the BMP (an emoji) travels as a surrogate pair of two code
units, as every handset since 2010 expects. The GSM 03.38 data coding scheme
groups that carriers use for flash and message-waiting messages (0x10-0x7F and
0xC0-0xFF, 23.038 section 4) are read for their alphabet too.

The national codings of SMPP 3.4 section 5.2.19 are text as well, in the byte
form their countries' SMSCs use: 5 JIS X 0208 as Shift_JIS, 6 ISO-8859-5
(Cyrillic), 7 ISO-8859-8 (Latin/Hebrew), 0x0A ISO-2022-JP, 0x0D JIS X 0212 as
EUC-JP (the common encoding that carries it; it also carries JIS X 0208 and
ASCII), 0x0E KS C 5601 as EUC-KR. They take 140 octets a part like Latin-1;
a cut never separates the octets of one character, and an ISO-2022-JP message
is cut into parts that each start and end in ASCII (every part is encoded on
its own, so each decodes alone).

Every other value (2, 4, 9 pictograms, the reserved 0x0B/0x0C/0x0F, the binary
DCS groups) is binary: its octets map one to one onto U+0000-U+00FF, which is
lossless and never fails, but is not text to judge or footer (see is_text).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from enum import Enum
from itertools import accumulate
from typing import Final, Literal, TypeAlias

from .constants import DataCoding
from .gsm import ESCAPE, UnencodableError, decode_gsm, encode_gsm, gsm_septets

__all__ = [
    "CONCAT_UDH_LENGTH",
    "Alphabet",
    "ConcatKind",
    "alphabet_of",
    "choose_encoding",
    "decode_text",
    "encode_text",
    "is_text",
    "part_capacity",
    "segment_count",
    "segment_ends",
    "segments_of",
    "units",
]

#: How a long message is carried: UDH with an 8- or 16-bit reference, SAR TLVs,
#: or whole in one message_payload TLV.
ConcatKind: TypeAlias = Literal["udh8", "udh16", "sar", "payload"]

#: Octets of User Data Header that concatenation puts in every part (UDHL included). SAR
#: parts carry no UDH in SMPP, but the SMSC adds an 8-bit-reference one over the air, so
#: they hold what a udh8 part holds (153 septets / 134 octets / 67 UCS-2 units).
CONCAT_UDH_LENGTH: dict[ConcatKind, int] = {"udh8": 6, "udh16": 7, "sar": 6, "payload": 0}

#: Octets of user data in one SMS (3GPP TS 23.040 TP-UDL for 8-bit data).
_USER_DATA_OCTETS = 140


class Alphabet(Enum):
    """How the octets of a short_message map to characters."""

    GSM = "GSM 03.38"
    IA5 = "IA5"
    LATIN1 = "Latin-1"
    UCS2 = "UCS-2"
    JIS = "JIS X 0208 (Shift_JIS)"
    CYRILLIC = "Cyrillic (ISO-8859-5)"
    HEBREW = "Latin/Hebrew (ISO-8859-8)"
    ISO2022JP = "ISO-2022-JP"
    KANJI_EXT = "JIS X 0212 (EUC-JP)"
    KSC5601 = "KS C 5601 (EUC-KR)"
    BINARY = "binary"


def _dcs_alphabet(bits: int) -> Alphabet:
    # 23.038 section 4, bits 3..2 of the general and automatic-deletion groups.
    return (Alphabet.GSM, Alphabet.BINARY, Alphabet.UCS2, Alphabet.BINARY)[(bits >> 2) & 3]


def _alphabet_table() -> tuple[Alphabet, ...]:
    table = [Alphabet.BINARY] * 256
    table[DataCoding.default] = Alphabet.GSM
    table[DataCoding.ia5] = Alphabet.IA5
    table[DataCoding.latin1] = Alphabet.LATIN1
    table[DataCoding.ucs2] = Alphabet.UCS2
    table[DataCoding.jis] = Alphabet.JIS
    table[DataCoding.cyrillic] = Alphabet.CYRILLIC
    table[DataCoding.hebrew] = Alphabet.HEBREW
    table[DataCoding.iso2022_jp] = Alphabet.ISO2022JP
    table[DataCoding.kanji_ext] = Alphabet.KANJI_EXT
    table[DataCoding.ksc5601] = Alphabet.KSC5601
    for dcs in range(0x10, 0x80):
        if not dcs & 0x20:  # bit 5 set: compressed, which no one implements
            table[dcs] = _dcs_alphabet(dcs)
    for dcs in range(0xC0, 0xE0):
        table[dcs] = Alphabet.GSM  # message waiting indication, default alphabet
    for dcs in range(0xE0, 0xF0):
        table[dcs] = Alphabet.UCS2  # message waiting indication, UCS-2
    for dcs in range(0xF0, 0x100):
        table[dcs] = Alphabet.BINARY if dcs & 0x04 else Alphabet.GSM  # message class
    return tuple(table)


_ALPHABETS = _alphabet_table()
# Binary octets map one to one onto U+0000-U+00FF: lossless both ways.
_CODECS = {
    Alphabet.IA5: "ascii",
    Alphabet.LATIN1: "latin-1",
    Alphabet.UCS2: "utf-16-be",
    Alphabet.JIS: "shift_jis",
    Alphabet.CYRILLIC: "iso8859_5",
    Alphabet.HEBREW: "iso8859_8",
    Alphabet.ISO2022JP: "iso2022_jp",
    Alphabet.KANJI_EXT: "euc_jp",
    Alphabet.KSC5601: "euc_kr",
    Alphabet.BINARY: "latin-1",
}
#: One character of each multibyte coding, as octets: a cut goes between two matches.
#: EUC-KR spells a syllable KS C 5601 lacks as four pairs (filler 0xA4D4 and three jamo),
#: which decode as one character and so stay together.
_MULTIBYTE: Final[dict[Alphabet, re.Pattern[bytes]]] = {
    Alphabet.JIS: re.compile(rb"[\x81-\x9f\xe0-\xfc][\x40-\x7e\x80-\xfc]|[\x00-\xff]"),
    Alphabet.KANJI_EXT: re.compile(
        rb"\x8f[\xa1-\xfe][\xa1-\xfe]|[\x8e\xa1-\xfe][\xa1-\xfe]|[\x00-\xff]"
    ),
    Alphabet.KSC5601: re.compile(
        rb"\xa4\xd4(?:\xa4[\xa1-\xfe]){3}|[\xa1-\xfe][\xa1-\xfe]|[\x00-\xff]"
    ),
}


def alphabet_of(data_coding: int) -> Alphabet:
    """The alphabet a data_coding value selects."""
    return _ALPHABETS[data_coding & 0xFF]


def is_text(data_coding: int) -> bool:
    """Whether short_messages with this data_coding are text (not binary data)."""
    return _ALPHABETS[data_coding & 0xFF] is not Alphabet.BINARY


def encode_text(text: str, data_coding: int) -> bytes:
    """Encode ``text`` for ``data_coding``; UnencodableError names the first bad character."""
    alphabet = _ALPHABETS[data_coding & 0xFF]
    if alphabet is Alphabet.GSM:
        return encode_gsm(text)
    codec = _CODECS[alphabet]
    try:
        return text.encode(codec)
    except UnicodeEncodeError as exc:
        raise UnencodableError(text, exc.start, alphabet.value) from None


def decode_text(data: bytes, data_coding: int) -> str:
    """Decode a short_message for ``data_coding``; never raises.

    Octets that are not valid in the alphabet (IA5 above 0x7F, a lone UTF-16
    surrogate, an odd trailing UCS-2 octet, a GSM octet above 0x7F) become U+FFFD.
    """
    alphabet = _ALPHABETS[data_coding & 0xFF]
    if alphabet is Alphabet.GSM:
        return decode_gsm(data)
    return data.decode(_CODECS[alphabet], "replace")


def units(text: str, data_coding: int) -> int:
    """Length of ``text`` in part units: septets, octets or UCS-2 code units."""
    alphabet = _ALPHABETS[data_coding & 0xFF]
    if alphabet is Alphabet.GSM:
        septets = gsm_septets(text)
        # Unencodable: encode_gsm raises the error that names the character.
        return septets if septets is not None else len(encode_gsm(text))
    if text.isascii():
        return len(text)  # one octet or one code unit per character in every other alphabet
    encoded = encode_text(text, data_coding)
    return len(encoded) // 2 if alphabet is Alphabet.UCS2 else len(encoded)


def part_capacity(data_coding: int, udh_length: int = 0) -> int:
    """Units one part holds after a User Data Header of ``udh_length`` octets (0: no UDH).

    160 septets / 140 octets / 70 UCS-2 code units without a UDH; with the 6-octet
    concatenation UDH 153 / 134 / 67, with the 7-octet one 152 / 133 / 66.
    """
    alphabet = _ALPHABETS[data_coding & 0xFF]
    if alphabet is Alphabet.GSM:
        # The UDH is padded with fill bits to a septet boundary (23.040 9.2.3.24):
        # it takes ceil(8 * udh_length / 7) of the 160 septets.
        return _USER_DATA_OCTETS * 8 // 7 + (-udh_length * 8 // 7)
    if alphabet is Alphabet.UCS2:
        return (_USER_DATA_OCTETS - udh_length) // 2
    return _USER_DATA_OCTETS - udh_length


def _unit_octets(alphabet: Alphabet) -> int:
    return 2 if alphabet is Alphabet.UCS2 else 1


def segment_ends(
    encoded: bytes, data_coding: int, *, single_udh_length: int = 0, part_udh_length: int = 6
) -> list[int]:
    """End offsets of the parts ``encoded`` is cut into.

    One part if it fits in a part with ``single_udh_length`` octets of UDH; else
    parts with ``part_udh_length`` octets of UDH each, every cut moved back so that
    a GSM escape sequence or a UTF-16 surrogate pair is never separated.
    """
    alphabet = _ALPHABETS[data_coding & 0xFF]
    unit = _unit_octets(alphabet)
    total = len(encoded)
    if total <= part_capacity(data_coding, single_udh_length) * unit:
        return [total]
    step = part_capacity(data_coding, part_udh_length) * unit
    if step < 2 * unit or (alphabet in _WIDE and step < _WIDEST_CHARACTER):
        raise ValueError(f"a UDH of {part_udh_length} octets leaves no room for text")
    if alphabet is Alphabet.ISO2022JP:
        reencoded = _iso2022_parts(encoded, step)
        if reencoded is not None:
            # Offsets into the parts as re-encoded (segments_of), each starting in ASCII.
            return list(accumulate(len(part) for part in reencoded))
    pattern = _MULTIBYTE.get(alphabet)
    if pattern is not None:
        return _character_cuts(encoded, step, pattern)
    ends: list[int] = []
    start = 0
    while total - start > step:
        end = start + step
        if alphabet is Alphabet.GSM:
            if encoded[end - 1] == ESCAPE and _escape_starts_at(encoded, end - 1):
                end -= 1
        elif alphabet is Alphabet.UCS2 and 0xD8 <= encoded[end - 2] <= 0xDB:
            end -= 2  # high surrogate: its low half is the next code unit
        ends.append(end)
        start = end
    ends.append(total)
    return ends


#: Alphabets whose characters take several octets, and the most one character takes
#: (an ISO-2022-JP part may need 3 octets of escape in and 3 out around a character).
_WIDE: Final = frozenset({Alphabet.JIS, Alphabet.KANJI_EXT, Alphabet.KSC5601,
                          Alphabet.ISO2022JP})
_WIDEST_CHARACTER: Final = 8


def segments_of(
    encoded: bytes, data_coding: int, *, single_udh_length: int = 0, part_udh_length: int = 6
) -> list[bytes]:
    """The parts ``encoded`` is cut into (see segment_ends), as octets.

    For every coding but ISO-2022-JP these are slices of ``encoded``. An ISO-2022-JP
    message longer than one part is encoded again part by part, so that every part
    starts and ends in ASCII and decodes alone; its parts, joined, decode to the
    same text as ``encoded`` (an undecodable one is cut by octets, as binary).
    """
    if (
        _ALPHABETS[data_coding & 0xFF] is Alphabet.ISO2022JP
        and len(encoded) > part_capacity(data_coding, single_udh_length)
    ):
        step = part_capacity(data_coding, part_udh_length)
        if step < _WIDEST_CHARACTER:
            raise ValueError(f"a UDH of {part_udh_length} octets leaves no room for text")
        reencoded = _iso2022_parts(encoded, step)
        if reencoded is not None:
            return reencoded
    ends = segment_ends(encoded, data_coding, single_udh_length=single_udh_length,
                        part_udh_length=part_udh_length)
    if len(ends) == 1:
        return [encoded]
    starts = [0, *ends[:-1]]
    return [encoded[start:end] for start, end in zip(starts, ends, strict=True)]


def _character_cuts(encoded: bytes, step: int, pattern: re.Pattern[bytes]) -> list[int]:
    """Cuts at most ``step`` octets apart, each between two characters of ``pattern``."""
    bounds = [found.end() for found in pattern.finditer(encoded)]
    ends: list[int] = []
    start = 0
    total = len(encoded)
    while total - start > step:
        end = bounds[bisect_right(bounds, start + step) - 1]
        ends.append(end)
        start = end
    ends.append(total)
    return ends


def _iso2022_parts(encoded: bytes, step: int) -> list[bytes] | None:
    """``encoded`` (ISO-2022-JP) as parts of at most ``step`` octets, each encoded alone,
    or None if it does not decode (the caller then cuts it by octets)."""
    try:
        text = encoded.decode("iso2022_jp")
    except UnicodeDecodeError:
        return None
    parts: list[bytes] = []
    start = 0
    while start < len(text):
        # The longest run of characters whose encoding fits: encoded length only grows
        # with the run, so a binary search over the run's length finds it.
        low, high = 1, min(len(text) - start, step)
        while low < high:
            middle = (low + high + 1) // 2
            if len(text[start:start + middle].encode("iso2022_jp")) <= step:
                low = middle
            else:
                high = middle - 1
        parts.append(text[start:start + low].encode("iso2022_jp"))
        start += low
    return parts


def _escape_starts_at(encoded: bytes, index: int) -> bool:
    # Escapes pair left to right. A run of 0x1B octets starts a fresh sequence (the
    # octet before it, not an escape, ended any earlier one), so within the run every
    # other octet, from its first, starts a sequence. Encoded text never has runs;
    # raw septets from a peer may (0x1B 0x1B is a reserved pair).
    run_start = index
    while run_start > 0 and encoded[run_start - 1] == ESCAPE:
        run_start -= 1
    return (index - run_start) % 2 == 0


def segment_count(text: str, data_coding: int, *, concat: ConcatKind = "udh8") -> int:
    """Parts ``text`` needs in ``data_coding`` when carried as ``concat``."""
    if concat == "payload":
        return 1
    encoded = encode_text(text, data_coding)
    alphabet = _ALPHABETS[data_coding & 0xFF]
    unit = _unit_octets(alphabet)
    single = part_capacity(data_coding) * unit
    if len(encoded) <= single:
        return 1
    step = part_capacity(data_coding, CONCAT_UDH_LENGTH[concat]) * unit
    if len(encoded) == len(text) * unit:
        # No escape or surrogate pair, so every cut is exactly one part apart.
        return -(-len(encoded) // step)
    return len(segment_ends(encoded, data_coding, part_udh_length=CONCAT_UDH_LENGTH[concat]))


def choose_encoding(text: str, allow_latin1: bool = False, *, concat: ConcatKind = "udh8") -> int:
    """The data_coding that carries ``text`` in the fewest parts.

    GSM 03.38 when it can encode the text, else UCS-2. With ``allow_latin1``,
    Latin-1 (3) when it takes strictly fewer parts: carriers treat data_coding 3
    inconsistently, so it is never the default.
    """
    septets = gsm_septets(text)
    if septets is not None:
        # Latin-1 only wins on text rich in extension characters (two septets each).
        if not allow_latin1 or septets == len(text) or septets <= part_capacity(0):
            return DataCoding.default
        if _fits_latin1(text) and segment_count(
            text, DataCoding.latin1, concat=concat
        ) < segment_count(text, DataCoding.default, concat=concat):
            return DataCoding.latin1
        return DataCoding.default
    if (
        allow_latin1
        and _fits_latin1(text)
        and segment_count(text, DataCoding.latin1, concat=concat)
        < segment_count(text, DataCoding.ucs2, concat=concat)
    ):
        return DataCoding.latin1
    return DataCoding.ucs2


def _fits_latin1(text: str) -> bool:
    return not text or max(text) <= "\xff"
