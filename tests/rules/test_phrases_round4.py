"""The phrase matcher's round-4 behaviours: classes of replies, each in every language
(en fr es de it nl pt), written for these tests as people would write them (none is copied
from an in-sample set; nothing here reads a held-out set, eval/replies_heldout*/):

a. words after a complete request: insults and vocatives ("you clowns", "bande de nazes"),
   qualifiers of the messages ("promotional", "per SMS", "publicitaires"), lists and
   places ("aus Ihrer Kundendatei"), emotional tails ("for god's sake", "que saco"); and
   their near misses, another object ("stop sending me the wrong sizes"): never an opt-out;
b. words the tables lacked: list nouns (distribution list, liste d'envoi, Verteiler, lista
   de envío, lista di distribuzione, verzendlijst, lista de transmissão), verbs (enlever,
   texter, zet van de lijst), slang and diminutives for the messages (mensajitos,
   'sti messaggi, berichtjes, torpedos, SMSen);
c. a request repeated as a statement ("I've already written STOP three times");
d. a bare stop with urgency or after a threat ("Sofort aufhören!", "Nu stoppen!",
   "... I'm calling my lawyer. Stop!");
e. permissive and no-need forms ("you can stop texting me", "não precisa mandar mais nada");
f. someone else's number: a death in the family, a relative ("remove her number");
g. dialect and colloquial forms (Austrian "ka", Flemish "stopt", Roman "co' sti",
   Brazilian "para de", Québec "m'texter");
h. what must stay None: e-mail only, a STOP taken back, another object, another
   subscription;
i. reviews: reporting the number to a short code, a regulator or a fraud desk, and "I never
   signed up".

``CASES`` is the development set: (class, language, reply, expected), expected one of
"optout", "review", None, or "not optout" (a review or None, a near miss).
"""

from __future__ import annotations

import pytest

from tests.support.phrases import NOT_OPTOUT, right
from tests.support.phrases import kind as _kind

A_TAILS = [
    ("en", "Stop texting me you absolute clowns", "optout"),
    ("en", "Please stop sending me promotional texts by sms", "optout"),
    ("en", "remove me from your mailing list you vultures", "optout"),
    ("en", "Stop messaging me for god's sake", "optout"),
    ("en", "Stop sending me marketing texts from your shop", "optout"),
    ("fr", "Arrêtez de m'envoyer des SMS bande de nazes", "optout"),
    ("fr", "Merci de ne plus m'envoyer vos messages publicitaires par SMS", "optout"),
    ("fr", "Supprimez mon numéro de votre liste de diffusion ça me saoule", "optout"),
    ("fr", "Arrêtez vos SMS promotionnels tout de suite bande d'escrocs", "optout"),
    ("es", "Dejen de mandarme mensajes par de pesados", "optout"),
    ("es", "Dejen de enviarme mensajes publicitarios por SMS", "optout"),
    ("es", "Bórrenme de su lista de envío que ya me tienen harto", "optout"),
    ("es", "No me manden más mensajes promocionales pandilla de ladrones", "optout"),
    ("de", "Hört auf mir zu schreiben ihr Idioten", "optout"),
    ("de", "Schicken Sie mir keine Werbenachrichten mehr per SMS", "optout"),
    ("de", "Streichen Sie meine Handynummer aus Ihrer Kundendatei", "optout"),
    ("de", "Hören Sie auf mir Nachrichten zu schicken verdammt nochmal", "optout"),
    ("it", "Smettetela di scrivermi branco di idioti", "optout"),
    ("it", "Non mandatemi più messaggi pubblicitari via SMS", "optout"),
    ("it", "Toglietemi dalla vostra lista di distribuzione mi avete stufato", "optout"),
    ("it", "Basta con questi messaggi promozionali porca miseria", "optout"),
    ("nl", "Stop met die berichten stelletje oplichters", "optout"),
    ("nl", "Stuur me geen reclameberichten meer per sms", "optout"),
    ("nl", "Haal mijn nummer uit jullie verzendlijst het is echt irritant", "optout"),
    ("nl", "Ik wil geen promoties meer ontvangen van jullie winkel", "optout"),
    ("pt", "Parem de me mandar mensagem seus idiotas", "optout"),
    ("pt", "Não me mandem mais mensagens promocionais por SMS", "optout"),
    ("pt", "Tirem meu número da lista de transmissão de vocês que saco", "optout"),
    ("pt", "Para de me mandar essas propagandas caralho", "optout"),
    # near misses: another object
    ("en", "Stop sending me the wrong sizes!", NOT_OPTOUT),
    ("en", "Can you stop sending me paper bills? I check the app", NOT_OPTOUT),
    ("fr", "Arrêtez de m'envoyer des colis abîmés", NOT_OPTOUT),
    ("es", "Dejen de mandarme productos equivocados", NOT_OPTOUT),
    ("de", "Hören Sie auf mir die falschen Artikel zu schicken", NOT_OPTOUT),
    ("it", "Smettetela di mandarmi la merce sbagliata", NOT_OPTOUT),
    ("nl", "Stop met het sturen van papieren facturen", NOT_OPTOUT),
    ("pt", "Parem de me mandar produtos com defeito", NOT_OPTOUT),
]

