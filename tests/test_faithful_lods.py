"""Levels of detail keep what came in: every material with its own texture (also when the texture is
bytes a glTF carried, not a file), its other maps, alpha and sidedness; thumbnails render the textures;
what a reader read past makes the mesh invalid with one finding per problem.

Ground truth: a strip of two squares, the left one textured pure red, the right one pure blue (PNG bytes
made with Pillow), each with 2 × 8² faces so that decimation has work to do. Written GLBs are read back
with a GLB parser of the tests' own (``test_gltf.read_glb``) and their images decoded with Pillow.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image
from test_gltf import read_glb, validate

from llvscan.mesh import Material, Mesh, build_lods, render_mesh, save_mesh, validate_mesh
from llvscan.mesh.core.types import ReadProblem, TextureMap
from llvscan.mesh.lod.recipe import LodLevel, LodRecipe

RED, BLUE = (230, 20, 20), (20, 20, 230)


def png(colour: tuple[int, int, int], size: int = 64) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(out, format="PNG")
    return out.getvalue()


def two_squares(n: int = 8) -> Mesh:
    """Left square x in [0, 1] (material 0, red), right square x in [1, 2] (material 1, blue), in metres."""
    xs, ys = np.meshgrid(np.linspace(0.0, 1.0, n + 1), np.linspace(0.0, 1.0, n + 1))
    grid = np.stack([xs.ravel(), ys.ravel(), np.zeros(xs.size)], axis=1)
    i = np.arange((n + 1) ** 2).reshape(n + 1, n + 1)[:-1, :-1].ravel()
    faces = np.concatenate([np.stack([i, i + 1, i + n + 2], 1), np.stack([i, i + n + 2, i + n + 1], 1)])
    vertices = np.concatenate([grid, grid + np.array([1.0, 0.0, 0.0])])
    faces = np.concatenate([faces, faces + len(grid)])
    uv = np.concatenate([grid[:, :2], grid[:, :2]])
    materials = (
        Material("red", texture="scan.glb#images/0", texture_data=png(RED), texture_size=(64, 64),
                 maps=(TextureMap("normal", "scan.glb#images/2", png((128, 128, 255), 32), (32, 32), 0.5),),
                 alpha_mode="MASK", alpha_cutoff=0.25),
        Material("blue", texture="scan.glb#images/1", texture_data=png(BLUE), texture_size=(64, 64),
                 double_sided=True),
    )
    face_material = np.repeat([0, 1], len(faces) // 2)
    return Mesh(vertices, faces, uv=uv, uv_faces=faces, materials=materials, face_material=face_material,
                units="m", path="scan.glb", format="glb")


def decoded_mean(document: dict, binary: bytes, texture: int) -> np.ndarray:
    image = document["images"][document["textures"][texture]["source"]]
    view = document["bufferViews"][image["bufferView"]]
    data = binary[view["byteOffset"]:view["byteOffset"] + view["byteLength"]]
    with Image.open(io.BytesIO(data)) as decoded:
        return np.asarray(decoded.convert("RGB"), dtype=np.float64).reshape(-1, 3).mean(axis=0)


RECIPE = LodRecipe("test", (
    LodLevel("full", "Web3D", "High", 10_000, 64),
    LodLevel("half", "Web3D", "Medium", 128, 32),
    LodLevel("tiny", "Web3D", "Thumb", 32, 16, texture_format="png"),
), thumbnail_size=64)


def test_every_level_keeps_every_material_with_its_own_texture(tmp_path):
    lods = build_lods(two_squares(), RECIPE, tmp_path / "lods")
    assert lods.findings == []
    for level in lods.levels:
        path = tmp_path / "lods" / level.uri
        document, binary = read_glb(path)
        materials = {m["name"]: m for m in document["materials"]}
        assert set(materials) == {"red", "blue"}, level.name
        red, blue = materials["red"], materials["blue"]
        assert np.allclose(decoded_mean(document, binary, red["pbrMetallicRoughness"]["baseColorTexture"]["index"]),
                           RED, atol=2)
        assert np.allclose(decoded_mean(document, binary, blue["pbrMetallicRoughness"]["baseColorTexture"]["index"]),
                           BLUE, atol=2)
        # the other maps, alpha and sidedness come along
        assert red["normalTexture"]["scale"] == 0.5
        assert np.allclose(decoded_mean(document, binary, red["normalTexture"]["index"]), (128, 128, 255), atol=2)
        assert red["alphaMode"] == "MASK" and red["alphaCutoff"] == 0.25 and red["doubleSided"] is False
        assert blue["doubleSided"] is True and "alphaMode" not in blue
        # one primitive per material, each keeping its faces' texture
        primitives = document["meshes"][0]["primitives"]
        assert sorted(document["materials"][p["material"]]["name"] for p in primitives) == ["blue", "red"]
        code, report = validate(path)
        assert (code, report["numErrors"]) == (0, 0), report["messages"][:3]


def test_the_levels_textures_are_resampled_per_level(tmp_path):
    lods = build_lods(two_squares(), RECIPE, tmp_path / "lods")
    sizes = {level.name: level.texture_size for level in lods.levels}
    assert sizes == {"full": (64, 64), "half": (32, 32), "tiny": (16, 16)}
    document, _ = read_glb(tmp_path / "lods" / lods.levels[2].uri)
    assert {image["mimeType"] for image in document["images"]} == {"image/png"}


def test_the_thumbnail_shows_each_half_in_its_colour(tmp_path):
    image = np.asarray(render_mesh(two_squares(), size=96, azimuth=0, elevation=0, supersample=1))
    row = image[48]
    left, right = row[20:40].mean(axis=0), row[56:76].mean(axis=0)
    assert left[0] > 2 * left[2] and right[2] > 2 * right[0], (left, right)
    lods = build_lods(two_squares(), RECIPE, tmp_path / "lods")
    with Image.open(tmp_path / "lods" / lods.thumbnail) as thumb:
        pixels = np.asarray(thumb.convert("RGB"), dtype=np.float64).reshape(-1, 3)
    reddish = (pixels[:, 0] > 2 * pixels[:, 2]).sum()
    bluish = (pixels[:, 2] > 2 * pixels[:, 0]).sum()
    assert reddish > 100 and bluish > 100  # both textures are on the thumbnail


def test_an_obj_level_writes_the_carried_texture_as_a_file(tmp_path):
    written = save_mesh(two_squares(), tmp_path / "out" / "scan.obj")
    names = sorted(p.name for p in written)
    assert names == ["scan-blue.png", "scan-red.png", "scan.mtl", "scan.obj"]
    with Image.open(tmp_path / "out" / "scan-red.png") as red:
        assert red.getpixel((3, 3)) == RED
    mtl = (tmp_path / "out" / "scan.mtl").read_text()
    assert "map_Kd scan-red.png" in mtl and "map_Kd scan-blue.png" in mtl


def test_a_texture_the_levels_cannot_carry_is_an_error_finding(tmp_path):
    mesh = two_squares()
    broken = Material("blue", texture="scan.glb#images/1", texture_data=b"\x89PNG\r\n\x1a\n garbage")
    mesh = Mesh(mesh.vertices, mesh.faces, uv=mesh.uv, uv_faces=mesh.uv_faces,
                materials=(mesh.materials[0], broken), face_material=mesh.face_material, units="m", path="scan.glb")
    lods = build_lods(mesh, RECIPE, tmp_path / "lods")
    [finding] = lods.findings
    assert finding.level == "error" and finding.code == "texture_not_carried" and "'blue'" in finding.message
    assert any(note.startswith("visual fidelity not measured") for note in lods.notes)
    process = json.loads((tmp_path / "lods" / lods.scene).read_text())["metas"][0]["process"]
    assert [f["code"] for f in process["findings"]] == ["texture_not_carried"]  # the svx says it once
    document, _ = read_glb(tmp_path / "lods" / lods.levels[0].uri)
    materials = {m["name"]: m for m in document["materials"]}
    assert "baseColorTexture" in materials["red"]["pbrMetallicRoughness"]
    assert "baseColorTexture" not in materials["blue"]["pbrMetallicRoughness"]


def test_what_a_reader_read_past_makes_the_mesh_invalid_listing_each_problem():
    mesh = two_squares()
    problems = (ReadProblem("missing_mtl", "scan.obj: mtllib 'a.mtl' not found", "/c/a.mtl"),
                ReadProblem("missing_texture", "scan.obj: texture 'b.png' not found", "/c/b.png"))
    report = validate_mesh(Mesh(mesh.vertices, mesh.faces, uv=mesh.uv, uv_faces=mesh.uv_faces,
                                materials=mesh.materials, face_material=mesh.face_material, units="m",
                                problems=problems))
    assert not report.is_valid
    codes = [f.code for f in report.errors]
    assert codes.count("missing_mtl") == 1 and codes.count("missing_texture") == 1
    assert any("b.png" in f.message for f in report.errors)


@pytest.mark.parametrize("slot", ["occlusion", "emissive", "metallic_roughness"])
def test_other_map_slots_are_written(tmp_path, slot):
    mesh = two_squares()
    red = mesh.materials[0]
    red = Material(red.name, red.texture, red.texture_size, None, red.texture_data,
                   maps=(TextureMap(slot, f"scan.glb#{slot}", png((200, 100, 50), 16)),))
    mesh = Mesh(mesh.vertices, mesh.faces, uv=mesh.uv, uv_faces=mesh.uv_faces, materials=(red, mesh.materials[1]),
                face_material=mesh.face_material, units="m", path="scan.glb")
    lods = build_lods(mesh, LodRecipe("one", (LodLevel("full", "Web3D", "High", 10_000, 64),),
                                      thumbnail_size=0), tmp_path / "lods")
    document, _ = read_glb(tmp_path / "lods" / lods.levels[0].uri)
    red_out = next(m for m in document["materials"] if m["name"] == "red")
    key = {"occlusion": "occlusionTexture", "emissive": "emissiveTexture"}.get(slot)
    assert (red_out[key] if key else red_out["pbrMetallicRoughness"]["metallicRoughnessTexture"])["index"] >= 0


# --- scale, orientation and metadata, as viewers show them ---------------------------------------

def cone(height_mm: float = 120.0, radius_mm: float = 30.0, n: int = 48) -> Mesh:
    """A closed cone standing on z = 0 with its apex at +Z (a Z-up scan), in millimetres."""
    angle = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    ring = np.stack([radius_mm * np.cos(angle), radius_mm * np.sin(angle), np.zeros(n)], axis=1)
    vertices = np.concatenate([ring, [[0.0, 0.0, height_mm], [0.0, 0.0, 0.0]]])
    apex, centre = n, n + 1
    i = np.arange(n)
    faces = np.concatenate([np.stack([i, (i + 1) % n, np.full(n, apex)], 1),
                            np.stack([(i + 1) % n, i, np.full(n, centre)], 1)])
    return Mesh(vertices, faces, units="mm", path="cone.ply")


def glb_positions(path) -> np.ndarray:
    from test_gltf import primitive_arrays

    return np.concatenate([p["POSITION"] for p in primitive_arrays(path)]).astype(np.float64)


def test_a_z_up_cone_stands_on_y_at_its_size_in_metres(tmp_path):
    import json

    # uncompressed: the positions are compared to a micrometre
    lods = build_lods(cone(), LodRecipe("one", (LodLevel("full", "Web3D", "High", 10_000, 64, compression="none"),),
                                        thumbnail_size=64), tmp_path / "lods", up_axis="z",
                      metadata={"title": "Cone (test)", "object_number": "T.1", "creator": "llvscan tests"})
    positions = glb_positions(tmp_path / "lods" / lods.levels[0].uri)
    apex = positions[np.argmax(positions[:, 1])]
    assert apex == pytest.approx([0.0, 0.120, 0.0], abs=1e-6)  # 120 mm up +Z → 0.12 m up +Y
    assert positions[:, 1].min() == pytest.approx(0.0, abs=1e-6)
    svx = json.loads((tmp_path / "lods" / "scene.svx.json").read_text())
    model = svx["models"][0]
    assert model["units"] == "m"
    assert model["boundingBox"]["min"] == pytest.approx(positions.min(axis=0).tolist(), abs=1e-6)
    assert model["boundingBox"]["max"] == pytest.approx(positions.max(axis=0).tolist(), abs=1e-6)
    assert svx["metas"][0]["collection"] == {"title": "Cone (test)", "objectNumber": "T.1",
                                             "creator": "llvscan tests"}
    with Image.open(tmp_path / "lods" / lods.thumbnail) as thumb:  # upright: the apex is near the top
        dark = np.argwhere(np.asarray(thumb.convert("L")) < 200)
    assert dark[:, 0].min() < 0.3 * 64 and dark[:, 0].max() > 0.6 * 64


def test_undeclared_units_are_guessed_and_said_or_taken_from_the_caller(tmp_path):
    bare = Mesh(cone().vertices, cone().faces, path="cone.stl")  # 120 units across, no units
    one = LodRecipe("one", (LodLevel("full", "Web3D", "High", 10_000, 64),), thumbnail_size=0)
    guessed = build_lods(bare, one, tmp_path / "a")
    assert guessed.units == "mm" and [f.code for f in guessed.findings] == ["units_guessed"]
    assert glb_positions(tmp_path / "a" / guessed.levels[0].uri)[:, 2].max() == pytest.approx(0.12, abs=1e-6)
    declared = build_lods(bare, one, tmp_path / "b", units="cm")
    assert declared.units == "cm" and declared.findings == []
    assert glb_positions(tmp_path / "b" / declared.levels[0].uri)[:, 2].max() == pytest.approx(1.2, abs=1e-6)
