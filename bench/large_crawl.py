"""Scale benchmark: time and memory of `curate run` on generated crawls of growing size.

    .venv/bin/python bench/large_crawl.py                        # 2,000, 10,000, 50,000 pages (~10 min on 2 cores)
    .venv/bin/python bench/large_crawl.py --sizes 2000,10000,50000,200000   # bench/results/large_crawl.md (~32 min)
    .venv/bin/python bench/large_crawl.py --generate-only 200000  # and time the generator alone at 200k

For each size, ``bench/crawl_gen.py`` writes a crawl into data/bench/large_crawl/crawl-<n> (git-ignored;
replaced on every run) and ``curate run`` (``python -m pipeline.cli run``) processes it in a fresh
process with a fresh local Ray (all cores) and ``bench/configs/large_crawl.yaml`` (the default config
with resiliparse and without the model-based classifiers) into data/bench/large_crawl/out-<n>. While it
runs, its process tree is sampled from /proc every 0.5 s: CPU seconds (user + system) of the driver, of
the Ray workers (``ray::*``, Ray's agents excepted) and of Ray's own processes, resident memory (VmRSS,
summed over the tree) and each process's peak (VmHWM; the workers' peak is reset between phases).
Phases are told apart by the files the run writes: startup (Ray, fitting the KL reference) until
``stats/fitted.json``, per-file stages until ``dedup/`` appears, dedup until ``stats/dedup.json``, then
the funnel and HTML report.
Results go to bench/results/large_crawl.md (and .json).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scaling import cpu_seconds  # noqa: E402
from jobs.cluster import _proc_table, descendants, peak_rss_mb  # noqa: E402

CONFIG = ROOT / "bench" / "configs" / "large_crawl.yaml"
PHASES = ("startup", "per_file", "dedup", "report")
KINDS = ("driver", "workers", "ray")
RAY_AGENTS = ("ray::DashboardAgent", "ray::RuntimeEnvAgent")  # named like workers, but Ray's own processes


def rss_mb(pid: int) -> float:
    """Current resident memory (VmRSS) of a live process, in MiB; 0 if gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def reset_peak(pid: int) -> None:
    """Reset a process's VmHWM to its current RSS (Linux ``clear_refs`` 5)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        pass


class TreeSampler(threading.Thread):
    """CPU seconds and memory of a ``curate run`` process tree, split by phase (see the module doc)."""

    def __init__(self, root: int, out: Path, period: float = 0.5):
        super().__init__(daemon=True)
        self.root, self.out, self.period = root, out, period
        self.cpu: dict[int, float] = {}  # pid -> CPU seconds, last seen (kept after the process exits)
        self.kind: dict[int, str] = {}
        self.phase = "startup"
        self.t0 = time.time()
        self.marks: dict[str, tuple[float, dict[int, float]]] = {"startup": (self.t0, {})}  # phase -> (start, CPU)
        self.worker_peak = dict.fromkeys(PHASES, 0.0)
        self.tree_peak = dict.fromkeys(PHASES, 0.0)
        self.driver_peak = 0.0
        self.stop = threading.Event()

    def current_phase(self) -> str:
        if (self.out / "stats" / "dedup.json").exists():
            return "report"
        if (self.out / "dedup").exists():
            return "dedup"
        if (self.out / "stats" / "fitted.json").exists():
            return "per_file"
        return "startup"

    def sample(self) -> None:
        phase = self.current_phase()
        if phase != self.phase:
            for p in PHASES[PHASES.index(self.phase) + 1:PHASES.index(phase) + 1]:  # a phase may pass unseen
                self.marks[p] = (time.time(), dict(self.cpu))
            self.phase = phase
            for pid, kind in self.kind.items():
                if kind == "workers":
                    reset_peak(pid)
        table = _proc_table()
        total = 0.0
        for pid in descendants(self.root):
            cpu = cpu_seconds(pid)
            if cpu < 0:
                continue
            name = table.get(pid, (0, 0, ""))[2]
            if pid == self.root:
                kind = "driver"
            elif name.startswith("ray::") and name not in RAY_AGENTS:
                kind = "workers"
            else:  # Ray's own processes, or a worker exiting (no name left): it stays a worker
                kind = self.kind.get(pid, "ray")
            self.kind[pid] = kind
            self.cpu[pid] = max(self.cpu.get(pid, 0.0), cpu)
            total += rss_mb(pid)
            if kind == "workers":
                self.worker_peak[phase] = max(self.worker_peak[phase], peak_rss_mb(pid))
            elif kind == "driver":
                self.driver_peak = max(self.driver_peak, peak_rss_mb(pid))
        self.tree_peak[phase] = max(self.tree_peak[phase], total)

    def run(self) -> None:
        while not self.stop.is_set():
            self.sample()
            time.sleep(self.period)

    def phases(self, end: float) -> dict[str, dict]:
        """Wall and CPU seconds per phase, and the peaks seen in it."""
        final = (end, dict(self.cpu))
        seen = [p for p in PHASES if p in self.marks]
        out = {}
        for p, nxt in zip(seen, seen[1:] + [None]):
            (t_a, c_a), (t_b, c_b) = self.marks[p], self.marks[nxt] if nxt else final
            cpu = dict.fromkeys(KINDS, 0.0)
            for pid, c in c_b.items():
                cpu[self.kind[pid]] += c - c_a.get(pid, 0.0)
            out[p] = {"wall_s": round(t_b - t_a, 2), **{f"cpu_{k}_s": round(cpu[k], 2) for k in KINDS},
                      "worker_peak_mb": round(self.worker_peak[p]), "tree_rss_peak_mb": round(self.tree_peak[p])}
        return out


def generate(n: int, crawl: Path, per_file: int, seed: int) -> dict:
    """Run bench/crawl_gen.py in a child process; its manifest (with its CPU seconds and peak RSS) and wall time."""
    t = time.time()
    subprocess.run([sys.executable, str(ROOT / "bench" / "crawl_gen.py"), "--pages", str(n), "--out", str(crawl),
                    "--per-file", str(per_file), "--seed", str(seed)], check=True, cwd=ROOT)
    return {**json.loads((crawl / "manifest.json").read_text()), "wall_s": round(time.time() - t, 2)}


def run_pipeline(crawl: Path, out: Path, config: Path) -> dict:
    """``curate run`` over ``crawl`` in a fresh process, sampled; the measurements and the run's stats."""
    shutil.rmtree(out, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    cmd = [sys.executable, "-m", "pipeline.cli", "run", "--input", str(crawl / "*.warc.gz"), "--output", str(out),
           "--config", str(config), "--no-progress"]
    load0 = os.getloadavg()[0]
    log = out.with_name(out.name + ".log")
    with open(log, "wb") as f:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT)
        sampler = TreeSampler(proc.pid, out)
        sampler.start()
        rc = proc.wait()
        end = time.time()
        sampler.stop.set()
        sampler.join()
    if rc != 0:
        raise SystemExit(f"curate run failed ({rc}); log: {log}")
    summary = json.loads((out / "stats" / "summary.json").read_text())
    dd = json.loads((out / "stats" / "dedup.json").read_text())
    stages = summary["stages"]
    phases = sampler.phases(end)
    per_file = phases["per_file"]
    return {
        "wall_s": round(end - sampler.t0, 2), "phases": phases, "driver_peak_mb": round(sampler.driver_peak),
        "tree_rss_peak_mb": max(p["tree_rss_peak_mb"] for p in phases.values()),
        "responses": stages[0]["docs_in"], "docs_per_file": stages[-1]["docs_out"], "docs_dedup": dd["docs_out"],
        "responses_per_cpu_s": round(stages[0]["docs_in"] / max(per_file["cpu_workers_s"], 1e-9), 2),
        "stage_s": {s["name"]: round(s["time_s"], 1) for s in stages},
        "dedup_removed": dd["removed"], "lines_removed": dd["lines"]["removed"],
        "candidate_edges": dd["near"]["candidate_edges"],
        "dedup_steps": {s["name"]: {"time_s": s["time_s"], "cpu_s": s["cpu_s"]} for s in dd["steps"]},
        "loadavg_before": round(load0, 2), "loadavg_after": round(os.getloadavg()[0], 2),
    }


