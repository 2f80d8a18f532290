"""Two gateways (two instances: their own instance_id and data_dir) sharing one Redis and
one carrier: carrier sessions and tps and account tps hold in total, not per instance."""

from __future__ import annotations

import asyncio
from pathlib import Path

from simulator.carrier import CarrierSimulator
from tests.integration.conftest import ACME, GLOBEX, Stack, start_stack
from tests.support.metrics import metric
from tests.support.waiting import eventually

UPSTREAM = {"name": "sim", "host": "127.0.0.1", "system_id": "proxy", "password": "secret",
            "window": 50, "sessions": 2, "tps": 40}
SETTLED = 20.0  # heartbeats are 1 s apart; a share changes within a few of them


async def instance(redis_url: str, tmp_path: Path, name: str,
                   simulator: CarrierSimulator) -> Stack:
    return await start_stack(
        redis_url, tmp_path / name, simulator, server={"instance_id": name},
        upstreams=[{**UPSTREAM, "port": simulator.port}],
        accounts=[{**ACME, "tps": 10}, GLOBEX])


async def test_two_instances_hold_the_carrier_sessions_and_tps_in_total(
    flushed_redis: str, tmp_path: Path,
) -> None:
    carrier = CarrierSimulator(credentials={"proxy": "secret"})
    await carrier.start("127.0.0.1", 0, http_port=0)
    seen: list[int] = []  # the carrier's open sessions, sampled throughout

    async def watch() -> None:
        while True:
            seen.append(carrier.stats_json()["sessions"])
            await asyncio.sleep(0.005)

    watcher = asyncio.create_task(watch())
    a = await instance(flushed_redis, tmp_path, "a", carrier)
    b = None
    try:
        await eventually(lambda: a.gateway.pool.bound_sessions() == 2, "a alone binds 2")
        b = await instance(flushed_redis, tmp_path, "b", carrier)
        await eventually(lambda: (a.gateway.pool.bound_sessions(),
                                  b.gateway.pool.bound_sessions()) == (1, 1),
                         "one bind each", SETTLED)
        assert carrier.stats_json()["sessions"] == 2
        # The tokens each instance's buckets are given: half of each total.
        for stack in (a, b):
            assert metric(stack.gateway.metrics, "stopgate_upstream_rate_limit",
                          {"upstream": "sim"}) == 20
            assert stack.gateway.server.buckets["acme"].rate == 5
            assert stack.gateway.server.buckets["globex"].rate == 0  # unlimited stays so
        # Never more than 2 binds at the carrier, while b joined and a made room.
        assert max(seen) == 2, seen
        # a stops: b takes up the whole share (a left the membership on its way out).
        await a.gateway.stop(timeout=2.0)
        await eventually(lambda: b.gateway.pool.bound_sessions() == 2, "b binds both",
                         SETTLED)
        assert metric(b.gateway.metrics, "stopgate_upstream_rate_limit",
                      {"upstream": "sim"}) == 40
        assert b.gateway.server.buckets["acme"].rate == 10
        assert max(seen) == 2, seen
    finally:
        watcher.cancel()
        for stack in (a, b):
            if stack is not None:
                await stack.gateway.stop(timeout=2.0)
        await carrier.stop()