B_LEXICON = [
    ("en", "Take me off your distribution list", "optout"),
    ("en", "please delete my number from your mailing list", "optout"),
    ("en", "get me off ur broadcast list", "optout"),
    ("en", "unsubscribe me from the sms service", "optout"),
    ("fr", "Pouvez-vous m'enlever de votre liste de diffusion", "optout"),
    ("fr", "Arrête de me texter", "optout"),
    ("fr", "Retirez-moi de la liste d'envoi svp", "optout"),
    ("fr", "Enlevez mon numéro de votre fichier", "optout"),
    ("es", "Quítenme de su lista de envío", "optout"),
    ("es", "Sáquenme de la lista de difusión", "optout"),
    ("es", "Dejen de mandarme mensajitos", "optout"),
    ("es", "Bórrenme de la base de datos de envíos", "optout"),
    ("de", "Löschen Sie mich aus Ihrem Verteiler", "optout"),
    ("de", "Bitte hört auf mit den SMSen", "optout"),
    ("de", "Nehmen Sie mich von der Liste", "optout"),
    ("de", "Ich möchte von Ihrer Liste gelöscht werden", "optout"),
    ("it", "Toglietemi dalla lista di distribuzione", "optout"),
    ("it", "Basta con sti messaggi", "optout"),
    ("it", "Levatemi dalla mailing list degli sms", "optout"),
    ("it", "Cancellate il mio numero dalla lista di distribuzione", "optout"),
    ("nl", "Zet mij van jullie lijst", "optout"),
    ("nl", "Stop met die berichtjes", "optout"),
    ("nl", "Haal me uit het verzendbestand", "optout"),
    ("nl", "Ik wil me afmelden voor de sms-dienst", "optout"),
    ("pt", "Me tirem da lista de envio", "optout"),
    ("pt", "Parem de mandar torpedos", "optout"),
    ("pt", "Tirem meu número da lista de transmissão", "optout"),
    ("pt", "Quero sair da lista de envio de vocês", "optout"),
]

