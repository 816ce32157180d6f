"""gopher_repetition: our numpy n-gram path vs datatrove's functions, on real documents, same run.

    .venv/bin/python bench/gopher_repetition.py [DOCS_GLOB ...]   # default: out/sample/docs/*.parquet

Runs the stage twice over the same documents, ``fast_above_words: 0`` (the default: numpy ids for
every document) and ``fast_above_words: null`` (datatrove's ``find_top_duplicate`` /
``find_all_duplicate``), compares every metric and drop, and writes bench/results/gopher_repetition.md.
"""

from __future__ import annotations

import datetime as dt
import glob
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import machine  # noqa: E402


def main() -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipeline.stages.gopher_repetition import GopherRepetition

    files = sorted(f for g in (sys.argv[1:] or [str(ROOT / "out/sample/docs/*.parquet")]) for f in glob.glob(g))
    if not files:
        sys.exit("no docs shards: run `make pipeline` first, or give a glob of docs Parquet files")
    docs = pa.concat_tables([pq.read_table(f, columns=["text", "lang", "url"]) for f in files])
    runs = {}
    for label, fast in (("numpy ids (default)", 0), ("datatrove's functions", None)):
        stage = GopherRepetition(fast_above_words=fast)
        c0 = time.process_time()
        runs[label] = (stage.process(docs), time.process_time() - c0)
    (a, ta), (b, tb) = runs.values()
    drops = sum((x and x.reason) != (y and y.reason) for x, y in zip(a.drops, b.drops))
    metrics = sum((x is None) != (y is None) or (x is not None and abs(x - y) > 1e-9)
                  for col in a.columns for x, y in zip(a.columns[col], b.columns[col]))
    n = docs.num_rows
    text = "\n".join([
        "# gopher_repetition: numpy n-gram ids vs datatrove's functions", "",
        f"Measured {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC by `bench/gopher_repetition.py` on "
        f"{machine()}; {n:,} documents from {len(files)} docs shard(s); one process, CPU seconds.", "",
        "| path | CPU s | docs per CPU-s | ratio |", "|---|---:|---:|---:|",
        *(f"| {k} | {t:.2f} | {n / t:,.0f} | {tb / t:.2f}× |" for k, (_, t) in runs.items()),
        "", f"Documents whose drop reason differs: {drops}; metric values that differ: {metrics}.", ""])
    print(text)
    (ROOT / "bench" / "results" / "gopher_repetition.md").write_text(text)


if __name__ == "__main__":
    main()
