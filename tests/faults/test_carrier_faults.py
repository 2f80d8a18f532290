"""When the carrier misbehaves, senders get an answer for everything and lose nothing.

A link drop mid-stream, a carrier that refuses, a carrier that throttles, and no
carrier at all: every submit_sm is answered within a bound, the answers are the
ones the module docstring of gateway/carriers/pool.py promises, and every message a
sender was told ESME_ROK for is at the carrier (at-least-once: a copy the carrier
took but whose answer the link lost goes again, and is counted here).

These run against the carrier simulator; test_carrier_link_faults.py has the
faults it cannot produce (nothing listening, refused binds, silence, resets,
garbage) and the metrics each one shows.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from gateway.smpp_link import SmppLink
from simulator.carrier import CarrierSimulator
from smpp.constants import CommandStatus
from smpp.pdu import SubmitSmResp
from tests.integration.conftest import Stack
from tests.integration.policy_stack import multipart, send_parts
from tests.integration.senders import bind_sender, message, running_stack
from tests.support.waiting import eventually

ROK = CommandStatus.ESME_ROK
THROTTLED = CommandStatus.ESME_RTHROTTLED
ANSWER_BOUND = 10.0  # the pool's own deadline is 2 x response_timeout = 4 s


async def send_with_window(
    link: SmppLink, texts: list[str], window: int
) -> dict[str, tuple[int, str]]:
    """Send every text keeping ``window`` submits in flight; text -> (status, message_id)."""
    slots = asyncio.Semaphore(window)

    async def one(text: str) -> tuple[str, tuple[int, str]]:
        async with slots:
            response = await asyncio.wait_for(link.request(message(text)), ANSWER_BOUND)
        assert isinstance(response, SubmitSmResp)
        return text, (response.command_status, response.message_id)

    return dict(await asyncio.gather(*(one(text) for text in texts)))


def link_losses(stack: Stack) -> float:
    """stopgate_upstream_events_total{event="link_lost"} of the stack's one upstream."""
    registry = stack.gateway.metrics.registry
    return registry.get_sample_value("stopgate_upstream_events_total",
                                     {"upstream": "sim", "event": "link_lost"}) or 0.0


def accepted_at_carrier(simulator: CarrierSimulator) -> Counter[str]:
    """How many times the carrier accepted each text."""
    return Counter(r.pdu.short_message.decode() for r in simulator.received if r.carrier_id)


async def test_carrier_link_drop_mid_stream_rebinds_and_loses_nothing(
    flushed_redis: str, tmp_path: Path,
) -> None:
    simulator = CarrierSimulator(credentials={"proxy": "secret"}, latency=0.002)
    async with running_stack(flushed_redis, tmp_path, simulator) as stack:
        pool = stack.gateway.pool
        assert pool is not None
        link, sender = await bind_sender(stack.smpp_port, window=50, response_timeout=ANSWER_BOUND)
        texts = [f"stream {n}" for n in range(300)]
        sending = asyncio.create_task(send_with_window(link, texts, window=20))
        await eventually(lambda: simulator.stats.accepted >= 60, "the stream under way")
        loop = asyncio.get_running_loop()
        dropped_at = loop.time()
        assert simulator.disconnect() >= 1
        # The drop as the gateway counts it: a rebind can come sooner than a poll of
        # pool.ready, and would hide the moment it was not ready.
        await eventually(lambda: link_losses(stack) >= 1, "the gateway to notice the drop")
        await eventually(lambda: pool.ready, "the gateway to bind again")
        rebind = loop.time() - dropped_at
        answers = await asyncio.wait_for(sending, 60)

        statuses = Counter(status for status, _ in answers.values())
        assert set(statuses) <= {ROK, THROTTLED}, statuses
        ok = {text: message_id for text, (status, message_id) in answers.items() if status == ROK}
        at_carrier = accepted_at_carrier(simulator)
        assert set(ok) <= set(at_carrier), "a message answered ESME_ROK is not at the carrier"
        duplicates = sum(count - 1 for count in at_carrier.values())
        throttled_but_there = sum(1 for text, (status, _) in answers.items()
                                  if status == THROTTLED and text in at_carrier)
        # Every id a sender was given gets its receipt, over the rebound link.
        await eventually(lambda: set(sender.receipt_ids()) == set(ok.values()),
                         "a receipt for every message answered ESME_ROK")
        print(f"\nlink drop: rebound in {rebind * 1000:.0f} ms; {statuses[ROK]} ok, "
              f"{statuses[THROTTLED]} throttled ({throttled_but_there} of them at the carrier "
              f"anyway); {duplicates} duplicate(s) at the carrier; "
              f"{len(sender.receipts())} receipts for {len(ok)} ids")
        await link.unbind()


