"""Toxicity classifier, before and after clean web negatives: the Davidson-only model and the default recipe
(Davidson + clean web paragraph chunks, ``curate train toxicity --negatives``) trained in the same run and
measured side by side: Davidson held-out metrics, surge-ai comments (never trained or tuned on) at each
model card's threshold and a P/R table, the share of held-out English web pages each flags (the half of the
articles and crawl sites never trained on, ``classifiers.toxicity_data.web_measurement``), the flagged pages with
their most toxic chunk (judged by hand, ``JUDGED``), the choice of ``web_ratio``, document scoring with
inserted comments, docs/s and model size.

Usage:
  python bench/toxicity_eval.py                     # trains both models with classifiers/train.yaml into bench/work/
  python bench/toxicity_eval.py --model data/models/toxicity.ftz   # the "after" model is an existing one
  python bench/toxicity_eval.py --no-sweep          # skip the hyperparameter and web_ratio sweeps
Crawl pages: the English docs of ``curate run --input '../shared/crawl/sample/*.warc.gz' --output
data/bench/tox_docs --config jobs/configs/fast.yaml`` (trafilatura, as pipeline/default.yaml; run here when
absent). Writes bench/results/toxicity.md (and prints it).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import random
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"
DAVIDSON = SHARED / "eval/toxicity/davidson-hate-offensive.csv"
SURGE = SHARED / "eval/toxicity/surge-toxicity-en.csv"
ARTICLES = SHARED / "eval/extraction/scrapinghub/ground-truth.json"
QUALITY = ROOT / "data/train/quality.jsonl"  # `curate train prepare` (articles, Debian handbook, English crawl)
CRAWL_SRC = SHARED / "crawl/sample"
CRAWL_RUN = ROOT / "data/bench/tox_docs"  # `curate run` of the sample crawl, extraction + langid only

# held-out sweep around the chosen parameters (each over three splits/seeds; Davidson only)
SWEEP = {"chosen (train.yaml)": {}, "wordNgrams=2": {"wordNgrams": 2}, "epoch=10": {"epoch": 10},
         "lr=0.3": {"lr": 0.3}, "dim=32": {"dim": 32}, "minCount=1": {"minCount": 1}, "minCount=5": {"minCount": 5}}
# web_ratio / mix_ratio sweep (train.yaml's other values), each over RATIO_SEEDS splits
WEB_SWEEP = ({"web_ratio": 0.0, "mix_ratio": 0.0}, {"web_ratio": 0.2, "mix_ratio": 0.0},
             {"web_ratio": 0.2, "mix_ratio": 0.5}, {"web_ratio": 0.05, "mix_ratio": 1.0},
             {"web_ratio": 0.1, "mix_ratio": 1.0}, {"web_ratio": 0.2, "mix_ratio": 1.0},
             {"web_ratio": 0.35, "mix_ratio": 1.0}, {"web_ratio": 0.5, "mix_ratio": 1.0},
             {"web_ratio": 0.2, "mix_ratio": 2.0})
RATIO_SEEDS = (0, 1, 2, 3, 4, 5)

# Flagged held-out pages read by hand: the start of the flagged chunk -> (real | false positive, why).
# Pages flagged in a later run that are not here are listed as "not judged".
JUDGED: dict[str, tuple[str, str]] = {
    "And of course they did get through it. The song became their": ("real", "insult (\"skinny bitch\")"),
    "• coloradoblah 17 September 2020 18:21 Jensen can only bake": ("real", "mild: \"lame ass joke\" in a reader "
                                                                   "comment"),
    "And I’m not blowing smoke up my own ass.” In fact, she claimed": ("real", "mild: \"ass\" in a quoted idiom"),
    "Fedora yes yes Raspbian": ("false", "table of Linux distributions (\"yes\" columns)"),
    "But suddenly, they found her buried in a clothes basket": ("false", "news (kidnapping rescue)"),
    "South Korea’s roadmap to drive down solar costs": ("false", "news headline"),
    "“Yes. That is what I wish to be reincarnated as. Hurry it up.”": ("false", "fiction"),
    "\"Above all, make sure you talk to your doctor before choosing": ("false", "health article, \"she continued\""),
    "All these parameters are documented by comments in the template": ("false", "Debian handbook"),
    "| User Radar Color Select User Radar Indicator Color.": ("false", "game settings table (colour names)"),
    "| Allow LDAP admin account behave like local root?": ("false", "Debian handbook table"),
}


def _fmt(x, nd=3):
    return "–" if x is None else (f"{x:.{nd}f}" if isinstance(x, float) else str(x))


def _pct(a: int, n: int) -> str:
    return f"{a} ({100 * a / n:.1f} %)" if n else "–"


def _insert(text: str, extra: list[str], rng: random.Random) -> str:
    paras = text.split("\n")
    for c in extra:
        paras.insert(rng.randrange(len(paras) + 1), c)
    return "\n".join(paras)


def _norm(t: str) -> str:
    return " ".join(t.split()).casefold()


def doc_scoring_table(models: dict[str, tuple[str, float]], articles: list[str], toxic: list[str], benign: list[str],
                      seed: int = 0) -> list[str]:
    """Each article as is, + 1 benign comment, + 1 toxic, + 3 toxic, scored by each method (the stage's for
    every model, the other chunk sizes for the last model)."""
    import numpy as np

    from classifiers import toxicity as tx
    from classifiers.common import auc

    rng = random.Random(seed)
    docs, kinds = [], []
    for a in articles:
        docs += [a, _insert(a, [rng.choice(benign)], rng), _insert(a, [rng.choice(toxic)], rng),
                 _insert(a, rng.sample(toxic, 3), rng)]
        kinds += ["clean", "+1 non-toxic", "+1 toxic", "+3 toxic"]
    kinds_a = np.array(kinds)
    y = [int(k.endswith("toxic") and not k.endswith("non-toxic")) for k in kinds]
    names = list(models)
    methods = [(f"{name}: **max over 280-char chunks (the stage)**", name, dict(chunk_chars=280)) for name in names]
    last = names[-1]
    methods += [(f"{last}: whole text (first 2,000 chars, as `predict`)", last, dict(chunk_chars=0)),
                (f"{last}: max over 140-char chunks", last, dict(chunk_chars=140)),
                (f"{last}: max over 500-char chunks", last, dict(chunk_chars=500)),
                (f"{last}: max over 1000-char chunks", last, dict(chunk_chars=1000))]
    lines = ["| model: scoring | AUC (toxic inserted vs not) | clean | +1 non-toxic | +1 toxic | +3 toxic |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for label, name, kw in methods:
        model, threshold = models[name]
        s = np.array([0.0 if v is None else v for v in tx.doc_scores(docs, model, **kw)])
        flagged = [(s[kinds_a == k] > threshold).mean() for k in ("clean", "+1 non-toxic", "+1 toxic", "+3 toxic")]
        lines.append(f"| {label} | {auc(y, s):.3f} | " + " | ".join(f"{100 * f:.1f} %" for f in flagged) + " |")
    return lines


def crawl_docs() -> list[str]:
    files = sorted(glob.glob(str(CRAWL_RUN / "docs" / "*.parquet")))
    if not files and sorted(glob.glob(str(CRAWL_SRC / "*.warc.gz"))):
        print(f"extracting the sample crawl into {CRAWL_RUN} ...", flush=True)
        subprocess.run([sys.executable, "-m", "pipeline.cli", "run", "--input", str(CRAWL_SRC / "*.warc.gz"),
                        "--output", str(CRAWL_RUN), "--config", str(ROOT / "jobs/configs/fast.yaml")],
                       check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        files = sorted(glob.glob(str(CRAWL_RUN / "docs" / "*.parquet")))
    return files


def measurement_sets(train_docs: list[dict]) -> tuple[dict[str, list[dict]], dict[str, int]]:
    """The held-out English web pages by set: the measurement half of the gold articles and of the crawl's
    sites (Debian handbook pages apart, one version per page), as `prepare` extracted them (resiliparse,
    quality.jsonl) and as the pipeline's default extractor does (trafilatura, the `curate run` docs); pages
    sharing a 100-character passage with a training page (mirrors, aggregators) are dropped."""
    from classifiers import toxicity_data as td

    def split_handbook(docs: list[dict]) -> tuple[list[dict], list[dict]]:
        hb, other, seen = [], [], set()
        for d in docs:
            if not d["key"].startswith(td.PAGE_SPLIT_HOSTS):
                other.append(d)
            elif d["key"] not in seen:  # one version of a handbook page
                seen.add(d["key"])
                hb.append(d)
        return other, hb

    sets: dict[str, list[dict]] = {"articles: gold text": td.read_negatives([ARTICLES], part="measure")}
    quality = td.read_negatives([QUALITY], part="measure") if QUALITY.exists() else []
    if quality:
        sets["articles: pages (resiliparse)"] = [d for d in quality if d["key"].startswith("article:")]
        other, hb = split_handbook([d for d in quality if not d["key"].startswith("article:")])
        sets["crawl: other sites (resiliparse)"] = other
        sets["crawl: Debian handbook (resiliparse)"] = hb
    files = crawl_docs()
    if files:
        other, hb = split_handbook(td.read_negatives(files, part="measure"))
        sets["crawl: other sites (trafilatura)"] = other
        sets["crawl: Debian handbook (trafilatura)"] = hb

    def passages(t: str) -> list[str]:
        n = _norm(t)
        return [n[i:i + 100] for i in range(100, max(len(n) - 100, 101), 1000) if len(n) >= 300]

    train_text = "\x00".join(_norm(d["text"]) for d in train_docs)
    train_pass = [p for d in train_docs for p in passages(d["text"])]
    dropped = {}
    for name, docs in sets.items():
        big = "\x00".join(_norm(d["text"]) for d in docs)
        leaked = {p for p in train_pass if p in big}
        keep = [d for d in docs if not any(p in train_text for p in passages(d["text"]))
                and not any(p in _norm(d["text"]) for p in leaked)]
        dropped[name] = len(docs) - len(keep)
        sets[name] = keep
    return sets, dropped


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", help="evaluate this model as the one with web negatives instead of training it")
    ap.add_argument("--no-sweep", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "bench/results/toxicity.md"))
    args = ap.parse_args()
    if not DAVIDSON.exists() or not SURGE.exists():
        sys.exit(f"toxicity data not found under {SHARED / 'eval/toxicity'}")
    import numpy as np

    from classifiers import toxicity as tx
    from classifiers import toxicity_data as td
    from classifiers.common import auc, load_yaml_params, split
    from classifiers.train import DEFAULT_CONFIG

    work = ROOT / "bench/work"
    work.mkdir(parents=True, exist_ok=True)
    rows = td.read_davidson(DAVIDSON)
    params = load_yaml_params(DEFAULT_CONFIG, "toxicity", tx.TRAIN_DEFAULTS)
    neg_files = [f for f in (ARTICLES, QUALITY) if f.exists()]
    train_docs = td.read_negatives(neg_files, part="train") if neg_files else []
    web_rows, web_stats = td.negative_chunks(train_docs, params["chunk_chars"], params["negatives_blocklist"])
    texts_s, y_s = td.read_surge(SURGE)
    out: list[str] = []

    # --- sweeps (held-out only) ---------------------------------------------------------------------
    sweep_lines, ratio_lines = [], []
    if not args.no_sweep:
        sweep_lines = ["| parameters | held-out AUC, 3 splits (seed 0 / 1 / 2) | mean | threshold (seed 0) | size |",
                       "| --- | --- | ---: | ---: | ---: |"]
        for name, over in SWEEP.items():
            aucs, thr, size = [], None, None
            for seed in (0, 1, 2):
                card = tx.train(rows, work / "sweep.ftz", {**params, **over, "seed": seed})
                aucs.append(card["heldout"]["quantized"]["auc"])
                if seed == 0:
                    thr, size = card["threshold"], card["size"]["bytes"]
            sweep_lines.append(f"| {name} | {' / '.join(f'{a:.4f}' for a in aucs)} | {np.mean(aucs):.4f} | "
                               f"{thr} | {size / 1e3:.0f} kB |")
            print(sweep_lines[-1], flush=True)
        if train_docs:
            ratio_lines = ["| web_ratio | mix_ratio | web chunks + mixed positives | Davidson AUC | "
                           "AUC toxic tweets vs "
                           "pages | AUC pages with a toxic tweet vs clean | threshold | TPR tweets | TPR pages with a "
                           "toxic tweet | FPR neither | FPR pages | J (stage task) | surge AUC (reported only) |",
                           "|" + " ---: |" * 13]
            for over in WEB_SWEEP:
                res, n_used = [], ""
                for seed in RATIO_SEEDS:
                    p = {**params, **over, "seed": seed}
                    card = tx.train(rows, work / "ratio.ftz", p, negatives=train_docs)
                    h, w, at = card["heldout"], card["heldout"]["web"], card["heldout"]["at_threshold"]
                    if seed == RATIO_SEEDS[0]:
                        wn = card["data"]["web_negatives"]
                        n_used = f"{wn['train_chunks_used']:,} + {wn.get('mixed_positives', 0):,}"
                    res.append({"dav": h["davidson_auc"], "tox_pages": w["auc_toxic_tweets_vs_clean_pages"],
                                "ins_auc": w["auc_inserted_vs_clean_pages"], "t": card["threshold"],
                                "tpr": at["recall"], "ins": w["inserted_toxic_flag_rate"], "fpr": at["fpr"],
                                "pages": w["page_flag_rate"],
                                "j": (at["recall"] + w["inserted_toxic_flag_rate"]) / 2 - max(at["fpr"],
                                                                                               w["page_flag_rate"]),
                                "surge": auc(y_s, tx.predict(texts_s, work / "ratio.ftz"))})
                m = {k: float(np.mean([h[k] for h in res])) for k in res[0]}
                ratio_lines.append(
                    f"| {over['web_ratio']} | {over['mix_ratio']} | {n_used} | {m['dav']:.4f} | {m['tox_pages']:.4f} | "
                    f"{m['ins_auc']:.4f} | {m['t']:.3f} | {m['tpr']:.3f} | {m['ins']:.3f} | {m['fpr']:.3f} | "
                    f"{100 * m['pages']:.1f} % | {m['j']:.4f} | {m['surge']:.4f} |")
                print(ratio_lines[-1], flush=True)

    # --- the two models ---------------------------------------------------------------------------------
    before = str(work / "toxicity_davidson.ftz")
    t0 = time.perf_counter()
    tx.train(rows, before, params, data_desc={"files": [str(DAVIDSON)], "rows": len(rows)})
    before_wall = time.perf_counter() - t0
    if args.model:
        after = str(args.model)
        if tx.load_card(after) is None:
            sys.exit(f"no model card next to {after}")
        after_wall = None
    else:
        after = str(work / "toxicity.ftz")
        t0 = time.perf_counter()
        tx.train(rows, after, params, negatives=train_docs or None,
                 data_desc={"files": [str(DAVIDSON)], "rows": len(rows),
                            "negatives": {"files": [str(f) for f in neg_files], "part": "train",
                                          "documents": len(train_docs)}})
        after_wall = time.perf_counter() - t0
    models = {"Davidson only": before, "+ web negatives": after}
    cards = {k: tx.load_card(m) for k, m in models.items()}
    thr = {k: c["threshold"] for k, c in cards.items()}

    # Davidson held-out (its own split: the after model's card split; both use seed 0 and heldout 0.2)
    p0 = cards["+ web negatives"]["parameters"]
    _, te = split(rows, p0["heldout"], p0["seed"])
    te_y = [r["label"] for r in te]
    dav = {}
    for k, m in models.items():
        s = tx.predict([r["text"] for r in te], m)
        dav[k] = {"auc": auc(te_y, s), "at": tx.pr_at(te_y, s, thr[k]),
                  "neither": float(np.mean([ss >= thr[k] for ss, y in zip(s, te_y) if not y]))}
    table_t = sorted(set(tx.SURGE_TABLE_THRESHOLDS) | set(thr.values()))
    surge = {k: tx.evaluate_surge(SURGE, m, thr[k], thresholds=table_t) for k, m in models.items()}

    # held-out web pages
    sets, copies = measurement_sets(train_docs)
    flagged: dict[str, dict[str, list]] = {k: {} for k in models}
    for k, m in models.items():
        for name, docs in sets.items():
            per = tx.doc_chunk_scores([d["text"] for d in docs], m, max_chars=50_000)
            top = [max(sc_c, key=lambda x: x[0]) if sc_c else (None, "") for sc_c in per]
            flagged[k][name] = [(sc, c, d) for d, (sc, c) in zip(docs, top) if sc is not None and sc > thr[k]]
    page_sets = list(sets)
    all_pages = [d for name in page_sets for d in sets[name]]
    # every English page of the sample crawl, both halves (not held out for the web-negatives model)
    whole = td.read_negatives(crawl_docs(), part="all")
    whole_flagged = {k: sum(1 for v in tx.doc_scores([d["text"] for d in whole], m, max_chars=50_000)
                            if v is not None and v > thr[k]) for k, m in models.items()}

    # ablation (decided beforehand, reported only): the Davidson-only training on raw tweets
    raw = td.read_davidson(DAVIDSON, clean=False)
    raw_card = tx.train(raw, work / "toxicity_raw.ftz", params)
    from classifiers import quality_fasttext
    raw_model = tx.load_model(str(work / "toxicity_raw.ftz"))
    raw_surge_auc = auc(y_s, quality_fasttext._predict_model(raw_model, texts_s, params["max_chars"], tx.LABELS))

    # --- documents with inserted comments (measurement half of the articles only) ------------------------
    arts = [d["text"] for d in sets["articles: gold text"] if len(d["text"]) > 500]
    doc_lines: dict[str, list[str]] = {}
    if arts:
        both = {k: (m, thr[k]) for k, m in models.items()}
        doc_lines["Davidson held-out tweets inserted"] = doc_scoring_table(
            both, arts, [r["text"] for r in te if r["label"] == 1], [r["text"] for r in te if r["label"] == 0])
        doc_lines["surge comments inserted"] = doc_scoring_table(
            both, arts, [t for t, y in zip(texts_s, y_s) if y], [t for t, y in zip(texts_s, y_s) if not y])

    # --- speed ----------------------------------------------------------------------------------------------
    import pyarrow as pa

    from pipeline.stages.toxicity import Toxicity

    speed_docs = [d["text"] for d in all_pages]
    stage = Toxicity(model_path=after, max_score=None)
    stage.setup()
    table = pa.table({"text": speed_docs, "lang": ["en"] * len(speed_docs)})
    stage.process(table.slice(0, 10))
    t0, c0 = time.perf_counter(), time.thread_time()
    stage.process(table)
    dt, dc = time.perf_counter() - t0, time.thread_time() - c0
    t0 = time.perf_counter()
    tx.predict(texts_s, after)
    surge_dt = time.perf_counter() - t0
    mean_chars = sum(map(len, speed_docs)) / max(len(speed_docs), 1)

    # --- report ---------------------------------------------------------------------------------------------
    try:
        from importlib.metadata import version
        ft_version = version("fasttext-numpy2-wheel")
    except Exception:  # noqa: BLE001
        ft_version = "?"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    ca = cards["+ web negatives"]
    wn = ca["data"].get("web_negatives", {})
    pa_ = ca["parameters"]
    K = list(models)

    def row(label: str, f) -> str:
        return f"| {label} | " + " | ".join(f(k) for k in K) + " |"

    def judged(chunk: str) -> tuple[str, str]:
        key = _norm(chunk)[:60]
        for k, v in JUDGED.items():
            if key.startswith(_norm(k)[:60]) or _norm(k)[:60].startswith(key):
                return v
        return ("not judged", "")

    n_pages = {name: len(docs) for name, docs in sets.items()}
    counts = {k: {"real": 0, "false": 0, "not judged": 0} for k in K}
    flag_lines: list[str] = []
    for k in K:
        flag_lines += [f"{k} (threshold {thr[k]}):", "",
                       "| set | page | score | most toxic chunk | judged |", "| --- | --- | ---: | --- | --- |"]
        for name in page_sets:
            for sc, chunk, d in sorted(flagged[k][name], key=lambda x: -x[0]):
                verdict, why = judged(chunk)
                counts[k][verdict.split()[0] if verdict != "not judged" else verdict] += 1
                c = chunk[:230].replace("|", "\\|").replace("\n", " ") + ("…" if len(chunk) > 230 else "")
                flag_lines.append(f"| {name} | {d.get('url') or d['key']} | {sc:.3f} | {c} | "
                                  f"{verdict}{': ' + why if why else ''} |")
        flag_lines.append("")

    out += [
        "# Toxicity classifier (fastText, Davidson tweets ± clean web negatives): measured", "",
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"shared with other jobs (load average {load:.1f} at the end), no GPU; Python {platform.python_version()}, "
        f"fasttext {ft_version}, numpy {np.__version__}. `python bench/toxicity_eval.py"
        f"{' --model ' + args.model if args.model else ''}`.", "",
        f"Two models, same parameters (`classifiers/train.yaml` `toxicity:`), trained in this run: **Davidson only** "
        f"(`davidson-hate-offensive.csv`, {len(rows):,} tweets after cleaning, label 1 = hate or offensive, "
        f"{sum(r['label'] for r in rows) / len(rows):.0%}; no `--negatives`, the model before this change) and "
        f"**+ web negatives**, the default recipe (`curate train toxicity --negatives ground-truth.json --negatives "
        f"data/train/quality.jsonl`, what `curate train all --toxicity-csv` runs): the same tweets plus "
        f"{wn.get('train_chunks_used', 0):,} clean web paragraph chunks as label 0 (`web_ratio` "
        f"{pa_.get('web_ratio')} x the Davidson training rows) and {wn.get('mixed_positives', 0):,} toxic training "
        f"tweets set in web text as label 1 (`mix_ratio` {pa_.get('mix_ratio')}: a tweet with the start or end of a "
        f"web chunk around it, up to 280 characters), cut like the stage cuts pages, from "
        f"{wn.get('documents', 0)} English pages of the training half: gold articles of the extraction benchmark, "
        f"and `prepare`'s quality.jsonl (the same articles as extracted pages, Debian handbook pages, random English "
        f"crawl pages). Screening with the LDNOOBW list: {wn.get('adult_pages', 0)} pages the dirty_words stage "
        f"would drop and {wn.get('blocklisted_chunks', 0)} chunks with a listed word are left out (not labelled "
        "clean by fiat). The other half (by article id; by site for the crawl, by page for the handbook: "
        "`classifiers.toxicity_data.web_measurement`) is never trained on and measures web false positives below. "
        f"Evaluation: `surge-toxicity-en.csv`, {surge[K[0]]['n']:,} comments ({surge[K[0]]['positives']} toxic), "
        "never trained or tuned on.", "",
        "Why the mixed positives: web negatives alone make every ordinary word strongly \"clean\", and fastText "
        "averages a chunk's word vectors, so a toxic comment sharing a chunk with page text is diluted away: on the "
        "held-out split a toxic tweet inserted into a held-out page was caught 73 % of the time by the Davidson-only "
        "model and 50 % by the model with web negatives only (table in *Choosing* below). With web text on both "
        "sides, register stops being a cue and the toxic words decide.", "",
        "## Before / after", "",
        "| | Davidson only | + web negatives |", "| --- | ---: | ---: |",
        row("decision threshold (model card)", lambda k: f"**{thr[k]}**"),
        row("Davidson held-out AUC", lambda k: f"{dav[k]['auc']:.4f}"),
        row("Davidson held-out at the threshold: precision / recall / FPR",
            lambda k: f"{dav[k]['at']['precision']:.3f} / {dav[k]['at']['recall']:.3f} / {dav[k]['at']['fpr']:.3f}"),
        row("surge AUC", lambda k: f"**{surge[k]['auc']:.4f}**"),
        row("surge at the threshold: precision / recall / F1",
            lambda k: f"**{surge[k]['precision']:.3f} / {surge[k]['recall']:.3f} / {surge[k]['f1']:.3f}**"),
        row("surge at the threshold: FPR / accuracy", lambda k: f"{surge[k]['fpr']:.3f} / {surge[k]['accuracy']:.3f}"),
        *[row(f"held-out web pages flagged: {name} ({n_pages[name]})",
              lambda k, name=name: _pct(len(flagged[k][name]), n_pages[name])) for name in page_sets],
        row(f"held-out web pages flagged: all rows ({len(all_pages)}; a page in two extractions counts twice)",
            lambda k: "**" + _pct(sum(len(v) for v in flagged[k].values()), len(all_pages)) + "**"),
        row(f"all {len(whole)} English sample-crawl pages (trafilatura; half of them trained on by the "
            "+ web model: not held out)", lambda k: _pct(whole_flagged[k], len(whole))),
        row("flagged held-out pages judged real / false positive / not judged",
            lambda k: f"{counts[k]['real']} / {counts[k]['false']} / {counts[k]['not judged']}"),
        row("model size (quantized)", lambda k: f"{cards[k]['size']['bytes'] / 1e3:.0f} kB"),
        row("training time (fastText, one thread)", lambda k: f"{cards[k]['speed']['train_s']} s"),
        "",
        "Thresholds: each model's card. Davidson only: Youden's J (TPR − FPR) on its held-out tweets. With web "
        "negatives (`threshold_rule: youden_web`): the held-out split also holds whole web pages (units never "
        "trained on), scored as the stage scores them, and the threshold maximizes TPR(toxic tweets) − "
        "max(FPR(neither tweets), share of held-out web pages flagged): Youden's J against the worse kind of "
        "negatives, so it is the tweets' Youden threshold unless web pages would be flagged more often than "
        "neutral tweets. On the seed-0 split: "
        + (f"{ca['heldout']['web']['pages']} held-out pages, {100 * ca['heldout']['web']['page_flag_rate']:.1f} % "
           f"flagged at the threshold, neither tweets {100 * dav[K[1]]['neither']:.1f} %, a held-out toxic tweet "
           f"inserted into a held-out page caught {100 * ca['heldout']['web']['inserted_toxic_flag_rate']:.1f} %."
           if ca["heldout"].get("web") else "no web pages held out."), "",
        f"Held-out web pages: English only; copies of training pages (a shared 100-character passage) dropped: "
        + ", ".join(f"{name} {n}" for name, n in copies.items()) + ". A page is flagged as the stage drops it: "
        "its most toxic 280-character chunk (with at least half of its words known to the model) scores above the "
        "threshold.", "",
        "## surge-ai toxicity comments (out of distribution, balanced)", "",
        "| threshold | P (Davidson only) | R | F1 | FPR | P (+ web negatives) | R | F1 | FPR |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for ra, rb in zip(surge[K[0]]["table"], surge[K[1]]["table"]):
        t = ra["threshold"]
        mark = " (" + ", ".join(("card, " + k) for k in K if abs(thr[k] - t) < 1e-9) + ")" if t in thr.values() else ""
        out.append(f"| {t}{mark} | " + " | ".join(_fmt(r[c]) for r in (ra, rb) for c in ("precision", "recall", "f1",
                                                                                      "fpr")) + " |")
    out += ["",
            f"Ablation (decided beforehand, not used to choose anything): the Davidson-only training on raw tweets "
            f"(no cleaning) gets held-out AUC {raw_card['heldout']['quantized']['auc']} and surge AUC "
            f"{_fmt(raw_surge_auc, 4)} (cleaned: {dav[K[0]]['auc']:.4f} / {surge[K[0]]['auc']:.4f}).", "",
            "Both models transfer only partly to surge: trained on 2017 tweets whose labels follow profanity and "
            "slurs, they catch comments that swear or insult with slurs and miss toxicity in plain words. The web "
            "data teaches what ordinary prose, recipes, news, boilerplate and technical text look like, not new kinds "
            "of toxicity: the AUC moves within the spread between splits (over the six splits of the sweep below: "
            "0.7191 Davidson only, 0.7255 the chosen recipe), but the scores of comments that are toxic only by their "
            "register (\"she's a hypocritical awful horrible ... human being\") fall, and at the tweet-matched card "
            "threshold surge recall is lower and precision higher. Compare at equal surge FPR in the table rather "
            "than at the two card thresholds.", ""]
    out += ["## Flagged held-out web pages", "",
            "Every held-out page each model flags, with its most toxic chunk, read by hand (real = the chunk has "
            "profanity, an insult or hate; mild = profanity not aimed at anyone; false = none of that). A page "
            "extracted both ways appears twice.", "", *flag_lines]
    if ratio_lines:
        out += ["## Choosing `web_ratio` and `mix_ratio` (held-out split only)", "",
                f"`web_ratio`: web training chunks per Davidson training row (repeated when there are fewer; "
                f"{len(web_rows):,} distinct chunks in the training half, about "
                f"{int(len(web_rows) * (1 - params['heldout'])):,} of them on the training side of a split); "
                "`mix_ratio`: toxic tweets set in web text per web training chunk. Each row: mean over "
                f"{len(RATIO_SEEDS)} splits/seeds, the trainer's held-out side only (tweets, and whole web pages of "
                "units never trained on, as they are and with a held-out toxic tweet inserted, three times each, "
                "scored as the stage scores them), threshold by the rule in train.yaml. J (stage task) = "
                "mean(TPR tweets, TPR pages with a toxic tweet) − max(FPR neither, FPR pages): the criterion. "
                "surge is shown but was not used to choose. The first row adds no web data but holds out the same "
                "pages, so its threshold follows the same rule (the Davidson-only model of the table above uses "
                "plain Youden: no pages).", "", *ratio_lines, "",
                "Choice rule: the highest J among the settings whose Davidson AUC is not below the "
                "Davidson-only model's. Web negatives alone (0.2 / 0) clear the held-out pages but lose the toxic "
                "tweet inside a page (J far below the Davidson-only row). With mixed positives, J is highest at "
                "web_ratio 0.2 / mix_ratio 1 among the settings that keep the Davidson AUC (0.35 and 0.5 lose it; "
                "mix_ratio 2 has a higher J but a lower Davidson AUC and tunes the model to the synthetic insert "
                "itself); among the mix_ratio 1 rows 0.2 also separates toxic tweets from clean pages best. "
                "mix_ratio 1 (as many mixed positives as web negatives) is the setting in which web text carries no "
                "class prior.", ""]
    if sweep_lines:
        out += ["## Hyperparameters (Davidson only, held-out tweets)", "",
                "Each variant changes one value of `classifiers/train.yaml` `toxicity:`; three splits/seeds each "
                "(Davidson-only training). dim 16 and 32 rank the held-out tweets almost identically (at 5 epochs and "
                "lr 0.1 the model stays close to linear), so the smaller one is kept.", "",
                *sweep_lines, ""]
    if doc_lines:
        out += ["## Scoring documents", "",
                f"{len(arts)} English gold articles of the measurement half (mean "
                f"{sum(map(len, arts)) / len(arts):,.0f} characters): each as is, with one non-toxic comment inserted "
                "as a paragraph at a random place, and with one or three toxic ones. Share flagged at each model "
                "card's threshold; AUC of the documents with toxic inserts vs the others.", ""]
        for name, lines in doc_lines.items():
            out += [f"{name}:", "", *lines, ""]
        out += ["Whole-text scoring dilutes a toxic paragraph away; small chunks make confident mistakes on clean "
                "text; the stage takes the maximum over 280-character chunks, counting only chunks with at least "
                "half of their words in the model's vocabulary.", ""]
    out += ["## Speed", "",
            f"The stage (+ web negatives model) on the {len(speed_docs)} held-out pages (mean {mean_chars:,.0f} "
            f"characters, up to 50,000 read): **{len(speed_docs) / dt:,.0f} docs/s** wall, "
            f"{len(speed_docs) / max(dc, 1e-9):,.0f} docs/s of one core's CPU time; short texts (`predict`, surge "
            f"comments): {len(texts_s) / surge_dt:,.0f} texts/s. Training wall time with data loading, threshold "
            f"and card: {before_wall:.1f} s (Davidson only)"
            + (f", {after_wall:.1f} s (+ web negatives)." if after_wall else "."), ""]
    text = "\n".join(out)
    Path(args.out).write_text(text)
    (work / "toxicity_flagged.json").write_text(json.dumps(
        {k: {name: [{"score": round(sc, 4), "url": d.get("url"), "chunk": c} for sc, c, d in v]
             for name, v in flagged[k].items()} for k in K}, indent=1, ensure_ascii=False))
    print(text)


if __name__ == "__main__":
    main()
