"""Per-stage statistics: documents and bytes in/out, drops per reason, time, score histograms.

One JSON per input file (``OUT/stats/files/<shard>.json``), written atomically
with the shard. The run summary is always re-derived by summing those files,
so it stays correct across relaunches and partial runs.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

HIST_BINS = 20


class StageStats:
    """Counters for one stage over one file."""

    def __init__(self, name: str):
        self.name = name
        self.docs_in = self.docs_out = self.bytes_in = self.bytes_out = 0
        self.time_s = 0.0
        self.drops: Counter[str] = Counter()
        self.scores: dict[str, dict[str, Any]] = {}

    def add_scores(self, column: str, lo: float, hi: float, values: Iterable[float | None]) -> None:
        h = self.scores.setdefault(
            column, {"lo": lo, "hi": hi, "bins": [0] * HIST_BINS, "n": 0, "sum": 0.0, "min": None, "max": None}
        )
        width = (hi - lo) / HIST_BINS or 1.0
        for v in values:
            if v is None or (isinstance(v, float) and math.isnan(v)):
                continue
            v = float(v)
            h["bins"][min(max(int((v - lo) / width), 0), HIST_BINS - 1)] += 1
            h["n"] += 1
            h["sum"] += v
            h["min"] = v if h["min"] is None else min(h["min"], v)
            h["max"] = v if h["max"] is None else max(h["max"], v)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "docs_in": self.docs_in,
            "docs_out": self.docs_out,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "drops": dict(sorted(self.drops.items())),
            "time_s": round(self.time_s, 4),
            "scores": self.scores,
        }


def merge(file_stats: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Sum per-file stats into one run summary (stages in pipeline order)."""
    stages: dict[str, dict[str, Any]] = {}
    files = 0
    totals = Counter()
    for fs in file_stats:
        files += 1
        totals["records_other"] += fs.get("records_other", 0)
        totals["elapsed_s"] += fs.get("elapsed_s", 0.0)
        for st in fs["stages"]:
            acc = stages.setdefault(
                st["name"],
                {"name": st["name"], "docs_in": 0, "docs_out": 0, "bytes_in": 0, "bytes_out": 0,
                 "drops": Counter(), "time_s": 0.0, "scores": {}},
            )
            for k in ("docs_in", "docs_out", "bytes_in", "bytes_out", "time_s"):
                acc[k] += st[k]
            acc["drops"].update(st["drops"])
            for col, h in st.get("scores", {}).items():
                m = acc["scores"].setdefault(col, {**h, "bins": [0] * len(h["bins"]), "n": 0, "sum": 0.0,
                                                   "min": None, "max": None})
                m["bins"] = [a + b for a, b in zip(m["bins"], h["bins"])]
                m["n"] += h["n"]
                m["sum"] += h["sum"]
                for k, f in (("min", min), ("max", max)):
                    if h[k] is not None:
                        m[k] = h[k] if m[k] is None else f(m[k], h[k])
    for acc in stages.values():
        acc["drops"] = dict(sorted(acc["drops"].items(), key=lambda kv: -kv[1]))
        acc["time_s"] = round(acc["time_s"], 3)
    return {"files": files, "records_other": totals["records_other"],
            "cpu_s": round(totals["elapsed_s"], 3), "stages": list(stages.values())}


def load_file_stats(out: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((out / "stats" / "files").glob("*.json"))]
