"""Two `stopgate serve` instances sharing one Redis and one ledger behave as one gateway.

Each instance is a process of its own with its own data_dir, as on two hosts
(tests/integration/instances.py); the carrier simulator gives each its own login,
so a test decides which instance a receipt or an MO arrives at. Waits are bounded
and never measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import psutil  # type: ignore[import-untyped]
import pytest
from aiohttp import web

from gateway.ledger.engines import open_ledger
from simulator.carrier import CarrierSimulator
from tests.integration.instances import (
    BOUND,
    WEBHOOK_SECRET,
    Instance,
    carrier_simulator,
    ledger_url,
    running_instances,
    start_instance,
)
from tests.integration.policy_stack import (
    BLOCKED,
    LONG_PROMO,
    OTP_TEXT,
    digits,
    multipart,
    send_one,
    submit,
)
from tests.integration.served import SHORTCODE, stop_process
from tests.support.metrics import metric
from tests.support.waiting import eventually

NUMBER = "+33612000099"
OTHER = "+33612000098"
GB = "+447400123456"  # its footer carries a link (FR's names the shortcode)
LINK = re.compile(r"no-s\.ms/([A-Za-z0-9]{9})\b")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
async def carrier() -> AsyncIterator[CarrierSimulator]:
    simulator = carrier_simulator(3)
    await simulator.start("127.0.0.1", 0)
    try:
        yield simulator
    finally:
        await simulator.stop()


@pytest.fixture
async def pair(carrier: CarrierSimulator, flushed_redis: str,
               tmp_path: Path) -> AsyncIterator[list[Instance]]:
    async with running_instances(2, tmp_path, carrier=carrier,
                                 redis_url=flushed_redis) as instances:
        await eventually(lambda: carrier.stats.binds >= 2, "both carrier binds", BOUND)
        yield instances


async def promotion_passes(link: object, to: str) -> None:
    """Once this instance's cache is ready, a promotion to ``to`` is forwarded."""
    for _ in range(400):
        answer = await asyncio.wait_for(send_one(link, submit(to=to)), BOUND)
        if answer.command_status == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"promotions still refused: 0x{answer.command_status:X}")


# --- opt-outs --------------------------------------------------------------------------------


async def test_a_stop_taken_by_one_instance_blocks_promotion_on_the_other(
    pair: list[Instance], carrier: CarrierSimulator
) -> None:
    a, b = pair
    on_b, _ = await b.bind("transmitter")
    await promotion_passes(on_b, NUMBER)  # B forwards promotions to the number, until...
    # ...the STOP arrives at A (A's carrier login): acknowledged once recorded.
    await carrier.inject_mo(NUMBER, SHORTCODE, "STOP", system_id=a.login)
    await eventually(lambda: carrier.stats.mos_acked == 1, "the STOP acknowledged", BOUND)
    answer = await asyncio.wait_for(send_one(on_b, submit(to=NUMBER)), BOUND)
    assert answer.command_status == BLOCKED
    answer = await asyncio.wait_for(send_one(on_b, submit(OTP_TEXT, to=NUMBER,
                                                          service_type="OTP")), BOUND)
    assert answer.command_status == 0  # transactional traffic still passes on B
    assert (await asyncio.wait_for(send_one(on_b, submit(to=OTHER)), BOUND)).command_status == 0


async def test_an_api_opt_out_and_a_link_page_opt_out_at_one_instance_block_the_other(
    pair: list[Instance], carrier: CarrierSimulator
) -> None:
    a, b = pair
    auth = {"Authorization": "Bearer acme-key"}
    timeout = aiohttp.ClientTimeout(total=BOUND)
    async with aiohttp.ClientSession(timeout=timeout,
                                     cookie_jar=aiohttp.DummyCookieJar()) as http:
        async def send_via(instance: Instance, to: str) -> tuple[int, object]:
            for _ in range(400):  # until the instance's cache is ready
                async with http.post(f"{instance.url}/v1/messages", headers=auth, json={
                        "to": to, "from": "ACME", "class": "promotional",
                        "text": "Winter sale: 40% off"}) as response:
                    body = await response.json()
                    if response.status != 503:
                        return response.status, body
                await asyncio.sleep(0.05)
            raise AssertionError(f"{instance.name} never ready")

        # The API: PUT at A, and B refuses the next promotion.
        assert (await send_via(b, NUMBER))[0] == 202
        async with http.put(f"{a.url}/v1/suppressions/{NUMBER}", headers=auth) as response:
            assert response.status == 200, await response.text()
        assert await send_via(b, NUMBER) == (422, {"status": "blocked", "reason": "opted_out"})

        # The link page: the footer of a promotion sent through B, confirmed at A.
        assert (await send_via(b, GB))[0] == 202

        def footer_link() -> str | None:
            for message in carrier.messages():
                if message.destination_addr == digits(GB) and message.complete:
                    found = LINK.search(message.text)
                    return found.group(1) if found else None
            return None

        token = await eventually(footer_link, "the promotion with its link", BOUND)
        async with http.get(f"{a.url}/o/{token}") as response:
            assert response.status == 200
            csrf = CSRF.search(await response.text())
        assert csrf
        async with http.post(f"{a.url}/o/{token}", data={"csrf": csrf.group(1)},
                             headers={"Origin": a.url}) as response:
            assert response.status == 200
            assert "You are unsubscribed" in await response.text()
        assert await send_via(b, GB) == (422, {"status": "blocked", "reason": "opted_out"})


