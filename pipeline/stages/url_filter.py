"""URL filter: drop documents whose URL is on a block list or contains banned words.

Sources, all optional:

(a) the UT1 adult list FineWeb used, shipped inside datatrove as a package asset
    (``url_filterblacklistsv0_3_0.tar.gz``: ``domains``, ~4.6M lines, and ``urls``)
    plus its ``banned_words.txt``, ``banned_subwords.txt`` and ``soft_banned_words.txt``;
(b) more UT1 categories from directories (``ut1_dirs``; each holds category
    folders with ``domains`` and/or ``urls`` files), e.g. phishing and malware;
(c) the user's own lists: ``deny_domains``, ``deny_urls``, ``allow_domains`` and the
    files ``deny_file`` / ``allow_file`` (one entry a line; an entry with a ``/`` is
    a URL prefix, otherwise a domain). The allow list wins over everything.

Matching follows datatrove's ``URLFilter`` (FineWeb), in this order, with these drop reasons:

- ``user_denied``: the host or a parent domain is on the deny list, or the URL starts with a denied URL;
- ``blocklisted_domain``: the registered domain (``tldextract``'s
  ``top_domain_under_public_suffix``; for hosts without a public suffix such as IP
  addresses, the host itself) is listed;
- ``blocklisted_subdomain``: the full host, or any parent of it below the registered
  domain, is listed (datatrove checks only the full host);
- ``blocklisted_url``: the URL, without scheme and ``www.``, starts with a listed URL at
  a path-segment boundary (UT1/squidGuard semantics; list entries carry no scheme, so
  datatrove's exact ``url in set`` test never matched them);
- ``banned_word``: a banned word is one of the URL's words (split on non-alphanumerics);
- ``soft_banned_words``: at least ``soft_word_threshold`` soft-banned words are URL
  words (the drop's score is that count);
- ``banned_subword``: a banned subword is a substring of the URL lowercased with
  non-alphanumerics removed.

Differences from datatrove: hosts and URL words are lowercased before matching (datatrove
compares URL words case-sensitively against lowercase lists), and IDN hosts are also
checked in their punycode form.

Memory: the domain and URL lists are stored as sorted 64-bit hashes (``pipeline.blocklist.HashSet``)
in ``.npy`` files built once per machine in the cache directory and memory-mapped by every
worker (~37 MB shared instead of ~800 MB per worker for a Python set). The cache directory is
the ``cache_dir`` parameter, else ``$CURATE_CACHE/blocklists``, else ``~/.cache/curate/blocklists``.
A cache file is named after a hash of its source files' paths, sizes and mtimes, so editing a
list rebuilds it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import tarfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from pipeline.blocklist import HashSet, hash_keys
from pipeline.stage import Drop, Stage, StageResult

log = logging.getLogger(__name__)

DATATROVE_TAR = "url_filterblacklistsv0_3_0.tar.gz"
# Bump when key normalization or the file format changes: old cache files are then ignored.
CACHE_FORMAT = 1

MAX_SUBDOMAIN_LEVELS = 10  # parent domains checked per host (long hosts are rare)
MAX_PATH_DEPTH = 16  # URL-prefix candidates checked per URL
MAX_URL_CHARS = 8192  # longer URLs are truncated before matching

_word_splitter = re.compile(r"[^a-zA-Z0-9]+")
_scheme = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*:(//)?")
_www = re.compile(r"^www\d*\.")


# ------------------------------------------------------------------ helpers
def datatrove_assets() -> Path:
    from datatrove.utils._import_utils import ASSETS_PATH

    return Path(ASSETS_PATH)


def default_cache_dir() -> Path:
    root = os.environ.get("CURATE_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "curate") / "blocklists"


@functools.lru_cache(maxsize=1)
def tld_extractor():
    """An offline ``TLDExtract``: bundled public-suffix snapshot, no HTTP, no disk cache."""
    from tldextract import TLDExtract

    return TLDExtract(cache_dir=None, suffix_list_urls=())


def normalize_word(text: str) -> str:
    """datatrove's word normalization: drop non-alphanumerics, lowercase."""
    return _word_splitter.sub("", text).lower()


def read_word_list(path: str | os.PathLike) -> set[str]:
    """A datatrove word list: one entry a line, ``#`` comments, normalized."""
    with open(path, encoding="utf-8") as f:
        words = {normalize_word(line) for line in f if line.strip() and not line.startswith("#")}
    words.discard("")
    return words


