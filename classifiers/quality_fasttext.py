"""fastText quality classifier: P(high quality) of a document, DCLM / Llama 3 style.

Bigram fastText on lower-cased word+punctuation tokens of the document's first
``max_chars`` characters. A fastText model with default sizes (2M hash buckets x
100 dims) weighs about 800 MB; the default here uses fewer buckets and dims and
is then product-quantized (``.ftz``), a few hundred kB to a few MB, which
``bench/classifiers_fasttext.py`` measures against the large model's accuracy.

Labels: ``label`` 1/0 (high/low quality), or ``score`` in 0..1 thresholded at 0.5.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from classifiers.common import (DEFAULT_MODEL_DIR, binary_metrics, ft_tokens, load_fasttext, shuffled,
                                split, write_card)

DEFAULT_PATH = DEFAULT_MODEL_DIR / "quality_fasttext.ftz"
POS, NEG = "__label__hq", "__label__lq"
TASK = "document quality, P(high quality) (fastText, bigram)"

# Training hyperparameters (override from classifiers/train.yaml or `--set key=value`).
TRAIN_DEFAULTS: dict[str, Any] = {
    "dim": 32, "epoch": 50, "lr": 0.3, "wordNgrams": 2, "minCount": 2, "bucket": 200_000, "loss": "softmax",
    "max_chars": 10_000, "heldout": 0.2, "seed": 0,
    # product quantization: keep the `cutoff` most important words/ngrams, retrain after pruning
    "quantize": True, "cutoff": 20_000, "dsub": 2, "qnorm": True, "retrain": True, "quantize_epoch": 10,
}


def _label(row: dict) -> int:
    if "label" in row and row["label"] is not None:
        v = row["label"]
        if isinstance(v, str):
            return int(v.lower() in ("1", "hq", "high", "pos", "positive", "true"))
        return int(v)
    return int(float(row["score"]) >= 0.5)


def _write_ft(path: Path, rows: Sequence[dict], max_chars: int, labels: tuple[str, str] = (POS, NEG)) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(f"{labels[0] if _label(r) else labels[1]} {ft_tokens(r['text'], max_chars)}\n")


def train(rows: list[dict], out: str | Path = DEFAULT_PATH, params: dict[str, Any] | None = None,
          data_desc: dict | None = None, quiet: bool = True, task: str = TASK,
          labels: tuple[str, str] = (POS, NEG)) -> dict[str, Any]:
    """Train (and quantize) a model from labelled rows; write it and its model card; return the card.

    Any binary task: ``task`` is the model card's description, ``labels`` the fastText label names of
    label 1 and label 0 (give the same ``labels`` to ``evaluate`` / ``_predict_model``)."""

    p = {**TRAIN_DEFAULTS, **(params or {})}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tr, te = split(rows, p["heldout"], p["seed"])
    tr = shuffled(tr, p["seed"])
    if not tr or len({_label(r) for r in tr}) < 2:
        raise ValueError(f"training data needs both classes; got {len(tr)} training rows")
    ft_args = dict(dim=p["dim"], epoch=p["epoch"], lr=p["lr"], wordNgrams=p["wordNgrams"], minCount=p["minCount"],
                   bucket=p["bucket"], loss=p["loss"], seed=p["seed"], thread=1,  # one thread: deterministic
                   verbose=0 if quiet else 2)
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        train_file = Path(tmp) / "train.txt"
        _write_ft(train_file, tr, p["max_chars"], labels)
        qargs = dict(cutoff=p["cutoff"], dsub=p["dsub"], qnorm=p["qnorm"], retrain=p["retrain"],
                     epoch=p["quantize_epoch"]) if p["quantize"] else None
        model, quantized = train_supervised(str(train_file), ft_args, p, qargs)
        full_metrics = evaluate(model, te, p["max_chars"], labels) if te else None
        tmp_bin = Path(tmp) / "full.bin"
        model.save_model(str(tmp_bin))
        full_size = tmp_bin.stat().st_size
        model = quantized or model
    train_s = time.time() - t0
    tmp_out = out.with_name(out.name + ".tmp")
    model.save_model(str(tmp_out))
    os.replace(tmp_out, out)
    heldout = evaluate(model, te, p["max_chars"], labels) if te else None
    card = {
        "task": task,
        "data": {**(data_desc or {}), "train_rows": len(tr), "heldout_rows": len(te),
                 "train_positives": sum(_label(r) for r in tr)},
        "parameters": p,
        "heldout": {"quantized" if p["quantize"] else "model": heldout, "unquantized": full_metrics},
        "size": {"bytes": out.stat().st_size, "unquantized_bytes": full_size},
        "speed": {"train_s": round(train_s, 2)},
    }
    write_card(out, card)
    return card


def _train_child(path: str, ft_args: dict, quantize: dict | None, full_out: str, quant_out: str) -> float:
    import fasttext

    lr = ft_args["lr"]
    for _ in range(4):
        try:
            model = fasttext.train_supervised(input=path, **{**ft_args, "lr": lr})
            break
        except RuntimeError as e:
            if "NaN" not in str(e):
                raise
            lr /= 2
    else:
        raise RuntimeError(f"fastText training diverged even at lr={lr * 2}; lower lr")
    model.save_model(full_out)
    if quantize is not None:
        model.quantize(input=path, lr=lr, thread=1, verbose=0, **quantize)
        model.save_model(quant_out)
    return lr


def train_supervised(path: str, ft_args: dict, p: dict, quantize: dict | None = None):
    """fastText training (and quantization, if ``quantize`` holds its arguments); returns (model, quantized or None).

    Runs in a freshly spawned process: in a process where some native libraries were loaded before
    (seen after spaCy/thinc), fastText's training diverges to NaN, so its floating-point environment must
    be pristine. A learning rate too high for the data still diverges: it is retried at half
    (recorded in ``p['lr_used']``).
    """
    import multiprocessing

    import fasttext

    with tempfile.TemporaryDirectory() as tmp:
        full, quant = str(Path(tmp) / "full.bin"), str(Path(tmp) / "quant.ftz")
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            p["lr_used"] = pool.apply(_train_child, (path, ft_args, quantize, full, quant))
        return fasttext.load_model(full), (fasttext.load_model(quant) if quantize is not None else None)


def evaluate(model, rows: Sequence[dict], max_chars: int = 20_000,
             labels: tuple[str, str] = (POS, NEG)) -> dict[str, Any]:
    y = [_label(r) for r in rows]
    s = _predict_model(model, [r["text"] for r in rows], max_chars, labels)
    m = binary_metrics(y, s)
    by_source: dict[str, list] = {}
    for r, yy, ss in zip(rows, y, s):
        if r.get("source"):
            by_source.setdefault(r["source"], []).append((yy, ss))
    if by_source:  # accuracy per source: how each kind of data is classified
        m["accuracy_by_source"] = {k: round(sum((ss >= 0.5) == yy for yy, ss in v) / len(v), 4)
                                   for k, v in sorted(by_source.items())}
    return m


def load_model(model_path: str | None = None):
    return load_fasttext(model_path or DEFAULT_PATH, "fastText quality")


def _predict_model(model, texts: Sequence[str | None], max_chars: int,
                   labels: tuple[str, str] = (POS, NEG)) -> list[float]:
    """P(label 1) per text; ``labels`` = (fastText label of 1, of 0)."""
    pos, neg = labels
    lines = [ft_tokens(t, max_chars) for t in texts]
    predicted, probs = model.predict(lines, k=2)
    out = []
    for labs, ps in zip(predicted, probs):
        d = dict(zip(labs, ps))
        out.append(float(min(1.0, max(0.0, d.get(pos, 1.0 - d.get(neg, 1.0))))))
    return out


def predict(texts: Sequence[str | None], model_path: str | None = None, max_chars: int = 20_000) -> list[float]:
    """P(high quality) for each text (empty texts get the model's score of an empty line)."""
    if not texts:
        return []
    return _predict_model(load_model(str(model_path) if model_path else None), texts, max_chars)
