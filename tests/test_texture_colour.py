"""Textures reach the web in sRGB: a texture tagged Adobe RGB (1998) is converted through its profile, so a
saturated green stays as saturated in a viewer (that shows every glTF texture as sRGB) as in the master.

Ground truth: an ICC v2 matrix/TRC profile for Adobe RGB written here byte by byte from the published
primaries (x, y of R 0.64/0.33, G 0.21/0.71, B 0.15/0.06, white D65, gamma 563/256), Bradford-adapted to
the D50 of the profile connection space as ICC requires; the expected sRGB value is computed with numpy
from the same primaries (both profiles being Bradford-adapted, the D50 round trip cancels). Images are
made with Pillow; written GLBs are parsed by the tests' own reader and decoded with Pillow.
"""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image
from test_gltf import read_glb

from llvscan.mesh import Material, Mesh, build_lods, render_mesh
from llvscan.mesh.core.texture import has_icc_profile, resample_texture
from llvscan.mesh.lod.recipe import LodLevel, LodRecipe

ADOBE = {"r": (0.64, 0.33), "g": (0.21, 0.71), "b": (0.15, 0.06)}
SRGB = {"r": (0.64, 0.33), "g": (0.30, 0.60), "b": (0.15, 0.06)}
D65, D50 = (0.3127, 0.3290), np.array([0.9642, 1.0, 0.8249])
BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])
ADOBE_GAMMA = 563 / 256
GREEN = (90, 150, 100)  # an Adobe RGB green inside sRGB's gamut, whose sRGB numbers are more saturated


def rgb_to_xyz(primaries: dict) -> np.ndarray:
    """The RGB → XYZ matrix of linear RGB with these primaries and a D65 white (Y of white = 1)."""
    xyz = np.array([[x / y, 1.0, (1 - x - y) / y] for x, y in primaries.values()]).T
    white = np.array([D65[0] / D65[1], 1.0, (1 - D65[0] - D65[1]) / D65[1]])
    return xyz * np.linalg.solve(xyz, white)


def adapt_to_d50(matrix: np.ndarray) -> np.ndarray:
    white = np.array([D65[0] / D65[1], 1.0, (1 - D65[0] - D65[1]) / D65[1]])
    cone = BRADFORD @ white, BRADFORD @ D50
    return np.linalg.inv(BRADFORD) @ np.diag(cone[1] / cone[0]) @ BRADFORD @ matrix


