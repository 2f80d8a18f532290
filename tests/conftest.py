"""Shared fixtures: one real Redis per test session.

The embedded redis-server (the same mechanism the gateway uses) unless
``STOPGATE_TEST_REDIS_URL`` names a Redis to use instead; that Redis must be
a scratch database, because tests flush it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvloop

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


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Tests run on uvloop, the loop `stopgate serve` runs on."""
    return {"uvloop": uvloop.new_event_loop}
