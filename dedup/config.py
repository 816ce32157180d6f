"""The ``dedup:`` section of the run configuration: defaults and validation."""

from __future__ import annotations

import copy
from typing import Any

DEFAULTS: dict[str, Any] = {
    "partitions": 16,          # P: shuffle partitions = reduce tasks per step (size so N * 14 / P rows fit a task)
    "batch_size": 2048,        # documents per batch when reading shards
    "quality_column": None,    # docs column; higher wins when choosing the kept document (then newest, then id)
    "url": {
        "enabled": True,
        "strip_www": True,     # www.example.com/a == example.com/a
        "drop_params": ["utm_*", "fbclid", "gclid"],  # query parameters ignored (globs)
    },
    "exact": {"enabled": True},
    "near": {
        "enabled": True,
        "ngram": 5,            # word n-gram shingles
        "bands": 14,           # LSH: bands x rows; detection probability 1 - (1 - s^rows)^bands
        "rows": 8,
        "num_perm": 112,       # MinHash values stored per document (>= bands * rows)
        "seed": 1,             # MinHash permutations (datasketch's for this seed)
    },
    "line": {
        "enabled": True,
        "bucket_docs": 30_000_000,  # documents per bucket (in input order)
        "max_occurrences": 6,       # a line in more than this many documents of a bucket is removed
        "drop_empty": True,         # drop documents left without words by line removal
    },
}

_TYPES = {
    "partitions": (int, 1, 1 << 20), "batch_size": (int, 1, 1 << 24),
    "near.ngram": (int, 1, 8), "near.bands": (int, 1, 1024), "near.rows": (int, 1, 64),
    "near.num_perm": (int, 1, 4096), "near.seed": (int, 0, (1 << 32) - 1),
    "line.bucket_docs": (int, 1, 1 << 40), "line.max_occurrences": (int, 1, 1 << 40),
}


def validate(cfg: dict[str, Any] | None, source: str = "dedup") -> dict[str, Any]:
    """Return ``cfg`` merged over DEFAULTS; raise ValueError naming the first bad key."""
    if cfg is None:
        cfg = {}
    if not isinstance(cfg, dict):
        raise ValueError(f"{source}: must be a mapping, got {type(cfg).__name__}")
    out = copy.deepcopy(DEFAULTS)
    for key, value in cfg.items():
        if key not in DEFAULTS:
            raise ValueError(f"{source}.{key}: unknown key; known: {sorted(DEFAULTS)}")
        if isinstance(DEFAULTS[key], dict):
            if value is None:
                value = {}
            if not isinstance(value, dict):
                raise ValueError(f"{source}.{key}: must be a mapping")
            for sub, v in value.items():
                if sub not in DEFAULTS[key]:
                    raise ValueError(f"{source}.{key}.{sub}: unknown key; known: {sorted(DEFAULTS[key])}")
                out[key][sub] = v
        else:
            out[key] = value
    for dotted, (typ, lo, hi) in _TYPES.items():
        parts = dotted.split(".")
        v = out[parts[0]] if len(parts) == 1 else out[parts[0]][parts[1]]
        if isinstance(v, bool) or not isinstance(v, typ) or not lo <= v <= hi:
            raise ValueError(f"{source}.{dotted}: must be an integer in [{lo}, {hi}], got {v!r}")
    for section in ("url", "exact", "near", "line"):
        if not isinstance(out[section]["enabled"], bool):
            raise ValueError(f"{source}.{section}.enabled: must be true or false")
    for k in ("strip_www",):
        if not isinstance(out["url"][k], bool):
            raise ValueError(f"{source}.url.{k}: must be true or false")
    if not isinstance(out["line"]["drop_empty"], bool):
        raise ValueError(f"{source}.line.drop_empty: must be true or false")
    dp = out["url"]["drop_params"]
    if dp is None:
        out["url"]["drop_params"] = dp = []
    if not isinstance(dp, list) or not all(isinstance(p, str) and p for p in dp):
        raise ValueError(f"{source}.url.drop_params: must be a list of parameter-name globs")
    q = out["quality_column"]
    if q is not None and (not isinstance(q, str) or not q):
        raise ValueError(f"{source}.quality_column: must be a column name or null")
    near = out["near"]
    if near["bands"] * near["rows"] > near["num_perm"]:
        raise ValueError(f"{source}.near.num_perm: must be >= bands * rows = {near['bands'] * near['rows']}, "
                         f"got {near['num_perm']}")
    return out
