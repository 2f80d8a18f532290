"""Reassembly of long messages from their parts, bounded in time and memory.

Parts arrive in any order and interleaved with other messages. A message is
identified by the caller's conversation key (e.g. account, source_addr,
destination_addr) together with the kind of concatenation and its reference,
so UDH and SAR references never collide. Nothing here reads a clock: every
call takes ``now``, a monotonic time in seconds.

Each message also has an *owner* (the sending account, say): the bounds are
one pool, of which every one of ``owners`` owners has an equal share. An owner
may use more than its share while the pool has room; once it is full, an owner
over its share makes room from its own oldest messages, and an owner within its
share from those of the owners over theirs. So one owner flooding the pool with
messages it never finishes evicts only its own.
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
    #: Whom it was held for (``add``'s ``owner``).
    owner: Hashable = None


class _Owner:
    """One owner's incomplete messages, oldest first, and the octets they hold."""

    __slots__ = ("messages", "nbytes")

    def __init__(self) -> None:
        self.messages: dict[_MessageKey, None] = {}
        self.nbytes = 0


class _Pending(Generic[C]):
    __slots__ = ("key", "nbytes", "owner", "parts", "started", "total")

    def __init__(self, key: Hashable, total: int, started: float, owner: Hashable) -> None:
        self.key = key
        self.owner = owner
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
    incomplete messages (then, if it alone is too big, its own): those of its own
    owner if that owner is over its share (``max_pending // owners`` messages,
    ``max_bytes // owners`` octets), else those of the owners over theirs.
    Dropped messages are returned by the next ``expire`` call, so call it
    regularly (every tick): until then evicted parts are still referenced from
    that queue.
    """

    def __init__(self, max_pending: int, max_bytes: int, timeout: float,
                 owners: int = 1) -> None:
        if max_pending < 1:
            raise ValueError(f"max_pending must be at least 1, not {max_pending}")
        if max_bytes < 0:
            raise ValueError(f"max_bytes must not be negative, not {max_bytes}")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, not {timeout}")
        if owners < 1:
            raise ValueError(f"owners must be at least 1, not {owners}")
        self.max_pending = max_pending
        self.max_bytes = max_bytes
        self.timeout = timeout
        #: Each owner's share of the bounds: what it keeps however full the pool is.
        self.share_pending = max_pending // owners  # they add up to at most the pool
        self.share_bytes = max_bytes // owners
        # Insertion order is arrival order of first parts: the oldest come first.
        self._pending: dict[_MessageKey, _Pending[C]] = {}
        self._owners: dict[Hashable, _Owner] = {}
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

    def pending_of(self, owner: Hashable) -> tuple[int, int]:
        """(incomplete messages, payload octets) held for ``owner``."""
        held = self._owners.get(owner)
        return (len(held.messages), held.nbytes) if held is not None else (0, 0)

    def add(
        self, key: Hashable, info: ConcatInfo, now: float, context: C | None = None,
        owner: Hashable = None,
    ) -> Completed[C] | None:
        """Take one part; the whole message once its last part arrives, else None.

        ``owner`` is whom the message is held for (see the class docstring); the
        parts of one message must all come with the same one (the key usually
        names it). Raises DuplicatePartError for a position already held and
        TotalMismatchError for a total that disagrees with earlier parts; in both
        cases the held message is unchanged.
        """
        if info.total == 1:
            return Completed(key, info.kind, info.ref, 1, info.payload, (info,), (context,), now)
        message_key: _MessageKey = (key, info.kind, info.ref)
        entry = self._pending.get(message_key)
        if entry is None:
            entry = _Pending(key, info.total, now, owner)
            self._pending[message_key] = entry
            mine = self._owners.get(owner)
            if mine is None:
                mine = self._owners[owner] = _Owner()
            mine.messages[message_key] = None
        elif entry.total != info.total:
            raise TotalMismatchError(key, info, entry.total)
        elif info.seqnum in entry.parts:
            held = entry.parts[info.seqnum][0]
            raise DuplicatePartError(key, info, held.payload == info.payload)
        entry.parts[info.seqnum] = (info, context)
        size = len(info.payload)
        entry.nbytes += size
        self._bytes += size
        self._owners[entry.owner].nbytes += size
        if len(entry.parts) == entry.total:
            self._forget(message_key, entry)
            parts, contexts = entry.ordered()
            payload = b"".join(part.payload for part in parts)
            return Completed(
                key, info.kind, info.ref, entry.total, payload, parts, contexts, entry.started
            )
        if len(self._pending) > self.max_pending or self._bytes > self.max_bytes:
            self._evict_for(message_key)
        return None

    def _over_share(self, held: _Owner) -> bool:
        return len(held.messages) > self.share_pending or held.nbytes > self.share_bytes

    def _evict_for(self, keep: _MessageKey) -> None:
        owner = self._pending[keep].owner
        while len(self._pending) > self.max_pending or self._bytes > self.max_bytes:
            own = self._owners[owner]
            if self._over_share(own):
                victim = next((k for k in own.messages if k != keep), keep)
            else:
                victim = self._oldest_over_share(keep)
            self._dropped.append(self._drop(victim, "evicted"))

    def _oldest_over_share(self, keep: _MessageKey) -> _MessageKey:
        """The oldest message of an owner over its share (one there is, when the pool is
        over and the adding owner is not: the shares add up to at most the pool)."""
        victim: _MessageKey | None = None
        started = 0.0
        for held in self._owners.values():
            if not self._over_share(held):
                continue
            first = next((k for k in held.messages if k != keep), None)
            if first is not None and (victim is None or self._pending[first].started < started):
                victim, started = first, self._pending[first].started
        if victim is None:  # defensive: the oldest other message, as without owners
            victim = next((k for k in self._pending if k != keep), keep)
        return victim

    def _forget(self, message_key: _MessageKey, entry: _Pending[C]) -> None:
        del self._pending[message_key]
        self._bytes -= entry.nbytes
        held = self._owners[entry.owner]
        del held.messages[message_key]
        held.nbytes -= entry.nbytes
        if not held.messages:
            del self._owners[entry.owner]

    def _drop(self, message_key: _MessageKey, reason: Literal["timeout", "evicted"]) -> Expired[C]:
        entry = self._pending[message_key]
        self._forget(message_key, entry)
        parts, contexts = entry.ordered()
        _, kind, ref = message_key
        return Expired(entry.key, kind, ref, entry.total, parts, contexts, entry.started, reason,
                       entry.owner)

    def expire(self, now: float) -> list[Expired[C]]:
        """Drop messages incomplete for ``timeout`` seconds; return them and those evicted since."""
        dropped, self._dropped = self._dropped, []
        while self._pending:
            message_key, entry = next(iter(self._pending.items()))
            if now - entry.started < self.timeout:
                break  # the rest started later
            dropped.append(self._drop(message_key, "timeout"))
        return dropped
