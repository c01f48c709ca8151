"""Finding a ColorChecker Classic or Digital SG in a photograph, and where to sample each patch.

``locate_chart(image, chart)`` returns a ``ChartLocation``: the map from the chart's layout (millimetres,
``charts.ChartSpec``) to the image, and for every patch, in ``ChartSpec.patch_ids`` order, the quadrilateral to
sample (the central ``sample_fraction`` of the patch's side).

Without ``corners`` the chart is found automatically, without OpenCV:

1. segmentation (on a copy block-averaged to at most ~1600 pixels): a [1 2 1]-smoothed gradient, thresholded
   against the image's brightness and noise; the 4-connected regions of flat pixels and their moments (numba);
2. patch candidates: regions whose area, elongation and area-to-moment ratio (1 for any parallelogram) are
   those of a projected square;
3. lattices: from a seed candidate and its nearest neighbours of similar size, candidates ever farther away
   are given integer grid coordinates and a grid → image homography is refitted each time (so perspective is
   followed); seeds are taken size by size, so a repeating pattern of another size (a tiled floor, another
   target) cannot use them up;
4. placements: on each lattice, the chart's rows × columns window (either way round) where it covers the most
   candidates; a lattice where many windows fit equally well is a regular pattern larger than the chart and is
   skipped. Each window in each of the grid's 4 symmetric placements (two of them mirror images) is scored by
   how well the colours sampled at the predicted patch centres match the chart's nominal colours
   (``charts.reference_lab`` through sRGB) after a per-channel gain and offset (a colour cast, an exposure
   change): the best wins if it explains at least 70 % of their variance. ``confidence`` = 1 − its error /
   that of the best placement elsewhere;
5. the homography mm → pixels refitted to the centroids of the candidates found at the predicted centres.

Coordinates are continuous pixel coordinates: pixel (column x, row y) covers [x, x + 1) × [y, y + 1), its
centre is (x + 0.5, y + 0.5). Scaling an image by a factor scales every coordinate by the same factor
(``ChartLocation.scaled``), so a chart found on a downsampled copy applies to the master.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Literal

import numpy as np

from llvscan._json import JsonResult
from llvscan.errors import ChartNotFoundError, InvalidParameterError
from llvscan.imaging.qa.charts import ChartSpec, chart_spec, reference_lab

__all__ = [
    "ChartLocation",
    "PatchSample",
    "draw_overlay",
    "locate_chart",
    "patch_bounds",
    "patch_pixels",
]

log = logging.getLogger(__name__)

_Point = tuple[float, float]

_DETECT_LONG_SIDE = 1600  # larger images are block-averaged down to about this before segmentation
_MIN_SIDE = 24  # an image smaller than this on either side cannot hold a chart worth measuring
_MIN_REGION_PX = 12  # the smallest flat region that may be a patch
_MAX_SEEDS = 400  # lattices grown from seed candidates, at most
_MAX_LATTICES = 12  # lattices whose placements are compared by colour, at most
_MAX_WINDOWS = 40  # a lattice where more windows fit the chart's layout about equally well is a regular pattern
_MIN_FIT_R2 = 0.7  # the sampled colours must explain at least this share of the nominal colours' variance


@dataclass(frozen=True)
class PatchSample(JsonResult):
    """One patch: its centre, the quadrilateral sampled (4 corners, image pixels) and about how many pixels
    that covers."""

    id: str
    centre: _Point
    polygon: tuple[_Point, _Point, _Point, _Point]
    area_px: float

    def scaled(self, factor: float) -> PatchSample:
        return PatchSample(self.id, _scale_point(self.centre, factor),
                           tuple(_scale_point(p, factor) for p in self.polygon),  # type: ignore[arg-type]
                           self.area_px * factor * factor)


@dataclass(frozen=True)
class ChartLocation(JsonResult):
    """Where a chart lies in an image.

    ``corners``: the chart's outer corners in its canonical orientation (top-left, top-right, bottom-right,
    bottom-left as printed), in image pixels. ``homography``: the 3×3 map from the chart's millimetres to
    pixels. ``orientation``: the chart's turn from upright, counter-clockwise on screen, rounded to 0, 90, 180
    or 270 degrees; ``rotation_deg`` the exact angle of the chart's x axis; ``mirrored`` true for a mirror
    image (a flipped scan). ``confidence``: 1 − (colour error of the chosen placement) / (that of the next
    best), 0–1. ``colour_rms``: the RMS difference (0–1 display scale) between the sampled patch colours,
    after a per-channel gain and offset, and the nominal ones; ``colour_r2`` the share of the nominal
    colours' variance they explain. ``patches_found``: patches segmented in the image (automatic only).
    """

    chart: str
    method: Literal["automatic", "manual"]
    corners: tuple[_Point, _Point, _Point, _Point]
    homography: tuple[tuple[float, float, float], ...]
    orientation: int
    rotation_deg: float
    mirrored: bool
    confidence: float
    colour_rms: float
    colour_r2: float
    patches_found: int
    sample_fraction: float
    patches: tuple[PatchSample, ...]

    def scaled(self, factor: float) -> ChartLocation:
        """The same location in an image scaled by ``factor`` (e.g. 8.0 from a 1/8 preview to the master)."""
        if not (factor > 0 and math.isfinite(factor)):
            raise InvalidParameterError(f"scale factor must be a positive number, not {factor!r}")
        h = np.diag([factor, factor, 1.0]) @ np.asarray(self.homography)
        return replace(self, corners=tuple(_scale_point(p, factor) for p in self.corners),  # type: ignore[arg-type]
                       homography=_as_nested(h), patches=tuple(p.scaled(factor) for p in self.patches))

    @property
    def patch_ids(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.patches)

    def centres(self) -> np.ndarray:
        """The patch centres, (N, 2) float64."""
        return np.array([p.centre for p in self.patches], dtype=np.float64)


# --------------------------------------------------------------------------------------------- public API


def locate_chart(image: np.ndarray, chart: str, *, corners: Sequence[_Point] | None = None,
                 corner_order: Literal["chart", "any"] = "chart",
                 corners_of: Literal["chart", "patches"] = "chart",
                 sample_fraction: float = 0.5) -> ChartLocation:
    """Find ``chart`` ("colorchecker-classic" | "colorchecker-sg") in ``image`` and return its location.

    ``image``: (H, W, 3) RGB (a 4th, alpha, channel is ignored), uint8, uint16, or float in [0, 1];
    display-referred (sRGB-like) values. ``corners``: four (x, y) points in pixels, when known, skip the
    search: with ``corner_order="chart"`` they are the chart's top-left, top-right, bottom-right and bottom-left
    corners as printed (upright); with ``"any"`` they may come in any order and the orientation is chosen from
    the patch colours. ``corners_of="patches"`` takes them as the outer corners of the patch area (the outer
    corners of the four corner patches) rather than of the card. ``sample_fraction``: the share of a patch's
    side sampled around its centre (0–1].

    Raises ``ChartNotFoundError`` when no such chart is found, ``InvalidParameterError`` for an array that is
    not an RGB image or for impossible options.
    """
    spec = chart_spec(chart)
    if not (0.0 < sample_fraction <= 1.0):
        raise InvalidParameterError(f"sample_fraction must be in (0, 1], not {sample_fraction!r}")
    if corner_order not in ("chart", "any"):
        raise InvalidParameterError(f"corner_order must be 'chart' or 'any', not {corner_order!r}")
    if corners_of not in ("chart", "patches"):
        raise InvalidParameterError(f"corners_of must be 'chart' or 'patches', not {corners_of!r}")
    rgb, k = _detection_image(image)  # at most ~_DETECT_LONG_SIDE pixels long, k times smaller
    height, width = np.shape(image)[:2]
    if corners is not None:
        location = _locate_manual(rgb, k, spec, corners, corner_order, corners_of, sample_fraction)
    elif min(height, width) < _MIN_SIDE:
        raise ChartNotFoundError(f"no {spec.title} found: the image is {width}×{height} pixels, too small to "
                                 f"hold a chart of {spec.rows}×{spec.columns} patches")
    else:
        location = _locate_automatic(rgb, spec, sample_fraction)
    return location.scaled(float(k)) if k != 1 else location


def patch_pixels(values: np.ndarray, location: ChartLocation, *, origin: _Point = (0.0, 0.0),
                 patches: Sequence[int] | None = None) -> list[np.ndarray]:
    """The pixels inside each patch's sampled quadrilateral: a list of (n, C) arrays (n may be 0 where the
    quadrilateral lies outside ``values``), in ``location.patches`` order or that of ``patches`` (indices).

    ``values``: (H, W) or (H, W, C), e.g. Lab float32, in the geometry of the image the location refers to,
    or a crop of it whose top-left pixel is at ``origin`` (x0, y0) in that image (see ``patch_bounds``).
    A pixel is inside when its centre is (x + 0.5, y + 0.5).
    """
    arr = np.asarray(values)
    if arr.ndim not in (2, 3) or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InvalidParameterError(f"values must be an (H, W) or (H, W, C) array, not shape {arr.shape}")
    if arr.ndim == 2:
        arr = arr[:, :, None]
    ox, oy = float(origin[0]), float(origin[1])
    indices = range(len(location.patches)) if patches is None else patches
    out = []
    for index in indices:
        polygon = np.asarray(location.patches[index].polygon, dtype=np.float64) - [ox, oy]
        ys, xs = _pixels_in_quad(polygon, arr.shape[0], arr.shape[1])
        out.append(arr[ys, xs])
    return out


def patch_bounds(location: ChartLocation, patch_index: int, margin: int = 1) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): integer pixel bounds holding patch ``patch_index``'s sampled quadrilateral plus
    ``margin`` pixels, for ``values[y0:y1, x0:x1]`` and ``patch_pixels(..., origin=(x0, y0))``. x0 and y0 are
    at least 0; x1 and y1 may exceed the image (slicing clips them)."""
    if margin < 0:
        raise InvalidParameterError(f"margin must be ≥ 0, not {margin}")
    polygon = np.asarray(location.patches[patch_index].polygon, dtype=np.float64)
    x0 = max(0, math.floor(polygon[:, 0].min()) - margin)
    y0 = max(0, math.floor(polygon[:, 1].min()) - margin)
    x1 = max(x0, math.ceil(polygon[:, 0].max()) + margin)
    y1 = max(y0, math.ceil(polygon[:, 1].max()) + margin)
    return x0, y0, x1, y1


