"""PII redaction: emails, phone numbers, public IP addresses, credit cards, US SSNs and IBANs.

Each type is a candidate regex plus a validator from a maintained library, so
text that only looks like PII (version numbers, dates, ISBNs, order numbers)
is kept. Word boundaries are ASCII: in Japanese or Chinese text an address
often touches a letter (連絡先はinfo@example.jpまで).

- ``email``: datatrove's PIIFormatter regex; the top-level domain must be
  letters and not a file extension (``icon@2x.png`` is an image name); no
  ``!`` in it (IRC hostmasks ``nick!user@host``); the address starts after
  the last ``/ ? = &`` (``example.com/contact?mail=jane@example.org``).
  Accented addresses (``jürgen@...``, ``info@bäckerei-müller.de``) by a second
  regex: Latin local part, Unicode domain labels, ASCII top-level domain.
- ``ip_address``: IPv4 (datatrove's regex, bounded so that ``1.2.3.4.5`` and
  ``v1.2.3.4`` are not addresses; not after "version" or "release"; not four
  numbers below 32, which are section numbers) and IPv6, parsed by
  ``ipaddress``. Only public addresses are PII (``is_global``, as datatrove):
  private, loopback, link-local and documentation ranges stay.
- ``phone``: libphonenumber (``phonenumbers``) at leniency VALID, run only
  around digit runs that could be a number. ``+`` and ``00`` numbers are
  international in every region (``00`` is read as ``+`` even where the
  exit code differs: US 011, JP 010). National ones are read in the regions
  of the document's language in order (``default_regions``: en -> US, GB,
  AU, IN, IE, NZ, ZA; de -> DE, AT, CH...; the stage's ``regions`` overrides),
  a later region only for numbers written with the trunk prefix that country
  writes (``020 7946 0958``). Rejected although valid (``_phone_ok``): fewer
  than 7 or more than 15 digits, dates, dotted quads and versions, decimals,
  thousands-grouped numbers, ZIP+4 codes, ISBNs, the digits of an IBAN, table
  columns, digits glued to a longer chain (card, product, MAC numbers, time
  stamps), and bare numbers that are only valid if their first digits are a
  country code (page numbers ``43 171 65`` as +43 1 7165).
- ``credit_card``: 13-19 digits, plain or in 4-4-4-4(-3) / 4-6-5 groups, with a
  known issuer prefix (Visa, Mastercard, Amex, Discover, JCB, Diners,
  UnionPay, Maestro) and a valid Luhn checksum (``stdnum.luhn``); not in a URL
  path or query (``/posts/2395361813834269``), not inside an IBAN, and a
  13-digit Visa not if it is a valid EAN-13 barcode (40... is Germany's prefix).
- ``ssn``: ``NNN-NN-NNNN`` or ``NNN NN NNNN`` valid per ``stdnum.us.ssn`` (no
  000/666/9xx area, 00 group, 0000 serial or publicly advertised number).
- ``iban``: country code, check digits and BBAN, spaces allowed, valid per
  ``stdnum.iban`` (country's length and structure, mod-97).

Where matches overlap, the type earlier in ``TYPES`` wins (an IBAN's digits are
not also a phone number). A match is replaced by a typed placeholder
(``<EMAIL>``, ``<PHONE>``...). The stage adds one count column per type
(``pii_email``...; their sums in the stats are the per-type totals) and
``pii_spans``, the placeholders' ``[start, end)`` offsets in the redacted
text, so the text itself carries nothing but the placeholder. ``url`` is
redacted the same way; lineage stays in ``warc_file``/``warc_offset``.
``bench/pii_eval.py`` measures recall, precision and speed (results in
``bench/results/pii.md``; ``tests/piigen.py`` generates the labelled text).
"""

from __future__ import annotations

import bisect
import ipaddress
import re
from functools import lru_cache

import phonenumbers
import pyarrow as pa
from datatrove.pipeline.formatters.pii import PIIFormatter
from stdnum import iban as _iban
from stdnum import ean, isbn, luhn
from stdnum.us import ssn as _ssn

from pipeline.stage import Score, Stage, StageResult

