"""Frequency caps counted in Redis: one check-and-count per promotional message.

Each cap that applies to a message (rules.sendtime.caps: per sender account and
recipient, over a rolling window) is a sorted set: members are message ids, scores the
times (ms, the gateway's clock) they were sent. For one message, one Lua call over every
cap key of its (account, recipient)::

    for each key: drop the members older than its window; n = how many are left
    if every n < its max: add the message to every key (score now), expire each key
                          one window after now; answer 0
    else: add nothing; answer the (1-based) index of the first cap that is full

so a message that any cap refuses counts against none of them, and two instances (or
workers) sending to one recipient at once cannot both take its last place: Redis runs
the script whole. The count is exact to the millisecond (a message sent exactly one
window ago no longer counts). Keys expire one window after their last message.

The keys of one (account, recipient) share the hash tag ``{account|digits}``
(``rules.sendtime.caps.cap_key``), so on a Redis Cluster they live in one slot and one
script may touch them all. Checks gather for one loop tick, like the suppression
lookups (gateway/mt/lookups.py): on one server (or Sentinel) the batch is one EVALSHA
whose script runs the checks in order (a second message to the same recipient in the
batch sees the first one's count); on a Cluster, whose slots no single script may
span, the batch is one EVALSHA per check, sent together.

A batch that fails (Redis down, slower than ``CAP_TIMEOUT``) answers each check with
the exception: the send-time stage then fails closed, like the suppression lookups.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from gateway.lifecycle import TickBatcher
from gateway.storage.redis_client import is_cluster
from rules.sendtime.caps import FrequencyCap, cap_key

__all__ = ["CAP_TIMEOUT", "CapAnswer", "CapCheck", "CapCounter", "cap_keys"]

log = logging.getLogger("stopgate.sendtime")

#: A batch slower than this fails closed (as gateway.mt.lookups.LOOKUP_TIMEOUT).
CAP_TIMEOUT = 1.0

#: Called once with 0 (counted), the 1-based index of the cap that refused, or the
#: exception that left the count unknown.
CapAnswer = Callable[[int | Exception], None]

# ARGV, per check: n (its keys), member, now (ms), n x (window_ms, max).
# KEYS: every check's keys, in order. Returns one integer per check (see the docstring).
_CHECK_AND_COUNT = """
local a, k = 1, 1
local out = {}
while a <= #ARGV do
  local n, member, now = tonumber(ARGV[a]), ARGV[a + 1], tonumber(ARGV[a + 2])
  a = a + 3
  local refused = 0
  for i = 0, n - 1 do
    local key = KEYS[k + i]
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - tonumber(ARGV[a + 2 * i]))
    if refused == 0 and redis.call('ZCARD', key) >= tonumber(ARGV[a + 2 * i + 1]) then
      refused = i + 1
    end
  end
  if refused == 0 then
    for i = 0, n - 1 do
      local key = KEYS[k + i]
      redis.call('ZADD', key, now, member)
      redis.call('PEXPIRE', key, ARGV[a + 2 * i])
    end
  end
  out[#out + 1] = refused
  k, a = k + n, a + 2 * n
end
return out
"""


@dataclass(frozen=True, slots=True)
class CapCheck:
    """One message's caps: its keys (one hash tag) with each key's window and maximum."""

    keys: tuple[str, ...]
    windows_ms: tuple[int, ...]
    maxima: tuple[int, ...]
    member: str  # the message's id: unique across instances and restarts
    now_ms: int


def cap_keys(account: str, e164: str, caps: Sequence[FrequencyCap]
             ) -> tuple[tuple[str, ...], tuple[int, ...], tuple[int, ...]]:
    """The keys, windows and maxima of ``caps`` for one (account, recipient); caps that
    share a key (same region and window) count once, under the smallest maximum."""
    found: dict[str, tuple[int, int]] = {}
    for cap in caps:
        key = cap_key(account, e164, cap)
        known = found.get(key)
        found[key] = (cap.window_ms, cap.max if known is None else min(known[1], cap.max))
    return (tuple(found), tuple(w for w, _ in found.values()),
            tuple(m for _, m in found.values()))


class CapCounter:
    """Checks and counts frequency caps in Redis, one loop tick's checks at a time."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._cluster = is_cluster(redis)
        self._script = redis.register_script(_CHECK_AND_COUNT)
        self._batch: TickBatcher[CapCheck, int] = TickBatcher(
            self.check_many, timeout=CAP_TIMEOUT, log=log, what="frequency cap",
            event="sendtime_failed", stage="cap_answer")

    def check(self, check: CapCheck, answer: CapAnswer) -> None:
        """Queue one check-and-count; ``answer`` is called once (see ``CapAnswer``)."""
        self._batch.add(check, answer)

    async def check_many(self, checks: Sequence[CapCheck]) -> list[int]:
        """Check and count each (in order): 0 counted, else the index of the full cap."""
        if not checks:
            return []
        if self._cluster:
            replies = await asyncio.gather(*(self._call([check]) for check in checks))
            return [reply[0] for reply in replies]
        return await self._call(checks)

    async def drain(self, timeout: float) -> None:
        """Wait (bounded) for the batches under way; at shutdown."""
        await self._batch.drain(timeout)

    async def _call(self, checks: Sequence[CapCheck]) -> list[int]:
        keys: list[str] = []
        args: list[str | int] = []
        for check in checks:
            keys.extend(check.keys)
            args += [len(check.keys), check.member, check.now_ms]
            for window, maximum in zip(check.windows_ms, check.maxima, strict=True):
                args += [window, maximum]
        reply = await self._script(keys=keys, args=args)
        return [int(value) for value in reply]

