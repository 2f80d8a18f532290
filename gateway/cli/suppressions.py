"""``stopgate suppressions import|export|add|remove|check|history|erase``: from a shell.

``history NUMBER [--account A] [--format json|csv]`` prints every event of the
number (with ``--account``: that account's and the operator-wide ones) and its
erasures. ``erase NUMBER [--account A]`` replaces the number by its keyed hash
(``storage.hash_key``) in the ledger, the cache and the campaign notes: in
account A's records, or without ``--account`` in every scope; exit 1 when
stopgate holds nothing of it there.

The commands work on the ledger file itself (``storage.ledger``, by default
``data_dir/ledger.sqlite3``), so they run with or without a gateway, and they go
through ``Suppressions`` like every other writer: the ledger commits first, then
the Redis cache is written through. Which Redis:

1. ``storage.redis_url`` when set. If it does not answer, only the ledger is
   written and the command says so (exit 0: the change is durable). Gateways on
   that Redis compare the ledger's count with the cache's every ``verify_every``
   (60 s, and at once when they start) and rebuild on a difference that holds; an
   add and a remove that cancel out are not noticed. Running the command again
   once Redis answers (it is idempotent), or ``redis-cli DEL {sp}:ready`` (every
   gateway rebuilds from the ledger), makes it effective.
2. Otherwise the embedded Redis of a gateway running on this ``data_dir``
   (``data_dir/redis.sock``, when it answers PING): the change is effective for
   that gateway's next message. (A ``data_dir`` path over ~90 characters puts that
   socket in a temporary directory the CLI cannot find: see 3.)
3. Otherwise no gateway runs here. If one ran before, its cache is in
   ``data_dir``'s AOF and the next gateway loads it as complete, so the command
   starts that Redis privately for its own duration and writes through to it (a
   gateway started meanwhile refuses to start, saying another stopgate uses the
   data_dir; start it again). If none ever ran, there is no cache: the first
   gateway builds it from the ledger.

If a write-through fails midway, the cache marker is dropped (every gateway
rebuilds from the ledger, refusing promotional traffic until done) and the
command says so.

Scope: ``--account A`` works on account A's own list (A must be configured);
without it, ``add``/``remove``/``import`` work on the operator-wide list
(``"*"``, which blocks every account), while ``export`` and ``check`` show
every scope. National numbers are read with ``--region``, which defaults to the
account's ``default_region``, else the first configured account's, else FR.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import socket
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import phonenumbers
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from gateway.config.model import Config
from gateway.inbound.keywords import campaign_key
from gateway.ledger.engines import open_ledger
from gateway.ledger.model import LedgerError, counted, counted_if_any
from gateway.ledger.threaded import AsyncLedger
from gateway.observability.metrics import Metrics
from gateway.process.redis_embedded import EmbeddedRedis, EmbeddedRedisError
from gateway.storage.redis_client import describe, open_redis, scan_keys
from gateway.suppression.cache import SuppressionCache
from gateway.suppression.erasure import KEY_META as ERASURE_KEY_META
from gateway.suppression.erasure import ErasureNotConfigured, hasher_for
from gateway.suppression.evidence import history_csv, history_json
from gateway.suppression.store import OPERATOR_SCOPE, ImportReport, Suppressions, parse_number

EXIT_OK, EXIT_FAILED = 0, 1
#: Errors printed after an import (the report keeps the first 100).
SHOWN_ERRORS = 20
_PROGRESS_EVERY = 0.1  # seconds: at most 10 updates a second
_CONNECT_TIMEOUT = 2.0
_LOADING_WAIT = 30.0


class CommandError(Exception):
    """What to print (on stderr) before exiting 1."""


def run(action: str, config: Config, args: argparse.Namespace) -> int:
    """Run one suppressions action; the exit code."""
    from gateway.process.eventloop import run as run_loop

    command = {"import": _import, "export": _export, "add": _add, "remove": _remove,
               "check": _check, "history": _history, "erase": _erase}[action]
    try:
        target = _target(config, args)
        return run_loop(command(config, args, target))
    except CommandError as problem:
        print(f"stopgate suppressions {action}: {problem}", file=sys.stderr)
    except (LedgerError, sqlite3.Error) as exc:
        print(f"stopgate suppressions {action}: the ledger failed: {exc}", file=sys.stderr)
    return EXIT_FAILED


# --- what a command works on ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """The scope a command writes (or reads) and the region for national numbers."""

    scope: str  # an account's system_id, or "*"
    account: str | None
    region: str

    @property
    def label(self) -> str:
        return f"account {self.account}" if self.account else "the operator-wide list (*)"


def _target(config: Config, args: argparse.Namespace) -> Target:
    accounts = {account.system_id: account for account in config.accounts}
    name: str | None = args.account
    if name is not None and name not in accounts:
        known = ", ".join(sorted(accounts)) or "none"
        raise CommandError(f"unknown account {name!r}: --account takes the system_id of a "
                           f"configured account ({known})")
    region: str | None = getattr(args, "region", None)
    if region is not None:
        region = region.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise CommandError(f"--region {args.region!r}: expected an ISO country code "
                               f"such as FR or GB")
    elif name is not None:
        region = accounts[name].default_region
    else:
        region = config.accounts[0].default_region if config.accounts else "FR"
    return Target(name or OPERATOR_SCOPE, name, region)


def _number(text: str, target: Target) -> str:
    number = parse_number(text, target.region)
    if number is None:
        raise CommandError(f"{text!r} is not a valid phone number: give it in E.164 "
                           f"(+33612345678) or in national format for {target.region} "
                           f"(--region to change)")
    return number


@dataclass
class Store:
    """The ledger, and the Redis cache when one is reachable (see the module docstring)."""

    suppressions: Suppressions
    ledger: AsyncLedger
    cache: SuppressionCache | None
    #: Where the cache is, for the notes on stderr.
    cache_note: str


@contextlib.asynccontextmanager
async def open_store(config: Config, *, writes: bool) -> AsyncIterator[Store]:
    """The ledger (and, for ``writes``, the cache) for one command."""
    try:
        ledger = AsyncLedger(open_ledger(config.storage.ledger, config.server.data_dir))
    except (LedgerError, NotImplementedError, OSError) as exc:
        raise CommandError(str(exc)) from exc
    redis: aioredis.Redis | None = None
    private: EmbeddedRedis | None = None
    note = ""
    try:
        if writes:
            redis, private, note = await _reach_redis(config)
        hasher = hasher_for(config.storage.hash_key)
        cache = SuppressionCache(redis, hasher=hasher) if redis is not None else None
        store = Store(Suppressions(ledger, cache, Metrics(), hasher=hasher), ledger, cache, note)
        if redis is not None:
            store.suppressions.forget.append(_campaign_notes_forgetter(redis))
        yield store
        if cache is not None and cache.dirty:
            await _invalidate(cache)
    finally:
        await ledger.aclose()
        if redis is not None:
            await redis.aclose()
        if private is not None:
            await asyncio.to_thread(private.stop)


async def _reach_redis(config: Config) -> tuple[aioredis.Redis | None, EmbeddedRedis | None, str]:
    """(client, private server to stop afterwards, note) -- see the module docstring."""
    storage = config.storage
    url = storage.redis_url
    if url or storage.redis_sentinels:
        client = await _answering(open_redis(
            storage, url, max_connections=4, pool_wait=_CONNECT_TIMEOUT,
            command_timeout=_CONNECT_TIMEOUT))
        where = describe(storage, url)
        if client is not None:
            return client, None, f"written through to Redis at {where}"
        return None, None, (
            f"warning: Redis at {where} does not answer: the change is in the ledger "
            f"only. Gateways on that Redis notice a changed count within a minute and rebuild "
            f"their cache from the ledger (an add and a remove that cancel out go unnoticed); "
            f"to make it effective now, run this again when Redis answers, or drop the cache "
            f"marker (redis-cli DEL {{sp}}:ready) so every gateway rebuilds")
    embedded = EmbeddedRedis(config.server.data_dir)
    client = await _ping(embedded.url)
    if client is None and _listening(embedded.socket_path):
        # A gateway's Redis still loading its AOF answers LOADING: wait for it rather
        # than start another one (which would take its socket path away).
        client = await _ping(embedded.url, wait=_LOADING_WAIT)
        if client is None:
            raise CommandError(f"a Redis listens on {embedded.socket_path} but does not "
                               f"answer PING; try again once the gateway has started")
    if client is not None:
        return client, None, "written through to the running gateway's Redis: effective now"
    data_dir = config.server.data_dir
    if not (data_dir / "redis.aof").exists() and not (data_dir / "appendonlydir").exists():
        return None, None, (f"no gateway has run on {data_dir} yet, so there is no cache: "
                            f"the first gateway builds it from the ledger")
    try:
        await asyncio.to_thread(embedded.start)
    except EmbeddedRedisError as exc:
        client = await _ping(embedded.url)  # a gateway started just now: use its Redis
        if client is not None:
            return client, None, "written through to the running gateway's Redis: effective now"
        raise CommandError(f"no gateway runs on {data_dir}, and its cache could not be "
                           f"updated: {exc}") from exc
    client = await _ping(embedded.url)
    if client is None:
        await asyncio.to_thread(embedded.stop)
        raise CommandError(f"the Redis started on {data_dir} does not answer")
    return client, embedded, (f"no gateway runs on {data_dir}: updated the cache it keeps "
                              f"there, for the next one")


async def _ping(url: str, wait: float = 0.0) -> aioredis.Redis | None:
    """A client of the Redis at ``url`` once it answers PING (trying for ``wait`` s)."""
    return await _answering(aioredis.Redis.from_url(url, socket_connect_timeout=_CONNECT_TIMEOUT),
                            wait)


async def _answering(client: aioredis.Redis, wait: float = 0.0) -> aioredis.Redis | None:
    """``client`` once it answers PING (trying for ``wait`` s); closed and None if not."""
    deadline = time.monotonic() + wait
    while True:
        try:
            if await asyncio.wait_for(client.ping(), _CONNECT_TIMEOUT):
                return client
        except (RedisError, OSError, TimeoutError):
            pass
        if time.monotonic() >= deadline:
            await client.aclose()
            return None
        await asyncio.sleep(0.2)


def _listening(path: str) -> bool:
    """True if a process accepts connections on the unix socket ``path``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(_CONNECT_TIMEOUT)
        try:
            probe.connect(path)
        except OSError:
            return False
    return True


