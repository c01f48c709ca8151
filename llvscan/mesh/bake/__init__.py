"""Baking a full-resolution surface onto a decimated level's UV layout: tangent-space normal,
ambient-occlusion and base-colour maps, on the CPU (numba kernels in ``_kernels``). Names load on first use."""

from __future__ import annotations

from llvscan._lazy import lazy_exports

__all__ = ["MAP_NAMES", "BakeSource", "BakedMaps"]

__getattr__, __dir__ = lazy_exports(__name__, dict.fromkeys(("MAP_NAMES", "BakeSource", "BakedMaps"), "maps"))
