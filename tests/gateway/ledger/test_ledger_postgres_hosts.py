"""Multi-host DSNs: `storage.ledger` names several PostgreSQL hosts, and the ledger lands on
the one that takes writes (libpq's target_session_attrs=read-write, which PostgresLedger
adds unless the URL says otherwise).

The read-only host is a throwaway server of this test's own with
default_transaction_read_only on: it accepts the connection, as a hot standby does, and
refuses every write."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from gateway.ledger.engines import open_ledger
from gateway.ledger.model import LedgerError, OptEvent
from tests.support.ledgers import scratch_schema
from tests.support.postgres import ThrowawayPostgres

NUMBER = "+33612000123"


def hosts_first(url: str, *first: str) -> str:
    """``url`` with ``first`` (host:port each) listed before its own host."""
    parts = urlsplit(url)
    user, _, host = parts.netloc.rpartition("@")
    netloc = ",".join([*first, host])
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc}" if user else netloc))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens there once closed


@pytest.fixture(scope="module")
def standby() -> Iterator[ThrowawayPostgres]:
    with ThrowawayPostgres(settings={"default_transaction_read_only": "on"}) as server:
        yield server


@pytest.fixture
def url(postgres_dsn: str) -> Iterator[str]:
    with scratch_schema(postgres_dsn) as scratch:
        yield scratch


def stop(number: str = NUMBER) -> OptEvent:
    return OptEvent(number=number, scope="acme", event="optout", source="keyword")


def test_the_standby_really_refuses_writes(standby: ThrowawayPostgres) -> None:
    with psycopg.connect(standby.dsn, autocommit=True) as conn, \
            pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        conn.execute("CREATE TABLE t (x int)")


def test_a_read_only_host_listed_first_is_passed_over_for_the_writable_one(
    standby: ThrowawayPostgres, url: str, tmp_path: Path
) -> None:
    multi = hosts_first(url, f"127.0.0.1:{standby.port}")
    ledger = open_ledger(multi, tmp_path)
    try:
        assert ledger.record([stop()])[0].changed
        assert ledger.is_suppressed("acme", NUMBER)
    finally:
        ledger.close()
    single = open_ledger(url, tmp_path)
    try:  # it was written where the writable host keeps it
        assert single.is_suppressed("acme", NUMBER)
    finally:
        single.close()


def test_an_unreachable_host_listed_first_is_skipped(url: str, tmp_path: Path) -> None:
    ledger = open_ledger(hosts_first(url, f"127.0.0.1:{closed_port()}"), tmp_path)
    try:
        assert ledger.record([stop("+33612000124")])[0].changed
    finally:
        ledger.close()


def test_asking_for_any_host_lands_on_the_read_only_one_and_says_so(
    standby: ThrowawayPostgres, url: str, tmp_path: Path
) -> None:
    """The counter-test: with target_session_attrs=any, the first host (read-only) is taken
    and the ledger cannot even create its schema there -- a clear error, not a hang."""
    multi = hosts_first(url, f"127.0.0.1:{standby.port}") + "&target_session_attrs=any"
    with pytest.raises(LedgerError, match="read-only"):
        open_ledger(multi, tmp_path).close()
