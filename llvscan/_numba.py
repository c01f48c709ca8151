"""numba's configuration for every kernel module of llvscan (mesh and imaging), set in one place.

Each ``_kernels`` module imports this module before defining its kernels, so the configuration holds
whichever kernel compiles or runs first; nothing depends on import order.
"""

from __future__ import annotations

from numba import config

__all__: list[str] = []

# TBB comes along with open3d in a version numba refuses (with a warning); OpenMP or numba's own
# work queue serve the parallel kernels equally well.
config.THREADING_LAYER_PRIORITY = ["omp", "workqueue", "tbb"]  # type: ignore[attr-defined]
