"""A crawl of any size built from the sample crawl's pages, with realistic duplication and edits.

    .venv/bin/python bench/crawl_gen.py --pages 50000 --out data/bench/crawl-50000 [--per-file 2000] [--seed 0]

Writes WARC/1.0 files gzipped per record (the CommonCrawl layout): a warcinfo record, then a request,
response and metadata record per page, ``--per-file`` responses per file, and ``manifest.json`` (counts
per kind, shares, time). The sample's HTTP 200 HTML pages (~2,440, read with pipeline/read.py) are the
*base pages*; every response is one of (default shares of all responses):

- ``error`` (the sample's share, 60/2,504 = 2.4%): one of the sample's non-HTML or non-200 responses,
  verbatim, under a new URL.
- ``page`` (the rest, ~72%): distinct documents. Page j takes base page ``j % bases`` (in a shuffled
  order): its first use is the base page itself (its URL and date); later uses are *unique-ish
  variants* under a new URL of the same host: every text node of 4+ words outside script, style, pre
  and code is replaced, with probability 0.5, by a text node of another page in the same language
  (fastText language ID), and 10% of its words (at least one) are replaced by words drawn from that
  language's text. Two variants of one base share few word 5-grams (measured on the extracted text:
  median Jaccard 0.07, 95% below 0.27), so MinHash LSH rarely clusters them and no changed line repeats
  across them: without this, dedup would keep only ~1,400 documents of any crawl built from the sample.
  Short nodes (menus, buttons, labels) stay as they are, as a site's boilerplate does, and are removed
  by line-level dedup at scale.
- ``recrawl`` (8%): an earlier page under the same URL, fetched 1-60 days later; half are identical,
  half have their dates moved and an "updated" line added. URL dedup keeps the latest fetch.
- ``copy`` (8%): an earlier page's exact HTML under a mirror host. Exact dedup.
- ``near`` (10%): an earlier page edited, under a syndication host: 15% of its text nodes have 15% of
  their words replaced, 3% are deleted, its dates are moved and 1-3 boilerplate lines are added
  (median Jaccard 0.82 with the original, 5% below 0.6: MinHash LSH with 14 bands x 8 rows finds ~90%).

Pages are regenerated from their index (everything is seeded by ``--seed`` and the index, never by the
process or the order of work), so files are generated in parallel (``--jobs``), and the output is the
same for a seed whatever ``--jobs`` is. In memory: the sample (~0.7 GB), the plan (a tuple per
response) and the record being written.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import resource
import sys
import time
import uuid
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.read import ReadParams, read_documents  # noqa: E402
from pipeline.warc import Record, iter_records, open_input  # noqa: E402
from tests.warcgen import http_response  # noqa: E402

SAMPLE = ROOT.parent / "shared" / "crawl" / "sample"
DUP_SHARES = {"recrawl": 0.08, "copy": 0.08, "near": 0.10}  # of all responses; "error": the sample's share
DONOR_P = 0.5         # unique-ish variant: chance that a text node is replaced by another page's
VARIANT_SUB = 0.10    # unique-ish variant: share of each text node's words replaced
NEAR_EDIT_P, NEAR_DROP_P, NEAR_SUB = 0.15, 0.03, 0.15  # near-duplicate: nodes edited, deleted; words replaced
MIN_WORDS = 4         # text nodes with fewer words are boilerplate and never changed
VOCAB_CAP = 300_000   # words kept per language to draw replacements from (frequency-weighted)
CRAWL_START = dt.datetime(2024, 5, 17, tzinfo=dt.timezone.utc)
CRAWL_DAYS = 14
# Markup whose text is never changed (code listings, scripts), and the tags between text nodes.
_MARKUP = re.compile(r"<(script|style|pre|code|textarea|noscript|svg)\b.*?</\1\s*>|<!--.*?-->|<[^>]*>",
                     re.S | re.I)
_ISO_DATE = re.compile(r"(?<!\d)20[0-2]\d-[01]\d-[0-3]\d(?!\d)")
_BODY_END = re.compile(r"</body\s*>", re.I)
BOILERPLATE = (
    "Share this page: Facebook, Twitter, Email", "{n} comments",
    "Subscribe to our newsletter for weekly updates.", "This article first appeared on {host}.",
    "Related posts", "Advertisement", "Cookies help us deliver our services. By using them you agree.",
    "Read more", "All rights reserved {year}.", "Posted by admin on {date}", "{n} views",
)


@dataclass
class Base:
    """A sample page: its HTML and the spans of its changeable text nodes."""

    url: str
    date: str
    html: str
    slots: list[tuple[int, int]]
    lang: str


@dataclass
class Doc:
    """A generated page: ``statics[0] + texts[0] + statics[1] + ... + statics[-1]`` is its HTML."""

    url: str
    date: dt.datetime
    statics: list[str]
    texts: list[str]
    lang: str

    def html(self) -> str:
        parts = [self.statics[0]]
        for text, static in zip(self.texts, self.statics[1:]):
            parts += (text, static)
        return "".join(parts)


class Sample:
    """The sample crawl's pages, error responses and per-language text pools, loaded once."""

    def __init__(self, paths: list[str], seed: int):
        from classifiers import langid

        self.errors: list[tuple[str, bytes]] = []  # (url, HTTP message) of non-HTML and non-200 responses
        pages, responses = [], 0
        for path in paths:
            dropped = set()
            for row, drop in read_documents(path, ReadParams()):
                if "other" in row:
                    continue
                responses += 1
                if drop is None:
                    pages.append((row["url"], row["date"], row["html"], _slots(row["html"])))
                elif drop.reason in ("non_html", "http_status"):
                    dropped.add(row["warc_offset"])
            with open_input(path) as f:
                self.errors += [(r.headers.get("warc-target-uri", ""), r.block) for r in iter_records(f)
                                if isinstance(r, Record) and r.type == "response" and r.offset in dropped]
        if not pages:
            raise SystemExit(f"no HTML pages in {paths}")
        self.error_share = len(self.errors) / responses
        texts = [" ".join(html[s:e] for s, e in slots[:40])[:2000] for _, _, html, slots in pages]
        langs = [lang for lang, _ in langid.predict(texts)]
        self.bases = [Base(u, d, h, s, lang) for (u, d, h, s), lang in zip(pages, langs)]
        self.order = list(range(len(self.bases)))
        random.Random(seed).shuffle(self.order)
        self.paragraphs: dict[str, list[str]] = defaultdict(list)
        for b in self.bases:
            self.paragraphs[b.lang] += [b.html[s:e] for s, e in b.slots]
        # Replacement words: the words of random paragraphs, so common words are drawn more often.
        rng = random.Random(seed)
        self.words: dict[str, list[str]] = {}
        for lang, paragraphs in self.paragraphs.items():
            words = self.words[lang] = []
            for text in rng.sample(paragraphs, len(paragraphs)):
                words += text.split()
                if len(words) >= VOCAB_CAP:
                    break

    def page(self, seed: int, j: int) -> Doc:
        """Page j: base page ``order[j % bases]`` itself on its first use, else a unique-ish variant."""
        base = self.bases[self.order[j % len(self.bases)]]
        statics, texts, prev = [], [], 0
        for s, e in base.slots:
            statics.append(base.html[prev:s])
            texts.append(base.html[s:e])
            prev = e
        statics.append(base.html[prev:])
        if j < len(self.bases):
            return Doc(base.url, _parse_date(base.date), statics, texts, base.lang)
        rng = random.Random(f"{seed}:page:{j}")
        pool, vocab = self.paragraphs[base.lang], self.words[base.lang]
        for k, text in enumerate(texts):
            if rng.random() < DONOR_P:
                text = pool[rng.randrange(len(pool))]
            texts[k] = _substitute(text, VARIANT_SUB, vocab, rng)
        date = CRAWL_START + dt.timedelta(seconds=rng.randrange(CRAWL_DAYS * 86400))
        return Doc(_variant_url(base.url, j), date, statics, texts, base.lang)

    def near(self, doc: Doc, rng: random.Random) -> None:
        """Edit ``doc`` in place into a near-duplicate of itself (see the module doc)."""
        vocab = self.words[doc.lang]
        for k, text in enumerate(doc.texts):
            r = rng.random()
            if r < NEAR_DROP_P:
                doc.texts[k] = " "
            elif r < NEAR_DROP_P + NEAR_EDIT_P:
                doc.texts[k] = _substitute(text, NEAR_SUB, vocab, rng)


