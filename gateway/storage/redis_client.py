"""The one place a gateway's Redis client is made: one server, Sentinel or Cluster.

- **One server** (``redis_url``: ``redis://``, ``rediss://``, ``unix://``): a
  ``BlockingConnectionPool``: a burst of commands waits for a free connection
  rather than failing with "Too many connections" (and failing promotional
  traffic closed).
- **Sentinel** (``redis_sentinels`` + ``redis_service``): the sentinels are asked
  where the master is whenever a connection is opened; a connection to a master
  that died, or that a failover demoted (READONLY), is dropped and the next one
  asks again, so the client follows a failover without a restart. ``redis_url``,
  if set, gives only the scheme (``rediss``: TLS to the master *and* the
  sentinels), the master's credentials and the database; its host is not used.
  ``redis_sentinel_password`` is the sentinels' own ``requirepass``. The pool
  blocks like the one-server one.
- **Cluster** (``redis_cluster = true``, ``redis_url`` names any node): redis-py's
  ``RedisCluster``, which learns the slot map from that node and follows MOVED/ASK
  and failovers. Its pools are per node and do not block: they are sized
  generously instead (``CLUSTER_CONNECTIONS`` a node).

Every user sees the client as a ``redis.asyncio.Redis``: ``RedisCluster`` answers
the same commands (with the same-slot rule every multi-key command and script of
stopgate keeps: see README "Redis: one server, Sentinel or Cluster"). The few
commands that differ go through the helpers here (``mget``, ``scan_keys``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any, cast
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import SSLConnection, parse_url
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.exceptions import ResponseError

from gateway.config.model import Storage
from gateway.observability.logs import fields

__all__ = [
    "CLUSTER_CONNECTIONS",
    "NOEVICTION",
    "RedisPolicyError",
    "check_eviction",
    "describe",
    "is_cluster",
    "mget",
    "open_redis",
    "scan_keys",
]

log = logging.getLogger("stopgate.redis")

#: A Cluster client's connections to each node (its pools raise past this, not wait).
CLUSTER_CONNECTIONS = 256


class RedisPolicyError(RuntimeError):
    """Redis would evict keys (or will not say whether it would): stopgate refuses to run."""


class _BlockingSentinelPool(SentinelConnectionPool, aioredis.BlockingConnectionPool):
    """Sentinel's pool (asks where the master is) that waits for a free connection."""


def open_redis(storage: Storage, url: str, *, max_connections: int, pool_wait: float,
               command_timeout: float) -> aioredis.Redis:
    """The client for ``storage`` (``url``: its redis_url, or the embedded Redis's)."""
    timeouts: dict[str, Any] = {"socket_timeout": command_timeout,
                                "socket_connect_timeout": command_timeout}
    if storage.redis_sentinels:
        return _sentinel_client(storage, url, max_connections, pool_wait, timeouts)
    if storage.redis_cluster:
        cluster = RedisCluster.from_url(url, max_connections=CLUSTER_CONNECTIONS, **timeouts)
        return cast(aioredis.Redis, cluster)
    return aioredis.Redis(connection_pool=aioredis.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=pool_wait, **timeouts))


def _sentinel_client(storage: Storage, url: str, max_connections: int, pool_wait: float,
                     timeouts: dict[str, Any]) -> aioredis.Redis:
    options: dict[str, Any] = dict(parse_url(url)) if url else {}
    for name in ("host", "port", "path"):
        options.pop(name, None)
    tls = options.pop("connection_class", None) is SSLConnection
    # The sentinels speak TLS when the master does (rediss), with the same CA and checks.
    tls_options = {name: value for name, value in options.items() if name.startswith("ssl_")}
    sentinel_options: dict[str, Any] = {**timeouts, **tls_options}
    if tls:
        sentinel_options["ssl"] = True
    if storage.redis_sentinel_password:
        sentinel_options["password"] = storage.redis_sentinel_password
    sentinels = [_host_port(address) for address in storage.redis_sentinels]
    sentinel = Sentinel(sentinels, sentinel_kwargs=sentinel_options)
    return cast(aioredis.Redis, sentinel.master_for(
        storage.redis_service, connection_pool_class=_BlockingSentinelPool,
        max_connections=max_connections, timeout=pool_wait, ssl=tls, **timeouts, **options))


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def is_cluster(redis: object) -> bool:
    return isinstance(redis, RedisCluster)


