"""Reassembling long messages: any order, interleaving, duplicates, timeouts, memory bounds."""

from __future__ import annotations

import pytest

from smpp.reassembly import (
    Completed,
    DuplicatePartError,
    Reassembler,
    ReassemblyError,
    TotalMismatchError,
)
from smpp.segments import ConcatInfo

KEY = ("acme", "33612345678", "36173")
OTHER_KEY = ("acme", "33699999999", "36173")


def part(seqnum: int, total: int = 3, ref: int = 7, payload: bytes | None = None) -> ConcatInfo:
    if payload is None:
        payload = f"<{ref}:{seqnum}>".encode()
    return ConcatInfo("udh8", ref, total, seqnum, payload)


def roomy() -> Reassembler[object]:
    return Reassembler(max_pending=100, max_bytes=100_000, timeout=30.0)


def test_parts_in_order_complete_on_the_last() -> None:
    r = roomy()
    assert r.add(KEY, part(1), now=0.0) is None
    assert r.add(KEY, part(2), now=0.1) is None
    done = r.add(KEY, part(3), now=0.2)
    assert done is not None
    assert done.payload == b"<7:1><7:2><7:3>"
    assert [p.seqnum for p in done.parts] == [1, 2, 3]
    assert (done.key, done.kind, done.ref, done.total, done.started) == (KEY, "udh8", 7, 3, 0.0)
    assert r.pending == 0
    assert r.pending_bytes == 0


@pytest.mark.parametrize("order", [(3, 1, 2), (2, 3, 1), (3, 2, 1)])
def test_parts_in_any_order_join_in_sequence_order(order: tuple[int, int, int]) -> None:
    r = roomy()
    results = [r.add(KEY, part(seqnum), now=1.0) for seqnum in order]
    assert results[:2] == [None, None]
    done = results[2]
    assert isinstance(done, Completed)
    assert done.payload == b"<7:1><7:2><7:3>"


def test_contexts_come_back_in_part_order() -> None:
    r = Reassembler[str](max_pending=100, max_bytes=100_000, timeout=30.0)
    r.add(KEY, part(2, total=2), 0.0, context="pdu-b")
    done = r.add(KEY, part(1, total=2), 0.0, context="pdu-a")
    assert done is not None
    assert done.contexts == ("pdu-a", "pdu-b")


def test_interleaved_messages_same_key_different_refs() -> None:
    r = roomy()
    assert r.add(KEY, part(1, ref=1), 0.0) is None
    assert r.add(KEY, part(2, ref=2, total=2), 0.0) is None
    assert r.add(KEY, part(3, ref=1), 0.0) is None
    done2 = r.add(KEY, part(1, ref=2, total=2), 0.0)
    assert done2 is not None and done2.payload == b"<2:1><2:2>"
    done1 = r.add(KEY, part(2, ref=1), 0.0)
    assert done1 is not None and done1.payload == b"<1:1><1:2><1:3>"


def test_interleaved_messages_different_keys_same_ref() -> None:
    r = roomy()
    r.add(KEY, part(1, payload=b"mine-1 "), 0.0)
    r.add(OTHER_KEY, part(1, payload=b"theirs-1 "), 0.0)
    r.add(OTHER_KEY, part(2, payload=b"theirs-2 "), 0.0)
    r.add(KEY, part(2, payload=b"mine-2 "), 0.0)
    assert r.pending == 2
    mine = r.add(KEY, part(3, payload=b"mine-3"), 0.0)
    theirs = r.add(OTHER_KEY, part(3, payload=b"theirs-3"), 0.0)
    assert mine is not None and mine.payload == b"mine-1 mine-2 mine-3"
    assert theirs is not None and theirs.payload == b"theirs-1 theirs-2 theirs-3"


def test_udh_and_sar_references_are_separate_spaces() -> None:
    r = roomy()
    r.add(KEY, ConcatInfo("udh8", 5, 2, 1, b"udh "), 0.0)
    r.add(KEY, ConcatInfo("sar", 5, 2, 1, b"sar "), 0.0)
    r.add(KEY, ConcatInfo("udh16", 5, 2, 1, b"udh16 "), 0.0)
    assert r.pending == 3
    done = r.add(KEY, ConcatInfo("sar", 5, 2, 2, b"end"), 0.0)
    assert done is not None and done.payload == b"sar end"


def test_single_part_message_completes_at_once_without_buffering() -> None:
    r = roomy()
    done = r.add(KEY, ConcatInfo("payload", 0, 1, 1, b"whole"), 3.0)
    assert done is not None
    assert (done.payload, done.total, done.started) == (b"whole", 1, 3.0)
    assert r.pending == 0