def _slots(html: str) -> list[tuple[int, int]]:
    """Spans of the text nodes with at least MIN_WORDS words outside never-changed markup."""
    out, prev = [], 0
    for m in _MARKUP.finditer(html):
        if m.start() > prev and len(html[prev:m.start()].split(None, MIN_WORDS)) >= MIN_WORDS:
            out.append((prev, m.start()))
        prev = m.end()
    if len(html) > prev and len(html[prev:].split(None, MIN_WORDS)) >= MIN_WORDS:
        out.append((prev, len(html)))
    return out


def _substitute(text: str, rate: float, vocab: list[str], rng: random.Random) -> str:
    """``text`` with ~``rate`` of its words (at least one) replaced by random words of ``vocab``."""
    words = text.split()
    n, m, rand = len(words), len(vocab), rng.random
    for _ in range(max(1, int(n * rate + rand()))):
        words[int(rand() * n)] = vocab[int(rand() * m)]
    lead, trail = len(text) - len(text.lstrip()), len(text.rstrip())
    return text[:lead] + " ".join(words) + text[trail:]


def _variant_url(url: str, j: int) -> str:
    """Another page of the same site: ``-<j>`` added to the file name (or ``<j>/`` to the folder), no query."""
    scheme, _, rest = url.partition("://")
    host, _, path = rest.split("?")[0].split("#")[0].partition("/")
    stem, dot, ext = path.rpartition(".")
    if dot and stem and "/" not in ext:
        return f"{scheme}://{host}/{stem}-{j}.{ext}"
    path = path.strip("/")
    return f"{scheme}://{host}/{path + '/' if path else ''}{j}/"


