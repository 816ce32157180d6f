"""Generated documents for the dedup tests and benchmarks (no crawl needed).

Documents are random words from a synthetic vocabulary, so unrelated documents
share almost no 5-grams; near-duplicates are made by substituting words, which
lowers the shingle Jaccard similarity by a known amount.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pyarrow as pa

from dedup.store import write_table

DOCS_SCHEMA = pa.schema([
    ("id", pa.string()), ("url", pa.string()), ("date", pa.string()), ("warc_file", pa.string()),
    ("warc_record_id", pa.string()), ("warc_offset", pa.int64()), ("text", pa.string()), ("lang", pa.string()),
    ("lang_score", pa.float32()),
])

_SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "shi", "po", "ve", "da", "gu", "ze", "fa", "bi", "no", "xu"]


def vocabulary(size: int = 50_000, seed: int = 0) -> np.ndarray:
    """Distinct pronounceable words (2-4 syllables)."""
    rng = np.random.default_rng(seed)
    words: set[str] = set()
    while len(words) < size:
        k = rng.integers(2, 5, size)
        syl = rng.integers(0, len(_SYLLABLES), (size, 4))
        for n, s in zip(k, syl):
            words.add("".join(_SYLLABLES[i] for i in s[:n]))
            if len(words) >= size:
                break
    return np.array(sorted(words))


def random_words(rng: np.random.Generator, vocab: np.ndarray, n: int) -> np.ndarray:
    """``n`` word indices, Zipf-like so some words are common (like real text)."""
    return (rng.zipf(1.2, n) - 1) % vocab.size if n else np.zeros(0, np.int64)


def substitute(rng: np.random.Generator, words: np.ndarray, k: int, vocab_size: int) -> np.ndarray:
    """A copy of ``words`` with ``k`` positions replaced by random words."""
    out = words.copy()
    if k and out.size:
        pos = rng.choice(out.size, size=min(k, out.size), replace=False)
        out[pos] = rng.integers(0, vocab_size, pos.size)
    return out


def to_text(vocab: np.ndarray, words: np.ndarray, line_every: int = 0) -> str:
    toks = vocab[words].tolist()
    if not line_every:
        return " ".join(toks)
    return "\n".join(" ".join(toks[i: i + line_every]) for i in range(0, len(toks), line_every))


def shingle_set(text: str, ngram: int = 5) -> set:
    """The exact shingle set (word tuples) of a text as MinHash sees it."""
    from dedup.hashing import words_reference

    w = words_reference(text)
    if not w:
        return set()
    return {tuple(w[i: i + ngram]) for i in range(len(w) - ngram + 1)} if len(w) >= ngram else {tuple(w)}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def doc_row(shard: str, i: int, text: str | None, url: str | None = None, date: str = "2024-05-18T00:00:00Z",
            **extra: Any) -> dict[str, Any]:
    return {"id": f"{shard}/{i}", "url": url if url is not None else f"https://example.com/{shard}/{i}",
            "date": date, "warc_file": shard, "warc_record_id": f"<urn:uuid:{shard}-{i}>", "warc_offset": i * 1000,
            "text": text, "lang": "en", "lang_score": 0.99, **extra}


def write_shard(out: Path, shard: str, rows: Iterable[dict[str, Any]],
                extra: dict[str, pa.DataType] | None = None) -> Path:
    """Write ``OUT/docs/<shard>.parquet`` in the per-file stages' schema (plus ``extra`` columns)."""
    schema = DOCS_SCHEMA
    for name, typ in (extra or {}).items():
        schema = schema.append(pa.field(name, typ))
    rows = list(rows)
    table = pa.Table.from_pylist(rows, schema=schema) if rows else schema.empty_table()
    path = Path(out) / "docs" / f"{shard}.parquet"
    write_table(path, table)
    return path
