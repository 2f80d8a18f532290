"""Held messages in the ledger (schema step 3), on both backends: kept, claimed in order
one recipient at a time, released/dropped/expired by the claim's holder only, held
again, cancelled per campaign with their receipts still to send, listed and counted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from gateway.ledger.held import NewHeld
from gateway.ledger.model import Ledger
from tests.support.ledgers import Raw, claim_concurrently

T0 = datetime(2026, 11, 23, 21, 0, tzinfo=UTC)  # 22:00 in Paris
DUE = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)  # 08:00 in Paris
ALICE = "+33612345678"
BOB = "+33698765432"


def new(number: str = ALICE, *, account: str = "acme", campaign: str | None = "black-friday",
        due: datetime = DUE, expires: datetime = DUE + timedelta(days=2),
        message_id: str = "m1", body: bytes = b"\x01message") -> NewHeld:
    return NewHeld(account, number, campaign, message_id, due, T0, expires, body,
                   "FR quiet hours")


def test_a_held_message_is_kept_and_listed_with_its_times(ledger: Ledger, db: Raw) -> None:
    held_id = ledger.hold(new())
    [info] = ledger.list_held("acme")
    assert (info.id, info.number, info.campaign, info.message_id, info.held_at, info.due_at,
            info.expires_at, info.status) == (held_id, ALICE, "black-friday", "m1", T0, DUE,
                                              DUE + timedelta(days=2), "held")
    assert [bytes(row[0]) for row in db.rows("SELECT message FROM held_messages")] == [
        b"\x01message"]
    assert ledger.list_held("other") == []
    assert ledger.count_held() == {"acme": 1}


def test_naive_times_and_missing_ids_are_refused(ledger: Ledger) -> None:
    with pytest.raises(ValueError, match="due_at must be timezone-aware"):
        ledger.hold(new(due=datetime(2026, 11, 24, 7, 0)))
    with pytest.raises(ValueError, match="needs an account, a number and a message id"):
        ledger.hold(new(message_id=""))


def test_nothing_is_claimed_before_it_is_due(ledger: Ledger) -> None:
    ledger.hold(new())
    assert ledger.claim_held("w1", 10, 60, DUE - timedelta(seconds=1)) == []
    [row] = ledger.claim_held("w1", 10, 60, DUE)
    assert (row.number, row.message, row.status, row.attempts) == (
        ALICE, b"\x01message", "held", 1)


def test_due_rows_come_in_due_then_id_order_one_per_recipient_at_a_time(
        ledger: Ledger) -> None:
    first = ledger.hold(new(ALICE, message_id="a1"))
    second = ledger.hold(new(ALICE, message_id="a2"))
    bob = ledger.hold(new(BOB, message_id="b1", due=DUE - timedelta(minutes=1)))
    claimed = ledger.claim_held("w1", 10, 60, DUE)
    # Bob's is due first; Alice's second waits for her first.
    assert [row.id for row in claimed] == [bob, first]
    assert ledger.claim_held("w2", 10, 60, DUE) == []  # her first is in flight
    assert ledger.held_finish(first, "w1", "released", DUE)
    [row] = ledger.claim_held("w2", 10, 60, DUE)
    assert row.id == second


def test_only_the_claims_holder_changes_a_row(ledger: Ledger) -> None:
    held_id = ledger.hold(new())
    ledger.claim_held("w1", 10, 60, DUE)
    assert not ledger.held_finish(held_id, "w2", "released", DUE)
    assert not ledger.held_again(held_id, "w2", DUE + timedelta(days=1))
    assert ledger.held_finish(held_id, "w1", "dropped", DUE, "opted_out")
    assert not ledger.held_finish(held_id, "w1", "released", DUE)  # terminal already
    assert ledger.count_held() == {}


def test_an_expired_lease_is_claimed_again(ledger: Ledger) -> None:
    held_id = ledger.hold(new())
    ledger.claim_held("w1", 10, 60, DUE)
    assert ledger.claim_held("w2", 10, 60, DUE + timedelta(seconds=59)) == []
    [row] = ledger.claim_held("w2", 10, 60, DUE + timedelta(seconds=60))
    assert (row.id, row.attempts) == (held_id, 2)
    assert not ledger.held_finish(held_id, "w1", "released", DUE)  # w1 was taken over


def test_a_row_held_again_is_due_at_its_new_time(ledger: Ledger) -> None:
    held_id = ledger.hold(new())
    ledger.claim_held("w1", 10, 60, DUE)
    later = DUE + timedelta(hours=24)
    assert ledger.held_again(held_id, "w1", later, "window closed again")
    assert ledger.claim_held("w1", 10, 60, DUE + timedelta(hours=1)) == []
    assert [row.id for row in ledger.claim_held("w1", 10, 60, later)] == [held_id]


def test_an_expired_message_is_claimed_before_it_is_due_even_behind_another(
        ledger: Ledger) -> None:
    ledger.hold(new(ALICE, message_id="a1"))
    soon = ledger.hold(new(ALICE, message_id="a2", expires=T0 + timedelta(hours=2)))
    [row] = ledger.claim_held("w1", 10, 60, T0 + timedelta(hours=2))
    assert row.id == soon
    assert ledger.held_finish(soon, "w1", "expired", T0 + timedelta(hours=2))


def test_cancel_takes_a_campaigns_held_messages_and_leaves_their_receipts_to_send(
        ledger: Ledger) -> None:
    kept = ledger.hold(new(BOB, campaign="newsletter", message_id="n1"))
    cancelled = ledger.hold(new(ALICE, message_id="a1"))
    ledger.hold(new(ALICE, account="other", message_id="o1"))
    assert ledger.cancel_held("acme", "black-friday", T0 + timedelta(hours=1)) == 1
    assert [info.id for info in ledger.list_held("acme")] == [kept]
    assert ledger.count_held() == {"acme": 1, "other": 1}
    # The receipt is claimable at once, not at the due time.
    [row] = ledger.claim_held("w1", 10, 60, T0 + timedelta(hours=1))
    assert (row.id, row.status) == (cancelled, "cancelled")
    assert ledger.held_notified(cancelled, "w1", T0 + timedelta(hours=1))
    assert ledger.claim_held("w1", 10, 60, T0 + timedelta(hours=2)) == []


def test_a_message_being_released_is_not_cancelled(ledger: Ledger) -> None:
    ledger.hold(new())
    ledger.claim_held("w1", 10, 60, DUE)
    assert ledger.cancel_held("acme", "black-friday", DUE) == 0


def test_claims_given_back_are_claimable_at_once(ledger: Ledger) -> None:
    held_id = ledger.hold(new())
    ledger.claim_held("w1", 10, 60, DUE)
    assert ledger.held_give_back("w1") == 1
    assert [row.id for row in ledger.claim_held("w2", 10, 60, DUE)] == [held_id]


def test_listing_pages_by_id_and_filters_by_campaign(ledger: Ledger) -> None:
    ids = [ledger.hold(new(f"+3361234{i:04d}", message_id=f"m{i}",
                           campaign="a" if i % 2 else "b")) for i in range(5)]
    assert [info.id for info in ledger.list_held("acme", limit=2)] == ids[:2]
    assert [info.id for info in ledger.list_held("acme", after=ids[1], limit=2)] == ids[2:4]
    assert [info.id for info in ledger.list_held("acme", campaign="a")] == [ids[1], ids[3]]


def test_counts_say_where_the_messages_held_in_a_period_stand(ledger: Ledger) -> None:
    released, dropped, _ = (ledger.hold(new(f"+336123400{i:02d}", message_id=f"m{i}"))
                            for i in range(3))
    ledger.claim_held("w1", 10, 60, DUE)
    ledger.held_finish(released, "w1", "released", DUE)
    ledger.held_finish(dropped, "w1", "dropped", DUE, "opted_out")
    assert ledger.held_counts("acme", T0, T0 + timedelta(days=1)) == {
        "dropped": 1, "held": 1, "released": 1}
    assert ledger.held_counts("acme", DUE, DUE + timedelta(days=1)) == {}


def test_the_rows_survive_a_reopen(ledger: Ledger, reopen: Callable[[], Ledger]) -> None:
    held_id = ledger.hold(new())
    ledger.close()
    again = reopen()
    assert [row.id for row in again.claim_held("w1", 10, 60, DUE)] == [held_id]


def test_two_instances_claiming_at_once_never_get_the_same_row(
        ledger: Ledger, reopen: Callable[[], Ledger]) -> None:
    for i in range(120):
        ledger.hold(new(f"+3361{i:08d}", message_id=f"m{i}"))
    instances = [ledger, reopen()]
    everything = claim_concurrently(
        [lambda i: instances[i].claim_held(f"w{i}", 7, 60, DUE)] * 2)
    assert len(everything) == len(set(everything)) == 120


def test_hold_many_keeps_them_in_order_in_one_go_or_none_at_all(ledger: Ledger) -> None:
    ids = ledger.hold_many([new(ALICE, message_id="a"), new(BOB, message_id="b")])
    assert [info.id for info in ledger.list_held("acme")] == ids
    with pytest.raises(ValueError, match="needs an account, a number and a message id"):
        ledger.hold_many([new(ALICE, message_id="c"), new(BOB, message_id="")])
    assert ledger.count_held() == {"acme": 2}
