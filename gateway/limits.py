"""Limits that hold over time or per address: token buckets for TPS (accounts, upstreams)."""

from __future__ import annotations


class TokenBucket:
    """``rate`` tokens a second, up to ``rate`` in a burst; rate 0 = unlimited."""

    __slots__ = ("_last", "_tokens", "rate")

    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate
        self._tokens = rate
        self._last = now

    def take(self, now: float) -> bool:
        if self.rate <= 0:
            return True
        tokens = min(self.rate, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if tokens < 1:
            self._tokens = tokens
            return False
        self._tokens = tokens - 1
        return True
