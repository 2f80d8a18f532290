"""One of three `stopgate serve` instances killed (SIGKILL) under a mixed load.

Three real instances (tests/integration/instances.py) share the session's Redis and a
PostgreSQL ledger of this test's own. All three bind the carrier with one login
(``proxyA``), as one configuration has them (the upstream's ``system_id`` is part of the
configuration hash: instances with logins of their own show as drift). That is how a
carrier sees several hosts of one customer: it owes receipts and MOs to the system_id,
not to a connection, and delivers them on any bind of it, so what it owed through A's
binds goes to B's and C's once A's are gone. (With a login of its own, A's receipts and
the STOPs in flight at it would wait at the carrier until A came back: a restart, which
tests/faults/test_gateway_kill.py covers.)

The load, all of it asking for receipts:

- on A, the account "beta" (two sessions): promotional and transactional, short and
  multipart (UDH 8/16-bit, SAR). beta binds nowhere else, so when A dies its senders
  are on their own until they reconnect;
- on B and C, acme (one session each, tests/faults/mixed_traffic.py): promotions to
  numbers opted out before the load and to others, transactional messages;
- a stream of STOPs from distinct numbers injected at the carrier for ``proxyA`` (the
  three take them round robin) and, at the kill, a burst of them, so that some are in
  flight at A when it dies;
- the carrier sends each receipt ``DLR_DELAY`` s after the submit: those of A's last
  messages come after the kill, to B and C.

Just before the kill a beta session on A sends the first part of a long message and
never the rest. Then A gets SIGKILL, and:

1. every STOP the carrier saw acknowledged (deliver_sm_resp ESME_ROK, by any instance)
   is in the ledger, changed the state exactly once (PostgreSQL's events), is
   suppressed according to B's API and blocks the next promotion on B and on C. The
   STOPs in flight at A (an attempt left unanswered) were sent again by the carrier,
   to B or C, and are recorded once too;
2. every part A answered ESME_ROK reached the carrier (its whole message), or beta got
   a failure receipt for its id. The parts of the messages the kill cut are noted in
   Redis under A's name (checked); any instance fails a note ``ORPHAN_AGE`` (3 min)
   old, which is past this test's bound: the test ages A's notes by that much in Redis,
   and the survivors' own sweep (every ``SWEEP_EVERY`` s) sends the receipts;
3. beta reconnects, one session to B and one to C, and gets the receipts of A's
   messages: those the carrier delivered after the kill waited in beta's pending queue
   in Redis. Only a message answered in A's last moments, whose DLR id map entry A had
   not yet written to Redis (the write goes a few ms behind the answer, by design), may
   miss its receipt: those are counted, and must be at the very end of their session;
4. B and C served throughout: transactional ESME_ROK, promotions blocked to the numbers
   opted out and ESME_ROK to the others, before and after the kill.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import re
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import orjson
from redis.asyncio import Redis

from gateway.components import instance_id
from gateway.inbound.id_map import canonical_id
from gateway.senders.answered_parts import ORPHAN_AGE, SWEEP_EVERY
from gateway.smpp_link import SmppLink
from simulator.carrier import CarrierSimulator
from smpp.pdu import SubmitSmResp
from tests.faults.carrier_side import MoAnswers
from tests.faults.mixed_traffic import (
    LONG_PROMO,
    LONG_TRX,
    MIX,
    OTP,
    PROMO,
    MixedTraffic,
    Shape,
    statuses,
)
from tests.faults.test_gateway_kill import failure_receipt_ids
from tests.integration.instances import BOUND, Instance, carrier_simulator, running_instances
from tests.integration.policy_stack import BLOCKED, multipart, send_one, submit
from tests.integration.senders import Sender, bind_sender
from tests.integration.served import SHORTCODE
from tests.support.ledgers import Raw
from tests.support.waiting import eventually

SHARED_LOGIN = "proxyA"  # every instance's carrier system_id
LOGINS = (SHARED_LOGIN,) * 3
BETA = ("beta", "betapass")
BETA_ACCOUNT = """
[[accounts]]
system_id = "beta"
password = "betapass"
default_region = "FR"
default_class = "auto"
numbers = ["36174"]
"""
OPTED_OUT = ("+33611000001", "+33611000002")  # of acme, before the load
OTHERS = ("+33633000001", "+33633000002")
BETA_TARGETS = ("+33644000001", "+33644000002", "+33644000003")
CUT_TO = "+33644000099"  # the long message cut after its first part
DLR_DELAY = 1.5
STOP_EVERY = 0.05
BURST = 10  # STOPs injected at the kill
TIMEOUT = 10.0
BETA_TAG = re.compile(r"#(b\d+\.\d+)#")
OK = 0


# --- the killed instance's senders -------------------------------------------------------------


@dataclass(slots=True)
class BetaMessage:
    """One message beta started to send through A, and the answers its parts got."""

    tag: str
    session: int
    seq: int
    parts: int
    statuses: list[int] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        """Every part answered ESME_ROK: A handed it to the carrier."""
        return len(self.statuses) == self.parts and not any(self.statuses)

    def acknowledged(self) -> list[str]:
        """The ids of the parts answered ESME_ROK."""
        return [i for i, s in zip(self.ids, self.statuses, strict=True) if s == OK]


class DoomedTraffic:
    """beta's sessions on A, sending the mix one part at a time until A dies under them.

    Unlike MixedTraffic it keeps each part's answer as it comes (a message cut by the
    kill has some), and a session ends quietly when its link dies, once ``killed``."""

    def __init__(self, port: int, sessions: int = 2, pause: float = 0.01) -> None:
        self.port = port
        self.sessions = sessions
        self.pause = pause
        self.killed = False
        self.sent: list[BetaMessage] = []
        self.senders: list[Sender] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        for index in range(self.sessions):
            link, sender = await bind_sender(self.port, *BETA, window=10)
            self.senders.append(sender)
            self._tasks.append(asyncio.create_task(self._run(index, link)))

    def check_running(self) -> None:
        for task in self._tasks:
            if task.done():
                task.result()
                raise AssertionError("a beta session stopped before the kill")

    async def ended(self) -> None:
        await asyncio.wait_for(asyncio.gather(*self._tasks), 2 * TIMEOUT)

    def cancel(self) -> None:
        for task in self._tasks:
            task.cancel()

    async def _run(self, index: int, link: SmppLink) -> None:
        pairs = list(itertools.product(MIX, BETA_TARGETS))
        random.Random(100 + index).shuffle(pairs)
        for seq in itertools.count():
            shape, to = pairs[seq % len(pairs)]
            if not await self._send(link, index, seq, shape, to):
                return
            await asyncio.sleep(self.pause)

    async def _send(self, link: SmppLink, index: int, seq: int, shape: Shape, to: str) -> bool:
        tag = f"b{index}.{seq}"
        promotional = shape.klass == "promotional"
        if shape.concat is None:
            pdus = [submit(f"{PROMO if promotional else OTP} #{tag}#", to=to,
                           service_type=shape.service_type)]
        else:
            ref = (index * 85 + seq) % 256
            pdus = multipart(f"{LONG_PROMO if promotional else LONG_TRX} #{tag}#",
                             shape.concat, to=to, service_type=shape.service_type,
                             ref=ref * 256 + 7 if shape.concat == "udh16" else ref)
        record = BetaMessage(tag, index, seq, len(pdus))
        self.sent.append(record)
        for pdu in pdus:
            try:
                answer = await asyncio.wait_for(link.request(pdu), TIMEOUT)
            except Exception:
                if self.killed:
                    return False  # A died under this part: it stays unanswered
                raise
            assert isinstance(answer, SubmitSmResp), answer
            record.statuses.append(answer.command_status)
            record.ids.append(answer.message_id)
            if answer.command_status != OK:
                break
        return True


# --- the carrier's side ---------------------------------------------------------------------


@asynccontextmanager
async def carrier() -> AsyncIterator[CarrierSimulator]:
    simulator = carrier_simulator(3)
    simulator.configure(dlr_delay=DLR_DELAY)
    await simulator.start("127.0.0.1", 0)
    try:
        yield simulator
    finally:
        await simulator.stop()


async def inject_stops(sim: CarrierSimulator, numbers: list[str], stop: asyncio.Event) -> None:
    """STOPs from distinct numbers, to the shared login, until ``stop``."""
    for i in itertools.count():
        if stop.is_set():
            return
        number = f"+3361300{i:04d}"
        numbers.append(number)
        await sim.inject_mo(number, SHORTCODE, "STOP", system_id=SHARED_LOGIN)
        await asyncio.sleep(STOP_EVERY)


def beta_messages_at(sim: CarrierSimulator) -> dict[str, tuple[str, ...]]:
    """beta's tag -> carrier ids, for each whole message the carrier accepted."""
    found = {}
    for message in sim.messages():
        if message.complete:
            for tag in BETA_TAG.findall(message.text):
                found[tag] = message.carrier_ids
    return found


