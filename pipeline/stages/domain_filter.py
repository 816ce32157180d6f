"""Domain-level safety filter: drops every page of a site that is mostly adult or PII-heavy.

A page-level filter misses the rest of a bad site: the pages of an adult site
that happen to have few dirty words, the pages of a people-search site between
its listings. This stage judges each registered domain over the whole corpus
(it runs in the clean phase, after dedup, see ``fit_corpus``):

- ``adult_domain``: of the domain's pages (those kept after dedup, plus those
  the per-file ``dirty_words`` filter dropped, read from ``OUT/rejects``), the
  share that are dirty (dropped by ``dirty_words``, or ``dirty_word_ratio`` >=
  ``dirty_ratio``) is more than ``max_dirty_share``;
- ``pii_domain``: its kept pages hold >= ``max_pii_per_kchar`` PII matches
  (``pipeline.stages.pii.find_pii``, every type) per 1,000 characters.

Only domains with at least ``min_docs`` pages are judged. Blocked-domain lists
(UT1 adult, phishing, malware) are applied earlier, per URL, by ``url_filter``.
The decisions (domain, reason, pages, share or density) are the fitted state,
stored in ``OUT/stats/clean/fitted.json`` and summarized in ``OUT/stats/clean.json``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.stage import Drop, Stage, StageResult
from pipeline.stages.pii import default_regions, find_pii
from pipeline.stages.url_filter import split_url, tld_extractor

SUMMARY_SCHEMA = pa.schema([("domain", pa.string()), ("docs", pa.int64()), ("chars", pa.int64()),
                            ("pii", pa.int64()), ("dirty", pa.int64())])


def registered_domain(url: str | None) -> str:
    """``https://a.b.example.co.uk/x`` -> ``example.co.uk`` (the host itself for IPs and unknown suffixes)."""
    host = split_url(url or "")[0]
    res = tld_extractor()(host)
    return getattr(res, "top_domain_under_public_suffix", None) or res.registered_domain or host


def summarize(path: str, kind: str, dirty_ratio: float, batch_rows: int = 2048) -> pa.Table:
    """Per-domain sums over one docs shard (``kind="docs"``) or per-file rejects shard (``"rejects"``)."""
    acc: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    f = pq.ParquetFile(path)
    names = f.schema_arrow.names
    if kind == "rejects":
        for b in f.iter_batches(batch_size=batch_rows, columns=["url", "stage"]):
            for url, stage in zip(b.column("url").to_pylist(), b.column("stage").to_pylist()):
                if stage == "dirty_words":
                    a = acc[registered_domain(url)]
                    a[0] += 1
                    a[3] += 1
    else:
        cols = [c for c in ("url", "text", "lang", "dirty_word_ratio") if c in names]
        for b in f.iter_batches(batch_size=batch_rows, columns=cols):
            d = b.to_pydict()
            ratios = d.get("dirty_word_ratio") or [None] * b.num_rows
            langs = d.get("lang") or [None] * b.num_rows
            for url, text, lang, ratio in zip(d["url"], d["text"], langs, ratios):
                a = acc[registered_domain(url)]
                text = text or ""
                a[0] += 1
                a[1] += len(text)
                a[2] += len(find_pii(text, region=default_regions(lang)))
                a[3] += int(ratio is not None and ratio >= dirty_ratio)
    rows = list(acc.items())
    return pa.table([[k for k, _ in rows], *([v[i] for _, v in rows] for i in range(4))], schema=SUMMARY_SCHEMA)


class DomainFilter(Stage):
    """Drops the pages of domains judged adult or PII-heavy over the whole corpus (clean phase only)."""

    name = "domain_filter"
    columns = {"domain": pa.string()}
    defaults = {"min_docs": 3, "dirty_ratio": 0.005, "max_dirty_share": 0.5, "max_pii_per_kchar": 2.0}

    def __init__(self, **params):
        super().__init__(**params)
        self.blocked: dict[str, dict[str, Any]] | None = None

    def fit_corpus(self, docs: list[str], rejects: list[str], pmap: Callable) -> dict[str, Any]:
        """Judge every domain: per-shard sums in parallel (``pmap(fn, args_list)``), summed here."""
        p = self.params
        parts = pmap(summarize, [(d, "docs", p["dirty_ratio"]) for d in docs]
                     + [(r, "rejects", p["dirty_ratio"]) for r in rejects])
        table = pa.concat_tables([SUMMARY_SCHEMA.empty_table(), *parts])
        sums = table.group_by("domain").aggregate([(c, "sum") for c in ("docs", "chars", "pii", "dirty")])
        judged = sums.filter(pc.greater_equal(sums["docs_sum"], p["min_docs"]))
        blocked = {}
        for r in judged.to_pylist():
            share = r["dirty_sum"] / r["docs_sum"]
            density = 1000 * r["pii_sum"] / max(r["chars_sum"], 1)
            if share > p["max_dirty_share"]:
                blocked[r["domain"]] = {"reason": "adult_domain", "score": round(share, 4), "docs": r["docs_sum"]}
            elif density >= p["max_pii_per_kchar"]:
                blocked[r["domain"]] = {"reason": "pii_domain", "score": round(density, 3), "docs": r["docs_sum"]}
        return {"domains": sums.num_rows, "judged": judged.num_rows, "blocked": blocked}

    def load_fitted(self, state: dict) -> None:
        self.blocked = state["blocked"]

    def process(self, batch: pa.Table) -> StageResult:
        if self.blocked is None:
            raise RuntimeError("domain_filter: not fitted; it runs in the clean phase (the `clean:` section)")
        domains = [registered_domain(u) for u in batch.column("url").to_pylist()]
        drops = [Drop(b["reason"], b["score"]) if (b := self.blocked.get(d)) else None for d in domains]
        return StageResult(columns={"domain": domains}, drops=drops)
