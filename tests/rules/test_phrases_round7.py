"""The phrase matcher's round-7 behaviours: classes of replies, each in every language
(en fr es de it nl pt), written for these tests as people would write them (none is copied
from an in-sample set; nothing here reads a held-out set, eval/replies_heldout*/):

a. an explicit revocation of consent ("I withdraw my consent", "ich widerrufe meine
   Einwilligung", "ik trek mijn toestemming in"); near miss: consent to something else;
b. dismissing the number ("forget my number", "oubliez mon numéro", "olvídense de mi
   número", "lose my number"); near miss: "I forgot my number";
c. ending the SMS sending itself, formal ("cessez l'envoi de SMS", "stellen Sie den
   SMS-Versand ein", "cese el envío", "stop de verzending"); near miss: a parcel's dispatch;
d. someone else's number, a relative (a care home, a death, a child's phone), the reason
   first ("merci de ne plus lui envoyer de messages", "keine SMS mehr an meine Mutter");
e. nouns for what the messages carry: election material (Wahlwerbung, propaganda
   elettorale), reminders from a sender ("the pharmacy reminders", "os lembretes"),
   advertising ("Werbe-SMS", "reclame", "publicidad", "pubs");
f. vulgar or intensified forms ("stop f***ing texting me", "joder", "kutberichten",
   "porra", Flemish "geen goesting", Swiss "keini SMS meh");
g. an urgent command after a threat ("... Cancellate subito il mio numero", "Stop er nu
   mee");
h. what must stay not an opt-out: a bare keyword taken back in the same message ("STOP -
   sorry, ignore that, I do want the reminders"), a child's STOP taken back, e-mail only;
i. a complete request with a reason or an aside after it, unpunctuated or in txt-speak ("que
   ya no voy", "che mi svegliate", "jsuis pas intéressé", "tá bom"), and what the alerts
   are for ("cancel the text alerts for promos"); near miss: unsubscribing from a gym;
j. the number or the messages as a pronoun or a noun ("take it off your list", "smettete
   di mandarmeli", "désabonnement des SMS", "cancelar inscrição nos SMS"), a separable
   particle ("haal me van die lijst af"), a request repeated ("já pedi três vezes pra
   parar"); near miss: cancelling an order, "take it off the bill".

``CASES`` is the development set: (class, language, reply, expected), expected one of
"optout", "review", None, or "not optout" (a review or None, a near miss).
"""

from __future__ import annotations

import pytest

from tests.support.phrases import NOT_OPTOUT, right
from tests.support.phrases import kind as _kind

A_CONSENT = [
    ("en", "I hereby withdraw my consent to receive text messages from you", "optout"),
    ("en", "Revoking my consent for marketing texts, effective now", "optout"),
    ("en", "I withdraw consent", "optout"),
    ("en", "Do I need to give my consent again for the new app?", NOT_OPTOUT),
    ("fr", "Je retire mon consentement à recevoir vos SMS", "optout"),
    ("fr", "Par la présente je révoque mon consentement", "optout"),
    ("fr", "Je donne mon consentement pour la livraison", NOT_OPTOUT),
    ("es", "Revoco mi consentimiento para recibir mensajes", "optout"),
    ("es", "Retiro mi consentimiento al tratamiento de mis datos", "optout"),
    ("es", "Doy mi consentimiento para la cita", NOT_OPTOUT),
    ("de", "Ich widerrufe meine Einwilligung zum Erhalt von SMS", "optout"),
    ("de", "Hiermit ziehe ich meine Zustimmung zurück", "optout"),
    ("de", "Widerruf der Einwilligung für Werbung per SMS", "optout"),
    ("de", "Ich gebe meine Einwilligung für den Termin", NOT_OPTOUT),
    ("it", "Revoco il mio consenso al trattamento dei dati", "optout"),
    ("it", "Ritiro il consenso a ricevere SMS", "optout"),
    ("it", "Do il consenso per l'appuntamento", NOT_OPTOUT),
    ("nl", "Ik trek mijn toestemming in", "optout"),
    ("nl", "Hierbij trek ik mijn toestemming voor reclame in", "optout"),
    ("nl", "Ik geef toestemming voor de afspraak", NOT_OPTOUT),
    ("pt", "Retiro o meu consentimento para receber SMS", "optout"),
    ("pt", "Revogo meu consentimento", "optout"),
    ("pt", "Dou o meu consentimento para a consulta", NOT_OPTOUT),
]

