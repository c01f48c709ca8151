"""Conventions that several modules share, each defined here once and imported everywhere else.

Plain values only, no imports: the lightest module (a run recipe, the catalog, the CLI's option
defaults) can use them without pulling in numpy, numba or pyvips.
"""

from __future__ import annotations

__all__ = [
    "CATALOG_NAME",
    "DEFAULT_IIIF_BASE_URL",
    "DEFAULT_MAX_FACES",
    "DEFAULT_MAX_SIZE",
    "DEFAULT_PIXEL_LIMIT",
    "DEFAULT_QUALITY",
    "DEFAULT_TILE_SIZE",
    "LAYOUTS",
    "QA_STANDARDS",
    "QA_TARGETS",
    "SIDECAR_FIELDS",
    "SIDECAR_MESH_OPTIONS",
    "SIDECAR_QA_FIELDS",
    "TARGETS_FOLDER",
    "UNITS",
    "UP_AXES",
]

#: The catalog a run writes into its output folder.
CATALOG_NAME = "catalog.sqlite"

#: The museum metadata a collection's sidecar CSV may give each asset, and the catalog keeps.
SIDECAR_FIELDS = ("object_number", "title", "creator", "date", "rights")

#: The length units a mesh may declare (``llvscan.mesh.core.units`` gives each its size in metres).
UNITS = ("mm", "cm", "m", "in")

#: A mesh's up axis: Y (glTF, most viewers) or Z (most scanners).
UP_AXES = ("y", "z")

#: Per-asset mesh options a sidecar may declare, and the values each accepts: they override the run
#: recipe's for that asset (a collection mixing Z-up scans and Y-up glTF files).
SIDECAR_MESH_OPTIONS = {"units": UNITS, "up_axis": UP_AXES}

#: The tiling layouts: IIIF Image API 3 and 2 (level 0, static), Deep Zoom, Zoomify, pyramidal TIFF, SZI.
LAYOUTS = ("iiif3", "iiif2", "dz", "zoomify", "ptiff", "szi")

#: Refuse images whose header claims more pixels than this (a 100 000 × 200 000 master is the limit).
DEFAULT_PIXEL_LIMIT = 20_000_000_000

#: Refuse meshes with more faces than this before allocating them.
DEFAULT_MAX_FACES = 200_000_000

#: Tiling defaults: the IIIF base URL tile sets are served under, tile edge (px), JPEG quality, and
#: the longest side (px) of the whole-image sizes written for a level-0 service.
DEFAULT_IIIF_BASE_URL = "http://localhost:8000/iiif"
DEFAULT_TILE_SIZE = 512
DEFAULT_QUALITY = 85
DEFAULT_MAX_SIZE = 2048

#: Imaging QA: the standards a capture target is graded to, and the targets llvscan finds.
QA_STANDARDS = ("fadgi-2023", "metamorfoze-2.0", "iso-19264")
QA_TARGETS = ("auto", "colorchecker-classic", "colorchecker-sg", "slanted-edge")

#: Capture sessions: a sidecar may name an image's ``session`` and mark it as a ``target`` (one of
#: QA_TARGETS, or "yes" for auto) with the chart's ``corners`` ("x,y x,y x,y x,y", skipping the search).
SIDECAR_QA_FIELDS = ("session", "target", "corners")

#: The folder convention: images in a folder of this name are the targets of the session that is the
#: folder holding it; every other image below that folder belongs to that session.
TARGETS_FOLDER = "targets"
