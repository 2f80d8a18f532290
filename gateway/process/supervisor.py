"""``stopgate serve`` with ``server.workers = N > 1``: one supervising parent, N gateways.

::

    parent (no event loop, no threads)
      validate the shares (gateway/process/shares.py) -> embedded Redis (if redis_url = "")
      -> ledger schema (opened once, closed) -> metrics dir -> reserve the listeners
      -> fork N workers -> print the listening line once all N are listening
      -> supervise: restart a worker that dies (backoff), forward SIGTERM/SIGINT
         (and SIGHUP: the workers reload their TLS certificates),
         exit once every worker has drained -> stop the embedded Redis
    worker k (forked)
      dies with the parent (PR_SET_PDEATHSIG: SIGTERM, so it drains) -> the full
      Gateway with its share of the limits, listeners bound with SO_REUSEPORT on the
      parent's ports -> one byte on its pipe once listening -> runs until SIGTERM

Workers are forked from a parent that never ran an event loop or a thread, so each
starts clean; the parent imported the service beforehand, so a restart costs no
import time. The embedded Redis is the parent's child, tied to the parent (not to a
worker): it outlives every worker restart and goes when the parent goes.

A worker that dies during the first start (a port taken, Redis refusing...) aborts the
whole start: exit 1 with its log above. Later deaths are logged and the worker is
restarted after 0.2 s, doubling up to 30 s while it keeps dying within 30 s of its
start. A worker that does not drain within ``DRAIN_GRACE`` of SIGTERM is killed.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import select
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from gateway.config.model import Config

# Imported here, in the parent: its LIFE is drawn once and inherited by every worker
# forked, so a restarted worker succeeds its killed predecessor in the membership at once.
from gateway.instances.membership import Totals
from gateway.lifecycle import backoff
from gateway.observability.logs import fields
from gateway.process.shares import ListenerReservation, WorkerSetupError, problems, worker_config

__all__ = ["supervise"]

log = logging.getLogger("stopgate.workers")

_PR_SET_PDEATHSIG = 1
#: Seconds a worker gets to drain after SIGTERM (Gateway.stop takes up to ~10 s per stage).
DRAIN_GRACE = 40.0
RESTART_FIRST, RESTART_MAX = 0.2, 30.0
#: A worker that ran this long before dying is restarted without further backoff.
HEALTHY_AFTER = 30.0
METRICS_DIR = "metrics"


@dataclass
class _Worker:
    slot: int
    pid: int = 0
    pipe: int = -1  # the parent's read end of the worker's readiness pipe
    listening: bool = False
    started: float = 0.0
    failures: int = 0  # deaths in a row, each within HEALTHY_AFTER of its start
    restart_at: float | None = None


def _die_with_parent() -> None:
    # The parent's death (even by SIGKILL) sends this worker SIGTERM: it drains, exits.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exited with code {os.waitstatus_to_exitcode(status)}"


class Supervisor:
    """The parent process: starts, watches and stops the worker processes."""

    def __init__(self, config: Config, redis_url: str, smpp: ListenerReservation,
                 http: ListenerReservation, metrics_dir: Path,
                 smpp_tls: ListenerReservation | None = None) -> None:
        self.config = config
        self.redis_url = redis_url
        self.smpp = smpp
        self.http = http
        self.smpp_tls = smpp_tls
        self.metrics_dir = metrics_dir
        self.workers = [_Worker(slot) for slot in range(config.server.workers)]
        self.stopping = False
        self.exit_code = 0
        self.announced = False
        self._wake_r, self._wake_w = os.pipe()
        for fd in (self._wake_r, self._wake_w):
            os.set_blocking(fd, False)

    # --- signals ------------------------------------------------------------------------

    def _on_stop_signal(self, signum: int, frame: FrameType | None) -> None:
        if not self.stopping:
            log.info("%s: stopping %d workers", signal.Signals(signum).name, len(self.workers),
                     extra=fields("gateway_stopping", signal=signal.Signals(signum).name,
                                  workers=len(self.workers)))
        self.stopping = True

    def _on_reload_signal(self, signum: int, frame: FrameType | None) -> None:
        """SIGHUP: every worker reloads its TLS listeners' and carrier links' files (the
        parent has none)."""
        alive = [w for w in self.workers if w.pid]
        log.info("SIGHUP: asking %d workers to reload TLS certificates", len(alive),
                 extra=fields("tls_reload", workers=len(alive)))
        for worker in alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.pid, signal.SIGHUP)

    def _install_signals(self) -> None:
        signal.set_wakeup_fd(self._wake_w)  # a signal wakes the select() below
        signal.signal(signal.SIGTERM, self._on_stop_signal)
        signal.signal(signal.SIGINT, self._on_stop_signal)
        signal.signal(signal.SIGHUP, self._on_reload_signal)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)

    # --- workers ------------------------------------------------------------------------

    def _fork(self, worker: _Worker) -> None:
        read_end, write_end = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the worker; it never returns here
            code = 1
            try:
                os.close(read_end)
                code = self._worker_main(worker.slot, write_end)
            except BaseException:
                log.exception("worker %d failed", worker.slot,
                              extra=fields("worker_failed", worker=worker.slot))
            finally:
                with contextlib.suppress(Exception):
                    logging.shutdown()
                    sys.stdout.flush()
                    sys.stderr.flush()
                os._exit(code)
        os.close(write_end)
        worker.pid, worker.pipe = pid, read_end
        worker.listening = False
        worker.started = time.monotonic()
        worker.restart_at = None
        log.info("worker %d started: pid %d", worker.slot, pid,
                 extra=fields("worker_started", worker=worker.slot, worker_pid=pid))

    def _worker_main(self, slot: int, ready_fd: int) -> int:  # pragma: no cover - in the child
        parent = os.getppid()
        signal.set_wakeup_fd(-1)
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)
        # Until the worker's loop handles it: a reload before start has nothing to reload,
        # and SIGHUP's default would end the worker.
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        _die_with_parent()
        if os.getppid() != parent:
            return 0  # the parent died before the death signal was armed
        for fd in (self._wake_r, self._wake_w,
                   *(w.pipe for w in self.workers if w.pipe >= 0)):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.smpp.close()
        self.http.close()
        if self.smpp_tls is not None:
            self.smpp_tls.close()
        from gateway.process.worker import run_worker

        config = worker_config(self.config, slot, self.smpp.port, self.http.port,
                               self.redis_url,
                               self.smpp_tls.port if self.smpp_tls is not None else None)
        return run_worker(config, slot, ready_fd, Totals.of(self.config))

    def _reap(self) -> None:
        for worker in self.workers:
            if not worker.pid:
                continue
            try:
                pid, status = os.waitpid(worker.pid, os.WNOHANG)
            except ChildProcessError:
                pid, status = worker.pid, 0
            if pid == 0:
                continue
            self._exited(worker, status)

    def _exited(self, worker: _Worker, status: int) -> None:
        pid, worker.pid = worker.pid, 0
        self._close_pipe(worker)
        self._mark_dead(pid)
        if self.stopping:
            log.info("worker %d (pid %d) %s", worker.slot, pid, _describe(status),
                     extra=fields("worker_exited", worker=worker.slot, worker_pid=pid,
                                  status=_describe(status)))
            # SIGTERM itself is a clean end: it came before the worker's handler was set.
            clean = status == 0 or (os.WIFSIGNALED(status)
                                    and os.WTERMSIG(status) == signal.SIGTERM)
            if not clean:
                self.exit_code = 1
            return
        if not self.announced:
            log.error("worker %d (pid %d) %s while starting; stopping (see its log above)",
                      worker.slot, pid, _describe(status),
                      extra=fields("worker_start_failed", worker=worker.slot, worker_pid=pid,
                                   status=_describe(status)))
            self.exit_code = 1
            self.stopping = True
            return
        ran = time.monotonic() - worker.started
        worker.failures = 1 if ran >= HEALTHY_AFTER else worker.failures + 1
        delay = backoff(worker.failures, RESTART_FIRST, RESTART_MAX)
        worker.restart_at = time.monotonic() + delay
        log.error("worker %d (pid %d) %s after %.1fs; restarting it in %.1fs",
                  worker.slot, pid, _describe(status), ran, delay,
                  extra=fields("worker_died", worker=worker.slot, worker_pid=pid,
                               status=_describe(status), ran_s=round(ran, 1),
                               restart_in_s=delay))

    def _mark_dead(self, pid: int) -> None:
        # Its live gauges (sessions, in-flight...) leave the sums; its counters stay counted.
        from prometheus_client import multiprocess

        with contextlib.suppress(OSError):
            # the ignore: prometheus_client leaves this call's signature unannotated
            multiprocess.mark_process_dead(  # type: ignore[no-untyped-call]
                pid, str(self.metrics_dir))

    def _close_pipe(self, worker: _Worker) -> None:
        if worker.pipe >= 0:
            with contextlib.suppress(OSError):
                os.close(worker.pipe)
            worker.pipe = -1

    def _read_pipes(self, readable: list[int]) -> None:
        for worker in self.workers:
            if worker.pipe < 0 or worker.pipe not in readable:
                continue
            try:
                data = os.read(worker.pipe, 64)
            except OSError:
                data = b""
            if data:
                worker.listening = True
            else:
                self._close_pipe(worker)  # the worker closed it (exiting): reaped shortly
        if not self.announced and all(w.listening for w in self.workers):
            self.announced = True
            server = self.config.server
            from gateway.app import listening_line

            print(listening_line(self.config, self.smpp.port, self.http.port,
                                 self.smpp_tls.port if self.smpp_tls is not None else None,
                                 len(self.workers)), flush=True)
            log.info("gateway started", extra=fields(
                "gateway_started", smpp_listen=f"{server.smpp_listen.host}:{self.smpp.port}",
                http_listen=f"{server.http_listen.host}:{self.http.port}",
                workers=len(self.workers)))

    # --- the loop -----------------------------------------------------------------------

    def run(self) -> int:
        """Start the workers and supervise them until they have all stopped; the exit code."""
        self._install_signals()
        for worker in self.workers:
            if not self.stopping:
                self._fork(worker)
        terminated_at: float | None = None
        killed = False
        while True:
            self._reap()
            now = time.monotonic()
            alive = [w for w in self.workers if w.pid]
            if self.stopping:
                if not alive:
                    break
                if terminated_at is None:
                    terminated_at = now
                    for worker in alive:
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(worker.pid, signal.SIGTERM)
                elif not killed and now - terminated_at > DRAIN_GRACE:
                    killed = True
                    for worker in alive:
                        log.error("worker %d (pid %d) still draining after %.0fs: killed",
                                  worker.slot, worker.pid, DRAIN_GRACE,
                                  extra=fields("worker_killed", worker=worker.slot,
                                               worker_pid=worker.pid, grace_s=DRAIN_GRACE))
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(worker.pid, signal.SIGKILL)
            else:
                for worker in self.workers:
                    if not worker.pid and worker.restart_at is not None \
                            and now >= worker.restart_at:
                        self._fork(worker)
            timeout = 1.0
            for worker in self.workers:
                if not worker.pid and worker.restart_at is not None and not self.stopping:
                    timeout = min(timeout, max(0.0, worker.restart_at - now))
            pipes = [w.pipe for w in self.workers if w.pipe >= 0]
            try:
                readable, _, _ = select.select([self._wake_r, *pipes], [], [], timeout)
            except InterruptedError:  # pragma: no cover - PEP 475 retries select itself
                readable = []
            if self._wake_r in readable:
                with contextlib.suppress(BlockingIOError):
                    while os.read(self._wake_r, 512):
                        pass
            self._read_pipes(readable)
        signal.set_wakeup_fd(-1)
        log.info("gateway stopped", extra=fields("gateway_stopped", exit_code=self.exit_code))
        return self.exit_code


def _fresh_metrics_dir(path: Path) -> None:
    """Create or empty the metrics directory: the files of a previous run would be summed in."""
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()


def supervise(config: Config) -> int:
    """Run ``stopgate serve`` as N worker processes; the exit code (0 after a clean stop)."""
    found = problems(config)
    if found:
        for key, message in found:
            print(f"{key}: {message}", file=sys.stderr)
        return 1
    data_dir = config.server.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    # Before prometheus_client is first imported (by gateway.app): it reads this once.
    metrics_dir = data_dir / METRICS_DIR
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    # The whole service, imported once here rather than in every fork.
    from gateway.app import configure_logging
    from gateway.ledger.engines import open_ledger
    from gateway.ledger.model import LedgerError
    from gateway.process.redis_embedded import EmbeddedRedis, EmbeddedRedisError
    from gateway.storage.redis_client import RedisPolicyError
    from gateway.suppression.erasure import KEY_META as ERASURE_KEY_META
    from gateway.suppression.erasure import ErasureKeyMismatch, hasher_for, key_mismatch

    configure_logging(config)
    embedded: EmbeddedRedis | None = None
    reservations: list[ListenerReservation] = []
    try:
        redis_url = config.storage.redis_url
        if not redis_url and not config.storage.redis_sentinels:
            # Started from this (main) thread: its death signal follows this process.
            embedded = EmbeddedRedis(data_dir)
            redis_url = embedded.start()
        # Refused here, once, rather than by each of N workers.
        _check_redis_policy(config, redis_url)
        # Create or migrate the ledger schema once, before N workers open it at once.
        ledger = open_ledger(config.storage.ledger, data_dir)
        try:  # and refuse a storage.hash_key other than its erasures' (as each worker does)
            problem = key_mismatch(hasher_for(config.storage.hash_key),
                                   ledger.meta_get(ERASURE_KEY_META))
        finally:
            ledger.close()
        if problem is not None:
            raise ErasureKeyMismatch(problem)
        server = config.server
        smpp = ListenerReservation(server.smpp_listen, "server.smpp_listen")
        reservations.append(smpp)
        http = ListenerReservation(server.http_listen, "server.http_listen")
        reservations.append(http)
        smpp_tls = None
        if server.smpp_tls_listen is not None:
            smpp_tls = ListenerReservation(server.smpp_tls_listen, "server.smpp_tls_listen")
            reservations.append(smpp_tls)
        # Only now: another stopgate on this data_dir or these ports was refused above.
        _fresh_metrics_dir(metrics_dir)
        return Supervisor(config, redis_url, smpp, http, metrics_dir, smpp_tls).run()
    except (WorkerSetupError, EmbeddedRedisError, LedgerError, RedisPolicyError) as exc:
        print(f"stopgate serve: {exc}", file=sys.stderr)
        return 1
    finally:
        for reservation in reservations:
            reservation.close()
        if embedded is not None:
            embedded.stop()


def _check_redis_policy(config: Config, redis_url: str) -> None:
    """RedisPolicyError if Redis may evict keys; a Redis not answering is the workers' to
    wait for (their keepers check the policy before promotional traffic flows)."""
    import asyncio

    from gateway.storage.redis_client import RedisPolicyError, check_eviction, open_redis

    async def check() -> None:
        redis = open_redis(config.storage, redis_url, max_connections=2, pool_wait=2.0,
                           command_timeout=2.0)
        try:
            await asyncio.wait_for(check_eviction(
                redis, assume=config.storage.redis_assume_noeviction), 5.0)
        except RedisPolicyError:
            raise
        except Exception:  # unreachable: not this check's to decide
            pass
        finally:
            await redis.aclose()

    asyncio.run(check())
