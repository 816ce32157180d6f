"""fastText quality stage: adds ``quality_fasttext`` = P(high quality), 0..1 (see classifiers/quality_fasttext.py)."""

from __future__ import annotations

from classifiers import quality_fasttext
from classifiers.common import missing_model_error, resolve_model_path
from pipeline.stage import Drop, Score, Stage, StageResult


class QualityFastText(Stage):
    """fastText bigram quality classifier ("reference-quality page?"), P(high quality).

    Tags only by default; ``min_score`` drops documents scoring below it. The
    model is trained by ``make models`` (``curate train fasttext``)."""

    name = "quality_fasttext"
    columns = {"quality_fasttext": Score(0, 1)}
    defaults = {"model_path": str(quality_fasttext.DEFAULT_PATH), "max_chars": 10_000, "min_score": None}

    def setup(self) -> None:
        path = resolve_model_path(self.params["model_path"])
        if not path.exists():
            raise missing_model_error(path, "fastText quality")
        self._path = str(path)
        quality_fasttext.load_model(self._path)

    def process(self, batch) -> StageResult:
        texts = batch.column("text").to_pylist()
        scores = quality_fasttext.predict(texts, self._path, self.params["max_chars"])
        lo = self.params["min_score"]
        drops = [Drop("low_quality_fasttext", s) if lo is not None and s < lo else None for s in scores]
        return StageResult(columns={"quality_fasttext": scores}, drops=drops)
