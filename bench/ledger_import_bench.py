"""Bulk import into the ledger: ``python bench/ledger_import_bench.py [N] [DIR] [--postgres URL]``.

Imports N (default 1,000,000) distinct E.164 numbers into a fresh ledger (events +
state, chunked transactions; SQLite: a file in DIR, WAL, synchronous=FULL;
PostgreSQL: a schema of its own in the database URL names, dropped after), then
the same N again (all "already"), then N/2 numbers half of them new into another
account over the existing state; prints wall time and rate for each, the cache
rebuild read, the size on disk, and the latency of one STOP transaction (one
opt-out with its webhook outbox row, committed durably) over 500 in a row.
Issues 4 and 15 ask for 1 M numbers in well under 60 s, state included.
"""

from __future__ import annotations

import argparse
import random
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import psycopg

from gateway.ledger.model import ImportResult, Ledger, OptEvent
from gateway.ledger.postgres import PostgresLedger
from gateway.ledger.sqlite import SqliteLedger

AT = datetime(2026, 11, 23, 15, 4, 5, tzinfo=UTC)


def numbers(n: int, seed: int) -> Iterator[str]:
    """n distinct French mobile numbers in random order (as a CSV would give them)."""
    for value in random.Random(seed).sample(range(100_000_000), n):
        yield f"+336{value:08d}"


def timed(label: str, ledger: Ledger, scope: str, source: Iterator[str]) -> ImportResult:
    start = time.perf_counter()
    result = ledger.import_numbers(scope, source, at=AT)
    elapsed = time.perf_counter() - start
    print(f"{label:<34} {elapsed:7.2f} s  {result.total / elapsed:>10,.0f} numbers/s  "
          f"added {result.added:,}  already {result.already:,}")
    return result


def run(ledger: Ledger, n: int, sizes: Callable[[], str]) -> None:
    first = timed("first import (all new)", ledger, "acme", numbers(n, 1))
    assert first.added == n, first
    again = timed("same numbers again (all already)", ledger, "acme", numbers(n, 1))
    assert again.already == n, again
    half = [*numbers(n // 4, 1), *numbers(n // 4, 2)]  # overlap with seed 1 where equal
    timed("n/2, other scope (all new)", ledger, "other", iter(half))
    timed("n/2, first scope (about half new)", ledger, "acme", iter(half))
    start = time.perf_counter()
    pairs = sum(len(batch) for batch in ledger.iter_suppressed())
    print(f"{'iter_suppressed (cache rebuild)':<34} {time.perf_counter() - start:7.2f} s"
          f"  {pairs:,} pairs")
    start = time.perf_counter()
    count = ledger.count_suppressed()
    print(f"{'count_suppressed()':<34} {time.perf_counter() - start:7.2f} s  {count:,}")
    print(f"size: {sizes()}")
    took = []
    for i in range(500):
        event = OptEvent(number=f"+3375{i:08d}", scope="acme", event="optout",
                         source="keyword", keyword="STOP", notify=("acme",))
        start = time.perf_counter()
        ledger.record([event])
        took.append(time.perf_counter() - start)
    took.sort()
    print(f"{'one STOP transaction (500 in a row)':<34} p50 {statistics.median(took) * 1e3:.2f} ms"
          f"  p99 {took[int(len(took) * 0.99)] * 1e3:.2f} ms  max {took[-1] * 1e3:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=1_000_000)
    parser.add_argument("dir", nargs="?", help="where the SQLite file goes (default: tmp)")
    parser.add_argument("--postgres", metavar="URL",
                        help="bench the PostgreSQL ledger in this database instead")
    args = parser.parse_args()
    n = args.n
    if args.postgres:
        schema = f"stopgate_bench_{secrets.token_hex(4)}"
        with psycopg.connect(args.postgres, autocommit=True) as admin:
            admin.execute(f"CREATE SCHEMA {schema}")
            try:
                sep = "&" if "?" in args.postgres else "?"
                url = f"{args.postgres}{sep}options={quote(f'-csearch_path={schema}', safe='')}"
                ledger: Ledger = PostgresLedger(url)
                try:
                    print(f"ledger import bench: {n:,} numbers into PostgreSQL schema {schema}")
                    run(ledger, n, lambda: " ".join(
                        f"{name} {size / 1e6:.0f} MB" for name, size in admin.execute(
                            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
                            "JOIN pg_namespace s ON s.oid = c.relnamespace WHERE "
                            "s.nspname = %s AND c.relkind = 'r' ORDER BY 2 DESC",
                            (schema,)).fetchall()))
                finally:
                    ledger.close()
            finally:
                admin.execute(f"DROP SCHEMA {schema} CASCADE")
        return
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = Path(tmp) / "ledger.sqlite3"
        ledger = SqliteLedger(path)
        try:
            print(f"ledger import bench: {n:,} numbers into {path}")
            run(ledger, n, lambda: ", ".join(
                f"{p.name} {p.stat().st_size / 1e6:.0f} MB" for p in Path(tmp).iterdir()))
        finally:
            ledger.close()


if __name__ == "__main__":
    main()