TYPES = ("email", "iban", "credit_card", "ssn", "ip_address", "phone")
PLACEHOLDERS = {t: f"<{t.upper()}>" for t in TYPES}
SPAN_TYPE = pa.list_(pa.struct([("type", pa.string()), ("start", pa.int32()), ("end", pa.int32())]))

# The first region national phone numbers (no + or 00) are read in, by document language.
DEFAULT_REGIONS = {
    "en": "US", "de": "DE", "fr": "FR", "es": "ES", "it": "IT", "pt": "BR", "nl": "NL", "pl": "PL", "sv": "SE",
    "da": "DK", "nb": "NO", "no": "NO", "fi": "FI", "cs": "CZ", "sk": "SK", "hu": "HU", "ro": "RO", "el": "GR",
    "tr": "TR", "ru": "RU", "uk": "UA", "ja": "JP", "zh": "CN", "ko": "KR", "ar": "SA", "he": "IL", "hi": "IN",
    "id": "ID", "vi": "VN", "th": "TH", "bg": "BG", "hr": "HR", "sl": "SI", "et": "EE", "lv": "LV", "lt": "LT",
}
# Other countries whose national numbers pages in that language carry, tried when the first region finds none.
MORE_REGIONS = {
    "en": ("GB", "AU", "IN", "IE", "NZ", "ZA"), "de": ("AT", "CH"), "fr": ("BE", "CH", "CA"), "it": ("CH",),
    "es": ("MX", "AR", "CO", "CL", "PE", "US"), "pt": ("PT",), "nl": ("BE",), "sv": ("FI",), "ru": ("BY", "KZ"),
}


def default_regions(lang: str | None, default: str = "US") -> tuple[str, ...]:
    """The regions national phone numbers are read in for a document in ``lang``, in order."""
    if lang not in DEFAULT_REGIONS:
        return (default,)
    return (DEFAULT_REGIONS[lang], *MORE_REGIONS.get(lang, ()))


_EMAIL = re.compile(PIIFormatter().emails_replacer.regex.pattern, re.ASCII)
# Accented addresses, which datatrove's ASCII regex misses or cuts (jürgen@..., info@bäckerei-müller.de): a
# Latin local part, Unicode domain labels, an ASCII top-level domain (連絡先はinfo@例え.jpまで ends at .jp).
_LATIN = "A-Za-z0-9\u00c0-\u024f"
_EMAIL_IDN = re.compile(rf"(?<![{_LATIN}.+_-])[{_LATIN}._+-]+@(?:[^\W_](?:[\w-]*[^\W_])?\.)+[A-Za-z]{{2,}}"
                        r"(?![A-Za-z0-9-])")
_FILE_EXTENSIONS = {"png", "jpg", "jpeg", "gif", "svg", "webp", "avif", "bmp", "ico", "tif", "tiff", "css", "js",
                    "pdf", "mp4", "webm", "woff", "woff2"}
_IPV4 = re.compile(r"(?<![\w.-])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\w-]|\.\d)",
                   re.ASCII)
_VERSION_BEFORE = re.compile(r"(?:version|release|versión|versione|wersja|versão|v)\s*$", re.I)
_CC_BEFORE = re.compile(r"(?:\+|\b00)\d{1,3}[ ./-]?(?:\(0\)\s?)?$")  # +32 12.35.18.26 is a phone number
_IPV6 = re.compile(r"(?<![\w:.])(?=[0-9A-Fa-f:]*:[0-9A-Fa-f]*:)[0-9A-Fa-f:]{2,39}(?:\d{1,3}(?:\.\d{1,3}){3})?"
                   r"(?![\w:])", re.ASCII)
_CARD = re.compile(r"(?<![\w.,+/=-])(?:\d{13,19}|\d{4}(?:([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?|"
                   r"([ -])\d{6}\2\d{4,5}))(?![\w-]|[.,]\d)", re.ASCII)