def _other_host(url: str, host: str) -> str:
    _, _, rest = url.partition("://")
    _, _, path = rest.partition("/")
    return f"https://{host}/{path}"


def _parse_date(value: str) -> dt.datetime:
    try:
        return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return CRAWL_START


def _move_dates(html: str, to: dt.datetime) -> str:
    return _ISO_DATE.sub(to.strftime("%Y-%m-%d"), html)


def _boilerplate(rng: random.Random, doc: Doc, n: int) -> list[str]:
    fill = {"date": f"{doc.date:%B %d, %Y}", "n": rng.randrange(2, 5000), "year": doc.date.year,
            "host": doc.url.split("/")[2] if doc.url.count("/") >= 2 else "the web"}
    return [rng.choice(BOILERPLATE).format(**fill) for _ in range(n)]


def _add_lines(html: str, lines: list[str]) -> str:
    """``lines`` added as paragraphs before the last ``</body>`` (or at the end)."""
    add = "".join(f"<p>{line}</p>\n" for line in lines)
    m = None
    for m in _BODY_END.finditer(html):
        pass
    return html[:m.start()] + add + html[m.start():] if m else html + add


class Writer:
    """Writes one WARC file: gzip member per record, request/response/metadata per page."""

    def __init__(self, path: Path, rng: random.Random, level: int):
        self.rng, self.level = rng, level
        self.f = open(path, "wb")
        self.bytes_in = 0
        self.record("warcinfo", None, CRAWL_START,
                    f"software: bench/crawl_gen.py\r\nformat: WARC File Format 1.0\r\n"
                    f"description: generated from the sample crawl\r\n".encode(), "application/warc-fields")

    def record(self, kind: str, url: str | None, date: dt.datetime, block: bytes, ctype: str,
               concurrent: str | None = None) -> str:
        rid = f"<urn:uuid:{uuid.UUID(int=self.rng.getrandbits(128), version=4)}>"
        head = [f"WARC/1.0\r\nWARC-Type: {kind}", f"WARC-Date: {date:%Y-%m-%dT%H:%M:%SZ}", f"WARC-Record-ID: {rid}"]
        if url is not None:
            head.append(f"WARC-Target-URI: {url}")
        if concurrent:
            head.append(f"WARC-Concurrent-To: {concurrent}")
        head += [f"Content-Type: {ctype}", f"Content-Length: {len(block)}"]
        data = ("\r\n".join(head) + "\r\n\r\n").encode() + block + b"\r\n\r\n"
        z = zlib.compressobj(self.level, zlib.DEFLATED, 31)  # a gzip member (mtime 0)
        self.f.write(z.compress(data) + z.flush())
        self.bytes_in += len(data)
        return rid

    def page(self, url: str, date: dt.datetime, http: bytes) -> None:
        host = url.split("/")[2] if url.count("/") >= 2 else ""
        path = "/" + url.split("/", 3)[3] if url.count("/") >= 3 else "/"
        req = self.record("request", url, date,
                          f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: CCBot/2.0 "
                          f"(https://commoncrawl.org/faq/)\r\nAccept: text/html\r\n\r\n".encode(),
                          "application/http; msgtype=request")
        resp = self.record("response", url, date, http, "application/http; msgtype=response", req)
        self.record("metadata", url, date, f"fetchTimeMs: {self.rng.randrange(50, 3000)}\r\n".encode(),
                    "application/warc-fields", resp)

    def close(self) -> int:
        self.f.close()
        return self.bytes_in