def describe(storage: Storage, url: str) -> str:
    """Where Redis is, for messages: no credentials."""
    if storage.redis_sentinels:
        return (f"the master of '{storage.redis_service}' (sentinels "
                f"{', '.join(storage.redis_sentinels)})")
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix://{parts.path}"
    where = f"{parts.scheme}://{parts.hostname or 'localhost'}"
    where += (f":{parts.port}" if parts.port else "") + parts.path
    return f"the Redis Cluster of {where}" if storage.redis_cluster else where


async def mget(redis: aioredis.Redis, keys: Sequence[bytes | str]) -> list[Any]:
    """MGET; on a Cluster, per slot (the keys of one call may live on several shards)."""
    if is_cluster(redis):
        return list(await cast(RedisCluster, redis).mget_nonatomic(list(keys)))
    return list(await redis.mget(list(keys)))


async def scan_keys(redis: aioredis.Redis, match: str, count: int = 1000,
                    ) -> AsyncIterator[list[bytes]]:
    """Keys matching ``match``, a SCAN page at a time (on a Cluster: every primary's)."""
    if is_cluster(redis):
        page: list[bytes] = []
        async for key in cast(RedisCluster, redis).scan_iter(match=match, count=count):
            page.append(key)
            if len(page) >= count:
                yield page
                page = []
        if page:
            yield page
        return
    cursor = 0
    while True:
        cursor, keys = await redis.scan(cursor, match=match, count=count)
        if keys:
            yield cast(list[bytes], list(keys))
        if not cursor:
            return


NOEVICTION = "noeviction"


async def check_eviction(redis: aioredis.Redis, *, assume: bool) -> None:
    """Raise RedisPolicyError unless every Redis node says ``maxmemory-policy noeviction``.

    A Redis that evicts under memory pressure could drop a suppression bucket under a
    present ready marker (an opted-out number let through), a DLR id map or a queued
    receipt. Where CONFIG is disabled or renamed (managed Redis), stopgate refuses too,
    unless ``storage.redis_assume_noeviction`` vouches for the policy. Connection errors
    go through to the caller.
    """
    for name, policy in await _policies(redis):
        if policy is None:
            if assume:
                log.warning("Redis does not say its maxmemory-policy; going on as "
                            "storage.redis_assume_noeviction says", extra=fields(
                                "redis_policy_assumed", node=name))
                continue
            raise RedisPolicyError(
                f"Redis{name} refuses CONFIG GET maxmemory-policy, so stopgate cannot check "
                f"that it never evicts keys. Set maxmemory-policy noeviction on it (a managed "
                f"Redis: in its parameter group or settings), then set "
                f"storage.redis_assume_noeviction = true to vouch for it")
        if policy != NOEVICTION:
            raise RedisPolicyError(
                f"Redis{name} has maxmemory-policy {policy}: stopgate needs noeviction (an "
                f"evicted key could let an opted-out number through, or lose a receipt). "
                f"Fix: CONFIG SET maxmemory-policy noeviction, and maxmemory-policy "
                f"noeviction in its redis.conf")


async def _policies(redis: aioredis.Redis) -> list[tuple[str, str | None]]:
    """(" at host:port" or "", policy or None when CONFIG GET is refused) per node."""
    if is_cluster(redis):
        cluster = cast(RedisCluster, redis)
        await cluster.initialize()
        found = []
        for node in cluster.get_nodes():
            reply = await _config_get(lambda n=node: cluster.config_get(
                "maxmemory-policy", target_nodes=n))
            found.append((f" at {node.host}:{node.port}", reply))
        return found
    return [("", await _config_get(lambda: redis.config_get("maxmemory-policy")))]


async def _config_get(call: Any) -> str | None:
    try:
        reply = await call()
    except ResponseError as exc:  # unknown command (disabled/renamed), NOPERM
        log.debug("CONFIG GET refused", extra=fields("redis_config_refused", error=str(exc)))
        return None
    values = {_text(key): _text(value) for key, value in dict(reply).items()}
    return values.get("maxmemory-policy") or None


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)

