"""The one place that builds a running gateway from a Config, and `stopgate serve`.

    Gateway.start():  Redis (embedded or configured) -> carrier pool -> sender server
                      -> DLR router -> ledger + suppression cache (keeper rebuilds it)
                      -> webhook worker -> MT pipeline (normalise, policy)
                      -> MO keyword handler -> listeners -> carrier links
    Gateway.stop():   stop accepting, unbind senders after their in-flight
                      submits (bounded), stop the carrier pool, the keeper and the
                      webhook worker, close the ledger and Redis.

This is one process. ``server.workers = N > 1`` runs N of them under a supervising
parent (gateway/process/supervisor.py); each builds this same Gateway, with its listeners bound
with SO_REUSEPORT and its share of the rate limits (gateway/process/shares.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import signal
import socket
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web

from gateway.carriers.pool import UpstreamPool
from gateway.config.model import Config
from gateway.http.app import HttpApi
from gateway.http.guard import ConnectionGuard, GuardedSite
from gateway.inbound.keywords import CampaignMemory, KeywordHandler
from gateway.inbound.notices import QueueNotices
from gateway.inbound.receipts import build_receipt
from gateway.inbound.router import DlrRouter
from gateway.ledger.engines import open_ledger
from gateway.ledger.health import LedgerHealth
from gateway.ledger.threaded import AsyncLedger
from gateway.message import Message
from gateway.mt.link_tokens import TokenCache
from gateway.mt.lookups import LookupBatcher
from gateway.mt.pipeline import MtPipeline, MtResult, NormaliseStage, SenderStage, sender_ownership
from gateway.mt.policy import PolicyStage
from gateway.observability import logs
from gateway.observability.metrics import Metrics
from gateway.process.eventloop import settle_heap
from gateway.process.redis_embedded import EmbeddedRedis
from gateway.senders.answered_parts import AnsweredParts
from gateway.senders.server import SenderServer
from gateway.suppression.cache import SuppressionCache
from gateway.suppression.keeper import CacheKeeper
from gateway.suppression.store import Suppressions
from gateway.suppression.webhooks import WebhookWorker
from smpp.pdu import DeliverSm

log = logging.getLogger("stopgate")
#: Redis connections per process, and how long a command waits for one when all are busy.
REDIS_CONNECTIONS = 64
REDIS_POOL_WAIT = 5.0
#: How long a connect or a command may go unanswered before it fails as a Redis error. A
#: Redis that stalls (frozen, or across a network partition that drops packets) would
#: otherwise hold every command without a timeout of its own (the keeper's check, an
#: opt-out's write-through, a receipt's lookup) until it came back.
REDIS_COMMAND_TIMEOUT = 2.0


class Gateway:
    """A whole stopgate instance: listeners, carrier links, Redis, pipeline."""

    def __init__(self, config: Config, slot: int = 0) -> None:
        self.config = config
        #: Which worker of ``server.workers`` this is (0 for a single process); kept
        #: across restarts, so the restarted gateway knows its predecessor's claims.
        self.slot = slot
        self.metrics = Metrics()
        self.embedded_redis: EmbeddedRedis | None = None
        self.redis: aioredis.Redis | None = None
        self.pool: UpstreamPool | None = None
        self.server: SenderServer | None = None
        self.dlr: DlrRouter | None = None
        self.pipeline: MtPipeline | None = None
        self.ledger: AsyncLedger | None = None
        self.ledger_health: LedgerHealth | None = None
        self._receipt_tasks: set[asyncio.Future[None]] = set()
        self.answered_parts: AnsweredParts | None = None
        self.cache: SuppressionCache | None = None
        self.keeper: CacheKeeper | None = None
        self.suppressions: Suppressions | None = None
        self.webhooks: WebhookWorker | None = None
        self.policy: PolicyStage | None = None
        self.campaigns: CampaignMemory | None = None
        self.keywords: KeywordHandler | None = None
        self.smpp_port = 0
        self.http_port = 0
        self._http: web.AppRunner | None = None
        self._flusher: asyncio.Task[None] | None = None
        self.notices: QueueNotices | None = None
        self._gauges: asyncio.Task[None] | None = None
        self._rebuilds_counted = 0

    async def start(self) -> None:
        config = self.config
        config.server.data_dir.mkdir(parents=True, exist_ok=True)
        url = config.storage.redis_url
        if not url:
            self.embedded_redis = EmbeddedRedis(config.server.data_dir)
            url = await asyncio.to_thread(self.embedded_redis.start)
        # A pool that waits for a free connection: redis-py's default one raises "Too many
        # connections" past 100, and a burst of receipts (each a lookup, maybe a queue
        # push) must slow down, not be refused and fail promotional traffic closed.
        self.redis = aioredis.Redis(connection_pool=aioredis.BlockingConnectionPool.from_url(
            url, max_connections=REDIS_CONNECTIONS, timeout=REDIS_POOL_WAIT,
            socket_timeout=REDIS_COMMAND_TIMEOUT, socket_connect_timeout=REDIS_COMMAND_TIMEOUT))
        self.pool = UpstreamPool(config, self.metrics, on_deliver_sm=self._carrier_deliver_sm)
        accounts = {account.system_id: account for account in config.accounts}
        self.server = SenderServer(config, self.metrics)
        ownership = sender_ownership(config.accounts)
        self.dlr = DlrRouter(self.redis, config.dlr, config.accounts, self.server, self.metrics,
                             ownership=ownership)
        # A receipt queued by another worker (or gateway) reaches our receivers at once.
        self.notices = QueueNotices(self.redis, self.dlr.on_queue_notice, self.dlr.flush_bound)
        self.dlr.notices = self.notices
        self.ledger = AsyncLedger(open_ledger(config.storage.ledger, config.server.data_dir,
                                              config.storage.ledger_busy_timeout))
        # Write health: a STOP that cannot be recorded is not acknowledged, and promotional
        # traffic is refused meanwhile (see gateway/ledger/health.py).
        ledger_health = self.ledger_health = LedgerHealth(self.ledger.ledger.write_probe,
                                                          self.metrics)
        ledger_health.start()
        self.cache = SuppressionCache(self.redis)
        # Promotional traffic stays refused after Redis returns until the keeper's next
        # check; a check is one EXISTS, so back off to 2 s at most, not the default 10 s.
        self.keeper = CacheKeeper(self.cache, self.ledger, on_change=self._cache_changed,
                                  max_backoff=2.0, fail_closed=config.policy.fail_closed)
        self.keeper.start()
        # Webhooks: outbox rows commit with each opt-out/opt-in; the worker delivers them
        # in a task of its own (bounded concurrency: a dead endpoint never slows the MT path).
        self.webhooks = WebhookWorker(self.ledger, config.accounts, config.webhook,
                                      self.metrics,
                                      worker_id=instance_id(config.server.data_dir,
                                                                  self.slot))
        self.webhooks.start()
        self.suppressions = Suppressions(
            self.ledger, self.cache, self.metrics,
            webhook_accounts=[a.system_id for a in config.accounts if a.webhook_url],
            on_recorded=self.webhooks.wake, health=ledger_health)
        keeper = self.keeper
        policy = self.policy = PolicyStage(
            config,
            self.metrics,
            LookupBatcher(self.cache, self.metrics),
            TokenCache(self.ledger.tokens_for),
            on_blocked_receipt=self._blocked_receipts,
            # Fail closed while the cache is incomplete or opt-outs cannot be recorded.
            is_ready=lambda: keeper.ready and ledger_health.writable,
        )
        self.campaigns = CampaignMemory(self.redis)
        # Whose source address is whose: checked first, for every message (and for each
        # part of a multipart one, by the server, before reassembly).
        sender_stage = self.server.source_check = SenderStage(ownership, self.metrics)
        self.pipeline = MtPipeline(
            carrier=self.pool,
            ids=self.dlr,
            metrics=self.metrics,
            stages=[sender_stage, NormaliseStage(accounts), policy],
            on_forwarded=self.campaigns.note,
            on_parts_refused=self._refused_part_receipts,
        )
        # STOP/START/HELP: seen by the router before any MO is forwarded or answered.
        self.keywords = KeywordHandler(config, self.suppressions, self.pipeline,
                                       self.campaigns, self.metrics)
        self.dlr.mo_hook = self.keywords
        self.server.pipeline = self.pipeline
        self.server.on_receiver_bound = self.dlr.flush
        # Parts answered before their message completed: noted in Redis, so a kill (or
        # a message that never completes) ends in failure receipts, not silence. The
        # previous run's notes are failed before any sender binds.
        self.answered_parts = AnsweredParts(
            self.redis, instance_id(config.server.data_dir, self.slot), self.dlr.deliver)
        try:
            await asyncio.wait_for(self.answered_parts.fail_previous_run(), REDIS_POOL_WAIT)
        except Exception as error:
            log.warning("multipart parts of the previous run not checked", extra=logs.fields(
                "multipart_parts_unchecked", error=str(error)))
        self.answered_parts.start()
        self.server.answered_parts = self.answered_parts
        listen = config.server.smpp_listen
        self.smpp_port = await self.server.start(listen.host, listen.port)
        api = HttpApi(config, self.pipeline, self.metrics, self.server.buckets, self.readiness,
                      suppressions=self.suppressions, ledger=self.ledger)
        self._http = web.AppRunner(api.app(), access_log=None)
        await self._http.setup()
        http = config.server.http_listen
        site = GuardedSite(self._http, http.host, http.port, reuse_address=True,
                           reuse_port=config.server.workers > 1,
                           guard=ConnectionGuard(config.http, self.metrics))
        await site.start()
        self.http_port = site.port
        await self.pool.start()
        self._flusher = asyncio.create_task(self.dlr.run_flusher())
        self.notices.start()
        if self.metrics.multiprocess:
            self._gauges = asyncio.create_task(self._write_gauges())
        log.info("gateway started", extra=logs.fields(
            "gateway_started", smpp_listen=f"{config.server.smpp_listen.host}:{self.smpp_port}",
            http_listen=f"{config.server.http_listen.host}:{self.http_port}",
            workers=config.server.workers, upstreams=len(config.upstreams),
            accounts=len(config.accounts)))

    async def _write_gauges(self, interval: float = 1.0) -> None:
        """Workers: function gauges reach the shared metric files only when written there."""
        while True:
            self.metrics.write_functions()
            await asyncio.sleep(interval)

    async def _carrier_deliver_sm(self, pdu: DeliverSm, upstream: str) -> int:
        assert self.dlr is not None
        return await self.dlr.on_carrier_deliver_sm(pdu, upstream)

    def _cache_changed(self, keeper: CacheKeeper) -> None:
        self.metrics.suppression_cache_ready.set(1 if keeper.ready else 0)
        if keeper.redis_up is not None:
            self.metrics.redis_up.set(1 if keeper.redis_up else 0)
        if keeper.rebuilds > self._rebuilds_counted:
            self.metrics.suppression_rebuilds.inc(keeper.rebuilds - self._rebuilds_counted)
            self._rebuilds_counted = keeper.rebuilds
        self.metrics.suppression_rebuild_progress.set(keeper.progress[0])
        if keeper.suppressed is not None:
            self.metrics.suppressed_numbers.set(keeper.suppressed)

    async def _blocked_receipts(self, message: Message, ids: Sequence[str]) -> None:
        """REJECTD receipts for the ids of a blocked message the sender was told were accepted."""
        # err carries the blocked status in hex: 065 = ESME_RX_P_APPN, "opted out".
        await self._part_receipts(message, ids, "REJECTD", self.config.policy.blocked_status)

    def _refused_part_receipts(self, message: Message, ids: Sequence[str],
                               result: MtResult) -> None:
        """UNDELIV receipts (err = the status the last part got) for the parts answered
        before their message was refused or failed; after the answer, in the background."""
        task = asyncio.ensure_future(self._part_receipts(message, ids, "UNDELIV", result.status))
        self._receipt_tasks.add(task)
        task.add_done_callback(self._receipt_tasks.discard)

    async def _part_receipts(self, message: Message, ids: Sequence[str], stat: str,
                             status: int) -> None:
        assert self.dlr is not None
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
        await self.dlr.deliver(message.account, receipts)

    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Ready = a carrier session can transmit, Redis answers, the suppression cache is
        complete and the ledger commits writes; ``reasons`` says why each false one is."""
        reasons: dict[str, str] = {}
        redis_ok = False
        if self.redis is not None:
            try:
                redis_ok = bool(await asyncio.wait_for(self.redis.ping(), 1.0))
            except Exception:
                redis_ok = False
        if not redis_ok:
            reasons["redis"] = "unreachable"
        upstreams: dict[str, dict[str, Any]] = {}
        if self.pool is not None:
            for name, counts in self.pool.status().items():
                upstreams[name] = {**counts, "ready": counts["transmitting"] > 0}
        upstream_ok = self.pool is not None and self.pool.ready
        if not upstream_ok:
            reasons["upstreams"] = _upstreams_reason(upstreams)
        keeper = self.keeper
        cache_ok = keeper is not None and keeper.ready
        if not cache_ok:
            reasons["suppression_cache"] = (
                "rebuilding" if keeper is not None and keeper.rebuilding
                else "redis_unreachable" if not redis_ok else "not_verified")
        health = self.ledger_health
        ledger_ok = health is not None and health.writable
        if not ledger_ok:
            reasons["ledger"] = health.reason if health is not None else "closed"
        details = {
            "redis": redis_ok,
            "suppression_cache": cache_ok,
            "ledger": ledger_ok,
            "upstreams": upstreams,
            "reasons": reasons,
        }
        return not reasons, details

    async def stop(self, timeout: float = 10.0) -> None:
        """Drain and close everything, in the reverse order of start."""
        log.info("gateway stopping: draining in-flight work", extra=logs.fields(
            "gateway_stopping", timeout=timeout))
        if self._flusher is not None:
            self._flusher.cancel()
        if self.notices is not None:
            await self.notices.stop()
        if self._gauges is not None:
            self._gauges.cancel()
        if self.server is not None:
            await self.server.stop(timeout)
        if self.policy is not None:  # REJECTD receipts go out, or into Redis queues
            await self.policy.drain(timeout)
        if self._receipt_tasks:  # and the UNDELIV ones of refused multipart messages
            await asyncio.wait(set(self._receipt_tasks), timeout=timeout)
        if self.keywords is not None:  # confirmations and help replies under way
            await self.keywords.drain(timeout)
        if self.campaigns is not None:
            await self.campaigns.drain(timeout)
        if self.answered_parts is not None:
            await self.answered_parts.stop()
        if self.pipeline is not None:  # DLR id map writes of the last answers
            await self.pipeline.drain(timeout)
        if self._http is not None:
            await self._http.cleanup()
        if self.pool is not None:
            await self.pool.stop(timeout)
        if self.keeper is not None:
            await self.keeper.stop()
        if self.ledger_health is not None:
            await self.ledger_health.stop()
        if self.webhooks is not None:  # gives its claims back before the ledger closes
            await self.webhooks.stop()
        if self.ledger is not None:
            await self.ledger.aclose()
        if self.redis is not None:
            await self.redis.aclose()
        if self.embedded_redis is not None:
            await asyncio.to_thread(self.embedded_redis.stop)
        log.info("gateway stopped", extra=logs.fields("gateway_stopped"))


