"""Teachers: slower or richer scorers whose 0..1 quality scores a small student learns.

Llama 3 labelled web pages with Llama 2 and trained DistilRoBERTa on those
labels. Without a large model offline, the default teacher here is an ensemble:
the mean of one or more fastText quality models, blended with a Gopher-style
heuristic score (share of simple document checks passed). Any other teacher
plugs in as a labelled file: JSONL/Parquet with ``text`` and ``score`` (e.g. an
LLM's 0..5 rating divided by 5), given straight to ``curate train transformer``.
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np

_WORD = re.compile(r"\w+")
_STOP = frozenset("the be to of and that have with this from they will would there their what about which "
                  "when make like time just know take into year your some could them than then look only "
                  "come over also back after work first well even want because these give most".split())


def heuristic_score(text: str | None) -> float:
    """Share of 8 Gopher/C4-style checks an English document passes (0..1)."""
    if not text:
        return 0.0
    t = text[:100_000]
    words = _WORD.findall(t)
    n = len(words)
    if n == 0:
        return 0.0
    lines = [ln.strip() for ln in t.splitlines() if ln.strip()]
    mean_len = sum(map(len, words)) / n
    alpha = sum(w.isalpha() for w in words) / n
    stop = sum(w.lower() in _STOP for w in words)
    symbols = (t.count("#") + t.count("...") + t.count("…")) / n
    ends = sum(ln[-1] in ".!?\"'”)" for ln in lines) / max(len(lines), 1)
    bullets = sum(ln[0] in "•-*·" for ln in lines) / max(len(lines), 1)
    uniq_lines = len(set(lines)) / max(len(lines), 1)
    checks = [50 <= n <= 100_000, 3 <= mean_len <= 10, alpha >= 0.8, stop >= 2 and stop / n >= 0.05,
              symbols <= 0.1, ends >= 0.4, bullets <= 0.9, uniq_lines >= 0.7]
    return sum(checks) / len(checks)


def teacher_scores(texts: Sequence[str | None], fasttext_models: Sequence[str],
                   heuristic_weight: float = 0.3, max_chars: int = 20_000) -> np.ndarray:
    """Mean fastText P(hq) over ``fasttext_models`` blended with ``heuristic_weight`` x heuristic score."""
    from classifiers import quality_fasttext

    if not fasttext_models and heuristic_weight <= 0:
        raise ValueError("a teacher needs at least one fastText model or a positive heuristic weight")
    parts = [np.asarray(quality_fasttext.predict(texts, m, max_chars)) for m in fasttext_models]
    ft = np.mean(parts, axis=0) if parts else np.zeros(len(texts))
    h = np.asarray([heuristic_score(t) for t in texts])
    w = heuristic_weight if parts else 1.0
    return (1 - w) * ft + w * h
