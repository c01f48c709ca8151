"""numba kernels of the quadric edge-collapse decimator. Private: call ``llvscan.mesh.decimate``.

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

from llvscan.mesh._kernels import _mix

BOUNDARY = 1  # vertex flag: on an open boundary
LOCKED = 2  # vertex flag: never removed (non-manifold, too many wedges, or boundary locking)
MULTI = 4  # vertex flag: more than one wedge (on a UV seam or a material border)
MAXW = 16  # a vertex with more wedges than this is locked
_SQRT3x4 = 6.928203230275509

# -- quadrics ------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _qg_add(qg, v, w, nx, ny, nz, d):
    qg[v, 0] += w * nx * nx
    qg[v, 1] += w * nx * ny
    qg[v, 2] += w * nx * nz
    qg[v, 3] += w * ny * ny
    qg[v, 4] += w * ny * nz
    qg[v, 5] += w * nz * nz
    qg[v, 6] += w * d * nx
    qg[v, 7] += w * d * ny
    qg[v, 8] += w * d * nz
    qg[v, 9] += w * d * d


@njit(cache=True)
def init_quadrics(pos, faces, cw, wattr, qg, qa, varea):
    """Face-plane quadrics into ``qg``/``varea`` (per vertex) and attribute quadrics into ``qa`` (per wedge)."""
    k_attr = wattr.shape[1]
    for f in range(faces.shape[0]):
        i0, i1, i2 = faces[f, 0], faces[f, 1], faces[f, 2]
        e1x, e1y, e1z = pos[i1, 0] - pos[i0, 0], pos[i1, 1] - pos[i0, 1], pos[i1, 2] - pos[i0, 2]
        e2x, e2y, e2z = pos[i2, 0] - pos[i0, 0], pos[i2, 1] - pos[i0, 1], pos[i2, 2] - pos[i0, 2]
        nx, ny, nz = e1y * e2z - e1z * e2y, e1z * e2x - e1x * e2z, e1x * e2y - e1y * e2x
        length = np.sqrt(nx * nx + ny * ny + nz * nz)
        if length == 0.0:
            continue
        area = 0.5 * length
        nx, ny, nz = nx / length, ny / length, nz / length
        d = -(nx * pos[i0, 0] + ny * pos[i0, 1] + nz * pos[i0, 2])
        for k in range(3):
            _qg_add(qg, faces[f, k], area, nx, ny, nz, d)
            varea[faces[f, k]] += area
        if k_attr == 0:
            continue
        # gradient g of each attribute in the face's plane: g·e1 = s1 - s0, g·e2 = s2 - s0
        a11 = e1x * e1x + e1y * e1y + e1z * e1z
        a12 = e1x * e2x + e1y * e2y + e1z * e2z
        a22 = e2x * e2x + e2y * e2y + e2z * e2z
        det = a11 * a22 - a12 * a12
        if det <= 1e-12 * a11 * a22:
            continue
        w0, w1, w2 = cw[f, 0], cw[f, 1], cw[f, 2]
        for j in range(k_attr):
            r1 = wattr[w1, j] - wattr[w0, j]
            r2 = wattr[w2, j] - wattr[w0, j]
            al = (r1 * a22 - r2 * a12) / det
            be = (r2 * a11 - r1 * a12) / det
            gx, gy, gz = al * e1x + be * e2x, al * e1y + be * e2y, al * e1z + be * e2z
            dj = wattr[w0, j] - (gx * pos[i0, 0] + gy * pos[i0, 1] + gz * pos[i0, 2])
            for k in range(3):
                w = cw[f, k]
                qa[w, 0] += area * gx * gx
                qa[w, 1] += area * gx * gy
                qa[w, 2] += area * gx * gz
                qa[w, 3] += area * gy * gy
                qa[w, 4] += area * gy * gz
                qa[w, 5] += area * gz * gz
                qa[w, 6 + 3 * j] -= area * gx
                qa[w, 7 + 3 * j] -= area * gy
                qa[w, 8 + 3 * j] -= area * gz
                qa[w, 7 + 3 * k_attr] += area * dj * gx
                qa[w, 8 + 3 * k_attr] += area * dj * gy
                qa[w, 9 + 3 * k_attr] += area * dj * gz
                qa[w, 10 + 3 * k_attr + j] -= area * dj
                qa[w, 10 + 4 * k_attr] += area * dj * dj
        for k in range(3):
            qa[cw[f, k], 6 + 3 * k_attr] += area


@njit(cache=True)
def add_edge_planes(pos, faces, he, weight, qg):
    """Constraint planes along the half-edges ``he`` (3f + k): through the edge, perpendicular to its face,
    weighted by ``weight`` × squared edge length, added to both ends."""
    for i in range(he.shape[0]):
        f, k = he[i] // 3, he[i] % 3
        a, b, c = faces[f, k], faces[f, (k + 1) % 3], faces[f, (k + 2) % 3]
        ex, ey, ez = pos[b, 0] - pos[a, 0], pos[b, 1] - pos[a, 1], pos[b, 2] - pos[a, 2]
        fx, fy, fz = pos[c, 0] - pos[a, 0], pos[c, 1] - pos[a, 1], pos[c, 2] - pos[a, 2]
        nx, ny, nz = ey * fz - ez * fy, ez * fx - ex * fz, ex * fy - ey * fx
        mx, my, mz = ey * nz - ez * ny, ez * nx - ex * nz, ex * ny - ey * nx  # in the face, across the edge
        ml = np.sqrt(mx * mx + my * my + mz * mz)
        if ml == 0.0:
            continue
        mx, my, mz = mx / ml, my / ml, mz / ml
        d = -(mx * pos[a, 0] + my * pos[a, 1] + mz * pos[a, 2])
        w = weight * (ex * ex + ey * ey + ez * ez)
        _qg_add(qg, a, w, mx, my, mz, d)
        _qg_add(qg, b, w, mx, my, mz, d)


@njit(cache=True, inline="always")
def _qg_eval(q, px, py, pz):
    return (q[0] * px * px + 2.0 * q[1] * px * py + 2.0 * q[2] * px * pz + q[3] * py * py
            + 2.0 * q[4] * py * pz + q[5] * pz * pz + 2.0 * (q[6] * px + q[7] * py + q[8] * pz) + q[9])


@njit(cache=True, inline="always")
def _qa_eval(q, px, py, pz, s, k_attr):
    e = (q[0] * px * px + 2.0 * q[1] * px * py + 2.0 * q[2] * px * pz + q[3] * py * py
         + 2.0 * q[4] * py * pz + q[5] * pz * pz + q[10 + 4 * k_attr])
    e += 2.0 * (q[7 + 3 * k_attr] * px + q[8 + 3 * k_attr] * py + q[9 + 3 * k_attr] * pz)
    alpha = q[6 + 3 * k_attr]
    for j in range(k_attr):
        sj = s[j]
        e += 2.0 * sj * (q[6 + 3 * j] * px + q[7 + 3 * j] * py + q[8 + 3 * j] * pz)
        e += alpha * sj * sj + 2.0 * q[10 + 3 * k_attr + j] * sj
    return e


@njit(cache=True, inline="always")
def _best_s(q, px, py, pz, out, k_attr):
    """Attributes minimising the wedge quadric ``q`` at position p: s = −(Bᵀp + bs) / alpha."""
    alpha = q[6 + 3 * k_attr]
    for j in range(k_attr):
        if alpha > 0.0:
            out[j] = -(q[6 + 3 * j] * px + q[7 + 3 * j] * py + q[8 + 3 * j] * pz + q[10 + 3 * k_attr + j]) / alpha
        else:
            out[j] = 0.0


@njit(cache=True)
def _full_collapse(qg, qa, pos, u, v, wu, wv, k_attr, tmp, sbest):
    """Optimal point of the summed quadrics of two free vertices. Returns (cost, x, y, z); ``sbest`` gets
    the attributes. ``tmp`` is scratch of 11 + 5K floats."""
    for i in range(qa.shape[1]):
        tmp[i] = qa[wu, i] + qa[wv, i]
    a00 = qg[u, 0] + qg[v, 0] + tmp[0]
    a01 = qg[u, 1] + qg[v, 1] + tmp[1]
    a02 = qg[u, 2] + qg[v, 2] + tmp[2]
    a11 = qg[u, 3] + qg[v, 3] + tmp[3]
    a12 = qg[u, 4] + qg[v, 4] + tmp[4]
    a22 = qg[u, 5] + qg[v, 5] + tmp[5]
    r0 = -(qg[u, 6] + qg[v, 6] + tmp[7 + 3 * k_attr])
    r1 = -(qg[u, 7] + qg[v, 7] + tmp[8 + 3 * k_attr])
    r2 = -(qg[u, 8] + qg[v, 8] + tmp[9 + 3 * k_attr])
    alpha = tmp[6 + 3 * k_attr]
    if alpha > 0.0:
        for j in range(k_attr):
            bx, by, bz = tmp[6 + 3 * j], tmp[7 + 3 * j], tmp[8 + 3 * j]
            bs = tmp[10 + 3 * k_attr + j]
            a00 -= bx * bx / alpha
            a01 -= bx * by / alpha
            a02 -= bx * bz / alpha
            a11 -= by * by / alpha
            a12 -= by * bz / alpha
            a22 -= bz * bz / alpha
            r0 += bx * bs / alpha
            r1 += by * bs / alpha
            r2 += bz * bs / alpha
    c00 = a11 * a22 - a12 * a12
    c01 = a02 * a12 - a01 * a22
    c02 = a01 * a12 - a02 * a11
    det = a00 * c00 + a01 * c01 + a02 * c02
    scale = a00 + a11 + a22
    best = np.inf
    bx = by = bz = 0.0
    if scale > 0.0 and abs(det) > 1e-9 * scale * scale * scale:
        c11 = a00 * a22 - a02 * a02
        c12 = a01 * a02 - a00 * a12
        c22 = a00 * a11 - a01 * a01
        x = (c00 * r0 + c01 * r1 + c02 * r2) / det
        y = (c01 * r0 + c11 * r1 + c12 * r2) / det
        z = (c02 * r0 + c12 * r1 + c22 * r2) / det
        # keep the optimum near the edge: far-away optima of nearly flat quadrics are numerical noise
        ex, ey, ez = pos[v, 0] - pos[u, 0], pos[v, 1] - pos[u, 1], pos[v, 2] - pos[u, 2]
        mx = x - 0.5 * (pos[u, 0] + pos[v, 0])
        my = y - 0.5 * (pos[u, 1] + pos[v, 1])
        mz = z - 0.5 * (pos[u, 2] + pos[v, 2])
        if mx * mx + my * my + mz * mz <= 4.0 * (ex * ex + ey * ey + ez * ez):
            _best_s(tmp, x, y, z, sbest, k_attr)
            best = _qg_eval(qg[u], x, y, z) + _qg_eval(qg[v], x, y, z) + _qa_eval(tmp, x, y, z, sbest, k_attr)
            bx, by, bz = x, y, z
    if best == np.inf:
        s = tmp[11 + 4 * k_attr:]  # scratch beyond the summed quadric
        for t in range(3):
            w = 0.5 * t
            x = pos[u, 0] + w * (pos[v, 0] - pos[u, 0])
            y = pos[u, 1] + w * (pos[v, 1] - pos[u, 1])
            z = pos[u, 2] + w * (pos[v, 2] - pos[u, 2])
            _best_s(tmp, x, y, z, s, k_attr)
            e = _qg_eval(qg[u], x, y, z) + _qg_eval(qg[v], x, y, z) + _qa_eval(tmp, x, y, z, s, k_attr)
            if e < best:
                best = e
                bx, by, bz = x, y, z
                for j in range(k_attr):
                    sbest[j] = s[j]
    return max(best, 0.0), bx, by, bz


# -- adjacency -----------------------------------------------------------------------------------


@njit(cache=True)
def build_adjacency(faces, n_vertices, capacity):
    """Vertex → face lists: ``refs[vstart[v] : vstart[v] + vcount[v]]``; ``refs`` has spare room."""
    vcount = np.zeros(n_vertices, dtype=np.int32)
    for f in range(faces.shape[0]):
        for k in range(3):
            vcount[faces[f, k]] += 1
    vstart = np.zeros(n_vertices, dtype=np.int64)
    total = 0
    for v in range(n_vertices):
        vstart[v] = total
        total += vcount[v]
    refs = np.empty(max(capacity, total), dtype=np.int32)
    fill = np.zeros(n_vertices, dtype=np.int32)
    for f in range(faces.shape[0]):
        for k in range(3):
            v = faces[f, k]
            refs[vstart[v] + fill[v]] = f
            fill[v] += 1
    return vstart, vcount, refs, total


@njit(cache=True, inline="always")
def _corner(faces, f, v):
    if faces[f, 0] == v:
        return 0
    if faces[f, 1] == v:
        return 1
    if faces[f, 2] == v:
        return 2
    return -1


@njit(cache=True)
def _wedge_map(u, v, faces, cw, face_alive, refs, vstart, vcount, ma, mb):
    """Map the wedges of ``u`` to wedges of ``v`` through the faces that hold both. Returns
    (pairs, shared faces); pairs = -1 when a wedge of ``u`` has no image or two."""
    n = 0
    shared = 0
    start = vstart[u]
    for i in range(vcount[u]):
        f = refs[start + i]
        if not face_alive[f]:
            continue
        kv = _corner(faces, f, v)
        if kv < 0:
            continue
        shared += 1
        wa = cw[f, _corner(faces, f, u)]
        wb = cw[f, kv]
        found = False
        for j in range(n):
            if ma[j] == wa:
                found = True
                if mb[j] != wb:
                    return -1, shared
        if not found:
            if n == MAXW:
                return -1, shared
            ma[n] = wa
            mb[n] = wb
            n += 1
    for i in range(vcount[u]):
        f = refs[start + i]
        if not face_alive[f]:
            continue
        wa = cw[f, _corner(faces, f, u)]
        found = False
        for j in range(n):
            if ma[j] == wa:
                found = True
                break
        if not found:
            return -1, shared
    return n, shared


@njit(cache=True)
def _half_cost(u, v, faces, cw, face_alive, refs, vstart, vcount, vflags, qg, qa, pos, wattr, k_attr,
               preserve_boundary, ma, mb, wl):
    """Cost of the half-edge collapse u → v (v stays), or inf when the rules forbid it."""
    if vflags[u] & LOCKED:
        return np.inf
    n, shared = _wedge_map(u, v, faces, cw, face_alive, refs, vstart, vcount, ma, mb)
    if n < 0 or shared == 0 or shared > 2:
        return np.inf
    if (vflags[u] & BOUNDARY) and (vflags[v] & BOUNDARY) and shared == 2:
        return np.inf  # an interior edge between two boundary vertices: collapsing it pinches the surface
    if preserve_boundary and (vflags[u] & BOUNDARY) and shared != 1:
        return np.inf  # a boundary vertex only slides along its boundary
    px, py, pz = pos[v, 0], pos[v, 1], pos[v, 2]
    cost = _qg_eval(qg[u], px, py, pz) + _qg_eval(qg[v], px, py, pz)
    for j in range(n):
        cost += _qa_eval(qa[ma[j]], px, py, pz, wattr[mb[j]], k_attr)
    # v's own wedges at their own attributes
    nw = 0
    start = vstart[v]
    for i in range(vcount[v]):
        f = refs[start + i]
        if not face_alive[f]:
            continue
        w = cw[f, _corner(faces, f, v)]
        seen = False
        for j in range(nw):
            if wl[j] == w:
                seen = True
                break
        if not seen:
            if nw == MAXW:
                return np.inf
            wl[nw] = w
            nw += 1
            cost += _qa_eval(qa[w], px, py, pz, wattr[w], k_attr)
    return max(cost, 0.0)


@njit(cache=True, inline="always")
def _is_free(v, vflags):
    return vflags[v] == 0


@njit(cache=True, inline="always")
def _edge_cost(a, b, faces, cw, face_alive, refs, vstart, vcount, vflags, vwedge, qg, qa, pos, wattr,
               k_attr, preserve_boundary, ma, mb, wl, tmp, sbest):
    """Cheapest allowed collapse of edge (a, b): (cost, mode) with mode 0: a→b, 1: b→a, 2: full."""
    if _is_free(a, vflags) and _is_free(b, vflags):
        cost, _, _, _ = _full_collapse(qg, qa, pos, a, b, vwedge[a], vwedge[b], k_attr, tmp, sbest)
        return cost, 2
    c0 = _half_cost(a, b, faces, cw, face_alive, refs, vstart, vcount, vflags, qg, qa, pos, wattr, k_attr,
                    preserve_boundary, ma, mb, wl)
    c1 = _half_cost(b, a, faces, cw, face_alive, refs, vstart, vcount, vflags, qg, qa, pos, wattr, k_attr,
                    preserve_boundary, ma, mb, wl)
    if c1 < c0:
        return c1, 1
    return c0, 0


# -- heap ----------------------------------------------------------------------------------------
# A 4-ary min-heap of int64 words: the cost as float32 bits (monotonic for costs ≥ 0) in the high half,
# the entry's slot in the pool arrays (a, b, push time) in the low half; ties go to the older slot.
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
def _valid(a, b, t, last):
    """A heap entry is live while neither end has been removed (last = -1) or changed since its push."""
    la = last[a]
    lb = last[b]
    return la >= 0 and lb >= 0 and la <= t and lb <= t


@njit(cache=True)
def _push(hq, pool, n, npool, cost, a, b, t, last):
    """Push edge (a, b) at ``cost``; returns the (possibly new) heap and pool, size and pool fill."""
    if npool == pool.shape[0]:
        cap = pool.shape[0]
        keep = 0
        fresh = np.empty((cap, 3), dtype=np.int32)
        for i in range(n):
            slot = hq[i] & 0xFFFFFFFF
            if _valid(pool[slot, 0], pool[slot, 1], pool[slot, 2], last):
                hq[keep] = ((hq[i] >> 32) << 32) | keep
                fresh[keep, 0], fresh[keep, 1], fresh[keep, 2] = pool[slot, 0], pool[slot, 1], pool[slot, 2]
                keep += 1
        if keep > cap // 2:  # mostly live: grow
            cap *= 2
            hq2 = np.empty(cap, dtype=np.int64)
            hq2[:keep] = hq[:keep]
            hq = hq2
            fresh2 = np.empty((cap, 3), dtype=np.int32)
            fresh2[:keep] = fresh[:keep]
            fresh = fresh2
        pool = fresh
        n = keep
        npool = keep
        _heapify(hq, n)
    pool[npool, 0], pool[npool, 1], pool[npool, 2] = a, b, t
    hq[n] = _pack(cost, npool)
    _sift_up(hq, n)
    return hq, pool, n + 1, npool + 1


# -- validity of one collapse ----------------------------------------------------------------------


@njit(cache=True, inline="always")
def _normal(pos, a, b, c, px, py, pz, moved):
    """Normal (unnormalised) of triangle a b c with corner ``moved`` (0-2, or -1) at p."""
    ax, ay, az = pos[a, 0], pos[a, 1], pos[a, 2]
    bx, by, bz = pos[b, 0], pos[b, 1], pos[b, 2]
    cx, cy, cz = pos[c, 0], pos[c, 1], pos[c, 2]
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
def _faces_ok(x, other, px, py, pz, faces, cw, face_alive, refs, vstart, vcount, pos, wattr, has_uv, ma, mb, n_map,
              snew, full, flip_cos, min_quality):
    """Do the faces of ``x`` that survive (those without ``other``) keep their orientation, their UV
    orientation and an acceptable shape when ``x`` moves to p (and its wedges change as mapped)?"""
    start = vstart[x]
    for i in range(vcount[x]):
        f = refs[start + i]
        if not face_alive[f]:
            continue
        k = _corner(faces, f, x)
        if faces[f, (k + 1) % 3] == other or faces[f, (k + 2) % 3] == other:
            continue
        a, b, c = faces[f, 0], faces[f, 1], faces[f, 2]
        ox, oy, oz, osq = _normal(pos, a, b, c, 0.0, 0.0, 0.0, -1)
        nx, ny, nz, nsq = _normal(pos, a, b, c, px, py, pz, k)
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
            w0, w1, w2 = cw[f, 0], cw[f, 1], cw[f, 2]
            old = ((wattr[w1, 0] - wattr[w0, 0]) * (wattr[w2, 1] - wattr[w0, 1])
                   - (wattr[w2, 0] - wattr[w0, 0]) * (wattr[w1, 1] - wattr[w0, 1]))
            if old == 0.0:
                continue
            wk = cw[f, k]
            su = wattr[wk, 0]
            sv = wattr[wk, 1]
            if full:
                su, sv = snew[0], snew[1]
            else:
                for j in range(n_map):
                    if ma[j] == wk:
                        su, sv = wattr[mb[j], 0], wattr[mb[j], 1]
                        break
            u0, v0, u1, v1, u2, v2 = wattr[w0, 0], wattr[w0, 1], wattr[w1, 0], wattr[w1, 1], wattr[w2, 0], wattr[w2, 1]
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
def _link_ok(u, v, faces, face_alive, refs, vstart, vcount, mark, stamp, vflags, allow_vanish):
    """Link condition: the common neighbours of u and v are exactly the apexes of their shared faces,
    and no face other than those joins both apexes to u and to v (the tetrahedron case)."""
    x0 = -1
    x1 = -1
    shared = 0
    total = 0
    for side in range(2):
        a = u if side == 0 else v
        start = vstart[a]
        for i in range(vcount[a]):
            f = refs[start + i]
            if not face_alive[f]:
                continue
            total += 1
            if side == 0:
                k = _corner(faces, f, u)
                b, c = faces[f, (k + 1) % 3], faces[f, (k + 2) % 3]
                if b == v or c == v:
                    shared += 1
                    apex = c if b == v else b
                    if x0 < 0:
                        x0 = apex
                    else:
                        x1 = apex
                mark[b] = stamp
                mark[c] = stamp
    total -= shared  # shared faces were counted from both sides
    if total - shared == 0 and not allow_vanish:
        return False  # the collapse would remove a whole component
    common = 0
    start = vstart[v]
    for i in range(vcount[v]):
        f = refs[start + i]
        if not face_alive[f]:
            continue
        k = _corner(faces, f, v)
        for b in (faces[f, (k + 1) % 3], faces[f, (k + 2) % 3]):
            if b != u and mark[b] == stamp:
                mark[b] = stamp + 1  # count once
                common += 1
    if common != shared:
        return False
    if shared == 2:
        # edge (x0, x1) in both links: faces u x0 x1 and v x0 x1
        both = 0
        for side in range(2):
            a = u if side == 0 else v
            start = vstart[a]
            for i in range(vcount[a]):
                f = refs[start + i]
                if not face_alive[f]:
                    continue
                if _corner(faces, f, x0) >= 0 and _corner(faces, f, x1) >= 0:
                    both += 1
                    break
        if both == 2:
            return False
    return True


# -- the decimator -------------------------------------------------------------------------------


@njit(cache=True)
def decimate(pos, faces, cw, wattr, qg, qa, varea, vflags, vwedge, edges, target, max_cost, flip_cos,
             min_quality, preserve_boundary, allow_vanish, has_uv):
    """Collapse edges until ``target`` faces remain or no allowed collapse is left.

    Modifies ``pos``, ``faces``, ``cw``, ``wattr``, ``qg``, ``qa`` in place. ``max_cost`` bounds the
    normalised cost (quadric cost / area of the two vertices' faces), inf for none. Returns
    ``(face_alive, faces_left, collapses, max_normalised_cost, relaxed, stats)``.
    """
    n_vertices = pos.shape[0]
    m = faces.shape[0]
    k_attr = wattr.shape[1]
    face_alive = np.ones(m, dtype=np.bool_)
    last = np.zeros(n_vertices, dtype=np.int32)  # collapse that last changed a vertex; -1: removed
    mark = np.zeros(n_vertices, dtype=np.int32)
    stamp = 0
    vstart, vcount, refs, used = build_adjacency(faces, n_vertices, 6 * m + 1024)
    ma = np.empty(MAXW, dtype=np.int64)
    mb = np.empty(MAXW, dtype=np.int64)
    wl = np.empty(MAXW, dtype=np.int64)
    tmp = np.empty(qa.shape[1] + k_attr)
    sbest = np.zeros(max(k_attr, 2))
    ring = np.empty(64, dtype=np.int64)

    cap = 2 * edges.shape[0] + 1024
    hq = np.empty(cap, dtype=np.int64)
    pool = np.empty((cap, 3), dtype=np.int32)  # (a, b, push time) of each heap entry
    n = 0
    for e in range(edges.shape[0]):
        a, b = edges[e, 0], edges[e, 1]
        cost, _ = _edge_cost(a, b, faces, cw, face_alive, refs, vstart, vcount, vflags, vwedge, qg, qa, pos,
                             wattr, k_attr, preserve_boundary, ma, mb, wl, tmp, sbest)
        if cost < np.inf:
            pool[n, 0], pool[n, 1], pool[n, 2] = a, b, 0
            hq[n] = _pack(cost, n)
            n += 1
    npool = n
    _heapify(hq, n)

    stats = np.zeros(8, dtype=np.int64)  # pops, stale, refused by rules, link, shape, parity, refs/heap compactions
    faces_left = m
    collapses = 0
    n_boundary = 0
    for x in range(n_vertices):
        if vflags[x] & BOUNDARY:
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
                if last[a] < 0:
                    continue
                stamp += 2
                start = vstart[a]
                for i in range(vcount[a]):
                    f = refs[start + i]
                    if not face_alive[f]:
                        continue
                    for k in range(3):
                        b = faces[f, k]
                        if b > a and mark[b] != stamp:
                            mark[b] = stamp
                            cost, _ = _edge_cost(a, b, faces, cw, face_alive, refs, vstart, vcount, vflags,
                                                 vwedge, qg, qa, pos, wattr, k_attr, preserve_boundary, ma, mb,
                                                 wl, tmp, sbest)
                            if cost < np.inf:
                                hq, pool, n, npool = _push(hq, pool, n, npool, cost, a, b, collapses, last)
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
        if not _valid(a, b, t, last):
            stats[1] += 1
            continue
        cost, mode = _edge_cost(a, b, faces, cw, face_alive, refs, vstart, vcount, vflags, vwedge, qg, qa,
                                pos, wattr, k_attr, preserve_boundary, ma, mb, wl, tmp, sbest)
        if cost == np.inf:
            stats[2] += 1
            continue
        u, v = (a, b) if mode != 1 else (b, a)
        norm = cost / max(varea[u] + varea[v], 1e-300)
        if norm > max_cost:
            continue
        full = mode == 2
        if full:
            cost, px, py, pz = _full_collapse(qg, qa, pos, u, v, vwedge[u], vwedge[v], k_attr, tmp, sbest)
            n_map = 1
            ma[0] = vwedge[u]
            mb[0] = vwedge[v]
            shared = 0
            start = vstart[u]
            for i in range(vcount[u]):
                f = refs[start + i]
                if face_alive[f] and _corner(faces, f, v) >= 0:
                    shared += 1
        else:
            px, py, pz = pos[v, 0], pos[v, 1], pos[v, 2]
            n_map, shared = _wedge_map(u, v, faces, cw, face_alive, refs, vstart, vcount, ma, mb)
        if faces_left - target == 1 and shared != 1:
            if n_boundary == 0:
                break  # a closed surface loses faces two at a time
            stats[5] += 1
            continue  # one face to go: only a boundary collapse removes exactly one
        stamp += 2
        if not _link_ok(u, v, faces, face_alive, refs, vstart, vcount, mark, stamp, vflags, allow_vanish):
            stats[3] += 1
            continue
        if not _faces_ok(u, v, px, py, pz, faces, cw, face_alive, refs, vstart, vcount, pos, wattr, has_uv, ma, mb,
                         n_map, sbest, full, f_guard, q_guard) or (
                full and not _faces_ok(v, u, px, py, pz, faces, cw, face_alive, refs, vstart, vcount, pos, wattr,
                                       has_uv, mb, mb, 1, sbest, full, f_guard, q_guard)):
            stats[4] += 1
            continue

        # -- collapse u into v ----------------------------------------------------------------------
        collapses += 1
        if norm > max_seen:
            max_seen = norm
        pos[v, 0], pos[v, 1], pos[v, 2] = px, py, pz
        for i in range(10):
            qg[v, i] += qg[u, i]
        varea[v] += varea[u]
        for j in range(n_map):
            for i in range(qa.shape[1]):
                qa[mb[j], i] += qa[ma[j], i]
        if full:
            for j in range(k_attr):
                wattr[mb[0], j] = sbest[j]
        if vflags[u] & BOUNDARY:
            n_boundary -= 1
            if not vflags[v] & BOUNDARY:
                n_boundary += 1
                vflags[v] |= BOUNDARY
        # new face list of v: its own survivors, then u's, rewritten
        need = vcount[u] + vcount[v]
        if used + need > refs.shape[0]:
            fresh = np.empty(max(refs.shape[0], 2 * used + need), dtype=np.int32)
            total = 0
            for x in range(n_vertices):
                if last[x] < 0:
                    continue
                s0 = vstart[x]
                c = 0
                for i in range(vcount[x]):
                    f = refs[s0 + i]
                    if face_alive[f]:
                        fresh[total + c] = f
                        c += 1
                vstart[x] = total
                vcount[x] = c
                total += c
            refs = fresh
            used = total
            stats[6] += 1
        top = used
        for side in range(2):
            x = v if side == 0 else u
            s0 = vstart[x]
            for i in range(vcount[x]):
                f = refs[s0 + i]
                if not face_alive[f]:
                    continue
                if side == 1:
                    k = _corner(faces, f, v)
                    if k >= 0:  # shared with v: gone
                        face_alive[f] = False
                        faces_left -= 1
                        continue
                    k = _corner(faces, f, u)
                    faces[f, k] = v
                    wk = cw[f, k]
                    for j in range(n_map):
                        if ma[j] == wk:
                            cw[f, k] = mb[j]
                            break
                refs[top] = f
                top += 1
        # faces of v that were shared with u are still in v's part: drop them now
        w_top = used
        for i in range(used, top):
            if face_alive[refs[i]]:
                refs[w_top] = refs[i]
                w_top += 1
        vstart[v] = used
        vcount[v] = w_top - used
        used = w_top
        last[u] = -1
        vcount[u] = 0
        last[v] = collapses
        # wedges of v and its ring, then fresh heap entries for every edge at v
        nw = 0
        nr = 0
        stamp += 2
        for i in range(vcount[v]):
            f = refs[vstart[v] + i]
            k = _corner(faces, f, v)
            w = cw[f, k]
            seen = False
            for j in range(nw):
                if wl[j] == w:
                    seen = True
                    break
            if not seen and nw < MAXW:
                wl[nw] = w
                nw += 1
            for b2 in (faces[f, (k + 1) % 3], faces[f, (k + 2) % 3]):
                if mark[b2] != stamp:
                    mark[b2] = stamp
                    if nr == ring.shape[0]:
                        ring2 = np.empty(2 * nr, dtype=np.int64)
                        ring2[:nr] = ring[:nr]
                        ring = ring2
                    ring[nr] = b2
                    nr += 1
        if nw == 1:
            vflags[v] &= ~MULTI
        else:
            vflags[v] |= MULTI
        vwedge[v] = wl[0] if nw > 0 else -1
        for i in range(nr):
            w = ring[i]
            cost, _ = _edge_cost(v, w, faces, cw, face_alive, refs, vstart, vcount, vflags, vwedge, qg, qa, pos,
                                 wattr, k_attr, preserve_boundary, ma, mb, wl, tmp, sbest)
            if cost == np.inf:
                continue
            a2, b2 = (v, w) if v < w else (w, v)
            hq, pool, n, npool = _push(hq, pool, n, npool, cost, a2, b2, collapses, last)
    return face_alive, faces_left, collapses, max_seen, relaxed, stats


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
