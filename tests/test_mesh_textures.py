"""Textures referenced by meshes are opened under the pixel limit of image masters.

A texture whose PNG header claims 200,000 × 150,000 pixels (3·10¹⁰, above the default limit of 2·10¹⁰)
is written by hand, byte by byte, so that nothing of llvscan builds the test input. It must be refused
from its header, by every layer that opens textures, before a pixel is decoded.
"""

from __future__ import annotations

import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from llvscan.errors import ImageReadError, ResourceLimitError
from llvscan.imaging import DEFAULT_PIXEL_LIMIT
from llvscan.mesh import build_lods, load_mesh, render_mesh, validate_mesh
from llvscan.mesh.core.texture import resample_texture, texture_header, texture_sizes


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(width: int = 200_000, height: int = 150_000) -> bytes:
    """A PNG whose IHDR claims ``width`` × ``height`` RGB pixels, with a few bytes of image data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"\0" * 16))
            + _chunk(b"IEND", b""))


def textured_quad(folder, texture_name: str):
    """Two triangles with UVs, an MTL naming ``texture_name``: OBJ text written by hand."""
    (folder / "quad.mtl").write_text(f"newmtl skin\nKd 1 1 1\nmap_Kd {texture_name}\n")
    (folder / "quad.obj").write_text(
        "mtllib quad.mtl\nv 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\n"
        "usemtl skin\nf 1/1 2/2 3/3\nf 1/1 3/3 4/4\n")
    return folder / "quad.obj"


@pytest.fixture
def bomb_scan(tmp_path):
    assert DEFAULT_PIXEL_LIMIT < 200_000 * 150_000
    (tmp_path / "bomb.png").write_bytes(bomb_png())
    return textured_quad(tmp_path, "bomb.png")


def test_the_header_is_refused_at_once(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb_png())
    started = time.perf_counter()
    with pytest.raises(ResourceLimitError, match=r"200000×150000 pixels, above the pixel limit 20,000,000,000"):
        texture_header(path, owner="scan.obj")
    assert time.perf_counter() - started < 2.0
    with pytest.raises(ResourceLimitError, match=r"bomb\.png: the texture of scan\.obj has"):
        resample_texture(path, 512, owner="scan.obj")


def test_the_limit_is_the_callers(tmp_path):
    path = tmp_path / "small.png"
    Image.new("RGB", (64, 48), (200, 10, 10)).save(path)
    assert texture_header(path) == (64, 48)
    assert texture_header(path, pixel_limit=64 * 48) == (64, 48)
    with pytest.raises(ResourceLimitError):
        texture_header(path, pixel_limit=64 * 48 - 1)
    with pytest.raises(ImageReadError, match="not found"):
        texture_header(tmp_path / "missing.png")


def test_validation_reports_the_texture_as_unreadable(bomb_scan):
    report = validate_mesh(bomb_scan)
    assert not report.is_valid
    [finding] = [f for f in report.findings if f.code == "texture_unreadable"]
    assert "above the pixel limit" in finding.message and "bomb.png" in finding.message
    assert texture_sizes(load_mesh(bomb_scan)) == [None]


def test_rendering_refuses_the_texture(bomb_scan):
    with pytest.raises(ResourceLimitError, match=r"bomb\.png: the texture of .*quad\.obj has 200000×150000"):
        render_mesh(load_mesh(bomb_scan), size=32)


def test_levels_of_detail_refuse_the_texture_and_write_nothing(bomb_scan, tmp_path):
    out = tmp_path / "lods"
    with pytest.raises(ResourceLimitError, match="above the pixel limit"):
        build_lods(bomb_scan, "archive", out)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bomb.png", "quad.mtl", "quad.obj"]


def test_a_texture_under_the_limit_still_renders(tmp_path):
    Image.new("RGB", (8, 8), (0, 0, 255)).save(tmp_path / "blue.png")
    image = render_mesh(load_mesh(textured_quad(tmp_path, "blue.png")), size=32, azimuth=0, elevation=0)
    centre = np.asarray(image)[16, 16]
    assert centre[2] > 100 and centre[0] < 60 and centre[1] < 60
