"""Tests of the URL filter stage and the hashed block-list set behind it.

The full datatrove/UT1 adult list (4.6M domains) is indexed once per session, into a
temporary cache directory (``full`` fixture); other tests use small lists.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import pickle
import shutil
import socket
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from pipeline.blocklist import CorruptHashSetError, HashSet, hash_keys
from pipeline.stage import Drop, registry
from pipeline.stages import url_filter as uf
from pipeline.stages.url_filter import URLFilter

SHARED_UT1 = Path(__file__).resolve().parents[1].parent / "shared" / "lists" / "ut1"
# A few real lines of UT1's mixed_adult category, used if the shared copy is absent.
MIXED_ADULT_SAMPLE = {
    "domains": "4chan.org\nchatroulette.com\nimageshack.us\n",
    "urls": "montreal.craigslist.ca/tlg\nchatrandom.com/fr/\n",
}


def reason(drop: Drop | None) -> str | None:
    return drop.reason if drop else None


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="session")
def ut1_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("ut1")
    if (SHARED_UT1 / "mixed_adult").is_dir():
        shutil.copytree(SHARED_UT1 / "mixed_adult", d / "mixed_adult", copy_function=shutil.copyfile)
    else:
        (d / "mixed_adult").mkdir()
        for name, text in MIXED_ADULT_SAMPLE.items():
            (d / "mixed_adult" / name).write_text(text)
    # A hand-made category: punycode entry, comment, blank line, wildcard, upper case, trailing dot.
    (d / "testcat").mkdir()
    (d / "testcat" / "domains").write_text("xn--mnchen-3ya.de\n# a comment\n\n*.wild.example\nUPPER.Example.\n")
    (d / "testcat" / "urls").write_text("http://www.paths.example/a/b/\nhttps://q.example/page?id=7\n")
    return d


@pytest.fixture(scope="session")
def full_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("blocklist_cache")


def make_full(cache: Path, ut1: Path, **kw) -> URLFilter:
    return URLFilter(ut1_dirs=[str(ut1)], ut1_categories=["mixed_adult", "testcat"], cache_dir=str(cache), **kw)


@pytest.fixture(scope="session")
def full(full_cache, ut1_dir) -> URLFilter:
    """Datatrove's full list + UT1 copies: the only 4.6M-domain build of the session."""
    stage = make_full(full_cache, ut1_dir)
    stage.setup()
    return stage


def small_lists(tmp_path: Path) -> Path:
    d = tmp_path / "ut1"
    (d / "cat").mkdir(parents=True)
    (d / "cat" / "domains").write_text("bad.example\nworse.example\n")
    (d / "cat" / "urls").write_text("good.example/bad-page\n")
    return d


def make_small(tmp_path: Path, **kw) -> URLFilter:
    return URLFilter(
        use_datatrove_lists=False, ut1_dirs=[str(small_lists(tmp_path))], ut1_categories=["cat"],
        cache_dir=str(tmp_path / "cache"), **kw,
    )


# ------------------------------------------------------------ the full list
def test_registered():
    assert registry()["url_filter"] is URLFilter


def test_full_index_built_once(full, full_cache):
    assert full.domains.built  # fresh temporary cache: built by the fixture
    assert len(full.domains) > 4_500_000
    assert 15_000 < len(full.urls) < 100_000
    files = sorted(p.name for p in full_cache.glob("*.npy"))
    assert len(files) == 2 and files[0].startswith("domains-") and files[1].startswith("urls-")
    # 8 bytes a domain (+ the .npy header)
    assert full.domains.path.stat().st_size == 8 * len(full.domains) + 128
    assert isinstance(full.domains.hashes, np.memmap)


def test_datatrove_domain_dropped(full):
    # real lines of the tar's `domains` member
    assert reason(full.check("http://0-1sex.com/")) == "blocklisted_domain"
    assert reason(full.check("HTTPS://WWW.0-1SEX.COM:443/index.html?x=1")) == "blocklisted_domain"
    assert reason(full.check("http://1.0.218.19/page")) == "blocklisted_domain"  # a listed IPv4 host


