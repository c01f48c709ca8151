"""Draco-compressed GLB levels (KHR_draco_mesh_compression): smaller, valid, and within the declared
quantisation bound, checked by decoding with DracoPy (an independent decoder) and by the Khronos
glTF-Validator.

Ground truth: Draco quantises each attribute on a grid of 2^bits − 1 steps over its range, so no
position may move by more than half a step of the largest extent, no UV by more than half a step of 1.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image
from test_faithful_lods import RED, png, two_squares
from test_gltf import read_glb, validate

from llvscan.errors import InvalidParameterError
from llvscan.mesh import build_lods, load_mesh, write_glb
from llvscan.mesh.io.glb import DRACO_BITS
from llvscan.mesh.lod.recipe import LodLevel, LodRecipe, load_recipe


def _draco_stream(document: dict, binary: bytes, primitive: dict) -> bytes:
    view = document["bufferViews"][primitive["extensions"]["KHR_draco_mesh_compression"]["bufferView"]]
    return binary[view["byteOffset"]:view["byteOffset"] + view["byteLength"]]


def test_a_draco_level_decodes_within_the_quantisation_bound(tmp_path):
    import DracoPy

    mesh = two_squares(32)
    plain = write_glb(mesh, tmp_path / "plain.glb")
    packed = write_glb(mesh, tmp_path / "draco.glb", compression="draco")
    assert packed.compression == "draco" and packed.bytes < 0.4 * plain.bytes
    document, binary = read_glb(tmp_path / "draco.glb")
    assert document["extensionsRequired"] == ["KHR_draco_mesh_compression"]
    plain_doc, plain_bin = read_glb(tmp_path / "plain.glb")
    worst_position = worst_uv = 0.0
    for primitive, reference in zip(document["meshes"][0]["primitives"], plain_doc["meshes"][0]["primitives"],
                                    strict=True):
        decoded = DracoPy.decode(_draco_stream(document, binary, primitive))
        from test_gltf import accessor

        positions = accessor(plain_doc, plain_bin, reference["attributes"]["POSITION"]).astype(np.float64)
        uv = accessor(plain_doc, plain_bin, reference["attributes"]["TEXCOORD_0"]).astype(np.float64)
        points = np.asarray(decoded.points, dtype=np.float64).reshape(-1, 3)
        decoded_uv = np.asarray(decoded.tex_coord, dtype=np.float64).reshape(-1, 2)
        # Draco reorders the vertices: every original is matched to its nearest decoded point
        step = np.ptp(positions, axis=0).max() / (2 ** DRACO_BITS["position"] - 1)
        nearest = np.abs(positions[:, None, :] - points[None, :, :]).max(axis=2).min(axis=1)
        assert nearest.max() <= step / 2 + 1e-7
        uv_step = np.ptp(uv, axis=0).max() / (2 ** DRACO_BITS["uv"] - 1)
        assert np.abs(uv[:, None, :] - decoded_uv[None, :, :]).max(axis=2).min(axis=1).max() <= uv_step / 2 + 1e-7
        # the same triangles, as sets of corner positions
        faces = np.asarray(decoded.faces).reshape(-1, 3)
        triangles = np.sort(np.round(points[faces] / step).astype(np.int64).reshape(len(faces), -1), axis=1)
        original = accessor(plain_doc, plain_bin, reference["indices"]).reshape(-1, 3)
        quantised = np.round((positions - positions.min(axis=0)) / step) * step + positions.min(axis=0)
        expected = np.sort(np.round(quantised[original] / step).astype(np.int64).reshape(len(original), -1), axis=1)
        assert len(faces) == len(original)
        np.testing.assert_array_equal(np.unique(triangles, axis=0), np.unique(expected, axis=0))
        worst_position = max(worst_position, float(nearest.max()))
        worst_uv = max(worst_uv, uv_step / 2)
    # measured through Draco's quantiser: at least the nearest-point error, at most half a step
    assert worst_position - 1e-9 <= packed.position_error <= step / 2 + 1e-9
    assert 0 < packed.uv_error <= worst_uv + 1e-9
    code, report = validate(tmp_path / "draco.glb")
    assert (code, report["numErrors"]) == (0, 0), report["messages"][:3]
    again = load_mesh(tmp_path / "draco.glb")  # llvscan's reader reads it back, textures and all
    assert again.n_faces == mesh.n_faces and [m.name for m in again.materials] == ["red", "blue"]
    assert again.materials[0].texture_data == png(RED)


def test_a_recipe_level_asks_for_draco_and_reports_its_error(tmp_path):
    recipe_file = tmp_path / "web.toml"
    recipe_file.write_text('name = "web"\nthumbnail_size = 0\n[[level]]\nname = "low"\nusage = "Web3D"\n'
                           'quality = "Low"\nfaces = 10000\ntexture_size = 64\ncompression = "draco"\n')
    lods = build_lods(two_squares(16), load_recipe(recipe_file), tmp_path / "lods")
    [level] = lods.levels
    assert level.compression == "draco" and 0 < level.compression_error_pct < 0.01
    assert 0 <= level.compression_uv_texels <= 64 / (2 ** DRACO_BITS["uv"] - 1)
    svx = json.loads((tmp_path / "lods" / lods.scene).read_text())
    assert svx["metas"][0]["process"]["levels"]["low"]["compression"] == "draco"
    code, report = validate(tmp_path / "lods" / level.uri)
    assert (code, report["numErrors"]) == (0, 0)


@pytest.mark.parametrize(("changes", "words"), [({"compression": "meshopt"}, "not auto, none, draco"),
                                                ({"compression": "draco", "format": "obj"}, "GLB levels only")])
def test_impossible_compression_is_a_usage_error(changes, words):
    with pytest.raises(InvalidParameterError, match=words):
        LodRecipe("x", (LodLevel("a", "Web3D", "Low", 100, 64, **changes),))


def test_compression_is_an_option_of_the_writer(tmp_path):
    with pytest.raises(InvalidParameterError, match="compression"):
        write_glb(two_squares(2), tmp_path / "x.glb", compression="zip")


def test_identical_levels_are_written_once_and_shared(tmp_path):
    """An untextured 2,048-face input under a recipe of three levels above its face count: one GLB."""
    from test_faithful_lods import two_squares as squares

    plain = squares(16)
    untextured = type(plain)(plain.vertices, plain.faces, units="m", path="plain.stl")
    recipe = LodRecipe("many", tuple(LodLevel(name, "Web3D", quality, 100_000, 64)
                                     for name, quality in (("low", "Low"), ("medium", "Medium"), ("high", "High"))),
                       thumbnail_size=0)
    lods = build_lods(untextured, recipe, tmp_path / "lods")
    assert {level.uri for level in lods.levels} == {"plain-low.glb"}
    assert sorted(p.name for p in (tmp_path / "lods").iterdir()) == ["plain-low.glb", "scene.svx.json"]
    svx = json.loads((tmp_path / "lods" / "scene.svx.json").read_text())
    uris = [a["uri"] for d in svx["models"][0]["derivatives"] for a in d["assets"]]
    assert uris == ["plain-low.glb"] * 3


def test_uvs_of_a_large_texture_are_quantised_to_a_quarter_texel(tmp_path):
    """12 bits are a texel of a 4096 texture: the writer raises the UV bits with the texture (here 14)."""
    mesh = two_squares(16)
    wide = io.BytesIO()
    Image.new("RGB", (4096, 8), (200, 30, 30)).save(wide, format="PNG")
    info = write_glb(mesh, tmp_path / "wide.glb", textures={0: wide.getvalue()}, compression="draco")
    assert 0 < info.uv_error * 4096 <= 0.25 + 1e-9
    small = write_glb(mesh, tmp_path / "small.glb", compression="draco")  # 64² textures: 12 bits
    assert small.uv_error * 4096 > 0.25
