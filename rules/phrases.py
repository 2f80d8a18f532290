"""Opt-outs people write in words: a phrase matcher per language, pure, no I/O.

    match_phrase("Stop texting me")             -> PhraseMatch("optout", "en", ...)
    match_phrase("Unsubscribe me")              -> PhraseMatch("optout", "en", ...)
    match_phrase("Baja por favor")              -> PhraseMatch("optout", "es", ...)
    match_phrase("Why do you keep texting me?") -> PhraseMatch("review", "en", ...)
    match_phrase("Stop by the store tomorrow?") -> None
    match_phrase("Please don't stop sending me deals") -> None

The FCC's consent-revocation rule (2024) wants a revocation "by any reasonable means"
honoured: "Stop texting me", "Remove me", "Leave me alone", "STOP 36173", "Stop. Thanks".
A keyword list (rules.keywords) reads only whole replies; this module reads the
sentences people write. It answers:

- ``optout``: a clear revocation, to honour at once;
- ``review``: looks like one but is not clear ("not interested", "why do you keep
  texting me?", "too many messages", "how do I unsubscribe?", "Stop?", a bare 🛑):
  a person decides (the FCC allows 10 business days);
- None: not a revocation (stop by, a bus stop, a non-stop flight, ending a contract,
  cancelling an order or an appointment, "don't stop sending me deals").

How a reply is read (the tables are data: rules/phrase_tables.py, one per language):

1. Lines quoted back are dropped: lines starting with ">", everything under an
   "On ... wrote:" header, a quoted span of four words or more, a line that carries
   the brand's instruction ("Reply STOP to opt out", "STOP au 36173"), and in a reply
   of several lines a line with a link, a percentage or a price (the promotion quoted
   back: "Soldes -50% ! STOP 36173"); so is a signature after a dash at the end
   ("Stop - John") and a name after a closing word at the end ("... saludos Andrea",
   "... merci M. Lefèvre"; not a word the tables know: "Thanks. STOP"). A "+" standing
   alone is a word each table reads as its "more" ("nn mandatemi + msg").
2. Each line is cut into clauses at . ! ? ; : , and each clause is normalised like a
   keyword (case, accents, punctuation folded: rules.keywords.normalize_reply), then
   spaced letters are joined ("S T O P", "a.u.b."), letters typed three times or more
   are squeezed ("stoooop"), a word repeated at once is read once ("stop stop stop"),
   a four- or five-letter word one typo from "stop" is "stop" ("stpo", "st0p"; not
   "step", "shop", "top": phrase_tables.NOT_STOP_TYPOS), and a long word one typo
   away from a table's long word is read as that word ("unsubcribe").
3. Per language, the table's ``aliases`` are read first: txt-speak ("nn" is Italian
   "non", "n"/"vcs" Portuguese "não"/"vocês", "nix" German "nichts"), regional forms
   (Austrian "nimmer", Swiss "nüme" are "nicht mehr"), idioms joined into one word
   ("stop ou encore"). Then a clause is cut again at its "or"/"but" words and at "and"
   (a bare
   keyword may not stand before "and": "Stop and Shop"; "stop and thanks" is fine),
   and each piece is matched:
   - a bare keyword ("stop", "baja", "abmelden") followed only by fillers (please,
     thanks, me, now, numbers, the brand's names, "you idiots") is an opt-out, a
     review when the clause ends with "?" ("Stop?", "Stop ou encore ?");
   - phrase patterns are matched from the piece's start, or after a lead-in ("can
     you", "I want you to", "merci de", "wrong number"); a pattern marked ``…`` may
     also start inside the piece ("I'm asking you nicely to stop texting me"), but
     then a question word before it ("how do I unsubscribe") makes it a review;
   - fillers (politeness, greetings and closings of each language and region: "Grüezi",
     "Bom dia", "Cordiali saluti", "Met vriendelijke groet", Dutch "ff") may appear
     anywhere; a phrase ends at the end of the piece, before where the messages go ("on
     my cell", "aufs Natel", "op mijn gsm", "pra esse número", "ici": the table's
     ``places``, never after a bare keyword: "Stop here" may be a driver's stop), or
     where a new sentence starts without punctuation ("STOP SENDING ME MESSAGES I DONT
     KNOW YOU": the table's ``breaks``), or after the table's ``tails`` (up to three:
     insults and vocatives, "you clowns", "bande de nazes"; qualifiers of the messages,
     "promotional", "per SMS"; the list or the sender, "aus Ihrer Kundendatei", "from
     your shop"; emotional words, "for god's sake", "que saco"; never after a bare
     keyword); anything else left over makes the pattern fail, or makes it a review
     where the pattern says so ("stop texting me at 7am"; "stop sending me the wrong
     sizes": another object);
   - what the phrases catch, in every language: requests, polite or curt ("would you
     mind taking me off", "je vous serais reconnaissant de ne plus m'envoyer de SMS",
     "les agradecería que dejaran de enviarme mensajes"), wishes in the conditional
     ("I'd rather not get", "gradirei non ricevere più", "gostaria de não receber
     mais"), a wrong number with "stop writing here", ending the SMS service ("kündige
     den SMS-Service", "disdico l'iscrizione agli sms", "de sms-service opzeggen"),
     leaving a list ("gelieve mij uit te schrijven", "tira meu número dessa lista",
     "zet mij van de lijst"), a request repeated as a statement ("ich hab schon dreimal
     STOPP geschrieben", "ça fait trois fois que je réponds STOP"), permission and no
     need ("you can stop texting me", "não precisa mandar mais nada", "jullie hoeven me
     niks meer te sturen"), someone else's number ("my mum passed away, please remove
     her number"), a bare keyword with urgency ("Sofort aufhören!", "Nu stoppen!"),
     dialect (Austrian "ka SMS mehr", Flemish "stopt nu eens", Roman "co' 'sti
     messaggi", Québec "m'texter"), an explicit revocation of consent ("ich widerrufe
     meine Einwilligung", "ik trek mijn toestemming in"), dismissing the number
     ("oubliez mon numéro", "olvídense de mi número"), ending the sending itself ("cese
     el envío de comunicaciones", "stellen Sie den SMS-Versand ein"), nouns for what the
     messages carry ("Wahlwerbung", "the pharmacy reminders"), vulgar forms ("stop
     f***ing texting me", "kutberichten"), the number as a pronoun ("take it off your
     list", "rimuoverlo dai contatti"), a reason after the request ("que ya no voy");
     reports to a spam short code, a regulator or a
     fraud desk ("Je signale ce numéro au 33700") and "I never signed up" are reviews.
   A phrase found inside a piece right after one of the table's ``negations`` ("I
   don't want to", "ne veux pas me", "no quiero"; or a fact: "ich bekomme keine SMS
   mehr, warum?") is not said, unless a ``conditions``
   word comes first ("if you don't stop texting me" is a threat, still a revocation).
4. The strongest kind a piece matches wins: "keep" (the opposite of a revocation:
   "don't stop", "text me instead", "lieber per SMS"; a STOP taken back: "ignore the
   stop", "I still want your deals"), then "none" (another sense: "unsubscribe me from
   the emails", "wrong number", "Stopp mal": wait), then an opt-out, then a review. A
   reply is an opt-out when one of its pieces is one and no piece, in any table, says "keep"
   (both: review; a keep pattern found further in the piece of an opt-out found inside it
   wins: "mio figlio ha scritto STOP per sbaglio"); else a review when one piece is one;
   else None. ``strict`` keywords ("cancel", "end": they also answer appointment
   reminders) are opt-outs only as the whole reply, and a review with fillers ("Cancel
   please").

A bare keyword next to a clause about buying, an order or coming to the shop
(phrase_tables.PURCHASE_WORDS: "Stop, that price is insane, ordering now", "Basta,
arrivo!"; not a clause that threatens: phrase_tables.THREAT_WORDS, "vou ao Procon.
Parem já!") is a review: an exclamation as likely as an opt-out; and with laughter or
delight (phrase_tables.LAUGHTER_*: "haha", "jaja", 😂, 😍) it is None. A reply of one
word one typo from a keyword of four letters or more (two letters swapped, one dropped
or doubled, b for v: "abmleden", "bja", "vaja"; never another substitution: "Anmelden"
is its opposite) is that keyword. A reply that is only
the brand's mention ("STOP au 36111") did what the mention says: an opt-out; a keyword
after a first-person subject is the person's own words, not the mention quoted back
("je réponds STOP": phrase_tables.INSTRUCTION_SUBJECTS).

A learned scorer (rules.reply_scorer) may stand beside the tables: where they find no
opt-out and say nothing against one (no "keep", no "none" piece, no laughter, no
purchase: :class:`Reading`'s ``veto``), its probability turns nothing into a review
from its ``review_at`` and nothing or a review into an opt-out from its ``optout_at``;
the match's pattern then says so ("scorer:0.99", "scorer:0.99 over review <pattern>").
It is asked only when its weights ship (rules/reply_scorer_weights.json, written by
bench/train_reply_scorer.py); none ship now (round 5's leave-one-set-out figures did
not meet the decision rule), so the tables decide alone. :func:`read_reply` is the
tables' verdict without it.

Without ``languages``, every table is tried in order (the packs' phrases apply
whatever the recipient's country; English first) and the first that finds an opt-out
says so; ``names`` (the brand, the shortcode's name) are fillers too: "STOP Acme".
Replies are read up to 1000 characters. A phrase pattern is tried on a piece only when
the piece holds a word each of its required parts may start with. Cost: about 120-130 µs
per reply on average over the in-sample replies on the dev box (round 7's tables measured
back to back with round 4's: the same within a µs; round 2's: about 93), 15-60 µs for one
or two words (bench/eval_replies.py measures it).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, TypeAlias

from rules.keywords import normalize_reply
from rules.phrase_tables import (
    CLOSINGS,
    COMMON_ALIASES,
    COMMON_FILLERS,
    INSTRUCTION_SUBJECTS,
    INSTRUCTION_TO,
    INSTRUCTION_VERBS,
    LANGUAGES,
    LAUGHTER_EMOJI,
    LAUGHTER_WORDS,
    NOT_STOP_TYPOS,
    PURCHASE_WORDS,
    STOP_EMOJI,
    THREAT_WORDS,
    Language,
)
from rules.reply_scorer import REPLY_SCORER, ReplyScorer

__all__ = ["PhraseKind", "PhraseMatch", "Reading", "match_phrase", "read_reply", "reply_words"]

PhraseKind = Literal["optout", "review"]

_MAX_READ = 1000
_MIN_QUOTED_WORDS = 4
#: Long words (this many letters or more) one typo away from a table's word are read as it.
_TYPO_MIN_LEN = 10


@dataclass(frozen=True, slots=True)
class PhraseMatch:
    """What a reply is, which language's table said so, and the evidence."""

    kind: PhraseKind
    lang: str  # the table that matched ("*": a bare stop emoji)
    pattern: str  # the keyword or phrase pattern as written in the table
    clause: str  # the normalised words of the piece it matched in


