"""Transformer quality stage: adds ``quality_transformer`` (MiniLM student, 0..1; see
classifiers/quality_transformer.py). Batched; ``device: cuda`` makes the runner place
the per-file tasks on GPU workers (``resources``)."""

from __future__ import annotations

from classifiers.common import missing_model_error, resolve_model_path
from classifiers.quality_transformer import DEFAULT_PATH
from pipeline.stage import Drop, Score, Stage, StageResult


class QualityTransformer(Stage):
    """MiniLM + head trained on a teacher's quality scores (Llama 3's DistilRoBERTa step).

    ``device``: cpu, cuda, cuda:N or auto; ``gpus`` is the GPU share a task asks Ray
    for when the device is cuda (e.g. 0.25 lets four tasks share a GPU). ``num_threads``:
    torch CPU threads per worker (1 matches the runner's one CPU per task)."""

    name = "quality_transformer"
    columns = {"quality_transformer": Score(0, 1)}
    defaults = {"model_path": str(DEFAULT_PATH), "device": "cpu", "gpus": 1.0, "num_threads": 1,
                "batch_size": 32, "min_score": None}

    def resources(self) -> dict[str, float]:
        if str(self.params["device"]).startswith("cuda"):
            return {"num_gpus": float(self.params["gpus"])}
        return {}

    def setup(self) -> None:
        from classifiers.quality_transformer import Student

        path = resolve_model_path(self.params["model_path"])
        if not (path / "head.pt").exists():
            raise missing_model_error(path, "transformer quality")
        self._model = Student(path, self.params["device"], self.params["num_threads"], self.params["batch_size"])

    def process(self, batch) -> StageResult:
        scores = [float(s) for s in self._model.predict(batch.column("text").to_pylist())]
        lo = self.params["min_score"]
        drops = [Drop("low_quality_transformer", s) if lo is not None and s < lo else None for s in scores]
        return StageResult(columns={"quality_transformer": scores}, drops=drops)