async def _invalidate(cache: SuppressionCache) -> None:
    try:
        await cache.invalidate("a write-through from the CLI failed")
    except RedisError as exc:
        _note(f"warning: writing to the cache failed and so did dropping its marker ({exc}): "
              f"gateways may miss this change until they notice a changed count; run "
              f"redis-cli DEL {{sp}}:ready so that every gateway rebuilds from the ledger")
        return
    _note("warning: writing to the cache failed; its marker was dropped, so every gateway "
          "rebuilds it from the ledger (promotional traffic waits until then)")


def _note(text: str) -> None:
    print(text, file=sys.stderr)


# --- single numbers -------------------------------------------------------------------------


async def _add(config: Config, args: argparse.Namespace, target: Target) -> int:
    number = _number(args.number, target)
    async with open_store(config, writes=True) as store:
        event = await store.suppressions.optout(target.scope, number, source="cli")
        _note(f"cache: {store.cache_note}")
    if target.account is not None:
        state = "opted out of" if event.changed else "already opted out of"
    else:
        state = "added to" if event.changed else "already on"
    print(f"{number}: {state} {target.label}")
    return EXIT_OK


async def _remove(config: Config, args: argparse.Namespace, target: Target) -> int:
    number = _number(args.number, target)
    async with open_store(config, writes=True) as store:
        event = await store.suppressions.optin(target.scope, number, source="cli")
        _note(f"cache: {store.cache_note}")
        remaining = await store.suppressions.scopes(number)
    if target.account is not None:
        state = "opted back in to" if event.changed else "was not opted out of"
    else:
        state = "removed from" if event.changed else "was not on"
    print(f"{number}: {state} {target.label}")
    blocking = [scope for scope in remaining
                if target.account is None or scope in (target.account, OPERATOR_SCOPE)]
    if blocking:
        print(f"{number}: still suppressed for {', '.join(_scope_name(s) for s in blocking)}")
    return EXIT_OK


