"""Terminal report of a run: the funnel per stage, drops per reason, time and throughput.

Built only from ``OUT/stats/files/*.json``, so it works on a partially finished run.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from dedup.store import read_json
from pipeline.stats import load_file_stats, merge


def human_bytes(n: float) -> str:
    """1536 -> '1.5 KB'."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def report_failures(summary: dict[str, Any], retry: str) -> int:
    """Print the files a run could not process (with how to retry); return the exit code: 1 if any, else 0."""
    if not summary["failed"]:
        return 0
    print(f"\n{len(summary['failed'])} file(s) failed; {retry} to retry them:", file=sys.stderr)
    for f, err in summary["failed"].items():
        print(f"  {f}: {err.splitlines()[-1] if err else ''}", file=sys.stderr)
    return 1


def summarize(out: Path) -> dict[str, Any]:
    return merge(load_file_stats(Path(out)))


def _funnel_table(stages: list[dict[str, Any]], title: str, first: int, top_reasons: int) -> Table:
    table = Table(title=title, title_justify="left")
    for col, just in (("stage", "left"), ("docs in", "right"), ("docs out", "right"), ("kept %", "right"),
                      ("of input %", "right"), ("bytes out", "right"), ("time s", "right"), ("docs/s", "right"),
                      ("top drop reasons", "left")):
        table.add_column(col, justify=just)
    for st in stages:
        kept = 100 * st["docs_out"] / st["docs_in"] if st["docs_in"] else 100.0
        overall = 100 * st["docs_out"] / first if first else 0.0
        rate = st["docs_in"] / st["time_s"] if st["time_s"] else 0.0
        reasons = ", ".join(f"{r} {n}" for r, n in list(st["drops"].items())[:top_reasons])
        more = len(st["drops"]) - top_reasons
        if more > 0:
            reasons += f", +{more} more"
        table.add_row(st["name"], f"{st['docs_in']:,}", f"{st['docs_out']:,}", f"{kept:.1f}", f"{overall:.1f}",
                      human_bytes(st["bytes_out"]), f"{st['time_s']:.1f}", f"{rate:,.0f}", reasons)
    return table


def pii_totals(clean: dict[str, Any]) -> list[tuple[str, int, int]]:
    """``(type, matches, documents with any)`` per PII type, from the clean phase's ``pii_<type>`` histograms
    (a count's first bin holds the documents with none)."""
    return [(col[4:], int(h["sum"]), h["n"] - h["bins"][0]) for st in clean["stages"]
            for col, h in st["scores"].items() if col.startswith("pii_")]


def print_report(out: Path, console: Console | None = None, top_reasons: int = 4) -> dict[str, Any]:
    """Print the funnel of the run in ``out`` (per-file stages, then dedup and the clean phase when they
    have run) and return the merged per-file summary."""
    console = console or Console(width=None if Console().is_terminal else 160)
    out = Path(out)
    summary = summarize(out)
    done = summary["files"]
    if not done:
        console.print(f"[yellow]No finished files in {out} yet.[/]")
        return summary
    first = summary["stages"][0]["docs_in"] if summary["stages"] else 0
    console.print(_funnel_table(summary["stages"], f"Funnel: {out}  ({done} files done)", first, top_reasons))
    last = summary["stages"][-1]["docs_out"] if summary["stages"] else 0
    cpu = summary["cpu_s"]
    console.print(
        f"{first:,} HTTP responses -> {last:,} documents kept ({100 * last / max(first, 1):.1f}%); "
        f"{summary['records_other']:,} non-response records; "
        f"{cpu:.0f} CPU-s in per-file work = {first / cpu if cpu else 0:.1f} responses/s per core."
    )
    dedup = read_json(out / "stats" / "dedup.json")
    if dedup:
        removed = ", ".join(f"{k} {v:,}" for k, v in dedup.get("removed", {}).items())
        console.print(f"dedup: {dedup['docs_in']:,} -> {dedup['docs_out']:,} documents (removed: {removed}); "
                      f"{dedup.get('lines', {}).get('removed', 0):,} repeated lines removed.")
    clean = read_json(out / "stats" / "clean.json")
    if clean and clean.get("stages"):
        console.print(_funnel_table(clean["stages"], f"Clean phase (input: OUT/{clean.get('input')})", first,
                                    top_reasons))
        pii = pii_totals(clean)
        if pii:
            console.print("PII redacted: " + ", ".join(f"{t} {n:,}" for t, n, _ in pii))
        for name, fit in clean.get("corpus_fits", {}).items():
            console.print(f"{name}: {fit.get('blocked', 0):,} of {fit.get('judged', 0):,} judged domains blocked "
                          f"{fit.get('blocked_by_reason', {})}")
        console.print(f"{clean['stages'][-1]['docs_out']:,} documents in OUT/clean (the curated corpus).")
    return summary
