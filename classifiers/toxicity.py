"""Toxicity classifier: P(toxic) of a short text, fastText (unigrams), trained on Davidson et al.'s tweets
and (by default) clean web paragraphs as extra non-toxic examples. This module trains the model, chooses
its threshold and scores documents; reading and preparing the data (cleaning, web negatives, chunking)
is ``classifiers/toxicity_data.py``.

Training data: ``davidson-hate-offensive.csv`` (24,783 tweets; ``class`` 0 hate speech, 1 offensive,
2 neither). Label 1 = toxic = hate or offensive (83 %), 0 = neither (17 %). The model is the project's
generic binary fastText trainer (``classifiers.quality_fasttext.train``: one thread, spawned process,
product-quantized ``.ftz``, model card) with toxicity labels and hyperparameters from the ``toxicity:``
section of ``classifiers/train.yaml``, tuned on the Davidson held-out split only (unigrams, 5 epochs at
lr 0.1: bigrams and more epochs were lower in held-out AUC; ``bench/results/toxicity.md``).

Cleaning (``clean_text``, applied to the training tweets *and* to every text scored, so training and
inference see the same normalization). Web text has no Twitter markup, so anything that only exists
on Twitter would be a feature that never fires on the web (or, worse, a class cue: most retweets in
Davidson are offensive):

- HTML entities are decoded (twice: the data has ``&amp;#8220;``), so ``&amp;`` is ``&`` and
  ``&#128514;`` the emoji it stands for;
- ``RT`` retweet markers, ``@mentions`` (only where a handle can start: ``fu@ker`` and ``F&@k`` are
  kept as words) and URLs are removed; ``#hashtag`` keeps its word;
- whitespace is collapsed. Spelling, case (the tokenizer lower-cases) and emoji are left alone.

Tweets left empty by cleaning are dropped. Known limitation: the Davidson labels follow profanity and
slurs closely, and tweets in African-American English are over-represented in the offensive class
(Sap et al., 2019: "The Risk of Racial Bias in Hate Speech Detection"); a filter built on this model
drops dialect along with toxicity and should be used with a conservative threshold and audited.

Clean web negatives (``train(negatives=...)``, ``curate train toxicity --negatives FILE_OR_GLOB``; what
``curate train all --toxicity-csv`` does by default). Davidson's "neither" class is tweets too, so a model
trained on it alone learns "anything not tweet-like-neutral is toxic": at its threshold it dropped about
11 % of the English sample-crawl pages, mostly false positives (news, recipes, fiction with "she"/"her",
"white", "chocolate", a sources.list block, a table of Linux distributions). Clean web pages are therefore
added as label 0, cut into the stage's 280-character chunks (``negative_chunks``: training units = scoring
units), screened with the LDNOOBW list (pages the dirty_words stage would drop, and every chunk with a
listed word, are left out), ``web_ratio`` chunks per Davidson training row, round-robin over sites. Web
negatives alone make ordinary words strongly clean, and fastText averages a chunk's word vectors, so a
toxic comment sharing a chunk with page text is diluted (held out: caught 50 % of the time instead of
73 %); ``mix_ratio`` toxic training tweets set in web text (``mixed_positives``) put web text on both sides,
so register stops being a cue and the toxic words decide. Half of the web units (``web_key``: article id,
site, Debian-handbook page) is never trained on by default (``web_measurement``, ``read_negatives(part=)``)
and measures web false positives in ``bench/toxicity_eval.py``.

Decision threshold (stored in the model card as ``threshold``): chosen on the held-out split (the 20 % by
text group that the trainer holds out for the card; never on the surge evaluation set). Davidson only
(``youden``): the score maximizing Youden's J = TPR - FPR (balanced accuracy). J does not depend on the
class prior, and the prior is the one thing certain to differ: 83 % toxic in Davidson, 50 % in the
evaluation set, a few percent on the web. Precision or F1 targets on Davidson would be chosen for an
83 % toxic world: precision is above 0.95 from threshold 0.4 up, and max F1 sits at 0.5-0.6, flagging
10-13 % of the non-toxic tweets for 0.005 more F1 than J's 2.7 %. With web negatives (``youden_web``, the
default; ``youden`` when there are none) the held-out split also holds whole web pages of units never
trained on, scored as the stage scores them, and J = TPR(toxic tweets) - max(FPR(neither tweets), share
of held-out pages flagged): the tweets' Youden threshold unless pages would be flagged more often than
neutral tweets, in which case it rises. The same split also served to tune the hyperparameters, so the
card's held-out figures at the threshold are slightly optimistic.

Documents (``doc_scores``): the model knows tweet-sized texts; a long page's average embedding dilutes
one toxic paragraph, so documents are split into paragraph chunks of about tweet size and scored by
the maximum over the chunks whose words the model mostly knows (None if there is none); see
``pipeline/stages/toxicity.py`` for the measurement.
"""

