"""psycopg 3 against asyncpg on what the PostgreSQL ledger does.

``python bench/ledger_driver_bench.py [--dsn DSN] [--fsync on|off] [--transactions N]
[--lookups N] [--numbers N] [--rounds N]``

Without ``--dsn`` it starts a throwaway PostgreSQL 16 (tests/support/postgres.py) with
``fsync`` as given (default on, as in production); with ``--dsn`` it creates a database
of its own on that server and drops it afterwards. Each driver gets a fresh database
with the ledger's three tables (events, suppressions, webhook_outbox; as in
gateway/ledger/sqlite.py) and runs, one connection, one after the other:

- **opt-out**: N opt-out transactions, each INSERT event + UPSERT current state +
  INSERT outbox row, committed. Two shapes: three statements in a transaction (BEGIN,
  3 round trips, COMMIT), and one statement (a data-modifying CTE, autocommit).
  Latency p50/p99 and transactions/s.
- **lookup**: N point lookups by primary key (scope, number) of suppressed numbers.
- **import**: COPY of 1,000,000 numbers into an unlogged staging table, then one
  ``INSERT INTO suppressions ... SELECT ... ON CONFLICT DO NOTHING`` whose added rows
  go to events in the same statement, committed (seconds, COPY and merge apart).

asyncpg is measured twice where it matters: natively (``await`` in a running event
loop: its best case) and as the ledger would have to call it, from the synchronous
Ledger protocol on AsyncLedger's worker thread (``loop.run_until_complete`` per call
on a private event loop in that thread). psycopg runs synchronously, as the ledger's
worker thread would run it. asyncpg is not a stopgate dependency: ``pip install
asyncpg`` into the venv to run this.

Columns: psycopg = psycopg 3 synchronous; asyncpg = asyncpg awaited in an event loop;
asyncpg-sync = asyncpg behind a synchronous call (run_until_complete), as the ledger
would use it. Numbers of one run, medians of 3 rounds (2 shared cores with other work
on them, PostgreSQL 16.14 throwaway, psycopg 3.3.9 + psycopg-binary, asyncpg 0.32.0,
2,000 transactions, 20,000 lookups, 1,000,000 numbers):

fsync on (production)::

                                         psycopg   asyncpg  asyncpg-sync
    opt-out, 3 statements: p50 ms           0.89      0.91          0.81
    opt-out, 3 statements: p99 ms           1.84      3.32          1.74
    opt-out, 3 statements: per s           1,083     1,007         1,190
    opt-out, 1 statement: p50 ms            0.40      0.34          0.35
    opt-out, 1 statement: p99 ms            0.84      0.64          0.59
    opt-out, 1 statement: per s            2,271     2,778         2,611
    lookup by key per s                    6,296    12,565         7,880
    COPY s (rows: write_row / records)      0.43      0.36             -
    COPY s (text blocks)                    0.23         -             -
    merge into state + events s            17.05     16.97             -
    import total s                         17.27     17.41             -

fsync off (what the tests run with)::

                                         psycopg   asyncpg  asyncpg-sync
    opt-out, 3 statements: p50 ms           0.71      0.80          0.69
    opt-out, 3 statements: p99 ms           1.87      2.30          1.54
    opt-out, 3 statements: per s           1,386     1,210         1,328
    opt-out, 1 statement: p50 ms            0.21      0.19          0.20
    opt-out, 1 statement: p99 ms            0.50      0.38          0.40
    opt-out, 1 statement: per s            4,321     4,944         4,561
    lookup by key per s                    8,671     7,537         6,725
    COPY s (rows: write_row / records)      0.28      0.29             -
    COPY s (text blocks)                    0.16         -             -
    merge into state + events s            14.44     15.03             -
    import total s                         14.72     15.33             -

Read: where the ledger spends its time the two drivers are level. An opt-out is bound
by the server and the round trips, not the driver (0.2-0.9 ms p50 either way), and one
statement (a data-modifying CTE) is 2-3x the throughput of three in a transaction
with either driver -- worth more than any driver choice. COPY of 1 M numbers takes
0.2-0.4 s in both (psycopg writing text blocks is the fastest); the merge into state
+ events is server work, the same SQL, ~15-17 s, so a 1 M import fits well within
the 60 s. asyncpg's edge is per-query overhead in a running event loop (lookups/s
varied 7.5-12.6 k against psycopg's 6.3-8.7 k between runs on this shared box), and it
is gone once the call has to come from the Ledger protocol's synchronous worker
thread (the asyncpg-sync column).

Choice: psycopg 3, synchronous. It fits the ledger's model (synchronous Ledger on
AsyncLedger's one worker thread; asyncpg would need an event loop of its own in that
thread and a run_until_complete per call); it is libpq (3.3.9's binary wheel bundles
libpq 18), so DSNs behave exactly as for psql and pg_dump: multi-host
``host=a,b`` / ``postgresql://a,b/db``, every ``target_session_attrs`` (read-write,
primary, standby, prefer-standby), ``load_balance_hosts``, every ``sslmode`` including
verify-full with ``sslrootcert``, service and password files, PG* environment
variables; asyncpg reimplements the protocol and parses DSNs itself, with a subset of
these. COPY (``cursor.copy``), pipeline mode and server-side prepared statements
(automatic after 5 executions) are all there, and psycopg-binary ships wheels for
Linux (glibc and musl), macOS and Windows, so a fresh machine needs no compiler and
no libpq.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.postgres import ThrowawayPostgres, fresh_database

SCHEMA = (
    """CREATE TABLE events (
           id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
           at            bigint NOT NULL,
           scope         text NOT NULL,
           number        text NOT NULL,
           event         text NOT NULL CHECK (event IN ('optout', 'optin')),
           source        text NOT NULL,
           changed       boolean NOT NULL,
           campaign      text,
           keyword       text,
           reason        text,
           number_called text)""",
    "CREATE INDEX events_by_number ON events (number)",
    """CREATE TABLE suppressions (
           scope    text NOT NULL,
           number   text NOT NULL,
           since    bigint NOT NULL,
           source   text NOT NULL,
           campaign text,
           PRIMARY KEY (scope, number))""",
    "CREATE INDEX suppressions_by_number ON suppressions (number)",
    """CREATE TABLE webhook_outbox (
           id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
           event_id      bigint NOT NULL REFERENCES events (id),
           account       text NOT NULL,
           number        text NOT NULL,
           payload       bytea NOT NULL,
           created       bigint NOT NULL,
           attempts      integer NOT NULL DEFAULT 0,
           next_attempt  bigint NOT NULL,
           claimed_until bigint,
           claimed_by    text,
           delivered_at  bigint,
           given_up_at   bigint)""",
    "CREATE UNLOGGED TABLE import_staging (number text NOT NULL)",
)

# $n placeholders for asyncpg; psycopg takes %s (converted below).
INSERT_EVENT = ("INSERT INTO events (at, scope, number, event, source, changed, keyword, "
                "number_called) VALUES ($1, $2, $3, 'optout', 'keyword', true, 'STOP', $4) "
                "RETURNING id")
UPSERT_STATE = ("INSERT INTO suppressions (scope, number, since, source) "
                "VALUES ($1, $2, $3, 'keyword') ON CONFLICT (scope, number) DO UPDATE "
                "SET since = excluded.since, source = excluded.source, "
                "campaign = excluded.campaign")
INSERT_OUTBOX = ("INSERT INTO webhook_outbox (event_id, account, number, payload, created, "
                 "next_attempt) VALUES ($1, $2, $3, $4, $5, $5)")
OPTOUT_ONE_STATEMENT = (
    "WITH e AS (" + INSERT_EVENT + "), "
    "s AS (INSERT INTO suppressions (scope, number, since, source) "
    "      VALUES ($2, $3, $1, 'keyword') ON CONFLICT (scope, number) DO UPDATE "
    "      SET since = excluded.since, source = excluded.source, "
    "      campaign = excluded.campaign) "
    "INSERT INTO webhook_outbox (event_id, account, number, payload, created, next_attempt) "
    "SELECT e.id, $2, $3, $5, $1, $1 FROM e"
)
LOOKUP = "SELECT since FROM suppressions WHERE scope = $1 AND number = $2"
MERGE = (
    "WITH added AS ("
    "  INSERT INTO suppressions (scope, number, since, source) "
    "  SELECT $1, number, $2, 'import' FROM import_staging "
    "  ON CONFLICT (scope, number) DO NOTHING RETURNING number) "
    "INSERT INTO events (at, scope, number, event, source, changed) "
    "SELECT $2, $1, number, 'optout', 'import', true FROM added"
)
PAYLOAD = b'{"event":"optout","number":"+33612345678","keyword":"STOP"}'
SCOPE = "acme"


@functools.cache
def pg(query: str) -> str:
    """asyncpg's $n placeholders as psycopg's %(pn)s (the same SQL for both drivers)."""
    return re.sub(r"\$(\d+)", r"%(p\1)s", query)


def named(*args: Any) -> dict[str, Any]:
    return {f"p{i}": value for i, value in enumerate(args, 1)}


def numbers(n: int, seed: int) -> list[str]:
    return [f"+336{value:08d}" for value in random.Random(seed).sample(range(100_000_000), n)]


#: One driver's numbers of one round: metric -> value (ms, per second, or seconds).
Metrics = dict[str, float]


def latencies(metrics: Metrics, shape: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    metrics[f"{shape} p50 ms"] = statistics.median(ordered) * 1000
    metrics[f"{shape} p99 ms"] = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    metrics[f"{shape} per s"] = len(samples) / sum(samples)


# -- psycopg 3 (sync) ---------------------------------------------------------------------


def run_psycopg(dsn: str, args: argparse.Namespace) -> Metrics:
    result: Metrics = {}
    with psycopg.connect(dsn) as conn:
        for statement in SCHEMA:
            conn.execute(statement)
        conn.commit()
        targets = numbers(args.transactions, 1)
        samples = []
        for i, number in enumerate(targets):
            start = time.perf_counter()
            with conn.transaction():
                row = conn.execute(pg(INSERT_EVENT), named(i, SCOPE, number, "38200")).fetchone()
                assert row is not None
                conn.execute(pg(UPSERT_STATE), named(SCOPE, number, i))
                conn.execute(pg(INSERT_OUTBOX), named(row[0], SCOPE, number, PAYLOAD, i))
            samples.append(time.perf_counter() - start)
        conn.commit()
        latencies(result, "opt-out, 3 statements:", samples)

        conn.autocommit = True
        samples = []
        for i, number in enumerate(numbers(args.transactions, 2)):
            start = time.perf_counter()
            conn.execute(pg(OPTOUT_ONE_STATEMENT), named(i, SCOPE, number, "38200", PAYLOAD))
            samples.append(time.perf_counter() - start)
        latencies(result, "opt-out, 1 statement:", samples)

        probes = [random.Random(3).choice(targets) for _ in range(args.lookups)]
        start = time.perf_counter()
        for number in probes:
            assert conn.execute(pg(LOOKUP), named(SCOPE, number)).fetchone() is not None
        result["lookup by key per s"] = args.lookups / (time.perf_counter() - start)

        conn.autocommit = False
        bulk = numbers(args.numbers, 4)
        start = time.perf_counter()
        with conn.cursor() as cur, cur.copy("COPY import_staging (number) FROM STDIN") as copy:
            for number in bulk:
                copy.write_row((number,))
        conn.commit()
        copied = time.perf_counter() - start
        conn.execute("TRUNCATE import_staging")
        conn.commit()
        start = time.perf_counter()
        with conn.cursor() as cur, cur.copy("COPY import_staging (number) FROM STDIN") as copy:
            for chunk in chunks(bulk, 50_000):
                copy.write("\n".join(chunk) + "\n")
        conn.commit()
        copied_text = time.perf_counter() - start
        start = time.perf_counter()
        conn.execute(pg(MERGE), named(SCOPE, 1))
        conn.execute("TRUNCATE import_staging")
        conn.commit()
        merged = time.perf_counter() - start
        result["COPY s (rows: write_row / records)"] = copied
        result["COPY s (text blocks)"] = copied_text
        result["merge into state + events s"] = merged
        result["import total s"] = copied + merged
    return result


def chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# -- asyncpg --------------------------------------------------------------------------------


async def asyncpg_native(dsn: str, args: argparse.Namespace) -> Metrics:
    import asyncpg

    result: Metrics = {}
    conn = await asyncpg.connect(dsn)
    try:
        for statement in SCHEMA:
            await conn.execute(statement)
        targets = numbers(args.transactions, 1)
        samples = []
        for i, number in enumerate(targets):
            start = time.perf_counter()
            async with conn.transaction():
                event_id = await conn.fetchval(INSERT_EVENT, i, SCOPE, number, "38200")
                await conn.execute(UPSERT_STATE, SCOPE, number, i)
                await conn.execute(INSERT_OUTBOX, event_id, SCOPE, number, PAYLOAD, i)
            samples.append(time.perf_counter() - start)
        latencies(result, "opt-out, 3 statements:", samples)

        samples = []
        for i, number in enumerate(numbers(args.transactions, 2)):
            start = time.perf_counter()
            await conn.execute(OPTOUT_ONE_STATEMENT, i, SCOPE, number, "38200", PAYLOAD)
            samples.append(time.perf_counter() - start)
        latencies(result, "opt-out, 1 statement:", samples)

        probes = [random.Random(3).choice(targets) for _ in range(args.lookups)]
        start = time.perf_counter()
        for number in probes:
            assert await conn.fetchval(LOOKUP, SCOPE, number) is not None
        result["lookup by key per s"] = args.lookups / (time.perf_counter() - start)

        bulk = numbers(args.numbers, 4)
        start = time.perf_counter()
        await conn.copy_records_to_table("import_staging", records=[(n,) for n in bulk],
                                         columns=["number"])
        copied = time.perf_counter() - start
        start = time.perf_counter()
        async with conn.transaction():
            await conn.execute(MERGE, SCOPE, 1)
            await conn.execute("TRUNCATE import_staging")
        merged = time.perf_counter() - start
        result["COPY s (rows: write_row / records)"] = copied
        result["merge into state + events s"] = merged
        result["import total s"] = copied + merged
    finally:
        await conn.close()
    return result


def asyncpg_from_a_thread(dsn: str, args: argparse.Namespace) -> Metrics:
    """asyncpg behind a synchronous call, as the Ledger protocol on AsyncLedger's worker
    thread would need it: a private loop, one run_until_complete per ledger call."""
    import asyncpg

    result: Metrics = {}
    loop = asyncio.new_event_loop()
    run: Callable[[Any], Any] = loop.run_until_complete
    conn = run(asyncpg.connect(dsn))
    try:
        for statement in SCHEMA:
            run(conn.execute(statement))

        async def optout(i: int, number: str) -> None:
            async with conn.transaction():
                event_id = await conn.fetchval(INSERT_EVENT, i, SCOPE, number, "38200")
                await conn.execute(UPSERT_STATE, SCOPE, number, i)
                await conn.execute(INSERT_OUTBOX, event_id, SCOPE, number, PAYLOAD, i)

        targets = numbers(args.transactions, 1)
        samples = []
        for i, number in enumerate(targets):
            start = time.perf_counter()
            run(optout(i, number))
            samples.append(time.perf_counter() - start)
        latencies(result, "opt-out, 3 statements:", samples)

        samples = []
        for i, number in enumerate(numbers(args.transactions, 2)):
            start = time.perf_counter()
            run(conn.execute(OPTOUT_ONE_STATEMENT, i, SCOPE, number, "38200", PAYLOAD))
            samples.append(time.perf_counter() - start)
        latencies(result, "opt-out, 1 statement:", samples)

        probes = [random.Random(3).choice(targets) for _ in range(args.lookups)]
        start = time.perf_counter()
        for number in probes:
            assert run(conn.fetchval(LOOKUP, SCOPE, number)) is not None
        result["lookup by key per s"] = args.lookups / (time.perf_counter() - start)
    finally:
        run(conn.close())
        loop.close()
    return result


# -- driver ---------------------------------------------------------------------------------


DRIVERS: dict[str, Callable[[str, argparse.Namespace], Metrics]] = {
    "psycopg": run_psycopg,
    "asyncpg": lambda dsn, args: asyncio.run(asyncpg_native(dsn, args)),
    "asyncpg-sync": asyncpg_from_a_thread,
}


def table(rounds: dict[str, list[Metrics]]) -> str:
    """Median over the rounds of every metric, one column per driver."""
    names: list[str] = []
    for runs in rounds.values():
        for run in runs:
            names += [name for name in run if name not in names]
    cells = {
        driver: {name: statistics.median(run[name] for run in runs if name in run)
                 for name in names if any(name in run for run in runs)}
        for driver, runs in rounds.items()
    }

    def shown(value: float | None) -> str:
        if value is None:
            return "-"
        return f"{value:,.0f}" if value >= 100 else f"{value:.2f}"

    width = max(len(name) for name in names)
    columns = {driver: max(len(driver), 8) for driver in rounds}
    lines = ["  ".join([" " * width, *(d.rjust(c) for d, c in columns.items())]).rstrip()]
    for name in names:
        lines.append("  ".join([name.ljust(width), *(
            shown(cells[driver].get(name)).rjust(column) for driver, column in columns.items()
        )]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dsn", help="a PostgreSQL to use (a database is created there)")
    parser.add_argument("--fsync", choices=("on", "off"), default="on",
                        help="the throwaway server's fsync (default on, as in production)")
    parser.add_argument("--transactions", type=int, default=2_000)
    parser.add_argument("--lookups", type=int, default=20_000)
    parser.add_argument("--numbers", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds, the drivers' order rotated each; medians are shown")
    args = parser.parse_args(argv)
    try:
        import asyncpg  # noqa: F401
    except ImportError:
        sys.exit("asyncpg is not installed: pip install asyncpg (it is not a stopgate "
                 "dependency; this benchmark is what chose psycopg)")
    with contextlib.ExitStack() as stack:
        if args.dsn:
            server_dsn = args.dsn
        else:
            server = stack.enter_context(ThrowawayPostgres(settings={"fsync": args.fsync}))
            server_dsn = server.dsn
        with psycopg.connect(server_dsn) as conn:
            version = conn.execute("SELECT current_setting('server_version'), "
                                   "current_setting('fsync')").fetchone()
        print(f"PostgreSQL {version[0] if version else '?'}, fsync "
              f"{version[1] if version else '?'}; {args.transactions:,} opt-outs, "
              f"{args.lookups:,} lookups, {args.numbers:,} numbers imported; median of "
              f"{args.rounds} rounds", flush=True)
        rounds: dict[str, list[Metrics]] = {driver: [] for driver in DRIVERS}
        order = list(DRIVERS)
        for number in range(args.rounds):
            for driver in order:
                with fresh_database(server_dsn, prefix="stopgate_bench") as dsn:
                    print(f"... round {number + 1}: {driver}", flush=True)
                    rounds[driver].append(DRIVERS[driver](dsn, args))
            order = order[1:] + order[:1]
        print(table(rounds))


if __name__ == "__main__":
    main()
