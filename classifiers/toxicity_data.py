"""Toxicity training data: Davidson tweets and surge comments, tweet-markup cleaning, clean web pages as
extra negatives (the training / measurement split, LDNOOBW screening, chunking as the stage scores) and
toxic tweets set in web text. The model, its threshold and document scoring are in
``classifiers/toxicity.py``, which documents why each of these exists.
"""

from __future__ import annotations

import csv
import glob
import gzip
import html
import json
import re
import sys
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import urlsplit

import numpy as np

from classifiers.common import ft_tokens, stable_hash, text_key

DEFAULT_BLOCKLIST = Path("data/lists/ldnoobw/en")  # `make lists`; ../shared/lists/ldnoobw/en as a fallback
DAVIDSON_CLASSES = {0: "hate", 1: "offensive", 2: "neither"}

_ENTITY_AGAIN = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.I)
_RT = re.compile(r"(?<!\w)RT\b:?")  # upper-case only: "rt" is also a word-ish token in comments
_MENTION = re.compile(r"(?<![^\s\"'“‘(\[.,:;])@\w{1,30}:?")
_HASHTAG = re.compile(r"(?<![\w&])#(\w)")
_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")  # old Twitter emoji codes
_SPACE = re.compile(r"\s+")


def token_words(tokens: str) -> list[str]:
    """The words of ``ft_tokens`` output (it yields words, or one punctuation mark per token)."""
    return [w for w in tokens.split() if w[0].isalnum()]


def clean_text(text: str | None) -> str:
    """Tweet markup away, for training and scoring alike (see the module docstring)."""
    if not text:
        return ""
    t = html.unescape(text)
    if "&" in t and _ENTITY_AGAIN.search(t):
        t = html.unescape(t)
    t = _URL.sub(" ", t)
    t = _MENTION.sub(" ", t)
    t = _RT.sub(" ", t)
    t = _HASHTAG.sub(r"\1", t)
    t = _PRIVATE_USE.sub(" ", t)
    return _SPACE.sub(" ", t).strip()


# --- data ---------------------------------------------------------------------------------

