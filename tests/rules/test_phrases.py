"""Opt-outs written in words (rules/phrases.py): the issue's examples one by one, each
language's keywords, what must not be caught, and a floor on the in-sample corpus.

No held-out set (eval/replies_heldout*/) is ever opened here: it is scored by
`make eval` (bench/eval_replies.py), for the report, never asserted on.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.config.model import SPEC_HELP, SPEC_OPTIN, SPEC_OPTOUT
from rules.keywords import KeywordLists, match_keyword
from rules.phrase_tables import LANGUAGES
from rules.phrases import PhraseMatch, _parse, match_phrase

INSAMPLE = Path(__file__).with_name("replies_insample.jsonl")
SPEC = KeywordLists(optout=SPEC_OPTOUT, optin=SPEC_OPTIN, help=SPEC_HELP)


def _kind(text: str) -> str | None:
    found = match_phrase(text)
    return None if found is None else found.kind


# --- the issue's examples ---------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "Stop texting me", "Unsubscribe me", "Remove me", "Please stop", "Stop please",
    "Leave me alone", "Don't text me anymore", "STOP 36173", "Stop. Thanks", "STOP ME",
])
def test_the_fcc_examples_are_opt_outs(text: str) -> None:
    assert _kind(text) == "optout"


@pytest.mark.parametrize("text", [
    "Stop by the store tomorrow?",
    "I want to end my contract",
    "Please don't stop sending me deals",
])
def test_the_issue_lookalikes_are_not(text: str) -> None:
    assert match_phrase(text) is None


@pytest.mark.parametrize("text", [
    "not interested", "why do you keep texting me", "too many messages",
    "how did you get my number", "Who is this? How did you get my number",
    "I never signed up for this", "How do I unsubscribe?", "Stop?", "🛑",
    "I'm going to report this number",
])
def test_what_looks_like_revocation_but_is_not_clear_goes_to_review(text: str) -> None:
    assert _kind(text) == "review"


@pytest.mark.parametrize("text", [
    "I need to cancel my order", "Cancel my appointment", "Please cancel the 3pm appointment",
    "Which bus stop is closest to the store?", "Is it a non-stop flight?",
    "My card was stopped, can you help?", "Can you stop the delivery? I won't be home",
    "Unsubscribe me from the emails but keep the texts", "Stop calling, text me instead",
    "Wrong number", "I'll stop in on Saturday", "How do I end my membership?",
    "Leave it at the front door please", "Remove the extra cheese from my order",
    "The sale ends tomorrow right?", "C", "YES", "1", "Thanks!", "START", "HELP",
])
def test_other_senses_are_not_revocations(text: str) -> None:
    assert match_phrase(text) is None


# --- each language's keywords, typos, shapes ---------------------------------------------

@pytest.mark.parametrize(("text", "lang"), [
    ("ARRÊT", "fr"), ("Arrêt svp", "fr"), ("STOP merci", "fr"), ("Désabonnez-moi", "fr"),
    ("BAJA", "es"), ("baja por favor", "es"), ("Quiero darme de baja", "es"),
    ("STOPP", "de"), ("ABMELDEN", "de"), ("Bitte abmelden", "de"),
    ("BASTA", "it"), ("CANCELLA", "it"), ("Basta grazie", "it"),
    ("UIT", "nl"), ("AFMELDEN", "nl"), ("Afmelden a.u.b.", "nl"),
    ("PARAR", "pt"), ("SAIR", "pt"), ("CANCELAR", "pt"), ("Sair por favor", "pt"),
])
def test_each_languages_keywords(text: str, lang: str) -> None:
    found = match_phrase(text, [lang])
    assert found is not None and found.kind == "optout" and found.lang == lang


@pytest.mark.parametrize("text", [
    "stpo", "Sotp", "STOPP", "Stooop", "S T O P", "S.T.O.P.", "ST0P", "stopl", "Stop!!!",
    "STOP 🛑", "stop stop stop", "unsubcribe", "Unsubscibe",
])
def test_typos_spacing_and_emoji(text: str) -> None:
    assert _kind(text) == "optout"


@pytest.mark.parametrize("text", ["Top", "Step", "Shop", "stp", "Store", "Stops"])
def test_words_next_to_stop_are_not_typos(text: str) -> None:
    assert match_phrase(text) is None


def test_a_match_says_kind_language_pattern_and_clause() -> None:
    found = match_phrase("Please stop sending me these messages!")
    assert found is not None
    assert (found.kind, found.lang) == ("optout", "en")
    assert found.pattern.startswith("… <STOPV> <TEXTING>")
    assert found.clause == "please stop sending me these messages"
    assert match_phrase("Baja") == PhraseMatch("optout", "es", "baja", "baja")


@pytest.mark.parametrize(("text", "kind"), [
    ("Stop texting me or I will report you to the FCC", "optout"),  # a threat with a demand
    ("If you don't stop texting me I'm calling my lawyer", "optout"),
    ("Wrong number, stop", "optout"),
    ("Who is this? Stop texting me", "optout"),
    ("I'm asking you nicely to stop texting me", "optout"),  # inside a clause
    ("Can you please stop texting me?", "optout"),  # a polite question is a request
    ("How do I stop these messages?", "review"),  # asks how
    ("Stop texting me so early in the morning", "review"),  # about the hour
    ("Stop it. I'm not interested", "optout"),
])
def test_sentences(text: str, kind: str) -> None:
    assert _kind(text) == kind


def test_strict_keywords_only_as_the_whole_reply() -> None:
    assert _kind("Cancel") == "optout"
    assert _kind("END.") == "optout"
    assert _kind("Cancel please") == "review"
    assert match_phrase("Cancel my order") is None
    assert match_phrase("I want to end my contract") is None


def test_an_opt_out_with_its_opposite_goes_to_review() -> None:
    assert _kind("Stop texting me. Actually don't stop, keep sending me deals") == "review"


def test_the_quoted_message_is_not_read() -> None:
    assert match_phrase(
        "> Acme: 40% off today! Reply STOP to opt out\nDo you have it in blue?") is None
    assert match_phrase('"Acme: Flash sale! Txt STOP to end" what sizes are left?') is None
    assert match_phrase("Reply STOP to opt out") is None
    assert match_phrase("Promo -20% ce week-end. STOP au 36173") is None
    assert _kind("stop\n\n> Acme: 20% off this weekend! Reply STOP to opt out") == "optout"
    assert match_phrase("Where is my parcel?\n\nOn Mon, 7 Dec, Acme wrote:\nSTOP to quit") is None
    assert match_phrase("Soldes -50% ce week-end ! STOP 36173\nC'est valable en ligne ?") is None
    assert match_phrase("Promo STOP SMS au 36173") is None
    assert _kind("STOP\nAcme: 20% off today! STOP 36173") == "optout"
    assert _kind("I paid $20 for this, stop texting me") == "optout"  # one line: read


def test_names_are_fillers_after_a_keyword() -> None:
    assert match_phrase("STOP Acme") is None
    assert _kind_with_names("STOP Acme", ["Acme"]) == "optout"
    assert _kind_with_names("Stop - John", []) == "optout"  # a signature


def _kind_with_names(text: str, names: list[str]) -> str | None:
    found = match_phrase(text, names=names)
    return None if found is None else found.kind


def test_languages_restrict_the_tables() -> None:
    assert match_phrase("Baja", ["en"]) is None
    assert match_phrase("Baja", ["es"]) is not None
    with pytest.raises(ValueError, match="no phrase table"):
        match_phrase("stop", ["xx"])


def test_every_table_language_and_pattern_compiles() -> None:
    assert set(LANGUAGES) == {"en", "fr", "es", "de", "it", "nl", "pt"}
    seq, anywhere, rest = _parse("… stop [<X>] (texting|sending me) …?", {"X": "all"})
    assert (anywhere, rest) == (True, "review")
    assert seq[0] == "stop"
    for bad in ["stop (texting", "stop <NOPE>", "stop texting)?", "stop … texting"]:
        with pytest.raises(ValueError):
            _parse(bad, {})


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_read_without_error(text: str) -> None:
    found = match_phrase(text)
    assert found is None or found.kind in ("optout", "review")


def test_long_replies_are_read_up_to_1000_characters() -> None:
    assert _kind("Stop texting me. " + "blah " * 400) == "optout"
    assert match_phrase("blah " * 400 + " Stop texting me") is None


# --- the in-sample corpus ---------------------------------------------------------------

RECALL_FLOOR = 0.95
FALSE_OPTOUT_CEILING = 0.01


def _decide(text: str) -> str:
    """As the gateway's inbound path: the SPEC keywords (whole mode), then phrases."""
    keyword = match_keyword(text, SPEC)
    if keyword is not None:
        return "optout" if keyword.kind == "optout" else "ignored"
    found = match_phrase(text)
    return "ignored" if found is None else found.kind


def test_the_in_sample_corpus(summary_lines: list[str]) -> None:
    rows = [json.loads(line) for line in INSAMPLE.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 300
    assert {row["lang"] for row in rows} == set(LANGUAGES)
    assert all(set(row) == {"text", "lang", "label", "note"} for row in rows)
    cells = Counter((row["label"], _decide(row["text"])) for row in rows)
    labels = Counter(row["label"] for row in rows)
    recall = cells["optout", "optout"] / labels["optout"]
    false_optouts = cells["none", "optout"] / labels["none"]
    summary_lines.append(
        f"phrase matcher, in-sample ({len(rows)} replies): opt-out recall {recall:.3f}, "
        f"false opt-outs {false_optouts:.3f}, none sent to review {cells['none', 'review']}, "
        f"review-labelled sent to review {cells['review', 'review']}/{labels['review']}")
    missed = [row["text"] for row in rows
              if row["label"] == "optout" and _decide(row["text"]) != "optout"]
    wrong = [row["text"] for row in rows
             if row["label"] == "none" and _decide(row["text"]) == "optout"]
    assert recall >= RECALL_FLOOR, missed
    assert false_optouts <= FALSE_OPTOUT_CEILING, wrong