def test_subdomains(full):
    # subdomain of a listed registered domain
    assert reason(full.check("https://cdn.media.0-1sex.com/a.jpg")) == "blocklisted_domain"
    # a listed host below a (non-listed) registered domain, and hosts below it
    assert reason(full.check("http://000-sex-you-tube.blogspot.com/")) == "blocklisted_subdomain"
    assert reason(full.check("http://a.b.000-sex-you-tube.blogspot.com/x")) == "blocklisted_subdomain"
    # ... while its siblings are kept
    assert full.check("http://my-gardening-notes.blogspot.com/2020/05/tomatoes.html") is None
    assert full.check("https://www.blogspot.com/") is None


def test_url_list_prefix(full):
    # real lines of the tar's `urls` member (hosts not on the domain list); entries carry no scheme
    assert reason(full.check("https://familienregion-emsland.de/videos/921")) == "blocklisted_url"
    assert reason(full.check("https://www.tumblr.com/deepflowerdreamland")) == "blocklisted_url"
    assert reason(full.check("https://tumblr.com/deepflowerdreamland/post/123?src=x")) == "blocklisted_url"
    # prefixes only match at path-segment boundaries
    assert full.check("https://familienregion-emsland.de/videos/9210") is None
    assert full.check("https://www.tumblr.com/deepflowerdreamlandx") is None
    assert full.check("https://www.tumblr.com/staff") is None
    # entries with scheme/www/trailing slash/query in a UT1 file
    assert reason(full.check("https://paths.example/a/b")) == "blocklisted_url"
    assert reason(full.check("http://www2.paths.example/a/b/c.html")) == "blocklisted_url"
    assert full.check("https://paths.example/a/bc") is None
    assert reason(full.check("https://q.example/page?id=7")) == "blocklisted_url"
    assert full.check("https://q.example/page?id=8") is None


def test_banned_word(full):
    assert reason(full.check("https://example.com/tag/bondage")) == "banned_word"
    assert reason(full.check("https://example.com/Tag/BONDAGE.html")) == "banned_word"  # case-insensitive
    assert full.check("https://example.com/bondagetools") is None  # whole words only


def test_soft_banned_words_threshold(full, full_cache, ut1_dir):
    assert full.check("https://example.com/sex-education") is None  # 1 soft word
    drop = full.check("https://example.com/sexy-lingerie")  # 2 soft words
    assert drop == Drop("soft_banned_words", 2.0)
    stricter = make_full(full_cache, ut1_dir, soft_word_threshold=3)
    assert stricter.check("https://example.com/sexy-lingerie") is None
    assert stricter.check("https://example.com/sexy-lingerie-webcam") == Drop("soft_banned_words", 3.0)
    assert not stricter.domains.built  # same sources: the cache was reused


def test_banned_subword(full):
    assert reason(full.check("https://example.com/Free-Sex")) == "banned_subword"  # "freesex"
    assert reason(full.check("https://example.com/xxbigtitsxx")) == "banned_subword"
    no_words = URLFilter(use_datatrove_lists=False, ut1_dirs=[], use_banned_words=False)
    assert no_words.check("https://example.com/xxbigtitsxx") is None


def test_ut1_category_dir(full, tmp_path):
    assert reason(full.check("https://boards.4chan.org/b/")) == "blocklisted_domain"
    assert reason(full.check("https://chatroulette.com/")) == "blocklisted_domain"
    assert reason(full.check("https://montreal.craigslist.ca/tlg/12345.html")) == "blocklisted_url"
    assert full.check("https://montreal.craigslist.ca/apa/") is None
    # the UT1 dir alone (no datatrove list) is a valid setup and drops its domains
    ut1_only = URLFilter(use_datatrove_lists=False, ut1_dirs=[str(full.params["ut1_dirs"][0])],
                         ut1_categories=["mixed_adult"], cache_dir=str(tmp_path))
    assert reason(ut1_only.check("https://4chan.org/")) == "blocklisted_domain"
    assert ut1_only.check("http://0-1sex.com/") is None


