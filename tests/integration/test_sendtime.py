"""Send-time rules through the real gateway (SMPP and HTTP, the test Redis, the carrier
simulator), judged on a test clock: quiet hours refused with quiet_status and
``retry_after``, Sundays and French public holidays, the stricter of the US and Florida
windows, the fourth promotion to a Florida number in 24 h capped per account, caps that
fail closed, and two `stopgate serve` instances counting one cap together."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis

from gateway.sendtime.clock import TestClock
from simulator.carrier import CarrierSimulator
from smpp.pdu import SubmitSm
from smpp.text import encode_text
from tests.integration.conftest import Stack
from tests.integration.instances import BOUND, Instance, carrier_simulator, running_instances
from tests.integration.policy_stack import (
    OTP_TEXT,
    PROMO_TEXT,
    UNKNOWN_STATE,
    delivered_to,
    digits,
    policy_stack,
    post_message,
    send_one,
    submit,
)
from tests.integration.senders import bind_sender
from tests.support.metrics import metric
from tests.support.redis_servers import server
from tests.support.waiting import eventually

QUIET, CAP = 0x450, 0x451
FR = "+33612340001"
FLORIDA = "+13055550123"  # area code 305: US and US-FL
NEW_YORK = "+12125550123"
PARIS_22H = datetime(2026, 6, 9, 20, 0, tzinfo=UTC)  # Tuesday 22:00 in Paris
MIAMI_NOON = datetime(2026, 6, 9, 16, 0, tzinfo=UTC)  # Tuesday 12:00 EDT
FR_REJECT = {"region": "FR", "days": "mon-sat", "start": "08:00", "end": "20:00",
             "holidays": True, "action": "reject"}


@pytest.fixture
def clock() -> TestClock:
    return TestClock(MIAMI_NOON)


@pytest.fixture
async def stack(flushed_redis: str, tmp_path: Path, clock: TestClock) -> AsyncIterator[Stack]:
    """The US pack (its windows hold, its Florida cap rejects), FR hours that reject."""
    async with policy_stack(flushed_redis, tmp_path, clock=clock,
                            compliance={"packs": ["US"]}, quiet_hours=[FR_REJECT]) as stack:
        yield stack


def globex_submit(to: str, text: str = PROMO_TEXT) -> SubmitSm:
    return SubmitSm(service_type="PROMO", source_addr="36200", source_addr_ton=0,
                    dest_addr_ton=1, dest_addr_npi=1, destination_addr=digits(to),
                    short_message=encode_text(text, 0))


# --- frequency caps ----------------------------------------------------------------------------


async def test_the_fourth_promotion_to_florida_in_24h_is_capped_per_account(
        stack: Stack, clock: TestClock, flushed_redis: str) -> None:
    link, _ = await bind_sender(stack.smpp_port)
    globex, _ = await bind_sender(stack.smpp_port, "globex", "globex1")
    async with aiohttp.ClientSession() as http:
        for _ in range(2):
            assert (await send_one(link, submit(to=FLORIDA))).command_status == 0
            clock.advance(timedelta(hours=1))
        status, body = await post_message(http, stack, {"to": FLORIDA, "text": PROMO_TEXT,
                                                        "class": "promotional"})
        assert (status, body["status"]) == (202, "accepted")
        # the fourth, over SMPP and over HTTP
        assert (await send_one(link, submit(to=FLORIDA))).command_status == CAP
        assert await post_message(http, stack, {"to": FLORIDA, "text": PROMO_TEXT,
                                                "class": "promotional"}) == (
            422, {"status": "blocked", "reason": "frequency_cap"})
        # transactional to the same number: unaffected, and not counted
        assert (await send_one(link, submit(OTP_TEXT, to=FLORIDA, service_type="OTP"))
                ).command_status == 0
        # another account has its own count
        for _ in range(3):
            assert (await send_one(globex, globex_submit(FLORIDA))).command_status == 0
        assert (await send_one(globex, globex_submit(FLORIDA))).command_status == CAP
        # no cap for New York
        for _ in range(5):
            assert (await send_one(link, submit(to=NEW_YORK))).command_status == 0
    await eventually(lambda: len(delivered_to(stack, FLORIDA)) == 7, "7 messages to Florida")
    assert metric(stack, "stopgate_mt_total", account="acme", outcome="capped") == 2
    assert metric(stack, "stopgate_mt_total", account="globex", outcome="capped") == 1
    redis = Redis.from_url(flushed_redis)
    try:
        key = b"fc:{acme|13055550123}:US-FL:86400000"
        assert await redis.zcard(key) == 3
        assert 0 < await redis.pttl(key) <= 86_400_000
    finally:
        await redis.aclose()
    # a day after the first one, its place is free again
    clock.set(MIAMI_NOON + timedelta(hours=24))
    assert (await send_one(link, submit(to=FLORIDA))).command_status == 0
    assert (await send_one(link, submit(to=FLORIDA))).command_status == CAP


async def test_caps_that_cannot_be_counted_fail_closed(stack: Stack, flushed_redis: str) -> None:
    """A cap key Redis refuses to count (the wrong type: a real Redis error, not a mock):
    the promotion is refused with the policy's temporary status, the rest flows."""
    redis = Redis.from_url(flushed_redis)
    try:
        await redis.set("fc:{acme|13055550123}:US-FL:86400000", "not a sorted set")
    finally:
        await redis.aclose()
    link, _ = await bind_sender(stack.smpp_port)
    assert (await send_one(link, submit(to=FLORIDA))).command_status == UNKNOWN_STATE
    assert (await send_one(link, submit(OTP_TEXT, to=FLORIDA, service_type="OTP"))
            ).command_status == 0
    assert (await send_one(link, submit(to=NEW_YORK))).command_status == 0
    async with aiohttp.ClientSession() as http:
        status, body = await post_message(http, stack, {"to": FLORIDA, "text": PROMO_TEXT,
                                                        "class": "promotional"})
    assert status == 503
    assert body["error"] == "frequency_cap_state_unknown"


