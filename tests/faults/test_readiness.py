"""/readyz names what is wrong: each of its parts going false, with its reason, and back.

The ledger's part (``ledger: false``, ``locked`` / ``io_error``) is shown in
test_ledger_faults.py. Here: the carrier link, Redis, and the suppression cache.
Tests that stop or pause Redis start their own redis-server (the embedded one's
binary, on a unix socket under tmp_path), never the session's.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import redis.asyncio as aioredis

from gateway.process.redis_embedded import EmbeddedRedis
from simulator.carrier import CarrierSimulator
from tests.faults.test_ledger_faults import readyz, until_readyz
from tests.integration.conftest import Stack
from tests.integration.policy_stack import (
    ACME_AUTO,
    BLOCKED,
    GLOBEX_AUTO,
    OPTED_OUT,
    UNKNOWN_STATE,
    opt_out,
    send_one,
    submit,
)
from tests.integration.senders import bind_sender, running_stack

BOUND = 20.0


async def test_readyz_names_the_carrier_link_while_no_session_can_transmit_and_recovers(
    stack: Stack,
) -> None:
    async with aiohttp.ClientSession() as http:
        status, body = await readyz(http, stack.http_url)
        assert status == 200 and body["reasons"] == {}
        assert body["upstreams"]["sim"] == {"bound": 1, "connecting": 0, "down": 0,
                                            "transmitting": 1, "ready": True}
        port = stack.simulator.port
        await stack.simulator.stop()
        body = await until_readyz(http, stack.http_url, 503)
        assert body["ready"] is False
        assert body["upstreams"]["sim"]["ready"] is False
        assert body["upstreams"]["sim"]["transmitting"] == 0
        assert set(body["reasons"]) == {"upstreams"}
        assert body["reasons"]["upstreams"] in ("connecting", "down")
        assert body["redis"] is True and body["suppression_cache"] is True
        assert body["ledger"] is True

        back = CarrierSimulator(credentials={"proxy": "secret"})
        await back.start("127.0.0.1", port)
        try:
            body = await until_readyz(http, stack.http_url, 200)
            assert body["ready"] is True and body["reasons"] == {}
            assert body["upstreams"]["sim"]["ready"] is True
        finally:
            await back.stop()


async def test_readyz_says_redis_is_unreachable_while_its_redis_is_down_and_recovers(
    own_redis: EmbeddedRedis, tmp_path: Path,
) -> None:
    async with running_stack(own_redis.url, tmp_path / "gateway") as stack, \
            aiohttp.ClientSession() as http:
        assert (await until_readyz(http, stack.http_url, 200))["reasons"] == {}
        await asyncio.to_thread(own_redis.kill)
        body = await until_readyz(http, stack.http_url, 503)
        assert body["redis"] is False and body["reasons"]["redis"] == "unreachable"
        # The cache cannot be known complete without its Redis, and says why.
        assert set(body["reasons"]) <= {"redis", "suppression_cache"}
        if "suppression_cache" in body["reasons"]:
            assert body["reasons"]["suppression_cache"] == "redis_unreachable"
        assert body["ledger"] is True and body["upstreams"]["sim"]["ready"] is True

        await asyncio.to_thread(own_redis.start)  # same socket, its AOF kept
        body = await until_readyz(http, stack.http_url, 200)
        assert body["redis"] is True and body["suppression_cache"] is True
        assert body["reasons"] == {}


async def test_readyz_says_the_suppression_cache_is_incomplete_until_it_is_rebuilt(
    own_redis: EmbeddedRedis, tmp_path: Path,
) -> None:
    async with running_stack(own_redis.url, tmp_path / "gateway",
                             accounts=[ACME_AUTO, GLOBEX_AUTO]) as stack, \
            aiohttp.ClientSession() as http:
        await opt_out(stack, "acme", OPTED_OUT)
        link, _ = await bind_sender(stack.smpp_port)
        admin = aioredis.Redis.from_url(own_redis.url)
        try:
            # The cache is emptied, and Redis takes reads but no writes for a while: it
            # answers PING, so only the cache is unknown (its rebuild cannot write).
            await admin.flushall()
            await admin.execute_command("CLIENT", "PAUSE", "15000", "WRITE")
            try:
                body = await until_readyz(http, stack.http_url, 503)
                assert body["suppression_cache"] is False and body["redis"] is True
                assert set(body["reasons"]) == {"suppression_cache"}
                assert body["reasons"]["suppression_cache"] in ("rebuilding", "not_verified")
                answer = await asyncio.wait_for(send_one(link, submit(to=OPTED_OUT)), BOUND)
                assert answer.command_status == UNKNOWN_STATE  # fail closed meanwhile
            finally:
                await admin.execute_command("CLIENT", "UNPAUSE")
            body = await until_readyz(http, stack.http_url, 200)
            assert body["suppression_cache"] is True and body["reasons"] == {}
            answer = await asyncio.wait_for(send_one(link, submit(to=OPTED_OUT)), BOUND)
            assert answer.command_status == BLOCKED  # rebuilt from the ledger
        finally:
            await admin.aclose()
            await link.unbind()
