"""How close a level of detail *looks* to the original: SSIM and PSNR of renders from fixed views.

The original and the level are rendered by the same numba rasteriser, textures included, from the same
cameras (views evenly spaced around the up axis, at two elevations), framed on the *original's*
bounding sphere so that a level whose extent shrank is not rescaled to look better. SSIM is Wang et
al.'s (2004) on luminance: an 11-tap Gaussian window of σ 1.5, K1 = 0.01, K2 = 0.03, L = 255; PSNR is
over the RGB pixels. Both are averaged over the views (PSNR through the mean squared error). Renders are
not supersampled: both sides alias alike, and a measure that costs a fraction of the levels' own
building stays on by default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from llvscan._json import JsonResult
from llvscan.errors import InvalidParameterError
from llvscan.mesh.core.types import Mesh
from llvscan.mesh.render.renderer import _draw_visible, _options, _prepare, _Scene

__all__ = ["Fidelity", "FidelityMeter", "psnr", "ssim"]

_C1, _C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2


@dataclass(frozen=True)
class Fidelity(JsonResult):
    """SSIM (1 = identical) and PSNR (dB; None when the renders are identical) of a level's renders
    against the original's."""

    ssim: float
    psnr: float | None
    views: int
    size: int


def _gaussian(sigma: float = 1.5, taps: int = 11) -> np.ndarray:
    x = np.arange(taps) - taps // 2
    kernel = np.exp(-(x**2) / (2 * sigma**2))
    return kernel / kernel.sum()


def _blur(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Separable 'valid' convolution: the window never reaches outside the image. Whole-image shifted sums
    (one per tap), not a convolution per row: ``kernel`` is symmetric, so correlating is convolving."""
    taps = len(kernel)
    width, height = image.shape[1] - taps + 1, image.shape[0] - taps + 1
    rows = kernel[0] * image[:, :width]
    for i in range(1, taps):
        rows = rows + kernel[i] * image[:, i:i + width]
    out = kernel[0] * rows[:height]
    for i in range(1, taps):
        out = out + kernel[i] * rows[i:i + height]
    return out


def _luminance(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, dtype=np.float64)
    return image if image.ndim == 2 else image[..., :3] @ np.array([0.299, 0.587, 0.114])


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean structural similarity of two same-size 8-bit images (RGB or grey), on luminance."""
    a, b = _luminance(a), _luminance(b)
    if a.shape != b.shape or min(a.shape) < 11:
        raise InvalidParameterError(f"ssim needs two images of the same size, at least 11 px, got {a.shape} "
                                    f"and {b.shape}")
    k = _gaussian()
    mu_a, mu_b = _blur(a, k), _blur(b, k)
    var_a = _blur(a * a, k) - mu_a**2
    var_b = _blur(b * b, k) - mu_b**2
    cov = _blur(a * b, k) - mu_a * mu_b
    index = ((2 * mu_a * mu_b + _C1) * (2 * cov + _C2)) / ((mu_a**2 + mu_b**2 + _C1) * (var_a + var_b + _C2))
    return float(index.mean())


def _mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)) ** 2))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio of two 8-bit images, in dB (inf when they are identical)."""
    mse = _mse(a, b)
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


class FidelityMeter:
    """Renders the original once from every view; ``measure(level)`` renders the level the same way."""

    def __init__(self, original: Mesh, *, views: int = 8, elevations: tuple[float, ...] = (20.0, -15.0),
                 size: int = 160, up: str = "y") -> None:
        if views < 1 or not elevations:
            raise InvalidParameterError("fidelity needs at least one view and one elevation")
        size, _, _, _, self._background, _ = _options(original, size, 0.0, 0.0, 30.0, up, (255, 255, 255), 1)
        self.size, self.up = size, up
        self.cameras = [(360.0 * k / views, elevation) for elevation in elevations for k in range(views)]
        self._frame = _prepare(original, texture=None, max_texture=1024, smooth=True)
        drawn = [self._render(self._frame, camera) for camera in self.cameras]
        self._reference = [image for image, _ in drawn]
        self._visible = [visible for _, visible in drawn]  # a level with the original's geometry sees the same

    def _render(self, scene: _Scene, camera: tuple[float, float],
                visible: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        return _draw_visible(scene, self.size, camera[0], camera[1], 30.0, self.up, self._background, 1, visible)

    def _same_geometry(self, scene: _Scene) -> bool:
        frame = self._frame
        return (scene.vertices.shape == frame.vertices.shape and scene.faces.shape == frame.faces.shape
                and np.array_equal(scene.vertices, frame.vertices) and np.array_equal(scene.faces, frame.faces))

    def measure(self, level: Mesh) -> Fidelity:
        """SSIM and PSNR of ``level``'s renders against the original's. A level's normal maps are drawn
        (they stand in for the relief decimation removed); its occlusion maps are not, since the original's
        renders have no occlusion to compare them with."""
        level = replace(level, materials=tuple(replace(m, maps=tuple(t for t in m.maps if t.slot != "occlusion"))
                                               for m in level.materials))
        scene = _prepare(level, texture=None, max_texture=1024, smooth=True)
        scene = replace(scene, centre=self._frame.centre, radius=self._frame.radius)  # the original's framing
        # the original's own geometry (a level that keeps every face) covers the same pixels: only shade them
        visible = self._visible if self._same_geometry(scene) else [None] * len(self.cameras)
        images = [self._render(scene, camera, v)[0] for camera, v in zip(self.cameras, visible, strict=True)]
        mean_ssim = float(np.mean([ssim(a, b) for a, b in zip(self._reference, images, strict=True)]))
        mse = float(np.mean([_mse(a, b) for a, b in zip(self._reference, images, strict=True)]))
        mean_psnr = None if mse == 0 else round(10 * math.log10(255.0**2 / mse), 3)
        return Fidelity(ssim=round(mean_ssim, 5), psnr=mean_psnr, views=len(self.cameras), size=self.size)
