"""Configuration drift: instances sharing one Redis (and so one ledger) compare hashes.

Each gateway process registers its configuration hash (gateway.config.fingerprint)
in the Redis hash ``cfg:instances``: field = its instance id, value = ``"<expiry ms>
<hash>"``, refreshed every ``interval`` seconds with an expiry of ``3 * interval``.
One script writes its own entry, drops the expired ones (an instance that died
without saying goodbye) and returns the live ones, so every instance sees the same
picture; a stopping instance removes its entry. From that picture:

- ``stopgate_config_info{hash}`` = 1 (this instance's hash);
- ``stopgate_config_hash_mismatch`` = distinct hashes among live instances - 1
  (0 when every instance agrees);
- ``/readyz`` shows ``config_hash`` and ``config_hashes`` (each live hash, how many
  instances run it).

While Redis cannot be reached the last picture stays (a lost Redis is alerted on
by its own metrics). Drift does not make an instance unready: a rolling
configuration change goes through it on purpose, for a while.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from typing import cast

from redis.asyncio import Redis

from gateway.lifecycle import Background
from gateway.observability.logs import fields
from gateway.observability.metrics import Metrics

__all__ = ["KEY", "ConfigDrift"]

log = logging.getLogger("stopgate")

KEY = "cfg:instances"

# ARGV: now (ms), this instance, its expiry (ms), its hash, the key's own expiry (ms).
_REGISTER = """
local now = tonumber(ARGV[1])
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3] .. ' ' .. ARGV[4])
local entries = redis.call('HGETALL', KEYS[1])
local live = {}
for i = 1, #entries, 2 do
  local expiry, hash = string.match(entries[i + 1], '^(%d+) (%S+)$')
  if expiry == nil or tonumber(expiry) < now then
    redis.call('HDEL', KEYS[1], entries[i])
  else
    live[#live + 1] = entries[i]
    live[#live + 1] = hash
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return live
"""


class ConfigDrift:
    """Registers this instance's configuration hash and reads the others' (see above)."""

    def __init__(self, redis: Redis, instance: str, config_hash: str, metrics: Metrics,
                 *, interval: float = 5.0) -> None:
        self.redis = redis
        self.instance = instance
        self.hash = config_hash
        self.metrics = metrics
        self.interval = interval
        #: Live instances by id -> their hash, as last read (just this one until then).
        self.instances: dict[str, str] = {instance: config_hash}
        self._register = redis.register_script(_REGISTER)
        self._runner = Background("config-drift", self._run)
        self._failing = False
        metrics.config_info.labels(config_hash).set(1)
        metrics.config_hash_mismatch.set(0)

    @property
    def hashes(self) -> dict[str, int]:
        """Each live hash and how many instances run it."""
        return dict(Counter(self.instances.values()))

    @property
    def mismatch(self) -> int:
        return len(set(self.instances.values())) - 1

    def start(self) -> None:
        self._runner.start()

    async def stop(self) -> None:
        await self._runner.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.redis.hdel(KEY, self.instance), 1.0)

    async def refresh(self) -> None:
        """Register this instance and read every live one (raises on a Redis error)."""
        now = int(time.time() * 1000)
        ttl = int(self.interval * 3000)
        reply = cast(list[bytes], await self._register(
            keys=[KEY], args=[now, self.instance, now + ttl, self.hash, ttl]))
        live = {bytes(reply[i]).decode(): bytes(reply[i + 1]).decode()
                for i in range(0, len(reply) - 1, 2)}
        live[self.instance] = self.hash
        before = self.mismatch
        self.instances = live
        self.metrics.config_hash_mismatch.set(self.mismatch)
        if self.mismatch != before:
            (log.warning if self.mismatch else log.info)(
                "instances sharing this Redis run %d different configurations",
                self.mismatch + 1, extra=fields(
                    "config_drift", config_hash=self.hash, hashes=self.hashes))

    async def _run(self) -> None:
        while True:
            try:
                await self.refresh()
                self._failing = False
            except Exception as error:
                if not self._failing:
                    log.debug("config hash not registered: %s", error, extra=fields(
                        "config_drift_unchecked", error=str(error)))
                self._failing = True
            await asyncio.sleep(self.interval)
