"""numba kernels of the quadric edge-collapse decimator. Private: call ``llvscan.mesh.simplify.decimate``.

The packed rows ``vi``, ``vq``, ``fc`` and ``wq`` are laid out in ``llvscan.mesh.simplify.layout``.

Data model (see ``decimate.py``): positions are welded, so a vertex is a point of the surface; every
face corner also names a *wedge*, one per distinct (vertex, UV, colour, material) of the input, so UV
seams are explicit: a seam vertex has two or more wedges. Attributes live on wedges, pre-scaled so
that one attribute unit costs as much as one length unit.

Quadrics (Garland–Heckbert 1997, attributes after Hoppe 1999):

* ``qg[v]`` (10 floats: A00 A01 A02 A11 A12 A22 b0 b1 b2 c) is the area-weighted sum of squared
  distances to the planes of the faces around ``v``, plus constraint planes along boundaries and seams;
* ``qa[w]`` (11 + 4K floats) is, for a wedge ``w``, the area-weighted squared difference between
  the attributes ``s`` and their linear prediction over each face, ``(g·p + d − s)²``, stored as
  ``App`` (6), ``B`` (3K, column j at 6+3j), ``alpha`` (1), ``bp`` (3), ``bs`` (K), ``c`` (1):
  ``E(p, s) = pᵀ App p + 2 pᵀ B s + alpha s·s + 2 bp·p + 2 bs·s + c``.

Collapses: an edge whose two ends are *free* (one wedge, off the boundary, not locked) is a full
collapse to the optimal point and attributes of the summed quadric (s eliminated in closed form, a
3×3 solve); any other edge is a half-edge collapse ``u → v`` that keeps ``v`` where it is, allowed only
when every wedge of ``u`` maps to one wedge of ``v`` through the faces that vanish (so a seam vertex
only slides along its seam and both sides stay consistent). A binary heap with lazy invalidation
(an entry is stale once either end changed after it was pushed) orders collapses by quadric cost; the
link condition, a normal-flip test, a UV-flip test and a triangle-quality guard are checked when an
edge reaches the top.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from llvscan import _numba  # noqa: F401  (numba's configuration, before the first kernel compiles)
from llvscan.mesh._topology_kernels import _mix
from llvscan.mesh.simplify.layout import (
    AREA,
    F_ALIVE,
    F_WEDGES,
    V_COUNT,
    V_FLAGS,
    V_LAST,
    V_MARK,
    V_START,
    V_WEDGE,
    WQ_FIXED,
)

BOUNDARY = 1  # vertex flag: on an open boundary
LOCKED = 2  # vertex flag: never removed (non-manifold, too many wedges, or boundary locking)
MULTI = 4  # vertex flag: more than one wedge (on a UV seam or a material border)
MAXW = 16  # a vertex with more wedges than this is locked
_SQRT3x4 = 6.928203230275509


# -- quadrics ------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _q_add(vq, v, w, nx, ny, nz, d):
    vq[v, 3] += w * nx * nx
    vq[v, 4] += w * nx * ny
    vq[v, 5] += w * nx * nz
    vq[v, 6] += w * ny * ny
    vq[v, 7] += w * ny * nz
    vq[v, 8] += w * nz * nz
    vq[v, 9] += w * d * nx
    vq[v, 10] += w * d * ny
    vq[v, 11] += w * d * nz
    vq[v, 12] += w * d * d


@njit(cache=True)
def init_quadrics(vq, fc, wq, k_attr):
    """Face-plane quadrics and face areas into ``vq``; attribute quadrics into ``wq`` (per wedge)."""
    a0 = WQ_FIXED + 4 * k_attr
    for f in range(fc.shape[0]):
        i0, i1, i2 = fc[f, 0], fc[f, 1], fc[f, 2]
        e1x, e1y, e1z = vq[i1, 0] - vq[i0, 0], vq[i1, 1] - vq[i0, 1], vq[i1, 2] - vq[i0, 2]
        e2x, e2y, e2z = vq[i2, 0] - vq[i0, 0], vq[i2, 1] - vq[i0, 1], vq[i2, 2] - vq[i0, 2]
        nx, ny, nz = e1y * e2z - e1z * e2y, e1z * e2x - e1x * e2z, e1x * e2y - e1y * e2x
        length = np.sqrt(nx * nx + ny * ny + nz * nz)
        if length == 0.0:
            continue
        area = 0.5 * length
        nx, ny, nz = nx / length, ny / length, nz / length
        d = -(nx * vq[i0, 0] + ny * vq[i0, 1] + nz * vq[i0, 2])
        for k in range(3):
            _q_add(vq, fc[f, k], area, nx, ny, nz, d)
            vq[fc[f, k], AREA] += area
        if k_attr == 0:
            continue
        # gradient g of each attribute in the face's plane: g·e1 = s1 - s0, g·e2 = s2 - s0
        a11 = e1x * e1x + e1y * e1y + e1z * e1z
        a12 = e1x * e2x + e1y * e2y + e1z * e2z
        a22 = e2x * e2x + e2y * e2y + e2z * e2z
        det = a11 * a22 - a12 * a12
        if det <= 1e-12 * a11 * a22:
            continue
        w0, w1, w2 = fc[f, F_WEDGES], fc[f, F_WEDGES + 1], fc[f, F_WEDGES + 2]
        for j in range(k_attr):
            r1 = wq[w1, a0 + j] - wq[w0, a0 + j]
            r2 = wq[w2, a0 + j] - wq[w0, a0 + j]
            al = (r1 * a22 - r2 * a12) / det
            be = (r2 * a11 - r1 * a12) / det
            gx, gy, gz = al * e1x + be * e2x, al * e1y + be * e2y, al * e1z + be * e2z
            dj = wq[w0, a0 + j] - (gx * vq[i0, 0] + gy * vq[i0, 1] + gz * vq[i0, 2])
            for k in range(3):
                w = fc[f, F_WEDGES + k]
                wq[w, 0] += area * gx * gx
                wq[w, 1] += area * gx * gy
                wq[w, 2] += area * gx * gz
                wq[w, 3] += area * gy * gy
                wq[w, 4] += area * gy * gz
                wq[w, 5] += area * gz * gz
                wq[w, 6 + 3 * j] -= area * gx
                wq[w, 7 + 3 * j] -= area * gy
                wq[w, 8 + 3 * j] -= area * gz
                wq[w, 7 + 3 * k_attr] += area * dj * gx
                wq[w, 8 + 3 * k_attr] += area * dj * gy
                wq[w, 9 + 3 * k_attr] += area * dj * gz
                wq[w, 10 + 3 * k_attr + j] -= area * dj
                wq[w, 10 + 4 * k_attr] += area * dj * dj
        for k in range(3):
            wq[fc[f, F_WEDGES + k], 6 + 3 * k_attr] += area


@njit(cache=True)
def add_edge_planes(vq, fc, he, weight):
    """Constraint planes along the half-edges ``he`` (3f + k): through the edge, perpendicular to its face,
    weighted by ``weight`` × squared edge length, added to both ends."""
    for i in range(he.shape[0]):
        f, k = he[i] // 3, he[i] % 3
        a, b, c = fc[f, k], fc[f, (k + 1) % 3], fc[f, (k + 2) % 3]
        ex, ey, ez = vq[b, 0] - vq[a, 0], vq[b, 1] - vq[a, 1], vq[b, 2] - vq[a, 2]
        fx, fy, fz = vq[c, 0] - vq[a, 0], vq[c, 1] - vq[a, 1], vq[c, 2] - vq[a, 2]
        nx, ny, nz = ey * fz - ez * fy, ez * fx - ex * fz, ex * fy - ey * fx
        mx, my, mz = ey * nz - ez * ny, ez * nx - ex * nz, ex * ny - ey * nx  # in the face, across the edge
        ml = np.sqrt(mx * mx + my * my + mz * mz)
        if ml == 0.0:
            continue
        mx, my, mz = mx / ml, my / ml, mz / ml
        d = -(mx * vq[a, 0] + my * vq[a, 1] + mz * vq[a, 2])
        w = weight * (ex * ex + ey * ey + ez * ez)
        _q_add(vq, a, w, mx, my, mz, d)
        _q_add(vq, b, w, mx, my, mz, d)


@njit(cache=True, inline="always")
def _q_eval(vq, v, px, py, pz):
    return (vq[v, 3] * px * px + 2.0 * vq[v, 4] * px * py + 2.0 * vq[v, 5] * px * pz + vq[v, 6] * py * py
            + 2.0 * vq[v, 7] * py * pz + vq[v, 8] * pz * pz
            + 2.0 * (vq[v, 9] * px + vq[v, 10] * py + vq[v, 11] * pz) + vq[v, 12])


@njit(cache=True, inline="always")
def _qa_eval(q, r, px, py, pz, s, sr, so, k_attr):
    """Attribute quadric in row ``r`` of ``q`` at position p and attributes ``s[sr, so:so+K]``."""
    e = (q[r, 0] * px * px + 2.0 * q[r, 1] * px * py + 2.0 * q[r, 2] * px * pz + q[r, 3] * py * py
         + 2.0 * q[r, 4] * py * pz + q[r, 5] * pz * pz + q[r, 10 + 4 * k_attr])
    e += 2.0 * (q[r, 7 + 3 * k_attr] * px + q[r, 8 + 3 * k_attr] * py + q[r, 9 + 3 * k_attr] * pz)
    alpha = q[r, 6 + 3 * k_attr]
    for j in range(k_attr):
        sj = s[sr, so + j]
        e += 2.0 * sj * (q[r, 6 + 3 * j] * px + q[r, 7 + 3 * j] * py + q[r, 8 + 3 * j] * pz)
        e += alpha * sj * sj + 2.0 * q[r, 10 + 3 * k_attr + j] * sj
    return e


@njit(cache=True, inline="always")
def _best_s(q, r, px, py, pz, out, orow, ooff, k_attr):
    """Attributes minimising the quadric in row ``r`` at p: s = −(Bᵀp + bs) / alpha, into out[orow, ooff:]."""
    alpha = q[r, 6 + 3 * k_attr]
    for j in range(k_attr):
        if alpha > 0.0:
            out[orow, ooff + j] = -(q[r, 6 + 3 * j] * px + q[r, 7 + 3 * j] * py + q[r, 8 + 3 * j] * pz
                                    + q[r, 10 + 3 * k_attr + j]) / alpha
        else:
            out[orow, ooff + j] = 0.0


@njit(cache=True)
def _full_collapse(vq, wq, u, v, wu, wv, k_attr, tmp, place):
    """Optimal point of the summed quadrics of two free vertices: (cost, x, y, z). With the attributes
    eliminated (Schur complement A', r, c'), the minimum at x = A'⁻¹r is c' − r·x. With ``place`` the
    attributes go to ``tmp[1, a0:a0+K]``; ``tmp`` (2, 11 + 5K) is scratch, row 0 the summed attribute quadric."""
    a0 = WQ_FIXED + 4 * k_attr
    ka = 3 * k_attr
    alpha = wq[wu, 6 + ka] + wq[wv, 6 + ka]
    a00 = vq[u, 3] + vq[v, 3] + wq[wu, 0] + wq[wv, 0]
    a01 = vq[u, 4] + vq[v, 4] + wq[wu, 1] + wq[wv, 1]
    a02 = vq[u, 5] + vq[v, 5] + wq[wu, 2] + wq[wv, 2]
    a11 = vq[u, 6] + vq[v, 6] + wq[wu, 3] + wq[wv, 3]
    a12 = vq[u, 7] + vq[v, 7] + wq[wu, 4] + wq[wv, 4]
    a22 = vq[u, 8] + vq[v, 8] + wq[wu, 5] + wq[wv, 5]
    r0 = -(vq[u, 9] + vq[v, 9] + wq[wu, 7 + ka] + wq[wv, 7 + ka])
    r1 = -(vq[u, 10] + vq[v, 10] + wq[wu, 8 + ka] + wq[wv, 8 + ka])
    r2 = -(vq[u, 11] + vq[v, 11] + wq[wu, 9 + ka] + wq[wv, 9 + ka])
    c = vq[u, 12] + vq[v, 12] + wq[wu, 10 + 4 * k_attr] + wq[wv, 10 + 4 * k_attr]
    if alpha > 0.0:
        inv = 1.0 / alpha
        for j in range(k_attr):  # eliminate the attributes: Schur complement
            bx = wq[wu, 6 + 3 * j] + wq[wv, 6 + 3 * j]
            by = wq[wu, 7 + 3 * j] + wq[wv, 7 + 3 * j]
            bz = wq[wu, 8 + 3 * j] + wq[wv, 8 + 3 * j]
            bs = wq[wu, 10 + ka + j] + wq[wv, 10 + ka + j]
            a00 -= bx * bx * inv
            a01 -= bx * by * inv
            a02 -= bx * bz * inv
            a11 -= by * by * inv
            a12 -= by * bz * inv
            a22 -= bz * bz * inv
            r0 += bx * bs * inv
            r1 += by * bs * inv
            r2 += bz * bs * inv
            c -= bs * bs * inv
    c00 = a11 * a22 - a12 * a12
    c01 = a02 * a12 - a01 * a22
    c02 = a01 * a12 - a02 * a11
    det = a00 * c00 + a01 * c01 + a02 * c02
    scale = a00 + a11 + a22
    if scale > 0.0 and abs(det) > 1e-9 * scale * scale * scale:
        c11 = a00 * a22 - a02 * a02
        c12 = a01 * a02 - a00 * a12
        c22 = a00 * a11 - a01 * a01
        inv_det = 1.0 / det
        x = (c00 * r0 + c01 * r1 + c02 * r2) * inv_det
        y = (c01 * r0 + c11 * r1 + c12 * r2) * inv_det
        z = (c02 * r0 + c12 * r1 + c22 * r2) * inv_det
        # keep the optimum near the edge: far-away optima of nearly flat quadrics are numerical noise
        ex, ey, ez = vq[v, 0] - vq[u, 0], vq[v, 1] - vq[u, 1], vq[v, 2] - vq[u, 2]
        mx = x - 0.5 * (vq[u, 0] + vq[v, 0])
        my = y - 0.5 * (vq[u, 1] + vq[v, 1])
        mz = z - 0.5 * (vq[u, 2] + vq[v, 2])
        if mx * mx + my * my + mz * mz <= 4.0 * (ex * ex + ey * ey + ez * ez):
            if place:
                for i in range(a0):
                    tmp[0, i] = wq[wu, i] + wq[wv, i]
                _best_s(tmp, 0, x, y, z, tmp, 1, a0, k_attr)
            return max(c - (r0 * x + r1 * y + r2 * z), 0.0), x, y, z
    # singular, or the optimum far away: the best of the two ends and the midpoint
    for i in range(a0):
        tmp[0, i] = wq[wu, i] + wq[wv, i]
    best = np.inf
    bx = by = bz = 0.0
    for t in range(3):
        w = 0.5 * t
        x = vq[u, 0] + w * (vq[v, 0] - vq[u, 0])
        y = vq[u, 1] + w * (vq[v, 1] - vq[u, 1])
        z = vq[u, 2] + w * (vq[v, 2] - vq[u, 2])
        _best_s(tmp, 0, x, y, z, tmp, 1, 0, k_attr)
        e = _q_eval(vq, u, x, y, z) + _q_eval(vq, v, x, y, z) + _qa_eval(tmp, 0, x, y, z, tmp, 1, 0, k_attr)
        if e < best:
            best = e
            bx, by, bz = x, y, z
            for j in range(k_attr):
                tmp[1, a0 + j] = tmp[1, j]
    return max(best, 0.0), bx, by, bz


# -- adjacency -----------------------------------------------------------------------------------


@njit(cache=True)
def build_adjacency(fc, vi, capacity):
    """Vertex → face lists: ``refs[vi[v, V_START] : + vi[v, V_COUNT]]``; ``refs`` has spare room.
    Returns (refs, used)."""
    n_vertices = vi.shape[0]
    for v in range(n_vertices):
        vi[v, V_COUNT] = 0
    for f in range(fc.shape[0]):
        for k in range(3):
            vi[fc[f, k], V_COUNT] += 1
    total = 0
    for v in range(n_vertices):
        vi[v, V_START] = total
        total += vi[v, V_COUNT]
        vi[v, V_COUNT] = 0
    refs = np.empty(max(capacity, total), dtype=np.int32)
    for f in range(fc.shape[0]):
        for k in range(3):
            v = fc[f, k]
            refs[vi[v, V_START] + vi[v, V_COUNT]] = f
            vi[v, V_COUNT] += 1
    return refs, total


@njit(cache=True, inline="always")
def _corner(fc, f, v):
    if fc[f, 0] == v:
        return 0
    if fc[f, 1] == v:
        return 1
    if fc[f, 2] == v:
        return 2
    return -1


@njit(cache=True, inline="always")
def _index(values, n, x):
    """Position of ``x`` among ``values[:n]`` (the small wedge lists), -1 when absent."""
    for j in range(n):
        if values[j] == x:
            return j
    return -1


@njit(cache=True)
def _wedge_map(u, v, fc, refs, vi, ma, mb):
    """Map the wedges of ``u`` to wedges of ``v`` through the faces that hold both. Returns
    (pairs, shared faces); pairs = -1 when a wedge of ``u`` has no image or two."""
    n = 0
    shared = 0
    start = vi[u, V_START]
    for i in range(vi[u, V_COUNT]):
        f = refs[start + i]
        kv = _corner(fc, f, v)
        if kv < 0:
            continue
        shared += 1
        wa = fc[f, F_WEDGES + _corner(fc, f, u)]
        wb = fc[f, F_WEDGES + kv]
        j = _index(ma, n, wa)
        if j >= 0:
            if mb[j] != wb:
                return -1, shared
        else:
            if n == MAXW:
                return -1, shared
            ma[n] = wa
            mb[n] = wb
            n += 1
    for i in range(vi[u, V_COUNT]):
        f = refs[start + i]
        if _index(ma, n, fc[f, F_WEDGES + _corner(fc, f, u)]) < 0:
            return -1, shared
    return n, shared


@njit(cache=True)
def _half_cost(u, v, fc, refs, vi, vq, wq, k_attr, preserve_boundary, ma, mb, wl):
    """Cost of the half-edge collapse u → v (v stays), or inf when the rules forbid it."""
    fu = vi[u, V_FLAGS]
    if fu & LOCKED:
        return np.inf
    n, shared = _wedge_map(u, v, fc, refs, vi, ma, mb)
    if n < 0 or shared == 0 or shared > 2:
        return np.inf
    if (fu & BOUNDARY) and (vi[v, V_FLAGS] & BOUNDARY) and shared == 2:
        return np.inf  # an interior edge between two boundary vertices: collapsing it pinches the surface
    if preserve_boundary and (fu & BOUNDARY) and shared != 1:
        return np.inf  # a boundary vertex only slides along its boundary
    a0 = WQ_FIXED + 4 * k_attr
    px, py, pz = vq[v, 0], vq[v, 1], vq[v, 2]
    cost = _q_eval(vq, u, px, py, pz) + _q_eval(vq, v, px, py, pz)
    for j in range(n):
        cost += _qa_eval(wq, ma[j], px, py, pz, wq, mb[j], a0, k_attr)
    nw = 0  # v's own wedges at their own attributes
    start = vi[v, V_START]
    for i in range(vi[v, V_COUNT]):
        f = refs[start + i]
        w = fc[f, F_WEDGES + _corner(fc, f, v)]
        if _index(wl, nw, w) < 0:
            if nw == MAXW:
                return np.inf
            wl[nw] = w
            nw += 1
            cost += _qa_eval(wq, w, px, py, pz, wq, w, a0, k_attr)
    return max(cost, 0.0)


@njit(cache=True, inline="always")
def _edge_cost(a, b, fc, refs, vi, vq, wq, k_attr, preserve_boundary, ma, mb, wl, tmp):
    """Cheapest allowed collapse of edge (a, b): (cost, mode) with mode 0: a→b, 1: b→a, 2: full."""
    if vi[a, V_FLAGS] == 0 and vi[b, V_FLAGS] == 0:
        cost, _, _, _ = _full_collapse(vq, wq, a, b, vi[a, V_WEDGE], vi[b, V_WEDGE], k_attr, tmp, False)
        return cost, 2
    c0 = _half_cost(a, b, fc, refs, vi, vq, wq, k_attr, preserve_boundary, ma, mb, wl)
    c1 = _half_cost(b, a, fc, refs, vi, vq, wq, k_attr, preserve_boundary, ma, mb, wl)
    if c1 < c0:
        return c1, 1
    return c0, 0


# -- heap ----------------------------------------------------------------------------------------
# A 4-ary min-heap of int64 words: the cost as float32 bits (monotonic for costs ≥ 0) in the high half,
# the entry's row in ``pool`` (a, b, push time) in the low half; ties go to the older row.
# One word per entry keeps each level of the heap in one cache line.


@njit(cache=True, inline="always")
def _pack(cost, slot):
    c = np.float32(min(cost, 3.0e38))
    return (np.int64(c.view(np.int32)) << 32) | np.int64(slot)


@njit(cache=True)
def _sift_up(hq, i):
    x = hq[i]
    while i > 0:
        p = (i - 1) >> 2
        if hq[p] <= x:
            break
        hq[i] = hq[p]
        i = p
    hq[i] = x


@njit(cache=True)
def _sift_down(hq, i, n):
    x = hq[i]
    while True:
        c = 4 * i + 1
        if c >= n:
            break
        best = c
        for d in range(c + 1, min(c + 4, n)):
            if hq[d] < hq[best]:
                best = d
        if hq[best] >= x:
            break
        hq[i] = hq[best]
        i = best
    hq[i] = x


@njit(cache=True)
def _heapify(hq, n):
    for i in range((n - 2) // 4, -1, -1):
        _sift_down(hq, i, n)


@njit(cache=True, inline="always")
def _valid(a, b, t, vi):
    """A heap entry is live while neither end has been removed (last = -1) or changed since its push."""
    la = vi[a, V_LAST]
    lb = vi[b, V_LAST]
    return la >= 0 and lb >= 0 and la <= t and lb <= t


@njit(cache=True)
def _compact(hq, pool, n, vi):
    """Drop the stale entries (one sequential pass, then heapify): a small heap pops in cache.
    Returns the new pool and the size; pool rows are renumbered 0..size-1."""
    keep = 0
    fresh = np.empty_like(pool)
    for i in range(n):
        slot = hq[i] & 0xFFFFFFFF
        if _valid(pool[slot, 0], pool[slot, 1], pool[slot, 2], vi):
            hq[keep] = ((hq[i] >> 32) << 32) | keep
            fresh[keep, 0], fresh[keep, 1], fresh[keep, 2] = pool[slot, 0], pool[slot, 1], pool[slot, 2]
            keep += 1
    _heapify(hq, keep)
    return fresh, keep


@njit(cache=True)
def _push(hq, pool, n, npool, cost, a, b, t, vi):
    """Push edge (a, b) at ``cost``; returns the (possibly new) heap and pool, size and pool fill."""
    if npool == pool.shape[0]:
        pool, n = _compact(hq, pool, n, vi)
        npool = n
        if n > pool.shape[0] // 2:  # mostly live: grow
            cap = 2 * pool.shape[0]
            hq2 = np.empty(cap, dtype=np.int64)
            hq2[:n] = hq[:n]
            hq = hq2
            pool2 = np.empty((cap, 3), dtype=np.int32)
            pool2[:n] = pool[:n]
            pool = pool2
    pool[npool, 0], pool[npool, 1], pool[npool, 2] = a, b, t
    hq[n] = _pack(cost, npool)
    _sift_up(hq, n)
    return hq, pool, n + 1, npool + 1


# -- validity of one collapse ----------------------------------------------------------------------


@njit(cache=True, inline="always")
def _normal(vq, a, b, c, px, py, pz, moved):
    """Normal (unnormalised) of triangle a b c with corner ``moved`` (0-2, or -1) at p, and the sum of
    its squared edge lengths."""
    ax, ay, az = vq[a, 0], vq[a, 1], vq[a, 2]
    bx, by, bz = vq[b, 0], vq[b, 1], vq[b, 2]
    cx, cy, cz = vq[c, 0], vq[c, 1], vq[c, 2]
    if moved == 0:
        ax, ay, az = px, py, pz
    elif moved == 1:
        bx, by, bz = px, py, pz
    elif moved == 2:
        cx, cy, cz = px, py, pz
    e1x, e1y, e1z = bx - ax, by - ay, bz - az
    e2x, e2y, e2z = cx - ax, cy - ay, cz - az
    e3x, e3y, e3z = cx - bx, cy - by, cz - bz
    nx, ny, nz = e1y * e2z - e1z * e2y, e1z * e2x - e1x * e2z, e1x * e2y - e1y * e2x
    sq = (e1x * e1x + e1y * e1y + e1z * e1z) + (e2x * e2x + e2y * e2y + e2z * e2z) + (e3x * e3x + e3y * e3y + e3z * e3z)
    return nx, ny, nz, sq


@njit(cache=True)
def _faces_ok(x, other, px, py, pz, fc, refs, vi, vq, wq, k_attr, has_uv, ma, mb, n_map, tmp, full, flip_cos,
              min_quality):
    """Do the faces of ``x`` that survive (those without ``other``) keep their orientation, their UV
    orientation and an acceptable shape when ``x`` moves to p (and its wedges change as mapped)?"""
    a0 = WQ_FIXED + 4 * k_attr
    start = vi[x, V_START]
    for i in range(vi[x, V_COUNT]):
        f = refs[start + i]
        k = _corner(fc, f, x)
        if fc[f, (k + 1) % 3] == other or fc[f, (k + 2) % 3] == other:
            continue
        a, b, c = fc[f, 0], fc[f, 1], fc[f, 2]
        ox, oy, oz, osq = _normal(vq, a, b, c, 0.0, 0.0, 0.0, -1)
        nx, ny, nz, nsq = _normal(vq, a, b, c, px, py, pz, k)
        olen = np.sqrt(ox * ox + oy * oy + oz * oz)
        nlen = np.sqrt(nx * nx + ny * ny + nz * nz)
        if nlen <= 1e-12 * nsq:
            return False  # degenerate
        if ox * nx + oy * ny + oz * nz < flip_cos * olen * nlen:
            return False  # flipped or folded
        q_new = _SQRT3x4 * 0.5 * nlen / nsq
        if q_new < min_quality and q_new < _SQRT3x4 * 0.5 * olen / max(osq, 1e-300):
            return False  # a sliver or spike where there was none
        if has_uv:
            w0, w1, w2 = fc[f, F_WEDGES], fc[f, F_WEDGES + 1], fc[f, F_WEDGES + 2]
            u0, v0, u1, v1 = wq[w0, a0], wq[w0, a0 + 1], wq[w1, a0], wq[w1, a0 + 1]
            u2, v2 = wq[w2, a0], wq[w2, a0 + 1]
            old = (u1 - u0) * (v2 - v0) - (u2 - u0) * (v1 - v0)
            if old == 0.0:
                continue
            wk = fc[f, F_WEDGES + k]
            su, sv = wq[wk, a0], wq[wk, a0 + 1]
            if full:
                su, sv = tmp[1, a0], tmp[1, a0 + 1]
            else:
                j = _index(ma, n_map, wk)
                if j >= 0:
                    su, sv = wq[mb[j], a0], wq[mb[j], a0 + 1]
            if k == 0:
                u0, v0 = su, sv
            elif k == 1:
                u1, v1 = su, sv
            else:
                u2, v2 = su, sv
            new = (u1 - u0) * (v2 - v0) - (u2 - u0) * (v1 - v0)
            if new * old <= 0.0:
                return False  # the texture would fold over
    return True


@njit(cache=True)
def _link_ok(u, v, fc, refs, vi, stamp, allow_vanish):
    """Link condition: the common neighbours of u and v are exactly the apexes of their shared faces,
    and no face other than those joins both apexes to u and to v (the tetrahedron case)."""
    x0 = -1
    x1 = -1
    shared = 0
    start = vi[u, V_START]
    nu = vi[u, V_COUNT]
    for i in range(nu):
        f = refs[start + i]
        k = _corner(fc, f, u)
        b, c = fc[f, (k + 1) % 3], fc[f, (k + 2) % 3]
        if b == v or c == v:
            shared += 1
            apex = c if b == v else b
            if x0 < 0:
                x0 = apex
            else:
                x1 = apex
        vi[b, V_MARK] = stamp
        vi[c, V_MARK] = stamp
    if nu + vi[v, V_COUNT] - 2 * shared == 0 and not allow_vanish:
        return False  # the collapse would remove a whole component
    common = 0
    start = vi[v, V_START]
    for i in range(vi[v, V_COUNT]):
        f = refs[start + i]
        k = _corner(fc, f, v)
        for b in (fc[f, (k + 1) % 3], fc[f, (k + 2) % 3]):
            if b != u and vi[b, V_MARK] == stamp:
                vi[b, V_MARK] = stamp + 1  # count once
                common += 1
    if common != shared:
        return False
    if shared == 2:
        # edge (x0, x1) in both links: faces u x0 x1 and v x0 x1
        both = 0
        for side in range(2):
            a = u if side == 0 else v
            start = vi[a, V_START]
            for i in range(vi[a, V_COUNT]):
                f = refs[start + i]
                if _corner(fc, f, x0) >= 0 and _corner(fc, f, x1) >= 0:
                    both += 1
                    break
        if both == 2:
            return False
    return True


# -- the decimator -------------------------------------------------------------------------------


@njit(cache=True)
def decimate(vq, fc, wq, vi, edges, k_attr, target, max_cost, flip_cos, min_quality, preserve_boundary,
             allow_vanish, has_uv):
    """Collapse edges until ``target`` faces remain or no allowed collapse is left.

    Works in place on the packed arrays (face lists hold live faces only). ``max_cost`` bounds the
    normalised cost (quadric cost / area of the two vertices' faces), inf for none. Returns
    ``(faces_left, collapses, max_normalised_cost, relaxed, stats)``.
    """
    n_vertices = vq.shape[0]
    m = fc.shape[0]
    a0 = WQ_FIXED + 4 * k_attr
    for f in range(m):
        fc[f, F_ALIVE] = 1
    for x in range(n_vertices):
        vi[x, V_LAST] = 0
        vi[x, V_MARK] = 0
    stamp = 0
    refs, used = build_adjacency(fc, vi, 6 * m + 1024)
    ma = np.empty(MAXW, dtype=np.int64)
    mb = np.empty(MAXW, dtype=np.int64)
    wl = np.empty(MAXW, dtype=np.int64)
    tmp = np.zeros((2, wq.shape[1]))
    ring = np.empty(64, dtype=np.int64)

    cap = 2 * edges.shape[0] + 1024
    hq = np.empty(cap, dtype=np.int64)
    pool = np.empty((cap, 3), dtype=np.int32)  # (a, b, push time) of each heap entry
    n = 0
    for e in range(edges.shape[0]):
        a, b = edges[e, 0], edges[e, 1]
        cost, _ = _edge_cost(a, b, fc, refs, vi, vq, wq, k_attr, preserve_boundary, ma, mb, wl, tmp)
        if cost < np.inf:
            pool[n, 0], pool[n, 1], pool[n, 2] = a, b, 0
            hq[n] = _pack(cost, n)
            n += 1
    npool = n
    _heapify(hq, n)
    clean_at = n + n // 4  # heap size that triggers dropping the stale entries

    stats = np.zeros(8, dtype=np.int64)  # pops, stale, refused, link, shape, parity, refs and heap compactions
    faces_left = m
    collapses = 0
    n_boundary = 0
    for x in range(n_vertices):
        if vi[x, V_FLAGS] & BOUNDARY:
            n_boundary += 1
    max_seen = 0.0
    relaxed = 0
    q_guard = min_quality
    f_guard = flip_cos
    while faces_left > target:
        if n == 0:
            if relaxed == 2:
                break
            # the heap ran dry before the target: collapses refused earlier may be allowed now that their
            # neighbourhoods changed; on the second pass the shape guard is relaxed (flips never are)
            relaxed += 1
            if relaxed == 2:
                q_guard = 0.0
                f_guard = min(flip_cos, 0.0)
            for a in range(n_vertices):
                if vi[a, V_LAST] < 0:
                    continue
                stamp += 2
                start = vi[a, V_START]
                for i in range(vi[a, V_COUNT]):
                    f = refs[start + i]
                    for k in range(3):
                        b = fc[f, k]
                        if b > a and vi[b, V_MARK] != stamp:
                            vi[b, V_MARK] = stamp
                            cost, _ = _edge_cost(a, b, fc, refs, vi, vq, wq, k_attr, preserve_boundary, ma, mb, wl,
                                                 tmp)
                            if cost < np.inf:
                                hq, pool, n, npool = _push(hq, pool, n, npool, cost, a, b, collapses, vi)
            if n == 0:
                break
            continue
        slot = hq[0] & 0xFFFFFFFF
        a, b, t = pool[slot, 0], pool[slot, 1], pool[slot, 2]
        n -= 1
        if n > 0:
            hq[0] = hq[n]
            _sift_down(hq, 0, n)
        stats[0] += 1
        if not _valid(a, b, t, vi):
            stats[1] += 1
            continue
        full = vi[a, V_FLAGS] == 0 and vi[b, V_FLAGS] == 0
        if full:  # two free vertices: the optimum (its attributes land in tmp), as _edge_cost would find it
            u, v = a, b
            cost, px, py, pz = _full_collapse(vq, wq, u, v, vi[u, V_WEDGE], vi[v, V_WEDGE], k_attr, tmp, True)
        else:
            cost, mode = _edge_cost(a, b, fc, refs, vi, vq, wq, k_attr, preserve_boundary, ma, mb, wl, tmp)
            if cost == np.inf:
                stats[2] += 1
                continue
            u, v = (a, b) if mode != 1 else (b, a)
        norm = cost / max(vq[u, AREA] + vq[v, AREA], 1e-300)
        if norm > max_cost:
            continue
        if full:
            n_map = 1
            ma[0] = vi[u, V_WEDGE]
            mb[0] = vi[v, V_WEDGE]
            shared = 0
            start = vi[u, V_START]
            for i in range(vi[u, V_COUNT]):
                if _corner(fc, refs[start + i], v) >= 0:
                    shared += 1
        else:
            px, py, pz = vq[v, 0], vq[v, 1], vq[v, 2]
            n_map, shared = _wedge_map(u, v, fc, refs, vi, ma, mb)
        if faces_left - target == 1 and shared != 1:
            if n_boundary == 0:
                break  # a closed surface loses faces two at a time
            stats[5] += 1
            continue  # one face to go: only a boundary collapse removes exactly one
        stamp += 2
        if not _link_ok(u, v, fc, refs, vi, stamp, allow_vanish):
            stats[3] += 1
            continue
        if not _faces_ok(u, v, px, py, pz, fc, refs, vi, vq, wq, k_attr, has_uv, ma, mb, n_map, tmp, full, f_guard,
                         q_guard) or (
                full and not _faces_ok(v, u, px, py, pz, fc, refs, vi, vq, wq, k_attr, has_uv, mb, mb, 1, tmp, full,
                                       f_guard, q_guard)):
            stats[4] += 1
            continue

        # -- collapse u into v ----------------------------------------------------------------------
        collapses += 1
        if norm > max_seen:
            max_seen = norm
        vq[v, 0], vq[v, 1], vq[v, 2] = px, py, pz
        for i in range(3, 14):
            vq[v, i] += vq[u, i]
        for j in range(n_map):
            for i in range(a0):
                wq[mb[j], i] += wq[ma[j], i]
        if full:
            for j in range(k_attr):
                wq[mb[0], a0 + j] = tmp[1, a0 + j]
        fu = vi[u, V_FLAGS]
        if fu & BOUNDARY:
            n_boundary -= 1
            if not vi[v, V_FLAGS] & BOUNDARY:
                n_boundary += 1
                vi[v, V_FLAGS] |= BOUNDARY
        # new face list of v: its own faces, then u's, rewritten, less the faces they shared
        need = vi[u, V_COUNT] + vi[v, V_COUNT]
        if used + need > refs.shape[0]:
            fresh = np.empty(max(refs.shape[0], 2 * used + need), dtype=np.int32)
            total = 0
            for x in range(n_vertices):
                if vi[x, V_LAST] < 0:
                    continue
                s0 = vi[x, V_START]
                for i in range(vi[x, V_COUNT]):
                    fresh[total + i] = refs[s0 + i]
                vi[x, V_START] = total
                total += vi[x, V_COUNT]
            refs = fresh
            used = total
            stats[6] += 1
        top = used
        s0 = vi[u, V_START]
        for i in range(vi[u, V_COUNT]):  # u's faces: the shared ones die, the others now use v
            f = refs[s0 + i]
            if _corner(fc, f, v) >= 0:
                fc[f, F_ALIVE] = 0
                faces_left -= 1
                x = fc[f, 0] + fc[f, 1] + fc[f, 2] - u - v  # the apex: drop the face from its list too
                sx = vi[x, V_START]
                cx = vi[x, V_COUNT]
                for j in range(cx):
                    if refs[sx + j] == f:
                        refs[sx + j] = refs[sx + cx - 1]
                        vi[x, V_COUNT] = cx - 1
                        break
                continue
            k = _corner(fc, f, u)
            fc[f, k] = v
            j = _index(ma, n_map, fc[f, F_WEDGES + k])
            if j >= 0:
                fc[f, F_WEDGES + k] = mb[j]
            refs[top] = f
            top += 1
        s0 = vi[v, V_START]
        for i in range(vi[v, V_COUNT]):
            f = refs[s0 + i]
            if fc[f, F_ALIVE]:
                refs[top] = f
                top += 1
        vi[v, V_START] = used
        vi[v, V_COUNT] = top - used
        used = top
        vi[u, V_LAST] = -1
        vi[u, V_COUNT] = 0
        vi[v, V_LAST] = collapses
        # wedges of v and its ring, then fresh heap entries for every edge at v
        nw = 0
        nr = 0
        stamp += 2
        s0 = vi[v, V_START]
        for i in range(vi[v, V_COUNT]):
            f = refs[s0 + i]
            k = _corner(fc, f, v)
            w = fc[f, F_WEDGES + k]
            if _index(wl, nw, w) < 0 and nw < MAXW:
                wl[nw] = w
                nw += 1
            for b2 in (fc[f, (k + 1) % 3], fc[f, (k + 2) % 3]):
                if vi[b2, V_MARK] != stamp:
                    vi[b2, V_MARK] = stamp
                    if nr == ring.shape[0]:
                        ring2 = np.empty(2 * nr, dtype=np.int64)
                        ring2[:nr] = ring[:nr]
                        ring = ring2
                    ring[nr] = b2
                    nr += 1
        if nw == 1:
            vi[v, V_FLAGS] &= ~MULTI
        else:
            vi[v, V_FLAGS] |= MULTI
        vi[v, V_WEDGE] = wl[0] if nw > 0 else -1
        for i in range(nr):
            w = ring[i]
            cost, _ = _edge_cost(v, w, fc, refs, vi, vq, wq, k_attr, preserve_boundary, ma, mb, wl, tmp)
            if cost == np.inf:
                continue
            a2, b2 = (v, w) if v < w else (w, v)
            hq, pool, n, npool = _push(hq, pool, n, npool, cost, a2, b2, collapses, vi)
        if n > clean_at:
            pool, n = _compact(hq, pool, n, vi)
            npool = n
            clean_at = max(n + n // 4, 4096)
            stats[7] += 1
    return faces_left, collapses, max_seen, relaxed, stats


# -- wedges --------------------------------------------------------------------------------------


@njit(cache=True)
def unique_rows(keys, table):
    """Ids of the distinct rows of an (n, c) int64 array, in order of first appearance. Returns
    (inverse (n,), first (count,) row of each id). ``table`` is scratch: a power of two ≥ 2n slots."""
    mask = table.shape[0] - 1
    table[:] = -1
    n, c = keys.shape
    inverse = np.empty(n, dtype=np.int32)
    first = np.empty(n, dtype=np.int64)
    count = 0
    for i in range(n):
        h = np.uint64(0)
        for k in range(c):
            h = _mix(h, np.uint64(keys[i, k]))
        slot = np.int64(h & np.uint64(mask))
        while True:
            j = table[slot]
            if j == -1:
                table[slot] = i
                inverse[i] = count
                first[count] = i
                count += 1
                break
            same = True
            for k in range(c):
                if keys[j, k] != keys[i, k]:
                    same = False
                    break
            if same:
                inverse[i] = inverse[j]
                break
            slot = (slot + 1) & mask
    return inverse, first[:count].copy()


@njit(cache=True)
def corner_keys(corners, vid, uv_faces, uv, material, colors):
    """Wedge key of every corner of the kept faces: (welded vertex, [u bits, v bits, has UV], [material],
    [RGBA]); the optional parts are present when their arrays have rows."""
    m = corners.shape[0]
    with_uv = uv_faces.shape[0] == m
    with_mat = material.shape[0] == m
    with_col = colors.shape[0] > 0
    width = 1 + (3 if with_uv else 0) + (1 if with_mat else 0) + (1 if with_col else 0)
    keys = np.zeros((3 * m, width), dtype=np.int64)
    for f in range(m):
        for k in range(3):
            row = 3 * f + k
            c = corners[f, k]
            keys[row, 0] = vid[c]
            col = 1
            if with_uv:
                t = uv_faces[f, k]
                if t >= 0 and np.isfinite(uv[t, 0]) and np.isfinite(uv[t, 1]):
                    keys[row, 1] = np.float64(uv[t, 0] + 0.0).view(np.int64)
                    keys[row, 2] = np.float64(uv[t, 1] + 0.0).view(np.int64)
                    keys[row, 3] = 1
                col = 4
            if with_mat:
                keys[row, col] = material[f]
                col += 1
            if with_col:
                keys[row, col] = ((np.int64(colors[c, 0]) << 24) | (np.int64(colors[c, 1]) << 16)
                                  | (np.int64(colors[c, 2]) << 8) | np.int64(colors[c, 3]))
    return keys


@njit(cache=True)
def surface_areas(pos, faces, uv, cw):
    """Total 3D area of the faces and total unsigned area of their UV triangles."""
    area3 = 0.0
    area_uv = 0.0
    for f in range(faces.shape[0]):
        i0, i1, i2 = faces[f, 0], faces[f, 1], faces[f, 2]
        e1x, e1y, e1z = pos[i1, 0] - pos[i0, 0], pos[i1, 1] - pos[i0, 1], pos[i1, 2] - pos[i0, 2]
        e2x, e2y, e2z = pos[i2, 0] - pos[i0, 0], pos[i2, 1] - pos[i0, 1], pos[i2, 2] - pos[i0, 2]
        nx, ny, nz = e1y * e2z - e1z * e2y, e1z * e2x - e1x * e2z, e1x * e2y - e1y * e2x
        area3 += 0.5 * np.sqrt(nx * nx + ny * ny + nz * nz)
        w0, w1, w2 = cw[f, 0], cw[f, 1], cw[f, 2]
        area_uv += 0.5 * abs((uv[w1, 0] - uv[w0, 0]) * (uv[w2, 1] - uv[w0, 1])
                             - (uv[w2, 0] - uv[w0, 0]) * (uv[w1, 1] - uv[w0, 1]))
    return area3, area_uv
