"""The gateway killed with SIGKILL under load, then restarted on the same data_dir.

A real ``stopgate serve`` subprocess on the session's Redis; in the test: the
carrier simulator, three SMPP senders submitting without pause (promotional to
GB numbers, whose footers need ledger tokens, and transactional to FR ones),
a stream of STOPs from distinct numbers injected at the carrier, and the
account's webhook endpoint, which answers 503 until after the restart so that
deliveries are pending at the kill. Mid-stream the gateway gets SIGKILL (by
its PID), and is started again with the same config.

What must hold afterwards:
- every STOP the carrier saw acknowledged (deliver_sm_resp status 0) before
  the kill is in the ledger and suppressed for the running gateway;
- every other STOP is redelivered by the carrier, acknowledged by the new
  gateway, and changed the state exactly once;
- every submit_sm a sender got ESME_ROK for reached the carrier, or that
  sender got a failure receipt for its id: none silently lost;
- the webhook deliveries pending at the kill arrive after the restart: every
  opt-out at least once, each with a valid signature.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from gateway.ledger.model import DEFAULT_FILE
from gateway.smpp_link import SmppLink
from smpp.pdu import SubmitSm, SubmitSmResp
from tests.faults.carrier_side import MoAnswers, ledger_events, open_webhooks
from tests.faults.test_ledger_faults import patient_carrier
from tests.integration.policy_stack import multipart, send_parts, submit
from tests.integration.senders import Sender, bind_sender
from tests.integration.served import SHORTCODE, start_serve_ports, stop_process, write_config
from tests.support.waiting import eventually

BOUND = 30.0
SECRET = "kill-test-secret"
WINDOW = 8  # submit_sm in flight per sender
STOP_EVERY = 0.01  # seconds between injected STOPs
RECIPIENT = "+33612000200"
LONG_TEXT = ("Your statement for November is ready: 12 payments, 3 transfers and one "
             "standing order. Sign in to your account to read it; it stays available for "
             "13 months, and a copy goes to your mailbox within two working days.")


class WebhookEndpoint:
    """The account's webhook receiver: 503 while ``up`` is False, then 204 and kept."""

    def __init__(self) -> None:
        self.up = False
        self.received: list[dict[str, Any]] = []
        self.refused = 0
        self.bad_signatures = 0
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hooks", self._hook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get("X-Stopgate-Signature", ""), expected):
            self.bad_signatures += 1
            return web.Response(status=401)
        if not self.up:
            self.refused += 1
            return web.Response(status=503)
        self.received.append(json.loads(body))
        return web.Response(status=204)

    def numbers(self) -> set[str]:
        return {event["unsubscribed_number"] for event in self.received
                if event["event"] == "optout"}


@dataclass
class Traffic:
    """What the senders submitted: the tag of each message and what the gateway said."""

    acked: dict[str, str] = field(default_factory=dict)  # tag -> message_id (ESME_ROK)
    refused: dict[str, int] = field(default_factory=dict)  # tag -> error status
    unanswered: int = 0  # the link died (the kill) before an answer
    senders: list[Sender] = field(default_factory=list)
    counter: itertools.count[int] = field(default_factory=itertools.count)

    def submit(self, sender: int) -> tuple[str, SubmitSm]:
        n = next(self.counter)
        tag = f"t{sender}-{n:06d}"
        if sender == 0:  # promotional, to GB: the footer carries an opt-out link (a token)
            text, to, service_type = f"{tag} Winter sale: 30% off all coats", \
                f"447400{n % 1_000_000:06d}", "PROMO"
        else:
            text, to, service_type = f"{tag} Your code is {n % 10_000:04d}", \
                f"3361234{n % 10_000:04d}", "OTP"
        return tag, SubmitSm(service_type=service_type, source_addr="ACME", source_addr_ton=5,
                             dest_addr_ton=1, dest_addr_npi=1, destination_addr=to,
                             registered_delivery=1, short_message=text.encode("ascii"))


async def pump(traffic: Traffic, port: int, sender: int, stop: asyncio.Event) -> None:
    """Submit ``WINDOW`` at a time until ``stop`` or until the gateway goes away."""
    link, received = await bind_sender(port)
    traffic.senders.append(received)
    try:
        while not stop.is_set():
            batch = [traffic.submit(sender) for _ in range(WINDOW)]
            futures = [asyncio.ensure_future(link.request(pdu)) for _, pdu in batch]
            answers = await asyncio.gather(*(asyncio.wait_for(f, 10.0) for f in futures),
                                           return_exceptions=True)
            dead = False
            for (tag, _), answer in zip(batch, answers, strict=True):
                if isinstance(answer, SubmitSmResp):
                    if answer.command_status == 0:
                        traffic.acked[tag] = answer.message_id
                    else:
                        traffic.refused[tag] = answer.command_status
                else:
                    traffic.unanswered += 1
                    dead = True
            if dead:
                return
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(_unbind(link), 2.0)


