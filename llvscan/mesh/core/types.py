"""The mesh types every layer shares: ``Mesh`` (arrays, per-corner UVs and normals), ``Material`` with its
``TextureMap``s, and the ``ReadProblem``s a reader met but read past (a missing MTL, texture or buffer).

A texture is named by ``texture`` (a file path, or ``"<mesh file>#<where>"`` for an image stored inside
the mesh file) and, when it is not a file of its own, carried as its encoded bytes (``texture_data``):
every layer reads either the same way (``llvscan.mesh.core.texture.texture_source``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from llvscan._json import NOT_IN_JSON, JsonResult

__all__ = ["MAP_SLOTS", "Material", "Mesh", "ReadProblem", "TextureMap"]

#: The texture slots of a material besides the base colour, as glTF names them.
MAP_SLOTS = ("normal", "occlusion", "emissive", "metallic_roughness")


@dataclass(frozen=True)
class TextureMap(JsonResult):
    """A texture of a material besides its base colour (a normal, occlusion, emissive or
    metallic-roughness map): where it comes from, and its encoded bytes when it is not a file."""

    slot: str  # one of MAP_SLOTS
    uri: str  # a file path, or "<mesh file>#<where>" for an image inside the mesh file
    data: bytes | None = field(default=None, repr=False, compare=False, metadata=NOT_IN_JSON)
    size: tuple[int, int] | None = None
    scale: float = 1.0  # normalTexture.scale / occlusionTexture.strength


@dataclass(frozen=True)
class Material(JsonResult):
    """A material: base colour (factor and texture), alpha, sidedness, and its other texture maps."""

    name: str
    texture: str | None = None  # the base-colour texture: a file path, or "<mesh file>#<where>" when embedded
    texture_size: tuple[int, int] | None = None  # as the reader found it; files are checked again later
    color: tuple[float, float, float] | None = None  # base-colour factor (linear RGB, as glTF) or MTL Kd
    texture_data: bytes | None = field(default=None, repr=False, compare=False, metadata=NOT_IN_JSON)
    opacity: float = 1.0  # base-colour factor alpha
    alpha_mode: str = "OPAQUE"  # OPAQUE | MASK | BLEND
    alpha_cutoff: float = 0.5
    double_sided: bool = False
    maps: tuple[TextureMap, ...] = ()
    emissive: tuple[float, float, float] | None = None
    metallic: float | None = None
    roughness: float | None = None


@dataclass(frozen=True)
class ReadProblem(JsonResult):
    """Something a reader met and read past: the mesh is still read, and validation reports it as an
    error finding under ``code`` (``missing_mtl``, ``missing_texture``, ``missing_buffer``,
    ``unsupported_extension``, ``skipped_primitives``, ``unsafe_reference``…)."""

    code: str
    message: str
    path: str | None = None  # the file the problem is about (a missing MTL, a texture), when there is one


@dataclass(frozen=True, eq=False)
class Mesh:
    """A triangle mesh as arrays.

    ``vertices``/``faces`` index positions as the file stores them (an OBJ's ``v``; formats that store
    per-vertex UVs split positions along seams). UVs and normals are indexed per corner:
    ``uv[uv_faces[f, k]]`` is the UV of corner ``k`` of face ``f`` (``-1``: none), which keeps the UV
    seams explicit; ``split_by_uv`` gives the render-ready vertex splitting.
    """

    vertices: np.ndarray  # (N, 3) float64
    faces: np.ndarray  # (M, 3) int64
    uv: np.ndarray | None = None  # (K, 2) float64
    uv_faces: np.ndarray | None = None  # (M, 3) int, -1 where a corner has no UV
    normals: np.ndarray | None = None  # (L, 3) float64
    normal_faces: np.ndarray | None = None  # (M, 3) int, -1 where a corner has no normal
    vertex_colors: np.ndarray | None = None  # (N, 4) uint8
    materials: tuple[Material, ...] = ()
    face_material: np.ndarray | None = None  # (M,) int, index into materials, -1 for none
    units: str | None = None  # "mm", "cm", "m", "in", or None when undeclared
    path: str | None = None
    format: str | None = None
    dropped_faces: int = 0  # faces that named a missing vertex/UV/normal (OBJ), left out
    dropped_face_lines: tuple[int, ...] = field(default=())  # their first line numbers
    problems: tuple[ReadProblem, ...] = ()  # what the reader met and read past (missing MTL, texture…)

    @property
    def n_vertices(self) -> int:
        return int(self.vertices.shape[0])

    @property
    def n_faces(self) -> int:
        return int(self.faces.shape[0])

    @property
    def textures(self) -> tuple[str, ...]:
        return tuple(m.texture for m in self.materials if m.texture)

    @property
    def corner_uv(self) -> np.ndarray | None:
        """(M, 3, 2) UV of every corner (NaN where a corner has none)."""
        if self.uv is None or self.uv_faces is None:
            return None
        out = self.uv[np.clip(self.uv_faces, 0, None)]
        out[self.uv_faces < 0] = np.nan
        return out

    def split_by_uv(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Render-ready arrays: one vertex per distinct (position, UV) pair. Returns (vertices, faces, uv)."""
        if self.uv is None or self.uv_faces is None:
            return self.vertices, self.faces, None
        pairs = np.stack([self.faces.reshape(-1), self.uv_faces.reshape(-1)], axis=1).astype(np.int64)
        unique, inverse = np.unique(pairs, axis=0, return_inverse=True)
        uv = np.where(unique[:, 1:2] >= 0, self.uv[np.clip(unique[:, 1], 0, None)], np.nan)
        return self.vertices[unique[:, 0]], inverse.reshape(-1, 3), uv