# --- helpers ------------------------------------------------------------------------------------


async def ready(instance: Instance) -> bool:
    status, _ = await instance.get("/readyz")
    return status == 200


async def opt_out_at(instance: Instance, number: str) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=BOUND)) as http, \
            http.put(f"{instance.url}/v1/suppressions/{number}",
                     headers={"Authorization": "Bearer acme-key"}) as response:
        assert response.status == 200, await response.text()


def receipts_of(senders: list[Sender]) -> set[str]:
    return {rid for sender in senders for rid in sender.receipt_ids()}


def allowed(klass: str, to: str) -> int:
    if klass == "promotional" and to in OPTED_OUT:
        return BLOCKED
    return OK


# --- the test ----------------------------------------------------------------------------------


async def test_one_of_three_instances_killed_loses_no_acknowledged_stop_mt_or_receipt(
    flushed_redis: str, postgres_db_dsn: str, tmp_path: Path,
) -> None:
    started = time.monotonic()
    redis = Redis.from_url(flushed_redis)
    stopping = asyncio.Event()
    stops: list[str] = []
    injector: asyncio.Task[None] | None = None
    doomed: DoomedTraffic | None = None
    survivors_traffic: list[MixedTraffic] = []
    async with carrier() as sim, running_instances(
            3, tmp_path, carrier=sim, redis_url=flushed_redis, ledger=postgres_db_dsn,
            extra=BETA_ACCOUNT, logins=LOGINS) as (a, b, c):
        try:
            answers = MoAnswers(sim)
            for instance in (a, b, c):
                await eventually(lambda i=instance: ready(i), f"{instance.name} ready", BOUND)
            for number in OPTED_OUT:
                await opt_out_at(a, number)

            # --- the load ---------------------------------------------------------------------
            doomed = DoomedTraffic(a.smpp_port)
            await doomed.start()
            cutter, cut_sender = await bind_sender(a.smpp_port, *BETA)
            a.links.append(cutter)
            for first, instance in enumerate((b, c)):
                traffic = MixedTraffic(instance.smpp_port, (*OPTED_OUT, *OTHERS), sessions=1,
                                       pause=0.01, first_session=first)
                await traffic.start()
                survivors_traffic.append(traffic)
            injector = asyncio.create_task(inject_stops(sim, stops, stopping))

            def under_way() -> bool:
                assert doomed is not None
                doomed.check_running()
                for traffic in survivors_traffic:
                    traffic.check_running()
                accepted = [m for m in doomed.sent if m.accepted]
                return (len(accepted) >= 30
                        and len([m for m in accepted if m.parts > 1]) >= 3
                        and len(receipts_of(doomed.senders)) >= 20  # receipts came via A
                        and sum(map(answers.acknowledged, stops)) >= 20
                        and all(len(t.sent) >= 20 for t in survivors_traffic))

            await eventually(under_way, "the load under way", BOUND)

            # --- the kill -----------------------------------------------------------------------
            cut = multipart(f"{LONG_TRX} #cut#", "udh8", to=CUT_TO, service_type="OTP",
                            ref=0x77)
            first_part = await asyncio.wait_for(send_one(cutter, cut[0]), BOUND)
            assert first_part.command_status == OK
            burst = [f"+3361399{i:04d}" for i in range(BURST)]
            doomed.killed = True
            # No await that yields between the burst and the signal: the STOPs the carrier
            # has just sent A are in flight there when it dies.
            for number in burst:
                await sim.inject_mo(number, SHORTCODE, "STOP", system_id=SHARED_LOGIN)
            await a.kill()
            killed_at = time.monotonic()
            stops.extend(burst)
            after_kill = len(stops)
            for traffic in survivors_traffic:
                traffic.phase = "after"
            await doomed.ended()

            # What A left in Redis: its notes of parts answered before their message went.
            notes_key = f"{{mp}}:answered:{instance_id(tmp_path / 'instance-A', 0)}"
            raw_notes = await redis.zrange(notes_key, 0, -1)
            at_carrier = beta_messages_at(sim)
            cut_short = [m for m in doomed.sent if m.tag not in at_carrier]
            pending_parts = {i for m in cut_short for i in m.acknowledged()}
            pending_parts.add(first_part.message_id)
            assert pending_parts <= {orjson.loads(n)["id"] for n in raw_notes}, \
                "a part answered ESME_ROK, whose message A never handed over, has no note"
            # Any instance fails a note ORPHAN_AGE old: age them by that much, as if the
            # minutes had passed; the survivors' sweep does the rest.
            aged = int((time.time() - ORPHAN_AGE - 10) * 1000)
            await redis.zadd(notes_key, dict.fromkeys(raw_notes, aged), xx=True)
            assert await redis.zcount(notes_key, "-inf", aged) == len(raw_notes)

            # Receipts of A's messages: those the carrier still owes go to B and C.
            expected: set[str] = set()
            unmapped: list[BetaMessage] = []
            for message in doomed.sent:
                if not message.accepted:
                    continue
                assert message.tag in at_carrier, f"{message.tag} answered, not at the carrier"
                keys = [f"m:sim:{canonical_id(cid)}" for cid in at_carrier[message.tag]]
                if await redis.exists(*keys) == len(keys):
                    expected.update(message.ids)
                else:
                    unmapped.append(message)

            # STOPs go on, to B and C alone now; then the stream ends.
            await eventually(lambda: sum(map(answers.acknowledged, stops[after_kill:])) >= 10,
                             "STOPs acknowledged after the kill", BOUND)
            stopping.set()
            await asyncio.wait_for(injector, BOUND)

            # --- 3. beta reconnects to the survivors and gets what waited -------------------
            await eventually(lambda: redis.exists("dq:{beta}"),
                             "receipts of A's messages waiting for beta in Redis", BOUND)
            before = receipts_of([*doomed.senders, cut_sender])
            on_b, beta_b = await bind_sender(b.smpp_port, *BETA)
            on_c, beta_c = await bind_sender(c.smpp_port, *BETA)
            b.links.append(on_b)
            c.links.append(on_c)
            beta_senders = [*doomed.senders, cut_sender, beta_b, beta_c]
            await eventually(lambda: expected <= receipts_of(beta_senders),
                             "every receipt of A's messages", BOUND)
            assert expected - before, "no receipt waited for beta's reconnection"
            last_seq = {m.session: m.seq for m in doomed.sent}
            late = [m.tag for m in unmapped if m.seq < last_seq[m.session] - 3
                    and not set(m.ids) <= receipts_of(beta_senders)]
            assert late == [], f"receipts lost for messages long before the kill: {late}"

            # --- 1. no acknowledged STOP lost; those in flight at A sent again, once --------
            await eventually(lambda: all(map(answers.acknowledged, stops)),
                             "every STOP acknowledged", BOUND)
            in_flight = [n for n in stops if None in answers.statuses(n)]
            assert set(in_flight) & set(burst), "no STOP was in flight at A when it died"
            rows = await asyncio.to_thread(Raw("postgresql", postgres_db_dsn).rows,
                                           "SELECT number, changed FROM events "
                                           "WHERE scope = 'acme' AND event = 'optout'")
            changed = Counter(number for number, was_changed in rows if was_changed)
            assert {n: changed[n] for n in stops} == dict.fromkeys(stops, 1)
            async with aiohttp.ClientSession(
                    timeout=aiohttp.ClientTimeout(total=BOUND)) as http:
                for number in stops:
                    async with http.get(f"{b.url}/v1/suppressions/{number}",
                                        headers={"Authorization": "Bearer acme-key"}) as got:
                        assert (await got.json())["suppressed"] is True, number
            for instance in (b, c):
                link, _ = await instance.bind("transmitter")
                for number in stops:
                    answer = await asyncio.wait_for(send_one(link, submit(to=number)), BOUND)
                    assert answer.command_status == BLOCKED, (instance.name, number)

            # --- 4. the survivors served throughout -----------------------------------------
            await eventually(lambda: all(len(t.where(phase="after")) >= 20
                                         for t in survivors_traffic),
                             "traffic through B and C after the kill", BOUND)
            for traffic in survivors_traffic:
                await traffic.halt()
                for phase in ("before", "after"):
                    for klass in ("promotional", "transactional"):
                        assert traffic.where(phase=phase, klass=klass), (phase, klass)
                        for to in (*OPTED_OUT, *OTHERS):
                            sent = traffic.where(phase=phase, klass=klass, to=[to])
                            assert statuses(sent) <= {allowed(klass, to)}, (phase, klass, to)

            # --- 2. every part A accepted reached the carrier or is failed by receipt -------
            def lost() -> list[str]:
                failed = failure_receipt_ids(beta_senders)
                return sorted(i for i in pending_parts if i not in failed)

            await eventually(lambda: not lost(), "failure receipts for the parts the kill cut",
                             SWEEP_EVERY + BOUND)
            print(f"instance kill: {len(doomed.sent)} beta messages through A "
                  f"({len(cut_short)} cut), {len(pending_parts)} parts failed by receipt; "
                  f"{len(expected - before)} of {len(expected)} receipts waited in Redis "
                  f"({len(before)} came before the kill), {len(unmapped)} messages without "
                  f"an id map entry; {len(stops)} STOPs ({len(in_flight)} sent again); "
                  f"{sum(len(t.sent) for t in survivors_traffic)} messages through B and C; "
                  f"killed after {killed_at - started:.1f}s, "
                  f"done after {time.monotonic() - started:.1f}s")
        finally:
            stopping.set()
            if injector is not None:
                injector.cancel()
            if doomed is not None:
                doomed.cancel()
            for traffic in survivors_traffic:
                await traffic.close()
            await redis.aclose()
