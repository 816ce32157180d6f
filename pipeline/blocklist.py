"""A memory-efficient, shareable set of strings: a sorted array of 64-bit hashes.

Block lists such as UT1's adult list hold millions of domains. Loaded as a Python
``set`` of ``str`` they cost ~800 MB *per worker process*. ``HashSet`` instead
stores one 64-bit hash per entry (8 bytes) in a sorted ``numpy.uint64`` array that
is saved once per machine as a ``.npy`` file and memory-mapped read-only by every
worker, so all workers on a node share the same page-cache pages.

Lookups hash the query (``blake2b``, 8-byte digest: stable across processes,
machines and Python versions, unlike ``hash()``) and binary-search the array
(``numpy.searchsorted``), vectorized over many keys with ``contains_many``.

False positives are possible but negligible: with ``n`` entries a random query
collides with probability ~``n / 2**64`` (about 2.5e-13 for 4.6M entries).

Typical use::

    hs = HashSet.load_or_build(cache_dir / f"domains-{key}.npy", lambda: iter_lines(src))
    "example.com" in hs
    hs.contains_many(["a.com", "b.org"])   # -> np.ndarray[bool]
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

_DTYPE = np.dtype("<u8")
_CHUNK = 200_000  # keys hashed per chunk while building: bounds peak memory


class CorruptHashSetError(ValueError):
    """A cache file exists but is not a valid HashSet array (truncated, garbage, unsorted)."""


def _to_bytes(key: str | bytes) -> bytes:
    return key if isinstance(key, bytes) else key.encode("utf-8", "surrogatepass")


def hash_keys(keys: Iterable[str | bytes]) -> np.ndarray:
    """64-bit blake2b hashes of ``keys`` as a ``uint64`` array (same order)."""
    b2 = hashlib.blake2b
    digests = b"".join(
        [b2(k if k.__class__ is bytes else _to_bytes(k), digest_size=8).digest() for k in keys]
    )
    return np.frombuffer(digests, dtype=_DTYPE)


class HashSet:
    """A read-only set of strings stored as sorted unique 64-bit hashes."""

    def __init__(self, hashes: np.ndarray, path: str | os.PathLike | None = None):
        self.hashes = hashes
        self.path = Path(path) if path is not None else None
        self.built = False  # True when load_or_build had to (re)build the file

    # ----------------------------------------------------------------- build
    @staticmethod
    def hash_sorted(keys: Iterable[str | bytes], chunked: bool = False) -> np.ndarray:
        """Sorted unique hashes of ``keys``, hashed in bounded-memory chunks.

        With ``chunked=True``, ``keys`` is an iterable of lists of keys (e.g. one list per
        block read from a file), which avoids a per-key generator on large inputs.
        """
        if chunked:
            chunks: Iterable = keys
        else:
            it: Iterator = iter(keys)
            chunks = iter(lambda: list(islice(it, _CHUNK)), [])
        parts = [hash_keys(c) for c in chunks if len(c)]
        if not parts:
            return np.zeros(0, dtype=_DTYPE)
        hashes = np.concatenate(parts)
        hashes.sort()
        # deduplicate (np.unique is ~15x slower than this on 4.6M uint64 with numpy 2.4)
        if hashes.size > 1:
            keep = np.empty(hashes.size, dtype=bool)
            keep[0] = True
            np.not_equal(hashes[1:], hashes[:-1], out=keep[1:])
            hashes = hashes[keep]
        return hashes

    @classmethod
    def from_keys(cls, keys: Iterable[str | bytes], chunked: bool = False) -> "HashSet":
        """An in-memory HashSet (no file)."""
        return cls(cls.hash_sorted(keys, chunked=chunked))

    @classmethod
    def build(cls, keys: Iterable[str | bytes], path: str | os.PathLike, chunked: bool = False) -> "HashSet":
        """Hash ``keys`` (see ``hash_sorted`` for ``chunked``), write them to ``path``
        atomically and return the memory-mapped set.

        The array is written to a temporary file in the same directory, fsynced,
        then renamed over ``path`` with ``os.replace``: concurrent builders may race
        but readers only ever see a complete file.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        hashes = cls.hash_sorted(keys, chunked=chunked)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                np.save(f, hashes, allow_pickle=False)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        hs = cls.load(path)
        hs.built = True
        return hs

    # ------------------------------------------------------------------ load
    @classmethod
    def load(cls, path: str | os.PathLike, mmap: bool = True) -> "HashSet":
        """Load a file written by ``build``; raise ``CorruptHashSetError`` if it is invalid."""
        path = Path(path)
        try:
            arr = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
        except FileNotFoundError:
            raise
        except (ValueError, OSError, EOFError) as e:  # bad header, truncated data, empty file
            raise CorruptHashSetError(f"{path}: {e}") from e
        if not isinstance(arr, np.ndarray) or arr.dtype != _DTYPE or arr.ndim != 1:
            raise CorruptHashSetError(f"{path}: expected a 1-d {_DTYPE} array, got {getattr(arr, 'dtype', type(arr))}")
        if arr.size > 1 and not bool(np.all(arr[1:] > arr[:-1])):
            raise CorruptHashSetError(f"{path}: hashes are not sorted and unique")
        return cls(arr, path)

    @classmethod
    def load_or_build(
        cls, path: str | os.PathLike, keys_factory: Callable[[], Iterable], chunked: bool = False
    ) -> "HashSet":
        """Load ``path`` if it is a valid cache, else build it from ``keys_factory()``.

        An advisory lock (``fcntl.flock`` on ``path + '.lock'``) makes concurrent
        workers on one machine wait for a single builder instead of all building;
        where locking is unavailable they simply race, which the atomic rename makes safe.
        """
        path = Path(path)
        try:
            return cls.load(path)
        except FileNotFoundError:
            pass
        except CorruptHashSetError as e:
            log.warning("rebuilding corrupt block-list cache: %s", e)
        path.parent.mkdir(parents=True, exist_ok=True)
        with _FileLock(str(path) + ".lock"):
            try:  # another process may have built it while we waited for the lock
                return cls.load(path)
            except FileNotFoundError:
                pass
            except CorruptHashSetError:
                pass
            log.info("building block-list cache %s", path)
            return cls.build(keys_factory(), path, chunked=chunked)

    # ---------------------------------------------------------------- lookup
    def __len__(self) -> int:
        return int(self.hashes.size)

    @property
    def nbytes(self) -> int:
        return int(self.hashes.nbytes)

    def contains_hashes(self, hashes: np.ndarray) -> np.ndarray:
        """Vectorized membership test of already-hashed keys."""
        hashes = np.asarray(hashes, dtype=_DTYPE)
        if self.hashes.size == 0 or hashes.size == 0:
            return np.zeros(hashes.shape, dtype=bool)
        idx = np.searchsorted(self.hashes, hashes)
        np.minimum(idx, self.hashes.size - 1, out=idx)
        return self.hashes[idx] == hashes

    def contains_many(self, keys: Iterable[str | bytes]) -> np.ndarray:
        """Vectorized membership test: a bool array, one entry per key."""
        return self.contains_hashes(hash_keys(keys))

    def __contains__(self, key: str | bytes) -> bool:
        return bool(self.contains_hashes(hash_keys([key]))[0])

    def __repr__(self) -> str:
        return f"HashSet({len(self)} entries, {self.path or 'in memory'})"


class _FileLock:
    """Exclusive ``flock`` on a lock file; a no-op where flock is unavailable."""

    def __init__(self, path: str):
        self.path = path
        self.fd: int | None = None

    def __enter__(self):
        try:
            import fcntl

            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except (ImportError, OSError) as e:
            log.debug("no lock on %s (%s); building without it", self.path, e)
            if self.fd is not None:
                os.close(self.fd)
                self.fd = None
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            os.close(self.fd)  # closing releases the flock
            self.fd = None
        return False
