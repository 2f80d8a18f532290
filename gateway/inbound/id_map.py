"""Carrier message id -> (account, sender-visible ids), in Redis, for routing receipts back.

One Redis string per carrier message id, written with its TTL in the same SET::

    m:{upstream}:{canonical carrier id}  ->  b"{account}\\0{sender id}[\\0{sender id}...]"

Scoped by upstream name because two carriers may hand out the same ids.
Compact on purpose (millions of live entries): a short prefix, no hash
wrapper, the value as NUL-separated strings. Measured on Redis 6.2 with
upstream "carrier-a", account "acme" and a 16-hex sender id: MEMORY USAGE 87 B
(10-digit decimal carrier id) to 119 B (36-character UUID); counting the
expiry table and hash-table slack, used_memory grows by 150-180 B per entry,
so ten million live ids take about 1.5-1.8 GB.

**Id forms.** Carriers disagree with themselves: the submit_sm_resp may give
``"0A1B2C"`` and the receipt ``"662316"`` (the same number in decimal), or pad
with zeros. Ids are stored in canonical form (lowercase, leading zeros
stripped, ``"0"`` for all zeros) and a receipt's id is looked up under every
form it could have been given in, in one MGET; the first hit wins, in this order:

1. its canonical form:                     ``"000123"`` -> ``"123"``, ``"7B"`` -> ``"7b"``
2. if all decimal digits, its value in hex: ``"123"``    -> ``"7b"``
3. if all hex digits, its value in decimal: ``"7b"``     -> ``"123"``, ``"123"`` -> ``"291"``

So a carrier answering ``7B`` and reporting ``123`` (or ``0000000123``) is
matched, and the other way round. The exact form wins over a conversion, so
a lookup strays onto another message only if the receipt's own id is gone
(expired or never stored) while the same upstream has a live message whose id
reads as the same number in the other base.

**Multipart.** ``remember`` pairs carrier ids with sender ids in order; a
carrier id beyond the last sender id maps to the last sender id (a footer that
needed another part), and sender ids beyond the last carrier id all ride on
the last carrier id (parts merged), so every carrier receipt routes and every
sender part gets a receipt.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeAlias

from redis.asyncio import Redis

from gateway.inbound.set_many import SetMany
from gateway.storage.redis_client import mget

__all__ = ["IdMap", "IdMapEntry", "canonical_id", "lookup_forms", "pair_ids"]

#: (upstream, carrier id, account, sender id or ids) for ``IdMap.remember_many``.
IdMapEntry: TypeAlias = tuple[str, str, str, str | Sequence[str]]

_DECIMAL = frozenset("0123456789")
_HEX = frozenset("0123456789abcdef")
# Ids longer than this are no numbers we should convert (and int() on them costs).
_MAX_NUMERIC_DIGITS = 40


def canonical_id(carrier_id: str) -> str:
    """Lowercase, surrounding space and leading zeros stripped (``"0"`` for all zeros)."""
    text = carrier_id.strip().lower()
    stripped = text.lstrip("0")
    return stripped if stripped or not text else "0"


def lookup_forms(carrier_id: str) -> list[str]:
    """The canonical ids a receipt's id may have been stored under, most likely first."""
    canonical = canonical_id(carrier_id)
    forms = [canonical]
    if not canonical or len(canonical) > _MAX_NUMERIC_DIGITS:
        return forms
    chars = set(canonical)
    if chars <= _DECIMAL:
        forms.append(format(int(canonical), "x"))
    if chars <= _HEX:
        forms.append(str(int(canonical, 16)))
    return list(dict.fromkeys(forms))  # "0".."9" read the same in both bases


def _key(upstream: str, canonical: str) -> bytes:
    return f"m:{upstream}:{canonical}".encode()


def pair_ids(
    carrier_ids: Sequence[str], sender_ids: Sequence[str]
) -> list[tuple[str, tuple[str, ...]]]:
    """Carrier id -> sender ids, as the module docstring's Multipart paragraph says."""
    if not carrier_ids or not sender_ids:
        return []
    pairs: list[tuple[str, tuple[str, ...]]] = []
    last = len(carrier_ids) - 1
    for index, carrier_id in enumerate(carrier_ids):
        if index < last:
            pairs.append((carrier_id, (sender_ids[min(index, len(sender_ids) - 1)],)))
        else:
            pairs.append((carrier_id, tuple(sender_ids[index:]) or (sender_ids[-1],)))
    return pairs


class IdMap:
    """The carrier id map in Redis (a client with ``decode_responses=False``)."""

    def __init__(self, redis: Redis, ttl: float) -> None:
        self.redis = redis
        self.ttl_ms = max(1, int(ttl * 1000))
        self._set_many = SetMany(redis)

    async def remember(
        self, upstream: str, carrier_ids: Sequence[str], account: str, sender_ids: Sequence[str]
    ) -> None:
        """Map one message's carrier ids to its sender-visible ids (one round trip)."""
        await self.remember_many(
            (upstream, carrier_id, account, senders)
            for carrier_id, senders in pair_ids(carrier_ids, sender_ids)
        )

    async def remember_many(self, entries: Iterable[IdMapEntry]) -> None:
        """Store many (upstream, carrier id, account, sender id(s)) in one command."""
        items = []
        for upstream, carrier_id, account, senders in entries:
            ids = (senders,) if isinstance(senders, str) else tuple(senders)
            value = "\0".join((account, *ids)).encode()
            items.append((_key(upstream, canonical_id(carrier_id)), value))
        await self._set_many(items, self.ttl_ms)

    async def lookup(
        self, upstream: str, carrier_ids: Sequence[str]
    ) -> tuple[str, tuple[str, ...]] | None:
        """(account, sender ids) for the first of ``carrier_ids`` any of whose forms is known."""
        keys: list[bytes] = []
        for carrier_id in carrier_ids:
            keys.extend(_key(upstream, form) for form in lookup_forms(carrier_id))
        keys = list(dict.fromkeys(keys))
        if not keys:
            return None
        for value in await mget(self.redis, keys):
            if value:
                text = value.decode() if isinstance(value, bytes) else str(value)
                account, *senders = text.split("\0")
                if senders:
                    return account, tuple(senders)
        return None
