"""The policy while Redis is flushed or stopped: fail closed, transactional flows, rebuild.

Promotional traffic is refused with ESME_RX_T_APPN (0x64, temporary: senders
retry) while the suppression state is unknown; transactional traffic never
waits for Redis; the keeper rebuilds the cache from the ledger once Redis
answers; and through it all, nothing promotional reaches an opted-out number.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from gateway.ledger.engines import open_ledger
from gateway.mt.lookups import LOOKUP_TIMEOUT
from gateway.mt.pipeline import ID_MAP_WAIT
from gateway.smpp_link import SmppLink
from tests.integration.conftest import Stack
from tests.integration.policy_stack import (
    BLOCKED,
    OPTED_OUT,
    OTHER_FR,
    OTP_TEXT,
    PROMO_TEXT,
    TIMEOUT,
    UNKNOWN_STATE,
    delivered_to,
    opt_out,
    policy_stack,
    post_message,
    send_one,
    submit,
)
from tests.integration.senders import bind_sender
from tests.support.waiting import eventually

#: The ledger these tests start with: enough that a rebuild is real work (~0.5 s here).
LEDGER_SIZE = 100_000
IN_LEDGER = "+33610054321"  # one of them
OPTED_OUT_MEANWHILE = "+33612345699"  # opted out while the cache is gone
RECOVERY_BOUND = 30.0  # keeper backoff (at most 10 s) + a rebuild, with room to spare


def fill_ledger(data_dir: Path) -> None:
    """LEDGER_SIZE numbers opted out of acme, in the ledger the gateway will open."""
    ledger = open_ledger("", data_dir)
    try:
        ledger.import_numbers("acme", (f"+3361{n:07d}" for n in range(LEDGER_SIZE)),
                              source="import")
    finally:
        ledger.close()


class Traffic:
    """Promotional and transactional messages back to back for a whole scenario.

    Each round sends a promotion to the opted-out number, one to a number nobody
    opted out, and an OTP to the opted-out number; the answers are counted by kind.
    """

    def __init__(self, link: SmppLink) -> None:
        self.link = link
        self.answers: dict[str, collections.Counter[int]] = collections.defaultdict(
            collections.Counter)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._stop.set()
        assert self._task is not None
        await asyncio.wait_for(self._task, TIMEOUT)

    async def _run(self) -> None:
        rounds = {
            "promo_opted_out": submit(PROMO_TEXT, to=OPTED_OUT),
            "promo_other": submit(PROMO_TEXT, to=OTHER_FR),
            "otp_opted_out": submit(OTP_TEXT, to=OPTED_OUT, service_type="OTP"),
        }
        while not self._stop.is_set():
            for kind, pdu in rounds.items():
                answer = await send_one(self.link, pdu)
                self.answers[kind][answer.command_status] += 1
            await asyncio.sleep(0.01)

    def check(self) -> None:
        """No promotion to the opted-out number was ever accepted; every OTP was."""
        assert set(self.answers["promo_opted_out"]) <= {BLOCKED, UNKNOWN_STATE}, self.answers
        assert set(self.answers["promo_other"]) <= {0, UNKNOWN_STATE}, self.answers
        assert set(self.answers["otp_opted_out"]) == {0}, self.answers


async def until_promotions_flow(link: SmppLink) -> float:
    """Send a promotion to a number nobody opted out until it is accepted; seconds it took."""
    started = time.monotonic()
    deadline = started + RECOVERY_BOUND
    while True:
        answer = await send_one(link, submit("Spring sale: 20% off garden chairs", to=OTHER_FR))
        if answer.command_status == 0:
            return time.monotonic() - started
        assert answer.command_status == UNKNOWN_STATE, answer
        assert time.monotonic() < deadline, f"promotions still refused after {RECOVERY_BOUND}s"
        await asyncio.sleep(0.02)


def assert_nothing_promotional_reached_the_opted_out(stack: Stack) -> None:
    for number in (OPTED_OUT, OPTED_OUT_MEANWHILE, IN_LEDGER):
        assert set(delivered_to(stack, number)) <= {OTP_TEXT}, number


# --- Redis flushed -------------------------------------------------------------------------------


async def test_redis_flushed_while_running_fails_closed_then_the_keeper_rebuilds_from_the_ledger(
    flushed_redis: str, tmp_path: Path, http: aiohttp.ClientSession,
) -> None:
    fill_ledger(tmp_path)
    async with policy_stack(flushed_redis, tmp_path) as stack:
        gateway = stack.gateway
        assert gateway.redis is not None and gateway.keeper is not None
        await opt_out(stack, "acme")
        link, _ = await bind_sender(stack.smpp_port)
        assert (await send_one(link, submit(PROMO_TEXT))).command_status == BLOCKED
        assert (await send_one(link, submit(PROMO_TEXT, to=IN_LEDGER))).command_status == BLOCKED
        rebuilds = gateway.keeper.rebuilds
        traffic_link, _ = await bind_sender(stack.smpp_port)
        traffic = Traffic(traffic_link)
        traffic.start()

        await gateway.redis.flushall()
        # Until the cache is rebuilt: promotions refused with the temporary status...
        assert (await send_one(link, submit(PROMO_TEXT))).command_status == UNKNOWN_STATE
        assert (await send_one(link, submit(PROMO_TEXT, to=OTHER_FR))).command_status == (
            UNKNOWN_STATE)
        status, _ = await post_message(
            http, stack, {"to": OTHER_FR, "text": PROMO_TEXT, "class": "promotional"})
        assert status != 202
        # ...transactional messages go through...
        answer = await send_one(link, submit(OTP_TEXT, service_type=""))
        assert answer.command_status == 0 and answer.message_id
        status, body = await post_message(
            http, stack, {"to": OPTED_OUT, "text": OTP_TEXT, "class": "transactional"})
        assert status == 202, body
        # ...and an opt-out recorded meanwhile is in the ledger, so in the rebuilt cache.
        await opt_out(stack, "acme", OPTED_OUT_MEANWHILE)

        refused_for = await until_promotions_flow(link)
        for number in (OPTED_OUT, IN_LEDGER, OPTED_OUT_MEANWHILE):
            answer = await send_one(link, submit(PROMO_TEXT, to=number))
            assert answer.command_status == BLOCKED, number
        assert gateway.keeper.rebuilds > rebuilds
        assert gateway.keeper.ready

        await eventually(lambda: traffic.answers["promo_other"][0] > 0,
                         "the traffic's promotions flowing again")
        await traffic.stop()
        traffic.check()
        assert_nothing_promotional_reached_the_opted_out(stack)
        assert delivered_to(stack, OPTED_OUT).count(OTP_TEXT) >= 2
        print(f"\npromotions refused for {refused_for:.2f}s after FLUSHALL "
              f"({LEDGER_SIZE + 2} numbers rebuilt); traffic answers: {dict(traffic.answers)}")
        await link.unbind()
        await traffic_link.unbind()


# --- Redis stopped -------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def own_redis_stack(data_dir: Path) -> AsyncIterator[Stack]:
    """A stack whose gateway runs its own embedded Redis under ``data_dir`` (redis_url "")."""
    async with policy_stack("", data_dir) as stack:
        assert stack.gateway.embedded_redis is not None
        assert stack.gateway.keeper is not None and stack.gateway.keeper.ready
        yield stack


@pytest.mark.parametrize("aof", ["kept", "lost"])
async def test_redis_stopped_while_running_fails_closed_and_transactional_still_flows(
    tmp_path: Path, http: aiohttp.ClientSession, aof: str,
) -> None:
    """Redis killed, then started again on the same data_dir: from its AOF ("kept", but an
    opt-out was recorded while it was down) or empty ("lost"). Either way the keeper must
    not trust what comes back without the ledger's word."""
    fill_ledger(tmp_path)
    async with own_redis_stack(tmp_path) as stack:
        gateway = stack.gateway
        redis_server = gateway.embedded_redis
        assert redis_server is not None and gateway.keeper is not None
        await opt_out(stack, "acme")
        link, _ = await bind_sender(stack.smpp_port)
        assert (await send_one(link, submit(PROMO_TEXT))).command_status == BLOCKED
        rebuilds = gateway.keeper.rebuilds
        traffic_link, _ = await bind_sender(stack.smpp_port)
        traffic = Traffic(traffic_link)
        traffic.start()

        await asyncio.to_thread(redis_server.kill)
        assert (await send_one(link, submit(PROMO_TEXT))).command_status == UNKNOWN_STATE
        assert (await send_one(link, submit(PROMO_TEXT, to=OTHER_FR))).command_status == (
            UNKNOWN_STATE)
        # Transactional never waits for Redis: answered OK although its DLR id map is lost.
        answer = await send_one(link, submit(OTP_TEXT, service_type=""))
        assert answer.command_status == 0 and answer.message_id
        status, body = await post_message(
            http, stack, {"to": OPTED_OUT, "text": OTP_TEXT, "class": "transactional"})
        assert status == 202, body
        # Durable in the ledger although the cache cannot take it now.
        await opt_out(stack, "acme", OPTED_OUT_MEANWHILE)
        if aof == "lost":
            for name in ("redis.aof", "appendonlydir", "redis.rdb"):
                path = tmp_path / name
                if path.is_dir():
                    for child in path.iterdir():
                        child.unlink()
                    path.rmdir()
                elif path.exists():
                    path.unlink()

        await asyncio.to_thread(redis_server.start)
        refused_for = await until_promotions_flow(link)
        for number in (OPTED_OUT, IN_LEDGER, OPTED_OUT_MEANWHILE):
            answer = await send_one(link, submit(PROMO_TEXT, to=number))
            assert answer.command_status == BLOCKED, number
        assert gateway.keeper.rebuilds > rebuilds  # what came back was not trusted as it was

        await traffic.stop()
        traffic.check()
        assert_nothing_promotional_reached_the_opted_out(stack)
        print(f"\nAOF {aof}: promotions refused for {refused_for:.2f}s after Redis came back; "
              f"traffic answers: {dict(traffic.answers)}")
        await link.unbind()
        await traffic_link.unbind()


