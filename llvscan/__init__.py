"""llvscan: batch toolkit for heritage digitisation.

Meshes (``llvscan.mesh``), gigapixel images (``llvscan.imaging``), the collection catalog
(``llvscan.catalog``) and collection runs (``llvscan.collection``). Importing ``llvscan`` itself is
cheap: the heavy libraries (open3d, numba, pyvips, trimesh) load with the sub-package that needs them.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
