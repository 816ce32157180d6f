"""Check that two run outputs are the same: ``python -m jobs.verify OUT_A OUT_B``.

Same shards, byte-identical Parquet (same rows in the same order), same done markers, same
per-file statistics apart from timings, no leftover temporary files, no document twice.
Used by the cluster and fault-tolerance tests; handy after a resumed or re-run job.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

TIMING_KEYS = {"time_s", "elapsed_s", "started", "peak_rss_mb"}  # differ run to run


def _strip_timings(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _strip_timings(v) for k, v in obj.items() if k not in TIMING_KEYS}
    if isinstance(obj, list):
        return [_strip_timings(v) for v in obj]
    return obj


def check_output(out: Path) -> list[str]:
    """Problems inside one output folder: temporary leftovers, duplicate documents, files without markers."""
    out = Path(out)
    problems = [f"leftover temporary file {p.relative_to(out)}" for p in sorted(out.glob("**/*.tmp-*"))]
    done = {p.name.removesuffix(".done") for p in (out / "stats" / "done").glob("*.done")}
    ids: set[str] = set()
    for p in sorted((out / "docs").glob("*.parquet")):
        if p.stem not in done:
            problems.append(f"docs/{p.name} has no done marker")
        col = pq.read_table(p, columns=["id"]).column("id").to_pylist()
        dup = ids.intersection(col) | {i for i in col if col.count(i) > 1}
        if dup:
            problems.append(f"docs/{p.name}: {len(dup)} document id(s) seen twice, e.g. {sorted(dup)[0]}")
        ids.update(col)
    return problems


def compare_outputs(a: Path, b: Path, stats: bool = True) -> list[str]:
    """Differences between two output folders (empty when they hold the same results)."""
    a, b = Path(a), Path(b)
    diffs = check_output(a) + check_output(b)
    for kind in ("docs", "rejects"):
        na = {p.name for p in (a / kind).glob("*.parquet")}
        nb = {p.name for p in (b / kind).glob("*.parquet")}
        if na != nb:
            diffs.append(f"{kind}: shards only in {a}: {sorted(na - nb)}, only in {b}: {sorted(nb - na)}")
        for name in sorted(na & nb):
            pa_, pb_ = a / kind / name, b / kind / name
            if pa_.read_bytes() == pb_.read_bytes():
                continue
            ta, tb = pq.read_table(pa_), pq.read_table(pb_)
            if ta.equals(tb):
                diffs.append(f"{kind}/{name}: same rows in the same order, but the files' bytes differ")
            elif sorted(map(str, ta.to_pylist())) == sorted(map(str, tb.to_pylist())):
                diffs.append(f"{kind}/{name}: same rows in a different order")
            else:
                diffs.append(f"{kind}/{name}: different rows ({ta.num_rows} vs {tb.num_rows})")
    da = {p.name for p in (a / "stats" / "done").glob("*.done")}
    db = {p.name for p in (b / "stats" / "done").glob("*.done")}
    if da != db:
        diffs.append(f"done markers differ: only in {a}: {sorted(da - db)}, only in {b}: {sorted(db - da)}")
    if stats:
        for p in sorted((a / "stats" / "files").glob("*.json")):
            q = b / "stats" / "files" / p.name
            if not q.exists():
                diffs.append(f"stats/files/{p.name} missing in {b}")
                continue
            sa, sb = json.loads(p.read_text()), json.loads(q.read_text())
            sa.pop("input", None), sb.pop("input", None)  # the same file may sit in two places
            if _strip_timings(sa) != _strip_timings(sb):
                diffs.append(f"stats/files/{p.name}: counts differ")
    return diffs


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m jobs.verify OUT_A OUT_B", file=sys.stderr)
        return 2
    diffs = compare_outputs(Path(args[0]), Path(args[1]))
    for d in diffs:
        print(d)
    if not diffs:
        print("identical: same shards, byte-identical Parquet, same per-file statistics")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
