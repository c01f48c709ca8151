"""Meshes: load photogrammetry scans, validate them, decimate them with their textures, write them.

Layers, each importing only the ones above it in this list:

- ``core``: the ``Mesh``/``Material`` types, units, the normal convention, texture helpers;
- ``topology``: edges and welding (numba, ``_topology_kernels``);
- ``io``: a registry of readers and writers (OBJ + MTL, PLY/STL/glTF through trimesh, GLB);
- ``validate``, ``distance``: the inspection report, and the distance between two meshes;
- ``simplify``: texture-aware decimation; ``unwrap``: chart counts and fresh atlases (xatlas);
- ``render``: a software rasteriser for thumbnails, and visual fidelity (SSIM/PSNR of renders);
- ``bake``: normal, occlusion and base-colour maps baked from a full mesh onto a level's atlas;
- ``lod``: level-of-detail recipes, building them, the Voyager scene.

Every public name is importable from here; importing this package loads nothing heavy (names load on
first use), so ``import llvscan.collection.recipe`` stays light.
"""

from __future__ import annotations

from llvscan._lazy import lazy_exports

__all__ = [
    "MESH_SUFFIXES",
    "BakeSource",
    "BakedMaps",
    "DecimationResult",
    "Finding",
    "GlbInfo",
    "LodLevel",
    "LodRecipe",
    "LodResult",
    "LodSet",
    "Material",
    "Mesh",
    "MeshDistance",
    "TextureCheck",
    "Topology",
    "Unwrapped",
    "ValidationReport",
    "ValidationThresholds",
    "build_lods",
    "build_topology",
    "decimate",
    "decimate_file",
    "flipped_faces",
    "load_mesh",
    "load_recipe",
    "mesh_distance",
    "render_mesh",
    "render_turntable",
    "save_mesh",
    "save_thumbnail",
    "unwrap",
    "uv_charts",
    "validate_mesh",
    "weld_vertices",
    "write_glb",
]

__getattr__, __dir__ = lazy_exports(__name__, {
    "Material": "core.types", "Mesh": "core.types",
    "Topology": "topology", "build_topology": "topology", "weld_vertices": "topology",
    "MESH_SUFFIXES": "io.registry", "load_mesh": "io.registry", "save_mesh": "io.registry",
    "GlbInfo": "io.glb", "write_glb": "io.glb",
    "Finding": "validate", "TextureCheck": "validate", "ValidationReport": "validate",
    "ValidationThresholds": "validate", "validate_mesh": "validate",
    "MeshDistance": "distance", "flipped_faces": "distance", "mesh_distance": "distance",
    "DecimationResult": "simplify.decimate", "decimate": "simplify.decimate", "decimate_file": "simplify.decimate",
    "render_mesh": "render.renderer", "render_turntable": "render.renderer", "save_thumbnail": "render.renderer",
    "LodLevel": "lod.recipe", "LodRecipe": "lod.recipe", "load_recipe": "lod.recipe",
    "LodResult": "lod.results", "LodSet": "lod.results", "build_lods": "lod.build",
    "Unwrapped": "unwrap", "unwrap": "unwrap", "uv_charts": "unwrap",
    "BakeSource": "bake.maps", "BakedMaps": "bake.maps",
})
