"""Bad input must cost only itself: every unreadable part of a WARC file and every unusable page is
a counted skip with a reason (in the stats JSON and the rejects shard), the rest of the file is still
read, and the run finishes.

Files are made by ``tests/warcgen.py`` (deterministic), mostly run through ``process_file`` so that the
counts are checked where users see them: ``stats/files/<shard>.json`` and ``rejects/<shard>.parquet``.
Every test uses its own page texts (``seeds`` fixture), so no test depends on another's state.
"""

from __future__ import annotations

import io
import itertools
import json
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline.config import validate
from pipeline.read import ReadParams, read_documents
from pipeline.warc import READ_CHUNK, Malformed, Record, iter_records
from pipeline.worker import process_file
from warcgen import (
    WarcBuilder,
    chunked,
    deflate_bytes,
    english_text,
    flip,
    gzip_bytes,
    html_page,
    http_response,
    metadata,
    page,
    random_bytes,
    request,
    warc_record,
    warcinfo,
)

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "crawl" / "real"
CFG = validate({"stages": [{"extract": {}}, {"langid": {}}]})
SUFFIX = {"record": ".warc.gz", "file": ".warc.gz", "none": ".warc"}
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + random_bytes(3000, seed=1)


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def seeds(request):
    """Page seeds unique to this test (see the module docstring)."""
    return itertools.count(zlib.crc32(request.node.nodeid.encode()) % 1_000_000 * 1000)


def good(seeds, n: int) -> list[bytes]:
    return [page(next(seeds)) for _ in range(n)]


def around(seeds, bad: list[bytes] | bytes, compression: str = "record", before: int = 2,
           after: int = 3) -> tuple[WarcBuilder, list[int]]:
    """``before`` good pages, the bad part(s), ``after`` good pages; returns the builder and the bad indexes."""
    w = WarcBuilder(compression)
    w.extend(good(seeds, before))
    bad = [bad] if isinstance(bad, bytes) else bad
    idx = [w.add(b) for b in bad]
    w.extend(good(seeds, after))
    return w, idx


@dataclass
class Run:
    stats: dict
    read: dict
    docs: list[dict]
    rejects: list[dict]

    def read_rejects(self) -> Counter:
        return Counter(r["reason"] for r in self.rejects if r["stage"] == "read")


def run_file(path: Path, out: Path, cfg: dict = CFG) -> Run:
    """process_file, then check what must hold for every file, bad or not; return its outputs."""
    returned = process_file(str(path), out, cfg, {})
    name = path.name.removesuffix(".gz").removesuffix(".warc")
    stats = json.loads((out / "stats" / "files" / f"{name}.json").read_text())
    assert (out / "stats" / "done" / f"{name}.done").exists()
    assert stats == json.loads(json.dumps(returned))
    docs = pq.read_table(out / "docs" / f"{name}.parquet").to_pylist()
    rejects = pq.read_table(out / "rejects" / f"{name}.parquet").to_pylist()
    stages = stats["stages"]
    assert stages[0]["name"] == "read"
    for prev, st in zip([None] + stages, stages):
        assert st["docs_in"] == st["docs_out"] + sum(st["drops"].values()), st
        if prev is not None:
            assert st["docs_in"] == prev["docs_out"], st
        assert Counter(r["reason"] for r in rejects if r["stage"] == st["name"]) == Counter(st["drops"]), st["name"]
    assert len(docs) == stages[-1]["docs_out"]
    ids = [d["id"] for d in docs] + [r["id"] for r in rejects]
    assert len(ids) == len(set(ids)), "a document is both kept and rejected, or twice"
    assert not list(out.rglob("*.tmp-*")), "temporary files left behind"
    return Run(stats, stages[0], docs, rejects)


def expect(run: Run, kept: int, drops: dict[str, int], records_other: int = 0) -> None:
    """Exact read-stage outcome: documents kept, drops per reason in the stats and the rejects shard."""
    assert run.read["drops"] == drops
    assert run.read_rejects() == Counter(drops)
    assert run.read["docs_out"] == kept
    assert run.stats["records_other"] == records_other
    # Good synthetic English pages survive extraction and language ID.
    assert len(run.docs) == kept


def read_all(path: Path) -> tuple[list[dict], Counter]:
    """read_documents only (no extraction): kept rows, and drop reasons (records_other under 'other')."""
    kept, reasons = [], Counter()
    for row, drop in read_documents(str(path), ReadParams()):
        if "other" in row:
            reasons["other"] += 1
        elif drop is None:
            kept.append(row)
        else:
            reasons[drop.reason] += 1
    return kept, reasons


def items(data: bytes, **kw) -> list[Record | Malformed]:
    return list(iter_records(io.BytesIO(data), **kw))


