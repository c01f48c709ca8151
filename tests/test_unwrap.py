"""Fresh atlases (xatlas) and chart counts, with ground truth.

Inputs are built with numpy and trimesh: a cube whose six faces each have an island of their own in the
atlas (six charts), a plane whose grid is one continuous chart, a sphere unwrapped afresh (every corner
gets a UV inside the unit square, faces and positions untouched, charts never overlap: rasterised at
256², no texel is covered twice), and xatlas' own crash on a perfectly regular icosphere, which must
cost the caller an error, never its process.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import unit_cube

from llvscan.errors import InvalidMeshError, InvalidParameterError
from llvscan.mesh import Mesh
from llvscan.mesh.unwrap import unwrap, uv_charts


def six_islands() -> Mesh:
    vertices, faces = unit_cube()
    uv = np.zeros((36, 2))
    for quad in range(6):  # each square face its own cell of a 3×2 grid, corners not shared with others
        cell = np.array([quad % 3, quad // 3]) / np.array([3.0, 2.0])
        for k, f in enumerate(range(2 * quad, 2 * quad + 2)):
            for c in range(3):
                uv[6 * quad + 3 * k + c] = cell + 0.1 + 0.2 * vertices[faces[f, c], :2]
    # corners of one quad sharing a position share one UV: weld them, so each quad is one chart
    keys = np.concatenate([np.repeat(np.arange(6), 6)[:, None], faces.reshape(-1, 1)], axis=1)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    return Mesh(vertices, faces, uv=uv[first], uv_faces=inverse.reshape(12, 3))


def grid(n: int) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = np.meshgrid(np.linspace(0.0, 1.0, n + 1), np.linspace(0.0, 1.0, n + 1))
    points = np.stack([xs.ravel(), ys.ravel()], axis=1)
    i = np.arange((n + 1) ** 2).reshape(n + 1, n + 1)[:-1, :-1].ravel()
    faces = np.concatenate([np.stack([i, i + 1, i + n + 2], 1), np.stack([i, i + n + 2, i + n + 1], 1)])
    return points, faces


def test_charts_are_counted_from_shared_uv_edges():
    assert uv_charts(six_islands()) == 6
    points, faces = grid(8)
    plane = Mesh(np.column_stack([points, np.zeros(len(points))]), faces, uv=points, uv_faces=faces)
    assert uv_charts(plane) == 1
    assert uv_charts(Mesh(plane.vertices, faces)) == 0
    cut = plane.uv_faces.copy()
    right = points[faces].mean(axis=1)[:, 0] > 0.5
    cut[right] += len(points)  # the right half of the faces use a copy of every UV: 2 charts
    assert uv_charts(Mesh(plane.vertices, faces, uv=np.concatenate([points, points]), uv_faces=cut)) == 2


def test_a_fresh_atlas_covers_every_corner_without_overlap():
    import trimesh

    sphere = trimesh.creation.icosphere(subdivisions=3)
    vertices = np.asarray(sphere.vertices) * [1.0, 1.0, 0.6] + np.random.default_rng(3).normal(0, 0.003, (642, 3))
    mesh = Mesh(vertices, np.asarray(sphere.faces, dtype=np.int64), units="m")
    result = unwrap(mesh, size=256, padding=2)
    out = result.mesh
    assert out.vertices is mesh.vertices and np.array_equal(out.faces, mesh.faces)
    assert out.uv_faces.shape == mesh.faces.shape and (out.uv_faces >= 0).all()
    assert out.uv.min() >= 0.0 and out.uv.max() <= 1.0
    assert result.charts == uv_charts(out) >= 1 and 0.3 < result.utilization <= 1.0
    assert len(out.materials) == 1 and out.materials[0].texture is None and (out.face_material == 0).all()
    assert texels_covered_twice(out.uv[out.uv_faces] * 256, 256) == 0


def texels_covered_twice(triangles: np.ndarray, size: int) -> int:
    """Texel centres strictly inside (by 1e-6 texel) more than one triangle."""
    counts = np.zeros((size, size), dtype=np.int32)
    for a, b, c in triangles:
        lo = np.floor(np.minimum(np.minimum(a, b), c)).astype(int)
        hi = np.ceil(np.maximum(np.maximum(a, b), c)).astype(int)
        xs, ys = np.meshgrid(np.arange(lo[0], hi[0]) + 0.5, np.arange(lo[1], hi[1]) + 0.5)
        area = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
        if area == 0:
            continue
        w = [((q[0] - p[0]) * (ys - p[1]) - (q[1] - p[1]) * (xs - p[0])) / area for p, q in ((b, c), (c, a), (a, b))]
        inside = (w[0] > 1e-6) & (w[1] > 1e-6) & (w[2] > 1e-6)
        np.add.at(counts, (ys[inside].astype(int) % size, xs[inside].astype(int) % size), 1)
    return int((counts > 1).sum())


def test_xatlas_crashing_costs_an_error_not_the_process():
    import trimesh

    regular = trimesh.creation.icosphere(subdivisions=6)  # xatlas 0.0.11 dies of SIGSEGV on this one
    mesh = Mesh(np.asarray(regular.vertices), np.asarray(regular.faces, dtype=np.int64), path="ico.ply")
    with pytest.raises(InvalidMeshError, match="xatlas could not unwrap") as caught:
        unwrap(mesh)
    assert caught.value.path == "ico.ply"


def test_bad_input_is_refused():
    points, faces = grid(2)
    plane = Mesh(np.column_stack([points, np.zeros(len(points))]), faces)
    with pytest.raises(InvalidParameterError):
        unwrap(plane, size=8)
    with pytest.raises(InvalidMeshError):
        unwrap(Mesh(np.full((9, 3), np.nan), faces))
