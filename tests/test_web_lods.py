"""Web-grade levels of detail end to end: baked maps, fresh atlases, Draco by default — checked by what a
viewer gets (the GLB parsed by the tests' own reader, Draco decoded by DracoPy, the Khronos validator) and
by how close the level looks (SSIM of renders against the original's).

Inputs are made with numpy: a bust with bumps (the sample generator's cube-sphere, no atlas), a
height field whose every quad is a chart of its own (an atlas a texturing tool might cut), its texture a
known colour gradient over the surface, and a vertex-coloured scan without UVs.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from conftest import load_generator
from PIL import Image
from test_gltf import primitive_arrays, read_glb, validate

from llvscan.errors import InvalidMeshError
from llvscan.mesh import Material, Mesh, build_lods
from llvscan.mesh.lod.recipe import RECIPES, LodLevel, LodRecipe


def bust(n: int = 28) -> Mesh:
    gen = load_generator()
    unit, faces, _ = gen.cube_sphere(n)
    return Mesh(vertices=gen.bust_positions(unit, seed=1921), faces=faces, units="mm", path="bust.obj")


def image(document: dict, binary: bytes, reference: dict) -> np.ndarray:
    picture = document["images"][document["textures"][reference["index"]]["source"]]
    view = document["bufferViews"][picture["bufferView"]]
    start = view.get("byteOffset", 0)
    with Image.open(io.BytesIO(binary[start:start + view["byteLength"]])) as decoded:
        return np.asarray(decoded.convert("RGB"))


def test_baked_normals_bring_back_the_relief_decimation_removed(tmp_path):
    mesh = bust()
    plain = LodLevel("plain", "Web3D", "Thumb", 600, 256, unwrap=False)
    baked = LodLevel("baked", "Web3D", "Thumb", 600, 256, bake=("normal", "occlusion"), unwrap="auto")
    lods = build_lods(mesh, LodRecipe("web", (plain, baked), thumbnail_size=64), tmp_path / "lods", name="bust")
    flat, relief = lods.levels
    assert flat.baked == () and not flat.unwrapped and flat.compression == "draco"
    # no atlas on the scan: "auto" gives the baked level one, to carry its maps (and no colour to bake)
    assert relief.unwrapped and relief.baked == ("normal", "occlusion") and relief.bake_seconds > 0
    assert relief.ssim > flat.ssim + 0.005, (relief.ssim, flat.ssim)
    assert abs(relief.mean_pct - flat.mean_pct) < flat.mean_pct  # the same geometry budget, as close
    document, binary = read_glb(tmp_path / "lods" / relief.uri)
    [material] = document["materials"]
    assert {"normalTexture", "occlusionTexture"} <= set(material)
    normal = image(document, binary, material["normalTexture"]).reshape(-1, 3).astype(float) / 127.5 - 1
    assert np.median(np.linalg.norm(normal, axis=1)) == pytest.approx(1.0, abs=0.05)  # unit normals
    assert np.median(normal[:, 2]) > 0.8 and normal[:, :2].std() > 0.05  # mostly facing out, with relief
    occlusion = image(document, binary, material["occlusionTexture"])[..., 0]
    assert 0.4 < occlusion.mean() / 255 <= 1.0
    [arrays] = primitive_arrays(tmp_path / "lods" / relief.uri)
    assert len(arrays["indices"]) == relief.faces == 600 and "TEXCOORD_0" in arrays
    code, report = validate(tmp_path / "lods" / relief.uri)
    assert (code, report["numErrors"]) == (0, 0), report["messages"][:3]


def charted_field(n: int = 24) -> tuple[Mesh, np.ndarray]:
    """A height field z = 0.1 sin(3x) cos(2y) over [0, 1]², each of its n² quads a chart of its own in a
    n×n grid of atlas cells (a gutter around each); the texture paints every cell with the colour the
    gradient (255x, 255y, 128) has at the quad's centre. Returns the mesh and the gradient's function."""
    xs = np.linspace(0.0, 1.0, n + 1)
    x, y = np.meshgrid(xs, xs)
    vertices = np.stack([x.ravel(), y.ravel(), 0.1 * np.sin(3 * x.ravel()) * np.cos(2 * y.ravel())], axis=1)
    index = np.arange((n + 1) ** 2).reshape(n + 1, n + 1)
    faces, uv, uv_faces = [], [], []
    cell, size = 16, 16 * n
    pixels = np.zeros((size, size, 3), dtype=np.uint8)
    for j in range(n):
        for i in range(n):
            a, b, c, d = index[j, i], index[j, i + 1], index[j + 1, i + 1], index[j + 1, i]
            faces += [[a, b, c], [a, c, d]]
            lo = np.array([i * cell + 3, j * cell + 3]) / size
            hi = np.array([(i + 1) * cell - 3, (j + 1) * cell - 3]) / size
            k = len(uv)
            uv += [[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]]
            uv_faces += [[k, k + 1, k + 2], [k, k + 2, k + 3]]
            colour = (255 * (i + 0.5) / n, 255 * (j + 0.5) / n, 128)
            rows = slice(size - (j + 1) * cell, size - j * cell)  # V up: row 0 is the top of the atlas
            pixels[rows, i * cell:(i + 1) * cell] = colour
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    mesh = Mesh(vertices, np.array(faces), uv=np.array(uv), uv_faces=np.array(uv_faces),
                materials=(Material("scan", texture="field.glb#images/0", texture_data=out.getvalue()),),
                face_material=np.zeros(len(faces), dtype=np.int64), units="m", path="field.glb")
    return mesh, pixels


def test_a_many_chart_atlas_gets_a_fresh_one_at_low_levels(tmp_path):
    """576 charts, 1152 faces: keeping every chart's border leaves a 60-face level far from its target;
    "auto" unwraps it afresh, reaches the target, stays as close to the surface, and keeps the colours."""
    mesh, _ = charted_field()
    keep = LodLevel("keep", "Web3D", "Thumb", 60, 256, unwrap=False, compression="none")
    fresh = LodLevel("fresh", "Web3D", "Thumb", 60, 256, unwrap="auto", compression="none")
    lods = build_lods(mesh, LodRecipe("web", (keep, fresh), thumbnail_size=0), tmp_path / "lods", name="field")
    seams, atlas = lods.levels
    assert not seams.unwrapped and atlas.unwrapped and atlas.baked == ("base_colour",)
    assert atlas.faces == 60 and atlas.reached and seams.faces > atlas.faces
    assert atlas.texel_drift_median is None  # a fresh atlas has no drift to measure
    assert atlas.ssim >= seams.ssim - 0.01, (atlas.ssim, seams.ssim)
    # the baked colour is the gradient's at each surface point: read at the level's own UVs
    [arrays] = primitive_arrays(tmp_path / "lods" / atlas.uri)
    document, binary = read_glb(tmp_path / "lods" / atlas.uri)
    texture = image(document, binary, document["materials"][0]["pbrMetallicRoughness"]["baseColorTexture"])
    h, w = texture.shape[:2]
    uv = arrays["TEXCOORD_0"].astype(np.float64)  # glTF: origin top-left
    position = arrays["POSITION"].astype(np.float64)
    corners = arrays["indices"]
    centroid_uv = uv[corners].mean(axis=1)
    centroid = position[corners].mean(axis=1)
    sampled = texture[np.clip((centroid_uv[:, 1] * h).astype(int), 0, h - 1),
                      np.clip((centroid_uv[:, 0] * w).astype(int), 0, w - 1)].astype(np.float64)
    # the file is Y-up as written from a Y-up source: x and y are the field's
    expected = np.stack([255 * centroid[:, 0], 255 * centroid[:, 1], np.full(len(centroid), 128.0)], axis=1)
    assert np.median(np.abs(sampled - expected).max(axis=1)) < 20  # one atlas cell is 255/24 ≈ 11 levels


def test_a_scan_without_uvs_gets_its_vertex_colours_baked_into_a_texture(tmp_path):
    mesh = bust(16)
    z = mesh.vertices[:, 2]
    red = np.clip(255 * (z - z.min()) / np.ptp(z), 0, 255).astype(np.uint8)
    colours = np.stack([red, np.full_like(red, 40), 255 - red, np.full_like(red, 255)], axis=1)
    mesh = Mesh(mesh.vertices, mesh.faces, vertex_colors=colours, units="mm", path="bust.ply")
    level = LodLevel("web", "Web3D", "Low", 400, 128, bake=("normal",), unwrap="auto")
    lods = build_lods(mesh, LodRecipe("web", (level,), thumbnail_size=0), tmp_path / "lods", name="bust")
    [result] = lods.levels
    assert result.unwrapped and result.baked == ("base_colour", "normal")
    document, binary = read_glb(tmp_path / "lods" / result.uri)
    texture = image(document, binary, document["materials"][0]["pbrMetallicRoughness"]["baseColorTexture"])
    assert np.ptp(texture[..., 0]) > 150 and np.abs(texture[..., 1].astype(int) - 40).mean() < 10


def test_a_level_xatlas_cannot_unwrap_keeps_its_seams(tmp_path, monkeypatch):
    import llvscan.mesh.unwrap as unwrapping

    def crash(*args, **kwargs):
        raise InvalidMeshError("xatlas could not unwrap the mesh: it crashed (signal 11)")

    monkeypatch.setattr(unwrapping, "unwrap", crash)
    mesh, _ = charted_field(8)
    level = LodLevel("low", "Web3D", "Thumb", 20, 64, unwrap=True)
    lods = build_lods(mesh, LodRecipe("web", (level,), thumbnail_size=0), tmp_path / "lods", name="field")
    [result] = lods.levels
    assert not result.unwrapped and result.faces >= 20
    assert any("no fresh atlas" in note and "signal 11" in note for note in lods.notes)


def test_the_voyager_preset_is_compressed_and_baked_and_the_archive_is_not():
    voyager, archive = RECIPES["voyager"], RECIPES["archive"]
    web = [level for level in voyager.levels if level.quality != "Highest"]
    assert all(level.compression == "draco" and level.bake == ("normal", "occlusion") for level in web)
    assert all(level.compression == "none" and not level.bake for level in archive.levels)
