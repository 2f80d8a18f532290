"""Which gateway processes share this Redis, and each one's share of the total limits.

Carrier ``sessions`` and ``tps`` and account ``tps`` hold in total over every instance
(host) sharing one Redis, as they do over the worker processes of one instance. Every
process heartbeats its *member* name, ``<instance>/<slot>``, into one sorted set every
``INTERVAL`` seconds, scored by Redis's own clock (``TIME``, so hosts' clocks do not
matter); a member not seen for ``TTL`` seconds is dropped by the next heartbeat of anyone.

Shares. The live instances, sorted by name, are I; this instance is number ``rank`` among
them. Its share of an upstream's ``sessions`` is ``share(total, I, rank)`` (parts differ by
at most one and add up to the total, gateway.process.shares.share), split again over its
workers by slot exactly as ``server.workers`` does. ``tps`` shares are exact fractions
(``tps / I / workers``: never 0, so a limit below the number of processes still holds and
nobody is left unlimited). ``tps = 0`` (unlimited) stays unlimited.

No transient excess, as a protocol. A membership is named by its *signature* (a hash of
the sorted live members). A process

1. lowers at once every limit the new membership lowers (tps retuned, carrier sessions
   beyond the share retired: no new message starts on them, the ones under way finish,
   then they unbind), and, once that is done, *acknowledges* the signature in Redis;
2. raises a limit (opens sessions, raises tps) only once every live member has
   acknowledged that same signature, i.e. has already lowered its own.

So at every moment the sum is at most the total: a newcomer holds nothing until the
others have made room, and the others take up a leaver's share only after seeing it gone:
a process that stops leaves the set once its carrier sessions are closed (the others
take up its share on their next heartbeat); one that is killed is dropped after ``TTL``.

When Redis cannot be reached, a process keeps the shares it holds: if Redis is down for
everyone, the shares all keep adding up to the total. A process cut off from Redis while
the others still reach it is dropped by them after ``TTL`` and its share is taken up, so
the total can then be passed by that one process's share until it reaches Redis again
(then it is counted again and everyone lowers before anyone raises); it reports Redis
unreachable on /readyz meanwhile, so a load balancer drains it. A process that *starts*
without reaching Redis holds nothing (no carrier bind) until it does: it cannot know who
else holds the limits.

Names. Two live processes with one member name (two hosts with the same
``server.instance_id``) would merge into one member and double the limits; every process
writes a *life* next to its name (random per ``stopgate serve``, shared by the workers it
forks, so a restarted worker is its killed predecessor's successor at once). A process
that finds another life on its name looks again after ``1.5 x INTERVAL``: a name still
heartbeated by the other life is a duplicate, and the start fails (``DuplicateInstance``,
naming the key); a name nobody renewed (a predecessor killed, or a service restarted within
``TTL``) is taken over.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio as aioredis
from prometheus_client import Gauge

from gateway.config.model import Config
from gateway.limits import TokenBucket
from gateway.observability.logs import fields
from gateway.process.shares import share

__all__ = ["DuplicateInstance", "Membership", "Shares", "Totals", "member_shares"]

log = logging.getLogger("stopgate.instances")

#: Seconds between heartbeats, and after which a silent member is dropped.
INTERVAL = 1.0
TTL = 5.0
#: Keys, one hash tag: the script runs on a Redis Cluster.
MEMBERS = "{members}:live"     # sorted set: member -> last heartbeat (ms, Redis clock)
APPLIED = "{members}:applied"  # hash: member -> signature it has lowered its limits for
LIVES = "{members}:lives"      # hash: member -> the random id of its current life

_HEARTBEAT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
if #gone > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
  redis.call('HDEL', KEYS[2], unpack(gone))
  redis.call('HDEL', KEYS[3], unpack(gone))
end
local life = redis.call('HGET', KEYS[3], ARGV[1])
local seen = redis.call('ZSCORE', KEYS[1], ARGV[1])
if life and life ~= ARGV[2] and seen and tonumber(seen) > tonumber(ARGV[5]) then
  return {'taken', seen}
end
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ttl * 4) end
local members = redis.call('ZRANGE', KEYS[1], 0, -1)
local applied = redis.call('HMGET', KEYS[2], unpack(members))
return {'ok', members, applied}
"""

#: This ``stopgate serve``'s life: drawn at import, in the parent, before workers fork.
LIFE = os.urandom(8).hex()

_LEAVE = """
local life = redis.call('HGET', KEYS[3], ARGV[1])
if life == ARGV[2] then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('HDEL', KEYS[3], ARGV[1])
end
return 1
"""


class DuplicateInstance(RuntimeError):
    """Another live process heartbeats this process's member name."""

    def __init__(self, message: str, seen: int) -> None:
        super().__init__(message)
        #: When the other life last heartbeated it (ms, Redis clock).
        self.seen = seen


