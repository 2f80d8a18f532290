"""Reassembly of long messages from their parts, bounded in time and memory.

Parts arrive in any order and interleaved with other messages. A message is
identified by the caller's conversation key (e.g. account, source_addr,
destination_addr) together with the kind of concatenation and its reference,
so UDH and SAR references never collide. Nothing here reads a clock: every
call takes ``now``, a monotonic time in seconds.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, Literal, TypeAlias, TypeVar

from .segments import ConcatInfo
from .text import ConcatKind

__all__ = [
    "Completed",
    "DuplicatePartError",
    "Expired",
    "Reassembler",
    "ReassemblyError",
    "TotalMismatchError",
]

#: What the caller attaches to each part (e.g. the PDU to answer); handed back with it.
C = TypeVar("C")

_MessageKey: TypeAlias = tuple[Hashable, ConcatKind, int]


class ReassemblyError(ValueError):
    """A part that does not fit the message it claims to belong to."""


class DuplicatePartError(ReassemblyError):
    """A part whose message already holds a part at that position; the new one is ignored."""

    def __init__(self, key: Hashable, info: ConcatInfo, identical: bool) -> None:
        self.key = key
        self.info = info
        #: Same payload as the part already held: a retransmission, not a reused reference.
        self.identical = identical
        super().__init__(
            f"part {info.seqnum}/{info.total} of {info.kind} message {info.ref} for {key!r} "
            f"received twice ({'same' if identical else 'different'} payload)"
        )


class TotalMismatchError(ReassemblyError):
    """A part whose total disagrees with the parts already held for its message."""

    def __init__(self, key: Hashable, info: ConcatInfo, expected: int) -> None:
        self.key = key
        self.info = info
        self.expected = expected
        super().__init__(
            f"part {info.seqnum} of {info.kind} message {info.ref} for {key!r} says "
            f"{info.total} parts, earlier parts said {expected}"
        )


@dataclass(frozen=True, slots=True)
class Completed(Generic[C]):
    """A message whose parts have all arrived."""

    key: Hashable
    kind: ConcatKind
    ref: int
    total: int
    #: The parts' payloads joined in order (user data, no UDH).
    payload: bytes
    #: The parts in order, and what the caller attached to each.
    parts: tuple[ConcatInfo, ...]
    contexts: tuple[C | None, ...]
    #: When its first part arrived.
    started: float


@dataclass(frozen=True, slots=True)
class Expired(Generic[C]):
    """An incomplete message given up: timed out, or evicted to stay within bounds."""

    key: Hashable
    kind: ConcatKind
    ref: int
    total: int
    #: The parts that did arrive, in order, and what the caller attached to each.
    parts: tuple[ConcatInfo, ...]
    contexts: tuple[C | None, ...]
    started: float
    reason: Literal["timeout", "evicted"]


class _Pending(Generic[C]):
    __slots__ = ("key", "nbytes", "parts", "started", "total")

    def __init__(self, key: Hashable, total: int, started: float) -> None:
        self.key = key
        self.total = total
        self.started = started
        self.parts: dict[int, tuple[ConcatInfo, C | None]] = {}
        self.nbytes = 0

    def ordered(self) -> tuple[tuple[ConcatInfo, ...], tuple[C | None, ...]]:
        items = [self.parts[seqnum] for seqnum in sorted(self.parts)]
        return tuple(info for info, _ in items), tuple(context for _, context in items)


class Reassembler(Generic[C]):
    """Collects the parts of long messages until each is whole, expires or is evicted.

    At most ``max_pending`` incomplete messages and ``max_bytes`` of their
    payload are held; a part that would exceed either evicts the oldest other
    incomplete messages (then, if it alone is too big, its own). Dropped messages
    are returned by the next ``expire`` call, so call it regularly (every tick):
    until then evicted parts are still referenced from that queue.
    """

    def __init__(self, max_pending: int, max_bytes: int, timeout: float) -> None:
        if max_pending < 1:
            raise ValueError(f"max_pending must be at least 1, not {max_pending}")
        if max_bytes < 0:
            raise ValueError(f"max_bytes must not be negative, not {max_bytes}")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, not {timeout}")
        self.max_pending = max_pending
        self.max_bytes = max_bytes
        self.timeout = timeout
        # Insertion order is arrival order of first parts: the oldest come first.
        self._pending: dict[_MessageKey, _Pending[C]] = {}
        self._bytes = 0
        self._dropped: list[Expired[C]] = []

    @property
    def pending(self) -> int:
        """Incomplete messages held."""
        return len(self._pending)

    @property
    def pending_bytes(self) -> int:
        """Payload octets held for incomplete messages."""
        return self._bytes

    def add(
        self, key: Hashable, info: ConcatInfo, now: float, context: C | None = None
    ) -> Completed[C] | None:
        """Take one part; the whole message once its last part arrives, else None.

        Raises DuplicatePartError for a position already held and
        TotalMismatchError for a total that disagrees with earlier parts; in both
        cases the held message is unchanged.
        """
        if info.total == 1:
            return Completed(key, info.kind, info.ref, 1, info.payload, (info,), (context,), now)
        message_key: _MessageKey = (key, info.kind, info.ref)
        entry = self._pending.get(message_key)
        if entry is None:
            entry = _Pending(key, info.total, now)
            self._pending[message_key] = entry
        elif entry.total != info.total:
            raise TotalMismatchError(key, info, entry.total)
        elif info.seqnum in entry.parts:
            held = entry.parts[info.seqnum][0]
            raise DuplicatePartError(key, info, held.payload == info.payload)
        entry.parts[info.seqnum] = (info, context)
        size = len(info.payload)
        entry.nbytes += size
        self._bytes += size
        if len(entry.parts) == entry.total:
            del self._pending[message_key]
            self._bytes -= entry.nbytes
            parts, contexts = entry.ordered()
            payload = b"".join(part.payload for part in parts)
            return Completed(
                key, info.kind, info.ref, entry.total, payload, parts, contexts, entry.started
            )
        if len(self._pending) > self.max_pending or self._bytes > self.max_bytes:
            self._evict_for(message_key)
        return None

    def _evict_for(self, keep: _MessageKey) -> None:
        while len(self._pending) > self.max_pending or self._bytes > self.max_bytes:
            victim = next((k for k in self._pending if k != keep), keep)
            self._dropped.append(self._drop(victim, "evicted"))

    def _drop(self, message_key: _MessageKey, reason: Literal["timeout", "evicted"]) -> Expired[C]:
        entry = self._pending.pop(message_key)
        self._bytes -= entry.nbytes
        parts, contexts = entry.ordered()
        _, kind, ref = message_key
        return Expired(entry.key, kind, ref, entry.total, parts, contexts, entry.started, reason)

    def expire(self, now: float) -> list[Expired[C]]:
        """Drop messages incomplete for ``timeout`` seconds; return them and those evicted since."""
        dropped, self._dropped = self._dropped, []
        while self._pending:
            message_key, entry = next(iter(self._pending.items()))
            if now - entry.started < self.timeout:
                break  # the rest started later
            dropped.append(self._drop(message_key, "timeout"))
        return dropped
