"""The composition root: every long-lived object, built from the config in one place,
and started and stopped through one mechanism.

``build(config, redis_url, slot=...)`` constructs everything, in dependency order, and
returns ``Components``: a frozen record with no empty fields and nothing set afterwards.
It is synchronous and opens no socket. The one thing that must exist before it is
Redis's URL, and the embedded Redis (when ``storage.redis_url`` is empty) is a process
to start, so ``Gateway.start`` does it in two steps: the embedded Redis first (the
bottom entry of its exit stack), then ``build``. An async ``build`` would mix wiring
with starting, and a half-built set of components would have to be torn down by hand.

Cycles are broken where the data does not actually loop:

- the sender server and the receipt router share a ``BoundSenders`` directory
  (gateway/senders/bound.py), built first from the accounts; the server fills it, the
  router reads it and subscribes, when it is built, to hear when a receiver binds;
- the router publishes queue notices under a ``NoticeTag`` built before it, and the
  listener (``QueueNotices``) that calls the router back is built after it;
- the one true loop (a carrier's MO -> router -> keyword handler -> pipeline -> carrier
  pool -> router) is closed by the router's MO hook, a closure over the ``keywords``
  local in ``build``: the router calls it only for an MO, once the gateway has
  started, long after ``build`` has returned.

``start(components, stack, shutdown)`` starts each component and pushes its drain and
stop onto a ``contextlib.AsyncExitStack``, like aiohttp's ``cleanup_ctx``: closing the
stack stops them in the reverse order of start-up, by construction, each one even if
one stopped before it raised. Each component enters through ``step(stack, shutdown,
start=, drain=, stop=)``, all three optional: ``start()``, ``drain(timeout)`` (wait,
bounded, for work under way) and ``stop()``; on the way out each one drains, then stops,
before the one started before it.

Start-up is ordered so that this reverse is today's shutdown:

    start:  Redis client -> ledger -> webhook worker -> ledger probe -> cache keeper
            -> carrier pool (links connect) -> HTTP -> pipeline -> answered parts
            (the previous run's notes are failed here) -> campaign notes -> keyword
            replies -> refused-part receipts -> policy (REJECTD receipts) -> send-time
            stage (caps being counted) -> holder (held messages being written)
            -> sender listeners (plain, then TLS) -> gauges -> queue notices -> periodic flusher
            -> held-message releaser -> configuration hash registration
    stop:   the reverse: the hash registration is withdrawn; the releaser stops claiming
            and its releases under way finish (they need the pipeline, the carrier pool
            and the ledger, stopped after it), its other claims given back; the flusher,
            notices and gauges end; the sender server stops
            accepting and drains in-flight submits (bounded), unbinds; then the REJECTD
            and UNDELIV receipts, keyword replies, campaign notes, answered parts and
            the pipeline's id-map writes drain; then HTTP, the carrier pool, the keeper,
            the ledger probe, webhooks (claims given back before the ledger closes),
            the ledger, Redis, the embedded Redis.

So carrier links (and the HTTP API) start before the sender listener, where they used
to start after it: a sender's first submit finds carriers connecting rather than none
started, and the shutdown order, which is what senders and carriers observe, is unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web

from gateway.carriers.pool import UpstreamPool
from gateway.config.fingerprint import config_hash
from gateway.config.model import Config, Server
from gateway.http.app import HttpApi
from gateway.http.guard import ConnectionGuard, GuardedSite
from gateway.inbound.keywords import CampaignMemory, KeywordHandler
from gateway.inbound.notices import NoticeTag, QueueNotices
from gateway.inbound.receipts import build_receipt
from gateway.inbound.reviews import ReviewList
from gateway.inbound.router import DlrRouter
from gateway.instances.counters import SharedCounters
from gateway.instances.membership import Membership, Totals
from gateway.ledger.engines import open_ledger
from gateway.ledger.health import LedgerHealth
from gateway.ledger.threaded import AsyncLedger
from gateway.lifecycle import Background, TaskSet
from gateway.message import Message
from gateway.mt.link_tokens import TokenCache
from gateway.mt.lookups import LookupBatcher
from gateway.mt.pipeline import MtPipeline, MtResult, NormaliseStage, SenderStage, sender_ownership
from gateway.mt.policy import PolicyStage
from gateway.observability import logs
from gateway.observability.drift import ConfigDrift
from gateway.observability.metrics import Metrics
from gateway.senders.answered_parts import AnsweredParts
from gateway.senders.bound import BoundSenders
from gateway.senders.server import SenderServer
from gateway.sendtime.caps import CapCounter
from gateway.sendtime.clock import Clock, clock_from_env
from gateway.sendtime.held import Holder, Releaser
from gateway.sendtime.stage import SendTimeStage
from gateway.storage.redis_client import RedisPolicyError, check_eviction, describe, open_redis
from gateway.suppression.cache import SuppressionCache
from gateway.suppression.erasure import KEY_META, ErasureKeyMismatch, hasher_for, key_mismatch
from gateway.suppression.keeper import CacheKeeper
from gateway.suppression.store import Suppressions
from gateway.suppression.webhooks import WebhookWorker
from gateway.tls import ListenerTls, ServerTls
from smpp.pdu import DeliverSm

__all__ = ["Components", "Ports", "Readiness", "Shutdown", "build", "instance_id",
           "instance_name", "start"]

log = logging.getLogger("stopgate")
#: Redis connections per process, and how long a command waits for one when all are busy.
REDIS_CONNECTIONS = 64
REDIS_POOL_WAIT = 5.0
#: How long a connect or a command may go unanswered before it fails as a Redis error. A
#: Redis that stalls (frozen, or across a network partition that drops packets) would
#: otherwise hold every command without a timeout of its own (the keeper's check, an
#: opt-out's write-through, a receipt's lookup) until it came back.
REDIS_COMMAND_TIMEOUT = 2.0


@dataclass(frozen=True, slots=True)
class Components:
    """Every long-lived object of one gateway process."""

    config: Config
    metrics: Metrics
    redis: aioredis.Redis
    ledger: AsyncLedger
    ledger_health: LedgerHealth
    cache: SuppressionCache
    keeper: CacheKeeper
    webhooks: WebhookWorker
    suppressions: Suppressions
    senders: BoundSenders
    dlr: DlrRouter
    notices: QueueNotices
    pool: UpstreamPool
    #: This process among the instances sharing Redis: its shares of the total limits.
    membership: Membership
    policy: PolicyStage
    #: Quiet hours and frequency caps for promotional traffic, judged on ``clock``.
    sendtime: SendTimeStage
    clock: Clock
    #: Keeps held messages in the ledger (quiet hours, action "hold")...
    holder: Holder
    #: ...and releases them when their window opens.
    releaser: Releaser
    refusals: PartReceipts
    campaigns: CampaignMemory
    pipeline: MtPipeline
    keywords: KeywordHandler
    #: Replies that look like a revocation without being a clear one, for a person.
    reviews: ReviewList
    review_gauges: Background
    answered_parts: AnsweredParts
    server: SenderServer
    readiness: Readiness
    http: web.AppRunner
    gauges: Background
    flusher: Background
    #: This instance's configuration hash, registered in Redis beside the other instances'.
    drift: ConfigDrift
    #: The TLS contexts of the listeners that speak TLS; SIGHUP reloads their files.
    tls: ListenerTls


def build(config: Config, redis_url: str, *, slot: int = 0,
          metrics: Metrics | None = None, totals: Totals | None = None,
          clock: Clock | None = None) -> Components:
    """Every long-lived object of a gateway, wired; nothing started, no socket opened.

    ``totals``: the limits that hold in total as configured (a worker's ``config`` holds
    its static share of them; gateway/process/shares.py); None: ``config``'s own.
    ``clock``: what send-time rules take as now; None: the system clock, or the one
    ``STOPGATE_TEST_CLOCK`` starts (tests and demos only: gateway/sendtime/clock.py)."""
    metrics = metrics if metrics is not None else Metrics()
    clock = clock if clock is not None else clock_from_env()
    worker = instance_id(config.server.data_dir, slot, config.server.instance_id)
    # A pool that waits for a free connection: redis-py's default one raises "Too many
    # connections" past 100, and a burst of receipts (each a lookup, maybe a queue
    # push) must slow down, not be refused and fail promotional traffic closed.
    # One server, Sentinel or Cluster: gateway/storage/redis_client.py.
    redis = open_redis(config.storage, redis_url, max_connections=REDIS_CONNECTIONS,
                       pool_wait=REDIS_POOL_WAIT, command_timeout=REDIS_COMMAND_TIMEOUT)
    ledger = AsyncLedger(open_ledger(config.storage.ledger, config.server.data_dir,
                                     config.storage.ledger_busy_timeout))
    # Write health: a STOP that cannot be recorded is not acknowledged, and promotional
    # traffic is refused meanwhile (see gateway/ledger/health.py).
    ledger_health = LedgerHealth(ledger.ledger.write_probe, metrics)
    hasher = hasher_for(config.storage.hash_key)
    cache = SuppressionCache(redis, owner=worker, hasher=hasher)
    # Promotional traffic stays refused after Redis returns until the keeper's next
    # check; a check is one EXISTS, so back off to 2 s at most, not the default 10 s.
    keeper = CacheKeeper(cache, ledger, on_change=CacheGauges(metrics),
                         max_backoff=2.0, fail_closed=config.policy.fail_closed,
                         policy=lambda: check_eviction(
                             redis, assume=config.storage.redis_assume_noeviction))
    # Webhooks: outbox rows commit with each opt-out/opt-in; the worker delivers them
    # in a task of its own (bounded concurrency: a dead endpoint never slows the MT path).
    webhooks = WebhookWorker(ledger, config.accounts, config.webhook, metrics, worker_id=worker)
    suppressions = Suppressions(
        ledger, cache, metrics,
        webhook_accounts=[a.system_id for a in config.accounts if a.webhook_url],
        on_recorded=webhooks.wake, health=ledger_health, hasher=hasher)
    accounts = {account.system_id: account for account in config.accounts}
    senders = BoundSenders(accounts)
    ownership = sender_ownership(config.accounts)
    campaigns = CampaignMemory(redis)
    suppressions.forget.append(
        lambda scope, number: campaigns.forget(
            [scope] if scope is not None else [a.system_id for a in config.accounts], number))
    tag = NoticeTag()

    # The one loop of the graph (see the module docstring): the router hands MOs to the
    # keyword handler, built below from the pipeline; it is called only once started.
    async def mo_hook(pdu: DeliverSm, owners: list[str]) -> int | None:
        return await keywords(pdu, owners)

    router = DlrRouter(redis, config.dlr, config.accounts, senders, metrics,
                       ownership=ownership, mo_hook=mo_hook, notices=tag)
    pool = UpstreamPool(config, metrics, on_deliver_sm=router.on_carrier_deliver_sm)
    # Whose source address is whose: checked first, for every message (and for each
    # part of a multipart one, by the server, before reassembly).
    sender_stage = SenderStage(ownership, metrics)
    refusals = PartReceipts(config.policy.blocked_status, router)
    policy = PolicyStage(
        config,
        metrics,
        LookupBatcher(cache, metrics),
        TokenCache(ledger.tokens_for),
        on_blocked_receipt=refusals.blocked,
        # Fail closed while the cache is incomplete or opt-outs cannot be recorded.
        is_ready=lambda: keeper.ready and ledger_health.writable,
        unready_reason=lambda: unready_reason(keeper, ledger_health),
    )
    # Quiet hours, then frequency caps (counted in Redis), after the opt-out policy:
    # an opted-out recipient is blocked whatever the hour, and uses up no cap.
    holder = Holder(config, ledger, clock, metrics)
    sendtime = SendTimeStage(config, clock, CapCounter(redis), metrics, holder=holder)
    pipeline = MtPipeline(
        carrier=pool,
        ids=router,
        metrics=metrics,
        stages=[sender_stage, NormaliseStage(accounts), policy, sendtime],
        on_forwarded=campaigns.note,
        on_parts_refused=refusals.refused,
    )
    # Held messages come back through the whole pipeline when their window opens.
    # Not before a carrier can take them and opt-outs can be checked: a release into a
    # gateway still starting would only be deferred.
    releaser = Releaser(holder, ledger, pipeline, refusals.failed, clock, metrics,
                        worker_id=worker, accounts=list(accounts),
                        ready=lambda: pool.ready and keeper.ready and ledger_health.writable,
                        blocked_status=config.policy.blocked_status)
    # STOP/START/HELP: seen by the router before any MO is forwarded or answered.
    # Opt-outs written in words: unclear ones go on the review list (ledger, step 5).
    reviews = ReviewList(ledger, suppressions, metrics)
    keywords = KeywordHandler(config, suppressions, pipeline, campaigns, metrics,
                              reviews=reviews)
    # A receipt queued by another worker (or gateway) reaches our receivers at once.
    notices = QueueNotices(redis, router.on_queue_notice, router.flush_bound, tag=tag)
    # Parts answered before their message completed: noted in Redis, so a kill (or
    # a message that never completes) ends in failure receipts, not silence.
    answered_parts = AnsweredParts(redis, worker, router.deliver)
    # Abuse limits per client address (failed binds, API keys, link guessing), counted
    # over every instance sharing this Redis.
    counters = SharedCounters(redis)
    server = SenderServer(config, metrics, pipeline, senders=senders,
                          source_check=sender_stage, answered_parts=answered_parts,
                          counters=counters)
    drift = ConfigDrift(redis, worker, config_hash(config), metrics)
    membership = Membership(redis, totals or Totals.of(config),
                            instance=instance_name(config.server), slot=slot, carriers=pool,
                            buckets=server.buckets, gauge=metrics.instances)
    readiness = Readiness(redis, pool, keeper, ledger_health, drift, membership)
    api = HttpApi(config, pipeline, metrics, server.buckets, readiness,
                  suppressions=suppressions, ledger=ledger, counters=counters,
                  reviews=reviews, on_held_cancelled=releaser.wake, clock=clock.now)
    return Components(
        config=config, metrics=metrics, redis=redis, ledger=ledger,
        ledger_health=ledger_health, cache=cache, keeper=keeper, webhooks=webhooks,
        suppressions=suppressions, senders=senders, dlr=router, notices=notices, pool=pool,
        membership=membership,
        policy=policy, sendtime=sendtime, clock=clock, holder=holder, releaser=releaser,
        refusals=refusals, campaigns=campaigns, pipeline=pipeline,
        keywords=keywords, reviews=reviews,
        review_gauges=Background("optout-review-gauges", reviews.run),
        answered_parts=answered_parts, server=server,
        readiness=readiness, http=web.AppRunner(api.app(), access_log=None),
        gauges=Background("metric-gauges", _gauge_writer(metrics)),
        flusher=Background("dlr-flusher", router.run_flusher),
        drift=drift,
        tls=_listener_tls(config),
    )


def _listener_tls(config: Config) -> ListenerTls:
    server, http = config.server, config.http
    smpp = (ServerTls(server.tls_cert, server.tls_key, server.tls_client_ca)
            if server.smpp_tls_listen is not None and server.tls_cert is not None
            and server.tls_key is not None else None)
    https = (ServerTls(http.tls_cert, http.tls_key)
             if http.tls_cert is not None and http.tls_key is not None else None)
    return ListenerTls(smpp, https)


# --- start and stop --------------------------------------------------------------------


class Shutdown:
    """How long each drain may take; set by ``Gateway.stop`` before the stack closes."""

    __slots__ = ("timeout",)

    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout


@dataclass(frozen=True, slots=True)
class Ports:
    smpp: int
    http: int
    #: The senders' SMPP-over-TLS listener (server.smpp_tls_listen); None: there is none.
    smpp_tls: int | None = None


async def step(stack: contextlib.AsyncExitStack, shutdown: Shutdown, *,
               start: Callable[[], Awaitable[object] | object] | None = None,
               drain: Callable[[float], Awaitable[object]] | None = None,
               stop: Callable[[], Awaitable[object] | object] | None = None) -> object:
    """Start one component and push its drain, then stop, onto ``stack``; what start gave."""
    started = None
    if start is not None:
        started = start()
        # A coroutine is the start itself; a task it returns is the component running.
        if asyncio.iscoroutine(started):
            started = await started

    async def leave() -> None:
        if drain is not None:
            await drain(shutdown.timeout)
        if stop is not None:
            stopped = stop()
            if asyncio.iscoroutine(stopped):
                await stopped

    stack.push_async_callback(leave)
    return started


async def start(c: Components, stack: contextlib.AsyncExitStack, shutdown: Shutdown) -> Ports:
    """Start every component in ``c`` (order: the module docstring); their stops go on
    ``stack``, so closing it shuts the gateway down in the reverse order."""
    config = c.config
    await step(stack, shutdown, stop=c.redis.aclose)
    await _check_redis(c)
    await step(stack, shutdown, stop=c.ledger.aclose)
    await _check_erasure_key(c)
    # Gives its claims back before the ledger closes.
    await step(stack, shutdown, start=c.webhooks.start, stop=c.webhooks.stop)
    await step(stack, shutdown, start=c.ledger_health.start, stop=c.ledger_health.stop)
    await step(stack, shutdown, start=c.keeper.start, stop=c.keeper.stop)
    # Its shares first (no carrier bind before it knows them); it leaves once the pool
    # has unbound, so the others take up this process's share only then.
    await step(stack, shutdown, start=c.membership.start, stop=c.membership.stop)
    await step(stack, shutdown, start=c.pool.start, stop=lambda: c.pool.stop(shutdown.timeout))
    http_port = await _start_http(c, stack, shutdown)
    await step(stack, shutdown, drain=c.pipeline.drain)  # DLR id map writes of the last answers
    await step(stack, shutdown, start=lambda: _answered_parts(c.answered_parts),
               stop=c.answered_parts.stop)
    await step(stack, shutdown, drain=c.campaigns.drain)
    await step(stack, shutdown, drain=c.keywords.drain)  # confirmations and help replies
    await step(stack, shutdown, drain=c.refusals.drain)  # UNDELIV of refused multipart
    await step(stack, shutdown, drain=c.policy.drain)  # REJECTD receipts, or into queues
    await step(stack, shutdown, drain=c.sendtime.drain)  # frequency caps being counted
    await step(stack, shutdown, drain=c.holder.drain)  # held messages being written
    listen = config.server.smpp_listen
    smpp_port = await step(stack, shutdown, start=lambda: c.server.start(listen.host, listen.port),
                           stop=lambda: c.server.stop(shutdown.timeout))
    smpp_tls_port = await _start_smpp_tls(c)  # the server's stop above closes it too
    if c.metrics.multiprocess:
        await step(stack, shutdown, start=c.gauges.start, stop=c.gauges.stop)
    await step(stack, shutdown, start=c.notices.start, stop=c.notices.stop)
    await step(stack, shutdown, start=c.flusher.start, stop=c.flusher.stop)
    # Held messages: it stops first, its releases under way finishing through the
    # pipeline, pool and ledger, which stop after it.
    await step(stack, shutdown, start=c.releaser.start, drain=c.releaser.drain,
               stop=c.releaser.stop)
    await step(stack, shutdown, start=c.drift.start, stop=c.drift.stop)
    await step(stack, shutdown, start=c.review_gauges.start, stop=c.review_gauges.stop)
    assert isinstance(smpp_port, int)
    return Ports(smpp=smpp_port, http=http_port, smpp_tls=smpp_tls_port)


async def _check_redis(c: Components) -> None:
    """Refuse to start on a Redis that may evict keys; a Redis that does not answer yet is
    the keeper's to wait for (promotional traffic fails closed meanwhile): the keeper
    checks the policy before it calls the cache ready, and again after each Redis error."""
    storage = c.config.storage
    try:
        await asyncio.wait_for(check_eviction(c.redis, assume=storage.redis_assume_noeviction),
                               REDIS_POOL_WAIT)
    except RedisPolicyError:
        raise
    except Exception as error:
        log.warning("Redis does not answer at start; its maxmemory-policy is checked when it "
                    "does", extra=logs.fields("redis_unchecked", error=str(error),
                                              redis=describe(storage, storage.redis_url)))


async def _check_erasure_key(c: Components) -> None:
    """Refuse to start under a ``storage.hash_key`` other than the one the ledger's
    erasures used: the erased numbers would not be found, and people who opted out would
    get promotional messages. Without a key the cache fails closed instead (below)."""
    recorded = await c.ledger.meta_get(KEY_META)
    problem = key_mismatch(c.suppressions.hasher, recorded)
    if problem is not None:
        raise ErasureKeyMismatch(problem)
    if recorded is not None and c.suppressions.hasher is None:
        log.warning("numbers were erased but storage.hash_key is not set: promotional "
                    "traffic is refused while the cache holds erased numbers, and erasure "
                    "is refused", extra=logs.fields("erasure_key_missing"))


async def _start_smpp_tls(c: Components) -> int | None:
    tls_listen, tls = c.config.server.smpp_tls_listen, c.tls.smpp
    if tls_listen is None or tls is None:
        return None
    return await c.server.start_tls(tls_listen.host, tls_listen.port, tls)


async def _start_http(c: Components, stack: contextlib.AsyncExitStack,
                      shutdown: Shutdown) -> int:
    config = c.config
    await step(stack, shutdown, start=c.http.setup, stop=c.http.cleanup)
    http = config.server.http_listen
    # HTTPS with [http] tls_cert/tls_key: the context SIGHUP reloads (c.tls.reload()).
    site = GuardedSite(c.http, http.host, http.port, reuse_address=True,
                       reuse_port=config.server.workers > 1,
                       guard=ConnectionGuard(config.http, c.metrics), tls=c.tls.http,
                       handshake_failures=c.metrics.tls_handshake_failures)
    await site.start()  # the runner's cleanup stops its sites
    return site.port


async def _answered_parts(parts: AnsweredParts) -> None:
    """The previous run's notes are failed before any sender binds; then the sweeper."""
    try:
        await asyncio.wait_for(parts.fail_previous_run(), REDIS_POOL_WAIT)
    except Exception as error:
        log.warning("multipart parts of the previous run not checked", extra=logs.fields(
            "multipart_parts_unchecked", error=str(error)))
    parts.start()