C_REPEATED = [
    ("en", "I've already written STOP three times, why do I still get texts?", "optout"),
    ("en", "I replied STOP last week and you're still texting me", "optout"),
    ("en", "How many times do I have to say stop", "optout"),
    ("en", "I sent unsubscribe twice already!!", "optout"),
    ("fr", "J'ai déjà envoyé STOP trois fois, pourquoi je reçois encore vos SMS ?", "optout"),
    ("fr", "Ça fait trois fois que je réponds STOP", "optout"),
    ("fr", "Je vous ai écrit STOP la semaine dernière et vous continuez", "optout"),
    ("fr", "Combien de fois faut-il vous dire d'arrêter", "optout"),
    ("es", "Ya mandé BAJA tres veces y siguen escribiendo", "optout"),
    ("es", "Les he escrito STOP mil veces", "optout"),
    ("es", "¿Cuántas veces tengo que decirles que paren?", "optout"),
    ("es", "Ya respondí STOP la semana pasada, ¿por qué siguen?", "optout"),
    ("de", "Ich habe schon zweimal STOP geschickt und bekomme immer noch SMS", "optout"),
    ("de", "Hab bereits Stopp geantwortet, warum kommt noch was?", "optout"),
    ("de", "Wie oft soll ich noch STOPP schreiben?", "optout"),
    ("de", "Ich schrieb schon letzte Woche STOP!!", "optout"),
    ("it", "Ho già scritto STOP tre volte, perché continuo a ricevere messaggi?", "optout"),
    ("it", "Vi ho mandato STOP due volte", "optout"),
    ("it", "Quante volte devo scrivervi basta?", "optout"),
    ("it", "Ho risposto STOP la settimana scorsa e ancora mi scrivete", "optout"),
    ("nl", "Ik heb al drie keer STOP gestuurd, waarom krijg ik nog steeds sms'jes?", "optout"),
    ("nl", "Al twee keer stop geantwoord!!", "optout"),
    ("nl", "Hoe vaak moet ik nog stop sturen", "optout"),
    ("nl", "Vorige week STOP gestuurd en nog steeds berichten", "optout"),
    ("pt", "Já mandei SAIR três vezes e continuo recebendo", "optout"),
    ("pt", "Já respondi PARAR duas vezes!!", "optout"),
    ("pt", "Quantas vezes tenho que pedir pra parar?", "optout"),
    ("pt", "Mandei STOP semana passada e vocês continuam", "optout"),
]

D_URGENT = [
    ("en", "Stop it right now!!", "optout"),
    ("en", "STOP IMMEDIATELY", "optout"),
    ("en", "One more text and I'm calling my lawyer. Stop!", "optout"),
    ("en", "If I get another one I'm reporting you. Stop now.", "optout"),
    ("fr", "Arrêtez immédiatement !", "optout"),
    ("fr", "Stop tout de suite !", "optout"),
    ("fr", "Encore un SMS et je porte plainte. Arrêtez !", "optout"),
    ("fr", "Maintenant ça suffit, arrêtez tout de suite", "optout"),
    ("es", "¡Paren de una vez!", "optout"),
    ("es", "Ya paren!!", "optout"),
    ("es", "Si me llega otro mensaje los denuncio. ¡Basta ya!", "optout"),
    ("es", "Alto inmediatamente", "optout"),
    ("de", "Hört sofort auf!", "optout"),
    ("de", "Jetzt sofort stoppen!", "optout"),
    ("de", "Noch eine SMS und ich gehe zum Anwalt. Aufhören!", "optout"),
    ("de", "Endlich aufhören!!", "optout"),
    ("it", "Basta adesso!", "optout"),
    ("it", "Smettetela immediatamente!", "optout"),
    ("it", "Se arriva un altro messaggio chiamo l'avvocato. Basta!", "optout"),
    ("it", "Subito basta!", "optout"),
    ("nl", "Stop nu meteen!", "optout"),
    ("nl", "Nu ophouden!", "optout"),
    ("nl", "Nog één bericht en ik stap naar de advocaat. Stoppen!", "optout"),
    ("nl", "Direct stoppen aub", "optout"),
    ("pt", "Parem agora!", "optout"),
    ("pt", "Já chega, parem imediatamente", "optout"),
    ("pt", "Se mandarem mais uma vou à polícia. Parem!", "optout"),
    ("pt", "Agora parem!", "optout"),
    # near misses
    ("en", "Stop! I'm coming to the shop now, hold the jacket", NOT_OPTOUT),
    ("de", "Stopp, ich komme gleich vorbei und kaufe es", NOT_OPTOUT),
]

