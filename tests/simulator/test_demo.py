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
    # the promotional one to the recipient opted out before, and (at the end) the next one
    # to the recipient who replied STOP
    assert out.count("-> BLOCKED (0x00000065: opted out)") == 2
    assert "one-time code, opted out    GSM 03.38 1 part(s)  -> accepted" in out
    assert "| STOP au 36173'" in out  # the French footer
    assert "| Opt-out: no-s.ms/" in out  # a per-recipient link elsewhere (bare: issue 12)
    assert out.count("stat:DELIVRD  for +") == 6  # one receipt per part: the UK text has two
    assert "an id the sender never got" not in out
    assert "POST /v1/messages -> 202" in out
    # config.toml's globex lists GLOBEX: acme cannot send as it
    assert "'acme' tries to send as 'GLOBEX' ('globex' lists it) -> refused 0x0000000A" in out
    assert "MO passed on to 'acme': 'STOP'" in out
    # The STOP opted the recipient out: one confirmation, then the next promotion blocked.
    assert "+33612345678 opted out of 'acme' (keyword STOP" in out
    # config.toml leaves acme's texts to the French keyword pack, with acme's display_name.
    assert out.count("[carrier] confirmation to +33612345678 from 36173: "
                     "'ACME : Vous ne recevrez plus") == 1
    assert "the next promotional message to +33612345678 -> BLOCKED (0x00000065" in out
    assert "STOP reply into an opt-out" not in out
    assert "(a GET alone opts nobody out)" in out
    assert "confirmed and answered 'too many messages': +447400900123 opted out of 'acme'" in out
    assert "too_many: 1" in out
