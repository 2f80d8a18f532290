"""Word tables for the built-in class detectors, per language (EN, FR, ES, DE, IT, NL, PT).

(Offers -- discounts, promo codes, free things, bonus points -- have their own tables
in rules.offers: an offer decides before these scores.)

Entries are written naturally (accents, capitals, apostrophes); rules.detectors folds
and tokenises them exactly as it folds a message, so "Bestätigung" matches
"BESTATIGUNG" and "mot de passe" matches "Mot-de-passe". An entry of several words
is a phrase: its words must follow each other. ``qmoney`` (an amount with a
currency), ``qpct`` (a percentage), ``qdisc`` (a "-20%" style cut), ``qurl``,
``qphone``, ``qtime``, ``qdate`` and ``qref`` stand for what the detector masked in
the message before tokenising it.

Adding a word: put it in the table whose weight fits how sure the word alone makes
you, then run tests/rules/test_classify.py, which prints precision and recall on the
corpus; a word that fires in the other class's messages costs more than it brings.
"""

from __future__ import annotations

Table = dict[str, tuple[str, ...]]

# Transactional context, weight 1 each: the nouns of orders, parcels, appointments,
# bills, accounts, services and travel. Marketing uses some of them too ("your next
# order"), hence the low weight.
TRANSACTIONAL: Table = {
    "en": (
        "screen", "you've used", "tax refund",
        "fine", "penalty", "please pay", "pay by",
        "savings account", "interest rate",
        "pupil", "parents evening", "remote learning", "term",
        "renews", "locker", "pupils", "unit rate",
        "total", "ships", "trip", "fare", "receipt", "unavailable",
        "registered letter", "post office", "photo id", "video consultation", "benefit",
        "allowance",
        "issue", "engineers", "restored", "disruption", "incident", "depart", "departs",
        "departure", "platform", "doors open", "tickets", "e-tickets", "substitutions", "shopper",
        "rider", "picked", "purchase", "spend", "spent", "merchant", "tax", "trial",
        "order", "parcel", "package", "delivery", "shipment", "tracking", "track", "courier",
        "driver", "appointment", "reminder", "booking", "reservation", "balance", "payment",
        "invoice", "bill", "statement", "account", "card", "transaction", "withdrawal", "refund",
        "subscription", "membership", "flight", "gate", "boarding", "check-in", "prescription",
        "collection", "pickup", "repair", "ticket", "surgery", "clinic", "garage", "deposit",
        "loan", "claim", "renewal", "meter", "supply", "maintenance", "outage", "train", "platform",
        "departure", "arrival", "delay", "delayed", "request", "application", "confirm", "slot",
        "arriving", "atm", "jab", "vaccination", "available balance", "out for delivery",
        "on its way", "ending in", "card ending", "alert", "warning", "notice", "status",
        "reference", "seat", "seats", "row", "door", "taxi", "customs", "debit", "direct debit",
        "dentist", "doctor", "check-up", "hospital", "school", "closure", "absent", "inbox",
        "insurance", "instalment", "installment", "policy number", "top up", "technician",
        "engineer", "plumber", "electrician", "installation", "install", "meter reading", "data",
        "data allowance", "unlock", "keypad", "scheduled for", "job ref", "eta", "rent",
        "pick up", "collect",
        "bus", "coach", "quote",
    ),
    "fr": (
        "salle", "places pour", "séance", "consommé", "remboursement",
        "scolaire", "sortie scolaire", "parents d'élèves", "réunion parents",
        "prochaine échéance", "casier", "cours", "élèves", "consigne",
        "total", "trajet", "course", "reçu", "indisponible",
        "recommandée", "lettre recommandée", "bureau de poste", "pièce d'identité",
        "téléconsultation", "allocation", "prime d'activité",
        "incident", "perturbé", "perturbe", "perturbations", "rétablissement", "panne",
        "dérangement", "voie", "départ", "arrivée", "train", "tgv", "porte", "billet", "billets",
        "e-billet", "impôt", "résiliation", "essai", "se termine", "achat", "consultation",
        "borne",
        "commande", "colis", "livraison", "expédition", "suivi", "suivez", "transporteur",
        "chauffeur", "livreur", "rendez-vous", "rdv", "rappel", "réservation", "solde", "paiement",
        "facture", "relevé", "compte", "carte", "opération", "opérations", "prélèvement",
        "virement", "retrait", "remboursement", "abonnement", "cotisation", "vol", "embarquement",
        "enregistrement", "ordonnance", "garage", "véhicule", "dossier", "sinistre", "contrat",
        "échéance", "mairie", "collecte", "travaux", "coupure", "interruption", "retard", "quai",
        "demande", "montant", "immatriculé", "immatriculée", "espace client", "appareil",
        "point relais", "se terminant par", "alerte", "vigilance", "statut", "référence", "siège",
        "rang", "tribune", "taxi", "douane", "médecin", "dentiste", "docteur", "hôpital", "école",
        "collège", "lycée", "absence", "absent", "messagerie", "prêt", "assurance", "déclaration",
        "impôts", "carte vitale", "orages", "inondation", "numéro de dossier", "technicien",
        "intervention", "plombier", "installation", "compteur", "entretien", "prévue", "prévu",
        "forfait", "consommation", "atteint", "débit réduit", "réf", "dossard", "inscription",
        "courrier", "loyer", "clés", "état des lieux",
        "bus", "autocar", "devis",
    ),
    "es": (
        "sala", "entradas", "devolución", "has consumido", "se ingresará",
        "escolar", "autorización", "tutoría", "reunión de padres",
        "prima anual", "taquilla", "alumnos", "coche", "corte de agua",
        "total", "viaje", "trayecto", "no disponible",
        "carta certificada", "oficina de correos", "dni", "videoconsulta", "prestación",
        "subsidio", "beca",
        "incidencia", "avería", "restablecido", "restablecida", "de la vía", "desde la vía",
        "salida", "llegada",
        "puerta", "entradas", "billete", "billetes", "renta", "justificante", "termina", "compra",
        "movimientos", "en camino",
        "pedido", "paquete", "envío", "entrega", "seguimiento", "reparto", "repartidor",
        "conductor", "cita", "recordatorio", "reserva", "saldo", "pago", "factura", "cuenta",
        "tarjeta", "operación", "cargo", "transferencia", "retirada", "reembolso", "suscripción",
        "cuota", "vuelo", "embarque", "receta", "taller", "vehículo", "importe", "matrícula",
        "ayuntamiento", "corte", "obras", "tren", "retraso", "solicitud", "sesión", "recogida",
        "recoger", "itv", "terminada en", "saldo disponible", "aviso", "alerta", "estado",
        "referencia", "asiento", "fila", "taxi", "aduana", "aranceles", "médico", "dentista",
        "fisioterapia", "hospital", "colegio", "préstamo", "seguro", "declaración", "te recordamos",
        "tus entradas", "avísanos", "técnico", "instalar", "instalación", "contador", "lectura",
        "mantenimiento", "previsto", "prevista", "recibo", "límite", "datos", "superado",
        "velocidad reducida", "dorsal", "inscripción", "se cargará", "cargará", "alquiler",
        "cobrar",
        "autobús", "andén", "autocar", "presupuesto",
    ),
    "de": (
        "saal", "einlass", "verbraucht", "erstattung", "überwiesen",
        "guthaben", "guthaben beträgt", "aufladen",
        "zins", "zinssatz", "tagesgeld", "tagesgeldkonto", "sinkt", "steigt",
        "elternabend", "aula", "elternbrief",
        "jahresbeitrag", "unterricht", "schüler", "abholcode", "packstation",
        "gesamtbetrag", "summe", "versand", "fahrt", "beleg", "quittung", "nicht verfügbar",
        "einschreiben", "filiale", "videosprechstunde", "bafög", "zuschuss", "leistungsbescheid",
        "bescheid",
        "störung", "ausfall", "behebung", "beeinträchtigung", "abfahrt", "ankunft", "tickets",
        "abrechnung", "jahresabrechnung", "nachzahlung", "probemonat", "endet", "einkauf",
        "unterwegs",
        "bestellung", "paket", "sendung", "lieferung", "sendungsverfolgung", "zusteller", "fahrer",
        "termin", "erinnerung", "buchung", "reservierung", "kontostand", "zahlung", "rechnung",
        "konto", "karte", "kartenzahlung", "abbuchung", "überweisung", "auszahlung", "erstattung",
        "abo", "abonnement", "mitgliedsbeitrag", "flug", "rezept", "apotheke", "werkstatt",
        "fahrzeug", "betrag", "antrag", "stadtwerke", "bauarbeiten", "zug", "verspätung", "gleis",
        "abholung", "packstation", "anmeldung", "gerät", "zahlungsdaten", "hinweis", "status",
        "referenz", "sitzplatz", "reihe", "einlass", "taxi", "zoll", "arzt", "zahnarzt", "praxis",
        "krankenhaus", "schule", "nachricht", "kredit", "versicherung", "beitrag", "ausweis",
        "personalausweis", "bürgeramt", "melden sie sich an", "zur abholung", "unwetter",
        "techniker", "monteur", "installation", "zähler", "ablesung", "geplant", "datenvolumen",
        "verbraucht", "startnummer", "vertrag", "eingezogen", "miete", "kontoauszug",
        "punktestand",
        "bus", "bahnsteig", "kostenvoranschlag",
    ),
    "it": (
        "biglietti", "ingresso", "hai consumato", "consumato", "si rinnovano", "rimborso",
        "genitori", "colloqui", "scuola",
        "premio annuo", "lezioni", "alunni", "interruzione", "codice di ritiro",
        "totale", "corsa", "viaggio", "non disponibile",
        "documento d'identità", "televisita", "sussidio", "assegno", "indennità",
        "guasto", "disservizio", "ripristino", "partirà", "partenza", "arrivo", "biglietti",
        "biglietto", "cancelli", "raccomandata", "termina", "acquisto", "rider", "carrozza",
        "ordine", "pacco", "spedizione", "consegna", "tracciamento", "corriere", "autista",
        "appuntamento", "promemoria", "prenotazione", "saldo", "pagamento", "fattura", "bolletta",
        "conto", "carta", "operazione", "addebito", "bonifico", "prelievo", "rimborso",
        "abbonamento", "quota", "volo", "imbarco", "ricetta", "officina", "importo", "targa",
        "comune", "interruzione", "lavori", "treno", "ritardo", "binario", "domanda", "pratica",
        "ritiro", "dispositivo", "esito", "locker", "area riservata", "saldo disponibile",
        "che termina con", "avviso", "allerta", "stato", "riferimento", "posto", "posti", "platea",
        "settore", "taxi", "dogana", "medico", "dentista", "visita", "ospedale", "scuola",
        "prestito", "assicurazione", "ti ricordiamo", "giacenza", "ufficio postale", "disdire",
        "allerta meteo", "tecnico", "installazione", "contatore", "lettura", "manutenzione",
        "previsto", "prevista", "passerà", "raggiunto", "inclusi", "navigazione", "rallentata",
        "pettorale", "iscrizione", "ricevuta", "bollettino", "affitto", "addebitare",
        "autobus", "pullman", "preventivo",
    ),
    "nl": (
        "zaal", "ingang", "verbruikt", "teruggave", "uitbetaald",
        "rente", "spaarrekening", "daalt", "stijgt", "pinbetaling", "met pas",
        "ouderavond", "lokaal", "klas", "rapport",
        "leerlingen", "studiedag", "werkzaamheden", "geen water", "ophaalcode", "pakketautomaat",
        "totaal", "rit", "kassabon", "niet beschikbaar",
        "aangetekende brief", "postkantoor", "legitimatie", "identiteitsbewijs", "videoconsult",
        "studiefinanciering", "toeslag", "uitkering", "aangepast", "bedragen",
        "vertrekt", "vertrek", "aankomst", "e-tickets", "tickets", "afrekening", "jaarafrekening",
        "aangifte", "boodschappen", "proefperiode", "eindigt", "aankoop", "betaald",
        "bestelling", "pakket", "pakketje", "levering", "bezorging", "zending", "track", "bezorger",
        "chauffeur", "afspraak", "herinnering", "boeking", "reservering", "saldo", "betaling",
        "factuur", "rekening", "afschrift", "kaart", "transactie", "opname", "terugbetaling",
        "abonnement", "lidmaatschap", "vlucht", "gate", "instappen", "recept", "apotheek", "garage",
        "voertuig", "bedrag", "aanvraag", "storing", "onderhoud", "trein", "vertraging", "spoor",
        "ophalen", "afhaalpunt", "pakketpunt", "melding", "status", "referentie", "stoel", "rij",
        "taxi", "douane", "arts", "huisarts", "tandarts", "ziekenhuis", "school", "lening",
        "verzekering", "polis", "monteur", "installatie", "meter", "meterstand", "gepland",
        "bundel", "verbruik", "huur", "contract", "onderweg", "vandaag bezorgd", "eindigend op",
        "mijn omgeving", "inloggen", "incasso",
        "bus", "perron",
    ),
    "pt": (
        "bilhetes", "entrada", "já usou", "reembolso",
        "reunião de pais", "encarregados de educação", "turma",
        "prémio anual", "aulas", "alunos", "interrupção", "abastecimento", "cacifo",
        "total", "viagem", "corrida", "recibo", "indisponível",
        "carta registada", "correio registado", "estação de correios", "cartão de cidadão",
        "teleconsulta", "marcada", "marcado", "subsídio", "deferido", "prestação social",
        "parte da linha", "parte da plataforma", "parte às qtime", "partida", "chegada",
        "bilhetes", "bilhete", "portas abrem", "declaração",
        "submetida", "finanças", "compra", "termina", "efetuou", "recolheu",
        "encomenda", "pedido", "pacote", "entrega", "envio", "rastreio", "rastreamento",
        "transportadora", "estafeta", "motorista", "consulta", "marcação", "lembrete", "reserva",
        "saldo", "pagamento", "fatura", "conta", "extrato", "cartão", "transação", "operação",
        "levantamento", "reembolso", "assinatura", "subscrição", "voo", "embarque", "receita",
        "farmácia", "oficina", "veículo", "montante", "valor", "pedido de", "avaria", "manutenção",
        "comboio", "trem", "atraso", "linha", "recolha", "levantar", "ponto de recolha", "aviso",
        "alerta", "estado", "referência", "lugar", "fila", "táxi", "alfândega", "médico",
        "dentista", "hospital", "escola", "empréstimo", "seguro", "apólice", "técnico",
        "instalação", "contador", "leitura", "agendado", "agendada", "dados", "consumo",
        "aluguel", "renda", "contrato", "a caminho", "terminado em", "débito", "transferência",
        "autocarro", "ônibus", "plataforma", "orçamento", "área de cliente",
    ),
}

