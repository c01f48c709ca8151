"""Wavefront OBJ + MTL reading with llvscan's numba parser (``_obj_kernels``).

Two passes over the memory-mapped bytes: one sizes the arrays, one fills them. Quads and polygons are
fan-triangulated, negative indices resolved, ``v x y z r g b`` vertex colours read. A face that names a
vertex, UV or normal the file does not have is left out and counted (``Mesh.dropped_faces``, with line
numbers) so the validator can report it; a malformed line is a ``MeshReadError`` naming the line.
"""

from __future__ import annotations

import mmap
import re
from pathlib import Path

import numpy as np

from llvscan.errors import MeshReadError, ResourceLimitError
from llvscan.mesh.core.types import Material, Mesh
from llvscan.mesh.core.units import declared_units

__all__ = ["read_mtl", "read_obj"]

_USEMTL_RE = re.compile(rb"^[ \t]*usemtl\b[ \t]*([^\r\n#]*)", re.MULTILINE)
_MTLLIB_RE = re.compile(rb"^[ \t]*mtllib[ \t]+([^\r\n#]+)", re.MULTILINE)
_MESSAGES = {1: "malformed number", 2: "too few coordinates", 3: "malformed face"}


def read_mtl(path: Path) -> list[Material]:
    """Materials of an MTL file: name, base-colour texture (``map_Kd``, resolved), ``Kd`` colour."""
    materials: list[Material] = []
    name, texture, color = None, None, None

    def close() -> None:
        if name is not None:
            materials.append(Material(name, texture, None, color))

    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        words = raw.strip().split()
        if not words or words[0].startswith("#"):
            continue
        key = words[0].lower()
        if key == "newmtl":
            close()
            name, texture, color = " ".join(words[1:]) or "material", None, None
        elif key == "map_kd" and len(words) > 1:
            texture = str((path.parent / words[-1].replace("\\", "/")).resolve())
        elif key == "kd" and len(words) >= 4:
            try:
                color = (float(words[1]), float(words[2]), float(words[3]))
            except ValueError:
                color = None
    close()
    return materials


def _materials(path: Path, data: mmap.mmap) -> tuple[list[Material], list[str]]:
    """Materials from every mtllib (missing MTL files are skipped), and the usemtl names in file order."""
    materials: list[Material] = []
    for match in _MTLLIB_RE.finditer(data):
        for name in match.group(1).decode("utf-8", "replace").split():
            mtl = path.parent / name.replace("\\", "/")
            if mtl.is_file():
                materials += read_mtl(mtl)
    uses = [m.group(1).decode("utf-8", "replace").strip() for m in _USEMTL_RE.finditer(data)]
    return materials, uses


def read_obj(path: str | Path, *, max_faces: int, root: Path | None = None) -> Mesh:
    from llvscan.mesh.io import _obj_kernels as k

    path = Path(path)
    with path.open("rb") as fh:
        data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    # the array views the mapping; both are released together when this function returns
    buf = np.frombuffer(data, dtype=np.uint8)
    sizes = k.count(buf)
    n_v, n_vt, n_vn, n_tri, n_use = (int(x) for x in sizes[:5])
    if n_tri == 0:
        raise MeshReadError(f"no faces in the file ({n_v} vertices): truncated, or a point cloud",
                            path=path)
    if n_tri > max_faces:
        raise ResourceLimitError(f"{n_tri:,} faces exceed the face limit {max_faces:,}", path=path)
    materials, uses = _materials(path, data)
    names = [m.name for m in materials]
    for name in uses:
        if name not in names:
            names.append(name)
            materials.append(Material(name))
    use_ids = (np.array([names.index(u) for u in uses], dtype=np.int64) if len(uses) == n_use
               else np.full(n_use, -1, dtype=np.int64))
    vertices = np.zeros((n_v, 3))
    colors = np.zeros((n_v if sizes[6] else 0, 3))
    uv = np.zeros((n_vt, 2))
    normals = np.zeros((n_vn, 3))
    faces = np.empty((n_tri, 3), dtype=np.int64)
    uv_faces = np.empty((n_tri if n_vt else 0, 3), dtype=np.int32)
    normal_faces = np.empty((n_tri if n_vn else 0, 3), dtype=np.int32)
    face_material = np.empty(n_tri, dtype=np.int32)
    bad_lines = np.zeros(16, dtype=np.int64)
    info = k.fill(buf, sizes, use_ids, k._POW10, vertices, colors, uv, normals, faces, uv_faces,
                  normal_faces, face_material, bad_lines)
    status, line, kept, dropped, short, n_bad = (int(x) for x in info)
    if status:
        raise MeshReadError(f"line {line}: {_MESSAGES[status]}", path=path)
    if kept == 0:
        raise MeshReadError(f"none of its {dropped + short} faces is usable (they name missing vertices)",
                            path=path)
    if kept < n_tri:
        faces, face_material = faces[:kept], face_material[:kept]
        uv_faces, normal_faces = uv_faces[:kept], normal_faces[:kept]
    vertex_colors = None
    if colors.shape[0]:
        scale = 255.0 if np.nanmax(colors, initial=0.0) <= 1.0 else 1.0
        rgb = np.clip(np.nan_to_num(colors) * scale + 0.5, 0, 255).astype(np.uint8)
        vertex_colors = np.concatenate([rgb, np.full((n_v, 1), 255, dtype=np.uint8)], axis=1)
    return Mesh(
        vertices=vertices,
        faces=faces,
        uv=uv if n_vt else None,
        uv_faces=uv_faces if n_vt else None,
        normals=normals if n_vn else None,
        normal_faces=normal_faces if n_vn else None,
        vertex_colors=vertex_colors,
        materials=tuple(materials),
        face_material=face_material if materials else None,
        units=declared_units(path),
        path=str(path),
        format="obj",
        dropped_faces=dropped + short,
        dropped_face_lines=tuple(int(x) for x in bad_lines[:n_bad]),
    )