# --- patterns ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Alt:
    """One of several word sequences (an empty one makes it optional).

    ``by_first`` indexes the options that start with a word (word -> the rest of each),
    so matching a slot of forty nouns is one dict lookup; ``others`` start with an
    alternative themselves.
    """

    options: tuple[tuple[_Elem, ...], ...]
    by_first: dict[str, tuple[tuple[_Elem, ...], ...]]
    others: tuple[tuple[_Elem, ...], ...]
    empty: bool


def _alt(options: tuple[tuple[_Elem, ...], ...]) -> _Alt:
    by_first: dict[str, list[tuple[_Elem, ...]]] = {}
    others: list[tuple[_Elem, ...]] = []
    for option in options:
        if option and isinstance(option[0], str) and option[0] != _ANY:
            by_first.setdefault(option[0], []).append(option[1:])
        elif option:
            others.append(option)
    return _Alt(options, {w: tuple(rests) for w, rests in by_first.items()}, tuple(others),
                any(not option for option in options))


_Elem: TypeAlias = "str | _Alt"
_Seq: TypeAlias = "tuple[_Elem, ...]"
_Rest = Literal["exact", "any", "review"]
_Kind = Literal["optout", "review", "keep", "none", "strict"]


@dataclass(frozen=True, slots=True)
class _Pattern:
    kind: _Kind
    source: str
    seq: _Seq
    anywhere: bool
    rest: _Rest
    keyword: bool
    #: For each required element, the words it may start with: a piece that lacks all
    #: the words of one cannot match, and is not tried (smallest sets first).
    needs: tuple[frozenset[str], ...] = ()


#: In a pattern, "_" is any one word ("my _ s phone": "my daughter's phone").
_ANY = "_"
_TOKEN = re.compile(r"[()\[\]|]|<[A-Z]+>|[^\s()\[\]|<>]+")


