"""Shared fixtures: one real Redis per test session.

The embedded redis-server (the same mechanism the gateway uses) unless
``STOPGATE_TEST_REDIS_URL`` names a Redis to use instead; that Redis must be
a scratch database, because tests flush it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
import uvloop
from redis.asyncio import Redis

from gateway.process.redis_embedded import EmbeddedRedis


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real Redis for this test session."""
    external = os.environ.get("STOPGATE_TEST_REDIS_URL")
    if external:
        yield external
        return
    server = EmbeddedRedis(Path(tmp_path_factory.mktemp("redis")))
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest_asyncio.fixture(loop_scope="function")
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """A client of the test Redis, flushed before and after the test."""
    client = Redis.from_url(redis_url)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.flushdb()
        await client.aclose()


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Tests run on uvloop, the loop `stopgate serve` runs on."""
    return {"uvloop": uvloop.new_event_loop}


@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    """DSN of a real PostgreSQL for this test session (tests make their own schema or
    database in it). The one place the suite takes it from."""
    dsn = os.environ.get("STOPGATE_TEST_POSTGRES_DSN")
    if not dsn:
        pytest.fail("no PostgreSQL for the tests: set STOPGATE_TEST_POSTGRES_DSN to the DSN "
                    "of a scratch database (e.g. postgresql://postgres@127.0.0.1:5432/test)",
                    pytrace=False)
    return dsn
