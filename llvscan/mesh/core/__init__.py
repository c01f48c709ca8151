"""The core of the mesh package: types, units, the normal convention and texture helpers. Imports nothing
else of ``llvscan.mesh``; every other layer builds on it. Names load on first use."""

from __future__ import annotations

from llvscan._lazy import lazy_exports

__all__ = ["METRES_PER_UNIT", "Material", "Mesh", "declared_units", "face_normals", "image_size",
           "resample_texture", "texture_header", "texture_sizes", "unit_rows", "vertex_normals"]

__getattr__, __dir__ = lazy_exports(__name__, {
    "Material": "types", "Mesh": "types", "METRES_PER_UNIT": "units", "declared_units": "units",
    "face_normals": "geometry", "unit_rows": "geometry", "vertex_normals": "geometry",
    "image_size": "texture", "resample_texture": "texture", "texture_header": "texture", "texture_sizes": "texture",
})