def normalize_domain(entry: str) -> str:
    d = entry.strip().lower().rstrip(".")
    if d.startswith("*."):
        d = d[2:]
    return d.lstrip(".")


def split_url(url: str) -> tuple[str, str, str]:
    """``(host, path, query)`` of a URL, leniently: lowercase host without port,
    credentials or trailing dot. Never raises; garbage gives garbage (or an empty host)."""
    u = url.strip()[:MAX_URL_CHARS]
    u = _scheme.sub("", u, count=1) if "://" in u[:32] else u.lstrip("/")
    u = u.split("#", 1)[0]
    cut = len(u)
    for sep in "/?":
        i = u.find(sep)
        if 0 <= i < cut:
            cut = i
    netloc, rest = u[:cut], u[cut:]
    host = netloc.rpartition("@")[2]
    if host.startswith("["):  # IPv6 literal
        host = host[: host.find("]") + 1] if "]" in host else host
    else:
        host = host.split(":", 1)[0]
    host = host.lower().rstrip(".")
    path, _, query = rest.partition("?")
    return host, path, query


def url_key(url: str) -> str:
    """The normalized form of a URL-list entry: host without ``www.`` + path without trailing
    ``/`` (+ ``?query``). Paths stay case-sensitive."""
    host, path, query = split_url(url)
    key = _www.sub("", host) + path.rstrip("/")
    return key + "?" + query if query else key


def url_candidates(host: str, path: str, query: str) -> list[str]:
    """Keys a URL matches in a URL list: every path-segment prefix (the bare host included),
    and the full path with the query."""
    if not host:
        return []
    h = _www.sub("", host)
    path = path.rstrip("/")
    out = [h]
    acc = h
    segs = path.split("/")[1:]
    for seg in segs[:MAX_PATH_DEPTH]:
        acc += "/" + seg
        out.append(acc)
    if len(segs) > MAX_PATH_DEPTH:
        out.append(h + path)  # depth capped: still check the full path
    if query:
        out.append(h + path + "?" + query)
    return out


def _idna(host: str) -> str | None:
    if host.isascii():
        return None
    try:
        return host.encode("idna").decode("ascii")
    except (UnicodeError, ValueError):
        return None


def host_variants(host: str) -> list[str]:
    """The host and, for IDN hosts, its punycode form."""
    if not host:
        return []
    alt = _idna(host)
    return [host, alt] if alt and alt != host else [host]


def parent_domains(host: str) -> list[str]:
    """``a.b.c`` -> ``[a.b.c, b.c, c]`` (for user allow/deny lists)."""
    labels = host.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


def domain_candidates(host: str) -> list[tuple[str, bool]]:
    """``(key, is_subdomain)`` pairs to look up for a host: its parents down to the registered
    domain (``is_subdomain=True``), then the registered domain itself (``False``). An IP
    address or single-label host is looked up as a domain; for a TLD missing from the
    bundled public-suffix snapshot the last two labels are taken as the registered domain."""
    out: list[tuple[str, bool]] = []
    for h in host_variants(host):
        if len(h) > 255 or " " in h:
            continue
        res = tld_extractor()(h)
        reg = getattr(res, "top_domain_under_public_suffix", None)
        if reg is None:  # tldextract < 5.3
            reg = res.registered_domain
        if not reg:
            if res.ipv4 or h.startswith("[") or "." not in h:  # IP address, single label
                out.append((h, False))
                continue
            reg = ".".join(h.rsplit(".", 2)[-2:])  # TLD unknown to the PSL snapshot: last 2 labels
        if not h.endswith(reg):
            out.append((h, False))
            continue
        labels = h.split(".")
        n_sub = len(labels) - reg.count(".") - 1
        subs = [".".join(labels[i:]) for i in range(max(0, n_sub - MAX_SUBDOMAIN_LEVELS), n_sub)]
        if n_sub > MAX_SUBDOMAIN_LEVELS:
            subs.insert(0, h)
        out.extend((s, True) for s in subs)
        out.append((reg, False))
    return out