from __future__ import annotations

import json
import random
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from classifiers import quality_fasttext
from classifiers.common import DEFAULT_MODEL_DIR, auc, ft_tokens, load_fasttext, split, write_card
from classifiers.toxicity_data import (DEFAULT_BLOCKLIST, chunks, clean_text, mixed_positives, negative_chunks,
                                       read_surge, take_chunks, token_words)

DEFAULT_PATH = DEFAULT_MODEL_DIR / "toxicity.ftz"
INSERTS_PER_PAGE = 3  # held-out toxic tweets inserted into each held-out web page (one at a time), card metric
TOXIC, CLEAN = "__label__toxic", "__label__clean"
LABELS = (TOXIC, CLEAN)
TASK = "toxicity, P(toxic) of a short text (fastText; Davidson tweets, hate or offensive vs neither)"
TASK_WEB = TASK[:-1] + "; plus clean web paragraph chunks as non-toxic)"

# Training hyperparameters (override from classifiers/train.yaml `toxicity:` or `--set key=value`).
TRAIN_DEFAULTS: dict[str, Any] = {
    **quality_fasttext.TRAIN_DEFAULTS,
    "dim": 16, "epoch": 5, "lr": 0.1, "wordNgrams": 1, "minCount": 2, "bucket": 200_000,
    "max_chars": 2_000, "cutoff": 20_000, "quantize_epoch": 5,
    # how the decision threshold is chosen on the held-out split: youden_web (max TPR - the larger FPR of
    # neither tweets and of held-out web pages; youden without negatives), youden (max TPR - FPR over all
    # held-out rows), f1 (max F1 at the held-out's prior) or a number (fixed)
    "threshold_rule": "youden_web",
    # web negatives (train(negatives=...)): training chunks per Davidson training row (repeated if fewer
    # exist), chunk size (as the stage's chunk_chars), the screening word list (None: none), and the
    # stage's min_known for scoring the held-out pages
    "web_ratio": 0.2, "chunk_chars": 280, "negatives_blocklist": str(DEFAULT_BLOCKLIST), "min_known": 0.5,
    # toxic tweets set in web text (mixed_positives) per web training chunk: 0 = none
    "mix_ratio": 1.0,
}

# --- metrics ------------------------------------------------------------------------------

def pr_at(y: Sequence[int], s: Sequence[float], threshold: float) -> dict[str, Any]:
    """Precision, recall, F1, FPR and accuracy of ``score >= threshold``."""
    y = np.asarray(y, bool)
    pred = np.asarray(s, float) >= threshold
    tp, fp = int((pred & y).sum()), int((pred & ~y).sum())
    fn, tn = int((~pred & y).sum()), int((~pred & ~y).sum())
    prec = tp / (tp + fp) if tp + fp else None
    rec = tp / (tp + fn) if tp + fn else None
    f1 = 2 * prec * rec / (prec + rec) if prec and rec else 0.0
    return {"threshold": round(float(threshold), 4), "precision": _r(prec), "recall": _r(rec), "f1": _r(f1),
            "fpr": _r(fp / (fp + tn) if fp + tn else None), "accuracy": _r((tp + tn) / max(len(y), 1)),
            "flagged": tp + fp}