def html_response(html: str, date: dt.datetime) -> bytes:
    return http_response(html.encode("utf-8"), content_type="text/html; charset=utf-8",
                         headers=[("Date", f"{date:%a, %d %b %Y %H:%M:%S GMT}"), ("Server", "nginx")])


_SAMPLE: Sample | None = None  # set in the parent before the worker processes fork


def write_file(path: Path, seed: int, plan: list[tuple[int, str, int]], level: int) -> dict:
    """Write one WARC file for ``plan`` entries ``(record index, kind, page or error index)``."""
    s = _SAMPLE
    tmp = path.with_name(path.name + ".tmp")
    w = Writer(tmp, random.Random(f"{seed}:file:{path.name}"), level)
    for i, kind, arg in plan:
        rng = random.Random(f"{seed}:record:{i}")
        if kind == "error":
            url, block = s.errors[arg]
            date = CRAWL_START + dt.timedelta(seconds=rng.randrange(CRAWL_DAYS * 86400))
            w.page(_variant_url(url, i), date, block)
            continue
        doc = s.page(seed, arg)
        if kind == "recrawl":
            doc.date += dt.timedelta(days=rng.randint(1, 60), seconds=rng.randrange(86400))
            html = doc.html()
            if rng.random() < 0.5:
                html = _add_lines(_move_dates(html, doc.date), [f"Last updated on {doc.date:%B %d, %Y}."])
        elif kind == "copy":
            doc.url = _other_host(doc.url, f"mirror-{rng.randrange(1000):03d}.example.net")
            doc.date = CRAWL_START + dt.timedelta(seconds=rng.randrange(CRAWL_DAYS * 86400))
            html = doc.html()
        elif kind == "near":
            doc.url = _other_host(doc.url, f"news-{rng.randrange(1000):03d}.example.org")
            doc.date += dt.timedelta(days=rng.randint(0, 30), seconds=rng.randrange(86400))
            s.near(doc, rng)
            html = _add_lines(_move_dates(doc.html(), doc.date), _boilerplate(rng, doc, rng.randint(1, 3)))
        else:
            html = doc.html()
        w.page(doc.url, doc.date, html_response(html, doc.date))
    bytes_in = w.close()
    tmp.rename(path)
    return {"file": path.name, "responses": len(plan), "bytes": path.stat().st_size, "bytes_uncompressed": bytes_in}


def make_plan(n: int, seed: int, shares: dict[str, float], n_errors: int) -> list[tuple[int, str, int]]:
    """``(record index, kind, argument)`` per response: a page index for page kinds, else an error index.

    Duplicates copy a page written earlier (uniformly among them), so the original precedes its copies.
    """
    rng = random.Random(f"{seed}:plan")
    cum, acc = [], 0.0
    for kind in ("error", "recrawl", "copy", "near"):
        acc += shares[kind]
        cum.append((acc, kind))
    if acc >= 1:
        raise SystemExit(f"shares add up to {acc:.2f}: nothing left for distinct pages")
    plan, pages = [], 0
    for i in range(n):
        r = rng.random()
        kind = next((k for c, k in cum if r < c), "page")
        if kind == "error":
            plan.append((i, kind, rng.randrange(n_errors)))
        elif kind == "page" or pages == 0:
            plan.append((i, "page", pages))
            pages += 1
        else:
            plan.append((i, kind, rng.randrange(pages)))
    return plan