# Transactional, weight 2 each: something already happened to this recipient's order,
# money, booking or account, an account-security notice, an apology for a disruption.
TRANSACTIONAL_STRONG: Table = {
    "en": (
        "redeemed", "was redeemed", "changes to", "rate changes", "in credit",
        "will move to", "will go down to", "will go up to", "will rise by", "will rise to",
        "will fall to", "in line with your contract", "were updated", "was updated",
        "after your last visit",
        "as described in your terms", "in line with your terms", "will change to", "renews on",
        "your new premium", "no action needed",
        "will be unavailable", "thanks for your order", "thank you for your order",
        "will cost", "as announced", "price change", "price increase", "new price",
        "reply yes or no", "reply y or n", "did you just", "was this you", "was it you",
        "processed", "is now boarding", "now boarding", "has been processed",
        "shipped", "dispatched", "delivered", "confirmed", "received", "issued", "renewed",
        "charged", "debited", "credited", "paid", "due", "overdue", "declined", "failed",
        "completed", "complete", "ready", "booked", "scheduled", "requested", "approved",
        "rejected", "cancelled", "canceled", "postponed", "rescheduled", "interrupted", "password",
        "reset", "sign-in", "login", "verification", "unauthorised", "unauthorized", "suspicious",
        "not you", "wasn't you", "was not you", "didn't request", "did not request",
        "ignore this message", "sorry for the inconvenience", "has been", "was made", "arrived",
        "has arrived", "balance", "solde", "saldo", "kontostand", "collected", "will be collected",
        "could not be delivered", "tried to deliver", "show this sms", "couldn't", "could not",
        "we were unable", "accepted", "trial ends", "unless you cancel", "will be charged",
    ),
    "fr": (
        "a été utilisé", "a été utilisée",
        "baisse à", "augmente à", "passe de", "ont été mis à jour", "a été mis à jour",
        "comme prévu au contrat", "comme prévu dans votre contrat", "évolue au", "évolue le",
        "est renouvelé", "nouvelle cotisation",
        "merci pour votre commande", "sera indisponible",
        "passe à", "passera à", "augmentation tarifaire", "évolution tarifaire", "nouveau tarif",
        "répondez oui ou non", "oui ou non", "confirmez-vous", "avez-vous effectué",
        "a été effectué", "retardé", "retardée",
        "expédiée", "expédié", "livré", "livrée", "confirmé", "confirmée", "reçu", "reçue",
        "effectué", "effectuée", "émis", "renouvelé", "prélevé", "prélevés", "prélevée", "refusé",
        "refusée", "échoué", "échec", "prêt", "prête", "validé", "validée", "annulé", "annulée",
        "reporté", "reportée", "insuffisant", "mot de passe", "réinitialisation",
        "si ce n'est pas vous", "nous vous prions de nous excuser", "prise en compte", "a été",
        "ont été", "nouvelle connexion", "modifié", "bloqué", "bloquée", "bien été", "n'a pas pu",
        "n'ont pas pu",
    ),
    "es": (
        "canjeado", "canjeados",
        "baja al", "sube al", "bajará al", "subirá al", "se han actualizado", "se ha actualizado",
        "según lo previsto", "según tu contrato", "se renueva", "nueva prima", "cambiará al",
        "cambiará el", "sale a las",
        "gracias por tu pedido", "gracias por su pedido", "no estará disponible",
        "pasará a", "pasa a costar", "subida de precio", "nueva tarifa", "nuevo precio",
        "responde si o no", "responda si o no", "sí o no", "has realizado",
        "presentada correctamente", "se entregará",
        "enviado", "enviada", "entregado", "entregada", "confirmada", "confirmado", "recibido",
        "recibida", "realizado", "realizada", "renovado", "renovada", "cargarán", "pagada",
        "pagado", "rechazado", "rechazada", "lista", "listo", "solicitado", "contraseña",
        "si no has sido tú", "si no fuiste tú", "ignora este mensaje", "disculpa las molestias",
        "disculpe las molestias", "inicio de sesión", "no se ha podido", "ha sido", "se ha",
        "aprobada", "aprobado", "cambiado", "retenido", "emitido", "correctamente", "cobrarán",
        "se te cobrará", "periodo de prueba",
        "no hemos podido",
    ),
    "de": (
        "eingelöst", "wurde eingelöst",
        "sinkt auf", "steigt auf", "sinkt ab", "wurden aktualisiert", "wurde aktualisiert",
        "wie im vertrag", "ändert sich", "verlängert sich", "neuer jahresbeitrag", "neuer beitrag",
        "danke für ihre bestellung", "danke für deine bestellung",
        "vielen dank für ihre bestellung", "nicht erreichbar",
        "kostet ihr", "kostet ihre", "kostet dein", "kostet deine",
        "kostet ab", "kostet künftig", "preisanpassung", "preiserhöhung", "neuer preis",
        "ja oder nein", "antworte ja oder nein", "hast du gerade", "haben sie gerade", "bezahlt",
        "wird zugestellt",
        "versandt", "versendet", "zugestellt", "bestätigt", "erhalten", "eingegangen", "abgebucht",
        "gutgeschrieben", "verlängert", "fällig", "veranlasst", "bereit", "fertig", "abgeholt",
        "angefordert", "fehlgeschlagen", "abgelehnt", "storniert", "passwort", "zurücksetzen",
        "gutschrift", "waren sie das nicht", "nicht sie", "wir bitten um entschuldigung", "wurde",
        "neue anmeldung", "nicht zugestellt", "konnte nicht",
    ),
    "it": (
        "riscattato", "riscattati",
        "credito residuo", "saldo disponibile",
        "scende al", "sale al", "aumenterà al", "sono stati aggiornati", "è stato aggiornato",
        "come previsto dal contratto", "secondo le condizioni", "si rinnova", "nuovo premio",
        "passerà al", "cambia dal",
        "grazie per il tuo ordine", "grazie per il suo ordine", "non sarà disponibile",
        "costerà", "rimodulazione", "nuovo prezzo", "aumento del prezzo",
        "rispondi si o no", "si o no", "hai effettuato", "in ritardo",
        "spedito", "spedita", "consegnato", "consegnata", "confermata", "confermato", "ricevuto",
        "ricevuta", "effettuato", "effettuata", "rinnovato", "addebitati", "addebitato", "saldata",
        "pronta", "accolta", "approvata", "respinta", "password", "reimpostazione", "non sei tu",
        "non sei stato tu", "ci scusiamo per il disagio", "non è andato a buon fine",
        "ignora questo messaggio", "è stato", "è stata", "nuovo accesso", "cancellato",
        "cancellata", "modificata", "modificato", "chiuse", "in consegna", "tua offerta",
        "pagato correttamente", "non siamo riusciti",
    ),
    "nl": (
        "ingewisseld", "verzilverd",
        "beltegoed",
        "daalt naar", "stijgt naar", "daalt per", "stijgt per", "zijn bijgewerkt", "is bijgewerkt",
        "zoals beschreven", "wijzigt per", "wijzigt naar", "wordt verlengd", "nieuwe premie",
        "blijft gelijk",
        "bedankt voor je bestelling", "bedankt voor uw bestelling", "is niet beschikbaar",
        "prijswijziging", "prijsverhoging", "nieuwe prijs", "kost vanaf",
        "antwoord ja of nee", "ja of nee", "heeft u zojuist", "heb je zojuist", "is ontvangen",
        "verzonden", "verstuurd", "bezorgd", "afgeleverd", "bevestigd", "ontvangen", "voldaan",
        "afgeschreven", "bijgeschreven", "verlengd", "vervallen", "geweigerd", "mislukt", "klaar",
        "gereed", "geannuleerd", "verplaatst", "wachtwoord", "herstellen", "niet aangevraagd",
        "was u dit niet", "was jij dit niet", "excuses voor het ongemak", "is gewijzigd",
        "nieuwe inlog", "niet bezorgd", "kon niet", "is geblokkeerd", "ligt klaar",
        "wordt bezorgd", "is onderweg",
    ),
    "pt": (
        "resgatado", "resgatados",
        "desce para", "sobe para", "foram atualizados", "foi atualizado",
        "conforme descrito", "conforme previsto", "passa para", "renova a", "novo prémio", "muda a",
        "obrigado pela sua encomenda", "obrigado pelo seu pedido", "estará indisponível",
        "passa a custar", "vai custar", "atualização de preço", "aumento de preço", "novo preço",
        "responda sim ou não", "sim ou não", "com sucesso", "efetuou uma compra", "será entregue",
        "enviado", "enviada", "expedido", "expedida", "entregue", "confirmado", "confirmada",
        "recebido", "recebida", "efetuado", "efetuada", "renovado", "renovada", "debitado",
        "creditado", "pago", "paga", "recusado", "recusada", "falhou", "pronto", "pronta",
        "cancelado", "cancelada", "remarcado", "remarcada", "palavra-passe", "senha",
        "redefinir", "se não foi você", "se não foi o próprio", "pedimos desculpa",
        "foi alterado", "foi alterada", "novo acesso", "não foi possível", "foi bloqueado",
        "foi bloqueada", "está a caminho", "saiu para entrega", "serão debitados",
        "será debitado", "período experimental",
    ),
}