def choose_threshold(y: Sequence[int], s: Sequence[float], rule: str | float = "youden") -> float:
    """The decision threshold by ``rule``: ``youden`` (max TPR - FPR), ``f1`` (max F1) or a fixed number.
    Candidates are midpoints between consecutive distinct scores (robust to ties)."""
    if not isinstance(rule, str):
        return float(rule)
    y = np.asarray(y, bool)
    s = np.asarray(s, float)
    if y.all() or not y.any():
        raise ValueError("choosing a threshold needs both classes in the held-out split")
    u = np.unique(s)
    cands = np.concatenate([[u[0]], (u[:-1] + u[1:]) / 2]) if len(u) > 1 else u
    best, best_t = -np.inf, 0.5
    for t in cands:
        pred = s >= t
        tpr, fpr = (pred & y).sum() / y.sum(), (pred & ~y).sum() / (~y).sum()
        if rule == "youden":
            v = tpr - fpr
        elif rule == "f1":
            prec = (pred & y).sum() / max(pred.sum(), 1)
            v = 2 * prec * tpr / (prec + tpr) if prec + tpr else 0.0
        else:
            raise ValueError(f"threshold_rule must be youden, f1 or a number; got {rule!r}")
        if v > best:
            best, best_t = v, float(t)
    return round(best_t, 4)


def choose_threshold_web(toxic: Sequence[float], neither: Sequence[float], pages: Sequence[float]) -> float:
    """The threshold maximizing TPR(toxic) - max(FPR(neither), FPR(pages)): Youden's J against the worse of
    two kinds of negatives, whatever their counts: tweets labelled neither, and clean web pages scored as
    the stage scores them (``doc_scores``). While the held-out pages are no worse than the tweets this is
    Youden's J on the tweets (the Davidson-only rule); where they are worse the threshold rises until they
    are not. Candidates as in ``choose_threshold``."""
    tox, nei, pag = (np.sort(np.asarray(v, float)) for v in (toxic, neither, pages))
    if not len(tox) or not len(nei) or not len(pag):
        raise ValueError("choosing a threshold needs toxic and non-toxic tweets and web pages")
    u = np.unique(np.concatenate([tox, nei, pag]))
    cands = np.concatenate([[u[0]], (u[:-1] + u[1:]) / 2]) if len(u) > 1 else u

    def above(v, t):  # share of v >= t
        return 1 - np.searchsorted(v, t, side="left") / len(v)

    j = above(tox, cands) - np.maximum(above(nei, cands), above(pag, cands))
    best = np.flatnonzero(j >= j.max() - 1e-12)
    return round(float(cands[best[-1]]), 4)  # ties (the max makes plateaus): the highest, fewer pages flagged


def insert_paragraphs(text: str, extra: Sequence[str], rng) -> str:
    """``text`` with each of ``extra`` inserted as a paragraph (line) at a random place (``rng``: random.Random)."""
    paras = text.split("\n")
    for c in extra:
        paras.insert(rng.randrange(len(paras) + 1), c)
    return "\n".join(paras)


def _r(x: float | None, nd: int = 4) -> float | None:
    return None if x is None else round(float(x), nd)


# --- training -----------------------------------------------------------------------------

