"""The clean phase at scale: domain filter, toxicity and PII redaction over a deduplicated crawl.

    .venv/bin/python bench/clean_phase.py [OUT]      # default: the 200k-page run of bench/large_crawl.py

Runs ``pipeline.clean.run_clean`` with the clean stages of pipeline/default.yaml over ``OUT/dedup/docs``
(a fresh local Ray on all cores; earlier clean outputs of OUT are removed first), samples the CPU time
and peak RSS of the Ray worker processes from /proc, and writes bench/results/clean_phase.md.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scaling import cpu_seconds  # noqa: E402
from jobs.cluster import descendants, peak_rss_mb  # noqa: E402

DEFAULT_OUT = ROOT / "data" / "bench" / "large_crawl" / "out-200000"


def main() -> None:
    import ray

    from pipeline.clean import run_clean
    from pipeline.config import load_config, validate

    out = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    if not (out / "dedup" / "docs").is_dir():
        sys.exit(f"{out}/dedup/docs not found: run bench/large_crawl.py first (or give a run's OUT)")
    for stale in (out / "clean", out / "rejects" / "clean", out / "stats" / "clean", out / "stats" / "clean.json"):
        shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink(missing_ok=True)
    run_cfg = json.loads((out / "stats" / "run.json").read_text())["config"]
    cfg = validate({**run_cfg, "clean": load_config()["clean"]})
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, logging_level="WARNING")
    cpu: dict[int, float] = {}
    rss: dict[int, float] = {}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            for pid in descendants(os.getpid()):
                c = cpu_seconds(pid)
                if c >= 0:
                    cpu[pid] = max(cpu.get(pid, 0.0), c)
                    rss[pid] = max(rss.get(pid, 0.0), peak_rss_mb(pid))
            time.sleep(0.2)

    base = {pid: max(cpu_seconds(pid), 0.0) for pid in descendants(os.getpid())}
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    c0, t0 = time.process_time(), time.time()
    summary = run_clean(out, cfg, progress=False)
    wall, driver_cpu = time.time() - t0, time.process_time() - c0
    stop.set()
    sampler.join()
    ray.shutdown()
    worker_cpu = sum(c - base.get(pid, 0.0) for pid, c in cpu.items())
    docs = summary["stages"][0]["docs_in"]
    fits = summary["corpus_fits"]["domain_filter"]
    rows = [f"| {s['name']} | {s['docs_in']:,} | {s['docs_out']:,} | "
            f"{', '.join(f'{r} {n:,}' for r, n in s['drops'].items()) or '—'} | {s['time_s']:.1f} | "
            f"{s['docs_in'] / s['time_s'] if s['time_s'] else 0:,.0f} |" for s in summary["stages"]]
    pii = {c[4:]: int(h["sum"]) for s in summary["stages"] for c, h in s["scores"].items() if c.startswith("pii_")}
    text = "\n".join([
        "# The clean phase at scale", "",
        f"Measured {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC by `bench/clean_phase.py` on "
        f"{os.cpu_count()} cores ({platform.machine()}), Python {platform.python_version()}, shared with other "
        f"jobs (load average {os.getloadavg()[0]:.1f} at the end).",
        f"Input: `{out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}/dedup/docs` ({docs:,} documents "
        "after the per-file stages and dedup of a generated crawl); the clean stages of pipeline/default.yaml.",
        "",
        "| | value |", "|---|---|",
        f"| wall s (fit included) | {wall:.1f} |",
        f"| CPU s: Ray workers + driver | {worker_cpu:.1f} + {driver_cpu:.1f} |",
        f"| documents per CPU-second, whole phase | {docs / max(worker_cpu + driver_cpu, 1e-9):,.0f} |",
        f"| peak RSS of a worker MiB | {max(rss.values(), default=0):,.0f} |",
        f"| domain_filter: domains / judged / blocked | {fits['domains']:,} / {fits['judged']:,} / "
        f"{fits['blocked']:,} {fits['blocked_by_reason']} |",
        f"| PII redacted | {', '.join(f'{k} {v:,}' for k, v in pii.items())} |",
        "", "Per stage (time_s summed over the shard tasks; the domain filter's corpus-wide fit, which scans "
        "every document for PII once more, is in the wall and CPU totals above, not here):", "",
        "| stage | docs in | docs out | drops | time s | docs/s per core |", "|---|---:|---:|---|---:|---:|",
        *rows, ""])
    print(text)
    (ROOT / "bench" / "results" / "clean_phase.md").write_text(text)


if __name__ == "__main__":
    main()