# --- small pieces of the wiring ----------------------------------------------------------


def _gauge_writer(metrics: Metrics, interval: float = 1.0) -> Callable[[], Any]:
    """Workers: function gauges reach the shared metric files only when written there."""
    async def write() -> None:
        while True:
            metrics.write_functions()
            await asyncio.sleep(interval)
    return write


class CacheGauges:
    """The keeper's ``on_change``: its state as metrics."""

    __slots__ = ("_rebuilds_counted", "metrics")

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self._rebuilds_counted = 0

    def __call__(self, keeper: CacheKeeper) -> None:
        metrics = self.metrics
        metrics.suppression_cache_ready.set(1 if keeper.ready else 0)
        if keeper.redis_up is not None:
            metrics.redis_up.set(1 if keeper.redis_up else 0)
        if keeper.rebuilds > self._rebuilds_counted:
            metrics.suppression_rebuilds.inc(keeper.rebuilds - self._rebuilds_counted)
            self._rebuilds_counted = keeper.rebuilds
        metrics.suppression_rebuild_progress.set(keeper.progress[0])
        if keeper.suppressed is not None:
            metrics.suppressed_numbers.set(keeper.suppressed)


class PartReceipts:
    """Failure receipts stopgate makes itself for ids the sender was told were accepted."""

    __slots__ = ("_deliver", "_tasks", "blocked_status")

    def __init__(self, blocked_status: int, router: DlrRouter) -> None:
        self.blocked_status = blocked_status
        self._deliver = router.deliver
        self._tasks = TaskSet()

    async def failed(self, message: Message, ids: Sequence[str], stat: str,
                     status: int) -> None:
        """Receipts with ``stat`` and err = ``status`` for ``ids`` (held messages dropped,
        expired or cancelled: gateway/sendtime/held.py)."""
        await self._send(message, ids, stat, status)

    async def blocked(self, message: Message, ids: Sequence[str]) -> None:
        """REJECTD receipts for the ids of a blocked message."""
        # err carries the blocked status in hex: 065 = ESME_RX_P_APPN, "opted out".
        await self._send(message, ids, "REJECTD", self.blocked_status)

    def refused(self, message: Message, ids: Sequence[str], result: MtResult) -> None:
        """UNDELIV receipts (err = the status the last part got) for the parts answered
        before their message was refused or failed; after the answer, in the background."""
        self._tasks.spawn(self._send(message, ids, "UNDELIV", result.status))

    async def drain(self, timeout: float) -> None:
        await self._tasks.drain(timeout)

    async def _send(self, message: Message, ids: Sequence[str], stat: str, status: int) -> None:
        if not message.template.registered_delivery & 0x03:
            return
        now = datetime.now(UTC)
        receipts = [
            build_receipt(
                part_id, source_addr=message.destination_addr,
                destination_addr=message.source_addr, stat=stat, submit_date=now,
                err=f"{status & 0xFFF:03X}", text=message.text if message.is_text else "",
                source_addr_ton=message.template.dest_addr_ton,
                source_addr_npi=message.template.dest_addr_npi,
                dest_addr_ton=message.template.source_addr_ton,
                dest_addr_npi=message.template.source_addr_npi,
            )
            for part_id in ids
        ]
        await self._deliver(message.account, receipts)


