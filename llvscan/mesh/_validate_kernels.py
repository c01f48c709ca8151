"""numba kernels of mesh validation: boundary loops, orientation, components, per-face geometry, UV
areas and self-intersections. Private: call them through ``llvscan.mesh.validate``, which checks shapes
and dtypes first. Conventions as in ``llvscan.mesh._topology_kernels``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from llvscan import _numba  # noqa: F401  (numba's configuration, before the first kernel compiles)
from llvscan.mesh._topology_kernels import _compact, _find, _mix, _union


@njit(cache=True, nogil=True)
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
def _find_parity(parent: np.ndarray, parity: np.ndarray, x: int):
    """Root of ``x`` and the parity of the path to it (path compressed, parities kept)."""
    root = x
    p = 0
    while parent[root] != root:
        p ^= parity[root]
        root = parent[root]
    # compress: every node on the path points at the root with its own parity to it
    q = p
    while parent[x] != root and x != root:
        nxt = parent[x]
        own = parity[x]
        parent[x] = root
        parity[x] = q
        q ^= own
        x = nxt
    return root, p


@njit(cache=True, nogil=True)
def patches(m: int, edge_start: np.ndarray, edge_he: np.ndarray, counts: np.ndarray, inconsistent: np.ndarray):
    """Components and orientation patches of the faces, in one pass over the edges (union-find).

    Faces joined by any shared edge form a component; faces joined by edges with exactly two faces form a
    patch, in which an orientation propagates: ``flip[f]`` says whether face ``f`` must be reversed to
    agree with the first face of its patch (two faces that traverse their edge the same way disagree).
    Returns ``(labels (M,), n_components, flip (M,) int8, patch (M,), n_patches, patch_orientable (P,))``;
    components and patches are numbered in order of their first face. In a patch that cannot be oriented
    ``flip`` is one of the inconsistent choices.
    """
    comp = np.arange(m, dtype=np.int32)
    parent = np.arange(m, dtype=np.int32)
    parity = np.zeros(m, dtype=np.int8)
    bad = np.zeros(m, dtype=np.bool_)
    for e in range(counts.shape[0]):
        s0 = edge_start[e]
        f0 = edge_he[s0] // 3
        for i in range(s0 + 1, s0 + counts[e]):
            _union(comp, f0, edge_he[i] // 3)
        if counts[e] != 2:
            continue
        ra, pa = _find_parity(parent, parity, f0)
        rb, pb = _find_parity(parent, parity, edge_he[s0 + 1] // 3)
        want = pa ^ pb ^ (1 if inconsistent[e] else 0)
        if ra == rb:
            if want:
                bad[ra] = True
        elif ra < rb:
            parent[rb] = ra
            parity[rb] = want
            bad[ra] |= bad[rb]
        else:
            parent[ra] = rb
            parity[ra] = want
            bad[rb] |= bad[ra]
    labels, n_comp = _compact(comp)
    ids = np.full(m, -1, dtype=np.int32)
    base = np.zeros(m, dtype=np.int8)
    flip = np.empty(m, dtype=np.int8)
    patch = np.empty(m, dtype=np.int32)
    orientable = np.ones(m, dtype=np.bool_)
    n_patches = 0
    for f in range(m):
        r, p = _find_parity(parent, parity, f)
        if ids[r] == -1:
            ids[r] = n_patches
            base[r] = p
            orientable[n_patches] = not bad[r]
            n_patches += 1
        patch[f] = ids[r]
        flip[f] = p ^ base[r]
    return labels, n_comp, flip, patch, n_patches, orientable[:n_patches].copy()


@njit(cache=True, nogil=True)
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


@njit(cache=True, parallel=True, nogil=True)
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


@njit(cache=True, parallel=True, nogil=True)
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


@njit(cache=True)
def _cross(ax, ay, az, bx, by, bz):
    return ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx


@njit(cache=True)
def _plane(ax, ay, az, bx, by, bz, cx, cy, cz):
    """Normal (unnormalised), its length and the offset of the plane through a, b, c."""
    nx, ny, nz = _cross(bx - ax, by - ay, bz - az, cx - ax, cy - ay, cz - az)
    return nx, ny, nz, np.sqrt(nx * nx + ny * ny + nz * nz), -(nx * ax + ny * ay + nz * az)


@njit(cache=True)
def _interval(q0, q1, q2, d0, d1, d2):
    """Interval of the line of intersection covered by a triangle whose vertices project to ``q0..q2`` on
    the line and lie at signed distances ``d0..d2`` from the other triangle's plane (Möller 1997)."""
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


