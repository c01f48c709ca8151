"""Decimation: ground-truth shapes (flat grids, cubes, spheres, two-chart atlases), guards, determinism."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest
from conftest import load_generator, unit_cube
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llvscan.errors import InvalidMeshError, InvalidParameterError
from llvscan.mesh import Material, Mesh, build_topology, decimate, flipped_faces, mesh_distance


def grid(nx: int, ny: int, z=None) -> tuple[np.ndarray, np.ndarray]:
    """(nx+1)×(ny+1) vertices on [0, 1]², two CCW triangles per cell; ``z(x, y)`` lifts it."""
    x, y = np.meshgrid(np.linspace(0, 1, nx + 1), np.linspace(0, 1, ny + 1), indexing="ij")
    vertices = np.stack([x.ravel(), y.ravel(), np.zeros(x.size) if z is None else z(x.ravel(), y.ravel())], axis=1)
    idx = np.arange(vertices.shape[0]).reshape(nx + 1, ny + 1)
    a, b, c, d = idx[:-1, :-1].ravel(), idx[1:, :-1].ravel(), idx[1:, 1:].ravel(), idx[:-1, 1:].ravel()
    faces = np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)])
    return vertices, faces


def sphere(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit cube-sphere with 12 n² faces (closed, genus 0)."""
    unit, faces, _ = load_generator().cube_sphere(n)
    return unit, faces


def euler(mesh: Mesh) -> int:
    topo = build_topology(mesh.faces, mesh.n_vertices)
    return mesh.n_vertices - topo.n_edges + mesh.n_faces


def face_normals(mesh: Mesh) -> np.ndarray:
    a, b, c = (mesh.vertices[mesh.faces[:, k]] for k in range(3))
    return np.cross(b - a, c - a)


def uv_signed_areas(mesh: Mesh) -> np.ndarray:
    t = mesh.uv[mesh.uv_faces]
    return (t[:, 1, 0] - t[:, 0, 0]) * (t[:, 2, 1] - t[:, 0, 1]) - (t[:, 2, 0] - t[:, 0, 0]) * (t[:, 1, 1] - t[:, 0, 1])


def boundary_vertices(mesh: Mesh) -> np.ndarray:
    topo = build_topology(mesh.faces, mesh.n_vertices)
    return np.unique(topo.edges[topo.boundary])


def test_flat_grid_has_zero_error_and_stays_flat():
    v, f = grid(40, 40)
    result = decimate(Mesh(v, f), target_faces=200)
    out = result.mesh
    assert result.faces_out == 200 and result.reached
    assert np.abs(out.vertices[:, 2]).max() == 0.0
    assert result.distance.hausdorff < 1e-9
    assert (face_normals(out)[:, 2] > 0).all()  # none flipped
    # the square outline is kept: same area, corners present
    assert np.isclose(np.linalg.norm(face_normals(out), axis=1).sum() / 2, 1.0)
    for corner in ([0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]):
        assert (np.abs(out.vertices - corner).sum(axis=1) == 0).any()


def test_cube_keeps_euler_and_stops_at_the_tetrahedron():
    v, f = unit_cube()
    result = decimate(Mesh(v, f), target_faces=1)
    assert result.faces_out == 4 and not result.reached  # a closed genus-0 surface needs 4 faces
    assert "not 1" in result.note
    assert euler(result.mesh) == 2
    assert (np.linalg.norm(face_normals(result.mesh), axis=1) > 0).all()
    topo = build_topology(result.mesh.faces, result.mesh.n_vertices)
    assert not topo.non_manifold.any() and not topo.boundary.any()


def test_closed_surface_with_an_odd_target_stops_one_above_and_says_why():
    v, f = sphere(6)
    result = decimate(Mesh(v, f), target_faces=101)
    assert result.faces_out == 102 and not result.reached
    assert "two at a time" in result.note


@pytest.mark.parametrize("faces", [600, 2000])
def test_sphere_error_within_the_sagitta_bound(faces):
    v, f = sphere(24)  # 6,912 faces
    result = decimate(Mesh(v, f), target_faces=faces)
    assert result.faces_out == faces and euler(result.mesh) == 2
    # a triangle of area 4π/F has edge ℓ = sqrt(4A/√3); the chord of a unit sphere sags ℓ²/8 below it
    area = 4 * math.pi / faces
    sagitta = (4 * area / math.sqrt(3)) / 8
    assert result.distance.hausdorff < 3 * sagitta
    radius = np.linalg.norm(result.mesh.vertices, axis=1)
    assert np.abs(radius - 1).max() < 3 * sagitta
    centroids = result.mesh.vertices[result.mesh.faces].mean(axis=1)
    assert (np.einsum("ij,ij->i", face_normals(result.mesh), centroids) > 0).all()  # all outward
    assert result.flipped_faces == 0


