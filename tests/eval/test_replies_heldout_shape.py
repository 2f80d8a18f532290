"""eval/replies_heldout*/replies.jsonl, the phrase matcher's held-out sets: their shape only.

The set is held out (see its README): nothing here scores it or asserts how any
matcher does on it. `make eval` scores it; this test only checks that it parses,
that every field and label is valid, and that the counts meet the minimums.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

EVAL = Path(__file__).resolve().parents[2] / "eval"
#: Each round's set, and the fields its lines carry (round 2 numbers its lines).
SETS = {"replies_heldout": {"text", "lang", "label", "note"},
        "replies_heldout2": {"id", "text", "lang", "label", "note"}}
LABELS = {"optout", "review", "none"}
LANGS = {"en", "fr", "es", "de", "it", "nl", "pt"}


def _rows(name: str) -> list[dict[str, str]]:
    rows = []
    path = EVAL / name / "replies.jsonl"
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        row = json.loads(line)
        assert isinstance(row, dict), f"line {number}"
        rows.append(row)
    return rows


@pytest.mark.parametrize("name", sorted(SETS))
def test_every_line_has_text_lang_label_and_note(name: str) -> None:
    for number, row in enumerate(_rows(name), 1):
        assert set(row) == SETS[name], f"line {number}"
        assert all(isinstance(value, str) and value.strip() for value in row.values()), (
            f"line {number}")
        assert row["label"] in LABELS, f"line {number}"
        assert row["lang"] in LANGS, f"line {number}"


@pytest.mark.parametrize("name", sorted(SETS))
def test_counts_meet_the_minimums_and_no_reply_repeats(name: str) -> None:
    rows = _rows(name)
    labels = Counter(row["label"] for row in rows)
    assert len(rows) >= 400
    assert labels["optout"] >= 150
    assert labels["none"] >= 200
    assert 30 <= labels["review"] <= 60
    assert {row["lang"] for row in rows} == LANGS
    for lang in LANGS:
        assert {row["label"] for row in rows if row["lang"] == lang} == LABELS, lang
    assert len({(row["lang"], row["text"]) for row in rows}) == len(rows)
