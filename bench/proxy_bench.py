"""Throughput and sender-seen latency: generator -> simulator, and through stopgate.

Each side runs in its own process: the carrier simulator (`stopgate
simulate-carrier --fast --no-dlr`), the proxy (`stopgate serve` with an
embedded Redis in a scratch directory) and this load generator. The
generator keeps a window of pre-encoded submit_sm in flight on several
sessions and reads only the response headers, so it costs little next to
what it measures.

    python bench/proxy_bench.py [--messages 40000] [--sessions 4] [--window 256]

The full benchmark (policy on, DLRs, paced latency) is issue 6; this is the
proxy-path figure for the transparent proxy.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER = struct.Struct(">IIII")
STOPGATE = str(Path(sys.executable).parent / "stopgate")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def c_string(text: str) -> bytes:
    return text.encode() + b"\0"


def bind_pdu(system_id: str, password: str) -> bytes:
    body = c_string(system_id) + c_string(password) + c_string("") + bytes((0x34, 0, 0)) + b"\0"
    return HEADER.pack(16 + len(body), 0x00000002, 0, 1) + body


TEXTS = {
    "TRX": b"Your verification code is 482913. It expires in 10 minutes. Do not share it.",
    "PROMO": b"Black Friday: 30% off everything this weekend only, shop now before midnight!",
}


def submit_body(destination: str, service_type: str) -> bytes:
    text = TEXTS[service_type]
    return (
        c_string(service_type) + bytes((5, 0)) + c_string("BENCH")
        + bytes((1, 1)) + c_string(destination)
        + bytes((0, 0, 0)) + b"\0" + b"\0" + bytes((0, 0, 0, 0, len(text))) + text
    )


class Generator(asyncio.Protocol):
    """One transmitter session that keeps ``window`` submit_sm in flight until told to stop."""

    def __init__(
        self, system_id: str, password: str, window: int, quota: int, done: asyncio.Future[None],
        service_type: str = "TRX",
    ) -> None:
        self.system_id, self.password, self.window, self.quota = system_id, password, window, quota
        self.done = done
        self.buffer = bytearray()
        self.seq = 1
        self.sent = 0
        self.ok = 0
        self.failed = 0
        self.sent_at: dict[int, float] = {}
        self.latencies: list[float] = []
        body = submit_body("33612345678", service_type)
        self.template = bytearray(HEADER.pack(16 + len(body), 0x00000004, 0, 0) + body)
        self.bound = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(bind_pdu(self.system_id, self.password))  # type: ignore[attr-defined]

    def _fill(self) -> None:
        out = []
        now = time.perf_counter()
        while len(self.sent_at) < self.window and self.sent < self.quota:
            self.seq += 1
            struct.pack_into(">I", self.template, 12, self.seq)
            out.append(bytes(self.template))
            self.sent_at[self.seq] = now
            self.sent += 1
        if out:
            self.transport.write(b"".join(out))  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        pos = 0
        now = time.perf_counter()
        while len(buffer) - pos >= 16:
            length, command_id, status, seq = HEADER.unpack_from(buffer, pos)
            if len(buffer) - pos < length:
                break
            pos += length
            if command_id == 0x80000002:
                if status != 0:
                    self.done.set_exception(RuntimeError(f"bind refused 0x{status:08X}"))
                    return
                self.bound = True
            elif command_id == 0x80000004:
                started = self.sent_at.pop(seq, None)
                if started is not None:
                    self.latencies.append(now - started)
                if status == 0:
                    self.ok += 1
                else:
                    self.failed += 1
        del buffer[:pos]
        if self.bound:
            self._fill()
        if self.sent >= self.quota and not self.sent_at and not self.done.done():
            self.done.set_result(None)


async def load(
    port: int, system_id: str, password: str, messages: int, sessions: int, window: int,
    service_type: str = "TRX",
) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    generators = []
    waits = []
    per_session = messages // sessions
    start = time.perf_counter()
    for _ in range(sessions):
        done: asyncio.Future[None] = loop.create_future()
        _, protocol = await loop.create_connection(
            lambda d=done: Generator(system_id, password, window, per_session, d, service_type),
            "127.0.0.1", port,
        )
        generators.append(protocol)
        waits.append(done)
    await asyncio.wait_for(asyncio.gather(*waits), 300)
    elapsed = time.perf_counter() - start
    latencies = sorted(x for g in generators for x in g.latencies)
    ok = sum(g.ok for g in generators)
    failed = sum(g.failed for g in generators)
    for g in generators:
        g.transport.close()  # type: ignore[attr-defined]

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {"ok": ok, "failed": failed, "seconds": elapsed, "rate": (ok + failed) / elapsed,
            "p50": pct(0.50), "p99": pct(0.99), "p999": pct(0.999)}


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=40000)
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--window", type=int, default=256)
    args = parser.parse_args()
    import uvloop

    carrier_port, smpp_port, http_port = free_port(), free_port(), free_port()
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="stopgate-bench-") as scratch:
        config = Path(scratch) / "bench.toml"
        config.write_text(f"""