async def test_caps_fail_closed_while_redis_is_down(tmp_path: Path, clock: TestClock) -> None:
    """Redis stopped under a running gateway: no promotion to a capped number goes out
    (refused with the temporary status), transactional still does."""
    redis_server = server(tmp_path / "redis").start()
    try:
        async with policy_stack(f"redis://127.0.0.1:{redis_server.port}", tmp_path / "data",
                                clock=clock, compliance={"packs": ["US"]}) as stack:
            link, _ = await bind_sender(stack.smpp_port)
            assert (await send_one(link, submit(to=FLORIDA))).command_status == 0
            redis_server.kill()
            answer = await send_one(link, submit(to=FLORIDA))
            assert answer.command_status == UNKNOWN_STATE
            assert (await send_one(link, submit(OTP_TEXT, to=FLORIDA, service_type="OTP"))
                    ).command_status == 0
            await eventually(lambda: len(delivered_to(stack, FLORIDA)) == 2, "the OTP")
            assert delivered_to(stack, FLORIDA)[1] == OTP_TEXT
    finally:
        redis_server.kill()


# --- quiet hours -------------------------------------------------------------------------------


async def test_quiet_hours_reject_at_22h_in_paris_until_8h_next_morning(
        stack: Stack, clock: TestClock) -> None:
    clock.set(PARIS_22H)
    link, _ = await bind_sender(stack.smpp_port)
    assert (await send_one(link, submit(to=FR))).command_status == QUIET
    async with aiohttp.ClientSession() as http:
        assert await post_message(http, stack, {"to": FR, "text": PROMO_TEXT,
                                                "class": "promotional"}) == (
            422, {"status": "blocked", "reason": "quiet_hours",
                  "retry_after": "2026-06-10T06:00:00Z"})  # Wednesday 08:00 in Paris
        # transactional is never held back
        status, _ = await post_message(http, stack, {"to": FR, "text": OTP_TEXT,
                                                     "class": "transactional"})
        assert status == 202
        clock.set(datetime(2026, 6, 10, 6, 0, tzinfo=UTC))
        status, _ = await post_message(http, stack, {"to": FR, "text": PROMO_TEXT,
                                                     "class": "promotional"})
        assert status == 202
    assert metric(stack, "stopgate_mt_total", account="acme", outcome="quiet") == 2


