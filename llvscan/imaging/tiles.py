"""Tiling masters into IIIF Image API (3 and 2, level 0, static), Deep Zoom, Zoomify and pyramidal TIFF.

libvips ``dzsave`` (``tiffsave`` for the pyramidal TIFF) does the pixel work in one sequential pass.
Its IIIF output is not yet a valid level-0 service as it comes (no ``full/max``, no ``sizes``, an
``id`` built from the folder name); llvscan writes those, assembling the whole-image sizes from the
tiles already written (the master is read once), and publishes the finished tile set atomically.

Colour: web output is 8-bit sRGB. A master with a non-sRGB ICC profile (Adobe RGB, eciRGB, a camera
profile, CMYK) is converted with its profile, 16-bit masters are reduced to 8 bits, alpha is flattened
onto white, greyscale stays greyscale; the source's profile is recorded in the result.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llvscan._constants import (
    DEFAULT_IIIF_BASE_URL,
    DEFAULT_MAX_SIZE,
    DEFAULT_PIXEL_LIMIT,
    DEFAULT_QUALITY,
    DEFAULT_TILE_SIZE,
    LAYOUTS,
)
from llvscan._json import JsonResult
from llvscan._publish import atomic_dir
from llvscan.errors import (
    ImageReadError,
    InvalidParameterError,
    OutputError,
    ResourceLimitError,
    vips_error_text,
)
from llvscan.imaging._icc import icc_description, is_srgb

__all__ = [
    "DEFAULT_PIXEL_LIMIT",
    "IMAGE_SUFFIXES",
    "LAYOUTS",
    "ImageHeader",
    "TileSet",
    "read_header",
    "tile_image",
]

IMAGE_SUFFIXES = frozenset({".tif", ".tiff", ".jpg", ".jpeg", ".png", ".webp", ".jp2", ".jxl", ".heic"})


@dataclass(frozen=True)
class ImageHeader(JsonResult):
    path: str
    width: int
    height: int
    bands: int
    band_format: str  # libvips: uchar, ushort, float…
    interpretation: str  # libvips: srgb, rgb16, b-w, cmyk…
    loader: str
    icc_profile: str | None  # the embedded profile's description; None when there is none
    xres_dpi: float | None


@dataclass(frozen=True)
class TileSet(JsonResult):
    layout: str
    path: str
    identifier: str
    service_id: str | None  # the IIIF id; None for the other layouts
    width: int
    height: int
    tile_size: int
    scale_factors: list[int]
    sizes: list[list[int]] = field(default_factory=list)
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    source_icc_profile: str | None = None
    source_interpretation: str | None = None  # libvips' name for the master's colour space (srgb, rgb16, cmyk…)
    entry: str | None = None  # the file a viewer opens, relative to ``path`` (info.json, .dzi, .tif…)


def _profile_name(image: Any) -> str | None:
    if not image.get_typeof("icc-profile-data"):
        return None
    return icc_description(image.get("icc-profile-data")) or "(unnamed profile)"


def read_header(path: str | Path, *, pixel_limit: int = DEFAULT_PIXEL_LIMIT) -> ImageHeader:
    """Read an image's header only; refuse unreadable files and sizes above ``pixel_limit``."""
    import pyvips

    path = Path(path)
    if not path.is_file():
        raise ImageReadError("no such file", path=path)
    if path.stat().st_size == 0:
        raise ImageReadError("empty file (0 bytes)", path=path)
    try:
        image = pyvips.Image.new_from_file(str(path), access="sequential")
    except pyvips.Error as exc:
        raise ImageReadError("not a readable image", path=path, detail=vips_error_text(exc)) from exc
    if image.width * image.height > pixel_limit:
        raise ResourceLimitError(f"{image.width}×{image.height} pixels exceed the pixel limit "
                                 f"{pixel_limit:,}; raise it if this master is genuine", path=path)
    loader = image.get("vips-loader") if image.get_typeof("vips-loader") else "unknown"
    xres = image.xres * 25.4 if image.xres > 1.0 else None  # libvips keeps pixels per mm; 1.0 = unset
    return ImageHeader(
        path=str(path),
        width=image.width,
        height=image.height,
        bands=image.bands,
        band_format=str(image.format),
        interpretation=str(image.interpretation),
        loader=str(loader),
        icc_profile=_profile_name(image),
        xres_dpi=round(xres, 3) if xres else None,
    )