def draw_overlay(image: np.ndarray, location: ChartLocation, *, labels: Mapping[str, str] | None = None,
                 colours: Mapping[str, tuple[int, int, int]] | None = None) -> np.ndarray:
    """A copy of ``image`` ((H, W, 3) uint8) with the chart's outline and every sampled quadrilateral drawn,
    each patch in ``colours[id]`` (default green) with the text ``labels[id]`` (if given) at its centre."""
    from PIL import Image, ImageDraw, ImageFont

    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
        raise InvalidParameterError(f"draw_overlay needs an (H, W, 3) uint8 image, not {arr.dtype} {arr.shape}")
    canvas = Image.fromarray(np.ascontiguousarray(arr))
    draw = ImageDraw.Draw(canvas)
    long_side = max(arr.shape[:2])
    width = max(1, round(long_side / 600))
    draw.line([*location.corners, location.corners[0]], fill=(255, 0, 255), width=width + 1)
    default = (0, 255, 0)
    font_size = max(8, round(min(_patch_side_px(p) for p in location.patches) * 0.35)) if location.patches else 10
    try:
        font: ImageFont.ImageFont | ImageFont.FreeTypeFont = ImageFont.load_default(size=font_size)
    except (TypeError, OSError, ImportError):  # Pillow < 10.1, or no FreeType: a fixed-size bitmap font
        font = ImageFont.load_default()
    for patch in location.patches:
        colour = tuple(int(c) for c in (colours or {}).get(patch.id, default))
        draw.line([*patch.polygon, patch.polygon[0]], fill=colour, width=width)
        if labels and patch.id in labels:
            draw.text(patch.centre, str(labels[patch.id]), fill=colour, font=font, anchor="mm",
                      stroke_width=max(1, width // 2), stroke_fill=(0, 0, 0))
    return np.asarray(canvas).copy()


# ------------------------------------------------------------------------------------------ input checking


def _detection_image(image: np.ndarray) -> tuple[np.ndarray, int]:
    """The image as float32 RGB in [0, 1], block-averaged by an integer factor k to at most about
    ``_DETECT_LONG_SIDE`` pixels on its long side (before any conversion, so a large master is never copied
    whole as floats); and k."""
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise InvalidParameterError(f"image must be an (H, W, 3) RGB array, not shape {arr.shape}")
    arr = arr[:, :, :3]
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InvalidParameterError(f"image is empty: shape {arr.shape}")
    if arr.dtype == np.uint8:
        scale = 255.0
    elif arr.dtype == np.uint16:
        scale = 65535.0
    elif arr.dtype.kind == "f":
        scale = 1.0
        low, high = float(np.min(arr)), float(np.max(arr))  # NaN propagates through both
        if not (math.isfinite(low) and math.isfinite(high)):
            raise InvalidParameterError("image holds NaN or infinite values")
        if low < -0.01 or high > 1.01:
            raise InvalidParameterError(f"a float image must hold values in [0, 1], not [{low:.3g}, {high:.3g}]")
    else:
        raise InvalidParameterError(f"image must be uint8, uint16 or float, not {arr.dtype}")
    k = max(1, math.ceil(max(arr.shape[:2]) / _DETECT_LONG_SIDE))
    if k > 1:
        from llvscan.imaging.qa._detect_kernels import block_mean

        small = block_mean(arr, k, scale)  # reads the master once, in place (a strided view is fine)
    else:
        small = arr.astype(np.float32)
        if scale != 1.0:
            small *= np.float32(1.0 / scale)
    return np.clip(small, 0.0, 1.0, out=small), k


# ------------------------------------------------------------------------------------------------ geometry


def _scale_point(p: Sequence[float], factor: float) -> _Point:
    return (float(p[0]) * factor, float(p[1]) * factor)


def _as_nested(h: np.ndarray) -> tuple[tuple[float, float, float], ...]:
    h = h / h[2, 2] if abs(h[2, 2]) > 1e-12 else h
    return tuple((float(r[0]), float(r[1]), float(r[2])) for r in h)


def _apply(h: np.ndarray, points: np.ndarray) -> np.ndarray:
    p = np.asarray(points, dtype=np.float64)
    q = p @ h[:, :2].T + h[:, 2]
    return q[:, :2] / q[:, 2:3]


def _fit_homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray | None:
    """Least-squares homography src → dst (normalised DLT); None when degenerate."""
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if len(src) < 4:
        return None

    def normaliser(p: np.ndarray) -> np.ndarray:
        c = p.mean(axis=0)
        d = np.sqrt(((p - c) ** 2).sum(axis=1)).mean()
        s = math.sqrt(2) / d if d > 1e-12 else 1.0
        return np.array([[s, 0, -s * c[0]], [0, s, -s * c[1]], [0, 0, 1]])

    ts, td = normaliser(src), normaliser(dst)
    a = _apply(ts, src)
    b = _apply(td, dst)
    n = len(a)
    m = np.zeros((2 * n, 9))
    m[0::2, 0:2], m[0::2, 2] = a, 1
    m[0::2, 6:8], m[0::2, 8] = -b[:, :1] * a, -b[:, 0]
    m[1::2, 3:5], m[1::2, 5] = a, 1
    m[1::2, 6:8], m[1::2, 8] = -b[:, 1:2] * a, -b[:, 1]
    _, sv, vt = np.linalg.svd(m, full_matrices=len(m) < 9)  # the null vector: the last row of a 9×9 vt
    if sv[7] < 1e-9 * sv[0]:  # rank below 8: the points do not pin a homography down
        return None
    h = np.linalg.inv(td) @ vt[-1].reshape(3, 3) @ ts
    if abs(h[2, 2]) < 1e-12:
        return None
    return h / h[2, 2]


def _fit_affine(src: np.ndarray, dst: np.ndarray) -> np.ndarray | None:
    if len(src) < 3:
        return None
    a = np.c_[src, np.ones(len(src))]
    if np.linalg.matrix_rank(a) < 3:
        return None
    coef, *_ = np.linalg.lstsq(a, dst, rcond=None)
    return np.vstack([coef.T, [0.0, 0.0, 1.0]])


def _centres_mm(spec: ChartSpec) -> np.ndarray:
    return _centres_mm_cached(spec.name)


@cache
def _centres_mm_cached(name: str) -> np.ndarray:
    out = chart_spec(name).patch_centres_mm()
    out.setflags(write=False)
    return out


def _polygon_area(p: np.ndarray) -> float:
    x, y = p[:, 0], p[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def _patch_side_px(patch: PatchSample) -> float:
    return math.sqrt(max(patch.area_px, 1.0))


def _pixels_in_quad(polygon: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the pixels whose centres lie inside the convex quadrilateral."""
    x0 = max(0, math.ceil(polygon[:, 0].min() - 0.5))
    x1 = min(width - 1, math.floor(polygon[:, 0].max() - 0.5))
    y0 = max(0, math.ceil(polygon[:, 1].min() - 0.5))
    y1 = min(height - 1, math.floor(polygon[:, 1].max() - 0.5))
    if x1 < x0 or y1 < y0:
        return np.zeros(0, np.intp), np.zeros(0, np.intp)
    ys, xs = np.mgrid[y0:y1 + 1, x0:x1 + 1]
    px, py = xs.ravel() + 0.5, ys.ravel() + 0.5
    sign = 1.0 if _signed_area(polygon) >= 0 else -1.0
    inside = np.ones(px.shape, dtype=bool)
    for k in range(len(polygon)):
        ax, ay = polygon[k]
        bx, by = polygon[(k + 1) % len(polygon)]
        inside &= sign * ((bx - ax) * (py - ay) - (by - ay) * (px - ax)) >= 0
    return ys.ravel()[inside], xs.ravel()[inside]


def _is_convex(p: np.ndarray) -> bool:
    """Whether the polygon's vertices turn the same way at every corner (in either direction)."""
    d = np.roll(p, -1, axis=0) - p
    cross = d[:, 0] * np.roll(d, -1, axis=0)[:, 1] - d[:, 1] * np.roll(d, -1, axis=0)[:, 0]
    return bool((cross > 0).all() or (cross < 0).all())


def _signed_area(p: np.ndarray) -> float:
    x, y = p[:, 0], p[:, 1]
    return float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2


# -------------------------------------------------------------------------------------- the nominal colours


@cache
def _nominal_rgb(name: str) -> np.ndarray:
    """The chart's reference Lab (D50) as display sRGB in [0, 1] (Bradford-adapted to D65), read-only."""
    import colour

    lab = reference_lab(name)
    d50 = colour.CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]["D50"]
    xyz = colour.Lab_to_XYZ(lab, d50)
    rgb = colour.XYZ_to_sRGB(xyz, d50, chromatic_adaptation_transform="Bradford")
    out = np.clip(np.asarray(rgb, dtype=np.float64), 0.0, 1.0)
    out.setflags(write=False)
    return out


class _ColourSampler:
    """Box means of an image (numba: only the boxes' pixels are read)."""

    def __init__(self, rgb: np.ndarray):
        self.rgb = np.ascontiguousarray(rgb, dtype=np.float32)
        self.height, self.width = rgb.shape[:2]

    def means(self, centres: np.ndarray, radius: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean colour in a box of half-side ``radius`` around each centre; and whether the box lies inside."""
        from llvscan.imaging.qa._detect_kernels import box_means

        r = np.maximum(np.asarray(radius, dtype=np.float64), 0.5)
        finite = np.isfinite(centres).all(axis=1) & np.isfinite(r)
        c = np.where(finite[:, None], centres, -1e6)
        r = np.where(finite, r, 0.5)
        x0 = np.floor(np.clip(c[:, 0] - r, -1e6, 1e9)).astype(np.int64)
        x1 = np.ceil(np.clip(c[:, 0] + r, -1e6, 1e9)).astype(np.int64)
        y0 = np.floor(np.clip(c[:, 1] - r, -1e6, 1e9)).astype(np.int64)
        y1 = np.ceil(np.clip(c[:, 1] + r, -1e6, 1e9)).astype(np.int64)
        inside = finite & (x0 >= 0) & (y0 >= 0) & (x1 <= self.width) & (y1 <= self.height)
        boxes = np.stack([x0, y0, x1, y1], axis=1)
        boxes[~inside] = 0  # not measured: a one-pixel box, ignored by the callers
        return box_means(self.rgb, boxes), inside


def _colour_fit(measured: np.ndarray, nominal: np.ndarray) -> tuple[float, float]:
    """(RMS residual, R²) of the nominal colours predicted from the measured ones by a per-channel gain and
    offset (a positive gain: a cast or an exposure change, never an inversion)."""
    residual = 0.0
    total = 0.0
    for c in range(3):
        m, n = measured[:, c], nominal[:, c]
        dm, dn = m - m.mean(), n - n.mean()
        var = float(np.dot(dm, dm))
        gain = float(np.dot(dm, dn)) / var if var > 1e-12 else 0.0
        gain = max(gain, 0.0)
        residual += float(((dn - gain * dm) ** 2).sum())
        total += float(np.dot(dn, dn))
    rms = math.sqrt(residual / measured.size)
    return rms, (1.0 - residual / total) if total > 0 else 0.0


# ----------------------------------------------------------------------------------------- the manual path


def _order_clockwise(points: np.ndarray) -> np.ndarray:
    """The 4 points in clockwise order on screen (y down), starting from the one nearest the top-left."""
    c = points.mean(axis=0)
    angle = np.arctan2(points[:, 1] - c[1], points[:, 0] - c[0])
    ordered = points[np.argsort(angle)]  # increasing angle with y down: clockwise on screen
    start = int(np.argmin(ordered.sum(axis=1)))
    return np.roll(ordered, -start, axis=0)


def _locate_manual(rgb: np.ndarray, k: int, spec: ChartSpec, corners: Sequence[_Point], corner_order: str,
                   corners_of: str, sample_fraction: float) -> ChartLocation:
    """The location from four corners given in the full image's pixels; ``rgb`` is that image reduced k times
    (the result is in its pixels)."""
    try:
        pts = np.asarray(corners, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"corners must be four (x, y) points, not {corners!r}") from None
    if pts.shape != (4, 2) or not np.isfinite(pts).all():
        raise InvalidParameterError(f"corners must be four finite (x, y) points, not {pts.tolist()}")
    given = pts.tolist()
    pts = pts / k
    ring = _order_clockwise(pts)
    if _polygon_area(ring) * k * k < 16.0 or not _is_convex(ring):
        raise InvalidParameterError(f"corners {given} do not form a convex quadrilateral")
    if corner_order == "chart" and not _is_convex(pts):
        raise InvalidParameterError(f"corners {given} are not in order around the chart (top-left, "
                                    f"top-right, bottom-right, bottom-left); pass corner_order='any'")
    reference = np.asarray(spec.outline_mm() if corners_of == "chart" else spec.grid_outline_mm(), dtype=np.float64)
    if corner_order == "chart":
        candidates = [pts]
    else:
        candidates = [np.roll(ring, -k, axis=0) for k in range(4)]
        candidates += [np.roll(ring[::-1], -k, axis=0) for k in range(4)]  # mirror images
    sampler = _ColourSampler(rgb)
    nominal = _nominal_rgb(spec.name)
    scored = []
    for image_corners in candidates:
        h = _fit_homography(reference, image_corners)
        if h is None:
            raise InvalidParameterError(f"corners {given} do not span a quadrilateral")
        rms, r2 = _score_placement(h, spec, sampler, nominal)
        scored.append((rms, r2, h))
    order = sorted(range(len(scored)), key=lambda k: scored[k][0])
    best = scored[order[0]] if corner_order == "any" else scored[0]
    alternatives = _all_symmetric_errors(best[2], spec, sampler, nominal)
    confidence = _confidence(best[0], alternatives)
    return _build_location(spec, best[2], "manual", sample_fraction, best[0], best[1], confidence, 0)


def _all_symmetric_errors(h: np.ndarray, spec: ChartSpec, sampler: _ColourSampler, nominal: np.ndarray) -> list[float]:
    """The colour errors of the chart's other placements on the same patch positions (the grid's symmetries)."""
    errors = []
    for sym in _grid_symmetries(spec)[1:]:
        hs = h @ sym
        errors.append(_score_placement(hs, spec, sampler, nominal)[0])
    return errors


def _grid_symmetries(spec: ChartSpec) -> list[np.ndarray]:
    """mm → mm maps that permute the patch centres: identity, 180° turn, the two mirrors (and for a square
    grid the quarter turns, which no ColorChecker has)."""
    cx = spec.first_centre_mm[0] + (spec.columns - 1) * spec.pitch_mm[0] / 2
    cy = spec.first_centre_mm[1] + (spec.rows - 1) * spec.pitch_mm[1] / 2
    out = []
    for sx, sy in ((1, 1), (-1, -1), (-1, 1), (1, -1)):
        out.append(np.array([[sx, 0, cx - sx * cx], [0, sy, cy - sy * cy], [0, 0, 1.0]]))
    return out


def _score_placement(h: np.ndarray, spec: ChartSpec, sampler: _ColourSampler,
                     nominal: np.ndarray) -> tuple[float, float]:
    centres = _apply(h, _centres_mm(spec))
    side = _local_side(h, spec)
    measured, inside = sampler.means(centres, 0.2 * side)
    if inside.sum() < max(4, 0.5 * len(centres)):
        return math.inf, 0.0
    return _colour_fit(measured[inside], nominal[inside])


def _local_side(h: np.ndarray, spec: ChartSpec) -> np.ndarray:
    """Each patch's side in pixels (the square root of its projected area)."""
    c = _centres_mm(spec)
    half = spec.patch_mm / 2
    offsets = np.array([[-half, -half], [half, -half], [half, half], [-half, half]])
    img = [_apply(h, c + k) for k in offsets]
    x = np.stack([p[:, 0] for p in img], axis=1)
    y = np.stack([p[:, 1] for p in img], axis=1)
    area = np.abs((x * np.roll(y, -1, axis=1) - y * np.roll(x, -1, axis=1)).sum(axis=1)) / 2
    return np.sqrt(area)


def _confidence(best: float, others: Sequence[float]) -> float:
    finite = [e for e in others if math.isfinite(e)]
    if not finite or not math.isfinite(best):
        return 0.0
    second = min(finite)
    if second <= 0:
        return 0.0
    return float(min(1.0, max(0.0, 1.0 - best / second)))


def _build_location(spec: ChartSpec, h: np.ndarray, method: Literal["automatic", "manual"],
                    sample_fraction: float, rms: float, r2: float, confidence: float,
                    found: int) -> ChartLocation:
    centres_mm = _centres_mm(spec)
    half = sample_fraction * spec.patch_mm / 2
    patches = []
    for pid, (cx, cy) in zip(spec.patch_ids, centres_mm, strict=True):
        square = np.array([[cx - half, cy - half], [cx + half, cy - half], [cx + half, cy + half],
                           [cx - half, cy + half]])
        poly = _apply(h, square)
        centre = _apply(h, np.array([[cx, cy]]))[0]
        patches.append(PatchSample(pid, (float(centre[0]), float(centre[1])),
                                   tuple((float(x), float(y)) for x, y in poly),  # type: ignore[arg-type]
                                   _polygon_area(poly)))
    outline = _apply(h, np.asarray(spec.outline_mm(), dtype=np.float64))
    middle = np.array([[spec.width_mm / 2, spec.height_mm / 2], [spec.width_mm / 2 + 1.0, spec.height_mm / 2],
                       [spec.width_mm / 2, spec.height_mm / 2 + 1.0]])
    m = _apply(h, middle)
    ex, ey = m[1] - m[0], m[2] - m[0]
    rotation = math.degrees(math.atan2(-ex[1], ex[0]))  # counter-clockwise on screen (y grows downwards)
    rotation = rotation + 360.0 if rotation <= -180.0 + 1e-6 else rotation
    mirrored = bool(ex[0] * ey[1] - ex[1] * ey[0] < 0)
    orientation = round(rotation / 90.0) % 4 * 90
    return ChartLocation(
        chart=spec.name, method=method, corners=tuple((float(x), float(y)) for x, y in outline),  # type: ignore[arg-type]
        homography=_as_nested(h), orientation=orientation, rotation_deg=float(rotation), mirrored=mirrored,
        confidence=float(confidence), colour_rms=float(rms), colour_r2=float(r2), patches_found=int(found),
        sample_fraction=float(sample_fraction), patches=tuple(patches))


# -------------------------------------------------------------------------------------- the automatic path


def _gradient(rgb: np.ndarray) -> np.ndarray:
    """The largest central difference over channels and both axes, of the image blurred by [1 2 1]/4."""
    from llvscan.imaging.qa._detect_kernels import gradient_max

    return gradient_max(np.ascontiguousarray(rgb, dtype=np.float32))


@dataclass
class _Candidates:
    centres: np.ndarray  # (n, 2) pixel coordinates of the detection image
    sides: np.ndarray  # (n,) sqrt(area)


def _candidates(rgb: np.ndarray, threshold_scale: float) -> tuple[_Candidates, int]:
    from llvscan.imaging.qa._detect_kernels import region_moments

    grad = _gradient(rgb)
    step = max(1, round(math.sqrt(grad.size / 250_000)))  # statistics from about 250 000 pixels
    sub = rgb[::step, ::step]
    bright = float(np.percentile(np.maximum(np.maximum(sub[:, :, 0], sub[:, :, 1]), sub[:, :, 2]), 99.0))
    contrast = max(bright, 0.05)
    level = max(0.04 * contrast, 3.0 * float(np.median(grad[::step, ::step]))) * threshold_scale
    flat = np.ascontiguousarray(grad < level, dtype=np.uint8)
    height, width = flat.shape
    stats = region_moments(flat)
    n, sx, sy, sxx, syy, sxy = stats.T
    ok = (n >= _MIN_REGION_PX) & (n <= 0.06 * height * width)
    n, sx, sy, sxx, syy, sxy = n[ok], sx[ok], sy[ok], sxx[ok], syy[ok], sxy[ok]
    mx, my = sx / n, sy / n
    cxx = sxx / n - mx * mx + 1 / 12  # + the spread of a pixel itself
    cyy = syy / n - my * my + 1 / 12
    cxy = sxy / n - mx * my
    det = np.maximum(cxx * cyy - cxy * cxy, 1e-12)
    tr = cxx + cyy
    disc = np.sqrt(np.maximum(tr * tr / 4 - det, 0))
    l1, l2 = tr / 2 + disc, np.maximum(tr / 2 - disc, 1e-12)
    elongation = np.sqrt(l1 / l2)
    squareness = n / (12 * np.sqrt(det))  # 1 for any parallelogram, 0.95 for an ellipse, less for others
    good = (elongation < 1.8) & (squareness > 0.85) & (squareness < 1.12)
    return _Candidates(np.c_[mx[good], my[good]], np.sqrt(n[good])), int(good.sum())


@dataclass
class _Lattice:
    h: np.ndarray  # lattice (i, j) → detection-image pixels
    cells: np.ndarray  # (m, 2) int lattice coordinates of the inliers
    members: np.ndarray  # (m,) candidate indices


def _grow_lattice(cand: _Candidates, seed: int, cap: int, reach: float) -> _Lattice | None:
    """The lattice of similar candidates around ``seed``: start from its nearest neighbours, give candidates
    ever farther away (up to ``reach`` lattice steps) integer coordinates, refit the lattice → image
    homography each time. Stops growing past ``cap`` members."""
    p, s = cand.centres, cand.sides
    c = p[seed]
    spread = 1.28 + 2.0 / s[seed]  # sizes of small regions vary more: a pixel more or less on each side
    similar = (s > s[seed] / spread) & (s < spread * s[seed])
    d = np.hypot(p[:, 0] - c[0], p[:, 1] - c[1])
    near = similar & (d > 1.0 * s[seed]) & (d < 2.6 * s[seed])
    near[seed] = False
    if not near.any():
        return None
    first = int(np.argmin(np.where(near, d, np.inf)))
    u = p[first] - c
    lu = float(np.hypot(*u))
    rel = p - c
    cosine = np.abs(rel @ u) / (np.maximum(d, 1e-9) * lu)
    across = near & (cosine < 0.4) & (d > 0.7 * lu) & (d < 1.45 * lu)
    v = p[int(np.argmin(np.where(across, d, np.inf)))] - c if across.any() else np.array([-u[1], u[0]])
    if abs(u[0] * v[1] - u[1] * v[0]) < 0.5 * lu * lu:
        return None
    h = np.array([[u[0], v[0], c[0]], [u[1], v[1], c[1]], [0.0, 0.0, 1.0]])
    cells = np.zeros((1, 2), np.int64)
    members = np.array([seed])
    for radius in [r for r in (1.6, 3.2, 6.0, 12.0, 24.0) if r < reach] + [reach]:
        side = float(np.median(s[members]))
        spread = 1.28 + 2.0 / side
        pool = np.nonzero((d < radius * lu) & (s > side / spread) & (s < spread * side))[0]
        if len(pool) == 0:
            break
        try:
            q = _apply(np.linalg.inv(h), p[pool])
        except np.linalg.LinAlgError:
            return None
        r = np.rint(q)
        res = np.abs(q - r).max(axis=1)
        tolerance = 0.3 if radius < 6.0 else 0.22 if radius < 12.0 else 0.15  # tighter once the fit is good
        ok = (res < tolerance) & (np.abs(r) < 1e6).all(axis=1)
        pool, r, res = pool[ok], r[ok].astype(np.int64), res[ok]
        # one candidate per cell: the one nearest the lattice point
        order = np.argsort(res)
        keys = r[order, 0] * 4_000_003 + r[order, 1]
        _, first_of = np.unique(keys, return_index=True)
        pick = order[first_of]
        cells, members = r[pick], pool[pick]
        ni = len(np.unique(cells[:, 0]))
        nj = len(np.unique(cells[:, 1]))
        fitted = None
        if len(members) >= 8 and ni >= 3 and nj >= 3:
            fitted = _fit_homography(cells.astype(np.float64), p[members])
        if fitted is None and len(members) >= 3 and ni >= 2 and nj >= 2:
            fitted = _fit_affine(cells.astype(np.float64), p[members])
        if fitted is not None:
            h = fitted
        if len(members) > cap:
            break
    return _Lattice(h, cells, members)


def _find_lattices(cand: _Candidates, spec: ChartSpec, need: int, cap: int,
                   reach: float) -> list[tuple[_Lattice, list[tuple[int, int, int, int, int]]]]:
    """Lattices with at least ``need`` candidates inside the chart's rows × columns window, each with its
    windows (see ``_windows``); no two sharing more than half their candidates."""
    n = len(cand.sides)
    if n < 3:
        return []
    # Seeds: only candidates whose size at least ``need`` others share (as a chart's patches do); the sizes
    # taken in turn (the largest of each size, then the second largest…), so a repeating pattern of another
    # size cannot use up the seeds; at most _MAX_SEEDS lattices grown.
    bins = np.floor(np.log(cand.sides) / 0.15).astype(np.int64)
    bins -= bins.min()
    population = np.bincount(bins)
    shared = population[bins] + np.r_[population, 0][bins + 1] + np.r_[0, population][bins]
    by_size = np.lexsort((-cand.sides, bins))
    rank = np.empty(n, np.int64)
    starts = np.r_[0, np.cumsum(population)[:-1]]
    rank[by_size] = np.arange(n) - starts[bins[by_size]]
    order = [int(k) for k in np.lexsort((-shared, rank)) if shared[k] >= need]
    found: list[tuple[_Lattice, list[tuple[int, int, int, int, int]]]] = []
    claimed = np.zeros(n, dtype=bool)
    grown = 0
    for seed in order:
        if claimed[seed]:
            continue
        if grown == _MAX_SEEDS:
            break
        grown += 1
        lattice = _grow_lattice(cand, seed, cap, reach)
        if lattice is None or len(lattice.members) < need:
            continue
        windows = _windows(lattice, spec)
        top = windows[0][0]
        if top >= 0.67 * len(lattice.members):
            # a lattice mostly inside one chart-sized window: its members need not seed lattices of their own
            # (one that strays over clutter may hold a chart's patches without being the chart's lattice)
            claimed[lattice.members] = True
        if top < need:
            continue
        twin = next((k for k, (other, _) in enumerate(found)
                     if len(np.intersect1d(lattice.members, other.members)) > len(lattice.members) // 2), None)
        if twin is None:
            found.append((lattice, windows))
        elif top > found[twin][1][0][0]:
            found[twin] = (lattice, windows)
    return found


def _windows(lattice: _Lattice, spec: ChartSpec) -> list[tuple[int, int, int, int, int]]:
    """The placements of the chart's columns × rows window (either way round) on the lattice that cover the
    most found cells, or at least 80 % as many: (cells covered, width, height, i0, j0), most covered first."""
    cells = lattice.cells
    i_min, j_min = cells.min(axis=0)
    i_max, j_max = cells.max(axis=0)
    counts_by_shape = []
    for a, b in ((spec.columns, spec.rows), (spec.rows, spec.columns)):
        # occupancy on [i_min − a + 1, i_max] × [j_min − b + 1, j_max], then window sums from a summed table
        wi, wj = int(i_max - i_min + a), int(j_max - j_min + b)
        occupied = np.zeros((wi + a, wj + b), np.int64)
        occupied[cells[:, 0] - i_min + a - 1, cells[:, 1] - j_min + b - 1] = 1
        table = np.zeros((wi + a + 1, wj + b + 1), np.int64)
        table[1:, 1:] = occupied.cumsum(axis=0).cumsum(axis=1)
        counts = table[a:wi + a, b:wj + b] - table[:wi, b:wj + b] - table[a:wi + a, :wj] + table[:wi, :wj]
        counts_by_shape.append((a, b, counts))
    top = max(int(c.max()) for _, _, c in counts_by_shape)
    out: list[tuple[int, int, int, int, int]] = []
    for a, b, counts in counts_by_shape:
        xs, ys = np.nonzero(counts >= 0.8 * top)
        out.extend((int(counts[x, y]), a, b, int(x + i_min - a + 1), int(y + j_min - b + 1))
                   for x, y in zip(xs[:_MAX_WINDOWS + 1], ys[:_MAX_WINDOWS + 1], strict=True))
    out.sort(key=lambda w: -w[0])
    return out  # more than _MAX_WINDOWS of them: a regular pattern (the list is then cut short)


def _placements(windows: Sequence[tuple[int, int, int, int, int]], spec: ChartSpec) -> list[np.ndarray]:
    """Integer maps (column, row) → lattice (i, j), as 3×3 matrices, that put the chart's grid on the given
    windows, in each of the grid's 4 symmetric placements."""
    maps = []
    for _count, a, b, i0, j0 in windows:
        if a == spec.columns:  # the chart's columns along the lattice's i axis
            forms = [((1, 0), (0, 1), (0, 0)), ((-1, 0), (0, -1), (a - 1, b - 1)),
                     ((-1, 0), (0, 1), (a - 1, 0)), ((1, 0), (0, -1), (0, b - 1))]
        else:  # the chart's columns along the lattice's j axis
            forms = [((0, 1), (1, 0), (0, 0)), ((0, -1), (-1, 0), (a - 1, b - 1)),
                     ((0, -1), (1, 0), (a - 1, 0)), ((0, 1), (-1, 0), (0, b - 1))]
        for (ic, ir), (jc, jr), (ti, tj) in forms:
            maps.append(np.array([[ic, ir, i0 + ti], [jc, jr, j0 + tj], [0, 0, 1]], dtype=np.float64))
    return maps


def _mm_to_grid(spec: ChartSpec) -> np.ndarray:
    """mm → (column, row) of the chart's patch grid."""
    fx, fy = spec.first_centre_mm
    px, py = spec.pitch_mm
    return np.array([[1 / px, 0, -fx / px], [0, 1 / py, -fy / py], [0, 0, 1.0]])


def _refine(h: np.ndarray, spec: ChartSpec, cand: _Candidates, shape: tuple[int, ...]) -> tuple[np.ndarray, int]:
    """The homography refitted to the square regions found within a quarter pitch of each patch's predicted
    centre (and of about its size), leaving out patches the image's edge cuts; and how many there are."""
    centres_mm = _centres_mm(spec)
    predicted = _apply(h, centres_mm)
    side = _local_side(h, spec)
    reach = 0.75 * side  # beyond half the diagonal of a patch
    whole = ((predicted[:, 0] > reach) & (predicted[:, 1] > reach) & (predicted[:, 0] < shape[1] - reach)
             & (predicted[:, 1] < shape[0] - reach))
    pitch = side * max(spec.pitch_mm) / spec.patch_mm
    d = np.hypot(predicted[:, None, 0] - cand.centres[None, :, 0], predicted[:, None, 1] - cand.centres[None, :, 1])
    nearest = np.argmin(d, axis=1) if len(cand.sides) else np.zeros(len(predicted), np.int64)
    if not len(cand.sides):
        return h, 0
    close = d[np.arange(len(predicted)), nearest] < 0.25 * pitch
    close &= (cand.sides[nearest] < 1.2 * side) & whole
    if close.sum() < 6:
        return h, int(close.sum())
    refined = _fit_homography(centres_mm[close], cand.centres[nearest[close]])
    return (refined if refined is not None else h), int(close.sum())


def _locate_automatic(rgb: np.ndarray, spec: ChartSpec, sample_fraction: float) -> ChartLocation:
    n_patches = spec.rows * spec.columns
    need = max(8, math.ceil(0.35 * n_patches))
    cap = 4 * n_patches  # a lattice stops growing there: the chart and whatever lines up with it by chance
    reach = 1.5 * max(spec.rows, spec.columns)  # …or this many steps from its seed: the chart from any patch
    nominal = _nominal_rgb(spec.name)
    sampler = _ColourSampler(rgb)
    grid_of_mm = _mm_to_grid(spec)
    reasons = []
    for threshold_scale in (1.0, 0.6, 1.6):
        cand, n_cand = _candidates(rgb, threshold_scale)
        if n_cand == 0:
            reasons.append("no flat square regions at all")
            continue
        lattices = _find_lattices(cand, spec, need, cap, reach)
        log.debug("chart search (threshold ×%.1f): %d square regions, lattices of %s", threshold_scale, n_cand,
                  [len(lat.members) for lat, _ in lattices])
        if not lattices:
            reasons.append(f"{n_cand} flat square regions, fewer than {need} of them on one grid in the chart's "
                           f"{spec.rows} × {spec.columns} layout")
            continue
        # each lattice's best windows: the chart's grid where it covers the most cells found (or nearly)
        candidates = []
        patterns = 0
        for index, (lattice, windows) in enumerate(lattices):
            top = windows[0][0]
            near_top = windows  # those within 80 % of the best
            if len(near_top) > _MAX_WINDOWS:  # many equally good places: a regular pattern, not one chart
                patterns += 1
                continue
            candidates.append((top, -len(lattice.members), index, near_top))
        if not candidates:
            reasons.append(f"{n_cand} flat square regions on {len(lattices)} grids, all of them regular patterns "
                           "larger than the chart (another target? a tiled surface?)")
            continue
        candidates.sort(reverse=True)
        scored = []
        for _top, _size, index, near_top in candidates[:_MAX_LATTICES]:
            for t in _placements(near_top, spec):
                h = lattices[index][0].h @ t @ grid_of_mm
                rms, r2 = _score_placement(h, spec, sampler, nominal)
                if math.isfinite(rms):
                    scored.append((rms, r2, h, t, index))
        if not scored:
            reasons.append(f"a grid of {len(lattices[candidates[0][2]][0].members)} squares, but the chart would lie "
                           "outside the image")
            continue
        scored.sort(key=lambda x: x[0])
        rms, r2, h, t, index = scored[0]
        lattice = lattices[index][0]
        found = len(lattice.members)
        if r2 < _MIN_FIT_R2:
            reasons.append(f"a grid of {found} squares whose colours do not match the chart's "
                           f"(they explain {max(r2, 0.0):.0%} of the nominal colours' variance, "
                           f"{_MIN_FIT_R2:.0%} needed)")
            continue
        # refine: the chart's mm → the centroids of the square regions nearest the patch centres (from any
        # lattice: the lattice chosen may hold only some of them), twice
        h, matched = _refine(h, spec, cand, rgb.shape)
        h, matched = _refine(h, spec, cand, rgb.shape)
        rms, r2 = _score_placement(h, spec, sampler, nominal)
        # the next best placement elsewhere (the same placement found on another lattice does not count)
        chosen = _apply(scored[0][2], _centres_mm(spec))
        tolerance = 0.3 * float(np.median(_local_side(scored[0][2], spec)))
        others = [x[0] for x in scored[1:]
                  if np.hypot(*(_apply(x[2], _centres_mm(spec)) - chosen).T).max() > tolerance]
        confidence = _confidence(rms, others)
        log.info("%s found: %d patches segmented, colour RMS %.3f, confidence %.2f", spec.title, matched, rms,
                 confidence)
        return _build_location(spec, h, "automatic", sample_fraction, rms, r2, confidence, matched)
    raise ChartNotFoundError(f"no {spec.title} found ({n_patches} patches in {spec.rows} rows × {spec.columns} "
                             f"columns): {reasons[0] if reasons else 'nothing resembling a patch'}")