async def _check(config: Config, args: argparse.Namespace, target: Target) -> int:
    number = _number(args.number, target)
    async with open_store(config, writes=False) as store:
        rows = [(row, "") for row in await store.ledger.suppressions_of(number)]
        hasher = store.suppressions.hasher
        if hasher is not None:  # an erased number's opt-outs are kept under its hash
            rows += [(row, "  (erased: kept under its hash)")
                     for row in await store.ledger.suppressions_of(hasher(number))]
        elif await store.ledger.meta_get(ERASURE_KEY_META) is not None:
            _note("numbers were erased in this ledger and storage.hash_key is not set: an "
                  "erased number's opt-outs cannot be seen without it")
    if target.account is not None:
        rows = [(row, note) for row, note in rows
                if row.scope in (target.account, OPERATOR_SCOPE)]
    where = f" for account {target.account}" if target.account else ""
    if not rows:
        print(f"{number}: not suppressed{where}")
        return EXIT_OK
    print(f"{number}: suppressed{where}")
    width = max(len(_scope_name(row.scope)) for row, _ in rows)
    for row, note in sorted(rows, key=lambda pair: pair[0].scope):
        print(f"  {_scope_name(row.scope):<{width}}  since {row.since.isoformat()}  "
              f"source {row.source}{note}")
    return EXIT_OK


