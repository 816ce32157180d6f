"""The dedup phase: OUT/docs/*.parquet -> decisions -> OUT/dedup/docs/*.parquet, on Ray, resumable.

Steps, in order (each a set of Ray tasks; ``dedup.tasks`` has the work):

1. ``signatures`` (one task per shard): URL key, text key, date, quality and a
   MinHash signature (``num_perm`` uint32) per document ->
   ``OUT/dedup/signatures/<shard>.parquet``. The only step that reads the text
   for near-dup detection, and the expensive one.
2. ``url``: map per shard (key of each document, partitioned by hash % P ->
   ``shuffle/url/<shard>.parquet``), reduce per partition (group, keep the most
   recent fetch, tie -> smallest id) -> ``decisions/url/part-<k>.parquet``.
3. ``exact``: same on the normalized-text key, over the documents URL dedup kept;
   keeps the highest quality, then most recent, then smallest id.
4. ``near``: map per shard (band hashes of the documents still alive, partitioned
   by band hash % P), reduce per partition (documents sharing a band hash ->
   candidate edges, ``edges/part-<k>.parquet``), then connected components of the
   edges on the driver (numpy union-find), ranking fields of the clustered
   documents fetched per shard, one kept per cluster -> ``decisions/near/``.
5. ``line``: map per shard (per (bucket, line) document counts of alive
   documents), reduce per partition (lines in more than ``max_occurrences``
   documents of their bucket -> ``lines/part-<k>.parquet``).
6. ``apply`` (one task per shard): drop decided documents, remove frequent lines,
   add ``dup_cluster_id``/``dup_cluster_size``/``lines_removed`` ->
   ``OUT/dedup/docs/<shard>.parquet`` and ``decisions/line/<shard>.parquet``.

Memory: map and reduce tasks hold one shard or one partition; nothing holds all
signatures. Per reduce task: URL/exact N/P rows (~60 bytes + id), near 14 N/P
band rows (16 bytes, ~3x that while sorting), line the distinct (bucket, line)
pairs / P (28 bytes). The driver holds only the candidate edges (16 bytes each,
at most one per band per clustered document) and the ranking fields of the
documents in them (~100 bytes each). Choose P so a partition fits a worker: the
default 16 suits ~10M documents; P=1024 for 1B (14M band rows per partition).

Resumability: every step has a key (a hash of its parameters and of the keys of
the steps it reads from). A finished step leaves ``_done/<step>.json`` with its
key and stats, and is skipped while the key matches; a task (shard or partition)
leaves ``_done/<step>/<task>.json``, so an interrupted step redoes only the tasks
that had not finished. Changing a parameter recomputes that step and the ones
after it, never the signatures unless a signature parameter changed (ngram,
num_perm, seed, URL normalization, quality_column) or the shard itself did.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dedup import tasks as T
from dedup.components import connected_components
from dedup.config import validate
from dedup.store import column_np, read_json, write_json, write_table
from pipeline.tasks import run_marked

log = logging.getLogger(__name__)
VERSION = 1  # bump when the files of a step change meaning
NEAR_DECISION_FILE_ROWS = 1_000_000
KINDS = ("url", "exact", "near")


def _key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


class Phase:
    """One run of the dedup phase over ``out`` with a validated config."""

    def __init__(self, out: Path, cfg: dict[str, Any]):
        self.out = Path(out)
        self.cfg = cfg
        self.root = self.out / "dedup"
        self.done = self.root / "_done"
        docs = self.out / "docs"
        paths = sorted(docs.glob("*.parquet"))
        if not paths:
            raise FileNotFoundError(f"no documents to deduplicate: {docs}/*.parquet")
        if len(paths) >= 1 << 31:
            raise ValueError("too many shards")
        self.shards = [p.stem for p in paths]
        self.docs_paths = [str(p) for p in paths]
        files = [pq.ParquetFile(p) for p in paths]
        self.rows = [f.metadata.num_rows for f in files]
        qcol = cfg["quality_column"]
        for p, f in zip(paths, files):
            names = f.schema_arrow.names
            if "id" not in names or "text" not in names:
                raise ValueError(f"{p}: a docs shard needs 'id' and 'text' columns, has {names}")
            if qcol and qcol not in names:
                raise ValueError(f"dedup.quality_column: {qcol!r} is not a column of {p}")
        del files
        if max(self.rows) > T.ROW_MASK:
            raise ValueError("a shard has more than 2^32 rows")
        self.offsets = np.concatenate([[0], np.cumsum(self.rows)[:-1]]).astype(np.int64).tolist()
        near, url = cfg["near"], cfg["url"]
        sig_params = {"v": VERSION, "ngram": near["ngram"], "num_perm": near["num_perm"], "seed": near["seed"],
                      "strip_www": url["strip_www"], "drop_params": url["drop_params"],
                      "quality_column": cfg["quality_column"]}
        self.sig_keys = []
        for p in paths:
            s = p.stat()
            self.sig_keys.append(_key(sig_params, p.name, s.st_size, s.st_mtime_ns))
        P = cfg["partitions"]
        self.keys: dict[str, str] = {"signatures": _key(self.shards, self.sig_keys)}
        self.keys["url"] = _key(self.keys["signatures"], P, url["enabled"])
        self.keys["exact"] = _key(self.keys["url"], cfg["exact"])
        self.keys["near"] = _key(self.keys["exact"], near["enabled"], near["bands"], near["rows"])
        line = cfg["line"]
        self.keys["line"] = _key(self.keys["near"], line["enabled"], line["bucket_docs"], line["max_occurrences"])
        self.keys["apply"] = _key(self.keys["line"], line["drop_empty"], cfg["quality_column"])
        self.records: dict[str, dict[str, Any]] = {}
        for tmp in self.root.glob("**/*.tmp-*"):  # left by killed tasks (one dedup run per OUT at a time)
            tmp.unlink(missing_ok=True)

    # ------------------------------------------------------------ helpers

    def path(self, *parts: str) -> Path:
        return self.root.joinpath(*parts)

    def sig_path(self, i: int) -> str:
        return str(self.path("signatures", f"{self.shards[i]}.parquet"))

    def shuffle_paths(self, step: str) -> list[str]:
        return [str(self.path("shuffle", step, f"{s}.parquet")) for s in self.shards]

    def decision_files(self, kinds) -> list[str]:
        return [str(p) for k in kinds if self.cfg[k]["enabled"]
                for p in sorted(self.path("decisions", k).glob("*.parquet"))]

    def fresh(self, step: str) -> dict[str, Any] | None:
        rec = read_json(self.done / f"{step}.json")
        return rec if rec and rec.get("key") == self.keys[step] else None

    def step(self, name: str, dirs: list[Path], body: Callable[[], dict[str, Any]],
             wipe_markers: bool = True) -> dict[str, Any]:
        """Run ``body`` unless the step is done for its key; wipe stale outputs first."""
        rec = self.fresh(name)
        if rec:
            self.records[name] = rec
            return rec
        started = self.done / f"{name}.started"
        if (read_json(started) or {}).get("key") != self.keys[name]:
            for d in dirs + ([self.done / name] if wipe_markers else []):
                shutil.rmtree(d, ignore_errors=True)
            (self.done / f"{name}.json").unlink(missing_ok=True)
            write_json(started, {"key": self.keys[name]})
        t0 = time.perf_counter()
        stats = body()
        rec = {"key": self.keys[name], "time_s": round(time.perf_counter() - t0, 3), **stats}
        write_json(self.done / f"{name}.json", rec)
        self.records[name] = rec
        return rec

    def run_tasks(self, step: str, fn: Callable, items: list[tuple[str, tuple, str]]) -> list[dict[str, Any]]:
        """Run ``fn(*args)`` as a Ray task for each ``(task_name, args, key)`` not yet done for its key
        (marker ``_done/<step>/<task_name>.json``); results in item order."""
        return run_marked(self.done, step, fn, items, label=f"dedup {step}")

    # ------------------------------------------------------------ steps

    def signatures(self) -> dict[str, Any]:
        def body():
            keep = {f"{s}.parquet" for s in self.shards}
            for p in self.path("signatures").glob("*.parquet"):  # shards no longer in OUT/docs
                if p.name not in keep:
                    p.unlink()
            items = [(s, (self.docs_paths[i], self.sig_path(i), self.cfg), self.sig_keys[i])
                     for i, s in enumerate(self.shards)]
            res = self.run_tasks("signatures/shards", T.signatures_task, items)
            return _sum(res) | {"shards": len(self.shards)}

        return self.step("signatures", [], body, wipe_markers=False)  # per-shard keys: redo changed shards only

    def group_step(self, kind: str, earlier: tuple[str, ...]) -> dict[str, Any]:
        P = self.cfg["partitions"]
        dirs = [self.path("shuffle", kind), self.path("decisions", kind)]

        def body():
            if not self.cfg[kind]["enabled"]:
                return {"enabled": False}
            dec = self.decision_files(earlier)
            key = self.keys[kind]
            maps = [(s, (kind, self.sig_path(i), self.shuffle_paths(kind)[i], i, P, dec), key)
                    for i, s in enumerate(self.shards)]
            m = self.run_tasks(f"{kind}/map", T.group_map_task, maps)
            by_q = self.cfg["quality_column"] is not None
            reds = [(f"part-{k:05d}", (kind, self.shuffle_paths(kind), k,
                                       str(self.path("decisions", kind, f"part-{k:05d}.parquet")), by_q), key)
                    for k in range(P)]
            r = self.run_tasks(f"{kind}/reduce", T.group_reduce_task, reds)
            shutil.rmtree(self.path("shuffle", kind), ignore_errors=True)
            return {"enabled": True, "docs": _sum(m)["rows"], **_merge_groups(r),
                    "cpu_s": round(_sum(m)["cpu_s"] + _sum(r)["cpu_s"], 3)}

        return self.step(kind, dirs, body)

    def near(self) -> dict[str, Any]:
        P = self.cfg["partitions"]
        near = self.cfg["near"]
        dirs = [self.path("shuffle", "near"), self.path("edges"), self.path("decisions", "near")]

        def body():
            if not near["enabled"]:
                return {"enabled": False}
            key = self.keys["near"]
            dec = self.decision_files(("url", "exact"))
            maps = [(s, (self.sig_path(i), self.shuffle_paths("near")[i], i, P, near["bands"], near["rows"], dec), key)
                    for i, s in enumerate(self.shards)]
            m = self.run_tasks("near/map", T.near_map_task, maps)
            reds = [(f"part-{k:05d}", (self.shuffle_paths("near"), k, str(self.path("edges", f"part-{k:05d}.parquet"))),
                     key) for k in range(P)]
            r = self.run_tasks("near/reduce", T.near_reduce_task, reds)
            shutil.rmtree(self.path("shuffle", "near"), ignore_errors=True)
            t0 = time.perf_counter()
            stats = self.near_components(dec)
            ms, rs = _sum(m), _sum(r)
            return {"enabled": True, "docs": ms["docs"], "band_rows": ms["band_rows"],
                    "buckets_multi": rs["buckets_multi"], "candidate_edges": rs["edges"], **stats,
                    "components_s": round(time.perf_counter() - t0, 3), "cpu_s": round(ms["cpu_s"] + rs["cpu_s"], 3)}

        return self.step("near", dirs, body)

    def near_components(self, dec: list[str]) -> dict[str, Any]:
        """Union-find over the candidate edges on the driver; one kept document per cluster."""
        import ray

        edges = [pq.read_table(p) for p in sorted(self.path("edges").glob("*.parquet"))]
        u = np.concatenate([column_np(e, "u") for e in edges]) if edges else np.zeros(0, np.int64)
        v = np.concatenate([column_np(e, "v") for e in edges]) if edges else np.zeros(0, np.int64)
        nodes, labels = connected_components(u, v)
        del u, v, edges
        shard_of = nodes >> T.ROW_BITS
        cuts = np.searchsorted(shard_of, np.arange(len(self.shards) + 1))
        remote = ray.remote(num_cpus=1, max_retries=3)(T.near_info_task)
        refs = [remote.remote(self.sig_path(i), i, nodes[cuts[i]:cuts[i + 1]] & T.ROW_MASK, dec)
                for i in range(len(self.shards)) if cuts[i + 1] > cuts[i]]
        parts = ray.get(refs)
        info = pa.concat_tables(parts) if parts else None
        if info is not None and not np.array_equal(column_np(info, "doc_key"), nodes):
            raise RuntimeError("near-duplicate nodes and their fetched rows do not line up")
        if info is None or info.num_rows == 0:
            dec_t, sizes = T.DECISIONS.empty_table(), np.zeros(0, np.int64)
        else:
            dec_t, sizes = T.near_decide(nodes, labels, info, self.cfg["quality_column"] is not None)
        n = max(1, -(-dec_t.num_rows // NEAR_DECISION_FILE_ROWS))
        for i in range(n):
            write_table(self.path("decisions", "near", f"part-{i:05d}.parquet"),
                        dec_t.slice(i * NEAR_DECISION_FILE_ROWS, NEAR_DECISION_FILE_ROWS))
        return {"nodes": int(nodes.size), "groups": int(sizes.size), "dropped": int(sizes.sum() - sizes.size),
                "max_size": int(sizes.max()) if sizes.size else 0, "histogram": T.histogram(sizes)}

    def line(self) -> dict[str, Any]:
        P = self.cfg["partitions"]
        line = self.cfg["line"]
        dirs = [self.path("shuffle", "line"), self.path("lines")]

        def body():
            if not line["enabled"]:
                return {"enabled": False}
            key = self.keys["line"]
            dec = self.decision_files(KINDS)
            maps = [(s, (self.docs_paths[i], self.shuffle_paths("line")[i], i, self.offsets[i], line["bucket_docs"], P,
                         dec, self.cfg["batch_size"]), key) for i, s in enumerate(self.shards)]
            m = self.run_tasks("line/map", T.line_map_task, maps)
            reds = [(f"part-{k:05d}", (self.shuffle_paths("line"), k, str(self.path("lines", f"part-{k:05d}.parquet")),
                                       line["max_occurrences"]), key) for k in range(P)]
            r = self.run_tasks("line/reduce", T.line_reduce_task, reds)
            shutil.rmtree(self.path("shuffle", "line"), ignore_errors=True)
            ms, rs = _sum(m), _sum(r)
            return {"enabled": True, "lines": ms["lines"], "distinct_lines": rs["distinct_lines"],
                    "frequent_lines": rs["frequent_lines"], "cpu_s": round(ms["cpu_s"] + rs["cpu_s"], 3),
                    "buckets": -(-sum(self.rows) // line["bucket_docs"])}

        return self.step("line", dirs, body)

    def apply(self) -> dict[str, Any]:
        dirs = [self.path("docs"), self.path("decisions", "line")]

        def body():
            dec = self.decision_files(KINDS)
            freq = [str(p) for p in sorted(self.path("lines").glob("*.parquet"))] if self.cfg["line"]["enabled"] else []
            key = self.keys["apply"]
            items = [(s, (self.docs_paths[i], str(self.path("docs", f"{s}.parquet")),
                          str(self.path("decisions", "line", f"{s}.parquet")), i, self.offsets[i], dec, freq,
                          self.cfg["line"], self.cfg["batch_size"]), key) for i, s in enumerate(self.shards)]
            return _sum(self.run_tasks("apply/shards", T.apply_task, items))

        return self.step("apply", dirs, body)

    # ------------------------------------------------------------ all

    def decide(self) -> None:
        if not self.fresh("signatures"):
            raise RuntimeError(f"{self.root}: signatures are missing or were computed with other parameters; "
                               "run dedup.run_dedup first")
        self.records["signatures"] = self.fresh("signatures")
        self.group_step("url", ())
        self.group_step("exact", ("url",))
        self.near()
        self.line()

    def summary(self) -> dict[str, Any]:
        r = self.records
        a, s = r["apply"], r["signatures"]
        removed = {k: int(a.get(f"removed_{k}", 0)) for k in ("url", "exact", "near", "line")}
        stats = {
            "shards": len(self.shards), "docs_in": a["docs_in"], "docs_out": a["docs_out"],
            "bytes_in": a["bytes_in"], "bytes_out": a["bytes_out"], "removed": removed,
            "removed_total": sum(removed.values()),
            "lines": {"removed": a.get("lines_removed", 0), "bytes_removed": a.get("line_bytes_removed", 0),
                      "docs_with_lines_removed": a.get("docs_with_lines_removed", 0),
                      "docs_emptied": a.get("line_emptied", 0),
                      "frequent_lines": r["line"].get("frequent_lines", 0),
                      "distinct_lines": r["line"].get("distinct_lines", 0),
                      "lines_counted": r["line"].get("lines", 0)},
            "clusters": {k: {"groups": r[k].get("groups", 0), "max_size": r[k].get("max_size", 0),
                             "histogram": r[k].get("histogram", {})} for k in KINDS},
            "near": {k: r["near"].get(k, 0) for k in ("docs", "band_rows", "buckets_multi", "candidate_edges",
                                                       "nodes")},
            "signatures": {"docs": s["docs"], "no_shingles": s["no_shingles"]},
            "steps": [{"name": k, "time_s": r[k]["time_s"], "cpu_s": r[k].get("cpu_s", 0.0),
                       "enabled": r[k].get("enabled", True)}
                      for k in ("signatures", "url", "exact", "near", "line", "apply")],
            "config": self.cfg,
        }
        return stats


def _sum(results: list[dict[str, Any]]) -> dict[str, Any]:
    acc: Counter = Counter()
    for res in results:
        for k, v in res.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                acc[k] += v
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in acc.items()}


def _merge_groups(results: list[dict[str, Any]]) -> dict[str, Any]:
    hist: Counter = Counter()
    for res in results:
        hist.update(res["histogram"])
    return {"groups": sum(r["groups"] for r in results), "dropped": sum(r["dropped"] for r in results),
            "max_size": max((r["max_size"] for r in results), default=0),
            "histogram": dict(sorted(hist.items(), key=lambda kv: int(kv[0].split("-")[0])))}


def _write_stats(phase: Phase) -> dict[str, Any]:
    stats = phase.summary()
    write_json(phase.out / "stats" / "dedup.json", stats)
    return stats


def run_dedup(out: Path, cfg: dict[str, Any] | None = None) -> dict[str, Any]:
    """The whole phase over ``OUT/docs``: signatures, decisions, apply; returns the stats
    (also written to ``OUT/stats/dedup.json``). Finished steps are skipped."""
    phase = Phase(Path(out), validate(cfg))
    phase.signatures()
    phase.decide()
    phase.apply()
    return _write_stats(phase)


def apply(out: Path, cfg: dict[str, Any] | None = None) -> dict[str, Any]:
    """Recompute the decisions that ``cfg`` changed (LSH bands/rows, line threshold or
    bucket size, enabled kinds ...) from the stored signatures, and rewrite
    ``OUT/dedup/docs``. Never computes signatures: raises if they are missing or stale."""
    phase = Phase(Path(out), validate(cfg))
    phase.decide()
    phase.apply()
    return _write_stats(phase)
