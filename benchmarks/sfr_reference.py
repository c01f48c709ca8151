"""An independent reference e-SFR: sfrmat3 (P. D. Burns' MATLAB implementation of ISO 12233:2014's edge-based
spatial frequency response) re-implemented in numpy from the published algorithm, for the benchmark to check
llvscan's slanted-edge SFR against. It imports nothing of llvscan and was written without reading it.

The steps, as in sfrmat3 (``sfrmat3.m``, ``deriv1``, ``centroid``, ``findedge``, ``ahamming``, ``project``,
``cent``, ``fir2fix``):

1. orient the region so the edge is near-vertical (transpose it when the transition runs down the columns);
2. per row, a two-point derivative ``[0.5, -0.5]``, a Hamming window centred on the region, the centroid:
   the edge's position in that row; a least-squares line through the positions;
3. again with each row's window centred on the fitted line (sfrmat3's second pass), and a new line;
4. keep a whole number of phase cycles of rows (``round(floor(n·|slope|)/|slope|)``);
5. project every pixel onto the edge normal by its horizontal distance to the line and average in bins a
   quarter pixel wide (``oversampling``): the super-sampled edge spread function (empty bins interpolated);
6. the line spread function: a three-point derivative ``[0.5, 0, -0.5]``; shift its centroid to the middle,
   multiply by a Hamming window centred there;
7. |FFT|, normalised to 1 at zero frequency, times the derivative correction ``fir2fix(n/2+1, 3)`` (at most 10);
   frequencies in cycles per pixel along the edge normal: ``k · oversampling / (n · cos θ)``.

``__main__`` renders a slanted edge blurred by a Gaussian of σ px and point-sampled (pixel value Φ(d/σ), d
the pixel centre's signed distance to the edge), whose MTF is exp(−2π²σ²f²) and MTF50 = √(ln 2 / 2π²)/σ
≈ 0.1874/σ cycles/pixel, and prints the measured MTF50 against that truth at 5° and 2°.

    python benchmarks/sfr_reference.py
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["mtf_crossing", "render_edge", "sfrmat3"]


def _hamming(n: int, mid: float) -> np.ndarray:
    """sfrmat3's ``ahamming``: a Hamming window over samples 0..n-1 centred on ``mid`` (0-based), reaching the
    window's foot at the farther end."""
    x = np.arange(n, dtype=float)
    width = max(mid, n - 1 - mid, 1.0)
    return 0.54 + 0.46 * np.cos(np.pi * (x - mid) / width)


def _centroid(values: np.ndarray, positions: np.ndarray) -> float:
    total = float(values.sum())
    if total == 0.0:
        raise ValueError("no edge: the derivative sums to zero in a row")
    return float((values * positions).sum() / total)


def _edge_line(a: np.ndarray, sign: float) -> tuple[float, float]:
    """The edge's position x = offset + slope·y (0-based pixel centres) from sfrmat3's two centroid passes."""
    nlin, npix = a.shape
    deriv = sign * (a[:, 1:] - a[:, :-1])  # [0.5, -0.5] up to scale, located half-way between pixels
    positions = np.arange(npix - 1, dtype=float) + 0.5
    rows = np.arange(nlin, dtype=float)
    window = _hamming(npix - 1, (npix - 2) / 2.0)
    centres = np.array([_centroid(deriv[y] * window, positions) for y in range(nlin)])
    slope, offset = np.polyfit(rows, centres, 1)
    for _ in range(1):  # sfrmat3: one more pass, each row windowed about the fitted line
        fitted = offset + slope * rows
        centres = np.array([_centroid(deriv[y] * _hamming(npix - 1, fitted[y] - 0.5), positions)
                            for y in range(nlin)])
        slope, offset = np.polyfit(rows, centres, 1)
    return float(offset), float(slope)


def _fir2fix(n: int, m: int) -> np.ndarray:
    """sfrmat3's correction for the MTF of an m-point difference filter, over n frequencies (capped at 10)."""
    correct = np.ones(n)
    m -= 1
    i = np.arange(2, n + 1, dtype=float)  # MATLAB's 1-based index, as sfrmat3 writes it
    arg = np.pi * i * m / (2 * (n + 1))
    correct[1:] = np.minimum(np.abs(arg / np.sin(arg)), 10.0)
    return correct


