"""Deterministic generator of labelled PII text (for tests/test_pii.py and bench/pii_eval.py).

``generate(n, seed)`` returns ``n`` records, the same ones for the same arguments (one seeded
``random.Random``; no clock, no hash order)::

    {"id": "gen-00042", "lang": "de", "text": "...",
     "spans": [(start, end, type), ...],            # gold PII, type in pipeline.stages.pii.TYPES
     "negatives": [(start, end, kind), ...],         # hard negatives: look like PII, are not (policy)
     "items": [{"start", "end", "type" (or None), "kind", "fmt", "value"}, ...]}

Composition: each record is a filler sentence in its language, then 1-3 items, each inside a sentence of
that language (ended by a full stop when the item ends it), sometimes another filler sentence; about 15% of
records are contact blocks, 2-4 PII items one per line, as in imprint and footer text. An item is PII with
probability 0.62, else a hard negative. ``generate(3000)`` holds about 960 phone numbers, 720 emails, 570
cards, 530 IBANs, 570 IPs, 290 SSNs and 70-130 of each hard-negative kind.

Languages: en, de, fr, es, it, nl, pl, pt, plus ja (no spaces between words) and ru (Cyrillic).

PII (gold ``type``; ``fmt`` says how it was written):

- ``email``: local parts first.last, flast, first_last, first-last, firstlast, first.last+tag, role
  accounts (info@, kontakt@), digits; provider domains per country, company domains with subdomains
  (mail., sales.), internationalized domains (bäckerei-müller.de, łódź-sklep.pl), universities, country
  TLDs and second-level ccTLDs (.co.uk, .com.au, .com.br, .co.jp).
- ``phone``: valid numbers (``phonenumbers.is_valid_number``) of US, CA, GB, IE, AU, IN, DE, AT, CH, FR,
  BE, ES, MX, AR, IT, NL, PL, BR, PT, JP, RU, fixed line and mobile, digits randomized from
  ``example_number_for_type`` keeping a 1-3 digit prefix. ``fmt`` (then ``:country``): ``intl`` (+CC with
  spaces, dashes, no separators, dots where dots are customary (FR, BE, US, CA), ``+49 (0)30 ...``,
  ``+1 (212) ...``), ``intl00`` (00CC), or as written locally: spaces, dashes, dots (FR, BE, US, CA),
  slashes ``030/1234567``, parentheses ``(212) 555-0199``, no separators -- ``national`` for the country
  whose region the detector reads that language in first, ``national_other`` for another country where the
  language is spoken (a UK number in English text, a Swiss one in German text).
- ``credit_card``: Luhn-valid Visa (16 digits; 1 in 10 the old 13-digit kind, printed ungrouped),
  Mastercard (51-55, 2221-2720), Amex (15, 4-6-5), Discover, JCB, Diners (14, 4-6-4), UnionPay (16, 19);
  grouped by spaces or dashes, or ungrouped.
- ``ssn``: valid US SSNs (``stdnum.us.ssn``), ``123-45-6789``; 15% ``123 45 6789`` (fmt ``spaces``). In
  English text (15% Spanish).
- ``iban``: 23 countries, random BBAN of the country's structure, valid check digits and national checks
  (``stdnum.iban.is_valid``), printed in groups of four (fmt ``spaced``) or compact.
- ``ip_address``: public IPv4 (``is_global``; sometimes followed by ``:port``) and public IPv6 in 2000::/3
  (full, or compressed with ``::``; some upper case).

Hard negatives (``kind``; none of these is PII under pipeline/stages/pii.py's policy):

``private_ip`` (10/8, 172.16/12, 192.168/16, 127/8, 169.254/16, documentation ranges, ::1, fe80::,
fd00::/8, 2001:db8::/32 -- kept by policy, as datatrove does), ``version`` (1.2.3.4, v2.6.32.5,
10.0.19041.1, kernel, browser and package versions), ``section`` (4.2.13.1), ``date`` and ``timestamp``
(ISO, European, US, log formats, Unix seconds and milliseconds), ``isbn`` (ISBN-10/13, with and without
dashes), ``product_number`` (order, tracking, EAN-13, article and invoice numbers), ``uuid``, ``hash``
(md5, sha1, sha256, git short), ``mac``, ``price``, ``big_number`` (thousands separated by spaces, dots,
commas), ``zip`` (postcodes of several countries), ``gps``, ``semver_range``, ``card_invalid`` (issuer
prefix and length, Luhn-invalid), ``iban_invalid`` (valid structure, wrong check digits), ``ssn_invalid``
(area 000, 666 or 9xx; English text only: elsewhere 666-12-3456 may be a phone number, Spanish and Polish
mobiles start with 6).

Not generated (out of scope, or supported by none of the tools compared): obfuscated emails (``name [at]
host``), non-ASCII local parts, vanity numbers (1-800-FLOWERS), names, postal addresses.

``nemo_records(folder)`` reads NeMo-Curator's tagged test lines into records of the same shape.
"""

from __future__ import annotations

import ipaddress
import random
import string

import phonenumbers
from phonenumbers import PhoneNumberFormat as PNF
from phonenumbers import PhoneNumberType as PNT
from stdnum import iban as _iban
from stdnum import isbn as _isbn
from stdnum import luhn
from stdnum import numdb
from stdnum.ean import calc_check_digit as ean_check
from stdnum.us import ssn as _ssn

LANGS = ("en", "de", "fr", "es", "it", "nl", "pl", "pt", "ja", "ru")
# The region the detector reads national numbers in, per language (pipeline.stages.pii.DEFAULT_REGIONS).
HOME = {"en": "US", "de": "DE", "fr": "FR", "es": "ES", "it": "IT", "nl": "NL", "pl": "PL", "pt": "BR",
        "ja": "JP", "ru": "RU"}
# Countries whose numbers we write, and the languages their pages are written in.
PHONE_COUNTRIES = {"US": ("en", "es"), "CA": ("en", "fr"), "GB": ("en",), "IE": ("en",), "AU": ("en",),
                   "IN": ("en",), "DE": ("de",), "AT": ("de",), "CH": ("de", "fr", "it"), "FR": ("fr",),
                   "BE": ("fr", "nl"), "ES": ("es",), "MX": ("es",), "AR": ("es",), "IT": ("it",),
                   "NL": ("nl",), "PL": ("pl",), "BR": ("pt",), "PT": ("pt",), "JP": ("ja",), "RU": ("ru",)}
