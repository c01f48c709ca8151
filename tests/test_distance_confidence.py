"""The confidence ``llvscan.mesh.distance`` states for its sampled figures, checked against ground truth.

A polyhedron inscribed in the unit sphere (trimesh's icosphere: every vertex on the sphere) is measured
against a much finer inscribed polyhedron standing in for the sphere. The distance from a point p of the
coarse surface to the true sphere is 1 − |p|: its area-weighted mean and quantiles come from a dense
quadrature (numpy by hand), its maximum from each face's plane. The fine polyhedron lies within δ of the
sphere (δ from its own planes), so each measured distance is within δ of the analytic one.
"""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from llvscan.mesh import Mesh
from llvscan.mesh.distance import CONFIDENT_SAMPLES, DistanceMeter

Q_BEYOND = 3.5e-4  # the stated fraction of the surface that may lie beyond the sampled maximum
HOEFFDING_EPS = 0.014  # the stated bound on the mean's error, in Hausdorff distances


def _plane_depth(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """How far below the unit sphere each face's plane lies (1 − its distance from the centre)."""
    a, b, c = (vertices[faces[:, k]] for k in range(3))
    normal = np.cross(b - a, c - a)
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    return 1.0 - np.abs(np.einsum("ij,ij->i", normal, a))


def _dense(vertices: np.ndarray, faces: np.ndarray, k: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Distance to the unit sphere at the centroids of k² equal sub-triangles of every face, and the area
    each stands for."""
    i, j = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    up = (i + j) < k
    down = (i + j) < k - 1
    bary = np.concatenate([np.stack([i[up] + 1 / 3, j[up] + 1 / 3], 1),
                           np.stack([i[down] + 2 / 3, j[down] + 2 / 3], 1)])
    bary = np.concatenate([bary / k, 1.0 - bary.sum(axis=1, keepdims=True) / k], axis=1)  # (k², 3)
    corners = vertices[faces]  # (F, 3, 3)
    points = np.einsum("sk,fkd->fsd", bary, corners)
    distance = 1.0 - np.linalg.norm(points, axis=2)
    area = 0.5 * np.linalg.norm(np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), axis=1)
    weight = np.repeat(area / len(bary), len(bary))
    return distance.reshape(-1), weight


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order]) / weights.sum()
    return float(values[order][np.searchsorted(cumulative, q)])


@pytest.fixture(scope="module")
def spheres():
    coarse = trimesh.creation.icosphere(subdivisions=2)
    fine = trimesh.creation.icosphere(subdivisions=6)
    vc, fc = np.asarray(coarse.vertices), np.asarray(coarse.faces)
    vf, ff = np.asarray(fine.vertices), np.asarray(fine.faces)
    assert np.allclose(np.linalg.norm(vc, axis=1), 1.0) and np.allclose(np.linalg.norm(vf, axis=1), 1.0)
    delta = float(_plane_depth(vf, ff).max())  # the fine polyhedron's largest depth below the sphere
    distance, weight = _dense(vc, fc)
    truth = {"max": float(_plane_depth(vc, fc).max()), "mean": float(np.average(distance, weights=weight)),
             "quantile": _weighted_quantile(distance, weight, 1.0 - Q_BEYOND), "dense_max": float(distance.max())}
    return Mesh(vc, fc), DistanceMeter(Mesh(vf, ff), samples=CONFIDENT_SAMPLES), delta, truth


def test_ground_truth_is_sound(spheres):
    _, _, delta, truth = spheres
    assert delta < 1e-3 * 0.5  # the stand-in is far closer to the sphere than the coarse one
    assert 0.01 < truth["max"] < 0.05
    assert truth["dense_max"] == pytest.approx(truth["max"], rel=0.02)  # the quadrature reaches the peaks
    assert 0 < truth["mean"] < truth["quantile"] < truth["max"]


@pytest.mark.parametrize("seed", range(8))
def test_sampled_mean_and_max_within_the_stated_bounds(spheres, seed):
    coarse, reference, delta, truth = spheres
    meter = DistanceMeter(reference_mesh(reference), samples=CONFIDENT_SAMPLES, seed=seed)
    d = meter.measure(coarse)
    # the mean: within ε · Hausdorff of the area-weighted mean (99.9 % by Hoeffding), plus δ
    assert abs(d.a_to_b_mean - truth["mean"]) <= HOEFFDING_EPS * truth["max"] + delta
    # the maximum: a lower bound of the truth, and above the (1 − q) area quantile (99.9 %)
    assert d.a_to_b_max <= truth["max"] + 1e-12
    assert d.a_to_b_max >= truth["quantile"] - delta


def test_far_fewer_samples_break_the_bounds(spheres):
    """The bounds bite: 50 samples miss the peaks (the same check fails), as the stated (1 − q)ⁿ predicts."""
    coarse, reference, delta, truth = spheres
    misses = 0
    for seed in range(8):
        d = DistanceMeter(reference_mesh(reference), samples=50, seed=seed).measure(coarse)
        misses += d.a_to_b_max < truth["quantile"] - delta
    assert misses >= 6  # (1 − 3.5e-4)^50 ≈ 98 %: nearly every run misses the top 0.035 %


def test_figures_agree_with_a_dense_measurement(spheres):
    coarse, reference, _, _ = spheres
    noisy = Mesh(coarse.vertices * (1.0 + 0.01 * np.sin(7 * coarse.vertices[:, :1])), coarse.faces)
    dense = DistanceMeter(reference_mesh(reference), samples=1_000_000).measure(noisy)
    quick = reference.measure(noisy)
    assert abs(quick.mean - dense.mean) <= HOEFFDING_EPS * dense.hausdorff
    assert quick.hausdorff <= dense.hausdorff * (1 + 1e-3)
    assert quick.hausdorff >= 0.98 * dense.hausdorff


def test_the_reference_itself_measures_exactly_zero(spheres):
    _, reference, _, _ = spheres
    same = reference.measure(reference_mesh(reference))
    assert (same.hausdorff, same.mean, same.a_to_b_max, same.b_to_a_mean) == (0.0, 0.0, 0.0, 0.0)
    assert same.samples == len(reference.vb) + CONFIDENT_SAMPLES
    moved = reference_mesh(reference)
    moved = Mesh(moved.vertices * 1.001, moved.faces)  # not the reference: sampled, not short-cut
    d = reference.measure(moved)
    assert d.hausdorff == pytest.approx(0.001, rel=0.05) and d.mean == pytest.approx(0.001, rel=0.1)


def test_the_same_geometry_with_other_uvs_is_measured():
    """Identical geometry short-cuts only when the UVs are the reference's too: drift is still measured."""
    v = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], dtype=float)
    f = np.array([[0, 1, 2], [0, 2, 3]])
    uv = v[:, :2].copy()
    reference = Mesh(v, f, uv=uv, uv_faces=f)
    meter = DistanceMeter(reference, samples=2000, texture_size=(1024, 1024))
    assert meter.measure(reference).texel_drift_max == 0.0
    d = meter.measure(Mesh(v, f, uv=uv + np.array([2 / 1024, 0]), uv_faces=f))
    assert d.hausdorff < 1e-12 and d.texel_drift_median == pytest.approx(2.0)


