"""Levels of detail: recipes, written files, the Voyager scene, measured errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import gradient_image, load_generator

from llvscan.cli import cli
from llvscan.errors import InvalidParameterError
from llvscan.mesh import Material, Mesh, build_lods
from llvscan.mesh.lod.recipe import RECIPES, LodLevel, LodRecipe, load_recipe


@pytest.fixture(scope="module")
def textured_sphere(tmp_path_factory) -> Mesh:
    """A 6-chart textured cube-sphere (4,800 faces, mm) with a 512×256 texture."""
    gen = load_generator()
    n = 20
    unit, faces, _ = gen.cube_sphere(n)
    folder = tmp_path_factory.mktemp("tex")
    texture = gradient_image(folder / "albedo.png", 512, 256)
    uv = gen.chart_uvs(n, gen.atlas_rects(512, 4), 512).reshape(-1, 2)
    return Mesh(unit * 50, faces, uv=uv, uv_faces=gen.chart_uv_faces(n), units="mm",
                materials=(Material("stone", str(texture)),), face_material=np.zeros(len(faces), np.int32),
                path=str(folder / "sphere.obj"))


SMALL = LodRecipe("small", (
    LodLevel("thumb", "Web3D", "Thumb", 300, 64, 70),
    LodLevel("low", "Web3D", "Low", 1200, 128),
    LodLevel("high", "Web3D", "High", 1200, 1024, texture_format="png"),  # asks above the texture's 512
    LodLevel("full", "Editorial3D", "Highest", 1_000_000, 4096, format="obj"),  # above the input: kept
), thumbnail_size=64)


@pytest.fixture(scope="module")
def lod_set(textured_sphere, tmp_path_factory):
    return build_lods(textured_sphere, SMALL, tmp_path_factory.mktemp("out") / "lods")


def test_levels_have_their_targets_and_share_decimations(lod_set):
    levels = {r.name: r for r in lod_set.levels}
    assert [r.name for r in lod_set.levels] == ["thumb", "low", "high", "full"]
    assert levels["thumb"].faces == 300 and levels["low"].faces == levels["high"].faces == 1200
    assert levels["full"].faces == 4800 and levels["full"].hausdorff_pct == 0  # the input, kept
    assert levels["low"].decimated_from == levels["high"].decimated_from == "input"
    assert levels["thumb"].decimated_from == "low"  # from the nearest finer level
    assert all(r.reached for r in lod_set.levels)
    assert 0 < levels["low"].hausdorff_pct < levels["thumb"].hausdorff_pct < 5


def test_textures_follow_the_recipe_and_are_never_upscaled(lod_set):
    levels = {r.name: r for r in lod_set.levels}
    assert levels["thumb"].texture_size == (64, 32)
    assert levels["low"].texture_size == (128, 64)
    assert levels["high"].texture_size == (512, 256)  # 1024 asked, 512 available
    assert levels["low"].texel_drift_median is not None


def test_files_and_sizes_match_the_scene(lod_set):
    out_path = Path(lod_set.out_dir)
    svx = json.loads((out_path / "scene.svx.json").read_text())
    assert svx["asset"]["type"] == "application/si-dpo-3d.document+json"
    model = svx["models"][0]
    # the model describes the GLBs as written (metres); the scene keeps the source's display units
    assert model["units"] == "m" and svx["scenes"][0]["units"] == "mm"
    assert model["boundingBox"]["min"] == pytest.approx([-0.05, -0.05, -0.05])
    assets = [a for d in model["derivatives"] for a in d["assets"]]
    for asset in assets:
        assert (out_path / asset["uri"]).stat().st_size == asset["byteSize"]
    models = {a["uri"]: a for a in assets if a["type"] == "Model"}
    for level in lod_set.levels:
        assert models[level.uri]["numFaces"] == level.faces
        assert (out_path / level.uri).stat().st_size == level.bytes
    quality = {(d["usage"], d["quality"]) for d in model["derivatives"]}
    assert quality == {("Web3D", "Thumb"), ("Web3D", "Low"), ("Web3D", "High"), ("Editorial3D", "Highest")}
    process = svx["metas"][0]["process"]
    assert process["levels"]["thumb"]["hausdorffPercentOfDiagonal"] == lod_set.levels[0].hausdorff_pct
    image = svx["metas"][0]["images"][0]
    assert image["uri"] == lod_set.thumbnail and image["width"] == 64
    assert not [p for p in out_path.parent.iterdir() if p.name.startswith(".")]  # no temporaries left


def test_glb_levels_round_trip_through_trimesh(lod_set):
    import trimesh

    out = Path(lod_set.out_dir)
    level = next(r for r in lod_set.levels if r.name == "low")
    loaded = trimesh.load(out / level.uri, process=False)
    loaded = loaded.to_mesh() if isinstance(loaded, trimesh.Scene) else loaded
    assert len(loaded.faces) == level.faces
    assert loaded.visual.uv is not None and np.isfinite(loaded.visual.uv).all()
    assert np.abs(loaded.vertices).max() == pytest.approx(0.05, rel=0.05)  # mm → m


def test_obj_level_has_its_texture(lod_set):
    from llvscan.mesh import load_mesh

    out = Path(lod_set.out_dir)
    level = next(r for r in lod_set.levels if r.name == "full")
    back = load_mesh(out / level.uri)
    assert back.n_faces == 4800 and back.materials[0].texture.endswith(level.texture_uri)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"faces": 0}, "0 faces"),
    ({"texture_size": 3}, "texture size 3"),
    ({"usage": "Web4D"}, "usage 'Web4D'"),
    ({"texture_format": "gif"}, "texture format"),
    ({"faces": 100, "ratio": 0.5}, "not both"),
])
def test_bad_levels_are_refused(kwargs, message):
    args = {"name": "x", "usage": "Web3D", "quality": "High", "faces": 1000, "texture_size": 1024} | kwargs
    with pytest.raises(InvalidParameterError, match=message):
        LodLevel(**args)


def test_toml_recipes(tmp_path):
    good = tmp_path / "web.toml"
    good.write_text('name = "web"\nthumbnail_size = 256\n[[level]]\nname = "high"\nusage = "Web3D"\n'
                    'quality = "High"\nfaces = 150000\ntexture_size = 4096\n[[level]]\nname = "tenth"\n'
                    'usage = "Web3D"\nquality = "Low"\nratio = 0.1\ntexture_size = 1024\n')
    recipe = load_recipe(good)
    assert recipe.name == "web" and recipe.thumbnail_size == 256
    assert recipe.levels[1].ratio == 0.1 and recipe.levels[1].faces == 0
    bad = tmp_path / "bad.toml"
    bad.write_text('[[level]]\nname = "thumb"\nusage = "Web3D"\nquality = "Thumb"\nfaces = 0\ntexture_size = 3\n')
    with pytest.raises(InvalidParameterError, match=r"bad\.toml: level 'thumb': 0 faces"):
        load_recipe(bad)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('[[level]]\nname = "a"\nusage = "Web3D"\nquality = "Low"\nfaces = 10\ntexture_size = 64\n'
                       'colour = "red"\n')
    with pytest.raises(InvalidParameterError, match="unknown keys"):
        load_recipe(unknown)
    (tmp_path / "broken.toml").write_text("[[level]\n")
    with pytest.raises(InvalidParameterError, match="not a valid TOML"):
        load_recipe(tmp_path / "broken.toml")
    with pytest.raises(InvalidParameterError, match="no recipe named"):
        load_recipe("museum")


def test_voyager_preset_matches_the_smithsonian_recipe():
    levels = {(lvl.quality, lvl.faces, lvl.texture_size) for lvl in RECIPES["voyager"].levels}
    assert levels == {("Thumb", 20_000, 512), ("Low", 150_000, 1024), ("Medium", 150_000, 2048),
                      ("High", 150_000, 4096), ("AR", 100_000, 2048), ("Highest", 1_000_000, 8192)}


def test_archive_preset_resolves_ratios(textured_sphere, tmp_path):
    lods = build_lods(textured_sphere, "archive", tmp_path / "archive")
    faces = {r.name: r.faces for r in lods.levels}
    assert faces == {"full": 4800, "tenth": 480, "hundredth": 48}
    assert lods.levels[0].uri.endswith(".obj") and lods.levels[0].texture_uri.endswith(".png")


def test_lods_command(textured_sphere, tmp_path):
    from llvscan.mesh import save_mesh

    save_mesh(textured_sphere, tmp_path / "in" / "sphere.obj")
    recipe = tmp_path / "r.toml"
    recipe.write_text('thumbnail_size = 32\n[[level]]\nname = "web"\nusage = "Web3D"\nquality = "High"\n'
                      'faces = 1000\ntexture_size = 128\n')
    runner = CliRunner()
    result = runner.invoke(cli, ["mesh", "lods", str(tmp_path / "in" / "sphere.obj"), str(tmp_path / "out"),
                                 "--recipe", str(recipe), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["levels"][0]["faces"] == 1000 and report["scene"] == "scene.svx.json"
    assert (tmp_path / "out" / "sphere-web.glb").is_file()
    bad = runner.invoke(cli, ["mesh", "lods", str(tmp_path / "in" / "sphere.obj"), str(tmp_path / "o2"),
                              "--recipe", "nope"])
    assert bad.exit_code == 2 and "no recipe named" in bad.output
    assert not (tmp_path / "o2").exists()


def test_thumbnail_is_written(lod_set):
    from PIL import Image

    out = Path(lod_set.out_dir)
    with Image.open(out / lod_set.thumbnail) as image:
        assert image.size == (64, 64)
        pixels = np.asarray(image.convert("RGB"))
    assert (pixels != 255).any()  # something was drawn
    assert math.isclose(float(pixels[0, 0].mean()), 255)  # corners show the background


def test_every_glb_level_passes_the_khronos_validator(lod_set):
    from test_gltf import validate

    out = Path(lod_set.out_dir)
    for level in lod_set.levels:
        if level.uri.endswith(".glb"):
            rc, report = validate(out / level.uri)
            assert (rc, report["numErrors"]) == (0, 0), report["messages"]
            assert report["info"]["totalTriangleCount"] == level.faces
