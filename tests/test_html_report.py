"""The HTML report: contents, escaping of hostile page text, partial and empty runs, and a real browser check.

The browser test drives headless Chromium over the DevTools protocol on a pipe
(tests/html_report_browser.py), so it needs only the ``chromium`` Debian package;
it is skipped, with the reason, when no Chromium is installed.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import struct
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.config import config_hash, validate
from pipeline.html_report import (
    CSP,
    KNOWN_THRESHOLDS,
    category_distributions,
    config_thresholds,
    esc,
    render_html,
    render_json,
    stage_thresholds,
    write_html_report,
)
from pipeline.stage import DocFilter, Score, registry
from pipeline.stats import load_file_stats, merge
from pipeline.worker import REJECTS_SCHEMA, process_file

PAYLOADS = [
    "<script>window.__pwned=1;document.title='PWNED'</script>",
    '<img src=x onerror="window.__pwned=2;document.body.dataset.pwned=1">',
    '"><svg onload="window.__pwned=3">',
    "'><iframe srcdoc=\"<script>parent.__pwned=4</script>\"></iframe>",
    "</pre></textarea></title></style></svg><script>window.__pwned=5</script>",
    "javascript:window.__pwned=6",
    '<a href="javascript:window.__pwned=7" id="pwnlink">click</a>',
    "]]><script>window.__pwned=8</script><!--",
    '<details open ontoggle="window.__pwned=9">x</details>',
    '<meta http-equiv="refresh" content="0;url=javascript:window.__pwned=10">',
]
ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "main", "header", "h1", "h2", "h3", "h4", "p",
                 "nav", "a", "section", "div", "span", "table", "thead", "tbody", "tr", "th", "td", "figure",
                 "figcaption", "svg", "g", "rect", "line", "text", "pre", "details", "summary", "b"}


def small_hash_ids(n: int, prefix: str = "hostile") -> list[str]:
    """Ids whose hash sorts before (almost) any real id, so the report's deterministic sample shows them."""
    out, i = [], 0
    while len(out) < n:
        cand = f"{prefix}/{i}"
        digest = hashlib.blake2b(cand.encode(), digest_size=8).digest()
        if digest[0] == 0 and digest[1] < 16:  # hash < 2**52: before a real id with probability 1 - 2**-12
            out.append(cand)
        i += 1
    return out


@pytest.fixture(scope="module")
def base_out(small_crawl, tmp_path_factory) -> Path:
    """A real output folder: the 3 small WARC files through extract + langid."""
    out = tmp_path_factory.mktemp("report_base")
    cfg = validate({"stages": [{"extract": {}}, {"langid": {}}], "batch_size": 8})
    for f in sorted(small_crawl.glob("*.warc.gz")):
        process_file(str(f), out, cfg, {})
    (out / "stats" / "run.json").write_text(json.dumps({"config_hash": config_hash(cfg), "config": cfg}))
    return out


@pytest.fixture
def out(base_out, tmp_path) -> Path:
    dest = tmp_path / "out"
    shutil.copytree(base_out, dest)
    return dest