def train(rows: list[dict], out: str | Path = DEFAULT_PATH, params: dict[str, Any] | None = None,
          data_desc: dict | None = None, negatives: Sequence[dict | str] | None = None) -> dict[str, Any]:
    """Train and quantize the model (``quality_fasttext.train`` with toxicity labels), choose the decision
    threshold on the held-out split, write the model and its card (with ``threshold``); return the card.

    ``rows``: the labelled tweets (``read_davidson``). ``negatives`` (optional): clean web documents
    (``read_negatives``, or plain strings), added as non-toxic examples chunked like ``doc_scores`` chunks
    pages (``negative_chunks``). Their units (``web_key``) are split like the tweets (``heldout``, by
    group); of the training side, ``web_ratio`` x the number of Davidson training rows are used
    (``take_chunks``: round-robin over units; fewer available: all, repeated), plus ``mix_ratio`` x as many
    toxic training tweets set in those chunks' text (``mixed_positives``); the held-out side is kept whole,
    so its pages can be scored as the stage scores them (threshold rule ``youden_web``). Without negatives
    this is the Davidson-only model."""
    p = {**TRAIN_DEFAULTS, **(params or {})}
    out = Path(out)
    web_tr: list[dict] = []
    web_te: list[dict] = []
    web_stats: dict[str, Any] | None = None
    if negatives:
        web_rows, web_stats = negative_chunks(negatives, p["chunk_chars"], p["negatives_blocklist"])
        web_tr, web_te = split(web_rows, p["heldout"], p["seed"])
        n_dav = len(split(rows, p["heldout"], p["seed"])[0])
        want = int(round(float(p["web_ratio"]) * n_dav))
        web_stats.update(train_chunks_available=len(web_tr), train_chunks_used=want, heldout_chunks=len(web_te),
                         web_ratio=p["web_ratio"])
        web_tr = take_chunks(web_tr, want, p["seed"])
        n_mix = int(round(float(p["mix_ratio"]) * len(web_tr)))
        if n_mix:
            dav_tr_toxic = [r for r in split(rows, p["heldout"], p["seed"])[0] if r["label"] == 1]
            mixed = mixed_positives(dav_tr_toxic, web_tr, n_mix, p["chunk_chars"], p["seed"])
            web_stats.update(mixed_positives=len(mixed), mix_ratio=p["mix_ratio"])
            web_tr = web_tr + mixed
    desc = {**(data_desc or {})}
    if web_stats:
        desc["web_negatives"] = web_stats
    card = quality_fasttext.train(rows + web_tr + web_te, out, p, data_desc=desc,
                                  task=TASK_WEB if web_stats else TASK, labels=LABELS)
    # the same deterministic split (by text group) the trainer made: these rows were not trained on
    _, te = split(rows, p["heldout"], p["seed"])
    if te:
        model = load_model(str(out))
        y = [int(r["label"]) for r in te]
        s = quality_fasttext._predict_model(model, [r["text"] for r in te], p["max_chars"], LABELS)
        page_scores = ins_scores = None
        if web_te:
            # the held-out web pages (their screened chunks, one per line) as the stage scores them, as they are
            # (for the threshold) and with a held-out toxic tweet inserted as a paragraph (INSERTS_PER_PAGE times
            # each; reported in the card: how well a toxic paragraph inside a page is caught)
            by_page: dict[int, list[str]] = {}
            for r in web_te:
                by_page.setdefault(r["page"], []).append(r["text"])
            pages = ["\n".join(v) for v in by_page.values()]
            toxic_te = [r["text"] for r in te if r["label"] == 1]
            rng = random.Random(p["seed"])
            inserted = [insert_paragraphs(d, [rng.choice(toxic_te)], rng)
                        for d in pages for _ in range(INSERTS_PER_PAGE)]
            kw = dict(chunk_chars=p["chunk_chars"], min_known=p["min_known"])
            page_scores = [v or 0.0 for v in doc_scores(pages, str(out), **kw)]
            ins_scores = [v or 0.0 for v in doc_scores(inserted, str(out), **kw)]
        rule = p["threshold_rule"]
        if rule == "youden_web" and not page_scores:
            rule = "youden"  # no web pages held out: the Davidson-only rule
        if rule == "youden_web":
            t = choose_threshold_web([ss for ss, yy in zip(s, y) if yy], [ss for ss, yy in zip(s, y) if not yy],
                                     page_scores)
        else:
            t = choose_threshold(y, s, rule)
        at = pr_at(y, s, t)
        by_source = {src: round(float(np.mean([ss >= t for r, ss in zip(te, s) if r.get("source") == src])), 4)
                     for src in sorted({r.get("source") for r in te if r.get("source")})}
        card["threshold"] = t
        card["heldout"]["davidson_auc"] = _r(auc(y, s))
        card["heldout"]["at_threshold"] = {**at, "flagged_share_by_source": by_source}
        if web_te:
            card["heldout"]["web"] = {
                "pages": len(page_scores), "units": len({r["group"] for r in web_te}), "chunks": len(web_te),
                "page_flag_rate": _r(float(np.mean([v >= t for v in page_scores]))),
                "inserted_toxic_flag_rate": _r(float(np.mean([v >= t for v in ins_scores]))),
                "auc_inserted_vs_clean_pages": _r(auc([1] * len(ins_scores) + [0] * len(page_scores),
                                                      ins_scores + page_scores)),
                "auc_toxic_tweets_vs_clean_pages": _r(auc([1] * sum(y) + [0] * len(page_scores),
                                                          [ss for ss, yy in zip(s, y) if yy] + page_scores)),
            }
        card["notes"] = {
            "threshold": f"{t}: " + {
                "youden": "the held-out threshold maximizing TPR - FPR (Youden's J, independent of the class "
                          "prior; Davidson is 83 % toxic)" + (" with the held-out web chunks among the negatives"
                                                              if web_te else ""),
                "youden_web": "the held-out threshold maximizing TPR(toxic tweets) - max(FPR(neither tweets), "
                              "share of held-out web pages flagged) (Youden's J against the worse kind of "
                              "negatives; web pages scored as the stage scores them)",
                "f1": "the held-out threshold maximizing F1"}.get(rule, "fixed"),
            "labels": "1 = toxic (Davidson hate or offensive), 0 = neither"
                      + (", and clean web paragraph chunks (0)" if web_stats else ""),
            "cleaning": "HTML entities decoded, RT markers, @mentions and URLs removed, #hashtags keep their word "
                        "(classifiers.toxicity_data.clean_text, applied at training and scoring time)",
            "limitations": "tweets, 2017; labels track profanity and slurs; dialect (AAE) bias known for this "
                           "data set; English only",
        }
    else:
        card["threshold"] = 0.5 if isinstance(p["threshold_rule"], str) else float(p["threshold_rule"])
    write_card(out, card)
    return card


