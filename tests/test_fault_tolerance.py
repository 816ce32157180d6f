"""Fault tolerance and determinism: killed workers, a killed node, a killed driver; output identical every time.

Every disturbed run is compared with an undisturbed one by ``jobs.verify.compare_outputs``: the same
shards, byte-identical Parquet (same rows, same order), the same per-file statistics, no document twice,
no temporary file left behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest
import yaml

from jobs.cluster import LocalCluster, ray_workers
from jobs.verify import compare_outputs
from pipeline.config import load_config
from pipeline.runner import run

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT.parent / "shared" / "crawl" / "sample"
FAST = ROOT / "jobs" / "configs" / "fast.yaml"
FILES, MEMBERS = 6, 120  # about 40 HTML pages per file: a few seconds of work each


def cut_members(src: Path, dest: Path, start: int, count: int) -> Path:
    """Copy gzip members (WARC records) ``start`` to ``start + count`` of a gzip-per-record WARC."""
    data = src.read_bytes()
    pos, i, begin = 0, 0, None
    while pos < len(data) and i < start + count:
        if i == start:
            begin = pos
        d = zlib.decompressobj(31)
        d.decompress(data[pos:])
        pos = len(data) - len(d.unused_data)
        i += 1
    dest.write_bytes(data[begin:pos])
    return dest


@pytest.fixture(scope="module")
def crawl(tmp_path_factory) -> Path:
    """Six WARC files with distinct records from the sample crawl."""
    sources = sorted(SAMPLE.glob("*.warc.gz"))
    if not sources:
        pytest.skip(f"sample crawl not found at {SAMPLE}")
    d = tmp_path_factory.mktemp("ftcrawl")
    for i in range(FILES):
        src = sources[i % len(sources)]
        cut_members(src, d / f"part-{i:02d}.warc.gz", 1 + MEMBERS * (i // len(sources)), MEMBERS)
    return d


@pytest.fixture(scope="module")
def reference(crawl, ray_local, tmp_path_factory) -> Path:
    """An undisturbed run."""
    out = tmp_path_factory.mktemp("ft") / "reference"
    summary = run(load_config(FAST), [str(crawl / "*.warc.gz")], out, progress=False)
    assert summary["failed"] == {} and summary["files"] == FILES
    return out


def done(out: Path) -> list[Path]:
    return sorted((out / "stats" / "done").glob("*.done"))


def wait_for(cond, timeout: float, what: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.time() + timeout
    while not cond():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the run ended (rc {proc.returncode}) before {what}")
        if time.time() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_two_runs_give_byte_identical_parquet(crawl, reference, tmp_path):
    again = tmp_path / "again"
    summary = run(load_config(FAST), [str(crawl / "*.warc.gz")], again, progress=False)
    assert summary["failed"] == {}
    assert compare_outputs(reference, again) == []
    assert len(list((again / "docs").glob("*.parquet"))) == FILES


def test_killed_worker_processes_are_retried(crawl, reference, tmp_path):
    """SIGKILL two worker processes in the middle of their files: Ray retries the tasks."""
    out = tmp_path / "out"
    killed: list[int] = []
    stop = threading.Event()

    def killer() -> None:
        seen_done = 0
        while not stop.is_set() and len(killed) < 2:
            n = len(done(out)) if (out / "stats" / "done").is_dir() else 0
            busy = ray_workers(os.getpid(), "ray::_file_task")  # this session's Ray only
            if n > seen_done and busy:  # after a file has finished, kill one that is mid-file
                os.kill(busy[0], signal.SIGKILL)
                killed.append(busy[0])
                seen_done = n
            time.sleep(0.05)

    t = threading.Thread(target=killer, daemon=True)
    t.start()
    try:
        summary = run(load_config(FAST), [str(crawl / "*.warc.gz")], out, progress=False)
    finally:
        stop.set()
        t.join()
    assert len(killed) >= 1, "no worker was killed mid-run"
    assert summary["failed"] == {} and summary["files"] == FILES
    assert compare_outputs(reference, out) == []


# -- a real cluster: kill the driver, kill a node ----------------------------------------------

@pytest.fixture(scope="module")
def cluster():
    # Declare a silent node dead after ~3 s instead of ~30 s.
    fast_health = {"RAY_health_check_period_ms": "1000", "RAY_health_check_timeout_ms": "1000",
                   "RAY_health_check_failure_threshold": "3"}
    c = LocalCluster(object_store_mb=100, env=fast_health)
    try:
        c.start_head(num_cpus=1, wait=False)  # the second node joins while the dashboard starts
        c.add_node(num_cpus=1)
        yield c
    finally:
        c.stop()


def job_file(tmp_path: Path, crawl: Path, out: Path) -> Path:
    job = tmp_path / "job.yaml"
    job.write_text(yaml.safe_dump({"input": str(crawl / "*.warc.gz"), "output": str(out), "config": str(FAST)}))
    return job


def driver(job: Path, env: dict, summary: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "jobs.run", str(job), "--no-progress", "--summary-json",
                             str(summary)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)


def test_killed_driver_then_rerun_skips_finished_files(cluster, crawl, reference, tmp_path):
    out = tmp_path / "out"
    job = job_file(tmp_path, crawl, out)
    p = driver(job, cluster.client_env(), tmp_path / "s1.json")
    try:
        wait_for(lambda: len(done(out)) >= 1, 300, "the first finished file", p)
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    finished = len(done(out))
    assert finished < FILES, "the run finished before the driver was killed"
    # Ray stops the dead driver's tasks; wait for its workers to go before relaunching.
    wait_for(lambda: not any(ray_workers(n.pid, "ray::_file_task") for n in cluster.nodes), 60,
             "the dead driver's tasks to stop")
    p = driver(job, cluster.client_env(), tmp_path / "s2.json")
    log, _ = p.communicate(timeout=300)
    assert p.returncode == 0, log[-3000:]
    summary = json.loads((tmp_path / "s2.json").read_text())
    assert summary["skipped_done"] >= finished and summary["failed"] == {}
    assert compare_outputs(reference, out) == []


def test_killed_node_mid_run(cluster, crawl, reference, tmp_path):
    """SIGKILL every process of the second node while it runs a file: the run completes on the head."""
    assert cluster.node_count() == 2
    out = tmp_path / "out"
    job = job_file(tmp_path, crawl, out)
    p = driver(job, cluster.client_env(), tmp_path / "s.json")
    try:
        wait_for(lambda: len(done(out)) >= 1 and ray_workers(cluster.nodes[1].pid, "ray::_file_task"), 300,
                 "a file task on the second node", p)
        cluster.kill_node(1)
        assert len(done(out)) < FILES, "the run finished before the node was killed"
        log, _ = p.communicate(timeout=300)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
    assert p.returncode == 0, log[-3000:]
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["failed"] == {} and summary["files"] == FILES
    assert compare_outputs(reference, out) == []
    wait_for(lambda: cluster.node_count() == 1, 60, "the cluster to notice the lost node")
