"""Megatron-LM's indexed dataset format (``MMIDIDX``), written and read with numpy alone.

A dataset is a pair ``PREFIX.bin`` (token ids, back to back) + ``PREFIX.idx``:

    b"MMIDIDX\\x00\\x00"   9-byte magic
    <Q  version = 1
    <B  dtype code        (1 uint8, 2 int8, 3 int16, 4 int32, 5 int64, 6 float64, 7 float32, 8 uint16)
    <Q  sequence count N
    <Q  document count N+1
    int32[N]  sequence lengths (tokens)
    int64[N]  sequence pointers (byte offset of each sequence in .bin)
    int64[N+1] document indices (0, 1, ..., N: one sequence per document)

This is what ``megatron.core.datasets.indexed_dataset.IndexedDatasetBuilder`` writes and what
``IndexedDataset(prefix)`` reads (checked by tests/test_mix.py with megatron-core itself). Megatron's
format has no uint32 code: like Megatron's own ``DType.optimal_dtype``, token ids are uint16 for
vocabularies under 65,500 and int32 otherwise (Llama 3's 128,256 ids fit int32 exactly).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import BinaryIO

import numpy as np

HEADER = b"MMIDIDX\x00\x00"
CODES = {np.dtype(np.uint8): 1, np.dtype(np.int8): 2, np.dtype(np.int16): 3, np.dtype(np.int32): 4,
         np.dtype(np.int64): 5, np.dtype(np.float64): 6, np.dtype(np.float32): 7, np.dtype(np.uint16): 8}
DTYPES = {v: k for k, v in CODES.items()}


def token_dtype(vocab_size: int) -> np.dtype:
    """Megatron's choice (``DType.optimal_dtype``): uint16 below 65,500 ids, else int32."""
    return np.dtype(np.uint16) if vocab_size < 65500 else np.dtype(np.int32)


def write_index(idx_path: Path | str, lengths: np.ndarray, dtype: np.dtype) -> None:
    """Write a ``.idx`` for documents of the given token lengths (one sequence per document)."""
    dtype = np.dtype(dtype)
    lengths = np.asarray(lengths, dtype=np.int64)
    if lengths.size and (lengths.min() < 0 or lengths.max() > np.iinfo(np.int32).max):
        raise ValueError("sequence length out of int32 range")
    n = int(lengths.size)
    pointers = np.zeros(n, dtype=np.int64)
    if n > 1:
        np.cumsum(lengths[:-1] * dtype.itemsize, out=pointers[1:])
    with open(idx_path, "wb") as f:
        f.write(HEADER)
        f.write(struct.pack("<Q", 1))
        f.write(struct.pack("<B", CODES[dtype]))
        f.write(struct.pack("<Q", n))
        f.write(struct.pack("<Q", n + 1))
        f.write(lengths.astype(np.int32).tobytes(order="C"))
        f.write(pointers.tobytes(order="C"))
        f.write(np.arange(n + 1, dtype=np.int64).tobytes(order="C"))


class Index:
    """A parsed ``.idx``: dtype, per-sequence lengths and byte pointers, document indices."""

    def __init__(self, idx_path: Path | str):
        with open(idx_path, "rb") as f:
            if f.read(9) != HEADER:
                raise ValueError(f"{idx_path}: not a Megatron indexed dataset (bad header)")
            (version,) = struct.unpack("<Q", f.read(8))
            if version != 1:
                raise ValueError(f"{idx_path}: unsupported version {version}")
            (code,) = struct.unpack("<B", f.read(1))
            (n,) = struct.unpack("<Q", f.read(8))
            (d,) = struct.unpack("<Q", f.read(8))
            self.dtype = DTYPES[code]
            self.lengths = np.frombuffer(f.read(4 * n), dtype=np.int32)
            self.pointers = np.frombuffer(f.read(8 * n), dtype=np.int64)
            self.document_indices = np.frombuffer(f.read(8 * d), dtype=np.int64)

    def __len__(self) -> int:
        return int(self.lengths.size)


class Reader:
    """Random access to the sequences of ``PREFIX.bin/.idx`` (memory-mapped)."""

    def __init__(self, prefix: Path | str):
        prefix = str(prefix)
        self.index = Index(prefix + ".idx")
        size = os.path.getsize(prefix + ".bin")
        self.tokens = (np.memmap(prefix + ".bin", dtype=self.index.dtype, mode="r") if size
                       else np.zeros(0, dtype=self.index.dtype))

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> np.ndarray:
        start = int(self.index.pointers[i]) // self.index.dtype.itemsize
        return self.tokens[start:start + int(self.index.lengths[i])]


class Writer:
    """Append documents to ``PREFIX.bin``; ``close()`` writes ``PREFIX.idx``.

    Callers make the pair atomic by writing inside a temporary folder that is renamed when complete.
    """

    def __init__(self, prefix: Path | str, dtype: np.dtype):
        self.prefix = str(prefix)
        self.dtype = np.dtype(dtype)
        self._f: BinaryIO = open(self.prefix + ".bin", "wb")
        self._lengths: list[np.ndarray] = []
        self.tokens = 0
        self.docs = 0

    def add(self, flat: np.ndarray, lengths: np.ndarray) -> None:
        """Append documents given as one flat token array and the length of each document."""
        flat = np.ascontiguousarray(flat, dtype=self.dtype)
        lengths = np.asarray(lengths, dtype=np.int64)
        assert int(lengths.sum()) == flat.size
        self._f.write(flat.tobytes())
        self._lengths.append(lengths)
        self.tokens += int(flat.size)
        self.docs += int(lengths.size)

    def add_raw(self, src_bin: Path | str, lengths: np.ndarray) -> None:
        """Append another dataset's documents by copying its ``.bin`` bytes (same dtype)."""
        with open(src_bin, "rb") as s:
            while True:
                chunk = s.read(1 << 24)
                if not chunk:
                    break
                self._f.write(chunk)
        lengths = np.asarray(lengths, dtype=np.int64)
        self._lengths.append(lengths)
        self.tokens += int(lengths.sum())
        self.docs += int(lengths.size)

    def close(self) -> None:
        self._f.close()
        lengths = np.concatenate(self._lengths) if self._lengths else np.zeros(0, dtype=np.int64)
        write_index(self.prefix + ".idx", lengths, self.dtype)
