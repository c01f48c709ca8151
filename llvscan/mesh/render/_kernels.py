"""numba kernels of the software rasteriser. Private: call ``llvscan.mesh.render.render_mesh``.

Two passes, as a visibility buffer (deferred shading) does it:

1. ``rasterize`` walks the triangles once, serially, and keeps per pixel the nearest triangle's id and
   its ``1/z``. Screen positions are snapped to 1/256 pixel and the edge functions evaluated in int64,
   so two triangles sharing an edge cover every pixel centre on it (no pinholes) and the result does not
   depend on the floating-point path. Both windings pass the coverage test (two-sided rendering);
   ties in depth keep the triangle drawn first, so the output is the same run to run.
2. ``shade`` visits each pixel once (rows in parallel; every pixel is written by one iteration only, so
   the image is byte-identical run to run): it recomputes the barycentrics of the visible triangle,
   corrects them for perspective, and interpolates the UV (bilinear texture lookup), the vertex colour
   and the vertex normal (or a normal map's, in the tangent frame glTF defines). Lighting is Lambert,
   two-sided: ``ambient · occlusion + diffuse * |n·l|``.

Pixel ``(i, j)`` is centred at screen position ``(j + 0.5, i + 0.5)``; screen ``y`` points down.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from llvscan import _numba  # noqa: F401  (numba's configuration, before the first kernel compiles)

SUBPIXEL = 256  # fixed-point steps per pixel
GUARD = float(1 << 22)  # |screen coordinate| limit in pixels, so that edge products fit int64


@njit(cache=True)
def project(vertices, eye, right, up, forward, focal, half, screen):
    """Perspective projection: ``screen[i] = (x, y, 1/z)`` in pixels, ``z`` the depth along ``forward``.

    ``1/z`` is 0 for vertices at or behind the camera (depth ≤ 0); ``rasterize`` skips their triangles.
    """
    for i in range(vertices.shape[0]):
        px = vertices[i, 0] - eye[0]
        py = vertices[i, 1] - eye[1]
        pz = vertices[i, 2] - eye[2]
        x = px * right[0] + py * right[1] + pz * right[2]
        y = px * up[0] + py * up[1] + pz * up[2]
        z = px * forward[0] + py * forward[1] + pz * forward[2]
        if z > 0.0:
            w = 1.0 / z
            screen[i, 0] = half + focal * x * w
            screen[i, 1] = half - focal * y * w
            screen[i, 2] = w
        else:
            screen[i, 0] = 0.0
            screen[i, 1] = 0.0
            screen[i, 2] = 0.0


@njit(cache=True, inline="always")
def _face_normal(vertices, a, b, c):
    """Unnormalised normal of triangle a b c (twice its area)."""
    ux = vertices[b, 0] - vertices[a, 0]
    uy = vertices[b, 1] - vertices[a, 1]
    uz = vertices[b, 2] - vertices[a, 2]
    vx = vertices[c, 0] - vertices[a, 0]
    vy = vertices[c, 1] - vertices[a, 1]
    vz = vertices[c, 2] - vertices[a, 2]
    return uy * vz - uz * vy, uz * vx - ux * vz, ux * vy - uy * vx


@njit(cache=True, inline="always")
def _snap(x):
    return np.int64(math.floor(x * SUBPIXEL + 0.5))


@njit(cache=True)
def rasterize(screen, faces, near_w, depth, face_id):
    """Nearest triangle per pixel: ``face_id`` (-1: none) and its ``1/z`` in ``depth`` (0: none).

    ``near_w`` is ``1/near``: a triangle with a corner nearer than the near plane (or behind the camera)
    is skipped whole. ``depth`` and ``face_id`` are updated in place, so several calls can share them.
    """
    h, w = depth.shape
    half_step = SUBPIXEL // 2
    for f in range(faces.shape[0]):
        a, b, c = faces[f, 0], faces[f, 1], faces[f, 2]
        w0, w1, w2 = screen[a, 2], screen[b, 2], screen[c, 2]
        if w0 <= 0.0 or w1 <= 0.0 or w2 <= 0.0 or w0 > near_w or w1 > near_w or w2 > near_w:
            continue
        fx0, fy0 = screen[a, 0], screen[a, 1]
        fx1, fy1 = screen[b, 0], screen[b, 1]
        fx2, fy2 = screen[c, 0], screen[c, 1]
        if max(abs(fx0), abs(fy0), abs(fx1), abs(fy1), abs(fx2), abs(fy2)) > GUARD:
            continue
        x0, y0, x1, y1, x2, y2 = _snap(fx0), _snap(fy0), _snap(fx1), _snap(fy1), _snap(fx2), _snap(fy2)
        area = (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)
        if area == 0:
            continue
        # pixel j covers centre j*S + S/2: first column with centre >= min x, last with centre <= max x
        j0 = max((min(x0, x1, x2) - half_step + SUBPIXEL - 1) // SUBPIXEL, 0)
        j1 = min((max(x0, x1, x2) - half_step) // SUBPIXEL, w - 1)
        i0 = max((min(y0, y1, y2) - half_step + SUBPIXEL - 1) // SUBPIXEL, 0)
        i1 = min((max(y0, y1, y2) - half_step) // SUBPIXEL, h - 1)
        if j0 > j1 or i0 > i1:
            continue
        sign = 1 if area > 0 else -1
        inv_area = 1.0 / (area * sign)
        for i in range(i0, i1 + 1):
            py = i * SUBPIXEL + half_step
            for j in range(j0, j1 + 1):
                px = j * SUBPIXEL + half_step
                e0 = ((x2 - x1) * (py - y1) - (y2 - y1) * (px - x1)) * sign
                e1 = ((x0 - x2) * (py - y2) - (y0 - y2) * (px - x2)) * sign
                e2 = ((x1 - x0) * (py - y0) - (y1 - y0) * (px - x0)) * sign
                if e0 < 0 or e1 < 0 or e2 < 0:
                    continue
                z = (e0 * w0 + e1 * w1 + e2 * w2) * inv_area
                if z > depth[i, j]:
                    depth[i, j] = z
                    face_id[i, j] = f


@njit(cache=True, inline="always")
def _texel(data, offset, width, row, col, k):
    return np.float64(data[offset + (row * width + col) * 3 + k])


@njit(cache=True, inline="always")
def _wrap(t):
    """UVs in [0, 1] as they are (1.0 stays the last texel); others wrap around (tiling)."""
    if t < 0.0 or t > 1.0:
        t -= math.floor(t)
    return t


@njit(cache=True, inline="always")
def _bilinear(data, offset, th, tw, u, v, k):
    """Channel ``k`` of an (H, W, 3) uint8 image stored row-major at ``offset``, bilinear at UV (u, v), V up."""
    fx = _wrap(u) * (tw - 1)
    fy = (1.0 - _wrap(v)) * (th - 1)
    cx0 = min(max(np.int64(math.floor(fx)), 0), tw - 1)
    cy0 = min(max(np.int64(math.floor(fy)), 0), th - 1)
    cx1 = min(cx0 + 1, tw - 1)
    cy1 = min(cy0 + 1, th - 1)
    ax = fx - cx0
    ay = fy - cy0
    top = (1.0 - ax) * _texel(data, offset, tw, cy0, cx0, k) + ax * _texel(data, offset, tw, cy0, cx1, k)
    bottom = (1.0 - ax) * _texel(data, offset, tw, cy1, cx0, k) + ax * _texel(data, offset, tw, cy1, cx1, k)
    return (1.0 - ay) * top + ay * bottom


@njit(cache=True)
def shade(screen, vertices, faces, face_id, normals, uv, uv_faces, colors, face_slot, slot_texture,
          slot_color, tex_data, slot_normal, slot_occlusion, corner_tangent, light, ambient, background, out):
    """Colour every pixel of ``out`` (H, W, 3) uint8 from the visibility buffer ``face_id``.

    Base colour, per face: its slot's texture at the interpolated UV (when the slot has one and the
    face's corners all have finite UVs), else the interpolated vertex colour (when ``colors`` has a row
    per vertex), else the slot's colour (unless NaN), else light grey. ``slot_texture[s]`` is
    ``(offset into tex_data, height, width)`` of an (H, W, 3) uint8 image stored row-major, offset -1
    for none; UV ``v`` points up: texel row ``(1 - v) * (H - 1)``, column ``u * (W - 1)``.
    The normal is the interpolated vertex normal when ``normals`` has a row per vertex and it is not
    zero, else the face normal. Where the slot has a normal map (``slot_normal``, same layout) and the
    face has tangents (``corner_tangent`` (M, 3, 4), glTF's TANGENT per corner), the map's tangent-space
    normal (glTF convention) replaces it: ``x·T + y·B + z·N`` with ``B = w · N × T``. The light factor is
    ``ambient · occlusion + (1 - ambient) · |n·light|``: an occlusion map (``slot_occlusion``, its red
    channel, as glTF) darkens the ambient light only, as viewers apply it to indirect light.
    """
    h, w = face_id.shape
    has_uv = uv_faces.shape[0] == faces.shape[0]
    has_colors = colors.shape[0] == vertices.shape[0] and colors.shape[0] > 0
    smooth = normals.shape[0] == vertices.shape[0] and normals.shape[0] > 0
    has_tangents = corner_tangent.shape[0] == faces.shape[0]
    for i in prange(h):
        for j in range(w):
            f = face_id[i, j]
            if f < 0:
                for k in range(3):
                    out[i, j, k] = background[k]
                continue
            a, b, c = faces[f, 0], faces[f, 1], faces[f, 2]
            # screen-space barycentrics (float: shading only), then perspective-correct weights
            x0, y0 = screen[a, 0], screen[a, 1]
            x1, y1 = screen[b, 0], screen[b, 1]
            x2, y2 = screen[c, 0], screen[c, 1]
            px = j + 0.5
            py = i + 0.5
            area = (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)
            if area == 0.0:
                b0, b1, b2 = 1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0
            else:
                b0 = ((x2 - x1) * (py - y1) - (y2 - y1) * (px - x1)) / area
                b1 = ((x0 - x2) * (py - y2) - (y0 - y2) * (px - x2)) / area
                b0 = min(max(b0, 0.0), 1.0)
                b1 = min(max(b1, 0.0), 1.0 - b0)
                b2 = 1.0 - b0 - b1
            p0 = b0 * screen[a, 2]
            p1 = b1 * screen[b, 2]
            p2 = b2 * screen[c, 2]
            total = p0 + p1 + p2
            p0 /= total
            p1 /= total
            p2 /= total

            slot = face_slot[f]
            u, v = np.nan, np.nan
            if has_uv:
                ta, tb, tc = uv_faces[f, 0], uv_faces[f, 1], uv_faces[f, 2]
                if ta >= 0 and tb >= 0 and tc >= 0:
                    u = p0 * uv[ta, 0] + p1 * uv[tb, 0] + p2 * uv[tc, 0]
                    v = p0 * uv[ta, 1] + p1 * uv[tb, 1] + p2 * uv[tc, 1]
            mapped = math.isfinite(u) and math.isfinite(v)

            # base colour
            r, g, bl = 204.0, 204.0, 204.0
            done = False
            offset = slot_texture[slot, 0]
            if offset >= 0 and mapped:
                th, tw = slot_texture[slot, 1], slot_texture[slot, 2]
                r = _bilinear(tex_data, offset, th, tw, u, v, 0)
                g = _bilinear(tex_data, offset, th, tw, u, v, 1)
                bl = _bilinear(tex_data, offset, th, tw, u, v, 2)
                done = True
            if not done and has_colors:
                r = p0 * colors[a, 0] + p1 * colors[b, 0] + p2 * colors[c, 0]
                g = p0 * colors[a, 1] + p1 * colors[b, 1] + p2 * colors[c, 1]
                bl = p0 * colors[a, 2] + p1 * colors[b, 2] + p2 * colors[c, 2]
                done = True
            if not done and not math.isnan(slot_color[slot, 0]):
                r, g, bl = slot_color[slot, 0], slot_color[slot, 1], slot_color[slot, 2]

            # normal and light
            nx, ny, nz = 0.0, 0.0, 0.0
            if smooth:
                nx = p0 * normals[a, 0] + p1 * normals[b, 0] + p2 * normals[c, 0]
                ny = p0 * normals[a, 1] + p1 * normals[b, 1] + p2 * normals[c, 1]
                nz = p0 * normals[a, 2] + p1 * normals[b, 2] + p2 * normals[c, 2]
            length = math.sqrt(nx * nx + ny * ny + nz * nz)
            if length <= 1e-300:
                nx, ny, nz = _face_normal(vertices, a, b, c)
                length = math.sqrt(nx * nx + ny * ny + nz * nz)
            offset = slot_normal[slot, 0]
            if offset >= 0 and mapped and has_tangents and length > 1e-300:
                nx, ny, nz = nx / length, ny / length, nz / length
                tx = p0 * corner_tangent[f, 0, 0] + p1 * corner_tangent[f, 1, 0] + p2 * corner_tangent[f, 2, 0]
                ty = p0 * corner_tangent[f, 0, 1] + p1 * corner_tangent[f, 1, 1] + p2 * corner_tangent[f, 2, 1]
                tz = p0 * corner_tangent[f, 0, 2] + p1 * corner_tangent[f, 1, 2] + p2 * corner_tangent[f, 2, 2]
                along = tx * nx + ty * ny + tz * nz
                tx, ty, tz = tx - along * nx, ty - along * ny, tz - along * nz
                t_len = math.sqrt(tx * tx + ty * ty + tz * tz)
                if t_len > 1e-300:
                    tx, ty, tz = tx / t_len, ty / t_len, tz / t_len
                    hand = 1.0 if corner_tangent[f, 0, 3] >= 0.0 else -1.0
                    bx = hand * (ny * tz - nz * ty)
                    by = hand * (nz * tx - nx * tz)
                    bz = hand * (nx * ty - ny * tx)
                    th, tw = slot_normal[slot, 1], slot_normal[slot, 2]
                    mx = _bilinear(tex_data, offset, th, tw, u, v, 0) / 127.5 - 1.0
                    my = _bilinear(tex_data, offset, th, tw, u, v, 1) / 127.5 - 1.0
                    mz = _bilinear(tex_data, offset, th, tw, u, v, 2) / 127.5 - 1.0
                    nx = mx * tx + my * bx + mz * nx
                    ny = mx * ty + my * by + mz * ny
                    nz = mx * tz + my * bz + mz * nz
                    length = math.sqrt(nx * nx + ny * ny + nz * nz)
            lambert = 0.0
            if length > 1e-300:
                lambert = abs(nx * light[0] + ny * light[1] + nz * light[2]) / length
            occlusion = 1.0
            offset = slot_occlusion[slot, 0]
            if offset >= 0 and mapped:
                th, tw = slot_occlusion[slot, 1], slot_occlusion[slot, 2]
                occlusion = _bilinear(tex_data, offset, th, tw, u, v, 0) / 255.0
            factor = ambient * occlusion + (1.0 - ambient) * min(lambert, 1.0)
            out[i, j, 0] = np.uint8(min(max(r * factor + 0.5, 0.0), 255.0))
            out[i, j, 1] = np.uint8(min(max(g * factor + 0.5, 0.0), 255.0))
            out[i, j, 2] = np.uint8(min(max(bl * factor + 0.5, 0.0), 255.0))
