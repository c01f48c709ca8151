"""Mesh validation against ground truth shapes, the defective sample, and trimesh/open3d as oracles."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import ROOT, unit_cube, write_obj

from llvscan.cli import cli
from llvscan.errors import InvalidMeshError, InvalidParameterError, MeshReadError
from llvscan.mesh import Mesh, ValidationThresholds, build_topology, validate_mesh, weld_vertices


def report_of(vertices, faces, **kwargs):
    return validate_mesh(Mesh(np.asarray(vertices, dtype=np.float64), np.asarray(faces, dtype=np.int64)), **kwargs)


def boxes(offset):
    v, f = unit_cube()
    return np.vstack([v, v + offset]), np.vstack([f, f + 8])


def mobius(n=24):
    """A Möbius strip: n quads around a loop, the last column joined to the first with a half twist."""
    rows = []
    for i in range(n):
        u = 2 * np.pi * i / n
        for w in (-0.3, 0.3):
            rows.append([(1 + w * np.cos(u / 2)) * np.cos(u), (1 + w * np.cos(u / 2)) * np.sin(u), w * np.sin(u / 2)])
    faces = []
    for i in range(n):
        a, b = 2 * i, 2 * i + 1
        c, d = (2 * i + 2, 2 * i + 3) if i < n - 1 else (1, 0)  # the twist swaps the rows
        faces += [[a, c, b], [b, c, d]]
    return np.array(rows), np.array(faces)


def test_unit_cube_ground_truth(tmp_path):
    v, f = unit_cube()
    r = validate_mesh(write_obj(tmp_path / "cube.obj", v, f, "# units: mm"))
    assert (r.vertices, r.faces, r.edges) == (8, 12, 18)
    assert r.euler_characteristic == 2 and r.genus == 0 and r.components == 1
    assert r.surface_area == pytest.approx(6.0) and r.volume == pytest.approx(1.0)
    assert r.watertight and r.orientable and r.is_valid
    assert (r.boundary_edges, r.non_manifold_edges, r.inconsistent_edges, r.self_intersections) == (0, 0, 0, 0)
    assert r.bbox_size == [1.0, 1.0, 1.0] and r.units == "mm"
    assert r.min_angle_histogram == [0, 0, 0, 0, 12, 0]  # right isosceles triangles: 45°
    assert r.min_angle_median == pytest.approx(45.0)
    # a 1 mm cube is too small to be a museum object: the units are flagged, nothing else
    assert [f.code for f in r.findings] == ["implausible_size"]


def test_sphere_with_one_face_removed_has_one_hole_of_known_perimeter():
    import trimesh

    sphere = trimesh.creation.icosphere(subdivisions=3, radius=100.0)
    faces = np.asarray(sphere.faces)
    removed = faces[0]
    r = report_of(sphere.vertices, faces[1:])
    expected = sum(np.linalg.norm(sphere.vertices[removed[i]] - sphere.vertices[removed[(i + 1) % 3]])
                   for i in range(3))
    assert (r.boundary_loops, r.boundary_edges, r.hole_edges) == (1, 3, [3])
    assert r.hole_perimeters[0] == pytest.approx(expected)
    assert r.euler_characteristic == 1 and not r.watertight and r.volume is None
    assert r.is_valid and "boundary_edges" in [w.code for w in r.warnings]


def test_torus_has_genus_one():
    import trimesh

    torus = trimesh.creation.torus(major_radius=100.0, minor_radius=30.0)
    r = report_of(torus.vertices, torus.faces)
    assert r.euler_characteristic == 0 and r.genus == 1 and r.watertight
    assert r.volume == pytest.approx(2 * np.pi**2 * 100 * 30**2, rel=0.02)


def test_two_disjoint_boxes_are_two_components():
    v, f = boxes([5.0, 0, 0])
    r = report_of(v, f)
    assert r.components == 2 and r.largest_component_faces == 12
    assert r.euler_characteristic == 4 and r.genus == 0
    assert [c.euler for c in r.component_details] == [2, 2]
    assert r.volume == pytest.approx(2.0) and r.self_intersections == 0
    assert r.tiny_islands == 0 or r.tiny_islands == 2  # 12 faces each, threshold 10: not tiny
    assert report_of(v, f, thresholds=ValidationThresholds(tiny_island_faces=20)).tiny_islands == 2


def test_mobius_strip_is_not_orientable():
    v, f = mobius()
    r = report_of(v, f)
    assert not r.orientable and not r.is_valid
    assert "non_orientable" in [e.code for e in r.errors]
    assert r.boundary_loops == 1  # a Möbius strip has a single boundary curve
    assert r.euler_characteristic == 0


def test_bowtie_has_one_non_manifold_vertex():
    v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [-1, 0, 0], [0, -1, 0]], dtype=float)
    r = report_of(v, [[0, 1, 2], [0, 3, 4]])
    assert r.non_manifold_vertices == 1 and r.non_manifold_edges == 0
    assert r.components == 2
    assert next(f for f in r.findings if f.code == "non_manifold_vertices").sample == [0]


def test_three_faces_on_one_edge():
    v = np.array([[0, 0, 0], [1, 0, 0], [0.5, 1, 0], [0.5, -1, 0], [0.5, 0, 1]], dtype=float)
    r = report_of(v, [[0, 1, 2], [1, 0, 3], [0, 1, 4]])
    assert r.non_manifold_edges == 1 and not r.is_valid
    assert r.non_manifold_vertices == 2
    assert next(f for f in r.errors if f.code == "non_manifold_edges").sample == [0, 1]


def test_interpenetrating_boxes_cross_and_open3d_agrees():
    """Boxes [0,1]³ and [0.5,1.5]³: three faces of each cross three of the other along 6 segments, each
    inside one triangle of either side. open3d also counts the 12 pairs that only touch at a segment's
    end; llvscan counts proper crossings, and with a negative tolerance its kernel finds open3d's 18."""
    from llvscan._open3d import import_open3d
    from llvscan.mesh import _validate_kernels

    o3d = import_open3d()
    v, f = boxes([0.5, 0.5, 0.5])
    r = report_of(v, f)
    assert r.self_intersections == 6
    peer = o3d.geometry.TriangleMesh(o3d.utility.Vector3dVector(v), o3d.utility.Vector3iVector(f))
    pairs = np.asarray(peer.get_self_intersecting_triangles())
    assert peer.is_self_intersecting() and len(pairs) == 18

    def crossing(a, b, eps):
        return _validate_kernels.triangles_intersect(*v[f[a]], *v[f[b]], eps)

    proper = [(a, b) for a, b in pairs if crossing(a, b, 1e-9)]
    assert len(proper) == 6
    assert r.self_intersecting_faces == len(np.unique(proper))
    assert all(crossing(a, b, -1e-9) for a, b in pairs)
    assert report_of(v, f, thresholds=ValidationThresholds(self_intersections=False)).self_intersections is None


