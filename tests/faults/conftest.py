"""Fault tests: a real gateway on loopback while one of its parts fails.

Each test is bounded in time and talks only to loopback. The integration
fixtures (a simulator + gateway stack on the session's Redis) are shared, and
``own_redis`` is a redis-server of the test's own, for tests that kill, freeze
or flush it.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.process.redis_embedded import EmbeddedRedis
from tests.integration.conftest import flushed_redis, stack

__all__ = ["flushed_redis", "own_redis", "stack"]


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[EmbeddedRedis]:
    """A redis-server of this test's own (never the session's), AOF under tmp_path/redis."""
    server = EmbeddedRedis(tmp_path / "redis")
    await asyncio.to_thread(server.start)
    try:
        yield server
    finally:
        if server.pid is not None:
            os.kill(server.pid, signal.SIGCONT)  # a frozen one must be able to stop
        await asyncio.to_thread(server.stop)
