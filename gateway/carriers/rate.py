"""An upstream's send rate: a token bucket that backs off when the carrier throttles (AIMD).

The configured ``tps`` is the ceiling. When the carrier answers ESME_RTHROTTLED
the rate halves (multiplicative decrease); every accepted submit_sm then adds
back a little, so the rate climbs by about half the ceiling per
``RECOVERY_SECONDS`` (additive increase) until it is back at the ceiling. With
no configured ceiling (``tps = 0``) the first throttle starts from the rate
measured over the last second, and the limit goes away once the rate has
climbed back there.

The tokens are gateway.limits.TokenBucket's (the one bucket, also the accounts'); this
module adds what a carrier's answers do to its rate.
"""

from __future__ import annotations

from gateway.limits import TokenBucket

__all__ = ["CarrierRate"]

#: Seconds of tokens the bucket holds at most: enough to ride out loop jitter, small
#: enough that no one-second window at the carrier sees much more than the rate.
BURST_SECONDS = 0.05
#: Seconds to climb from half the ceiling back to the ceiling at a steady send rate.
RECOVERY_SECONDS = 10.0
MIN_RATE = 1.0


class CarrierRate:
    """Tokens per second with a small burst; ``rate`` None means unlimited."""

    __slots__ = ("_bucket", "_ceiling", "_count", "_limit", "_since", "_step", "last_rate")

    def __init__(self, tps: float, now: float) -> None:
        self._limit = float(tps)
        self._bucket = TokenBucket(self._limit, now, burst=BURST_SECONDS)
        self._ceiling = self._limit
        self._step = 0.0
        # Parts sent per second over one-second spans: where the first cut starts when unlimited.
        self._count = 0
        self._since = now
        self.last_rate = 0.0

    @property
    def rate(self) -> float | None:
        """Tokens a second now; None when unlimited."""
        return self._bucket.rate or None

    def retune(self, tps: float, now: float) -> None:
        """The configured ceiling is now ``tps`` (0: unlimited): this process's share of
        the upstream's tps changed (gateway/instances/membership.py). A rate slowed down by
        the carrier stays slowed, under the new ceiling."""
        bucket = self._bucket
        slowed = bucket.rate > 0 and bucket.rate < self._ceiling
        self._limit = float(tps)
        if tps <= 0:
            self._ceiling = 0.0
            bucket.rate = 0.0
            return
        if bucket.rate <= 0:  # was unlimited: start from an empty bucket at the new rate
            bucket.empty(now)
        self._ceiling = self._limit
        bucket.rate = min(bucket.rate, self._limit) if slowed else self._limit
        self._step = self._ceiling / 2 / RECOVERY_SECONDS

    def take(self, now: float) -> bool:
        """Take one token if there is one."""
        if now - self._since >= 1.0:
            self.last_rate = self._count / (now - self._since)
            self._count = 0
            self._since = now
        if not self._bucket.take(now):
            return False
        self._count += 1
        return True

    def delay(self) -> float:
        """Seconds until the next token (after a failed ``take``)."""
        return self._bucket.delay()

    def slow_down(self, now: float) -> None:
        """The carrier throttled us: halve the rate."""
        bucket = self._bucket
        current = bucket.rate
        if current <= 0:
            # A span shorter than 100 ms says little: count it as 100 ms (errs on the fast side).
            measured = self._count / max(now - self._since, 0.1)
            current = max(measured, self.last_rate, 2 * MIN_RATE)
            self._ceiling = current
            bucket.empty(now)
        bucket.rate = max(min(MIN_RATE, self._ceiling or MIN_RATE), current / 2)
        self._step = self._ceiling / 2 / RECOVERY_SECONDS

    def speed_up(self) -> None:
        """The carrier accepted a part: climb back towards the ceiling."""
        bucket = self._bucket
        rate = bucket.rate
        if rate <= 0 or rate >= self._ceiling:
            return
        # step / rate per accepted part, at `rate` parts a second, is `step` a second.
        rate += self._step / rate
        bucket.rate = self._limit if rate >= self._ceiling else rate
