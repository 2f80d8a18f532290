"""A running gateway from a Config, and `stopgate serve`.

``Gateway`` is thin: ``start()`` starts the embedded Redis (when ``storage.redis_url`` is
empty), builds every long-lived object with ``gateway.components.build`` and starts them
through one ``AsyncExitStack`` (``gateway.components.start``: the order, and why); ``stop()``
closes the stack, which drains and stops them in the reverse order.

This is one process. ``server.workers = N > 1`` runs N of them under a supervising
parent (gateway/process/supervisor.py); each builds this same Gateway, with its listeners bound
with SO_REUSEPORT and its share of the rate limits (gateway/process/shares.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web

from gateway.carriers.pool import UpstreamPool
from gateway.components import Components, Ports, Shutdown, build, instance_id, start
from gateway.config.model import Config
from gateway.inbound.keywords import CampaignMemory, KeywordHandler
from gateway.inbound.notices import QueueNotices
from gateway.inbound.router import DlrRouter
from gateway.instances.membership import Totals
from gateway.ledger.health import LedgerHealth
from gateway.ledger.threaded import AsyncLedger
from gateway.mt.pipeline import MtPipeline
from gateway.mt.policy import PolicyStage
from gateway.observability import logs
from gateway.observability.metrics import Metrics
from gateway.process.eventloop import settle_heap
from gateway.process.redis_embedded import EmbeddedRedis
from gateway.senders.answered_parts import AnsweredParts
from gateway.senders.server import SenderServer
from gateway.sendtime.clock import Clock
from gateway.storage.redis_client import RedisPolicyError
from gateway.suppression.cache import SuppressionCache
from gateway.suppression.erasure import ErasureKeyMismatch
from gateway.suppression.keeper import CacheKeeper
from gateway.suppression.store import Suppressions
from gateway.suppression.webhooks import WebhookWorker

log = logging.getLogger("stopgate")


class NotStarted(RuntimeError):
    """A gateway's components exist from ``start()`` on."""


class Gateway:
    """A whole stopgate instance: listeners, carrier links, Redis, pipeline."""

    def __init__(self, config: Config, slot: int = 0, totals: Totals | None = None,
                 clock: Clock | None = None) -> None:
        self.config = config
        #: The clock send-time rules are judged on; None: the system's, unless
        #: STOPGATE_TEST_CLOCK says otherwise (gateway/sendtime/clock.py).
        self.clock = clock
        #: The limits that hold in total (a worker's config holds its static share).
        self.totals = totals
        #: Which worker of ``server.workers`` this is (0 for a single process); kept
        #: across restarts, so the restarted gateway knows its predecessor's claims.
        self.slot = slot
        self.metrics = Metrics()
        #: The redis-server this gateway runs itself (``storage.redis_url`` empty), if any.
        self.embedded_redis: EmbeddedRedis | None = None
        self._components: Components | None = None
        self._ports = Ports(smpp=0, http=0)
        self._stack = contextlib.AsyncExitStack()
        self._shutdown = Shutdown()

    async def start(self) -> None:
        config = self.config
        config.server.data_dir.mkdir(parents=True, exist_ok=True)
        async with contextlib.AsyncExitStack() as stack:  # a failed start undoes itself
            storage = config.storage
            url = (storage.redis_url if storage.redis_url or storage.redis_sentinels
                   else await self._embedded_redis(stack))
            components = build(config, url, slot=self.slot, metrics=self.metrics,
                               totals=self.totals, clock=self.clock)
            self._components = components
            self._ports = await start(components, stack, self._shutdown)
            self._stack = stack.pop_all()
        log.info("gateway started", extra=logs.fields(
            "gateway_started", smpp_listen=f"{config.server.smpp_listen.host}:{self.smpp_port}",
            http_listen=f"{config.server.http_listen.host}:{self.http_port}",
            workers=config.server.workers, upstreams=len(config.upstreams),
            accounts=len(config.accounts)))

    async def _embedded_redis(self, stack: contextlib.AsyncExitStack) -> str:
        embedded = self.embedded_redis = EmbeddedRedis(self.config.server.data_dir)
        stack.push_async_callback(asyncio.to_thread, embedded.stop)
        return await asyncio.to_thread(embedded.start)

    async def stop(self, timeout: float = 10.0) -> None:
        """Drain and close everything, in the reverse order of start (gateway/components.py)."""
        log.info("gateway stopping: draining in-flight work", extra=logs.fields(
            "gateway_stopping", timeout=timeout))
        self._shutdown.timeout = timeout
        await self._stack.aclose()
        log.info("gateway stopped", extra=logs.fields("gateway_stopped"))

    def reload_tls(self) -> None:
        """SIGHUP: the TLS listeners load their certificate and key files again, and the
        TLS carrier links their CA, certificate and key (used from their next connect)."""
        self.components.tls.reload()
        self.components.pool.reload_tls()

    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        """See ``gateway.components.Readiness``."""
        return await self.components.readiness()

    # --- the components, by name (tests, the demo and the bench reach for them) --------

    @property
    def components(self) -> Components:
        if self._components is None:
            raise NotStarted("the gateway has not been started")
        return self._components

    @property
    def smpp_port(self) -> int:
        return self._ports.smpp

    @property
    def smpp_tls_port(self) -> int | None:
        """The senders' SMPP-over-TLS port (None without server.smpp_tls_listen)."""
        return self._ports.smpp_tls

    @property
    def http_port(self) -> int:
        return self._ports.http

    @property
    def redis(self) -> aioredis.Redis:
        return self.components.redis

    @property
    def pool(self) -> UpstreamPool:
        return self.components.pool

    @property
    def server(self) -> SenderServer:
        return self.components.server

    @property
    def dlr(self) -> DlrRouter:
        return self.components.dlr

    @property
    def pipeline(self) -> MtPipeline:
        return self.components.pipeline

    @property
    def ledger(self) -> AsyncLedger:
        return self.components.ledger

    @property
    def ledger_health(self) -> LedgerHealth:
        return self.components.ledger_health

    @property
    def answered_parts(self) -> AnsweredParts:
        return self.components.answered_parts

    @property
    def cache(self) -> SuppressionCache:
        return self.components.cache

    @property
    def keeper(self) -> CacheKeeper:
        return self.components.keeper

    @property
    def suppressions(self) -> Suppressions:
        return self.components.suppressions

    @property
    def webhooks(self) -> WebhookWorker:
        return self.components.webhooks

    @property
    def policy(self) -> PolicyStage:
        return self.components.policy

    @property
    def campaigns(self) -> CampaignMemory:
        return self.components.campaigns

    @property
    def keywords(self) -> KeywordHandler:
        return self.components.keywords

    @property
    def notices(self) -> QueueNotices:
        return self.components.notices

    @property
    def _http(self) -> web.AppRunner:
        return self.components.http