def test_duplicate_part_is_reported_and_ignored() -> None:
    r = roomy()
    r.add(KEY, part(1), 0.0)
    with pytest.raises(DuplicatePartError) as raised:
        r.add(KEY, part(1), 0.5)
    assert raised.value.identical
    assert raised.value.info.seqnum == 1
    with pytest.raises(DuplicatePartError) as raised:
        r.add(KEY, part(1, payload=b"something else"), 0.5)
    assert not raised.value.identical
    assert r.pending_bytes == len(b"<7:1>")
    r.add(KEY, part(2), 0.6)
    done = r.add(KEY, part(3), 0.7)
    assert done is not None
    assert done.payload == b"<7:1><7:2><7:3>"  # the first copy of part 1 is kept


def test_part_whose_total_disagrees_is_an_error() -> None:
    r = roomy()
    r.add(KEY, part(1, total=3), 0.0)
    with pytest.raises(TotalMismatchError) as raised:
        r.add(KEY, part(2, total=4), 0.0)
    assert raised.value.expected == 3
    assert isinstance(raised.value, ReassemblyError)
    assert r.pending_bytes == len(b"<7:1>")
    r.add(KEY, part(2, total=3), 0.0)
    assert r.add(KEY, part(3, total=3), 0.0) is not None


def test_incomplete_message_expires_after_the_timeout() -> None:
    r = Reassembler[object](max_pending=10, max_bytes=10_000, timeout=5.0)
    r.add(KEY, part(1), now=100.0)
    r.add(KEY, part(3), now=102.0)
    assert r.expire(now=104.9) == []
    expired = r.expire(now=105.0)
    assert len(expired) == 1
    (gone,) = expired
    assert (gone.key, gone.ref, gone.total, gone.reason, gone.started) == (
        KEY,
        7,
        3,
        "timeout",
        100.0,
    )
    assert [p.seqnum for p in gone.parts] == [1, 3]
    assert r.pending == 0 and r.pending_bytes == 0
    assert r.expire(now=200.0) == []


def test_expiry_drops_only_the_messages_that_are_old_enough() -> None:
    r = Reassembler[object](max_pending=10, max_bytes=10_000, timeout=5.0)
    r.add(KEY, part(1, ref=1), now=0.0)
    r.add(KEY, part(1, ref=2), now=3.0)
    r.add(KEY, part(2, ref=1), now=4.0)  # activity does not extend a message's life
    assert [e.ref for e in r.expire(now=6.0)] == [1]
    assert r.pending == 1
    assert [e.ref for e in r.expire(now=8.0)] == [2]


def test_part_after_expiry_starts_a_new_message() -> None:
    r = Reassembler[object](max_pending=10, max_bytes=10_000, timeout=5.0)
    r.add(KEY, part(1, total=2), now=0.0)
    r.expire(now=10.0)
    assert r.add(KEY, part(2, total=2), now=10.0) is None
    assert r.pending == 1


def test_too_many_pending_messages_evicts_the_oldest() -> None:
    r = Reassembler[object](max_pending=2, max_bytes=10_000, timeout=60.0)
    r.add(KEY, part(1, ref=1), 0.0)
    r.add(KEY, part(1, ref=2), 1.0)
    r.add(KEY, part(1, ref=3), 2.0)
    assert r.pending == 2
    dropped = r.expire(now=3.0)
    assert [(d.ref, d.reason) for d in dropped] == [(1, "evicted")]
    assert r.expire(now=3.0) == []


def test_too_many_buffered_bytes_evicts_the_oldest_until_it_fits() -> None:
    r = Reassembler[object](max_pending=100, max_bytes=250, timeout=60.0)
    for ref in range(1, 4):
        r.add(KEY, part(1, ref=ref, payload=b"x" * 100), float(ref))
    assert r.pending_bytes <= 250
    assert [d.ref for d in r.expire(now=4.0)] == [1]
    r.add(KEY, part(1, ref=9, payload=b"y" * 200), 5.0)
    assert r.pending_bytes <= 250
    assert [d.ref for d in r.expire(now=5.0)] == [2, 3]
    assert r.pending == 1


def test_the_message_being_added_to_is_evicted_last() -> None:
    r = Reassembler[object](max_pending=100, max_bytes=250, timeout=60.0)
    r.add(KEY, part(1, ref=1, payload=b"a" * 100), 0.0)
    r.add(KEY, part(1, ref=2, payload=b"b" * 100), 1.0)
    r.add(KEY, part(2, ref=1, payload=b"a" * 100), 2.0)  # 300 octets: ref 2 goes, not ref 1
    assert [d.ref for d in r.expire(now=2.0)] == [2]
    done = r.add(KEY, part(3, ref=1, payload=b"a"), 3.0)
    assert done is not None