def _parse(source: str, slots: dict[str, str], depth: int = 0) -> tuple[_Seq, bool, _Rest]:
    text = source.strip()
    anywhere = text.startswith("…")
    if anywhere:
        text = text[1:]
    rest: _Rest = "exact"
    if text.endswith("…?"):
        rest, text = "review", text[:-2]
    elif text.endswith("…"):
        rest, text = "any", text[:-1]
    if "…" in text or "?" in text:
        raise ValueError(f"pattern {source!r}: … only at the start or end, ? only as …?")
    tokens = _TOKEN.findall(text)
    position = 0

    def sequence(closers: str) -> _Seq:
        nonlocal position
        out: list[_Elem] = []
        while position < len(tokens) and tokens[position] not in closers:
            token = tokens[position]
            position += 1
            if token in "([":
                options = [sequence("|)]")]
                while position < len(tokens) and tokens[position] == "|":
                    position += 1
                    options.append(sequence("|)]"))
                if position >= len(tokens) or tokens[position] != (")" if token == "(" else "]"):
                    raise ValueError(f"pattern {source!r}: unbalanced {token}")
                position += 1
                if token == "[":
                    options.append(())
                out.append(_alt(tuple(options)))
            elif token.startswith("<"):
                name = token[1:-1]
                if name not in slots or depth > 8:
                    raise ValueError(f"pattern {source!r}: no slot {name}")
                out.append(_alt((_parse(slots[name], slots, depth + 1)[0],)))
            elif token in ")]|":
                raise ValueError(f"pattern {source!r}: stray {token}")
            elif token == _ANY:
                out.append(_ANY)
            else:
                out.extend(normalize_reply(token).split())
        return tuple(out)

    seq = sequence("")
    if position != len(tokens):
        raise ValueError(f"pattern {source!r}: stray {tokens[position]}")
    return seq, anywhere, rest


def _firsts(seq: _Seq) -> tuple[frozenset[str], bool]:
    """The words a sequence may start with, and whether it may match nothing."""
    found: set[str] = set()
    for elem in seq:
        if isinstance(elem, str):
            if elem == _ANY:
                raise ValueError("a pattern cannot start with _ (any word)")
            found.add(elem)
            return frozenset(found), False
        nullable = False
        for option in elem.options:
            words, empty = _firsts(option)
            found |= words
            nullable = nullable or empty
        if not nullable:
            return frozenset(found), False
    return frozenset(found), True


def _needs(seq: _Seq) -> tuple[frozenset[str], ...]:
    """The word sets a piece must hold one word of each for ``seq`` to match in it."""
    found: list[frozenset[str]] = []
    for elem in seq:
        if isinstance(elem, str):
            if elem != _ANY:
                found.append(frozenset((elem,)))
            continue
        if elem.empty:
            continue
        try:
            words, nullable = _firsts((elem,))
        except ValueError:  # an option starts with "_": any word
            continue
        if not nullable:
            found.append(words)
    return tuple(sorted(set(found), key=len))


def _words(entries: Iterable[str]) -> tuple[tuple[str, ...], ...]:
    return tuple(words for words in (tuple(normalize_reply(e).split()) for e in entries) if words)


@dataclass(frozen=True, slots=True)
class _Table:
    lang: str
    fillers: dict[str, tuple[tuple[str, ...], ...]]  # first word -> sequences, longest first
    tail: dict[str, tuple[tuple[str, ...], ...]]  # fillers, `after` and `places` words
    bare_tail: dict[str, tuple[tuple[str, ...], ...]]  # fillers and `after` words
    leads: _Seq  # one alternative of every lead-in
    splits: dict[str, tuple[tuple[str, ...], ...]]  # first word -> sequences, longest first
    ands: dict[str, tuple[tuple[str, ...], ...]]
    breaks: dict[str, tuple[tuple[str, ...], ...]]
    doubts: tuple[tuple[str, ...], ...]
    anchored: dict[str, tuple[_Pattern, ...]]  # first word -> patterns
    anywhere: dict[str, tuple[_Pattern, ...]]
    strict: frozenset[tuple[str, ...]]
    negations: dict[str, tuple[tuple[str, ...], ...]]
    conditions: tuple[tuple[str, ...], ...]
    triggers: frozenset[str]  # a piece with none of these words cannot match
    keep_triggers: frozenset[str]  # ... cannot say "keep"
    #: first word -> (words, read as), longest first
    aliases: dict[str, tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]]
    tails: _Seq  # one alternative of every ``tails`` pattern (empty: none)
    tail_firsts: frozenset[str]  # the words a tail may start with


def _by_first(sequences: Iterable[tuple[str, ...]]) -> dict[str, tuple[tuple[str, ...], ...]]:
    table: dict[str, list[tuple[str, ...]]] = {}
    for words in set(sequences):
        table.setdefault(words[0], []).append(words)
    return {first: tuple(sorted(seqs, key=len, reverse=True)) for first, seqs in table.items()}


#: When a piece matches several patterns, the strongest kind wins: "keep" (the opposite of
#: a revocation), then "none" (another sense), then an opt-out, then a review.
_RANK: dict[_Kind, int] = {"keep": 5, "none": 4, "optout": 3, "strict": 2, "review": 1}


def _index(patterns: Iterable[_Pattern]) -> dict[str, tuple[_Pattern, ...]]:
    """first word -> the patterns that may start with it, strongest kind first (keywords
    first within a kind), so matching stops at the first that fits."""
    index: dict[str, list[_Pattern]] = {}
    for pattern in patterns:
        words, nullable = _firsts(pattern.seq)
        if nullable:
            raise ValueError(f"pattern {pattern.source!r} may match nothing")
        for word in words:
            index.setdefault(word, []).append(pattern)
    return {word: tuple(sorted(found, key=lambda p: (-_RANK[p.kind], not p.keyword)))
            for word, found in index.items()}


