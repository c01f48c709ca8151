"""Baking a full-resolution surface onto a decimated level's UV layout: a tangent-space normal map, an
ambient-occlusion map and a base-colour map, on the CPU (numba kernels in ``_kernels``).

``BakeSource(high)`` prepares the full-resolution mesh once (a uniform grid of its triangles, its
smooth normals, and lazily its per-vertex occlusion); ``source.bake(level, size)`` bakes any number of
levels from it. For every texel centre inside a triangle of the level (the level's UVs, V up: row 0 is
v = 1), the point P and smooth normal N of the level there are found, and the line P ± N·max_distance is
cast against the full-resolution surface; the intersection nearest to P, on either side, is sampled.

Conventions, chosen to match what ``llvscan.mesh.io.glb`` writes:

* **Normal map**: glTF 2.0's (OpenGL's): red +X = direction of increasing U, green +Y = up in the
  image (increasing V in llvscan's V-up UVs), blue +Z = the level's normal; a unit vector n is stored
  as ``round((n · 0.5 + 0.5) · 255)``. The frame at a texel is the level's tangent frame as the GLB
  writer's glTF vertices carry it: vertices split per (material, position, UV, normal) exactly as the
  writer splits them, normals as it writes them (the level's per-corner normals where valid, else
  ``vertex_normals``), tangents from ``llvscan.mesh.core.geometry.vertex_tangents`` on those arrays
  with the UV the writer writes (``(u, 1 − v)``); interpolated with the barycentrics, T made
  orthogonal to N, B = w · (N × T).
* **Occlusion**: 255 = unoccluded; the full-resolution mesh's per-vertex occlusion interpolated at
  the hit.
* **Base colour**: sRGB + alpha, from the hit face's material texture (``textures``, bilinear at the
  interpolated UV), else the full-resolution mesh's interpolated vertex colours, else the material's
  colour factor (converted from linear to sRGB) and opacity, else white.

Texels whose line finds no surface get a flat normal; their occlusion and base colour are filled by
the padding from neighbouring texels that found it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from llvscan._json import NOT_IN_JSON, JsonResult
from llvscan.errors import InvalidMeshError, InvalidParameterError
from llvscan.mesh.core.geometry import unit_rows, vertex_normals, vertex_tangents
from llvscan.mesh.core.types import Mesh

__all__ = ["MAP_NAMES", "BakeSource", "BakedMaps"]

log = logging.getLogger(__name__)

#: The maps ``BakeSource.bake`` can produce.
MAP_NAMES = ("normal", "occlusion", "base_colour")

_MAX_CELLS_PER_SIDE = 256
_MAX_SIZE = 16384


@dataclass(frozen=True)
class BakedMaps(JsonResult):
    """The maps baked for one level, and how much of its atlas they cover. ``to_dict`` leaves the images out."""

    size: tuple[int, int]  # (width, height)
    normal: np.ndarray | None = field(metadata=NOT_IN_JSON, repr=False, compare=False)  # (H, W, 3) uint8
    occlusion: np.ndarray | None = field(metadata=NOT_IN_JSON, repr=False, compare=False)  # (H, W) uint8
    base_colour: np.ndarray | None = field(metadata=NOT_IN_JSON, repr=False, compare=False)  # (H, W, 4) uint8
    covered: float  # fraction of texels inside some triangle of the level
    hits: float  # fraction of covered texels whose line found the full-resolution surface
    max_distance: float  # the cage distance used, in mesh units
    seconds: float


def _checked(mesh: Mesh, name: str) -> tuple[np.ndarray, np.ndarray]:
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    faces = np.asarray(mesh.faces)
    if vertices.ndim != 2 or vertices.shape[1] != 3 or faces.ndim != 2 or faces.shape[1] != 3 or not len(faces):
        raise InvalidMeshError(f"the {name} mesh needs (N, 3) vertices and at least one (M, 3) face", path=mesh.path)
    if not np.issubdtype(faces.dtype, np.integer):
        raise InvalidMeshError(f"the {name} mesh's faces must be integers, not {faces.dtype}", path=mesh.path)
    faces = faces.astype(np.int64)
    if not np.isfinite(vertices).all():
        raise InvalidMeshError(f"the {name} mesh has NaN or infinite vertices", path=mesh.path)
    if faces.min() < 0 or faces.max() >= len(vertices):
        raise InvalidMeshError(f"the {name} mesh has a face index out of range", path=mesh.path)
    return np.ascontiguousarray(vertices), np.ascontiguousarray(faces)


def _corner_index(mesh: Mesh, indices: np.ndarray | None, table: np.ndarray | None, what: str) -> np.ndarray:
    """(M, 3) per-corner indices into ``table``, -1 where a corner has none; checked."""
    if indices is None or table is None:
        return np.full((mesh.n_faces, 3), -1, dtype=np.int64)
    indices = np.asarray(indices)
    if indices.shape != (mesh.n_faces, 3) or not np.issubdtype(indices.dtype, np.integer):
        raise InvalidMeshError(f"{what} must be ({mesh.n_faces}, 3) integers, got {indices.shape}", path=mesh.path)
    if indices.size and indices.max() >= len(table):
        raise InvalidMeshError(f"{what} refers to row {int(indices.max())} but there are {len(table)}",
                               path=mesh.path)
    return np.maximum(indices.astype(np.int64), -1)


def _face_materials(mesh: Mesh) -> np.ndarray:
    """(M,) material index per face, -1 for none (every face is material 0 when the mesh has no
    ``face_material``)."""
    if mesh.face_material is None:
        return np.zeros(mesh.n_faces, dtype=np.int64)
    material = np.asarray(mesh.face_material, dtype=np.int64).reshape(-1)
    if material.shape != (mesh.n_faces,):
        raise InvalidMeshError(f"face_material must have {mesh.n_faces} entries, got {material.shape}",
                               path=mesh.path)
    return np.maximum(material, -1)


def _corner_normals(mesh: Mesh, vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The normals a GLB writer writes: (table, (M, 3) index into it): the mesh's per-corner normals where
    they are finite and not zero, else the area-weighted vertex normal of the corner's position (the
    table's rows past the mesh's own normals)."""
    own = np.zeros((0, 3))
    index = np.full((len(faces), 3), -1, dtype=np.int64)
    if mesh.normals is not None and mesh.normal_faces is not None:
        raw = np.asarray(mesh.normals, dtype=np.float64).reshape(-1, 3)
        index = _corner_index(mesh, mesh.normal_faces, raw, "normal_faces")
        length = np.linalg.norm(raw, axis=1)
        valid = np.isfinite(length) & (length > 1e-30)
        index = np.where((index >= 0) & valid[np.clip(index, 0, None)], index, -1)
        own = unit_rows(np.where(valid[:, None], raw, 0.0))
    per_vertex = unit_rows(vertex_normals(vertices, faces))
    table = np.concatenate([own, per_vertex])
    index = np.where(index >= 0, index, len(own) + faces)
    return table, index


