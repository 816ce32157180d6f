"""Code/math detection: line-level held-out metrics (from the model card), document-level checks, docs/s.

Document-level checks (no labelled web documents with code/math exist offline, so these are constructed):
- held-out-style composite documents: 10 prose lines + k code (or math) lines from the labelled line file's
  held-out groups, and pure prose documents; AUC of code_score / math_score for "contains code/math lines";
- the category mix of real crawl documents per source (the Debian handbook is full of shell commands).
Usage: python bench/classifiers_code_math.py [--docs 'OUT/docs/*.parquet']
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT / "data/train/code_math.jsonl"))
    ap.add_argument("--model", default=str(ROOT / "data/models/code_math.ftz"))
    ap.add_argument("--docs", help="docs Parquet glob of a curate run (category mix per site)")
    args = ap.parse_args()
    from classifiers import code_math
    from classifiers.common import auc, read_labelled, split

    rows = read_labelled([args.data])
    _, te = split(rows, 0.2, 0)  # the model card's held-out split
    by = collections.defaultdict(list)
    for r in te:
        by[r["label"]].append(r["text"])
    rng = random.Random(0)
    docs, is_code, is_math = [], [], []
    for i in range(300):
        prose = rng.sample(by["prose"], 10)
        kind = i % 3
        extra = rng.sample(by["code" if kind == 0 else "math"], rng.randint(3, 10)) if kind < 2 else []
        lines = prose + extra
        rng.shuffle(lines)
        docs.append("\n".join(lines))
        is_code.append(kind == 0)
        is_math.append(kind == 1)
    t0 = time.perf_counter()
    scores = code_math.doc_scores(docs, args.model)
    dt = time.perf_counter() - t0
    cats = [code_math.category("en", c, m) for c, m in scores]
    res = {
        "line_heldout": json.loads(Path(args.model + ".card.json").read_text())["heldout"],
        "composite_docs": {"n": len(docs), "auc_code": round(auc(is_code, [c for c, _ in scores]), 4),
                           "auc_math": round(auc(is_math, [m for _, m in scores]), 4),
                           "category_accuracy": round(sum(
                               c == ("code" if ic else "math" if im else "general")
                               for c, ic, im in zip(cats, is_code, is_math)) / len(docs), 4),
                           "docs_per_s_one_core": round(len(docs) / dt, 1)},
    }
    if args.docs:
        import glob

        import pyarrow.parquet as pq

        real = [r for f in sorted(glob.glob(args.docs)) for r in pq.read_table(f, columns=["text", "lang", "url"])
                .to_pylist() if r["lang"] == "en"]
        t0 = time.perf_counter()
        sc = code_math.doc_scores([r["text"] for r in real], args.model)
        dt = time.perf_counter() - t0
        mix = collections.defaultdict(collections.Counter)
        for r, (c, m) in zip(real, sc):
            site = "debian-handbook" if "debian-handbook" in (r["url"] or "") else "other crawl"
            mix[site][code_math.category("en", c, m)] += 1
        res["real_docs_en"] = {"n": len(real), "docs_per_s_one_core": round(len(real) / dt, 1),
                               "category_by_site": {k: dict(v) for k, v in mix.items()}}
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
