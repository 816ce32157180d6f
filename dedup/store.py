"""Files of the dedup phase: atomic Parquet/JSON writes, partitioned shuffle files, markers.

Shuffle files: a map task writes ONE file per input shard, rows sorted by
partition, each partition its own row group(s) with a ``part`` column. A reduce
task reads partition k from every map file with a ``part == k`` filter, which
Parquet row-group statistics turn into reading only that partition's row
groups. (S shards x P partitions row groups; no S x P small files.)
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

ROW_GROUP = 65_536


def _tmp(path: Path) -> Path:
    return path.with_name(f"{path.name}.tmp-{uuid.uuid4().hex[:8]}")


def write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp(path)
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=True, default=str))
    os.replace(tmp, path)


def read_json(path: Path) -> Any | None:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def write_table(path: Path, table: pa.Table, row_group_size: int = ROW_GROUP) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp(path)
    pq.write_table(table, tmp, compression="zstd", row_group_size=row_group_size)
    os.replace(tmp, path)


class AtomicWriter:
    """A ParquetWriter to a temporary name, renamed into place by ``close()``."""

    def __init__(self, path: Path, schema: pa.Schema):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = _tmp(self.path)
        self.writer = pq.ParquetWriter(self.tmp, schema, compression="zstd")

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            self.writer.write_table(table, row_group_size=ROW_GROUP)

    def close(self) -> None:
        self.writer.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self.writer.close()
        self.tmp.unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_):
        self.abort() if exc_type else self.close()


def write_partitioned(path: Path, table: pa.Table, part: np.ndarray, schema: pa.Schema) -> None:
    """Write ``table`` with a ``part`` column, one row group run per partition, atomically."""
    order = np.argsort(part, kind="stable")
    part = part[order]
    table = table.take(pa.array(order)).append_column("part", pa.array(part.astype(np.int32)))
    bounds = np.flatnonzero(np.diff(part)) + 1
    starts = np.concatenate([[0], bounds]).astype(np.int64)
    ends = np.concatenate([bounds, [part.size]]).astype(np.int64)
    with AtomicWriter(path, schema) as w:
        for s, e in zip(starts.tolist(), ends.tolist()):
            if e > s:
                w.write(table.slice(s, e - s).select(schema.names).cast(schema))


def read_partition(paths: list[Path], k: int, schema: pa.Schema, columns: list[str] | None = None) -> pa.Table:
    """Rows of partition ``k`` from every map output file."""
    paths = [str(p) for p in paths if Path(p).exists()]
    if not paths:
        return schema.empty_table().select(columns or schema.names)
    dataset = ds.dataset(paths, format="parquet", schema=schema)
    return dataset.to_table(columns=columns, filter=ds.field("part") == k)


def read_key_range(paths: list[Path], schema: pa.Schema, lo: int, hi: int, key: str = "doc_key",
                   columns: list[str] | None = None) -> pa.Table:
    """Rows with ``lo <= key < hi`` from files sorted by ``key`` (row groups pruned by statistics)."""
    paths = [str(p) for p in paths if Path(p).exists()]
    if not paths:
        return schema.empty_table().select(columns or schema.names)
    dataset = ds.dataset(paths, format="parquet", schema=schema)
    return dataset.to_table(columns=columns, filter=(ds.field(key) >= lo) & (ds.field(key) < hi))


def column_np(table: pa.Table, name: str) -> np.ndarray:
    col = table.column(name)
    if col.num_chunks == 0:
        return np.zeros(0, dtype=col.type.to_pandas_dtype())
    return np.asarray(col.combine_chunks() if col.num_chunks > 1 else col.chunk(0))
