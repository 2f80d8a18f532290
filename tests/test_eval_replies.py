"""bench/eval_replies.py, the phrase matcher's `make eval` scorer: its arithmetic and wiring.

Nothing here scores a held-out reply set (eval/replies_heldout*/): their figures are for
the report, and a test asserting them would be tuning on them. These tests run the
scorer on toy files only.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import eval_classifier  # noqa: E402
import eval_replies  # noqa: E402
from eval_replies import Reply, score  # noqa: E402


def _toy(text: str, lang: str) -> tuple[str, str]:
    """A stand-in path: opt-out on STOP, review on '?', else ignored."""
    if "STOP" in text:
        return "optout", "toy:stop"
    if "?" in text:
        return "review", "toy:question"
    return "ignored", "toy:-"


TOY = [
    Reply("STOP", "en", "optout", ""),
    Reply("stop please", "en", "optout", "missed"),
    Reply("why?", "en", "optout", "to review"),
    Reply("STOP by the store", "en", "none", "false opt-out"),
    Reply("where is it?", "fr", "none", "to review"),
    Reply("thanks", "fr", "none", ""),
    Reply("who is this?", "fr", "review", ""),
    Reply("STOP?", "fr", "review", "opted out"),
    Reply("hmm", "fr", "review", "ignored"),
]


def test_recall_false_optouts_and_review_counts() -> None:
    report = score(TOY, _toy)
    overall = report.overall
    assert overall.recall == pytest.approx(1 / 3)
    assert overall.cells["optout"] == {"optout": 1, "review": 1, "ignored": 1}
    assert overall.false_optouts == pytest.approx(1 / 3)
    assert overall.cells["none"] == {"optout": 1, "review": 1, "ignored": 1}
    assert overall.cells["review"] == {"optout": 1, "review": 1, "ignored": 1}
    assert report.by_lang["en"].recall == pytest.approx(1 / 3)
    assert report.by_lang["fr"].recall is None
    assert report.by_lang["fr"].false_optouts == 0.0
    assert [(m.text, m.label, m.decision) for m in report.mistakes] == [
        ("stop please", "optout", "ignored"), ("why?", "optout", "review"),
        ("STOP by the store", "none", "optout"), ("where is it?", "none", "review"),
        ("STOP?", "review", "optout"), ("hmm", "review", "ignored")]
    assert not report.passes()


def test_targets_are_recall_095_and_one_percent() -> None:
    optouts = [Reply(f"STOP {i}", "en", "optout", "") for i in range(95)]
    optouts += [Reply(f"missed {i}", "en", "optout", "") for i in range(5)]
    nones = [Reply(f"fine {i}", "en", "none", "") for i in range(99)]
    nones += [Reply("STOP by", "en", "none", "")]
    assert score(optouts + nones, _toy).passes()
    assert not score([*optouts[1:], Reply("x", "en", "optout", ""), *nones], _toy).passes()
    assert not score([*optouts, *nones[1:], Reply("STOP y", "en", "none", "")], _toy).passes()


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows),
                    encoding="utf-8")
    return path


def test_runs_end_to_end_on_toy_sets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The script as `make eval` runs it, on toy files instead of the real sets: the
    shipped config's keywords decide first, then the phrase matcher."""
    rows = [{"text": "STOP", "lang": "en", "label": "optout", "note": "keyword"},
            {"text": "Baja por favor", "lang": "es", "label": "optout", "note": "phrase"},
            {"text": "Stop by the store tomorrow?", "lang": "en", "label": "none", "note": ""},
            {"text": "START", "lang": "en", "label": "none", "note": "opt-in keyword"},
            {"text": "not interested", "lang": "en", "label": "review", "note": ""}]
    toy = _write(tmp_path / "toy.jsonl", rows)
    (tmp_path / "replies_heldout9").mkdir()
    held = _write(tmp_path / "replies_heldout9" / "replies.jsonl", rows)
    out = tmp_path / "out.json"
    assert eval_replies.main(["--in-sample", str(toy), "--heldout", str(held),
                              "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    header = next(line for line in printed.splitlines() if "in-sample  " in line)
    assert header.index("in-sample") < header.index("held-out replies_heldout9")
    assert "Mistakes, held-out replies_heldout9 (0), for the report only" in printed
    assert "µs/reply" in printed
    document = json.loads(out.read_text(encoding="utf-8"))
    assert [(s["name"], s["kind"], s["file"]) for s in document["sets"]] == [
        ("in-sample", "in-sample", str(toy)),
        ("held-out replies_heldout9", "held-out", str(held))]
    for found in document["sets"]:
        assert found["overall"]["recall"] == 1.0
        assert found["overall"]["false_optouts"] == 0.0
        assert found["overall"]["cells"]["review"]["review"] == 1
        assert found["pass"] is True
    assert document["cost_us_per_reply"]["match_phrase"] > 0


def test_a_heldout_set_is_also_scored_without_what_in_sample_has_word_for_word(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    toy = _write(tmp_path / "toy.jsonl",
                 [{"text": "STOP", "lang": "en", "label": "optout", "note": ""},
                  {"text": "Who is  this?", "lang": "en", "label": "review", "note": ""}])
    (tmp_path / "replies_heldout9").mkdir()
    held = _write(tmp_path / "replies_heldout9" / "replies.jsonl", [
        {"text": "stop", "lang": "en", "label": "optout", "note": "seen, case aside"},
        {"text": "who is this?", "lang": "en", "label": "review", "note": "seen, spacing"},
        {"text": "Stop by the store tomorrow?", "lang": "en", "label": "none", "note": ""},
        {"text": "lovely weather", "lang": "en", "label": "optout", "note": "a miss"}])
    out = tmp_path / "out.json"
    assert eval_replies.main(["--in-sample", str(toy), "--heldout", str(held),
                              "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "held-out replies_heldout9, unseen" in printed
    # The unseen column's mistakes are the whole set's: printed once.
    assert printed.count("lovely weather") == 1
    document = json.loads(out.read_text(encoding="utf-8"))
    assert [(s["name"], s["kind"]) for s in document["sets"]] == [
        ("in-sample", "in-sample"), ("held-out replies_heldout9", "held-out"),
        ("held-out replies_heldout9, unseen", "held-out-unseen")]
    whole, unseen = document["sets"][1]["overall"], document["sets"][2]["overall"]
    assert whole["recall"] == 0.5 and unseen["recall"] == 0.0
    assert sum(sum(row.values()) for row in unseen["cells"].values()) == 2
    assert unseen["false_optouts"] == 0.0


def test_strict_exits_1_when_a_heldout_set_misses(tmp_path: Path) -> None:
    wrong = _write(tmp_path / "wrong.jsonl",
                   [{"text": "lovely weather", "lang": "en", "label": "optout", "note": ""}])
    right = _write(tmp_path / "right.jsonl",
                   [{"text": "STOP", "lang": "en", "label": "optout", "note": ""},
                    {"text": "thanks", "lang": "en", "label": "none", "note": ""}])
    assert eval_replies.main(["--in-sample", str(right), "--heldout", str(wrong)]) == 0
    assert eval_replies.main(["--in-sample", str(right), "--heldout", str(wrong),
                              "--strict"]) == 1
    assert eval_replies.main(["--in-sample", str(right), "--heldout", str(right),
                              "--heldout", str(wrong), "--strict"]) == 1
    assert eval_replies.main(["--in-sample", str(wrong), "--heldout", str(right),
                              "--strict"]) == 0
    assert eval_replies.main(["--in-sample", str(wrong), "--no-heldout", "--strict"]) == 0


def test_a_bad_label_says_where(tmp_path: Path) -> None:
    bad = _write(tmp_path / "bad.jsonl", [{"text": "x", "lang": "en", "label": "spam"}])
    with pytest.raises(SystemExit, match=r"bad\.jsonl:1"):
        eval_replies.load_replies(bad)


def test_the_default_sets_and_make_eval() -> None:
    """In-sample: the tuning set and rounds 1 to 6's held-out sets, seen, now in-sample;
    held out: every eval/replies_heldout*/ directory (found by name, never opened here)."""
    assert eval_replies.DEFAULT_IN_SAMPLES == (
        ROOT / "tests" / "rules" / "replies_insample.jsonl",
        ROOT / "tests" / "rules" / "replies_insample_round1.jsonl",
        ROOT / "tests" / "rules" / "replies_insample_round2.jsonl",
        ROOT / "tests" / "rules" / "replies_insample_round3.jsonl",
        ROOT / "tests" / "rules" / "replies_insample_round4.jsonl",
        ROOT / "tests" / "rules" / "replies_insample_round5.jsonl",
        ROOT / "tests" / "rules" / "replies_insample_round6.jsonl")
    assert all(path.is_file() for path in eval_replies.DEFAULT_IN_SAMPLES)
    assert not (ROOT / "eval" / "replies_heldout").exists()
    for n in range(2, 7):  # seen: moved in-sample
        assert not (ROOT / "eval" / f"replies_heldout{n}").exists()
    assert eval_replies.HELDOUT_GLOB == "replies_heldout*/replies.jsonl"
    assert eval_replies.set_name(eval_replies.SEEN[1], False) == "in-sample (round 1)"
    assert eval_replies.set_name(eval_replies.SEEN[2], False) == "in-sample (round 2)"
    assert eval_replies.set_name(eval_replies.SEEN[3], False) == "in-sample (round 3)"
    for n in (4, 5, 6):
        assert eval_replies.set_name(eval_replies.SEEN[n], False) == f"in-sample (round {n})"
    assert eval_replies.set_name(ROOT / "tests" / "rules" / "replies_insample.jsonl",
                                 False) == "in-sample"
    assert eval_replies.set_name(ROOT / "eval" / "replies_heldout2" / "replies.jsonl",
                                 True) == "held-out replies_heldout2"
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    target = makefile.split("\neval:", 1)[1].split("\n\n", 1)[0]
    assert "bench/eval_classifier.py" in target
    assert "bench/eval_replies.py" in target


def test_every_heldout_directory_is_picked_up(tmp_path: Path) -> None:
    for name in ("replies_heldout2", "replies_heldout10", "heldout3"):
        (tmp_path / name).mkdir()
        (tmp_path / name / ("replies.jsonl" if name != "heldout3" else "messages.jsonl")
         ).write_text("", encoding="utf-8")
    (tmp_path / "replies_heldout7").mkdir()  # no replies.jsonl yet: not a set
    assert eval_replies.heldout_sets(tmp_path) == [
        tmp_path / "replies_heldout10" / "replies.jsonl",
        tmp_path / "replies_heldout2" / "replies.jsonl"]


def test_round_1_is_said_to_be_seen(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    toy = _write(tmp_path / "replies_insample_round1.jsonl",
                 [{"text": "STOP", "lang": "en", "label": "optout", "note": ""}])
    out = tmp_path / "out.json"
    assert eval_replies.main(["--in-sample", str(toy), "--no-heldout", "--json",
                              str(out)]) == 0
    assert "round 1 held-out, seen, now in-sample" in capsys.readouterr().out
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["sets"][0]["note"] == "round 1 held-out, seen, now in-sample"
    assert document["sets"][0]["name"] == "in-sample (round 1)"


def test_the_classifier_scorer_leaves_the_replies_out(tmp_path: Path) -> None:
    """tests/rules/replies_*.jsonl sits among the classifier's in-sample files but is no
    message set: its labels are optout/review/none."""
    message = {"text": "Your parcel arrives today", "lang": "en", "label": "transactional"}
    reply = {"text": "STOP", "lang": "en", "label": "optout", "note": ""}
    _write(tmp_path / "corpus.jsonl", [message])
    _write(tmp_path / "replies_insample.jsonl", [reply])
    out = tmp_path / "out.json"
    assert eval_classifier.main(["--in-sample", str(tmp_path / "*.jsonl"),
                                 "--heldout", str(tmp_path / "corpus.jsonl"),
                                 "--json", str(out)]) == 0
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["in_sample"]["files"] == [str(tmp_path / "corpus.jsonl")]
