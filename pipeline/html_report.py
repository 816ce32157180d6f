"""HTML report of a run: one self-contained ``OUT/report.html`` with charts, tables and sample documents.

Built from what a run leaves in its output folder, so it works on a partially
finished run (only files with a stats JSON count; everything else is skipped):

- ``OUT/stats/files/*.json``: the funnel, drops per reason, time per stage and the
  score histograms (``pipeline.stats``). ``OUT/stats/run.json``: the config, for
  the thresholds. ``OUT/stats/summary.json`` (optional): number of inputs, failed files.
- ``OUT/docs/<shard>.parquet``: language distribution and any other categorical
  column (e.g. a topic label), read column by column, batch by batch; a few kept
  documents (deterministic pick by a hash of their id), taken from
  ``OUT/clean/<shard>.parquet`` instead when the clean phase has run (PII-redacted).
- ``OUT/stats/clean.json``: the clean phase's funnel, drops, PII matches per type,
  blocked domains and score histograms.
- ``OUT/rejects/<shard>.parquet``: a few dropped documents per (stage, reason).
- ``OUT/stats/dedup.json`` and ``OUT/mix/*.{json,jsonl,yaml,yml}`` when present:
  shown generically (see ``render_json``), so their exact format can evolve.

Thresholds marked on the histograms (``stage_thresholds``): a stage class may
declare ``thresholds = {score_column: param | [param, ...] | [(param, "min"|"max"|None), ...]}``;
otherwise a few known stages use ``KNOWN_THRESHOLDS`` below; otherwise the convention:
a numeric parameter ``P`` marks score column ``C`` when, with ``P'`` = P minus a leading
``min_``/``max_`` and a trailing ``_thr``/``_threshold``, and ``C'`` = C minus the stage
name's first word as a prefix (``gopher_``, ``fineweb_``): ``P' == C'``, or ``P' == C'``
minus a trailing ``_ratio``/``_frac``/``_score``, or (for min_/max_ parameters) ``C``
ends with ``_P'`` (``langid.min_score`` -> ``lang_score``, ``extract.min_chars`` ->
``text_chars``, ``ngram_coverage.max_coverage`` -> ``dup_ngram_coverage``). ``min_``
means documents below are dropped, ``max_`` above; the dropped side is shaded.
Per-language values (``per_language`` of DocFilters, ``<param>_per_language`` dicts)
are drawn as thin dotted lines and listed under the chart.

Security: page text and URLs are hostile. Every string goes through ``esc``
(``html.escape`` with quotes, control characters removed), only http(s) URLs
become links, the page has no JavaScript at all, and a Content-Security-Policy
meta tag (``default-src 'none'``) makes anything that slipped through inert.
"""

from __future__ import annotations

import hashlib
import heapq
import html
import json
import logging
import math
import os
import re
import time
import uuid
from bisect import bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import pyarrow as pa
import pyarrow.parquet as pq
from pipeline.report import human_bytes, pii_totals

log = logging.getLogger(__name__)

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
SNIPPET_CHARS = 600
KEPT_SAMPLES = 6
REJECT_SAMPLES = 3
SAMPLE_SHARDS = 8  # kept documents are picked from at most this many shards
REJECT_SHARDS = 64  # rejects are scanned in at most this many shards
MAX_CATEGORIES = 2000  # a string column with more distinct values is not a category (e.g. titles)
TOP_CATEGORIES = 30
MAX_JSON_BYTES = 5_000_000
STAGE_KEYS = {"name", "docs_in", "docs_out", "bytes_in", "bytes_out", "drops", "time_s"}
NAV = {"overview": "Overview", "funnel": "Funnel", "drops": "Drops", "scores": "Scores", "languages": "Languages",
       "dedup": "Dedup", "clean": "Clean", "mix": "Mixture", "timing": "Time", "kept": "Kept samples",
       "dropped": "Dropped samples", "config": "Config"}
# Text columns shown for rejects if a later version of the rejects shards stores one.
REJECT_TEXT = ("text", "snippet", "text_snippet")
# Docs columns that are never shown as a distribution.
NOT_CATEGORICAL = {"id", "url", "date", "warc_file", "warc_record_id", "text", "html", "charset"}
LINEAGE = ("warc_file", "warc_offset", "warc_record_id", "date")
PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
           "#9c755f", "#bab0ac"]

# (stage, score column) -> [(param, side)] where parameter names do not follow the convention.
KNOWN_THRESHOLDS: dict[str, dict[str, list[tuple[str, str | None]]]] = {
    "gopher_quality": {
        "gopher_words": [("min_doc_words", "min"), ("max_doc_words", "max")],
        "gopher_avg_word_len": [("min_avg_word_length", "min"), ("max_avg_word_length", "max")],
        "gopher_hash_ratio": [("max_symbol_word_ratio", "max")],
        "gopher_ellipsis_ratio": [("max_symbol_word_ratio", "max")],
        "gopher_alpha_words_ratio": [("max_non_alpha_words_ratio", "min")],  # datatrove's name; it is a minimum
    },
    "fineweb_quality": {
        "fineweb_line_punct_ratio": [("line_punct_thr", "min")],
        "fineweb_short_line_ratio": [("short_line_thr", "max")],
        "fineweb_char_dup_ratio": [("char_duplicates_ratio", "max")],
        "fineweb_list_ratio": [("new_line_ratio", "max")],
    },
}
# Side of thresholds found by the convention for parameters without a min_/max_ prefix.
DEFAULT_SIDE = {"gopher_repetition": "max"}

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# ----------------------------------------------------------------------------- formatting
def esc(x: Any) -> str:
    """Escape anything for HTML text or a quoted attribute value."""
    return html.escape(_CONTROL.sub("", str(x)), quote=True)


def short(s: Any, n: int) -> str:
    s = "" if s is None else str(s)
    return s if len(s) <= n else s[: n - 1] + "…"


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def fnum(v: Any) -> str:
    """Compact number: thousands separators for integers, 4 significant digits otherwise."""
    if v is None:
        return "–"
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, int) or (math.isfinite(v) and float(v).is_integer() and abs(v) >= 1000):
        return f"{int(v):,}"
    if not math.isfinite(v):
        return str(v)
    return f"{v:.4g}" if abs(v) < 1e6 else f"{v:,.0f}"




def pct(a: float, b: float) -> str:
    return f"{100 * a / b:.1f}%" if b else "–"


def _hash(s: Any) -> int:
    return int.from_bytes(hashlib.blake2b(str(s).encode("utf-8", "replace"), digest_size=8).digest(), "big")


def _anchor(s: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_-]+", "-", s)[:60] or "x"


