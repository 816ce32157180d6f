"""Language identification stage: adds ``lang`` and ``lang_score``, drops by per-language threshold."""

from __future__ import annotations

import pyarrow as pa

from classifiers import langid
from pipeline.stage import Drop, Score, Stage, StageResult


class LanguageID(Stage):
    """fastText lid.176 on the extracted text.

    ``languages``: keep only these (empty: keep all). ``min_score``: default
    probability threshold (0.65 as datatrove's LanguageFilter); ``min_score_per_language``
    overrides it, e.g. ``{en: 0.65, de: 0.5}``.
    """

    name = "langid"
    columns = {"lang": pa.string(), "lang_score": Score(0, 1)}
    defaults = {"model_path": None, "languages": [], "min_score": 0.65, "min_score_per_language": {}}

    def setup(self) -> None:
        langid.load_model(self.params["model_path"])

    def process(self, batch: pa.Table) -> StageResult:
        texts = batch.column("text").to_pylist()
        preds = langid.predict(texts, self.params["model_path"]) if texts else []
        allowed = set(self.params["languages"])
        per_lang = self.params["min_score_per_language"]
        out = StageResult(columns={"lang": [], "lang_score": []})
        for lang, score in preds:
            out.columns["lang"].append(lang)
            out.columns["lang_score"].append(score)
            if allowed and lang not in allowed:
                out.drops.append(Drop("language_not_kept", score))
            elif score < per_lang.get(lang, self.params["min_score"]):
                out.drops.append(Drop("low_language_score", score))
            else:
                out.drops.append(None)
        return out