def generate(pages: int, out: Path, per_file: int = 2000, seed: int = 0, jobs: int | None = None,
             level: int = 6, shares: dict[str, float] | None = None, sample: Path = SAMPLE) -> dict:
    """Write the crawl into ``out`` (its existing *.warc.gz files are replaced); return the manifest."""
    global _SAMPLE
    t0 = time.time()
    _SAMPLE = Sample(sorted(str(p) for p in sample.glob("*.warc.gz")), seed)
    load_s = time.time() - t0
    shares = {"error": _SAMPLE.error_share, **DUP_SHARES, **(shares or {})}
    plan = make_plan(pages, seed, shares, len(_SAMPLE.errors))
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.warc.gz*"):
        old.unlink()
    n_files = -(-pages // per_file)
    work = [(out / f"CC-LARGE-{k:05d}.warc.gz", seed, plan[k * per_file:(k + 1) * per_file], level)
            for k in range(n_files)]
    jobs = max(1, min(jobs or os.cpu_count() or 1, n_files))
    t1 = time.time()
    if jobs == 1:
        files = [write_file(*w) for w in work]
    else:
        with get_context("fork").Pool(jobs) as pool:
            files = pool.starmap(write_file, work, chunksize=1)
    write_s = time.time() - t1
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime  # the pool's processes are reaped by now
    counts = Counter(kind for _, kind, _ in plan)
    manifest = {
        "pages": pages, "seed": seed, "per_file": per_file, "files": len(files), "jobs": jobs, "gzip_level": level,
        "shares": shares, "counts": dict(sorted(counts.items())),
        "base_pages": len(_SAMPLE.bases), "variants": max(0, counts["page"] - len(_SAMPLE.bases)),
        "languages": dict(Counter(b.lang for b in _SAMPLE.bases).most_common()),
        "bytes": sum(f["bytes"] for f in files), "bytes_uncompressed": sum(f["bytes_uncompressed"] for f in files),
        "load_s": round(load_s, 2), "write_s": round(write_s, 2), "seconds": round(time.time() - t0, 2),
        "pages_per_s": round(pages / (time.time() - t0), 1), "cpu_s": round(cpu_s, 2),
        "pages_per_cpu_s": round(pages / max(cpu_s, 1e-9), 1),
        "peak_rss_mb": round(max(own.ru_maxrss, kids.ru_maxrss) / 1024),  # the largest single process
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pages", type=int, required=True, help="HTTP responses to generate")
    p.add_argument("--out", required=True, type=Path, help="output folder (its *.warc.gz files are replaced)")
    p.add_argument("--per-file", type=int, default=2000, help="responses per WARC file (default 2000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, help="processes writing files (default: all cores)")
    p.add_argument("--gzip-level", type=int, default=6,
                   help="zlib level per record (default 6; 1 compresses ~3x faster, files ~15%% larger)")
    p.add_argument("--share", action="append", default=[], metavar="KIND=X",
                   help="override a share of all responses: error, recrawl, copy or near (repeatable)")
    p.add_argument("--sample", type=Path, default=SAMPLE, help="folder of the sample crawl's *.warc.gz")
    args = p.parse_args(argv)
    shares = {}
    for item in args.share:
        kind, _, value = item.partition("=")
        if kind not in ("error", *DUP_SHARES):
            p.error(f"--share {item}: unknown kind {kind!r}")
        shares[kind] = float(value)
    m = generate(args.pages, args.out, args.per_file, args.seed, args.jobs, args.gzip_level, shares, args.sample)
    print(f"{m['pages']:,} responses in {m['files']} files ({m['bytes'] / 1e9:.2f} GB) in {m['seconds']:.1f} s "
          f"= {m['pages_per_s']:,.0f} pages/s, {m['pages_per_cpu_s']:,.0f} per CPU-second ({m['jobs']} processes; "
          f"sample loaded in {m['load_s']:.1f} s); {m['counts']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
