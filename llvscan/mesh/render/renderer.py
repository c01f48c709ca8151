"""Thumbnails of 3D scans without a GPU: a numba software rasteriser.

``render_mesh`` draws a ``Mesh`` with a z-buffer and a perspective camera that frames the mesh's bounding
sphere (centre: the middle of the bounding box of the vertices the faces use; radius: the farthest such
vertex). The camera looks at the centre from ``azimuth`` degrees around the up axis and ``elevation``
degrees above the horizon, at the distance ``radius / sin(fov / 2)``, so the sphere just fits the frame:

* ``up="y"``: azimuth 0 looks from +Z towards -Z, azimuth 90 from +X; +Y is up on screen.
* ``up="z"`` (many scanners): azimuth 0 looks from -Y towards +Y, azimuth 90 from +X; +Z is up.

Both sides of every triangle are drawn (scans are often open shells: culling back faces would show
holes) and lit alike: two-sided Lambert, ``0.3 + 0.7 * |n·l|``, with one key light at the camera, a
little above and to the left of it. Normals are the area-weighted vertex normals computed from the
geometry (the file's normals are not trusted), or the face normals with ``smooth=False``. Colour comes
from, in order: the face's material texture (read with pyvips, shrunk on load to ``max_texture``), the
vertex colours, the material's colour, light grey. A material's normal map replaces the interpolated
normal in the tangent frame glTF defines (tangents computed as ``vertex_tangents`` computes them for a
GLB writer), and its occlusion map darkens the ambient term, so a level with baked maps is drawn as a
viewer draws it. Lighting multiplies the sRGB values directly: this
is a thumbnail, not a physically based render. Triangles with a corner nearer than the near plane are
skipped whole (the framing camera never needs it, but it keeps the rasteriser finite).

Edges are smoothed by ``supersample``: the image is rendered ``supersample`` times larger (at most 8192
pixels a side) and box-filtered down. The output is byte-identical run to run.
"""

from __future__ import annotations

import io
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from llvscan._constants import UP_AXES
from llvscan.errors import ImageReadError, InvalidMeshError, InvalidParameterError, vips_error_text
from llvscan.mesh.core.geometry import vertex_normals
from llvscan.mesh.core.texture import resample_texture, texture_source
from llvscan.mesh.core.types import Material, Mesh

__all__ = ["MAX_SIZE", "MIN_SIZE", "render_mesh", "render_turntable", "save_thumbnail"]

log = logging.getLogger(__name__)

MIN_SIZE = 16
MAX_SIZE = 8192
_MAX_STRIP = 65536  # widest turntable strip, in pixels
_AMBIENT = 0.3
_LIGHT_OFFSET = (-0.3, 0.4)  # key light direction: towards the camera, plus this much left (-right) and up


@dataclass(frozen=True, eq=False)
class _Scene:
    """Arrays the kernels draw, prepared once per mesh (shared by the frames of a turntable)."""

    vertices: np.ndarray  # (N, 3) float64
    faces: np.ndarray  # (M, 3) int64
    normals: np.ndarray  # (N, 3) float64, or (0, 3) for flat shading
    uv: np.ndarray  # (K, 2) float64, or (0, 2)
    uv_faces: np.ndarray  # (M, 3) int64, or (0, 3)
    colors: np.ndarray  # (N, C≥3) uint8, or (0, 3)
    face_slot: np.ndarray  # (M,) int64: index into the slot tables
    slot_texture: np.ndarray  # (S, 3) int64: offset into tex_data, height, width (offset -1: none)
    slot_color: np.ndarray  # (S, 3) float64, 0..255, NaN: none
    tex_data: np.ndarray  # (T,) uint8: the textures and maps, row-major RGB, one after another
    slot_normal: np.ndarray  # (S, 3) int64: the slot's normal map in tex_data (offset -1: none)
    slot_occlusion: np.ndarray  # (S, 3) int64: the slot's occlusion map in tex_data (offset -1: none)
    corner_tangent: np.ndarray  # (M, 3, 4) float64 glTF tangents per corner, or (0, 3, 4) without normal maps
    centre: np.ndarray  # (3,) float64
    radius: float


