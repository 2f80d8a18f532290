"""The suppression cache: who opted out of what, in Redis, about ten bytes per number.

The ledger is the system of record; this is its hot copy for the MT path. It
answers "is (account, number) suppressed?" for a whole loop tick in one round
trip, knows whether it is complete, and can be rebuilt from the ledger.

**Layout.** Everything lives under a *generation* ``G`` (8 random hex digits)::

    {sp}:ready       "G:bits"  present = generation G is complete (the marker)
    {sp}:build       "G:bits"  a rebuild is loading G (also its lock: SET NX PX, renewed)
    {sp}:builder     "I:nonce" who holds that lock: instance I, in one life of it
    {sp}:G:<bucket>  intset    the numbers; 2**bits buckets shared by every scope
    {sp}:G:s         set       "scope\\0number" for numbers that are not E.164 digits
    {sp}:G:h         set       "scope\\0h:<hmac>": erased numbers, by their keyed hash
    {sp}:G:scopes    hash      scope (account system_id) -> id 1, 2, ...; "*" is 0
    {sp}:G:n         int       members of G, kept by every write
    {sp}:G:base      int       ledger count - members once G was built (see calibrate)
    {sp}:G:tomb      set       opt-ins written while G loads, re-applied at the switch

Every key carries the hash tag ``{sp}``: on a Redis Cluster they all live in one
slot, so a lookup (one script over the whole set) runs on one shard. Cluster
spreads stopgate's other keys over the shards and fails this one over to a
replica; it does not spread the suppression set itself (README: "Redis: one
server, Sentinel or Cluster").

A number in E.164 (``+`` optional, 1-15 digits, no leading 0) is an integer
``n < 2**50``. ``m = n * K mod 2**50`` with K odd is a bijection (no two
numbers collide) that spreads neighbouring numbers over all buckets. The top
``bits`` bits of ``m`` pick the bucket, the rest is the value (below 2**38),
and the member is ``scope_id * 10**12 + value`` (scopes up to 9,223,371: the
member is an int64). Scopes live in the member, not the key, so every scope
shares the same buckets: a small account's opt-outs cost no more per number
than the operator-wide list.

Each generation chooses its bucket count when it is built, from the ledger's
count, so buckets hold 64-128 numbers: 8-byte intsets, well under
``set-max-intset-entries`` (512), at 2**12 to 2**22 buckets (2**22 serves
half a billion numbers). The marker carries ``bits``, so any instance reads any
generation. When write-through has grown (or shrunk) a generation far past
that, ``relayout_bits`` says so and a keeper rebuilds it online. Measured on
Redis 6.2 with bench/suppression_memory_bench.py: see the figures there.

**Erased numbers** (GDPR erasure, gateway.suppression.erasure) are held by their keyed
hash, never the number (the intset form above is a bijection: the number could be read
back). While a generation holds any (``{sp}:G:h`` exists), a lookup must also send each
number's hash: the script answers 2 to a lookup without them, and says in its reply
whether they are still needed, so an instance hashes only while erased numbers exist
(about a microsecond a number) and learns of the first erasure on another instance at
its next lookup.

**Atomicity.** Lookups, writes and every rebuild step are Lua scripts
(gateway/suppression/lua.py): a lookup reads the marker and all its members in
one EVALSHA, so it never mixes generations. The ledger is read as
gateway/suppression/source.py says (blocking or async form, never on the loop).

**Rebuild.** The lock (``{sp}:build``) is taken, and unless the rebuild is
online the marker dropped, in one step; a second instance waits for the marker
instead. A lock held by an earlier life of the same instance (same machine,
data_dir and worker slot: it was killed while rebuilding) is taken over at
once rather than waited out for its lease. Only then is the ledger read, so
its snapshot holds every opt-out committed before. Write-through goes to the
ready generation *and* to the one being built: an opt-out written during the
load is never lost, and an opt-in written during the load is kept as a
tombstone and re-applied at the switch, so the loader (whose snapshot may
predate it) cannot resurrect it. Old generations are swept afterwards. Redis
must not evict these keys (``maxmemory-policy noeviction``, the default): a
bucket lost under a present marker would let opted-out numbers through.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from gateway.observability.logs import fields
from gateway.storage.redis_client import scan_keys
from gateway.suppression import lua
from gateway.suppression.source import (
    AsyncSuppressionSource,
    LedgerSource,
    SuppressionSource,
    ledger_batches,
    ledger_count,
)

__all__ = [
    "AsyncSuppressionSource",
    "CacheNotReady",
    "CacheState",
    "LedgerSource",
    "RebuildLost",
    "SuppressionCache",
    "SuppressionSource",
    "bits_for",
    "encode_number",
    "relayout_bits",
]

log = logging.getLogger("stopgate.suppression")

Pair = tuple[str, str]

#: Every key of the cache starts with this hash tag: one Cluster slot (see the docstring).
PREFIX = "{sp}:"
READY_KEY = PREFIX + "ready"
BUILD_KEY = PREFIX + "build"
#: KEYS of every script: a Cluster client routes it to the slot of {sp}.
_KEYS = [READY_KEY]
MIN_BITS, MAX_BITS = 12, 22
#: A generation is built with 64-128 numbers a bucket, and re-laid out past these.
FILL, MAX_FILL, MIN_FILL = 128, 400, 16
_MASK = (1 << 50) - 1  # 10**15 - 1 < 2**50: every E.164 number
_MIX = 0x278DDE6E5FD29  # odd, about 2**50 / golden ratio: multiplicative hashing
_MAX_DIGITS = 15


class CacheNotReady(Exception):
    """The cache is not known to be complete: the caller must fail closed."""


class RebuildLost(RuntimeError):
    """This instance's rebuild lease lapsed or was taken away; another rebuild takes over."""


