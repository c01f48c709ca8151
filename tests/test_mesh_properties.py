"""Property tests (hypothesis): the numba topology agrees with plain numpy on arbitrary face subsets,
and geometric measures are invariant under rigid motions."""

from __future__ import annotations

import numpy as np
import trimesh
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llvscan.mesh import Mesh, ValidationThresholds, validate_mesh

SPHERE = trimesh.creation.icosphere(subdivisions=2, radius=50.0)
V, F = np.asarray(SPHERE.vertices), np.asarray(SPHERE.faces, dtype=np.int64)
FAST = ValidationThresholds(self_intersections=False)


def numpy_edges(faces: np.ndarray) -> tuple[int, int, int]:
    """(edges, boundary edges, non-manifold edges), the slow and obvious way."""
    half = np.sort(faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    _, counts = np.unique(half, axis=0, return_counts=True)
    return len(counts), int((counts == 1).sum()), int((counts > 2).sum())


def numpy_components(faces: np.ndarray) -> int:
    parent = list(range(len(faces)))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    owner: dict[tuple[int, int], int] = {}
    for f, face in enumerate(faces.tolist()):
        for a, b in ((face[0], face[1]), (face[1], face[2]), (face[2], face[0])):
            key = (min(a, b), max(a, b))
            if key in owner:
                parent[find(f)] = find(owner[key])
            else:
                owner[key] = f
    return len({find(f) for f in range(len(faces))})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.booleans(), min_size=len(F), max_size=len(F)), st.integers(0, 3))
def test_topology_of_any_face_subset(keep, duplicated):
    faces = F[np.array(keep)]
    if len(faces) == 0:
        return
    faces = np.vstack([faces, faces[:duplicated]])  # repeated faces make non-manifold edges
    r = validate_mesh(Mesh(V, faces), thresholds=FAST)
    edges, boundary, non_manifold = numpy_edges(faces)
    assert (r.edges, r.boundary_edges, r.non_manifold_edges) == (edges, boundary, non_manifold)
    assert r.components == numpy_components(faces)
    used = len(np.unique(faces))
    assert r.euler_characteristic == used - edges + len(faces)
    assert r.unreferenced_vertices == len(V) - used
    assert r.duplicate_faces == len(faces) - len(np.unique(np.sort(faces, axis=1), axis=0))
    assert r.watertight == (boundary == 0 and non_manifold == 0)


@settings(max_examples=25, deadline=None)
@given(st.floats(-np.pi, np.pi), st.floats(-np.pi, np.pi), st.floats(-np.pi, np.pi),
       st.tuples(*[st.floats(-1e3, 1e3)] * 3))
def test_measures_are_invariant_under_rigid_motion(a, b, c, shift):
    rotation = trimesh.transformations.euler_matrix(a, b, c)[:3, :3]
    moved = V @ rotation.T + np.array(shift)
    base = validate_mesh(Mesh(V, F), thresholds=FAST)
    r = validate_mesh(Mesh(moved, F))
    assert r.surface_area == np.float64(base.surface_area) or abs(r.surface_area / base.surface_area - 1) < 1e-9
    assert abs(r.volume / base.volume - 1) < 1e-9
    assert (r.euler_characteristic, r.genus, r.self_intersections, r.flipped_faces) == (2, 0, 0, 0)
    assert abs(r.min_angle_median - base.min_angle_median) < 1e-6