def _fail(mesh: Mesh, message: str) -> InvalidParameterError:
    """An impossible option (size, view, texture array): a usage error."""
    return InvalidParameterError(message, path=mesh.path or "<mesh>")


def _bad_mesh(mesh: Mesh, message: str) -> InvalidMeshError:
    """Mesh data that cannot be rendered (NaN vertices, indices out of range): a data error."""
    return InvalidMeshError(message, path=mesh.path or "<mesh>")


def _check_size(mesh: Mesh, name: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not lo <= value <= hi:
        raise _fail(mesh, f"{name} must be an integer from {lo} to {hi}, got {value!r}")
    return int(value)


def _check_view(mesh: Mesh, azimuth: float, elevation: float, fov: float, up: str,
                background: Any) -> tuple[float, float, float, np.ndarray]:
    if up not in UP_AXES:
        raise _fail(mesh, f"up must be 'y' or 'z', got {up!r}")
    try:
        azimuth, elevation, fov = float(azimuth), float(elevation), float(fov)
        bg = np.asarray(background, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise _fail(mesh, "azimuth, elevation and fov must be numbers, background three numbers") from exc
    if not (math.isfinite(azimuth) and math.isfinite(elevation) and -90.0 <= elevation <= 90.0):
        raise _fail(mesh, f"azimuth must be finite and elevation within -90..90 degrees, got {azimuth!r}, "
                          f"{elevation!r}")
    if not 1.0 <= fov <= 120.0:
        raise _fail(mesh, f"fov must be within 1..120 degrees, got {fov!r}")
    if bg.shape != (3,) or not np.all((bg >= 0) & (bg <= 255)) or not np.all(bg == np.round(bg)):
        raise _fail(mesh, f"background must be three integers 0..255 (R, G, B), got {background!r}")
    return azimuth, elevation, fov, bg.astype(np.uint8)


def _geometry(mesh: Mesh) -> tuple[np.ndarray, np.ndarray]:
    vertices = np.ascontiguousarray(mesh.vertices, dtype=np.float64)
    faces = np.ascontiguousarray(mesh.faces, dtype=np.int64)
    if vertices.ndim != 2 or vertices.shape[1] != 3 or faces.ndim != 2 or faces.shape[1] != 3:
        raise _bad_mesh(mesh, f"cannot render: vertices must be (N, 3) and faces (M, 3), got {vertices.shape} and "
                        f"{faces.shape}")
    if faces.shape[0] == 0 or vertices.shape[0] == 0:
        raise _bad_mesh(mesh, f"cannot render an empty mesh ({vertices.shape[0]} vertices, {faces.shape[0]} faces)")
    if faces.shape[0] >= 2**31:
        raise _bad_mesh(mesh, f"cannot render {faces.shape[0]:,} faces: the limit is 2³¹ - 1")
    if faces.min() < 0 or faces.max() >= vertices.shape[0]:
        raise _bad_mesh(mesh, f"a face refers to vertex {int(faces.max())} but the mesh has {vertices.shape[0]} "
                        "vertices")
    if not np.isfinite(vertices).all():
        bad = int(np.count_nonzero(~np.isfinite(vertices).all(axis=1)))
        raise _bad_mesh(mesh, f"cannot render: {bad} vertices have NaN or infinite coordinates (repair the mesh first)")
    return vertices, faces


def _load_texture(material: Material, mesh: Mesh, max_texture: int) -> np.ndarray | None:
    """A material's base-colour texture (a file, or the bytes a glTF carried) as (H, W, 3) uint8 sRGB, its
    longer side at most ``max_texture``; None when there is no texture to read (logged)."""
    return _load_image(texture_source(material), material.texture or "<image>", mesh, max_texture, colour=True)


def _load_image(source: str | Path | bytes | None, path: str, mesh: Mesh, max_texture: int, *,
                colour: bool) -> np.ndarray | None:
    """An image as (H, W, 3) uint8: a colour texture in sRGB, a data map (normal, occlusion) with its
    values as they are; None when there is no image to read (logged)."""
    if source is None:
        return None
    if not isinstance(source, bytes) and not Path(source).is_file():
        log.warning("%s: texture %s not found; rendering without it", mesh.path or "<mesh>", path)
        return None
    import pyvips

    # under the pixel limit of image masters; never decoded at full size
    image = resample_texture(source, max_texture, owner=mesh.path or "the mesh", name=path, to_srgb=colour)
    try:
        if image.hasalpha():
            image = image.extract_band(0, n=image.bands - 1)
        if colour and (image.interpretation != "srgb" or image.format != "uchar"):
            image = image.colourspace("srgb")
        if image.bands == 1:
            image = image.bandjoin([image, image])
        array = np.ascontiguousarray(image.cast("uchar").numpy()[:, :, :3])
    except pyvips.Error as exc:
        raise ImageReadError(f"cannot decode the texture of {mesh.path or 'the mesh'}", path=path,
                             detail=vips_error_text(exc)) from exc
    if array.ndim != 3 or array.shape[2] != 3:
        raise ImageReadError(f"texture of {mesh.path or 'the mesh'} has {image.bands} bands, not RGB", path=path)
    return array


def _check_texture(mesh: Mesh, texture: Any) -> np.ndarray:
    array = np.asarray(texture)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3 or min(array.shape[:2]) < 1:
        raise _fail(mesh, f"texture must be an (H, W, 3) uint8 array, got {array.dtype} {array.shape}")
    return np.ascontiguousarray(array)


def _colour_tables(mesh: Mesh, n_faces: int, texture: Any, max_texture: int):
    """Per-face slot index, and per slot: texture location and colour. Slot ``len(materials)`` is for faces
    without a material."""
    n_materials = len(mesh.materials)
    slots = n_materials + 1
    if mesh.face_material is None:
        face_slot = np.full(n_faces, 0 if n_materials else n_materials, dtype=np.int64)
    else:
        material = np.asarray(mesh.face_material, dtype=np.int64).reshape(-1)
        if material.shape[0] != n_faces:
            raise _bad_mesh(mesh, f"face_material has {material.shape[0]} entries for {n_faces} faces")
        face_slot = np.where((material >= 0) & (material < n_materials), material, n_materials)
    slot_color = np.full((slots, 3), np.nan)
    for s, m in enumerate(mesh.materials):
        if m.color is not None:
            slot_color[s] = np.clip(np.asarray(m.color, dtype=np.float64)[:3], 0.0, 1.0) * 255.0
    slot_texture = np.full((slots, 3), -1, dtype=np.int64)
    images: list[np.ndarray] = []
    if texture is not None:
        images.append(_check_texture(mesh, texture))
        slot_texture[:] = (0, images[0].shape[0], images[0].shape[1])
    else:
        used = np.bincount(face_slot, minlength=slots) > 0
        placed: dict[str, tuple[int, int, int]] = {}  # materials sharing a texture file share its pixels
        offset = 0
        for s, m in enumerate(mesh.materials):
            if not used[s] or not m.texture:
                continue
            if m.texture not in placed:
                image = _load_texture(m, mesh, max_texture)
                if image is None:
                    continue
                placed[m.texture] = (offset, image.shape[0], image.shape[1])
                images.append(image)
                offset += image.size
            slot_texture[s] = placed[m.texture]
    slot_maps = {slot: np.full((slots, 3), -1, dtype=np.int64) for slot in ("normal", "occlusion")}
    if texture is None:  # a level's baked maps, or a scan's own: drawn as viewers draw them
        offset = sum(image.size for image in images)
        used = np.bincount(face_slot, minlength=slots) > 0
        for s, m in enumerate(mesh.materials):
            for texture_map in m.maps if used[s] else ():
                if texture_map.slot not in slot_maps:
                    continue
                source = texture_map.data if texture_map.data is not None else texture_map.uri
                image = _load_image(source, texture_map.uri, mesh, max_texture, colour=False)
                if image is None:
                    continue
                slot_maps[texture_map.slot][s] = (offset, image.shape[0], image.shape[1])
                images.append(image)
                offset += image.size
    tex_data = np.concatenate([im.reshape(-1) for im in images]) if images else np.zeros(0, dtype=np.uint8)
    return face_slot, slot_texture, slot_color, tex_data, slot_maps["normal"], slot_maps["occlusion"]


def _prepare(mesh: Mesh, *, texture: Any, max_texture: int, smooth: bool) -> _Scene:

    vertices, faces = _geometry(mesh)
    n, m = vertices.shape[0], faces.shape[0]
    if texture is None:
        _check_size(mesh, "max_texture", max_texture, 1, 65536)
    uv = np.zeros((0, 2))
    uv_faces = np.zeros((0, 3), dtype=np.int64)
    if mesh.uv is not None and mesh.uv_faces is not None:
        uv = np.ascontiguousarray(mesh.uv, dtype=np.float64)
        uv_faces = np.ascontiguousarray(mesh.uv_faces, dtype=np.int64)
        if uv.ndim != 2 or uv.shape[1] != 2 or uv_faces.shape != (m, 3):
            raise _bad_mesh(mesh, f"uv must be (K, 2) and uv_faces (M, 3) = ({m}, 3), got {uv.shape} and "
                            f"{uv_faces.shape}")
        if uv_faces.max(initial=-1) >= uv.shape[0]:
            raise _bad_mesh(mesh, f"a face corner refers to UV {int(uv_faces.max())} but the mesh has {uv.shape[0]}")
    colors = np.zeros((0, 3), dtype=np.uint8)
    if mesh.vertex_colors is not None:
        colors = np.ascontiguousarray(mesh.vertex_colors)
        if colors.dtype != np.uint8 or colors.ndim != 2 or colors.shape[0] != n or colors.shape[1] not in (3, 4):
            raise _bad_mesh(mesh, f"vertex_colors must be (N, 3|4) uint8 with N = {n}, got {colors.dtype} "
                            f"{colors.shape}")
    face_slot, slot_texture, slot_color, tex_data, slot_normal, slot_occlusion = _colour_tables(
        mesh, m, texture, max_texture)
    normals = np.zeros((0, 3))
    if smooth:
        normals = vertex_normals(vertices, faces)
    corner_tangent = np.zeros((0, 3, 4))
    if smooth and len(uv_faces) and (slot_normal[:, 0] >= 0).any():
        corner_tangent = _corner_tangents(vertices, faces, uv, uv_faces, normals)
    used = np.zeros(n, dtype=bool)
    used[faces.reshape(-1)] = True
    points = vertices[used]
    centre = 0.5 * (points.min(axis=0) + points.max(axis=0))
    radius = float(np.sqrt(((points - centre) ** 2).sum(axis=1).max()))
    if not radius > 0.0:
        radius = 1.0  # every face is a point: nothing to see, but a camera all the same
    return _Scene(vertices, faces, normals, uv, uv_faces, colors, face_slot, slot_texture, slot_color,
                  tex_data, slot_normal, slot_occlusion, corner_tangent, centre, radius)


def _corner_tangents(vertices: np.ndarray, faces: np.ndarray, uv: np.ndarray, uv_faces: np.ndarray,
                     normals: np.ndarray) -> np.ndarray:
    """glTF tangents of every corner, (M, 3, 4), computed as a GLB writer does for the same mesh: on the
    vertices split by (position, UV), with glTF's UVs (V down) and the vertex normals drawn."""
    from llvscan.mesh.core.geometry import vertex_tangents

    pairs = np.stack([faces.reshape(-1), np.clip(uv_faces.reshape(-1), 0, None)], axis=1)
    # distinct (position, UV) pairs in np.unique(pairs, axis=0)'s order, through one int64 key (a 1-D sort)
    key = pairs[:, 0] * np.int64(int(pairs[:, 1].max(initial=0)) + 1) + pairs[:, 1]
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    unique = pairs[first]
    split_uv = uv[unique[:, 1]] * [1.0, -1.0] + [0.0, 1.0]
    tangents = vertex_tangents(vertices[unique[:, 0]], inverse.reshape(-1, 3), np.nan_to_num(split_uv),
                               normals[unique[:, 0]])
    return np.ascontiguousarray(tangents[inverse.reshape(-1, 3)])


def _camera(azimuth: float, elevation: float, up: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit vectors (towards the camera from the centre, screen right, screen up) in world coordinates."""
    az, el = math.radians(azimuth), math.radians(elevation)
    back = np.array([math.sin(az) * math.cos(el), math.sin(el), math.cos(az) * math.cos(el)])
    right = np.array([math.cos(az), 0.0, -math.sin(az)])
    if up == "z":  # rotate the Y-up frame +90° about X: (x, y, z) -> (x, -z, y)
        back = np.array([back[0], -back[2], back[1]])
        right = np.array([right[0], -right[2], right[1]])
    screen_up = np.cross(right, -back)
    return back, right, screen_up / np.linalg.norm(screen_up)


def _draw(scene: _Scene, size: int, azimuth: float, elevation: float, fov: float, up: str,
          background: np.ndarray, supersample: int) -> np.ndarray:
    return _draw_visible(scene, size, azimuth, elevation, fov, up, background, supersample)[0]


def _draw_visible(scene: _Scene, size: int, azimuth: float, elevation: float, fov: float, up: str,
                  background: np.ndarray, supersample: int,
                  visible: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``_draw``, and the visibility buffer (nearest face per pixel) it shaded. ``visible``: the buffer of
    an earlier draw of the same geometry from the same view (the rasterising skipped: same pixels)."""
    from llvscan.mesh.render import _kernels as rk

    ss = max(1, min(supersample, MAX_SIZE // size))
    full = size * ss
    back, right, screen_up = _camera(azimuth, elevation, up)
    distance = scene.radius / math.sin(math.radians(fov) / 2.0)
    eye = scene.centre + distance * back
    focal = 0.5 * full / math.tan(math.radians(fov) / 2.0)
    screen = np.empty((scene.vertices.shape[0], 3))
    rk.project(scene.vertices, eye, right, screen_up, -back, focal, 0.5 * full, screen)
    if visible is None:
        near = 1e-3 * distance
        depth = np.zeros((full, full), dtype=np.float64)
        face_id = np.full((full, full), -1, dtype=np.int32)
        rk.rasterize(screen, scene.faces, 1.0 / near, depth, face_id)
    else:
        face_id = visible
    light = back + _LIGHT_OFFSET[0] * right + _LIGHT_OFFSET[1] * screen_up
    light /= np.linalg.norm(light)
    image = np.empty((full, full, 3), dtype=np.uint8)
    rk.shade(screen, scene.vertices, scene.faces, face_id, scene.normals, scene.uv, scene.uv_faces, scene.colors,
             scene.face_slot, scene.slot_texture, scene.slot_color, scene.tex_data, scene.slot_normal,
             scene.slot_occlusion, scene.corner_tangent, light, _AMBIENT, background, image)
    if ss == 1:
        return image, face_id
    blocks = image.reshape(size, ss, size, ss, 3).sum(axis=(1, 3), dtype=np.uint32)
    n = ss * ss
    return ((blocks + n // 2) // n).astype(np.uint8), face_id


def _options(mesh: Mesh, size: int, azimuth: float, elevation: float, fov: float, up: str, background: Any,
             supersample: int) -> tuple[int, float, float, float, np.ndarray, int]:
    size = _check_size(mesh, "size", size, MIN_SIZE, MAX_SIZE)
    supersample = _check_size(mesh, "supersample", supersample, 1, 4)
    azimuth, elevation, fov, bg = _check_view(mesh, azimuth, elevation, fov, up, background)
    return size, azimuth, elevation, fov, bg, supersample


def render_mesh(mesh: Mesh, *, size: int = 512, azimuth: float = 35.0, elevation: float = 20.0, fov: float = 30.0,
                up: str = "y", background: tuple[int, int, int] = (255, 255, 255), texture: np.ndarray | None = None,
                max_texture: int = 2048, smooth: bool = True, supersample: int = 2) -> np.ndarray:
    """Render ``mesh`` as a ``size``×``size``×3 uint8 sRGB image (see the module docstring for the camera).

    ``texture``: an (H, W, 3) uint8 image used instead of the materials' texture files, for every face
    with UVs. ``max_texture``: the longer side texture files are shrunk to on load. ``smooth``: interpolated
    vertex normals (else face normals). ``supersample``: 1 (no antialiasing) to 4, reduced where
    ``size * supersample`` would pass 8192. Raises ``InvalidParameterError`` (naming the mesh) for an
    empty mesh, non-finite vertices or an impossible option, ``ImageReadError`` for a texture file that
    exists but cannot be decoded; a missing texture file is logged and the next colour source used.
    """
    size, azimuth, elevation, fov, bg, supersample = _options(mesh, size, azimuth, elevation, fov, up, background,
                                                              supersample)
    scene = _prepare(mesh, texture=texture, max_texture=max_texture, smooth=smooth)
    return _draw(scene, size, azimuth, elevation, fov, up, bg, supersample)


def render_turntable(mesh: Mesh, *, frames: int = 8, size: int = 256, azimuth: float = 35.0, elevation: float = 20.0,
                     fov: float = 30.0, up: str = "y", background: tuple[int, int, int] = (255, 255, 255),
                     texture: np.ndarray | None = None, max_texture: int = 2048, smooth: bool = True,
                     supersample: int = 2) -> np.ndarray:
    """``frames`` views side by side, ``size`` × ``frames * size`` × 3 uint8: frame ``k`` is
    ``render_mesh(mesh, azimuth=azimuth + k * 360 / frames, ...)``. The strip is at most 65536 pixels wide."""
    if isinstance(frames, bool) or not isinstance(frames, int | np.integer) or frames < 1:
        raise _fail(mesh, f"frames must be an integer ≥ 1, got {frames!r}")
    size, azimuth, elevation, fov, bg, supersample = _options(mesh, size, azimuth, elevation, fov, up, background,
                                                              supersample)
    if frames * size > _MAX_STRIP:
        raise _fail(mesh, f"{frames} frames of {size} pixels make a strip wider than {_MAX_STRIP} pixels")
    scene = _prepare(mesh, texture=texture, max_texture=max_texture, smooth=smooth)
    step = 360.0 / frames
    return np.concatenate([_draw(scene, size, azimuth + k * step, elevation, fov, up, bg, supersample)
                           for k in range(frames)], axis=1)


def save_thumbnail(mesh: Mesh | str | os.PathLike[str], path: str | os.PathLike[str], *, size: int = 512,
                   turntable_frames: int = 0, **options: Any) -> Path:
    """Write a PNG of ``render_mesh`` (or, with ``turntable_frames > 0``, of ``render_turntable`` with that
    many frames of ``size`` pixels) to ``path``, atomically: a temporary sibling renamed into place.
    ``mesh`` may be a file to load. ``options`` go to the renderer. Returns the path."""
    from PIL import Image

    from llvscan._publish import write_bytes_atomic
    from llvscan.mesh.io.registry import load_mesh

    if not isinstance(mesh, Mesh):
        mesh = load_mesh(mesh)

    if isinstance(turntable_frames, bool) or not isinstance(turntable_frames, int | np.integer) \
            or turntable_frames < 0:
        raise _fail(mesh, f"turntable_frames must be an integer ≥ 0, got {turntable_frames!r}")
    if turntable_frames:
        image = render_turntable(mesh, frames=turntable_frames, size=size, **options)
    else:
        image = render_mesh(mesh, size=size, **options)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    out = Path(path)
    write_bytes_atomic(out, buffer.getvalue())
    return out
