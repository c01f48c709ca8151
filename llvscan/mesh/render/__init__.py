"""Rendering without a GPU: a numba software rasteriser (``_kernels``) for thumbnails and turntables
(``renderer``). Names load on first use."""

from __future__ import annotations

from llvscan._lazy import lazy_exports

__all__ = ["render_mesh", "render_turntable", "save_thumbnail"]

__getattr__, __dir__ = lazy_exports(__name__, dict.fromkeys(__all__, "renderer"))
