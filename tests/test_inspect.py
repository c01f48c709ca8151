"""Image inspection, checked against images whose pixels, and so whose statistics, are known."""

from __future__ import annotations

import json
import math
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import gradient_image, load_generator

from llvscan.errors import ImageReadError, InvalidParameterError, ResourceLimitError
from llvscan.imaging.inspect import (
    ImageReport,
    InspectionThresholds,
    _measure,
    inspect_image,
    laplacian_variance,
    noise_sigma,
)

W, H = 1237, 811  # awkward on purpose


def _codes(report: ImageReport) -> dict[str, str]:
    return {f.code: f.level for f in report.findings}


def _save(array: np.ndarray, path: Path, interpretation: str, **options) -> Path:
    import pyvips

    pyvips.Image.new_from_array(array).copy(interpretation=interpretation).write_to_file(str(path), **options)
    return path


def _luma(rgb: np.ndarray) -> np.ndarray:
    """Rec. 709 luma on the encoded values, as the kernels compute it (float64, then float32)."""
    rgb = rgb.astype(np.float64)
    return (0.2126 * rgb[..., 0] + 0.7152 * rgb[..., 1] + 0.0722 * rgb[..., 2]).astype(np.float32)


def _reference(luma: np.ndarray) -> tuple[float, float]:
    """Laplacian variance and Immerkær sigma over the interior, with plain numpy."""
    i = luma.astype(np.float64)
    c = i[1:-1, 1:-1]
    lap = i[:-2, 1:-1] + i[2:, 1:-1] + i[1:-1, :-2] + i[1:-1, 2:] - 4 * c
    mask = (i[:-2, :-2] + i[:-2, 2:] + i[2:, :-2] + i[2:, 2:]
            - 2 * (i[:-2, 1:-1] + i[2:, 1:-1] + i[1:-1, :-2] + i[1:-1, 2:]) + 4 * c)
    return float(lap.var()), math.sqrt(math.pi / 2) / (6 * c.size) * float(np.abs(mask).sum())


@pytest.fixture(scope="module")
def gradient(tmp_path_factory):
    path = gradient_image(tmp_path_factory.mktemp("img") / "gradient.png", W, H)
    return path, inspect_image(path)


# -- ground truth: the gradient -----------------------------------------------------------------


def test_gradient_histograms_are_exact(gradient):
    _, report = gradient
    assert (report.width, report.height, report.bands, report.bit_depth) == (W, H, 3, 8)
    assert (report.format, report.compression, report.interpretation) == ("png", "png", "srgb")
    assert [b.name for b in report.band_statistics] == ["red", "green", "blue"]
    red, green, blue = report.band_statistics
    columns = np.bincount(np.arange(W) % 256, minlength=256)  # how many x have x mod 256 == v
    rows = np.bincount(np.arange(H) % 256, minlength=256)
    assert red.histogram == (columns * H).tolist()
    assert green.histogram == (rows * W).tolist()
    assert blue.histogram == [0] * 128 + [W * H] + [0] * 127
    assert report.statistics_depth == 8 and report.histogram_bin_width == 1


def test_gradient_statistics_are_exact(gradient):
    _, report = gradient
    red, green, blue = report.band_statistics
    xs, ys = np.arange(W) % 256, np.arange(H) % 256
    assert red.mean == pytest.approx(xs.mean(), rel=1e-12) and red.std == pytest.approx(xs.std(), rel=1e-9)
    assert green.mean == pytest.approx(ys.mean(), rel=1e-12) and green.std == pytest.approx(ys.std(), rel=1e-9)
    assert (red.min, red.max, green.min, green.max, blue.min, blue.max, blue.mean, blue.std) == (
        0, 255, 0, 255, 128, 128, 128.0, 0.0)
    # x mod 256 == 255 at x = 255, 511, 767, 1023; == 0 at x = 0, 256, 512, 768, 1024
    assert red.clipped_high_percent == pytest.approx(100 * 4 / W)
    assert red.clipped_low_percent == pytest.approx(100 * 5 / W)
    assert green.clipped_high_percent == pytest.approx(100 * 3 / H)  # y = 255, 511, 767
    assert green.clipped_low_percent == pytest.approx(100 * 4 / H)  # y = 0, 256, 512, 768
    assert blue.clipped_low_percent == blue.clipped_high_percent == 0.0


