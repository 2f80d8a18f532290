"""The frequency-cap script on a real Redis (and on a real 3-master Cluster): a rolling
window exact to the millisecond, check-and-count all or nothing, keys that expire after
their window, batches, and every key of one (account, recipient) in one slot."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from redis.asyncio import Redis
from redis.crc import key_slot

from gateway.config.model import parse_config
from gateway.sendtime.caps import CapCheck, CapCounter, cap_keys
from gateway.storage.redis_client import open_redis
from rules.sendtime.caps import FrequencyCap, caps_for
from tests.support.redis_servers import ClusterSet, cluster_set

HOUR = 3_600_000
DAY = 24 * HOUR
T0 = 1_780_000_000_000  # ms
FLORIDA = "+13055550123"
FL_DAY = FrequencyCap(region="US-FL", max=3, window_ms=DAY)
US_WEEK = FrequencyCap(region="US", max=5, window_ms=7 * DAY)


def check(caps: tuple[FrequencyCap, ...], member: str, now: int, *, account: str = "acme",
          number: str = FLORIDA) -> CapCheck:
    return CapCheck(*cap_keys(account, number, caps), member=member, now_ms=now)


async def test_the_window_rolls_to_the_millisecond(redis: Redis) -> None:
    counter = CapCounter(redis)
    assert await counter.check_many([check((FL_DAY,), f"m{i}", T0 + i) for i in range(3)]) \
        == [0, 0, 0]
    assert await counter.check_many([check((FL_DAY,), "m3", T0 + DAY - 1)]) == [1]
    # exactly one window after the first, it no longer counts
    assert await counter.check_many([check((FL_DAY,), "m4", T0 + DAY)]) == [0]
    assert await counter.check_many([check((FL_DAY,), "m5", T0 + DAY)]) == [1]


async def test_a_refused_message_counts_against_no_cap(redis: Redis) -> None:
    counter = CapCounter(redis)
    caps = (US_WEEK, FL_DAY)
    assert await counter.check_many([check(caps, f"m{i}", T0 + i) for i in range(3)]) \
        == [0, 0, 0]
    assert await counter.check_many([check(caps, "m3", T0 + 10)]) == [2]  # FL_DAY is full
    week, day = cap_keys("acme", FLORIDA, caps)[0]
    assert await redis.zcard(week) == 3  # the refused one took no place in the weekly cap
    assert await redis.zcard(day) == 3


async def test_keys_expire_one_window_after_their_last_message(redis: Redis) -> None:
    counter = CapCounter(redis)
    five_minutes = FrequencyCap(region="US-FL", max=3, window_ms=300_000)
    await counter.check_many([check((five_minutes,), "m0", T0)])
    [key] = await redis.keys("fc:*")
    assert 299_000 < await redis.pttl(key) <= 300_000


async def test_one_batch_counts_in_order_and_per_account(redis: Redis) -> None:
    counter = CapCounter(redis)
    batch = [check((FL_DAY,), f"a{i}", T0) for i in range(4)]
    batch.append(check((FL_DAY,), "g0", T0, account="globex"))
    assert await counter.check_many(batch) == [0, 0, 0, 1, 0]


async def test_caps_sharing_a_key_count_once_under_the_smaller_maximum() -> None:
    loose = FrequencyCap(region="US-FL", max=10, window_ms=DAY)
    keys, windows, maxima = cap_keys("acme", FLORIDA, (loose, FL_DAY))
    assert keys == ("fc:{acme|13055550123}:US-FL:86400000",)
    assert (windows, maxima) == ((DAY,), (3,))


async def test_the_same_message_counted_twice_takes_one_place(redis: Redis) -> None:
    counter = CapCounter(redis)
    assert await counter.check_many([check((FL_DAY,), "m0", T0), check((FL_DAY,), "m0", T0)]) \
        == [0, 0]
    [key] = await redis.keys("fc:*")
    assert await redis.zcard(key) == 1


def test_every_key_of_one_account_and_recipient_is_in_one_slot() -> None:
    config = parse_config({"compliance": {"packs": ["US"]}, "frequency_caps": [
        {"region": "US", "max": 10, "per": "7d"}, {"region": "US-FL", "max": 5, "per": "1h"}]},
        env={})
    keys = cap_keys("acme", FLORIDA, caps_for(FLORIDA, config.sendtime().caps))[0]
    assert len(keys) == 3
    assert len({key_slot(key.encode()) for key in keys}) == 1


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterSet]:
    with cluster_set(tmp_path_factory.mktemp("cluster")) as topology:
        yield topology


async def test_caps_count_on_a_redis_cluster(cluster: ClusterSet) -> None:
    config = parse_config({"storage": {"redis_url": cluster.url, "redis_cluster": True}},
                          env={})
    redis = open_redis(config.storage, cluster.url, max_connections=8, pool_wait=2.0,
                       command_timeout=2.0)
    try:
        counter = CapCounter(redis)
        caps = (US_WEEK, FL_DAY)
        numbers = [f"+1305555{n:04d}" for n in range(12)]  # many recipients: many slots
        first = [check(caps, f"m{n}-{i}", T0 + i, number=number)
                 for i in range(3) for n, number in enumerate(numbers)]
        assert await counter.check_many(first) == [0] * len(first)
        fourth = [check(caps, f"x{n}", T0 + 10, number=number)
                  for n, number in enumerate(numbers)]
        assert await counter.check_many(fourth) == [2] * len(numbers)
        slots = {key_slot(check.keys[0].encode()) for check in fourth}
        assert len(slots) > 1
        holding = {node.port for node in cluster.nodes if node.client().keys("fc:*")}
        assert len(holding) > 1  # spread over the shards, each recipient whole on one
    finally:
        await redis.aclose()
