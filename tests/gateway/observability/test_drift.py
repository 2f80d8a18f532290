"""Configuration drift across instances, against a real Redis."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from gateway.observability.drift import KEY, ConfigDrift
from gateway.observability.metrics import Metrics
from tests.support.metrics import metric


def drift(redis: Redis, instance: str, config_hash: str, interval: float = 5.0) -> ConfigDrift:
    return ConfigDrift(redis, instance, config_hash, Metrics(), interval=interval)


async def test_instances_that_agree_show_no_mismatch(redis: Redis) -> None:
    a, b = drift(redis, "a", "1111"), drift(redis, "b", "1111")
    await a.refresh()
    await b.refresh()
    await a.refresh()
    assert a.instances == b.instances == {"a": "1111", "b": "1111"}
    assert a.hashes == {"1111": 2} and a.mismatch == 0
    text = a.metrics.render().decode()
    assert metric(text, "stopgate_config_info", hash="1111") == 1
    assert metric(text, "stopgate_config_hash_mismatch") == 0


async def test_a_different_hash_is_a_mismatch_on_every_instance_until_it_leaves(
        redis: Redis) -> None:
    a, b, c = drift(redis, "a", "1111"), drift(redis, "b", "1111"), drift(redis, "c", "2222")
    for instance in (a, b, c, a, b):
        await instance.refresh()
    for instance in (a, b, c):
        assert instance.hashes == {"1111": 2, "2222": 1}
        assert instance.mismatch == 1
        assert metric(instance.metrics.render().decode(),
                      "stopgate_config_hash_mismatch") == 1
    c.start()
    await c.stop()  # a clean stop withdraws the entry at once
    assert await redis.hexists(KEY, "c") == 0
    await a.refresh()
    assert a.mismatch == 0 and a.hashes == {"1111": 2}
    assert metric(a.metrics.render().decode(), "stopgate_config_hash_mismatch") == 0


async def test_an_instance_that_died_expires(redis: Redis) -> None:
    dead = drift(redis, "dead", "2222", interval=0.05)  # registered for 3 intervals
    await dead.refresh()
    alive = drift(redis, "alive", "1111")
    await alive.refresh()
    assert alive.mismatch == 1
    await asyncio.sleep(0.2)
    await alive.refresh()
    assert alive.instances == {"alive": "1111"} and alive.mismatch == 0
    assert await redis.hkeys(KEY) == [b"alive"]
    assert 0 < await redis.pttl(KEY) <= 15_000  # the key itself goes with the last instance


async def test_redis_failing_keeps_the_last_picture(redis: Redis) -> None:
    broken = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    try:
        lonely = drift(broken, "a", "1111", interval=0.01)
        lonely.start()
        await asyncio.sleep(0.1)  # several failing refreshes
        assert lonely.instances == {"a": "1111"} and lonely.mismatch == 0
        await lonely.stop()  # does not raise: the withdrawal is best effort
    finally:
        await broken.aclose()
