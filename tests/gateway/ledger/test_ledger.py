"""The suppression ledger on both backends: events, derived state, imports, tokens.

Tests that take ``ledger`` run twice (conftest: a SQLite file, a PostgreSQL schema of
their own); those about SQLite itself (WAL, fsync, its file) take ``sqlite_ledger``.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import aclosing, closing
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

import gateway.ledger.sql
from gateway.ledger.engines import open_ledger
from gateway.ledger.model import (
    DEFAULT_FILE,
    ImportResult,
    Ledger,
    LedgerError,
    OptEvent,
    SuppressionRow,
    TokenInfo,
)
from gateway.ledger.postgres import PostgresLedger
from gateway.ledger.sqlite import SqliteLedger
from gateway.ledger.threaded import AsyncLedger
from tests.support.ledgers import Raw, claim_concurrently, scratch_schema

T0 = datetime(2026, 11, 23, 15, 4, 5, tzinfo=UTC)
ALICE = "+33612345678"
BOB = "+33698765432"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.sqlite3"


@pytest.fixture
def sqlite_ledger(path: Path) -> Iterator[SqliteLedger]:
    store = SqliteLedger(path)
    yield store
    store.close()


def optout(number: str = ALICE, scope: str = "acme", **fields: object) -> OptEvent:
    return OptEvent(number=number, scope=scope, event="optout",
                    source=fields.pop("source", "keyword"),  # type: ignore[arg-type]
                    at=fields.pop("at", T0), **fields)  # type: ignore[arg-type]


def optin(number: str = ALICE, scope: str = "acme") -> OptEvent:
    return OptEvent(number=number, scope=scope, event="optin", source="keyword",
                    keyword="START", at=T0 + timedelta(minutes=1))


def events_in(db: Raw) -> list[tuple[str, str, str, int]]:
    """(scope, number, event, changed) of every event row, read with a separate connection."""
    return [(scope, number, event, int(changed)) for scope, number, event, changed in
            db.rows("SELECT scope, number, event, changed FROM events ORDER BY id")]


def numbers(n: int, prefix: str = "+3361") -> list[str]:
    return [f"{prefix}{i:08d}" for i in range(n)]


# --- events and the derived state -----------------------------------------------------


def test_recorded_optout_suppresses_the_number_in_its_scope(ledger: Ledger) -> None:
    [event] = ledger.record([optout(campaign="black-friday", keyword="STOP",
                                    number_called="36173")])
    assert event.id is not None and event.changed and event.at == T0
    assert ledger.is_suppressed("acme", ALICE)
    assert not ledger.is_suppressed("acme", BOB)
    assert ledger.suppressed_scopes(ALICE) == ["acme"]
    assert ledger.count_suppressed() == ledger.count_suppressed("acme") == 1


def test_optin_after_optout_clears_the_state(ledger: Ledger, db: Raw) -> None:
    ledger.record([optout()])
    [event] = ledger.record([optin()])
    assert event.changed
    assert not ledger.is_suppressed("acme", ALICE)
    assert ledger.count_suppressed() == 0
    assert events_in(db) == [("acme", ALICE, "optout", 1), ("acme", ALICE, "optin", 1)]


def test_optin_of_a_number_never_opted_out_is_history_only(ledger: Ledger) -> None:
    [event] = ledger.record([optin()])
    assert not event.changed and event.id is not None
    assert ledger.count_suppressed() == 0


def test_events_of_one_call_apply_in_order(ledger: Ledger) -> None:
    recorded = ledger.record([optout(), optin(), optout(at=T0 + timedelta(minutes=2))])
    assert [e.changed for e in recorded] == [True, True, True]
    assert [e.id for e in recorded] == sorted(e.id for e in recorded if e.id is not None)
    assert ledger.is_suppressed("acme", ALICE)
    [row] = ledger.export()
    assert row.since == T0 + timedelta(minutes=2)


def test_scopes_are_independent(ledger: Ledger) -> None:
    ledger.record([optout(scope="acme"), optout(BOB, scope="*")])
    assert ledger.is_suppressed("acme", ALICE) and not ledger.is_suppressed("*", ALICE)
    assert ledger.is_suppressed("*", BOB) and not ledger.is_suppressed("acme", BOB)
    ledger.record([optout(scope="*")])
    assert ledger.suppressed_scopes(ALICE) == ["*", "acme"]
    ledger.record([optin(scope="acme")])  # re-consent to acme leaves the operator-wide opt-out
    assert ledger.suppressed_scopes(ALICE) == ["*"]
    assert ledger.count_suppressed("*") == 2 and ledger.count_suppressed("acme") == 0


def test_suppressions_of_a_number_say_since_when_and_by_what_in_each_scope(
        ledger: Ledger) -> None:
    ledger.record([optout(scope="acme", source="keyword"),
                   optout(scope="*", source="api", at=T0 + timedelta(hours=1)),
                   optout(BOB, scope="acme")])
    assert ledger.suppressions_of(ALICE) == [
        SuppressionRow(ALICE, "*", T0 + timedelta(hours=1), "api"),
        SuppressionRow(ALICE, "acme", T0, "keyword"),
    ]
    assert ledger.suppressions_of("+33700000000") == []


def test_duplicate_optout_keeps_one_state_row_and_both_events(ledger: Ledger,
                                                              db: Raw) -> None:
    first, again = ledger.record([optout(campaign="spring"),
                                  optout(campaign="summer", at=T0 + timedelta(hours=1))])
    assert first.changed and not again.changed
    assert ledger.count_suppressed() == 1
    assert events_in(db) == [("acme", ALICE, "optout", 1), ("acme", ALICE, "optout", 0)]
    [row] = ledger.export()
    assert row.since == T0  # the state keeps the opt-out that made it


def test_recorded_event_without_time_gets_the_time_of_recording(ledger: Ledger) -> None:
    before = datetime.now(UTC)
    [event] = ledger.record([OptEvent(number=ALICE, scope="acme", event="optout", source="api")])
    assert event.at is not None and before <= event.at <= datetime.now(UTC)


def test_times_in_other_zones_are_stored_as_utc(ledger: Ledger) -> None:
    paris = timezone(timedelta(hours=1))
    [event] = ledger.record([optout(at=datetime(2026, 11, 23, 16, 4, 5, tzinfo=paris))])
    assert event.at == T0 and event.at.tzinfo == UTC
    assert next(ledger.export()).since == T0


def test_malformed_events_are_refused_before_anything_is_written() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        OptEvent(number=ALICE, scope="acme", event="optout", source="api",
                 at=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="source must be one of"):
        OptEvent(number=ALICE, scope="acme", event="optout", source="sms")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="event must be one of"):
        OptEvent(number=ALICE, scope="acme", event="stop", source="api")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="scope is empty"):
        OptEvent(number=ALICE, scope="", event="optout", source="api")


def test_an_already_recorded_event_is_not_recorded_twice(ledger: Ledger) -> None:
    [event] = ledger.record([optout()])
    with pytest.raises(ValueError, match="recorded already"):
        ledger.record([event])


# --- durability -----------------------------------------------------------------------


def test_an_optout_is_durable_when_record_returns(ledger: Ledger,
                                                  reopen: Callable[[], Ledger]) -> None:
    ledger.record([optout()])
    reopened = reopen()  # a restart, while the first one was never closed
    assert reopened.is_suppressed("acme", ALICE)


def test_an_optout_survives_the_process_dying_right_after_record(path: Path) -> None:
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from gateway.ledger.model import OptEvent\n"
        "from gateway.ledger.sqlite import SqliteLedger\n"
        "ledger = SqliteLedger(Path(sys.argv[1]))\n"
        f"ledger.record([OptEvent(number={ALICE!r}, scope='acme', event='optout', "
        "source='keyword')])\n"
        "os._exit(0)  # no close, no checkpoint: the commit alone must carry it\n"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=True, timeout=60)
    restarted = SqliteLedger(path)
    try:
        assert restarted.is_suppressed("acme", ALICE)
    finally:
        restarted.close()


def test_the_file_is_in_wal_mode_with_full_sync(sqlite_ledger: SqliteLedger,
                                               path: Path) -> None:
    ledger = sqlite_ledger
    assert ledger.pragma("journal_mode") == "wal"
    assert ledger.pragma("synchronous") == 2  # FULL
    with closing(sqlite3.connect(path)) as other:  # WAL belongs to the file: seen by all
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_health_says_whether_the_ledger_can_write(ledger: Ledger) -> None:
    assert ledger.health()
    ledger.close()
    assert not ledger.health()
    with pytest.raises(LedgerError, match="is closed"):
        ledger.is_suppressed("acme", ALICE)


# --- the state in bulk: cache rebuild and export ----------------------------------------


def test_iter_suppressed_gives_every_pair_in_batches(ledger: Ledger) -> None:
    ledger.import_numbers("acme", numbers(20), at=T0)
    ledger.record([optout(ALICE, "*"), optout(BOB, "*")])
    batches = list(ledger.iter_suppressed(batch=10))
    assert [len(b) for b in batches] == [10, 10, 2]
    pairs = {pair for batch in batches for pair in batch}
    assert pairs == {("acme", n) for n in numbers(20)} | {("*", ALICE), ("*", BOB)}


def test_iter_suppressed_reads_one_snapshot(ledger: Ledger) -> None:
    ledger.import_numbers("acme", numbers(30), at=T0)
    batches = ledger.iter_suppressed(batch=10)
    first = next(batches)
    ledger.record([optout(ALICE), optin(numbers(30)[-1])])  # while the rebuild is half done
    rest = [pair for batch in batches for pair in batch]
    assert len(first) + len(rest) == 30
    assert ("acme", ALICE) not in rest and ("acme", numbers(30)[-1]) in rest
    assert ledger.count_suppressed() == 30  # 30 - 1 + 1, seen by everyone else


def test_export_gives_number_scope_since_and_source(ledger: Ledger) -> None:
    ledger.record([optout(BOB, "acme", source="link"), optout(ALICE, "*", source="api")])
    ledger.import_numbers("other", ["+33700000001"], at=T0 + timedelta(days=1))
    assert list(ledger.export()) == [
        SuppressionRow(ALICE, "*", T0, "api"),
        SuppressionRow(BOB, "acme", T0, "link"),
        SuppressionRow("+33700000001", "other", T0 + timedelta(days=1), "import"),
    ]
    assert [tuple(row) for row in ledger.export("acme")] == [(BOB, "acme", T0, "link")]
    assert list(ledger.export("nobody")) == []


# --- bulk import ----------------------------------------------------------------------


def test_import_is_idempotent(ledger: Ledger, db: Raw) -> None:
    batch = numbers(1_000)
    assert ledger.import_numbers("acme", batch, at=T0) == ImportResult(1_000, 0, 1_000)
    assert ledger.import_numbers("acme", batch, at=T0) == ImportResult(0, 1_000, 1_000)
    assert ledger.count_suppressed("acme") == 1_000
    assert len(events_in(db)) == 1_000  # the second import wrote nothing


def test_import_counts_existing_optouts_and_repeats_as_already(ledger: Ledger) -> None:
    batch = numbers(100)
    ledger.record([optout(batch[0]), optout(batch[1], scope="*")])
    result = ledger.import_numbers("acme", [*batch, batch[5], batch[5]], at=T0)
    # batch[0] was opted out by keyword; batch[1] only operator-wide (another scope)
    assert result == ImportResult(added=99, already=3, total=102)
    assert ledger.count_suppressed("acme") == 100
    [kept] = [row for row in ledger.export("acme") if row.number == batch[0]]
    assert kept.source == "keyword"  # the import does not overwrite how a number left


def test_import_spans_several_transactions_and_reports_progress(
        ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gateway.ledger.sql, "IMPORT_CHUNK", 400)  # both ledgers' chunk loop
    seen: list[ImportResult] = []
    result = ledger.import_numbers("acme", iter(numbers(1_000)), at=T0, progress=seen.append)
    assert [r.total for r in seen] == [400, 800, 1_000]
    assert seen[-1] == result == ImportResult(1_000, 0, 1_000)


def test_import_refuses_empty_numbers_before_writing_their_chunk(ledger: Ledger) -> None:
    with pytest.raises(ValueError, match="empty number"):
        ledger.import_numbers("acme", [ALICE, ""], at=T0)
    assert ledger.count_suppressed() == 0


def test_import_of_50000_numbers(ledger: Ledger, db: Raw, backend: str) -> None:
    batch = numbers(50_000)
    start = time.perf_counter()
    result = ledger.import_numbers("acme", batch, at=T0)
    elapsed = time.perf_counter() - start
    print(f"\nledger ({backend}): imported 50,000 numbers in {elapsed:.2f} s "
          f"({50_000 / elapsed:,.0f}/s; 1 M: bench/ledger_import_bench.py)")
    assert result.added == 50_000
    assert ledger.count_suppressed("acme") == 50_000
    assert len(events_in(db)) == 50_000  # one event per newly suppressed number


# --- opt-out link tokens --------------------------------------------------------------

TOKEN_SHAPE = re.compile(r"[A-Za-z0-9]{9}")  # 9 base62 characters = 53.6 bits (issue 12)


def test_a_token_is_unique_per_account_and_number(ledger: Ledger) -> None:
    token = ledger.token_for("acme", ALICE, "black-friday")
    assert TOKEN_SHAPE.fullmatch(token)
    assert ledger.token_for("acme", ALICE) == token
    assert ledger.token_for("acme", ALICE, "another-campaign") == token
    others = {ledger.token_for("acme", BOB), ledger.token_for("other", ALICE)}
    assert len(others | {token}) == 3
    assert ledger.resolve_token(token) == TokenInfo("acme", ALICE, "black-friday")


def test_tokens_are_stable_across_a_restart(ledger: Ledger,
                                            reopen: Callable[[], Ledger]) -> None:
    token = ledger.token_for("acme", ALICE)
    ledger.close()
    reopened = reopen()
    assert reopened.token_for("acme", ALICE) == token
    assert reopened.resolve_token(token) == TokenInfo("acme", ALICE, None)


def test_tokens_are_random_with_at_least_48_bits(ledger: Ledger) -> None:
    tokens = ledger.tokens_for("acme", numbers(2_000))
    assert len(set(tokens.values())) == 2_000
    assert all(TOKEN_SHAPE.fullmatch(t) for t in tokens.values())
    # The whole base62 alphabet shows up (random), and nothing else (issue 12: no "_"/"-").
    assert len(set("".join(tokens.values()))) == 62


def test_tokens_for_many_numbers_agree_with_token_for(ledger: Ledger) -> None:
    known = ledger.token_for("acme", ALICE)
    tokens = ledger.tokens_for("acme", [ALICE, BOB, BOB])
    assert tokens == {ALICE: known, BOB: ledger.token_for("acme", BOB)}


@pytest.mark.parametrize("token", ["", "short", "A" * 11, "A" * 13, "AAAAAAAAAAA=",
                                   "' OR 1=1 --x", "AAAAAAAAAAAA\n", "ÀAAAAAAAAAAA"])
def test_a_malformed_token_resolves_to_nothing(ledger: Ledger, token: str) -> None:
    ledger.token_for("acme", ALICE)
    assert ledger.resolve_token(token) is None


def test_an_unknown_token_resolves_to_nothing(ledger: Ledger) -> None:
    token = ledger.token_for("acme", ALICE)
    unknown = ("B" if token[0] != "B" else "C") + token[1:]
    assert ledger.resolve_token(unknown) is None


# --- AsyncLedger ----------------------------------------------------------------------


@pytest.fixture
async def async_ledger(ledger: Ledger) -> AsyncIterator[AsyncLedger]:
    store = AsyncLedger(ledger)
    yield store
    await store.aclose()


async def test_async_calls_run_off_the_loop_thread(async_ledger: AsyncLedger,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[int] = []
    real = async_ledger.ledger.is_suppressed

    def spy(scope: str, number: str) -> bool:
        threads.append(threading.get_ident())
        return real(scope, number)

    monkeypatch.setattr(async_ledger.ledger, "is_suppressed", spy)
    await async_ledger.record([optout()])
    assert await async_ledger.is_suppressed("acme", ALICE)
    await async_ledger.is_suppressed("acme", BOB)
    assert len(set(threads)) == 1 and threads[0] != threading.get_ident()


async def test_async_calls_run_in_the_order_they_were_made(async_ledger: AsyncLedger) -> None:
    flips = [optout(at=T0 + timedelta(seconds=i)) if i % 2 == 0 else
             OptEvent(number=ALICE, scope="acme", event="optin", source="api",
                      at=T0 + timedelta(seconds=i)) for i in range(21)]
    results = await asyncio.gather(*(async_ledger.record([event]) for event in flips))
    ids = [result[0].id for result in results]
    assert ids == sorted(ids)  # type: ignore[type-var]
    assert all(result[0].changed for result in results)  # each flip found the state it expected
    assert await async_ledger.is_suppressed("acme", ALICE)  # the last one was an opt-out


async def test_async_import_rebuild_export_and_tokens(async_ledger: AsyncLedger,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import gateway.ledger.threaded as ledger_module

    monkeypatch.setattr(ledger_module, "IMPORT_CHUNK", 300)

    async def streamed() -> AsyncIterator[str]:
        for number in numbers(1_000):
            yield number

    seen: list[int] = []
    result = await async_ledger.import_numbers("acme", streamed(), at=T0,
                                               progress=lambda r: seen.append(r.total))
    assert result == ImportResult(1_000, 0, 1_000) and seen == [300, 600, 900, 1_000]
    assert await async_ledger.count_suppressed("acme") == 1_000
    pairs = [pair async for batch in async_ledger.iter_suppressed(batch=400) for pair in batch]
    assert len(pairs) == 1_000
    rows = [row async for row in async_ledger.export("acme")]
    assert len(rows) == 1_000 and rows[0] == SuppressionRow(numbers(1)[0], "acme", T0, "import")
    token = await async_ledger.token_for("acme", ALICE, "spring")
    assert await async_ledger.tokens_for("acme", [ALICE]) == {ALICE: token}
    assert await async_ledger.resolve_token(token) == TokenInfo("acme", ALICE, "spring")
    assert await async_ledger.suppressed_scopes(numbers(1)[0]) == ["acme"]
    assert await async_ledger.health()


def wal_fully_checkpointed(path: Path) -> bool:
    """Whether a checkpoint can copy the whole WAL back (no snapshot holds old pages)."""
    with closing(sqlite3.connect(path)) as conn:
        _busy, log, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return bool(log == done)


async def test_a_rebuild_stopped_half_way_lets_its_snapshot_go(path: Path) -> None:
    async_ledger = AsyncLedger(SqliteLedger(path))
    try:
        await _stop_a_rebuild_half_way(async_ledger, path)
    finally:
        await async_ledger.aclose()


async def _stop_a_rebuild_half_way(async_ledger: AsyncLedger, path: Path) -> None:
    await async_ledger.import_numbers("acme", numbers(50), at=T0)
    async with aclosing(async_ledger.iter_suppressed(batch=10)) as batches:
        async for _batch in batches:
            await async_ledger.record([optout()])  # written after the snapshot was taken
            assert not wal_fully_checkpointed(path)  # the snapshot still needs the old pages
            break
    assert wal_fully_checkpointed(path)
    assert await async_ledger.count_suppressed() == 51


# --- choosing the ledger from the configuration ----------------------------------------


def test_empty_ledger_setting_is_sqlite_under_data_dir(tmp_path: Path) -> None:
    ledger = open_ledger("", tmp_path / "data")
    try:
        assert isinstance(ledger, SqliteLedger)
        assert ledger.path == tmp_path / "data" / DEFAULT_FILE and ledger.path.exists()
    finally:
        ledger.close()


@pytest.mark.parametrize("form", ["sqlite://{}", "{}"])
def test_sqlite_url_or_path_names_the_file(tmp_path: Path, form: str) -> None:
    target = tmp_path / "elsewhere" / "stop.db"
    ledger = open_ledger(form.format(target), tmp_path / "data")
    try:
        assert isinstance(ledger, SqliteLedger) and ledger.path == target
    finally:
        ledger.close()
    assert not (tmp_path / "data").exists()


def test_a_postgresql_url_opens_the_postgresql_ledger(postgres_dsn: str, tmp_path: Path) -> None:
    with scratch_schema(postgres_dsn) as dsn:
        ledger = open_ledger(dsn, tmp_path / "data", busy_timeout=2.5)
        try:
            assert isinstance(ledger, PostgresLedger) and ledger.busy_timeout == 2.5
            assert ledger.health()
        finally:
            ledger.close()
    assert not (tmp_path / "data").exists()


def test_an_unreachable_postgresql_is_named_without_its_password(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://stopgate:s3cret@127.0.0.1:{port}/stopgate"
    with pytest.raises(LedgerError, match=rf"cannot connect to the ledger .*port={port}") as err:
        open_ledger(url, tmp_path)
    assert "s3cret" not in str(err.value)


def test_an_unknown_ledger_url_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match=r"storage.ledger.*'mysql://'"):
        open_ledger("mysql://db/x", tmp_path)


def test_an_unopenable_ledger_file_is_named_in_the_error(tmp_path: Path) -> None:
    (tmp_path / "not-a-dir").write_text("")
    with pytest.raises(LedgerError, match=r"cannot open the ledger .*not-a-dir"):
        SqliteLedger(tmp_path / "not-a-dir" / "ledger.sqlite3")


# --- webhook outbox (schema version 2) ----------------------------------------------------


def outbox_in(db: Raw) -> list[tuple[int, str, str, bytes]]:
    """(event_id, account, number, payload) of every outbox row, by id."""
    return [(event_id, account, number, bytes(payload)) for event_id, account, number, payload
            in db.rows("SELECT event_id, account, number, payload FROM webhook_outbox "
                       "ORDER BY id")]


def test_an_optout_writes_its_webhook_payload_with_the_event(ledger: Ledger,
                                                             db: Raw) -> None:
    event = ledger.record([optout(campaign="bf", keyword="STOP", number_called="36173")])[0]
    [(event_id, account, number, payload)] = outbox_in(db)
    assert (event_id, account, number) == (event.id, "acme", ALICE)
    assert json.loads(payload) == {
        "timestamp": "2026-11-23T15:04:05Z", "unsubscribed_number": ALICE,
        "source": "keyword", "event": "optout", "account": "acme", "campaign": "bf",
        "keyword": "STOP", "reason": None, "number_called": "36173"}


def test_only_state_changes_are_announced(ledger: Ledger, db: Raw) -> None:
    ledger.record([optout(), optout(), optin(), optin()])  # a redelivered STOP, START
    assert [json.loads(row[3])["event"] for row in outbox_in(db)] == ["optout", "optin"]


def test_operator_wide_events_announce_to_the_accounts_named(ledger: Ledger,
                                                             db: Raw) -> None:
    ledger.record([optout(scope="*")])  # nobody by default: the ledger knows no accounts
    ledger.record([optout(BOB, scope="*", notify=("acme", "globex"))])
    rows = outbox_in(db)
    assert [(account, number) for _, account, number, _ in rows] == [("acme", BOB),
                                                                    ("globex", BOB)]
    assert [json.loads(row[3])["account"] for row in rows] == ["acme", "globex"]


def test_a_failing_record_writes_neither_event_nor_outbox_row(ledger: Ledger,
                                                              db: Raw) -> None:
    if db.postgres:
        db.execute("CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN RAISE EXCEPTION 'outbox refused'; END $$")
        db.execute("CREATE TRIGGER no_outbox BEFORE INSERT ON webhook_outbox "
                   "FOR EACH ROW EXECUTE FUNCTION refuse()")
    else:
        db.execute("CREATE TRIGGER no_outbox BEFORE INSERT ON webhook_outbox "
                   "BEGIN SELECT RAISE(ABORT, 'outbox refused'); END")
    with pytest.raises((sqlite3.Error, LedgerError), match="outbox refused"):
        ledger.record([optout()])
    assert events_in(db) == [] and outbox_in(db) == []
    assert not ledger.is_suppressed("acme", ALICE)


def test_claims_are_exclusive_leased_and_in_order_per_number(ledger: Ledger,
                                                             db: Raw) -> None:
    ledger.record([optout(ALICE), optout(BOB), optin(ALICE)])
    now = datetime.now(UTC)
    first = ledger.claim_webhooks("w1", 10, 30, now)
    # ALICE's opt-in waits for her opt-out; nothing is claimed twice.
    assert [(row.account, json.loads(row.payload)["unsubscribed_number"]) for row in first] == [
        ("acme", ALICE), ("acme", BOB)]
    assert all(row.attempts == 1 for row in first)
    assert ledger.claim_webhooks("w2", 10, 30, now) == []
    # A failed attempt is due again at its next_attempt, and only the holder may retry it.
    ledger.webhook_retry(first[0].id, "w2", 500, now)  # not w2's claim: ignored
    assert ledger.claim_webhooks("w2", 10, 30, now) == []
    ledger.webhook_retry(first[0].id, "w1", 500, now + timedelta(seconds=5))
    assert ledger.claim_webhooks("w2", 10, 30, now) == []
    again = ledger.claim_webhooks("w2", 10, 30, now + timedelta(seconds=5))
    assert [(row.id, row.attempts) for row in again] == [(first[0].id, 2)]
    # An expired lease (a dead worker) is claimed again.
    later = now + timedelta(seconds=31)
    assert [row.id for row in ledger.claim_webhooks("w3", 10, 30, later)] == [first[1].id]
    ledger.webhook_done(again[0].id, 204, later)
    [optin_row] = ledger.claim_webhooks("w3", 10, 30, later)
    assert json.loads(optin_row.payload)["event"] == "optin"
    ledger.webhook_give_up(optin_row.id, "w3", None, later)
    assert ledger.webhook_backlog() == 1  # BOB's, claimed by w3
    assert ledger.webhook_release("w3") == 1
    assert [row.id for row in ledger.claim_webhooks("w4", 10, 30, later)] == [first[1].id]


def test_two_instances_claiming_at_once_never_get_the_same_delivery(
        ledger: Ledger, reopen: Callable[[], Ledger]) -> None:
    ledger.record([optout(f"+3361{i:08d}", notify=("acme",)) for i in range(200)])
    instances = [ledger, reopen()]
    now = datetime.now(UTC)
    everything = claim_concurrently(
        [lambda i: instances[i].claim_webhooks(f"w{i}", 7, 30, now)] * 2)
    assert len(everything) == len(set(everything)) == 200


# --- reasons after the fact, and the opt-out in force --------------------------------------


def reasons_in(db: Raw, number: str = ALICE) -> list[tuple[str, int, str | None]]:
    """(scope, changed, reason) of every event of ``number``, by id."""
    return [(scope, int(changed), reason) for scope, changed, reason in
            db.rows("SELECT scope, changed, reason FROM events WHERE number = ? ORDER BY id",
                    number)]


def test_the_optout_in_force_is_the_latest_state_change_of_a_suppressed_pair(
        ledger: Ledger) -> None:
    assert ledger.optout_in_force("acme", ALICE) is None
    first = ledger.record([optout(keyword="STOP", number_called="36173")])[0]
    ledger.record([optout(source="link")])  # a repeat: not what put it there
    found = ledger.optout_in_force("acme", ALICE)
    assert found is not None
    assert (found.id, found.source, found.keyword, found.number_called, found.changed,
            found.at) == (first.id, "keyword", "STOP", "36173", True, T0)
    assert ledger.optout_in_force("globex", ALICE) is None  # scopes are independent
    ledger.record([optin()])
    assert ledger.optout_in_force("acme", ALICE) is None
    ledger.import_numbers("acme", [ALICE], source="import", at=T0 + timedelta(hours=1))
    found = ledger.optout_in_force("acme", ALICE)
    assert found is not None and found.source == "import" and found.keyword is None


def test_a_reason_on_a_repeat_goes_to_the_optout_in_force_and_its_open_webhook(
        ledger: Ledger, db: Raw) -> None:
    stop = ledger.record([optout(keyword="STOP", number_called="36173",
                                 notify=("acme",))])[0]
    other = ledger.record([optout(BOB, keyword="STOP", notify=("acme",))])[0]
    repeat = ledger.record([optout(source="link", campaign="bf")])[0]
    assert stop.changed and not repeat.changed
    assert repeat.id is not None and stop.id is not None and other.id is not None
    assert ledger.set_reason(repeat.id, "too_many")
    assert reasons_in(db) == [("acme", 1, "too_many"), ("acme", 0, "too_many")]
    assert reasons_in(db, BOB) == [("acme", 1, None)]  # another number: untouched
    # The STOP's webhook, not sent yet, now says why; BOB's does not.
    payloads = {event_id: json.loads(body) for event_id, _, _, body in outbox_in(db)}
    assert payloads[stop.id]["reason"] == "too_many"
    assert payloads[stop.id]["keyword"] == "STOP" and payloads[stop.id]["source"] == "keyword"
    assert payloads[stop.id]["timestamp"] == "2026-11-23T15:04:05Z"
    assert payloads[other.id]["reason"] is None
    assert ledger.report("acme", T0, T0 + timedelta(days=1), "reason") == [
        (None, 1, 0), ("too_many", 1, 0)]


def test_a_later_reason_does_not_replace_the_first_one(ledger: Ledger,
                                                       db: Raw) -> None:
    ledger.record([optout(keyword="STOP")])
    first = ledger.record([optout(source="link")])[0]
    second = ledger.record([optout(source="link")])[0]
    assert first.id is not None and second.id is not None
    assert ledger.set_reason(first.id, "never_subscribed")
    assert ledger.set_reason(second.id, "other: whatever")
    assert reasons_in(db) == [("acme", 1, "never_subscribed"),
                                     ("acme", 0, "never_subscribed"),
                                     ("acme", 0, "other: whatever")]


def test_a_reason_leaves_delivered_webhooks_and_lifted_optouts_alone(
        ledger: Ledger, db: Raw) -> None:
    stop = ledger.record([optout(keyword="STOP")])[0]
    now = datetime.now(UTC)
    [row] = ledger.claim_webhooks("w1", 10, 30, now)
    ledger.webhook_done(row.id, 204, now)
    repeat = ledger.record([optout(source="link")])[0]
    assert repeat.id is not None
    assert ledger.set_reason(repeat.id, "too_many")
    assert json.loads(outbox_in(db)[0][3])["reason"] is None  # as it was sent
    assert reasons_in(db)[0] == ("acme", 1, "too_many")
    # A repeat whose opt-out was lifted since: the reason stays on the repeat alone.
    late = ledger.record([optout(BOB), optout(BOB, source="link"), optin(BOB)])[1]
    assert late.id is not None and ledger.set_reason(late.id, "too_many")
    assert reasons_in(db, BOB) == [("acme", 1, None), ("acme", 0, "too_many"),
                                          ("acme", 1, None)]
    assert stop.id is not None and not ledger.set_reason(stop.id + 100, "too_many")
    assert not ledger.set_reason(late.id + 1, "too_many")  # an opt-in takes no reason


def test_a_reason_on_the_optout_itself_reaches_its_open_webhook(ledger: Ledger,
                                                                db: Raw) -> None:
    link = ledger.record([optout(source="link", campaign="bf")])[0]
    assert link.id is not None and ledger.set_reason(link.id, "not_relevant")
    [(_, _, _, body)] = outbox_in(db)
    assert json.loads(body) == {
        "timestamp": "2026-11-23T15:04:05Z", "unsubscribed_number": ALICE,
        "source": "link", "event": "optout", "account": "acme", "campaign": "bf",
        "keyword": None, "reason": "not_relevant", "number_called": None}


def test_new_tokens_are_base62_the_same_octets_in_gsm_ascii_and_latin1(
    ledger: Ledger,
) -> None:
    from smpp.gsm import encode_gsm

    tokens = ledger.tokens_for("acme", [f"+3361234{i:04d}" for i in range(500)])
    assert len(set(tokens.values())) == 500
    for token in tokens.values():
        assert TOKEN_SHAPE.fullmatch(token)
        assert encode_gsm(token) == token.encode("ascii") == token.encode("latin-1")


def test_tokens_of_links_already_sent_keep_resolving(ledger: Ledger, db: Raw) -> None:
    old = "Ab_9-xY_z0-Q"  # the 12 base64url characters tokens had before issue 12
    db.execute(f"INSERT INTO tokens VALUES (?, ?, ?, ?, {db.epoch})", old, "acme", ALICE,
               "spring")
    assert ledger.resolve_token(old) == TokenInfo("acme", ALICE, "spring")
    assert ledger.token_for("acme", ALICE) == old  # the recipient keeps their link
    for malformed in ("Ab_9-xY_z", "Ab_9-xY_z0-Q0", "AbC123xy!"):
        assert ledger.resolve_token(malformed) is None
