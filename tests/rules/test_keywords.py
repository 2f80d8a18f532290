"""MO keywords: normalising replies and matching them against the configured lists."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.config.model import SPEC_HELP, SPEC_OPTIN, SPEC_OPTOUT
from rules.keywords import KeywordLists, KeywordMatch, match_keyword, normalize_reply

SPEC = KeywordLists(optout=SPEC_OPTOUT, optin=SPEC_OPTIN, help=SPEC_HELP)


@pytest.mark.parametrize(("text", "expected"), [
    ("Stop", "stop"),
    (" stop! ", "stop"),
    ("ARRÊT", "arret"),
    ("Arrête.", "arrete"),
    ("Stop   ALL", "stop all"),
    ("stop\tall\n", "stop all"),
    ("STOP 🛑🙏", "stop"),
    ("❤️stop❤️", "stop"),
    ("opt-out", "opt out"),
    ("\uff33\uff34\uff2f\uff30", "stop"),  # full-width letters (NFKD)
    ("Straße", "strasse"),
    ("«STOP»", "stop"),
    ("", ""),
    ("?!…", ""),
])
def test_normalize_reply(text: str, expected: str) -> None:
    assert normalize_reply(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Stop", KeywordMatch("optout", "STOP")),
    (" stop! ", KeywordMatch("optout", "STOP")),
    ("ARRÊT", KeywordMatch("optout", "ARRET")),
    ("Stop all", KeywordMatch("optout", "STOP ALL")),
    ("STOPALL", KeywordMatch("optout", "STOPALL")),
    ("Opt-Out", KeywordMatch("optout", "OPT OUT")),
    ("unsubscribe.", KeywordMatch("optout", "UNSUBSCRIBE")),
    ("stop please", None),
    ("Start", KeywordMatch("optin", "START")),
    ("UNSTOP", KeywordMatch("optin", "UNSTOP")),
    ("yes", None),  # answers appointment and delivery questions: no default re-consent
    ("Oui", None),
    ("non arrêt", None),
    ("NONARRET", KeywordMatch("optin", "NONARRET")),
    ("help?", KeywordMatch("help", "HELP")),
    ("Aide", KeywordMatch("help", "AIDE")),
    ("hello", None),
    ("", None),
    ("🛑", None),
])
def test_whole_mode(text: str, expected: KeywordMatch | None) -> None:
    assert match_keyword(text, SPEC) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("stop please", KeywordMatch("optout", "STOP")),
    ("Stop all of it", KeywordMatch("optout", "STOP ALL")),
    ("opt out now", KeywordMatch("optout", "OPT OUT")),
    ("Stop", KeywordMatch("optout", "STOP")),
    ("START again", KeywordMatch("optin", "START")),
    ("help me", KeywordMatch("help", "HELP")),
    ("please stop", None),
    ("stopping", None),
    ("unstoppable", None),
])
def test_first_word_mode(text: str, expected: KeywordMatch | None) -> None:
    assert match_keyword(text, SPEC, "first_word") == expected


def test_configured_spellings_are_normalised_too() -> None:
    lists = KeywordLists(optout=(" Désabonner ", "stop-tout"), optin=("Oui!",), help=())
    assert match_keyword("desabonner", lists) == KeywordMatch("optout", " Désabonner ")
    assert match_keyword("STOP TOUT", lists) == KeywordMatch("optout", "stop-tout")
    assert match_keyword("oui", lists) == KeywordMatch("optin", "Oui!")
    assert match_keyword("stop", lists) is None  # only the lists given count


def test_opt_out_wins_over_other_kinds_listing_the_same_word() -> None:
    lists = KeywordLists(optout=("STOP",), optin=("STOP",), help=("STOP",))
    assert match_keyword("stop", lists) == KeywordMatch("optout", "STOP")


def test_empty_and_punctuation_only_keywords_match_nothing() -> None:
    lists = KeywordLists(optout=("!!!",), optin=("",))
    assert match_keyword("!!!", lists) is None
    assert match_keyword("", lists) is None


@given(st.text())
def test_normalisation_never_raises_and_is_idempotent(text: str) -> None:
    once = normalize_reply(text)
    assert normalize_reply(once) == once
    assert once == once.strip()
    assert "  " not in once


@given(st.text(), st.sampled_from(["whole", "first_word"]))
def test_matching_never_raises(text: str, mode: str) -> None:
    found = match_keyword(text, SPEC, mode)  # type: ignore[arg-type]
    if found is not None:
        assert found.kind in ("optout", "optin", "help")


@given(st.sampled_from(SPEC_OPTOUT), st.sampled_from(["", " ", "!", ".", " 🙏"]),
       st.booleans())
def test_every_spec_opt_out_keyword_matches_however_written(
    keyword: str, suffix: str, lower: bool
) -> None:
    text = (keyword.lower() if lower else keyword) + suffix
    found = match_keyword(text, SPEC)
    assert found == KeywordMatch("optout", keyword)
