"""Slow or dead webhook endpoints do not slow the MT path, nor hold up the MO path.

acme's ``webhook_url`` points at an endpoint on loopback that is, in turn:

- **held**: an aiohttp server that takes every request and answers none until the
  test releases them (a hung receiver; ``webhook.timeout`` is longer than the test);
- **dead**: a port where nothing listens (connection refused), until a server is
  started there;
- **failing**: a server answering 500, until it is repaired.

While opt-outs keep making webhook events (MO STOPs injected by the carrier
simulator, and opt-outs by the HTTP API), a burst of several hundred submit_sm
goes through: every one is answered and reaches the carrier while the endpoint
is still broken (for the held endpoint: while requests are still held open,
asserted on its open-request count, not on time). Every STOP's deliver_sm is
acknowledged meanwhile. Once the endpoint is repaired, every event is delivered
(at least once, correctly signed) and the webhook metrics count them.

Unit tests of the worker itself (retries, order, leases, give-up) are in
tests/gateway/suppression/test_webhooks.py.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from gateway.smpp_link import SmppLink
from gateway.suppression.webhooks import EVENT_ID_HEADER, SIGNATURE_HEADER, sign
from smpp.pdu import SubmitSmResp
from tests.faults.mixed_traffic import tags_in
from tests.integration.policy_stack import ACME_AUTO, GLOBEX_AUTO, policy_stack, submit
from tests.integration.senders import bind_sender
from tests.support.metrics import metric
from tests.support.waiting import eventually

SECRET = "acme-webhook-secret"
BURST = 400
IN_FLIGHT = 20  # submits the burst keeps outstanding (the sender window is 50)
STOPS = [f"+3367100{n:04d}" for n in range(24)]  # opt out by MO STOP to 36173
API_OPTOUTS = [f"+3367200{n:04d}" for n in range(8)]  # opt out by PUT /v1/suppressions
#: Recipients of the burst: nobody opted out; the British ones get a link footer (a
#: token written to the ledger, the same ledger the webhook worker claims rows from).
RECIPIENTS = ["+33633000001", "+33633000002", "+447400123456", "+447400123457"]
TIMEOUT = 30.0


@dataclass
class Hit:
    body: bytes
    signature: str
    event_id: str
    status: int = 0  # what the endpoint answered (0: nothing yet)


@dataclass
class Endpoint:
    """A webhook receiver on loopback that misbehaves as ``mode`` says until ``repair()``."""

    mode: str  # "held" | "dead" | "failing"
    port: int = 0
    hits: list[Hit] = field(default_factory=list)
    open: int = 0  # requests taken and not answered yet
    repaired: bool = False
    _release: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> None:
        if self.mode == "dead":
            self.port = free_port()  # nothing listens there until repair()
        else:
            await self._listen()

    async def _listen(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        server = getattr(site, "_server", None)
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]

    async def repair(self) -> None:
        """Answer 204 from now on; release what is held; listen if nothing did."""
        self.repaired = True
        self._release.set()
        if self._runner is None:
            await self._listen()

    async def stop(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        hit = Hit(await request.read(), request.headers.get(SIGNATURE_HEADER, ""),
                  request.headers.get(EVENT_ID_HEADER, ""))
        self.hits.append(hit)
        if self.mode == "held" and not self.repaired:
            self.open += 1
            try:
                await self._release.wait()
            finally:
                self.open -= 1
        hit.status = 204 if self.repaired else 500
        return web.Response(status=hit.status)

    def delivered_numbers(self) -> set[str]:
        """Numbers of the events acknowledged 2xx, each checked for its signature."""
        numbers = set()
        for hit in self.hits:
            if hit.status == 204:
                assert hit.signature == sign(SECRET, hit.body), hit
                assert hit.event_id
                payload = json.loads(hit.body)
                assert payload["event"] == "optout" and payload["account"] == "acme", payload
                numbers.add(payload["unsubscribed_number"])
        return numbers


def free_port() -> int:
    """A loopback port nothing listens on (bound, then closed, by this process)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(params=["held", "dead", "failing"])
async def endpoint(request: pytest.FixtureRequest) -> AsyncIterator[Endpoint]:
    broken = Endpoint(request.param)
    await broken.start()
    try:
        yield broken
    finally:
        await broken.stop()