def test_self_intersections_against_brute_force_on_a_crumpled_sheet():
    """A random height field folded over itself: the grid search must find what all-pairs testing finds."""
    from llvscan.mesh import _validate_kernels

    rng = np.random.default_rng(11)
    n = 12
    x, y = np.meshgrid(np.linspace(0, 1, n), np.linspace(0, 1, n))
    v = np.stack([x.ravel(), y.ravel(), rng.normal(0, 0.05, n * n)], axis=1)
    v[:, 0] += np.where(v[:, 1] > 0.5, -0.6 * (v[:, 1] - 0.5), 0)  # shear part of the sheet over itself
    quads = [(i * n + j, i * n + j + 1, (i + 1) * n + j, (i + 1) * n + j + 1)
             for i in range(n - 1) for j in range(n - 1)]
    f = np.array([t for a, b, c, d in quads for t in ([a, b, c], [b, d, c])])
    v = np.vstack([v, v + np.array([0.3, 0.2, 0.01])])  # and a second, offset copy crossing the first
    f = np.vstack([f, f + n * n])
    r = report_of(v, f)
    brute = 0
    for a in range(len(f)):
        for b in range(a + 1, len(f)):
            if not set(f[a]) & set(f[b]) and _validate_kernels.triangles_intersect(*v[f[a]], *v[f[b]], 1e-9 * 0.2):
                brute += 1
    assert r.self_intersections == brute > 0


