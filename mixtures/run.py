"""``run_mix``: tokenize ``OUT/clean`` into component token shards, plan the main and annealing mixtures.

Resumable and deterministic: every phase writes under temporary names and renames, then drops a done
marker under ``OUT/mix/_done/``; a rerun skips what is done and rewrites byte-identical JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import time
from pathlib import Path
from typing import Any


from mixtures.components import top_bucket
from mixtures.config import MIX_DEFAULTS, MixConfigError, MixError, split_topics, stable_hash, validate_mix
from mixtures.materialize import materialize
from mixtures.plan import blend, blend_string, plan_mixture
from mixtures.tokenize import merge_component, merge_inputs_hash, shard_name, tokenize_shard, write_atomic
from mixtures.tokenizer import load_tokenizer

log = logging.getLogger(__name__)


def _dump(obj: Any) -> str:
    return json.dumps(obj, indent=1, sort_keys=True) + "\n"


def _ray_map(fn, calls: list[tuple], on_result) -> dict[str, str]:
    """Run ``fn(*args)`` as Ray tasks (1 CPU each); ``on_result(key, result)`` as each finishes.
    Returns {key: error} for the tasks that failed after retries (the others are kept)."""
    import ray

    remote = ray.remote(num_cpus=1, max_retries=2)(fn)
    pending = {remote.remote(*args): key for key, args in calls}
    failed: dict[str, str] = {}
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        key = pending.pop(done[0])
        try:
            on_result(key, ray.get(done[0]))
        except Exception as e:  # noqa: BLE001 - report and keep going; a rerun retries
            cause = getattr(e, "cause", None) or e  # a RayTaskError wraps the task's own exception
            failed[key] = f"{type(cause).__name__}: {str(cause).strip().splitlines()[-1] if str(cause) else ''}"
            log.error("mix: %s failed: %s", key, e)
    return failed


def _check_state(mix: Path, tok_state: dict[str, Any], overwrite: bool) -> str:
    h = stable_hash(tok_state)
    run_file = mix / "run.json"
    if run_file.exists():
        prev = json.loads(run_file.read_text()).get("tokenize_hash")
        if prev != h:
            if not overwrite:
                raise MixConfigError(
                    f"{mix} holds token shards made with different tokenizer/component settings ({prev} != {h}); "
                    "use --overwrite to redo them (mixture weights and budgets can change freely)")
            for sub in ("parts", "tokens", "mixed", "_done"):
                shutil.rmtree(mix / sub, ignore_errors=True)
    write_atomic(run_file, _dump({"tokenize_hash": h, "tokenize": tok_state}))
    for leftover in list(mix.glob("*/.*.partial-*")) + list(mix.glob("*/.*.old-*")):
        shutil.rmtree(leftover, ignore_errors=True)
    for leftover in mix.glob("**/*.tmp-*"):
        if leftover.is_file():
            leftover.unlink(missing_ok=True)
    return h


def run_mix(out: Path | str, cfg: dict[str, Any] | None, *, overwrite: bool = False) -> dict[str, Any]:
    """Tokenize-and-mix over ``OUT/<input>/*.parquet`` into ``OUT/mix/``; returns the stats (OUT/stats/mix.json).

    ``cfg`` is the ``mix:`` section of the run YAML (validated here: a bad key raises MixConfigError naming
    it). Ray must be initialized by the caller (or is started locally by the first task). Raises MixError when
    the data cannot satisfy a mixture (budget larger than data × epoch cap, nothing tokenized, failed shards).
    """
    t_run = time.perf_counter()
    cfg = validate_mix(cfg)
    out = Path(out)
    mix = out / "mix"
    clean = out / cfg["input"]
    files = sorted(clean.glob("*.parquet"))
    if not files:
        raise MixError(f"no clean shards: {clean}/*.parquet matches nothing (run dedup and PII/safety first)")
    topics = split_topics(cfg)
    tok = load_tokenizer(cfg["tokenizer"])  # fail early, in the driver, on a bad tokenizer
    tok_state = {"tokenizer": tok.identity(), "components": cfg["components"], "split_topics": topics,
                 "input": cfg["input"]}
    mix.mkdir(parents=True, exist_ok=True)
    tok_hash = _check_state(mix, tok_state, overwrite)
    done = mix / "_done"
    (done / "tokenize").mkdir(parents=True, exist_ok=True)
    (done / "merge").mkdir(parents=True, exist_ok=True)
    (done / "mixture").mkdir(parents=True, exist_ok=True)
    parts_root, tokens_root = mix / "parts", mix / "tokens"
    times: dict[str, float] = {}

    # Phase 1: tokenize each clean shard (Ray task per shard).
    t0 = time.perf_counter()
    shards = [shard_name(f) for f in files]
    if len(set(shards)) != len(shards):
        raise MixError(f"duplicate clean shard names in {clean}")
    todo = [(s, (str(f), str(parts_root), cfg, topics)) for s, f in zip(shards, files)
            if not (done / "tokenize" / f"{s}.done").exists() or not (parts_root / s / "parts.json").exists()]
    log.info("mix: tokenizing %d of %d clean shard(s)", len(todo), len(files))

    def tokenized(shard: str, info: dict[str, Any]) -> None:
        write_atomic(done / "tokenize" / f"{shard}.done", tok_hash + "\n")

    failed = _ray_map(tokenize_shard, todo, tokenized)
    if failed:
        raise MixError(f"{len(failed)} clean shard(s) failed to tokenize (rerun to retry them): "
                       + "; ".join(f"{k}: {v}" for k, v in sorted(failed.items())))
    times["tokenize_s"] = time.perf_counter() - t0
    parts = [json.loads((parts_root / s / "parts.json").read_text()) for s in shards]

    # Phase 2: merge each component's parts into its token shards (Ray task per component).
    t0 = time.perf_counter()
    meta: dict[str, dict[str, Any]] = {}
    for p in parts:
        for comp, c in p["components"].items():
            meta.setdefault(comp, {k: c[k] for k in ("category", "lang_group", "bucket", "topic")})
    merges = []
    merge_hash = {}
    for comp in sorted(meta):
        have = [p for p in parts if comp in p["components"]]
        h = merge_inputs_hash(comp, have, tok_hash, cfg["shard_tokens"])
        merge_hash[comp] = h
        marker = done / "merge" / f"{comp}.done"
        if marker.exists() and marker.read_text().strip() == h and (tokens_root / comp / "component.json").exists():
            continue
        merges.append((comp, (comp, str(parts_root), str(tokens_root), [p["shard"] for p in have],
                              cfg["shard_tokens"], meta[comp])))
    log.info("mix: merging %d of %d component(s)", len(merges), len(meta))
    failed = _ray_map(merge_component, merges,
                      lambda comp, info: write_atomic(done / "merge" / f"{comp}.done", merge_hash[comp] + "\n"))
    if failed:
        raise MixError(f"{len(failed)} component(s) failed to merge (rerun to retry them): "
                       + "; ".join(f"{k}: {v}" for k, v in sorted(failed.items())))
    if tokens_root.exists():
        for stale in tokens_root.iterdir():
            if stale.is_dir() and not stale.name.startswith(".") and stale.name not in meta:
                shutil.rmtree(stale)
                (done / "merge" / f"{stale.name}.done").unlink(missing_ok=True)
    if not cfg["keep_parts"]:
        for s in shards:
            for f in (parts_root / s).iterdir():
                if f.name != "parts.json":
                    f.unlink()
    times["merge_s"] = time.perf_counter() - t0
    comp_info = {comp: json.loads((tokens_root / comp / "component.json").read_text()) for comp in sorted(meta)}

    total_tokens = sum(c["tokens"] for c in comp_info.values())
    total_docs = sum(c["docs"] for c in comp_info.values())
    manifest = {
        "format": {"type": "Megatron-LM indexed dataset (MMIDIDX v1: PREFIX.bin + PREFIX.idx)",
                   "dtype": parts[0]["dtype"] if parts else None, "one_sequence_per_document": True,
                   "eos_after_each_document": True, "bos": tok.bos_id is not None,
                   "paths": "relative to OUT/mix"},
        "tokenizer": tok.describe(),
        "tokenize_hash": tok_hash,
        "components_config": {**cfg["components"], "split_topics": topics},
        "docs": total_docs,
        "tokens": total_tokens,
        "clean_shards": [{"shard": p["shard"], "file": f"{cfg['input']}/{p['shard']}.parquet", "rows": p["rows"],
                          "docs": p["docs"], "empty_docs": p["empty_docs"], "tokens": p["tokens"]} for p in parts],
        "components": {comp: {k: v for k, v in c.items() if k != "merge_s"} for comp, c in comp_info.items()},
    }
    if total_tokens == 0:
        raise MixError(f"the clean corpus in {clean} has no text to tokenize ({sum(p['rows'] for p in parts)} rows)")
    write_atomic(mix / "manifest.json", _dump(manifest))

    # Phase 3: the mixtures.
    t0 = time.perf_counter()
    files_of = {comp: c["files"] for comp, c in comp_info.items()}
    top = top_bucket(cfg["components"])
    mixtures: dict[str, Any] = {}
    for name in ("main", "anneal"):
        mcfg = cfg.get(name)
        if not mcfg:
            continue
        plan = plan_mixture(name, mcfg, comp_info, top, total_tokens)
        entries = blend(plan, files_of)
        plan["config"] = mcfg
        plan["seed"] = cfg["seed"]
        plan["data_path"] = blend_string(entries)
        plan["data_path_abs"] = blend_string(blend(plan, files_of, root=str(mix.resolve())))
        plan["data_path_file"] = f"mixtures/{name}.data_path.txt"
        plan["megatron"] = {
            "data_args_path": f"{mix.resolve()}/mixtures/{name}.data_path.txt",
            "note": "pass --data-args-path FILE (or --data-path with data_path); train on total_tokens tokens "
                    "(--train-samples = total_tokens / --seq-length) for the planned epochs per component"}
        write_atomic(mix / "mixtures" / f"{name}.data_path.txt", plan["data_path_abs"] + "\n")
        plan["materialized"] = None
        if mcfg["materialize"]:
            mhash = stable_hash({"plan": {c: p["epochs"] for c, p in plan["components"].items()},
                                 "merge": merge_hash, "seed": cfg["seed"], "shard_tokens": cfg["shard_tokens"]})
            marker = done / "mixture" / f"{name}.done"
            mfile = mix / "mixed" / name / "materialized.json"
            if marker.exists() and marker.read_text().strip() == mhash and mfile.exists():
                mat = json.loads(mfile.read_text())
            else:
                mat = materialize(mix, name, plan, comp_info, cfg["seed"], cfg["shard_tokens"])
                mat["data_path"] = " ".join(f["prefix"] for f in mat["files"])
                write_atomic(mfile, _dump(mat))
                write_atomic(marker, mhash + "\n")
            plan["materialized"] = mat
        write_atomic(mix / "mixtures" / f"{name}.json", _dump(plan))
        mixtures[name] = plan
    times["mixtures_s"] = time.perf_counter() - t0
    times["total_s"] = time.perf_counter() - t_run

    tok_s = sum(p["tokenize_s"] for p in parts)
    write_s = sum(p["write_s"] for p in parts)
    stats = {
        "tokenizer": {"name": tok.name, "engine": tok.engine, "vocab_size": tok.vocab_size},
        "clean_shards": len(parts),
        "tokenized_this_run": len(todo),
        "merged_this_run": len(merges),
        "docs": total_docs,
        "empty_docs": sum(p["empty_docs"] for p in parts),
        "tokens": total_tokens,
        "components": {c: {"docs": i["docs"], "tokens": i["tokens"]} for c, i in comp_info.items()},
        # Per-core throughput from the per-shard tasks (1 CPU each), over all shards (kept across reruns).
        "tokenize_core_s": round(tok_s, 3),
        "write_core_s": round(write_s, 3),
        "tokenize_tokens_per_s_per_core": round(total_tokens / tok_s) if tok_s else None,
        "write_tokens_per_s_per_core": round(total_tokens / write_s) if write_s else None,
        "time_s": {k: round(v, 3) for k, v in times.items()},
        "mixtures": {n: {"total_tokens": m["total_tokens"], "total_tokens_requested": m["total_tokens_requested"],
                         "categories": {k: {"requested": v["requested_weight"], "achieved": v["achieved_weight"]}
                                        for k, v in m["categories"].items()},
                         "warnings": m["warnings"]} for n, m in mixtures.items()},
    }
    write_atomic(out / "stats" / "mix.json", _dump(stats))
    return stats


def load_mix_config(path: str | Path) -> dict[str, Any]:
    """The ``mix:`` section of a run YAML (a file holding only the section's keys is accepted too)."""
    from pipeline.config import read_yaml

    path = Path(path)
    data = read_yaml(path, MixConfigError)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise MixConfigError(f"{path}: the top level must be a mapping")
    if "mix" in data:
        return data["mix"] or {}
    if set(data) <= set(MIX_DEFAULTS):
        return data
    raise MixConfigError(f"{path}: no 'mix:' section")


def print_summary(stats: dict[str, Any], out: Path) -> None:
    print(f"tokenized {stats['docs']:,} documents into {stats['tokens']:,} tokens "
          f"({len(stats['components'])} components) with {stats['tokenizer']['name']}")
    if stats["tokenize_tokens_per_s_per_core"]:
        print(f"tokenize {stats['tokenize_tokens_per_s_per_core']:,} tokens/s/core, "
              f"write {stats['write_tokens_per_s_per_core']:,} tokens/s/core")
    for name, m in stats["mixtures"].items():
        print(f"\n{name}: {m['total_tokens']:,} tokens (requested {m['total_tokens_requested']:,})")
        print(f"  {'category':14s} {'requested':>9s} {'achieved':>9s}")
        for cat, w in m["categories"].items():
            print(f"  {cat:14s} {w['requested']:9.3f} {w['achieved']:9.3f}")
        for w in m["warnings"]:
            print(f"  warning: {w}")
        print(f"  Megatron: --data-args-path {out / 'mix' / 'mixtures' / (name + '.data_path.txt')}")


def main(argv: list[str] | None = None) -> int:
    """``curate mix CONFIG --output OUT``: returns 0, 1 (data cannot satisfy the mixture) or 2 (bad config)."""
    p = argparse.ArgumentParser(prog="curate mix", description="Tokenize OUT/clean into Megatron token shards per "
                                "mixture component and plan the main and annealing mixtures (resumable).")
    p.add_argument("config", metavar="CONFIG", help="run YAML with a mix: section (e.g. mixtures/default.yaml)")
    p.add_argument("--output", "-o", required=True, metavar="OUT", help="output folder of the run (holds clean/)")
    p.add_argument("--address", help="Ray cluster address (default: $RAY_ADDRESS, else a local Ray)")
    p.add_argument("--workers", type=int, help="CPUs for a local Ray (default: all cores)")
    p.add_argument("--overwrite", action="store_true", help="redo token shards made with other tokenizer settings")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                            format="%(levelname)s %(name)s: %(message)s")
    try:
        cfg = validate_mix(load_mix_config(args.config), source="mix")
        from pipeline.runner import init_ray

        init_ray(args.address, args.workers)
        stats = run_mix(Path(args.output), cfg, overwrite=args.overwrite)
    except MixConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except MixError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print_summary(stats, Path(args.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
