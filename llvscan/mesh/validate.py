"""Mesh validation: counts, topology of the welded surface, geometry, texture presence.

Validators *return* a report; they raise only when they cannot read the input. Topology is measured on
the surface with coincident positions welded, so the vertex splits that UV seams need do not count
as holes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from llvscan.errors import InvalidParameterError
from llvscan.mesh.io import Mesh, load_mesh

__all__ = ["EdgeStatistics", "Finding", "ValidationReport", "edge_statistics", "validate_mesh", "weld"]


@dataclass(frozen=True)
class Finding:
    level: str  # "error" | "warning" | "info"
    code: str  # stable machine name, e.g. "non_manifold_edges"
    message: str


@dataclass(frozen=True)
class EdgeStatistics:
    edges: int
    boundary_edges: int
    non_manifold_edges: int
    inconsistent_edges: int


@dataclass(frozen=True)
class ValidationReport:
    """What a mesh is, and what is wrong with it. Field names are stable: the catalog stores them."""

    path: str | None
    format: str | None
    units: str | None
    vertices: int
    faces: int
    welded_vertices: int
    bbox_min: list[float]
    bbox_max: list[float]
    bbox_size: list[float]
    surface_area: float
    volume: float | None
    edges: int
    boundary_edges: int
    non_manifold_edges: int
    inconsistent_edges: int
    degenerate_faces: int
    non_finite_vertices: int
    watertight: bool
    has_uv: bool
    has_vertex_colors: bool
    textures: list[str]
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "warning"]

    @property
    def is_valid(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["is_valid"] = self.is_valid
        return data


def weld(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge vertices with bit-identical positions; return (unique positions, re-indexed faces)."""
    unique, inverse = np.unique(vertices, axis=0, return_inverse=True)
    return unique, inverse.reshape(-1)[faces]


def edge_statistics(faces: np.ndarray, n_vertices: int) -> EdgeStatistics:
    """Count edges, boundary edges, non-manifold edges and orientation conflicts of a face array."""
    faces = np.asarray(faces)
    if faces.ndim != 2 or faces.shape[1] != 3 or not np.issubdtype(faces.dtype, np.integer):
        raise InvalidParameterError(f"faces must be an (M, 3) integer array, got {faces.shape} {faces.dtype}")
    if faces.size and (faces.min() < 0 or faces.max() >= n_vertices):
        raise InvalidParameterError(f"face indices must lie in [0, {n_vertices})")
    from llvscan.mesh import _kernels

    half = faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2).astype(np.int64)
    lo = half.min(axis=1)
    hi = half.max(axis=1)
    keys = lo * np.int64(n_vertices) + hi
    forward = half[:, 0] < half[:, 1]
    order = np.argsort(keys, kind="stable")
    counts = _kernels.edge_runs(keys, forward, order)
    return EdgeStatistics(*(int(c) for c in counts))


def _n(count: int, noun: str, plural: str | None = None) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {plural or noun + 's'}"


def _findings(report: dict[str, Any]) -> list[Finding]:
    found: list[Finding] = []
    if n := report["non_finite_vertices"]:
        found.append(Finding("error", "non_finite_vertices",
                             f"{_n(n, 'vertex', 'vertices')} with NaN or infinite coordinates"))
    if n := report["non_manifold_edges"]:
        found.append(Finding("error", "non_manifold_edges", f"{_n(n, 'edge')} shared by more than two faces"))
    if n := report["boundary_edges"]:
        found.append(Finding("warning", "boundary_edges", f"open surface: {_n(n, 'boundary edge')}"))
    if n := report["inconsistent_edges"]:
        found.append(Finding("warning", "inconsistent_edges",
                             f"{_n(n, 'edge')} joining faces wound in opposite directions"))
    if n := report["degenerate_faces"]:
        found.append(Finding("warning", "degenerate_faces", f"{_n(n, 'face')} with zero area or a repeated vertex"))
    if report["units"] is None:
        found.append(Finding("info", "units_undeclared", "the file declares no units"))
    return found


def validate_mesh(mesh: Mesh | str | Path) -> ValidationReport:
    """Validate a mesh (or the mesh file at a path, read with ``load_mesh``)."""
    if not isinstance(mesh, Mesh):
        mesh = load_mesh(mesh)
    from llvscan.mesh import _kernels

    vertices = np.ascontiguousarray(mesh.vertices, dtype=np.float64)
    finite = np.isfinite(vertices).all(axis=1)
    welded, faces = weld(vertices, mesh.faces)
    faces = np.ascontiguousarray(faces, dtype=np.int64)
    stats = edge_statistics(faces, welded.shape[0])
    areas = _kernels.face_areas(welded, faces)
    repeated = (faces[:, 0] == faces[:, 1]) | (faces[:, 1] == faces[:, 2]) | (faces[:, 2] == faces[:, 0])
    usable = vertices[finite] if finite.any() else np.zeros((1, 3))
    lo, hi = usable.min(axis=0), usable.max(axis=0)
    diag = float(np.linalg.norm(hi - lo)) or 1.0
    degenerate = int(np.count_nonzero(repeated | (areas <= 1e-12 * diag * diag)))
    watertight = stats.boundary_edges == 0 and stats.non_manifold_edges == 0
    closed_and_oriented = watertight and stats.inconsistent_edges == 0 and bool(finite.all())
    fields: dict[str, Any] = {
        "path": mesh.path,
        "format": mesh.format,
        "units": mesh.units,
        "vertices": mesh.n_vertices,
        "faces": mesh.n_faces,
        "welded_vertices": int(welded.shape[0]),
        "bbox_min": lo.tolist(),
        "bbox_max": hi.tolist(),
        "bbox_size": (hi - lo).tolist(),
        "surface_area": float(areas[np.isfinite(areas)].sum()),
        "volume": float(_kernels.signed_volume(welded, faces)) if closed_and_oriented else None,
        "edges": stats.edges,
        "boundary_edges": stats.boundary_edges,
        "non_manifold_edges": stats.non_manifold_edges,
        "inconsistent_edges": stats.inconsistent_edges,
        "degenerate_faces": degenerate,
        "non_finite_vertices": int(np.count_nonzero(~finite)),
        "watertight": watertight,
        "has_uv": mesh.uv is not None,
        "has_vertex_colors": mesh.vertex_colors is not None,
        "textures": list(mesh.textures),
    }
    return ValidationReport(**fields, findings=_findings(fields))
