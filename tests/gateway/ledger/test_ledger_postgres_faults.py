"""The PostgreSQL ledger when PostgreSQL goes away and comes back: every call fails with a
LedgerError the callers handle (health says ``unreachable``), and the next call after the
server is reachable again works, on the same ledger object (no gateway restart).

The server is the test PostgreSQL, reached through a TCP relay the test cuts: for the
ledger, its connection dies and new ones are refused, as when the server restarts."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from gateway.ledger.health import LedgerHealth, fault_reason
from gateway.ledger.model import LedgerError, OptEvent
from gateway.ledger.postgres import PostgresLedger
from gateway.observability.metrics import Metrics
from tests.support.ledgers import CuttableLink, Raw, scratch_schema

ALICE, BOB = "+33612345678", "+33698765432"


def optout(number: str) -> OptEvent:
    return OptEvent(number=number, scope="acme", event="optout", source="keyword")


@pytest.fixture
def url(postgres_dsn: str) -> Iterator[str]:
    with scratch_schema(postgres_dsn) as scratch:
        yield scratch


@pytest.fixture
def link(url: str) -> Iterator[CuttableLink]:
    params = conninfo_to_dict(url)
    with CuttableLink(params.get("host") or "127.0.0.1", int(params.get("port") or 5432)) as relay:
        yield relay


@pytest.fixture
def ledger(url: str, link: CuttableLink) -> Iterator[PostgresLedger]:
    store = PostgresLedger(make_conninfo(url, host="127.0.0.1", port=str(link.port)),
                           busy_timeout=2.0)
    yield store
    store.close()


async def test_a_lost_server_fails_calls_clearly_and_is_used_again_once_back(
        ledger: PostgresLedger, link: CuttableLink, url: str) -> None:
    health = LedgerHealth(ledger.write_probe, Metrics())
    ledger.record([optout(ALICE)])
    assert await health.probe()
    link.cut()
    with pytest.raises(LedgerError) as failed:
        ledger.record([optout(BOB)])  # the STOP path: not acknowledged, the carrier retries
    assert fault_reason(failed.value) == "unreachable"
    with pytest.raises(LedgerError):
        ledger.is_suppressed("acme", ALICE)
    assert not await health.probe()
    assert (health.writable, health.reason) == (False, "unreachable")
    assert not ledger.health()

    link.restore()
    [again] = ledger.record([optout(BOB)])  # the carrier's retry
    assert again.changed and ledger.is_suppressed("acme", BOB)
    assert await health.probe() and health.writable
    # Recorded once: the failed attempt left nothing behind.
    assert Raw("postgresql", url).rows("SELECT number FROM events ORDER BY id") == [(ALICE,),
                                                                                     (BOB,)]


def test_a_connection_the_server_ended_is_replaced_without_failing_the_call(
        ledger: PostgresLedger, url: str) -> None:
    ledger.record([optout(ALICE)])
    assert ledger._db is not None
    pid = ledger._db.info.backend_pid
    with psycopg.connect(url, autocommit=True) as admin:  # as a server restart does
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    [event] = ledger.record([optout(BOB)])  # BEGIN finds it dead: retried on a new one
    assert event.changed
    assert ledger._db is not None and ledger._db.info.backend_pid != pid
    assert ledger.suppressed_scopes(ALICE) == ["acme"]


async def test_a_probe_connection_the_server_ended_is_replaced_without_failing_the_probe(
        ledger: PostgresLedger, url: str) -> None:
    """A server restarted between two probes ended the probe's connection: the next probe
    reconnects and succeeds, instead of calling a server that is back unwritable (and
    refusing promotional traffic until the probe after)."""
    health = LedgerHealth(ledger.write_probe, Metrics())
    assert await health.probe()
    assert ledger._probe_db is not None
    pid = ledger._probe_db.info.backend_pid
    with psycopg.connect(url, autocommit=True) as admin:  # as a server restart does
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    assert await health.probe() and health.writable
    assert ledger._probe_db is not None and ledger._probe_db.info.backend_pid != pid


def test_a_row_held_past_the_busy_timeout_is_named_locked(url: str) -> None:
    ledger = PostgresLedger(url, busy_timeout=0.3)  # storage.ledger_busy_timeout
    try:
        ledger.record([optout(ALICE)])
        with psycopg.connect(url) as holder:  # another instance, mid-transaction on ALICE
            holder.execute("SELECT 1 FROM suppressions WHERE number = %s FOR UPDATE", (ALICE,))
            with pytest.raises(LedgerError) as failed:
                ledger.record([OptEvent(number=ALICE, scope="acme", event="optin",
                                        source="keyword")])
            assert fault_reason(failed.value) == "locked"
            assert "lock timeout" in str(failed.value)
            ledger.record([optout(BOB)])  # other numbers are not held up
            holder.rollback()
        [event] = ledger.record([OptEvent(number=ALICE, scope="acme", event="optin",
                                          source="keyword")])
        assert event.changed
    finally:
        ledger.close()