_SSN = re.compile(r"(?<![\w-])(?<!\d )\d{3}([- ])\d{2}\1\d{4}(?![\w-]|[.,]\d)(?!(?<= \d{4}) \d)", re.ASCII)
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,32}(?![A-Za-z0-9])")
# Anything phone-like: 7+ digits, with the separators phone numbers use (hyphens, en dashes; a dot but not
# ". ", which ends a sentence); libphonenumber decides.
_PHONE_HINT = re.compile(r"(?:\+|(?<!\d)00|\()?\d(?:(?:[\s()/\-\u2010-\u2013]|\.(?!\s)){0,3}\d){6,}")
# What libphonenumber accepts but is not a phone number (each seen in measurements, bench/results/pii.md):
_NOT_PHONE = {
    "table columns": re.compile(r"\s{2,}|\t"),
    "date": re.compile(r"(?<!\d)(?:19|20)\d\d-(?:0?[1-9]|1[0-2])-(?:0?[1-9]|[12]\d|3[01])(?!\d)"),
    # four dotted groups, not starting with a trunk 0: IPv4, versions, sections (10.0.19041.1)
    "dotted quad": re.compile(r"(?<![\d.])[1-9]\d*(?:\.\d+){3}(?![\d.])"),
    "decimal": re.compile(r"(?<![\d.])(?:0|[1-9]\d{0,2})\.\d{5,}"),  # coordinates, measurements
    "thousands": re.compile(r"^\d{1,3}(?:[ .,'\u00a0\u202f]\d{3}){3,}$|^\d{1,3}(?:[.,]\d{3}){2,}$"),
    "ZIP+4": re.compile(r"^[1-9]\d{4}-\d{4}$"),  # starting with 0 too in US text (02192-8463): see _phone_ok
}
# dd.mm.yy(yy), mm/dd/yy(yy), not inside a longer chain of groups (06-12-18-04-54 is a French number)
_DMY = re.compile(r"(?<!\d[./-])\b(\d\d?)([./-])(\d\d?)\2(?:19|20)?\d\d\b(?![./-]\d)")
_ISBN_BEFORE = re.compile(r"ISBN(?:-?1[03])?:?\s*$", re.I)
_IBAN_BEFORE = re.compile(r"[A-Z]{2}\d{2}(?: ?[A-Z0-9])* ?$")  # digits inside an (invalid) IBAN


def _email_ok(m: re.Match) -> bool:
    """A letter TLD that is not a file extension; no "!" (IRC hostmasks nick!user@host, legal but unused)."""
    tld = m.group(0).rsplit(".", 1)[-1].lower()
    return tld.isalpha() and len(tld) >= 2 and tld not in _FILE_EXTENSIONS and "!" not in m.group(0)


def _email_start(m: re.Match) -> int | None:
    """Where the address starts: after the last / ? = & of the local part, which in practice are a URL's
    (``example.com/contact?mail=jane@example.org``); None if nothing is left."""
    local = m.group(0).rsplit("@", 1)[0]
    cut = max(local.rfind(c) for c in "/?=&") + 1
    return m.start() + cut if cut < len(local) else None


def _ipv4_ok(text: str, m: re.Match) -> bool:
    """A public address, not a section or version number (4.2.13.1, version 2.6.32.1, 8.0.0.1), nor a phone
    number written with dots after its country code (+32 12.35.18.26)."""
    if all(int(o) < 32 for o in m.group(0).split(".")):  # section numbers; also resolvers such as 8.8.8.8
        return False
    before = text[max(0, m.start() - 12):m.start()]
    return (_public_ip(m.group(0)) and not _VERSION_BEFORE.search(before)
            and not _CC_BEFORE.search(before))


def _public_ip(s: str) -> bool:
    """``ipaddress``'s is_global; for IPv6 also inside 2000::/3, the only globally routed unicast space."""
    try:
        ip = ipaddress.ip_address(s)
    except ValueError:
        return False
    return ip.is_global and (ip.version == 4 or int(ip) >> 125 == 1)


