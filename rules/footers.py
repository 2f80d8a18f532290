"""Opt-out footers: which one a promotional message needs, whether it has one, how it fits.

Three steps, each a plain function over plain data:

- :func:`footer_for` picks the ``[[footers]]`` entry for the recipient's country
  and fills its ``{url}`` / ``{shortcode}`` placeholders;
- :func:`already_has_optout` says whether the text already carries that footer
  or another opt-out mention for the country that leads to this gateway (never
  add one twice, never leave a promotion without a way to opt out here), and
  :func:`has_prefix` whether it already starts with the entry's label;
- :func:`fit` appends the footer to the end of the whole message (and puts the
  label before it) and re-segments it, switching the whole message to UCS-2
  when the footer or label has a character the message's alphabet lacks,
  rather than mangling anything.

A label (``[[footers]] prefix``) goes before the text, as given: Spain's LSSI
(art. 20.1) wants a commercial message to start with "publicidad" or "publi"::

    entry: country = "ES", prefix = "PUBLI ", text = "Baja: {url}"
    "Rebajas: -30% en todo"  ->  "PUBLI Rebajas: -30% en todo\nBaja: no-s.ms/AbC123xyz"

It is added when the text does not start with it already (case, accents and
spacing ignored, and as a whole word: "Publi: rebajas" has it, "Publicamos..."
does not), whether or not the footer is needed, and it counts when the message
is cut into parts like any other character.

All three run for every promotional message. On the dev box (CPython 3.11),
for a 160-character GSM text and "STOP au 36173": footer_for ~1.6 µs,
already_has_optout ~1.7 µs (FR) / ~2.7 µs (other countries; ~6 µs with
accents, ~11 µs when "stop" occurs but is no mention), fit ~5 µs (two parts)
or ~8 µs when the footer forces UCS-2. A 140-character text with a mention
outside France costs ~13-28 µs the first time (what it points at is read and
judged), ~4 µs when the same text comes again from the same source and account
(a campaign: the verdict is cached). The text is encoded once; only the footer is encoded
separately, and a UCS-2 switch re-encodes the whole message once.

Opt-out mentions (:func:`already_has_optout`) are searched in the text after
case folding, accent folding (NFKD without combining marks) and, for the
rendered footer, with all whitespace removed. Which mentions count depends on
the recipient's country (:data:`OPTOUT_MENTIONS`):

- **FR** (exclusive): only "STOP to a number" counts, because the French code
  of conduct wants the STOP SMS to a shortcode: ``STOP au 36173``,
  ``STOP 36173``, ``stop sms 36173``, ``STOP SMS au 36 173``, ``STOP : 36173``;
  and only with a number the footer itself gives (the account's shortcode):
  a STOP to any other number never reaches this gateway, so "STOP au 36180"
  or "STOP au 06 12 34 56 78" gets the footer (:data:`OWN_NUMBER_ONLY`).
  An opt-out link alone in a French message still gets the footer.
- **every other country** (``*``), in the usual SMS wording of each language:

  ====  ========================================================================
  any   ``STOP`` to a number: ``STOP to 12345`` / ``au`` / ``à`` / ``an`` /
        ``naar`` / ``al``, ``STOP 12345``, ``stop sms 36173``
  EN    ``reply STOP``, ``text STOP``, ``send 'STOP'``, ``STOP to opt out``,
        ``STOP2END``, ``unsubscribe: <url>`` / ``at`` / ``here``,
        ``opt-out:``, ``to opt out``, ``to unsubscribe``
  FR    ``désinscription``, ``se désinscrire``, ``désabonnement``
  ES    ``baja: <url>``, ``envía BAJA``, ``responde BAJA``, ``BAJA al 12345``,
        ``darse de baja``, ``cancelar suscripción``
  DE    ``abmelden``, ``Abmeldung``, ``abbestellen``
  IT    ``disiscriviti``, ``disiscrizione``
  NL    ``afmelden``, ``afmelding``, ``uitschrijven``
  PT    ``descadastrar``, ``descadastre-se``
  ====  ========================================================================

The patterns are deliberately narrow: a false "already has one" sends a
promotional message without its footer, while a miss only repeats a mention.
So "baja" alone (Spanish for "low") or "stop" alone do not count.

Outside France a mention found counts only when it leads to this gateway (issue
12: the product promises every promotion an opt-out path that reaches it). What
it leads to is what it points at in its clause (the sentence or line it is in:
the first link or number from the mention on, else the last one before it):

- a number ("Reply STOP to 60777", "BAJA al 217070") counts when it is one the
  account receives MOs on: the footer's own number(s), or one of
  :attr:`OptoutReach.numbers` (the account's numeric ``numbers`` and ``senders``
  and its shortcode), compared by key as :mod:`rules.senders` compares sources
  ("07700 900123" of a GB account is "+447700900123");
- a link ("unsubscribe: <url>", "Baja: no-s.ms/x", a bare domain) counts when its
  host is :attr:`OptoutReach.link_host`, the host of ``optout.base_url``;
- a mention with neither ("Reply STOP", "Text STOP to opt out", "Envía BAJA")
  counts when the message's source address is one of those numbers: the reply
  comes back through this gateway. From an alphanumeric sender id (nobody can
  reply) or an unlisted source it does not.

Everything else gets the footer appended. The caller builds an
:class:`OptoutReach` once per account (:func:`optout_reach`) and passes it with
the message's source address and TON: the function itself stays pure. A text
with no mention costs what it did (one substring test per keyword); a mention
adds a clause scan and, for a number or the source, a cached
:func:`rules.senders.source_keys` lookup.
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from rules.numbers import TON_UNKNOWN
from rules.senders import listed_key, source_keys
from smpp.gsm import UnencodableError
from smpp.segments import TooManyPartsError, split_payload
from smpp.text import (
    CONCAT_UDH_LENGTH,
    Alphabet,
    ConcatKind,
    alphabet_of,
    encode_text,
    part_capacity,
    segment_ends,
)

__all__ = [
    "NO_REACH",
    "OPTOUT_MENTIONS",
    "Fitted",
    "Footer",
    "FooterLike",
    "OptoutReach",
    "already_has_optout",
    "fit",
    "footer_for",
    "has_prefix",
    "optout_reach",
    "ucs2_form",
]


class FooterLike(Protocol):
    """A ``[[footers]]`` entry: ISO alpha-2 country (or "*"), template text, and the
    account language it is for (ISO 639-1, "" = every account)."""

    @property
    def country(self) -> str: ...

    @property
    def text(self) -> str: ...

    @property
    def language(self) -> str: ...

    @property
    def prefix(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Footer:
    """A rendered footer: its ``text``, the ``country`` of the entry that produced it
    ("FR", or "*" for the default entry), that entry's key path (``footers[0]``) and
    the label it puts before the message (``prefix``, "" for none). ``text`` is "" for
    an entry that only labels."""

    text: str
    country: str
    entry: str
    prefix: str = ""


@dataclass(frozen=True, slots=True)
class Fitted:
    """A message with its footer, ready to send.

    ``text``/``data_coding``/``payload`` describe the whole message as sent and
    ``segments`` the user data of each part (no UDH: build_parts adds it).
    ``parts_before`` is what the text alone took in its own data_coding,
    ``parts_after`` what is sent now, ``extra_segments`` the difference.

    When ``added`` is False the message is described unchanged (the caller
    should forward the sender's own parts) and ``reason`` says why: "binary",
    "too_long" (the footered message would exceed 255 parts or one
    message_payload), "empty_footer", "unencodable_text" (the text has
    characters its own data_coding cannot carry, i.e. invalid octets from the
    sender: payload and segments are then empty) or "unencodable_footer".
    When it is True, ``reason`` is "added".
    """

    text: str
    data_coding: int
    payload: bytes
    segments: list[bytes]
    parts_before: int
    parts_after: int
    extra_segments: int
    switched_to_ucs2: bool
    added: bool
    reason: str


# --- choosing the footer ----------------------------------------------------------------

_PLACEHOLDERS: Final = frozenset({"url", "shortcode"})
_FORMATTER: Final = string.Formatter()


def footer_for(
    country: str,
    footers: Sequence[FooterLike],
    *,
    url: str | None,
    shortcode: str | None,
    language: str = "",
) -> Footer | None:
    """The footer for a recipient in ``country``, or None when it gets none.

    The first entry for that country (case-insensitive), else the first "*"
    entry, among the entries without a language and those whose language is the
    sending account's ``language`` (so a country of several languages, such as
    Belgium, takes the account's); an entry whose placeholders cannot be filled
    (``{shortcode}`` without a shortcode, ``{url}`` without a url) is skipped and
    the search goes on. An entry with empty text means "no footer": None, unless it
    has a ``prefix`` (a label alone: a Footer whose text is "").
    """
    wanted = country.upper()
    values = {"url": url or None, "shortcode": shortcode or None}
    language = language.lower()
    found = _first(wanted, footers, values, language) if wanted and wanted != "*" else None
    if found is None:
        found = _first("*", footers, values, language)
    if found is None:
        return None
    index, entry, text = found
    if not text and not entry.prefix:
        return None
    return Footer(text, entry.country.upper(), f"footers[{index}]", entry.prefix)


def _first(
    wanted: str, footers: Sequence[FooterLike], values: dict[str, str | None], language: str
) -> tuple[int, FooterLike, str] | None:
    for index, entry in enumerate(footers):
        if entry.country.upper() != wanted:
            continue
        if entry.language and entry.language.lower() != language:
            continue
        text = _render(entry.text, values)
        if text is not None:
            return index, entry, text
    return None


def _render(template: str, values: dict[str, str | None]) -> str | None:
    """``template`` with its placeholders filled, or None if one has no value."""
    if "{" not in template and "}" not in template:
        return template
    pieces: list[str] = []
    for literal, name, spec, conversion in _FORMATTER.parse(template):
        pieces.append(literal)
        if name is None:
            continue
        if name not in _PLACEHOLDERS or spec or conversion:
            # The config refuses these at start; reaching here is a programming error.
            raise ValueError(f"footer {template!r}: unknown placeholder {{{name}}}")
        value = values[name]
        if value is None:
            return None
        pieces.append(value)
    return "".join(pieces)


# --- opt-out mentions already in the text --------------------------------------------

# A shortcode or phone number: 4+ digits, or groups of 2-4 (36 173, 07 57 00 00 00);
# right after STOP with no "to"/"au" in between, 5+ digits ("STOP 2025" is a year).
_NUMBER = r"(?:\+?\d{4,}|\+?\d{2,3}(?:[\s.]\d{2,4})+)"
_BARE_NUMBER = r"(?:\+?\d{5,}|\+?\d{2,3}(?:[\s.]\d{2,4})+)"
# STOP as a word, not the end of "non-stop" / "non stop"; STOP2END counts.
_STOP = r"(?<![\w-])(?<!non )stop(?![a-z])"
_QUOTE = r"[\"'\u00ab\u2018\u2019\u201c\u201d]?\s*"  # an optional opening quote

#: Opt-out mentions by recipient country, on case- and accent-folded text, as
#: (language, keyword, pattern): the pattern is only tried when the keyword
#: occurs in the text (a substring test is ~50 ns, a regex pass over 160
#: characters several µs). "FR" replaces the "*" list; other countries use "*".
OPTOUT_MENTIONS: Final[dict[str, tuple[tuple[str, str, str], ...]]] = {
    "FR": (
        (
            "fr",
            "stop",
            rf"{_STOP}(?:\s*(?:sms|pub))?(?:\s*(?:au|a|:)\s*(?:(?:numero|no|n°)\s*)?"
            rf"(?P<number>{_NUMBER})|\s*(?P<bare>{_BARE_NUMBER}))",
        ),
    ),
    "*": (
        (
            "any",
            "stop",
            rf"{_STOP}(?:\s*(?:sms|pub))?"
            rf"(?:\s*(?:au|a|to|at|an|naar|aan|al|:)\s*{_NUMBER}|\s*{_BARE_NUMBER})",
        ),
        ("en", "stop", rf"\b(?:reply|text|txt|send|respond|sms)\s+(?:with\s+)?{_QUOTE}stop\b"),
        ("en", "stop", rf"{_STOP}\s*(?:2|to|-)\s*(?:end|quit|cancel|opt\s*-?\s*out|unsub\w*)\b"),
        ("en", "unsubscribe", r"\bunsubscribe\s*(?::|at\b|here\b|via\b|https?://|www\.)"),
        ("en", "unsubscribe", r"\bto\s+unsubscribe\b"),
        ("en", "opt", r"\bopt\s*-?\s*out\s*:|\bto\s+opt\s*-?\s*out\b"),
        ("fr", "desinscri", r"\bdesinscri"),
        ("fr", "desabonn", r"\bdesabonn"),
        ("es", "baja", r"\bbaja\s*:|\bbaja\s+al\s+\+?\d"),
        ("es", "baja", rf"\b(?:envia|envie|responde|responda|manda|escribe|sms)\s+{_QUOTE}baja\b"),
        ("es", "baja", r"\b(?:dar|darse|darte|date|dese)\s+de\s+baja\b"),
        ("es", "suscripcion", r"\bcancelar\s+(?:tu\s+|la\s+)?suscripcion"),
        ("de", "abmeld", r"\babmeld(?:en|ung)\b"),
        ("de", "abbestell", r"\babbestell"),
        ("it", "disiscri", r"\bdisiscri(?:viti|versi|zione|verti)\b"),
        ("nl", "afmeld", r"\bafmeld(?:en|ing)\b"),
        ("nl", "uitschrijven", r"\buitschrijven\b"),
        ("pt", "descadastr", r"\bdescadastr"),
    ),
}


def _by_keyword(
    entries: tuple[tuple[str, str, str], ...],
) -> tuple[tuple[str, re.Pattern[str]], ...]:
    keywords = dict.fromkeys(keyword for _, keyword, _ in entries)
    return tuple(
        (
            keyword,
            re.compile("|".join(f"(?:{p})" for _, k, p in entries if k == keyword)),
        )
        for keyword in keywords
    )


_MENTIONS: Final = {country: _by_keyword(entries) for country, entries in OPTOUT_MENTIONS.items()}
_COMBINING: Final = re.compile(r"[\u0300-\u036f]+")


def _fold(text: str) -> str:
    """Case- and accent-folded text (NFKD, combining marks dropped)."""
    if text.isascii():
        return text.lower()
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text.casefold()))


#: Countries where a "STOP to a number" mention only counts when it names the footer's
#: own number: a STOP sent to any other number never reaches this gateway, so the
#: recipient could not opt out through it. No other mention counts there.
OWN_NUMBER_ONLY: Final = frozenset({"FR"})
_NUMBER_RE: Final = re.compile(_NUMBER)
_NOT_DIGIT: Final = re.compile(r"\D")

# --- where a mention leads: a link, a number, or the sender itself ---

#: What an opt-out mention points at, on folded text: a link (with a scheme, or a bare
#: domain such as "no-s.ms/x"; an e-mail address's domain reads as one too), else a
#: number ("36173", "+44 7700 900123", "06 12 34 56 78", "1-800-555-0199"). Links are
#: tried first at each place, so a token's digits are never read as a number.
_TARGET: Final = re.compile(
    r"(?:https?://(?P<host>[^\s/?#]+)\S*"
    r"|(?<![\w.-])(?P<domain>(?:[\w-]++\.)+[^\W\d_]{2,}(?::\d+)?)"
    r"(?![\w-])(?:/\S*)?)"
    r"|(?<![\w+])(?P<number>\+?\d+(?:[ .-]\d{2,})*)"
)
#: Where a clause of the text ends: a sentence mark before a space, or a line break;
#: and the text up to the last such end (matched from 0 with ``endpos``).
_CLAUSE_END: Final = re.compile(r"[.!?;](?=\s)|\n")
_UP_TO_LAST_CLAUSE_END: Final = re.compile(r".*(?:[.!?;](?=\s)|\n)", re.DOTALL)
#: Fewer digits than this is a price or a count ("50% off"), not where a STOP goes.
_MIN_NUMBER_DIGITS: Final = 3


@dataclass(frozen=True, slots=True)
class OptoutReach:
    """Where an opt-out reaches this gateway for one sending account (build it once per
    account with :func:`optout_reach`).

    ``numbers``: the keys (:func:`rules.senders.listed_key`) of the numbers the account
    receives MOs on (its numeric ``numbers``, ``senders`` and shortcode); ``region``: the
    account's ``default_region``, to read national numbers written in a text;
    ``link_host``: the host of ``optout.base_url`` (with its port, if it gives one),
    lower-cased. The empty default reaches nothing but the footer's own number.
    """

    numbers: frozenset[str] = frozenset()
    region: str = ""
    link_host: str = ""


NO_REACH: Final = OptoutReach()


def optout_reach(numbers: Iterable[str], region: str, link_host: str) -> OptoutReach:
    """The :class:`OptoutReach` of an account listing ``numbers`` (alphanumeric sender
    ids among them are left out: nobody can reply to one)."""
    region = region.upper()
    keys = frozenset(
        listed_key(entry, region) for entry in numbers
        if entry.strip() and not any(char.isalpha() for char in entry)
    )
    return OptoutReach(keys, region, link_host.lower())


def already_has_optout(
    text: str,
    country: str,
    footer: Footer,
    reach: OptoutReach = NO_REACH,
    *,
    source: str = "",
    source_ton: int = TON_UNKNOWN,
) -> bool:
    """Whether ``text`` already carries ``footer``, or an opt-out mention for ``country``
    that leads to this gateway (so no footer is appended).

    The rendered footer is compared ignoring case, accents and whitespace, and must
    not run on into more letters or digits ("STOP au 361730" is not "STOP au 36173").
    Mentions are those of :data:`OPTOUT_MENTIONS` for the country, and count only
    when they lead here:

    - in :data:`OWN_NUMBER_ONLY` countries, a "STOP to a number" whose number (spaces
      and dots ignored) is one the rendered footer gives;
    - elsewhere, by what the mention points at in its clause (the sentence or line
      it is in: the first link or number from the mention on, else the last before
      it): a number counts when it is the footer's or one of ``reach.numbers`` (read
      as :func:`rules.senders.source_keys` reads a source in ``reach.region``); a
      link when its host is ``reach.link_host``; a mention with neither ("Reply
      STOP") when the message's ``source`` (with ``source_ton``) is one of
      ``reach.numbers`` or the footer's: the reply comes back to this gateway.
    """
    folded = _fold(text)
    wanted = _fold(footer.text)
    if wanted and _contains_footer("".join(folded.split()), "".join(wanted.split())):
        return True
    upper = country.upper()
    mentions = _MENTIONS.get(upper) or _MENTIONS["*"]
    if upper in OWN_NUMBER_ONLY:
        own = _numbers_of(footer.text)
        return bool(own) and any(
            keyword in folded and any(
                _NOT_DIGIT.sub("", found.group("number") or found.group("bare") or "") in own
                for found in pattern.finditer(folded)
            )
            for keyword, pattern in mentions
        )
    if not any(keyword in folded for keyword, _ in mentions):
        return False  # most texts: no mention at all, nothing more to read
    text_of_footer = footer.text
    if "/" in text_of_footer:  # a link's token differs for every recipient: not a number
        text_of_footer = " ".join(word for word in text_of_footer.split() if "/" not in word)
    return _mention_leads_here(folded, upper if upper in _MENTIONS else "*",
                               _footer_keys(text_of_footer, reach.region), reach, source,
                               source_ton)


@functools.lru_cache(maxsize=4096)
def _mention_leads_here(folded: str, mentions_of: str, footer_keys: frozenset[str],
                        reach: OptoutReach, source: str, source_ton: int) -> bool:
    """Whether a mention of ``_MENTIONS[mentions_of]`` in ``folded`` leads here. Cached:
    a campaign sends one text, from one source, to many recipients."""
    own = reach.numbers | footer_keys
    for keyword, pattern in _MENTIONS[mentions_of]:
        if keyword not in folded:
            continue
        for found in pattern.finditer(folded):
            if _leads_here(folded, found.start(), found.end(), own, reach, source,
                           source_ton):
                return True
    return False


def _leads_here(folded: str, start: int, end: int, own: frozenset[str], reach: OptoutReach,
                source: str, source_ton: int) -> bool:
    """Whether the mention at ``folded[start:end]`` leads to this gateway (see above)."""
    after = _CLAUSE_END.search(folded, end)
    clause_end = after.start() if after is not None else len(folded)
    target = _first_target(folded, start, clause_end)
    if target is None:  # none from the mention on: the last one before it in its clause
        before = _UP_TO_LAST_CLAUSE_END.match(folded, 0, start)
        for found in _TARGET.finditer(folded, before.end() if before else 0, start):
            if _is_target(found):
                target = found
    if target is None:  # "Reply STOP": the reply goes to the message's source
        if not source:
            return False
        return any(key in own for key in source_keys(source, source_ton, reach.region))
    host = target.group("host") or target.group("domain")
    if host is not None:
        return bool(reach.link_host) and host == reach.link_host
    return any(key in own for key in source_keys(target.group("number"), TON_UNKNOWN,
                                                  reach.region))


def _first_target(folded: str, start: int, end: int) -> re.Match[str] | None:
    for found in _TARGET.finditer(folded, start, end):
        if _is_target(found):
            return found
    return None


def _is_target(found: re.Match[str]) -> bool:
    """A link, or a number of enough digits to be where a STOP goes."""
    number = found.group("number")
    return number is None or len(_NOT_DIGIT.sub("", number)) >= _MIN_NUMBER_DIGITS


@functools.lru_cache(maxsize=256)
def _footer_keys(footer_text: str, region: str) -> frozenset[str]:
    """The keys of the numbers a footer (its links left out) gives: "STOP au 36 173" ->
    {"36173"}."""
    return frozenset(
        listed_key(found.group("number"), region)
        for found in _TARGET.finditer(_fold(footer_text))
        if found.group("number") is not None
        and len(_NOT_DIGIT.sub("", found.group("number"))) >= _MIN_NUMBER_DIGITS
    )


def has_prefix(text: str, prefix: str) -> bool:
    """Whether ``text`` already starts with the label ``prefix`` ("PUBLI "): case,
    accents and spacing ignored, and as a whole word ("Publi: ..." yes, "Publicamos"
    no). An empty label is always there."""
    wanted = "".join(_fold(prefix).split())
    if not wanted:
        return True
    folded = _fold(text.lstrip()[:len(prefix) * 4 + 8])
    at = 0
    for char in wanted:  # the label's characters in order, spaces in the text skipped
        while at < len(folded) and folded[at].isspace():
            at += 1
        if at == len(folded) or folded[at] != char:
            return False
        at += 1
    # A label ending in a letter or digit must end a word there ("PUBLI", not "PUBLIcamos").
    return not (wanted[-1].isalnum() and at < len(folded) and folded[at].isalnum())


def _contains_footer(squeezed_text: str, squeezed_footer: str) -> bool:
    if not squeezed_footer:
        return True  # a footer of whitespace alone is in every text
    start = squeezed_text.find(squeezed_footer)
    while start != -1:
        end = start + len(squeezed_footer)
        if end == len(squeezed_text) or not squeezed_text[end].isalnum():
            return True
        start = squeezed_text.find(squeezed_footer, start + 1)
    return False


@functools.lru_cache(maxsize=64)
def _numbers_of(footer_text: str) -> frozenset[str]:
    """The numbers a footer gives, digits only: {"36173"} for "STOP au 36 173"."""
    return frozenset(_NOT_DIGIT.sub("", found) for found in _NUMBER_RE.findall(footer_text))


# --- fitting the footer into the message ---------------------------------------------


def ucs2_form(data_coding: int) -> int:
    """The UCS-2 data_coding that keeps what else ``data_coding`` says (message class).

    0 (GSM), 1 (IA5), 3 (Latin-1) -> 8; a 23.038 general/auto-deletion group value
    keeps its group and class bits with the UCS-2 alphabet (flash 0x10 -> 0x18);
    the message-class group 0xF0-0xF3 -> 0x18-0x1B; message waiting 0xC0-0xDF ->
    0xE0-0xEF (the UCS-2 "store" group).
    """
    if data_coding < 0x10:
        return 0x08
    if data_coding < 0x80:
        return (data_coding & ~0x0C) | 0x08
    if data_coding >= 0xF0:
        return 0x18 | (data_coding & 0x03)
    if 0xC0 <= data_coding < 0xE0:
        return 0xE0 | (data_coding & 0x0F)
    return data_coding


#: Alphabets a message keeps whatever its footer: UCS-2 has nowhere wider to go, and a
#: sender that chose a national coding (JIS, Cyrillic, Hebrew, ISO-2022-JP, EUC-JP,
#: KS C 5601) chose it for its carrier and handsets, so a footer that coding cannot
#: carry is refused rather than turning the message into UCS-2 behind its back.
_KEEP_CODING: Final = frozenset({
    Alphabet.UCS2, Alphabet.JIS, Alphabet.CYRILLIC, Alphabet.HEBREW, Alphabet.ISO2022JP,
    Alphabet.KANJI_EXT, Alphabet.KSC5601,
})


def fit(
    text: str,
    footer: str,
    data_coding: int,
    *,
    concat: ConcatKind = "udh8",
    separator: str = "\n",
    prefix: str = "",
) -> Fitted:
    """``prefix`` + ``text`` + ``separator`` + ``footer`` as one message, cut into parts
    for ``concat`` (an empty ``footer`` adds no separator either: the label alone).

    The footer ends the whole message, the label starts it. The result keeps
    ``data_coding`` when it can carry the footer, label and separator, else a GSM,
    IA5 or Latin-1 message goes whole to UCS-2 (:func:`ucs2_form`); a UCS-2 or
    national-coding message is left unchanged ("unencodable_footer"). Segments
    respect the per-part room of
    ``concat`` and never split a GSM escape, a UTF-16 surrogate pair or a
    multibyte character (ISO-2022-JP parts are encoded one by one). Binary
    messages, and messages the footer would push beyond 255 parts, are left
    unchanged.
    """
    alphabet = alphabet_of(data_coding)
    if alphabet is Alphabet.BINARY:
        return _unchanged(text, data_coding, concat, "binary")
    if not footer and not prefix:
        return _unchanged(text, data_coding, concat, "empty_footer")
    try:
        head = encode_text(text, data_coding)
    except UnencodableError:
        return Fitted(text, data_coding, b"", [], 0, 0, 0, False, False, "unencodable_text")
    tail_text = separator + footer if footer else ""
    full_text = prefix + text + tail_text
    switched = False
    out_coding = data_coding
    try:
        # Every supported alphabet encodes character by character (GSM escapes are
        # whole pairs, UTF-16BE has no BOM, ISO-2022-JP pieces start and end in ASCII):
        # encoding the label and the tail alone is enough.
        payload = (encode_text(prefix, data_coding) if prefix else b"") + head \
            + encode_text(tail_text, data_coding)
    except UnencodableError:
        if alphabet in _KEEP_CODING:
            return _unchanged(text, data_coding, concat, "unencodable_footer", head)
        out_coding = ucs2_form(data_coding)
        try:
            payload = encode_text(full_text, out_coding)
        except UnencodableError:  # a lone surrogate in the footer
            return _unchanged(text, data_coding, concat, "unencodable_footer", head)
        switched = True
    try:
        segments = split_payload(payload, out_coding, udh=concat)
    except TooManyPartsError:
        return _unchanged(text, data_coding, concat, "too_long", head)
    after = len(segments)
    # Fewer parts is impossible: one part after means one part before.
    before = 1 if after == 1 else _parts(head, data_coding, concat)
    return Fitted(
        full_text, out_coding, payload, segments, before, after, after - before, switched, True,
        "added",
    )


def _parts(encoded: bytes, data_coding: int, concat: ConcatKind) -> int:
    """Parts ``encoded`` takes, counted as split_payload would cut it (no limit applied)."""
    if concat == "payload":
        return 1
    unit = 2 if alphabet_of(data_coding) is Alphabet.UCS2 else 1
    if len(encoded) <= part_capacity(data_coding) * unit:
        return 1
    return len(segment_ends(encoded, data_coding, part_udh_length=CONCAT_UDH_LENGTH[concat]))


def _unchanged(
    text: str, data_coding: int, concat: ConcatKind, reason: str, encoded: bytes | None = None
) -> Fitted:
    if encoded is None:
        try:
            encoded = encode_text(text, data_coding)
        except UnencodableError:
            return Fitted(text, data_coding, b"", [], 0, 0, 0, False, False, reason)
    try:
        segments = split_payload(encoded, data_coding, udh=concat)
    except TooManyPartsError:
        parts = _parts(encoded, data_coding, concat)
        return Fitted(text, data_coding, encoded, [], parts, parts, 0, False, False, reason)
    parts = len(segments)
    return Fitted(text, data_coding, encoded, segments, parts, parts, 0, False, False, reason)
