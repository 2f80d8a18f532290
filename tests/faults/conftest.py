"""Fault tests: a real gateway on loopback while one of its parts fails.

Each test is bounded in time and talks only to loopback. The integration
fixtures (a simulator + gateway stack on the session's Redis) are shared.
"""

from __future__ import annotations

from tests.integration.conftest import flushed_redis, stack

__all__ = ["flushed_redis", "stack"]