async def _history(config: Config, args: argparse.Namespace, target: Target) -> int:
    number = _number(args.number, target)
    scopes = None if target.account is None else [target.account, OPERATOR_SCOPE]
    async with open_store(config, writes=False) as store:
        rows = await store.suppressions.history(number, scopes)
    if args.format == "csv":
        sys.stdout.write(history_csv(rows))
    else:
        sys.stdout.write(history_json(number, scopes, rows).decode() + "\n")
    sys.stdout.flush()
    return EXIT_OK


async def _erase(config: Config, args: argparse.Namespace, target: Target) -> int:
    number = _number(args.number, target)
    where = f"account {target.account}" if target.account else "every scope"
    async with open_store(config, writes=True) as store:
        try:
            result = await store.suppressions.erase(target.account, number, source="cli")
        except ErasureNotConfigured as exc:
            raise CommandError(f"{exc}; nothing was changed") from exc
        _note(f"cache: {store.cache_note}")
    if not result.found:
        print(f"{number}: stopgate holds nothing of it in {where}: nothing to erase",
              file=sys.stderr)
        return EXIT_FAILED
    if result.erased_before is not None:
        print(f"{number}: erased already in {where} (first at "
              f"{result.erased_before.isoformat()}); nothing held in clear")
        return EXIT_OK
    # The review list and held messages are named only when the number had some there.
    also = counted_if_any(
        (result.reviews, "reply on the review list", "replies on the review list"),
        (result.held, "held message", "held messages"))
    print(f"{number}: erased in {where}: {counted(result.events, 'event', 'events')}, "
          f"{counted(result.suppressions, 'suppression', 'suppressions')} (kept in force "
          f"under the hash), {counted(result.tokens, 'link token', 'link tokens')}, "
          f"{counted(result.webhooks, 'webhook delivery', 'webhook deliveries')}{also} now "
          f"hold only its keyed hash")
    return EXIT_OK



