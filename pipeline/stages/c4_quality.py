"""C4 line and page rules (Raffel et al. 2020), by datatrove's ``C4QualityFilter`` itself.

The filter drops lines (no terminal punctuation, fewer than 3 words, a word
over 1000 chars, "javascript", cookie/terms-of-use phrases, citation markers
are cut) and whole pages (``lorem_ipsum``, ``curly_bracket``,
``too_few_sentences``: fewer than 5 sentences left). Kept docs get the cleaned
text back in ``text``; ``c4_kept_lines_ratio`` is kept lines / lines (null when
the page was dropped by lorem_ipsum or curly_bracket, which stop mid-page).

Every ``C4QualityFilter`` kwarg is a param; ``filter_no_terminal_punct`` is
False by default, as in FineWeb (the C4 rule removes too much, e.g. headings
and list items). One datatrove filter is built per language, lazily; sentences
are split with the language's tokenizer from ``_words`` (English, then a regex
split, when it has none). Texts over ``MAX_SPACY_CHARS`` (1M chars) count
sentences with the regex split: datatrove calls spaCy once per kept line,
~0.4 ms each, which is 20 s for a 50k-line page.
"""

from __future__ import annotations

import pyarrow as pa
from datatrove.data import Document
from datatrove.pipeline.filters.c4_filters import C4QualityFilter

from pipeline.stage import DocFilter, Drop, Score, StageResult
from pipeline.stages._words import MAX_SPACY_CHARS, RegexTokenizer, tokenizer


class C4Quality(DocFilter):
    name = "c4_quality"
    columns = {"text": pa.string(), "c4_kept_lines_ratio": Score(0, 1)}
    defaults = {
        "split_paragraph": True,
        "remove_citations": True,
        "filter_no_terminal_punct": False,
        "min_num_sentences": 5,
        "min_words_per_line": 3,
        "max_word_length": 1000,
        "filter_lorem_ipsum": True,
        "filter_javascript": True,
        "filter_curly_bracket": True,
        "filter_policy": True,
    }

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._filters: dict = {}

    def _filter(self, lang, p, huge: bool) -> C4QualityFilter:
        key = (None if huge else lang, huge, id(p))
        if key not in self._filters:
            tok = RegexTokenizer() if huge else tokenizer(lang)
            self._filters[key] = C4QualityFilter(**p, language=tok)
        return self._filters[key]

    def judge(self, doc, p):
        text = doc["text"] or ""
        flt = self._filter(doc.get("lang"), p, huge=len(text) > MAX_SPACY_CHARS)
        kept0, total0 = flt.stats["line-kept"].total, flt.stats["line-total"].total
        d = Document(text=text, id=doc.get("url") or "")
        res = flt.filter(d)
        kept, total = flt.stats["line-kept"].total - kept0, flt.stats["line-total"].total - total0
        ratio = kept / total if total else None
        if res is True:
            return {"text": d.text, "c4_kept_lines_ratio": ratio}, None
        reason = res[1]
        if reason in ("lorem_ipsum", "curly_bracket"):
            ratio = None
        return {"text": text, "c4_kept_lines_ratio": ratio}, Drop(reason, ratio)

    def process(self, batch: pa.Table) -> StageResult:
        result = super().process(batch)
        # docs outside ``languages`` keep their text untouched
        texts = result.columns["text"]
        if any(t is None for t in texts):
            orig = batch.column("text").to_pylist()
            result.columns["text"] = [o if t is None else t for t, o in zip(texts, orig)]
        return result
