"""Knowledge/topic classifier: one topic per document from a fixed list.

Zero-shot by default: documents and short topic descriptions are embedded with
the MiniLM encoder; the topic is the description set closest in cosine
similarity, and ``topic_score`` its softmax probability over all topics (a
temperature of 0.05 on cosine similarities). No training data needed.

With labelled data (``text``, ``label`` = a topic name) ``curate train topic``
fits a linear head on the same embeddings (a supervised model, usually more
accurate); point the stage's ``model_path`` at it.

The list follows the coarse top level of web-content taxonomies (IAB / DMOZ).
Llama 3 used such a classifier to downsample over-represented topics (arts and
entertainment); downsampling is done at mix time from ``topic_weights``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from classifiers.common import DEFAULT_MODEL_DIR, _r, split, write_card

# topic -> descriptions (their mean embedding is the topic's prototype)
TOPICS: dict[str, list[str]] = {
    "arts_entertainment": [
        "Arts and entertainment: movies, television shows, music, concerts, celebrities, actors and films.",
        "Video games, gaming consoles, books, novels, comics, theatre, art exhibitions and museums.",
        "A review of a film, an album, a TV series or a game; pop culture and celebrity news.",
    ],
    "sports": [
        "Sports: football, soccer, basketball, tennis, baseball, athletes, teams, matches and scores.",
        "A sports report: the team won the game, the championship, the league season and the coach.",
    ],
    "politics_law": [
        "Politics and government: elections, political parties, presidents, parliament, policy and laws.",
        "Law and justice: courts, judges, lawsuits, crime, police and human rights.",
        "World news about war, diplomacy, international relations and conflicts between countries.",
    ],
    "business_finance": [
        "Business and finance: companies, markets, stocks, investing, banks, the economy and inflation.",
        "Corporate earnings, startups, mergers, jobs, careers, real estate and personal finance.",
    ],
    "science": [
        "Science: physics, chemistry, biology, astronomy, space exploration and scientific research.",
        "Mathematics, climate science, the environment, nature, animals and ecology.",
    ],
    "technology": [
        "Technology: computers, software, the internet, smartphones, gadgets and artificial intelligence.",
        "Programming, operating systems, Linux, servers, networks, security and system administration.",
    ],
    "health": [
        "Health and medicine: diseases, doctors, hospitals, treatments, drugs and medical research.",
        "Fitness, nutrition, diet, mental health, wellness and healthy living.",
    ],
    "education": [
        "Education: schools, universities, students, teachers, courses, learning and exams.",
        "A tutorial or lesson explaining how something works, with study guides and reference material.",
    ],
    "lifestyle": [
        "Lifestyle: food and recipes, cooking, travel and tourism, hotels, home and garden.",
        "Family, parenting, relationships, fashion, beauty, pets and hobbies.",
    ],
    "shopping": [
        "Shopping: products for sale, prices, online store, add to cart, shipping and discounts.",
        "Product descriptions and specifications, customer reviews, deals and coupons.",
    ],
    "religion_society": [
        "Religion, spirituality, church, faith, philosophy and ethics.",
        "Society and culture: history, communities, social issues, demographics and traditions.",
    ],
    "automotive_transport": [
        "Cars, automobiles, vehicles, motorcycles, driving, trucks, aviation, trains and transportation.",
    ],
}
TOPIC_NAMES = list(TOPICS)

HEAD_DEFAULTS: dict[str, Any] = {"epochs": 300, "lr": 1e-2, "weight_decay": 1e-3, "heldout": 0.2, "seed": 0,
                                 "max_length": 128, "max_chars": 5_000, "batch_size": 32, "device": "auto",
                                 "num_threads": None, "encoder_path": None}


class TopicClassifier:
    """Zero-shot (``model_path`` None) or a trained head (``model_path`` a folder from ``curate train topic``)."""

    def __init__(self, model_path: str | Path | None = None, device: str | None = "cpu",
                 num_threads: int | None = None, batch_size: int = 32, max_length: int = 128,
                 max_chars: int = 5_000, temperature: float = 0.05, encoder_path: str | None = None):
        from classifiers.encoder import get_encoder

        self.batch_size = batch_size
        self.temperature = temperature
        self.head = None
        if model_path:
            path = Path(model_path)
            if not (path / "config.json").exists():
                from classifiers.common import missing_model_error

                raise missing_model_error(path, "topic head")
            cfg = json.loads((path / "config.json").read_text())
            self.names = cfg["topics"]
            max_length, max_chars, encoder_path = cfg["max_length"], cfg["max_chars"], cfg.get("encoder_path")
            import torch

            state = torch.load(path / "head.pt", map_location="cpu", weights_only=True)
            self.head = (state["weight"].numpy(), state["bias"].numpy())
        else:
            self.names = TOPIC_NAMES
        self.encoder = get_encoder(encoder_path, device, num_threads, max_length, max_chars)
        if self.head is None:
            protos = []
            for name in self.names:
                e = self.encoder.embed(TOPICS[name], batch_size)
                v = e.mean(0)
                protos.append(v / np.linalg.norm(v))
            self.prototypes = np.stack(protos)

    def probabilities(self, texts: Sequence[str | None]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, len(self.names)), np.float32)
        x = self.encoder.embed(list(texts), self.batch_size)
        if self.head is not None:
            logits = x @ self.head[0].T + self.head[1]
        else:
            logits = (x @ self.prototypes.T) / self.temperature
        logits = logits - logits.max(1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(1, keepdims=True)

    def predict(self, texts: Sequence[str | None]) -> list[tuple[str, float]]:
        p = self.probabilities(texts)
        idx = p.argmax(1) if len(p) else []
        return [(self.names[i], float(p[k, i])) for k, i in enumerate(idx)]


def evaluate(clf: TopicClassifier, rows: Sequence[dict]) -> dict[str, Any]:
    """Accuracy (top-1 and top-2) and per-topic recall on rows labelled with topic names."""
    probs = clf.probabilities([r["text"] for r in rows])
    y = [clf.names.index(r["label"]) for r in rows]
    order = np.argsort(-probs, 1)
    top1 = float(np.mean(order[:, 0] == y)) if len(y) else None
    top2 = float(np.mean([yy in o[:2] for yy, o in zip(y, order)])) if len(y) else None
    recall: dict[str, list] = {}
    for yy, o in zip(y, order):
        recall.setdefault(clf.names[yy], []).append(int(o[0] == yy))
    confusions: dict[str, int] = {}
    for yy, o in zip(y, order):
        if o[0] != yy:
            k = f"{clf.names[yy]} -> {clf.names[o[0]]}"
            confusions[k] = confusions.get(k, 0) + 1
    return {"n": len(y), "accuracy": _r(top1), "top2_accuracy": _r(top2),
            "recall_by_topic": {k: f"{sum(v)}/{len(v)}" for k, v in sorted(recall.items())},
            "top_confusions": dict(sorted(confusions.items(), key=lambda kv: -kv[1])[:8])}


def train_head(rows: list[dict], out: str | Path = DEFAULT_MODEL_DIR / "topic", params: dict | None = None,
               data_desc: dict | None = None) -> dict[str, Any]:
    """Fit a softmax head on frozen embeddings from rows labelled with topic names (any label set)."""
    import torch

    from classifiers.encoder import Encoder

    p = {**HEAD_DEFAULTS, **(params or {})}
    torch.manual_seed(p["seed"])
    names = sorted({str(r["label"]) for r in rows})
    if len(names) < 2:
        raise ValueError("topic training data needs at least two distinct labels")
    tr, te = split(rows, p["heldout"], p["seed"])
    enc = Encoder(p["encoder_path"], p["device"], p["num_threads"], p["max_length"], p["max_chars"])
    x = torch.from_numpy(enc.embed([r["text"] for r in tr], p["batch_size"]))
    y = torch.tensor([names.index(str(r["label"])) for r in tr])
    lin = torch.nn.Linear(enc.dim, len(names))
    opt = torch.optim.AdamW(lin.parameters(), lr=p["lr"], weight_decay=p["weight_decay"])
    for _ in range(p["epochs"]):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(lin(x), y)
        loss.backward()
        opt.step()
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    torch.save({k: v.detach().cpu() for k, v in lin.state_dict().items()}, tmp / "head.pt")
    (tmp / "config.json").write_text(json.dumps({"topics": names, "max_length": p["max_length"],
                                                 "max_chars": p["max_chars"], "encoder_path": p["encoder_path"]}))
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    card = {"task": "topic classification (MiniLM embeddings + softmax head)",
            "data": {**(data_desc or {}), "train_rows": len(tr), "heldout_rows": len(te), "topics": names},
            "parameters": p}
    if te:
        card["heldout"] = evaluate(TopicClassifier(out, p["device"], p["num_threads"]), te)
    write_card(out, card)
    return card