def test_list_normalization_and_idn(full):
    assert reason(full.check("https://münchen.de/straße")) == "blocklisted_domain"  # listed as punycode
    assert reason(full.check("https://xn--mnchen-3ya.de/")) == "blocklisted_domain"
    assert reason(full.check("https://a.wild.example/")) == "blocklisted_domain"  # "*.wild.example"
    assert reason(full.check("https://upper.example/")) == "blocklisted_domain"  # "UPPER.Example."
    assert reason(full.check("https://x.upper.example/")) == "blocklisted_domain"
    assert full.check("https://other.example/") is None


NORMAL_URLS = [
    "https://www.debian.org/doc/manuals/debian-reference/ch01.en.html",
    "https://en.wikipedia.org/wiki/Cat",
    "https://en.wikipedia.org/wiki/Essex",
    "https://github.com/python/cpython/blob/main/README.rst",
    "https://docs.python.org/3/library/re.html#module-re",
    "https://www.bbc.co.uk/news/science-environment-12345678",
    "https://arxiv.org/abs/1706.03762",
    "https://stackoverflow.com/questions/11227809/why-is-processing-a-sorted-array-faster",
    "https://www.reddit.com/r/Python/comments/abc/",
    "http://example.com",
    "https://www.gov.uk/government/publications?page=2",
]


def test_normal_urls_kept(full):
    assert full.judge_urls(NORMAL_URLS) == [None] * len(NORMAL_URLS)


MALFORMED = [
    "", " ", "not a url", "http://", "://", "https:///path", "//example.org/x", "mailto:someone@example.com",
    "http://192.168.0.1:8080/admin", "http://[::1]:80/x", "http://[::1", "http://user:pw@host.example./p",
    "https://münchen.de/", "http://xn--/", "http://" + "a." * 300 + "com/", "http://" + "é" * 70 + ".com/",
    "https://example.com/" + "seg/" * 5000, "x" * 100_000, "http://%%%/?#", "\x00\x01", "http://\ud800.com/",
]


def test_malformed_urls_do_not_crash(full):
    drops = full.judge_urls(MALFORMED)
    assert len(drops) == len(MALFORMED)
    assert all(d is None or isinstance(d, Drop) for d in drops)
    for u in ("", " ", "not a url", "http://", "http://192.168.0.1:8080/admin", "https://example.com/" + "seg/" * 5000):
        assert full.check(u) is None, u


def test_process_batch(full):
    urls = ["https://en.wikipedia.org/wiki/Cat", None, "http://0-1sex.com/", "", "https://example.com/tag/bondage"]
    batch = pa.table({"url": pa.array(urls, pa.string()), "text": ["t"] * len(urls)})
    res = full.process(batch)
    assert res.columns == {}
    assert [reason(d) for d in res.drops] == [None, None, "blocklisted_domain", None, "banned_word"]
    assert full.process(batch.slice(0, 0)).drops == []


# ------------------------------------------------------------ user lists
def test_user_deny_allow_precedence(full_cache, ut1_dir, tmp_path):
    deny_file = tmp_path / "deny.txt"
    deny_file.write_text("# my deny list\nfile-denied.example\n\nhttps://blog.example.net/drafts/\n")
    allow_file = tmp_path / "allow.txt"
    allow_file.write_text("ok.file-denied.example\n")
    s = make_full(
        full_cache, ut1_dir,
        deny_domains=["Denied.Example"], deny_urls=["https://news.example.net/politics"],
        allow_domains=["0-1sex.com", "fine.denied.example", "4chan.org"],
        deny_file=str(deny_file), allow_file=str(allow_file),
    )
    assert reason(s.check("https://denied.example/")) == "user_denied"
    assert reason(s.check("https://www.sub.denied.example/x")) == "user_denied"
    assert reason(s.check("https://news.example.net/politics/2024/story.html")) == "user_denied"
    assert s.check("https://news.example.net/sports/") is None
    assert reason(s.check("https://file-denied.example/a")) == "user_denied"
    assert reason(s.check("http://blog.example.net/drafts/post-1")) == "user_denied"
    # allow wins over the user's deny list and over every block list and word list
    assert s.check("https://fine.denied.example/") is None
    assert s.check("https://ok.file-denied.example/") is None
    assert s.check("http://0-1sex.com/bondage") is None
    assert s.check("https://boards.4chan.org/b/") is None
    assert not s.domains.built