def dedup_cpu(run: dict) -> float:
    return sum(run["phases"]["dedup"][f"cpu_{k}_s"] for k in KINDS)


GROWTH = {  # growth table column -> the quantity in one run's results
    "per-file wall": lambda r: r["phases"]["per_file"]["wall_s"],
    "per-file worker CPU": lambda r: r["phases"]["per_file"]["cpu_workers_s"],
    "dedup wall": lambda r: r["phases"]["dedup"]["wall_s"],
    "dedup CPU": dedup_cpu,
    "driver peak RSS": lambda r: r["driver_peak_mb"],
    "worker peak RSS per-file": lambda r: r["phases"]["per_file"]["worker_peak_mb"],
    "worker peak RSS dedup": lambda r: r["phases"]["dedup"]["worker_peak_mb"],
    "tree peak RSS": lambda r: r["tree_rss_peak_mb"],
    "docs after dedup": lambda r: r["docs_dedup"],
    "repeated lines removed": lambda r: r["lines_removed"],
}


def per_10x(a: float, b: float, n_a: int, n_b: int) -> str:
    """Growth of a quantity per 10x input, from two sizes: 10 ** (log(b/a) / log(n_b/n_a))."""
    if a <= 0 or b <= 0:
        return "-"
    return f"{10 ** (math.log(b / a) / math.log(n_b / n_a)):.1f}x"


