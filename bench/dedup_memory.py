"""Peak memory of the whole dedup phase vs number of documents (default 100k, 300k, 1M).

For each size: documents are generated into WORKDIR/<n>/docs (25k per shard, reused
if present; generated in separate processes, not measured), then a fresh process
starts a local Ray (2 CPUs, 256 MB object store, like ``curate run``), runs
``dedup.run_dedup`` with the default config, and samples every 0.2 s the resident
memory of itself and all its descendants (Ray's GCS, raylet, agents and workers):

- peak RSS (sum): the largest sum over the process tree at one instant (counts
  shared pages once per process, so it over-states);
- peak PSS (sum, sampled every 1 s): shared pages split between processes;
- Ray idle: the same sum right after ray.init, before dedup starts;
- peak driver / largest single worker RSS.

The generated crawl: ~150 words per document (lognormal), lines of ~15 words, with
5 % re-fetched URLs, 5 % exact copies, 10 % near-duplicates (1-10 words changed)
and boilerplate lines.

    python bench/dedup_memory.py [--sizes 100000,300000,1000000] [--workdir /tmp/dedup_bench]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from multiprocessing import Pool
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

from dedup_common import machine, table, write_section  # noqa: E402

SHARD_DOCS = 25_000
PAGE = os.sysconf("SC_PAGE_SIZE")
BOILERPLATE = [f"boilerplate line number {i} share this page with your friends" for i in range(20)]


def gen_shard(args: tuple[str, str, int, int, int]) -> None:
    from dedup.synth import doc_row, random_words, substitute, vocabulary, write_shard

    out, name, start, n, seed = args
    rng = np.random.default_rng(seed)
    vocab = vocabulary(50_000)
    rows, kept = [], []
    for i in range(n):
        r = rng.random()
        url, date, text = None, "2024-05-01T00:00:00Z", None
        if kept and r < 0.05:  # the same URL fetched again later, text changed a little
            j = int(rng.integers(0, len(kept)))
            w = substitute(rng, kept[j][1], 5, vocab.size)
            url, date = kept[j][0], "2024-06-01T00:00:00Z"
        elif kept and r < 0.10:  # exact copy under another URL
            w, text = kept[int(rng.integers(0, len(kept)))][1:]
        elif kept and r < 0.20:  # near-duplicate
            w = substitute(rng, kept[int(rng.integers(0, len(kept)))][1], int(rng.integers(1, 11)), vocab.size)
        else:
            w = random_words(rng, vocab, max(5, int(rng.lognormal(np.log(130), 0.5))))
        if text is None:
            toks = vocab[w].tolist()
            lines = [" ".join(toks[k: k + 15]) for k in range(0, len(toks), 15)]
            for b in rng.choice(len(BOILERPLATE), size=int(rng.integers(0, 3)), replace=False):
                lines.append(BOILERPLATE[b])
            text = "\n".join(lines)
        url = url or f"https://site{int(rng.integers(0, 10_000))}.example/{name}/{i}"
        rows.append(doc_row(name, i, text, url=url, date=date))
        if len(kept) < 2000 and rng.random() < 0.1:
            kept.append((url, w, text))
    write_shard(Path(out), name, rows)


def generate(root: Path, n_docs: int) -> None:
    docs = root / "docs"
    shards = [(str(root), f"shard-{s:05d}", s * SHARD_DOCS, min(SHARD_DOCS, n_docs - s * SHARD_DOCS), 1000 + s)
              for s in range(-(-n_docs // SHARD_DOCS))]
    todo = [a for a in shards if not (docs / f"{a[1]}.parquet").exists()]
    if todo:
        t0 = time.time()
        with Pool(2) as pool:
            pool.map(gen_shard, todo)
        print(f"generated {n_docs:,} documents in {time.time() - t0:.0f} s", flush=True)


# ------------------------------------------------------------------ measurement (fresh process)


def _tree(root_pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root_pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class Sampler(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.me = os.getpid()
        self.peak_rss = self.peak_pss = self.peak_driver = self.peak_worker = 0
        self.stop_flag = False
        self.i = 0

    def sample(self) -> int:
        pids = _tree(self.me)
        rss = {p: _rss(p) for p in pids}
        total = sum(rss.values())
        self.peak_rss = max(self.peak_rss, total)
        self.peak_driver = max(self.peak_driver, rss.get(self.me, 0))
        others = [v for p, v in rss.items() if p != self.me]
        self.peak_worker = max([self.peak_worker] + others)
        if self.i % 5 == 0:
            self.peak_pss = max(self.peak_pss, sum(_pss(p) for p in pids))
        self.i += 1
        return total

    def run(self):
        while not self.stop_flag:
            self.sample()
            time.sleep(0.2)


def measure(root: Path, result: Path) -> None:
    import logging

    import ray

    import dedup

    sampler = Sampler()
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=256 * 1024 ** 2,
             logging_level=logging.WARNING, log_to_driver=False)
    time.sleep(3)
    idle = sampler.sample()
    sampler.peak_rss = sampler.peak_pss = sampler.peak_driver = sampler.peak_worker = 0
    sampler.start()
    t0 = time.time()
    stats = dedup.run_dedup(root, {})
    wall = time.time() - t0
    sampler.stop_flag = True
    sampler.join()
    ray.shutdown()
    result.write_text(json.dumps({
        "docs": stats["docs_in"], "docs_out": stats["docs_out"], "bytes_in": stats["bytes_in"],
        "removed": stats["removed"], "lines_removed": stats["lines"]["removed"], "wall_s": round(wall, 1),
        "steps": {s["name"]: s["time_s"] for s in stats["steps"]}, "idle_rss": idle,
        "peak_rss": sampler.peak_rss, "peak_pss": sampler.peak_pss, "peak_driver": sampler.peak_driver,
        "peak_worker": sampler.peak_worker, "near": stats["near"], "clusters_near": stats["clusters"]["near"],
    }))


def gb(x: int) -> str:
    return f"{x / 1024 ** 3:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000,300000,1000000")
    ap.add_argument("--workdir", default="/tmp/dedup_bench")
    ap.add_argument("--measure", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        measure(Path(args.measure), Path(args.result))
        return
    rows, results = [], []
    for n in [int(x) for x in args.sizes.split(",")]:
        root = Path(args.workdir) / str(n)
        generate(root, n)
        import shutil

        shutil.rmtree(root / "dedup", ignore_errors=True)  # measure a full run
        shutil.rmtree(root / "stats", ignore_errors=True)
        res_path = root / "memory.json"
        subprocess.run([sys.executable, __file__, "--measure", str(root), "--result", str(res_path)], check=True)
        r = json.loads(res_path.read_text())
        results.append(r)
        rm = r["removed"]
        rows.append([f"{n:,}", f"{r['bytes_in'] / 1e9:.2f}", r["wall_s"], gb(r["peak_rss"]), gb(r["peak_pss"]),
                     gb(r["idle_rss"]), gb(r["peak_driver"]), gb(r["peak_worker"]),
                     f"{rm['url']:,} / {rm['exact']:,} / {rm['near']:,} / {rm['line']:,}", f"{r['lines_removed']:,}",
                     ", ".join(f"{k} {v:.0f}" for k, v in r["steps"].items())])
        print(rows[-1], flush=True)
    headers = ["documents", "text GB", "wall s", "peak RSS sum GiB", "peak PSS sum GiB", "Ray idle RSS GiB",
               "peak driver RSS GiB", "largest process RSS GiB", "removed url / exact / near / line-emptied",
               "lines removed", "step wall s"]
    growth = ""
    if len(results) > 1:
        a, b = results[0], results[-1]
        growth = (f"From {a['docs']:,} to {b['docs']:,} documents ({b['docs'] / a['docs']:.0f}x), peak RSS grows "
                  f"{b['peak_rss'] / a['peak_rss']:.2f}x and the part above Ray's idle footprint "
                  f"{(b['peak_rss'] - b['idle_rss']) / max(a['peak_rss'] - a['idle_rss'], 1):.2f}x: "
                  "tasks hold one shard or one partition, the driver only the candidate edges.")
    body = "\n".join([
        "## Peak memory of the dedup phase", "",
        f"Machine: {machine()}.", "",
        f"`python bench/dedup_memory.py --sizes {args.sizes}`: the whole phase (signatures, URL, exact, "
        "near, line, apply) with the default config (P=16 partitions, 14x8 LSH, 30M-document line buckets) on "
        f"generated documents, {SHARD_DOCS:,} per shard, ~150 words each, 5 % re-fetched URLs, 5 % exact copies, "
        "10 % near-duplicates, boilerplate lines. Local Ray with 2 CPUs and a 256 MB object store. Memory is "
        "summed over the driver and every process Ray started, sampled every 0.2 s (PSS every 1 s).", "",
        table(headers, rows), "", growth,
    ])
    print(body)
    print("wrote", write_section("memory", body))


if __name__ == "__main__":
    main()
