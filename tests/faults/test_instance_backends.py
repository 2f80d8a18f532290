"""Two real `stopgate serve` instances under a mixed load while a shared backend fails.

Each instance is a process of its own with its own data_dir, carrier login and sender
sessions (tests/integration/instances.py); both share one ledger and one Redis. The
load on each: two sender sessions of promotional and transactional messages, short and
multipart (tests/faults/mixed_traffic.py, tags kept apart per instance), their receipts,
and a stream of STOPs from distinct numbers injected at the carrier simulator, in turn
for A's login and B's, so each instance takes half of them. The carrier is patient: an
MO refused (ESME_RX_T_APPN) or unanswered is sent again every 0.2 s.

**PostgreSQL restarted** (a server of the test's own, stopped by a fast shutdown, or
crashed: every server process SIGKILLed; then started again on the same port and data,
after crash recovery for the latter). While it is down: both instances answer their STOPs
ESME_RX_T_APPN (0x64) and the carrier retries them, promotional MTs are refused with
0x64 (fail closed), transactional MTs pass and reach the carrier, /readyz is 503 with
``ledger: unreachable``. Once it is back, both recover without a restart: every retried
STOP is acknowledged, recorded exactly once in the ledger (its events counted), and
blocks the next promotional MT on both instances.

**Redis master failover** (Sentinel: a master, a replica, a sentinel of the test's
own; both instances configured with ``redis_sentinels`` / ``redis_service``). Just
before the master is SIGKILLed, an opt-out is taken on B while the replica is frozen
and its link cut, so the promoted replica never sees it. While no master answers,
promotions are refused with 0x64 on both instances, transactional MTs pass and reach the
carrier, and every STOP is acknowledged at its first try (the ledger holds it; Redis is
not waited for); nothing promotional ever reaches an opted-out number, on either
instance, whichever instance took the opt-out (before the kill, unreplicated, or by STOP
during the outage). Once the sentinel has promoted the replica, both recover without a
restart, each STOP is recorded once and blocks on both, and an opt-out taken on A after
the failover blocks the next promotion on B.

In both: every message a sender got ESME_ROK for reaches the carrier and its receipts
reach the sender, and each STOP's sender gets one confirmation, whatever the tries.

Every wait is bounded; nothing is timed.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from rules.packs.keywords import render_reply, replies_for
from simulator.carrier import CarrierSimulator
from tests.faults.carrier_side import MoAnswers
from tests.faults.mixed_traffic import MixedTraffic, Sent, statuses, tags_in
from tests.integration.instances import (
    BOUND,
    Instance,
    carrier_simulator,
    running_instances,
)
from tests.integration.policy_stack import BLOCKED, UNKNOWN_STATE, digits, send_one, submit
from tests.integration.served import SHORTCODE
from tests.support.ledgers import Raw
from tests.support.metrics import metric
from tests.support.postgres import ThrowawayPostgres
from tests.support.redis_servers import SentinelSet, sentinel_set
from tests.support.waiting import eventually

OK = 0
#: The reply to a STOP, sent once it is recorded: the French pack's, from acme.
CONFIRMATION = render_reply(replies_for("FR").confirm_text, brand="acme")
STEP = 15.0  # one phase of a test: far above what it takes, far below the test's own bound


# --- the load ------------------------------------------------------------------------------


class StopStream:
    """STOPs from distinct numbers injected at the carrier every ``every`` seconds, for
    each login in turn; each remembered with the login it went to and the phase it was
    injected in."""

    def __init__(self, carrier: CarrierSimulator, logins: Sequence[str], prefix: str,
                 every: float = 0.1) -> None:
        self.carrier = carrier
        self.logins = tuple(logins)
        self.prefix = prefix  # 7 digits: the numbers are +prefix and 4 digits (FR mobiles)
        self.every = every
        self.phase = "before"
        self.paused = False
        self.sent: list[tuple[str, str, str]] = []  # number, login, phase
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        for n in itertools.count():
            while self.paused:
                await asyncio.sleep(self.every)
            number = f"+{self.prefix}{n:04d}"
            login = self.logins[n % len(self.logins)]
            await self.carrier.inject_mo(number, SHORTCODE, "STOP", system_id=login)
            self.sent.append((number, login, self.phase))
            await asyncio.sleep(self.every)

    def numbers(self, *, phase: str | None = None, login: str | None = None) -> list[str]:
        return [number for number, to, when in self.sent
                if (phase is None or when == phase) and (login is None or to == login)]


class Load:
    """A mixed stream on each instance, and the STOP stream; one phase for all."""

    def __init__(self, instances: Sequence[Instance], carrier: CarrierSimulator,
                 targets: Sequence[str], stop_prefix: str) -> None:
        self.traffics = [MixedTraffic(instance.smpp_port, targets, sessions=2, pause=0.01,
                                      first_session=2 * n)
                         for n, instance in enumerate(instances)]
        self.stops = StopStream(carrier, [i.login for i in instances], stop_prefix)
        self._phase = "before"

    @property
    def phase(self) -> str:
        return self._phase

    @phase.setter
    def phase(self, value: str) -> None:
        self._phase = self.stops.phase = value
        for traffic in self.traffics:
            traffic.phase = value

    async def start(self) -> None:
        for traffic in self.traffics:
            await traffic.start()
        self.stops.start()

    async def halt(self) -> None:
        await self.stops.stop()
        for traffic in self.traffics:
            await traffic.halt()

    async def close(self) -> None:
        await self.stops.stop()
        for traffic in self.traffics:
            await traffic.close()

    async def until(self, check: Callable[[], object], what: str,
                    timeout: float = STEP) -> None:
        """``eventually`` that also fails at once when a sender session died."""
        def ok() -> bool:
            for traffic in self.traffics:
                traffic.check_running()
            return bool(check())
        await eventually(ok, what, timeout, interval=0.02)

    def each(self, *, phase: str, klass: str, at_least: int,
             to: Sequence[str] | None = None) -> bool:
        """Every instance's stream has ``at_least`` messages of ``klass`` sent in ``phase``."""
        return all(len(t.where(phase=phase, klass=klass, to=to)) >= at_least
                   for t in self.traffics)

    def flowing(self, others: Sequence[str], at_least: int = 4) -> bool:
        """Every instance forwarded ``at_least`` promotions to ``others`` in "after"."""
        return all(len([s for s in t.where(phase="after", klass="promotional", to=others)
                        if s.status == OK]) >= at_least for t in self.traffics)


