"""FineWeb quality rules (Penedo et al. 2024; datatrove's ``FineWebQualityFilter``).

Metrics, over the non-blank lines of the text:

- ``fineweb_line_punct_ratio``: share of lines ending in terminal punctuation
  (``stop_chars``, default datatrove's ``TERMINAL_PUNCTUATION``);
- ``fineweb_short_line_ratio``: share of lines of at most ``short_line_length`` chars;
- ``fineweb_char_dup_ratio``: characters of repeated lines over the text's
  characters without newlines;
- ``fineweb_list_ratio``: newlines per word (``_words.words``).

Same parameters, order and drop reasons as datatrove (``line_punct_ratio``,
``short_line_ratio``, ``char_dup_ratio``, ``list_ratio``; ``empty`` when there
is no non-blank line). A threshold of None switches its rule off.
"""

from __future__ import annotations

from datatrove.pipeline.filters.gopher_repetition_filter import find_duplicates
from datatrove.utils.text import TERMINAL_PUNCTUATION

from pipeline.stage import DocFilter, Drop, Score
from pipeline.stages._words import words as split_words

# (score column, max threshold param, datatrove reason), after line_punct_ratio, in datatrove's order
_MAX_RULES = [
    ("fineweb_short_line_ratio", "short_line_thr", "short_line_ratio"),
    ("fineweb_char_dup_ratio", "char_duplicates_ratio", "char_dup_ratio"),
    ("fineweb_list_ratio", "new_line_ratio", "list_ratio"),
]


class FineWebQuality(DocFilter):
    name = "fineweb_quality"
    columns = {
        "fineweb_line_punct_ratio": Score(0, 1),
        "fineweb_short_line_ratio": Score(0, 1),
        "fineweb_char_dup_ratio": Score(0, 1),
        "fineweb_list_ratio": Score(0, 1),
    }
    defaults = {
        "line_punct_thr": 0.12,
        "line_punct_exclude_zero": False,
        "stop_chars": None,  # None: datatrove's TERMINAL_PUNCTUATION
        "short_line_thr": 0.67,
        "short_line_length": 30,
        "char_duplicates_ratio": 0.01,
        "new_line_ratio": 0.3,
    }

    def judge(self, doc, p):
        text = doc["text"] or ""
        lines = [line for line in text.split("\n") if line.strip() != ""]
        if not lines:
            return {}, Drop("empty")
        stop_chars = tuple(TERMINAL_PUNCTUATION if p["stop_chars"] is None else p["stop_chars"])
        n_words = len(split_words(text, doc.get("lang")))
        s = {
            "fineweb_line_punct_ratio": sum(line.endswith(stop_chars) for line in lines) / len(lines),
            "fineweb_short_line_ratio": sum(len(line) <= p["short_line_length"] for line in lines) / len(lines),
            "fineweb_char_dup_ratio": find_duplicates(lines)[1] / len(text.replace("\n", "")),
            "fineweb_list_ratio": text.count("\n") / n_words if n_words else None,
        }
        r = s["fineweb_line_punct_ratio"]
        exempt = r == 0 and p["line_punct_exclude_zero"]
        if p["line_punct_thr"] is not None and r < p["line_punct_thr"] and not exempt:
            return s, Drop("line_punct_ratio", r)
        for col, thr, reason in _MAX_RULES:
            if p[thr] is not None and s[col] is not None and s[col] > p[thr]:
                return s, Drop(reason, s[col])
        return s, None
