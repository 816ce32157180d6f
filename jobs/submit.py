"""Submit a job to a Ray cluster through the Jobs API: ``python -m jobs.submit jobs/<name>.yaml``.

Wraps ``ray job submit --working-dir . --runtime-env-json ... -- python -m jobs.run JOB.yaml``:
the code is uploaded from the working directory (without the virtual environment, data and outputs),
and relative paths in the job file are taken from ``--base-dir`` (default: the folder this is run from,
right for a cluster on this machine; pass the repository's path on the cluster's nodes otherwise).

The cluster is expected to run with ``RAY_AUTH_MODE=token``; the client sends the token from
``--token-file``, ``$RAY_AUTH_TOKEN``, ``$RAY_AUTH_TOKEN_PATH`` or ``~/.ray/auth_token``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from jobs.cluster import ray_bin

DEFAULT_DASHBOARD = "http://127.0.0.1:8265"
# Never uploaded with the code: environments, caches, inputs, outputs. Replaces .gitignore (which would
# also drop data/lists, the word lists and blocklists the filters read from the working directory).
EXCLUDES = [".git", ".venv", "venv", "__pycache__", "*.egg-info", ".pytest_cache", "out", "bench/work", "*.tmp",
            "data/*", "!data/lists", "*.warc.gz", "*.parquet"]


def dashboard_address(address: str | None = None) -> str:
    """The Jobs API address: explicit, else $RAY_API_SERVER_ADDRESS, else an http $RAY_ADDRESS, else local."""
    if address:
        return address if "://" in address else f"http://{address}"
    for var in ("RAY_API_SERVER_ADDRESS", "RAY_ADDRESS"):
        v = os.environ.get(var, "")
        if v.startswith(("http://", "https://")):
            return v
    return DEFAULT_DASHBOARD


def runtime_env(base_dir: str | None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The runtime env sent with the job (``extra``, e.g. from --runtime-env, is merged over it)."""
    env: dict[str, Any] = {"excludes": list(EXCLUDES), "env_vars": {}}
    if base_dir:
        env["env_vars"]["CURATE_BASE_DIR"] = base_dir
    for k, v in (extra or {}).items():
        if k == "env_vars":
            env["env_vars"].update(v or {})
        elif k == "excludes":
            env["excludes"] += [e for e in v or [] if e not in env["excludes"]]
        else:
            env[k] = v
    if not env["env_vars"]:
        del env["env_vars"]
    return env


def submit_command(job: str, address: str | None = None, working_dir: str = ".", base_dir: str | None = None,
                   extra_env: dict[str, Any] | None = None, wait: bool = True,
                   submission_id: str | None = None, job_args: list[str] | None = None) -> list[str]:
    """The ``ray job submit`` command line for one job file."""
    cmd = [ray_bin(), "job", "submit", "--address", dashboard_address(address), "--working-dir", working_dir,
           "--runtime-env-json", json.dumps(runtime_env(base_dir, extra_env))]
    if submission_id:
        cmd += ["--submission-id", submission_id]
    if not wait:
        cmd.append("--no-wait")
    return cmd + ["--", "python", "-m", "jobs.run", job, "--no-progress", *(job_args or [])]


def client_env(token_file: str | None = None) -> dict[str, str]:
    """Environment for the ``ray job`` client: token auth on, the token found as Ray looks for it."""
    env = dict(os.environ)
    env.setdefault("RAY_AUTH_MODE", "token")
    env["RAY_RUNTIME_ENV_IGNORE_GITIGNORE"] = "1"  # EXCLUDES instead
    if token_file:
        env.pop("RAY_AUTH_TOKEN", None)
        env["RAY_AUTH_TOKEN_PATH"] = str(Path(token_file).resolve())
    return env


def build_parser(p: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """Arguments of ``curate submit`` / ``python -m jobs.submit`` (adds them to ``p`` if given)."""
    p = p or argparse.ArgumentParser(prog="python -m jobs.submit", description=__doc__.splitlines()[0])
    p.add_argument("job", metavar="JOB.yaml", help="job file, relative to the working directory (jobs/sample.yaml)")
    p.add_argument("--address", help=f"Jobs API (dashboard) address (default: $RAY_API_SERVER_ADDRESS, an http "
                                     f"$RAY_ADDRESS, else {DEFAULT_DASHBOARD})")
    p.add_argument("--working-dir", default=".", help="code to upload (default: .)")
    p.add_argument("--base-dir", help="folder relative job paths are taken from on the cluster "
                                      "(default: this folder, right for a cluster on this machine)")
    p.add_argument("--runtime-env", metavar="YAML", help="extra runtime env (pip, env_vars, ...) merged in")
    p.add_argument("--token-file", help="auth token file (default: as Ray finds it: $RAY_AUTH_TOKEN, "
                                        "$RAY_AUTH_TOKEN_PATH, ~/.ray/auth_token)")
    p.add_argument("--submission-id", help="job id (default: generated)")
    p.add_argument("--no-wait", action="store_true", help="return once submitted (follow with `ray job logs -f`)")
    p.add_argument("--dry-run", action="store_true", help="print the ray job submit command, run nothing")
    p.add_argument("--job-args", default="", metavar="ARGS",
                   help="extra arguments for jobs.run on the cluster, e.g. \"--workers 4 --overwrite\"")
    return p


def cmd_submit(args: argparse.Namespace) -> int:
    """Run ``ray job submit`` for parsed arguments; return its exit status."""
    if not Path(args.working_dir, args.job).is_file():
        print(f"error: job file {args.job} not found in the working directory {args.working_dir}", file=sys.stderr)
        return 2
    from jobs.run import JobError, load_job

    try:  # fail here, not on the cluster, if the job file is wrong
        load_job(Path(args.working_dir, args.job), base=args.working_dir)
    except JobError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    extra = yaml.safe_load(Path(args.runtime_env).read_text()) if args.runtime_env else None
    job_args = shlex.split(args.job_args or "")
    cmd = submit_command(args.job, args.address, args.working_dir,
                         base_dir=args.base_dir or str(Path.cwd().resolve()), extra_env=extra,
                         wait=not args.no_wait, submission_id=args.submission_id, job_args=job_args)
    if args.dry_run:
        print(shlex.join(cmd))
        return 0
    env = client_env(args.token_file)
    # ray job submit lets $RAY_ADDRESS (often a GCS address, for drivers) override --address; this wins.
    env["RAY_API_SERVER_ADDRESS"] = dashboard_address(args.address)
    return subprocess.run(cmd, env=env).returncode


def main(argv: list[str] | None = None) -> int:
    return cmd_submit(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
