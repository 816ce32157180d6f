"""Tokenize clean shards into per-component parts, then merge parts into each component's token shards.

Phase 1 (one Ray task per clean shard): ``OUT/mix/parts/<shard>/`` holds, per component found in that
shard, ``<component>.bin/.idx`` (Megatron format, EOS after every document) and ``<component>.docs.parquet``
(lineage: id, url, warc_file, warc_offset, row in the clean shard, tokens), plus ``parts.json`` (counts and
timings). The folder is written under a temporary name and renamed; ``_done/tokenize/<shard>.done`` comes last.

Phase 2 (one Ray task per component): ``OUT/mix/tokens/<component>/<component>-NNNNN.bin/.idx``, the parts
concatenated in clean-shard order and cut into files of about ``shard_tokens``; ``docs.parquet`` maps every
sequence back to its clean shard row and WARC record; ``component.json``. Also written under a temporary
name and renamed; ``_done/merge/<component>.done`` holds the hash of the parts it was built from, so a rerun
skips it unless its inputs changed.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from mixtures.components import Assigner
from mixtures.config import stable_hash
from mixtures.indexed import Index, Writer, token_dtype
from mixtures.tokenizer import load_tokenizer

REQUIRED = ("id", "text")
LINEAGE = ("id", "url", "warc_file", "warc_offset")


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp-{uuid.uuid4().hex[:8]}")
    tmp.write_text(text)
    os.replace(tmp, path)


def replace_dir(tmp: Path, final: Path) -> None:
    """Move a finished temporary folder into place (replacing an unfinished/old one)."""
    if final.exists():
        old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)


def shard_name(path: str | Path) -> str:
    return Path(path).name.removesuffix(".parquet")


def pack(seqs: list[list[int]], dtype: np.dtype, eos: int, bos: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Token lists -> one flat array with [BOS] ids EOS per document, and the per-document lengths."""
    extra = 1 + (bos is not None)
    n = len(seqs)
    lens = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=n) + extra
    total = int(lens.sum())
    flat = np.empty(total, dtype=dtype)
    ends = np.cumsum(lens)
    mask = np.ones(total, dtype=bool)
    mask[ends - 1] = False
    flat[ends - 1] = eos
    if bos is not None:
        starts = ends - lens
        mask[starts] = False
        flat[starts] = bos
    flat[mask] = np.fromiter(chain.from_iterable(seqs), dtype=dtype, count=total - extra * n)
    return flat, lens


def tokenize_shard(path: str, parts_root: str, cfg: dict[str, Any], topics: list[str]) -> dict[str, Any]:
    """Tokenize one clean shard into ``parts_root/<shard>/`` (atomically). Returns its ``parts.json``."""
    t_start = time.perf_counter()
    tok = load_tokenizer(cfg["tokenizer"])
    dtype = token_dtype(tok.vocab_size)
    shard = shard_name(path)
    root = Path(parts_root)
    root.mkdir(parents=True, exist_ok=True)
    assigner = Assigner(cfg["components"], topics)
    pf = pq.ParquetFile(path)
    names = pf.schema_arrow.names
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise ValueError(f"{path}: clean shard lacks required column(s) {missing}")
    cols = list(dict.fromkeys([*REQUIRED, "lang", *[c for c in LINEAGE if c in names], *assigner.columns(names)]))
    cols = [c for c in cols if c in names]
    tmp = root / f".{shard}.partial-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    writers: dict[str, Writer] = {}
    lineage: dict[str, dict[str, list]] = {}
    rows = empty = 0
    t_tok = t_write = 0.0
    eos, bos = tok.eos_id, tok.bos_id
    try:
        for batch in pf.iter_batches(batch_size=cfg["tokenizer"]["batch_size"], columns=cols):
            comps = assigner.assign(batch)
            texts = batch.column(cols.index("text")).to_pylist()
            keep = [i for i, t in enumerate(texts) if t]
            empty += len(texts) - len(keep)
            t0 = time.thread_time()
            ids = tok.encode_batch([texts[i] for i in keep])
            t1 = time.thread_time()
            t_tok += t1 - t0
            by_comp: dict[str, list[int]] = {}
            for j, i in enumerate(keep):
                by_comp.setdefault(comps[i], []).append(j)
            lin_cols = {c: batch.column(cols.index(c)).to_pylist() for c in LINEAGE if c in cols}
            for comp, js in by_comp.items():
                flat, lens = pack([ids[j] for j in js], dtype, eos, bos)
                w = writers.get(comp)
                if w is None:
                    w = writers[comp] = Writer(tmp / comp, dtype)
                    lineage[comp] = {c: [] for c in (*LINEAGE, "row", "tokens")}
                w.add(flat, lens)
                lin = lineage[comp]
                rows_in = [keep[j] for j in js]
                for c in LINEAGE:
                    vals = lin_cols.get(c)
                    lin[c].extend([vals[i] for i in rows_in] if vals is not None else [None] * len(js))
                lin["row"].extend(rows + i for i in rows_in)
                lin["tokens"].extend(lens.tolist())
            t_write += time.thread_time() - t1
            rows += len(texts)
        t1 = time.thread_time()
        components = {}
        for comp, w in sorted(writers.items()):
            w.close()
            lin = lineage[comp]
            table = pa.table({
                "id": pa.array([None if v is None else str(v) for v in lin["id"]], pa.string()),
                "url": pa.array([None if v is None else str(v) for v in lin["url"]], pa.string()),
                "warc_file": pa.array([None if v is None else str(v) for v in lin["warc_file"]], pa.string()),
                "warc_offset": pa.array(lin["warc_offset"], pa.int64()),
                "row": pa.array(lin["row"], pa.int64()),
                "tokens": pa.array(lin["tokens"], pa.int64()),
            })
            pq.write_table(table, tmp / f"{comp}.docs.parquet")
            components[comp] = {**assigner.meta[comp], "docs": w.docs, "tokens": w.tokens}
        t_write += time.thread_time() - t1
    except BaseException:
        for w in writers.values():
            try:
                w._f.close()
            except Exception:  # noqa: BLE001
                pass
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    info = {
        "shard": shard, "source": str(path), "rows": rows, "docs": sum(c["docs"] for c in components.values()),
        "empty_docs": empty, "tokens": sum(c["tokens"] for c in components.values()),
        "components": components, "dtype": dtype.name,
        # CPU seconds of this task's thread (one core; Ray's own threads excluded): tokenizing, and packing +
        # writing shards and lineage.
        "tokenize_s": round(t_tok, 4), "write_s": round(t_write, 4),
        "total_s": round(time.perf_counter() - t_start, 4),
    }
    (tmp / "parts.json").write_text(json.dumps(info, indent=1, sort_keys=True))
    replace_dir(tmp, root / shard)
    return info


