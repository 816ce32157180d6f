"""Runs the per-file stages over many WARC files in parallel on Ray, resumably.

- One Ray task per input file (1 CPU each, retried if a worker dies).
- A file whose done marker exists is skipped, so a relaunch only does what is left;
  shards are written atomically, so output is identical whatever was interrupted.
- Stages that need corpus statistics (``fits = True``) are fitted first on a sample,
  and the fitted state is stored in ``OUT/stats/fitted.json`` and reused by reruns.
- The run summary (``OUT/stats/summary.json``) is re-derived from the per-file stats.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import fsspec
import pyarrow as pa

from pipeline.config import ConfigError, build_stages, per_file_hash
from pipeline.read import shard_name
from pipeline.stats import StageStats, load_file_stats, merge
from pipeline.worker import get_stages, iter_batches, process_file, run_stages, write_atomic

log = logging.getLogger(__name__)


CC_BASE = "https://data.commoncrawl.org/"


def read_paths_file(path: str, base: str = CC_BASE) -> list[str]:
    """Files listed in a CommonCrawl ``warc.paths[.gz]`` list; relative entries are joined to ``base``."""
    with fsspec.open(path, "rt", compression="infer") as f:
        lines = [ln.strip() for ln in f if ln.strip() and not ln.startswith("#")]
    return [ln if "://" in ln or ln.startswith("/") else base.rstrip("/") + "/" + ln for ln in lines]


def expand_inputs(patterns: list[str]) -> list[str]:
    """Expand local or fsspec globs (s3://, https://...) and ``*.paths[.gz]`` lists into input files.

    Globs are sorted; lists keep their order. Output shard names must be unique.
    """
    files: list[str] = []
    for pattern in patterns:
        if pattern.endswith((".paths", ".paths.gz")):
            files.extend(read_paths_file(pattern))
            continue
        if "://" not in pattern:
            files.extend(sorted(glob.glob(os.path.expanduser(pattern))))
            continue
        fs, _, paths = fsspec.get_fs_token_paths(pattern)
        protocol = fs.protocol[0] if isinstance(fs.protocol, (list, tuple)) else fs.protocol
        if not paths and "://" in pattern:
            paths = [pattern]
        for p in sorted(paths):
            if protocol in ("file", "local"):
                files.append(p)
            elif "://" in p:
                files.append(p)
            else:
                files.append(f"{protocol}://{p}")
    if not files:
        raise FileNotFoundError(f"no input files match {patterns}")
    by_name: dict[str, str] = {}
    for f in files:
        other = by_name.setdefault(shard_name(f), f)
        if other != f:
            raise ValueError(f"two inputs map to the same output shard {shard_name(f)!r}: {other} and {f}")
    return list(dict.fromkeys(files))


def is_done(out: Path, path: str) -> bool:
    return (out / "stats" / "done" / f"{shard_name(path)}.done").exists()


def check_output_dir(out: Path, cfg: dict[str, Any], overwrite: bool) -> None:
    """Refuse to mix shards from different configurations in one output folder."""
    run_file = out / "stats" / "run.json"
    h = per_file_hash(cfg)
    if run_file.exists():
        previous = json.loads(run_file.read_text()).get("config_hash")
        if previous != h and not overwrite:
            raise ConfigError(
                f"{out} holds a run with a different configuration ({previous} != {h}); "
                "use a new output folder, or --overwrite to discard the finished files"
            )
        if previous != h:  # forget every finished file: its shard and stats came from the old config
            for old in [*(out / "stats" / "done").glob("*.done"), *(out / "stats" / "files").glob("*.json"),
                        out / "stats" / "fitted.json"]:
                old.unlink(missing_ok=True)
    write_atomic(run_file, json.dumps({"config_hash": h, "config": cfg}, indent=1, default=str))
    remove_temp_files(out)


def remove_temp_files(out: Path) -> None:
    """Delete partial outputs of workers killed mid-file (the file was redone by a retry, or will be)."""
    for tmp in out.glob("*/**/*.tmp-*"):
        tmp.unlink(missing_ok=True)


def init_ray(address: str | None, workers: int | None, object_store_mb: int = 256) -> None:
    """Connect to $RAY_ADDRESS / ``address``, or start a local Ray with an explicitly sized object store."""
    import ray

    if ray.is_initialized():
        return
    address = address or os.environ.get("RAY_ADDRESS")
    opts: dict[str, Any] = {"logging_level": logging.WARNING, "configure_logging": True}
    if address:
        ray.init(address=address, **opts)
    else:
        ray.init(num_cpus=workers or os.cpu_count(), include_dashboard=False,
                 object_store_memory=object_store_mb * 1024**2, **opts)


def _sample_task(path: str, cfg: dict, fitted: dict, upto: int, limit: int) -> pa.Table | None:
    """Documents of one file as they arrive at stage ``upto`` (for fitting)."""
    stages = get_stages(cfg, fitted, upto)
    stats = [StageStats(s.name) for s in stages]
    tables = []
    for batch in iter_batches(path, cfg, StageStats("read"), lambda _: None, {"records_other": 0}, limit=limit):
        kept = run_stages(batch, stages, stats, lambda _: None)
        if "text" in kept.column_names and kept.num_rows:
            tables.append(kept.select([c for c in ("text", "lang", "url") if c in kept.column_names]))
    return pa.concat_tables(tables) if tables else None


def fit_stages(files: list[str], out: Path, cfg: dict[str, Any]) -> dict[str, Any]:
    """Fit every ``fits = True`` stage on a sample of the input (once; reruns reuse the stored state)."""
    import ray

    path = out / "stats" / "fitted.json"
    if path.exists():
        return json.loads(path.read_text())
    fitted: dict[str, Any] = {}
    stages = build_stages(cfg)
    sample_files = files[: cfg["fit"]["sample_files"]]
    per_file = max(1, cfg["fit"]["sample_docs"] // max(len(sample_files), 1))
    task = ray.remote(num_cpus=1, max_retries=3)(_sample_task)
    for i, st in enumerate(stages):
        if not st.fits:
            continue
        log.warning("fitting %s on up to %d documents from %d files", st.name, per_file * len(sample_files),
                    len(sample_files))
        parts = [t for t in ray.get([task.remote(f, cfg, fitted, i, per_file) for f in sample_files]) if t]
        sample = pa.concat_tables(parts) if parts else pa.table({"text": [], "lang": [], "url": []})
        fitted[st.name] = st.fit(sample)
    write_atomic(path, json.dumps(fitted))
    return fitted


def task_resources(cfg: dict[str, Any]) -> dict[str, float]:
    """One CPU per file task, plus the largest extra resource any stage declares (e.g. a GPU share)."""
    res: dict[str, float] = {"num_cpus": 1}
    for st in build_stages(cfg):
        for k, v in st.resources().items():
            res[k] = max(res.get(k, 0), v)
    return res


def _file_task(path: str, out: str, cfg: dict, fitted: dict, progress) -> dict:
    return process_file(path, Path(out), cfg, fitted, progress=lambda n: progress.add.remote(n))


class _Progress:
    def __init__(self):
        self.docs = 0

    def add(self, n: int) -> None:
        self.docs += n

    def get(self) -> int:
        return self.docs


def run(cfg: dict[str, Any], inputs: list[str], out: Path, address: str | None = None, workers: int | None = None,
        overwrite: bool = False, progress: bool = True) -> dict[str, Any]:
    """Process every input file not yet done; return the merged run summary."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
    from tqdm import tqdm

    out = Path(out)
    files = expand_inputs(inputs)
    out.mkdir(parents=True, exist_ok=True)
    check_output_dir(out, cfg, overwrite)
    pending = [f for f in files if not is_done(out, f)]
    skipped = len(files) - len(pending)
    if skipped:
        log.warning("%d of %d files already done, skipping them", skipped, len(files))
    failed: dict[str, str] = {}
    t0 = time.time()
    if pending:
        init_ray(address, workers)
        fitted = fit_stages(files, out, cfg)
        # On the driver's node: a progress counter on a node that dies must not take the run with it.
        here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
        tracker = ray.remote(num_cpus=0)(_Progress).options(scheduling_strategy=here).remote()
        task = ray.remote(**task_resources(cfg), max_retries=3, retry_exceptions=False)(_file_task)
        # One copy in the object store, not one per task: the fitted state can be megabytes.
        cfg_ref, fitted_ref = ray.put(cfg), ray.put(fitted)
        futures = {task.remote(f, str(out), cfg_ref, fitted_ref, tracker): f for f in pending}
        bar = tqdm(total=len(pending), unit="file", disable=not progress, dynamic_ncols=True)
        remaining = list(futures)
        docs = 0
        while remaining:
            ready, remaining = ray.wait(remaining, num_returns=len(remaining), timeout=0.5)
            for ref in ready:
                try:
                    ray.get(ref)
                except Exception as e:  # one bad file must not lose the others
                    failed[futures[ref]] = f"{type(e).__name__}: {e}"
                    log.error("failed: %s: %s", futures[ref], str(e).splitlines()[-1] if str(e) else e)
                bar.update(1)
            try:
                docs = ray.get(tracker.get.remote(), timeout=10)
            except Exception:  # progress is informational only
                pass
            bar.set_postfix_str(f"{docs} docs, {docs / max(time.time() - t0, 1e-9):.1f} docs/s")
        bar.close()
        remove_temp_files(out)  # left by workers killed mid-file, whose tasks were retried
    if cfg.get("dedup") is not None and not failed:
        import dedup

        init_ray(address, workers)
        log.warning("dedup phase (URL, exact, MinHash LSH, line-level) over %s/docs", out)
        dedup.run_dedup(out, cfg["dedup"])
    if cfg.get("clean") is not None and not failed:
        from pipeline.clean import input_dir, run_clean

        init_ray(address, workers)
        log.warning("clean phase (%s) over %s", ", ".join(next(iter(s)) for s in cfg["clean"]["stages"]),
                    input_dir(out, cfg))
        run_clean(out, cfg, progress=progress)
    summary = merge(load_file_stats(out))
    summary.update({"inputs": len(files), "skipped_done": skipped, "failed": failed,
                    "wall_s": round(time.time() - t0, 2)})
    write_atomic(out / "stats" / "summary.json", json.dumps(summary, indent=1))
    return summary