def test_gradient_focus_and_noise_match_numpy(gradient):
    import pyvips

    path, report = gradient
    lap, sigma = _reference(_luma(pyvips.Image.new_from_file(str(path)).numpy()))
    assert report.laplacian_variance == pytest.approx(lap, rel=1e-9)
    assert report.noise_sigma == pytest.approx(sigma, rel=1e-9, abs=1e-9)
    assert report.noise_sigma < 1e-4  # red is constant along y and green along x: the separable mask sees nothing


def test_gradient_findings(gradient):
    _, report = gradient
    # every clipped share is below 0.5 %, the file has neither profile nor dpi, and it is 8-bit
    assert _codes(report) == {"no_icc_profile": "warning", "no_resolution": "info", "eight_bit": "info"}
    assert report.is_valid and report.errors == [] and len(report.warnings) == 1
    assert report.to_dict()["is_valid"] is True
    json.dumps(report.to_dict())


def test_clipping_thresholds_are_configurable(gradient):
    path, _ = gradient
    report = inspect_image(path, thresholds=InspectionThresholds(clipped_warning_percent=0.4,
                                                                 clipped_error_percent=0.45))
    shadows = next(f for f in report.findings if f.code == "clipped_shadows")
    assert shadows.level == "error" and shadows.measure == pytest.approx(100 * 4 / H)  # green, the worst band
    assert shadows.count == 4 * W and "green" in shadows.message
    assert not report.is_valid
    assert "clipped_highlights" not in _codes(report)  # red 0.32 %, green 0.37 %: under 0.4 %


@pytest.mark.parametrize("kwargs", [{"soft_focus": -1}, {"clipped_warning_percent": 6.0},
                                    {"clipped_error_percent": 101}])
def test_thresholds_are_checked(kwargs):
    with pytest.raises(InvalidParameterError):
        InspectionThresholds(**kwargs)


# -- strips -------------------------------------------------------------------------------------


def test_strips_give_the_whole_image_result(tmp_path):
    import pyvips

    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 256, size=(37, 53, 3), dtype=np.uint8)
    path = _save(pixels, tmp_path / "noise.png", "srgb")
    lap, sigma = _reference(_luma(pixels))
    results = []
    for rows in (1, 2, 3, 5, 36, 37, 100):
        measured = _measure(pyvips.Image.new_from_file(str(path), access="sequential"), path, strip_rows=rows)
        results.append((measured.laplacian_variance, measured.noise_sigma, measured.histograms.tolist()))
    assert all(r == results[0] for r in results)  # bit for bit: rows are summed exactly (fsum)
    assert results[0][0] == pytest.approx(lap, rel=1e-9) and results[0][1] == pytest.approx(sigma, rel=1e-9)
    assert laplacian_variance(_luma(pixels)) == results[0][0] and noise_sigma(_luma(pixels)) == results[0][1]
    assert [np.bincount(pixels[..., b].ravel(), minlength=256).tolist() for b in range(3)] == results[0][2]


def test_array_functions_check_their_input():
    with pytest.raises(InvalidParameterError):
        laplacian_variance(np.zeros((4, 4, 3)))
    assert laplacian_variance(np.zeros((2, 9))) is None and noise_sigma(np.zeros((9, 2))) is None


# -- focus and noise ----------------------------------------------------------------------------


def test_constant_image_is_soft_and_noiseless(tmp_path):
    report = inspect_image(_save(np.full((64, 90), 117, np.uint8), tmp_path / "flat.png", "b-w"))
    assert report.laplacian_variance == 0.0 and report.noise_sigma == 0.0
    assert _codes(report)["soft_focus"] == "warning"
    assert _codes(report)["no_icc_profile"] == "info"  # greyscale: only the tone curve is ambiguous
    assert "clipped_highlights" not in _codes(report) and "clipped_shadows" not in _codes(report)


