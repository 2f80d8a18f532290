"""Phone numbers to E.164, honouring SMPP TON/NPI and the account's default region.

phonenumbers costs ~15 µs a parse and the same recipients repeat all day, so
results are cached by (address, TON, region). Bulk imports see each number
once: ``normalize_once`` gives the same answers without the cache (which the
MT path's recipients keep) and with a fast path for ``+digits``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, PhoneNumber

__all__ = ["Number", "normalize", "normalize_once", "normalize_sender"]

TON_UNKNOWN = 0
TON_INTERNATIONAL = 1
TON_NATIONAL = 2
TON_NETWORK_SPECIFIC = 3
TON_SUBSCRIBER = 4
TON_ALPHANUMERIC = 5
TON_ABBREVIATED = 6

_SEPARATORS = re.compile(r"[\s\-./()]")
_MAX_SHORTCODE_DIGITS = 8


@dataclass(frozen=True, slots=True)
class Number:
    """A normalised address: ``e164`` ("+33612345678") and its ISO ``region`` ("FR").

    Shortcodes and alphanumeric sender ids keep their text in ``e164`` and have
    ``kind`` "shortcode" / "alphanumeric" and an empty region.
    """

    e164: str
    region: str
    kind: str = "msisdn"


@lru_cache(maxsize=100_000)
def normalize(address: str, ton: int = TON_UNKNOWN, default_region: str = "") -> Number | None:
    """The E.164 form of a recipient address, or None when it is not a valid phone number.

    Cached; a miss takes ``normalize_once``'s fast paths (~4 µs against ~20 µs for the
    parser), since campaigns send to many recipients once each.
    """
    return normalize_once(address, ton, default_region)


def _normalize_parsed(address: str, ton: int, default_region: str) -> Number | None:
    """``normalize`` through phonenumbers' parser, every time."""
    cleaned = _SEPARATORS.sub("", address)
    if not cleaned:
        return None
    if cleaned.startswith("+"):
        international = cleaned
    elif cleaned.startswith("00") and ton != TON_NATIONAL:
        international = "+" + cleaned[2:]
    elif ton == TON_INTERNATIONAL:
        international = "+" + cleaned
    else:
        international = ""
    if international:
        return _parse(international, None)
    national = _parse(cleaned, default_region) if default_region else None
    if national is None and ton == TON_UNKNOWN and cleaned.isdigit():
        # Senders often put "33612345678" with TON 0: international digits without the "+".
        return _parse("+" + cleaned, None)
    return national


_INTERNATIONAL_DIGITS = re.compile(r"[1-9][0-9]{1,16}")
_MAX_NSN_DIGITS = 17  # phonenumbers refuses longer national numbers


def normalize_once(address: str, ton: int = TON_UNKNOWN, default_region: str = "") -> Number | None:
    """``normalize`` for numbers seen once (bulk imports): the same result, no cache.

    Two fast paths skip phonenumbers' parser (most of its cost) where parsing could
    not change the digits, and otherwise step aside for the full path:

    - international (``+``, ``00``, TON 1): the country code is read the way the
      parser reads it, and the rest is the national number unless it starts with 0
      or with what the country's metadata calls a national prefix (the parser
      would strip or transform those);
    - national digits for ``default_region``, when its national prefix needs no
      transformation and the number starts with neither the country code nor an
      international call prefix: only a number this path finds valid is taken.
    """
    cleaned = _SEPARATORS.sub("", address)
    fast: Number | None = _FULL_PATH
    if cleaned[:1] == "+":
        if _INTERNATIONAL_DIGITS.fullmatch(cleaned, 1):
            fast = _plus_digits(cleaned[1:])
    elif cleaned[:2] == "00" and ton != TON_NATIONAL:
        if _INTERNATIONAL_DIGITS.fullmatch(cleaned, 2):
            fast = _plus_digits(cleaned[2:])
    elif ton == TON_INTERNATIONAL:
        if _INTERNATIONAL_DIGITS.fullmatch(cleaned):
            fast = _plus_digits(cleaned)
    elif default_region and cleaned.isascii() and cleaned.isdigit():
        fast = _national_digits(cleaned, default_region)
    if fast is not _FULL_PATH:
        return fast
    return _normalize_parsed(address, ton, default_region)


_FULL_PATH = Number("", "", "")  # a sentinel: the fast path cannot decide
_NO_METADATA = re.compile("")  # a sentinel: phonenumbers has no metadata for the code


def _plus_digits(digits: str) -> Number | None:
    for length in (1, 2, 3):
        country_code = int(digits[:length])
        if country_code in COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None  # the parser refuses an unknown country code the same way
    national = digits[length:]
    if not national or national[0] == "0" or len(national) > _MAX_NSN_DIGITS:
        return _FULL_PATH
    prefix = _national_prefix(country_code)
    if prefix is _NO_METADATA or (prefix is not None and prefix.match(national)):
        return _FULL_PATH
    common = _common_types(country_code)
    if common is not None:
        main, general, kinds = common
        if _matches(national, general) and any(_matches(national, kind) for kind in kinds):
            return Number("+" + digits, main)
    parsed = PhoneNumber(country_code=country_code, national_number=int(national))
    # is_valid_number() is these two calls; the region is wanted too, and finding it is
    # the dear half where a country code has several regions (+44: GB, GG, IM, JE).
    region = phonenumbers.region_code_for_number(parsed)
    if region is None or not phonenumbers.is_valid_number_for_region(parsed, region):
        return None
    return Number("+" + digits, region)