# --- inference ----------------------------------------------------------------------------

def load_model(model_path: str | None = None):
    return load_fasttext(model_path or DEFAULT_PATH, "toxicity")


def load_card(model_path: str | Path | None = None) -> dict[str, Any] | None:
    path = Path(model_path) if model_path else DEFAULT_PATH
    card = path.with_name(path.name + ".card.json")
    return json.loads(card.read_text()) if card.exists() else None


def card_threshold(model_path: str | Path | None = None) -> float | None:
    """The decision threshold stored in the model card, or None (no card, or no threshold in it)."""
    card = load_card(model_path)
    return float(card["threshold"]) if card and card.get("threshold") is not None else None


def predict(texts: Sequence[str | None], model_path: str | Path | None = None,
            max_chars: int = 2_000) -> list[float]:
    """P(toxic) of each text as a whole (cleaned like the training tweets). Empty texts score 0."""
    if not texts:
        return []
    model = load_model(str(model_path) if model_path else None)
    cleaned = [clean_text(t[:max_chars * 2] if t else t) for t in texts]
    scores = quality_fasttext._predict_model(model, [c or "" for c in cleaned], max_chars, LABELS)
    return [s if c else 0.0 for s, c in zip(scores, cleaned)]


@lru_cache(maxsize=8)
def _vocabulary(model) -> frozenset[str]:
    """The words of a loaded model (cached per model object: a retrained file is a new object)."""
    return frozenset(model.get_words())


def known_share(text: str | None, vocabulary: frozenset[str]) -> float:
    """Share of the (cleaned, lower-cased) word tokens of ``text`` that the model has a vector for;
    punctuation and emoji are not counted. 0 for a text without words."""
    words = token_words(ft_tokens(clean_text(text)))
    return sum(w in vocabulary for w in words) / len(words) if words else 0.0