# ------------------------------------------------------------ list sources
def _iter_blocks(f, block: int = 1 << 23) -> Iterator[bytes]:
    """A binary stream in blocks of whole lines (bounded memory for 100+ MB list files)."""
    tail = b""
    while data := f.read(block):
        data = tail + data
        cut = data.rfind(b"\n")
        if cut < 0:
            tail = data
            continue
        tail = data[cut + 1 :]
        yield data[:cut]
    if tail:
        yield tail


_NEEDS_CLEANUP = (b"\r", b" ", b"\t", b"#", b"*", b".\n", b"\n.")


def domain_keys(block: bytes) -> list[bytes]:
    """Normalized domain entries of a block of lines (lowercase, no comments/blanks/edge dots)."""
    block = block.lower()
    if any(m in block for m in _NEEDS_CLEANUP) or block.startswith(b".") or block.endswith(b"."):
        out = []
        for line in block.split(b"\n"):
            d = line.strip().rstrip(b".")
            if d.startswith(b"*."):
                d = d[2:]
            d = d.lstrip(b".")
            if d and not d.startswith(b"#"):
                out.append(d)
        return out
    return [d for d in block.split(b"\n") if d]  # fast path: the list is already clean


def url_keys(block: bytes) -> list[str]:
    """Normalized URL-list entries (see ``url_key``) of a block of lines."""
    out = []
    for line in block.decode("utf-8", "replace").split("\n"):
        s = line.strip()
        if s and not s.startswith("#") and (k := url_key(s)):
            out.append(k)
    return out


class _Source:
    """One list file: a plain file, or a member of a tar archive."""

    def __init__(self, path: Path, member: str | None = None):
        self.path, self.member = path, member

    def signature(self) -> list:
        st = self.path.stat()
        return [str(self.path.resolve()), self.member, st.st_size, st.st_mtime_ns]

    def blocks(self) -> Iterator[bytes]:
        if self.member is None:
            with open(self.path, "rb") as f:
                yield from _iter_blocks(f)
        else:
            with tarfile.open(self.path, "r:*") as tar:
                f = tar.extractfile(self.member)
                if f is None:
                    raise FileNotFoundError(f"{self.path}: no member {self.member!r}")
                yield from _iter_blocks(f)

    def __repr__(self) -> str:
        return f"{self.path}" + (f"[{self.member}]" if self.member else "")


def _cached_hashset(kind: str, sources: list[_Source], cache_dir: Path, keys) -> HashSet:
    if not sources:
        return HashSet.from_keys([])
    sig = json.dumps([CACHE_FORMAT, kind, sorted(s.signature() for s in sources)])
    name = f"{kind}-{hashlib.blake2b(sig.encode(), digest_size=10).hexdigest()}.npy"

    def chunks():
        for s in sources:
            for block in s.blocks():
                yield keys(block)

    try:
        return HashSet.load_or_build(cache_dir / name, chunks, chunked=True)
    except OSError as e:  # e.g. a read-only cache directory: work, but without sharing
        log.warning("url_filter: cannot use cache %s (%s); keeping the %s list in this process", cache_dir, e, kind)
        return HashSet.from_keys(chunks(), chunked=True)