B_FORGET = [
    ("en", "Please forget my number", "optout"),
    ("en", "lose this number mate", "optout"),
    ("en", "I forgot my number, can you tell me what's on my account?", NOT_OPTOUT),
    ("fr", "Oubliez mon numéro de téléphone", "optout"),
    ("fr", "Oubliez-moi svp", "optout"),
    ("fr", "J'ai oublié mon numéro de client", NOT_OPTOUT),
    ("es", "Olvídate de mi número por favor", "optout"),
    ("es", "Olviden mi número", "optout"),
    ("es", "Olvidé mi número de socio", NOT_OPTOUT),
    ("de", "Vergesst meine Nummer", "optout"),
    ("de", "Bitte vergessen Sie meine Handynummer", "optout"),
    ("de", "Ich habe meine Kundennummer vergessen", NOT_OPTOUT),
    ("it", "Dimenticatevi del mio numero", "optout"),
    ("it", "Dimenticate il mio numero di cellulare per favore", "optout"),
    ("it", "Ho dimenticato il mio numero cliente", NOT_OPTOUT),
    ("nl", "Vergeet mijn nummer alsjeblieft", "optout"),
    ("nl", "Vergeten jullie mijn nummer maar", "optout"),
    ("nl", "Ik ben mijn klantnummer vergeten", NOT_OPTOUT),
    ("pt", "Esqueçam meu número", "optout"),
    ("pt", "Esqueça o meu número de telemóvel", "optout"),
    ("pt", "Esqueci o meu número de cliente", NOT_OPTOUT),
]

C_SENDING = [
    ("en", "Please cease all text communications to this number", "optout"),
    ("en", "Kindly stop the sending of SMS to this number", "optout"),
    ("en", "Please stop the shipment, I ordered the wrong size", NOT_OPTOUT),
    ("fr", "Veuillez cesser l'envoi de SMS à ce numéro", "optout"),
    ("fr", "Merci d'arrêter l'envoi de vos communications", "optout"),
    ("fr", "Merci d'arrêter l'envoi du colis, je l'annule", NOT_OPTOUT),
    ("es", "Detengan el envío de mensajes a mi número", "optout"),
    ("es", "Cesen el envío de comunicaciones comerciales", "optout"),
    ("es", "Cancelen el envío del paquete por favor", NOT_OPTOUT),
    ("de", "Stellen Sie bitte den Versand von SMS an mich ein", "optout"),
    ("de", "Bitte stellen Sie die Zusendung von Nachrichten ein", "optout"),
    ("de", "Bitte stellen Sie die Lieferung ein, ich bin im Urlaub", NOT_OPTOUT),
    ("it", "Vi chiedo di cessare l'invio di SMS a questo numero", "optout"),
    ("it", "Interrompete l'invio dei messaggi", "optout"),
    ("it", "Interrompete l'invio del pacco", NOT_OPTOUT),
    ("nl", "Stop de verzending van sms-berichten naar dit nummer", "optout"),
    ("nl", "Gelieve het versturen van berichten te staken", "optout"),
    ("nl", "Stop de verzending van mijn pakket", NOT_OPTOUT),
    ("pt", "Cessem o envio de mensagens para este número", "optout"),
    ("pt", "Cancela esse esquema de mensagem aí", "optout"),
    ("pt", "Cancelem o envio da encomenda", NOT_OPTOUT),
]

