"""Image inspection: what a master is (header, profile, camera) and how its pixels measure up.

One sequential pass over the pixels in horizontal strips keeps memory flat for a gigapixel master:
libvips decodes the strips in order (``access="sequential"``) and numba kernels (``_kernels``)
accumulate, per strip,

* an exact histogram of every band: 8-bit images on their 256 codes, everything else on the 65 536
  codes of 16 bits (the report bins those to 1024 bins of 64 codes); min, max, mean, standard
  deviation and the share of pixels at code 0 and at the top code are exact, derived from it;
* on the luminance (Rec. 709 luma of the encoded values, on a 0–255 scale whatever the depth), the
  variance of the 4-neighbour Laplacian (a focus measure) and Immerkær's fast noise estimate, both
  over the interior pixels at full resolution. Strips carry two rows of the previous strip, so the
  3×3 responses, and the results, are those of the whole image whatever the strip height.

Pixels that are neither 8- nor 16-bit are brought to 16 bits first: float and double through libvips
``colourspace`` to ``rgb16`` / ``grey16`` (libvips' own meaning of float data: scRGB is linear 0–1,
float sRGB and B_W are 0–255), other integer formats clipped to 0–65 535.

``tile_and_inspect`` (``image_pass``) feeds the same accumulator (``_Accumulator``) from the decode that
makes the tiles: its report is this one, bit for bit.

The inspector *returns* a report with findings (see ``InspectionThresholds``); it raises only when it
cannot read the file: ``ImageReadError`` (missing, empty, unsupported, truncated or corrupt) or
``ResourceLimitError`` (the header claims more pixels than ``pixel_limit``; nothing is decoded).
"""

from __future__ import annotations

import contextlib
import logging
import math
import operator
import re
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any
from xml.sax.saxutils import unescape

import numpy as np

from llvscan._json import JsonResult
from llvscan._report import Finding, HasFindings
from llvscan.errors import ImageReadError, InvalidParameterError, vips_error_text
from llvscan.imaging import tiles
from llvscan.imaging._icc import is_srgb

__all__ = [
    "BandStatistics",
    "ExifSummary",
    "ImageReport",
    "InspectionThresholds",
    "inspect_image",
    "laplacian_variance",
    "noise_sigma",
]

log = logging.getLogger(__name__)

#: Bytes of decoded pixels pulled from libvips per strip (the strip height follows from the width).
_STRIP_BYTES = 4 * 2**20
#: 16-bit histograms are reported in this many bins (64 codes each); 8-bit ones in 256.
_HISTOGRAM_BINS_16 = 1024

_GREY = ("b-w", "grey16")
_COLOUR_SPACES = ("srgb", "rgb", "rgb16", "scrgb", "xyz", "lab", "labs", "lch", "cmc", "yxy", "hsv", "oklab", "oklch")
_CODECS = {"jpeg": "jpeg", "png": "png", "webp": "webp", "gif": "gif", "jp2k": "jpeg2000", "jxl": "jpegxl",
           "heif": "heif", "svg": "svg", "pdf": "pdf", "ppm": "none", "vips": "none", "fits": "none"}
_TIFF_COMPRESSION = {1: "none", 2: "ccittrle", 3: "ccittfax3", 4: "ccittfax4", 5: "lzw", 6: "ojpeg", 7: "jpeg",
                     8: "deflate", 32773: "packbits", 32946: "deflate", 34712: "jpeg2000", 34887: "lerc",
                     34925: "lzma", 50000: "zstd", 50001: "webp", 50002: "jpegxl"}
_EXIF_ENDING = re.compile(r", [^,()]+, \d+ components?, \d+ bytes?\)$")