[server]
smpp_listen = "127.0.0.1:{smpp_port}"
http_listen = "127.0.0.1:{http_port}"
data_dir = "{scratch}/data"
[smpp]
sender_window = {args.window * 2}
submit_queue_max = 100000
[log]
level = "warning"
[[upstreams]]
name = "sim"
host = "127.0.0.1"
port = {carrier_port}
system_id = "bench"
password = "bench"
sessions = 2
window = 500
[[accounts]]
system_id = "bench"
password = "bench"
default_region = "FR"
numbers = ["36173"]
""")
        try:
            processes.append(subprocess.Popen(
                [STOPGATE, "simulate-carrier", "--listen", f"127.0.0.1:{carrier_port}", "--fast",
                 "--no-dlr"], stdout=subprocess.DEVNULL))
            wait_port(carrier_port)
            shape = (args.messages, args.sessions, args.window)
            direct = uvloop.run(load(carrier_port, "bench", "bench", *shape))
            env = {k: v for k, v in os.environ.items() if not k.startswith("STOPGATE_")}
            proxy = subprocess.Popen(
                [STOPGATE, "serve", "-c", str(config)], stdout=subprocess.DEVNULL, env=env
            )
            processes.append(proxy)
            wait_port(smpp_port)
            time.sleep(1.0)  # the carrier bind and the suppression cache build are asynchronous
            cpu_before = cpu_seconds(proxy.pid)
            proxied = uvloop.run(load(smpp_port, "bench", "bench", *shape, "TRX"))
            proxy_cpu = cpu_seconds(proxy.pid) - cpu_before
            cpu_before = cpu_seconds(proxy.pid)
            policy = uvloop.run(load(smpp_port, "bench", "bench", *shape, "PROMO"))
            policy_cpu = cpu_seconds(proxy.pid) - cpu_before
        finally:
            for process in reversed(processes):
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(10)
    print(f"{'path':<22}{'messages':>10}{'failed':>8}{'seconds':>9}{'msg/s':>9}"
          f"{'p50 ms':>8}{'p99 ms':>8}{'p99.9 ms':>10}")
    rows = (("direct (no proxy)", direct), ("stopgate, transactional", proxied),
            ("stopgate, promotional", policy))
    for name, row in rows:
        print(f"{name:<22}{row['ok']:>10.0f}{row['failed']:>8.0f}{row['seconds']:>9.2f}{row['rate']:>9.0f}"
              f"{row['p50']:>8.2f}{row['p99']:>8.2f}{row['p999']:>10.2f}")
    print(f"proxy CPU per 10,000 messages: transactional {proxy_cpu / args.messages * 1e4:.2f} s, "
          f"promotional (lookup + footer) {policy_cpu / args.messages * 1e4:.2f} s; "
          f"generator max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB")
    print("transactional: classified, no Redis; promotional: classified, one suppression "
          "lookup per tick, footer appended. Latencies are under full load, not paced.")
    return 0 if proxied["failed"] == 0 and policy["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
