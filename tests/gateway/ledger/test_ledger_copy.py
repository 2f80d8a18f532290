"""`stopgate ledger copy` (SQLite -> PostgreSQL) and `stopgate ledger migrate`: the real
commands, run as subprocesses, on real ledgers."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.ledger.held import NewHeld
from gateway.ledger.model import Ledger, OptEvent, Review
from gateway.ledger.postgres import PostgresLedger
from gateway.ledger.sqlite import SqliteLedger
from tests.support.ledgers import Raw, scratch_schema

REPO = Path(__file__).resolve().parents[3]
T0 = datetime(2026, 11, 23, 15, 4, 5, 123456, tzinfo=UTC)
ALICE, BOB, CAROL = "+33612345678", "+33698765432", "+33611111111"
DAVE = "+33644444444"
DAVE_H = "h:" + "d" * 64


def review(number: str, text: str) -> Review:
    return Review(scope="acme", number=number, text=text, received_at=T0,
                  deadline=T0 + timedelta(days=14), remind_at=T0 + timedelta(days=10),
                  number_called="36173", matched="phrase:en … not interested …")


def stopgate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway.cli.main", *args], cwd=REPO,
                          timeout=120, capture_output=True, text=True, check=False)


def event(number: str, kind: str = "optout", scope: str = "acme", minutes: int = 0,
          **fields: str) -> OptEvent:
    return OptEvent(number=number, scope=scope, event=kind,  # type: ignore[arg-type]
                    source="keyword", at=T0 + timedelta(minutes=minutes), notify=("acme",),
                    **fields)  # type: ignore[arg-type]


@pytest.fixture
def target(postgres_dsn: str) -> Iterator[str]:
    with scratch_schema(postgres_dsn) as url:
        yield url


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A SQLite ledger with a bit of everything, as a gateway leaves it."""
    path = tmp_path / "old.sqlite3"
    ledger = SqliteLedger(path)
    try:
        ledger.record([event(ALICE, keyword="STOP", campaign="bf", number_called="36173",
                             mo_text="Stop it", user_agent="Mozilla/5.0"),
                       event(BOB, minutes=1),
                       event(BOB, "optin", minutes=2, api_key="acme:1a2b3c4d",
                             client_address="192.0.2.7", consent_source="web_form"),
                       event(CAROL, scope="*", minutes=3)])
        ledger.record([event(ALICE, minutes=4)])  # a repeat: history, no delivery
        ledger.import_numbers("globex", [f"+3370000{i:04d}" for i in range(500)], at=T0)
        ledger.tokens_for("acme", [ALICE, BOB], "bf")
        ledger.meta_value("optout_secret", "the-secret-of-the-old-ledger")
        now = datetime.now(UTC)
        first, second = ledger.claim_webhooks("old-worker", 2, 30, now)
        ledger.webhook_done(first.id, 204, now)  # delivered: history, not copied
        ledger.webhook_retry(second.id, "old-worker", 503, now + timedelta(seconds=5))
        ledger.claim_webhooks("old-worker", 10, 30, now)  # claimed by a worker that is gone
        # A held message, claimed by a releaser that is gone.
        ledger.hold(NewHeld("acme", ALICE, "bf", "m1", T0, T0, T0 + timedelta(days=3), b"m"))
        ledger.claim_held("old-worker", 10, 60, T0)
        # The review list, one decided; an erasure (no webhook: nobody to tell).
        ledger.add_review(review(ALICE, "not interested"))
        decided, _ = ledger.add_review(review(BOB, "who is this?"))
        assert decided.id is not None
        ledger.decide_review(decided.id, "dismiss", "ops@acme", T0)
        ledger.record([OptEvent(number=DAVE, scope="globex", event="optout", source="api",
                                at=T0, notify=())])
        ledger.erase(DAVE, DAVE_H, None, source="cli", at=T0 + timedelta(minutes=9))
    finally:
        ledger.close()
    return path


def snapshot(ledger: Ledger) -> dict[str, object]:
    """What the gateway asks a ledger, to compare two of them."""
    day = (T0 - timedelta(days=1), T0 + timedelta(days=1))
    return {
        "export": list(ledger.export()),
        "scopes": {n: ledger.suppressed_scopes(n) for n in (ALICE, BOB, CAROL)},
        "reports": {by: ledger.report(None, *day, by)  # type: ignore[arg-type]
                    for by in ("campaign", "source", "reason", "day")},
        "tokens": ledger.tokens_for("acme", [ALICE, BOB]),
        "backlog": ledger.webhook_backlog(),
        "in_force": ledger.optout_in_force("acme", ALICE),
        "secret": ledger.meta_value("optout_secret", "a new one"),
        "reviews": ledger.reviews(),
        "history": ledger.history([ALICE, BOB, CAROL, DAVE_H], None),
        "held": ledger.held_counts("acme", T0 - timedelta(days=1), T0 + timedelta(days=1)),
    }