TRUNK_PAREN = {"DE", "AT", "CH", "GB", "NL", "BE", "FR", "IE"}  # "+49 (0)30 ..." is written there
DOTS = {"FR", "BE", "US", "CA"}  # "01.23.45.67.89", "212.555.0199" are written there
IBAN_COUNTRIES = ("DE", "FR", "ES", "IT", "NL", "PL", "PT", "BE", "AT", "CH", "GB", "IE", "LU", "SE", "NO", "DK",
                  "FI", "BR", "CZ", "GR", "HU", "RO", "TR")

PII_WEIGHTS = {"email": 1.0, "phone": 1.6, "credit_card": 0.9, "ssn": 0.6, "iban": 0.9, "ip_address": 0.9}
NEG_KINDS = ("private_ip", "version", "section", "date", "timestamp", "isbn", "product_number", "uuid", "hash",
             "mac", "price", "big_number", "zip", "gps", "semver_range", "card_invalid", "iban_invalid",
             "ssn_invalid")

FIRST = {"en": ["john", "mary", "james", "linda", "robert", "susan", "michael", "emily", "david", "sarah"],
         "de": ["juergen", "anna", "lukas", "sabine", "thomas", "katrin", "stefan", "julia", "matthias", "petra"],
         "fr": ["jean", "marie", "pierre", "camille", "nicolas", "sophie", "antoine", "claire", "julien", "elise"],
         "es": ["jose", "lucia", "javier", "carmen", "alejandro", "maria", "pablo", "elena", "sergio", "laura"],
         "it": ["giuseppe", "giulia", "marco", "francesca", "luca", "chiara", "andrea", "sara", "matteo", "elisa"],
         "nl": ["jan", "sanne", "pieter", "femke", "daan", "lotte", "bram", "eva", "sven", "anouk"],
         "pl": ["piotr", "anna", "krzysztof", "agnieszka", "tomasz", "katarzyna", "pawel", "magda", "marcin", "ewa"],
         "pt": ["joao", "ana", "pedro", "beatriz", "lucas", "mariana", "rafael", "juliana", "tiago", "ines"],
         "ja": ["taro", "hanako", "yuki", "kenji", "sakura", "hiroshi", "aiko", "takumi", "yui", "daiki"],
         "ru": ["ivan", "olga", "dmitry", "natalia", "sergey", "elena", "alexey", "irina", "pavel", "anna"]}
LAST = {"en": ["smith", "johnson", "williams", "brown", "jones", "miller", "davis", "wilson", "taylor", "clark"],
        "de": ["mueller", "schmidt", "schneider", "fischer", "weber", "meyer", "wagner", "becker", "hoffmann"],
        "fr": ["martin", "bernard", "dubois", "thomas", "robert", "richard", "petit", "durand", "leroy"],
        "es": ["garcia", "fernandez", "gonzalez", "rodriguez", "lopez", "martinez", "sanchez", "perez"],
        "it": ["rossi", "russo", "ferrari", "esposito", "bianchi", "romano", "colombo", "ricci", "marino"],
        "nl": ["dejong", "jansen", "devries", "vandenberg", "bakker", "visser", "smit", "meijer", "mulder"],
        "pl": ["nowak", "kowalski", "wisniewski", "wojcik", "kowalczyk", "kaminski", "lewandowski", "zielinski"],
        "pt": ["silva", "santos", "oliveira", "souza", "pereira", "costa", "ferreira", "almeida", "carvalho"],
        "ja": ["sato", "suzuki", "takahashi", "tanaka", "watanabe", "ito", "yamamoto", "nakamura"],
        "ru": ["ivanov", "smirnov", "kuznetsov", "popov", "vasiliev", "petrov", "sokolov", "mikhailov"]}
PROVIDERS = {"en": ["gmail.com", "yahoo.com", "outlook.com", "hotmail.co.uk", "btinternet.com", "bigpond.com.au",
                    "rediffmail.com", "icloud.com", "aol.com"],
             "de": ["gmx.de", "web.de", "t-online.de", "gmx.at", "bluewin.ch", "posteo.de", "freenet.de"],
             "fr": ["orange.fr", "free.fr", "laposte.net", "wanadoo.fr", "sfr.fr", "skynet.be", "gmail.com"],
             "es": ["gmail.com", "hotmail.es", "yahoo.es", "telefonica.net", "prodigy.net.mx", "yahoo.com.ar"],
             "it": ["libero.it", "virgilio.it", "tiscali.it", "alice.it", "gmail.com", "hotmail.it"],
             "nl": ["ziggo.nl", "kpnmail.nl", "hetnet.nl", "planet.nl", "telenet.be", "gmail.com"],
             "pl": ["wp.pl", "onet.pl", "o2.pl", "interia.pl", "gazeta.pl", "poczta.fm"],
             "pt": ["uol.com.br", "bol.com.br", "terra.com.br", "sapo.pt", "gmail.com", "hotmail.com"],
             "ja": ["yahoo.co.jp", "docomo.ne.jp", "ezweb.ne.jp", "gmail.com", "nifty.com"],
             "ru": ["mail.ru", "yandex.ru", "rambler.ru", "bk.ru", "list.ru", "gmail.com"]}
COMPANY_WORDS = ["acme", "nordwind", "blue-river", "techsolutions", "alpha-log", "greenfield", "datavision",
                 "hausbau", "studio42", "mediapoint", "fastcargo", "optima"]
CCTLD = {"en": ["com", "co.uk", "com.au", "in", "ie", "ca", "org", "net", "io"],
         "de": ["de", "at", "ch", "com", "eu", "info"], "fr": ["fr", "be", "ch", "com", "eu"],
         "es": ["es", "com.mx", "com.ar", "com", "org"], "it": ["it", "com", "eu", "org"],
         "nl": ["nl", "be", "com", "eu"], "pl": ["pl", "com.pl", "eu", "com"], "pt": ["com.br", "pt", "com"],
         "ja": ["co.jp", "jp", "ne.jp", "com"], "ru": ["ru", "com", "su", "org"]}
IDN_WORDS = {"de": ["bäckerei-müller", "gärtnerei", "straßenbau-köhler"], "fr": ["café-lumière", "élysée-immo"],
             "es": ["señal", "diseño-peña"], "pl": ["łódź-sklep", "źródło"], "pt": ["ação-imóveis", "cação"]}
UNIVERSITIES = ["cs.uni-heidelberg.de", "student.uva.nl", "ens.fr", "dept.ox.ac.uk", "mail.polimi.it",
                "alumnos.upm.es", "usp.br", "uw.edu.pl", "u-tokyo.ac.jp", "mit.edu"]