@dataclass(frozen=True, slots=True)
class Totals:
    """The limits that hold in total, as configured (before any split), and the workers."""

    sessions: Mapping[str, int]
    upstream_tps: Mapping[str, int]
    account_tps: Mapping[str, int]
    workers: int

    @classmethod
    def of(cls, config: Config) -> Totals:
        """From the configuration as written (a worker's own config holds its static share)."""
        return cls({u.name: u.sessions for u in config.upstreams},
                   {u.name: u.tps for u in config.upstreams},
                   {a.system_id: a.tps for a in config.accounts}, config.server.workers)


@dataclass(frozen=True, slots=True)
class Shares:
    """One process's part of every total: sessions per upstream, tps (0 = unlimited)."""

    sessions: Mapping[str, int]
    upstream_tps: Mapping[str, float]
    account_tps: Mapping[str, float]

    def lower(self, other: Shares) -> Shares:
        """The smaller of the two for every limit (unlimited is the largest)."""
        return Shares(
            {k: min(v, other.sessions.get(k, v)) for k, v in self.sessions.items()},
            {k: _min_rate(v, other.upstream_tps.get(k, v)) for k, v in self.upstream_tps.items()},
            {k: _min_rate(v, other.account_tps.get(k, v)) for k, v in self.account_tps.items()})


def _min_rate(a: float, b: float) -> float:
    if a <= 0:
        return b
    if b <= 0:
        return a
    return min(a, b)


def member_name(instance: str, slot: int) -> str:
    return f"{instance}/{slot}"


def member_shares(totals: Totals, members: list[str], instance: str, slot: int) -> Shares:
    """This process's shares under a membership (its own instance counted if missing)."""
    instances = sorted({m.rpartition("/")[0] for m in members} | {instance})
    count, rank = len(instances), instances.index(instance)
    workers = totals.workers

    def sessions(total: int) -> int:
        return share(share(total, count, rank), workers, slot)

    def rate(total: int) -> float:
        return total / count / workers if total > 0 else 0.0

    return Shares({k: sessions(v) for k, v in totals.sessions.items()},
                  {k: rate(v) for k, v in totals.upstream_tps.items()},
                  {k: rate(v) for k, v in totals.account_tps.items()})


class Carriers(Protocol):
    """What the membership tunes in the carrier pool (gateway.carriers.pool.UpstreamPool)."""

    def set_sessions(self, name: str, count: int) -> None: ...

    def set_tps(self, name: str, tps: float) -> None: ...

    def retired(self) -> bool:
        """No session lowered away is still bound."""
        ...


def signature(members: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(members)).encode()).hexdigest()[:16]


