"""Texture-aware decimation: quadric edge collapse (Garland–Heckbert) with attribute quadrics (Hoppe).

``decimate(mesh, target_faces=…)`` returns the decimated ``Mesh`` with its UVs, vertex colours and
materials carried through every collapse, and what was achieved, measured against the input
(``mesh_distance``: Hausdorff and mean distance, texel drift).

What it keeps, and how (the kernels are in ``_kernels``, their packed rows in ``layout``):

* **Texture**: positions are welded, so seams do not look like holes; each face corner keeps a *wedge*
  (its UV, colour and material). A vertex off the seams collapses to the optimal point and UV of its
  summed position + UV quadric; a seam vertex only slides along its seam onto a seam neighbour, and
  both sides of the seam take the neighbour's UVs, so charts never tear or bleed into each other.
  UV coordinates are weighted so that one unit of texture stretch costs as much as one unit of length
  (the ratio of surface area to UV area), times ``uv_weight``.
* **Boundaries**: constraint planes along open boundaries and seams; with ``preserve_boundary`` a
  boundary vertex only slides along its boundary onto a boundary neighbour (``lock_boundary`` pins them).
* **Manifoldness and orientation**: the link condition on every collapse; no face may turn by more than
  ``max_normal_turn`` degrees or fold its UVs; a shape guard refuses new slivers (quality below
  ``min_quality``, 1 = equilateral) that were not there before.
* **Exact counts**: collapses continue to the exact target; a closed surface loses faces two at a time,
  so an odd difference stops one above and the result says why. Vertices on non-manifold edges or
  fans are locked, and never removed.
* **Determinism**: one thread, a fixed order; the same input and options give byte-identical output.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from llvscan._json import NOT_IN_JSON, JsonResult
from llvscan.errors import InvalidMeshError, InvalidParameterError
from llvscan.mesh.core.geometry import vertex_normals
from llvscan.mesh.core.types import Mesh
from llvscan.mesh.distance import MeshDistance
from llvscan.mesh.simplify import layout as L
from llvscan.mesh.topology import build_topology, hash_table, weld_vertices

__all__ = ["DecimationResult", "decimate", "decimate_file"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DecimationResult(JsonResult):
    """A decimated mesh and what was achieved. ``to_dict`` leaves the mesh out (JSON-ready)."""

    mesh: Mesh = field(metadata=NOT_IN_JSON)
    faces_in: int
    faces_out: int
    vertices_out: int
    target_faces: int
    reached: bool
    note: str | None  # why the target was not met exactly, when it was not
    collapses: int
    estimated_error: float  # RMS quadric error of the costliest collapse, mesh units
    seconds: float  # decimation wall time (measurement excluded)
    dropped_faces: int  # input faces with a repeated vertex after welding: left out
    locked_vertices: int  # non-manifold vertices and others never removed
    distance: MeshDistance | None = None  # the result against the input, when measured
    flipped_faces: int | None = None  # faces facing against the input surface, when measured


def _target(faces_in: int, target_faces: int | None, ratio: float | None, max_error: float | None) -> int:
    if target_faces is None and ratio is None and max_error is None:
        raise InvalidParameterError("say how far to decimate: target faces, a ratio, or a maximum error")
    if target_faces is not None and ratio is not None:
        raise InvalidParameterError("give a target face count or a ratio, not both")
    if max_error is not None and not (max_error > 0 and math.isfinite(max_error)):
        raise InvalidParameterError(f"the maximum error must be a positive distance, not {max_error}")
    if ratio is not None:
        if not (0 < ratio <= 1):
            raise InvalidParameterError(f"ratio must be in (0, 1], not {ratio}")
        return max(1, round(ratio * faces_in))
    if target_faces is not None:
        if int(target_faces) != target_faces or target_faces < 1:
            raise InvalidParameterError(f"the target face count must be a positive integer, not {target_faces}")
        if target_faces > faces_in:
            raise InvalidParameterError(f"the target ({target_faces:,} faces) is above the mesh's {faces_in:,} faces")
        return int(target_faces)
    return 1


@dataclass
class _Prepared:
    pos: np.ndarray  # (N, 3) welded positions
    faces: np.ndarray  # (M, 3) int32, faces kept
    keep: np.ndarray  # (M,) the input face of each face kept
    cw: np.ndarray  # (M, 3) int32 corner wedges
    wattr: np.ndarray  # (W, K) scaled attributes
    wvertex: np.ndarray  # (W,) vertex of each wedge
    whas_uv: np.ndarray  # (W,) bool
    walpha: np.ndarray | None  # (W,) uint8 colour alpha, carried unchanged
    uv_scale: float
    color_scale: float
    has_uv: bool
    has_color: bool


def _wedges(mesh: Mesh, vid: np.ndarray, faces_in: np.ndarray, keep: np.ndarray) -> tuple:
    """Corner wedges: one per distinct (vertex, UV value, material, colour) over the kept faces."""
    from llvscan.mesh.simplify import _kernels as qk

    m = len(keep)
    corners = np.ascontiguousarray(faces_in[keep])  # input vertex of each kept corner
    empty = np.empty((0, 3), dtype=np.int64)
    uv_faces = np.ascontiguousarray(np.asarray(mesh.uv_faces)[keep]) if mesh.uv_faces is not None else empty
    uv = np.ascontiguousarray(mesh.uv, dtype=np.float64) if mesh.uv is not None else np.empty((0, 2))
    has_uv = mesh.uv is not None and mesh.uv_faces is not None and bool((uv_faces >= 0).any())
    if not has_uv:
        uv_faces = empty
    material = (np.ascontiguousarray(np.asarray(mesh.face_material)[keep]) if mesh.face_material is not None
                else np.empty(0, dtype=np.int64))
    colors = None
    if mesh.vertex_colors is not None:
        colors = np.asarray(mesh.vertex_colors, dtype=np.uint8)
        if colors.shape[1] == 3:
            colors = np.concatenate([colors, np.full((len(colors), 1), 255, np.uint8)], axis=1)
        colors = np.ascontiguousarray(colors[:, :4])
    keys = qk.corner_keys(corners, vid, uv_faces, uv, material, colors if colors is not None
                          else np.empty((0, 4), dtype=np.uint8))
    inverse, first = qk.unique_rows(keys, hash_table(len(keys)))
    wvertex = keys[first, 0]
    # wedges in vertex order: a wedge row lies near its vertex row, so pricing an edge reads nearby memory
    order = np.argsort(wvertex, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    first, wvertex = first[order], wvertex[order]
    cw = rank[inverse].reshape(m, 3)
    wuv = whas_uv = None
    if has_uv:
        whas_uv = keys[first, 3] == 1
        wuv = np.where(whas_uv[:, None], keys[first, 1:3].view(np.float64), 0.0)
    else:
        whas_uv = np.zeros(len(first), dtype=bool)
    wcolor = colors[corners.reshape(-1)[first]] if colors is not None else None
    return cw, wvertex, wuv, whas_uv, wcolor


def _prepare(mesh: Mesh, uv_weight: float, color_weight: float) -> _Prepared:
    from llvscan.mesh.simplify import _kernels as qk

    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    faces_in = np.asarray(mesh.faces)
    if not np.isfinite(vertices).all():
        bad = int((~np.isfinite(vertices).all(axis=1)).sum())
        raise InvalidMeshError(f"{bad} vertices are NaN or infinite: repair the mesh before decimating",
                               path=mesh.path)
    if faces_in.size and (faces_in.min() < 0 or faces_in.max() >= len(vertices)):
        raise InvalidMeshError("a face refers to a vertex that does not exist", path=mesh.path)
    vid, count = weld_vertices(vertices)
    first = np.full(count, -1, dtype=np.int64)
    first[vid[::-1]] = np.arange(len(vid))[::-1]  # first input vertex of each welded id
    pos = np.ascontiguousarray(vertices[first])
    wf = vid[faces_in]
    keep = np.flatnonzero((wf[:, 0] != wf[:, 1]) & (wf[:, 1] != wf[:, 2]) & (wf[:, 0] != wf[:, 2]))
    cw, wvertex, uv, whas_uv, wcolor = _wedges(mesh, vid, faces_in, keep)
    faces = np.ascontiguousarray(wf[keep], dtype=np.int32)

    attrs = []
    uv_scale = color_scale = 1.0
    if uv is not None:
        area3, area_uv = qk.surface_areas(pos, faces, uv, cw)
        if area_uv > 0 and area3 > 0:
            uv_scale = math.sqrt(uv_weight * area3 / area_uv)
        attrs.append(uv * uv_scale)
    if wcolor is not None:
        diagonal = float(np.linalg.norm(pos.max(axis=0) - pos.min(axis=0))) or 1.0
        color_scale = math.sqrt(color_weight) * 0.01 * diagonal  # a full colour swing costs 1 % of the diagonal
        attrs.append(wcolor[:, :3].astype(np.float64) / 255.0 * color_scale)
    wattr = np.ascontiguousarray(np.concatenate(attrs, axis=1) if attrs else np.zeros((len(wvertex), 0)))
    return _Prepared(pos, faces, keep, np.ascontiguousarray(cw, dtype=np.int32), wattr, wvertex, whas_uv,
                     wcolor[:, 3].copy() if wcolor is not None else None, uv_scale, color_scale,
                     uv is not None, wcolor is not None)


def _classify(p: _Prepared, lock_boundary: bool) -> tuple[np.ndarray, ...]:
    """Vertex flags, a wedge of each vertex, edges, and the half-edges that carry constraint planes."""
    from llvscan.mesh import _topology_kernels
    from llvscan.mesh.simplify import _kernels as qk

    n = len(p.pos)
    topo = build_topology(p.faces, n)
    flags = np.zeros(n, dtype=np.int8)
    es, eh, counts = topo.edge_start, topo.edge_he, topo.edge_faces
    boundary_he = eh[es[:-1][counts == 1]]
    boundary = np.zeros(n, dtype=bool)
    boundary[topo.edges[counts == 1].reshape(-1)] = True
    flags[boundary] |= qk.BOUNDARY
    locked = np.zeros(n, dtype=bool)
    locked[topo.edges[(counts > 2) | topo.inconsistent].reshape(-1)] = True
    fans = _topology_kernels.vertex_fans(topo.faces, n, es, eh, counts)
    locked |= fans > 1
    nw = np.bincount(p.wvertex, minlength=n)
    locked |= nw > qk.MAXW
    flags[nw > 1] |= qk.MULTI
    if lock_boundary:
        locked |= boundary
    flags[locked] |= qk.LOCKED
    vwedge = np.full(n, -1, dtype=np.int32)
    vwedge[p.wvertex[::-1]] = np.arange(len(p.wvertex))[::-1]
    # seams: edges whose two faces disagree on the wedge of either end
    two = np.flatnonzero((counts == 2) & ~topo.inconsistent)
    h1, h2 = eh[es[two]], eh[es[two] + 1]
    f1, k1, f2, k2 = h1 // 3, h1 % 3, h2 // 3, h2 % 3
    seam = (p.cw[f1, k1] != p.cw[f2, (k2 + 1) % 3]) | (p.cw[f1, (k1 + 1) % 3] != p.cw[f2, k2])
    seam_he = np.concatenate([h1[seam], h2[seam]])
    # one dtype whatever the topology hands over: one compiled kernel signature
    return (flags, vwedge, np.ascontiguousarray(topo.edges, dtype=np.int32),
            np.ascontiguousarray(boundary_he, dtype=np.int64), np.ascontiguousarray(seam_he, dtype=np.int64))


def _output(mesh: Mesh, p: _Prepared, face_alive: np.ndarray) -> Mesh:
    faces = p.faces[face_alive]
    used, new_faces = np.unique(faces, return_inverse=True)
    new_faces = new_faces.reshape(-1, 3).astype(np.int64)
    vertices = p.pos[used]
    uv = uv_faces = colors = None
    corner_w = p.cw[face_alive]
    if p.has_uv or p.has_color:
        wused, wnew = np.unique(corner_w, return_inverse=True)
        wnew = wnew.reshape(-1, 3).astype(np.int64)
        if p.has_uv:
            uv = p.wattr[wused, :2] / p.uv_scale
            uv_faces = np.where(p.whas_uv[corner_w], wnew, -1)
        if p.has_color:
            k0 = 2 if p.has_uv else 0
            rgb = np.clip(np.rint(p.wattr[corner_w.reshape(-1), k0:k0 + 3] / p.color_scale * 255.0), 0, 255)
            colors = np.zeros((len(vertices), 4), dtype=np.uint8)
            colors[new_faces.reshape(-1), :3] = rgb.astype(np.uint8)
            if p.walpha is not None:
                colors[new_faces.reshape(-1), 3] = p.walpha[corner_w.reshape(-1)]
    face_material = None
    if mesh.face_material is not None:
        face_material = np.asarray(mesh.face_material)[p.keep][face_alive]
    return Mesh(vertices=vertices, faces=new_faces, uv=uv, uv_faces=uv_faces,
                normals=vertex_normals(vertices, new_faces), normal_faces=new_faces,
                vertex_colors=colors, materials=mesh.materials, face_material=face_material, units=mesh.units,
                path=None, format=None)


def decimate(
    mesh: Mesh,
    *,
    target_faces: int | None = None,
    ratio: float | None = None,
    max_error: float | None = None,
    preserve_boundary: bool = True,
    lock_boundary: bool = False,
    preserve_topology: bool = True,
    uv_weight: float = 1.0,
    color_weight: float = 1.0,
    boundary_weight: float = 10.0,
    min_quality: float = 0.1,
    max_normal_turn: float = 75.0,
    measure: bool = True,
    samples: int = 200_000,
) -> DecimationResult:
    """Decimate ``mesh`` to ``target_faces`` (or ``ratio`` of its faces), or until the next collapse would
    move the surface by more than ``max_error`` (mesh units; may be combined with a target).

    ``preserve_topology=False`` lets small disconnected pieces collapse away; the surface stays
    manifold either way. With ``measure`` the result carries ``mesh_distance(result, mesh)``.
    """
    from llvscan.mesh.simplify import _kernels as qk

    for name, value in (("uv_weight", uv_weight), ("color_weight", color_weight)):
        if not value > 0:
            raise InvalidParameterError(f"{name} must be positive, not {value}")
    if boundary_weight < 0 or not 0 <= min_quality < 1 or not 0 < max_normal_turn < 180:
        raise InvalidParameterError("boundary_weight ≥ 0, min_quality in [0, 1) and max_normal_turn in (0, 180)")
    faces_in = mesh.n_faces
    if faces_in == 0:
        raise InvalidMeshError("the mesh has no faces", path=mesh.path)
    target = _target(faces_in, target_faces, ratio, max_error)
    started = time.perf_counter()
    p = _prepare(mesh, uv_weight, color_weight)
    flags, vwedge, edges, boundary_he, seam_he = _classify(p, lock_boundary)
    n, k_attr = len(p.pos), p.wattr.shape[1]
    vq = np.zeros((n, L.VQ_COLUMNS))
    vq[:, :3] = p.pos
    fc = np.zeros((len(p.faces), L.FC_COLUMNS), dtype=np.int32)
    fc[:, L.F_VERTICES:L.F_VERTICES + 3] = p.faces
    fc[:, L.F_WEDGES:L.F_WEDGES + 3] = p.cw
    wq = np.zeros((len(p.wvertex), L.wq_columns(k_attr)))
    wq[:, L.wq_attributes(k_attr):] = p.wattr
    vi = np.zeros((n, L.VI_COLUMNS), dtype=np.int32)
    vi[:, L.V_FLAGS] = flags
    vi[:, L.V_WEDGE] = vwedge
    qk.init_quadrics(vq, fc, wq, k_attr)
    if boundary_weight > 0:
        qk.add_edge_planes(vq, fc, boundary_he, boundary_weight)
        qk.add_edge_planes(vq, fc, seam_he, boundary_weight)
    dropped = faces_in - len(p.faces)
    kernel_target = min(target, len(p.faces))
    max_cost = max_error**2 if max_error is not None else np.inf
    faces_left, collapses, max_norm, relaxed, stats = qk.decimate(
        vq, fc, wq, vi, edges, k_attr, kernel_target, max_cost, math.cos(math.radians(max_normal_turn)),
        min_quality, preserve_boundary, not preserve_topology, p.has_uv)
    log.debug("decimate: pops, stale, refused, link, shape, parity, compactions: %s", stats.tolist())
    face_alive = fc[:, L.F_ALIVE].astype(bool)
    p.pos, p.faces = vq[:, :3], fc[:, L.F_VERTICES:L.F_VERTICES + 3]
    p.cw, p.wattr = fc[:, L.F_WEDGES:L.F_WEDGES + 3], wq[:, L.wq_attributes(k_attr):]
    out = _output(mesh, p, face_alive)
    seconds = time.perf_counter() - started
    reached = faces_left == kernel_target or (max_error is not None and target_faces is None and ratio is None)
    note = None
    if dropped:
        note = f"{dropped} faces with a repeated vertex were left out"
    if not reached:
        why = ("a closed surface loses faces two at a time" if faces_left == kernel_target + 1
               else "no collapse left that keeps the surface manifold, unfolded and within the guards")
        if max_error is not None and faces_left > kernel_target:
            why = "the next collapse would exceed the maximum error"
        note = f"stopped at {faces_left:,} faces, not {kernel_target:,}: {why}" + (f"; {note}" if note else "")
    if relaxed == 2:
        log.info("decimation relaxed the triangle-shape guard to reach %d faces", kernel_target)
    distance = flipped = None
    if measure:
        from llvscan.mesh.distance import DistanceMeter

        meter = DistanceMeter(mesh, samples=samples)
        distance, flipped = meter.measure(out), meter.flipped_faces(out)
    return DecimationResult(
        mesh=out, faces_in=faces_in, faces_out=out.n_faces, vertices_out=out.n_vertices, target_faces=target,
        reached=bool(reached), note=note, collapses=int(collapses), estimated_error=math.sqrt(max_norm),
        seconds=seconds, dropped_faces=int(dropped), locked_vertices=int(np.count_nonzero(flags & qk.LOCKED)),
        distance=distance, flipped_faces=flipped)


def decimate_file(src: str | Path, dst: str | Path, **options: Any) -> tuple[DecimationResult, list[Path]]:
    """Load ``src``, ``decimate`` it with ``options``, write ``dst`` (.obj + .mtl + texture, or .glb).
    Returns the result and the files written."""
    from llvscan.mesh.io.registry import WRITE_SUFFIXES, load_mesh, save_mesh

    dst = Path(dst)
    if dst.suffix.lower() not in WRITE_SUFFIXES:  # refuse before the work, not after
        raise InvalidParameterError(f"output must end in {' or '.join(sorted(WRITE_SUFFIXES))}", path=dst)
    result = decimate(load_mesh(src), **options)
    return result, save_mesh(result.mesh, dst)
