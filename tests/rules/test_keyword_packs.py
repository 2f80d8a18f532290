"""The keyword packs (rules/packs/keywords.toml): every list, no word that means two things,
and replies that fit one SMS in the recipient's language."""

from __future__ import annotations

import re

import pytest

from rules.keywords import KeywordLists, match_keyword, normalize_reply
from rules.packs.keywords import (
    DEFAULT_LANGUAGE,
    helps,
    keyword_packs,
    languages_of,
    merge_words,
    optins_for,
    optout_pack,
    optouts,
    render_reply,
    replies_for,
)
from smpp.gsm import gsm_septets

PACKS = ["en", "fr", "es", "de", "it", "nl", "pt"]
#: What each pack ships, as decided (README, "Keywords and replies in the packs").
LISTS = {
    "en": (["STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE",
            "OPTOUT", "OPT OUT"], ["START", "UNSTOP"], ["HELP", "INFO"]),
    "fr": (["STOP", "STOP SMS", "ARRET", "ARRETE", "ARRETT", "DESINSCRIRE", "DESINSCRIPTION",
            "DESABONNER", "DESABONNEMENT"], ["START", "NONARRET"], ["AIDE", "INFO"]),
    "es": (["BAJA", "STOP", "PARAR", "BASTA", "CANCELAR"], ["ALTA", "START"], ["AYUDA", "INFO"]),
    "de": (["STOPP", "STOP", "ABMELDEN", "ABBESTELLEN"], ["ANMELDEN", "START"],
           ["HILFE", "INFO"]),
    "it": (["STOP", "BASTA", "CANCELLA", "CANCELLAMI", "DISISCRIVI", "DISISCRIVIMI"],
           ["ISCRIVI", "ISCRIVIMI", "START"], ["AIUTO", "INFO"]),
    "nl": (["STOP", "UIT", "AFMELDEN", "UITSCHRIJVEN"], ["AANMELDEN", "START"],
           ["HULP", "HELP", "INFO"]),
    "pt": (["STOP", "PARAR", "PARE", "SAIR", "CANCELAR", "DESCADASTRAR"], ["START"],
           ["AJUDA", "INFO"]),
}
#: Words that answer other questions ("is 3 pm OK?", "on or off?", "back to the menu"):
#: never an opt-in of any pack.
NOT_CLEAR_INTENT = ["YES", "Y", "OK", "OUI", "SI", "SÍ", "JA", "AAN", "SIM", "VOLTAR", "ENTRAR",
                    "ATTIVA", "GO", "CONTINUE"]
BRAND = "ACME Stores"  # 11 characters: an alphanumeric sender id's room
CONTACT = "+33 1 23 45 67 89"


def norm(words: list[str] | tuple[str, ...]) -> set[str]:
    return {normalize_reply(word) for word in words}


def test_every_pack_is_shipped_with_its_lists() -> None:
    packs = keyword_packs()
    assert list(packs) == PACKS
    for name, (optout, optin, help_) in LISTS.items():
        pack = packs[name]
        assert (list(pack.optout), list(pack.optin), list(pack.help)) == (optout, optin, help_)
        assert pack.title and pack.source and pack.replies.language == name


def test_the_words_the_issue_names_are_there() -> None:
    for word in ("BAJA", "STOPP", "ABMELDEN", "BASTA", "CANCELLA", "UIT", "AFMELDEN"):
        assert optout_pack(word) is not None, word
    assert "ALTA" in optins_for("ES")
    for word in ("AYUDA", "HILFE", "AIUTO", "AIDE", "HELP", "INFO"):
        assert normalize_reply(word) in norm(helps()), word


def test_no_opt_in_word_is_an_opt_out_anywhere() -> None:
    every_optout = norm(optouts())
    for name, pack in keyword_packs().items():
        assert not norm(pack.optin) & every_optout, name


def test_no_pack_opt_out_is_another_packs_opt_in_or_help() -> None:
    packs = keyword_packs()
    for name, pack in packs.items():
        for other_name, other in packs.items():
            clash = norm(pack.optout) & (norm(other.optin) | norm(other.help))
            assert not clash, (name, other_name, clash)


def test_help_and_opt_in_never_meet_either() -> None:
    every_optin = set().union(*(norm(p.optin) for p in keyword_packs().values()))
    assert not every_optin & norm(helps())


def test_no_opt_in_word_answers_another_question() -> None:
    every_optin = set().union(*(norm(p.optin) for p in keyword_packs().values()))
    assert not every_optin & norm(NOT_CLEAR_INTENT)


def test_every_pack_keeps_the_spec_and_ctia_words() -> None:
    spec_optout = ["STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT",
                   "REVOKE", "OPTOUT", "OPT OUT", "ARRET", "ARRETE", "ARRETT"]
    assert norm(spec_optout) <= norm(optouts())
    assert all("STOP" in pack.optout or "STOPP" in pack.optout
               for pack in keyword_packs().values())


def test_opt_outs_and_help_are_every_packs_each_once() -> None:
    assert len(optouts()) == len(norm(optouts()))
    assert norm(optouts()) == set().union(*(norm(p.optout) for p in keyword_packs().values()))
    assert len(helps()) == len(norm(helps()))
    assert optout_pack("arrêt!") == "fr" and optout_pack("stopp") == "de"
    assert optout_pack("STOP") == "en"  # the first pack that lists it
    assert optout_pack("ALTA") is None