def sfrmat3(roi: np.ndarray, *, oversampling: int = 4) -> tuple[np.ndarray, np.ndarray, float]:
    """The e-SFR of one slanted edge in ``roi`` (H×W, linear light, one channel).

    Returns (frequencies in cycles/pixel, MTF normalised to 1 at 0, the edge's angle in degrees from the
    pixel axis it is closest to). Raises ValueError for a region that cannot hold a measurable edge."""
    a = np.asarray(roi, dtype=float)
    if a.ndim != 2 or min(a.shape) < 16:
        raise ValueError(f"need a 2-D region of at least 16×16 pixels, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError("the region holds non-finite values")
    if oversampling < 1:
        raise ValueError("oversampling must be at least 1")
    k = 5  # sfrmat3's rotatev2 compares the sums of the outer five columns and rows
    horizontal = abs(a[:, :k].sum() - a[:, -k:].sum())
    vertical = abs(a[:k, :].sum() - a[-k:, :].sum())
    if vertical > horizontal:
        a = a.T  # the transition runs down the columns: make it run along the rows
    sign = 1.0 if a[:, -k:].mean() >= a[:, :k].mean() else -1.0  # dark→bright left to right gives a positive LSF

    offset, slope = _edge_line(a, sign)
    nlin, npix = a.shape
    if abs(slope) * nlin < 1.0:
        raise ValueError(f"edge angle {math.degrees(math.atan(slope)):.2f}° too close to the pixel grid: "
                         f"the {nlin} rows hold less than one phase cycle")
    keep = round(math.floor(nlin * abs(slope)) / abs(slope))  # a whole number of phase cycles
    a = a[:keep]
    offset, slope = _edge_line(a, sign)
    nlin = keep

    # super-sampled ESF: bin every pixel by its horizontal distance to the edge line
    nn = npix * oversampling
    ys, xs = np.mgrid[0:nlin, 0:npix]
    dist = xs - (offset + slope * ys)
    index = np.floor(dist * oversampling).astype(int) + nn // 2
    inside = (index >= 0) & (index < nn)
    counts = np.bincount(index[inside], minlength=nn).astype(float)
    sums = np.bincount(index[inside], weights=a[inside], minlength=nn)
    filled = counts > 0
    if filled.sum() < nn // 2:
        raise ValueError("too few samples along the edge normal")
    esf = np.empty(nn)
    esf[filled] = sums[filled] / counts[filled]
    bins = np.arange(nn)
    esf[~filled] = np.interp(bins[~filled], bins[filled], esf[filled])  # sfrmat3 fills empty bins from neighbours

    # LSF: three-point derivative, centred on its centroid, Hamming-windowed
    lsf = np.zeros(nn)
    lsf[1:-1] = sign * (esf[2:] - esf[:-2]) / 2.0
    lsf[0], lsf[-1] = lsf[1], lsf[-2]
    centre = _centroid(lsf, bins.astype(float))
    lsf = np.roll(lsf, nn // 2 - round(centre))
    lsf = lsf * _hamming(nn, nn / 2.0)

    half = nn // 2 + 1
    spectrum = np.abs(np.fft.fft(lsf))[:half]
    mtf = spectrum / spectrum[0] * _fir2fix(half, 3)
    del_normal = math.cos(math.atan(slope))  # bins are 1/oversampling px apart along rows: cos θ as much normally
    freq = np.arange(half) * oversampling / (nn * del_normal)
    return freq, mtf, math.degrees(math.atan(slope))


def mtf_crossing(freq: np.ndarray, mtf: np.ndarray, level: float) -> float:
    """The first frequency where the MTF falls to ``level`` (linear interpolation); NaN if it never does."""
    below = np.nonzero(mtf < level)[0]
    if below.size == 0 or below[0] == 0:
        return math.nan
    i = int(below[0])
    f0, f1, m0, m1 = freq[i - 1], freq[i], mtf[i - 1], mtf[i]
    return float(f0 + (m0 - level) * (f1 - f0) / (m0 - m1))


def render_edge(size: tuple[int, int], angle_deg: float, sigma: float, *, low: float = 0.1,
                high: float = 0.9) -> np.ndarray:
    """A near-vertical edge through the centre, ``angle_deg`` from vertical, blurred by a Gaussian of ``sigma``
    px and point-sampled: pixel = low + (high − low)·Φ(d/σ), d the pixel centre's signed distance to the edge."""
    height, width = size
    theta = math.radians(angle_deg)
    ys, xs = np.mgrid[0:height, 0:width].astype(float)
    d = (xs - (width - 1) / 2.0) * math.cos(theta) - (ys - (height - 1) / 2.0) * math.sin(theta)
    phi = 0.5 * (1.0 + np.vectorize(math.erf)(d / (sigma * math.sqrt(2.0))))
    return low + (high - low) * phi


def main() -> None:
    truth_k = math.sqrt(math.log(2.0) / (2.0 * math.pi**2))  # MTF50 · σ for exp(−2π²σ²f²)
    print(f"sfrmat3 reference, Gaussian edge, point-sampled: MTF50 truth = {truth_k:.4f}/σ cycles/pixel")
    header = ("angle", "σ px", "fitted °", "truth", "MTF50", "error %", "MTF10", "truth10")
    print(" ".join(f"{h:>{w}}" for h, w in zip(header, (6, 5, 9, 8, 8, 8, 8, 8), strict=True)))
    worst = 0.0
    for angle in (5.0, 2.0):
        for sigma in (0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0):
            roi = render_edge((160, 128), angle, sigma)
            freq, mtf, fitted = sfrmat3(roi)
            mtf50 = mtf_crossing(freq, mtf, 0.5)
            mtf10 = mtf_crossing(freq, mtf, 0.1)
            truth = truth_k / sigma
            truth10 = math.sqrt(math.log(10.0) / (2.0 * math.pi**2)) / sigma
            error = (mtf50 - truth) / truth * 100.0
            worst = max(worst, abs(error))
            print(f"{angle:6.1f} {sigma:5.2f} {fitted:9.3f} {truth:8.4f} {mtf50:8.4f} {error:8.2f} "
                  f"{mtf10:8.4f} {truth10:8.4f}")
    print(f"worst MTF50 error: {worst:.2f} %")


if __name__ == "__main__":
    main()
