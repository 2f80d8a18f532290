"""Erasure (GDPR art. 17) without losing the opt-out: a number replaced by its keyed hash.

``hash_number`` is ``"h:"`` and the hex HMAC-SHA256 of the number in E.164 under
``storage.hash_key`` (or the contents of ``storage.hash_key_file``). The ledger keeps an
erased number's events, state, link tokens and webhook rows under that hash
(``Ledger.erase``), the Redis cache keeps its suppressions in the ``{sp}:G:h`` set, and
lookups send the hashes of their numbers while such entries exist
(gateway.suppression.cache): an erased number stays blocked, and nothing stopgate keeps
gives the number back without the key.

The key must never change once a number was erased with it: under another key the
erased numbers are no longer recognised. The ledger remembers a fingerprint of the key
of the first erasure (``ledger_meta`` ``erasure_key``, written once an erasure found
something to erase), refuses erasures under another one, and a gateway whose key does
not match it refuses to start (``key_mismatch``): it would not find the erased numbers,
and people who opted out would get promotional messages again.
"""

from __future__ import annotations

import hmac

from gateway.ledger.model import ERASED_PREFIX, LedgerError

__all__ = ["KEY_META", "ErasureKeyMismatch", "ErasureNotConfigured", "NumberHasher",
           "hasher_for", "key_mismatch"]

#: The ``ledger_meta`` key of the fingerprint of the first erasure's key.
KEY_META = "erasure_key"


class ErasureNotConfigured(Exception):
    """No ``storage.hash_key``, or one that differs from the key of earlier erasures."""


class ErasureKeyMismatch(LedgerError):
    """At start: ``storage.hash_key`` is not the key of the erasures in the ledger."""


class NumberHasher:
    """A number's erasure hash under one key: ``hasher(number) -> "h:<64 hex>"``."""

    __slots__ = ("_key", "fingerprint")

    def __init__(self, key: bytes) -> None:
        self._key = key
        #: Names the key without revealing it (stored with the first erasure).
        self.fingerprint = hmac.digest(key, b"stopgate erasure key", "sha256").hex()[:16]

    def __call__(self, number: str) -> str:
        digits = number[1:] if number[:1] == "+" else number
        canonical = "+" + digits if digits.isdigit() and digits.isascii() else number
        return ERASED_PREFIX + hmac.digest(self._key, canonical.encode(), "sha256").hex()

    def __repr__(self) -> str:
        return f"NumberHasher(fingerprint={self.fingerprint!r})"


def key_mismatch(hasher: NumberHasher | None, recorded: str | None) -> str | None:
    """What is wrong when ``hasher`` is not the key whose fingerprint the ledger recorded
    with its first erasure (``recorded``); None when they match, when nothing was erased
    yet, or when no key is configured (erasure is refused then, and a cache holding
    erased numbers refuses promotional traffic: gateway.suppression.cache)."""
    if hasher is None or recorded is None or recorded == hasher.fingerprint:
        return None
    return (f"storage.hash_key is not the key of the erasures already made (its fingerprint "
            f"{hasher.fingerprint} differs from the ledger's {recorded}): the numbers erased "
            f"before would no longer be recognised, and people who opted out would get "
            f"promotional messages again; restore the original key")


def hasher_for(hash_key: str) -> NumberHasher | None:
    """The hasher of ``storage.hash_key`` (already read from ``hash_key_file`` and
    checked by the configuration); None when no key is configured."""
    return NumberHasher(hash_key.encode()) if hash_key else None