def inject_hostile(out: Path) -> None:
    """An extra finished shard whose page text, URLs, lineage, languages and drop reasons are hostile,
    plus dedup and mixture files with hostile keys."""
    docs_schema = pq.read_schema(next((out / "docs").glob("*.parquet")))
    ids = small_hash_ids(len(PAYLOADS) + 4)
    rows = []
    for i, p in enumerate(PAYLOADS):
        rows.append({
            "id": ids[i], "url": p if i % 2 else f"https://evil.example/{p}", "date": p, "warc_file": p,
            "warc_record_id": p, "warc_offset": i, "text": " ".join(PAYLOADS) + " more page text", "text_chars": 30,
            "lang": p if i == 0 else "en", "lang_score": 0.9,
        })
    docs = pa.Table.from_pylist([{k: r.get(k) for k in docs_schema.names} for r in rows], schema=docs_schema)
    pq.write_table(docs, out / "docs" / "html_report_hostile.parquet")
    rej_schema = REJECTS_SCHEMA.append(pa.field("text", pa.string()))  # a future rejects shard with text
    rej = [{"id": ids[len(PAYLOADS) + j], "url": PAYLOADS[j], "stage": "langid", "reason": PAYLOADS[1],
            "score": 0.1, "warc_file": PAYLOADS[4], "warc_offset": j, "text": PAYLOADS[0]} for j in range(4)]
    pq.write_table(pa.Table.from_pylist(rej, schema=rej_schema), out / "rejects" / "html_report_hostile.parquet")
    hist = {"lo": 0, "hi": 1, "bins": [1] * 20, "n": 20, "sum": 10.0, "min": 0.0, "max": 1.0}
    stats = {"file": "html_report_hostile", "input": PAYLOADS[0], "elapsed_s": 1.0, "records_other": 0,
             "config_hash": "x", "stages": [
                 {"name": "read", "docs_in": 20, "docs_out": 20, "bytes_in": 1000, "bytes_out": 1000, "drops": {},
                  "time_s": 0.1, "scores": {}},
                 {"name": "extract", "docs_in": 20, "docs_out": 20, "bytes_in": 1000, "bytes_out": 500, "drops": {},
                  "time_s": 0.1, "scores": {}},
                 {"name": "langid", "docs_in": 20, "docs_out": 10, "bytes_in": 500, "bytes_out": 300,
                  "drops": {PAYLOADS[1]: 4, PAYLOADS[2]: 6}, "time_s": 0.1, "scores": {PAYLOADS[3]: hist}}]}
    (out / "stats" / "files" / "html_report_hostile.json").write_text(json.dumps(stats))
    (out / "stats" / "dedup.json").write_text(json.dumps({  # the shape dedup/phase.py writes
        "shards": 3, "docs_in": 1000, "docs_out": 900, "bytes_in": 10**6, "bytes_out": 9 * 10**5,
        "removed": {"url": 10, "exact": 60, "near": 30, "line": 0}, "removed_total": 100,
        "lines": {"removed": 5, "bytes_removed": 900},
        "clusters": {"exact": {"groups": 20, "max_size": 9, "histogram": {"2": 15, "3-4": 4, "8-15": 1}},
                     "near": {"groups": 7, "max_size": 3, "histogram": {"2": 6, "3-4": 1}}},
        "steps": [{"name": "exact", "time_s": 1.5, "cpu_s": 3.0, "enabled": True},
                  {"name": "near", "time_s": 4.0, "cpu_s": 9.0, "enabled": True}],
        "note": PAYLOADS[0], "duplicates": {"exact": 60, PAYLOADS[2]: 1},
    }))
    (out / "mix").mkdir()
    (out / "mix" / "manifest.json").write_text(json.dumps({"components": [
        {"name": "web_en", "tokens": 1_200_000, "requested_weight": 0.6, "achieved_weight": 0.58},
        {"name": "web_de", "tokens": 700_000, "requested_weight": 0.3, "achieved_weight": 0.33},
        {"name": PAYLOADS[5], "tokens": 100_000, "requested_weight": 0.1, "achieved_weight": 0.09},
    ]}))


class TagCollector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))


def assert_inert(source: str) -> None:
    """Structural check of the HTML source: only known tags, no event handlers, no script URLs."""
    parser = TagCollector()
    parser.feed(source)
    tags = {t for t, _ in parser.tags}
    assert tags <= ALLOWED_TAGS, f"unexpected tags: {tags - ALLOWED_TAGS}"
    for tag, attrs in parser.tags:
        for name, value in attrs:
            assert not name.lower().startswith("on"), (tag, name, value)
            if name in ("href", "src", "xlink:href", "action"):
                assert re.match(r"^(#|https?://)", value or ""), (tag, name, value)
    lowered = source.lower()
    for bad in ("<script", "<iframe", "<img", "<object", "<embed", "<details open", "<a href=\"javascript"):
        assert bad not in lowered, bad
    assert source.count("<meta http-equiv") == 1 and f'content="{esc(CSP)}"' in source


# ----------------------------------------------------------------------------- content and escaping
def test_report_contents_and_escaping(out):
    inject_hostile(out)
    path = write_html_report(out)
    assert path == out / "report.html"
    source = path.read_text(encoding="utf-8")
    assert_inert(source)
    for p in PAYLOADS:
        assert esc(p) in source, f"payload not shown (escaped): {p}"
    for sid in ("overview", "funnel", "drops", "scores", "languages", "timing", "kept", "dropped", "dedup", "mix",
                "config"):
        assert f'<section id="{sid}">' in source, sid
    summary = merge(load_file_stats(out))
    for st in summary["stages"]:
        assert f">{esc(st['name'])}<" in source
    # the configured threshold of langid is marked on the lang_score histogram
    lang_fig = source.split('id="score-lang_score"')[1].split("</figure>")[0]
    assert 'class="threshold"' in lang_fig and "min_score = 0.65" in lang_fig
    assert 'class="chart grouped"' in source  # requested vs achieved weights
    dedup = source.split('<section id="dedup">')[1].split("</section>")[0]
    assert ">exact: histogram<" in dedup and ">near: histogram<" in dedup  # cluster sizes per kind, charted
    # removed; clusters: groups, max_size, 2 histograms; steps: time_s, cpu_s; duplicates. Not "lines" (mixed units)
    assert dedup.count("<svg") == 1 + 4 + 2 + 1


