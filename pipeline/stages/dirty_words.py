"""Dirty-word counting (Llama 3 heuristic, after C4's use of the LDNOOBW lists).

Lists: one file per language code in ``lists_dir`` (default
``data/lists/ldnoobw``, filled by ``make lists``), one word or phrase per
line. Matching is case-insensitive on the lowercased text; phrases match
across any whitespace. In languages written with spaces an entry must not
touch a word character on either side (so "ass" does not match "class");
in ja, zh, th (and other scripts without spaces) every substring
occurrence counts. Matches do not overlap; longer entries win. datatrove's
C4 allowlist (entries that are common sub-words in ja/zh) is removed.

Columns: ``dirty_words`` (matches) and ``dirty_word_ratio`` (matches per
word, words as in ``_words.words`` with a non-punctuation character).
Languages without a list pass with null scores.

Drops (per-language overridable; None switches a rule off):

- ``dirty_words_count`` when matches > ``max_dirty_words`` (30): long adult
  pages dilute the ratio with boilerplate;
- ``dirty_word_ratio`` when ratio > ``max_dirty_word_ratio`` (0.01, one word in
  a hundred) and matches >= ``min_dirty_words`` (3), so one swear word in a
  short comment, or a medical page naming body parts a few times, is kept.
  C4 drops a page on a single match, which removes much harmless text.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
from datatrove.pipeline.filters.c4_filters import _BADWORDS_ALLOWLIST

from pipeline.stage import DocFilter, Drop, Score
from pipeline.stages._words import content_words

NO_SPACE_LANGS = {"ja", "zh", "th", "lo", "km", "my", "bo"}


def compile_list(entries, lang: str) -> re.Pattern | None:
    """One regex matching any entry (longest first) with the language's boundary rule."""
    allow = set().union(*_BADWORDS_ALLOWLIST.values())
    words = {e.strip().lower() for e in entries} - allow - {""}
    if not words:
        return None
    alts = "|".join(r"\s+".join(map(re.escape, w.split())) for w in sorted(words, key=lambda w: (-len(w), w)))
    return re.compile(f"(?:{alts})" if lang in NO_SPACE_LANGS else rf"(?<!\w)(?:{alts})(?!\w)")


class DirtyWords(DocFilter):
    name = "dirty_words"
    columns = {"dirty_words": Score(0, 50, pa.int32()), "dirty_word_ratio": Score(0, 0.05)}
    thresholds = {"dirty_words": [("max_dirty_words", "max")], "dirty_word_ratio": [("max_dirty_word_ratio", "max")]}
    defaults = {
        "lists_dir": "data/lists/ldnoobw",
        "max_dirty_words": 30,
        "max_dirty_word_ratio": 0.01,
        "min_dirty_words": 3,
    }

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._patterns: dict = {}

    def setup(self) -> None:
        d = Path(self.params["lists_dir"])
        if not d.is_dir():
            raise FileNotFoundError(
                f"dirty_words: word-list directory {str(d)!r} not found (resolved: {d.resolve()}); "
                "`make lists` copies the LDNOOBW lists there, or set lists_dir"
            )

    def _pattern(self, lang: str | None):
        if lang not in self._patterns:
            ok = bool(lang) and "/" not in lang and not lang.startswith(".")  # a code, not a path
            path = Path(self.params["lists_dir"]) / lang if ok else None
            if path is None or not path.is_file():
                self._patterns[lang] = None
            else:
                self._patterns[lang] = compile_list(path.read_text(encoding="utf-8").splitlines(), lang)
        return self._patterns[lang]

    def judge(self, doc, p):
        lang = doc.get("lang")
        pat = self._pattern(lang)
        if pat is None:
            return {}, None
        text = doc["text"] or ""
        count = sum(1 for _ in pat.finditer(text.lower()))
        n_words = len(content_words(text, lang))
        ratio = count / n_words if n_words else None
        if p["max_dirty_words"] is not None and count > p["max_dirty_words"]:
            return {"dirty_words": count, "dirty_word_ratio": ratio}, Drop("dirty_words_count", count)
        if (
            p["max_dirty_word_ratio"] is not None
            and ratio is not None
            and ratio > p["max_dirty_word_ratio"]
            and count >= (p["min_dirty_words"] or 0)
        ):
            return {"dirty_words": count, "dirty_word_ratio": ratio}, Drop("dirty_word_ratio", ratio)
        return {"dirty_words": count, "dirty_word_ratio": ratio}, None
