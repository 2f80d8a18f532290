"""`stopgate demo` runs end to end on a machine with nothing but the package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

STOPGATE = Path(sys.executable).parent / "stopgate"
REPO = Path(__file__).resolve().parents[2]


def test_demo_blocks_the_opted_out_footers_the_rest_and_returns_every_receipt() -> None:
    result = subprocess.run(
        [str(STOPGATE), "demo", "-c", str(REPO / "config.toml")],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "carrier link bound: True; suppression cache ready" in out
    assert out.count("-> accepted, id ") == 5
    assert out.count("-> BLOCKED (0x00000065: opted out)") == 1  # promotional to the opted-out
    assert "one-time code, opted out    GSM 03.38 1 part(s)  -> accepted" in out
    assert "| STOP au 36173'" in out  # the French footer
    assert "| Opt-out: https://no-s.ms/" in out  # a per-recipient link elsewhere
    assert out.count("stat:DELIVRD  for +") == 6  # one receipt per part: the UK text has two
    assert "an id the sender never got" not in out
    assert "POST /v1/messages -> 202" in out
    assert "MO passed on to 'acme': 'STOP'" in out