async def test_while_the_carrier_refuses_to_rebind_new_submits_are_throttled_at_once(
    flushed_redis: str, tmp_path: Path,
) -> None:
    """Waiting submits go when the link is back (within their deadline); new ones never hang."""
    simulator = CarrierSimulator(credentials={"proxy": "secret"}, latency=0.002)
    async with running_stack(flushed_redis, tmp_path, simulator) as stack:
        pool = stack.gateway.pool
        assert pool is not None
        link, sender = await bind_sender(stack.smpp_port, response_timeout=ANSWER_BOUND)
        texts = [f"outage {n}" for n in range(100)]
        sending = asyncio.create_task(send_with_window(link, texts, window=20))
        await eventually(lambda: simulator.stats.accepted >= 30, "the stream under way")
        simulator.credentials = {}  # binds refused from now on
        simulator.disconnect()
        await eventually(lambda: not pool.ready, "the gateway to notice the drop")
        other, _ = await bind_sender(stack.smpp_port, "globex", "globex1")
        during = await send_with_window(other, [f"during {n}" for n in range(5)], window=5)
        assert {status for status, _ in during.values()} == {THROTTLED}
        await asyncio.sleep(0.3)  # a few refused rebinds
        assert not pool.ready and simulator.stats.bind_failures >= 1
        simulator.credentials = {"proxy": "secret"}
        answers = await asyncio.wait_for(sending, 60)
        statuses = Counter(status for status, _ in answers.values())
        assert set(statuses) <= {ROK, THROTTLED}, statuses
        ok = {text for text, (status, _) in answers.items() if status == ROK}
        assert ok <= set(accepted_at_carrier(simulator))
        assert not any(text.startswith("during") for text in accepted_at_carrier(simulator))
        await eventually(lambda: len(set(sender.receipt_ids())) == len(ok),
                         "a receipt for every message answered ESME_ROK")
        print(f"\noutage: {statuses[ROK]} ok, {statuses[THROTTLED]} throttled; "
              f"{simulator.stats.bind_failures} refused rebinds")
        await link.unbind()
        await other.unbind()


async def test_a_carrier_error_status_reaches_the_sender_as_it_is(stack: Stack) -> None:
    stack.simulator.configure(error_rate=1.0, error_status=CommandStatus.ESME_RSUBMITFAIL)
    link, _ = await bind_sender(stack.smpp_port)
    answers = await send_with_window(link, [f"refused {n}" for n in range(3)], window=3)
    assert {status for status, _ in answers.values()} == {CommandStatus.ESME_RSUBMITFAIL}
    assert stack.simulator.stats.rejected == 3
    await link.unbind()


async def test_carrier_throttling_slows_the_link_and_fails_nothing(
    flushed_redis: str, tmp_path: Path,
) -> None:
    simulator = CarrierSimulator(credentials={"proxy": "secret"}, throttle_tps=40)
    async with running_stack(flushed_redis, tmp_path, simulator) as stack:
        link, sender = await bind_sender(stack.smpp_port)
        texts = [f"throttled {n}" for n in range(60)]
        answers = await send_with_window(link, texts, window=20)
        assert {status for status, _ in answers.values()} == {ROK}
        assert simulator.stats.throttled > 0, "the carrier did throttle"
        assert accepted_at_carrier(simulator) == Counter(texts)  # each once, none lost
        await eventually(lambda: len(sender.receipts()) == len(texts), "every receipt")
        await link.unbind()


async def test_a_multipart_message_the_carrier_refuses_fails_its_earlier_parts_by_receipt(
    stack: Stack,
) -> None:
    """Part 1 was answered ESME_ROK on arrival (a sender with a window of 1 needs that to
    send part 2); when the carrier refuses the message, the last part gets the carrier's
    status and part 1's id an UNDELIV receipt carrying it, so nothing is left pending."""
    stack.simulator.configure(error_rate=1.0, error_status=CommandStatus.ESME_RSUBMITFAIL)
    link, sender = await bind_sender(stack.smpp_port)
    parts = multipart("A long transactional notice. " * 8, "udh8", service_type="OTP")
    answers = await asyncio.wait_for(send_parts(link, parts), ANSWER_BOUND)
    assert [a.command_status for a in answers[:-1]] == [ROK] * (len(parts) - 1)
    assert answers[-1].command_status == CommandStatus.ESME_RSUBMITFAIL
    earlier = {a.message_id for a in answers[:-1]}
    await eventually(lambda: earlier <= set(sender.receipt_ids()), "receipts for part 1")
    for pdu in sender.receipts():
        assert b"stat:UNDELIV err:045" in pdu.short_message, pdu.short_message  # 0x45
    assert set(sender.receipt_ids()) == earlier
    await link.unbind()
