"""How well are opt-outs written in words caught? ``make eval`` (after the classifier).

    python bench/eval_replies.py [--config config.toml] [--in-sample FILE ...]
                                 [--heldout FILE ...] [--no-heldout] [--pass-lang]
                                 [--json out.json] [--strict]

Decides every MO reply of each set the way the gateway's inbound path does (issue 16):
the opt-out/opt-in/help keywords of the shipped ``config.toml`` (its ``"*"`` lists, in
the default whole-message mode: rules.keywords), then the phrase matcher
(rules.phrases.match_phrase, every language's table tried: the packs' phrases apply
whatever the recipient's country; ``--pass-lang`` gives it the reply's language
instead; with its learned scorer, rules.reply_scorer, when weights for it ship).
Each reply comes out as one of

- ``optout``: opted out at once (an opt-out keyword, or a phrase judged optout);
- ``review``: sent to the review list (a phrase judged review);
- ``ignored``: neither (an opt-in or help keyword counts here: it opts no one out).

The sets, side by side, one column each:

- in-sample: ``tests/rules/replies_insample.jsonl``, the replies the matcher is tuned on,
  and the held-out sets of earlier rounds, **seen, now in-sample**:
  ``tests/rules/replies_insample_round1.jsonl`` (was ``eval/replies_heldout/``),
  ``tests/rules/replies_insample_round2.jsonl`` (was ``eval/replies_heldout2/``),
  ``tests/rules/replies_insample_round3.jsonl`` (was ``eval/replies_heldout3/``),
  ``tests/rules/replies_insample_round4.jsonl`` (was ``eval/replies_heldout4/``),
  ``tests/rules/replies_insample_round5.jsonl`` (was ``eval/replies_heldout5/``) and
  ``tests/rules/replies_insample_round6.jsonl`` (was ``eval/replies_heldout6/``), each
  scored once on its round's matcher and its mistakes read, so the next round tunes on
  it (see their READMEs);
- held-out: every ``eval/replies_heldout*/replies.jsonl`` there is, scored whole and
  again without the replies an in-sample set has word for word (case and spacing
  aside: short replies such as "STOP" recur), the ``, unseen`` column (round 7's is
  ``eval/replies_heldout7/``, written blind, added by the lead), never tuned on. A set
  whose figures and mistakes have been read stops being held out: it moves to
  ``tests/rules/`` as rounds 1 to 6's did. Their mistakes are printed for the report
  only.

Each line is ``{"text", "lang", "label", "note"}`` with label optout, review or none.
Figures, overall and per language (the held-out README's rules):

- opt-out recall: optout-labelled replies decided optout / optout-labelled replies
  (one sent to review is a miss, also counted as "to review");
- false opt-outs: none-labelled replies decided optout / none-labelled replies; the
  none-labelled ones sent to review are counted apart (the review list's load);
- review-labelled replies: how many were sent to review, opted out, ignored.

Targets (issue 16): recall >= 0.95 and false opt-outs <= 1 %, judged per set (PASS/FAIL).
The cost per reply of the matcher (and of the whole path) is measured on every set.
Exits 0 either way unless ``--strict``, when a held-out set missing a target exits 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.config.model import load_config  # noqa: E402
from rules.keywords import KeywordLists, match_keyword  # noqa: E402
from rules.phrases import match_phrase  # noqa: E402

LABELS = ("optout", "review", "none")
DECISIONS = ("optout", "review", "ignored")
TARGET_RECALL = 0.95
TARGET_FALSE_OPTOUTS = 0.01

DEFAULT_CONFIG = ROOT / "config.toml"
DEFAULT_IN_SAMPLE = ROOT / "tests" / "rules" / "replies_insample.jsonl"
#: The held-out sets of earlier rounds, seen once scored: in-sample from the next round
#: on, by round.
SEEN = {n: ROOT / "tests" / "rules" / f"replies_insample_round{n}.jsonl" for n in range(1, 7)}
DEFAULT_IN_SAMPLES = (DEFAULT_IN_SAMPLE, *SEEN.values())
#: Every held-out set there is: ``eval/replies_heldout*/replies.jsonl``.
HELDOUT_GLOB = "replies_heldout*/replies.jsonl"


def seen_note(round_: int) -> str:
    """What the columns say of an earlier round's set."""
    return f"round {round_} held-out, seen, now in-sample"


