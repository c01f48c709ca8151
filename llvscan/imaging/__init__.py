"""Gigapixel images: header checks, inspection (colour, depth, EXIF, clipping, sharpness, noise) and
tiling into IIIF, Deep Zoom, Zoomify and pyramidal TIFF with libvips."""

from llvscan.imaging.inspect import (
    BandStatistics,
    ExifSummary,
    ImageReport,
    InspectionThresholds,
    inspect_image,
    laplacian_variance,
    noise_sigma,
)
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
    "ImageReport",
    "InspectionThresholds",
    "TileSet",
    "inspect_image",
    "laplacian_variance",
    "noise_sigma",
    "read_header",
    "tile_image",
]