def two_chart_grid(n: int = 32) -> Mesh:
    """A bumpy grid cut along x = 0.5 into two UV charts: left → u in [0, 0.45], right → u in [0.55, 1]."""
    v, f = grid(n, n, z=lambda x, y: 0.05 * np.sin(6 * x) * np.cos(5 * y))
    left = v[f].mean(axis=1)[:, 0] < 0.5
    uv = np.concatenate([np.stack([v[:, 0] * 0.9, v[:, 1]], 1), np.stack([0.1 + v[:, 0] * 0.9, v[:, 1]], 1)])
    uv_faces = np.where(left[:, None], f, f + len(v))
    return Mesh(v, f, uv=uv, uv_faces=uv_faces, materials=(Material("m", "embedded", (1024, 1024)),),
                face_material=np.zeros(len(f), dtype=np.int32))


def test_two_chart_uvs_stay_in_their_charts():
    mesh = two_chart_grid()
    result = decimate(mesh, ratio=0.1)
    out = result.mesh
    corner_uv = out.uv[out.uv_faces]  # (F, 3, 2)
    texel = 1 / 1024
    in_left = (corner_uv[..., 0] <= 0.45 + texel).all(axis=1)
    in_right = (corner_uv[..., 0] >= 0.55 - texel).all(axis=1)
    assert (in_left ^ in_right).all()  # every face entirely inside one chart
    # seam vertices only slid along the seam: faces of each chart stay on their side of x = 0.5
    xs = out.vertices[out.faces][..., 0]
    assert (xs[in_left] <= 0.5 + 1e-12).all() and (xs[in_right] >= 0.5 - 1e-12).all()
    assert (uv_signed_areas(out) > 0).all()  # no UV fold-over
    assert result.distance.texel_drift_p95 < 1.0


def test_open_boundary_stays_in_place():
    v, f = grid(30, 30, z=lambda x, y: 0.1 * np.sin(4 * x + 3 * y))
    original = {tuple(p) for p in v[boundary_vertices(Mesh(v, f))]}
    result = decimate(Mesh(v, f), ratio=0.2)
    kept = {tuple(p) for p in result.mesh.vertices[boundary_vertices(result.mesh)]}
    assert kept <= original  # boundary vertices only slide onto boundary neighbours
    locked = decimate(Mesh(v, f), ratio=0.2, lock_boundary=True)
    assert {tuple(p) for p in locked.mesh.vertices[boundary_vertices(locked.mesh)]} == original


def test_repeated_runs_are_byte_identical():
    mesh = two_chart_grid(24)
    digests = set()
    for _ in range(2):
        out = decimate(mesh, target_faces=300, measure=False).mesh
        h = hashlib.sha256()
        for array in (out.vertices, out.faces, out.uv, out.uv_faces, out.normals):
            h.update(np.ascontiguousarray(array).tobytes())
        digests.add(h.hexdigest())
    assert len(digests) == 1


def test_vertex_colours_are_carried():
    v, f = grid(30, 30, z=lambda x, y: 0.05 * np.sin(5 * x))
    colours = np.zeros((len(v), 4), dtype=np.uint8)
    colours[:, 0] = np.round(v[:, 0] * 255)  # red follows x
    colours[:, 3] = 255
    out = decimate(Mesh(v, f, vertex_colors=colours), ratio=0.1).mesh
    assert out.vertex_colors is not None
    assert np.abs(out.vertex_colors[:, 0].astype(float) - out.vertices[:, 0] * 255).max() <= 3
    assert (out.vertex_colors[:, 3] == 255).all()


