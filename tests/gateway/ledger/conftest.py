"""The ledger under test, on each backend: ``ledger`` runs every test that takes it twice,
on a SQLite file and on a PostgreSQL schema of its own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gateway.ledger.engines import open_ledger
from gateway.ledger.model import Ledger
from tests.support.ledgers import Raw, scratch_schema

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def ledger_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """What ``storage.ledger`` would say: a SQLite file, or a DSN on a scratch schema."""
    if backend == "sqlite":
        yield str(tmp_path / "ledger.sqlite3")
        return
    dsn = request.getfixturevalue("postgres_dsn")
    with scratch_schema(dsn) as url:
        yield url


@pytest.fixture
def reopen(ledger_url: str, tmp_path: Path) -> Iterator[Callable[[], Ledger]]:
    """Opens another ledger on the same storage (a restart, or a second instance)."""
    opened: list[Ledger] = []

    def another() -> Ledger:
        opened.append(open_ledger(ledger_url, tmp_path / "data"))
        return opened[-1]

    yield another
    for store in opened:
        store.close()


@pytest.fixture
def ledger(reopen: Callable[[], Ledger]) -> Ledger:
    return reopen()


@pytest.fixture
def db(backend: str, ledger_url: str) -> Raw:
    """Raw SQL on the ledger's storage, behind its back."""
    return Raw(backend, ledger_url)

