"""Binary glTF 2.0 (GLB) writer: llvscan's own, checked against the Khronos glTF-Validator.

One glTF mesh with one primitive per material (faces grouped by ``Mesh.face_material``; faces with
no material form one more primitive without material). Every primitive has its own vertex range:
one glTF vertex per distinct (position, UV, normal) corner tuple of its faces, so no vertex is
unused and small primitives get 16-bit indices.

Decisions llvscan owns:

- **Metres.** glTF's unit is the metre: positions are scaled from ``Mesh.units`` (mm, cm, m, in);
  undeclared units are written unscaled, as metres, and ``asset.extras`` says so.
- **Y up.** glTF is Y-up. ``up_axis="z"`` rotates a Z-up scan (x, y, z) → (x, z, −y), as Blender does.
- **Normals** are the mesh's per-corner normals, normalised; corners without one (or with a zero or
  non-finite one) get the area-weighted normal of their vertex.
- **UVs** are flipped to glTF's top-left origin (v → 1 − v); corners without a UV get (0, 0).
- **Vertex colours** are stored as sRGB bytes in scans (PLY); glTF defines COLOR_0 as linear, so they
  are converted (sRGB transfer function; alpha as is) and written as normalised unsigned shorts, which
  keep the dark tones that 8-bit linear values would band.
- **Textures** are embedded in the BIN chunk: JPEG and PNG as glTF core allows, WebP through the
  ``EXT_texture_webp`` extension (listed as required, since there is no fallback image). Identical
  image bytes are stored once. Image sizes come from the file header; nothing is decoded, so there
  is no pixel limit to trip over for a 16k texture.

The output is deterministic (byte-identical for the same input) and written atomically.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import struct
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llvscan._constants import UP_AXES
from llvscan._json import JsonResult
from llvscan._publish import write_bytes_atomic
from llvscan._stages import stage
from llvscan.errors import ImageReadError, InvalidMeshError, InvalidParameterError, OutputError
from llvscan.mesh.core.geometry import unit_rows, vertex_normals, vertex_tangents
from llvscan.mesh.core.texture import image_size
from llvscan.mesh.core.types import Mesh, TextureMap
from llvscan.mesh.core.units import METRES_PER_UNIT

__all__ = ["COMPRESSIONS", "DRACO_BITS", "GlbInfo", "clear_stream_cache", "srgb_to_linear16", "write_glb",
           "write_glb_files"]

#: Geometry compression the writer offers: none, or KHR_draco_mesh_compression (DracoPy).
COMPRESSIONS = ("none", "draco")

log = logging.getLogger(__name__)

_GLB_MAGIC = 0x46546C67  # "glTF"
_CHUNK_JSON = 0x4E4F534A
_CHUNK_BIN = 0x004E4942
_ARRAY_BUFFER = 34962
_ELEMENT_ARRAY_BUFFER = 34963
_FLOAT, _UNSIGNED_BYTE, _UNSIGNED_SHORT, _UNSIGNED_INT = 5126, 5121, 5123, 5125
_LINEAR, _LINEAR_MIPMAP_LINEAR, _REPEAT = 9729, 9987, 10497
_MAX_GLB_BYTES = 2**32 - 1  # the GLB header stores the length as uint32
_Z_UP_TO_Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])  # row vectors: p @ R.T


@dataclass(frozen=True)
class GlbInfo(JsonResult):
    """What ``write_glb`` wrote."""

    path: str
    bytes: int  # size of the file
    faces: int
    vertices: int  # glTF vertices: distinct (position, UV, normal) corners, summed over primitives
    primitives: int
    textures: list[tuple[int, int, str]]  # (width, height, mime type) of every embedded image
    scale_to_metres: float
    compression: str = "none"  # none | draco (KHR_draco_mesh_compression)
    position_error: float = 0.0  # largest position change the compression made, metres (decoded back)
    uv_error: float = 0.0  # largest UV change the compression made, in UV units (× texture size = texels)


# --- images -------------------------------------------------------------------------------------

def _read_source(source: str | Path | bytes, what: str) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise ImageReadError(f"cannot read the {what}", path=source, detail=exc.strerror) from exc


def _texture_bytes(mesh: Mesh, index: int, source: str | Path | bytes | None, where: str) -> bytes | None:
    """The base-colour image bytes of material ``index``: ``source`` (path or bytes), else the bytes the
    material carries (an image from a glTF), else its texture file."""
    material = mesh.materials[index]
    if source is None:
        if material.texture_data is not None:
            return material.texture_data
        if not material.texture:
            return None
        if not Path(material.texture).is_file():
            log.warning("%s: material %r: texture %s has no file to embed; written without texture",
                        where, material.name, material.texture)
            return None
        source = Path(material.texture)
    return _read_source(source, f"texture of material {index}")


def _map_bytes(texture_map: TextureMap, where: str) -> bytes | None:
    """The image bytes of a normal, occlusion, emissive or metallic-roughness map (None: no file to read)."""
    if texture_map.data is not None:
        return texture_map.data
    if not Path(texture_map.uri).is_file():
        log.warning("%s: %s map %s has no file to embed; written without it", where, texture_map.slot,
                    texture_map.uri)
        return None
    return _read_source(texture_map.uri, f"{texture_map.slot} map")


# --- geometry -----------------------------------------------------------------------------------

def _checked_index_array(name: str, array: np.ndarray, n_faces: int, limit: int, where: str, *,
                         lowest: int = -1) -> np.ndarray:
    """``array`` as (n_faces, 3) int64 with every entry in [lowest, limit); -1 means "none" for UVs/normals."""
    array = np.asarray(array)
    if array.shape != (n_faces, 3) or not np.issubdtype(array.dtype, np.integer):
        raise InvalidMeshError(f"{name} must be an ({n_faces}, 3) integer array, got {array.shape} "
                               f"{array.dtype}", path=where)
    bad = np.flatnonzero((array >= limit).any(axis=1) | (array < lowest).any(axis=1))
    if bad.size:
        f = int(bad[0])
        what = {"faces": "vertices", "uv_faces": "UVs", "normal_faces": "normals"}[name]
        raise InvalidMeshError(f"{name}: face {f} refers to {array[f].tolist()} but the mesh has {limit} {what} "
                               f"(indices {lowest}..{limit - 1}; {bad.size} such faces): fix or drop them "
                               "before writing", path=where)
    return array.astype(np.int64, copy=False)


def _split_corners(corners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of a (C, 3) array of non-negative (position, UV + 1, normal + 1) indices, sorted, and
    the inverse mapping. One int64 key per row when the ranges allow (fast 1-D sort), else rows."""
    span = corners.max(axis=0).astype(object) + 1 if len(corners) else np.ones(3, dtype=object)
    if int(span[0]) * int(span[1]) * int(span[2]) < 2**62:
        s1, s2 = int(span[1]), int(span[2])
        key = (corners[:, 0] * s1 + corners[:, 1]) * s2 + corners[:, 2]
        unique_key, inverse = np.unique(key, return_inverse=True)
        unique = np.stack([unique_key // (s1 * s2), unique_key // s2 % s1, unique_key % s2], axis=1)
        return unique, inverse.reshape(-1)
    unique, inverse = np.unique(corners, axis=0, return_inverse=True)
    return unique, inverse.reshape(-1)


# --- GLB assembly -------------------------------------------------------------------------------

class _Bin:
    """The BIN chunk under construction: bufferViews and accessors, each view 4-byte aligned."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0
        self.views: list[dict] = []
        self.accessors: list[dict] = []

    def view(self, data: bytes, target: int | None = None) -> int:
        entry: dict = {"buffer": 0, "byteOffset": self.size, "byteLength": len(data)}
        if target is not None:
            entry["target"] = target
        self.views.append(entry)
        pad = -len(data) % 4
        self.parts += [data, b"\0" * pad]
        self.size += len(data) + pad
        return len(self.views) - 1

    def accessor(self, array: np.ndarray, component: int, kind: str, target: int, **extra: object) -> int:
        array = np.ascontiguousarray(array)
        entry: dict = {"bufferView": self.view(array.tobytes(), target), "componentType": component,
                       "count": int(array.shape[0]), "type": kind, **extra}
        self.accessors.append(entry)
        return len(self.accessors) - 1


def srgb_to_linear16(colors: np.ndarray) -> np.ndarray:
    """(N, 4) sRGB bytes → linear RGB and untouched alpha as uint16 (0–65535), as COLOR_0 expects."""
    c = colors[:, :3].astype(np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    out = np.empty(colors.shape, dtype=np.uint16)
    out[:, :3] = np.rint(linear * 65535.0)
    out[:, 3] = colors[:, 3].astype(np.uint16) * 257
    return out


def _glb(document: dict, binary: bytes) -> bytes:
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    text += b" " * (-len(text) % 4)
    binary += b"\0" * (-len(binary) % 4)
    total = 12 + 8 + len(text) + 8 + len(binary)
    return b"".join([struct.pack("<III", _GLB_MAGIC, 2, total), struct.pack("<II", len(text), _CHUNK_JSON), text,
                     struct.pack("<II", len(binary), _CHUNK_BIN), binary])


@dataclass(frozen=True)
class _Arrays:
    """A mesh's arrays, checked, in glTF's frame (metres, Y up); per-corner indices are -1 where none."""

    positions: np.ndarray  # (N, 3) float64
    faces: np.ndarray  # (M, 3) int64
    uv: np.ndarray | None  # (K, 2), None when no corner has a UV
    uv_faces: np.ndarray
    normals: np.ndarray  # (L, 3) unit
    normal_faces: np.ndarray  # -1 also where the given normal is zero or non-finite
    vertex_normals: np.ndarray | None  # (N, 3) unit, area-weighted; None when every corner has a normal
    colors: np.ndarray | None  # (N, 4) uint8
    face_material: np.ndarray  # (M,) int64, -1 for none


def _checked_arrays(mesh: Mesh, where: str, scale: float, rotation: np.ndarray) -> _Arrays:
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise InvalidMeshError(f"vertices must be an (N, 3) array, got {vertices.shape}", path=where)
    faces = np.asarray(mesh.faces)
    n_faces = int(faces.shape[0]) if faces.ndim == 2 else 0
    if n_faces == 0 or len(vertices) == 0:
        raise InvalidMeshError(f"empty mesh ({len(vertices)} vertices, {n_faces} faces): nothing to write "
                               "as glTF", path=where)
    faces = _checked_index_array("faces", faces, n_faces, len(vertices), where, lowest=0)
    bad = np.flatnonzero(~np.isfinite(vertices).all(axis=1))
    if bad.size:
        raise InvalidMeshError(f"vertex {int(bad[0])} is {vertices[bad[0]].tolist()} ({bad.size} non-finite "
                               "vertices): glTF positions must be finite", path=where)
    positions = vertices @ rotation.T * scale
    if np.abs(positions).max() > np.finfo(np.float32).max:
        raise InvalidMeshError("vertex coordinates overflow float32 after scaling to metres", path=where)

    uv, uv_faces = None, np.full((n_faces, 3), -1, dtype=np.int64)
    if mesh.uv is not None and mesh.uv_faces is not None:
        uv = np.asarray(mesh.uv, dtype=np.float64).reshape(-1, 2)
        uv_faces = _checked_index_array("uv_faces", mesh.uv_faces, n_faces, len(uv), where)
        referenced = np.zeros(len(uv), dtype=bool)
        referenced[uv_faces[uv_faces >= 0]] = True
        bad = np.flatnonzero(referenced & ~np.isfinite(uv).all(axis=1))
        if bad.size:
            raise InvalidMeshError(f"UV {int(bad[0])} is {uv[bad[0]].tolist()} ({bad.size} non-finite UVs)",
                                   path=where)
        if not referenced.any():
            uv = None

    normals, normal_faces = np.zeros((0, 3)), np.full((n_faces, 3), -1, dtype=np.int64)
    if mesh.normals is not None and mesh.normal_faces is not None:
        raw = np.asarray(mesh.normals, dtype=np.float64).reshape(-1, 3)
        normal_faces = _checked_index_array("normal_faces", mesh.normal_faces, n_faces, len(raw), where)
        length = np.linalg.norm(raw, axis=1)
        valid = np.isfinite(length) & (length > 1e-30)  # a zero or non-finite normal counts as none
        normal_faces = np.where((normal_faces >= 0) & valid[np.clip(normal_faces, 0, None)], normal_faces, -1)
        normals = unit_rows(raw @ rotation.T)
    per_vertex = None
    if (normal_faces < 0).any():
        per_vertex = unit_rows(vertex_normals(vertices, faces) @ rotation.T)

    colors = None
    if mesh.vertex_colors is not None:
        colors = np.asarray(mesh.vertex_colors)
        if colors.ndim != 2 or colors.shape[0] != len(vertices) or colors.shape[1] not in (3, 4):
            raise InvalidMeshError(f"vertex_colors must be ({len(vertices)}, 4) bytes, got {colors.shape}",
                                   path=where)
        colors = colors.astype(np.uint8)
        if colors.shape[1] == 3:
            colors = np.concatenate([colors, np.full((len(colors), 1), 255, np.uint8)], axis=1)
        colors = srgb_to_linear16(colors)

    face_material = np.full(n_faces, -1, dtype=np.int64)
    if mesh.face_material is not None and len(mesh.materials):
        face_material = np.asarray(mesh.face_material, dtype=np.int64).reshape(-1)
        if face_material.shape != (n_faces,):
            raise InvalidMeshError(f"face_material must have {n_faces} entries, got {face_material.shape}",
                                   path=where)
        if face_material.max() >= len(mesh.materials):
            raise InvalidMeshError(f"face_material refers to material {int(face_material.max())} but the "
                                   f"mesh has {len(mesh.materials)}", path=where)
        face_material = np.maximum(face_material, -1)
    return _Arrays(positions, faces, uv, uv_faces, normals, normal_faces, per_vertex, colors, face_material)


class _Images:
    """The images, textures and sampler of a document under construction; identical bytes stored once."""

    def __init__(self, buffer: _Bin) -> None:
        self.buffer = buffer
        self.images: list[dict] = []
        self.textures: list[dict] = []
        self.sizes: list[tuple[int, int, str]] = []
        self._index: dict[bytes, int] = {}

    def add(self, data: bytes, named: str | Path | None) -> int:
        """The glTF texture index of ``data`` (a JPEG, PNG or WebP), embedding it the first time."""
        header = image_size(data)
        if header is None:
            raise ImageReadError("not a JPEG, PNG or WebP image (or its header is truncated)", path=named)
        digest = hashlib.sha256(data).digest()
        if digest not in self._index:
            image = len(self.images)
            self._index[digest] = len(self.textures)
            self.images.append({"bufferView": self.buffer.view(data), "mimeType": header[2]})
            self.sizes.append(header)
            self.textures.append({"sampler": 0, "extensions": {"EXT_texture_webp": {"source": image}}}
                                 if header[2] == "image/webp" else {"sampler": 0, "source": image})
        return self._index[digest]

    def entries(self) -> dict:
        if not self.images:
            return {}
        entries: dict = {"textures": self.textures, "images": self.images,
                         "samplers": [{"magFilter": _LINEAR, "minFilter": _LINEAR_MIPMAP_LINEAR,
                                       "wrapS": _REPEAT, "wrapT": _REPEAT}]}
        if any(size[2] == "image/webp" for size in self.sizes):
            entries.update(extensionsUsed=["EXT_texture_webp"], extensionsRequired=["EXT_texture_webp"])
        return entries


_MAP_KEYS = {"normal": "normalTexture", "occlusion": "occlusionTexture", "emissive": "emissiveTexture"}


def _add_materials(mesh: Mesh, used: list[int], textures: Mapping[int, str | Path | bytes],
                   maps: Mapping[int, Mapping[str, bytes]], has_uv: bool, buffer: _Bin,
                   where: str) -> tuple[dict[int, int], dict, list[tuple[int, int, str]]]:
    """glTF materials for the used materials: base colour (factor, texture), alpha, sidedness, and the
    normal, occlusion, emissive and metallic-roughness maps, their images embedded in ``buffer``.
    Returns (material index → glTF material, document entries, (width, height, mime) per image)."""
    material_of: dict[int, int] = {}
    materials: list[dict] = []
    images = _Images(buffer)
    for index in used:
        material = mesh.materials[index]
        given = textures.get(index)
        data = _texture_bytes(mesh, index, given, where)
        level_maps = maps.get(index)
        map_data = ({m.slot: level_maps[m.slot] for m in material.maps if m.slot in level_maps}
                    if level_maps is not None else
                    {m.slot: d for m in material.maps if (d := _map_bytes(m, where)) is not None})
        if (data is not None or map_data) and not has_uv:
            log.warning("%s: material %r has textures but the mesh has no UVs; written without them",
                        where, material.name)
            data, map_data = None, {}
        pbr: dict = {}
        opacity = float(np.clip(np.nan_to_num(material.opacity, nan=1.0), 0.0, 1.0))
        if data is not None:
            named = given if isinstance(given, str | Path) else material.texture if given is None else None
            pbr["baseColorTexture"] = {"index": images.add(data, named or where)}
            if opacity < 1.0:
                pbr["baseColorFactor"] = [1.0, 1.0, 1.0, opacity]
        elif material.color is not None or opacity < 1.0:
            color = np.clip(np.nan_to_num(np.asarray(material.color or (1.0, 1.0, 1.0), dtype=np.float64)[:3]),
                            0.0, 1.0)
            pbr["baseColorFactor"] = [*color.tolist(), opacity]
        pbr.update(metallicFactor=0.0 if material.metallic is None else float(material.metallic),
                   roughnessFactor=1.0 if material.roughness is None else float(material.roughness))
        entry: dict = {"name": material.name, "pbrMetallicRoughness": pbr, "doubleSided": bool(material.double_sided)}
        scale = {m.slot: m.scale for m in material.maps}
        for slot, image_bytes in map_data.items():
            reference: dict = {"index": images.add(image_bytes, where)}
            if slot == "metallic_roughness":
                pbr["metallicRoughnessTexture"] = reference
                continue
            if slot == "normal" and scale.get(slot, 1.0) != 1.0:
                reference["scale"] = scale[slot]
            if slot == "occlusion" and scale.get(slot, 1.0) != 1.0:
                reference["strength"] = scale[slot]
            entry[_MAP_KEYS[slot]] = reference
        if material.emissive is not None or "emissive" in map_data:
            entry["emissiveFactor"] = list(material.emissive or (1.0, 1.0, 1.0))
        if material.alpha_mode in ("MASK", "BLEND"):
            entry["alphaMode"] = material.alpha_mode
            if material.alpha_mode == "MASK":
                entry["alphaCutoff"] = float(material.alpha_cutoff)
        material_of[index] = len(materials)
        materials.append(entry)
    entries: dict = {"materials": materials} if materials else {}
    entries.update(images.entries())
    return material_of, entries, images.sizes


#: Draco quantisation bits per attribute: positions to 1/16384 of the primitive's extent, UVs to 1/4096
#: (more for textures above 1024 texels: a quarter texel at most).
DRACO_BITS = {"position": 14, "uv": 12, "normal": 10}


@dataclass
class _Errors:
    position: float = 0.0
    uv: float = 0.0
    uv_bits: int = DRACO_BITS["uv"]  # raised for large textures: a quarter texel at most


def _draco_error(values: np.ndarray, decoded: np.ndarray, bits: int) -> float:
    """The largest change Draco's quantisation made to any of ``values`` (max over coordinates).

    Draco may reorder and merge vertices, so the error is measured through its quantiser, whose rule is
    public (``draco/core/quantization_utils``): origin the per-axis minimum, one range (the largest
    extent) over ``2^bits − 1`` steps, rounding to the nearest step. The values quantised by that rule
    must be, as a set, what the decoder gave back; if they are not, the rule's bound (half a step) is
    reported instead."""
    origin = values.min(axis=0)
    extent = float(np.ptp(values, axis=0).max()) if len(values) else 0.0
    if extent == 0.0:
        return 0.0
    step = extent / (2**bits - 1)
    steps = np.floor((values - origin) / step + 0.5).astype(np.int64)
    got = np.round((decoded - origin) / step).astype(np.int64)
    base = np.int64(2**bits + 2)  # one integer per grid point: the rows compare as a set, vectorised
    weights = base ** np.arange(values.shape[1], dtype=np.int64)
    expected = np.unique((steps + 1) @ weights)

    def member(keys: np.ndarray) -> np.ndarray:
        at = np.minimum(np.searchsorted(expected, keys), len(expected) - 1)
        return expected[at] == keys

    strays = got[~member((got + 1) @ weights)]
    # Draco rounds in float32: a value on a half step may land on the other side (a few in ten thousand),
    # where either side is half a step away; anything else means the rule is not Draco's
    near = np.zeros(len(strays), dtype=bool)
    for delta in itertools.product((-1, 0, 1), repeat=values.shape[1]):
        near |= member((strays + 1 + np.asarray(delta)) @ weights)
    if len(strays) > 0.01 * len(got) or not near.all():
        log.info("Draco's quantised values differ from its documented rule; reporting its bound")
        return step / 2
    return float(np.abs(origin + steps * step - values).max())


@dataclass(frozen=True)
class _DracoStream:
    data: bytes
    ids: dict[int, int]  # Draco attribute type → unique id: 0 position, 1 normal, 2 colour, 3 UV
    points: np.ndarray  # as decoded
    position_error: float
    uv_error: float


#: Streams of the last few primitives encoded: levels that share a mesh (Voyager's Low, Medium and High)
#: differ only in their textures, and their geometry is encoded once.
_DRACO_STREAMS: OrderedDict[bytes, _DracoStream] = OrderedDict()


def clear_stream_cache() -> None:
    """Forget the cached Draco streams (a benchmark repeats a run as a fresh worker would do it)."""
    _DRACO_STREAMS.clear()


def _draco_stream(position: np.ndarray, normal: np.ndarray, texcoord: np.ndarray | None, rgba: np.ndarray | None,
                  faces: np.ndarray, uv_bits: int) -> _DracoStream:
    """The Draco stream of a primitive, decoded back and measured (cached by the arrays' digest)."""
    import DracoPy

    digest = hashlib.sha256(repr((uv_bits, DRACO_BITS)).encode())
    for array in (position, normal, texcoord, rgba, faces):
        digest.update(b"-" if array is None else np.ascontiguousarray(array).tobytes())
    key = digest.digest()
    if key in _DRACO_STREAMS:
        _DRACO_STREAMS.move_to_end(key)
        return _DRACO_STREAMS[key]
    with stage("compress"):
        data = DracoPy.encode(position.astype(np.float64), faces.astype(np.uint32), preserve_order=False,
                              quantization_bits=DRACO_BITS["position"], compression_level=7, normals=normal,
                              normal_quantization_bits=DRACO_BITS["normal"], tex_coord=texcoord,
                              tex_coord_quantization_bits=uv_bits if texcoord is not None else None, colors=rgba)
        decoded = DracoPy.decode(data)
    points = np.asarray(decoded.points, dtype=np.float64).reshape(-1, 3)
    if len(np.asarray(decoded.faces).reshape(-1, 3)) != len(faces):
        raise OutputError("Draco changed the face count; write this level uncompressed")
    uv_error = 0.0
    if texcoord is not None:
        uv_error = _draco_error(texcoord, np.asarray(decoded.tex_coord, dtype=np.float64).reshape(-1, 2), uv_bits)
    stream = _DracoStream(data, {a["attribute_type"]: a["unique_id"] for a in decoded.attributes}, points,
                          _draco_error(position, points, DRACO_BITS["position"]), uv_error)
    _DRACO_STREAMS[key] = stream
    while len(_DRACO_STREAMS) > 4:
        _DRACO_STREAMS.popitem(last=False)
    return stream


def _add_draco_primitive(buffer: _Bin, position: np.ndarray, normal: np.ndarray, texcoord: np.ndarray | None,
                         colors: np.ndarray | None, faces: np.ndarray, errors: _Errors) -> dict:
    """A ``KHR_draco_mesh_compression`` primitive: the attributes and indices Draco-encoded in one
    bufferView (Draco orders the vertices as it compresses best: five times smaller than in their
    order); the accessors carry counts and bounds only. The stream is decoded back at once, so the
    accessors describe exactly what a decoder gets and the quantisation error is measured, not assumed."""
    rgba = None
    if colors is not None:  # Draco carries colours as bytes: linear 16-bit values rounded to 8 bits
        rgba = np.rint(colors.astype(np.float64) / 257.0).astype(np.uint8)
    stream = _draco_stream(position, normal, texcoord, rgba, faces, errors.uv_bits)
    data, ids, points = stream.data, stream.ids, stream.points
    errors.position = max(errors.position, stream.position_error)
    extension: dict = {"bufferView": buffer.view(data), "attributes": {"POSITION": ids[0], "NORMAL": ids[1]}}
    accessors = buffer.accessors

    def bare(count: int, component: int, kind: str, **extra: object) -> int:
        accessors.append({"componentType": component, "count": count, "type": kind, **extra})
        return len(accessors) - 1

    attributes = {"POSITION": bare(len(points), _FLOAT, "VEC3", min=points.min(axis=0).tolist(),
                                   max=points.max(axis=0).tolist()),
                  "NORMAL": bare(len(points), _FLOAT, "VEC3")}
    if texcoord is not None:
        errors.uv = max(errors.uv, stream.uv_error)
        attributes["TEXCOORD_0"] = bare(len(points), _FLOAT, "VEC2")
        extension["attributes"]["TEXCOORD_0"] = ids[3]
    if rgba is not None:
        attributes["COLOR_0"] = bare(len(points), _UNSIGNED_BYTE, "VEC4", normalized=True)
        extension["attributes"]["COLOR_0"] = ids[2]
    short = len(points) <= 0xFFFF
    indices = bare(faces.size, _UNSIGNED_SHORT if short else _UNSIGNED_INT, "SCALAR")
    return {"attributes": attributes, "indices": indices, "mode": 4,
            "extensions": {"KHR_draco_mesh_compression": extension}}


def _add_primitive(buffer: _Bin, arrays: _Arrays, rows: np.ndarray, draco: _Errors | None = None, *,
                   tangents: bool = False) -> tuple[dict, int]:
    """The attributes and indices of the faces ``rows``: one glTF vertex per distinct corner tuple
    (Draco-compressed when ``draco`` collects the compression's errors). ``tangents``: a ``TANGENT``
    attribute (``vertex_tangents``, the frame llvscan bakes normal maps in), for a normal-mapped material."""
    corners = np.stack([arrays.faces[rows].reshape(-1), arrays.uv_faces[rows].reshape(-1) + 1,
                        arrays.normal_faces[rows].reshape(-1) + 1], axis=1)
    unique, inverse = _split_corners(corners)
    p, t, n = unique[:, 0], unique[:, 1] - 1, unique[:, 2] - 1
    position = arrays.positions[p].astype(np.float32)
    normal = np.empty((len(unique), 3))
    normal[n >= 0] = arrays.normals[n[n >= 0]]
    if arrays.vertex_normals is not None:
        normal[n < 0] = arrays.vertex_normals[p[n < 0]]
    if draco is not None:
        texcoord = None
        if arrays.uv is not None:
            texcoord = np.where((t >= 0)[:, None], arrays.uv[np.clip(t, 0, None)], 0.0)
            texcoord[:, 1] = 1.0 - texcoord[:, 1]
        colors = arrays.colors[p] if arrays.colors is not None else None
        primitive = _add_draco_primitive(buffer, position.astype(np.float64), unit_rows(normal), texcoord, colors,
                                         inverse.reshape(-1, 3), draco)
        return primitive, len(unique)
    attributes = {
        "POSITION": buffer.accessor(position, _FLOAT, "VEC3", _ARRAY_BUFFER, min=position.min(axis=0).tolist(),
                                    max=position.max(axis=0).tolist()),
        "NORMAL": buffer.accessor(unit_rows(normal).astype(np.float32), _FLOAT, "VEC3", _ARRAY_BUFFER),
    }
    if arrays.uv is not None:
        texcoord = np.where((t >= 0)[:, None], arrays.uv[np.clip(t, 0, None)], 0.0)
        texcoord[:, 1] = 1.0 - texcoord[:, 1]  # glTF's UV origin is the image's top-left corner
        attributes["TEXCOORD_0"] = buffer.accessor(texcoord.astype(np.float32), _FLOAT, "VEC2", _ARRAY_BUFFER)
        if tangents:
            tangent = vertex_tangents(position.astype(np.float64), inverse.reshape(-1, 3), texcoord, unit_rows(normal))
            attributes["TANGENT"] = buffer.accessor(tangent.astype(np.float32), _FLOAT, "VEC4", _ARRAY_BUFFER)
    if arrays.colors is not None:
        attributes["COLOR_0"] = buffer.accessor(arrays.colors[p], _UNSIGNED_SHORT, "VEC4", _ARRAY_BUFFER,
                                                normalized=True)
    short = len(unique) <= 0xFFFF  # 0xFFFF itself is the primitive-restart value, not a valid 16-bit index
    indices = buffer.accessor(inverse.astype(np.uint16 if short else np.uint32),
                              _UNSIGNED_SHORT if short else _UNSIGNED_INT, "SCALAR", _ELEMENT_ARRAY_BUFFER)
    return {"attributes": attributes, "indices": indices, "mode": 4}, len(unique)


def write_glb(mesh: Mesh, path: str | Path, *, textures: Mapping[int, str | Path | bytes] | None = None,
              maps: Mapping[int, Mapping[str, bytes]] | None = None, generator: str = "llvscan",
              up_axis: str = "y", compression: str = "none") -> GlbInfo:
    """Write ``mesh`` as a binary glTF 2.0 file at ``path`` (atomically) and describe what was written.

    ``textures`` maps a material index to its base-colour image (a path or the encoded bytes of a JPEG,
    PNG or WebP); materials without an entry use the bytes they carry (``Material.texture_data``), else
    ``Material.texture`` when that is a readable file. ``maps`` likewise gives, per material, the bytes
    of its other maps by slot (``normal``, ``occlusion``, ``emissive``, ``metallic_roughness``); without
    an entry a material's ``maps`` are embedded as they are. Alpha mode and cutoff, opacity and
    double-sidedness are written as the material has them.
    ``up_axis`` is the mesh's up axis, ``"y"`` (written as is) or ``"z"`` (rotated into glTF's Y-up).

    Raises ``InvalidMeshError`` (naming the mesh's path) for an empty mesh, non-finite vertices or
    UVs, out-of-range indices or unknown units; ``InvalidParameterError`` for impossible options;
    ``ImageReadError`` for a texture that cannot be read or is not JPEG/PNG/WebP; ``OutputError`` when
    the file cannot be written.
    """
    path = Path(path)
    where = mesh.path or str(path)
    textures = dict(textures or {})
    if up_axis not in UP_AXES:
        raise InvalidParameterError(f"up_axis must be 'y' or 'z', got {up_axis!r}", path=where)
    if compression not in COMPRESSIONS:
        raise InvalidParameterError(f"compression must be one of {', '.join(COMPRESSIONS)}, got {compression!r}",
                                    path=where)
    draco = _Errors() if compression == "draco" else None
    if mesh.units is not None and mesh.units not in METRES_PER_UNIT:
        raise InvalidMeshError(f"unknown units {mesh.units!r}: use one of {', '.join(METRES_PER_UNIT)} "
                               "or None", path=where)
    for key in textures:
        if not 0 <= key < len(mesh.materials):
            raise InvalidParameterError(f"textures[{key}]: the mesh has {len(mesh.materials)} materials", path=where)
    scale = METRES_PER_UNIT.get(mesh.units or "m", 1.0)
    arrays = _checked_arrays(mesh, where, scale, _Z_UP_TO_Y_UP if up_axis == "z" else np.eye(3))

    extras: dict = {"units": mesh.units, "scale_to_metres": scale}
    if mesh.units is None:
        extras["units_note"] = "source units undeclared: coordinates written unscaled, as metres"
        log.warning("%s: units undeclared; written as metres", where)
    if up_axis == "z":
        extras["source_up_axis"] = "z"
    buffer = _Bin()
    counts = np.bincount(arrays.face_material + 1, minlength=len(mesh.materials) + 1)  # [none, material 0, …]
    used = np.flatnonzero(counts[1:]).tolist()
    material_of, entries, sizes = _add_materials(mesh, used, textures, maps or {}, arrays.uv is not None, buffer,
                                                 where)
    if draco is not None and sizes:  # UVs to a quarter of a texel of the largest texture, 12 bits at least
        draco.uv_bits = min(16, max(DRACO_BITS["uv"], math.ceil(math.log2(max(max(w, h) for w, h, _ in sizes))) + 2))

    # one primitive per used material, in material order, then the faces without material
    by_material = np.argsort(arrays.face_material, kind="stable")  # keeps the face order within a primitive
    starts = np.concatenate([[0], np.cumsum(counts)])
    primitives: list[dict] = []
    n_vertices = 0
    for m in [*used, -1] if counts[0] else used:
        # uncompressed, a normal-mapped primitive carries its tangents; Draco levels leave them to the
        # viewer to derive, as glTF specifies (a float TANGENT would cost more than the geometry)
        normal_mapped = m >= 0 and "normalTexture" in entries["materials"][material_of[m]]
        primitive, n = _add_primitive(buffer, arrays, by_material[starts[m + 1]:starts[m + 2]], draco,
                                      tangents=normal_mapped and draco is None)
        if m >= 0:
            primitive["material"] = material_of[m]
        primitives.append(primitive)
        n_vertices += n

    name = Path(mesh.path).stem if mesh.path else path.stem
    document: dict = {"asset": {"version": "2.0", "generator": generator, "extras": extras},
                      "scene": 0, "scenes": [{"nodes": [0]}], "nodes": [{"mesh": 0, "name": name}],
                      "meshes": [{"name": name, "primitives": primitives}], **entries,
                      "accessors": buffer.accessors, "bufferViews": buffer.views,
                      "buffers": [{"byteLength": buffer.size}]}
    if draco is not None:  # no fallback data is written: a viewer must decode Draco
        for listing in ("extensionsUsed", "extensionsRequired"):
            document[listing] = [*document.get(listing, []), "KHR_draco_mesh_compression"]
    data = _glb(document, b"".join(buffer.parts))
    if len(data) > _MAX_GLB_BYTES:
        raise OutputError(f"the GLB would be {len(data):,} bytes; the format stops at 4 GiB: decimate or split "
                          "the mesh", path=path)
    try:
        write_bytes_atomic(path, data)
    except OSError as exc:
        raise OutputError("cannot write the GLB", path=path, detail=exc.strerror or str(exc)) from exc
    return GlbInfo(path=str(path), bytes=len(data), faces=len(arrays.faces), vertices=n_vertices,
                   primitives=len(primitives), textures=sizes, scale_to_metres=scale, compression=compression,
                   position_error=draco.position if draco else 0.0, uv_error=draco.uv if draco else 0.0)


def write_glb_files(mesh: Mesh, path: Path) -> list[Path]:
    """``write_glb`` for the writer registry: a GLB is one file, textures inside."""
    write_glb(mesh, path)
    return [path]