def test_checkerboard_is_sharp(tmp_path):
    size = 41
    board = ((np.add.outer(np.arange(size), np.arange(size)) % 2) * 255).astype(np.uint8)
    report = inspect_image(_save(board, tmp_path / "board.png", "b-w"))
    # every interior Laplacian is ±1020 and every noise-mask response ±2040
    interior = board[1:-1, 1:-1]
    signs = np.where(interior == 255, -1.0, 1.0)
    assert report.laplacian_variance == pytest.approx(1020.0**2 * (1 - signs.mean() ** 2))
    assert report.noise_sigma == pytest.approx(math.sqrt(math.pi / 2) * 2040 / 6)
    assert "soft_focus" not in _codes(report)
    assert _codes(report)["clipped_highlights"] == "error"  # half the pixels are white


@pytest.mark.parametrize("sigma", [3.0, 8.0])
def test_noise_estimate_of_gaussian_noise(tmp_path, sigma):
    rng = np.random.default_rng(int(sigma))
    y, x = np.mgrid[0:400, 0:600]
    smooth = 128 + 50 * np.sin(x / 60) * np.cos(y / 45)
    noisy = np.clip(np.round(smooth + rng.normal(0, sigma, smooth.shape)), 0, 255).astype(np.uint8)
    report = inspect_image(_save(noisy, tmp_path / f"noisy{sigma:g}.png", "b-w"))
    assert report.noise_sigma == pytest.approx(sigma, rel=0.15)
    assert ("high_noise" in _codes(report)) == (sigma > InspectionThresholds().high_noise)
    # white noise adds 20 sigma² to the Laplacian variance (4² + 4 · 1²)
    assert report.laplacian_variance == pytest.approx(20 * sigma**2, rel=0.15)


