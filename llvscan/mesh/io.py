"""Reading meshes (OBJ+MTL, PLY, STL, glTF/GLB) into one array-based ``Mesh``.

OBJ goes through llvscan's own numba parser (``llvscan.mesh.obj``): trimesh's reader is about 3×
slower on a 2M-face scan and silently drops unreferenced vertices, which the validator must count.
PLY, STL and glTF/GLB are trimesh's; llvscan adds the guards (empty files, headers that claim more
elements than the file can hold, face limit, out-of-range indices) and turns every parser failure into
a ``MeshReadError`` naming the file.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from llvscan.errors import MeshReadError, ResourceLimitError

__all__ = ["DEFAULT_MAX_FACES", "MESH_SUFFIXES", "Material", "Mesh", "declared_units", "load_mesh"]

log = logging.getLogger(__name__)

MESH_SUFFIXES = frozenset({".obj", ".ply", ".stl", ".glb", ".gltf"})
DEFAULT_MAX_FACES = 200_000_000
_UNIT_WORDS = {"mm": "mm", "millimeter": "mm", "millimetre": "mm", "millimeters": "mm", "millimetres": "mm",
               "cm": "cm", "centimeter": "cm", "centimetre": "cm", "m": "m", "meter": "m", "metre": "m",
               "meters": "m", "metres": "m", "in": "in", "inch": "in", "inches": "in"}
_UNITS_RE = re.compile(rb"^\s*(?:#|comment)\s*units?\s*[:=]?\s*([A-Za-z]+)\s*$", re.IGNORECASE)
_PLY_ELEMENT_RE = re.compile(rb"^element\s+(\w+)\s+(\d+)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Material:
    """A material and its base-colour texture."""

    name: str
    texture: str | None = None  # path of the texture file; "embedded" for a texture inside a GLB
    texture_size: tuple[int, int] | None = None  # known for embedded textures; files are checked later
    color: tuple[float, float, float] | None = None


@dataclass(frozen=True, eq=False)
class Mesh:
    """A triangle mesh as arrays.

    ``vertices``/``faces`` index positions as the file stores them (an OBJ's ``v``; formats that store
    per-vertex UVs split positions along seams). UVs and normals are indexed per corner:
    ``uv[uv_faces[f, k]]`` is the UV of corner ``k`` of face ``f`` (``-1``: none), which keeps the UV
    seams explicit; ``split_by_uv`` gives the render-ready vertex splitting.
    """

    vertices: np.ndarray  # (N, 3) float64
    faces: np.ndarray  # (M, 3) int64
    uv: np.ndarray | None = None  # (K, 2) float64
    uv_faces: np.ndarray | None = None  # (M, 3) int, -1 where a corner has no UV
    normals: np.ndarray | None = None  # (L, 3) float64
    normal_faces: np.ndarray | None = None  # (M, 3) int, -1 where a corner has no normal
    vertex_colors: np.ndarray | None = None  # (N, 4) uint8
    materials: tuple[Material, ...] = ()
    face_material: np.ndarray | None = None  # (M,) int, index into materials, -1 for none
    units: str | None = None  # "mm", "cm", "m", "in", or None when undeclared
    path: str | None = None
    format: str | None = None
    dropped_faces: int = 0  # faces that named a missing vertex/UV/normal (OBJ), left out
    dropped_face_lines: tuple[int, ...] = field(default=())  # their first line numbers

    @property
    def n_vertices(self) -> int:
        return int(self.vertices.shape[0])

    @property
    def n_faces(self) -> int:
        return int(self.faces.shape[0])

    @property
    def textures(self) -> tuple[str, ...]:
        return tuple(m.texture for m in self.materials if m.texture)

    @property
    def corner_uv(self) -> np.ndarray | None:
        """(M, 3, 2) UV of every corner (NaN where a corner has none)."""
        if self.uv is None or self.uv_faces is None:
            return None
        out = self.uv[np.clip(self.uv_faces, 0, None)]
        out[self.uv_faces < 0] = np.nan
        return out

    def split_by_uv(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Render-ready arrays: one vertex per distinct (position, UV) pair. Returns (vertices, faces, uv)."""
        if self.uv is None or self.uv_faces is None:
            return self.vertices, self.faces, None
        pairs = np.stack([self.faces.reshape(-1), self.uv_faces.reshape(-1)], axis=1).astype(np.int64)
        unique, inverse = np.unique(pairs, axis=0, return_inverse=True)
        uv = np.where(unique[:, 1:2] >= 0, self.uv[np.clip(unique[:, 1], 0, None)], np.nan)
        return self.vertices[unique[:, 0]], inverse.reshape(-1, 3), uv


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


