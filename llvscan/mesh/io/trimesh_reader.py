"""PLY, STL and glTF/GLB through trimesh, with llvscan's guards: empty files, PLY headers that claim more
elements than the file can hold, the face limit, out-of-range indices. Every parser failure becomes a
``MeshReadError`` naming the file.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from llvscan.errors import MeshReadError, ResourceLimitError
from llvscan.mesh.core.types import Material, Mesh
from llvscan.mesh.core.units import declared_units

__all__ = ["read_with_trimesh"]

_PLY_ELEMENT_RE = re.compile(rb"^element\s+(\w+)\s+(\d+)\s*$", re.MULTILINE)


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


def read_with_trimesh(path: Path, *, max_faces: int, root: Path | None = None) -> Mesh:
    """A PLY, STL or glTF/GLB file through trimesh, with llvscan's guards (see the module docstring)."""
    suffix = path.suffix.lower()
    size = path.stat().st_size
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
    if visual is not None and getattr(visual, "kind", None) == "vertex":
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