D_OTHERS = [
    ("en", "My dad is in a care home now and won't be shopping. Please stop texting him", "optout"),
    ("en", "This is my son's phone, he is 9, please don't send him any more messages", "optout"),
    ("en", "My dad loves your texts, please keep sending him the deals", NOT_OPTOUT),
    ("fr", "Mon père est décédé, merci de ne plus lui envoyer de SMS", "optout"),
    ("fr", "C'est le téléphone de ma fille, ne lui envoyez plus rien", "optout"),
    ("fr", "Merci d'envoyer les promos à ma mère aussi", NOT_OPTOUT),
    ("es", "Mi abuela está en una residencia, no le manden más mensajes", "optout"),
    ("es", "Por favor dejen de enviarle mensajes a mi madre, falleció", "optout"),
    ("es", "Mándenle también las ofertas a mi madre", NOT_OPTOUT),
    ("de", "Meine Mutter ist im Pflegeheim. Bitte keine SMS mehr an meine Mutter", "optout"),
    ("de", "Das ist das Handy meines Sohnes, schicken Sie ihm bitte keine Nachrichten mehr",
     "optout"),
    ("de", "Bitte schicken Sie die Angebote auch an meine Mutter", NOT_OPTOUT),
    ("it", "Mia madre è in casa di riposo, non mandatele più messaggi", "optout"),
    ("it", "Mio padre è morto, smettete di scrivergli", "optout"),
    ("it", "Mandate le offerte anche a mia madre", NOT_OPTOUT),
    ("nl", "Mijn moeder woont nu in een verzorgingshuis, stuur haar geen berichten meer", "optout"),
    ("nl", "Dit is de telefoon van mijn zoon, stop met sms'en naar hem", "optout"),
    ("nl", "Stuur de aanbiedingen ook naar mijn moeder", NOT_OPTOUT),
    ("pt", "A minha mãe está num lar, não lhe mandem mais mensagens", "optout"),
    ("pt", "Meu pai faleceu, parem de mandar mensagem pra ele", "optout"),
    ("pt", "Mandem as promoções para a minha mãe também", NOT_OPTOUT),
]

E_NOUNS = [
    ("en", "No more campaign texts to this number", "optout"),
    ("en", "Please stop sending the dentist reminders", "optout"),
    ("en", "Stop sending political messages", "optout"),
    ("en", "Can you send the reminders a day earlier?", NOT_OPTOUT),
    ("fr", "Plus de propagande électorale sur ce numéro", "optout"),
    ("fr", "Arrêtez vos pubs", "optout"),
    ("fr", "Arrêtez de m'envoyer les rappels de la pharmacie", "optout"),
    ("es", "Basta de propaganda electoral", "optout"),
    ("es", "No me manden más publicidad", "optout"),
    ("es", "Dejen de enviarme los recordatorios de la farmacia", "optout"),
    ("de", "Keine Wahlwerbung mehr bitte", "optout"),
    ("de", "Schicken Sie mir keine Werbe-SMS mehr", "optout"),
    ("de", "Bitte keine Erinnerungen der Praxis mehr", "optout"),
    ("de", "Können Sie die Erinnerungen einen Tag früher schicken?", NOT_OPTOUT),
    ("it", "Basta propaganda elettorale su questo numero", "optout"),
    ("it", "Non mandatemi più i promemoria della farmacia", "optout"),
    ("it", "Niente più pubblicità per favore", "optout"),
    ("nl", "Geen verkiezingsreclame meer naar dit nummer", "optout"),
    ("nl", "Stuur geen reclame meer", "optout"),
    ("nl", "Stop met de herinneringen van de apotheek", "optout"),
    ("pt", "Chega de propaganda eleitoral", "optout"),
    ("pt", "Parem de mandar os lembretes da farmácia", "optout"),
    ("pt", "Não quero mais publicidade", "optout"),
]

F_VULGAR = [
    ("en", "stop f*cking texting me", "optout"),
    ("en", "stop effing messaging me", "optout"),
    ("en", "Stop fricking texting me, jeez", "optout"),
    ("fr", "Arrêtez de m'envoyer vos putains de SMS", "optout"),
    ("fr", "Arrêtez vos conneries de pubs", "optout"),
    ("es", "Dejad de mandarme mensajes, joder", "optout"),
    ("es", "Dejen de darme la lata con los sms", "optout"),
    ("es", "no me manden más mierdas", "optout"),
    ("de", "Hört verdammt nochmal auf mir SMS zu schicken", "optout"),
    ("de", "Keini Nachrichte meh bitte", "optout"),
    ("de", "Kei SMS meh", "optout"),
    ("it", "Smettetela di mandarmi messaggi cazzo", "optout"),
    ("it", "Basta con sti cazzo di messaggi", "optout"),
    ("nl", "Stop met die kutsms'jes", "optout"),
    ("nl", "Ik heb geen goesting in die berichten", "optout"),
    ("nl", "Hou op met die klote berichten", "optout"),
    ("pt", "Parem de me mandar essas porcarias", "optout"),
    ("pt", "Para de mandar mensagem, porra", "optout"),
    ("pt", "Chega dessa porra de SMS", "optout"),
]

