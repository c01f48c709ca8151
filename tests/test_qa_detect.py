"""Chart detection (llvscan.imaging.qa.detect) against charts rendered with a known geometry.

Ground truth: tests/qa_render.py draws the charts from their physical description (not from charts.py) and
returns the true patch centres; the patch colours come straight from colour-science's datasets.
"""

from __future__ import annotations

import json

import colour
import numpy as np
import pytest
from qa_render import LAYOUTS, chart_homography, render_chart

from llvscan.errors import ChartNotFoundError, InvalidParameterError
from llvscan.imaging.qa import detect
from llvscan.imaging.qa.charts import CHARTS, chart_spec
from llvscan.imaging.qa.detect import draw_overlay, locate_chart, patch_bounds, patch_pixels

CLASSIC, SG = "colorchecker-classic", "colorchecker-sg"
SIZES = {CLASSIC: (1000, 700), SG: (1100, 760)}


def _nominal_rgb8(chart: str) -> np.ndarray:
    """The chart's published colours as 8-bit sRGB, computed here from colour-science's dataset."""
    spec = chart_spec(chart)
    data = colour.CCS_COLOURCHECKERS[spec.dataset]
    xyy = np.array([data.data[i] for i in spec.patch_ids])
    xyz = colour.xyY_to_XYZ(xyy)
    rgb = colour.XYZ_to_sRGB(xyz, data.illuminant, chromatic_adaptation_transform="Bradford")
    return np.clip(np.rint(np.clip(rgb, 0, 1) * 255), 0, 255).astype(np.uint8)


def _render(chart: str, **kwargs):
    kwargs.setdefault("size", SIZES[chart])
    return render_chart(chart, _nominal_rgb8(chart), **kwargs)


def _patch_side(chart: str, truth: np.ndarray) -> float:
    """A patch's side in pixels near the chart's first patch, from the true centres."""
    layout = LAYOUTS[chart]
    pitch_px = np.linalg.norm(truth[1] - truth[0])
    return float(pitch_px * layout.patch / layout.pitch)


# --------------------------------------------------------------------------------------------- geometry


@pytest.mark.parametrize("chart", [CLASSIC, SG])
def test_chart_geometry_matches_the_physical_description(chart):
    spec, layout = CHARTS[chart], LAYOUTS[chart]
    assert (spec.columns, spec.rows) == (layout.columns, layout.rows)
    assert spec.width_mm == pytest.approx(layout.width, abs=0.05)
    assert spec.height_mm == pytest.approx(layout.height, abs=0.05)
    assert spec.patch_mm == pytest.approx(layout.patch, abs=0.05)
    np.testing.assert_allclose(spec.patch_centres_mm(), layout.centres(), atol=0.05)
    # every patch lies on the card, none overlaps the next
    outline = np.array(spec.grid_outline_mm())
    assert outline.min() > 0 and outline[:, 0].max() < spec.width_mm and outline[:, 1].max() < spec.height_mm
    assert spec.pitch_mm[0] > spec.patch_mm and spec.pitch_mm[1] > spec.patch_mm


# -------------------------------------------------------------------------------------- automatic search

SCENES = {
    "straight": {},
    "rotated +10": {"rotation_deg": 10.0},
    "rotated -10": {"rotation_deg": -10.0},
    "small": {"chart_width_fraction": 0.2, "centre": (330.0, 250.0)},
    "large": {"chart_width_fraction": 0.88},
    "perspective": {"perspective": 0.1, "rotation_deg": 4.0},
    "noisy clutter": {"noise_sigma": 0.03, "rotation_deg": -6.0},
    "colour cast": {"cast": (1.15, 0.95, 0.7), "rotation_deg": 3.0},
    "under-exposed": {"cast": (0.6, 0.6, 0.6)},
    "upside down": {"rotation_deg": 180.0 + 7.0},
    "portrait": {"rotation_deg": 90.0 - 5.0, "chart_width_fraction": 0.55},
}


