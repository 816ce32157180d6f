"""A small curated corpus (OUT/clean/*.parquet) for the tokenize-and-mix tests (tests/test_mix*.py).

Text comes from the shared evaluation data, read in place: language-ID sentences
(../shared/eval/langid/sentences/*.txt) and extraction ground truth (../shared/eval/extraction/...).
Math and code documents are generated. If the shared data is missing, generated English stands in.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SENTENCES = SHARED / "eval" / "langid" / "sentences"
GROUND_TRUTH = SHARED / "eval" / "extraction" / "scrapinghub" / "ground-truth.json"
TOPICS = ["science", "arts_entertainment", "sports"]


def _sentences(lang: str) -> list[str]:
    p = SENTENCES / f"{lang}.txt"
    if p.exists():
        return [s for s in p.read_text(encoding="utf-8").splitlines() if s.strip()]
    return [f"Sentence number {i} in {lang} about the weather, the news and the market." for i in range(200)]


def _articles() -> list[str]:
    if GROUND_TRUTH.exists():
        gt = json.loads(GROUND_TRUTH.read_text(encoding="utf-8"))
        return [v["articleBody"][:1500] for _, v in sorted(gt.items()) if v.get("articleBody")]
    return [" ".join(_sentences("en")[i:i + 12]) for i in range(0, 180, 12)]


def _math(rng: random.Random) -> str:
    a, b, x = rng.randint(2, 9), rng.randint(1, 50), rng.randint(1, 30)
    c = a * x + b
    return (f"Problem. Solve {a}x + {b} = {c} for x.\n\nSolution. Subtract {b} from both sides: {a}x = {c - b}. "
            f"Divide by {a}: x = {x}. Check: {a} * {x} + {b} = {c}. Therefore the answer is $x = {x}$, "
            f"and $x^2 = {x * x}$.")


def _code(rng: random.Random, i: int) -> str:
    n = rng.randint(2, 12)
    return (f"def series_{i}(values):\n    \"\"\"Sum of the first {n} squares in values.\"\"\"\n"
            f"    total = 0\n    for v in values[:{n}]:\n        total += v * v  # square\n    return total\n\n\n"
            f"if __name__ == \"__main__\":\n    print(series_{i}(list(range({n * 3}))))\n")


def make_clean(out: Path, optional_columns: bool = True, seed: int = 0) -> Path:
    """Write OUT/clean/{a,b,c}.parquet (about 300 documents); return OUT.

    With ``optional_columns``, shards a and b carry category/topic/quality_fasttext (b has a few null scores,
    an empty text and special-token text); shard c never has them (derived categories, bucket qna).
    """
    rng = random.Random(seed)
    en, articles = _sentences("en"), _articles()
    other = {lang: _sentences(lang) for lang in ("de", "fr", "ja")}
    clean = out / "clean"
    clean.mkdir(parents=True, exist_ok=True)

    def doc(shard: str, i: int, text: str, lang: str, **extra) -> dict:
        return {"id": f"{shard}/{i}", "url": f"https://example.org/{shard}/{i}", "text": text, "lang": lang,
                "warc_file": f"{shard}.warc.gz", "warc_offset": 1000 * i, **extra}

    for shard, n in (("a", 120), ("b", 110), ("c", 70)):
        rows = []
        for i in range(n):
            kind = rng.choices(["general", "math", "code", "multilingual"], [0.45, 0.2, 0.15, 0.2])[0]
            if kind == "general":
                text = (articles[rng.randrange(len(articles))] if rng.random() < 0.4
                        else " ".join(rng.sample(en, rng.randint(3, 8))))
                lang = "en"
            elif kind == "math":
                text, lang = _math(rng), "en"
            elif kind == "code":
                text, lang = _code(rng, i), "en"
            else:
                lang = rng.choice(sorted(other))
                text = ("" if lang == "ja" else " ").join(rng.sample(other[lang], rng.randint(3, 8)))
            extra = {}
            if optional_columns and shard != "c":
                q = round(rng.random(), 4)
                extra = {"category": kind, "topic": rng.choice(TOPICS) if kind == "general" else None,
                         "quality_fasttext": None if (shard == "b" and i % 17 == 0) else q}
            elif kind in ("math", "code") and shard == "c":
                pass  # no category column: derived (general, since lang is en)
            rows.append(doc(shard, i, text, lang, **extra))
        if shard == "b":
            rows[5]["text"] = ""  # an empty document: skipped, counted
            rows[6]["text"] = "A page that quotes <|end_of_text|> and <|begin_of_text|> literally. " + rows[6]["text"]
        pq.write_table(pa.Table.from_pylist(rows), clean / f"{shard}.parquet")
    return out


def test_corpus_shape(tmp_path):
    out = make_clean(tmp_path)
    a = pq.read_table(out / "clean" / "a.parquet")
    c = pq.read_table(out / "clean" / "c.parquet")
    assert {"id", "url", "text", "lang", "warc_file", "warc_offset", "category", "topic",
            "quality_fasttext"} <= set(a.schema.names)
    assert "category" not in c.schema.names and "quality_fasttext" not in c.schema.names
    assert set(a.column("category").to_pylist()) == {"general", "math", "code", "multilingual"}
