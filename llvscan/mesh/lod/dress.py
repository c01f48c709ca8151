"""What a level carries besides its geometry: maps baked from the full-resolution mesh, and, for low
levels of many-chart atlases, a fresh atlas with the base colour baked onto it.

A level's maps are baked (``llvscan.mesh.bake``) at its texture size, at most ``BAKE_MAX`` texels a side
(levels sharing a mesh share one bake: Voyager's Low, Medium and High take theirs from one 1024² bake);
the maps are written in the level's texture format (a JPEG normal map at quality 90 or more), as
Smithsonian's Cook writes its web derivatives.

Whether a level gets a fresh atlas (``unwrap``): ``True`` always, ``False`` never, ``"auto"`` when the
level is decimated to at most ``AUTO_UNWRAP_MAX_FACES`` faces and either the scan's atlas has so many
charts that keeping every chart's border would take a twentieth of the level's faces or more, or the
scan has no atlas at all and the level asks for baked maps (a scan with vertex colours then gets a
texture). Such a level is decimated without seams (the atlas is thrown away), unwrapped by xatlas, and
its base colour, normal and occlusion are baked from the full-resolution textured surface — what
Smithsonian's Cook does with commercial tools.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from llvscan.errors import ImageReadError, InvalidMeshError, vips_error_text
from llvscan.mesh.core.texture import TextureSource, resample_texture
from llvscan.mesh.core.types import Material, Mesh, TextureMap
from llvscan.mesh.lod.recipe import LodLevel

__all__ = ["AUTO_UNWRAP_MAX_FACES", "BAKE_MAX", "CHARTS_PER_FACE", "Baker", "dress", "strip_atlas", "wants_unwrap"]

#: The largest map a level bakes, texels a side (its texture may be larger: the colour is resampled).
BAKE_MAX = 1024
#: ``unwrap = "auto"`` leaves levels above this many faces their seams (xatlas takes ~3 s for 20k faces).
AUTO_UNWRAP_MAX_FACES = 60_000
#: ``unwrap = "auto"`` unwraps a level with fewer than this many faces per chart of the scan's atlas.
CHARTS_PER_FACE = 1 / 20


def wants_unwrap(level: LodLevel, target: int, faces_in: int, charts: int, has_atlas: bool) -> bool:
    """Whether ``level`` (``target`` faces of a ``faces_in``-face scan whose atlas has ``charts``) gets a
    fresh atlas (see the module docstring)."""
    if level.format != "glb" or target >= faces_in or level.unwrap is False:
        return False
    if level.unwrap is True:
        return True
    if target > AUTO_UNWRAP_MAX_FACES:
        return False
    return charts > CHARTS_PER_FACE * target if has_atlas else bool(level.bake)


def strip_atlas(mesh: Mesh) -> Mesh:
    """``mesh`` without what ties decimation to the atlas (UVs, materials, vertex colours, normals): a
    level to be unwrapped afresh is decimated on its geometry alone."""
    return replace(mesh, uv=None, uv_faces=None, normals=None, normal_faces=None, vertex_colors=None,
                   materials=(), face_material=None)


@dataclass
class _Bake:
    maps: dict[int, dict[str, bytes]]  # material → slot (normal, occlusion, base_colour) → PNG bytes
    seconds: float


class Baker:
    """The full-resolution mesh prepared once (``BakeSource``, and its textures decoded for colour bakes
    when a level needs them); ``bake(level_mesh, …)`` gives each material's maps as PNG bytes."""

    def __init__(self, mesh: Mesh, textures: Sequence[TextureSource | None], notes: list[str], *,
                 grid: tuple | None = None) -> None:
        self.mesh, self._textures, self._notes = mesh, list(textures), notes
        self._grid = grid  # the mesh's triangle grid when built already (``DistanceMeter.grid.arrays``)
        self._source = None
        self._colour = False

    def _prepared(self, colour: bool):  # a BakeSource, rebuilt once if colour is needed later
        from llvscan.mesh.bake import BakeSource

        if self._source is None or (colour and not self._colour):
            decoded = [self._decode(i, t) for i, t in enumerate(self._textures)] if colour else None
            self._source, self._colour = BakeSource(self.mesh, textures=decoded, grid=self._grid), colour
        return self._source

    def _decode(self, index: int, source: TextureSource | None) -> np.ndarray | None:
        """A material's base colour as (H, W, 3|4) uint8 sRGB, at most 4096 a side (under the pixel limit)."""
        import pyvips

        if source is None:
            return None
        try:
            image = resample_texture(source, 4096, to_srgb=True, name=self.mesh.materials[index].texture)
            if image.format != "uchar":
                image = image.cast("uchar")
            if image.bands in (1, 2):
                image = image.colourspace("srgb")
            return np.ascontiguousarray(image.numpy()[..., :4])
        except (pyvips.Error, ImageReadError) as exc:
            detail = vips_error_text(exc) if isinstance(exc, pyvips.Error) else str(exc)
            self._notes.append(f"material {self.mesh.materials[index].name!r}: its texture cannot be decoded for "
                               f"baking ({detail}); the baked colour uses its other colours")
            return None

    def bake(self, level_mesh: Mesh, size: int, maps: Sequence[str], label: str,
             max_distance: float | None = None) -> _Bake:
        started = time.perf_counter()
        wanted = tuple(maps)
        source = self._prepared("base_colour" in wanted)
        if level_mesh.face_material is None:
            materials: list[int | None] = [None]
        else:
            materials = [int(m) for m in np.unique(level_mesh.face_material) if m >= 0]
        out: dict[int, dict[str, bytes]] = {}
        for material in materials:
            try:
                baked = source.bake(level_mesh, size, maps=wanted, material=material, max_distance=max_distance)
            except InvalidMeshError as exc:
                which = "" if material is None else f" (material {level_mesh.materials[material].name!r})"
                self._notes.append(f"level {label!r}{which}: not baked: {exc}")
                continue
            images = {"normal": baked.normal, "occlusion": baked.occlusion, "base_colour": baked.base_colour}
            out[material or 0] = {slot: _png(image) for slot, image in images.items() if image is not None}
        return _Bake(out, round(time.perf_counter() - started, 3))


