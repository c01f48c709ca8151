"""Wavefront OBJ + MTL writer; textures that are files are copied next to the OBJ (same name).

Every file is written under a temporary name and renamed into place, so an interrupted write never
leaves a complete-looking mesh. A texture a glTF input carried as bytes is written as a file beside the
OBJ; a texture file that is missing has nothing to copy, and the MTL says so in a comment.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from llvscan._publish import write_bytes_atomic
from llvscan.mesh.core.texture import image_size
from llvscan.mesh.core.types import Mesh

__all__ = ["write_obj"]

_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}


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
    uv, uv_faces, normals, normal_faces = mesh.uv, mesh.uv_faces, mesh.normals, mesh.normal_faces
    has_uv = uv is not None and uv_faces is not None
    has_n = normals is not None and normal_faces is not None
    if uv is not None and uv_faces is not None:
        parts.append(_rows("vt %.9g %.9g\n", uv))
    if normals is not None and normal_faces is not None:
        parts.append(_rows("vn %.6g %.6g %.6g\n", normals))
    material = mesh.face_material if mesh.face_material is not None else np.full(mesh.n_faces, -1)
    order = np.argsort(material, kind="stable")
    faces = np.asarray(mesh.faces)[order] + 1
    uvf = np.asarray(uv_faces)[order] + 1 if has_uv else np.zeros_like(faces)
    nf = np.asarray(normal_faces)[order] + 1 if has_n else np.zeros_like(faces)
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


def write_obj(mesh: Mesh, path: Path) -> list[Path]:
    """Write ``mesh`` as ``path`` (.obj), its .mtl and its texture files; return the files written."""
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
            if material.opacity < 1.0:
                lines.append(f"d {material.opacity:.6g}")
            header = image_size(material.texture_data) if material.texture_data is not None else None
            if material.texture_data is not None and header is not None:  # an image a glTF carried: a file now
                target = path.parent / f"{path.stem}-{name}{_EXTENSIONS[header[2]]}"
                write_bytes_atomic(target, material.texture_data)
                written.append(target)
                lines.append(f"map_Kd {target.name}")
            elif material.texture and not Path(material.texture).is_file():
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
