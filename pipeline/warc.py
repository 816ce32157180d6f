"""Fault-tolerant WARC record reader.

Reads WARC/1.0, 1.1 and the old 0.17/0.18 variants, gzip-per-record (the
CommonCrawl layout), whole-file gzip or uncompressed, from any fsspec URL.

Why not fastwarc or warcio alone: both stop at the first bad byte. fastwarc
rejects ClueWeb09's WARC/0.18 headers ("Invalid WARC header"), warcio does
too, and neither resynchronises after garbage between gzip members, a
truncated member or a record whose Content-Length lies. A crawl of thousands
of files will contain all of these, and one bad record must cost one record,
not the rest of the file. So framing is ours: gzip members are decoded one at
a time with zlib, and a bad member or record is reported as a ``Malformed``
item (with a reason) before reading resumes at the next gzip magic or
``WARC/`` line.

Memory: one gzip member (one record in CommonCrawl files, <= a few MB) is held
at a time. A whole-file-gzipped WARC is one member and is held whole; such
files are rare and small in practice (ClueWeb09 samples), and refused above
``max_member_bytes``.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Iterator

import fsspec

GZIP_MAGIC = b"\x1f\x8b\x08"
READ_CHUNK = 1 << 16
_WARC_LINE = re.compile(rb"(?:^|\n)WARC/\d+\.\d+\r?\n")


@dataclass
class Record:
    """One WARC record: its headers (names lower-cased) and content block."""

    offset: int  # byte offset of the gzip member (or record) in the file
    version: str
    headers: dict[str, str]
    block: bytes

    @property
    def type(self) -> str:
        return self.headers.get("warc-type", "").lower()


@dataclass
class Malformed:
    """A stretch of the file that could not be read as a record."""

    offset: int
    reason: str  # truncated_gzip, corrupt_gzip, garbage, bad_warc_header, content_length_mismatch
    detail: str = ""


def open_input(path: str) -> BinaryIO:
    """Open a local path or any fsspec URL (s3://, https://, ...) for binary reading."""
    return fsspec.open(path, "rb").open()


def iter_records(fileobj: BinaryIO, max_member_bytes: int = 1 << 30) -> Iterator[Record | Malformed]:
    """Yield every record of a WARC stream, and a ``Malformed`` for every unreadable part."""
    head = fileobj.read(READ_CHUNK)
    magic, warc = head.find(GZIP_MAGIC), _WARC_LINE.search(head)
    if magic == 0 or (magic > 0 and (warc is None or magic < warc.start())):
        # gzip, possibly after leading junk (reported as garbage by _iter_gzip)
        yield from _iter_gzip(fileobj, head, max_member_bytes)
    else:
        yield from _parse_records(head + fileobj.read(), 0)


def _iter_gzip(fileobj: BinaryIO, head: bytes, max_member_bytes: int) -> Iterator[Record | Malformed]:
    buf = bytearray(head)
    pos = 0  # file offset of buf[0]
    quiet = False  # resyncing after a corrupt member: its remains are not reported again as garbage

    def fill() -> bool:
        chunk = fileobj.read(READ_CHUNK)
        buf.extend(chunk)
        return bool(chunk)

    while True:
        while len(buf) < len(GZIP_MAGIC) and fill():
            pass
        if not buf:
            return
        if not buf.startswith(GZIP_MAGIC):
            # Garbage between members: skip to the next gzip magic (which may straddle chunks).
            start = pos
            i = buf.find(GZIP_MAGIC, 1)
            while i < 0:
                drop = max(len(buf) - len(GZIP_MAGIC) + 1, 0)
                del buf[:drop]
                pos += drop
                if not fill():
                    break
                i = buf.find(GZIP_MAGIC)
            if not quiet:
                yield Malformed(start, "garbage", f"{pos + (i if i >= 0 else len(buf)) - start} bytes")
            quiet = False
            if i < 0:
                return
            del buf[:i]
            pos += i
            continue

        # Decode one member.
        member_offset = pos
        d = zlib.decompressobj(31)
        out = bytearray()
        too_large = False
        try:
            while True:
                piece = d.decompress(bytes(buf))
                if not too_large:
                    out += piece
                    if len(out) > max_member_bytes:  # keep decoding to find its end, but keep nothing
                        too_large, out = True, bytearray()
                if d.eof:
                    break
                pos += len(buf)
                del buf[:]
                if not fill():
                    break
        except zlib.error as e:
            yield Malformed(member_offset, "corrupt_gzip", str(e))
            if pos == member_offset:
                del buf[:1]
                pos += 1
            quiet = True
            continue
        if too_large:
            yield Malformed(member_offset, "member_too_large", f"> {max_member_bytes} bytes decompressed")
            if not d.eof:
                return
            consumed = len(buf) - len(d.unused_data)
            del buf[:consumed]
            pos += consumed
            continue
        if not d.eof:
            yield Malformed(member_offset, "truncated_gzip", f"{len(out)} bytes decoded before end of file")
            # Records complete inside the truncated member are still good.
            yield from (r for r in _parse_records(bytes(out), member_offset, True) if isinstance(r, Record))
            return
        yield from _parse_records(bytes(out), member_offset, fixed_offset=True)
        consumed = len(buf) - len(d.unused_data)
        del buf[:consumed]
        pos += consumed


def _parse_records(data: bytes, base: int, fixed_offset: bool = False) -> Iterator[Record | Malformed]:
    """Parse consecutive records in ``data``. Offsets are ``base`` (a gzip member) or base + position."""
    pos, n = 0, len(data)
    while True:
        while pos < n and data[pos] in b"\r\n":
            pos += 1
        if pos >= n:
            return
        here = base if fixed_offset else base + pos
        if not data.startswith(b"WARC/", pos):
            nxt = _next_warc_line(data, pos)
            yield Malformed(here, "garbage", f"{(nxt if nxt >= 0 else n) - pos} bytes")
            if nxt < 0:
                return
            pos = nxt
            continue
        hdr_end, sep = find_header_end(data, pos)
        if hdr_end < 0:
            yield Malformed(here, "bad_warc_header", "no end of headers")
            return
        lines = data[pos:hdr_end].decode("utf-8", "replace").splitlines()
        version = lines[0].strip()
        headers = {}
        stray = None
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if colon:
                headers.setdefault(name.strip().lower(), value.strip())
            elif line.strip() and not line[:1].isspace():
                stray = line  # not a named field (nor a continuation line): e.g. no blank line before the block
        body_start = hdr_end + sep
        if stray is not None:
            yield Malformed(here, "bad_warc_header", f"line without ':' in the headers: {stray[:40]!r}")
            pos = _resync(data, body_start)
            if pos < 0:
                return
            continue
        try:
            length = int(headers["content-length"])
            if length < 0:
                raise ValueError
        except (KeyError, ValueError):
            yield Malformed(here, "bad_warc_header", "missing or invalid Content-Length")
            pos = _resync(data, body_start)
            if pos < 0:
                return
            continue
        body_end = body_start + length
        if body_end > n or not _ends_cleanly(data, body_end):
            # Content-Length lies: skip this record, resume at the next record header after its headers.
            yield Malformed(here, "content_length_mismatch", f"Content-Length {length}, {n - body_start} bytes follow")
            pos = _resync(data, body_start)
            if pos < 0:
                return
            continue
        yield Record(here, version, headers, data[body_start:body_end])
        pos = body_end


def find_header_end(data: bytes, pos: int = 0) -> tuple[int, int]:
    """Position of the blank line ending WARC or HTTP headers, and its length (CRLF or LF files)."""
    a = data.find(b"\r\n\r\n", pos)
    b = data.find(b"\n\n", pos)
    if a >= 0 and (b < 0 or a <= b):
        return a, 4
    if b >= 0:
        return b, 2
    return -1, 0


def _ends_cleanly(data: bytes, end: int) -> bool:
    """After a record's block: only newlines, then end of data or the next ``WARC/`` line."""
    i = end
    while i < len(data) and i < end + 4 and data[i] in b"\r\n":
        i += 1
    return i >= len(data) or data.startswith(b"WARC/", i) or data.startswith((b"\r\n\r\n", b"\n\n"), end)


def _next_warc_line(data: bytes, pos: int) -> int:
    m = _WARC_LINE.search(data, pos + 1)
    if not m:
        return -1
    return m.start() + (1 if data[m.start()] == 0x0A else 0)


def _resync(data: bytes, pos: int) -> int:
    return _next_warc_line(data, pos - 1)
