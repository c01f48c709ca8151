"""Meshes: load photogrammetry scans, validate them, decimate them with their textures, write them.

Importing this package pulls in numpy only; trimesh and numba load on first use.
"""

from llvscan.mesh.decimate import DecimationResult, decimate, decimate_file
from llvscan.mesh.distance import MeshDistance, flipped_faces, mesh_distance
from llvscan.mesh.io import MESH_SUFFIXES, Material, Mesh, load_mesh
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
    "Material",
    "Mesh",
    "MeshDistance",
    "TextureCheck",
    "Topology",
    "ValidationReport",
    "ValidationThresholds",
    "build_topology",
    "decimate",
    "decimate_file",
    "flipped_faces",
    "load_mesh",
    "mesh_distance",
    "save_mesh",
    "validate_mesh",
    "weld_vertices",
]
