"""Limits that hold over time or per address: token buckets for TPS (accounts, upstreams),
and the connections each client address holds (SMPP binds, HTTP connections)."""

from __future__ import annotations

__all__ = ["AddressCounts", "TokenBucket"]


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


class AddressCounts:
    """How many connections (or bound sessions) each client address holds, and in all.

    An address is forgotten when its last one goes, so the table holds only the
    addresses connected now.
    """

    __slots__ = ("_held", "total")

    def __init__(self) -> None:
        self._held: dict[str, int] = {}
        self.total = 0

    def __getitem__(self, address: str) -> int:
        """How many ``address`` holds now (0 for one never seen)."""
        return self._held.get(address, 0)

    def __len__(self) -> int:
        """How many addresses hold at least one."""
        return len(self._held)

    def add(self, address: str) -> None:
        self._held[address] = self._held.get(address, 0) + 1
        self.total += 1

    def remove(self, address: str) -> None:
        """One of ``address``'s went away (one never added is ignored)."""
        left = self._held.get(address, 0) - 1
        if left < 0:
            return
        self.total -= 1
        if left:
            self._held[address] = left
        else:
            del self._held[address]
