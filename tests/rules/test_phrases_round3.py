"""The phrase matcher's round-3 behaviours, as general rules (rules/phrases.py), each class
in every language it applies to (en fr es de it nl pt):

- greetings, politeness and signatures around a request, in the same sentence or not
  ("Bonjour, pourriez-vous me retirer de votre liste SMS ? Bien à vous, C. Martin");
- regional and everyday words for the phone and the messages ("Natel", "GSM",
  "telemóvel", "celular", "sms'kes", "mex") and where the messages go ("on my cell",
  "auf mein Handy", "op mijn gsm", "pra esse número");
- a wrong number with "stop writing here";
- wishes in the conditional ("I'd rather not get", "gradirei non ricevere più",
  "me gustaría no recibir más", "gostaria de não receber mais");
- txt-speak ("nn", "+", "n", "vcs", "nix", "ff");
- verbs of leaving a list or ending the SMS service ("kündigen", "disdire", "opzeggen",
  "résilier", "uit te schrijven", "tira meu número");
- and what must stay out: a bare keyword beside coming to the shop ("Basta, arrivo!"),
  a STOP taken back ("my kid sent STOP, ignore it"), calls only ("text me instead"),
  "stop ou encore", "Stopp mal" (wait), cancelling another service.

The examples are written for these tests: none is copied from an in-sample set.
Nothing here reads a held-out set (eval/replies_heldout*/).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.phrases import match_phrase
from tests.support.phrases import kind as _kind

# --- greetings, politeness and signatures around a request ----------------------------

POLITE = [
    ("en", "Hello, would you mind taking my number off your texting list? Many thanks, Jo"),
    ("en", "Good morning, I would be grateful if you could stop sending me texts. Regards"),
    ("en", "Hi there could you kindly remove me from your sms list thanks Priya"),
    ("fr", "Bonjour, pourriez-vous me retirer de votre liste SMS ? Bien à vous, C. Martin"),
    ("fr", "Madame, Monsieur, je vous serais reconnaissante de ne plus m'envoyer de SMS."),
    ("fr", "Bonsoir, merci de bien vouloir supprimer mon numéro de votre fichier. Salutations"),
    ("es", "Buenas tardes, ¿podrían quitarme de su lista de mensajes? Gracias, Lucía"),
    ("es", "Estimados, les agradecería que dejaran de enviarme mensajes. Atentamente, J. Ruiz"),
    ("es", "Hola buenas borren mi número de su lista de difusión porfa saludos Tomás"),
    ("de", "Guten Tag, könnten Sie mich bitte aus Ihrem SMS-Verteiler nehmen? MfG, K. Braun"),
    ("de", "Servus, ich wäre Ihnen dankbar, wenn Sie mir keine SMS mehr schicken würden."),
    ("de", "Moin, bitte meine Nummer aus dem Verteiler löschen. Beste Grüße, Jens"),
    ("it", "Buonasera, potreste cortesemente cancellarmi dalla vostra lista SMS? Saluti, Bianchi"),
    ("it", "Salve, vi sarei grato se smetteste di inviarmi messaggi. Distinti saluti"),
    ("it", "Gentili signori, vi chiedo di rimuovere il mio numero dai vostri contatti. Grazie"),
    ("nl", "Goedemiddag, zou u mij van uw sms-lijst willen halen? Met vriendelijke groet, Els"),
    ("nl", "Beste, graag mijn nummer verwijderen uit jullie bestand. Groetjes, Bram"),
    ("nl", "Hallo, kunnen jullie mij uitschrijven voor de sms-berichten? Dank u, R. Peeters"),
    ("pt", "Boa tarde, podem retirar o meu número da vossa lista de SMS? Cumprimentos, Rui"),
    ("pt", "Olá, agradeço que deixem de me enviar mensagens. Atenciosamente, Marta"),
    ("pt", "Oi, por gentileza me tirem da lista de vcs. Abs, Fernanda"),
]


@pytest.mark.parametrize(("lang", "text"), POLITE)
def test_a_polite_request_with_greeting_and_signature_is_an_optout(lang: str,
                                                                  text: str) -> None:
    assert _kind(text) == "optout", text
    assert _kind(text, [lang]) == "optout", text


#: Per language: greetings, requests and closings (with or without a name), in the same
#: sentence or not; any combination of one language's is an opt-out.
WRAPPED = {
    "en": (["", "Hello, ", "Hi there ", "Good afternoon, ", "Dear Sir or Madam, ", "Hey guys "],
           ["please stop sending me texts", "remove my number from your list",
            "I'd prefer not to receive these texts", "could you kindly unsubscribe me"],
           ["", ".", ". Thanks", " thanks Maria", ", kind regards, T. Nguyen", " cheers"]),
    "fr": (["", "Bonjour, ", "Bonjour madame ", "Coucou ", "Madame, Monsieur, "],
           ["merci de ne plus m'envoyer de SMS", "pourriez-vous me désinscrire de la liste",
            "je souhaiterais ne plus recevoir vos offres", "arrêtez les SMS"],
           ["", ". Cordialement, A. Dubois", " merci Julien", ". Bien à vous", " svp"]),
    "es": (["", "Hola, ", "Buenas ", "Buenos días, ", "Estimados, ", "Hola qué tal "],
           ["quítenme de su lista", "no me manden más mensajes",
            "me gustaría no recibir más promociones", "dejen de mandarme promociones"],
           ["", ", saludos Andrés", ". Un saludo", " gracias Pilar", ". Atentamente, R. Gil"]),
    "de": (["", "Hallo, ", "Grüezi ", "Servus, ", "Moin ", "Sehr geehrte Damen und Herren, "],
           ["bitte ab sofort keine Werbe-SMS mehr", "melden Sie mich bitte vom Verteiler ab",
            "ich möchte keine Werbung mehr", "hört auf mir zu schreiben"],
           ["", ". Viele Grüße, Petra", " danke Jürgen", ". MfG", " LG Sabine"]),
    "it": (["", "Buongiorno, ", "Salve ", "Ciao, ", "Gentili signori, "],
           ["non mandatemi più messaggi", "toglietemi dalla vostra lista sms",
            "preferirei non ricevere più sms", "smettetela di mandarmi offerte"],
           ["", " grazie Rossi", ". Cordiali saluti", ". Saluti, G. Conti",
            " grazie mille Chiara"]),
    "nl": (["", "Hallo, ", "Goedemorgen ", "Beste, ", "Dag "],
           ["graag afmelden voor de sms-acties", "stuur me geen sms meer",
            "haal mij uit het bestand",
            "gelieve mij uit te schrijven"],
           ["", ". Groeten, J. van Dijk", " bedankt Kim", ". Mvg", " groetjes Lotte"]),
    "pt": (["", "Bom dia, ", "Olá ", "Oi, ", "Prezados, "],
           ["não quero receber mais mensagens", "parem de mandar sms",
            "gostaria de não receber mais promoções", "me tirem dessa lista de promoções"],
           ["", ". Att, Beatriz", " obrigado Paulo", ". Cumprimentos", " abs Lucas"]),
}


@given(st.sampled_from(sorted(WRAPPED)), st.data())
def test_any_greeting_request_and_signature_is_an_optout(lang: str,
                                                        data: st.DataObject) -> None:
    greetings, requests, closings = WRAPPED[lang]
    text = (data.draw(st.sampled_from(greetings)) + data.draw(st.sampled_from(requests))
            + data.draw(st.sampled_from(closings)))
    assert _kind(text, [lang]) == "optout", text
    assert _kind(text) == "optout", text


@pytest.mark.parametrize("text", ["Thanks. STOP", "Merci STOP", "Gracias Baja",
                                  "Thanks Stop texting me"])
def test_a_keyword_after_a_closing_word_is_no_signature(text: str) -> None:
    assert _kind(text) == "optout"


# --- regional words for the phone and the messages -----------------------------------

PHONE_WORDS = [
    ("en", "Stop sending promos to my cell"),
    ("en", "No more texts on my mobile please"),
    ("fr", "Arrêtez d'envoyer des SMS sur mon portable"),
    ("fr", "Plus de textos sur mon natel svp"),
    ("fr", "Supprimez mon numéro de GSM de votre liste"),
    ("fr", "Ne m'envoyez plus de pubs sur mon mobile"),
    ("es", "Dejen de mandar mensajes a mi celular"),
    ("es", "No me envíen más SMS al móvil"),
    ("es", "Borren mi número de celular de su base de datos"),
    ("de", "Keine Werbung mehr auf mein Handy bitte"),
    ("de", "Hört auf, mir SMS aufs Natel zu schicken"),
    ("de", "Löschen Sie meine Natelnummer aus Ihrer Liste"),
    ("it", "Non mandate più sms sul mio cellulare"),
    ("it", "Smettetela di scrivere al mio telefonino"),
    ("it", "Basta mex per favore"),
    ("nl", "Stuur geen berichten meer naar mijn gsm"),
    ("nl", "Stop met die smskes aub"),
    ("nl", "Geen sms'jes meer op mijn mobiel"),
    ("pt", "Parem de enviar SMS para o meu telemóvel"),
    ("pt", "Não mandem mais torpedos pro meu celular"),
    ("pt", "Retirem o meu número de telemóvel da vossa lista"),
]


@pytest.mark.parametrize(("lang", "text"), PHONE_WORDS)
def test_regional_words_for_the_phone_and_the_messages(lang: str, text: str) -> None:
    assert _kind(text, [lang]) == "optout", text
    assert _kind(text) == "optout", text


# --- a wrong number, stop writing here -------------------------------------------------

WRONG_NUMBER = [
    ("en", "Wrong number. Don't text here again"),
    ("en", "You've got the wrong person, stop messaging this phone"),
    ("fr", "Mauvais numéro, n'écrivez plus ici"),
    ("fr", "Erreur de numéro, arrêtez d'envoyer des messages à ce numéro"),
    ("es", "Número equivocado, no escriban más aquí"),
    ("es", "Se equivocaron de número, dejen de mandar mensajes acá"),
    ("de", "Falsche Nummer, schreibt mir hier nicht mehr"),
    ("de", "Verwählt. Bitte nicht mehr an diese Nummer schicken"),
    ("it", "Numero sbagliato, non scrivete più qui"),
    ("it", "Avete sbagliato numero, smettete di mandare messaggi qua"),
    ("nl", "Verkeerd nummer, stuur hier geen berichten meer naartoe"),
    ("nl", "Verkeerde persoon, stop met sms'en naar dit nummer"),
    ("pt", "Número errado, não mandem mais mensagens aqui"),
    ("pt", "Pessoa errada, parem de escrever para este número"),
]


@pytest.mark.parametrize(("lang", "text"), WRONG_NUMBER)
def test_a_wrong_number_asking_to_stop_is_an_optout(lang: str, text: str) -> None:
    assert _kind(text, [lang]) == "optout", text
    assert _kind(text) == "optout", text


@pytest.mark.parametrize("text", ["Wrong number, sorry", "Mauvais numéro, désolé",
                                  "Número equivocado, perdón", "Falsche Nummer, sorry",
                                  "Numero sbagliato, scusate", "Verkeerd nummer hoor",
                                  "Número errado, desculpe"])
def test_a_wrong_number_alone_is_not(text: str) -> None:
    assert match_phrase(text) is None


# --- wishes in the conditional ----------------------------------------------------------

WISHES = [
    ("en", "I'd rather not get any more texts from you"),
    ("en", "I would prefer not to receive these messages anymore"),
    ("en", "I'd like to stop receiving your texts"),
    ("fr", "J'aimerais ne plus recevoir vos SMS"),
    ("fr", "Je préférerais ne plus être contacté par SMS"),
    ("es", "Me gustaría no recibir más mensajes suyos"),
    ("es", "Preferiría no recibir más promociones"),
    ("es", "Quisiera dejar de recibir sus mensajes"),
    ("de", "Ich hätte gerne keine SMS mehr"),
    ("de", "Ich würde gerne keine Nachrichten mehr bekommen"),
    ("de", "Ich möchte Ihre Werbung nicht mehr erhalten"),
    ("it", "Preferirei non ricevere più sms"),
    ("it", "Vorrei non ricevere più le vostre offerte"),
    ("it", "Desidererei non essere più contattato"),
    ("nl", "Ik zou graag geen berichten meer ontvangen"),
    ("nl", "Ik ontvang liever geen sms meer"),
    ("pt", "Preferia não receber mais mensagens"),
    ("pt", "Queria deixar de receber as vossas promoções"),
    ("pt", "Gostaria de não ser mais contactada"),
]


@pytest.mark.parametrize(("lang", "text"), WISHES)
def test_a_wish_not_to_receive_is_an_optout(lang: str, text: str) -> None:
    assert _kind(text, [lang]) == "optout", text
    assert _kind(text) == "optout", text


# --- txt-speak --------------------------------------------------------------------------

TXT = [
    ("en", "pls dnt txt me no more"),
    ("fr", "vs m'envoyez + de sms svp"),
    ("fr", "svp ne m envoyez + de msgs"),
    ("es", "x favor no me manden + msjs"),
    ("es", "ya no m escriban"),
    ("de", "Schreibt mir nimmer"),
    ("de", "Bitte kei SMS meh"),
    ("de", "schickt mir nix mehr zu"),
    ("it", "nn scrivetemi + grz"),
    ("it", "nn voglio + ricevere mex"),
    ("nl", "ff uitschrijven aub"),
    ("nl", "Stuur me nie meer"),
    ("pt", "n me mandem + msg"),
    ("pt", "nao quero + sms de vcs"),
]


@pytest.mark.parametrize(("lang", "text"), TXT)
def test_txt_speak(lang: str, text: str) -> None:
    assert _kind(text, [lang]) == "optout", text


@pytest.mark.parametrize("text", ["+33 6 12 34 56 78", "+1 (555) 010-2030 is my new number",
                                  "n", "nn", "ff", "+"])
def test_txt_speak_alone_or_a_phone_number_is_nothing(text: str) -> None:
    assert match_phrase(text) is None


# --- verbs of leaving a list or ending the SMS service ------------------------------------

VERBS = [
    ("en", "Please deactivate the text alerts"),
    ("en", "Turn off these sms notifications"),
    ("en", "Unenroll me from the texting program"),
    ("fr", "Je souhaite résilier le service SMS"),
    ("fr", "Désactivez les alertes SMS svp"),
    ("es", "Quiero cancelar el servicio de SMS"),
    ("es", "Desactiven las notificaciones por SMS"),
    ("de", "Hiermit kündige ich den SMS-Service"),
    ("de", "SMS-Abo bitte kündigen"),
    ("de", "Nehmt mich aus dem Verteiler raus"),
    ("it", "Vorrei disdire l'abbonamento agli sms"),
    ("it", "Disattivate le notifiche sms"),
    ("it", "Disdite il servizio sms, grazie"),
    ("nl", "Ik wil de sms-service opzeggen"),
    ("nl", "Graag afmelden voor de sms'jes"),
    ("nl", "Gelieve ons uit te schrijven"),
    ("nl", "Kunt u mij afmelden aub"),
    ("pt", "Tira o meu número da lista"),
    ("pt", "Retira meu contato daí"),
    ("pt", "Desativem as notificações por SMS"),
]


@pytest.mark.parametrize(("lang", "text"), VERBS)
def test_verbs_of_leaving(lang: str, text: str) -> None:
    assert _kind(text, [lang]) == "optout", text


@pytest.mark.parametrize("text", [
    "Hiermit kündige ich meinen Handyvertrag", "Bitte das Fitness-Abo kündigen",
    "Vorrei disdire l'abbonamento alla palestra", "Je souhaite résilier mon forfait",
    "Quiero cancelar el pedido de ayer", "Ik wil mijn sportabonnement opzeggen",
    "Tira uma foto do produto?", "Please deactivate my old account",
    "Ich kündige meinen Handyvertrag", "Bitte mein Abo kündigen", "Zeg mijn lidmaatschap op",
    "Desativem o meu cartão", "Désactivez mon compte client svp", "Ich bestelle die Angebote",
    "Quero cancelar a assinatura da academia", "Vorrei annullare l'ordine di ieri",
    "Turn off the lights when you close", "Desactiven mi tarjeta, la perdí",
])
def test_ending_another_service_is_not(text: str) -> None:
    assert _kind(text) != "optout", text


# --- what stays out --------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "Basta, arrivo subito!", "Stop, I'm coming right over", "Basta, ya voy para allá",
    "Stopp, ich komme gleich vorbei", "Basta, vou já aí", "Stop, ik kom eraan",
])
def test_a_bare_keyword_beside_coming_to_the_shop_is_no_optout(text: str) -> None:
    assert _kind(text) != "optout", text


@pytest.mark.parametrize("text", [
    "My daughter replied STOP by mistake, please ignore it, I want your texts",
    "Ignore the stop, my kid had my phone",
    "Sorry, I sent stop by accident. I still want the deals",
    "Mon fils a envoyé STOP, ignorez-le, je veux continuer à recevoir vos offres",
    "Ignoren el STOP, fue mi hijo. Quiero seguir recibiendo sus ofertas",
    "Bitte das STOPP ignorieren, war aus Versehen",
    "Ignorate lo stop, l'ha mandato mio figlio per sbaglio",
    "Negeer die stop, dat was per ongeluk",
    "Ignorem o stop, foi engano, quero continuar recebendo",
])
def test_a_stop_taken_back_is_no_optout(text: str) -> None:
    assert _kind(text) != "optout", text


@pytest.mark.parametrize("text", [
    "Quit calling, just text", "Stop phoning me, text only please",
    "Cessez de m'appeler, écrivez-moi seulement par SMS",
    "Dejen de llamarme, mejor mándenme un mensaje",
    "Hört auf anzurufen, lieber per SMS",
    "Smettete di chiamarmi, meglio un sms",
    "Stop met bellen, stuur liever een sms",
    "Parem de me ligar, só por mensagem",
])
def test_calls_only_text_instead_is_nothing(text: str) -> None:
    assert match_phrase(text) is None, text


@pytest.mark.parametrize("text", ["Stop here", "Stop ici, on descend", "Stop aquí, por favor",
                                  "Stopp hier", "Stop hier", "Para aqui"])
def test_a_bare_keyword_before_a_place_is_no_optout(text: str) -> None:
    """Where the messages go follows a phrase ("stop texting me here"), not a bare keyword
    ("Stop here": a driver's stop)."""
    assert _kind(text) != "optout", text
    assert _kind("Stop texting me here") == "optout"


@pytest.mark.parametrize("text", [
    "ich bekomme keine SMS mehr, warum?", "ik krijg geen sms meer, hoe kan dat?",
    "Ich habe keine Nachrichten mehr erhalten", "I'd rather not get the blue one",
    "Ich will nix mehr verpassen", "Tira-me uma dúvida: entregam no Porto?",
    "Can you text me the tracking number?", "Je préfère recevoir les SMS le matin",
    "Gostaria de receber mais promoções", "Ik zou graag meer sms ontvangen",
])
def test_facts_and_wishes_for_more_are_no_optout(text: str) -> None:
    assert _kind(text) != "optout", text


@pytest.mark.parametrize("text", [
    "Stop ou encore ? Je prends les deux", "Stopp mal, gilt das auch online?",
    "haha stop it, those prices are unreal 😂", "Stop! Jaja qué precio, lo compro 😂",
])
def test_exclamations_are_no_optout(text: str) -> None:
    assert _kind(text) != "optout", text


@pytest.mark.parametrize("text", [
    "Stop by the shop on my cell's charger errand", "Which bus stop is near your Lisbon shop?",
    "Can you stop the delivery to my mobile address?", "Cancel my order please",
    "Unsubscribe me from the emails, the texts on my cell are fine",
    "Please don't stop sending me your deals", '"STOP" is written on my phone case lol',
    "Non smettete di mandarmi le offerte sul cellulare!",
    "No dejen de mandarme promos al celular",
])
def test_the_hard_none_cases_stay_out(text: str) -> None:
    assert _kind(text) != "optout", text
