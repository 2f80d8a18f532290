"""Keeps the suppression cache complete: watches its marker and rebuilds it from the ledger.

One ``CacheKeeper`` per gateway process, as a background task. Every
``interval`` (and at once after any Redis error the cache saw) it asks whether
the cache is ready; when it is not and Redis answers, it rebuilds it (only one
instance loads; the others wait for its marker). While Redis is down it backs
off. Every ``verify_every`` it compares the ledger's count with the cache's
members (less the generation's recorded baseline): a difference that holds
still across ``settle`` seconds means writes reached the ledger but not Redis
(a Redis restarted from an AOF that lost its last second, a gateway that died
between the two), so the cache is invalidated and rebuilt. After a good
verify it also re-lays out, online (lookups keep being answered), a
generation whose write-through growth or shrinkage left its buckets far from
the built size (only when the cache's bucket count is not fixed).

``policy``, when given, is awaited before the first check and again after any
Redis error (a failover may have put another server behind the same address):
it raises when that Redis may evict keys (gateway/storage/redis_client.py), and
the cache is not ready until it passes. After a Redis error the counts are also
verified before the cache is called ready again: a replica promoted by Sentinel
(or a Cluster failover) may lack the last write-throughs its dead master had
not yet replicated, and a steady difference rebuilds the cache from the ledger.

``ready``, ``rebuilding``, ``progress``, ``suppressed`` and ``redis_up`` are
the last known state; ``on_change(keeper)`` is called whenever one of them changes, which is
where the gateway updates its metrics and readiness.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import RedisError

from gateway.lifecycle import Background, backoff
from gateway.observability.logs import fields
from gateway.suppression.cache import SuppressionCache, relayout_bits
from gateway.suppression.source import LedgerSource, ledger_count

__all__ = ["CacheKeeper", "run_keeper"]

log = logging.getLogger("stopgate.suppression")


class CacheKeeper:
    """The background task that keeps a SuppressionCache complete."""

    def __init__(
        self,
        cache: SuppressionCache,
        ledger: LedgerSource,
        *,
        on_change: Callable[[CacheKeeper], None] | None = None,
        interval: float = 1.0,
        max_backoff: float = 10.0,
        verify_every: float | None = 60.0,
        settle: float = 1.0,
        batch: int = 10_000,
        log_every: float = 5.0,
        fail_closed: bool = True,
        policy: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.cache = cache
        self.ledger = ledger
        self.on_change = on_change
        self.interval = interval
        self.max_backoff = max_backoff
        self.verify_every = verify_every
        self.settle = settle
        self.batch = batch
        self.log_every = log_every
        #: policy.fail_closed, for the log: what an unknown state means for promotional MTs.
        self.fail_closed = fail_closed
        #: Last known: the cache is complete (promotional traffic may be looked up).
        self.ready = False
        self.rebuilding = False
        #: (entries loaded, entries to load) of the current or last rebuild.
        self.progress: tuple[int, int] = (0, 0)
        #: Members of the ready generation, when last read.
        self.suppressed: int | None = None
        self.rebuilds = 0
        self.last_error: str | None = None
        #: Redis answered the last check (False after a Redis or socket error; None: not yet).
        self.redis_up: bool | None = None
        self._ready_event = asyncio.Event()
        self._next_verify = 0.0
        self._last_progress_log = 0.0
        self._was_ready = False  # ever ready: the first readiness at start is no recovery
        self._runner = Background("suppression-cache-keeper", self.run)
        self.policy = policy
        self._policy_ok = policy is None
        self._recheck = False  # after a Redis error: verify the counts before ready

    # --- running ----------------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        """Run in the background; the task is kept on the keeper."""
        return self._runner.start()

    async def stop(self) -> None:
        await self._runner.stop()

    async def wait_ready(self) -> None:
        """Until the cache is known complete."""
        await self._ready_event.wait()

    async def run(self) -> None:
        """Check, rebuild when needed, back off while Redis or the ledger fails; forever."""
        failures = 0
        while True:
            self.cache.trouble.clear()
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                delay = backoff(failures, self.interval, self.max_backoff)
                error = f"{type(exc).__name__}: {exc}"
                redis_up = False if isinstance(exc, (RedisError, OSError)) else self.redis_up
                if redis_up is False:
                    # Another server may answer next (a failover): ask its policy again, and
                    # compare counts before calling the cache ready (it may have lost the
                    # last write-throughs, made on a master that died before replicating).
                    self._policy_ok = self.policy is None
                    self._recheck = True
                self._update(ready=await self._still_ready(), rebuilding=False, last_error=error,
                             redis_up=redis_up)
                level = logging.ERROR if failures == 1 else logging.DEBUG
                log.log(level, "suppression cache check failed", extra=fields(
                    "suppression_check_failed", error=error, retry_in_s=delay,
                    failures=failures),
                    exc_info=failures == 1 and not isinstance(exc, (RedisError, OSError)))
                await asyncio.sleep(delay)
                continue
            if failures:
                log.info("suppression cache check succeeds again", extra=fields(
                    "suppression_check_recovered", failures=failures))
            failures = 0
            self._update(last_error=None, redis_up=True)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self.cache.trouble.wait()
            await asyncio.sleep(min(0.05, self.interval))  # a storm of failing lookups

    async def _still_ready(self) -> bool:
        """After a failure: is the cache still complete? (An online rebuild may have failed.)"""
        if not self._policy_ok or self._recheck:
            return False
        try:
            return await self.cache.is_ready()
        except Exception:
            return False

    async def check(self) -> None:
        """One pass: invalidate after a lost write, rebuild if not ready; then, when due,
        verify the counts and re-lay out a generation that outgrew its buckets."""
        cache = self.cache
        if not self._policy_ok and self.policy is not None:
            await self.policy()
            self._policy_ok = True
        if cache.dirty:
            await cache.invalidate("a write-through to Redis failed on this instance")
        ready = await cache.is_ready()
        if ready and self._recheck:
            ready = await self.verify()  # a steady difference invalidates: rebuilt below
            self._recheck = not ready
        self._update(ready=ready)
        if not ready:
            self._recheck = False  # a rebuild reads the whole ledger
            await self._rebuild(online=False)
        elif self.verify_every is not None and time.monotonic() >= self._next_verify:
            self._next_verify = time.monotonic() + self.verify_every
            if await self.verify():
                state = await cache.state()
                bits = relayout_bits(state) if cache.buckets is None else None
                if bits is not None and state.building is None:
                    log.info("suppression cache outgrew its buckets: re-laying it out",
                             extra=fields("suppression_relayout", members=state.members,
                                          bits=state.bits, new_bits=bits))
                    await self._rebuild(online=True)

    async def _rebuild(self, *, online: bool) -> None:
        started = time.monotonic()
        self._update(rebuilding=True, progress=(0, 0))
        try:
            # Not online: this pass found no ready generation; one that another
            # instance finished since is kept, not rebuilt again.
            loaded = await self.cache.rebuild(
                self.ledger, progress=self._on_progress, batch=self.batch, online=online,
                unless_ready=not online)
        finally:
            self._update(rebuilding=False)
        self._update(rebuilds=self.rebuilds + 1)
        members = await self.cache.count()
        self._update(ready=await self.cache.is_ready(), suppressed=members)
        log.info("suppression cache rebuilt", extra=fields(
            "suppression_rebuild_done", seconds=round(time.monotonic() - started, 3),
            entries=loaded, members=members, online=online))
        if self.verify_every is not None:
            self._next_verify = time.monotonic() + self.verify_every

    def _on_progress(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last_progress_log >= self.log_every or done >= total:
            self._last_progress_log = now
            log.info("suppression cache rebuild progress", extra=fields(
                "suppression_rebuild_progress", entries=done, total=total,
                percent=round(100.0 * done / total if total else 100.0)))
        self._update(progress=(done, total))

    # --- drift between the ledger and the cache -----------------------------------------

    async def verify(self) -> bool:
        """Compare counts; invalidate on a steady difference. True if the cache looks whole.

        Steady: the same non-zero difference three times, ``settle`` apart (an import
        between its ledger commit and its write-through shows a passing one).
        """
        first = await self._drift()
        if first is None or first[1] == 0:
            return True
        for _ in range(2):
            await asyncio.sleep(self.settle)
            if await self._drift() != first:
                return True  # writes in flight, a rebuild meanwhile, or a fresh baseline
        await self.cache.invalidate(
            f"the ledger and the cache disagree by {first[1]} entries (generation {first[0]})"
        )
        self._update(ready=False)
        return False

    async def _drift(self) -> tuple[str, int] | None:
        """(generation, ledger count - members - baseline); None: nothing to compare yet."""
        in_ledger = await ledger_count(self.ledger)
        state = await self.cache.state()
        self._update(suppressed=state.members if state.ready is not None else None)
        if state.ready is None:
            return None
        if state.base is None:  # the rebuilding instance died before recording it
            await self.cache.calibrate(self.ledger, state.ready)
            return None
        return state.ready, in_ledger - state.members - state.base

    # --- state ---------------------------------------------------------------------------

    def _update(self, **changes: Any) -> None:
        changed = False
        was_ready = self.ready
        for name, value in changes.items():
            if getattr(self, name) != value:
                setattr(self, name, value)
                changed = True
        if self.ready != was_ready:
            self._log_readiness()
        if self.ready:
            self._ready_event.set()
        else:
            self._ready_event.clear()
        if changed and self.on_change is not None:
            try:
                self.on_change(self)
            except Exception:
                log.exception("suppression cache on_change callback failed",
                              extra=fields("suppression_keeper_failed"))


    def _log_readiness(self) -> None:
        """fail_closed_on when the suppression state becomes unknown, fail_closed_off when it
        is known again: while on, promotional traffic is refused (or, with policy.fail_closed
        = false, passes unchecked)."""
        promotional = "refused" if self.fail_closed else "unchecked"
        if not self.ready:
            log.warning("suppression state unknown: promotional traffic %s until the cache "
                        "is complete", promotional, extra=fields(
                            "fail_closed_on", promotional=promotional, error=self.last_error))
            return
        level = logging.WARNING if self._was_ready else logging.INFO
        self._was_ready = True
        log.log(level, "suppression state known: promotional traffic checked again",
                extra=fields("fail_closed_off", promotional="checked",
                             suppressed=self.suppressed))


async def run_keeper(
    cache: SuppressionCache,
    ledger: LedgerSource,
    on_change: Callable[[CacheKeeper], None] | None = None,
    interval: float = 1.0,
    **options: Any,
) -> None:
    """Run a CacheKeeper until cancelled (see CacheKeeper for ``options``)."""
    await CacheKeeper(cache, ledger, on_change=on_change, interval=interval, **options).run()
