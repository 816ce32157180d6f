"""PII detection: per-type precision/recall, false positives on technical text, and speed, for our detector
(pipeline/stages/pii.py) vs datatrove's PIIFormatter (emails, IPs) vs presidio-analyzer's pattern recognizers.

Usage:
  .venv/bin/curate run --input '../shared/crawl/sample/*.warc.gz' --output data/bench/pii_docs \\
      --config jobs/configs/fast.yaml          # extraction + langid only: OUT/docs/*.parquet (text, lang)
  .venv/bin/python bench/pii_eval.py [--docs data/bench/pii_docs/docs] [--n 3000]
Writes bench/results/pii.md.

Sets: NeMo-Curator's 72 tagged lines (../shared/eval/pii/nemo-curator-pii) and ``tests/piigen.generate(n)``
(synthetic, several languages and countries, with hard negatives; composition in its docstring).
Scoring: exact = same (start, end, type); lenient = a prediction overlapping a gold span of its type.
Precision counts every prediction of the type, wherever it lands (hard negatives, filler text, NeMo's
out-of-scope name/address tags). Private IPs are negatives (our policy keeps them, as datatrove).

Tools (all offline, all regex + validators, no NLP model):
- ours: ``find_pii(text, region=default_regions(lang))``.
- datatrove: PIIFormatter's email regex, then its IP regex with ``public_ip_validator`` (as ``format`` runs them).
- presidio: EmailRecognizer, PhoneRecognizer (its default regions), CreditCardRecognizer, IpRecognizer,
  UsSsnRecognizer, IbanRecognizer, each ``.analyze(text, entities, nlp_artifacts=None)``; overlapping results
  resolved by score (then length), as the anonymizer does; no score threshold (AnalyzerEngine's default 0).
- presidio+policy: the same, extended towards our policy: IPs only if ``is_global``, phones read in the
  document's regions (ours, ``default_regions(lang)``), SSNs only at score >= 0.5 (drops the "very weak"
  bare 9-digit patterns).

Speed: every document of the sample crawl, one process, CPU seconds (time.process_time).
Debian handbook (CC-SAMPLE-2024-22-00004): every match of every tool, judged against REAL_DEBIAN, the
strings reviewed by hand as real emails/IPs (all other matches are false positives; the category column says
what they were).
"""

from __future__ import annotations

import argparse
import collections
import ipaddress
import logging
import os
import platform
import sys
import time
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from piigen import generate, nemo_records  # noqa: E402
from pipeline.stages.pii import TYPES, default_regions, find_pii, redact  # noqa: E402

DEBIAN_FILE = "CC-SAMPLE-2024-22-00004"
PRESIDIO_TYPES = {"EMAIL_ADDRESS": "email", "PHONE_NUMBER": "phone", "CREDIT_CARD": "credit_card",
                  "IP_ADDRESS": "ip_address", "US_SSN": "ssn", "IBAN_CODE": "iban"}
TOOL_TYPES = {"ours": TYPES, "datatrove": ("email", "ip_address"), "presidio": TYPES, "presidio+policy": TYPES}

