"""How well does the classifier tell promotional from transactional? ``make eval``.

    python bench/eval_classifier.py [--config config.toml] [--heldout FILE ...]
                                    [--in-sample 'tests/rules/*.jsonl'] [--json out.json] [--strict]

Classifies every message of several sets the way the gateway does with the shipped
``config.toml``: its ``[[rules]]`` and ``policy.unclassified``, then the built-in
detectors, with no explicit class from the sender and an account whose
``default_class`` is "auto" (the classifier is built as gateway/mt/policy.py builds it,
and the facts are the ones its ``_classify`` builds for a plain SMPP text with no
service_type and no class TLV). The sets, each its own column:

- in-sample: ``tests/rules/*.jsonl``, the corpus the classifier is tuned on (but
  ``replies_*.jsonl``, the phrase matcher's replies, scored by ``bench/eval_replies.py``);
- every held-out set, ``eval/*/messages.jsonl`` (or the files given with repeated
  ``--heldout``), each named after its directory: ``eval/heldout/``, written before
  the offer work, and ``eval/heldout2/``, written before round 3 by someone who saw
  neither the detectors, the in-sample corpus nor the first set (see their READMEs).
  None is ever tuned on. Their mistakes are printed, set by set, for the report;
  they must not be used for tuning.

Each line of a set is ``{"text", "lang", "label", "kind"?}`` with label
"promotional" or "transactional". Figures: n, promotional precision and recall, and
the transactional false-promotional rate (messages labelled transactional that come
out promotional; in the held-out set these are the plain transactional ones), overall,
per kind and per language. Targets (issue 12): promotional recall >= 0.97 and
transactional false-promotional rate <= 3 %, judged on each held-out set (PASS/FAIL
per set). The script exits 0 either way unless ``--strict``, when a miss in any
held-out set exits 1.
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.config.model import load_config  # noqa: E402
from rules.classify import Classifier, MessageFacts  # noqa: E402

PROMOTIONAL = "promotional"
TRANSACTIONAL = "transactional"
LABELS = (PROMOTIONAL, TRANSACTIONAL)
TARGET_RECALL = 0.97
TARGET_FP_RATE = 0.03

DEFAULT_CONFIG = ROOT / "config.toml"
DEFAULT_HELDOUT_GLOB = str(ROOT / "eval" / "*" / "messages.jsonl")
DEFAULT_IN_SAMPLE = str(ROOT / "tests" / "rules" / "*.jsonl")

#: text -> (class, rule that decided it)
ClassifyText = Callable[[str], tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Sample:
    text: str
    lang: str
    label: str
    kind: str


@dataclass(slots=True)
class Counts:
    """Confusion counts with promotional as the positive class."""

    n: int = 0
    tp: int = 0  # promotional called promotional
    fn: int = 0  # promotional called transactional
    fp: int = 0  # transactional called promotional
    tn: int = 0  # transactional called transactional

    def add(self, label: str, got: str) -> None:
        self.n += 1
        if label == PROMOTIONAL:
            if got == PROMOTIONAL:
                self.tp += 1
            else:
                self.fn += 1
        elif got == PROMOTIONAL:
            self.fp += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> float | None:
        called = self.tp + self.fp
        return self.tp / called if called else None

    @property
    def recall(self) -> float | None:
        positives = self.tp + self.fn
        return self.tp / positives if positives else None

    @property
    def fp_rate(self) -> float | None:
        negatives = self.fp + self.tn
        return self.fp / negatives if negatives else None

    def figures(self) -> dict[str, Any]:
        return {"n": self.n, "tp": self.tp, "fn": self.fn, "fp": self.fp, "tn": self.tn,
                "precision": self.precision, "recall": self.recall, "fp_rate": self.fp_rate}


@dataclass(frozen=True, slots=True)
class Mistake:
    text: str
    lang: str
    kind: str
    expected: str
    got: str
    rule: str


@dataclass(slots=True)
class Report:
    overall: Counts = field(default_factory=Counts)
    by_kind: dict[str, Counts] = field(default_factory=dict)
    by_lang: dict[str, Counts] = field(default_factory=dict)
    mistakes: list[Mistake] = field(default_factory=list)

    def passes(self) -> bool:
        """Both targets met (a figure that cannot be computed does not pass)."""
        recall, fp_rate = self.overall.recall, self.overall.fp_rate
        return (recall is not None and recall >= TARGET_RECALL
                and fp_rate is not None and fp_rate <= TARGET_FP_RATE)

    def as_json(self) -> dict[str, Any]:
        return {
            "overall": self.overall.figures(),
            "by_kind": {k: c.figures() for k, c in sorted(self.by_kind.items())},
            "by_lang": {k: c.figures() for k, c in sorted(self.by_lang.items())},
            "pass": self.passes(),
            "mistakes": [asdict(m) for m in self.mistakes],
        }


def gateway_classifier(config_path: str | Path = DEFAULT_CONFIG) -> ClassifyText:
    """The classifier as the gateway runs it from this config file, as text -> (class, rule).

    Built as gateway/mt/policy.py builds it (the configured ``[[rules]]`` and
    ``policy.unclassified``); the facts are what its ``_classify`` gives a text with no
    explicit class (no service_type, no class TLV, no HTTP class) from an account whose
    default_class is "auto". Account, source and country are left empty: the shipped
    rules that match on them are for one named account and must not decide here.
    """
    config = load_config(config_path, env={})
    classifier = Classifier(config.rules, unclassified=config.policy.unclassified)

    def classify(text: str) -> tuple[str, str]:
        decision = classifier.classify(MessageFacts(
            account="", source_addr="", country="", service_type="", text=text,
            explicit=None, explicit_rule="explicit", default_class="auto"))
        return decision.klass, decision.rule

    return classify


def load_samples(paths: Iterable[str | Path]) -> list[Sample]:
    """Lines of JSONL files as samples; a bad line stops with where it is."""
    samples: list[Sample] = []
    for path in paths:
        with open(path, encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    label = record["label"]
                    if label not in LABELS:
                        raise ValueError(f"label {label!r} is not one of {LABELS}")
                    samples.append(Sample(text=str(record["text"]),
                                          lang=str(record.get("lang") or "?"),
                                          label=label,
                                          kind=str(record.get("kind") or "(no kind)")))
                except (ValueError, KeyError, TypeError) as error:
                    raise SystemExit(f"{path}:{number}: {error}") from None
    return samples


def score(samples: Sequence[Sample], classify: ClassifyText) -> Report:
    """Classify every sample and count, overall, per kind and per language."""
    report = Report()
    for sample in samples:
        got, rule = classify(sample.text)
        report.overall.add(sample.label, got)
        report.by_kind.setdefault(sample.kind, Counts()).add(sample.label, got)
        report.by_lang.setdefault(sample.lang, Counts()).add(sample.label, got)
        if got != sample.label:
            report.mistakes.append(Mistake(sample.text, sample.lang, sample.kind,
                                           sample.label, got, rule))
    return report


# --- printing -------------------------------------------------------------------------

def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _cells(counts: Counts | None, precision: bool) -> str:
    if counts is None:
        return f"{'':>5} {'':>6} {'':>6} {'':>6}"
    return (f"{counts.n:>5} {_ratio(counts.precision) if precision else '':>6} "
            f"{_ratio(counts.recall):>6} {_ratio(counts.fp_rate):>6}")


def heldout_name(path: str | Path) -> str:
    """A held-out set's column name: its directory for ``eval/<name>/messages.jsonl``,
    else the file's stem."""
    path = Path(path)
    return path.parent.name if path.name == "messages.jsonl" and path.parent.name else path.stem