def malformed_offsets(run: Run) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for r in run.rejects:
        if r["stage"] == "read" and r["reason"].startswith("malformed_"):
            out.setdefault(r["reason"], []).append(r["warc_offset"])
    return out


# --------------------------------------------------------------------------- gzip framing


@pytest.mark.parametrize("cut", ["header", "middle", "near_end"])
def test_truncated_last_member(tmp_path, seeds, cut):
    """File cut inside the last gzip member: the 5 earlier pages are kept, one truncated_gzip."""
    w = WarcBuilder("record")
    w.extend(good(seeds, 6))
    w.build()
    start, end = w.spans[5]
    at = {"header": start + 5, "middle": (start + end) // 2, "near_end": end - 30}[cut]
    run = run_file(w.write(tmp_path / f"trunc{SUFFIX['record']}", truncate=at), tmp_path / "out")
    expect(run, kept=5, drops={"malformed_truncated_gzip": 1})
    assert malformed_offsets(run) == {"malformed_truncated_gzip": [start]}


def test_truncated_in_trailer_keeps_the_complete_record(tmp_path, seeds):
    """Cut inside the 8-byte gzip trailer: the record itself was fully decoded and is kept."""
    w = WarcBuilder("record")
    w.extend(good(seeds, 6))
    w.build()
    run = run_file(w.write(tmp_path / "x.warc.gz", truncate=w.spans[5][1] - 4), tmp_path / "out")
    expect(run, kept=6, drops={"malformed_truncated_gzip": 1})


def test_truncated_in_a_middle_member_loses_the_rest(tmp_path, seeds):
    """File cut in member 2 of 6: members 0-1 are kept, later records are gone, counted once."""
    w = WarcBuilder("record")
    w.extend(good(seeds, 6))
    w.build()
    start, end = w.spans[2]
    run = run_file(w.write(tmp_path / "x.warc.gz", truncate=(start + end) // 2), tmp_path / "out")
    expect(run, kept=2, drops={"malformed_truncated_gzip": 1})


def test_truncated_member_followed_by_good_members(tmp_path, seeds):
    """A member missing its second half, with intact members after it: it is skipped, the rest read."""
    w, (bad,) = around(seeds, page(next(seeds)))
    w.mutate(bad, lambda m: m[: len(m) // 2])
    w.build()
    run = run_file(w.write(tmp_path / "x.warc.gz"), tmp_path / "out")
    expect(run, kept=5, drops={"malformed_corrupt_gzip": 1})
    assert malformed_offsets(run) == {"malformed_corrupt_gzip": [w.spans[bad][0]]}


def test_truncated_whole_file_gzip_keeps_complete_records(tmp_path, seeds):
    """Whole-file gzip cut in the middle: records complete before the cut are kept."""
    w = WarcBuilder("file")
    w.extend(good(seeds, 6))
    data = w.build()
    cut = data[: len(data) * 6 // 10]
    decoded = len(zlib.decompressobj(31).decompress(cut))
    complete = sum(1 for _, end in w.spans if end - 4 <= decoded)  # body end (before CRLFCRLF) decoded
    assert 0 < complete < 6
    path = tmp_path / "x.warc.gz"
    path.write_bytes(cut)
    run = run_file(path, tmp_path / "out")
    expect(run, kept=complete, drops={"malformed_truncated_gzip": 1})


@pytest.mark.parametrize("size", ["small", "large", "straddle"])
def test_garbage_between_members(tmp_path, seeds, size):
    """Junk between gzip members (7 bytes; 200 kB over several read chunks; ending so that the next
    member's magic straddles a read-chunk boundary): one garbage skip, all 5 pages kept."""
    w = WarcBuilder("record")
    w.extend(good(seeds, 2))
    w.build()
    prev_end = w.spans[-1][1]
    n = {"small": 7, "large": 200_000, "straddle": 3 + READ_CHUNK - 1 - prev_end}[size]
    junk = (b"junk! no gzip magic here\n" * (n // 25 + 1))[:n]
    g = w.raw(junk)
    w.extend(good(seeds, 3))
    w.build()
    if size == "straddle":
        assert w.spans[g + 1][0] == 3 + READ_CHUNK - 1  # first read is 3 bytes, then 64 KiB chunks
    run = run_file(w.write(tmp_path / "x.warc.gz"), tmp_path / "out")
    expect(run, kept=5, drops={"malformed_garbage": 1})
    assert malformed_offsets(run) == {"malformed_garbage": [w.spans[g][0]]}


def test_garbage_at_end_of_gzip_file(tmp_path, seeds):
    w = WarcBuilder("record")
    w.extend(good(seeds, 5))
    w.raw(b"\x00" * 100 + b"trailing junk")
    run = run_file(w.write(tmp_path / "x.warc.gz"), tmp_path / "out")
    expect(run, kept=5, drops={"malformed_garbage": 1})


def test_garbage_at_start_of_gzip_file(tmp_path, seeds):
    w = WarcBuilder("record")
    w.extend(good(seeds, 5))
    run = run_file(w.write(tmp_path / "x.warc.gz", prefix=b"leading junk\r\n"), tmp_path / "out")
    expect(run, kept=5, drops={"malformed_garbage": 1})


def test_garbage_at_start_of_uncompressed_file(tmp_path, seeds):
    w = WarcBuilder("none")
    w.raw(b"leading junk\r\n")
    w.extend(good(seeds, 5))
    run = run_file(w.write(tmp_path / "x.warc"), tmp_path / "out")
    expect(run, kept=5, drops={"malformed_garbage": 1})
    assert malformed_offsets(run) == {"malformed_garbage": [0]}


def test_garbage_between_records_of_uncompressed_file(tmp_path, seeds):
    w = WarcBuilder("none")
    w.extend(good(seeds, 2))
    g = w.raw(b"some junk that is not a record\r\n\r\n")
    w.extend(good(seeds, 3))
    w.build()
    run = run_file(w.write(tmp_path / "x.warc"), tmp_path / "out")
    expect(run, kept=5, drops={"malformed_garbage": 1})
    assert malformed_offsets(run) == {"malformed_garbage": [w.spans[g][0]]}


@pytest.mark.parametrize("big", [False, True], ids=["small_member", "member_over_read_chunks"])
def test_corrupt_member(tmp_path, seeds, big):
    """Flipped bytes inside a deflate stream: corrupt_gzip once, the following records still read.
    ``big``: the damaged member spans several 64 KiB read chunks and the damage is in a later one."""
    html = html_page(next(seeds), text=random_bytes(400_000, seed=7).hex()) if big else None
    w, (bad,) = around(seeds, page(next(seeds), html=html))
    w.mutate(bad, lambda m: flip(m, len(m) * 3 // 4))
    w.build()
    if big:
        assert w.spans[bad][1] - w.spans[bad][0] > 2 * READ_CHUNK
    run = run_file(w.write(tmp_path / "x.warc.gz"), tmp_path / "out")
    expect(run, kept=5, drops={"malformed_corrupt_gzip": 1})
    assert malformed_offsets(run) == {"malformed_corrupt_gzip": [w.spans[bad][0]]}


def test_gzip_magic_followed_by_junk(tmp_path):
    """A file that starts like gzip and is not: one skip, the run still finishes."""
    path = tmp_path / "x.warc.gz"
    path.write_bytes(b"\x1f\x8b\x08" + random_bytes(500, seed=3))
    run = run_file(path, tmp_path / "out")
    assert run.read["docs_out"] == 0 and sum(run.read["drops"].values()) == 1
    assert next(iter(run.read["drops"])).startswith("malformed_")


@pytest.mark.parametrize("content", ["empty", "not_warc"])
def test_file_with_no_records(tmp_path, content):
    path = tmp_path / "x.warc"
    path.write_bytes(b"" if content == "empty" else b"<html>this is not a WARC file</html>\n" * 10)
    run = run_file(path, tmp_path / "out")
    expect(run, kept=0, drops={} if content == "empty" else {"malformed_garbage": 1})


def test_oversized_member_is_skipped_not_fatal(seeds):
    w, (bad,) = around(seeds, page(next(seeds), html=html_page(1, text="word " * 100_000)))
    got = items(w.build(), max_member_bytes=200_000)
    assert [getattr(i, "reason", "record") for i in got] == ["record"] * 2 + ["member_too_large"] + ["record"] * 3


# --------------------------------------------------------------------------- WARC headers


def _true_length(seed: int) -> int:
    return len(http_response(html_page(seed)))


@pytest.mark.parametrize("compression", ["record", "none", "file"])
@pytest.mark.parametrize("lie", ["too_large", "too_small", "past_end_of_file"])
def test_content_length_lies(tmp_path, seeds, compression, lie):
    """A record whose Content-Length is wrong is skipped, its neighbours kept."""
    s = next(seeds)
    n = _true_length(s)
    claimed = {"too_large": n + 50, "too_small": n - 50, "past_end_of_file": n + 10_000}[lie]
    bad = page(s, content_length=claimed)
    after = 0 if lie == "past_end_of_file" else 3  # the last record of the file claims more than there is
    w, (i,) = around(seeds, bad, compression, before=5 - after, after=after)
    w.build()
    run = run_file(w.write(tmp_path / f"x{SUFFIX[compression]}"), tmp_path / "out")
    expect(run, kept=5, drops={"malformed_content_length_mismatch": 1})
    if compression != "file":  # whole-file gzip: every record's offset is that of the one member, 0
        assert malformed_offsets(run) == {"malformed_content_length_mismatch": [w.spans[i][0]]}


@pytest.mark.parametrize("compression", ["record", "none"])
@pytest.mark.parametrize("header", ["missing", "non_numeric", "negative"])
def test_bad_content_length_header(tmp_path, seeds, compression, header):
    bad = page(next(seeds), content_length={"missing": None, "non_numeric": "abc", "negative": "-5"}[header])
    w, _ = around(seeds, bad, compression)
    run = run_file(w.write(tmp_path / f"x{SUFFIX[compression]}"), tmp_path / "out")
    expect(run, kept=5, drops={"malformed_bad_warc_header": 1})


@pytest.mark.parametrize("compression", ["record", "none"])
@pytest.mark.parametrize("http_length", [
    False,
    True,
], ids=["no_http_content_length", "http_content_length"])
def test_no_blank_line_after_warc_headers(tmp_path, seeds, compression, http_length):
    s = next(seeds)
    bad = warc_record(http_response(html_page(s), content_length=http_length), url=f"http://x{s}.example/",
                      blank_line=False)
    w, _ = around(seeds, bad, compression)
    run = run_file(w.write(tmp_path / f"x{SUFFIX[compression]}"), tmp_path / "out")
    assert run.read["docs_out"] == 5 and len(run.docs) == 5
    (reason, count), = run.read["drops"].items()
    assert count == 1 and reason.startswith("malformed_"), reason
    assert run.read_rejects() == Counter({reason: 1})


def test_headers_never_end(tmp_path, seeds):
    """An uncompressed file ending in a record header with no blank line: one skip, earlier pages kept."""
    w = WarcBuilder("none")
    w.extend(good(seeds, 5))
    w.raw(b"WARC/1.0\r\nWARC-Type: response\r\nContent-Length: 100\r\n")
    run = run_file(w.write(tmp_path / "x.warc"), tmp_path / "out")
    expect(run, kept=5, drops={"malformed_bad_warc_header": 1})


@pytest.mark.parametrize("compression", ["record", "file", "none"])
def test_warc_versions_and_record_types(tmp_path, seeds, compression):
    """WARC/1.0, 1.1, 0.18 with LF-only lines and 0.17 side by side, with request/metadata/warcinfo
    records: every response is a document, the other records are only counted."""
    w = WarcBuilder(compression)
    w.add(warcinfo())
    for version, lf in (("1.0", False), ("1.1", False), ("0.18", True), ("0.17", False)):
        s = next(seeds)
        w.add(request(f"http://site{s}.example.com/", version=version, lf_only=lf))
        w.add(page(s, url=f"http://site{s}.example.com/", version=version, lf_only=lf))
        w.add(metadata(f"http://site{s}.example.com/", version=version, lf_only=lf))
    data = w.build()
    got = items(data)
    assert all(isinstance(i, Record) for i in got)
    assert Counter(i.type for i in got) == {"warcinfo": 1, "request": 4, "response": 4, "metadata": 4}
    assert {i.version for i in got} == {"WARC/1.0", "WARC/1.1", "WARC/0.18", "WARC/0.17"}
    run = run_file(w.write(tmp_path / f"x{SUFFIX[compression]}"), tmp_path / "out")
    expect(run, kept=4, drops={}, records_other=9)


# --------------------------------------------------------------------------- payloads


@pytest.mark.parametrize("body,reason", [
    (PNG, "binary_body"),
    (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + random_bytes(2000, seed=2), "binary_body"),
    (random_bytes(3000, seed=4), "binary_body"),  # random bytes, NULs and control bytes included
    (b"", "empty_body"),
    (b"  \r\n\t \n  ", "empty_body"),
], ids=["png", "pdf", "random_with_nuls", "zero_bytes", "whitespace"])
def test_unusable_body_labelled_html(tmp_path, seeds, body, reason):
    bad = page(next(seeds), html=body, content_type="text/html; charset=utf-8")
    w, _ = around(seeds, bad)
    run = run_file(w.write(tmp_path / "x.warc.gz"), tmp_path / "out")
    expect(run, kept=5, drops={reason: 1})


@pytest.mark.parametrize("status", [404, 301, 500])
def test_http_status(tmp_path, seeds, status):
    bad = page(next(seeds), status=status, http_headers=[("Location", "http://elsewhere.example/")])
    w, _ = around(seeds, bad)
    run = run_file(w.write(tmp_path / "x.warc.gz"), tmp_path / "out")
    expect(run, kept=5, drops={"http_status": 1})
    (rej,) = [r for r in run.rejects if r["stage"] == "read"]
    assert rej["score"] == status and rej["url"].startswith("http://")


@pytest.mark.parametrize("ctype,body", [
    ("image/png", PNG),
    ("application/pdf", b"%PDF-1.4\n" + random_bytes(1000, seed=5)),
    ("text/plain; charset=utf-8", b"just some text\n"),
], ids=["png", "pdf", "text_plain"])
def test_non_html_content_type(tmp_path, seeds, ctype, body):
    w, _ = around(seeds, page(next(seeds), html=body, content_type=ctype))
    run = run_file(w.write(tmp_path / "x.warc.gz"), tmp_path / "out")
    expect(run, kept=5, drops={"non_html": 1})


@pytest.mark.parametrize("block,reason", [
    (b"this is not an HTTP response\r\n\r\n<html></html>", "malformed_http"),
    (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n", "malformed_http"),  # headers never end
    (b"HTTP/1.1 abc OK\r\nContent-Type: text/html\r\n\r\n<p>x</p>", "malformed_http"),
], ids=["no_status_line", "no_blank_line", "non_numeric_status"])
def test_malformed_http(tmp_path, seeds, block, reason):
    w, _ = around(seeds, warc_record(block, url="http://bad.example/"))
    run = run_file(w.write(tmp_path / "x.warc.gz"), tmp_path / "out")
    expect(run, kept=5, drops={reason: 1})


def test_non_http_response_record(tmp_path, seeds):
    """Old Heritrix files hold dns: responses (Content-Type text/dns): counted as not_http."""
    dns = warc_record(b"20080430204825\nexample.com.\t589\tIN\tA\t1.2.3.4\n", url="dns:example.com",
                      content_type="text/dns")
    w, _ = around(seeds, dns)
    run = run_file(w.write(tmp_path / "x.warc.gz"), tmp_path / "out")
    expect(run, kept=5, drops={"not_http": 1})


def test_transfer_and_content_encodings_are_decoded(tmp_path, seeds):
    """Chunked transfer, gzip and deflate content encodings (older crawls store raw bytes): decoded, kept."""
    pages = {}
    w = WarcBuilder("record")
    for kind in ("chunked", "gzip", "deflate", "chunked+gzip"):
        s = next(seeds)
        html = html_page(s).encode()
        body, headers = html, []
        if "gzip" in kind:
            body, headers = gzip_bytes(body), [("Content-Encoding", "gzip")]
        if kind == "deflate":
            body, headers = deflate_bytes(body), [("Content-Encoding", "deflate")]
        if "chunked" in kind:
            body, headers = chunked(body, 333), headers + [("Transfer-Encoding", "chunked")]
        url = f"http://{kind.replace('+', '-')}.example/{s}"
        pages[url] = html.decode()
        w.add(warc_record(http_response(body, headers=headers, content_length="chunked" not in kind), url=url))
    # Declared gzip, but the bytes are broken: a counted skip, not a crash.
    w.add(warc_record(http_response(b"\x1f\x8b\x08\x00" + random_bytes(200, seed=6),
                                    headers=[("Content-Encoding", "gzip")]), url="http://broken-gzip.example/"))
    path = w.write(tmp_path / "x.warc.gz")
    kept, reasons = read_all(path)
    assert {r["url"]: r["html"] for r in kept} == pages
    run = run_file(path, tmp_path / "out")
    expect(run, kept=4, drops={"bad_content_encoding": 1})
    assert {d["url"] for d in run.docs} == set(pages)


def test_too_large_page_is_dropped_and_a_4mb_page_kept(tmp_path, seeds):
    """10 MB of HTML: too_large (default limit 5 MB), score = its size. 4 MB: read, extracted, kept."""
    s1, s2 = next(seeds), next(seeds)
    big = html_page(s1, text="word " * 2_000_000).encode()
    para = english_text(s2, 2000) + " "
    ok = html_page(s2, text=para * (4_200_000 // len(para))).encode()  # one paragraph: nothing to deduplicate
    assert len(big) > 10_000_000 and 4_000_000 < len(ok) < 5_000_000
    w, _ = around(seeds, [page(s1, html=big), page(s2, html=ok)], before=2, after=2)
    run = run_file(w.write(tmp_path / "x.warc.gz"), tmp_path / "out")
    expect(run, kept=5, drops={"too_large": 1})
    (rej,) = [r for r in run.rejects if r["stage"] == "read"]
    assert rej["score"] == len(big)
    (doc,) = [d for d in run.docs if d["url"] == f"http://site{s2}.example.com/page/{s2}"]
    assert len(doc["text"]) > 3_900_000


def test_too_large_after_content_decoding(tmp_path, seeds):
    """The limit applies to the decoded page: 6 MB of HTML sent gzip-encoded (~30 kB) is too_large."""
    s = next(seeds)
    html = html_page(s, text="word " * 1_200_000).encode()
    bad = warc_record(http_response(gzip_bytes(html), headers=[("Content-Encoding", "gzip")]))
    w, _ = around(seeds, bad)
    run = run_file(w.write(tmp_path / "x.warc.gz"), tmp_path / "out")
    expect(run, kept=5, drops={"too_large": 1})


# --------------------------------------------------------------------------- character encodings

ACCENTED = "Un café très agréable à Zürich, une façade naïve et un garçon qui s'appelle Jürgen. "
RU = ("Москва является столицей России и крупнейшим городом страны.",
      "В городе много музеев, театров и парков, которые привлекают туристов со всего мира.",
      "Летом жители отдыхают на берегу реки, а зимой катаются на коньках.")
JA = ("東京は日本の首都であり、多くの人々が住んでいます。",
      "美しい公園や寺院がたくさんあり、毎年多くの観光客が訪れます。",
      "春には桜が咲き、秋には紅葉を楽しむことができます。")


def _article(title: str, sentences: tuple[str, ...], tag: str, head: str = "", sep: str = " ") -> str:
    """Three paragraphs, each unique (``tag``) so that trafilatura's deduplication never removes one."""
    paras = "".join(f"<p>{sep.join(sentences[(k + j) % 3] for j in range(3))} ({tag} {k})</p>" for k in range(3))
    return (f"<html><head>{head}<title>{title}</title></head><body><article><h1>{title}</h1>{paras}"
            f"</article></body></html>")


def _utf8_with_bad_bytes(seed: int) -> bytes:
    text = (ACCENTED + english_text(seed, 300)).encode()
    k = len(text) // 2
    return html_page(seed, text="@@").encode().replace(b"@@", text[:k] + b"\xff\xfe\xc3" + text[k:])


def test_declared_utf8_with_a_few_bad_bytes_is_kept(tmp_path, seeds):
    s = next(seeds)
    w, _ = around(seeds, page(s, html=_utf8_with_bad_bytes(s), content_type="text/html; charset=utf-8"))
    run = run_file(w.write(tmp_path / "x.warc.gz"), tmp_path / "out")
    expect(run, kept=6, drops={})
    (doc,) = [d for d in run.docs if d["url"].endswith(f"/{s}")]
    assert "village" in doc["text"] or "river" in doc["text"]


@pytest.mark.parametrize("damage", ["bad_bytes", "cut_mid_character"])
def test_mostly_valid_utf8_stays_utf8(seeds, damage, tmp_path):
    s = next(seeds)
    if damage == "bad_bytes":
        body = _utf8_with_bad_bytes(s)
    else:
        body = html_page(s, text=ACCENTED + english_text(s, 300) + " é").encode()
        body = body[: body.rindex("é".encode()) + 1]  # CommonCrawl cuts payloads at 1 MiB, mid-character too
    for ctype in ("text/html; charset=utf-8", "text/html"):
        w = WarcBuilder()
        w.add(page(s, html=body, content_type=ctype))
        (row,), _ = read_all(w.write(tmp_path / "x.warc.gz"))
        assert row["charset"] == "utf-8" and "café très agréable à Zürich" in row["html"], ctype


@pytest.mark.parametrize("declared", ["text/html; charset=utf-8", "text/html"])
def test_undecodable_garbage_is_bad_encoding(tmp_path, seeds, declared):
    """High bytes with no control characters (so not binary_body): no charset reads them -> bad_encoding."""
    import random

    rng = random.Random(11)
    junk = bytes(rng.randrange(97, 123) if rng.random() < 0.3 else rng.randrange(128, 256) for _ in range(4000))
    w, _ = around(seeds, page(next(seeds), html=b"<html><body><p>" + junk + b"</p></body></html>",
                              content_type=declared))
    run = run_file(w.write(tmp_path / "x.warc.gz"), tmp_path / "out")
    expect(run, kept=5, drops={"bad_encoding": 1})
    (rej,) = [r for r in run.rejects if r["stage"] == "read"]
    assert rej["score"] > 0.01


def test_legacy_charsets_are_decoded(tmp_path):
    """cp1251 Russian with no declaration at all (detected), Shift-JIS by <meta charset>, EUC-JP by
    <meta http-equiv>, KOI8-R by the HTTP header: the extracted text has the right words."""
    w = WarcBuilder("record")
    cases = {
        "http://ru.example/": (_article("Новости города", RU, "cp1251").encode("cp1251"), "text/html", "cp1251"),
        "http://sjis.example/": (
            _article("東京の案内", JA, "sjis", '<meta charset="Shift_JIS">', "").encode("shift_jis"),
            "text/html", "shift_jis"),
        "http://eucjp.example/": (_article("東京の案内", JA, "eucjp", '<meta http-equiv="Content-Type" '
                                           'content="text/html; charset=EUC-JP">', "").encode("euc_jp"),
                                  "text/html", "euc_jp"),
        "http://koi8.example/": (
            _article("Новости города", RU, "koi8").encode("koi8_r"), "text/html; charset=KOI8-R", "koi8-r"),
    }
    for url, (body, ctype, _) in cases.items():
        w.add(page(0, url=url, html=body, content_type=ctype))
    path = w.write(tmp_path / "x.warc.gz")
    kept, reasons = read_all(path)
    assert not reasons
    assert {r["url"]: r["charset"] for r in kept} == {u: c[2] for u, c in cases.items()}
    run = run_file(path, tmp_path / "out")
    expect(run, kept=4, drops={})
    docs = {d["url"]: d for d in run.docs}
    for url in ("http://ru.example/", "http://koi8.example/"):
        assert "Москва является столицей России" in docs[url]["text"] and docs[url]["lang"] == "ru"
    for url in ("http://sjis.example/", "http://eucjp.example/"):
        assert "東京は日本の首都であり" in docs[url]["text"] and docs[url]["lang"] == "ja"
    assert "\ufffd" not in "".join(d["text"] for d in run.docs)


def test_meta_utf16_on_an_8bit_page(tmp_path, seeds):
    s = next(seeds)
    w = WarcBuilder()
    w.add(page(s, html=html_page(s, head_extra='<meta charset="UTF-16">'), content_type="text/html"))
    (row,), _ = read_all(w.write(tmp_path / "x.warc.gz"))
    assert "Notes from the valley" in row["html"]


def test_same_file_processed_again_in_one_process_gives_the_same_output(tmp_path, seeds):
    w = WarcBuilder("record")
    w.extend(good(seeds, 3))
    path = w.write(tmp_path / "x.warc.gz")
    runs = [run_file(path, tmp_path / f"out{k}") for k in range(4)]
    assert all(r.stats["stages"][1]["drops"] == {} for r in runs), [r.stats["stages"][1]["drops"] for r in runs]
    assert all(len(r.docs) == 3 for r in runs)


# --------------------------------------------------------------------------- real files

# Per file: records per WARC-Type, versions, and the read outcome (kept + drops + records_other).
REAL_FILES = {
    "CC-MAIN-20200808165417-20200808195417-00395-head.warc.gz": (
        {"warcinfo": 1, "request": 17, "response": 16, "metadata": 16}, {"WARC/1.0"}, {"kept": 16, "other": 34}),
    "CC-MAIN-2024-22-whirlwind.warc.gz": (
        {"warcinfo": 1, "request": 1, "response": 1, "metadata": 1}, {"WARC/1.0"}, {"kept": 1, "other": 3}),
    "CC-MAIN-2024-22-whirlwind.warc.wat.gz": ({"warcinfo": 1, "metadata": 1}, {"WARC/1.0"}, {"other": 2}),
    "CC-MAIN-2024-22-whirlwind.warc.wet.gz": ({"warcinfo": 1, "conversion": 1}, {"WARC/1.0"}, {"other": 2}),
    "IAH-20080430204825-00000-blackbook.warc.gz": (
        {"warcinfo": 1, "response": 299, "request": 261, "metadata": 261}, {"WARC/0.17"},
        {"kept": 94, "other": 523, "not_http": 38, "non_html": 120, "http_status": 47}),
    "clueweb09-ja-malformed-headers.warc.gz": (
        {"warcinfo": 1, "response": 29}, {"WARC/0.18"}, {"kept": 29, "other": 1}),
    "clueweb09-sample.warc.gz": ({"warcinfo": 1, "response": 100}, {"WARC/0.18"}, {"kept": 100, "other": 1}),
    "dolma-sample-0000.warc.gz": (
        {"warcinfo": 1, "request": 22, "response": 22, "metadata": 1, "resource": 2}, {"WARC/1.0"},
        {"kept": 22, "other": 26}),
    "dolma-sample-0001.warc.gz": (
        {"warcinfo": 1, "request": 15, "response": 15, "metadata": 1, "resource": 2}, {"WARC/1.0"},
        {"kept": 15, "other": 19}),
}


def _gzip_members(data: bytes) -> int:
    n, pos = 0, 0
    while pos < len(data):
        d = zlib.decompressobj(31)
        d.decompress(data[pos:])
        assert d.eof, "real file is itself truncated"
        n, pos = n + 1, len(data) - len(d.unused_data)
    return n


@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_real_files_are_read_to_the_end(name):
    """Real files of every vintage (ClueWeb09's WARC/0.18 that fastwarc rejects, Heritrix's 0.17):
    read to the end without a malformed part, every record of every gzip member found."""
    path = REAL / name
    if not path.exists():
        pytest.skip(f"{path} not found")
    types, versions, outcome = REAL_FILES[name]
    data = path.read_bytes()
    got = items(data)
    assert [i for i in got if isinstance(i, Malformed)] == []
    assert Counter(i.type for i in got) == types
    assert {i.version for i in got} == versions
    members = _gzip_members(data)
    assert members == 1 or members == len(got)  # whole-file gzip, or one record per member
    assert max(i.offset for i in got) < len(data)
    kept, reasons = read_all(path)
    got = dict(reasons)
    if kept:
        got["kept"] = len(kept)
    assert got == outcome
    assert len(kept) + sum(v for k, v in reasons.items() if k != "other") == types.get("response", 0)
    assert all(r["html"] and r["url"] for r in kept)


# --------------------------------------------------------------------------- everything at once


def test_end_to_end_file_with_every_kind_of_damage(tmp_path, seeds):
    """One gzip-per-record file with all of the above, through process_file in batches of 3: it finishes,
    and the docs shard, the rejects shard and the stats agree with what was put in."""
    w = WarcBuilder("record")
    w.add(warcinfo())
    want_docs, other = set(), 1

    def good_page():
        nonlocal other
        s = next(seeds)
        url = f"http://site{s}.example.com/page/{s}"
        w.add(request(url))
        w.add(page(s, url=url))
        w.add(metadata(url))
        want_docs.add(url)
        other += 2

    def bad(record: bytes) -> int:
        return w.add(record)

    good_page()
    bad(page(next(seeds), html=PNG))                                          # binary_body
    good_page()
    w.raw(b"garbage between members" * 3)                                     # malformed_garbage
    good_page()
    i = bad(page(next(seeds)))                                                # malformed_corrupt_gzip
    w.mutate(i, lambda m: flip(m, len(m) // 2))
    s = next(seeds)
    bad(page(s, content_length=_true_length(s) + 40))                         # malformed_content_length_mismatch
    bad(page(next(seeds), content_length=None))                               # malformed_bad_warc_header
    good_page()
    bad(page(next(seeds), html=b""))                                          # empty_body
    bad(page(next(seeds), html=b" \n\t "))                                    # empty_body
    bad(page(next(seeds), html=html_page(1, text="word " * 2_000_000)))       # too_large
    bad(page(next(seeds), status=404))                                        # http_status
    bad(page(next(seeds), status=301))                                        # http_status
    bad(page(next(seeds), html=PNG, content_type="image/png"))                # non_html
    bad(page(next(seeds), html=b"%PDF-1.4\n", content_type="application/pdf"))  # non_html
    bad(page(next(seeds), html=random_bytes(2000, seed=9)))                   # binary_body
    good_page()
    s = next(seeds)
    url = f"http://chunked.example/{s}"
    w.add(warc_record(http_response(chunked(gzip_bytes(html_page(s).encode())), content_length=False,
                                    headers=[("Transfer-Encoding", "chunked"), ("Content-Encoding", "gzip")]),
                      url=url))
    want_docs.add(url)
    ru = _article("Новости", RU, f"e2e {s}").encode("cp1251")
    w.add(page(0, url="http://ru.example/", html=ru, content_type="text/html"))
    want_docs.add("http://ru.example/")
    good_page()
    last = bad(page(next(seeds)))                                             # malformed_truncated_gzip
    w.build()
    path = w.write(tmp_path / "mixed.warc.gz", truncate=(w.spans[last][0] + w.spans[last][1]) // 2)

    run = run_file(path, tmp_path / "out", validate({**CFG, "batch_size": 3}))
    drops = {"binary_body": 2, "empty_body": 2, "http_status": 2, "malformed_bad_warc_header": 1,
             "malformed_content_length_mismatch": 1, "malformed_corrupt_gzip": 1, "malformed_garbage": 1,
             "malformed_truncated_gzip": 1, "non_html": 2, "too_large": 1}
    expect(run, kept=len(want_docs), drops=drops, records_other=other)
    assert {d["url"] for d in run.docs} == want_docs
    assert all(d["text"] and d["lang"] for d in run.docs)
    assert {r["id"] for r in run.rejects if r["stage"] == "read"}.isdisjoint(d["id"] for d in run.docs)
    read_rej = [r for r in run.rejects if r["stage"] == "read"]
    assert len(read_rej) == sum(drops.values())
    assert all(r["warc_file"] == "mixed" and 0 <= r["warc_offset"] < path.stat().st_size for r in read_rej)
    # Rerunning gives the same counts (outputs are replaced, not appended to).
    again = run_file(path, tmp_path / "out", validate({**CFG, "batch_size": 3}))
    assert again.read == {**run.read, "time_s": again.read["time_s"]}
    assert len(again.rejects) == len(run.rejects)
