"""Built-in detectors: is a message's wording transactional or promotional?

Used when neither the sender nor a configured rule decided. :func:`detect` answers
``(class, rule)`` or None when the text carries no evidence either way. Wording
tables are in rules.cues (EN, FR, ES, DE, IT, all matched case- and accent-folded).

How it decides, in order:

1. **Masking.** URLs, amounts with a currency, percentages, phone numbers, times,
   dates and "#123"/"n°123" references become placeholder words (``qurl``,
   ``qmoney``, ...), so that "129,90 €" or "01 23 45 67 89" is never taken for a
   code and "from qmoney" can be matched as a phrase.
2. **One-time codes** (``detector:otp``, transactional). A number of 4-8 digits (or
   "123 456", "12 34 56") with a code word within 12 words before or 6 after it
   (code, OTP, PIN, verification, mot de passe, código, Bestätigungscode, codice,
   TAN, ...), or anywhere in a message with secrecy wording ("do not share", "ne le
   partagez", "no lo compartas", "nicht weiter", "non condividerlo") or a short expiry
   ("expires in 10 minutes"). A temporary password ("mot de passe temporaire est
   7Kp4Qx") counts too. Codes with letters are never one-time codes here: "SAVE20"
   and "XMAS2024" are promo codes.
   Exception: when the only code word is the generic "code"/"código"/"codice" and the
   message speaks of a discount (a percentage, "-20%", réduction, Rabatt, sconto...)
   and has no secrecy wording, the number is a promo code ("présentez le code 2430
   en caisse: -20%") and the message goes on to scoring.
   A one-time code that mentions a shop or a purchase stays transactional: the code
   and its wording decide before any marketing word is looked at.
3. **Scoring.** Transactional words score 1 (order, parcel, appointment, balance,
   invoice, account...) or 2 (shipped, delivered, confirmed, received, refunded,
   password, "if this wasn't you"...). Marketing words score 1 (shop, new
   collection, gift, loyalty points, weekend, free...) or 2 (sale, discount, offer,
   soldes, Rabatt, sconto, free shipping, "from £9.99", "-30%", cart...), and an
   opt-out instruction ("STOP au 36173", "reply STOP") scores 3. An amount with a
   currency adds 1 to marketing unless money words (payment, balance, refund...) say
   it is a payment; a percentage adds 1 to marketing when no transactional word
   scored ("80% of your data used" is a notice); a link adds 1 to marketing when
   marketing already scored; an emoji adds 1 to marketing when nothing
   transactional scored (a parcel emoji does not tip a notice). The higher score wins
   (``detector:transactional`` or ``detector:marketing``); a tie at 1 (one generic
   word such as "shop" or an emoji against one transactional word; not a price) is a
   notice; any other tie goes to marketing,
   because a promotional message that slips through to an opted-out recipient is the
   failure stopgate exists to prevent; both scores at 0 is no decision (None).

Round 4 (shapes that carry over to new text, not sentences): a one-time code may
hold letters ("K7XQ2", "QX4-7PL": letters and digits alternating at least twice,
never a word-then-digits promo shape like "SAVE20"); a case reference glued to
letters or after "XX-" ("INC0048213", "SIN-3320917") is masked as ``qcase`` and is
notice wording; a service's own opt-out ("reply STOP to end updates") cancels the
opt-out's marketing score; a tier or status given ("statut Platine") scores 3 for
marketing and "only N days left" 1; and when nothing scored, a text with a time,
date or reference and no "!" is a notice (``detector:transactional``) rather than
no decision.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from rules import cues

__all__ = [
    "PROMOTIONAL", "TRANSACTIONAL", "VERDICTS", "detect", "detect_words", "fold", "fold_words",
    "words",
]

PROMOTIONAL = "promotional"
TRANSACTIONAL = "transactional"

_OTP = (TRANSACTIONAL, "detector:otp")
_TRANSACTIONAL = (TRANSACTIONAL, "detector:transactional")
_MARKETING = (PROMOTIONAL, "detector:marketing")
VERDICTS = (_OTP, _TRANSACTIONAL, _MARKETING)  # everything detect() can answer but None

_COMBINING = re.compile(r"[\u0300-\u036f]+")


def fold(text: str) -> str:
    """Lower case without accents ("Bestätigung" -> "bestatigung", "ß" -> "ss")."""
    if text.isascii():
        return text.lower()
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text.casefold()))


_WORD = re.compile(r"[a-z0-9]+")


def _fold_ascii(text: str) -> str:
    """Folded to ASCII: the five languages here lose nothing; € and £ become "$".

    (str.replace when needed: str.translate with a dict is five times slower.)
    """
    if text.isascii():
        return text.lower()
    text = text.casefold()
    if "€" in text:
        text = text.replace("€", " $")
    if "£" in text:
        text = text.replace("£", " $")
    if "\u2019" in text:  # typographic apostrophe
        text = text.replace("\u2019", "'")
    if "°" in text:
        text = text.replace("°", " ")  # "n°123"
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def fold_words(text: str) -> str:
    """The words of a text as the detectors see them: folded to ASCII, one space apart."""
    return " ".join(_WORD.findall(_fold_ascii(text)))


# --- masking -----------------------------------------------------------------------

# Links are found by their top-level domain ("https://" alone would cost a second scan).
_TLDS = ("com|net|org|info|biz|fr|es|de|it|eu|uk|co|io|ly|me|app|shop|store|link|at|ch|be|nl|pt"
         "|pl|us|ai|gl|gg|to|tv|xyz|online|site|club|example")
_URL_MARK = re.compile(rf"\.(?:{_TLDS})\b")
_NOT_SPACE = re.compile(r"\S*")
# Digit groups joined by one separator, with what may follow them: "1 245,32 $",
# "-50 %", "10:15", "9h30", "8-9am", "14.04", "01 23 45 67 89".
_NUMBER = re.compile(
    r"[0-9](?:[0-9]|[ .,:/h-](?=[0-9]))*"
    r"(?:\s?-?\s{0,2}(?:%|\$|euros?\b|eur\b|usd\b|gbp\b|chf\b|uhr\b|am\b|pm\b|h\b))?"
)
_CURRENCIES = ("$", "eur", "euro", "euros", "usd", "gbp", "chf")
_CURRENCY_BEFORE = ("$", "$ ", "eur ", "euro ", "euros ", "usd ", "gbp ", "chf ")
_TIME_SUFFIXES = ("h", "am", "pm", "uhr")
_REFERENCE_BEFORE = ("#", "# ", " n ", " n. ", " no ", " no. ", " nr ", " nr. ", " n.")
_DATE = re.compile(r"[0-9]{1,2}[./][0-9]{1,2}(?:[./][0-9]{2,4})?")
_MIN_PHONE_DIGITS = 9
_MIN_CASE_DIGITS = 5


def _digits(number: str) -> int:
    return len(number) - sum(map(number.count, " .,/-"))


def _mask_number(match: re.Match[str]) -> str:
    """A placeholder word for what a digit group is, or the group itself."""
    number = match.group()
    start = match.start()
    text = match.string
    if start and text[start - 1].isalnum():
        if (len(number) >= _MIN_CASE_DIGITS and number.isdigit()
                and text[start - 2: start].isalpha()):
            return f"{number} qcase "  # a reference: "inc0048213", "xr458812fr" (round 4)
        return number  # inside a word: "xmas2024", "b14"
    if (len(number) >= _MIN_CASE_DIGITS and text[start - 1: start] == "-"
            and text[start - 3: start - 1].isalpha() and number.isdigit()):
        return " qcase "  # a reference: "INC-44120", "SIN-3320917" (not "G-482913")
    if text.endswith(_CURRENCY_BEFORE, 0, start):
        return " qmoney "
    if number.isdigit():  # the common case: "7", "2024", "482913"
        if text.endswith(_REFERENCE_BEFORE, 0, start):
            return " qref "
        return " qphone " if len(number) >= _MIN_PHONE_DIGITS else number
    if not number[-1].isdigit():
        if number[-1] == "%":
            discount = "-" in number or text.endswith(("-", "- "), 0, start)
            return " qdisc " if discount else " qpct "
        unit = number.rsplit(None, 1)[-1].lstrip("-0123456789.,:/")
        if unit in _CURRENCIES:
            return " qmoney "
        if unit in _TIME_SUFFIXES:
            return " qtime "
    if ":" in number or "h" in number:
        return " qtime "
    if _DATE.fullmatch(number):
        return " qdate "
    if text.endswith(_REFERENCE_BEFORE, 0, start):
        return " qref "
    if _digits(number) >= _MIN_PHONE_DIGITS:
        return " qphone "
    return number


def _mask_urls(text: str) -> str:
    """Each link or bare domain ("shop.example/x") becomes "qurl"."""
    parts: list[str] = []
    done = 0
    for mark in _URL_MARK.finditer(text):
        if mark.start() < done:
            continue
        # Links hold no spaces: from the last space before the mark to the next one.
        start = max(done, text.rfind(" ", done, mark.start()) + 1,
                    text.rfind("\n", done, mark.start()) + 1)
        parts += (text[done:start], " qurl ")
        rest = _NOT_SPACE.match(text, mark.end())
        done = rest.end() if rest else mark.end()
    if not parts:
        return text
    parts.append(text[done:])
    return "".join(parts)


def _mask(folded: str) -> str:
    return _NUMBER.sub(_mask_number, _mask_urls(folded))


# --- tables --------------------------------------------------------------------------

_OTP_CUE = 1
_GENERIC_CUE = 2
_SECRECY = 4
_DISCOUNT = 8
_MONEY_CONTEXT = 16
_OPTOUT = 32

_Cue = tuple[int, int, int]  # (transactional weight, promotional weight, flags)
_PLACEHOLDERS = frozenset({
    "qmoney", "qpct", "qdisc", "qurl", "qphone", "qtime", "qdate", "qref", "qnotoffer", "qcase",
})


class _Table:
    """Single words by token; phrases by their longest word (rarer than their first)."""

    def __init__(self) -> None:
        self.words: dict[str, _Cue] = {}
        self.phrases: dict[str, list[tuple[str, _Cue]]] = {}

    def add(self, entries: Iterable[str], t: int = 0, p: int = 0, flags: int = 0) -> None:
        for entry in entries:
            words = fold_words(entry).split()
            if len(words) > 1:
                key = max((w for w in words if w not in _PLACEHOLDERS), key=len)
                self.phrases.setdefault(key, []).append((f" {' '.join(words)} ", (t, p, flags)))
            else:
                old = self.words.get(words[0], (0, 0, 0))
                self.words[words[0]] = (max(old[0], t), max(old[1], p), old[2] | flags)


def _build() -> _Table:
    table = _Table()
    for lang_table, t, p in (
        (cues.TRANSACTIONAL, 1, 0), (cues.TRANSACTIONAL_STRONG, 2, 0),
        (cues.PROMOTIONAL, 0, 1), (cues.PROMOTIONAL_STRONG, 0, 2),
    ):
        for entries in lang_table.values():
            table.add(entries, t=t, p=p)
    table.add(cues.OPTOUT_MENTION, p=3, flags=_OPTOUT)
    for entries in cues.NOTICE_EVENTS.values():
        table.add(entries, t=1)
    for entries in cues.PROMOTIONAL_EVENTS.values():
        table.add(entries, p=2)
    table.add(cues.OTP_CUES, flags=_OTP_CUE)
    table.add(cues.OTP_GENERIC_CUES, flags=_GENERIC_CUE)
    table.add(cues.SECRECY, flags=_SECRECY)
    table.add(cues.DISCOUNT, flags=_DISCOUNT)
    table.add(cues.MONEY_CONTEXT, flags=_MONEY_CONTEXT)
    table.add(("qdisc",), p=2, flags=_DISCOUNT)
    table.add(("qpct",), flags=_DISCOUNT)
    table.add(("qnotoffer",), t=1)  # a false friend of an offer (rules.offers.NOT_OFFERS)
    table.add(("qcase",), t=1)  # a case or ticket reference (round 4)
    return table


_TABLE = _build()
_WORDS = _TABLE.words
_WORD_SET = frozenset(_WORDS)
_PHRASES = _TABLE.phrases
_PHRASE_KEYS = frozenset(_PHRASES)
_CUE_WORDS = frozenset(w for w, cue in _WORDS.items() if cue[2] & (_OTP_CUE | _GENERIC_CUE))
_STRONG_CUE_WORDS = frozenset(w for w, cue in _WORDS.items() if cue[2] & _OTP_CUE)
_PHRASE_CUES = tuple(
    phrase for group in _PHRASES.values() for phrase, cue in group if cue[2] & _OTP_CUE
)
_PASSWORD_WORDS = frozenset(fold_words(w) for w in (
    "password", "passe", "contraseña", "passwort", "kennwort",
))

# Digit groups that may be a one-time code: "482913", "382 615", "66 31 09", "4417 22"
# (_is_one_time_code checks that they stand alone; a leading lookbehind here would
# stop the regex engine from skipping ahead to the next digit).
_CODE = re.compile(r"[0-9]{2,8}(?: [0-9]{2,4}){0,3}")
_CODE_DIGITS = range(4, 9)
_TEMPORARY_PASSWORD = re.compile(
    r" (?:password|passe|contrasena|passwort|kennwort)(?: [a-z]+){0,3}"
    r" (?=[a-z]*[0-9])(?=[0-9]*[a-z])[a-z0-9]{6,12} "
)
_SHORT_EXPIRY = re.compile(
    r" (?:expires?|expire|expira|caduca|scade|valable|valid|valido|valida|gultig|gueltig)"
    r"(?: [a-z]+){0,3} [0-9]{1,2} (?:min|mins|minute|minutes|minuten|minuti|minutos|minuto)"
    r"| [0-9]{1,2} (?:min|minuten) gultig "
)
_OPTOUT_SHORTCODE = re.compile(r" stop (?:(?:au|al|an|to|a|sms) )?[0-9]{3,6} ")
# Round 4 structures (rules over shapes, not sentences):
# a service opt-out: "reply STOP to end updates" stops a ticket's or a delivery's
# updates, not marketing;
_SERVICE_OPTOUT = re.compile(
    r" (?:stop|stopp|baja) (?:[a-z]+ ){0,6}?(?:updates?|avisos|aggiornamenti|atualizacoes|suivis"
    r"|meldingen|notifications?|alerts|alertas|avvisi|benachrichtigungen|notificacoes"
    r"|notificaciones|notifiche|statusupdates|tracking|sms de suivi) "
)
# a tier or status reached or given ("statut Platine", "Elite status", "Platin-Status");
_TIERS = ("elite|platinum|platine|platino|platin|platina|gold|goud|ouro|oro|silver|argent|plata"
          "|silber|argento|zilver|prata|diamond|diamant|diamante|vip|premium|black")
_TIER_WORDS = frozenset({"status", "statut", "nivel", "estatuto", "stufe", "level", "tier",
                         "niveau", "livello", "lid", "mitglied", "member"})
_TIER = re.compile(
    rf" (?:status|statut|nivel|estatuto|stufe|level|tier|niveau|livello) (?:{_TIERS}) "
    rf"| (?:{_TIERS}) (?:status|statut|stufe|level|tier|niveau|lid|mitglied|member) "
)
# so many days or hours left ("only 3 days left", "plus que 3 jours", "nur noch 3 Tage").
_LEFT = re.compile(
    r" (?:only|just|plus que|quedan|nur noch|noch|mancano|mancano solo|nog maar|faltam"
    r"|so faltam|restam) [0-9]+ (?:more )?(?:days?|jours?|dias?|tage?|giorni|giorno|dagen|dag"
    r"|hours|heures|horas|stunden|ore|uur) "
    r"| [0-9]+ (?:days|hours|jours|heures) (?:left|to go|remaining|restants) "
)
_PERIOD_WORDS = frozenset({"day", "days", "jour", "jours", "dia", "dias", "tag", "tage", "giorni",
                           "giorno", "dagen", "dag", "hours", "heures", "horas", "stunden", "ore",
                           "uur"})
# placeholders that place a service event (a time, a date, a reference number).
_SERVICE_MARKS = (" qtime ", " qdate ", " qref ", " qcase ")
_EMOJI = re.compile("[\u2600-\u27bf\u2b50\U0001f300-\U0001faff]")
_CUES_BEFORE, _CUES_AFTER = 12, 6
_LONG_WORD = 9


def words(text: str) -> tuple[list[str], str]:
    """The masked, folded words of ``text``, as a list and as one space-padded string.

    What every table here is matched against (and rules.offers'): computed once per
    message and handed to :func:`detect_words`.
    """
    tokens = _WORD.findall(_mask(_fold_ascii(text)))
    return tokens, f" {' '.join(tokens)} "


def detect(text: str) -> tuple[str, str] | None:
    """(class, rule) from the wording of ``text``; None when it says nothing either way."""
    return detect_words(*words(text), text)


def detect_words(tokens: list[str], norm: str, text: str) -> tuple[str, str] | None:
    """:func:`detect` on the :func:`words` of ``text`` (already computed by the caller)."""
    if not tokens:
        return None
    present = _WORD_SET.intersection(tokens)
    t_score = p_score = flags = optout = 0
    for word in present:
        t, p, f = _WORDS[word]
        t_score += t
        p_score += p
        flags |= f
        if f & _OPTOUT:
            optout += p
    for key in _PHRASE_KEYS.intersection(tokens):
        for phrase, (t, p, f) in _PHRASES[key]:
            if phrase in norm:
                t_score += t
                p_score += p
                flags |= f
                if f & _OPTOUT:
                    optout += p
    compound_cues: set[str] = set()
    for word in tokens:
        if len(word) < _LONG_WORD or word in present:
            continue
        if word.endswith(cues.OTP_CUE_SUFFIXES):
            if word.startswith(cues.PROMO_CODE_PREFIXES):
                p_score += 2
                flags |= _DISCOUNT
            else:
                compound_cues.add(word)
                flags |= _OTP_CUE
        elif word.endswith(cues.TRANSACTIONAL_SUFFIXES):
            t_score += 1
        elif word.endswith(cues.PROMOTIONAL_SUFFIXES):
            p_score += 1

    if flags & (_OTP_CUE | _GENERIC_CUE | _SECRECY) and _is_one_time_code(
        tokens, norm, flags, compound_cues
    ):
        return _OTP

    service_optout = False
    if flags & _OPTOUT or " stop " in norm:
        service_optout = _SERVICE_OPTOUT.search(norm) is not None
        if service_optout:  # "reply STOP to end updates": a notice's own opt-out
            p_score -= optout
            t_score += 1
        elif " stop " in norm and _OPTOUT_SHORTCODE.search(norm):
            p_score += 3
    if not _TIER_WORDS.isdisjoint(tokens) and _TIER.search(norm):
        p_score += 3  # a status given is a promotion's perk, whatever service words follow
    if not _PERIOD_WORDS.isdisjoint(tokens) and _LEFT.search(norm):
        p_score += 1
    priced = " qmoney " in norm and not flags & _MONEY_CONTEXT
    if priced:
        p_score += 1
    if not t_score and " qpct " in norm:
        p_score += 1  # "20% on everything"; but "80% of your data used" is a notice
    if p_score and " qurl " in norm:
        p_score += 1
    # An emoji is marketing's only when nothing transactional was said: a parcel emoji
    # must not tip a notice (issue 12).
    if not t_score and not text.isascii() and _EMOJI.search(text):
        p_score += 1
    if t_score > p_score or (t_score == p_score == 1 and not priced):
        # 1 to 1: one generic marketing word ("shop", "weekend") or an emoji against one
        # transactional word is a notice, not marketing (issue 12).
        return _TRANSACTIONAL
    if p_score:
        return _MARKETING
    if "!" not in text and any(mark in norm for mark in _SERVICE_MARKS):
        # Nothing marketing said, no exclamation, and a time, date or reference places a
        # service event: a notice in wording the tables do not know, not
        # policy.unclassified (round 4). ("Quiz night every Wednesday from 8pm!" is not.)
        return _TRANSACTIONAL
    return None


def _is_one_time_code(tokens: list[str], norm: str, flags: int, compound_cues: set[str]) -> bool:
    secrecy: bool | None = None
    for match in _CODE.finditer(norm):
        code = match.group()
        start, end = match.span()
        if (
            len(code) - code.count(" ") not in _CODE_DIGITS
            or norm[start - 1] != " " or norm[end] != " "  # part of a word
            or norm[start - 2].isdigit() or norm[end + 1: end + 2].isdigit()  # of a longer run
        ):
            continue
        if secrecy is None:
            secrecy = bool(flags & _SECRECY) or _SHORT_EXPIRY.search(norm) is not None
        if secrecy:
            return True
        index = norm.count(" ", 0, start) - 1
        window = tokens[max(0, index - _CUES_BEFORE): index + code.count(" ") + 1 + _CUES_AFTER]
        if _code_word_near(window, flags, compound_cues):
            return True
    # A temporary password: "mot de passe temporaire est 7kp4qx".
    if not _PASSWORD_WORDS.isdisjoint(tokens) and _TEMPORARY_PASSWORD.search(norm) is not None:
        return True
    return _has_letter_code(tokens, norm, flags, compound_cues, secrecy)


_MIXED = re.compile(r"[a-z]+|[0-9]+")
_PROMO_SHAPE = re.compile(r"[a-z]{3,}[0-9]{1,4}")  # "save20", "xmas2024", "volt1"


def _code_shape(token: str) -> bool:
    """A code with letters: letters and digits alternating at least twice ("k7xq2", "4k9p2m")."""
    return (
        4 <= len(token) <= 10 and not token.isalpha() and not token.isdigit()
        and len(_MIXED.findall(token)) >= 3 and _PROMO_SHAPE.fullmatch(token) is None
    )


def _has_letter_code(
    tokens: list[str], norm: str, flags: int, compound_cues: set[str], secrecy: bool | None
) -> bool:
    """A one-time code with letters ("Steam Guard code: K7XQ2", "QX4-7PL") near a code word.

    Like a digit code: secrecy or a short expiry anywhere, a code word (OTP, PIN,
    verification...) near it, or a generic "code" near it in a message not about a
    discount. Promo-code shapes (a word then digits: "SAVE20") are never taken.
    """
    for index, token in enumerate(tokens):
        if token.isalpha() or token.isdigit() or token in _PLACEHOLDERS:
            continue
        shaped = _code_shape(token)
        if not shaped and index + 1 < len(tokens) and len(token) <= 5:
            after = tokens[index + 1]  # "qx4 7pl" from "QX4-7PL"
            shaped = (len(after) <= 5 and not after.isalpha()
                      and _code_shape(token + after) and _PROMO_SHAPE.fullmatch(token) is None)
        if not shaped:
            continue
        if secrecy is None:
            secrecy = bool(flags & _SECRECY) or _SHORT_EXPIRY.search(norm) is not None
        if secrecy:
            return True
        window = tokens[max(0, index - _CUES_BEFORE): index + 1 + _CUES_AFTER]
        if _code_word_near(window, flags, compound_cues):
            return True
    return False


def _code_word_near(window: list[str], flags: int, compound_cues: set[str]) -> bool:
    """Whether the words around a code call it one: a strong code word (OTP, PIN,
    verification...) or phrase, or only a generic "code" in a message not about a
    discount."""
    if not _STRONG_CUE_WORDS.isdisjoint(window) or not compound_cues.isdisjoint(window):
        return True
    around = f" {' '.join(window)} "
    if any(phrase in around for phrase in _PHRASE_CUES):
        return True
    return not flags & _DISCOUNT and not _CUE_WORDS.isdisjoint(window)
