"""What the phrase matcher decides, as the rules tests of every round ask it."""

from __future__ import annotations

from rules.phrases import match_phrase

#: A development-set expectation: anything but an opt-out (None or review both pass).
NOT_OPTOUT = "not optout"


def kind(text: str, languages: list[str] | None = None) -> str | None:
    """``match_phrase``'s kind for ``text`` (every table, or ``languages``'), or None."""
    found = match_phrase(text, languages)
    return None if found is None else found.kind


def right(expected: str | None, got: str | None) -> bool:
    """Whether a decision is what the development set expects."""
    return got != "optout" if expected == NOT_OPTOUT else got == expected
