"""Toxicity stage: adds ``toxicity`` = P(toxic), 0..1, and drops documents above ``max_score`` with reason
``toxic`` (see classifiers/toxicity.py; trained by ``curate train toxicity``).

How a document is scored. The model is trained on tweets (median 81 characters); a web page is
thousands. fastText averages the embeddings of all its tokens, so one toxic paragraph in a long page
is diluted away. A document's score is therefore the **maximum over paragraph chunks of about tweet
size** (``chunk_chars`` = 280: lines are paragraphs, long ones cut at sentence ends, short consecutive
ones joined), counting only chunks in which at least ``min_known`` of the words are in the model's
vocabulary (a chunk of German, code or a table of names would get the training prior, mostly toxic,
instead of a judgement). No such chunk (empty text, another script): the score is null and the
document is kept. ``chunk_chars: 0`` scores the whole text instead.

Measured (``bench/toxicity_eval.py`` -> ``bench/results/toxicity.md``), the default model (Davidson tweets +
clean web paragraphs as negatives + toxic tweets set in web text, ``curate train toxicity --negatives``): 79
English gold news articles of the measurement half (never trained on; 4.4 kB on average), each as is, with
one non-toxic comment inserted as a paragraph, and with 1 or 3 toxic ones (held-out Davidson tweets; surge
comments as a second check), at the model card's threshold:

- whole text: clean articles 0 % flagged, but 1 inserted toxic tweet 0 %, 3 tweets 7.6 % (diluted);
- max over 280-character chunks: clean 0 %, +1 non-toxic 2.5 %, +1 toxic 76 %, +3 toxic 99 %;
- max over 140-character chunks: +1 toxic 95 %, but +1 non-toxic 6.3 % flagged (short chunks make confident
  mistakes); 500 / 1000 characters: +1 toxic 37 % / 9 %.

So 280 (two tweets of Davidson's time, one of today's) is the trade-off; surge comments as inserts rank
the methods the same way. Held-out English web pages (the measurement half of the articles and of the
sample crawl's sites, two extractions): 0.6 % flagged (3 rows: a reader comment "lame ass joke", "skinny
bitch", and a table of Linux distributions), against 3.0 % for the Davidson-only model, 11 of whose 15 were
false positives (news, fiction and health pages with "her"/"she", colour tables, Debian handbook lines).
Limitations: the model follows profanity and slurs more than meaning (surge AUC 0.71-0.73); at the card's
threshold it is precise on surge comments (0.93) but catches only about a fifth of them (toxicity in plain
words). The default ``max_score: card`` is the threshold chosen on the held-out split (tweets and held-out
web pages) and stored in the model card; ``null`` tags only (the ``toxicity`` column is kept either way for
a later threshold).
"""

from __future__ import annotations

from classifiers import toxicity
from classifiers.common import missing_model_error, resolve_model_path
from pipeline.stage import Drop, Score, Stage, StageResult


class Toxicity(Stage):
    """fastText toxicity classifier (Davidson tweets: hate or offensive vs neither; clean web paragraphs as
    extra negatives), P(toxic) of the document's most toxic paragraph chunk.

    ``max_score``: drop documents scoring above it (reason ``toxic``); ``card`` (default) = the
    threshold in the model card, ``null`` = tag only. ``languages``: documents whose ``lang`` is not in
    it get a null score and pass (the model knows English only); null = score every document."""

    name = "toxicity"
    columns = {"toxicity": Score(0, 1)}
    defaults = {"model_path": str(toxicity.DEFAULT_PATH), "max_score": "card", "max_chars": 50_000,
                "chunk_chars": 280, "min_known": 0.5, "languages": ["en"]}

    def __init__(self, **params):
        super().__init__(**params)
        m = self.params["max_score"]
        if not (m is None or m == "card" or (isinstance(m, (int, float)) and not isinstance(m, bool))):
            raise ValueError(f"stage 'toxicity': max_score must be a number, 'card' or null; got {m!r}")

    def setup(self) -> None:
        path = resolve_model_path(self.params["model_path"])
        if not path.exists():
            raise missing_model_error(path, "toxicity")
        self._path = str(path)
        toxicity.load_model(self._path)
        m = self.params["max_score"]
        if m == "card":
            m = toxicity.card_threshold(path)
            if m is None:
                raise ValueError(f"stage 'toxicity': max_score is 'card' but {path}.card.json has no threshold "
                                 "(retrain with `curate train toxicity`, or set max_score to a number, or null "
                                 "to tag only)")
        self._max = None if m is None else float(m)

    def process(self, batch) -> StageResult:
        p = self.params
        texts = batch.column("text").to_pylist()
        langs = batch.column("lang").to_pylist() if "lang" in batch.column_names else [None] * len(texts)
        keep_langs = set(p["languages"]) if p["languages"] else None
        todo = [i for i, lang in enumerate(langs) if keep_langs is None or lang in keep_langs]
        scored = toxicity.doc_scores([texts[i] for i in todo], self._path, p["max_chars"], p["chunk_chars"],
                                     min_known=p["min_known"])
        scores: list[float | None] = [None] * len(texts)
        for i, s in zip(todo, scored):
            scores[i] = s
        hi = self._max
        drops = [Drop("toxic", s) if hi is not None and s is not None and s > hi else None for s in scores]
        return StageResult(columns={"toxicity": scores}, drops=drops)
