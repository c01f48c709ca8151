"""Gigapixel images: header checks and IIIF / Deep Zoom tiling with libvips."""

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
    "ImageHeader",
    "TileSet",
    "read_header",
    "tile_image",
]