def test_degenerate_faces_are_dropped_and_non_manifold_edges_locked():
    v, f = grid(10, 10)
    fin = np.concatenate([f, [[0, 0, 1]]])  # a repeated vertex
    # two fins on the boundary edge (0, 1): three faces on one edge
    v2 = np.concatenate([v, [[0.0, 0.05, 0.5], [0.0, 0.05, -0.5]]])
    fin = np.concatenate([fin, [[0, 1, len(v)], [1, 0, len(v) + 1]]])
    result = decimate(Mesh(v2, fin), target_faces=40)
    assert result.dropped_faces == 1 and "repeated vertex" in (result.note or "")
    assert result.locked_vertices >= 2
    kept = {tuple(p) for p in result.mesh.vertices}
    assert tuple(v[0]) in kept and tuple(v[1]) in kept


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"ratio": 0.0}, "ratio"),
    ({"ratio": 1.5}, "ratio"),
    ({"target_faces": 10_000}, "above"),
    ({"target_faces": 0}, "positive"),
    ({}, "say how far"),
    ({"target_faces": 10, "ratio": 0.5}, "not both"),
    ({"max_error": -1.0}, "maximum error"),
    ({"ratio": 0.5, "uv_weight": 0.0}, "uv_weight"),
])
def test_invalid_parameters_are_refused(kwargs, message):
    v, f = grid(4, 4)
    with pytest.raises(InvalidParameterError, match=message):
        decimate(Mesh(v, f), **kwargs)


def test_nan_vertices_are_refused_naming_the_file():
    v, f = grid(4, 4)
    v[3, 1] = np.nan
    with pytest.raises(InvalidMeshError, match=r"scan\.obj: 1 vertices are NaN"):
        decimate(Mesh(v, f, path="scan.obj"), ratio=0.5)


def test_max_error_stops_before_the_error_grows():
    v, f = sphere(16)
    loose = decimate(Mesh(v, f), max_error=0.02)
    tight = decimate(Mesh(v, f), max_error=0.002)
    assert tight.faces_out > loose.faces_out
    assert tight.estimated_error <= 0.002 and loose.estimated_error <= 0.02
    assert tight.distance.hausdorff < loose.distance.hausdorff


def test_welded_seams_are_not_holes():
    """A glTF-style mesh (positions split along the seam) decimates as one surface."""
    mesh = two_chart_grid(16)
    vertices, faces, uv = mesh.split_by_uv()
    result = decimate(Mesh(vertices, faces, uv=uv, uv_faces=faces), ratio=0.25)
    out = result.mesh
    topo = build_topology(out.faces, out.n_vertices)
    assert not topo.non_manifold.any()
    assert len(boundary_vertices(out)) < len(boundary_vertices(Mesh(vertices, faces)))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(3, 14), seed=st.integers(0, 2**31 - 1), ratio=st.floats(0.05, 1.0))
def test_random_height_fields_never_yield_bad_faces(n, seed, ratio):
    rng = np.random.default_rng(seed)
    v, f = grid(n, n)
    v[:, 2] = rng.normal(0, 0.3 / n, len(v))
    v[:, :2] += rng.uniform(-0.2 / n, 0.2 / n, (len(v), 2))  # jitter, keeping every cell convex
    uv = v[:, :2].copy()
    result = decimate(Mesh(v, f, uv=uv, uv_faces=f), ratio=ratio, measure=False)
    out = result.mesh
    assert out.faces.min() >= 0 and out.faces.max() < out.n_vertices
    assert (out.faces[:, 0] != out.faces[:, 1]).all() and (out.faces[:, 1] != out.faces[:, 2]).all()
    assert (out.faces[:, 0] != out.faces[:, 2]).all()
    assert (face_normals(out)[:, 2] > 0).all()  # a height field stays one: no flipped faces
    assert (uv_signed_areas(out) > 0).all()
    assert not build_topology(out.faces, out.n_vertices).non_manifold.any()


def test_mesh_distance_ground_truth():
    v, f = grid(10, 10)
    lifted = v + np.array([0, 0, 0.1])
    d = mesh_distance(Mesh(v, f), Mesh(lifted, f), samples=5000)
    assert d.hausdorff == pytest.approx(0.1) and d.mean == pytest.approx(0.1)
    assert d.hausdorff_pct == pytest.approx(100 * 0.1 / math.sqrt(2))
    sv, sf = sphere(12)
    d = mesh_distance(Mesh(sv * 1.01, sf), Mesh(sv, sf), samples=20000)
    assert d.hausdorff == pytest.approx(0.01, abs=2e-3)


def test_texel_drift_ground_truth():
    mesh = two_chart_grid(8)
    same = mesh_distance(mesh, mesh, samples=5000)
    assert same.texel_drift_max == pytest.approx(0, abs=1e-9)
    shifted = Mesh(mesh.vertices, mesh.faces, uv=mesh.uv + np.array([2 / 1024, 0]), uv_faces=mesh.uv_faces)
    d = mesh_distance(shifted, mesh, samples=5000)
    assert d.texel_drift_median == pytest.approx(2.0) and d.texture_size == (1024, 1024)
    no_uv = mesh_distance(Mesh(mesh.vertices, mesh.faces), mesh, samples=100)
    assert no_uv.texel_drift_median is None


