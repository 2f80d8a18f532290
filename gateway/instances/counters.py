"""Abuse limits shared by every instance on one Redis: failures per client address, and
token buckets per address, so a client spreading its attempts over N instances meets the
configured limit, not N times it.

One key per limit and address, ``lim:{<kind>:<address>}`` (the braces are the hash tag:
each script touches one key, so it runs on a Redis Cluster), a hash that expires on its
own once quiet. Time is Redis's (``TIME``): hosts' clocks do not matter.

Failed binds (gateway.senders.bind_pacing) are paced by one script, ``pace``: the count
and the time the latest answer goes out live in the key, so answers for one (address,
system_id) are spaced one after another over every instance, as they are in one process.

These counters are advisory to the in-process limits, which always run: a caller takes
the larger count (or refuses when either bucket is empty). When Redis errors, each method
returns None and the in-process limit alone applies, per instance, as it did before (never
fail open entirely); the first error is logged, and the return of Redis.
"""

from __future__ import annotations

import asyncio
import logging

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript

from gateway.observability.logs import fields

__all__ = ["SharedCounters"]

log = logging.getLogger("stopgate.instances")

#: Seconds a call may take before the in-process limit decides alone.
TIMEOUT = 0.5

_FAILURE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local window = tonumber(ARGV[1])
local last = tonumber(redis.call('HGET', KEYS[1], 'last') or '0')
local count = 0
if now - last <= window then count = tonumber(redis.call('HGET', KEYS[1], 'count') or '0') end
count = count + 1
redis.call('HSET', KEYS[1], 'count', count, 'last', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
return count
"""

_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local burst, rate = tonumber(ARGV[1]), tonumber(ARGV[2])
local tokens = tonumber(redis.call('HGET', KEYS[1], 'tokens') or ARGV[1])
local last = tonumber(redis.call('HGET', KEYS[1], 'last') or tostring(now))
tokens = math.min(burst, tokens + (now - last) * rate) + tonumber(ARGV[3])
if tokens > burst then tokens = burst end
local wait = 0
if tonumber(ARGV[3]) == 0 then
  if tokens < 1 then wait = (1 - tokens) / rate else tokens = tokens - 1 end
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'last', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
"""

_PACE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local window, delay, cap, horizon =
  tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local h = redis.call('HMGET', KEYS[1], 'count', 'last', 'at')
local count, at = 0, 0
if h[2] and now - tonumber(h[2]) <= window then
  count = tonumber(h[1] or '0')
  at = tonumber(h[3] or '0')
end
count = count + 1
local wait = 0
if count >= 2 then
  local answer = math.max(now, at) + math.min(delay * 2 ^ (count - 1), cap)
  wait = answer - now
  if wait <= horizon then at = answer else wait = -1 end
end
redis.call('HSET', KEYS[1], 'count', count, 'last', tostring(now), 'at', tostring(at))
redis.call('PEXPIRE', KEYS[1], math.ceil((window + horizon) * 1000))
return {count, tostring(wait)}
"""

_COUNT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local h = redis.call('HMGET', KEYS[1], 'count', 'last')
if not h[2] or now - tonumber(h[2]) > tonumber(ARGV[1]) then return 0 end
return tonumber(h[1] or '0')
"""


def key(kind: str, address: str) -> str:
    return f"lim:{{{kind}:{address}}}"


class SharedCounters:
    """Failure counts and token buckets per (kind, address), in Redis."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self._failure = redis.register_script(_FAILURE)
        self._take = redis.register_script(_TAKE)
        self._pace = redis.register_script(_PACE)
        self._count = redis.register_script(_COUNT)
        self.up = True

    async def failure(self, kind: str, address: str, window: float) -> int | None:
        """Count one failure; how many ``address`` made within ``window`` seconds of each
        other, on every instance (None: Redis did not answer)."""
        try:
            count = await self._call(self._failure, key(kind, address), window)
        except Exception as error:
            self._failed(error)
            return None
        return int(str(count))

    async def pace(self, kind: str, address: str, window: float, delay: float, cap: float,
                   horizon: float) -> tuple[int, float] | None:
        """Count one failure and give its answer a time after the previous one's, on every
        instance: ``(count, wait)``, ``wait`` the seconds from now the answer goes out, -1
        when that would be past ``horizon`` (not answered). The first failure within
        ``window`` of the last is answered at once; the n-th waits ``delay * 2**(n-1)``, at
        most ``cap``, after the previous answer (None: Redis did not answer)."""
        try:
            reply = await self._call(self._pace, key(kind, address), window, delay, cap,
                                     horizon)
            if not isinstance(reply, list) or len(reply) != 2:
                raise ValueError(f"unexpected reply to the pacing script: {reply!r}")
            count, wait = reply
            return int(count), float(wait.decode() if isinstance(wait, bytes) else wait)
        except Exception as error:
            self._failed(error)
            return None

    async def count(self, kind: str, address: str, window: float) -> int | None:
        """The failures ``address`` has now within ``window`` (0: none, or forgiven), on
        every instance, without counting one (None: Redis did not answer)."""
        try:
            return int(str(await self._call(self._count, key(kind, address), window)))
        except Exception as error:
            self._failed(error)
            return None

    async def forget(self, kind: str, address: str) -> None:
        """Forgive ``address`` its failures (it proved itself): the count starts again."""
        try:
            await asyncio.wait_for(self.redis.delete(key(kind, address)), TIMEOUT)
        except Exception as error:
            self._failed(error)
        else:
            self._answered()

    async def take(self, kind: str, address: str, burst: float, rate: float) -> float | None:
        """Take a token from ``address``'s bucket (``burst``, refilling at ``rate`` a
        second): 0 when taken, else seconds until one is there (None: no answer)."""
        try:
            wait = await self._call(self._take, key(kind, address), burst, rate, 0)
        except Exception as error:
            self._failed(error)
            return None
        return float(str(wait.decode() if isinstance(wait, bytes) else wait))

    async def refund(self, kind: str, address: str, burst: float, rate: float) -> None:
        """Give a token back (the attempt was a good one)."""
        try:
            await self._call(self._take, key(kind, address), burst, rate, 1)
        except Exception as error:
            self._failed(error)

    async def _call(self, script: AsyncScript, name: str, *args: float) -> object:
        result = await asyncio.wait_for(script(keys=[name], args=list(args)), TIMEOUT)
        self._answered()
        return result

    def _answered(self) -> None:
        if not self.up:
            self.up = True
            log.info("shared abuse limits back in Redis", extra=fields("shared_limits_back"))

    def _failed(self, error: BaseException) -> None:
        if self.up:
            self.up = False
            log.warning("shared abuse limits unavailable: each instance counts alone until "
                        "Redis answers (%s)", error or type(error).__name__,
                        extra=fields("shared_limits_unavailable", error=str(error)))