# Marketing, weight 1 each: shops, novelty, gifts, loyalty, events, seasons, calls to act.
PROMOTIONAL: Table = {
    "en": (
        "shop", "shopping", "store", "collection", "arrivals", "discover", "enjoy", "treat", "grab",
        "exclusive", "members", "member", "vip", "gift", "birthday", "free", "save", "savings",
        "deal", "deals", "price", "prices", "bargain", "win", "prize", "contest", "competition",
        "giveaway", "prizes", "invited", "invite", "opening", "tasting", "weekend", "hurry", "limited",
        "ends", "stock", "upgrade", "points", "loyalty", "redeem", "rewards", "reward", "refer",
        "recipes", "season", "christmas", "xmas", "easter", "sample", "miss you", "come back",
        "try the new", "is here", "join us", "pop in", "this week", "don't miss", "guests",
        "qmoney a month", "qmoney month", "our new", "do you know",
    ),
    "fr": (
        "boutique", "magasin", "nouveau", "nouveauté", "nouveautés", "collection", "découvrez",
        "découvrir", "profitez", "profiter", "exclusif", "exclusive", "membres", "cadeau",
        "cadeaux", "gratuit", "gratuite", "offert", "offerte", "prix", "bon plan", "gagnez",
        "gagner", "concours", "newsletter", "invite", "soirée", "inauguration", "week-end", "vite",
        "seulement", "fidélité", "points", "avantages", "parrainez", "parrainage", "noël",
        "échantillon", "enquête", "encore disponibles", "prochain achat", "prochaine commande",
        "venez", "retrouvez-nous", "plus que", "qmoney mois", "à vous", "vous attend",
        "dégustation", "places limitées", "connaissez-vous", "vous connaissez",
    ),
    "es": (
        "tienda", "novedades", "colección", "descubre", "descubrir", "aprovecha", "exclusivo",
        "exclusiva", "socios", "regalo", "regalamos", "gratis", "precio", "precios", "gana",
        "ganar", "sorteo", "concurso", "newsletter", "invitamos", "inauguración", "finde",
        "fin de semana", "última", "puntos", "canjéalos", "canjea", "amigo", "temporada", "navidad",
        "muestra", "sorpresas", "festival", "preventa", "siguen disponibles", "próxima compra",
        "próximo pedido", "pásate", "qmoney mes", "degustación", "plazas limitadas", "conoces",
        "te espera",
    ),
    "de": (
        "neuheiten", "kollektion", "entdecke", "entdecken", "exklusiv", "exklusives", "mitglieder",
        "geschenk", "schenken", "gratis", "kostenlos", "preis", "preise", "gewinne", "gewinnen",
        "newsletter", "eröffnung", "wochenende", "jetzt", "letzte", "treuepunkte", "punkte",
        "einlösen", "spare", "sparen", "sparst", "empfehlung", "weihnachten", "probe",
        "noch verfügbar", "nächste bestellung", "nächsten einkauf", "herzlich", "geburtstag",
        "qmoney monat", "wartet", "nur noch", "ist da", "teilnehmen", "schon ab", "verkostung",
        "begrenzte plätze", "kennen sie schon", "kennst du schon",
    ),
    "it": (
        "negozio", "negozi", "novità", "collezione", "scopri", "approfitta", "approfittare",
        "esclusivo", "esclusiva", "soci", "regalo", "omaggio", "gratis", "gratuito", "gratuita",
        "prezzo", "prezzi", "vinci", "vincere", "concorso", "newsletter", "aspettiamo",
        "inaugurazione", "weekend", "ultima", "punti", "buono", "amico", "stagione", "natale",
        "campione", "ancora disponibili", "prossimo ordine", "compleanno", "offriamo",
        "qmoney mese", "ti aspetta", "mancano", "degustazione", "serata", "posti limitati",
        "conosci",
    ),
    "nl": (
        "winkel", "webshop", "nieuw", "nieuwe collectie", "collectie", "ontdek", "profiteer",
        "exclusief", "leden", "cadeau", "prijs", "prijzen", "win", "winnen", "winactie",
        "nieuwsbrief", "opening", "weekend", "snel", "beperkt", "voorraad", "spaar", "punten",
        "klantenkaart", "voordeel", "verjaardag", "kerst", "pasen", "seizoen", "proeverij",
        "kom langs", "mis het niet", "op=op", "vanaf qmoney", "nu voor qmoney",
    ),
    "pt": (
        "loja", "novidades", "nova coleção", "coleção", "descubra", "aproveite", "exclusivo",
        "exclusiva", "sócios", "presente", "preço", "preços", "ganhe", "ganhar", "sorteio",
        "passatempo", "newsletter", "inauguração", "fim de semana", "última", "pontos",
        "fidelidade", "aniversário", "natal", "páscoa", "temporada", "degustação", "visite-nos",
        "não perca", "a partir de qmoney", "por apenas", "só hoje",
    ),
}

