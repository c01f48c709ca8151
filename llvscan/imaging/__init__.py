"""Gigapixel images: header checks, inspection (colour, depth, EXIF, clipping, sharpness, noise),
tiling into IIIF, Deep Zoom, Zoomify and pyramidal TIFF with libvips, and all three from one decode
(``tile_and_inspect``, what a collection run uses); capture targets graded to FADGI, Metamorfoze and
ISO 19264-1 (``grade_target``, the ``qa`` package).

Names load on first use: importing ``llvscan.imaging.tiles`` (or this package) does not pull in numpy;
the inspection (numpy, numba) loads with ``inspect_image`` and its friends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvscan._lazy import lazy_exports

if TYPE_CHECKING:
    from llvscan.imaging.image_pass import ImagePass, tile_and_inspect
    from llvscan.imaging.inspect import (
        BandStatistics,
        ExifSummary,
        ImageReport,
        InspectionThresholds,
        inspect_image,
        laplacian_variance,
        noise_sigma,
    )
    from llvscan.imaging.qa.grade import TargetReport, grade_target
    from llvscan.imaging.tiles import (
        DEFAULT_PIXEL_LIMIT,
        IMAGE_SUFFIXES,
        LAYOUTS,
        ImageHeader,
        TileSet,
        read_header,
        tile_image,
    )

__all__ = [
    "DEFAULT_PIXEL_LIMIT",
    "IMAGE_SUFFIXES",
    "LAYOUTS",
    "BandStatistics",
    "ExifSummary",
    "ImageHeader",
    "ImagePass",
    "ImageReport",
    "InspectionThresholds",
    "TargetReport",
    "TileSet",
    "grade_target",
    "inspect_image",
    "laplacian_variance",
    "noise_sigma",
    "read_header",
    "tile_and_inspect",
    "tile_image",
]

__getattr__, __dir__ = lazy_exports(__name__, {
    **dict.fromkeys(("DEFAULT_PIXEL_LIMIT", "IMAGE_SUFFIXES", "LAYOUTS", "ImageHeader", "TileSet", "read_header",
                     "tile_image"), "tiles"),
    **dict.fromkeys(("BandStatistics", "ExifSummary", "ImageReport", "InspectionThresholds", "inspect_image",
                     "laplacian_variance", "noise_sigma"), "inspect"),
    **dict.fromkeys(("ImagePass", "tile_and_inspect"), "image_pass"),
    **dict.fromkeys(("TargetReport", "grade_target"), "qa.grade"),
})
