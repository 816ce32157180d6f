"""From WARC records to HTML documents: the first step of every per-file run.

Only HTTP 200 HTML responses become documents. Every other response, and
every unreadable part of the file, is counted with a reason (``non_html``,
``http_status``, ``binary_body``, ``empty_body``, ``too_large``,
``bad_encoding``, ``malformed_*`` ...). Request, metadata and warcinfo records
are not documents and are only counted (``records_other``).
"""

from __future__ import annotations

import codecs
import logging
import re
import zlib
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Iterator

import charset_normalizer

from pipeline.stage import Drop
from pipeline.warc import Malformed, Record, find_header_end, iter_records, open_input

_NON_ASCII = re.compile("[^\x00-\x7f\ufffd]")
log = logging.getLogger(__name__)
HTML_TYPES = ("text/html", "application/xhtml+xml")
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]{1,40})""", re.I)
_BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"PK\x03\x04", b"\x1f\x8b", b"RIFF", b"\x00\x00\x01\x00")

# Columns every document starts with; stages add theirs.
DOC_FIELDS = ("id", "url", "date", "warc_file", "warc_record_id", "warc_offset", "charset", "html")


@dataclass
class ReadParams:
    max_html_bytes: int = 5_000_000  # CommonCrawl itself truncates payloads at 1 MiB
    max_replacement_ratio: float = 0.01  # share of U+FFFD after decoding above which a page is dropped


def shard_name(path: str) -> str:
    """Output shard name for an input file: its base name without .warc[.gz]."""
    name = PurePosixPath(path.split("?")[0]).name
    for suffix in (".gz", ".warc", ".arc"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name


def read_documents(path: str, params: ReadParams) -> Iterator[tuple[dict, Drop | None]]:
    """Yield ``(row, drop)`` for every response record and unreadable part of ``path``.

    ``row`` holds the lineage columns of DOC_FIELDS (``html`` is the decoded page, or
    None when dropped). Non-response records are yielded as ``({"other": 1}, None)`` so
    the caller can count them.
    """
    name = shard_name(path)
    with open_input(path) as f:
        for ordinal, item in enumerate(iter_records(f)):
            if isinstance(item, Malformed):
                log.warning("%s: skipped unreadable part at byte %d: %s %s", name, item.offset, item.reason,
                            item.detail)
                row = _row(name, ordinal, item.offset, None, "", "")
                yield row, Drop(f"malformed_{item.reason}")
                continue
            if item.type != "response":
                yield {"other": 1}, None
                continue
            url = item.headers.get("warc-target-uri", "").strip("<>")
            row = _row(name, ordinal, item.offset, url, item.headers.get("warc-record-id", ""), _date(item))
            row["bytes"] = len(item.block)
            drop = _to_html(item, row, params)
            yield row, drop


def _row(name: str, ordinal: int, offset: int, url, record_id: str, date: str) -> dict:
    return {
        "id": f"{name}/{ordinal}",
        "url": url,
        "date": date,
        "warc_file": name,
        "warc_record_id": record_id,
        "warc_offset": offset,
        "charset": None,
        "html": None,
    }


def _date(rec: Record) -> str:
    return rec.headers.get("warc-date", "")


def _to_html(rec: Record, row: dict, p: ReadParams) -> Drop | None:
    """Parse the HTTP response in ``rec`` and fill ``row['html']``; return a Drop if it is not a usable page."""
    if not rec.headers.get("content-type", "application/http").startswith("application/http"):
        return Drop("not_http")  # e.g. dns: records in old Heritrix files
    block = rec.block
    end, sep = find_header_end(block)
    if end < 0 or not block.startswith(b"HTTP/"):
        return Drop("malformed_http")
    lines = block[:end].decode("latin-1").splitlines()
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        return Drop("malformed_http")
    if status != 200:
        return Drop("http_status", status)
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    ctype = headers.get("content-type", "")
    mime = ctype.split(";")[0].strip().lower()
    if mime and mime not in HTML_TYPES:
        return Drop("non_html")
    body = block[end + sep :]
    try:
        body = _decode_transfer(body, headers, p.max_html_bytes)
    except (ValueError, OSError, EOFError, zlib.error):
        return Drop("bad_content_encoding")
    if not body.strip():
        return Drop("empty_body")
    if len(body) > p.max_html_bytes:
        return Drop("too_large", len(body))
    if _looks_binary(body):
        return Drop("binary_body")
    html, charset, bad = _decode(body, ctype)
    if bad > p.max_replacement_ratio:
        return Drop("bad_encoding", bad)
    row["html"], row["charset"] = html, charset
    return None


def _decode_transfer(body: bytes, headers: dict, limit: int) -> bytes:
    """Undo chunked transfer and gzip/deflate content encodings (CommonCrawl already does; older crawls don't)."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _dechunk(body)
    enc = headers.get("content-encoding", "").lower()
    if enc in ("gzip", "x-gzip") and body[:2] == b"\x1f\x8b":
        body = _inflate(body, 31, limit)
    elif enc == "deflate":
        try:
            body = _inflate(body, zlib.MAX_WBITS, limit)
        except zlib.error:
            body = _inflate(body, -zlib.MAX_WBITS, limit)
    return body


def _inflate(data: bytes, wbits: int, limit: int) -> bytes:
    """Decompress at most ``limit + 1`` bytes (a compression bomb stops there and is dropped as too_large)."""
    return zlib.decompressobj(wbits).decompress(data, limit + 1)


def _dechunk(body: bytes) -> bytes:
    out, pos = bytearray(), 0
    while True:
        nl = body.find(b"\r\n", pos)
        if nl < 0:
            return bytes(out) if out else body  # not actually chunked
        try:
            size = int(body[pos:nl].split(b";")[0], 16)
        except ValueError:
            return bytes(out) if out else body
        if size == 0:
            return bytes(out)
        out += body[nl + 2 : nl + 2 + size]
        pos = nl + 2 + size + 2


def _looks_binary(body: bytes) -> bool:
    """Binary payloads served as text/html: known file signatures or many control bytes."""
    head = body[:4096].lstrip()
    if head.startswith(_BINARY_MAGIC):
        return True
    controls = sum(1 for c in head if c < 9 or 13 < c < 32)
    return controls > 0.05 * max(len(head), 1)


def _decode(body: bytes, content_type: str) -> tuple[str, str, float]:
    """Decode with the declared charset (HTTP header, then <meta>), else UTF-8, else detection.

    Returns the text, the charset used and the share of replacement characters.
    """
    for declared in (_http_charset(content_type), _meta_charset(body)):
        codec = _codec(declared)
        if codec:
            text = body.decode(codec, "replace")
            bad = text.count("\ufffd") / max(len(text), 1)
            if bad == 0 or codec != "utf-8":
                return text, codec, bad
            break  # declared UTF-8 but is not: damaged UTF-8, or a legacy charset (below)
    try:
        return body.decode("utf-8"), "utf-8", 0.0
    except UnicodeDecodeError:
        pass
    # Mostly valid UTF-8 (a few stray bytes, or a payload cut mid-character): keep it, with U+FFFD for the
    # bad bytes, rather than reading every multi-byte character as mojibake in a detected legacy charset.
    text = body.decode("utf-8", "replace")
    n_bad = text.count("\ufffd")
    n_ok = len(_NON_ASCII.findall(text))
    if n_ok and n_ok >= n_bad:
        return text, "utf-8", n_bad / max(len(text), 1)
    best = charset_normalizer.from_bytes(body[:200_000]).best()
    codec = _codec(best.encoding) if best else None
    if not codec:
        text = body.decode("utf-8", "replace")
        return text, "utf-8", text.count("\ufffd") / max(len(text), 1)
    text = body.decode(codec, "replace")
    return text, codec, text.count("\ufffd") / max(len(text), 1)


def _http_charset(content_type: str) -> str | None:
    m = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", content_type, re.I)
    return m.group(1) if m else None


def _meta_charset(body: bytes) -> str | None:
    m = _META_CHARSET.search(body[:8192])
    if not m:
        return None
    name = m.group(1).decode("ascii")
    # WHATWG prescan: a <meta> found by reading the bytes as ASCII cannot be UTF-16/32; it means UTF-8.
    return "utf-8" if name.lower().replace("_", "-").startswith(("utf-16", "utf-32", "ucs-2", "unicode")) else name


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    # Browsers read these labels as their supersets (WHATWG encoding standard).
    return {"ascii": "cp1252", "latin-1": "cp1252", "iso8859-1": "cp1252", "gb2312": "gb18030", "gbk": "gb18030"}.get(
        codec, codec
    )
