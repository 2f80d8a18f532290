"""Fuzz the PDU decoder, the session state machine and the reassembler: `make fuzz`.

    python bench/fuzz.py [--inputs 1000000] [--seed 0] [--seconds S] [--jobs 2]

Each input is bytes (see fuzz_targets for what each target promises and how
it reads them; fuzz_inputs for how inputs are made). An input that breaks a
contract is saved as tests/smpp/fuzz_corpus/<target>-<sha1>.bin, where
tests/smpp/test_fuzz_corpus.py replays it from then on, and the run exits 1.
Memory must stay flat: each job samples its RSS every 100,000 inputs and the
run fails if it grew more than --max-growth-mb since the first sample (after
warm-up). A seed replays a run exactly (with the same --jobs).
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import random
import resource
import sys
import time
import traceback
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fuzz_inputs import FramePool, decode_input, reassembly_input, session_input
from fuzz_targets import TARGETS

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "smpp" / "fuzz_corpus"
SAMPLE_EVERY = 100_000
#: Target of input i is SCHEDULE[i % len]: the decoder is cheapest and sees most inputs.
SCHEDULE = ("decode", "decode", "session", "reassembly")
MAKERS = {"decode": decode_input, "session": session_input, "reassembly": reassembly_input}
#: Findings kept per job: one broken contract tends to be hit over and over.
MAX_FINDINGS = 20


@dataclass
class JobResult:
    tried: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TARGETS, 0))
    broken: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TARGETS, 0))
    findings: list[tuple[str, bytes, str]] = field(default_factory=list)
    samples_mb: list[float] = field(default_factory=list)
    peak_mb: float = 0.0
    seconds: float = 0.0


def _memory_mb(traced: bool) -> float:
    if traced:
        return tracemalloc.get_traced_memory()[0] / 2**20
    with open("/proc/self/statm") as statm:  # resident pages, without a psutil dependency
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_job(job: int, seed: int, inputs: int, deadline: float, traced: bool) -> JobResult:
    """Try ``inputs`` inputs (or until ``deadline``) from the job's own stream of the seed."""
    if traced:
        tracemalloc.start()
    started = time.monotonic()
    rng = random.Random(f"{seed}/{job}")
    pool = FramePool(rng)
    result = JobResult()
    for index in range(inputs):
        if index % 1000 == 0 and time.monotonic() > deadline:
            break
        name = SCHEDULE[index % len(SCHEDULE)]
        data = MAKERS[name](pool, rng)
        result.tried[name] += 1
        try:
            TARGETS[name](data)
        except Exception:  # ContractBroken or anything else that escaped: both are findings
            result.broken[name] += 1
            if len(result.findings) < MAX_FINDINGS:
                result.findings.append((name, data, traceback.format_exc(limit=4)))
        if (index + 1) % SAMPLE_EVERY == 0:
            result.samples_mb.append(_memory_mb(traced))
    if traced:
        result.peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    else:
        result.peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result.seconds = time.monotonic() - started
    return result


def save(name: str, data: bytes) -> Path:
    CORPUS.mkdir(parents=True, exist_ok=True)
    path = CORPUS / f"{name}-{hashlib.sha1(data).hexdigest()}.bin"
    path.write_bytes(data)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=1_000_000, help="inputs in all (1000000)")
    parser.add_argument("--seed", type=int, default=0, help="replays a run (0)")
    parser.add_argument("--seconds", type=float, default=None, help="stop after this long")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="processes, each with its share of the inputs (one per CPU)")
    parser.add_argument("--max-growth-mb", type=float, default=32.0,
                        help="memory a job may gain after its first sample (32)")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="sample Python allocations instead of RSS (about 3x slower)")
    args = parser.parse_args(argv)
    if args.inputs < 1 or args.jobs < 1:
        parser.error("--inputs and --jobs must be at least 1")

    started = time.monotonic()
    deadline = started + args.seconds if args.seconds else float("inf")
    shares = [args.inputs // args.jobs + (job < args.inputs % args.jobs)
              for job in range(args.jobs)]
    work = [(job, args.seed, share, deadline, args.tracemalloc)
            for job, share in enumerate(shares)]
    if args.jobs == 1:
        results = [run_job(*work[0])]
    else:
        with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
            results = pool.starmap(run_job, work)
    elapsed = time.monotonic() - started
    return report(results, args, elapsed)


def report(results: list[JobResult], args: argparse.Namespace, elapsed: float) -> int:
    tried = {name: sum(r.tried[name] for r in results) for name in TARGETS}
    broken = {name: sum(r.broken[name] for r in results) for name in TARGETS}
    total = sum(tried.values())
    print(f"fuzz: seed {args.seed}, {args.jobs} job(s): {total:,} inputs in {elapsed:.1f} s "
          f"({total / elapsed:,.0f} inputs/s)")
    for name in TARGETS:
        print(f"  {name:<11} {tried[name]:>9,} inputs  {broken[name]} broke the contract")
    what = "traced Python memory" if args.tracemalloc else "RSS"
    growth = 0.0
    for job, result in enumerate(results):
        samples = result.samples_mb
        if samples:
            growth = max(growth, max(samples) - samples[0])
        shown = ", ".join(f"{mb:.1f}" for mb in samples) or "none (under 100k inputs)"
        print(f"  job {job}: {what} every {SAMPLE_EVERY:,} inputs (MB): {shown}; "
              f"peak {result.peak_mb:.1f} MB")
    memory_ok = growth <= args.max_growth_mb
    print(f"  memory growth after warm-up: {growth:.1f} MB (bound {args.max_growth_mb:.0f} MB)"
          f"{'' if memory_ok else ': OVER THE BOUND'}")
    if total < args.inputs:
        print(f"  stopped by --seconds after {total:,} of {args.inputs:,} inputs")
    findings = [finding for result in results for finding in result.findings]
    for name, data, trace in findings:
        print(f"\n{save(name, data).relative_to(CORPUS.parent.parent.parent)}:\n{trace}")
    crashes = sum(broken.values())
    print(f"crashes: {crashes}")
    return 0 if crashes == 0 and memory_ok else 1


if __name__ == "__main__":
    sys.exit(main())
