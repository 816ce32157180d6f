"""Gopher quality rules (Rae et al. 2021, datatrove's ``GopherQualityFilter``), per language.

Metrics, all on the doc's words as datatrove splits them (``_words.words``):

- ``gopher_words``: words with a non-punctuation character ("non-symbol words");
- ``gopher_avg_word_len``: their mean length;
- ``gopher_hash_ratio`` / ``gopher_ellipsis_ratio``: ``#`` / (``...`` + ``…``) count per word (all tokens);
- ``gopher_bullet_lines_ratio``: share of lines starting with ``•`` or ``-``;
- ``gopher_ellipsis_lines_ratio``: share of lines ending with ``...`` or ``…``;
- ``gopher_alpha_words_ratio``: share of tokens with an alphabetic character;
- ``gopher_stop_words``: distinct stop words present (case-sensitive, as datatrove).

Rules and drop reasons are datatrove's, in its order (a threshold of 0/None
switches a rule off). Stop words are per language: ``stop_words`` holds
Gopher's English list; ``PER_LANGUAGE`` ships 8 very common function words for
de, fr, es, pt, it, nl, pl, ru, sv (datatrove's English list applied to German
drops most German pages). The stop-word rule runs for English, for docs without
a language, and for languages given ``stop_words`` under ``per_language``;
elsewhere it is skipped and ``gopher_stop_words`` is null.
"""

from __future__ import annotations

import pyarrow as pa
from datatrove.pipeline.filters.gopher_quality_filter import STOP_WORDS

from pipeline.stage import DocFilter, Drop, Score
from pipeline.stages._words import is_word
from pipeline.stages._words import words as split_words

PER_LANGUAGE = {
    "de": {"stop_words": ["der", "die", "das", "und", "ist", "zu", "mit", "von"]},
    "fr": {"stop_words": ["le", "la", "les", "de", "et", "des", "est", "que"]},
    "es": {"stop_words": ["el", "la", "de", "que", "y", "en", "los", "es"]},
    "pt": {"stop_words": ["o", "a", "de", "que", "e", "do", "da", "em"]},
    "it": {"stop_words": ["il", "di", "che", "e", "la", "per", "un", "non"]},
    "nl": {"stop_words": ["de", "het", "een", "en", "van", "is", "dat", "op"]},
    "pl": {"stop_words": ["i", "w", "na", "z", "do", "nie", "się", "to"]},
    "ru": {"stop_words": ["и", "в", "не", "на", "что", "с", "по", "это"]},
    "sv": {"stop_words": ["och", "att", "det", "i", "som", "en", "på", "är"]},
}

# (score column, threshold param, threshold is a minimum, datatrove reason), in datatrove's order
_RULES = [
    ("gopher_words", "min_doc_words", True, "gopher_short_doc"),
    ("gopher_words", "max_doc_words", False, "gopher_long_doc"),
    ("gopher_avg_word_len", "min_avg_word_length", True, "gopher_below_avg_threshold"),
    ("gopher_avg_word_len", "max_avg_word_length", False, "gopher_above_avg_threshold"),
    ("gopher_hash_ratio", "max_symbol_word_ratio", False, "gopher_too_many_hashes"),
    ("gopher_ellipsis_ratio", "max_symbol_word_ratio", False, "gopher_too_many_ellipsis"),
    ("gopher_bullet_lines_ratio", "max_bullet_lines_ratio", False, "gopher_too_many_bullets"),
    ("gopher_ellipsis_lines_ratio", "max_ellipsis_lines_ratio", False, "gopher_too_many_end_ellipsis"),
    ("gopher_alpha_words_ratio", "max_non_alpha_words_ratio", True, "gopher_below_alpha_threshold"),
    ("gopher_stop_words", "min_stop_words", True, "gopher_enough_stop_words"),
]


def _ratio(a, b):
    return a / b if b else None


class GopherQuality(DocFilter):
    name = "gopher_quality"
    columns = {
        "gopher_words": Score(0, 5000, pa.int32()),
        "gopher_avg_word_len": Score(0, 15),
        "gopher_hash_ratio": Score(0, 1),
        "gopher_ellipsis_ratio": Score(0, 1),
        "gopher_bullet_lines_ratio": Score(0, 1),
        "gopher_ellipsis_lines_ratio": Score(0, 1),
        "gopher_alpha_words_ratio": Score(0, 1),
        "gopher_stop_words": Score(0, 8, pa.int32()),
    }
    defaults = {
        "min_doc_words": 50,
        "max_doc_words": 100_000,
        "min_avg_word_length": 3,
        "max_avg_word_length": 10,
        "max_symbol_word_ratio": 0.1,
        "max_bullet_lines_ratio": 0.9,
        "max_ellipsis_lines_ratio": 0.3,
        "max_non_alpha_words_ratio": 0.8,  # datatrove's name; really a minimum share of alphabetic words
        "min_stop_words": 2,
        "stop_words": STOP_WORDS,
    }

    def __init__(self, languages=None, per_language=None, **params):
        merged = {lang: dict(over) for lang, over in PER_LANGUAGE.items()}
        for lang, over in (per_language or {}).items():
            merged.setdefault(lang, {}).update(over)
        super().__init__(languages=languages, per_language=merged, **params)
        self._stop_langs = {lang for lang, over in merged.items() if "stop_words" in over} | {"en", None}
        self._stop_sets = {
            id(d): frozenset(d["stop_words"] or STOP_WORDS) for d in [self.params, *self.per_language.values()]
        }

    def judge(self, doc, p):
        text = doc["text"] or ""
        lang = doc.get("lang")
        words = split_words(text, lang)
        n = len(words)
        content = [w for w in words if is_word(w)]
        lines = text.splitlines()
        stop = None
        if lang in self._stop_langs:
            stop = len(self._stop_sets[id(p)].intersection(words))
        s = {
            "gopher_words": len(content),
            "gopher_avg_word_len": _ratio(sum(map(len, content)), len(content)),
            "gopher_hash_ratio": _ratio(text.count("#"), n),
            "gopher_ellipsis_ratio": _ratio(text.count("...") + text.count("…"), n),
            "gopher_bullet_lines_ratio": _ratio(sum(ln.lstrip().startswith(("•", "-")) for ln in lines), len(lines)),
            "gopher_ellipsis_lines_ratio": _ratio(sum(ln.rstrip().endswith(("...", "…")) for ln in lines), len(lines)),
            "gopher_alpha_words_ratio": _ratio(sum(1 for w in words if w.isalpha() or any(c.isalpha() for c in w)), n),
            "gopher_stop_words": stop,
        }
        for col, param, is_min, reason in _RULES:
            v, thr = s[col], p[param]
            if thr and v is not None and (v < thr if is_min else v > thr):
                return s, Drop(reason, v)
        return s, None