E_NO_NEED = [
    ("en", "You can stop texting me now, I already bought one", "optout"),
    ("en", "No need to send me anything else", "optout"),
    ("en", "you don't need to text me anymore", "optout"),
    ("en", "There's no need to keep messaging me, got the car already", "optout"),
    ("fr", "Plus besoin de m'envoyer des messages, c'est acheté", "optout"),
    ("fr", "Vous pouvez arrêter de m'écrire, j'ai déjà acheté", "optout"),
    ("fr", "Pas la peine de m'envoyer d'autres SMS", "optout"),
    ("fr", "Inutile de continuer à m'envoyer des messages", "optout"),
    ("es", "Ya no hace falta que me manden mensajes", "optout"),
    ("es", "Pueden dejar de mandarme mensajes, ya compré", "optout"),
    ("es", "No es necesario que me manden más mensajes", "optout"),
    ("es", "Ya no necesitan enviarme nada", "optout"),
    ("de", "Ihr könnt aufhören mir SMS zu schicken", "optout"),
    ("de", "Ihr braucht mir nichts mehr zu schicken", "optout"),
    ("de", "Sie müssen mir keine SMS mehr senden, hab schon gekauft", "optout"),
    ("de", "Du kannst aufhören mir zu schreiben", "optout"),
    ("it", "Non serve più che mi mandiate messaggi", "optout"),
    ("it", "Potete smettere di mandarmi messaggi, ho già comprato", "optout"),
    ("it", "Non c'è bisogno che mi mandiate altri messaggi", "optout"),
    ("it", "Non dovete più scrivermi", "optout"),
    ("nl", "U hoeft mij geen berichten meer te sturen", "optout"),
    ("nl", "Jullie mogen stoppen met sms'en, ik heb al gekocht", "optout"),
    ("nl", "Jullie hoeven mij niets meer te sturen", "optout"),
    ("nl", "Je mag stoppen met berichten sturen", "optout"),
    ("pt", "Podem parar de me mandar mensagens, já comprei", "optout"),
    ("pt", "Não precisam me enviar mais mensagens", "optout"),
    ("pt", "Não é preciso mandar mais nada", "optout"),
    ("pt", "Não precisa me mandar mais mensagem", "optout"),
    # near misses
    ("en", "No need to reply, see you Saturday", None),
    ("en", "You can stop by the store anytime", None),
    ("es", "No hace falta que me respondan hoy", None),
    ("de", "Sie können mir die Rechnung per SMS schicken", None),
    ("pt", "Não precisa mandar o boleto, já paguei", NOT_OPTOUT),
]

F_OTHERS = [
    ("en", "My mum passed away, please remove her number", "optout"),
    ("en", "My husband died in March, please stop sending texts to this number", "optout"),
    ("en", "This was my father's phone, he passed. Please take him off your list", "optout"),
    ("en", "My grandmother is deceased, please stop messaging her", "optout"),
    ("fr", "Ma mère est décédée, merci de supprimer son numéro", "optout"),
    ("fr", "Mon mari est décédé, veuillez ne plus envoyer de messages à ce numéro", "optout"),
    ("fr", "Mon père est décédé. Retirez son numéro de votre liste svp", "optout"),
    ("fr", "Mon fils n'habite plus ici, arrêtez de lui envoyer des SMS", "optout"),
    ("es", "Mi madre falleció, por favor borren su número", "optout"),
    ("es", "Mi esposo murió, dejen de enviar mensajes a este número", "optout"),
    ("es", "Mi padre falleció. Quiten su número de la lista", "optout"),
    ("es", "Mi abuela ya no está, no le manden más mensajes", "optout"),
    ("de", "Meine Mutter ist verstorben, bitte löschen Sie ihre Nummer", "optout"),
    ("de", "Mein Mann ist gestorben, bitte keine SMS mehr an diese Nummer", "optout"),
    ("de", "Mein Vater ist tot. Bitte streichen Sie seine Nummer aus der Liste", "optout"),
    ("de", "Meine Oma ist verstorben, schicken Sie ihr bitte keine Nachrichten mehr", "optout"),
    ("it", "Mia madre è morta, cancellate il suo numero per favore", "optout"),
    ("it", "Mio marito è deceduto, non mandate più messaggi a questo numero", "optout"),
    ("it", "Mio padre è mancato. Togliete il suo numero dalla lista", "optout"),
    ("it", "Mia nonna non c'è più, smettete di scriverle", "optout"),
    ("nl", "Mijn moeder is overleden, verwijder haar nummer aub", "optout"),
    ("nl", "Mijn man is gestorven, stuur geen sms meer naar dit nummer", "optout"),
    ("nl", "Mijn vader is overleden. Haal zijn nummer van de lijst", "optout"),
    ("nl", "Mijn oma is overleden, stuur haar geen berichten meer", "optout"),
    ("pt", "Minha mãe faleceu, por favor removam o número dela", "optout"),
    ("pt", "O meu marido morreu, deixem de enviar mensagens para este número", "optout"),
    ("pt", "Meu pai faleceu. Tirem o número dele da lista", "optout"),
    ("pt", "A minha avó faleceu, não mandem mais mensagens para ela", "optout"),
    # near misses
    ("en", "My mum passed away, can I use her loyalty points?", NOT_OPTOUT),
    ("fr", "Mon père est décédé, comment transférer son abonnement ?", NOT_OPTOUT),
]