class Membership:
    """This process in the shared membership, and the shares it applies (module docstring)."""

    def __init__(self, redis: aioredis.Redis, totals: Totals, *, instance: str, slot: int,
                 carriers: Carriers, buckets: Mapping[str, TokenBucket],
                 interval: float = INTERVAL, ttl: float = TTL,
                 gauge: Gauge | None = None) -> None:
        self.redis = redis
        self.totals = totals
        self.instance = instance
        self.slot = slot
        self.member = member_name(instance, slot)
        self.carriers = carriers
        self.buckets = buckets
        self.interval = interval
        self.ttl = ttl
        self.life = LIFE
        #: What this process holds now: no session until a membership is known.
        self.held = Shares({k: 0 for k in totals.sessions},
                           {k: float(v) for k, v in totals.upstream_tps.items()},
                           {name: bucket.rate for name, bucket in buckets.items()})
        #: The live members seen last, and the signature this process has lowered for.
        self.members: list[str] = []
        self.applied = ""
        #: The last heartbeat found every member acknowledging this process's membership:
        #: it holds its whole share.
        self.settled = False
        self.redis_ok: bool | None = None
        #: stopgate_instances: the live instances in ``members``.
        self.gauge = gauge
        self._task: asyncio.Task[None] | None = None
        #: Set by stop(): the heartbeat loop ends at its next turn even if the cancel
        #: that stop() sends is lost on the way (a library that catches it).
        self._stopping = False
        self._heartbeat = redis.register_script(_HEARTBEAT)
        self._leave = redis.register_script(_LEAVE)

    def instances(self) -> tuple[int, int | None]:
        """(live instances, this one's rank among them by name, from 0) in the membership
        seen last; (0, None) before the first heartbeat."""
        if not self.members:
            return 0, None
        names = sorted({m.rpartition("/")[0] for m in self.members} | {self.instance})
        return len(names), names.index(self.instance)

    # --- life cycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Join (before the carrier pool starts): hold nothing, then the first shares.

        Raises ``DuplicateInstance`` when another live process holds this member name
        for longer than ``TTL`` (a killed predecessor stops heartbeating sooner)."""
        for name in self.totals.sessions:
            self.carriers.set_sessions(name, 0)
        loop = asyncio.get_running_loop()
        try:
            await self._tick_within()
        except DuplicateInstance as taken:
            # Renewed since (a live duplicate: raises again), or a dead predecessor's.
            await asyncio.sleep(self.interval * 1.5)
            await self._tick_within(taken.seen)
        except Exception as error:  # Redis unreachable: hold nothing, keep trying
            self._redis_failed(error)
        else:
            await self._settle()
        self._task = loop.create_task(self._run(), name="membership")

    async def _settle(self) -> None:
        """Until the others have made room (they acknowledge on their next heartbeat) this
        process holds no carrier session and would answer every MT ESME_RTHROTTLED: look
        again often, for at most ``TTL + INTERVAL`` (a killed member still listed is
        dropped by then), so the process starts holding its share."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.ttl + self.interval
        while not self.settled and not self._stopping and loop.time() < deadline:
            await asyncio.sleep(self.interval / 20)
            try:
                await self._tick_within()
            except Exception as error:
                self._redis_failed(error)
                return
        if not self.settled:
            log.warning("starting before every instance made room: this process holds part "
                        "of its share until they do", extra=fields(
                            "membership_unsettled", member=self.member, members=self.members))

    async def stop(self) -> None:
        """Leave (after the carrier pool has unbound): the others take up our share."""
        self._stopping = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            # Bounded: a lost cancel leaves the loop to end at its next turn (_stopping).
            await asyncio.wait({task}, timeout=self.interval * 3)
        try:
            await asyncio.wait_for(self._leave(keys=[MEMBERS, APPLIED, LIVES],
                                               args=[self.member, self.life]), 2.0)
        except Exception as error:
            log.info("membership not left (dropped after %gs)", self.ttl, extra=fields(
                "membership_leave_failed", member=self.member, error=str(error)))

    async def _run(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self.interval)
            if self._stopping:
                return
            try:
                await self._tick_within()
            except asyncio.CancelledError:
                raise
            except DuplicateInstance as error:
                log.error("%s", error, extra=fields("instance_id_taken", member=self.member))
            except Exception as error:
                self._redis_failed(error)

    async def _beat(self, take_over: int) -> Any:
        """One heartbeat script call, acknowledging ``self.applied``; its raw reply."""
        return await self._heartbeat(
            keys=[MEMBERS, APPLIED, LIVES],
            args=[self.member, self.life, int(self.ttl * 1000), self.applied, take_over])

    async def _tick_within(self, take_over: int = -1) -> None:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow the cancel
        # that stop() sends when the heartbeat finishes at that moment, and the loop
        # would then heartbeat on after its process left.
        async with asyncio.timeout(self.interval * 2):
            await self.tick(take_over)

    def _redis_failed(self, error: BaseException) -> None:
        if self.redis_ok is not False:
            log.warning("membership heartbeat failed: keeping this process's shares of the "
                        "limits (%s)", error or type(error).__name__, extra=fields(
                            "membership_unreachable", member=self.member, error=str(error)))
        self.redis_ok = False

    # --- one heartbeat ----------------------------------------------------------------

    async def tick(self, take_over: int = -1) -> None:
        """Heartbeat, lower what the membership lowers, raise what everyone made room for;
        ``DuplicateInstance`` when another life holds this member name (and has renewed it
        after ``take_over``, ms on Redis's clock: else the name is taken over)."""
        sent = self.applied
        reply = await self._beat(take_over)
        status = _text(reply[0])
        if status == "taken":
            raise DuplicateInstance(
                f"another live process already runs as {self.member!r} in this Redis: two "
                f"instances share server.instance_id = {self.instance!r} (or data_dir and "
                f"host name); give each host its own server.instance_id", int(reply[1]))
        if self.redis_ok is False:
            log.info("membership heartbeat back", extra=fields(
                "membership_reachable", member=self.member))
        self.redis_ok = True
        members = [_text(m) for m in reply[1]]
        acks = [_text(a) if a is not None else "" for a in reply[2]]
        if members != self.members:
            log.info("instances sharing the limits: %s", ", ".join(members), extra=fields(
                "membership_changed", member=self.member, members=members))
            self.members = members
            if self.gauge is not None:
                self.gauge.set(self.instances()[0])
        sig = signature(members)
        target = member_shares(self.totals, members, self.instance, self.slot)
        self._apply(self.held.lower(target))
        if self.carriers.retired():
            self.applied = sig
        everyone = all(ack == sig for member, ack in zip(members, acks, strict=True)
                       if member != self.member)
        self.settled = self.applied == sig and everyone
        if self.settled:
            self._apply(target)
        elif self.applied != sent:
            # Lowered just now: acknowledge at once rather than a heartbeat later, so
            # whoever waits for the room raises sooner.
            await self._beat(take_over)

    def _apply(self, shares: Shares) -> None:
        held = self.held
        for name, count in shares.sessions.items():
            self.carriers.set_sessions(name, count)
        for name, tps in shares.upstream_tps.items():
            if tps != held.upstream_tps.get(name):
                self.carriers.set_tps(name, tps)
        for name, tps in shares.account_tps.items():
            bucket = self.buckets.get(name)
            if bucket is not None:
                bucket.rate = tps
        self.held = shares


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
