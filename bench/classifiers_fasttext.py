"""fastText quality classifier: held-out AUC/accuracy and size of a fastText-default-sized bigram model
(2M buckets x 100 dims, ~800 MB) vs the project's small model, unquantized and quantized; docs/s per core.

Usage (after `curate train prepare`, which writes data/train/quality.jsonl):
  python bench/classifiers_fasttext.py [--data data/train/quality.jsonl] [--skip-large]
Writes its temporary models under bench/work/ (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT / "data/train/quality.jsonl"))
    ap.add_argument("--skip-large", action="store_true", help="skip the ~800 MB default-sized model")
    args = ap.parse_args()
    from classifiers import quality_fasttext as qf
    from classifiers.common import read_labelled

    rows = read_labelled([args.data])
    work = ROOT / "bench/work"
    work.mkdir(parents=True, exist_ok=True)
    variants = {"small_quantized": {}, "small_unquantized": {"quantize": False}}
    if not args.skip_large:
        variants["fasttext_default_size"] = {"dim": 100, "bucket": 2_000_000, "quantize": False}
    results = {}
    for name, over in variants.items():
        out = work / f"{name}.{'ftz' if over.get('quantize', True) else 'bin'}"
        card = qf.train(rows, out, over)
        key = "quantized" if over.get("quantize", True) else "model"
        texts = [r["text"] for r in rows]
        qf.predict(texts[:10], str(out))  # load
        t0 = time.perf_counter()
        qf.predict(texts, str(out))
        dt = time.perf_counter() - t0
        results[name] = {"heldout": card["heldout"][key], "bytes": out.stat().st_size,
                         "train_s": card["speed"]["train_s"], "docs_per_s_one_core": round(len(texts) / dt, 1),
                         "mean_doc_chars": round(sum(map(len, texts)) / len(texts))}
        if name == "fasttext_default_size":
            out.unlink()  # 800 MB
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
