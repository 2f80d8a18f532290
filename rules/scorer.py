"""A small learned scorer beside the rules: how likely is a text a promotion?

Round 5 of issue 12. The hand-written tables (rules.offers, rules.detectors) keep
meeting promotions dressed as account notices in words they lack ("you've been moved
up to Navigator status", "the dessert is on us tonight"). This scorer is a logistic
regression over the words the detectors already see (rules.detectors.words: folded,
numbers, prices, links and references masked as ``qmoney``, ``qurl``...):

* features, each present or absent: every word, every pair of adjacent words, and
  ``"!"`` when the text has an exclamation mark. (Letter pieces of long words, for
  morphology and German compounds, were tried: 5-fold cross-validation found them
  no better on 1,856 messages and they triple the features, so they are left out;
* trained offline (bench/train_scorer.py, :func:`train`) on the in-sample files
  tests/rules/*.jsonl; the weights ship as rules/scorer_weights.json (package data),
  loaded once at import, features with small weights left out;
* :meth:`Scorer.probability` is a dictionary look-up per feature and one exp().

It never decides alone: rules.classify asks it only where the rules would say
transactional or nothing, and only when the detectors found no one-time code (see
rules.classify, ``detector:scorer``).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from itertools import pairwise, repeat
from typing import Protocol

__all__ = ["SCORER", "Scorer", "features", "load", "train"]

_ZEROS = repeat(0.0)  # the default of every weight look-up (map() over two iterables)

def features(tokens: Sequence[str], text: str) -> set[str]:
    """The features of one message: its words, its pairs of adjacent words, "!".

    ``tokens`` are rules.detectors.words(text)[0]; ``text`` the message as sent.
    """
    found = set(tokens)
    found.update(map(" ".join, pairwise(tokens)))
    if "!" in text:
        found.add("!")
    return found


@dataclass(frozen=True, slots=True)
class Scorer:
    """Logistic regression weights: ``bias`` plus the weight of each feature present."""

    bias: float
    weights: dict[str, float]
    threshold: float = 0.5  # probability from which rules.classify may call a text promotional

    def probability(self, tokens: Sequence[str], text: str) -> float:
        """P(promotional) of a message from its rules.detectors.words() tokens."""
        z = self.bias + sum(map(self.weights.get, features(tokens, text), _ZEROS))
        if z < -30.0:
            return 0.0
        return 1.0 / (1.0 + math.exp(-z))

    def to_json(self) -> str:
        """The shipped file's form: compact, sorted, weights to 3 decimals."""
        data = {"bias": round(self.bias, 3), "threshold": self.threshold,
                "weights": {k: round(v, 3) for k, v in sorted(self.weights.items())}}
        return json.dumps(data, ensure_ascii=True, separators=(",", ":"), sort_keys=True)


def fit(rows: Sequence[tuple[Sequence[str], float]], *, epochs: int, rate: float, l2: float,
        seed: int, keep: float) -> tuple[float, dict[str, float]]:
    """Logistic regression on ``(features, target 0.0 or 1.0)`` rows: (bias, weights).

    Stochastic gradient descent with AdaGrad step sizes and an L2 penalty, the order
    shuffled by a ``random.Random(seed)``: the same rows give the same weights. Weights
    that end below ``keep`` in size are dropped (a smaller file). The message scorer
    here and the reply scorer (rules.reply_scorer) both train with it.
    """
    weights: dict[str, float] = {}
    squares: dict[str, float] = {}
    bias = bias_squares = 0.0
    order = list(range(len(rows)))
    shuffle = random.Random(seed).shuffle
    for _ in range(epochs):
        shuffle(order)
        for index in order:
            feats, target = rows[index]
            z = bias + sum(weights.get(f, 0.0) for f in feats)
            p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
            error = p - target
            bias_squares += error * error
            bias -= rate * error / math.sqrt(bias_squares)
            for f in feats:
                w = weights.get(f, 0.0)
                gradient = error + l2 * w
                squares[f] = s = squares.get(f, 1e-8) + gradient * gradient
                weights[f] = w - rate * gradient / math.sqrt(s)
    kept = {f: w for f, w in weights.items() if abs(w) >= keep}
    return bias, kept


def train(
    examples: Sequence[tuple[Sequence[str], str, bool]],
    *,
    epochs: int = 12,
    rate: float = 0.2,
    l2: float = 1e-4,
    seed: int = 5,
    keep: float = 0.02,
    min_count: int = 1,
    threshold: float = 0.5,
) -> Scorer:
    """A :class:`Scorer` from ``(tokens, text, is_promotional)`` examples.

    Stochastic gradient descent with AdaGrad step sizes and an L2 penalty, the order
    shuffled by a ``random.Random(seed)``: the same examples give the same weights.
    Features seen in fewer than ``min_count`` examples are not learnt, and those whose
    weight ends below ``keep`` in size are dropped (a smaller file).
    """
    rows = [(sorted(features(tokens, text)), 1.0 if promo else 0.0)
            for tokens, text, promo in examples]
    if min_count > 1:
        counts: dict[str, int] = {}
        for feats, _ in rows:
            for f in feats:
                counts[f] = counts.get(f, 0) + 1
        rows = [([f for f in feats if counts[f] >= min_count], target) for feats, target in rows]
    bias, kept = fit(rows, epochs=epochs, rate=rate, l2=l2, seed=seed, keep=keep)
    return Scorer(bias, kept, threshold)


def from_json(data: str) -> Scorer:
    """A :class:`Scorer` from :meth:`Scorer.to_json`'s form."""
    raw = json.loads(data)
    weights = {str(k): float(v) for k, v in raw["weights"].items()}
    return Scorer(float(raw["bias"]), weights, float(raw["threshold"]))


def packaged(name: str) -> str | None:
    """The text of the package data file ``rules/<name>`` (shipped weights); None when
    it is absent. This scorer and the reply scorer (rules.reply_scorer) load with it."""
    try:
        return resources.files("rules").joinpath(name).read_text(encoding="ascii")
    except FileNotFoundError:
        return None


def load(name: str = "scorer_weights.json") -> Scorer | None:
    """The shipped scorer from the package's data file; None when it is absent."""
    data = packaged(name)
    return None if data is None else from_json(data)


class Weighted(Protocol):
    """A scorer as :func:`top` reads it: its weights by feature."""

    @property
    def weights(self) -> dict[str, float]: ...


def top(scorer: Weighted, n: int = 20) -> Iterable[tuple[str, float]]:
    """The ``n`` features that push hardest towards the positive class (promotional
    here, an opt-out for the reply scorer), for the training reports."""
    return sorted(scorer.weights.items(), key=lambda kv: -kv[1])[:n]


SCORER = load()
