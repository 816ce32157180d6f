"""Gopher repetition rules (Rae et al. 2021, table A1; datatrove's ``GopherRepetitionFilter``).

Metrics (datatrove's own functions, on the doc's words from ``_words.words``):

- ``gopher_dup_para_frac`` / ``gopher_dup_para_char_frac``: repeated paragraphs
  (split on 2+ newlines) as a share of paragraphs / of the text's characters;
- ``gopher_dup_line_frac`` / ``gopher_dup_line_char_frac``: the same for lines;
- ``gopher_top_{n}_gram_frac`` (n = 2, 3, 4): characters of the most frequent
  word n-gram times its count, over the text's characters;
- ``gopher_dup_{n}_gram_frac`` (n = 5..10): characters of repeated word
  n-grams (non-overlapping), over the text's characters.

Thresholds (params ``dup_para_frac``, ..., ``top_2_gram`` ..., ``dup_5_gram`` ...)
are Gopher's; the first rule that fails drops the doc with datatrove's reason
(``dup_para_frac``, ``dup_para_char_frac``, ``dup_line_frac``,
``dup_line_char_frac``, ``top_{n}_gram``, ``duplicated_{n}_n_grams``; ``empty``
for an empty text). None switches a rule off. All metrics are computed even
after a rule fails, for the histograms.

The n-gram metrics take an equivalent numpy path for docs with more than
``fast_above_words`` words (default 0: every doc): 2.8x faster than
datatrove's functions on the sample crawl's documents, with identical metrics
and drops on all of them (``make bench-gopher``; 1M words: ~2 s instead of ~7 s).
It identifies n-grams by their word sequence where datatrove's
``find_all_duplicate`` compares the words' concatenation, the only
difference. ``fast_above_words: null`` calls datatrove's functions.
"""

from __future__ import annotations

import re
from bisect import bisect_right

import numpy as np
from datatrove.pipeline.filters.gopher_repetition_filter import (
    find_all_duplicate,
    find_duplicates,
    find_top_duplicate,
    get_n_grams,
)

from pipeline.stage import DocFilter, Drop, Score
from pipeline.stages._words import words as split_words

TOP_N = {2: 0.20, 3: 0.18, 4: 0.16}
DUP_N = {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}
_PARA = re.compile(r"\n{2,}")
_LINE = re.compile("\n+")

# (score column, param, datatrove reason), in datatrove's order
_RULES = [
    ("gopher_dup_para_frac", "dup_para_frac", "dup_para_frac"),
    ("gopher_dup_para_char_frac", "dup_para_char_frac", "dup_para_char_frac"),
    ("gopher_dup_line_frac", "dup_line_frac", "dup_line_frac"),
    ("gopher_dup_line_char_frac", "dup_line_char_frac", "dup_line_char_frac"),
    *((f"gopher_top_{n}_gram_frac", f"top_{n}_gram", f"top_{n}_gram") for n in TOP_N),
    *((f"gopher_dup_{n}_gram_frac", f"dup_{n}_gram", f"duplicated_{n}_n_grams") for n in DUP_N),
]


class GopherRepetition(DocFilter):
    name = "gopher_repetition"
    columns = {col: Score(0, 1) for col, _, _ in _RULES}
    defaults = {
        "dup_para_frac": 0.3,
        "dup_para_char_frac": 0.2,
        "dup_line_frac": 0.3,
        "dup_line_char_frac": 0.2,
        **{f"top_{n}_gram": t for n, t in TOP_N.items()},
        **{f"dup_{n}_gram": t for n, t in DUP_N.items()},
        "fast_above_words": 0,
    }

    def judge(self, doc, p):
        text = doc["text"] or ""
        if not text:
            return {}, Drop("empty")
        n_chars = len(text)
        s = {}
        paragraphs = _PARA.split(text.strip())
        dup, dup_chars = find_duplicates(paragraphs)
        s["gopher_dup_para_frac"] = dup / len(paragraphs)
        s["gopher_dup_para_char_frac"] = dup_chars / n_chars
        lines = _LINE.split(text)
        dup, dup_chars = find_duplicates(lines)
        s["gopher_dup_line_frac"] = dup / len(lines)
        s["gopher_dup_line_char_frac"] = dup_chars / n_chars
        words = split_words(text, doc.get("lang"))
        if p["fast_above_words"] is not None and len(words) > p["fast_above_words"]:
            top, dup = _fast_ngram_chars(words)
        else:
            # datatrove skips a top-n rule when there is no n-gram; the score is then null
            top = {n: find_top_duplicate(g) if (g := get_n_grams(words, n)) else None for n in TOP_N}
            dup = {n: find_all_duplicate(words, n) for n in DUP_N}
        for n, chars in top.items():
            s[f"gopher_top_{n}_gram_frac"] = None if chars is None else chars / n_chars
        for n, chars in dup.items():
            s[f"gopher_dup_{n}_gram_frac"] = chars / n_chars
        for col, param, reason in _RULES:
            if p[param] and s[col] is not None and s[col] > p[param]:
                return s, Drop(reason, s[col])
        return s, None


def _fast_ngram_chars(words: list[str]) -> tuple[dict, dict]:
    """``find_top_duplicate(get_n_grams(words, n))`` for TOP_N and ``find_all_duplicate(words, n)``
    for DUP_N, with n-grams as dense integer ids built from the (n-1)-gram ids (one sort per n)."""
    vocab: dict[str, int] = {}
    wid = np.fromiter((vocab.setdefault(w, len(vocab)) for w in words), dtype=np.int64, count=len(words))
    lens = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    cum = np.concatenate(([0], np.cumsum(lens))).tolist()
    top, dup = {}, {}
    gid = wid  # gid[i]: id of the n-gram starting at word i
    for n in range(2, max(DUP_N) + 1):
        m = len(words) - n + 1
        if m <= 0:
            top.update({k: None for k in TOP_N if k >= n})
            dup.update({k: 0 for k in DUP_N if k >= n})
            break
        key = gid[:m] * (len(vocab) + 1) + wid[n - 1 :]
        _, first, gid, counts = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
        gid = gid.reshape(-1)
        if n in TOP_N:
            c = counts.max()
            i = int(first[counts == c].min())  # Counter.most_common(1): first seen among ties
            top[n] = int(c) * (cum[i + n] - cum[i] + n - 1)
        if n in DUP_N:
            dup[n] = _greedy_dup_chars(gid, first, cum, n)
    return top, dup


def _greedy_dup_chars(gid: np.ndarray, first: np.ndarray, cum: list, n: int) -> int:
    """datatrove's find_all_duplicate walk (a seen n-gram counts and jumps n words ahead,
    jumped-over n-grams are not marked seen), visiting only n-grams that occurred before."""
    repeats = np.flatnonzero(first[gid] != np.arange(len(gid)))
    if len(repeats) == 0:
        return 0
    first_of = first[gid[repeats]].tolist()
    ids = gid[repeats].tolist()
    seen_later: set = set()  # ids marked seen at a repeat position
    jumps: list = []  # positions where the walk jumped
    chars, skip_until = 0, 0
    for pos, g, f in zip(repeats.tolist(), ids, first_of):
        if pos < skip_until:
            continue
        k = bisect_right(jumps, f) - 1  # the first occurrence is seen unless a jump skipped it
        if g in seen_later or not (k >= 0 and f < jumps[k] + n):
            chars += cum[pos + n] - cum[pos]
            skip_until = pos + n
            jumps.append(pos)
        else:
            seen_later.add(g)
    return chars
