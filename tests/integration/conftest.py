"""A real gateway on loopback: carrier simulator + stopgate + Redis, in the test's loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from gateway.app import Gateway
from gateway.config.model import Config, parse_config
from gateway.sendtime.clock import Clock
from simulator.carrier import CarrierSimulator

# The proxy-path tests check transparency: unless a test says otherwise, messages nothing
# classifies are transactional, so they pass untouched (no footer, no suppression lookup).
ACME = {
    "system_id": "acme", "password": "acmepass", "api_key": "acme-key",
    "default_region": "FR", "numbers": ["36173", "+33757000000"],
    "default_class": "transactional",
}
GLOBEX = {
    "system_id": "globex", "password": "globex1", "api_key": "globex-key",
    "default_region": "GB", "numbers": ["+447400900000", "36173"],
    "default_class": "transactional",
}


def gateway_config(
    simulator_port: int, redis_url: str, data_dir: Path, **sections: Any
) -> Config:
    """A loopback config: one upstream to the simulator, two accounts, short timers."""
    data: dict[str, Any] = {
        "server": {"smpp_listen": "127.0.0.1:0", "http_listen": "127.0.0.1:0",
                   "data_dir": str(data_dir)},
        "storage": {"redis_url": redis_url},
        "upstreams": [{
            "name": "sim", "host": "127.0.0.1", "port": simulator_port,
            "system_id": "proxy", "password": "secret", "window": 50,
        }],
        "accounts": [ACME, GLOBEX],
        "smpp": {"reconnect_delay": 0.05, "reconnect_delay_max": 0.2,
                 "response_timeout": 2.0, "failed_bind_delay": 0.05,
                 "failed_bind_delay_max": 0.2},
        "http": {"failed_auth_delay": 0.01, "failed_auth_delay_max": 0.05},
    }
    for name, values in sections.items():
        if isinstance(values, dict):
            data.setdefault(name, {}).update(values)
        else:
            data[name] = values
    return parse_config(data, env={})


@dataclass
class Stack:
    simulator: CarrierSimulator
    gateway: Gateway

    @property
    def smpp_port(self) -> int:
        return self.gateway.smpp_port

    @property
    def http_url(self) -> str:
        """The HTTP listener's base URL: https:// when ``[http] tls_cert`` is set."""
        scheme = "https" if self.gateway.config.http.tls_cert is not None else "http"
        return f"{scheme}://127.0.0.1:{self.gateway.http_port}"


async def start_stack(
    redis_url: str, data_dir: Path, simulator: CarrierSimulator | None = None, *,
    clock: Clock | None = None, **sections: Any
) -> Stack:
    """A gateway (on ``clock`` for send-time rules; None: the system's) and its simulator."""
    simulator = simulator or CarrierSimulator(credentials={"proxy": "secret"})
    if not simulator.port:
        await simulator.start("127.0.0.1", 0, http_port=0)
    gateway = Gateway(gateway_config(simulator.port, redis_url, data_dir, **sections),
                      clock=clock)
    await gateway.start()
    assert gateway.pool is not None
    assert gateway.keeper is not None
    for _ in range(500):  # carrier bind and cache rebuild are asynchronous: wait for both
        if gateway.pool.ready and gateway.keeper.ready:
            break
        await asyncio.sleep(0.01)
    return Stack(simulator, gateway)


@pytest.fixture
async def flushed_redis(redis_url: str) -> AsyncIterator[str]:
    client = aioredis.Redis.from_url(redis_url)
    await client.flushdb()
    await client.aclose()
    yield redis_url


@pytest.fixture
async def stack(flushed_redis: str, tmp_path: Path) -> AsyncIterator[Stack]:
    running = await start_stack(flushed_redis, tmp_path)
    try:
        yield running
    finally:
        await running.gateway.stop(timeout=2.0)
        await running.simulator.stop()


#: An HTTP client's patience in these tests (a stalled gateway fails the test, never hangs it).
HTTP_TIMEOUT = 10.0


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client for the test's gateway (a test file may shape its own)."""
    async with aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT)) as session:
        yield session
