"""How much the heuristic filters' decisions change with the fast (regex) word tokenizer vs spaCy's.

Runs read → url_filter → extract → langid once on the given WARC files, then the heuristic stages of
the default config twice (word_tokenizer fast / spacy) on the same documents, and prints per stage the
documents whose keep/drop decision differs, and the time per document.

    .venv/bin/python bench/tokenizer_agreement.py data/sample/*.warc.gz
"""

from __future__ import annotations

import platform
import sys
import time
from datetime import date

import pyarrow as pa

from pipeline.config import build_stages, load_config
from pipeline.stats import StageStats
from pipeline.worker import iter_batches, run_stages


def main(paths: list[str]) -> None:
    cfg = load_config()
    names = [next(iter(e)) for e in cfg["stages"]]
    split = names.index("langid") + 1
    prefix = build_stages(cfg)[:split]
    for st in prefix:
        st.setup()
    tables = []
    for path in paths:
        for batch in iter_batches(path, cfg, StageStats("read"), lambda _: None, {"records_other": 0}):
            tables.append(run_stages(batch, prefix, [StageStats(s.name) for s in prefix], lambda _: None))
    docs = pa.concat_tables(tables)
    decisions, times = {}, {}
    for tok in ("fast", "spacy"):
        stages = build_stages({**cfg, "word_tokenizer": tok})[split:]
        fitted_sample = docs.select(["text", "lang", "url"])
        for st in stages:
            if st.fits:
                st.load_fitted(st.fit(fitted_sample))
            st.setup()
        per_stage: dict[str, dict[str, str | None]] = {}
        t = {}
        for st in stages:  # each stage on all documents, to compare decisions stage by stage
            t0 = time.perf_counter()
            res = st.process(docs)
            t[st.name] = time.perf_counter() - t0
            per_stage[st.name] = {i: (d.reason if d else None) for i, d in zip(docs.column("id").to_pylist(),
                                                                                  res.drops)}
        decisions[tok], times[tok] = per_stage, t
    n = docs.num_rows
    lines = [f"# Word tokenizer: fast (regex) vs spaCy — {n} documents after langid, {len(paths)} WARC files",
             "", f"Machine: {platform.machine()}, {__import__('os').cpu_count()} cores; {date.today()}", "",
             "| stage | drops fast | drops spacy | decisions differ | % of docs | ms/doc fast | ms/doc spacy |",
             "|---|---|---|---|---|---|---|"]
    for name in decisions["fast"]:
        f, s = decisions["fast"][name], decisions["spacy"][name]
        diff = sum((f[i] is None) != (s[i] is None) for i in f)
        lines.append(f"| {name} | {sum(v is not None for v in f.values())} | {sum(v is not None for v in s.values())}"
                     f" | {diff} | {100 * diff / n:.1f} | {1000 * times['fast'][name] / n:.2f}"
                     f" | {1000 * times['spacy'][name] / n:.2f} |")
    fk = {i for i in decisions["fast"]["kl_divergence"] if all(decisions["fast"][s][i] is None for s in decisions["fast"])}
    sk = {i for i in decisions["spacy"]["kl_divergence"] if all(decisions["spacy"][s][i] is None for s in decisions["spacy"])}
    lines += ["", f"Kept by all heuristics: fast {len(fk)}, spacy {len(sk)}, both {len(fk & sk)}, "
              f"only one of them {len(fk ^ sk)} ({100 * len(fk ^ sk) / n:.1f}% of documents)."]
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:] or sys.exit(__doc__))
