"""Lossless JPEG 2000 preservation masters: write, validate with jpylyzer, compare pixel for pixel.

The master is JPEG 2000 Part 1 (JP2), reversible 5/3 wavelet with the reversible colour transform,
one quality layer (nothing discarded), tiled, RPCL progression (the British Library / Bodleian
profile), 64×64 code blocks, precincts 256, 256, 128 from the highest resolution down (OpenJPEG
halves the last for each lower level), PLT markers, and enough decomposition
levels that the smallest resolution is at most 256 px on its longer side (never more than the tile
size allows). The source's ICC profile goes into the ``colr`` box (restricted ICC, method 2), its
capture resolution into a ``res``/``resc`` box, and an alpha band becomes an extra component
declared as opacity in a ``cdef`` box.

Writer: glymur over the system OpenJPEG. Pillow's JPEG 2000 encoder (``Jpeg2KImagePlugin._save``)
takes neither an ICC profile nor a resolution, and has no 16-bit RGB mode, so it cannot make this
master. Checks: jpylyzer validates the file before it is renamed into place, and the decoded file
is compared sample for sample with the source as libvips decodes it (Pillow, with its own bundled
OpenJPEG, decodes where it can do so exactly; glymur for 16-bit colour, grey + alpha and very large
masters). The source is read and compared one row of tiles at a time.

Refused (AssetReadError, the TIFF stays the master): float, signed or 32-bit samples, CMYK, more
than four bands. A source without an ICC profile is labelled enumerated sRGB (colour) or greyscale.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llvscan._constants import DEFAULT_PIXEL_LIMIT
from llvscan._json import NOT_IN_JSON, JsonResult
from llvscan._publish import _temp_sibling
from llvscan.errors import (
    AssetReadError,
    InvalidParameterError,
    MissingDependencyError,
    OutputError,
    ResourceLimitError,
    vips_error_text,
)

if TYPE_CHECKING:
    import numpy as np
    import pyvips

__all__ = [
    "LOWEST_RESOLUTION_PX",
    "PILLOW_DECODE_LIMIT",
    "Jp2Master",
    "Jp2Validation",
    "PixelComparison",
    "default_resolutions",
    "validate_jp2",
    "verify_lossless",
    "write_jp2_master",
]

log = logging.getLogger(__name__)

LOWEST_RESOLUTION_PX = 256
"""The smallest resolution level of a master is at most this many pixels on its longer side."""

PILLOW_DECODE_LIMIT = 100_000_000
"""Masters up to this many pixels are decoded whole by Pillow for the comparison; larger ones by rows with glymur."""

_PRECINCTS = ((256, 256), (256, 256), (128, 128))  # highest resolution first; OpenJPEG halves the last onwards
_VIPS_BITS = {"uchar": 8, "ushort": 16}


@dataclass(frozen=True)
class Jp2Validation(JsonResult):
    """What jpylyzer says about one JP2 file, and the properties a preservation profile checks."""

    path: Path
    is_valid: bool
    failed_tests: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    reversible: bool | None = None  # 5-3 reversible wavelet
    transformation: str | None = None
    layers: int | None = None
    levels: int | None = None  # decomposition levels (resolutions - 1)
    tile_size: tuple[int, int] | None = None  # (width, height)
    tiles: int | None = None
    progression: str | None = None
    codeblock_size: tuple[int, int] | None = None
    precincts: tuple[tuple[int, int], ...] = ()  # (width, height) per resolution, lowest first; () = default
    components: int | None = None
    bits: int | None = None
    colour_method: str | None = None  # "Enumerated" or "Restricted ICC"
    colourspace: str | None = None  # the enumerated colourspace, if any
    icc_present: bool = False
    icc_profile: bytes | None = field(default=None, metadata=NOT_IN_JSON, repr=False)
    capture_resolution: tuple[float, float] | None = None  # (vertical, horizontal) grid points per metre
    display_resolution: tuple[float, float] | None = None
    compression_ratio: float | None = None
    tool: str = "jpylyzer"
    tool_version: str = ""


@dataclass(frozen=True)
class PixelComparison(JsonResult):
    """A decoded JP2 compared sample for sample with its source."""

    source: Path
    jp2: Path
    identical: bool
    max_abs_difference: int
    differing_samples: int
    samples: int
    shape: tuple[int, ...]  # (height, width, bands)
    decoder: str  # "pillow" or "glymur"
    message: str = ""


@dataclass(frozen=True)
class Jp2Master(JsonResult):
    """One written preservation master."""

    path: Path
    source: Path
    width: int
    height: int
    bands: int
    bits: int
    bytes: int
    source_bytes: int
    ratio: float  # JP2 bytes / source bytes
    lzw_ratio: float | None  # JP2 bytes / bytes of the same image as an LZW TIFF (pyvips), if asked
    resolutions: int  # resolution levels written (decomposition levels + 1)
    tile_size: int
    progression: str
    icc_kept: bool
    dpi: tuple[float, float] | None  # capture resolution kept, horizontal and vertical
    validation: Jp2Validation
    lossless: bool
    comparison: PixelComparison
    seconds: float


def default_resolutions(width: int, height: int, tile_size: int) -> int:
    """Resolution levels so that the smallest is at most ``LOWEST_RESOLUTION_PX`` on its longer side.

    Capped so that a tile (no bigger than the image's shorter side) still halves ``resolutions - 1`` times
    (OpenJPEG refuses more) and at 33 (Part 1).
    """
    longest = max(width, height, 1)
    levels = max(0, math.ceil(math.log2(longest / LOWEST_RESOLUTION_PX))) if longest > LOWEST_RESOLUTION_PX else 0
    cap = int(math.log2(max(1, min(tile_size, max(width, 1), max(height, 1)))))
    return min(levels, cap, 32) + 1


# ----------------------------------------------------------------------------------------------- source


def _bundled_openjp2() -> str | None:
    """The OpenJPEG library Pillow's wheel bundles (``pillow.libs/`` on Linux, ``PIL/.dylibs/`` on macOS), so a
    machine without the system package still writes masters."""
    import PIL

    package = Path(PIL.__file__).resolve().parent
    for pattern in ("../pillow.libs/libopenjp2*.so*", ".dylibs/libopenjp2*.dylib", "../pillow.libs/openjp2*.dll"):
        found = sorted(package.glob(pattern))
        if found:
            return str(found[0])
    return None


def _glymur() -> Any:
    """glymur over the system OpenJPEG or, when there is none, over the copy inside Pillow's wheel: glymur
    looks its library up with ``ctypes.util.find_library`` when it is first imported, so the lookup is
    answered for that one name while it imports (only ``openjp2``; every other name goes through)."""
    import ctypes.util
    import sys

    if "glymur" not in sys.modules and ctypes.util.find_library("openjp2") is None:
        bundled, lookup = _bundled_openjp2(), ctypes.util.find_library

        def find_library(name: str) -> str | None:
            return bundled if name == "openjp2" and bundled else lookup(name)

        ctypes.util.find_library = find_library
        try:
            import glymur
        except ImportError:
            pass
        finally:
            ctypes.util.find_library = lookup
    try:
        import glymur
    except ImportError as exc:
        raise MissingDependencyError("writing JPEG 2000 masters needs glymur (pip install glymur)",
                                     detail=str(exc)) from exc
    if glymur.version.openjpeg_version in ("0.0.0", ""):
        raise MissingDependencyError("glymur found no OpenJPEG library, neither the system's nor Pillow's")
    return glymur


def _open_source(src: Path, pixel_limit: int) -> pyvips.Image:
    import pyvips

    try:
        image = pyvips.Image.new_from_file(os.fspath(src), fail=True)  # random access: read by strips
    except pyvips.Error as exc:
        raise AssetReadError("cannot read the source image", path=src, detail=vips_error_text(exc)) from exc
    if image.width * image.height > pixel_limit:
        raise ResourceLimitError(f"{image.width}×{image.height} pixels exceed the limit of {pixel_limit}; "
                                 "raise pixel_limit to write this master", path=src)
    return image


def _check_source(image: pyvips.Image, src: Path) -> tuple[int, bool]:
    """(bits, has_alpha) of a source that a lossless Part 1 master can hold, or an AssetReadError saying why not."""
    bits = _VIPS_BITS.get(image.format)
    if bits is None:
        raise AssetReadError(f"{image.format} samples: a lossless JP2 master holds 8- or 16-bit unsigned "
                             "integers only; keep this source as it is", path=src)
    if image.interpretation == "cmyk":
        raise AssetReadError("CMYK: JP2 (Part 1) has no CMYK colour space; keep the TIFF as the master", path=src)
    if image.bands not in (1, 2, 3, 4):
        raise AssetReadError(f"{image.bands} bands: a JP2 master holds grey or RGB, with or without alpha",
                             path=src)
    return bits, image.bands in (2, 4)


def _strips(image: pyvips.Image, src: Path, rows: int) -> Iterator[tuple[int, np.ndarray]]:
    """(top row, samples as (rows, width, bands)) from top to bottom: one strip of the source in memory at a time."""
    import pyvips

    for top in range(0, image.height, rows):
        height = min(rows, image.height - top)
        try:
            strip = image.crop(0, top, image.width, height).numpy()
        except pyvips.Error as exc:
            raise AssetReadError(f"cannot decode the source image at rows {top}–{top + height}", path=src,
                                 detail=vips_error_text(exc)) from exc
        yield top, strip.reshape(height, image.width, image.bands)


def _icc_profile(image: pyvips.Image) -> bytes | None:
    if image.get_typeof("icc-profile-data") == 0:
        return None
    data = image.get("icc-profile-data")
    return bytes(data) if data else None


def _dpi(image: pyvips.Image) -> tuple[float, float] | None:
    """(horizontal, vertical) pixels per inch if the source declares a resolution, else None."""
    declared = image.get_typeof("resolution-unit") != 0 or (image.xres, image.yres) != (1.0, 1.0)
    if not declared or image.xres <= 0 or image.yres <= 0:
        return None
    return image.xres * 25.4, image.yres * 25.4


# ----------------------------------------------------------------------------------------------- write


def _jp2_boxes(glymur: Any, codestream: Any, *, bands: int, bits: int, alpha: bool,
               icc: bytes | None, dpi: tuple[float, float] | None) -> list[Any]:
    jp2box, core = glymur.jp2box, glymur.core
    height, width = codestream.shape[:2]
    colour = bands - 1 if alpha else bands
    ihdr = jp2box.ImageHeaderBox(height, width, num_components=bands, bits_per_component=bits)
    if icc is not None:
        colr = jp2box.ColourSpecificationBox(method=core.RESTRICTED_ICC_PROFILE, icc_profile=icc)
    else:
        colr = jp2box.ColourSpecificationBox(colorspace=core.SRGB if colour == 3 else core.GREYSCALE)
    header: list[Any] = [ihdr, colr]
    if alpha:
        types = [core.COLOR] * colour + [core.OPACITY]
        assoc = [*range(1, colour + 1), core.WHOLE_IMAGE]
        header.append(jp2box.ChannelDefinitionBox(index=list(range(bands)), channel_type=types, association=assoc))
    if dpi is not None:  # grid points per metre, vertical first
        per_metre = (dpi[1] / 0.0254, dpi[0] / 0.0254)
        header.append(jp2box.ResolutionBox([jp2box.CaptureResolutionBox(*per_metre)]))
    return [jp2box.JPEG2000SignatureBox(), jp2box.FileTypeBox(), jp2box.JP2HeaderBox(box=header),
            jp2box.ContiguousCodestreamBox()]


def write_jp2_master(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    tile_size: int = 1024,
    resolutions: int | None = None,
    progression: str = "RPCL",
    pixel_limit: int = DEFAULT_PIXEL_LIMIT,
    compare_lzw: bool = False,
) -> Jp2Master:
    """Write ``src`` as a lossless JP2 preservation master at ``dst``, validated and verified before it appears.

    ``resolutions`` is the number of resolution levels (decomposition levels + 1, Pillow's
    ``num_resolutions``); by default :func:`default_resolutions`. The file is written under a
    temporary name, validated with jpylyzer and decoded and compared with the source; only a valid,
    bit-exact master is renamed to ``dst`` (otherwise :class:`OutputError`, and nothing at ``dst``).
    The source is read one row of tiles at a time. ``compare_lzw`` also writes the source as an LZW
    TIFF (libvips, horizontal predictor) to a temporary file to measure ``lzw_ratio``.
    """
    started = time.perf_counter()
    src, dst = Path(src), Path(dst)
    if tile_size < 64 or tile_size & (tile_size - 1):
        raise InvalidParameterError(f"tile_size {tile_size}: use a power of two of at least 64", path=dst)
    if progression not in ("LRCP", "RLCP", "RPCL", "PCRL", "CPRL"):
        raise InvalidParameterError(f"progression {progression!r}: use LRCP, RLCP, RPCL, PCRL or CPRL", path=dst)
    if not src.is_file():
        raise AssetReadError("no such source file", path=src)
    glymur = _glymur()
    image = _open_source(src, pixel_limit)
    bits, alpha = _check_source(image, src)
    icc, dpi = _icc_profile(image), _dpi(image)
    width, height, bands = image.width, image.height, image.bands
    numres = resolutions if resolutions is not None else default_resolutions(width, height, tile_size)
    if not 1 <= numres <= 33 or 2 ** (numres - 1) > min(tile_size, max(width, height)):
        raise InvalidParameterError(f"resolutions {numres}: need 1..33 and 2**(resolutions-1) within the tile "
                                    f"size {tile_size} and the image ({width}×{height})", path=dst)

    dst.parent.mkdir(parents=True, exist_ok=True)
    j2c_tmp, jp2_tmp = _temp_sibling(dst, "j2c"), _temp_sibling(dst, "tmp")
    try:
        try:
            codestream = _encode(glymur, image, src, j2c_tmp, tile_size=tile_size, numres=numres,
                                 progression=progression)
            codestream.wrap(os.fspath(jp2_tmp), boxes=_jp2_boxes(glymur, codestream, bands=bands, bits=bits,
                                                                 alpha=alpha, icc=icc, dpi=dpi))
        except (OSError, RuntimeError, ValueError) as exc:
            if isinstance(exc, AssetReadError):
                raise
            raise OutputError("cannot write the JPEG 2000 master", path=dst, detail=str(exc)) from exc
        validation = validate_jp2(jp2_tmp)
        if not validation.is_valid:
            raise OutputError("jpylyzer finds the written master invalid: " + ", ".join(validation.failed_tests),
                              path=dst)
        comparison = _compare(_open_source(src, pixel_limit), src, jp2_tmp, rows=tile_size)
        if not comparison.identical:
            raise OutputError(f"the written master is not lossless: {comparison.message}", path=dst)
        os.replace(jp2_tmp, dst)
    finally:
        for leftover in (j2c_tmp, jp2_tmp):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    size = dst.stat().st_size
    source_bytes = src.stat().st_size
    lzw = size / _lzw_bytes(_open_source(src, pixel_limit), dst) if compare_lzw else None
    seconds = time.perf_counter() - started
    log.info("%s: %d×%d×%d %d-bit master, %d bytes (%.3f of source) in %.2f s", dst, width, height, bands, bits,
             size, size / source_bytes, seconds)
    return Jp2Master(
        path=dst, source=src, width=width, height=height, bands=bands, bits=bits, bytes=size,
        source_bytes=source_bytes, ratio=size / source_bytes, lzw_ratio=lzw, resolutions=numres,
        tile_size=tile_size, progression=progression, icc_kept=icc is not None and validation.icc_profile == icc,
        dpi=dpi, validation=validation, lossless=comparison.identical, comparison=comparison, seconds=seconds,
    )


def _encode(glymur: Any, image: pyvips.Image, src: Path, path: Path, *, tile_size: int, numres: int,
            progression: str) -> Any:
    """The raw codestream at ``path``: untiled if the image fits one tile, else written tile by tile."""
    bands = image.bands
    options = {"numres": numres, "prog": progression, "irreversible": False, "psizes": list(_PRECINCTS[:numres]),
               "cbsize": (64, 64), "mct": bands >= 3, "plt": True}
    if max(image.width, image.height) <= tile_size:
        _, whole = next(_strips(image, src, image.height))
        return glymur.Jp2k(os.fspath(path), data=whole if bands > 1 else whole[:, :, 0], **options)
    shape = (image.height, image.width, bands) if bands > 1 else (image.height, image.width)
    # a tile may not exceed the image: a side shorter than the tile size makes the tiles that short
    tile_h, tile_w = min(tile_size, image.height), min(tile_size, image.width)
    codestream = glymur.Jp2k(os.fspath(path), shape=shape, tilesize=(tile_h, tile_w), **options)

    def tiles() -> Iterator[np.ndarray]:  # raster order, as OpenJPEG numbers the tiles
        for _, strip in _strips(image, src, tile_h):
            for left in range(0, image.width, tile_w):
                tile = strip[:, left:left + tile_w]
                yield tile if bands > 1 else tile[:, :, 0]

    for writer, tile in zip(codestream.get_tilewriters(), tiles(), strict=True):
        writer[:] = tile
    return glymur.Jp2k(os.fspath(path))


def _lzw_bytes(image: pyvips.Image, dst: Path) -> int:
    """Bytes of the same image (samples and metadata) as an LZW TIFF, horizontal predictor, written by libvips."""
    path = _temp_sibling(dst, "lzw")
    try:
        image.tiffsave(os.fspath(path), compression="lzw", predictor="horizontal")
        return path.stat().st_size
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


# ----------------------------------------------------------------------------------------------- validate


def _text(node: Any, tag: str) -> str | None:
    found = node.find(tag) if node is not None else None
    return found.text if found is not None and found.text is not None else None


def _int(node: Any, tag: str) -> int | None:
    text = _text(node, tag)
    return int(text) if text is not None and text.lstrip("-").isdigit() else None


def _failed(tests: Any, prefix: str = "") -> list[str]:
    """Paths of the tests jpylyzer reports False (it lists only failures under <tests>)."""
    names: list[str] = []
    for child in list(tests) if tests is not None else []:
        name = f"{prefix}/{child.tag}" if prefix else child.tag
        if len(child):
            names.extend(_failed(child, name))
        elif (child.text or "").strip() == "False":
            names.append(name)
    return names


def _precincts(cod: Any) -> tuple[tuple[int, int], ...]:
    if cod is None or _text(cod, "precincts") != "user defined":
        return ()
    xs = [int(n.text) for n in cod.findall("precinctSizeX") if n.text]
    ys = [int(n.text) for n in cod.findall("precinctSizeY") if n.text]
    return tuple(zip(xs, ys, strict=False))


def _resolution(node: Any) -> tuple[float, float] | None:
    if node is None:
        return None
    vres, hres = _text(node, "vRescInPixelsPerMeter") or _text(node, "vResdInPixelsPerMeter"), \
        _text(node, "hRescInPixelsPerMeter") or _text(node, "hResdInPixelsPerMeter")
    return (float(vres), float(hres)) if vres and hres else None


def validate_jp2(path: str | os.PathLike[str]) -> Jp2Validation:
    """jpylyzer's verdict on ``path`` and the properties a preservation profile checks.

    Returns a report for any file jpylyzer can open (an invalid one has ``is_valid`` False and the
    names of its failed tests); raises :class:`AssetReadError` only if the file cannot be read at all.
    """
    path = Path(path)
    try:
        from jpylyzer import jpylyzer
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError("validating JPEG 2000 needs jpylyzer (pip install jpylyzer)",
                                     detail=str(exc)) from exc
    if not path.is_file():
        raise AssetReadError("no such JP2 file", path=path)
    root = jpylyzer.checkOneFile(os.fspath(path))
    if _text(root.find("statusInfo"), "success") != "True":
        raise AssetReadError("jpylyzer cannot read the file", path=path,
                             detail=_text(root.find("statusInfo"), "failureMessage"))
    props = root.find("properties")
    header = props.find("jp2HeaderBox") if props is not None else None
    colr = header.find("colourSpecificationBox") if header is not None else None
    ihdr = header.find("imageHeaderBox") if header is not None else None
    res = header.find("resolutionBox") if header is not None else None
    cs = props.find("contiguousCodestreamBox") if props is not None else None
    siz = cs.find("siz") if cs is not None else None
    cod = cs.find("cod") if cs is not None else None
    icc_node = colr.find("icc") if colr is not None else None
    icc: bytes | None = None
    if colr is not None and _text(colr, "meth") in ("Restricted ICC", "Any ICC"):
        icc = _icc_bytes(path)
    transformation = _text(cod, "transformation")
    tile = (_int(siz, "xTsiz"), _int(siz, "yTsiz"))
    cbw, cbh = _int(cod, "codeBlockWidth"), _int(cod, "codeBlockHeight")
    ratio = _text(props, "compressionRatio")
    return Jp2Validation(
        path=path,
        is_valid=_text(root, "isValid") == "True",
        failed_tests=tuple(_failed(root.find("tests"))),
        warnings=tuple(w.text or w.tag for w in (root.find("warnings") or [])),
        reversible=None if transformation is None else transformation == "5-3 reversible",
        transformation=transformation,
        layers=_int(cod, "layers"),
        levels=_int(cod, "levels"),
        tile_size=(tile[0], tile[1]) if tile[0] is not None and tile[1] is not None else None,
        tiles=_int(siz, "numberOfTiles"),
        progression=_text(cod, "order"),
        codeblock_size=(cbw, cbh) if cbw is not None and cbh is not None else None,
        precincts=_precincts(cod),
        components=_int(ihdr, "nC"),
        bits=_int(ihdr, "bPCDepth"),
        colour_method=_text(colr, "meth"),
        colourspace=_text(colr, "enumCS"),
        icc_present=icc is not None or icc_node is not None,
        icc_profile=icc,
        capture_resolution=_resolution(res.find("captureResolutionBox")) if res is not None else None,
        display_resolution=_resolution(res.find("displayResolutionBox")) if res is not None else None,
        compression_ratio=float(ratio) if ratio else None,
        tool_version=str(getattr(jpylyzer, "__version__", "") or _jpylyzer_version()),
    )


def _jpylyzer_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("jpylyzer")
    except PackageNotFoundError:  # pragma: no cover
        return ""


def _icc_bytes(path: Path) -> bytes | None:
    """The ICC profile in the first ``colr`` box of the JP2 header, read from the boxes themselves."""
    import struct

    data = path.read_bytes()

    def boxes(start: int, end: int) -> Any:
        pos = start
        while pos + 8 <= end:
            length, kind = struct.unpack(">I4s", data[pos:pos + 8])
            head = 8
            if length == 1:
                length, head = struct.unpack(">Q", data[pos + 8:pos + 16])[0], 16
            elif length == 0:
                length = end - pos
            if length < head:
                return
            yield kind, pos + head, pos + length
            pos += length

    for kind, start, end in boxes(0, len(data)):
        if kind == b"jp2h":
            for sub, sstart, send in boxes(start, end):
                if sub == b"colr" and data[sstart] in (2, 3):
                    return data[sstart + 3:send]
    return None


# ----------------------------------------------------------------------------------------------- compare


class _Decoded:
    """Rows of a decoded JP2: Pillow decodes the whole image where it can do so exactly (8-bit grey, RGB, RGBA;
    16-bit grey) and it is at most ``PILLOW_DECODE_LIMIT`` pixels; otherwise glymur decodes the rows asked for.

    Pillow uses its own bundled OpenJPEG build, independent of the writer's; it reduces 16-bit colour to
    8 bits and has no mode for grey + alpha, so those go through glymur.
    """

    def __init__(self, jp2: Path, bands: int, bits: int, pixels: int):
        import numpy as np

        self.whole: np.ndarray | None = None
        self.codestream: Any = None
        try:
            if ((bits == 8 and bands in (1, 3, 4)) or (bits == 16 and bands == 1)) and pixels <= PILLOW_DECODE_LIMIT:
                from PIL import Image

                with Image.open(jp2) as im:
                    im.load()
                    whole = np.asarray(im)
                self.whole = whole.reshape(whole.shape[0], whole.shape[1], -1)
                self.decoder, self.shape = "pillow", self.whole.shape
            else:
                self.codestream = _glymur().Jp2k(os.fspath(jp2))
                shape = self.codestream.shape
                self.decoder, self.shape = "glymur", (shape[0], shape[1], shape[2] if len(shape) > 2 else 1)
        except (OSError, RuntimeError, ValueError) as exc:
            raise AssetReadError("cannot decode the JP2", path=jp2, detail=str(exc)) from exc
        self.path = jp2

    def rows(self, top: int, bottom: int) -> np.ndarray:
        if self.whole is not None:
            return self.whole[top:bottom]
        try:
            rows = self.codestream[top:bottom, :]
        except (OSError, RuntimeError, ValueError) as exc:
            raise AssetReadError(f"cannot decode the JP2 at rows {top}–{bottom}", path=self.path,
                                 detail=str(exc)) from exc
        return rows.reshape(rows.shape[0], rows.shape[1], -1)


def _compare(image: pyvips.Image, src: Path, jp2: Path, *, rows: int) -> PixelComparison:
    """``image`` (the source) against the decoded ``jp2``, strip by strip."""
    import numpy as np

    bits = _VIPS_BITS[image.format]
    expected = (image.height, image.width, image.bands)
    samples = image.height * image.width * image.bands
    decoded = _Decoded(jp2, image.bands, bits, image.width * image.height)
    if tuple(decoded.shape) != expected:
        return PixelComparison(source=src, jp2=jp2, identical=False, max_abs_difference=-1,
                               differing_samples=samples, samples=samples, shape=expected, decoder=decoded.decoder,
                               message=f"decoded shape {tuple(decoded.shape)} ≠ source {expected}")
    differing = worst = 0
    for top, strip in _strips(image, src, rows):
        other = decoded.rows(top, top + strip.shape[0])
        if other.dtype != strip.dtype or not np.array_equal(other, strip):
            diff = np.abs(other.astype(np.int32) - strip.astype(np.int32))
            differing += int(np.count_nonzero(diff))
            worst = max(worst, int(diff.max()))
    message = "" if differing == 0 else f"{differing} of {samples} samples differ, by up to {worst}"
    return PixelComparison(source=src, jp2=jp2, identical=differing == 0, max_abs_difference=worst,
                           differing_samples=differing, samples=samples, shape=expected,
                           decoder=decoded.decoder, message=message)


def verify_lossless(src: str | os.PathLike[str], jp2: str | os.PathLike[str], *,
                    pixel_limit: int = DEFAULT_PIXEL_LIMIT) -> PixelComparison:
    """Decode ``jp2`` and compare it sample for sample with ``src`` as libvips decodes it; exact equality.

    Raises :class:`AssetReadError` if either file cannot be read or decoded.
    """
    src, jp2 = Path(src), Path(jp2)
    if not src.is_file():
        raise AssetReadError("no such source file", path=src)
    if not jp2.is_file():
        raise AssetReadError("no such JP2 file", path=jp2)
    image = _open_source(src, pixel_limit)
    _check_source(image, src)
    return _compare(image, src, jp2, rows=1024)
