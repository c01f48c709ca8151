"""IIIF 3 level 0 and Deep Zoom tiling, checked against an image whose pixels are known."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import gradient_image

from llvscan.errors import ImageReadError, InvalidParameterError, ResourceLimitError
from llvscan.imaging import read_header, tile_image

W, H = 1237, 811  # awkward on purpose


@pytest.fixture(scope="module")
def master(tmp_path_factory):
    return gradient_image(tmp_path_factory.mktemp("img") / "master.png", W, H)


@pytest.fixture(scope="module")
def iiif(master, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "painting-1"
    return tile_image(master, out, base_url="https://iiif.example.org/iiif/", tile_size=256, max_size=1024)


def _pixels(path):
    import pyvips

    image = pyvips.Image.new_from_file(str(path))
    return np.ndarray(buffer=image.write_to_memory(), dtype=np.uint8,
                      shape=(image.height, image.width, image.bands))


def test_info_json_is_a_level0_service(iiif):
    info = json.loads(Path(iiif.path, "info.json").read_text())
    assert info["id"] == "https://iiif.example.org/iiif/painting-1"
    assert info["type"] == "ImageService3" and info["profile"] == "level0"
    assert (info["width"], info["height"]) == (W, H)
    assert info["tiles"][0]["width"] == 256
    assert info["tiles"][0]["scaleFactors"] == [1, 2, 4, 8]
    # max size bounded by 1024 on the long edge, declared, and listed among the sizes
    assert (info["maxWidth"], info["maxHeight"]) == (1024, round(H * 1024 / W))
    assert {"width": 1024, "height": round(H * 1024 / W)} in info["sizes"]


def test_every_tile_of_every_scale_factor_exists(iiif):
    root = iiif.path
    for s in iiif.scale_factors:
        region = 256 * s
        for y in range(0, H, region):
            for x in range(0, W, region):
                w, h = min(region, W - x), min(region, H - y)
                if (w, h) == (W, H):
                    name = f"full/{math.ceil(W / s)},{math.ceil(H / s)}"
                else:
                    name = f"{x},{y},{w},{h}/{math.ceil(w / s)},{math.ceil(h / s)}"
                assert Path(root, name, "0", "default.jpg").is_file(), name


def test_sizes_and_full_max_exist_with_their_dimensions(iiif):
    import pyvips

    for w, h in iiif.sizes:
        image = pyvips.Image.new_from_file(f"{iiif.path}/full/{w},{h}/0/default.jpg")
        assert (image.width, image.height) == (w, h)
    image = pyvips.Image.new_from_file(f"{iiif.path}/full/max/0/default.jpg")
    assert (image.width, image.height) == (1024, round(H * 1024 / W))


def test_tile_pixels_match_the_source_region(iiif):
    # full-resolution tile at x=512, y=256: red = x mod 256, green = y mod 256 (JPEG: within a few levels)
    tile = _pixels(f"{iiif.path}/512,256,256,256/256,256/0/default.jpg").astype(int)
    xs = (np.arange(512, 768) % 256)[None, :]
    ys = (np.arange(256, 512) % 256)[:, None]
    assert np.median(np.abs(tile[..., 0] - xs)) <= 3
    assert np.median(np.abs(tile[..., 1] - ys)) <= 3
    assert abs(np.median(tile[..., 2]) - 128) <= 3


def test_no_temporary_folders_left(iiif):
    assert [p.name for p in Path(iiif.path).parent.iterdir()] == ["painting-1"]


def test_deep_zoom_layout(master, tmp_path):
    result = tile_image(master, tmp_path / "dz", layout="dz", tile_size=254, identifier="painting")
    dzi = (tmp_path / "dz" / "painting.dzi").read_text()
    assert 'TileSize="254"' in dzi and 'Overlap="1"' in dzi and f'Width="{W}"' in dzi
    top = math.ceil(math.log2(max(W, H)))
    assert (tmp_path / "dz" / "painting_files" / str(top) / "0_0.jpeg").is_file()
    assert (tmp_path / "dz" / "painting_files" / "0" / "0_0.jpeg").is_file()
    assert result.files > 10


def test_header(master):
    header = read_header(master)
    assert (header.width, header.height, header.bands) == (W, H, 3)
    assert header.band_format == "uchar"


def test_garbage_tif_is_refused_by_name(tmp_path):
    bad = tmp_path / "garbage.tif"
    bad.write_bytes(np.random.default_rng(3).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(ImageReadError, match=r"garbage.tif: not a readable image"):
        tile_image(bad, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_pixel_limit_refuses_before_decoding(master, tmp_path):
    with pytest.raises(ResourceLimitError, match=r"exceed the pixel limit"):
        tile_image(master, tmp_path / "out", pixel_limit=1000)


def test_huge_header_claim_is_refused(tmp_path):
    # a PNG header claiming 1,000,000 × 1,000,000 pixels, with no pixel data behind it
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", 1_000_000, 1_000_000, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    png = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    path = tmp_path / "bomb.png"
    path.write_bytes(png)
    with pytest.raises((ResourceLimitError, ImageReadError)) as info:
        read_header(path)
    assert "bomb.png" in str(info.value)


def test_truncated_master_keeps_the_previous_tile_set(master, tmp_path):
    good = tile_image(master, tmp_path / "set")
    before = sorted(p.name for p in (tmp_path / "set").iterdir())
    jpeg = gradient_image(tmp_path / "m.jpg")
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(jpeg.read_bytes()[: jpeg.stat().st_size // 2])
    with pytest.raises(ImageReadError, match=r"cut.jpg"):
        tile_image(cut, tmp_path / "set")
    assert sorted(p.name for p in (tmp_path / "set").iterdir()) == before
    assert json.loads((tmp_path / "set" / "info.json").read_text())["id"] == good.service_id
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.jpg", "m.jpg", "set"]


@pytest.mark.parametrize(("option", "value"), [("layout", "zoomify9"), ("tile_size", 3), ("quality", 0),
                                               ("max_size", 100)])
def test_invalid_options(master, tmp_path, option, value):
    with pytest.raises(InvalidParameterError):
        tile_image(master, tmp_path / "out", **{option: value})


def test_wide_gamut_master_is_converted_and_srgb_left_alone(tmp_path):
    """A Display P3 red (200, 60, 60) is a more saturated sRGB red; an sRGB master keeps its values."""
    import pyvips

    patch = pyvips.Image.black(300, 200).bandjoin([0, 0]).linear(1, [200, 60, 60])
    patch = patch.cast("uchar").copy(interpretation="srgb")
    for name in ("p3", "srgb"):
        patch.tiffsave(str(tmp_path / f"{name}.tif"), profile=name)
        tile_image(tmp_path / f"{name}.tif", tmp_path / name)

    def centre(name):
        path = tmp_path / name / "full" / "300,200" / "0" / "default.jpg"
        return pyvips.Image.new_from_file(str(path)).getpoint(150, 100)

    p3, srgb = centre("p3"), centre("srgb")
    assert p3[0] > 210 and p3[1] < 50
    assert [round(v) for v in srgb] == pytest.approx([200, 60, 60], abs=2)
    assert read_header(tmp_path / "srgb.tif").icc_profile == "sRGB"


def test_icc_descriptions():
    from PIL import ImageCms

    from llvscan.imaging._icc import icc_description, is_srgb

    v2 = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    assert is_srgb(v2)
    assert not is_srgb(ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes())
    assert icc_description(b"\0" * 100) is None  # truncated header
    assert icc_description(v2[:140]) is None  # tag table cut off


@pytest.mark.parametrize("kind", ["rgb16", "rgba", "cmyk", "cmyk-untagged", "grey", "grey16"])
def test_masters_of_every_kind_become_8bit_web_tiles(tmp_path, kind):
    """16-bit, alpha, CMYK and greyscale masters give 8-bit JPEG tiles; colours survive; the source is recorded."""
    import pyvips

    base = pyvips.Image.black(600, 400, bands=3).linear([1, 1, 1], [200, 40, 40])  # a red field
    base = base.cast("uchar").copy(interpretation="srgb")
    if kind == "rgb16":
        image = (base.cast("ushort") * 257).cast("ushort").copy(interpretation="rgb16")
    elif kind == "rgba":
        image = base.bandjoin(255)
    elif kind == "cmyk":
        image = base.icc_transform("cmyk")  # libvips' built-in CMYK profile, embedded
    elif kind == "cmyk-untagged":
        image = base.icc_transform("cmyk").copy()
        image.remove("icc-profile-data")
    elif kind == "grey":
        image = base.colourspace("b-w")
    else:
        image = (base.colourspace("b-w").cast("ushort") * 257).cast("ushort").copy(interpretation="grey16")
    src = tmp_path / f"{kind}.tif"
    image.tiffsave(str(src))
    assert pyvips.Image.new_from_file(str(src)).format == ("ushort" if kind.endswith("16") else "uchar")
    result = tile_image(src, tmp_path / "out", tile_size=256)
    tile = pyvips.Image.new_from_file(str(tmp_path / "out" / "0,0,256,256" / "256,256" / "0" / "default.jpg"))
    assert tile.format == "uchar" and tile.bands in (1, 3)
    assert result.source_interpretation == pyvips.Image.new_from_file(str(src)).interpretation
    mean = [tile.extract_band(b).avg() for b in range(tile.bands)]
    if kind.startswith("grey"):
        assert tile.bands == 1 and abs(mean[0] - base.colourspace("b-w").avg()) < 4
    else:
        assert tile.bands == 3 and mean[0] > 150 and mean[1] < 90 and mean[2] < 90  # still red
