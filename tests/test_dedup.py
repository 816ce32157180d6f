"""Dedup phase: hashing and MinHash against datasketch, union-find, URL keys, config, and the
whole phase on Ray (decisions, applied output, resume, threshold changes, bad inputs)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from datasketch import MinHash, MinHashLSH

import dedup
from dedup.components import components_reference, connected_components
from dedup.hashing import (MinHasher, band_hashes, hash_strings, hash_strings_reference, sequence_keys,
                           shingle_hashes, shingle_hashes_reference, word_hashes, word_spans, words_reference)
from dedup.synth import (doc_row, jaccard, random_words, shingle_set, substitute, to_text, vocabulary,
                         write_shard)
from dedup.urls import normalize_url

VOCAB = vocabulary(20_000, seed=3)


def words_text(rng, n, line_every=0):
    return to_text(VOCAB, random_words(rng, VOCAB, n), line_every)


# ------------------------------------------------------------------ hashing


def test_hash_strings_matches_reference_definition():
    rng = random.Random(1)
    strings = ["", None, "a", "abcdefgh", "abcdefghi", "é", "naïve café", "x" * 256, "y" * 257, "z" * 5000,
               "\x00\x01", "日本語のテキスト"]
    strings += ["".join(rng.choice("abcé ") for _ in range(rng.randint(0, 40))) for _ in range(200)]
    arr = pa.array(strings, type=pa.string())
    got = hash_strings(arr).tolist()
    assert got == hash_strings_reference(strings)
    assert hash_strings(arr.slice(7, 30)).tolist() == got[7:37]  # sliced arrays, offsets honoured
    assert hash_strings(arr.cast(pa.large_string())).tolist() == got
    assert hash_strings(arr, seed=5).tolist() == hash_strings_reference(strings, seed=5) != got
    assert len(set(got[2:12])) == 10


def test_words_match_python_split_and_unicode_rules():
    rng = random.Random(2)
    pieces = ["Hello,", "WORLD!", "it's", "--", "a.b", "\t", "\n\n", "x\x1cy", "\x0b", "(ok)", "$5", "end."]
    texts = [" ".join(rng.choice(pieces + ["w%d" % i for i in range(9)]) for _ in range(rng.randint(0, 30)))
             for _ in range(300)] + ["", "   ", "...", None]
    data, starts, lens, off = word_spans(pa.array(texts, type=pa.string()))
    for i, t in enumerate(texts):
        got = [bytes(data[s: s + n]).decode() for s, n in zip(starts[off[i]: off[i + 1]], lens[off[i]: off[i + 1]])]
        assert got == words_reference(t), t
    data, starts, lens, off = word_spans(pa.array(["Ça\u00a0VA — “Oui” l’été\u3000fin"]))
    words = [bytes(data[s: s + n]).decode() for s, n in zip(starts, lens)]
    assert words == ["ça", "va", "oui", "l", "été", "fin"]  # Unicode punctuation and spaces separate words


def test_shingles_match_reference_definition():
    rng = np.random.default_rng(4)
    texts = [words_text(rng, n) for n in (0, 1, 2, 4, 5, 6, 40, 300)] + ["Same, SAME same. same same!", None]
    sh = shingle_hashes(pa.array(texts, type=pa.string()), ngram=5)
    for i, t in enumerate(texts):
        assert sh.hashes[sh.offsets[i]: sh.offsets[i + 1]].tolist() == shingle_hashes_reference(t, 5)
    assert sh.counts().tolist()[:8] == [0, 1, 1, 1, 1, 2, 36, 296]
    sh3 = shingle_hashes(pa.array(texts[6:7]), ngram=3)
    assert sh3.hashes.tolist() == shingle_hashes_reference(texts[6], 3)


def test_vectorized_minhash_equals_datasketch_bit_for_bit():
    rng = np.random.default_rng(5)
    texts = [words_text(rng, n) for n in (0, 1, 3, 7, 60, 500, 3000)]
    sh = shingle_hashes(pa.array(texts))
    for num_perm, seed, chunk in ((112, 1, 4096), (64, 7, 50)):  # small chunks: documents across chunk edges
        sig = MinHasher(num_perm, seed, chunk=chunk).signatures(sh)
        for i in range(len(texts)):
            ref = MinHash(num_perm=num_perm, seed=seed, hashfunc=lambda v: v)
            ref.update_batch(sh.hashes[sh.offsets[i]: sh.offsets[i + 1]].tolist())
            assert np.array_equal(sig[i], ref.hashvalues), (num_perm, i)
    assert (sig[0] == np.iinfo(np.uint32).max).all()  # no shingles


def test_jaccard_estimates_track_datasketch_and_exact_jaccard():
    rng = np.random.default_rng(6)
    K = 256
    hasher = MinHasher(K, 1)
    ours, theirs, exact = [], [], []
    for k in (0, 3, 8, 15, 25, 40, 60, 90, 130, 200):
        base = random_words(rng, VOCAB, 300)
        a, b = to_text(VOCAB, base), to_text(VOCAB, substitute(rng, base, k, VOCAB.size))
        sig = hasher.signatures(shingle_hashes(pa.array([a, b])))
        ours.append(float((sig[0] == sig[1]).mean()))
        ds_m = []
        for t in (a, b):  # datasketch used the ordinary way: SHA1 of each shingle's bytes
            m = MinHash(num_perm=K, seed=1)
            w = words_reference(t)
            m.update_batch([" ".join(w[i: i + 5]).encode() for i in range(len(w) - 4)])
            ds_m.append(m)
        theirs.append(ds_m[0].jaccard(ds_m[1]))
        exact.append(jaccard(shingle_set(a), shingle_set(b)))
    ours, theirs, exact = map(np.array, (ours, theirs, exact))
    assert exact[0] == 1.0 and ours[0] == 1.0
    assert exact.min() < 0.1 < 0.9 < exact[1]  # the range of similarities is covered
    # std of a 256-permutation estimate is <= 0.031; 4 sigma
    assert np.abs(ours - exact).max() < 0.125
    assert np.abs(theirs - exact).max() < 0.125
    assert abs(np.abs(ours - exact).mean() - np.abs(theirs - exact).mean()) < 0.03


def test_band_hashes():
    sig = np.arange(40, dtype=np.uint32).reshape(2, 20)
    sig[1, :4] += 1  # only band 0 (rows 0-3) differs
    bh = band_hashes(sig, 5, 4)
    assert bh.shape == (2, 5) and bh.dtype == np.uint64
    assert bh[0, 0] != bh[1, 0]
    same = np.tile(np.arange(4, dtype=np.uint32), (1, 2))  # equal values in two bands
    b2 = band_hashes(same, 2, 4)
    assert b2[0, 0] != b2[0, 1]  # the band index is part of the hash
    with pytest.raises(ValueError):
        band_hashes(sig, 6, 4)


def test_sequence_keys_normalize_case_punctuation_whitespace_not_order():
    texts = ["The cat sat.", "the  CAT,\nsat", "sat the cat", "The cat sat on", "", None, "...", "The cat-sat"]
    h1, h2 = sequence_keys(*word_hashes(pa.array(texts, type=pa.string())))
    assert (h1[0], h2[0]) == (h1[1], h2[1])
    assert len({(a, b) for a, b in zip(h1[:4].tolist(), h2[:4].tolist())}) == 3
    assert (h1[4], h2[4]) == (h1[5], h2[5]) == (h1[6], h2[6])  # no words
    assert (h1[7], h2[7]) == (h1[0], h2[0])  # punctuation separates words


# ------------------------------------------------------------------ components, URLs, config


def test_connected_components_match_plain_union_find():
    rng = np.random.default_rng(7)
    for _ in range(30):
        n, m = int(rng.integers(2, 200)), int(rng.integers(1, 300))
        u, v = rng.integers(0, n, m) * 5 + 1, rng.integers(0, n, m) * 5 + 1
        nodes, labels = connected_components(u, v)
        assert dict(zip(nodes.tolist(), labels.tolist())) == components_reference(u, v)
    perm = rng.permutation(100_000)  # a long path with shuffled labels
    nodes, labels = connected_components(perm[:-1], perm[1:])
    assert nodes.size == 100_000 and (labels == 0).all()
    assert connected_components(np.zeros(0), np.zeros(0))[0].size == 0


def test_normalize_url():
    n = lambda u: normalize_url(u, True, ("utm_*", "fbclid"))  # noqa: E731
    assert n("https://www.Example.com:443/a/?utm_source=x&b=2#frag") == "example.com/a?b=2"
    assert n("http://example.com/a?b=2") == n("https://EXAMPLE.com/a/?b=2&fbclid=1")
    assert n("http://example.com") == n("http://example.com/") == "example.com/"
    assert n("http://example.com/A") != n("http://example.com/a")
    assert n("http://example.com:8080/") == "example.com:8080/"
    assert n("http://example.com/?q=a+b") == "example.com/?q=a+b"  # untouched query stays byte-identical
    assert normalize_url("http://www.example.com/", False) == "www.example.com/"
    assert n(None) is None and n("") is None and n("   ") is None
    assert n("http://[::1") == "http://[::1"  # unparseable: kept as is


def test_validate_fills_defaults_and_names_bad_keys():
    cfg = dedup.validate({"near": {"bands": 10}, "line": None})
    assert cfg["near"]["bands"] == 10 and cfg["near"]["rows"] == 8 and cfg["line"]["max_occurrences"] == 6
    assert dedup.validate(None) == dedup.DEFAULTS
    for bad, key in [({"nera": {}}, "dedup.nera"), ({"near": {"bandz": 3}}, "dedup.near.bandz"),
                     ({"near": {"bands": 20}}, "dedup.near.num_perm"), ({"partitions": 0}, "dedup.partitions"),
                     ({"line": {"max_occurrences": "6"}}, "dedup.line.max_occurrences"),
                     ({"url": {"enabled": "yes"}}, "dedup.url.enabled"),
                     ({"quality_column": 3}, "dedup.quality_column"),
                     ({"url": {"drop_params": "utm_*"}}, "dedup.url.drop_params")]:
        with pytest.raises(ValueError, match=key.replace(".", r"\.")):
            dedup.validate(bad)


# ------------------------------------------------------------------ the phase on Ray


BOILER = "Subscribe to our newsletter for weekly updates"
SEVEN = "this line appears in exactly seven documents"
SIX = "this line appears in exactly six documents"


def build_corpus(out: Path) -> dict:
    """Three shards with planted URL, exact, near and line duplicates; returns what was planted."""
    rng = np.random.default_rng(11)
    shards = {s: [] for s in ("a", "b", "c")}

    def add(shard, text, **kw):
        i = len(shards[shard])
        shards[shard].append(doc_row(shard, i, text, quality=float(kw.pop("quality", 0.5)), **kw))
        return f"{shard}/{i}"

    plan: dict = {"unrelated": []}
    for s in shards:
        for j in range(25):
            extra = [BOILER] + ([SEVEN] if s == "a" and j < 7 else []) + ([SIX] if s == "b" and j < 6 else [])
            plan["unrelated"].append(add(s, words_text(rng, 60, 15) + "\n" + "\n".join(extra)))
    t1, t2 = words_text(rng, 80), words_text(rng, 80)
    plan["url_old"] = add("a", t1, url="http://www.site.org/page/", date="2024-01-01T00:00:00Z")
    plan["url_new"] = add("b", t2, url="https://site.org/page?utm_source=feed", date="2024-06-01T00:00:00Z")
    t3, t4 = words_text(rng, 80), words_text(rng, 80)
    plan["url_tie_small"] = add("a", t3, url="http://tie.org/x", date="2024-03-03T00:00:00Z")
    plan["url_tie_big"] = add("c", t4, url="http://tie.org/x", date="2024-03-03T00:00:00Z")
    x = words_text(rng, 90)
    plan["exact_low"] = add("a", x, quality=0.1)
    plan["exact_high"] = add("b", "  " + x.upper().replace(" ", " ,  ") + "!", quality=0.9)
    plan["exact_mid"] = add("c", x, quality=0.5)
    base = random_words(rng, VOCAB, 200)
    plan["near_old"] = add("a", to_text(VOCAB, base), date="2024-01-01T00:00:00Z")
    plan["near_new"] = add("b", to_text(VOCAB, substitute(rng, base, 2, VOCAB.size)), date="2024-02-01T00:00:00Z")
    plan["near_third"] = add("c", to_text(VOCAB, substitute(rng, base, 3, VOCAB.size)), date="2024-01-15T00:00:00Z")
    far = substitute(rng, base, 120, VOCAB.size)  # Jaccard ~0.05: must not join
    plan["near_far"] = add("c", to_text(VOCAB, far))
    for s, rows in shards.items():
        write_shard(out, s, rows, extra={"quality": pa.float64()})
    plan["texts"] = {r["id"]: r["text"] for rows in shards.values() for r in rows}
    return plan


def read_dir(path: Path) -> pa.Table:
    return ds.dataset(sorted(str(p) for p in path.glob("*.parquet")), format="parquet").to_table()


def lsh_reference_clusters(texts: dict[str, str], alive: set[str], bands=14, rows=8) -> list[set[str]]:
    """Near-dup clusters from datasketch's own MinHashLSH over the same shingles."""
    lsh = MinHashLSH(num_perm=bands * rows, params=(bands, rows))
    ids = sorted(alive)
    sh = shingle_hashes(pa.array([texts[i] for i in ids], type=pa.string()))
    mins = {}
    for j, i in enumerate(ids):
        h = sh.hashes[sh.offsets[j]: sh.offsets[j + 1]].tolist()
        if not h:
            continue
        m = MinHash(num_perm=bands * rows, seed=1, hashfunc=lambda v: v)
        m.update_batch(h)
        mins[i] = m
        lsh.insert(i, m)
    parent = {i: i for i in mins}

    def find(i):
        while parent[i] != i:
            i = parent[i]
        return i

    for i, m in mins.items():
        for j in lsh.query(m):
            a, b = find(i), find(j)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[str, set] = {}
    for i in mins:
        groups.setdefault(find(i), set()).add(i)
    return sorted((g for g in groups.values() if len(g) > 1), key=min)