def _compile(lang: str, table: Language) -> _Table:
    patterns: list[_Pattern] = []
    for keyword in table.keywords:
        words: _Seq = tuple(normalize_reply(keyword).split())
        patterns.append(_Pattern("optout", keyword, words, False, "exact", True))
    for keyword in table.strict:
        words = tuple(normalize_reply(keyword).split())
        patterns.append(_Pattern("strict", keyword, words, False, "exact", True))
    for kind, source in table.phrases:
        seq, anywhere, rest = _parse(source, table.slots)
        patterns.append(_Pattern(kind, source, seq, anywhere, rest, False, _needs(seq)))
    fillers = _words((*table.fillers, *COMMON_FILLERS))
    tails: _Seq = (_alt(tuple(_parse(t, table.slots)[0] for t in table.tails)),) \
        if table.tails else ()
    if tails and _firsts(tails)[1]:
        raise ValueError(f"{lang}: a tail may match nothing")
    return _Table(
        lang=lang,
        fillers=_by_first(fillers),
        tail=_by_first((*fillers, *_words(table.after), *_words(table.places))),
        bare_tail=_by_first((*fillers, *_words(table.after))),
        leads=(_alt(tuple(_parse(lead, table.slots)[0] for lead in table.leads)),),
        splits=_by_first(_words(table.splits)),
        ands=_by_first(_words(table.ands)),
        breaks=_by_first(_words(table.breaks)),
        doubts=_words(table.doubts),
        anchored=_index(patterns),
        anywhere=_index(p for p in patterns if p.anywhere),
        strict=frozenset(tuple(normalize_reply(k).split()) for k in table.strict),
        negations=_by_first(_words(table.negations)),
        conditions=_words(table.conditions),
        triggers=frozenset(_index(patterns)),
        keep_triggers=frozenset(_index(p for p in patterns if p.kind == "keep")),
        aliases=_alias_index({**COMMON_ALIASES, **table.aliases}),
        tails=tails,
        tail_firsts=_firsts(tails)[0] if tails else frozenset(),
    )


def _alias_index(aliases: dict[str, str]) -> dict[str, tuple[tuple[tuple[str, ...],
                                                                  tuple[str, ...]], ...]]:
    """first word -> (words, read as), longest first."""
    index: dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]] = {}
    for source, target in aliases.items():
        words = tuple(normalize_reply(source).split())
        index.setdefault(words[0], []).append((words, tuple(normalize_reply(target).split())))
    return {first: tuple(sorted(found, key=lambda f: -len(f[0])))
            for first, found in index.items()}


def _aliased(words: tuple[str, ...], table: _Table) -> tuple[str, ...]:
    """The words as the table reads them (its ``aliases``: "nn" -> "non")."""
    aliases = table.aliases
    if aliases.keys().isdisjoint(words):
        return words
    out: list[str] = []
    i = 0
    while i < len(words):
        for source, target in aliases.get(words[i], ()):
            if words[i:i + len(source)] == source:
                out.extend(target)
                i += len(source)
                break
        else:
            out.append(words[i])
            i += 1
    return tuple(out)


_TABLES: dict[str, _Table] = {lang: _compile(lang, table) for lang, table in LANGUAGES.items()}


def _all_words() -> tuple[frozenset[str], tuple[str, ...]]:
    """Every word the tables know, and the long ones a typo may be read as."""
    known: set[str] = set()

    def walk(seq: _Seq) -> None:
        for elem in seq:
            if isinstance(elem, str):
                known.add(elem)
            else:
                for option in elem.options:
                    walk(option)

    for table in _TABLES.values():
        for patterns in table.anchored.values():
            for pattern in patterns:
                walk(pattern.seq)
        for first, found in table.aliases.items():
            known.add(first)
            known.update(w for source, _ in found for w in source)
    return frozenset(known), tuple(sorted(w for w in known if len(w) >= _TYPO_MIN_LEN))


_KNOWN, _LONG_WORDS = _all_words()
#: The one-word keywords: what a brand's instruction tells people to send.
_KEYWORD_WORDS = frozenset(
    normalize_reply(keyword) for table in LANGUAGES.values()
    for keyword in (*table.keywords, *table.strict) if len(normalize_reply(keyword).split()) == 1)
_INSTRUCTION_VERBS = frozenset(INSTRUCTION_VERBS)
_INSTRUCTION_TO = frozenset(INSTRUCTION_TO)
_INSTRUCTION_SUBJECTS = frozenset(normalize_reply(w) for w in INSTRUCTION_SUBJECTS)
_PURCHASE = frozenset(normalize_reply(word) for word in PURCHASE_WORDS)
_THREAT = frozenset(normalize_reply(word) for word in THREAT_WORDS)
_LAUGHTER = frozenset(normalize_reply(word) for word in LAUGHTER_WORDS)


# --- reading a reply -----------------------------------------------------------------------

_QUOTE_HEADER = re.compile(
    r"^\s*(on\b.*\bwrote|le\b.*\ba (é|e)crit|el\b.*\bescribi(ó|o)|am\b.*\bschrieb"
    r"|il\b.*\bha scritto|op\b.*\bschreef|em\b.*\bescreveu)\s*:?\s*$", re.IGNORECASE)
#: In a reply of several lines, a line with a link, a percentage or a price is the
#: brand's message quoted back, not the person's words.
_BRAND_LINE = re.compile(r"https?://|www\.|\b\w+\.(com|fr|es|de|it|nl|pt|co|ly|ms)/|\d\s?%"
                         r"|[€$£]\s?\d|\d\s?[€$£]")
_QUOTED_SPAN = re.compile(r"[\"“”„«]([^\"“”„«»]{1,600}?)[\"“”»]")
_DOTTED = re.compile(r"(?<!\w)((?:\w\.){1,}\w)\.?(?!\w)")
_CLAUSE_END = re.compile(r"([.!?;:,…¿¡\n]+)")
_TRIPLED = re.compile(r"(.)\1\1+")
#: Dutch "sms'en", "sms'jes", "sms't" are one word ("en" would otherwise read as "and").
_SMS_VERB = re.compile(r"\b(sms)['\u2019](en|je|jes|t|te|ten|ke|kes)\b", re.IGNORECASE)
#: A "+" standing alone ("nn mandatemi + msg", "n quero + sms"): a word each table reads
#: as its "more" (a "+" before a digit is a phone number's).
_PLUS = re.compile(r"(?:(?<=\s)|^)\+(?=\s|[^\W\d_])")
#: A signature at the end: "Stop - John", "STOP -- J. Smith", "stop ~Anna".
_SIGNATURE = re.compile(
    r"\s+(?:-{1,2}|\u2013|\u2014|~)\s*[A-Z][\w'\u2019.]*(?:\s[A-Z][\w'\u2019]*\.?)?\s*$")

_SIGNED_REACH = 60  # characters from the end: a closing word and a name
#: A name after a closing word at the end of a reply: "... saludos Andrea", "... merci
#: M. Lefèvre", "... groeten P. de Vries" (up to four words, the first capitalised).
_CLOSING_NAME = re.compile(
    r"(?i:\b(?:" + "|".join(sorted((re.escape(c) for c in CLOSINGS), key=len, reverse=True))
    + r"))[\s,.!]+((?:[A-ZÀ-ÖØ-Þ][\w'\u2019-]*\.?)(?:\s+(?:[A-ZÀ-ÖØ-Þ][\w'\u2019-]*\.?"
    r"|de|van|der|den|da|das|do|dos|di|del|von|le|la)){0,3})[\s.!]*$")

