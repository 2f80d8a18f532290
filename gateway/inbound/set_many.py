"""Many keys written with one TTL in one Redis command.

The MT path writes a DLR id map entry per part and a campaign note per
promotional message, a loop tick's worth at a time. A redis-py pipeline spends
~10 µs of Python per command (argument checks, packing, parsing each reply);
one EVALSHA carrying every key and value spends it once per batch.

On a Redis Cluster the keys of one batch live on many slots, which no one script
may touch: there the batch is a (non-transactional) pipeline of SETs, which
redis-py sends as one round trip per shard. Nothing here needs the batch atomic.
"""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis

from gateway.storage.redis_client import is_cluster

_SET_MANY = """
local ttl = ARGV[1]
for i, key in ipairs(KEYS) do
  redis.call('SET', key, ARGV[i + 1], 'PX', ttl)
end
return #KEYS
"""


class SetMany:
    """``await set_many([(key, value), ...], ttl_ms)``: SET key value PX ttl_ms for each."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._cluster = is_cluster(redis)
        self._script = redis.register_script(_SET_MANY)

    async def __call__(self, items: Sequence[tuple[bytes, bytes]], ttl_ms: int) -> None:
        if not items:
            return
        if self._cluster:
            pipe = self._redis.pipeline(transaction=False)
            for key, value in items:
                pipe.set(key, value, px=ttl_ms)
            await pipe.execute()
            return
        keys = [key for key, _ in items]
        args: list[bytes | int] = [ttl_ms]
        args.extend(value for _, value in items)
        await self._script(keys=keys, args=args)
