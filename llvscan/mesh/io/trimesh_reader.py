"""STL through trimesh, with llvscan's guards: empty files, the face limit, out-of-range indices. Every
parser failure becomes a ``MeshReadError`` naming the file. (OBJ, PLY and glTF/GLB have readers of
llvscan's own: ``obj``, ``ply``, ``gltf``.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from llvscan.errors import MeshReadError, ResourceLimitError
from llvscan.mesh.core.types import Mesh
from llvscan.mesh.core.units import declared_units

__all__ = ["read_with_trimesh"]

def read_with_trimesh(path: Path, *, max_faces: int, root: Path | None = None) -> Mesh:
    """An STL or glTF/GLB file through trimesh, with llvscan's guards (see the module docstring)."""
    suffix = path.suffix.lower()
    import trimesh

    try:
        loaded = trimesh.load(str(path), process=False)
        if isinstance(loaded, trimesh.Scene):  # glTF: concatenate the scene's meshes (a copy; STL skips it)
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
        units=declared_units(path),
        path=str(path),
        format=suffix[1:],
    )
