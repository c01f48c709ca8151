"""Sharpness of a capture: the ISO 12233 edge spatial frequency response (e-SFR) of a slanted edge.

``slanted_edge_sfr`` follows ISO 12233:2017/2023 Annex D as implemented in Burns' sfrmat3/sfrmat4:

1. The ROI is turned so the edge runs near-vertically (a near-horizontal edge is transposed; the
   structure tensor of the gradients decides).
2. Each row is differentiated ([-1, 1]); its edge location is the centroid of that derivative under a
   Hamming window centred on the edge. The first pass uses the per-row maxima, the next two passes
   centre the window on the line fitted before, with a half-width of twice the measured 5–95 % width of
   the line spread (sfrmat centres a ROI-wide window; a narrower one keeps flat-field noise out of the
   centroid). A straight line ``x = a + b·(y − yc)`` is fitted to the locations by least squares,
   rows whose residual exceeds 3 robust standard deviations (at least 0.5 px) left out.
3. The rows used are cut, about the ROI centre, to a whole number of pixel phase cycles
   (``rows·|b|`` an integer, as sfrmat does) so that every quarter-pixel phase is sampled equally.
4. Every pixel is binned at its distance from the fitted line *measured perpendicular to the edge*,
   ``(x − a − b·(y − yc))·cos θ``, in bins of 1/4 px (4× super-sampling), over the distance range every
   row covers: the edge spread function (ESF). Binning on the perpendicular distance is sfrmat3/4's angle
   correction (they bin on the horizontal distance and divide the frequencies by ``cos θ``); both give
   cycles per pixel across the edge.
5. The ESF is differentiated with the centred [-½, 0, ½] filter into the line spread function (LSF),
   multiplied by a Hamming window centred on the edge (half-width: the distance to the farther end, as
   sfrmat's ``ahamming``), zero-padded and Fourier transformed; the modulus is normalised to 1 at DC.
6. The derivative correction divides by the filter's response, ``sinc(2f/4)``, at most ×10.

Two departures from sfrmat make the result closer to the true MTF (``plain_binning=True`` turns both
off, to compare with sfrmat-style tools): each bin's mean is placed at the mean distance of its pixels
(then interpolated back onto the bin centres) rather than at the bin centre, which removes the ripple
that angles with few distinct sub-pixel phases cause (tan θ near a simple fraction: at 20° the MTF10
error falls from up to 2.6 % to 0.1 %); and the bin's own averaging over 1/4 px, a box filter, is
divided out with the derivative correction (``sinc(f/4)``: +1 % on MTF50 at σ = 0.5 px). On Gaussian
edges (σ 0.5–3 px, 2°–20°) MTF50 and MTF10 then lie within 0.5 % of the truth. At "critical angles"
(tan θ = 1/2, 1/3 …: 26.6°, 18.4°, 33.7°) whole bins stay empty; that is a ``critical_angle`` warning.

Metrics use the finely sampled spectrum (zero padding interpolates it): MTF50/MTF20/MTF10 are the first
crossings of 0.5/0.2/0.1 by linear interpolation (cycles/pixel, searched up to 1 cy/px), MTF50P the first
crossing of half the peak after the peak, ``sharpening`` the peak of the MTF up to Nyquist (1.0 when it
never rises above DC), ``sampling_efficiency`` = min(MTF10, Nyquist)/Nyquist × 100. The curve kept in the
result is sampled every 0.01 cy/px from 0 to 1.

Input is linear light. The QA grader passes the luminance Y it computes through the image's ICC profile;
with ``linear=False, gamma=g`` the values are linearised here by ``x**g`` (integer data first scaled to
0–1 by the type's maximum; a pure power law is scale-free, so the scale of float data does not matter).

The function raises ``InvalidParameterError`` for impossible arguments (wrong dimensions, a ROI outside
the image or smaller than 8×8, a bad gamma). An edge that cannot be measured (no edge, NaN pixels, an
angle under 1° or over 40° from the nearest axis, too few rows for one pixel phase cycle, an edge that
does not cross the ROI, a crooked edge) is an error finding: the result then has ``is_valid`` False and
every metric None. Warnings: low edge SNR (< 20), a rough edge, a critical angle, a ROI too narrow across
the edge for the LSF (the window then cuts its tails and raises the MTF).

``find_slanted_edges`` finds ROIs around straight edges tilted 1–40° from an image axis (a slanted-edge
target) with an orientation-constrained Hough transform; see its docstring for what it can find.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from llvscan._json import NOT_IN_JSON, JsonResult
from llvscan._report import Finding, HasFindings
from llvscan.errors import InvalidParameterError

__all__ = ["ChannelSFR", "EdgeSFR", "find_slanted_edges", "scale_roi", "slanted_edge_sfr"]

log = logging.getLogger(__name__)

#: Super-sampling factor of the ESF (ISO 12233: 4).
_NBIN = 4
#: Edges closer than this to an image axis cannot be super-sampled; farther than _MAX_ANGLE (towards 45°)
#: the orientation becomes ambiguous.
_MIN_ANGLE_DEG = 1.0
_MAX_ANGLE_DEG = 40.0
#: The smallest ROI side accepted.
_MIN_ROI = 8
#: Rec. 709 luminance weights for a 3-channel linear RGB input.
_REC709 = (0.2126, 0.7152, 0.0722)
#: The reported curve: 0 … 1 cy/px every 0.01.
_CURVE_STEP = 0.01
_CURVE_MAX = 1.0
_NYQUIST = 0.5
_MAX_DERIVATIVE_CORRECTION = 10.0
#: Per-row edge locations scattering more than this (RMS, px) about the fitted line: not a straight edge.
_MAX_RESIDUAL_PX = 1.0
_MIN_SNR = 5.0
_LOW_SNR = 20.0


@dataclass(frozen=True)
class ChannelSFR(JsonResult):
    """The e-SFR of one channel of a colour ROI (frequencies: ``EdgeSFR.frequencies``)."""

    channel: int
    angle_deg: float | None
    edge_offset: float | None  # px across the edge at the ROI centre, relative to the luminance edge
    mtf50: float | None
    mtf10: float | None
    mtf20: float | None
    mtf50p: float | None
    sharpening: float | None
    mtf_at_nyquist: float | None
    mtf: tuple[float, ...]


@dataclass(frozen=True)
class EdgeSFR(HasFindings):
    """The e-SFR of one slanted edge: the curve, its metrics (names as in the QA metric table) and findings.

    Frequencies are cycles per pixel across the edge. ``angle_deg`` is the signed angle between the edge
    and the nearest image axis (``orientation``): positive when a near-vertical edge leans right going
    down, or a near-horizontal one falls going right (image y points down). ``misregistration`` (px) is
    the largest distance, across the edge at the ROI centre, between the edges fitted in the colour
    channels: the component of the channel shift perpendicular to the edge.
    """

    _json_properties: ClassVar[tuple[str, ...]] = ("is_valid",)

    roi: tuple[int, int, int, int]  # x, y, width, height in the image
    orientation: str  # "vertical" | "horizontal" | "unknown"
    angle_deg: float | None
    frequencies: tuple[float, ...]
    mtf: tuple[float, ...]
    mtf50: float | None
    mtf10: float | None
    mtf20: float | None
    mtf50p: float | None
    sampling_efficiency: float | None  # %
    sharpening: float | None  # peak MTF up to Nyquist
    mtf_at_nyquist: float | None
    misregistration: float | None  # px; None for one channel
    edge_contrast: float | None  # light/dark plateau ratio (None when the dark plateau is not above 0)
    edge_snr: float | None  # edge step / pixel noise (None when the noise measures 0)
    rows_used: int
    channels: tuple[ChannelSFR, ...]
    findings: list[Finding] = field(default_factory=list)
    esf: np.ndarray | None = field(default=None, repr=False, compare=False, metadata=NOT_IN_JSON)
    lsf: np.ndarray | None = field(default=None, repr=False, compare=False, metadata=NOT_IN_JSON)

    def metrics(self) -> dict[str, float | None]:
        """The metrics under the QA table's names (plus mtf20, mtf50p, mtf_at_nyquist)."""
        return {"mtf50": self.mtf50, "mtf10": self.mtf10, "sampling_efficiency": self.sampling_efficiency,
                "sharpening": self.sharpening, "misregistration": self.misregistration, "mtf20": self.mtf20,
                "mtf50p": self.mtf50p, "mtf_at_nyquist": self.mtf_at_nyquist}

    def placed(self, box: tuple[int, int, int, int]) -> EdgeSFR:
        """This result, measured on the crop ``box`` (x, y, width, height) of a larger image, with its ``roi``
        in that image's pixels (the crop's origin added)."""
        x, y, w, h = self.roi
        return dataclasses.replace(self, roi=(int(box[0]) + x, int(box[1]) + y, w, h))