def versions() -> str:
    from importlib.metadata import version

    return ", ".join(f"{p} {version(p)}" for p in ("ray", "resiliparse", "pyarrow", "numpy"))


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def report(results: dict, path: Path) -> None:
    runs = sorted(results["runs"], key=lambda r: r["pages"])
    gens = sorted(results["generator"], key=lambda g: g["pages"])
    shares = gens[0]["shares"] if gens else {}
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    lines = [
        "# Large crawl: how time and memory grow with the input",
        "",
        f"Measured {results['date']} UTC by `bench/large_crawl.py` on {platform.node() or 'this machine'}: "
        f"{os.cpu_count()} cores ({cpu_model()}), {mem_gib:.0f} GiB RAM, shared with other jobs; "
        f"Python {platform.python_version()}, {versions()}.",
        "Input: crawls generated by `bench/crawl_gen.py` from the sample crawl's pages (seed "
        f"{results['seed']}, {results['per_file']:,} responses per WARC file; shares of responses: "
        f"distinct pages {1 - sum(shares.values()):.0%}, re-crawls {shares['recrawl']:.0%}, exact copies on other "
        f"hosts {shares['copy']:.0%}, edited near-duplicates {shares['near']:.0%}, non-HTML/404 "
        f"{shares['error']:.1%}; see its docstring). Config `{results['config']}`"
        + (" (pipeline/default.yaml with `extract: {engine: resiliparse}` and without the model-based classifiers)"
           if results["config"] == str(CONFIG.relative_to(ROOT)) else "")
        + ". Each size runs `curate run` in a fresh process with a fresh local Ray (all cores).",
        "",
        "| pages | files | crawl GB | docs after per-file | docs after dedup | startup s (Ray, fit) | per-file wall s "
        "| per-file worker CPU s | responses per CPU s | dedup wall s | dedup CPU s | driver peak RSS MiB "
        "| worker peak RSS MiB (per-file / dedup) | tree peak RSS MiB | total wall s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for r in runs:
        ph = r["phases"]
        lines.append(
            f"| {r['pages']:,} | {r['files']} | {r['crawl_bytes'] / 1e9:.2f} | {r['docs_per_file']:,} "
            f"| {r['docs_dedup']:,} | {ph['startup']['wall_s']:.0f} | {ph['per_file']['wall_s']:.0f} "
            f"| {ph['per_file']['cpu_workers_s']:.0f} | {r['responses_per_cpu_s']:.1f} | {ph['dedup']['wall_s']:.1f} "
            f"| {dedup_cpu(r):.1f} | {r['driver_peak_mb']:,} | {ph['per_file']['worker_peak_mb']:,} / "
            f"{ph['dedup']['worker_peak_mb']:,} | {r['tree_rss_peak_mb']:,} | {r['wall_s']:.0f} |")
    if len(runs) > 1:
        lines += [
            "",
            "Growth per 10x input (10^b for time or memory ~ pages^b between two sizes; 10x = linear, 1x = flat):",
            "",
            "| from -> to | " + " | ".join(GROWTH) + " |",
            "|---|" + "---:|" * len(GROWTH),
        ]
        pairs = list(zip(runs, runs[1:])) + ([(runs[0], runs[-1])] if len(runs) > 2 else [])
        for a, b in pairs:
            cells = [per_10x(f(a), f(b), a["pages"], b["pages"]) for f in GROWTH.values()]
            lines.append(f"| {a['pages']:,} -> {b['pages']:,} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Dedup: planted duplicates (counted before the per-file stages, which drop ~40% of pages and of their "
        "copies alike) and documents removed, and where the dedup phase spends its time:",
        "",
        "| pages | re-crawls / URL removed | exact copies / exact removed | near-dups / near removed "
        "| repeated lines removed | candidate edges | signatures s | url + exact s | near s | line s | apply s |",
        "|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        c, rm, st = r["planted"], r["dedup_removed"], r["dedup_steps"]
        lines.append(
            f"| {r['pages']:,} | {c.get('recrawl', 0):,} / {rm['url']:,} | {c.get('copy', 0):,} / {rm['exact']:,} "
            f"| {c.get('near', 0):,} / {rm['near']:,} | {r['lines_removed']:,} | {r['candidate_edges']:,} "
            f"| {st['signatures']['time_s']:.1f} | {st['url']['time_s'] + st['exact']['time_s']:.1f} "
            f"| {st['near']['time_s']:.1f} | {st['line']['time_s']:.1f} | {st['apply']['time_s']:.1f} |")
    if runs:
        big = runs[-1]
        total = sum(big["stage_s"].values())
        top = sorted(big["stage_s"].items(), key=lambda kv: -kv[1])[:5]
        lines += ["", f"Where the per-file time goes at {big['pages']:,} pages (time in each stage, summed over "
                  "files): " + ", ".join(f"{k} {v:,.0f} s ({v / total:.0%})" for k, v in top) + "."]
    untried = [g["pages"] for g in gens if g["pages"] > max((r["pages"] for r in runs), default=0)]
    if runs and untried:
        big = runs[-1]
        ph = big["phases"]
        busy = ph["per_file"]["cpu_workers_s"] / ph["per_file"]["wall_s"]
        lines += ["", "Extrapolated (linear, from the largest run: its responses per CPU s and the "
                  f"{busy:.2f} cores its workers kept busy): "
                  + "; ".join(f"{n:,} pages: per-file ~{n / big['responses_per_cpu_s']:,.0f} CPU s, "
                              f"~{n / big['responses_per_cpu_s'] / busy / 60:.0f} min wall" for n in untried) + "."]
    lines += [
        "",
        "Generator (`bench/crawl_gen.py`, all cores; loading the sample, 4-10 s, included):",
        "",
        "| pages | files | GB written (gzip) | GB uncompressed | wall s | pages/s | CPU s | pages per CPU s "
        "| peak RSS MiB (largest process) | pipeline run |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    ran = {r["pages"] for r in runs}
    for g in gens:
        lines.append(f"| {g['pages']:,} | {g['files']} | {g['bytes'] / 1e9:.2f} | {g['bytes_uncompressed'] / 1e9:.1f} "
                     f"| {g['wall_s']:.0f} | {g['pages'] / g['wall_s']:.0f} | {g['cpu_s']:.0f} "
                     f"| {g['pages_per_cpu_s']:.0f} | {g['peak_rss_mb']:,} | {'yes' if g['pages'] in ran else 'no'} |")
    lines += [
        "",
        "Notes:",
        "- *startup* is the process start to the end of fitting: Python imports, Ray start, and the KL reference "
        "fitted on 2,000 documents (a fixed cost, run through extraction and filters like any page).",
        "- *per-file worker CPU s* is the CPU time (user + system, from /proc) of the Ray worker processes between "
        "fitting and the start of dedup; *responses per CPU s* divides every HTTP response read by it, so it does "
        "not depend on how busy the shared machine was (the wall times do: load average "
        + ", ".join(f"{r['loadavg_before']:.1f} -> {r['loadavg_after']:.1f}" for r in runs) + " on "
        f"{os.cpu_count()} cores).",
        "- *dedup CPU s*: driver, workers and Ray's processes between the start of dedup and `stats/dedup.json`.",
        "- *worker peak RSS*: the largest VmHWM of a Ray worker in the phase (reset when a phase starts). *tree "
        "peak RSS*: the largest sum of VmRSS over the driver, workers and Ray's own processes at one instant (counts "
        "shared pages once per process, so it over-states). *driver peak RSS*: the `curate run` process, whole run.",
        "- The crawls reuse the sample's ~2,440 pages as templates. Their unchanged short lines (menus, labels, code "
        "listings) repeat once per copy of a template, so line-level dedup (lines in more than 6 documents) removes "
        "them only once a template has more than 6 copies: *repeated lines removed* grows faster than the input "
        "until every template has (a real crawl adds sites as it grows). The first ~2,440 pages of every crawl are "
        "the sample's pages themselves, duplicates it already holds included, so smaller crawls lose a larger share "
        "to dedup.",
        "",
        f"Raw results: `{path.with_suffix('.json').name}` next to this file.",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    path.with_suffix(".json").write_text(json.dumps(results, indent=1))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="2000,10000,50000", help="pages per crawl, comma-separated")
    p.add_argument("--generate-only", default="", help="sizes for which only the generator is timed")
    p.add_argument("--per-file", type=int, default=1000,
                   help="responses per WARC file (default 1000: even 2,000 pages keep both cores busy)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--config", type=Path, default=CONFIG, help="default: bench/configs/large_crawl.yaml")
    p.add_argument("--work", type=Path, default=ROOT / "data" / "bench" / "large_crawl", help="crawls and outputs")
    p.add_argument("--report", type=Path, default=ROOT / "bench" / "results" / "large_crawl.md")
    p.add_argument("--from-json", type=Path, metavar="JSON", help="rewrite the report from saved results")
    args = p.parse_args(argv)
    if args.from_json:
        report(json.loads(args.from_json.read_text()), args.report)
        return 0
    sizes = [int(s) for s in args.sizes.split(",") if s]
    gen_only = [int(s) for s in args.generate_only.split(",") if s]
    results = {"date": f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M}", "seed": args.seed,
               "per_file": args.per_file, "config": os.path.relpath(args.config.resolve(), ROOT), "runs": [],
               "generator": []}
    for n in sorted(set(sizes) | set(gen_only)):
        crawl = args.work / f"crawl-{n}"
        gen = generate(n, crawl, args.per_file, args.seed)
        results["generator"].append(gen)
        print(f"{n:,} pages generated in {gen['wall_s']:.0f} s ({n / gen['wall_s']:.0f} pages/s, "
              f"{gen['cpu_s']:.0f} CPU s)", flush=True)
        if n in sizes:
            r = run_pipeline(crawl, args.work / f"out-{n}", args.config)
            r.update(pages=n, files=gen["files"], crawl_bytes=gen["bytes"], planted=gen["counts"])
            results["runs"].append(r)
            ph = r["phases"]
            print(f"{n:,} pages: per-file {ph['per_file']['wall_s']:.0f} s wall, {ph['per_file']['cpu_workers_s']:.0f} "
                  f"worker CPU s ({r['responses_per_cpu_s']} responses/CPU s); dedup {ph['dedup']['wall_s']:.1f} s; "
                  f"{r['docs_per_file']:,} -> {r['docs_dedup']:,} docs; driver peak {r['driver_peak_mb']} MiB",
                  flush=True)
        else:
            shutil.rmtree(crawl)  # timed only: GBs nobody reads
        report(results, args.report)
    print(f"report: {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