@njit(cache=True)
def _snap(d, tol, length):
    """A scaled plane distance in length units, 0 within the tolerance."""
    return 0.0 if abs(d) <= tol else d / length


@njit(cache=True, nogil=True)
def _crosses(p0x, p0y, p0z, p1x, p1y, p1z, p2x, p2y, p2z, r0x, r0y, r0z, r1x, r1y, r1z, r2x, r2y, r2z,
             eps: float) -> bool:
    """:func:`triangles_intersect` on coordinates (no arrays: the pair loop calls it without reference
    counting)."""
    nx, ny, nz, len2, off2 = _plane(r0x, r0y, r0z, r1x, r1y, r1z, r2x, r2y, r2z)
    d0 = nx * p0x + ny * p0y + nz * p0z + off2
    d1 = nx * p1x + ny * p1y + nz * p1z + off2
    d2 = nx * p2x + ny * p2y + nz * p2z + off2
    tol2 = eps * len2
    if len2 == 0 or (d0 > tol2 and d1 > tol2 and d2 > tol2) or (d0 < -tol2 and d1 < -tol2 and d2 < -tol2):
        return False
    mx, my, mz, len1, off1 = _plane(p0x, p0y, p0z, p1x, p1y, p1z, p2x, p2y, p2z)
    s0 = mx * r0x + my * r0y + mz * r0z + off1
    s1 = mx * r1x + my * r1y + mz * r1z + off1
    s2 = mx * r2x + my * r2y + mz * r2z + off1
    tol1 = eps * len1
    if len1 == 0 or (s0 > tol1 and s1 > tol1 and s2 > tol1) or (s0 < -tol1 and s1 < -tol1 and s2 < -tol1):
        return False
    # now in length units
    d0 = _snap(d0, tol2, len2)
    d1 = _snap(d1, tol2, len2)
    d2 = _snap(d2, tol2, len2)
    if d0 == 0 and d1 == 0 and d2 == 0:
        return False  # coplanar: overlaps show up as duplicate faces instead
    s0 = _snap(s0, tol1, len1)
    s1 = _snap(s1, tol1, len1)
    s2 = _snap(s2, tol1, len1)
    if (d0 > 0 and d1 > 0 and d2 > 0) or (d0 < 0 and d1 < 0 and d2 < 0):
        return False
    if (s0 > 0 and s1 > 0 and s2 > 0) or (s0 < 0 and s1 < 0 and s2 < 0):
        return False
    dx, dy, dz = _cross(mx / len1, my / len1, mz / len1, nx / len2, ny / len2, nz / len2)
    dlen = np.sqrt(dx * dx + dy * dy + dz * dz)
    if dlen < 1e-12:
        return False
    dx, dy, dz = dx / dlen, dy / dlen, dz / dlen
    a0, a1 = _interval(p0x * dx + p0y * dy + p0z * dz, p1x * dx + p1y * dy + p1z * dz,
                       p2x * dx + p2y * dy + p2z * dz, d0, d1, d2)
    b0, b1 = _interval(r0x * dx + r0y * dy + r0z * dz, r1x * dx + r1y * dy + r1z * dz,
                       r2x * dx + r2y * dy + r2z * dz, s0, s1, s2)
    return min(a1, b1) - max(a0, b0) > eps


@njit(cache=True, nogil=True)
def triangles_intersect(p0, p1, p2, r0, r1, r2, eps: float) -> bool:
    """Whether two triangles properly cross (Möller 1997, with a length tolerance ``eps``).

    Faces that merely touch (within ``eps``), coplanar pairs and degenerate faces do not count. The
    cheap plane-side rejections come first, on unnormalised normals.
    """
    return _crosses(p0[0], p0[1], p0[2], p1[0], p1[1], p1[2], p2[0], p2[1], p2[2],
                    r0[0], r0[1], r0[2], r1[0], r1[1], r1[2], r2[0], r2[1], r2[2], eps)


# The broad phase: a uniform grid of cubes of side ``cell`` over the faces' centroids, with faces sorted by
# cell (a counting sort over cells numbered through a hash table) so that a cell's faces, their boxes
# and their ids lie side by side. A "small" face (box no wider than ``SMALL * cell``) lies within
# (2/3)·SMALL·cell of its centroid, so two crossing small faces have centroids less than one cell apart on
# every axis: each cell meets its own faces and those of its 13 "forward" neighbours, and every pair is
# met once, and a cell's union box culls neighbours out of reach. A "big" face meets the small faces of
# the cells within half a cell of its box. The pair loops are serial kernels that release the GIL:
# ``llvscan.mesh.validate`` shares the cells among threads (no parfor to compile).

