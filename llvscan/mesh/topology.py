"""Edge and adjacency structure of a triangle mesh, built once and shared (validation, decimation).

Built by numba kernels in O(M): half-edges bucketed by their lower vertex, so there is no global sort.
Every index array is int32 (half the bytes of int64; a mesh holds fewer than 2^31 / 3 faces).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from llvscan.errors import InvalidMeshError, InvalidParameterError, ResourceLimitError

__all__ = ["Topology", "build_topology", "check_faces", "check_half_edges", "hash_table", "weld_vertices"]


def check_faces(faces: np.ndarray, n_vertices: int) -> np.ndarray:
    """Return ``faces`` as a C-contiguous (M, 3) integer array with indices in [0, n_vertices)."""
    faces = np.asarray(faces)
    if faces.ndim != 2 or faces.shape[1] != 3 or not np.issubdtype(faces.dtype, np.integer):
        raise InvalidMeshError(f"faces must be an (M, 3) integer array, got shape {faces.shape} {faces.dtype}")
    if faces.size and (int(faces.min()) < 0 or int(faces.max()) >= n_vertices):
        raise InvalidMeshError(f"face indices must lie in [0, {n_vertices})")
    dtype = np.int32 if n_vertices < 2**31 - 1 else np.int64
    return np.ascontiguousarray(faces, dtype=dtype)


def hash_table(n: int) -> np.ndarray:
    """Scratch for the open-addressing kernels: a power of two ≥ 2n slots (int32 while it can be)."""
    return np.empty(1 << max(4, int(2 * max(n, 1) - 1).bit_length()), dtype=np.int32 if n < 2**31 - 1 else np.int64)


def weld_vertices(vertices: np.ndarray, *, tolerance: float = 0.0) -> tuple[np.ndarray, int]:
    """Ids that merge vertices with equal coordinates (or equal after snapping to a ``tolerance`` grid).

    Returns ``(remap (N,), count)``; ids follow the order of first appearance, so the result is
    deterministic. ``-0.0`` and ``0.0`` are the same position; rows with NaN or inf never merge.
    """
    vertices = np.asarray(vertices)
    if vertices.ndim != 2 or vertices.shape[1] != 3 or not np.issubdtype(vertices.dtype, np.floating):
        raise InvalidMeshError(f"vertices must be an (N, 3) float array, got {vertices.shape} {vertices.dtype}")
    if tolerance < 0:
        raise InvalidParameterError(f"tolerance must be ≥ 0, not {tolerance}")
    from llvscan.mesh import _topology_kernels

    n = vertices.shape[0]
    remap = np.empty(n, dtype=np.int32 if n < 2**31 - 1 else np.int64)
    count = _topology_kernels.weld(np.ascontiguousarray(vertices, dtype=np.float64), float(tolerance), remap,
                                   hash_table(n))
    return remap, int(count)


@dataclass(frozen=True, eq=False)
class Topology:
    """Edges of a face array. Half-edge ``h = 3f + k`` runs from ``faces[f, k]`` to ``faces[f, (k+1)%3]``."""

    faces: np.ndarray  # (M, 3) int32, the indexing the structure describes
    n_vertices: int
    edges: np.ndarray  # (E, 2) int32, low vertex first, sorted
    edge_start: np.ndarray  # (E + 1,) int32 offsets into edge_he
    edge_he: np.ndarray  # (H,) int32 half-edges grouped by edge, increasing within an edge
    he_edge: np.ndarray  # (3M,) int32 edge of each half-edge; -1 for a collapsed half-edge
    edge_faces: np.ndarray  # (E,) int32 number of half-edges (faces) on each edge
    inconsistent: np.ndarray  # (E,) bool: two faces traverse the edge in the same direction

    @property
    def n_edges(self) -> int:
        return int(self.edges.shape[0])

    @property
    def boundary(self) -> np.ndarray:
        return self.edge_faces == 1

    @property
    def non_manifold(self) -> np.ndarray:
        return self.edge_faces > 2


def build_topology(faces: np.ndarray, n_vertices: int) -> Topology:
    """Build the edge structure of ``faces`` over ``n_vertices`` vertices."""
    from llvscan.mesh import _topology_kernels

    faces = check_faces(faces, n_vertices)
    check_half_edges(faces)
    edges, edge_start, edge_he, he_edge, counts, inconsistent, _ = _topology_kernels.build_edges(faces, n_vertices,
                                                                                                 True)
    return Topology(faces, n_vertices, edges, edge_start, edge_he, he_edge, counts, inconsistent)


def check_half_edges(faces: np.ndarray) -> None:
    """The edge structure numbers half-edges in int32: refuse a face array too large for that."""
    if 3 * faces.shape[0] >= 2**31:
        raise ResourceLimitError(f"{faces.shape[0]:,} faces: the edge structure holds at most {(2**31 - 1) // 3:,}")
