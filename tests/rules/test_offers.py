"""Issue 12, item 2: an offer decides promotional (rules.offers and its place in rules.classify).

In-sample only: tests/rules/offers.jsonl was written for this item (7 languages, the
issue's sentences, mixed notices, false friends) and the cue tables were tuned on it
and on corpus.jsonl; its rows of kind "fresh" were written after the tables and scored
once before they were tuned on too (README, "The opt-out policy"). The held-out
evaluation lives elsewhere and is not read here.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.classify import OFFER_RULE, Classification, Classifier, MessageFacts
from rules.offers import NOT_OFFERS, OFFER_CUES, find_offer

HERE = Path(__file__).parent
OFFERS = HERE / "offers.jsonl"
CORPUS = HERE / "corpus.jsonl"
FRESH = sorted(HERE.glob("fresh*.jsonl"))  # round 2's batches (kind: the held-out's kinds)
PROMO, TRX = "promotional", "transactional"
LANGS = ("en", "fr", "es", "de", "it", "nl", "pt")


@dataclass(frozen=True, slots=True)
class Rule:
    """Shaped like gateway.config.model.Rule."""

    id: str
    class_: str
    account: tuple[str, ...] = ()
    source: tuple[str, ...] = ()
    country: tuple[str, ...] = ()
    service_type: tuple[str, ...] = ()
    regex: re.Pattern[str] | None = None
    keywords: tuple[str, ...] = ()
    overrides_offers: bool = False


def classify(text: str, *rules: Rule, **fields: str | None) -> Classification:
    facts = MessageFacts(**{"account": "acme", "text": text, **fields})  # type: ignore[arg-type]
    return Classifier(rules).classify(facts)


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


# --- the issue's sentences ------------------------------------------------------------


@pytest.mark.parametrize(("text", "cue"), [
    ("Your order 4411 shipped. Use THANKS10 for 10% off your next order", "N% off"),
    ("Your statement is ready. Earn 2x points this month", "2x points"),
    ("Ihr Vertrag wurde verlängert \u2013 jetzt 3 Monate gratis", "gratis"),
    ("Il tuo ordine è stato spedito: 20% di sconto sul prossimo", "sconto"),
    ("Important update about your account: you're pre-approved at 0% APR. Apply now",
     "apply now"),
    ("Votre abonnement arrive à échéance. Renouvelez maintenant et bénéficiez de 3 mois "
     "offerts !", "offerts"),
    ("Code promo 2024 : -50% sur tout !", "code promo"),
    ("Use promo code 1234 for 50% discount", "promo code"),
])
def test_the_issues_notices_with_an_offer_are_promotional(text: str, cue: str) -> None:
    assert classify(text) == Classification(PROMO, OFFER_RULE, cue)


@pytest.mark.parametrize(("lang", "text"), [
    ("nl", "Je bestelling is verzonden. Gebruik BEDANKT10 voor 10% korting."),
    ("nl", "Uw abonnement is verlengd: nu 2 maanden gratis."),
    ("pt", "A sua encomenda foi enviada. 10% de desconto na próxima compra."),
    ("pt", "Pagamento recebido. Este mês pontos a dobrar."),
    ("es", "Tu pedido ha sido enviado. Código promocional HOLA: envío gratis."),
    ("de", "Ihre Rechnung ist da. Bis zu 30 % Rabatt im Sale."),
])
def test_offers_in_every_language_decide(lang: str, text: str) -> None:
    assert classify(text).rule == OFFER_RULE, lang


# --- false friends and generic cues: no offer ---------------------------------------------


@pytest.mark.parametrize("text", [
    "Booking confirmed. Free cancellation until 12 May.",
    "Feel free to call us on 0800 123 456.",
    "Réservation confirmée. Annulation gratuite jusqu'au 1er mai.",
    "Reserva confirmada. Cancelación gratuita hasta el 1 de mayo.",
    "Buchung bestätigt. Kostenlose Stornierung bis 1. Mai.",
    "Prenotazione confermata. Cancellazione gratuita fino al 1 maggio.",
    "Boeking bevestigd. Gratis annuleren tot 1 mei.",
    "Reserva confirmada. Cancelamento gratuito até 1 de maio.",
    "El tren sale a las 10:15 del andén 4.",  # Spanish "sale" = leaves
    "Tu pedido sale hoy de nuestro almacén.",
    "Uw offerte voor de nieuwe keuken staat klaar.",  # Dutch "offerte" = a quote
    "Votre offre mobile a été modifiée.",  # a plan the recipient has
    "La tua offerta luce e gas è attiva dal 1 giugno.",
    "Your offer of £120 was accepted by the seller.",  # a bid on a marketplace
    "Your points balance is 1,240.",  # points held are a statement
    "Remise des clés le 30/06 à 10h.",  # a hand-over, not a discount
    "Your verification code is 482913.",  # a code of digits with no promo word
    "Scheduled network upgrade tonight 01:00-03:00.",
    "Per informazioni chiama il numero verde 800 123 456.",
])
def test_false_friends_are_no_offer(text: str) -> None:
    assert find_offer(text) is None
    assert classify(text).rule != OFFER_RULE


# --- round 2: offers told by how ordinary words stand together (OFFER_STRUCTURES) -----------


@pytest.mark.parametrize(("text", "structure"), [
    ("Your statement is ready. Car finance from 5.9% APR representative.", "credit rate"),
    ("Relevé disponible. Votre projet financé au taux de 4,2 % avec notre prêt auto.",
     "credit rate"),
    ("Extracto listo. Préstamo coche: 6,1 % TAE.", "credit rate"),
    ("Rechnung online. Fahrzeugkredit zu 3,9 % Sollzins.", "credit rate"),
    ("Ticket confirmed. Extra legroom for £12 instead of £20.", "price instead of price"),
    ("Biglietto confermato. Bagaglio extra a 8 € invece di 15 €.", "price instead of price"),
    ("Je factuur staat klaar. Upgrade naar 5G voor maar € 3.", "take it for a price"),
    ("Fatura disponível. Adicione o canal Desporto por 4,99 €.", "take it for a price"),
    ("Bill ready. Netflix included for £4 more a month.", "price more a month"),
    ("Facture prête. La box Ultra pour 5 € de moins par mois.", "price cut"),
    ("Pedido entregado. Acumula 300 puntos con tu próxima recarga.", "earn a reward"),
    ("Abholung bereit. Sammle 5-fach Punkte auf Kaffee!", "fach punkte"),
    ("Parcel delivered. £4 for your next order with code BACK4.", "a reward on the next order"),
    ("Spend £30 in store and get a £5 reward.", "spend to get"),
    ("Aviso de conta: é elegível para um cartão de crédito Platinum.",
     "selected for a product"),
    ("Als klant krijg je vroege toegang tot kaarten voor het festival.", "early access"),
    ("Account: je krijgt 3 maanden Spotify cadeau.", "free months"),
    ("Ihr Vertrag: 6 Monate Sky Ticket ohne Kosten dazu.", "ohne kosten"),
    ("Aggiornamento: prova Discovery+ per 30 giorni.", "try it for a while"),
    # kinds missed by fresh batch 4 (written after the structures above), then added
    ("Invita un amico: 10 € a te e 10 € a lui.", "refer a friend for a reward"),
    ("Extracto disponible. Financia tus compras en 6 meses con tu tarjeta.",
     "pay in instalments"),
    ("Ihr Kartenlimit kann auf 5.000 € erhöht werden.", "credit limit on offer"),
    ("Fatura pronta. O pacote Cinema por mais 5 € por mês.", "price more a month"),
    ("Je rekening staat klaar. Verdubbel je bundel voor € 3.", "take it for a price"),
    ("Votre forfait passe à 100 Go pour seulement 3 € de plus.", "only a price"),
    # round 3 (kinds missed by fresh batch 5): rewards held and invited to be used,
    # extra rewards, a percentage given, an extra "from" a price at check-in
    ("Your Tesco points are worth £6. Spend them by Sunday!", "use your reward by a date"),
    ("Il tuo credito di 10 € ti aspetta: spendilo entro venerdì.",
     "use your reward by a date"),
    ("Tienes 8 € de saldo. Gástalo antes del domingo.", "use your reward by a date"),
    ("Je Miles vervallen binnenkort. Gebruik ze in de webshop.",
     "rewards expiring, to use"),
    ("Os seus pontos expiram amanhã, use-os na loja.", "rewards expiring, to use"),
    ("Audiobooks: receive 3 extra credits with the annual plan.", "get extra rewards"),
    ("Tu tarjeta de socio te da un 10% en toda la tienda.", "a percentage given"),
    ("Boarding pass ready. More legroom? Seats from £15.", "an extra from a price"),
    ("Check-in aperto. Camera superiore da 30 € a notte.", "an extra from a price"),
    # kinds missed by fresh batch 6 (written after round 3's tuning), then added
    ("Votre colis est livré. Prolongez la garantie d'un an pour 15 €.", "take it for a price"),
    ("Tu club te regala una sesión de spa este mes.", "a gift to you"),
    ("Wenig Daten übrig? 5 GB extra für 3 €.", "an extra amount for a price"),
    ("Benvenuto: abbonamento Premium a 2 € il primo mese.", "a price for the first month"),
])
def test_offer_structures_decide(text: str, structure: str) -> None:
    assert find_offer(text) == structure
    assert classify(text) == Classification(PROMO, OFFER_RULE, structure)


@pytest.mark.parametrize("text", [
    # free trials that end and are then charged: a notice about a service taken
    "Your Disney+ free trial ends tomorrow. You will be charged £7.99 unless you cancel.",
    "Votre période d'essai gratuite prend fin le 3/09 : 9,99 € seront prélevés.",
    "Dein kostenloser Probemonat endet morgen. Danach 12,99 € im Monat.",
    "Il periodo di prova gratuito termina domani, poi 7,99 € al mese.",
    # card checks, outages, departures, couriers, tickets, a rate the customer has
    "Did you just spend £212.40 at ARGOS? Reply YES or NO.",
    "¿Has realizado una compra de 89,00 € en AMAZON? Responde SI o NO.",
    "Heeft u zojuist € 59,95 betaald bij ZALANDO? Antwoord JA of NEE.",
    "Panne internet dans votre secteur : rétablissement prévu à 17h.",
    "Störung im Mobilfunknetz in Köln. Wir arbeiten an der Behebung.",
    "Il treno 9612 partirà dal binario 3 con 10 minuti di ritardo.",
    "O comboio das 08:12 parte da linha 2.",
    "Your loan rate will change to 5.1% from 1 June.",
    "Your login failed. Please try again in 2 days.",
    "Your refund of £20 will be taken off your next bill.",
    "Your shopper has picked your items and your rider is on the way.",
    # kinds missed by fresh batch 4, then added
    "Free : votre ligne fixe est rétablie.",  # the French operator named Free
    "Your Clubcard statement: you've collected 820 points. Vouchers will be sent in May.",
    "Please refer to your statement for the £20 charge.",
    "Indique o seu NIF para receber o reembolso de 20 €.",
    "La Poste : votre lettre recommandée vous attend au bureau de poste.",
    "A sua teleconsulta está marcada para amanhã às 10:30.",
    # kinds probed after fresh batch 4 (no batch had them): price changes the customer is
    # told of, top-ups, tickets already bought, totals of an order, trip receipts
    "From 1 June your broadband will cost £31 a month instead of £29, as announced.",
    "À partir du 1er juillet, votre forfait passe à 14,99 € au lieu de 12,99 €.",
    "Ab 1. Juli kostet Ihr Tarif 29,99 € statt 27,99 €.",
    "Add £10 to your travel card before Monday.",
    "Your presale tickets are confirmed: row F, seats 11-12.",
    "Thanks for your order! Total: £45.99. We'll text you when it ships.",
    "Danke für Ihre Bestellung über 59,90 €. Wir melden uns beim Versand.",
    "Your trip with Ahmed: £12.40. Rate your driver in the app ⭐",
    "Weekend maintenance: our shop app will be unavailable Saturday 01:00-05:00.",
    # round 3: rates and prices the customer has, changing as the contract says; renewals
    # with the new premium; balances and rewards already used; cards that expire
    "Your card's variable rate will change to 22.9% APR from 1 May as described in your terms.",
    "Le taux de votre prêt passera à 4,1 % TAEG au 1er juin, comme prévu au contrat.",
    "El tipo de tu préstamo cambiará al 6,3% TAE según lo previsto en tu contrato.",
    "Il tasso della tua carta passerà al 16,9% TAEG, come previsto dal contratto.",
    "A taxa do seu crédito passa para 7,5% TAN, conforme descrito no contrato.",
    "Your home insurance renews on 3 May. Your new premium is £298.10 a year.",
    "Ihre Kfz-Versicherung verlängert sich zum 01.01. Neuer Jahresbeitrag: 512,00 €.",
    "Je hebt 800 punten. Ze zijn bijgewerkt na je laatste aankoop.",
    "Your voucher of £20 was redeemed at Argos on 12/03.",
    "Your credit card expires 05/27. Use your new card from now on.",
    "Your new credit card is active. You can use it now.",
    "Il tuo credito residuo è di 3,50 €.",
    "Fine: please pay £35 by 20 March to avoid a penalty.",
    "Seat 21C confirmed. Lounge access from 06:00 at gate B.",
    # fresh batch 6: refunds "in the next days", a brand named Active, data used
    "Finanzamt: Ihre Erstattung von 120,00 € wird in den nächsten Tagen überwiesen.",
    "Virgin Active: il pagamento di 49,00 € non è andato a buon fine.",
    "Belastingdienst: uw teruggave van € 95 wordt binnen 5 werkdagen uitbetaald.",
    "Vodafone: hai consumato l'80% dei Giga. Si rinnovano il giorno 5.",
])
def test_round_two_notices_are_no_offer(text: str) -> None:
    assert find_offer(text) is None
    assert classify(text).klass == TRX


OTPS = [
    "Your verification code is 482913. Do not share it.",
    "Votre code de vérification est 558120. Ne le partagez pas.",
    "Tu código es 4482. No lo compartas.",
    "Ihr Sicherheitscode: 66 31 09. Niemals an Dritte weitergeben!",
    "Il codice OTP per la tua operazione è 77410392.",
    "Je verificatiecode is 482913. Deel deze code nooit.",
    "O seu código de verificação é 558120. Não partilhe este código.",
]
NOTICES = [
    "Your parcel arrives today between 2pm and 4pm.",
    "Your order is ready to pick up.",
    "Votre colis arrive aujourd'hui.",
    "Tu paquete llega hoy.",
    "Ihr Paket kommt heute.",
    "Il tuo pacco arriva oggi.",
    "Je pakket is onderweg.",
    "A sua encomenda está a caminho.",
]
# One generic marketing cue, as the issue says ("a link, an emoji, 'shop', 'weekend'"),
# and links with emoji (no words). Two marketing words against one transactional word
# are left to the scores.
GENERIC_WORDS = ["Thanks for shopping with us.", "Have a nice weekend!", "Visit our shop.",
                 "Bon week-end !", "Gracias por tu compra en nuestra tienda."]
MARKS = ["https://acme.example/t/881", "📦", "🎉", "✅", "www.acme.example", "🚚"]


@settings(max_examples=200, deadline=None)
@given(message=st.sampled_from(OTPS + NOTICES),
       word=st.sampled_from(["", *GENERIC_WORDS]),
       marks=st.lists(st.sampled_from(MARKS), max_size=2))
def test_a_link_an_emoji_or_a_shop_word_does_not_make_an_otp_or_a_notice_promotional(
    message: str, word: str, marks: list[str],
) -> None:
    if (word and any("." in m for m in marks)) or not (word or marks):
        marks = [m for m in marks if "." not in m] or ["📦"]  # one word cue, or marks only
    text = " ".join(part for part in [message, word, *marks] if part)
    result = classify(text)
    assert result.klass == TRX, (text, result)
    assert result.offer == ""


OFFER_TAILS = [
    "Use code THANKS10 for 10% off your next order.", "Earn double points this month!",
    "3 mois offerts !", "20% de descuento en tu próxima compra.", "Jetzt 3 Monate gratis.",
    "Spedizione gratuita sul prossimo ordine.", "Met 15% korting op je volgende bestelling.",
    "Portes grátis na próxima compra.", "-30% sur tout le magasin.",
]


@settings(max_examples=200, deadline=None)
@given(message=st.sampled_from(OTPS + NOTICES), tail=st.sampled_from(OFFER_TAILS))
def test_an_otp_or_a_notice_that_carries_an_offer_is_promotional(message: str, tail: str) -> None:
    assert classify(f"{message} {tail}").rule == OFFER_RULE


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=300))
def test_find_offer_never_raises(text: str) -> None:
    cue = find_offer(text)
    assert cue is None or (isinstance(cue, str) and cue)


# --- precedence -----------------------------------------------------------------------


SHIPPED = "Your order 4411 shipped. Use THANKS10 for 10% off your next order"


def test_explicit_transactional_on_an_offer_wins_and_says_so() -> None:
    result = classify(SHIPPED, explicit=TRX, explicit_rule="explicit:tlv")
    assert result == Classification(TRX, "explicit:tlv", "N% off", mislabelled=True)
    plain = classify("Your order 4411 shipped.", explicit=TRX, explicit_rule="explicit:tlv")
    assert plain == Classification(TRX, "explicit:tlv")
    promo = classify(SHIPPED, explicit=PROMO, explicit_rule="explicit:http")
    assert promo == Classification(PROMO, "explicit:http")  # nothing to report


def test_a_transactional_rule_does_not_override_an_offer() -> None:
    rule = Rule("acme-all-trx", TRX, account=("acme",))
    assert classify(SHIPPED, rule) == Classification(PROMO, OFFER_RULE, "N% off")
    assert classify("Your order 4411 shipped.", rule).rule == "rule:acme-all-trx"


def test_a_transactional_rule_with_overrides_offers_decides() -> None:
    rule = Rule("bank", TRX, source=("BANK",), overrides_offers=True)
    assert classify(SHIPPED, rule, source_addr="BANK") == Classification(
        TRX, "rule:bank", "N% off")  # the operator's own decision: not mislabelled
    assert classify(SHIPPED, rule, source_addr="SHOP").rule == OFFER_RULE


def test_the_first_matching_rule_is_the_one_that_may_override() -> None:
    plain = Rule("all-trx", TRX, account=("acme",))
    overriding = Rule("bank", TRX, source=("BANK",), overrides_offers=True)
    assert classify(SHIPPED, plain, overriding, source_addr="BANK").rule == OFFER_RULE
    assert classify(SHIPPED, overriding, plain, source_addr="BANK").rule == "rule:bank"


def test_a_promotional_rule_names_an_offer_decision() -> None:
    rule = Rule("sales", PROMO, keywords=("promo",))
    assert classify("Use promo code 1234 for 50% discount", rule) == Classification(
        PROMO, "rule:sales", "promo code")


def test_overrides_offers_on_a_promotional_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="overrides_offers"):
        Classifier([Rule("p", PROMO, keywords=("x",), overrides_offers=True)])


def test_cached_and_uncached_classifiers_agree_on_the_offers() -> None:
    cached, uncached = Classifier([]), Classifier([], cache_size=0)
    for row in rows(OFFERS):
        for explicit in (None, TRX):
            facts = MessageFacts(account="a", text=row["text"], explicit=explicit)
            assert cached.classify(facts) == uncached.classify(facts) == cached.classify(facts)


# --- tables and in-sample figures -----------------------------------------------------------


def test_cue_tables_cover_the_seven_languages() -> None:
    assert set(LANGS) <= set(OFFER_CUES) and set(LANGS) <= set(NOT_OFFERS)
    assert all(len(OFFER_CUES[lang]) >= 15 for lang in LANGS)


def test_offers_file_is_multilingual_and_labelled() -> None:
    found = rows(OFFERS)
    assert len({row["text"] for row in found}) == len(found), "duplicate messages"
    for lang in LANGS:
        labels = Counter(row["label"] for row in found if row["lang"] == lang)
        assert labels[PROMO] >= 8 and labels[TRX] >= 8, (lang, labels)
    issue = [row for row in found if row["kind"] == "issue"]
    assert len(issue) == 8


def _figures(found: list[dict[str, str]], results: list[Classification]) -> tuple[float, float]:
    """(promotional recall, share of transactional messages called promotional)."""
    promo = [r for row, r in zip(found, results, strict=True) if row["label"] == PROMO]
    trx = [r for row, r in zip(found, results, strict=True) if row["label"] == TRX]
    recall = sum(r.klass == PROMO for r in promo) / len(promo)
    wrong = sum(r.klass == PROMO for r in trx) / len(trx)
    return recall, wrong


def test_in_sample_recall_and_false_promotions(summary_lines: list[str]) -> None:
    classifier = Classifier([], PROMO, cache_size=0)  # offers and detectors only
    found = rows(OFFERS) + rows(CORPUS) + [row for path in FRESH for row in rows(path)]
    results = [classifier.classify(MessageFacts(text=row["text"])) for row in found]
    recall, wrong = _figures(found, results)
    per_lang = []
    for lang in LANGS:
        pairs = [(row, r) for row, r in zip(found, results, strict=True) if row["lang"] == lang]
        lang_recall, lang_wrong = _figures([p[0] for p in pairs], [p[1] for p in pairs])
        per_lang.append(f"{lang} ({len(pairs)}): R {lang_recall:.2f}, trx->promo {lang_wrong:.2f}")
    summary_lines.append(
        f"offers + corpus + fresh* ({len(found)} messages, in-sample): "
        f"promotional recall {recall:.3f}, "
        f"transactional called promotional {wrong:.3f}")
    summary_lines.append("  per language: " + "; ".join(per_lang))
    summary_lines.extend(
        f"  misclassified: {row['lang']} {row['label']} -> {r.rule}: {row['text']}"
        for row, r in zip(found, results, strict=True) if r.klass != row["label"])
    assert recall >= 0.97 and wrong <= 0.03
