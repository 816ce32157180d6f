"""The clean phase: deduplicated documents -> safety filters and PII redaction -> ``OUT/clean/*.parquet``.

Runs the stages of the run config's ``clean:`` section (the same Stage API as
the per-file stages, so a new safety filter is one class and one config line)
over ``OUT/dedup/docs/*.parquet`` (``OUT/docs`` when the run has no dedup),
one Ray task per shard:

- ``OUT/clean/<shard>.parquet``: the curated corpus. Every input column
  (lineage, scores, dedup cluster ids) plus the clean stages' columns;
  ``text`` and ``url`` redacted.
- ``OUT/rejects/clean/<shard>.parquet``: dropped documents with stage and reason.
- ``OUT/stats/clean/files/<shard>.json``: per-stage statistics, summed into
  ``OUT/stats/clean.json`` with what corpus-level stages decided.

Stages that judge the corpus as a whole (a ``fit_corpus`` method, e.g.
``domain_filter``) are fitted first over every shard (map in Ray tasks, reduce
on the driver); their state is kept in ``OUT/stats/clean/fitted.json``.
Resumable: a shard is redone only when its input, the clean configuration or
the fitted state changed; a task that fails is retried, and the phase reports
it after the others are done.
"""

from __future__ import annotations

import json
import logging
import resource
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from dedup.store import AtomicWriter, read_json, write_json
from pipeline.config import build_stages, config_hash
from pipeline.runner import task_resources
from pipeline.stats import StageStats, merge
from pipeline.tasks import run_marked
from pipeline.worker import REJECTS_SCHEMA, get_stages, run_stages

log = logging.getLogger(__name__)


def input_dir(out: Path, cfg: dict[str, Any]) -> Path:
    """Where the clean phase reads: the dedup output, or the per-file docs when the run has no dedup."""
    return out / "dedup" / "docs" if cfg.get("dedup") is not None else out / "docs"


def _stage_cfg(cfg: dict[str, Any]) -> dict[str, Any]:
    """The run config with the clean stages in place of the per-file ones (what ``get_stages`` builds)."""
    return {**cfg, "stages": cfg["clean"]["stages"]}


def _file_key(path: Path) -> str:
    s = path.stat()
    return f"{path.name}:{s.st_size}:{s.st_mtime_ns}"


def _pmap(fn, args_list: list[tuple]) -> list[Any]:
    import ray

    task = ray.remote(num_cpus=1, max_retries=3)(fn)
    return ray.get([task.remote(*a) for a in args_list])


def fit_corpus_stages(out: Path, cfg: dict[str, Any], docs: list[Path], key: str) -> dict[str, Any]:
    """Fit the ``fit_corpus`` stages over the whole corpus (once per input and configuration)."""
    path = out / "stats" / "clean" / "fitted.json"
    rec = read_json(path)
    if rec and rec.get("key") == key:
        return rec["fitted"]
    rejects = sorted(str(p) for p in (out / "rejects").glob("*.parquet"))
    fitted = {}
    for st in build_stages(_stage_cfg(cfg)):
        if hasattr(st, "fit_corpus"):
            log.warning("clean: fitting %s over %d shards", st.name, len(docs))
            fitted[st.name] = st.fit_corpus([str(d) for d in docs], rejects, _pmap)
    write_json(path, {"key": key, "fitted": fitted})
    return fitted


def clean_shard(path: str, out: str, cfg: dict[str, Any], fitted: dict[str, Any]) -> dict[str, Any]:
    """Run the clean stages over one shard; write its clean shard, rejects and stats atomically."""
    out, path = Path(out), Path(path)
    t0 = time.perf_counter()
    stages = get_stages(_stage_cfg(cfg), fitted)
    stats = [StageStats(st.name) for st in stages]
    src = pq.ParquetFile(path)
    cols = dict(zip(src.schema_arrow.names, src.schema_arrow.types))
    for st in stages:
        cols.update(st.column_types())
    schema = pa.schema(list(cols.items()))
    with AtomicWriter(out / "clean" / path.name, schema) as docs_w, \
            AtomicWriter(out / "rejects" / "clean" / path.name, REJECTS_SCHEMA) as rej_w:
        for batch in src.iter_batches(batch_size=cfg["batch_size"]):
            kept = run_stages(pa.Table.from_batches([batch]), stages, stats,
                              lambda r: rej_w.write(pa.Table.from_pydict(r, schema=REJECTS_SCHEMA)))
            if kept.num_rows:
                docs_w.write(kept.select(schema.names).cast(schema))
    file_stats = {"file": path.stem, "input": str(path), "elapsed_s": round(time.perf_counter() - t0, 3),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                  "records_other": 0, "stages": [s.to_dict() for s in stats]}
    write_json(out / "stats" / "clean" / "files" / f"{path.stem}.json", file_stats)
    return {"docs_in": stats[0].docs_in if stats else 0, "docs_out": stats[-1].docs_out if stats else 0}


def _fitted_summary(fitted: dict[str, Any], top: int = 50) -> dict[str, Any]:
    """What corpus-level stages decided, short enough for the report (the full state is in fitted.json)."""
    out = {}
    for name, state in fitted.items():
        blocked = state.get("blocked", {})
        by_reason: dict[str, int] = {}
        for b in blocked.values():
            by_reason[b["reason"]] = by_reason.get(b["reason"], 0) + 1
        biggest = sorted(blocked.items(), key=lambda kv: -kv[1]["docs"])[:top]
        out[name] = {"domains": state.get("domains"), "judged": state.get("judged"), "blocked": len(blocked),
                     "blocked_by_reason": by_reason,
                     "largest_blocked": [{"domain": d, **b} for d, b in biggest]}
    return out


def run_clean(out: Path, cfg: dict[str, Any], progress: bool = True) -> dict[str, Any]:
    """The whole phase over ``OUT/dedup/docs`` (or ``OUT/docs``); returns the stats also written to
    ``OUT/stats/clean.json``. Shards already cleaned with the same inputs and settings are skipped."""
    out = Path(out)
    src = input_dir(out, cfg)
    shards = sorted(src.glob("*.parquet"))
    if not shards:
        raise FileNotFoundError(f"no documents to clean: {src}/*.parquet matches nothing")
    t0 = time.time()
    settings = config_hash({"clean": cfg["clean"], "batch_size": cfg["batch_size"],
                            "word_tokenizer": cfg.get("word_tokenizer")})
    rejects = sorted(_file_key(p) for p in (out / "rejects").glob("*.parquet"))
    fitted = fit_corpus_stages(out, cfg, shards, config_hash([settings, [_file_key(s) for s in shards], rejects]))
    fit_key = config_hash(fitted)
    items = [(s.stem, (str(s), str(out), cfg, fitted), config_hash([settings, fit_key, _file_key(s)]))
             for s in shards]
    run_marked(out / "stats" / "clean" / "done", "shards", clean_shard, items, task_resources(_stage_cfg(cfg)),
               label="clean", progress=progress)
    names = {s.stem for s in shards}
    for folder in (out / "clean", out / "rejects" / "clean", out / "stats" / "clean" / "files"):
        for stale in folder.glob("*.*"):  # outputs of shards no longer in the input
            if stale.suffix in (".parquet", ".json") and stale.stem not in names:
                stale.unlink()
    summary = merge(json.loads(p.read_text()) for p in sorted((out / "stats" / "clean" / "files").glob("*.json")))
    summary.update({"input": str(src.relative_to(out)), "wall_s": round(time.time() - t0, 2),
                    "corpus_fits": _fitted_summary(fitted)})
    write_json(out / "stats" / "clean.json", summary)
    return summary