def _png(image: np.ndarray) -> bytes:
    """An (H, W[, C]) uint8 array as PNG bytes (an opaque RGBA image as RGB)."""
    import pyvips

    if image.ndim == 3 and image.shape[2] == 4 and (image[..., 3] == 255).all():
        image = image[..., :3]
    # lossless and quick: these bytes are resampled and encoded again for each level
    data: bytes = pyvips.Image.new_from_array(np.ascontiguousarray(image)).pngsave_buffer(compression=1)
    return data


def dress(level_mesh: Mesh, baked: dict[int, dict[str, bytes]], label: str) -> Mesh:
    """``level_mesh`` with its baked maps as the materials' own (``TextureMap``s and base-colour bytes), so
    the writers, the renderer and the fidelity meter all see what the level carries."""
    if not baked:
        return level_mesh
    materials = list(level_mesh.materials) or [Material("baked")]
    for index, slots in baked.items():
        material = materials[index]
        kept = tuple(t for t in material.maps if t.slot not in slots)
        added = tuple(TextureMap(slot, f"{label}#{slot}", data) for slot, data in slots.items()
                      if slot != "base_colour")
        material = replace(material, maps=kept + added)
        if "base_colour" in slots:  # the bake holds the colour factor and the texture together
            material = replace(material, texture=f"{label}#base_colour", texture_data=slots["base_colour"],
                               texture_size=None, color=None)
        materials[index] = material
    face_material = level_mesh.face_material
    if face_material is None:
        face_material = np.zeros(level_mesh.n_faces, dtype=np.int64)
    return replace(level_mesh, materials=tuple(materials), face_material=face_material)
