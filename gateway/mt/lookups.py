"""Suppression lookups in batches: the policy stage's questions of one loop tick, one
Redis pipeline (``SuppressionCache.lookup_many``) for all of them.

A lookup that does not come back within ``LOOKUP_TIMEOUT``, or that finds the cache not
ready, answers with the exception: the policy stage then fails closed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from gateway.lifecycle import TickBatcher
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
        # The cache is read when a batch goes, not here (the stage bench has none).
        self._batch: TickBatcher[tuple[str, str], bool] = TickBatcher(
            lambda items: self.cache.lookup_many(items), timeout=LOOKUP_TIMEOUT, log=log,
            what="suppression lookup", event="policy_failed", stage="lookup_answer",
            failed=self._failed,
            took=metrics.suppression_lookup.observe)

    def lookup(self, account: str, number: str, answer: LookupAnswer) -> None:
        """Is ``number`` opted out for ``account`` (or operator-wide)? ``answer`` gets True,
        False, or the exception that left it unknown (CacheNotReady, a Redis error)."""
        self._batch.add((account, number), answer)

    def _failed(self, error: Exception) -> None:
        if isinstance(error, CacheNotReady):
            # The marker is gone (Redis flushed or restarted empty) and the keeper may not
            # look for up to its interval: wake it now, as Redis errors already do, so
            # promotional traffic is refused for the rebuild, not the rebuild + a wait.
            self.cache.trouble.set()
