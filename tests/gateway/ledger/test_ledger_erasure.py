"""Evidence and erasure in the ledger, on both backends: what each event records, a
number's history, and erasure replacing the number by its hash everywhere while its
opt-out stays in force."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from gateway.ledger.held import NewHeld
from gateway.ledger.model import ERASED_TEXT, Ledger, OptEvent, Review
from gateway.message import Message
from gateway.sendtime import stored
from gateway.suppression.erasure import NumberHasher
from smpp.pdu import SubmitSm
from tests.support.ledgers import Raw

ALICE = "+33612345678"
BOB = "+33698765432"
HASH = NumberHasher(b"k" * 32)
ALICE_H = HASH(ALICE)


def at(minute: int) -> datetime:
    return datetime(2026, 11, 23, 15, minute, tzinfo=UTC)


def stop(number: str = ALICE, scope: str = "acme", minute: int = 0, **more: object) -> OptEvent:
    return OptEvent(number=number, scope=scope, event="optout", source="keyword",
                    keyword="STOP", number_called="36173", campaign="black-friday",
                    mo_text="Stop texting me", at=at(minute), **more)  # type: ignore[arg-type]


#: Every table that may hold a number.
TABLES = ("events", "suppressions", "tokens", "webhook_outbox", "erasures", "optout_reviews",
          "held_messages")


def every_text(db: Raw) -> str:
    """Every value of every table that may hold a number, as one text; a held message's
    SMPP template is stored in hex, so that is decoded too."""
    parts = []
    for table in TABLES:
        for row in db.rows(f"SELECT * FROM {table}"):
            parts.extend(bytes(v).decode() if isinstance(v, (bytes, memoryview)) else str(v)
                         for v in row)
    for (message,) in db.rows("SELECT message FROM held_messages"):
        template = json.loads(bytes(message) or b"{}").get("template", "")
        parts.append(bytes.fromhex(template).decode("latin-1"))
    return "\n".join(parts)


def review(number: str = ALICE, scope: str = "acme",
           text: str = "not interested, I am Alice Martin") -> Review:
    return Review(scope=scope, number=number, text=text, received_at=at(1),
                  deadline=at(1) + timedelta(days=14), remind_at=at(1) + timedelta(days=10),
                  number_called="36173", matched="phrase:en … not interested …")


def held(number: str = ALICE, account: str = "acme", message_id: str = "m1") -> NewHeld:
    """A promotion held through quiet hours, due tomorrow, a receipt asked for."""
    pdu = SubmitSm(source_addr="ACME", destination_addr=number.removeprefix("+"),
                   registered_delivery=1, short_message=b"Winter sale")
    message = Message.from_pdu(account, pdu, None, 1.0)
    due = at(0) + timedelta(hours=10)
    return NewHeld(account, number, "black-friday", message_id, due, at(0),
                   due + timedelta(days=2), stored.dump(message), "FR quiet hours")


def test_every_event_keeps_its_evidence_and_the_history_lists_it(ledger: Ledger) -> None:
    ledger.record([stop()])
    ledger.record([OptEvent(number=ALICE, scope="acme", event="optin", source="api",
                            api_key="acme:1a2b3c4d", client_address="192.0.2.7",
                            consent_source="web_form", at=at(5))])
    ledger.record([OptEvent(number=ALICE, scope="acme", event="optout", source="link",
                            user_agent="Mozilla/5.0 (iPhone)", at=at(9))])
    ledger.record([stop(BOB)])
    ledger.record([stop(scope="globex", minute=1)])
    rows = ledger.history([ALICE], ["acme", "*"])
    assert [(r.event, r.source, r.stored) for r in rows] == [
        ("optout", "keyword", "clear"), ("optin", "api", "clear"), ("optout", "link", "clear")]
    first, again, link = rows
    assert (first.at, first.scope, first.keyword, first.mo_text, first.number_called,
            first.campaign, first.changed) == (at(0), "acme", "STOP", "Stop texting me",
                                               "36173", "black-friday", True)
    assert (again.api_key, again.client_address, again.consent_source) == (
        "acme:1a2b3c4d", "192.0.2.7", "web_form")
    assert link.user_agent == "Mozilla/5.0 (iPhone)"
    assert [r.scope for r in ledger.history([ALICE], None)] == ["acme", "globex", "acme",
                                                                "acme"]


def test_erasure_replaces_the_number_everywhere_and_keeps_the_opt_out(
        ledger: Ledger, db: Raw) -> None:
    ledger.record([stop(notify=("acme",))])
    ledger.set_reason(1, "other: my name is Alice Martin")
    token = ledger.token_for("acme", ALICE, "black-friday")
    ledger.record([stop(BOB)])
    ledger.add_review(review())
    ledger.add_review(review(BOB))
    ledger.hold(held())
    ledger.hold(held(BOB, message_id="m2"))
    assert ALICE.removeprefix("+") in every_text(db)  # the scan sees a held destination
    result = ledger.erase(ALICE, ALICE_H, "acme", source="api", api_key="acme:1a2b3c4d",
                          client_address="192.0.2.7", at=at(30))
    assert (result.events, result.suppressions, result.tokens, result.webhooks,
            result.reviews, result.held, result.scopes) == (1, 1, 1, 1, 1, 1, ("acme",))
    assert ALICE not in every_text(db) and ALICE.removeprefix("+") not in every_text(db)
    assert BOB in every_text(db)  # nobody else's records move
    assert ledger.is_suppressed("acme", ALICE_H) and not ledger.is_suppressed("acme", ALICE)
    assert ledger.resolve_token(token) == ("acme", ALICE_H, "black-friday")
    [payload] = [json.loads(bytes(p)) for (p,) in db.rows("SELECT payload FROM webhook_outbox")
                 if ALICE_H in bytes(p).decode()]
    assert payload["unsubscribed_number"] == ALICE_H
    rows = ledger.history([ALICE, ALICE_H], ["acme", "*"])
    assert [(r.event, r.stored) for r in rows] == [("optout", "erased"), ("erased", "erased")]
    kept, erased = rows
    # What stays: when, how, which keyword, which number was called, which campaign.
    # What goes: the recipient's own words (MO text, a free-text reason).
    assert (kept.keyword, kept.number_called, kept.campaign, kept.mo_text, kept.reason) == (
        "STOP", "36173", "black-friday", None, "other")
    assert (erased.at, erased.source, erased.api_key, erased.client_address) == (
        at(30), "api", "acme:1a2b3c4d", "192.0.2.7")
    # The review stays on the list, to be decided, under the hash and without the reply.
    [erased_review] = [r for r in ledger.reviews("acme") if r.number == ALICE_H]
    assert (erased_review.text, erased_review.matched, erased_review.number_called,
            erased_review.status) == (ERASED_TEXT, "phrase:en … not interested …", "36173",
                                      "pending")
    assert [r.text for r in ledger.reviews("acme") if r.number == BOB] == [
        "not interested, I am Alice Martin"]


def test_a_held_message_to_an_erased_number_is_due_at_once_to_be_dropped(
        ledger: Ledger) -> None:
    kept = ledger.hold(held(BOB, message_id="m2"))
    ledger.hold(held())
    ledger.hold(held(account="globex", message_id="m3"))
    result = ledger.erase(ALICE, ALICE_H, "acme", source="api", at=at(30))
    assert (result.found, result.held) == (True, 1)
    listed = {row.message_id: row for row in ledger.list_held("acme")}
    assert (listed["m1"].number, listed["m1"].reason) == (ALICE_H, "erased")
    assert (listed["m2"].number, listed["m2"].reason) == (BOB, "FR quiet hours")
    # Due since it was held (it can never be sent): a releaser drops it and sends its
    # failure receipt, which the part ids kept in the message are enough for.
    [row] = ledger.claim_held("w1", 10, 60, at(0))
    message = stored.load(row.message)
    assert (row.number, message.template.destination_addr, len(message.part_ids)) == (
        ALICE_H, "", 1)
    assert ledger.held_finish(row.id, "w1", "dropped", at(31), "erased")
    assert ledger.held_counts("acme", at(0), at(59)) == {"dropped": 1, "held": 1}
    assert [r.id for r in ledger.list_held("acme")] == [kept]
    # Another account's message to the number is that account's: untouched.
    assert [r.number for r in ledger.list_held("globex")] == [ALICE]
    assert ledger.erase(ALICE, ALICE_H, None, source="cli").held == 1
    assert [r.number for r in ledger.list_held("globex")] == [ALICE_H]


def test_a_number_only_on_the_review_list_or_held_is_found_and_erased(ledger: Ledger,
                                                                       db: Raw) -> None:
    ledger.add_review(review())
    assert ledger.erase(ALICE, ALICE_H, "acme", source="api").reviews == 1
    ledger.hold(held(BOB))
    assert ledger.erase(BOB, HASH(BOB), None, source="cli").held == 1
    assert db.rows("SELECT count(*) FROM erasures") == [(2,)]
    assert ALICE.removeprefix("+") not in every_text(db)
    assert BOB.removeprefix("+") not in every_text(db)


def test_an_account_erasure_leaves_other_scopes_and_an_operator_one_takes_all(
        ledger: Ledger, db: Raw) -> None:
    ledger.record([stop(), stop(scope="globex"), stop(scope="*")])
    result = ledger.erase(ALICE, ALICE_H, "acme", source="api")
    assert result.scopes == ("acme",)
    assert ledger.suppressed_scopes(ALICE) == ["*", "globex"]
    result = ledger.erase(ALICE, ALICE_H, None, source="cli")
    assert (result.events, result.scopes) == (2, ("*", "globex"))
    assert ledger.suppressed_scopes(ALICE) == []
    assert ledger.suppressed_scopes(ALICE_H) == ["*", "acme", "globex"]
    assert ALICE not in every_text(db)


def test_erasing_nothing_records_nothing_and_erasing_again_says_when(ledger: Ledger,
                                                                      db: Raw) -> None:
    assert not ledger.erase(ALICE, ALICE_H, "acme", source="api").found
    assert db.rows("SELECT count(*) FROM erasures") == [(0,)]
    ledger.record([stop()])
    ledger.erase(ALICE, ALICE_H, "acme", source="api", at=at(30))
    again = ledger.erase(ALICE, ALICE_H, "acme", source="api")
    assert again.found and again.erased_before == at(30) and again.events == 0
    assert db.rows("SELECT count(*) FROM erasures") == [(1,)]


def test_a_stop_after_erasure_is_kept_in_clear_and_a_second_erasure_merges_it(
        ledger: Ledger) -> None:
    ledger.record([stop()])
    ledger.erase(ALICE, ALICE_H, "acme", source="api")
    [again] = ledger.record([stop(minute=40)])
    assert again.changed  # the clear pair was not suppressed: a new opt-out, stored in clear
    result = ledger.erase(ALICE, ALICE_H, "acme", source="api")
    assert (result.events, result.suppressions) == (1, 1)
    assert ledger.suppressed_scopes(ALICE) == [] and ledger.suppressed_scopes(ALICE_H) == [
        "acme"]


def test_a_re_consent_lifts_the_opt_out_kept_under_the_hash(ledger: Ledger) -> None:
    ledger.record([stop()])
    ledger.erase(ALICE, ALICE_H, "acme", source="api")
    [event] = ledger.record([OptEvent(number=ALICE, scope="acme", event="optin",
                                      source="api", consent_source="web_form",
                                      aliases=(ALICE_H,))])
    assert event.changed
    assert ledger.suppressed_scopes(ALICE_H) == []
