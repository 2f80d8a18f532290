"""``stopgate ledger backup FILE``: a consistent copy of the SQLite ledger, gateways running.

The ledger is the only state that cannot be rebuilt (Redis is rebuilt from it), so
it is the thing to back up. A plain ``cp`` of a WAL database that is being written
can copy the main file and its ``-wal`` at different moments; SQLite's online
backup API copies one snapshot instead. Here it runs in a single step under one
read transaction: in WAL mode readers never block the writer, so gateways keep
recording opt-outs meanwhile (they land in the next backup), and a busy ledger
cannot make the copy restart forever as a paged backup can.

The copy is written to ``FILE.partial``, switched to a rollback journal (one
self-contained file), checked with ``PRAGMA integrity_check``, fsynced, and only
then renamed to ``FILE``: a backup file that exists is whole. An existing
``FILE`` is never overwritten. Restoring is copying the file back while every
gateway on the ledger is stopped (README, "Backups and upgrades").
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from gateway.config.model import Config
from gateway.ledger.engines import sqlite_file
from gateway.ledger.model import counted

__all__ = ["BackupError", "BackupReport", "backup_command", "backup_sqlite"]

#: How long the backup waits for a lock (a checkpoint, a schema migration) before failing.
BUSY_TIMEOUT_MS = 30_000


class BackupError(Exception):
    """The backup cannot be made; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class BackupReport:
    """What a backup holds, read back from the copy itself."""

    path: Path
    size: int
    seconds: float
    schema_version: int
    events: int
    suppressions: int
    tokens: int
    webhooks_open: int

    def summary(self) -> str:
        return (f"ledger backup written to {self.path} ({self.size:,} bytes, "
                f"{self.seconds:.1f}s): schema version {self.schema_version}, "
                f"{counted(self.events, 'event', 'events')}, "
                f"{counted(self.suppressions, 'suppression', 'suppressions')}, "
                f"{counted(self.tokens, 'opt-out link token', 'opt-out link tokens')}, "
                f"{counted(self.webhooks_open, 'webhook delivery', 'webhook deliveries')} "
                f"pending; integrity check ok")


def backup_sqlite(source: Path, target: Path) -> BackupReport:
    """Copy the ledger ``source`` to the new file ``target`` (see the module docstring)."""
    if not source.is_file():
        raise BackupError(f"no ledger at {source}: check server.data_dir / storage.ledger "
                          "(the gateway creates it at its first start)")
    if target.exists():
        raise BackupError(f"{target} exists: a backup never overwrites; name a new file")
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent} is not a directory")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)  # left by a backup that was interrupted
    started = time.monotonic()
    try:
        # Read-write only so that a WAL database can be read; nothing is written to it.
        src = sqlite3.connect(source, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            src.execute("PRAGMA query_only = ON")
            dst = sqlite3.connect(partial)
            try:
                src.backup(dst)  # pages=-1: every page in one step, one snapshot
                dst.execute("PRAGMA journal_mode = DELETE")
                check = dst.execute("PRAGMA integrity_check").fetchone()[0]
                if check != "ok":
                    raise BackupError(f"the copy fails SQLite's integrity check: {check}")
                counts = _counts(dst)
            finally:
                dst.close()
        finally:
            src.close()
        with partial.open("rb") as copy:
            os.fsync(copy.fileno())
        os.rename(partial, target)
        directory = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a crash
        finally:
            os.close(directory)
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"cannot back up {source}: {exc}") from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupReport(target, target.stat().st_size, time.monotonic() - started, *counts)


def _counts(db: sqlite3.Connection) -> tuple[int, int, int, int, int]:
    def one(sql: str) -> int:
        return int(db.execute(sql).fetchone()[0] or 0)

    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "schema_migrations" not in tables:
        raise BackupError("the file is not a stopgate ledger (no schema_migrations table)")
    webhooks = one("SELECT count(*) FROM webhook_outbox WHERE delivered_at IS NULL "
                   "AND given_up_at IS NULL") if "webhook_outbox" in tables else 0
    return (one("SELECT max(version) FROM schema_migrations"),
            one("SELECT count(*) FROM events"), one("SELECT count(*) FROM suppressions"),
            one("SELECT count(*) FROM tokens"), webhooks)


def backup_command(config: Config, target: Path) -> int:
    """``stopgate ledger backup FILE``: 0 and a summary on stdout, or 1 and why on stderr."""
    source = sqlite_file(config.storage.ledger, config.server.data_dir)
    if source is None:
        scheme = config.storage.ledger.partition("://")[0]
        # Not run for the operator: pg_dump must be as new as the server, and a
        # PostgreSQL ledger belongs in the database's own backups (WAL archiving, PITR).
        hint = ("back a PostgreSQL ledger up with pg_dump (pg_dump --format=custom "
                "--file=FILE URL) or your PostgreSQL backups" if scheme.startswith("postgres")
                else "storage.ledger must name a SQLite file")
        print(f"stopgate ledger backup: storage.ledger is a {scheme}:// URL; {hint}",
              file=sys.stderr)
        return 1
    try:
        report = backup_sqlite(source, target)
    except BackupError as exc:
        print(f"stopgate ledger backup: {exc}", file=sys.stderr)
        return 1
    print(report.summary())
    return 0
