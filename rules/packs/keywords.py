"""Keyword packs: MO keywords and reply texts per language, as data (``keywords.toml``).

    optouts()                      -> ("STOP", "STOPALL", ..., "BAJA", ..., "STOPP", ...)
    optins_for("ES")               -> ("ALTA", "START")
    optins_for("BE")               -> ("AANMELDEN", "START", "NONARRET", "ANMELDEN")
    helps()                        -> ("HELP", "INFO", "AIDE", "AYUDA", ...)
    replies_for("ES").confirm_text -> "{brand}: Baja confirmada, ya no te enviaremos ..."
    replies_for("BE", "fr").language -> "fr"   (the account's language, spoken there)
    replies_for("JP").language     -> "en"     (no pack: English)
    render_reply("{brand}: Baja confirmada...", brand="ACME") -> "ACME: Baja confirmada..."

Packs: en (the US/CTIA set), fr, es, de, it, nl, pt. How each kind applies:

- **opt-out** keywords of *every* pack apply to *every* reply, whatever the
  recipient's country and the configuration: an opt-out written in any shipped
  language is honoured ("STOPP" to a French number, "BAJA" to a British one).
  Configured lists add words; none can remove these (:func:`optouts`).
- **opt-in** keywords only for numbers of the pack's countries (:func:`optins_for`):
  a false opt-in sends marketing to someone who said no, and "ALTA" is Italian for
  "high". Clear intent only: no YES, OUI, SI, JA, AAN (they answer other questions).
- **help** keywords of every pack apply everywhere (:func:`helps`): answering one
  costs a reply and changes nothing.
- **replies** in the language of the recipient's country (:func:`replies_for`); in a
  country of several languages (BE, CH, LU, CA) in the sending account's language
  when it is one of them, else the country's first; English where no pack speaks.

The file is read and checked once, at first use; a malformed file fails then,
naming the pack. No I/O beyond that, no clock.
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from rules.keywords import normalize_reply

__all__ = [
    "DEFAULT_LANGUAGE",
    "KeywordPack",
    "Replies",
    "helps",
    "keyword_packs",
    "languages_of",
    "merge_words",
    "optins_for",
    "optout_pack",
    "optouts",
    "render_reply",
    "replies_for",
]

#: The language of the replies where no pack speaks the recipient's.
DEFAULT_LANGUAGE = "en"
#: The placeholders reply texts may use.
PLACEHOLDERS = ("brand", "contact")
_LEADING_BRAND = re.compile(r"\A\{brand\}\s*:\s*")


@dataclass(frozen=True, slots=True)
class Replies:
    """One language's reply texts (templates: ``{brand}``, ``{contact}``)."""

    language: str
    confirm_text: str
    optin_confirm_text: str
    help_reply: str
    help_reply_no_contact: str

    def help(self, has_contact: bool) -> str:
        """The help text for an account with (or without) a help contact."""
        return self.help_reply if has_contact else self.help_reply_no_contact


@dataclass(frozen=True, slots=True)
class KeywordPack:
    """One language's keywords and replies."""

    language: str
    title: str
    countries: tuple[str, ...]
    optout: tuple[str, ...]
    optin: tuple[str, ...]
    help: tuple[str, ...]
    replies: Replies
    source: str


@dataclass(frozen=True, slots=True)
class _Table:
    packs: Mapping[str, KeywordPack]
    several: Mapping[str, tuple[str, ...]]  # country -> its languages, main one first
    single: Mapping[str, str]  # country -> its one language


@cache
def _table() -> _Table:
    raw = resources.files("rules.packs").joinpath("keywords.toml").read_text("utf-8")
    data = tomllib.loads(raw)
    packs = {name: _pack(name, body) for name, body in data["packs"].items()}
    several = {country.upper(): tuple(langs)
               for country, langs in data.get("several_languages", {}).items()}
    single: dict[str, str] = {}
    for pack in packs.values():
        for country in pack.countries:
            if country in single or country in several:
                raise ValueError(f"keywords.toml: {country} is listed twice (put a country "
                                 "of several languages under [several_languages])")
            single[country] = pack.language
    for country, langs in several.items():
        unknown = [lang for lang in langs if lang not in packs]
        if unknown or not langs:
            raise ValueError(f"keywords.toml: several_languages.{country}: no pack for "
                             f"{unknown or 'an empty list'}")
    if DEFAULT_LANGUAGE not in packs:
        raise ValueError(f"keywords.toml: no {DEFAULT_LANGUAGE!r} pack (the default replies)")
    return _Table(packs, several, single)


