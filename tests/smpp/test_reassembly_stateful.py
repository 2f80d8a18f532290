"""The reassembler against a model: parts of interleaved messages in any order, repeated,
with totals that disagree, and a clock; its bounds hold after every step.

The model keeps every part the reassembler accepted until the reassembler hands it
back (completed, timed out or evicted), so after each step the reassembler must
hold exactly the model's messages and octets, and never more than its limits.
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from smpp.reassembly import (
    Completed,
    DuplicatePartError,
    Expired,
    Reassembler,
    TotalMismatchError,
)
from smpp.segments import ConcatInfo
from smpp.text import ConcatKind

_MessageKey = tuple[str, ConcatKind, int]


class ReassemblerBounds(RuleBasedStateMachine):
    reassembler: Reassembler[int]

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        # What the reassembler should hold: message -> (total, {seqnum: payload}).
        self.held: dict[_MessageKey, tuple[int, dict[int, bytes]]] = {}

    @initialize(max_pending=st.integers(1, 4), max_bytes=st.sampled_from([0, 10, 40, 500]),
                timeout=st.sampled_from([1.0, 5.0, 30.0]), owners=st.integers(1, 2))
    def limits(self, max_pending: int, max_bytes: int, timeout: float, owners: int) -> None:
        # Each key is its own owner: with two, each has half the pool.
        self.reassembler = Reassembler(max_pending, max_bytes, timeout, owners)
        self.owners = owners

    @rule(key=st.sampled_from(["a", "b"]), kind=st.sampled_from(["udh8", "udh16", "sar"]),
          ref=st.integers(0, 2), total=st.integers(1, 4), seqnum=st.integers(1, 4),
          payload=st.binary(max_size=12))
    def add_part(self, key: str, kind: ConcatKind, ref: int, total: int, seqnum: int,
                 payload: bytes) -> None:
        seqnum = min(seqnum, total)
        info = ConcatInfo(kind, ref, total, seqnum, payload)
        message: _MessageKey = (key, kind, ref)
        if total == 1:  # a message in one part is whole at once, whatever is held
            single = self.reassembler.add(key, info, self.now)
            assert single is not None and single.payload == payload
            return
        held = self.held.get(message)
        before = {owner: self.reassembler.pending_of(owner) for owner in ("a", "b")}
        try:
            done = self.reassembler.add(key, info, self.now, owner=key)
        except DuplicatePartError as exc:
            assert held is not None and seqnum in held[1]
            assert exc.identical == (held[1][seqnum] == payload)
            return
        except TotalMismatchError:
            assert held is not None and held[0] != total
            return
        assert held is None or (held[0] == total and seqnum not in held[1])
        _, parts = self.held.setdefault(message, (total, {}))
        parts[seqnum] = payload
        if done is not None:
            assert len(parts) == total
            assert done.payload == b"".join(parts[n] for n in range(1, total + 1))
            self.give_back(done)
        r = self.reassembler
        for dropped in r.expire(self.now):
            # Another owner's message made room only if that owner was over its share
            # (with one share for two owners, the shares do not add up: any may go).
            if dropped.owner != key and self.owners == 2:
                count, octets = before[dropped.owner]  # type: ignore[index]
                assert count > r.share_pending or octets > r.share_bytes
            self.give_back(dropped)

    @rule(seconds=st.sampled_from([0.0, 0.5, 2.0, 6.0, 40.0]))
    def tick(self, seconds: float) -> None:
        self.now += seconds
        for dropped in self.reassembler.expire(self.now):
            if dropped.reason == "timeout":
                assert self.now - dropped.started >= self.reassembler.timeout
            self.give_back(dropped)

    def drain_evicted(self) -> None:
        # Evictions wait for the next expire(); with a clock that has not moved, expire
        # hands back exactly those (nothing can time out at the same instant it started
        # unless the timeout passed, which tick checks).
        for dropped in self.reassembler.expire(self.now):
            self.give_back(dropped)

    def give_back(self, message: Completed[int] | Expired[int]) -> None:
        key: _MessageKey = (message.key, message.kind, message.ref)  # type: ignore[assignment]
        total, parts = self.held.pop(key)
        assert message.total == total
        assert [p.seqnum for p in message.parts] == sorted(parts)
        assert [p.payload for p in message.parts] == [parts[n] for n in sorted(parts)]

    @invariant()
    def bounds_hold_and_match_the_model(self) -> None:
        r = self.reassembler
        assert r.pending <= r.max_pending
        assert 0 <= r.pending_bytes <= r.max_bytes
        assert r.pending == len(self.held)
        assert r.pending_bytes == sum(len(p) for _, parts in self.held.values()
                                      for p in parts.values())
        for owner in ("a", "b"):
            mine = [parts for (key, _, _), (_, parts) in self.held.items() if key == owner]
            assert r.pending_of(owner) == (len(mine), sum(len(p) for parts in mine
                                                          for p in parts.values()))


ReassemblerBounds.TestCase.settings = settings(
    max_examples=80, stateful_step_count=40, deadline=None
)
test_reassembler_bounds = ReassemblerBounds.TestCase
