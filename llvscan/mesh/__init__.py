"""Meshes: load photogrammetry scans and validate them.

Importing this package pulls in numpy only; trimesh and numba load on first use.
"""

from llvscan.mesh.io import MESH_SUFFIXES, Material, Mesh, load_mesh
from llvscan.mesh.topology import Topology, build_topology, weld_vertices
from llvscan.mesh.validate import (
    Finding,
    TextureCheck,
    ValidationReport,
    ValidationThresholds,
    validate_mesh,
)

__all__ = [
    "MESH_SUFFIXES",
    "Finding",
    "Material",
    "Mesh",
    "TextureCheck",
    "Topology",
    "ValidationReport",
    "ValidationThresholds",
    "build_topology",
    "load_mesh",
    "validate_mesh",
    "weld_vertices",
]