# Sentences around PII: "{}" is the item.
PII_TPL = {
    "en": {"email": ["Please send your application to {} by Friday.", "Contact: {}", "You can reach me at {} anytime.",
                     "For press inquiries email {} or use the form.", "My email is {}, feel free to drop me a line."],
           "phone": ["Call us at {} for a free quote.", "Phone: {}", "You can call me on {} after 6pm.",
                     "Customer service ({}) is open Monday to Friday.", "Mobile: {} (WhatsApp too)"],
           "credit_card": ["My card number is {} and it expires next year.", "Card: {}",
                           "Charged to card {} on the last invoice.", "He paid with {} at the counter."],
           "ssn": ["My SSN is {}.", "Social Security Number: {}", "The form asks for your SSN ({}) on page 2.",
                   "Employee SSN {} was entered twice."],
           "iban": ["Please transfer the amount to IBAN {} within 14 days.", "IBAN: {}", "Account {} (BIC below)."],
           "ip_address": ["The login came from {} at night.", "Server IP: {}", "Banned user with IP {} again.",
                          "Ping {} to check the connection."]},
    "de": {"email": ["Bitte senden Sie Ihre Bewerbung an {} bis Freitag.", "E-Mail: {}", "Schreiben Sie uns unter {}.",
                     "Bei Fragen wenden Sie sich an {} oder an die Zentrale."],
           "phone": ["Telefon: {}", "Rufen Sie uns an unter {} (Mo-Fr 9-17 Uhr).", "Tel. {}", "Mobil: {}",
                     "Sie erreichen mich unter {} oder per Mail."],
           "credit_card": ["Kartennummer: {}", "Die Zahlung erfolgte mit der Kreditkarte {} am Schalter.",
                           "Meine neue Kreditkartennummer ist {}."],
           "ssn": ["Seine amerikanische Sozialversicherungsnummer (SSN) lautet {}."],
           "iban": ["Bankverbindung: IBAN {}", "Bitte überweisen Sie den Betrag auf das Konto {}.", "IBAN: {}"],
           "ip_address": ["Der Zugriff kam von der IP-Adresse {}.", "IP: {}", "Der Server {} antwortet nicht."]},
    "fr": {"email": ["Envoyez votre candidature à {} avant vendredi.", "Courriel : {}", "Écrivez-nous à {}.",
                     "Pour toute question, contactez {} ou notre accueil."],
           "phone": ["Téléphone : {}", "Appelez-nous au {} du lundi au vendredi.", "Tél. {}", "Portable : {}",
                     "Vous pouvez me joindre au {} ou par courriel."],
           "credit_card": ["Numéro de carte : {}", "Le paiement a été fait avec la carte {} au guichet.",
                           "Mon nouveau numéro de carte bancaire est {}."],
           "ssn": ["Son numéro de sécurité sociale américain (SSN) est {}."],
           "iban": ["Coordonnées bancaires : IBAN {}", "Merci de virer le montant sur le compte {}.", "IBAN : {}"],
           "ip_address": ["La connexion venait de l'adresse IP {}.", "IP : {}", "Le serveur {} ne répond plus."]},
    "es": {"email": ["Envíe su solicitud a {} antes del viernes.", "Correo: {}", "Escríbenos a {}.",
                     "Para más información, contacte con {} o con recepción."],
           "phone": ["Teléfono: {}", "Llámenos al {} de lunes a viernes.", "Tel. {}", "Móvil: {}",
                     "Puedes llamarme al {} por la tarde."],
           "credit_card": ["Número de tarjeta: {}", "El pago se hizo con la tarjeta {} en caja.",
                           "Mi nuevo número de tarjeta de crédito es {}."],
           "ssn": ["Mi número de Seguro Social es {}.", "Número de Seguro Social (SSN): {}"],
           "iban": ["Datos bancarios: IBAN {}", "Por favor, transfiera el importe a la cuenta {}.", "IBAN: {}"],
           "ip_address": ["El acceso vino de la dirección IP {}.", "IP: {}", "El servidor {} no responde."]},
    "it": {"email": ["Invia la tua candidatura a {} entro venerdì.", "Email: {}", "Scrivici a {}.",
                     "Per informazioni contattare {} oppure la segreteria."],
           "phone": ["Telefono: {}", "Chiamaci al {} dal lunedì al venerdì.", "Tel. {}", "Cellulare: {}",
                     "Potete contattarmi al {} dopo le 18."],
           "credit_card": ["Numero di carta: {}", "Il pagamento è stato fatto con la carta {} alla cassa.",
                           "Il mio nuovo numero di carta di credito è {}."],
           "ssn": ["Il suo numero di previdenza sociale americano (SSN) è {}."],
           "iban": ["Coordinate bancarie: IBAN {}", "Si prega di bonificare l'importo sul conto {}.", "IBAN: {}"],
           "ip_address": ["L'accesso proveniva dall'indirizzo IP {}.", "IP: {}", "Il server {} non risponde."]},
    "nl": {"email": ["Stuur je sollicitatie naar {} voor vrijdag.", "E-mail: {}", "Mail ons op {}.",
                     "Voor vragen kunt u terecht bij {} of de receptie."],
           "phone": ["Telefoon: {}", "Bel ons op {} (ma-vr 9-17 uur).", "Tel. {}", "Mobiel: {}",
                     "Je kunt me bereiken op {} of via mail."],
           "credit_card": ["Kaartnummer: {}", "De betaling is gedaan met creditcard {} aan de balie.",
                           "Mijn nieuwe creditcardnummer is {}."],
           "ssn": ["Zijn Amerikaanse burgerservicenummer (SSN) is {}."],
           "iban": ["Bankgegevens: IBAN {}", "Gelieve het bedrag over te maken op rekening {}.", "IBAN: {}"],
           "ip_address": ["De login kwam van IP-adres {}.", "IP: {}", "De server {} reageert niet."]},
    "pl": {"email": ["Prosimy przesłać zgłoszenie na adres {} do piątku.", "E-mail: {}", "Napisz do nas: {}.",
                     "W razie pytań prosimy o kontakt: {} lub sekretariat."],
           "phone": ["Telefon: {}", "Zadzwoń do nas pod numer {} od poniedziałku do piątku.", "Tel. {}",
                     "Komórka: {}", "Możesz do mnie dzwonić pod {} po 18."],
           "credit_card": ["Numer karty: {}", "Płatność kartą {} przy kasie.",
                           "Mój nowy numer karty kredytowej to {}."],
           "ssn": ["Jego amerykański numer ubezpieczenia społecznego (SSN) to {}."],
           "iban": ["Dane do przelewu: IBAN {}", "Prosimy o przelew na konto {}.", "IBAN: {}"],
           "ip_address": ["Logowanie nastąpiło z adresu IP {}.", "IP: {}", "Serwer {} nie odpowiada."]},
    "pt": {"email": ["Envie seu currículo para {} até sexta-feira.", "E-mail: {}", "Escreva para {}.",
                     "Em caso de dúvidas, contate {} ou a recepção."],
           "phone": ["Telefone: {}", "Ligue para {} de segunda a sexta.", "Tel. {}", "Celular: {}",
                     "Você pode me ligar no {} depois das 18h."],
           "credit_card": ["Número do cartão: {}", "O pagamento foi feito com o cartão {} no caixa.",
                           "O número do meu novo cartão de crédito é {}."],
           "ssn": ["O número de seguro social americano (SSN) dele é {}."],
           "iban": ["Dados bancários: IBAN {}", "Por favor, transfira o valor para a conta {}.", "IBAN: {}"],
           "ip_address": ["O acesso veio do endereço IP {}.", "IP: {}", "O servidor {} não responde."]},
    "ja": {"email": ["お問い合わせは{}までお願いします。", "メール：{}", "連絡先: {}"],
           "phone": ["電話番号：{}", "お電話は{}（平日9時〜17時）まで。", "TEL {}", "携帯: {}"],
           "credit_card": ["カード番号：{}", "クレジットカード {} で支払いました。"],
           "ssn": ["米国社会保障番号（SSN）：{}"],
           "iban": ["振込先IBAN：{}", "IBAN {} へお振込みください。"],
           "ip_address": ["IPアドレス {} からのアクセスがありました。", "IP：{}"]},
    "ru": {"email": ["Присылайте резюме на {} до пятницы.", "Эл. почта: {}", "Пишите нам: {}."],
           "phone": ["Телефон: {}", "Звоните по номеру {} с понедельника по пятницу.", "Тел. {}", "Моб.: {}"],
           "credit_card": ["Номер карты: {}", "Оплата картой {} на кассе."],
           "ssn": ["Его американский номер социального страхования (SSN): {}."],
           "iban": ["Банковские реквизиты: IBAN {}", "IBAN: {}"],
           "ip_address": ["Вход был с IP-адреса {}.", "IP: {}", "Сервер {} не отвечает."]},
}
# Sentences around hard negatives, per language ("{}" is the item, with its lead-in word if any).
NEG_TPL = {
    "en": ["See {} for details.", "{}", "Updated: {}", "The manual refers to {} here.", "Note ({})."],
    "de": ["Siehe {} für Details.", "{}", "Stand: {}", "Im Handbuch steht dazu {}.", "Hinweis ({})."],
    "fr": ["Voir {} pour les détails.", "{}", "Mise à jour : {}", "Le manuel indique {} ici.", "Remarque ({})."],
    "es": ["Véase {} para más detalles.", "{}", "Actualizado: {}", "El manual indica {} aquí.", "Nota ({})."],
    "it": ["Vedi {} per i dettagli.", "{}", "Aggiornato: {}", "Il manuale indica {} qui.", "Nota ({})."],
    "nl": ["Zie {} voor details.", "{}", "Bijgewerkt: {}", "De handleiding noemt {} hier.", "Let op ({})."],
    "pl": ["Zobacz {} po szczegóły.", "{}", "Aktualizacja: {}", "Podręcznik podaje tu {}.", "Uwaga ({})."],
    "pt": ["Veja {} para detalhes.", "{}", "Atualizado: {}", "O manual indica {} aqui.", "Nota ({})."],
    "ja": ["詳細は{}を参照してください。", "{}", "更新：{}", "マニュアルでは{}と記載。"],
    "ru": ["Подробнее см. {}.", "{}", "Обновлено: {}", "В руководстве указано {}."],
}
LEAD = {  # lead-in words of some negatives (language-dependent), chosen with probability 0.7
    "version": {"en": ["version", "Version", "release", "build"], "de": ["Version", "Release", "Build"],
                "fr": ["version", "build"], "es": ["versión", "build"], "it": ["versione", "build"],
                "nl": ["versie", "build"], "pl": ["wersja", "build"], "pt": ["versão", "build"],
                "ja": ["バージョン"], "ru": ["версия"]},
    "section": {"en": ["section", "Section", "§", "Table", "Figure"], "de": ["Abschnitt", "Kapitel", "§", "Tabelle"],
                "fr": ["section", "chapitre", "§", "tableau"], "es": ["sección", "capítulo", "§"],
                "it": ["sezione", "capitolo", "§"], "nl": ["paragraaf", "hoofdstuk", "§"],
                "pl": ["rozdział", "punkt", "§"], "pt": ["seção", "capítulo", "§"], "ja": ["節", "§"],
                "ru": ["раздел", "§"]},
    "product_number": {"en": ["Order #", "Order no.", "Tracking number", "Item", "SKU", "Invoice"],
                       "de": ["Bestellnummer", "Art.-Nr.", "Sendungsnummer", "Rechnung Nr."],
                       "fr": ["Commande n°", "Réf.", "Numéro de suivi", "Facture n°"],
                       "es": ["Pedido n.º", "Ref.", "Número de seguimiento", "Factura"],
                       "it": ["Ordine n.", "Cod. art.", "Numero di tracking", "Fattura n."],
                       "nl": ["Bestelnummer", "Art.nr.", "Track & trace", "Factuur"],
                       "pl": ["Zamówienie nr", "Nr art.", "Numer przesyłki", "Faktura nr"],
                       "pt": ["Pedido nº", "Cód.", "Código de rastreio", "Nota fiscal"],
                       "ja": ["注文番号", "品番", "追跡番号"], "ru": ["Заказ №", "Артикул", "Трек-номер"]},
    "date": {"en": ["on", "since", "until"], "de": ["am", "seit", "bis"], "fr": ["le", "depuis", "jusqu'au"],
             "es": ["el", "desde", "hasta"], "it": ["il", "dal", "fino al"], "nl": ["op", "sinds", "tot"],
             "pl": ["dnia", "od", "do"], "pt": ["em", "desde", "até"], "ja": ["日付"], "ru": ["от", "до"]},
}
FILLER = {
    "en": ["We updated the page last week.", "Thanks for reading our newsletter.", "The office moved downtown.",
           "Registration closes soon.", "All prices include VAT.", "Here is the information you asked for."],
    "de": ["Wir haben die Seite letzte Woche aktualisiert.", "Vielen Dank für Ihr Interesse.",
           "Das Büro ist umgezogen.", "Die Anmeldung endet bald.", "Alle Preise inkl. MwSt."],
    "fr": ["Nous avons mis à jour la page la semaine dernière.", "Merci de votre intérêt.",
           "Le bureau a déménagé.", "Les inscriptions ferment bientôt.", "Tous les prix sont TTC."],
    "es": ["Actualizamos la página la semana pasada.", "Gracias por su interés.", "La oficina se ha mudado.",
           "La inscripción cierra pronto.", "Todos los precios incluyen IVA."],
    "it": ["Abbiamo aggiornato la pagina la settimana scorsa.", "Grazie per l'interesse.", "L'ufficio si è trasferito.",
           "Le iscrizioni chiudono presto.", "Tutti i prezzi sono IVA inclusa."],
    "nl": ["We hebben de pagina vorige week bijgewerkt.", "Bedankt voor je interesse.", "Het kantoor is verhuisd.",
           "De inschrijving sluit binnenkort.", "Alle prijzen zijn inclusief btw."],
    "pl": ["Zaktualizowaliśmy stronę w zeszłym tygodniu.", "Dziękujemy za zainteresowanie.",
           "Biuro zostało przeniesione.", "Zapisy wkrótce się kończą.", "Wszystkie ceny zawierają VAT."],
    "pt": ["Atualizamos a página na semana passada.", "Obrigado pelo interesse.", "O escritório mudou de endereço.",
           "As inscrições terminam em breve.", "Todos os preços incluem impostos."],
    "ja": ["先週ページを更新しました。", "ご関心をお寄せいただきありがとうございます。", "事務所は移転しました。"],
    "ru": ["Мы обновили страницу на прошлой неделе.", "Спасибо за интерес.", "Офис переехал."],
}
BLOCK_LABEL = {  # contact-block labels per language
    "en": {"email": "Email", "phone": "Phone", "iban": "IBAN", "credit_card": "Card", "ip_address": "IP",
           "ssn": "SSN"},
    "de": {"email": "E-Mail", "phone": "Tel.", "iban": "IBAN", "credit_card": "Karte", "ip_address": "IP",
           "ssn": "SSN"},
    "fr": {"email": "Courriel", "phone": "Tél.", "iban": "IBAN", "credit_card": "Carte", "ip_address": "IP",
           "ssn": "SSN"},
}