def brute_force_crossings(v, f):
    """All pairs of faces that share no vertex, tested one by one: (pair count, faces in some pair)."""
    from llvscan.mesh import _validate_kernels

    lo, hi = v[f].min(axis=1), v[f].max(axis=1)
    pairs, faces = 0, set()
    for a in range(len(f)):
        # only pairs whose boxes overlap can cross (a numpy cut, independent of the grid search)
        near = np.flatnonzero((lo[a + 1:] <= hi[a] + 1e-9).all(axis=1) & (hi[a + 1:] >= lo[a] - 1e-9).all(axis=1))
        for b in near + a + 1:
            if set(f[a]) & set(f[b]):
                continue
            scale = max(np.ptp(v[f[a]], axis=0).max(), np.ptp(v[f[b]], axis=0).max())
            if _validate_kernels.triangles_intersect(*v[f[a]], *v[f[b]], 1e-9 * scale):
                pairs += 1
                faces |= {a, b}
    return pairs, len(faces)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_self_intersections_against_brute_force_on_a_triangle_soup(seed):
    """Loose triangles of mixed sizes: thin slivers about as long as the grid's cell (the pairs a centroid
    grid is most likely to miss), many of the median size, and a few that span the whole soup."""
    rng = np.random.default_rng(seed)
    n = 1000
    centres = rng.random((n, 1, 3))
    size = np.where(rng.random(n) < 0.02, 0.8, np.where(rng.random(n) < 0.5, 0.05, 0.1 + 0.05 * rng.random(n)))
    direction = rng.normal(size=(n, 1, 3))
    direction /= np.linalg.norm(direction, axis=2, keepdims=True)
    offsets = rng.normal(0, 0.05, (n, 3, 3)) * size[:, None, None]
    offsets[:, 0] += 0.5 * size[:, None] * direction[:, 0]  # a long side along `direction`
    offsets[:, 1] -= 0.5 * size[:, None] * direction[:, 0]
    v = (centres + offsets).reshape(-1, 3)
    f = np.arange(len(v)).reshape(-1, 3)
    r = report_of(v, f)
    pairs, faces = brute_force_crossings(v, f)
    assert pairs > 15
    assert (r.self_intersections, r.self_intersecting_faces) == (pairs, faces)


def test_duplicate_faces_with_repeated_indices():
    """Faces are compared as sorted index triples: the rotations and reversal of a face repeat it, and so
    do those of a face with a repeated index; (0, 0, 1) and (0, 1, 1) differ."""
    v, f = unit_cube()
    extra = [[0, 2, 1], [2, 1, 0], [1, 0, 2], [0, 0, 1], [0, 1, 0], [1, 0, 0], [0, 1, 1], [3, 3, 3], [3, 3, 3]]
    f = np.vstack([f, extra])
    r = report_of(v, f)
    assert r.duplicate_faces == len(f) - len(np.unique(np.sort(f, axis=1), axis=0)) == 6


def test_flipped_face_and_inverted_mesh():
    v, f = unit_cube()
    flipped = f.copy()
    flipped[0] = flipped[0, ::-1]
    r = report_of(v, flipped)
    assert (r.inconsistent_edges, r.flipped_faces) == (3, 1)
    assert r.volume is None
    inside_out = report_of(v, f[:, ::-1])
    assert inside_out.inverted_components == 1 and inside_out.inconsistent_edges == 0
    assert "inverted" in [w.code for w in inside_out.warnings]


def test_nan_vertex_duplicates_and_degenerates():
    v, f = unit_cube()
    v = np.vstack([v, [[np.nan, 0, 0]], v[:1], [[0.5, 0, 0]]])  # 8: NaN unused, 9: copy of 0, 10: midpoint 0-1
    f = np.vstack([f, [[0, 1, 10], [2, 2, 3], [0, 2, 1]]])  # zero area, repeated index, duplicate of face 0
    r = report_of(v, f)
    assert r.non_finite_vertices == 1 and not r.is_valid
    assert r.unreferenced_vertices == 2  # the NaN vertex and the copy
    assert r.duplicate_vertices == 1
    assert (r.zero_area_faces, r.repeated_index_faces, r.degenerate_faces) == (1, 1, 2)
    assert r.duplicate_faces == 1


def test_near_duplicates_within_tolerance():
    v, f = unit_cube()
    v = np.vstack([v, v[:1] + 1e-9])
    r = report_of(v, f)
    assert r.duplicate_vertices == 0 and r.near_duplicate_vertices == 1


def test_defective_fragment_matches_its_ground_truth(sample_collection):
    truth = json.loads((ROOT / "sample_data" / "defective_truth.json").read_text())
    r = validate_mesh(sample_collection / "damaged" / "fragment.obj")
    for key in ("vertices", "faces", "boundary_edges", "boundary_loops", "non_manifold_edges",
                "non_manifold_vertices", "unreferenced_vertices", "degenerate_faces", "repeated_index_faces",
                "flipped_faces", "inconsistent_edges"):
        assert getattr(r, key) == truth[key], key
    assert sorted(r.hole_edges) == sorted(truth["hole_perimeters"])
    assert r.duplicate_vertices == truth["duplicate_vertex_pairs"]
    assert r.self_intersections == 0
    errors = {f.code: f for f in r.errors}
    assert errors["non_manifold_edges"].sample == truth["indices"]["non_manifold_edges"][0]
    warnings = {f.code: f for f in r.warnings}
    assert warnings["degenerate_faces"].sample == truth["indices"]["degenerate_faces"]
    assert warnings["inconsistent_edges"].sample == truth["indices"]["flipped_faces"]
    assert sorted(warnings["non_manifold_vertices"].sample) == truth["indices"]["non_manifold_vertices"]
    infos = {f.code: f for f in r.findings if f.level == "info"}
    assert infos["unreferenced_vertices"].sample == truth["indices"]["unreferenced_vertices"]


