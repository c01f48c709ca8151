"""One decode for tiles, inspection and checksum (``tile_and_inspect``): the same tiles as ``tile_image``, the same
report as ``inspect_image``, the sha256 of the file's bytes, and the errors of either."""

from __future__ import annotations

import hashlib
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from llvscan._paths import tree_digest
from llvscan.errors import ImageReadError, ResourceLimitError
from llvscan.imaging import ImagePass, inspect_image, tile_and_inspect, tile_image
from llvscan.imaging import inspect as inspection
from llvscan.imaging.image_pass import _bigtiff_header

W, H = 1237, 811  # awkward on purpose: no strip or tile divides it


def _pixels(bands: int, dtype: type, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    top = np.iinfo(dtype).max
    y, x = np.mgrid[0:H, 0:W]
    ramp = (x * 3 + y * 5) % (top + 1)  # every code appears; a smooth part for the focus measure
    noise = rng.integers(0, top // 8, size=(H, W, bands))
    array = (ramp[..., None] + noise) % (top + 1)
    array[:40, :60] = top  # a clipped corner, a black one
    array[-30:, -50:] = 0
    return array.astype(dtype)


def _save(array: np.ndarray, path: Path, interpretation: str, **options) -> Path:
    import pyvips

    pyvips.Image.new_from_array(array).copy(interpretation=interpretation).write_to_file(str(path), **options)
    return path


def _same_report(a, b) -> None:
    da, db = a.to_dict(), b.to_dict()
    da.pop("seconds")
    db.pop("seconds")
    assert da == db


CASES = {
    "rgb8.tif": (3, np.uint8, "srgb", {"tile": True, "tile_width": 256, "tile_height": 256, "compression": "jpeg"}),
    "rgb16.tif": (3, np.uint16, "rgb16", {"compression": "deflate"}),
    "grey8.png": (1, np.uint8, "b-w", {}),
    "grey16.png": (1, np.uint16, "grey16", {}),
    "rgba8.png": (4, np.uint8, "srgb", {}),
    "greyalpha16.tif": (2, np.uint16, "grey16", {}),
    "cmyk8.tif": (4, np.uint8, "cmyk", {}),
    "photo.jpg": (3, np.uint8, "srgb", {"Q": 90}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_one_pass_equals_tile_and_inspect_apart(tmp_path, monkeypatch, name):
    bands, dtype, interpretation, options = CASES[name]
    src = _save(_pixels(bands, dtype), tmp_path / name, interpretation, **options)
    apart_tiles = tile_image(src, tmp_path / "apart", identifier="x", tile_size=128, max_size=512)
    apart_report = inspect_image(src)
    monkeypatch.setattr(inspection, "_STRIP_BYTES", 37 * W * bands * np.dtype(dtype).itemsize)  # 37-row strips
    done = tile_and_inspect(src, tmp_path / "once", identifier="x", tile_size=128, max_size=512)

    assert isinstance(done, ImagePass) and done.single_decode
    assert done.sha256 == hashlib.sha256(src.read_bytes()).hexdigest()
    _same_report(done.report, apart_report)
    assert tree_digest(tmp_path / "once") == tree_digest(tmp_path / "apart")  # byte-identical tiles and info.json
    theirs, ours = apart_tiles.to_dict(), done.tiles.to_dict()
    for d in (theirs, ours):
        d.pop("seconds")
        d.pop("path")
    assert ours == theirs


def test_statistics_are_those_of_the_pixels(tmp_path):
    """Ground truth by numpy: histogram, extremes, clipping of a 16-bit RGB master."""
    array = _pixels(3, np.uint16)
    src = _save(array, tmp_path / "m.tif", "rgb16")
    report = tile_and_inspect(src, tmp_path / "t", checksum=False).report
    assert report is not None and report.statistics_depth == 16
    for band, stats in zip(np.moveaxis(array, -1, 0), report.band_statistics, strict=True):
        expected = np.bincount(band.ravel(), minlength=65536).reshape(1024, 64).sum(axis=1)
        assert stats.histogram == expected.tolist()
        assert (stats.min, stats.max) == (int(band.min()), int(band.max()))
        assert stats.mean == pytest.approx(band.mean(), rel=1e-12)
        assert stats.clipped_high_percent == pytest.approx(100 * (band == 65535).mean(), rel=1e-12)


def test_other_pixels_are_tiled_and_inspected_apart(tmp_path):
    """Float pixels cannot travel as an 8/16-bit stream: the result is the same, from two decodes."""
    import pyvips

    array = (_pixels(3, np.uint8).astype(np.float32) / 255)
    src = tmp_path / "linear.tif"
    pyvips.Image.new_from_array(array).copy(interpretation="scrgb").tiffsave(str(src))
    done = tile_and_inspect(src, tmp_path / "once", tile_size=128)
    assert not done.single_decode
    _same_report(done.report, inspect_image(src))
    tile_image(src, tmp_path / "apart", identifier="once", tile_size=128)
    assert tree_digest(tmp_path / "once") == tree_digest(tmp_path / "apart")


def test_options(tmp_path):
    src = _save(_pixels(3, np.uint8), tmp_path / "m.png", "srgb")
    only_tiles = tile_and_inspect(src, tmp_path / "a", inspect=False, checksum=False, layout="dz")
    assert only_tiles.report is None and only_tiles.sha256 is None and (tmp_path / "a" / "a.dzi").is_file()
    with pytest.raises(ResourceLimitError):
        tile_and_inspect(src, tmp_path / "b", pixel_limit=W * H - 1)
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize(("name", "keep"), [("m.png", 0.3), ("m.png", 0.9), ("m.jpg", 0.5)])
def test_truncated_master(tmp_path, name, keep):
    """A master cut short fails like inspect_image does, leaves no tile folder and no thread behind."""
    src = _save(_pixels(3, np.uint8), tmp_path / name, "srgb")
    data = src.read_bytes()
    cut = tmp_path / f"cut{src.suffix}"
    cut.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ImageReadError, match="truncated or corrupt"):
        inspect_image(cut)
    with pytest.raises(ImageReadError, match="truncated or corrupt"):
        tile_and_inspect(cut, tmp_path / "tiles")
    assert not (tmp_path / "tiles").exists()
    assert not [t for t in threading.enumerate() if t.name.startswith("llvscan-image")]  # the feeder's threads


@pytest.mark.parametrize(("bands", "depth"), [(1, 8), (3, 8), (3, 16), (4, 8)])
def test_stream_header_is_a_valid_bigtiff(tmp_path, bands, depth):
    """The streamed file, written out whole, reads back in Pillow (an independent TIFF reader)."""
    dtype = np.uint8 if depth == 8 else np.uint16
    array = _pixels(bands, dtype)[:101, :53]
    head, total = _bigtiff_header(53, 101, bands, depth, rows_per_strip=17)
    path = tmp_path / "s.tif"
    path.write_bytes(head + array.tobytes())
    assert path.stat().st_size == total
    if depth == 16:  # Pillow reads 16-bit greyscale, not 16-bit RGB: check the IFD fields instead
        with Image.open(path) as im:
            assert im.size == (53, 101)
            assert im.tag_v2[258] == (16, 16, 16) and im.tag_v2[278] == 17 and len(im.tag_v2[273]) == 6
        return
    with Image.open(path) as im:
        assert im.size == (53, 101)
        got = np.asarray(im)
    assert np.array_equal(got.reshape(array.shape), array)


@pytest.mark.parametrize("layout", ["iiif2", "dz", "szi", "zoomify", "ptiff"])
def test_every_layout_gives_the_tiles_of_tile_image(tmp_path, layout):
    src = _save(_pixels(3, np.uint16), tmp_path / "m.tif", "rgb16")
    tile_image(src, tmp_path / "apart", identifier="x", layout=layout, tile_size=128, max_size=512)
    done = tile_and_inspect(src, tmp_path / "once", identifier="x", layout=layout, tile_size=128, max_size=512)
    assert done.single_decode and done.tiles.layout == layout
    if layout == "szi":  # the zip holds write times and dated property dumps: compare every other member
        with zipfile.ZipFile(tmp_path / "once" / "x.szi") as ours, \
                zipfile.ZipFile(tmp_path / "apart" / "x.szi") as theirs:
            assert sorted(ours.namelist()) == sorted(theirs.namelist())
            tiles = [n for n in ours.namelist() if not n.endswith("properties.xml")]
            assert len(tiles) > 10 and all(ours.read(n) == theirs.read(n) for n in tiles)
    else:
        assert tree_digest(tmp_path / "once") == tree_digest(tmp_path / "apart")


@pytest.mark.parametrize("profile", ["p3", "cmyk"])
def test_embedded_profiles_convert_as_in_tile_image(tmp_path, profile):
    """The master's ICC profile travels with the streamed pixels: a Display P3 or CMYK master converts alike."""
    import pyvips

    image = pyvips.Image.new_from_array(_pixels(3, np.uint8)).copy(interpretation="srgb")
    src = tmp_path / "m.tif"
    if profile == "cmyk":
        image.icc_transform("cmyk").tiffsave(str(src))
    else:
        image.tiffsave(str(src), profile=profile)
    tile_image(src, tmp_path / "apart", identifier="x", tile_size=128, max_size=512)
    done = tile_and_inspect(src, tmp_path / "once", identifier="x", tile_size=128, max_size=512)
    assert done.single_decode and done.report is not None and done.report.has_icc_profile
    assert done.tiles.source_icc_profile == done.report.icc_profile is not None
    assert tree_digest(tmp_path / "once") == tree_digest(tmp_path / "apart")
    _same_report(done.report, inspect_image(src))