async def _unbind(link: SmppLink) -> None:
    if link.session is not None and not link.closed:
        await link.unbind(timeout=1.0)
    link.abort()


async def inject_stops(simulator: Any, numbers: list[str], stop: asyncio.Event) -> None:
    for i in itertools.count():
        if stop.is_set():
            return
        number = f"+3361300{i:04d}"
        numbers.append(number)
        await simulator.inject_mo(number, SHORTCODE, "STOP")
        await asyncio.sleep(STOP_EVERY)


@contextlib.asynccontextmanager
async def load(traffic: Traffic, port: int) -> AsyncIterator[asyncio.Event]:
    """Three senders pumping until the block ends (or the gateway dies under them)."""
    stop = asyncio.Event()
    tasks = [asyncio.create_task(pump(traffic, port, k, stop)) for k in range(3)]
    try:
        yield stop
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), BOUND)


def failure_receipt_ids(senders: list[Sender]) -> set[str]:
    """Ids the senders got a receipt for that says the message did not go."""
    failed = set()
    for sender in senders:
        for pdu in sender.receipts():
            text = pdu.short_message.decode("ascii", "replace")
            found = re.match(r"id:(\S+) .* stat:(\w+)", text)
            if found and found.group(2) not in ("DELIVRD", "ENROUTE", "ACCEPTD"):
                failed.add(found.group(1))
    return failed


async def test_gateway_killed_under_load_loses_no_acknowledged_stop_submit_or_webhook(
    flushed_redis: str, tmp_path: Path,
) -> None:
    simulator = patient_carrier()
    await simulator.start("127.0.0.1", 0)
    answers = MoAnswers(simulator)
    hooks = WebhookEndpoint()
    await hooks.start()
    data_dir = tmp_path / "data"
    ledger = data_dir / DEFAULT_FILE
    config = write_config(
        tmp_path / "stopgate.toml", simulator.port, data_dir, redis_url=flushed_redis,
        account=(f'webhook_url = "http://127.0.0.1:{hooks.port}/hooks"\n'
                 f'webhook_secret = "{SECRET}"\n'
                 '\n[webhook]\ntimeout = "1s"\nbackoff_initial = "100ms"\n'
                 'backoff_max = "300ms"\n'))
    log = tmp_path / "stopgate.log"
    traffic = Traffic()
    stops: list[str] = []
    stopping = asyncio.Event()
    injector = asyncio.create_task(inject_stops(simulator, stops, stopping))
    processes = []
    try:
        process, smpp_port, _ = await start_serve_ports(config, log, BOUND)
        processes.append(process)
        async with load(traffic, smpp_port):
            await eventually(lambda: sum(map(answers.acknowledged, stops)) >= 30
                             and len(traffic.acked) >= 150, "load under way", BOUND)
            await stop_process(process, BOUND)  # SIGKILL, mid-stream
            acked_before = {n for n in stops if answers.acknowledged(n)}
            submits_before = dict(traffic.acked)
        assert traffic.unanswered > 0 or submits_before, "the kill hit no traffic at all"
        pending_at_kill = open_webhooks(ledger)
        assert pending_at_kill > 0, "no webhook delivery was pending at the kill"

        process, smpp_port, http_port = await start_serve_ports(config, log, BOUND)
        processes.append(process)
        hooks.up = True
        async with load(traffic, smpp_port):
            await eventually(lambda: len(traffic.acked) >= len(submits_before) + 100,
                             "traffic through the restarted gateway", BOUND)
        stopping.set()
        await asyncio.wait_for(injector, BOUND)

        print(f"kill: {len(submits_before)} submits and {len(acked_before)} STOPs "
              f"acknowledged before it, {traffic.unanswered} submits cut off, "
              f"{pending_at_kill} webhooks pending; {len(traffic.acked)} submits and "
              f"{len(stops)} STOPs in all")
        # Every STOP, acknowledged before the kill or redelivered after it, recorded once.
        await eventually(lambda: all(map(answers.acknowledged, stops)),
                         "every STOP acknowledged", BOUND)
        changed: dict[str, int] = {}
        for event in ledger_events(ledger):
            if event["changed"]:
                changed[event["number"]] = changed.get(event["number"], 0) + 1
        assert {n: changed.get(n, 0) for n in stops} == dict.fromkeys(stops, 1)
        assert acked_before and acked_before <= set(stops)
        async with aiohttp.ClientSession() as http:
            for number in sorted(acked_before):
                async with asyncio.timeout(BOUND), http.get(
                        f"http://127.0.0.1:{http_port}/v1/suppressions/{number}",
                        headers={"Authorization": "Bearer acme-key"}) as response:
                    assert (await response.json())["suppressed"] is True, number

        # Every acknowledged submit reached the carrier, or its sender was told it failed.
        at_carrier = {m.text.split(" ", 1)[0] for m in simulator.messages()}
        failed = failure_receipt_ids(traffic.senders)
        lost = sorted(tag for tag, message_id in traffic.acked.items()
                      if tag not in at_carrier and message_id not in failed)
        assert lost == [], f"{len(lost)} acknowledged submits lost, e.g. {lost[:5]}"
        assert any(tag in traffic.acked for tag in submits_before)

        # Webhooks pending at the kill, and those of the redelivered STOPs, all arrive.
        await eventually(lambda: hooks.numbers() >= set(stops), "every opt-out's webhook",
                         BOUND)
        assert hooks.bad_signatures == 0
        await eventually(lambda: open_webhooks(ledger) == 0, "an empty outbox", BOUND)
    finally:
        stopping.set()
        injector.cancel()
        for process in processes:
            await stop_process(process, BOUND)
        await hooks.stop()
        await simulator.stop()


