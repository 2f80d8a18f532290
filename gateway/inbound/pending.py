"""Per-account Redis queues of deliver_sm (receipts and MOs) waiting for a receiver bind.

Keys, for account A::

    dq:{A}        list, oldest at the head: entries waiting
    dq:{A}:p      list: entries a flush has claimed and not yet seen acknowledged
    dq:{A}:lock   string: the flushing instance's token (SET NX PX), so two gateways
                  do not deliver the same entries twice

An entry is one version octet (1), the enqueue time in milliseconds since the
epoch (8 octets, big-endian) and the deliver_sm as SMPP encodes it (sequence
0): compact, and every field and TLV comes back byte-exact.

Bounds: ``push`` trims the list to ``max_count`` from the head (the oldest go
first) and says how many it dropped; entries older than ``max_age`` are dropped
when a flush meets them. Both keys expire ``max_age`` after their last write,
so the queue of an account that never binds again goes away by itself.

At-least-once: a flush moves entries to ``dq:{A}:p`` with LMOVE before sending
them and removes each only once its deliver_sm_resp came back OK. Entries left
there by a crash or a lost receiver are the first ones the next flush sends.
"""

from __future__ import annotations

import struct
import time
import uuid
from dataclasses import dataclass
from typing import cast

from redis.asyncio import Redis

from smpp.codec import decode, encode
from smpp.errors import PduError
from smpp.pdu import DeliverSm

__all__ = ["PendingQueue", "QueuedPdu", "decode_entry", "encode_entry"]

_HEADER = struct.Struct(">BQ")
_VERSION = 1

# Compare-and-extend / compare-and-delete: only the holder touches its lock.
_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


@dataclass(frozen=True, slots=True)
class QueuedPdu:
    """One entry as stored (``raw``) and as read back."""

    raw: bytes
    enqueued_ms: int
    pdu: DeliverSm | None  # None: an entry this version cannot read (dropped at flush)


def encode_entry(pdu: DeliverSm, now_ms: int) -> bytes:
    """The stored form of ``pdu`` queued at ``now_ms``."""
    return _HEADER.pack(_VERSION, now_ms) + encode(pdu)


def decode_entry(raw: bytes) -> QueuedPdu:
    """Read a stored entry; an unreadable one comes back with ``pdu`` None."""
    if len(raw) < _HEADER.size:
        return QueuedPdu(raw, 0, None)
    version, enqueued_ms = _HEADER.unpack_from(raw)
    if version != _VERSION:
        return QueuedPdu(raw, enqueued_ms, None)
    try:
        pdu = decode(raw[_HEADER.size:])
    except PduError:
        return QueuedPdu(raw, enqueued_ms, None)
    return QueuedPdu(raw, enqueued_ms, pdu if isinstance(pdu, DeliverSm) else None)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class PendingQueue:
    """The pending deliver_sm queues of every account (Redis client with bytes responses)."""

    def __init__(self, redis: Redis, max_count: int, max_age: float,
                 lock_ttl: float = 30.0) -> None:
        self.redis = redis
        self.max_count = max_count
        self.max_age_ms = max(1, int(max_age * 1000))
        self.lock_ttl_ms = max(1, int(lock_ttl * 1000))
        self._extend = redis.register_script(_EXTEND)
        self._release = redis.register_script(_RELEASE)

    @staticmethod
    def key(account: str) -> str:
        return f"dq:{account}"

    @staticmethod
    def processing_key(account: str) -> str:
        return f"dq:{account}:p"

    async def push(self, account: str, pdus: list[DeliverSm],
                   notice: tuple[str, bytes] | None = None) -> tuple[int, int]:
        """Append ``pdus``; return (entries dropped for the count bound, depth after).

        ``notice``: (channel, message) published in the same transaction, so other
        processes learn of the entries no sooner and no later than they exist
        (gateway/inbound/notices.py).
        """
        key = self.key(account)
        stamp = now_ms()
        pipe = self.redis.pipeline(transaction=True)
        pipe.rpush(key, *(encode_entry(pdu, stamp) for pdu in pdus))
        pipe.ltrim(key, -self.max_count, -1)
        pipe.pexpire(key, self.max_age_ms)
        pipe.llen(self.processing_key(account))
        if notice is not None:
            pipe.publish(*notice)
        length, _, _, processing, *_ = await pipe.execute()
        dropped = max(0, int(length) - self.max_count)
        return dropped, int(length) - dropped + int(processing)

    async def depth(self, account: str) -> int:
        """Entries waiting or claimed for ``account``."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.llen(self.key(account))
        pipe.llen(self.processing_key(account))
        waiting, processing = await pipe.execute()
        return int(waiting) + int(processing)

    # --- flushing (only with the lock held) -------------------------------------------

    async def lock(self, account: str) -> str | None:
        """Take the account's flush lock; its token, or None if another flush holds it."""
        token = uuid.uuid4().hex
        ok = await self.redis.set(f"dq:{account}:lock", token, nx=True, px=self.lock_ttl_ms)
        return token if ok else None

    async def extend(self, account: str, token: str) -> bool:
        """Keep holding the lock for another lock_ttl; False if it was lost meanwhile."""
        return bool(await self._extend(keys=[f"dq:{account}:lock"],
                                       args=[token, self.lock_ttl_ms]))

    async def unlock(self, account: str, token: str) -> None:
        await self._release(keys=[f"dq:{account}:lock"], args=[token])

    async def claim(self, account: str, count: int) -> list[QueuedPdu]:
        """The ``count`` oldest entries, moved to the processing list first if not there yet."""
        processing = self.processing_key(account)
        held = int(await self.redis.llen(processing))
        if held < count:
            pipe = self.redis.pipeline(transaction=False)
            for _ in range(count - held):
                pipe.lmove(self.key(account), processing, "LEFT", "RIGHT")
            pipe.pexpire(processing, self.max_age_ms)
            await pipe.execute()
        raws = cast(list[bytes], await self.redis.lrange(processing, 0, count - 1))
        return [decode_entry(bytes(raw)) for raw in raws]

    async def settle(self, account: str, done: list[bytes], retry: list[bytes]) -> None:
        """Remove ``done`` entries from the processing list; move ``retry`` ones to the tail."""
        if not done and not retry:
            return
        processing = self.processing_key(account)
        pipe = self.redis.pipeline(transaction=True)
        # cast: redis-py types values as str, bytes go through as they are.
        for raw in done:
            pipe.lrem(processing, 1, cast(str, raw))
        for raw in retry:
            pipe.lrem(processing, 1, cast(str, raw))
            pipe.rpush(self.key(account), raw)
        if retry:
            pipe.pexpire(self.key(account), self.max_age_ms)
        await pipe.execute()

    def expired(self, entry: QueuedPdu, now: int | None = None) -> bool:
        """Whether ``entry`` is past max_age (or unreadable, which no flush can deliver)."""
        if entry.pdu is None:
            return True
        return (now if now is not None else now_ms()) - entry.enqueued_ms > self.max_age_ms