# --- receipts and MOs ---------------------------------------------------------------------------


async def test_receipts_and_mos_arriving_at_one_instance_reach_the_receiver_on_the_other(
    pair: list[Instance], carrier: CarrierSimulator
) -> None:
    a, b = pair
    transmitter, _ = await a.bind("transmitter")
    _, receiver = await b.bind("receiver")
    # Submitted through A, so the carrier hands the receipts to A's login: A has no
    # receiver of acme and queues them, with a notice, for B.
    ids = []
    for n in range(4):
        answer = await asyncio.wait_for(send_one(transmitter, submit(
            f"{OTP_TEXT} {n}", to=NUMBER, service_type="OTP")), BOUND)
        assert answer.command_status == 0
        ids.append(answer.message_id)
    await eventually(lambda: sorted(receiver.receipt_ids()) == sorted(ids),
                     "the receipts on B's receiver", BOUND)
    await carrier.inject_mo(NUMBER, SHORTCODE, "Hello there", system_id=a.login)

    def mos() -> list[bytes]:
        return [p.short_message for p in receiver.delivered if not p.esm_class & 0x04]

    await eventually(lambda: mos() == [b"Hello there"], "the MO on B's receiver", BOUND)
    assert sorted(receiver.receipt_ids()) == sorted(ids)  # each once


async def test_receipts_and_mos_wait_for_a_receiver_on_either_instance(
    pair: list[Instance], carrier: CarrierSimulator
) -> None:
    a, b = pair
    transmitter, _ = await a.bind("transmitter")
    answer = await asyncio.wait_for(send_one(transmitter, submit(
        OTP_TEXT, to=NUMBER, service_type="OTP")), BOUND)
    assert answer.command_status == 0
    # Nobody can take it: the receipt is acknowledged to the carrier and waits in Redis.
    await eventually(lambda: carrier.stats.dlrs_acked >= 1, "the receipt taken", BOUND)
    _, on_b = await b.bind("receiver")
    await eventually(lambda: on_b.receipt_ids() == [answer.message_id],
                     "the waiting receipt on B's new receiver", BOUND)
    await b.links[-1].unbind()
    # An MO at B while nobody is bound waits too, and reaches a receiver bound at A.
    await carrier.inject_mo(NUMBER, SHORTCODE, "Any news?", system_id=b.login)
    await eventually(lambda: carrier.stats.mos_acked >= 1, "the MO taken", BOUND)
    _, on_a = await a.bind("receiver")
    await eventually(lambda: [p.short_message for p in on_a.delivered] == [b"Any news?"],
                     "the waiting MO on A's new receiver", BOUND)


# --- webhooks ------------------------------------------------------------------------------------


class Receiver:
    """A webhook endpoint counting deliveries by event id; ``hold`` keeps the first
    request of each event unanswered until released (to kill its sender meanwhile)."""

    def __init__(self) -> None:
        self.deliveries: Counter[str] = Counter()
        self.held: asyncio.Queue[tuple[str, int]] = asyncio.Queue()  # event id, peer port
        self.hold = False
        self.release = asyncio.Event()
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        event = request.headers["X-Stopgate-Event-Id"]
        await request.read()
        if self.hold and event not in self.deliveries:
            self.deliveries[event] += 0  # seen, not delivered
            peer = request.transport.get_extra_info("peername") if request.transport else None
            self.held.put_nowait((event, int(peer[1]) if peer else 0))
            await self.release.wait()
            return web.Response(status=503)
        self.deliveries[event] += 1
        return web.Response(status=200)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        self.release.set()
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def hooks() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.stop()


def webhook_account(receiver: Receiver) -> str:
    return (f'webhook_url = "http://127.0.0.1:{receiver.port}/hook"\n'
            f'webhook_secret = "{WEBHOOK_SECRET}"\n')


