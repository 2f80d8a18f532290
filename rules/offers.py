"""Does a message carry an offer? Then it is a promotion, whatever else it says.

CTIA's messaging principles and the EU e-privacy rules judge a message by its
marketing content: an order notice, a statement alert or a one-time code that also
offers a discount, free months, bonus points or a loan is a promotion, and must not
reach a recipient who opted out. :func:`find_offer` answers the offer cue it found
("N% off", "promo code", "gratis"...) or None; rules.classify makes a found offer
decide ``promotional`` (``detector:offer``) before configured rules and the other
detectors (see there for the exceptions).

Cues are per language below (EN FR ES DE IT NL PT), written naturally and matched
on the words rules.detectors makes of a message: folded (case and accents), links,
amounts, percentages, dates and phone numbers masked (``qpct`` is "20%" or
"20 %", ``qdisc`` a cut written "-20%", ``qmoney`` an amount with a currency). An
entry of several words is a phrase: its words must follow each other.

What is an offer here -- something the recipient is invited to take, now or later:
a price cut (``qdisc``, "N% off", "N% de réduction", "Rabatt", "sconto",
"korting"...), a promo, discount, coupon or voucher code, something free or given
("3 months free", "livraison offerte", "kostenlos", "gratuito"), a sale ("soldes",
"rebajas", "saldi", "uitverkoop", "promoção"), a special offer or deal, an upgrade
to take, a credit to apply for ("pre-approved", "apply now"), bonus points or
cashback ("2x points", "punti doppi"), multi-buys ("buy one get one", "2x1",
"1+1 gratis").

What is not (decided on purpose; each has a test):

* generic marketing flavour -- a link, an emoji, "shop", "weekend", "new" -- is
  left to the scoring in rules.detectors: it must not turn a one-time code or a
  delivery notice into a promotion;
* "free" in services already bought or in phone numbers: "free cancellation",
  "annulation gratuite", "kostenlose Stornierung", "feel free", "toll-free",
  "numéro gratuit", "numero verde", "FreeMsg", "free of charge" for a repair;
* a code of digits: a one-time code, unless a promo word names it ("promo code 1234");
* the Spanish verb "sale" (leaves: "el tren sale a las 10"): "sale" counts only in
  English phrases ("on sale", "flash sale", "sale ends"...);
* the Dutch/German "offerte" (a quote: "uw offerte") and a possessive "your offer"
  ("votre offre", "la tua offerta", "tu oferta": the plan or bid the recipient
  already has, e.g. a telecom plan or a marketplace bid), while "offerte" alone is
  Italian "offers" and counts;
* points held ("your points balance: 1 200") are a statement; points offered
  ("earn 2x points", "double points", "bonus points") are an offer;
* "remise" alone is a hand-over in French ("remise des clés"); it counts with an
  amount or a percentage.

Adding a cue: put it under its language, then run tests/rules/ (test_offers.py
prints precision and recall on tests/rules/offers.jsonl and corpus.jsonl).
"""

from __future__ import annotations

from collections.abc import Iterable

from rules.detectors import fold_words, words

__all__ = ["NOT_OFFER", "NOT_OFFERS", "OFFER_CUES", "find_offer", "find_offer_words",
           "without_false_friends"]

Table = dict[str, tuple[str, ...]]