def _open_for_web(path: Path) -> Any:
    """The master as 8-bit sRGB without alpha, read sequentially (flat memory)."""
    import pyvips

    return _web(pyvips.Image.new_from_file(str(path), access="sequential", fail_on="error"))


def _web(image: Any) -> Any:
    """``image`` as 8-bit sRGB without alpha.

    A master with a non-sRGB profile (Adobe RGB, eciRGB, a camera profile, CMYK) is converted with it;
    an sRGB-tagged master passes untouched.
    """
    if image.get_typeof("icc-profile-data") and not is_srgb(image.get("icc-profile-data")):
        image = image.icc_transform("srgb", embedded=True, intent="relative")  # 8-bit sRGB out
    else:
        grey = image.bands < 3
        if image.format == "ushort":  # say what the 16 bits are, so that colourspace scales them to 8
            image = image.copy(interpretation="grey16" if grey else "rgb16")
        target = "b-w" if grey else "srgb"
        if image.interpretation != target or image.format != "uchar":
            image = image.colourspace(target)
    if image.hasalpha():
        image = image.flatten(background=[255] * (image.bands - 1))
    if image.format != "uchar":
        image = image.cast("uchar")
    return image


def _check_options(layout: str, tile_size: int, quality: int, max_size: int) -> None:
    if layout not in LAYOUTS:
        raise InvalidParameterError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    if not 64 <= tile_size <= 4096:
        raise InvalidParameterError(f"tile size {tile_size} is outside 64–4096 pixels")
    if not 1 <= quality <= 100:
        raise InvalidParameterError(f"JPEG quality {quality} is outside 1–100")
    if max_size < tile_size:
        raise InvalidParameterError(f"max size {max_size} is smaller than the tile size {tile_size}")


def _iiif_sizes(width: int, height: int, factors: list[int], max_size: int) -> tuple[list[list[int]], list[int]]:
    """Whole-image sizes to publish (one per scale factor that fits ``max_size``) and the max size."""
    scale = min(1.0, max_size / width, max_size / height)
    max_wh = [max(1, round(width * scale)), max(1, round(height * scale))]
    sizes = {(math.ceil(width / s), math.ceil(height / s)) for s in factors}
    fitting = sorted(s for s in sizes if s[0] <= max_wh[0] and s[1] <= max_wh[1])
    if (max_wh[0], max_wh[1]) not in fitting:
        fitting.append((max_wh[0], max_wh[1]))
    return [list(s) for s in fitting], max_wh


def _size_segment(w: int, h: int, version: int) -> str:
    """The size segment of a level-0 URL: ``w,h`` in Image API 3, the canonical ``w,`` in 2."""
    return f"{w},{h}" if version == 3 else f"{w},"


def _level_tile(folder: Path, width: int, height: int, s: int, x: int, y: int, region: int, version: int) -> Path:
    """Path of the level-0 tile of region (x, y) at scale factor ``s``, as dzsave names it."""
    w, h = min(region, width - x), min(region, height - y)
    region_dir = "full" if (w, h) == (width, height) else f"{x},{y},{w},{h}"
    return folder / region_dir / _size_segment(math.ceil(w / s), math.ceil(h / s), version) / "0" / "default.jpg"


def _assemble_level(folder: Path, width: int, height: int, s: int, tile_size: int, version: int) -> Any:
    """The whole image at scale factor ``s``, joined from its written tiles (no second pass over the master)."""
    import pyvips

    region = tile_size * s
    rows = []
    for y in range(0, height, region):
        tiles = [pyvips.Image.new_from_file(str(_level_tile(folder, width, height, s, x, y, region, version)))
                 for x in range(0, width, region)]
        row = tiles[0]
        for tile in tiles[1:]:
            row = row.join(tile, "horizontal")
        rows.append(row)
    image = rows[0]
    for row in rows[1:]:
        image = image.join(row, "vertical")
    return image


