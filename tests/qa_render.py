"""Test-only renderer of ColorChecker charts in a photograph-like scene (numpy + Pillow, no llvscan).

The chart geometry is written here from the physical description of the charts, independently of
``llvscan.imaging.qa.charts``, so tests that compare the two check charts.py's numbers:

- ColorChecker Classic: an 11 × 8.25 in black card; 4 rows × 6 columns of patches on a 1.75 in pitch, each
  patch 46/52.5 of the pitch (ArgyllCMS ref/ColorChecker.cht); the grid centred across the card, its top
  edge 11.5/52.5 of a pitch below the card's top edge; the label strip below the grid.
- ColorChecker Digital SG: an 11 × 8.5 in black card; 10 rows × 14 columns of 0.5 in patches on a 0.6 in
  pitch (ArgyllCMS ref/ColorCheckerSG.cht, in millimetres), the grid centred on the card.

Coordinates are continuous pixel coordinates: pixel (column x, row y) covers [x, x+1) × [y, y+1), its centre is
(x + 0.5, y + 0.5).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["LAYOUTS", "Layout", "chart_homography", "render_chart"]

_INCH = 25.4


@dataclass(frozen=True)
class Layout:
    columns: int
    rows: int
    width: float  # mm
    height: float
    pitch: float
    patch: float
    grid_left: float  # the left edge of the first column of patches, mm from the card's left edge
    grid_top: float

    def centres(self) -> np.ndarray:
        """Patch centres in mm, row-major from the top-left patch."""
        rows, cols = np.mgrid[0:self.rows, 0:self.columns]
        x = self.grid_left + self.patch / 2 + cols.ravel() * self.pitch
        y = self.grid_top + self.patch / 2 + rows.ravel() * self.pitch
        return np.stack([x, y], axis=1).astype(np.float64)


def _classic() -> Layout:
    pitch = 1.75 * _INCH
    patch = pitch * 46.0 / 52.5
    width, height = 11 * _INCH, 8.25 * _INCH
    grid_width = 5 * pitch + patch
    return Layout(6, 4, width, height, pitch, patch, (width - grid_width) / 2, pitch * 11.5 / 52.5)


def _sg() -> Layout:
    pitch, patch = 0.6 * _INCH, 0.5 * _INCH
    width, height = 11 * _INCH, 8.5 * _INCH
    return Layout(14, 10, width, height, pitch, patch, (width - 13 * pitch - patch) / 2,
                  (height - 9 * pitch - patch) / 2)


LAYOUTS: dict[str, Layout] = {"colorchecker-classic": _classic(), "colorchecker-sg": _sg()}


def _homography_from(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 3×3 projective map taking 4 points ``src`` to ``dst`` (solved directly, h33 = 1)."""
    a = np.zeros((8, 8))
    b = np.zeros(8)
    for k, ((x, y), (u, v)) in enumerate(zip(src, dst, strict=True)):
        a[2 * k] = [x, y, 1, 0, 0, 0, -u * x, -u * y]
        a[2 * k + 1] = [0, 0, 0, x, y, 1, -v * x, -v * y]
        b[2 * k], b[2 * k + 1] = u, v
    h = np.linalg.solve(a, b)
    return np.append(h, 1.0).reshape(3, 3)


def _apply(h: np.ndarray, points: np.ndarray) -> np.ndarray:
    p = np.c_[points, np.ones(len(points))] @ h.T
    return p[:, :2] / p[:, 2:3]


def chart_homography(chart: str, *, size: tuple[int, int] = (1200, 800), chart_width_fraction: float = 0.6,
                     rotation_deg: float = 0.0, perspective: float = 0.0, centre: tuple[float, float] | None = None,
                     seed: int = 0) -> np.ndarray:
    """The map from the chart's mm (x right, y down from its top-left corner) to image pixels.

    The chart's width spans ``chart_width_fraction`` of the image width, turned by ``rotation_deg``
    (counter-clockwise on screen), centred at ``centre`` (default: the image centre); ``perspective`` moves one
    corner (chosen by ``seed``) by that fraction of the chart's width, outwards or inwards.
    """
    layout = LAYOUTS[chart]
    width, height = size
    scale = chart_width_fraction * width / layout.width
    cx, cy = centre if centre is not None else (width / 2, height / 2)
    t = np.deg2rad(rotation_deg)
    rot = np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]])  # y down: positive angle turns CCW on screen
    corners_mm = np.array([[0, 0], [layout.width, 0], [layout.width, layout.height], [0, layout.height]], float)
    local = (corners_mm - [layout.width / 2, layout.height / 2]) * scale
    dst = local @ rot.T + [cx, cy]
    if perspective:
        rng = np.random.default_rng(seed)
        k = int(rng.integers(4))
        outward = dst[k] - [cx, cy]
        outward /= np.linalg.norm(outward)
        sign = 1.0 if rng.random() < 0.5 else -1.0
        dst[k] = dst[k] + sign * perspective * layout.width * scale * outward
    return _homography_from(corners_mm, dst)