@pytest.mark.parametrize("chart", [CLASSIC, SG])
@pytest.mark.parametrize("scene", list(SCENES))
def test_finds_the_chart(chart, scene):
    kwargs = dict(SCENES[scene], seed=list(SCENES).index(scene))
    if chart == SG and scene == "small":
        kwargs["chart_width_fraction"] = 0.3
    image, truth = _render(chart, **kwargs)
    location = locate_chart(image, chart)
    side = _patch_side(chart, truth)
    error = np.linalg.norm(location.centres() - truth, axis=1)
    assert error.max() < 0.1 * side, f"{scene}: worst centre {error.max():.1f} px off (patch {side:.0f} px)"
    assert location.patch_ids == chart_spec(chart).patch_ids
    assert location.method == "automatic"
    rotation = kwargs.get("rotation_deg", 0.0)
    assert location.orientation == round(rotation / 90) % 4 * 90
    assert abs((location.rotation_deg - rotation + 180) % 360 - 180) < 2.0
    assert not location.mirrored
    assert location.confidence > 0.5
    assert location.colour_r2 > 0.9
    assert location.patches_found >= 0.6 * len(truth)


def test_upside_down_classic_maps_dark_skin_to_its_patch():
    image, truth = _render(CLASSIC, rotation_deg=180.0, seed=5)
    location = locate_chart(image, CLASSIC)
    dark_skin = location.patches[location.patch_ids.index("dark skin")]
    assert np.linalg.norm(np.subtract(dark_skin.centre, truth[0])) < 3.0
    # in the image, dark skin is now at the bottom right and white at the top
    white = location.patches[location.patch_ids.index("white 9.5 (.05 D)")]
    assert dark_skin.centre[0] > white.centre[0] and dark_skin.centre[1] > white.centre[1]
    pixels = patch_pixels(image, location, patches=[0])[0]
    np.testing.assert_allclose(pixels.mean(axis=0), _nominal_rgb8(CLASSIC)[0], atol=2.0)


def test_mirrored_chart_is_reported_as_mirrored():
    image, truth = _render(CLASSIC, rotation_deg=5.0, seed=9)
    flipped = np.ascontiguousarray(image[:, ::-1])
    location = locate_chart(flipped, CLASSIC)
    truth = truth.copy()
    truth[:, 0] = image.shape[1] - truth[:, 0]
    assert location.mirrored
    assert np.linalg.norm(location.centres() - truth, axis=1).max() < 0.1 * _patch_side(CLASSIC, truth)


def test_scaled_location_matches_the_full_size_one():
    image, truth = _render(CLASSIC, rotation_deg=8.0, perspective=0.05, seed=2, size=(1200, 800))
    half = image.reshape(400, 2, 600, 2, 3).mean(axis=(1, 3)).round().astype(np.uint8)
    location = locate_chart(half, CLASSIC).scaled(2.0)
    assert np.linalg.norm(location.centres() - truth, axis=1).max() < 0.03 * _patch_side(CLASSIC, truth)
    full = locate_chart(image, CLASSIC)
    np.testing.assert_allclose(location.corners, full.corners, atol=2.0)
    assert location.patches[3].area_px == pytest.approx(full.patches[3].area_px, rel=0.03)
    with pytest.raises(InvalidParameterError):
        full.scaled(0.0)


@pytest.mark.parametrize("rotation", [0.0, 180.0 + 6.0])
def test_classic_and_sg_side_by_side_are_told_apart(rotation):
    """The SG holds the Classic's 24 colours: each search must find its own chart, not a part of the other."""
    size = (1200, 700)
    sg, sg_truth = _render(SG, size=size, chart_width_fraction=0.45, centre=(330.0, 350.0), rotation_deg=rotation)
    both, classic_truth = _render(CLASSIC, size=size, chart_width_fraction=0.38, centre=(890.0, 350.0),
                                  rotation_deg=-rotation / 2, background=sg)
    for chart, truth in ((SG, sg_truth), (CLASSIC, classic_truth)):
        location = locate_chart(both, chart)
        assert np.linalg.norm(location.centres() - truth, axis=1).max() < 0.1 * _patch_side(chart, truth), chart


