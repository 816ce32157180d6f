"""Run one job described by a YAML file: ``python -m jobs.run jobs/<name>.yaml``.

A job file names what to read, where to write and which run configuration to use::

    input:                      # globs (local, s3://, https://) or warc.paths[.gz] lists; a string or a list
      - data/sample/*.warc.gz
    output: out/sample          # a local folder; on a multi-node cluster, one every node mounts
    config: pipeline/default.yaml   # a run config file, or the run config itself as a mapping
    paths_base: https://data.commoncrawl.org/   # what relative warc.paths entries are joined to
    address: null               # Ray cluster (default: $RAY_ADDRESS, else a local Ray)
    workers: null               # CPUs of a local Ray (default: all cores)
    object_store_mb: 256        # object store of a local Ray
    overwrite: false            # allow a different config in an existing output folder

Relative paths are taken from the base folder: ``--base-dir``, else ``$CURATE_BASE_DIR``
(``jobs.submit`` sets it to the folder the job was submitted from), else the current folder.
Inside a Ray job the code runs from an unpacked copy of the working directory, so outputs
would otherwise land in a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


from pipeline.config import ConfigError, load_config, read_yaml, validate
from pipeline.runner import CC_BASE, init_ray, read_paths_file

log = logging.getLogger(__name__)

KEYS = {"name", "description", "input", "output", "config", "paths_base", "address", "workers",
        "object_store_mb", "overwrite"}
MIN_OBJECT_STORE_MB = 80  # Ray refuses less than 75 MiB


class JobError(ValueError):
    """A problem with a job file, with the offending key in the message."""


@dataclass
class Job:
    name: str
    inputs: list[str]
    output: Path
    cfg: dict[str, Any]
    config_source: str
    paths_base: str = CC_BASE
    address: str | None = None
    workers: int | None = None
    object_store_mb: int = 256
    overwrite: bool = False
    raw: dict[str, Any] = field(default_factory=dict)


def base_dir(explicit: str | Path | None = None) -> Path:
    """Folder that relative job paths are taken from (see the module doc)."""
    if explicit:
        return Path(explicit).resolve()
    env = os.environ.get("CURATE_BASE_DIR")
    if env:
        if Path(env).is_dir():
            return Path(env).resolve()
        log.warning("CURATE_BASE_DIR=%s does not exist here; using %s", env, Path.cwd())
    return Path.cwd()


def _resolve(p: str, base: Path) -> str:
    if "://" in p or p.startswith("/"):
        return p
    return str(base / p)


def load_job(path: str | Path, base: str | Path | None = None, **overrides: Any) -> Job:
    """Read and validate a job file; ``overrides`` (not None) replace keys of the file."""
    path = Path(path)
    raw = read_yaml(path, JobError, "job file")
    if raw is None or isinstance(raw, dict):
        raw = {**(raw or {}), **{k: v for k, v in overrides.items() if v is not None}}
    return parse_job(raw, source=str(path), base=base, default_name=path.stem)


def parse_job(raw: Any, source: str = "job", base: str | Path | None = None, default_name: str = "job") -> Job:
    """Validate a job mapping (see the module doc); errors name the bad key."""
    if not isinstance(raw, dict):
        raise JobError(f"{source}: the top level must be a mapping with at least 'input' and 'output'")
    unknown = set(raw) - KEYS
    if unknown:
        raise JobError(f"{source}: unknown key(s) {sorted(unknown)}; known: {sorted(KEYS)}")
    root = base_dir(base)

    inputs = raw.get("input")
    if isinstance(inputs, str):
        inputs = [inputs]
    if not inputs or not isinstance(inputs, list) or not all(isinstance(i, str) and i for i in inputs):
        raise JobError(f"{source}: 'input' must be a glob or a list of globs / warc.paths files, got {inputs!r}")
    output = raw.get("output")
    if not isinstance(output, str) or not output:
        raise JobError(f"{source}: 'output' must be a folder path, got {output!r}")
    if "://" in output:
        raise JobError(f"{source}: 'output' must be a local (or shared, mounted) folder, not a URL: {output}")

    config = raw.get("config")
    try:
        if config is None or isinstance(config, str):
            config_source = _resolve(config, root) if config else "pipeline/default.yaml (built in)"
            cfg = load_config(_resolve(config, root) if config else None)
        elif isinstance(config, dict):
            config_source = f"{source} (inline)"
            cfg = validate(config, source=f"{source}: config")
        else:
            raise JobError(f"{source}: 'config' must be a path to a run config or a mapping, got {config!r}")
    except ConfigError as e:
        raise JobError(f"{source}: config: {e}") from None

    workers = raw.get("workers")
    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 1):
        raise JobError(f"{source}: 'workers' must be a positive integer, got {workers!r}")
    store = raw.get("object_store_mb", 256)
    if not isinstance(store, int) or isinstance(store, bool) or store < MIN_OBJECT_STORE_MB:
        raise JobError(f"{source}: 'object_store_mb' must be an integer >= {MIN_OBJECT_STORE_MB}, got {store!r}")
    address = raw.get("address")
    if address is not None and (not isinstance(address, str) or not address):
        raise JobError(f"{source}: 'address' must be a Ray address such as 10.0.0.1:6379 or auto, got {address!r}")
    paths_base = raw.get("paths_base", CC_BASE)
    if not isinstance(paths_base, str) or "://" not in paths_base:
        raise JobError(f"{source}: 'paths_base' must be a URL prefix such as s3://commoncrawl/, got {paths_base!r}")
    overwrite = raw.get("overwrite", False)
    if not isinstance(overwrite, bool):
        raise JobError(f"{source}: 'overwrite' must be true or false, got {overwrite!r}")
    name = raw.get("name", default_name)
    if not isinstance(name, str):
        raise JobError(f"{source}: 'name' must be a string")

    return Job(name=name, inputs=[_resolve(i, root) for i in inputs], output=Path(_resolve(output, root)),
               cfg=cfg, config_source=config_source, paths_base=paths_base, address=address, workers=workers,
               object_store_mb=store, overwrite=overwrite, raw=raw)


def job_inputs(job: Job) -> list[str]:
    """Inputs for the runner: warc.paths lists are read here, so their entries get ``paths_base``."""
    out: list[str] = []
    for p in job.inputs:
        if p.endswith((".paths", ".paths.gz")):
            try:
                out.extend(read_paths_file(p, job.paths_base))
            except FileNotFoundError:
                raise FileNotFoundError(f"warc.paths list not found: {p}") from None
        else:
            out.append(p)
    return out


def run_job(job: Job, progress: bool = True) -> dict[str, Any]:
    """Run a job to completion (resumable: finished files are skipped); return the run summary."""
    from pipeline.runner import run

    init_ray(job.address, job.workers, job.object_store_mb)
    return run(job.cfg, job_inputs(job), job.output, address=job.address, workers=job.workers,
               overwrite=job.overwrite, progress=progress)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m jobs.run", description=__doc__.splitlines()[0],
                                epilog="See jobs/README.md for clusters and submission.")
    p.add_argument("job", metavar="JOB.yaml", help="job file, e.g. jobs/sample.yaml")
    p.add_argument("--input", "-i", action="append", metavar="GLOB", help="replace the job's input (repeatable)")
    p.add_argument("--output", "-o", metavar="OUT", help="replace the job's output folder")
    p.add_argument("--config", "-c", metavar="YAML", help="replace the job's run config")
    p.add_argument("--address", help="Ray cluster address (default: the job's, else $RAY_ADDRESS, else local)")
    p.add_argument("--workers", type=int, help="CPUs for a local Ray")
    p.add_argument("--overwrite", action="store_true", default=None,
                   help="allow a different config in an existing output folder")
    p.add_argument("--base-dir", metavar="DIR", help="folder relative job paths are taken from")
    p.add_argument("--dry-run", action="store_true", help="validate the job and list its inputs, run nothing")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--summary-json", metavar="FILE", help="also write the run summary to FILE")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        job = load_job(args.job, base=args.base_dir, input=args.input, output=args.output, config=args.config,
                       address=args.address, workers=args.workers, overwrite=args.overwrite)
        if args.dry_run:
            files = job_inputs(job)
            print(f"job {job.name}: {len(files)} input file(s) -> {job.output} (config {job.config_source})")
            for f in files[:5]:
                print(f"  {f}")
            if len(files) > 5:
                print(f"  ... {len(files) - 5} more")
            return 0
        print(f"job {job.name}: {', '.join(job.inputs)} -> {job.output} (config {job.config_source})", flush=True)
        summary = run_job(job, progress=not args.no_progress)
    except (JobError, ConfigError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from pipeline.report import print_report, report_failures

    print_report(job.output)
    if args.summary_json:
        Path(args.summary_json).write_text(json.dumps(summary, indent=1))
    return report_failures(summary, "run the job again")


if __name__ == "__main__":
    sys.exit(main())
