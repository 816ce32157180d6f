"""Tokenize-and-mix: token shards, weighted mixtures and the annealing mixture: see issue 6.

``OUT/clean/*.parquet`` ──► tokenize (Ray task per clean shard) ──► ``OUT/mix/tokens/<component>/``
(Megatron ``.bin``/``.idx``, EOS after every document) + ``OUT/mix/manifest.json`` (token and document
counts, lineage back to clean shards and WARC records) ──► ``OUT/mix/mixtures/{main,anneal}.json``
(requested vs achieved weights, sampling rates/epochs, Megatron ``--data-path`` blend) and, optionally,
shuffled mixed shards in ``OUT/mix/mixed/<mixture>/``; stats in ``OUT/stats/mix.json``.

- :mod:`mixtures.config`     the ``mix:`` section, defaults and validation
- :mod:`mixtures.tokenizer`  Llama 3 (default) / cl100k_base / any tokenizer.json or tiktoken file, offline
- :mod:`mixtures.components` which component (category × language group × quality bucket × topic) a document is in
- :mod:`mixtures.indexed`    Megatron indexed dataset writer/reader (numpy only)
- :mod:`mixtures.tokenize`   per-shard tokenization and per-component merge
- :mod:`mixtures.plan`       per-component token budgets, epoch caps, blend strings
- :mod:`mixtures.materialize` shuffled mixed shards
- :mod:`mixtures.run`        ``run_mix(out, cfg)`` and ``main(argv)`` (``curate mix CONFIG --output OUT``)
"""

from __future__ import annotations

from typing import Any


def run_mix(out, cfg: dict[str, Any] | None, **kwargs: Any) -> dict[str, Any]:
    """See :func:`mixtures.run.run_mix`."""
    from mixtures.run import run_mix as _run_mix

    return _run_mix(out, cfg, **kwargs)


def main(argv: list[str] | None = None) -> int:
    """See :func:`mixtures.run.main`."""
    from mixtures.run import main as _main

    return _main(argv)


__all__ = ["run_mix", "main"]