def test_phase_decisions_output_and_stats(tmp_path, ray_local):
    plan = build_corpus(tmp_path)
    cfg = {"partitions": 3, "quality_column": "quality", "batch_size": 16, "line": {"bucket_docs": 1000}}
    stats = dedup.run_dedup(tmp_path, cfg)

    dec = read_dir(tmp_path / "dedup" / "decisions" / "url").to_pylist()
    dropped = {d["id"]: d for d in dec if d["dropped"]}
    assert set(dropped) == {plan["url_old"], plan["url_tie_big"]}  # newest wins; tie -> smallest id
    assert dropped[plan["url_old"]]["cluster_id"] == plan["url_new"]
    assert dropped[plan["url_tie_big"]]["cluster_id"] == plan["url_tie_small"]

    dec = read_dir(tmp_path / "dedup" / "decisions" / "exact").to_pylist()
    assert {d["id"] for d in dec if d["dropped"]} == {plan["exact_low"], plan["exact_mid"]}
    assert {d["cluster_id"] for d in dec} == {plan["exact_high"]}  # highest quality kept
    assert {d["cluster_size"] for d in dec} == {3}

    dec = read_dir(tmp_path / "dedup" / "decisions" / "near").to_pylist()
    assert {d["id"] for d in dec} == {plan["near_old"], plan["near_new"], plan["near_third"]}
    assert {d["id"] for d in dec if not d["dropped"]} == {plan["near_new"]}  # same quality: most recent
    # datasketch's MinHashLSH, on the documents that reach the near step, finds the same clusters
    alive = set(plan["texts"]) - {plan["url_old"], plan["url_tie_big"], plan["exact_low"], plan["exact_mid"]}
    assert lsh_reference_clusters(plan["texts"], alive) == [{plan["near_old"], plan["near_new"], plan["near_third"]}]

    docs = read_dir(tmp_path / "dedup" / "docs")
    by_id = {r["id"]: r for r in docs.to_pylist()}
    removed = {plan[k] for k in ("url_old", "url_tie_big", "exact_low", "exact_mid", "near_old", "near_third")}
    assert set(by_id) == set(plan["texts"]) - removed
    assert docs.schema.names[-3:] == ["dup_cluster_id", "dup_cluster_size", "lines_removed"]
    assert by_id[plan["exact_high"]]["dup_cluster_size"] == 3
    assert by_id[plan["exact_high"]]["dup_cluster_id"] == plan["exact_high"]
    assert by_id[plan["near_new"]]["dup_cluster_size"] == 3
    assert by_id[plan["near_far"]]["dup_cluster_size"] == 1 and by_id[plan["near_far"]]["dup_cluster_id"] is None

    # line-level: the boilerplate (75 documents) and the 7-document line go, the 6-document line stays
    for i in plan["unrelated"]:
        text, orig = by_id[i]["text"], plan["texts"][i]
        assert BOILER not in text and SEVEN not in text
        kept_lines = [ln for ln in orig.split("\n") if ln not in (BOILER, SEVEN)]
        assert text == "\n".join(kept_lines)
        assert by_id[i]["lines_removed"] == len(orig.split("\n")) - len(kept_lines)
    assert sum(SIX in r["text"] for r in by_id.values()) == 6
    line_dec = read_dir(tmp_path / "dedup" / "decisions" / "line")
    assert line_dec.num_rows == 75 and sum(line_dec.column("lines_removed").to_pylist()) == 75 + 7

    on_disk = json.loads((tmp_path / "stats" / "dedup.json").read_text())
    assert on_disk == json.loads(json.dumps(stats))
    assert stats["removed"] == {"url": 2, "exact": 2, "near": 2, "line": 0}
    assert stats["docs_in"] == len(plan["texts"]) and stats["docs_out"] == len(by_id)
    assert stats["docs_in"] - stats["removed_total"] == stats["docs_out"]
    assert stats["bytes_out"] == sum(len(r["text"].encode()) for r in by_id.values())
    assert stats["lines"]["removed"] == 82 and stats["lines"]["frequent_lines"] == 2
    assert stats["clusters"]["exact"]["histogram"] == {"3-4": 1}
    assert stats["clusters"]["near"]["histogram"] == {"3-4": 1}
    assert stats["clusters"]["url"]["histogram"] == {"2": 2}
    assert [s["name"] for s in stats["steps"]] == ["signatures", "url", "exact", "near", "line", "apply"]


