"""Grading a capture session's target image to a digitisation standard, end to end.

``grade_target`` finds the target (a ColorChecker Classic or Digital SG, or slanted edges), measures it
in the image's own colour space converted through its ICC profile to L*a*b* (D50), and grades every metric
against FADGI 2023, Metamorfoze 2.0 or ISO 19264-1. A 100-megapixel master is never converted whole: the
chart is found on a small copy, then each patch and each edge is read from the master at full resolution,
one crop at a time (memory stays at a few crops).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llvscan._constants import DEFAULT_PIXEL_LIMIT, QA_TARGETS
from llvscan._report import Finding, HasFindings
from llvscan.errors import ImageReadError, InvalidParameterError, vips_error_text

if TYPE_CHECKING:
    import numpy as np

    from llvscan.imaging.qa.colorimetry import ColourManagement, ColourMetrics
    from llvscan.imaging.qa.detect import ChartLocation
    from llvscan.imaging.qa.sfr import EdgeSFR
    from llvscan.imaging.qa.standards import StandardGrade

__all__ = ["DETECTION_SIZE", "EDGE_ROI", "ROW_CROP_PIXELS", "TARGETS", "TargetReport", "grade_target", "parse_corners"]

log = logging.getLogger(__name__)

#: What ``grade_target`` can grade. ``auto`` looks for a ColorChecker SG, then a Classic, and only when
#: neither is there for slanted edges (a chart's own patch edges, or the scene around it, are not a
#: sharpness target): a session's chart and its edge target are usually two images.
TARGETS = QA_TARGETS
_CHARTS = ("colorchecker-sg", "colorchecker-classic")

#: The long side (px) of the copy the target is searched in; coordinates are scaled back to the master.
DETECTION_SIZE = 1600
#: The longest a slanted edge's region of interest gets along the edge, in master pixels.
EDGE_ROI = 600


@dataclass(frozen=True)
class TargetReport(HasFindings):
    """A target image's measurements and grade. ``level`` is the standard's level the whole image reaches
    (the lowest any measured metric reaches), None when a metric fails every level or nothing was measured;
    ``passed`` says it reached ``required_level`` (or any level, when none is required)."""

    path: str
    target: str  # what was graded: colorchecker-classic | colorchecker-sg | slanted-edge
    standard: str
    width: int
    height: int
    colour: ColourManagement | None
    reference: str | None  # the reference values' origin: "published: <dataset>" or the file given
    chart: ChartLocation | None
    colour_metrics: ColourMetrics | None
    edges: list[EdgeSFR]
    nominal_ppi: float | None  # from the file's header
    metrics: dict[str, float | None]  # every metric, by the names the standards use
    grade: StandardGrade | None
    level: str | None
    required_level: str | None
    passed: bool
    overlay: str | None = None
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0


def _open(path: Path, pixel_limit: int) -> Any:
    import pyvips

    from llvscan.imaging.tiles import read_header

    read_header(path, pixel_limit=pixel_limit)  # exists, readable, within the pixel limit
    try:
        return pyvips.Image.new_from_file(str(path), fail_on="error")
    except pyvips.Error as exc:
        raise ImageReadError("not a readable image", path=path, detail=vips_error_text(exc)) from exc


def _small_copy(image: Any, size: int) -> tuple[np.ndarray, float]:
    """An 8-bit sRGB copy whose long side is at most ``size``, and the master-pixels-per-copy-pixel factor."""
    import numpy as np

    factor = max(1.0, max(image.width, image.height) / size)
    small = image.resize(1.0 / factor, kernel="linear") if factor > 1.0 else image
    small = _to_srgb8(small)
    array = np.ndarray(buffer=small.write_to_memory(), dtype=np.uint8, shape=(small.height, small.width, 3))
    return array, image.width / small.width


def _to_srgb8(image: Any) -> Any:
    import pyvips

    if image.hasalpha():
        image = image.flatten(background=255 if image.format == "uchar" else 65535)
    if image.get_typeof("icc-profile-data"):
        try:
            image = image.icc_transform("srgb", embedded=True, intent="relative")
        except pyvips.Error:  # a broken profile: the detector only needs rough colours (to_lab refuses it)
            log.debug("icc_transform failed for the detection copy", exc_info=True)
    image = image.colourspace("srgb")
    if image.bands > 3:
        image = image.extract_band(0, n=3)
    return image.cast("uchar")


def parse_corners(text: str, *, source: str = "corners") -> list[tuple[float, float]]:
    """Four corners written "x,y x,y x,y x,y" (a command line, a sidecar cell), checked."""
    try:
        points = [tuple(float(v) for v in pair.split(",")) for pair in text.replace(";", " ").split()]
    except ValueError:
        points = []
    if len(points) != 4 or any(len(p) != 2 or not all(math.isfinite(v) for v in p) for p in points):
        raise InvalidParameterError(f"{source} {text!r}: give the chart's four corners as 'x,y x,y x,y x,y' "
                                    "(top-left, top-right, bottom-right, bottom-left, in pixels)")
    return [(p[0], p[1]) for p in points]


def _parse_corners(corners: Sequence[Sequence[float]] | None) -> list[tuple[float, float]] | None:
    if corners is None:
        return None
    points = [tuple(float(v) for v in point) for point in corners]
    if len(points) != 4 or any(len(p) != 2 or not all(math.isfinite(v) for v in p) for p in points):
        raise InvalidParameterError(f"corners must be four (x, y) points, not {corners!r}")
    return [(p[0], p[1]) for p in points]


#: A row of patches is converted to L*a*b* in one crop when the crop holds at most this many pixels
#: (12 bytes each as float L*a*b*); a bigger one (a huge or steeply turned chart) goes patch by patch.
ROW_CROP_PIXELS = 16_000_000


def _patch_lab(image: Any, location: ChartLocation, columns: int,
               path: Path) -> tuple[list[np.ndarray], ColourManagement]:
    """Each patch's sampled pixels as L*a*b* (D50), read from the master a row of patches at a time (one
    colour transform per row rather than per patch), never the whole chart at once."""
    import numpy as np

    from llvscan.imaging.qa.colorimetry import to_lab
    from llvscan.imaging.qa.detect import patch_bounds, patch_pixels

    samples: list[np.ndarray] = [np.empty((0, 3), dtype=np.float32)] * len(location.patches)
    management = None

    def read(indices: list[int]) -> None:
        nonlocal management
        bounds = [patch_bounds(location, i, margin=2) for i in indices]
        x0, y0 = max(0, min(b[0] for b in bounds)), max(0, min(b[1] for b in bounds))
        x1, y1 = min(image.width, max(b[2] for b in bounds)), min(image.height, max(b[3] for b in bounds))
        if x1 <= x0 or y1 <= y0:
            return  # outside the frame: no pixels, the patch is reported unmeasured
        lab, management = to_lab(image.crop(x0, y0, x1 - x0, y1 - y0), path=str(path))
        array = np.ndarray(buffer=lab.write_to_memory(), dtype=np.float32, shape=(lab.height, lab.width, 3))
        for index, pixels in zip(indices, patch_pixels(array, location, origin=(x0, y0), patches=indices),
                                 strict=True):
            samples[index] = pixels

    for start in range(0, len(location.patches), columns):
        row = list(range(start, min(start + columns, len(location.patches))))
        bounds = [patch_bounds(location, i, margin=2) for i in row]
        area = (max(b[2] for b in bounds) - min(b[0] for b in bounds)) * (max(b[3] for b in bounds)
                                                                          - min(b[1] for b in bounds))
        if area <= ROW_CROP_PIXELS:
            read(row)
        else:
            for index in row:
                read([index])
    if management is None:
        _, management = to_lab(image.crop(0, 0, 1, 1), path=str(path))
    return samples, management


def _edges(image: Any, small: np.ndarray, factor: float) -> list[EdgeSFR]:
    """Slanted edges found in the small copy, measured in the master at full resolution, in linear light:
    each channel through the image's profile (edges on targets are neutral, so the luminance weights do not
    change the result), which also gives the channels' misregistration."""
    import numpy as np

    from llvscan.imaging.qa.colorimetry import to_linear_rgb, to_luminance
    from llvscan.imaging.qa.sfr import find_slanted_edges, scale_roi, slanted_edge_sfr

    # ROIs of at most ~EDGE_ROI master pixels along the edge: enough rows, and a crop that stays small
    longest = max(EDGE_ROI / factor, 48.0)
    results = []
    for roi in find_slanted_edges(small, max_size=round(longest)):
        x, y, w, h = scale_roi(roi, factor, shape=(image.height, image.width))
        crop = image.crop(x, y, w, h)
        linear = to_linear_rgb(crop) if crop.bands >= 3 else to_luminance(crop)
        array = np.ndarray(buffer=linear.write_to_memory(), dtype=np.float32,
                           shape=(linear.height, linear.width, linear.bands))
        results.append(slanted_edge_sfr(array if array.shape[2] > 1 else array[..., 0]).placed((x, y, w, h)))
    return results