def _background(kind: str, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    width, height = size
    if kind == "grey":
        return np.full((height, width, 3), 128, np.uint8)
    if kind == "white":
        return np.full((height, width, 3), 235, np.uint8)
    if kind == "noise":
        return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    if kind != "clutter":
        raise ValueError(f"unknown background {kind!r}")
    base = rng.integers(60, 200, 3)
    image = Image.new("RGB", (width, height), tuple(int(v) for v in base))
    draw = ImageDraw.Draw(image)
    scale = min(width, height)
    for _ in range(60):  # rectangles, squares and rotated quadrilaterals of random colours and sizes
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        cx, cy = rng.random() * width, rng.random() * height
        w = scale * (0.02 + 0.2 * rng.random())
        h = w if rng.random() < 0.3 else scale * (0.02 + 0.2 * rng.random())
        t = rng.random() * np.pi
        c, s = np.cos(t), np.sin(t)
        pts = [(cx + c * dx - s * dy, cy + s * dx + c * dy)
               for dx, dy in ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2))]
        draw.polygon(pts, fill=colour)
    for _ in range(15):
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        x0, y0 = rng.random() * width, rng.random() * height
        r = scale * (0.01 + 0.06 * rng.random())
        draw.ellipse([x0 - r, y0 - r, x0 + r, y0 + r], fill=colour)
    return np.asarray(image).copy()


def render_chart(chart: str, patch_rgb: np.ndarray, *, size: tuple[int, int] = (1200, 800),
                 chart_width_fraction: float = 0.6, rotation_deg: float = 0.0, perspective: float = 0.0,
                 centre: tuple[float, float] | None = None, background: str | np.ndarray = "clutter", seed: int = 0,
                 cast: tuple[float, float, float] = (1.0, 1.0, 1.0), noise_sigma: float = 0.0,
                 body_rgb: tuple[int, int, int] = (18, 18, 18), supersample: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """A ``size`` (W, H) RGB uint8 image of the chart (black card, patches of ``patch_rgb`` (N, 3) uint8 in
    row-major order) warped into a background; returns (image, true patch centres (N, 2) in pixels).

    ``background``: "clutter" (random rectangles, squares, discs), "grey", "white", "noise", or an (H, W, 3)
    uint8 image to draw the chart into (e.g. one holding another chart). ``cast`` multiplies the display values
    per channel (a colour cast or an exposure change); ``noise_sigma`` is the standard deviation of added
    Gaussian noise on a 0–1 scale.
    """
    layout = LAYOUTS[chart]
    patch_rgb = np.asarray(patch_rgb, dtype=np.uint8)
    if patch_rgb.shape != (layout.rows * layout.columns, 3):
        raise ValueError(f"patch_rgb must be ({layout.rows * layout.columns}, 3), not {patch_rgb.shape}")
    rng = np.random.default_rng(seed)
    h = chart_homography(chart, size=size, chart_width_fraction=chart_width_fraction, rotation_deg=rotation_deg,
                         perspective=perspective, centre=centre, seed=seed)
    width, height = size
    if isinstance(background, np.ndarray):
        if background.shape != (height, width, 3):
            raise ValueError(f"background image must be ({height}, {width}, 3), not {background.shape}")
        image = background.astype(np.float64)
    else:
        image = _background(background, size, rng).astype(np.float64)

    # Sample the chart at supersample² points a pixel: each point's position on the card, in mm.
    s = supersample
    offsets = (np.arange(s) + 0.5) / s
    ys, xs = np.mgrid[0:height, 0:width]
    inv = np.linalg.inv(h)
    cover = np.zeros((height, width))
    colour = np.zeros((height, width, 3))
    palette = np.vstack([patch_rgb.astype(np.float64), np.array(body_rgb, np.float64)])
    for oy in offsets:
        for ox in offsets:
            px, py = xs + ox, ys + oy
            w = inv[2, 0] * px + inv[2, 1] * py + inv[2, 2]
            u = (inv[0, 0] * px + inv[0, 1] * py + inv[0, 2]) / w
            v = (inv[1, 0] * px + inv[1, 1] * py + inv[1, 2]) / w
            on_card = (u >= 0) & (u < layout.width) & (v >= 0) & (v < layout.height)
            gu, gv = (u - layout.grid_left) / layout.pitch, (v - layout.grid_top) / layout.pitch
            col, row = np.floor(gu), np.floor(gv)
            inside = ((gu - col) * layout.pitch < layout.patch) & ((gv - row) * layout.pitch < layout.patch)
            inside &= (col >= 0) & (col < layout.columns) & (row >= 0) & (row < layout.rows)
            index = np.where(inside, row * layout.columns + col, len(patch_rgb)).astype(np.int64)
            index = np.clip(index, 0, len(patch_rgb))
            colour += np.where(on_card[..., None], palette[index], 0.0)
            cover += on_card
    cover /= s * s
    colour /= s * s
    image = image * (1 - cover[..., None]) + colour
    image *= np.asarray(cast, np.float64)
    if noise_sigma:
        image += rng.normal(0.0, noise_sigma * 255.0, image.shape)
    out = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    return out, _apply(h, layout.centres())