def _finish_iiif(folder: Path, service_id: str, tile_size: int, max_size: int, quality: int,
                 version: int) -> dict[str, Any]:
    """Add what level 0 needs and dzsave leaves out: ``sizes``, every whole-image size, ``full/max`` (and,
    in Image API 2, ``full/full`` when the image fits ``max_size``), the id."""
    info_path = folder / "info.json"
    info = json.loads(info_path.read_text())
    width, height = info["width"], info["height"]
    factors = info["tiles"][0]["scaleFactors"]
    sizes, max_wh = _iiif_sizes(width, height, factors, max_size)
    level_of = {(math.ceil(width / s), math.ceil(height / s)): s for s in factors}

    for w, h in sizes:
        target = folder / "full" / _size_segment(w, h, version) / "0" / "default.jpg"
        if target.exists():  # dzsave wrote the levels that fit in one tile
            continue
        if (w, h) in level_of:
            image = _assemble_level(folder, width, height, level_of[(w, h)], tile_size, version)
        else:  # the bounded max size: resample the smallest level at least that large
            s = max(f for f in factors if math.ceil(width / f) >= w and math.ceil(height / f) >= h)
            image = _assemble_level(folder, width, height, s, tile_size, version)
            image = image.thumbnail_image(w, height=h, size="force")
        target.parent.mkdir(parents=True, exist_ok=True)
        image.jpegsave(str(target), Q=quality, keep="none")
    biggest = folder / "full" / _size_segment(max_wh[0], max_wh[1], version) / "0" / "default.jpg"
    aliases = ["max"] + (["full"] if version == 2 and max_wh == [width, height] else [])
    for alias in aliases:
        path = folder / "full" / alias / "0" / "default.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(biggest, path)

    info["id" if version == 3 else "@id"] = service_id
    info["sizes"] = [{"width": w, "height": h} for w, h in sizes]
    if max_wh != [width, height]:
        if version == 3:
            info["maxWidth"], info["maxHeight"] = max_wh
        else:  # Image API 2.1: the limits go in the profile description
            info["profile"][1].update({"maxWidth": max_wh[0], "maxHeight": max_wh[1]})
    info_path.write_text(json.dumps(info, indent=2) + "\n")
    return info


def _into(folder: Path, target: Path) -> None:
    """Move what dzsave wrote under ``target`` up into ``folder``."""
    for item in target.iterdir():
        item.rename(folder / item.name)
    target.rmdir()


def _write_layout(image: Any, tmp: Path, layout: str, identifier: str, base_url: str, service_id: str | None,
                  tile_size: int, quality: int, max_size: int, header: ImageHeader,
                  options: dict[str, Any]) -> tuple[list[int], list[list[int]], str]:
    """Write ``image`` into ``tmp`` in ``layout``; returns (scale factors, IIIF sizes, entry file)."""
    levels = math.ceil(math.log2(max(header.width, header.height, 2))) + 1
    factors = [2**i for i in range(levels)]
    sizes: list[list[int]] = []
    if layout in ("iiif3", "iiif2"):
        version = 3 if layout == "iiif3" else 2
        image.dzsave(str(tmp / "pyramid"), layout="iiif3" if version == 3 else "iiif", id=base_url,
                     tile_size=tile_size, overlap=0, Q=quality, keep="none", **options)
        _into(tmp, tmp / "pyramid")
        info = _finish_iiif(tmp, service_id or "", tile_size, max_size, quality, version)
        return info["tiles"][0]["scaleFactors"], [[s["width"], s["height"]] for s in info["sizes"]], "info.json"
    if layout == "dz":
        image.dzsave(str(tmp / identifier), layout="dz", tile_size=tile_size, overlap=1, Q=quality, keep="none",
                     **options)
        (tmp / f"{identifier}_files" / "vips-properties.xml").unlink(missing_ok=True)
        return factors, sizes, f"{identifier}.dzi"
    if layout == "szi":  # Deep Zoom in one zip file (OpenSeadragon reads it through a plugin; IIPImage too)
        image.dzsave(str(tmp / f"{identifier}.szi"), layout="dz", tile_size=tile_size, overlap=1, Q=quality,
                     keep="none", **options)
        return factors, sizes, f"{identifier}.szi"
    if layout == "zoomify":
        image.dzsave(str(tmp / "pyramid"), layout="zoomify", tile_size=tile_size, overlap=0, Q=quality,
                     keep="none", **options)
        _into(tmp, tmp / "pyramid")
        return factors, sizes, "ImageProperties.xml"
    # ptiff: a tiled pyramidal TIFF (JPEG tiles), what IIPImage and Cantaloupe serve from
    name = f"{identifier}.tif"
    image.tiffsave(str(tmp / name), tile=True, pyramid=True, compression="jpeg", Q=quality, tile_width=tile_size,
                   tile_height=tile_size, bigtiff=header.width * header.height * 3 > 3_500_000_000, keep="none",
                   **options)
    return factors, sizes, name