G_DIALECT = [
    ("en", "quit blowin up my phone", "optout"),
    ("en", "stop textin me bruv", "optout"),
    ("en", "pack it in with the texts mate", "optout"),
    ("en", "y'all need to quit textin me", "optout"),
    ("fr", "Arrête de m'texter", "optout"),
    ("fr", "Arrêtez de m'écœurer avec vos textos", "optout"),
    ("fr", "Lâchez-moi avec vos textos", "optout"),
    ("fr", "Arrêtez de m'achaler avec vos messages", "optout"),
    ("es", "Ya dejen de mandarme mensajes neta", "optout"),
    ("es", "Dejá de mandarme mensajes che", "optout"),
    ("es", "No me manden más mensajitos porfis", "optout"),
    ("es", "Dejad de enviarme mensajes tío", "optout"),
    ("de", "Bitte ka SMS mehr", "optout"),
    ("de", "Schickt's ma kane Nachrichten mehr", "optout"),
    ("de", "Hört's auf mit de SMS", "optout"),
    ("de", "Lasst's mi in Ruh", "optout"),
    ("it", "Basta con 'sti messaggi", "optout"),
    ("it", "Mi avete rotto con 'sti sms", "optout"),
    ("it", "Non mi rompete più con 'sti messaggi", "optout"),
    ("it", "Piantatela co' sti messaggi", "optout"),
    ("nl", "Stopt nu eens met die berichtjes", "optout"),
    ("nl", "Ge moogt mij geen sms'kes meer sturen", "optout"),
    ("nl", "Stuurt mij geen berichten meer", "optout"),
    ("nl", "Laat mij gerust", "optout"),
    ("pt", "Para de me mandar mensagem", "optout"),
    ("pt", "Para de encher o saco com essas mensagens", "optout"),
    ("pt", "Vocês podiam parar de me mandar torpedo", "optout"),
    ("pt", "Parem lá com as mensagens, pá", "optout"),
]

H_NONE = [
    ("en", "Please unsubscribe me from the emails, texts are fine", None),
    ("en", "My son texted STOP by mistake, I still want the deals", None),
    ("en", "Stop sending the paper catalogue, I only want the texts", None),
    ("en", "I want to cancel my wine club subscription", None),
    ("fr", "Désinscrivez-moi des e-mails, les SMS ça va", None),
    ("fr", "Ma fille a répondu STOP par erreur, je veux continuer à recevoir les offres", None),
    ("fr", "Arrêtez d'envoyer le catalogue papier, je préfère les SMS", None),
    ("fr", "Je souhaite résilier mon abonnement à la salle de sport", None),
    ("es", "Denme de baja del correo, los SMS sí los quiero", None),
    ("es", "Mi hijo mandó BAJA sin querer, quiero seguir recibiendo las ofertas", None),
    ("es", "Dejen de mandarme el catálogo en papel, con los SMS me basta", None),
    ("es", "Quiero cancelar mi suscripción al gimnasio", None),
    ("de", "Bitte vom E-Mail-Newsletter abmelden, SMS sind okay", None),
    ("de", "Mein Sohn hat aus Versehen STOPP geschickt, ich will die Angebote weiter", None),
    ("de", "Schicken Sie mir keinen Papierkatalog mehr, SMS reichen", None),
    ("de", "Ich möchte mein Zeitschriften-Abo kündigen", None),
    ("it", "Toglietemi dalle email, gli sms li voglio", None),
    ("it", "Mio figlio ha scritto STOP per sbaglio, voglio continuare a ricevere le offerte",
     None),
    ("it", "Non mandatemi più il catalogo cartaceo, bastano gli SMS", None),
    ("it", "Voglio disdire l'abbonamento alla palestra", None),
    ("nl", "Schrijf me uit voor de nieuwsbrief per e-mail, sms is goed", None),
    ("nl", "Mijn dochter stuurde per ongeluk STOP, ik wil de aanbiedingen blijven ontvangen",
     None),
    ("nl", "Stuur me geen papieren folder meer, sms is genoeg", None),
    ("nl", "Ik wil mijn abonnement op de sportschool opzeggen", None),
    ("pt", "Me descadastrem do e-mail, os SMS podem continuar", None),
    ("pt", "Meu filho mandou SAIR sem querer, quero continuar recebendo as ofertas", None),
    ("pt", "Parem de mandar o catálogo em papel, prefiro SMS", None),
    ("pt", "Quero cancelar minha assinatura da revista", None),
]