def check_answers(load: Load, allowed: Callable[[Sent, str], set[int]]) -> None:
    """Every part before the last accepted; the last answered as its phase allows (a
    message sent in one phase and answered in the next may get either phase's answer)."""
    for traffic in load.traffics:
        for sent in traffic.sent:
            assert all(status == OK for status in sent.statuses[:-1]), sent
            assert sent.status in allowed(sent, sent.phase) | allowed(sent, sent.answered_in), \
                sent


def delivered_tags(carrier: CarrierSimulator) -> set[str]:
    return tags_in(m.text for m in carrier.messages())


def promotions_delivered(carrier: CarrierSimulator, numbers: set[str]) -> set[str]:
    """Tags of promotional messages the carrier accepted for ``numbers``."""
    wanted = {digits(number) for number in numbers}
    return tags_in(m.text for m in carrier.messages()
                   if m.destination_addr in wanted and "sale" in m.text.lower())


def texts_to(carrier: CarrierSimulator, numbers: Sequence[str]) -> Counter[tuple[str, str]]:
    """(number, text) of every message the carrier accepted for ``numbers``."""
    wanted = {digits(number): number for number in numbers}
    return Counter((wanted[m.destination_addr], m.text) for m in carrier.messages()
                   if m.destination_addr in wanted)


def check_confirmed_once(carrier: CarrierSimulator, numbers: Sequence[str]) -> None:
    """Nothing reached the STOPs' senders but one confirmation each, however many tries
    the carrier needed: no promotion, no second confirmation."""
    assert texts_to(carrier, numbers) == Counter((n, CONFIRMATION) for n in numbers)


