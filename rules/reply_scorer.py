"""A small learned scorer beside the phrase matcher: how likely is a reply an opt-out?

Round 5 of issue 16. Four rounds of hand-written tables (rules.phrase_tables) each met
a blind set with words they lacked: nouns for the messages ("Wahlwerbung",
"propaganda elettorale"), dismissals ("Vergessen Sie meine Nummer"), a reason first
and the request in the middle, vulgar words for the messages. This scorer is a
logistic regression, like rules.scorer's for the message classifier, over the words
the matcher reads (rules.phrases.reply_words: folded, quoted lines dropped, typos of
"stop" and spaced letters mended):

* features, each present or absent: every word (numbers read as ``0``), every pair
  of adjacent words, the letter pieces of every word of four letters or more (3 to 5
  letters, with ``_`` marking the word's ends, prefixed ``~``: "wahlwerbung" holds
  ``~werb``, "kutberichten" ``~bericht``... of "berichten"), ``?`` when a clause
  asks, and the reply's length in words (``#len:N``, by fives, capped at 6);
* trained offline (bench/train_reply_scorer.py, :func:`train`) on the in-sample reply
  sets tests/rules/replies_insample*.jsonl, target: labelled optout (review and none
  are both "not"); the weights ship as rules/reply_scorer_weights.json (package
  data), loaded once at import, features with small weights left out;
* :meth:`ReplyScorer.probability` is one dictionary look-up per feature and one exp().

It never decides alone: rules.phrases.match_phrase asks it only where the tables found
no opt-out and said nothing explicit against one (a "keep", another sense, laughter,
a purchase), and then only from its thresholds: ``review_at`` turns nothing into a
review, ``optout_at`` turns nothing or a review into an opt-out.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from itertools import pairwise, repeat

from rules.scorer import fit, packaged

__all__ = ["REPLY_SCORER", "ReplyScorer", "features", "load", "train"]

_ZEROS = repeat(0.0)  # the default of every weight look-up (map() over two iterables)
_PIECES_MIN = 4  # words this long or longer give their letter pieces
_PIECE_SIZES = (3, 4, 5)


def features(words: Sequence[str], question: bool) -> set[str]:
    """The features of one reply from its rules.phrases.reply_words() words."""
    words = [("0" if w.isdigit() else w) for w in words]
    found = set(words)
    found.update(map(" ".join, pairwise(words)))
    for word in found.intersection(words):
        if len(word) < _PIECES_MIN or not word.isalpha():
            continue
        marked = f"_{word}_"
        end = len(marked)
        for size in _PIECE_SIZES:
            found.update(["~" + marked[i:i + size] for i in range(end - size + 1)])
    if question:
        found.add("?")
    found.add(f"#len:{min(len(words) // 5, 6)}")
    return found


@dataclass(frozen=True, slots=True)
class ReplyScorer:
    """Logistic regression weights: ``bias`` plus the weight of each feature present."""

    bias: float
    weights: dict[str, float]
    review_at: float = 2.0  # P from which a reply the tables leave alone goes to review
    optout_at: float = 2.0  # P from which nothing or a review becomes an opt-out

    def probability(self, words: Sequence[str], question: bool) -> float:
        """P(optout) of a reply from its rules.phrases.reply_words() words."""
        z = self.bias + sum(map(self.weights.get, features(words, question), _ZEROS))
        if z < -30.0:
            return 0.0
        return 1.0 / (1.0 + math.exp(-min(z, 30.0)))

    def to_json(self) -> str:
        """The shipped file's form: compact, sorted, weights to 2 decimals."""
        data = {"bias": round(self.bias, 3), "review_at": self.review_at,
                "optout_at": self.optout_at,
                "weights": {k: round(v, 2) for k, v in sorted(self.weights.items())}}
        return json.dumps(data, ensure_ascii=True, separators=(",", ":"), sort_keys=True)


def train(
    examples: Sequence[tuple[Collection[str], bool]],
    *,
    epochs: int = 4,
    rate: float = 0.2,
    l2: float = 1e-4,
    seed: int = 16,
    keep: float = 0.05,
) -> ReplyScorer:
    """A :class:`ReplyScorer` (thresholds unset: it says nothing) from
    ``(features, is_optout)`` examples.

    Stochastic gradient descent with AdaGrad step sizes and an L2 penalty, the order
    shuffled by a ``random.Random(seed)``: the same examples give the same weights
    (rules.scorer.train's method). Features whose weight ends below ``keep`` in size
    are dropped (a smaller file).
    """
    rows = [(sorted(feats), 1.0 if optout else 0.0) for feats, optout in examples]
    bias, kept = fit(rows, epochs=epochs, rate=rate, l2=l2, seed=seed, keep=keep)
    return ReplyScorer(bias, kept)


def from_json(data: str) -> ReplyScorer:
    """A :class:`ReplyScorer` from :meth:`ReplyScorer.to_json`'s form."""
    raw = json.loads(data)
    weights = {str(k): float(v) for k, v in raw["weights"].items()}
    return ReplyScorer(float(raw["bias"]), weights, float(raw["review_at"]),
                       float(raw["optout_at"]))


def load(name: str = "reply_scorer_weights.json") -> ReplyScorer | None:
    """The shipped scorer from the package's data file; None when it is absent."""
    data = packaged(name)
    return None if data is None else from_json(data)


REPLY_SCORER = load()
