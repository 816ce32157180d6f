"""Word and sentence splitting shared by the heuristic filters (registers no stage).

Two tokenizers, chosen per run with the config key ``word_tokenizer``:

- ``fast`` (default): the regex split below. On the sample crawl each heuristic
  stage runs 7-20x faster than with spaCy, and 2.4% of documents get a different
  overall keep/drop decision (``make bench-tokenizer``,
  ``bench/results/tokenizer_agreement.md``).
- ``spacy``: datatrove's ``split_into_words`` (spaCy blank tokenizer of the
  language, as datatrove's own filters use), for exact parity with datatrove.

The spaCy path is made total:

- if datatrove has no tokenizer for ``lang`` or it cannot load (optional deps
  such as sudachipy, pyvi, pythainlp, stanza missing), words come from a regex
  split: punctuation peeled off each whitespace-separated chunk (as spaCy
  does, without its exception tables), and one token per character in
  scripts written without spaces (Han, kana, Thai, ...).
  A warning is logged once per language.
- texts longer than ``MAX_SPACY_CHARS`` (spaCy's own default ``max_length``) use
  the regex split too, so a 1M-word page costs ~1 s instead of ~7 s. Such
  pages (~170k+ words; CommonCrawl truncates records at 1 MiB) are beyond
  Gopher's 100k-word limit anyway, so decisions barely change.

``tokenizer(lang)`` returns the ``WordTokenizer`` behind this (it can be passed
as ``language`` to datatrove filters); its sentence splitting falls back to the
English spaCy sentencizer, then to a regex split on terminal punctuation.
``RegexTokenizer`` is the regex split alone (for callers that tokenize many
pieces of one huge text, like C4's per-line sentence count).
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

import regex
from datatrove.utils.text import PUNCTUATION_SET, TERMINAL_PUNCTUATION, split_into_words
from datatrove.utils.word_tokenizers import WordTokenizer, load_word_tokenizer, simple_span_tokenize

log = logging.getLogger(__name__)

MAX_SPACY_CHARS = 1_000_000
# Scripts written without spaces between words: one token per character (plus its marks).
_NOSPACE = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}\p{Tibetan}"
_W = rf"[[\p{{L}}\p{{M}}\p{{N}}_]--[{_NOSPACE}]]"  # a word character of a spaced script
# Like spaCy's rules without its exception tables: punctuation is peeled off both ends of a
# whitespace-separated chunk (one token per character, "..." whole); what remains, from the first to
# the last word character, is one token ("1/2", "350°F", "don't", "e-mail").
_TOKEN_RE = regex.compile(rf"[{_NOSPACE}]\p{{M}}*|{_W}(?:[^\s{_NOSPACE}]*{_W})?|\.\.\.|\S", regex.V1)
_TERMINAL = "".join(sorted(TERMINAL_PUNCTUATION))
_SENT_RE = re.compile(rf"(?<=[{re.escape(_TERMINAL)}])\s+|\n+")

_warned: set = set()
_tokenizers: dict = {}
TOKENIZERS = ("fast", "spacy")
_mode = {"tokenizer": "fast"}


def configure(name: str) -> None:
    """Choose the word tokenizer for this process: "fast" (regex) or "spacy" (datatrove's)."""
    if name not in TOKENIZERS:
        raise ValueError(f"word_tokenizer must be one of {TOKENIZERS}, not {name!r}")
    if name != _mode["tokenizer"]:
        _mode["tokenizer"] = name
        _tokenizers.clear()
        _cached_words.cache_clear()


def regex_words(text: str) -> list[str]:
    return _TOKEN_RE.findall(text)


def regex_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENT_RE.split(text) if s and s.strip()]


def regex_spans(text: str) -> list[tuple[int, int]]:
    return list(simple_span_tokenize(text, regex_sentences(text)))


def _warn_once(key, msg: str) -> None:
    if key not in _warned:
        _warned.add(key)
        log.warning(msg)


def _load(lang: str | None) -> WordTokenizer | None:
    """datatrove's tokenizer for ``lang`` if it loads and works, else None (warned once)."""
    try:
        tok = load_word_tokenizer(lang)
        tok.word_tokenize("Probe text. Second sentence.")  # lazy loaders fail on first use
        return tok
    except Exception as e:  # ImportError for optional deps, ValueError for unknown codes
        why = f"{type(e).__name__}: {e}"
        _warn_once(("load", lang), f"no word tokenizer for language {lang!r} ({why}); using a regex split")
        return None


class SafeTokenizer(WordTokenizer):
    """datatrove's tokenizer for one language, with regex fallbacks; never raises."""

    def __init__(self, language: str | None):
        super().__init__(language)
        self._tok = _load(language) if language and _mode["tokenizer"] == "spacy" else None
        self._sent_tok = self._tok
        if self._sent_tok is None and language != "en" and _mode["tokenizer"] == "spacy":
            self._sent_tok = tokenizer("en")._tok
            if language:
                _warn_once(("sent", language), f"splitting {language!r} sentences with the English tokenizer")

    def _call(self, tok, method: str, text: str, fallback):
        if tok is None or len(text) > MAX_SPACY_CHARS:
            return fallback(text)
        try:
            return getattr(tok, method)(text)
        except Exception as e:
            why = f"{type(e).__name__}: {e}"
            _warn_once(("call", self.language), f"{self.language!r} tokenizer failed ({why}); using a regex split")
            return fallback(text)

    def word_tokenize(self, text: str) -> list[str]:
        return self._call(self._tok, "word_tokenize", text, regex_words)

    def sent_tokenize(self, text: str) -> list[str]:
        return self._call(self._sent_tok, "sent_tokenize", text, regex_sentences)

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        return self._call(self._sent_tok, "span_tokenize", text, regex_spans)


class RegexTokenizer(WordTokenizer):
    """The regex fallbacks alone: for texts too long for spaCy."""

    def word_tokenize(self, text: str) -> list[str]:
        return regex_words(text)

    def sent_tokenize(self, text: str) -> list[str]:
        return regex_sentences(text)

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        return regex_spans(text)


def tokenizer(lang: str | None) -> SafeTokenizer:
    """The cached ``SafeTokenizer`` of a language (None: no language, regex split)."""
    if lang not in _tokenizers:
        _tokenizers[lang] = SafeTokenizer(lang)
    return _tokenizers[lang]


@lru_cache(maxsize=1024)
def _cached_words(text: str, lang: str | None) -> tuple[str, ...]:
    return tuple(split_into_words(text, tokenizer(lang)))


def words(text: str, lang: str | None) -> list[str]:
    """Word tokens of ``text`` as datatrove splits them.

    Cached for the last 1024 texts: the filters run one after another over a whole batch
    (default 256 documents), so each document is tokenized once, not once per filter
    (datatrove's own cache holds 5 texts, which a batch defeats).
    """
    return list(_cached_words(text, lang))


def is_word(token: str) -> bool:
    """A token with a non-punctuation character (Gopher's "non-symbol word")."""
    return token.isalpha() or any(ch not in PUNCTUATION_SET for ch in token)  # no letter is in PUNCTUATION_SET


def content_words(text: str, lang: str | None) -> list[str]:
    """``words`` without pure punctuation tokens."""
    return [w for w in words(text, lang) if is_word(w)]
