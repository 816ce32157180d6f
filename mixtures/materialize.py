"""Materialize a planned mixture as shuffled mixed token shards (deterministic given the seed).

For a component sampled at rate ``r = n + f`` epochs: every document ``n`` times, plus a seeded random
subset of its documents whose tokens are closest to ``f ×`` its tokens. All selected documents of all
components are then shuffled together (seeded) and written as ``OUT/mix/mixed/<mixture>/<mixture>-NNNNN``
(.bin/.idx, about ``shard_tokens`` each) with ``docs.parquet`` mapping each sequence back to its
component and document (and so, through the component's lineage, to its clean shard and WARC record).

Memory: one (component, document) pair per selected document (12 bytes), so about 1 GB per 100M documents.
"""

from __future__ import annotations

import shutil
import uuid
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from mixtures.indexed import Reader, Writer
from mixtures.tokenize import replace_dir

CHUNK_DOCS = 4096


def _rng(seed: int, *keys: str) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, *(zlib.crc32(k.encode()) for k in keys)]))


def select(lengths: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Document indices for ``rate`` epochs: whole passes plus a random subset nearest the fractional target."""
    n = lengths.size
    full = int(np.floor(rate + 1e-12))
    frac = rate - full
    parts = [np.arange(n, dtype=np.int64)] * full
    if frac > 1e-12 and n:
        perm = rng.permutation(n)
        cum = np.cumsum(lengths[perm].astype(np.int64))
        target = frac * float(cum[-1])
        k = int(np.searchsorted(cum, target))  # cum[k] >= target
        if k < n and (k == 0 or cum[k] - target < target - cum[k - 1]):
            k += 1
        parts.append(np.sort(perm[:k]))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def materialize(mix_root: Path, name: str, plan: dict[str, Any], comp_info: dict[str, dict[str, Any]],
                seed: int, shard_tokens: int) -> dict[str, Any]:
    mix_root = Path(mix_root)
    out_root = mix_root / "mixed"
    out_root.mkdir(parents=True, exist_ok=True)
    names = sorted(c for c, p in plan["components"].items() if p["epochs"] > 0)
    readers: dict[str, list[Reader]] = {}
    offsets: dict[str, np.ndarray] = {}
    comp_ids, doc_ids = [], []
    achieved: dict[str, dict[str, int]] = {}
    dtype = None
    for ci, cname in enumerate(names):
        rs = [Reader(mix_root / f["prefix"]) for f in comp_info[cname]["files"]]
        readers[cname] = rs
        for r in rs:
            dtype = r.index.dtype if dtype is None else dtype
        lengths = np.concatenate([r.index.lengths for r in rs]).astype(np.int64)
        offsets[cname] = np.cumsum([0] + [len(r) for r in rs])
        sel = select(lengths, plan["components"][cname]["epochs"], _rng(seed, name, cname))
        achieved[cname] = {"docs": int(sel.size), "tokens": int(lengths[sel].sum())}
        comp_ids.append(np.full(sel.size, ci, dtype=np.int32))
        doc_ids.append(sel)
    comp_arr = np.concatenate(comp_ids) if comp_ids else np.zeros(0, np.int32)
    doc_arr = np.concatenate(doc_ids) if doc_ids else np.zeros(0, np.int64)
    order = _rng(seed, name, "shuffle").permutation(comp_arr.size)
    comp_arr, doc_arr = comp_arr[order], doc_arr[order]

    tmp = out_root / f".{name}.partial-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    files: list[dict[str, Any]] = []
    file_col = np.zeros(comp_arr.size, dtype=np.int32)
    seq_col = np.zeros(comp_arr.size, dtype=np.int64)
    try:
        w: Writer | None = None
        for start in range(0, comp_arr.size, CHUNK_DOCS):
            cs, ds = comp_arr[start:start + CHUNK_DOCS], doc_arr[start:start + CHUNK_DOCS]
            seqs = []
            for c, d in zip(cs.tolist(), ds.tolist()):
                cname = names[c]
                f = int(np.searchsorted(offsets[cname], d, side="right")) - 1
                seqs.append(readers[cname][f][d - int(offsets[cname][f])])
            for j, s in enumerate(seqs):
                if w is not None and w.tokens and w.tokens + s.size > shard_tokens:
                    w.close()
                    files[-1].update(docs=w.docs, tokens=w.tokens)
                    w = None
                if w is None:
                    fname = f"{name}-{len(files):05d}"
                    w = Writer(tmp / fname, dtype)
                    files.append({"prefix": f"mixed/{name}/{fname}"})
                file_col[start + j] = len(files) - 1
                seq_col[start + j] = w.docs
                w.add(s, np.array([s.size]))
        if w is not None:
            w.close()
            files[-1].update(docs=w.docs, tokens=w.tokens)
        pq.write_table(pa.table({
            "file": pa.array(file_col), "doc": pa.array(seq_col),
            "component": pa.array([names[c] for c in comp_arr.tolist()], pa.string()),
            "component_doc": pa.array(doc_arr),
        }), tmp / "docs.parquet")
        replace_dir(tmp, out_root / name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    total = sum(a["tokens"] for a in achieved.values())
    return {
        "files": files,
        "docs": int(comp_arr.size),
        "tokens": int(total),
        "lineage": f"mixed/{name}/docs.parquet",
        "components": {c: {**a, "weight": round(a["tokens"] / total, 10) if total else 0.0}
                       for c, a in achieved.items()},
    }