def table(headers: list[str], rows: Iterable[list[Any]], numeric: set[int] | None = None,
          cls: str = "") -> str:
    """An HTML table; cells are escaped (pass ``Raw`` for pre-rendered HTML)."""
    numeric = numeric or set()
    head = "".join(f'<th class="n">{esc(h)}</th>' if i in numeric else f"<th>{esc(h)}</th>"
                   for i, h in enumerate(headers))
    body = []
    for row in rows:
        cells = []
        for i, c in enumerate(row):
            text = c.html if isinstance(c, Raw) else esc(fnum(c) if _is_num(c) or c is None else c)
            cells.append(f'<td class="n">{text}</td>' if i in numeric else f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="{esc(cls)}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


@dataclass
class Raw:
    """Already-escaped HTML for a table cell."""

    html: str


def link(url: Any, max_chars: int = 160) -> str:
    """A URL shown as text; a link only for http(s) URLs."""
    u = "" if url is None else str(url)
    text = esc(short(u, max_chars))
    if re.match(r"^https?://", u, re.I):
        return f'<a class="url" href="{esc(u)}" rel="noreferrer nofollow noopener">{text}</a>'
    return f'<span class="url">{text}</span>'


# ----------------------------------------------------------------------------- SVG charts
def svg_hbars(rows: list[tuple[str, float, str]], *, colors: list[str] | str = PALETTE[0], width: int = 880,
              label_w: int = 230, title: str = "", css_class: str = "chart") -> str:
    """Horizontal bars: one (label, value, annotation) per row."""
    if not rows:
        return ""
    row_h, top = 20, 22 if title else 6
    height = top + row_h * len(rows) + 8
    bar_x, bar_w = label_w + 8, width - label_w - 8 - 230
    vmax = max((v for _, v, _ in rows if _is_num(v)), default=0) or 1
    parts = [f'<svg class="{esc(css_class)}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img">']
    if title:
        parts.append(f'<text x="0" y="14" class="t">{esc(title)}</text>')
    for i, (label, value, note) in enumerate(rows):
        y = top + i * row_h
        color = colors[i % len(colors)] if isinstance(colors, list) else colors
        w = max(bar_w * (value / vmax), 1 if value else 0) if _is_num(value) else 0
        parts.append(
            f'<g><title>{esc(label)}: {esc(note)}</title>'
            f'<text x="{label_w}" y="{y + 14}" text-anchor="end" class="l">{esc(short(label, label_w // 6))}</text>'
            f'<rect x="{bar_x}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" fill="{esc(color)}"/>'
            f'<text x="{bar_x + w + 5:.1f}" y="{y + 14}" class="v">{esc(note)}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def svg_grouped(labels: list[str], series: list[tuple[str, list[float]]], *, width: int = 820,
                label_w: int = 230, fmt=fnum) -> str:
    """Horizontal grouped bars (e.g. requested vs achieved weight per component), with a legend."""
    if not labels or not series:
        return ""
    sub_h, gap, top = 13, 8, 24
    group_h = sub_h * len(series) + gap
    height = top + group_h * len(labels) + 4
    bar_x, bar_w = label_w + 8, width - label_w - 8 - 110
    vmax = max((v for _, vals in series for v in vals if _is_num(v)), default=0) or 1
    parts = [f'<svg class="chart grouped" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img">']
    x = bar_x
    for j, (name, _) in enumerate(series):
        parts.append(f'<rect x="{x}" y="4" width="10" height="10" fill="{PALETTE[j % len(PALETTE)]}"/>'
                     f'<text x="{x + 14}" y="13" class="l">{esc(short(name, 40))}</text>')
        x += 30 + 7 * min(len(name), 40)
    for i, label in enumerate(labels):
        y0 = top + i * group_h
        parts.append(f'<text x="{label_w}" y="{y0 + group_h / 2 + 1:.1f}" text-anchor="end" class="l">'
                     f'{esc(short(label, label_w // 6))}</text>')
        for j, (name, vals) in enumerate(series):
            v = vals[i] if i < len(vals) else None
            w = bar_w * v / vmax if _is_num(v) and v > 0 else 0
            y = y0 + j * sub_h
            parts.append(f'<g><title>{esc(label)} {esc(name)}: {esc(fmt(v))}</title>'
                         f'<rect x="{bar_x}" y="{y}" width="{w:.1f}" height="{sub_h - 2}" '
                         f'fill="{PALETTE[j % len(PALETTE)]}"/>'
                         f'<text x="{bar_x + w + 4:.1f}" y="{y + sub_h - 3}" class="v">{esc(fmt(v))}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


@dataclass
class Threshold:
    param: str
    value: float
    side: str | None  # "min": documents below are dropped; "max": above; None: unknown
    per_language: dict[str, float] = field(default_factory=dict)


def svg_histogram(h: dict[str, Any], thresholds: list[Threshold] = (), width: int = 380, height: int = 190) -> str:
    """A stats histogram ({lo, hi, bins}) as bars, with thresholds as dashed lines and the dropped side shaded."""
    bins = [b if _is_num(b) else 0 for b in h.get("bins") or []]
    lo, hi = h.get("lo", 0), h.get("hi", 1)
    if not bins or not _is_num(lo) or not _is_num(hi) or hi <= lo:
        return ""
    shown = [t for t in thresholds if lo <= t.value <= hi]
    ml, mr, mt, mb = 46, 10, 8 + 12 * max(len(shown), 1), 30
    pw, ph = width - ml - mr, height - mt - mb
    cmax = max(bins) or 1
    bw = pw / len(bins)
    nz = sorted(b for b in bins if b > 0)
    # A skewed histogram (one bin >= 10x the median non-empty bin) gets a log scale, so its tail stays visible.
    log_scale = len(nz) >= 2 and nz[-1] >= 10 * nz[len(nz) // 2]

    def bar_h(c: float) -> float:
        if log_scale:
            return ph * math.log1p(c) / math.log1p(cmax)
        return ph * c / cmax

    def xpos(v: float) -> float:
        return ml + pw * (v - lo) / (hi - lo)

    parts = [f'<svg class="chart hist{" log" if log_scale else ""}" xmlns="http://www.w3.org/2000/svg" '
             f'viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img">']
    for t in thresholds:
        if lo <= t.value <= hi and t.side in ("min", "max"):
            x0, x1 = (ml, xpos(t.value)) if t.side == "min" else (xpos(t.value), ml + pw)
            parts.append(f'<rect class="dropped" x="{x0:.1f}" y="{mt}" width="{max(x1 - x0, 0):.1f}" height="{ph}" '
                         f'fill="#e15759" fill-opacity="0.10"/>')
    for i, c in enumerate(bins):
        bh = bar_h(c)
        a, b = lo + i * (hi - lo) / len(bins), lo + (i + 1) * (hi - lo) / len(bins)
        parts.append(f'<rect x="{ml + i * bw + 0.5:.1f}" y="{mt + ph - bh:.1f}" width="{max(bw - 1, 0.5):.1f}" '
                     f'height="{bh:.1f}" fill="{PALETTE[0]}"><title>[{esc(fnum(a))}, {esc(fnum(b))}): '
                     f'{esc(fnum(c))}</title></rect>')
    parts.append(f'<line x1="{ml}" y1="{mt + ph}" x2="{ml + pw}" y2="{mt + ph}" stroke="#57606a"/>'
                 f'<line x1="{ml}" y1="{mt}" x2="{ml}" y2="{mt + ph}" stroke="#57606a"/>'
                 f'<text x="{ml - 4}" y="{mt + 8}" text-anchor="end" class="v">{esc(fnum(cmax))}</text>'
                 f'<text x="{ml - 4}" y="{mt + ph}" text-anchor="end" class="v">0</text>')
    if log_scale:
        parts.append(f'<text x="{ml - 4}" y="{mt + ph / 2 + 4:.1f}" text-anchor="end" class="v">log</text>')
    for v, anchor in ((lo, "start"), ((lo + hi) / 2, "middle"), (hi, "end")):
        parts.append(f'<text x="{xpos(v):.1f}" y="{mt + ph + 14}" text-anchor="{anchor}" class="v">'
                     f'{esc(fnum(v))}</text>')
    for t in thresholds:
        for lang, v in list(t.per_language.items())[:8]:
            if lo <= v <= hi:
                x = xpos(v)
                parts.append(f'<line x1="{x:.1f}" y1="{mt}" x2="{x:.1f}" y2="{mt + ph}" stroke="#6e7781" '
                             f'stroke-dasharray="1 3"><title>{esc(lang)}: {esc(t.param)} = {esc(fnum(v))}</title>'
                             f'</line>')
    for k, t in enumerate(shown):
        x = xpos(t.value)
        anchor = "end" if x > ml + pw * 0.6 else "start"
        dx = -3 if anchor == "end" else 3
        parts.append(f'<line class="threshold" x1="{x:.1f}" y1="{12 + 12 * k}" x2="{x:.1f}" y2="{mt + ph}" '
                     f'stroke="#cf222e" stroke-width="1.5" stroke-dasharray="4 3"/>'
                     f'<text x="{x + dx:.1f}" y="{16 + 12 * k}" text-anchor="{anchor}" class="th">'
                     f'{esc(t.param)} = {esc(fnum(t.value))}</text>')
    parts.append("</svg>")
    return "".join(parts)


# ----------------------------------------------------------------------------- thresholds
def _convention(stage_name: str, column: str, params: dict[str, Any]) -> list[tuple[str, str | None]]:
    prefix = stage_name.split("_")[0] + "_"
    c = column[len(prefix):] if column.startswith(prefix) and len(column) > len(prefix) else column
    c_base = re.sub(r"_(ratio|frac|fraction|score)$", "", c)
    out = []
    for p, v in params.items():
        if not _is_num(v):
            continue
        side = "min" if p.startswith("min_") else "max" if p.startswith("max_") else None
        x = re.sub(r"_(thr|threshold)$", "", re.sub(r"^(min|max)_", "", p))
        if x in (c, c_base) or (side and column.endswith("_" + x)):
            out.append((p, side))
    return out


def _explicit(stage_cls: type) -> dict[str, list[tuple[str, str | None]]] | None:
    declared = getattr(stage_cls, "thresholds", None)
    if isinstance(declared, dict):
        out = {}
        for col, spec in declared.items():
            specs = [spec] if isinstance(spec, (str, tuple)) else list(spec or [])
            out[col] = [(s, "min" if s.startswith("min_") else "max" if s.startswith("max_") else None)
                        if isinstance(s, str) else (s[0], s[1]) for s in specs]
        return out
    return KNOWN_THRESHOLDS.get(getattr(stage_cls, "name", ""))


def stage_thresholds(stage_cls: type, params: dict[str, Any] | None = None) -> dict[str, list[Threshold]]:
    """Thresholds per score column of a stage class configured with ``params`` (see the module doc)."""
    params = dict(params or {})
    per_lang: dict[str, dict[str, Any]] = {}
    try:
        inst = stage_cls(**params)
        eff = dict(inst.params)
        per_lang = dict(getattr(inst, "per_language", {}) or {})
    except Exception:  # a stage that cannot be built here still gets its configured values
        eff = {**getattr(stage_cls, "defaults", {}), **params}
        per_lang = {lang: {**eff, **over} for lang, over in (params.get("per_language") or {}).items()
                    if isinstance(over, dict)}
    explicit = _explicit(stage_cls) or {}
    name = getattr(stage_cls, "name", "")
    try:
        columns = list(stage_cls.score_columns())
    except Exception:
        columns = []
    out: dict[str, list[Threshold]] = {}
    for col in columns:
        pairs = explicit[col] if col in explicit else _convention(name, col, eff)
        if col not in explicit:
            pairs = [(p, side or DEFAULT_SIDE.get(name)) for p, side in pairs]
        ths = []
        for p, side in pairs:
            v = eff.get(p)
            if not _is_num(v):
                continue
            langs = {lang: lp[p] for lang, lp in per_lang.items() if _is_num(lp.get(p)) and lp.get(p) != v}
            extra = eff.get(f"{p}_per_language")
            if isinstance(extra, dict):
                langs.update({str(k): x for k, x in extra.items() if _is_num(x) and x != v})
            ths.append(Threshold(p, v, side, dict(sorted(langs.items()))))
        if ths:
            out[col] = ths
    return out


def config_thresholds(config: dict[str, Any] | None) -> dict[str, dict[str, list[Threshold]]]:
    """Thresholds per stage name, from a run config (``run.json["config"]``)."""
    if not config:
        return {}
    try:
        from pipeline.stage import registry

        known = registry()
    except Exception as e:  # the report must render even if a stage module fails to import
        log.warning("stage registry unavailable (%s); no thresholds on the histograms", e)
        return {}
    out = {}
    for entry in config.get("stages") or []:
        if isinstance(entry, str):
            entry = {entry: {}}
        if not isinstance(entry, dict):
            continue
        for name, params in entry.items():
            if name in known:
                try:
                    out[name] = stage_thresholds(known[name], params or {})
                except Exception as e:
                    log.warning("thresholds of stage %s: %s", name, e)
    return out


# ----------------------------------------------------------------------------- reading the run
def _read_json(path: Path) -> Any:
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            return None
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@dataclass
class RunFiles:
    out: Path
    file_stats: list[dict[str, Any]]
    bad_stats: list[str]
    shards: list[str]  # shard names with a stats file: these are done
    in_progress: int  # temporary shards of files being written
    run: dict[str, Any] | None
    last_summary: dict[str, Any] | None


def scan(out: Path) -> RunFiles:
    stats_dir = out / "stats" / "files"
    file_stats, bad, shards = [], [], []
    for p in sorted(stats_dir.glob("*.json")) if stats_dir.is_dir() else []:
        d = _read_json(p)
        if isinstance(d, dict) and isinstance(d.get("stages"), list) and all(
                isinstance(st, dict) and STAGE_KEYS <= st.keys() for st in d["stages"]):
            file_stats.append(d)
            shards.append(p.stem)
        else:
            bad.append(p.name)
    in_progress = len(list((out / "docs").glob("*.tmp-*"))) if (out / "docs").is_dir() else 0
    run = _read_json(out / "stats" / "run.json")
    summary = _read_json(out / "stats" / "summary.json")
    return RunFiles(out, file_stats, bad, shards, in_progress, run if isinstance(run, dict) else None,
                    summary if isinstance(summary, dict) else None)


def _done_paths(out: Path, kind: str, shards: list[str]) -> list[Path]:
    return [p for s in shards if (p := out / kind / f"{s}.parquet").is_file()]


def category_distributions(paths: list[Path], batch_rows: int = 65_536) -> dict[str, dict[str, Any]]:
    """Counts (and text characters, if ``text_chars`` exists) per value of every categorical docs column.

    Streams: only the needed columns, one record batch at a time. A string column with more than
    ``MAX_CATEGORIES`` distinct values is dropped (it is not a category)."""
    dists: dict[str, dict[str, Any]] = {}
    dropped: set[str] = set()
    for path in paths:
        try:
            pf = pq.ParquetFile(path)
        except Exception as e:
            log.warning("cannot read %s: %s", path, e)
            continue
        schema = pf.schema_arrow
        cats = [f.name for f in schema
                if f.name not in NOT_CATEGORICAL and f.name not in dropped
                and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
                     or (pa.types.is_dictionary(f.type) and pa.types.is_string(f.type.value_type)))]
        if not cats:
            continue
        chars = "text_chars" if "text_chars" in schema.names and pa.types.is_integer(
            schema.field("text_chars").type) else None
        cols = cats + ([chars] if chars else [])
        for batch in pf.iter_batches(batch_size=batch_rows, columns=cols):
            t = pa.Table.from_batches([batch])
            for col in cats:
                if col in dropped:
                    continue
                aggs = [([], "count_all")] + ([(chars, "sum")] if chars else [])
                g = t.group_by(col).aggregate(aggs).to_pydict()
                d = dists.setdefault(col, {"docs": Counter(), "chars": Counter(), "has_chars": bool(chars)})
                for i, v in enumerate(g[col]):
                    key = "(none)" if v is None else str(v)
                    d["docs"][key] += g["count_all"][i]
                    if chars:
                        d["chars"][key] += g[f"{chars}_sum"][i] or 0
                if len(d["docs"]) > MAX_CATEGORIES:
                    dropped.add(col)
                    dists.pop(col, None)
    return dists


def _read_rows(path: Path, rows: list[int], exclude: set[str]) -> list[dict[str, Any]]:
    """Read single rows of a parquet file, one row group at a time."""
    pf = pq.ParquetFile(path)
    starts, acc = [], 0
    for i in range(pf.metadata.num_row_groups):
        starts.append(acc)
        acc += pf.metadata.row_group(i).num_rows
    cols = [n for n in pf.schema_arrow.names if n not in exclude]
    out, cache = [], {}
    for r in rows:
        rg = bisect_right(starts, r) - 1
        if rg not in cache:
            cache.clear()
            cache[rg] = pf.read_row_group(rg, columns=cols)
        row = cache[rg].slice(r - starts[rg], 1).to_pylist()[0]
        if isinstance(row.get("text"), str):
            row["text_total_chars"] = len(row["text"])
            row["text"] = row["text"][: SNIPPET_CHARS * 2]
        out.append(row)
    return out


def sample_kept(paths: list[Path], k: int = KEPT_SAMPLES) -> list[dict[str, Any]]:
    """A few kept documents: the smallest hashes of their ids, in up to ``SAMPLE_SHARDS`` shards."""
    best: list[tuple[int, int, int]] = []  # (-hash, shard index, row) max-heap of the k smallest
    chosen = sorted(paths, key=lambda p: _hash(p.stem))[:SAMPLE_SHARDS]
    for si, path in enumerate(chosen):
        try:
            ids = pq.read_table(path, columns=["id"]).column("id").to_pylist()
        except Exception as e:
            log.warning("cannot read ids of %s: %s", path, e)
            continue
        for r, doc_id in enumerate(ids):
            item = (-_hash(doc_id), si, r)
            if len(best) < k:
                heapq.heappush(best, item)
            elif item > best[0]:
                heapq.heapreplace(best, item)
    picks = sorted((-h, si, r) for h, si, r in best)
    by_shard: dict[int, list[int]] = defaultdict(list)
    for _, si, r in picks:
        by_shard[si].append(r)
    rows: dict[tuple[int, int], dict] = {}
    for si, rs in by_shard.items():
        try:
            for r, row in zip(sorted(rs), _read_rows(chosen[si], sorted(rs), {"html"})):
                rows[(si, r)] = row
        except Exception as e:
            log.warning("cannot read sample rows of %s: %s", chosen[si], e)
    return [rows[(si, r)] for _, si, r in picks if (si, r) in rows]


def sample_rejects(paths: list[Path], wanted: set[tuple[str, str]], k: int = REJECT_SAMPLES
                   ) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """A few rejects per (stage, reason): smallest id hashes, scanning shards until each has ``k``."""
    heaps: dict[tuple[str, str], list] = defaultdict(list)  # max-heaps of (-hash, seq, row)
    seq = 0
    for path in sorted(paths, key=lambda p: _hash(p.stem))[:REJECT_SHARDS]:
        try:
            pf = pq.ParquetFile(path)
            cols = [c for c in ("id", "url", "stage", "reason", "score", "warc_file", "warc_offset", *REJECT_TEXT)
                    if c in pf.schema_arrow.names]
            table_ = pf.read(columns=cols)
        except Exception as e:
            log.warning("cannot read %s: %s", path, e)
            continue
        for row in table_.to_pylist():
            for c in REJECT_TEXT:
                if isinstance(row.get(c), str):
                    row[c] = row[c][: SNIPPET_CHARS * 2]
            hp = heaps[(str(row.get("stage")), str(row.get("reason")))]
            seq += 1
            item = (-_hash(row.get("id")), seq, row)
            if len(hp) < k:
                heapq.heappush(hp, item)
            elif item[0] > hp[0][0]:
                heapq.heapreplace(hp, item)
        if wanted and all(len(heaps[w]) >= k for w in wanted):
            break
    return {key: [row for _, _, row in sorted(hp, key=lambda x: (-x[0], x[1]))] for key, hp in heaps.items()}


# ----------------------------------------------------------------------------- generic JSON rendering
def _scalar(v: Any) -> bool:
    return v is None or isinstance(v, (str, int, float, bool))


def _cell(v: Any) -> Any:
    return v if _scalar(v) else short(json.dumps(v, ensure_ascii=False, default=str), 200)


def _records(obj: Any) -> tuple[list[dict[str, Any]], str] | None:
    """A list of dicts, or a dict of dicts (its keys become a ``name`` column), as records."""
    if isinstance(obj, list) and obj and all(isinstance(x, dict) for x in obj):
        return obj, ""
    if isinstance(obj, dict) and len(obj) >= 1 and all(isinstance(v, dict) for v in obj.values()) \
            and all(sum(map(_scalar, v.values())) >= max(1, len(v) // 2) for v in obj.values()):
        return [{"name": k, **v} for k, v in obj.items()], "name"
    return None


def _num_dict(v: Any) -> bool:
    return isinstance(v, dict) and len(v) >= 1 and all(_is_num(x) for x in v.values())


# A dict of numbers is drawn as a distribution (bars with shares) when its keys are histogram bins
# ("2", "3-4", "8+") or its own key names a distribution; otherwise (e.g. {"lines": 5, "bytes": 900},
# quantities in different units) it is only a table.
_BIN_KEY = re.compile(r"^\s*\d+(\.\d+)?\s*([-–]\s*\d+(\.\d+)?|\+)?\s*$")
_DIST_NAME = re.compile(r"hist|distrib|removed|dropped|duplicat|count|size|kind|reason|by_|per_|compon|lang|topic"
                        r"|token|weight|share", re.I)


def _is_distribution(key: str, d: dict[str, Any]) -> bool:
    return len(d) >= 2 and (all(_BIN_KEY.match(str(k)) for k in d) or bool(_DIST_NAME.search(key or "")))


def _dist_html(d: dict[str, Any], title: str = "") -> str:
    total = sum(d.values())
    items = list(d.items())
    chart = svg_hbars([(str(k), v, f"{fnum(v)} ({pct(v, total)})") for k, v in items[:60]], title=title)
    return (f"<figure>{chart}</figure>"
            + table(["key", "value", "share"], ([k, v, pct(v, total)] for k, v in items[:200]), {1, 2}))


def _records_html(records: list[dict[str, Any]], label_key: str) -> str:
    cols: list[str] = list(dict.fromkeys(k for r in records[:500] for k in r))
    label_key = label_key or next((c for c in cols if all(isinstance(r.get(c), str) for r in records)), "")
    numeric = {i for i, c in enumerate(cols) if all(_is_num(r.get(c)) or r.get(c) is None for r in records)
               and any(_is_num(r.get(c)) for r in records)}
    parts = [table(cols, ([_cell(r.get(c)) for c in cols] for r in records[:500]), numeric)]
    if len(records) > 500:
        parts.append(f'<p class="muted">{len(records) - 500:,} more rows not shown.</p>')
    labels = [str(r.get(label_key)) if label_key else str(i) for i, r in enumerate(records)]
    charts = []
    if 1 < len(records) <= 60:
        num_cols = [cols[i] for i in sorted(numeric)]
        req = [c for c in num_cols if re.search(r"request|target|desired|wanted", c, re.I)]
        ach = [c for c in num_cols if re.search(r"achiev|actual|realized|observed|got", c, re.I)]
        if req and ach:
            charts.append(svg_grouped(labels, [(c, [r.get(c) for r in records]) for c in (req[0], ach[0])]))
        for c in [c for c in num_cols if c not in req[:1] + ach[:1]][:3]:
            charts.append(svg_hbars([(lab, r.get(c) if _is_num(r.get(c)) else 0, fnum(r.get(c)))
                                     for lab, r in zip(labels, records)], title=c))
    parts.extend(f"<figure>{c}</figure>" for c in charts if c)
    # nested distributions per row, e.g. {"exact": {"groups": 3, "histogram": {"2": 10, "3-4": 2}}}
    for c in cols:
        if all(_num_dict(r.get(c)) or r.get(c) is None for r in records) and any(r.get(c) for r in records):
            for lab, r in list(zip(labels, records))[:12]:
                if r.get(c) and _is_distribution(c, r[c]):
                    parts.append(_dist_html(r[c], title=f"{lab}: {c}"))
    return "".join(parts)


def render_json(obj: Any, depth: int = 0, key: str = "") -> str:
    """Any JSON value as tables and charts, generically (``key``: the name it is stored under):

    - a stats-style histogram ``{lo, hi, bins: [...]}``: a histogram chart;
    - a dict of numbers: a table; also a bar chart with shares when it is a distribution (its keys
      are bins like ``"2"``, ``"3-4"``, ``"8+"``, or its name says so: histogram, removed, counts, ...);
    - a list of dicts, or a dict of dicts: a table (one row per item) plus bar charts of its numeric
      columns; columns named like requested/target and achieved/actual are drawn side by side;
      nested distributions (e.g. a cluster-size histogram per dedup kind) get a chart per row;
    - a list of ``[label, number]`` pairs: a bar chart and a table;
    - other dicts: scalars as a key/value table, each nested value under its key as a heading;
    - anything deeper than 4 levels: escaped JSON text.
    """
    if depth > 4:
        return f"<pre>{esc(short(json.dumps(obj, indent=1, ensure_ascii=False, default=str), 20000))}</pre>"
    if _scalar(obj):
        return f"<p>{esc(fnum(obj) if _is_num(obj) else obj)}</p>"
    if isinstance(obj, dict) and isinstance(obj.get("bins"), list) and all(_is_num(b) for b in obj["bins"]) \
            and _is_num(obj.get("lo")) and _is_num(obj.get("hi")):
        rest = {k: v for k, v in obj.items() if k != "bins" and _scalar(v)}
        return (f"<figure>{svg_histogram(obj)}</figure>"
                + table(["key", "value"], ([k, v] for k, v in rest.items()), {1}))
    if _num_dict(obj) and _is_distribution(key, obj):
        return _dist_html(obj)
    if isinstance(obj, list) and obj and all(isinstance(x, (list, tuple)) and len(x) == 2 and _scalar(x[0])
                                             and _is_num(x[1]) for x in obj):
        return _dist_html({str(a): b for a, b in obj})
    rec = _records(obj)
    if rec:
        return _records_html(*rec)
    if isinstance(obj, list):
        if all(_scalar(x) for x in obj):
            return f"<p>{esc(', '.join(str(x) for x in obj[:500]))}</p>"
        return "".join(f"<h4>[{i}]</h4>{render_json(x, depth + 1, key)}" for i, x in enumerate(obj[:50]))
    scalars = {k: v for k, v in obj.items() if _scalar(v)}
    parts = [table(["key", "value"], ([k, v] for k, v in scalars.items()), {1})] if scalars else []
    for k, v in obj.items():
        if not _scalar(v):
            parts.append(f'<h4>{esc(k)}</h4><div class="nested">{render_json(v, depth + 1, str(k))}</div>')
    return "".join(parts)


def _load_any(path: Path) -> Any:
    if path.stat().st_size > MAX_JSON_BYTES:
        raise ValueError(f"larger than {MAX_JSON_BYTES:,} bytes, not shown")
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    if path.suffix in (".yaml", ".yml"):
        import yaml

        return yaml.safe_load(text)
    return json.loads(text)


# ----------------------------------------------------------------------------- sections
CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;color:#1f2328;
background:#f6f8fa}
main{max-width:1240px;margin:0 auto;padding:12px 24px 48px}
header h1{font-size:22px;margin:12px 0 2px}
nav{position:sticky;top:0;background:#f6f8fa;padding:6px 0;border-bottom:1px solid #d0d7de;z-index:1}
nav a{margin-right:14px;color:#0969da;text-decoration:none;font-size:13px}
section{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:10px 20px 14px;margin:14px 0;
overflow-x:auto}
h2{font-size:18px;margin:6px 0 8px} h3{font-size:15px;margin:14px 0 6px} h4{font-size:13px;margin:10px 0 4px}
table{border-collapse:collapse;margin:6px 0 10px;font-size:13px}
th,td{border-bottom:1px solid #e5e7eb;padding:3px 9px;text-align:left;vertical-align:top}
th{background:#f6f8fa;font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
figure{margin:6px 0} figcaption{font-size:12px;color:#57606a;max-width:380px}
svg text{font-size:11px;fill:#1f2328} svg text.t{font-size:13px;font-weight:600} svg text.v{fill:#57606a}
svg text.th{fill:#cf222e;font-size:10.5px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(350px,1fr));gap:10px 18px}
svg.hist{max-width:100%;height:auto}
details summary{cursor:pointer;color:#57606a;font-size:12px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:8px 0}
.card{border:1px solid #d0d7de;border-radius:6px;padding:6px 12px;min-width:130px}
.card b{display:block;font-size:18px} .card span{font-size:12px;color:#57606a}
.doc{border:1px solid #d0d7de;border-radius:6px;padding:6px 12px;margin:8px 0}
.doc pre{white-space:pre-wrap;word-break:break-word;font:12.5px/1.4 ui-monospace,Menlo,Consolas,monospace;
background:#f6f8fa;padding:8px;margin:6px 0;max-height:18em;overflow:auto}
.url{word-break:break-all} .muted{color:#57606a} .small{font-size:12px}
.warn{background:#fff8c5;border:1px solid #d4a72c;padding:6px 12px;border-radius:6px;margin:8px 0}
.nested{margin-left:12px}
pre.snip{white-space:pre-wrap;word-break:break-word;font:12px/1.35 ui-monospace,Menlo,Consolas,monospace;
margin:0;max-height:10em;overflow:auto;max-width:520px}
pre.config{font:12px/1.4 ui-monospace,Menlo,Consolas,monospace;background:#f6f8fa;padding:8px;overflow:auto}
"""


def _section(sid: str, title: str, body: str) -> str:
    return f'<section id="{esc(sid)}"><h2>{esc(title)}</h2>{body}</section>'


def _overview(rf: RunFiles, summary: dict[str, Any]) -> str:
    stages = summary["stages"]
    first = stages[0]["docs_in"] if stages else 0
    last = stages[-1]["docs_out"] if stages else 0
    b_in = stages[0]["bytes_in"] if stages else 0
    b_out = stages[-1]["bytes_out"] if stages else 0
    last_sum = rf.last_summary or {}
    inputs = last_sum.get("inputs")
    done = summary["files"]
    cards = [("files done", f"{done:,}" + (f" of {inputs:,}" if _is_num(inputs) and inputs >= done else "")),
             ("HTTP responses", f"{first:,}"), ("documents kept", f"{last:,}"), ("kept", pct(last, first)),
             ("bytes in", human_bytes(b_in)), ("text kept", human_bytes(b_out)),
             ("non-response records", f"{summary['records_other']:,}"),
             ("CPU-s per-file work", fnum(summary["cpu_s"])),
             ("responses/s per core", fnum(first / summary["cpu_s"]) if summary["cpu_s"] else "–")]
    html_ = '<div class="cards">' + "".join(
        f'<div class="card"><b>{esc(v)}</b><span>{esc(k)}</span></div>' for k, v in cards) + "</div>"
    notes = []
    if _is_num(inputs) and inputs > done:
        notes.append(f"Partial run: {done:,} of {inputs:,} input files are done; this report shows those.")
    if rf.in_progress:
        notes.append(f"{rf.in_progress:,} file(s) are being written right now (not counted).")
    if rf.bad_stats:
        notes.append(f"Unreadable stats files skipped: {', '.join(rf.bad_stats[:10])}.")
    hashes = {fs.get("config_hash") for fs in rf.file_stats if fs.get("config_hash")}
    if len(hashes) > 1:
        notes.append(f"The finished files come from {len(hashes)} different configurations.")
    failed = last_sum.get("failed") or {}
    if failed and isinstance(failed, dict):
        notes.append(f"{len(failed):,} file(s) failed in the last run (rerun to retry them):")
    for n in notes:
        html_ += f'<p class="warn">{esc(n)}</p>'
    if failed and isinstance(failed, dict):
        html_ += table(["file", "error"], ([f, short((str(e).strip().splitlines() or [""])[-1], 300)]
                                           for f, e in list(failed.items())[:50]))
    return html_


def _funnel(summary: dict[str, Any], inputs: tuple[str, str] = ("HTTP responses", "HTTP payloads")) -> str:
    stages = summary["stages"]
    first = stages[0]["docs_in"] if stages else 0
    b_first = stages[0]["bytes_in"] if stages else 0
    docs_rows = [(f"input ({inputs[0]})", first, f"{first:,}")]
    docs_rows += [(s["name"], s["docs_out"], f"{s['docs_out']:,} ({pct(s['docs_out'], first)})") for s in stages]
    bytes_rows = [(f"input ({inputs[1]})", b_first, human_bytes(b_first))]
    bytes_rows += [(s["name"], s["bytes_out"], f"{human_bytes(s['bytes_out'])} ({pct(s['bytes_out'], s['bytes_in'])} "
                    "of stage input)") for s in stages]
    rows = []
    for s in stages:
        reasons = ", ".join(f"{r} {n:,}" for r, n in list(s["drops"].items())[:4])
        if len(s["drops"]) > 4:
            reasons += f", +{len(s['drops']) - 4} more"
        rows.append([s["name"], s["docs_in"], s["docs_out"], pct(s["docs_out"], s["docs_in"]),
                     pct(s["docs_out"], first), human_bytes(s["bytes_in"]), human_bytes(s["bytes_out"]), reasons])
    docs_chart = svg_hbars(docs_rows, title="Documents after each stage", css_class="chart funnel")
    bytes_chart = svg_hbars(bytes_rows, colors=PALETTE[2],
                            title="Bytes after each stage (HTML before extract, text after)")
    return (f'<figure id="funnel-docs">{docs_chart}</figure><figure id="funnel-bytes">{bytes_chart}</figure>'
            + table(["stage", "docs in", "docs out", "kept", "of input", "bytes in", "bytes out", "top drop reasons"],
                    rows, {1, 2, 3, 4, 5, 6}, cls="funnel"))


def _drops(summary: dict[str, Any]) -> str:
    stages = summary["stages"]
    first = stages[0]["docs_in"] if stages else 0
    rows, bars, colors = [], [], []
    for i, s in enumerate(stages):
        for r, n in s["drops"].items():
            rows.append([s["name"], r, n, pct(n, s["docs_in"]), pct(n, first)])
            bars.append((f"{s['name']}: {r}", n, f"{n:,} ({pct(n, s['docs_in'])} of stage input)"))
            colors.append(PALETTE[i % len(PALETTE)])
    if not rows:
        return '<p class="muted">No documents were dropped.</p>'
    order = sorted(range(len(bars)), key=lambda i: -bars[i][1])[:50]
    chart = svg_hbars([bars[i] for i in order], colors=[colors[i] for i in order], label_w=300,
                      css_class="chart drops")
    return (f"<figure>{chart}</figure>"
            + table(["stage", "reason", "dropped", "of stage input", "of all input"], rows, {2, 3, 4}, cls="drops"))


def _timing(summary: dict[str, Any]) -> str:
    stages = summary["stages"]
    total = sum(s["time_s"] for s in stages) or 0
    bars = [(s["name"], s["time_s"], f"{s['time_s']:,.1f} s ({pct(s['time_s'], total)})") for s in stages]
    rows = [[s["name"], f"{s['time_s']:,.1f}", pct(s["time_s"], total), s["docs_in"],
             f"{s['docs_in'] / s['time_s']:,.1f}" if s["time_s"] else "–",
             human_bytes(s["bytes_in"] / s["time_s"]) + "/s" if s["time_s"] else "–"] for s in stages]
    return (f'<figure>{svg_hbars(bars, colors=PALETTE[1], title="CPU seconds per stage (summed over files)")}'
            "</figure>" + table(["stage", "time s", "share", "docs in", "docs/s per core", "input bytes/s"], rows,
                                {1, 2, 3, 4, 5}, cls="timing")
            + f'<p class="muted small">Total per-file CPU time {fnum(summary["cpu_s"])} s (including writing).'
              "</p>")


def _scores(summary: dict[str, Any], thresholds: dict[str, dict[str, list[Threshold]]]) -> str:
    parts = []
    for s in summary["stages"]:
        if not s.get("scores"):
            continue
        figs = []
        for col, h in s["scores"].items():
            ths = thresholds.get(s["name"], {}).get(col, [])
            n = h.get("n") or 0
            mean = h["sum"] / n if n and _is_num(h.get("sum")) else None
            cap = [f"n = {n:,}", f"mean {fnum(mean)}", f"min {fnum(h.get('min'))}", f"max {fnum(h.get('max'))}"]
            for t in ths:
                side = {"min": "drops below", "max": "drops above"}.get(t.side, "threshold")
                where = "" if h.get("lo", 0) <= t.value <= h.get("hi", 1) else ", outside the plotted range"
                cap.append(f"{t.param} = {fnum(t.value)} ({side}{where})")
                if t.per_language:
                    cap.append("per language: " + ", ".join(f"{k} {fnum(v)}" for k, v in t.per_language.items()))
            figs.append(f'<figure class="score" id="score-{esc(_anchor(col))}"><h4>{esc(col)}</h4>'
                        f"{svg_histogram(h, ths)}<figcaption>{esc('; '.join(cap))}</figcaption></figure>")
        parts.append(f'<h3>{esc(s["name"])} <span class="muted small">(over the {s["docs_in"]:,} documents '
                     f'entering the stage)</span></h3><div class="grid">{"".join(figs)}</div>')
    if not parts:
        return '<p class="muted">No score columns in the stats.</p>'
    return ('<p class="muted small">Values outside the plotted range are counted in the first or last bin. '
            "Dashed red line: configured threshold (shaded: the dropped side); dotted: per-language values.</p>"
            + "".join(parts))


def _distribution(col: str, d: dict[str, Any]) -> str:
    docs: Counter = d["docs"]
    total = sum(docs.values())
    top = docs.most_common(TOP_CATEGORIES)
    rest = total - sum(n for _, n in top)
    bars = [(k, n, f"{n:,} ({pct(n, total)})") for k, n in top]
    if rest:
        bars.append((f"other ({len(docs) - len(top)} values)", rest, f"{rest:,} ({pct(rest, total)})"))
    headers = ["value", "documents", "share"] + (["text chars", "chars share"] if d["has_chars"] else [])
    ctot = sum(d["chars"].values())
    rows = [[k, n, pct(n, total)] + ([d["chars"][k], pct(d["chars"][k], ctot)] if d["has_chars"] else [])
            for k, n in docs.most_common(200)]
    more = f'<p class="muted small">{len(docs) - 200:,} more values not listed.</p>' if len(docs) > 200 else ""
    return (f'<p class="muted small">{len(docs):,} distinct values over {total:,} kept documents.</p>'
            f'<figure>{svg_hbars(bars, colors=PALETTE[4], css_class="chart dist")}</figure>'
            + table(headers, rows, {1, 2, 3, 4}, cls="dist") + more)


def _score_cols(row: dict[str, Any]) -> list[tuple[str, Any]]:
    skip = set(LINEAGE) | {"id", "url", "text", "text_total_chars", "html", "charset"}
    return [(k, v) for k, v in row.items() if k not in skip and (_is_num(v) or isinstance(v, str))]


def _kept_samples(samples: list[dict[str, Any]]) -> str:
    if not samples:
        return '<p class="muted">No kept documents.</p>'
    parts = []
    for row in samples:
        text = row.get("text") or ""
        total = row.get("text_total_chars", len(text))
        snippet = short(text, SNIPPET_CHARS)
        lineage = " · ".join(f"{k} {row[k]}" for k in LINEAGE if row.get(k) is not None)
        cols = _score_cols(row)
        head = ", ".join(f"{k} {fnum(v) if _is_num(v) else short(v, 40)}" for k, v in cols
                         if k in ("lang", "lang_score", "text_chars"))
        details = (f'<details><summary>all {len(cols)} columns</summary>'
                   + table(["column", "value"], ([k, v if _is_num(v) else short(v, 200)] for k, v in cols), {1},
                           cls="cols") + "</details>") if cols else ""
        parts.append(f'<div class="doc kept"><div>{link(row.get("url"))}</div>'
                     f'<div class="muted small">id {esc(row.get("id"))} · {esc(lineage)}</div>'
                     f'<div class="small">{esc(head)}</div>{details}'
                     f'<pre>{esc(snippet)}</pre><div class="muted small">{total:,} characters'
                     f'{", first " + str(SNIPPET_CHARS) + " shown" if total > SNIPPET_CHARS else ""}</div></div>')
    return "".join(parts)


def _reject_samples(summary: dict[str, Any], samples: dict[tuple[str, str], list[dict[str, Any]]]) -> str:
    parts, has_text = [], False
    for s in summary["stages"]:
        for reason, n in s["drops"].items():
            rows = samples.get((s["name"], reason), [])
            parts.append(f'<h4>{esc(s["name"])}: {esc(reason)} <span class="muted">({n:,} dropped)</span></h4>')
            if not rows:
                parts.append('<p class="muted small">No sample in the scanned rejects shards.</p>')
                continue
            text_col = next((c for c in REJECT_TEXT if any(r.get(c) for r in rows)), None)
            has_text = has_text or bool(text_col)
            headers = ["url", "score", "warc_file", "warc_offset", "id"] + (["text"] if text_col else [])
            cells = [[Raw(link(r.get("url"))), r.get("score"), r.get("warc_file"), r.get("warc_offset"), r.get("id")]
                     + ([Raw(f'<pre class="snip">{esc(short(r.get(text_col), SNIPPET_CHARS))}</pre>')]
                        if text_col else []) for r in rows]
            parts.append(table(headers, cells, {1, 3}, cls="rejects"))
    if not has_text:
        parts.insert(0, '<p class="muted small">The rejects shards do not store text: read a dropped page by its '
                        "URL, or from its WARC file at the given offset.</p>")
    return "".join(parts)


def _clean(clean: dict[str, Any], config: dict[str, Any] | None) -> str:
    """The clean phase: its funnel and drops, PII matches per type, domains blocked, score histograms."""
    pii = [list(row) for row in pii_totals(clean)]
    body = _funnel(clean, ("deduplicated documents", "text")) + _drops(clean)
    if pii:
        body += "<h3>PII replaced by placeholders</h3>" + table(["type", "matches", "documents with any"], pii,
                                                                 {1, 2}, cls="pii")
    for name, fit in clean.get("corpus_fits", {}).items():
        body += (f"<h3>{esc(name)}: {fit.get('blocked', 0):,} of {fit.get('judged', 0):,} judged domains blocked "
                 f"({fit.get('domains', 0):,} domains)</h3>"
                 + table(["domain", "reason", "documents", "score"],
                         [[b["domain"], b["reason"], b["docs"], b["score"]] for b in fit.get("largest_blocked", [])],
                         {2, 3}, cls="blocked"))
    thresholds = config_thresholds({"stages": config["clean"]["stages"]}) if config and config.get("clean") else {}
    return body + _scores(clean, thresholds)


def _extra_files(out: Path) -> tuple[str, str]:
    """(dedup section body, mix section body); empty strings when the files do not exist."""
    dedup = ""
    p = out / "stats" / "dedup.json"
    if p.is_file():
        try:
            dedup = render_json(_load_any(p))
        except Exception as e:
            dedup = f'<p class="warn">{esc(p.name)}: {esc(e)}</p>'
    mix = ""
    mdir = out / "mix"
    if mdir.is_dir():
        files = sorted(f for f in mdir.rglob("*") if f.is_file() and f.suffix in (".json", ".jsonl", ".yaml", ".yml"))
        for f in files[:50]:
            try:
                body = render_json(_load_any(f))
            except Exception as e:
                body = f'<p class="warn">{esc(e)}</p>'
            mix += f"<h3>{esc(f.relative_to(mdir))}</h3>{body}"
        if not files:
            mix = '<p class="muted">No manifests (json, jsonl, yaml) in mix/ yet.</p>'
    return dedup, mix


def render_html(out: Path) -> str:
    """The report of the run in ``out`` as one self-contained HTML string."""
    from pipeline.stats import merge

    out = Path(out)
    rf = scan(out)
    summary = merge(rf.file_stats)
    config = (rf.run or {}).get("config")
    sections: list[tuple[str, str, str]] = []
    if not summary["files"]:
        body = f'<p class="warn">No finished files in {esc(out)} yet; rerun the report when some are done.</p>'
        if rf.in_progress:
            body += f'<p class="muted">{rf.in_progress:,} file(s) are being written.</p>'
        sections.append(("overview", "Overview", body))
    else:
        sections.append(("overview", "Overview", _overview(rf, summary)))
        sections.append(("funnel", "Funnel", _funnel(summary)))
        sections.append(("drops", "Drops per reason", _drops(summary)))
        sections.append(("scores", "Score histograms", _scores(summary, config_thresholds(config))))
        docs = _done_paths(out, "docs", rf.shards)
        dists = category_distributions(docs)
        if "lang" in dists:
            sections.append(("languages", "Language distribution (kept documents)",
                             _distribution("lang", dists["lang"])))
        for col, d in dists.items():
            if col != "lang":
                sections.append((f"dist-{_anchor(col)}", f"Distribution of {col} (kept documents)",
                                 _distribution(col, d)))
    dedup, mix = _extra_files(out)
    if dedup:
        sections.append(("dedup", "Deduplication", dedup))
    clean = _read_json(out / "stats" / "clean.json")
    if isinstance(clean, dict) and clean.get("stages"):
        sections.append(("clean", "PII redaction and safety (clean phase)", _clean(clean, config)))
    if mix:
        sections.append(("mix", "Mixture", mix))
    if summary["files"]:
        sections.append(("timing", "Time per stage", _timing(summary)))
        wanted = {(s["name"], r) for s in summary["stages"] for r in s["drops"]}
        # from the curated corpus when the clean phase has run: samples are then PII-redacted
        kept = sample_kept(_done_paths(out, "clean", rf.shards) or _done_paths(out, "docs", rf.shards))
        rejects = sample_rejects(_done_paths(out, "rejects", rf.shards), wanted)
        sections.append(("kept", "Sample kept documents", _kept_samples(kept)))
        sections.append(("dropped", "Sample dropped documents per reason", _reject_samples(summary, rejects)))
    if config:
        sections.append(("config", "Configuration",
                         f'<pre class="config">{esc(json.dumps(config, indent=1, ensure_ascii=False, default=str))}'
                         "</pre>"))
    nav = "".join(f'<a href="#{esc(sid)}">{esc(NAV.get(sid, title.split(" (")[0]))}</a>'
                  for sid, title, _ in sections)
    generated = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{esc(CSP)}">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>curate report: {esc(out.name or out)}</title><style>{CSS}</style></head><body><main>"
        f"<header><h1>Curation report: {esc(out)}</h1>"
        f'<p class="muted small">Generated {esc(generated)} from {summary["files"]:,} finished file(s)'
        f'{", config " + esc((rf.run or {}).get("config_hash", "")) if rf.run else ""}.</p></header>'
        f"<nav>{nav}</nav>"
        + "".join(_section(sid, title, body) for sid, title, body in sections)
        + "</main></body></html>\n"
    )


def write_html_report(out: Path, path: Path | None = None) -> Path:
    """Write the report of the run in ``out`` to ``path`` (default ``OUT/report.html``) atomically."""
    out = Path(out)
    path = Path(path) if path else out / "report.html"
    text = render_html(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp-{uuid.uuid4().hex[:8]}")
    tmp.write_text(text, encoding="utf-8", errors="replace")
    os.replace(tmp, path)
    return path


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="Write OUT/report.html for a curate output folder.")
    ap.add_argument("output", metavar="OUT")
    ap.add_argument("--html", metavar="PATH", help="where to write (default OUT/report.html)")
    args = ap.parse_args(argv)
    print(write_html_report(Path(args.output), Path(args.html) if args.html else None))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