def _untimed(stats: dict) -> dict:
    return {k: v for k, v in stats.items() if k != "steps"}


def _snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    return {str(p.relative_to(root)): (p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_phase_resumes_and_changes_thresholds_without_signatures(tmp_path, ray_local):
    plan = build_corpus(tmp_path)
    cfg = {"partitions": 2, "line": {"bucket_docs": 1000}}
    first = dedup.run_dedup(tmp_path, cfg)
    before = _snapshot(tmp_path / "dedup")

    assert dedup.run_dedup(tmp_path, cfg) == first  # finished: nothing recomputed, nothing rewritten
    assert _snapshot(tmp_path / "dedup") == before

    # a run killed during apply: one shard's output and marker missing, its temporary file left
    (tmp_path / "dedup" / "_done" / "apply.json").unlink()
    (tmp_path / "dedup" / "_done" / "apply" / "shards" / "b.json").unlink()
    (tmp_path / "dedup" / "docs" / "b.parquet").rename(tmp_path / "dedup" / "docs" / "b.parquet.tmp-1234abcd")
    assert _untimed(dedup.run_dedup(tmp_path, cfg)) == _untimed(first)  # only the apply time differs
    after = _snapshot(tmp_path / "dedup")
    assert after["docs/b.parquet"][1] == before["docs/b.parquet"][1]  # identical bytes
    assert after["docs/a.parquet"] == before["docs/a.parquet"]  # not rewritten
    assert set(after) == set(before)  # the temporary file is gone

    # new thresholds: decisions recomputed from the stored signatures
    sigs = {k: v for k, v in before.items() if k.startswith("signatures/")}
    loose = dedup.apply(tmp_path, {**cfg, "line": {"bucket_docs": 1000, "max_occurrences": 100}})
    assert loose["lines"]["removed"] == 0 and loose["removed"] == first["removed"]
    strict = dedup.apply(tmp_path, {**cfg, "line": {"bucket_docs": 1000, "max_occurrences": 5}})
    assert strict["lines"]["removed"] == first["lines"]["removed"] + 6
    # buckets of 4 documents: no line is in more than 4 documents of a bucket, nothing removed
    assert dedup.apply(tmp_path, {**cfg, "line": {"bucket_docs": 4}})["lines"]["removed"] == 0
    # buckets of 7: a/0-a/6, the documents with SEVEN, are exactly bucket 0
    dedup.apply(tmp_path, {**cfg, "line": {"bucket_docs": 7}})
    texts = dict(zip(*read_dir(tmp_path / "dedup" / "docs").select(["id", "text"]).to_pydict().values()))
    assert not any(SEVEN in texts[f"a/{i}"] for i in range(7))
    no_near = dedup.apply(tmp_path, {**cfg, "near": {"enabled": False}, "line": {"bucket_docs": 1000}})
    assert no_near["removed"]["near"] == 0 and no_near["docs_out"] == first["docs_out"] + 2
    stricter_lsh = dedup.apply(tmp_path, {**cfg, "near": {"bands": 2, "rows": 40}, "line": {"bucket_docs": 1000}})
    assert stricter_lsh["removed"]["near"] < first["removed"]["near"]
    now = _snapshot(tmp_path / "dedup")
    assert {k: v for k, v in now.items() if k.startswith("signatures/")} == sigs  # never recomputed
    # back to the first config: same output as the first run
    assert _untimed(dedup.apply(tmp_path, cfg)) == _untimed(first)

    # a signature parameter change needs run_dedup; apply refuses
    with pytest.raises(RuntimeError, match="signatures"):
        dedup.apply(tmp_path, {**cfg, "near": {"ngram": 3}})
    with pytest.raises(ValueError, match="dedup.quality_column"):
        dedup.run_dedup(tmp_path, {**cfg, "quality_column": "nope"})
    # one changed shard: only its signatures are recomputed
    rows = pq.read_table(tmp_path / "docs" / "c.parquet").to_pylist()
    rows[0]["text"] = "changed " * 20
    write_shard(tmp_path, "c", rows, extra={"quality": pa.float64()})
    dedup.run_dedup(tmp_path, cfg)
    now = _snapshot(tmp_path / "dedup")
    assert now["signatures/a.parquet"] == sigs["signatures/a.parquet"]
    assert now["signatures/c.parquet"] != sigs["signatures/c.parquet"]


def test_bad_inputs_empty_one_word_huge_and_giant_cluster(tmp_path, ray_local):
    rng = np.random.default_rng(12)
    odd = [doc_row("odd", 0, ""), doc_row("odd", 1, None), doc_row("odd", 2, "   \n\n "),
           doc_row("odd", 3, "hello"), doc_row("odd", 4, "Hello!"), doc_row("odd", 5, "world"),
           doc_row("odd", 6, "...")]
    big = words_text(rng, 1_000_000, line_every=1000)
    odd.append(doc_row("odd", 7, big))
    odd.append(doc_row("odd", 8, words_text(rng, 1_000_000)))  # 1M words on one line
    write_shard(tmp_path, "odd", odd)
    same = words_text(rng, 50, 10)
    write_shard(tmp_path, "giant", [doc_row("giant", i, same) for i in range(10_000)])
    write_shard(tmp_path, "empty", [])
    cfg = {"partitions": 4}
    stats = dedup.run_dedup(tmp_path, cfg)
    assert stats["docs_in"] == 10_009
    assert stats["clusters"]["exact"]["max_size"] == 10_000
    # exact: empties (4: "", None, blank, "...") -> 1, "hello"/"Hello!" -> 1, giant -> 1
    assert stats["removed"]["exact"] == 3 + 1 + 9_999
    assert stats["removed"]["near"] == 0
    docs = read_dir(tmp_path / "dedup" / "docs")
    ids = set(docs.column("id").to_pylist())
    assert "giant/0" in ids and "giant/1" not in ids
    assert {"odd/0", "odd/3", "odd/5", "odd/7", "odd/8"} <= ids
    giant = docs.filter(pc.equal(docs.column("id"), "giant/0")).to_pylist()[0]
    assert giant["dup_cluster_size"] == 10_000
    lengths = {r["id"]: len(r["text"] or "") for r in docs.to_pylist()}
    assert lengths["odd/7"] == len(big)

    # without exact dedup the 10,000 copies are one near-duplicate cluster
    stats = dedup.apply(tmp_path, {**cfg, "exact": {"enabled": False}})
    assert stats["clusters"]["near"]["max_size"] == 10_000
    assert stats["removed"]["near"] == 9_999 + 1  # and hello/Hello! (same words)
    assert stats["removed"]["exact"] == 0
    assert stats["near"]["candidate_edges"] >= 9_999
    # identical lines of the copies were counted once (one copy left): nothing removed
    assert stats["lines"]["removed"] == 0
    docs = read_dir(tmp_path / "dedup" / "docs")
    assert docs.num_rows == 10_009 - 10_000
