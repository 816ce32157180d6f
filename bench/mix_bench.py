"""Benchmark tokenize-and-mix: tokens/s per core for tokenization and shard writing, and the corpus token count.

    .venv/bin/python bench/mix_bench.py --clean out/sample/clean [--repeat 3] [--md bench/results/mix.md]

1. Per core: each clean shard is tokenized in this process (one core, as one Ray task does), for each engine
   (Rust ``tokenizers`` on tokenizer.json, and ``tiktoken`` on the same Llama 3 vocabulary), timing CPU
   seconds (``time.thread_time``) of the batched encode and of packing + writing the Megatron shards and
   lineage. CPU time, not wall time, so that a shared machine does not distort the per-core rate.
2. End to end: ``run_mix`` on a local Ray (``--workers``), wall time, into a temporary OUT.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mixtures.config import split_topics, validate_mix  # noqa: E402
from mixtures.tokenize import tokenize_shard  # noqa: E402
from mixtures.tokenizer import load_tokenizer  # noqa: E402


def per_core(files: list[Path], engine: str, repeat: int) -> dict:
    cfg = validate_mix({"tokenizer": {"engine": engine}})
    topics = split_topics(cfg)
    load_tokenizer(cfg["tokenizer"])  # load outside the timing
    runs = []
    for _ in range(repeat):
        tmp = Path(tempfile.mkdtemp(prefix="mixbench-"))
        try:
            tok_s = write_s = 0.0
            tokens = docs = chars = 0
            wall0 = time.perf_counter()
            for f in files:
                info = tokenize_shard(str(f), str(tmp), cfg, topics)
                tok_s += info["tokenize_s"]
                write_s += info["write_s"]
                tokens += info["tokens"]
                docs += info["docs"]
            wall = time.perf_counter() - wall0
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        runs.append({"tokenize_s": tok_s, "write_s": write_s, "wall_s": wall, "tokens": tokens, "docs": docs})
    best = min(runs, key=lambda r: r["tokenize_s"] + r["write_s"])
    return {
        "engine": engine, "docs": best["docs"], "tokens": best["tokens"],
        "tokenize_tok_per_cpu_s": round(best["tokens"] / best["tokenize_s"]),
        "tokenize_tok_per_cpu_s_median": round(statistics.median(r["tokens"] / r["tokenize_s"] for r in runs)),
        "write_tok_per_cpu_s": round(best["tokens"] / best["write_s"]),
        "write_tok_per_cpu_s_median": round(statistics.median(r["tokens"] / r["write_s"] for r in runs)),
        "both_tok_per_cpu_s": round(best["tokens"] / (best["tokenize_s"] + best["write_s"])),
    }


def same_ids(files: list[Path]) -> bool:
    """Do both engines give the same ids on every document (tokenizer.json vs Meta's tiktoken reference)?"""
    import pyarrow.parquet as pq

    hf = load_tokenizer(validate_mix({})["tokenizer"])
    tt = load_tokenizer(validate_mix({"tokenizer": {"engine": "tiktoken"}})["tokenizer"])
    for f in files:
        texts = [t for t in pq.read_table(f, columns=["text"]).column("text").to_pylist() if t]
        if hf.encode_batch(texts) != tt.encode_batch(texts):
            return False
    return True


def end_to_end(clean: Path, workers: int) -> dict:
    import ray

    from mixtures.run import run_mix

    tmp = Path(tempfile.mkdtemp(prefix="mixbench-e2e-"))
    try:
        os.symlink(clean.resolve(), tmp / "clean")
        ray.init(num_cpus=workers, include_dashboard=False, logging_level="ERROR")
        t0 = time.perf_counter()
        stats = run_mix(tmp, {"main": {"materialize": True}})
        wall = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = run_mix(tmp, {"main": {"materialize": True}})
        rerun = time.perf_counter() - t0
        ray.shutdown()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"wall_s": round(wall, 2), "rerun_s": round(rerun, 2), "workers": workers,
            "tokens": stats["tokens"], "docs": stats["docs"], "components": len(stats["components"]),
            "time_s": stats["time_s"], "rerun_tokenized": again["tokenized_this_run"],
            "main_tokens": stats["mixtures"]["main"]["total_tokens"],
            "anneal_tokens": stats["mixtures"]["anneal"]["total_tokens"]}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clean", default="out/sample/clean", help="folder of clean *.parquet shards")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--json", help="write the results here as JSON")
    args = p.parse_args()
    clean = Path(args.clean)
    files = sorted(clean.glob("*.parquet"))
    if not files:
        print(f"no *.parquet in {clean}", file=sys.stderr)
        return 2
    chars = 0
    import pyarrow.parquet as pq

    for f in files:
        chars += sum(len(t or "") for t in pq.read_table(f, columns=["text"]).column("text").to_pylist())
    res = {"clean": str(clean), "shards": len(files), "chars": chars, "machine": platform.machine(),
           "cpus": os.cpu_count(), "load_avg_before": os.getloadavg()}
    res["per_core"] = [per_core(files, e, args.repeat) for e in ("hf", "tiktoken")]
    res["hf_ids_equal_tiktoken_ids"] = same_ids(files)
    res["end_to_end"] = end_to_end(clean, args.workers)
    res["load_avg_after"] = os.getloadavg()
    print(json.dumps(res, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