def _card_ok(s: str) -> bool:
    d = s.replace(" ", "").replace("-", "")
    n, p2, p3, p4 = len(d), int(d[:2]), int(d[:3]), int(d[:4])
    if d[0] == "4":
        issuer = n in (16, 19) or n == 13 and not ean.is_valid(d)  # Visa; 13 digits: EAN-13 barcodes (40-44...)
    elif 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        issuer = n == 16                                                                  # Mastercard
    elif p2 in (34, 37):
        issuer = n == 15                                                                  # Amex
    elif 300 <= p3 <= 305 or p2 in (36, 38, 39) or p4 == 3095:
        issuer = 14 <= n <= 19                                                            # Diners
    elif 3528 <= p4 <= 3589:
        issuer = 16 <= n <= 19                                                            # JCB
    elif p4 == 6011 or 644 <= p3 <= 649 or p2 in (62, 65):
        issuer = 16 <= n <= 19                                                            # Discover, UnionPay
    elif p2 == 50 or 56 <= p2 <= 69:
        issuer = 12 <= n <= 19                                                            # Maestro
    else:
        issuer = False
    return issuer and luhn.is_valid(d)


def _iban_span(text: str, m: re.Match) -> tuple[int, int] | None:
    """The longest valid IBAN at the start of the match (trailing words may have been swallowed)."""
    s = m.group(0)
    cuts = [i for i, ch in enumerate(s) if ch == " "] + [len(s)]
    for end in reversed(cuts):
        if _iban.is_valid(s[:end]):
            return m.start(), m.start() + end
    return None


def _phone_ok(text: str, a: int, b: int, us: bool = False) -> bool:
    """Not one of ``_NOT_PHONE``, a date, an ISBN, part of an IBAN, nor part of a longer number: digits right
    before or after, or joined by . / - to more digits (card, product and MAC numbers, time stamps). ``us``:
    the text is read as American first, where 02192-8463 is a ZIP+4 code (elsewhere a German number)."""
    s = text[a:b]
    if us and len(s) == 10 and s[5] == "-" and s.replace("-", "").isdigit():
        return False
    international = s.startswith(("+", "00"))
    for name, rx in _NOT_PHONE.items():
        if rx.search(s) and not (international and name == "dotted quad"):
            return False
    if any(_date_like(int(m.group(1)), int(m.group(3))) for m in _DMY.finditer(s)):
        return False
    if s.count("-") == 3 and s[-2] == "-" and isbn.is_valid(s):  # 85-429-3032-0
        return False
    if not 7 <= sum(c.isdigit() for c in s) <= 15:  # service codes; E.164's maximum (order no. 123-1234567-1234567)
        return False
    b1, b2, a1, a2 = text[a - 1:a], text[a - 2:a - 1], text[b:b + 1], text[b + 1:b + 2]
    if b1 and (b1.isdigit() or b1 in "./" and b2.isdigit() or b1 == "-" and b2.isalnum()):
        return False
    if a1.isdigit() or a1 and a1 in ":./" and a2.isdigit() or a1 == "-" and a2.isalnum():
        return False
    return not (_ISBN_BEFORE.search(text, max(0, a - 10), a) or _IBAN_BEFORE.search(text, max(0, a - 40), a))


def _date_like(x: int, y: int) -> bool:
    return 1 <= x <= 31 and 1 <= y <= 31 and (x <= 12 or y <= 12)


@lru_cache(maxsize=None)
def _trunk_prefix(region: str) -> str:
    return phonenumbers.PhoneMetadata.metadata_for_region(region).national_prefix or ""


def _misread(pm: phonenumbers.PhoneNumberMatch, other_region: bool) -> bool:
    """A number libphonenumber only makes valid by reading it oddly: its first digits as a country code
    without + or 00 (page numbers "43 171 65" as +43 1 7165), or, in a region other than the document's
    first, without the trunk prefix that country writes (a bare 1392513023 as the Indian 013925 13023)."""
    if pm.raw_string.lstrip("( ").startswith("+"):
        return False
    raw = "".join(c for c in pm.raw_string if c.isdigit())
    cc = str(pm.number.country_code)
    if cc != "1" and raw == cc + phonenumbers.national_significant_number(pm.number):  # 1: NANP trunk prefix
        return True
    national = "".join(c for c in phonenumbers.format_number(pm.number, phonenumbers.PhoneNumberFormat.NATIONAL)
                       if c.isdigit())
    return other_region and national != raw and national.endswith(raw)