def test_single_string_lists(tmp_path):
    s = URLFilter(use_datatrove_lists=False, ut1_dirs=str(small_lists(tmp_path)), ut1_categories="cat",
                  deny_domains="denied.example", cache_dir=str(tmp_path / "c"))
    assert reason(s.check("https://denied.example/")) == "user_denied"
    assert s.check("https://d.example/") is None  # not split into characters
    assert reason(s.check("https://bad.example/")) == "blocklisted_domain"


def test_missing_user_file_raises(tmp_path):
    s = URLFilter(use_datatrove_lists=False, ut1_dirs=[], deny_file=str(tmp_path / "nope.txt"))
    with pytest.raises(FileNotFoundError):
        s.setup()


def test_missing_ut1_dir_warns(tmp_path, caplog):
    s = URLFilter(use_datatrove_lists=False, ut1_dirs=[str(tmp_path / "missing")], cache_dir=str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="pipeline.stages.url_filter"):
        s.setup()
    assert any("not found" in r.getMessage() for r in caplog.records)
    assert s.check("https://4chan.org/") is None
    assert reason(s.check("https://example.com/tag/bondage")) == "banned_word"  # word lists still on


def test_unknown_param_rejected():
    with pytest.raises(ValueError):
        URLFilter(deny_domain=["x.com"])


# ----------------------------------------------------------------- caching
def test_cache_reused_without_rebuild(full, full_cache, ut1_dir, monkeypatch):
    before = {p: p.stat().st_mtime_ns for p in full_cache.glob("*.npy")}

    def no_build(*a, **k):
        raise AssertionError("the cache was rebuilt")

    monkeypatch.setattr(HashSet, "build", no_build)
    again = make_full(full_cache, ut1_dir)
    again.setup()
    assert not again.domains.built and not again.urls.built
    assert len(again.domains) == len(full.domains)
    assert {p: p.stat().st_mtime_ns for p in full_cache.glob("*.npy")} == before
    assert reason(again.check("http://0-1sex.com/")) == "blocklisted_domain"


def test_cache_key_follows_sources(tmp_path):
    s = make_small(tmp_path)
    s.setup()
    assert s.domains.built
    first = s.domains.path
    assert reason(s.check("https://bad.example/")) == "blocklisted_domain"
    # editing a list changes the cache key: new file, new content
    lst = tmp_path / "ut1" / "cat" / "domains"
    lst.write_text("bad.example\nworse.example\nnew.example\n")
    os.utime(lst, ns=(1, 1))
    s2 = URLFilter(**s.params)
    s2.setup()
    assert s2.domains.built and s2.domains.path != first
    assert reason(s2.check("https://new.example/")) == "blocklisted_domain"


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "zero_tail", "wrong_dtype"])
def test_corrupt_cache_rebuilt(tmp_path, damage, caplog):
    s = make_small(tmp_path)
    s.setup()
    path = s.domains.path
    good = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(good[: len(good) - 5])
    elif damage == "garbage":
        path.write_bytes(b"\x93NUMPY garbage" + os.urandom(64))
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "zero_tail":  # valid header, data lost after the header (e.g. a crash)
        path.write_bytes(good[:128] + b"\0" * (len(good) - 128))
    elif damage == "wrong_dtype":
        np.save(path, np.arange(3, dtype=np.int32))
    with pytest.raises(CorruptHashSetError):
        HashSet.load(path)
    s2 = URLFilter(**s.params)
    with caplog.at_level(logging.WARNING, logger="pipeline.blocklist"):
        s2.setup()
    assert s2.domains.built and s2.domains.path == path
    assert path.read_bytes() == good
    assert reason(s2.check("https://www.worse.example/")) == "blocklisted_domain"
    assert any("corrupt" in r.getMessage() for r in caplog.records)


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("CURATE_CACHE", str(tmp_path))
    assert uf.default_cache_dir() == tmp_path / "blocklists"
    monkeypatch.delenv("CURATE_CACHE")
    assert uf.default_cache_dir() == Path.home() / ".cache" / "curate" / "blocklists"