# Marketing, weight 2 each: sales, discounts, offers, coupons, free shipping, urgency,
# prices ("from qmoney"), abandoned carts.
PROMOTIONAL_STRONG: Table = {
    "en": (
        "on sale", "big sale", "summer sale", "winter sale", "sale now", "sale ends", "sale starts",
        "the sale", "our sale", "sale is on", "sales", "discount", "discounts", "promo",
        "promotion", "promotions", "offer",
        "offers", "coupon", "voucher", "clearance", "bogo", "cashback", "free shipping",
        "free delivery", "shop now", "buy now", "order now", "book now", "black friday",
        "cyber monday", "flash sale", "today only", "tonight only", "this weekend only",
        "last chance", "limited time", "back in stock", "new arrivals", "refer a friend",
        "happy hour", "prize draw", "early-bird", "early bird", "newsletter", "grand opening",
        "treat yourself", "qpct off", "qmoney off", "from qmoney", "from just qmoney",
        "only qmoney", "just qmoney", "for qmoney", "buy one get one", "2x1", "3x2", "2for1",
        "you're invited", "happy birthday", "cart", "basket", "don't miss out", "up to qpct",
        "extra qpct",
    ),
    "fr": (
        "soldes", "promo", "promotion", "promotions", "offre", "offres", "réduction", "réductions",
        "remises", "remise de qpct", "qpct de remise", "remise de qmoney", "qmoney de remise",
        "remise immédiate", "remise exceptionnelle", "bon d'achat", "code promo", "vente privée",
        "livraison offerte",
        "livraison gratuite", "frais de port offerts", "dernière chance", "jusqu'à qdisc",
        "black friday", "happy hour", "jeu concours", "à partir de qmoney", "dès qmoney",
        "seulement qmoney", "panier", "bonne fête", "vous invite", "tentez", "déstockage",
        "qmoney de réduction", "ne manquez pas", "réservez vite", "jusqu'à qpct",
    ),
    "es": (
        "rebajas", "descuento", "descuentos", "oferta", "ofertas", "promoción", "promociones",
        "promocional", "cupón", "liquidación", "chollo", "envío gratis", "envío gratuito",
        "última oportunidad", "solo hoy", "black friday", "compra ya", "no te quedes sin",
        "happy hour", "feliz cumpleaños", "desde qmoney", "solo qmoney", "por solo", "por qmoney",
        "carrito",
        "2x1", "3x2", "código promocional", "te invitamos", "qmoney de descuento", "no te pierdas",
        "reserva ya", "hasta un qpct",
    ),
    "de": (
        "im sale", "sale bis", "großer sale", "rabatt", "rabatte", "angebot", "angebote", "aktion",
        "gutschein", "gutscheine",
        "gutscheincode", "rabattcode", "reduziert", "schnäppchen", "ausverkauf", "räumungsverkauf",
        "versandkostenfrei", "letzte chance", "nur heute", "black friday", "happy hour",
        "zum preis von", "freunde werben", "bis zu qpct", "ab qmoney", "nur qmoney", "für nur",
        "warenkorb", "gewinnspiel", "alles gute zum geburtstag", "laden sie", "qmoney rabatt",
        "jetzt shoppen", "nicht verpassen", "verpassen sie nicht", "jetzt buchen", "qpct auf",
    ),
    "it": (
        "saldi", "sconto", "sconti", "scontati", "scontato", "offerta", "offerte", "promozione",
        "promozioni", "promo", "coupon", "svendita", "spedizione gratuita", "consegna gratuita",
        "ultima occasione", "solo oggi", "black friday", "happy hour", "al prezzo di",
        "codice sconto", "codice promo", "fino al qpct", "buono sconto", "invita un amico",
        "a partire da qmoney", "a soli", "carrello", "buon compleanno", "qmoney di sconto",
        "acquista ora", "non perdere", "prenota ora", "tutto al qpct",
    ),
    "nl": (
        "korting", "kortingscode", "aanbieding", "aanbiedingen", "uitverkoop",
        "opruiming", "gratis verzending", "gratis bezorging", "laatste kans",
        "alleen vandaag", "black friday", "winkelmandje", "bestel nu", "shop nu", "boek nu",
        "2e halve prijs", "1+1 gratis", "tot qpct", "qmoney korting",
    ),
    "pt": (
        "desconto", "descontos", "promoção", "promoções", "oferta", "ofertas",
        "cupão", "cupom", "portes grátis", "frete grátis", "envio grátis",
        "última oportunidade", "só hoje", "black friday", "carrinho", "compre já", "compre agora",
        "reserve já", "até qpct", "qmoney de desconto", "código promocional",
    ),
}