def test_browser_renders_report_and_runs_no_injected_script(out, tmp_path):
    from html_report_browser import Browser, find_chromium

    if not find_chromium():
        pytest.skip("Chromium is not installed (apt-get install chromium): browser rendering not checked")
    inject_hostile(out)
    report = write_html_report(out)
    no_csp = tmp_path / "report_no_csp.html"  # escaping alone must already be enough
    no_csp.write_text(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "",
                             report.read_text(encoding="utf-8")), encoding="utf-8")
    control = tmp_path / "control.html"  # proves the checks below can see a script that runs
    control.write_text(f"<!DOCTYPE html><html><body>{PAYLOADS[0]}{PAYLOADS[1]}</body></html>")
    probe = ("({pwned: typeof window.__pwned, title: document.title, dataset: document.body.dataset.pwned || null,"
             " active: document.querySelectorAll('script,iframe,img,object,embed,[onerror],[onload]').length})")
    with Browser() as b:
        b.open(control)
        assert b.eval("typeof window.__pwned") == "number" and b.eval("document.title") == "PWNED"

        for page in (no_csp, report):
            b.dialogs.clear()
            b.open(page)
            state = b.eval(probe)
            assert state == {"pwned": "undefined", "title": state["title"], "dataset": None, "active": 0}, page
            assert "PWNED" not in state["title"]
            assert b.dialogs == []
            assert b.eval("document.body.innerText").count(PAYLOADS[0]) >= 1  # shown as text

        counts = b.eval("""({
            funnel_bars: document.querySelectorAll('#funnel svg.funnel rect').length,
            hists: document.querySelectorAll('#scores svg.hist').length,
            thresholds: document.querySelectorAll('#scores line.threshold').length,
            tables: Array.from(document.querySelectorAll('table')).map(t => t.className),
            dist_bars: document.querySelectorAll('#languages svg rect').length,
            dedup_svgs: document.querySelectorAll('#dedup svg').length,
            mix_grouped: document.querySelectorAll('#mix svg.grouped').length,
            kept_docs: document.querySelectorAll('#kept .doc').length,
            width: document.querySelector('#funnel svg').getBoundingClientRect().width,
        })""")
        stages = len(merge(load_file_stats(out))["stages"])
        assert counts["funnel_bars"] == stages + 1
        assert counts["hists"] >= 3 and counts["thresholds"] >= 2
        for cls in ("funnel", "drops", "timing", "dist", "rejects"):
            assert cls in counts["tables"], cls
        assert counts["dist_bars"] >= 2 and counts["dedup_svgs"] >= 2 and counts["mix_grouped"] == 1
        assert counts["kept_docs"] >= 3 and counts["width"] > 300
        shot = b.screenshot(tmp_path / "report.png")
    check_png(shot)