# ------------------------------------------------------------------- stage
class URLFilter(Stage):
    name = "url_filter"
    columns = {}
    defaults = {
        "use_datatrove_lists": True,  # (a): FineWeb's UT1 adult domains/urls + word lists
        "use_banned_words": True,  # banned / soft-banned / sub- words (datatrove assets)
        "soft_word_threshold": 2,
        "ut1_dirs": ["data/lists/ut1"],  # (b)
        "ut1_categories": ["adult", "phishing", "malware"],
        "deny_domains": [],  # (c)
        "deny_urls": [],
        "allow_domains": [],
        "deny_file": None,
        "allow_file": None,
        "cache_dir": None,  # None: $CURATE_CACHE/blocklists or ~/.cache/curate/blocklists
    }

    def __init__(self, **params: Any):
        super().__init__(**params)
        self._ready = False

    def __getstate__(self) -> dict:
        # Ship only the configuration to other processes; each worker runs setup() itself
        # (and memory-maps the shared cache) instead of receiving a pickled copy of the lists.
        return {"params": self.params, "_ready": False}

    # ------------------------------------------------------------- setup
    def setup(self) -> None:
        if self._ready:
            return
        p = self.params
        cache_dir = Path(p["cache_dir"]).expanduser() if p["cache_dir"] else default_cache_dir()
        domain_src, url_src = self._list_sources()
        self.domains = _cached_hashset("domains", domain_src, cache_dir, domain_keys)
        self.urls = _cached_hashset("urls", url_src, cache_dir, url_keys)

        self.banned_words: set[str] = set()
        self.soft_banned_words: set[str] = set()
        self.banned_subwords: list[str] = []
        if p["use_banned_words"]:
            assets = datatrove_assets()
            self.banned_words = read_word_list(assets / "banned_words.txt")
            self.soft_banned_words = read_word_list(assets / "soft_banned_words.txt")
            self.banned_subwords = sorted(read_word_list(assets / "banned_subwords.txt"))
        self._subword_matcher = _subword_matcher(self.banned_subwords)

        self.deny_domains = {normalize_domain(d) for d in _as_list(p["deny_domains"])} - {""}
        self.allow_domains = {normalize_domain(d) for d in _as_list(p["allow_domains"])} - {""}
        self.deny_urls = {url_key(u) for u in _as_list(p["deny_urls"])} - {""}
        self.allow_urls: set[str] = set()
        for key, doms, urls in (("deny_file", self.deny_domains, self.deny_urls),
                                ("allow_file", self.allow_domains, self.allow_urls)):
            if p[key]:
                d, u = _read_user_file(p[key])
                doms |= d
                urls |= u
        tld_extractor()
        log.info(
            "url_filter: %d domains, %d urls (hashed, %s / %s); %d banned, %d soft, %d sub words; "
            "user: %d deny domains, %d deny urls, %d allow domains, %d allow urls",
            len(self.domains), len(self.urls), self.domains.path, self.urls.path,
            len(self.banned_words), len(self.soft_banned_words), len(self.banned_subwords),
            len(self.deny_domains), len(self.deny_urls), len(self.allow_domains), len(self.allow_urls),
        )
        self._ready = True

    def _list_sources(self) -> tuple[list[_Source], list[_Source]]:
        p = self.params
        domains: list[_Source] = []
        urls: list[_Source] = []
        if p["use_datatrove_lists"]:
            tar = datatrove_assets() / DATATROVE_TAR
            if tar.exists():
                domains.append(_Source(tar, "domains"))
                urls.append(_Source(tar, "urls"))
            else:
                log.warning("url_filter: datatrove block list %s not found; skipping it", tar)
        for d in _as_list(p["ut1_dirs"]):
            d = Path(d).expanduser()
            if not d.is_dir():
                log.warning("url_filter: UT1 directory %s not found; using the other lists only", d)
                continue
            for cat in _as_list(p["ut1_categories"]):
                found = False
                for fname, dest in (("domains", domains), ("urls", urls)):
                    f = d / cat / fname
                    if f.is_file():
                        dest.append(_Source(f))
                        found = True
                if not found:
                    log.warning("url_filter: UT1 category %r has no domains/urls file in %s", cat, d)
        return domains, urls

    # ----------------------------------------------------------- process
    def process(self, batch: pa.Table) -> StageResult:
        self.setup()
        urls = batch.column("url").to_pylist() if "url" in batch.column_names else [None] * batch.num_rows
        return StageResult(columns={}, drops=self.judge_urls(urls))

    def judge_urls(self, urls: list[str | None]) -> list[Drop | None]:
        """The drop decision for each URL (None: keep). Vectorized over the batch."""
        n = len(urls)
        parsed = [split_url(u) if isinstance(u, str) else ("", "", "") for u in urls]

        # Block-list lookups for the whole batch at once: hash every candidate key, one searchsorted.
        dom_keys: list[str] = []
        dom_rows: list[int] = []
        dom_sub: list[bool] = []
        u_keys: list[str] = []
        url_rows: list[int] = []
        for i, (host, path, query) in enumerate(parsed):
            for key, is_sub in domain_candidates(host):
                dom_keys.append(key)
                dom_rows.append(i)
                dom_sub.append(is_sub)
            for key in url_candidates(host, path, query):
                u_keys.append(key)
                url_rows.append(i)
        dom_hit = np.zeros(n, dtype=bool)
        sub_hit = np.zeros(n, dtype=bool)
        url_hit = np.zeros(n, dtype=bool)
        if dom_keys and len(self.domains):
            hits = self.domains.contains_hashes(hash_keys(dom_keys))
            rows = np.asarray(dom_rows)
            is_sub = np.asarray(dom_sub)
            dom_hit[rows[hits & ~is_sub]] = True
            sub_hit[rows[hits & is_sub]] = True
        if u_keys and len(self.urls):
            hits = self.urls.contains_hashes(hash_keys(u_keys))
            url_hit[np.asarray(url_rows)[hits]] = True

        drops: list[Drop | None] = []
        for i, url in enumerate(urls):
            host, path, query = parsed[i]
            if not isinstance(url, str):
                drops.append(None)
                continue
            user = self._user_verdict(host, path, query)
            if user is not None:
                drops.append(None if user else Drop("user_denied"))
            elif dom_hit[i]:
                drops.append(Drop("blocklisted_domain"))
            elif sub_hit[i]:
                drops.append(Drop("blocklisted_subdomain"))
            elif url_hit[i]:
                drops.append(Drop("blocklisted_url"))
            else:
                drops.append(self._word_verdict(url))
        return drops

    def check(self, url: str) -> Drop | None:
        """Judge a single URL."""
        self.setup()
        return self.judge_urls([url])[0]

    def _user_verdict(self, host: str, path: str, query: str) -> bool | None:
        """True: allowed (keep), False: denied, None: not on a user list."""
        if not (self.allow_domains or self.allow_urls or self.deny_domains or self.deny_urls):
            return None
        doms = [d for h in host_variants(host) for d in parent_domains(h)]
        cands = url_candidates(host, path, query) if (self.allow_urls or self.deny_urls) else []
        if any(d in self.allow_domains for d in doms) or any(c in self.allow_urls for c in cands):
            return True
        if any(d in self.deny_domains for d in doms) or any(c in self.deny_urls for c in cands):
            return False
        return None

    def _word_verdict(self, url: str) -> Drop | None:
        if not (self.banned_words or self.soft_banned_words or self.banned_subwords):
            return None
        url = url[:MAX_URL_CHARS].lower()
        words = set(_word_splitter.split(url))
        if not words.isdisjoint(self.banned_words):
            return Drop("banned_word")
        n_soft = len(words & self.soft_banned_words)
        if self.soft_banned_words and n_soft >= self.params["soft_word_threshold"]:
            return Drop("soft_banned_words", float(n_soft))
        if self._subword_matcher(_word_splitter.sub("", url)):
            return Drop("banned_subword")
        return None


