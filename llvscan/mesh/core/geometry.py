"""The one normal convention of llvscan's meshes.

A face normal is the cross product ``(b − a) × (c − a)`` of its corners in order (counter-clockwise
seen from outside), whose length is twice the face's area. A vertex normal is the area-weighted sum
of the normals of the faces around it, scaled to unit length; where that sum is zero (no face of any
area, or faces that cancel) it is ``(0, 0, 0)``: ``unit_rows(..., fallback=…)`` chooses what a writer
puts there instead.

A vertex tangent (``vertex_tangents``) is glTF's ``TANGENT``: the unit direction of increasing U, and a
handedness ``w`` such that ``w · (normal × tangent)`` points *up in the image* (toward the image's top
row), which is the +Y (green) axis of a glTF normal map.
"""

from __future__ import annotations

import numpy as np

__all__ = ["face_normals", "unit_rows", "vertex_normals", "vertex_tangents"]


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


def vertex_tangents(vertices: np.ndarray, faces: np.ndarray, uv: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """(N, 4) glTF ``TANGENT`` of already split vertices (one per distinct position/UV/normal, as a glTF
    writer emits them): xyz a unit vector orthogonal to the vertex normal, w = ±1 the handedness.

    ``uv`` is in **glTF's convention** (origin at the image's top-left corner, ``t`` growing downward; an
    llvscan/OBJ UV ``(u, v)`` is ``(u, 1 − v)`` there), ``normals`` (N, 3) unit. The frame follows the
    glTF 2.0 normal-map convention (+X right = +U, +Y up in the image, +Z toward the viewer): xyz points
    along increasing ``s``, and the bitangent ``w · (normal × xyz)`` points toward *decreasing* ``t`` (up
    in the image). That is what MikkTSpace gives when fed V-up UVs (Blender's exporter writes exactly
    that), and what three.js assumes when a mesh carries tangents (it flips the normal map's green channel
    only when it derives the frame from ``dP/dt`` itself).

    As MikkTSpace does in essence: each face's tangent and bitangent come from its UV gradients; each
    corner projects them onto the plane of its vertex normal, normalises them and adds them to its vertex
    weighted by the corner's angle (measured in that plane); the sum is orthonormalised against the normal
    (Gram–Schmidt), and ``w`` is the sign of ``(normal × tangent) · summed bitangent``. Faces with
    degenerate UVs add nothing; a vertex left without a tangent gets a unit vector orthogonal to its normal
    and ``w = 1``. MikkTSpace's splitting of vertices whose faces disagree in handedness is not done.
    """
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    uv = np.asarray(uv, dtype=np.float64)
    normals = np.asarray(normals, dtype=np.float64)
    n = len(vertices)
    p = vertices[faces]  # (M, 3, 3)
    s = uv[faces, 0]
    v = -uv[faces, 1]  # image-up: the bitangent's direction
    e1, e2 = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]
    ds1, ds2 = s[:, 1] - s[:, 0], s[:, 2] - s[:, 0]
    dv1, dv2 = v[:, 1] - v[:, 0], v[:, 2] - v[:, 0]
    det = ds1 * dv2 - ds2 * dv1
    orient = np.sign(det)[:, None]  # a mirrored face: ∂P/∂s and ∂P/∂v are (e1 dv2 − e2 dv1)/det and so on
    face_t = (e1 * dv2[:, None] - e2 * dv1[:, None]) * orient
    face_b = (e2 * ds1[:, None] - e1 * ds2[:, None]) * orient
    usable = np.isfinite(det) & (det != 0.0)

    tangent = np.zeros((n, 3))
    bitangent = np.zeros((n, 3))
    for k in range(3):
        corner = faces[:, k]
        nrm = normals[corner]
        # the corner's angle, between its two edges projected onto the plane of the vertex normal
        a = p[:, (k + 1) % 3] - p[:, k]
        b = p[:, (k + 2) % 3] - p[:, k]
        a = _unit(a - nrm * np.einsum("ij,ij->i", a, nrm)[:, None])
        b = _unit(b - nrm * np.einsum("ij,ij->i", b, nrm)[:, None])
        angle = np.arccos(np.clip(np.einsum("ij,ij->i", a, b), -1.0, 1.0))
        weight = np.where(usable, angle, 0.0)
        t_k = _unit(face_t - nrm * np.einsum("ij,ij->i", face_t, nrm)[:, None])
        b_k = _unit(face_b - nrm * np.einsum("ij,ij->i", face_b, nrm)[:, None])
        for axis in range(3):
            tangent[:, axis] += np.bincount(corner, weights=t_k[:, axis] * weight, minlength=n)
            bitangent[:, axis] += np.bincount(corner, weights=b_k[:, axis] * weight, minlength=n)

    tangent -= normals * np.einsum("ij,ij->i", tangent, normals)[:, None]
    length = np.linalg.norm(tangent, axis=1)
    missing = ~(np.isfinite(length) & (length > 1e-12))
    if missing.any():  # any unit vector orthogonal to the normal
        nm = normals[missing]
        axis_vec = np.where((np.abs(nm[:, 0]) < 0.9)[:, None], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0])
        tangent[missing] = axis_vec - nm * np.einsum("ij,ij->i", axis_vec, nm)[:, None]
        bitangent[missing] = np.cross(nm, tangent[missing])
    tangent = unit_rows(tangent, fallback=(1.0, 0.0, 0.0))
    w = np.where(np.einsum("ij,ij->i", np.cross(normals, tangent), bitangent) < 0.0, -1.0, 1.0)
    return np.concatenate([tangent, w[:, None]], axis=1)


def _unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length; zero rows stay zero."""
    length = np.linalg.norm(vectors, axis=1)
    return vectors / np.where(length > 1e-300, length, 1.0)[:, None]