# Offer cues by language. Placeholders: qpct "20%", qdisc "-20%", qmoney "10 €".
OFFER_CUES: Table = {
    "*": (
        "qdisc", "qpct off", "qmoney off", "black friday", "cyber monday", "cashback",
        "2x1", "3x2", "2for1", "bogo", "2x points", "3x points", "4x points", "5x points",
        "10x points", "x2 points", "points x2", "x3 points", "points x3", "promo", "promocode",
        "coupon", "coupons", "voucher", "vouchers",
    ),
    "en": (
        "discount", "discounts", "discounted", "promo code", "discount code", "coupon code",
        "voucher code", "promotion", "promotional", "free", "for free", "on sale", "flash sale",
        "summer sale", "winter sale", "spring sale", "big sale", "mega sale", "clearance sale",
        "sale now", "sale ends", "sale starts", "sale is on", "sale on", "our sale", "the sale",
        "sale up to", "end of season sale", "special offer", "exclusive offer",
        "limited offer", "limited time offer", "limited-time offer", "offer ends",
        "offer valid", "offer expires", "this offer", "our offer", "offers",
        "welcome offer", "introductory offer", "trial offer", "deal", "deals", "save qpct",
        "save qmoney", "save up to", "up to qpct off", "half price", "half-price",
        "buy one get one", "buy 1 get 1", "2 for 1", "two for one", "3 for 2", "upgrade now",
        "upgrade today", "upgrade to", "upgrade your plan", "upgrade your phone",
        "upgrade your tariff", "free upgrade", "upgrade offer",
        "eligible for an upgrade", "pre-approved", "preapproved", "pre-qualified",
        "prequalified", "apply now", "apply today", "double points", "triple points",
        "bonus points", "extra points", "earn points", "earn double", "earn triple",
        "earn rewards", "bonus rewards", "double rewards", "free trial", "free gift",
        "free shipping", "free delivery",
        "half the price", "half the usual price", "on us", "complimentary", "at no extra cost",
        "at no cost", "no extra charge", "on your next order", "on your next purchase",
    ),
    "fr": (
        "réduction", "réductions", "code promo", "code réduction", "bon de réduction",
        "bon d'achat", "qpct de remise", "remise de qpct", "qmoney de remise", "remise de qmoney",
        "remise immédiate", "remise exceptionnelle", "qpct sur", "soldes", "promotion",
        "promotions", "promotionnel", "promotionnelle", "vente privée", "ventes privées",
        "déstockage", "bon plan", "bons plans", "gratuit", "gratuite", "gratuits", "gratuites",
        "gratuitement", "offert", "offerte", "offerts", "offertes", "offre spéciale",
        "offre exclusive", "offre limitée", "offre valable", "offre de bienvenue",
        "offre réservée", "offre promotionnelle", "cette offre", "nos offres", "offres",
        "offre du moment", "profitez de l'offre", "moitié prix", "points doublés", "double points",
        "points bonus", "points en plus",
        "pré-approuvé", "pré-accordé", "préaccordé", "préapprouvé", "économisez",
        "jusqu'à qpct", "jusqu'à qdisc",
        "sans frais", "sans supplément", "sans frais supplémentaires", "c'est pour nous",
        "sur votre prochaine commande", "sur votre prochain achat", "moitié moins cher",
    ),
    "es": (
        "descuento", "descuentos", "dto", "código promocional", "código descuento",
        "código de descuento", "cupón", "cupones", "rebajas", "oferta", "ofertas",
        "promoción", "promociones", "promocional", "gran liquidación", "liquidación total",
        "chollo", "chollos", "gratis",
        "gratuito", "gratuita", "gratuitos", "regalo", "de regalo", "mitad de precio",
        "puntos dobles", "doble de puntos", "puntos extra", "gana puntos", "preaprobado",
        "preaprobada", "preconcedido", "preconcedida", "solicítalo ya", "solicita ahora",
        "solicítalo ahora", "ahorra", "hasta un qpct", "hasta el qpct", "qpct en todo",
            ),
    "de": (
        "rabatt", "rabatte", "rabattcode", "gutschein", "gutscheine", "gutscheincode",
        "aktionscode", "reduziert", "im sale", "sale bis", "angebot", "angebote", "sonderangebot",
        "sonderangebote", "aktion", "schnäppchen", "ausverkauf", "räumungsverkauf", "gratis",
        "kostenlos", "kostenlose", "kostenlosen", "geschenkt", "halber preis", "zum halben preis",
        "doppelte punkte", "bonuspunkte", "extrapunkte", "punkte doppelt", "vorab genehmigt",
        "vorgenehmigt", "jetzt beantragen", "sparen", "sparst", "jetzt sparen", "bis zu qpct",
        "qpct auf", "jetzt upgraden", "gratis dazu",
        "sin coste", "sin coste adicional", "sin cargo", "sin costo", "invita la casa",
        "en tu próxima compra", "en tu próximo pedido", "a mitad de precio",
        "ohne aufpreis", "ohne zusatzkosten", "geht auf uns", "auf ihre nächste bestellung",
        "auf den nächsten einkauf", "auf ihren nächsten einkauf", "auf deine nächste bestellung",
    ),
    "it": (
        "sconto", "sconti", "scontato", "scontata", "scontati", "codice sconto", "codice promo",
        "buono sconto", "saldi", "offerta", "offerte", "promozione", "promozioni", "svendita",
        "gratis", "gratuito", "gratuita", "gratuiti", "in omaggio", "omaggio", "metà prezzo",
        "punti doppi", "doppi punti", "punti extra", "punti bonus", "preapprovato",
        "pre-approvato", "preapprovata", "pre-approvata", "richiedilo ora", "richiedi ora",
        "risparmia", "fino al qpct", "qpct su tutto", "qpct sul", "qpct sulla", "qpct sui",
        "senza costi", "senza costi aggiuntivi", "te lo offriamo", "offriamo noi", "offre la casa",
        "sul prossimo acquisto", "sul prossimo ordine", "sul tuo prossimo ordine",
    ),
    "nl": (
        "korting", "kortingscode", "kortingsbon", "actiecode", "promotiecode", "waardebon",
        "uitverkoop", "opruiming", "aanbieding", "aanbiedingen", "gratis", "kosteloos",
        "gratis cadeau", "halve prijs", "dubbele punten", "extra punten",
        "bonuspunten", "vooraf goedgekeurd", "nu aanvragen", "vraag nu aan", "bespaar",
        "tot qpct", "qpct op", "in de sale", "sale tot", "offerte",
        "zonder meerprijs", "zonder extra kosten", "is van ons", "zijn van ons", "trakteren",
        "op je volgende aankoop",
        "op je volgende bestelling", "op uw volgende bestelling",
    ),
    "pt": (
        "desconto", "descontos", "código promocional", "código de desconto", "cupão", "cupom",
        "promoção", "promoções", "promocao", "promocional", "oferta", "ofertas", "saldos até",
        "em saldos", "liquidação total", "grátis", "gratuito", "gratuita", "portes grátis",
        "frete grátis", "metade do preço", "leve 3 pague 2", "leve 2 pague 1", "pontos a dobrar",
        "pontos em dobro", "dobro de pontos", "pontos extra", "ganhe pontos", "pré-aprovado",
        "pré-aprovada", "solicite já", "peça já", "contrate já", "poupe", "até qpct",
        "qpct em",
        "sem custos", "sem custos adicionais", "sem custo", "por nossa conta", "oferecemos",
        "na próxima compra", "na sua próxima compra", "na próxima encomenda",
    ),
}

