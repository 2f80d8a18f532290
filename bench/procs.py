"""The benchmark's processes: start them, watch their CPU and memory in /proc, stop them.

Every child is started in a session of its own (``start_new_session``), so
``Children.close`` can end it *and everything it started* (a proxy's worker
processes) by its process group, and nothing outlives the harness even when a
scenario fails halfway.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

CLOCK_TICK = os.sysconf("SC_CLK_TCK")
BENCH = Path(__file__).resolve().parent
PYTHON = sys.executable
STOPGATE = str(Path(sys.executable).parent / "stopgate")


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (its threads included), in seconds; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK


def machine_busy_seconds() -> float:
    """CPU seconds every core has spent busy since boot (all processes), from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICK


def memory_kb(pid: int, field: str = "VmHWM") -> int:
    """A ``/proc/<pid>/status`` memory field (peak RSS by default), in KiB."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def command_name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as comm:
            return comm.read().strip()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def descendants(pid: int) -> list[int]:
    """Every live process under ``pid`` (children, their children...)."""
    found: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except (FileNotFoundError, ProcessLookupError):
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children") as children:
                    kids = [int(x) for x in children.read().split()]
            except (FileNotFoundError, ProcessLookupError):
                continue
            found.extend(kids)
            todo.extend(kids)
    return found


def proxy_processes(serve_pid: int) -> list[int]:
    """The serve process and its worker processes (not a Redis it may have started)."""
    return [serve_pid] + [pid for pid in descendants(serve_pid)
                          if not command_name(pid).startswith("redis")]


@dataclass
class CpuSample:
    at: float
    seconds: dict[int, float]
    machine: float  # busy CPU seconds of the whole machine


def sample(pids: Iterable[int]) -> CpuSample:
    return CpuSample(time.monotonic(), {pid: cpu_seconds(pid) for pid in pids},
                     machine_busy_seconds())


def cpu_fractions(before: CpuSample, after: CpuSample) -> dict[int, float]:
    """CPU seconds per wall second of each process between two samples (1.0 = one core)."""
    wall = max(after.at - before.at, 1e-9)
    return {pid: (after.seconds.get(pid, 0.0) - before.seconds.get(pid, 0.0)) / wall
            for pid in before.seconds}


class Children:
    """The processes this harness started; ``close`` ends them all (process groups)."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: list[subprocess.Popen[str]] = []

    def start(self, name: str, argv: Sequence[str], *, env: dict[str, str] | None = None,
              stdout: int | IO[str] = subprocess.PIPE) -> subprocess.Popen[str]:
        stderr = (self.logs / f"{name}.stderr").open("a")
        process = subprocess.Popen(argv, stdout=stdout, stderr=stderr, text=True, env=env,
                                   start_new_session=True, cwd=BENCH.parent)
        stderr.close()
        self.running.append(process)
        return process

    def stop(self, process: subprocess.Popen[str], timeout: float = 15.0) -> None:
        """SIGTERM to the process (it drains and stops its workers), SIGKILL to its group
        if it does not exit within ``timeout``."""
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        # Workers the process left behind (its group is its own: see start).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        if process in self.running:
            self.running.remove(process)

    def close(self) -> None:
        for process in reversed(list(self.running)):
            self.stop(process, timeout=5.0)

    def stderr_tail(self, name: str, lines: int = 15) -> str:
        path = self.logs / f"{name}.stderr"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def wait_http_ok(url: str, timeout: float, process: subprocess.Popen[str]) -> None:
    """Poll ``url`` until it answers 200; fail if ``process`` dies or time runs out."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} was OK")
        try:
            with urllib.request.urlopen(url, timeout=1.0) as answer:
                if answer.status == 200:
                    return
        except urllib.error.HTTPError as error:
            last = f"HTTP {error.code}"
        except OSError as error:
            last = str(error)
        time.sleep(0.1)
    raise RuntimeError(f"{url} not OK after {timeout:.0f} s ({last})")
