"""The PostgreSQL the tests use: the throwaway server and the per-test databases.

These run on a fresh machine as they run here: no STOPGATE_TEST_POSTGRES_DSN, no
PostgreSQL installed, perhaps as root (as CI runs) -- where the server must run as an
unprivileged user -- and they leave no process behind.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from tests.support.postgres import (
    DSN_ENV,
    UNPRIVILEGED_USER,
    ThrowawayPostgres,
    database_dsn,
    find_postgres_bin,
    fresh_database,
        server_processes,
    session_postgres,
)

REPO = Path(__file__).resolve().parents[2]


def uids(pid: int) -> list[int]:
    """Real, effective, saved and filesystem uid of a process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return [int(value) for value in line.split()[1:]]
    raise AssertionError(f"no Uid line for {pid}")


def scalar(dsn: str, query: str) -> object:
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        row = conn.execute(query).fetchone()
    assert row is not None
    return row[0]


def alive(pids: list[int]) -> list[int]:
    """Those of ``pids`` still running (zombies waiting to be reaped do not count)."""
    running = []
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if stat[stat.rindex(")") + 2:].split()[0] not in ("Z", "X", "x"):
            running.append(pid)
    return running


def gone(pids: list[int], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def running_server(pg: ThrowawayPostgres) -> list[int]:
    """The server's processes now: the postmaster and its children, at least the
    checkpointer and the other auxiliary processes."""
    pids = server_processes(pg.data_dir)
    assert pg.pid in pids
    assert len(pids) > 3, pids
    return pids


@pytest.fixture
def server() -> Iterator[ThrowawayPostgres]:
    pg = ThrowawayPostgres()
    try:
        yield pg
    finally:
        pg.close()


def test_without_the_variable_a_throwaway_server_starts_answers_and_goes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(DSN_ENV, raising=False)
    with session_postgres() as dsn:
        assert dsn.startswith("postgresql://postgres@127.0.0.1:")
        assert scalar(dsn, "SELECT 1") == 1
        data_dir = Path(str(scalar(dsn, "SELECT current_setting('data_directory')")))
        pids = server_processes(data_dir)
        assert len(pids) > 3, pids
    assert alive(pids) == []
    assert not data_dir.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(dsn, connect_timeout=2)


def test_the_variable_wins_when_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DSN_ENV, "postgresql://someone@127.0.0.1:1/scratch")
    with session_postgres() as dsn:
        assert dsn == "postgresql://someone@127.0.0.1:1/scratch"


def test_the_server_runs_unprivileged(server: ThrowawayPostgres) -> None:
    dsn = server.start()
    expected = (
        int(subprocess.check_output(["id", "-u", UNPRIVILEGED_USER]))
        if os.geteuid() == 0 else os.geteuid()
    )
    assert server.pid is not None
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert row is not None
        assert row[0] in server_processes(server.data_dir)
        for pid in (server.pid, row[0]):
            assert uids(pid) == [expected] * 4
    if os.geteuid() == 0:
        assert expected != 0
        assert server.user == UNPRIVILEGED_USER
    assert Path(f"/proc/{server.pid}/exe").resolve().name == "postgres"


def test_a_clean_restart_keeps_data_port_and_dsn(server: ThrowawayPostgres) -> None:
    dsn = server.start()
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE TABLE kept (n int)")
        conn.execute("INSERT INTO kept VALUES (1), (2)")
    first = running_server(server)
    assert server.restart() == dsn
    assert server.pid not in first
    assert alive(first) == []
    assert scalar(dsn, "SELECT sum(n) FROM kept") == 3


def test_kill_takes_every_server_process_and_start_recovers_committed_rows(
    server: ThrowawayPostgres,
) -> None:
    dsn = server.start()
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE TABLE kept (n int)")
        conn.execute("INSERT INTO kept VALUES (7)")
    # A client holding a backend open, and one mid-transaction: kill takes them too.
    idle = psycopg.connect(dsn)
    busy = psycopg.connect(dsn)
    busy.execute("INSERT INTO kept VALUES (1000)")  # never committed
    pids = running_server(server)
    server.kill()
    assert server.pid is None
    assert alive(pids) == []
    with pytest.raises(psycopg.OperationalError):
        idle.execute("SELECT 1")
    idle.close()
    busy.close()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(dsn, connect_timeout=2)
    assert server.start() == dsn  # crash recovery on the same data and port
    assert scalar(dsn, "SELECT array_agg(n) FROM kept") == [7]
    server.kill()
    server.start()
    assert scalar(dsn, "SELECT count(*) FROM kept") == 1


def test_stop_and_close_leave_nothing_behind(server: ThrowawayPostgres) -> None:
    dsn = server.start()
    conn = psycopg.connect(dsn)  # an open client must not hold the shutdown
    pids = running_server(server)
    server.stop()
    assert alive(pids) == []
    assert not (server.data_dir / "postmaster.pid").exists()
    conn.close()
    server.start()
    base = server.base_dir
    pids = running_server(server)
    server.close()
    assert alive(pids) == []
    assert not base.exists()
    server.close()  # idempotent