# Phrases that are no offer although they hold a cue word: they are taken out of the
# message before the cues are looked for.
NOT_OFFERS: Table = {
    "en": (
        "free cancellation", "cancel for free", "cancel free", "cancellation is free",
        "feel free", "toll free", "toll-free", "free of charge", "free msg", "free message",
        "free text", "free sms", "free to", "hands-free", "sugar-free", "free up", "free space",
        "your offer", "offer was accepted", "offer has been accepted", "job offer",
        "the sale of", "sale of your", "sale completed", "offer was accepted", "upgrade to version",
        "upgraded to",
        "system upgrade", "network upgrade", "software upgrade", "upgrade works",
        "upgrade is scheduled", "your upgrade", "free parking", "deal with",
        "rely on us", "count on us", "depend on us", "complimentary breakfast",
        "complimentary wifi", "complimentary wi-fi", "your voucher", "voucher has been issued",
        "voucher was issued", "refund voucher", "compensation voucher", "cancel at no cost",
        "cancel at no extra cost",
    ),
    "fr": (
        "annulation gratuite", "annulation gratuitement", "annuler gratuitement",
        "appel gratuit", "numéro gratuit", "service gratuit", "sms gratuit", "message gratuit",
        "annulez gratuitement", "votre offre", "ton offre", "changement d'offre", "offre d'emploi",
        "soldes de vos",
        "soldes de tes", "stationnement gratuit", "parking gratuit",
        "annuler sans frais", "annulation sans frais", "modifier sans frais",
    ),
    "es": (
        "cancelación gratuita", "cancelación gratis", "cancelar gratis", "llamada gratuita",
        "llamada gratis", "número gratuito", "sms gratuito", "mensaje gratuito", "tu oferta",
        "su oferta", "oferta de empleo", "oferta de trabajo", "una oferta por tu",
        "una oferta de qmoney por", "han hecho una oferta",
        "aparcamiento gratuito", "parking gratuito",
        "cancelar sin coste", "cancelación sin coste", "cancelar sin cargo",
    ),
    "de": (
        "kostenlose stornierung", "kostenlos stornieren", "kostenfrei stornieren",
        "kostenlos anrufen", "kostenlose rufnummer",
        "uns kostenlos an", "kostenlos erreichbar", "kostenlose sms", "ihr angebot",
        "dein angebot", "angebot nr", "angebot wurde", "kostenlos parken",
        "ihre offerte", "die offerte",
        "kostenfrei stornieren", "ohne aufpreis stornieren",
    ),
    "it": (
        "cancellazione gratuita", "cancellazione gratis", "disdetta gratuita",
        "chiamata gratuita", "numero verde", "numero gratuito", "sms gratuito", "tua offerta",
        "sua offerta", "vostra offerta", "offerta di lavoro", "parcheggio gratuito",
        "cancellare senza costi", "disdire senza costi",
    ),
    "nl": (
        "gratis annuleren", "kosteloos annuleren", "gratis annulering", "gratis bellen",
        "gratis nummer", "bel gratis", "uw offerte", "je offerte", "jouw offerte", "de offerte",
        "offerte aanvraag", "gratis parkeren",
    ),
    "pt": (
        "cancelamento gratuito", "cancelamento grátis", "cancelar grátis", "chamada gratuita",
        "número gratuito", "linha gratuita", "sms gratuito", "a sua oferta", "sua oferta",
        "oferta de emprego", "estacionamento gratuito",
        "recebeu uma oferta", "uma oferta de qmoney pela",
        "cancelar sem custos", "cancelamento sem custos",
    ),
}

