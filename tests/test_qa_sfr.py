"""ISO 12233 e-SFR of slanted edges, against edges whose MTF is known analytically.

Ground truth: an edge rendered point-sampled through a Gaussian blur of σ px,
``lo + (hi − lo)·Φ(d/σ)`` with ``d`` the signed distance of the pixel centre to the edge line, has
``MTF(f) = exp(−2π²σ²f²)`` across the edge: MTF50 = sqrt(ln 2 / 2π²)/σ, MTF10 = sqrt(ln 10 / 2π²)/σ.
A discrete filter applied to the rendered image multiplies that MTF by the filter's own frequency
response, evaluated along the edge normal; an unsharp mask's peak is then known too. Nothing here uses
llvscan to make an input.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.special import ndtr

from llvscan.errors import InvalidParameterError
from llvscan.imaging.qa.sfr import EdgeSFR, find_slanted_edges, scale_roi, slanted_edge_sfr

K50 = math.sqrt(math.log(2) / (2 * math.pi**2))
K10 = math.sqrt(math.log(10) / (2 * math.pi**2))


def gaussian_mtf(sigma: float, f: np.ndarray | float) -> np.ndarray:
    return np.exp(-2 * math.pi**2 * sigma**2 * np.asarray(f) ** 2)


def edge(size: int | tuple[int, int], angle_deg: float, sigma: float, *, lo: float = 0.1, hi: float = 0.9,
         horizontal: bool = False, shift: float = 0.0) -> np.ndarray:
    """A straight edge through (about) the image centre, tilted ``angle_deg`` from vertical (or horizontal)."""
    h, w = (size, size) if isinstance(size, int) else size
    t = math.radians(angle_deg)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    cx, cy = (w - 1) / 2 + 0.3, (h - 1) / 2 - 0.2
    if horizontal:
        d = (yy - cy) * math.cos(t) - (xx - cx) * math.sin(t)
    else:
        d = (xx - cx) * math.cos(t) - (yy - cy) * math.sin(t)
    return lo + (hi - lo) * ndtr((d - shift) / sigma)


def square_scene(h: int, w: int, cx: float, cy: float, side: float, angle_deg: float, sigma: float, *,
                 clutter: int = 0, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """A dark square turned ``angle_deg`` on a light ground, with random discs, boxes and noisy blots."""
    t = math.radians(angle_deg)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    u = (xx - cx) * math.cos(t) + (yy - cy) * math.sin(t)
    v = -(xx - cx) * math.sin(t) + (yy - cy) * math.cos(t)
    du, dv = np.abs(u) - side / 2, np.abs(v) - side / 2
    d = np.where((du > 0) & (dv > 0), np.hypot(du, dv), np.maximum(du, dv))  # distance outside the square
    img = 0.1 + 0.8 * ndtr(d / sigma)
    rng = np.random.default_rng(seed)
    placed = 0
    while placed < clutter:
        x0, y0 = rng.uniform(0, w), rng.uniform(0, h)
        if math.hypot(x0 - cx, y0 - cy) < side * 0.72 + 45:
            continue
        placed += 1
        kind, value = rng.integers(3), rng.uniform(0.1, 0.9)
        if kind == 0:
            img = np.where(np.hypot(xx - x0, yy - y0) < rng.uniform(4, 25), value, img)
        elif kind == 1:  # axis-aligned boxes: straight edges, but at 0°, which the e-SFR refuses
            a, b = rng.uniform(4, 30, 2)
            img = np.where((np.abs(xx - x0) < a) & (np.abs(yy - y0) < b), value, img)
        else:
            img = np.where(np.hypot(xx - x0, yy - y0) < 12, img + rng.normal(0, 0.1, img.shape), img)
    if noise:
        img = img + rng.normal(0, noise, img.shape)
    return img


# ---------------------------------------------------------------------------------------------------------
# Accuracy


@pytest.mark.parametrize("angle", [5.0, 2.0])
@pytest.mark.parametrize("sigma", [0.5, 0.75, 1.0, 1.5, 2.0, 3.0])
def test_gaussian_edge_mtf50_mtf10_and_curve(sigma, angle):
    result = slanted_edge_sfr(edge(200, angle, sigma))
    assert result.is_valid and result.findings == []
    assert result.angle_deg == pytest.approx(angle, abs=0.02)
    assert result.orientation == "vertical"
    assert result.mtf50 == pytest.approx(K50 / sigma, rel=0.02)
    assert result.mtf10 == pytest.approx(K10 / sigma, rel=0.02)
    assert result.mtf20 == pytest.approx(math.sqrt(math.log(5) / (2 * math.pi**2)) / sigma, rel=0.02)
    f, m = np.array(result.frequencies), np.array(result.mtf)
    truth = gaussian_mtf(sigma, f)
    check = truth > 0.05
    assert check.sum() >= 5
    assert np.abs(m[check] - truth[check]).max() < 0.012
    assert result.sharpening == pytest.approx(1.0, abs=0.005)  # a Gaussian never rises above DC
    assert result.mtf_at_nyquist == pytest.approx(float(gaussian_mtf(sigma, 0.5)), abs=0.01)
    expected_efficiency = 100 * min(K10 / sigma, 0.5) / 0.5
    assert result.sampling_efficiency == pytest.approx(expected_efficiency, rel=0.02)
    # a Gaussian's MTF50P (half its peak, which is DC) is its MTF50
    assert result.mtf50p == pytest.approx(result.mtf50, rel=1e-6)


def test_the_curve_is_sampled_every_hundredth_up_to_one():
    result = slanted_edge_sfr(edge(120, 5, 1.0))
    assert result.frequencies[0] == 0 and result.frequencies[-1] == pytest.approx(1.0)
    assert np.allclose(np.diff(result.frequencies), 0.01)
    assert len(result.mtf) == len(result.frequencies) == 101
    assert result.mtf[0] == pytest.approx(1.0)


@pytest.mark.parametrize("angle", [1.5, -3.0, 10.0, 20.0, -20.0])
def test_other_angles(angle):
    result = slanted_edge_sfr(edge(200, angle, 1.0))
    assert result.is_valid
    assert result.angle_deg == pytest.approx(angle, abs=0.02)
    assert result.mtf50 == pytest.approx(K50, rel=0.02)
    assert result.mtf10 == pytest.approx(K10, rel=0.02)


@pytest.mark.parametrize(("angle", "sigma"), [(5.0, 0.5), (-5.0, 1.0), (2.0, 2.0), (15.0, 1.0)])
def test_near_horizontal_edges_are_transposed(angle, sigma):
    result = slanted_edge_sfr(edge((160, 220), angle, sigma, horizontal=True))
    assert result.orientation == "horizontal"
    assert result.angle_deg == pytest.approx(angle, abs=0.02)
    assert result.mtf50 == pytest.approx(K50 / sigma, rel=0.02)
    assert result.mtf10 == pytest.approx(K10 / sigma, rel=0.02)


def test_roi_of_a_larger_image_and_polarity():
    image = np.zeros((300, 400))
    image[50:250, 100:300] = edge(200, 5, 1.2)[:, ::-1]  # light to dark
    result = slanted_edge_sfr(image, roi=(100, 50, 200, 200))
    assert result.roi == (100, 50, 200, 200)
    assert result.angle_deg == pytest.approx(-5.0, abs=0.02)
    assert result.mtf50 == pytest.approx(K50 / 1.2, rel=0.02)
    assert result.edge_contrast == pytest.approx(9.0, rel=0.01)  # 0.9 / 0.1


def test_noise_keeps_mtf50_within_five_percent():
    """σ_n = 0.01 on a 0.8 step (SNR 80): the e-SFR is noisy by nature; each of 5 seeds within 5 %."""
    rng = np.random.default_rng(12)
    errors = []
    for _ in range(5):
        image = edge(200, 5, 1.0) + rng.normal(0, 0.01, (200, 200))
        result = slanted_edge_sfr(image)
        assert result.is_valid and not result.warnings
        assert result.edge_snr == pytest.approx(80, rel=0.1)
        errors.append(result.mtf50 / K50 - 1)
    assert max(abs(e) for e in errors) < 0.05
    assert abs(float(np.mean(errors))) < 0.02


def test_low_snr_is_a_warning():
    rng = np.random.default_rng(3)
    result = slanted_edge_sfr(edge(200, 5, 1.0) + rng.normal(0, 0.06, (200, 200)))
    assert result.is_valid
    assert "low_edge_snr" in {f.code for f in result.warnings}
    assert result.mtf50 == pytest.approx(K50, rel=0.25)


def _box5(a: np.ndarray) -> np.ndarray:
    """5×5 mean (interior only; the 2-px border stays 0)."""
    out = np.zeros_like(a)
    h, w = a.shape
    for dy in range(-2, 3):
        for dx in range(-2, 3):
            out[2:-2, 2:-2] += a[2 + dy:h - 2 + dy, 2 + dx:w - 2 + dx]
    return out / 25


def test_unsharp_mask_is_over_sharpening_with_the_known_peak():
    sigma, amount, angle = 1.0, 1.0, 5.0
    image = edge(206, angle, sigma)
    sharpened = image + amount * (image - _box5(image))
    result = slanted_edge_sfr(sharpened, roi=(3, 3, 200, 200))
    # the filter's response along the edge normal (cos θ, −sin θ), times the Gaussian's
    f = np.linspace(0, 0.5, 2001)
    fx, fy = f * math.cos(math.radians(angle)), f * math.sin(math.radians(angle))
    box = sum(np.cos(2 * np.pi * fx * k) for k in range(-2, 3)) * sum(np.cos(2 * np.pi * fy * k) for k in range(-2, 3))
    truth = gaussian_mtf(sigma, f) * (1 + amount * (1 - box / 25))
    assert truth.max() == pytest.approx(1.116, abs=0.001)
    assert result.sharpening == pytest.approx(truth.max(), rel=0.01)
    curve = np.interp(f, result.frequencies, result.mtf)
    assert np.abs(curve - truth).max() < 0.01
    peak = int(np.argmax(truth))
    half = f[peak + int(np.argmax(truth[peak:] < truth.max() / 2))]
    assert result.mtf50p == pytest.approx(half, rel=0.02)
    assert result.mtf50 > K50  # sharpening lifts MTF50 too


def test_colour_channels_and_misregistration():
    red = edge(200, 5, 1.5, shift=0.5)  # the red edge lies 0.5 px further along the edge normal
    green, blue = edge(200, 5, 1.0), edge(200, 5, 0.75)
    result = slanted_edge_sfr(np.stack([red, green, blue], axis=2))
    assert result.is_valid
    assert result.misregistration == pytest.approx(0.5, abs=0.02)
    assert [c.channel for c in result.channels] == [0, 1, 2]
    for channel, sigma in zip(result.channels, (1.5, 1.0, 0.75), strict=True):
        assert channel.mtf50 == pytest.approx(K50 / sigma, rel=0.02)
        assert len(channel.mtf) == len(result.frequencies)
    assert result.channels[0].edge_offset - result.channels[1].edge_offset == pytest.approx(0.5, abs=0.02)
    assert result.channels[2].edge_offset - result.channels[1].edge_offset == pytest.approx(0.0, abs=0.02)


def test_registered_channels_and_weights():
    same = np.stack([edge(150, 5, 1.0)] * 3, axis=2)
    result = slanted_edge_sfr(same)
    assert result.misregistration == pytest.approx(0.0, abs=0.01)
    assert result.mtf50 == pytest.approx(K50, rel=0.02)
    single = slanted_edge_sfr(same[:, :, :1])
    assert single.channels == () and single.misregistration is None
    # the luminance follows the weights: all weight on a blurrier channel gives its MTF
    mixed = np.stack([edge(150, 5, 2.0), edge(150, 5, 1.0), edge(150, 5, 1.0)], axis=2)
    assert slanted_edge_sfr(mixed, weights=(1.0, 0.0, 0.0)).mtf50 == pytest.approx(K50 / 2, rel=0.02)


def test_rgba_alpha_is_dropped():
    rgb = np.stack([edge(150, 5, 1.0, shift=0.3), edge(150, 5, 1.0), edge(150, 5, 1.0)], axis=2)
    rgba = np.concatenate([rgb, np.ones((150, 150, 1))], axis=2)
    result = slanted_edge_sfr(rgba)
    assert len(result.channels) == 3
    assert result.misregistration == pytest.approx(0.3, abs=0.02)
    assert result.mtf50 == pytest.approx(K50, rel=0.02)


def test_gamma_encoded_input_is_linearised():
    linear = edge(200, 5, 1.0)
    encoded = linear ** (1 / 2.2)
    assert slanted_edge_sfr(encoded, linear=False, gamma=2.2).mtf50 == pytest.approx(K50, rel=0.02)
    codes = np.round(encoded * 65535).astype(np.uint16)
    assert slanted_edge_sfr(codes, linear=False, gamma=2.2).mtf50 == pytest.approx(K50, rel=0.02)
    # without linearising, the encoded edge measures wrong (why the grader passes linear Y)
    assert abs(slanted_edge_sfr(encoded).mtf50 / K50 - 1) > 0.02


def test_plain_binning_like_sfrmat_is_a_little_low_at_small_blur():
    """sfrmat puts each 1/4-px bin's mean at the bin centre and keeps the bin's box filter, sinc(f/4):
    about −1 % on MTF50 for σ = 0.5 px; llvscan's default corrects both."""
    image = edge(200, 5, 0.5)
    plain = slanted_edge_sfr(image, plain_binning=True)
    default = slanted_edge_sfr(image)
    assert plain.mtf50 == pytest.approx(K50 / 0.5, rel=0.02)
    assert plain.mtf50 < default.mtf50
    assert default.mtf50 == pytest.approx(K50 / 0.5, rel=0.005)


