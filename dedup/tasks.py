"""The work of each dedup step, as plain functions run inside Ray tasks (one per shard or partition).

Every function reads its inputs from files, writes its outputs atomically and
returns a small dict of counts; nothing large travels through Ray. See
``dedup.phase`` for the order of the steps and the files between them.

A document is named by ``doc_key = shard_index << 32 | row`` (its row in
``OUT/docs/<shard>.parquet``); decisions files are sorted by it, so the
decisions of one shard are read with a key-range filter.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dedup.hashing import MinHasher, band_hashes, hash128, sequence_keys, sketch_texts, word_hashes
from dedup.store import (AtomicWriter, column_np, read_key_range, read_partition, write_partitioned,
                         write_table)
from dedup.urls import normalize_url

ROW_BITS = 32
ROW_MASK = (1 << ROW_BITS) - 1
DATE_NONE = np.iinfo(np.int64).min  # undated documents lose every "most recent" tie-break
ADDED_COLUMNS = ("dup_cluster_id", "dup_cluster_size", "lines_removed")


def sig_schema(num_perm: int) -> pa.Schema:
    return pa.schema([
        ("row", pa.int64()), ("id", pa.string()), ("date_ts", pa.int64()), ("quality", pa.float64()),
        ("n_bytes", pa.int64()), ("has_url", pa.bool_()), ("url_h1", pa.uint64()), ("url_h2", pa.uint64()),
        ("text_h1", pa.uint64()), ("text_h2", pa.uint64()), ("n_words", pa.int64()), ("n_shingles", pa.int64()),
        ("sig", pa.list_(pa.uint32(), num_perm)),
    ])


GROUP_SHUF = pa.schema([
    ("doc_key", pa.int64()), ("id", pa.string()), ("date_ts", pa.int64()), ("quality", pa.float64()),
    ("h1", pa.uint64()), ("h2", pa.uint64()), ("weight", pa.int64()), ("part", pa.int32()),
])
BAND_SHUF = pa.schema([("band_key", pa.uint64()), ("doc_key", pa.int64()), ("part", pa.int32())])
EDGES = pa.schema([("u", pa.int64()), ("v", pa.int64())])
LINE_SHUF = pa.schema([("bucket", pa.int64()), ("line_h", pa.uint64()), ("count", pa.int64()), ("part", pa.int32())])
FREQUENT = pa.schema([("bucket", pa.int64()), ("line_h", pa.uint64()), ("count", pa.int64())])
# One row per document of a duplicate group (size > 1): the kept one (dropped = false) and the others.
# cluster_id is the id of the kept document; weight is how many input documents the row stands for
# (itself plus everything dropped in its favour in earlier steps; for the kept row, the whole group's).
DECISIONS = pa.schema([
    ("id", pa.string()), ("doc_key", pa.int64()), ("kind", pa.string()), ("dropped", pa.bool_()),
    ("cluster_id", pa.string()), ("cluster_size", pa.int64()), ("weight", pa.int64()),
])
LINE_DECISIONS = pa.schema([
    ("id", pa.string()), ("doc_key", pa.int64()), ("lines_removed", pa.int64()), ("bytes_removed", pa.int64()),
    ("dropped", pa.bool_()),
])


def size_bin(n: int) -> str:
    """Histogram bin of a cluster size: 2, 3-4, 5-8, 9-16, ..."""
    if n <= 2:
        return str(n)
    hi = 1 << math.ceil(math.log2(n))
    return f"{hi // 2 + 1}-{hi}"


def histogram(sizes: np.ndarray) -> dict[str, int]:
    """Number of clusters per size bin."""
    counts: Counter = Counter()
    uniq, n = np.unique(np.asarray(sizes, dtype=np.int64), return_counts=True)
    for s, k in zip(uniq.tolist(), n.tolist()):
        counts[size_bin(s)] += k
    return dict(counts)


def _cpu(t0: float) -> float:
    return round(time.process_time() - t0, 3)


# ---------------------------------------------------------------- signatures


def parse_dates(col) -> np.ndarray:
    """WARC-Date strings (2024-05-18T00:12:34Z) to epoch seconds; unparseable or null -> DATE_NONE."""
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if len(col) == 0:
        return np.zeros(0, np.int64)
    ts = pc.strptime(pc.utf8_slice_codeunits(col, 0, 19), format="%Y-%m-%dT%H:%M:%S", unit="s",
                     error_is_null=True)
    return np.asarray(pc.fill_null(pc.cast(ts, pa.int64()), DATE_NONE))


def _float_col(col) -> np.ndarray:
    q = np.asarray(pc.fill_null(pc.cast(col, pa.float64()), -math.inf), dtype=np.float64)
    return np.where(np.isnan(q), -math.inf, q)


def signatures_task(docs_path: str, sig_path: str, cfg: dict[str, Any]) -> dict[str, Any]:
    """Per shard: URL key, text key, date, quality and MinHash signature of every document."""
    t0 = time.process_time()
    pf = pq.ParquetFile(docs_path)
    names = pf.schema_arrow.names
    if "text" not in names or "id" not in names:
        raise ValueError(f"{docs_path}: a docs shard needs 'id' and 'text' columns, has {names}")
    qcol = cfg["quality_column"]
    if qcol and qcol not in names:
        raise ValueError(f"dedup.quality_column: {qcol!r} is not a column of {docs_path}")
    cols = [c for c in ("id", "url", "date", "text") if c in names] + ([qcol] if qcol else [])
    near, url = cfg["near"], cfg["url"]
    hasher = MinHasher(near["num_perm"], near["seed"])
    schema = sig_schema(near["num_perm"])
    drop_params = tuple(p.lower() for p in url["drop_params"])
    docs = nbytes = no_shingles = 0
    with AtomicWriter(Path(sig_path), schema) as w:
        for batch in pf.iter_batches(batch_size=cfg["batch_size"], columns=cols):
            n = batch.num_rows
            text = batch.column("text")
            sk = sketch_texts(text, hasher, near["ngram"])
            if "url" in names:
                keys = [normalize_url(u, url["strip_www"], drop_params) for u in batch.column("url").to_pylist()]
            else:
                keys = [None] * n
            has_url = np.array([k is not None for k in keys], dtype=bool)
            u1, u2 = hash128(pa.array([k or "" for k in keys], type=pa.string()))
            dates = parse_dates(batch.column("date")) if "date" in names else np.full(n, DATE_NONE)
            quality = _float_col(batch.column(qcol)) if qcol else np.zeros(n)
            lens = np.asarray(pc.fill_null(pc.binary_length(text), 0), dtype=np.int64)
            n_sh = sk.n_shingles
            table = pa.table({
                "row": np.arange(docs, docs + n, dtype=np.int64), "id": batch.column("id"), "date_ts": dates,
                "quality": quality, "n_bytes": lens, "has_url": has_url, "url_h1": u1, "url_h2": u2,
                "text_h1": sk.text_h1, "text_h2": sk.text_h2, "n_words": sk.n_words, "n_shingles": n_sh,
                "sig": pa.FixedSizeListArray.from_arrays(pa.array(sk.sig.reshape(-1)), near["num_perm"]),
            }, schema=schema)
            w.write(table)
            docs += n
            nbytes += int(lens.sum())
            no_shingles += int((n_sh == 0).sum())
    return {"docs": docs, "bytes": nbytes, "no_shingles": no_shingles, "cpu_s": _cpu(t0)}


# ---------------------------------------------------------------- decisions of earlier steps


def shard_decisions(dec_files: list[str], shard_idx: int, n_rows: int) -> tuple[np.ndarray, np.ndarray, Counter]:
    """For one shard: ``alive`` (not dropped by any of these decisions), ``weight`` of every
    row (documents it stands for) and the number dropped per kind."""
    alive = np.ones(n_rows, dtype=bool)
    weight = np.ones(n_rows, dtype=np.int64)
    lo = shard_idx << ROW_BITS
    t = read_key_range([Path(f) for f in dec_files], DECISIONS, lo, lo + (1 << ROW_BITS),
                       columns=["doc_key", "kind", "dropped", "weight"])
    if t.num_rows == 0:
        return alive, weight, Counter()
    rows = column_np(t, "doc_key") & ROW_MASK
    dropped = column_np(t, "dropped")
    alive[rows[dropped]] = False
    np.maximum.at(weight, rows[~dropped], column_np(t, "weight")[~dropped])
    kinds = Counter(t.filter(pa.array(dropped)).column("kind").to_pylist())
    return alive, weight, kinds


# ---------------------------------------------------------------- URL and exact: group by a 128-bit key


def group_map_task(kind: str, sig_path: str, shuf_path: str, shard_idx: int, partitions: int,
                   dec_files: list[str]) -> dict[str, Any]:
    """Per shard: the group key (URL or text) of every document still alive, partitioned by key."""
    t0 = time.process_time()
    h1c, h2c = ("url_h1", "url_h2") if kind == "url" else ("text_h1", "text_h2")
    t = pq.read_table(sig_path, columns=["row", "id", "date_ts", "quality", "has_url", h1c, h2c])
    alive, weight, _ = shard_decisions(dec_files, shard_idx, t.num_rows)
    if kind == "url":
        alive &= column_np(t, "has_url")
    sel = np.flatnonzero(alive)
    t = t.take(pa.array(sel, type=pa.int64()))
    h1 = column_np(t, h1c)
    table = pa.table({
        "doc_key": (np.int64(shard_idx) << ROW_BITS) | column_np(t, "row"), "id": t.column("id"),
        "date_ts": t.column("date_ts"), "quality": t.column("quality"), "h1": t.column(h1c), "h2": t.column(h2c),
        "weight": weight[sel],
    })
    write_partitioned(Path(shuf_path), table, (h1 % np.uint64(partitions)).astype(np.int64), GROUP_SHUF)
    return {"rows": int(sel.size), "cpu_s": _cpu(t0)}


def _rank_keys(by_quality: bool, by_date: bool = True) -> list[tuple[str, str]]:
    keys = [("quality", "descending")] if by_quality else []
    return keys + ([("date_ts", "descending")] if by_date else []) + [("id", "ascending")]


def _decide_groups(t: pa.Table, group: np.ndarray, kind: str) -> tuple[pa.Table, np.ndarray]:
    """``t`` sorted by group then rank; ``group`` the non-decreasing group label of each row.
    Returns the decisions (one row per member of a group of 2 or more) and the group sizes."""
    n = t.num_rows
    first = np.ones(n, dtype=bool)
    first[1:] = group[1:] != group[:-1]
    gid = np.cumsum(first) - 1
    sizes = np.bincount(gid)
    gweight = np.bincount(gid, weights=column_np(t, "weight")).astype(np.int64)
    sel = np.flatnonzero(sizes[gid] > 1)
    heads = np.flatnonzero(first)
    ids = t.column("id")
    g = gid[sel]
    dec = pa.table({
        "id": ids.take(pa.array(sel)), "doc_key": column_np(t, "doc_key")[sel], "kind": pa.array([kind] * sel.size),
        "dropped": ~first[sel], "cluster_id": ids.take(pa.array(heads[g])), "cluster_size": sizes[g].astype(np.int64),
        "weight": np.where(first[sel], gweight[g], column_np(t, "weight")[sel]),
    }, schema=DECISIONS)
    dec = dec.take(pc.sort_indices(dec, sort_keys=[("doc_key", "ascending")]))
    return dec, sizes[sizes > 1]


def group_reduce_task(kind: str, shuf_paths: list[str], k: int, dec_path: str, by_quality: bool) -> dict[str, Any]:
    """Per partition: documents with the same key form a group; the best-ranked one is kept.

    URL: most recent date, then smallest id. Exact: highest quality (if configured), then
    most recent, then smallest id.
    """
    t0 = time.process_time()
    t = read_partition([Path(p) for p in shuf_paths], k, GROUP_SHUF)
    t = t.take(pc.sort_indices(t, sort_keys=[("h1", "ascending"), ("h2", "ascending")]
                               + _rank_keys(by_quality and kind != "url")))
    if t.num_rows:
        h1, h2 = column_np(t, "h1"), column_np(t, "h2")
        change = np.zeros(t.num_rows, dtype=np.int64)
        change[1:] = (h1[1:] != h1[:-1]) | (h2[1:] != h2[:-1])
        dec, sizes = _decide_groups(t, np.cumsum(change), kind)
    else:
        dec, sizes = DECISIONS.empty_table(), np.zeros(0, np.int64)
    write_table(Path(dec_path), dec)
    return {"rows": t.num_rows, "groups": int(sizes.size), "dropped": int(sizes.sum() - sizes.size),
            "max_size": int(sizes.max()) if sizes.size else 0, "histogram": histogram(sizes), "cpu_s": _cpu(t0)}


# ---------------------------------------------------------------- near duplicates: MinHash LSH


def near_map_task(sig_path: str, shuf_path: str, shard_idx: int, partitions: int, bands: int, rows: int,
                  dec_files: list[str]) -> dict[str, Any]:
    """Per shard: one (band hash, doc) row per band of every alive document with shingles."""
    t0 = time.process_time()
    pf = pq.ParquetFile(sig_path)
    alive, _, _ = shard_decisions(dec_files, shard_idx, pf.metadata.num_rows)
    keys, docs = [], []
    for batch in pf.iter_batches(batch_size=65_536, columns=["row", "n_shingles", "sig"]):
        row = np.asarray(batch.column("row"))
        ok = alive[row] & (np.asarray(batch.column("n_shingles")) > 0)
        if not ok.any():
            continue
        sigcol = batch.column("sig")
        sig = np.asarray(sigcol.flatten()).reshape(-1, sigcol.type.list_size)[ok]
        keys.append(band_hashes(sig, bands, rows).reshape(-1))
        docs.append(np.repeat((np.int64(shard_idx) << ROW_BITS) | row[ok], bands))
    band_key = np.concatenate(keys) if keys else np.zeros(0, np.uint64)
    doc_key = np.concatenate(docs) if docs else np.zeros(0, np.int64)
    table = pa.table({"band_key": band_key, "doc_key": doc_key})
    write_partitioned(Path(shuf_path), table, (band_key % np.uint64(partitions)).astype(np.int64), BAND_SHUF)
    return {"docs": int(doc_key.size // max(bands, 1)), "band_rows": int(doc_key.size), "cpu_s": _cpu(t0)}


def near_reduce_task(shuf_paths: list[str], k: int, edge_path: str) -> dict[str, Any]:
    """Per partition: documents sharing a band hash are candidate pairs; emit a star of edges
    per bucket (smallest doc_key to each other member), so a bucket of n gives n - 1 edges."""
    t0 = time.process_time()
    t = read_partition([Path(p) for p in shuf_paths], k, BAND_SHUF, columns=["band_key", "doc_key"])
    bk, dk = column_np(t, "band_key"), column_np(t, "doc_key")
    order = np.lexsort((dk, bk))
    bk, dk = bk[order], dk[order]
    first = np.ones(bk.size, dtype=bool)
    first[1:] = bk[1:] != bk[:-1]
    heads = np.flatnonzero(first)
    gid = np.cumsum(first) - 1
    other = np.flatnonzero(~first)
    u, v = dk[heads[gid[other]]], dk[other]
    keep = u != v
    u, v = u[keep], v[keep]
    if u.size:
        o = np.lexsort((v, u))
        u, v = u[o], v[o]
        new = np.ones(u.size, dtype=bool)
        new[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
        u, v = u[new], v[new]
    write_table(Path(edge_path), pa.table({"u": u, "v": v}, schema=EDGES))
    sizes = np.bincount(gid) if gid.size else np.zeros(0, np.int64)
    return {"band_rows": int(bk.size), "buckets_multi": int((sizes > 1).sum()), "edges": int(u.size),
            "cpu_s": _cpu(t0)}


def near_info_task(sig_path: str, shard_idx: int, rows: np.ndarray, dec_files: list[str]) -> pa.Table:
    """Ranking fields (id, quality, date) and weight of the given rows of one shard, by row."""
    pf = pq.ParquetFile(sig_path)
    _, weight, _ = shard_decisions(dec_files, shard_idx, pf.metadata.num_rows)
    t = pq.read_table(sig_path, columns=["id", "date_ts", "quality"])
    rows = np.sort(np.asarray(rows, dtype=np.int64))
    t = t.take(pa.array(rows))
    return pa.table({"doc_key": (np.int64(shard_idx) << ROW_BITS) | rows, "id": t.column("id"),
                     "date_ts": t.column("date_ts"), "quality": t.column("quality"), "weight": weight[rows]})


def near_decide(nodes: np.ndarray, labels: np.ndarray, info: pa.Table, by_quality: bool) -> tuple[pa.Table, np.ndarray]:
    """Decisions for the near-duplicate clusters (``info`` sorted by doc_key, aligned with ``nodes``)."""
    t = info.append_column("comp", pa.array(labels))
    t = t.take(pc.sort_indices(t, sort_keys=[("comp", "ascending")] + _rank_keys(by_quality)))
    return _decide_groups(t, column_np(t, "comp"), "near")


# ---------------------------------------------------------------- line-level dedup


def _line_keys(texts) -> tuple[pa.Array, np.ndarray, np.ndarray, np.ndarray]:
    """Split texts on "\\n": (flat lines, line -> doc index, line key, line has words)."""
    texts = texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts
    lists = pc.split_pattern(pc.fill_null(texts, ""), "\n")
    loff = np.asarray(lists.offsets, dtype=np.int64)
    flat = lists.flatten()
    wh, woff = word_hashes(flat)
    key, _ = sequence_keys(wh, woff)
    line_doc = np.repeat(np.arange(len(texts)), np.diff(loff))
    return flat, line_doc, key, np.diff(woff) > 0


def line_map_task(docs_path: str, shuf_path: str, shard_idx: int, shard_offset: int, bucket_docs: int,
                  partitions: int, dec_files: list[str], batch_size: int) -> dict[str, Any]:
    """Per shard: for each (bucket, line) the number of alive documents containing it.

    A line is keyed by its words (normalized as for MinHash); lines without words are
    never counted nor removed. Buckets are ranges of ``bucket_docs`` documents in input
    order (shards in name order, rows in file order).
    """
    t0 = time.process_time()
    pf = pq.ParquetFile(docs_path)
    alive, _, _ = shard_decisions(dec_files, shard_idx, pf.metadata.num_rows)
    buckets, keys = [], []
    row0 = lines = 0
    for batch in pf.iter_batches(batch_size=batch_size, columns=["text"]):
        n = batch.num_rows
        sel = np.flatnonzero(alive[row0: row0 + n])
        if sel.size:
            _, line_doc, key, has = _line_keys(batch.column("text").take(pa.array(sel)))
            line_doc, key = line_doc[has], key[has]
            lines += key.size
            bucket = (shard_offset + row0 + sel[line_doc]) // bucket_docs
            # one count per document: distinct (doc, line)
            o = np.lexsort((key, line_doc))
            d, k, b = line_doc[o], key[o], bucket[o]
            new = np.ones(d.size, dtype=bool)
            new[1:] = (d[1:] != d[:-1]) | (k[1:] != k[:-1])
            buckets.append(b[new])
            keys.append(k[new])
        row0 += n
    b = np.concatenate(buckets) if buckets else np.zeros(0, np.int64)
    k = np.concatenate(keys) if keys else np.zeros(0, np.uint64)
    b, k, c = _count_pairs(b, k, np.ones(b.size, dtype=np.int64))
    table = pa.table({"bucket": b, "line_h": k, "count": c})
    write_partitioned(Path(shuf_path), table, (k % np.uint64(partitions)).astype(np.int64), LINE_SHUF)
    return {"lines": int(lines), "distinct": int(k.size), "cpu_s": _cpu(t0)}


def _count_pairs(b: np.ndarray, k: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sum ``c`` over equal (b, k), sorted by (b, k)."""
    if b.size == 0:
        return b, k, c
    o = np.lexsort((k, b))
    b, k, c = b[o], k[o], c[o]
    new = np.ones(b.size, dtype=bool)
    new[1:] = (b[1:] != b[:-1]) | (k[1:] != k[:-1])
    starts = np.flatnonzero(new)
    return b[starts], k[starts], np.add.reduceat(c, starts)


