"""Train rules.reply_scorer offline on the in-sample replies; cross-validate; write weights.

    python bench/train_reply_scorer.py              # grouped 5-fold CV + leave-one-set-out
    python bench/train_reply_scorer.py --frozen round3=1400fec   # + round 3's set on the
                                                    # matcher frozen when it was blind
    python bench/train_reply_scorer.py --write      # train on all, write the weights

In-sample only: tests/rules/replies_insample*.jsonl (seven sets). Never point it at
eval/ (held-out sets).

The path scored is the gateway's (bench/eval_replies.gateway_path): the shipped
config.toml's keywords, then the phrase matcher's tables (rules.phrases.read_reply),
then the scorer where the tables found no opt-out and said nothing against one
(rules.phrases.match_phrase): nothing becomes a review from ``review_at``, nothing or a
review becomes an opt-out from ``optout_at``. Figures, as bench/eval_replies.py counts
them: recall (optout-labelled decided optout), false opt-outs (none-labelled decided
optout), and what goes to review.

- Grouped k-fold: the replies are split into folds by their text (case and spacing
  aside), so one text never sits in both train and test; every reply gets an
  out-of-fold probability. The thresholds are chosen on these: ``optout_at`` the
  lowest at which the combined path's false opt-outs stay within ``--max-false``
  (0.5 %) and no more than ``--max-review-optout`` of the review-labelled replies are
  opted out; ``review_at`` the lowest at which the scorer sends no more than
  ``--max-review-load`` of the none-labelled replies to review.
- Leave one set out: train on all the other sets, score the one left out with the CV thresholds. The
  tables were tuned on every set but round 4's, so only round 4's column says what
  rules + scorer do on replies the tables never saw; ``--frozen NAME=COMMIT`` adds a
  column scoring set NAME on the tables as they were at COMMIT (extracted with git
  archive into a temporary directory, run there; the scorer trained without NAME;
  without that commit's vetoes, so the scorer is less held back than it would be).

Round 5's run (``--frozen round3=1400fec``; 3,506 replies, 1,589 open to the scorer;
defaults: 4 epochs and L2 1e-4, chosen on the CV's pooled recall among 4 or 12 epochs,
L2 1e-4 or 1e-3): thresholds review_at 0.48, optout_at 0.995. Recall / false opt-outs:

    set                       rules alone        rules + scorer
    5-fold CV, all five       0.981 / 0.20 %     0.990 / 0.48 %
    leave out round 4         0.849 / 0.87 %     0.915 / 1.30 %  (3/230; 2/230 alone)
    leave out round 3         1.000 / 0.00 %     1.000 / 0.00 %  (tables tuned on it)
    round 3, tables 1400fec   0.897 / 0.43 %     0.959 / 0.43 %
    (others left out: insample 0.999 / 0.22 % both; round 1 1.000 / 0 % -> 0.31 %)

The round's decision rule (ship if leaving out round 3 and round 4 each shows recall
up and false opt-outs <= 1 %, and 5-fold CV's <= 0.5 %) is not met: round 4's false
opt-outs reach 1.3 % (the tables' review of "Merci de ne plus m'envoyer d'e-mails, les
SMS me suffisent" made an opt-out). No weights ship; the matcher's hook stays idle.

Afterwards, for the report only: round 5's blind set (then eval/replies_heldout5/, now
in-sample), scored on the tables alone (recall 0.894, false opt-outs 0.4 %) and with
that five-set scorer (0.944, 0.4 %; its opt-outs ignored fell from 12 to 2). Trained on
all six sets (3,996 replies; review_at 0.44, optout_at 0.995), leave-one-set-out gives
round 4 0.849 -> 0.925 recall at 0.9 % -> 1.3 % false opt-outs and round 5 0.894 ->
0.944 at 0.4 % both; but with those weights the matcher's own near-miss tests
(tests/rules/test_phrases*.py) fail 14 times, six of them as opt-outs at p >= 0.995:
negations and facts ("Não quero sair da lista", "Ich habe keine Nachrichten mehr
erhalten", "Ich will nix mehr verpassen") and other objects ("Arrêtez de m'envoyer des
colis abîmés"). A bag of words and letter pieces cannot read a negation; the tables
veto only what they name. So it still does not ship: a next round needs vetoes for
negation scope and other objects from the tables (or features that carry them) before
the scorer may decide anything.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from eval_replies import gateway_path, same_text

from rules.phrases import read_reply
from rules.reply_scorer import ReplyScorer, features, train
from rules.scorer import top

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "rules"
WEIGHTS = ROOT / "rules" / "reply_scorer_weights.json"
SETS = {"insample": DATA / "replies_insample.jsonl",
        **{f"round{n}": DATA / f"replies_insample_round{n}.jsonl" for n in range(1, 7)}}
GRID = [x / 100 for x in range(30, 100)] + [0.995, 0.999, 2.0]


@dataclass
class Row:
    set: str
    text: str
    label: str
    rules: str  # the path without the scorer: optout, review, ignored
    open: bool  # whether the scorer may change it (no keyword, no opt-out, no veto)
    feats: set[str]


def load_rows() -> list[Row]:
    decide = gateway_path()
    rows = []
    for name, path in SETS.items():
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            record = json.loads(line)
            text = record["text"]
            decision, by = decide(text, record["lang"])
            reading = read_reply(text)
            open_ = not by.startswith("keyword") and decision != "optout" and not reading.veto
            rows.append(Row(name, text, record["label"], decision, open_,
                            features(reading.words, reading.question)))
    return rows


def combined(row: Row, p: float, review_at: float, optout_at: float) -> str:
    """rules.phrases.match_phrase's combination, on the path's decision."""
    if not row.open:
        return row.rules
    if p >= optout_at:
        return "optout"
    if row.rules == "ignored" and p >= review_at:
        return "review"
    return row.rules


@dataclass
class Figures:
    optout: int = 0
    hit: int = 0
    to_review: int = 0  # optout-labelled sent to review
    none: int = 0
    false: int = 0
    none_review: int = 0
    review: int = 0
    review_optout: int = 0

    def line(self) -> str:
        return (f"recall {self.hit / max(1, self.optout):.3f} ({self.hit}/{self.optout}, "
                f">rev {self.to_review})  false opt-outs {self.false / max(1, self.none):.4f} "
                f"({self.false}/{self.none}, none>rev {self.none_review})  "
                f"review-labelled opted out {self.review_optout}/{self.review}")


def figures(rows: Sequence[Row], decisions: Sequence[str]) -> Figures:
    f = Figures()
    for row, decision in zip(rows, decisions, strict=True):
        if row.label == "optout":
            f.optout += 1
            f.hit += decision == "optout"
            f.to_review += decision == "review"
        elif row.label == "none":
            f.none += 1
            f.false += decision == "optout"
            f.none_review += decision == "review"
        else:
            f.review += 1
            f.review_optout += decision == "optout"
    return f


#: Training options (rules.reply_scorer.train's), set from the command line.
OPTIONS: dict[str, float] = {}


def fit(rows: Sequence[Row]) -> ReplyScorer:
    return train([(row.feats, row.label == "optout") for row in rows],
                 **OPTIONS)  # type: ignore[arg-type]


def folds(rows: Sequence[Row], k: int, seed: int = 16) -> list[int]:
    """A fold per row; rows of the same text (case and spacing aside) share one."""
    groups = sorted({same_text(row.text) for row in rows})
    random.Random(seed).shuffle(groups)
    fold_of = {g: i % k for i, g in enumerate(groups)}
    return [fold_of[same_text(row.text)] for row in rows]


def out_of_fold(rows: Sequence[Row], k: int) -> list[float]:
    fold = folds(rows, k)
    probs = [0.0] * len(rows)
    for i in range(k):
        scorer = fit([row for row, f in zip(rows, fold, strict=True) if f != i])
        for j, row in enumerate(rows):
            if fold[j] == i:
                probs[j] = _p(scorer, row.feats)
    return probs


def _p(scorer: ReplyScorer, feats: set[str]) -> float:
    """ReplyScorer.probability on features already computed."""
    z = scorer.bias + sum(scorer.weights.get(f, 0.0) for f in feats)
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def choose(rows: Sequence[Row], probs: Sequence[float], max_false: float,
           max_review_optout: float, max_review_load: float) -> tuple[float, float]:
    base = figures(rows, [row.rules for row in rows])
    optout_at = 2.0
    for t in GRID:
        f = figures(rows, [combined(r, p, 2.0, t) for r, p in zip(rows, probs, strict=True)])
        if (f.false / f.none <= max_false
                and (f.review_optout - base.review_optout) / f.review <= max_review_optout):
            optout_at = t
            break
    review_at = optout_at
    for t in GRID:
        if t >= optout_at:
            break
        f = figures(rows, [combined(r, p, t, optout_at) for r, p in zip(rows, probs, strict=True)])
        if (f.none_review - base.none_review) / f.none <= max_review_load:
            review_at = t
            break
    return review_at, optout_at


def frozen_decisions(commit: str, rows: Sequence[Row]) -> list[tuple[str, str]]:
    """The path's (decision, by) with the repository as it was at ``commit``."""
    with tempfile.TemporaryDirectory(prefix="reply-scorer-") as tmp:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        script = ("import json,sys\nsys.path.insert(0,'bench')\n"
                  "from eval_replies import gateway_path\nd=gateway_path()\n"
                  "print(json.dumps([d(t,'en') for t in json.load(sys.stdin)]))\n")
        done = subprocess.run([sys.executable, "-c", script], cwd=tmp, check=True,
                              input=json.dumps([row.text for row in rows]),
                              capture_output=True, text=True)
        decisions: list[tuple[str, str]] = [tuple(d) for d in json.loads(done.stdout)]
        return decisions


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--max-false", type=float, default=0.005)
    parser.add_argument("--max-review-optout", type=float, default=0.02)
    parser.add_argument("--max-review-load", type=float, default=0.03)
    parser.add_argument("--frozen", action="append", default=[], metavar="SET=COMMIT")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--l2", type=float, default=1e-4)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    OPTIONS.update(epochs=args.epochs, l2=args.l2)
    started = time.perf_counter()
    rows = load_rows()
    print(f"{len(rows)} in-sample replies, {sum(r.open for r in rows)} open to the scorer")
    probs = out_of_fold(rows, args.folds)
    review_at, optout_at = choose(rows, probs, args.max_false, args.max_review_optout,
                                  args.max_review_load)
    print(f"thresholds from {args.folds}-fold grouped CV: review_at {review_at}, "
          f"optout_at {optout_at}")
    print(f"\n{args.folds}-fold grouped CV (out-of-fold probabilities)")
    for name in [*SETS, "all"]:
        part = [(r, p) for r, p in zip(rows, probs, strict=True) if name in ("all", r.set)]
        rs = [r for r, _ in part]
        print(f"  {name:9} rules    {figures(rs, [r.rules for r in rs]).line()}")
        print(f"  {'':9} +scorer "
              f"{figures(rs, [combined(r, p, review_at, optout_at) for r, p in part]).line()}")
    for t in (0.5, 0.7, 0.8, 0.9, 0.95, 0.98):
        f = figures(rows, [combined(r, p, 2.0, t) for r, p in zip(rows, probs, strict=True)])
        print(f"    optout_at {t:.2f}: {f.line()}")
    print("\nleave one set out (trained on all the others, CV thresholds)")
    for name in SETS:
        scorer = fit([r for r in rows if r.set != name])
        rs = [r for r in rows if r.set == name]
        ps = [_p(scorer, r.feats) for r in rs]
        print(f"  {name:9} rules    {figures(rs, [r.rules for r in rs]).line()}")
        print(f"  {'':9} +scorer "
              f"{figures(rs, [combined(r, p, review_at, optout_at) for r, p in zip(rs, ps, strict=True)]).line()}")  # noqa: E501
        for r, p in zip(rs, ps, strict=True):
            d = combined(r, p, review_at, optout_at)
            if d != r.rules:
                print(f"      {r.rules:>7} -> {d:7} p={p:.2f} [{r.label}] {r.text[:110]!r}")
    for spec in args.frozen:
        name, commit = spec.split("=", 1)
        rs = [r for r in rows if r.set == name]
        old = frozen_decisions(commit, rs)
        scorer = fit([r for r in rows if r.set != name])
        frozen = [Row(r.set, r.text, r.label, d, d != "optout" and not by.startswith("keyword"),
                      r.feats) for r, (d, by) in zip(rs, old, strict=True)]
        ps = [_p(scorer, r.feats) for r in frozen]
        print(f"\n{name} on the tables frozen at {commit} (no vetoes), scorer without {name}")
        print(f"  rules    {figures(frozen, [r.rules for r in frozen]).line()}")
        print(f"  +scorer  {figures(frozen, [combined(r, p, review_at, optout_at) for r, p in zip(frozen, ps, strict=True)]).line()}")  # noqa: E501
    scorer = fit(rows)
    scorer = ReplyScorer(scorer.bias, scorer.weights, review_at, optout_at)
    print(f"\n{len(scorer.weights)} features kept; most for an opt-out: "
          + ", ".join(f for f, _ in top(scorer, 20)))
    if args.write:
        WEIGHTS.write_text(scorer.to_json() + "\n", encoding="ascii")
        print(f"wrote {WEIGHTS.relative_to(ROOT)} ({WEIGHTS.stat().st_size} bytes)")
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