async def test_redis_restarted_from_its_aof_with_nothing_missed_is_trusted_without_a_rebuild(
    tmp_path: Path,
) -> None:
    async with own_redis_stack(tmp_path) as stack:
        gateway = stack.gateway
        redis_server = gateway.embedded_redis
        assert redis_server is not None and gateway.keeper is not None
        await opt_out(stack, "acme")
        link, _ = await bind_sender(stack.smpp_port)
        rebuilds = gateway.keeper.rebuilds
        await asyncio.to_thread(redis_server.stop)  # a clean stop: the AOF is complete
        assert (await send_one(link, submit(PROMO_TEXT))).command_status == UNKNOWN_STATE
        await asyncio.to_thread(redis_server.start)
        await until_promotions_flow(link)
        assert gateway.keeper.rebuilds == rebuilds
        assert (await send_one(link, submit(PROMO_TEXT))).command_status == BLOCKED
        assert_nothing_promotional_reached_the_opted_out(stack)
        await link.unbind()


async def test_http_promotion_while_the_suppression_state_is_unknown_is_503_retry_after(
    tmp_path: Path, http: aiohttp.ClientSession,
) -> None:
    async with own_redis_stack(tmp_path) as stack:
        redis_server = stack.gateway.embedded_redis
        assert redis_server is not None
        await asyncio.to_thread(redis_server.kill)
        async with http.post(
            f"{stack.http_url}/v1/messages",
            json={"to": OTHER_FR, "text": PROMO_TEXT, "class": "promotional"},
            headers={"Authorization": "Bearer acme-key"},
        ) as response:
            body = await response.json()
            assert response.status == 503, body
            assert response.headers.get("Retry-After")
            assert body["error"] and body["detail"]
        assert stack.simulator.received == []


