"""Memory of the UT1 domain blocklist (4.6M domains): our mmap'd hash set vs a plain Python set.

Each variant loads in a fresh process; the table shows the private (RssAnon) and shared file-backed
(RssFile) memory it adds, and the load time. Run: ``make bench-url-filter``.
"""

from __future__ import annotations

import gc
import json
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date


def _status() -> dict[str, float]:
    d = {}
    for line in open("/proc/self/status"):
        k, _, v = line.partition(":")
        if k in ("RssAnon", "RssFile", "VmHWM"):
            d[k] = int(v.split()[0]) / 1024
    return d


def _measure(mode: str, cache: str) -> None:
    """Child process: load one variant and print its memory delta as JSON."""
    from pipeline.blocklist import HashSet
    from pipeline.stages.url_filter import DATATROVE_TAR, _Source, datatrove_assets, domain_keys

    src = _Source(datatrove_assets() / DATATROVE_TAR, "domains")
    if mode == "hashset":  # build the cache first (once per machine), then measure a worker's load
        HashSet.load_or_build(f"{cache}/domains.npy", lambda: (domain_keys(b) for b in src.blocks()), chunked=True)
    gc.collect()
    before, t0 = _status(), time.perf_counter()
    if mode == "hashset":
        hs = HashSet.load(f"{cache}/domains.npy")
        hits = hs.contains_many([b"x%d.example.com" % i for i in range(100_000)])
        assert hits.sum() < 2
    else:
        st: set = set()
        for block in src.blocks():
            st.update(k.decode() for k in domain_keys(block))
    dt = time.perf_counter() - t0
    gc.collect()
    after = _status()
    print(json.dumps({"load_s": dt, **{k: after[k] - before[k] for k in ("RssAnon", "RssFile")}}))


def main() -> None:
    if len(sys.argv) == 3:
        return _measure(sys.argv[1], sys.argv[2])
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        for mode in ("hashset", "python_set"):
            out = subprocess.run([sys.executable, __file__, mode, cache], capture_output=True, text=True, check=True)
            rows.append((mode, json.loads(out.stdout.strip().splitlines()[-1])))
    print(f"# UT1 domain blocklist in a worker — {platform.machine()}, {date.today()}\n")
    print("| variant | private MB (RssAnon) | shared file MB (RssFile) | load s |\n|---|---|---|---|")
    for mode, r in rows:
        print(f"| {mode} | {r['RssAnon']:+.1f} | {r['RssFile']:+.1f} | {r['load_s']:.2f} |")


if __name__ == "__main__":
    main()
