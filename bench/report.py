"""The benchmark's table and bench/results.json."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next((line.split(":", 1)[1].strip() for line in cpuinfo
                          if line.startswith("model name")), "")
    except OSError:
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=Path(__file__).parent, check=False).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, cwd=Path(__file__).parent,
                           check=False).stdout.strip()
    return {"cores": os.cpu_count(), "cpu": model, "python": sys.version.split()[0],
            "platform": platform.platform(), "git_commit": commit,
            "git_tree_modified": bool(dirty)}


def _ms(latency: dict[str, Any] | None, key: str) -> str:
    if not latency or key not in latency:
        return "-"
    return f"{latency[key]:.2f}"


def table(results: list[dict[str, Any]]) -> str:
    head = (f"{'scenario':<28}{'msg/s':>8}{'PDU/s':>8}  {'latency at 50% (ms)':<30}"
            f"{'CPU-s':>6}{'RSS MB':>8}{'procs':>6}  {'valid':<6}{'CPU-bound'}")
    sub = (f"{'':<28}{'':>8}{'':>8}  {'rate':>6}{'p50':>8}{'p99':>8}{'p99.9':>8} "
           f"{'/10k':>5}{'':>8}{'':>6}")
    lines = [head, sub, "-" * len(head)]
    for row in results:
        latency = row.get("latency", {})
        lines.append(
            f"{row['scenario']:<28}{row.get('msgs_per_s', 0):>8}{row.get('pdus_per_s', 0):>8}"
            f"  {latency.get('rate', '-'):>6}{_ms(latency, 'p50_ms'):>8}"
            f"{_ms(latency, 'p99_ms'):>8}{_ms(latency, 'p999_ms'):>8}"
            f"{row.get('cpu_s_per_10k', '-'):>6}{row.get('rss_mb', '-'):>8}"
            f"{row.get('proxy_processes', '-'):>6}  "
            f"{'ok' if row['validation']['ok'] else 'FAIL':<6}{row.get('bound_by', '')}")
        for key, value in row.items():
            if key.startswith("latency_") and key != "latency_under_load":
                lines.append(f"{'  paced ' + key.split('_')[1] + ' msg/s':<44}"
                             f"{value['rate']:>6}{_ms(value, 'p50_ms'):>8}"
                             f"{_ms(value, 'p99_ms'):>8}{_ms(value, 'p999_ms'):>8}")
    return "\n".join(lines)


def cpu_lines(results: list[dict[str, Any]]) -> str:
    lines = ["CPU over each throughput window (cores; 1.0 = one core busy):"]
    for row in results:
        cpu = ", ".join(f"{name} {used:.2f}" for name, used in row.get("cpu_cores", {}).items())
        lines.append(f"  {row['key']:<8} {cpu}")
    return "\n".join(lines)


def problems(results: list[dict[str, Any]]) -> str:
    lines = []
    for row in results:
        for problem in row["validation"]["problems"]:
            lines.append(f"FAIL {row['key']}: {problem}")
    return "\n".join(lines)


def write(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(payload, indent=2) + "\n")