def seen_round(path: str | Path) -> int | None:
    """The round whose held-out set ``path`` was, if it is one of theirs."""
    name = Path(path).name
    return next((n for n, seen in SEEN.items() if seen.name == name), None)


def heldout_sets(root: Path = ROOT / "eval") -> list[Path]:
    """Every held-out reply set under ``root`` (eval/), by name; none is opened here."""
    return sorted(root.glob(HELDOUT_GLOB))


def set_name(path: str | Path, heldout: bool) -> str:
    """The column heading of a set: ``held-out <dir>``, ``in-sample`` or, for an
    earlier round's set, ``in-sample (round N)``."""
    path = Path(path)
    if heldout:
        return f"held-out {path.parent.name}"
    round_ = seen_round(path)
    return "in-sample" if round_ is None else f"in-sample (round {round_})"

#: (text, lang) -> (decision, what decided it)
Decide = Callable[[str, str], tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    lang: str
    label: str
    note: str


@dataclass(slots=True)
class Counts:
    """label -> decision -> count, for one language or overall."""

    cells: dict[str, dict[str, int]] = field(
        default_factory=lambda: {label: dict.fromkeys(DECISIONS, 0) for label in LABELS})

    def add(self, label: str, decision: str) -> None:
        self.cells[label][decision] += 1

    def n(self, label: str) -> int:
        return sum(self.cells[label].values())

    @property
    def recall(self) -> float | None:
        total = self.n("optout")
        return self.cells["optout"]["optout"] / total if total else None

    @property
    def false_optouts(self) -> float | None:
        total = self.n("none")
        return self.cells["none"]["optout"] / total if total else None

    def figures(self) -> dict[str, Any]:
        return {"cells": self.cells, "recall": self.recall,
                "false_optouts": self.false_optouts,
                "optout_to_review": self.cells["optout"]["review"],
                "none_to_review": self.cells["none"]["review"]}


@dataclass(frozen=True, slots=True)
class Mistake:
    text: str
    lang: str
    label: str
    decision: str
    by: str
    note: str


@dataclass(slots=True)
class Report:
    overall: Counts = field(default_factory=Counts)
    by_lang: dict[str, Counts] = field(default_factory=dict)
    mistakes: list[Mistake] = field(default_factory=list)

    def passes(self) -> bool:
        recall, false_optouts = self.overall.recall, self.overall.false_optouts
        return (recall is not None and recall >= TARGET_RECALL
                and false_optouts is not None and false_optouts <= TARGET_FALSE_OPTOUTS)

    def as_json(self) -> dict[str, Any]:
        return {"overall": self.overall.figures(),
                "by_lang": {lang: c.figures() for lang, c in sorted(self.by_lang.items())},
                "pass": self.passes(),
                "mistakes": [asdict(m) for m in self.mistakes]}


#: The column of a held-out set's replies that no in-sample set has word for word.
UNSEEN_SUFFIX = ", unseen"


def same_text(text: str) -> str:
    """What makes two replies the same text: case and spacing aside."""
    return " ".join(text.casefold().split())


#: label -> the decision that is right for it
RIGHT = {"optout": "optout", "review": "review", "none": "ignored"}


def gateway_path(config_path: str | Path = DEFAULT_CONFIG, pass_lang: bool = False) -> Decide:
    """The inbound path as the gateway will run it: keywords (the config's "*" lists,
    whole-message mode), then the phrase matcher."""
    config = load_config(config_path, env={})
    entry = next(k for k in config.keywords if k.country == "*")
    lists = KeywordLists(optout=entry.optout, optin=entry.optin, help=entry.help)

    def decide(text: str, lang: str) -> tuple[str, str]:
        keyword = match_keyword(text, lists)
        if keyword is not None:
            decision = "optout" if keyword.kind == "optout" else "ignored"
            return decision, f"keyword {keyword.kind} {keyword.keyword}"
        found = match_phrase(text, [lang] if pass_lang else None)
        if found is None:
            return "ignored", "-"
        return found.kind, f"phrase {found.lang} {found.pattern}"

    return decide


def load_replies(path: str | Path) -> list[Reply]:
    """The lines of a JSONL set; a bad line stops with where it is."""
    replies: list[Reply] = []
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if record["label"] not in LABELS:
                    raise ValueError(f"label {record['label']!r} is not one of {LABELS}")
                replies.append(Reply(str(record["text"]), str(record["lang"]),
                                     record["label"], str(record.get("note", ""))))
            except (ValueError, KeyError, TypeError) as error:
                raise SystemExit(f"{path}:{number}: {error}") from None
    return replies


def score(replies: Iterable[Reply], decide: Decide) -> Report:
    report = Report()
    for reply in replies:
        decision, by = decide(reply.text, reply.lang)
        report.overall.add(reply.label, decision)
        report.by_lang.setdefault(reply.lang, Counts()).add(reply.label, decision)
        if decision != RIGHT[reply.label]:
            report.mistakes.append(Mistake(reply.text, reply.lang, reply.label, decision, by,
                                           reply.note))
    return report


def cost_us(texts: Sequence[str], run: Callable[[str], object], rounds: int = 5) -> float:
    """Microseconds per text, best of ``rounds`` passes over all of them."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for text in texts:
            run(text)
        best = min(best, time.perf_counter() - start)
    return best / max(1, len(texts)) * 1e6


# --- printing -------------------------------------------------------------------------

def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _cells(counts: Counts | None) -> str:
    if counts is None:
        return " " * 44
    c = counts.cells
    review = f"{c['review']['review']}/{c['review']['optout']}/{c['review']['ignored']}"
    return (f"{counts.n('optout'):>4} {_ratio(counts.recall):>6} {c['optout']['review']:>4} "
            f"{counts.n('none'):>4} {_ratio(counts.false_optouts):>6} {c['none']['review']:>4} "
            f"{review:>10}")


def render(columns: Sequence[tuple[str, Report]]) -> str:
    head = f"{'optout':>4} {'recall':>6} {'>rev':>4} {'none':>4} {'falseO':>6} {'>rev':>4} " \
           f"{'review r/o/i':>12}"
    out = [
        "Opt-out replies as the gateway's inbound path decides them (config.toml keywords, "
        "whole mode; then rules.phrases)",
        "optout: optout-labelled n; recall: decided optout at once; >rev: sent to review "
        "instead",
        "none: none-labelled n; falseO: decided optout; >rev: sent to review (the list's load)",
        "review r/o/i: review-labelled sent to review / opted out / ignored",
        *(f"in-sample (round {n}): {seen_note(n)} (tests/rules/{path.name})"
          for n, path in SEEN.items()),
        "",
        f"{'':<10} " + "   ".join(f"{name:^46}" for name, _ in columns),
        f"{'':<10} " + "   ".join(head for _ in columns),
        f"{'overall':<10} " + "   ".join(_cells(r.overall) for _, r in columns),
    ]
    langs = sorted({lang for _, report in columns for lang in report.by_lang})
    for lang in langs:
        out.append(f"  {lang:<8} " + "   ".join(_cells(r.by_lang.get(lang)) for _, r in columns))
    out.append("")
    out.append(f"Targets: opt-out recall >= {TARGET_RECALL:.2f}, false opt-outs <= "
               f"{TARGET_FALSE_OPTOUTS:.0%}")
    width = max(len(name) for name, _ in columns)
    for name, report in columns:
        out.append(f"  {name:<{width}} recall {_ratio(report.overall.recall)}  false opt-outs "
                   f"{_ratio(report.overall.false_optouts)}  "
                   f"{'PASS' if report.passes() else 'FAIL'}")
    for name, report in columns:
        if name.endswith(UNSEEN_SUFFIX):
            continue  # its mistakes are among the whole set's
        out.append("")
        suffix = (", for the report only: never tune on them"
                  if name.startswith("held-out") else "")
        out.append(f"Mistakes, {name} ({len(report.mistakes)}){suffix}")
        for m in report.mistakes:
            text = m.text.replace("\n", " / ")
            out.append(f"  [{m.lang}] {m.label} -> {m.decision} ({m.by}): {text}")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--config", default=str(DEFAULT_CONFIG),
                        help="the gateway configuration whose keyword lists to use")
    parser.add_argument("--in-sample", action="append", metavar="FILE",
                        help="an in-sample reply set (JSONL; repeat for several; default: "
                             "tests/rules/replies_insample.jsonl and rounds 1 to 6's, seen)")
    parser.add_argument("--heldout", action="append", metavar="FILE",
                        help="a held-out reply set (JSONL; repeat for several; default: every "
                             "eval/replies_heldout*/replies.jsonl)")
    parser.add_argument("--no-heldout", action="store_true",
                        help="score the in-sample sets only (while tuning)")
    parser.add_argument("--pass-lang", action="store_true",
                        help="give the matcher the reply's language instead of every table")
    parser.add_argument("--json", metavar="OUT", help="also write the figures here")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 when a held-out set misses a target")
    args = parser.parse_args(argv)

    decide = gateway_path(args.config, args.pass_lang)
    sets = [(set_name(path, False), "in-sample", str(path))
            for path in (args.in_sample or DEFAULT_IN_SAMPLES)]
    if not args.no_heldout:
        sets += [(set_name(path, True), "held-out", str(path))
                 for path in (args.heldout or heldout_sets())]
    loaded = [(name, kind, path, load_replies(path)) for name, kind, path in sets]
    # A short reply ("STOP", "Who is this?") is often word for word in an in-sample set
    # too: each held-out set is also scored without those, so what the matcher does on
    # replies it has never seen in any form is shown apart.
    seen = {same_text(reply.text) for _, kind, _, replies in loaded if kind == "in-sample"
            for reply in replies}
    for name, kind, path, replies in list(loaded):
        unseen = [reply for reply in replies if same_text(reply.text) not in seen]
        if kind == "held-out" and 0 < len(unseen) < len(replies):  # else nothing new
            loaded.append((name + UNSEEN_SUFFIX, "held-out-unseen", path, unseen))
    reports = [(name, kind, path, score(replies, decide)) for name, kind, path, replies in loaded]
    print(render([(name, report) for name, _, _, report in reports]))
    if not args.no_heldout and not any(kind == "held-out" for _, kind, _, _ in reports):
        print("")
        print("No held-out set: none in eval/replies_heldout*/ (round 7's, "
              "eval/replies_heldout7/, is added by the lead and scored once).")

    texts = [reply.text for _, _, _, replies in loaded for reply in replies]
    matcher_us = cost_us(texts, match_phrase)
    path_us = cost_us(texts, lambda text: decide(text, "en"))
    print("")
    print(f"Cost over {len(texts)} replies (best of 5 passes): rules.phrases.match_phrase "
          f"{matcher_us:.1f} µs/reply; keywords then phrases {path_us:.1f} µs/reply")
    if args.json:
        document = {
            "config": args.config,
            "pass_lang": args.pass_lang,
            "targets": {"recall": TARGET_RECALL, "false_optouts": TARGET_FALSE_OPTOUTS},
            "cost_us_per_reply": {"match_phrase": matcher_us, "path": path_us},
            "sets": [{"name": name, "kind": kind, "file": path,
                      **({"note": seen_note(n)} if (n := seen_round(path)) else {}),
                      **report.as_json()}
                     for name, kind, path, report in reports],
        }
        Path(args.json).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n",
                                   encoding="utf-8")
    missed = [name for name, kind, _, report in reports
              if kind == "held-out" and not report.passes()]
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
