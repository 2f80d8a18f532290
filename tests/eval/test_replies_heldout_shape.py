"""The phrase matcher's reply sets: their shape only.

Rounds 1 to 6's held-out sets have been seen and are in-sample now
(tests/rules/replies_insample_round{1,...,6}.jsonl): their shape is checked against the
minimums they were written to. Every held-out set (eval/replies_heldout*/replies.jsonl:
round 7's is added by the lead) is only checked to parse, with valid fields and labels and the
issue's minimums (>= 300 replies, >= 5 languages): nothing here scores a held-out set
or asserts how any matcher does on it. `make eval` scores them.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SEEN = [ROOT / "tests" / "rules" / f"replies_insample_round{n}.jsonl" for n in range(1, 7)]
HELDOUT = sorted((ROOT / "eval").glob("replies_heldout*/replies.jsonl"))
LABELS = {"optout", "review", "none"}
LANGS = {"en", "fr", "es", "de", "it", "nl", "pt"}


def _rows(path: Path) -> list[dict[str, str]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        assert isinstance(row, dict), f"line {number}"
        rows.append(row)
    return rows


def _check_fields(rows: list[dict[str, str]]) -> None:
    for number, row in enumerate(rows, 1):
        # Round 2 and later number their lines ("id"); round 1 did not.
        assert set(row) - {"id"} == {"text", "lang", "label", "note"}, f"line {number}"
        assert all(isinstance(value, str) and value.strip() for value in row.values()), (
            f"line {number}")
        assert row["label"] in LABELS, f"line {number}"
        assert row["lang"] in LANGS, f"line {number}"


@pytest.mark.parametrize("path", SEEN, ids=[f"round{n}" for n in range(1, 7)])
def test_a_seen_round_has_text_lang_label_and_note_on_every_line(path: Path) -> None:
    _check_fields(_rows(path))


@pytest.mark.parametrize("path", SEEN, ids=[f"round{n}" for n in range(1, 7)])
def test_a_seen_round_meets_the_minimums_and_no_reply_repeats(path: Path) -> None:
    rows = _rows(path)
    labels = Counter(row["label"] for row in rows)
    assert len(rows) >= 400
    assert labels["optout"] >= 150
    assert labels["none"] >= 200
    assert 30 <= labels["review"] <= 60
    assert {row["lang"] for row in rows} == LANGS
    for lang in LANGS:
        assert {row["label"] for row in rows if row["lang"] == lang} == LABELS, lang
    assert len({(row["lang"], row["text"]) for row in rows}) == len(rows)


@pytest.mark.parametrize("path", HELDOUT, ids=[p.parent.name for p in HELDOUT])
def test_a_heldout_set_parses_and_meets_the_issues_minimums(path: Path) -> None:
    rows = _rows(path)
    _check_fields(rows)
    assert len(rows) >= 300
    assert len({row["lang"] for row in rows}) >= 5
    assert {row["label"] for row in rows} == LABELS
    ids = [row["id"] for row in rows if "id" in row]
    assert len(set(ids)) == len(ids)
