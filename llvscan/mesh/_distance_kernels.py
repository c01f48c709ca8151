"""numba kernels for surface distances: a uniform grid of triangles and closest-point queries.
Private: call ``llvscan.mesh.mesh_distance``."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from llvscan import _numba  # noqa: F401  (numba's configuration, before the first kernel compiles)


@njit(cache=True)
def build_grid(vertices, faces, lo, cell, dims):
    """Triangles bucketed into every grid cell their bounding box touches (CSR: start, items)."""
    nx, ny, nz = dims[0], dims[1], dims[2]
    counts = np.zeros(nx * ny * nz + 1, dtype=np.int64)
    m = faces.shape[0]
    box = np.empty((m, 6), dtype=np.int64)
    for f in range(m):
        for d in range(3):
            a = vertices[faces[f, 0], d]
            b = vertices[faces[f, 1], d]
            c = vertices[faces[f, 2], d]
            lo_i = int((min(a, b, c) - lo[d]) / cell)
            hi_i = int((max(a, b, c) - lo[d]) / cell)
            box[f, d] = min(max(lo_i, 0), dims[d] - 1)
            box[f, 3 + d] = min(max(hi_i, 0), dims[d] - 1)
        for i in range(box[f, 0], box[f, 3] + 1):
            for j in range(box[f, 1], box[f, 4] + 1):
                for k in range(box[f, 2], box[f, 5] + 1):
                    counts[(i * ny + j) * nz + k + 1] += 1
    for c in range(1, counts.shape[0]):
        counts[c] += counts[c - 1]
    items = np.empty(counts[-1], dtype=np.int32)
    fill = counts[:-1].copy()
    for f in range(m):
        for i in range(box[f, 0], box[f, 3] + 1):
            for j in range(box[f, 1], box[f, 4] + 1):
                for k in range(box[f, 2], box[f, 5] + 1):
                    c = (i * ny + j) * nz + k
                    items[fill[c]] = f
                    fill[c] += 1
    return counts, items


@njit(cache=True, inline="always")
def _closest_on_triangle(px, py, pz, ax, ay, az, bx, by, bz, cx, cy, cz):
    """Barycentric (u, v, w) of the point of triangle abc closest to p (Ericson, Real-Time Collision
    Detection 5.1.5)."""
    abx, aby, abz = bx - ax, by - ay, bz - az
    acx, acy, acz = cx - ax, cy - ay, cz - az
    apx, apy, apz = px - ax, py - ay, pz - az
    d1 = abx * apx + aby * apy + abz * apz
    d2 = acx * apx + acy * apy + acz * apz
    if d1 <= 0.0 and d2 <= 0.0:
        return 1.0, 0.0, 0.0
    bpx, bpy, bpz = px - bx, py - by, pz - bz
    d3 = abx * bpx + aby * bpy + abz * bpz
    d4 = acx * bpx + acy * bpy + acz * bpz
    if d3 >= 0.0 and d4 <= d3:
        return 0.0, 1.0, 0.0
    vc = d1 * d4 - d3 * d2
    if vc <= 0.0 and d1 >= 0.0 and d3 <= 0.0:
        t = d1 / (d1 - d3)
        return 1.0 - t, t, 0.0
    cpx, cpy, cpz = px - cx, py - cy, pz - cz
    d5 = abx * cpx + aby * cpy + abz * cpz
    d6 = acx * cpx + acy * cpy + acz * cpz
    if d6 >= 0.0 and d5 <= d6:
        return 0.0, 0.0, 1.0
    vb = d5 * d2 - d1 * d6
    if vb <= 0.0 and d2 >= 0.0 and d6 <= 0.0:
        t = d2 / (d2 - d6)
        return 1.0 - t, 0.0, t
    va = d3 * d6 - d5 * d4
    if va <= 0.0 and (d4 - d3) >= 0.0 and (d5 - d6) >= 0.0:
        t = (d4 - d3) / ((d4 - d3) + (d5 - d6))
        return 0.0, 1.0 - t, t
    denom = va + vb + vc
    if denom == 0.0:  # degenerate triangle: its first vertex
        return 1.0, 0.0, 0.0
    v = vb / denom
    w = vc / denom
    return 1.0 - v - w, v, w


@njit(cache=True, parallel=True)
def closest_points(points, vertices, faces, lo, cell, dims, start, items, puv, corner_uv, scale, tie):
    """For every point, the distance to the closest triangle and (when ``puv`` has rows) the texel
    distance between the point's UV and the UV there; equally close triangles (within ``tie``: both
    sides of a seam) are resolved in favour of the nearer UV. Returns (distance, texel distance, closest
    face)."""
    n = points.shape[0]
    nx, ny, nz = dims[0], dims[1], dims[2]
    dist = np.empty(n)
    drift = np.full(n, np.nan)
    closest = np.full(n, -1, dtype=np.int64)
    with_uv = puv.shape[0] == n
    for q in prange(n):
        px, py, pz = points[q, 0], points[q, 1], points[q, 2]
        ci = min(max(int((px - lo[0]) / cell), 0), nx - 1)
        cj = min(max(int((py - lo[1]) / cell), 0), ny - 1)
        ck = min(max(int((pz - lo[2]) / cell), 0), nz - 1)
        best = np.inf
        best_uv = np.nan
        best_f = -1
        r = 0
        while True:
            for i in range(max(ci - r, 0), min(ci + r, nx - 1) + 1):
                for j in range(max(cj - r, 0), min(cj + r, ny - 1) + 1):
                    for k in range(max(ck - r, 0), min(ck + r, nz - 1) + 1):
                        if max(abs(i - ci), abs(j - cj), abs(k - ck)) != r:
                            continue
                        c = (i * ny + j) * nz + k
                        for s in range(start[c], start[c + 1]):
                            f = items[s]
                            a, b, cc = faces[f, 0], faces[f, 1], faces[f, 2]
                            u, v, w = _closest_on_triangle(px, py, pz, vertices[a, 0], vertices[a, 1], vertices[a, 2],
                                                           vertices[b, 0], vertices[b, 1], vertices[b, 2],
                                                           vertices[cc, 0], vertices[cc, 1], vertices[cc, 2])
                            qx = u * vertices[a, 0] + v * vertices[b, 0] + w * vertices[cc, 0]
                            qy = u * vertices[a, 1] + v * vertices[b, 1] + w * vertices[cc, 1]
                            qz = u * vertices[a, 2] + v * vertices[b, 2] + w * vertices[cc, 2]
                            d = np.sqrt((qx - px) ** 2 + (qy - py) ** 2 + (qz - pz) ** 2)
                            if d > best + tie:
                                continue
                            uvd = np.nan
                            if with_uv and not np.isnan(puv[q, 0]) and not np.isnan(corner_uv[f, 0, 0]):
                                tu = u * corner_uv[f, 0, 0] + v * corner_uv[f, 1, 0] + w * corner_uv[f, 2, 0]
                                tv = u * corner_uv[f, 0, 1] + v * corner_uv[f, 1, 1] + w * corner_uv[f, 2, 1]
                                du = (tu - puv[q, 0]) * scale[f, 0]
                                dv = (tv - puv[q, 1]) * scale[f, 1]
                                uvd = np.sqrt(du * du + dv * dv)
                            if d < best - tie:
                                best = d
                                best_uv = uvd
                                best_f = f
                            else:  # a tie
                                best = min(best, d)
                                if np.isnan(best_uv) or uvd < best_uv:
                                    best_uv = uvd
            # distance from p to the outside of the searched block (inf on sides where the grid ends)
            bound = np.inf
            if ci - r > 0:
                bound = min(bound, px - (lo[0] + (ci - r) * cell))
            if ci + r < nx - 1:
                bound = min(bound, lo[0] + (ci + r + 1) * cell - px)
            if cj - r > 0:
                bound = min(bound, py - (lo[1] + (cj - r) * cell))
            if cj + r < ny - 1:
                bound = min(bound, lo[1] + (cj + r + 1) * cell - py)
            if ck - r > 0:
                bound = min(bound, pz - (lo[2] + (ck - r) * cell))
            if ck + r < nz - 1:
                bound = min(bound, lo[2] + (ck + r + 1) * cell - pz)
            if best + tie <= bound or bound == np.inf:
                break
            r += 1
        dist[q] = best
        drift[q] = best_uv
        closest[q] = best_f
    return dist, drift, closest
