"""Rendering without a GPU: a numba software rasteriser (``_kernels``) for thumbnails and turntables
(``renderer``), and how close a level looks to its original (``fidelity``: SSIM, PSNR). Names load on
first use."""

from __future__ import annotations

from llvscan._lazy import lazy_exports

__all__ = ["Fidelity", "FidelityMeter", "psnr", "render_mesh", "render_turntable", "save_thumbnail", "ssim"]

__getattr__, __dir__ = lazy_exports(__name__, {
    **dict.fromkeys(("render_mesh", "render_turntable", "save_thumbnail"), "renderer"),
    **dict.fromkeys(("Fidelity", "FidelityMeter", "psnr", "ssim"), "fidelity"),
})
