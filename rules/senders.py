"""Sender ownership: which account may send from which source address.

The rule (SPEC "Sender ownership"): an account's ``numbers`` and ``senders`` are the
sources it lists. An account with a non-empty ``senders`` sends only from what it
lists; an account without one may send from any source that no other account lists.
A source listed by several accounts (a shared shortcode) is theirs alike.

Addresses are compared by *key*, so that every way of writing one sender meets:

- an alphanumeric id (any letter in it): case-folded, "GLOBEX" = "globex";
- a number in E.164: "+447700900000" = "447700900000" with TON 1 = "00447700900000"
  = "07700900000" with TON 0/2 for an account whose default_region is GB. Numbers
  phonenumbers calls invalid (the +44 7700 900xxx drama range) are still read
  structurally (country code + national number), never refused for it;
- a shortcode (at most 8 digits): its digits.

A source can be read more than one way: "447700900000" with TON 0 is a national
number for some accounts and an international one for a carrier. ``source_keys``
gives every reading a carrier could make, and the source is refused when any of
them belongs to another account and not to this one (a carrier or a handset must
never be able to show another account's number). Digits sent as TON 5 are read as
a number: a handset shows them as one.

``SenderOwnership`` is built once from the configuration; ``source_keys`` is cached,
so a check costs a dict lookup or two per message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers

from rules.numbers import TON_INTERNATIONAL, TON_NATIONAL, TON_UNKNOWN, normalize

__all__ = ["AccountSenders", "SenderOwnership", "listed_key", "source_keys"]

#: A source of at most this many digits (not written internationally) is a shortcode.
MAX_SHORTCODE_DIGITS = 8
_SEPARATORS = re.compile(r"[\s\-./()]")


@dataclass(frozen=True, slots=True)
class AccountSenders:
    """What one account lists: ``numbers`` (MO numbers too) and ``senders``."""

    account: str
    region: str = ""
    numbers: tuple[str, ...] = ()
    senders: tuple[str, ...] = ()


def _structural(text: str, region: str | None) -> str | None:
    """E.164 as phonenumbers reads the digits, valid or not (None: it cannot read them)."""
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _international(digits: str) -> str:
    """The E.164 key of international digits (no "+")."""
    number = normalize("+" + digits, TON_INTERNATIONAL, "")
    if number is not None:
        return number.e164
    return _structural("+" + digits, None) or "+" + digits


def _national(digits: str, region: str) -> str | None:
    """The E.164 key of national digits in ``region``; None without a region or a reading."""
    if not region:
        return None
    number = normalize(digits, TON_NATIONAL, region)
    if number is not None:
        return number.e164
    return _structural(digits, region)


def _is_alphanumeric(text: str) -> bool:
    return any(char.isalpha() for char in text)


@lru_cache(maxsize=50_000)
def source_keys(address: str, ton: int = TON_UNKNOWN, region: str = "") -> tuple[str, ...]:
    """Every key a source address can be read as, with its TON and the account's region.

    ``()`` for an empty address (the carrier's default sender). See the module docstring.
    """
    text = address.strip()
    if not text:
        return ()
    if _is_alphanumeric(text):
        return (text.casefold(),)
    cleaned = _SEPARATORS.sub("", text)
    if cleaned[:1] == "+":
        digits, international = cleaned[1:], True
    elif cleaned[:2] == "00" and ton != TON_NATIONAL:
        digits, international = cleaned[2:], True
    else:
        digits, international = cleaned, ton == TON_INTERNATIONAL
    if not (digits.isascii() and digits.isdigit()):
        return (text.casefold(),)  # punctuation only: compared as written
    keys: list[str] = []
    short = len(digits) <= MAX_SHORTCODE_DIGITS
    if international:
        if digits[0] != "0":
            keys.append(_international(digits))
        if short:
            keys.append(digits)  # a carrier may take a short "international" one as written
    elif short:
        keys.append(digits)
    else:
        national = _national(digits, region) if ton != TON_INTERNATIONAL else None
        if national is not None:
            keys.append(national)
        # TON 0 (unknown), 3 (network specific), 4, 6: carriers read long digits as
        # international too. Only TON 2 says "national" for sure.
        if ton != TON_NATIONAL and digits[0] != "0":
            keys.append(_international(digits))
        if not keys:
            keys.append(digits)
    return tuple(dict.fromkeys(keys))


def listed_key(entry: str, region: str = "") -> str:
    """The key of a ``numbers`` or ``senders`` entry of an account with ``region``.

    One key per entry: "+..." and "00..." are international, at most 8 digits a
    shortcode, longer digits a national number when they start with 0 (or are valid
    as one in ``region``), else international digits without their "+".
    """
    text = entry.strip()
    if _is_alphanumeric(text):
        return text.casefold()
    cleaned = _SEPARATORS.sub("", text)
    if cleaned[:1] == "+":
        return _international(cleaned[1:]) if cleaned[1:2] not in ("", "0") else cleaned
    if cleaned[:2] == "00":
        return _international(cleaned[2:])
    if len(cleaned) <= MAX_SHORTCODE_DIGITS:
        return cleaned
    number = normalize(cleaned, TON_UNKNOWN, region)
    if number is not None:
        return number.e164
    if cleaned[:1] == "0":
        return _national(cleaned, region) or cleaned
    return _international(cleaned)


class SenderOwnership:
    """The ownership index: source key -> the accounts that list it. Pure data."""

    def __init__(self, accounts: Iterable[AccountSenders]) -> None:
        self._regions: dict[str, str] = {}
        #: key -> listing accounts, in configuration order
        self._listed: dict[str, tuple[str, ...]] = {}
        restricted: list[str] = []
        unrestricted: list[str] = []
        for entry in accounts:
            self._regions[entry.account] = entry.region
            (restricted if entry.senders else unrestricted).append(entry.account)
            for listed in (*entry.numbers, *entry.senders):
                key = listed_key(listed, entry.region)
                owners = self._listed.get(key, ())
                if entry.account not in owners:
                    self._listed[key] = (*owners, entry.account)
        self.restricted = frozenset(restricted)
        #: Accounts without ``senders``, in configuration order.
        self.unrestricted = tuple(unrestricted)

    def listers(self, keys: Sequence[str]) -> tuple[str, ...]:
        """The accounts that list any of ``keys``, in configuration order, once each."""
        found: dict[str, None] = {}
        for key in keys:
            for account in self._listed.get(key, ()):
                found[account] = None
        return tuple(found)

    def may_send(self, account: str, address: str, ton: int = TON_UNKNOWN) -> bool:
        """Whether ``account`` may send from ``address`` (with its TON)."""
        keys = source_keys(address, ton, self._regions.get(account, ""))
        own = False
        for key in keys:
            owners = self._listed.get(key)
            if owners is not None:
                if account not in owners:
                    return False  # some reading of it is another account's
                own = True
        return own or account not in self.restricted

    def destination_listers(self, address: str, ton: int = TON_UNKNOWN) -> tuple[str, ...]:
        """The accounts that list an MO's destination (read without a region)."""
        return self.listers(source_keys(address, ton, ""))

    def bound_by(self, address: str, ton: int = TON_UNKNOWN) -> tuple[str, ...]:
        """The accounts that may send from ``address``: its listers, else every account
        without ``senders`` (they may send from a source nobody lists)."""
        return self.destination_listers(address, ton) or self.unrestricted

