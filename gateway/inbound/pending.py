"""Per-account Redis queues of deliver_sm (receipts and MOs) waiting for a receiver bind.

Keys, for account A (the braces are literal: a Redis Cluster hash tag, so an
account's three keys share a slot and a push, claim or settle touches one shard)::

    dq:{A}        list, oldest at the head: entries waiting
    dq:{A}:p      list: entries a flush has claimed and not yet seen acknowledged
    dq:{A}:lock   string: the flushing instance's token (SET NX PX), so two gateways
                  do not deliver the same entries twice

Earlier versions named them ``dq:A`` and ``dq:A:p``. ``adopt_legacy`` moves what
such names still hold (an upgrade with receipts in flight, or an instance of
the previous version still running during a rolling upgrade) to the head of the
new queue, claimed entries first: the router runs it at start and with every
periodic flush. Not on a Cluster, where the old names never worked.

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

from gateway.storage.redis_client import is_cluster
from smpp.codec import decode, encode
from smpp.errors import PduError
from smpp.pdu import DeliverSm

__all__ = ["LOCK_TTL", "PendingQueue", "QueuedPdu", "decode_entry", "encode_entry"]

_HEADER = struct.Struct(">BQ")
_VERSION = 1
#: Seconds a flush holds the account's lock past its last batch. A batch (claim, the
#: receivers' answers within the router's 5 s delivery timeout, settle) ends well within
#: it; a gateway that dies mid-flush holds the queue up to this long (others look again
#: then: gateway/inbound/router.py).
LOCK_TTL = 15.0

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


# Push: the entries, the count bound, the expiry, the depth, and the notice, in one
# atomic step (PUBLISH inside a script reaches every node's subscribers on a Cluster).
# KEYS: waiting, processing. ARGV: max count, max age ms, channel ('' = none), notice,
# entries. Returns {length after the push (before the trim), processing length}.
_PUSH = """
local length = 0
for i = 5, #ARGV, 1000 do
  length = redis.call('RPUSH', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[1]), -1)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local processing = redis.call('LLEN', KEYS[2])
if ARGV[3] ~= '' then redis.call('PUBLISH', ARGV[3], ARGV[4]) end
return {length, processing}
"""

# An earlier version's queue moved to the head of today's, claimed entries first.
# KEYS: old waiting, old processing, waiting. ARGV: max age ms. Returns entries moved.
_ADOPT = """
local old = redis.call('LRANGE', KEYS[2], 0, -1)
for _, entry in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do old[#old + 1] = entry end
for i = #old, 1, -1 do redis.call('LPUSH', KEYS[3], old[i]) end
if #old > 0 then
  redis.call('PEXPIRE', KEYS[3], ARGV[1])
  redis.call('DEL', KEYS[1], KEYS[2])
end
return #old
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
                 lock_ttl: float = LOCK_TTL) -> None:
        self.redis = redis
        self.max_count = max_count
        self.max_age_ms = max(1, int(max_age * 1000))
        self.lock_ttl_ms = max(1, int(lock_ttl * 1000))
        self._extend = redis.register_script(_EXTEND)
        self._release = redis.register_script(_RELEASE)
        self._push = redis.register_script(_PUSH)
        self._adopt = redis.register_script(_ADOPT)

    @staticmethod
    def key(account: str) -> str:
        return f"dq:{{{account}}}"

    @staticmethod
    def processing_key(account: str) -> str:
        return f"dq:{{{account}}}:p"

    @staticmethod
    def lock_key(account: str) -> str:
        return f"dq:{{{account}}}:lock"

    async def adopt_legacy(self, account: str) -> int:
        """Move an earlier version's queue of ``account`` (``dq:A``, ``dq:A:p``) to the head
        of today's; entries moved (0 on a Cluster, where those names never worked)."""
        if is_cluster(self.redis):
            return 0
        return int(await self._adopt(
            keys=[f"dq:{account}", f"dq:{account}:p", self.key(account)],
            args=[self.max_age_ms]))

    async def push(self, account: str, pdus: list[DeliverSm],
                   notice: tuple[str, bytes] | None = None) -> tuple[int, int]:
        """Append ``pdus``; return (entries dropped for the count bound, depth after).

        ``notice``: (channel, message) published in the same transaction, so other
        processes learn of the entries no sooner and no later than they exist
        (gateway/inbound/notices.py).
        """
        stamp = now_ms()
        channel, message = notice if notice is not None else ("", b"")
        args: list[bytes | str | int] = [self.max_count, self.max_age_ms, channel, message]
        args.extend(encode_entry(pdu, stamp) for pdu in pdus)
        length, processing = await self._push(
            keys=[self.key(account), self.processing_key(account)], args=args)
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
        ok = await self.redis.set(self.lock_key(account), token, nx=True, px=self.lock_ttl_ms)
        return token if ok else None

    async def lock_remaining(self, account: str) -> float:
        """Seconds until the account's flush lock expires; 0 when nobody holds it."""
        return max(0, int(await self.redis.pttl(self.lock_key(account)))) / 1000

    async def extend(self, account: str, token: str) -> bool:
        """Keep holding the lock for another lock_ttl; False if it was lost meanwhile."""
        return bool(await self._extend(keys=[self.lock_key(account)],
                                       args=[token, self.lock_ttl_ms]))

    async def unlock(self, account: str, token: str) -> None:
        await self._release(keys=[self.lock_key(account)], args=[token])

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