async def test_a_part_answered_before_the_kill_whose_message_never_completes_is_failed_by_dlr(
    flushed_redis: str, tmp_path: Path,
) -> None:
    simulator = patient_carrier()
    await simulator.start("127.0.0.1", 0)
    config = write_config(tmp_path / "stopgate.toml", simulator.port, tmp_path / "data",
                          redis_url=flushed_redis)
    log = tmp_path / "stopgate.log"
    whole = multipart(LONG_TEXT, "udh8", service_type="OTP", to=RECIPIENT, ref=0x21)
    cut = multipart("Second " + LONG_TEXT, "udh8", service_type="OTP", to=RECIPIENT, ref=0x22)
    processes = []
    try:
        process, smpp_port, _ = await start_serve_ports(config, log, BOUND)
        processes.append(process)
        link, first = await bind_sender(smpp_port)
        answers = await send_parts(link, whole)
        assert [a.command_status for a in answers] == [0] * len(whole)
        whole_ids = {a.message_id for a in answers}
        answered = await send_parts(link, cut[:1])  # the sender is told part 1 is accepted
        assert answered[0].command_status == 0
        part_id = answered[0].message_id
        await stop_process(process, BOUND)  # ... and the gateway dies before part 2

        process, smpp_port, _ = await start_serve_ports(config, log, BOUND)
        processes.append(process)
        link, second = await bind_sender(smpp_port)
        await eventually(lambda: part_id in failure_receipt_ids([second]),
                         "a failure receipt for the part answered before the kill", BOUND)
        await asyncio.sleep(0.3)  # any other (wrong) failure receipt would come with it
        assert failure_receipt_ids([first, second]) == {part_id}
        assert not whole_ids & failure_receipt_ids([first, second])
        texts = [m.text for m in simulator.messages()]
        assert texts == [LONG_TEXT]  # the whole one went; the cut one never did
        await asyncio.wait_for(link.unbind(), 5.0)
    finally:
        for process in processes:
            await stop_process(process, BOUND)
        await simulator.stop()


async def test_parts_answered_before_the_kill_whose_message_was_not_yet_with_the_carrier_fail(
    flushed_redis: str, tmp_path: Path,
) -> None:
    """The message completed (its last part arrived) but the carrier had not taken it when
    the gateway died: the sender was told ESME_ROK for the earlier parts and heard nothing
    for the last. Those earlier parts must not vanish: after the restart they get failure
    receipts. The upstream's ``tps = 1`` holds the message in the carrier queue (after the
    one message before it took the second's token) while the gateway is killed."""
    simulator = patient_carrier()
    await simulator.start("127.0.0.1", 0)
    config = write_config(tmp_path / "stopgate.toml", simulator.port, tmp_path / "data",
                          redis_url=flushed_redis)
    config.write_text(config.read_text().replace("window = 50\n", "window = 50\ntps = 1\n"))
    log = tmp_path / "stopgate.log"
    held = multipart("Held " + LONG_TEXT, "udh8", service_type="OTP", to=RECIPIENT, ref=0x23)
    processes = []
    try:
        process, smpp_port, _ = await start_serve_ports(config, log, BOUND)
        processes.append(process)
        link, first = await bind_sender(smpp_port)
        before = await send_parts(link, [submit("Your code is 1234", to=RECIPIENT,
                                                service_type="OTP")])
        assert before[0].command_status == 0  # the upstream's token for this second
        answered = await send_parts(link, held[:1])
        assert answered[0].command_status == 0
        part_id = answered[0].message_id
        last = asyncio.ensure_future(link.request(held[1]))  # completes it: waits for a token
        await asyncio.sleep(0.3)
        assert not last.done()
        await stop_process(process, BOUND)  # killed before the carrier took the message
        await asyncio.gather(last, return_exceptions=True)  # the link died under it
        assert [m.text for m in simulator.messages()] == ["Your code is 1234"]

        process, smpp_port, _ = await start_serve_ports(config, log, BOUND)
        processes.append(process)
        link, second = await bind_sender(smpp_port)
        await eventually(lambda: part_id in failure_receipt_ids([second]),
                         "a failure receipt for the part answered before the kill", BOUND)
        assert failure_receipt_ids([first, second]) == {part_id}
        await asyncio.wait_for(link.unbind(), 5.0)
    finally:
        for process in processes:
            await stop_process(process, BOUND)
        await simulator.stop()
