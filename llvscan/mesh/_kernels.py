"""numba kernels for mesh topology. Private: call them through ``llvscan.mesh.validate``."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def edge_runs(keys: np.ndarray, forward: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Classify undirected edges from their sorted keys.

    ``keys[i]`` identifies the undirected edge of directed half-edge ``i``; ``forward[i]`` says whether
    the half-edge runs from the lower to the higher vertex; ``order`` sorts ``keys``. Returns
    ``[edges, boundary, non_manifold, inconsistent]``: edges used once, more than twice, and used
    twice in the same direction (the two faces disagree on orientation).
    """
    out = np.zeros(4, dtype=np.int64)
    n = order.shape[0]
    i = 0
    while i < n:
        key = keys[order[i]]
        count = 0
        n_forward = 0
        j = i
        while j < n and keys[order[j]] == key:
            count += 1
            if forward[order[j]]:
                n_forward += 1
            j += 1
        out[0] += 1
        if count == 1:
            out[1] += 1
        elif count > 2:
            out[2] += 1
        elif n_forward != 1:
            out[3] += 1
        i = j
    return out


@njit(cache=True, nogil=True)
def face_areas(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area of every triangle (half the norm of the edge cross product)."""
    m = faces.shape[0]
    out = np.empty(m, dtype=np.float64)
    for f in range(m):
        a = faces[f, 0]
        b = faces[f, 1]
        c = faces[f, 2]
        ux = vertices[b, 0] - vertices[a, 0]
        uy = vertices[b, 1] - vertices[a, 1]
        uz = vertices[b, 2] - vertices[a, 2]
        vx = vertices[c, 0] - vertices[a, 0]
        vy = vertices[c, 1] - vertices[a, 1]
        vz = vertices[c, 2] - vertices[a, 2]
        cx = uy * vz - uz * vy
        cy = uz * vx - ux * vz
        cz = ux * vy - uy * vx
        out[f] = 0.5 * np.sqrt(cx * cx + cy * cy + cz * cz)
    return out


@njit(cache=True, nogil=True)
def signed_volume(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Signed enclosed volume (divergence theorem); positive for a closed, outward-wound mesh."""
    total = 0.0
    for f in range(faces.shape[0]):
        a = vertices[faces[f, 0]]
        b = vertices[faces[f, 1]]
        c = vertices[faces[f, 2]]
        total += (a[0] * (b[1] * c[2] - b[2] * c[1])
                  - a[1] * (b[0] * c[2] - b[2] * c[0])
                  + a[2] * (b[0] * c[1] - b[1] * c[0]))
    return total / 6.0