def _campaign_notes_forgetter(redis: aioredis.Redis
                              ) -> Callable[[str | None, str], Awaitable[None]]:
    """Erasure: delete the campaign notes of a number (one account's, or every one's)."""

    async def forget(scope: str | None, number: str) -> None:
        digits = number.removeprefix("+")
        if scope is not None:
            await redis.delete(campaign_key(scope, number))
            return
        async for keys in scan_keys(redis, f"cp:*:{digits}"):
            for key in keys:
                await redis.delete(key)

    return forget


def _scope_name(scope: str) -> str:
    return "* (every account)" if scope == OPERATOR_SCOPE else scope


# --- bulk -----------------------------------------------------------------------------------


async def _export(config: Config, args: argparse.Namespace, target: Target) -> int:
    out = sys.stdout
    async with open_store(config, writes=False) as store, \
            contextlib.aclosing(store.suppressions.export_csv(target.account)) as rows:
        async for text in rows:
            out.write(text)
    out.flush()
    return EXIT_OK


async def _import(config: Config, args: argparse.Namespace, target: Target) -> int:
    name: str = args.file
    source, total = _open_numbers(name)
    progress = Progress(total, sys.stderr)
    try:
        async with open_store(config, writes=True) as store:
            report = await store.suppressions.import_lines(
                target.scope, progress.count(source), target.region, source="import")
            progress.finish()
            _note(f"cache: {store.cache_note}")
    except OSError as exc:
        raise CommandError(f"cannot read {name}: {exc.strerror or exc}") from exc
    finally:
        progress.finish()
        source.close()
    _print_report(report, name, target)
    if report.invalid and not report.added + report.already:
        return EXIT_FAILED
    return EXIT_OK


def _open_numbers(name: str) -> tuple[TextIO, int | None]:
    """The file (or stdin for "-") as text, and its line count when it is a regular file."""
    if name == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", errors="replace"), None
    path = Path(name)
    try:
        total = _count_lines(path) if path.is_file() else None
        return path.open(encoding="utf-8-sig", errors="replace"), total
    except OSError as exc:
        raise CommandError(f"cannot read {name}: {exc.strerror or exc}") from exc


def _count_lines(path: Path) -> int:
    """Lines in a file, a last one without a newline included: ~10 ms for a million."""
    count, last = 0, b"\n"
    with path.open("rb") as raw:
        while block := raw.read(1 << 20):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


def _print_report(report: ImportReport, name: str, target: Target) -> None:
    source = "stdin" if name == "-" else name
    print(f"imported {source} into {target.label}: {report.lines} lines, {report.added} added, "
          f"{report.already} already suppressed, {report.invalid} invalid")
    for line, error in report.errors[:SHOWN_ERRORS]:
        print(f"  line {line}: {error}")
    hidden = report.invalid - min(len(report.errors), SHOWN_ERRORS)
    if hidden > 0:
        print(f"  ... and {hidden} more invalid lines")


class Progress:
    """``\\r{done}/{total} numbers  {rate}/s`` on a stream, at most 10 times a second."""

    def __init__(self, total: int | None, stream: TextIO) -> None:
        self.total = total
        self.stream = stream
        self.done = 0
        self.started = time.monotonic()
        self._shown = 0.0
        self._finished = False

    def count(self, lines: Iterable[str]) -> Iterator[str]:
        """``lines``, counted as they are read."""
        clock = time.monotonic
        for line in lines:
            self.done += 1
            if self.done & 1023 == 0 and clock() - self._shown >= _PROGRESS_EVERY:
                self.show()
            yield line

    def show(self) -> None:
        now = time.monotonic()
        self._shown = now
        rate = self.done / max(now - self.started, 1e-6)
        of = f"/{self.total}" if self.total is not None else ""
        self.stream.write(f"\r{self.done}{of} numbers  {rate:.0f}/s")
        self.stream.flush()

    def finish(self) -> None:
        """The final count, and the end of the line (once)."""
        if self._finished:
            return
        self._finished = True
        if self.total is not None and self.done > self.total:
            self.total = self.done  # the file grew while being read
        self.show()
        self.stream.write("\n")
        self.stream.flush()


__all__ = ["CommandError", "Progress", "Store", "Target", "open_store", "run"]
