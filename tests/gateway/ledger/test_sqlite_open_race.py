"""Several processes opening one new SQLite ledger at the same moment (instances started
together on a shared file): none fails with "database is locked".

Both connections read the new file in rollback mode and both ask for the exclusive lock
that switching it to WAL needs; SQLite answers one of them SQLITE_BUSY at once, without
waiting for the busy timeout (it would deadlock). Before the fix, about one race in three
failed that way (CI saw it as a second instance refusing to start).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from gateway.ledger.sqlite import SqliteLedger, _wal


def _together(*calls: Callable[[], object]) -> list[object]:
    """Each call in its own thread, all released at one moment; what each returned or
    raised, in order."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[object] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = calls[index]()
        except BaseException as error:
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


def test_two_connections_switching_a_new_file_to_wal_at_once_both_get_wal(
        tmp_path: Path) -> None:
    for n in range(60):
        path = tmp_path / f"new-{n}.sqlite3"
        connections = [sqlite3.connect(path, timeout=5, isolation_level=None,
                                       check_same_thread=False) for _ in range(2)]
        try:
            outcomes = _together(*(partial(_wal, c, 5) for c in connections))
        finally:
            for connection in connections:
                connection.close()
        assert outcomes == ["wal", "wal"], (n, outcomes)


def test_three_ledgers_opened_on_one_new_file_at_once_all_open(tmp_path: Path) -> None:
    for n in range(10):
        path = tmp_path / f"shared-{n}.sqlite3"
        outcomes = _together(*[partial(SqliteLedger, path, busy_timeout=5)] * 3)
        opened = [o for o in outcomes if isinstance(o, SqliteLedger)]
        try:
            assert len(opened) == 3, (n, outcomes)
            assert all(ledger.health() for ledger in opened)
        finally:
            for ledger in opened:
                ledger.close()


def test_an_error_other_than_busy_is_not_retried(tmp_path: Path) -> None:
    connection = sqlite3.connect(tmp_path / "x.sqlite3", isolation_level=None)
    connection.close()
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        _wal(connection, 5)