# An opt-out instruction: only marketing carries one. Weight 3 (rules.detectors also
# scores "STOP 36173"-style shortcode mentions).
OPTOUT_MENTION: tuple[str, ...] = (
    "reply stop", "text stop", "txt stop", "send stop", "stop sms", "stop to", "opt out", "opt-out",
    "unsubscribe", "stop au", "stop al", "stop an", "désinscription", "se désinscrire",
    "se désabonner", "baja", "abmelden", "abbestellen", "non ricevere più", "invia stop",
    "envía baja", "darse de baja", "afmelden", "uitschrijven", "stuur stop", "cancelar subscrição",
    "anular subscrição", "envie stop", "responda stop", "descadastrar",
)

# A 4-8 digit number with one of these within 12 words before it or 6 after it is a
# one-time code.
OTP_CUES: tuple[str, ...] = (
    "bestätigungsnummer", "bestatigungsnummer", "eenmalige", "clave de firma",
    "otp", "pin", "passcode", "password", "verification", "verify", "security", "login", "log",
    "sign", "signin", "authentication", "authenticate", "confirm", "confirmation", "authorise",
    "authorize", "2fa", "one-time", "pickup", "access", "passe", "vérification", "vérifier",
    "sécurité", "connexion", "authentification", "confirmer", "valider", "validation", "autoriser",
    "identification", "retrait", "finaliser", "usage unique", "accès", "clave", "contraseña",
    "verificación", "verificar", "seguridad", "acceso", "autenticación", "confirmar",
    "confirmación", "autorizar", "firmar", "solo uso", "completar", "tan", "mobiletan", "pushtan",
    "smstan", "passwort", "kennwort", "verifizierung", "sicherheit", "anmeldung",
    "authentifizierung", "bestätigung", "bestätigen", "freigabe", "freigeben", "einmalcode",
    "einmalpasswort", "abschluss", "abholcode", "verifica", "sicurezza", "accesso",
    "autenticazione", "conferma", "confermare", "autorizzare", "autorizzazione", "monouso",
    "completare", "verificatie", "verificatiecode", "beveiliging", "beveiligingscode", "inlog",
    "inloggen", "bevestig", "bevestiging", "bevestigen", "eenmalig", "wachtwoord", "toegang",
    "verificação", "verificar", "segurança", "acesso", "autenticação", "confirme", "confirmar",
    "confirmação", "autorizar", "senha", "palavra-passe", "uso único", "validação",
)

