"""Job files, submission, the cluster config, and a real two-node Ray cluster with token auth on this machine."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from jobs.cluster import LocalCluster, http
from jobs.run import JobError, job_inputs, load_job, parse_job, run_job
from jobs.submit import EXCLUDES, submit_command
from jobs.verify import compare_outputs
from pipeline.config import load_config
from pipeline.runner import run

ROOT = Path(__file__).resolve().parents[1]
FAST = ROOT / "jobs" / "configs" / "fast.yaml"


def write_job(path: Path, **job) -> Path:
    path.write_text(yaml.safe_dump(job))
    return path


@pytest.fixture(scope="module")
def local_run(small_crawl, ray_local, tmp_path_factory):
    """The reference: the fast config over the small crawl, run in-process on the local Ray."""
    out = tmp_path_factory.mktemp("jobs") / "local"
    summary = run(load_config(FAST), [str(small_crawl / "*.warc.gz")], out, progress=False)
    assert summary["failed"] == {} and summary["files"] == 3
    return out


# -- job files --------------------------------------------------------------------------------

def test_job_file_errors_name_the_key(tmp_path):
    cases = [
        ({"output": "o"}, "'input'"),
        ({"input": [], "output": "o"}, "'input'"),
        ({"input": "x/*.warc.gz"}, "'output'"),
        ({"input": "x", "output": "s3://bucket/out"}, "not a URL"),
        ({"input": "x", "output": "o", "workers": 0}, "'workers'"),
        ({"input": "x", "output": "o", "object_store_mb": 10}, "'object_store_mb'"),
        ({"input": "x", "output": "o", "paths_base": "commoncrawl"}, "'paths_base'"),
        ({"input": "x", "output": "o", "overwrite": "yes"}, "'overwrite'"),
        ({"input": "x", "output": "o", "inputs": "y"}, r"unknown key\(s\) \['inputs'\]"),
        ({"input": "x", "output": "o", "config": "nope.yaml"}, "config file not found"),
        ({"input": "x", "output": "o", "config": {"stages": [{"nope": {}}]}}, "unknown stage 'nope'"),
    ]
    for raw, msg in cases:
        with pytest.raises(JobError, match=msg):
            parse_job(raw, source="j.yaml", base=tmp_path)
    with pytest.raises(JobError, match="job file not found"):
        load_job(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("input: [unclosed\n")
    with pytest.raises(JobError, match="invalid YAML"):
        load_job(tmp_path / "bad.yaml")


def test_relative_paths_come_from_the_base_dir(tmp_path, monkeypatch):
    job = write_job(tmp_path / "j.yaml", input=["crawl/*.warc.gz", "s3://b/x.warc.gz"], output="out/x",
                    config=str(FAST.relative_to(ROOT)))
    j = load_job(job, base=ROOT)
    assert j.inputs == [str(ROOT / "crawl/*.warc.gz"), "s3://b/x.warc.gz"]
    assert j.output == ROOT / "out/x" and j.cfg == load_config(FAST)
    monkeypatch.setenv("CURATE_BASE_DIR", str(ROOT))  # what jobs.submit sets for the cluster
    assert load_job(job).output == ROOT / "out/x"
    assert load_job(job, output="/elsewhere").output == Path("/elsewhere")  # command-line overrides win


def test_shipped_job_files_are_valid():
    for name in ("sample", "cc-main-2024-22", "cc-main-2024-22-s3"):
        j = load_job(ROOT / "jobs" / f"{name}.yaml", base=ROOT)
        assert j.name == name and j.cfg["stages"]
    s3 = load_job(ROOT / "jobs" / "cc-main-2024-22-s3.yaml", base=ROOT)
    assert s3.inputs[0].startswith("s3://commoncrawl/") and s3.paths_base == "s3://commoncrawl/"


def test_warc_paths_list_job_matches_the_glob_run(small_crawl, local_run, tmp_path):
    """A job over a warc.paths.gz list (relative entries joined to paths_base) gives the same output."""
    names = sorted(p.name for p in small_crawl.glob("*.warc.gz"))
    listing = tmp_path / "warc.paths.gz"
    with gzip.open(listing, "wt") as f:
        f.write("".join(f"crawl/{n}\n" for n in names))
    (tmp_path / "crawl").symlink_to(small_crawl)
    job = load_job(write_job(tmp_path / "j.yaml", input=str(listing), output=str(tmp_path / "out"),
                             config=str(FAST), paths_base=f"file://{tmp_path}/"))
    assert job_inputs(job) == [f"file://{tmp_path}/crawl/{n}" for n in names]
    summary = run_job(job, progress=False)
    assert summary["failed"] == {} and summary["files"] == 3
    assert compare_outputs(local_run, job.output) == []


def test_jobs_run_cli_reports_errors_cleanly(tmp_path):
    job = write_job(tmp_path / "j.yaml", input="x", output="o", workers=-1)
    r = subprocess.run([sys.executable, "-m", "jobs.run", str(job)], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and "error:" in r.stderr and "'workers'" in r.stderr
    r = subprocess.run([sys.executable, "-m", "jobs.run", "jobs/sample.yaml", "--dry-run", "--input",
                        "jobs/*.yaml"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0 and "job sample:" in r.stdout, r.stderr


# -- submission and cluster config ------------------------------------------------------------

def test_submit_wraps_ray_job_submit():
    cmd = submit_command("jobs/sample.yaml", "127.0.0.1:8265", base_dir="/repo", extra_env={"pip": ["x"]})
    assert cmd[1:4] == ["job", "submit", "--address"] and cmd[4] == "http://127.0.0.1:8265"
    assert cmd[cmd.index("--working-dir") + 1] == "."
    env = json.loads(cmd[cmd.index("--runtime-env-json") + 1])
    assert env["env_vars"] == {"CURATE_BASE_DIR": "/repo"} and env["pip"] == ["x"]
    assert {".venv", "data/*", "!data/lists", "out"} <= set(env["excludes"]) == set(EXCLUDES)
    assert cmd[cmd.index("--") + 1:] == ["python", "-m", "jobs.run", "jobs/sample.yaml", "--no-progress"]
    dry = subprocess.run([sys.executable, "-m", "jobs.submit", "jobs/sample.yaml", "--dry-run"], cwd=ROOT,
                         capture_output=True, text=True)
    assert dry.returncode == 0 and "job submit" in dry.stdout and "--working-dir ." in dry.stdout, dry.stderr
    bad = subprocess.run([sys.executable, "-m", "jobs.submit", "jobs/nope.yaml"], cwd=ROOT, capture_output=True,
                         text=True)
    assert bad.returncode == 2 and "not found" in bad.stderr


def test_cluster_launcher_config_is_valid_and_secure():
    import jsonschema
    import ray.autoscaler

    cfg = yaml.safe_load((ROOT / "jobs" / "cluster.yaml").read_text())
    schema = json.loads((Path(ray.autoscaler.__file__).parent / "ray-schema.json").read_text())
    jsonschema.validate(cfg, schema)
    types = cfg["available_node_types"]
    assert {"head", "cpu_worker", "gpu_worker"} <= set(types) and cfg["head_node_type"] == "head"
    assert "g5" in types["gpu_worker"]["node_config"]["InstanceType"]
    assert cfg["file_mounts"]["~/.ray/auth_token"] == "~/.ray/auth_token"  # token on every node
    for cmd in (cfg["head_start_ray_commands"][-1], cfg["worker_start_ray_commands"][-1]):
        assert "RAY_AUTH_MODE=token" in cmd and "--object-store-memory=" in cmd
    assert "--dashboard-host=127.0.0.1" in cfg["head_start_ray_commands"][-1]
    assert "0.0.0.0" not in (ROOT / "jobs" / "cluster.yaml").read_text()


# -- a real two-node cluster --------------------------------------------------------------------

@pytest.fixture(scope="module")
def cluster():
    c = LocalCluster(object_store_mb=100)
    try:
        c.start_head(num_cpus=1, wait=False)  # the second node joins while the dashboard starts
        c.add_node(num_cpus=1, resources={"second_node": 1})
        yield c
    finally:
        c.stop()


def test_cluster_refuses_clients_without_the_token(cluster):
    url = f"{cluster.dashboard_url}/api/jobs/"
    assert http("GET", url)[0] == 401
    assert http("GET", url, token="0" * 64)[0] == 403
    assert http("POST", url, body={"entrypoint": "echo pwned"})[0] == 401
    status, body = http("GET", url, token=cluster.token)
    assert status == 200 and json.loads(body) == []
    # The GCS refuses drivers without the token too.
    probe = ("import sys; from ray._raylet import GcsClient\n"
             "try:\n    GcsClient(address=sys.argv[1]).internal_kv_get(b'x', None, timeout=10); print('CONNECTED')\n"
             "except Exception as e:\n    print(type(e).__name__)")
    for env in (dict(cluster.client_env(with_token=False), RAY_AUTH_MODE="disabled"),
                dict(cluster.client_env(with_token=False), RAY_AUTH_TOKEN="0" * 64)):
        out = subprocess.run([sys.executable, "-c", probe, cluster.address], env=env, capture_output=True,
                             text=True, timeout=120).stdout
        assert out.strip() == "AuthenticationError", out
    ok = subprocess.run([sys.executable, "-c", probe, cluster.address], env=cluster.client_env(),
                        capture_output=True, text=True, timeout=120).stdout
    assert ok.strip() == "CONNECTED"
    # Nothing listens on a non-loopback address for the dashboard.
    assert cluster.dashboard_url.startswith("http://127.")


def test_job_submitted_to_a_two_node_cluster_matches_a_local_run(cluster, small_crawl, local_run, tmp_path):
    """jobs/sample.yaml, pointed at the small crawl with the fast config, through the Jobs API."""
    assert cluster.node_count() == 2
    out = tmp_path / "cluster-out"
    submit = [sys.executable, "-m", "jobs.submit", "jobs/sample.yaml", "--address", cluster.dashboard_url,
              "--job-args", f"--input '{small_crawl}/*.warc.gz' --output {out} --config jobs/configs/fast.yaml"]
    # Without the token the Jobs API refuses the submission.
    env = dict(cluster.client_env(with_token=False), RAY_AUTH_MODE="disabled")
    r = subprocess.run(submit, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode != 0 and "Unauthorized" in r.stdout + r.stderr
    assert not out.exists()
    # With it, the job runs through the Jobs API (code uploaded from the working directory).
    r = subprocess.run(submit + ["--submission-id", "curate-test-1"], cwd=ROOT, env=cluster.client_env(),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    status, body = http("GET", f"{cluster.dashboard_url}/api/jobs/curate-test-1", cluster.token)
    info = json.loads(body)
    assert info["status"] == "SUCCEEDED" and info["runtime_env"]["working_dir"].startswith("gcs://")
    assert compare_outputs(local_run, out) == []
    # The file tasks ran on both nodes.
    status, body = http("GET", f"{cluster.dashboard_url}/api/v0/tasks?limit=1000&detail=1"
                               "&filter_keys=name&filter_predicates=%3D&filter_values=_file_task", cluster.token)
    tasks = json.loads(body)["data"]["result"]["result"]
    assert status == 200 and len({t["node_id"] for t in tasks if t["state"] == "FINISHED"}) == 2, tasks
