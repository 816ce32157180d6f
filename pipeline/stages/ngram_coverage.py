"""Duplicated n-gram coverage (Llama 3 heuristic; the measure is Gopher's, Rae et al. 2021).

Definition. Let w_1..w_L be the doc's words (``_words.words`` tokens with a
non-punctuation character, case kept) and |w| a word's length in characters.
For n in ``ns``, a word is *covered* if it lies in some occurrence of a word
n-gram that occurs at least twice in the doc (every occurrence counts,
including the first, and overlaps are fine)::

    coverage_n = sum(|w| for covered w) / sum(|w| for all w)

``dup_ngram_coverage`` is the mean of coverage_n over ``ns`` (default 5..10,
as Gopher). Coverage can only fall as n grows (a repeated n-gram contains
repeated (n-1)-grams), so the max over n would just be coverage at the
smallest n; the mean also weighs how long the repeated spans are (a repeated
10-word span counts at every n, a repeated 5-word phrase only at n=5). Docs
with fewer words than the smallest n score 0; docs without words are null.

Drop ``dup_ngram_coverage`` when the score is above ``max_coverage``
(default 0.3): a page that is two copies of the same text scores 1.0, one
paragraph in ten repeated once about 0.2. Gopher's repeated-n-gram limits
(0.15 down to 0.10 of the characters) count only the copies, so for content
repeated once they correspond to 0.3..0.2 of coverage; 0.3 sits at the
lenient end because ``gopher_repetition`` already applies Gopher's limits.
(Llama 3 applies the ratio to remove repetitive lines; here it judges docs.)

Cost: n-grams are 64-bit rolling hashes (splitmix-mixed at every step; a
collision, ~1e-7 on a 1M-word doc, could only add a spurious repeat), one
sort per n in ``ns``; a 1M-word doc takes about a second.
"""

from __future__ import annotations

import numpy as np

from pipeline.stage import DocFilter, Drop, Score
from pipeline.stages._words import content_words


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer (uint64, wrapping): keeps the rolling hash non-linear."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def coverage(words: list[str], ns) -> float | None:
    """Mean over ``ns`` of the character share of words covered by repeated word n-grams."""
    L = len(words)
    if L == 0:
        return None
    vocab: dict[str, int] = {}
    wid = np.fromiter((vocab.setdefault(w, len(vocab)) for w in words), dtype=np.uint64, count=L)
    lens = np.fromiter(map(len, words), dtype=np.float64, count=L)
    total = lens.sum()
    h, cov, j = _mix(wid), {}, np.arange(L)
    for n in range(1, max(ns) + 1):
        m = L - n + 1
        if m <= 0:
            cov.update({k: 0.0 for k in ns if k >= n})
            break
        if n > 1:  # hash of the n-gram starting at i, from the (n-1)-gram's and the next word
            h = _mix(h[:m] * np.uint64(0x9E3779B97F4A7C15) + wid[n - 1 :])
        if n in ns:
            s = np.sort(h)
            dup = np.unique(s[1:][s[1:] == s[:-1]])  # hashes occurring twice or more
            if len(dup) == 0:
                cov[n] = 0.0
                continue
            c = np.concatenate(([0], np.cumsum(np.isin(h, dup, kind="sort"))))  # repeated n-grams starting before i
            # word j is covered if a repeated n-gram starts in [j-n+1, j]
            covered = c[np.minimum(j, m - 1) + 1] - c[np.maximum(j - n + 1, 0)] > 0
            cov[n] = float(lens[covered].sum() / total) if total else 0.0
    return sum(cov[n] for n in ns) / len(ns)


class NgramCoverage(DocFilter):
    name = "ngram_coverage"
    columns = {"dup_ngram_coverage": Score(0, 1)}
    defaults = {"ns": [5, 6, 7, 8, 9, 10], "max_coverage": 0.3}

    def judge(self, doc, p):
        score = coverage(content_words(doc["text"] or "", doc.get("lang")), sorted(set(p["ns"])))
        drop = None
        if score is not None and p["max_coverage"] is not None and score > p["max_coverage"]:
            drop = Drop("dup_ngram_coverage", score)
        return {"dup_ngram_coverage": score}, drop
