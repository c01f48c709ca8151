"""numba kernels that parse Wavefront OBJ text. Private: ``llvscan.mesh.io.obj`` wraps them.

Two passes over the raw bytes: ``count`` sizes every array, ``fill`` parses into them. Polygons are
fan-triangulated; negative (relative) indices are resolved; faces naming an element that does not
exist are dropped and reported, never indexed.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from llvscan import _numba  # noqa: F401  (numba's configuration, before the first kernel compiles)

# status codes returned in ``info[0]``
OK = 0
BAD_NUMBER = 1
TOO_FEW_COORDS = 2
BAD_FACE = 3

_POW10 = np.array([10.0**i for i in range(23)])


@njit(cache=True, inline="always")
def _is_space(c: int) -> bool:
    return c == 32 or c == 9 or c == 13


@njit(cache=True, inline="always")
def _is_word(c: int) -> bool:
    return (48 <= c <= 57) or (65 <= c <= 90) or (97 <= c <= 122) or c == 95


@njit(cache=True)
def _keyword(buf: np.ndarray, i: int, end: int) -> int:
    """Classify the line starting at ``i``: 1 v, 2 vt, 3 vn, 4 f, 5 usemtl, 0 anything else."""
    n = end - i
    if n >= 2 and buf[i] == 118:  # v
        c = buf[i + 1]
        if _is_space(c):
            return 1
        if n >= 3 and _is_space(buf[i + 2]):
            if c == 116:  # t
                return 2
            if c == 110:  # n
                return 3
        return 0
    if n >= 2 and buf[i] == 102 and _is_space(buf[i + 1]):  # f
        return 4
    if (n >= 6 and buf[i] == 117 and buf[i + 1] == 115 and buf[i + 2] == 101 and buf[i + 3] == 109
            and buf[i + 4] == 116 and buf[i + 5] == 108 and (n == 6 or not _is_word(buf[i + 6]))):  # usemtl
        return 5
    return 0


@njit(cache=True)
def _parse_float(buf: np.ndarray, i: int, end: int, pow10: np.ndarray):
    """Parse a decimal float at ``buf[i:end]``; return (value, next index, ok)."""
    sign = 1.0
    if i < end and (buf[i] == 45 or buf[i] == 43):
        if buf[i] == 45:
            sign = -1.0
        i += 1
    mantissa = 0
    digits = 0
    scale = 0
    extra = 0  # integer digits beyond 18, kept as a power of ten
    while i < end and 48 <= buf[i] <= 57:
        if digits < 18:
            mantissa = mantissa * 10 + (buf[i] - 48)
            digits += 1
        else:
            extra += 1
        i += 1
    seen = digits + extra
    if i < end and buf[i] == 46:
        i += 1
        while i < end and 48 <= buf[i] <= 57:
            if digits < 18:
                mantissa = mantissa * 10 + (buf[i] - 48)
                digits += 1
                scale += 1
            i += 1
            seen += 1
    if seen == 0:
        # nan / inf, as some exporters write them
        if i + 2 < end and (buf[i] | 32) == 110 and (buf[i + 1] | 32) == 97 and (buf[i + 2] | 32) == 110:
            return np.nan, i + 3, True
        if i + 2 < end and (buf[i] | 32) == 105 and (buf[i + 1] | 32) == 110 and (buf[i + 2] | 32) == 102:
            j = i + 3
            while j < end and _is_word(buf[j]):
                j += 1
            return sign * np.inf, j, True
        return 0.0, i, False
    exponent = extra - scale
    if i < end and (buf[i] == 101 or buf[i] == 69):
        i += 1
        esign = 1
        if i < end and (buf[i] == 45 or buf[i] == 43):
            if buf[i] == 45:
                esign = -1
            i += 1
        e = 0
        edigits = 0
        while i < end and 48 <= buf[i] <= 57:
            if e < 10000:
                e = e * 10 + (buf[i] - 48)
            edigits += 1
            i += 1
        if edigits == 0:
            return 0.0, i, False
        exponent += esign * e
    value = float(mantissa)
    # exact operands up to 10^22: one correctly rounded multiplication or division
    if exponent > 0:
        value = value * pow10[exponent] if exponent <= 22 else value * 10.0**exponent
    elif exponent < 0:
        value = value / pow10[-exponent] if -exponent <= 22 else value / 10.0 ** (-exponent)
    return sign * value, i, True


@njit(cache=True)
def _parse_int(buf: np.ndarray, i: int, end: int):
    """Parse a signed integer; return (value, next index, ok). Values past 10^15 saturate."""
    sign = 1
    if i < end and buf[i] == 45:
        sign = -1
        i += 1
    value = 0
    n = 0
    while i < end and 48 <= buf[i] <= 57:
        if value < 10**15:
            value = value * 10 + (buf[i] - 48)
        n += 1
        i += 1
    return sign * value, i, n > 0


@njit(cache=True)
def _line_end(buf: np.ndarray, i: int, n: int) -> int:
    while i < n and buf[i] != 10:
        i += 1
    return i


@njit(cache=True)
def _skip_spaces(buf: np.ndarray, i: int, end: int) -> int:
    while i < end and _is_space(buf[i]):
        i += 1
    return i


@njit(cache=True)
def _count_numbers(buf: np.ndarray, i: int, end: int) -> int:
    """How many whitespace-separated tokens lie in ``buf[i:end]`` (a comment ends the line)."""
    count = 0
    while True:
        i = _skip_spaces(buf, i, end)
        if i >= end or buf[i] == 35:
            return count
        count += 1
        while i < end and not _is_space(buf[i]):
            i += 1


@njit(cache=True)
def count(buf: np.ndarray) -> np.ndarray:
    """Sizes: [v, vt, vn, triangles, usemtl lines, lines, v lines with colour, face lines]."""
    out = np.zeros(8, dtype=np.int64)
    n = buf.shape[0]
    i = 0
    while i < n:
        end = _line_end(buf, i, n)
        out[5] += 1
        j = _skip_spaces(buf, i, end)
        kind = _keyword(buf, j, end)
        if kind == 1:
            out[0] += 1
            if _count_numbers(buf, j + 1, end) >= 6:
                out[6] += 1
        elif kind == 2:
            out[1] += 1
        elif kind == 3:
            out[2] += 1
        elif kind == 4:
            corners = _count_numbers(buf, j + 1, end)
            out[7] += 1
            if corners >= 3:
                out[3] += corners - 2
        elif kind == 5:
            out[4] += 1
        i = end + 1
    return out


@njit(cache=True)
def _resolve(index: int, current: int, total: int) -> int:
    """1-based or negative OBJ index → 0-based; -1 when it names nothing."""
    if index > 0:
        return index - 1 if index <= total else -1
    if index < 0:
        k = current + index
        return k if k >= 0 else -1
    return -1


@njit(cache=True)
def fill(buf: np.ndarray, sizes: np.ndarray, usemtl_ids: np.ndarray, pow10: np.ndarray,
         vertices: np.ndarray, colors: np.ndarray, uvs: np.ndarray, normals: np.ndarray,
         faces: np.ndarray, uv_faces: np.ndarray, normal_faces: np.ndarray, face_material: np.ndarray,
         bad_lines: np.ndarray) -> np.ndarray:
    """Parse into the arrays sized by ``count``.

    Returns ``[status, line, triangles kept, faces dropped, short face lines, bad lines recorded]``;
    ``bad_lines`` receives the first line numbers of dropped faces.
    """
    info = np.zeros(6, dtype=np.int64)
    n = buf.shape[0]
    n_v, n_vt, n_vn = sizes[0], sizes[1], sizes[2]
    iv = 0
    ivt = 0
    ivn = 0
    it = 0
    k_mtl = 0
    material = -1
    line = 0
    i = 0
    corner_v = np.empty(64, dtype=np.int64)
    corner_t = np.empty(64, dtype=np.int64)
    corner_n = np.empty(64, dtype=np.int64)
    while i < n:
        end = _line_end(buf, i, n)
        line += 1
        j = _skip_spaces(buf, i, end)
        kind = _keyword(buf, j, end)
        if kind == 1 or kind == 2 or kind == 3:
            j += 1 if kind == 1 else 2
            want = 3 if kind != 2 else 2
            values = np.zeros(6)
            got = 0
            while got < 6:
                j = _skip_spaces(buf, j, end)
                if j >= end or buf[j] == 35:
                    break
                value, j2, ok = _parse_float(buf, j, end, pow10)
                if not ok or (j2 < end and not _is_space(buf[j2]) and buf[j2] != 35):
                    info[0] = BAD_NUMBER
                    info[1] = line
                    return info
                values[got] = value
                got += 1
                j = j2
            if got < want:
                info[0] = TOO_FEW_COORDS
                info[1] = line
                return info
            if kind == 1:
                vertices[iv, 0] = values[0]
                vertices[iv, 1] = values[1]
                vertices[iv, 2] = values[2]
                if colors.shape[0] > 0 and got >= 6:
                    colors[iv, 0] = values[3]
                    colors[iv, 1] = values[4]
                    colors[iv, 2] = values[5]
                iv += 1
            elif kind == 2:
                uvs[ivt, 0] = values[0]
                uvs[ivt, 1] = values[1]
                ivt += 1
            else:
                normals[ivn, 0] = values[0]
                normals[ivn, 1] = values[1]
                normals[ivn, 2] = values[2]
                ivn += 1
        elif kind == 4:
            j += 1
            k = 0
            dropped = False
            while True:
                j = _skip_spaces(buf, j, end)
                if j >= end or buf[j] == 35:
                    break
                a, j, ok = _parse_int(buf, j, end)
                if not ok:
                    info[0] = BAD_FACE
                    info[1] = line
                    return info
                b = 0
                c = 0
                if j < end and buf[j] == 47:
                    j += 1
                    if j < end and buf[j] != 47 and not _is_space(buf[j]):
                        b, j, ok = _parse_int(buf, j, end)
                        if not ok:
                            info[0] = BAD_FACE
                            info[1] = line
                            return info
                    if j < end and buf[j] == 47:
                        j += 1
                        c, j, ok = _parse_int(buf, j, end)
                        if not ok:
                            info[0] = BAD_FACE
                            info[1] = line
                            return info
                if j < end and not _is_space(buf[j]) and buf[j] != 35:
                    info[0] = BAD_FACE
                    info[1] = line
                    return info
                if k == corner_v.shape[0]:
                    grown = np.empty(2 * k, dtype=np.int64)
                    grown[:k] = corner_v
                    corner_v = grown
                    grown = np.empty(2 * k, dtype=np.int64)
                    grown[:k] = corner_t
                    corner_t = grown
                    grown = np.empty(2 * k, dtype=np.int64)
                    grown[:k] = corner_n
                    corner_n = grown
                va = _resolve(a, iv, n_v)
                vb = _resolve(b, ivt, n_vt) if b != 0 else -2
                vc = _resolve(c, ivn, n_vn) if c != 0 else -2
                if va < 0 or vb == -1 or vc == -1:
                    dropped = True
                corner_v[k] = va
                corner_t[k] = vb
                corner_n[k] = vc
                k += 1
            if k < 3:
                info[4] += 1
            elif dropped:
                if info[5] < bad_lines.shape[0]:
                    bad_lines[info[5]] = line
                    info[5] += 1
                info[3] += 1
            else:
                for t in range(1, k - 1):
                    faces[it, 0] = corner_v[0]
                    faces[it, 1] = corner_v[t]
                    faces[it, 2] = corner_v[t + 1]
                    if uv_faces.shape[0] > 0:
                        uv_faces[it, 0] = max(corner_t[0], -1)
                        uv_faces[it, 1] = max(corner_t[t], -1)
                        uv_faces[it, 2] = max(corner_t[t + 1], -1)
                    if normal_faces.shape[0] > 0:
                        normal_faces[it, 0] = max(corner_n[0], -1)
                        normal_faces[it, 1] = max(corner_n[t], -1)
                        normal_faces[it, 2] = max(corner_n[t + 1], -1)
                    face_material[it] = material
                    it += 1
        elif kind == 5:
            material = usemtl_ids[k_mtl] if k_mtl < usemtl_ids.shape[0] else -1
            k_mtl += 1
        i = end + 1
    info[2] = it
    return info