def _scorable(chunk: str, vocab: frozenset[str], chunk_chars: int, min_known: float) -> str | None:
    """The chunk's fastText line, or None when it has no word or fewer than ``min_known`` of its words are
    in ``vocab``."""
    toks = ft_tokens(clean_text(chunk), 4 * chunk_chars)
    words = token_words(toks)
    if words and (min_known <= 0 or sum(w in vocab for w in words) >= min_known * len(words)):
        return toks
    return None


def chunk_scores(chunk_texts: Sequence[str], model_path: str | Path | None = None, chunk_chars: int = 280,
                 min_known: float = 0.5) -> list[float | None]:
    """P(toxic) of each chunk as ``doc_scores`` scores it, None for a chunk it would not count."""
    key = str(model_path) if model_path else None
    model = load_model(key)
    vocab = _vocabulary(model) if min_known > 0 else frozenset()
    lines = [_scorable(c, vocab, chunk_chars, min_known) for c in chunk_texts]
    todo = [ln for ln in lines if ln is not None]
    flat = iter(quality_fasttext._predict_model(model, todo, 8 * chunk_chars, LABELS) if todo else [])
    return [None if ln is None else next(flat) for ln in lines]


def doc_scores(texts: Sequence[str | None], model_path: str | Path | None = None, max_chars: int = 100_000,
               chunk_chars: int = 280, min_known: float = 0.5) -> list[float | None]:
    """Document P(toxic): the maximum over the chunks (``chunks``) of its first ``max_chars`` characters
    in which at least ``min_known`` of the words are in the model's vocabulary. A chunk of mostly
    unknown words (another language, code, tables) would get the model's prior, not a judgement; 1 % of
    the Davidson held-out tweets have a known share below 0.58.
    None when the document has no such chunk (empty, or nothing the model can judge).
    ``chunk_chars`` 0 scores the whole text (its first 2,000 characters) at once, as ``predict``."""
    if not texts:
        return []
    if not chunk_chars:
        return list(predict([t[:max_chars] if t else t for t in texts], model_path))
    return [None if not sc else max(sc) for sc in doc_chunk_scores(texts, model_path, max_chars, chunk_chars,
                                                                    min_known, with_text=False)]


def doc_chunk_scores(texts: Sequence[str | None], model_path: str | Path | None = None, max_chars: int = 100_000,
                     chunk_chars: int = 280, min_known: float = 0.5, with_text: bool = True) -> list[list]:
    """Per document, the scores of the chunks ``doc_scores`` counts (``(score, chunk)`` pairs with
    ``with_text``): what a page was flagged for."""
    per_doc = [chunks(t[:max_chars] if t else t, chunk_chars) for t in texts]
    flat = chunk_scores([c for cs in per_doc for c in cs], model_path, chunk_chars, min_known)
    out: list[list] = []
    k = 0
    for cs in per_doc:
        sc = flat[k:k + len(cs)]
        k += len(cs)
        out.append([(v, c) if with_text else v for v, c in zip(sc, cs) if v is not None])
    return out


# --- evaluation ---------------------------------------------------------------------------

SURGE_TABLE_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


def evaluate_surge(csv_path: str | Path, model_path: str | Path | None = None, threshold: float | None = None,
                   thresholds: Sequence[float] = SURGE_TABLE_THRESHOLDS) -> dict[str, Any]:
    """Precision/recall/F1 at ``threshold`` (default: the model card's), AUC, and a P/R table at
    ``thresholds``, on the surge-ai toxicity comments scored as whole texts."""
    texts, y = read_surge(csv_path)
    if threshold is None:
        threshold = card_threshold(model_path)
        threshold = 0.5 if threshold is None else threshold
    s = predict(texts, model_path)
    return {"n": len(y), "positives": int(sum(y)), "auc": _r(auc(y, s)), "threshold": threshold,
            **{k: v for k, v in pr_at(y, s, threshold).items() if k != "threshold"},
            "table": [pr_at(y, s, t) for t in sorted(set(thresholds) | {threshold})]}
