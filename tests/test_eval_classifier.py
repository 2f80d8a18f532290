"""bench/eval_classifier.py, the `make eval` scorer: its arithmetic and its wiring.

Nothing here scores a held-out set (eval/heldout/, eval/heldout2/, eval/heldout3/,
eval/heldout4/): their figures
are for the report, and a test asserting them would be tuning on them. The tests that
open those files check their structure only.
"""

from __future__ import annotations

import glob
import json
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import eval_classifier  # noqa: E402
from eval_classifier import Sample, score  # noqa: E402

HELDOUT = ROOT / "eval" / "heldout" / "messages.jsonl"
HELDOUT2 = ROOT / "eval" / "heldout2" / "messages.jsonl"
HELDOUT3 = ROOT / "eval" / "heldout3" / "messages.jsonl"
HELDOUT4 = ROOT / "eval" / "heldout4" / "messages.jsonl"
EXPECTED_LABEL = {"plain_transactional": "transactional",
                  "transactional_with_offer": "promotional",
                  "disguised_promotion": "promotional",
                  "plain_promotion": "promotional"}


def _by_word(text: str) -> tuple[str, str]:
    """A stand-in classifier: promotional when the text says SALE."""
    if "SALE" in text:
        return "promotional", "toy:sale"
    return "transactional", "toy:default"


TOY = [
    Sample("SALE 20% off", "en", "promotional", "plain_promotion"),
    Sample("Your code is 1234, and a SALE today", "en", "transactional", "plain_transactional"),
    Sample("Order shipped. Code THANKS for 10% off", "fr", "promotional",
           "transactional_with_offer"),
    Sample("Your parcel arrives today", "fr", "transactional", "plain_transactional"),
]


def test_counts_precision_recall_and_false_promotional_rate() -> None:
    report = score(TOY, _by_word)
    overall = report.overall
    assert (overall.n, overall.tp, overall.fn, overall.fp, overall.tn) == (4, 1, 1, 1, 1)
    assert overall.precision == 0.5
    assert overall.recall == 0.5
    assert overall.fp_rate == 0.5
    assert report.by_kind["plain_transactional"].fp_rate == 0.5
    assert report.by_kind["plain_transactional"].recall is None
    assert report.by_kind["transactional_with_offer"].recall == 0.0
    assert report.by_lang["fr"].fp_rate == 0.0
    assert [(m.text, m.expected, m.got, m.rule) for m in report.mistakes] == [
        ("Your code is 1234, and a SALE today", "transactional", "promotional", "toy:sale"),
        ("Order shipped. Code THANKS for 10% off", "promotional", "transactional",
         "toy:default"),
    ]
    assert not report.passes()


def test_targets_are_recall_097_and_three_percent() -> None:
    promotional = [Sample(f"SALE {i}", "en", "promotional", "p") for i in range(97)]
    promotional += [Sample(f"missed {i}", "en", "promotional", "p") for i in range(3)]
    transactional = [Sample(f"notice {i}", "en", "transactional", "t") for i in range(97)]
    transactional += [Sample(f"SALE notice {i}", "en", "transactional", "t") for i in range(3)]
    assert score(promotional + transactional, _by_word).passes()
    one_more_miss = [*promotional[1:], Sample("missed x", "en", "promotional", "p")]
    assert score(one_more_miss + transactional, _by_word).overall.recall == 0.96
    assert not score(one_more_miss + transactional, _by_word).passes()
    one_more_fp = [*transactional[1:], Sample("SALE y", "en", "transactional", "t")]
    assert score(promotional + one_more_fp, _by_word).overall.fp_rate == 0.04
    assert not score(promotional + one_more_fp, _by_word).passes()


def test_runs_end_to_end_on_toy_sets_with_the_shipped_config(tmp_path: Path) -> None:
    """The script as `make eval` runs it, on two toy files instead of the real sets."""
    lines = [{"text": "Your code is 1234", "lang": "en", "label": "transactional"},
             {"text": "Black friday: promo on everything", "lang": "en",
              "label": "promotional", "kind": "plain_promotion"},
             {"text": "Votre offre du jour", "lang": "fr", "label": "promotional"}]
    toy = tmp_path / "toy.jsonl"
    toy.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    out = tmp_path / "out.json"
    assert eval_classifier.main(["--in-sample", str(toy), "--heldout", str(toy),
                                 "--json", str(out)]) == 0
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["in_sample"]["files"] == [str(toy)]
    assert document["in_sample"]["overall"]["n"] == 3
    assert list(document["heldout"]) == ["toy"]
    assert document["heldout"]["toy"]["file"] == str(toy)
    assert document["heldout"]["toy"]["overall"] == document["in_sample"]["overall"]
    assert set(document["in_sample"]["by_kind"]) == {"(no kind)", "plain_promotion"}
    assert set(document["in_sample"]["by_lang"]) == {"en", "fr"}


