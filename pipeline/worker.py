"""Per-file work: one WARC in, one docs shard + rejects shard + stats JSON + done marker out.

Plain Python, no Ray: the runner calls ``process_file`` inside a Ray task,
tests call it directly. Outputs are written to temporary names and renamed
into place, then the done marker is written last, so a killed worker leaves
either nothing or a complete, consistent set.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.config import build_stages, per_file_hash
from pipeline.read import DOC_FIELDS, ReadParams, read_documents, shard_name
from pipeline.stage import Drop, Stage
from pipeline.stats import StageStats

log = logging.getLogger(__name__)

LINEAGE_SCHEMA = pa.schema([
    ("id", pa.string()), ("url", pa.string()), ("date", pa.string()), ("warc_file", pa.string()),
    ("warc_record_id", pa.string()), ("warc_offset", pa.int64()), ("charset", pa.string()), ("html", pa.string()),
])
REJECTS_SCHEMA = pa.schema([
    ("id", pa.string()), ("url", pa.string()), ("stage", pa.string()), ("reason", pa.string()),
    ("score", pa.float64()), ("warc_file", pa.string()), ("warc_offset", pa.int64()),
])
_STAGE_CACHE: dict[str, list[Stage]] = {}


def docs_schema(stages: list[Stage]) -> pa.Schema:
    """The docs shard schema: lineage columns then each stage's columns, minus consumed ones."""
    cols = dict(zip(LINEAGE_SCHEMA.names, LINEAGE_SCHEMA.types))
    for st in stages:
        cols.update(st.column_types())
        for c in st.consumes:
            cols.pop(c, None)
    return pa.schema(list(cols.items()))


def get_stages(cfg: dict[str, Any], fitted: dict[str, Any], upto: int | None = None) -> list[Stage]:
    """The first ``upto`` stages (default: all) for this config, built and set up once per worker process."""
    key = per_file_hash({**cfg, "_fitted": fitted, "_upto": upto})
    if key not in _STAGE_CACHE:
        stages = build_stages(cfg)[:upto]
        for st in stages:
            if st.name in fitted:
                st.load_fitted(fitted[st.name])
            st.setup()
        _STAGE_CACHE.clear()
        _STAGE_CACHE[key] = stages
    return _STAGE_CACHE[key]


def _bytes(table: pa.Table) -> int:
    col = "text" if "text" in table.column_names else "html"
    if col not in table.column_names or table.num_rows == 0:
        return 0
    return int(pc.sum(pc.binary_length(table.column(col))).as_py() or 0)


def _reject_rows(table: pa.Table, idx: list[int], stage: str, drops: list[Drop]) -> dict[str, list]:
    ids, urls = table.column("id").to_pylist(), table.column("url").to_pylist()
    files, offs = table.column("warc_file").to_pylist(), table.column("warc_offset").to_pylist()
    return {
        "id": [ids[i] for i in idx], "url": [urls[i] for i in idx], "stage": [stage] * len(idx),
        "reason": [d.reason for d in drops], "score": [None if d.score is None else float(d.score) for d in drops],
        "warc_file": [files[i] for i in idx], "warc_offset": [offs[i] for i in idx],
    }


def run_stages(table: pa.Table, stages: list[Stage], stats: list[StageStats],
               on_rejects: Callable[[dict[str, list]], None]) -> pa.Table:
    """Apply stages in order to one batch, recording stats and rejects; return the kept rows."""
    nbytes = _bytes(table)  # a stage's bytes in are the previous stage's bytes out
    for st, ss in zip(stages, stats):
        if table.num_rows == 0:
            break
        ss.docs_in += table.num_rows
        ss.bytes_in += nbytes
        t0 = time.perf_counter()
        res = st.process(table)
        ss.time_s += time.perf_counter() - t0
        n = table.num_rows
        if len(res.drops) != n or any(len(v) != n for v in res.columns.values()):
            raise RuntimeError(f"stage {st.name!r} returned results for a different number of rows than {n}")
        types = st.column_types()
        for col, values in res.columns.items():
            arr = pa.array(values, type=types.get(col, table.schema.field(col).type if col in table.column_names
                                                   else None))
            if col in table.column_names:
                table = table.set_column(table.column_names.index(col), col, arr)
            else:
                table = table.append_column(col, arr)
        for col, spec in st.score_columns().items():
            ss.add_scores(col, spec.lo, spec.hi, res.columns.get(col, []))
        dropped = [i for i, d in enumerate(res.drops) if d is not None]
        if dropped:
            drops = [res.drops[i] for i in dropped]
            ss.drops.update(d.reason for d in drops)
            on_rejects(_reject_rows(table, dropped, st.name, drops))
            keep = pa.array([d is None for d in res.drops])
            table = table.filter(keep)
        table = table.drop_columns([c for c in st.consumes if c in table.column_names])
        ss.docs_out += table.num_rows
        nbytes = _bytes(table)
        ss.bytes_out += nbytes
    return table