def merge_inputs_hash(comp: str, parts: list[dict[str, Any]], tok_hash: str, shard_tokens: int) -> str:
    return stable_hash({"component": comp, "tokenize": tok_hash, "shard_tokens": shard_tokens,
                        "parts": [(p["shard"], p["components"][comp]["docs"], p["components"][comp]["tokens"])
                                  for p in parts]})


def merge_component(comp: str, parts_root: str, tokens_root: str, shards: list[str], shard_tokens: int,
                    meta: dict[str, Any]) -> dict[str, Any]:
    """Concatenate the component's parts (clean-shard order) into ``tokens_root/<comp>/`` (atomically)."""
    t0 = time.perf_counter()
    proot, troot = Path(parts_root), Path(tokens_root)
    troot.mkdir(parents=True, exist_ok=True)
    tmp = troot / f".{comp}.partial-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        files: list[dict[str, Any]] = []
        lineage: list[pa.Table] = []
        w: Writer | None = None
        cur: dict[str, Any] | None = None
        dtype = None

        def finish():
            nonlocal w, cur
            if w is not None:
                w.close()
                cur["docs"], cur["tokens"] = w.docs, w.tokens
                files.append(cur)
            w, cur = None, None

        for shard in shards:
            src = proot / shard / comp
            if not Path(str(src) + ".bin").exists():
                raise FileNotFoundError(
                    f"part {src}.bin is missing (deleted with keep_parts: false?); rerun with --overwrite")
            idx = Index(str(src) + ".idx")
            dtype = idx.dtype if dtype is None else dtype
            if idx.dtype != dtype:
                raise ValueError(f"{src}.idx has dtype {idx.dtype}, expected {dtype}")
            if w is not None and w.tokens and w.tokens + int(idx.lengths.sum()) > shard_tokens:
                finish()
            if w is None:
                name = f"{comp}-{len(files):05d}"
                w = Writer(tmp / name, dtype)
                cur = {"prefix": f"tokens/{comp}/{name}", "sources": []}
            first = w.docs
            w.add_raw(str(src) + ".bin", idx.lengths)
            cur["sources"].append({"clean_shard": shard, "first_doc": first, "docs": len(idx),
                                   "tokens": int(idx.lengths.sum())})
            lin = pq.read_table(proot / shard / f"{comp}.docs.parquet")
            n = lin.num_rows
            lineage.append(lin.append_column("clean_shard", pa.array([shard] * n, pa.string()))
                           .append_column("file", pa.array([len(files)] * n, pa.int32()))
                           .append_column("doc", pa.array(np.arange(first, first + n), pa.int64())))
        finish()
        table = pa.concat_tables(lineage) if lineage else None
        if table is not None:
            table = table.select(["file", "doc", "clean_shard", "row", "id", "url", "warc_file", "warc_offset",
                                  "tokens"])
            pq.write_table(table, tmp / "docs.parquet")
        info = {"name": comp, **meta, "docs": sum(f["docs"] for f in files),
                "tokens": sum(f["tokens"] for f in files), "dtype": dtype.name if dtype is not None else None,
                "files": files, "lineage": f"tokens/{comp}/docs.parquet"}
        (tmp / "component.json").write_text(json.dumps(info, indent=1, sort_keys=True))
        replace_dir(tmp, troot / comp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    info["merge_s"] = round(time.perf_counter() - t0, 4)
    return info
