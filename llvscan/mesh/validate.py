"""Mesh validation: the full inspection report (counts, topology, geometry, texture, units).

Validators *return* a report; they raise only when they cannot read the input. Topology is measured on
the surface with coincident positions welded, so the vertex splits that UV seams need do not count as
holes; indices in finding samples are the file's own (0-based). Every per-face and per-edge loop is a
numba kernel (``_validate_kernels``, and ``_topology_kernels`` behind ``llvscan.mesh.topology``).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from llvscan._json import JsonResult
from llvscan._report import Finding, HasFindings
from llvscan.errors import ImageReadError, InvalidParameterError, ResourceLimitError
from llvscan.mesh.core.texture import texture_header
from llvscan.mesh.core.types import Mesh
from llvscan.mesh.core.units import guess_units, millimetres_per_unit
from llvscan.mesh.io.registry import load_mesh
from llvscan.mesh.topology import check_faces, check_half_edges, hash_table, weld_vertices

__all__ = ["ComponentSummary", "Finding", "TextureCheck", "ValidationReport", "ValidationThresholds", "validate_mesh"]

log = logging.getLogger(__name__)

_ANGLE_BINS = [0, 10, 20, 30, 40, 50, 60]
_CELL = 2.67  # self-intersection grid cell: this × the median face size


@dataclass(frozen=True)
class ValidationThresholds(JsonResult):
    """What the validator treats as a problem. Lengths are relative to the bounding-box diagonal."""

    duplicate_tolerance: float = 1e-6  # near-duplicate vertices: closer than this × diagonal
    tiny_island_faces: int = 10  # components with fewer faces are "tiny islands"
    sliver_angle: float = 1.0  # degrees: faces whose smallest angle is below are slivers
    min_object_mm: float = 3.0  # a heritage object smaller than this is implausible (wrong units?)
    max_object_mm: float = 50_000.0  # and larger than this
    self_intersections: bool = True
    samples: int = 10  # offending indices listed per finding

    def __post_init__(self) -> None:
        if self.duplicate_tolerance < 0 or self.tiny_island_faces < 0 or self.samples < 0:
            raise InvalidParameterError("validation thresholds must not be negative")
        if not 0 <= self.sliver_angle <= 60:
            raise InvalidParameterError(f"sliver angle {self.sliver_angle} is outside 0–60 degrees")


@dataclass(frozen=True)
class TextureCheck(JsonResult):
    material: str
    path: str | None
    exists: bool
    readable: bool
    width: int | None = None
    height: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class ComponentSummary(JsonResult):
    faces: int
    vertices: int
    edges: int
    euler: int
    closed: bool
    orientable: bool
    genus: int | None
    volume: float | None


@dataclass(frozen=True)
class ValidationReport(HasFindings):
    """What a mesh is, and what is wrong with it. Field names are stable: the catalog stores them."""

    path: str | None
    format: str | None
    units: str | None
    units_guess: str | None
    # counts
    vertices: int
    faces: int
    edges: int
    welded_vertices: int
    unreferenced_vertices: int
    duplicate_vertices: int
    near_duplicate_vertices: int
    duplicate_faces: int
    degenerate_faces: int
    repeated_index_faces: int
    zero_area_faces: int
    non_finite_vertices: int
    out_of_range_faces: int
    # topology
    non_manifold_edges: int
    non_manifold_vertices: int
    boundary_edges: int
    boundary_loops: int
    hole_perimeters: list[float]  # the 10 longest boundary loops, longest first, in mesh units
    hole_edges: list[int]  # their edge counts, same order
    components: int
    largest_component_faces: int
    tiny_islands: int
    euler_characteristic: int
    genus: int | None
    component_details: list[ComponentSummary]
    orientable: bool
    inconsistent_edges: int
    flipped_faces: int
    inverted_components: int
    self_intersections: int | None
    self_intersecting_faces: int | None
    watertight: bool
    # where the sampled problems are (boundary, non-manifold, self-intersecting, flipped, degenerate…),
    # in mesh coordinates: positions of vertices, centroids of faces
    problem_points: dict[str, list[list[float]]]
    # geometry
    bbox_min: list[float]
    bbox_max: list[float]
    bbox_size: list[float]
    diagonal: float
    surface_area: float
    volume: float | None
    min_angle_histogram: list[int]
    min_angle_p01: float
    min_angle_median: float
    quality_p01: float
    quality_median: float
    slivers: int
    # texture and attributes
    has_uv: bool
    uv_outside_01: int
    flipped_uv_faces: int
    zero_uv_area_faces: int
    textures: list[TextureCheck]
    texel_density: float | None
    has_vertex_colors: bool
    has_normals: bool
    materials: int
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0


def _plural(count: int, noun: str, plural: str | None = None) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {plural or noun + 's'}"


def _sample(mask: np.ndarray | np.bool_, k: int) -> list[int]:
    return [int(i) for i in np.flatnonzero(mask)[:k]]


#: The samples that name vertices (original indices); the others name faces (of the welded mesh).
_VERTEX_SAMPLES = frozenset({"non_manifold_vertices", "non_manifold_edges", "boundary_edges", "unreferenced_vertices"})
_POINT_SAMPLES = ("boundary_edges", "non_manifold_edges", "non_manifold_vertices", "self_intersections",
                  "flipped_faces", "degenerate_faces", "slivers")


def _problem_points(samples: dict[str, list[int]], vertices: np.ndarray, welded: np.ndarray,
                    faces: np.ndarray) -> dict[str, list[list[float]]]:
    """Where the sampled problems are, in the mesh's coordinates: a vertex's position, a face's centroid
    (a viewer draws them on the model)."""
    points: dict[str, list[list[float]]] = {}
    for code in _POINT_SAMPLES:
        indices = [i for i in samples.get(code, []) if i >= 0]
        if code in _VERTEX_SAMPLES:
            found = vertices[[i for i in indices if i < len(vertices)]]
        else:
            found = welded[faces[[i for i in indices if i < len(faces)]]].mean(axis=1)
        found = found[np.isfinite(found).all(axis=1)]
        if len(found):
            points[code] = [[round(float(c), 6) for c in row] for row in found]
    return points


def _texture_checks(mesh: Mesh) -> list[TextureCheck]:
    """Each material's base-colour texture: found, readable under the pixel limit, its size. A texture
    the reader already reported (a ``ReadProblem`` naming it) is not reported twice."""
    reported = {problem.path for problem in mesh.problems if problem.path}
    checks = []
    for material in mesh.materials:
        if material.texture is None or material.texture in reported:
            continue
        if material.texture_data is not None:  # an image inside the mesh file (glTF)
            try:
                width, height = texture_header(material.texture_data, name=material.texture)
                checks.append(TextureCheck(material.name, material.texture, True, True, width, height))
            except (ImageReadError, ResourceLimitError) as exc:
                checks.append(TextureCheck(material.name, material.texture, True, False,
                                           error=exc.detail or exc.message))
            continue
        path = Path(material.texture)
        if not path.is_file():
            checks.append(TextureCheck(material.name, str(path), False, False, error="file not found"))
            continue
        try:
            width, height = texture_header(path)
            checks.append(TextureCheck(material.name, str(path), True, True, width, height))
        except (ImageReadError, ResourceLimitError) as exc:
            checks.append(TextureCheck(material.name, str(path), True, False, error=exc.detail or exc.message))
    return checks


def _uv_measures(mesh: Mesh, face_area: np.ndarray, textures: list[TextureCheck]) -> dict[str, Any]:
    from llvscan.mesh import _validate_kernels

    if mesh.uv is None or mesh.uv_faces is None:
        return {"uv_outside_01": 0, "flipped_uv": np.zeros(mesh.n_faces, bool),
                "zero_uv": np.zeros(mesh.n_faces, bool), "texel_density": None}
    uv_faces = np.ascontiguousarray(mesh.uv_faces)
    used = np.unique(uv_faces[uv_faces >= 0])
    uv_used = mesh.uv[used]
    eps = 1e-6
    outside = int(np.count_nonzero(((uv_used < -eps) | (uv_used > 1 + eps)).any(axis=1)))
    signed = _validate_kernels.uv_signed_areas(np.ascontiguousarray(mesh.uv, dtype=np.float64), uv_faces)
    valid = np.isfinite(signed)
    positive = np.count_nonzero(signed[valid] > 0)
    negative = np.count_nonzero(signed[valid] < 0)
    flipped = (signed < 0) if positive >= negative else (signed > 0)
    zero = valid & (np.abs(signed) < 1e-12)
    density = None
    sizes = [(t.width, t.height) for t in textures if t.readable and t.width and t.height]
    if sizes:
        uv_area = float(np.abs(signed[valid]).sum())
        surface = float(face_area[valid].sum())
        if surface > 0:
            density = float(np.sqrt(uv_area * sizes[0][0] * sizes[0][1] / surface))
    return {"uv_outside_01": outside, "flipped_uv": flipped & valid, "zero_uv": zero, "texel_density": density}


def _self_intersections(welded: np.ndarray, faces: np.ndarray, extent: np.ndarray, diagonal: float):
    """Crossing face pairs among faces with finite coordinates (count, per-face mask)."""
    hits = np.zeros(faces.shape[0], dtype=np.bool_)
    finite = np.isfinite(extent)
    n_finite = int(np.count_nonzero(finite))
    if n_finite < 2 or diagonal == 0:
        return 0, hits
    if n_finite == faces.shape[0]:
        return _crossings(welded, faces, extent, diagonal / 1_000_000, hits), hits
    ids = np.flatnonzero(finite)
    found = np.zeros(len(ids), dtype=np.bool_)
    pairs = _crossings(welded, np.ascontiguousarray(faces[ids]), extent[ids], diagonal / 1_000_000, found)
    hits[ids] = found
    return pairs, hits


def _threads() -> int:
    """Threads for the self-intersection search: numba's thread count (NUMBA_NUM_THREADS, the cores)."""
    import numba

    return max(1, int(numba.get_num_threads()))