def iter_batches(path: str, cfg: dict[str, Any], read_stats: StageStats,
                 on_rejects: Callable[[dict[str, list]], None], counters: dict[str, int],
                 limit: int | None = None) -> Iterator[pa.Table]:
    """Read a WARC file into batches of HTML documents, accounting the read step."""
    params = ReadParams(**cfg["read"])
    rows: list[dict] = []
    seen = 0
    t0 = time.perf_counter()
    rejects = {k: [] for k in REJECTS_SCHEMA.names}

    def flush() -> pa.Table:
        nonlocal rows, rejects
        if rejects["id"]:
            on_rejects(rejects)
            rejects = {k: [] for k in REJECTS_SCHEMA.names}
        table = pa.Table.from_pylist(rows, schema=LINEAGE_SCHEMA)
        read_stats.docs_out += table.num_rows
        read_stats.bytes_out += _bytes(table)
        rows = []
        return table

    for row, drop in read_documents(path, params):
        if "other" in row:
            counters["records_other"] += 1
            continue
        read_stats.docs_in += 1
        read_stats.bytes_in += row.pop("bytes", 0)
        if drop is not None:
            read_stats.drops[drop.reason] += 1
            for k, v in (("id", row["id"]), ("url", row["url"]), ("stage", "read"), ("reason", drop.reason),
                         ("score", None if drop.score is None else float(drop.score)),
                         ("warc_file", row["warc_file"]), ("warc_offset", row["warc_offset"])):
                rejects[k].append(v)
        else:
            rows.append({k: row[k] for k in DOC_FIELDS})
            seen += 1
        if len(rows) >= cfg["batch_size"] or (limit and seen >= limit):
            read_stats.time_s += time.perf_counter() - t0
            yield flush()
            t0 = time.perf_counter()
            if limit and seen >= limit:
                return
    read_stats.time_s += time.perf_counter() - t0
    yield flush()


def process_file(path: str, out: Path, cfg: dict[str, Any], fitted: dict[str, Any],
                 progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Run all stages over one WARC file and write its outputs atomically. Returns its stats."""
    out = Path(out)
    name = shard_name(path)
    stages = get_stages(cfg, fitted)
    schema = docs_schema(stages)
    started = time.time()
    t0 = time.perf_counter()
    read_stats = StageStats("read")
    stats = [StageStats(st.name) for st in stages]
    counters = {"records_other": 0}
    tag = f".tmp-{uuid.uuid4().hex[:8]}"
    paths = {k: out / k / f"{name}.parquet" for k in ("docs", "rejects")}
    for p in paths.values():
        p.parent.mkdir(parents=True, exist_ok=True)
    docs_w = pq.ParquetWriter(str(paths["docs"]) + tag, schema, compression="zstd")
    rej_w = pq.ParquetWriter(str(paths["rejects"]) + tag, REJECTS_SCHEMA, compression="zstd")

    def write_rejects(cols: dict[str, list]) -> None:
        rej_w.write_table(pa.Table.from_pydict(cols, schema=REJECTS_SCHEMA))

    try:
        for batch in iter_batches(path, cfg, read_stats, write_rejects, counters):
            kept = run_stages(batch, stages, stats, write_rejects)
            if kept.num_rows:
                docs_w.write_table(kept.select(schema.names).cast(schema))
            if progress:
                progress(batch.num_rows)
    except BaseException:
        docs_w.close()
        rej_w.close()
        for p in paths.values():
            Path(str(p) + tag).unlink(missing_ok=True)
        raise
    docs_w.close()
    rej_w.close()
    for p in paths.values():
        os.replace(str(p) + tag, p)
    file_stats = {
        "file": name, "input": path, "started": started, "elapsed_s": round(time.perf_counter() - t0, 3),
        "config_hash": per_file_hash(cfg), "records_other": counters["records_other"],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "stages": [read_stats.to_dict()] + [s.to_dict() for s in stats],
    }
    write_atomic(out / "stats" / "files" / f"{name}.json", json.dumps(file_stats, indent=1))
    write_atomic(out / "stats" / "done" / f"{name}.done", "")
    return file_stats


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp-{uuid.uuid4().hex[:8]}")
    tmp.write_text(text)
    os.replace(tmp, path)
