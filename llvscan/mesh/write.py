"""Writing meshes: OBJ + MTL + textures, and binary glTF (GLB, through ``llvscan.mesh.gltf``).

Every file is written under a temporary name and renamed into place, so an interrupted write never
leaves a complete-looking mesh. Textures that are files are copied next to the OBJ (same name); a
texture embedded in a GLB input has no file to copy, and the MTL says so in a comment.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np

from llvscan._publish import write_bytes_atomic
from llvscan.errors import InvalidParameterError, OutputError
from llvscan.mesh.io import Mesh

__all__ = ["WRITE_SUFFIXES", "save_mesh"]

log = logging.getLogger(__name__)

WRITE_SUFFIXES = frozenset({".obj", ".glb"})


def _rows(fmt: str, values: np.ndarray) -> str:
    values = np.asarray(values)
    return (fmt * len(values)) % tuple(values.ravel().tolist()) if len(values) else ""


def _obj_text(mesh: Mesh, mtl_name: str | None, material_names: list[str]) -> str:
    parts = ["# written by llvscan\n"]
    if mesh.units:
        parts.append(f"# units: {mesh.units}\n")
    if mtl_name:
        parts.append(f"mtllib {mtl_name}\n")
    parts.append(_rows("v %.9g %.9g %.9g\n", mesh.vertices))
    has_uv = mesh.uv is not None and mesh.uv_faces is not None
    has_n = mesh.normals is not None and mesh.normal_faces is not None
    if has_uv:
        parts.append(_rows("vt %.9g %.9g\n", mesh.uv))
    if has_n:
        parts.append(_rows("vn %.6g %.6g %.6g\n", mesh.normals))
    material = mesh.face_material if mesh.face_material is not None else np.full(mesh.n_faces, -1)
    order = np.argsort(material, kind="stable")
    faces = np.asarray(mesh.faces)[order] + 1
    uvf = np.asarray(mesh.uv_faces)[order] + 1 if has_uv else None
    nf = np.asarray(mesh.normal_faces)[order] + 1 if has_n else None
    mat_sorted = np.asarray(material)[order]
    starts = np.flatnonzero(np.r_[True, mat_sorted[1:] != mat_sorted[:-1]]) if len(order) else np.array([], int)
    bounds = [*starts.tolist(), len(order)]
    for i, s in enumerate(starts):
        e = bounds[i + 1]
        mi = int(mat_sorted[s])
        if 0 <= mi < len(material_names):
            parts.append(f"usemtl {material_names[mi]}\n")
        f = faces[s:e]
        with_uv = (uvf[s:e] > 0).all(axis=1) if has_uv else np.zeros(e - s, bool)
        for mask, fmt, cols in (
            (with_uv, "f %d/%d/%d %d/%d/%d %d/%d/%d\n" if has_n else "f %d/%d %d/%d %d/%d\n", "vtn" if has_n else "vt"),
            (~with_uv, "f %d//%d %d//%d %d//%d\n" if has_n else "f %d %d %d\n", "n" if has_n else ""),
        ):
            if not mask.any():
                continue
            stack = [f[mask]]
            if "t" in cols:
                stack.append(uvf[s:e][mask])
            if "n" in cols:
                stack.append(nf[s:e][mask])
            parts.append(_rows(fmt, np.stack(stack, axis=-1).reshape(int(mask.sum()), -1)))
    return "".join(parts)


def _save_obj(mesh: Mesh, path: Path) -> list[Path]:
    written = [path]
    names = [m.name.replace(" ", "_") or f"material{i}" for i, m in enumerate(mesh.materials)]
    mtl_name = None
    if mesh.materials:
        mtl_path = path.with_suffix(".mtl")
        mtl_name = mtl_path.name
        lines = ["# written by llvscan"]
        for material, name in zip(mesh.materials, names, strict=True):
            lines.append(f"newmtl {name}")
            r, g, b = material.color or (1.0, 1.0, 1.0)
            lines += [f"Kd {r:.6g} {g:.6g} {b:.6g}", "Ka 0 0 0", "Ks 0 0 0", "illum 1"]
            if material.texture == "embedded" or (material.texture and not Path(material.texture).is_file()):
                lines.append(f"# texture not written: {material.texture} has no file to copy")
            elif material.texture:
                source = Path(material.texture)
                target = path.parent / source.name
                if source.resolve() != target.resolve():
                    tmp = target.with_name(f".{target.name}.tmp")
                    shutil.copyfile(source, tmp)
                    tmp.replace(target)
                written.append(target)
                lines.append(f"map_Kd {target.name}")
        write_bytes_atomic(mtl_path, ("\n".join(lines) + "\n").encode("utf-8"))
        written.insert(1, mtl_path)
    write_bytes_atomic(path, _obj_text(mesh, mtl_name, names).encode("utf-8"))
    return written


def _save_glb(mesh: Mesh, path: Path) -> list[Path]:
    """GLB through llvscan's own glTF writer (positions in metres, textures embedded)."""
    from llvscan.mesh.gltf import write_glb

    write_glb(mesh, path)
    return [path]


def save_mesh(mesh: Mesh, path: str | Path) -> list[Path]:
    """Write ``mesh`` to ``path`` (.obj with its .mtl and textures, or .glb); return the files written."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in WRITE_SUFFIXES:
        raise InvalidParameterError(f"cannot write {suffix or 'a file without suffix'}: "
                                    f"use one of {', '.join(sorted(WRITE_SUFFIXES))}", path=path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return _save_obj(mesh, path) if suffix == ".obj" else _save_glb(mesh, path)
    except OSError as exc:
        raise OutputError(f"cannot write the mesh: {exc.strerror or exc}", path=path) from exc
