"""The ``curate`` command line."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

EPILOG = """examples:
  curate run --input 'data/sample/*.warc.gz' --output out/sample
  curate run --input 's3://bucket/crawl/*.warc.gz' --output out/big --address auto
  curate submit jobs/sample.yaml --address http://127.0.0.1:8265
  curate report out/sample
  curate stages
"""


def _cmd_run(args: argparse.Namespace) -> int:
    from pipeline.config import load_config
    from pipeline.report import print_report, report_failures
    from pipeline.runner import run

    cfg = load_config(args.config)
    summary = run(cfg, args.input, Path(args.output), address=args.address, workers=args.workers,
                  overwrite=args.overwrite, progress=not args.no_progress)
    print_report(Path(args.output))
    from pipeline.html_report import write_html_report

    print(f"HTML report: {write_html_report(Path(args.output))}")
    return report_failures(summary, "rerun the same command")


def _cmd_submit(args: argparse.Namespace) -> int:
    from jobs.submit import cmd_submit

    return cmd_submit(args)


def _cmd_report(args: argparse.Namespace) -> int:
    from pipeline.report import print_report, summarize

    out = Path(args.output)
    if not (out / "stats").is_dir():
        print(f"error: {out} is not a curate output folder (no stats/ inside)", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(summarize(out), indent=1))
        return 0
    from pipeline.html_report import write_html_report

    print_report(out)
    print(f"HTML report: {write_html_report(out)}")
    return 0


def _cmd_stages(args: argparse.Namespace) -> int:
    from pipeline.stage import registry

    for name, cls in sorted(registry().items()):
        doc = (cls.__doc__ or sys.modules[cls.__module__].__doc__ or "").strip()
        doc = doc.splitlines()[0] if doc else ""
        print(f"{name:20s} {doc}")
        for k, v in cls.defaults.items():
            print(f"{'':22s}{k}: {v!r}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="curate", description="Curate pre-training data from CommonCrawl WARC files.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    r = sub.add_parser("run", help="run the per-file stages over WARC files (resumable)",
                       description="Run the per-file stages (URL filter, extraction, language ID, heuristic "
                                   "filters) over WARC files on Ray. Finished files are skipped on rerun.")
    r.add_argument("--input", "-i", action="append", required=True, metavar="GLOB",
                   help="WARC files: a local or fsspec glob (s3://, https://), or a warc.paths[.gz] list; repeatable")
    r.add_argument("--output", "-o", required=True, metavar="OUT", help="output folder")
    r.add_argument("--config", "-c", metavar="YAML", help="run configuration (default: pipeline/default.yaml)")
    r.add_argument("--address", help="Ray cluster address (default: $RAY_ADDRESS, else a local Ray)")
    r.add_argument("--workers", type=int, help="CPUs for a local Ray (default: all cores)")
    r.add_argument("--overwrite", action="store_true",
                   help="allow a different config in an existing output folder (redoes every file)")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    r.set_defaults(func=_cmd_run)

    from jobs.submit import build_parser as submit_arguments

    sb = sub.add_parser("submit", help="submit a job file to a Ray cluster through the Jobs API",
                        description="Submit a job file (jobs/*.yaml) to a Ray cluster: ray job submit --working-dir . "
                                    "--runtime-env-json ... -- python -m jobs.run JOB. See jobs/README.md.")
    submit_arguments(sb)
    sb.set_defaults(func=_cmd_submit)

    rep = sub.add_parser("report", help="print the funnel of a run and write OUT/report.html (works on partial runs)")
    rep.add_argument("output", metavar="OUT", help="output folder of a run")
    rep.add_argument("--json", action="store_true", help="print the merged statistics as JSON")
    rep.set_defaults(func=_cmd_report)

    sub.add_parser("train", help="train a classifier (curate train --help)", add_help=False)
    sub.add_parser("mix", help="tokenize the corpus and build the training mixtures (curate mix --help)",
                   add_help=False)

    st = sub.add_parser("stages", help="list the available stages and their parameters")
    st.set_defaults(func=_cmd_stages)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # Subcommands with their own parsers.
    if argv[:1] == ["train"]:
        from classifiers.train import main as train_main

        return train_main(argv[1:], prog="curate train")
    if argv[:1] == ["mix"]:
        from mixtures import main as mix_main

        return mix_main(argv[1:])
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    from pipeline.config import ConfigError

    try:
        return args.func(args)
    except (ConfigError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
