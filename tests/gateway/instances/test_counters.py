"""The abuse counters shared through Redis: counts and buckets per (kind, address), and
what a caller gets when Redis does not answer (None: its in-process limit decides)."""

from __future__ import annotations

from redis.asyncio import Redis

from gateway.instances.counters import SharedCounters, key


async def test_failures_are_counted_per_kind_and_address_over_every_caller(
    redis: Redis,
) -> None:
    one, two = SharedCounters(redis), SharedCounters(redis)  # two instances
    assert [await one.failure("auth", "192.0.2.1", 60), await two.failure(
        "auth", "192.0.2.1", 60)] == [1, 2]
    assert await one.failure("auth", "192.0.2.2", 60) == 1
    assert await one.failure("bind", "192.0.2.1", 60) == 1
    assert key("auth", "2001:db8::/64") == "lim:{auth:2001:db8::/64}"  # one slot per key
    assert 0 < await redis.pttl(key("auth", "192.0.2.1")) <= 60_000  # forgotten when quiet


async def test_a_bucket_is_shared_and_a_refund_gives_a_token_back(redis: Redis) -> None:
    one, two = SharedCounters(redis), SharedCounters(redis)
    taken = [await (one, two)[i % 2].take("guess", "192.0.2.1", 3, 3 / 60) for i in range(4)]
    assert taken[:3] == [0.0, 0.0, 0.0] and taken[3] is not None and taken[3] > 0
    await one.refund("guess", "192.0.2.1", 3, 3 / 60)
    assert await two.take("guess", "192.0.2.1", 3, 3 / 60) == 0.0


async def test_redis_not_answering_leaves_the_decision_to_the_in_process_limit() -> None:
    dead = Redis.from_url("redis://127.0.0.1:1", socket_connect_timeout=0.2)
    counters = SharedCounters(dead)
    assert await counters.failure("auth", "192.0.2.1", 60) is None
    assert await counters.take("guess", "192.0.2.1", 3, 1) is None
    await counters.refund("guess", "192.0.2.1", 3, 1)  # nothing raised
    assert counters.up is False
    await dead.aclose()
