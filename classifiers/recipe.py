"""The default training recipe on data available offline (``curate train prepare``).

Quality (fastText, and the teacher's pool for the transformer student):
- positives ("reference quality"): the gold articles' pages of the extraction
  benchmark (their HTML, extracted with the same extractor as the negatives, so
  the model cannot learn extractor artefacts), and the English pages of
  reference sites given by ``--positive-url`` (default: the Debian handbook in
  the sample crawl; translations of one page share a group, so they never sit
  on both sides of the held-out split);
- negatives: every other English document of the crawl ("random web text").
Swap in your own (e.g. Wikipedia-referenced pages vs random crawl, as Llama 3 and
DCLM did): write JSONL with ``text`` and ``label`` and pass it to
``curate train fasttext --data``; ``prepare`` is only the offline default.

Code/math: see ``classifiers.code_math``.
"""

from __future__ import annotations

import glob
import gzip
import json
import re
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from classifiers.common import text_key, write_jsonl


def extract_warcs(patterns: Sequence[str], engine: str = "resiliparse", log=print) -> list[dict]:
    """Docs (text, lang, url) of WARC files, through the pipeline's own extract and langid stages."""
    import pyarrow.parquet as pq

    from pipeline.config import validate
    from pipeline.worker import process_file

    files = sorted({f for p in patterns for f in glob.glob(p)})
    if not files:
        raise FileNotFoundError(f"no WARC files match {list(patterns)}")
    cfg = validate({"stages": [{"extract": {"engine": engine}}, {"langid": {}}]})
    docs: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for f in files:
            t0 = time.time()
            process_file(f, Path(tmp), cfg, {})
            part = pq.read_table(Path(tmp) / "docs" / (Path(f).name.split(".warc")[0] + ".parquet"),
                                 columns=["text", "lang", "url"]).to_pylist()
            log(f"  {Path(f).name}: {len(part)} docs ({time.time() - t0:.1f}s, {engine})")
            docs.extend(part)
    return docs


def read_docs(patterns: Sequence[str]) -> list[dict]:
    """Docs of an earlier ``curate run`` (OUT/docs/*.parquet)."""
    import pyarrow.parquet as pq

    files = sorted({f for p in patterns for f in glob.glob(p)})
    if not files:
        raise FileNotFoundError(f"no Parquet files match {list(patterns)}")
    return [r for f in files for r in pq.read_table(f, columns=["text", "lang", "url"]).to_pylist()]


def reference_articles(folder: str | Path, engine: str = "resiliparse") -> list[dict]:
    """The extraction benchmark's pages (``ground-truth.json`` + ``html/<id>.html.gz``), extracted with ``engine``
    (the gold text is used when a page's HTML is missing or extracts to nothing)."""
    import pyarrow as pa

    from pipeline.stages.extract import Extract

    folder = Path(folder)
    gt = json.loads((folder / "ground-truth.json").read_text())
    ids = sorted(gt)
    htmls = []
    for i in ids:
        p = folder / "html" / f"{i}.html.gz"
        htmls.append(gzip.decompress(p.read_bytes()).decode("utf-8", "replace") if p.exists() else "")
    ex = Extract(engine=engine)
    ex.setup()
    res = ex.process(pa.table({"html": htmls}))
    out = []
    for i, text in zip(ids, res.columns["text"]):
        out.append({"text": text or gt[i].get("articleBody", ""), "url": gt[i].get("url"), "id": i})
    return out


