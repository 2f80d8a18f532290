"""Train rules.scorer offline on the in-sample files; cross-validate; write the weights.

    python bench/train_scorer.py                    # 5-fold CV report, no file written
    python bench/train_scorer.py --exclude fresh9   # the same without a batch
    python bench/train_scorer.py --exclude fresh9 --test fresh9   # train on the rest, score it
    python bench/train_scorer.py --write            # train on all, write rules/scorer_weights.json

In-sample only: tests/rules/*.jsonl. Never point it at eval/ (held-out sets).

The combined classifier scored here is rules.classify's order without configured
rules: an offer decides promotional; a one-time code or the marketing detector keep
their verdicts; where the detectors say transactional (or nothing), the scorer says
promotional from its threshold. The threshold is chosen on the out-of-fold
probabilities: the lowest one at which the combined classifier calls no more than
``--max-false`` of the transactional messages promotional.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

from rules.classify import analyse, scorer_may_decide
from rules.detectors import PROMOTIONAL, words
from rules.offers import without_false_friends
from rules.scorer import Scorer, top, train

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "rules"
WEIGHTS = ROOT / "rules" / "scorer_weights.json"
GRID = [x / 100 for x in range(50, 100)]


def load(exclude: set[str]) -> list[dict[str, str]]:
    rows = []
    for path in sorted(DATA.glob("*.jsonl")):
        if path.stem in exclude or path.name.startswith("replies_"):
            continue  # replies_*.jsonl: the phrase matcher's MO replies, not messages
        rows += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return rows


def example(row: dict[str, str]) -> tuple[list[str], str, bool]:
    tokens, _ = without_false_friends(*words(row["text"]))
    return tokens, row["text"], row["label"] == PROMOTIONAL


def open_to_scorer(text: str) -> tuple[bool, bool]:
    """(whether the rules call it promotional, whether the scorer may still flip it).

    No configured rules; a text nothing decides goes to policy.unclassified, promotional.
    """
    _, norm = without_false_friends(*words(text))
    offer, verdict, _ = analyse(text)
    ruled = offer is not None or verdict is None or verdict[0] == PROMOTIONAL
    return ruled, scorer_may_decide(offer, verdict, norm)


def figures(rows: list[dict[str, str]], probs: list[float], threshold: float
            ) -> tuple[float, float, int]:
    """(promotional recall, share of transactional called promotional, flips)."""
    promo = trx = hit = wrong = flips = 0
    for row, p in zip(rows, probs, strict=True):
        ruled, flippable = open_to_scorer(row["text"])
        called = ruled or (flippable and p >= threshold)
        flips += called and not ruled
        if row["label"] == PROMOTIONAL:
            promo += 1
            hit += called
        else:
            trx += 1
            wrong += called
    return hit / promo, wrong / trx, flips


def cross_validate(rows: list[dict[str, str]], k: int, **opts: float) -> list[float]:
    """Out-of-fold probabilities, folds by a seeded shuffle."""
    order = list(range(len(rows)))
    random.Random(12).shuffle(order)
    probs = [0.0] * len(rows)
    for fold in range(k):
        test = set(order[fold::k])
        scorer = train([example(rows[i]) for i in order if i not in test], **opts)  # type: ignore[arg-type]
        for i in test:
            ex = example(rows[i])
            probs[i] = scorer.probability(ex[0], ex[1])
    return probs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exclude", action="append", default=[], help="a file stem to leave out")
    parser.add_argument("--test", help="a file stem to score the trained scorer on")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--max-false", type=float, default=0.01)
    parser.add_argument("--threshold", type=float, help="use this threshold instead of CV's")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    rows = load(set(args.exclude))
    base = figures(rows, [0.0] * len(rows), 2.0)
    print(f"{len(rows)} in-sample messages; rules alone: recall {base[0]:.3f}, "
          f"false promotions {base[1]:.3f}")
    probs = cross_validate(rows, args.folds)
    chosen = args.threshold
    for threshold in GRID:
        recall, wrong, flips = figures(rows, probs, threshold)
        if threshold in (0.5, 0.6, 0.7, 0.8, 0.9, 0.95):
            print(f"  CV threshold {threshold:.2f}: recall {recall:.3f}, "
                  f"false promotions {wrong:.3f}, flips {flips}")
        if chosen is None and wrong <= args.max_false:
            chosen = threshold
    if chosen is None:
        chosen = GRID[-1]
    recall, wrong, flips = figures(rows, probs, chosen)
    print(f"chosen threshold {chosen:.2f}: {args.folds}-fold CV recall {recall:.3f}, "
          f"false promotions {wrong:.3f}, scorer flips {flips}")
    scorer = train([example(row) for row in rows])
    scorer = Scorer(scorer.bias, scorer.weights, chosen)
    print(f"{len(scorer.weights)} features kept; most promotional: "
          + ", ".join(f for f, _ in top(scorer, 15)))
    if args.test:
        test = [
            json.loads(line) for line in (DATA / f"{args.test}.jsonl").read_text().splitlines()
            if line.strip()]
        tprobs = [scorer.probability(*example(row)[:2]) for row in test]
        before = figures(test, [0.0] * len(test), 2.0)
        after = figures(test, tprobs, chosen)
        print(f"{args.test} ({len(test)}): rules alone recall {before[0]:.3f}, false "
              f"{before[1]:.3f}; with the scorer recall {after[0]:.3f}, false {after[1]:.3f}")
        for row, p in zip(test, tprobs, strict=True):
            ruled, flippable = open_to_scorer(row["text"])
            called = ruled or (flippable and p >= chosen)
            if called != (row["label"] == PROMOTIONAL):
                print(f"  miss p={p:.2f} {row['label'][:5]} {row['lang']} {row['text']}")
    if args.write:
        WEIGHTS.write_text(scorer.to_json() + "\n", encoding="ascii")
        print(f"wrote {WEIGHTS.relative_to(ROOT)} ({WEIGHTS.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
