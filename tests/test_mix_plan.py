"""Mixture planning and the mix: config, without Ray: weights by tokens, epoch caps, bad input."""

from __future__ import annotations

import time

import pytest

from mixtures.config import LLAMA3_WEIGHTS, MixConfigError, MixError, parse_budget, validate_mix
from mixtures.plan import blend, blend_string, plan_mixture, waterfill


def comp(category, bucket, tokens, docs=None, topic=None):
    return {"category": category, "bucket": bucket, "topic": topic, "tokens": tokens,
            "docs": docs if docs is not None else max(1, tokens // 100)}


# 10M general (three quality buckets), 2M math, 1.5M code, 3M multilingual (two languages).
CORPUS = {
    "general.q0": comp("general", "q0", 4_000_000),
    "general.q1": comp("general", "q1", 4_000_000),
    "general.q2": comp("general", "q2", 2_000_000),
    "math.q2": comp("math", "q2", 1_000_000),
    "math.qna": comp("math", "qna", 1_000_000),
    "code.qna": comp("code", "qna", 1_500_000),
    "multilingual.de.qna": comp("multilingual", "qna", 2_000_000),
    "multilingual.fr.qna": comp("multilingual", "qna", 1_000_000),
}
TOTAL = sum(c["tokens"] for c in CORPUS.values())


def mixture(**over):
    cfg = validate_mix({"main": over})
    return cfg["main"]


def plan(components=CORPUS, **over):
    return plan_mixture("main", mixture(**over), components, "q2", sum(c["tokens"] for c in components.values()))


def test_llama3_weights_by_tokens_are_met_exactly():
    p = plan(total_tokens=10_000_000)
    assert p["total_tokens"] == 10_000_000
    for cat, w in LLAMA3_WEIGHTS.items():
        assert p["categories"][cat]["requested_weight"] == pytest.approx(w)
        assert p["categories"][cat]["achieved_weight"] == pytest.approx(w, abs=1e-6)
    assert not p["warnings"]
    # math: 2.5M tokens from 2M available -> its top bucket upsampled; general: 5M from 10M -> downsampled.
    assert p["components"]["math.q2"]["epochs"] > 1
    assert p["components"]["general.q1"]["epochs"] < 1
    # Quality weights are relative sampling rates inside a category: q2 : q1 : q0 = 2 : 1 : 0.5.
    g = p["components"]
    assert g["general.q2"]["epochs"] / g["general.q1"]["epochs"] == pytest.approx(2.0)
    assert g["general.q1"]["epochs"] / g["general.q0"]["epochs"] == pytest.approx(2.0)
    # Achieved weights are token shares and sum to 1.
    assert sum(c["achieved_weight"] for c in g.values()) == pytest.approx(1.0)
    assert sum(c["tokens"] for c in g.values()) == pytest.approx(10_000_000, abs=len(g))


def test_epoch_cap_per_component_and_redistribution_inside_category():
    # code wants 17% of 40M = 6.8M from 1.5M tokens: 4.53 epochs > cap 4 -> capped; code is short.
    p = plan(total_tokens=40_000_000, max_epochs=4)
    code = p["components"]["code.qna"]
    assert code["capped"] and code["epochs"] == pytest.approx(4.0)
    assert p["categories"]["code"]["short"]
    assert any("short" in w for w in p["warnings"])
    assert p["total_tokens"] == 40_000_000  # redistribute keeps the budget
    assert p["categories"]["code"]["achieved_weight"] < 0.17
    # Inside math, q2 (x2) would need more than the cap when math is pushed: it is capped, math.qna takes the rest.
    p = plan(total_tokens=20_000_000, max_epochs={"default": 4, "math": 3})
    m = p["components"]
    assert m["math.q2"]["epochs"] <= 3 + 1e-9
    assert p["categories"]["math"]["tokens"] == pytest.approx(0.25 * 20_000_000, rel=1e-6)
    assert m["math.q2"]["capped"] and not m["math.qna"]["capped"]


def test_weights_that_do_not_sum_to_one_are_normalized_with_a_warning():
    p = plan(total_tokens=8_000_000, weights={"general": 5, "math": 2.5, "code": 1.7, "multilingual": 0.8})
    assert any("normalized" in w for w in p["warnings"])
    for cat, w in LLAMA3_WEIGHTS.items():
        assert p["categories"][cat]["achieved_weight"] == pytest.approx(w, abs=1e-6)


def test_category_with_zero_documents():
    no_math = {k: v for k, v in CORPUS.items() if not k.startswith("math")}
    # redistribute (default): warn, share math's 25% among the others, keep the budget.
    p = plan(no_math, total_tokens=8_000_000)
    assert any("'math' has no documents" in w for w in p["warnings"])
    assert p["categories"]["math"]["achieved_weight"] == 0
    assert p["total_tokens"] == 8_000_000
    others = {k: LLAMA3_WEIGHTS[k] / 0.75 for k in ("general", "code", "multilingual")}
    for cat, w in others.items():
        assert p["categories"][cat]["achieved_weight"] == pytest.approx(w, abs=1e-6)
    # shrink cannot keep a weight on a category with no data: refuse clearly.
    with pytest.raises(MixError, match="no usable tokens"):
        plan(no_math, total_tokens=8_000_000, on_short="shrink")
    with pytest.raises(MixError, match="short categories: math"):
        plan(no_math, total_tokens=8_000_000, on_short="error")


def test_shrink_keeps_weights_and_lowers_the_budget():
    p = plan(total_tokens=40_000_000, on_short="shrink", max_epochs=4)
    assert p["total_tokens"] < 40_000_000
    assert p["total_tokens"] == pytest.approx(2_000_000 * 4 / 0.25, rel=1e-6)  # math (8M with epochs) binds
    for cat, w in LLAMA3_WEIGHTS.items():
        assert p["categories"][cat]["achieved_weight"] == pytest.approx(w, abs=1e-6)
    assert any("shrunk" in w for w in p["warnings"])


def test_budget_larger_than_data_times_epoch_cap_is_refused_without_looping():
    t0 = time.perf_counter()
    with pytest.raises(MixError, match="epoch cap") as e:
        plan(total_tokens="1T", max_epochs=4)
    assert "66M" in str(e.value)  # 16.5M usable tokens x 4 epochs
    assert time.perf_counter() - t0 < 1.0
    with pytest.raises(MixError, match="epoch cap"):
        plan(total_tokens="4.01x", max_epochs=4)
    assert plan(total_tokens="4x", max_epochs=4)["total_tokens"] == 4 * TOTAL


def test_topic_downsampling_and_zero_quality_weight():
    corpus = {**CORPUS, "general.q1.arts_entertainment": comp("general", "q1", 3_000_000,
                                                                 topic="arts_entertainment")}
    p = plan(corpus, total_tokens=10_000_000, topic_weights={"arts_entertainment": 0.5},
             quality_weights={"q0": 0.0, "q1": 1.0, "q2": 1.0})
    c = p["components"]
    assert c["general.q1.arts_entertainment"]["epochs"] == pytest.approx(0.5 * c["general.q1"]["epochs"])
    assert c["general.q0"]["tokens"] == 0 and c["general.q0"]["achieved_weight"] == 0


def test_anneal_defaults_take_the_top_bucket_code_and_math():
    cfg = validate_mix({})
    p = plan_mixture("anneal", cfg["anneal"], CORPUS, "q2", TOTAL)
    used = {n for n, c in p["components"].items() if c["tokens"] > 0}
    assert used == {"general.q2", "math.q2", "math.qna", "code.qna"}
    assert p["total_tokens"] == round(0.05 * TOTAL)
    assert p["categories"]["math"]["achieved_weight"] == pytest.approx(0.35, abs=1e-6)


def test_blend_string_splits_component_weight_over_its_files():
    p = plan(total_tokens=10_000_000)
    files = {n: [{"prefix": f"tokens/{n}/{n}-00000", "tokens": c["tokens"] // 4},
                 {"prefix": f"tokens/{n}/{n}-00001", "tokens": c["tokens"] - c["tokens"] // 4}]
             for n, c in CORPUS.items()}
    entries = blend(p, files)
    weights = entries[0::2]
    assert sum(weights) == pytest.approx(1.0, abs=1e-8)
    by_comp = {}
    for w, prefix in zip(entries[0::2], entries[1::2]):
        by_comp[prefix.split("/")[1]] = by_comp.get(prefix.split("/")[1], 0) + w
    for n, w in by_comp.items():
        assert w == pytest.approx(p["components"][n]["achieved_weight"], abs=1e-9)
    s = blend_string(entries)
    assert s.split()[1] == entries[1] and float(s.split()[0]) == pytest.approx(entries[0])
    assert blend(p, files, root="/data/mix")[1].startswith("/data/mix/tokens/")


def test_waterfill():
    assert waterfill({"a": 1, "b": 1}, {"a": 10, "b": 10}, 10) == {"a": 5, "b": 5}
    assert waterfill({"a": 1, "b": 1}, {"a": 2, "b": 10}, 10) == {"a": 2, "b": 8}
    assert waterfill({"a": 1, "b": 0}, {"a": 2, "b": 10}, 10) == {"a": 2, "b": 0}  # all capped: no loop


@pytest.mark.parametrize("cfg, key", [
    ({"main": {"wieghts": {"general": 1}}}, "mix.main.wieghts"),
    ({"main": {"weights": {"general": -1}}}, "mix.main.weights.general"),
    ({"main": {"weights": {"general": 0}}}, "mix.main.weights"),
    ({"main": {"quality_weights": {"q7": 1}}}, "mix.main.quality_weights.q7"),
    ({"main": {"total_tokens": "lots"}}, "mix.main.total_tokens"),
    ({"main": {"max_epochs": 0}}, "mix.main.max_epochs"),
    ({"main": {"on_short": "loop"}}, "mix.main.on_short"),
    ({"anneal": {"materialize": "yes"}}, "mix.anneal.materialize"),
    ({"tokenizer": {"name": "gpt5"}}, "mix.tokenizer.name"),
    ({"tokenizer": {"engine": "sentencepiece"}}, "mix.tokenizer.engine"),
    ({"components": {"quality_edges": [0.8, 0.5]}}, "mix.components.quality_edges"),
    ({"components": {"lang_groups": {"a": ["fr"], "b": ["fr"]}}}, "mix.components.lang_groups.b"),
    ({"seed": "x"}, "mix.seed"),
    ({"shards": 3}, "mix.shards"),
])
def test_config_errors_name_the_key(cfg, key):
    with pytest.raises(MixConfigError, match=key.replace(".", r"\.")):
        validate_mix(cfg)


def test_config_defaults_and_budget_parsing():
    cfg = validate_mix(None)
    assert cfg["tokenizer"]["name"] == "llama3" and cfg["main"]["weights"] == LLAMA3_WEIGHTS
    assert cfg["anneal"]["materialize"] and not cfg["main"]["materialize"]
    assert validate_mix(cfg) == cfg  # idempotent
    assert validate_mix({"anneal": False})["anneal"] is None
    assert parse_budget("15T", "k") == ("abs", 15e12)
    assert parse_budget("200M", "k") == ("abs", 200e6)
    assert parse_budget("0.5x", "k") == ("x", 0.5)
    assert parse_budget(1000, "k") == ("abs", 1000.0)
    with pytest.raises(MixConfigError):
        validate_mix({"main": {"max_epochs": {"default": 4, "math": -1}}})