@dataclass(frozen=True, slots=True)
class CacheState:
    """What Redis says about the cache."""

    ready: str | None  # marker "G:bits" of the complete generation
    members: int  # members of the ready generation
    base: int | None  # its ledger-count baseline, once recorded
    building: str | None  # marker of the generation being loaded

    @property
    def bits(self) -> int | None:
        return int(self.ready.rpartition(":")[2]) if self.ready else None


def bits_for(count: int) -> int:
    """Bucket bits for a generation of ``count`` numbers: 64-128 numbers a bucket."""
    return min(MAX_BITS, max(MIN_BITS, (count // FILL).bit_length()))


def relayout_bits(state: CacheState) -> int | None:
    """New bucket bits if the ready generation has outgrown (or outshrunk) its buckets."""
    bits = state.bits
    if bits is None:
        return None
    fill = state.members / 2**bits
    wanted = bits_for(state.members)
    if wanted != bits and (fill > MAX_FILL or (fill < MIN_FILL and bits > MIN_BITS)):
        return wanted
    return None


@lru_cache(maxsize=1 << 15)  # the numbers of the current campaigns; ~300 B an entry
def encode_number(number: str, bits: int) -> tuple[str, str]:
    """(bucket, value) of an E.164 number for 2**bits buckets; ("a", text) for anything else.

    A leading "+" is dropped, so "+33612345678" and "33612345678" are the same number.
    """
    digits = number[1:] if number[:1] == "+" else number
    if (0 < len(digits) <= _MAX_DIGITS and digits.isdigit() and digits.isascii()
            and digits[0] != "0"):
        mixed = (int(digits) * _MIX) & _MASK
        value_bits = 50 - bits
        return str(mixed >> value_bits), str(mixed & ((1 << value_bits) - 1))
    return "a", digits


_encode_once = encode_number.__wrapped__  # a rebuild sees each number once: skip the cache


def _pack(
    args: list[str], pairs: Iterable[Pair], encode: Callable[[str, int], tuple[str, str]],
    bits: int,
) -> list[str]:
    """``args`` + the items argument + the scopes and texts it points at (see suppression_lua)."""
    slot = len(args)
    args.append("")
    scopes: dict[str, str] = {}
    items: list[str] = []
    for scope, number in pairs:
        where = scopes.get(scope)
        if where is None:
            args.append(scope)
            where = scopes[scope] = str(len(args))  # Lua's ARGV is 1-based
        bucket, value = encode(number, bits)
        if bucket == "a":
            args.append(value)
            value = str(len(args))
        items.append(f"{where},{bucket},{value}")
    args[slot] = " ".join(items)
    return args


def _text(value: Any) -> str | None:
    if value is None or value is False:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


class SuppressionCache:
    """Suppression membership by (scope, number) in Redis; see the module docstring.

    ``buckets`` fixes the bucket count of the generations this instance builds
    (a power of two); by default it follows the ledger's size.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        buckets: int | None = None,
        chunk: int = 2000,
        lease: float = 30.0,
        poll: float = 0.2,
        owner: str = "",
        hasher: Callable[[str], str] | None = None,
    ) -> None:
        if buckets is not None:
            bits = buckets.bit_length() - 1
            if buckets != 1 << bits or not MIN_BITS <= bits <= MAX_BITS:
                raise ValueError(f"buckets must be a power of two from 2**{MIN_BITS} "
                                 f"to 2**{MAX_BITS}, not {buckets}")
        self.redis = redis
        self.buckets = buckets
        self.chunk = chunk
        self.lease_ms = max(1000, int(lease * 1000))
        self.poll = poll
        #: The instance rebuilding (gateway.components.instance_id) and this life of it.
        self.owner = owner
        self._life = f"{owner}:{secrets.token_hex(4)}" if owner else ""
        #: A write-through failed here: the cache may miss an entry the ledger has.
        self.dirty = False
        #: Set on any Redis error, so a keeper re-checks at once.
        self.trouble = asyncio.Event()
        # The ready generation's bucket bits as last seen: items are split for it here, and
        # re-split by the scripts (more slowly) for a generation with other bits.
        self._bits = MIN_BITS if buckets is None else buckets.bit_length() - 1
        #: A number's erasure hash (``storage.hash_key``); None: erasure not configured.
        self.hasher = hasher
        #: The ready generation held erased numbers when last asked: send hashes.
        self._hashing = False
        self._lookup = redis.register_script(lua.LOOKUP)
        self._write = redis.register_script(lua.WRITE)
        self._acquire = redis.register_script(lua.ACQUIRE)
        self._renew = redis.register_script(lua.RENEW)
        self._release = redis.register_script(lua.RELEASE)
        self._finalize = redis.register_script(lua.FINALIZE)
        self._state = redis.register_script(lua.STATE)
        self._sweep = redis.register_script(lua.SWEEP)

    # --- the hot path -------------------------------------------------------------------

    async def lookup_many(self, items: Sequence[Pair]) -> list[bool]:
        """For each (account, number): opted out of that account or of "*"? One round trip.

        Raises CacheNotReady when the cache is not known to be complete, and lets
        Redis errors through: either way the caller fails closed.
        """
        if self.dirty:
            raise CacheNotReady("a write-through failed here; the cache may miss an opt-out")
        if not items:
            return []
        args = _pack([str(self._bits), self._hashes(items) if self._hashing else ""], items,
                     encode_number, self._bits)
        with self._redis_errors():
            reply = await self._lookup(keys=_KEYS, args=args)
        if reply == 2:  # erased numbers are there now: ask again with the hashes
            args[1] = self._hashes(items)
            self._hashing = True
            with self._redis_errors():
                reply = await self._lookup(keys=_KEYS, args=args)
        if isinstance(reply, int):
            raise CacheNotReady("suppression cache rebuild in progress" if reply
                                else "suppression cache empty (flushed, restarted or not built)")
        text = reply if isinstance(reply, bytes) else str(reply).encode()
        bits, _, flags = text.partition(b":")
        self._hashing = bits[-1:] == b"h"
        self._bits = int(bits.rstrip(b"h"))
        return [flag == 49 for flag in flags]  # b"1"

    def _hashes(self, items: Sequence[Pair]) -> str:
        if self.hasher is None:
            # Fail closed: without the key, an erased number cannot be recognised.
            raise CacheNotReady("the suppression cache holds erased numbers and this "
                                "instance has no storage.hash_key to recognise them")
        hasher = self.hasher
        return " ".join([hasher(number) for _scope, number in items])

    async def lookup(self, account: str, number: str) -> bool:
        """Is ``number`` opted out of ``account`` or of every account?"""
        return (await self.lookup_many(((account, number),)))[0]

    async def is_ready(self) -> bool:
        """True if Redis holds a complete generation and no write-through failed here."""
        with self._redis_errors():
            ready = await self.redis.exists(READY_KEY)
        return bool(ready) and not self.dirty

    # --- write-through (after the ledger commit) ----------------------------------------

    async def add(self, scope: str, number: str) -> None:
        """Record an opt-out of ``scope`` ("*" for every account)."""
        await self.add_many(((scope, number),))

    async def remove(self, scope: str, number: str) -> None:
        """Record an opt-in (re-consent) for ``scope``."""
        await self.remove_many(((scope, number),))

    async def add_many(self, pairs: Iterable[Pair]) -> None:
        """Record many opt-outs, ``chunk`` pairs per atomic step."""
        await self._write_through("add", pairs)

    async def remove_many(self, pairs: Iterable[Pair]) -> None:
        """Record many opt-ins, ``chunk`` pairs per atomic step."""
        await self._write_through("remove", pairs)

    async def _write_through(self, mode: str, pairs: Iterable[Pair]) -> None:
        try:
            for args in self._chunks(mode, "", self._bits, pairs, encode_number):
                with self._redis_errors():
                    await self._write(keys=_KEYS, args=args)
        except BaseException:
            # The ledger has it and Redis may not: refuse lookups here until a rebuild.
            self.dirty = True
            self.trouble.set()
            raise

    def _chunks(
        self, mode: str, marker: str, bits: int, pairs: Iterable[Pair],
        encode: Callable[[str, int], tuple[str, str]],
    ) -> Iterator[list[str]]:
        pairs = iter(pairs)
        while chunk := list(itertools.islice(pairs, self.chunk)):
            yield _pack([mode, marker, str(bits)], chunk, encode, bits)

    # --- state ---------------------------------------------------------------------------

    async def state(self) -> CacheState:
        """The markers, members and baseline in Redis, in one step."""
        with self._redis_errors():
            ready, members, base, building = await self._state(keys=_KEYS)
        base_text = _text(base)
        return CacheState(_text(ready), int(members), None if base_text is None else int(base_text),
                          _text(building))

    async def count(self) -> int | None:
        """Members of the ready generation (None when not ready): the suppressed-numbers gauge."""
        state = await self.state()
        return state.members if state.ready is not None else None

    async def invalidate(self, reason: str) -> None:
        """Drop the marker and any rebuild's lease: every instance fails closed until rebuilt."""
        log.warning("suppression cache invalidated", extra=fields(
            "suppression_cache_invalidated", reason=reason))
        with self._redis_errors():
            await self.redis.delete(READY_KEY, BUILD_KEY)
        # Only now: while the delete has not happened (Redis down, still loading its AOF),
        # a marker restored from before may still say "complete" to every instance.
        self.dirty = False

    # --- rebuild ------------------------------------------------------------------------

    async def rebuild(
        self,
        ledger: LedgerSource,
        *,
        progress: Callable[[int, int], None] | None = None,
        batch: int = 10_000,
        online: bool = False,
        unless_ready: bool = False,
    ) -> int:
        """Load a new generation from the ledger and make it the ready one.

        ``online``: the ready generation keeps answering lookups meanwhile (a
        re-layout); otherwise the marker is dropped first (the cache is not
        trusted). ``unless_ready``: the caller found no ready generation; if one is
        there by the time the rebuild would start (another instance finished one), keep
        it. Returns the (scope, number) pairs read from the ledger, or 0 if another
        instance was already rebuilding (after waiting for it) or had just finished.
        """
        total = await ledger_count(ledger)
        bits = bits_for(total) if self.buckets is None else self.buckets.bit_length() - 1
        while True:
            marker = f"{secrets.token_hex(4)}:{bits}"
            with self._redis_errors():
                acquired = await self._acquire(keys=_KEYS, args=[
                    marker, self.lease_ms, "0" if online else "1", self.owner, self._life,
                    "1" if unless_ready else "0"])
            if acquired == 3:
                log.info("suppression cache: another instance has just rebuilt it",
                         extra=fields("suppression_rebuild_skipped"))
                return 0
            if acquired == 2:
                log.warning("suppression cache: taking over the rebuild an earlier life of "
                            "this instance left unfinished", extra=fields(
                                "suppression_rebuild_taken_over", instance=self.owner))
            if acquired:
                break
            log.info("suppression cache: another instance is rebuilding; waiting for it",
                     extra=fields("suppression_rebuild_waiting"))
            if await self._wait_for_other_rebuild():
                return 0
        if not online:
            self.dirty = False  # the ledger read below starts after every earlier commit
        renewal = asyncio.create_task(self._keep_lease(marker))
        loaded = 0
        try:
            log.info("suppression cache rebuild started", extra=fields(
                "suppression_rebuild_started", generation=marker, entries=total,
                online=online))
            if progress is not None:
                progress(0, total)
            async with contextlib.aclosing(ledger_batches(ledger, batch)) as batches:
                async for rows in batches:
                    for args in self._chunks("load", marker, bits, rows, _encode_once):
                        with self._redis_errors():
                            await self._write(keys=_KEYS, args=args)
                    loaded += len(rows)
                    if progress is not None:
                        progress(loaded, max(total, loaded))
            with self._redis_errors():
                members = int(await self._finalize(keys=_KEYS, args=[marker]))
        except BaseException:
            with contextlib.suppress(RedisError):
                await self._release(keys=_KEYS, args=[marker])
            raise
        finally:
            renewal.cancel()
        log.info("suppression cache ready", extra=fields(
            "suppression_cache_ready", generation=marker, entries=loaded, members=members))
        try:
            await self.calibrate(ledger, marker)
            await self.sweep()
        except RedisError as exc:  # the cache is ready; a keeper calibrates later
            log.warning("suppression cache: calibration after the rebuild failed",
                        extra=fields("suppression_calibrate_failed", error=str(exc)))
        return loaded

    async def calibrate(self, ledger: LedgerSource, marker: str, tries: int = 3) -> None:
        """Record ledger count - members for generation ``marker`` once they hold still.

        Non-zero when the ledger holds aliases (``+33...`` and ``33...``) that are
        one member here. Keepers compare later counts against it to notice writes
        that reached the ledger but never Redis (a crash in between, an AOF that
        lost its last second).
        """
        previous: int | None = None
        for _ in range(tries):
            in_ledger = await ledger_count(ledger)
            state = await self.state()
            if state.ready != marker:
                return
            diff = in_ledger - state.members
            if diff == previous:
                if diff:
                    log.warning("suppression ledger holds more entries than the cache "
                                "(aliases of the same numbers?)", extra=fields(
                                    "suppression_cache_baseline", difference=diff))
                with self._redis_errors():
                    await self.redis.set(f"{PREFIX}{marker.split(':')[0]}:base", diff, nx=True)
                return
            previous = diff
            await asyncio.sleep(self.poll)

    async def sweep(self) -> int:
        """Delete the keys of generations that are neither ready nor being built."""
        removed = 0
        with self._redis_errors():
            async for keys in scan_keys(self.redis, PREFIX + "*", 1000):
                removed += int(await self._sweep(keys=_KEYS, args=keys))
        return removed

    async def _wait_for_other_rebuild(self) -> bool:
        """True once another instance's rebuild completes; False if its lease lapses."""
        while True:
            state = await self.state()
            if state.building is None:
                return state.ready is not None
            await asyncio.sleep(self.poll)

    async def _keep_lease(self, marker: str) -> None:
        while True:
            await asyncio.sleep(self.lease_ms / 3000)
            try:
                if not await self._renew(keys=_KEYS, args=[marker, self.lease_ms]):
                    return  # lost: the next load step or the switch says so
            except RedisError:
                continue

    @contextlib.contextmanager
    def _redis_errors(self) -> Iterator[None]:
        """Map the scripts' errors to ours; flag any other Redis error for the keeper."""
        try:
            yield
        except ResponseError as exc:
            if str(exc).startswith("STOPGATE-LOST"):
                raise RebuildLost(f"the rebuild lease of {str(exc).split()[-1]} was lost") from exc
            self.trouble.set()
            raise
        except RedisError:
            self.trouble.set()
            raise
