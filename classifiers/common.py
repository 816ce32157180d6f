"""Shared helpers of the trained classifiers: labelled-data I/O, text normalization,
deterministic splits, metrics and model cards.

Labelled data is Parquet or JSONL with a ``text`` column and either ``label``
(0/1, or a class name) or ``score`` (0..1, e.g. a teacher's or an LLM's rating).
Optional columns: ``group`` (rows sharing a group stay on the same side of the
train/held-out split, e.g. translations of one page or lines of one file) and
``source`` (reported per source in the model card).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import time
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

DEFAULT_MODEL_DIR = Path("data/models")
_TOKEN = re.compile(r"\w+|[^\w\s]")


def resolve_model_path(path: str | Path) -> Path:
    """A model path as given; a relative one that does not exist from the current directory is also
    looked up from the project root (Ray workers may start elsewhere)."""
    p = Path(path)
    if p.is_absolute() or p.exists():
        return p
    root = Path(__file__).resolve().parents[1] / p
    return root if root.exists() else p


def missing_model_error(path: str | Path, what: str) -> FileNotFoundError:
    return FileNotFoundError(
        f"{what} model not found at {path}. Train the default models with `make models` "
        f"(or `curate train ...`, see `curate train --help`), or set the stage's model_path.")


def load_fasttext(path: str | Path, what: str):
    """A trained fastText model, loaded once per process and file version (path, modification time), so a
    retrained model is picked up without clearing a cache. A missing file raises ``missing_model_error``."""
    path = Path(path)
    try:
        version = path.stat().st_mtime_ns
    except FileNotFoundError:
        raise missing_model_error(path, what) from None
    return _load_fasttext(os.fspath(path), version)


@lru_cache(maxsize=16)
def _load_fasttext(path: str, version: int):
    import fasttext

    fasttext.FastText.eprint = lambda *a, **k: None  # silence the load-time warning
    return fasttext.load_model(path)


# --- text -------------------------------------------------------------------------------

def ft_tokens(text: str | None, max_chars: int = 20_000, lower: bool = True) -> str:
    """One fastText input line: words and punctuation as separate tokens, truncated to ``max_chars``
    characters first (1 MB documents cost the same as 20 kB ones)."""
    if not text:
        return ""
    t = text[:max_chars]
    if lower:
        t = t.lower()
    return " ".join(_TOKEN.findall(t))


def stable_hash(s: str) -> int:
    return int.from_bytes(hashlib.blake2b(s.encode("utf-8", "replace"), digest_size=8).digest(), "big")


def text_key(text: str, n: int = 300) -> str:
    """Near-duplicate key: the first ``n`` characters with whitespace collapsed and case folded."""
    return " ".join((text or "").split())[:n].casefold()


# --- data -------------------------------------------------------------------------------

def read_labelled(paths: Sequence[str | Path], text_col: str = "text") -> list[dict[str, Any]]:
    """Rows (dicts) of one or more Parquet/JSONL files; each must have ``text`` and ``label`` or ``score``."""
    rows: list[dict[str, Any]] = []
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise FileNotFoundError(f"labelled data not found: {p}")
        if p.suffix == ".parquet":
            import pyarrow.parquet as pq

            part = pq.read_table(p).to_pylist()
        elif p.suffix in (".jsonl", ".json") or p.name.endswith(".jsonl.gz"):
            import gzip

            opener = gzip.open if p.name.endswith(".gz") else open
            with opener(p, "rt", encoding="utf-8") as f:
                part = [json.loads(line) for line in f if line.strip()]
        else:
            raise ValueError(f"{p}: labelled data must be .parquet or .jsonl")
        for i, r in enumerate(part):
            if text_col not in r:
                raise ValueError(f"{p}: row {i} has no {text_col!r} column (columns: {sorted(r)})")
            if "label" not in r and "score" not in r:
                raise ValueError(f"{p}: row {i} has neither 'label' nor 'score'")
            r["text"] = r.pop(text_col) or ""
        rows.extend(part)
    return rows


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
            n += 1
    tmp.replace(path)
    return n


def split(rows: list[dict[str, Any]], heldout: float, seed: int) -> tuple[list[dict], list[dict]]:
    """Deterministic train/held-out split by group (``group`` column, else the text's near-dup key)."""
    train, test = [], []
    for r in rows:
        g = str(r.get("group") or text_key(r["text"]))
        u = (stable_hash(f"{seed}:{g}") % 1_000_000) / 1_000_000
        (test if u < heldout else train).append(r)
    return train, test


def shuffled(rows: list, seed: int) -> list:
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(rows))
    return [rows[i] for i in idx]