def _unquote(span: re.Match[str]) -> str:
    inner = span.group(1)
    return " " if len(inner.split()) >= _MIN_QUOTED_WORDS else f" {inner} "


def _is_instruction(words: list[str]) -> bool:
    """The brand's own words quoted back: "Reply STOP to opt out", "Envía BAJA al 22322",
    "Reply STOP" ending a line, "STOP au 36173"; not a person's own ("je réponds STOP")."""
    words = [w for i, w in enumerate(words)  # "STOP SMS au 36173": as "STOP au 36173"
             if not (w in ("sms", "pub") and i and words[i - 1] in _KEYWORD_WORDS)]
    for i, word in enumerate(words[:-1]):
        following = words[i + 1]
        after = words[i + 2] if i + 2 < len(words) else ""
        if (word in _INSTRUCTION_VERBS and following in _KEYWORD_WORDS
                and (not after or after in _INSTRUCTION_TO or after.isdigit())
                and not (i and words[i - 1] in _INSTRUCTION_SUBJECTS)):
            return True
        if (word in _KEYWORD_WORDS and following in _INSTRUCTION_TO and i + 2 < len(words)
                and (words[i + 2].isdigit() or words[i + 2] in ("opt", "end", "unsubscribe"))):
            return True
    return False


def _squeeze(word: str) -> str:
    """Letters typed three times or more once: "stoooop" -> "stop"."""
    return _TRIPLED.sub(r"\1", word)


def _one_edit(word: str, target: str, any_insert: bool = False) -> bool:
    """One substitution, adjacent swap or dropped letter; or one letter too many: a doubled
    one ("unsubsscribe"; any letter with ``any_insert``: "stopl")."""
    if len(word) == len(target):
        diffs = [i for i, (a, b) in enumerate(zip(word, target, strict=True)) if a != b]
        if len(diffs) == 1:
            return True
        return (len(diffs) == 2 and diffs[1] == diffs[0] + 1
                and word[diffs[0]] == target[diffs[1]] and word[diffs[1]] == target[diffs[0]])
    if len(word) == len(target) - 1:
        return any(target[:i] + target[i + 1:] == word for i in range(len(target)))
    if len(word) == len(target) + 1:
        return any(word[:i] + word[i + 1:] == target
                   and (any_insert or (i > 0 and word[i] == word[i - 1]))
                   for i in range(len(word)))
    return False


_NOT_STOP = frozenset(NOT_STOP_TYPOS)
#: Per language, its one-word keywords of four letters or more: a typo of one of them,
#: alone, is that keyword (:func:`_typo_keyword`).
_TYPO_KEYWORDS: dict[str, tuple[str, ...]] = {
    lang: tuple(dict.fromkeys(
        normalize_reply(k) for k in table.keywords
        if len(normalize_reply(k).split()) == 1 and len(normalize_reply(k)) >= 4
        and "stop" not in normalize_reply(k)  # STOP's typos are read by _spelling, and the
        and not _one_edit(normalize_reply(k), "stop", any_insert=True)))  # tables list some
    for lang, table in LANGUAGES.items()}


@lru_cache(maxsize=4096)
def _spelling(word: str) -> str:
    """A word as matched: squeezed; "stpo", "st0p", "srop" read as "stop" (four or five
    letters one typo away, :data:`NOT_STOP_TYPOS` aside); a long word one typo away
    from a table's long word read as that word."""
    word = _squeeze(word)
    if 4 <= len(word) <= 5 and word not in _NOT_STOP and word not in _KNOWN and (
            _one_edit(word, "stop", any_insert=True) or word.replace("0", "o") == "stop"):
        return "stop"
    if len(word) < _TYPO_MIN_LEN - 1 or word in _KNOWN or not word.isalpha():
        return word
    for target in _LONG_WORDS:
        if abs(len(target) - len(word)) <= 1 and _one_edit(word, target):
            return target
    return word


def _clause_words(text: str) -> list[str]:
    words = normalize_reply(text).split()
    joined: list[str] = []
    run: list[str] = []
    for word in [*words, ""]:
        if len(word) == 1 and word.isalpha():
            run.append(word)
            continue
        if len(run) >= 3:
            joined.append("".join(run))
        else:
            joined.extend(run)
        run = []
        if word:
            joined.append(word)
    out: list[str] = []
    for word in joined:
        word = _spelling(word)
        if not out or out[-1] != word:  # "stop stop stop" reads as "stop"
            out.append(word)
    return out


@dataclass(frozen=True, slots=True)
class _Clause:
    words: tuple[str, ...]
    question: bool


def _signed(text: str) -> str:
    """The reply without a name signed after a closing word at its end; not when the
    "name" holds a word the tables know ("Thanks. STOP")."""
    tail = max(0, len(text) - _SIGNED_REACH)
    signed = _CLOSING_NAME.search(text, tail)
    if signed is None or any(len(w) > 2 and w in _KNOWN
                             for w in normalize_reply(signed.group(1)).split()):
        return text
    return text[:signed.start(1)]


def _clauses(text: str) -> list[_Clause]:
    text = _signed(_SIGNATURE.sub("", text[:_MAX_READ]))
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    several = sum(1 for line in lines if line.strip()) > 1
    clauses: list[_Clause] = []
    for line in lines:
        if _QUOTE_HEADER.match(line):
            break
        if line.lstrip().startswith((">", "|")):
            continue
        if several and _BRAND_LINE.search(line):
            continue  # a promotion quoted above or below the reply: "-50% ... STOP 36173"
        line = _QUOTED_SPAN.sub(_unquote, line)
        line = _DOTTED.sub(lambda m: m.group(1).replace(".", ""), line)
        line = _SMS_VERB.sub(r"\1\2", line)
        line = _PLUS.sub(" xplusx ", line)
        line_clauses: list[_Clause] = []
        pieces = _CLAUSE_END.split(line)
        for i in range(0, len(pieces), 2):
            words = _clause_words(pieces[i])
            end = pieces[i + 1] if i + 1 < len(pieces) else ""
            if words:
                line_clauses.append(_Clause(tuple(words), "?" in end and "!" not in end))
        line_words = [w for c in line_clauses for w in c.words]
        if _is_instruction(line_words):
            keyword = _sent_as_told(line_words)
            if not several and keyword is not None:
                # The whole reply is "STOP au 36111": the person did what the mention
                # says (a brand's message quoted back has other words around it).
                clauses.append(_Clause((keyword,), False))
            continue
        clauses.extend(line_clauses)
    return clauses


