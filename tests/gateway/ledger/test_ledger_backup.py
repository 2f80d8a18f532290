"""`stopgate ledger backup FILE`: the real command on a ledger that is being written.

A thread records opt-outs and opt-ins into the ledger as a gateway does (its own
connection, every commit fsynced) while the command runs in a subprocess; the
copy must be one consistent snapshot: the events of the live ledger up to some
point, and exactly the suppression state those events make.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from gateway.ledger.model import DEFAULT_FILE, OptEvent
from gateway.ledger.sqlite import SqliteLedger

REPO = Path(__file__).resolve().parents[3]


def stopgate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway.cli.main", *args], cwd=REPO, timeout=60,
                          capture_output=True, text=True, check=False)


def config(tmp_path: Path, ledger: str = "") -> Path:
    path = tmp_path / "stopgate.toml"
    path.write_text(f'[server]\ndata_dir = "{tmp_path / "data"}"\n'
                    f'[storage]\nledger = "{ledger}"\n')
    return path


def number(n: int) -> str:
    return f"+336{n:08d}"


def events_for(n: int) -> list[OptEvent]:
    """An opt-out of acme, and every third number opts back in (its state changes twice)."""
    out = [OptEvent(number=number(n), scope="acme", event="optout", source="keyword",
                    keyword="STOP", notify=("acme",))]
    if n % 3 == 0:
        out.append(OptEvent(number=number(n), scope="acme", event="optin", source="keyword",
                            keyword="START", notify=("acme",)))
    return out


def state_from_events(db: sqlite3.Connection) -> set[tuple[str, str]]:
    """The (scope, number) pairs whose last state-changing event is an opt-out."""
    rows = db.execute("""
        SELECT scope, number FROM events AS e
        WHERE changed = 1 AND event = 'optout' AND id = (
            SELECT max(id) FROM events WHERE scope = e.scope AND number = e.number
                                         AND changed = 1)""")
    return set(rows)


@pytest.fixture
def ledger(tmp_path: Path) -> SqliteLedger:
    (tmp_path / "data").mkdir()
    return SqliteLedger(tmp_path / "data" / DEFAULT_FILE)


def test_backup_while_opt_outs_are_recorded_is_one_consistent_snapshot(
    tmp_path: Path, ledger: SqliteLedger
) -> None:
    for start in range(0, 600, 100):
        ledger.record([e for n in range(start, start + 100) for e in events_for(n)])
    writer = SqliteLedger(tmp_path / "data" / DEFAULT_FILE)  # a gateway's own connection
    stop = threading.Event()
    written = [0]

    def record_opt_outs() -> None:
        n = 600
        while not stop.is_set():
            writer.record(events_for(n))
            written[0] += 1
            n += 1

    thread = threading.Thread(target=record_opt_outs)
    thread.start()
    try:
        before = written[0]
        result = stopgate("ledger", "backup", str(tmp_path / "backup.sqlite3"),
                          "-c", str(config(tmp_path)))
        during = written[0] - before
    finally:
        stop.set()
        thread.join(30)
    assert result.returncode == 0, result.stderr
    assert during > 0, "the writer was blocked for the whole backup"
    backup = tmp_path / "backup.sqlite3"
    assert not backup.with_name("backup.sqlite3.partial").exists()
    assert not backup.with_name("backup.sqlite3-wal").exists()

    with sqlite3.connect(f"file:{backup}?mode=ro", uri=True) as copy, \
            sqlite3.connect(tmp_path / "data" / DEFAULT_FILE) as live:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        copied = copy.execute("SELECT * FROM events ORDER BY id").fetchall()
        live_events = live.execute("SELECT * FROM events ORDER BY id").fetchall()
        # A prefix of the live history, holding every event recorded before the backup...
        assert len(copied) >= 600 + 200 and copied == live_events[:len(copied)]
        assert len(live_events) > len(copied)  # ...and not those recorded after it
        # ...and exactly the state, outbox and tokens of that moment.
        suppressed = set(copy.execute("SELECT scope, number FROM suppressions"))
        assert suppressed == state_from_events(copy)
        outbox = copy.execute("SELECT count(*) FROM webhook_outbox").fetchone()[0]
        assert outbox == copy.execute("SELECT count(*) FROM events WHERE changed = 1"
                                      ).fetchone()[0]
        version = copy.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
    assert (f"schema version {version}, {len(copied):,} events, {len(suppressed):,} "
            f"suppressions") in result.stdout
    assert "integrity check ok" in result.stdout


def test_a_restored_backup_is_the_ledger_of_that_moment(
    tmp_path: Path, ledger: SqliteLedger
) -> None:
    ledger.record(events_for(1) + events_for(3))
    assert stopgate("ledger", "backup", str(tmp_path / "backup.sqlite3"),
                    "-c", str(config(tmp_path))).returncode == 0
    ledger.record(events_for(2))  # after the backup: not in it
    ledger.close()
    restored = tmp_path / "restored"
    restored.mkdir()
    shutil.copyfile(tmp_path / "backup.sqlite3", restored / DEFAULT_FILE)
    again = SqliteLedger(restored / DEFAULT_FILE)
    try:
        assert again.is_suppressed("acme", number(1))
        assert not again.is_suppressed("acme", number(3))  # opted back in before the backup
        assert not again.is_suppressed("acme", number(2))
        assert again.health()
    finally:
        again.close()


def test_the_summary_counts_in_words(tmp_path: Path, ledger: SqliteLedger) -> None:
    ledger.record(events_for(1))  # one opt-out: one event, one suppression
    result = stopgate("ledger", "backup", str(tmp_path / "one.sqlite3"),
                      "-c", str(config(tmp_path)))
    assert result.returncode == 0, result.stderr
    assert ": schema version " in result.stdout
    assert ", 1 event, 1 suppression, 0 opt-out link tokens, " in result.stdout
    assert result.stdout.rstrip().endswith("pending; integrity check ok")


def test_an_existing_file_is_never_overwritten(tmp_path: Path, ledger: SqliteLedger) -> None:
    target = tmp_path / "backup.sqlite3"
    target.write_text("last week's backup")
    result = stopgate("ledger", "backup", str(target), "-c", str(config(tmp_path)))
    assert result.returncode == 1
    assert result.stderr == (f"stopgate ledger backup: {target} exists: a backup never "
                             "overwrites; name a new file\n")
    assert target.read_text() == "last week's backup"


def test_no_ledger_yet_is_said_plainly(tmp_path: Path) -> None:
    result = stopgate("ledger", "backup", str(tmp_path / "b.sqlite3"),
                      "-c", str(config(tmp_path)))
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"stopgate ledger backup: no ledger at {tmp_path / 'data' / DEFAULT_FILE}: ")
    assert not (tmp_path / "data" / DEFAULT_FILE).exists()  # not created by looking
    assert not (tmp_path / "b.sqlite3").exists()


def test_a_postgresql_ledger_points_to_pg_dump(tmp_path: Path) -> None:
    result = stopgate("ledger", "backup", str(tmp_path / "b.sqlite3"),
                      "-c", str(config(tmp_path, "postgresql://stopgate@db/stopgate")))
    assert result.returncode == 1
    assert result.stderr == ("stopgate ledger backup: storage.ledger is a postgresql:// URL; "
                             "back a PostgreSQL ledger up with pg_dump (pg_dump "
                             "--format=custom --file=FILE URL) or your PostgreSQL backups\n")
