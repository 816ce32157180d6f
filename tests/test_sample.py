"""Tests for pipeline.sample: copy mode, and download mode against a local HTTP server.

The server is a ``ThreadingHTTPServer`` on 127.0.0.1 (port 0) serving a tmp
folder laid out like data.commoncrawl.org; a few switches make it answer 503,
cut bodies short, or honour Range requests, to exercise retries and resume.
Nothing leaves the loopback interface.
"""

from __future__ import annotations

import gzip
import http.server
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from pipeline import sample
from pipeline.sample import SampleError, fetch_sample, main, select_paths

CRAWL = "CC-MAIN-2099-01"
SEGMENTS = ["1700000000000.11", "1700000000000.22", "1700000000000.33"]
FILES_PER_SEG = 3


def _warc_bytes(tag: str, n_records: int = 3) -> bytes:
    """A small multi-member gzip, like a real WARC (one gzip member per record)."""
    out = b""
    for i in range(n_records):
        body = f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:{tag}:{i}>\r\n\r\n".encode()
        body += (f"payload {tag} {i} " * 2000).encode()
        out += gzip.compress(body)
    return out


def _rel(seg: str, j: int) -> str:
    return f"crawl-data/{CRAWL}/segments/{seg}/warc/CC-MAIN-2099{seg[-2:]}-{j:05d}.warc.gz"


# --------------------------------------------------------------------------- local server


class _Server:
    """Serves ``root`` on 127.0.0.1 with switchable misbehaviour, and records requests."""

    def __init__(self, root: Path):
        self.root = root
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, Range header)
        self.fail_503: dict[str, int] = {}   # url path -> how many more 503s to send
        self.truncate: dict[str, int] = {}   # url path -> how many more short bodies to send
        self.ranges = False                  # honour "Range: bytes=N-"
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a, **kw):
                super().__init__(*a, directory=str(server.root), **kw)

            def log_message(self, *a):  # keep test output clean
                pass

            def _misbehave(self) -> bool:
                path = self.path.split("?")[0]
                server.requests.append((self.command, path, self.headers.get("Range")))
                if server.fail_503.get(path, 0) > 0:
                    server.fail_503[path] -= 1
                    self.send_response(503, "Slow Down")
                    self.send_header("Retry-After", "0")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return True
                return False

            def do_HEAD(self):
                if not self._misbehave():
                    super().do_HEAD()

            def do_GET(self):
                if self._misbehave():
                    return
                path = self.path.split("?")[0]
                file = server.root / path.lstrip("/")
                if not file.is_file():
                    return super().do_GET()  # 404 etc.
                data = file.read_bytes()
                start = 0
                rng = self.headers.get("Range")
                if server.ranges and rng and rng.startswith("bytes=") and rng.endswith("-"):
                    start = int(rng[len("bytes="):-1])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.truncate.get(path, 0) > 0:
                    server.truncate[path] -= 1
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def gets(self, suffix: str = ".warc.gz") -> list[str]:
        return [p for m, p, _ in self.requests if m == "GET" and p.endswith(suffix)]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def crawl_root(tmp_path: Path) -> Path:
    """A tmp folder laid out like data.commoncrawl.org for CRAWL (3 segments x 3 files)."""
    root = tmp_path / "www"
    paths = []
    for seg in SEGMENTS:
        for j in range(FILES_PER_SEG):
            rel = _rel(seg, j)
            f = root / rel
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_bytes(_warc_bytes(f"{seg}-{j}"))
            paths.append(rel)
    # Interleave the listing a little: segment order is by first appearance.
    listing = "\n".join(paths) + "\n"
    (root / f"crawl-data/{CRAWL}/warc.paths.gz").write_bytes(gzip.compress(listing.encode()))
    return root


@pytest.fixture
def server(crawl_root: Path):
    with _Server(crawl_root) as s:
        yield s


def _kw(server: _Server, **extra):
    kw = dict(crawl=CRAWL, base_url=server.url, backoff=0.01, timeout=5, progress=False, log=lambda m: None)
    kw.update(extra)
    return kw


# --------------------------------------------------------------------------- copy mode


def _make_source(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.warc.gz").write_bytes(_warc_bytes("a"))
    (src / "b.warc.gz").write_bytes(_warc_bytes("b", 5))
    (src / "notes.txt").write_text("not a warc")
    return src


def test_copy_mode_copies_then_skips(tmp_path: Path):
    src = _make_source(tmp_path)
    dest = tmp_path / "dest"
    msgs: list[str] = []

    out = fetch_sample(dest, source=src, log=msgs.append)
    assert [p.name for p in out] == ["a.warc.gz", "b.warc.gz"]
    for p in out:
        assert p.parent == dest
        assert not p.is_symlink()
        assert p.read_bytes() == (src / p.name).read_bytes()
    assert (src / "a.warc.gz").exists()  # copied, not moved
    assert not (dest / "notes.txt").exists()
    assert sorted(os.listdir(dest)) == ["a.warc.gz", "b.warc.gz"]  # no temp files left
    assert any("2 copied, 0 already present" in m for m in msgs)

    mtimes = {p.name: p.stat().st_mtime_ns for p in out}
    msgs.clear()
    out2 = fetch_sample(dest, source=src, log=msgs.append)
    assert out2 == out
    assert {p.name: p.stat().st_mtime_ns for p in out2} == mtimes
    assert any("0 copied, 2 already present" in m for m in msgs)


def test_copy_mode_recopies_wrong_size_and_replaces_symlink(tmp_path: Path):
    src = _make_source(tmp_path)
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "a.warc.gz").write_bytes(b"short")
    (dest / "b.warc.gz").symlink_to(src / "b.warc.gz")

    fetch_sample(dest, source=src, log=lambda m: None)
    assert (dest / "a.warc.gz").read_bytes() == (src / "a.warc.gz").read_bytes()
    assert not (dest / "b.warc.gz").is_symlink()
    assert (dest / "b.warc.gz").read_bytes() == (src / "b.warc.gz").read_bytes()