def test_unwritable_cache_falls_back_to_memory(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a dir")
    s = URLFilter(use_datatrove_lists=False, ut1_dirs=[str(small_lists(tmp_path))], ut1_categories=["cat"],
                  cache_dir=str(blocker / "sub"))
    s.setup()
    assert s.domains.path is None
    assert reason(s.check("https://bad.example/")) == "blocklisted_domain"


def test_pickle_ships_config_only(full):
    blob = pickle.dumps(full)
    assert len(blob) < 10_000
    clone = pickle.loads(blob)
    assert reason(clone.check("http://0-1sex.com/")) == "blocklisted_domain"
    assert not clone.domains.built


# ------------------------------------------------------------ tldextract
def test_tldextract_offline(monkeypatch, tmp_path, caplog):
    def no_network(*a, **k):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    uf.tld_extractor.cache_clear()
    try:
        with caplog.at_level(logging.DEBUG):
            ex = uf.tld_extractor()
            assert ex("https://a.b.example.co.uk/x").top_domain_under_public_suffix == "example.co.uk"
            assert uf.domain_candidates("a.b.example.co.uk") == [
                ("a.b.example.co.uk", True), ("b.example.co.uk", True), ("example.co.uk", False)
            ]
    finally:
        uf.tld_extractor.cache_clear()
    assert not [r for r in caplog.records if r.name.startswith("tldextract") and r.levelno >= logging.WARNING]
    assert list(tmp_path.rglob("*")) == []  # no suffix-list cache written


# ---------------------------------------------------------------- HashSet
def test_hashset_basics(tmp_path):
    keys = [f"host{i}.example" for i in range(10_000)]
    hs = HashSet.build(keys + keys[:10], tmp_path / "hs.npy")  # duplicates are dropped
    assert len(hs) == 10_000 and hs.built and hs.nbytes == 80_000
    assert "host5.example" in hs and b"host5.example" in hs
    assert "host5.example." not in hs and "nothere.example" not in hs
    q = ["host0.example", "zzz", "host9999.example", ""]
    assert hs.contains_many(q).tolist() == [True, False, True, False]
    assert hs.contains_many([]).tolist() == []
    loaded = HashSet.load(tmp_path / "hs.npy")
    assert np.array_equal(loaded.hashes, hs.hashes) and not loaded.built
    assert np.all(np.diff(loaded.hashes.astype(np.float64)) >= 0)
    assert hash_keys(["a"]).tolist() == hash_keys([b"a"]).tolist()
    empty = HashSet.from_keys([])
    assert len(empty) == 0 and "a" not in empty and empty.contains_many(["a", "b"]).tolist() == [False, False]
    assert not list(tmp_path.glob("*.tmp"))


def test_hashset_load_or_build(tmp_path):
    calls = []

    def keys():
        calls.append(1)
        return ["a", "b"]

    p = tmp_path / "sub" / "x.npy"
    assert HashSet.load_or_build(p, keys).built
    assert not HashSet.load_or_build(p, keys).built
    assert len(calls) == 1
    p.write_bytes(b"junk")
    assert HashSet.load_or_build(p, keys).built and len(calls) == 2


def _race(path: str, q) -> None:
    hs = HashSet.load_or_build(path, lambda: (f"k{i}" for i in range(200_000)))
    q.put((len(hs), "k123" in hs, hs.built))


def test_hashset_concurrent_builders(tmp_path):
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    procs = [ctx.Process(target=_race, args=(str(tmp_path / "race.npy"), q)) for _ in range(4)]
    for p in procs:
        p.start()
    results = [q.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert all(n == 200_000 and hit for n, hit, _ in results)
    assert sum(built for *_, built in results) == 1  # the lock let one process build
    assert not list(tmp_path.glob("*.tmp"))
