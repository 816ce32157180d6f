"""Connected components of an edge list, vectorized union-find in numpy.

Used on the driver for the near-duplicate candidate edges: memory is
O(edges + nodes in any edge), never O(all documents).
"""

from __future__ import annotations

import numpy as np


def connected_components(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(nodes, labels)``: the distinct nodes of the edges ``u[i]-v[i]`` (sorted) and,
    for each, the smallest node of its component.

    Hook-and-compress union-find on whole arrays: every round, each edge whose two ends
    have different roots hooks the larger root under the smaller one (``minimum.at``,
    so each root takes the smallest proposal), then pointers are jumped until every
    node points at its root. Roots only ever decrease, so there are no cycles; each
    round removes at least one root per remaining cross edge, and rounds are few in
    practice (logarithmic on paths and stars).
    """
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    if u.shape != v.shape:
        raise ValueError("u and v must have the same length")
    if u.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    nodes, inv = np.unique(np.concatenate([u, v]), return_inverse=True)
    a, b = inv[: u.size], inv[u.size:]
    parent = np.arange(nodes.size)
    while True:
        ra, rb = parent[a], parent[b]
        cross = ra != rb
        if not cross.any():
            break
        a, b, ra, rb = a[cross], b[cross], ra[cross], rb[cross]
        lo, hi = np.minimum(ra, rb), np.maximum(ra, rb)
        np.minimum.at(parent, hi, lo)
        while True:
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand
    return nodes, nodes[parent]


def components_reference(u, v) -> dict[int, int]:
    """Plain union-find (for tests): node -> smallest node of its component."""
    parent: dict[int, int] = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for x, y in zip(u, v):
        rx, ry = find(int(x)), find(int(y))
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)
    return {x: find(x) for x in list(parent)}