def read_davidson(path: str | Path, clean: bool = True) -> list[dict[str, Any]]:
    """Labelled rows ``text`` (cleaned), ``label`` (1 = hate or offensive, 0 = neither), ``source``
    (the Davidson class name). Tweets that cleaning leaves empty are dropped."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"Davidson CSV not found: {path}")
    rows = []
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = {"class", "tweet"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: not the Davidson CSV (missing column(s) {sorted(missing)}; "
                             f"columns: {reader.fieldnames})")
        for r in reader:
            cls = int(r["class"])
            text = clean_text(r["tweet"]) if clean else r["tweet"]
            if text:
                rows.append({"text": text, "label": int(cls != 2), "source": DAVIDSON_CLASSES[cls]})
    return rows


def read_surge(path: str | Path) -> tuple[list[str], list[int]]:
    """Texts and labels (1 = Toxic) of the surge-ai toxicity CSV (multi-line quoted texts)."""
    texts, labels = [], []
    with open(path, encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            v = r["is_toxic"].strip().lower()
            if v not in ("toxic", "not toxic"):
                raise ValueError(f"{path}: unexpected is_toxic value {r['is_toxic']!r}")
            texts.append(r["text"])
            labels.append(int(v == "toxic"))
    return texts, labels


# --- clean web text as extra negatives ----------------------------------------------------

# Which web pages may be trained on and which are kept for measuring false positives: a fixed half by
# unit (``web_key``), the same for every seed, so `curate train` and bench/toxicity_eval.py agree.
MEASURE_SALT = "toxicity-web-measure"
# sites that are split by page rather than as a whole (one site, most of the sample crawl's English pages)
PAGE_SPLIT_HOSTS = ("debian-handbook.info",)


def web_key(doc: dict) -> str:
    """The unit a web page belongs to for the training/measurement split: an extraction-benchmark article
    (``article:<id>``, from ``ground-truth.json`` or a ``group`` of that form), a page of a
    ``PAGE_SPLIT_HOSTS`` site (host + last URL segment: translations and versions of one page together),
    otherwise the URL's host (pages of one site share boilerplate and style), else the text's key."""
    g = str(doc.get("group") or "")
    if g.startswith("article:"):
        return g
    url = str(doc.get("url") or "")
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    if host:
        if any(host == h or host.endswith("." + h) for h in PAGE_SPLIT_HOSTS):
            return f"{host}/{url.split('?')[0].split('#')[0].rstrip('/').rsplit('/', 1)[-1]}"
        return host
    return "text:" + text_key(doc.get("text") or "", 100)


def web_measurement(key: str) -> bool:
    """True for the half of the web units kept for measurement (never trained on by default)."""
    return stable_hash(f"{MEASURE_SALT}:{key}") % 2 == 1


def _expand(paths: Sequence[str | Path]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        p = str(p)
        matched = sorted(glob.glob(p)) if glob.has_magic(p) else ([p] if Path(p).exists() else [])
        if not matched:
            raise FileNotFoundError(f"negatives not found: {p}")
        files += [Path(m) for m in matched]
    return files


def _read_text_rows(path: Path) -> list[dict]:
    if path.is_dir() and (path / "ground-truth.json").exists():  # the extraction benchmark's folder
        path = path / "ground-truth.json"
    if path.suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        if not (isinstance(data, dict) and data and all(isinstance(v, dict) and "articleBody" in v
                                                        for v in data.values())):
            raise ValueError(f"{path}: a .json file of negatives must be the extraction benchmark's "
                             "ground-truth.json ({id: {articleBody, url}}); use JSONL or Parquet with `text`")
        return [{"text": v.get("articleBody") or "", "url": v.get("url"), "group": f"article:{k}",
                 "source": "articles"} for k, v in sorted(data.items())]
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        names = pq.read_schema(path).names
        if "text" not in names:
            raise ValueError(f"{path}: no 'text' column (columns: {names})")
        rows = pq.read_table(path, columns=[c for c in ("text", "lang", "url", "group", "source")
                                            if c in names]).to_pylist()
    elif path.suffix in (".jsonl", ".json") or path.name.endswith(".jsonl.gz"):
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:
            rows = [json.loads(line) for line in f if line.strip()]
        for i, r in enumerate(rows):
            if "text" not in r:
                raise ValueError(f"{path}: row {i} has no 'text' column (columns: {sorted(r)})")
    else:
        raise ValueError(f"{path}: negatives must be .parquet, .jsonl(.gz) or the benchmark's ground-truth.json")
    stem = path.name.split(".")[0]
    return [{"text": r.get("text") or "", "lang": r.get("lang"), "url": r.get("url"), "group": r.get("group"),
             "source": f"{stem}:{r['source']}" if r.get("source") else stem} for r in rows]


def read_negatives(paths: Sequence[str | Path], part: str = "train", lang: str | None = "en") -> list[dict]:
    """Clean web documents for ``train(negatives=...)``: every file (globs allowed) is Parquet or JSONL with a
    ``text`` column (optional ``lang``, ``url``, ``group``, ``source``: e.g. ``OUT/docs/*.parquet`` of a
    ``curate run``, or ``data/train/quality.jsonl`` of ``curate train prepare``), or the extraction
    benchmark's ``ground-truth.json`` (its folder works too). Any label column is ignored: all of it is
    taken as non-toxic, so give pages you trust to be clean (see ``negative_chunks`` for the filter).

    ``part``: ``train`` (default) keeps the units (``web_key``) not held out for measurement,
    ``measure`` only those, ``all`` everything. ``lang``: documents of another ``lang`` are skipped;
    documents without one are identified with the project's language model. Exact-beginning duplicates
    (``text_key``) are kept once. Returns dicts ``text``, ``url``, ``key``, ``source``."""
    if part not in ("train", "measure", "all"):
        raise ValueError(f"part must be train, measure or all; got {part!r}")
    docs, seen = [], set()
    for path in _expand(paths):
        for r in _read_text_rows(path):
            text = r["text"]
            k = text_key(text)
            if not text.strip() or k in seen:
                continue
            key = web_key(r)
            if part != "all" and web_measurement(key) != (part == "measure"):
                continue
            seen.add(k)
            docs.append({"text": text, "url": r.get("url"), "key": key, "source": r["source"],
                         "lang": r.get("lang")})
    if lang:
        todo = [d for d in docs if not d["lang"]]
        if todo:
            from classifiers import langid

            for d, (lg, _) in zip(todo, langid.predict([d["text"] for d in todo])):
                d["lang"] = lg
        docs = [d for d in docs if d["lang"] == lang]
    for d in docs:
        d.pop("lang", None)
    return docs


def _blocklist(path: str | Path | None):
    """The LDNOOBW word list as the dirty_words stage compiles it; None when ``path`` is None or absent."""
    if path is None:
        return None
    root = Path(__file__).resolve().parents[1]
    p = Path(path)
    if not p.exists() and not p.is_absolute() and (root / p).exists():
        p = root / p
    if not p.exists() and Path(path) == DEFAULT_BLOCKLIST:
        p = root.parent / "shared" / "lists" / "ldnoobw" / "en"
    if not p.exists():
        print(f"warning: word list {path} not found (`make lists`); web negatives are not screened for swearing "
              "and adult words", file=sys.stderr)
        return None
    from pipeline.stages.dirty_words import compile_list

    return compile_list(p.read_text(encoding="utf-8").splitlines(), "en")


def negative_chunks(docs: Sequence[dict | str], chunk_chars: int = 280,
                    blocklist: str | Path | None = DEFAULT_BLOCKLIST) -> tuple[list[dict], dict[str, Any]]:
    """Web documents -> non-toxic training rows, chunked exactly as ``doc_scores`` chunks a page (``chunks``,
    then ``clean_text``), so training units match scoring units. Rows: ``text``, ``label`` 0, ``source``
    ``web``, ``group`` ``web:<key>`` (all chunks of a unit on one side of the held-out split), ``page``
    (the document's index).

    Screening with the LDNOOBW list (``blocklist``; None = off): a page the dirty_words stage would drop
    (more than 30 matches, or at least 3 and more than one per 100 words: adult pages) gives nothing, and a
    chunk with any match is left out (neither label: a swearing comment or a sex-ed paragraph is not
    "clean" by fiat, and the Davidson labels should decide about those words). Chunks without a word
    and repeated chunks (same cleaned text) are skipped."""
    pat = _blocklist(blocklist)
    rows: list[dict] = []
    seen: set[str] = set()
    stats = {"documents": len(docs), "adult_pages": 0, "chunks": 0, "blocklisted_chunks": 0, "duplicate_chunks": 0}
    for i, d in enumerate(docs):
        d = {"text": d} if isinstance(d, str) else d
        text = d.get("text") or ""
        key = d.get("key") or web_key(d)
        if pat is not None:
            n = sum(1 for _ in pat.finditer(text.lower()))
            if n > 30 or (n >= 3 and n > 0.01 * max(len(text.split()), 1)):
                stats["adult_pages"] += 1
                continue
        for c in chunks(text, chunk_chars):
            if pat is not None and pat.search(c.lower()):
                stats["blocklisted_chunks"] += 1
                continue
            cc = clean_text(c)
            if not token_words(ft_tokens(cc, 4 * chunk_chars)):
                continue
            k = cc.casefold()
            if k in seen:
                stats["duplicate_chunks"] += 1
                continue
            seen.add(k)
            rows.append({"text": cc, "label": 0, "source": "web", "group": f"web:{key}", "page": i})
    stats["chunks"] = len(rows)
    stats["units"] = len({r["group"] for r in rows})
    return rows, stats


def take_chunks(rows: list[dict], n: int, seed: int = 0) -> list[dict]:
    """``n`` of the rows, round-robin over their groups (units) in a seeded random order, so a long page or a
    big site does not dominate; more than there are: every row again (upsampling), then round-robin."""
    if n <= 0 or not rows:
        return []
    rng = np.random.default_rng(seed)
    groups = sorted({r["group"] for r in rows})
    g_rank = dict(zip(groups, rng.permutation(len(groups))))
    rank = [0] * len(rows)
    seen: dict[str, int] = {}
    for i in rng.permutation(len(rows)):  # a random order of the chunks within each group
        g = rows[i]["group"]
        seen[g] = rank[i] = seen.get(g, -1) + 1
    order = sorted(range(len(rows)), key=lambda i: (rank[i], g_rank[rows[i]["group"]]))
    out = [rows[i] for i in order] * (n // len(rows)) + [rows[i] for i in order[:n % len(rows)]]
    return out



def mixed_positives(toxic: Sequence[dict], web: Sequence[dict], n: int, chunk_chars: int = 280,
                    seed: int = 0) -> list[dict]:
    """``n`` toxic training examples shaped like a stage chunk that holds a toxic comment among page text:
    a toxic tweet with the start or end of a web chunk around it, up to ``chunk_chars`` (label 1, ``group``
    the tweet's, so it sits on the tweet's side of the held-out split). Web text then occurs on both sides,
    and the tweet's toxic words, not its register, are what separates the classes."""
    rng = np.random.default_rng(seed + 7)
    out = []
    for _ in range(n):
        t = toxic[int(rng.integers(len(toxic)))]["text"]
        w = web[int(rng.integers(len(web)))]["text"]
        room = chunk_chars - len(t) - 1
        if room >= 20:
            after = bool(rng.integers(2))
            ctx = w[-room:] if after else w[:room]
            cut = ctx.find(" ") if after else ctx.rfind(" ")
            ctx = (ctx[cut + 1:] if after else ctx[:cut]) if cut > 0 else ctx
            text = f"{ctx} {t}" if after else f"{t} {ctx}"
        else:
            text = t
        out.append({"text": text, "label": 1, "source": "mixed", "group": text_key(t)})
    return out

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def chunks(text: str | None, chunk_chars: int = 280, min_chars: int = 20) -> list[str]:
    """Paragraph chunks of about tweet size: each line is a paragraph; a paragraph longer than
    ``chunk_chars`` is cut at sentence ends (at spaces for a sentence still longer), consecutive short
    lines are joined up to ``chunk_chars``. A chunk shorter than ``min_chars`` (a menu item, a byline
    next to a long paragraph) is appended to the previous chunk rather than scored alone, so chunks
    are at most ``chunk_chars + min_chars`` long."""
    if not text:
        return []
    pieces: list[str] = []
    for para in text.splitlines():
        para = para.strip()
        if not para:
            continue
        if len(para) <= chunk_chars:
            pieces.append(para)
            continue
        for sent in _SENTENCE_END.split(para):
            while len(sent) > chunk_chars:
                cut = sent.rfind(" ", 0, chunk_chars)
                cut = cut if cut > chunk_chars // 2 else chunk_chars
                pieces.append(sent[:cut])
                sent = sent[cut:].lstrip()
            if sent:
                pieces.append(sent)
    out: list[str] = []

    def flush(chunk: str) -> None:
        if out and len(chunk) < min_chars:
            out[-1] = f"{out[-1]} {chunk}"
        else:
            out.append(chunk)

    cur = ""
    for pc in pieces:  # greedy packing of consecutive pieces into chunks of at most chunk_chars
        if cur and len(cur) + 1 + len(pc) > chunk_chars:
            flush(cur)
            cur = pc
        else:
            cur = f"{cur} {pc}" if cur else pc
    if cur:
        flush(cur)
    if len(out) > 1 and len(out[0]) < min_chars:  # a short first chunk joins the second
        out[:2] = [f"{out[0]} {out[1]}"]
    return out
