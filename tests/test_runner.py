"""The Ray runner: outputs per the contract, resumable, identical on rerun, stats right after a relaunch."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline.config import ConfigError, validate
from pipeline.runner import expand_inputs, run
from pipeline.stats import load_file_stats, merge

CFG = validate({"stages": [{"extract": {}}, {"langid": {}}], "batch_size": 8})
CONTRACT = {"id", "url", "text", "lang", "lang_score", "warc_file", "warc_record_id", "warc_offset", "date"}


def _counts(stages: list[dict]) -> list[dict]:
    """Stage stats without timings (which differ run to run)."""
    return [{k: v for k, v in s.items() if k != "time_s"} for s in stages]


def _tables(out: Path, kind: str) -> dict[str, object]:
    return {p.name: pq.read_table(p) for p in sorted((out / kind).glob("*.parquet"))}


@pytest.fixture(scope="module")
def first_run(small_crawl, ray_local, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "run"
    summary = run(CFG, [str(small_crawl / "*.warc.gz")], out, progress=False)
    return out, summary


def test_outputs_follow_the_contract(first_run, small_crawl):
    out, summary = first_run
    assert summary["failed"] == {} and summary["files"] == 3
    docs = _tables(out, "docs")
    assert set(docs) == {p.name.replace(".warc.gz", ".parquet") for p in small_crawl.glob("*.warc.gz")}
    total = 0
    for name, t in docs.items():
        assert CONTRACT <= set(t.column_names), name
        assert "html" not in t.column_names
        rows = t.to_pylist()
        total += len(rows)
        assert all(r["text"] and r["lang"] and 0 < r["lang_score"] <= 1.0001 for r in rows)
        assert all(r["warc_file"] + ".parquet" == name and r["warc_offset"] >= 0 for r in rows)
        assert len({r["id"] for r in rows}) == len(rows)
    assert total == summary["stages"][-1]["docs_out"] > 15
    rejects = pq.read_table(out / "rejects").to_pylist()
    assert {"id", "url", "stage", "reason", "score"} <= set(rejects[0])


def test_stats_are_consistent(first_run):
    out, summary = first_run
    stages = summary["stages"]
    assert [s["name"] for s in stages] == ["read", "extract", "langid"]
    rejects = pq.read_table(out / "rejects").to_pylist()
    for s in stages:
        assert s["docs_in"] == s["docs_out"] + sum(s["drops"].values()), s["name"]
        assert sum(s["drops"].values()) == sum(r["stage"] == s["name"] for r in rejects)
    for a, b in zip(stages, stages[1:]):
        assert a["docs_out"] == b["docs_in"]
    hist = stages[2]["scores"]["lang_score"]
    assert sum(hist["bins"]) == hist["n"] == stages[2]["docs_in"]


def test_rerun_skips_everything_and_changes_nothing(first_run, small_crawl):
    out, summary = first_run
    before = {k: v for k, v in _tables(out, "docs").items()}
    again = run(CFG, [str(small_crawl / "*.warc.gz")], out, progress=False)
    assert again["skipped_done"] == 3
    assert _counts(again["stages"]) == _counts(summary["stages"])
    after = _tables(out, "docs")
    assert all(before[k].equals(after[k]) for k in before)


def test_relaunch_after_crash_redoes_only_the_unfinished_file(first_run, small_crawl, tmp_path):
    out, summary = first_run
    crashed = tmp_path / "crashed"
    shutil.copytree(out, crashed)
    victim = sorted((crashed / "stats" / "done").glob("*.done"))[1]
    name = victim.name.removesuffix(".done")
    # A worker killed mid-file: no marker, a stale temp file, stale stats from an older attempt.
    victim.unlink()
    (crashed / "docs" / f"{name}.parquet").rename(crashed / "docs" / f"{name}.parquet.tmp-dead")
    stale = crashed / "stats" / "files" / f"{name}.json"
    stale.write_text(stale.read_text().replace('"docs_in": ', '"docs_in": 1000'))
    again = run(CFG, [str(small_crawl / "*.warc.gz")], crashed, progress=False)
    assert again["skipped_done"] == 2
    assert _counts(again["stages"]) == _counts(summary["stages"]), "merged stats must equal an undisturbed run"
    assert not list(crashed.glob("**/*.tmp-*"))
    ref = _tables(out, "docs")
    assert all(ref[k].equals(t) for k, t in _tables(crashed, "docs").items())


def test_changed_config_is_refused_unless_overwrite(first_run, small_crawl, tmp_path):
    out, _ = first_run
    other = tmp_path / "o"
    shutil.copytree(out, other)
    cfg = validate({"stages": [{"extract": {}}, {"langid": {"min_score": 0.9}}], "batch_size": 8})
    with pytest.raises(ConfigError, match="different configuration"):
        run(cfg, [str(small_crawl / "*.warc.gz")], other, progress=False)
    s = run(cfg, [str(small_crawl / "*.warc.gz")], other, overwrite=True, progress=False)
    assert s["skipped_done"] == 0 and s["stages"][-1]["drops"]["low_language_score"] >= 1


def test_a_failing_file_does_not_lose_the_others(small_crawl, ray_local, tmp_path):
    crawl = tmp_path / "crawl"
    shutil.copytree(small_crawl, crawl)
    (crawl / "zz-unreadable.warc.gz").symlink_to(tmp_path / "gone.warc.gz")  # vanished after listing
    s = run(CFG, [str(crawl / "*.warc.gz")], tmp_path / "out", progress=False)
    assert list(s["failed"]) == [str(crawl / "zz-unreadable.warc.gz")]
    assert s["files"] == 3


def test_expand_inputs_rejects_clashing_names(tmp_path):
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "x.warc.gz").write_bytes(b"")
    with pytest.raises(ValueError, match="same output shard"):
        expand_inputs([str(tmp_path / "*" / "x.warc.gz")])
    with pytest.raises(FileNotFoundError):
        expand_inputs([str(tmp_path / "nothing*.warc.gz")])


def test_config_errors_name_the_key():
    with pytest.raises(ConfigError, match="unknown stage 'nope'"):
        validate({"stages": [{"nope": {}}]})
    with pytest.raises(ConfigError, match=r"stages\[1\] \(langid\).*min_scor"):
        validate({"stages": [{"extract": {}}, {"langid": {"min_scor": 1}}]})
    with pytest.raises(ConfigError, match="read.max_bytes"):
        validate({"read": {"max_bytes": 1}, "stages": ["extract"]})
    with pytest.raises(ConfigError, match="top-level"):
        validate({"stagez": []})


def test_cli_help_and_report(first_run):
    out, summary = first_run
    help_text = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", "--help"], capture_output=True,
                               text=True, check=True).stdout
    assert "--input" in help_text and "--address" in help_text
    rep = subprocess.run([sys.executable, "-m", "pipeline.cli", "report", str(out)], capture_output=True,
                         text=True, check=True).stdout
    assert "langid" in rep and f"{summary['stages'][-1]['docs_out']:,} documents kept" in rep
    js = subprocess.run([sys.executable, "-m", "pipeline.cli", "report", str(out), "--json"], capture_output=True,
                        text=True, check=True).stdout
    assert json.loads(js)["stages"] == merge(load_file_stats(out))["stages"]
    bad = subprocess.run([sys.executable, "-m", "pipeline.cli", "report", "/nonexistent"], capture_output=True,
                         text=True)
    assert bad.returncode == 2 and "not a curate output folder" in bad.stderr