def test_the_server_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    script = (
        "import sys, time\n"
        "from tests.support.postgres import ThrowawayPostgres\n"
        "pg = ThrowawayPostgres()\n"
        "pg.start()\n"
        "from tests.support.postgres import _initialised_clusters as made\n"
        "print(pg.data_dir, pg.base_dir, *(p.parent for p in made.values()), flush=True)\n"
        "time.sleep(60)\n"
    )
    line: list[str] = []
    child = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE,
                             env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert child.stdout is not None
        line = child.stdout.readline().decode().split()
        pids = server_processes(line[0])
        assert len(pids) > 3, pids
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        assert gone(pids), f"left behind: {alive(pids)}"
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
        for path in line[1:]:
            shutil.rmtree(path, ignore_errors=True)


def test_binaries_the_server_user_cannot_reach_are_copied(server: ThrowawayPostgres) -> None:
    # A virtualenv under a root-only directory (root's home, say): `nobody` cannot
    # execute the wheel's binaries there, so they run from a world-readable copy.
    found = find_postgres_bin()
    private = Path(tempfile.mkdtemp(prefix="stopgate-private-"))  # mode 0700
    try:
        package = found.parent.parent
        shutil.copytree(found.parent, private / package.name / found.parent.name,
                        symlinks=True, ignore=shutil.ignore_patterns("include"))
        for libs in package.parent.glob(f"{package.name}.libs"):
            shutil.copytree(libs, private / libs.name, symlinks=True)
        given = private / package.name / found.parent.name / found.name
        pg = ThrowawayPostgres(bin_dir=given)
        try:
            dsn = pg.start()
            assert scalar(dsn, "SELECT 1") == 1
            assert pg.pid is not None
            exe = Path(f"/proc/{pg.pid}/exe").resolve()
            if os.geteuid() == 0:
                assert not exe.is_relative_to(private)
                assert exe.parent == pg.bin_dir
            else:
                assert exe.parent == given.resolve()
        finally:
            pg.close()
    finally:
        shutil.rmtree(private)


def test_postgresql_18_from_the_same_wheel(server: ThrowawayPostgres) -> None:
    pg18 = ThrowawayPostgres(major=18)
    try:
        dsn = pg18.start()
        assert int(str(scalar(dsn, "SHOW server_version_num"))) // 10000 == 18
    finally:
        pg18.close()
    assert int(str(scalar(server.start(), "SHOW server_version_num"))) // 10000 == 16


def test_each_fresh_database_is_empty_private_and_dropped(postgres_dsn: str) -> None:
    with fresh_database(postgres_dsn) as first, fresh_database(postgres_dsn) as second:
        assert first != second
        with psycopg.connect(first) as conn:
            conn.execute("CREATE TABLE mine (n int)")
            conn.execute("INSERT INTO mine VALUES (1)")
        assert scalar(second, "SELECT count(*) FROM pg_tables WHERE tablename = 'mine'") == 0
        assert scalar(first, "SELECT (datcollate, pg_encoding_to_char(encoding))::text "
                             "FROM pg_database WHERE datname = current_database()") == "(C,UTF8)"
        names = [str(scalar(dsn, "SELECT current_database()")) for dsn in (first, second)]
        # An open connection does not keep a database alive past its test.
        lingering = psycopg.connect(first)
    own = scalar(postgres_dsn, "SELECT current_database()")
    with psycopg.connect(postgres_dsn) as conn:
        left = conn.execute("SELECT datname FROM pg_database WHERE datname = ANY(%s)",
                            (names,)).fetchall()
    assert left == []
    assert scalar(postgres_dsn, "SELECT current_database()") == own
    lingering.close()


def test_the_per_test_database_fixture(postgres_db_dsn: str, postgres_dsn: str) -> None:
    name = str(scalar(postgres_db_dsn, "SELECT current_database()"))
    assert name.startswith("stopgate_test_")
    assert name != scalar(postgres_dsn, "SELECT current_database()")
    assert scalar(postgres_db_dsn, "SELECT count(*) FROM pg_tables "
                                   "WHERE schemaname = 'public'") == 0


def test_throwaway_postgres_fixture_is_a_started_server_of_its_own(
    throwaway_postgres: ThrowawayPostgres, postgres_dsn: str,
) -> None:
    assert throwaway_postgres.dsn != postgres_dsn
    throwaway_postgres.restart()
    assert scalar(throwaway_postgres.dsn, "SELECT 1") == 1
    assert scalar(postgres_dsn, "SELECT 1") == 1


@pytest.mark.parametrize(("dsn", "expected"), [
    ("postgresql://u@h:5/test", "postgresql://u@h:5/other"),
    ("postgresql://u@h1:5,h2:6/test?target_session_attrs=read-write",
     "postgresql://u@h1:5,h2:6/other?target_session_attrs=read-write"),
    ("postgres://h/", "postgres://h/other"),
])
def test_database_dsn_replaces_only_the_database(dsn: str, expected: str) -> None:
    assert database_dsn(dsn, "other") == expected


def test_database_dsn_of_a_keyword_dsn() -> None:
    replaced = database_dsn("host=h port=5 dbname=test sslmode=require", "other")
    assert conninfo_to_dict(replaced) == {
        "host": "h", "port": "5", "dbname": "other", "sslmode": "require"}