@pytest.mark.parametrize("rel", ["sculpture/bust.obj", "ceramics/vase.ply", "ceramics/figurine.glb",
                                 "tools/bracket.stl"])
def test_sample_meshes_agree_with_trimesh_and_open3d(sample_collection, rel):
    import trimesh

    from llvscan._open3d import import_open3d

    r = validate_mesh(sample_collection / rel)
    assert r.is_valid and r.watertight and r.self_intersections == 0
    peer = trimesh.load(sample_collection / rel, force="mesh", process=False)
    peer.merge_vertices(merge_tex=True, merge_norm=True)
    assert r.watertight == peer.is_watertight
    assert r.inconsistent_edges == 0 and peer.is_winding_consistent
    assert r.euler_characteristic == peer.euler_number
    assert r.components == peer.body_count
    assert r.surface_area == pytest.approx(peer.area, rel=1e-9)
    assert r.volume == pytest.approx(peer.volume, rel=1e-9)
    o3d = import_open3d()
    welded = o3d.geometry.TriangleMesh(o3d.utility.Vector3dVector(peer.vertices),
                                       o3d.utility.Vector3iVector(peer.faces))
    assert welded.is_edge_manifold() and welded.is_vertex_manifold()
    if r.faces < 20_000:  # open3d's is_watertight tests self-intersections pair by pair: 49 s on the bust
        assert welded.is_watertight()
    assert r.non_manifold_vertices == len(welded.get_non_manifold_vertices()) == 0


def test_bust_texture_units_and_uvs(sample_collection):
    r = validate_mesh(sample_collection / "sculpture" / "bust.obj")
    assert r.faces == 150_528 and r.welded_vertices == 75_266 and r.genus == 0
    assert r.has_uv and r.uv_outside_01 == 0 and r.flipped_uv_faces == 0
    assert [(t.width, t.height, t.readable) for t in r.textures] == [(2048, 2048, True)]
    assert r.units == "mm" and 200 < max(r.bbox_size) < 400
    assert 1 < r.texel_density < 20  # texels per mm
    figurine = validate_mesh(sample_collection / "ceramics" / "figurine.glb")
    assert figurine.units == "m" and max(figurine.bbox_size) < 0.5
    assert figurine.textures[0].readable and figurine.textures[0].width == 512


def test_missing_texture_is_an_error(tmp_path):
    v, f = unit_cube()
    path = write_obj(tmp_path / "scan.obj", v * 100, f, "mtllib scan.mtl\nusemtl stone")
    (tmp_path / "scan.mtl").write_text("newmtl stone\nmap_Kd gone.jpg\n")
    r = validate_mesh(path)
    assert not r.is_valid and [e.code for e in r.errors] == ["missing_texture"]  # reported once, by the reader
    assert "gone.jpg" in r.errors[0].message


def test_units_guessed_and_implausible_sizes_flagged():
    v, f = unit_cube()
    r = report_of(v * 250, f)  # no units declared: 250 → millimetres
    assert r.units_guess == "mm"
    assert [x.code for x in r.findings] == ["units_undeclared"]
    tiny = validate_mesh(Mesh(v * 2, f, units="mm"))  # a 2 mm statue
    assert "implausible_size" in [w.code for w in tiny.warnings]


def test_uv_checks():
    v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]], dtype=float) * 100
    f = np.array([[0, 1, 2], [1, 3, 2]])
    uv = np.array([[0, 0], [1, 0], [0, 1], [1.5, 1]], dtype=float)
    uv_faces = np.array([[0, 1, 2], [1, 2, 3]])  # the second is mirrored in UV space
    r = validate_mesh(Mesh(v, f, uv=uv, uv_faces=uv_faces, units="mm"))
    assert r.has_uv and r.uv_outside_01 == 1 and r.flipped_uv_faces == 1


def test_topology_and_weld_check_their_input():
    with pytest.raises(InvalidMeshError):
        build_topology(np.zeros((3, 4), dtype=np.int64), 5)
    with pytest.raises(InvalidMeshError):
        build_topology(np.array([[0, 1, 7]]), 5)
    with pytest.raises(InvalidMeshError):
        build_topology(np.zeros((2, 3)), 5)  # float faces
    with pytest.raises(InvalidMeshError):
        weld_vertices(np.zeros((3, 2)))
    with pytest.raises(InvalidParameterError):
        weld_vertices(np.zeros((3, 3)), tolerance=-1.0)
    with pytest.raises(InvalidParameterError):
        ValidationThresholds(sliver_angle=90)


