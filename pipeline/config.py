"""Run configuration: one YAML file describes a run. Validated early, errors name the bad key."""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import fields
from pathlib import Path
from typing import Any

import yaml

from pipeline.read import ReadParams
from pipeline.stage import Stage, registry
from pipeline.stages._words import TOKENIZERS, configure as configure_words

DEFAULT_CONFIG = Path(__file__).with_name("default.yaml")
TOP_LEVEL = {"read", "batch_size", "word_tokenizer", "stages", "fit", "dedup", "clean"}
GLOBAL_PHASES = ("dedup", "clean")  # sections read by the phases after the per-file stages
FIT_DEFAULTS = {"sample_files": 8, "sample_docs": 2000}


class ConfigError(ValueError):
    """A configuration problem, with the offending key in the message."""


def read_yaml(path: str | Path, error: type[Exception] = None, what: str = "config file") -> Any:
    """Parse a YAML file; a missing file or bad YAML raises ``error`` (default ConfigError) naming the path."""
    error = error or ConfigError
    path = Path(path)
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise error(f"{what} not found: {path}") from None
    except yaml.YAMLError as e:
        raise error(f"{path}: invalid YAML: {e}") from None


def load_config(path: str | Path | None = None) -> dict[str, Any]:
    """Load and validate a config file (the built-in default when ``path`` is None)."""
    path = Path(path) if path else DEFAULT_CONFIG
    return validate(read_yaml(path) or {}, source=str(path))


def validate(cfg: dict[str, Any], source: str = "config") -> dict[str, Any]:
    """Check keys and stage parameters; return a normalized copy."""
    if not isinstance(cfg, dict):
        raise ConfigError(f"{source}: the top level must be a mapping")
    cfg = copy.deepcopy(cfg)
    unknown = set(cfg) - TOP_LEVEL
    if unknown:
        raise ConfigError(f"{source}: unknown top-level key(s) {sorted(unknown)}; known: {sorted(TOP_LEVEL)}")
    read = cfg.setdefault("read", {}) or {}
    known_read = {f.name for f in fields(ReadParams)}
    for key in read:
        if key not in known_read:
            raise ConfigError(f"{source}: read.{key} is not a known key; known: {sorted(known_read)}")
    cfg["read"] = read
    cfg.setdefault("batch_size", 256)
    if not isinstance(cfg["batch_size"], int) or cfg["batch_size"] < 1:
        raise ConfigError(f"{source}: batch_size must be a positive integer")
    cfg.setdefault("word_tokenizer", "fast")
    if cfg["word_tokenizer"] not in TOKENIZERS:
        raise ConfigError(f"{source}: word_tokenizer must be one of {TOKENIZERS}, not {cfg['word_tokenizer']!r}")
    fit = {**FIT_DEFAULTS, **(cfg.get("fit") or {})}
    if set(fit) - set(FIT_DEFAULTS):
        raise ConfigError(f"{source}: unknown fit key(s) {sorted(set(fit) - set(FIT_DEFAULTS))}")
    cfg["fit"] = fit

    cfg["stages"] = _validate_stages(cfg.get("stages"), f"{source}: stages", per_file=True)
    clean = cfg.get("clean")
    if clean is not None:
        if not isinstance(clean, dict) or set(clean) != {"stages"}:
            raise ConfigError(f"{source}: clean must be a mapping with one key, 'stages'")
        cfg["clean"] = {"stages": _validate_stages(clean["stages"], f"{source}: clean.stages", per_file=False)}
    if cfg.get("dedup") is not None:
        import dedup

        try:
            cfg["dedup"] = dedup.validate(cfg["dedup"])
        except ValueError as e:
            raise ConfigError(f"{source}: {e}") from None
    return cfg


def _validate_stages(stages: Any, where: str, per_file: bool) -> list[dict[str, Any]]:
    """A stage list, normalized to ``[{name: params}]``; each stage is built once to check its parameters.
    Stages that judge the whole corpus (``fit_corpus``) belong to the clean phase only."""
    if not isinstance(stages, list) or not stages:
        raise ConfigError(f"{where} must be a non-empty list of {{stage_name: {{params}}}}")
    known = registry()
    normalized = []
    for i, entry in enumerate(stages):
        if isinstance(entry, str):
            entry = {entry: {}}
        if not isinstance(entry, dict) or len(entry) != 1:
            raise ConfigError(f"{where}[{i}] must be a stage name or a one-key mapping, got {entry!r}")
        (name, params), = entry.items()
        if name not in known:
            raise ConfigError(f"{where}[{i}]: unknown stage {name!r}; known: {sorted(known)}")
        if per_file and hasattr(known[name], "fit_corpus"):
            raise ConfigError(f"{where}[{i}]: {name!r} judges the whole corpus; list it under clean.stages")
        params = params or {}
        try:
            known[name](**params)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"{where}[{i}] ({name}): {e}") from None
        normalized.append({name: params})
    names = [next(iter(e)) for e in normalized]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: a stage appears twice: {names}")
    return normalized


def build_stages(cfg: dict[str, Any]) -> list[Stage]:
    """Instantiate the configured stages (and select the run's word tokenizer in this process)."""
    configure_words(cfg.get("word_tokenizer", "fast"))
    known = registry()
    return [known[name](**params) for entry in cfg["stages"] for name, params in entry.items()]


def config_hash(cfg: dict[str, Any]) -> str:
    """Stable hash of everything that changes the output."""
    return hashlib.sha256(json.dumps(cfg, sort_keys=True, default=str).encode()).hexdigest()[:16]


def per_file_hash(cfg: dict[str, Any]) -> str:
    """Hash of the settings that change the per-file shards (not the later phases' sections)."""
    return config_hash({k: v for k, v in cfg.items() if k not in GLOBAL_PHASES})