# Generic "code" words: near a number they make it a one-time code, unless the message
# speaks of a discount (then the number is a promo code: "présentez le code 2430 en
# caisse").
OTP_GENERIC_CUES: tuple[str, ...] = (
    "code", "codes", "código", "codigo", "codice", "codici", "códigos",
)

# Compound words (German mostly) ending in one of these are one-time-code cues, unless
# they start with a promo prefix ("Gutscheincode").
OTP_CUE_SUFFIXES: tuple[str, ...] = ("code", "tan", "passwort", "kennwort", "pin")
PROMO_CODE_PREFIXES: tuple[str, ...] = ("gutschein", "rabatt", "aktion", "promo", "coupon")

# Secrecy wording: only one-time codes say these. With a 4-8 digit number anywhere in
# the message, it is a one-time code (so is a short expiry: "expires in 10 minutes").
SECRECY: tuple[str, ...] = (
    "do not share", "don't share", "dont share", "never share", "not share", "never ask",
    "will never ask", "do not disclose", "do not give", "ne le partagez", "ne la partagez",
    "ne partagez", "ne communiquez", "ne le communiquez", "ne le transmettez", "ne la transmettez",
    "ne transmettez", "ne le divulguez", "ne jamais communiquer", "no lo compartas",
    "no la compartas", "no compartas", "no lo facilites", "no la facilites",
    "nunca te lo pediremos", "nunca te la pediremos", "no lo reveles", "nicht weiter",
    "mit niemandem", "niemals an", "an dritte", "nicht weitergeben", "non condividerlo",
    "non condividerla", "non condividere", "non comunicarlo", "non comunicarla", "non comunicare",
    "non divulgare", "deel deze code", "deel hem niet", "deel deze code nooit", "nooit met",
    "met niemand", "niet delen", "não partilhe", "não compartilhe", "nunca partilhe",
    "nunca compartilhe", "não o partilhe", "não forneça",
)