def _resolution(location: ChartLocation, spec: Any) -> float | None:
    """Pixels per inch along the chart, from the distance between the first and last patch centres."""
    first, last_in_row = location.patches[0].centre, location.patches[spec.columns - 1].centre
    last_in_column = location.patches[(spec.rows - 1) * spec.columns].centre
    along_x = math.dist(first, last_in_row) / ((spec.columns - 1) * spec.pitch_mm[0] / 25.4)
    along_y = math.dist(first, last_in_column) / ((spec.rows - 1) * spec.pitch_mm[1] / 25.4)
    return (along_x + along_y) / 2


def _locate(small: np.ndarray, target: str, corners: list[tuple[float, float]] | None,
            factor: float) -> ChartLocation:
    from llvscan.errors import ChartNotFoundError
    from llvscan.imaging.qa.detect import locate_chart

    scaled = None if corners is None else [(x / factor, y / factor) for x, y in corners]
    if target != "auto":
        return locate_chart(small, target, corners=scaled).scaled(factor)
    failures = []
    for chart in _CHARTS:
        try:
            return locate_chart(small, chart, corners=scaled).scaled(factor)
        except ChartNotFoundError as exc:
            failures.append(exc.message)
    raise ChartNotFoundError("; ".join(failures))


def grade_target(
    path: str | Path,
    *,
    target: str = "auto",
    standard: str = "fadgi-2023",
    required_level: str | None = None,
    reference: str | Path | None = None,
    corners: Sequence[Sequence[float]] | None = None,
    overlay: str | Path | None = None,
    pixel_limit: int = DEFAULT_PIXEL_LIMIT,
) -> TargetReport:
    """Find the target in the image ``path``, measure it and grade it to ``standard``.

    ``target``: one of ``TARGETS``. ``reference``: a measured reference of this very chart (CGATS or CSV,
    see ``read_reference``) instead of the published values. ``corners``: the chart's four outer corners
    in master pixels (top-left, top-right, bottom-right, bottom-left as the chart reads), skipping the
    search. ``overlay``: a PNG to write with every sampled patch drawn, for a person to check.
    ``required_level``: the level the session must reach to pass (default: any level of the standard).
    An image in which the target cannot be found gives a report with an error finding, not an exception;
    unreadable files, unknown options and bad reference files raise.
    """
    from llvscan.errors import ChartNotFoundError
    from llvscan.imaging.qa.standards import STANDARDS, grade

    start = time.perf_counter()
    path = Path(path)
    if target not in TARGETS:
        raise InvalidParameterError(f"unknown target {target!r}: use one of {', '.join(TARGETS)}")
    if standard not in STANDARDS:
        raise InvalidParameterError(f"unknown standard {standard!r}: use one of {', '.join(STANDARDS)}")
    levels = STANDARDS[standard].levels
    if required_level is not None and required_level not in levels:
        raise InvalidParameterError(f"{standard} has no level {required_level!r}: its levels are "
                                    f"{', '.join(levels)}")
    corner_points = _parse_corners(corners)
    if corner_points is not None and target in ("auto", "slanted-edge"):
        raise InvalidParameterError("corners locate a chart: name the chart with target (colorchecker-classic "
                                    "or colorchecker-sg)")
    if reference is not None and target == "slanted-edge":
        raise InvalidParameterError("a reference file is for a colour chart, not a slanted edge")

    image = _open(path, pixel_limit)
    small, factor = _small_copy(image, DETECTION_SIZE)
    findings: list[Finding] = []
    chart, chart_miss = None, ""
    if target != "slanted-edge":
        try:
            location = _locate(small, target, corner_points, factor)
            chart = _grade_chart(image, location, reference, path)
        except ChartNotFoundError as exc:
            chart_miss = exc.message
    edges: list[EdgeSFR] = []
    if target == "slanted-edge" or (target == "auto" and chart is None):
        edges = _edges(image, small, factor)
        findings += [Finding("warning", "edge_not_measured",
                             f"edge at {e.roi}: " + "; ".join(f.message for f in e.errors))
                     for e in edges if not e.is_valid]
        edges = [e for e in edges if e.is_valid]
    metrics: dict[str, float | None] = {}
    if chart is not None:
        metrics.update(chart.metrics)
        nominal = _nominal_ppi(image)
        ppi = metrics["resolution_ppi"]
        metrics["resolution_error"] = None if nominal is None or ppi is None else (ppi - nominal) / nominal * 100
    if edges:
        metrics.update(_edge_metrics(edges))
    if chart is None and not edges:
        message = {"slanted-edge": "no slanted edge found",
                   "auto": f"no ColorChecker and no slanted edge found ({chart_miss})"}.get(target, chart_miss)
        findings.append(Finding("error", "target_not_found", message))
    from llvscan.imaging.qa.colorimetry import colour_management

    management = chart.management if chart is not None else colour_management(image, path=str(path))
    if management.assumption:
        findings.append(Finding("warning", "no_icc_profile", management.assumption))
    result = grade(standard, metrics) if metrics else None
    level = result.level if result is not None else None
    if result is not None and level is None:
        findings.append(Finding("error", "below_standard", f"below every {standard} level: "
                                + ", ".join(m.metric for m in result.metrics if m.fails)))
    passed = level is not None and (required_level is None or levels.index(level) <= levels.index(required_level))
    if level is not None and not passed:
        findings.append(Finding("error", "below_required_level",
                                f"reaches {standard} {level}, below the required {required_level}"))
    written = None
    if overlay is not None and (chart is not None or edges):
        written = str(_write_overlay(small, factor, chart, edges, Path(overlay)))
    graded = chart.location.chart if chart is not None else "slanted-edge" if edges else target
    return TargetReport(
        path=str(path), target=graded, standard=standard, width=image.width, height=image.height,
        colour=management, reference=None if chart is None else chart.reference,
        chart=None if chart is None else chart.location,
        colour_metrics=None if chart is None else chart.colour_metrics, edges=edges,
        nominal_ppi=_nominal_ppi(image), metrics=metrics, grade=result, level=level, required_level=required_level,
        passed=passed, overlay=written, findings=findings, seconds=time.perf_counter() - start)