I_REVIEW = [
    ("en", "Forwarded to 7726 as spam", "review"),
    ("en", "Reporting this number to the FTC", "review"),
    ("en", "I never signed up for this", "review"),
    ("en", "I never gave you my number", "review"),
    ("fr", "Je signale ce numéro au 33700", "review"),
    ("fr", "Numéro signalé au 33700", "review"),
    ("fr", "Je ne me suis jamais inscrit chez vous", "review"),
    ("fr", "Je ne vous ai jamais donné mon numéro", "review"),
    ("es", "Reporto este número como spam", "review"),
    ("es", "Voy a denunciar este número ante la AEPD", "review"),
    ("es", "Nunca me registré con ustedes", "review"),
    ("es", "Yo nunca les di mi número", "review"),
    ("de", "Ich melde diese Nummer der Bundesnetzagentur", "review"),
    ("de", "Weitergeleitet an die Verbraucherzentrale", "review"),
    ("de", "Ich habe mich nie bei Ihnen angemeldet", "review"),
    ("de", "Ich hab euch nie meine Nummer gegeben", "review"),
    ("it", "Segnalo questo numero all'AGCOM", "review"),
    ("it", "Ho segnalato il numero al Garante Privacy", "review"),
    ("it", "Non mi sono mai iscritto da voi", "review"),
    ("it", "Non vi ho mai dato il mio numero", "review"),
    ("nl", "Ik meld dit nummer bij de ACM", "review"),
    ("nl", "Doorgestuurd naar de Fraudehelpdesk", "review"),
    ("nl", "Ik heb me nooit bij jullie aangemeld", "review"),
    ("nl", "Ik heb jullie nooit mijn nummer gegeven", "review"),
    ("pt", "Vou denunciar esse número à Anatel", "review"),
    ("pt", "Reportei este número ao Procon", "review"),
    ("pt", "Nunca me cadastrei com vocês", "review"),
    ("pt", "Eu nunca dei meu número a vocês", "review"),
]