async def burst(link: SmppLink) -> list[SubmitSmResp]:
    """BURST submit_sm (promotional and transactional, short), IN_FLIGHT at a time."""
    slots = asyncio.Semaphore(IN_FLIGHT)

    async def one(n: int) -> SubmitSmResp:
        to = RECIPIENTS[n % len(RECIPIENTS)]
        pdu = (submit(f"Spring sale: 25% off garden chairs #7.{n}#", to=to) if n % 2
               else submit(f"Your verification code is {n:06d} #7.{n}#", to=to,
                           service_type="OTP"))
        async with slots:
            answer = await asyncio.wait_for(link.request(pdu), TIMEOUT)
        assert isinstance(answer, SubmitSmResp)
        return answer

    return await asyncio.gather(*(one(n) for n in range(BURST)))


async def test_broken_webhook_endpoint_holds_up_neither_submits_nor_stop_acknowledgements(
    flushed_redis: str, tmp_path: Path, endpoint: Endpoint,
) -> None:
    acme = {**ACME_AUTO, "webhook_url": endpoint.url, "webhook_secret": SECRET}
    webhook = {"timeout": 60.0, "backoff_initial": 0.05, "backoff_max": 0.2}
    async with policy_stack(flushed_redis, tmp_path, accounts=[acme, GLOBEX_AUTO],
                            webhook=webhook) as stack, aiohttp.ClientSession() as http:
        link, _ = await bind_sender(stack.smpp_port, window=50)
        simulator = stack.simulator

        def broken() -> bool:  # the endpoint has been tried and has not taken anything yet
            if endpoint.mode == "held":
                return endpoint.open > 0
            return metric(stack, "stopgate_webhook_deliveries_total", {"outcome": "retry"}) > 0

        # STOPs first: their deliver_sm are acknowledged while the webhook is broken.
        for number in STOPS[:8]:
            await simulator.inject_mo(number.removeprefix("+"), "36173", "STOP")
        await eventually(lambda: simulator.stats.mos_acked >= 8 and broken(),
                         "STOPs acknowledged and the endpoint tried", TIMEOUT)

        async def more_optouts() -> None:
            """Opt-outs keep coming while the burst runs: STOPs and API calls, interleaved."""
            for index, number in enumerate(STOPS[8:]):
                await simulator.inject_mo(number.removeprefix("+"), "36173", "STOP")
                if index < len(API_OPTOUTS):
                    async with http.put(f"{stack.http_url}/v1/suppressions/{API_OPTOUTS[index]}",
                                        headers={"Authorization": "Bearer acme-key"}) as answer:
                        assert answer.status == 200, await answer.text()
                await asyncio.sleep(0.02)

        optouts = asyncio.create_task(more_optouts())
        answers = await burst(link)
        await asyncio.wait_for(optouts, TIMEOUT)

        # Every submit answered and accepted, every STOP acknowledged, all while the
        # endpoint still takes nothing (held: requests are open on it right now).
        assert [a.command_status for a in answers] == [0] * BURST
        await eventually(lambda: simulator.stats.mos_acked >= len(STOPS),
                         "every STOP acknowledged", TIMEOUT)
        assert simulator.stats.mos_failed == 0
        if endpoint.mode == "held":
            assert endpoint.open > 0
        assert broken() and not endpoint.delivered_numbers()
        await eventually(lambda: tags_in(m.text for m in simulator.messages()) >= {
            f"7.{n}" for n in range(BURST)}, "the burst at the carrier", TIMEOUT)

        await eventually(lambda: metric(stack, "stopgate_webhook_backlog", {}) > 0,
                         "the undelivered events in the backlog gauge", TIMEOUT)

        # Repaired: every event delivered at least once, signed, and counted.
        await endpoint.repair()
        events = set(STOPS) | set(API_OPTOUTS)
        await eventually(lambda: endpoint.delivered_numbers() >= events,
                         "every opt-out delivered to the repaired endpoint", TIMEOUT)
        await eventually(lambda: metric(stack, "stopgate_webhook_deliveries_total",
                                        {"outcome": "delivered"}) >= len(events),
                         "the deliveries counted", TIMEOUT)
        assert endpoint.delivered_numbers() == events
        assert metric(stack, "stopgate_webhook_deliveries_total", {"outcome": "gave_up"}) == 0
        await eventually(lambda: metric(stack, "stopgate_webhook_backlog", {}) == 0,
                         "an empty backlog", TIMEOUT)
        if endpoint.mode != "held":
            assert metric(stack, "stopgate_webhook_deliveries_total", {"outcome": "retry"}) > 0
        print(f"\n{endpoint.mode}: {len(endpoint.hits)} requests for {len(events)} events; "
              f"{simulator.stats.mos_acked} MO parts acknowledged")
        await link.unbind()