SMALL = 0.74  # faces whose box is at most SMALL × cell wide are small (3/4, less a margin for rounding)


@njit(cache=True)
def _cell_key(ix, iy, iz) -> np.int64:
    return (np.int64(ix) << 42) | (np.int64(iy) << 21) | np.int64(iz)


@njit(cache=True)
def _slot(key, mask) -> np.int64:
    return np.int64(_mix(np.uint64(0), np.uint64(key)) & np.uint64(mask))


@njit(cache=True)
def _lookup(table, cell_keys, key) -> int:
    """The cell numbered for ``key``, or -1."""
    mask = table.shape[0] - 1
    slot = _slot(key, mask)
    while True:
        c = table[slot]
        if c == -1 or cell_keys[c] == key:
            return c
        slot = (slot + 1) & mask


@njit(cache=True)
def _grown(keys, table, n_cells):
    """``keys`` and the hash ``table`` of its first ``n_cells`` entries, both twice as large."""
    grown = np.empty(2 * keys.shape[0], dtype=np.int64)
    for d in range(n_cells):  # (a loop: slice assignment compiles a string-formatting error path)
        grown[d] = keys[d]
    table = np.full(2 * table.shape[0], -1, dtype=np.int32)
    mask = table.shape[0] - 1
    for d in range(n_cells):
        s = _slot(grown[d], mask)
        while table[s] != -1:
            s = (s + 1) & mask
        table[s] = d
    return grown, table


@njit(cache=True, nogil=True)
def grid_sort(vertices, faces, big, cell):
    """Sort faces by grid cell: big faces first (in index order), then the small ones by cell (cells in
    order of first appearance, faces of a cell in index order).

    Returns ``(order (M,) int32, cell_keys (C,) int64, cell_start (C + 1,) int64 positions in order,
    table, lo (3,))``: ``table`` (a power of two ≥ 2 C, int32) hashes cell keys to cell numbers, ``lo`` is
    the grid's origin.
    """
    lo = _grid_origin(vertices, faces)
    cell_of, keys, table = _cell_numbers(vertices, faces, big, lo, cell)
    order, cell_start = _counting_sort(cell_of, keys.shape[0])
    return order, keys, cell_start, table, lo


@njit(cache=True)
def _grid_origin(vertices, faces):
    lo = np.full(3, np.inf)
    for f in range(faces.shape[0]):
        for k in range(3):
            for j in range(3):
                lo[k] = min(lo[k], vertices[faces[f, j], k])
    return lo


@njit(cache=True)
def _cell_numbers(vertices, faces, big, lo, cell):
    """The cell of each small face's centroid (-1 for a big face), numbered through a hash table of
    cell keys that grows as cells appear. Returns (cell_of (M,), keys (C,), table)."""
    m = faces.shape[0]
    table = np.full(1 << 12, -1, dtype=np.int32)
    keys = np.empty(1 << 11, dtype=np.int64)
    cell_of = np.empty(m, dtype=np.int32)
    n_cells = 0
    for f in range(m):
        if big[f]:
            cell_of[f] = -1
            continue
        key = _cell_key(_centroid_cell(vertices, faces, f, 0, lo[0], cell),
                        _centroid_cell(vertices, faces, f, 1, lo[1], cell),
                        _centroid_cell(vertices, faces, f, 2, lo[2], cell))
        mask = table.shape[0] - 1
        slot = _slot(key, mask)
        while True:
            c = table[slot]
            if c == -1:
                if 2 * (n_cells + 1) > table.shape[0]:  # grow: keys and table double, the table is rebuilt
                    keys, table = _grown(keys, table, n_cells)
                    mask = table.shape[0] - 1
                    slot = _slot(key, mask)
                    while table[slot] != -1:
                        slot = (slot + 1) & mask
                table[slot] = n_cells
                keys[n_cells] = key
                cell_of[f] = n_cells
                n_cells += 1
                break
            if keys[c] == key:
                cell_of[f] = c
                break
            slot = (slot + 1) & mask
    return cell_of, keys[:n_cells].copy(), table


@njit(cache=True)
def _centroid_cell(vertices, faces, f, k, lo, cell) -> int:
    return int(((vertices[faces[f, 0], k] + vertices[faces[f, 1], k] + vertices[faces[f, 2], k]) / 3 - lo) / cell)