def name_sets(paths: Sequence[str]) -> list[tuple[str, str]]:
    """(name, path) for each held-out file, names made unique in the order given."""
    named: list[tuple[str, str]] = []
    seen: set[str] = set()
    for path in paths:
        base = name = heldout_name(path)
        number = 2
        while name in seen:
            name = f"{base}#{number}"
            number += 1
        seen.add(name)
        named.append((name, path))
    return named


def render(in_sample: Report, heldout: Sequence[tuple[str, Report]]) -> str:
    """In-sample and every held-out set side by side, then a verdict per set and each
    held-out set's mistakes."""
    width = 28
    head = f"{'n':>5} {'prec':>6} {'recall':>6} {'FP':>6}"
    columns: list[tuple[str, Report]] = [("in-sample", in_sample), *heldout]
    out = [
        "Classifier as the gateway runs it (shipped config.toml [[rules]], no explicit "
        "class, default_class auto)",
        "prec/recall: promotional precision and recall; FP: transactional called "
        "promotional",
        "",
        f"{'':<{width}} " + "   ".join(f"{name:^27}" for name, _ in columns),
        f"{'':<{width}} " + "   ".join(head for _ in columns),
    ]

    def rows(title: str, pick: Callable[[Report], dict[str, Counts]], precision: bool) -> None:
        out.append(title)
        keys = sorted({key for _, report in columns for key in pick(report)})
        for key in keys:
            cells = "   ".join(_cells(pick(report).get(key), precision) for _, report in columns)
            out.append(f"  {key:<{width - 2}} {cells}")

    out.append(f"{'overall':<{width}} "
               + "   ".join(_cells(report.overall, True) for _, report in columns))
    # Per kind, precision says nothing (a kind holds one label), so it is left out.
    rows("per kind", lambda r: r.by_kind, precision=False)
    rows("per language", lambda r: r.by_lang, precision=True)
    out.append("")
    out.append(f"Targets: promotional recall >= {TARGET_RECALL:.2f}, transactional called "
               f"promotional <= {TARGET_FP_RATE:.0%}")
    label_width = max(10, *(len(name) for name, _ in columns))
    for name, report in columns:
        out.append(f"  {name:<{label_width}} recall {_ratio(report.overall.recall)}  "
                   f"FP {_ratio(report.overall.fp_rate)}  "
                   f"{'PASS' if report.passes() else 'FAIL'}")
    for name, report in heldout:
        out.append("")
        out.append(f"Held-out mistakes, {name} ({len(report.mistakes)}), for the report only: "
                   "never tune on them")
        for m in report.mistakes:
            out.append(f"  [{m.lang} {m.kind}] expected {m.expected}, got {m.got} ({m.rule}): "
                       f"{m.text}")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--config", default=str(DEFAULT_CONFIG),
                        help="the gateway configuration whose [[rules]] to use")
    parser.add_argument("--heldout", action="append", metavar="FILE",
                        help="a held-out set (JSONL); repeat for several "
                             "(default: every eval/*/messages.jsonl)")
    parser.add_argument("--in-sample", default=DEFAULT_IN_SAMPLE,
                        help="glob of the in-sample JSONL files")
    parser.add_argument("--json", metavar="OUT", help="also write the figures here")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 when any held-out set misses a target")
    args = parser.parse_args(argv)

    # replies_*.jsonl is the phrase matcher's corpus (MO replies, labels optout/review/none),
    # scored by bench/eval_replies.py, not the classifier's.
    in_sample_paths = sorted(path for path in glob.glob(args.in_sample)
                             if not Path(path).name.startswith("replies_"))
    if not in_sample_paths:
        parser.error(f"no in-sample files match {args.in_sample}")
    heldout_paths: list[str] = args.heldout or sorted(glob.glob(DEFAULT_HELDOUT_GLOB))
    if not heldout_paths:
        parser.error(f"no held-out sets match {DEFAULT_HELDOUT_GLOB}")
    classify = gateway_classifier(args.config)
    in_sample = score(load_samples(in_sample_paths), classify)
    heldout = [(name, path, score(load_samples([path]), classify))
               for name, path in name_sets(heldout_paths)]
    print(render(in_sample, [(name, report) for name, _, report in heldout]))
    if args.json:
        document = {
            "config": args.config,
            "targets": {"recall": TARGET_RECALL, "fp_rate": TARGET_FP_RATE},
            "in_sample": {"files": in_sample_paths, **in_sample.as_json()},
            "heldout": {name: {"file": path, **report.as_json()}
                        for name, path, report in heldout},
        }
        Path(args.json).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n",
                                   encoding="utf-8")
    return 1 if args.strict and not all(report.passes() for _, _, report in heldout) else 0


if __name__ == "__main__":
    sys.exit(main())