def test_topology_matches_a_plain_numpy_edge_count():
    import trimesh

    sphere = trimesh.creation.icosphere(subdivisions=2)
    topo = build_topology(sphere.faces, len(sphere.vertices))
    expected = np.unique(np.sort(sphere.edges, axis=1), axis=0)
    assert np.array_equal(topo.edges, expected)
    assert (topo.edge_faces == 2).all()


def test_topology_arrays_are_int32_and_consistent():
    import trimesh

    from llvscan.errors import ResourceLimitError
    from llvscan.mesh.topology import check_half_edges

    sphere = trimesh.creation.icosphere(subdivisions=3)
    faces = np.vstack([sphere.faces, sphere.faces[:5], [[0, 0, 1]]])  # 5 non-manifold edge triples, one collapse
    topo = build_topology(faces, len(sphere.vertices))
    for name in ("faces", "edges", "edge_start", "edge_he", "he_edge", "edge_faces"):
        assert getattr(topo, name).dtype == np.int32, name
    assert np.array_equal(np.diff(topo.edge_start), topo.edge_faces)
    for e in range(topo.n_edges):  # every half-edge of an edge joins the edge's two vertices
        he = topo.edge_he[topo.edge_start[e]:topo.edge_start[e + 1]]
        assert (np.diff(he) > 0).all() and (topo.he_edge[he] == e).all()
        ends = np.sort(np.stack([topo.faces[he // 3, he % 3], topo.faces[he // 3, (he % 3 + 1) % 3]], axis=1), axis=1)
        assert (ends == topo.edges[e]).all()
    assert (topo.he_edge[3 * (len(faces) - 1)] == -1) and topo.he_edge[3 * (len(faces) - 1) + 1] >= 0
    with pytest.raises(ResourceLimitError):  # half-edge ids must fit int32 (a view with the shape, no memory)
        check_half_edges(np.broadcast_to(np.zeros(3, np.int32), (2**31 // 3 + 1, 3)))


def test_weld_ignores_signed_zero_and_never_merges_nan():
    v = np.array([[0.0, 0, 0], [-0.0, 0, 0], [np.nan, 0, 0], [np.nan, 0, 0]])
    remap, count = weld_vertices(v)
    assert remap[0] == remap[1] and count == 3


def test_cli_validate_json_strict_and_exit_codes(tmp_path):
    v, f = unit_cube()
    good = write_obj(tmp_path / "cube.obj", v * 100, f, "# units: mm")
    result = CliRunner().invoke(cli, ["mesh", "validate", str(good), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["faces"] == 12
    opened = write_obj(tmp_path / "open.obj", v * 100, f[2:], "# units: mm")
    assert CliRunner().invoke(cli, ["mesh", "validate", str(opened)]).exit_code == 0
    assert CliRunner().invoke(cli, ["mesh", "validate", "--strict", str(opened)]).exit_code == 1
    bad = tmp_path / "empty.ply"
    bad.write_bytes(b"")
    result = CliRunner().invoke(cli, ["mesh", "validate", str(good), str(bad)])
    assert result.exit_code == 1
    assert "empty.ply: empty file" in " ".join(result.output.split())


def test_empty_obj_refused():
    with pytest.raises(MeshReadError):
        validate_mesh(ROOT / "does-not-exist.obj")


def test_slivers_are_sampled():
    v = np.array([[0, 0, 0], [100, 0, 0], [50, 0.1, 0], [0, 100, 0]], dtype=float)
    r = report_of(v, [[0, 1, 2], [0, 2, 3]])
    assert r.slivers == 1
    assert next(f for f in r.findings if f.code == "slivers").sample == [0]


def test_problem_locations_are_where_the_problems_are():
    """An open cube (its top removed) has its boundary where the top was: z = 1, at the four corners; a
    closed cube has no problem to place."""
    vertices, faces = unit_cube()
    open_box = Mesh(vertices, faces[[0, 1, 4, 5, 6, 7, 8, 9, 10, 11]])
    points = np.array(validate_mesh(open_box).problem_points["boundary_edges"])
    assert len(points) >= 4 and np.allclose(points[:, 2], 1.0)
    assert {tuple(p) for p in points[:, :2].tolist()} == {(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)}
    assert validate_mesh(Mesh(vertices, faces)).problem_points == {}
