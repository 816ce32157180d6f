"""Topic stage: adds ``topic`` (one of classifiers.topic.TOPIC_NAMES, or a trained head's labels) and
``topic_score``. Labels only: over-represented topics are downsampled at mix time (``topic_weights``)."""

from __future__ import annotations

import pyarrow as pa

from classifiers.common import resolve_model_path
from pipeline.stage import Score, Stage, StageResult


class Topic(Stage):
    """Knowledge topic of each document: zero-shot MiniLM similarity to topic descriptions
    (``model_path`` null), or a head trained by ``curate train topic``. ``device``/``gpus``
    as for quality_transformer; with the same device and threads the two stages share one
    encoder and its embeddings."""

    name = "topic"
    columns = {"topic": pa.string(), "topic_score": Score(0, 1)}
    defaults = {"model_path": None, "device": "cpu", "gpus": 1.0, "num_threads": 1, "batch_size": 32,
                "max_length": 128, "temperature": 0.05}

    def resources(self) -> dict[str, float]:
        if str(self.params["device"]).startswith("cuda"):
            return {"num_gpus": float(self.params["gpus"])}
        return {}

    def setup(self) -> None:
        from classifiers.topic import TopicClassifier

        p = self.params
        path = resolve_model_path(p["model_path"]) if p["model_path"] else None
        self._clf = TopicClassifier(path, p["device"], p["num_threads"], p["batch_size"], p["max_length"],
                                    temperature=p["temperature"])

    def process(self, batch) -> StageResult:
        preds = self._clf.predict(batch.column("text").to_pylist())
        return StageResult(columns={"topic": [t for t, _ in preds], "topic_score": [s for _, s in preds]},
                           drops=[None] * batch.num_rows)
