"""Vectorized hashing for deduplication: strings, shingles, MinHash signatures, LSH bands.

Everything here works on whole batches (pyarrow arrays in, numpy arrays out);
no per-token Python code runs except for strings longer than ``LONG_STRING``
bytes, which are hashed one by one with BLAKE2b (that keeps a 1M-word document
or a 50 kB line from turning the 8-bytes-per-round vectorized loop into
hundreds of thousands of rounds).

MinHash follows datasketch's default scheme ("affine32", datasketch >= 2.0)
bit for bit: a 32-bit shingle hash is pre-mixed with the MurmurHash3
finalizer, then permutation k is ``a_k * h + b_k mod 2**32`` with the same
``a``/``b`` datasketch draws for the same seed. So ``MinHasher(num_perm,
seed).signatures(...)`` equals ``datasketch.MinHash(num_perm, seed,
hashfunc=lambda v: v)`` fed the same shingle hashes (tested), only computed
for thousands of documents at once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

U64 = np.uint64
U32 = np.uint32
LONG_STRING = 256  # bytes; longer strings are hashed with hashlib (one C call each)
_M64 = (1 << 64) - 1
_K1 = U64(0x9E3779B97F4A7C15)  # golden ratio: length mixing
_MASKS = np.array([(1 << (8 * r)) - 1 for r in range(8)] + [_M64], dtype=U64)
# Odd multipliers for combining the n word hashes of an n-gram (position-dependent).
_NGRAM_MULT = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x85EBCA77C2B2AE63,
                        0x27D4EB2F165667C5, 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53, 0x94D049BB133111EB],
                       dtype=U64)


def fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3 64-bit finalizer (a bijection), on a uint64 array; returns a new array."""
    h = h ^ (h >> U64(33))
    h *= U64(0xFF51AFD7ED558CCD)
    h ^= h >> U64(33)
    h *= U64(0xC4CEB9FE1A85EC53)
    h ^= h >> U64(33)
    return h


def fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3 32-bit finalizer on a uint32 array (the pre-mix of datasketch's affine32 scheme)."""
    h = h ^ (h >> U32(16))
    h *= U32(0x85EBCA6B)
    h ^= h >> U32(13)
    h *= U32(0xC2B2AE35)
    h ^= h >> U32(16)
    return h


def _fmix64_int(h: int) -> int:
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & _M64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & _M64
    return h ^ (h >> 33)


def _string_buffers(arr) -> tuple[np.ndarray, memoryview | bytes]:
    """(offsets as int64 relative to the returned data, data bytes) of a string array."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if pa.types.is_string(arr.type) or pa.types.is_binary(arr.type):
        otype = np.int32
    elif pa.types.is_large_string(arr.type) or pa.types.is_large_binary(arr.type):
        otype = np.int64
    else:
        arr = arr.cast(pa.large_string())
        otype = np.int64
    n = len(arr)
    bufs = arr.buffers()
    if bufs[1] is None:
        return np.zeros(n + 1, np.int64), b""
    off = np.frombuffer(bufs[1], dtype=otype)[arr.offset: arr.offset + n + 1].astype(np.int64)
    if bufs[2] is None or n == 0:
        return np.zeros(n + 1, np.int64), b""
    base = int(off[0])
    data = memoryview(bufs[2])[base: int(off[-1])]
    return off - base, data


def hash_strings(arr, seed: int = 0) -> np.ndarray:
    """A 64-bit hash of every string of a pyarrow string array (nulls hash like "").

    Strings up to LONG_STRING bytes: 8 bytes per round, ``h = fmix64(h ^ chunk)``,
    vectorized over all strings still active (see ``hash_spans``); longer ones:
    BLAKE2b-64 keyed by the seed.
    Deterministic across processes and batches; ``hash_strings_reference`` is the
    one-string-at-a-time definition the tests compare against.
    """
    off, data = _string_buffers(arr)
    return hash_spans(data, off[:-1], np.diff(off), seed)


def _fmix64_inplace(h: np.ndarray, tmp: np.ndarray) -> np.ndarray:
    """``fmix64`` in place (``tmp``: scratch of the same shape): no allocations."""
    for c in (0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53):
        np.right_shift(h, U64(33), out=tmp)
        np.bitwise_xor(h, tmp, out=h)
        np.multiply(h, U64(c), out=h)
    np.right_shift(h, U64(33), out=tmp)
    np.bitwise_xor(h, tmp, out=h)
    return h


def hash_spans(data, starts: np.ndarray, lens: np.ndarray, seed: int = 0) -> np.ndarray:
    """``hash_strings`` of the byte ranges ``data[starts[i]: starts[i] + lens[i]]``.

    Definition (``hash_strings_reference``): ``h = fmix64(seed') ^ len * K1``, then for each
    8-byte little-endian chunk ``h = fmix64(h ^ chunk)`` (the last one zero-padded);
    strings over LONG_STRING bytes: keyed BLAKE2b-64 instead.
    """
    n = len(starts)
    out = np.empty(n, dtype=U64)
    if n == 0:
        return out
    seed_h = U64(_fmix64_int((seed * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & _M64))
    lens = np.asarray(lens, dtype=np.int64)
    starts = np.asarray(starts, dtype=np.int64)
    short = lens <= LONG_STRING
    all_short = bool(short.all())
    if all_short:
        pos, rem = starts, lens
    else:
        idx = np.flatnonzero(short)
        pos, rem = starts[idx], lens[idx]
    if rem.size:
        raw = data if isinstance(data, np.ndarray) else (
            np.frombuffer(data, dtype=np.uint8) if len(data) else np.zeros(0, np.uint8))
        padded = np.zeros(raw.size + 8, dtype=np.uint8)
        padded[: raw.size] = raw
        words = np.ndarray(shape=(raw.size + 1,), dtype="<u8", buffer=padded, strides=(1,))
        h = rem.astype(U64)
        np.multiply(h, _K1, out=h)
        np.bitwise_xor(h, seed_h, out=h)
        tmp = np.empty_like(h)
        nonempty = rem > 0
        sub = slice(None) if nonempty.all() else np.flatnonzero(nonempty)
        # first chunk of every non-empty string: no index juggling
        w = words[pos[sub]]
        shift = ((8 - np.minimum(rem[sub], 8)) * 8).astype(U64)
        np.left_shift(w, shift, out=w)
        np.right_shift(w, shift, out=w)  # keep the string's bytes only
        if isinstance(sub, slice):
            np.bitwise_xor(h, w, out=h)
            _fmix64_inplace(h, tmp)
        else:
            h[sub] = _fmix64_inplace(h[sub] ^ w, tmp[: w.size])
        act = np.flatnonzero(rem > 8)
        p, r = pos[act] + 8, rem[act] - 8
        while act.size:
            w = words[p] & _MASKS[np.minimum(r, 8)]
            h[act] = fmix64(h[act] ^ w)
            more = r > 8
            act, p, r = act[more], p[more] + 8, r[more] - 8
        if all_short:
            out = h
        else:
            out[idx] = h
    if not all_short:
        key = seed.to_bytes(8, "little", signed=False)
        mv = memoryview(data.tobytes() if isinstance(data, np.ndarray) else data)
        for i in np.flatnonzero(~short).tolist():
            s = int(starts[i])
            d = hashlib.blake2b(mv[s: s + int(lens[i])], digest_size=8, key=key).digest()
            out[i] = int.from_bytes(d, "little")
    return out


def hash_strings_reference(strings: list[str | None], seed: int = 0) -> list[int]:
    """Pure-Python definition of ``hash_strings`` (for tests)."""
    seed_h = _fmix64_int((seed * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & _M64)
    res = []
    for s in strings:
        b = (s or "").encode("utf-8")
        if len(b) > LONG_STRING:
            res.append(int.from_bytes(hashlib.blake2b(b, digest_size=8, key=seed.to_bytes(8, "little")).digest(),
                                      "little"))
            continue
        h = seed_h ^ ((len(b) * 0x9E3779B97F4A7C15) & _M64)
        for i in range(0, len(b), 8):
            h = _fmix64_int(h ^ int.from_bytes(b[i: i + 8], "little"))
        res.append(h)
    return res


def hash128(arr) -> tuple[np.ndarray, np.ndarray]:
    """Two independent 64-bit hashes (a 128-bit hash) of every string (for exact/URL keys)."""
    return hash_strings(arr, seed=0x5EED1), hash_strings(arr, seed=0x5EED2)


# ---------------------------------------------------------------- text normalization


def _as_string_array(texts) -> pa.Array:
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks() if texts.num_chunks != 1 else texts.chunk(0)
    if not isinstance(texts, pa.Array):
        texts = pa.array(texts, type=pa.string())
    if texts.null_count:
        texts = pc.fill_null(texts, "")
    return texts


_SEPARATORS: np.ndarray | None = None


def _separator_table() -> np.ndarray:
    """Bool per code point: True for Unicode punctuation, symbols and separators (P*, S*, Z*)
    and U+0085, which separate words like ASCII punctuation and spaces do. Built once per
    process from ``unicodedata`` (0.2 s)."""
    global _SEPARATORS
    if _SEPARATORS is None:
        import unicodedata

        table = np.zeros(0x110000, dtype=bool)
        table[[c for c in range(0x80, 0x110000) if unicodedata.category(chr(c))[0] in "PSZ"]] = True
        table[0x85] = True
        _SEPARATORS = table
    return _SEPARATORS


def normalize_words(texts) -> pa.Array:
    """Text as MinHash sees it before splitting into words: lowercased (ASCII on bytes;
    documents with non-ASCII characters with Unicode rules)."""
    t = pc.ascii_lower(_as_string_array(texts))
    ascii_ = pc.string_is_ascii(t)
    if ascii_.false_count:
        other = pc.invert(ascii_)
        t = pc.replace_with_mask(t, other, pc.utf8_lower(t.filter(other)))
    return t


def word_spans(texts) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Words of every document: ``(data, starts, lens, offsets)``.

    A word is a maximal run of letters and digits of the lowercased text: ASCII a-z0-9,
    and non-ASCII characters other than punctuation, symbols and spaces; everything else
    separates words (ASCII text: ``re.findall("[a-z0-9]+", text.lower())``). ``data``
    holds the lowercased bytes; word k is ``data[starts[k]: starts[k] + lens[k]]``;
    document i has words ``offsets[i]:offsets[i+1]``. Found with numpy on the bytes of
    the whole batch (non-ASCII characters are decoded from UTF-8 only where present).
    """
    doff, mv = _string_buffers(normalize_words(texts))
    data = np.frombuffer(mv, dtype=np.uint8) if len(mv) else np.zeros(0, np.uint8)
    ndocs = len(doff) - 1
    if data.size == 0:
        e = np.zeros(0, np.int64)
        return data, e, e, np.zeros(ndocs + 1, np.int64)
    padded = np.zeros(data.size + 2, dtype=bool)
    word = padded[1:-1]
    np.greater_equal(data, 97, out=word)
    word &= data <= 122
    word |= (data >= 48) & (data <= 57)
    word |= data >= 128
    lead = np.flatnonzero(data >= 0xC0)  # first bytes of multi-byte UTF-8 characters
    if lead.size:
        dp = np.concatenate([data, np.zeros(3, np.uint8)]).astype(np.int32)
        b0, b1, b2, b3 = dp[lead], dp[lead + 1] & 0x3F, dp[lead + 2] & 0x3F, dp[lead + 3] & 0x3F
        n = np.where(b0 >= 0xF0, 4, np.where(b0 >= 0xE0, 3, 2))
        cp = np.where(n == 2, ((b0 & 0x1F) << 6) | b1,
                      np.where(n == 3, ((b0 & 0x0F) << 12) | (b1 << 6) | b2,
                               ((b0 & 0x07) << 18) | (b1 << 12) | (b2 << 6) | b3))
        sep = _separator_table()[np.minimum(cp, 0x10FFFF)]
        if sep.any():
            p, k = lead[sep], n[sep]
            for j in range(4):
                m = k > j
                word[p[m] + j] = False
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    starts, ends = edges[0::2], edges[1::2]
    # a run crossing into the next document is two words: cut it at the boundary
    inner = doff[1:-1]
    inner = inner[(inner > 0) & (inner < data.size)]
    cut = inner[padded[inner] & padded[inner + 1]]  # bytes inner-1 and inner are both word bytes
    if cut.size:
        cut = np.unique(cut)
        starts = np.insert(starts, np.searchsorted(starts, cut), cut)
        ends = np.insert(ends, np.searchsorted(ends, cut), cut)
    return data, starts, ends - starts, np.searchsorted(starts, doff).astype(np.int64)


def words_reference(text: str | None) -> list[str]:
    """Pure-Python ``word_spans`` for one ASCII document (for tests: Python's ``re`` has no
    Unicode-category classes)."""
    import re

    return re.findall(r"[a-z0-9\x80-\U0010ffff]+", (text or "").lower())


# ---------------------------------------------------------------- shingles and MinHash


@dataclass
class Shingles:
    """Shingle hashes of a batch: ``hashes[offsets[i]:offsets[i+1]]`` belong to document i."""

    hashes: np.ndarray  # uint32
    offsets: np.ndarray  # int64, len = docs + 1

    def counts(self) -> np.ndarray:
        return np.diff(self.offsets)


def word_hashes(texts) -> tuple[np.ndarray, np.ndarray]:
    """``(hashes, offsets)``: a 64-bit hash of every word (see ``word_spans``), by document."""
    data, wstart, wlen, woff = word_spans(texts)
    return hash_spans(data, wstart, wlen), woff


def sequence_keys(wh: np.ndarray, woff: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A 128-bit key (two uint64 arrays) of each document's word sequence.

    Order-dependent: ``sum_k fmix64(word_k + k * C)`` over the words (two different
    mixes), then mixed with the word count. Equal word sequences give equal keys; used
    for exact dedup (text normalized as for MinHash) and for line keys.
    """
    counts = np.diff(woff)
    pos = (np.arange(wh.size, dtype=np.int64) - np.repeat(woff[:-1], counts)).astype(U64)
    keys = []
    for c_pos, c_in in ((0x9E3779B97F4A7C15, 0x1234567), (0xC2B2AE3D27D4EB4F, 0x7654321FEDCBA)):
        k = fmix64((wh ^ U64(c_in)) + pos * U64(c_pos))
        cs = np.concatenate([np.zeros(1, U64), np.cumsum(k, dtype=U64)])
        s = cs[woff[1:]] - cs[woff[:-1]]
        keys.append(fmix64(s ^ (counts.astype(U64) * _K1)))
    return keys[0], keys[1]


def shingles_from_words(wh: np.ndarray, woff: np.ndarray, ngram: int = 5) -> Shingles:
    """32-bit hashes of the word n-grams of every document, in order (duplicates kept).

    An n-gram hash is ``fmix64(sum_j word_j * M_j)`` with position-dependent odd
    multipliers, top 32 bits. A document with 1 to n-1 words has one shingle (all
    its words); an empty document has none.
    """
    if not 1 <= ngram <= len(_NGRAM_MULT):
        raise ValueError(f"ngram must be in 1..{len(_NGRAM_MULT)}, got {ngram}")
    th = wh
    counts = np.diff(woff)
    starts = woff[:-1]
    n_sh = np.where(counts >= ngram, counts - ngram + 1, np.minimum(counts, 1))
    offsets = np.concatenate([[0], np.cumsum(n_sh)]).astype(np.int64)
    out = np.empty(int(offsets[-1]), dtype=U64)
    T = th.size
    mult = _NGRAM_MULT[:ngram]
    is_long = counts >= ngram
    if T >= ngram and is_long.any():
        W = T - ngram + 1
        s = th[0:W] * mult[0]
        for j in range(1, ngram):
            s += th[j: W + j] * mult[j]
        ends = np.repeat(starts + counts, counts)[:W]  # end of the doc each window starts in
        valid = np.arange(W) + ngram <= ends
        out[np.repeat(is_long, n_sh)] = s[valid]
    short = np.flatnonzero((counts > 0) & ~is_long)
    if short.size:
        s = np.zeros(short.size, dtype=U64)
        for j in range(ngram - 1):
            m = counts[short] > j
            s[m] += th[starts[short[m]] + j] * mult[j]
        out[np.repeat(~is_long & (counts > 0), n_sh)] = s
    hv = (fmix64(out ^ U64(ngram)) >> U64(32)).astype(U32)
    return Shingles(hv, offsets)


def shingle_hashes(texts, ngram: int = 5) -> Shingles:
    """``shingles_from_words`` of ``word_hashes(texts)``."""
    return shingles_from_words(*word_hashes(texts), ngram)


def shingle_hashes_reference(text: str | None, ngram: int = 5) -> list[int]:
    """Pure-Python definition of ``shingle_hashes`` for one document (for tests)."""
    ws = words_reference(text)
    if not ws:
        return []
    wh = hash_strings_reference(ws)
    mult = [int(m) for m in _NGRAM_MULT[:ngram]]
    grams = [wh[i: i + ngram] for i in range(len(ws) - ngram + 1)] if len(ws) >= ngram else [wh]
    return [_fmix64_int(sum(h * m for h, m in zip(g, mult)) & _M64 ^ ngram) >> 32 for g in grams]


class MinHasher:
    """Batched MinHash with datasketch's affine32 permutations for ``(num_perm, seed)``."""

    def __init__(self, num_perm: int = 112, seed: int = 1, chunk: int = 8192):
        from datasketch import MinHash

        perms = MinHash(num_perm=num_perm, seed=seed).permutations  # the same a, b as the reference
        if perms.dtype != U32:
            raise RuntimeError("datasketch's default MinHash scheme is not affine32; pin datasketch==2.0.0")
        self.a = np.ascontiguousarray(perms[0], dtype=U32)[:, None]
        self.b = np.ascontiguousarray(perms[1], dtype=U32)[:, None]
        self.num_perm, self.seed, self.chunk = num_perm, seed, chunk
        self._buf: np.ndarray | None = None

    def signatures(self, sh: Shingles) -> np.ndarray:
        """(docs, num_perm) uint32; a document without shingles gets all 0xFFFFFFFF.

        Documents are taken in runs of about ``chunk`` shingles: one (num_perm x run)
        matrix ``a * x + b`` and one ``minimum.reduceat`` per run. A document with more
        than ``chunk`` shingles is done alone, in slices, with a running minimum.
        """
        off = sh.offsets
        ndocs = len(off) - 1
        sig = np.full((ndocs, self.num_perm), np.iinfo(U32).max, dtype=U32)
        x_all = fmix32(sh.hashes)
        counts = np.diff(off)
        d0 = 0
        while d0 < ndocs:
            d1 = int(np.searchsorted(off, off[d0] + self.chunk, side="right")) - 1
            if d1 <= d0:  # one document larger than a chunk
                for s in range(int(off[d0]), int(off[d0 + 1]), self.chunk):
                    part = self._permuted(x_all[s: min(s + self.chunk, int(off[d0 + 1]))]).min(axis=1)
                    np.minimum(sig[d0], part, out=sig[d0])
                d0 += 1
                continue
            d1 = min(d1, ndocs)
            docs = d0 + np.flatnonzero(counts[d0:d1] > 0)
            if docs.size:
                s0 = int(off[d0])
                bb = self._permuted(x_all[s0: int(off[d1])])
                sig[docs] = np.minimum.reduceat(bb, off[docs] - s0, axis=1).T
            d0 = d1
        return sig

    def _permuted(self, x: np.ndarray) -> np.ndarray:
        """(num_perm, len(x)): ``a_k * x + b_k mod 2**32``, in a reused buffer."""
        if self._buf is None or self._buf.shape[1] < x.size:
            self._buf = np.empty((self.num_perm, max(x.size, self.chunk)), dtype=U32)
        bb = self._buf[:, : x.size]
        np.multiply(self.a, x[None, :], out=bb)
        np.add(bb, self.b, out=bb)
        return bb


@dataclass
class TextSketch:
    """What the signatures step keeps of each document's text."""

    sig: np.ndarray  # (docs, num_perm) uint32
    text_h1: np.ndarray  # 128-bit key of the word sequence (exact dedup)
    text_h2: np.ndarray
    n_words: np.ndarray
    n_shingles: np.ndarray


def sketch_texts(texts, hasher: MinHasher, ngram: int = 5, max_bytes: int = 1 << 20) -> TextSketch:
    """MinHash signature, exact-dedup key and counts of every document, computed in slices of
    about ``max_bytes`` of text: the temporaries (a few times the text size, plus the
    num_perm x shingles matrix) then stay in cache and in the allocator's free lists."""
    texts = _as_string_array(texts)
    off, _ = _string_buffers(texts)
    parts = []
    i, n = 0, len(texts)
    while i < n or not parts:
        j = max(i + 1, int(np.searchsorted(off, off[i] + max_bytes, side="right")) - 1) if n else 0
        j = min(j, n)
        wh, woff = word_hashes(texts.slice(i, j - i))
        h1, h2 = sequence_keys(wh, woff)
        sh = shingles_from_words(wh, woff, ngram)
        parts.append((hasher.signatures(sh), h1, h2, np.diff(woff), sh.counts()))
        i = j
        if n == 0:
            break
    cat = [np.concatenate([p[k] for p in parts]) for k in range(5)]
    return TextSketch(*cat)


def band_hashes(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(docs, bands) uint64: a hash of each band's ``rows`` signature values and the band index."""
    if bands * rows > sig.shape[1]:
        raise ValueError(f"bands * rows = {bands * rows} exceeds the {sig.shape[1]} MinHash values")
    out = np.empty((sig.shape[0], bands), dtype=U64)
    s = sig.astype(U64)
    for i in range(bands):
        h = np.full(sig.shape[0], _fmix64_int(0xB4D5 + i), dtype=U64)
        for j in range(i * rows, (i + 1) * rows):
            h = fmix64(h ^ s[:, j])
        out[:, i] = h
    return out
