"""eval/replies_heldout/replies.jsonl, the phrase matcher's held-out set: its shape only.

The set is held out (see its README): nothing here scores it or asserts how any
matcher does on it. `make eval` scores it; this test only checks that it parses,
that every field and label is valid, and that the counts meet the minimums.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

REPLIES = Path(__file__).resolve().parents[2] / "eval" / "replies_heldout" / "replies.jsonl"
LABELS = {"optout", "review", "none"}
LANGS = {"en", "fr", "es", "de", "it", "nl", "pt"}


def _rows() -> list[dict[str, str]]:
    rows = []
    for number, line in enumerate(REPLIES.read_text(encoding="utf-8").splitlines(), 1):
        row = json.loads(line)
        assert isinstance(row, dict), f"line {number}"
        rows.append(row)
    return rows


def test_every_line_has_text_lang_label_and_note() -> None:
    for number, row in enumerate(_rows(), 1):
        assert set(row) == {"text", "lang", "label", "note"}, f"line {number}"
        assert all(isinstance(value, str) and value.strip() for value in row.values()), (
            f"line {number}")
        assert row["label"] in LABELS, f"line {number}"
        assert row["lang"] in LANGS, f"line {number}"


def test_counts_meet_the_minimums_and_no_reply_repeats() -> None:
    rows = _rows()
    labels = Counter(row["label"] for row in rows)
    assert len(rows) >= 400
    assert labels["optout"] >= 150
    assert labels["none"] >= 200
    assert 30 <= labels["review"] <= 60
    assert {row["lang"] for row in rows} == LANGS
    for lang in LANGS:
        assert {row["label"] for row in rows if row["lang"] == lang} == LABELS, lang
    assert len({(row["lang"], row["text"]) for row in rows}) == len(rows)