def _folder_size(folder: Path) -> tuple[int, int]:
    """Number of files under ``folder`` and their total bytes (one scandir pass, no per-file Path objects)."""
    count = total = 0
    stack = [str(folder)]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    count += 1
                    total += entry.stat(follow_symlinks=False).st_size
    return count, total


def tile_image(
    src: str | Path,
    dst: str | Path,
    *,
    layout: str = "iiif3",
    base_url: str = DEFAULT_IIIF_BASE_URL,
    identifier: str | None = None,
    tile_size: int = DEFAULT_TILE_SIZE,
    quality: int = DEFAULT_QUALITY,
    max_size: int = DEFAULT_MAX_SIZE,
    pixel_limit: int = DEFAULT_PIXEL_LIMIT,
    **dzsave_options: Any,
) -> TileSet:
    """Tile ``src`` into the folder ``dst`` (replaced atomically when complete).

    ``iiif3`` / ``iiif2``: ``dst/info.json`` with ``id = base_url/identifier`` (identifier defaults to the
    folder name), ``sizes``, every listed whole-image size and ``full/max`` bounded by ``max_size``.
    ``dz``: ``dst/<identifier>.dzi`` and its ``_files`` folder; ``szi``: the same in one zip file;
    ``zoomify``: ``dst/ImageProperties.xml`` and its tile groups; ``ptiff``: ``dst/<identifier>.tif``.
    Extra keyword options go to libvips (``dzsave``, or ``tiffsave`` for ``ptiff``) unchanged.
    """
    src, dst = Path(src), Path(dst)
    _check_options(layout, tile_size, quality, max_size)
    header = read_header(src, pixel_limit=pixel_limit)
    return _tile(lambda: _open_for_web(src), src, dst, header, layout=layout, base_url=base_url,
                 identifier=identifier, tile_size=tile_size, quality=quality, max_size=max_size,
                 dzsave_options=dzsave_options)


def _tile(open_web: Callable[[], Any], src: Path, dst: Path, header: ImageHeader, *, layout: str, base_url: str,
          identifier: str | None, tile_size: int, quality: int, max_size: int,
          dzsave_options: dict[str, Any]) -> TileSet:
    """``tile_image`` once the options and the header are checked; ``open_web()`` gives the 8-bit sRGB pipeline
    (``_web``) to tile, called inside the atomic folder."""
    import pyvips

    identifier = identifier or dst.name
    service_id = f"{base_url.rstrip('/')}/{identifier}" if layout in ("iiif3", "iiif2") else None
    started = time.perf_counter()
    try:
        with atomic_dir(dst) as tmp:
            image = open_web()
            factors, sizes, entry = _write_layout(image, tmp, layout, identifier, base_url, service_id, tile_size,
                                                  quality, max_size, header, dzsave_options)
            (tmp / "vips-properties.xml").unlink(missing_ok=True)  # dzsave's metadata dump names the source path
    except pyvips.Error as exc:
        raise ImageReadError("failed while decoding or tiling the pixels", path=src,
                             detail=vips_error_text(exc)) from exc
    except OSError as exc:
        raise OutputError("cannot write the tile set", path=dst, detail=str(exc)) from exc

    count, total = _folder_size(dst)
    return TileSet(
        layout=layout,
        path=str(dst),
        identifier=identifier,
        service_id=service_id,
        width=header.width,
        height=header.height,
        tile_size=tile_size,
        scale_factors=factors,
        sizes=sizes,
        files=count,
        bytes=total,
        seconds=round(time.perf_counter() - started, 3),
        source_icc_profile=header.icc_profile,
        source_interpretation=header.interpretation,
        entry=entry,
    )