G_URGENT = [
    ("en", "One more text and I'm calling my lawyer. Delete my number now.", "optout"),
    ("en", "I'll report you to the FCC. Stop it right now.", "optout"),
    ("fr", "Je vais porter plainte. Supprimez immédiatement mon numéro.", "optout"),
    ("fr", "Encore un SMS et j'appelle la CNIL. Arrêtez tout de suite.", "optout"),
    ("es", "Os denuncio a la AEPD. Borren mi número ya.", "optout"),
    ("es", "Si me llega otro os denuncio. Paren ya.", "optout"),
    ("de", "Ich melde Sie der Verbraucherzentrale. Sofort aufhören!", "optout"),
    ("de", "Noch eine SMS und ich gehe zum Anwalt. Löschen Sie sofort meine Nummer.", "optout"),
    ("it", "Vi denuncio al Garante. Cancellate immediatamente il mio numero.", "optout"),
    ("it", "Se continuate chiamo l'avvocato. Smettetela subito.", "optout"),
    ("nl", "Ik stap naar de ACM. Stop er onmiddellijk mee.", "optout"),
    ("nl", "Nog één bericht en ik dien een klacht in. Verwijder nu mijn nummer.", "optout"),
    ("pt", "Vou ao Procon. Apaguem já o meu número.", "optout"),
    ("pt", "Vou denunciar. Parem imediatamente.", "optout"),
]

H_TAKEN_BACK = [
    ("en", "STOP - oops, ignore that, sent it by mistake, I still want the reminders", NOT_OPTOUT),
    ("en", "Stop. Sorry, wrong chat, disregard", NOT_OPTOUT),
    ("en", "Unsubscribe me from the email newsletter please, the texts are fine", NOT_OPTOUT),
    ("en", "My son replied STOP, please ignore it, we want the alerts", NOT_OPTOUT),
    ("fr", "STOP — pardon, c'était une erreur, je veux garder les rappels", NOT_OPTOUT),
    ("fr", "Désinscrivez-moi des e-mails, les SMS ça va", NOT_OPTOUT),
    ("fr", "Mon fils a envoyé STOP par erreur, je veux continuer à recevoir les SMS", NOT_OPTOUT),
    ("es", "BAJA — perdón, me equivoqué, quiero seguir recibiendo los avisos", NOT_OPTOUT),
    ("es", "Mi hijo mandó BAJA sin querer, ignórenlo por favor", NOT_OPTOUT),
    ("es", "Bórrenme del boletín por correo, los SMS sí los quiero", NOT_OPTOUT),
    ("de", "STOPP \u2013 sorry, vertippt, bitte ignorieren, ich will die SMS weiter", NOT_OPTOUT),
    ("de", "Mein Sohn hat STOP geschickt, bitte ignorieren", NOT_OPTOUT),
    ("de", "Bitte vom E-Mail-Newsletter abmelden, die SMS sind in Ordnung", NOT_OPTOUT),
    ("it", "STOP... scusate, errore mio, voglio continuare a ricevere gli SMS", NOT_OPTOUT),
    ("it", "Mio figlio ha scritto STOP per errore, ignoratelo", NOT_OPTOUT),
    ("it", "Toglietemi dalla newsletter email, gli SMS vanno bene", NOT_OPTOUT),
    ("nl", "STOP - sorry, vergissing, negeer dat maar, ik wil de berichten houden", NOT_OPTOUT),
    ("nl", "Mijn dochter stuurde STOP per ongeluk, negeer het aub", NOT_OPTOUT),
    ("nl", "Schrijf me uit voor de e-mails, de sms'jes zijn prima", NOT_OPTOUT),
    ("pt", "PARAR — desculpem, foi engano, quero continuar a receber", NOT_OPTOUT),
    ("pt", "O meu filho mandou SAIR sem querer, ignorem por favor", NOT_OPTOUT),
    ("pt", "Tirem-me da newsletter por e-mail, os SMS estão ótimos", NOT_OPTOUT),
]