@dataclass(frozen=True)
class _Chart:
    location: ChartLocation
    reference: str
    management: ColourManagement
    colour_metrics: ColourMetrics
    metrics: dict[str, float | None]


def _grade_chart(image: Any, location: ChartLocation, reference: str | Path | None, path: Path) -> _Chart:
    from llvscan.imaging.qa.charts import CHARTS, reference_lab
    from llvscan.imaging.qa.colorimetry import measure_patches

    spec = CHARTS[location.chart]
    if reference is None:
        values, origin = reference_lab(location.chart), f"published: {spec.dataset}"
    else:
        from llvscan.imaging.qa.reference import read_reference

        values, origin = read_reference(reference, spec), str(reference)
    samples, management = _patch_lab(image, location, spec.columns, path)
    colour_metrics = measure_patches(samples, values, chart=spec)
    metrics = {**colour_metrics.metrics(), "resolution_ppi": _resolution(location, spec)}
    return _Chart(location, origin, management, colour_metrics, metrics)


def _nominal_ppi(image: Any) -> float | None:
    return image.xres * 25.4 if image.xres > 1.0 else None  # libvips keeps pixels per mm; 1.0 = unset


def _edge_metrics(edges: list[EdgeSFR]) -> dict[str, float | None]:
    """The median over the measured edges of each SFR metric (the worst for misregistration and sharpening)."""
    import statistics

    def values(name: str) -> list[float]:
        return [v for e in edges if (v := e.metrics().get(name)) is not None and math.isfinite(v)]

    out: dict[str, float | None] = {}
    for name in ("mtf50", "mtf10", "sampling_efficiency"):
        found = values(name)
        out[name] = statistics.median(found) if found else None
    for name in ("sharpening", "misregistration"):
        found = values(name)
        out[name] = max(found) if found else None
    return out


def _write_overlay(small: np.ndarray, factor: float, chart: _Chart | None, edges: list[EdgeSFR],
                   overlay: Path) -> Path:
    """The detection copy with every sampled patch (and its ΔE00) and every measured edge (and its MTF50)
    drawn, written atomically as PNG."""
    import io

    from PIL import Image, ImageDraw

    from llvscan._publish import write_bytes_atomic
    from llvscan.imaging.qa.detect import draw_overlay

    drawn = small
    if chart is not None:
        labels = {p.id: f"{p.delta_e:.1f}" for p in chart.colour_metrics.patches}
        drawn = draw_overlay(small, chart.location.scaled(1.0 / factor), labels=labels)
    picture = Image.fromarray(drawn)
    pen = ImageDraw.Draw(picture)
    for edge in edges:
        x, y, w, h = (v / factor for v in edge.roi)
        pen.rectangle([x, y, x + w, y + h], outline=(255, 0, 255), width=2)
        if edge.mtf50 is not None:
            pen.text((x + 3, y + 3), f"MTF50 {edge.mtf50:.3f}", fill=(255, 0, 255))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    overlay.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(overlay, buffer.getvalue())
    return overlay
