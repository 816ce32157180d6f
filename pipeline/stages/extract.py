"""Main-text extraction from HTML: trafilatura (default) or resiliparse (faster).

Each page gets a wall-clock budget (``timeout_s``): a pathological page must
not stall a worker. The budget is enforced with a POSIX interval timer in the
worker's main thread, which interrupts Python-level work (where trafilatura's
pathological cases spend their time) without the per-page inter-process
round trip of datatrove's sandbox. Outside the main thread (no signals) the
budget is not enforced and a warning says so once.
"""

from __future__ import annotations

import logging
import signal
import threading
from contextlib import contextmanager

import pyarrow as pa

from pipeline.stage import Drop, Score, Stage, StageResult

log = logging.getLogger(__name__)


class ExtractionTimeout(BaseException):
    """Raised by the timer; a BaseException so library code's ``except Exception`` cannot swallow it."""


@contextmanager
def time_limit(seconds: float):
    """Raise ExtractionTimeout in the main thread if the block runs longer than ``seconds``."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        if seconds and not getattr(time_limit, "_warned", False):
            log.warning("extraction timeout not enforced outside the main thread")
            time_limit._warned = True
        yield
        return

    def on_alarm(signum, frame):
        raise ExtractionTimeout()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class Extract(Stage):
    """HTML -> main text. Drops pages with no main text, timeouts and extractor errors."""

    name = "extract"
    columns = {"text": pa.string(), "text_chars": Score(0, 20_000, pa.int64())}
    consumes = ("html", "charset")
    defaults = {
        "engine": "trafilatura",  # or "resiliparse"
        "timeout_s": 5.0,
        "min_chars": 1,  # shorter extractions are dropped as extraction_empty
        # trafilatura options (FineWeb used favor_precision, no comments, deduplicate)
        "favor_precision": True,
        "include_comments": False,
        "include_tables": True,
        "deduplicate": True,
    }

    def setup(self) -> None:
        engine = self.params["engine"]
        if engine == "trafilatura":
            import trafilatura

            p = self.params
            opts = dict(
                favor_precision=p["favor_precision"],
                include_comments=p["include_comments"],
                include_tables=p["include_tables"],
                deduplicate=p["deduplicate"],
            )
            from trafilatura.deduplication import LRU_TEST

            def extract(html: str) -> str | None:
                # trafilatura counts repeated paragraphs in a process-wide cache; reset it so a page's text
                # depends on the page alone, not on what this worker extracted before (retries, batching).
                LRU_TEST.clear()
                return trafilatura.extract(html, **opts)

            self._extract = extract
        elif engine == "resiliparse":
            from resiliparse.extract.html2text import extract_plain_text

            self._extract = lambda html: extract_plain_text(html, main_content=True)
        else:
            raise ValueError(f"extract.engine must be 'trafilatura' or 'resiliparse', not {engine!r}")

    def process(self, batch: pa.Table) -> StageResult:
        out = StageResult(columns={"text": [], "text_chars": []})
        for html in batch.column("html").to_pylist():
            text, drop = self._one(html or "")
            out.columns["text"].append(text)
            out.columns["text_chars"].append(len(text) if text else 0)
            out.drops.append(drop)
        return out

    def _one(self, html: str) -> tuple[str | None, Drop | None]:
        try:
            with time_limit(self.params["timeout_s"]):
                text = self._extract(html)
        except ExtractionTimeout:
            return None, Drop("extraction_timeout", self.params["timeout_s"])
        except Exception as e:  # a library bug on one page must cost one page
            log.debug("extraction failed: %r", e)
            return None, Drop("extraction_error")
        text = (text or "").strip()
        if len(text) < self.params["min_chars"]:
            return None, Drop("extraction_empty", len(text))
        return text, None
