"""Held messages through the real gateway (SMPP and HTTP, the test Redis, the carrier
simulator, the SQLite ledger), on a test clock: a promotion to a French number at 22:00
Paris is answered at once, kept, listed, released at 08:00 after a restart of the
gateway with its footer and its receipt under the sender's id; an overnight opt-out,
a cancelled campaign, an expired message and a full backlog end in failure receipts or
refusals; transactional traffic is never held; two instances release a message once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway.sendtime.clock import TestClock
from simulator.carrier import CarrierSimulator
from smpp.constants import Tag
from smpp.pdu import SubmitSm
from smpp.tlv import tlv_str
from tests.integration.conftest import Stack, start_stack
from tests.integration.policy_stack import (
    ACME_AUTO,
    ACME_HTTP,
    ACME_SHORTCODE_FOOTER,
    GLOBEX_AUTO,
    LONG_PROMO,
    OTP_TEXT,
    PROMO_TEXT,
    delivered_to,
    multipart,
    opt_out,
    post_message,
    send_one,
    send_parts,
    submit,
)
from tests.integration.senders import Sender, bind_sender
from tests.support.metrics import metric
from tests.support.waiting import eventually

FR = "+33612340001"
FR2 = "+33612340002"
PARIS_22H = datetime(2026, 11, 23, 21, 0, tzinfo=UTC)  # Monday 22:00 in Paris
PARIS_8H = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)  # Tuesday 08:00 in Paris
DUE = "2026-11-24T07:00:00Z"
SECTIONS: dict[str, Any] = {"compliance": {"packs": ["FR"]},
                            "accounts": [ACME_AUTO, GLOBEX_AUTO]}


@pytest.fixture
def clock() -> TestClock:
    return TestClock(PARIS_22H)


async def started(redis_url: str, data_dir: Path, clock: TestClock,
                  simulator: CarrierSimulator | None = None, **sections: Any) -> Stack:
    return await start_stack(redis_url, data_dir, simulator, clock=clock,
                             **{**SECTIONS, **sections})


@pytest.fixture
async def stack(flushed_redis: str, tmp_path: Path, clock: TestClock) -> AsyncIterator[Stack]:
    running = await started(flushed_redis, tmp_path, clock)
    try:
        yield running
    finally:
        await running.gateway.stop(timeout=2.0)
        await running.simulator.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


async def call(http: aiohttp.ClientSession, stack: Stack, method: str, path: str,
               key: str = ACME_HTTP) -> tuple[int, Any]:
    async with http.request(method, f"{stack.http_url}{path}",
                            headers={"Authorization": f"Bearer {key}"}) as response:
        return response.status, await response.json()


def receipts(sender: Sender, stat: str) -> list[str]:
    """The ids of the receipts with ``stat`` the sender got."""
    found = []
    for pdu in sender.receipts():
        text = pdu.short_message.decode("ascii", "replace")
        if f"stat:{stat}" in text:
            found.append(tlv_str(pdu, Tag.receipted_message_id) or "")
    return found


def campaign_tlv(name: str) -> tuple[int, bytes]:
    return (Tag.stopgate_campaign, name.encode())


async def wake(stack: Stack) -> None:
    """The clock moved: the releaser looks now rather than within its second."""
    stack.gateway.components.releaser.wake()
    await asyncio.sleep(0)


async def held_rows(http: aiohttp.ClientSession, stack: Stack) -> list[dict[str, Any]]:
    status, body = await call(http, stack, "GET", "/v1/held")
    assert status == 200, body
    rows: list[dict[str, Any]] = body["held"]
    return rows


# --- held, listed, released after a restart --------------------------------------------


async def test_a_promotion_at_22h_paris_is_held_and_released_at_8h_after_a_restart(
        flushed_redis: str, tmp_path: Path, clock: TestClock,
        http: aiohttp.ClientSession) -> None:
    stack = await started(flushed_redis, tmp_path, clock)
    simulator = stack.simulator
    try:
        link, _ = await bind_sender(stack.smpp_port)
        answer = await send_one(link, submit(to=FR, tlvs=[campaign_tlv("bf")]))
        assert answer.command_status == 0 and answer.message_id
        smpp_id = answer.message_id
        status, body = await post_message(http, stack, {"to": FR2, "text": PROMO_TEXT,
                                                        "class": "promotional",
                                                        "campaign": "bf"})
        assert (status, body) == (202, {"id": body["id"], "status": "held", "due": DUE,
                                        "class": "promotional", "parts": 0, "footer": None})
        http_id = body["id"]
        assert await held_rows(http, stack) == [
            {"id": smpp_id, "number": FR, "campaign": "bf", "held_at": "2026-11-23T21:00:00Z",
             "due": DUE, "expires": "2026-11-26T21:00:00Z"},
            {"id": http_id, "number": FR2, "campaign": "bf",
             "held_at": "2026-11-23T21:00:00Z", "due": DUE, "expires": "2026-11-26T21:00:00Z"}]
        # nothing goes out at night, however long the releaser looks
        clock.set(PARIS_8H - timedelta(seconds=1))
        await wake(stack)
        await asyncio.sleep(0.3)
        assert delivered_to(stack, FR) == delivered_to(stack, FR2) == []
        assert metric(stack, "stopgate_mt_total", account="acme", outcome="held") == 2
        assert metric(stack, "stopgate_held_total", account="acme", outcome="held") == 2
        link.abort()
    finally:
        await stack.gateway.stop(timeout=2.0)
    # A real restart: every component stopped, the ledger closed and opened again.
    clock.set(PARIS_8H + timedelta(seconds=1))
    stack = await started(flushed_redis, tmp_path, clock, simulator)
    try:
        link, sender = await bind_sender(stack.smpp_port)
        await eventually(lambda: delivered_to(stack, FR) and delivered_to(stack, FR2),
                         "both released")
        [smpp_text] = delivered_to(stack, FR)
        [http_text] = delivered_to(stack, FR2)
        for text in (smpp_text, http_text):
            assert text.startswith(PROMO_TEXT) and text.endswith(ACME_SHORTCODE_FOOTER)
        # the carrier's receipts reach the sender under the ids it was given at 22:00
        await eventually(lambda: sorted(receipts(sender, "DELIVRD")) == sorted(
            [smpp_id, http_id]), "the receipts under the original ids")
        assert await held_rows(http, stack) == []
        await eventually(lambda: metric(stack, "stopgate_held_total", account="acme",
                                        outcome="released") == 2, "counted released")
        status, report = await call(http, stack, "GET", "/v1/reports/held?from=2026-11-23"
                                    "&to=2026-11-24")
        assert (status, report) == (200, {
            "account": "acme", "from": "2026-11-23", "to": "2026-11-24", "held": 0,
            "released": 2, "dropped": 0, "expired": 0, "cancelled": 0})
        link.abort()
    finally:
        await stack.gateway.stop(timeout=2.0)
        await simulator.stop()


async def test_a_held_multipart_message_goes_out_cut_as_sent_with_a_receipt_per_part(
        stack: Stack, clock: TestClock) -> None:
    link, sender = await bind_sender(stack.smpp_port)
    answers = await send_parts(link, multipart(LONG_PROMO, "sar", to=FR))
    assert [answer.command_status for answer in answers] == [0] * len(answers)
    part_ids = [answer.message_id for answer in answers]
    clock.set(PARIS_8H)
    await wake(stack)
    await eventually(lambda: delivered_to(stack, FR), "released")
    [text] = delivered_to(stack, FR)
    assert text.startswith(LONG_PROMO) and text.endswith(ACME_SHORTCODE_FOOTER)
    [carried] = [m for m in stack.simulator.messages() if m.destination_addr == FR[1:]]
    assert carried.parts >= len(part_ids)  # the footer may need one more
    await eventually(lambda: set(receipts(sender, "DELIVRD")) == set(part_ids),
                     "a receipt for every part id")


async def test_transactional_traffic_is_never_held(stack: Stack,
                                                   http: aiohttp.ClientSession) -> None:
    link, _ = await bind_sender(stack.smpp_port)
    answer = await send_one(link, submit(OTP_TEXT, to=FR, service_type="OTP"))
    assert answer.command_status == 0
    await eventually(lambda: delivered_to(stack, FR) == [OTP_TEXT], "sent at once")
    assert await held_rows(http, stack) == []


# --- what happens at release ---------------------------------------------------------------


async def test_someone_who_opts_out_overnight_gets_nothing_and_the_sender_a_failure_receipt(
        stack: Stack, clock: TestClock, http: aiohttp.ClientSession) -> None:
    link, sender = await bind_sender(stack.smpp_port)
    held_id = (await send_one(link, submit(to=FR))).message_id
    kept_id = (await send_one(link, submit(to=FR2))).message_id
    await opt_out(stack, "acme", FR)  # a STOP at 23:00
    clock.set(PARIS_8H)
    await wake(stack)
    await eventually(lambda: receipts(sender, "REJECTD") == [held_id], "a REJECTD receipt")
    await eventually(lambda: delivered_to(stack, FR2), "the other one released")
    assert delivered_to(stack, FR) == []
    await eventually(lambda: kept_id in receipts(sender, "DELIVRD"), "its receipt")
    await eventually(lambda: metric(stack, "stopgate_held_total", account="acme",
                                    outcome="dropped_at_release") == 1, "counted")
    assert await held_rows(http, stack) == []


async def test_a_message_held_again_when_the_window_closed_again(
        stack: Stack, clock: TestClock, http: aiohttp.ClientSession) -> None:
    link, _ = await bind_sender(stack.smpp_port)
    await send_one(link, submit(to=FR))
    # Released late (say the gateway was down all day): at 21:30 the next evening, outside
    # the window again, it is checked again and held until the next morning.
    clock.set(PARIS_8H + timedelta(hours=13, minutes=30))
    await wake(stack)
    await eventually(lambda: _due(http, stack, "2026-11-25T07:00:00Z"), "due the next day")
    assert delivered_to(stack, FR) == []


async def _due(http: aiohttp.ClientSession, stack: Stack, due: str) -> bool:
    return [row["due"] for row in await held_rows(http, stack)] == [due]


async def test_a_held_message_that_expires_gets_an_expired_receipt(
        stack: Stack, clock: TestClock, http: aiohttp.ClientSession) -> None:
    link, sender = await bind_sender(stack.smpp_port)
    pdu = submit(to=FR)
    one_hour = SubmitSm(**{**_fields(pdu), "validity_period": "000000010000000R"})
    held_id = (await send_one(link, one_hour)).message_id
    assert [row["expires"] for row in await held_rows(http, stack)] == [
        "2026-11-23T22:00:00Z"]
    clock.set(PARIS_22H + timedelta(hours=1))
    await wake(stack)
    await eventually(lambda: receipts(sender, "EXPIRED") == [held_id], "EXPIRED receipt")
    clock.set(PARIS_8H)
    await wake(stack)
    await asyncio.sleep(0.3)
    assert delivered_to(stack, FR) == []
    assert metric(stack, "stopgate_held_total", account="acme", outcome="expired") == 1


def _fields(pdu: SubmitSm) -> dict[str, Any]:
    return {name: getattr(pdu, name) for name in pdu.__dataclass_fields__
            if name != "command_id"}


# --- cancellation and the backlog ----------------------------------------------------------


async def test_a_cancelled_campaign_is_never_sent_and_each_message_gets_a_deleted_receipt(
        stack: Stack, clock: TestClock, http: aiohttp.ClientSession) -> None:
    link, sender = await bind_sender(stack.smpp_port)
    cancelled = [(await send_one(link, submit(to=number, tlvs=[campaign_tlv("bf")])))
                 .message_id for number in (FR, FR2)]
    kept = (await send_one(link, submit(to=FR, tlvs=[campaign_tlv("news")]))).message_id
    assert await call(http, stack, "DELETE", "/v1/held") == (400, {
        "error": "invalid_request",
        "detail": "say which campaign's held messages to cancel: DELETE /v1/held?campaign=NAME"})
    assert await call(http, stack, "DELETE", "/v1/held?campaign=bf&all=1") == (400, {
        "error": "invalid_request",
        "detail": "unknown parameter(s) all; expected campaign"})
    assert await call(http, stack, "DELETE", "/v1/held?campaign=bf") == (200, {
        "account": "acme", "campaign": "bf", "cancelled": 2})
    assert await call(http, stack, "DELETE", "/v1/held?campaign=bf") == (200, {
        "account": "acme", "campaign": "bf", "cancelled": 0})
    # another account cancels nothing of acme's
    assert await call(http, stack, "DELETE", "/v1/held?campaign=news", "globex-key") == (
        200, {"account": "globex", "campaign": "news", "cancelled": 0})
    await eventually(lambda: sorted(receipts(sender, "DELETED")) == sorted(cancelled),
                     "DELETED receipts")
    assert [row["id"] for row in await held_rows(http, stack)] == [kept]
    clock.set(PARIS_8H)
    await wake(stack)
    await eventually(lambda: len(delivered_to(stack, FR)) == 1, "the other campaign's")
    assert delivered_to(stack, FR2) == []
    assert metric(stack, "stopgate_held_total", account="acme", outcome="cancelled") == 2


async def test_listing_pages_and_refuses_bad_parameters(stack: Stack,
                                                        http: aiohttp.ClientSession) -> None:
    link, _ = await bind_sender(stack.smpp_port)
    ids = [(await send_one(link, submit(to=f"+3361234000{i}"))).message_id for i in range(3)]
    status, first = await call(http, stack, "GET", "/v1/held?limit=2")
    assert status == 200 and [row["id"] for row in first["held"]] == ids[:2]
    status, second = await call(http, stack, "GET", f"/v1/held?limit=2&after={first['next']}")
    assert [row["id"] for row in second["held"]] == ids[2:] and second["next"] is None
    assert await call(http, stack, "GET", "/v1/held?limit=0") == (400, {
        "error": "invalid_request",
        "detail": "'limit' must be a whole number from 1 to 1000, got '0'"})
    assert await call(http, stack, "GET", "/v1/held?page=2") == (400, {
        "error": "invalid_request",
        "detail": "unknown parameter(s) page; expected campaign, limit, after"})
    assert (await call(http, stack, "GET", "/v1/held", "wrong-key"))[0] == 401
    assert await call(http, stack, "GET", "/v1/held", "globex-key") == (200, {
        "account": "globex", "held": [], "next": None})


async def test_beyond_the_accounts_held_backlog_the_answer_is_esme_rmsgqful(
        flushed_redis: str, tmp_path: Path, clock: TestClock,
        http: aiohttp.ClientSession) -> None:
    stack = await started(flushed_redis, tmp_path, clock,
                          policy={"held_max_per_account": 2})
    try:
        link, _ = await bind_sender(stack.smpp_port)
        for number in (FR, FR2):
            assert (await send_one(link, submit(to=number))).command_status == 0
        assert (await send_one(link, submit(to=FR))).command_status == 0x14
        assert await post_message(http, stack, {"to": FR, "text": PROMO_TEXT,
                                                "class": "promotional"}) == (503, {
            "error": "held_backlog_full",
            "detail": "the account has as many messages held for their recipients' sending "
                      "window as it may (policy.held_max_per_account); retry once some are "
                      "released, or send later"})
        # another account has its own backlog; transactional traffic is not held at all
        globex, _ = await bind_sender(stack.smpp_port, "globex", "globex1")
        assert (await send_one(globex, SubmitSm(
            service_type="PROMO", source_addr="36200", dest_addr_ton=1, dest_addr_npi=1,
            destination_addr=FR.removeprefix("+"), short_message=b"Sale: 20% off"))
                ).command_status == 0
        assert (await send_one(link, submit(OTP_TEXT, to=FR, service_type="OTP"))
                ).command_status == 0
        assert metric(stack, "stopgate_held_total", account="acme",
                      outcome="refused_backlog_full") == 2
        await eventually(lambda: metric(stack, "stopgate_held_messages", account="acme") == 2,
                         "the gauge")
    finally:
        await stack.gateway.stop(timeout=2.0)
        await stack.simulator.stop()


# --- two instances ---------------------------------------------------------------------------


async def test_two_instances_release_each_held_message_exactly_once(
        flushed_redis: str, tmp_path: Path, clock: TestClock) -> None:
    simulator = CarrierSimulator(credentials={"proxy": "secret"})
    await simulator.start("127.0.0.1", 0, http_port=0)
    ledger = str(tmp_path / "shared-ledger.sqlite3")
    upstream = {"name": "sim", "host": "127.0.0.1", "port": simulator.port,
                "system_id": "proxy", "password": "secret", "window": 50, "sessions": 2}
    stacks: list[Stack] = []
    try:
        for name in ("a", "b"):
            stacks.append(await started(
                flushed_redis, tmp_path / name, clock, simulator, upstreams=[upstream],
                server={"instance_id": name}, storage={"redis_url": flushed_redis,
                                                       "ledger": ledger}))
        assert all(stack.gateway.pool.ready for stack in stacks)
        numbers = [f"+336123450{i:02d}" for i in range(30)]
        link, sender = await bind_sender(stacks[0].smpp_port)
        ids = [(await send_one(link, submit(to=number))).message_id for number in numbers]
        for stack in stacks:  # small passes, so that both instances claim while the other does
            stack.gateway.components.releaser.claim_limit = 3
        clock.set(PARIS_8H)
        for stack in stacks:
            await wake(stack)
        await eventually(lambda: sorted(receipts(sender, "DELIVRD")) == sorted(ids),
                         "every receipt", timeout=30)
        await asyncio.sleep(0.5)  # anything sent twice would have reached the carrier now
        sent = [m.destination_addr for m in simulator.messages()]
        assert sorted(sent) == sorted(n.removeprefix("+") for n in numbers)
        released = [metric(stack, "stopgate_held_total", account="acme", outcome="released")
                    for stack in stacks]
        assert sum(released) == 30
    finally:
        for stack in stacks:
            await stack.gateway.stop(timeout=2.0)
        await simulator.stop()