WEBHOOK_TIMERS = "\n[webhook]\ntimeout = 1.0\nbackoff_initial = 0.2\nbackoff_max = 1.0\n"


async def backlog(url: str, directory: Path) -> int:
    ledger = open_ledger(url, directory)
    try:
        return await asyncio.to_thread(ledger.webhook_backlog)
    finally:
        ledger.close()


async def opt_out_at(instance: Instance, number: str) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=BOUND)) as http, \
            http.put(f"{instance.url}/v1/suppressions/{number}",
                     headers={"Authorization": "Bearer acme-key"}) as response:
        assert response.status == 200, await response.text()


async def test_each_webhook_event_is_delivered_once_by_one_of_two_instances(
    carrier: CarrierSimulator, flushed_redis: str, tmp_path: Path, hooks: Receiver
) -> None:
    async with running_instances(2, tmp_path, carrier=carrier, redis_url=flushed_redis,
                                 account=webhook_account(hooks), extra=WEBHOOK_TIMERS) as pair:
        # Opt-outs taken at both instances, each announced by one delivery.
        numbers = [f"+3361200{n:04d}" for n in range(12)]
        for n, number in enumerate(numbers):
            await opt_out_at(pair[n % 2], number)
        await eventually(lambda: len(hooks.deliveries) == len(numbers),
                         "every event delivered", BOUND)

        async def settled() -> bool:
            return await backlog(ledger_url(tmp_path), tmp_path) == 0

        await eventually(settled, "the outbox closed", BOUND)
    # Every row is closed: no instance can deliver again. Each event once.
    assert set(hooks.deliveries.values()) == {1}, hooks.deliveries


def holder_of(instances: list[Instance], port: int) -> Instance:
    """The instance whose process has the connection from local ``port``."""
    for instance in instances:
        with contextlib.suppress(psutil.Error):
            for conn in psutil.Process(instance.process.pid).net_connections(kind="tcp"):
                if conn.laddr and conn.laddr.port == port:
                    return instance
    raise AssertionError(f"no instance holds the connection from port {port}")


async def test_a_webhook_claimed_by_a_killed_instance_is_delivered_by_the_other(
    carrier: CarrierSimulator, flushed_redis: str, tmp_path: Path, hooks: Receiver
) -> None:
    hooks.hold = True
    async with running_instances(2, tmp_path, carrier=carrier, redis_url=flushed_redis,
                                 account=webhook_account(hooks), extra=WEBHOOK_TIMERS) as pair:
        await opt_out_at(pair[0], NUMBER)
        event, port = await asyncio.wait_for(hooks.held.get(), BOUND)
        claimer = holder_of(pair, port)
        survivor = next(i for i in pair if i is not claimer)
        await claimer.kill()  # mid-delivery: its claim stays until the lease runs out
        hooks.release.set()
        # The lease is 2 * webhook.timeout + 30 s: then the survivor claims and delivers.
        await eventually(lambda: hooks.deliveries[event] >= 1,
                         "the event delivered by the survivor", 2 * 1.0 + 30 + BOUND)
        assert survivor.process.returncode is None
    assert list(hooks.deliveries) == [event]


# --- the suppression cache ------------------------------------------------------------------------


async def test_two_instances_started_at_once_on_an_empty_redis_rebuild_the_cache_once(
    carrier: CarrierSimulator, flushed_redis: str, tmp_path: Path
) -> None:
    url = ledger_url(tmp_path)
    ledger = open_ledger(url, tmp_path)
    try:  # enough numbers that the rebuild lasts while the other instance starts
        await asyncio.to_thread(ledger.import_numbers, "acme",
                                [f"+336{n:08d}" for n in range(50_000)])
    finally:
        ledger.close()
    async with running_instances(2, tmp_path, carrier=carrier,
                                 redis_url=flushed_redis) as pair:
        for instance in pair:
            link, _ = await instance.bind("transmitter")
            await promotion_passes(link, NUMBER)  # its cache is ready
            answer = await asyncio.wait_for(send_one(link, submit(to="+33600000007")), BOUND)
            assert answer.command_status == BLOCKED  # from the ledger, via the rebuilt cache
        started = [i.name for i in pair for _ in i.events("suppression_rebuild_started")]
        assert len(started) == 1, started
        waited = [i.name for i in pair if i.events("suppression_rebuild_waiting")]
        assert not set(waited) & set(started)  # the one that waited did not build too


# --- multipart across instances -------------------------------------------------------------


