"""The opt-out review list in the ledger (schema step 5), on SQLite and PostgreSQL: rows
kept across a restart, a redelivered reply kept once, a decision taken once, an optout
decision recorded with its opt-out in one transaction, the summary the gauges show."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from gateway.ledger.model import Ledger, OptEvent, Review, ReviewSummary

ALICE = "+12025550143"
BOB = "+12025550177"
T0 = datetime(2026, 12, 7, 15, 30, tzinfo=UTC)


def review(number: str = ALICE, text: str = "not interested", scope: str = "acme",
           at: datetime = T0) -> Review:
    return Review(scope=scope, number=number, text=text, received_at=at,
                  deadline=at + timedelta(days=14), remind_at=at + timedelta(days=10),
                  number_called="36173", matched="phrase:en … not interested …")


def optout_of(row: Review) -> OptEvent:
    return OptEvent(number=row.number, scope=row.scope, event="optout", source="review",
                    keyword=f"review:{row.id} by cli:ops", number_called=row.number_called,
                    at=T0 + timedelta(days=1))


def test_a_review_is_kept_as_received_across_a_restart(
        ledger: Ledger, reopen: Callable[[], Ledger]) -> None:
    text = "Who is this?\nI never signed up 🙄"
    added, created = ledger.add_review(review(text=text))
    assert created and added.id is not None
    assert added.status == "pending" and added.decided_by is None
    again = reopen()
    [found] = again.reviews("acme")
    assert found == added
    assert found.text == text and found.received_at == T0
    assert found.deadline == T0 + timedelta(days=14)
    assert found.number_called == "36173"
    assert again.review(added.id) == added
    assert again.review(added.id + 1000) is None


def test_the_same_pending_reply_redelivered_is_one_row(ledger: Ledger) -> None:
    first, created = ledger.add_review(review())
    second, again = ledger.add_review(review(at=T0 + timedelta(seconds=30)))
    assert created and not again and second == first
    _, other = ledger.add_review(review(text="too many messages"))
    _, elsewhere = ledger.add_review(review(scope="beta"))
    assert other and elsewhere
    assert [r.text for r in ledger.reviews("acme")] == ["not interested", "too many messages"]
    assert len(ledger.reviews()) == 3


def test_optout_decision_records_the_optout_in_the_same_transaction(ledger: Ledger) -> None:
    row, _ = ledger.add_review(review())
    assert row.id is not None
    decided, event = ledger.decide_review(row.id, "optout", "api:acme", T0 + timedelta(days=1),
                                          optout_of)
    assert decided is not None and event is not None
    assert decided.status == "opted_out" and decided.decided_by == "api:acme"
    assert decided.decided_at == T0 + timedelta(days=1)
    assert event.changed and event.source == "review" and event.id is not None
    assert event.keyword == f"review:{row.id} by cli:ops"
    assert ledger.is_suppressed("acme", ALICE)
    assert ledger.webhook_backlog() == 1  # announced like any opt-out
    # The first decision stands: a second one changes nothing and records nothing.
    again, none = ledger.decide_review(row.id, "dismiss", "cli:bob", T0 + timedelta(days=2))
    assert again == decided and none is None
    assert ledger.reviews("acme", "pending") == []
    assert ledger.reviews("acme", "opted_out") == [decided]


def test_dismiss_records_nothing(ledger: Ledger) -> None:
    row, _ = ledger.add_review(review())
    assert row.id is not None
    decided, event = ledger.decide_review(row.id, "dismiss", "cli:ops", T0)
    assert decided is not None and decided.status == "dismissed" and event is None
    assert not ledger.is_suppressed("acme", ALICE)
    assert ledger.decide_review(row.id + 99, "dismiss", "cli:ops", T0) == (None, None)
    # A reply that comes again after a dismissal is a new review.
    _, created = ledger.add_review(review())
    assert created


def test_bad_calls_say_what_is_wrong(ledger: Ledger) -> None:
    row, _ = ledger.add_review(review())
    assert row.id is not None
    with pytest.raises(ValueError, match="decision must be 'optout' or 'dismiss', got 'stop'"):
        ledger.decide_review(row.id, "stop", "x", T0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="an optout decision needs the event to record"):
        ledger.decide_review(row.id, "optout", "x", T0)
    with pytest.raises(ValueError, match="timezone-aware"):
        ledger.add_review(review(at=datetime(2026, 12, 7)))
    with pytest.raises(ValueError, match="on the list already"):
        ledger.add_review(row)


def test_two_deciders_at_once_get_one_decision(ledger: Ledger,
                                               reopen: Callable[[], Ledger]) -> None:
    row, _ = ledger.add_review(review())
    assert row.id is not None
    review_id = row.id
    others = [reopen() for _ in range(4)]
    results: list[tuple[Review | None, OptEvent | None]] = []
    start = threading.Barrier(len(others))

    def decide(store: Ledger, who: int) -> None:
        start.wait(timeout=10)
        results.append(store.decide_review(review_id, "optout", f"cli:{who}", T0, optout_of))

    threads = [threading.Thread(target=decide, args=(store, i)) for i, store in enumerate(others)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sum(1 for _, event in results if event is not None) == 1
    assert len({found.decided_by for found, _ in results if found is not None}) == 1


def test_summary_counts_pending_the_earliest_deadline_and_those_due(ledger: Ledger) -> None:
    assert ledger.review_summary(T0) == ReviewSummary(0, None, 0)
    first, _ = ledger.add_review(review())
    ledger.add_review(review(number=BOB, at=T0 + timedelta(days=3)))
    assert ledger.review_summary(T0) == ReviewSummary(2, T0 + timedelta(days=14), 0)
    assert ledger.review_summary(T0 + timedelta(days=11)) == ReviewSummary(
        2, T0 + timedelta(days=14), 1)
    assert first.id is not None
    ledger.decide_review(first.id, "dismiss", "cli:ops", T0)
    assert ledger.review_summary(T0 + timedelta(days=11)) == ReviewSummary(
        1, T0 + timedelta(days=17), 0)
