"""Get a small sample of CommonCrawl WARC files to run the pipeline on.

Two ways, tried in this order:

1. **Copy** from a local folder (``--source DIR``): every ``*.warc.gz`` directly
   in ``DIR`` is copied into ``--dest``. Files already there with the same size
   are skipped. Copies are real copies (never links or moves), written to a
   temporary name in ``--dest`` and renamed into place, so an interrupted copy
   never leaves a half file under the final name.

2. **Download** from a real crawl over HTTPS, when no source folder is given or
   it does not exist. The crawl's file list ``crawl-data/<CRAWL>/warc.paths.gz``
   is fetched from ``--base-url`` (default ``https://data.commoncrawl.org/``);
   the first ``--segments`` distinct segments, in the order the list names them,
   are chosen, and the first ``--files-per-segment`` WARC files of each are
   downloaded. Each download

   * streams in chunks (constant memory) behind a byte progress bar;
   * is retried with exponential backoff on connection errors and on HTTP 429
     and 5xx (CommonCrawl throttles with 503), honouring ``Retry-After``;
   * is written to ``<name>.part`` and resumed from there with an HTTP range
     request where the server allows it, then renamed into place;
   * is skipped when the final file is already there with the size the server
     reports (``Content-Length``);
   * is read through gzip to the end before the rename, so a truncated or
     corrupt file fails loudly and never lands under its final name.

Only the standard library is used for HTTP (``urllib.request``).

Usage::

    python -m pipeline.sample --dest data/sample --source ../shared/crawl/sample
    python -m pipeline.sample --dest data/sample --crawl CC-MAIN-2024-22 --segments 2 --files-per-segment 3

or from Python: ``fetch_sample("data/sample", crawl="CC-MAIN-2024-22")``.
"""

from __future__ import annotations

import argparse
import email.utils
import gzip
import http.client
import os
import random
import re
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

from tqdm import tqdm

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_CRAWL",
    "SampleError",
    "copy_sample",
    "download_sample",
    "fetch_sample",
    "main",
    "select_paths",
]

DEFAULT_BASE_URL = "https://data.commoncrawl.org/"
DEFAULT_CRAWL = "CC-MAIN-2024-22"

DEFAULT_RETRIES = 5          # attempts per request, the first included
DEFAULT_BACKOFF = 1.0        # seconds before the 2nd attempt; doubles each time
DEFAULT_TIMEOUT = 60.0       # socket timeout per connect / read, seconds
MAX_RETRY_WAIT = 300.0       # never sleep longer than this, whatever Retry-After says
CHUNK = 1 << 20              # 1 MiB per read when streaming
USER_AGENT = "curate-sample/0.1 (pre-training data curation; python urllib)"

RETRY_STATUS = frozenset({429}) | frozenset(range(500, 600))

_CRAWL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class SampleError(RuntimeError):
    """A failure with a message meant for the user (printed by ``main`` as ``error: ...``)."""


class _Unreachable(SampleError):
    """No HTTP response at all after every attempt: the host could not be reached."""


# --------------------------------------------------------------------------- entry point


def fetch_sample(
    dest: str | os.PathLike,
    source: str | os.PathLike | None = None,
    crawl: str = DEFAULT_CRAWL,
    segments: int = 1,
    files_per_segment: int = 1,
    base_url: str = DEFAULT_BASE_URL,
    *,
    retries: int = DEFAULT_RETRIES,
    backoff: float = DEFAULT_BACKOFF,
    timeout: float = DEFAULT_TIMEOUT,
    progress: bool = True,
    verify: bool = True,
    log: Callable[[str], None] = print,
) -> list[Path]:
    """Fill ``dest`` with sample ``*.warc.gz`` files; return their paths in ``dest``.

    If ``source`` names an existing folder its ``*.warc.gz`` files are copied;
    otherwise (``source`` is None or missing) files are downloaded from
    ``base_url`` as described in the module docstring. Raises ``SampleError``
    with a user-facing message on any failure.
    """
    dest = Path(dest)
    if source is not None:
        src = Path(source)
        if src.is_dir():
            return copy_sample(src, dest, log=log)
        if src.exists():
            raise SampleError(f"--source {src} is not a folder")
        log(f"source folder {src} does not exist; downloading from {base_url} instead")
    return download_sample(
        dest,
        crawl=crawl,
        segments=segments,
        files_per_segment=files_per_segment,
        base_url=base_url,
        retries=retries,
        backoff=backoff,
        timeout=timeout,
        progress=progress,
        verify=verify,
        log=log,
    )


