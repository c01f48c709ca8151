"""numba kernels for chart detection. Private: call them through ``llvscan.imaging.qa.detect``, whose
wrappers check shapes and dtypes first."""

from __future__ import annotations

import numpy as np
from numba import njit

from llvscan import _numba  # noqa: F401  (numba's configuration, before the first kernel compiles)


@njit(cache=True, nogil=True)
def region_moments(mask):
    """The moments of the 4-connected regions of the non-zero pixels of ``mask`` (H, W) uint8.

    Returns (count, 6) float64: per region, in raster order of its first pixel, the pixel count and the sums
    of x, y, x², y², xy over its pixel centres (x + 0.5, y + 0.5). A flood fill with an explicit stack:
    every pixel is pushed once.
    """
    height, width = mask.shape
    seen = np.zeros((height, width), dtype=np.uint8)
    stack = np.empty(height * width, dtype=np.int64)
    stats = np.zeros((1024, 6), dtype=np.float64)
    count = 0
    for y0 in range(height):
        for x0 in range(width):
            if mask[y0, x0] == 0 or seen[y0, x0] != 0:
                continue
            seen[y0, x0] = 1
            top = 0
            stack[top] = y0 * width + x0
            top += 1
            n = 0.0
            sx = 0.0
            sy = 0.0
            sxx = 0.0
            syy = 0.0
            sxy = 0.0
            while top > 0:
                top -= 1
                p = stack[top]
                y = p // width
                x = p - y * width
                fx = x + 0.5
                fy = y + 0.5
                n += 1.0
                sx += fx
                sy += fy
                sxx += fx * fx
                syy += fy * fy
                sxy += fx * fy
                if x > 0 and mask[y, x - 1] != 0 and seen[y, x - 1] == 0:
                    seen[y, x - 1] = 1
                    stack[top] = p - 1
                    top += 1
                if x < width - 1 and mask[y, x + 1] != 0 and seen[y, x + 1] == 0:
                    seen[y, x + 1] = 1
                    stack[top] = p + 1
                    top += 1
                if y > 0 and mask[y - 1, x] != 0 and seen[y - 1, x] == 0:
                    seen[y - 1, x] = 1
                    stack[top] = p - width
                    top += 1
                if y < height - 1 and mask[y + 1, x] != 0 and seen[y + 1, x] == 0:
                    seen[y + 1, x] = 1
                    stack[top] = p + width
                    top += 1
            if count == stats.shape[0]:
                grown = np.zeros((2 * count, 6), dtype=np.float64)
                grown[:count] = stats
                stats = grown
            stats[count, 0] = n
            stats[count, 1] = sx
            stats[count, 2] = sy
            stats[count, 3] = sxx
            stats[count, 4] = syy
            stats[count, 5] = sxy
            count += 1
    return stats[:count].copy()


@njit(cache=True, nogil=True)
def gradient_max(rgb):
    """The largest central difference, over the channels and both axes, of ``rgb`` (H, W, C) float32 blurred
    by a separable [1 2 1]/4 kernel (edges repeated). Returns (H, W) float32."""
    height, width, channels = rgb.shape
    tmp = np.empty((height, width, channels), dtype=np.float32)
    smooth = np.empty((height, width, channels), dtype=np.float32)
    for y in range(height):
        ya = max(y - 1, 0)
        yb = min(y + 1, height - 1)
        for x in range(width):
            for c in range(channels):
                tmp[y, x, c] = 0.25 * rgb[ya, x, c] + 0.5 * rgb[y, x, c] + 0.25 * rgb[yb, x, c]
    for y in range(height):
        for x in range(width):
            xa = max(x - 1, 0)
            xb = min(x + 1, width - 1)
            for c in range(channels):
                smooth[y, x, c] = 0.25 * tmp[y, xa, c] + 0.5 * tmp[y, x, c] + 0.25 * tmp[y, xb, c]
    out = np.empty((height, width), dtype=np.float32)
    for y in range(height):
        ya = max(y - 1, 0)
        yb = min(y + 1, height - 1)
        for x in range(width):
            xa = max(x - 1, 0)
            xb = min(x + 1, width - 1)
            g = np.float32(0.0)
            for c in range(channels):
                gx = abs(smooth[y, xb, c] - smooth[y, xa, c])
                gy = abs(smooth[yb, x, c] - smooth[ya, x, c])
                if gx > g:
                    g = gx
                if gy > g:
                    g = gy
            out[y, x] = g
    return out


@njit(cache=True, nogil=True)
def box_means(rgb, boxes):
    """The mean of ``rgb`` (H, W, C) float32 over each box (n, 4) int64 [x0, y0, x1, y1) (clipped to the
    image, at least one pixel). Returns (n, C) float64."""
    height, width, channels = rgb.shape
    out = np.zeros((boxes.shape[0], channels), dtype=np.float64)
    for k in range(boxes.shape[0]):
        x0 = min(max(boxes[k, 0], 0), width - 1)
        y0 = min(max(boxes[k, 1], 0), height - 1)
        x1 = min(max(boxes[k, 2], x0 + 1), width)
        y1 = min(max(boxes[k, 3], y0 + 1), height)
        for y in range(y0, y1):
            for x in range(x0, x1):
                for c in range(channels):
                    out[k, c] += rgb[y, x, c]
        area = (x1 - x0) * (y1 - y0)
        for c in range(channels):
            out[k, c] /= area
    return out


@njit(cache=True, nogil=True)
def block_mean(image, k, scale):
    """The mean of each k × k block of ``image`` (H, W, C) (uint8, uint16 or float; a partial last row or
    column of blocks is dropped), divided by ``scale``: (H // k, W // k, C) float32."""
    height, width, channels = image.shape
    out_h = height // k
    out_w = width // k
    out = np.zeros((out_h, out_w, channels), dtype=np.float32)
    row = np.zeros((out_w, channels), dtype=np.float64)
    norm = 1.0 / (k * k * scale)
    for oy in range(out_h):
        row[:] = 0.0
        for y in range(oy * k, oy * k + k):
            for ox in range(out_w):
                for x in range(ox * k, ox * k + k):
                    for c in range(channels):
                        row[ox, c] += image[y, x, c]
        for ox in range(out_w):
            for c in range(channels):
                out[oy, ox, c] = row[ox, c] * norm
    return out
