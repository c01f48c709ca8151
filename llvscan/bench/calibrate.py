"""The calibration of ``llvscan bench``: fixed workloads timed on the machine the benchmark runs on, so a
stage's time can be stored as a ratio to them and compared across machines and across a runner's moods.

Four workloads, each between 2 and 25 milliseconds here, each timed three times per repeat (the fastest counts: a
calibration wants the machine's speed, not its interruptions): ``vips`` a raw libvips tiled pyramid of a
generated image, ``numba`` a reference kernel of dependent reads and arithmetic, ``hash`` SHA-256 of a
fixed buffer, ``memory`` a copy of a fixed buffer. The *unit* of a repeat is their geometric mean. When a
comparison's two runs used different versions of libvips or numba, the workload of that library leaves
the unit on both sides (:func:`unit`): a library under test cannot be its own yardstick.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

__all__ = ["WORKLOADS", "WORKLOAD_LIBRARY", "calibrate", "unit", "warm_up"]

#: The calibration workloads, in the order they run.
WORKLOADS = ("vips", "numba", "hash", "memory")
#: The library each workload depends on (and leaves the unit when its version differs between two runs).
WORKLOAD_LIBRARY = {"vips": "libvips", "numba": "numba"}

_SIDE = 1024  # the vips workload's image (1024² RGB)
_WALK = 1 << 19  # the numba workload's array (4 MiB of float64, random order)
_BUFFER = 16 << 20  # the hash and memory workloads' buffer


def _vips_workload() -> Callable[[], None]:
    import pyvips

    def run() -> None:
        previous = pyvips.cache_get_max()
        pyvips.cache_set_max(0)  # a cached pipeline would cost nothing the second time
        try:
            xy = pyvips.Image.xyz(_SIDE, _SIDE)
            image = ((xy[0] * 7 + xy[1] * 3) % 256).bandjoin([(xy[0] ^ xy[1]) % 256, (xy[0] * xy[1]) % 256])
            image.cast("uchar").tiffsave_buffer(tile=True, pyramid=True, compression="jpeg", Q=85)
        finally:
            pyvips.cache_set_max(previous)

    return run


def _numba_workload() -> Callable[[], None]:
    from llvscan.bench._kernels import reference_walk

    rng = np.random.default_rng(20261130)
    values = rng.random(_WALK)
    order = rng.permutation(_WALK).astype(np.int64)

    def run() -> None:
        reference_walk(values, order, 1)

    return run


def _hash_workload() -> Callable[[], None]:
    data = np.arange(_BUFFER // 8, dtype=np.uint64).tobytes()

    def run() -> None:
        hashlib.sha256(data).digest()

    return run


def _memory_workload() -> Callable[[], None]:
    source = np.arange(_BUFFER // 8, dtype=np.float64)
    target = np.empty_like(source)

    def run() -> None:
        np.copyto(target, source)
        np.copyto(source, target)

    return run


_MAKERS: dict[str, Callable[[], Callable[[], None]]] = {
    "vips": _vips_workload, "numba": _numba_workload, "hash": _hash_workload, "memory": _memory_workload}
_READY: dict[str, Callable[[], None]] = {}


def warm_up() -> float:
    """Build the workloads and run each once (compiles the kernel on a fresh machine); the seconds it took."""
    started = time.perf_counter()
    for name in WORKLOADS:
        if name not in _READY:
            _READY[name] = _MAKERS[name]()
        _READY[name]()
    return time.perf_counter() - started


def calibrate(tries: int = 3) -> dict[str, float]:
    """Seconds of each workload on this machine now: the fastest of ``tries``."""
    warm_up()
    seconds = {}
    for name in WORKLOADS:
        best = math.inf
        for _ in range(tries):
            t0 = time.perf_counter()
            _READY[name]()
            best = min(best, time.perf_counter() - t0)
        seconds[name] = best
    return seconds


def unit(workloads: Mapping[str, Sequence[float]], exclude: Iterable[str] = ()) -> list[float]:
    """The calibration unit per repeat: the geometric mean of the workloads' seconds, less ``exclude``."""
    names = [name for name in WORKLOADS if name in workloads and name not in set(exclude)]
    if not names:
        raise ValueError("no calibration workload left to make a unit of")
    repeats = len(workloads[names[0]])
    return [math.exp(sum(math.log(workloads[name][r]) for name in names) / len(names)) for r in range(repeats)]
