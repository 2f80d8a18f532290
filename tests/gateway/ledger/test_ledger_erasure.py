"""Evidence and erasure in the ledger, on both backends: what each event records, a
number's history, and erasure replacing the number by its hash everywhere while its
opt-out stays in force."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from gateway.ledger.model import Ledger, OptEvent
from gateway.suppression.erasure import NumberHasher
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


def every_text(db: Raw) -> str:
    """Every value of every table that may hold a number, as one text."""
    parts = []
    for table in ("events", "suppressions", "tokens", "webhook_outbox", "erasures"):
        for row in db.rows(f"SELECT * FROM {table}"):
            parts.extend(bytes(v).decode() if isinstance(v, (bytes, memoryview)) else str(v)
                         for v in row)
    return "\n".join(parts)


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
    result = ledger.erase(ALICE, ALICE_H, "acme", source="api", api_key="acme:1a2b3c4d",
                          client_address="192.0.2.7", at=at(30))
    assert (result.events, result.suppressions, result.tokens, result.webhooks,
            result.scopes) == (1, 1, 1, 1, ("acme",))
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
