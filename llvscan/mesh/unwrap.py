"""Atlases: how many charts a mesh's UV layout has, and a fresh atlas for a mesh (``xatlas``).

A scan's texture atlas, as texturing tools write it, is cut into hundreds of charts; a level that keeps
every chart's border intact spends its faces on the borders. ``unwrap(mesh)`` gives the level a new
atlas of its own (xatlas: charts grown by normal deviation and seam cost, packed with padding so
bilinear sampling and mipmaps do not bleed between charts); its colour is then baked from the
full-resolution surface (``llvscan.mesh.bake``). Positions and faces are kept as they are: only the
UVs, and the materials (one, without textures until the bake fills them), change.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from llvscan._json import NOT_IN_JSON, JsonResult
from llvscan.errors import InvalidMeshError, InvalidParameterError
from llvscan.mesh.core.types import Material, Mesh

__all__ = ["Unwrapped", "unwrap", "uv_charts"]


@dataclass(frozen=True)
class Unwrapped(JsonResult):
    """A mesh with a fresh atlas, and what the atlas is like."""

    mesh: Mesh = field(repr=False, compare=False, metadata=NOT_IN_JSON)
    charts: int
    utilization: float  # fraction of the atlas the charts cover
    size: int  # the atlas resolution the charts were packed for (texels on a side)
    seconds: float


def uv_charts(mesh: Mesh) -> int:
    """The charts of ``mesh``'s UV layout: faces joined across every edge whose two UV corners they share.
    0 without UVs; faces with a corner that has no UV are not counted."""
    if mesh.uv is None or mesh.uv_faces is None or not mesh.n_faces:
        return 0
    uv_faces = np.asarray(mesh.uv_faces, dtype=np.int64)
    keep = np.flatnonzero((uv_faces >= 0).all(axis=1))
    if not len(keep):
        return 0
    corners = uv_faces[keep]
    edges = np.sort(np.concatenate([corners[:, [0, 1]], corners[:, [1, 2]], corners[:, [2, 0]]]), axis=1)
    owner = np.tile(np.arange(len(keep)), 3)
    order = np.lexsort((edges[:, 1], edges[:, 0]))
    edges, owner = edges[order], owner[order]
    same = (edges[1:] == edges[:-1]).all(axis=1)
    a, b = owner[:-1][same], owner[1:][same]  # faces sharing a UV edge
    labels = np.arange(len(keep))
    while True:  # label propagation with pointer jumping: converges in a few dozen rounds on real atlases
        joined = labels.copy()
        np.minimum.at(joined, a, labels[b])
        np.minimum.at(joined, b, labels[a])
        while not np.array_equal(joined, joined[joined]):
            joined = joined[joined]
        if np.array_equal(joined, labels):
            return len(np.unique(labels))
        labels = joined


def unwrap(mesh: Mesh, *, size: int = 1024, padding: int = 4) -> Unwrapped:
    """``mesh`` with a fresh atlas packed for a ``size``-texel texture with ``padding`` texels between
    charts. The result has one material (the first one the faces used, its textures and maps removed:
    a bake gives them back) and every corner a UV, V up as llvscan's UVs are.

    Raises ``InvalidMeshError`` for an empty mesh or non-finite vertices, ``InvalidParameterError`` for
    a size or padding out of range."""
    if not 16 <= size <= 16384 or not 0 <= padding <= 64:
        raise InvalidParameterError(f"unwrap: size {size} must be 16–16384 and padding {padding} 0–64")
    if not mesh.n_faces:
        raise InvalidMeshError("the mesh has no faces to unwrap", path=mesh.path)
    if not np.isfinite(mesh.vertices).all():
        raise InvalidMeshError("the mesh has NaN or infinite vertices", path=mesh.path)
    started = time.perf_counter()
    mapping, indices, uv, charts, utilization = _xatlas(mesh, size, padding)
    if len(indices) != mesh.n_faces or not np.array_equal(mapping[indices], mesh.faces):
        raise InvalidMeshError("xatlas changed the faces while unwrapping", path=mesh.path)
    uv = np.asarray(uv, dtype=np.float64).copy()
    uv[:, 1] = 1.0 - uv[:, 1]  # xatlas' V grows down the image; llvscan's grows up, as OBJ's
    used = [int(m) for m in np.unique(mesh.face_material) if m >= 0] if mesh.face_material is not None else []
    first = mesh.materials[used[0]] if used else Material("unwrapped")
    material = replace(first, texture=None, texture_data=None, texture_size=None, maps=())
    result = replace(mesh, uv=uv, uv_faces=indices, materials=(material,),
                     face_material=np.zeros(mesh.n_faces, dtype=np.int64))
    return Unwrapped(mesh=result, charts=charts, utilization=round(utilization, 4), size=size,
                     seconds=round(time.perf_counter() - started, 3))


#: xatlas runs in a child process: it crashes (SIGSEGV) on some inputs, e.g. a perfectly regular icosphere
#: of 80k faces, and a crash must cost one level its fresh atlas, never the run its worker.
_XATLAS_TIMEOUT = 600


def _xatlas(mesh: Mesh, size: int, padding: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, float]:
    with tempfile.TemporaryDirectory(prefix="llvscan-unwrap-") as folder:
        given, got = Path(folder) / "in.npz", Path(folder) / "out.npz"
        np.savez(given, vertices=np.asarray(mesh.vertices, dtype=np.float32),
                 faces=np.asarray(mesh.faces, dtype=np.uint32), options=np.array([size, padding]))
        try:
            done = subprocess.run([sys.executable, "-m", "llvscan.mesh.unwrap", str(given), str(got)],
                                  capture_output=True, timeout=_XATLAS_TIMEOUT, check=False)
        except subprocess.TimeoutExpired as exc:
            raise InvalidMeshError(f"xatlas did not unwrap the mesh within {_XATLAS_TIMEOUT} s",
                                   path=mesh.path) from exc
        if done.returncode != 0 or not got.is_file():
            said = done.stderr.decode(errors="replace").strip().splitlines()
            why = f"it crashed (signal {-done.returncode})" if done.returncode < 0 else (said or ["it failed"])[-1]
            raise InvalidMeshError(f"xatlas could not unwrap the mesh: {why}", path=mesh.path)
        with np.load(got) as out:
            return (out["mapping"].astype(np.int64), out["indices"].astype(np.int64).reshape(-1, 3),
                    out["uv"].astype(np.float64), int(out["charts"]), float(out["utilization"]))


def _child(given: str, got: str) -> None:
    import xatlas

    with np.load(given) as data:
        vertices, faces, (size, padding) = data["vertices"], data["faces"], data["options"].tolist()
    atlas = xatlas.Atlas()
    atlas.add_mesh(np.ascontiguousarray(vertices), np.ascontiguousarray(faces))
    pack = xatlas.PackOptions()
    pack.resolution, pack.padding, pack.bilinear, pack.rotate_charts = size, padding, True, True
    atlas.generate(xatlas.ChartOptions(), pack)
    if atlas.atlas_count != 1:
        raise SystemExit(f"the charts need {atlas.atlas_count} atlases of {size} texels, not one")
    mapping, indices, uv = atlas[0]
    np.savez(got, mapping=mapping, indices=indices, uv=uv, charts=atlas.chart_count,
             utilization=atlas.utilization)


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2])
