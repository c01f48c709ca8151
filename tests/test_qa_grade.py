"""Grading capture targets end to end: charts rendered from the published values through a known ICC profile
(colour-science and Pillow, not llvscan), found, measured and graded; the CLI; sessions in a collection run."""

from __future__ import annotations

import io
import json
import math

import colour
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, ImageCms
from qa_render import LAYOUTS, chart_homography, render_chart

from llvscan.cli import cli
from llvscan.errors import InvalidParameterError, ResourceLimitError
from llvscan.imaging.qa import STANDARDS, TARGETS, grade_target, reference_lab

D50 = colour.CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]["D50"]
SIZE = (1500, 1000)
FRACTION = 0.62


def _srgb8(lab: np.ndarray) -> np.ndarray:
    """D50 L*a*b* to 8-bit sRGB as an ICC sRGB profile decodes it (Bradford D50 → D65), by colour-science."""
    xyz = colour.Lab_to_XYZ(lab, D50)
    rgb = colour.XYZ_to_RGB(xyz, "sRGB", illuminant=D50, chromatic_adaptation_transform="Bradford",
                            apply_cctf_encoding=True)
    return np.clip(np.rint(rgb * 255), 0, 255).astype(np.uint8)


def _stored_lab(lab: np.ndarray) -> np.ndarray:
    """What an 8-bit sRGB file of ``lab`` holds, decoded back to D50 L*a*b* by colour-science: the rounding
    and, for the SG's saturated patches outside sRGB, the gamut clipping."""
    rgb = colour.RGB_to_XYZ(_srgb8(lab) / 255.0, "sRGB", illuminant=D50, chromatic_adaptation_transform="Bradford",
                            apply_cctf_decoding=True)
    return colour.XYZ_to_Lab(rgb, D50)


def _srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _ppi() -> float:
    return FRACTION * SIZE[0] / (LAYOUTS["colorchecker-sg"].width / 25.4)


def _save(path, pixels: np.ndarray, *, profile: bool = True, dpi: float | None = None) -> None:
    options = {"icc_profile": _srgb_profile()} if profile else {}
    if dpi:
        options["dpi"] = (dpi, dpi)
    Image.fromarray(pixels).save(path, **options)


def _chart(path, chart="colorchecker-sg", lab=None, **options) -> np.ndarray:
    lab = reference_lab(chart) if lab is None else lab
    pixels, centres = render_chart(chart, _srgb8(lab), size=SIZE, chart_width_fraction=FRACTION, **options)
    _save(path, pixels, dpi=_ppi())
    return centres


@pytest.fixture(scope="module")
def sg_chart(tmp_path_factory):
    path = tmp_path_factory.mktemp("qa") / "sg.tif"
    _chart(path, rotation_deg=4.0, seed=3)
    return path


def test_a_faithful_chart_measures_near_zero_and_reaches_the_top_colour_levels(sg_chart, tmp_path):
    report = grade_target(sg_chart, standard="fadgi-2023", overlay=tmp_path / "overlay.png")
    assert report.target == "colorchecker-sg" and report.chart is not None and len(report.chart.patches) == 140
    assert report.colour is not None and report.colour.embedded
    m = report.metrics
    # the ΔE00 the file really holds (rounding, sRGB's gamut), computed independently
    reference = reference_lab("colorchecker-sg")
    expected = colour.delta_E(_stored_lab(reference), reference, method="CIE 2000")
    assert m["delta_e_mean"] == pytest.approx(expected.mean(), abs=0.05)
    assert m["delta_e_max"] == pytest.approx(expected.max(), abs=0.2)
    assert m["delta_e_p90"] == pytest.approx(np.percentile(expected, 90), abs=0.2)
    assert m["tone_delta_l_max"] < 0.6 and m["white_balance_max"] < 0.8
    assert m["noise_max"] < 0.5 and m["nonuniformity"] < 1.0
    # the true sampling rate: the chart spans FRACTION of the width, the TIFF declares it exactly
    assert m["resolution_ppi"] == pytest.approx(_ppi(), rel=0.01) and abs(m["resolution_error"]) < 1.0
    best = STANDARDS["fadgi-2023"].levels[0]
    assert {g.metric: g.level for g in report.grade.metrics}["delta_e_mean"] == best
    assert report.grade.complete is False  # no slanted edge: the sharpness metrics are not measured
    with Image.open(report.overlay) as overlay:
        assert overlay.format == "PNG" and abs(overlay.width / overlay.height - SIZE[0] / SIZE[1]) < 0.01
    assert json.loads(json.dumps(report.to_dict()))["metrics"]["delta_e_mean"] == pytest.approx(m["delta_e_mean"])