# ----------------------------------------------------------------------------------------------------------
# Edge fit


class _NoEdge(Exception):
    """An edge that cannot be measured; ``code`` is the finding's code."""

    def __init__(self, code: str, message: str, measure: float | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.measure = measure


@dataclass(frozen=True)
class _Line:
    intercept: float  # edge column (pixel-centre coordinates) at row yc
    slope: float  # columns per row
    yc: float
    rms: float
    width: float  # 5–95 % width of the LSF across the edge, px

    def at(self, rows: np.ndarray) -> np.ndarray:
        return self.intercept + self.slope * (rows - self.yc)


def _robust_fit(rows: np.ndarray, pos: np.ndarray, yc: float) -> tuple[float, float, float, np.ndarray]:
    """Least-squares line ``pos = a + b·(rows − yc)`` with outliers (3 robust σ, at least 0.5 px) refused."""
    keep = np.isfinite(pos)
    a = b = 0.0
    for _ in range(4):
        if keep.sum() < 3:
            raise _NoEdge("no_edge", "no edge: too few rows show an edge")
        b, a = np.polyfit(rows[keep] - yc, pos[keep], 1)
        res = pos - (a + b * (rows - yc))
        mad = 1.4826 * float(np.median(np.abs(res[keep])))
        new = np.isfinite(pos) & (np.abs(np.nan_to_num(res, nan=np.inf)) <= max(3.0 * mad, 0.5))
        if np.array_equal(new, keep):
            break
        keep = new
    res = pos - (a + b * (rows - yc))
    rms = float(np.sqrt(np.mean(res[keep] ** 2))) if keep.any() else math.inf
    return float(a), float(b), rms, keep


def _band(d: np.ndarray, centre: np.ndarray, reach: int) -> tuple[np.ndarray, np.ndarray]:
    """The derivative samples within ``reach`` columns of each row's ``centre`` (0 beyond the ROI), and their
    positions: two (rows × (2·reach + 1)) arrays, so that a large ROI costs a band, not its area."""
    nd = d.shape[1]
    cols = np.floor(centre).astype(np.int64)[:, None] + np.arange(-reach, reach + 1)[None, :]
    inside = (cols >= 0) & (cols < nd)
    cols = np.clip(cols, 0, nd - 1)
    return np.take_along_axis(d, cols, axis=1) * inside, cols + 0.5


def _lsf_width(d: np.ndarray, centre: np.ndarray) -> float:
    """5–95 % width (px) of the row derivatives ``d`` aligned on ``centre`` (per row), in 1/2-px bins."""
    reach = min(d.shape[1], 96)
    while True:
        vals, x = _band(d, centre, reach)
        k = np.floor((x - centre[:, None]).ravel() * 2).astype(np.int64)
        k -= k.min()
        sums = np.bincount(k, weights=vals.ravel())
        counts = np.bincount(k)
        prof = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
        peak = int(np.argmax(prof))
        # the edge's own extent: walk out from the peak while the profile stays above 2 % of it
        lim = 0.02 * prof[peak]
        lo = peak
        while lo > 0 and prof[lo - 1] > lim:
            lo -= 1
        hi = peak
        while hi < prof.size - 1 and prof[hi + 1] > lim:
            hi += 1
        if (lo > 0 and hi < prof.size - 1) or reach >= d.shape[1]:
            break
        reach = d.shape[1]  # a very wide edge: look at whole rows
    seg = np.clip(prof[lo:hi + 1], 0.0, None)
    cum = np.cumsum(seg)
    if cum[-1] <= 0:
        return 1.0
    cum /= cum[-1]
    i5 = int(np.searchsorted(cum, 0.05))
    i95 = int(np.searchsorted(cum, 0.95))
    return max(0.5, (i95 - i5 + 1) / 2.0)


def _fit_edge(a: np.ndarray) -> _Line:
    """Fit the near-vertical edge of ``a`` (rows × columns, linear): per-row windowed centroids, a line."""
    nrow = a.shape[0]
    rows = np.arange(nrow, dtype=np.float64)
    yc = (nrow - 1) / 2.0
    d = np.diff(a, axis=1)
    if d.sum() < 0:
        d = -d
    # pass 1: the maximum of the lightly smoothed derivative of each row
    ds = d.copy()
    ds[:, 1:] += d[:, :-1]
    ds[:, :-1] += d[:, 1:]
    pos = np.argmax(ds, axis=1) + 0.5
    del ds
    a0, b0, _, _ = _robust_fit(rows, pos, yc)
    line = _Line(a0, b0, yc, math.inf, 1.0)
    for _ in range(2):
        centre = line.at(rows)
        width = _lsf_width(d, centre)
        half = max(4.0, 2.0 * width)
        vals, x = _band(d, centre, math.ceil(half) + 1)
        off = x - centre[:, None]
        win = np.where(np.abs(off) < half, 0.54 + 0.46 * np.cos(np.pi * off / half), 0.0)
        wd = win * vals
        mass = wd.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            pos = np.where(mass > 0, (wd * x).sum(axis=1) / mass, np.nan)
        a1, b1, rms, _ = _robust_fit(rows, pos, yc)
        line = _Line(a1, b1, yc, rms, width)
    return line


# ----------------------------------------------------------------------------------------------------------
# ESF → MTF


@dataclass(frozen=True)
class _Curve:
    freq: np.ndarray  # fine grid, cy/px
    mtf: np.ndarray
    esf: np.ndarray
    lsf: np.ndarray
    gaps: float  # share of empty 1/4-px bins


def _sfr_curve(a: np.ndarray, line: _Line, plain: bool) -> tuple[_Curve, int]:
    """The 4× super-sampled ESF of ``a`` about ``line``, and its derivative-corrected MTF."""
    nrow, ncol = a.shape
    slope = abs(line.slope)
    cycles = math.floor(nrow * slope + 1e-9)
    if cycles < 1:
        need = math.ceil(1.0 / slope) if slope > 0 else 0
        raise _NoEdge("too_few_rows", f"the ROI's {nrow} rows do not span one pixel phase cycle of this edge "
                      f"(angle {math.degrees(math.atan(line.slope)):.2f}°): it needs at least {need} rows",
                      float(nrow))
    used = min(nrow, max(2, round(cycles / slope)))
    first = (nrow - used) // 2
    rows = np.arange(first, first + used, dtype=np.float64)
    block = a[first:first + used]
    cos = 1.0 / math.sqrt(1.0 + line.slope**2)
    edge_at = line.at(rows)
    lo_common = float(((0 - edge_at) * cos).max())  # the distance range every row covers, px
    hi_common = float(((ncol - 1 - edge_at) * cos).min())
    if hi_common - lo_common < 4.0 or lo_common > -1.0 or hi_common < 1.0:
        raise _NoEdge("edge_outside_roi", "the edge does not cross the ROI with room on both sides")
    kmin = math.ceil(lo_common * _NBIN)
    kmax = math.floor(hi_common * _NBIN) - 1
    n = kmax - kmin + 1
    counts = np.zeros(n, dtype=np.int64)
    sums = np.zeros(n)
    where = np.zeros(n)
    columns = np.arange(ncol)
    for start in range(0, used, 256):  # in strips of rows, so that a large ROI needs little memory
        stop = min(start + 256, used)
        p = (columns[None, :] - edge_at[start:stop, None]) * cos  # perpendicular distance, px
        k = np.floor(p * _NBIN).astype(np.int64)
        sel = (k >= kmin) & (k <= kmax)
        idx = k[sel] - kmin
        counts += np.bincount(idx, minlength=n)
        sums += np.bincount(idx, weights=block[start:stop][sel], minlength=n)
        where += np.bincount(idx, weights=p[sel] * _NBIN - kmin - 0.5, minlength=n)
    filled = counts > 0
    if filled.sum() < 0.5 * n:
        raise _NoEdge("too_few_rows", "too few rows to fill the 4× super-sampled edge profile")
    centres = np.arange(n, dtype=np.float64)
    if plain:  # sfrmat: each bin's mean at the bin's centre
        esf = np.interp(centres, centres[filled], sums[filled] / counts[filled])
    else:  # each bin's mean at its pixels' mean distance, interpolated back onto the bin centres
        esf = np.interp(centres, where[filled] / counts[filled], sums[filled] / counts[filled])
    gaps = float(1.0 - filled.mean())
    lsf = np.zeros(n)
    lsf[1:-1] = (esf[2:] - esf[:-2]) / 2.0
    if lsf.sum() < 0:
        lsf = -lsf
    # Hamming window centred on the edge (perpendicular distance 0 lies at bin -kmin - 0.5)
    centre = -kmin - 0.5
    half = max(centre, n - 1 - centre)
    win = 0.54 + 0.46 * np.cos(np.pi * (centres - centre) / half)
    wlsf = lsf * win
    size = max(8192, 1 << (4 * n - 1).bit_length())
    spec = np.abs(np.fft.rfft(wlsf, size))
    if spec[0] <= 0:
        raise _NoEdge("no_edge", "no edge: the line spread function has no area")
    freq = np.arange(spec.size) * (_NBIN / size)
    mtf = spec / spec[0]
    corr = np.sinc(2.0 * freq / _NBIN)
    if not plain:  # each bin averages the ESF over 1/4 px: a box filter
        corr = corr * np.sinc(freq / _NBIN)
    mtf = mtf / np.maximum(corr, 1.0 / _MAX_DERIVATIVE_CORRECTION)
    return _Curve(freq, mtf, esf, lsf, gaps), used


def _crossing(freq: np.ndarray, mtf: np.ndarray, level: float, start: int = 0) -> float | None:
    """First frequency at or after index ``start`` where ``mtf`` falls below ``level`` (linear), ≤ 1 cy/px."""
    top = int(np.searchsorted(freq, _CURVE_MAX, side="right"))
    below = np.nonzero(mtf[start:top] < level)[0]
    if below.size == 0:
        return None
    i = start + int(below[0])
    if i == 0:
        return 0.0
    f0, f1, m0, m1 = freq[i - 1], freq[i], mtf[i - 1], mtf[i]
    return float(f0 + (m0 - level) * (f1 - f0) / (m0 - m1))


@dataclass(frozen=True)
class _Measure:
    mtf50: float | None
    mtf10: float | None
    mtf20: float | None
    mtf50p: float | None
    sharpening: float
    mtf_at_nyquist: float
    curve: tuple[float, ...]


def _measure(curve: _Curve) -> _Measure:
    f, m = curve.freq, curve.mtf
    nyq = int(np.searchsorted(f, _NYQUIST, side="right"))
    peak_i = int(np.argmax(m[:nyq]))
    peak = float(m[peak_i])
    grid = np.round(np.arange(0.0, _CURVE_MAX + _CURVE_STEP / 2, _CURVE_STEP), 10)
    samples = np.interp(grid, f, m)
    return _Measure(
        mtf50=_crossing(f, m, 0.5), mtf10=_crossing(f, m, 0.1), mtf20=_crossing(f, m, 0.2),
        mtf50p=_crossing(f, m, 0.5 * peak, peak_i), sharpening=max(1.0, peak),
        mtf_at_nyquist=float(np.interp(_NYQUIST, f, m)),
        curve=tuple(round(float(v), 5) for v in samples))


# ----------------------------------------------------------------------------------------------------------
# The public function


def _check_roi(roi: Any, height: int, width: int) -> tuple[int, int, int, int]:
    if roi is None:
        x, y, w, h = 0, 0, width, height
    else:
        try:
            x, y, w, h = (int(v) for v in roi)
        except (TypeError, ValueError):
            raise InvalidParameterError(f"roi must be four integers (x, y, width, height), not {roi!r}") from None
        if any(int(v) != v for v in roi):
            raise InvalidParameterError(f"roi must be four integers (x, y, width, height), not {roi!r}")
    if w < _MIN_ROI or h < _MIN_ROI:
        raise InvalidParameterError(f"the ROI is {w}×{h} pixels: an e-SFR needs at least {_MIN_ROI}×{_MIN_ROI} "
                                    "(ISO 12233 suggests 60+ pixels along the edge)")
    if x < 0 or y < 0 or x + w > width or y + h > height:
        raise InvalidParameterError(f"roi {(x, y, w, h)} (x, y, width, height) lies outside the {width}×{height} "
                                    "image")
    return x, y, w, h


def _linearise(block: np.ndarray, dtype: np.dtype[Any], linear: bool, gamma: float | None) -> np.ndarray:
    if linear:
        if gamma is not None:
            raise InvalidParameterError("gamma is only used with linear=False (the data are then x**gamma)")
        return block
    if gamma is None or not math.isfinite(gamma) or gamma <= 0:
        raise InvalidParameterError(f"linear=False needs a finite gamma > 0 to linearise the data, not {gamma!r}")
    if np.issubdtype(dtype, np.integer):
        block = block / float(np.iinfo(dtype).max)
    return np.power(np.clip(block, 0.0, None), gamma)


def _empty(roi: tuple[int, int, int, int], orientation: str, finding: Finding,
           angle: float | None = None) -> EdgeSFR:
    return EdgeSFR(roi=roi, orientation=orientation, angle_deg=angle, frequencies=(), mtf=(), mtf50=None,
                   mtf10=None, mtf20=None, mtf50p=None, sampling_efficiency=None, sharpening=None,
                   mtf_at_nyquist=None, misregistration=None, edge_contrast=None, edge_snr=None, rows_used=0,
                   channels=(), findings=[finding])


def _plateaus(a: np.ndarray, line: _Line) -> tuple[float, float]:
    """Mean levels on the two sides of the edge, beyond 2 LSF widths (dark, light)."""
    rows = np.arange(a.shape[0], dtype=np.float64)
    off = np.arange(a.shape[1])[None, :] - line.at(rows)[:, None]
    gap = max(2.0, 2.0 * line.width)
    left, right = a[off < -gap], a[off > gap]
    if left.size == 0 or right.size == 0:
        left, right = a[off < 0], a[off > 0]
    lv, rv = float(left.mean()), float(right.mean())
    return min(lv, rv), max(lv, rv)


def _noise(a: np.ndarray) -> float:
    """Pixel noise σ from the differences along the edge (rows), which the edge hardly touches."""
    dv = np.diff(a, axis=0)
    return float(1.4826 * np.median(np.abs(dv - np.median(dv))) / math.sqrt(2.0))


def slanted_edge_sfr(image: np.ndarray, *, roi: tuple[int, int, int, int] | None = None, linear: bool = True,
                     gamma: float | None = None, weights: tuple[float, ...] | None = None,
                     plain_binning: bool = False) -> EdgeSFR:
    """The ISO 12233 e-SFR of the slanted edge in ``roi`` of ``image`` (see the module docstring).

    ``image``: 2-D (one channel) or 3-D (height, width, channels) array, linear light at any scale.
    A colour image is measured on its luminance (Rec. 709 weights for 3 channels and for RGBA, whose
    alpha is dropped; the channel mean otherwise) and on every channel (``channels``,
    ``misregistration``). ``roi``: (x, y, width, height) in pixels, the whole image when None; it must
    hold one straight edge crossing it from side to side, tilted 1–40° (ISO: about 5°) from a pixel
    axis, with at least ~4.5 LSF widths of flat ground on each side (a ``narrow_roi`` warning
    otherwise). ``linear=False, gamma=g`` linearises by ``x**g``.
    ``weights``: the luminance weights of the channels (Rec. 709 is right for linear sRGB/Rec. 709
    primaries only). ``plain_binning``: bin as sfrmat3/4 do (see the module docstring).
    """
    arr = np.asarray(image)
    if arr.ndim not in (2, 3) or arr.size == 0 or (arr.ndim == 3 and arr.shape[2] < 1):
        raise InvalidParameterError(f"image must be a non-empty 2-D (H, W) or 3-D (H, W, C) array, not shape "
                                    f"{arr.shape}")
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise InvalidParameterError(f"image must hold integer or float pixels, not {arr.dtype}")
    box = _check_roi(roi, arr.shape[0], arr.shape[1])
    x, y, w, h = box
    nch = 1 if arr.ndim == 2 else arr.shape[2]
    if weights is not None and (len(weights) != nch or not all(math.isfinite(v) for v in weights)
                                or not sum(weights) > 0):
        raise InvalidParameterError(f"weights must be {nch} finite numbers with a positive sum, not {weights!r}")
    block = arr[y:y + h, x:x + w].astype(np.float64)
    block = _linearise(block, arr.dtype, linear, gamma)
    if block.ndim == 2:
        block = block[:, :, None]
    elif nch == 4 and weights is None:  # RGBA: the alpha channel is not an image channel
        block, nch = block[:, :, :3], 3
    bad = int(np.count_nonzero(~np.isfinite(block)))
    if bad:
        return _empty(box, "unknown", Finding("error", "non_finite_pixels",
                                              f"the ROI holds {bad} NaN or infinite values", count=bad))
    if nch == 1:
        lum = block[:, :, 0]
    else:
        if weights is None:
            weights = _REC709 if nch == 3 else (1.0 / nch,) * nch
        lum = block @ np.asarray(weights, dtype=np.float64)
    # orientation: the structure tensor of the luminance gradients
    gx = np.diff(lum, axis=1)[:-1, :]
    gy = np.diff(lum, axis=0)[:, :-1]
    horizontal = float((gy * gy).sum()) > float((gx * gx).sum())
    orientation = "horizontal" if horizontal else "vertical"
    if horizontal:
        block = block.transpose(1, 0, 2)
        lum = lum.T
    lum = np.ascontiguousarray(lum)
    findings: list[Finding] = []

    sigma = _noise(lum)
    q = max(1, lum.shape[1] // 10)
    step = abs(float(lum[:, -q:].mean() - lum[:, :q].mean()))
    scale = float(np.abs(lum).max())
    if step <= 1e-9 * max(scale, 1e-300) or step < _MIN_SNR * sigma:
        return _empty(box, orientation, Finding(
            "error", "no_edge", f"no edge in the ROI: the two sides differ by {step:.4g}, the pixel noise is "
            f"{sigma:.4g}", measure=step / sigma if sigma > 0 else None))
    try:
        line = _fit_edge(lum)
    except _NoEdge as err:
        return _empty(box, orientation, Finding("error", err.code, err.message, measure=err.measure))
    angle = math.degrees(math.atan(line.slope))
    if line.rms > _MAX_RESIDUAL_PX:
        return _empty(box, orientation, Finding(
            "error", "edge_not_straight", f"no straight edge: the per-row edge locations scatter {line.rms:.2f} px "
            "about the fitted line", measure=line.rms), angle)
    if abs(angle) < _MIN_ANGLE_DEG:
        return _empty(box, orientation, Finding(
            "error", "edge_angle_too_small", f"the edge is {abs(angle):.2f}° from the {orientation} axis: the "
            f"e-SFR needs at least {_MIN_ANGLE_DEG}° (ISO 12233 suggests about 5°)", measure=angle), angle)
    if abs(angle) > _MAX_ANGLE_DEG:
        return _empty(box, orientation, Finding(
            "error", "edge_angle_too_large", f"the edge is {abs(angle):.2f}° from the {orientation} axis, too "
            f"close to 45° (at most {_MAX_ANGLE_DEG}°; ISO 12233 suggests about 5°)", measure=angle), angle)
    try:
        curve, used = _sfr_curve(lum, line, plain_binning)
    except _NoEdge as err:
        return _empty(box, orientation, Finding("error", err.code, err.message, measure=err.measure), angle)
    if curve.gaps > 0.02:
        findings.append(Finding(
            "warning", "critical_angle", f"at {abs(angle):.2f}° the pixels fall on too few sub-pixel phases: "
            f"{100 * curve.gaps:.0f} % of the 1/4-px bins are empty and the MTF is biased near Nyquist; turn the "
            "target a little (about 5° is best)", measure=curve.gaps))
    half_range = len(curve.esf) / (2.0 * _NBIN)
    if half_range < 4.5 * line.width:
        findings.append(Finding(
            "warning", "narrow_roi", f"the ROI leaves {half_range:.0f} px on each side of the edge for a line spread "
            f"{line.width:.1f} px wide: the window cuts its tails and raises the MTF; widen the ROI across the edge",
            measure=half_range))
    dark, light = _plateaus(lum, line)
    snr = (light - dark) / sigma if sigma > 0 else math.inf
    if snr < _LOW_SNR:
        findings.append(Finding("warning", "low_edge_snr", f"the edge step is only {snr:.1f}× the pixel noise: "
                                "the SFR is noisy", measure=snr))
    if line.rms > 0.3:
        findings.append(Finding("warning", "edge_rough", f"the per-row edge locations scatter {line.rms:.2f} px "
                                "about the fitted line", measure=line.rms))
    meas = _measure(curve)
    if meas.mtf10 is None:
        findings.append(Finding("info", "mtf10_beyond_1", "the MTF stays above 0.1 up to 1 cy/px"))

    channels: list[ChannelSFR] = []
    misregistration: float | None = None
    if nch > 1:
        cos = 1.0 / math.sqrt(1.0 + line.slope**2)
        offsets: list[float] = []
        for c in range(nch):
            plane = np.ascontiguousarray(block[:, :, c])
            try:
                cl = _fit_edge(plane)
                ccurve, _ = _sfr_curve(plane, cl, plain_binning)
            except _NoEdge as err:
                findings.append(Finding("warning", "channel_" + err.code, f"channel {c}: {err.message}"))
                channels.append(ChannelSFR(c, None, None, None, None, None, None, None, None, ()))
                continue
            cm = _measure(ccurve)
            off = (cl.intercept - line.intercept) * cos
            offsets.append(off)
            channels.append(ChannelSFR(c, math.degrees(math.atan(cl.slope)), off, cm.mtf50, cm.mtf10, cm.mtf20,
                                       cm.mtf50p, cm.sharpening, cm.mtf_at_nyquist, cm.curve))
        if len(offsets) > 1:
            misregistration = max(offsets) - min(offsets)
    efficiency = 100.0 * min(meas.mtf10 if meas.mtf10 is not None else math.inf, _NYQUIST) / _NYQUIST
    grid = tuple(round(v, 4) for v in np.arange(0.0, _CURVE_MAX + _CURVE_STEP / 2, _CURVE_STEP).tolist())
    return EdgeSFR(roi=box, orientation=orientation, angle_deg=angle, frequencies=grid, mtf=meas.curve,
                   mtf50=meas.mtf50, mtf10=meas.mtf10, mtf20=meas.mtf20, mtf50p=meas.mtf50p,
                   sampling_efficiency=efficiency, sharpening=meas.sharpening, mtf_at_nyquist=meas.mtf_at_nyquist,
                   misregistration=misregistration, edge_contrast=light / dark if dark > 0 else None,
                   edge_snr=snr if math.isfinite(snr) else None, rows_used=used, channels=tuple(channels),
                   findings=findings, esf=curve.esf, lsf=curve.lsf)


def scale_roi(roi: tuple[int, int, int, int], factor: float, *, shape: tuple[int, ...] | None = None
              ) -> tuple[int, int, int, int]:
    """``roi`` found on an image downsampled by ``factor`` (e.g. 4) in full-resolution pixels.

    The box keeps its centre and grows by ``factor``; with ``shape`` (height, width, …) it is clipped to
    the image.
    """
    if not factor > 0:
        raise InvalidParameterError(f"the scale factor must be > 0, not {factor!r}")
    x, y, w, h = roi
    x0, y0 = math.floor(x * factor), math.floor(y * factor)
    x1, y1 = math.ceil((x + w) * factor), math.ceil((y + h) * factor)
    if shape is not None:
        x0, y0 = max(0, x0), max(0, y0)
        x1, y1 = min(int(shape[1]), x1), min(int(shape[0]), y1)
    return x0, y0, x1 - x0, y1 - y0



# ----------------------------------------------------------------------------------------------------------
# Finding slanted edges

#: Hough accumulator resolution: edge angle (degrees) and offset (px).
_HOUGH_STEP_DEG = 0.25
#: Each edge pixel votes for the angle its gradient gives, ± this many bins (noise in the gradient direction).
_HOUGH_SPREAD = 4
#: At most this many edge pixels enter the transform (the strongest), to bound the time on cluttered images.
_MAX_EDGE_PIXELS = 400_000
#: Lines tried before giving up.
_MAX_CANDIDATES = 40


@dataclass(frozen=True)
class _Pixels:
    """Strong-gradient pixels of one family, in (u across, v along) coordinates of the edge."""

    u: np.ndarray
    v: np.ndarray
    tan: np.ndarray  # tan of the edge angle each pixel's gradient gives
    sign: np.ndarray  # polarity: sign of the across-edge gradient


def _sobel(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sobel gradients of ``g`` at its interior pixels (index [i, j] is pixel [i + 1, j + 1])."""
    dx = g[:, 2:] - g[:, :-2]
    gx = dx[:-2] + 2.0 * dx[1:-1] + dx[2:]
    dy = g[2:, :] - g[:-2, :]
    gy = dy[:, :-2] + 2.0 * dy[:, 1:-1] + dy[:, 2:]
    return gx, gy


def _family(ys: np.ndarray, xs: np.ndarray, gx: np.ndarray, gy: np.ndarray, vertical: bool) -> _Pixels:
    if vertical:  # u = x, v = y; the edge runs along y
        u, v, gu, gv = xs, ys, gx, gy
    else:
        u, v, gu, gv = ys, xs, gy, gx
    limit = math.tan(math.radians(_MAX_ANGLE_DEG + 1.0))
    keep = np.abs(gv) <= limit * np.abs(gu)
    gu, gv = gu[keep], gv[keep]
    return _Pixels(u[keep].astype(np.float64), v[keep].astype(np.float64), -gv / gu, np.sign(gu))


@dataclass(frozen=True)
class _Hough:
    """Accumulator of lines ``u = u0 + tan·v``: 0.25° angle cells × 1 px offset cells, each pixel voting for
    the angles its gradient allows (± ``_HOUGH_SPREAD`` cells) at offsets u0 − 1 … u0 + 1."""

    tans: np.ndarray
    umin: float
    nu: int
    acc: np.ndarray  # flat, (angles × offsets)

    @classmethod
    def build(cls, pix: _Pixels, ulen: int, vlen: int) -> _Hough:
        amax = _MAX_ANGLE_DEG + 1.0
        na = round(2 * amax / _HOUGH_STEP_DEG) + 1
        tans = np.tan(np.radians(np.linspace(-amax, amax, na)))
        reach = math.tan(math.radians(amax)) * vlen
        hough = cls(tans, -reach - 2.0, int(ulen + 2 * reach + 5), np.zeros(0, np.int64))
        acc = np.bincount(hough.cells(pix, np.arange(pix.u.size)), minlength=na * hough.nu)
        return dataclasses.replace(hough, acc=acc)

    def cells(self, pix: _Pixels, which: np.ndarray) -> np.ndarray:
        """The flat accumulator cells the pixels ``which`` vote for."""
        na = self.tans.size
        amax = _MAX_ANGLE_DEG + 1.0
        u, v = pix.u[which], pix.v[which]
        ia = np.rint((np.degrees(np.arctan(pix.tan[which])) + amax) / _HOUGH_STEP_DEG).astype(np.int64)
        parts = []
        for o in range(-_HOUGH_SPREAD, _HOUGH_SPREAD + 1):
            ja = ia + o
            ok = (ja >= 0) & (ja < na)
            ja = ja[ok]
            ju = np.rint(u[ok] - self.tans[ja] * v[ok] - self.umin).astype(np.int64)
            for du in (-1, 0, 1):
                ku = ju + du
                ok2 = (ku >= 0) & (ku < self.nu)
                parts.append(ja[ok2] * self.nu + ku[ok2])
        return np.concatenate(parts)

    def remove(self, pix: _Pixels, which: np.ndarray) -> None:
        if which.size:
            np.subtract.at(self.acc, self.cells(pix, which), 1)

    def suppress(self, u0: float, tan: float) -> None:
        """Zero the cell of line (u0, tan), so that a peak no pixel explains cannot come back."""
        ja = int(np.argmin(np.abs(self.tans - tan)))
        ju = round(u0 - self.umin)
        if 0 <= ju < self.nu:
            self.acc[ja * self.nu + ju] = 0

    def peak(self) -> tuple[int, float, float]:
        """The strongest line: (votes, u0, tan)."""
        best = int(np.argmax(self.acc))
        ja, ju = divmod(best, self.nu)
        return int(self.acc[best]), float(ju + self.umin), float(self.tans[ja])


def _longest_run(v: np.ndarray, gap: float) -> tuple[float, float, np.ndarray]:
    """The longest run of sorted-``v`` values with no gap wider than ``gap``: (start, end, mask of members)."""
    order = np.argsort(v)
    sv = v[order]
    breaks = np.nonzero(np.diff(sv) > gap)[0]
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [sv.size - 1]))
    k = int(np.argmax(sv[ends] - sv[starts]))
    member = np.zeros(v.size, dtype=bool)
    member[order[starts[k]:ends[k] + 1]] = True
    return float(sv[starts[k]]), float(sv[ends[k]]), member


def _candidate_roi(mag: np.ndarray, clear: float, u0: float, tan: float, v0: float, v1: float, band: float,
                   vertical: bool, min_size: int, max_size: int) -> tuple[int, int, int, int] | None:
    """An axis-aligned ROI about the middle of the segment ``v0…v1`` of line ``u = u0 + tan·(v − vc)``
    (``u0`` already at ``vc = 0``) holding no other gradient above ``clear``: (x, y, w, h) in ``mag``'s
    pixels."""
    hgt, wid = mag.shape
    vlen, ulen = (hgt, wid) if vertical else (wid, hgt)
    length = v1 - v0
    h = min(float(max_size), 0.6 * length)
    if h < min_size:
        return None
    vm = 0.5 * (v0 + v1)
    ra, rb = round(vm - h / 2), round(vm + h / 2)
    ra, rb = max(ra, 0), min(rb, vlen)
    h = rb - ra
    if h < min_size:
        return None
    ua, ub = u0 + tan * ra, u0 + tan * rb
    lo_u, hi_u = min(ua, ub), max(ua, ub)
    reach = max(h / 2.0, min_size / 2.0, 4.0 * band)
    reach = min(reach, max_size / 2.0)
    ca, cb = max(0, math.floor(lo_u - reach)), min(ulen, math.ceil(hi_u + reach) + 1)
    sub = mag[ra:rb, ca:cb] if vertical else mag[ca:cb, ra:rb].T
    vv, uu = np.nonzero(sub > clear)
    du = (uu + ca) - (u0 + tan * (vv + ra))
    guard = 2.0
    m = reach
    own = band
    for side in (-du[du < 0], du[du >= 0]):
        # the edge's own band: the run of occupied 1-px distance bins from the line; then a gap; then others
        counts = np.bincount(np.floor(side).astype(np.int64), minlength=1) if side.size else np.zeros(1, np.int64)
        empty = np.nonzero(counts == 0)[0]
        first_gap = int(empty[0]) if empty.size else counts.size
        own = max(own, float(first_gap))
        beyond = np.nonzero(counts[first_gap:])[0]
        if beyond.size:
            m = min(m, float(first_gap + beyond[0]) - guard)
    band = own
    # the edge must have room on both sides inside the image too
    m = min(m, lo_u, ulen - 1 - hi_u)
    if m < max(6.0, 3.0 * band):
        return None
    ua0, ua1 = math.floor(lo_u - m), math.ceil(hi_u + m) + 1
    ua0, ua1 = max(ua0, 0), min(ua1, ulen)
    if ua1 - ua0 < min_size:
        return None
    if vertical:
        return ua0, ra, ua1 - ua0, h
    return ra, ua0, h, ua1 - ua0


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    """Whether the boxes share more than a third of the smaller one (the same edge found twice)."""
    ox = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    oy = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return ox > 0 and oy > 0 and ox * oy > min(a[2] * a[3], b[2] * b[3]) / 3


def find_slanted_edges(image: np.ndarray, *, max_edges: int = 4, min_size: int = 32,
                       max_size: int = 400) -> list[tuple[int, int, int, int]]:
    """ROIs (x, y, width, height) around straight edges tilted 1–40° from an image axis, best first.

    For a slanted-edge target: a dark square (or bar) on a light ground, turned a few degrees, in any
    surroundings. The method: Sobel gradients of the luminance (channel mean for colour); pixels above a
    threshold (a fifth of the 99.9th percentile of the gradient, at least six times its median) vote in
    a Hough transform constrained by their own gradient direction (0.25° × 1 px cells, edges within 41°
    of vertical, then of horizontal); the strongest line is taken, its longest run of agreeing pixels
    (same polarity, direction within 5°, gaps ≤ 3 px) becomes a segment, its pixels leave the vote, and so
    on. Each segment of at least ``min_size`` / 0.6 px yields a ROI over its middle 60 % (at most
    ``max_size`` along the edge), as wide on each side of the edge as the nearest other gradient allows
    (at most half its length): one edge per ROI, crossing it from side to side. A ROI is kept only when
    ``slanted_edge_sfr`` measures it without an error, and when it does not cover a third of a better one
    (ROIs of neighbouring sides of a square may share a corner of flat ground).

    It finds straight edges at least ~``min_size`` / 0.6 px long with a step well above the noise (tested
    down to an edge SNR of 16). It does not find edges closer than 1° to an axis or within 5° of 45°,
    curved edges, shorter edges, edges whose gradient is under a fifth of the strongest in the image
    (the threshold follows the strongest gradients), edges with other gradients within a few pixels on
    both sides along their whole middle, or the wedges and stars of other resolution targets. It ranks
    by the number of edge pixels, not by where an edge lies in the frame.

    Run it on a downsampled copy (a 100-megapixel capture shrunk 4× to ~3000×2000 px: about 0.3 s) and
    bring the ROIs back to full resolution with ``scale_roi``: the edge and its clearances scale with
    the box.
    """
    arr = np.asarray(image)
    if arr.ndim not in (2, 3) or arr.size == 0:
        raise InvalidParameterError(f"image must be a non-empty 2-D (H, W) or 3-D (H, W, C) array, not shape "
                                    f"{arr.shape}")
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise InvalidParameterError(f"image must hold integer or float pixels, not {arr.dtype}")
    if max_edges < 1:
        raise InvalidParameterError(f"max_edges must be at least 1, not {max_edges}")
    if min_size < _MIN_ROI or max_size < min_size:
        raise InvalidParameterError(f"need {_MIN_ROI} <= min_size <= max_size, not min_size={min_size}, "
                                    f"max_size={max_size}")
    g = arr.astype(np.float32)
    if g.ndim == 3:
        g = g.mean(axis=2)
    hgt, wid = g.shape
    if min(hgt, wid) < min_size + 2:
        return []
    finite = np.isfinite(g)
    if not finite.all():
        g = np.where(finite, g, np.float32(np.median(g[finite]) if finite.any() else 0.0))
    gx, gy = _sobel(g)
    mag = np.hypot(gx, gy)
    if not finite.all():  # no gradient next to a non-finite pixel
        bad = ~finite
        near = bad[:-2, :-2] | bad[:-2, 1:-1] | bad[:-2, 2:] | bad[1:-1, :-2] | bad[1:-1, 1:-1] | bad[1:-1, 2:] \
            | bad[2:, :-2] | bad[2:, 1:-1] | bad[2:, 2:]
        mag[near] = 0.0
    sample = mag[::3, ::3]
    top = float(np.percentile(sample, 99.9))
    # the gradient's median is its noise (Rayleigh: 1.18 σ); 6 medians are beyond any noise pixel
    noise = float(np.median(sample))
    thr = max(0.2 * top, 6.0 * noise)
    if not top > 0:
        return []
    strong = mag > thr
    if int(strong.sum()) > _MAX_EDGE_PIXELS:
        thr = float(np.partition(mag.ravel(), mag.size - _MAX_EDGE_PIXELS)[mag.size - _MAX_EDGE_PIXELS])
        strong = mag > thr
    ys, xs = np.nonzero(strong)
    sgx, sgy = gx[ys, xs].astype(np.float64), gy[ys, xs].astype(np.float64)
    gray = g  # full image, for the SFR check (mag index + 1 = image index)

    found: list[tuple[int, tuple[int, int, int, int]]] = []
    for vertical in (True, False):
        pix = _family(ys, xs, sgx, sgy, vertical)
        if pix.u.size == 0:
            continue
        alive = np.ones(pix.u.size, dtype=bool)
        vlen, ulen = (mag.shape[0], mag.shape[1]) if vertical else (mag.shape[1], mag.shape[0])
        hough = _Hough.build(pix, ulen, vlen)
        for _ in range(_MAX_CANDIDATES):
            votes, u0, tan = hough.peak()
            peak_u0, peak_tan = u0, tan
            if votes < min_size:
                break
            if len(found) >= max_edges and votes < min(n for n, _ in found):
                break  # nothing left can outrank what is found
            du = pix.u - (u0 + tan * pix.v)
            near = alive & (np.abs(du) <= 2.0)
            tol = math.tan(math.radians(5.0))
            agree = near & (np.abs(pix.tan - tan) <= tol * (1.0 + tan * tan))
            if agree.sum() < 3:
                hough.remove(pix, np.nonzero(near)[0])
                hough.suppress(u0, tan)
                alive &= ~near
                continue
            polarity = 1.0 if (pix.sign[agree] > 0).sum() >= (pix.sign[agree] < 0).sum() else -1.0
            agree &= pix.sign == polarity
            idx = np.nonzero(agree)[0]
            v0, v1, member = _longest_run(pix.v[idx], 3.0)
            run = idx[member]
            if run.size >= 3:  # refit the line on the run
                tan, u0 = (float(c) for c in np.polyfit(pix.v[run], pix.u[run], 1))
            du = pix.u - (u0 + tan * pix.v)
            close = np.abs(du) <= 8.0
            same = close & alive & (pix.sign == polarity) & (pix.v >= v0 - 3) & (pix.v <= v1 + 3)
            band = max(2.0, float(np.percentile(np.abs(du[same]), 95))) if same.any() else 2.0
            gone = alive & (np.abs(du) <= band + 1.0) & (pix.v >= v0 - 3) & (pix.v <= v1 + 3)
            gone[run] = True
            gone &= alive
            hough.remove(pix, np.nonzero(gone)[0])
            hough.suppress(peak_u0, peak_tan)
            alive &= ~gone
            angle = math.degrees(math.atan(tan))
            if not (_MIN_ANGLE_DEG <= abs(angle) <= _MAX_ANGLE_DEG) or v1 - v0 < min_size / 0.6:
                continue
            box = _candidate_roi(mag, max(0.5 * thr, 5.0 * noise), u0, tan, v0, v1, band, vertical, min_size, max_size)
            if box is None:
                continue
            box = (box[0] + 1, box[1] + 1, box[2], box[3])  # Sobel index → image pixel
            box = (box[0], box[1], min(box[2], wid - box[0]), min(box[3], hgt - box[1]))
            if any(_overlaps(box, other) for _, other in found):
                continue
            result = slanted_edge_sfr(gray, roi=box)
            if not result.is_valid:
                log.debug("slanted edge candidate %s refused: %s", box, result.errors[0].message)
                continue
            found.append((int(run.size), box))
    found.sort(key=lambda item: -item[0])
    return [box for _, box in found[:max_edges]]
