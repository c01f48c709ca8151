"""numba's configuration for every kernel module of llvscan (mesh and imaging), set in one place.

Each ``_kernels`` module imports this module before defining its kernels, so the configuration holds
whichever kernel compiles or runs first; nothing depends on import order.
"""

from __future__ import annotations

from numba import config

__all__ = ["compiled_here"]

# TBB comes along with open3d in a version numba refuses (with a warning); OpenMP or numba's own
# work queue serve the parallel kernels equally well.
config.THREADING_LAYER_PRIORITY = ["omp", "workqueue", "tbb"]  # type: ignore[attr-defined]


def compiled_here(module: str, name: str) -> bool | None:
    """Whether the kernel ``module.name`` has a compiled copy in numba's cache on this machine (its cache
    index exists), so a run loads it rather than compiling it; None where that cannot be told (caching
    off, or a numba whose cache internals differ)."""
    import importlib
    import os

    try:
        dispatcher = getattr(importlib.import_module(module), name)
        return os.path.exists(dispatcher._cache._cache_file._index_path)
    except (ImportError, AttributeError):
        return None
