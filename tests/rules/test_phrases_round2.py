"""The phrase matcher's round-2 behaviours, as general rules (rules/phrases.py):

- a phrase negated just before it is not said ("I don't want to opt out"), unless in a
  condition ("if you don't stop texting me": still a revocation);
- a bare keyword beside a clause about buying or an order is a review ("Stop, that
  price is insane, ordering now"), a phrase is not affected;
- a one-word reply one typo from a keyword of four letters or more (a swap, a dropped or
  doubled letter, b/v), never another substitution nor a word a table knows;
- the brand's mention copied as the whole reply ("STOP au 36111") is an opt-out;
- Spain's vosotros and usted forms, closing words after a phrase.

Nothing here reads a held-out set (eval/replies_heldout*/).
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from rules.keywords import normalize_reply
from rules.phrase_tables import LANGUAGES
from rules.phrases import _KNOWN, _TYPO_KEYWORDS, match_phrase
from tests.support.phrases import kind as _kind

# --- negation scope ----------------------------------------------------------------------

OPTOUT_PHRASES = ["unsubscribe", "opt out", "leave me alone", "stop texting me",
                  "remove me from your list"]
NEGATIONS = ["I don't want to", "I do not want to", "I never want to", "I didn't want to",
             "Please don't"]


@given(st.sampled_from(NEGATIONS), st.sampled_from(OPTOUT_PHRASES),
       st.sampled_from(["", " with this broken fridge", ", I just changed my number"]))
def test_a_phrase_negated_just_before_it_is_no_optout(negation: str, phrase: str,
                                                     rest: str) -> None:
    assert _kind(f"{negation} {phrase}{rest}") != "optout"


@pytest.mark.parametrize("text", [
    "If you don't stop texting me I will report you",
    "Unless you want a complaint, stop texting me",
    "Stop texting me",
    "I'm not interested, stop texting me",
])
def test_without_a_negation_right_before_it_a_phrase_still_counts(text: str) -> None:
    assert _kind(text) == "optout"


@pytest.mark.parametrize(("text", "kind"), [
    ("No quiero darme de baja, solo cambié de número", None),
    ("Je ne veux pas me désabonner", None),
    ("Ich will mich nicht abmelden", None),
    ("Non voglio disiscrivermi", None),
    ("Ik wil me niet afmelden", None),
    ("Não quero sair da lista", None),
])
def test_negation_in_every_language(text: str, kind: str | None) -> None:
    assert _kind(text) == kind


# --- a bare keyword beside a purchase ------------------------------------------------------

@given(st.sampled_from(["Stop", "STOP", "Basta", "Arrêtez tout", "Parar"]),
       st.sampled_from(["that price is insane, ordering now", "j'ai mis la mauvaise adresse "
                        "sur la commande", "mi avete convinto: ordino subito",
                        "quiero comprar dos"]),
       st.sampled_from([", ", "! ", ". "]))
def test_a_bare_keyword_beside_a_purchase_is_a_review(keyword: str, purchase: str,
                                                      sep: str) -> None:
    assert _kind(f"{keyword}{sep}{purchase}") == "review"


def test_a_phrase_beside_a_purchase_is_still_an_optout() -> None:
    assert _kind("Stop texting me. I ordered once, that was enough") == "optout"
    assert _kind("STOP") == "optout" and _kind("STOP. Thanks") == "optout"


# --- typos of every language's keywords --------------------------------------------------

#: Up to nine letters: a longer word's typo is read by the long-word reading first, which
#: may take it for another long word of the tables one edit away.
KEYWORDS = sorted({(lang, word) for lang, words in _TYPO_KEYWORDS.items() for word in words
                   if len(word) <= 9})


def _swap(word: str, at: int) -> str:
    return word[:at] + word[at + 1] + word[at] + word[at + 2:]


@given(st.sampled_from(KEYWORDS), st.data())
def test_a_keyword_with_two_letters_swapped_or_one_dropped_alone_is_an_optout(
        entry: tuple[str, str], data: st.DataObject) -> None:
    _, keyword = entry
    at = data.draw(st.integers(0, len(keyword) - 2))
    for typo in (_swap(keyword, at), keyword[:at] + keyword[at + 1:]):
        assume(typo != keyword and typo not in _KNOWN and len(typo) >= 3)
        assert _kind(typo) == "optout", typo


@pytest.mark.parametrize("text", ["Anmelden", "pasta", "said", "sais", "baka", "Top",
                                  "hola", "ciao", "alta", "start"])
def test_other_substitutions_and_known_words_are_no_typos(text: str) -> None:
    assert _kind(text) != "optout"


@pytest.mark.parametrize(("text", "keyword"), [("vaja", "BAJA"), ("bja", "BAJA"),
                                               ("abmleden", "ABMELDEN"), ("siar", "SAIR"),
                                               ("afmleden", "AFMELDEN"), ("bsta", "BASTA")])
def test_typos_seen_in_replies(text: str, keyword: str) -> None:
    found = match_phrase(text)
    assert found is not None and (found.kind, found.pattern) == ("optout", keyword)


def test_a_typo_with_a_question_mark_is_a_review() -> None:
    assert _kind("abmleden?") == "review"


def test_typos_are_only_read_alone() -> None:
    assert _kind("vaja con dios") is None


# --- the mention copied, vosotros/usted, closings ---------------------------------------

@pytest.mark.parametrize("text", ["STOP au 36111", "STOP SMS au 36173", "BAJA al 22322"])
def test_the_mention_copied_as_the_whole_reply_is_an_optout(text: str) -> None:
    assert _kind(text) == "optout"


def test_the_mention_quoted_with_the_promotion_is_not() -> None:
    assert match_phrase("Promo -20% ce week-end. STOP au 36173") is None
    assert match_phrase("Promo STOP SMS au 36173") is None


@pytest.mark.parametrize("text", [
    "Dejad de enviarme mensajes", "No me mandéis más mensajes", "No me enviéis más SMS",
    "Eliminad mi número de vuestra base de datos", "Quitadme de la lista",
    "Borradme de vuestra lista", "Dadme de baja", "Bórreme de la lista, por favor",
    "Quíteme de su lista", "Deje de enviarme mensajes", "No me mande más mensajes",
    "Cancelad la suscripción a los SMS",
])
def test_spain_vosotros_and_usted_forms(text: str) -> None:
    assert _kind(text) == "optout", text


@given(st.sampled_from(["Stop texting me", "Unsubscribe me", "Please remove me from your list",
                        "Quitadme de la lista", "Merci de ne plus m'envoyer de SMS",
                        "Graag mijn nummer uit uw bestand verwijderen"]),
       st.sampled_from(["", " thanks", ". Kind regards, Anna", ". Un saludo, Marta",
                        ". Cordialement", ". Met vriendelijke groet, P. de Vries"]))
def test_closing_words_after_a_phrase_keep_it_an_optout(phrase: str, closing: str) -> None:
    assert _kind(phrase + closing) == "optout"


@pytest.mark.parametrize("text", ["Y'all need to stop texting me fr", "no more messages ta",
                                  "Stop completely", "Knock it off with the texts"])
def test_english_intensifiers_and_leads(text: str) -> None:
    assert _kind(text) == "optout"


def test_every_typo_keyword_is_a_table_keyword() -> None:
    for lang, words in _TYPO_KEYWORDS.items():
        table = {normalize_reply(k) for k in LANGUAGES[lang].keywords}
        assert set(words) <= table