async def test_a_multipart_message_split_over_two_instances_is_never_sent_and_fails_back(
    carrier: CarrierSimulator, flushed_redis: str, tmp_path: Path
) -> None:
    """Reassembly is per instance: parts of one message sent through two instances never
    join, nothing of it reaches the carrier unjudged, and every part fails back to the
    sender (UNDELIV err:008) after smpp.reassembly_timeout. Whole through one: delivered."""
    async with running_instances(2, tmp_path, carrier=carrier, redis_url=flushed_redis,
                                 smpp="reassembly_timeout = 1.0\n") as (a, b):
        await eventually(lambda: carrier.stats.binds >= 2, "both carrier binds", BOUND)
        on_a, sender = await a.bind("transceiver")
        on_b, sender_b = await b.bind("transceiver")
        await promotion_passes(on_a, OTHER)
        await promotion_passes(on_b, OTHER)
        split = multipart(LONG_PROMO, "udh8", to=NUMBER, ref=0x21)
        assert len(split) == 2
        first = await asyncio.wait_for(send_one(on_a, split[0]), BOUND)
        second = await asyncio.wait_for(send_one(on_b, split[1]), BOUND)
        # Each instance took its part (answered at once, as a non-final part is) ...
        assert first.command_status == second.command_status == 0
        ids = {first.message_id, second.message_id}
        # ... and, with the other part never arriving there, fails it back on timeout.
        # The receipt of B's part goes through Redis to the receiver bound at A or B.
        await eventually(lambda: ids <= {*sender.receipt_ids(), *sender_b.receipt_ids()},
                         "failure receipts for both parts", BOUND)
        failed = [r.short_message for r in (*sender.receipts(), *sender_b.receipts())
                  if (r.short_message.split(b" ")[0].removeprefix(b"id:")).decode() in ids]
        assert len(failed) == 2 and all(b"stat:UNDELIV err:008" in r for r in failed), failed
        assert not [m for m in carrier.messages() if m.destination_addr == digits(NUMBER)]
        # The same message through one instance is joined, judged and sent whole.
        whole = multipart(LONG_PROMO, "udh8", to=NUMBER, ref=0x22)
        answers = [await asyncio.wait_for(send_one(on_b, part), BOUND) for part in whole]
        assert [answer.command_status for answer in answers] == [0, 0]
        await eventually(lambda: [m for m in carrier.messages()
                                  if m.destination_addr == digits(NUMBER) and m.complete],
                         "the whole message at the carrier", BOUND)


# --- configuration drift ----------------------------------------------------------------------


async def test_instances_publish_their_configuration_hash_and_see_a_disagreeing_one(
    carrier: CarrierSimulator, flushed_redis: str, tmp_path: Path
) -> None:
    async def picture(instance: Instance) -> tuple[str, dict[str, int], float]:
        _, body = await instance.get("/readyz")
        assert isinstance(body, dict), body
        _, text = await instance.get("/metrics")
        return body["config_hash"], body["config_hashes"], metric(
            str(text), "stopgate_config_hash_mismatch")

    async def start(index: int, extra: str = "") -> Instance:
        # One carrier login for all three: only the per-host keys differ between A and B.
        return await start_instance(index, tmp_path, carrier_port=carrier.port,
                                    redis_url=flushed_redis, ledger=ledger_url(tmp_path),
                                    extra=extra, login="proxyA")

    started: list[Instance] = []
    try:
        a, b = await asyncio.gather(start(0), start(1))
        started += (a, b)
        ours = (await picture(a))[0]
        assert len(ours) == 16

        async def seen(instance: Instance, hashes: dict[str, int], mismatch: int) -> bool:
            picture_now = await picture(instance)
            return picture_now[1:] == (hashes, mismatch)

        for instance in (a, b):  # same hash, published as a metric too, no mismatch
            await eventually(lambda i=instance: seen(i, {ours: 2}, 0),
                             f"{instance.name} sees two instances agree", BOUND)
            _, text = await instance.get("/metrics")
            assert metric(str(text), "stopgate_config_info", hash=ours) == 1
            assert (await picture(instance))[0] == ours

        # C differs in one behaviour (its opt-out confirmation): everyone sees the drift.
        c = await start(2, '[optout]\nconfirm_text = "You are out."\n')
        started.append(c)
        theirs = (await picture(c))[0]
        assert theirs != ours
        for instance in (a, b, c):
            await eventually(lambda i=instance: seen(i, {ours: 2, theirs: 1}, 1),
                             f"{instance.name} sees the drift", BOUND)
        assert await c.terminate() == 0  # a clean stop withdraws its hash
        for instance in (a, b):
            await eventually(lambda i=instance: seen(i, {ours: 2}, 0),
                             f"{instance.name} sees agreement again", BOUND)
    finally:
        for instance in started:
            if instance.process.returncode is None:
                await stop_process(instance.process, BOUND)
