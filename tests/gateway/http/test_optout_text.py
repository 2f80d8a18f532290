"""The opt-out page's words: every language says everything, every page renders."""

from __future__ import annotations

from gateway.http.optout import PAGES
from gateway.http.optout_text import LANGUAGE_OF_REGION, LANGUAGES, TEXT


def test_every_language_has_every_key_and_no_empty_text() -> None:
    keys = set(TEXT["en"])
    for lang in LANGUAGES:
        assert set(TEXT[lang]) == keys, lang
        assert all(text.strip() for text in TEXT[lang].values()), lang
    assert set(LANGUAGE_OF_REGION.values()) <= set(LANGUAGES)


def test_the_malformed_form_page_renders_in_every_language_with_its_link_back() -> None:
    for lang in LANGUAGES:
        page = PAGES[lang]["invalid"].substitute(again="/o/AAAAAAAAAAAA")
        assert f'<html lang="{lang}">' in page
        assert TEXT[lang]["invalid_title"].replace("'", "&#x27;") in page
        assert '<a href="/o/AAAAAAAAAAAA">' in page
