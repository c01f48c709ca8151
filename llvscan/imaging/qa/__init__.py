"""Imaging QA: grading capture targets to FADGI 2023, Metamorfoze 2.0 and ISO 19264-1.

``grade_target`` finds a ColorChecker Classic or Digital SG (or slanted edges) in a target image, reads
its patches through the image's ICC profile as L*a*b* (D50), measures colour accuracy (ΔE2000), tone,
white balance, noise, gain modulation, non-uniformity, sharpness (ISO 12233 e-SFR) and true resolution,
and grades every metric to the chosen standard. The parts are usable alone:

- ``charts``: the charts' layouts and published reference values;
- ``detect``: ``locate_chart`` (automatic or from four corners), ``patch_pixels``, ``draw_overlay``;
- ``colorimetry``: ``to_lab`` through the ICC profile, ``delta_e_2000``, ``measure_patches``;
- ``reference``: ``read_reference`` (CGATS, CSV);
- ``sfr``: ``slanted_edge_sfr`` (ISO 12233 e-SFR), ``find_slanted_edges``;
- ``standards``: the three standards' thresholds (with their sources) and ``grade``.

Names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvscan._lazy import lazy_exports

if TYPE_CHECKING:
    from llvscan.imaging.qa.charts import CHARTS, ChartSpec, chart_spec, reference_lab
    from llvscan.imaging.qa.colorimetry import (
        ColourManagement,
        ColourMetrics,
        PatchMeasure,
        colour_management,
        delta_e_2000,
        measure_patches,
        to_lab,
        to_linear_rgb,
        to_luminance,
    )
    from llvscan.imaging.qa.detect import (
        ChartLocation,
        PatchSample,
        draw_overlay,
        locate_chart,
        patch_bounds,
        patch_pixels,
    )
    from llvscan.imaging.qa.grade import TARGETS, TargetReport, grade_target, parse_corners
    from llvscan.imaging.qa.reference import read_reference
    from llvscan.imaging.qa.sfr import ChannelSFR, EdgeSFR, find_slanted_edges, scale_roi, slanted_edge_sfr
    from llvscan.imaging.qa.standards import STANDARDS, Criterion, MetricGrade, Standard, StandardGrade, grade

__all__ = [
    "CHARTS",
    "STANDARDS",
    "TARGETS",
    "ChannelSFR",
    "ChartLocation",
    "ChartSpec",
    "ColourManagement",
    "ColourMetrics",
    "Criterion",
    "EdgeSFR",
    "MetricGrade",
    "PatchMeasure",
    "PatchSample",
    "Standard",
    "StandardGrade",
    "TargetReport",
    "chart_spec",
    "colour_management",
    "delta_e_2000",
    "draw_overlay",
    "find_slanted_edges",
    "grade",
    "grade_target",
    "locate_chart",
    "measure_patches",
    "parse_corners",
    "patch_bounds",
    "patch_pixels",
    "read_reference",
    "reference_lab",
    "scale_roi",
    "slanted_edge_sfr",
    "to_lab",
    "to_linear_rgb",
    "to_luminance",
]

__getattr__, __dir__ = lazy_exports(__name__, {
    **dict.fromkeys(("CHARTS", "ChartSpec", "chart_spec", "reference_lab"), "charts"),
    **dict.fromkeys(("ChartLocation", "PatchSample", "draw_overlay", "locate_chart", "patch_bounds",
                     "patch_pixels"), "detect"),
    **dict.fromkeys(("ColourManagement", "ColourMetrics", "PatchMeasure", "colour_management", "delta_e_2000",
                     "measure_patches", "to_lab", "to_linear_rgb", "to_luminance"), "colorimetry"),
    **dict.fromkeys(("read_reference",), "reference"),
    **dict.fromkeys(("ChannelSFR", "EdgeSFR", "find_slanted_edges", "scale_roi", "slanted_edge_sfr"), "sfr"),
    **dict.fromkeys(("STANDARDS", "Criterion", "MetricGrade", "Standard", "StandardGrade", "grade"), "standards"),
    **dict.fromkeys(("TARGETS", "TargetReport", "grade_target", "parse_corners"), "grade"),
})
