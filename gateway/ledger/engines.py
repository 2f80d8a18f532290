"""Which ledger ``storage.ledger`` names, opened."""

from __future__ import annotations

from pathlib import Path

from gateway.ledger.model import DEFAULT_FILE, Ledger, LedgerError
from gateway.ledger.postgres import PostgresLedger
from gateway.ledger.sqlite import SqliteLedger


def sqlite_file(url: str, data_dir: Path) -> Path | None:
    """The SQLite file ``storage.ledger`` names (see ``open_ledger``); None for any other URL."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return Path(url) if url else Path(data_dir) / DEFAULT_FILE
    if scheme == "sqlite" and rest:
        return Path(rest)
    return None


def open_ledger(url: str, data_dir: Path, busy_timeout: float | None = None) -> Ledger:
    """The ledger that ``storage.ledger`` names.

    ``""`` -> SQLite at ``data_dir/ledger.sqlite3``; ``sqlite:///abs/path`` or
    ``sqlite://rel/path`` or a plain path -> SQLite there (relative paths from the
    working directory, like ``data_dir`` itself); ``postgresql://`` or ``postgres://``
    -> PostgreSQL, the URL handed to libpq as it is (multi-host, sslmode, ...).
    The schema is created or migrated on opening.
    """
    path = sqlite_file(url, data_dir)
    if path is not None:
        options = {} if busy_timeout is None else {"busy_timeout": busy_timeout}
        return SqliteLedger(path, **options)
    scheme = url.partition("://")[0]
    if scheme in ("postgres", "postgresql"):
        return PostgresLedger(url) if busy_timeout is None else PostgresLedger(url, busy_timeout)
    raise LedgerError(f"storage.ledger: expected \"\", a SQLite file path, sqlite:///path or "
                      f"postgresql://..., got a '{scheme}://' URL")