def _sent_as_told(words: list[str]) -> str | None:
    """The keyword of a line that is only a keyword sent to a number ("STOP au 36111",
    "STOP SMS au 36111"), else None."""
    if len(words) < 3 or words[0] not in _KEYWORD_WORDS:
        return None
    rest = words[1:]
    if rest[0] in ("sms", "pub"):
        rest = rest[1:]
    if len(rest) == 2 and rest[0] in _INSTRUCTION_TO and rest[1].isdigit():
        return words[0]
    return None


# --- matching ------------------------------------------------------------------------------

def _skips(words: tuple[str, ...], table: dict[str, tuple[tuple[str, ...], ...]],
           names: frozenset[str]) -> list[int]:
    """For each position, the position after the fillers (numbers, names, the table's
    words) that start there; computed from the end, so one pass."""
    size = len(words)
    skip = list(range(size + 1))
    for position in range(size - 1, -1, -1):
        word = words[position]
        if word.isdigit() or word in names:
            skip[position] = skip[position + 1]
            continue
        for sequence in table.get(word, ()):
            if words[position:position + len(sequence)] == sequence:
                skip[position] = skip[position + len(sequence)]
                break
    return skip


class _Piece:
    """One piece of a clause being matched, with its filler skips precomputed."""

    __slots__ = ("bare_tail", "breaks", "names", "skip", "table", "tail", "words", "wordset")

    def __init__(self, words: tuple[str, ...], table: _Table, names: frozenset[str]) -> None:
        self.words = words
        self.wordset = frozenset(words)
        self.names = names
        self.skip = _skips(words, table.fillers, names)
        self.tail = _skips(words, table.tail, names)
        self.bare_tail: list[int] | None = None
        self.table = table
        self.breaks = table.breaks

    def ends_here(self, end: int, bare: bool = False) -> bool:
        """Whether a phrase ending at ``end`` ends the piece: only fillers, ``after`` and
        ``places`` words (not ``places`` after a bare keyword: ``bare``) follow, up to the
        end or to where a new sentence starts without punctuation ("STOP SENDING ME
        MESSAGES I DONT KNOW YOU")."""
        if bare:
            if self.bare_tail is None:
                self.bare_tail = _skips(self.words, self.table.bare_tail, self.names)
            after = self.bare_tail[end]
        else:
            after = self.tail[end]
        if after == len(self.words) or (
                after > 0 and _starting(self.words, after, self.breaks) > 0):
            return True
        return not bare and self._tails_end(end, after)

    def _tails_end(self, end: int, after: int) -> bool:
        """Whether the table's ``tails`` (up to three in a row, fillers between) run
        from ``after`` to the end of the piece or to a new sentence: "stop texting me you
        clowns", "vos messages publicitaires par SMS", "aus Ihrer Kundendatei"."""
        words = self.words
        firsts = self.table.tail_firsts
        frontier = {end, after}  # "you" is an ``after`` word, and starts "you clowns"
        for _ in range(_MAX_TAILS):
            following: set[int] = set()
            for position in frontier:
                if position >= len(words) or words[position] not in firsts:
                    continue
                for end in self.ends(self.table.tails, position):
                    skipped = self.tail[end]
                    if skipped == len(words) or _starting(words, skipped, self.breaks) > 0:
                        return True
                    if skipped > position:
                        following.add(skipped)
            frontier = following
            if not frontier:
                break
        return False

    def ends(self, seq: _Seq, start: int) -> set[int]:
        """Every position where ``seq`` may end when matched from ``start``."""
        positions = {start}
        words = self.words
        size = len(words)
        skip = self.skip
        for elem in seq:
            following: set[int] = set()
            for position in positions:
                skipped = skip[position]
                for at in (position,) if skipped == position else (position, skipped):
                    if isinstance(elem, str):
                        if at < size and (words[at] == elem or elem == _ANY):
                            following.add(at + 1)
                        continue
                    if elem.empty:
                        following.add(at)
                    if at < size:
                        for rest in elem.by_first.get(words[at], ()):
                            following |= self.ends(rest, at + 1) if rest else {at + 1}
                    for option in elem.others:
                        following |= self.ends(option, at)
            positions = following
            if not positions:
                break
        return positions


@dataclass(frozen=True, slots=True)
class _Found:
    kind: _Kind
    pattern: _Pattern
    clause: str




def _judge(pattern: _Pattern, piece: _Piece, start: int, question: bool,
           bare_ok: bool) -> _Kind | None:
    if pattern.keyword:  # plain words: compared at once
        size = len(pattern.seq)
        if piece.words[start:start + size] != pattern.seq:
            return None
        ends: Collection[int] = (start + size,)
    else:
        wordset = piece.wordset
        for need in pattern.needs:
            if need.isdisjoint(wordset):
                return None  # a word it requires is nowhere in the piece
        ends = piece.ends(pattern.seq, start)
        if not ends:
            return None
    full = any(piece.ends_here(end, pattern.keyword) for end in ends)
    if pattern.keyword:
        if not full or not bare_ok:
            return None
        if pattern.kind == "strict":
            return "strict"
        return "review" if question else "optout"
    if full or pattern.rest == "any":
        return pattern.kind
    if pattern.rest == "review" and pattern.kind == "optout":
        return "review"
    return None


#: How many ``tails`` may follow a phrase in a row ("messages promotionnels par SMS bande
#: d'escrocs").
_MAX_TAILS = 3

#: The longest negation the tables hold, in words ("do not want you to").
_NEGATION_REACH = 5


def _negated(before: tuple[str, ...], table: _Table) -> bool:
    """Whether a phrase found after ``before`` (the words of its piece before it) is
    negated: one of the table's ``negations`` within the last few words, not in a
    condition ("if you don't stop texting me": a threat, still a revocation)."""
    if not table.negations or not before:
        return False
    for start in range(max(0, len(before) - _NEGATION_REACH), len(before)):
        for sequence in table.negations.get(before[start], ()):
            if before[start:] == sequence:  # right before the phrase
                return not _contains(before, table.conditions)
    return False


def _contains(words: tuple[str, ...], sequences: tuple[tuple[str, ...], ...]) -> bool:
    return any(words[i:i + len(seq)] == seq for seq in sequences for i in range(len(words)))


