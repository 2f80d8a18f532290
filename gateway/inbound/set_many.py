"""Many keys written with one TTL in one Redis command.

The MT path writes a DLR id map entry per part and a campaign note per
promotional message, a loop tick's worth at a time. A redis-py pipeline spends
~10 µs of Python per command (argument checks, packing, parsing each reply);
one EVALSHA carrying every key and value spends it once per batch.
"""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis

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
        self._script = redis.register_script(_SET_MANY)

    async def __call__(self, items: Sequence[tuple[bytes, bytes]], ttl_ms: int) -> None:
        if not items:
            return
        keys = [key for key, _ in items]
        args: list[bytes | int] = [ttl_ms]
        args.extend(value for _, value in items)
        await self._script(keys=keys, args=args)