def test_the_config_rules_come_first(tmp_path: Path) -> None:
    """The classifier is built from the given config: its [[rules]] decide before anything."""
    config = tmp_path / "config.toml"
    config.write_text('[[rules]]\nid = "zebra"\nclass = "promotional"\nregex = "(?i)zebra"\n',
                      encoding="utf-8")
    toy = tmp_path / "toy.jsonl"
    toy.write_text(json.dumps({"text": "Your zebra crossing permit 5512 is approved",
                               "lang": "en", "label": "transactional"}) + "\n",
                   encoding="utf-8")
    out = tmp_path / "out.json"
    assert eval_classifier.main(["--config", str(config), "--in-sample", str(toy),
                                 "--heldout", str(toy), "--json", str(out)]) == 0
    mistakes = json.loads(out.read_text(encoding="utf-8"))["heldout"]["toy"]["mistakes"]
    assert [(m["expected"], m["got"], m["rule"]) for m in mistakes] == [
        ("transactional", "promotional", "rule:zebra")]


def test_strict_exits_1_when_a_target_is_missed(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.jsonl"
    wrong.write_text(json.dumps({"text": "Your code is 1234", "lang": "en",
                                 "label": "promotional"}) + "\n", encoding="utf-8")
    args = ["--in-sample", str(wrong), "--heldout", str(wrong)]
    assert eval_classifier.main(args) == 0
    assert eval_classifier.main([*args, "--strict"]) == 1


def _write(path: Path, lines: list[dict[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def test_every_heldout_set_is_its_own_column_with_its_own_verdict(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Repeated --heldout: one column, one PASS/FAIL, one mistakes list and one JSON
    entry per set, named after its directory."""
    config = tmp_path / "config.toml"
    config.write_text('[[rules]]\nid = "zebra"\nclass = "promotional"\nregex = "(?i)zebra"\n',
                      encoding="utf-8")
    right = {"text": "Zebra stripes at half price", "lang": "en", "label": "promotional",
             "kind": "plain_promotion"}
    wrong = {"text": "Your zebra crossing permit 5512 is approved", "lang": "nl",
             "label": "transactional", "kind": "plain_transactional"}
    plain = {"text": "Your parcel arrives today", "lang": "en", "label": "transactional",
             "kind": "plain_transactional"}
    in_sample = _write(tmp_path / "in.jsonl", [right, plain])
    first = _write(tmp_path / "eval" / "alpha" / "messages.jsonl", [right, plain])
    second = _write(tmp_path / "eval" / "beta" / "messages.jsonl", [right, wrong])
    out = tmp_path / "out.json"
    args = ["--config", str(config), "--in-sample", str(in_sample),
            "--heldout", str(first), "--heldout", str(second)]
    assert eval_classifier.main([*args, "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    header = next(line for line in printed.splitlines() if "in-sample" in line)
    assert header.index("in-sample") < header.index("alpha") < header.index("beta")
    overall = next(line for line in printed.splitlines() if line.startswith("overall"))
    assert len(overall.split()) == 1 + 3 * 4  # n, prec, recall, FP per column
    verdicts = [line.split() for line in printed.splitlines() if line.endswith(("PASS", "FAIL"))]
    assert [(v[0], v[-1]) for v in verdicts] == [("in-sample", "PASS"), ("alpha", "PASS"),
                                                 ("beta", "FAIL")]
    assert "Held-out mistakes, alpha (0)" in printed
    assert "Held-out mistakes, beta (1)" in printed
    assert "[nl plain_transactional] expected transactional, got promotional (rule:zebra)" \
        in printed
    document = json.loads(out.read_text(encoding="utf-8"))
    assert list(document["heldout"]) == ["alpha", "beta"]
    assert document["heldout"]["alpha"]["file"] == str(first)
    assert document["heldout"]["alpha"]["pass"] is True
    assert document["heldout"]["alpha"]["mistakes"] == []
    assert document["heldout"]["beta"]["pass"] is False
    assert document["heldout"]["beta"]["overall"]["n"] == 2
    assert document["heldout"]["beta"]["overall"]["fp_rate"] == 1.0
    assert [m["text"] for m in document["heldout"]["beta"]["mistakes"]] == [wrong["text"]]
    # --strict fails when any one held-out set misses, not only the first.
    assert eval_classifier.main([*args, "--strict"]) == 1
    assert eval_classifier.main([*args[:-2], "--strict"]) == 0


def test_without_heldout_every_eval_set_is_scored(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    """The default is every eval/*/messages.jsonl, in name order (pointed at a toy tree)."""
    line = {"text": "Your parcel arrives today", "lang": "en", "label": "transactional"}
    _write(tmp_path / "eval" / "heldout2" / "messages.jsonl", [line])
    _write(tmp_path / "eval" / "heldout" / "messages.jsonl", [line, line])
    _write(tmp_path / "eval" / "heldout" / "README.md", [])
    in_sample = _write(tmp_path / "in.jsonl", [line])
    monkeypatch.setattr(eval_classifier, "DEFAULT_HELDOUT_GLOB",
                        str(tmp_path / "eval" / "*" / "messages.jsonl"))
    out = tmp_path / "out.json"
    assert eval_classifier.main(["--in-sample", str(in_sample), "--json", str(out)]) == 0
    heldout = json.loads(out.read_text(encoding="utf-8"))["heldout"]
    assert list(heldout) == ["heldout", "heldout2"]
    assert [heldout[name]["overall"]["n"] for name in heldout] == [2, 1]


def test_the_default_heldout_sets_are_the_four_in_eval() -> None:
    assert sorted(glob.glob(eval_classifier.DEFAULT_HELDOUT_GLOB)) == [str(HELDOUT),
                                                                       str(HELDOUT2),
                                                                       str(HELDOUT3),
                                                                       str(HELDOUT4)]


def test_set_names_come_from_the_directory_and_stay_unique() -> None:
    assert eval_classifier.name_sets(["eval/heldout/messages.jsonl",
                                      "eval/heldout2/messages.jsonl",
                                      "/tmp/toy.jsonl", "/tmp/other/toy.jsonl"]) == [
        ("heldout", "eval/heldout/messages.jsonl"),
        ("heldout2", "eval/heldout2/messages.jsonl"),
        ("toy", "/tmp/toy.jsonl"),
        ("toy#2", "/tmp/other/toy.jsonl")]


def test_a_bad_label_says_where(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x", "lang": "en", "label": "spam"}\n', encoding="utf-8")
    with pytest.raises(SystemExit, match=r"bad\.jsonl:1"):
        eval_classifier.load_samples([bad])


def test_heldout_set_structure_only() -> None:
    """Fields, labels and the counts the issue asks for; never the classifier's scores."""
    samples = eval_classifier.load_samples([HELDOUT])
    kinds = Counter(s.kind for s in samples)
    langs = Counter(s.lang for s in samples)
    assert all(EXPECTED_LABEL[s.kind] == s.label for s in samples)
    assert len(samples) >= 300
    assert len({s.text for s in samples}) == len(samples)
    assert kinds["plain_transactional"] >= 100
    assert kinds["transactional_with_offer"] >= 60
    assert kinds["disguised_promotion"] >= 60
    assert len([lang for lang, n in langs.items() if n >= 25]) >= 6


def _normalised(text: str) -> str:
    return " ".join(text.casefold().split())


@pytest.mark.parametrize(("path", "earlier", "key"), [
    (HELDOUT2, [HELDOUT], str),
    (HELDOUT3, [HELDOUT, HELDOUT2], str),
    # The fourth is checked against case and spacing too.
    (HELDOUT4, [HELDOUT, HELDOUT2, HELDOUT3], _normalised),
], ids=["heldout2", "heldout3", "heldout4"])
def test_later_heldout_set_structure_only(
        path: Path, earlier: list[Path], key: Callable[[str], str]) -> None:
    """eval/heldout2-4/: fields, labels and the counts asked of each, and no message of
    an earlier held-out set repeated; never the scores."""
    samples = eval_classifier.load_samples([path])
    kinds = Counter(s.kind for s in samples)
    langs = Counter(s.lang for s in samples)
    assert all(EXPECTED_LABEL[s.kind] == s.label for s in samples)
    assert len(samples) >= 340
    assert len({key(s.text) for s in samples}) == len(samples)
    assert kinds["plain_transactional"] >= 110
    assert kinds["transactional_with_offer"] >= 65
    assert kinds["disguised_promotion"] >= 65
    assert kinds["plain_promotion"] >= 60
    assert set(langs) == {"en", "fr", "es", "de", "it", "nl", "pt"}
    assert all(n >= 25 for lang, n in langs.items() if lang != "en")
    before = {key(s.text) for s in eval_classifier.load_samples(earlier)}
    assert not before & {key(s.text) for s in samples}