def _sfrmat3_style(roi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A separate, plain re-telling of Burns' sfrmat3 for a near-vertical edge: (frequencies, MTF)."""
    nrow, ncol = roi.shape

    def ahamming(n: int, mid: float) -> np.ndarray:
        wid = max(mid, n - 1 - mid)
        return 0.54 + 0.46 * np.cos(np.pi * (np.arange(n) - mid) / wid)

    deriv = np.diff(roi, axis=1)  # sample j sits at j + 0.5
    x = np.arange(ncol - 1) + 0.5
    loc = np.array([np.sum(x * r * ahamming(ncol - 1, (ncol - 2) / 2)) / np.sum(r * ahamming(ncol - 1, (ncol - 2) / 2))
                    for r in deriv])
    slope, offset = np.polyfit(np.arange(nrow), loc, 1)
    for _ in range(2):
        place = offset + slope * np.arange(nrow)
        loc = np.array([np.sum(x * r * ahamming(ncol - 1, p - 0.5)) / np.sum(r * ahamming(ncol - 1, p - 0.5))
                        for r, p in zip(deriv, place, strict=True)])
        slope, offset = np.polyfit(np.arange(nrow), loc, 1)
    cycles = math.floor(nrow * abs(slope))
    rows = round(cycles / abs(slope))
    dist = np.arange(ncol)[None, :] - (offset + slope * np.arange(rows))[:, None]  # horizontal distance
    k = np.floor(dist * 4).astype(int).ravel()
    k -= k.min()
    counts, sums = np.bincount(k), np.bincount(k, weights=roi[:rows].ravel())
    esf = sums[counts > 0] / counts[counts > 0]
    lsf = np.zeros_like(esf)
    lsf[1:-1] = (esf[2:] - esf[:-2]) / 2
    mid = np.sum(np.arange(lsf.size) * lsf) / np.sum(lsf)
    spec = np.abs(np.fft.rfft(lsf * ahamming(lsf.size, mid), 16384))
    freq = np.arange(spec.size) * 4 / 16384 / math.cos(math.atan(slope))  # sfrmat3's cos θ correction
    mtf = spec / spec[0] / np.maximum(np.sinc(2 * np.arange(spec.size) * 4 / 16384 / 4), 0.1)
    return freq, mtf


@pytest.mark.parametrize(("angle", "sigma", "noise"), [(5.0, 1.0, 0.0), (3.0, 0.6, 0.0), (8.0, 1.5, 0.005)])
def test_plain_binning_agrees_with_an_sfrmat3_style_reference(angle, sigma, noise):
    image = edge(150, angle, sigma) + np.random.default_rng(4).normal(0, noise, (150, 150))
    freq, mtf = _sfrmat3_style(image)
    reference50 = freq[np.argmax(mtf < 0.5)]
    ours = slanted_edge_sfr(image, plain_binning=True)
    assert ours.mtf50 == pytest.approx(reference50, rel=0.01)
    grid = np.array(ours.frequencies)
    assert np.abs(np.array(ours.mtf) - np.interp(grid, freq, mtf))[grid <= 0.5].max() < 0.02


def test_critical_angle_warns():
    """At tan θ = 1/2 the pixels sample only two sub-pixel phases: half the 1/4-px bins stay empty."""
    result = slanted_edge_sfr(edge(200, math.degrees(math.atan(0.5)), 1.0))
    assert "critical_angle" in {f.code for f in result.warnings}
    assert result.mtf50 == pytest.approx(K50, rel=0.03)


def test_narrow_roi_warns():
    result = slanted_edge_sfr(edge((200, 40), 5, 3.0))
    assert "narrow_roi" in {f.code for f in result.warnings}


# ---------------------------------------------------------------------------------------------------------
# Edges that cannot be measured: findings, not exceptions


def _error_codes(result: EdgeSFR) -> set[str]:
    assert not result.is_valid
    assert result.mtf50 is None and result.mtf10 is None and result.sampling_efficiency is None
    assert result.sharpening is None and result.mtf == ()
    return {f.code for f in result.errors}


def test_no_edge():
    rng = np.random.default_rng(0)
    assert _error_codes(slanted_edge_sfr(np.full((100, 100), 0.5))) == {"no_edge"}
    assert _error_codes(slanted_edge_sfr(0.5 + rng.normal(0, 0.02, (100, 100)))) == {"no_edge"}
    assert _error_codes(slanted_edge_sfr(rng.uniform(0, 1, (100, 100)))) <= {"no_edge", "edge_not_straight"}
    # a thin dark bar: two opposite edges
    bar = edge(100, 5, 1.0) - edge(100, 5, 1.0, shift=4.0) + 0.1
    assert not slanted_edge_sfr(bar).is_valid
    # the edge lies outside the ROI
    assert not slanted_edge_sfr(edge(100, 5, 1.0), roi=(0, 0, 30, 100)).is_valid


@pytest.mark.parametrize(("angle", "code"), [(0.0, "edge_angle_too_small"), (0.6, "edge_angle_too_small"),
                                             (44.0, "edge_angle_too_large"), (-43.0, "edge_angle_too_large")])
def test_angles_too_close_to_an_axis_or_to_45_degrees(angle, code):
    result = slanted_edge_sfr(edge(120, angle, 1.0))
    assert _error_codes(result) == {code}
    assert result.angle_deg == pytest.approx(angle, abs=0.2)
    assert f"{abs(result.angle_deg):.2f}°" in result.errors[0].message


def test_too_few_rows_for_a_phase_cycle():
    result = slanted_edge_sfr(edge((20, 100), 1.5, 1.0))
    assert _error_codes(result) == {"too_few_rows"}
    assert "at least 39 rows" in result.errors[0].message


def test_non_finite_pixels():
    image = edge(100, 5, 1.0)
    image[10, 10] = np.nan
    image[20, 20] = np.inf
    result = slanted_edge_sfr(image)
    assert _error_codes(result) == {"non_finite_pixels"}
    assert result.errors[0].count == 2
    assert slanted_edge_sfr(image, roi=(30, 30, 60, 60)).is_valid  # outside the ROI they do not matter


@pytest.mark.parametrize("shape", [(100,), (0, 0), (2, 3, 3, 1), (100, 0)])
def test_wrong_dimensions(shape):
    with pytest.raises(InvalidParameterError, match="2-D"):
        slanted_edge_sfr(np.zeros(shape))


@pytest.mark.parametrize("roi", [(0, 0, 2, 2), (10, 10, 5, 50), (-1, 0, 50, 50), (60, 60, 50, 50),
                                 (0, 0, 50), (0.5, 0, 50, 50), "abcd"])
def test_bad_roi(roi):
    with pytest.raises(InvalidParameterError, match=r"roi|ROI"):
        slanted_edge_sfr(edge(100, 5, 1.0), roi=roi)


def test_bad_options():
    image = edge(100, 5, 1.0)
    with pytest.raises(InvalidParameterError, match="gamma"):
        slanted_edge_sfr(image, gamma=2.2)
    for gamma in (None, 0.0, -1.0, float("nan")):
        with pytest.raises(InvalidParameterError, match="gamma"):
            slanted_edge_sfr(image, linear=False, gamma=gamma)
    with pytest.raises(InvalidParameterError, match="weights"):
        slanted_edge_sfr(np.stack([image] * 3, axis=2), weights=(1.0, 1.0))
    with pytest.raises(InvalidParameterError, match="pixels"):
        slanted_edge_sfr(image.astype(np.complex128))


# ---------------------------------------------------------------------------------------------------------
# Results as JSON


def test_result_serialises_and_names_the_metrics():
    result = slanted_edge_sfr(np.stack([edge(120, 5, 1.0)] * 3, axis=2), roi=(5, 5, 110, 110))
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["is_valid"] is True and data["roi"] == [5, 5, 110, 110]
    assert data["edge_snr"] is None  # a noise-free rendering
    assert "esf" not in data and "lsf" not in data
    assert len(data["channels"]) == 3 and len(data["mtf"]) == 101
    assert set(result.metrics()) >= {"mtf50", "mtf10", "sampling_efficiency", "sharpening", "misregistration"}
    assert result.metrics()["mtf50"] == result.mtf50
    moved = result.placed((1000, 2000, 120, 120))
    assert moved.roi == (1005, 2005, 110, 110) and moved.mtf50 == result.mtf50
    bad = slanted_edge_sfr(np.full((50, 50), 0.3))
    data = json.loads(json.dumps(bad.to_dict()))
    assert data["is_valid"] is False and data["findings"][0]["code"] == "no_edge"


# ---------------------------------------------------------------------------------------------------------
# Finding slanted edges


def _side_distance(roi: tuple[int, int, int, int], cx: float, cy: float, side: float, angle: float) -> float:
    """Distance from the ROI centre to the nearest side line of the square."""
    x, y, w, h = roi
    px, py = x + (w - 1) / 2, y + (h - 1) / 2
    t = math.radians(angle)
    u = (px - cx) * math.cos(t) + (py - cy) * math.sin(t)
    v = -(px - cx) * math.sin(t) + (py - cy) * math.cos(t)
    return min(abs(abs(u) - side / 2), abs(abs(v) - side / 2))


@pytest.mark.parametrize(("angle", "sigma"), [(5.0, 0.8), (-7.0, 1.5), (10.0, 1.0)])
def test_find_the_sides_of_a_turned_square_among_clutter(angle, sigma):
    cx, cy, side = 331.0, 243.0, 240.0
    image = square_scene(500, 640, cx, cy, side, angle, sigma, clutter=40, noise=0.003, seed=5)
    rois = find_slanted_edges(image)
    assert len(rois) == 4
    orientations = []
    for roi in rois:
        x, y, w, h = roi
        assert x >= 0 and y >= 0 and x + w <= 640 and y + h <= 500 and min(w, h) >= 32
        assert _side_distance(roi, cx, cy, side, angle) < 3.0
        result = slanted_edge_sfr(image, roi=roi)
        assert result.is_valid
        assert abs(result.angle_deg) == pytest.approx(abs(angle), abs=0.05)
        assert result.mtf50 == pytest.approx(K50 / sigma, rel=0.02)
        orientations.append(result.orientation)
    assert sorted(orientations) == ["horizontal", "horizontal", "vertical", "vertical"]
    assert len(find_slanted_edges(image, max_edges=2)) == 2


def test_find_on_a_downsampled_copy_and_measure_at_full_resolution():
    cx, cy, side, sigma = 640.0, 500.0, 520.0, 1.2
    full = square_scene(1000, 1280, cx, cy, side, 4.0, sigma, clutter=20, seed=2)
    small = full.reshape(250, 4, 320, 4).mean(axis=(1, 3))
    rois = find_slanted_edges(small)
    assert len(rois) == 4
    for roi in rois:
        big = scale_roi(roi, 4, shape=full.shape)
        assert _side_distance(big, cx, cy, side, 4.0) < 6.0
        result = slanted_edge_sfr(full, roi=big)
        assert result.is_valid
        assert result.mtf50 == pytest.approx(K50 / sigma, rel=0.02)


def test_find_nothing_where_there_is_no_slanted_edge():
    rng = np.random.default_rng(1)
    assert find_slanted_edges(np.full((300, 300), 0.5)) == []
    assert find_slanted_edges(rng.normal(0.5, 0.05, (300, 300))) == []
    # an untilted square has straight edges, but at 0°: the e-SFR cannot use them
    assert find_slanted_edges(square_scene(300, 300, 150, 150, 150, 0.0, 1.0)) == []
    # clutter only: discs and axis-aligned boxes
    clutter = square_scene(400, 400, -1000, -1000, 10, 5.0, 1.0, clutter=40, seed=9)
    assert find_slanted_edges(clutter) == []
    assert find_slanted_edges(np.zeros((20, 20))) == []


def test_find_in_colour_and_with_nan():
    image = square_scene(400, 400, 200, 200, 200, 6.0, 1.0)
    image[5, 5] = np.nan
    rgb = np.stack([image, image * 0.9, image * 0.8], axis=2)
    assert len(find_slanted_edges(rgb)) == 4
    assert len(find_slanted_edges((np.nan_to_num(image) * 255).astype(np.uint8))) == 4


def test_find_bad_input():
    with pytest.raises(InvalidParameterError):
        find_slanted_edges(np.zeros(10))
    with pytest.raises(InvalidParameterError):
        find_slanted_edges(np.zeros((100, 100)), max_edges=0)
    with pytest.raises(InvalidParameterError):
        find_slanted_edges(np.zeros((100, 100)), min_size=4)


def test_scale_roi():
    assert scale_roi((10, 20, 30, 40), 4) == (40, 80, 120, 160)
    assert scale_roi((10, 20, 30, 40), 4, shape=(150, 100)) == (40, 80, 60, 70)
    with pytest.raises(InvalidParameterError):
        scale_roi((0, 0, 1, 1), 0)
