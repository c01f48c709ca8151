"""Mesh loading and validation against ground truth and against trimesh as an oracle."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import unit_cube, write_obj

from llvscan.cli import cli
from llvscan.errors import InvalidParameterError, MeshReadError, ResourceLimitError
from llvscan.mesh import Mesh, edge_statistics, load_mesh, validate_mesh


def test_unit_cube_ground_truth(tmp_path):
    v, f = unit_cube()
    report = validate_mesh(load_mesh(write_obj(tmp_path / "cube.obj", v, f, "# units: mm")))
    assert (report.vertices, report.faces, report.edges) == (8, 12, 18)
    assert report.vertices - report.edges + report.faces == 2  # Euler characteristic
    assert report.surface_area == pytest.approx(6.0)
    assert report.volume == pytest.approx(1.0)
    assert report.watertight and report.is_valid
    assert (report.boundary_edges, report.non_manifold_edges, report.inconsistent_edges) == (0, 0, 0)
    assert report.bbox_size == [1.0, 1.0, 1.0]
    assert report.units == "mm"
    assert report.findings == []


def test_open_cube_has_four_boundary_edges_and_no_volume():
    v, f = unit_cube()
    report = validate_mesh(Mesh(v, f[2:]))  # drop the bottom square
    assert report.boundary_edges == 4
    assert not report.watertight
    assert report.volume is None
    assert report.is_valid  # an open surface is a warning, not an error
    assert [w.code for w in report.warnings] == ["boundary_edges"]


def test_flipped_face_makes_three_inconsistent_edges():
    v, f = unit_cube()
    f = f.copy()
    f[0] = f[0, ::-1]
    report = validate_mesh(Mesh(v, f))
    assert report.inconsistent_edges == 3
    assert report.volume is None


def test_fin_on_an_edge_is_non_manifold_and_an_error():
    v, f = unit_cube()
    v = np.vstack([v, [[0.5, -1.0, 0.0]]])
    f = np.vstack([f, [[0, 1, 8]]])  # edge 0-1 now has three faces
    report = validate_mesh(Mesh(v, f))
    assert report.non_manifold_edges == 1
    assert report.boundary_edges == 2
    assert not report.is_valid
    assert report.errors[0].code == "non_manifold_edges"


def test_seam_split_vertices_are_welded_for_topology():
    v, f = unit_cube()
    # split vertex 0 into two copies, as a UV seam does: topology must not change
    v2 = np.vstack([v, v[:1]])
    f2 = f.copy()
    f2[:2][f2[:2] == 0] = 8
    report = validate_mesh(Mesh(v2, f2))
    assert report.vertices == 9 and report.welded_vertices == 8
    assert report.watertight and report.boundary_edges == 0


def test_nan_vertex_is_an_error():
    v, f = unit_cube()
    v = v.copy()
    v[3] = np.nan
    report = validate_mesh(Mesh(v, f))
    assert report.non_finite_vertices == 1
    assert not report.is_valid


def test_degenerate_faces_counted():
    v, f = unit_cube()
    v = np.vstack([v, [[0.5, 0.0, 0.0]]])  # midpoint of edge 0-1
    f = np.vstack([f, [[0, 1, 8], [2, 2, 3]]])  # zero area, repeated index
    assert validate_mesh(Mesh(v, f)).degenerate_faces == 2


def test_matches_trimesh_on_an_icosphere():
    import trimesh

    sphere = trimesh.creation.icosphere(subdivisions=4, radius=2.0)
    report = validate_mesh(Mesh(np.asarray(sphere.vertices), np.asarray(sphere.faces, dtype=np.int64)))
    assert report.surface_area == pytest.approx(sphere.area, rel=1e-9)
    assert report.volume == pytest.approx(sphere.volume, rel=1e-9)
    assert report.watertight == sphere.is_watertight
    assert report.surface_area == pytest.approx(4 * np.pi * 4, rel=0.01)  # 4πr², r = 2


def test_edge_statistics_checks_its_input():
    with pytest.raises(InvalidParameterError):
        edge_statistics(np.zeros((3, 4), dtype=np.int64), 5)
    with pytest.raises(InvalidParameterError):
        edge_statistics(np.array([[0, 1, 7]]), 5)
    with pytest.raises(InvalidParameterError):
        edge_statistics(np.zeros((2, 3)), 5)  # float faces


@pytest.mark.parametrize("suffix", [".obj", ".ply", ".stl", ".glb"])
def test_empty_file_is_refused_by_name(tmp_path, suffix):
    path = tmp_path / f"empty{suffix}"
    path.write_bytes(b"")
    with pytest.raises(MeshReadError, match=r"empty\.\w+: empty file"):
        load_mesh(path)


def test_truncated_obj_without_faces(tmp_path):
    v, f = unit_cube()
    full = write_obj(tmp_path / "full.obj", v, f).read_bytes()
    cut = tmp_path / "cut.obj"
    cut.write_bytes(full[: full.index(b"\nf ") - 5])
    with pytest.raises(MeshReadError, match=r"cut.obj: no faces in the file"):
        load_mesh(cut)


def test_truncated_at_every_few_bytes_never_crashes(tmp_path):
    v, f = unit_cube()
    full = write_obj(tmp_path / "full.obj", v, f).read_bytes()
    for cut in range(0, len(full), 7):
        path = tmp_path / "t.obj"
        path.write_bytes(full[:cut])
        try:
            report = validate_mesh(path)
        except MeshReadError:
            continue
        assert report.faces <= 12


@pytest.mark.parametrize("suffix", [".ply", ".stl", ".glb"])
def test_garbage_bytes_are_a_mesh_read_error(tmp_path, suffix):
    path = tmp_path / f"garbage{suffix}"
    path.write_bytes(np.random.default_rng(7).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    with pytest.raises(MeshReadError, match=rf"garbage\{suffix}"):
        load_mesh(path)


def test_unsupported_suffix_and_missing_file(tmp_path):
    with pytest.raises(MeshReadError, match=r"unsupported mesh format .xyz"):
        load_mesh(tmp_path / "scan.xyz")
    with pytest.raises(MeshReadError, match=r"cannot open"):
        load_mesh(tmp_path / "missing.obj")


def test_face_limit(tmp_path):
    v, f = unit_cube()
    with pytest.raises(ResourceLimitError, match=r"12 faces exceed the face limit 10"):
        load_mesh(write_obj(tmp_path / "cube.obj", v, f), max_faces=10)


def test_cli_validate_json_and_exit_codes(tmp_path):
    v, f = unit_cube()
    good = write_obj(tmp_path / "cube.obj", v, f)
    result = CliRunner().invoke(cli, ["mesh", "validate", str(good), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["faces"] == 12
    bad = tmp_path / "empty.ply"
    bad.write_bytes(b"")
    result = CliRunner().invoke(cli, ["mesh", "validate", str(good), str(bad)])
    assert result.exit_code == 1


def test_defective_fragment_matches_its_ground_truth(sample_collection):
    from conftest import ROOT

    truth = json.loads((ROOT / "sample_data" / "defective_truth.json").read_text())
    report = validate_mesh(sample_collection / "damaged" / "fragment.obj")
    # trimesh's OBJ reader drops unreferenced vertices (and with them the originals of the duplicates)
    assert report.vertices == truth["vertices"] - truth["unreferenced_vertices"]
    assert report.faces == truth["faces"]
    assert report.boundary_edges == truth["boundary_edges"]
    assert report.non_manifold_edges == truth["non_manifold_edges"]
    assert report.inconsistent_edges == truth["inconsistent_edges"]
    assert report.degenerate_faces == truth["degenerate_faces"] + truth["repeated_index_faces"]
    assert report.welded_vertices == truth["vertices"] - truth["duplicate_vertex_pairs"]
    assert not report.is_valid and not report.watertight


def test_sample_meshes_are_valid_and_closed(sample_collection):
    for rel in ("sculpture/bust.obj", "ceramics/vase.ply", "ceramics/figurine.glb", "tools/bracket.stl"):
        report = validate_mesh(sample_collection / rel)
        assert report.is_valid and report.watertight and report.volume > 0, rel
    bust = validate_mesh(sample_collection / "sculpture" / "bust.obj")
    assert bust.faces == 150_528 and bust.welded_vertices == 75_266 and bust.has_uv
    assert bust.units == "mm" and 200 < max(bust.bbox_size) < 400
    figurine = validate_mesh(sample_collection / "ceramics" / "figurine.glb")
    assert figurine.units == "m" and max(figurine.bbox_size) < 0.5
