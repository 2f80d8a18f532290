"""`stopgate demo` runs end to end on a machine with nothing but the package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

STOPGATE = Path(sys.executable).parent / "stopgate"
REPO = Path(__file__).resolve().parents[2]


def test_demo_sends_the_campaign_and_every_receipt_comes_back_with_the_senders_id() -> None:
    result = subprocess.run(
        [str(STOPGATE), "demo", "-c", str(REPO / "config.toml")],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "carrier link bound: True" in out
    assert out.count("-> accepted, id ") == 4
    assert out.count("stat:DELIVRD  for +") == 5  # one receipt per part: the UK text has two
    assert "an id the sender never got" not in out
    assert "POST /v1/messages -> 202" in out
    assert "MO passed on to 'acme': 'STOP'" in out
