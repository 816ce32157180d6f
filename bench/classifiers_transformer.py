"""Transformer student vs its teacher: agreement (from the held-out split) and speed, docs/s per core.

Usage (after `make models`): python bench/classifiers_transformer.py [--threads 1] [--device cpu]
Reads data/train/teacher.jsonl and data/models/{quality_fasttext.ftz,quality_transformer}.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT / "data/train/teacher.jsonl"))
    ap.add_argument("--models", default=str(ROOT / "data/models"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch-size", type=int, default=32)
    args = ap.parse_args()
    import torch

    from classifiers.common import read_labelled
    from classifiers.quality_transformer import Student
    from classifiers.teacher import teacher_scores

    torch.set_num_threads(args.threads)
    models = Path(args.models)
    texts = [r["text"] for r in read_labelled([args.data])]
    t0 = time.perf_counter()
    teacher_scores(texts, [str(models / "quality_fasttext.ftz")])
    teacher_s = time.perf_counter() - t0
    st = Student(models / "quality_transformer", args.device, args.threads, args.batch_size)
    st.predict(texts[:4])
    st.encoder._memo.clear()
    t0 = time.perf_counter()
    st.predict(texts)
    if st.encoder.device.startswith("cuda"):
        torch.cuda.synchronize()
    student_s = time.perf_counter() - t0
    card = json.loads((models / "quality_transformer/card.json").read_text())
    print(json.dumps({
        "docs": len(texts), "device": st.encoder.device, "threads": args.threads,
        "max_length": json.loads((models / "quality_transformer/config.json").read_text())["max_length"],
        "teacher_docs_per_s": round(len(texts) / teacher_s, 1), "student_docs_per_s": round(len(texts) / student_s, 1),
        "student_over_teacher_speed": round(teacher_s / student_s, 4),
        "heldout_agreement": card["heldout"]}, indent=1))


if __name__ == "__main__":
    main()