class Gen:
    def __init__(self, seed: int = 0):
        self.r = random.Random(seed)

    def digits(self, n: int) -> str:
        return "".join(self.r.choice(string.digits) for _ in range(n))

    # ------------------------------------------------------------------ PII
    def email(self, lang: str) -> tuple[str, str]:
        r = self.r
        f, l = r.choice(FIRST[lang]), r.choice(LAST[lang])
        style = r.choice(["first.last", "flast", "first_last", "first-last", "firstlast", "plus", "digits", "role",
                          "last.first"])
        local = {"first.last": f"{f}.{l}", "flast": f"{f[0]}{l}", "first_last": f"{f}_{l}",
                 "first-last": f"{f}-{l}", "firstlast": f"{f}{l}", "plus": f"{f}.{l}+{r.choice(['news', 'shop', 'x'])}",
                 "digits": f"{f}{r.randint(1, 99)}", "last.first": f"{l}.{f}",
                 "role": r.choice(["info", "kontakt", "contact", "office", "support", "jobs"])}[style]
        if r.random() < 0.2:
            local = local.capitalize()
        kind = r.random()
        if kind < 0.45:
            domain = r.choice(PROVIDERS[lang])
        elif kind < 0.85:
            domain = f"{r.choice(COMPANY_WORDS)}.{r.choice(CCTLD[lang])}"
            if lang in IDN_WORDS and r.random() < 0.15:  # internationalized domain name
                domain = f"{r.choice(IDN_WORDS[lang])}.{r.choice(CCTLD[lang][:2])}"
            if r.random() < 0.3:
                domain = f"{r.choice(['mail', 'support', 'sales', 'de', 'eu'])}.{domain}"
        else:
            domain = r.choice(UNIVERSITIES)
        return f"{local}@{domain}", style

    def phone_number(self, country: str) -> phonenumbers.PhoneNumber:
        r = self.r
        ntype = r.choice([PNT.FIXED_LINE, PNT.MOBILE])
        ex = phonenumbers.example_number_for_type(country, ntype) or phonenumbers.example_number(country)
        nsn = phonenumbers.national_significant_number(ex)
        for attempt in range(200):
            keep = min(len(nsn) - 4, r.choice([1, 2, 2, 3]) if attempt < 150 else len(nsn) - 4)
            cand = nsn[:keep] + self.digits(len(nsn) - keep)
            num = phonenumbers.parse("+" + str(ex.country_code) + cand)
            if phonenumbers.is_valid_number(num) and phonenumbers.region_code_for_number(num) == country:
                return num
        return ex

    def phone(self, lang: str) -> tuple[str, str, str]:
        r = self.r
        countries = [c for c, ls in PHONE_COUNTRIES.items() if lang in ls]
        home = HOME[lang]
        country = home if (home in countries and r.random() < 0.5) else r.choice(countries)
        num = self.phone_number(country)
        style = r.random()
        if style < 0.45:  # international
            s = phonenumbers.format_number(num, PNF.INTERNATIONAL)
            cc = str(num.country_code)
            rest = s[len(cc) + 2:]
            v = r.random()
            fmt = "intl"
            if v < 0.15:
                s = s.replace(" ", "-", 1 if r.random() < 0.5 else 99).replace("--", "-")
            elif v < 0.25 and country in DOTS:
                s = "+" + cc + " " + rest.replace(" ", ".").replace("-", ".")
            elif v < 0.35:
                s = phonenumbers.format_number(num, PNF.E164)
            elif v < 0.50 and country in TRUNK_PAREN:
                s = f"+{cc} (0){rest}"
            elif v < 0.50 and cc == "1":
                nsn = phonenumbers.national_significant_number(num)
                s = f"+1 ({nsn[:3]}) {nsn[3:6]}-{nsn[6:]}"
            elif v < 0.75:
                s = "00" + s[1:]
                fmt = "intl00"
            return s, fmt, country
        s = phonenumbers.format_number(num, PNF.NATIONAL)
        v = r.random()
        if v < 0.15:
            s = s.replace("(", "").replace(") ", "-").replace(" ", "-")
        elif v < 0.27 and country in DOTS:
            s = s.replace(" ", ".").replace("-", ".").replace("(", "").replace(")", "")
        elif v < 0.37:
            s = "".join(c for c in s if c.isdigit())
        elif v < 0.47 and country in ("DE", "AT", "CH") and " " in s:
            a, b = s.split(" ", 1)
            s = f"{a}/{b.replace(' ', '')}"
        elif v < 0.57 and country in ("US", "CA"):
            d = "".join(c for c in s if c.isdigit())
            s = f"{d[:3]}-{d[3:6]}-{d[6:]}"
        return s, ("national" if country == home else "national_other"), country

    def card(self) -> tuple[str, str]:
        r = self.r
        issuer = r.choice(["visa", "visa", "mastercard", "mastercard", "amex", "discover", "jcb", "diners", "unionpay"])
        prefix, n = {
            "visa": ("4", 13 if r.random() < 0.1 else 16),
            "mastercard": (str(r.choice([r.randint(51, 55), r.randint(2221, 2720)])), 16),
            "amex": (r.choice(["34", "37"]), 15),
            "discover": (r.choice(["6011", str(r.randint(644, 649)), "65"]), 16),
            "jcb": (str(r.randint(3528, 3589)), 16),
            "diners": (r.choice([str(r.randint(300, 305)), "36", "38"]), 14),
            "unionpay": ("62", r.choice([16, 16, 19])),
        }[issuer]
        body = prefix + self.digits(n - len(prefix) - 1)
        d = body + luhn.calc_check_digit(body)
        return (d if n == 13 else self.group_card(d)), issuer  # 13-digit Visa: old, printed ungrouped

    def group_card(self, d: str) -> str:
        r = self.r
        sep = r.choice([" ", " ", "-", ""])
        if not sep:
            return d
        if len(d) in (14, 15):
            return sep.join([d[:4], d[4:10], d[10:]])
        return sep.join(d[i:i + 4] for i in range(0, len(d), 4))

    def ssn(self) -> tuple[str, str]:
        r = self.r
        while True:
            area = r.choice([i for i in range(1, 900) if i != 666])
            s = f"{area:03d}-{r.randint(1, 99):02d}-{r.randint(1, 9999):04d}"
            if _ssn.is_valid(s):
                break
        if r.random() < 0.15:
            return s.replace("-", " "), "spaces"
        return s, "dashes"

    def bban(self, cc: str) -> str:
        r = self.r
        out = []
        import re
        for count, kind in re.findall(r"(\d+)!([nac])", numdb.get("iban").info(cc + "00")[0][1]["bban"]):
            for _ in range(int(count)):
                if kind == "n" or (kind == "c" and r.random() < 0.85):
                    out.append(r.choice(string.digits))
                else:
                    out.append(r.choice(string.ascii_uppercase))
        return "".join(out)

    def iban_compact(self, cc: str | None = None) -> str:
        cc = cc or self.r.choice(IBAN_COUNTRIES)
        for _ in range(5000):
            bban = self.bban(cc)
            s = cc + _iban.calc_check_digits(cc + "00" + bban) + bban
            if _iban.is_valid(s):
                return s
        raise RuntimeError(f"no valid IBAN for {cc}")

    def iban(self) -> tuple[str, str]:
        s = self.iban_compact()
        if self.r.random() < 0.6:
            return _iban.format(s), "spaced"
        return s, "compact"

    def ip(self) -> tuple[str, str]:
        r = self.r
        if r.random() < 0.72:
            while True:
                a = ipaddress.IPv4Address(r.getrandbits(32))
                if a.is_global and not a.is_multicast and int(str(a).split(".")[0]) < 224:
                    break
            return str(a), "ipv4"
        while True:
            a = ipaddress.IPv6Address((0x2 << 124) | r.getrandbits(124) & ~(0xFFFF << 112) | (r.choice(
                [0x2001, 0x2a00, 0x2a02, 0x2600, 0x2c0f, 0x2406, 0x2003, 0x2a01]) << 112))
            if a.is_global and not str(a).startswith("2001:db8"):
                break
        if r.random() < 0.5:  # routers and logs: a prefix, then zeros
            a = ipaddress.IPv6Address(int(a) >> 64 << 64 | r.getrandbits(16))
        s = a.compressed if r.random() < 0.7 else a.exploded
        return (s.upper() if r.random() < 0.15 else s), "ipv6"

    # ------------------------------------------------------------------ hard negatives
    def negative(self, kind: str, lang: str) -> tuple[str, str]:
        """(value, fmt); the value includes its lead-in word when there is one."""
        r, d = self.r, self.digits
        if kind == "private_ip":
            v = r.choice([
                f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}",
                f"192.168.{r.randint(0, 255)}.{r.randint(1, 254)}",
                f"172.{r.randint(16, 31)}.{r.randint(0, 255)}.{r.randint(1, 254)}",
                "127.0.0.1", f"127.0.{r.randint(0, 1)}.{r.randint(1, 9)}",
                f"169.254.{r.randint(1, 254)}.{r.randint(1, 254)}",
                f"192.0.2.{r.randint(1, 254)}", f"198.51.100.{r.randint(1, 254)}", f"203.0.113.{r.randint(1, 254)}",
                "::1",
                f"fe80::{r.getrandbits(16):x}:{r.getrandbits(16):x}ff:fe{r.getrandbits(8):02x}:{r.getrandbits(16):x}",
                f"fd{r.getrandbits(8):02x}:{r.getrandbits(16):x}:{r.getrandbits(16):x}::{r.randint(1, 99)}",
                f"2001:db8:{r.getrandbits(16):x}::{r.randint(1, 255)}",
            ])
            return v, "private"
        if kind == "version":
            v = r.choice([
                f"{r.randint(1, 9)}.{r.randint(0, 9)}.{r.randint(0, 20)}.{r.randint(0, 30)}",
                f"v{r.randint(2, 6)}.{r.randint(0, 19)}.{r.randint(0, 99)}.{r.randint(1, 20)}",
                f"10.0.{r.choice([17763, 19041, 19045, 22621, 22631])}.{r.randint(1, 4000)}",
                f"{r.randint(100, 131)}.0.{r.randint(5000, 6999)}.{r.randint(10, 250)}",
                f"{r.randint(4, 6)}.{r.randint(1, 19)}.0-{r.randint(1, 30)}-amd64",
                f"{r.randint(1, 3)}.{r.randint(0, 12)}.{r.randint(0, 30)}",
                f"{r.randint(1, 9)}.{r.randint(0, 9)}.{r.randint(0, 9)}.{r.randint(0, 9)}-{r.randint(1, 3)}",
                f"{r.randint(1, 15)}.{r.randint(0, 9)}.{r.randint(0, 9)}.{r.randint(1000, 9999)}",
            ])
            if r.random() < 0.7:
                return f"{r.choice(LEAD['version'][lang])} {v}", "lead"
            return r.choice([v, f"Firefox {v}", f"OpenSSL {v}", f"kernel {v}", f"apt {v}"]), "name"
        if kind == "section":
            v = ".".join(str(r.randint(1, 19)) for _ in range(r.choice([3, 4, 4, 5])))
            return (f"{r.choice(LEAD['section'][lang])} {v}" if r.random() < 0.6 else v), "section"
        if kind in ("date", "timestamp"):
            y, m, dd = r.randint(1990, 2030), r.randint(1, 12), r.randint(1, 28)
            H, M, S = r.randint(0, 23), r.randint(0, 59), r.randint(0, 59)
            if kind == "date":
                v = r.choice([f"{y}-{m:02d}-{dd:02d}", f"{dd:02d}.{m:02d}.{y}", f"{dd}.{m}.{y}",
                              f"{m:02d}/{dd:02d}/{y}",
                              f"{dd:02d}/{m:02d}/{y}", f"{dd:02d}-{m:02d}-{y}", f"{y}{m:02d}{dd:02d}",
                              f"{y}/{m:02d}/{dd:02d}", f"{dd:02d}.{m:02d}.{y % 100:02d}", f"{y}年{m}月{dd}日"])
                return (f"{r.choice(LEAD['date'][lang])} {v}" if r.random() < 0.5 else v), "date"
            ts = r.randint(631152000, 1893456000)
            v = r.choice([f"{y}-{m:02d}-{dd:02d} {H:02d}:{M:02d}:{S:02d}",
                          f"{y}-{m:02d}-{dd:02d}T{H:02d}:{M:02d}:{S:02d}Z",
                          f"{y}-{m:02d}-{dd:02d}T{H:02d}:{M:02d}:{S:02d}.{d(3)}+02:00",
                          f"{dd:02d}.{m:02d}.{y} {H:02d}:{M:02d}",
                          f"[{dd:02d}/May/{y}:{H:02d}:{M:02d}:{S:02d} +0200]", f"{m:02d}/{dd:02d}/{y} {H}:{M:02d} PM",
                          str(ts), str(ts) + d(3), f"{y}{m:02d}{dd:02d}{H:02d}{M:02d}{S:02d}",
                          f"{y}-{m:02d}-{dd:02d} {H:02d}:{M:02d}:{S:02d},{d(3)}"])
            return v, "timestamp"
        if kind == "isbn":
            body = r.choice(["978", "979"]) + r.choice(["3", "2", "84", "88", "90", "83", "85", "0", "1", "4"])
            body += d(12 - len(body))
            i13 = body + ean_check(body)
            if r.random() < 0.5:
                v = _isbn.format(i13) if r.random() < 0.6 else i13
            else:
                i10 = _isbn.to_isbn10(i13) if i13.startswith("978") else None
                v = (_isbn.format(i10) if r.random() < 0.6 else i10) if i10 else i13
            return (f"ISBN {v}" if r.random() < 0.7 else v), "isbn"
        if kind == "product_number":
            e = "40" + d(10)
            v = r.choice([f"{d(3)}-{d(7)}-{d(7)}", "1Z" + "".join(r.choice(string.ascii_uppercase + string.digits)
                                                               for _ in range(16)),
                          e + ean_check(e), d(12), "9" + d(21), f"{d(4)}-{d(4)}", f"RE-{r.randint(2015, 2025)}-{d(6)}",
                          d(r.choice([8, 10, 11, 14])), f"{d(2)}.{d(3)}.{d(3)}", f"SN {d(4)}-{d(4)}-{d(4)}"])
            return (f"{r.choice(LEAD['product_number'][lang])} {v}" if r.random() < 0.6 else v), "product"
        if kind == "uuid":
            h = "%032x" % r.getrandbits(128)
            return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}", "uuid"
        if kind == "hash":
            bits = r.choice([128, 160, 256, 28])
            h = ("%0" + str(bits // 4) + "x") % r.getrandbits(bits)
            return (f"commit {h}" if bits == 28 else h), f"hex{bits}"
        if kind == "mac":
            b = [r.getrandbits(8) for _ in range(6)]
            sep = r.choice([":", "-"])
            v = sep.join(f"{x:02X}" if sep == "-" else f"{x:02x}" for x in b)
            return v, "mac"
        if kind == "price":
            n = r.randint(1, 9_999_999)
            c = r.randint(0, 99)
            def grp(sep: str) -> str:
                return f"{n:,}".replace(",", sep)
            v = r.choice([f"${grp(',')}.{c:02d}", f"{grp('.')},{c:02d} €", f"{grp('.')} €", f"{grp(' ')},{c:02d} zł",
                          f"R$ {grp('.')},{c:02d}", f"CHF {grp(chr(39))}.-", f"£{grp(',')}", f"{grp(chr(160))} ₽",
                          f"{grp(',')}.{c:02d} USD"])
            return v, "price"
        if kind == "big_number":
            n = r.randint(1_000_000, 9_999_999_999)
            sep = r.choice([" ", ".", ",", "\u202f", "'"])
            return f"{n:,}".replace(",", sep), "grouped"
        if kind == "zip":
            v = r.choice([f"{d(5)} Berlin", f"{r.randint(1, 95):02d}{d(3)} Paris", f"{d(2)}-{d(3)} Warszawa",
                          f"{r.randint(1000, 9999)} {r.choice(string.ascii_uppercase)}"
                          f"{r.choice(string.ascii_uppercase)} Amsterdam", f"CEP {d(5)}-{d(3)}", f"{d(5)}-{d(4)}",
                          f"〒{d(3)}-{d(4)}",
                          f"SW{r.randint(1, 20)} {r.randint(1, 9)}AA", f"{d(5)} Madrid", f"{d(6)} Москва"])
            return v, "zip"
        if kind == "gps":
            la, lo = r.uniform(-80, 80), r.uniform(-170, 170)
            v = r.choice([f"{la:.6f}, {lo:.6f}", f"{la:.4f},{lo:.4f}", f"{abs(la):.5f}° N, {abs(lo):.5f}° E",
                          f"{int(abs(la))}°{r.randint(0, 59)}′{r.randint(0, 59)}″N {int(abs(lo))}°{r.randint(0, 59)}′"
                          f"{r.randint(0, 59)}″W"])
            return v, "gps"
        if kind == "semver_range":
            a, b, c = r.randint(0, 9), r.randint(0, 30), r.randint(0, 30)
            v = r.choice([f"^{a}.{b}.{c}", f">={a}.{b}.{c} <{a + 1}.0.0", f"~{a}.{b}.{c}", f"~> {a}.{b}",
                          f"{a}.{b}.{c} - {a + 1}.{b}.{c}", f"=={a}.{b}.{c}.post{c}", f"{a}.{b}.x || >={a + 1}.0.0"])
            return v, "semver"
        if kind == "card_invalid":
            while True:
                s, _ = self.card()
                dd = "".join(ch for ch in s if ch.isdigit())
                bad = dd[:-1] + str((int(dd[-1]) + r.randint(1, 9)) % 10)
                if not luhn.is_valid(bad):
                    break
            out = list(s)
            out[max(i for i, ch in enumerate(out) if ch.isdigit())] = bad[-1]
            return "".join(out), "luhn_invalid"
        if kind == "iban_invalid":
            s = self.iban_compact()
            bad = s[:2] + f"{(int(s[2:4]) + r.randint(1, 90)) % 97 + 2:02d}"[-2:] + s[4:]
            while _iban.is_valid(bad):
                bad = s[:2] + f"{r.randint(2, 98):02d}" + s[4:]
            return (_iban.format(bad) if r.random() < 0.6 else bad), "check_digits"
        if kind == "ssn_invalid":
            area = r.choice(["000", "666", str(r.randint(900, 999))])
            return f"{area}-{r.randint(1, 99):02d}-{r.randint(1, 9999):04d}", "bad_area"
        raise ValueError(kind)

    # ------------------------------------------------------------------ records
    def pii(self, t: str, lang: str) -> tuple[str, str]:
        if t == "email":
            return self.email(lang)
        if t == "phone":
            s, fmt, country = self.phone(lang)
            return s, f"{fmt}:{country}"
        return {"credit_card": self.card, "ssn": self.ssn, "iban": self.iban, "ip_address": self.ip}[t]()

    def record(self, i: int) -> dict:
        r = self.r
        types, weights = list(PII_WEIGHTS), list(PII_WEIGHTS.values())
        block = r.random() < 0.15
        n_items = r.randint(2, 4) if block else r.choice([1, 1, 2, 2, 3])
        plan = []
        for _ in range(n_items):
            if r.random() < 0.62:
                plan.append(("pii", r.choices(types, weights)[0]))
            else:
                plan.append(("neg", r.choice(NEG_KINDS)))
        if any(k == "ssn_invalid" for _, k in plan):
            lang = "en"  # elsewhere 666-12-3456 may well be a phone number (Spanish and Polish mobiles start 6)
        elif any(k == "ssn" for _, k in plan):
            lang = "en" if r.random() < 0.85 else "es"
        else:
            lang = r.choice(LANGS)
        if block:
            lang = lang if lang in BLOCK_LABEL else r.choice(list(BLOCK_LABEL))
            plan = [p for p in plan if p[0] == "pii" and p[1] != "ssn"] or [("pii", "email")]
        text, items = "", []
        sep = "" if lang == "ja" else " "

        def add(chunk: str, value: str, label: str | None, kind: str, fmt: str) -> None:
            nonlocal text
            if chunk.endswith("{}") and not block:  # the sentence ends with the item: end it
                chunk += "。" if lang == "ja" else "."
            pre, post = chunk.split("{}")
            start = len(text) + len(pre)
            text += pre + value + post
            items.append({"start": start, "end": start + len(value), "type": label, "kind": kind, "fmt": fmt,
                          "value": value})

        text = r.choice(FILLER[lang]) + (sep if not block else "\n")
        for role, kind in plan:
            if role == "pii":
                value, fmt = self.pii(kind, lang)
                tpl = f"{BLOCK_LABEL[lang][kind]}: {{}}" if block else r.choice(PII_TPL[lang][kind])
                if kind == "ip_address" and fmt == "ipv4" and r.random() < 0.1 and not block:
                    tpl = tpl.replace("{}", "{}:" + str(r.choice([22, 80, 443, 8080, 3389])), 1)
                add(tpl, value, kind, kind, fmt)
            else:
                value, fmt = self.negative(kind, lang)
                add(r.choice(NEG_TPL[lang]), value, None, kind, fmt)
            text += "\n" if block else sep
        if r.random() < 0.5 and not block:
            text += r.choice(FILLER[lang])
        text = text.rstrip()
        spans = [(it["start"], it["end"], it["type"]) for it in items if it["type"]]
        negatives = [(it["start"], it["end"], it["kind"]) for it in items if not it["type"]]
        for it in items:
            assert text[it["start"]:it["end"]] == it["value"], (text, it)
        return {"id": f"gen-{i:05d}", "lang": lang, "text": text, "spans": spans, "negatives": negatives,
                "items": items}


def generate(n: int = 3000, seed: int = 0) -> list[dict]:
    """``n`` labelled records; the same for the same ``(n, seed)``."""
    g = Gen(seed)
    return [g.record(i) for i in range(n)]


if __name__ == "__main__":  # print a few, for eyeballing
    import sys

    for rec in generate(int(sys.argv[1]) if len(sys.argv) > 1 else 12):
        print(rec["lang"], repr(rec["text"]))
        for it in rec["items"]:
            print("   ", it["type"] or "NOT:" + it["kind"], it["fmt"], repr(it["value"]))


# ---------------------------------------------------------------------- NeMo-Curator's labelled lines
NEMO_TYPES = {"email": "email", "phone_number": "phone", "ip_address": "ip_address", "ssn": "ssn",
              "credit_card_number": "credit_card"}  # name, address, birth_date: out of scope


def nemo_records(folder) -> list[dict]:
    """NeMo-Curator's PII test lines (``<email>x</email>`` inline tags) as records like ``generate``'s.

    Tagged IPs that are not public (its 10.x and 192.168.x) become ``private_ip`` negatives: our policy
    keeps them. Out-of-scope tags (name, address, birth_date) become negatives of that kind.
    """
    import re
    from pathlib import Path

    out = []
    for path in sorted(Path(folder).glob("*.txt")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            if not line.strip():
                continue
            text, spans, negatives, pos = "", [], [], 0
            for m in re.finditer(r"<(\w+)>(.*?)</\1>", line):
                text += line[pos:m.start()]
                a = len(text)
                text += m.group(2)
                tag, value = m.group(1), m.group(2)
                if tag == "ip_address" and not ipaddress.ip_address(value).is_global:
                    negatives.append((a, len(text), "private_ip"))
                elif tag in NEMO_TYPES:
                    spans.append((a, len(text), NEMO_TYPES[tag]))
                else:
                    negatives.append((a, len(text), tag))
                pos = m.end()
            text += line[pos:]
            out.append({"id": f"{path.stem}:{n + 1}", "lang": "en", "text": text, "spans": spans,
                        "negatives": negatives})
    return out