class Readiness:
    """Ready = a carrier session can transmit, Redis answers, the suppression cache is
    complete and the ledger commits writes; ``reasons`` says why each false one is."""

    __slots__ = ("drift", "health", "keeper", "membership", "pool", "redis")

    def __init__(self, redis: aioredis.Redis, pool: UpstreamPool, keeper: CacheKeeper,
                 health: LedgerHealth, drift: ConfigDrift, membership: Membership) -> None:
        self.drift = drift
        self.membership = membership
        self.redis = redis
        self.pool = pool
        self.keeper = keeper
        self.health = health

    async def __call__(self) -> tuple[bool, dict[str, Any]]:
        reasons: dict[str, str] = {}
        try:
            redis_ok = bool(await asyncio.wait_for(self.redis.ping(), 1.0))
        except Exception:
            redis_ok = False
        if not redis_ok:
            reasons["redis"] = "unreachable"
        upstreams: dict[str, dict[str, Any]] = {}
        for name, counts in self.pool.status().items():
            upstreams[name] = {**counts, "ready": counts["transmitting"] > 0}
        for name, failure in self.pool.failures().items():
            upstreams[name]["failure"] = failure
        if not self.pool.ready:
            reasons["upstreams"] = _upstreams_reason(upstreams)
        keeper = self.keeper
        cache_ok = keeper.ready
        if not cache_ok:
            reasons["suppression_cache"] = (
                "rebuilding" if keeper.rebuilding
                else "redis_unreachable" if not redis_ok else "not_verified")
        ledger_ok = self.health.writable
        if not ledger_ok:
            reasons["ledger"] = self.health.reason
        details = {
            "redis": redis_ok,
            "suppression_cache": cache_ok,
            "ledger": ledger_ok,
            "upstreams": upstreams,
            "reasons": reasons,
            # Not a readiness condition: instances disagree on purpose during a rollout.
            "config_hash": self.drift.hash,
            "config_hashes": self.drift.hashes,
            # Not a condition either: how many instances split the limits, and which one
            # this is (its share: gateway.instances.membership).
            "instances": dict(zip(("live", "rank"), self.membership.instances(), strict=True)),
        }
        return not reasons, details


