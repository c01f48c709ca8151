"""Simplification: texture-aware quadric edge collapse (``decimate``), its numba kernels (``_kernels``)
and the packed row layout they share (``layout``). Names load on first use."""

from __future__ import annotations

from llvscan._lazy import lazy_exports

__all__ = ["DecimationResult", "decimate", "decimate_file"]

__getattr__, __dir__ = lazy_exports(__name__, dict.fromkeys(__all__, "decimate"))
