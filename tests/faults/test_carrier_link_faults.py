"""The carrier link misbehaves; every fault ends in a defined state that the metrics show.

A real gateway on loopback, a real sender over SMPP, and a carrier that fails on
purpose: the carrier simulator for ESME_RTHROTTLED storms, and for the rest
tests/faults/fake_carrier.py, an SMSC with a knob per fault (refused binds,
silence, resets, garbage). Each test states what the sender is answered (every
submit_sm gets an answer, none hangs), what the gateway does, and which
``stopgate_upstream_events_total`` event, gauge or /readyz field shows it.
README.md "The carrier link" is the operator's version of this file.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import struct
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway.app import Gateway
from gateway.carriers.dispatch import STUCK_AFTER
from gateway.smpp_link import SmppLink
from simulator.carrier import CarrierSimulator
from smpp.constants import CommandId, CommandStatus
from smpp.pdu import BindTransmitter, GenericNack, SubmitSm, SubmitSmResp
from tests.faults.fake_carrier import FakeCarrier
from tests.integration.conftest import gateway_config
from tests.integration.senders import bind_sender, message
from tests.support.metrics import metric
from tests.support.waiting import eventually

ROK = CommandStatus.ESME_ROK
THROTTLED = CommandStatus.ESME_RTHROTTLED
QUEUE_FULL = CommandStatus.ESME_RMSGQFUL
#: A sender's wait for any answer: above the pool's own deadline (2 x response_timeout = 4 s)
#: plus a rebind, far below "hangs".
ANSWER_BOUND = 10.0


def upstream(port: int, **options: Any) -> dict[str, Any]:
    return {"name": "sim", "host": "127.0.0.1", "port": port, "system_id": "proxy",
            "password": "secret", "window": 50} | options


@asynccontextmanager
async def gateway_to(port: int, redis_url: str, data_dir: Path, *, ready: bool = True,
                     **options: Any) -> AsyncIterator[Gateway]:
    """A gateway whose one upstream is the carrier on ``port`` (``options``: its settings)."""
    config = gateway_config(port, redis_url, data_dir, upstreams=[upstream(port, **options)])
    gateway = Gateway(config)
    await gateway.start()
    try:
        if ready:
            await eventually(lambda: gateway.pool is not None and gateway.pool.ready
                             and gateway.keeper is not None and gateway.keeper.ready,
                             "the carrier bind and the suppression cache")
        yield gateway
    finally:
        await gateway.stop(timeout=2.0)


def scraped(gateway: Gateway) -> bytes:
    """What /metrics shows (the gateway's own exposition): samples are read back from it."""
    return gateway.metrics.render()


def event(gateway: Gateway, kind: str) -> float:
    return metric(scraped(gateway), "stopgate_upstream_events_total", upstream="sim", event=kind)


def sessions(gateway: Gateway, state: str) -> float:
    return metric(scraped(gateway), "stopgate_upstream_sessions", upstream="sim", state=state)


async def readyz(gateway: Gateway) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.get(
        f"http://127.0.0.1:{gateway.http_port}/readyz", timeout=aiohttp.ClientTimeout(5)
    ) as response:
        return response.status, await response.json()


async def submit_all(link: SmppLink, texts: list[str], window: int = 20) -> dict[str, int]:
    """Send every text keeping ``window`` in flight; text -> the status the sender got."""
    slots = asyncio.Semaphore(window)

    async def one(text: str) -> tuple[str, int]:
        async with slots:
            response = await asyncio.wait_for(link.request(message(text, receipt=False)),
                                              ANSWER_BOUND)
        assert isinstance(response, SubmitSmResp)
        return text, response.command_status

    return dict(await asyncio.gather(*(one(text) for text in texts)))


async def sender(gateway: Gateway) -> SmppLink:
    link, _ = await bind_sender(gateway.smpp_port, window=50, response_timeout=ANSWER_BOUND)
    return link


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- refused connections -----------------------------------------------------------------


async def test_with_nothing_listening_at_the_carrier_senders_are_throttled_at_once_until_it_appears(
    flushed_redis: str, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    port = free_port()  # nobody listens here (yet)
    caplog.set_level(logging.INFO, logger="stopgate.upstream")
    async with gateway_to(port, flushed_redis, tmp_path, ready=False) as gateway:
        await eventually(lambda: event(gateway, "connect_failed") >= 3, "refused connects")
        status, body = await readyz(gateway)
        assert status == 503 and body["ready"] is False
        assert body["upstreams"]["sim"]["bound"] == 0
        assert sessions(gateway, "bound") == 0
        assert sessions(gateway, "connecting") + sessions(gateway, "down") == 1

        link = await sender(gateway)
        answers = await submit_all(link, [f"nobody there {n}" for n in range(5)])
        assert set(answers.values()) == {THROTTLED}
        assert metric(scraped(gateway), "stopgate_throttled_total", reason="no_upstream") == 5

        # Backoff, not a busy loop: full jitter up to reconnect_delay_max (0.2 s) averages a
        # try per 0.1 s; without backoff a refused loopback connect repeats thousands of times.
        loop = asyncio.get_running_loop()
        before, since = event(gateway, "connect_failed"), loop.time()
        await asyncio.sleep(1.0)
        tries = event(gateway, "connect_failed") - before
        assert tries <= 3 + 40 * (loop.time() - since), f"{tries} connects: no backoff"

        carrier = await FakeCarrier().start(port)  # the carrier comes (back) up
        try:
            await eventually(lambda: gateway.pool is not None and gateway.pool.ready,
                             "a bind to the carrier once it listens")
            await eventually(lambda: gateway.keeper is not None and gateway.keeper.ready,
                             "the suppression cache")
            status, body = await readyz(gateway)
            assert status == 200 and body["upstreams"]["sim"]["bound"] == 1
            assert sessions(gateway, "bound") == 1
            assert await submit_all(link, ["back again"]) == {"back again": ROK}
            assert carrier.accepted == Counter(["back again"])
            assert not any(text.startswith("nobody") for text in carrier.accepted)
            await link.unbind()
            # Counted before the carrier goes away again (that loss is a warning of its own).
            warnings = [r.getMessage() for r in caplog.records
                        if r.name == "stopgate.upstream" and r.levelno >= logging.WARNING]
            assert len(warnings) == 1 and "cannot connect" in warnings[0], warnings  # per outage
        finally:
            await carrier.stop()


# --- bind rejected -----------------------------------------------------------------------


@pytest.mark.parametrize("refusal", [CommandStatus.ESME_RBINDFAIL, CommandStatus.ESME_RINVPASWD])
async def test_a_refused_bind_is_retried_with_backoff_logged_once_and_recovers_when_accepted(
    flushed_redis: str, tmp_path: Path, caplog: pytest.LogCaptureFixture,
    refusal: CommandStatus,
) -> None:
    carrier = await FakeCarrier().start()
    carrier.bind_status = refusal
    caplog.set_level(logging.INFO, logger="stopgate.upstream")
    try:
        async with gateway_to(carrier.port, flushed_redis, tmp_path, ready=False) as gateway:
            await eventually(lambda: carrier.bind_attempts >= 4, "a few refused binds")
            status, body = await readyz(gateway)
            assert status == 503 and body["upstreams"]["sim"]["bound"] == 0
            link = await sender(gateway)
            assert await submit_all(link, ["refused"]) == {"refused": THROTTLED}
            await eventually(lambda: event(gateway, "bind_failed") == carrier.bind_attempts,
                             "every refused bind counted")

            carrier.bind_status = CommandStatus.ESME_ROK  # the carrier fixed its side
            await eventually(lambda: gateway.pool is not None and gateway.pool.ready,
                             "a bind once the carrier accepts it")
            assert await submit_all(link, ["accepted"]) == {"accepted": ROK}
            assert sessions(gateway, "bound") == 1
            await link.unbind()
        warnings = [r.getMessage() for r in caplog.records
                    if r.name == "stopgate.upstream" and r.levelno >= logging.WARNING]
        assert len(warnings) == 1, warnings  # one line for the whole streak, not one per retry
        assert refusal.name in warnings[0]
        assert any("bound transceiver" in r.getMessage() for r in caplog.records)
        assert carrier.accepted == Counter(["accepted"])
    finally:
        await carrier.stop()


# --- connection reset mid-window ---------------------------------------------------------


async def test_submits_unanswered_when_the_carrier_resets_the_link_go_again_after_the_rebind(
    flushed_redis: str, tmp_path: Path,
) -> None:
    """The sender gets ESME_ROK for each (within the deadline); the carrier gets each twice:
    the first copy's fate is unknown, and every such copy is counted as resubmitted."""
    carrier = await FakeCarrier().start()
    try:
        async with gateway_to(carrier.port, flushed_redis, tmp_path) as gateway:
            link = await sender(gateway)
            carrier.answer_submits = False
            texts = [f"in flight {n}" for n in range(10)]
            sending = asyncio.create_task(submit_all(link, texts))
            await eventually(lambda: len(carrier.submits) == 10, "a full window at the carrier")
            (first,) = carrier.links
            assert len(first.held) == 10
            carrier.answer_submits = True
            first.reset()

            assert await asyncio.wait_for(sending, ANSWER_BOUND) == dict.fromkeys(texts, ROK)
            assert carrier.binds == 2  # rebound
            assert Counter(p.short_message.decode() for p in carrier.submits) == Counter(texts * 2)
            assert carrier.accepted == Counter(texts)  # answered once, on the new link
            assert event(gateway, "link_lost") == 1
            assert event(gateway, "resubmitted") == 10
            assert metric(scraped(gateway), "stopgate_upstream_inflight", upstream="sim") == 0
            await link.unbind()
    finally:
        await carrier.stop()


# --- responses that never come -----------------------------------------------------------


async def test_a_carrier_gone_silent_is_probed_and_rebound_and_its_submits_are_throttled(
    flushed_redis: str, tmp_path: Path,
) -> None:
    """No submit_sm_resp, no enquire_link_resp: after response_timeout (2 s) each part goes
    again and an enquire_link probes the link; unanswered, the link is dead and rebound. The
    sender gets ESME_RTHROTTLED at the deadline (2 x response_timeout) and may retry."""
    carrier = await FakeCarrier().start()
    try:
        async with gateway_to(carrier.port, flushed_redis, tmp_path) as gateway:
            link = await sender(gateway)
            carrier.answer_submits = carrier.answer_enquire_links = False
            texts = [f"into the void {n}" for n in range(3)]
            assert await submit_all(link, texts) == dict.fromkeys(texts, THROTTLED)
            assert event(gateway, "timeout") >= 3
            assert metric(scraped(gateway), "stopgate_throttled_total",
                          reason="carrier_deadline") == 3
            await eventually(lambda: event(gateway, "link_dead") == 1, "the probe unanswered")
            await eventually(lambda: carrier.binds == 2, "a rebind after the dead link")
            assert event(gateway, "link_lost") == 1
            assert carrier.accepted == Counter()

            carrier.answer_submits = carrier.answer_enquire_links = True
            await eventually(lambda: gateway.pool is not None and gateway.pool.ready, "bound")
            assert await submit_all(link, ["heard again"]) == {"heard again": ROK}
            # A copy sent again just before its deadline may still hold a slot until it, too,
            # times out; then every slot is free.
            await eventually(lambda: metric(scraped(gateway), "stopgate_upstream_inflight",
                                            upstream="sim") == 0, "every window slot free")
            await link.unbind()
    finally:
        await carrier.stop()


async def test_unanswered_submits_free_their_window_slots_while_the_link_answers_enquire_link(
    flushed_redis: str, tmp_path: Path,
) -> None:
    """A carrier that swallows submit_sm but answers the probe keeps its link: its parts time
    out (ESME_RTHROTTLED to the sender), their window slots come back, nothing is rebound."""
    carrier = await FakeCarrier().start()
    try:
        async with gateway_to(carrier.port, flushed_redis, tmp_path, window=2) as gateway:
            link = await sender(gateway)
            carrier.answer_submits = False
            texts = ["swallowed 1", "swallowed 2"]
            assert await submit_all(link, texts) == dict.fromkeys(texts, THROTTLED)
            assert event(gateway, "timeout") >= 2
            await eventually(lambda: metric(scraped(gateway), "stopgate_upstream_inflight",
                                            upstream="sim") == 0, "both window slots free")

            carrier.answer_submits = True
            more = [f"answered {n}" for n in range(6)]  # three windows' worth
            assert await submit_all(link, more) == dict.fromkeys(more, ROK)
            assert len(carrier.links) == 1 and carrier.binds == 1  # the same link throughout
            assert event(gateway, "link_dead") == 0 and event(gateway, "link_lost") == 0
            await link.unbind()
    finally:
        await carrier.stop()


async def test_a_link_that_answers_enquire_link_but_no_submit_in_a_row_is_bound_again(
    flushed_redis: str, tmp_path: Path,
) -> None:
    """STUCK_AFTER submit_sm timeouts in a row on one link, with no response between them,
    mean a stuck carrier session: the link is closed and bound again (counted as
    ``stuck``), and traffic flows on the new bind once the carrier answers."""
    carrier = await FakeCarrier().start()
    try:
        async with gateway_to(carrier.port, flushed_redis, tmp_path,
                              window=STUCK_AFTER) as gateway:
            link = await sender(gateway)
            carrier.answer_submits = False
            texts = [f"stuck {n}" for n in range(STUCK_AFTER)]
            assert await submit_all(link, texts) == dict.fromkeys(texts, THROTTLED)
            assert event(gateway, "stuck") >= 1
            assert carrier.binds >= 2  # closed and bound again

            carrier.answer_submits = True
            await eventually(lambda: gateway.pool is not None and gateway.pool.ready,
                             "the new bind")
            more = [f"flowing {n}" for n in range(4)]
            assert await submit_all(link, more) == dict.fromkeys(more, ROK)
            await link.unbind()
    finally:
        await carrier.stop()


# --- ESME_RTHROTTLED storms --------------------------------------------------------------


async def test_an_esme_rthrottled_storm_slows_the_link_and_traffic_recovers_when_it_ends(
    flushed_redis: str, tmp_path: Path,
) -> None:
    """While the carrier refuses 9 submits in 10 with 0x58, the gateway halves its send rate
    (stopgate_upstream_rate_limit) instead of hammering, and senders get ESME_ROK, or
    ESME_RTHROTTLED / ESME_RMSGQFUL past the deadline: never a failure status."""
    simulator = CarrierSimulator(credentials={"proxy": "secret"})
    await simulator.start("127.0.0.1", 0)
    tps = 200
    try:
        async with gateway_to(simulator.port, flushed_redis, tmp_path, tps=tps) as gateway:
            link = await sender(gateway)
            assert metric(scraped(gateway), "stopgate_upstream_rate_limit", upstream="sim") == tps
            simulator.configure(error_rate=0.9, error_status=THROTTLED)
            loop = asyncio.get_running_loop()
            began, tried = loop.time(), simulator.stats.submits
            storm = await submit_all(link, [f"storm {n}" for n in range(20)])
            attempts = simulator.stats.submits - tried
            lasted = loop.time() - began
            cut = metric(scraped(gateway), "stopgate_upstream_rate_limit", upstream="sim")

            assert set(storm.values()) <= {ROK, THROTTLED, QUEUE_FULL}, Counter(storm.values())
            assert event(gateway, "throttled") > 0
            assert 0 < cut < tps  # the gateway slowed itself down
            assert attempts <= tps * lasted + 50, "more tries than even the uncut rate allows"
            at_carrier = Counter(r.pdu.short_message.decode()
                                 for r in simulator.received if r.carrier_id)
            assert {text for text, status in storm.items() if status == ROK} <= set(at_carrier)

            simulator.configure(error_rate=0.0)  # the storm ends
            calm = [f"calm {n}" for n in range(30)]
            # A few at a time: the rate climbs back from its cut as parts are accepted, and a
            # message's deadline runs from its submit.
            assert await submit_all(link, calm, window=5) == dict.fromkeys(calm, ROK)
            at_carrier = Counter(r.pdu.short_message.decode()
                                 for r in simulator.received if r.carrier_id)
            assert all(at_carrier[text] == 1 for text in calm)
            print(f"\nstorm: {attempts} submit_sm in {lasted:.1f}s for 20 messages "
                  f"({Counter(storm.values())}); rate limit cut to {cut:.0f}/s of {tps}")
            await link.unbind()
    finally:
        await simulator.stop()


# --- garbage from the carrier ------------------------------------------------------------

GARBAGE = {
    "random bytes": random.Random(7).randbytes(64),
    "command_length over max_pdu_size": struct.pack(">IIII", 0xFFFF_FFF0, 4, 0, 1),
    "command_length under the header": struct.pack(">IIII", 8, 4, 0, 1),
}


@pytest.mark.parametrize("garbage", list(GARBAGE))
async def test_a_broken_frame_closes_only_its_link_and_its_submits_go_on_the_other_session(
    flushed_redis: str, tmp_path: Path, garbage: str,
) -> None:
    """The gateway answers generic_nack (ESME_RINVCMDLEN) and closes that link (the framing
    is lost); its unanswered submits go again over the other bound session and the sender
    gets ESME_ROK; the other session never notices; the closed one is rebound."""
    carrier = await FakeCarrier().start()
    try:
        async with gateway_to(carrier.port, flushed_redis, tmp_path, sessions=2) as gateway:
            assert gateway.pool is not None
            pool = gateway.pool
            await eventually(lambda: pool.bound_sessions() == 2, "both sessions bound")
            link = await sender(gateway)
            carrier.answer_submits = False
            texts = [f"garbage {n}" for n in range(10)]
            sending = asyncio.create_task(submit_all(link, texts))
            await eventually(lambda: len(carrier.submits) == 10, "the submits at the carrier")
            victim, healthy = sorted(carrier.bound(), key=lambda one: -len(one.held))
            stuck = len(victim.held)
            assert stuck
            carrier.answer_submits = True
            for pdu in healthy.held:
                healthy.accept(pdu)
            victim.send(GARBAGE[garbage])

            assert await asyncio.wait_for(sending, ANSWER_BOUND) == dict.fromkeys(texts, ROK)
            assert carrier.accepted == Counter(texts)
            assert not victim.is_open and healthy.is_open
            nacks = [pdu for pdu in victim.replies if isinstance(pdu, GenericNack)]
            assert [nack.command_status for nack in nacks] == [CommandStatus.ESME_RINVCMDLEN]
            assert event(gateway, "protocol_error") == 1 and event(gateway, "link_lost") == 1
            assert event(gateway, "resubmitted") == stuck
            await eventually(lambda: pool.bound_sessions() == 2, "the closed session rebound")
            await link.unbind()
    finally:
        await carrier.stop()


async def test_pdus_an_smsc_never_sends_are_refused_and_the_link_stays_up(
    flushed_redis: str, tmp_path: Path,
) -> None:
    """A submit_sm or a bind from the carrier gets its response with ESME_RINVCMDID, an
    unknown command id a generic_nack, a response to nothing is ignored: each counted, and
    the link carries on as before."""
    carrier = await FakeCarrier().start()
    try:
        async with gateway_to(carrier.port, flushed_redis, tmp_path) as gateway:
            (only,) = carrier.links
            only.request(SubmitSm(destination_addr="33612345678", short_message=b"wrong way"))
            only.request(BindTransmitter(system_id="smsc", password="x"))
            only.send(struct.pack(">IIII", 16, 0x0000_0077, 0, 42))  # no such command
            only.send(SubmitSmResp(sequence=0x7FFF_0000, message_id="nobody-asked"))
            await eventually(lambda: len(only.replies) == 3, "the three answers")
            answers = [(CommandId(pdu.command_id).name, pdu.command_status) for pdu in only.replies]
            assert answers == [
                ("submit_sm_resp", CommandStatus.ESME_RINVCMDID),
                ("bind_transmitter_resp", CommandStatus.ESME_RINVCMDID),
                ("generic_nack", CommandStatus.ESME_RINVCMDID),
            ]
            await eventually(lambda: event(gateway, "stray_response") == 1, "the stray counted")
            assert event(gateway, "protocol_error") == 3

            link = await sender(gateway)
            assert await submit_all(link, ["unharmed"]) == {"unharmed": ROK}
            assert only.is_open and carrier.binds == 1
            assert event(gateway, "link_lost") == 0
            await link.unbind()
    finally:
        await carrier.stop()

