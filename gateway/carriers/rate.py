"""An upstream's send rate: a token bucket that backs off when the carrier throttles (AIMD).

The configured ``tps`` is the ceiling. When the carrier answers ESME_RTHROTTLED
the rate halves (multiplicative decrease); every accepted submit_sm then adds
back a little, so the rate climbs by about half the ceiling per
``RECOVERY_SECONDS`` (additive increase) until it is back at the ceiling. With
no configured ceiling (``tps = 0``) the first throttle starts from the rate
measured over the last second, and the limit goes away once the rate has
climbed back there.

(gateway/limits.py is the plain bucket for account limits.)
"""

from __future__ import annotations

__all__ = ["CarrierRate"]

#: Seconds of tokens the bucket holds at most: enough to ride out loop jitter, small
#: enough that no one-second window at the carrier sees much more than the rate.
BURST_SECONDS = 0.05
#: Seconds to climb from half the ceiling back to the ceiling at a steady send rate.
RECOVERY_SECONDS = 10.0
MIN_RATE = 1.0


class CarrierRate:
    """Tokens per second with a small burst; ``rate`` None means unlimited."""

    __slots__ = ("_ceiling", "_count", "_limit", "_since", "_stamp", "_step", "_tokens",
                 "last_rate", "rate")

    def __init__(self, tps: float, now: float) -> None:
        self._limit = float(tps)
        self.rate: float | None = self._limit or None
        self._ceiling = self._limit
        self._step = 0.0
        self._tokens = max(1.0, self._limit * BURST_SECONDS) if self._limit else 0.0
        self._stamp = now
        # Parts sent per second over one-second spans: where the first cut starts when unlimited.
        self._count = 0
        self._since = now
        self.last_rate = 0.0

    def take(self, now: float) -> bool:
        """Take one token if there is one."""
        if now - self._since >= 1.0:
            self.last_rate = self._count / (now - self._since)
            self._count = 0
            self._since = now
        rate = self.rate
        if rate is None:
            self._count += 1
            return True
        tokens = self._tokens + (now - self._stamp) * rate
        burst = max(1.0, rate * BURST_SECONDS)
        if tokens > burst:
            tokens = burst
        self._stamp = now
        if tokens < 1.0:
            self._tokens = tokens
            return False
        self._tokens = tokens - 1.0
        self._count += 1
        return True

    def delay(self) -> float:
        """Seconds until the next token (after a failed ``take``)."""
        rate = self.rate
        return 0.0 if rate is None else max(0.0, (1.0 - self._tokens) / rate)

    def slow_down(self, now: float) -> None:
        """The carrier throttled us: halve the rate."""
        current = self.rate
        if current is None:
            # A span shorter than 100 ms says little: count it as 100 ms (errs on the fast side).
            measured = self._count / max(now - self._since, 0.1)
            current = max(measured, self.last_rate, 2 * MIN_RATE)
            self._ceiling = current
            self._tokens = 0.0
            self._stamp = now
        self.rate = max(MIN_RATE, current / 2)
        self._step = self._ceiling / 2 / RECOVERY_SECONDS

    def speed_up(self) -> None:
        """The carrier accepted a part: climb back towards the ceiling."""
        rate = self.rate
        if rate is None or rate >= self._ceiling:
            return
        # step / rate per accepted part, at `rate` parts a second, is `step` a second.
        rate += self._step / rate
        if rate >= self._ceiling:
            self.rate = self._limit or None
        else:
            self.rate = rate