async def check_delivery(load: Load, carrier: CarrierSimulator) -> None:
    """Every accepted message reached the carrier, and its sender got every receipt."""
    accepted = {s.tag for t in load.traffics for s in t.sent if s.status == OK}
    await eventually(lambda: accepted <= delivered_tags(carrier),
                     "every accepted message at the carrier", BOUND)
    for traffic in load.traffics:
        ids = {i for s in traffic.sent if s.status == OK for i in s.ids}
        await eventually(lambda t=traffic, ids=ids: ids <= t.receipt_ids(),
                         "a receipt for every part accepted", BOUND)


# --- the instances ----------------------------------------------------------------------------


async def readyz(instance: Instance) -> tuple[int, dict[str, Any]]:
    status, body = await instance.get("/readyz")
    assert isinstance(body, dict), body
    return status, body


async def until_readyz(instance: Instance, status: int, timeout: float = STEP, **fields: Any
                       ) -> dict[str, Any]:
    """Poll the instance's /readyz until it answers ``status`` (with these ``fields`` in
    its body); its body then."""
    async def check() -> dict[str, Any] | None:
        got, body = await readyz(instance)
        if got == status and all(body.get(k) == v for k, v in fields.items()):
            return body
        return None
    found: dict[str, Any] = await eventually(
        check, f"/readyz {status} on {instance.name}", timeout, interval=0.05)
    return found


