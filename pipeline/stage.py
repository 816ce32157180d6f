"""The stage API: one small class per step of the per-file pipeline.

A stage receives a batch of documents (a ``pyarrow.Table``) and returns a
``StageResult``: new or replaced columns, one value per input row, and a drop
decision per row. The runner, not the stage, counts, times and records drops,
so every stage gets statistics for free.

Most filters judge one document at a time; they subclass ``DocFilter`` and
write a single method::

    class ShortDocs(DocFilter):
        name = "short_docs"                      # the key used in the YAML config
        columns = {"n_chars": Score(0, 10_000)}  # score columns it adds
        defaults = {"min_chars": 200}            # thresholds, overridable per language

        def judge(self, doc, p):
            n = len(doc["text"])
            return {"n_chars": n}, Drop("too_short", n) if n < p["min_chars"] else None

and are switched on with one line in the config: ``- short_docs: {min_chars: 100}``.
Every subclass with a ``name`` is registered automatically (see ``registry``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pyarrow as pa

log = logging.getLogger(__name__)

# name -> Stage subclass; filled by __init_subclass__.
_REGISTRY: dict[str, type["Stage"]] = {}


@dataclass(frozen=True)
class Drop:
    """Why a row was dropped: a short snake_case reason and the score that decided it."""

    reason: str
    score: float | None = None


@dataclass(frozen=True)
class Score:
    """A numeric column a stage adds, with the range its histogram covers in the stats."""

    lo: float = 0.0
    hi: float = 1.0
    type: pa.DataType = field(default_factory=pa.float32)


@dataclass
class StageResult:
    """Per-row output of a stage: columns to add or replace, and a drop decision per row."""

    columns: dict[str, list] = field(default_factory=dict)
    drops: list[Drop | None] = field(default_factory=list)


class Stage:
    """Base class of all per-file stages.

    Subclasses set ``name`` (the config key), ``columns`` (what they add: a
    ``Score`` for numbers, or a ``pa.DataType`` for other columns), ``defaults``
    (their parameters) and implement ``process``. Heavy resources (models,
    lists) are loaded in ``setup``, which the runner calls once per worker.
    """

    name: ClassVar[str] = ""
    columns: ClassVar[dict[str, Score | pa.DataType]] = {}
    defaults: ClassVar[dict[str, Any]] = {}
    # Columns a stage removes from the batch after it ran (e.g. raw HTML after extraction).
    consumes: ClassVar[tuple[str, ...]] = ()
    # True for stages that need corpus statistics (see ``fit``).
    fits: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.name:
            if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
                raise TypeError(f"two stages are named {cls.name!r}: {_REGISTRY[cls.name]} and {cls}")
            _REGISTRY[cls.name] = cls

    def __init__(self, **params: Any):
        unknown = set(params) - set(self.defaults)
        if unknown:
            raise ValueError(
                f"stage {self.name!r}: unknown parameter(s) {sorted(unknown)}; known: {sorted(self.defaults)}"
            )
        self.params = {**self.defaults, **params}

    def setup(self) -> None:
        """Load models or lists. Called once per worker process before the first batch."""

    def resources(self) -> dict[str, float]:
        """Ray resources a per-file task needs for this stage beyond one CPU, e.g. ``{"num_gpus": 0.5}``."""
        return {}

    def process(self, batch: pa.Table) -> StageResult:
        raise NotImplementedError

    def fit(self, sample: pa.Table) -> dict:
        """For ``fits = True`` stages: learn corpus statistics from a sample of documents as they
        arrive at this stage. Returns a JSON-able state, saved with the run and given to every
        worker through ``load_fitted``, so reruns use the same state."""
        raise NotImplementedError

    def load_fitted(self, state: dict) -> None:
        raise NotImplementedError

    # A stage that judges the corpus as a whole (e.g. ``domain_filter``) defines instead
    # ``fit_corpus(docs, rejects, pmap) -> state``: called once in the clean phase with the paths of every
    # docs and per-file rejects shard and a parallel map (``pmap(fn, [args, ...])`` runs Ray tasks); its
    # state reaches ``load_fitted``. Such stages may only be listed under ``clean.stages``.

    @classmethod
    def score_columns(cls) -> dict[str, Score]:
        return {k: v for k, v in cls.columns.items() if isinstance(v, Score)}

    @classmethod
    def column_types(cls) -> dict[str, pa.DataType]:
        return {k: (v.type if isinstance(v, Score) else v) for k, v in cls.columns.items()}


class DocFilter(Stage):
    """A stage that judges one document at a time, with per-language parameters.

    Common parameters, understood by every DocFilter:

    - ``languages``: list of language codes the filter applies to (default: all).
      Documents in other languages pass untouched and get null scores.
    - ``per_language``: ``{lang: {param: value}}`` overrides of ``defaults``.
    """

    def __init__(self, languages: list[str] | None = None, per_language: dict | None = None, **params: Any):
        super().__init__(**params)
        self.languages = set(languages) if languages else None
        self.per_language: dict[str, dict] = {}
        for lang, over in (per_language or {}).items():
            bad = set(over) - set(self.defaults)
            if bad:
                raise ValueError(f"stage {self.name!r}: per_language.{lang} has unknown parameter(s) {sorted(bad)}")
            self.per_language[lang] = {**self.params, **over}

    def params_for(self, lang: str | None) -> dict[str, Any] | None:
        """Parameters for documents in ``lang``, or None if the filter does not apply to it."""
        if self.languages is not None and lang not in self.languages:
            return None
        return self.per_language.get(lang, self.params) if lang else self.params

    def judge(self, doc: dict[str, Any], params: dict[str, Any]) -> tuple[dict[str, Any], Drop | None]:
        """Score one document (a dict of its columns); return its scores and a Drop or None."""
        raise NotImplementedError

    def process(self, batch: pa.Table) -> StageResult:
        names = [n for n in ("text", "lang", "url") if n in batch.column_names]
        cols = {n: batch.column(n).to_pylist() for n in names}
        result = StageResult(columns={c: [] for c in self.columns})
        for i in range(batch.num_rows):
            doc = {n: cols[n][i] for n in names}
            params = self.params_for(doc.get("lang"))
            if params is None:
                scores, drop = {}, None
            else:
                scores, drop = self.judge(doc, params)
            for c in self.columns:
                result.columns[c].append(scores.get(c))
            result.drops.append(drop)
        return result


def registry() -> dict[str, type[Stage]]:
    """All known stages by name (importing ``pipeline.stages`` registers the built-in ones)."""
    import pipeline.stages  # noqa: F401  (registers built-in stages)

    return dict(_REGISTRY)
