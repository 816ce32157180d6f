"""Code/math stage: adds ``code_score``, ``math_score`` (share of the text that is code / math, from a
line-level fastText model) and ``category`` in {general, math, code, multilingual} for the mixture."""

from __future__ import annotations

import pyarrow as pa

from classifiers import code_math
from classifiers.common import missing_model_error, resolve_model_path
from pipeline.stage import Score, Stage, StageResult


class CodeMath(Stage):
    """Code and math/reasoning detection and the mixture category.

    ``category``: ``multilingual`` when ``lang`` is not in ``languages`` (the languages the
    models know; default English), else ``math`` if math_score >= ``math_threshold`` and at least
    half the code_score, else ``code`` if code_score >= ``code_threshold``, else ``general``.
    Labels only, no drops."""

    name = "code_math"
    columns = {"code_score": Score(0, 1), "math_score": Score(0, 1), "category": pa.string()}
    defaults = {"model_path": str(code_math.DEFAULT_PATH), "languages": ["en"], "code_threshold": 0.1,
                "math_threshold": 0.05, "max_chars": 50_000}

    def setup(self) -> None:
        path = resolve_model_path(self.params["model_path"])
        if not path.exists():
            raise missing_model_error(path, "code/math line")
        self._path = str(path)
        code_math.load_model(self._path)

    def process(self, batch) -> StageResult:
        p = self.params
        texts = batch.column("text").to_pylist()
        langs = batch.column("lang").to_pylist() if "lang" in batch.column_names else [None] * len(texts)
        scores = code_math.doc_scores(texts, self._path, p["max_chars"]) if texts else []
        cats = [code_math.category(lang, c, m, p["languages"], p["code_threshold"], p["math_threshold"])
                for lang, (c, m) in zip(langs, scores)]
        return StageResult(columns={"code_score": [c for c, _ in scores], "math_score": [m for _, m in scores],
                                    "category": cats}, drops=[None] * len(texts))