I_ASIDES = [
    ("en", "cancel the sms alerts for deals, I shop in store anyway", "optout"),
    ("en", "Please remove me from your list I moved away", "optout"),
    ("en", "Cancel my gym membership for next month please", NOT_OPTOUT),
    ("fr", "Ne m'envoyez plus de SMS jsuis plus client", "optout"),
    ("fr", "Arrêtez vos SMS, ça suffit", "optout"),
    ("fr", "Je veux me désinscrire du club de foot", NOT_OPTOUT),
    ("es", "Sáquenme de la lista que ya me mudé", "optout"),
    ("es", "No me manden más mensajes que me tienen harto", "optout"),
    ("es", "Quiero darme de baja del gimnasio", NOT_OPTOUT),
    ("de", "Keine Werbung mehr, ich bin umgezogen", "optout"),
    ("de", "Also bitte keine SMS mehr", "optout"),
    ("de", "Ich will mich vom Fitnessstudio abmelden", NOT_OPTOUT),
    ("it", "Non mandatemi più messaggi che mi svegliate alle sette", "optout"),
    ("it", "Non scrivetemi più sul mio natel", "optout"),
    ("it", "Vorrei disdire la palestra", NOT_OPTOUT),
    ("nl", "Stuur me geen berichten meer, ik ben verhuisd", "optout"),
    ("nl", "Allee, stop ermee", "optout"),
    ("nl", "Ik wil me afmelden voor de zwemles", NOT_OPTOUT),
    ("pt", "Parem de mandar mensagem tá bom", "optout"),
    ("pt", "Me tirem da lista, valeu", "optout"),
    ("pt", "Quero cancelar a academia", NOT_OPTOUT),
]

J_FORMS = [
    ("en", "This was my late father's phone, take it off your list please", "optout"),
    ("en", "Can you take it off the bill?", NOT_OPTOUT),
    ("fr", "Désinscription des SMS svp", "optout"),
    ("fr", "C'est la deuxième fois que je réponds STOP", "optout"),
    ("fr", "Désinscription du cours de danse", NOT_OPTOUT),
    ("es", "Por favor me quitan de su lista de difusión", "optout"),
    ("es", "O dejáis de escribirme o me quejo", "optout"),
    ("es", "Por favor me quitan el pedido 3321", NOT_OPTOUT),
    ("de", "Nix mehr senden bitte", "optout"),
    ("de", "Verschonen Sie mich mit Ihren Nachrichten", "optout"),
    ("de", "Bitte hören's auf, mir zu schreiben", "optout"),
    ("de", "Nix mehr zu sagen, danke für die Hilfe", NOT_OPTOUT),
    ("it", "Smettete di inviarmeli per favore", "optout"),
    ("it", "È un numero di servizio, cancellatelo dalla vostra lista", "optout"),
    ("it", "Cancellatelo, ho sbagliato ordine", NOT_OPTOUT),
    ("nl", "Haal mijn nummer uit het bestand af", "optout"),
    ("nl", "Haal me van de lijst af aub", "optout"),
    ("nl", "Haal me van het station af", NOT_OPTOUT),
    ("pt", "Já pedi duas vezes para parar", "optout"),
    ("pt", "Cancelar assinatura dos SMS", "optout"),
    ("pt", "Cancelar assinatura da revista", NOT_OPTOUT),
]

CASES = [
    *(("a", *case) for case in A_CONSENT),
    *(("b", *case) for case in B_FORGET),
    *(("c", *case) for case in C_SENDING),
    *(("d", *case) for case in D_OTHERS),
    *(("e", *case) for case in E_NOUNS),
    *(("f", *case) for case in F_VULGAR),
    *(("g", *case) for case in G_URGENT),
    *(("h", *case) for case in H_TAKEN_BACK),
    *(("i", *case) for case in I_ASIDES),
    *(("j", *case) for case in J_FORMS),
]


@pytest.mark.parametrize(("cls", "lang", "text", "expected"), CASES)
def test_round7_class(cls: str, lang: str, text: str, expected: str | None) -> None:
    assert right(expected, _kind(text)), (cls, text, _kind(text))
    assert right(expected, _kind(text, [lang])), (cls, lang, text, _kind(text, [lang]))


def test_every_class_in_every_language() -> None:
    langs = {"en", "fr", "es", "de", "it", "nl", "pt"}
    for cls in "abcdefghij":
        assert {lang for c, lang, _, _ in CASES if c == cls} == langs, cls
