"""Every input in tests/smpp/fuzz_corpus/ keeps its target's contract: findings stay fixed.

bench/fuzz.py saves an input that breaks a contract as ``<target>-<sha1>.bin``;
this replays each through the same checks (bench/fuzz_targets.py), so a fixed
finding becomes a regression test by leaving its file here.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from fuzz_targets import TARGETS  # noqa: E402

CORPUS = Path(__file__).resolve().parent / "fuzz_corpus"
INPUTS = sorted(CORPUS.glob("*.bin"))


def test_corpus_files_are_named_for_a_target_and_their_content() -> None:
    for path in INPUTS:
        target, _, digest = path.stem.partition("-")
        assert target in TARGETS, f"{path.name}: no fuzz target {target!r}"
        assert digest == hashlib.sha1(path.read_bytes()).hexdigest(), path.name


@pytest.mark.parametrize("path", INPUTS, ids=[path.stem[:24] for path in INPUTS])
def test_corpus_input_keeps_its_targets_contract(path: Path) -> None:
    target = path.stem.partition("-")[0]
    TARGETS[target](path.read_bytes())  # raises ContractBroken (or worse) on a regression
