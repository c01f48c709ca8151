"""Meshes: load photogrammetry scans, validate them, decimate them with their textures, write them.

Importing this package pulls in numpy only; trimesh and numba load on first use.
"""

from llvscan.mesh.decimate import DecimationResult, decimate, decimate_file
from llvscan.mesh.distance import MeshDistance, flipped_faces, mesh_distance
from llvscan.mesh.gltf import GlbInfo, write_glb
from llvscan.mesh.io import MESH_SUFFIXES, Material, Mesh, load_mesh
from llvscan.mesh.lods import LodLevel, LodRecipe, LodResult, LodSet, build_lods, load_recipe
from llvscan.mesh.render import render_mesh, render_turntable, save_thumbnail
from llvscan.mesh.topology import Topology, build_topology, weld_vertices
from llvscan.mesh.validate import (
    Finding,
    TextureCheck,
    ValidationReport,
    ValidationThresholds,
    validate_mesh,
)
from llvscan.mesh.write import save_mesh

__all__ = [
    "MESH_SUFFIXES",
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
    "validate_mesh",
    "weld_vertices",
    "write_glb",
]