def check_png(path: Path) -> None:
    """The screenshot is a real, non-blank PNG: large, tall, and with many distinct pixel bytes."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 1000 and height >= 2000, (width, height)
    idat, pos = b"", 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(idat)
    assert len(data) > 100_000, f"screenshot only {len(data)} bytes: blank page?"
    assert len(set(raw[: 4 * 1024 * 1024])) > 100, "screenshot has almost no pixel variety"


# ----------------------------------------------------------------------------- partial and empty runs
def test_partial_run_shows_only_finished_files(out):
    done = sorted((out / "stats" / "files").glob("*.json"))
    assert len(done) == 3
    done[0].unlink()  # that file is still "running": its shards exist but are not counted
    (out / "docs" / f"{done[1].stem}.parquet.tmp-1234abcd").write_bytes(b"partial")
    (out / "stats" / "summary.json").write_text(json.dumps(
        {"inputs": 4, "failed": {"bad.warc.gz": "ValueError: " + PAYLOADS[0]}}))
    source = render_html(out)
    assert_inert(source)
    assert "Partial run: 2 of 4 input files are done" in source
    assert "being written right now" in source and esc(PAYLOADS[0]) in source
    summary = merge(load_file_stats(out))
    kept = summary["stages"][-1]["docs_out"]
    langs = category_distributions([out / "docs" / f"{p.stem}.parquet" for p in done[1:]])["lang"]
    assert sum(langs["docs"].values()) == kept
    assert f"over {kept:,} kept documents" in source


@pytest.mark.parametrize("layout", ["empty", "no_files_yet"])
def test_empty_output_folder(tmp_path, layout):
    out = tmp_path / "out"
    out.mkdir()
    if layout == "no_files_yet":
        (out / "stats" / "files").mkdir(parents=True)
        (out / "docs").mkdir()
        (out / "stats" / "run.json").write_text(json.dumps({"config_hash": "h", "config": validate(
            {"stages": [{"extract": {}}]})}))
    path = write_html_report(out)
    source = path.read_text(encoding="utf-8")
    assert_inert(source)
    assert "No finished files" in source


# ----------------------------------------------------------------------------- thresholds
class _Fake(DocFilter):
    columns = {"fake_len_ratio": Score(0, 1), "fake_words": Score(0, 100), "other_score": Score(0, 1),
               "fake_misc": Score(0, 1)}
    defaults = {"max_len_ratio": 0.5, "min_words": 10, "min_score": 0.3, "unrelated": 3, "flag": True}

    def judge(self, doc, p):
        return {}, None


_Fake.name = "fake_quality"  # set after class creation: not registered as a real stage


def test_threshold_convention_and_overrides():
    th = stage_thresholds(_Fake, {"min_words": 20, "per_language": {"de": {"min_words": 5}}})
    assert {c: [(t.param, t.value, t.side) for t in ts] for c, ts in th.items()} == {
        "fake_len_ratio": [("max_len_ratio", 0.5, "max")],
        "fake_words": [("min_words", 20, "min")],
        "other_score": [("min_score", 0.3, "min")],
    }
    assert th["fake_words"][0].per_language == {"de": 5}

    class Declared(_Fake):
        name = ""  # not registered
        thresholds = {"fake_misc": "unrelated", "fake_words": [("min_words", "min")]}

    Declared.name = "fake_quality"
    th = stage_thresholds(Declared, {})
    assert [(t.param, t.value, t.side) for t in th["fake_misc"]] == [("unrelated", 3, None)]
    assert "fake_len_ratio" in th  # columns not declared still use the convention

    lang = config_thresholds({"stages": [{"extract": {}}, {"langid": {"min_score": 0.7,
                                                                       "min_score_per_language": {"de": 0.5}}}]})
    (t,) = lang["langid"]["lang_score"]
    assert (t.param, t.value, t.side, t.per_language) == ("min_score", 0.7, "min", {"de": 0.5})
    assert [x.param for x in lang["extract"]["text_chars"]] == ["min_chars"]
    assert "fake_quality" not in registry()


def test_known_thresholds_match_the_stages():
    """KNOWN_THRESHOLDS must follow renames of stage columns and parameters."""
    known = registry()
    for stage, cols in KNOWN_THRESHOLDS.items():
        if stage not in known:
            continue
        for col, pairs in cols.items():
            assert col in known[stage].score_columns(), (stage, col)
            for param, _ in pairs:
                assert param in known[stage].defaults, (stage, param)


# ----------------------------------------------------------------------------- generic JSON sections
def test_render_json_generic_shapes():
    out = render_json({
        "total": 5, "hist": {"lo": 0, "hi": 1, "bins": [1, 2, 3]},
        "by_kind": {"exact": 3, "fuzzy": 2},
        "components": {"a": {"tokens": 10, "target_weight": 0.5, "actual_weight": 0.4},
                       "b": {"tokens": 20, "target_weight": 0.5, "actual_weight": 0.6}},
        "pairs": [[2, 10], [3, 4]],
        "deep": {"a": {"b": {"c": {"d": {"e": {"f": PAYLOADS[0]}}}}}},
    })
    assert_inert("<html><head>" + f'<meta http-equiv="Content-Security-Policy" content="{esc(CSP)}">' + out)
    assert out.count("<svg") == 5  # histogram, by_kind bars, grouped weights, tokens bars, pairs bars
    assert 'class="chart grouped"' in out and esc(PAYLOADS[0]) in out
