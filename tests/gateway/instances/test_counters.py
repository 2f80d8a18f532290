"""The abuse counters shared through Redis: counts and buckets per (kind, address), and
what a caller gets when Redis does not answer (None: its in-process limit decides)."""

from __future__ import annotations

import asyncio

import pytest
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


async def test_failed_binds_are_counted_and_their_answers_spaced_over_every_caller(
    redis: Redis,
) -> None:
    one, two = SharedCounters(redis), SharedCounters(redis)  # two instances
    args = (60.0, 1.0, 4.0, 8.0)  # window, delay, cap, horizon (the bind timeout)
    assert await one.pace("bind", "192.0.2.1 acme", *args) == (1, 0.0)  # a typo: at once
    second = await two.pace("bind", "192.0.2.1 acme", *args)
    assert second is not None and second[0] == 2 and second[1] == pytest.approx(2.0, abs=0.5)
    # The third waits its own 4 s after the second's answer, whichever instance takes it.
    third = await one.pace("bind", "192.0.2.1 acme", *args)
    assert third is not None and third[0] == 3 and third[1] == pytest.approx(6.0, abs=0.5)
    # The fourth would go out past the horizon: not answered (and books no time).
    assert await two.pace("bind", "192.0.2.1 acme", *args) == (4, -1.0)
    assert await one.pace("bind", "192.0.2.1 acme", *args) == (5, -1.0)
    # Another account from the address, the account from another address: untouched.
    assert await two.pace("bind", "192.0.2.1 globex", *args) == (1, 0.0)
    assert await two.pace("bind", "192.0.2.2 acme", *args) == (1, 0.0)
    assert 0 < await redis.pttl(key("bind", "192.0.2.1 acme")) <= 68_000  # quiet: forgotten
    # What another instance reads before pacing a right password (nothing counted).
    assert await two.count("bind", "192.0.2.1 acme", 60) == 5
    assert await two.count("bind", "192.0.2.3 acme", 60) == 0
    # A bind that succeeds forgives its key everywhere.
    await one.forget("bind", "192.0.2.1 acme")
    assert await two.count("bind", "192.0.2.1 acme", 60) == 0
    assert await two.pace("bind", "192.0.2.1 acme", *args) == (1, 0.0)


async def test_a_quiet_window_forgives_failed_binds(redis: Redis) -> None:
    counters = SharedCounters(redis)
    args = (0.05, 1.0, 4.0, 8.0)
    assert await counters.pace("bind", "192.0.2.1 acme", *args) == (1, 0.0)
    await asyncio.sleep(0.1)  # longer than the window: the next failure is a first one
    assert await counters.count("bind", "192.0.2.1 acme", 0.05) == 0
    assert await counters.pace("bind", "192.0.2.1 acme", *args) == (1, 0.0)


async def test_redis_not_answering_leaves_bind_pacing_to_the_process(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dead = Redis.from_url("redis://127.0.0.1:1", socket_connect_timeout=0.2)
    counters = SharedCounters(dead)
    assert await counters.pace("bind", "192.0.2.1 acme", 60, 1, 4, 8) is None
    assert await counters.pace("bind", "192.0.2.1 acme", 60, 1, 4, 8) is None
    assert await counters.count("bind", "192.0.2.1 acme", 60) is None
    await counters.forget("bind", "192.0.2.1 acme")  # nothing raised
    assert counters.up is False
    # Logged once, not once per bind.
    assert sum(r.getMessage().startswith("shared abuse limits unavailable")
               for r in caplog.records) == 1
    await dead.aclose()