_Desc = tuple[frozenset[int], re.Pattern[str]]  # possible lengths (empty: any), pattern


def _matches(national: str, desc: _Desc) -> bool:
    """phonenumbers' test of a national number against one number description."""
    lengths, pattern = desc
    return (not lengths or len(national) in lengths) and pattern.fullmatch(national) is not None


@cache
def _common_types(country_code: int) -> tuple[str, _Desc, tuple[_Desc, ...]] | None:
    """(main region, its general description, its mobile and fixed-line descriptions).

    A number that matches the general description and one of these has a number type,
    so it is valid, and the main region (the first phonenumbers tries) is its region,
    unless that region is told apart by leading digits (then: None, the full path).
    Every other number takes the full path, which tries every type and region.
    """
    region = phonenumbers.COUNTRY_CODE_TO_REGION_CODE[country_code][0]
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    if metadata is None or metadata.leading_digits or metadata.general_desc is None:
        return None

    def desc(number_desc: Any) -> _Desc | None:
        if number_desc is None or not number_desc.national_number_pattern:
            return None
        return (frozenset(number_desc.possible_length),
                re.compile(number_desc.national_number_pattern))

    general = desc(metadata.general_desc)
    kinds = tuple(d for d in (desc(metadata.mobile), desc(metadata.fixed_line)) if d)
    return (region, general, kinds) if general is not None and kinds else None


def _national_digits(cleaned: str, region: str) -> Number:
    """A national number that is valid as written, or _FULL_PATH."""
    parsing = _region_parsing(region)
    if parsing is None:
        return _FULL_PATH
    country, idd, prefix, local_only = parsing
    if cleaned.startswith(country) or idd.match(cleaned):
        return _FULL_PATH  # the parser may read a country code or a call prefix here
    found = prefix.match(cleaned) if prefix is not None else None
    national = cleaned[found.end():] if found else cleaned
    if not national or national[0] == "0" or len(national) in local_only:
        return _FULL_PATH
    common = _common_types(int(country))
    if common is None:
        return _FULL_PATH
    main, general, kinds = common
    # Valid here means the parser strips the same prefix (it keeps one only when what
    # is left does not match the general description, or has a local-only length).
    if (general[0] and _matches(national, general)
            and any(_matches(national, kind) for kind in kinds)):
        return Number(f"+{country}{national}", main)
    return _FULL_PATH


@cache
def _region_parsing(region: str) -> tuple[str, re.Pattern[str], re.Pattern[str] | None,
                                          frozenset[int]] | None:
    """(country code, international prefix, national prefix for parsing, local-only
    lengths) of a region; None where national prefixes are transformed (or unknown)."""
    metadata = PhoneMetadata.metadata_for_region(region)
    if (metadata is None or metadata.national_prefix_transform_rule
            or not metadata.international_prefix or metadata.general_desc is None):
        return None
    prefix = metadata.national_prefix_for_parsing
    return (str(metadata.country_code), re.compile(metadata.international_prefix),
            re.compile(prefix) if prefix else None,
            frozenset(metadata.general_desc.possible_length_local_only))


@cache
def _national_prefix(country_code: int) -> re.Pattern[str] | None:
    """The country's national-prefix-for-parsing pattern; None: it has none."""
    region = phonenumbers.region_code_for_country_code(country_code)
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    if metadata is None:
        return _NO_METADATA
    pattern = metadata.national_prefix_for_parsing
    return re.compile(pattern) if pattern else None


def _parse(text: str, region: str | None) -> Number | None:
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    found = phonenumbers.region_code_for_number(parsed) or ""
    return Number(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), found)


@lru_cache(maxsize=50_000)
def normalize_sender(address: str, ton: int = TON_UNKNOWN, default_region: str = "") -> Number:
    """A source address: alphanumeric ids and shortcodes as they are, numbers in E.164."""
    if ton == TON_ALPHANUMERIC or any(c.isalpha() for c in address):
        return Number(address, "", "alphanumeric")
    digits = _SEPARATORS.sub("", address)
    if ton in (TON_NETWORK_SPECIFIC, TON_ABBREVIATED) or (
        digits.isdigit() and len(digits) <= _MAX_SHORTCODE_DIGITS and ton != TON_INTERNATIONAL
    ):
        return Number(digits, "", "shortcode")
    number = normalize(address, ton, default_region)
    return number if number is not None else Number(digits, "", "unknown")


def number_key(number: str) -> str:
    """An address as compared for MO ownership: digits only, international prefix removed."""
    text = number.strip()
    digits = "".join(char for char in text if "0" <= char <= "9")
    if not text.startswith("+") and digits.startswith("00"):
        digits = digits[2:]
    return digits or text.lower()  # an alphanumeric address can only match itself
