"""One benchmark scenario from start to finish: sink, proxy, generator phases, counts.

For each scenario a fresh sink (and, when proxied, a fresh ``stopgate serve``,
so its peak RSS is its own) is started; then

1. a throughput phase: the generators keep their windows full; after the
   warm-up, messages answered during ``seconds`` give msgs/s, and /proc gives
   every process's CPU over exactly that window;
2. a latency phase at half that rate (and, for the full policy, one at a fixed
   300 msg/s: the issue's latency target);
3. the proxy's peak RSS is read, the proxy and sink are stopped, and the
   counts of all phases are checked (bench/validate.py).
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bench_config
import procs
import validate
import workload
from procs import PYTHON, STOPGATE, Children

from gateway.sendtime.clock import TEST_CLOCK_ENV


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    proxied: bool
    policy: bool  # the full-policy workload (classes, opt-outs, footers)
    receipts: bool = False
    fixed_rates: tuple[float, ...] = ()
    account: tuple[str, str] = (bench_config.ACCOUNT, bench_config.PASSWORD)
    tls: bool = False  # senders and the carrier link over TLS (the proxy's smpp_tls_listen)
    #: `stopgate serve` instances sharing Redis and the ledger (a SQLite file), each with
    #: its own data_dir; the generators are spread over them.
    instances: int = 1
    #: The compliance packs' send-time rules on (bench_config.compliance_toml) and the
    #: served processes' clock fixed inside every window (bench_config.COMPLIANCE_CLOCK).
    compliance: bool = False


SCENARIOS = {
    "direct": Scenario("direct", "direct: generator -> sink", proxied=False, policy=False),
    "forward": Scenario("forward", "proxy, policy off", proxied=True, policy=False,
                        account=(bench_config.FORWARD_ACCOUNT, bench_config.FORWARD_PASSWORD)),
    "policy": Scenario("policy", "proxy, full policy", proxied=True, policy=True,
                       fixed_rates=(300.0,)),
    # Right after "policy" (same workload, same paced rates): its cost is the difference.
    "compliance": Scenario("compliance", "full policy + packs, caps", proxied=True,
                           policy=True, fixed_rates=(300.0,), compliance=True),
    "dlr": Scenario("dlr", "proxy, full policy + DLRs", proxied=True, policy=True,
                    receipts=True),
    "tls": Scenario("tls", "proxy, full policy, TLS both sides", proxied=True, policy=True,
                    fixed_rates=(300.0,), tls=True),
    "two-instance": Scenario("two-instance", "two instances, full policy, shared Redis+ledger",
                             proxied=True, policy=True, instances=2),
}
#: Opt-outs taken at instance A, each followed by promotions to that number at B.
OPTOUT_TRIALS = 200


@dataclass
class Options:
    seconds: float
    warmup: float
    latency_seconds: float
    workers: int
    sessions: int
    window: int
    generators: int
    suppressed: int
    upstream_sessions: int
    upstream_window: int
    dlr_window: int


@dataclass
class Phase:
    report: dict[str, Any]
    cpu: dict[str, float] = field(default_factory=dict)  # name -> cores, over the window
    proxy_cpu_seconds: float = 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentiles(latencies_us: list[int]) -> dict[str, float | int]:
    values = sorted(latencies_us)
    if not values:
        return {"samples": 0}

    def at(p: float) -> float:
        return round(values[min(len(values) - 1, int(p * len(values)))] / 1000, 3)

    return {"samples": len(values), "p50_ms": at(0.50), "p99_ms": at(0.99),
            "p999_ms": at(0.999), "max_ms": round(values[-1] / 1000, 3)}


class Runner:
    """Runs scenarios against one Redis and one data_dir (see the module docstring)."""

    def __init__(self, options: Options, scratch: Path, children: Children, redis_url: str,
                 redis_pid: int) -> None:
        self.options = options
        self.scratch = scratch
        self.children = children
        self.redis_url = redis_url
        self.redis_pid = redis_pid
        self.data_dir = scratch / "data"
        self.streams = itertools.count(1)
        self.carrier_ranges = itertools.count(1)
        self.loaded = 0
        self.pki = bench_config.Pki(scratch / "tls")

    # --- suppressions --------------------------------------------------------------------

    def load_suppressions(self) -> float:
        """Put the suppression list in the ledger (the fastest supported path: the ledger's
        bulk import, in key order) and empty Redis, so the next gateway rebuilds its cache
        from the ledger as one that starts on a fresh Redis does. Seconds taken."""
        import redis

        from gateway.ledger.sqlite import SqliteLedger

        started = time.perf_counter()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        client = redis.Redis.from_url(self.redis_url)
        client.flushall()
        client.close()
        ledger = SqliteLedger(self.data_dir / "ledger.sqlite3")
        try:
            for scope, pairs in itertools.groupby(
                    workload.suppressed_numbers(self.options.suppressed), key=lambda p: p[0]):
                ledger.import_numbers(scope, (number for _, number in pairs))
        finally:
            ledger.close()
        self.loaded = self.options.suppressed
        return time.perf_counter() - started

    def drop_pending_receipts(self) -> None:
        """Empty the per-account queues of receipts no sender was bound for (``dq:*``): a
        generator that left a scenario must not be handed the last one's receipts."""
        import redis

        client = redis.Redis.from_url(self.redis_url)
        try:
            keys = list(client.scan_iter(match="dq:*", count=1000))
            if keys:
                client.delete(*keys)
        finally:
            client.close()

    def count_cap_keys(self) -> int:
        """Frequency-cap keys in Redis (``fc:*``: one per account, recipient and cap)."""
        import redis

        client = redis.Redis.from_url(self.redis_url)
        try:
            return sum(1 for _ in client.scan_iter(match="fc:*", count=10_000))
        finally:
            client.close()

    def wait_cache(self, minimum: int, timeout: float = 180.0) -> float:
        """Wait until the gateway's suppression cache is complete with ``minimum`` members."""
        import redis

        client = redis.Redis.from_url(self.redis_url, decode_responses=True)
        started = time.monotonic()
        try:
            while time.monotonic() - started < timeout:
                marker = client.get("{sp}:ready")
                if marker is not None:
                    count = int(client.get(f"{{sp}}:{marker.split(':')[0]}:n") or 0)
                    if count >= minimum:
                        return time.monotonic() - started
                time.sleep(0.2)
        finally:
            client.close()
        raise RuntimeError(f"suppression cache not complete after {timeout:.0f} s")

    def wait_members(self, expected: int, timeout: float = 30.0) -> None:
        """Wait until ``expected`` worker processes have joined the membership, then for
        the last one to settle (the others make room on their next heartbeat, and only
        then does it open its SMPP listener). Without this, every generator session can
        land on the workers that started first while the last one is still joining."""
        import redis

        from gateway.instances.membership import INTERVAL, MEMBERS

        client = redis.Redis.from_url(self.redis_url)
        started = time.monotonic()
        try:
            while int(client.zcard(MEMBERS)) < expected:
                if time.monotonic() - started > timeout:
                    raise RuntimeError(f"{expected} workers did not join in {timeout:.0f} s")
                time.sleep(0.1)
        finally:
            client.close()
        time.sleep(INTERVAL * 1.5)

    # --- processes ---------------------------------------------------------------------

    def start_sink(self, scenario: Scenario) -> tuple[subprocess.Popen[str], int]:
        # Each scenario's carrier ids in a range of their own: the proxy's id map in Redis
        # outlives a sink, and a reused id would map a receipt to an older message.
        first_id = next(self.carrier_ranges) << 28
        argv = [PYTHON, str(procs.BENCH / "sink.py"), "--dlr-window",
                str(self.options.dlr_window), "--first-id", hex(first_id)]
        if scenario.receipts:
            argv.append("--dlr")
        if scenario.tls:
            argv += ["--tls-cert", str(self.pki.cert), "--tls-key", str(self.pki.key)]
        sink = self.children.start(f"sink-{scenario.key}", argv)
        assert sink.stdout is not None
        line = sink.stdout.readline()
        if not line.startswith("READY "):
            raise RuntimeError(f"sink did not start: {self.children.stderr_tail('sink')}")
        return sink, int(line.split()[1])

    def stop_sink(self, sink: subprocess.Popen[str]) -> dict[str, Any]:
        sink.send_signal(signal.SIGTERM)
        out, _ = sink.communicate(timeout=15)
        self.children.running.remove(sink)
        return dict(json.loads(out.strip().splitlines()[-1]))

    def start_proxy(self, scenario: Scenario, sink_port: int, index: int = 0
                    ) -> tuple[subprocess.Popen[str], int, dict[str, Any]]:
        """One `stopgate serve`; instance ``index`` > 0 has its own data_dir and shares the
        first one's ledger file (and Redis)."""
        options = self.options
        smpp_port, http_port, tls_port = free_port(), free_port(), free_port()
        name = f"stopgate-{scenario.key}" + (f"-{index}" if index else "")
        config = self.scratch / f"{name}.toml"
        shared = self.data_dir / "ledger.sqlite3"
        bench_config.write_config(
            config, smpp_port=smpp_port, http_port=http_port, tls_port=tls_port,
            data_dir=self.data_dir if not index else self.scratch / f"data-{index}",
            ledger=f"sqlite:///{shared}" if scenario.instances > 1 else "",
            redis_url=self.redis_url, sink_port=sink_port, workers=options.workers,
            window=options.window, upstream_sessions=options.upstream_sessions,
            upstream_window=options.upstream_window,
            tls=self.pki if scenario.tls else None, compliance=scenario.compliance)
        env = {k: v for k, v in os.environ.items() if not k.startswith("STOPGATE_")}
        if scenario.compliance:
            env[TEST_CLOCK_ENV] = bench_config.COMPLIANCE_CLOCK
        if not index:
            self.drop_pending_receipts()
        started = time.monotonic()
        proxy = self.children.start(name, [STOPGATE, "serve", "-c",
                                    str(config)], env=env, stdout=subprocess.DEVNULL)
        try:
            procs.wait_http_ok(f"http://127.0.0.1:{http_port}/readyz", 60.0, proxy)
            cache_wait = self.wait_cache(self.loaded if scenario.policy else 0)
            self.wait_members(options.workers * (index + 1))
        except RuntimeError as error:
            tail = self.children.stderr_tail(name)
            raise RuntimeError(f"stopgate did not get ready: {error}\n{tail}") from error
        time.sleep(0.5)  # workers bind their carrier links after the parent is ready
        stderr = (self.children.logs / f"{name}.stderr").read_text()
        info = {"start_s": round(time.monotonic() - started, 2), "http_port": http_port,
                "cache_wait_s": round(cache_wait, 2),
                "workers_not_built_warning": "not built" in stderr}
        return proxy, tls_port if scenario.tls else smpp_port, info

    # --- phases --------------------------------------------------------------------------

    def phase(self, scenario: Scenario, port: int | list[int], watched: dict[str, list[int]],
              *, rate: float, seconds: float, warmup: float) -> Phase:
        """Generators from now + 2 s; CPU of ``watched`` over the window [warmup, end].
        Several ports (instances): generator k sends to port k mod their number."""
        options = self.options
        ports = port if isinstance(port, list) else [port]
        count = max(options.generators, len(ports))
        start_at = time.monotonic() + 2.0
        generators = []
        reports_at = []
        for index in range(count):
            sessions = options.sessions // count + (index < options.sessions % count)
            argv = [PYTHON, str(procs.BENCH / "generator.py"),
                    "--port", str(ports[index % len(ports)]),
                    "--system-id", scenario.account[0], "--password", scenario.account[1],
                    "--sessions", str(sessions), "--window", str(options.window),
                    "--workload", "full" if scenario.policy or not scenario.proxied else "off",
                    "--stream", str(next(self.streams)), "--suppressed", str(self.loaded or
                                                                             options.suppressed),
                    "--blocked-status", hex(bench_config.BLOCKED_STATUS),
                    "--start-at", repr(start_at), "--warmup", str(warmup),
                    "--seconds", str(seconds), "--rate", str(rate / count)]
            if scenario.receipts:
                argv += ["--ids-file", str(self.scratch / f"ids-{scenario.key}")]
            if scenario.tls:
                argv += ["--tls-ca", str(self.pki.ca)]
            reports_at.append(self.scratch / f"generator-{scenario.key}-{len(reports_at)}.json")
            argv += ["--report", str(reports_at[-1])]
            generators.append(self.children.start(f"generator-{scenario.key}", argv,
                                                  stdout=subprocess.DEVNULL))
        pids = dict(watched)
        for index, generator in enumerate(generators):
            pids[f"generator {index + 1}" if count > 1 else "generator"] = [generator.pid]
        every = [pid for group in pids.values() for pid in group]
        time.sleep(max(0.0, start_at + warmup - time.monotonic()))
        before = procs.sample(every)
        time.sleep(max(0.0, start_at + warmup + seconds - time.monotonic()))
        after = procs.sample(every)
        fractions = procs.cpu_fractions(before, after)
        reports = []
        for generator, path in zip(generators, reports_at, strict=True):
            generator.wait(timeout=120)
            self.children.running.remove(generator)
            if generator.returncode != 0 or not path.exists():
                tail = self.children.stderr_tail(f"generator-{scenario.key}")
                raise RuntimeError(f"generator failed ({generator.returncode}):\n{tail}")
            reports.append(json.loads(path.read_text()))
            path.unlink()
        cpu = {name: round(sum(fractions[pid] for pid in group), 3)
               for name, group in pids.items()}
        # Whatever else ran on the machine meanwhile (other people's tests...): a reader can
        # tell a run that shared its cores from one that did not.
        machine = (after.machine - before.machine) / max(after.at - before.at, 1e-9)
        cpu["other processes"] = round(max(0.0, machine - sum(cpu.values())), 3)
        proxy_cpu = sum(after.seconds[pid] - before.seconds[pid]
                        for name, group in pids.items() if name.startswith("proxy")
                        for pid in group)
        return Phase(validate.merge(reports), cpu, proxy_cpu)

    # --- a scenario ---------------------------------------------------------------------

    def run(self, scenario: Scenario) -> dict[str, Any]:
        options = self.options
        result: dict[str, Any] = {"key": scenario.key, "scenario": scenario.title}
        if scenario.policy and scenario.proxied and self.loaded != options.suppressed:
            result["suppressions_load_s"] = round(self.load_suppressions(), 2)
        caps_before = self.count_cap_keys() if scenario.compliance else 0
        sink, sink_port = self.start_sink(scenario)
        watched: dict[str, list[int]] = {"sink": [sink.pid], "redis": [self.redis_pid]}
        proxy = None
        extra: list[subprocess.Popen[str]] = []  # instances after the first
        port: int | list[int] = sink_port
        http_ports: list[int] = []
        try:
            if scenario.proxied:
                proxy, port, result["proxy_start"] = self.start_proxy(scenario, sink_port)
                proxy_pids = procs.proxy_processes(proxy.pid)
                http_ports.append(result["proxy_start"].pop("http_port"))
                if scenario.instances > 1:
                    ports = [port]
                    for index in range(1, scenario.instances):
                        other, other_port, info = self.start_proxy(scenario, sink_port, index)
                        extra.append(other)
                        ports.append(other_port)
                        http_ports.append(info.pop("http_port"))
                        proxy_pids += procs.proxy_processes(other.pid)
                    port = ports
                result["proxy_processes"] = len(proxy_pids)
                for index, pid in enumerate(proxy_pids):
                    watched[f"proxy {index}" if index else "proxy"] = [pid]
            load = self.phase(scenario, port, watched, rate=0.0, seconds=options.seconds,
                              warmup=options.warmup)
            answered = load.report["answered_in_window"]
            rate = answered / options.seconds
            result.update({
                "msgs_per_s": round(rate),
                "pdus_per_s": round(load.report["pdus_in_window"] / options.seconds),
                "latency_under_load": percentiles(load.report["latency_us"]),
                "cpu_cores": load.cpu,
            })
            if proxy is not None:
                result["cpu_s_per_10k"] = round(load.proxy_cpu_seconds / max(answered, 1) * 1e4,
                                                3)
            phases = [load]
            for paced in (rate * 0.5, *scenario.fixed_rates):
                phase = self.phase(scenario, port, watched, rate=paced,
                                   seconds=options.latency_seconds, warmup=1.0)
                phases.append(phase)
                key = "latency" if paced == rate * 0.5 else f"latency_{paced:.0f}"
                result[key] = {"rate": round(paced)} | percentiles(phase.report["latency_us"])
            if len(http_ports) > 1:
                result["optout_across_instances"] = optout_latency(http_ports, OPTOUT_TRIALS)
            if proxy is not None:
                proxy_pids = procs.proxy_processes(proxy.pid)
                for other in extra:
                    proxy_pids += procs.proxy_processes(other.pid)
                per_process = [round(procs.memory_kb(pid) / 1024, 1) for pid in proxy_pids]
                result["rss_mb"] = round(sum(per_process), 1)
                result["rss_mb_per_process"] = per_process
                self.children.stop(proxy)
                proxy = None
                while extra:
                    self.children.stop(extra.pop())
            counts = self.stop_sink(sink)
            sink = None
        finally:
            if proxy is not None:
                self.children.stop(proxy)
            for other in extra:
                self.children.stop(other)
            if sink is not None:
                self.children.stop(sink)
        generated = validate.merge(phase.report for phase in phases)
        generated.pop("latency_us", None)
        unknown = self.unknown_receipt_ids(scenario) if scenario.receipts else None
        capped = self.count_cap_keys() - caps_before if scenario.compliance else None
        problems, figures = validate.check(generated, counts, policy=scenario.policy and
                                           scenario.proxied, receipts=scenario.receipts,
                                           proxied=scenario.proxied, unknown_ids=unknown,
                                           capped=capped)
        result["bound_by"] = bound_by(load.cpu)
        result["validation"] = {"ok": not problems, "problems": problems, "figures": figures,
                                "sink": counts}
        return result


    def unknown_receipt_ids(self, scenario: Scenario) -> int:
        """Receipts (any phase) naming an id no phase's generator was given."""
        base = self.scratch / f"ids-{scenario.key}"
        given_path, receipts_path = Path(f"{base}.given"), Path(f"{base}.receipts")
        given = set(given_path.read_bytes().split()) if given_path.exists() else set()
        named = receipts_path.read_bytes().split() if receipts_path.exists() else []
        return sum(1 for i in named if i not in given)