def test_mesh_distance_refuses_bad_input():
    v, f = grid(2, 2)
    with pytest.raises(InvalidMeshError, match="at least one"):
        mesh_distance(Mesh(v, f[:0]), Mesh(v, f))
    bad = v.copy()
    bad[0, 0] = np.inf
    with pytest.raises(InvalidMeshError, match="NaN or infinite"):
        mesh_distance(Mesh(v, f), Mesh(bad, f))


def test_flipped_faces_counts_faces_turned_against_the_original():
    v, f = sphere(6)
    assert flipped_faces(Mesh(v, f), Mesh(v, f)) == 0
    turned = f.copy()
    turned[[3, 40]] = turned[[3, 40]][:, ::-1]
    assert flipped_faces(Mesh(v, turned), Mesh(v, f)) == 2


def test_edge_price_is_the_minimum_of_the_summed_quadric():
    """The closed-form cost of a full collapse (attributes eliminated, c' − r·x) equals the minimum of the
    summed position + UV quadric found by numpy's solve of the whole (3 + K) system, and the attributes
    placed are that solve's UVs."""
    from llvscan.mesh.simplify import _kernels as qk
    from llvscan.mesh.simplify import layout as L

    rng = np.random.default_rng(5)
    v, f = grid(6, 6, z=lambda x, y: 0.05 * np.sin(5 * x) * np.cos(4 * y))
    v = v + rng.normal(scale=0.01, size=v.shape)
    uv = v[:, :2] * 0.9 + rng.normal(scale=0.003, size=(len(v), 2))
    k = 2
    vq = np.zeros((len(v), L.VQ_COLUMNS))
    vq[:, :3] = v
    fc = np.zeros((len(f), L.FC_COLUMNS), dtype=np.int32)
    fc[:, :3] = f
    fc[:, 3:6] = f  # one wedge per vertex
    wq = np.zeros((len(v), L.wq_columns(k)))
    wq[:, L.wq_attributes(k):] = uv
    qk.init_quadrics(vq, fc, wq, k)
    tmp = np.zeros((2, wq.shape[1]))
    checked = 0
    for a, b in {(min(x, y), max(x, y)) for t in f for x, y in ((t[0], t[1]), (t[1], t[2]), (t[0], t[2]))}:
        q = np.zeros((5, 5))
        lin = np.zeros(5)
        const = 0.0
        for x in (a, b):
            g = vq[x]
            q[:3, :3] += [[g[3], g[4], g[5]], [g[4], g[6], g[7]], [g[5], g[7], g[8]]]
            lin[:3] += g[9:12]
            const += g[12]
            w = wq[x]
            q[:3, :3] += [[w[0], w[1], w[2]], [w[1], w[3], w[4]], [w[2], w[4], w[5]]]
            for j in range(k):
                q[:3, 3 + j] += w[6 + 3 * j:9 + 3 * j]
                q[3 + j, :3] += w[6 + 3 * j:9 + 3 * j]
                q[3 + j, 3 + j] += w[6 + 3 * k]
                lin[3 + j] += w[10 + 3 * k + j]
            lin[:3] += w[7 + 3 * k:10 + 3 * k]
            const += w[10 + 4 * k]
        opt = np.linalg.solve(q, -lin)
        if np.linalg.norm(opt[:3] - (v[a] + v[b]) / 2) > 1.5 * np.linalg.norm(v[a] - v[b]):
            continue  # far optimum: both kernels fall back on the edge's points
        truth = max(const + lin @ opt, 0.0)
        price = qk._full_collapse(vq, wq, a, b, a, b, k, tmp, False)
        cost, x, y, z = qk._full_collapse(vq, wq, a, b, a, b, k, tmp, True)
        scale = vq[a, L.AREA] + vq[b, L.AREA]
        assert price == (cost, x, y, z)
        assert abs(cost - truth) <= 1e-9 * scale
        np.testing.assert_allclose([x, y, z], opt[:3], atol=1e-9)
        np.testing.assert_allclose(tmp[1, L.wq_attributes(k):], opt[3:], atol=1e-9)
        checked += 1
    assert checked > 50