@njit(cache=True)
def _counting_sort(cell_of, n_cells):
    """Positions: faces with cell -1 first, then by cell; (order, cell_start)."""
    m = cell_of.shape[0]
    cell_start = np.zeros(n_cells + 1, dtype=np.int64)
    n_big = 0
    for f in range(m):
        if cell_of[f] >= 0:
            cell_start[cell_of[f] + 1] += 1
        else:
            n_big += 1
    cell_start[0] = n_big
    for c in range(n_cells):
        cell_start[c + 1] += cell_start[c]
    fill = cell_start[:-1].copy()
    order = np.empty(m, dtype=np.int32)
    b = 0
    for f in range(m):
        c = cell_of[f]
        if c < 0:
            order[b] = f
            b += 1
        else:
            order[fill[c]] = f
            fill[c] += 1
    return order, cell_start


@njit(cache=True, nogil=True)
def sorted_boxes(vertices, faces, order):
    """``faces[order]`` and their bounding boxes (low xyz, high xyz), widened outwards by a float32 ulp or
    two."""
    m = order.shape[0]
    box = np.empty((m, 6), dtype=np.float32)
    sorted_faces = np.empty((m, 3), dtype=faces.dtype)
    for i in range(m):
        f = order[i]
        for k in range(3):
            sorted_faces[i, k] = faces[f, k]
        _face_box(vertices, faces, f, box[i])
    return sorted_faces, box


@njit(cache=True)
def _face_box(vertices, faces, f, out) -> None:
    for k in range(3):
        a = vertices[faces[f, 0], k]
        b = vertices[faces[f, 1], k]
        c = vertices[faces[f, 2], k]
        low = min(a, b, c)
        high = max(a, b, c)
        pad = 1e-6 * max(abs(low), abs(high)) + 1e-30
        out[k] = low - pad
        out[3 + k] = high + pad


@njit(cache=True, nogil=True)
def big_visits(box, n_big, lo, cell) -> int:
    """Grid cells the big faces (the first ``n_big`` boxes) would visit."""
    visits = 0
    for g in range(n_big):
        span = 1
        for k in range(3):
            low = int(max(box[g, k] - lo[k] - 0.5 * cell, 0.0) / cell)
            span *= int((box[g, 3 + k] - lo[k] + 0.5 * cell) / cell) - low + 1
        visits += span
    return visits


@njit(cache=True, nogil=True)
def cell_boxes(box, cell_start):
    """The union of the boxes of each cell's faces."""
    n_cells = cell_start.shape[0] - 1
    out = np.empty((n_cells, 6), dtype=np.float32)
    for c in range(n_cells):
        for k in range(3):
            low = np.inf
            high = -np.inf
            for i in range(cell_start[c], cell_start[c + 1]):
                low = min(low, box[i, k])
                high = max(high, box[i, 3 + k])
            out[c, k] = low
            out[c, 3 + k] = high
    return out


@njit(cache=True, nogil=True)
def grid_crossings(vertices, faces, order, box, cell_box, cell_keys, cell_start, table, lo, cell, n_big, hits,
                   w0, w1) -> int:
    """Count crossing face pairs that share no vertex, with the grid of :func:`grid_sort` (``faces`` and
    ``box`` sorted by :func:`sorted_boxes`, ``cell_box`` from :func:`cell_boxes`), for the work items
    ``w0 .. w1 - 1``: cells ``0 .. C - 1``, then big faces ``C .. C + n_big - 1`` (callers split the items
    between threads; the kernel releases the GIL). Pairs of big faces are left to the caller (a coarser
    grid over the big faces alone). ``hits[f]`` is set for every face that crosses another."""
    n_cells = cell_keys.shape[0]
    total = 0
    for c in range(w0, w1):
        if c < n_cells:
            total += _cell_crossings(vertices, faces, order, box, cell_box, cell_keys, cell_start, table, c, hits)
        else:
            total += _big_crossings(vertices, faces, order, box, cell_box, cell_keys, cell_start, table, lo, cell,
                                    c - n_cells, hits)
    return total


@njit(cache=True)
def _apart(a, i, b, j) -> bool:
    """Whether boxes ``a[i]`` and ``b[j]`` are disjoint."""
    return (a[i, 0] > b[j, 3] or b[j, 0] > a[i, 3] or a[i, 1] > b[j, 4] or b[j, 1] > a[i, 4] or a[i, 2] > b[j, 5]
            or b[j, 2] > a[i, 5])


