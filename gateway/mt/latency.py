"""Per-message latencies into a Prometheus histogram, a batch at a time.

``Histogram.observe`` takes a lock and walks the buckets for every value
(~1.5 µs, more in multiprocess mode where each bucket is a memory-mapped
file). The MT path records one latency per message, so it collects them in a
list and adds each bucket's count once per batch: a batch is written when it
reaches ``BATCH`` values or ``FLUSH_AFTER`` seconds after its first value,
whichever comes first, so a scrape is at most that stale.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_left
from typing import Any

from prometheus_client import Histogram

BATCH = 512
FLUSH_AFTER = 0.5  # seconds


class LatencyBatch:
    """Collects values for one unlabelled histogram and adds them in bulk."""

    __slots__ = ("_bulk", "_timer", "_values", "histogram")

    def __init__(self, histogram: Histogram) -> None:
        self.histogram = histogram
        self._values: list[float] = []
        self._timer: asyncio.TimerHandle | None = None
        # prometheus_client keeps a histogram's state in _upper_bounds, _buckets and _sum
        # (the same in multiprocess mode). Should a release rename them, every value goes
        # through observe() instead: slower, never wrong.
        self._bulk = all(hasattr(histogram, name) for name in ("_upper_bounds", "_buckets", "_sum"))

    def add(self, seconds: float) -> None:
        values = self._values
        values.append(seconds)
        if len(values) >= BATCH:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(FLUSH_AFTER, self.flush)

    def flush(self) -> None:
        """Write what is collected now (also at shutdown, so nothing is left behind)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        values, self._values = self._values, []
        if not values:
            return
        histogram: Any = self.histogram
        if not self._bulk:
            for value in values:
                histogram.observe(value)
            return
        bounds = histogram._upper_bounds
        counts = [0] * len(bounds)
        for value in values:
            counts[bisect_left(bounds, value)] += 1  # bucket i holds values <= bounds[i]
        for bucket, count in zip(histogram._buckets, counts, strict=True):
            if count:
                bucket.inc(count)
        histogram._sum.inc(sum(values))
