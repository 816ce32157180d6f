"""Helpers shared by the benchmark scripts: the configured stage, and a one-line machine description."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path


def configured_stage(name: str, **override):
    """The stage `name` with its parameters from pipeline/default.yaml (plus overrides), and the batch size.

    Only that stage's entry is validated, so the benchmark does not depend on the rest of the file."""
    from pipeline.config import DEFAULT_CONFIG, build_stages, read_yaml, validate

    raw = read_yaml(DEFAULT_CONFIG) or {}
    params = next((e[name] for e in raw.get("stages", []) if isinstance(e, dict) and name in e), None) or {}
    cfg = validate({"batch_size": raw.get("batch_size", 256), "stages": [{name: {**params, **override}}]})
    return build_stages(cfg)[0], cfg["batch_size"]


def machine() -> str:
    mem = "?"
    m = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
    if m:
        mem = f"{int(m.group(1)) / 1024 ** 2:.1f} GiB"
    return f"{os.cpu_count()} cores, {platform.machine()}, {mem} RAM (MemTotal), Python {platform.python_version()}"