def test_copy_moves_a_sqlite_ledger_into_postgresql_whole(source: Path, target: str) -> None:
    result = stopgate("ledger", "copy", "--from", str(source), "--to", target)
    assert result.returncode == 0, result.stderr
    assert "506 events, 503 suppressions, 2 opt-out link tokens, 3 open webhook " \
           "deliveries, 1 held message, 1 erasure, 2 replies on the review list, 1 ledger " \
           "fact" in result.stdout
    old, new = SqliteLedger(source), PostgresLedger(target)
    try:
        assert snapshot(new) == snapshot(old)
        token = old.token_for("acme", ALICE)
        assert new.resolve_token(token) == old.resolve_token(token)
        raw_old, raw_new = Raw("sqlite", str(source)), Raw("postgresql", target)
        ids = "SELECT id, number, event, changed FROM events ORDER BY id"
        assert [(i, n, e, bool(c)) for i, n, e, c in raw_new.rows(ids)] == \
               [(i, n, e, bool(c)) for i, n, e, c in raw_old.rows(ids)]
        # The open deliveries, claims cleared, are due on the new ledger; the next event
        # is numbered after the copied ones.
        now = datetime.now(UTC) + timedelta(seconds=10)
        claimed = new.claim_webhooks("new-worker", 10, 30, now)
        # BOB's opt-in waits for his opt-out; CAROL's claim by the old worker is gone.
        assert [json.loads(row.payload)["unsubscribed_number"] for row in claimed] == [BOB,
                                                                                      CAROL]
        assert [row.attempts for row in claimed] == [2, 2]  # one before the copy, this one
        [held] = new.claim_held("new-worker", 10, 60, T0)  # the old claim is gone
        assert (held.number, held.message, held.expires_at) == (ALICE, b"m",
                                                                 T0 + timedelta(days=3))
        # The next held message is numbered after the copied ones.
        assert new.hold(NewHeld("acme", BOB, None, "m2", T0, T0, T0, b"m")) > held.id
        [late] = new.record([event("+33622222222")])
        assert late.id is not None and late.id > 506
        # The evidence columns came along (the history compares them), and so did the
        # erasure and the reviews; each table's next id follows the copied ones.
        history = snapshot(new)["history"]
        assert isinstance(history, list)
        assert [(r.event, r.stored) for r in history if r.stored == "erased"] == [
            ("optout", "erased"), ("erased", "erased")]
        assert {r.mo_text for r in history} >= {"Stop it"}
        assert [r.status for r in new.reviews()] == ["pending", "dismissed"]
        added, fresh = new.add_review(review(CAROL, "stop please?"))
        assert fresh and added.id == 3
    finally:
        old.close()
        new.close()


def test_copy_refuses_a_target_that_holds_data_and_leaves_it_alone(source: Path,
                                                                   target: str) -> None:
    ledger = PostgresLedger(target)
    try:
        ledger.record([event("+33633333333")])
    finally:
        ledger.close()
    result = stopgate("ledger", "copy", "--from", str(source), "--to", target)
    assert result.returncode == 1
    assert "is not empty (events, suppressions, webhook_outbox hold rows): copy only into " \
           "a new, empty PostgreSQL ledger" in result.stderr
    assert result.stdout == ""
    raw = Raw("postgresql", target)
    assert raw.rows("SELECT count(*) FROM events") == [(1,)]
    assert raw.rows("SELECT count(*) FROM tokens") == [(0,)]


def test_copying_twice_is_refused_the_second_time(source: Path, target: str) -> None:
    assert stopgate("ledger", "copy", "--from", str(source), "--to", target).returncode == 0
    again = stopgate("ledger", "copy", "--from", str(source), "--to", target)
    assert again.returncode == 1 and "is not empty" in again.stderr
    assert Raw("postgresql", target).rows("SELECT count(*) FROM events") == [(506,)]


@pytest.mark.parametrize(("args", "message"), [
    (["--from", "postgresql://db/x", "--to", "postgresql://db/y"],
     "--from must name a SQLite ledger"),
    (["--from", "old.sqlite3", "--to", "sqlite:///new.sqlite3"],
     "--to must be a postgresql:// URL"),
])
def test_copy_refuses_other_directions_clearly(args: list[str], message: str) -> None:
    result = stopgate("ledger", "copy", *args)
    assert result.returncode == 1 and message in result.stderr


def test_migrate_creates_then_finds_nothing_to_do(ledger_url: str, tmp_path: Path) -> None:
    config = tmp_path / "stopgate.toml"
    config.write_text(f'[server]\ndata_dir = "{tmp_path / "data"}"\n'
                      f'[storage]\nledger = "{ledger_url}"\n')
    first = stopgate("ledger", "migrate", "-c", str(config))
    assert first.returncode == 0, first.stderr
    assert first.stdout == ("ledger schema version 5 (usable by a stopgate that knows "
                            "version 2 or later): applied steps 1, 2, 3, 4, 5\n")
    again = stopgate("ledger", "migrate", "-c", str(config))
    assert again.stdout.endswith("): already up to date\n")
