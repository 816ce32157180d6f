"""Zero-shot topic accuracy on hand-labelled pages, and docs/s per core.

Labels: classifiers/topic_eval_scrapinghub.tsv (149 English pages of the
extraction benchmark, topics assigned by the developer from URL + first lines).
Text: the benchmark's gold article text. Usage:
  python bench/classifiers_topic.py [--shared ../shared] [--threads 1] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--temperature", type=float, default=0.05)
    args = ap.parse_args()
    from classifiers.topic import TopicClassifier, evaluate

    gt = json.loads((Path(args.shared) / "eval/extraction/scrapinghub/ground-truth.json").read_text())
    rows = []
    for line in (ROOT / "classifiers/topic_eval_scrapinghub.tsv").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        k, topic, _ = line.split("\t")
        rows.append({"text": gt[k]["articleBody"], "label": topic})
    clf = TopicClassifier(None, args.device, args.threads, temperature=args.temperature)
    t0 = time.perf_counter()
    res = evaluate(clf, rows)
    dt = time.perf_counter() - t0
    clf.encoder._memo.clear()
    t0 = time.perf_counter()
    clf.predict([r["text"] for r in rows])
    dt = time.perf_counter() - t0
    res["docs_per_s"] = round(len(rows) / dt, 1)
    res["threads"] = args.threads
    res["device"] = clf.encoder.device
    res["majority_baseline"] = round(max(sum(r["label"] == t for r in rows) for t in {r["label"] for r in rows})
                                     / len(rows), 4)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
