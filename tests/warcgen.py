"""Synthetic WARC files for tests, with hooks to damage them.

Build records with ``http_response`` / ``warc_record`` (or the shortcuts
``page``, ``request``, ``metadata``, ``warcinfo``), add them to a
``WarcBuilder`` and write it gzip-per-record (the CommonCrawl layout),
whole-file gzip, or uncompressed::

    w = WarcBuilder("record")
    for i in range(5):
        w.add(page(i))
    w.raw(b"garbage between members")         # written verbatim, never compressed
    i = w.add(page(5))
    w.mutate(i, lambda member: flip(member, len(member) // 2))   # damage the encoded member
    data = w.build()                          # bytes; w.spans[i] = (start, end) of part i in them
    path = w.write(tmp_path / "x.warc.gz", truncate=w.spans[i][0] + 50)

Records are WARC/1.0 by default; ``version="1.1"`` or ``"0.18"`` change the
version line, ``lf_only=True`` writes LF line ends (as some 0.18-era writers
did), ``content_length=`` lies about the block length (``None`` omits the
header, a string writes it verbatim) and ``blank_line=False`` leaves out the
blank line between headers and block. Everything is deterministic (gzip
mtime 0, seeded random bytes), so a test's expected counts never flake.
"""

from __future__ import annotations

import gzip
import hashlib
import random
import zlib
from pathlib import Path
from typing import Callable, Iterable

_UNSET = object()
DATE = "2024-05-20T12:00:00Z"

# ~120 distinct English words so that pages differ and read as natural text.
_WORDS = (
    "the river flows through a quiet valley where farmers grow wheat and barley every summer while children "
    "play near the old stone bridge that was built more than two hundred years ago by local masons who "
    "carried heavy blocks from the quarry on the northern hill the village library keeps records of every "
    "harvest and the names of families who settled here after the long winter when snow covered the roads "
    "for months travellers still stop at the inn to rest their horses and share stories about distant "
    "cities markets festivals and the strange weather that sometimes brings storms from the western sea"
).split()


def english_text(seed: int, n_words: int = 220) -> str:
    """Deterministic English-like prose, split into sentences of 8-14 words."""
    rng = random.Random(seed)
    out, sentence = [], []
    for _ in range(n_words):
        sentence.append(rng.choice(_WORDS))
        if len(sentence) >= rng.randint(8, 14):
            out.append(" ".join(sentence).capitalize() + ".")
            sentence = []
    if sentence:
        out.append(" ".join(sentence).capitalize() + ".")
    return " ".join(out)


def html_page(seed: int, title: str | None = None, paragraphs: int = 3, text: str | None = None,
              head_extra: str = "") -> str:
    """A small, well-formed HTML article that trafilatura extracts (unique text per ``seed``)."""
    title = title or f"Notes from the valley, part {seed}"
    if text is not None:
        paras = [text]
    else:
        paras = [english_text(seed * 100 + k, 80) for k in range(paragraphs)]
    body = "\n".join(f"<p>{p}</p>" for p in paras)
    return (f"<!DOCTYPE html>\n<html><head>{head_extra}<title>{title}</title></head>\n"
            f"<body><article><h1>{title}</h1>\n{body}\n</article></body></html>\n")


def random_bytes(n: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(n)


def flip(data: bytes, at: int, n: int = 8) -> bytes:
    """``data`` with ``n`` bytes from ``at`` inverted (a corrupt stretch of a deflate stream)."""
    b = bytearray(data)
    for k in range(at, min(at + n, len(b))):
        b[k] ^= 0xFF
    return bytes(b)


def _nl(lf_only: bool) -> bytes:
    return b"\n" if lf_only else b"\r\n"


def http_response(body: bytes | str = b"", status: int = 200, reason: str | None = None,
                  content_type: str | None = "text/html; charset=utf-8",
                  headers: Iterable[tuple[str, str]] = (), content_length: bool = True,
                  lf_only: bool = False, version: str = "HTTP/1.1") -> bytes:
    """An HTTP response message: status line, headers, blank line, body (bytes, or str encoded as UTF-8).

    ``content_type=None`` omits the header; ``content_length`` adds an HTTP Content-Length
    matching the body as given; ``headers`` are added verbatim after it.
    """
    if isinstance(body, str):
        body = body.encode("utf-8")
    reason = reason if reason is not None else {200: "OK", 301: "Moved Permanently", 302: "Found",
                                                404: "Not Found", 500: "Internal Server Error"}.get(status, "X")
    nl = _nl(lf_only)
    lines = [f"{version} {status} {reason}".encode()]
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}".encode())
    if content_length:
        lines.append(f"Content-Length: {len(body)}".encode())
    lines += [f"{k}: {v}".encode("latin-1") for k, v in headers]
    return nl.join(lines) + nl + nl + body


