"""Toxicity classifier: cleaning, training through the CLI on a third of Davidson (with and without clean web
negatives), surge AUC, the stage (drops, tags, empty text, languages, missing model), the web-negative helpers,
and `curate train all --toxicity-csv`."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pytest

from classifiers import toxicity as tx
from classifiers import toxicity_data as td
from classifiers.train import build_parser
from classifiers.train import main as train_main

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DAVIDSON = SHARED / "eval" / "toxicity" / "davidson-hate-offensive.csv"
SURGE = SHARED / "eval" / "toxicity" / "surge-toxicity-en.csv"
ARTICLES = SHARED / "eval" / "extraction" / "scrapinghub" / "ground-truth.json"
needs_data = pytest.mark.skipif(not (DAVIDSON.exists() and SURGE.exists()),
                                reason=f"toxicity data not found under {SHARED / 'eval' / 'toxicity'}")

TOXIC = "Shut up, you stupid bitch. Nobody wants your ugly ass here, go fuck yourself."
NEUTRAL = ("The city council approved the new budget on Tuesday, allocating funds for road repairs, two new "
           "libraries and an expanded bus service that will connect the northern suburbs to the centre.")


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """A model trained through `curate train toxicity` on every third Davidson tweet (8k rows, ~2 s)."""
    if not (DAVIDSON.exists() and SURGE.exists()):
        pytest.skip(f"toxicity data not found under {SHARED / 'eval' / 'toxicity'}")
    d = tmp_path_factory.mktemp("toxicity")
    with open(DAVIDSON, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [r for i, r in enumerate(reader) if i % 3 == 0]
    with open(d / "davidson_third.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    out = d / "toxicity.ftz"
    assert train_main(["toxicity", "--csv", str(d / "davidson_third.csv"), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def web_model(model) -> Path:
    """The same third of Davidson plus the training half of the extraction benchmark's gold articles as
    clean web negatives (`--negatives ground-truth.json`)."""
    if not ARTICLES.exists():
        pytest.skip(f"extraction benchmark not found at {ARTICLES}")
    out = model.with_name("toxicity_web.ftz")
    assert train_main(["toxicity", "--csv", str(model.with_name("davidson_third.csv")), "--out", str(out),
                       "--negatives", str(ARTICLES)]) == 0
    return out


def test_clean_text_removes_tweet_markup_only():
    assert td.clean_text("!!! RT @mayasolovely: As a woman &amp; a man") == "!!! As a woman & a man"
    assert td.clean_text("&#8220;@WeAre_XCI: I know&#8221; &#128514;") == "“ I know” 😂"
    assert td.clean_text("&amp;#8220;quoted") == "“quoted"  # double-escaped
    assert td.clean_text("look http://t.co/h1UBsVbkGl and www.example.com/x now") == "look and now"
    assert td.clean_text("go #MAGA #1 fan") == "go MAGA 1 fan"
    # not handles: censored words and e-mail-like text keep their letters
    assert td.clean_text("You're talking about fu@ker Carlson") == "You're talking about fu@ker Carlson"
    assert td.clean_text("F&@k Stanton") == "F&@k Stanton"
    assert td.clean_text("") == "" and td.clean_text(None) == ""


@needs_data
def test_read_davidson_labels():
    rows = td.read_davidson(DAVIDSON)
    assert 24_000 < len(rows) <= 24_783
    by = {}
    for r in rows:
        by.setdefault(r["source"], set()).add(r["label"])
    assert by == {"hate": {1}, "offensive": {1}, "neither": {0}}
    assert 0.80 < sum(r["label"] for r in rows) / len(rows) < 0.86
    assert not any("&amp;" in r["text"] or r["text"].startswith("RT @") for r in rows)


def test_read_davidson_refuses_other_csv(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("text,is_toxic\nhello,Toxic\n")
    with pytest.raises(ValueError, match="not the Davidson CSV"):
        td.read_davidson(p)
    assert train_main(["toxicity", "--csv", str(tmp_path / "missing.csv")]) == 2


def test_choose_threshold_rules():
    y = [0, 0, 0, 1, 1, 1, 1, 1, 1, 1]
    s = [0.1, 0.2, 0.6, 0.5, 0.7, 0.8, 0.9, 0.9, 0.95, 0.99]
    assert tx.choose_threshold(y, s, "youden") == 0.65  # every negative below, 6 of 7 positives above
    assert tx.choose_threshold(y, s, 0.3) == 0.3
    with pytest.raises(ValueError):
        tx.choose_threshold([1, 1], [0.2, 0.3])
    r = tx.pr_at(y, s, 0.65)
    assert (r["precision"], r["recall"], r["fpr"]) == (1.0, round(6 / 7, 4), 0.0)


def test_chunks_are_tweet_sized():
    long_para = " ".join(["This sentence is about the weather and nothing else."] * 30)
    text = "Home\nAbout\n\n" + long_para + "\nshort line one\nshort line two"
    cs = td.chunks(text, 280)
    assert all(len(c) <= 280 + 20 for c in cs) and len(cs) == 6
    assert cs[0].startswith("Home About This sentence")  # short lines are not scored alone
    assert cs[-1].endswith("short line one short line two")
    assert " ".join(cs).split() == text.split()  # nothing lost
    assert td.chunks("", 280) == [] and td.chunks(None) == []


def test_card_threshold_and_heldout(model):
    card = json.loads(Path(str(model) + ".card.json").read_text())
    assert 0.0 < card["threshold"] < 1.0
    assert card["threshold"] == tx.card_threshold(model)
    assert card["task"].startswith("toxicity")
    assert card["heldout"]["quantized"]["auc"] > 0.93
    assert card["heldout"]["at_threshold"]["flagged_share_by_source"]["neither"] < 0.1
    assert "threshold" in Path(str(model) + ".card.md").read_text()


def test_surge_auc_clearly_above_chance(model):
    # every third Davidson row, 5 epochs: surge AUC measured 0.644-0.676 over the three thirds
    # (the full data: 0.726); a constant or a label-swapped model is at <= 0.5
    r = tx.evaluate_surge(SURGE, model)
    assert r["n"] == 1000 and r["positives"] == 501
    assert r["auc"] > 0.6
    assert r["threshold"] == tx.card_threshold(model)
    assert r["precision"] > 0.6  # at the card's threshold the flagged comments are mostly toxic
    ts = [row["threshold"] for row in r["table"]]
    assert ts == sorted(ts) and r["threshold"] in ts
    recalls = [row["recall"] for row in r["table"]]
    assert recalls == sorted(recalls, reverse=True)


def test_predict_and_empty_texts(model):
    s = tx.predict([TOXIC, NEUTRAL, "", None], model)
    assert s[0] > 0.9 and s[1] < 0.5 and s[2:] == [0.0, 0.0]
    assert tx.predict([], model) == []
    assert tx.doc_scores(["", None, "  \n\n ", "ок"], model) == [None, None, None, None]


def _batch(texts, langs):
    return pa.table({"text": texts, "lang": langs})


def test_stage_drops_toxic_keeps_neutral(model):
    from pipeline.stages.toxicity import Toxicity

    st = Toxicity(model_path=str(model))
    st.setup()
    page = "\n".join([NEUTRAL] * 5 + [TOXIC] + [NEUTRAL] * 5)  # one toxic comment in a long page
    texts = [TOXIC, NEUTRAL, page, "", TOXIC]
    res = st.process(_batch(texts, ["en", "en", "en", "en", "de"]))
    sc = res.columns["toxicity"]
    assert sc[0] > tx.card_threshold(model) and sc[2] > tx.card_threshold(model)
    assert [d.reason if d else None for d in res.drops] == ["toxic", None, "toxic", None, None]
    assert res.drops[0].score == sc[0]
    assert 0.0 <= sc[1] < 0.5
    assert sc[3] is None and sc[4] is None  # empty; a language the model does not know

    tag = Toxicity(model_path=str(model), max_score=None, languages=None)
    tag.setup()
    res = tag.process(_batch(texts, ["en", "en", "en", "en", "de"]))
    assert all(d is None for d in res.drops) and res.columns["toxicity"][4] > 0.9
    whole = Toxicity(model_path=str(model), chunk_chars=0)
    whole.setup()
    assert whole.process(_batch([page], ["en"])).columns["toxicity"][0] < sc[2]  # diluted


def test_stage_in_the_runner_records_drops(model):
    from pipeline.config import build_stages, validate
    from pipeline.stats import StageStats
    from pipeline.worker import run_stages

    cfg = validate({"stages": [{"toxicity": {"model_path": str(model), "max_score": 0.9}}]})
    stages = build_stages(cfg)
    for st in stages:
        st.setup()
    table = pa.table({"id": ["a/1", "a/2"], "url": ["http://a", "http://b"], "warc_file": ["a", "a"],
                      "warc_offset": [0, 10], "text": [TOXIC, NEUTRAL], "lang": ["en", "en"]})
    stats, rejects = [StageStats("toxicity")], []
    kept = run_stages(table, stages, stats, rejects.append)
    assert kept.column("id").to_pylist() == ["a/2"] and "toxicity" in kept.column_names
    assert stats[0].drops == {"toxic": 1} and rejects[0]["reason"] == ["toxic"]


def test_stage_missing_model_and_bad_parameters(tmp_path, model):
    from pipeline.stages.toxicity import Toxicity

    with pytest.raises(FileNotFoundError, match=r"toxicity model not found at .*nope\.ftz.*make models"):
        Toxicity(model_path=str(tmp_path / "nope.ftz")).setup()
    with pytest.raises(FileNotFoundError, match="toxicity model not found"):
        tx.predict(["x"], tmp_path / "nope.ftz")
    with pytest.raises(ValueError, match="max_score"):
        Toxicity(max_score="high")
    with pytest.raises(ValueError, match="unknown parameter"):
        Toxicity(min_score=0.3)
    bare = tmp_path / "bare.ftz"  # a model without its card: 'card' cannot be resolved
    bare.write_bytes(model.read_bytes())
    with pytest.raises(ValueError, match="no threshold"):
        Toxicity(model_path=str(bare)).setup()
    st = Toxicity(model_path=str(bare), max_score=0.5)
    st.setup()


def test_negatives_lower_the_clean_paragraph_flag_rate(model, web_model):
    """The point of --negatives: clean web text that the Davidson-only model flags is no longer flagged. Held out:
    the measurement half of the gold articles (never trained on), at each model's card threshold. Measured:
    6 of 83 articles (6 of 1,659 chunks) flagged without negatives, 0 with; above 0.5: 214 vs 17 chunks."""
    held = td.read_negatives([ARTICLES], part="measure")
    assert 60 < len(held) < 100
    card = json.loads(Path(str(web_model) + ".card.json").read_text())
    assert card["data"]["negatives"]["part"] == "train" and card["data"]["web_negatives"]["train_chunks_used"] > 500
    assert card["heldout"]["web"]["pages"] > 5 and card["heldout"]["davidson_auc"] > 0.93
    texts = [d["text"] for d in held]
    chunks = [c for t in texts for c in td.chunks(t)]
    flagged = {}
    for name, m in (("without", model), ("with", web_model)):
        t = tx.card_threshold(m)
        sc = [s for s in tx.chunk_scores(chunks, m) if s is not None]
        pages = [s for s in tx.doc_scores(texts, m) if s is not None]
        flagged[name] = (sum(s > t for s in sc), sum(s > 0.5 for s in sc), sum(s > t for s in pages))
    assert flagged["without"][0] >= 2 and flagged["with"][0] < flagged["without"][0]
    assert flagged["with"][1] * 4 < flagged["without"][1]
    assert flagged["with"][2] < flagged["without"][2]


def test_negatives_model_still_catches_a_toxic_paragraph(web_model):
    from pipeline.stages.toxicity import Toxicity

    st = Toxicity(model_path=str(web_model))
    st.setup()
    page = "\n".join([NEUTRAL] * 5 + [TOXIC] + [NEUTRAL] * 5)
    res = st.process(_batch([TOXIC, NEUTRAL, page], ["en"] * 3))
    assert [d.reason if d else None for d in res.drops] == ["toxic", None, "toxic"]
    assert tx.evaluate_surge(SURGE, web_model)["auc"] > 0.6


def test_read_negatives_formats_and_measurement_half(tmp_path):
    import pyarrow.parquet as pq

    para = "A calm paragraph about gardening, watering the tomatoes in the morning and mulching the beds. " * 3
    rows = [{"text": f"{i} {para}", "url": f"https://site{i}.example.com/page", "lang": "en"} for i in range(40)]
    rows.append({"text": "Ein ruhiger Absatz über Gartenarbeit. " * 5, "url": "https://de.example.com/", "lang": "de"})
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "docs.parquet")
    (tmp_path / "q.jsonl").write_text("\n".join(json.dumps({"text": r["text"], "label": 0, "url": r["url"]})
                                                 for r in rows[:40]) + "\n")
    gt = {f"id{i}": {"articleBody": f"Article {i}. {para}", "url": f"https://news{i}.example.com/a"} for i in range(20)}
    (tmp_path / "ground-truth.json").write_text(json.dumps(gt))

    tr = td.read_negatives([tmp_path / "*.parquet"], part="train")
    me = td.read_negatives([str(tmp_path / "docs.parquet")], part="measure")
    al = td.read_negatives([str(tmp_path / "docs.parquet")], part="all")
    assert len(al) == 40 and len(tr) + len(me) == 40 and tr and me  # the German page is skipped
    assert not {d["key"] for d in tr} & {d["key"] for d in me}
    assert all(not td.web_measurement(d["key"]) for d in tr)
    # the same text again (JSONL, a label column is ignored) is kept once; ground-truth.json: articles by id
    both = td.read_negatives([tmp_path / "docs.parquet", tmp_path / "q.jsonl"], part="all")
    assert len(both) == 40
    arts = td.read_negatives([tmp_path / "ground-truth.json"], part="all", lang=None)
    assert len(arts) == 20 and arts[0]["key"] == "article:id0" and arts[0]["source"] == "articles"
    assert len(td.read_negatives([tmp_path], part="all", lang=None)) == 20  # the benchmark's folder
    with pytest.raises(FileNotFoundError, match="negatives not found"):
        td.read_negatives([tmp_path / "nope*.parquet"])
    (tmp_path / "bad.jsonl").write_text('{"body": "x"}\n')
    with pytest.raises(ValueError, match="no 'text' column"):
        td.read_negatives([tmp_path / "bad.jsonl"])
    with pytest.raises(ValueError, match="part must be"):
        td.read_negatives([tmp_path / "q.jsonl"], part="test")


def test_web_key_units():
    assert td.web_key({"group": "article:abc", "url": "https://x.com/a"}) == "article:abc"
    assert td.web_key({"url": "https://www.example.com/a/b?x=1"}) == "example.com"
    # the handbook is split by page; translations and versions of a page stay together
    a = td.web_key({"url": "https://debian-handbook.info/browse/en-US/stable/apt.html"})
    b = td.web_key({"url": "https://debian-handbook.info/browse/de-DE/bullseye/apt.html"})
    assert a == b == "debian-handbook.info/apt.html"
    assert td.web_key({"text": "no url here"}).startswith("text:")


def test_negative_chunks_screen_and_chunk_like_the_stage(tmp_path):
    words = tmp_path / "en"
    words.write_text("fuck\nporn\n")
    clean = "\n".join(["The council met on Tuesday to discuss the new library and the bus routes downtown."] * 3 +
                      ["One speaker said the plan was a fuck up and left early."] +
                      [" ".join(["Residents asked about parking near the station and the park."] * 8)])
    adult = " ".join(["free porn videos"] * 20)
    rows, stats = td.negative_chunks([{"text": clean, "key": "a.example"}, {"text": adult, "key": "b.example"}],
                                     blocklist=words)
    assert stats["adult_pages"] == 1 and stats["blocklisted_chunks"] == 1
    assert rows and all(r["label"] == 0 and r["group"] == "web:a.example" for r in rows)
    assert not any("fuck" in r["text"] for r in rows)
    assert all(len(r["text"]) <= 300 for r in rows)
    kept = {r["text"] for r in rows}
    assert kept <= {td.clean_text(c) for c in td.chunks(clean)}  # the stage's chunks, cleaned
    rows0, stats0 = td.negative_chunks([{"text": clean, "key": "a"}], blocklist=None)
    assert stats0["blocklisted_chunks"] == 0 and len(rows0) > len(rows) - 1


def test_take_chunks_and_mixed_positives():
    rows = [{"text": f"chunk {g} {i}", "group": f"web:{g}", "label": 0}
            for g in "abc" for i in range(5 if g == "a" else 1)]
    got = td.take_chunks(rows, 3, seed=0)
    assert len(got) == 3 and {r["group"] for r in got} == {"web:a", "web:b", "web:c"}  # round-robin over units
    assert len(td.take_chunks(rows, 16, seed=0)) == 16 and td.take_chunks(rows, 0) == []  # repeated when short
    toxic = [{"text": TOXIC, "label": 1}]
    mixed = td.mixed_positives(toxic, [{"text": NEUTRAL}], 10, 280, seed=0)
    assert len(mixed) == 10 and all(m["label"] == 1 and TOXIC in m["text"] and len(m["text"]) <= 280 for m in mixed)
    assert any(m["text"] != TOXIC for m in mixed)
    assert {m["group"] for m in mixed} == {td.text_key(TOXIC)}  # the tweet's side of the held-out split


def test_choose_threshold_web_rises_for_web_pages():
    tox = [0.6, 0.7, 0.8, 0.9, 0.95]
    nei = [0.1, 0.2, 0.3, 0.4, 0.5]
    assert tx.choose_threshold_web(tox, nei, [0.0, 0.1]) == tx.choose_threshold([1] * 5 + [0] * 5, tox + nei)
    assert tx.choose_threshold([1] * 5 + [0] * 5, tox + nei) == 0.55
    # pages scoring 0.55 would be flagged at the tweets' threshold 0.55: it rises above them, below the toxic tweets
    assert tx.choose_threshold_web(tox, nei, [0.1, 0.55, 0.55]) == 0.575


def test_train_all_runs_toxicity_step(monkeypatch, tmp_path):
    import subprocess

    import classifiers.train as train_mod

    calls = []
    monkeypatch.setattr(train_mod.subprocess, "run",
                        lambda argv, **kw: calls.append(argv) or subprocess.CompletedProcess(argv, 0))
    args = build_parser().parse_args(["all", "--warc", "x.warc.gz", "--models", str(tmp_path),
                                      "--toxicity-csv", "d.csv"])
    assert args.func(args) == 0
    steps = [c[3] for c in calls]
    assert steps[-1] == "toxicity" and calls[-1][4:8] == ["--csv", "d.csv", "--out", str(tmp_path / "toxicity.ftz")]
    assert calls[-1][8:10] == ["--negatives", str(Path("data/train") / "quality.jsonl")]  # prepare's pages
    calls.clear()
    args = build_parser().parse_args(["all", "--warc", "x.warc.gz", "--articles", "bench_dir",
                                      "--toxicity-csv", "d.csv"])
    assert args.func(args) == 0
    assert calls[-1][8:12] == ["--negatives", str(Path("bench_dir") / "ground-truth.json"),
                               "--negatives", str(Path("data/train") / "quality.jsonl")]
    calls.clear()
    args = build_parser().parse_args(["all", "--warc", "x.warc.gz"])
    assert args.func(args) == 0
    assert "toxicity" not in [c[3] for c in calls]