def test_a_message_too_big_for_the_bound_on_its_own_is_evicted() -> None:
    r = Reassembler[object](max_pending=100, max_bytes=150, timeout=60.0)
    r.add(KEY, part(1, payload=b"x" * 100), 0.0)
    assert r.add(KEY, part(2, payload=b"x" * 100), 0.0) is None
    assert r.pending == 0 and r.pending_bytes == 0
    (dropped,) = r.expire(now=0.0)
    assert (dropped.reason, [p.seqnum for p in dropped.parts]) == ("evicted", [1, 2])


def test_completing_part_does_not_evict_even_if_it_alone_would_overflow() -> None:
    r = Reassembler[object](max_pending=100, max_bytes=150, timeout=60.0)
    r.add(KEY, part(1, total=2, payload=b"x" * 100), 0.0)
    done = r.add(KEY, part(2, total=2, payload=b"x" * 100), 0.0)
    assert done is not None and len(done.payload) == 200
    assert r.expire(now=0.0) == []


def test_memory_stays_bounded_under_a_flood_of_incomplete_messages() -> None:
    r = Reassembler[object](max_pending=50, max_bytes=2_000, timeout=60.0)
    dropped = 0
    for i in range(5_000):
        r.add((i % 7, "src", "dst"), part(1, ref=i % 256, payload=b"z" * (i % 90)), float(i))
        assert r.pending <= 50
        assert r.pending_bytes <= 2_000
        if i % 100 == 0:
            dropped += len(r.expire(now=float(i)))
    dropped += len(r.expire(now=1e9))
    assert r.pending == 0
    assert dropped > 4_000


@pytest.mark.parametrize(
    ("max_pending", "max_bytes", "timeout"), [(0, 10, 1.0), (1, -1, 1.0), (1, 10, 0.0)]
)
def test_bounds_must_make_sense(max_pending: int, max_bytes: int, timeout: float) -> None:
    with pytest.raises(ValueError):
        Reassembler[object](max_pending, max_bytes, timeout)


# --- owners: each has a share of the pool ------------------------------------------------

B_KEY = ("beta", "33611111111", "36173")


def test_an_owner_over_its_share_evicts_only_its_own_messages() -> None:
    r = Reassembler[object](max_pending=4, max_bytes=10_000, timeout=60.0, owners=2)
    r.add(B_KEY, part(1, ref=1), 0.0, owner="beta")  # beta's, the oldest of all
    for ref in range(1, 10):  # acme floods: past the pool, only acme's own oldest go
        r.add(KEY, part(1, ref=ref), 1.0 + ref, owner="acme")
        assert r.pending <= 4
    dropped = r.expire(now=20.0)
    assert {d.owner for d in dropped} == {"acme"}
    assert [d.ref for d in dropped] == [1, 2, 3, 4, 5, 6]
    assert r.pending_of("beta") == (1, len(b"<1:1>"))
    assert r.pending_of("acme")[0] == 3  # it borrows what beta does not use
    assert r.add(B_KEY, part(2, ref=1), 21.0, owner="beta") is None
    done = r.add(B_KEY, part(3, ref=1), 22.0, owner="beta")
    assert done is not None and done.payload == b"<1:1><1:2><1:3>"


def test_an_owner_within_its_share_makes_room_from_the_owner_over_its_own() -> None:
    r = Reassembler[object](max_pending=4, max_bytes=10_000, timeout=60.0, owners=2)
    for ref in range(1, 5):  # acme holds the whole pool while beta is idle
        r.add(KEY, part(1, ref=ref), float(ref), owner="acme")
    r.add(B_KEY, part(1, ref=1), 5.0, owner="beta")
    r.add(B_KEY, part(1, ref=2), 6.0, owner="beta")
    dropped = r.expire(now=7.0)
    assert [(d.owner, d.ref, d.reason) for d in dropped] == [("acme", 1, "evicted"),
                                                            ("acme", 2, "evicted")]
    assert r.pending_of("acme") == (2, 2 * len(b"<1:1>"))
    assert r.pending_of("beta")[0] == 2


def test_shares_hold_for_bytes_too() -> None:
    r = Reassembler[object](max_pending=100, max_bytes=400, timeout=60.0, owners=2)
    r.add(B_KEY, part(1, ref=1, payload=b"b" * 150), 0.0, owner="beta")
    for ref in range(1, 6):
        r.add(KEY, part(1, ref=ref, payload=b"a" * 100), 1.0 + ref, owner="acme")
        assert r.pending_bytes <= 400
    assert {d.owner for d in r.expire(now=10.0)} == {"acme"}
    assert r.pending_of("beta") == (1, 150)


def test_without_owners_it_is_one_pool_as_before() -> None:
    r = Reassembler[object](max_pending=2, max_bytes=10_000, timeout=60.0, owners=3)
    r.add(KEY, part(1, ref=1), 0.0)
    r.add(B_KEY, part(1, ref=1), 1.0)
    r.add(OTHER_KEY, part(1, ref=1), 2.0)
    assert [(d.key, d.owner) for d in r.expire(now=3.0)] == [(KEY, None)]
