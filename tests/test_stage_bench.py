"""bench/stage_bench.py runs its stages on a tiny ring and they do what the proxy does.

No timing is asserted: this only keeps the stage benchmark in step with the gateway's
functions it imports (a renamed or changed function fails here, not in `make bench`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

import stage_bench  # noqa: E402
import workload  # noqa: E402


def test_prepared_workload_goes_through_every_stage_as_the_proxy_would() -> None:
    path = stage_bench.HotPath(stage_bench.bench_gateway_config())
    flows = stage_bench.prepare(path, 100)
    assert all(flow.message is not None and flow.message.e164.startswith("+")
               for flow in flows)
    assert all(flow.message is not None and flow.message.klass == flow.template.klass
               for flow in flows)
    promotional = [f for f in flows if f.footered and f.template.klass == workload.PROMOTIONAL]
    assert promotional and all("footer" in f.footered.notes for f in promotional
                               if f.footered is not None)
    assert all(flow.outbound == [] for flow in flows if flow.blocked)
    assert all(len(flow.resp_frames) == len(flow.outbound) >= 1
               for flow in flows if not flow.blocked)


def test_run_writes_every_stage_and_the_comparison(tmp_path: Path) -> None:
    out = tmp_path / "stages.json"
    stage_bench.main(["--messages", "100", "--repeats", "1", "--json", str(out),
                      "--measured-cpu-per-10k", "1.8"])
    result = json.loads(out.read_text())
    keys = {stage["key"] for stage in result["stages"]}
    assert {"decode_submit_sm", "normalise_miss", "classify", "footer", "outbound_parts",
            "encode_outbound", "decode_carrier_resp", "session_carrier_receive"} <= keys
    assert result["measured_cpu_s_per_10k"] == 1.8
    assert result["sum_us_per_message"] > 0
