"""numba's configuration for every kernel module of llvscan (mesh and imaging), set in one place.

Each ``_kernels`` module imports this module before defining its kernels, so the configuration holds
whichever kernel compiles or runs first; nothing depends on import order.

**One compilation per kernel and machine.** numba compiles a kernel on its first call in a process
and saves the result in its cache; a second process that needs the same kernel meanwhile compiles it
too (the first run of a collection starts all its workers at once, and each would spend a minute
compiling the same kernels). Here a compilation of an llvscan kernel holds an exclusive lock on a file
beside the kernel's cache index: a second process waits for it, then loads the compiled copy from the
cache. Locks are taken in call order (a kernel before the kernels it calls) and the call graph has no
cycles, so two processes cannot wait on each other; within a process numba's own compiler lock is taken
first, so threads cannot either.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from numba import config
from numba.core import dispatcher as _dispatcher
from numba.core.compiler_lock import global_compiler_lock

__all__ = ["compiled_here"]

# TBB comes along with open3d in a version numba refuses (with a warning); OpenMP or numba's own
# work queue serve the parallel kernels equally well.
config.THREADING_LAYER_PRIORITY = ["omp", "workqueue", "tbb"]  # type: ignore[attr-defined]


def _index_path(dispatcher: Any) -> str | None:
    """The kernel's cache index file, or None where it has none (caching off, or other numba internals)."""
    try:
        return str(dispatcher._cache._cache_file._index_path)
    except AttributeError:
        return None


def compiled_here(module: str, name: str) -> bool | None:
    """Whether the kernel ``module.name`` has a compiled copy in numba's cache on this machine (its cache
    index exists), so a run loads it rather than compiling it; None where that cannot be told (caching
    off, or a numba whose cache internals differ)."""
    import importlib

    try:
        dispatcher = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None
    index = _index_path(dispatcher)
    return None if index is None else os.path.exists(index)


@contextlib.contextmanager
def _machine_lock(dispatcher: Any) -> Iterator[None]:
    """Hold the kernel's compile lock (a ``flock`` on ``INDEX.lock``); a no-op where there is no cache
    folder to put it in, or no ``flock`` (Windows)."""
    index = _index_path(dispatcher)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    if index is None:
        yield
        return
    try:
        os.makedirs(os.path.dirname(index), exist_ok=True)
        fd = os.open(index + ".lock", os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:  # a read-only cache: numba compiles in memory, there is nothing to share
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


_compile = _dispatcher.Dispatcher.compile


def _compile_once(self: Any, sig: Any) -> Any:
    if not getattr(self.py_func, "__module__", "").startswith("llvscan."):
        return _compile(self, sig)
    with global_compiler_lock, _machine_lock(self):
        return _compile(self, sig)  # loads the cache's copy when another process compiled it meanwhile


if not getattr(_dispatcher.Dispatcher.compile, "_llvscan", False):
    _compile_once._llvscan = True  # type: ignore[attr-defined]
    _dispatcher.Dispatcher.compile = _compile_once  # type: ignore[method-assign]
