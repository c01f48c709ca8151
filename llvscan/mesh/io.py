"""Reading meshes (OBJ+MTL, PLY, STL, glTF/GLB) into one array-based ``Mesh``.

Parsing is trimesh's; llvscan adds the guards (empty, truncated, face limit, out-of-range indices)
and the declared units, and turns every parser failure into a ``MeshReadError`` naming the file.
"""

from __future__ import annotations

import logging
import mmap
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llvscan.errors import MeshReadError, ResourceLimitError

__all__ = ["DEFAULT_MAX_FACES", "MESH_SUFFIXES", "Mesh", "declared_units", "load_mesh"]

log = logging.getLogger(__name__)

MESH_SUFFIXES = frozenset({".obj", ".ply", ".stl", ".glb", ".gltf"})
DEFAULT_MAX_FACES = 200_000_000
_UNIT_WORDS = {"mm": "mm", "millimeter": "mm", "millimetre": "mm", "cm": "cm", "m": "m", "meter": "m",
               "metre": "m", "in": "in", "inch": "in"}
_UNITS_RE = re.compile(rb"^\s*(?:#|comment)\s*units?\s*[:=]?\s*([A-Za-z]+)\s*$", re.IGNORECASE)


@dataclass(frozen=True, eq=False)
class Mesh:
    """A triangle mesh as arrays. Vertices are split where UVs differ (seams), as parsers give them."""

    vertices: np.ndarray  # (N, 3) float64
    faces: np.ndarray  # (M, 3) int64
    uv: np.ndarray | None = None  # (N, 2) float64, per vertex
    vertex_colors: np.ndarray | None = None  # (N, 4) uint8
    units: str | None = None  # "mm", "cm", "m", "in", or None when undeclared
    textures: tuple[str, ...] = ()
    path: str | None = None
    format: str | None = None

    @property
    def n_vertices(self) -> int:
        return int(self.vertices.shape[0])

    @property
    def n_faces(self) -> int:
        return int(self.faces.shape[0])


def declared_units(path: Path, *, head_bytes: int = 4096) -> str | None:
    """Units a file declares: glTF is metres by specification; OBJ/PLY may say ``# units: mm``."""
    suffix = path.suffix.lower()
    if suffix in {".glb", ".gltf"}:
        return "m"
    if suffix not in {".obj", ".ply"}:
        return None
    with path.open("rb") as fh:
        head = fh.read(head_bytes)
    for line in head.splitlines():
        match = _UNITS_RE.match(line)
        if match:
            return _UNIT_WORDS.get(match.group(1).decode("ascii").lower())
    return None


def _texture_names(geometry: object) -> tuple[str, ...]:
    material = getattr(getattr(geometry, "visual", None), "material", None)
    image = getattr(material, "image", None) or getattr(material, "baseColorTexture", None)
    name = getattr(image, "filename", None)
    return (str(name),) if name else ()


def _obj_has_faces(path: Path) -> bool:
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return data[:2] == b"f " or data.find(b"\nf ") >= 0


def load_mesh(path: str | Path, *, max_faces: int = DEFAULT_MAX_FACES) -> Mesh:
    """Read a mesh file; raise ``MeshReadError`` (naming the file) when it is not a usable mesh."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in MESH_SUFFIXES:
        raise MeshReadError(f"unsupported mesh format {suffix or '(no suffix)'}; llvscan reads "
                            + ", ".join(sorted(MESH_SUFFIXES)), path=path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise MeshReadError("cannot open the file", path=path, detail=exc.strerror) from exc
    if size == 0:
        raise MeshReadError("empty file (0 bytes)", path=path)

    if suffix == ".obj" and not _obj_has_faces(path):
        raise MeshReadError("no faces in the file: truncated, or a point cloud", path=path)

    import trimesh

    try:
        loaded = trimesh.load(str(path), force="mesh", process=False)
    except Exception as exc:  # trimesh raises whatever its parser hits: ValueError, KeyError, IndexError…
        raise MeshReadError(f"cannot parse as {suffix[1:].upper()}", path=path,
                            detail=f"{type(exc).__name__}: {exc}") from exc

    faces = np.asarray(getattr(loaded, "faces", np.empty((0, 3))), dtype=np.int64).reshape(-1, 3)
    vertices = np.asarray(getattr(loaded, "vertices", np.empty((0, 3))), dtype=np.float64).reshape(-1, 3)
    if faces.shape[0] == 0:
        raise MeshReadError(f"no faces in the file ({vertices.shape[0]} vertices): "
                            "truncated or a point cloud", path=path)
    if faces.shape[0] > max_faces:
        raise ResourceLimitError(f"{faces.shape[0]} faces exceed the face limit {max_faces}", path=path)
    if faces.min() < 0 or faces.max() >= vertices.shape[0]:
        raise MeshReadError(f"a face refers to vertex {int(faces.max())} but the file has "
                            f"{vertices.shape[0]} vertices", path=path)

    visual = getattr(loaded, "visual", None)
    uv = getattr(visual, "uv", None)
    colors = None
    if getattr(visual, "kind", None) == "vertex":
        colors = np.asarray(visual.vertex_colors, dtype=np.uint8)
    return Mesh(
        vertices=vertices,
        faces=faces,
        uv=None if uv is None or len(uv) != len(vertices) else np.asarray(uv, dtype=np.float64),
        vertex_colors=colors,
        units=declared_units(path),
        textures=_texture_names(loaded),
        path=str(path),
        format=suffix[1:],
    )