def bound_by(cpu: dict[str, float], cores: int | None = None) -> str:
    """Which processes used (nearly) a whole core, and whether the machine was full."""
    cores = cores or os.cpu_count() or 1
    busy = [name for name, used in sorted(cpu.items(), key=lambda kv: -kv[1]) if used >= 0.9]
    total = sum(cpu.values())
    verdict = ", ".join(busy) if busy else "no single process"
    if total >= 0.9 * cores:
        verdict += f" (all {cores} cores busy: {total:.2f})"
    return verdict


def optout_latency(http_ports: list[int], trials: int) -> dict[str, Any]:
    """An opt-out taken at the first instance (PUT /v1/suppressions, the path a STOP and
    the link page take: ledger, then the Redis cache, then the answer) and the next
    promotional MT to that number at the second (POST /v1/messages, class promotional),
    repeated until it is blocked (422). Per trial: the time from sending the opt-out to
    the blocked answer at B; how many MTs B forwarded in between (0 expected: the
    state is shared, there is nothing to propagate)."""
    import asyncio

    import aiohttp

    async def run() -> dict[str, Any]:
        a, b = (f"http://127.0.0.1:{port}" for port in http_ports[:2])
        auth = {"Authorization": f"Bearer {bench_config.API_KEY}"}
        latencies_us: list[int] = []
        leaked = 0
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
            for trial in range(trials):
                number = f"+3376{trial:07d}"  # outside the workload's ranges
                started = time.perf_counter()
                async with http.put(f"{a}/v1/suppressions/{number}", headers=auth) as put:
                    assert put.status == 200, await put.text()
                while True:
                    async with http.post(f"{b}/v1/messages", headers=auth, json={
                            "to": number, "from": workload.SHORTCODE, "class": "promotional",
                            "text": "Winter sale: 40% off everything"}) as answer:
                        await answer.read()
                        if answer.status == 422:
                            break
                        leaked += 1
                        if leaked > trials:
                            raise RuntimeError(f"B keeps forwarding: HTTP {answer.status}")
                latencies_us.append(int((time.perf_counter() - started) * 1e6))
        return {"trials": trials, "forwarded_after_optout": leaked} | percentiles(latencies_us)

    return asyncio.run(run())