async def opt_out_at(instance: Instance, number: str) -> None:
    """PUT /v1/suppressions on ``instance``: recorded in the ledger, then in Redis."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=BOUND)) as http, \
            http.put(f"{instance.url}/v1/suppressions/{number}",
                     headers={"Authorization": "Bearer acme-key"}) as response:
        assert response.status == 200, await response.text()


async def promotion_answers(instance: Instance, numbers: Sequence[str]) -> dict[str, int]:
    """A promotional submit to each number through a new bind on ``instance``; the answers."""
    link, _ = await instance.bind("transmitter")
    found = {number: (await send_one(link, submit(to=number))).command_status
             for number in numbers}
    await asyncio.wait_for(link.unbind(), BOUND)
    return found


@pytest.fixture
async def patient_carrier() -> AsyncIterator[CarrierSimulator]:
    """Each instance's carrier login; an MO refused or unanswered comes again every 0.2 s
    (for longer than any test), and a slow answer is waited for (3 s), so a STOP the
    gateway did take is not sent twice."""
    carrier = carrier_simulator(2, deliver_timeout=3.0, retry_delay=0.2,
                                deliver_attempts=1000)
    await carrier.start("127.0.0.1", 0)
    try:
        yield carrier
    finally:
        await carrier.stop()


# --- PostgreSQL restarted --------------------------------------------------------------------

PG_OPTED_OUT = "+33611000001"  # opted out at A before the fault
PG_OTHERS = ("+33633000001", "+33633000002")


def pg_allowed(sent: Sent, phase: str) -> set[int]:
    if sent.klass == "transactional":
        return {OK}
    usual = BLOCKED if sent.to == PG_OPTED_OUT else OK
    if phase == "down":
        return {UNKNOWN_STATE}
    if phase in ("before", "after"):
        return {usual}
    return {usual, UNKNOWN_STATE}  # dying, restarting: either side of the change


@pytest.mark.parametrize("down", ["stopped", "crashed"])
async def test_postgresql_restarted_under_two_instances_stops_wait_and_are_recorded_once(
        throwaway_postgres: ThrowawayPostgres, flushed_redis: str, tmp_path: Path,
        patient_carrier: CarrierSimulator, down: str) -> None:
    pg, carrier = throwaway_postgres, patient_carrier
    db = Raw("postgresql", pg.dsn)
    port = pg.port
    answers = MoAnswers(carrier)
    async with running_instances(2, tmp_path, carrier=carrier, redis_url=flushed_redis,
                                 ledger=pg.dsn, storage='ledger_busy_timeout = "1s"\n'
                                 ) as pair:
        a, b = pair
        await eventually(lambda: carrier.stats.binds >= 2, "both carrier binds", BOUND)
        for instance in pair:
            await until_readyz(instance, 200)
        await opt_out_at(a, PG_OPTED_OUT)
        load = Load(pair, carrier, (PG_OPTED_OUT, *PG_OTHERS), stop_prefix="3361300")
        await load.start()
        try:
            # --- before: everything flows, every STOP recorded and acknowledged ---------
            await load.until(lambda: load.each(phase="before", klass="promotional",
                                               at_least=6)
                             and load.each(phase="before", klass="transactional", at_least=6)
                             and len(load.stops.sent) >= 4, "traffic before the fault")
            load.stops.paused = True  # no STOP in flight at the kill (its fate is unknown)
            await load.until(lambda: all(answers.acknowledged(n) for n in load.stops.numbers()),
                             "the STOPs before the fault acknowledged")

            # --- PostgreSQL dies: noticed by both instances --------------------------------
            load.phase = "dying"
            await asyncio.to_thread(pg.stop if down == "stopped" else pg.kill)
            load.stops.paused = False
            for instance in pair:
                body = await until_readyz(instance, 503)
                assert body["ledger"] is False and body["reasons"] == {"ledger": "unreachable"}, \
                    (instance.name, body)
                assert body["redis"] is True and body["suppression_cache"] is True, body
            load.phase = "down"

            def refused_again(login: str) -> bool:
                """A STOP at ``login``'s instance refused, retried by the carrier, and
                refused again."""
                return any(answers.statuses(number).count(UNKNOWN_STATE) >= 2
                           for number in load.stops.numbers(login=login))

            await load.until(lambda: load.each(phase="down", klass="promotional", at_least=6)
                             and load.each(phase="down", klass="transactional", at_least=6)
                             and refused_again(a.login) and refused_again(b.login)
                             and len(load.stops.numbers(phase="down")) >= 4,
                             "traffic and STOPs refused while PostgreSQL is down")
            for instance in pair:
                status, body = await readyz(instance)
                assert status == 503 and body["reasons"] == {"ledger": "unreachable"}, body
                _, scrape = await instance.get("/metrics")
                assert metric(str(scrape), "stopgate_ledger_writable") == 0
                assert metric(str(scrape), "stopgate_ledger_write_failures_total",
                              reason="unreachable") >= 1
                refusals = instance.events("promotional_refused")  # what the operator reads
                assert refusals and refusals[0]["error"] == (
                    "the ledger cannot record opt-outs (unreachable)"), refusals
            down_stops = load.stops.numbers(phase="dying") + load.stops.numbers(phase="down")
            assert not any(answers.acknowledged(n) for n in down_stops)

            # --- PostgreSQL back, same port and data: both recover by themselves --------
            load.phase = "restarting"
            await asyncio.to_thread(pg.start)
            assert pg.port == port
            for instance in pair:
                body = await until_readyz(instance, 200)
                assert body["ledger"] is True and body["reasons"] == {}, body
            load.phase = "after"
            await load.until(lambda: all(answers.acknowledged(n) for n in down_stops),
                             "the retried STOPs acknowledged")
            await load.until(lambda: load.flowing(PG_OTHERS)
                             and len(load.stops.numbers(phase="after")) >= 4,
                             "promotions and STOPs flowing again")
            await load.halt()
        finally:
            await load.close()
        all_stops = load.stops.numbers()
        await eventually(lambda: all(answers.acknowledged(n) for n in all_stops),
                         "every STOP acknowledged", BOUND)

        # Both instances answered STOPs 0x64 while the ledger was gone, and the carrier
        # tried again until it was back.
        for login in (a.login, b.login):
            refused = [n for n in load.stops.numbers(login=login)
                       if UNKNOWN_STATE in answers.statuses(n)]
            assert refused, login
            assert set(refused) <= set(down_stops) | set(load.stops.numbers(phase="restarting"))
        for number in down_stops:
            assert answers.statuses(number)[-1] == OK, (number, answers.statuses(number))
        # Each STOP recorded once: one event, one opt-out, whatever the tries.
        rows = db.rows("SELECT number, scope, event, changed FROM events "
                       "WHERE number LIKE ? ORDER BY id", "+3361300%")
        assert Counter(row[0] for row in rows) == Counter(all_stops), rows
        assert {row[1:] for row in rows} == {("acme", "optout", True)}
        # ... and each blocks the next promotion on both instances.
        for instance in pair:
            answered = await promotion_answers(instance, [*all_stops, PG_OPTED_OUT])
            assert set(answered.values()) == {BLOCKED}, (instance.name, answered)
            assert (await promotion_answers(instance, PG_OTHERS[:1])) == {PG_OTHERS[0]: OK}
            assert instance.process.returncode is None  # never restarted

        check_answers(load, pg_allowed)
        for traffic in load.traffics:
            assert statuses(traffic.where(phase="down", klass="promotional")) == {UNKNOWN_STATE}
            assert statuses(traffic.where(phase="down", klass="transactional")) == {OK}
        assert not promotions_delivered(carrier, {PG_OPTED_OUT})
        check_confirmed_once(carrier, all_stops)
        await check_delivery(load, carrier)
        down_trx = {s.tag for t in load.traffics for s in t.where(phase="down",
                                                                   klass="transactional")}
        assert down_trx <= delivered_tags(carrier)
        print(f"\nPostgreSQL {down}: {summary(load, ('before', 'down', 'after'))}; "
              f"{len(all_stops)} STOPs, {len(down_stops)} while down")


def summary(load: Load, phases: Sequence[str]) -> str:
    counts = {phase: {klass: dict(Counter(s.status for t in load.traffics
                                          for s in t.where(phase=phase, klass=klass)))
                      for klass in ("promotional", "transactional")} for phase in phases}
    return f"{sum(len(t.sent) for t in load.traffics)} messages, final statuses {counts}"


# --- Redis master failover (Sentinel) --------------------------------------------------------

OPTED_OUT_AT_A = "+33611000001"
OPTED_OUT_AT_B = "+33611000002"
REDIS_OTHERS = ("+33633000001", "+33633000002")
#: Opted out at B just before the kill, on the old master only: the promoted replica lacks it.
UNREPLICATED = "+33655000001"
#: Opted out at A after the failover.
AFTER_FAILOVER = "+33655000002"


def redis_allowed(sent: Sent, phase: str) -> set[int]:
    if sent.klass == "transactional":
        return {OK}
    usual = BLOCKED if sent.to in (OPTED_OUT_AT_A, OPTED_OUT_AT_B) else OK
    if phase == "down":
        return {UNKNOWN_STATE}
    if phase in ("before", "after"):
        return {usual}
    return {usual, UNKNOWN_STATE}  # dying, failing-over


def replica_caught_up(topology: SentinelSet) -> bool:
    offsets = [server.client().info("replication").get("master_repl_offset")
               for server in (topology.master, topology.replica)]
    return offsets[0] == offsets[1]


async def test_a_redis_master_failover_under_two_instances_fails_promotions_closed(
        tmp_path: Path, postgres_db_dsn: str, patient_carrier: CarrierSimulator) -> None:
    carrier = patient_carrier
    answers = MoAnswers(carrier)
    with sentinel_set(tmp_path / "redis", down_after_ms=1000) as topology:
        storage = (f"redis_sentinels = {json.dumps(topology.addresses)}\n"
                   f'redis_service = "{topology.service}"\n')
        async with running_instances(2, tmp_path, carrier=carrier, redis_url="",
                                     ledger=postgres_db_dsn, storage=storage) as pair:
            a, b = pair
            await eventually(lambda: carrier.stats.binds >= 2, "both carrier binds", BOUND)
            for instance in pair:
                await until_readyz(instance, 200)
            await opt_out_at(a, OPTED_OUT_AT_A)
            await opt_out_at(b, OPTED_OUT_AT_B)
            load = Load(pair, carrier, (OPTED_OUT_AT_A, OPTED_OUT_AT_B, *REDIS_OTHERS),
                        stop_prefix="3361400")
            await load.start()
            watcher: asyncio.Task[None] | None = None
            try:
                await load.until(lambda: load.each(phase="before", klass="promotional",
                                                   at_least=6)
                                 and load.each(phase="before", klass="transactional",
                                               at_least=6)
                                 and len(load.stops.sent) >= 4, "traffic before the failover")
                await eventually(lambda: asyncio.to_thread(replica_caught_up, topology),
                                 "the replica caught up", STEP)

                # The replica frozen and its link cut; an opt-out at B reaches the old
                # master only; the master dies; the replica wakes to find it gone.
                replica_pid = topology.replica.process.pid  # type: ignore[union-attr]
                os.kill(replica_pid, signal.SIGSTOP)
                try:
                    await asyncio.to_thread(topology.master.client().execute_command,
                                            "CLIENT", "KILL", "TYPE", "replica")
                    await opt_out_at(b, UNREPLICATED)
                    load.phase = "dying"
                    await asyncio.to_thread(topology.master.kill)
                finally:
                    os.kill(replica_pid, signal.SIGCONT)
                killed_at = delivered_tags(carrier)

                async def watch() -> None:
                    # The phase ends the moment the sentinel names the new master: no
                    # instance can call its cache ready before that.
                    while await asyncio.to_thread(topology.master_port) != \
                            topology.replica.port:
                        await asyncio.sleep(0.02)
                    load.phase = "failing-over"

                watcher = asyncio.create_task(watch())
                for instance in pair:
                    body = await until_readyz(instance, 503, suppression_cache=False)
                    assert body["redis"] is False and body["ledger"] is True, body
                assert not watcher.done(), "the failover was over before both noticed"
                load.phase = "down"
                await load.until(lambda: watcher is not None and watcher.done(),
                                 "the sentinel to promote the replica", BOUND)
                assert load.phase == "failing-over"
                for instance in pair:
                    body = await until_readyz(instance, 200, BOUND)
                    assert body["reasons"] == {}, body
                load.phase = "after"
                await load.until(lambda: load.flowing(REDIS_OTHERS)
                                 and len(load.stops.numbers(phase="after")) >= 4,
                                 "promotions and STOPs flowing again")
                # An opt-out at A after the failover blocks the next promotion at B.
                await opt_out_at(a, AFTER_FAILOVER)
                assert await promotion_answers(b, [AFTER_FAILOVER]) == {AFTER_FAILOVER: BLOCKED}
                await load.halt()
            finally:
                if watcher is not None:
                    watcher.cancel()
                    await asyncio.gather(watcher, return_exceptions=True)
                await load.close()

            all_stops = load.stops.numbers()
            await eventually(lambda: all(answers.acknowledged(n) for n in all_stops),
                             "every STOP acknowledged", BOUND)
            # The ledger took them: no STOP waited for Redis, not even while it was unknown.
            assert {n: answers.statuses(n) for n in all_stops} == {n: [OK] for n in all_stops}
            assert load.stops.numbers(phase="down", login=a.login)
            assert load.stops.numbers(phase="down", login=b.login)
            # Every opt-out holds on both instances, wherever and whenever it was taken:
            # before the kill at either, unreplicated, by STOP during the failover.
            blocked = [OPTED_OUT_AT_A, OPTED_OUT_AT_B, UNREPLICATED, AFTER_FAILOVER, *all_stops]
            for instance in pair:
                answered = await promotion_answers(instance, blocked)
                assert set(answered.values()) == {BLOCKED}, (instance.name, answered)
                assert (await promotion_answers(instance, REDIS_OTHERS[:1])
                        ) == {REDIS_OTHERS[0]: OK}
                assert instance.process.returncode is None  # never restarted
            rows = Raw("postgresql", postgres_db_dsn).rows(
                "SELECT number FROM events WHERE number LIKE ? AND changed", "+3361400%")
            assert Counter(row[0] for row in rows) == Counter(all_stops), rows

            check_answers(load, redis_allowed)
            for traffic in load.traffics:
                down_promotions = traffic.where(phase="down", klass="promotional")
                assert down_promotions and statuses(down_promotions) == {UNKNOWN_STATE}
            assert not promotions_delivered(carrier, {OPTED_OUT_AT_A, OPTED_OUT_AT_B})
            assert not texts_to(carrier, [UNREPLICATED, AFTER_FAILOVER])
            check_confirmed_once(carrier, all_stops)
            await check_delivery(load, carrier)
            down_trx = {s.tag for t in load.traffics
                        for s in t.where(phase="down", klass="transactional")}
            assert down_trx and down_trx <= delivered_tags(carrier) - killed_at
            print(f"\nRedis failover: "
                  f"{summary(load, ('before', 'down', 'failing-over', 'after'))}; "
                  f"{len(all_stops)} STOPs")