def s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def adobe_rgb_icc() -> bytes:
    """An ICC v2 display profile (matrix + gamma curves) for Adobe RGB (1998), by hand."""
    matrix = adapt_to_d50(rgb_to_xyz(ADOBE))
    desc_text = b"Adobe RGB (1998) compatible, llvscan tests\x00"
    desc = (b"desc" + bytes(4) + struct.pack(">I", len(desc_text)) + desc_text + bytes(4) + bytes(4)
            + bytes(2) + bytes(1) + bytes(67))
    curve = b"curv" + bytes(4) + struct.pack(">I", 1) + struct.pack(">H", round(ADOBE_GAMMA * 256)) + bytes(2)
    tags = [(b"desc", desc), (b"wtpt", b"XYZ " + bytes(4) + b"".join(s15(v) for v in D50)),
            (b"cprt", b"text" + bytes(4) + b"none\x00\x00\x00\x00")]
    for i, name in enumerate((b"rXYZ", b"gXYZ", b"bXYZ")):
        tags.append((name, b"XYZ " + bytes(4) + b"".join(s15(v) for v in matrix[:, i])))
    tags += [(b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for name, body in tags:
        body += bytes(-len(body) % 4)
        table += name + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (struct.pack(">I", size) + bytes(4) + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ "
              + struct.pack(">6H", 2026, 11, 29, 0, 0, 0) + b"acsp" + bytes(4) + bytes(4) + bytes(8) + bytes(8)
              + bytes(4) + b"".join(s15(v) for v in D50) + bytes(4) + bytes(16) + bytes(28))
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


def expected_srgb(adobe: tuple[int, int, int]) -> np.ndarray:
    linear = (np.asarray(adobe) / 255.0) ** ADOBE_GAMMA
    srgb = np.clip(np.linalg.solve(rgb_to_xyz(SRGB), rgb_to_xyz(ADOBE) @ linear), 0.0, 1.0)
    encoded = np.where(srgb <= 0.0031308, 12.92 * srgb, 1.055 * srgb ** (1 / 2.4) - 0.055)
    return encoded * 255.0


def tagged_png(colour: tuple[int, int, int], icc: bytes | None, size: int = 32) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(out, format="PNG", **({"icc_profile": icc} if icc else {}))
    return out.getvalue()


def square(texture: bytes) -> Mesh:
    vertices = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    return Mesh(vertices, faces, uv=vertices[:, :2].copy(), uv_faces=faces.copy(),
                materials=(Material("scan", texture="scan.glb#images/0", texture_data=texture),),
                face_material=np.zeros(2, dtype=np.int64), units="m", path="scan.glb")


def test_the_hand_written_profile_is_adobe_rgb():
    """The test's own oracle first: the profile's green primary is where Adobe RGB's is (D50-adapted),
    and it is far more saturated than sRGB's: the difference the conversion must keep."""
    matrix = adapt_to_d50(rgb_to_xyz(ADOBE))  # Adobe's own profile: gXYZ 0.20528 0.62567 0.06087
    assert matrix[:, 1] == pytest.approx([0.20528, 0.62567, 0.06087], abs=1.5e-3)
    expected = expected_srgb(GREEN)
    assert expected[1] - expected[0] > GREEN[1] - GREEN[0] + 20  # sRGB needs more saturated numbers


def test_an_adobe_rgb_texture_is_converted_to_srgb():
    icc = adobe_rgb_icc()
    data = tagged_png(GREEN, icc)
    assert has_icc_profile(data) and not has_icc_profile(tagged_png(GREEN, None))
    converted = resample_texture(data, 64, to_srgb=True).numpy()[..., :3].reshape(-1, 3).mean(axis=0)
    assert np.abs(converted - expected_srgb(GREEN)).max() <= 3.0
    untouched = resample_texture(data, 64).numpy()[..., :3].reshape(-1, 3).mean(axis=0)
    assert np.abs(untouched - GREEN).max() <= 0.5  # data maps are never converted
    plain = resample_texture(tagged_png(GREEN, None), 64, to_srgb=True).numpy()[..., :3].reshape(-1, 3).mean(axis=0)
    assert np.abs(plain - GREEN).max() <= 0.5  # no profile: already sRGB


def test_levels_and_renders_carry_the_converted_colour(tmp_path):
    mesh = square(tagged_png(GREEN, adobe_rgb_icc()))
    recipe = LodRecipe("web", (LodLevel("web", "Web3D", "High", 4, 64, texture_format="png"),), thumbnail_size=0,
                       fidelity=False)
    lods = build_lods(mesh, recipe, tmp_path / "lods", name="scan")
    document, binary = read_glb(tmp_path / "lods" / lods.levels[0].uri)
    view = document["bufferViews"][document["images"][0]["bufferView"]]
    with Image.open(io.BytesIO(binary[view.get("byteOffset", 0):view.get("byteOffset", 0) + view["byteLength"]])) as im:
        assert "icc_profile" not in im.info  # stripped: a glTF texture is sRGB by definition
        written = np.asarray(im.convert("RGB"), dtype=np.float64).reshape(-1, 3).mean(axis=0)
    assert np.abs(written - expected_srgb(GREEN)).max() <= 3.0
    # the renderer (thumbnails, visual fidelity) sees the same sRGB colour
    # (seen head-on, the shading scales every channel alike: the red-to-green ratio is the texture's)
    lit = np.asarray(render_mesh(mesh, size=64, up="y", azimuth=0, elevation=0))[28:36, 28:36].reshape(-1, 3).mean(0)
    assert lit[0] / lit[1] == pytest.approx(expected_srgb(GREEN)[0] / expected_srgb(GREEN)[1], abs=0.03)
