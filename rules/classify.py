"""Is an MT message promotional or transactional, and which rule said so?

Order of precedence (first that decides wins; every answer names its rule):

1. the class the sender gave explicitly (``explicit:http``, ``explicit:tlv``,
   ``explicit:service_type``; see :func:`explicit_class`). An explicit
   transactional class on a text that carries an offer still wins, but the
   answer says so (``mislabelled``, with the ``offer`` cue) for the gateway to
   count per account;
2. an offer in the text (rules.offers: a discount, a promo code, "free", bonus
   points...) makes the message promotional (``detector:offer``): CTIA and EU
   e-privacy judge a message by its marketing content, so an order notice or a
   one-time code that carries an offer is a promotion. The one exception is a
   configured rule with ``overrides_offers = true``: when the first ``[[rules]]``
   entry that matches the message has it (only a transactional rule may), that
   rule decides. (When the first matching rule is promotional it names the
   decision: same class, and the operator's own rule says more.);
3. the configured ``[[rules]]``, in order (``rule:<id>``);
4. the built-in detectors of rules.detectors (``detector:otp``,
   ``detector:transactional``, ``detector:marketing``), and beside them the learned
   scorer of rules.scorer (``detector:scorer``, promotional): where the detectors say
   transactional or nothing, it calls the message promotional when its probability
   reaches the shipped threshold, unless the text has a one-time code (the
   detectors' ``detector:otp``, which it never overrides) or a card alert's shape
   ("card ending 4417"). It never says transactional, never sees a message an
   offer, an explicit class or a configured rule decided, and is off with
   ``policy.scorer = false`` (``Classifier(scorer=None)``). On a text nothing
   decided it comes after the account's ``default_class``: it rescues a promotion
   from a transactional ``policy.unclassified``;
5. the account's ``default_class`` unless it is "auto" (``account:default_class``);
6. ``policy.unclassified`` (``policy:unclassified``).

Everything is pure: a :class:`Classifier` is built once from the configuration and
its :meth:`Classifier.classify` is a function of the :class:`MessageFacts` alone.
It caches its answers (a campaign sends one text from one source to many
recipients): a repeated message costs ~0.4 µs, a new one ~25 µs (mean 82 chars) in
the offer cues and the detectors, 4-10 µs more when the scorer is asked, plus
whatever the configured regexes cost.

The gateway builds the facts: ``explicit_class(...)`` for ``explicit`` and
``explicit_rule``, the normalised source address (rules compare numbers by their
digits, so "+33757000000", "0033757000000" and "33757000000" are one source; a
national "0757000000" is not), and the recipient's country from rules.numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from rules.detectors import PROMOTIONAL, TRANSACTIONAL, VERDICTS, detect_words, fold, words
from rules.offers import find_offer, find_offer_words, without_false_friends
from rules.scorer import SCORER, Scorer

__all__ = [
    "CLASSES", "OFFER_RULE", "PROMOTIONAL", "SCORER_RULE", "TRANSACTIONAL", "Classification",
    "Classifier", "MessageFacts", "RuleLike", "analyse", "explicit_class", "scorer_may_decide",
]

CLASSES = frozenset({PROMOTIONAL, TRANSACTIONAL})

# service_type values senders use to state the class (SPEC: "Explicit class from senders").
_SERVICE_TYPE_CLASS = {
    "PROMO": PROMOTIONAL, "MKT": PROMOTIONAL, "OTP": TRANSACTIONAL, "TRX": TRANSACTIONAL,
}
# Vendor TLV 0x1500: one octet.
_TLV_CLASS = {b"\x01": TRANSACTIONAL, b"\x02": PROMOTIONAL}


def explicit_class(
    service_type: str, tlv_1500: bytes | None, http_class: str | None
) -> tuple[str, str] | None:
    """The class a sender stated, as (class, rule), or None when it stated none.

    HTTP ``class`` beats TLV 0x1500, which beats ``service_type``: an HTTP request has
    no TLV or service_type, and a sender that fills the dedicated TLV means it more
    than a service_type its SMPP library may set by default. Values outside SPEC's
    (service_type other than PROMO/MKT/OTP/TRX, a TLV other than one octet 1 or 2, an
    HTTP class other than "promotional"/"transactional") state nothing; the HTTP API
    should refuse a bad ``class`` before it gets here.
    """
    if http_class is not None:
        given = http_class.strip().lower()
        if given in CLASSES:
            return given, "explicit:http"
    if tlv_1500 is not None and (klass := _TLV_CLASS.get(bytes(tlv_1500))):
        return klass, "explicit:tlv"
    if klass := _SERVICE_TYPE_CLASS.get(service_type.strip().upper()):
        return klass, "explicit:service_type"
    return None


@dataclass(frozen=True, slots=True)
class MessageFacts:
    """What classification looks at: one MT message, as plain data.

    ``explicit`` is the class the sender stated and ``explicit_rule`` where it stated
    it, both from :func:`explicit_class`. ``country`` is the recipient's ISO country
    ("" when unknown); ``text`` is "" for binary messages.
    """

    account: str = ""
    source_addr: str = ""
    country: str = ""
    service_type: str = ""
    text: str = ""
    explicit: str | None = None
    default_class: str = "auto"  # "auto" | "promotional" | "transactional"
    explicit_rule: str = "explicit"


@dataclass(frozen=True, slots=True)
class Classification:
    """A class and the rule that decided it ("rule:one-time-codes", "detector:otp"...).

    ``offer`` is the offer cue found in the text ("N% off", "promo code", "gratis"),
    "" when none was or the text was not looked at (an explicit promotional class).
    ``mislabelled`` is True when the sender stated "transactional" on a text that
    carries an offer: the explicit class decided, and the gateway counts it per
    account (stopgate_mt_offer_as_transactional_total) so the operator sees who labels
    promotions as transactional.
    """

    klass: str
    rule: str
    offer: str = ""
    mislabelled: bool = False


class RuleLike(Protocol):
    """A configured ``[[rules]]`` entry; gateway.config.model.Rule satisfies it.

    Every non-empty matcher must match (AND); an empty one is not used.
    """

    @property
    def id(self) -> str: ...
    @property
    def class_(self) -> str: ...
    @property
    def account(self) -> tuple[str, ...]: ...
    @property
    def source(self) -> tuple[str, ...]: ...
    @property
    def country(self) -> tuple[str, ...]: ...
    @property
    def service_type(self) -> tuple[str, ...]: ...
    @property
    def regex(self) -> re.Pattern[str] | None: ...
    @property
    def keywords(self) -> tuple[str, ...]: ...
    @property
    def overrides_offers(self) -> bool: ...


_NUMERIC_ADDRESS = re.compile(r"\+?[0-9 ()./-]+")
_NOT_DIGIT = re.compile(r"[^0-9]")


def _address_digits(address: str) -> str:
    """"+33 7 57 00 00 00", "0033757000000", "33757000000" -> "33757000000"; else ""."""
    if not _NUMERIC_ADDRESS.fullmatch(address):
        return ""
    digits = _NOT_DIGIT.sub("", address)
    return digits[2:] if address.lstrip().startswith("00") else digits


def _keyword_pattern(keywords: Sequence[str]) -> re.Pattern[str] | None:
    """Whole words of the folded text; the words of a phrase may be split by any non-word."""
    alternatives = sorted(
        {r"\W+".join(map(re.escape, fold(k).split())) for k in keywords if k.strip()},
        key=len, reverse=True,
    )
    if not alternatives:
        return None
    return re.compile(rf"(?<!\w)(?:{'|'.join(alternatives)})(?!\w)")


def _keyword_hints(keywords: Sequence[str]) -> tuple[str, ...]:
    """Substrings one of which a text must contain for a keyword to match (a cheap test)."""
    return tuple({fold(k).split()[0] for k in keywords if k.strip()})


class _Rule:
    """One configured rule, precompiled: sets for exact matchers, folded keyword regex."""

    __slots__ = ("accounts", "countries", "decision", "keyword_hints", "keywords",
                 "overrides_offers", "regex", "service_types", "source_digits", "sources")

    def __init__(self, rule: RuleLike) -> None:
        if rule.class_ not in CLASSES:
            raise ValueError(f"rule {rule.id!r}: class must be one of {sorted(CLASSES)}, "
                             f"got {rule.class_!r}")
        if rule.overrides_offers and rule.class_ != TRANSACTIONAL:
            raise ValueError(f"rule {rule.id!r}: overrides_offers only means something on a "
                             f"transactional rule (an offer already makes a message promotional)")
        self.decision = Classification(rule.class_, f"rule:{rule.id}")
        self.overrides_offers = rule.overrides_offers
        self.accounts = frozenset(rule.account)
        self.sources = frozenset(s.strip().casefold() for s in rule.source)
        self.source_digits = frozenset(d for d in map(_address_digits, rule.source) if d)
        self.countries = frozenset(c.strip().upper() for c in rule.country)
        self.service_types = frozenset(s.strip().upper() for s in rule.service_type)
        self.regex = rule.regex
        self.keywords = _keyword_pattern(rule.keywords)
        self.keyword_hints = _keyword_hints(rule.keywords)

    def matches(self, facts: MessageFacts, folded: str) -> bool:
        """Whether every matcher this rule has accepts the message (``folded``: its text)."""
        if self.accounts and facts.account not in self.accounts:
            return False
        if self.countries and facts.country.upper() not in self.countries:
            return False
        if self.service_types and facts.service_type.strip().upper() not in self.service_types:
            return False
        if self.sources and not self._source_matches(facts.source_addr):
            return False
        if self.regex is not None and self.regex.search(facts.text) is None:
            return False
        if self.keywords is None:
            return True
        # Most texts hold none of the keywords: substring tests rule them out at C speed.
        return any(hint in folded for hint in self.keyword_hints) and (
            self.keywords.search(folded) is not None)

    def _source_matches(self, source: str) -> bool:
        if source.strip().casefold() in self.sources:
            return True
        digits = _address_digits(source)
        return bool(digits) and digits in self.source_digits


_CACHED_TEXT = 2000  # characters; longer texts (rare, message_payload) are not kept
_ACCOUNT_DEFAULT = "account:default_class"
_UNCLASSIFIED = "policy:unclassified"
OFFER_RULE = "detector:offer"
SCORER_RULE = "detector:scorer"
_SCORED = (PROMOTIONAL, SCORER_RULE)
_OPEN_TO_SCORER = (None, (TRANSACTIONAL, "detector:transactional"))
# A card alert's shape: a card word, then within three words its last four digits
# ("card ending 4417", "carte se terminant par 4417", "Karte endend auf 5520",
# "pas eindigend op 2291", "cartão terminado em 6614"). The scorer never flips one.
_CARD_ALERT = re.compile(
    r" (?:card|carte|tarjeta|karte|kreditkarte|carta|cartao|pas|kaart|bankpas)"
    r"(?: [a-z]+){0,3} [0-9]{4} ")

#: (the offer cue, the verdict, whether the scorer would rescue an undecided text)
Analysis = tuple[str | None, tuple[str, str] | None, bool]


def analyse(text: str, scorer: Scorer | None = None) -> Analysis:
    """(the offer cue, the verdict, rescue) of a text: one pass of rules.detectors.words.

    The verdict is the detectors'. When ``scorer`` is given, no offer was found, the
    detectors said transactional (not a one-time code) or nothing, the text has no
    card alert's shape, and the scorer's probability reaches its threshold, a
    transactional verdict becomes ``detector:scorer`` (promotional) and an undecided
    text is marked for rescue (True): promotional, unless the account's
    ``default_class`` decides first.
    """
    tokens, norm = without_false_friends(*words(text))
    offer = find_offer_words(tokens, norm)
    verdict = detect_words(tokens, norm, text)
    if (scorer is not None and scorer_may_decide(offer, verdict, norm)
            and scorer.probability(tokens, text) >= scorer.threshold):
        return (offer, None, True) if verdict is None else (offer, _SCORED, False)
    return offer, verdict, False


def scorer_may_decide(offer: str | None, verdict: tuple[str, str] | None, norm: str) -> bool:
    """Whether the scorer is asked: no offer, the detectors said transactional (not a
    one-time code) or nothing, and ``norm`` (rules.detectors.words) has no card alert."""
    return offer is None and verdict in _OPEN_TO_SCORER and _CARD_ALERT.search(norm) is None


class Classifier:
    """Explicit class, then an offer, then configured rules, then detectors, then the defaults.

    ``rules`` are tried in order, first match wins. ``unclassified`` is the class of
    a message nothing else decides. Results are cached (``cache_size`` entries, 0 for
    none): per message facts, since a campaign sends one text from one source to many
    recipients, and detector verdicts per text, for the same text from elsewhere.
    """

    __slots__ = ("_analyse", "_classify_cached", "_defaults", "_find_offer", "_fold_text",
                 "_offers", "_rules", "_scorer", "_unclassified", "_verdicts")

    def __init__(
        self,
        rules: Sequence[RuleLike] = (),
        unclassified: str = PROMOTIONAL,
        *,
        cache_size: int = 4096,
        scorer: Scorer | None = SCORER,
    ) -> None:
        if unclassified not in CLASSES:
            raise ValueError(f"unclassified must be one of {sorted(CLASSES)}, "
                             f"got {unclassified!r}")
        self._rules = tuple(_Rule(rule) for rule in rules)
        self._fold_text = any(rule.keywords is not None for rule in self._rules)
        self._offers: dict[str, Classification] = {}
        self._verdicts = {verdict: Classification(*verdict) for verdict in (*VERDICTS, _SCORED)}
        self._unclassified = Classification(unclassified, _UNCLASSIFIED)
        self._defaults = {k: Classification(k, _ACCOUNT_DEFAULT) for k in CLASSES}
        self._scorer = scorer

        def analysed(text: str) -> Analysis:
            return analyse(text, scorer)

        self._analyse: Callable[[str], Analysis] = analysed
        # An explicit transactional class needs the offer only (no detector scores).
        self._find_offer: Callable[[str], str | None] = find_offer
        self._classify_cached: Callable[[MessageFacts], Classification] = self._classify
        if cache_size:
            self._analyse = lru_cache(maxsize=cache_size)(analysed)
            self._find_offer = lru_cache(maxsize=cache_size)(find_offer)
            self._classify_cached = lru_cache(maxsize=cache_size)(self._classify)

    def classify(self, facts: MessageFacts) -> Classification:
        """The class of one message and the rule that decided it; never raises on text."""
        if len(facts.text) > _CACHED_TEXT:
            return self._classify(facts)
        return self._classify_cached(facts)

    def _classify(self, facts: MessageFacts) -> Classification:
        text = facts.text
        cached = len(text) <= _CACHED_TEXT
        if facts.explicit in CLASSES:
            if facts.explicit == TRANSACTIONAL and text:
                offer = self._find_offer(text) if cached else find_offer(text)
                if offer:
                    return Classification(TRANSACTIONAL, facts.explicit_rule, offer, True)
            return Classification(facts.explicit, facts.explicit_rule)
        offer, verdict, rescue = (
            (self._analyse(text) if cached else analyse(text, self._scorer)) if text
            else (None, None, False))
        if self._rules:
            folded = fold(text) if self._fold_text else ""
            for rule in self._rules:
                if rule.matches(facts, folded):
                    if offer is None:
                        return rule.decision
                    if rule.overrides_offers or rule.decision.klass == PROMOTIONAL:
                        return Classification(rule.decision.klass, rule.decision.rule, offer)
                    break
        if offer is not None:
            decision = self._offers.get(offer)
            if decision is None:
                decision = self._offers[offer] = Classification(PROMOTIONAL, OFFER_RULE, offer)
            return decision
        if verdict is not None:
            return self._verdicts[verdict]
        default = self._defaults.get(facts.default_class)
        if default is not None:
            return default
        if rescue and self._unclassified.klass == TRANSACTIONAL:
            return self._verdicts[_SCORED]  # a promotion policy.unclassified would let pass
        return self._unclassified
