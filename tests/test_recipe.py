"""Run recipes: TOML in, checked values, one hash per kind."""

from __future__ import annotations

from dataclasses import replace

import pytest

from llvscan.collection import ImageRecipe, MeshRecipe, QaRecipe, RunRecipe, load_run_recipe
from llvscan.errors import InvalidParameterError

LOD_TOML = """
name = "museum-web"
[[level]]
name = "web"
usage = "Web3D"
quality = "High"
faces = 5000
texture_size = 1024
"""


def test_a_full_recipe_is_read_with_its_lod_file_relative_to_it(tmp_path):
    (tmp_path / "lods").mkdir()
    (tmp_path / "lods" / "web.toml").write_text(LOD_TOML)
    path = tmp_path / "run.toml"
    path.write_text("""
[mesh]
lods = "lods/web.toml"
lods_for_invalid = true
[mesh.validation]
sliver_angle = 2.0
[image]
layouts = ["iiif3", "dz"]
inspect = false
quality = 90
[image.inspection]
clipped_error_percent = 10.0
""")
    recipe = load_run_recipe(path)
    assert recipe.mesh.lods == str(tmp_path / "lods" / "web.toml")
    assert recipe.mesh.lod_recipe().name == "museum-web"
    assert recipe.mesh.thresholds().sliver_angle == 2.0 and recipe.mesh.lods_for_invalid
    assert recipe.image.layouts == ("iiif3", "dz") and not recipe.image.inspect and recipe.image.quality == 90
    assert recipe.image.thresholds().clipped_error_percent == 10.0
    recorded = recipe.to_dict()  # what the catalog keeps: the LOD recipe file's content, not its name
    assert recorded["mesh"]["lods"]["levels"][0]["faces"] == 5000
    assert recorded["image"]["layouts"] == ["iiif3", "dz"] and recorded["source"] == str(path)
    assert recorded["mesh"]["validation"] == {"sliver_angle": 2.0}


def test_an_empty_file_is_the_default_recipe(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text("")
    recipe = load_run_recipe(path)
    assert recipe.sha256("mesh") == RunRecipe().sha256("mesh") and recipe.sha256("image") == RunRecipe().sha256("image")


def test_none_turns_lods_off(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('[mesh]\nlods = "none"\n')
    assert load_run_recipe(path).mesh.lod_recipe() is None


@pytest.mark.parametrize(("text", "message"), [
    ("[meshes]\n", "unknown sections ['meshes']"),
    ("[mesh]\nlod = 'voyager'\n", "[mesh]: unknown keys ['lod']"),
    ("[image]\nlayouts = ['iiif4']\n", "image layouts ['iiif4'] unknown"),
    ("[image]\ntile_size = 3\n", "tile_size 3 is outside"),
    ("[image.inspection]\nclipped_warning_percent = 9.0\nclipped_error_percent = 5.0\n", "warning ≤ error"),
    ("[mesh.validation]\nsliver_angel = 1.0\n", "sliver_angel"),
    ("[mesh]\nlods = 'missing.toml'\n", "no such file"),
    ("[mesh]\nlods = 'vogager'\n", "no recipe named 'vogager'"),
    ("[mesh]\nmax_faces = -1\n", "max_faces must be a positive"),
    ("[mesh]\nvalidation = 3\n", "[mesh.validation] must be a table"),
    ("mesh = [\n", "not a valid TOML"),
    ("[qa]\nstandard = 'fadgi-2016'\n", "qa standard 'fadgi-2016' unknown"),
    ("[qa]\nstandard = 'iso-19264'\nlevel = '3 stars'\n", "qa level '3 stars' is not a level of iso-19264"),
    ("[qa]\nsession = 'a'\n", "[qa]: unknown keys ['session']"),
])
def test_bad_recipes_are_refused_naming_the_file(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InvalidParameterError) as caught:
        load_run_recipe(path)
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"{path}: ")


def test_a_missing_recipe_file_is_a_usage_error(tmp_path):
    with pytest.raises(InvalidParameterError, match="no such recipe file"):
        load_run_recipe(tmp_path / "nope.toml")


def test_each_kind_has_its_own_hash(tmp_path):
    base = RunRecipe()
    images = base.with_image(quality=70)
    assert images.sha256("image") != base.sha256("image") and images.sha256("mesh") == base.sha256("mesh")
    meshes = RunRecipe(mesh=MeshRecipe(lods="archive"))
    assert meshes.sha256("mesh") != base.sha256("mesh") and meshes.sha256("image") == base.sha256("image")
    # a LOD recipe file is hashed by content: editing it redoes the meshes
    lods = tmp_path / "web.toml"
    lods.write_text(LOD_TOML)
    before = RunRecipe(mesh=MeshRecipe(lods=str(lods))).sha256("mesh")
    lods.write_text(LOD_TOML.replace("5000", "6000"))
    assert RunRecipe(mesh=MeshRecipe(lods=str(lods))).sha256("mesh") != before


def test_targets_have_their_own_hash():
    base = RunRecipe()
    stricter = replace(base, qa=QaRecipe(standard="metamorfoze-2.0", level="full"))
    # a new standard regrades the targets and leaves the artworks' tiles alone
    assert stricter.sha256("target") != base.sha256("target")
    assert stricter.sha256("image") == base.sha256("image") and stricter.sha256("mesh") == base.sha256("mesh")
    assert base.with_image(pixel_limit=10**6).sha256("target") != base.sha256("target")


def test_a_qa_section_is_read(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text("[qa]\nstandard = 'iso-19264'\nlevel = 'B'\noverlay = false\n")
    recipe = load_run_recipe(path)
    assert recipe.qa == QaRecipe(standard="iso-19264", level="B", overlay=False)
    assert recipe.to_dict()["qa"] == {"standard": "iso-19264", "level": "B", "overlay": False}


def test_image_recipe_checks_values():
    with pytest.raises(InvalidParameterError, match="repeat"):
        ImageRecipe(layouts=("dz", "dz"))
    with pytest.raises(InvalidParameterError, match="quality 0"):
        ImageRecipe(quality=0)


def test_defaults_come_from_the_shared_constants():
    from llvscan._constants import DEFAULT_MAX_FACES, DEFAULT_PIXEL_LIMIT, LAYOUTS
    from llvscan.collection.process import LAYOUT_FOLDERS
    from llvscan.imaging import tiles

    recipe = RunRecipe()
    assert recipe.image.pixel_limit == DEFAULT_PIXEL_LIMIT == tiles.DEFAULT_PIXEL_LIMIT
    assert recipe.mesh.max_faces == DEFAULT_MAX_FACES
    assert tiles.LAYOUTS is LAYOUTS
    assert ImageRecipe(layouts=LAYOUTS).layouts == LAYOUTS and set(LAYOUT_FOLDERS) == set(LAYOUTS)