@pytest.mark.parametrize(("now", "opens"), [
    # Sunday 7 June 2026, 12:00 in Paris -> Monday 08:00
    (datetime(2026, 6, 7, 10, 0, tzinfo=UTC), "2026-06-08T06:00:00Z"),
    # Tuesday 14 July 2026 (Fête nationale), 12:00 -> Wednesday 08:00
    (datetime(2026, 7, 14, 10, 0, tzinfo=UTC), "2026-07-15T06:00:00Z"),
    # Easter Monday 2026 (6 April), 12:00 -> Tuesday 08:00
    (datetime(2026, 4, 6, 10, 0, tzinfo=UTC), "2026-04-07T06:00:00Z"),
])
async def test_a_sunday_and_french_public_holidays_are_refused(
        stack: Stack, clock: TestClock, now: datetime, opens: str) -> None:
    clock.set(now)
    link, _ = await bind_sender(stack.smpp_port)
    assert (await send_one(link, submit(to=FR))).command_status == QUIET
    async with aiohttp.ClientSession() as http:
        status, body = await post_message(http, stack, {"to": FR, "text": PROMO_TEXT,
                                                        "class": "promotional"})
    assert (status, body["retry_after"]) == (422, opens)


async def test_a_florida_number_gets_the_stricter_of_the_federal_and_state_windows(
        flushed_redis: str, tmp_path: Path) -> None:
    """20:30 in Miami and in New York: the federal window (until 21:00) is open for both,
    Florida's (until 20:00) is closed for the Florida number only."""
    clock = TestClock(datetime(2026, 6, 10, 0, 30, tzinfo=UTC))
    async with policy_stack(flushed_redis, tmp_path, clock=clock, quiet_hours=[
            {"region": "US", "start": "08:00", "end": "21:00", "action": "reject"},
            {"region": "US-FL", "start": "08:00", "end": "20:00", "action": "reject"}],
            ) as stack:
        link, _ = await bind_sender(stack.smpp_port)
        assert (await send_one(link, submit(to=FLORIDA))).command_status == QUIET
        assert (await send_one(link, submit(to=NEW_YORK))).command_status == 0
        async with aiohttp.ClientSession() as http:
            status, body = await post_message(http, stack, {"to": FLORIDA, "text": PROMO_TEXT,
                                                            "class": "promotional"})
        assert (status, body["retry_after"]) == (422, "2026-06-10T12:00:00Z")  # 08:00 EDT


async def test_a_hold_rule_holds_the_message_until_the_next_opening(
        stack: Stack, clock: TestClock) -> None:
    """The US pack holds (the holder keeps it: tests/integration/test_held.py): accepted,
    due at the next opening."""
    clock.set(datetime(2026, 6, 10, 3, 0, tzinfo=UTC))  # 23:00 in New York
    link, _ = await bind_sender(stack.smpp_port)
    assert (await send_one(link, submit(to=NEW_YORK))).command_status == 0
    async with aiohttp.ClientSession() as http:
        status, body = await post_message(http, stack, {"to": NEW_YORK, "text": PROMO_TEXT,
                                                        "class": "promotional"})
    assert (status, body["status"], body["due"]) == (202, "held", "2026-06-10T12:00:00Z")
    assert delivered_to(stack, NEW_YORK) == []


# --- two instances -----------------------------------------------------------------------------


@pytest.fixture
async def carrier() -> AsyncIterator[CarrierSimulator]:
    simulator = carrier_simulator(2)
    await simulator.start("127.0.0.1", 0)
    try:
        yield simulator
    finally:
        await simulator.stop()


async def test_two_instances_sharing_redis_count_one_cap(
        carrier: CarrierSimulator, flushed_redis: str, tmp_path: Path) -> None:
    async with running_instances(
            2, tmp_path, carrier=carrier, redis_url=flushed_redis,
            extra='[compliance]\npacks = ["US"]\n',
            env={"STOPGATE_TEST_CLOCK": "2026-06-09T12:00:00-04:00"}) as (a, b):
        for instance in (a, b):
            await eventually(lambda i=instance: _ready(i), f"instance {instance.name} ready",
                             BOUND)
            assert instance.events("test_clock"), "the test clock is logged at start"
        on_a, _ = await a.bind("transmitter")
        on_b, _ = await b.bind("transmitter")
        answers = []
        for link in (on_a, on_b, on_a, on_b, on_a):
            answer = await asyncio.wait_for(send_one(link, submit(to=FLORIDA)), BOUND)
            answers.append(answer.command_status)
        assert answers == [0, 0, 0, CAP, CAP]


async def _ready(instance: Instance) -> bool:
    status, _ = await instance.get("/readyz")
    return bool(status == 200)