# -- depths and colour spaces ---------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_sixteen_bit(tmp_path, gradient, suffix):
    import pyvips

    rng = np.random.default_rng(16)
    pixels = rng.integers(0, 65536, size=(91, 67, 3), dtype=np.uint16)
    pixels[0, 0] = 65535
    report = inspect_image(_save(pixels, tmp_path / f"deep{suffix}", "rgb16"))
    assert (report.bit_depth, report.band_format, report.statistics_depth, report.histogram_bin_width) == (
        16, "ushort", 16, 64)
    for b, band in enumerate(report.band_statistics):
        assert len(band.histogram) == 1024 and sum(band.histogram) == 91 * 67
        assert band.histogram == np.bincount(pixels[..., b].ravel() // 64, minlength=1024).tolist()
        assert (band.min, band.max) == (int(pixels[..., b].min()), int(pixels[..., b].max()))
        assert band.mean == pytest.approx(pixels[..., b].mean(), rel=1e-12)
        assert band.clipped_high_percent == pytest.approx(100 * (pixels[..., b] == 65535).sum() / pixels[..., b].size)
    assert "eight_bit" not in _codes(report)

    # the gradient scaled to 16 bits measures the same focus and noise (luminance is on a 0–255 scale)
    path, eight = gradient
    deep = pyvips.Image.new_from_file(str(path)).cast("ushort") * 257
    deep_report = inspect_image(_save(deep.cast("ushort").numpy(), tmp_path / f"gradient16{suffix}", "rgb16"))
    assert deep_report.laplacian_variance == pytest.approx(eight.laplacian_variance, rel=1e-5)
    assert deep_report.band_statistics[0].mean == pytest.approx(eight.band_statistics[0].mean * 257)


def test_float_image_is_measured_on_16_bits(tmp_path):
    pixels = np.random.default_rng(3).random((30, 40, 3)).astype(np.float32)  # scRGB, linear 0–1
    report = inspect_image(_save(pixels, tmp_path / "float.tif", "scrgb"))
    assert (report.bit_depth, report.band_format, report.statistics_depth) == (32, "float", 16)
    assert all(sum(b.histogram) == 1200 for b in report.band_statistics)


def test_cmyk(tmp_path):
    cmyk = np.zeros((50, 70, 4), np.uint8)
    cmyk[:, 35:, 3] = 255  # right half solid black ink; left half paper (no ink at all)
    report = inspect_image(_save(cmyk, tmp_path / "cmyk.tif", "cmyk"))
    assert report.bands == 4 and not report.has_alpha
    assert [b.name for b in report.band_statistics] == ["cyan", "magenta", "yellow", "black"]
    assert report.band_statistics[3].clipped_high_percent == pytest.approx(50.0)
    codes = _codes(report)
    assert "clipped_highlights" not in codes and "clipped_shadows" not in codes  # 0 % and 100 % ink are ordinary
    assert codes["no_icc_profile"] == "warning"
    # luminance: paper 255, ink 0; one edge down the middle, where the Laplacian is −255 then +255
    assert report.laplacian_variance == pytest.approx(2 * 255.0**2 / (70 - 2))


def test_greyscale_and_rgba(tmp_path):
    grey = inspect_image(_save(np.tile(np.arange(1, 201, dtype=np.uint8), (30, 1)), tmp_path / "grey.png", "b-w"))
    assert grey.bands == 1 and [b.name for b in grey.band_statistics] == ["grey"]
    assert (grey.band_statistics[0].min, grey.band_statistics[0].max) == (1, 200)

    rgba = np.zeros((30, 40, 4), np.uint8)
    rgba[..., :3] = 100
    rgba[..., 3] = 255  # fully opaque: alpha at the top code everywhere is not clipping
    report = inspect_image(_save(rgba, tmp_path / "rgba.png", "srgb"))
    assert report.has_alpha and [b.name for b in report.band_statistics] == ["red", "green", "blue", "alpha"]
    assert report.band_statistics[3].clipped_high_percent == 100.0
    assert _codes(report)["alpha_channel"] == "info" and "clipped_highlights" not in _codes(report)


# -- metadata -----------------------------------------------------------------------------------


def _photo(path: Path, *, dpi: int = 300, profile: bytes | None = None, exif: bool = True) -> Path:
    from PIL import Image

    generator = load_generator()
    options = {"quality": 92, "dpi": (dpi, dpi)}
    if exif:
        data = generator.photo_exif()
        data[0x0110] = "X2D (100C)"  # a model with parentheses of its own
        options["exif"] = data.tobytes()
    if profile is not None:
        options["icc_profile"] = profile
    pixels = np.random.default_rng(5).integers(40, 200, size=(60, 80, 3), dtype=np.uint8)
    Image.fromarray(pixels, "RGB").save(path, **options)
    return path


def test_exif_essentials(tmp_path):
    report = inspect_image(_photo(tmp_path / "photo.jpg", profile=load_generator().srgb_icc_profile()))
    e = report.exif
    assert (e.make, e.model, e.lens_model) == ("Hasselblad", "X2D (100C)", "XCD 3,5/120 Macro")
    assert e.datetime_original == "2026-03-14T10:22:05"
    assert (e.exposure_time_s, e.f_number, e.iso) == (pytest.approx(1 / 125), 8.0, 100)
    assert (report.xres_dpi, report.yres_dpi) == (300.0, 300.0)
    assert report.has_icc_profile and report.is_srgb and "srgb" in report.icc_profile.lower()
    assert (report.format, report.compression) == ("jpeg", "jpeg")
    codes = _codes(report)
    assert "no_icc_profile" not in codes and "non_srgb_profile" not in codes and "low_resolution" not in codes


def test_profiles_and_resolution(tmp_path):
    from PIL import ImageCms

    lab = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    report = inspect_image(_photo(tmp_path / "lab.jpg", dpi=150, profile=lab, exif=False))
    assert report.has_icc_profile and not report.is_srgb
    codes = _codes(report)
    assert codes["non_srgb_profile"] == "info" and codes["low_resolution"] == "info"
    assert report.exif is None

    bare = inspect_image(_photo(tmp_path / "bare.jpg", exif=False))
    assert not bare.has_icc_profile and bare.icc_profile is None
    assert _codes(bare)["no_icc_profile"] == "warning"


def test_xmp_and_tiff_compression(tmp_path):
    import pyvips

    xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           b'<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
           b'<dc:creator><rdf:Seq><rdf:li>Ana &amp; Bo Ruiz</rdf:li></rdf:Seq></dc:creator>'
           b'<dc:rights><rdf:Alt><rdf:li xml:lang="x-default">CC BY 4.0</rdf:li></rdf:Alt></dc:rights>'
           b"</rdf:Description></rdf:RDF></x:xmpmeta>")
    image = pyvips.Image.new_from_array(np.full((20, 30, 3), 90, np.uint8)).copy(interpretation="srgb")
    image.set_type(pyvips.GValue.blob_type, "xmp-data", xmp)
    for compression, options in [("lzw", {"compression": "lzw"}), ("deflate", {"compression": "deflate"}),
                                 ("jpeg", {"compression": "jpeg", "tile": True}),
                                 ("none", {"compression": "none", "bigtiff": True})]:
        path = tmp_path / f"xmp-{compression}{'-big' if 'bigtiff' in options else ''}.tif"
        image.tiffsave(str(path), **options)
        report = inspect_image(path)
        assert (report.format, report.compression) == ("tiff", compression)
        assert report.has_xmp and (report.xmp_creator, report.xmp_rights) == ("Ana & Bo Ruiz", "CC BY 4.0")
    plain = inspect_image(_save(np.zeros((8, 8), np.uint8), tmp_path / "plain.tif", "b-w"))
    assert not plain.has_xmp and plain.xmp_creator is None