def _check_ply_header(path: Path, size: int, max_faces: int) -> None:
    """Refuse a PLY whose header claims more elements than the file can hold, before any allocation."""
    with path.open("rb") as fh:
        head = fh.read(65536)
    if not head.startswith(b"ply"):
        raise MeshReadError("not a PLY file (no 'ply' magic)", path=path)
    end = head.find(b"end_header")
    if end < 0:
        raise MeshReadError("PLY header has no end_header within 64 KiB", path=path)
    binary = b"format binary" in head[:end]
    total = 0
    for name, count in _PLY_ELEMENT_RE.findall(head[:end]):
        n = int(count)
        if name == b"face" and n > max_faces:
            raise ResourceLimitError(f"header claims {n:,} faces, above the face limit {max_faces:,}", path=path)
        total += n * (3 if binary else 2)  # at least 3 bytes per binary element, 2 per ASCII line
    if total > size:
        raise MeshReadError(f"header claims elements needing at least {total:,} bytes but the file has "
                            f"{size:,}: truncated or corrupt", path=path)


def _texture_of(material: object) -> tuple[str | None, tuple[int, int] | None]:
    image = getattr(material, "image", None) or getattr(material, "baseColorTexture", None)
    if image is None:
        return None, None
    name = getattr(image, "filename", None)
    return (str(name) if name else "embedded"), tuple(image.size)


def _load_with_trimesh(path: Path, suffix: str, size: int, max_faces: int) -> Mesh:
    if suffix == ".ply":
        _check_ply_header(path, size, max_faces)
    import trimesh

    try:
        loaded = trimesh.load(str(path), process=False)
        if isinstance(loaded, trimesh.Scene):  # glTF: concatenate the scene's meshes (a copy; PLY/STL skip it)
            loaded = loaded.to_mesh()
    except Exception as exc:  # trimesh raises whatever its parser hits: ValueError, KeyError, IndexError…
        raise MeshReadError(f"cannot parse as {suffix[1:].upper()}", path=path,
                            detail=f"{type(exc).__name__}: {exc}") from exc
    faces = np.asarray(getattr(loaded, "faces", np.empty((0, 3))), dtype=np.int64).reshape(-1, 3)
    vertices = np.asarray(getattr(loaded, "vertices", np.empty((0, 3))), dtype=np.float64).reshape(-1, 3)
    if faces.shape[0] == 0:
        raise MeshReadError(f"no faces in the file ({vertices.shape[0]} vertices): truncated or a point cloud",
                            path=path)
    if faces.shape[0] > max_faces:
        raise ResourceLimitError(f"{faces.shape[0]:,} faces exceed the face limit {max_faces:,}", path=path)
    if faces.min() < 0 or faces.max() >= vertices.shape[0]:
        raise MeshReadError(f"a face refers to vertex {int(faces.max())} but the file has "
                            f"{vertices.shape[0]} vertices", path=path)
    visual = getattr(loaded, "visual", None)
    uv = getattr(visual, "uv", None)
    has_uv = uv is not None and len(uv) == len(vertices)
    colors = None
    if getattr(visual, "kind", None) == "vertex":
        colors = np.asarray(visual.vertex_colors, dtype=np.uint8)
    materials: tuple[Material, ...] = ()
    material = getattr(visual, "material", None)
    if material is not None:
        texture, texture_size = _texture_of(material)
        materials = (Material(str(getattr(material, "name", None) or "material"), texture, texture_size),)
    cache = getattr(getattr(loaded, "_cache", None), "cache", {})
    normals = cache.get("vertex_normals")
    return Mesh(
        vertices=vertices,
        faces=faces,
        uv=np.asarray(uv, dtype=np.float64) if has_uv else None,
        uv_faces=faces if has_uv else None,
        normals=np.asarray(normals, dtype=np.float64) if normals is not None else None,
        normal_faces=faces if normals is not None else None,
        vertex_colors=colors,
        materials=materials,
        face_material=np.zeros(len(faces), dtype=np.int32) if materials else None,
        units=declared_units(path),
        path=str(path),
        format=suffix[1:],
    )


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
    if suffix == ".obj":
        from llvscan.mesh.obj import read_obj

        return read_obj(path, max_faces=max_faces)
    return _load_with_trimesh(path, suffix, size, max_faces)
