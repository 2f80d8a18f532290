"""The ledger's write health: real SQLite failures named, the probe, and recovery."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from gateway.ledger.health import LedgerHealth, fault_reason
from gateway.ledger.model import DEFAULT_FILE
from gateway.ledger.sqlite import SqliteLedger
from gateway.observability.metrics import Metrics


def failure_of(db: sqlite3.Connection, sql: str) -> sqlite3.Error:
    with pytest.raises(sqlite3.Error) as caught:
        db.execute(sql)
    return caught.value


def test_a_database_that_cannot_grow_is_named_disk_full(tmp_path: Path) -> None:
    with contextlib.closing(sqlite3.connect(tmp_path / "full.db")) as db:
        db.execute("CREATE TABLE t (x BLOB)")
        db.execute("PRAGMA max_page_count = 3")  # SQLite's own SQLITE_FULL
        error = failure_of(db, "INSERT INTO t VALUES (zeroblob(100000))")
    assert fault_reason(error) == "disk_full"


def test_a_lock_held_past_the_busy_timeout_is_named_locked(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as holder, \
            contextlib.closing(sqlite3.connect(path, timeout=0.05)) as writer:
        holder.execute("CREATE TABLE t (x)")
        holder.execute("BEGIN EXCLUSIVE")
        error = failure_of(writer, "INSERT INTO t VALUES (1)")
        holder.rollback()
    assert fault_reason(error) == "locked"


def test_a_read_only_ledger_is_named_read_only(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE t (x)")
        db.commit()
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        error = failure_of(db, "INSERT INTO t VALUES (1)")
    assert fault_reason(error) == "read_only"


async def test_health_goes_unwritable_with_its_reason_and_back_with_the_next_good_write(
    tmp_path: Path,
) -> None:
    ledger = SqliteLedger(tmp_path / DEFAULT_FILE, busy_timeout=0.05)
    metrics = Metrics()
    health = LedgerHealth(ledger.write_probe, metrics)
    sample = metrics.registry.get_sample_value
    try:
        assert await health.probe() and health.writable
        assert sample("stopgate_ledger_writable") == 1
        with contextlib.closing(sqlite3.connect(tmp_path / DEFAULT_FILE,
                                                isolation_level=None)) as holder:
            holder.execute("BEGIN EXCLUSIVE")
            assert not await health.probe()
            assert (health.writable, health.reason) == (False, "locked")
            assert sample("stopgate_ledger_writable") == 0
            assert sample("stopgate_ledger_write_failures_total", {"reason": "locked"}) == 1
            health.failed(ValueError("a caller's bug, not the disk"))
            assert health.reason == "locked"  # ignored: only storage faults count
            holder.rollback()
        assert await health.probe()
        assert (health.writable, health.reason) == (True, "")
        assert sample("stopgate_ledger_writable") == 1
    finally:
        ledger.close()
    assert not await health.probe()  # a closed ledger cannot record
    assert health.reason == "closed"
