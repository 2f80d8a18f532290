"""Limits that hold over time or per address: token buckets for TPS (accounts, upstreams),
and the connections each client address holds (SMPP binds, HTTP connections)."""

from __future__ import annotations

__all__ = ["AddressCounts", "TokenBucket"]


class TokenBucket:
    """``rate`` tokens a second, holding at most ``burst`` seconds' worth (and at least one
    token); it starts full. Rate 0 = unlimited.

    ``rate`` may change at any time (gateway.carriers.rate slows an upstream's down when the
    carrier throttles): the tokens held so far stay and refill at the new rate.
    """

    __slots__ = ("_last", "_tokens", "burst", "rate")

    def __init__(self, rate: float, now: float, *, burst: float = 1.0) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = max(1.0, rate * burst) if rate > 0 else 0.0
        self._last = now

    def take(self, now: float) -> bool:
        """Take one token if there is one."""
        rate = self.rate
        if rate <= 0:
            return True
        tokens = self._tokens + (now - self._last) * rate
        most = rate * self.burst
        if most < 1.0:
            most = 1.0
        if tokens > most:
            tokens = most
        self._last = now
        if tokens < 1.0:
            self._tokens = tokens
            return False
        self._tokens = tokens - 1.0
        return True

    def delay(self) -> float:
        """Seconds until the next token (after a failed ``take``); 0 when unlimited."""
        rate = self.rate
        return 0.0 if rate <= 0 else max(0.0, (1.0 - self._tokens) / rate)

    def empty(self, now: float) -> None:
        """Hold no token as of ``now`` (they refill from here)."""
        self._tokens = 0.0
        self._last = now


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
