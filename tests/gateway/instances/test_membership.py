"""The membership of processes sharing one Redis, and the shares of the total limits each
one holds: against a real Redis, with the carrier pool replaced by a recorder of what it
was told to hold (the pool's own behaviour is tested in tests/integration/test_instances.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from prometheus_client import CollectorRegistry, Gauge
from redis.asyncio import Redis

from gateway.instances.membership import (
    LIFE,
    DuplicateInstance,
    Membership,
    Totals,
    member_shares,
)
from gateway.limits import TokenBucket
from tests.support.waiting import eventually, within

TOTALS = Totals({"sim": 5}, {"sim": 100}, {"acme": 10}, workers=1)


class Held:
    """What a process holds at the carrier, as the membership set it; ``log`` keeps every
    change so a test can replay the sum over time."""

    def __init__(self, name: str, log: list[tuple[str, str, float]]) -> None:
        self.name = name
        self.sessions: dict[str, int] = {}
        self.tps: dict[str, float] = {}
        self.log = log
        self.draining = False  # True: lowered sessions are still "bound"

    def set_sessions(self, name: str, count: int) -> None:
        self.sessions[name] = count
        self.log.append((self.name, "sessions", count))

    def set_tps(self, name: str, tps: float) -> None:
        self.tps[name] = tps
        self.log.append((self.name, "tps", tps))

    def retired(self) -> bool:
        return not self.draining


#: Every member a test made: stopped after it, whatever the test's outcome, so no
#: heartbeat outlives its test.
_MADE: list[Membership] = []


@pytest.fixture
async def client(redis: Redis) -> AsyncIterator[Redis]:
    try:
        yield redis
    finally:
        made = list(_MADE)
        _MADE.clear()
        for membership in made:
            await within(membership.stop())


def member(redis: Redis, instance: str, log: list[tuple[str, str, float]], *,
           life: str = LIFE, totals: Totals = TOTALS, slot: int = 0) -> Membership:
    held = Held(f"{instance}/{slot}", log)
    membership = Membership(redis, totals, instance=instance, slot=slot, carriers=held,
                            buckets={"acme": TokenBucket(10, 0.0)}, interval=0.05, ttl=0.5)
    membership.life = life
    _MADE.append(membership)
    return membership


def held(membership: Membership) -> Held:
    carriers = membership.carriers
    assert isinstance(carriers, Held)
    return carriers


def sums(log: list[tuple[str, str, float]], kind: str) -> list[float]:
    """The total held after each change in ``log``."""
    now: dict[str, float] = {}
    totals = []
    for who, what, value in log:
        if what == kind:
            now[who] = value
            totals.append(sum(now.values()))
    return totals


def test_shares_split_between_instances_then_between_workers() -> None:
    totals = Totals({"sim": 5}, {"sim": 100}, {"acme": 9}, workers=2)
    members = ["a/0", "a/1", "b/0", "b/1", "c/0"]  # c runs one worker of its two
    held = [member_shares(totals, members, instance, slot)
            for instance in "abc" for slot in range(2)]
    # 5 sessions over 3 instances is 2/2/1, then split over each instance's 2 workers
    assert [h.sessions["sim"] for h in held] == [1, 1, 1, 1, 1, 0]
    assert sum(h.sessions["sim"] for h in held) == 5
    # tps: exact fractions, never 0 (0 would mean unlimited), adding up to the total
    assert {h.upstream_tps["sim"] for h in held} == {100 / 6}
    assert sum(h.account_tps["acme"] for h in held) == pytest.approx(9)
    unlimited = Totals({"sim": 1}, {"sim": 0}, {"acme": 0}, workers=1)
    alone = member_shares(unlimited, [], "a", 0)
    assert alone.upstream_tps["sim"] == 0 and alone.account_tps["acme"] == 0
    assert alone.sessions["sim"] == 1


async def test_a_joining_process_takes_its_share_only_once_the_others_lowered_theirs(
    client: Redis,
) -> None:
    log: list[tuple[str, str, float]] = []
    a, b = member(client, "a", log), member(client, "b", log)
    await a.start()
    await eventually(lambda: a.held.sessions["sim"] == 5, "a alone holds every session")
    # a cannot finish lowering (its lowered sessions stay bound) until told
    held(a).draining = True
    await b.start()
    await eventually(lambda: a.held.sessions["sim"] == 3, "a lowers to its share at once")
    await asyncio.sleep(0.3)  # several heartbeats: b still waits for a's acknowledgement
    assert b.held.sessions["sim"] == 0
    held(a).draining = False
    await eventually(lambda: b.held.sessions["sim"] == 2, "b takes its share once a lowered")
    assert b.buckets["acme"].rate == 5 and a.buckets["acme"].rate == 5
    assert held(a).tps["sim"] == 50 and held(b).tps["sim"] == 50
    # never more than the total, at any step
    assert max(sums(log, "sessions")) == 5
    # a leaves: b takes up the whole total
    await a.stop()
    await eventually(lambda: b.held.sessions["sim"] == 5, "b holds every session")
    assert held(b).tps["sim"] == 100
    assert b.buckets["acme"].rate == 10
    await b.stop()


async def test_a_start_returns_holding_its_share_once_the_others_made_room(
    client: Redis, caplog: pytest.LogCaptureFixture,
) -> None:
    """A process that started holding nothing would answer its first MTs ESME_RTHROTTLED:
    its start waits for the others' acknowledgement (they give it on their next heartbeat),
    and gives up waiting, holding nothing yet, when one cannot make room in time."""
    log: list[tuple[str, str, float]] = []
    a, b = member(client, "a", log), member(client, "b", log)
    await within(a.start())
    assert a.settled and a.held.sessions["sim"] == 5
    await within(b.start())
    assert b.settled and b.held.sessions["sim"] == 2 and b.buckets["acme"].rate == 5
    # The order of events: a lowered its share, then b took its own, then b's start
    # returned (holding it); the sum never went over the total.
    changes = [(who, value) for who, what, value in log if what == "sessions"]
    assert changes.index(("a/0", 3)) < changes.index(("b/0", 2))
    assert max(sums(log, "sessions")) == 5
    await within(b.stop())
    await eventually(lambda: a.held.sessions["sim"] == 5, "a holds every session again")
    held(a).draining = True  # a cannot finish lowering
    c = member(client, "c", log)
    await within(c.start())
    # It gave up waiting (said so) and returned holding nothing: a never made room.
    assert not c.settled and c.held.sessions["sim"] == 0
    assert "membership_unsettled" in {getattr(r, "event", "") for r in caplog.records}
    assert {value for who, what, value in log if who == "c/0" and what == "sessions"} == {0}
    log.append(("test", "a lowered", 0))
    held(a).draining = False
    await eventually(lambda: c.held.sessions["sim"] == 2, "c takes its share once a lowered")
    # c's share came only after a finished lowering.
    assert log.index(("c/0", "sessions", 2)) > log.index(("test", "a lowered", 0))
    await within(a.stop())
    await within(c.stop())


async def test_a_killed_process_is_dropped_after_the_ttl(client: Redis) -> None:
    log: list[tuple[str, str, float]] = []
    a, b = member(client, "a", log), member(client, "b", log)
    await a.start()
    await b.start()
    await eventually(lambda: b.held.sessions["sim"] == 2 and a.held.sessions["sim"] == 3,
                     "both hold their shares")
    # "killed": a stops heartbeating without leaving
    assert a._task is not None
    a._task.cancel()
    await eventually(lambda: b.held.sessions["sim"] == 5, "b takes up a's share", 5.0)
    assert b.members == ["b/0"]
    await b.stop()


async def test_a_second_live_process_with_the_same_name_is_refused(client: Redis) -> None:
    log: list[tuple[str, str, float]] = []
    first = member(client, "same", log, life="one")
    await first.start()
    second = member(client, "same", log, life="two")
    with pytest.raises(DuplicateInstance, match=r"server\.instance_id = 'same'"):
        await second.start()
    assert second.held.sessions["sim"] == 0  # it never held anything
    await first.stop()


async def test_a_dead_predecessors_name_is_taken_over_at_start(client: Redis) -> None:
    log: list[tuple[str, str, float]] = []
    killed = member(client, "same", log, life="one")
    await killed.start()
    assert killed._task is not None
    killed._task.cancel()  # killed: its entry stays until the TTL
    successor = member(client, "same", log, life="two")
    await successor.start()
    await eventually(lambda: successor.held.sessions["sim"] == 5, "the successor holds all")
    await successor.stop()


async def test_redis_unreachable_keeps_the_shares_held_and_a_start_holds_nothing() -> None:
    dead = Redis.from_url("redis://127.0.0.1:1", socket_connect_timeout=0.2)
    log: list[tuple[str, str, float]] = []
    lonely = member(dead, "a", log)
    await lonely.start()  # does not fail: it holds nothing until Redis answers
    assert lonely.held.sessions["sim"] == 0 and lonely.redis_ok is False
    await lonely.stop()
    await dead.aclose()


async def test_redis_lost_while_running_keeps_the_shares(client: Redis, redis_url: str) -> None:
    log: list[tuple[str, str, float]] = []
    a = member(client, "a", log)
    await a.start()
    await eventually(lambda: a.held.sessions["sim"] == 5, "a holds every session")
    dead = Redis.from_url("redis://127.0.0.1:1", socket_connect_timeout=0.2)
    a.redis = dead
    a._heartbeat = dead.register_script(a._heartbeat.script)
    await eventually(lambda: a.redis_ok is False, "the heartbeat fails")
    assert a.held.sessions["sim"] == 5 and held(a).sessions["sim"] == 5
    await a.stop()
    await dead.aclose()


async def test_each_process_says_how_many_instances_there_are_and_its_rank(
    client: Redis,
) -> None:
    registry = CollectorRegistry()
    gauges = {name: Gauge(f"instances_{name}", "live instances", registry=registry)
              for name in "ab"}
    log: list[tuple[str, str, float]] = []
    a = member(client, "a", log)
    b = member(client, "b", log)
    c = member(client, "b", log, slot=1)  # a second worker of b: still two instances
    a.gauge, b.gauge = gauges["a"], gauges["b"]
    assert a.instances() == (0, None)  # before the first heartbeat: unknown
    try:
        await a.start()
        assert a.instances() == (1, 0)
        await b.start()
        await c.start()
        await eventually(lambda: (a.instances(), b.instances(), c.instances())
                         == ((2, 0), (2, 1), (2, 1)), "both instances seen by everyone")
        assert [registry.get_sample_value(f"instances_{n}") for n in "ab"] == [2, 2]
        await b.stop()
        await c.stop()
        await eventually(lambda: a.instances() == (1, 0), "a alone again")
        assert registry.get_sample_value("instances_a") == 1
    finally:
        for process in (a, b, c):
            await process.stop()
