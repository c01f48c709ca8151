"""numba kernels for mesh topology: welding, edges, union-find and vertex fans. Private:
call them through ``llvscan.mesh.topology``, ``llvscan.mesh.validate`` and ``llvscan.mesh.simplify``,
which check shapes and dtypes first.

Conventions: ``faces`` is (M, 3) int32 (int64 only past 2^31 vertices); half-edge ``h = 3 f + k``
runs from ``faces[f, k]`` to ``faces[f, (k + 1) % 3]``; corner ``c = 3 f + k`` is vertex ``faces[f, k]``
seen from face ``f``. Every index array built here is int32.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from llvscan import _numba  # noqa: F401  (numba's configuration, before the first kernel compiles)

# -- welding ------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _mix(h: np.uint64, x: np.uint64) -> np.uint64:
    """Combine, then finalise (murmur3 fmix64) so that keys with zero low bits still spread."""
    h = (h ^ x) * np.uint64(0x9E3779B97F4A7C15)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    return h


@njit(cache=True, nogil=True)
def weld(vertices: np.ndarray, tolerance: float, remap: np.ndarray, table: np.ndarray) -> int:
    """Give rows of ``vertices`` (N, 3) with equal positions the same id (ids in order of first appearance).

    With ``tolerance > 0`` positions are compared after snapping to a grid of that pitch. ``-0.0`` equals
    ``0.0``; a row with NaN or inf never merges. ``remap`` (N,) receives the ids; ``table`` (a power of
    two ≥ 2N entries) is scratch. Returns the number of ids.
    """
    mask = table.shape[0] - 1
    table[:] = -1
    n_unique = 0
    key = np.empty(3, dtype=np.int64)
    for i in range(vertices.shape[0]):
        finite = True
        for k in range(3):
            x = vertices[i, k]
            if not np.isfinite(x) or (tolerance > 0 and abs(x / tolerance) > 1e18):
                finite = False  # (a grid index past int64 cannot be snapped either)
                break
            if tolerance > 0:
                key[k] = np.int64(np.floor(x / tolerance + 0.5))
            else:
                key[k] = np.float64(x + 0.0).view(np.int64)
        if not finite:
            remap[i] = n_unique
            n_unique += 1
            continue
        h = _mix(_mix(_mix(np.uint64(0), np.uint64(key[0])), np.uint64(key[1])), np.uint64(key[2]))
        slot = np.int64(h & np.uint64(mask))
        while True:
            j = table[slot]
            if j == -1:
                table[slot] = i
                remap[i] = n_unique
                n_unique += 1
                break
            same = True
            for k in range(3):
                y = vertices[j, k]
                other = np.int64(np.floor(y / tolerance + 0.5)) if tolerance > 0 else np.float64(y + 0.0).view(np.int64)
                if other != key[k]:
                    same = False
                    break
            if same:
                remap[i] = remap[j]
                break
            slot = (slot + 1) & mask
    return n_unique


@njit(cache=True, nogil=True)
def distinct_faces(faces: np.ndarray, table: np.ndarray) -> int:
    """How many faces differ as vertex sets (a face and its reverse are the same set)."""
    mask = table.shape[0] - 1
    table[:] = -1
    count = 0
    for f in range(faces.shape[0]):
        a, b, c = faces[f, 0], faces[f, 1], faces[f, 2]
        lo = min(a, b, c)
        hi = max(a, b, c)
        mid = a + b + c - lo - hi
        h = _mix(_mix(_mix(np.uint64(0), np.uint64(lo)), np.uint64(mid)), np.uint64(hi))
        slot = np.int64(h & np.uint64(mask))
        while True:
            g = table[slot]
            if g == -1:
                table[slot] = f
                count += 1
                break
            ga, gb, gc = faces[g, 0], faces[g, 1], faces[g, 2]
            glo = min(ga, gb, gc)
            ghi = max(ga, gb, gc)
            if glo == lo and ghi == hi and ga + gb + gc - glo - ghi == mid:
                break
            slot = (slot + 1) & mask
    return count


# -- edges ----------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _sort_bucket(hi: np.ndarray, he: np.ndarray, s0: int, s1: int) -> None:
    """Sort ``hi[s0:s1]`` ascending, ``he`` alongside, ties by ``he`` (its entries are distinct): insertion
    sort for the usual few entries, heapsort on (hi, he) keys for a crowded vertex."""
    if s1 - s0 <= 24:
        for i in range(s0 + 1, s1):
            h = hi[i]
            x = he[i]
            j = i - 1
            while j >= s0 and (hi[j] > h or (hi[j] == h and he[j] > x)):
                hi[j + 1] = hi[j]
                he[j + 1] = he[j]
                j -= 1
            hi[j + 1] = h
            he[j + 1] = x
        return
    n = s1 - s0
    keys = np.empty(n, dtype=np.int64)
    for i in range(n):
        keys[i] = (np.int64(hi[s0 + i]) << 32) | np.int64(he[s0 + i])
    for root in range(n // 2 - 1, -1, -1):
        _sift(keys, root, n)
    for end in range(n - 1, 0, -1):
        keys[0], keys[end] = keys[end], keys[0]
        _sift(keys, 0, end)
    for i in range(n):
        hi[s0 + i] = keys[i] >> 32
        he[s0 + i] = keys[i] & 0xFFFFFFFF


@njit(cache=True, inline="always")
def _sift(keys: np.ndarray, root: int, n: int) -> None:
    while True:
        child = 2 * root + 1
        if child >= n:
            return
        if child + 1 < n and keys[child + 1] > keys[child]:
            child += 1
        if keys[root] >= keys[child]:
            return
        keys[root], keys[child] = keys[child], keys[root]
        root = child


@njit(cache=True, nogil=True)
def build_edges(faces: np.ndarray, n_vertices: int, with_he_edge: bool = True):
    """Undirected edges of a face array, ordered by (low vertex, high vertex), and their classes.

    Returns ``(edges (E, 2), edge_start (E + 1), edge_he (H), he_edge (3M), counts (E), inconsistent (E),
    twins)``, all int32 but ``inconsistent`` (bool): the half-edges of edge ``e`` are
    ``edge_he[edge_start[e]:edge_start[e + 1]]`` in increasing order; ``he_edge[h]`` is ``-1`` for a
    half-edge whose ends coincide (a face with a repeated index), and ``he_edge`` is empty unless
    ``with_he_edge``. ``counts[e]`` is the number of half-edges (faces) on the edge, ``inconsistent[e]``
    whether its two faces traverse it the same way; ``twins`` the number of faces with three distinct
    vertices that repeat an earlier face's vertices. Needs ``3 M < 2**31``.
    """
    m = faces.shape[0]
    start = np.zeros(n_vertices + 1, dtype=np.int32)
    for f in range(m):
        for k in range(3):
            a = faces[f, k]
            b = faces[f, (k + 1) % 3]
            if a != b:
                start[min(a, b) + 1] += 1
    for v in range(n_vertices):
        start[v + 1] += start[v]
    n_he = start[n_vertices]
    bucket_hi = np.empty(n_he, dtype=np.int32)
    bucket_he = np.empty(n_he, dtype=np.int32)
    pos = start[:-1].copy()
    for f in range(m):
        for k in range(3):
            a = faces[f, k]
            b = faces[f, (k + 1) % 3]
            if a != b:
                lo = min(a, b)
                bucket_hi[pos[lo]] = max(a, b)
                bucket_he[pos[lo]] = 3 * f + k
                pos[lo] += 1
    # sort each low vertex's bucket by high vertex (half-edge order breaks ties)
    n_edges = 0
    for v in range(n_vertices):
        s0 = start[v]
        s1 = start[v + 1]
        _sort_bucket(bucket_hi, bucket_he, s0, s1)
        for i in range(s0, s1):
            if i == s0 or bucket_hi[i] != bucket_hi[i - 1]:
                n_edges += 1
    edges = np.empty((n_edges, 2), dtype=np.int32)
    edge_start = np.empty(n_edges + 1, dtype=np.int32)
    counts = np.empty(n_edges, dtype=np.int32)
    inconsistent = np.zeros(n_edges, dtype=np.bool_)
    he_edge = np.full(3 * m if with_he_edge else 0, -1, dtype=np.int32)
    twins = 0
    e = -1
    for v in range(n_vertices):
        s1 = start[v + 1]
        i = start[v]
        while i < s1:
            e += 1
            hi = bucket_hi[i]
            j = i + 1
            while j < s1 and bucket_hi[j] == hi:
                j += 1
            edges[e, 0] = v
            edges[e, 1] = hi
            edge_start[e] = i
            counts[e] = j - i
            if with_he_edge:
                for x in range(i, j):
                    he_edge[bucket_he[x]] = e
            if j - i >= 2:
                h1 = bucket_he[i]
                h2 = bucket_he[i + 1]
                if j - i == 2:
                    inconsistent[e] = faces[h1 // 3, h1 % 3] == faces[h2 // 3, h2 % 3]
                    third = faces[h2 // 3, (h2 + 2) % 3]
                    twins += third > hi and third == faces[h1 // 3, (h1 + 2) % 3]
                else:
                    for x in range(i + 1, j):
                        third = faces[bucket_he[x] // 3, (bucket_he[x] + 2) % 3]
                        if third > hi:
                            for y in range(i, x):
                                if faces[bucket_he[y] // 3, (bucket_he[y] + 2) % 3] == third:
                                    twins += 1
                                    break
            i = j
    edge_start[n_edges] = n_he
    return edges, edge_start, bucket_he, he_edge, counts, inconsistent, twins


# -- union-find ---------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _find(parent: np.ndarray, x: int) -> int:
    root = x
    while parent[root] != root:
        root = parent[root]
    while parent[x] != root:
        nxt = parent[x]
        parent[x] = root
        x = nxt
    return root


@njit(cache=True, inline="always")
def _union(parent: np.ndarray, a: int, b: int) -> None:
    ra = _find(parent, a)
    rb = _find(parent, b)
    if ra != rb:
        if ra < rb:
            parent[rb] = ra
        else:
            parent[ra] = rb


@njit(cache=True, nogil=True)
def _compact(parent: np.ndarray) -> tuple:
    """Root labels → 0..C-1 in order of first element; returns (labels, C)."""
    n = parent.shape[0]
    labels = np.empty(n, dtype=np.int32)
    ids = np.full(n, -1, dtype=np.int32)
    c = 0
    for i in range(n):
        r = _find(parent, i)
        if ids[r] == -1:
            ids[r] = c
            c += 1
        labels[i] = ids[r]
    return labels, c


@njit(cache=True, nogil=True)
def vertex_fans(faces: np.ndarray, n_vertices: int, edge_start: np.ndarray, edge_he: np.ndarray,
                counts: np.ndarray) -> np.ndarray:
    """Number of edge-connected fans of faces around every vertex (1 for a manifold vertex).

    Corners of one vertex are joined across every edge with exactly two faces; faces with a repeated
    index take no part.
    """
    m = faces.shape[0]
    parent = np.arange(3 * m, dtype=np.int32)
    for e in range(counts.shape[0]):
        if counts[e] != 2:
            continue
        h1 = edge_he[edge_start[e]]
        h2 = edge_he[edge_start[e] + 1]
        f1 = h1 // 3
        f2 = h2 // 3
        for x in (faces[f1, h1 % 3], faces[f1, (h1 % 3 + 1) % 3]):
            c1 = -1
            c2 = -1
            for k in range(3):
                if faces[f1, k] == x:
                    c1 = 3 * f1 + k
                if faces[f2, k] == x:
                    c2 = 3 * f2 + k
            _union(parent, c1, c2)
    fans = np.zeros(n_vertices, dtype=np.int32)
    for f in range(m):
        if faces[f, 0] == faces[f, 1] or faces[f, 1] == faces[f, 2] or faces[f, 0] == faces[f, 2]:
            continue
        for k in range(3):
            c = 3 * f + k
            if _find(parent, c) == c:
                fans[faces[f, k]] += 1
    return fans