def _as_list(value) -> list:
    """A config value that may be given as one string instead of a list."""
    if value is None:
        return []
    if isinstance(value, (str, os.PathLike)):
        return [value]
    return list(value)


def _read_user_file(path: str | os.PathLike) -> tuple[set[str], set[str]]:
    """A user allow/deny file: ``(domains, url keys)``; entries with a ``/`` are URL prefixes."""
    domains: set[str] = set()
    urls: set[str] = set()
    with open(Path(path).expanduser(), encoding="utf-8") as f:
        for line in f:
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            if "/" in s:
                urls.add(url_key(s))
            else:
                domains.add(normalize_domain(s))
    return domains - {""}, urls - {""}


def _trie_regex(words: Iterable[str]) -> re.Pattern:
    """A regex matching any of ``words``, with common prefixes factored out (a trie): ~5x
    faster than ``any(w in s for w in words)`` and than a flat alternation for ~150 words."""
    trie: dict = {}
    for w in words:
        node = trie
        for c in w:
            node = node.setdefault(c, {})
        node[""] = {}

    def emit(node: dict) -> str:
        alts = [re.escape(c) + emit(child) for c, child in sorted(node.items()) if c]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        if "" in node:  # a word ends here: the rest is optional (search only needs a hit)
            body = (body if len(alts) > 1 else "(?:" + body + ")") + "?"
        return body

    return re.compile(emit(trie))


def _subword_matcher(subwords: list[str]):
    """A function telling whether any subword is a substring of a string (pyahocorasick if
    installed, else a trie-shaped regex)."""
    subwords = [w for w in subwords if w]
    if not subwords:
        return lambda s: False
    try:
        import ahocorasick
    except ImportError:
        search = _trie_regex(subwords).search
        return lambda s: search(s) is not None
    automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
    for i, w in enumerate(subwords):
        automaton.add_word(w, i)
    automaton.make_automaton()
    return lambda s: next(automaton.iter(s), None) is not None