# --------------------------------------------------------------------------- copy mode


def copy_sample(source: Path, dest: Path, *, log: Callable[[str], None] = print) -> list[Path]:
    """Copy every ``*.warc.gz`` directly in ``source`` into ``dest`` (skip same-size files)."""
    source, dest = Path(source), Path(dest)
    files = sorted(p for p in source.glob("*.warc.gz") if p.is_file())
    if not files:
        raise SampleError(f"no *.warc.gz files in source folder {source}")
    dest.mkdir(parents=True, exist_ok=True)
    if source.resolve() == dest.resolve():
        raise SampleError(f"source and destination are the same folder: {source}")

    out: list[Path] = []
    copied = skipped = 0
    for src in files:
        dst = dest / src.name
        size = src.stat().st_size
        if not dst.is_symlink() and dst.is_file() and dst.stat().st_size == size:
            skipped += 1
        else:
            _atomic_copy(src, dst)
            copied += 1
            log(f"copied {src} -> {dst} ({_fmt_size(size)})")
        out.append(dst)
    log(f"{copied} copied, {skipped} already present (same size) in {dest}, from {source}")
    return out


def _atomic_copy(src: Path, dst: Path) -> None:
    """Copy bytes of ``src`` to a temp file next to ``dst``, then rename it onto ``dst``."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
            shutil.copyfileobj(inp, out, CHUNK)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)  # the source may be read-only; the copy should not be
        st = src.stat()
        os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------- download mode


def select_paths(paths: Sequence[str], segments: int, files_per_segment: int) -> list[str]:
    """The first ``files_per_segment`` paths of each of the first ``segments`` segments.

    Segments are taken in order of first appearance in ``paths``; so are the
    files within a segment. A path's segment is the component after
    ``segments/`` (``crawl-data/CC-MAIN-2024-22/segments/<SEGMENT>/warc/...``).
    """
    if segments < 1 or files_per_segment < 1:
        raise ValueError("segments and files_per_segment must be >= 1")
    chosen: dict[str, list[str]] = {}
    for path in paths:
        parts = path.split("/")
        try:
            seg = parts[parts.index("segments") + 1]
        except (ValueError, IndexError):
            seg = "/".join(parts[:-1])  # unusual layout: group by folder
        if seg not in chosen:
            if len(chosen) == segments:
                continue
            chosen[seg] = []
        if len(chosen[seg]) < files_per_segment:
            chosen[seg].append(path)
    return [p for files in chosen.values() for p in files]


def download_sample(
    dest: str | os.PathLike,
    crawl: str = DEFAULT_CRAWL,
    segments: int = 1,
    files_per_segment: int = 1,
    base_url: str = DEFAULT_BASE_URL,
    *,
    retries: int = DEFAULT_RETRIES,
    backoff: float = DEFAULT_BACKOFF,
    timeout: float = DEFAULT_TIMEOUT,
    progress: bool = True,
    verify: bool = True,
    log: Callable[[str], None] = print,
) -> list[Path]:
    """Download ``segments`` x ``files_per_segment`` WARC files of ``crawl`` into ``dest``."""
    if segments < 1 or files_per_segment < 1:
        raise SampleError("--segments and --files-per-segment must be at least 1")
    if not _CRAWL_RE.match(crawl):
        raise SampleError(f"invalid crawl name {crawl!r} (expected something like {DEFAULT_CRAWL})")
    client = _Client(base_url, retries=retries, backoff=backoff, timeout=timeout, log=log)
    dest = Path(dest)

    listing_rel = f"crawl-data/{crawl}/warc.paths.gz"
    try:
        raw = client.get_bytes(listing_rel)
    except _HTTPStatus as e:
        if e.status == 404:
            raise SampleError(
                f"unknown crawl name {crawl!r}: {client.url(listing_rel)} does not exist (HTTP 404). "
                "See https://commoncrawl.org/overview for crawl names such as CC-MAIN-2024-22."
            ) from None
        raise SampleError(f"could not fetch the file list of crawl {crawl}: {e}") from None
    try:
        text = gzip.decompress(raw).decode("utf-8")
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as e:
        raise SampleError(f"{client.url(listing_rel)} is not a valid gzip-compressed path list: {e}") from None
    paths = [line.strip() for line in text.splitlines() if line.strip()]
    if not paths:
        raise SampleError(f"the file list of crawl {crawl} ({client.url(listing_rel)}) is empty")

    chosen = select_paths(paths, segments, files_per_segment)
    n_segs = len({_segment_of(p) for p in chosen})
    if n_segs < segments:
        log(f"note: crawl {crawl} has only {n_segs} segment(s); asked for {segments}")
    log(f"crawl {crawl}: {len(chosen)} file(s) from {n_segs} segment(s) -> {dest}")

    dest.mkdir(parents=True, exist_ok=True)
    names = [p.rsplit("/", 1)[-1] for p in chosen]
    if len(set(names)) != len(names):
        raise SampleError("two selected WARC files share a file name; cannot store them in one folder")

    out: list[Path] = []
    for rel, name in zip(chosen, names):
        out.append(_download_file(client, rel, dest / name, progress=progress, verify=verify, log=log))
    return out


def _segment_of(path: str) -> str:
    parts = path.split("/")
    try:
        return parts[parts.index("segments") + 1]
    except (ValueError, IndexError):
        return "/".join(parts[:-1])


def _download_file(
    client: "_Client",
    rel: str,
    final: Path,
    *,
    progress: bool,
    verify: bool,
    log: Callable[[str], None],
) -> Path:
    url = client.url(rel)
    part = final.with_name(final.name + ".part")

    if final.is_file() and not final.is_symlink():
        expected = client.content_length(rel)
        have = final.stat().st_size
        if expected is not None and expected == have:
            log(f"skip {final.name}: already complete ({_fmt_size(have)})")
            part.unlink(missing_ok=True)
            return final
        log(f"{final.name}: local size {have} differs from server size {expected}; downloading again")

    total = client.stream_to(rel, part, progress=progress, desc=final.name)

    if verify:
        try:
            _verify_gzip(part)
        except SampleError as e:
            part.unlink(missing_ok=True)
            raise SampleError(f"downloaded {url} but it is not a complete gzip file ({e}); removed it") from None
    os.replace(part, final)
    log(f"downloaded {final.name} ({_fmt_size(total)})")
    return final


def _verify_gzip(path: Path) -> None:
    """Read ``path`` through gzip to the end; raise ``SampleError`` if truncated or corrupt."""
    try:
        with gzip.open(path, "rb") as f:
            while f.read(CHUNK * 4):
                pass
    except EOFError as e:
        raise SampleError(f"truncated: {e}") from None
    except (OSError, zlib.error) as e:  # gzip.BadGzipFile is an OSError; CRC/length errors too
        raise SampleError(f"corrupt: {e}") from None


# --------------------------------------------------------------------------- HTTP with retries


class _HTTPStatus(Exception):
    """A non-retryable (or retries exhausted) HTTP error status."""

    def __init__(self, status: int, url: str, reason: str = ""):
        super().__init__(f"HTTP {status} {reason} for {url}".replace("  ", " "))
        self.status = status
        self.url = url


class _Retry(Exception):
    """Internal: this attempt failed in a retryable way."""

    def __init__(self, why: str, wait: float | None = None, connection: bool = False):
        super().__init__(why)
        self.wait = wait
        self.connection = connection


@dataclass
class _Client:
    base_url: str
    retries: int = DEFAULT_RETRIES
    backoff: float = DEFAULT_BACKOFF
    timeout: float = DEFAULT_TIMEOUT
    log: Callable[[str], None] = print

    def __post_init__(self) -> None:
        parsed = urllib.parse.urlsplit(self.base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise SampleError(f"--base-url must be an http(s) URL, got {self.base_url!r}")
        if not self.base_url.endswith("/"):
            self.base_url += "/"
        self.retries = max(1, int(self.retries))

    def url(self, rel: str) -> str:
        return self.base_url + urllib.parse.quote(rel.lstrip("/"))

    # -- the retry loop

    def _with_retries(self, what: str, attempt_fn):
        last: _Retry | None = None
        only_connection_errors = True
        for attempt in range(1, self.retries + 1):
            try:
                return attempt_fn()
            except _Retry as r:
                last = r
                only_connection_errors &= r.connection
                if attempt == self.retries:
                    break
                wait = r.wait if r.wait is not None else self.backoff * 2 ** (attempt - 1)
                wait = min(max(wait, 0.0), MAX_RETRY_WAIT)
                if r.wait is None and wait > 0:
                    wait *= 1 + 0.1 * random.random()  # a little jitter
                self.log(f"{what}: {r}; retry {attempt}/{self.retries - 1} in {wait:.1f}s")
                time.sleep(wait)
        assert last is not None
        if only_connection_errors:
            host = urllib.parse.urlsplit(self.base_url).netloc
            raise _Unreachable(
                f"network unreachable (or {host} is down): no connection after {self.retries} attempt(s) "
                f"({last}). Check network access, or copy a local sample with --source DIR."
            )
        raise SampleError(f"{what}: giving up after {self.retries} attempt(s); last error: {last}")

    def _open(self, rel: str, method: str = "GET", headers: dict[str, str] | None = None):
        """One attempt at opening ``rel``; HTTP errors are sorted into retry / fatal."""
        url = self.url(rel)
        req = urllib.request.Request(url, method=method, headers={"User-Agent": USER_AGENT, **(headers or {})})
        try:
            return urllib.request.urlopen(req, timeout=self.timeout)
        except urllib.error.HTTPError as e:
            status = e.code
            retry_after = _parse_retry_after(e.headers.get("Retry-After") if e.headers else None)
            e.close()
            if status in RETRY_STATUS:
                raise _Retry(f"HTTP {status} {e.reason or ''}".rstrip(), wait=retry_after) from None
            raise _HTTPStatus(status, url, e.reason or "") from None
        except urllib.error.URLError as e:
            raise _Retry(f"cannot connect: {e.reason}", connection=True) from None
        except (OSError, http.client.HTTPException) as e:
            raise _Retry(f"connection error: {e!r}", connection=True) from None

    # -- operations

    def get_bytes(self, rel: str) -> bytes:
        """GET a small object whole (the path list)."""

        def attempt() -> bytes:
            with self._open(rel) as resp:
                try:
                    return resp.read()
                except (OSError, http.client.HTTPException) as e:
                    raise _Retry(f"transfer broke off: {e!r}") from None

        return self._with_retries(f"GET {self.url(rel)}", attempt)

    def content_length(self, rel: str) -> int | None:
        """Size the server reports for ``rel`` (HEAD), or None if it does not say."""

        def attempt() -> int | None:
            with self._open(rel, method="HEAD") as resp:
                return _int_or_none(resp.headers.get("Content-Length"))

        try:
            return self._with_retries(f"HEAD {self.url(rel)}", attempt)
        except _HTTPStatus as e:
            raise SampleError(f"cannot check {e.url}: {e}") from None

    def stream_to(self, rel: str, part: Path, *, progress: bool, desc: str) -> int:
        """Stream ``rel`` into ``part`` (resuming it if present); return the total size.

        Retries cover both failing to connect and a transfer that breaks off
        part-way (each retry resumes from the bytes already in ``part`` when the
        server honours ranges). Raises ``SampleError`` when retries run out.
        """
        url = self.url(rel)
        bar: tqdm | None = None

        def attempt() -> int:
            nonlocal bar
            have = part.stat().st_size if part.exists() else 0
            headers = {"Range": f"bytes={have}-"} if have else {}
            try:
                resp = self._open(rel, headers=headers)
            except _HTTPStatus as e:
                if e.status == 416 and have:  # our .part is already whole (or bogus): start over
                    part.unlink(missing_ok=True)
                    raise _Retry("range not satisfiable; restarting from byte 0", wait=0) from None
                raise
            with resp:
                length = _int_or_none(resp.headers.get("Content-Length"))
                if resp.status == 206:
                    offset = _range_start(resp.headers.get("Content-Range"))
                    if offset != have:
                        part.unlink(missing_ok=True)
                        raise _Retry("server sent an unexpected range; restarting from byte 0", wait=0)
                    mode = "ab"
                else:  # 200: whole body, start from scratch
                    offset, mode = 0, "wb"
                total = offset + length if length is not None else None
                if bar is None:
                    bar = tqdm(
                        total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
                        desc=desc, disable=not progress, leave=True, dynamic_ncols=True,
                    )
                else:
                    bar.reset(total=total)
                    bar.update(offset)
                written = offset
                with open(part, mode) as f:
                    while True:
                        try:
                            chunk = resp.read(CHUNK)
                        except (OSError, http.client.HTTPException) as e:
                            raise _Retry(
                                f"transfer broke off after {written} of {total or '?'} bytes: {e!r}",
                                connection=False,
                            ) from None
                        if not chunk:
                            break
                        f.write(chunk)
                        written += len(chunk)
                        bar.update(len(chunk))
                if total is not None and written != total:
                    raise _Retry(f"transfer broke off: connection closed after {written} of {total} bytes")
                return written

        try:
            return self._with_retries(f"download {url}", attempt)
        except _HTTPStatus as e:
            part.unlink(missing_ok=True)
            raise SampleError(f"cannot download {e.url}: {e}") from None
        except SampleError as e:
            kept = part.exists() and part.stat().st_size > 0
            hint = f". The partial file {part} is kept; run again to resume." if kept else ""
            raise SampleError(f"{e}{hint}") from None
        finally:
            if bar is not None:
                bar.close()


def _parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: either a number or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _range_start(content_range: str | None) -> int | None:
    m = re.match(r"\s*bytes\s+(\d+)-\d+/(?:\d+|\*)", content_range or "")
    return int(m.group(1)) if m else None


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _fmt_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


# --------------------------------------------------------------------------- CLI


def _positive_int(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {s!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m pipeline.sample",
        description=(
            "Put a small sample of CommonCrawl WARC files (*.warc.gz) into DEST.\n\n"
            "If --source names an existing folder, its *.warc.gz files are copied\n"
            "(files already in DEST with the same size are skipped). Otherwise files\n"
            "are downloaded from a real crawl: crawl-data/CRAWL/warc.paths.gz is fetched\n"
            "from --base-url, and the first --files-per-segment files of each of the\n"
            "first --segments segments are downloaded, with retries (HTTP 429/5xx and\n"
            "connection errors, exponential backoff, Retry-After honoured), resume from\n"
            "<name>.part, and a gzip completeness check before the final rename."
        ),
        epilog=(
            "examples:\n"
            "  python -m pipeline.sample --dest data/sample --source ../shared/crawl/sample\n"
            "  python -m pipeline.sample --dest data/sample --crawl CC-MAIN-2024-22 --segments 2 --files-per-segment 2\n"
            "\n"
            "A CommonCrawl WARC file is about 1 GiB compressed; each download is verified\n"
            "by decompressing it to the end before it is given its final name."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--dest", required=True, type=Path, help="folder to put the *.warc.gz files in (created if missing)")
    p.add_argument(
        "--source", type=Path, default=None,
        help="local folder of *.warc.gz files to copy from; if missing, the files are downloaded instead",
    )
    p.add_argument("--crawl", default=DEFAULT_CRAWL, help=f"crawl name to download from (default: {DEFAULT_CRAWL})")
    p.add_argument("--segments", type=_positive_int, default=1, help="number of distinct segments to take (default: 1)")
    p.add_argument(
        "--files-per-segment", type=_positive_int, default=1, help="WARC files to take per segment (default: 1)"
    )
    p.add_argument("--base-url", default=DEFAULT_BASE_URL, help=f"where the crawl is served (default: {DEFAULT_BASE_URL})")
    p.add_argument(
        "--retries", type=_positive_int, default=DEFAULT_RETRIES,
        help=f"attempts per request, on connection errors and HTTP 429/5xx (default: {DEFAULT_RETRIES})",
    )
    p.add_argument(
        "--backoff", type=float, default=DEFAULT_BACKOFF,
        help=f"seconds before the first retry, doubled after each (default: {DEFAULT_BACKOFF}); "
        "a Retry-After header from the server takes precedence",
    )
    p.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, help=f"socket timeout in seconds (default: {DEFAULT_TIMEOUT:g})"
    )
    p.add_argument("--no-progress", action="store_true", help="do not show progress bars")
    p.add_argument("--no-verify", action="store_true", help="skip decompressing each download to check it is complete")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        files = fetch_sample(
            args.dest,
            source=args.source,
            crawl=args.crawl,
            segments=args.segments,
            files_per_segment=args.files_per_segment,
            base_url=args.base_url,
            retries=args.retries,
            backoff=args.backoff,
            timeout=args.timeout,
            progress=not args.no_progress,
            verify=not args.no_verify,
        )
    except SampleError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    print(f"{len(files)} WARC file(s) in {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
