"""Phone numbers to E.164, honouring SMPP TON/NPI and the account's default region.

phonenumbers costs ~15 µs a parse and the same recipients repeat all day, so
results are cached by (address, TON, region).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers

__all__ = ["Number", "normalize", "normalize_sender"]

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


@lru_cache(maxsize=200_000)
def normalize(address: str, ton: int = TON_UNKNOWN, default_region: str = "") -> Number | None:
    """The E.164 form of a recipient address, or None when it is not a valid phone number."""
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