def test_a_known_colour_shift_gives_the_independently_computed_delta_e(tmp_path):
    chart = "colorchecker-classic"
    reference = reference_lab(chart)
    shifted = reference + np.array([2.0, 1.5, -2.5])
    shifted[:, 0] = np.clip(shifted[:, 0], 0, 100)
    path = tmp_path / "shifted.tif"
    _chart(path, chart, lab=shifted, rotation_deg=-7.0, seed=5)
    report = grade_target(path, target=chart)
    expected = colour.delta_E(_stored_lab(shifted), reference, method="CIE 2000")
    assert report.metrics["delta_e_mean"] == pytest.approx(expected.mean(), abs=0.15)
    assert report.metrics["delta_e_max"] == pytest.approx(expected.max(), abs=0.3)


def test_manual_corners_measure_the_same_patches(sg_chart):
    h = chart_homography("colorchecker-sg", size=SIZE, chart_width_fraction=FRACTION, rotation_deg=4.0, seed=3)
    layout = LAYOUTS["colorchecker-sg"]
    card = np.array([[0, 0, 1], [layout.width, 0, 1], [layout.width, layout.height, 1], [0, layout.height, 1]])
    projected = card @ h.T
    corners = (projected[:, :2] / projected[:, 2:]).tolist()
    manual = grade_target(sg_chart, target="colorchecker-sg", corners=corners)
    found = grade_target(sg_chart)
    assert manual.chart.method == "manual"
    assert manual.metrics["delta_e_mean"] == pytest.approx(found.metrics["delta_e_mean"], abs=0.1)