_PLACEHOLDER_NAMES = {"qpct": "N%", "qdisc": "-N%", "qmoney": "N€"}
_PLACEHOLDERS = frozenset({"qmoney", "qpct", "qdisc", "qurl", "qphone", "qtime", "qdate", "qref"})


def _shown(entry: str) -> str:
    """How a cue is named in a decision: its folded words, placeholders as "N%"..."""
    return " ".join(_PLACEHOLDER_NAMES.get(w, w) for w in fold_words(entry).split())


class _Phrases:
    """Single words by token; phrases (" a b ") by their longest non-placeholder word."""

    def __init__(self, tables: Iterable[Table]) -> None:
        self.words: dict[str, str] = {}
        self.phrases: dict[str, list[tuple[str, str]]] = {}
        for table in tables:
            for entries in table.values():
                for entry in entries:
                    folded = fold_words(entry).split()
                    if len(folded) == 1:
                        self.words.setdefault(folded[0], _shown(entry))
                        continue
                    ordinary = [w for w in folded if w not in _PLACEHOLDERS] or folded
                    key = max(ordinary, key=len)
                    self.phrases.setdefault(key, []).append(
                        (f" {' '.join(folded)} ", _shown(entry)))
        self.word_set = frozenset(self.words)
        self.keys = frozenset(self.phrases)

    def first(self, tokens: set[str], norm: str) -> str | None:
        """The cue that names the decision: a phrase before a word, then in sorted order
        (a set's order changes between processes; the name must not)."""
        for key in sorted(self.keys.intersection(tokens)):
            for phrase, shown in self.phrases[key]:
                if phrase in norm:
                    return shown
        words_found = self.word_set.intersection(tokens)
        return self.words[min(words_found)] if words_found else None

    def remove(self, tokens: set[str], norm: str, by: str) -> str:
        """``norm`` with the phrases found replaced by ``by``, the longest first (phrases
        may overlap: the order must not depend on a set's)."""
        found = [phrase for key in self.keys.intersection(tokens)
                 for phrase, _ in self.phrases[key] if phrase in norm]
        for phrase in sorted(found, key=lambda p: (-len(p), p)):
            norm = norm.replace(phrase, by)
        return norm


_CUES = _Phrases([OFFER_CUES])
_NOT = _Phrases([NOT_OFFERS])
if _NOT.words:  # a single word here would hide that word everywhere
    raise ValueError(f"rules.offers.NOT_OFFERS: single words {sorted(_NOT.words)}")


#: What a NOT_OFFERS phrase becomes: rules.detectors scores it as a transactional word
#: (a cancellation policy, a free phone number, a bid received belong to service messages).
NOT_OFFER = "qnotoffer"
_NOT_OFFER = f" {NOT_OFFER} "


def without_false_friends(tokens: list[str], norm: str) -> tuple[list[str], str]:
    """rules.detectors.words() of a message with its NOT_OFFERS phrases replaced by
    :data:`NOT_OFFER` (unchanged, the same objects, when it has none: the common case)."""
    if _NOT.keys.isdisjoint(tokens):
        return tokens, norm
    cleaned = _NOT.remove(set(tokens), norm, _NOT_OFFER)
    if cleaned is norm:
        return tokens, norm
    return cleaned.split(), cleaned


def find_offer(text: str) -> str | None:
    """The offer cue ``text`` carries ("N% off", "promo code", "gratis"...), or None."""
    return find_offer_words(*without_false_friends(*words(text)))


def find_offer_words(tokens: list[str], norm: str) -> str | None:
    """:func:`find_offer` on rules.detectors.words() of a message, false friends already
    taken out by :func:`without_false_friends`."""
    present = set(tokens)
    if _CUES.word_set.isdisjoint(present) and _CUES.keys.isdisjoint(present):
        return None  # most transactional messages: two set tests
    return _CUES.first(present, norm)
