"""The opt-out landing page's words in each language it speaks (see gateway.http.optout).

``{name}`` is the account's display name (HTML-escaped when filled in). Every
language has every key; a test checks that.
"""

from __future__ import annotations

#: Country (ISO region of the recipient's number) -> page language; every other one: "en".
LANGUAGE_OF_REGION = {
    "FR": "fr", "MC": "fr", "LU": "fr",
    "ES": "es", "MX": "es", "AR": "es", "CO": "es", "CL": "es", "PE": "es",
    "DE": "de", "AT": "de", "CH": "de", "LI": "de",
    "IT": "it", "SM": "it", "VA": "it",
    "NL": "nl", "BE": "nl",
}

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Unsubscribe",
        "heading": "Stop marketing messages from {name}",
        "intro": "You receive text messages from {name}. Confirm below and {name} will "
                 "no longer send marketing messages to this phone number.",
        "keeps": "Messages you need, such as security codes and order updates, still arrive.",
        "confirm": "Unsubscribe",
        "done_title": "You are unsubscribed",
        "done": "{name} will not send marketing messages to this phone number any more.",
        "why": "Would you tell us why? (optional)",
        "never_subscribed": "I never signed up",
        "too_many": "Too many messages",
        "not_relevant": "Not relevant to me",
        "other": "Other reason",
        "other_text": "Anything you want to add (up to 200 characters)",
        "send": "Send",
        "thanks_title": "Thank you",
        "thanks": "Your answer has been recorded. You stay unsubscribed.",
        "missing_title": "Link not found",
        "missing": "This link is not valid. If it came in a text message, check that the "
                   "whole link was opened.",
        "expired_title": "This page has expired",
        "expired": "For your security, please open the link from your text message again.",
        "invalid_title": "This form could not be read",
        "invalid": "Nothing was changed. Please open the link from your text message again.",
        "again": "Open the page again",
        "slow_title": "Too many attempts",
        "slow": "Please wait a minute, then try again.",
        "failed_title": "Please try again",
        "failed": "We could not record your request just now. Nothing was changed; "
                  "please try again in a minute.",
    },
    "fr": {
        "title": "Désinscription",
        "heading": "Ne plus recevoir les messages publicitaires de {name}",
        "intro": "Vous recevez des SMS de {name}. Confirmez ci-dessous et {name} "
                 "n'enverra plus de messages publicitaires à ce numéro de téléphone.",
        "keeps": "Les messages utiles, comme les codes de sécurité et le suivi de vos "
                 "commandes, continuent d'arriver.",
        "confirm": "Me désinscrire",
        "done_title": "Vous êtes désinscrit",
        "done": "{name} n'enverra plus de messages publicitaires à ce numéro de téléphone.",
        "why": "Pouvez-vous nous dire pourquoi ? (facultatif)",
        "never_subscribed": "Je ne me suis jamais inscrit",
        "too_many": "Trop de messages",
        "not_relevant": "Cela ne m'intéresse pas",
        "other": "Autre raison",
        "other_text": "Précisez si vous le souhaitez (200 caractères au plus)",
        "send": "Envoyer",
        "thanks_title": "Merci",
        "thanks": "Votre réponse est enregistrée. Vous restez désinscrit.",
        "missing_title": "Lien introuvable",
        "missing": "Ce lien n'est pas valide. S'il vient d'un SMS, vérifiez que le lien "
                   "a été ouvert en entier.",
        "expired_title": "Cette page a expiré",
        "expired": "Pour votre sécurité, ouvrez à nouveau le lien reçu par SMS.",
        "invalid_title": "Ce formulaire est illisible",
        "invalid": "Rien n'a été modifié. Ouvrez à nouveau le lien reçu par SMS.",
        "again": "Rouvrir la page",
        "slow_title": "Trop de tentatives",
        "slow": "Veuillez patienter une minute, puis réessayer.",
        "failed_title": "Veuillez réessayer",
        "failed": "Votre demande n'a pas pu être enregistrée. Rien n'a été modifié ; "
                  "réessayez dans une minute.",
    },
    "es": {
        "title": "Darse de baja",
        "heading": "Dejar de recibir mensajes publicitarios de {name}",
        "intro": "Recibe mensajes de texto de {name}. Confirme abajo y {name} dejará de "
                 "enviar mensajes publicitarios a este número de teléfono.",
        "keeps": "Los mensajes necesarios, como códigos de seguridad y avisos de pedidos, "
                 "seguirán llegando.",
        "confirm": "Darme de baja",
        "done_title": "Se ha dado de baja",
        "done": "{name} ya no enviará mensajes publicitarios a este número de teléfono.",
        "why": "¿Nos dice por qué? (opcional)",
        "never_subscribed": "Nunca me suscribí",
        "too_many": "Demasiados mensajes",
        "not_relevant": "No me interesa",
        "other": "Otro motivo",
        "other_text": "Si quiere, añada algo más (200 caracteres como máximo)",
        "send": "Enviar",
        "thanks_title": "Gracias",
        "thanks": "Hemos guardado su respuesta. Sigue dado de baja.",
        "missing_title": "Enlace no encontrado",
        "missing": "Este enlace no es válido. Si le llegó por SMS, compruebe que se abrió "
                   "completo.",
        "expired_title": "Esta página ha caducado",
        "expired": "Por su seguridad, abra de nuevo el enlace de su SMS.",
        "invalid_title": "No se ha podido leer el formulario",
        "invalid": "No se ha cambiado nada. Abra de nuevo el enlace de su SMS.",
        "again": "Abrir la página de nuevo",
        "slow_title": "Demasiados intentos",
        "slow": "Espere un minuto y vuelva a intentarlo.",
        "failed_title": "Inténtelo de nuevo",
        "failed": "No hemos podido guardar su solicitud. No se ha cambiado nada; "
                  "inténtelo de nuevo en un minuto.",
    },
    "de": {
        "title": "Abmelden",
        "heading": "Keine Werbenachrichten mehr von {name}",
        "intro": "Sie erhalten SMS von {name}. Bestätigen Sie unten, und {name} sendet "
                 "keine Werbenachrichten mehr an diese Telefonnummer.",
        "keeps": "Wichtige Nachrichten wie Sicherheitscodes und Bestellinformationen "
                 "erhalten Sie weiterhin.",
        "confirm": "Abmelden",
        "done_title": "Sie sind abgemeldet",
        "done": "{name} sendet keine Werbenachrichten mehr an diese Telefonnummer.",
        "why": "Verraten Sie uns den Grund? (freiwillig)",
        "never_subscribed": "Ich habe mich nie angemeldet",
        "too_many": "Zu viele Nachrichten",
        "not_relevant": "Interessiert mich nicht",
        "other": "Anderer Grund",
        "other_text": "Möchten Sie etwas ergänzen? (höchstens 200 Zeichen)",
        "send": "Senden",
        "thanks_title": "Vielen Dank",
        "thanks": "Ihre Antwort wurde gespeichert. Sie bleiben abgemeldet.",
        "missing_title": "Link nicht gefunden",
        "missing": "Dieser Link ist ungültig. Wenn er aus einer SMS stammt, prüfen Sie, "
                   "ob er vollständig geöffnet wurde.",
        "expired_title": "Diese Seite ist abgelaufen",
        "expired": "Bitte öffnen Sie zu Ihrer Sicherheit den Link aus Ihrer SMS erneut.",
        "invalid_title": "Das Formular konnte nicht gelesen werden",
        "invalid": "Es wurde nichts geändert. Bitte öffnen Sie den Link aus Ihrer SMS erneut.",
        "again": "Seite erneut öffnen",
        "slow_title": "Zu viele Versuche",
        "slow": "Bitte warten Sie eine Minute und versuchen Sie es dann erneut.",
        "failed_title": "Bitte erneut versuchen",
        "failed": "Ihre Anfrage konnte gerade nicht gespeichert werden. Es wurde nichts "
                  "geändert; bitte versuchen Sie es in einer Minute erneut.",
    },
    "it": {
        "title": "Annulla iscrizione",
        "heading": "Non ricevere più messaggi promozionali da {name}",
        "intro": "Ricevi SMS da {name}. Conferma qui sotto e {name} non invierà più "
                 "messaggi promozionali a questo numero di telefono.",
        "keeps": "I messaggi necessari, come i codici di sicurezza e gli aggiornamenti "
                 "sugli ordini, continueranno ad arrivare.",
        "confirm": "Annulla iscrizione",
        "done_title": "Iscrizione annullata",
        "done": "{name} non invierà più messaggi promozionali a questo numero di telefono.",
        "why": "Ci dici perché? (facoltativo)",
        "never_subscribed": "Non mi sono mai iscritto",
        "too_many": "Troppi messaggi",
        "not_relevant": "Non mi interessa",
        "other": "Altro motivo",
        "other_text": "Vuoi aggiungere qualcosa? (al massimo 200 caratteri)",
        "send": "Invia",
        "thanks_title": "Grazie",
        "thanks": "La tua risposta è stata registrata. Resti disiscritto.",
        "missing_title": "Link non trovato",
        "missing": "Questo link non è valido. Se è arrivato via SMS, controlla che sia "
                   "stato aperto per intero.",
        "expired_title": "Questa pagina è scaduta",
        "expired": "Per la tua sicurezza, apri di nuovo il link ricevuto via SMS.",
        "invalid_title": "Impossibile leggere il modulo",
        "invalid": "Non è cambiato nulla. Apri di nuovo il link ricevuto via SMS.",
        "again": "Riapri la pagina",
        "slow_title": "Troppi tentativi",
        "slow": "Attendi un minuto, poi riprova.",
        "failed_title": "Riprova",
        "failed": "Non è stato possibile registrare la richiesta. Non è cambiato nulla; "
                  "riprova tra un minuto.",
    },
    "nl": {
        "title": "Afmelden",
        "heading": "Geen reclameberichten meer van {name}",
        "intro": "U ontvangt sms-berichten van {name}. Bevestig hieronder en {name} "
                 "stuurt geen reclameberichten meer naar dit telefoonnummer.",
        "keeps": "Berichten die u nodig hebt, zoals beveiligingscodes en "
                 "bestelinformatie, blijven komen.",
        "confirm": "Afmelden",
        "done_title": "U bent afgemeld",
        "done": "{name} stuurt geen reclameberichten meer naar dit telefoonnummer.",
        "why": "Wilt u ons vertellen waarom? (optioneel)",
        "never_subscribed": "Ik heb me nooit aangemeld",
        "too_many": "Te veel berichten",
        "not_relevant": "Niet interessant voor mij",
        "other": "Andere reden",
        "other_text": "Wilt u iets toevoegen? (maximaal 200 tekens)",
        "send": "Versturen",
        "thanks_title": "Bedankt",
        "thanks": "Uw antwoord is opgeslagen. U blijft afgemeld.",
        "missing_title": "Link niet gevonden",
        "missing": "Deze link is niet geldig. Kwam hij uit een sms, controleer dan of de "
                   "hele link is geopend.",
        "expired_title": "Deze pagina is verlopen",
        "expired": "Open voor uw veiligheid de link uit uw sms opnieuw.",
        "invalid_title": "Dit formulier kon niet worden gelezen",
        "invalid": "Er is niets gewijzigd. Open de link uit uw sms opnieuw.",
        "again": "Pagina opnieuw openen",
        "slow_title": "Te veel pogingen",
        "slow": "Wacht een minuut en probeer het dan opnieuw.",
        "failed_title": "Probeer het opnieuw",
        "failed": "Uw verzoek kon nu niet worden opgeslagen. Er is niets gewijzigd; "
                  "probeer het over een minuut opnieuw.",
    },
}

LANGUAGES = tuple(TEXT)