#: A second probe, written after the development set passed and scored once before any
#: change it could prompt: 39 of 43 right (the round-3 matcher: 17). Its four misses were
#: then fixed as classes ("e-mail" read as "e", "and", in Portuguese and Italian; French
#: "davantage"; a forwarded message; a report with the participle last).
PROBE = [
    ("en", "quit texting me you weirdos", "optout"),
    ("en", "I've told you STOP like 5 times now", "optout"),
    ("en", "My dad died last year, please delete his number", "optout"),
    ("en", "no need to text me again, bought it", "optout"),
    ("en", "Stop NOW!!!", "optout"),
    ("en", "Reported to 7726", "review"),
    ("en", "Stop sending me the blue ones, I ordered red", NOT_OPTOUT),
    ("fr", "Arrêtez de m'envoyer vos pubs par texto bande de rapaces", "optout"),
    ("fr", "Je vous ai déjà répondu STOP deux fois", "optout"),
    ("fr", "Pas besoin de m'écrire davantage", "optout"),
    ("fr", "Mon grand-père est décédé, supprimez son numéro svp", "optout"),
    ("fr", "Désabonnez-moi de la newsletter par mail, les SMS c'est ok", None),
    ("fr", "J'ai transféré ce SMS au 33700", "review"),
    ("es", "Dejen de escribirme manga de inútiles", "optout"),
    ("es", "Ya les respondí BAJA dos veces", "optout"),
    ("es", "Ya no hace falta que me escriban, gracias", "optout"),
    ("es", "Mi papá falleció, borren su número de su lista", "optout"),
    ("es", "¡Paren ya, por favor!", "optout"),
    ("es", "Nunca me suscribí a nada suyo", "review"),
    ("de", "Hört endlich auf mir Werbung zu schicken ihr Nervensägen", "optout"),
    ("de", "Ich habe euch schon mehrmals STOP geschickt", "optout"),
    ("de", "Ihr könnt aufhören mir Nachrichten zu senden", "optout"),
    ("de", "Mein Opa ist verstorben, bitte seine Nummer löschen", "optout"),
    ("de", "Bitte vom Newsletter per E-Mail abmelden, SMS sind in Ordnung", None),
    ("de", "Ich habe die Nummer der Verbraucherzentrale gemeldet", "review"),
    ("it", "Smettetela di mandarmi messaggi pubblicitari via sms", "optout"),
    ("it", "Vi ho già scritto STOP mille volte", "optout"),
    ("it", "Non c'è più bisogno che mi scriviate", "optout"),
    ("it", "Mio padre è morto, togliete il suo numero", "optout"),
    ("it", "Basta subito!", "optout"),
    ("it", "Ho inoltrato il messaggio al Garante", "review"),
    ("nl", "Stop met die sms'jes stelletje zakkenvullers", "optout"),
    ("nl", "Ik heb al 3 keer STOP gestuurd!", "optout"),
    ("nl", "Jullie hoeven me geen sms meer te sturen", "optout"),
    ("nl", "Mijn opa is overleden, haal zijn nummer uit jullie bestand", "optout"),
    ("nl", "Stoppen nu!", "optout"),
    ("nl", "Ik heb dit nummer gemeld bij de Fraudehelpdesk", "review"),
    ("pt", "Parem de me mandar propaganda seus chatos", "optout"),
    ("pt", "Já mandei PARAR três vezes", "optout"),
    ("pt", "Não precisam mandar mais mensagens, obrigado", "optout"),
    ("pt", "Meu avô faleceu, tirem o número dele", "optout"),
    ("pt", "Me tirem do e-mail, os SMS podem continuar", None),
    ("pt", "Denunciei esse número na Anatel", "review"),
]

CASES = [
    *(("a", *case) for case in A_TAILS),
    *(("b", *case) for case in B_LEXICON),
    *(("c", *case) for case in C_REPEATED),
    *(("d", *case) for case in D_URGENT),
    *(("e", *case) for case in E_NO_NEED),
    *(("f", *case) for case in F_OTHERS),
    *(("g", *case) for case in G_DIALECT),
    *(("h", *case) for case in H_NONE),
    *(("i", *case) for case in I_REVIEW),
]


@pytest.mark.parametrize(("lang", "text", "expected"), PROBE)
def test_round4_probe(lang: str, text: str, expected: str | None) -> None:
    assert right(expected, _kind(text)), (text, _kind(text))


@pytest.mark.parametrize(("cls", "lang", "text", "expected"), CASES)
def test_round4_class(cls: str, lang: str, text: str, expected: str | None) -> None:
    assert right(expected, _kind(text)), (cls, text, _kind(text))
    assert right(expected, _kind(text, [lang])), (cls, lang, text, _kind(text, [lang]))


def test_every_class_in_every_language() -> None:
    langs = {"en", "fr", "es", "de", "it", "nl", "pt"}
    for cls in "abcdefghi":
        assert {lang for c, lang, _, _ in CASES if c == cls} == langs, cls
