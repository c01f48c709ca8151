"""Meshes: load photogrammetry scans and validate them.

Importing this package pulls in numpy only; trimesh and numba load on first use.
"""

from llvscan.mesh.io import MESH_SUFFIXES, Mesh, load_mesh
from llvscan.mesh.validate import Finding, ValidationReport, edge_statistics, validate_mesh

__all__ = [
    "MESH_SUFFIXES",
    "Finding",
    "Mesh",
    "ValidationReport",
    "edge_statistics",
    "load_mesh",
    "validate_mesh",
]
