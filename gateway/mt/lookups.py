"""Suppression lookups in batches: the policy stage's questions of one loop tick, one
Redis pipeline (``SuppressionCache.lookup_many``) for all of them.

A lookup that does not come back within ``LOOKUP_TIMEOUT``, or that finds the cache not
ready, answers with the exception: the policy stage then fails closed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

from gateway.lifecycle import TaskSet
from gateway.observability.logs import fields
from gateway.observability.metrics import Metrics
from gateway.suppression.cache import CacheNotReady, SuppressionCache

log = logging.getLogger("stopgate.policy")

#: A lookup (one EVALSHA) slower than this fails closed: a Redis that does not answer is
#: down for the MT path, whatever its socket timeout (5 s) says.
LOOKUP_TIMEOUT = 1.0

#: Called once with True (opted out), False, or the exception that left it unknown.
LookupAnswer = Callable[[bool | Exception], None]


class LookupBatcher:
    """Collects the suppression lookups of one loop tick into one Redis pipeline."""

    def __init__(self, cache: SuppressionCache, metrics: Metrics) -> None:
        self.cache = cache
        self.metrics = metrics
        self._pending: list[tuple[tuple[str, str], LookupAnswer]] = []
        self._running = TaskSet()

    def lookup(self, account: str, number: str, answer: LookupAnswer) -> None:
        """Is ``number`` opted out for ``account`` (or operator-wide)? ``answer`` gets True,
        False, or the exception that left it unknown (CacheNotReady, a Redis error)."""
        pending = self._pending
        if not pending:
            asyncio.get_running_loop().call_soon(self._flush)
        pending.append(((account, number), answer))

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        if batch:
            self._running.spawn(self._run(batch))

    async def _run(self, batch: list[tuple[tuple[str, str], LookupAnswer]]) -> None:
        started = time.perf_counter()
        found: Sequence[bool | Exception]
        try:
            async with asyncio.timeout(LOOKUP_TIMEOUT):
                found = await self.cache.lookup_many([item for item, _ in batch])
        except Exception as error:  # CacheNotReady, Redis down: every caller fails closed
            if isinstance(error, TimeoutError):
                error = TimeoutError(f"no answer from Redis within {LOOKUP_TIMEOUT:g} s")
            elif isinstance(error, CacheNotReady):
                # The marker is gone (Redis flushed or restarted empty) and the keeper may not
                # look for up to its interval: wake it now, as Redis errors already do, so
                # promotional traffic is refused for the rebuild, not the rebuild + a wait.
                self.cache.trouble.set()
            found = [error] * len(batch)
        finally:
            self.metrics.suppression_lookup.observe(time.perf_counter() - started)
        for (_, answer), suppressed in zip(batch, found, strict=True):
            try:
                answer(suppressed)
            except Exception:  # one caller's bug must not leave the others unanswered
                log.exception("suppression lookup answer failed",
                              extra=fields("policy_failed", stage="lookup_answer"))