async def serve(config: Config) -> int:
    """Run one process until SIGTERM/SIGINT, then drain and exit 0.

    ``stopgate serve`` calls this for ``server.workers = 1`` only; more workers go
    through gateway.process.supervisor.supervise, whose workers build the Gateway themselves.
    """
    configure_logging(config)
    gateway = Gateway(config)
    await gateway.start()
    settle_heap()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(
        f"stopgate: SMPP on {config.server.smpp_listen.host}:{gateway.smpp_port}, "
        f"HTTP on {config.server.http_listen.host}:{gateway.http_port}",
        flush=True,
    )
    await stop.wait()
    await gateway.stop()
    return 0


def instance_id(data_dir: Path, slot: int) -> str:
    """This gateway's name in shared state, the same for this machine, data_dir and
    worker slot after a restart: a gateway killed with webhook deliveries claimed, or
    with multipart parts answered, has them taken over by its successor at start (not
    after the webhook lease, ``2 * webhook.timeout + 30 s``, or the orphan age)."""
    where = f"{socket.gethostname()}\0{data_dir.resolve()}\0{slot}".encode()
    return f"stopgate-{hashlib.sha256(where).hexdigest()[:12]}-{slot}"


def _upstreams_reason(upstreams: dict[str, dict[str, Any]]) -> str:
    """Why no carrier session can transmit: the most hopeful state any session is in."""
    if not upstreams:
        return "none_configured"
    if any(counts["bound"] for counts in upstreams.values()):
        return "no_transmitter_bound"  # only receivers bound, or every window closing
    if any(counts["connecting"] for counts in upstreams.values()):
        return "connecting"
    return "down"


def configure_logging(config: Config) -> None:
    """Log lines on stderr at ``log.level``, in ``log.format``, numbers masked per
    ``log.mask_numbers`` (gateway/observability/logs.py)."""
    logs.configure(config.log)


__all__ = ["Gateway", "configure_logging", "serve"]