def _tiles(tile: int, size=(1000, 700), seed=0) -> np.ndarray:
    """A floor of square tiles of random colours."""
    t = np.random.default_rng(seed).integers(0, 256, (size[1] // tile + 1, size[0] // tile + 1, 3), dtype=np.uint8)
    return np.ascontiguousarray(np.repeat(np.repeat(t, tile, 0), tile, 1)[:size[1], :size[0]])


@pytest.mark.parametrize("tile", [12, 30])
def test_chart_on_a_tiled_floor(tile):
    """Hundreds of squares on a regular grid around the chart: the grid with the chart's colours wins."""
    for chart in (CLASSIC, SG):
        image, truth = _render(chart, background=_tiles(tile, SIZES[chart]), chart_width_fraction=0.4,
                               rotation_deg=5.0)
        location = locate_chart(image, chart)
        assert np.linalg.norm(location.centres() - truth, axis=1).max() < 0.1 * _patch_side(chart, truth)
    with pytest.raises(ChartNotFoundError):
        locate_chart(_tiles(tile), CLASSIC)


def test_chart_cut_by_the_image_edge():
    """The bottom row lies outside the frame, the one above is cut: the others are still placed right, and
    the patches outside have no pixels."""
    image, truth = _render(CLASSIC, chart_width_fraction=0.5, centre=(500.0, 660.0), seed=3)
    location = locate_chart(image, CLASSIC)
    visible = truth[:, 1] < image.shape[0]
    assert visible.sum() == 18
    assert np.linalg.norm(location.centres()[visible] - truth[visible], axis=1).max() < 2.0
    pixels = patch_pixels(image, location)
    assert [len(p) == 0 for p in pixels] == [False] * 18 + [True] * 6


def test_large_image_is_searched_at_a_reduced_size():
    image, truth = _render(SG, size=(1100, 733), rotation_deg=-4.0, seed=4)
    large = np.repeat(np.repeat(image, 3, axis=0), 3, axis=1)  # 3300 × 2199: searched 3 times smaller
    truth = truth * 3
    location = locate_chart(large, SG)
    assert np.linalg.norm(location.centres() - truth, axis=1).max() < 0.05 * _patch_side(SG, truth)
    corners = locate_chart(large, SG, corners=location.corners)
    np.testing.assert_allclose(corners.centres(), location.centres(), atol=0.01)
    as_uint16 = locate_chart(large.astype(np.uint16) * 257, SG)
    np.testing.assert_allclose(as_uint16.centres(), location.centres(), atol=0.05)


def test_dtypes_give_the_same_answer():
    image, _ = _render(CLASSIC, rotation_deg=3.0, seed=8, size=(800, 560))
    base = locate_chart(image, CLASSIC)
    for other in (image.astype(np.uint16) * 257, image.astype(np.float32) / 255, image.astype(np.float64) / 255,
                  np.dstack([image, np.full(image.shape[:2], 255, np.uint8)])):
        np.testing.assert_allclose(locate_chart(other, CLASSIC).centres(), base.centres(), atol=0.05)


def test_location_serialises_to_json():
    image, _ = _render(CLASSIC, seed=1, size=(800, 560))
    data = json.loads(json.dumps(locate_chart(image, CLASSIC).to_dict()))
    assert data["chart"] == CLASSIC and len(data["patches"]) == 24
    assert data["patches"][0]["id"] == "dark skin" and len(data["patches"][0]["polygon"]) == 4
    assert len(data["homography"]) == 3


# -------------------------------------------------------------------------------------------- no chart


def _clutter(seed: int) -> np.ndarray:
    from qa_render import _background

    return _background("clutter", (1000, 700), np.random.default_rng(seed))


@pytest.mark.parametrize("chart", [CLASSIC, SG])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_clutter_without_a_chart_is_not_a_chart(chart, seed):
    with pytest.raises(ChartNotFoundError, match=f"no {chart_spec(chart).title} found"):
        locate_chart(_clutter(seed), chart)


@pytest.mark.parametrize("value", [0, 128, 255])
def test_blank_page_is_not_a_chart(value):
    with pytest.raises(ChartNotFoundError, match="no flat square regions"):
        locate_chart(np.full((600, 900, 3), value, np.uint8), CLASSIC)


def test_grid_of_wrong_colours_is_not_a_chart():
    """A chart-shaped grid (the Classic's layout) of random colours: the colours, not the shape, decide."""
    rng = np.random.default_rng(3)
    image, _ = render_chart(CLASSIC, rng.integers(0, 256, (24, 3)).astype(np.uint8), size=(900, 630), seed=3)
    with pytest.raises(ChartNotFoundError, match="colours do not match"):
        locate_chart(image, CLASSIC)


def test_classic_is_not_an_sg():
    image, _ = _render(CLASSIC, seed=6)
    with pytest.raises(ChartNotFoundError, match="ColorChecker Digital SG"):
        locate_chart(image, SG)


@pytest.mark.parametrize("rotation", [0.0, 180.0])
def test_sg_is_not_a_classic(rotation):
    """The SG holds the Classic's 24 colours (not as a 6 × 4 block) on a larger grid of the same kind."""
    image, _ = _render(SG, rotation_deg=rotation, seed=7)
    with pytest.raises(ChartNotFoundError, match="regular patterns larger than the chart"):
        locate_chart(image, CLASSIC)


def test_tiny_image_is_too_small():
    with pytest.raises(ChartNotFoundError, match="10×10 pixels, too small"):
        locate_chart(np.zeros((10, 10, 3), np.uint8), CLASSIC)


@pytest.mark.parametrize("bad", [
    np.zeros((50, 50), np.uint8),
    np.zeros((50, 50, 2), np.uint8),
    np.zeros((0, 50, 3), np.uint8),
    np.zeros((50, 50, 3), bool),
    np.zeros((50, 50, 3), np.int32),
    np.full((50, 50, 3), np.nan, np.float32),
    np.full((50, 50, 3), 3.0, np.float32),
])
def test_wrong_arrays_are_usage_errors(bad):
    with pytest.raises(InvalidParameterError):
        locate_chart(bad, CLASSIC)


def test_wrong_options_are_usage_errors():
    image = np.zeros((100, 100, 3), np.uint8)
    with pytest.raises(InvalidParameterError, match="unknown chart"):
        locate_chart(image, "it8")
    with pytest.raises(InvalidParameterError, match="sample_fraction"):
        locate_chart(image, CLASSIC, sample_fraction=0.0)
    with pytest.raises(InvalidParameterError, match="corners"):
        locate_chart(image, CLASSIC, corners=[(0, 0), (1, 1)])
    with pytest.raises(InvalidParameterError, match="convex quadrilateral"):
        locate_chart(image, CLASSIC, corners=[(0, 0), (10, 0), (20, 0), (30, 0)])
    with pytest.raises(InvalidParameterError, match="not in order"):
        locate_chart(image, CLASSIC, corners=[(0, 0), (50, 50), (50, 0), (0, 50)])
    with pytest.raises(InvalidParameterError, match="corner_order"):
        locate_chart(image, CLASSIC, corners=[(0, 0), (10, 0), (10, 10), (0, 10)], corner_order="random")


# ------------------------------------------------------------------------------------------ manual corners


def _true_corners(chart: str, h: np.ndarray, *, patches: bool = False) -> np.ndarray:
    layout = LAYOUTS[chart]
    if patches:
        x0, y0 = layout.grid_left, layout.grid_top
        x1 = x0 + (layout.columns - 1) * layout.pitch + layout.patch
        y1 = y0 + (layout.rows - 1) * layout.pitch + layout.patch
    else:
        x0, y0, x1, y1 = 0.0, 0.0, layout.width, layout.height
    p = np.c_[[[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.ones(4)] @ h.T
    return p[:, :2] / p[:, 2:3]


@pytest.mark.parametrize("chart", [CLASSIC, SG])
def test_manual_corners_give_the_true_centres(chart):
    kwargs = {"size": SIZES[chart], "rotation_deg": 12.0, "perspective": 0.08, "seed": 11}
    image, truth = _render(chart, **kwargs)
    h = chart_homography(chart, **kwargs)
    location = locate_chart(image, chart, corners=[tuple(p) for p in _true_corners(chart, h)])
    assert location.method == "manual"
    np.testing.assert_allclose(location.centres(), truth, atol=0.05)
    np.testing.assert_allclose(location.corners, _true_corners(chart, h), atol=1e-6)
    on_patches = locate_chart(image, chart, corners=_true_corners(chart, h, patches=True), corners_of="patches")
    np.testing.assert_allclose(on_patches.centres(), truth, atol=0.05)
    assert location.confidence > 0.5


def test_manual_corners_in_any_order_find_the_orientation():
    kwargs = {"size": SIZES[CLASSIC], "rotation_deg": 180.0 + 5.0, "seed": 12}
    image, truth = _render(CLASSIC, **kwargs)
    corners = _true_corners(CLASSIC, chart_homography(CLASSIC, **kwargs))
    shuffled = corners[[2, 0, 3, 1]]
    location = locate_chart(image, CLASSIC, corners=shuffled, corner_order="any")
    np.testing.assert_allclose(location.centres(), truth, atol=0.05)
    assert location.orientation == 180 and not location.mirrored
    # taken as given (top-left first), the same shuffled points describe a twisted chart: its colours say so
    as_given = locate_chart(image, CLASSIC, corners=corners[[2, 3, 0, 1]])
    assert as_given.colour_r2 < location.colour_r2


# ------------------------------------------------------------------------------------ sampling and overlay


@pytest.fixture(scope="module")
def classic_scene():
    image, truth = _render(CLASSIC, rotation_deg=-7.0, perspective=0.06, seed=21)
    return image, truth, locate_chart(image, CLASSIC, sample_fraction=0.5)


def test_patch_pixels_are_the_patch_colours(classic_scene):
    image, _, location = classic_scene
    nominal = _nominal_rgb8(CLASSIC).astype(np.float64)
    for k, pixels in enumerate(patch_pixels(image, location)):
        assert pixels.shape[1] == 3
        # every sampled pixel is inside the patch: none is the black card or the background
        assert np.abs(pixels - nominal[k]).max() <= 2, location.patches[k].id
        # the count is the quadrilateral's area, up to the pixels its outline cuts
        perimeter = 4 * np.sqrt(location.patches[k].area_px)
        assert abs(len(pixels) - location.patches[k].area_px) < perimeter


def test_sample_fraction_sets_the_sampled_area(classic_scene):
    image, _, location = classic_scene
    narrow = locate_chart(image, CLASSIC, sample_fraction=0.25)
    ratio = np.array([n.area_px / w.area_px for n, w in zip(narrow.patches, location.patches, strict=True)])
    np.testing.assert_allclose(ratio, 0.25, rtol=1e-3)  # exactly ¼ but for the projection
    np.testing.assert_allclose(narrow.centres(), location.centres(), atol=0.05)


def test_patch_pixels_on_a_crop_equal_those_on_the_full_image(classic_scene):
    image, _, location = classic_scene
    lab = colour.XYZ_to_Lab(colour.sRGB_to_XYZ(image / 255.0)).astype(np.float32)
    full = patch_pixels(lab, location)
    for k in (0, 7, 23):
        x0, y0, x1, y1 = patch_bounds(location, k, margin=2)
        crop = lab[y0:y1, x0:x1]
        (from_crop,) = patch_pixels(crop, location, origin=(x0, y0), patches=[k])
        np.testing.assert_array_equal(from_crop, full[k])
        assert len(from_crop) > 0
    # a crop that misses a patch gives it no pixels
    assert len(patch_pixels(lab[:5, :5], location, patches=[12])[0]) == 0
    # 2-D values work too
    assert patch_pixels(lab[:, :, 0], location, patches=[3])[0].shape == (len(full[3]), 1)
    with pytest.raises(InvalidParameterError):
        patch_pixels(np.zeros(5), location)


def test_draw_overlay_draws_every_polygon(classic_scene):
    image, _, location = classic_scene
    before = image.copy()
    colours = {"dark skin": (255, 0, 0)}
    out = draw_overlay(image, location, labels={"dark skin": "ΔE 1.2"}, colours=colours)
    np.testing.assert_array_equal(image, before)  # the input is left alone
    assert out.shape == image.shape and out.dtype == np.uint8
    for patch in location.patches:
        (x0, y0), (x1, y1) = patch.polygon[0], patch.polygon[1]
        mx, my = int((x0 + x1) / 2), int((y0 + y1) / 2)
        window = out[my - 1:my + 2, mx - 1:mx + 2].reshape(-1, 3)
        expected = colours.get(patch.id, (0, 255, 0))
        assert (np.abs(window.astype(int) - expected).sum(axis=1) == 0).any(), patch.id
    assert (out != image).any(axis=2).sum() > 24 * 4 * 10
    # the label is written at the patch's centre, and only where one is given
    for patch, labelled in ((location.patches[0], True), (location.patches[1], False)):
        cx, cy = (int(v) for v in patch.centre)
        changed = (out[cy - 4:cy + 5, cx - 8:cx + 9] != image[cy - 4:cy + 5, cx - 8:cx + 9]).any()
        assert changed == labelled, patch.id
    with pytest.raises(InvalidParameterError):
        draw_overlay(image.astype(np.float32), location)


def test_public_names():
    assert set(detect.__all__) == {"ChartLocation", "PatchSample", "draw_overlay",
                                   "locate_chart", "patch_bounds", "patch_pixels"}
    assert issubclass(ChartNotFoundError, OSError)