def _words(body: Mapping[str, Any], key: str) -> tuple[str, ...]:
    words = tuple(str(word).strip() for word in body.get(key, ()))
    if not all(normalize_reply(word) for word in words):
        raise ValueError(f"{key}: a keyword with no letters or digits")
    return words


def _template(text: object, key: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{key}: missing")
    for _, name, spec, conversion in string.Formatter().parse(text):
        if name is not None and (name not in PLACEHOLDERS or spec or conversion):
            raise ValueError(f"{key}: unknown placeholder {{{name}}}")
    return " ".join(text.split())


def _pack(name: str, body: Mapping[str, Any]) -> KeywordPack:
    try:
        replies = Replies(
            language=name,
            confirm_text=_template(body.get("confirm_text"), "confirm_text"),
            optin_confirm_text=_template(body.get("optin_confirm_text"), "optin_confirm_text"),
            help_reply=_template(body.get("help_reply"), "help_reply"),
            help_reply_no_contact=_template(body.get("help_reply_no_contact"),
                                            "help_reply_no_contact"),
        )
        if "{contact}" in replies.help_reply_no_contact:
            raise ValueError("help_reply_no_contact: uses {contact}")
        return KeywordPack(
            language=name,
            title=body["title"],
            countries=tuple(country.upper() for country in body.get("countries", ())),
            optout=_words(body, "optout"),
            optin=_words(body, "optin"),
            help=_words(body, "help"),
            replies=replies,
            source=" ".join(body.get("source", "").split()),
        )
    except (KeyError, ValueError) as error:
        raise ValueError(f"keywords.toml: pack {name}: {error}") from error


def keyword_packs() -> Mapping[str, KeywordPack]:
    """Every shipped pack by language, in file order."""
    return _table().packs


def merge_words(*lists: Iterable[str]) -> tuple[str, ...]:
    """The words of ``lists`` in order, each once (compared as replies are: the first
    spelling stays)."""
    seen: dict[str, str] = {}
    for words in lists:
        for word in words:
            seen.setdefault(normalize_reply(word), word)
    return tuple(seen.values())


@cache
def optouts() -> tuple[str, ...]:
    """Every pack's opt-out keywords, each once: they apply to every reply."""
    return merge_words(*(pack.optout for pack in keyword_packs().values()))


@cache
def helps() -> tuple[str, ...]:
    """Every pack's help keywords, each once: they apply to every reply."""
    return merge_words(*(pack.help for pack in keyword_packs().values()))


@cache
def _optout_packs() -> Mapping[str, str]:
    found: dict[str, str] = {}
    for pack in keyword_packs().values():
        for word in pack.optout:
            found.setdefault(normalize_reply(word), pack.language)
    return found


def optout_pack(word: str) -> str | None:
    """The first pack whose opt-out keywords hold ``word`` (compared as replies are)."""
    return _optout_packs().get(normalize_reply(word))


def languages_of(country: str) -> tuple[str, ...]:
    """The languages of the packs for numbers of ``country``, main one first; () if none."""
    table = _table()
    key = country.upper()
    several = table.several.get(key)
    if several is not None:
        return several
    single = table.single.get(key)
    return (single,) if single is not None else ()


@cache
def optins_for(country: str) -> tuple[str, ...]:
    """The opt-in keywords the packs give numbers of ``country`` (every language spoken
    there); () for a country no pack lists."""
    packs = keyword_packs()
    return merge_words(*(packs[lang].optin for lang in languages_of(country)))


def replies_for(country: str, language: str = "") -> Replies:
    """The reply texts for a number of ``country``: in its language; in a country of
    several, in ``language`` (the sending account's) when it is one of them, else the
    country's first; English for a country no pack lists."""
    packs = keyword_packs()
    spoken = languages_of(country)
    if language and language.lower() in spoken:
        return packs[language.lower()].replies
    return packs[spoken[0] if spoken else DEFAULT_LANGUAGE].replies


def render_reply(text: str, *, brand: str = "", contact: str = "") -> str:
    """``text`` with ``{brand}`` and ``{contact}`` filled (``{{``/``}}`` are braces).

    Without a brand (a reply no account sends: an opt-out at the operator's number) a
    leading ``"{brand}: "`` (or ``"{brand} : "``) is left out, so the text starts at its
    first sentence.
    """
    if "{" not in text and "}" not in text:
        return text
    if not brand:
        text = _LEADING_BRAND.sub("", text)
    pieces: list[str] = []
    values = {"brand": brand, "contact": contact}
    for literal, name, _, _ in string.Formatter().parse(text):
        pieces.append(literal)
        if name is not None:
            pieces.append(values.get(name, ""))
    return "".join(pieces)