def _grid(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, float, np.ndarray, np.ndarray, np.ndarray]:
    """A uniform grid of the triangles: cells about twice the mean triangle's side, at most 256 a side."""
    from llvscan.mesh._distance_kernels import build_grid

    used = vertices[np.unique(faces)]
    lo, hi = used.min(axis=0), used.max(axis=0)
    a, b, c = (vertices[faces[:, k]] for k in range(3))
    mean_area = float(0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1).mean())
    extent = max(float((hi - lo).max()), 1e-12)
    cell = max(2.0 * np.sqrt(mean_area), extent / _MAX_CELLS_PER_SIDE)
    dims = np.maximum(np.ceil((hi - lo) / cell).astype(np.int64), 1)
    start, items = build_grid(vertices, faces, lo.astype(np.float64), float(cell), dims)
    return lo.astype(np.float64), float(cell), dims, start, items


def _linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    linear = np.clip(linear, 0.0, 1.0)
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * np.power(linear, 1.0 / 2.4) - 0.055)


def _bilinear(image: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """(n, 4) float RGBA (0–255) of ``image`` (H, W, 3|4) at ``uv`` (V up: row 0 is v = 1), wrapping."""
    height, width = image.shape[:2]
    x = uv[:, 0] * width - 0.5
    y = (1.0 - uv[:, 1]) * height - 0.5
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    c0, r0 = x0.astype(np.int64) % width, y0.astype(np.int64) % height
    c1, r1 = (c0 + 1) % width, (r0 + 1) % height
    rgba = image if image.shape[2] == 4 else np.concatenate(
        [image, np.full((height, width, 1), 255, dtype=np.uint8)], axis=2)
    top = rgba[r0, c0].astype(np.float64) * (1 - fx) + rgba[r0, c1] * fx
    bottom = rgba[r1, c0].astype(np.float64) * (1 - fx) + rgba[r1, c1] * fx
    return top * (1 - fy) + bottom * fy


class BakeSource:
    """The full-resolution surface, prepared once (grid, smooth normals, per-vertex occlusion) and baked
    onto any number of levels.

    ``occlusion_rays`` cosine-weighted rays per vertex test the whole mesh up to ``occlusion_distance``
    (default: 25 % of the bounding-box diagonal). ``textures`` gives, per material of ``high``, its
    base-colour image as a decoded (H, W, 3|4) uint8 array (None: that material has none), addressed by
    ``high``'s UVs with V up (row 0 is v = 1).
    """

    def __init__(self, high: Mesh, *, occlusion_rays: int = 32, occlusion_distance: float | None = None,
                 textures: Sequence[np.ndarray | None] | None = None,
                 grid: tuple[np.ndarray, float, np.ndarray, np.ndarray, np.ndarray] | None = None) -> None:
        """``grid``: the uniform grid of ``high``'s triangles when one is built already (a ``DistanceMeter``
        of ``high`` has the same one: ``meter.grid.arrays``); else it is built here."""
        if not (isinstance(occlusion_rays, int | np.integer) and 1 <= occlusion_rays <= 4096):
            raise InvalidParameterError(f"occlusion_rays must be an integer in 1…4096, not {occlusion_rays!r}")
        self.high = high
        self.vertices, self.faces = _checked(high, "full-resolution")
        used = self.vertices[np.unique(self.faces)]
        self.diagonal = float(np.linalg.norm(used.max(axis=0) - used.min(axis=0))) or 1.0
        if occlusion_distance is None:
            occlusion_distance = 0.25 * self.diagonal
        if not (np.isfinite(occlusion_distance) and occlusion_distance > 0):
            raise InvalidParameterError(f"occlusion_distance must be positive, not {occlusion_distance!r}")
        self.occlusion_rays = int(occlusion_rays)
        self.occlusion_distance = float(occlusion_distance)
        table, index = _corner_normals(high, self.vertices, self.faces)
        self.corner_normals = np.ascontiguousarray(table[index])  # (M, 3, 3)
        self.textures = self._textures(textures)
        self.material = _face_materials(high)
        self.grid = _grid(self.vertices, self.faces) if grid is None else self._checked_grid(grid)

    def _checked_grid(self, grid: tuple[np.ndarray, float, np.ndarray, np.ndarray, np.ndarray]
                      ) -> tuple[np.ndarray, float, np.ndarray, np.ndarray, np.ndarray]:
        lo, cell, dims, start, items = grid
        if (np.shape(lo) != (3,) or np.shape(dims) != (3,) or not cell > 0
                or len(start) != int(np.prod(dims)) + 1 or (len(items) and int(items.max()) >= len(self.faces))):
            raise InvalidParameterError("grid is not a uniform grid of this mesh's triangles")
        return grid

    def _textures(self, textures: Sequence[np.ndarray | None] | None) -> list[np.ndarray | None]:
        out: list[np.ndarray | None] = []
        for m, image in enumerate(textures or ()):
            if image is None:
                out.append(None)
                continue
            image = np.asarray(image)
            if image.ndim != 3 or image.shape[2] not in (3, 4) or image.dtype != np.uint8 or not image.size:
                raise InvalidParameterError(f"textures[{m}] must be an (H, W, 3|4) uint8 image, got "
                                            f"{image.shape} {image.dtype}")
            out.append(image)
        if len(out) > max(len(self.high.materials), 1):
            raise InvalidParameterError(f"{len(out)} textures for {len(self.high.materials)} materials",
                                        path=self.high.path)
        return out

    @cached_property
    def vertex_normals(self) -> np.ndarray:
        """(N, 3) area-weighted unit vertex normals of the full-resolution mesh (zero where none)."""
        return vertex_normals(self.vertices, self.faces)

    @cached_property
    def vertex_occlusion(self) -> np.ndarray:
        """(N, ) unoccluded fraction of the cosine-weighted hemisphere at every vertex (1: nothing within
        ``occlusion_distance``); computed on first use and shared by every level."""
        from llvscan.mesh.bake import _kernels as bk

        lo, cell, dims, start, items = self.grid
        offset = 1e-5 * self.diagonal
        return bk.vertex_occlusion(self.vertices, np.ascontiguousarray(self.vertex_normals), lo, cell, dims, start,
                                   items, self.faces, self.occlusion_rays, self.occlusion_distance, offset)

    def default_max_distance(self, low: Mesh) -> float:
        """The cage distance used when ``bake`` is given none: twice the largest deviation between the level
        and this surface, at least 0.5 % and at most 10 % of this surface's bounding-box diagonal. The
        deviation is found cheaply, both ways: from the level's vertices and face centroids to this surface,
        and from this surface's vertices (every k-th, at most 100,000) to the level."""
        from llvscan.mesh._distance_kernels import closest_points

        vertices, faces = _checked(low, "level")
        points = np.concatenate([vertices[np.unique(faces)], vertices[faces].mean(axis=1)])
        used = np.unique(self.faces)
        back = self.vertices[used[:: max(1, len(used) // 100_000)]]
        deviation = 0.0
        for grid, mesh_vertices, mesh_faces, query in ((self.grid, self.vertices, self.faces, points),
                                                       (_grid(vertices, faces), vertices, faces, back)):
            lo, cell, dims, start, items = grid
            distance, _, _ = closest_points(np.ascontiguousarray(query), mesh_vertices, mesh_faces, lo, cell, dims,
                                            start, items, np.empty((0, 2)), np.empty((0, 3, 2)), np.empty((0, 2)),
                                            1e-9 * cell)
            deviation = max(deviation, float(distance.max()))
        return float(np.clip(2.0 * deviation, 0.005 * self.diagonal, 0.1 * self.diagonal))

    def bake(self, low: Mesh, size: int | tuple[int, int], *, maps: Sequence[str] = ("normal", "occlusion"),
             material: int | None = None, max_distance: float | None = None, padding: int = 8) -> BakedMaps:
        """Bake ``maps`` (any of ``normal``, ``occlusion``, ``base_colour``) onto ``low``'s UV layout at
        ``size`` (texels a side, or (width, height)); only the faces of ``material`` when given.
        ``max_distance`` (default ``default_max_distance(low)``) bounds how far along the level's normal,
        either side, the surface is sought. ``padding`` texels are grown outward from the baked texels,
        the rest filled with their mean.

        Raises ``InvalidMeshError`` for a level without UVs or with bad data, ``InvalidParameterError``
        for impossible options.
        """
        from llvscan.mesh.bake import _kernels as bk

        started = time.perf_counter()
        width, height = self._size(size)
        wanted = tuple(maps)
        unknown = [m for m in wanted if m not in MAP_NAMES]
        if unknown or not wanted:
            raise InvalidParameterError(f"maps must name some of {', '.join(MAP_NAMES)}, not {list(wanted)}")
        if not isinstance(padding, int | np.integer) or padding < 0:
            raise InvalidParameterError(f"padding must be an integer ≥ 0, not {padding!r}")
        if max_distance is not None and not (np.isfinite(max_distance) and max_distance > 0):
            raise InvalidParameterError(f"max_distance must be positive, not {max_distance!r}")
        level = _Level(low)
        rows = level.rows(material)
        if max_distance is None:
            max_distance = self.default_max_distance(low)

        corner_px = level.corner_uv[rows] * np.array([width, -height]) + np.array([0.0, height])
        texel_face, texel_bary = bk.rasterise(np.ascontiguousarray(corner_px), width, height)
        covered = np.flatnonzero(texel_face >= 0)
        occlusion = self.vertex_occlusion if "occlusion" in wanted else np.empty(0)
        lo, cell, dims, start, items = self.grid
        hit, hit_bary, local, occluded = bk.bake_texels(
            rows[texel_face[covered]], texel_bary[covered], level.vertices, level.faces, level.corner_normals,
            level.corner_tangents, float(max_distance), lo, cell, dims, start, items, self.vertices, self.faces,
            self.corner_normals, occlusion)
        found = hit >= 0

        n_texels = width * height
        is_covered = texel_face >= 0
        is_hit = np.zeros(n_texels, dtype=bool)
        is_hit[covered[found]] = True
        out: dict[str, np.ndarray | None] = dict.fromkeys(MAP_NAMES)
        if "normal" in wanted:
            values = np.zeros((n_texels, 3), dtype=np.float32)
            values[:, 2] = 1.0
            values[covered] = local
            out["normal"] = self._finish(values, is_covered, height, width, padding, lambda v: (v * 0.5 + 0.5) * 255)
        if "occlusion" in wanted:
            values = np.ones((n_texels, 1), dtype=np.float32)
            values[covered, 0] = occluded
            out["occlusion"] = self._finish(values, is_hit, height, width, padding, lambda v: v * 255)[..., 0]
        if "base_colour" in wanted:
            values = np.full((n_texels, 4), 255.0, dtype=np.float32)
            values[covered[found]] = self._colours(hit[found], hit_bary[found])
            out["base_colour"] = self._finish(values, is_hit, height, width, padding, lambda v: v)
        return BakedMaps(size=(width, height), normal=out["normal"], occlusion=out["occlusion"],
                         base_colour=out["base_colour"], covered=float(len(covered) / n_texels),
                         hits=float(found.sum() / max(len(covered), 1)), max_distance=float(max_distance),
                         seconds=round(time.perf_counter() - started, 4))

    @staticmethod
    def _size(size: int | tuple[int, int]) -> tuple[int, int]:
        pair = (size, size) if isinstance(size, int | np.integer) else tuple(size) if isinstance(size, tuple) else ()
        if (len(pair) != 2 or not all(isinstance(s, int | np.integer) for s in pair)
                or not all(1 <= s <= _MAX_SIZE for s in pair)):
            raise InvalidParameterError(f"size must be 1…{_MAX_SIZE} texels a side, or (width, height), not {size!r}")
        return int(pair[0]), int(pair[1])

    def _colours(self, hit_face: np.ndarray, hit_bary: np.ndarray) -> np.ndarray:
        """(n, 4) sRGB + alpha (0–255) of the full-resolution surface at the hits."""
        high = self.high
        out = np.empty((len(hit_face), 4))
        material = self.material[hit_face]
        corner_uv = high.corner_uv
        done = np.zeros(len(hit_face), dtype=bool)
        for m, image in enumerate(self.textures):
            if image is None or corner_uv is None:
                continue
            mine = (material == m) & ~done
            uv = np.einsum("nk,nkd->nd", hit_bary[mine], corner_uv[hit_face[mine]])
            ok = np.isfinite(uv).all(axis=1)
            index = np.flatnonzero(mine)[ok]
            out[index] = _bilinear(image, uv[ok])
            done[index] = True
        rest = ~done
        if high.vertex_colors is not None and rest.any():
            colours = np.asarray(high.vertex_colors)
            if colours.ndim != 2 or colours.shape[0] != len(self.vertices) or colours.shape[1] not in (3, 4):
                raise InvalidMeshError(f"vertex_colors must be ({len(self.vertices)}, 4) bytes, got "
                                       f"{colours.shape}", path=high.path)
            if colours.shape[1] == 3:
                colours = np.concatenate([colours, np.full((len(colours), 1), 255, colours.dtype)], axis=1)
            out[rest] = np.einsum("nk,nkd->nd", hit_bary[rest],
                                  colours[self.faces[hit_face[rest]]].astype(np.float64))
            rest[:] = False
        if rest.any():
            factors = np.full((len(high.materials) + 1, 4), 255.0)  # the last row: no material
            for m, mat in enumerate(high.materials):
                if mat.color is not None:
                    factors[m, :3] = 255.0 * _linear_to_srgb(np.asarray(mat.color, dtype=np.float64)[:3])
                factors[m, 3] = 255.0 * float(np.clip(np.nan_to_num(mat.opacity, nan=1.0), 0.0, 1.0))
            known = (material[rest] >= 0) & (material[rest] < len(high.materials))
            out[rest] = factors[np.where(known, material[rest], len(high.materials))]
        return out

    @staticmethod
    def _finish(values: np.ndarray, valid: np.ndarray, height: int, width: int, padding: int,
                encode: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """Pad, fill the rest with the mean of the valid texels, encode to bytes."""
        from llvscan.mesh.bake import _kernels as bk

        channels = values.shape[1]
        image = np.ascontiguousarray(values.reshape(height, width, channels))
        mask = valid.reshape(height, width)
        mean = image[mask].mean(axis=0) if mask.any() else image.reshape(-1, channels).mean(axis=0)
        grown = bk.dilate(image, mask, int(padding))
        image[~grown] = mean
        return np.clip(np.rint(encode(image)), 0, 255).astype(np.uint8)


def _distinct_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of a (C, k) array of non-negative integers, and the inverse mapping; one int64 key per
    row (a fast 1-D sort) when the ranges allow."""
    span = [int(x) + 1 for x in rows.max(axis=0)]
    if int(np.prod(np.array(span, dtype=object))) < 2**62:
        key = np.zeros(len(rows), dtype=np.int64)
        for column, radix in zip(rows.T, span, strict=True):
            key = key * radix + column
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        return rows[first], inverse.reshape(-1)
    unique, inverse = np.unique(rows, axis=0, return_inverse=True)
    return unique, inverse.reshape(-1)


class _Level:
    """A level's arrays as the baker needs them, and its glTF vertex frame (normals, tangents) per corner."""

    def __init__(self, low: Mesh) -> None:
        self.mesh = low
        self.vertices, self.faces = _checked(low, "level")
        if low.uv is None or low.uv_faces is None:
            raise InvalidMeshError("the level has no UVs to bake onto: unwrap it first", path=low.path)
        uv = np.asarray(low.uv, dtype=np.float64).reshape(-1, 2)
        uv_index = _corner_index(low, low.uv_faces, uv, "uv_faces")
        has_uv = (uv_index >= 0).all(axis=1)
        corner_uv = uv[np.clip(uv_index, 0, None)]
        has_uv &= np.isfinite(corner_uv).all(axis=(1, 2))
        if not has_uv.any():
            raise InvalidMeshError("no face of the level has UVs on all three corners", path=low.path)
        self.has_uv = has_uv
        self.corner_uv = np.where(has_uv[:, None, None], corner_uv, 0.0)
        table, normal_index = _corner_normals(low, self.vertices, self.faces)
        self.corner_normals = table[normal_index]
        self.material = self._writer_material(low)
        self.corner_tangents = self._tangents(uv, uv_index, table, normal_index)

    def _writer_material(self, low: Mesh) -> np.ndarray:
        """The primitive each face goes to in a GLB (its material; -1 for none)."""
        if low.face_material is None or not len(low.materials):
            return np.full(len(self.faces), -1, dtype=np.int64)
        return _face_materials(low)

    def _tangents(self, uv: np.ndarray, uv_index: np.ndarray, normals: np.ndarray,
                  normal_index: np.ndarray) -> np.ndarray:
        """(M, 3, 4) glTF tangents per corner: one glTF vertex per distinct (primitive, position, UV, normal),
        as the GLB writer splits them, its tangent from ``vertex_tangents`` with the UV the writer writes."""
        corners = np.stack([self.material.repeat(3) + 1, self.faces.reshape(-1), uv_index.reshape(-1) + 1,
                            normal_index.reshape(-1)], axis=1)
        unique, inverse = _distinct_rows(corners)
        inverse = inverse.reshape(-1, 3)
        t = unique[:, 2] - 1
        texcoord = np.where((t >= 0)[:, None], uv[np.clip(t, 0, None)], 0.0)
        texcoord = np.nan_to_num(texcoord)
        texcoord[:, 1] = 1.0 - texcoord[:, 1]
        tangents = vertex_tangents(self.vertices[unique[:, 1]], inverse, texcoord, normals[unique[:, 3]])
        return tangents[inverse]

    def rows(self, material: int | None) -> np.ndarray:
        """The faces to bake: those with UVs (and of ``material`` when given)."""
        keep = self.has_uv.copy()
        if material is not None:
            if not isinstance(material, int | np.integer):
                raise InvalidParameterError(f"material must be an integer index, not {material!r}")
            keep &= _face_materials(self.mesh) == material
            if not keep.any():
                raise InvalidParameterError(f"the level has no face of material {material} with UVs",
                                            path=self.mesh.path)
        return np.flatnonzero(keep)