def reference_mesh(meter: DistanceMeter) -> Mesh:
    return Mesh(meter.vb, meter.fb)


def test_texel_drift_quantiles_within_the_stated_bound():
    """UVs shifted by c·x texels on the unit square: the drift at a point is c·x, x uniform over the area,
    so its p-quantile is c·p; the sampled median and p95 fall within the stated (p ± δ) quantiles."""
    n = 40
    x, y = np.meshgrid(np.linspace(0, 1, n + 1), np.linspace(0, 1, n + 1), indexing="ij")
    v = np.stack([x.ravel(), y.ravel(), np.zeros(x.size)], axis=1)
    ids = np.arange(v.shape[0]).reshape(n + 1, n + 1)
    a, b, c, d = ids[:-1, :-1].ravel(), ids[1:, :-1].ravel(), ids[1:, 1:].ravel(), ids[:-1, 1:].ravel()
    f = np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)])
    uv = v[:, :2].copy()
    texels = 6.0  # the drift at x = 1
    shifted = uv + np.stack([texels * v[:, 0] / 1024, np.zeros(len(v))], axis=1)
    meter = DistanceMeter(Mesh(v, f, uv=uv, uv_faces=f), samples=CONFIDENT_SAMPLES, texture_size=(1024, 1024))
    for seed in range(4):
        meter.seed = seed
        drift = meter.measure(Mesh(v, f, uv=shifted, uv_faces=f))
        for p, got in ((0.5, drift.texel_drift_median), (0.95, drift.texel_drift_p95)):
            delta = 3.3 * np.sqrt(p * (1 - p) / CONFIDENT_SAMPLES)
            assert texels * (p - delta) <= got <= texels * (p + delta), (p, got)
        assert drift.texel_drift_max == pytest.approx(texels, rel=1e-6)  # at the vertices of x = 1
