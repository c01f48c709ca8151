"""The reference numba kernel of the calibration: a fixed mix of dependent random reads and arithmetic, the
two costs of llvscan's own kernels (the decimator's heap walk, the distance grid). Private: use
``llvscan.bench.calibrate``."""

from __future__ import annotations

import numpy as np
from numba import njit

from llvscan import _numba  # noqa: F401  (numba's configuration, before the first kernel compiles)


@njit("float64(float64[::1], int64[::1], int64)", cache=True, nogil=True)
def reference_walk(values: np.ndarray, order: np.ndarray, rounds: int) -> float:  # pragma: no cover - compiled
    total = 0.0
    n = order.shape[0]
    j = 0
    for _ in range(rounds):
        for i in range(n):
            j = order[(j + i) % n]  # a dependent read: memory latency, as a heap's walk pays it
            v = values[j]
            total += v * v / (1.0 + abs(total) * 1e-12) + np.sqrt(abs(v))
    return total