# -- broken inputs --------------------------------------------------------------------------------


def test_truncated_jpeg(tmp_path):
    whole = _photo(tmp_path / "whole.jpg")
    data = whole.read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match="truncated or corrupt") as info:
        inspect_image(cut)
    assert info.value.path == str(cut) and "cut.jpg" in str(info.value)


@pytest.mark.parametrize("name,content", [("empty.png", b""), ("notes.tif", b"scanned by the night shift\n"),
                                          ("missing.jpg", None)])
def test_unreadable_files(tmp_path, name, content):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ImageReadError) as info:
        inspect_image(path)
    assert name in str(info.value)


def test_header_bomb_is_refused_before_decoding(tmp_path):
    import pyvips

    pyvips.Image.black(8, 8).cast("uchar").pngsave(str(tmp_path / "tiny.png"))
    data = bytearray((tmp_path / "tiny.png").read_bytes())
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", 300_000, 300_000)  # 9 × 10¹⁰ pixels claimed, 64 present
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(bytes(data))
    with pytest.raises(ResourceLimitError, match="pixel limit") as info:
        inspect_image(bomb)
    assert info.value.path == str(bomb)
    with pytest.raises(ResourceLimitError):
        inspect_image(tmp_path / "tiny.png", pixel_limit=63)


# -- command line ---------------------------------------------------------------------------------


def test_cli_json_and_exit_codes(tmp_path, gradient):
    from llvscan.cli import cli

    path, _ = gradient
    runner = CliRunner()
    result = runner.invoke(cli, ["image", "inspect", "--json", str(path)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data[0]["width"] == W and data[0]["is_valid"] is True
    assert data[0]["band_statistics"][2]["histogram"][128] == W * H

    white = _save(np.full((20, 20, 3), 255, np.uint8), tmp_path / "white.png", "srgb")  # 100 % clipped: error
    result = runner.invoke(cli, ["image", "inspect", "--json", str(path), str(white)])
    assert result.exit_code == 1
    assert [r["is_valid"] for r in json.loads(result.output)] == [True, False]

    broken = tmp_path / "broken.tif"
    broken.write_text("not an image")
    result = runner.invoke(cli, ["image", "inspect", "--json", str(path), str(broken)])
    assert result.exit_code == 1
    assert "broken.tif" in json.loads(result.output)[1]["error"]

    result = runner.invoke(cli, ["image", "inspect", str(path), str(white)])
    assert result.exit_code == 1 and "clipped" in result.output and "gradient.png" in result.output
