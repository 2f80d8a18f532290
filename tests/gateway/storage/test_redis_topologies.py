"""Redis as one server, Sentinel or Cluster: the config keys, the client, the eviction
check, and the suppression cache, receipt queue and id map on a real 3-master Cluster.

Every server here is a throwaway redis-server of this test (tests/support/redis_servers.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from gateway.app import Gateway
from gateway.config.model import Config, ConfigError, parse_config
from gateway.inbound.id_map import IdMap
from gateway.inbound.notices import CHANNEL, NoticeTag, QueueNotices
from gateway.inbound.pending import PendingQueue
from gateway.storage.redis_client import RedisPolicyError, check_eviction, open_redis
from gateway.suppression.cache import READY_KEY, SuppressionCache
from smpp.pdu import DeliverSm
from tests.gateway.suppression.test_suppression_cache import ListLedger
from tests.integration.conftest import gateway_config
from tests.integration.policy_stack import (
    ACME_AUTO,
    BLOCKED,
    GLOBEX_AUTO,
    OPTED_OUT,
    OTHER_FR,
    opt_out,
    policy_stack,
    send_one,
    submit,
)
from tests.integration.senders import bind_sender
from tests.support.redis_servers import ClusterSet, cluster_set, sentinel_set, server
from tests.support.waiting import eventually

BOUND = 20.0


def storage(**keys: Any) -> Config:
    return parse_config({"storage": keys}, env={})


def problems(**keys: Any) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        storage(**keys)
    return {problem.path: problem.message for problem in caught.value.problems}


# --- the keys ------------------------------------------------------------------------------


def test_sentinel_keys_are_read() -> None:
    config = storage(redis_sentinels=["h1:26379", "[::1]:26380"], redis_service="mymaster",
                     redis_sentinel_password="pw", redis_url="rediss://:secret@x/2")
    assert config.storage.redis_sentinels == ("h1:26379", "[::1]:26380")
    assert config.storage.redis_service == "mymaster"
    assert "pw" not in repr(config.storage)


def test_sentinels_need_a_service() -> None:
    assert problems(redis_sentinels=["h1:26379"]) == {
        "storage.redis_service": "required with redis_sentinels: the name the sentinels "
                                 "monitor the master under (sentinel monitor <name> ...)"}


def test_a_sentinel_is_host_and_port() -> None:
    found = problems(redis_sentinels=["h1"], redis_service="m")
    assert list(found) == ["storage.redis_sentinels[0]"]
    assert problems(redis_sentinels=["h1:0"], redis_service="m") == {
        "storage.redis_sentinels[0]": "expected a port from 1 to 65535, got 0 in 'h1:0'"}


def test_sentinel_and_cluster_exclude_each_other() -> None:
    assert problems(redis_sentinels=["h1:26379"], redis_service="m", redis_cluster=True,
                    redis_url="redis://h1") == {
        "storage.redis_cluster": "Sentinel and Cluster exclude each other: set "
                                 "redis_sentinels or redis_cluster, not both"}


def test_a_cluster_needs_a_tcp_url() -> None:
    assert problems(redis_cluster=True) == {
        "storage.redis_url": "required with redis_cluster: a redis:// or rediss:// URL of one "
                             "node of the cluster"}
    assert list(problems(redis_cluster=True, redis_url="unix:///tmp/r.sock")) == [
        "storage.redis_url"]


def test_sentinel_only_keys_without_sentinels_are_refused() -> None:
    assert problems(redis_service="m", redis_sentinel_password="p") == {
        "storage.redis_service": "only used with redis_sentinels, which is not set",
        "storage.redis_sentinel_password": "only used with redis_sentinels, which is not set"}


# --- maxmemory-policy ----------------------------------------------------------------------


@pytest.fixture
def evicting(tmp_path: Path) -> Iterator[str]:
    process = server(tmp_path / "lru", "--maxmemory-policy", "allkeys-lru").start()
    try:
        yield f"redis://127.0.0.1:{process.port}/0"
    finally:
        process.stop()


async def test_a_gateway_refuses_to_start_on_an_evicting_redis(
        evicting: str, tmp_path: Path) -> None:
    gateway = Gateway(gateway_config(1, evicting, tmp_path / "data"))
    with pytest.raises(RedisPolicyError) as caught:
        await asyncio.wait_for(gateway.start(), BOUND)
    assert str(caught.value) == (
        "Redis has maxmemory-policy allkeys-lru: stopgate needs noeviction (an evicted key "
        "could let an opted-out number through, or lose a receipt). Fix: CONFIG SET "
        "maxmemory-policy noeviction, and maxmemory-policy noeviction in its redis.conf")


@pytest.fixture
def config_disabled(tmp_path: Path) -> Iterator[str]:
    process = server(tmp_path / "managed", "--rename-command", "CONFIG", "").start()
    try:
        yield f"redis://127.0.0.1:{process.port}/0"
    finally:
        process.stop()


async def test_a_redis_that_refuses_config_needs_the_operator_to_vouch(
        config_disabled: str) -> None:
    config = storage(redis_url=config_disabled)
    redis = open_redis(config.storage, config_disabled, max_connections=4, pool_wait=2.0,
                       command_timeout=2.0)
    try:
        with pytest.raises(RedisPolicyError) as caught:
            await check_eviction(redis, assume=False)
        assert str(caught.value) == (
            "Redis refuses CONFIG GET maxmemory-policy, so stopgate cannot check that it never "
            "evicts keys. Set maxmemory-policy noeviction on it (a managed Redis: in its "
            "parameter group or settings), then set storage.redis_assume_noeviction = true "
            "to vouch for it")
        await check_eviction(redis, assume=True)  # vouched for: goes on
    finally:
        await redis.aclose()


async def test_the_cluster_check_asks_every_node(tmp_path: Path) -> None:
    with cluster_set(tmp_path / "lru", masters=3) as cluster:
        cluster.nodes[2].client().config_set("maxmemory-policy", "volatile-lru")
        config = storage(redis_url=cluster.url, redis_cluster=True)
        redis = open_redis(config.storage, cluster.url, max_connections=4, pool_wait=2.0,
                           command_timeout=2.0)
        try:
            with pytest.raises(RedisPolicyError) as caught:
                await check_eviction(redis, assume=False)
            assert str(caught.value).startswith(
                f"Redis at 127.0.0.1:{cluster.nodes[2].port} has maxmemory-policy volatile-lru")
        finally:
            await redis.aclose()


# --- on a Cluster ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterSet]:
    with cluster_set(tmp_path_factory.mktemp("cluster")) as topology:
        yield topology


@pytest_asyncio.fixture(loop_scope="function")
async def cluster_redis(cluster: ClusterSet) -> AsyncIterator[Redis]:
    config = storage(redis_url=cluster.url, redis_cluster=True)
    redis = open_redis(config.storage, cluster.url, max_connections=16, pool_wait=2.0,
                       command_timeout=2.0)
    assert isinstance(redis, RedisCluster)
    await redis.flushall()  # type: ignore[unreachable]
    try:
        yield redis
    finally:
        await redis.aclose()


def shards_holding(cluster: ClusterSet, pattern: str) -> set[int]:
    return {node.port for node in cluster.nodes if node.client().keys(pattern)}


async def test_the_suppression_cache_rebuilds_looks_up_and_writes_through_on_a_cluster(
        cluster: ClusterSet, cluster_redis: Redis) -> None:
    numbers = [f"+3361{n:07d}" for n in range(5000)]
    ledger = ListLedger([("*", number) for number in numbers[:4000]]
                        + [("acme", number) for number in numbers[4000:]] + [("acme", "abc")])
    cache = SuppressionCache(cluster_redis, chunk=500)
    assert await cache.rebuild(ledger) == 5001
    assert await cache.is_ready()
    assert await cache.lookup_many([("globex", numbers[0]), ("acme", numbers[4500]),
                                    ("globex", numbers[4500]), ("acme", "abc"),
                                    ("acme", "+33700000000")]) == [True, True, False, True, False]
    await cache.add("globex", "+33700000000")
    await cache.remove("*", numbers[1])
    assert await cache.lookup_many([("globex", "+33700000000"), ("acme", numbers[1])]) == [
        True, False]
    assert (await cache.state()).members == 5001  # 5001 loaded, one added, one removed
    # A second rebuild switches generations and sweeps the old one (SCAN on every shard).
    ledger.pairs.append(("*", "+447700900123"))
    await cache.rebuild(ledger)
    assert await cache.lookup("acme", "+447700900123")
    # The whole set is one slot: one shard holds every key of it.
    assert len(shards_holding(cluster, "{sp}:*")) == 1
    ready = (await cache.state()).ready
    assert ready is not None
    keys = {key.decode() for node in cluster.nodes for key in node.client().keys("{sp}:*")}
    assert {key for key in keys if not key.startswith(f"{{sp}}:{ready.split(':')[0]}:")} == {
        READY_KEY}  # the first generation was swept


async def test_the_receipt_queue_pushes_claims_and_settles_on_a_cluster(
        cluster: ClusterSet, cluster_redis: Redis) -> None:
    queue = PendingQueue(cluster_redis, max_count=3, max_age=60.0)
    heard: list[str] = []
    notices = QueueNotices(cluster_redis, heard.append, lambda: None, tag=NoticeTag("them"))
    notices.start()
    try:
        receipts = [DeliverSm(source_addr=f"3361234567{n}", short_message=f"id:{n}".encode())
                    for n in range(4)]
        accounts = [f"account{n}" for n in range(12)]
        for account in accounts:  # twelve accounts: their queues land on several shards
            dropped, depth = await queue.push(account, receipts,
                                              (CHANNEL, NoticeTag("us").notice(account)))
            assert (dropped, depth) == (1, 3)
        assert len(shards_holding(cluster, "dq:*")) > 1
        await eventually(lambda: set(accounts) <= set(heard),
                         "every notice published on a shard reaches the subscriber", BOUND)
        assert await queue.lock("account0") is not None
        claimed = await queue.claim("account0", 2)
        assert [entry.pdu.short_message for entry in claimed if entry.pdu] == [b"id:1", b"id:2"]
        await queue.settle("account0", done=[claimed[0].raw], retry=[claimed[1].raw])
        assert await queue.depth("account0") == 2
        assert await queue.adopt_legacy("account0") == 0  # no earlier names on a Cluster
    finally:
        await notices.stop()


async def test_the_id_map_spreads_over_shards_and_reads_back(
        cluster: ClusterSet, cluster_redis: Redis) -> None:
    ids = IdMap(cluster_redis, ttl=60.0)
    await ids.remember_many(("sim", f"c{n:04x}", "acme", f"s{n}") for n in range(200))
    assert len(shards_holding(cluster, "m:*")) == 3
    assert await ids.lookup("sim", ["cXX", "c0007"]) == ("acme", ("s7",))


# --- the legacy queue names on one server ------------------------------------------------


async def test_a_queue_left_under_the_earlier_names_is_adopted_oldest_first(
        redis: Redis) -> None:
    queue = PendingQueue(redis, max_count=100, max_age=60.0)
    await redis.delete("dq:legacy", "dq:legacy:p", queue.key("legacy"))
    await queue.push("legacy", [DeliverSm(short_message=b"new")])
    old = [DeliverSm(short_message=b"waiting"), DeliverSm(short_message=b"claimed")]
    stamp_entries = [e.raw for e in (await _entries(old))]
    await redis.rpush("dq:legacy", stamp_entries[0])
    await redis.rpush("dq:legacy:p", stamp_entries[1])
    assert await queue.adopt_legacy("legacy") == 2
    assert await redis.exists("dq:legacy", "dq:legacy:p") == 0
    assert await queue.lock("legacy") is not None
    claimed = await queue.claim("legacy", 10)
    assert [e.pdu.short_message for e in claimed if e.pdu] == [b"claimed", b"waiting", b"new"]


async def _entries(pdus: list[DeliverSm]) -> list[Any]:
    from gateway.inbound.pending import QueuedPdu, encode_entry, now_ms
    stamp = now_ms()
    return [QueuedPdu(encode_entry(pdu, stamp), stamp, pdu) for pdu in pdus]


# --- a gateway on Sentinel -------------------------------------------------------------------


async def test_a_gateway_runs_on_sentinel_with_passwords(tmp_path: Path) -> None:
    with sentinel_set(tmp_path / "sentinel", password="master-pw",
                      sentinel_password="sentinel-pw") as topology:
        async with policy_stack("", tmp_path / "data", accounts=[ACME_AUTO, GLOBEX_AUTO],
                                storage={"redis_url": "redis://:master-pw@unused:1/0",
                                         "redis_sentinels": topology.addresses,
                                         "redis_service": "mymaster",
                                         "redis_sentinel_password": "sentinel-pw"}) as stack:
            assert stack.gateway.keeper.ready
            await opt_out(stack, "acme")
            link, _ = await bind_sender(stack.smpp_port)
            assert (await send_one(link, submit())).command_status == BLOCKED
            assert (await send_one(link, submit(to=OTHER_FR))).command_status == 0
            # The cache lives on the master the sentinels name, and the replica has it.
            assert topology.master.client().exists(READY_KEY)
            await eventually(lambda: topology.replica.client().exists(READY_KEY),
                             "the replica has the cache", BOUND)
            await asyncio.wait_for(link.unbind(), 5.0)
    assert not any(m.destination_addr == OPTED_OUT.removeprefix("+")
                   for m in stack.simulator.messages())
