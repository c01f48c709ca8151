"""The test targets llvscan grades: their layout on paper and their published reference values.

A chart is a grid of patches. Patch ids follow the manufacturer's labels in the chart's canonical
orientation (landscape, as printed, label text readable):

- ``colorchecker-classic``: 4 rows × 6 columns, ids are the patch names colour-science uses ("dark skin" …
  "black"), row-major from the top-left; the neutral row is the bottom one.
- ``colorchecker-sg``: 10 rows × 14 columns, ids "A1" … "N10": column letter A–N left to right, row number
  1–10 top to bottom.

Reference values are CIE L*a*b* under D50 (the ICC profile connection space), computed from colour-science's
datasets of X-Rite's published values (editions after November 2014).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from llvscan._json import JsonResult

if TYPE_CHECKING:
    import numpy as np

__all__ = ["CHARTS", "ChartSpec", "chart_spec", "reference_lab"]


@dataclass(frozen=True)
class ChartSpec(JsonResult):
    """A chart's geometry in millimetres, in its canonical orientation (x right, y down from the top-left
    corner of the chart's outer edge)."""

    name: str  # "colorchecker-classic" | "colorchecker-sg"
    title: str  # for people: "X-Rite ColorChecker Classic"
    rows: int
    columns: int
    width_mm: float  # the chart's outer size
    height_mm: float
    first_centre_mm: tuple[float, float]  # the centre of the top-left patch
    pitch_mm: tuple[float, float]  # centre to centre, along a row (x) and down a column (y)
    patch_mm: float  # a patch's side
    dataset: str  # the key in colour.CCS_COLOURCHECKERS
    patch_ids: tuple[str, ...]  # row-major, rows × columns

    def patch_centre_mm(self, index: int) -> tuple[float, float]:
        row, column = divmod(index, self.columns)
        return (self.first_centre_mm[0] + column * self.pitch_mm[0], self.first_centre_mm[1] + row * self.pitch_mm[1])

    def patch_centres_mm(self) -> np.ndarray:
        """Every patch's centre, (rows × columns, 2) float64 in ``patch_ids`` order."""
        import numpy as np

        return np.array([self.patch_centre_mm(i) for i in range(self.rows * self.columns)], dtype=np.float64)

    def outline_mm(self) -> tuple[tuple[float, float], ...]:
        """The chart's outer corners: top-left, top-right, bottom-right, bottom-left."""
        w, h = self.width_mm, self.height_mm
        return ((0.0, 0.0), (w, 0.0), (w, h), (0.0, h))

    def grid_outline_mm(self) -> tuple[tuple[float, float], ...]:
        """The patch area's outer corners (the outer corners of the four corner patches): top-left,
        top-right, bottom-right, bottom-left."""
        half = self.patch_mm / 2
        x0, y0 = self.first_centre_mm[0] - half, self.first_centre_mm[1] - half
        x1 = self.first_centre_mm[0] + (self.columns - 1) * self.pitch_mm[0] + half
        y1 = self.first_centre_mm[1] + (self.rows - 1) * self.pitch_mm[1] + half
        return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))


_CLASSIC_IDS = (
    "dark skin", "light skin", "blue sky", "foliage", "blue flower", "bluish green",
    "orange", "purplish blue", "moderate red", "purple", "yellow green", "orange yellow",
    "blue", "green", "red", "yellow", "magenta", "cyan",
    "white 9.5 (.05 D)", "neutral 8 (.23 D)", "neutral 6.5 (.44 D)", "neutral 5 (.70 D)", "neutral 3.5 (1.05 D)",
    "black 2 (1.5 D)",
)

# Geometry. Sizes are the published outer sizes; the patch grid comes from ArgyllCMS's chart recognition
# templates (ref/ColorChecker.cht and ref/ColorCheckerSG.cht, drawn from scans of the real charts; read in the
# mirror github.com/beku/Argyll-Releases), scaled to millimetres:
# - Classic: 11 × 8.25 in (279.4 × 209.55 mm; McCamy et al. 1976, Wikipedia "ColorChecker"). ColorChecker.cht
#   gives patches 46 units wide on a 52.5-unit pitch with an 11.5–12-unit black border, on a 330-unit-wide
#   chart: 0.8467 mm a unit, so a 44.45 mm (1.75 in) pitch, 38.95 mm patches, a ~9.7 mm border at the top
#   and sides. The remaining ~27.5 mm at the bottom is the label strip. The grid is centred across the width.
# - Digital SG: 8.5 × 11 in (215.9 × 279.4 mm, landscape). ColorCheckerSG.cht is in millimetres: 12.7 mm
#   (0.5 in) patches on a 15.2 mm (0.6 in) pitch; the grid is centred on the card.
# Not measured here on a physical chart: the Classic's bottom strip and the SG's card size (its border is
# assumed even). OpenCV's mcc chart model draws the gaps at 10 % of a patch where Argyll's scans give 14 %;
# detection follows the patches found, not these ratios. The outer border matters only for four corners
# given by hand: where a card's border differs, give the corners of the patch area instead
# (``locate_chart(..., corners_of="patches")``).
CHARTS: dict[str, ChartSpec] = {
    "colorchecker-classic": ChartSpec(
        name="colorchecker-classic", title="X-Rite ColorChecker Classic", rows=4, columns=6,
        width_mm=279.4, height_mm=209.55, first_centre_mm=(28.575, 29.2), pitch_mm=(44.45, 44.45), patch_mm=38.95,
        dataset="ColorChecker24 - After November 2014", patch_ids=_CLASSIC_IDS),
    "colorchecker-sg": ChartSpec(
        name="colorchecker-sg", title="X-Rite ColorChecker Digital SG", rows=10, columns=14,
        width_mm=279.4, height_mm=215.9, first_centre_mm=(40.64, 39.37), pitch_mm=(15.24, 15.24), patch_mm=12.7,
        dataset="ColorCheckerSG - After November 2014",
        patch_ids=tuple(f"{chr(ord('A') + c)}{r + 1}" for r in range(10) for c in range(14))),
}


def chart_spec(name: str) -> ChartSpec:
    from llvscan.errors import InvalidParameterError

    try:
        return CHARTS[name]
    except KeyError:
        raise InvalidParameterError(f"unknown chart {name!r}: use one of {', '.join(CHARTS)}") from None


@cache
def reference_lab(name: str) -> np.ndarray:
    """The chart's published L*a*b* (D50), one row per patch in ``patch_ids`` order (read-only)."""
    import colour
    import numpy as np

    spec = chart_spec(name)
    data = colour.CCS_COLOURCHECKERS[spec.dataset]
    xyy = np.array([data.data[i] for i in spec.patch_ids], dtype=np.float64)
    lab = colour.XYZ_to_Lab(colour.xyY_to_XYZ(xyy), data.illuminant)
    lab.setflags(write=False)
    return lab