def instance_id(data_dir: Path, slot: int, configured: str = "") -> str:
    """This gateway process's name in shared state, the same for this machine, data_dir
    and worker slot after a restart: a gateway killed with webhook deliveries claimed, or
    with multipart parts answered, has them taken over by its successor at start (not
    after the webhook lease, ``2 * webhook.timeout + 30 s``, or the orphan age).
    ``server.instance_id`` (``configured``) replaces the derived part: ``<it>-<slot>``."""
    if configured:
        return f"{configured}-{slot}"
    where = f"{socket.gethostname()}\0{data_dir.resolve()}\0{slot}".encode()
    return f"stopgate-{hashlib.sha256(where).hexdigest()[:12]}-{slot}"


def instance_name(server: Server) -> str:
    """This instance's name among those sharing Redis (all its workers share it):
    ``server.instance_id``, else derived from the host name and data_dir."""
    if server.instance_id:
        return server.instance_id
    where = f"{socket.gethostname()}\0{server.data_dir.resolve()}".encode()
    return f"stopgate-{hashlib.sha256(where).hexdigest()[:12]}"


def _upstreams_reason(upstreams: dict[str, dict[str, Any]]) -> str:
    """Why no carrier session can transmit: the most hopeful state any session is in."""
    if not upstreams:
        return "none_configured"
    if any(counts["bound"] for counts in upstreams.values()):
        return "no_transmitter_bound"  # only receivers bound, or every window closing
    if any(counts.get("failure", "").startswith("tls_") for counts in upstreams.values()):
        return "tls_failed"  # the carrier's certificate (or ours) is refused: see "failure"
    if any(counts["connecting"] for counts in upstreams.values()):
        return "connecting"
    return "down"


def unready_reason(keeper: CacheKeeper, ledger_health: LedgerHealth) -> str:
    """Why promotional traffic cannot be checked now: the logged cause of its refusals."""
    if not ledger_health.writable:
        return f"the ledger cannot record opt-outs ({ledger_health.reason or 'unknown'})"
    if keeper.redis_up is False:
        return "Redis is unreachable"
    if keeper.rebuilding:
        return "suppression cache is being rebuilt"
    return "suppression cache not known complete"