# Money words: an amount in a message with one of these is a payment, not a price.
MONEY_CONTEXT: tuple[str, ...] = (
    "devolución", "teruggave", "erstattung", "remboursement", "rimborso", "reembolso", "tax refund",
    "guthaben", "credito residuo", "beltegoed", "tegoed", "penalty",
    "abbuchung", "karte", "pinbetaling", "met pas", "kaart", "lastschrift",
    "beitrag", "jahresbeitrag", "kwh",
    "total", "subtotal", "order", "commande", "pedido", "bestellung", "ordine", "bestelling",
    "encomenda", "trip", "fare", "receipt", "gesamtbetrag", "summe", "totale", "totaal", "trajet",
    "viaje", "fahrt", "corsa", "rit", "viagem",
    "kostet ihr", "kostet ihre", "kostet dein", "kostet deine",
    "will cost", "passe à", "passera à", "pasará a", "kostet ab", "costerà", "kost vanaf",
    "passa a custar", "vai custar", "price change", "preisanpassung", "prijswijziging",
    "spend", "spent", "purchase", "purchases", "achat", "achats", "acquisto", "aankoop", "einkauf",
    "compras", "betaald", "bezahlt", "pagato", "pagado", "payé", "réglé", "réglés", "nachzahlung",
    "abrechnung", "afrekening", "compra", "gastado",
    "payment", "paid", "balance", "refund", "invoice", "bill", "charged", "debit", "debited",
    "credited", "withdrawal", "transaction", "amount", "statement", "card", "paiement", "solde",
    "remboursement", "facture", "prélevé", "prélevés", "prélèvement", "virement", "montant",
    "cotisation", "carte", "pago", "saldo", "reembolso", "factura", "cargo", "cargarán",
    "transferencia", "importe", "tarjeta", "compra", "alquiler", "cobrar", "recibo", "cuenta",
    "cargará", "zahlung", "kartenzahlung", "kontostand", "erstattung", "rechnung", "abgebucht",
    "überweisung", "gutschrift", "betrag", "konto", "pagamento", "rimborso", "fattura", "bolletta",
    "addebito", "addebitati", "bonifico", "importo", "conto", "carta", "affitto", "addebitare",
    "rent", "loyer", "miete", "betaling", "saldo", "factuur", "afgeschreven", "bijgeschreven",
    "terugbetaling", "bedrag", "rekening", "incasso", "huur", "pagamento", "fatura", "reembolso",
    "débito", "debitado", "creditado", "montante", "valor", "cartão", "transferência", "renda",
    "aluguel", "cobrarán", "cobrará", "cobraremos", "debitados", "será debitado", "charged",
)

