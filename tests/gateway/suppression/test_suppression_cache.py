"""The suppression cache against a real Redis: membership, readiness, rebuilds, the keeper."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from gateway.process.redis_embedded import EmbeddedRedis
from gateway.suppression.cache import (
    CacheNotReady,
    CacheState,
    SuppressionCache,
    bits_for,
    encode_number,
    relayout_bits,
)
from gateway.suppression.keeper import CacheKeeper
from tests.support.waiting import eventually, within

Pair = tuple[str, str]
FR = "+33612345678"
UK = "+447700900123"


class ListLedger:
    """The ledger's read interface over a list: a stand-in for gateway.ledger.model, not a mock.

    ``hold`` (if set) stops the scan after its first batch until the event is set,
    to act while a rebuild is half loaded.
    """

    def __init__(self, pairs: list[Pair] | None = None) -> None:
        self.pairs: list[Pair] = list(pairs or [])
        self.scans = 0
        self.threads: set[str] = set()
        self.hold: threading.Event | None = None
        self.failures = 0  # scans that fail after their first batch

    def iter_suppressed(self, batch: int = 10_000) -> Iterator[list[Pair]]:
        self.scans += 1
        snapshot = list(self.pairs)  # taken at the first next(), like a read transaction
        for start in range(0, len(snapshot), batch):
            self.threads.add(threading.current_thread().name)
            yield snapshot[start:start + batch]
            if self.failures:
                self.failures -= 1
                raise OSError("disk I/O error")
            if self.hold is not None:
                self.hold.wait(20)

    def count_suppressed(self) -> int:
        return len(self.pairs)

    def opt_out(self, scope: str, number: str) -> None:
        self.pairs.append((scope, number))

    def opt_in(self, scope: str, number: str) -> None:
        self.pairs.remove((scope, number))


class AsyncListLedger:
    """The event-loop form of the ledger interface (as gateway.ledger.model.AsyncLedger has it)."""

    def __init__(self, ledger: ListLedger) -> None:
        self.ledger = ledger
        self.closed = False

    async def count_suppressed(self) -> int:
        return self.ledger.count_suppressed()

    async def iter_suppressed(self, batch: int = 10_000) -> AsyncIterator[list[Pair]]:
        try:
            for rows in self.ledger.iter_suppressed(batch):
                yield rows
        finally:
            self.closed = True


class CountingRedis(Redis):
    """A real client that records the commands it sends (to count round trips)."""

    commands: list[str]

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        self.commands.append(str(args[0]).upper())
        return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]



@pytest_asyncio.fixture
async def ready_cache(redis: Redis) -> SuppressionCache:
    cache = SuppressionCache(redis)
    await cache.rebuild(ListLedger())
    return cache


def numbers(count: int, prefix: str = "+336") -> list[str]:
    return [f"{prefix}{(i * 7_919_111) % 10**8:08d}" for i in range(count)]


async def members_of(redis: Redis) -> int:
    state = await SuppressionCache(redis).state()
    return state.members


# --- membership ---------------------------------------------------------------------------


async def test_opt_out_of_an_account_is_found_and_opt_in_removes_it(
    ready_cache: SuppressionCache,
) -> None:
    assert await ready_cache.lookup("acme", FR) is False
    await ready_cache.add("acme", FR)
    assert await ready_cache.lookup("acme", FR) is True
    await ready_cache.remove("acme", FR)
    assert await ready_cache.lookup("acme", FR) is False


async def test_operator_wide_opt_out_applies_to_every_account(
    ready_cache: SuppressionCache,
) -> None:
    await ready_cache.add("*", UK)
    assert await ready_cache.lookup_many(
        [("acme", UK), ("brand2", UK), ("never-seen", UK), ("*", UK)]
    ) == [True, True, True, True]


async def test_opt_out_of_account_a_does_not_block_account_b(
    ready_cache: SuppressionCache,
) -> None:
    await ready_cache.add_many([("acme", FR), ("brand2", UK)])
    assert await ready_cache.lookup_many(
        [("acme", FR), ("brand2", FR), ("acme", UK), ("brand2", UK), ("*", FR)]
    ) == [True, False, False, True, False]


async def test_plus_and_no_plus_are_the_same_number_and_text_ids_work(
    ready_cache: SuppressionCache,
) -> None:
    await ready_cache.add_many([("acme", "33612345678"), ("acme", "SHOPNEWS"), ("*", "0800")])
    assert await ready_cache.lookup_many(
        [("acme", FR), ("acme", "+SHOPNEWS"), ("acme", "SHOPNEWS"), ("brand2", "SHOPNEWS"),
         ("brand2", "0800"), ("acme", "+0800"), ("acme", "33612345679")]
    ) == [True, True, True, False, True, True, False]


async def test_lookup_results_keep_the_order_of_the_items(ready_cache: SuppressionCache) -> None:
    listed = numbers(300)
    await ready_cache.add_many(("acme", number) for number in listed[::3])
    items = [("acme", number) for number in listed]
    assert await ready_cache.lookup_many(items) == [i % 3 == 0 for i in range(300)]
    assert await ready_cache.lookup_many([]) == []


async def test_every_scope_and_number_range_round_trips(ready_cache: SuppressionCache) -> None:
    # Extremes of the encoding: 1 and 15 digits, the largest value, many scopes.
    extremes = ["+1", "+999999999999999", "+100000000000000", "+8869" + "9" * 11]
    pairs = [(f"acct{i}", number) for i in range(40) for number in extremes]
    await ready_cache.add_many(pairs)
    assert all(await ready_cache.lookup_many(pairs))
    assert not any(await ready_cache.lookup_many([("other", n) for n in extremes]))


async def test_lookup_of_1000_items_is_one_round_trip(redis_url: str, redis: Redis) -> None:
    client = CountingRedis.from_url(redis_url)
    assert isinstance(client, CountingRedis)
    client.commands = []
    try:
        cache = SuppressionCache(client)
        await cache.rebuild(ListLedger([("*", n) for n in numbers(500)]))
        await cache.add("acme", FR)
        items = [("acme", n) for n in numbers(999, "+337")] + [("acme", FR)]
        await cache.lookup_many(items)  # loads the script
        before = (await redis.info("commandstats"))["cmdstat_evalsha"]["calls"]
        client.commands.clear()
        found = await cache.lookup_many(items)
        assert client.commands == ["EVALSHA"]
        after = (await redis.info("commandstats"))["cmdstat_evalsha"]["calls"]
        assert after - before == 1
        assert found == [False] * 999 + [True]
    finally:
        await client.aclose()


# --- readiness and rebuild ------------------------------------------------------------------


async def test_before_any_rebuild_the_cache_is_not_ready(redis: Redis) -> None:
    cache = SuppressionCache(redis)
    assert await cache.is_ready() is False
    with pytest.raises(CacheNotReady, match="empty"):
        await cache.lookup("acme", FR)
    await cache.add("acme", FR)  # nowhere to write: the next rebuild reads the ledger
    assert await redis.keys("{sp}:*") == []


async def test_rebuild_loads_the_ledger_and_makes_the_cache_ready(redis: Redis) -> None:
    pairs = [("*", n) for n in numbers(2500)] + [("acme", FR), ("brand2", "SHOP")]
    ledger = ListLedger(pairs)
    seen: list[tuple[int, int]] = []
    cache = SuppressionCache(redis)
    assert await cache.rebuild(ledger, progress=lambda done, total: seen.append((done, total)),
                               batch=1000) == len(pairs)
    assert await cache.is_ready()
    assert all(await cache.lookup_many(pairs))
    assert await cache.lookup_many([("acme", n) for n in numbers(3)]) == [True] * 3
    assert seen[0] == (0, len(pairs)) and seen[-1] == (len(pairs), len(pairs))
    assert [done for done, _ in seen] == [0, 1000, 2000, 2502]
    assert ledger.threads == {"stopgate-ledger-scan"}  # never on the event loop's thread
    state = await cache.state()
    assert state.members == len(pairs) and state.base == 0 and state.building is None


async def test_rebuild_reads_an_async_ledger_too(redis: Redis) -> None:
    pairs = [("*", n) for n in numbers(25)] + [("acme", FR)]
    ledger = AsyncListLedger(ListLedger(pairs))
    cache = SuppressionCache(redis)
    assert await cache.rebuild(ledger, batch=10) == 26
    assert all(await cache.lookup_many(pairs)) and ledger.closed
    assert ledger.ledger.threads == {threading.current_thread().name}  # its own business


async def test_a_ledger_failing_mid_rebuild_leaves_the_cache_not_ready(redis: Redis) -> None:
    ledger = ListLedger([("*", n) for n in numbers(30)])
    ledger.failures = 1
    cache = SuppressionCache(redis)
    with pytest.raises(OSError, match="disk I/O"):
        await cache.rebuild(ledger, batch=10)
    state = await cache.state()
    assert state.ready is None and state.building is None  # the lock is let go at once
    keeper = keeper_for(cache, ledger)
    ledger.failures = 2
    keeper.start()
    try:
        await within(keeper.wait_ready())
        assert ledger.scans == 4 and keeper.rebuilds == 1
        assert all(await cache.lookup_many([("acme", n) for n in numbers(30)]))
    finally:
        await keeper.stop()


async def test_rebuild_replaces_the_previous_generation_and_sweeps_it(redis: Redis) -> None:
    cache = SuppressionCache(redis)
    await cache.rebuild(ListLedger([("acme", FR), ("acme", UK)]))
    old = (await cache.state()).ready
    assert old is not None
    await cache.rebuild(ListLedger([("acme", UK)]))
    assert await cache.lookup_many([("acme", FR), ("acme", UK)]) == [False, True]
    generation = old.split(":")[0]
    assert await redis.keys(f"{{sp}}:{generation}:*") == []


async def test_buckets_are_intsets(redis: Redis) -> None:
    cache = SuppressionCache(redis)
    await cache.rebuild(ListLedger([(f"acct{i % 50}", n) for i, n in enumerate(numbers(20_000))]))
    state = await cache.state()
    assert state.ready is not None and state.bits == bits_for(20_000)
    generation = state.ready.split(":")[0]
    keys = [key async for key in redis.scan_iter(f"{{sp}}:{generation}:*", count=1000)]
    buckets = [key for key in keys if key.rsplit(b":", 1)[1].isdigit()]
    assert 0 < len(buckets) <= 2**state.bits
    for key in buckets[:50]:
        assert await redis.object("encoding", key) == b"intset"


async def test_a_cache_reads_and_writes_a_generation_with_other_bucket_bits(
    redis: Redis,
) -> None:
    builder = SuppressionCache(redis, buckets=2**16)
    await builder.rebuild(ListLedger([("acme", FR), ("*", UK)]))
    writer = SuppressionCache(redis)  # guesses 2**12 buckets: the scripts re-split
    await writer.add("brand2", FR)
    await writer.remove("acme", FR)
    assert await builder.lookup_many([("brand2", FR), ("acme", FR)]) == [True, False]
    reader = SuppressionCache(redis)
    assert await reader.lookup_many([("brand2", FR), ("x", UK), ("x", FR)]) == [True, True, False]
    assert await reader.lookup_many([("brand2", FR), ("x", UK), ("x", FR)]) == [True, True, False]


async def test_memory_per_number_at_200k_numbers(redis: Redis) -> None:
    cache = SuppressionCache(redis)
    with pytest.raises(CacheNotReady):
        await cache.lookup("acme", FR)  # the script is loaded before the baseline
    before = int((await redis.info("memory"))["used_memory"])
    count = 200_000
    loaded = await cache.rebuild(ListLedger([("*", n) for n in numbers(count)]), batch=20_000)
    after = int((await redis.info("memory"))["used_memory"])
    per_number = (after - before) / loaded
    print(f"\nsuppression cache: {per_number:.1f} bytes of Redis memory per number "
          f"at {loaded:,} numbers")
    assert loaded == count
    assert per_number < 40


# --- concurrency with a rebuild ---------------------------------------------------------------


async def test_write_through_during_a_rebuild_is_kept(redis: Redis) -> None:
    listed = numbers(6)
    ledger = ListLedger([("*", n) for n in listed])
    ledger.hold = threading.Event()
    cache = SuppressionCache(redis)
    first_batch = asyncio.Event()

    def progress(done: int, total: int) -> None:
        if done:
            first_batch.set()

    rebuild = asyncio.create_task(cache.rebuild(ledger, progress=progress, batch=2))
    try:
        await within(first_batch.wait())
        with pytest.raises(CacheNotReady, match="in progress"):
            await cache.lookup("acme", listed[0])
        # An opt-out and an opt-in while the loader still holds the older snapshot.
        ledger.opt_out("acme", FR)
        await cache.add("acme", FR)
        ledger.opt_in("*", listed[5])  # in a batch not loaded yet
        await cache.remove("*", listed[5])
    finally:
        ledger.hold.set()
    assert await within(rebuild) == 6
    assert await cache.lookup_many([("acme", FR), ("acme", listed[5]), ("acme", listed[0])]) \
        == [True, False, True]
    assert (await cache.state()).members == 6  # 5 + FR, after the tombstone


async def test_second_instance_waits_for_the_first_rebuild(redis_url: str, redis: Redis) -> None:
    ledger = ListLedger([("*", n) for n in numbers(10)])
    ledger.hold = threading.Event()
    first = SuppressionCache(redis, poll=0.05)
    other_client = Redis.from_url(redis_url)
    second = SuppressionCache(other_client, poll=0.05)
    try:
        loading = asyncio.create_task(first.rebuild(ledger, batch=5))
        while (await first.state()).building is None:
            await asyncio.sleep(0.01)
        waiting = asyncio.create_task(second.rebuild(ledger, batch=5))
        await asyncio.sleep(0.2)
        assert not waiting.done()
        ledger.hold.set()
        assert await within(loading) == 10
        assert await within(waiting) == 0  # it loaded nothing itself
        assert ledger.scans == 1
        assert await second.lookup("acme", numbers(1)[0]) is True
    finally:
        ledger.hold.set()
        await other_client.aclose()


async def test_a_rebuild_for_want_of_a_ready_cache_keeps_one_finished_meanwhile(
    redis: Redis,
) -> None:
    """Two instances find the cache not ready at start; one rebuilds it; the other, taking
    the lock only afterwards, must not drop the finished generation and read the whole
    ledger again (every instance would refuse promotions meanwhile)."""
    ledger = ListLedger([("*", n) for n in numbers(10)])
    late = SuppressionCache(redis, owner="stopgate-b-0")
    assert not await late.is_ready()
    assert await SuppressionCache(redis, owner="stopgate-a-0").rebuild(ledger) == 10
    ready = (await late.state()).ready
    assert await late.rebuild(ledger, unless_ready=True) == 0
    assert ledger.scans == 1
    state = await late.state()
    assert state.ready == ready and state.building is None and state.members == 10
    # Without the flag (an operator's forced rebuild, a re-layout) it does rebuild.
    assert await late.rebuild(ledger) == 10
    assert (await late.state()).ready != ready


async def test_a_rebuild_left_by_an_earlier_life_of_the_instance_is_taken_over(
    redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    ledger = ListLedger([("*", n) for n in numbers(10)])
    # An earlier life of instance "stopgate-a-0" took the lock and was killed while loading
    # (its lease has ~30 s left). Other instances wait it out; its successor does not.
    dead = SuppressionCache(redis, owner="stopgate-a-0", poll=0.05)
    assert await dead._acquire(args=["0badcafe:12", dead.lease_ms, "1", dead.owner,
                                     dead._life]) == 1
    for other in ("stopgate-a-1", "stopgate-a-01", "stopgate-a", ""):
        stranger = SuppressionCache(redis, owner=other)
        assert await stranger._acquire(args=["1badcafe:12", stranger.lease_ms, "1",
                                             stranger.owner, stranger._life]) == 0, other
    assert (await dead.state()).building == "0badcafe:12"
    successor = SuppressionCache(redis, owner="stopgate-a-0", poll=0.05)
    assert await within(successor.rebuild(ledger)) == 10
    assert "taking over the rebuild" in caplog.text
    state = await successor.state()
    assert state.building is None and state.ready is not None and state.members == 10
    assert await redis.exists("{sp}:builder") == 0
    assert await successor.lookup("acme", numbers(1)[0]) is True


async def test_online_rebuild_keeps_answering_lookups(redis: Redis) -> None:
    ledger = ListLedger([("acme", FR)])
    cache = SuppressionCache(redis)
    await cache.rebuild(ledger)
    ledger.hold = threading.Event()
    ledger.pairs += [("*", n) for n in numbers(4)]
    online = asyncio.create_task(cache.rebuild(ledger, batch=2, online=True))
    try:
        while (await cache.state()).building is None:
            await asyncio.sleep(0.01)
        assert await cache.lookup("acme", FR) is True  # the old generation still answers
        ledger.opt_out("brand2", UK)
        await cache.add("brand2", UK)  # lands in both generations
        assert await cache.lookup("brand2", UK) is True
    finally:
        ledger.hold.set()
    await within(online)
    assert all(await cache.lookup_many(ledger.pairs))


def test_relayout_is_asked_for_when_buckets_outgrow_their_size() -> None:
    assert relayout_bits(CacheState("abcd0123:12", 4096 * 100, 0, None)) is None
    assert relayout_bits(CacheState("abcd0123:12", 4096 * 450, 0, None)) == bits_for(4096 * 450)
    assert relayout_bits(CacheState("abcd0123:16", 1000, 0, None)) == 12
    assert relayout_bits(CacheState("abcd0123:12", 10, 0, None)) is None
    assert relayout_bits(CacheState(None, 0, None, None)) is None
    assert encode_number("+33612345678", 12) == encode_number("33612345678", 12)
    assert encode_number("SHOP", 12) == ("a", "SHOP")


async def test_keeper_re_lays_out_a_generation_without_refusing_lookups(redis: Redis) -> None:
    ledger = ListLedger([("acme", FR), ("*", UK)])
    await SuppressionCache(redis, buckets=2**16).rebuild(ledger)  # far too many buckets
    cache = SuppressionCache(redis)
    refused: list[str] = []

    async def look_up_all_the_time() -> None:
        while True:
            try:
                assert await cache.lookup_many([("acme", FR), ("x", UK)]) == [True, True]
            except CacheNotReady as exc:
                refused.append(str(exc))
            await asyncio.sleep(0.005)

    keeper = keeper_for(cache, ledger, verify_every=0.05, settle=0.05)
    looker = asyncio.create_task(look_up_all_the_time())
    keeper.start()
    try:
        await eventually(lambda: keeper.rebuilds == 1)
        assert (await cache.state()).bits == 12
        assert refused == [] and not looker.done()
    finally:
        looker.cancel()
        await keeper.stop()


# --- the keeper -------------------------------------------------------------------------------


def keeper_for(cache: SuppressionCache, ledger: ListLedger, **options: Any) -> CacheKeeper:
    options.setdefault("verify_every", None)
    return CacheKeeper(cache, ledger, interval=0.05, max_backoff=0.2, **options)


async def test_keeper_rebuilds_after_redis_is_flushed(redis: Redis) -> None:
    ledger = ListLedger([("acme", FR), ("*", UK)])
    cache = SuppressionCache(redis)
    changes: list[tuple[bool, bool]] = []
    keeper = keeper_for(cache, ledger,
                        on_change=lambda k: changes.append((k.ready, k.rebuilding)))
    keeper.start()
    try:
        await within(keeper.wait_ready())
        assert await cache.lookup("acme", FR) is True
        await redis.flushdb()
        with pytest.raises(CacheNotReady):
            await cache.lookup("acme", FR)
        await eventually(cache.is_ready)
        await within(keeper.wait_ready())
        assert await cache.lookup_many([("acme", FR), ("acme", UK)]) == [True, True]
        assert keeper.rebuilds == 2 and keeper.progress == (2, 2)
        assert (False, True) in changes and changes[-1] == (True, False)
        assert keeper.suppressed == 2
    finally:
        await keeper.stop()


async def test_keeper_survives_redis_killed_and_restarted_empty(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path, appendonly=False)
    server.start()
    client = Redis.from_url(server.url)
    ledger = ListLedger([("acme", FR)])
    cache = SuppressionCache(client)
    keeper = keeper_for(cache, ledger)
    keeper.start()
    try:
        await within(keeper.wait_ready())
        server.kill()
        with pytest.raises(RedisConnectionError):  # the caller fails closed
            await cache.lookup("acme", FR)
        await eventually(lambda: not keeper.ready)
        ledger.opt_out("acme", UK)  # recorded while Redis is away: the write-through fails
        with pytest.raises(RedisConnectionError):
            await cache.add("acme", UK)
        await asyncio.sleep(0.3)  # the keeper backs off meanwhile
        server.start()  # empty: no AOF, no RDB
        await within(keeper.wait_ready())
        assert await cache.lookup_many([("acme", FR), ("acme", UK)]) == [True, True]
        assert keeper.rebuilds == 2
    finally:
        await keeper.stop()
        await client.aclose()
        server.stop()


async def test_failed_write_through_refuses_lookups_until_rebuilt(tmp_path: Path) -> None:
    # Redis comes back *with* its data (AOF), but without the opt-out that failed to land.
    server = EmbeddedRedis(tmp_path, appendonly=True)
    server.start()
    client = Redis.from_url(server.url)
    ledger = ListLedger([("acme", FR)])
    cache = SuppressionCache(client)
    try:
        await cache.rebuild(ledger)
        server.stop()
        ledger.opt_out("acme", UK)
        with pytest.raises(RedisConnectionError):
            await cache.add("acme", UK)
        server.start()
        assert (await cache.state()).ready is not None  # Redis alone would say "complete"
        with pytest.raises(CacheNotReady, match="write-through failed"):
            await cache.lookup("acme", UK)
        keeper = keeper_for(cache, ledger)
        keeper.start()
        try:
            await within(keeper.wait_ready())
            assert await cache.lookup("acme", UK) is True
        finally:
            await keeper.stop()
    finally:
        await client.aclose()
        server.stop()


async def test_an_invalidation_that_does_not_reach_redis_keeps_the_cache_dirty(
    tmp_path: Path,
) -> None:
    # The keeper invalidates a dirty cache at its next check; if Redis is still down (or
    # loading its AOF) then, the marker restored from the AOF must not be trusted later.
    server = EmbeddedRedis(tmp_path, appendonly=True)
    server.start()
    client = Redis.from_url(server.url)
    ledger = ListLedger([("acme", FR)])
    cache = SuppressionCache(client)
    try:
        await cache.rebuild(ledger)
        server.stop()
        ledger.opt_out("acme", UK)
        with pytest.raises(RedisConnectionError):
            await cache.add("acme", UK)
        with pytest.raises(RedisConnectionError):
            await cache.invalidate("a write-through to Redis failed on this instance")
        assert cache.dirty
        server.start()
        assert (await cache.state()).ready is not None
        with pytest.raises(CacheNotReady, match="write-through failed"):
            await cache.lookup("acme", UK)
        assert not await cache.is_ready()
    finally:
        await client.aclose()
        server.stop()


async def test_keeper_notices_an_opt_out_that_never_reached_redis(redis: Redis) -> None:
    ledger = ListLedger([("acme", FR)])
    cache = SuppressionCache(redis)
    keeper = keeper_for(cache, ledger, verify_every=0.1, settle=0.1)
    keeper.start()
    try:
        await within(keeper.wait_ready())
        ledger.opt_out("acme", UK)  # e.g. the gateway died between ledger and Redis
        await eventually(lambda: keeper.rebuilds == 2 and keeper.ready)
        assert await cache.lookup("acme", UK) is True
    finally:
        await keeper.stop()


async def test_aliases_in_the_ledger_do_not_cause_rebuild_loops(redis: Redis) -> None:
    ledger = ListLedger([("acme", FR), ("acme", FR.lstrip("+"))])  # one member, two rows
    cache = SuppressionCache(redis)
    keeper = keeper_for(cache, ledger, verify_every=0.05, settle=0.05)
    keeper.start()
    try:
        await within(keeper.wait_ready())
        await asyncio.sleep(0.5)
        assert keeper.rebuilds == 1 and keeper.ready
        assert (await cache.state()).base == 1
    finally:
        await keeper.stop()