# --- metrics ----------------------------------------------------------------------------

def auc(y: Sequence[int], s: Sequence[float]) -> float | None:
    """ROC AUC (Mann-Whitney U with tie correction); None when one class is absent."""
    y = np.asarray(y, dtype=bool)
    s = np.asarray(s, dtype=float)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        return None
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    i = 0
    while i < len(s):  # average ranks of ties
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def accuracy(y: Sequence[int], s: Sequence[float], threshold: float = 0.5) -> float | None:
    if len(y) == 0:
        return None
    y = np.asarray(y, dtype=bool)
    return float(((np.asarray(s) >= threshold) == y).mean())


def pearson(a: Sequence[float], b: Sequence[float]) -> float | None:
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or a.std() == 0 or b.std() == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def spearman(a: Sequence[float], b: Sequence[float]) -> float | None:
    ra = np.argsort(np.argsort(a, kind="mergesort"), kind="mergesort")
    rb = np.argsort(np.argsort(b, kind="mergesort"), kind="mergesort")
    return pearson(ra, rb)


def binary_metrics(y: Sequence[int], s: Sequence[float], threshold: float = 0.5) -> dict[str, Any]:
    return {"n": len(y), "positives": int(np.sum(y)), "auc": _r(auc(y, s)),
            "accuracy": _r(accuracy(y, s, threshold)), "threshold": threshold}


def _r(x: float | None, nd: int = 4) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(x, nd)


# --- model cards ------------------------------------------------------------------------

def write_card(model_path: str | Path, card: dict[str, Any]) -> Path:
    """Write ``<model>.card.json`` and a human-readable ``<model>.card.md`` next to the model."""
    model_path = Path(model_path)
    card = {"model": model_path.name, "created": time.strftime("%Y-%m-%d %H:%M:%S"), **card}
    base = model_path.with_name(model_path.name + ".card") if model_path.suffix else model_path / "card"
    base.parent.mkdir(parents=True, exist_ok=True)
    Path(str(base) + ".json").write_text(json.dumps(card, indent=1, default=str))
    lines = [f"# Model card: {card['model']}", ""]
    for key in ("task", "description", "created"):
        if key in card:
            lines.append(f"- **{key}**: {card[key]}")
    for section in ("data", "parameters", "heldout", "size", "speed", "notes"):
        if section in card:
            lines += ["", f"## {section}", "", "```json", json.dumps(card[section], indent=1, default=str), "```"]
    Path(str(base) + ".md").write_text("\n".join(lines) + "\n")
    return Path(str(base) + ".md")


def load_yaml_params(path: str | Path | None, section: str, defaults: dict[str, Any],
                     overrides: Sequence[str] = ()) -> dict[str, Any]:
    """Training hyperparameters: ``defaults``, then ``section`` of a YAML file, then ``key=value`` overrides."""
    import yaml

    params = dict(defaults)
    if path:
        doc = yaml.safe_load(Path(path).read_text()) or {}
        params.update(doc.get(section) or {})
    for ov in overrides:
        if "=" not in ov:
            raise ValueError(f"--set expects key=value, got {ov!r}")
        k, v = ov.split("=", 1)
        if k not in params:
            raise ValueError(f"unknown parameter {k!r}; known: {sorted(params)}")
        params[k] = yaml.safe_load(v)
    unknown = set(params) - set(defaults)
    if unknown:
        raise ValueError(f"{path}: section {section!r} has unknown parameter(s) {sorted(unknown)}; "
                         f"known: {sorted(defaults)}")
    return params