def _match_piece(words: tuple[str, ...], question: bool, bare_ok: bool, table: _Table,
                 names: frozenset[str], keep_only: bool = False) -> _Found | None:
    """The strongest thing a piece says (see the module docstring); ``keep_only``: only
    whether it says the opposite of a revocation."""
    if (table.keep_triggers if keep_only else table.triggers).isdisjoint(words):
        return None
    piece = _Piece(words, table, names)
    first = piece.skip[0]
    if first == len(words):
        return None
    starts = [first]
    lead_ends = piece.ends(table.leads, first)
    if first:
        lead_ends = lead_ends | piece.ends(table.leads, 0)
    for end in sorted(lead_ends):
        if end < len(words) and piece.skip[end] not in starts and piece.skip[end] < len(words):
            starts.append(piece.skip[end])
    clause = " ".join(words)
    best: _Found | None = None
    for start in starts:
        for pattern in table.anchored.get(words[start], ()):
            if best is not None and _RANK[pattern.kind] <= _RANK[best.kind]:
                break  # sorted strongest first: nothing further can do better
            if keep_only and pattern.kind != "keep":
                break
            kind = _judge(pattern, piece, start, question, bare_ok)
            if kind is not None and (best is None or _RANK[kind] > _RANK[best.kind]):
                best = _Found(kind, pattern, clause)
    if keep_only or (best is not None and best.kind in ("keep", "optout")):
        return best
    for position in range(first + 1, len(words)):
        for pattern in table.anywhere.get(words[position], ()):
            kind = _judge(pattern, piece, position, False, False)
            if kind not in ("optout", "review"):
                continue
            before = words[first:position]
            if _is_instruction(list(words[first:position + 1])):
                continue
            if _negated(before, table):
                continue  # "I don't want to unsubscribe", "don't leave me alone with this"
            if kind == "optout" and _contains(before, table.doubts):
                kind = "review"
            if kind == "optout":
                # "Mio figlio ha scritto STOP per sbaglio": a STOP taken back further in
                return _kept(piece, table, first, clause) or _Found(kind, pattern, clause)
            if best is None:
                best = _Found(kind, pattern, clause)
    return best


def _kept(piece: _Piece, table: _Table, first: int, clause: str) -> _Found | None:
    """A ``keep`` pattern found anywhere in the piece (after its first word): it says the
    opposite of the opt-out found in it ("my son texted STOP by mistake")."""
    words = piece.words
    for position in range(first + 1, len(words)):
        for pattern in table.anywhere.get(words[position], ()):
            if pattern.kind != "keep":
                break  # sorted strongest first: no keep further on
            if _judge(pattern, piece, position, False, False) == "keep":
                return _Found("keep", pattern, clause)
    return None


def _starting(words: tuple[str, ...], i: int,
              table: dict[str, tuple[tuple[str, ...], ...]]) -> int:
    """How many words of one of the table's sequences start at i (0: none)."""
    for sequence in table.get(words[i], ()):
        if words[i:i + len(sequence)] == sequence:
            return len(sequence)
    return 0


def _pieces(clause: _Clause, table: _Table) -> list[tuple[tuple[str, ...], bool, bool]]:
    """(words, a question, a bare keyword may stand here) for each piece of a clause.

    A clause is cut at its "or"/"but" words and at "and" (all dropped; the piece before
    "and" may not be a bare keyword: "Stop and Shop"). A clause ending with "?" makes
    every piece a question ("Stop ou encore ?").
    """
    out: list[tuple[tuple[str, ...], bool, bool]] = []
    current: list[str] = []
    words = clause.words
    i = 0
    while i < len(words):
        cut = _starting(words, i, table.splits)
        if cut:
            if current:
                out.append((tuple(current), clause.question, True))
            current = []
            i += cut
            continue
        cut = _starting(words, i, table.ands)
        if cut and _skips(words[i + cut:], table.tail, frozenset())[0] == len(words) - i - cut:
            i += cut  # "Stop and thanks": nothing but fillers after it
            continue
        if cut:
            if current:
                out.append((tuple(current), clause.question, False))
            current = []
            i += cut
            continue
        current.append(words[i])
        i += 1
    if current:
        out.append((tuple(current), clause.question, True))
    return out


@dataclass(frozen=True, slots=True)
class _Verdict:
    optout: _Found | None
    review: _Found | None
    keep: bool
    other: bool = False  # a piece matched a "none" pattern: another sense


def _read(clauses: list[_Clause], table: _Table, names: frozenset[str],
          keep_only: bool = False, aliases: bool = True) -> _Verdict:
    optout: _Found | None = None
    review: _Found | None = None
    keep = other = False
    for clause in clauses:
        words = _aliased(clause.words, table) if aliases else clause.words
        if (table.keep_triggers if keep_only else table.triggers).isdisjoint(words):
            continue
        pieces = _pieces(_Clause(words, clause.question) if words is not clause.words
                         else clause, table)
        for words, question, bare_ok in pieces:
            found = _match_piece(words, question, bare_ok, table, names, keep_only)
            if found is None:
                continue
            if found.kind == "strict" and (len(clauses) > 1 or len(pieces) > 1):
                continue  # "Cancel" answers appointments too: only a reply of its own
            if found.kind == "keep":
                keep = True
            elif found.kind == "none":
                other = True
            elif found.kind == "optout":
                optout = optout or found
            elif found.kind in ("review", "strict"):
                review = review or found
    return _Verdict(optout, review, keep, other)


def _about_a_purchase(clauses: list[_Clause], keyword_clause: str) -> bool:
    """Whether another clause of the reply talks of buying or an order: then a bare
    keyword is an exclamation as likely as an opt-out ("Stop, that price is insane,
    ordering now", "Arrêtez tout ! J'ai mis la mauvaise adresse sur la commande"); not a
    clause that threatens ("se mandarem mais uma vou à polícia")."""
    return any(" ".join(clause.words) != keyword_clause
               and not _PURCHASE.isdisjoint(clause.words)
               and _THREAT.isdisjoint(clause.words)  # "vou à polícia": a threat
               for clause in clauses)


def _laughing(text: str, clauses: list[_Clause]) -> bool:
    """Whether the reply laughs or delights ("haha", "jaja", "kkkk", "mdr", 😂, 😍)."""
    return any(emoji in text for emoji in LAUGHTER_EMOJI) or any(
        not _LAUGHTER.isdisjoint(clause.words) for clause in clauses)


