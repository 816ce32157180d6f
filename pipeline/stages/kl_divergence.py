"""Token-distribution KL divergence to the corpus (Llama 3 heuristic).

Tokens: lowercased ``_words.words`` of the doc with a non-punctuation character.

Reference Q, per language, from ``fit(sample)`` (the runner calls it once on
a sample of the docs as they reach this stage): the ``vocab_size`` most
frequent tokens (ties by token) with counts c_w, the sample's token total N,
and the tokens outside that vocab: their count O and distinct types U.
With ``alpha`` smoothing and Z = N + alpha * (|V| + 1)::

    Q(w) = (c_w + alpha) / Z                      for w in the vocab
    Q(w) = (O + alpha) / Z / (U + 1)              for any other token

i.e. out-of-vocabulary tokens share the OOV mass equally (U seen types plus
one slot for unseen ones), so an unseen token is about as unlikely as the
rarest kept ones, not as likely as the whole tail together.

Score: KL(P_doc || Q) = sum_w P(w) ln(P(w) / Q(w)) in nats, P the doc's token
frequencies. It is high when a doc's mass sits on tokens the corpus rarely
uses (repeated rare tokens, gibberish, keyword spam); it also grows as docs
get shorter, hence the per-language quantiles. The sample's own scores are
computed leaving each doc out of Q (same vocab), so they are what an unseen
doc of the same kind would get. Docs with fewer than
``min_tokens`` tokens, or in languages with fewer than ``min_reference_docs``
sample docs (no reference), pass with a null score.

Drop ``kl_divergence`` when the score exceeds ``max_kl`` (absolute, per
language overridable), or when ``max_kl`` is None, the ``max_kl_quantile``
quantile of the sample docs' own scores. Default 0.995: the filter is meant
for outliers, so it may cost about 0.5% of docs like the sample; 0.99
would cost 1% of ordinary pages, and 0.999 is a single doc or less at the
sample sizes one fits on (a few thousand docs per language). The fitted
state also reports p50/p90/p99/p99.5/p99.9 to help pick ``max_kl``.
Everything is deterministic (no sampling, ties broken by token).
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pyarrow as pa

from pipeline.stage import DocFilter, Drop, Score
from pipeline.stages._words import content_words

REPORT_QUANTILES = (0.5, 0.9, 0.99, 0.995, 0.999)


def tokens(text: str, lang: str | None) -> list[str]:
    return [w.lower() for w in content_words(text or "", lang)]


def _kl(doc_counts: Counter, log_q) -> float:
    n = sum(doc_counts.values())
    return sum(k / n * (math.log(k / n) - log_q(w, k)) for w, k in doc_counts.items())


class _Reference:
    """log Q for one language, from its fitted state."""

    def __init__(self, st: dict, alpha: float):
        self.st, self.alpha = st, alpha
        self.z = st["total"] + alpha * (len(st["vocab"]) + 1)
        self.log_q = {w: math.log((c + alpha) / self.z) for w, c in st["vocab"].items()}
        self.log_q_oov = math.log((st["oov_count"] + alpha) / self.z / (st["oov_types"] + 1))
        self.quantiles = st.get("quantiles", {})

    def kl(self, toks: list[str]) -> float:
        get, oov = self.log_q.get, self.log_q_oov
        return _kl(Counter(toks), lambda w, k: get(w, oov))

    def kl_left_out(self, doc_counts: Counter, all_counts: Counter) -> float:
        """KL of a sample doc against Q fitted without it (vocab kept), so the sample's
        quantiles are those of unseen docs, not lowered by each doc's own rare words."""
        vocab, a = self.st["vocab"], self.alpha
        z = self.z - sum(doc_counts.values())
        oov = [(w, k) for w, k in doc_counts.items() if w not in vocab]
        o = self.st["oov_count"] - sum(k for _, k in oov)
        u = self.st["oov_types"] - sum(1 for w, k in oov if all_counts[w] == k)
        log_oov = math.log((o + a) / z / (u + 1))

        def log_q(w, k):
            c = vocab.get(w, 0) - k
            return math.log((c + a) / z) if c > 0 else log_oov

        return _kl(doc_counts, log_q)