@dataclass(frozen=True)
class InspectionThresholds(JsonResult):
    """What the inspector treats as a problem.

    Clipping is the share of pixels at code 0 (shadows) or at the top code (highlights) in the worst
    colour band (alpha never counts; CMYK and 1-bit images are not judged, where 0 % and 100 % ink are
    ordinary). The focus and noise measures are on the luminance at a 0–255 scale. The Laplacian
    variance depends on content and resolution as much as on focus: a plain paper sheet or a sky is
    "soft" however sharp the lens, and the same object scanned at twice the resolution measures
    several times lower — tune ``soft_focus`` to your material and sampling rate. For scale: a sharp
    720×477 photograph measures ~1200, the same after a σ = 1 / 2 px Gaussian blur ~240 / ~21, a sharp
    studio photo on a plain sweep ~66 (~6 blurred), a 4× upscaled painting ~1.4. White noise of
    sigma s alone adds 20 s² to it, so a blurred but noisy image can pass; ``high_noise`` flags that.
    """

    clipped_warning_percent: float = 0.5  # more pixels than this at 0 or at the top code: warning
    clipped_error_percent: float = 5.0  # and more than this: error (a master should hold its white and black)
    soft_focus: float = 30.0  # Laplacian variance below this: warning "soft focus"
    high_noise: float = 4.0  # noise sigma above this (0–255 scale): warning
    min_dpi: float = 300.0  # masters declared below this resolution get an info finding
    expect_16_bit: bool = True  # an 8-bit master gets an info finding

    def __post_init__(self) -> None:
        if min(self.clipped_warning_percent, self.clipped_error_percent, self.soft_focus, self.high_noise,
               self.min_dpi) < 0:
            raise InvalidParameterError("inspection thresholds must not be negative")
        if not self.clipped_warning_percent <= self.clipped_error_percent <= 100:
            raise InvalidParameterError(f"clipping thresholds must satisfy warning ≤ error ≤ 100 %, got "
                                        f"{self.clipped_warning_percent} and {self.clipped_error_percent}")


@dataclass(frozen=True)
class BandStatistics(JsonResult):
    """One band's measured values, in code values of the measured depth (``ImageReport.statistics_depth``)."""

    name: str  # red, green, blue, grey, cyan…, alpha; the band number for other multiband images
    min: int
    max: int
    mean: float
    std: float
    clipped_low_percent: float  # pixels at code 0
    clipped_high_percent: float  # pixels at the top code (255 or 65535)
    histogram: list[int]  # 256 bins of 1 code (8-bit) or 1024 bins of 64 codes (16-bit); sums to width × height


@dataclass(frozen=True)
class ExifSummary(JsonResult):
    make: str | None = None
    model: str | None = None
    datetime_original: str | None = None  # ISO 8601 when the EXIF value is well formed ("2026-03-14T10:22:05")
    lens_model: str | None = None
    exposure_time_s: float | None = None
    f_number: float | None = None
    iso: int | None = None


@dataclass(frozen=True)
class ImageReport(HasFindings):
    """What an image is, how its pixels measure, and what is wrong with it. Field names are stable."""

    path: str
    format: str  # the libvips loader without "load": tiff, jpeg, png, webp, jp2k, heif…
    width: int
    height: int
    bands: int
    bit_depth: int  # bits per sample as stored (1, 8, 16, 32…)
    band_format: str  # libvips: uchar, ushort, float…
    interpretation: str  # libvips: srgb, rgb16, b-w, grey16, cmyk…
    compression: str | None  # TIFF: the Compression tag (none, lzw, deflate, jpeg…); others: the codec
    has_alpha: bool
    has_icc_profile: bool
    icc_profile: str | None  # the profile's description
    is_srgb: bool
    xres_dpi: float | None
    yres_dpi: float | None
    exif: ExifSummary | None
    has_xmp: bool
    xmp_creator: str | None
    xmp_rights: str | None
    # measured, see the module docstring
    statistics_depth: int  # 8 or 16: the code values the band statistics are in
    histogram_bin_width: int  # codes per histogram bin (1 or 64)
    band_statistics: list[BandStatistics]
    laplacian_variance: float | None  # None for images narrower or lower than 3 pixels
    noise_sigma: float | None
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0


# -- array functions ------------------------------------------------------------------------------