async def serve(config: Config) -> int:
    """Run one process until SIGTERM/SIGINT, then drain and exit 0; SIGHUP reloads the
    TLS listeners' certificates (sessions already bound keep theirs).

    ``stopgate serve`` calls this for ``server.workers = 1`` only; more workers go
    through gateway.process.supervisor.supervise, whose workers build the Gateway themselves.
    """
    configure_logging(config)
    gateway = Gateway(config)
    loop = asyncio.get_running_loop()
    # Before start: a SIGHUP while starting must not end the process (its default).
    loop.add_signal_handler(signal.SIGHUP, reload_tls, gateway)
    try:
        await gateway.start()
    except (RedisPolicyError, ErasureKeyMismatch) as error:  # refused, said plainly
        print(f"stopgate serve: {error}", file=sys.stderr, flush=True)
        return 1
    settle_heap()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(listening_line(config, gateway.smpp_port, gateway.http_port, gateway.smpp_tls_port),
          flush=True)
    await stop.wait()
    await gateway.stop()
    return 0


def reload_tls(gateway: Gateway) -> None:
    """SIGHUP: the TLS listeners load their files again (nothing to do before start)."""
    log.info("SIGHUP: reloading TLS certificates", extra=logs.fields("tls_reload"))
    with contextlib.suppress(NotStarted):
        gateway.reload_tls()


def listening_line(config: Config, smpp_port: int, http_port: int,
                   smpp_tls_port: int | None, workers: int = 1) -> str:
    """What ``stopgate serve`` prints once it accepts connections (tests read the ports)."""
    server = config.server
    line = (f"stopgate: SMPP on {server.smpp_listen.host}:{smpp_port}, "
            f"HTTP on {server.http_listen.host}:{http_port}")
    if server.smpp_tls_listen is not None and smpp_tls_port is not None:
        line += f", SMPP over TLS on {server.smpp_tls_listen.host}:{smpp_tls_port}"
    if workers > 1:
        line += f", {workers} workers"
    return line


def configure_logging(config: Config) -> None:
    """Log lines on stderr at ``log.level``, in ``log.format``, numbers masked per
    ``log.mask_numbers`` (gateway/observability/logs.py)."""
    logs.configure(config.log)


__all__ = ["Gateway", "NotStarted", "configure_logging", "instance_id", "listening_line",
           "reload_tls", "serve"]
