"""numba kernels for baking: rasterising triangles in UV space, casting rays through a uniform grid of
triangles (``llvscan.mesh._distance_kernels.build_grid``), per-vertex ambient occlusion, and padding.
Private: call ``llvscan.mesh.bake.BakeSource``.

Stages, in the order a bake runs them: ``rasterise`` (which face covers each texel, and where) →
``bake_texels`` (the full-resolution surface along each texel's normal, sampled) → ``dilate`` (padding). The
occlusion of the full-resolution mesh (``vertex_occlusion``) is computed once per source.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from llvscan import _numba  # noqa: F401  (numba's configuration, before the first kernel compiles)

_BARY_TOLERANCE = 1e-9  # a ray through a shared edge hits at least one of its two triangles


@njit(cache=True)
def rasterise(corner_px, width, height):
    """For every texel (row-major, ``row * width + col``) the index into ``corner_px`` of the last
    triangle whose UV footprint covers the texel's centre (-1: none), and the barycentrics there.
    ``corner_px`` (F, 3, 2) holds corner positions in texel units (x right, y down, texel centres at
    integer + 0.5). Sequential: where footprints overlap the later triangle wins, deterministically."""
    face = np.full(width * height, -1, dtype=np.int64)
    bary = np.zeros((width * height, 3))
    for f in range(corner_px.shape[0]):
        x0, y0 = corner_px[f, 0, 0], corner_px[f, 0, 1]
        x1, y1 = corner_px[f, 1, 0], corner_px[f, 1, 1]
        x2, y2 = corner_px[f, 2, 0], corner_px[f, 2, 1]
        area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
        if area == 0.0 or not np.isfinite(area):
            continue
        c_lo = max(int(np.floor(min(x0, x1, x2) - 0.5)), 0)
        c_hi = min(int(np.ceil(max(x0, x1, x2) - 0.5)), width - 1)
        r_lo = max(int(np.floor(min(y0, y1, y2) - 0.5)), 0)
        r_hi = min(int(np.ceil(max(y0, y1, y2) - 0.5)), height - 1)
        eps = -1e-9 * abs(area)
        for r in range(r_lo, r_hi + 1):
            py = r + 0.5
            for c in range(c_lo, c_hi + 1):
                px = c + 0.5
                w0 = ((x1 - px) * (y2 - py) - (x2 - px) * (y1 - py)) / area
                w1 = ((x2 - px) * (y0 - py) - (x0 - px) * (y2 - py)) / area
                w2 = 1.0 - w0 - w1
                if w0 * abs(area) < eps or w1 * abs(area) < eps or w2 * abs(area) < eps:
                    continue
                q = r * width + c
                face[q] = f
                bary[q, 0] = w0
                bary[q, 1] = w1
                bary[q, 2] = w2
    return face, bary


@njit(cache=True, inline="always")
def _hit_triangle(ox, oy, oz, dx, dy, dz, ax, ay, az, bx, by, bz, cx, cy, cz):
    """Möller–Trumbore: (t, u, v) where the line o + t·d meets triangle abc (u, v: weights of b and c);
    t = inf when it misses or runs parallel."""
    e1x, e1y, e1z = bx - ax, by - ay, bz - az
    e2x, e2y, e2z = cx - ax, cy - ay, cz - az
    px, py, pz = dy * e2z - dz * e2y, dz * e2x - dx * e2z, dx * e2y - dy * e2x
    det = e1x * px + e1y * py + e1z * pz
    if det == 0.0:
        return np.inf, 0.0, 0.0
    inv = 1.0 / det
    sx, sy, sz = ox - ax, oy - ay, oz - az
    u = (sx * px + sy * py + sz * pz) * inv
    if u < -_BARY_TOLERANCE or u > 1.0 + _BARY_TOLERANCE:
        return np.inf, 0.0, 0.0
    qx, qy, qz = sy * e1z - sz * e1y, sz * e1x - sx * e1z, sx * e1y - sy * e1x
    v = (dx * qx + dy * qy + dz * qz) * inv
    if v < -_BARY_TOLERANCE or u + v > 1.0 + _BARY_TOLERANCE:
        return np.inf, 0.0, 0.0
    return (e2x * qx + e2y * qy + e2z * qz) * inv, u, v


@njit(cache=True)
def _march(ox, oy, oz, dx, dy, dz, t_lo, t_hi, lo, cell, dims, start, items, vertices, faces, skip, any_hit,
           first_done=False, best_f=-1, best_t=np.inf, best_u=0.0, best_v=0.0):
    """The hit of the ray o + t·d, t in [t_lo, t_hi], nearest to t_lo (or any hit, with ``any_hit``),
    walking the grid's cells in order (3D DDA, Amanatides & Woo). Faces using vertex ``skip`` are
    ignored (-1: none). ``first_done``: the triangles of the first cell were tested already (by
    ``_both_ways``), their nearest hit is ``best_*``. Returns (face or -1, t, u, v)."""
    nx, ny, nz = dims[0], dims[1], dims[2]
    t0, t1 = t_lo, t_hi
    o = (ox, oy, oz)
    d = (dx, dy, dz)
    for axis in range(3):  # clip to the grid's box
        b_lo = lo[axis]
        b_hi = lo[axis] + dims[axis] * cell
        if d[axis] == 0.0:
            if o[axis] < b_lo or o[axis] > b_hi:
                return -1, np.inf, 0.0, 0.0
        else:
            ta = (b_lo - o[axis]) / d[axis]
            tb = (b_hi - o[axis]) / d[axis]
            if ta > tb:
                ta, tb = tb, ta
            t0 = max(t0, ta)
            t1 = min(t1, tb)
    if t0 > t1:
        return -1, np.inf, 0.0, 0.0
    i = min(max(int(np.floor((ox + dx * t0 - lo[0]) / cell)), 0), nx - 1)
    j = min(max(int(np.floor((oy + dy * t0 - lo[1]) / cell)), 0), ny - 1)
    k = min(max(int(np.floor((oz + dz * t0 - lo[2]) / cell)), 0), nz - 1)
    si, sj, sk = 0, 0, 0
    ti = tj = tk = np.inf
    di = dj = dk = np.inf
    if dx > 0.0:
        si, ti, di = 1, (lo[0] + (i + 1) * cell - ox) / dx, cell / dx
    elif dx < 0.0:
        si, ti, di = -1, (lo[0] + i * cell - ox) / dx, -cell / dx
    if dy > 0.0:
        sj, tj, dj = 1, (lo[1] + (j + 1) * cell - oy) / dy, cell / dy
    elif dy < 0.0:
        sj, tj, dj = -1, (lo[1] + j * cell - oy) / dy, -cell / dy
    if dz > 0.0:
        sk, tk, dk = 1, (lo[2] + (k + 1) * cell - oz) / dz, cell / dz
    elif dz < 0.0:
        sk, tk, dk = -1, (lo[2] + k * cell - oz) / dz, -cell / dz
    tested = first_done
    while True:
        c = (i * ny + j) * nz + k
        for s in range(start[c], start[c] if tested else start[c + 1]):
            f = items[s]
            a, b, cc = faces[f, 0], faces[f, 1], faces[f, 2]
            if a == skip or b == skip or cc == skip:
                continue
            t, u, v = _hit_triangle(ox, oy, oz, dx, dy, dz,
                                    vertices[a, 0], vertices[a, 1], vertices[a, 2],
                                    vertices[b, 0], vertices[b, 1], vertices[b, 2],
                                    vertices[cc, 0], vertices[cc, 1], vertices[cc, 2])
            if t_lo <= t <= t_hi and t < best_t:
                best_f, best_t, best_u, best_v = f, t, u, v
                if any_hit:
                    return best_f, best_t, best_u, best_v
        tested = False
        exit_t = min(ti, tj, tk)
        if best_t <= exit_t or exit_t > t1:
            break
        if ti <= tj and ti <= tk:
            i += si
            ti += di
            if i < 0 or i >= nx:
                break
        elif tj <= tk:
            j += sj
            tj += dj
            if j < 0 or j >= ny:
                break
        else:
            k += sk
            tk += dk
            if k < 0 or k >= nz:
                break
    return best_f, best_t, best_u, best_v


@njit(cache=True)
def _both_ways(ox, oy, oz, dx, dy, dz, reach, lo, cell, dims, start, items, vertices, faces):
    """The line o ± t·d, t in [0, reach], o inside the grid's box: its nearest hit each way among the
    triangles of the cell holding o, each triangle tested once. Möller–Trumbore along −d gives exactly
    (−t, u, v) of its test along d (negation is exact), so these are the hits ``_march`` finds in that
    cell each way. Returns (forward face or -1, t, u, v, backward face or -1, t, u, v)."""
    nx, ny, nz = dims[0], dims[1], dims[2]
    i = min(max(int(np.floor((ox - lo[0]) / cell)), 0), nx - 1)
    j = min(max(int(np.floor((oy - lo[1]) / cell)), 0), ny - 1)
    k = min(max(int(np.floor((oz - lo[2]) / cell)), 0), nz - 1)
    c = (i * ny + j) * nz + k
    f_f, f_t, f_u, f_v = -1, np.inf, 0.0, 0.0
    b_f, b_t, b_u, b_v = -1, np.inf, 0.0, 0.0
    for s in range(start[c], start[c + 1]):
        f = items[s]
        a, b, cc = faces[f, 0], faces[f, 1], faces[f, 2]
        t, u, v = _hit_triangle(ox, oy, oz, dx, dy, dz,
                                vertices[a, 0], vertices[a, 1], vertices[a, 2],
                                vertices[b, 0], vertices[b, 1], vertices[b, 2],
                                vertices[cc, 0], vertices[cc, 1], vertices[cc, 2])
        if 0.0 <= t <= reach and t < f_t:
            f_f, f_t, f_u, f_v = f, t, u, v
        if 0.0 <= -t <= reach and -t < b_t:
            b_f, b_t, b_u, b_v = f, -t, u, v
    return f_f, f_t, f_u, f_v, b_f, b_t, b_u, b_v


@njit(cache=True, parallel=True)
def vertex_occlusion(vertices, normals, lo, cell, dims, start, items, faces, rays, reach, offset):
    """Unoccluded fraction at every vertex: ``rays`` cosine-weighted directions about its normal (a
    Fibonacci spiral on the unit disc lifted to the hemisphere, turned by a hash of the vertex index),
    each tested for any hit within ``reach`` from the vertex raised ``offset`` along its normal. Faces
    around the vertex itself are ignored. Vertices with a zero normal count as unoccluded."""
    n = vertices.shape[0]
    out = np.ones(n)
    golden = np.pi * (3.0 - np.sqrt(5.0))
    for q in prange(n):
        nx, ny, nz = normals[q, 0], normals[q, 1], normals[q, 2]
        if nx * nx + ny * ny + nz * nz < 0.5:
            continue
        # an orthonormal basis about the normal (Duff et al. 2017, "Building an orthonormal basis, revisited")
        sign = 1.0 if nz >= 0.0 else -1.0
        a = -1.0 / (sign + nz)
        b = nx * ny * a
        tx, ty, tz = 1.0 + sign * nx * nx * a, sign * b, -sign * nx
        bx, by, bz = b, sign + ny * ny * a, -ny
        turn = ((q * 2654435761) % 4294967296) / 4294967296.0 * 2.0 * np.pi  # Knuth's multiplicative hash
        ox = vertices[q, 0] + nx * offset
        oy = vertices[q, 1] + ny * offset
        oz = vertices[q, 2] + nz * offset
        free = 0
        for r in range(rays):
            radius = np.sqrt((r + 0.5) / rays)
            phi = r * golden + turn
            up = np.sqrt(max(1.0 - radius * radius, 0.0))
            cx, sx = radius * np.cos(phi), radius * np.sin(phi)
            dx = tx * cx + bx * sx + nx * up
            dy = ty * cx + by * sx + ny * up
            dz = tz * cx + bz * sx + nz * up
            f, _, _, _ = _march(ox, oy, oz, dx, dy, dz, 0.0, reach, lo, cell, dims, start, items, vertices, faces,
                                q, True)
            if f < 0:
                free += 1
        out[q] = free / rays
    return out


@njit(cache=True, parallel=True)
def dilate(values, valid, passes):
    """Grow ``values`` (H, W, C) from the ``valid`` texels outward, ``passes`` texels: each pass, every
    invalid texel with valid 8-neighbours takes their mean and becomes valid. In place; returns the
    final mask. Each pass reads only texels valid before it, so the result is independent of threads."""
    height, width, channels = values.shape
    mask = valid.copy()
    for _ in range(passes):
        grown = mask.copy()
        for r in prange(height):
            for c in range(width):
                if mask[r, c]:
                    continue
                count = 0
                for dr in range(-1, 2):
                    for dc in range(-1, 2):
                        rr, cc = r + dr, c + dc
                        if 0 <= rr < height and 0 <= cc < width and mask[rr, cc]:
                            count += 1
                if count == 0:
                    continue
                for ch in range(channels):
                    total = 0.0
                    for dr in range(-1, 2):
                        for dc in range(-1, 2):
                            rr, cc = r + dr, c + dc
                            if 0 <= rr < height and 0 <= cc < width and mask[rr, cc]:
                                total += values[rr, cc, ch]
                    values[r, c, ch] = total / count
                grown[r, c] = True
        mask = grown
    return mask


@njit(cache=True, parallel=True)
def bake_texels(face, bary, low_vertices, low_faces, low_normals, low_tangents, reach, lo, cell, dims, start, items,
                vertices, faces, normals, occlusion):
    """Every texel's sample of the full-resolution surface. ``face``/``bary``: the level's face and
    barycentrics at each texel; ``low_normals`` (M, 3, 3) and ``low_tangents`` (M, 3, 4) the level's
    glTF frame per corner; ``normals`` (M', 3, 3) the full-resolution mesh's per corner and
    ``occlusion`` (N',) its per-vertex occlusion (empty: not wanted).

    At the texel's point P and unit normal N the line P ± t·N (t ≤ ``reach``) is cast; at the hit nearest
    to P the smooth normal of the surface is expressed in the frame (T orthogonalised against N, B = w ·
    N × T). Returns (hit face or -1, hit barycentrics, tangent-space normal ((0, 0, 1) without a hit),
    occlusion (1 without a hit))."""
    n = face.shape[0]
    hit = np.full(n, -1, dtype=np.int64)
    hit_bary = np.zeros((n, 3))
    local = np.zeros((n, 3), dtype=np.float32)
    occluded = np.ones(n, dtype=np.float32)
    with_occlusion = occlusion.shape[0] > 0
    for q in prange(n):
        f = face[q]
        b0, b1, b2 = bary[q, 0], bary[q, 1], bary[q, 2]
        a, b, c = low_faces[f, 0], low_faces[f, 1], low_faces[f, 2]
        px = b0 * low_vertices[a, 0] + b1 * low_vertices[b, 0] + b2 * low_vertices[c, 0]
        py = b0 * low_vertices[a, 1] + b1 * low_vertices[b, 1] + b2 * low_vertices[c, 1]
        pz = b0 * low_vertices[a, 2] + b1 * low_vertices[b, 2] + b2 * low_vertices[c, 2]
        nx = b0 * low_normals[f, 0, 0] + b1 * low_normals[f, 1, 0] + b2 * low_normals[f, 2, 0]
        ny = b0 * low_normals[f, 0, 1] + b1 * low_normals[f, 1, 1] + b2 * low_normals[f, 2, 1]
        nz = b0 * low_normals[f, 0, 2] + b1 * low_normals[f, 1, 2] + b2 * low_normals[f, 2, 2]
        length = np.sqrt(nx * nx + ny * ny + nz * nz)
        local[q, 2] = 1.0
        if not length > 1e-12:
            continue
        nx, ny, nz = nx / length, ny / length, nz / length
        inside = True
        for axis, x in ((0, px), (1, py), (2, pz)):
            inside = inside and lo[axis] <= x <= lo[axis] + dims[axis] * cell
        if inside:  # both ways start in the same cell: its triangles tested once for both
            g, t, u, v, g2, t2, u2, v2 = _both_ways(px, py, pz, nx, ny, nz, reach, lo, cell, dims, start, items,
                                                    vertices, faces)
            g, t, u, v = _march(px, py, pz, nx, ny, nz, 0.0, reach, lo, cell, dims, start, items, vertices, faces,
                                -1, False, True, g, t, u, v)
            if g >= 0 and g2 >= 0 and t2 > t:  # the backward line stops at the forward hit
                g2, t2, u2, v2 = -1, np.inf, 0.0, 0.0
            g2, t2, u2, v2 = _march(px, py, pz, -nx, -ny, -nz, 0.0, t if g >= 0 else reach, lo, cell, dims, start,
                                    items, vertices, faces, -1, False, True, g2, t2, u2, v2)
        else:
            g, t, u, v = _march(px, py, pz, nx, ny, nz, 0.0, reach, lo, cell, dims, start, items, vertices, faces,
                                -1, False)
            g2, t2, u2, v2 = _march(px, py, pz, -nx, -ny, -nz, 0.0, t if g >= 0 else reach, lo, cell, dims, start,
                                    items, vertices, faces, -1, False)
        if g2 >= 0 and (g < 0 or t2 < t):
            g, u, v = g2, u2, v2
        if g < 0:
            continue
        w0 = 1.0 - u - v
        hit[q] = g
        hit_bary[q, 0], hit_bary[q, 1], hit_bary[q, 2] = w0, u, v
        if with_occlusion:
            occluded[q] = (w0 * occlusion[faces[g, 0]] + u * occlusion[faces[g, 1]] + v * occlusion[faces[g, 2]])
        hx = w0 * normals[g, 0, 0] + u * normals[g, 1, 0] + v * normals[g, 2, 0]
        hy = w0 * normals[g, 0, 1] + u * normals[g, 1, 1] + v * normals[g, 2, 1]
        hz = w0 * normals[g, 0, 2] + u * normals[g, 1, 2] + v * normals[g, 2, 2]
        # the level's tangent frame: T interpolated, made orthogonal to N; B = w · N × T
        tx = b0 * low_tangents[f, 0, 0] + b1 * low_tangents[f, 1, 0] + b2 * low_tangents[f, 2, 0]
        ty = b0 * low_tangents[f, 0, 1] + b1 * low_tangents[f, 1, 1] + b2 * low_tangents[f, 2, 1]
        tz = b0 * low_tangents[f, 0, 2] + b1 * low_tangents[f, 1, 2] + b2 * low_tangents[f, 2, 2]
        tw = b0 * low_tangents[f, 0, 3] + b1 * low_tangents[f, 1, 3] + b2 * low_tangents[f, 2, 3]
        dot = tx * nx + ty * ny + tz * nz
        tx, ty, tz = tx - dot * nx, ty - dot * ny, tz - dot * nz
        length = np.sqrt(tx * tx + ty * ty + tz * tz)
        if length > 1e-12:
            tx, ty, tz = tx / length, ty / length, tz / length
        else:  # any unit vector orthogonal to N
            ax, ay, az = (1.0, 0.0, 0.0) if abs(nx) < 0.9 else (0.0, 1.0, 0.0)
            dot = ax * nx + ay * ny + az * nz
            tx, ty, tz = ax - dot * nx, ay - dot * ny, az - dot * nz
            length = np.sqrt(tx * tx + ty * ty + tz * tz)
            tx, ty, tz = tx / length, ty / length, tz / length
        sign = -1.0 if tw < 0.0 else 1.0
        bx = sign * (ny * tz - nz * ty)
        by = sign * (nz * tx - nx * tz)
        bz = sign * (nx * ty - ny * tx)
        lx = hx * tx + hy * ty + hz * tz
        ly = hx * bx + hy * by + hz * bz
        lz = hx * nx + hy * ny + hz * nz
        length = np.sqrt(lx * lx + ly * ly + lz * lz)
        if length > 1e-12:
            local[q, 0], local[q, 1], local[q, 2] = lx / length, ly / length, lz / length
    return hit, hit_bary, local, occluded
