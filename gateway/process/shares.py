"""What ``server.workers = N`` changes in the configuration each worker process runs with.

The parent (gateway/process/supervisor.py) prepares once, before any worker exists:

- the listeners: every address of ``server.smpp_listen``, ``server.http_listen`` and
  ``server.smpp_tls_listen`` (when set) is *reserved* by a socket bound with SO_REUSEPORT
  that never listens. It pins the port (port 0 becomes one concrete free port, the
  same for every worker), and a port another program already listens on is refused
  here, by key, not in N workers. The kernel spreads connections only over listening
  sockets, so the reservation never takes any;
- per worker ``slot`` (0..N-1, kept across restarts), its share of every limit that
  must hold in total: an upstream's ``sessions`` (binds at the carrier) and ``tps``,
  and an account's ``tps``. Shares differ by at most one and add up to the configured
  value. ``window`` is per session, so ``sessions x window`` also holds in total.

A limit below N cannot be shared (a worker with no bind could not send; a share of 0
tps would mean unlimited), so ``problems`` refuses it with the key and the fix.
"""

from __future__ import annotations

import errno
import socket
from dataclasses import replace

from gateway.config.model import Config, ListenAddress

__all__ = ["ListenerReservation", "WorkerSetupError", "problems", "share", "worker_config"]


class WorkerSetupError(RuntimeError):
    """The worker processes cannot start; the message names the key and the fix."""


def share(total: int, workers: int, slot: int) -> int:
    """Worker ``slot``'s part of ``total``: parts differ by at most one and sum to ``total``."""
    return total // workers + (1 if slot < total % workers else 0)


def problems(config: Config) -> list[tuple[str, str]]:
    """(key path, message) for every limit that ``server.workers`` processes cannot share."""
    workers = config.server.workers
    if workers <= 1:
        return []
    found: list[tuple[str, str]] = []
    for index, upstream in enumerate(config.upstreams):
        if upstream.sessions < workers:
            found.append((
                f"upstreams[{index}].sessions",
                f"{upstream.sessions} is less than server.workers ({workers}): sessions counts "
                f"the binds to the carrier across all workers and each worker needs one; set "
                f"sessions to at least {workers} or lower server.workers"))
        if 0 < upstream.tps < workers:
            found.append((
                f"upstreams[{index}].tps",
                f"{upstream.tps} is less than server.workers ({workers}): each worker sends "
                f"at most its share of tps; set tps to at least {workers}, or 0 (unlimited)"))
    for index, account in enumerate(config.accounts):
        if 0 < account.tps < workers:
            found.append((
                f"accounts[{index}].tps",
                f"{account.tps} is less than server.workers ({workers}): each worker allows "
                f"its share of tps; set tps to at least {workers}, or 0 (unlimited)"))
    return found


def worker_config(config: Config, slot: int, smpp_port: int, http_port: int,
                  redis_url: str, smpp_tls_port: int | None = None) -> Config:
    """The configuration worker ``slot`` runs: fixed ports, the shared Redis, its shares."""
    workers = config.server.workers
    tls_listen = config.server.smpp_tls_listen
    server = replace(
        config.server,
        smpp_listen=ListenAddress(config.server.smpp_listen.host, smpp_port),
        http_listen=ListenAddress(config.server.http_listen.host, http_port),
        smpp_tls_listen=(ListenAddress(tls_listen.host, smpp_tls_port)
                         if tls_listen is not None and smpp_tls_port is not None
                         else tls_listen),
    )
    upstreams = tuple(
        replace(upstream, sessions=share(upstream.sessions, workers, slot),
                tps=share(upstream.tps, workers, slot))
        for upstream in config.upstreams
    )
    accounts = tuple(replace(account, tps=share(account.tps, workers, slot))
                     for account in config.accounts)
    return replace(config, server=server, storage=replace(config.storage, redis_url=redis_url),
                   upstreams=upstreams, accounts=accounts)


def _addresses(address: ListenAddress, key: str) -> list[tuple[int, tuple[str, int]]]:
    """(family, sockaddr) for every address ``address.host`` resolves to, as asyncio binds."""
    try:
        infos = socket.getaddrinfo(address.host, address.port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise WorkerSetupError(f"{key}: cannot resolve {address.host!r}: {exc}") from None
    seen: list[tuple[int, tuple[str, int]]] = []
    for family, _, _, _, sockaddr in infos:
        entry = (family, (str(sockaddr[0]), int(sockaddr[1])))
        if entry not in seen:
            seen.append(entry)
    return seen


def _socket(family: int, reuse_port: bool) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)  # as asyncio binds
    return sock


class ListenerReservation:
    """Bound, never-listening SO_REUSEPORT sockets that hold one listener's port."""

    def __init__(self, address: ListenAddress, key: str) -> None:
        self.key = key
        self.sockets: list[socket.socket] = []
        port = address.port
        try:
            for family, (host, _) in _addresses(address, key):
                if port:
                    self._refuse_if_taken(family, host, port)
                sock = _socket(family, reuse_port=True)
                self.sockets.append(sock)
                sock.bind((host, port))
                port = int(sock.getsockname()[1])  # port 0: every address gets the first's
        except OSError as exc:
            self.close()
            raise WorkerSetupError(f"{key}: cannot bind {address.host}:{port}: "
                                   f"{exc.strerror or exc}") from None
        except BaseException:
            self.close()
            raise
        self.port = port

    def _refuse_if_taken(self, family: int, host: str, port: int) -> None:
        # A plain bind fails when anyone listens there; an SO_REUSEPORT one would quietly
        # share the port with another program of the same user (another stopgate...).
        probe = _socket(family, reuse_port=False)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise WorkerSetupError(
                    f"{self.key}: {host}:{port} is already in use by another process; stop "
                    f"it or choose another port") from None
            raise
        finally:
            probe.close()

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()
        self.sockets.clear()
