"""numba kernels for image statistics on horizontal strips. Private: call them through
``llvscan.imaging.inspect``, whose wrappers check shapes and dtypes first.

Conventions: a strip is a C-contiguous (rows, width, bands) uint8 or uint16 array; luminance rows are
float32 on a 0–255 scale whatever the bit depth. Parallel loops write to slots owned by one chunk or
one row and the caller sums them in a fixed order, so results do not depend on the thread count.
They release the GIL (``nogil``): ``image_pass`` measures strips in a thread while libvips decodes and
tiles in others.
"""

from __future__ import annotations

import numpy as np
from numba import get_num_threads, njit, prange

from llvscan import _numba  # noqa: F401  (numba's configuration, before the first kernel compiles)

LUMA_GREY = 0  # the first band is the luminance (greyscale, greyscale + alpha, multiband)
LUMA_RGB = 1  # Rec. 709 luma of the encoded R, G, B values
LUMA_CMYK = 2  # the same luma of R = (1 − C)(1 − K), G = (1 − M)(1 − K), B = (1 − Y)(1 − K)

_WR, _WG, _WB = 0.2126, 0.7152, 0.0722


def threads() -> int:
    """How many chunks ``histogram`` should split a strip into (one per numba thread)."""
    return get_num_threads()


@njit(cache=True, parallel=True, nogil=True)
def histogram(strip, counts):
    """Add the code values of ``strip`` (R, W, B) to ``counts`` (C, B, levels) int64.

    Rows are split into C fixed chunks; chunk ``c`` only writes ``counts[c]``, so the integer totals
    (``counts.sum(axis=0)``) are exact and the same for any number of threads.
    """
    rows, width, bands = strip.shape
    chunks = counts.shape[0]
    step = (rows + chunks - 1) // chunks
    for c in prange(chunks):
        own = counts[c]
        for r in range(c * step, min(rows, (c + 1) * step)):
            for x in range(width):
                for b in range(bands):
                    own[b, strip[r, x, b]] += 1


@njit(cache=True, parallel=True, nogil=True)
def luminance(strip, mode, scale, out):
    """Write the luminance of ``strip`` (R, W, B) to ``out`` (R, W) float32, multiplied by ``scale``
    (1 for 8-bit, 1/257 for 16-bit: the result is on a 0–255 scale)."""
    rows, width, _ = strip.shape
    for r in prange(rows):
        if mode == LUMA_RGB:
            for x in range(width):
                out[r, x] = (_WR * strip[r, x, 0] + _WG * strip[r, x, 1] + _WB * strip[r, x, 2]) * scale
        elif mode == LUMA_CMYK:
            full = 255.0 / scale  # the maximum code value
            for x in range(width):
                white = (full - strip[r, x, 3]) / full
                ink = _WR * strip[r, x, 0] + _WG * strip[r, x, 1] + _WB * strip[r, x, 2]
                out[r, x] = (full - ink) * white * scale
        else:
            for x in range(width):
                out[r, x] = strip[r, x, 0] * scale


@njit(cache=True, parallel=True, nogil=True)
def filter_rows(luma, lap_sum, lap_sq, noise_abs):
    """Per-row sums of the 3×3 responses over the interior of ``luma`` (R, W) float32.

    Row ``i`` of the outputs (length R − 2) is centre row ``i + 1``, columns 1 … W − 2:
    the 4-neighbour Laplacian [[0, 1, 0], [1, −4, 1], [0, 1, 0]] (its sum and sum of squares) and
    the absolute response to Immerkær's noise mask [[1, −2, 1], [−2, 4, −2], [1, −2, 1]].
    """
    rows, width = luma.shape
    for i in prange(rows - 2):
        up = luma[i]
        mid = luma[i + 1]
        down = luma[i + 2]
        s = 0.0
        sq = 0.0
        n = 0.0
        for x in range(1, width - 1):
            c = np.float64(mid[x])
            lap = np.float64(up[x]) + down[x] + mid[x - 1] + mid[x + 1] - 4.0 * c
            s += lap
            sq += lap * lap
            corners = np.float64(up[x - 1]) + up[x + 1] + down[x - 1] + down[x + 1]
            edges = np.float64(up[x]) + down[x] + mid[x - 1] + mid[x + 1]
            n += abs(corners - 2.0 * edges + 4.0 * c)
        lap_sum[i] = s
        lap_sq[i] = sq
        noise_abs[i] = n