def line_reduce_task(shuf_paths: list[str], k: int, freq_path: str, max_occurrences: int) -> dict[str, Any]:
    """Per partition: total document counts per (bucket, line); keep those above the threshold."""
    t0 = time.process_time()
    t = read_partition([Path(p) for p in shuf_paths], k, LINE_SHUF, columns=["bucket", "line_h", "count"])
    b, h, c = _count_pairs(column_np(t, "bucket"), column_np(t, "line_h"), column_np(t, "count"))
    f = c > max_occurrences
    write_table(Path(freq_path), pa.table({"bucket": b[f], "line_h": h[f], "count": c[f]}, schema=FREQUENT))
    return {"distinct_lines": int(b.size), "frequent_lines": int(f.sum()), "frequent_docs": int(c[f].sum()),
            "cpu_s": _cpu(t0)}


# ---------------------------------------------------------------- apply


def output_schema(docs_schema: pa.Schema) -> pa.Schema:
    fields = [f for f in docs_schema if f.name not in ADDED_COLUMNS]
    return pa.schema(fields + [pa.field("dup_cluster_id", pa.string()), pa.field("dup_cluster_size", pa.int64()),
                               pa.field("lines_removed", pa.int32())])


def apply_task(docs_path: str, out_path: str, line_dec_path: str, shard_idx: int, shard_offset: int,
               dec_files: list[str], freq_files: list[str], line_cfg: dict[str, Any],
               batch_size: int) -> dict[str, Any]:
    """Per shard: drop the documents decided as duplicates, remove frequent lines, add the
    dup_cluster_id / dup_cluster_size / lines_removed columns."""
    t0 = time.process_time()
    pf = pq.ParquetFile(docs_path)
    n_rows = pf.metadata.num_rows
    alive, weight, dropped_kinds = shard_decisions(dec_files, shard_idx, n_rows)
    bucket_docs = line_cfg["bucket_docs"]
    frequent: dict[int, np.ndarray] = {}
    if freq_files and n_rows:
        b_lo, b_hi = shard_offset // bucket_docs, (shard_offset + n_rows - 1) // bucket_docs
        ft = read_key_range([Path(f) for f in freq_files], FREQUENT, b_lo, b_hi + 1, key="bucket",
                            columns=["bucket", "line_h"])
        fb, fh = column_np(ft, "bucket"), column_np(ft, "line_h")
        for b in np.unique(fb).tolist():
            frequent[b] = np.sort(fh[fb == b])
    schema = output_schema(pf.schema_arrow)
    st = Counter()
    st["docs_in"] = n_rows
    line_dec = {k: [] for k in LINE_DECISIONS.names}
    row0 = 0
    with AtomicWriter(Path(out_path), schema) as w:
        for batch in pf.iter_batches(batch_size=batch_size):
            n = batch.num_rows
            t = pa.Table.from_batches([batch])
            text = t.column("text")
            st["bytes_in"] += int(pc.sum(pc.binary_length(text)).as_py() or 0)
            sel = np.flatnonzero(alive[row0: row0 + n])
            t = t.take(pa.array(sel))
            rows = row0 + sel
            removed = np.zeros(sel.size, dtype=np.int64)
            keep_doc = np.ones(sel.size, dtype=bool)
            if frequent and sel.size:
                text = t.column("text").combine_chunks()
                flat, line_doc, key, has = _line_keys(text)
                bucket = (shard_offset + rows[line_doc]) // bucket_docs
                hit = np.zeros(key.size, dtype=bool)
                for b, arr in frequent.items():
                    m = has & (bucket == b)
                    if m.any():
                        pos = np.minimum(np.searchsorted(arr, key[m]), arr.size - 1)
                        hit[np.flatnonzero(m)] = arr[pos] == key[m]
                if hit.any():
                    removed = np.bincount(line_doc[hit], minlength=sel.size)
                    changed = removed > 0
                    counts = np.bincount(line_doc[~hit], minlength=sel.size)
                    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
                    kept_lines = pa.ListArray.from_arrays(pa.array(offsets), flat.filter(pa.array(~hit)))
                    joined = pc.binary_join(kept_lines, "\n")
                    new_text = pc.if_else(pa.array(changed), joined, text)
                    words_left = np.bincount(line_doc[~hit & has], minlength=sel.size)
                    emptied = changed & (words_left == 0)
                    if line_cfg["drop_empty"]:
                        keep_doc = ~emptied
                    bytes_removed = (np.asarray(pc.fill_null(pc.binary_length(text), 0))
                                     - np.asarray(pc.fill_null(pc.binary_length(new_text), 0)))
                    t = t.set_column(t.column_names.index("text"), "text", new_text)
                    idx = np.flatnonzero(changed)
                    line_dec["id"].extend(t.column("id").take(pa.array(idx)).to_pylist())
                    line_dec["doc_key"].extend(((np.int64(shard_idx) << ROW_BITS) | rows[idx]).tolist())
                    line_dec["lines_removed"].extend(removed[idx].tolist())
                    line_dec["bytes_removed"].extend(bytes_removed[idx].tolist())
                    line_dec["dropped"].extend((~keep_doc[idx]).tolist())
                    st["lines_removed"] += int(removed.sum())
                    st["line_bytes_removed"] += int(bytes_removed.sum())
                    st["docs_with_lines_removed"] += int(changed.sum())
                    st["line_emptied"] += int(emptied.sum())
            kd = np.flatnonzero(keep_doc)
            t, rows, removed = t.take(pa.array(kd)), rows[kd], removed[kd]
            wt = weight[rows]
            t = t.drop_columns([c for c in ADDED_COLUMNS if c in t.column_names])
            none = pa.scalar(None, pa.string())
            t = t.append_column("dup_cluster_id", pc.if_else(pa.array(wt > 1), t.column("id"), none))
            t = t.append_column("dup_cluster_size", pa.array(wt, type=pa.int64()))
            t = t.append_column("lines_removed", pa.array(removed, type=pa.int32()))
            st["docs_out"] += t.num_rows
            st["bytes_out"] += int(pc.sum(pc.binary_length(t.column("text"))).as_py() or 0)
            w.write(t.select(schema.names).cast(schema))
            row0 += n
    write_table(Path(line_dec_path), pa.table(line_dec, schema=LINE_DECISIONS))
    for kind, c in dropped_kinds.items():
        st[f"removed_{kind}"] += c
    st["removed_line"] = st["line_emptied"] if line_cfg["drop_empty"] else 0
    return {**{k: int(v) for k, v in st.items()}, "cpu_s": _cpu(t0)}
