"""numba kernels of mesh validation: boundary loops, orientation, components, per-face geometry, UV
areas and self-intersections. Private: call them through ``llvscan.mesh.validate``, which checks shapes
and dtypes first. Conventions as in ``llvscan.mesh._topology_kernels``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from llvscan import _numba  # noqa: F401  (numba's configuration, before the first kernel compiles)
from llvscan.mesh._topology_kernels import _find, _union


@njit(cache=True)
def boundary_loops(vertices: np.ndarray, edges: np.ndarray, counts: np.ndarray):
    """Loops of boundary edges (edges with one face): per loop, (edge count, length), loop count."""
    n = vertices.shape[0]
    parent = np.arange(n, dtype=np.int32)
    on_boundary = np.zeros(n, dtype=np.bool_)
    for e in range(edges.shape[0]):
        if counts[e] == 1:
            _union(parent, edges[e, 0], edges[e, 1])
            on_boundary[edges[e, 0]] = True
            on_boundary[edges[e, 1]] = True
    ids = np.full(n, -1, dtype=np.int32)
    n_loops = 0
    for v in range(n):
        if on_boundary[v]:
            r = _find(parent, v)
            if ids[r] == -1:
                ids[r] = n_loops
                n_loops += 1
    loop_edges = np.zeros(n_loops, dtype=np.int64)
    loop_length = np.zeros(n_loops, dtype=np.float64)
    for e in range(edges.shape[0]):
        if counts[e] == 1:
            loop = ids[_find(parent, edges[e, 0])]
            a = edges[e, 0]
            b = edges[e, 1]
            d = 0.0
            for k in range(3):
                d += (vertices[a, k] - vertices[b, k]) ** 2
            loop_edges[loop] += 1
            loop_length[loop] += np.sqrt(d)
    return loop_edges, loop_length


@njit(cache=True)
def orient(faces: np.ndarray, he_edge: np.ndarray, edge_start: np.ndarray, edge_he: np.ndarray,
           counts: np.ndarray):
    """Propagate a consistent orientation across edges with two faces (breadth first).

    Returns ``(flip (M,) int8, patch (M,) int32, n_patches, patch_orientable (P,) bool)``: ``flip[f]``
    says whether face ``f`` must be reversed to agree with the first face of its patch.
    """
    m = faces.shape[0]
    flip = np.full(m, -1, dtype=np.int8)
    patch = np.full(m, -1, dtype=np.int32)
    queue = np.empty(m, dtype=np.int32)
    orientable = np.ones(m, dtype=np.bool_)
    n_patches = 0
    for seed in range(m):
        if flip[seed] != -1:
            continue
        flip[seed] = 0
        patch[seed] = n_patches
        head = 0
        tail = 0
        queue[tail] = seed
        tail += 1
        while head < tail:
            f = queue[head]
            head += 1
            for k in range(3):
                e = he_edge[3 * f + k]
                if e < 0 or counts[e] != 2:
                    continue
                h1 = edge_he[edge_start[e]]
                other = h1 if h1 != 3 * f + k else edge_he[edge_start[e] + 1]
                g = other // 3
                same = faces[f, k] == faces[g, other % 3]
                want = flip[f] ^ (1 if same else 0)
                if flip[g] == -1:
                    flip[g] = want
                    patch[g] = n_patches
                    queue[tail] = g
                    tail += 1
                elif flip[g] != want:
                    orientable[n_patches] = False
        n_patches += 1
    return flip, patch, n_patches, orientable[:n_patches].copy()


@njit(cache=True)
def component_stats(faces: np.ndarray, n_vertices: int, labels: np.ndarray, n_comp: int,
                    edges: np.ndarray, edge_he: np.ndarray, edge_start: np.ndarray, counts: np.ndarray,
                    vertices: np.ndarray):
    """Per component: faces, vertices, edges, boundary edges, non-manifold edges, signed volume."""
    m = faces.shape[0]
    n_faces = np.zeros(n_comp, dtype=np.int64)
    for f in range(m):
        n_faces[labels[f]] += 1
    # faces grouped by component (counting sort), so each vertex is counted once per component
    offset = np.zeros(n_comp + 1, dtype=np.int64)
    for c in range(n_comp):
        offset[c + 1] = offset[c] + n_faces[c]
    order = np.empty(m, dtype=np.int32)
    fill = offset[:-1].copy()
    for f in range(m):
        order[fill[labels[f]]] = f
        fill[labels[f]] += 1
    last = np.full(n_vertices, -1, dtype=np.int32)
    n_verts = np.zeros(n_comp, dtype=np.int64)
    volume = np.zeros(n_comp, dtype=np.float64)
    for c in range(n_comp):
        for i in range(offset[c], offset[c + 1]):
            f = order[i]
            for k in range(3):
                v = faces[f, k]
                if last[v] != c:
                    last[v] = c
                    n_verts[c] += 1
            a = vertices[faces[f, 0]]
            b = vertices[faces[f, 1]]
            d = vertices[faces[f, 2]]
            volume[c] += (a[0] * (b[1] * d[2] - b[2] * d[1]) - a[1] * (b[0] * d[2] - b[2] * d[0])
                          + a[2] * (b[0] * d[1] - b[1] * d[0])) / 6.0
    n_edges = np.zeros(n_comp, dtype=np.int64)
    n_boundary = np.zeros(n_comp, dtype=np.int64)
    n_nonmanifold = np.zeros(n_comp, dtype=np.int64)
    for e in range(edges.shape[0]):
        c = labels[edge_he[edge_start[e]] // 3]
        n_edges[c] += 1
        if counts[e] == 1:
            n_boundary[c] += 1
        elif counts[e] > 2:
            n_nonmanifold[c] += 1
    return n_faces, n_verts, n_edges, n_boundary, n_nonmanifold, volume


# -- per-face geometry ------------------------------------------------------------------------------


@njit(cache=True, parallel=True)
def face_geometry(vertices: np.ndarray, faces: np.ndarray):
    """Per face: area, minimum angle (degrees), quality 4√3·A / (a² + b² + c²) in [0, 1], and the
    largest side of its bounding box."""
    m = faces.shape[0]
    extent = np.empty(m, dtype=np.float64)
    area = np.empty(m, dtype=np.float64)
    min_angle = np.empty(m, dtype=np.float64)
    quality = np.empty(m, dtype=np.float64)
    for f in prange(m):
        p0 = vertices[faces[f, 0]]
        p1 = vertices[faces[f, 1]]
        p2 = vertices[faces[f, 2]]
        extent[f] = max(max(p0[0], p1[0], p2[0]) - min(p0[0], p1[0], p2[0]),
                        max(p0[1], p1[1], p2[1]) - min(p0[1], p1[1], p2[1]),
                        max(p0[2], p1[2], p2[2]) - min(p0[2], p1[2], p2[2]))
        ux = p1[0] - p0[0]
        uy = p1[1] - p0[1]
        uz = p1[2] - p0[2]
        vx = p2[0] - p0[0]
        vy = p2[1] - p0[1]
        vz = p2[2] - p0[2]
        cx = uy * vz - uz * vy
        cy = uz * vx - ux * vz
        cz = ux * vy - uy * vx
        a2 = cx * cx + cy * cy + cz * cz
        area[f] = 0.5 * np.sqrt(a2)
        l0 = ux * ux + uy * uy + uz * uz  # |p1 - p0|²
        l2 = vx * vx + vy * vy + vz * vz  # |p2 - p0|²
        l1 = (p2[0] - p1[0]) ** 2 + (p2[1] - p1[1]) ** 2 + (p2[2] - p1[2]) ** 2
        total = l0 + l1 + l2
        quality[f] = 4.0 * np.sqrt(3.0) * area[f] / total if total > 0 else 0.0
        # the smallest angle faces the shortest edge: sin = 2A / (product of the two other edges)
        shortest = min(l0, l1, l2)
        if shortest == l0:
            others = np.sqrt(l1 * l2)
        elif shortest == l1:
            others = np.sqrt(l0 * l2)
        else:
            others = np.sqrt(l0 * l1)
        if others > 0:
            s = min(1.0, 2.0 * area[f] / others)
            min_angle[f] = np.degrees(np.arcsin(s))
        else:
            min_angle[f] = 0.0
    return area, min_angle, quality, extent


@njit(cache=True, parallel=True)
def uv_signed_areas(uv: np.ndarray, uv_faces: np.ndarray) -> np.ndarray:
    """Signed area of every face in UV space (NaN where a corner has no UV)."""
    m = uv_faces.shape[0]
    out = np.empty(m, dtype=np.float64)
    for f in prange(m):
        a = uv_faces[f, 0]
        b = uv_faces[f, 1]
        c = uv_faces[f, 2]
        if a < 0 or b < 0 or c < 0:
            out[f] = np.nan
            continue
        out[f] = 0.5 * ((uv[b, 0] - uv[a, 0]) * (uv[c, 1] - uv[a, 1])
                        - (uv[c, 0] - uv[a, 0]) * (uv[b, 1] - uv[a, 1]))
    return out


# -- self-intersections ---------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _sub(a, b):
    return a[0] - b[0], a[1] - b[1], a[2] - b[2]


@njit(cache=True, inline="always")
def _cross(ax, ay, az, bx, by, bz):
    return ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx


@njit(cache=True)
def _interval(p0, p1, p2, d0, d1, d2, direction):
    """Interval of the line of intersection covered by a triangle (Möller 1997)."""
    q0 = p0[0] * direction[0] + p0[1] * direction[1] + p0[2] * direction[2]
    q1 = p1[0] * direction[0] + p1[1] * direction[1] + p1[2] * direction[2]
    q2 = p2[0] * direction[0] + p2[1] * direction[1] + p2[2] * direction[2]
    # the lone vertex is the one on its own side of the other triangle's plane
    if d0 * d1 > 0:
        lone, qa, qb, da, db, dl = q2, q0, q1, d0, d1, d2
    elif d0 * d2 > 0:
        lone, qa, qb, da, db, dl = q1, q0, q2, d0, d2, d1
    elif d1 * d2 > 0 or d0 != 0:
        lone, qa, qb, da, db, dl = q0, q1, q2, d1, d2, d0
    elif d1 != 0:
        lone, qa, qb, da, db, dl = q1, q0, q2, d0, d2, d1
    else:
        lone, qa, qb, da, db, dl = q2, q0, q1, d0, d1, d2
    t1 = qa + (lone - qa) * da / (da - dl)
    t2 = qb + (lone - qb) * db / (db - dl)
    return min(t1, t2), max(t1, t2)


@njit(cache=True, inline="always")
def _unit(x, y, z):
    n = np.sqrt(x * x + y * y + z * z)
    if n == 0:
        return 0.0, 0.0, 0.0, 0.0
    return x / n, y / n, z / n, n


@njit(cache=True, inline="always")
def _plane_distances(a0, a1, a2, q0, q1, q2, eps):
    """Normal (unnormalised) and length of triangle a's plane, the scaled signed distances of q's
    vertices to it, and whether q lies entirely on one side (or a is degenerate)."""
    e1 = _sub(a1, a0)
    e2 = _sub(a2, a0)
    nx, ny, nz = _cross(e1[0], e1[1], e1[2], e2[0], e2[1], e2[2])
    length = np.sqrt(nx * nx + ny * ny + nz * nz)
    off = -(nx * a0[0] + ny * a0[1] + nz * a0[2])
    d0 = nx * q0[0] + ny * q0[1] + nz * q0[2] + off
    d1 = nx * q1[0] + ny * q1[1] + nz * q1[2] + off
    d2 = nx * q2[0] + ny * q2[1] + nz * q2[2] + off
    tol = eps * length
    apart = length == 0 or (d0 > tol and d1 > tol and d2 > tol) or (d0 < -tol and d1 < -tol and d2 < -tol)
    return nx, ny, nz, length, d0, d1, d2, apart


@njit(cache=True)
def triangles_intersect(p0, p1, p2, r0, r1, r2, eps: float) -> bool:
    """Whether two triangles properly cross (Möller 1997, with a length tolerance ``eps``).

    Faces that merely touch (within ``eps``), coplanar pairs and degenerate faces do not count. The
    cheap plane-side rejections come first, on unnormalised normals.
    """
    nx, ny, nz, len2, d0, d1, d2, apart = _plane_distances(r0, r1, r2, p0, p1, p2, eps)
    if apart:
        return False
    mx, my, mz, len1, s0, s1, s2, apart = _plane_distances(p0, p1, p2, r0, r1, r2, eps)
    if apart:
        return False
    tol2 = eps * len2
    tol1 = eps * len1
    # now in length units
    d0 = 0.0 if abs(d0) <= tol2 else d0 / len2
    d1 = 0.0 if abs(d1) <= tol2 else d1 / len2
    d2 = 0.0 if abs(d2) <= tol2 else d2 / len2
    if d0 == 0 and d1 == 0 and d2 == 0:
        return False  # coplanar: overlaps show up as duplicate faces instead
    s0 = 0.0 if abs(s0) <= tol1 else s0 / len1
    s1 = 0.0 if abs(s1) <= tol1 else s1 / len1
    s2 = 0.0 if abs(s2) <= tol1 else s2 / len1
    if (d0 > 0 and d1 > 0 and d2 > 0) or (d0 < 0 and d1 < 0 and d2 < 0):
        return False
    if (s0 > 0 and s1 > 0 and s2 > 0) or (s0 < 0 and s1 < 0 and s2 < 0):
        return False
    dx, dy, dz = _cross(mx / len1, my / len1, mz / len1, nx / len2, ny / len2, nz / len2)
    dx, dy, dz, dlen = _unit(dx, dy, dz)
    if dlen < 1e-12:
        return False
    direction = (dx, dy, dz)
    a0, a1 = _interval(p0, p1, p2, d0, d1, d2, direction)
    b0, b1 = _interval(r0, r1, r2, s0, s1, s2, direction)
    return min(a1, b1) - max(a0, b0) > eps


@njit(cache=True, inline="always")
def _cell_key(ix: int, iy: int, iz: int) -> np.int64:
    return (np.int64(ix) << 42) | (np.int64(iy) << 21) | np.int64(iz)


@njit(cache=True, inline="always")
def _range(sorted_keys: np.ndarray, lo_key: np.int64, hi_key: np.int64):
    return np.searchsorted(sorted_keys, lo_key), np.searchsorted(sorted_keys, hi_key, side="right")


@njit(cache=True, parallel=True)
def self_intersections(vertices: np.ndarray, faces: np.ndarray, cell: float, big: np.ndarray,
                       hits: np.ndarray, max_big_cells: int) -> np.ndarray:
    """Count crossing face pairs that share no vertex, with a uniform grid on face centroids.

    A face whose bounding box is no wider than ``cell`` (a "small" face) can only cross small faces
    whose centroid lies in one of the 27 cells around its own; faces are sorted by cell and each small
    face looks at its own cell (later faces only) and the 13 "forward" neighbour cells, so every pair is
    met once. Each "big" face (``big`` mask) is tested against the small faces of every cell its box
    touches (plus one cell around); pairs of big faces are left to the caller (a coarser grid over the
    big faces alone). Returns per-face crossing
    counts (each pair counted once), or ``[-1]`` when the big faces would visit more than
    ``max_big_cells`` cells (call again with a larger ``cell``). ``hits[f]`` is set for every face that
    crosses another.
    """
    m = faces.shape[0]
    lo = np.empty(3)
    for k in range(3):
        lo[k] = vertices[:, k].min()
    keys = np.empty(m, dtype=np.int64)
    box = np.empty((m, 6), dtype=np.float32)  # widened outwards by a float32 ulp or two
    for f in prange(m):
        for k in range(3):
            a = vertices[faces[f, 0], k]
            b = vertices[faces[f, 1], k]
            c = vertices[faces[f, 2], k]
            low = min(a, b, c)
            high = max(a, b, c)
            pad = 1e-6 * max(abs(low), abs(high)) + 1e-30
            box[f, k] = low - pad
            box[f, 3 + k] = high + pad
        if big[f]:
            keys[f] = -1
        else:
            keys[f] = _cell_key(_centroid_cell(vertices, faces, f, 0, lo[0], cell),
                                _centroid_cell(vertices, faces, f, 1, lo[1], cell),
                                _centroid_cell(vertices, faces, f, 2, lo[2], cell))
    big_ids = np.flatnonzero(big)
    visits = 0
    for g in big_ids:
        span = 1
        for k in range(3):
            span *= int((box[g, 3 + k] - lo[k]) / cell) - int((box[g, k] - lo[k]) / cell) + 3
        visits += span
    if visits > max_big_cells:
        return np.full(1, -1, dtype=np.int64)
    order = np.argsort(keys)
    sorted_keys = keys[order]
    pairs = np.zeros(m, dtype=np.int64)
    first_small = big_ids.shape[0]  # big faces sort first (key -1)
    for i in prange(first_small, m):
        f = order[i]
        key = sorted_keys[i]
        cx = (key >> 42) & 0x1FFFFF
        cy = (key >> 21) & 0x1FFFFF
        cz = key & 0x1FFFFF
        found = 0
        # own cell, later faces only; then (0, 0, +1)
        j = i + 1
        while j < m and sorted_keys[j] <= key + 1:
            found += _test_pair(vertices, faces, box, f, order[j], hits)
            j += 1
        # the forward neighbour columns: (0, +1, z-1..z+1), (+1, -1..+1, z-1..z+1)
        for dx, dy in ((0, 1), (1, -1), (1, 0), (1, 1)):
            if cy + dy < 0:
                continue
            z0 = max(cz - 1, 0)
            s0, s1 = _range(sorted_keys, _cell_key(cx + dx, cy + dy, z0), _cell_key(cx + dx, cy + dy, cz + 1))
            for j in range(s0, s1):
                found += _test_pair(vertices, faces, box, f, order[j], hits)
        pairs[i] = found
    for t in prange(first_small):
        g = big_ids[t]
        found = 0
        x0 = max(int((box[g, 0] - lo[0]) / cell) - 1, 0)
        y0 = max(int((box[g, 1] - lo[1]) / cell) - 1, 0)
        z0 = max(int((box[g, 2] - lo[2]) / cell) - 1, 0)
        z1 = int((box[g, 5] - lo[2]) / cell) + 1
        for ix in range(x0, int((box[g, 3] - lo[0]) / cell) + 2):
            for iy in range(y0, int((box[g, 4] - lo[1]) / cell) + 2):
                s0, s1 = _range(sorted_keys, _cell_key(ix, iy, z0), _cell_key(ix, iy, z1))
                for j in range(s0, s1):
                    found += _test_pair(vertices, faces, box, g, order[j], hits)
        pairs[t] = found
    return pairs


@njit(cache=True, inline="always")
def _centroid_cell(vertices, faces, f, k, lo, cell) -> int:
    return int(((vertices[faces[f, 0], k] + vertices[faces[f, 1], k] + vertices[faces[f, 2], k]) / 3 - lo) / cell)


@njit(cache=True, inline="always")
def _test_pair(vertices, faces, box, f, g, hits) -> int:
    """1 if faces ``f`` and ``g`` share no vertex and cross (``hits`` marked), else 0."""
    for k in range(3):
        if box[f, k] > box[g, 3 + k] or box[g, k] > box[f, 3 + k]:
            return 0
    for a in range(3):
        for b in range(3):
            if faces[f, a] == faces[g, b]:
                return 0
    scale = 0.0
    for k in range(3):
        scale = max(scale, box[f, 3 + k] - box[f, k], box[g, 3 + k] - box[g, k])
    if triangles_intersect(vertices[faces[f, 0]], vertices[faces[f, 1]], vertices[faces[f, 2]],
                           vertices[faces[g, 0]], vertices[faces[g, 1]], vertices[faces[g, 2]], 1e-9 * scale):
        hits[f] = True
        hits[g] = True
        return 1
    return 0
