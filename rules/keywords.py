"""Opt-out, opt-in and help keywords in MO replies: pure, no I/O.

    normalize_reply(" Arrêt ! ")  -> "arret"
    match_keyword("Stop all", lists)  -> KeywordMatch("optout", "STOP ALL")

A reply and a keyword match when both normalise to the same words:
case-folded, accents folded (NFKD, combining marks dropped), punctuation,
symbols and emoji turned into spaces, whitespace collapsed. So "Stop",
" stop! ", "STOP." and "ARRÊT" are keywords; "stop please" is not in "whole"
mode (the default: the whole reply must be the keyword), and is in
"first_word" mode (the reply's first words are; a keyword of two words like
"STOP ALL" or "OPT OUT" takes the first two). Punctuation inside a word
splits it: "opt-out" reads as "opt out".

When several keywords fit (first_word mode: "STOP" and "STOP ALL" both fit
"stop all please"), the one with the most words wins, then opt-out before
opt-in before help: a reply is never read as less than an opt-out.

"STOPALL"/"STOP ALL" are opt-out keywords like any other: what a keyword binds
(the accounts on the number called, or everyone at the operator's number) is
the gateway's business (gateway.inbound.keywords), not the reply's; so is which
lists are in force (the keyword packs' of rules.packs.keywords and the configured
ones).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

__all__ = [
    "KeywordKind",
    "KeywordLists",
    "KeywordMatch",
    "MatchMode",
    "match_keyword",
    "normalize_reply",
]

KeywordKind = Literal["optout", "optin", "help"]
MatchMode = Literal["whole", "first_word"]

#: Replies longer than this are not read whole: no keyword is that long, and a
#: first_word match only needs the start.
_MAX_READ = 1000
_KIND_ORDER: dict[KeywordKind, int] = {"optout": 0, "optin": 1, "help": 2}


@dataclass(frozen=True, slots=True)
class KeywordLists:
    """The keywords in force for one reply, as configured (any case, accents, spacing)."""

    optout: tuple[str, ...] = ()
    optin: tuple[str, ...] = ()
    help: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class KeywordMatch:
    """What a reply is: its kind and the keyword as configured."""

    kind: KeywordKind
    keyword: str


def _fold_once(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    out = []
    for char in decomposed:
        category = unicodedata.category(char)
        if category[0] in "LN":
            out.append(char)
        elif category[0] != "M":  # combining marks (accents, emoji variation selectors) go
            out.append(" ")  # punctuation, symbols, emoji, controls, spaces: separators
    return " ".join("".join(out).split())


def normalize_reply(text: str) -> str:
    """A reply as compared with keywords: folded words separated by single spaces.

    Idempotent: folding is repeated until it changes nothing (a compatibility
    character may decompose into one that case-folds again, e.g. U+210C).
    """
    folded = _fold_once(text)
    for _ in range(4):
        again = _fold_once(folded)
        if again == folded:
            return folded
        folded = again
    return folded


@lru_cache(maxsize=256)
def _compiled(lists: KeywordLists) -> tuple[tuple[tuple[str, ...], KeywordKind, str], ...]:
    """(normalised words, kind, keyword as configured), most words first, then by kind."""
    entries: list[tuple[tuple[str, ...], KeywordKind, str]] = []
    kinds: tuple[tuple[KeywordKind, tuple[str, ...]], ...] = (
        ("optout", lists.optout), ("optin", lists.optin), ("help", lists.help),
    )
    for kind, keywords in kinds:
        for keyword in keywords:
            words = tuple(normalize_reply(keyword).split())
            if words:
                entries.append((words, kind, keyword))
    entries.sort(key=lambda entry: (-len(entry[0]), _KIND_ORDER[entry[1]]))
    return tuple(entries)


def match_keyword(
    text: str, lists: KeywordLists, mode: MatchMode = "whole"
) -> KeywordMatch | None:
    """The keyword ``text`` is in ``mode``, or None when it is none (see the module docstring)."""
    words = tuple(normalize_reply(text[:_MAX_READ]).split())
    if not words:
        return None
    for keyword_words, kind, keyword in _compiled(lists):
        if mode == "whole":
            found = words == keyword_words
        else:
            found = words[:len(keyword_words)] == keyword_words
        if found:
            return KeywordMatch(kind, keyword)
    return None