# --- Redis frozen ---------------------------------------------------------------------------------


async def test_redis_that_stops_answering_holds_up_promotions_not_transactional_messages(
    tmp_path: Path,
) -> None:
    """Redis alive but not answering (SIGSTOP: a stall, or a TCP Redis across a partition).

    A transactional message sent after a promotional one is answered first: the
    promotion waits for its suppression lookup (and is refused once that gives up),
    the transactional message must not wait on Redis at all (its DLR id map write is
    best effort). The order follows from the two bounds, asserted first.
    """
    assert ID_MAP_WAIT < LOOKUP_TIMEOUT
    async with own_redis_stack(tmp_path) as stack:
        redis_server = stack.gateway.embedded_redis
        assert redis_server is not None and redis_server.pid is not None
        await opt_out(stack, "acme")
        link, _ = await bind_sender(stack.smpp_port)
        otp_link, _ = await bind_sender(stack.smpp_port)
        os.kill(redis_server.pid, signal.SIGSTOP)
        try:
            promotion = asyncio.create_task(send_one(link, submit(PROMO_TEXT, to=OTHER_FR)))
            await asyncio.sleep(0.05)  # the promotion's lookup is waiting on Redis
            otp = asyncio.create_task(send_one(otp_link, submit(OTP_TEXT, service_type="OTP")))
            done, _ = await asyncio.wait({promotion, otp}, timeout=2 * TIMEOUT,
                                         return_when=asyncio.FIRST_COMPLETED)
            assert otp in done and promotion not in done
            assert otp.result().command_status == 0
            assert (await asyncio.wait_for(promotion, 2 * TIMEOUT)).command_status == (
                UNKNOWN_STATE)
        finally:
            os.kill(redis_server.pid, signal.SIGCONT)
        await until_promotions_flow(link)
        assert (await send_one(link, submit(PROMO_TEXT))).command_status == BLOCKED
        await eventually(lambda: OTP_TEXT in delivered_to(stack, OPTED_OUT), "the OTP")
        assert_nothing_promotional_reached_the_opted_out(stack)
        await link.unbind()
        await otp_link.unbind()
