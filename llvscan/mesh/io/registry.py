"""Which reader reads a mesh file, which writer writes one: the registry of mesh formats.

The format modules (``obj``, ``ply``, ``gltf``, ``trimesh_reader``, ``obj_writer``, ``glb``) never import
this module. OBJ goes through llvscan's own numba parser (``obj``): trimesh's reader is about 3× slower on
a 2M-face scan and silently drops unreferenced vertices, which the validator must count. PLY (``ply``)
and glTF/GLB (``gltf``) have readers of llvscan's own that keep every material, texture and colour;
STL is trimesh's, behind llvscan's guards (``trimesh_reader``).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llvscan._constants import DEFAULT_MAX_FACES
from llvscan.errors import InvalidParameterError, LlvscanError, MeshReadError, OutputError

if TYPE_CHECKING:  # the registry stays light: MESH_SUFFIXES is read by collection discovery
    from llvscan.mesh.core.types import Mesh

__all__ = ["DEFAULT_MAX_FACES", "MESH_SUFFIXES", "READERS", "WRITERS", "WRITE_SUFFIXES", "load_mesh", "save_mesh"]


# suffix → "module:function"; modules are imported when a file of their format is first read or written
READERS = {
    ".obj": "llvscan.mesh.io.obj:read_obj",
    ".ply": "llvscan.mesh.io.ply:read_ply",
    ".stl": "llvscan.mesh.io.trimesh_reader:read_with_trimesh",
    ".glb": "llvscan.mesh.io.gltf:read_gltf",
    ".gltf": "llvscan.mesh.io.gltf:read_gltf",
}
WRITERS = {
    ".obj": "llvscan.mesh.io.obj_writer:write_obj",
    ".glb": "llvscan.mesh.io.glb:write_glb_files",
    ".usdz": "llvscan.mesh.io.usdz:write_usdz_files",  # with the optional usd-core
}
MESH_SUFFIXES = frozenset(READERS)
WRITE_SUFFIXES = frozenset(WRITERS)


def _entry(table: dict[str, str], suffix: str) -> Callable[..., Any]:
    module, function = table[suffix].split(":")
    return getattr(importlib.import_module(module), function)


def load_mesh(path: str | os.PathLike[str], *, max_faces: int = DEFAULT_MAX_FACES,
              root: str | os.PathLike[str] | None = None) -> Mesh:
    """Read a mesh file; raise ``MeshReadError`` (naming the file) when it is not a usable mesh.

    Every file the mesh refers to (MTL, textures, glTF buffers and images) must resolve inside ``root``
    (the collection root; by default the mesh's own folder). A reference that does not, or a referenced
    file that is missing, is a ``ReadProblem`` on the mesh (validation reports it), never a read outside.
    """
    path = Path(path)
    root = Path(root) if root is not None else path.parent
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise MeshReadError(f"unsupported mesh format {suffix or '(no suffix)'}; llvscan reads "
                            + ", ".join(sorted(MESH_SUFFIXES)), path=path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise MeshReadError("cannot open the file", path=path, detail=exc.strerror) from exc
    if size == 0:
        raise MeshReadError("empty file (0 bytes)", path=path)
    mesh: Mesh = _entry(READERS, suffix)(path, max_faces=max_faces, root=root)
    return mesh


def save_mesh(mesh: Mesh, path: str | os.PathLike[str]) -> list[Path]:
    """Write ``mesh`` to ``path`` (.obj with its .mtl and textures, .glb, or .usdz with the optional
    usd-core); return the files written."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in WRITERS:
        raise InvalidParameterError(f"cannot write {suffix or 'a file without suffix'}: "
                                    f"use one of {', '.join(sorted(WRITE_SUFFIXES))}", path=path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        written: list[Path] = _entry(WRITERS, suffix)(mesh, path)
        return written
    except OSError as exc:
        if isinstance(exc, LlvscanError):  # already names the file and the problem
            raise
        raise OutputError(f"cannot write the mesh: {exc.strerror or exc}", path=path) from exc
