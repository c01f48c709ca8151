"""The one normal convention of llvscan's meshes.

A face normal is the cross product ``(b − a) × (c − a)`` of its corners in order (counter-clockwise
seen from outside), whose length is twice the face's area. A vertex normal is the area-weighted sum
of the normals of the faces around it, scaled to unit length; where that sum is zero (no face of any
area, or faces that cancel) it is ``(0, 0, 0)``: ``unit_rows(..., fallback=…)`` chooses what a writer
puts there instead.
"""

from __future__ import annotations

import numpy as np

__all__ = ["face_normals", "unit_rows", "vertex_normals"]


def face_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(M, 3) unnormalised face normals: ``(b − a) × (c − a)``, length twice the area."""
    tri = vertices[faces]
    return np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(N, 3) area-weighted unit vertex normals; ``(0, 0, 0)`` where a vertex has no normal."""
    cross = face_normals(vertices, faces)
    normals = np.zeros((len(vertices), 3))
    for axis in range(3):  # bincount: a scatter-add several times faster than np.add.at
        for k in range(3):
            normals[:, axis] += np.bincount(faces[:, k], weights=cross[:, axis], minlength=len(vertices))
    return unit_rows(normals, fallback=(0.0, 0.0, 0.0))


def unit_rows(vectors: np.ndarray, *, fallback: tuple[float, float, float] = (0.0, 0.0, 1.0)) -> np.ndarray:
    """Rows scaled to unit length; zero or non-finite rows become ``fallback``."""
    length = np.linalg.norm(vectors, axis=1)
    good = np.isfinite(length) & (length > 1e-30)
    out = np.tile(np.asarray(fallback, dtype=np.float64), (len(vectors), 1))
    out[good] = vectors[good] / length[good, None]
    return out