# Debian handbook: every string any tool flags that is a real email address or IP address, reviewed by hand in
# context (bench output lists all matches). Example addresses (falcot.com, example.com) are written like real
# ones and are what a redactor must catch; IRC hostmasks (nick!user@host), socket specs (inet:10002@127.0.0.1),
# section and version numbers are not addresses.
REAL_DEBIAN = {
    "email": {
        # mailing lists, bug tracker, maintainers, authors (the handbook prints them as contacts)
        "12345-done@bugs.debian.org", "12345@bugs.debian.org", "control@bugs.debian.org", "submit@bugs.debian.org",
        "debian-admin@lists.debian.org", "debian-announce@lists.debian.org", "debian-architecture@lists.debian.org",
        "debian-boot@lists.debian.org", "debian-derivatives@lists.debian.org",
        "debian-devel-announce@lists.debian.org", "debian-gcc@lists.debian.org", "debian-glibc@lists.debian.org",
        "debian-news@lists.debian.org", "debian-policy@lists.debian.org", "debian-policy@lists.debia.org",
        "debian-qa@lists.debian.org", "debian-security-announce@lists.debian.org",
        "debian-stable-announce@lists.debian.org", "debian-x@lists.debian.org", "deity@lists.debian.org",
        "zim@packages.debian.org", "dleidert@debian.org", "doko@debian.org", "hertzog@debian.org",
        "lolando@debian.org", "mstone@debian.org", "piem@debian.org", "robert.pleh@hermes.si",
        # DMARC report addresses (rua=mailto:...)
        "d@rua.agari.com", "d@ruf.agari.com", "mailauth-reports@google.com",
        # the book's example company and placeholders
        "admin@falcot.com", "contact@falcotsbrand.com", "jean@falcot.com", "jean@falcot.org",
        "jean@macchina.falcot.com", "jean@machine.falcot.com", "jean@ordinador.falcot.com", "joe.bloggs@falcot.com",
        "joe@falcot.com", "laure@falcot.com", "postmaster@falcot.com", "roland@sip.falcot.com",
        "sales-asia@falcot.com", "sophie@falcot.com", "sophie@falcot.org", "support@falcot.com", "sympa@falcot.com",
        "webmaster@falcotsbrand.com", "user@example.com", "user@machine.example.com", "usuari@exemple.com",
        "usuari@màquina.exemple.com",  # an internationalized domain: ours and datatrove read ASCII only
        "utente@example.com", "utente@macchina.example.com",
    },
    "ip_address": {
        # DNS/zone/SPF examples, resolvers, an Apache log, an IRC log (82.50.72.202: a real client address)
        "130.89.148.77", "2001:67c:2564:a119::77", "193.23.158.13", "195.20.105.149", "199.127.61.96",
        "206.221.184.234", "209.222.96.251", "212.27.32.176", "212.27.32.177", "212.94.201.10", "212.94.201.11",
        "213.244.11.247", "200.58.141.84", "82.50.72.202", "8.8.8.8",
    },
}
# a real email whose extracted text ran into the next word (HTML had no space): the address is real, the span long
REAL_DEBIAN_PREFIX = {"email": ("control@bugs.debian.org",)}


# --------------------------------------------------------------------------- tools
def ours(text: str, lang: str) -> list[tuple[int, int, str]]:
    return find_pii(text, region=default_regions(lang))


_DT = None


def datatrove(text: str, lang: str) -> list[tuple[int, int, str]]:
    global _DT
    if _DT is None:
        from datatrove.pipeline.formatters.pii import PIIFormatter, public_ip_validator
        f = PIIFormatter()
        _DT = (f.emails_replacer.regex, f.ip_replacer.regex, public_ip_validator)
    email_re, ip_re, valid = _DT
    out = [(m.start(), m.end(), "email") for m in email_re.finditer(text)]
    # format() replaces emails first: an IP inside an email match is gone by the time the IP regex runs
    out += [(m.start(), m.end(), "ip_address") for m in ip_re.finditer(text) if valid(m.group(0))
            and not any(a < m.end() and m.start() < b for a, b, _ in out)]
    return sorted(out)


_PRESIDIO: dict = {}


def _presidio_recognizers():
    if not _PRESIDIO:
        logging.getLogger("tldextract").setLevel(logging.CRITICAL)  # offline: falls back to its bundled snapshot
        logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
        from presidio_analyzer.predefined_recognizers import (CreditCardRecognizer, EmailRecognizer, IbanRecognizer,
                                                              IpRecognizer, PhoneRecognizer, UsSsnRecognizer)
        _PRESIDIO["default"] = [R() for R in (EmailRecognizer, PhoneRecognizer, CreditCardRecognizer, IpRecognizer,
                                              UsSsnRecognizer, IbanRecognizer)]
        _PRESIDIO["policy"] = [r for r in _PRESIDIO["default"] if not isinstance(r, PhoneRecognizer)]
        _PRESIDIO["phone"] = lambda regions: PhoneRecognizer(supported_regions=regions)
        _PRESIDIO["phones"] = {}
    return _PRESIDIO


def _resolve(results: list[tuple[int, int, str, float]]) -> list[tuple[int, int, str]]:
    kept: list[tuple[int, int, str, float]] = []
    for a, b, t, s in sorted(results, key=lambda r: (-r[3], -(r[1] - r[0]), r[0])):
        if all(b <= ka or a >= kb for ka, kb, _, _ in kept):
            kept.append((a, b, t, s))
    return sorted((a, b, t) for a, b, t, _ in kept)