def _crossings(welded: np.ndarray, faces: np.ndarray, extent: np.ndarray, floor: float, hits: np.ndarray) -> int:
    """One grid level (``_validate_kernels.grid_sort``); marks ``hits``, returns the pair count. The cell is
    a few times the median face size (measured fastest on scans); faces too large for a cell meet the small
    ones cell by cell, and each other on a coarser grid (recursively)."""
    from llvscan.mesh import _validate_kernels

    cell = max(_CELL * float(np.median(extent)), floor, 1e-12)  # floor: at most 2^21 cells a side
    budget = 20 * faces.shape[0] + 1_000_000
    while True:
        big = extent > _validate_kernels.SMALL * cell
        order, cell_keys, cell_start, table, lo = _validate_kernels.grid_sort(welded, faces, big, cell)
        sorted_faces, box = _validate_kernels.sorted_boxes(welded, faces, order)
        n_big = int(cell_start[0])
        if _validate_kernels.big_visits(box, n_big, lo, cell) <= budget:
            break
        cell *= 2  # the big faces would visit too many cells
    del big
    cell_box = _validate_kernels.cell_boxes(box, cell_start)
    # the work items (cells, then big faces) in chunks shared by threads; the counts add up in any order
    items = len(cell_keys) + n_big
    chunk = max(1024, -(-items // (8 * _threads())))

    grid: list[Any] = [welded, sorted_faces, order, box, cell_box, cell_keys, cell_start, table, lo, cell, n_big, hits]
    kernel: Any = _validate_kernels.grid_crossings

    def work(w0: int) -> int:
        return int(kernel(*grid, w0, min(w0 + chunk, items)))

    with ThreadPoolExecutor(_threads()) as pool:
        total = sum(pool.map(work, range(0, items, chunk)))
    ids = np.sort(order[:n_big])
    grid.clear()  # (frees the arrays it held, with:)
    del order, sorted_faces, box, cell_box, cell_keys, cell_start, table
    if len(ids) >= 2:
        found = np.zeros(len(ids), dtype=np.bool_)
        total += _crossings(welded, np.ascontiguousarray(faces[ids]), extent[ids], cell, found)
        hits[ids] |= found
    return total


def _welding(vertices: np.ndarray, faces_in: np.ndarray):
    """Exact welding (for topology). Returns welded faces and positions, first occurrences, their count."""
    n = vertices.shape[0]
    remap, n_welded = weld_vertices(vertices)
    if n_welded == n:  # nothing to weld: ids are the indices, no copies needed
        return faces_in, vertices, np.arange(n), n
    faces = np.ascontiguousarray(remap[faces_in])
    # ids follow first appearance, so a vertex is a first occurrence exactly when its id is a new maximum
    running = np.maximum.accumulate(remap) if n else remap
    first = np.flatnonzero(np.concatenate([[True], remap[1:] > running[:-1]])) if n else np.zeros(0, np.int64)
    del remap, running
    return faces, vertices[first], first, n_welded


def _topology(faces: np.ndarray, welded: np.ndarray, first: np.ndarray, t: ValidationThresholds):
    """Edges, fans, holes, components, orientation. Returns (fields, samples)."""
    from llvscan.mesh import _topology_kernels, _validate_kernels

    n_welded = welded.shape[0]
    check_half_edges(faces)
    edges, edge_start, edge_he, _, counts, inconsistent, twins = _topology_kernels.build_edges(faces, n_welded,
                                                                                              False)
    non_manifold_edge = counts > 2
    fans = _topology_kernels.vertex_fans(faces, n_welded, edge_start, edge_he, counts)
    nm_vertex = fans > 1
    nm_vertex[edges[non_manifold_edge].reshape(-1)] = True
    del fans
    loop_edges, loop_length = _validate_kernels.boundary_loops(welded, edges, counts)
    labels, n_comp, flip, patch, n_patches, patch_ok = _validate_kernels.patches(faces.shape[0], edge_start,
                                                                                 edge_he, counts, inconsistent)
    c_faces, c_verts, c_edges, c_boundary, c_nonmanifold, c_volume = _validate_kernels.component_stats(
        faces, n_welded, labels, n_comp, edges, edge_he, edge_start, counts, welded)
    del edge_start, edge_he
    patch_size = np.bincount(patch, minlength=n_patches)
    patch_flipped = np.bincount(patch, weights=flip, minlength=n_patches).astype(np.int64)
    # in an orientable patch with faces of both windings, the fewer are the flipped ones (ties: those
    # that disagree with the patch's first face)
    mixed = patch_ok & (np.minimum(patch_flipped, patch_size - patch_flipped) > 0)
    minority = (patch_flipped * 2 <= patch_size).astype(np.int8)
    flipped_face = mixed[patch] & (flip == minority[patch])
    # a component is orientable when all its patches are, and wound consistently as stored when it is a
    # single orientable patch in which no face had to be flipped
    comp_of_patch = np.zeros(n_patches, dtype=np.int64)
    comp_of_patch[patch] = labels
    del flip, patch, labels
    comp_orientable = np.ones(n_comp, dtype=np.bool_)
    comp_orientable[comp_of_patch[~patch_ok]] = False
    comp_consistent = comp_orientable & (np.bincount(comp_of_patch, minlength=n_comp) == 1) & (
        np.bincount(comp_of_patch, weights=patch_flipped, minlength=n_comp) == 0)
    euler = c_verts - c_edges + c_faces
    closed = (c_boundary == 0) & (c_nonmanifold == 0)
    genus_ok = closed & comp_orientable
    watertight = bool(n_comp > 0 and closed.all())
    order = np.argsort(-loop_length, kind="stable")
    used = np.zeros(n_welded, dtype=np.bool_)
    used[faces.reshape(-1)] = True
    fields = {
        "edges": len(edges),
        "non_manifold_edges": int(np.count_nonzero(non_manifold_edge)),
        "non_manifold_vertices": int(np.count_nonzero(nm_vertex)),
        "boundary_edges": int(np.count_nonzero(counts == 1)),
        "boundary_loops": len(loop_edges),
        "hole_perimeters": [float(x) for x in loop_length[order][:10]],
        "hole_edges": [int(x) for x in loop_edges[order][:10]],
        "components": int(n_comp),
        "largest_component_faces": int(c_faces.max()) if n_comp else 0,
        "tiny_islands": int(np.count_nonzero(c_faces < t.tiny_island_faces)) if n_comp > 1 else 0,
        "euler_characteristic": int(used.sum()) - len(edges) + int(faces.shape[0]),
        "genus": int(sum((2 - e) // 2 for e in euler)) if genus_ok.all() and n_comp else None,
        "component_details": [
            ComponentSummary(int(c_faces[c]), int(c_verts[c]), int(c_edges[c]), int(euler[c]), bool(closed[c]),
                             bool(comp_orientable[c]), int((2 - euler[c]) // 2) if genus_ok[c] else None,
                             float(c_volume[c]) if closed[c] and comp_consistent[c] else None)
            for c in np.argsort(-c_faces, kind="stable")[:10]],
        "orientable": bool(comp_orientable.all()),
        "inconsistent_edges": int(np.count_nonzero(inconsistent)),
        "flipped_faces": int(np.count_nonzero(flipped_face)),
        "inverted_components": int(np.count_nonzero(closed & comp_orientable & comp_consistent & (c_volume < 0))),
        "watertight": watertight,
        "volume": float(c_volume.sum()) if watertight and comp_consistent.all() and comp_orientable.all() else None,
    }
    k = t.samples
    samples = {
        "non_manifold_vertices": [int(first[v]) for v in np.flatnonzero(nm_vertex)[:k]],
        "non_manifold_edges": [int(first[v]) for v in edges[non_manifold_edge][:k].reshape(-1)],
        "flipped_faces": _sample(flipped_face, k),
        "boundary_edges": [int(first[v]) for v in edges[counts == 1][:k].reshape(-1)],
    }
    return fields, samples, int(twins)


def _duplicate_faces(faces: np.ndarray, repeated: np.ndarray, twins: int) -> int:
    """Faces repeating an earlier face's vertices: ``twins`` (found by the edge pass among faces with three
    distinct vertices) and those among the faces with a ``repeated`` index, counted here."""
    from llvscan.mesh import _topology_kernels

    odd = np.ascontiguousarray(faces[repeated])
    if not len(odd):
        return twins
    return twins + len(odd) - _topology_kernels.distinct_faces(odd, hash_table(len(odd)))


def _finite(values: np.ndarray) -> np.ndarray:
    """The finite entries of ``values`` (itself when all are)."""
    finite = np.isfinite(values)
    return values if finite.all() else values[finite]


def _percentiles(name: str, values: np.ndarray) -> dict[str, float]:
    """1st percentile and median of ``values``, which they reorder (no copies)."""
    if not values.size:
        return {f"{name}_p01": 0.0, f"{name}_median": 0.0}
    return {f"{name}_p01": float(np.percentile(values, 1, overwrite_input=True)),
            f"{name}_median": float(np.median(values, overwrite_input=True))}


def _geometry(welded: np.ndarray, faces: np.ndarray, diagonal: float, t: ValidationThresholds):
    """Per-face areas and angles, summarised. Returns (fields, samples, area, extent, repeated-index mask)."""
    from llvscan.mesh import _validate_kernels

    area, min_angle, quality, extent = _validate_kernels.face_geometry(welded, faces)
    repeated = (faces[:, 0] == faces[:, 1]) | (faces[:, 1] == faces[:, 2]) | (faces[:, 0] == faces[:, 2])
    degenerate = repeated | ~(area > 1e-12 * diagonal * diagonal)
    n_repeated = int(np.count_nonzero(repeated))
    samples = {"degenerate_faces": _sample(degenerate, t.samples),
               "slivers": _sample(min_angle < t.sliver_angle, t.samples)}
    angles = _finite(min_angle)
    del min_angle
    hist, _ = np.histogram(angles, bins=_ANGLE_BINS)
    fields = {
        "degenerate_faces": int(np.count_nonzero(degenerate)),
        "repeated_index_faces": n_repeated,
        "zero_area_faces": int(np.count_nonzero(degenerate)) - n_repeated,
        "surface_area": float(_finite(area).sum()),
        "min_angle_histogram": [int(x) for x in hist],
        "slivers": int(np.count_nonzero(angles < t.sliver_angle)),
    }
    # the order statistics last: they partition the arrays in place
    fields.update(_percentiles("min_angle", angles), **_percentiles("quality", _finite(quality)))
    return fields, samples, area, extent, repeated


def validate_mesh(mesh: Mesh | str | Path, *, thresholds: ValidationThresholds | None = None) -> ValidationReport:
    """Validate a mesh (or the mesh file at a path, read with ``load_mesh``).

    Works in phases that free their large arrays before the next begins, so peak memory stays a small
    multiple of the mesh's own arrays.
    """
    started = time.perf_counter()
    t = thresholds or ValidationThresholds()
    if not isinstance(mesh, Mesh):
        mesh = load_mesh(mesh)

    vertices = np.ascontiguousarray(mesh.vertices, dtype=np.float64)
    n = vertices.shape[0]
    faces_in = check_faces(mesh.faces, n)
    finite = np.isfinite(vertices).all(axis=1)
    referenced = np.zeros(n, dtype=np.bool_)
    referenced[faces_in.reshape(-1)] = True
    usable = finite & referenced
    if usable.all():  # (no copy)
        lo, hi = vertices.min(axis=0), vertices.max(axis=0)
    elif usable.any():
        lo, hi = vertices[usable].min(axis=0), vertices[usable].max(axis=0)
    else:
        lo = hi = np.zeros(3)
    diagonal = float(np.linalg.norm(hi - lo))
    k = t.samples
    samples: dict[str, list[int]] = {
        "non_finite_vertices": _sample(~finite, k), "unreferenced_vertices": _sample(~referenced, k),
        "out_of_range_faces": list(mesh.dropped_face_lines[:k]),
    }
    fields: dict[str, Any] = {
        "path": mesh.path, "format": mesh.format, "units": mesh.units,
        "units_guess": None if mesh.units else guess_units(float((hi - lo).max())),
        "vertices": n, "faces": mesh.n_faces,
        "unreferenced_vertices": int(np.count_nonzero(~referenced)),
        "non_finite_vertices": int(np.count_nonzero(~finite)),
        "out_of_range_faces": mesh.dropped_faces,
        "bbox_min": lo.tolist(), "bbox_max": hi.tolist(), "bbox_size": (hi - lo).tolist(), "diagonal": diagonal,
    }
    del finite, referenced, usable

    faces, welded, first, n_welded = _welding(vertices, faces_in)
    del faces_in
    # phase by phase, each freeing its large arrays before the next: the edge structure and what is built
    # on it, then per-face geometry, then the self-intersection search
    topo_fields, topo_samples, twins = _topology(faces, welded, first, t)
    n_near = weld_vertices(vertices, tolerance=t.duplicate_tolerance * diagonal)[1] if diagonal else n_welded
    geo_fields, geo_samples, area, extent, repeated = _geometry(welded, faces, diagonal, t)
    textures = _texture_checks(mesh)
    uvm = _uv_measures(mesh, area, textures)
    del area
    fields["self_intersections"] = fields["self_intersecting_faces"] = None
    if t.self_intersections:
        pairs, hits = _self_intersections(welded, faces, extent, diagonal)
        fields.update(self_intersections=pairs, self_intersecting_faces=int(np.count_nonzero(hits)))
        samples["self_intersections"] = _sample(hits, k)
        del hits
    del extent
    fields.update(welded_vertices=n_welded, duplicate_vertices=n - n_welded, near_duplicate_vertices=n_welded - n_near)
    fields.update(topo_fields)
    samples.update(topo_samples)
    fields.update(geo_fields)
    samples.update(geo_samples)
    fields["duplicate_faces"] = _duplicate_faces(faces, repeated, twins)
    del repeated
    fields["problem_points"] = _problem_points(samples, vertices, welded, faces)
    del faces, welded

    samples["flipped_uv_faces"] = _sample(uvm["flipped_uv"], k)
    fields.update({
        "has_uv": mesh.uv is not None, "uv_outside_01": uvm["uv_outside_01"],
        "flipped_uv_faces": int(np.count_nonzero(uvm["flipped_uv"])),
        "zero_uv_area_faces": int(np.count_nonzero(uvm["zero_uv"])),
        "textures": textures, "texel_density": uvm["texel_density"],
        "has_vertex_colors": mesh.vertex_colors is not None, "has_normals": mesh.normals is not None,
        "materials": len(mesh.materials),
    })
    size_mm = float((hi - lo).max()) * millimetres_per_unit(mesh.units or fields["units_guess"])
    findings = [Finding("error", problem.code, problem.message, 1) for problem in mesh.problems]
    findings += _findings(fields, samples, t, size_mm)
    report = {f.name: fields[f.name] for f in dataclasses.fields(ValidationReport)
              if f.name not in ("findings", "seconds")}
    return ValidationReport(**report, findings=findings, seconds=round(time.perf_counter() - started, 4))


def _findings(r: dict[str, Any], samples: dict[str, list[int]], t: ValidationThresholds,
              size_mm: float) -> list[Finding]:
    out: list[Finding] = []

    def add(level: str, code: str, message: str, count: int, measure: float | None = None,
            sample: list[int] | None = None) -> None:
        out.append(Finding(level, code, message, int(count), measure, sample or []))

    def sample(code: str) -> list[int]:
        return samples.get(code, [])

    if n := r["non_finite_vertices"]:
        add("error", "non_finite_vertices", f"{_plural(n, 'vertex', 'vertices')} with NaN or infinite coordinates",
            n, sample=sample("non_finite_vertices"))
    if n := r["out_of_range_faces"]:
        add("error", "out_of_range_faces", f"{_plural(n, 'face')} name a vertex, UV or normal the file does not "
            "have; left out", n, sample=sample("out_of_range_faces"))
    if n := r["non_manifold_edges"]:
        add("error", "non_manifold_edges", f"{_plural(n, 'edge')} shared by more than two faces", n,
            sample=sample("non_manifold_edges"))
    if not r["orientable"]:
        add("error", "non_orientable", "the surface cannot be oriented consistently (a Möbius-like twist)", 1)
    for check in r["textures"]:
        if not check.readable:
            add("error", "texture_unreadable", f"texture of material {check.material!r}: {check.error} "
                f"({check.path})", 1)
    if n := r["non_manifold_vertices"]:
        add("warning", "non_manifold_vertices", f"{_plural(n, 'vertex', 'vertices')} where separate fans of "
            "faces meet", n, sample=sample("non_manifold_vertices"))
    if n := r["boundary_edges"]:
        perimeter = sum(r["hole_perimeters"])
        add("warning", "boundary_edges", f"open surface: {_plural(r['boundary_loops'], 'boundary loop')} "
            f"(holes or borders), {_plural(n, 'boundary edge')}", r["boundary_loops"], measure=perimeter)
    if n := r["self_intersections"]:
        add("warning", "self_intersections", f"{_plural(n, 'pair')} of faces cross each other", n,
            sample=sample("self_intersections"))
    if n := r["inconsistent_edges"]:
        add("warning", "inconsistent_edges", f"{_plural(n, 'edge')} joining faces wound in opposite "
            f"directions ({_plural(r['flipped_faces'], 'flipped face')})", n, sample=sample("flipped_faces"))
    if n := r["inverted_components"]:
        add("warning", "inverted", f"{_plural(n, 'closed component')} wound inside out (negative volume)", n)
    if n := r["degenerate_faces"]:
        add("warning", "degenerate_faces", f"{_plural(n, 'face')} with zero area or a repeated vertex", n,
            sample=sample("degenerate_faces"))
    if n := r["duplicate_faces"]:
        add("warning", "duplicate_faces", f"{_plural(n, 'face')} repeating another face's vertices", n)
    if n := r["tiny_islands"]:
        add("warning", "tiny_islands", f"{_plural(n, 'component')} with fewer than {t.tiny_island_faces} faces "
            f"(of {r['components']})", n)
    if n := r["flipped_uv_faces"]:
        add("warning", "flipped_uv_faces", f"{_plural(n, 'face')} mirrored in UV space", n,
            sample=sample("flipped_uv_faces"))
    if r["textures"] and not r["has_uv"]:
        add("warning", "texture_without_uv", "a texture is assigned but the mesh has no UVs", 1)
    units = r["units"] or r["units_guess"]
    if not t.min_object_mm <= size_mm <= t.max_object_mm:
        add("warning", "implausible_size", f"largest side {size_mm:,.4g} mm "
            f"({'declared' if r['units'] else 'guessed'} units {units}): wrong units?", 1, measure=size_mm)
    if r["units"] is None:
        add("info", "units_undeclared", f"the file declares no units; by its size they are probably {units}", 1)
    if n := r["duplicate_vertices"]:
        add("info", "duplicate_vertices", f"{_plural(n, 'vertex', 'vertices')} repeating another's position "
            "exactly (welded for topology)", n)
    if n := r["near_duplicate_vertices"]:
        add("info", "near_duplicate_vertices", f"{_plural(n, 'more vertex', 'more vertices')} within "
            f"{t.duplicate_tolerance:g} × diagonal of another", n)
    if n := r["unreferenced_vertices"]:
        add("info", "unreferenced_vertices", f"{_plural(n, 'vertex', 'vertices')} used by no face", n,
            sample=sample("unreferenced_vertices"))
    if n := r["slivers"]:
        add("info", "slivers", f"{_plural(n, 'face')} with an angle under {t.sliver_angle:g}°", n,
            sample=sample("slivers"))
    if n := r["uv_outside_01"]:
        add("info", "uv_outside_01", f"{_plural(n, 'UV')} outside [0, 1] (tiling?)", n)
    return out