def test_no_chart_is_a_finding_not_a_crash(tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "wall.png"
    _save(path, rng.integers(90, 110, (600, 900, 3), dtype=np.uint8))
    report = grade_target(path, target="colorchecker-classic")
    assert not report.passed and report.level is None and report.grade is None
    assert [f.code for f in report.errors] == ["target_not_found"]


def test_an_image_without_a_profile_is_graded_as_srgb_and_says_so(tmp_path):
    path = tmp_path / "untagged.png"
    pixels, _ = render_chart("colorchecker-classic", _srgb8(reference_lab("colorchecker-classic")), size=SIZE,
                             chart_width_fraction=FRACTION)
    _save(path, pixels, profile=False)
    report = grade_target(path)
    assert report.target == "colorchecker-classic" and report.metrics["delta_e_mean"] < 0.8
    assert not report.colour.embedded
    assert any(f.code == "no_icc_profile" and "sRGB" in f.message for f in report.warnings)


def test_a_measured_reference_file_replaces_the_published_values(sg_chart, tmp_path):
    chart = "colorchecker-classic"
    lab = reference_lab(chart)
    path = tmp_path / "classic.tif"
    _chart(path, chart)
    csv = tmp_path / "measured.csv"
    off = lab + np.array([0.0, 0.0, 3.0])  # a reference that disagrees by 3 b* everywhere
    csv.write_text("id,L,a,b\n" + "".join(f"{i + 1},{L},{a},{b}\n" for i, (L, a, b) in enumerate(off)))
    published = grade_target(path, target=chart)
    measured = grade_target(path, target=chart, reference=csv)
    assert measured.reference == str(csv) and published.reference.startswith("published")
    assert measured.metrics["delta_e_mean"] > published.metrics["delta_e_mean"] + 1.0


def _edge(path, sigma: float, angle_deg: float = 5.0, size=(900, 700)) -> None:
    """A dark square on white, tilted, blurred by a Gaussian of ``sigma`` px, point-sampled, in linear light,
    stored as 16-bit linear greyscale with a matching gamma-1.0 profile… kept simple: sRGB-encoded 16-bit."""
    w, h = size
    ys, xs = np.mgrid[0:h, 0:w] + 0.5
    t = math.radians(angle_deg)
    cx, cy = w / 2, h / 2
    u = (xs - cx) * math.cos(t) + (ys - cy) * math.sin(t)
    v = -(xs - cx) * math.sin(t) + (ys - cy) * math.cos(t)
    half = min(w, h) * 0.3
    # signed distance outside the square (negative inside), then the blurred step
    d = np.maximum(np.abs(u), np.abs(v)) - half
    from scipy.special import ndtr

    linear = 0.05 + 0.85 * ndtr(d / sigma)
    encoded = colour.cctf_encoding(linear, function="sRGB")
    grey = np.rint(encoded * 65535).astype(np.uint16)
    import pyvips

    image = pyvips.Image.new_from_array(grey).cast("ushort").copy(interpretation="grey16")
    image.tiffsave(str(path))


@pytest.mark.parametrize("sigma", [1.0, 2.0])
def test_a_slanted_edge_target_measures_the_known_mtf50(tmp_path, sigma):
    path = tmp_path / "edge.tif"
    _edge(path, sigma)
    report = grade_target(path, target="slanted-edge", standard="iso-19264")
    assert report.target == "slanted-edge" and report.edges
    assert report.metrics["mtf50"] == pytest.approx(0.1874 / sigma, rel=0.03)


def test_a_header_over_the_pixel_limit_is_refused_before_decoding(sg_chart):
    with pytest.raises(ResourceLimitError, match="pixel limit"):
        grade_target(sg_chart, pixel_limit=1_000_000)


def test_bad_options_are_usage_errors(sg_chart):
    with pytest.raises(InvalidParameterError, match="unknown standard"):
        grade_target(sg_chart, standard="fadgi-2016")
    with pytest.raises(InvalidParameterError, match="no level"):
        grade_target(sg_chart, standard="iso-19264", required_level="3 stars")
    with pytest.raises(InvalidParameterError, match="corners"):
        grade_target(sg_chart, corners=[(0, 0), (1, 1)])
    assert set(TARGETS) >= {"auto", "colorchecker-classic", "colorchecker-sg", "slanted-edge"}


def test_the_cli_grades_and_exits_by_the_required_level(sg_chart, tmp_path):
    ok = CliRunner().invoke(cli, ["image", "qa", str(sg_chart), "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)[0]["target"] == "colorchecker-sg"
    shown = CliRunner().invoke(cli, ["image", "qa", str(sg_chart), "--standard", "iso-19264", "--overlay",
                                     str(tmp_path / "o.png")])
    assert shown.exit_code == 0 and "delta_e_mean" in shown.output and (tmp_path / "o.png").is_file()
    bad = CliRunner().invoke(cli, ["image", "qa", str(sg_chart), "--corners", "1,2 3"])
    assert bad.exit_code == 2 and "four corners" in bad.output
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), (128, 128, 128)).save(buffer, "PNG")
    (tmp_path / "grey.png").write_bytes(buffer.getvalue())
    missing = CliRunner().invoke(cli, ["image", "qa", str(tmp_path / "grey.png")])
    assert missing.exit_code == 1 and "no ColorChecker" in missing.output


def test_sessions_in_a_collection_run_carry_their_targets_grade(tmp_path):
    from llvscan.catalog import Catalog
    from llvscan.collection import RunRecipe, run_collection

    root = tmp_path / "collection"
    (root / "day-1" / "targets").mkdir(parents=True)
    (root / "day-2" / "targets").mkdir(parents=True)
    _chart(root / "day-1" / "targets" / "sg.tif", rotation_deg=2.0)
    shifted = reference_lab("colorchecker-sg") + np.array([0.0, 12.0, -12.0])  # a badly balanced session
    _chart(root / "day-2" / "targets" / "sg.tif", lab=shifted)
    for day in ("day-1", "day-2"):
        Image.new("RGB", (320, 240), (200, 180, 160)).save(root / day / "painting.tif")
    Image.new("RGB", (320, 240), (90, 80, 70)).save(root / "loose.tif")
    (root / "day-3" / "targets").mkdir(parents=True)
    (root / "day-3" / "targets" / "chart.tif").write_bytes(b"II*\x00" + bytes(range(256)) * 8)  # not an image
    hostile = "<img src=x onerror=alert(1)>"
    (root / "collection.csv").write_text(f'file,session\nloose.tif,"{hostile}"\n')
    out = tmp_path / "out"
    result = run_collection(root, out, recipe=RunRecipe(), workers=0, warm_up=False)
    # day-2's target is graded and fails (invalid), day-3's cannot be read (failed)
    assert result.failed == 1 and result.invalid == 1 and result.exit_code == 1
    index = (out / "report" / "index.html").read_text()
    assert "Capture sessions" in index and hostile not in index and "&lt;img src=x" in index
    target_page = next((out / "report" / "assets").glob("sg-*.html")).read_text()
    assert "Capture target: colorchecker-sg" in target_page and 'class="overlay"' in target_page
    with Catalog(out / "catalog.sqlite", readonly=True) as cat:
        sessions = {s.session: s for s in cat.sessions()}
        assets = {a.rel_path: a for a in cat.assets()}
        derivatives = {(d.asset_id, d.role) for d in cat.derivatives()}
    assert sessions["day-1"].passed is True and sessions["day-1"].images == 1
    assert sessions["day-2"].passed is False and sessions["day-2"].problems
    assert sessions["day-3"].passed is False and "not graded" in sessions["day-3"].problems[0]
    assert sessions[hostile].passed is None and sessions[hostile].images == 1  # a session without a target
    assert assets["day-1/painting.tif"].session == "day-1" and assets["day-1/targets/sg.tif"].target == "auto"
    target_id = assets["day-1/targets/sg.tif"].id
    assert (target_id, "target") in derivatives and (target_id, "target-overlay") in derivatives
    assert not any(role == "iiif3" for asset_id, role in derivatives if asset_id == target_id)
    failed = CliRunner().invoke(cli, ["catalog", "show", str(out), "--failed", "--json"])
    problems = {p["path"]: p for p in json.loads(failed.stdout)}
    assert problems["day-2"]["kind"] == "session" and "day-1" not in problems