def presidio(text: str, lang: str) -> list[tuple[int, int, str]]:
    p = _presidio_recognizers()
    res = [(x.start, x.end, PRESIDIO_TYPES[x.entity_type], x.score) for r in p["default"]
           for x in r.analyze(text, entities=r.supported_entities, nlp_artifacts=None)]
    return _resolve(res)


def _global_ip(s: str) -> bool:
    try:
        return ipaddress.ip_interface(s).ip.is_global
    except ValueError:
        return False


def presidio_policy(text: str, lang: str) -> list[tuple[int, int, str]]:
    p = _presidio_recognizers()
    regions = default_regions(lang)
    phone = p["phones"].setdefault(regions, p["phone"](regions))
    res = []
    for r in [*p["policy"], phone]:
        for x in r.analyze(text, entities=r.supported_entities, nlp_artifacts=None):
            t = PRESIDIO_TYPES[x.entity_type]
            if (t == "ip_address" and not _global_ip(text[x.start:x.end])) or (t == "ssn" and x.score < 0.5):
                continue
            res.append((x.start, x.end, t, x.score))
    return _resolve(res)


TOOLS = {"ours": ours, "datatrove": datatrove, "presidio": presidio, "presidio+policy": presidio_policy}


# --------------------------------------------------------------------------- scoring
def overlaps(a: int, b: int, c: int, d: int) -> bool:
    return a < d and c < b


def evaluate(records: list[dict], fn) -> dict:
    """Per-type counts (gold, pred, exact TP, lenient TP for precision and recall), misses, hard negatives hit."""
    c = {t: collections.Counter() for t in TYPES}
    misses, fps = collections.defaultdict(list), collections.defaultdict(list)
    neg_hits = collections.Counter()
    fmt_rec = collections.defaultdict(collections.Counter)  # (type, fmt) -> gold / found
    for rec in records:
        pred = fn(rec["text"], rec["lang"])
        gold = rec["spans"]
        fmts = {(it["start"], it["end"]): it["fmt"] for it in rec.get("items", []) if it["type"]}
        for a, b, t in gold:
            c[t]["gold"] += 1
            exact = (a, b, t) in pred
            lenient = any(pt == t and overlaps(a, b, pa_, pb) for pa_, pb, pt in pred)
            c[t]["tp_exact_r"] += exact
            c[t]["tp_lenient_r"] += lenient
            key = (t, fmts.get((a, b), "-"))
            fmt_rec[key]["gold"] += 1
            fmt_rec[key]["found"] += lenient
            if not lenient:
                misses[t].append((rec["text"][a:b], fmts.get((a, b), ""), rec["lang"]))
        for a, b, t in pred:
            c[t]["pred"] += 1
            c[t]["tp_exact_p"] += (a, b, t) in gold
            hit = any(gt == t and overlaps(a, b, ga, gb) for ga, gb, gt in gold)
            c[t]["tp_lenient_p"] += hit
            if not hit:
                kinds = [k for na, nb, k in rec["negatives"] if overlaps(a, b, na, nb)]
                for k in kinds:
                    neg_hits[k] += 1
                fps[t].append((rec["text"][a:b], kinds[0] if kinds else "other", rec["lang"]))
    return {"counts": c, "misses": misses, "fps": fps, "neg_hits": neg_hits, "fmt": fmt_rec}


def prf(tp_p: int, pred: int, tp_r: int, gold: int) -> tuple[float | None, float | None, float | None]:
    p = tp_p / pred if pred else None
    r = tp_r / gold if gold else None
    f = 2 * p * r / (p + r) if p and r else (0.0 if p is not None and r is not None else None)
    return p, r, f


def fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def prf_table(results: dict, types=TYPES) -> list[str]:
    lines = ["| type | gold | tool | pred | P exact | R exact | F1 exact | P lenient | R lenient | F1 lenient |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for t in types:
        for tool, res in results.items():
            if t not in TOOL_TYPES[tool]:
                continue
            c = res["counts"][t]
            pe, re_, fe = prf(c["tp_exact_p"], c["pred"], c["tp_exact_r"], c["gold"])
            pl, rl, fl = prf(c["tp_lenient_p"], c["pred"], c["tp_lenient_r"], c["gold"])
            lines.append(f"| {t} | {c['gold']} | {tool} | {c['pred']} | {fmt(pe)} | {fmt(re_)} | {fmt(fe)} | "
                         f"{fmt(pl)} | {fmt(rl)} | {fmt(fl)} |")
    return lines


def micro(res: dict, types) -> tuple:
    tot = collections.Counter()
    for t in types:
        tot.update(res["counts"][t])
    return prf(tot["tp_lenient_p"], tot["pred"], tot["tp_lenient_r"], tot["gold"])


# --------------------------------------------------------------------------- real documents
def load_docs(folder: Path) -> list[dict]:
    import pyarrow.parquet as pq
    docs = []
    for f in sorted(folder.glob("*.parquet")):
        t = pq.read_table(f, columns=["text", "lang"])
        for text, lang in zip(t.column("text").to_pylist(), t.column("lang").to_pylist()):
            docs.append({"text": text or "", "lang": lang, "file": f.stem})
    return docs


def speed(docs: list[dict], name: str) -> dict:
    fn = TOOLS[name]
    fn("warm up 1.2.3.4 a@b.de +49 30 1234567", "en")
    n_bytes = sum(len(d["text"].encode("utf-8")) for d in docs)
    c0, w0 = time.process_time(), time.perf_counter()
    n = 0
    for d in docs:
        m = fn(d["text"], d["lang"])
        if name == "ours":
            redact(d["text"], m)  # the stage's whole per-document work
        n += len(m)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    return {"docs": len(docs), "mb": n_bytes / 1e6, "cpu": cpu, "wall": wall, "matches": n}


def stage_speed(docs: list[dict]) -> dict:
    """The PII stage as the runner calls it: Arrow batches of 64 (text, lang, url)."""
    import pyarrow as pa
    from pipeline.stages.pii import PII
    stage = PII()
    batches = [pa.table({"text": [d["text"] for d in docs[i:i + 64]], "lang": [d["lang"] for d in docs[i:i + 64]],
                         "url": [f"https://example.com/{j}" for j in range(i, min(i + 64, len(docs)))]})
               for i in range(0, len(docs), 64)]
    c0, w0 = time.process_time(), time.perf_counter()
    for b in batches:
        stage.process(b)
    return {"docs": len(docs), "mb": sum(len(d["text"].encode()) for d in docs) / 1e6,
            "cpu": time.process_time() - c0, "wall": time.perf_counter() - w0}


def judge(t: str, s: str) -> tuple[bool, str]:
    """(real PII?, category) of a string flagged in the Debian handbook."""
    if s in REAL_DEBIAN.get(t, ()):
        return True, "real"
    if t == "ip_address" and s.split("/")[0] in REAL_DEBIAN[t]:
        return True, "real (with its prefix length)"
    if any(s.startswith(p) and len(s) > len(p) for p in REAL_DEBIAN_PREFIX.get(t, ())):
        return True, "real (span runs into next word)"
    if t == "ip_address":
        try:
            ip = ipaddress.ip_interface(s)
        except ValueError:
            return False, "not an address"
        if "/" in s:
            return False, "network (CIDR), not a host"
        if not ip.ip.is_global:
            return False, "private/reserved address (policy: kept)"
        if all(int(o) < 32 for o in s.split(".")) if "." in s else False:
            return False, "section/version number"
        return False, "number that parses as an address"
    if t == "email":
        if "!" in s.split("@")[0]:
            return False, "IRC hostmask nick!user@host"
        if s.rsplit(".", 1)[-1].isdigit():
            return False, "user@IP socket spec"
        return False, "not an address"
    if t == "phone":
        if s.count(".") == 3 or "/" in s:
            return False, "IP address or network"
        if "  " in s:
            return False, "numbers from separate table columns"
        return False, "counter/sector/size number"
    if t == "ssn":
        return False, "9-digit count (sectors, blocks)"
    return False, "look-alike"


def debian_fp(docs: list[dict]) -> dict:
    deb = [d for d in docs if d["file"] == DEBIAN_FILE]
    mb = sum(len(d["text"].encode()) for d in deb) / 1e6
    out = {"docs": len(deb), "mb": mb, "tools": {}}
    for name, fn in TOOLS.items():
        found = collections.Counter()
        for d in deb:
            for a, b, t in fn(d["text"], d["lang"]):
                found[(t, d["text"][a:b])] += 1
        out["tools"][name] = found
    return out


# --------------------------------------------------------------------------- report
def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", default=str(ROOT / "data/bench/pii_docs/docs"))
    ap.add_argument("--n", type=int, default=3000, help="generated records")
    ap.add_argument("--out", default=str(ROOT / "bench/results/pii.md"))
    args = ap.parse_args()
    load0 = os.getloadavg()

    nemo = nemo_records(SHARED / "eval/pii/nemo-curator-pii")
    gen = generate(args.n, seed=0)
    res_nemo = {k: evaluate(nemo, fn) for k, fn in TOOLS.items()}
    res_gen = {k: evaluate(gen, fn) for k, fn in TOOLS.items()}
    docs = load_docs(Path(args.docs))
    if not docs:
        sys.exit(f"no documents under {args.docs}; run the curate command in this script's docstring first")
    speeds = {k: speed(docs, k) for k in TOOLS}
    speeds["ours (PII stage, Arrow batches of 64)"] = stage_speed(docs)
    deb = debian_fp(docs)
    load1 = os.getloadavg()

    L = ["# PII detection: ours vs datatrove vs presidio", "",
         f"- date: {datetime.now(timezone.utc).isoformat(timespec='seconds')}",
         f"- machine: {platform.machine()}, {os.cpu_count()} cores (shared), Python {platform.python_version()}; "
         f"one process; load average before {load0[0]:.2f}, after {load1[0]:.2f}",
         f"- versions: phonenumbers {version('phonenumbers')}, python-stdnum {version('python-stdnum')}, "
         f"datatrove {version('datatrove')}, presidio-analyzer {version('presidio-analyzer')}",
         "- command: `.venv/bin/python bench/pii_eval.py` (docstring: how the documents were made)",
         "- scoring: exact = same (start, end, type); lenient = overlaps a gold span of the same type. Precision "
         "counts every prediction of the type anywhere in the text. datatrove does emails and IPs only.",
         "- presidio: pattern recognizers called directly, no NLP model (works offline; tldextract falls back to "
         "its bundled suffix list). presidio+policy = presidio extended to our policy: public IPs only, phones "
         "in the document's regions (ours), SSN score >= 0.5. Installed with `pip install --no-deps "
         "presidio-analyzer==2.2.366`: its pin preshed<3.0.14 would downgrade spaCy's preshed 3.0.15; its other "
         "requirements are already in .venv.",
         "- caveat: our rules were tuned on the generated set (seed 0) and on the sample crawl, Debian handbook "
         "included, so those numbers flatter ours; NeMo-Curator's lines and the held-out seed are the independent "
         "checks.",
         ""]

    # NeMo
    n_types = ("email", "phone", "ip_address", "ssn", "credit_card")
    L += [f"## NeMo-Curator set ({len(nemo)} lines; names, addresses, birth dates out of scope)", "",
          *prf_table(res_nemo, n_types), ""]
    priv = [(r, a, b) for r in nemo for a, b, k in r["negatives"] if k == "private_ip"]
    L.append("Private IPs tagged in the set (our policy keeps them, as datatrove does; presidio redacts them):")
    L.append("")
    L.append("| address | " + " | ".join(TOOLS) + " |")
    L.append("|---|" + "---|" * len(TOOLS))
    for r, a, b in priv:
        cells = []
        for name, fn in TOOLS.items():
            hit = any(overlaps(a, b, pa_, pb) for pa_, pb, _ in fn(r["text"], r["lang"]))
            cells.append("redacted" if hit else "kept")
        L.append(f"| {r['text'][a:b]} | " + " | ".join(cells) + " |")
    oos = collections.Counter()
    for name, res in res_nemo.items():
        for t, items in res["fps"].items():
            for s, kind, _ in items:
                oos[(name, t, s, kind)] += 1
    if oos:
        L += ["", "Predictions with no gold span of their type (NeMo):", ""]
        L += [f"- {name}: {t} `{s}` (inside: {kind})" for (name, t, s, kind) in sorted(oos)]
    L.append("")

    # Generated
    n_items = sum(len(r["items"]) for r in gen)
    langs = collections.Counter(r["lang"] for r in gen)
    L += [f"## Generated set ({len(gen)} records, {n_items} items; tests/piigen.py, seed 0)", "",
          "Languages: " + ", ".join(f"{k} {v}" for k, v in sorted(langs.items())), "",
          *prf_table(res_gen), ""]
    L += ["Micro-average over the types each tool supports (lenient):", "",
          "| tool | P | R | F1 |", "|---|---|---|---|"]
    for name, res in res_gen.items():
        p, r, f = micro(res, TOOL_TYPES[name])
        L.append(f"| {name} | {fmt(p)} | {fmt(r)} | {fmt(f)} |")
    L.append("")
    # the rules were tuned on seed 0 (and, once, on seed 7): ours on a seed nobody looked at
    held = generate(args.n, seed=11)
    res_held = {"ours": evaluate(held, ours), "presidio+policy": evaluate(held, presidio_policy)}
    L += ["Held-out check: the same generator with seed 11, never looked at while tuning (lenient):", "",
          "| type | gold | ours P | ours R | presidio+policy P | presidio+policy R |", "|---|---|---|---|---|---|"]
    for t in TYPES:
        cells = []
        for name in res_held:
            c = res_held[name]["counts"][t]
            p, r, _ = prf(c["tp_lenient_p"], c["pred"], c["tp_lenient_r"], c["gold"])
            cells += [fmt(p), fmt(r)]
        L.append(f"| {t} | {res_held['ours']['counts'][t]['gold']} | " + " | ".join(cells) + " |")
    L.append("")
    # hard negatives
    neg_n = collections.Counter(k for r in gen for _, _, k in r["negatives"])
    L += ["Hard negatives flagged as PII (items of the kind that any prediction overlaps; lower is better):", "",
          "| kind | items | " + " | ".join(TOOLS) + " |", "|---|---|" + "---|" * len(TOOLS)]
    for k in sorted(neg_n):
        L.append(f"| {k} | {neg_n[k]} | " + " | ".join(str(res_gen[t]['neg_hits'][k]) for t in TOOLS) + " |")
    L.append("")
    # phone recall by format and by country
    L += ["Phone recall (lenient) by how the number was written (`national_other`: a national number of a "
          "country that is not the detector's region for the language, e.g. a UK number in English text):", "",
          "| format | gold | ours | presidio | presidio+policy |", "|---|---|---|---|---|"]
    by_fmt = collections.defaultdict(lambda: collections.Counter())
    by_cc = collections.defaultdict(lambda: collections.Counter())
    for name in ("ours", "presidio", "presidio+policy"):
        for (t, f), c in res_gen[name]["fmt"].items():
            if t == "phone":
                style, cc = f.split(":")
                by_fmt[style][name] += c["found"]
                by_fmt[style]["gold"] += c["gold"] if name == "ours" else 0
                by_cc[cc][name] += c["found"]
                by_cc[cc]["gold"] += c["gold"] if name == "ours" else 0
    for style, c in sorted(by_fmt.items()):
        L.append(f"| {style} | {c['gold']} | " + " | ".join(
            f"{c[n] / c['gold']:.3f}" for n in ("ours", "presidio", "presidio+policy")) + " |")
    L += ["", "| country | gold | ours | presidio | presidio+policy |", "|---|---|---|---|---|"]
    for cc, c in sorted(by_cc.items()):
        L.append(f"| {cc} | {c['gold']} | " + " | ".join(
            f"{c[n] / c['gold']:.3f}" for n in ("ours", "presidio", "presidio+policy")) + " |")
    L.append("")
    # other formats
    L += ["Recall (lenient) by format, other types:", "", "| type | format | gold | ours | presidio |",
          "|---|---|---|---|---|"]
    for (t, f), c in sorted(res_gen["ours"]["fmt"].items()):
        if t != "phone":
            cp = res_gen["presidio"]["fmt"][(t, f)]
            L.append(f"| {t} | {f} | {c['gold']} | {c['found'] / c['gold']:.3f} | {cp['found'] / cp['gold']:.3f} |")
    L.append("")
    # ours: every miss and every false positive on the generated set
    L += ["Our misses on the generated set (every one; value, format, language):", ""]
    for t in TYPES:
        ms = res_gen["ours"]["misses"][t]
        if ms:
            L.append(f"- {t} ({len(ms)}): " + ", ".join(f"`{s}` ({f}, {lg})" for s, f, lg in ms[:60])
                     + (" ..." if len(ms) > 60 else ""))
    if not any(res_gen["ours"]["misses"].values()):
        L.append("- none")
    L += ["", "Our false positives on the generated set (every one; value, what it was, language):", ""]
    for t in TYPES:
        fs = res_gen["ours"]["fps"][t]
        if fs:
            L.append(f"- {t} ({len(fs)}): " + ", ".join(f"`{s}` ({k}, {lg})" for s, k, lg in fs[:60])
                     + (" ..." if len(fs) > 60 else ""))
    if not any(res_gen["ours"]["fps"].values()):
        L.append("- none")
    L.append("")

    # speed
    L += [f"## Speed (all {len(docs)} documents of the sample crawl, {speeds['ours']['mb']:.1f} MB of text)", "",
          "| tool | matches | CPU s | wall s | docs/s per CPU-s | MB/s per CPU-s |", "|---|---|---|---|---|---|"]
    for name, s in speeds.items():
        L.append(f"| {name} | {s.get('matches', '')} | {s['cpu']:.2f} | {s.get('wall', float('nan')):.2f} | "
                 f"{s['docs'] / s['cpu']:.0f} | {s['mb'] / s['cpu']:.2f} |")
    L.append("")

    # Debian
    L += [f"## False positives on the Debian handbook ({DEBIAN_FILE}: {deb['docs']} documents, {deb['mb']:.2f} MB)",
          "", "Every match, judged against the hand-reviewed list of real addresses in the script (REAL_DEBIAN).", "",
          "| tool | matches | real | false positives | FP per MB | FP per 1,000 docs | FP types "
          "| real ones it missed (vs the tool that found most) |",
          "|---|---|---|---|---|---|---|---|"]
    details = []
    # real occurrences each tool found, by address (prefix lengths and run-on words stripped)
    real_found = {name: collections.Counter() for name in deb["tools"]}
    for name, found in deb["tools"].items():
        for (t, s), n in found.items():
            if judge(t, s)[0]:
                s = s.split("/")[0] if t == "ip_address" else next(
                    (p for p in REAL_DEBIAN_PREFIX.get(t, ()) if s.startswith(p)), s)
                real_found[name][(t, s)] += n
    best = collections.Counter()
    for c in real_found.values():
        best |= c
    for name, found in deb["tools"].items():
        real = fp = 0
        fp_types = collections.Counter()
        cats = collections.defaultdict(lambda: collections.defaultdict(collections.Counter))
        for (t, s), n in found.items():
            ok, cat = judge(t, s)
            cats[t][cat][s] += n
            if ok:
                real += n
            else:
                fp += n
                fp_types[t] += n
        missed = sorted((k, best[k] - real_found[name][k]) for k in best
                        if best[k] > real_found[name][k] and k[0] in TOOL_TYPES[name])
        L.append(f"| {name} | {real + fp} | {real} | {fp} | {fp / deb['mb']:.1f} | {1000 * fp / deb['docs']:.1f} | "
                 + (", ".join(f"{t} {n}" for t, n in fp_types.most_common()) or "—") + " | "
                 + (", ".join(f"`{s}` ×{n}" for (t, s), n in missed) or "—") + " |")
        details.append(f"### {name}")
        details.append("")
        for t in TYPES:
            if t not in cats:
                continue
            for cat, strings in sorted(cats[t].items()):
                total = sum(strings.values())
                shown = ", ".join(f"`{s}` ×{n}" for s, n in sorted(strings.items(), key=lambda x: (-x[1], x[0])))
                details.append(f"- **{t} — {cat}** ({total} matches, {len(strings)} distinct): {shown}")
        details.append("")
    L += ["", *details]

    # the rest of the crawl: real web pages, no labels; every non-email match of ours, for eyeballing
    others = [d for d in docs if d["file"] != DEBIAN_FILE]
    found = collections.Counter((t, d["text"][a:b]) for d in others for a, b, t in ours(d["text"], d["lang"]))
    n_email = sum(n for (t, _), n in found.items() if t == "email")
    L += [f"## Our matches on the other {len(others)} sample-crawl documents (news, blogs, shops; no labels)", "",
          f"{n_email} email matches (not listed). Every other match, to be read by eye (when this was written: all "
          "phone numbers and IBANs real; the two IPs are examples in an article on IP anonymisation, public "
          "addresses all the same):", ""]
    for t in TYPES:
        items = sorted((s, n) for (tt, s), n in found.items() if tt == t)
        if t != "email" and items:
            L.append(f"- **{t}** ({sum(n for _, n in items)} matches, {len(items)} distinct): "
                     + ", ".join(f"`{s}`" + (f" ×{n}" if n > 1 else "") for s, n in items))
    text = "\n".join(L) + "\n"
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
