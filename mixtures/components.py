"""Which mixture component a document belongs to.

A component is named ``<category>[.<lang group>].<quality bucket>[.<topic>]``, e.g. ``general.q2``,
``multilingual.de.qna``, ``general.q1.arts_entertainment``:

- category: the ``category`` column (general, math, code, multilingual) where present and set;
  otherwise derived: ``multilingual`` if ``lang != "en"`` else ``general``.
- language group: only for the categories in ``components.split_lang`` (default: multilingual);
  ``components.lang_groups`` merges languages into groups, an unlisted language is its own group.
- quality bucket: ``q0`` .. ``qN`` from the configured quality column and edges (``q0 < e0 <= q1 < e1 <= q2``);
  ``qna`` where the column is missing or the value is null/NaN. ``qN`` is the top bucket.
- topic: only for the topics in ``split_topics`` (by default every topic a mixture's ``topic_weights`` names),
  so that topic downsampling is a per-component sampling rate; other topics stay in the base component.
"""

from __future__ import annotations

import bisect
import math
from typing import Any

import pyarrow as pa

from mixtures.config import safe_name


def top_bucket(ccfg: dict[str, Any]) -> str:
    return f"q{len(ccfg['quality_edges'])}"


class Assigner:
    def __init__(self, ccfg: dict[str, Any], topics: list[str]):
        self.qcol = ccfg["quality_column"]
        self.edges = list(ccfg["quality_edges"])
        self.lang_of = {lang: g for g, langs in ccfg["lang_groups"].items() for lang in langs}
        self.split_lang = set(ccfg["split_lang"])
        self.topics = set(topics)
        self.meta: dict[str, dict[str, Any]] = {}

    def columns(self, names: list[str]) -> list[str]:
        """Optional columns to read, of those present."""
        want = ["category", "topic"] + ([self.qcol] if self.qcol else [])
        return [c for c in want if c in names]

    def assign(self, batch: pa.RecordBatch | pa.Table) -> list[str]:
        names = batch.schema.names
        n = batch.num_rows
        langs = batch.column(names.index("lang")).to_pylist() if "lang" in names else [None] * n
        cats = batch.column(names.index("category")).to_pylist() if "category" in names else [None] * n
        topics = batch.column(names.index("topic")).to_pylist() if "topic" in names and self.topics else [None] * n
        quals = (batch.column(names.index(self.qcol)).to_pylist() if self.qcol and self.qcol in names
                 else [None] * n)
        out = []
        for lang, cat, topic, q in zip(langs, cats, topics, quals):
            lang = lang or "und"
            cat = safe_name(cat) if cat else ("general" if lang == "en" else "multilingual")
            if q is None or (isinstance(q, float) and math.isnan(q)):
                bucket = "qna"
            else:
                bucket = f"q{bisect.bisect_right(self.edges, float(q))}"
            parts = [cat]
            group = None
            if cat in self.split_lang:
                group = safe_name(self.lang_of.get(lang, lang))
                parts.append(group)
            parts.append(bucket)
            t = safe_name(topic) if topic else None
            if t not in self.topics:
                t = None
            if t:
                parts.append(t)
            name = ".".join(parts)
            if name not in self.meta:
                self.meta[name] = {"category": cat, "lang_group": group, "bucket": bucket, "topic": t}
            out.append(name)
        return out
