"""Versioned schema migrations on both backends: fresh ledgers, ledgers from older code,
two instances migrating at once, and a rolling upgrade (an older instance beside a newer,
expanded schema; a contracted one refused by name)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from gateway.ledger.migrations import (
    POSTGRES_STEPS,
    SQLITE_STEPS,
    Schema,
    Step,
    migrate_postgres,
    migrate_sqlite,
)
from gateway.ledger.model import Ledger, LedgerError, OptEvent
from gateway.ledger.sqlite import SqliteLedger
from tests.support.ledgers import Raw

ALICE = "+33612345678"
BOB = "+33698765432"
KNOWN = len(SQLITE_STEPS)
#: (version, compatible_from) of every step this code knows.
#: The schema version a stopgate must know to use a ledger with every step applied.
NEEDS = max(step.compatible_from for step in SQLITE_STEPS)
ALL_APPLIED = [(step.version, step.compatible_from) for step in SQLITE_STEPS]


def optout(number: str = ALICE) -> OptEvent:
    return OptEvent(number=number, scope="acme", event="optout", source="keyword",
                    at=datetime(2026, 11, 23, tzinfo=UTC), notify=("acme",))


def steps_of(backend: str) -> tuple[Step, ...]:
    return SQLITE_STEPS if backend == "sqlite" else POSTGRES_STEPS


def migrate_as_newer_code(backend: str, url: str, steps: Sequence[Step]) -> Schema:
    """What a newer stopgate does at start: migrate with the steps it knows."""
    if backend == "sqlite":
        with closing(sqlite3.connect(url, isolation_level=None)) as conn:
            return migrate_sqlite(conn, "newer", steps)
    with psycopg.connect(url, autocommit=True) as pg:
        return migrate_postgres(pg, "newer", steps)


def applied_versions(db: Raw) -> list[tuple[int, int]]:
    return [(int(v), int(c)) for v, c in
            db.rows("SELECT version, compatible_from FROM schema_migrations ORDER BY version")]


#: An expand step: a nullable column older code neither reads nor writes.
EXPAND = Step(KNOWN + 1, "events: channel (expand)",
              ("ALTER TABLE events ADD COLUMN channel TEXT",), compatible_from=NEEDS)
#: A contract step: drops a column older code writes.
CONTRACT = Step(KNOWN + 2, "events: drop number_called (contract)",
                ("ALTER TABLE events DROP COLUMN number_called",), compatible_from=KNOWN + 2)


def test_a_fresh_ledger_gets_every_step_once(ledger: Ledger, db: Raw,
                                             reopen: Callable[[], Ledger]) -> None:
    assert ledger.schema == Schema(KNOWN, NEEDS, tuple(range(1, KNOWN + 1)))
    assert applied_versions(db) == ALL_APPLIED
    again = reopen()
    assert again.schema == Schema(KNOWN, NEEDS, ())
    assert applied_versions(db) == ALL_APPLIED


@pytest.mark.parametrize("old_version", [1, 2])
def test_a_sqlite_file_from_the_code_before_compatible_from_is_upgraded_in_place(
        tmp_path: Path, old_version: int) -> None:
    path = tmp_path / "ledger.sqlite3"
    with closing(sqlite3.connect(path)) as conn:  # the file as the previous code left it
        conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
                     "description TEXT NOT NULL, applied INTEGER NOT NULL)")
        for step in SQLITE_STEPS[:old_version]:
            for statement in step.statements:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations VALUES (?, ?, 0)",
                         (step.version, step.description))
        conn.execute("INSERT INTO events (at, scope, number, event, source, changed) "
                     "VALUES (0, 'acme', ?, 'optout', 'keyword', 1)", (ALICE,))
        conn.execute("INSERT INTO suppressions VALUES ('acme', ?, 0, 'keyword', NULL)",
                     (ALICE,))
        conn.commit()
    upgraded = SqliteLedger(path)
    try:
        assert upgraded.schema == Schema(KNOWN, NEEDS, tuple(range(old_version + 1, KNOWN + 1)))
        assert upgraded.is_suppressed("acme", ALICE)
        assert upgraded.report("acme", datetime(1970, 1, 1, tzinfo=UTC),
                               datetime(1970, 1, 2, tzinfo=UTC), "source") == [("keyword", 1, 0)]
        upgraded.record([optout(BOB)])
        assert upgraded.webhook_backlog() == 1
    finally:
        upgraded.close()
    assert applied_versions(Raw("sqlite", str(path))) == ALL_APPLIED


def test_two_instances_migrating_at_once_apply_each_step_once(backend: str, ledger_url: str,
                                                              db: Raw) -> None:
    # A slow extra step widens the window in which the second migrator would apply
    # steps the first one is applying, were it not waiting for the lock.
    sleep = "SELECT pg_sleep(0.3)" if backend == "postgresql" else \
        "CREATE TABLE pause AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 " \
        "FROM n WHERE i < 300000) SELECT count(*) AS c FROM n"
    steps = (*steps_of(backend), Step(KNOWN + 1, "slow expand", (sleep,), KNOWN))
    start = threading.Barrier(4)
    results: list[Schema] = []
    errors: list[BaseException] = []

    def migrator() -> None:
        start.wait(timeout=10)
        try:
            results.append(migrate_as_newer_code(backend, ledger_url, steps))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=migrator) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(len(result.applied) for result in results) == [0, 0, 0, KNOWN + 1]
    assert applied_versions(db) == [*ALL_APPLIED, (KNOWN + 1, KNOWN)]


def test_an_older_instance_keeps_working_beside_a_newer_expanded_schema(
        backend: str, ledger_url: str, ledger: Ledger, db: Raw,
        reopen: Callable[[], Ledger]) -> None:
    ledger.record([optout()])  # the older instance, running while the newer one migrates
    newer = migrate_as_newer_code(backend, ledger_url, (*steps_of(backend), EXPAND))
    assert newer == Schema(KNOWN + 1, NEEDS, (KNOWN + 1,))
    [event] = ledger.record([optout(BOB)])  # the running older instance, unaware
    assert event.changed and ledger.is_suppressed("acme", BOB)
    restarted = reopen()  # and an older instance (re)starting now is let in
    assert restarted.schema == Schema(KNOWN + 1, NEEDS, ())
    assert restarted.suppressed_scopes(ALICE) == ["acme"]
    assert [row[0] for row in db.rows("SELECT channel FROM events")] == [None, None]


def test_a_schema_contracted_past_this_code_is_refused_naming_the_versions(
        backend: str, ledger_url: str, ledger: Ledger, reopen: Callable[[], Ledger]) -> None:
    ledger.record([optout()])
    migrate_as_newer_code(backend, ledger_url, (*steps_of(backend), EXPAND, CONTRACT))
    with pytest.raises(LedgerError, match=(
            rf"schema is at version {KNOWN + 2} and needs a stopgate that knows schema "
            rf"version {KNOWN + 2} or later; this stopgate knows up to version {KNOWN}: "
            r"upgrade this instance")):
        reopen()


def test_steps_out_of_order_are_a_programming_error(tmp_path: Path) -> None:
    with closing(sqlite3.connect(tmp_path / "x.db", isolation_level=None)) as conn, \
            pytest.raises(ValueError, match=r"numbered 1, 2, \.\.\. in order, got \[1, 3\]"):
        migrate_sqlite(conn, "x", (SQLITE_STEPS[0], Step(3, "gap", (), 1)))