@njit(cache=True, nogil=True)
def _cell_crossings(vertices, faces, order, box, cell_box, cell_keys, cell_start, table, c, hits) -> int:
    """Crossings of cell ``c``'s faces with later faces of the cell and the faces of its 13 forward
    neighbours: (0, 0, +1), (0, +1, -1..+1), (+1, -1..+1, -1..+1)."""
    limit = 1 << 21
    key = cell_keys[c]
    cx = (key >> 42) & 0x1FFFFF
    cy = (key >> 21) & 0x1FFFFF
    cz = key & 0x1FFFFF
    s0 = cell_start[c]
    s1 = cell_start[c + 1]
    found = 0
    for i in range(s0, s1):
        found += _crossings_of(vertices, faces, order, box, i, i + 1, s1, hits)
    for dx in range(2):
        for dy in range(-1, 2):
            for dz in range(-1, 2):
                if dx == 0 and (dy < 0 or (dy == 0 and dz <= 0)):
                    continue
                x = cx + dx
                y = cy + dy
                z = cz + dz
                if x >= limit or y < 0 or y >= limit or z < 0 or z >= limit:
                    continue
                d = _lookup(table, cell_keys, _cell_key(x, y, z))
                if d < 0 or _apart(cell_box, c, cell_box, d):
                    continue
                for i in range(s0, s1):
                    if not _apart(box, i, cell_box, d):
                        found += _crossings_of(vertices, faces, order, box, i, cell_start[d], cell_start[d + 1],
                                               hits)
    return found


@njit(cache=True, nogil=True)
def _big_crossings(vertices, faces, order, box, cell_box, cell_keys, cell_start, table, lo, cell, g, hits) -> int:
    """Crossings of big face ``g`` (a position in ``order``) with the small faces whose centroid cell lies
    within half a cell of its box (a small face reaches (2/3)·SMALL·cell ≤ cell / 2 from its centroid)."""
    limit = 1 << 21
    x0 = max(int(max(box[g, 0] - lo[0] - 0.5 * cell, 0.0) / cell), 0)
    y0 = max(int(max(box[g, 1] - lo[1] - 0.5 * cell, 0.0) / cell), 0)
    z0 = max(int(max(box[g, 2] - lo[2] - 0.5 * cell, 0.0) / cell), 0)
    x1 = min(int((box[g, 3] - lo[0] + 0.5 * cell) / cell), limit - 1)
    y1 = min(int((box[g, 4] - lo[1] + 0.5 * cell) / cell), limit - 1)
    z1 = min(int((box[g, 5] - lo[2] + 0.5 * cell) / cell), limit - 1)
    found = 0
    for ix in range(x0, x1 + 1):
        for iy in range(y0, y1 + 1):
            for iz in range(z0, z1 + 1):
                d = _lookup(table, cell_keys, _cell_key(ix, iy, iz))
                if d >= 0 and not _apart(box, g, cell_box, d):
                    found += _crossings_of(vertices, faces, order, box, g, cell_start[d], cell_start[d + 1], hits)
    return found


@njit(cache=True)
def _crossings_of(vertices, faces, order, box, i, j0, j1, hits) -> int:
    """Crossings of the face at position ``i`` of ``order`` with those at positions ``j0 .. j1 - 1``
    (``faces`` and ``box`` in that order)."""
    if j0 >= j1:
        return 0
    b0 = box[i, 0]
    b1 = box[i, 1]
    b2 = box[i, 2]
    b3 = box[i, 3]
    b4 = box[i, 4]
    b5 = box[i, 5]
    a = faces[i, 0]
    b = faces[i, 1]
    c = faces[i, 2]
    size = max(b3 - b0, b4 - b1, b5 - b2)
    found = 0
    for j in range(j0, j1):
        # branch-free: most candidates fail on one axis or another, unpredictably
        if not ((b0 <= box[j, 3]) & (box[j, 0] <= b3) & (b1 <= box[j, 4]) & (box[j, 1] <= b4) & (b2 <= box[j, 5])
                & (box[j, 2] <= b5)):
            continue
        p = faces[j, 0]
        q = faces[j, 1]
        r = faces[j, 2]
        if (a == p) | (a == q) | (a == r) | (b == p) | (b == q) | (b == r) | (c == p) | (c == q) | (c == r):
            continue
        scale = max(size, box[j, 3] - box[j, 0], box[j, 4] - box[j, 1], box[j, 5] - box[j, 2])
        if _crosses(vertices[a, 0], vertices[a, 1], vertices[a, 2], vertices[b, 0], vertices[b, 1], vertices[b, 2],
                    vertices[c, 0], vertices[c, 1], vertices[c, 2], vertices[p, 0], vertices[p, 1], vertices[p, 2],
                    vertices[q, 0], vertices[q, 1], vertices[q, 2], vertices[r, 0], vertices[r, 1], vertices[r, 2],
                    1e-9 * scale):
            hits[order[i]] = True
            hits[order[j]] = True
            found += 1
    return found