class KLDivergence(DocFilter):
    name = "kl_divergence"
    fits = True
    columns = {"kl_divergence": Score(0, 10)}
    thresholds = {"kl_divergence": [("max_kl", "max")]}  # drawn when set; the fitted quantile is not a param
    defaults = {
        "vocab_size": 50_000,
        "alpha": 1.0,
        "min_reference_docs": 20,
        "min_tokens": 10,
        "max_kl": None,
        "max_kl_quantile": 0.995,
    }

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if any(not p["alpha"] or p["alpha"] <= 0 for p in [self.params, *self.per_language.values()]):
            raise ValueError("kl_divergence: alpha must be > 0")
        self._refs: dict | None = None

    def _quantiles_wanted(self) -> list[float]:
        qs = {self.params["max_kl_quantile"], *(p["max_kl_quantile"] for p in self.per_language.values())}
        return sorted(q for q in qs | set(REPORT_QUANTILES) if q is not None)

    def fit(self, sample: pa.Table) -> dict:
        """Per-language reference unigram counts and sample KL quantiles (JSON-serializable)."""
        texts = sample.column("text").to_pylist()
        langs = sample.column("lang").to_pylist() if "lang" in sample.column_names else [None] * len(texts)
        by_lang: dict[str, list[list[str]]] = {}
        for text, lang in zip(texts, langs):
            if lang is not None and self.params_for(lang) is not None:
                by_lang.setdefault(lang, []).append(tokens(text, lang))
        state = {"version": 1, "languages": {}, "skipped": {}}
        for lang in sorted(by_lang):
            docs, p = by_lang[lang], self.params_for(lang)
            if len(docs) < p["min_reference_docs"]:
                state["skipped"][lang] = len(docs)
                continue
            counts = Counter(t for d in docs for t in d)
            top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: p["vocab_size"]]
            total = sum(counts.values())
            st = {
                "n_docs": len(docs),
                "total": total,
                "vocab": dict(top),
                "oov_count": total - sum(c for _, c in top),
                "oov_types": len(counts) - len(top),
            }
            ref = _Reference(st, p["alpha"])
            kls = [ref.kl_left_out(Counter(d), counts) for d in docs if len(d) >= max(p["min_tokens"] or 1, 1)]
            st["quantiles"] = {str(q): float(np.quantile(kls, q)) for q in self._quantiles_wanted()} if kls else {}
            state["languages"][lang] = st
        return state

    def load_fitted(self, state: dict) -> None:
        self._refs = {}
        for lang, st in state["languages"].items():
            p = self.params_for(lang)
            if p is not None:
                self._refs[lang] = _Reference(st, p["alpha"])

    # no setup() check: the runner sets up every stage (this one unfitted) to sample docs for fitting

    def judge(self, doc, p):
        if self._refs is None:
            raise RuntimeError("kl_divergence: no reference; the runner must call fit() then load_fitted() first")
        ref = self._refs.get(doc.get("lang"))
        if ref is None:
            return {}, None
        toks = tokens(doc["text"], doc.get("lang"))
        if not toks or len(toks) < (p["min_tokens"] or 0):
            return {}, None
        score = ref.kl(toks)
        limit = p["max_kl"]
        if limit is None and p["max_kl_quantile"] is not None:
            limit = ref.quantiles.get(str(p["max_kl_quantile"]))
            if limit is None and ref.quantiles:
                raise KeyError(f"kl_divergence: quantile {p['max_kl_quantile']} not in the fitted state; fit again")
        return {"kl_divergence": score}, Drop("kl_divergence", score) if limit is not None and score > limit else None
