"""Versioned schema migrations for both ledgers, written expand-then-contract.

Each dialect has its list of numbered **steps** (``SQLITE_STEPS``,
``POSTGRES_STEPS``); a step's number means the same schema on both (step 2 is
the webhook outbox on either). The ``schema_migrations`` table records every
step applied: version, description, when, and ``compatible_from``.

**Compatible from.** Each step says which stopgate can still read and write the
schema once it is applied: one that knows at least schema version
``compatible_from``. The schema's requirement is the largest ``compatible_from``
of its applied steps. An instance opening a ledger

- applies the steps it knows that are missing (under a lock: two instances
  starting at once apply each step once);
- refuses to start only if the schema requires a newer stopgate than itself
  (``LedgerError`` naming both versions); a schema newer than it knows but
  compatible (expand-only steps) is used as it is.

So a rolling upgrade works: the first upgraded instance applies an *expand*
step (a new nullable column or a new table, which older code never reads and
whose absence from its INSERTs is harmless: ``compatible_from`` unchanged) and
the previous version keeps running beside it. A *contract* step (dropping or
renaming a column or a table, a new NOT NULL column without default, a change
of meaning that older code would get wrong) raises ``compatible_from`` to its
own version, and ships only in a release after the one that stopped using what
it removes, once no older instance runs. README: "Backups and upgrades".

**Locks.** SQLite: the whole migration is one ``BEGIN IMMEDIATE`` transaction
(the file's write lock). PostgreSQL: one transaction under
``pg_advisory_xact_lock`` (DDL is transactional there; a second instance waits
for the first, then finds nothing to do).

**Numbers are handed out, not taken.** Changes built at the same time get their step
numbers in advance (3 and 4 for some, 5 for the review list), so a branch may hold a
step whose predecessors it does not have yet: the steps must be numbered in increasing
order, without repeats, but may leave gaps. A ledger gets every step it lacks, gaps
that a later release fills included (each step creates its own tables: their order
does not matter), and a stopgate knows up to its last step's number.

Ledgers made before ``compatible_from`` existed have a ``schema_migrations``
table without that column (their code refused any newer schema): the column is
added, and their steps are recorded as compatible from their own version.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.ledger.model import LedgerError, Schema

__all__ = ["POSTGRES_STEPS", "SQLITE_STEPS", "Schema", "Step", "migrate_postgres",
           "migrate_sqlite", "refuse_incompatible"]


@dataclass(frozen=True, slots=True)
class Step:
    """One schema change: applied in one transaction with the others pending."""

    version: int
    description: str
    statements: tuple[str, ...]
    #: The oldest schema version a stopgate must know to keep working once this step is
    #: applied: unchanged by an expand step, this step's own version for a contract step.
    compatible_from: int


SQLITE_STEPS: tuple[Step, ...] = (
    Step(1, "events, suppression state, opt-out link tokens", (
        """CREATE TABLE events (
               id            INTEGER PRIMARY KEY,
               at            INTEGER NOT NULL,
               scope         TEXT NOT NULL,
               number        TEXT NOT NULL,
               event         TEXT NOT NULL CHECK (event IN ('optout', 'optin')),
               source        TEXT NOT NULL,
               changed       INTEGER NOT NULL,
               campaign      TEXT,
               keyword       TEXT,
               reason        TEXT,
               number_called TEXT)""",
        "CREATE INDEX events_by_number ON events (number)",
        "CREATE INDEX events_by_scope_at ON events (scope, at)",
        """CREATE TABLE suppressions (
               scope    TEXT NOT NULL,
               number   TEXT NOT NULL,
               since    INTEGER NOT NULL,
               source   TEXT NOT NULL,
               campaign TEXT,
               PRIMARY KEY (scope, number)) WITHOUT ROWID""",
        "CREATE INDEX suppressions_by_number ON suppressions (number)",
        """CREATE TABLE tokens (
               token    TEXT PRIMARY KEY,
               account  TEXT NOT NULL,
               number   TEXT NOT NULL,
               campaign TEXT,
               created  INTEGER NOT NULL,
               UNIQUE (account, number)) WITHOUT ROWID""",
        "CREATE TABLE ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    ), compatible_from=1),
    # Contract in effect: code without the outbox would record opt-outs and announce none.
    Step(2, "webhook outbox", (
        """CREATE TABLE webhook_outbox (
               id            INTEGER PRIMARY KEY,
               event_id      INTEGER NOT NULL REFERENCES events (id),
               account       TEXT NOT NULL,
               number        TEXT NOT NULL,
               payload       BLOB NOT NULL,
               created       INTEGER NOT NULL,
               attempts      INTEGER NOT NULL DEFAULT 0,
               next_attempt  INTEGER NOT NULL,
               claimed_until INTEGER,
               claimed_by    TEXT,
               delivered_at  INTEGER,
               given_up_at   INTEGER,
               last_status   INTEGER)""",
        "CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt) "
        "WHERE delivered_at IS NULL AND given_up_at IS NULL",
        "CREATE INDEX webhook_outbox_by_number ON webhook_outbox (account, number, id) "
        "WHERE delivered_at IS NULL AND given_up_at IS NULL",
    ), compatible_from=2),
    # Expand only: a new table that older code never reads.
    Step(3, "held messages (quiet hours: kept durably, released when the window opens)", (
        """CREATE TABLE held_messages (
               id            INTEGER PRIMARY KEY,
               account       TEXT NOT NULL,
               number        TEXT NOT NULL,
               campaign      TEXT,
               message_id    TEXT NOT NULL,
               due_at        INTEGER NOT NULL,
               held_at       INTEGER NOT NULL,
               expires_at    INTEGER NOT NULL,
               message       BLOB NOT NULL,
               status        TEXT NOT NULL DEFAULT 'held' CHECK (status IN
                                 ('held', 'released', 'dropped', 'expired', 'cancelled')),
               reason        TEXT,
               attempts      INTEGER NOT NULL DEFAULT 0,
               claimed_by    TEXT,
               claimed_until INTEGER,
               finished_at   INTEGER,
               notified_at   INTEGER)""",
        "CREATE INDEX held_due ON held_messages (due_at, id) WHERE status = 'held'",
        "CREATE INDEX held_expiring ON held_messages (expires_at) WHERE status = 'held'",
        "CREATE INDEX held_by_recipient ON held_messages (account, number, due_at, id) "
        "WHERE status = 'held'",
        "CREATE INDEX held_by_account ON held_messages (account, id) WHERE status = 'held'",
        "CREATE INDEX held_by_campaign ON held_messages (account, campaign) "
        "WHERE status = 'held'",
        "CREATE INDEX held_by_time ON held_messages (account, held_at)",
        "CREATE INDEX held_unnotified ON held_messages (id) "
        "WHERE status = 'cancelled' AND notified_at IS NULL",
    ), compatible_from=2),
    # Expand: older code neither reads nor writes the new columns (its INSERTs name their
    # columns) and never touches the new table.
    Step(4, "evidence and erasure: MO text, user agent, API key and address, re-consent "
            "source on events; erasures", (
        "ALTER TABLE events ADD COLUMN mo_text TEXT",
        "ALTER TABLE events ADD COLUMN user_agent TEXT",
        "ALTER TABLE events ADD COLUMN api_key TEXT",
        "ALTER TABLE events ADD COLUMN client_address TEXT",
        "ALTER TABLE events ADD COLUMN consent_source TEXT",
        """CREATE TABLE erasures (
               id             INTEGER PRIMARY KEY,
               at             INTEGER NOT NULL,
               scope          TEXT NOT NULL,
               number_hash    TEXT NOT NULL,
               source         TEXT NOT NULL,
               api_key        TEXT,
               client_address TEXT,
               events         INTEGER NOT NULL,
               suppressions   INTEGER NOT NULL,
               tokens         INTEGER NOT NULL,
               webhooks       INTEGER NOT NULL)""",
        "CREATE INDEX erasures_by_hash ON erasures (number_hash)",
        "CREATE INDEX tokens_by_number ON tokens (number)",
        "CREATE INDEX webhook_outbox_by_number_all ON webhook_outbox (number)",
    ), compatible_from=2),
    # Expand: a new table older code never reads (README, "Compliance packs").
    Step(5, "opt-out review list", (
        """CREATE TABLE optout_reviews (
               id            INTEGER PRIMARY KEY,
               scope         TEXT NOT NULL,
               number        TEXT NOT NULL,
               number_called TEXT,
               text          TEXT NOT NULL,
               matched       TEXT,
               received_at   INTEGER NOT NULL,
               deadline      INTEGER NOT NULL,
               remind_at     INTEGER NOT NULL,
               status        TEXT NOT NULL DEFAULT 'pending'
                             CHECK (status IN ('pending', 'opted_out', 'dismissed')),
               decided_by    TEXT,
               decided_at    INTEGER)""",
        "CREATE INDEX optout_reviews_pending ON optout_reviews (deadline) "
        "WHERE status = 'pending'",
        "CREATE INDEX optout_reviews_by_scope ON optout_reviews (scope, id)",
        "CREATE INDEX optout_reviews_by_number ON optout_reviews (number)",
    ), compatible_from=2),
)

# Text keys are COLLATE "C": byte order, as SQLite sorts (exports, reports), and cheaper
# comparisons than a locale's. Times are timestamptz (µs, like SQLite's integers).
POSTGRES_STEPS: tuple[Step, ...] = (
    Step(1, "events, suppression state, opt-out link tokens", (
        """CREATE TABLE events (
               id            bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
               at            timestamptz NOT NULL,
               scope         text COLLATE "C" NOT NULL,
               number        text COLLATE "C" NOT NULL,
               event         text NOT NULL CHECK (event IN ('optout', 'optin')),
               source        text NOT NULL,
               changed       boolean NOT NULL,
               campaign      text COLLATE "C",
               keyword       text,
               reason        text COLLATE "C",
               number_called text)""",
        "CREATE INDEX events_by_number ON events (number)",
        "CREATE INDEX events_by_scope_at ON events (scope, at)",
        """CREATE TABLE suppressions (
               scope    text COLLATE "C" NOT NULL,
               number   text COLLATE "C" NOT NULL,
               since    timestamptz NOT NULL,
               source   text NOT NULL,
               campaign text,
               PRIMARY KEY (scope, number))""",
        "CREATE INDEX suppressions_by_number ON suppressions (number)",
        """CREATE TABLE tokens (
               token    text COLLATE "C" PRIMARY KEY,
               account  text COLLATE "C" NOT NULL,
               number   text COLLATE "C" NOT NULL,
               campaign text,
               created  timestamptz NOT NULL,
               UNIQUE (account, number))""",
        "CREATE TABLE ledger_meta (key text PRIMARY KEY, value text NOT NULL)",
    ), compatible_from=1),
    Step(2, "webhook outbox", (
        """CREATE TABLE webhook_outbox (
               id            bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
               event_id      bigint NOT NULL REFERENCES events (id),
               account       text COLLATE "C" NOT NULL,
               number        text COLLATE "C" NOT NULL,
               payload       bytea NOT NULL,
               created       timestamptz NOT NULL,
               attempts      integer NOT NULL DEFAULT 0,
               next_attempt  timestamptz NOT NULL,
               claimed_until timestamptz,
               claimed_by    text,
               delivered_at  timestamptz,
               given_up_at   timestamptz,
               last_status   integer)""",
        "CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt) "
        "WHERE delivered_at IS NULL AND given_up_at IS NULL",
        "CREATE INDEX webhook_outbox_by_number ON webhook_outbox (account, number, id) "
        "WHERE delivered_at IS NULL AND given_up_at IS NULL",
        "CREATE INDEX webhook_outbox_by_event ON webhook_outbox (event_id)",
    ), compatible_from=2),
    Step(3, "held messages (quiet hours: kept durably, released when the window opens)", (
        """CREATE TABLE held_messages (
               id            bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
               account       text COLLATE "C" NOT NULL,
               number        text COLLATE "C" NOT NULL,
               campaign      text COLLATE "C",
               message_id    text NOT NULL,
               due_at        timestamptz NOT NULL,
               held_at       timestamptz NOT NULL,
               expires_at    timestamptz NOT NULL,
               message       bytea NOT NULL,
               status        text NOT NULL DEFAULT 'held' CHECK (status IN
                                 ('held', 'released', 'dropped', 'expired', 'cancelled')),
               reason        text,
               attempts      integer NOT NULL DEFAULT 0,
               claimed_by    text,
               claimed_until timestamptz,
               finished_at   timestamptz,
               notified_at   timestamptz)""",
        "CREATE INDEX held_due ON held_messages (due_at, id) WHERE status = 'held'",
        "CREATE INDEX held_expiring ON held_messages (expires_at) WHERE status = 'held'",
        "CREATE INDEX held_by_recipient ON held_messages (account, number, due_at, id) "
        "WHERE status = 'held'",
        "CREATE INDEX held_by_account ON held_messages (account, id) WHERE status = 'held'",
        "CREATE INDEX held_by_campaign ON held_messages (account, campaign) "
        "WHERE status = 'held'",
        "CREATE INDEX held_by_time ON held_messages (account, held_at)",
        "CREATE INDEX held_unnotified ON held_messages (id) "
        "WHERE status = 'cancelled' AND notified_at IS NULL",
    ), compatible_from=2),
    # Expand: older code neither reads nor writes the new columns (its INSERTs name their
    # columns) and never touches the new table.
    Step(4, "evidence and erasure: MO text, user agent, API key and address, re-consent "
            "source on events; erasures", (
        "ALTER TABLE events ADD COLUMN mo_text text",
        "ALTER TABLE events ADD COLUMN user_agent text",
        "ALTER TABLE events ADD COLUMN api_key text",
        "ALTER TABLE events ADD COLUMN client_address text",
        "ALTER TABLE events ADD COLUMN consent_source text",
        """CREATE TABLE erasures (
               id             bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
               at             timestamptz NOT NULL,
               scope          text COLLATE "C" NOT NULL,
               number_hash    text COLLATE "C" NOT NULL,
               source         text NOT NULL,
               api_key        text,
               client_address text,
               events         integer NOT NULL,
               suppressions   integer NOT NULL,
               tokens         integer NOT NULL,
               webhooks       integer NOT NULL)""",
        "CREATE INDEX erasures_by_hash ON erasures (number_hash)",
        "CREATE INDEX tokens_by_number ON tokens (number)",
        "CREATE INDEX webhook_outbox_by_number_all ON webhook_outbox (number)",
    ), compatible_from=2),
    Step(5, "opt-out review list", (
        """CREATE TABLE optout_reviews (
               id            bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
               scope         text COLLATE "C" NOT NULL,
               number        text COLLATE "C" NOT NULL,
               number_called text,
               text          text NOT NULL,
               matched       text,
               received_at   timestamptz NOT NULL,
               deadline      timestamptz NOT NULL,
               remind_at     timestamptz NOT NULL,
               status        text NOT NULL DEFAULT 'pending'
                             CHECK (status IN ('pending', 'opted_out', 'dismissed')),
               decided_by    text,
               decided_at    timestamptz)""",
        "CREATE INDEX optout_reviews_pending ON optout_reviews (deadline) "
        "WHERE status = 'pending'",
        "CREATE INDEX optout_reviews_by_scope ON optout_reviews (scope, id)",
        "CREATE INDEX optout_reviews_by_number ON optout_reviews (number)",
    ), compatible_from=2),
)

#: pg_advisory_xact_lock key of the migration: "stopgate" in ASCII, as a bigint.
ADVISORY_KEY = int.from_bytes(b"stopgate", "big") & 0x7FFF_FFFF_FFFF_FFFF


def _check_steps(steps: Sequence[Step]) -> None:
    versions = [step.version for step in steps]
    if not versions or versions[0] != 1 or any(b <= a for a, b in itertools.pairwise(versions)):
        raise ValueError(f"migration steps must be numbered from 1 in increasing order "
                         f"(gaps allowed: numbers handed out to other changes), got {versions}")
    for step in steps:
        if not 1 <= step.compatible_from <= step.version:
            raise ValueError(f"step {step.version}: compatible_from must be within 1.."
                             f"{step.version}, got {step.compatible_from}")


def refuse_incompatible(where: str, version: int, compatible_from: int, known: int) -> None:
    """Raise LedgerError if a stopgate that knows schema versions up to ``known`` cannot
    use a schema at ``version`` that needs ``compatible_from``."""
    if compatible_from > known:
        raise LedgerError(
            f"{where}: the ledger schema is at version {version} and needs a stopgate that "
            f"knows schema version {compatible_from} or later; this stopgate knows up to "
            f"version {known}: upgrade this instance (older instances keep working beside a "
            f"newer schema only until a release removes what they use)")


def _plan(where: str, applied: dict[int, int], steps: Sequence[Step]) -> list[Step]:
    """The steps to apply, given {version: compatible_from} of the applied ones."""
    _check_steps(steps)
    known = steps[-1].version
    version = max(applied, default=0)
    refuse_incompatible(where, version, max(applied.values(), default=1), known)
    return [step for step in steps if step.version not in applied]


# --- SQLite -------------------------------------------------------------------------------


def migrate_sqlite(conn: sqlite3.Connection, where: str,
                   steps: Sequence[Step] = SQLITE_STEPS) -> Schema:
    """Bring the SQLite ledger on ``conn`` (autocommit mode) up to ``steps``."""
    conn.execute("BEGIN IMMEDIATE")  # the write lock: a second migrator waits here
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations ("
                     "version INTEGER PRIMARY KEY, description TEXT NOT NULL, "
                     "applied INTEGER NOT NULL, compatible_from INTEGER)")
        columns = {row[1] for row in conn.execute("PRAGMA table_info(schema_migrations)")}
        if "compatible_from" not in columns:  # a ledger from before compatible_from
            conn.execute("ALTER TABLE schema_migrations ADD COLUMN compatible_from INTEGER")
        conn.execute("UPDATE schema_migrations SET compatible_from = version "
                     "WHERE compatible_from IS NULL")
        applied = dict(conn.execute("SELECT version, compatible_from FROM schema_migrations"))
        pending = _plan(where, applied, steps)
        now = int(datetime.now(UTC).timestamp() * 1_000_000)
        for step in pending:
            for statement in step.statements:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations VALUES (?, ?, ?, ?)",
                         (step.version, step.description, now, step.compatible_from))
    except BaseException:
        conn.rollback()
        raise
    conn.commit()
    return _schema(applied, pending)


def _schema(applied: dict[int, int], pending: Sequence[Step]) -> Schema:
    versions = dict(applied)
    versions.update((step.version, step.compatible_from) for step in pending)
    return Schema(max(versions, default=0), max(versions.values(), default=1),
                  tuple(step.version for step in pending))


# --- PostgreSQL ---------------------------------------------------------------------------


def migrate_postgres(conn: Any, where: str, steps: Sequence[Step] = POSTGRES_STEPS) -> Schema:
    """Bring the PostgreSQL ledger on ``conn`` (a psycopg connection in autocommit mode)
    up to ``steps``, in one transaction under the migration's advisory lock."""
    with conn.transaction():
        conn.execute("SET LOCAL statement_timeout = 0")  # a long step is not a stuck STOP
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (ADVISORY_KEY,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations ("
                     "version integer PRIMARY KEY, description text NOT NULL, "
                     "applied timestamptz NOT NULL, compatible_from integer NOT NULL)")
        applied = dict(conn.execute("SELECT version, compatible_from FROM schema_migrations")
                       .fetchall())
        pending = _plan(where, applied, steps)
        for step in pending:
            for statement in step.statements:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations VALUES (%s, %s, now(), %s)",
                         (step.version, step.description, step.compatible_from))
    return _schema(applied, pending)