def test_copy_mode_read_only_source_gives_writable_copy(tmp_path: Path):
    src = _make_source(tmp_path)
    for f in src.iterdir():
        f.chmod(0o444)
    out = fetch_sample(tmp_path / "dest", source=src, log=lambda m: None)
    assert all(os.access(p, os.W_OK) for p in out)


def test_copy_mode_empty_source_is_an_error(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SampleError, match="no \\*.warc.gz files"):
        fetch_sample(tmp_path / "dest", source=tmp_path / "empty", log=lambda m: None)


def test_cli_copy_mode(tmp_path: Path, capsys):
    src = _make_source(tmp_path)
    rc = main(["--dest", str(tmp_path / "dest"), "--source", str(src), "--no-progress"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "copied" in out and "2 WARC file(s)" in out
    assert (tmp_path / "dest" / "a.warc.gz").read_bytes() == (src / "a.warc.gz").read_bytes()


def test_cli_help(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    for opt in ("--dest", "--source", "--crawl", "--segments", "--files-per-segment", "--base-url"):
        assert opt in text


# --------------------------------------------------------------------------- selection


def test_select_paths_order_of_appearance():
    paths = [
        "crawl-data/C/segments/S2/warc/x1.warc.gz",
        "crawl-data/C/segments/S1/warc/y1.warc.gz",
        "crawl-data/C/segments/S2/warc/x2.warc.gz",
        "crawl-data/C/segments/S3/warc/z1.warc.gz",
        "crawl-data/C/segments/S1/warc/y2.warc.gz",
        "crawl-data/C/segments/S2/warc/x3.warc.gz",
    ]
    names = lambda ps: [p.rsplit("/", 1)[1] for p in ps]  # noqa: E731
    assert names(select_paths(paths, 1, 1)) == ["x1.warc.gz"]
    assert names(select_paths(paths, 2, 2)) == ["x1.warc.gz", "x2.warc.gz", "y1.warc.gz", "y2.warc.gz"]
    assert names(select_paths(paths, 9, 1)) == ["x1.warc.gz", "y1.warc.gz", "z1.warc.gz"]
    with pytest.raises(ValueError):
        select_paths(paths, 0, 1)


# --------------------------------------------------------------------------- download mode


def test_download_default_one_file(tmp_path: Path, server: _Server, crawl_root: Path):
    dest = tmp_path / "dest"
    out = fetch_sample(dest, **_kw(server))
    assert [p.name for p in out] == [_rel(SEGMENTS[0], 0).rsplit("/", 1)[1]]
    assert out[0].read_bytes() == (crawl_root / _rel(SEGMENTS[0], 0)).read_bytes()
    assert sorted(os.listdir(dest)) == [out[0].name]  # no .part left behind


def test_download_segments_and_files_per_segment(tmp_path: Path, server: _Server, crawl_root: Path):
    dest = tmp_path / "dest"
    out = fetch_sample(dest, segments=2, files_per_segment=2, **_kw(server))
    expected = [_rel(SEGMENTS[0], 0), _rel(SEGMENTS[0], 1), _rel(SEGMENTS[1], 0), _rel(SEGMENTS[1], 1)]
    assert [p.name for p in out] == [r.rsplit("/", 1)[1] for r in expected]
    for p, rel in zip(out, expected):
        assert p.read_bytes() == (crawl_root / rel).read_bytes()
    assert server.gets() == ["/" + r for r in expected]


def test_download_skips_complete_files_and_refetches_wrong_size(tmp_path: Path, server: _Server):
    dest = tmp_path / "dest"
    out = fetch_sample(dest, files_per_segment=2, **_kw(server))
    server.requests.clear()

    out2 = fetch_sample(dest, files_per_segment=2, **_kw(server))
    assert out2 == out
    assert server.gets() == []  # only HEADs to compare sizes
    assert [m for m, p, _ in server.requests if p.endswith(".warc.gz")] == ["HEAD", "HEAD"]

    good = out[1].read_bytes()
    out[1].write_bytes(good[:100])
    server.requests.clear()
    fetch_sample(dest, files_per_segment=2, **_kw(server))
    assert server.gets() == ["/" + _rel(SEGMENTS[0], 1)]
    assert out[1].read_bytes() == good


def test_download_retries_503_then_succeeds(tmp_path: Path, server: _Server, crawl_root: Path):
    rel = "/" + _rel(SEGMENTS[0], 0)
    server.fail_503[rel] = 2
    server.fail_503[f"/crawl-data/{CRAWL}/warc.paths.gz"] = 2
    msgs: list[str] = []
    t0 = time.monotonic()
    out = fetch_sample(tmp_path / "dest", **_kw(server, log=msgs.append))
    assert time.monotonic() - t0 < 5
    assert out[0].read_bytes() == (crawl_root / rel.lstrip("/")).read_bytes()
    assert [p for m, p, _ in server.requests if p == rel] == [rel] * 3
    assert sum("HTTP 503" in m and "retry" in m for m in msgs) == 4


def test_download_503_forever_gives_up(tmp_path: Path, server: _Server):
    rel = "/" + _rel(SEGMENTS[0], 0)
    server.fail_503[rel] = 100
    with pytest.raises(SampleError, match="giving up after 3 attempt") as e:
        fetch_sample(tmp_path / "dest", **_kw(server, retries=3))
    assert "503" in str(e.value)
    assert not (tmp_path / "dest" / rel.rsplit("/", 1)[1]).exists()
    assert server.fail_503[rel] == 97


def test_retry_after_header_is_honoured(tmp_path: Path, server: _Server, monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(sample.time, "sleep", waits.append)
    path = f"/crawl-data/{CRAWL}/warc.paths.gz"
    server.fail_503[path] = 1  # sends Retry-After: 0
    fetch_sample(tmp_path / "dest", **_kw(server, backoff=50.0))
    assert waits == [0.0]  # Retry-After beat the 50 s backoff
    assert sample._parse_retry_after("7") == 7.0
    assert sample._parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert sample._parse_retry_after("garbage") is None


def test_download_truncated_body_fails_clearly_without_final_file(tmp_path: Path, server: _Server):
    rel = "/" + _rel(SEGMENTS[0], 0)
    server.truncate[rel] = 100  # every attempt is cut short; no Range support
    dest = tmp_path / "dest"
    with pytest.raises(SampleError) as e:
        fetch_sample(dest, **_kw(server, retries=3))
    msg = str(e.value)
    assert "broke off" in msg and "giving up after 3 attempt" in msg
    assert "connection closed after" in msg and ".part is kept; run again to resume" in msg
    assert not (dest / rel.rsplit("/", 1)[1]).exists()
    assert server.truncate[rel] == 97


def test_download_truncated_once_resumes_with_range(tmp_path: Path, server: _Server, crawl_root: Path):
    rel = "/" + _rel(SEGMENTS[0], 0)
    server.ranges = True
    server.truncate[rel] = 1
    out = fetch_sample(tmp_path / "dest", **_kw(server, progress=True))  # progress bar path too
    full = (crawl_root / rel.lstrip("/")).read_bytes()
    assert out[0].read_bytes() == full
    ranges = [r for m, p, r in server.requests if m == "GET" and p == rel]
    assert ranges == [None, f"bytes={len(full) // 2}-"]


def test_download_truncated_gzip_is_rejected_and_removed(tmp_path: Path, server: _Server, crawl_root: Path):
    rel = _rel(SEGMENTS[0], 0)
    f = crawl_root / rel
    f.write_bytes(f.read_bytes()[:-20])  # the server's copy itself is short: Content-Length matches
    dest = tmp_path / "dest"
    with pytest.raises(SampleError, match="not a complete gzip file"):
        fetch_sample(dest, **_kw(server))
    assert list(dest.iterdir()) == []  # neither the final file nor the .part


def test_download_unknown_crawl_404(tmp_path: Path, server: _Server):
    with pytest.raises(SampleError, match="unknown crawl name 'CC-MAIN-1999-99'"):
        fetch_sample(tmp_path / "dest", **_kw(server, crawl="CC-MAIN-1999-99"))


def test_cli_unknown_crawl_exit_code(tmp_path: Path, server: _Server, capsys):
    rc = main(["--dest", str(tmp_path / "d"), "--crawl", "NOPE-1", "--base-url", server.url, "--backoff", "0"])
    assert rc == 1
    assert "error: unknown crawl name 'NOPE-1'" in capsys.readouterr().err


def test_missing_source_falls_back_to_download(tmp_path: Path, server: _Server):
    msgs: list[str] = []
    out = fetch_sample(tmp_path / "dest", source=tmp_path / "nope", **_kw(server, log=msgs.append))
    assert len(out) == 1 and out[0].exists()
    assert any("does not exist; downloading" in m for m in msgs)


def test_unreachable_host_suggests_source(tmp_path: Path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now: connection refused
    with pytest.raises(SampleError) as e:
        fetch_sample(
            tmp_path / "dest", crawl=CRAWL, base_url=f"http://127.0.0.1:{port}/",
            retries=2, backoff=0, timeout=2, progress=False, log=lambda m: None,
        )
    msg = str(e.value)
    assert "network unreachable" in msg and "--source" in msg