def _check_luma(luma: np.ndarray) -> np.ndarray:
    luma = np.asarray(luma)
    if luma.ndim != 2 or not (np.issubdtype(luma.dtype, np.number) and not np.iscomplexobj(luma)):
        raise InvalidParameterError(f"luminance must be a 2-D real array, got shape {luma.shape} {luma.dtype}")
    return np.ascontiguousarray(luma, dtype=np.float32)


def _filter_sums(luma: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-row sums of the Laplacian, its square and the absolute noise-mask response (``_kernels``)."""
    from llvscan.imaging import _kernels

    n = max(luma.shape[0] - 2, 0)
    out = np.zeros(n), np.zeros(n), np.zeros(n)
    if n and luma.shape[1] >= 3:
        _kernels.filter_rows(luma, *out)
    return out


def laplacian_variance(luma: np.ndarray) -> float | None:
    """Variance of the 4-neighbour Laplacian over the interior of a 2-D array (None below 3×3)."""
    luma = _check_luma(luma)
    if min(luma.shape) < 3:
        return None
    lap_sum, lap_sq, _ = _filter_sums(luma)
    return _variance(lap_sum, lap_sq, (luma.shape[0] - 2) * (luma.shape[1] - 2))


def noise_sigma(luma: np.ndarray) -> float | None:
    """Immerkær's fast noise estimate (1996) of a 2-D array: sqrt(π/2) / (6 (W−2)(H−2)) · Σ|I ∗ N|."""
    luma = _check_luma(luma)
    if min(luma.shape) < 3:
        return None
    return _immerkaer(_filter_sums(luma)[2], (luma.shape[0] - 2) * (luma.shape[1] - 2))


def _variance(sums: np.ndarray, squares: np.ndarray, n: int) -> float:
    mean = math.fsum(sums) / n  # fsum: exact, so the result does not depend on how rows were grouped
    return max(math.fsum(squares) / n - mean * mean, 0.0)


def _immerkaer(abs_sums: np.ndarray, n: int) -> float:
    return math.sqrt(math.pi / 2) / (6 * n) * math.fsum(abs_sums)


# -- the pixel pass ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pixels:
    depth: int
    names: list[str]
    histograms: np.ndarray  # (bands, 256 or 65536) int64
    laplacian_variance: float | None
    noise_sigma: float | None


def _luma_mode(image: Any) -> int:
    from llvscan.imaging import _kernels

    if image.interpretation == "cmyk" and image.bands >= 4:
        return _kernels.LUMA_CMYK
    if image.interpretation in _GREY or image.bands < 3:
        return _kernels.LUMA_GREY
    return _kernels.LUMA_RGB


def _measurable(image: Any, path: Path) -> Any:
    """``image`` as uchar or ushort, its coding undone."""
    if image.coding == "labq":
        image = image.LabQ2Lab()
    elif image.coding == "rad":
        image = image.rad2float()
    if image.format in ("uchar", "ushort"):
        return image
    if image.format in ("complex", "dpcomplex"):
        raise ImageReadError(f"complex pixels ({image.format}) are not supported", path=path)
    if image.format in ("float", "double") and image.interpretation in (*_COLOUR_SPACES, *_GREY):
        colour = image.bands - image.hasalpha() >= 3
        return image.colourspace("rgb16" if colour else "grey16")
    return image.cast("uchar" if image.format == "char" else "ushort")  # libvips clips to the range


class _Accumulator:
    """The statistics of a measurable image (``_measurable``), fed its rows top to bottom in strips of any height."""

    def __init__(self, image: Any, *, strip_rows: int | None = None) -> None:
        from llvscan.imaging import _kernels

        self.width, self.height, self.bands = image.width, image.height, image.bands
        self.dtype = np.uint8 if image.format == "uchar" else np.uint16
        self.depth = 8 if self.dtype is np.uint8 else 16
        if strip_rows is None:
            strip_rows = max(8, _STRIP_BYTES // (self.width * self.bands * self.dtype().itemsize))
        self.strip_rows = max(1, min(strip_rows, self.height))
        self.mode, self.scale = _luma_mode(image), 1.0 if self.depth == 8 else 1.0 / 257.0
        self.names = _band_names(image)
        self.counts = np.zeros((_kernels.threads(), self.bands, 1 << self.depth), dtype=np.int64)  # one per thread
        self.luma = np.empty((self.strip_rows + 2, self.width), dtype=np.float32)
        self.sums: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.carry = 0
        self.rows_seen = 0

    def add(self, data: Any) -> None:
        """Add the next rows (a buffer of at most ``strip_rows`` whole rows of pixels)."""
        from llvscan.imaging import _kernels

        strip = np.frombuffer(data, dtype=self.dtype).reshape(-1, self.width, self.bands)
        rows = strip.shape[0]
        if not 0 < rows <= self.strip_rows or self.rows_seen + rows > self.height:
            raise InvalidParameterError(f"a strip of {rows} rows does not fit ({self.rows_seen} of {self.height} "
                                        f"rows seen, strips of at most {self.strip_rows})")
        self.rows_seen += rows
        luma, carry = self.luma, self.carry
        _kernels.histogram(strip, self.counts)
        _kernels.luminance(strip, self.mode, self.scale, luma[carry:carry + rows])
        filled = carry + rows
        if filled >= 3 and self.width >= 3:
            self.sums.append(_filter_sums(luma[:filled]))
        self.carry = min(2, filled)
        luma[:self.carry] = luma[filled - self.carry:filled]

    def result(self) -> _Pixels:
        if self.rows_seen != self.height:
            raise InvalidParameterError(f"only {self.rows_seen} of {self.height} rows were measured")
        interior = (self.width - 2) * (self.height - 2)
        if interior > 0:
            lap_sum, lap_sq, noise_abs = (np.concatenate(parts) for parts in zip(*self.sums, strict=True))
            lap_var, sigma = _variance(lap_sum, lap_sq, interior), _immerkaer(noise_abs, interior)
        else:
            lap_var, sigma = None, None
        return _Pixels(depth=self.depth, names=self.names, histograms=self.counts.sum(axis=0),
                       laplacian_variance=lap_var, noise_sigma=sigma)


def _measure(image: Any, path: Path, *, strip_rows: int | None = None) -> _Pixels:
    """One sequential pass over ``image`` in strips of ``strip_rows`` (default: ~``_STRIP_BYTES``)."""
    import pyvips

    image = _measurable(image, path)
    acc = _Accumulator(image, strip_rows=strip_rows)
    region = pyvips.Region.new(image)
    for y in range(0, acc.height, acc.strip_rows):
        acc.add(region.fetch(0, y, acc.width, min(acc.strip_rows, acc.height - y)))
    return acc.result()


def _band_names(image: Any) -> list[str]:
    colours = image.bands - image.hasalpha()
    if image.interpretation == "cmyk" and colours == 4:
        names = ["cyan", "magenta", "yellow", "black"]
    elif colours == 1 and (image.interpretation in _GREY or image.bands <= 2):
        names = ["grey"]
    elif colours == 3 and image.interpretation in _COLOUR_SPACES:
        names = ["red", "green", "blue"]
    else:
        names = [str(i) for i in range(colours)]
    return names + ["alpha"] * (image.bands - colours)


def _band_statistics(histograms: np.ndarray, depth: int, names: list[str]) -> list[BandStatistics]:
    codes = np.arange(histograms.shape[1], dtype=np.float64)
    result = []
    for name, hist in zip(names, histograms, strict=True):
        n = int(hist.sum())
        present = np.flatnonzero(hist)
        mean = int((hist * np.arange(hist.size, dtype=np.int64)).sum()) / n
        std = math.sqrt(float((hist * (codes - mean) ** 2).sum()) / n)
        binned = hist if depth == 8 else hist.reshape(_HISTOGRAM_BINS_16, -1).sum(axis=1)
        result.append(BandStatistics(
            name=name, min=int(present[0]), max=int(present[-1]), mean=mean, std=std,
            clipped_low_percent=100.0 * int(hist[0]) / n, clipped_high_percent=100.0 * int(hist[-1]) / n,
            histogram=[int(v) for v in binned]))
    return result


# -- metadata --------------------------------------------------------------------------------------


def _tiff_compression(path: Path) -> str | None:
    """The Compression tag (259) of the first IFD of a TIFF or BigTIFF, read from the header."""
    try:
        with path.open("rb") as f:
            head = f.read(16)
            order = {b"II": "<", b"MM": ">"}[head[:2]]
            (magic,) = struct.unpack(order + "H", head[2:4])
            if magic == 42:
                (offset,) = struct.unpack(order + "I", head[4:8])
                count_fmt, entry_fmt, entry_size = "H", "HHI4s", 12
            elif magic == 43:
                (offset,) = struct.unpack(order + "Q", head[8:16])
                count_fmt, entry_fmt, entry_size = "Q", "HHQ8s", 20
            else:
                return None
            f.seek(offset)
            (count,) = struct.unpack(order + count_fmt, f.read(struct.calcsize(count_fmt)))
            entries = f.read(min(count, 4096) * entry_size)
        for i in range(len(entries) // entry_size):
            tag, kind, _, value = struct.unpack_from(order + entry_fmt, entries, i * entry_size)
            if tag == 259:
                (code,) = struct.unpack_from(order + ("H" if kind == 3 else "I"), value)
                return _TIFF_COMPRESSION.get(code, f"tiff-{code}")
    except (OSError, KeyError, struct.error):
        return None
    return None


def _compression(image: Any, fmt: str, path: Path) -> str | None:
    if image.get_typeof("tiff-compression"):
        return str(image.get("tiff-compression"))
    if fmt == "tiff":
        return _tiff_compression(path)
    if fmt == "heif" and image.get_typeof("heif-compression"):
        return str(image.get("heif-compression"))
    return _CODECS.get(fmt)


def _exif_value(image: Any, name: str) -> str | None:
    """The raw value of an ``exif-ifd*-<name>`` field: libvips writes "value (human form, type, n, bytes)"."""
    for ifd in range(5):
        key = f"exif-ifd{ifd}-{name}"
        if image.get_typeof(key):
            text = _EXIF_ENDING.sub("", str(image.get(key)))
            starts = [m.start() for m in re.finditer(r" \(", text)]
            for i in starts:  # an ASCII value is repeated as its own human form: "Canon (Canon"
                if text[:i] == text[i + 2:]:
                    return text[:i].strip() or None
            return (text[:starts[0]] if starts else text).strip() or None
    return None


def _rational(text: str | None) -> float | None:
    try:
        return float(Fraction(text.split()[0])) if text else None
    except (ValueError, ZeroDivisionError):
        return None


def _exif(image: Any) -> ExifSummary | None:
    date = _exif_value(image, "DateTimeOriginal")
    if date and re.fullmatch(r"\d{4}:\d\d:\d\d \d\d:\d\d:\d\d", date):
        date = date[:10].replace(":", "-") + "T" + date[11:]
    iso = _exif_value(image, "ISOSpeedRatings") or _exif_value(image, "PhotographicSensitivity")
    summary = ExifSummary(
        make=_exif_value(image, "Make"),
        model=_exif_value(image, "Model"),
        datetime_original=date,
        lens_model=_exif_value(image, "LensModel"),
        exposure_time_s=_rational(_exif_value(image, "ExposureTime")),
        f_number=_rational(_exif_value(image, "FNumber")),
        iso=int(iso.split()[0]) if iso and iso.split()[0].isdigit() else None,
    )
    return summary if summary != ExifSummary() else None


def _xmp_text(xmp: str, element: str) -> str | None:
    """The first ``rdf:li`` (or the plain text) of an XMP element such as ``dc:creator``."""
    match = re.search(rf"<{element}\b[^>]*>(.*?)</{element}>", xmp, re.S)
    if not match:
        return None
    inner = match.group(1)
    item = re.search(r"<rdf:li\b[^>]*>(.*?)</rdf:li>", inner, re.S)
    text = item.group(1) if item else re.sub(r"<[^>]+>", "", inner)
    return unescape(text, {"&quot;": '"', "&apos;": "'"}).strip() or None


def _xmp(image: Any) -> tuple[bool, str | None, str | None]:
    if not image.get_typeof("xmp-data"):
        return False, None, None
    data = image.get("xmp-data")
    text = (data if isinstance(data, bytes) else str(data).encode()).decode("utf-8", "replace")
    return True, _xmp_text(text, "dc:creator"), _xmp_text(text, "dc:rights")


def _bit_depth(image: Any) -> int:
    if image.get_typeof("bits-per-sample"):
        return int(image.get("bits-per-sample"))
    return {"uchar": 8, "char": 8, "ushort": 16, "short": 16, "uint": 32, "int": 32, "float": 32,
            "double": 64, "complex": 64, "dpcomplex": 128}.get(str(image.format), 8)


def _dpi(res: float) -> float | None:
    return round(res * 25.4, 3) if res > 1.0 else None  # libvips keeps pixels per mm; 1.0 means unset


# -- findings ---------------------------------------------------------------------------------------


def _clipping(report: dict[str, Any], stats: list[BandStatistics], t: InspectionThresholds) -> list[Finding]:
    if report["interpretation"] == "cmyk" or report["bit_depth"] == 1:
        return []
    colour = [s for s in stats if s.name != "alpha"]
    top = (1 << report["statistics_depth"]) - 1
    findings = []
    for code, what, side, value, key in (("clipped_highlights", "highlights", "top code", top, "clipped_high_percent"),
                                         ("clipped_shadows", "shadows", "code", 0, "clipped_low_percent")):
        worst = max(colour, key=operator.attrgetter(key))
        share = getattr(worst, key)
        if share <= t.clipped_warning_percent:
            continue
        level = "error" if share > t.clipped_error_percent else "warning"
        limit = t.clipped_error_percent if level == "error" else t.clipped_warning_percent
        count = round(share / 100 * report["width"] * report["height"])
        findings.append(Finding(level, code, f"{what} clipped: {share:.2f} % of the {worst.name} band is at "
                                f"{side} {value} (more than {limit:g} %); recapture with "
                                f"{'less' if value else 'more'} exposure if detail was lost there",
                                count=count, measure=share))
    return findings


def _findings(report: dict[str, Any], t: InspectionThresholds) -> list[Finding]:
    findings = []
    grey = report["interpretation"] in _GREY or report["bands"] - report["has_alpha"] == 1
    if not report["has_icc_profile"]:
        findings.append(Finding("info" if grey else "warning", "no_icc_profile",
                                "no embedded ICC profile: the colours are ambiguous; embed the capture profile "
                                "(or sRGB / Adobe RGB / eciRGB)" if not grey else
                                "no embedded ICC profile: the grey tone curve (gamma) is ambiguous"))
    elif not report["is_srgb"]:
        findings.append(Finding("info", "non_srgb_profile", f"the ICC profile is not sRGB ({report['icc_profile']}); "
                                "web derivatives are converted to sRGB"))
    findings += _clipping(report, report["band_statistics"], t)
    lap, sigma = report["laplacian_variance"], report["noise_sigma"]
    if lap is not None and lap < t.soft_focus:
        findings.append(Finding("warning", "soft_focus", f"soft focus: Laplacian variance {lap:.3g} is below "
                                f"{t.soft_focus:g} (depends on content and resolution: plain areas measure low)",
                                measure=lap))
    if sigma is not None and sigma > t.high_noise:
        findings.append(Finding("warning", "high_noise", f"high noise: estimated sigma {sigma:.2f} (0–255 scale) "
                                f"is above {t.high_noise:g}", measure=sigma))
    dpi = report["xres_dpi"]
    if dpi is None:
        findings.append(Finding("info", "no_resolution", "no resolution (dpi) recorded in the file"))
    elif dpi < t.min_dpi or (report["yres_dpi"] or dpi) < t.min_dpi:
        findings.append(Finding("info", "low_resolution", f"declared resolution {dpi:g} dpi is below {t.min_dpi:g} "
                                "dpi expected of a master", measure=dpi))
    if t.expect_16_bit and report["bit_depth"] <= 8:
        findings.append(Finding("info", "eight_bit", f"{report['bit_depth']}-bit samples: a master is expected to "
                                "hold 16 bits per sample", measure=float(report["bit_depth"])))
    if report["has_alpha"]:
        findings.append(Finding("info", "alpha_channel", "the image has an alpha channel; masters are usually opaque"))
    return findings


# -- the public entry point -------------------------------------------------------------------------


class _ToDebug(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        log.debug("libvips: %s", record.getMessage())
        return False


@contextlib.contextmanager
def _vips_warnings_to_debug() -> Iterator[None]:
    """libvips warns once per failed tile ("error in tile 0 x 184"), thousands of lines for a truncated
    master; the ``ImageReadError`` carries its diagnosis, so they go to llvscan's debug log meanwhile."""
    logger, quiet = logging.getLogger("pyvips"), _ToDebug()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)



def inspect_image(
    path: str | Path,
    *,
    pixel_limit: int = tiles.DEFAULT_PIXEL_LIMIT,
    thresholds: InspectionThresholds | None = None,
) -> ImageReport:
    """Inspect the image at ``path``: metadata, per-band statistics, focus and noise, and findings.

    Streams the pixels once (flat memory). Raises ``ImageReadError`` for a missing, empty, unsupported,
    truncated or corrupt file and ``ResourceLimitError`` when the header claims more than ``pixel_limit``
    pixels (checked before decoding).
    """
    import pyvips

    thresholds = thresholds or InspectionThresholds()
    started = time.perf_counter()
    path = Path(path)
    header = tiles.read_header(path, pixel_limit=pixel_limit)
    try:
        image = pyvips.Image.new_from_file(str(path), access="sequential", fail_on="error")
        report = _metadata(image, path, header)
        with _vips_warnings_to_debug():
            pixels = _measure(image, path)
    except pyvips.Error as exc:
        raise _decode_error(path, exc) from exc
    return _report(report, pixels, thresholds, started)


def _decode_error(path: Path, exc: Exception) -> ImageReadError:
    return ImageReadError("truncated or corrupt: libvips failed while decoding the pixels", path=path,
                          detail=vips_error_text(exc))


def _metadata(image: Any, path: Path, header: tiles.ImageHeader) -> dict[str, Any]:
    """The report's fields that come from the header and the metadata of ``image`` (nothing is decoded)."""
    fmt = header.loader.removesuffix("load")
    has_xmp, creator, rights = _xmp(image)
    profile = image.get("icc-profile-data") if image.get_typeof("icc-profile-data") else None
    return dict(
        path=str(path), format=fmt, width=image.width, height=image.height, bands=image.bands,
        bit_depth=_bit_depth(image), band_format=str(image.format), interpretation=str(image.interpretation),
        compression=_compression(image, fmt, path), has_alpha=bool(image.hasalpha()),
        has_icc_profile=profile is not None, icc_profile=tiles._profile_name(image),
        is_srgb=profile is not None and is_srgb(profile),
        xres_dpi=_dpi(image.xres), yres_dpi=_dpi(image.yres), exif=_exif(image),
        has_xmp=has_xmp, xmp_creator=creator, xmp_rights=rights)


def _report(report: dict[str, Any], pixels: _Pixels, thresholds: InspectionThresholds,
            started: float) -> ImageReport:
    """The finished report: ``report`` (``_metadata``), the measured ``pixels`` and the findings."""
    report = dict(report)
    report.update(
        statistics_depth=pixels.depth, histogram_bin_width=1 if pixels.depth == 8 else 65536 // _HISTOGRAM_BINS_16,
        band_statistics=_band_statistics(pixels.histograms, pixels.depth, pixels.names),
        laplacian_variance=pixels.laplacian_variance, noise_sigma=pixels.noise_sigma)
    report["findings"] = _findings(report, thresholds)
    report["seconds"] = round(time.perf_counter() - started, 3)
    log.debug("inspected %s in %.2f s", report["path"], report["seconds"])
    return ImageReport(**report)
