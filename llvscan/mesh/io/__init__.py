"""Mesh files in and out: a registry of readers and writers (``registry``) and one module per format.

OBJ + MTL (``obj``, llvscan's numba parser; ``obj_writer``), PLY (``ply``), glTF/GLB (``gltf``, the
reader; ``glb``, the writer), STL through trimesh (``trimesh_reader``). Names load on first use.
"""

from __future__ import annotations

from llvscan._lazy import lazy_exports

__all__ = ["DEFAULT_MAX_FACES", "MESH_SUFFIXES", "WRITE_SUFFIXES", "GlbInfo", "load_mesh", "save_mesh", "write_glb"]

__getattr__, __dir__ = lazy_exports(__name__, {
    "DEFAULT_MAX_FACES": "registry", "MESH_SUFFIXES": "registry", "WRITE_SUFFIXES": "registry",
    "load_mesh": "registry", "save_mesh": "registry", "GlbInfo": "glb", "write_glb": "glb",
})