def _typo_keyword(words: tuple[str, ...], order: list[str]) -> tuple[str, str] | None:
    """(language, keyword) when a reply of one word is one typo from a one-word keyword
    of four letters or more: two letters swapped, one dropped or one doubled ("abmleden",
    "bsta", "siar", "bja"), or b and v confused ("vaja"); never another substitution
    ("anmelden" is not "abmelden", "pasta" is not "basta"), nor a word a table knows."""
    if len(words) != 1 or words[0] in _KNOWN or not words[0].isalpha():
        return None
    word = words[0]
    for lang in order:
        for keyword in _TYPO_KEYWORDS[lang]:
            if abs(len(keyword) - len(word)) > 1 or not _one_edit(word, keyword):
                continue
            if len(word) == len(keyword) and sorted(word) != sorted(keyword) \
                    and {word[0], keyword[0]} != {"b", "v"}:
                continue  # a substitution: only b/v ("anmelden" is not "abmelden")
            return lang, keyword
    return None


def _has_stop_emoji(text: str) -> bool:
    return any(emoji in text for emoji in STOP_EMOJI)


def _only_symbols(text: str) -> bool:
    return not any(unicodedata.category(char)[0] in "LN" for char in text)


def match_phrase(text: str, languages: Iterable[str] | None = None,
                 names: Iterable[str] = (),
                 scorer: ReplyScorer | None = REPLY_SCORER) -> PhraseMatch | None:
    """Whether ``text`` revokes consent (optout), may (review), or not (None).

    ``languages``: the tables to try, in order (default: all, English first);
    ``names``: words that may follow a keyword like "please" does (the brand, the
    shortcode's name); ``scorer``: the learned scorer asked where the tables find no
    opt-out and say nothing against one (rules.reply_scorer; default the shipped one,
    None: the tables alone). See the module docstring.
    """
    reading = read_reply(text, languages, names)
    found = reading.match
    if scorer is None or reading.veto or (found is not None and found.kind == "optout"):
        return found
    p = scorer.probability(reading.words, reading.question)
    if p >= scorer.optout_at:
        # The evidence says what decided: the probability, and the tables' review it
        # overruled (its pattern, cut short).
        evidence = f"scorer:{p:.2f}" if found is None else \
            f"scorer:{p:.2f} over review {found.pattern[:80]}"
        return PhraseMatch("optout", found.lang if found is not None else "*", evidence,
                           " ".join(reading.words))
    if found is None and p >= scorer.review_at:
        return PhraseMatch("review", "*", f"scorer:{p:.2f}", " ".join(reading.words))
    return found


@dataclass(frozen=True, slots=True)
class Reading:
    """What the tables make of a reply, before the scorer (:func:`read_reply`)."""

    match: PhraseMatch | None
    #: Why the tables say it is not an opt-out, whatever a scorer thinks: "keep" (the
    #: opposite of a revocation, or one taken back), "other" (another sense: "wrong
    #: number", "unsubscribe me from the emails"), "laugh", "purchase" (a bare keyword
    #: next to an order), "symbols" (no letters); "" when they say nothing against it.
    veto: str
    words: tuple[str, ...]  # the words read, quoted lines left out (reply_words)
    question: bool  # whether a clause asks


def reply_words(text: str) -> tuple[tuple[str, ...], bool]:
    """The words the tables read in a reply (folded, quoted lines left out, typos of
    "stop" mended) and whether a clause of it asks: what rules.reply_scorer scores."""
    clauses = _clauses(text[:_MAX_READ])
    return tuple(w for clause in clauses for w in clause.words), any(
        clause.question for clause in clauses)


def read_reply(text: str, languages: Iterable[str] | None = None,
               names: Iterable[str] = ()) -> Reading:
    """The tables' verdict on a reply (match_phrase without the scorer) and whether
    they said explicitly that it is not an opt-out (which the scorer may not overrule)."""
    text = text[:_MAX_READ]
    if _only_symbols(text):
        if _has_stop_emoji(text):
            return Reading(PhraseMatch("review", "*", "\U0001f6d1", text.strip()), "symbols",
                           (), False)
        return Reading(None, "symbols", (), False)
    clauses = _clauses(text)
    if not clauses:
        return Reading(None, "", (), False)
    name_words = frozenset(w for name in names for w in normalize_reply(name).split())
    order = list(languages) if languages is not None else list(_TABLES)
    unknown = [lang for lang in order if lang not in _TABLES]
    if unknown:
        raise ValueError(f"no phrase table for {unknown}; known: {sorted(_TABLES)}")
    whole = tuple(w for clause in clauses for w in clause.words)
    question = any(clause.question for clause in clauses)

    def reading(match: PhraseMatch | None, veto: str = "") -> Reading:
        return Reading(match, veto, whole, question)

    present = frozenset(whole)
    for lang in order:
        if whole in _TABLES[lang].strict and len(clauses) == 1:
            return reading(PhraseMatch("optout", lang, " ".join(whole).upper(), " ".join(whole)))
    typo = _typo_keyword(whole, order) if len(clauses) == 1 else None
    if typo is not None:
        kind: PhraseKind = "review" if clauses[0].question else "optout"
        return reading(PhraseMatch(kind, typo[0], typo[1].upper(), whole[0]))
    verdicts: list[tuple[str, _Verdict]] = []
    for position, lang in enumerate(order):
        table = _TABLES[lang]
        verdict = _read(clauses, table, name_words,
                        aliases=not table.aliases.keys().isdisjoint(present))
        verdicts.append((lang, verdict))
        if verdict.optout is not None:
            # An opt-out, unless some table finds the opposite (the others are only
            # asked that, which is cheap: their "keep" patterns).
            keep = any(v.keep for _, v in verdicts) or any(
                _read(clauses, _TABLES[other], name_words, keep_only=True,
                      aliases=not _TABLES[other].aliases.keys().isdisjoint(present)).keep
                for other in order[position + 1:])
            found = verdict.optout
            kind = "review" if keep else "optout"
            veto = "keep" if keep else ""
            if not keep and found.pattern.keyword and _about_a_purchase(clauses, found.clause):
                if _laughing(text, clauses):
                    # "haha stop it, those prices 😂": delight, not a revocation
                    return reading(None, "laugh")
                kind, veto = "review", "purchase"
            return reading(PhraseMatch(kind, lang, found.pattern.source, found.clause), veto)
    if any(verdict.keep for _, verdict in verdicts):
        return reading(None, "keep")  # "stop calling, text me instead": the opposite
    other = "other" if any(verdict.other for _, verdict in verdicts) else ""
    for lang, verdict in verdicts:
        if verdict.review is not None:
            return reading(PhraseMatch("review", lang, verdict.review.pattern.source,
                                       verdict.review.clause), other)
    return reading(None, other)