def _phones(text: str, regions: tuple[str, ...], taken=()) -> list[tuple[int, int]]:
    """libphonenumber matches around each phone-like digit run; national numbers are read in ``regions``, in
    order, until one region finds a number there. Digit runs inside ``taken`` matches (IPs, cards...) are
    skipped: they would lose the overlap anyway."""
    spans = set()
    starts = [a for a, _, _ in taken]
    for hint in _PHONE_HINT.finditer(text):
        k = bisect.bisect_right(starts, hint.start())
        if k and taken[k - 1][1] >= hint.end():
            continue
        # context around the number, up to the next digits (a neighbour is read by its own hint):
        # libphonenumber looks at it to reject time stamps and the like
        a, b = max(0, hint.start() - 16), min(len(text), hint.end() + 16)
        a += next((i + 1 for i in range(hint.start() - a - 1, -1, -1) if text[a + i].isdigit()), 0)
        b = next((i for i in range(hint.end(), b) if text[i].isdigit()), b)
        window = text[a:b]
        h = hint.start() - a
        if window.startswith("00", h):
            # 00 is the international prefix in most of the world but not in every region (US 011, JP 010,
            # RU 810): read "0044 20 ..." as "+44 20 ..." everywhere. " +" keeps the offsets.
            window = f"{window[:h]} +{window[h + 2:]}"
        international = window[h] == "+" or window.startswith(" +", h)
        first_digit = next(c for c in hint.group(0) if c.isdigit())
        for i, region in enumerate(regions):
            if i and international:
                break  # +CC numbers read the same in every region
            if i and _trunk_prefix(region) not in ("", "1", first_digit):
                continue  # later regions only for numbers written with their trunk prefix (020 ...)
            found = False
            for pm in phonenumbers.PhoneNumberMatcher(window, region, leniency=phonenumbers.Leniency.VALID):
                start, end = a + pm.start, a + pm.end
                if end <= hint.start() or start >= hint.end():
                    continue  # a neighbour, cut by the window: its own hint reads it whole
                if _misread(pm, other_region=i > 0):
                    continue
                if text[start] == "(" and ")" not in text[start:end]:
                    start += 1  # "(+49 30 1234567) ..." opens a parenthesis, not an area code
                elif text[start] != window[pm.start]:
                    start -= 1  # the " +" standing for "00"
                if _phone_ok(text, start, end, us=regions[0] == "US"):
                    spans.add((start, end))
                    found = True
            if found:
                break
    return sorted(spans)


def find_pii(text: str, types=TYPES, region: str | tuple[str, ...] = "US") -> list[tuple[int, int, str]]:
    """Non-overlapping ``(start, end, type)`` PII matches in ``text``, in text order.

    ``region``: where national phone numbers (no + or 00) are read, one region or several in order
    (``default_regions(lang)``). Where matches overlap, the type earlier in ``TYPES`` wins."""
    kept: list[tuple[int, int, str]] = []
    digits = any(c.isdigit() for c in text)
    for t in TYPES:
        if t not in types or (t != "email" and not digits):
            continue
        found: list[tuple[int, int, str]] = []
        if t == "email":
            if "@" in text:
                if not text.isascii():  # accented addresses first: the longer reading wins the overlap
                    found += [(m.start(), m.end(), t) for m in _EMAIL_IDN.finditer(text)
                              if not m.group(0).isascii() and _email_ok(m)]
                for m in _EMAIL.finditer(text):
                    if _email_ok(m) and (start := _email_start(m)) is not None:
                        found.append((start, m.end(), t))
        elif t == "ip_address":
            found += [(m.start(), m.end(), t) for m in _IPV4.finditer(text) if _ipv4_ok(text, m)]
            if "::" in text or text.count(":") >= 7:
                found += [(m.start(), m.end(), t) for m in _IPV6.finditer(text) if _public_ip(m.group(0))]
        elif t == "credit_card":
            found += [(m.start(), m.end(), t) for m in _CARD.finditer(text) if _card_ok(m.group(0))
                      and not _IBAN_BEFORE.search(text, max(0, m.start() - 40), m.start())]
        elif t == "ssn":
            found += [(m.start(), m.end(), t) for m in _SSN.finditer(text)
                      if _ssn.is_valid(m.group(0).replace(" ", "-"))]
        elif t == "iban":
            found += [(*span, t) for m in _IBAN.finditer(text) if (span := _iban_span(text, m))]
        elif t == "phone":
            regions = (region,) if isinstance(region, str) else tuple(region)
            found += [(a, b, t) for a, b in _phones(text, regions, taken=kept)]
        kept = _add_free(kept, found)
    return kept


