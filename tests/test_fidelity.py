"""Visual fidelity of levels of detail: SSIM and PSNR of renders, with ground truth.

SSIM of an image with itself is 1; blurring a test chart by a larger Gaussian lowers it monotonically;
PSNR of a known uniform error is 20·log10(255 / error). A level identical to the original scores SSIM 1;
decimating a sphere-like scan further lowers the score, level after level.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from conftest import load_generator
from PIL import Image, ImageFilter

from llvscan.mesh import Mesh, build_lods, decimate
from llvscan.mesh.lod.recipe import LodLevel, LodRecipe
from llvscan.mesh.render.fidelity import FidelityMeter, psnr, ssim


def chart(size: int = 96) -> np.ndarray:
    rng = np.random.default_rng(7)
    squares = np.kron(rng.integers(0, 256, (12, 12)), np.ones((size // 12, size // 12)))
    return np.repeat(squares[..., None], 3, axis=2).astype(np.uint8)


def test_ssim_and_psnr_ground_truth():
    image = chart()
    assert ssim(image, image) == pytest.approx(1.0)
    assert psnr(image, image) == math.inf
    brighter = np.clip(image.astype(int) + 5, 0, 255).astype(np.uint8)
    changed = brighter.astype(int) - image.astype(int)
    expected = 10 * math.log10(255**2 / np.mean(changed.astype(float) ** 2))
    assert psnr(image, brighter) == pytest.approx(expected)
    scores = [ssim(image, np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(s))))
              for s in (0.5, 1.0, 2.0, 4.0)]
    assert all(a > b for a, b in itertools.pairwise(scores)) and scores[-1] < 0.9


def bust(n: int = 24) -> Mesh:
    gen = load_generator()
    unit, faces, _ = gen.cube_sphere(n)
    return Mesh(vertices=gen.bust_positions(unit, seed=1921), faces=faces, units="mm", path="bust.obj")


def test_fidelity_falls_with_the_face_count():
    mesh = bust()
    meter = FidelityMeter(mesh, views=4, elevations=(20.0,), size=96)
    same = meter.measure(mesh)
    assert same.ssim == pytest.approx(1.0) and same.psnr is None and same.views == 4
    scores = [meter.measure(decimate(mesh, target_faces=t, measure=False).mesh).ssim for t in (3000, 800, 120)]
    assert 1.0 > scores[0] > scores[1] > scores[2], scores


def test_levels_carry_their_fidelity_into_the_scene(tmp_path):
    recipe = LodRecipe("two", (LodLevel("full", "Web3D", "High", 100_000, 64),
                               LodLevel("low", "Web3D", "Low", 500, 64)), thumbnail_size=0)
    lods = build_lods(bust(), recipe, tmp_path / "lods")
    full, low = lods.levels
    assert full.ssim == pytest.approx(1.0) and full.psnr is None
    assert low.ssim is not None and 0.5 < low.ssim < 1.0 and low.psnr is not None and low.psnr > 15
    process = json.loads((tmp_path / "lods" / lods.scene).read_text())["metas"][0]["process"]
    assert process["levels"]["low"]["ssim"] == low.ssim
    quiet = build_lods(bust(), LodRecipe("off", recipe.levels, thumbnail_size=0, fidelity=False), tmp_path / "b")
    assert [level.ssim for level in quiet.levels] == [None, None]


def test_a_level_may_target_a_fidelity_instead_of_a_face_count(tmp_path):
    """``min_ssim``: the fewest faces whose renders reach the goal. Checked against the definition: the
    level reaches it, and the same shape decimated to 80 % of the level's faces no longer does."""
    mesh = bust()
    goal = 0.97
    recipe = LodRecipe("fit", (LodLevel("fit", "Web3D", "High", 0, 64, min_ssim=goal),), thumbnail_size=0)
    [level] = build_lods(mesh, recipe, tmp_path / "lods").levels
    assert level.ssim is not None and level.ssim >= goal
    assert 16 <= level.faces < mesh.n_faces
    meter = FidelityMeter(mesh)
    fewer = decimate(mesh, target_faces=int(level.faces * 0.8), measure=False).mesh
    assert meter.measure(fewer).ssim < goal


def test_min_ssim_needs_fidelity_and_reads_from_toml(tmp_path):
    from llvscan.errors import InvalidParameterError
    from llvscan.mesh.lod.recipe import load_recipe

    with pytest.raises(InvalidParameterError, match="min_ssim"):
        LodRecipe("x", (LodLevel("a", "Web3D", "High", 0, 64, min_ssim=0.9),), fidelity=False)
    with pytest.raises(InvalidParameterError, match="one of faces, ratio or min_ssim"):
        LodLevel("a", "Web3D", "High", 1000, 64, min_ssim=0.9)
    path = tmp_path / "r.toml"
    path.write_text('[[level]]\nname = "a"\nusage = "Web3D"\nquality = "High"\ntexture_size = 64\nmin_ssim = 0.95\n')
    assert load_recipe(path).levels[0].min_ssim == 0.95


def test_the_originals_geometry_is_shaded_on_its_own_visibility(monkeypatch):
    """A level that keeps every face (only its colour differs) reuses the original's visibility buffers:
    the same figures as rasterising it afresh, and the colour change is seen."""
    mesh = bust()
    meter = FidelityMeter(mesh, views=4, elevations=(20.0,), size=96)
    tinted = Mesh(mesh.vertices, mesh.faces, vertex_colors=np.tile(np.array([[200, 120, 90]], np.uint8),
                                                                    (mesh.n_vertices, 1)))
    assert meter._same_geometry(meter._frame)
    reused = meter.measure(tinted)
    monkeypatch.setattr(FidelityMeter, "_same_geometry", lambda self, scene: False)
    afresh = meter.measure(tinted)
    assert reused == afresh and reused.ssim < 1.0 and reused.psnr is not None