# Discount words: a number near a generic "code" in a message with these is a promo code.
DISCOUNT: tuple[str, ...] = (
    "discount", "off", "promo", "coupon", "voucher", "on sale", "réduction", "remise", "soldes",
    "descuento", "cupón", "rebajas", "rabatt", "gutschein", "reduziert", "sconto", "saldi",
    "buono sconto",
)

# Compound suffixes (German mostly) for the weight-1 tables: "Stromrechnung" is a bill.
TRANSACTIONAL_SUFFIXES: tuple[str, ...] = (
    "unterbrechung", "arbeiten",
    "rechnung", "zahlung", "bestellung", "lieferung", "sendung", "buchung", "konto", "termin",
    "beitrag", "warnung", "postfach", "versicherung", "wartung", "vertrag", "abrechnung",
    "storung", "ausfall", "onderbreking", "unterbrechung", "vorgang", "sitzung",
)
PROMOTIONAL_SUFFIXES: tuple[str, ...] = (
    "kollektion", "angebot", "angebote", "rabatt", "gutschein", "punkte", "verkauf", "newsletter",
)


# Round 4: notice events in any sector, weight 1 each (transactional). Closures,
# cancellations, sessions ended, supply cuts, a classified ad's messages, a driver's
# plate: wording that plain notices use and promotions do not, so that a notice with
# no order/parcel/bill word does not fall through to ``policy.unclassified``.
NOTICE_EVENTS: Table = {
    "en": (
        "closed", "ended", "session", "supply", "interruption", "engineer", "assigned",
        "updated", "pickup", "your listing", "your ad", "new message", "plate", "resolved",
        "kwh", "ticket", "incident", "outage", "cancelled today", "parking", "expires",
    ),
    "fr": (
        "fermé", "fermée", "fermés", "fermeture", "terminé", "terminée", "session", "coupure",
        "mis à jour", "mise à jour", "votre annonce", "ton annonce", "nouveau message",
        "immatriculation", "stationnement", "résolu", "résolue", "clôturé", "clôturée", "incident",
    ),
    "es": (
        "se cancela", "cancelada", "cerrado", "cerrada", "finalizada", "finalizado", "sesión",
        "suministro", "corte", "tu anuncio", "su anuncio", "nuevo mensaje", "matrícula",
        "resuelta", "resuelto", "incidencia", "averia", "aparcamiento", "estacionamiento",
    ),
    "de": (
        "geschlossen", "beendet", "ladevorgang", "sitzung", "deiner anzeige", "ihrer anzeige",
        "neue nachricht", "kennzeichen", "parkschein", "parkzeit", "behoben", "fällt aus", "abgesagt", "störung",
    ),
    "it": (
        "chiuso", "chiusa", "terminata", "terminato", "sessione", "interruzione",
        "tuo annuncio", "suo annuncio", "nuovo messaggio", "targa", "risolto", "risolta",
        "manutenzione", "sosta", "parcheggio", "annullata", "annullato",
    ),
    "nl": (
        "gesloten", "beëindigd", "laadsessie", "onderbreking", "je advertentie",
        "uw advertentie", "nieuw bericht", "kenteken", "opgelost", "gaat niet door",
        "storing", "parkeren", "parkeersessie",
    ),
    "pt": (
        "fechada", "fechado", "encerrada", "encerrado", "terminada", "sessão", "interrupção",
        "seu anúncio", "o seu anúncio", "nova mensagem", "placa", "matrícula", "chegando",
        "a chegar", "estacionamento", "resolvido", "resolvida", "avaria",
    ),
}

# Round 4: what disguised promotions say, weight 2 each (marketing): a tier or status
# given, exclusive perks, last places, reserve now, a presale, "new in store".
PROMOTIONAL_EVENTS: Table = {
    "en": (
        "perks", "exclusive benefits", "gold status", "platinum status", "vip status",
        "last spots", "last places", "few spots left", "filling fast", "reserve yours",
        "reserve your spot", "reserve your place", "grab yours", "be one of the first",
        "book by", "try it in store", "come and try", "members only", "presale",
    ),
    "fr": (
        "avantages exclusifs", "client privilège", "dernières places", "plus que quelques places",
        "réservez votre place", "en avant-première", "avant-première", "venez les découvrir",
        "venez découvrir", "venez le découvrir", "venez la découvrir", "soirée privée",
        "prévente",
    ),
    "es": (
        "ventajas exclusivas", "cliente vip", "últimas plazas", "pocas plazas",
        "reserva ya la tuya", "reserva tu plaza", "ven a probarlo", "ven a probarla",
        "ven a conocer", "solo para socios", "preventa", "te esperamos",
    ),
    "de": (
        "exklusiven vorteile", "exklusive vorteile", "gold-mitglied", "wenige plätze",
        "jetzt anmelden", "sichern sie sich", "sichere dir", "schau vorbei", "schauen sie vorbei",
        "exklusiv für mitglieder", "vorverkauf", "wir freuen uns auf sie",
        "wir freuen uns auf dich",
    ),
    "it": (
        "vantaggi esclusivi", "cliente platinum", "cliente gold", "ultimi posti",
        "prenota subito", "vieni a scoprirla", "vieni a scoprirlo", "vieni a scoprire",
        "riservata ai soci", "prevendita", "ti aspettiamo",
    ),
    "nl": (
        "exclusieve voordelen", "platinum lid", "gold lid", "laatste plekken", "reserveer nu",
        "reserveer je plek", "exclusieve voorverkoop", "voorverkoop", "we zien je graag",
        "mis onze",
    ),
    "pt": (
        "vantagens exclusivas", "cliente platinum", "cliente gold", "últimas vagas",
        "reserve já o seu lugar", "venha conhecer", "venha experimentar", "pré-venda",
        "esperamos por si", "esperamos por você",
    ),
}