def _add_free(kept: list[tuple[int, int, str]], new: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """``kept`` (sorted, non-overlapping) plus each match of ``new``, in its order, that overlaps nothing kept
    before it. Bisection on sorted lists: a 5 MB page can have 10^5 matches."""
    starts = [a for a, _, _ in kept]
    added: list[tuple[int, int, str]] = []
    for m in new:
        a, b, _ = m
        i = bisect.bisect_right(starts, a)
        j = bisect.bisect(added, m)
        if not ((i and kept[i - 1][1] > a) or (i < len(kept) and kept[i][0] < b)
                or (j and added[j - 1][1] > a) or (j < len(added) and added[j][0] < b)):
            added.insert(j, m)
    return sorted(kept + added)


def redact(text: str, matches: list[tuple[int, int, str]]) -> tuple[str, list[dict]]:
    """Replace matches by placeholders; return the new text and the placeholders' spans in it."""
    parts, spans, pos, shift = [], [], 0, 0
    for a, b, t in matches:
        ph = PLACEHOLDERS[t]
        parts += [text[pos:a], ph]
        start = a + shift
        spans.append({"type": t, "start": start, "end": start + len(ph)})
        shift += len(ph) - (b - a)
        pos = b
    parts.append(text[pos:])
    return "".join(parts), spans


@lru_cache(maxsize=None)
def _region_ok(region: str) -> bool:
    return region in phonenumbers.SUPPORTED_REGIONS


class PII(Stage):
    """Replaces PII with typed placeholders; counts each type; never drops a document."""

    name = "pii"
    columns = {"text": pa.string(), "text_chars": Score(0, 20_000, pa.int64()), "url": pa.string(),
               "pii_spans": SPAN_TYPE, **{f"pii_{t}": Score(0, 20, pa.int32()) for t in TYPES}}
    defaults = {"types": list(TYPES), "regions": {}, "default_region": "US"}

    def __init__(self, **params):
        super().__init__(**params)
        bad = set(self.params["types"]) - set(TYPES)
        if bad:
            raise ValueError(f"stage 'pii': unknown type(s) {sorted(bad)}; known: {list(TYPES)}")
        self.regions = {lang: default_regions(lang) for lang in DEFAULT_REGIONS}
        self.regions.update({lang: (r,) if isinstance(r, str) else tuple(r)
                             for lang, r in (self.params["regions"] or {}).items()})
        for r in [*(r for rs in self.regions.values() for r in rs), self.params["default_region"]]:
            if not _region_ok(r):
                raise ValueError(f"stage 'pii': {r!r} is not a region libphonenumber knows (ISO 3166 alpha-2)")

    def process(self, batch: pa.Table) -> StageResult:
        types = set(self.params["types"])
        texts = batch.column("text").to_pylist()
        langs = batch.column("lang").to_pylist() if "lang" in batch.column_names else [None] * len(texts)
        urls = batch.column("url").to_pylist()
        cols = {c: [] for c in self.columns}
        for text, lang, url in zip(texts, langs, urls):
            matches = find_pii(text or "", types, self.regions.get(lang, self.params["default_region"]))
            new, spans = redact(text or "", matches)
            cols["text"].append(new if text is not None else None)
            cols["text_chars"].append(len(new))
            cols["pii_spans"].append(spans)
            for t in TYPES:
                cols[f"pii_{t}"].append(sum(1 for _, _, tt in matches if tt == t) if t in types else None)
            cols["url"].append(redact(url, find_pii(url, types - {"phone"}))[0] if url else url)
        return StageResult(columns=cols, drops=[None] * len(texts))