def test_opt_ins_follow_the_recipients_country() -> None:
    assert optins_for("ES") == ("ALTA", "START") == optins_for("mx")
    assert optins_for("IT") == ("ISCRIVI", "ISCRIVIMI", "START")  # ALTA is "high" there
    assert "ALTA" not in optins_for("IT") and "ALTA" not in optins_for("PT")
    assert optins_for("BE") == ("AANMELDEN", "START", "NONARRET", "ANMELDEN")
    assert optins_for("US") == ("START", "UNSTOP")
    assert optins_for("JP") == ()  # no pack: the configured lists alone (SPEC's START...)


def test_languages_of_a_country() -> None:
    assert languages_of("FR") == ("fr",) and languages_of("re") == ("fr",)
    assert languages_of("CH") == ("de", "fr", "it")
    assert languages_of("CA") == ("en", "fr")
    assert languages_of("JP") == () and languages_of("") == ()


@pytest.mark.parametrize(("country", "language", "expected"), [
    ("ES", "", "es"), ("ES", "fr", "es"),  # one language: the recipient's, whoever sends
    ("BR", "", "pt"), ("AT", "", "de"), ("GB", "", "en"), ("US", "es", "en"),
    ("BE", "", "nl"), ("BE", "fr", "fr"), ("BE", "it", "nl"),  # several: the account's
    ("CH", "it", "it"), ("CA", "fr", "fr"), ("CA", "", "en"),
    ("JP", "fr", DEFAULT_LANGUAGE), ("", "", DEFAULT_LANGUAGE),
])
def test_replies_speak_the_recipients_language(country: str, language: str,
                                                 expected: str) -> None:
    assert replies_for(country, language).language == expected


def _septets(text: str) -> int:
    septets = gsm_septets(text)
    if septets is None:
        pytest.fail(f"not GSM 03.38, would go as UCS-2 (70 characters a part): {text!r}")
    return septets


@pytest.mark.parametrize("name", PACKS)
def test_replies_fit_one_gsm_sms_with_a_brand_and_a_contact(name: str) -> None:
    replies = keyword_packs()[name].replies
    for text in (replies.confirm_text, replies.optin_confirm_text, replies.help_reply,
                 replies.help_reply_no_contact):
        rendered = render_reply(text, brand=BRAND, contact=CONTACT)
        assert "{" not in rendered and BRAND in rendered, text
        assert _septets(rendered) <= 160, (len(rendered), rendered)
    assert "{contact}" in replies.help_reply and "{contact}" not in replies.help_reply_no_contact


@pytest.mark.parametrize("name", PACKS)
def test_replies_name_words_that_work_where_they_are_sent(name: str) -> None:
    """The opt-in word a confirmation names re-consents in the pack's countries; the opt-out
    word the others name opts out everywhere; no marketing (no link, price or offer)."""
    pack = keyword_packs()[name]
    countries = pack.countries + tuple(c for c in ("BE", "CH", "LU", "CA")
                                       if name in languages_of(c))
    spec_optin = {"start", "unstop", "nonarret"}  # the "*" [[keywords]] entry, built in
    for country in countries:
        optin_words = norm(optins_for(country)) | spec_optin
        named = {w.lower() for w in re.findall(r"\b[A-Z]{3,}\b", pack.replies.confirm_text)}
        assert named and named <= optin_words | {"sms"}, (name, named)
    for text in (pack.replies.optin_confirm_text, pack.replies.help_reply,
                 pack.replies.help_reply_no_contact):
        named = {w.lower() for w in re.findall(r"\b[A-Z]{3,}\b", text)} - {"sms"}
        assert named & norm(optouts()), text
        assert named <= norm(optouts()) | norm(helps()), (text, named)
    for text in (pack.replies.confirm_text, pack.replies.optin_confirm_text):
        assert not re.search(r"%|https?:|www\.|€|\$|\d", text), text


def test_every_keyword_matches_what_recipients_type() -> None:
    lists = KeywordLists(optouts(), optins_for("ES"), helps())
    for typed, kind in (("Baja", "optout"), ("stopp!", "optout"), ("Arrêt", "optout"),
                        ("uit", "optout"), ("Sair.", "optout"), ("opt-out", "optout"),
                        ("Alta", "optin"), ("ayuda", "help"), ("Hilfe?", "help")):
        found = match_keyword(typed, lists)
        assert found is not None and found.kind == kind, typed
    assert match_keyword("baja la música", lists) is None  # whole-message mode


def test_render_reply() -> None:
    assert render_reply("{brand}: Bye.", brand="ACME") == "ACME: Bye."
    assert render_reply("{brand}: Bye.") == "Bye."  # no account answers: no brand
    assert render_reply("{brand} : Au revoir.") == "Au revoir."
    assert render_reply("Help: {contact}. {{STOP}}", contact="acme.example") == \
        "Help: acme.example. {STOP}"
    assert render_reply("Plain text, no braces") == "Plain text, no braces"


def test_merge_words_keeps_the_first_spelling() -> None:
    assert merge_words(("Arrêt", "STOP"), ("ARRET", "stop", "BAJA")) == ("Arrêt", "STOP", "BAJA")