def build_quality(docs: list[dict], articles: list[dict], positive_url: str | None, lang: str = "en",
                  seed: int = 0) -> tuple[list[dict], dict[str, Any]]:
    pos_re = re.compile(positive_url) if positive_url else None
    rows: list[dict] = []
    seen: set[str] = set()
    for a in articles:
        k = text_key(a["text"])
        if a["text"].strip() and k not in seen:
            seen.add(k)
            rows.append({"text": a["text"], "label": 1, "source": "reference_articles", "group": f"article:{a['id']}",
                         "url": a.get("url")})
    by_group: dict[str, dict] = {}
    for d in docs:
        if d.get("lang") != lang or not (d.get("text") or "").strip():
            continue
        url = d.get("url") or ""
        k = text_key(d["text"])
        if k in seen:
            continue
        seen.add(k)
        if pos_re and pos_re.search(url):
            # translations of one page share its last URL segment: one group, one row
            g = "ref:" + url.rstrip("/").rsplit("/", 1)[-1]
            if g not in by_group:
                by_group[g] = {"text": d["text"], "label": 1, "source": "reference_site", "group": g, "url": url}
        else:
            rows.append({"text": d["text"], "label": 0, "source": "crawl", "group": f"crawl:{k[:80]}", "url": url})
    rows.extend(by_group.values())
    # copies of positive pages elsewhere in the crawl (mirrors, aggregators) are not negatives
    norm = [" ".join(r["text"].split()).casefold() for r in rows]
    passages = {n[100:200] for n, r in zip(norm, rows) if r["label"] == 1 and len(n) >= 300}
    keep = [not (r["label"] == 0 and any(p in n for p in passages)) for n, r in zip(norm, rows)]
    n_copies = keep.count(False)
    rows = [r for r, k in zip(rows, keep) if k]
    rows.sort(key=lambda r: r["group"])
    desc = {"positives": sum(r["label"] for r in rows), "negatives": sum(1 - r["label"] for r in rows),
            "by_source": {s: sum(r["source"] == s for r in rows) for s in sorted({r["source"] for r in rows})},
            "language": lang, "positive_url": positive_url,
            "dropped_copies_of_positives": n_copies}
    return rows, desc


def build_code_math(docs_prose: list[dict], seed: int = 0, max_code_files: int = 600) -> tuple[list[dict], dict]:
    from classifiers import code_math

    roots = code_math.site_packages_dirs()
    rows = list(code_math.code_lines(roots, max_files=max_code_files, seed=seed))
    n_code = len(rows)
    math_rows = list(code_math.docstring_math_lines(roots, seed=seed))
    math_rows += list(code_math.generate_math_lines(n=max(1000, len(math_rows)), seed=seed))
    rows += math_rows
    prose = list(code_math.prose_lines(docs_prose, seed=seed))
    rows += prose
    desc = {"code_lines": n_code, "math_lines": len(math_rows), "prose_lines": len(prose),
            "by_source": {s: sum(r["source"] == s for r in rows) for s in sorted({r["source"] for r in rows})}}
    return rows, desc


def prepare(out_dir: str | Path, warc: Sequence[str] = (), docs: Sequence[str] = (),
            articles: str | None = None, positive_url: str | None = r"debian-handbook\.info",
            engine: str = "resiliparse", lang: str = "en", seed: int = 0, log=print) -> dict[str, Any]:
    out_dir = Path(out_dir)
    all_docs: list[dict] = []
    if warc:
        log(f"extracting WARC files with {engine}")
        all_docs += extract_warcs(warc, engine, log)
    if docs:
        all_docs += read_docs(docs)
    arts = reference_articles(articles, engine) if articles else []
    if not all_docs and not arts:
        raise ValueError("nothing to prepare: give --warc, --docs and/or --articles")
    q_rows, q_desc = build_quality(all_docs, arts, positive_url, lang, seed)
    write_jsonl(out_dir / "quality.jsonl", q_rows)
    log(f"quality.jsonl: {q_desc}")
    prose_docs = [r for r in q_rows if r["source"] != "reference_site"]  # reference site has shell commands
    cm_rows, cm_desc = build_code_math(prose_docs, seed)
    write_jsonl(out_dir / "code_math.jsonl", cm_rows)
    log(f"code_math.jsonl: {cm_desc}")
    summary = {"quality": q_desc, "code_math": cm_desc, "engine": engine, "warc": list(warc), "docs": list(docs),
               "articles": articles}
    (out_dir / "prepare.json").write_text(json.dumps(summary, indent=1))
    return summary
