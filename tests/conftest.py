"""Shared fixtures: a local Ray for the session, and small real WARC files cut from the sample crawl."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SAMPLE = SHARED / "crawl" / "sample"


def cut_warc(src: Path, dest: Path, members: int) -> Path:
    """Copy the first ``members`` gzip members (records) of a gzip-per-record WARC."""
    data = src.read_bytes()
    pos = 0
    for _ in range(members):
        d = zlib.decompressobj(31)
        d.decompress(data[pos:])
        if not d.eof:
            break
        pos = len(data) - len(d.unused_data)
    dest.write_bytes(data[:pos])
    return dest


@pytest.fixture(scope="session")
def small_crawl(tmp_path_factory) -> Path:
    """Three small WARC files (about 12 responses each) cut from the real sample crawl."""
    if not SAMPLE.is_dir():
        pytest.skip(f"sample crawl not found at {SAMPLE}")
    d = tmp_path_factory.mktemp("crawl")
    for src in sorted(SAMPLE.glob("*.warc.gz"))[::2]:  # files 0, 2 and 4: English/German news and Debian pages
        cut_warc(src, d / src.name, 40)
    return d


@pytest.fixture(scope="session")
def ray_local():
    """One local Ray for the whole session (starting Ray costs seconds)."""
    import ray

    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, object_store_memory=256 * 1024**2,
                 logging_level="WARNING")
    yield ray
    ray.shutdown()