def warc_record(block: bytes, warc_type: str = "response", url: str | None = "http://example.com/",
                version: str = "1.0", record_id: str | None = None, content_type: str | None = _UNSET,
                content_length=_UNSET, headers: Iterable[tuple[str, str]] = (), lf_only: bool = False,
                blank_line: bool = True, terminator: bool = True) -> bytes:
    """One WARC record: ``WARC/<version>`` line, named fields, blank line, block, CRLFCRLF.

    ``content_length``: default the true block length; an int (a lie), a str (written
    verbatim, e.g. ``"abc"``) or ``None`` (header omitted). ``content_type`` defaults to
    ``application/http; msgtype=<type>`` for request/response records.
    """
    nl = _nl(lf_only)
    if record_id is None:
        digest = hashlib.sha1(f"{warc_type} {url} ".encode() + block).hexdigest()
        record_id = f"<urn:uuid:{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}>"
    if content_type is _UNSET:
        content_type = (f"application/http; msgtype={warc_type}" if warc_type in ("request", "response")
                        else "application/warc-fields")
    fields = [("WARC-Type", warc_type)]
    if url is not None:
        fields.append(("WARC-Target-URI", url))
    fields += [("WARC-Date", DATE), ("WARC-Record-ID", record_id)]
    if content_type is not None:
        fields.append(("Content-Type", content_type))
    fields += list(headers)
    if content_length is _UNSET:
        content_length = len(block)
    if content_length is not None:
        fields.append(("Content-Length", str(content_length)))
    out = f"WARC/{version}".encode() + nl
    out += b"".join(f"{k}: {v}".encode("utf-8") + nl for k, v in fields)
    if blank_line:
        out += nl
    out += block
    if terminator:
        out += nl + nl
    return out


def page(seed: int, url: str | None = None, html: str | bytes | None = None, status: int = 200,
         content_type: str | None = "text/html; charset=utf-8", http_headers: Iterable[tuple[str, str]] = (),
         **record_kw) -> bytes:
    """A response record holding one HTML page (by default a unique, extractable English article)."""
    url = url or f"http://site{seed}.example.com/page/{seed}"
    body = html if html is not None else html_page(seed)
    return warc_record(http_response(body, status=status, content_type=content_type, headers=http_headers,
                                     lf_only=record_kw.get("lf_only", False)),
                       "response", url, **record_kw)


def request(url: str = "http://example.com/", **kw) -> bytes:
    block = f"GET / HTTP/1.1\r\nHost: {url.split('/')[2]}\r\nUser-Agent: warcgen\r\n\r\n".encode()
    return warc_record(block, "request", url, **kw)


def metadata(url: str = "http://example.com/", **kw) -> bytes:
    return warc_record(b"fetchTimeMs: 120\r\ncharset-detected: UTF-8\r\n", "metadata", url, **kw)


def warcinfo(**kw) -> bytes:
    block = b"software: warcgen\r\nformat: WARC File Format 1.0\r\nisPartOf: tests\r\n"
    return warc_record(block, "warcinfo", None, **kw)


def gzip_member(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def gzip_bytes(data: bytes) -> bytes:
    """``data`` gzipped as an HTTP Content-Encoding would be."""
    return gzip_member(data)


def deflate_bytes(data: bytes) -> bytes:
    return zlib.compress(data)


def chunked(data: bytes, size: int = 100) -> bytes:
    """``data`` in HTTP/1.1 chunked transfer encoding."""
    out = b""
    for i in range(0, len(data), size):
        piece = data[i : i + size]
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    return out + b"0\r\n\r\n"


class WarcBuilder:
    """Collects parts (records and raw bytes) and encodes them as one WARC file.

    ``compression``: ``"record"`` (one gzip member per record), ``"file"`` (one gzip
    member for the whole file, raw parts included) or ``"none"``.
    """

    def __init__(self, compression: str = "record"):
        if compression not in ("record", "file", "none"):
            raise ValueError(compression)
        self.compression = compression
        self.parts: list[tuple[str, bytes]] = []
        self.mutations: dict[int, Callable[[bytes], bytes]] = {}
        self.spans: list[tuple[int, int]] = []

    def add(self, record: bytes) -> int:
        """Add a record (encoded as the builder's compression says); returns its part index."""
        self.parts.append(("record", record))
        return len(self.parts) - 1

    def extend(self, records: Iterable[bytes]) -> list[int]:
        return [self.add(r) for r in records]

    def raw(self, data: bytes) -> int:
        """Add bytes written verbatim (never gzipped on their own), e.g. garbage between members."""
        self.parts.append(("raw", data))
        return len(self.parts) - 1

    def mutate(self, index: int, fn: Callable[[bytes], bytes]) -> None:
        """Damage part ``index`` after encoding (for ``"record"``: the gzip member)."""
        self.mutations[index] = fn

    def build(self) -> bytes:
        """The file's bytes; ``self.spans[i]`` is the (start, end) of part i in them
        (for ``"file"`` compression: in the uncompressed stream)."""
        out = bytearray()
        self.spans = []
        for i, (kind, data) in enumerate(self.parts):
            enc = gzip_member(data) if kind == "record" and self.compression == "record" else data
            if i in self.mutations:
                enc = self.mutations[i](enc)
            self.spans.append((len(out), len(out) + len(enc)))
            out += enc
        if self.compression == "file":
            return gzip_member(bytes(out))
        return bytes(out)

    def write(self, path: str | Path, truncate: int | None = None, prefix: bytes = b"") -> Path:
        """Write the file, optionally with ``prefix`` bytes before it and cut after ``truncate`` bytes
        of the built file (prefix not counted)."""
        data = self.build()
        if truncate is not None:
            data = data[:truncate]
        path = Path(path)
        path.write_bytes(prefix + data)
        return path


def write_warc(path: str | Path, records: Iterable[bytes], compression: str = "record") -> Path:
    """Shortcut: write ``records`` as a WARC file."""
    w = WarcBuilder(compression)
    w.extend(records)
    return w.write(path)
