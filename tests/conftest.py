"""Shared fixtures: one real Redis and one real PostgreSQL per test session.

The embedded redis-server (the same mechanism the gateway uses) unless
``STOPGATE_TEST_REDIS_URL`` names a Redis to use instead; that Redis must be
a scratch database, because tests flush it.

PostgreSQL: the server ``STOPGATE_TEST_POSTGRES_DSN`` names (a scratch database: tests
create and drop databases of their own there), else a throwaway server started on
first use (tests/support/postgres.py). Each test that asks for ``postgres_db_dsn``
gets a fresh database of its own; fault tests that stop or kill PostgreSQL use
``throwaway_postgres``, a server of their own.
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
from tests.support.postgres import ThrowawayPostgres, fresh_database, session_postgres


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
def postgres_dsn() -> Iterator[str]:
    """DSN of a real PostgreSQL for this test session: ``STOPGATE_TEST_POSTGRES_DSN``, else
    a throwaway server started now (a role that may CREATE DATABASE; tests make their own
    schema or database in it, never drop its own database)."""
    with session_postgres() as dsn:
        yield dsn


@pytest.fixture
def postgres_db_dsn(postgres_dsn: str) -> Iterator[str]:
    """DSN (URL) of an empty database of this test's own, dropped after it."""
    with fresh_database(postgres_dsn) as dsn:
        yield dsn


@pytest.fixture
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    """A started PostgreSQL server of this test's own, to stop, kill and restart."""
    with ThrowawayPostgres() as server:
        yield server
