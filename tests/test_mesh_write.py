"""Writing meshes (OBJ + MTL + texture, GLB) and the ``mesh decimate`` command."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import gradient_image
from test_decimate import two_chart_grid

from llvscan.cli import cli
from llvscan.errors import InvalidParameterError
from llvscan.mesh import Material, Mesh, load_mesh, save_mesh


@pytest.fixture
def textured(tmp_path) -> Mesh:
    mesh = two_chart_grid(12)
    (tmp_path / "src").mkdir()
    texture = gradient_image(tmp_path / "src" / "albedo.png", 64, 32)
    return Mesh(mesh.vertices, mesh.faces, uv=mesh.uv, uv_faces=mesh.uv_faces, units="mm",
                materials=(Material("stone", str(texture)),), face_material=mesh.face_material)


def test_obj_round_trip_keeps_counts_uvs_units_and_texture(tmp_path, textured):
    written = save_mesh(textured, tmp_path / "out" / "lod.obj")
    assert [p.name for p in written] == ["lod.obj", "lod.mtl", "albedo.png"]
    back = load_mesh(tmp_path / "out" / "lod.obj")
    assert back.n_faces == textured.n_faces and back.n_vertices == textured.n_vertices
    assert back.units == "mm" and back.materials[0].texture.endswith("albedo.png")
    np.testing.assert_allclose(back.corner_uv, textured.corner_uv, atol=1e-8)
    np.testing.assert_allclose(back.vertices, textured.vertices, atol=1e-8)
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]  # no temporaries left


def test_glb_is_in_metres_and_reloads(tmp_path, textured):
    import trimesh

    save_mesh(textured, tmp_path / "lod.glb")
    loaded = trimesh.load(tmp_path / "lod.glb", process=False)
    loaded = loaded.to_mesh() if isinstance(loaded, trimesh.Scene) else loaded
    assert len(loaded.faces) == textured.n_faces
    assert np.isclose(loaded.vertices[:, 0].max(), 0.001)  # 1 mm
    assert loaded.visual.uv is not None


def test_unknown_output_suffix_is_refused(tmp_path, textured):
    with pytest.raises(InvalidParameterError, match=r"cannot write \.stl"):
        save_mesh(textured, tmp_path / "lod.stl")


def test_decimate_command(tmp_path, textured):
    save_mesh(textured, tmp_path / "in.obj")
    runner = CliRunner()
    result = runner.invoke(cli, ["mesh", "decimate", str(tmp_path / "in.obj"), str(tmp_path / "lod.obj"),
                                 "--faces", "100", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["faces_out"] == 100 and report["reached"]
    assert report["distance"]["hausdorff_pct"] < 5 and report["distance"]["texel_drift_median"] is not None
    assert load_mesh(tmp_path / "lod.obj").n_faces == 100
    table = runner.invoke(cli, ["mesh", "decimate", str(tmp_path / "in.obj"), str(tmp_path / "lod.glb"),
                                "--ratio", "0.5"])
    assert table.exit_code == 0 and "texel drift" in table.output


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--ratio", "2"], 2, "ratio"),
    ([], 2, "say how far"),
    (["--faces", "10", "--ratio", "0.5"], 2, "not both"),
])
def test_decimate_command_usage_errors(tmp_path, textured, args, code, message):
    save_mesh(textured, tmp_path / "in.obj")
    result = CliRunner().invoke(cli, ["mesh", "decimate", str(tmp_path / "in.obj"), str(tmp_path / "o.obj"), *args])
    assert result.exit_code == code and message in result.output


def test_decimate_command_unreadable_input_exits_1(tmp_path):
    (tmp_path / "bad.obj").write_text("v 0 0 0\nf 1 2 3\n")
    result = CliRunner().invoke(cli, ["mesh", "decimate", str(tmp_path / "bad.obj"), str(tmp_path / "o.obj"),
                                      "--ratio", "0.5"])
    assert result.exit_code == 1 and "bad.obj" in result.output
    assert not (tmp_path / "o.obj").exists()
