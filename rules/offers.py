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

Offers made of ordinary words are told by how the words stand together
(:data:`OFFER_STRUCTURES`, regexes on the same masked words, each tried only when
its gate words are in the message): a percentage next to a credit's rate, "X
instead of Y" prices, add/switch/upgrade with a price, "N more a month", "N%
cheaper", earn/collect + points or an amount, spend-to-get, a reward on the next
order, eligible for a card or loan, a credit limit that can be raised,
instalments, refer-a-friend rewards, early or presale access, free months as a
gift, "try it for 30 days"; and (round 3) rewards held that the recipient is
invited to use ("spend them by Sunday", "löse es bis ... ein") or that expire with
a verb of using them, "get N extra credits", a percentage or a gift given to the
recipient ("te da un 10%", "ti regala una lezione"), an extra "from" a price at
check-in, an extra amount for a price ("10 GB extra für 5 €"), a price for the
first month, a warranty or cover extended for a price. A table cue names the
decision before a structure.

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
  amount or a percentage;
* a free trial that ends and is then charged ("your free trial ends on 3 April")
  is a notice: its "free" word is made a false friend (:func:`without_false_friends`);
* a rate on something the recipient already has ("your loan rate will change to
  5.1%") is a notice: the rate-word structure needs a credit word not preceded by
  a possessive, and neither rate structure stands when the rate changes as the
  contract says ("will change to 24.9% APR as described", "passera à 19,8 % TAEG
  comme prévu au contrat"); "next bill" and "the next days" are not a next order;
* a points or credit balance alone is a statement; so is a credit card that
  expires, or a reward already redeemed.

Adding a cue: put it under its language, then run tests/rules/ (test_offers.py
prints precision and recall on tests/rules/offers.jsonl and corpus.jsonl).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rules.detectors import fold_words, words

__all__ = ["NOT_OFFER", "NOT_OFFERS", "OFFER_CUES", "OFFER_STRUCTURES", "find_offer",
           "find_offer_words", "without_false_friends"]

Table = dict[str, tuple[str, ...]]

# Offer cues by language. Placeholders: qpct "20%", qdisc "-20%", qmoney "10 €".
OFFER_CUES: Table = {
    "*": (
        "qdisc", "qpct off", "qmoney off", "black friday", "cyber monday", "cashback",
        "2x1", "3x2", "2for1", "bogo", "2x points", "3x points", "4x points", "5x points",
        "10x points", "x2 points", "points x2", "x3 points", "points x3", "promo", "promocode",
        "coupon", "coupons", "voucher", "vouchers", "private sale", "venta privada",
        "special price", "sonderpreis", "prix spécial", "precio especial", "prezzo speciale",
        "speciale prijs", "preço especial",
        "vendita privata", "besloten verkoop", "venda privada",
    ),
    "en": (
        "collect points", "collect extra points", "collect stamps", "collect rewards",
        "collect cashback",
        "qpct on balance transfers", "interest-free", "interest free", "0 interest",
        "exclusive access", "vip access", "before everyone else", "before anyone else", "pay in 3",
        "qmoney welcome bonus", "qmoney bonus",
        "cash back", "no annual fee", "qpct on purchases", "qpct cash back", "qpct back on",
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
        "rabais", "ristourne", "sans intérêts", "sans frais de dossier", "taux préférentiel",
        "accès exclusif", "accès prioritaire", "avant tout le monde", "qmoney de prime",
        "prime de bienvenue", "en 3 fois", "en 4 fois",
        "sans cotisation", "qpct sur vos achats", "qpct remboursés", "qpct de cashback",
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
        "rebaja", "bonificación", "sin intereses", "tipo preferente", "acceso exclusivo",
        "acceso prioritario", "antes de la venta", "antes que nadie", "qmoney de bonificación",
        "qmoney de regalo",
        "sin comisiones", "sin cuota anual", "qpct de devolución", "qpct de reembolso",
        "descuento", "descuentos", "dto", "código promocional", "código descuento",
        "código de descuento", "cupón", "cupones", "rebajas", "oferta", "ofertas",
        "promoción", "promociones", "promocional", "gran liquidación", "liquidación total",
        "chollo", "chollos", "gratis",
        "gratuito", "gratuita", "gratuitos", "regalo", "de regalo", "mitad de precio",
        "puntos dobles", "doble de puntos", "puntos extra", "gana puntos", "preaprobado",
        "preaprobada", "preconcedido", "preconcedida", "solicítalo ya", "solicita ahora",
        "solicítalo ahora", "ahorra", "hasta un qpct", "hasta el qpct", "qpct en todo",
        "sin coste", "sin coste adicional", "sin cargo", "sin costo", "invita la casa",
        "en tu próxima compra", "en tu próximo pedido", "a mitad de precio",
    ),
    "de": (
        "ermäßigung", "ermäßigt", "vergünstigung", "vergünstigt", "preisnachlass", "nachlass",
        "ohne zinsen", "zinsfrei", "zinslos", "vorzugszins", "exklusiver zugang",
        "vor dem verkaufsstart", "offiziellen verkaufsstart", "qmoney prämie", "qmoney bonus",
        "willkommensbonus",
        "ohne jahresgebühr", "ohne grundgebühr", "ohne kosten", "fach punkte", "extra punkte",
        "qpct zurück",
        "rabatt", "rabatte", "rabattcode", "gutschein", "gutscheine", "gutscheincode",
        "aktionscode", "reduziert", "im sale", "sale bis", "angebot", "angebote", "sonderangebot",
        "sonderangebote", "aktion", "schnäppchen", "ausverkauf", "räumungsverkauf", "gratis",
        "kostenlos", "kostenlose", "kostenlosen", "geschenkt", "halber preis", "zum halben preis",
        "doppelte punkte", "bonuspunkte", "extrapunkte", "punkte doppelt", "vorab genehmigt",
        "vorgenehmigt", "jetzt beantragen", "sparen", "sparst", "jetzt sparen", "bis zu qpct",
        "qpct auf", "jetzt upgraden", "gratis dazu",
        "ohne aufpreis", "ohne zusatzkosten", "geht auf uns", "auf ihre nächste bestellung",
        "auf den nächsten einkauf", "auf ihren nächsten einkauf", "auf deine nächste bestellung",
    ),
    "it": (
        "ribasso", "senza interessi", "tasso agevolato", "interessi zero", "accesso esclusivo",
        "accesso prioritario", "in anteprima", "prima di tutti", "qmoney di bonus",
        "bonus di benvenuto",
        "canone zero", "senza canone", "zero commissioni", "tasso zero", "qpct di cashback",
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
        "prijsvoordeel", "voordeliger", "zonder rente", "renteloos", "exclusieve toegang",
        "eerder dan iedereen", "voor iedereen uit", "qmoney bonus", "welkomstbonus",
        "zonder jaarlijkse kosten", "geen jaarlijkse kosten", "qpct terug",
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
        "abatimento", "sem juros", "taxa bonificada", "acesso exclusivo", "acesso prioritário",
        "antes de todos", "qmoney de bónus", "bónus de boas-vindas",
        "sem anuidade", "qpct de volta", "anuidade zero",
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
        "vouchers will be sent", "voucher will be sent", "your vouchers", "you've collected",
        "you have collected", "you collected",
        "free cancellation", "cancel for free", "cancel free", "cancellation is free",
        "offer on your listing", "offer for your listing", "offer on your item",
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
        "cancel at no extra cost", "your e-voucher", "voucher is attached", "voucher attached",
    ),
    "fr": (
        "annulation gratuite", "annulation gratuitement", "annuler gratuitement",
        "appel gratuit", "numéro gratuit", "service gratuit", "sms gratuit", "message gratuit",
        "annulez gratuitement", "offre sur votre annonce", "offre pour votre annonce",
        "votre offre", "ton offre", "changement d'offre", "offre d'emploi",
        "soldes de vos",
        "soldes de tes", "stationnement gratuit", "parking gratuit",
        "annuler sans frais", "annulation sans frais", "modifier sans frais",
    ),
    "es": (
        "oferta por tu anuncio", "oferta en tu anuncio", "oferta para tu anuncio",
        "cancelación gratuita", "cancelación gratis", "cancelar gratis", "llamada gratuita",
        "llamada gratis", "número gratuito", "sms gratuito", "mensaje gratuito", "tu oferta",
        "su oferta", "oferta de empleo", "oferta de trabajo", "una oferta por tu",
        "una oferta de qmoney por", "han hecho una oferta",
        "aparcamiento gratuito", "parking gratuito",
        "cancelar sin coste", "cancelación sin coste", "cancelar sin cargo",
    ),
    "de": (
        "ohne kosten stornieren", "ohne kosten storniert", "ohne kosten kündigen",
        "kostenlose stornierung", "kostenlos stornieren", "kostenfrei stornieren",
        "kostenlos anrufen", "kostenlose rufnummer",
        "uns kostenlos an", "kostenlos erreichbar", "kostenlose sms", "ihr angebot",
        "dein angebot", "angebot nr", "angebot wurde", "kostenlos parken",
        "ihre offerte", "die offerte", "angebot fur deine anzeige", "angebot zu deiner anzeige",
        "kostenfrei stornieren", "ohne aufpreis stornieren",
    ),
    "it": (
        "cancellazione gratuita", "cancellazione gratis", "disdetta gratuita",
        "chiamata gratuita", "numero verde", "numero gratuito", "sms gratuito", "tua offerta",
        "sua offerta", "vostra offerta", "offerta di lavoro", "parcheggio gratuito",
        "offerta per il tuo annuncio", "offerta sul tuo annuncio", "offerta per il tuo oggetto",
        "cancellare senza costi", "disdire senza costi",
    ),
    "nl": (
        "gratis annuleren", "kosteloos annuleren", "gratis annulering", "gratis bellen",
        "gratis nummer", "bel gratis", "bod op je advertentie",
        "uw offerte", "je offerte", "jouw offerte", "de offerte",
        "offerte aanvraag", "gratis parkeren",
    ),
    "pt": (
        "oferta para o seu anuncio", "oferta no seu anuncio",
        "cancelamento gratuito", "cancelamento grátis", "cancelar grátis", "chamada gratuita",
        "número gratuito", "linha gratuita", "sms gratuito", "a sua oferta", "sua oferta",
        "oferta de emprego", "estacionamento gratuito",
        "recebeu uma oferta", "uma oferta de qmoney pela",
        "cancelar sem custos", "cancelamento sem custos",
    ),
}

_PLACEHOLDER_NAMES = {"qpct": "N%", "qdisc": "-N%", "qmoney": "N€"}
_PLACEHOLDERS = frozenset({"qmoney", "qpct", "qdisc", "qurl", "qphone", "qtime", "qdate", "qref",
                           "qcase"})


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


# --- offers as structures ------------------------------------------------------------
#
# Offers the word tables cannot name because their words are ordinary ("add", "earn",
# "instead of", "APR"): what makes them an offer is how the words stand together.
# Each structure is a regex on the masked, folded words (one space apart, padded), and
# is only tried when each of its gates has a word in the message (most messages open
# none: one set intersection), then stands unless its "unless" regex is found too.

_W = r"(?:[a-z0-9]+ )"  # any one word and the space after it


def _keys(entries: Iterable[str]) -> str:
    """The longest word of each phrase: gate words for a structure made of phrases."""
    return " ".join(max(fold_words(e).split(), key=len) for e in entries)


def _alt(*entries: str) -> str:
    """A regex alternation of folded phrases ("au lieu de" -> "au lieu de")."""
    return "(?:" + "|".join(sorted({re.escape(fold_words(e)) for e in entries},
                                   key=len, reverse=True)) + ")"


# Legal names of a credit's rate: a percentage next to one is a credit offer.
_RATE_TERMS = ("apr", "taeg", "tae", "tin", "tan", "jahreszins", "effektivem jahreszins",
               "eff zins", "sollzins", "effektiver jahreszins", "eff jahreszins")
# Plainer rate words: they need a credit word in the message too.
_RATE_WORDS = ("rate", "interest", "taux", "tasso", "interes", "zins", "zinsen", "rente",
               "juros", "tipo")
_CREDIT_WORDS = ("loan", "loans", "borrow", "credit", "financing", "finance", "pret", "prets",
                 "financement", "credito", "prestamo", "financiacion", "kredit", "kredite",
                 "finanzierung", "prestito", "finanziamento", "lening", "lenen", "krediet",
                 "financiering", "emprestimo", "financiamento")
_POSSESSIVES = ("your", "votre", "ton", "tu", "su", "ihr", "ihre", "ihren", "dein", "deine",
                "tuo", "suo", "je", "uw", "seu", "sua", "o seu", "o teu")
_INSTEAD = ("instead of", "rather than", "au lieu de", "en lugar de", "en vez de", "statt",
            "anstatt", "anziche", "invece di", "in plaats van", "em vez de", "ao inves de")
_MONTH = ("month", "mo", "mois", "mes", "monat", "monatlich", "mese", "maand", "mes")
_MORE = ("more", "extra", "de plus", "en plus", "mas", "de mas", "mehr", "in piu", "meer",
         "a mais", "mais", "adicionais")
_LESS = ("less", "de moins", "en moins", "menos", "de menos", "weniger", "in meno", "minder",
         "a menos")
_CHEAPER = ("cheaper", "moins cher", "mas barato", "mas barata", "gunstiger", "billiger",
            "piu economico", "in meno", "goedkoper", "voordeel", "mais barato", "mais barata")
_PER = ("a", "per", "par", "al", "pro", "im", "por", "ao", "each", "every", "chaque", "cada",
        "ogni", "le", "el", "il", "the", "op", "in", "de", "en")
_FOR_PRICE = ("for", "pour", "por", "per", "fur", "voor", "a")
_JUST = ("just", "only", "seulement", "solo", "solamente", "nur", "soli", "solo", "maar",
         "slechts", "apenas", "so")
# Take-it verbs: add, switch, upgrade, pass to (a plan): with a price they sell something.
_TAKE = ("add", "upgrade", "switch", "ajoutez", "ajouter", "passez", "passer", "anade", "anadir",
         "pasa", "pasate", "cambiate", "hinzufugen", "wechseln", "wechsle", "upgraden",
         "aggiungi", "passa", "attiva", "voeg", "stap", "upgrade", "adicione", "passe", "mude",
         "ative", "activa", "activez", "buchen sie", "buche", "double", "doublez",
         "duplica", "duplique", "verdoppeln", "verdopple", "raddoppia", "verdubbel", "junte",
         "juntar", "extend", "prolongez", "prolonger", "amplia", "ampliar", "extiende",
         "verlangern", "verlangere", "estendi", "estendere", "verleng", "verlengen",
         "prolongue", "prolongar")
# Earn verbs (imperative or invitation; "earned", "cumule" are statements).
_EARN = ("earn", "unlock", "gagnez", "cumulez", "accumulez", "remportez",
         "gana", "consigue", "acumula", "llevate", "obten", "sammeln", "sammle", "sammelst",
         "guadagna", "accumula", "ottieni", "verdien", "spaar", "ganhe", "ganha", "acumule",
         "junte")
_REWARD = ("points", "point", "punti", "puntos", "punkte", "punten", "pontos", "miles",
           "airmiles", "cashback", "cash back", "reward", "rewards", "bonus",
           "double", "doble", "doppi", "doppelte", "dubbele", "dobro", "triple", "qmoney", "qpct",
           "recompensa", "premio", "beloning", "recompensas")
_MULTIPLIER = ("double", "doble", "doppi", "doppio", "doppelte", "dubbele", "dobro", "triple",
               "triplo", "dreifache")
_BENEFIT = ("aprovecha", "aproveche", "profitez", "profite", "approfitta", "approfittate",
            "profiteer", "profiteren", "profiteert", "aproveite", "aproveita", "nutze", "nutzen",
            "enjoy", "beneficiez", "aprovechar", "approfittare", "beneficie",
            "beneficia", "benefit")
_NEXT = ("next", "prochaine", "prochain", "proximo", "proxima", "nachste", "nachsten",
         "nachstes", "prossimo", "prossima", "volgende", "proxima")
_BILL = ("bill", "invoice", "statement", "payment", "facture", "releve", "paiement",
         "echeance", "factura", "recibo", "pago", "rechnung", "abrechnung", "zahlung",
         "fattura", "bolletta", "rata", "factuur", "afschrift", "termijn", "fatura", "extrato",
         "prestacao", "mensualite", "cuota", "mensualidad")
_REFER = ("refer a friend", "freunde werben", "freund werben", "refer friends",
          "refer your friends", "refer someone", "parrainez",
          "parrainer", "parraine", "recomienda", "recomienda a", "invita a un amigo",
          "invita a tus amigos", "empfehlen sie uns", "empfiehl uns", "werben sie", "wirb",
          "invita un amico", "invita i tuoi amici", "presenta un amico", "verwijs een",
          "nodig een vriend", "nodig je vrienden", "recomende", "indique um amigo",
          "convide um amigo", "convide amigos",
          # round 4: bring a friend (and you both get...)
          "bring a friend", "bring your friends", "amenez un ami", "venez avec un ami",
          "trae a un amigo", "trae a tus amigos", "bring einen freund", "bringt einen freund",
          "porta un amico", "porta i tuoi amici", "breng een vriend", "neem een vriend",
          "traga um amigo", "traga os seus amigos", "traz um amigo")
_BOTH_GET = ("regalamos", "os regalamos", "krijg", "krijgen", "ganhem", "ganham", "ricevete",
             "recevez", "erhaltet", "you both", "both get", "chacun", "los dos", "a los dos",
             "entrambi", "allebei", "beide", "os dois", "ambos")
_SWITCH = ("switch to", "upgrade to", "move to", "passez a", "passer a", "passe a", "pasate a",
           "pasarte a", "cambiate a", "wechseln sie zu", "wechsle zu", "wechsel zu", "passa a",
           "passare a", "stap over op", "overstappen op", "mude para", "mudar para", "passe para")
_BETTER = ("fibre", "fibra", "glasvezel", "glasfaser", "5g", "unlimited", "illimite", "illimitee",
           "ilimitado", "ilimitada", "ilimitados", "unbegrenzt", "unlimitiert", "illimitato",
           "illimitati", "onbeperkt", "premium", "business", "gold", "platinum")
_PAY = ("pay", "payez", "payer", "paga", "pague", "pagar", "zahlen", "zahle", "paghi",
        "pagare", "betaal", "betalen", "split", "spread", "dilazionare", "dilaziona",
        "rateizzare", "fracionar", "fracione", "fraccionar", "fracciona", "financiar",
        "financia", "aplazar", "aplaza", "etaler", "etalez", "verteilen", "spreiden",
        "parcelar")
_INSTALMENTS = ("instalments", "installments", "payments", "fois", "plazos", "cuotas",
                "mensualidades", "raten", "monatsraten", "rate", "termijnen", "vezes",
                "prestacoes", "meses", "months", "mois", "monate", "mesi", "maanden",
                "mensualites")
_LIMIT = ("limit", "credit limit", "limite", "plafond", "limite de credito", "kreditrahmen",
          "verfugungsrahmen", "kartenlimit", "fido", "plafond", "limiet", "kredietlimiet",
          "limite de credito")
_CAN = ("can", "could", "may", "pouvez", "peut", "puede", "puedes", "pode", "podemos",
        "kann", "konnen", "puo", "puoi", "possiamo", "kan", "kunt", "kunnen")
_RAISE = ("increased", "increase", "raised", "raise", "augmenter", "augmente", "releve",
          "aumentar", "aumentado", "ampliar", "erhohen", "erhoht", "aumentare", "aumentato",
          "verhogen", "verhoogd", "aumenta")
# Possessives that are nothing else ("je", "tu", "su" are also pronouns).
_OWNED = ("your", "votre", "vos", "tus", "ihr", "ihre", "dein", "deine", "tuo", "tuoi", "uw",
          "jouw", "seu", "seus", "sua", "suas")
_ONTO = ("to", "onto", "on", "a", "au", "sur", "auf", "al", "alla", "aan", "op", "ao", "na", "no",
         "en", "in")
# A price that changes (a notice the customer is owed), not a price to take.
_PRICE_CHANGE = (
    " " + _alt("will cost", "will be", "is now", "now costs", "changes to", "will change",
               "increase", "increases", "increased", "rise", "rises", "as announced",
               "passe a", "passera a", "augmente", "augmentation", "hausse", "evolue",
               "pasara a", "pasa a costar", "costara", "subida", "sube a", "aumenta",
               "aumento", "kostet ab", "kostet kunftig", "erhoht sich", "erhohung",
               "preisanpassung", "steigt", "kostet ihr", "kostet ihre", "kostet dein",
               "kostet deine", "costera", "aumentera", "kost vanaf",
               "verhoging", "stijgt", "prijswijziging", "passa a custar", "vai custar",
               "custara", "atualizacao de preco") + " ")
_BOUGHT = ("bought", "purchased", "confirmed", "attached", "achete", "achetes", "confirme",
           "confirmee", "comprado", "comprados", "confirmada", "confirmado", "gekauft",
           "bestatigt", "acquistato", "acquistati", "confermato", "confermata", "gekocht",
           "bevestigd")
_SPEND = ("spend", "depensez", "gasta", "gastando", "gastar", "gaste", "ausgeben", "spendi",
          "besteed", "spendeer")
_GET = ("unlock", "get", "earn", "receive", "obtenez", "recevez", "gagnez", "consigue", "recibe",
        "erhalten", "erhaltst", "ricevi", "ottieni", "krijg", "ontvang", "receba", "ganhe")
_ELIGIBLE = ("eligible", "selected", "qualify", "preselected", "pre selected", "eligibles",
             "selectionne", "selectionnee", "elegible", "seleccionado", "seleccionada",
             "ausgewahlt", "berechtigt", "idoneo", "idonea", "selezionato", "selezionata",
             "aanmerking", "geselecteerd", "elegivel", "selecionado", "selecionada")
_FOR = ("for", "to", "pour", "a", "au", "aux", "para", "fur", "per", "voor", "zu", "zum", "ao",
        "de")
_PRODUCT = ("card", "credit", "creditcard", "loan", "upgrade", "plan", "tariff", "broadband",
            "fibre", "fiber", "carte", "pret", "forfait", "tarjeta", "credito", "prestamo",
            "tarifa", "fibra", "karte", "kreditkarte", "kredit", "tarif", "carta", "prestito",
            "tariffa", "kaart", "lening", "glasvezel", "cartao", "emprestimo", "tarifario")
_EARLY = ("early access", "priority access", "presale", "pre sale", "before general sale",
          "before the general sale", "avant premiere", "avant l ouverture", "prevente",
          "acceso anticipado", "preventa", "antes que nadie", "vorverkauf", "vor allen anderen",
          "accesso anticipato", "prevendita", "prima della vendita", "vroege toegang",
          "voorverkoop", "voordat de verkoop", "acesso antecipado", "pre venda",
          "antes da venda")
_PERIOD = ("months", "month", "mois", "meses", "mes", "monate", "monat", "mesi", "mese",
           "maanden", "maand", "weeks", "semaines", "semanas", "wochen", "settimane", "weken")
_GIFT = ("cadeau", "ohne kosten", "on us", "geschenkt", "regalo", "de regalo", "omaggio",
         "in regalo", "offerts", "offert", "de presente")
_TRY = ("try", "essayez", "prueba", "pruebalo", "probiere", "teste", "testen", "prova",
        "provalo", "probeer", "experimente")
_AGAIN = ("again", "later", "de nouveau", "plus tard", "otra vez", "mas tarde", "erneut", "nochmal",
          "spater", "di nuovo", "piu tardi", "opnieuw", "later", "novamente", "mais tarde")
_DAYS = ("days", "jours", "dias", "tage", "giorni", "dagen", *_PERIOD)

# A percentage given ("your member card gives you 10% in store", "te da un 10%"), and
# an extra to buy "from" a price at check-in or boarding ("more legroom? Seats from
# £15", "suite desde 40 €") unless it is already booked (round 3).
_GIVES = ("gives you", "give you", "vous donne", "te donne", "te da", "le da", "gibt dir",
          "gibt ihnen", "ti da", "ti regala", "geeft je", "geeft u", "da lhe", "te dá", "lhe da")
_FROM = ("from", "des", "a partir de", "desde", "ab", "da", "vanaf", "a partir de")
_EXTRAS = ("legroom", "seat", "seats", "lounge", "suite", "room", "business", "upgrade",
           "premium", "classe", "clase", "klasse", "class", "asiento", "asientos", "sitzplatz",
           "sitz", "posto", "stoel", "lugar", "habitacion", "chambre", "zimmer", "camera",
           "kamer", "quarto", "executiva", "comfort", "beinfreiheit", "jambes", "piernas")
_BOOKED = rf" {_alt(*_BOUGHT)} | booked | reserve | reservado | reservada | gebucht "

# "In the next days" is a time, not a next order (round 3, fresh batch 6).
_SOON = ("days", "working days", "business days", "hours", "weeks", "jours", "heures",
         "semaines", "dias", "horas", "semanas", "tagen", "tage", "stunden", "wochen",
         "werktagen", "giorni", "ore", "settimane", "dagen", "werkdagen", "uren", "weken")
# Something given to the recipient ("te regala una clase", "schenkt Ihnen ein
# Training"), an extra amount for a price ("10 GB extra for £5", "20 Giga in più a 4
# €"), a price for the first month (round 3, fresh batch 6).
_GIFT_TO_YOU = ("te regala", "ti regala", "le regala", "os regala", "vi regala", "schenkt ihnen",
                "schenkt dir", "schenken ihnen", "schenken dir", "trakteert", "trakteren",
                "oferece lhe", "oferece te", "offers you", "treats you", "treat you")
_FIRST = ("first month", "first months", "first year", "premier mois", "premiers mois",
          "primer mes", "primeros meses", "ersten monat", "ersten monate", "primo mese",
          "primi mesi", "eerste maand", "eerste maanden", "primeiro mes", "primeiros meses")
_PAID = (r" paid | due | charged | debited | preleve | cobrado | abgebucht | addebitato "
         r"| afgeschreven | debitado ")

# A rate the recipient already pays that changes "as described" in the contract is a
# notice (round 3): the credit-rate structures stand unless one of these is there.
_RATE_CHANGE = ("will change to", "will move to", "will go down to", "will go up to",
                "will rise to", "will fall to", "baja al", "sube al", "bajara al", "subira al",
                "sinkt auf", "daalt naar", "stijgt naar", "scende al", "desce para", "sobe para",
                "baisse a", "augmente a", "changes to", "will change from", "will increase to",
                "will decrease to", "as described", "in line with your terms", "passera a",
                "passe a", "evoluera", "comme prevu", "cambiara al", "cambiara a", "pasara al",
                "pasara a", "segun lo previsto", "andert sich", "steigt auf", "sinkt auf",
                "wie im vertrag", "passera al", "come previsto", "wijzigt", "zoals beschreven",
                "passa para", "muda para", "conforme descrito", "conforme previsto")
_RATE_NOTICE = rf" {_alt(*_RATE_CHANGE)} "

# Rewards held that the recipient is invited to use (round 3): "spend them by 31 Jan",
# "redeem now", "à dépenser avant", "löse es bis ... ein", "wissel ze nu in". A plain
# balance ("your points balance is 1 200") has no such verb and stays a statement.
_HELD = ("points", "point", "punti", "puntos", "punkte", "punten", "pontos", "miles", "stars",
         "beans", "credit", "credits", "credito", "credito", "guthaben", "tegoed", "saldo",
         "bons", "bon", "buoni", "vales", "vale", "vouchers", "voucher", "cagnotte", "rewards",
         "reward", "beauty points", "payback punkte", "gutscheine")
_USE = ("spend", "redeem", "claim", "unlock", "depensez",
        "depenser", "echangez", "echanger", "recuperez", "reclamez", "debloquez", "gasta",
        "gastalo", "gastalos", "gastar", "usalo", "usalos", "canjea", "canjealos", "canjear",
        "reclama", "desbloquea", "einlosen", "lose", "hol", "hole", "tauschen", "tausche",
        "eintauschen",
        "ausgeben", "usali", "usalo", "spendi", "spendilo", "spendila", "spendili", "gastala",
        "canjealo", "riscattalo", "riscattala", "spendere", "riscatta", "riscattali", "sblocca",
        "converti", "convertili", "besteed", "besteden", "wissel", "inwisselen", "verzilver",
        "ontgrendel", "gaste", "troque", "trocar", "resgate", "resgatar",
        "desbloqueie")
_BY = ("by", "before", "until", "now", "avant", "maintenant", "vite", "antes", "hasta", "ya",
       "bis", "vor", "jetzt", "entro", "prima", "subito", "ora", "voor", "nu", "ate", "agora",
       "bevor", "voordat", "avant qu", "antes de que", "antes que", "prima che")
_THEM = ("it", "them", "les", "la", "le", "los", "las", "lo", "es", "sie", "ihn", "ze", "het",
         "li", "le", "os", "as", "o", "a")
# "use it now" of a card just activated is no reward to spend: the generic verbs count only
# with rewards that expire; a credit card is no credit held.
_USE_GENERIC = ("use", "usa", "usar", "use os", "utilisez", "utiliser", "utiliza", "utilizza",
                "utilize", "gebruik", "benutze", "nutze", "nutzen")
_CARD = r" (?:credit|credito|krediet) (?:card|cards|carta|kaart|kaarten) "
_EXPIRE = ("expire", "expires", "expiring", "will expire", "expirent", "expirera", "caducan",
           "caduca", "caducaran", "verfallen", "verfallt", "laufen ab", "lauft ab", "scadono",
           "scade", "scadranno", "vervallen", "verlopen", "verloopt", "expiram", "expira",
           "lose", "perdez", "pierdes", "verlieren", "perdi", "kwijt", "perde")
_EXTRA = ("extra", "bonus", "more", "supplementaires", "supplementaire", "en plus", "adicionales",
          "mas", "zusatzliche", "zusatzlich", "in piu", "aggiuntivi", "meer", "adicionais")

OFFER_STRUCTURES: tuple[tuple[str, tuple[str, ...], str, str], ...] = (
    # (name, gates, regex, unless): the regex is tried when every gate (words,
    # space-separated) has one of its words in the message; found, it is an offer
    # unless the "unless" regex (if any) is found too.
    ("credit rate", ("qpct", _keys(_RATE_TERMS)),
     rf" qpct {_W}{{0,2}}{_alt(*_RATE_TERMS)} | {_alt(*_RATE_TERMS)} {_W}{{0,2}}qpct ",
     _RATE_NOTICE),
    ("credit rate", ("qpct", _keys(_RATE_WORDS), _keys(_CREDIT_WORDS)),
     rf"^(?=.*?(?:^| (?!{_alt(*_POSSESSIVES)} )[a-z0-9]+) {_alt(*_CREDIT_WORDS)} )"
     rf".*?(?: qpct {_W}{{0,3}}{_alt(*_RATE_WORDS)} | {_alt(*_RATE_WORDS)} {_W}{{0,3}}qpct )",
     _RATE_NOTICE),
    ("price instead of price", ("qmoney", _keys(_INSTEAD)),
     rf" qmoney {_W}{{0,5}}{_alt(*_INSTEAD)} qmoney ", _PRICE_CHANGE),
    ("take it for a price", ("qmoney", _keys(_TAKE)),
     rf" {_alt(*_TAKE)} (?:{_W}{{1,8}}?(?:{_alt(*_JUST)} )?qmoney "
     rf"|(?:{_alt(*_JUST)} )?qmoney (?!{_alt(*_ONTO)} ))", _PRICE_CHANGE),
    ("only a price", ("qmoney", _keys(_JUST)), rf" {_alt(*_FOR_PRICE)} {_alt(*_JUST)} qmoney ", ""),
    ("price more a month", ("qmoney", _keys(_MORE)),
     rf" qmoney {_alt(*_MORE)} (?:{_alt(*_PER)} )?{_alt(*_MONTH)} "
     rf"| {_alt(*_FOR_PRICE)} {_alt(*_MORE)} qmoney "
     rf"| {_alt(*_JUST)} qmoney {_alt(*_MORE)} ", _PRICE_CHANGE),
    ("price cut", ("qmoney qpct", _keys(_LESS + _CHEAPER)),
     rf" (?:qmoney|qpct) {_alt(*_LESS)} | (?:qmoney|qpct) {_alt(*_CHEAPER)} ", ""),
    ("earn a reward", (_keys(_EARN),),
     rf" {_alt(*_EARN)} {_W}{{0,3}}?(?:[0-9]+x |x[0-9]+ |[0-9]+ (?:{_alt(*_MORE)} )?)?"
     rf"{_alt(*_REWARD)} | {_alt(*_EARN)} {_W}{{0,2}}?[0-9]+ {_alt(*_MORE)} "
     rf"| {_alt(*_EARN)} {_W}{{0,4}}?qmoney "
     rf"| {_alt(*_EARN)} {_W}{{0,3}}?(?:[0-9]+x|x[0-9]+|[0-9]+ fach|{_alt(*_MULTIPLIER)}) ", ""),
    ("take the benefit", (_keys(_BENEFIT), "qpct qdisc qmoney"),
     rf" {_alt(*_BENEFIT)} {_W}{{0,2}}?(?:qpct|qdisc|qmoney) ", ""),
    ("a reward on the next order", ("qmoney qpct qdisc", _keys(_NEXT)),
     rf" (?:qmoney|qpct|qdisc) {_W}{{0,5}}?{_alt(*_NEXT)} (?!{_alt(*_BILL)} |{_alt(*_SOON)} )",
     ""),
    ("refer a friend for a reward", (_keys(_REFER),),
     rf" {_alt(*_REFER)} {_W}{{0,8}}?(?:qmoney|qpct|{_alt(*_REWARD)}|{_alt(*_BOTH_GET)}) ", ""),
    # round 4: a switch to a better product offered ("passez à la fibre", "passa a 5G Top",
    # "stap over op 5G Unlimited", "jetzt auf 5G Max wechseln").
    ("switch to a better plan", (_keys(_SWITCH), _keys(_BETTER)),
     rf" {_alt(*_SWITCH)} {_W}{{0,2}}?{_alt(*_BETTER)} "
     rf"| auf {_W}{{0,1}}?{_alt(*_BETTER)} {_W}{{0,1}}?(?:wechseln|umsteigen) ", _BOOKED),
    ("pay in instalments", (_keys(_PAY), _keys(_INSTALMENTS)),
     rf" {_alt(*_PAY)} {_W}{{0,6}}?(?:in|en|em) [0-9]+ (?:{_W}{{0,1}}){_alt(*_INSTALMENTS)} ",
     ""),
    ("credit limit on offer", (_keys(_LIMIT), _keys(_CAN)),
     rf" {_alt(*_LIMIT)} {_W}{{0,3}}?{_alt(*_CAN)} {_W}{{0,2}}?{_alt(*_RAISE)} "
     rf"| {_alt(*_CAN)} {_W}{{0,3}}?{_alt(*_RAISE)} {_W}{{0,2}}?{_alt(*_LIMIT)} ", ""),
    ("spend to get", ("qmoney", _keys(_SPEND), _keys(_GET)),
     rf" {_alt(*_SPEND)} qmoney {_W}{{0,6}}?{_alt(*_GET)} ", ""),
    ("selected for a product", (_keys(_ELIGIBLE), _keys(_PRODUCT)),
     rf" {_alt(*_ELIGIBLE)} {_alt(*_FOR)} {_W}{{0,3}}?{_alt(*_PRODUCT)} ", ""),
    ("early access", (_keys(_EARLY),), rf" {_alt(*_EARLY)} ",
     rf" {_alt(*_OWNED)} {_alt(*_EARLY)} | {_alt(*_BOUGHT)} "),
    ("free months", (_keys(_PERIOD), _keys(_GIFT)),
     rf" {_alt(*_PERIOD)} {_W}{{0,5}}?{_alt(*_GIFT)} ", ""),
    ("use your reward by a date", (_keys(_USE), _keys(_HELD)),
     rf" {_alt(*_USE)} (?:{_W}{{0,3}}?{_alt(*_BY)}|{_alt(*_THEM)}) ",
     _CARD),
    ("rewards expiring, to use", (_keys(_HELD), _keys(_EXPIRE), _keys(_USE + _USE_GENERIC)),
     rf" {_alt(*_HELD)} {_W}{{0,7}}?{_alt(*_EXPIRE)} ", _CARD),
    ("get extra rewards", (_keys(_GET), _keys(_EXTRA)),
     rf" {_alt(*_GET)} {_W}{{0,2}}?[0-9]+ {_alt(*_EXTRA)} {_alt(*_HELD)} ", ""),
    ("a percentage given", ("qpct qdisc", _keys(_GIVES)),
     rf" {_alt(*_GIVES)} {_W}{{0,2}}?(?:qpct|qdisc) ", ""),
    ("an extra from a price", ("qmoney", _keys(_FROM), _keys(_EXTRAS)),
     rf" {_alt(*_EXTRAS)} {_W}{{0,6}}?{_alt(*_FROM)} qmoney ", _BOOKED),
    ("a gift to you", (_keys(_GIFT_TO_YOU),), rf" {_alt(*_GIFT_TO_YOU)} ", ""),
    ("an extra amount for a price", ("qmoney", _keys(_MORE), _keys(_FOR_PRICE)),
     rf" [0-9]+ {_W}?{_alt(*_MORE)} {_alt(*_FOR_PRICE)} qmoney ", ""),
    ("a price for the first month", ("qmoney", _keys(_FIRST)),
     rf" qmoney {_W}{{0,3}}?{_alt(*_FIRST)} ", _PAID),
    ("try it for a while", (_keys(_TRY), _keys(_DAYS)),
     rf" {_alt(*_TRY)} (?!{_alt(*_AGAIN)} ){_W}{{0,4}}?[0-9]+ {_alt(*_DAYS)} ", ""),
)


class _Structures:
    """OFFER_STRUCTURES compiled, each with its gate words."""

    def __init__(self, structures: Iterable[tuple[str, tuple[str, ...], str, str]]) -> None:
        self.items = tuple(
            (tuple(frozenset(fold_words(gate).split()) for gate in gates), re.compile(pattern),
             name, re.compile(unless) if unless else None)
            for name, gates, pattern, unless in structures)
        if not all(all(gates) for gates, _, _, _ in self.items):
            raise ValueError("rules.offers.OFFER_STRUCTURES: a structure has an empty gate")
        # Which structures a word of their first gate opens (the order they are tried in).
        self.by_word: dict[str, list[int]] = {}
        for index, (gates, _, _, _) in enumerate(self.items):
            for word in gates[0]:
                self.by_word.setdefault(word, []).append(index)
        self.gate_words = frozenset(self.by_word)

    def first(self, tokens: set[str], norm: str) -> str | None:
        """The name of the first structure found in the message, or None."""
        opened = self.gate_words.intersection(tokens)
        if not opened:
            return None  # most messages: one set test
        indices = (self.by_word[next(iter(opened))] if len(opened) == 1
                   else sorted({i for word in opened for i in self.by_word[word]}))
        for index in indices:
            gates, pattern, name, unless = self.items[index]
            for gate in gates[1:]:
                if gate.isdisjoint(tokens):
                    break
            else:
                if pattern.search(norm) and (unless is None or not unless.search(norm)):
                    return name
        return None


_STRUCTURES = _Structures(OFFER_STRUCTURES)



#: What a NOT_OFFERS phrase becomes: rules.detectors scores it as a transactional word
#: (a cancellation policy, a free phone number, a bid received belong to service messages).
NOT_OFFER = "qnotoffer"
_NOT_OFFER = f" {NOT_OFFER} "


# A free trial that ends (and is then charged) is a notice about a service taken, not an
# offer: its "free" word is a false friend when an end verb follows within a few words.
_FREE = ("free", "gratuit", "gratuite", "gratuita", "gratuito", "gratis", "kostenlose",
         "kostenloser", "kostenlosen", "kostenloses", "gratuitos", "gratuitas", "gratuits")
_TRIAL = ("trial", "essai", "periode d essai", "prueba", "periodo de prueba", "probemonat",
          "probezeit", "testphase", "probeabo", "probezeitraum", "prova", "periodo di prova",
          "proefperiode", "proefabonnement", "periodo experimental", "periodo de teste", "teste")
_ENDS = ("ends", "ending", "expires", "will end", "is ending", "se termine", "termine",
         "prend fin", "termina", "terminara", "acaba", "caduca", "finaliza", "endet", "lauft",
         "scade", "terminera", "eindigt", "verloopt", "loopt af", "expira", "terminou")
_TRIAL_ENDS = re.compile(
    rf" (?:{_alt(*_FREE)} {_W}{{0,1}}{_alt(*_TRIAL)}|{_alt(*_TRIAL)} {_W}{{0,1}}{_alt(*_FREE)})"
    rf" {_W}{{0,6}}?{_alt(*_ENDS)} ")
_FREE_WORD = re.compile(rf"(?<= ){_alt(*_FREE)}(?= )")
_TRIAL_GATE = frozenset(fold_words(_keys(_ENDS)).split())
_FREE_GATE = frozenset(_FREE)


# The French operator named Free: "Free : votre box a été livrée", "Free Mobile",
# "chez Free" (not a NOT_OFFERS phrase: those are found by their longest word, and
# "votre" would open it in every French message).
_FREE_BRAND_NEXT = frozenset({"votre", "vous", "ton", "ta", "tes", "info", "mobile", "box"})
_FREE_BRAND_BEFORE = frozenset({"chez", "abonne", "abonnes", "client", "clients"})


def _free_brand(norm: str) -> str:
    """``norm`` with the operator's name made :data:`NOT_OFFER`: first in the message
    before a French word or "Mobile"/"Box" ("Free : votre...", not "Free delivery"),
    elsewhere after chez/abonné/client or before "Mobile"/"Box"."""
    parts: list[str] = []
    done = 0
    at = norm.find(" free ")
    while at != -1:
        after = norm[at + 6:].split(" ", 1)[0]
        before = norm[:at].rsplit(" ", 1)[-1]
        if (after in ("mobile", "box") or (at == 0 and after in _FREE_BRAND_NEXT)
                or before in _FREE_BRAND_BEFORE):
            parts += (norm[done:at], _NOT_OFFER)
            done = at + 6
        at = norm.find(" free ", at + 5)
    if not parts:
        return norm
    parts.append(norm[done:])
    return "".join(parts)


def _trial_ends(tokens: set[str], norm: str) -> str:
    """``norm`` with the "free" of an ending free trial, and the operator named Free,
    made :data:`NOT_OFFER`."""
    if "free" in tokens:
        norm = _free_brand(norm)
    if _TRIAL_GATE.isdisjoint(tokens) or _FREE_GATE.isdisjoint(tokens):
        return norm
    return _TRIAL_ENDS.sub(lambda m: _FREE_WORD.sub(NOT_OFFER, m.group()), norm)


_FALSE_FRIEND_GATE = _NOT.keys | _FREE_GATE


def without_false_friends(tokens: list[str], norm: str) -> tuple[list[str], str]:
    """rules.detectors.words() of a message with its NOT_OFFERS phrases replaced by
    :data:`NOT_OFFER` (unchanged, the same objects, when it has none: the common case)."""
    if _FALSE_FRIEND_GATE.isdisjoint(tokens):
        return tokens, norm  # the common case: one set test
    present = set(tokens)
    cleaned = norm
    if not _NOT.keys.isdisjoint(present):
        cleaned = _NOT.remove(present, norm, _NOT_OFFER)
    cleaned = _trial_ends(present, cleaned)
    if cleaned == norm:
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
        # most transactional messages: three set tests
        return _STRUCTURES.first(present, norm)
    return _CUES.first(present, norm) or _STRUCTURES.first(present, norm)
