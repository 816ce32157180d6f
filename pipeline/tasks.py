"""Resumable Ray tasks for the global phases (dedup, clean): one marker file per finished task."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

from dedup.store import read_json, write_json

log = logging.getLogger(__name__)


def run_marked(done: Path, step: str, fn: Callable, items: list[tuple[str, tuple, str]],
               resources: dict[str, float] | None = None, label: str | None = None,
               progress: bool = False) -> list[Any]:
    """Run ``fn(*args)`` as a Ray task for each ``(task_name, args, key)`` whose marker
    ``done/<step>/<task_name>.json`` does not hold ``key``; return the results in item order.

    A task that fails does not stop the others (their markers are written, so a rerun redoes
    only the failed ones); a RuntimeError naming the first failure is raised at the end.
    ``label`` names the step in logs, errors and the progress bar (default: ``step``)."""
    import ray
    from tqdm import tqdm

    label = label or step
    if not ray.is_initialized():
        raise RuntimeError(f"{label} needs Ray: call ray.init() (or pipeline.runner.init_ray) first")
    results: dict[str, Any] = {}
    pending = []
    for name, args, key in items:
        rec = read_json(done / step / f"{name}.json")
        if rec and rec.get("key") == key:
            results[name] = rec["result"]
        else:
            pending.append((name, args, key))
    if pending:
        remote = ray.remote(**(resources or {"num_cpus": 1}), max_retries=3)(fn)
        refs = {remote.remote(*args): (name, key) for name, args, key in pending}
        errors = []
        waiting = list(refs)
        bar = tqdm(total=len(pending), desc=label, unit="task", disable=not progress, dynamic_ncols=True)
        while waiting:
            ready, waiting = ray.wait(waiting, num_returns=len(waiting), timeout=0.5)
            for ref in ready:
                name, key = refs[ref]
                bar.update(1)
                try:
                    res = ray.get(ref)
                except Exception as e:  # let the other tasks finish and keep their markers
                    errors.append(f"{label}/{name}: {type(e).__name__}: {e}")
                    continue
                write_json(done / step / f"{name}.json", {"key": key, "result": res})
                results[name] = res
        bar.close()
        log.info("%s: %d tasks done, %d skipped", label, len(pending), len(items) - len(pending))
        if errors:
            raise RuntimeError(f"{len(errors)} {label} task(s) failed; first: {errors[0]}")
    return [results[name] for name, _, _ in items]
