"""rules.scorer (round 5 of issue 12) and how rules.classify combines it with the rules.

The combination rules hold whatever the weights say, so most tests use scorers with no
weights and a bias that makes them always sure (or never): the scorer never overrides an
explicit class, a configured rule or an offer, respects the one-time code and card
alert guards, says only promotional, and may rescue a text left to policy.unclassified.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

import pytest

from rules.classify import SCORER_RULE, Classifier, MessageFacts, analyse
from rules.detectors import words
from rules.scorer import SCORER, Scorer, features, from_json, train

PROMO, TRX = "promotional", "transactional"
ALWAYS = Scorer(bias=30.0, weights={}, threshold=0.5)  # probability ~1 for every text
NEVER = Scorer(bias=-30.0, weights={}, threshold=0.5)

NOTICE = "Your Kelpie appointment is confirmed for Tuesday 10:30."
OTP = "Your Velora verification code is 482913. Do not share it."
CARD = ("Your Grayson Bank card ending 4417 was used for £82.40 at Tesco Express. "
        "Not you? Call 0345 600 2211.")
OFFER = "Your order 4411 shipped. Use THANKS10 for 10% off your next order"
NOTHING = "Ok see you there"
DISGUISED = ("Good news Sam: your Harbor Club membership now comes with priority "
             "boarding. Try it on your next trip, we saved you a seat upgrade.")

TOY = [
    ("Huge sale this weekend, everything half price", True),
    ("Flash sale: half price on shoes, shop now", True),
    ("Members save big this weekend only", True),
    ("Exclusive deal for members: shop the sale", True),
    ("Your parcel was delivered to your door", False),
    ("Your appointment is confirmed for Monday", False),
    ("Your parcel is out for delivery today", False),
    ("Payment received for your invoice, thank you", False),
]


def toy_examples() -> list[tuple[list[str], str, bool]]:
    return [(words(text)[0], text, promo) for text, promo in TOY]


def classify(text: str, scorer: Scorer | None, **facts: str) -> tuple[str, str]:
    result = Classifier([], PROMO, cache_size=0, scorer=scorer).classify(
        MessageFacts(text=text, **facts))
    return result.klass, result.rule


def test_training_is_deterministic_and_learns_the_toy_set() -> None:
    first, second = train(toy_examples()), train(toy_examples())
    assert first == second
    assert first.to_json() == second.to_json()
    sale = "Big sale on shoes this weekend"
    parcel = "Your parcel was delivered today"
    assert first.probability(words(sale)[0], sale) > 0.8
    assert first.probability(words(parcel)[0], parcel) < 0.2
    assert train(toy_examples(), seed=6) != first  # the seed is what fixes the order


def test_features_are_words_pairs_and_the_exclamation_mark() -> None:
    assert features(["good", "news"], "Good news!") == {"good", "news", "good news", "!"}
    assert features([], "") == set()


def test_weights_round_trip_through_json() -> None:
    scorer = train(toy_examples(), threshold=0.7)
    again = from_json(scorer.to_json())
    assert again.threshold == 0.7
    assert again.weights == {k: round(v, 3) for k, v in scorer.weights.items()}
    assert json.loads(scorer.to_json())["bias"] == round(scorer.bias, 3)


def test_the_shipped_weights_are_package_data_loaded_at_import() -> None:
    assert resources.files("rules").joinpath("scorer_weights.json").is_file()
    assert SCORER is not None
    assert 0.5 <= SCORER.threshold < 1.0
    assert len(SCORER.weights) > 1000
    text = DISGUISED
    assert SCORER.probability(words(text)[0], text) >= SCORER.threshold
    assert SCORER.probability(words(NOTICE)[0], NOTICE) < SCORER.threshold


def test_the_shipped_scorer_calls_a_disguised_promotion_promotional() -> None:
    assert classify(DISGUISED, None) == (TRX, "detector:transactional")  # the tables alone
    assert classify(DISGUISED, SCORER) == (PROMO, SCORER_RULE)
    assert classify(NOTICE, SCORER) == (TRX, "detector:transactional")


def test_a_sure_scorer_flips_a_notice_the_detectors_call_transactional() -> None:
    assert classify(NOTICE, NEVER) == (TRX, "detector:transactional")
    assert classify(NOTICE, ALWAYS) == (PROMO, SCORER_RULE)


@pytest.mark.parametrize("rule", ["explicit:http", "explicit:tlv", "explicit:service_type"])
def test_the_scorer_never_overrides_an_explicit_class(rule: str) -> None:
    assert classify(DISGUISED, ALWAYS, explicit=TRX, explicit_rule=rule) == (TRX, rule)
    assert classify(NOTICE, ALWAYS, explicit=TRX, explicit_rule=rule) == (TRX, rule)


def test_the_scorer_never_turns_an_offer_transactional() -> None:
    assert classify(OFFER, NEVER) == (PROMO, "detector:offer")
    assert classify(OFFER, ALWAYS) == (PROMO, "detector:offer")  # the offer names it


@pytest.mark.parametrize(("text", "rule"), [(OTP, "detector:otp"),
                                            (CARD, "detector:transactional")])
def test_the_structure_guard_keeps_one_time_codes_and_card_alerts(text: str, rule: str) -> None:
    assert classify(text, ALWAYS) == (TRX, rule)
    assert analyse(text, ALWAYS) == (None, (TRX, rule), False)


def test_the_card_guard_reads_seven_languages() -> None:
    for text in (CARD, "Compra con tu tarjeta terminada en 3301 por 57,90 € en Mercadona.",
                 "Kartenzahlung über 73,15 € bei REWE mit Karte endend auf 5520.",
                 "Betaling van € 58,30 bij Albert Heijn met je pas eindigend op 2291.",
                 "Compra de 47,60 € no Pingo Doce com o cartão terminado em 6614.",
                 "Paiement par carte se terminant par 4417 de 64,20 € chez Carrefour.",
                 "Pagamento con carta terminante 7730 di 41,80 € presso Esselunga."):
        assert classify(text, ALWAYS)[1] != SCORER_RULE, text


def test_a_marketing_verdict_stays_the_detectors() -> None:
    text = "New collection in store this weekend!"
    assert classify(text, NEVER) == classify(text, ALWAYS) == (PROMO, "detector:marketing")


@dataclass(frozen=True)
class Rule:
    id: str = "notices"
    class_: str = TRX
    account: tuple[str, ...] = ()
    source: tuple[str, ...] = ("KELPIE",)
    country: tuple[str, ...] = ()
    service_type: tuple[str, ...] = ()
    regex: None = None
    keywords: tuple[str, ...] = ()
    overrides_offers: bool = False


def test_a_configured_rule_decides_before_the_scorer() -> None:
    classifier = Classifier([Rule()], PROMO, cache_size=0, scorer=ALWAYS)
    result = classifier.classify(MessageFacts(text=NOTICE, source_addr="KELPIE"))
    assert (result.klass, result.rule) == (TRX, "rule:notices")
    other = classifier.classify(MessageFacts(text=NOTICE, source_addr="OTHER"))
    assert (other.klass, other.rule) == (PROMO, SCORER_RULE)


def test_the_scorer_may_rescue_a_text_left_to_policy_unclassified() -> None:
    for scorer, expected in ((NEVER, (TRX, "policy:unclassified")),
                             (ALWAYS, (PROMO, SCORER_RULE))):
        result = Classifier([], TRX, cache_size=0, scorer=scorer).classify(
            MessageFacts(text=NOTHING))
        assert (result.klass, result.rule) == expected
    # ...and never says transactional: a text it doubts keeps the default's class.
    assert classify(NOTHING, NEVER) == (PROMO, "policy:unclassified")
    assert classify(NOTHING, ALWAYS) == (PROMO, "policy:unclassified")  # changes nothing
    assert analyse(NOTHING, ALWAYS) == (None, None, True)


def test_an_account_default_class_decides_before_a_rescue() -> None:
    classifier = Classifier([], TRX, cache_size=0, scorer=ALWAYS)
    for default in (TRX, PROMO):
        result = classifier.classify(MessageFacts(text=NOTHING, default_class=default))
        assert (result.klass, result.rule) == (default, "account:default_class")
    # A detector's transactional verdict is the scorer's to flip, default_class or not.
    result = classifier.classify(MessageFacts(text=NOTICE, default_class=TRX))
    assert (result.klass, result.rule) == (PROMO, SCORER_RULE)


def test_cached_and_uncached_classifiers_agree_with_the_scorer() -> None:
    cached = Classifier([], PROMO, scorer=SCORER)
    uncached = Classifier([], PROMO, cache_size=0, scorer=SCORER)
    long_text = DISGUISED + " " + "x" * 2100  # not cached: the uncached path
    for text in (DISGUISED, NOTICE, OTP, CARD, OFFER, NOTHING, long_text):
        facts = MessageFacts(text=text)
        assert cached.classify(facts) == uncached.classify(facts) == cached.classify(facts)
