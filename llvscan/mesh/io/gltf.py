"""glTF 2.0 reader (.glb and .gltf): llvscan's own, parsed with json, struct and numpy.

Every triangle primitive of every node of the default scene (or of every root node when the file has no
scene) is read with its node's world transform applied (matrix or TRS, nested; normals by the
inverse-transpose; the winding kept counter-clockwise under a mirroring transform), and the faces keep
the material they use. One ``Mesh`` vertex per glTF vertex: faces are the primitives' indices offset
into one array, and ``uv_faces``/``normal_faces`` equal ``faces`` where the vertex has a UV/normal.

Conventions, the inverse of llvscan's GLB writer (``llvscan.mesh.io.glb``):

- **Metres, Y up** as in the file: ``Mesh.units == "m"``.
- **UVs** flipped to llvscan's bottom-left origin (v → 1 − v), after ``KHR_texture_transform`` of the
  base-colour texture is applied (in glTF's own UV space, as that extension defines it).
- **COLOR_0** (linear) becomes sRGB bytes (the sRGB transfer function; alpha as is).

Untrusted data: every buffer and image URI must resolve inside ``root`` (``llvscan._paths``); one that
does not is a ``ReadProblem("unsafe_reference")`` and is never opened. Every GLB chunk, buffer,
bufferView and accessor range is checked against the bytes actually present before anything is
allocated, and the face limit is checked from the accessor counts before the indices are read.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, unquote_to_bytes, urlsplit

import numpy as np

from llvscan._paths import resolve_inside
from llvscan.errors import MeshReadError, ResourceLimitError, UnsafePathError
from llvscan.mesh.core.texture import image_size
from llvscan.mesh.core.types import Material, Mesh, ReadProblem, TextureMap

__all__ = ["SUPPORTED_EXTENSIONS", "read_gltf"]

log = logging.getLogger(__name__)

_GLB_MAGIC = b"glTF"
_CHUNK_JSON = 0x4E4F534A
_CHUNK_BIN = 0x004E4942
_COMPONENT: dict[Any, np.dtype] = {5120: np.dtype("<i1"), 5121: np.dtype("<u1"), 5122: np.dtype("<i2"),
                                   5123: np.dtype("<u2"), 5125: np.dtype("<u4"), 5126: np.dtype("<f4")}
_WIDTH: dict[Any, int] = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}
_POINTS, _LINES, _LINE_LOOP, _LINE_STRIP, _TRIANGLES, _TRIANGLE_STRIP, _TRIANGLE_FAN = range(7)
_MODE_NAMES = {0: "POINTS", 1: "LINES", 2: "LINE_LOOP", 3: "LINE_STRIP"}
_DRACO = "KHR_draco_mesh_compression"
_MESHOPT = "EXT_meshopt_compression"
_HEADER_BYTES = 1 << 18  # enough of an image file to find its size (JPEG frame headers follow EXIF)
_MAX_NODE_DEPTH = 256

#: The extensions this reader honours (Draco only while DracoPy is importable).
SUPPORTED_EXTENSIONS = frozenset({_DRACO, "KHR_mesh_quantization", "KHR_texture_transform", "EXT_texture_webp"})


class _Unsupported(Exception):
    """Data behind an extension this reader cannot decode: the primitive is skipped and reported."""

    def __init__(self, extension: str):
        super().__init__(extension)
        self.extension = extension


@dataclass
class _Image:
    uri: str  # a file path, or "<file name>#images/<n>"
    data: bytes | None
    size: tuple[int, int] | None


# --- the document -------------------------------------------------------------------------------

def _split_glb(path: Path, data: bytes) -> tuple[bytes, bytes | None]:
    """The JSON and BIN chunks of a GLB, every length checked against the bytes present."""
    if len(data) < 12:
        raise MeshReadError(f"GLB header truncated ({len(data)} bytes, 12 needed)", path=path)
    _, version, length = struct.unpack_from("<III", data, 0)
    if version != 2:
        raise MeshReadError(f"GLB version {version}: llvscan reads glTF 2.0", path=path)
    if length > len(data):
        raise MeshReadError(f"GLB header claims {length:,} bytes but the file has {len(data):,}: truncated "
                            "or corrupt", path=path)
    pos, chunks = 12, []
    while pos + 8 <= length:
        chunk_length, chunk_type = struct.unpack_from("<II", data, pos)
        if pos + 8 + chunk_length > length:
            raise MeshReadError(f"GLB chunk at byte {pos} claims {chunk_length:,} bytes but only "
                                f"{length - pos - 8:,} follow: truncated or corrupt", path=path)
        chunks.append((chunk_type, data[pos + 8:pos + 8 + chunk_length]))
        pos += 8 + chunk_length
    if not chunks or chunks[0][0] != _CHUNK_JSON:
        raise MeshReadError("GLB has no JSON chunk first", path=path)
    binary = chunks[1][1] if len(chunks) > 1 and chunks[1][0] == _CHUNK_BIN else None
    return chunks[0][1], binary


def _parse_json(path: Path, text: bytes) -> dict:
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise MeshReadError("malformed glTF JSON", path=path, detail=str(exc)[:300]) from exc
    if not isinstance(document, dict):
        raise MeshReadError("the glTF JSON is not an object", path=path)
    version = str((document.get("asset") or {}).get("version", "")) if isinstance(document.get("asset"), dict) \
        else ""
    if not version.startswith("2."):
        raise MeshReadError(f"asset.version is {version or 'missing'!r}: llvscan reads glTF 2.0", path=path)
    return document


def _int(value: Any, default: int | None = None) -> int | None:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _dict(value: Any) -> dict:
    """``value`` if it is a JSON object, else an empty one (a malformed optional block reads as absent)."""
    return value if isinstance(value, dict) else {}


def _floats(value: Any, n: int, default: list[float]) -> list[float] | None:
    """``value`` as n finite floats, ``default`` when absent, None when malformed."""
    if value is None:
        return default
    if not isinstance(value, list) or len(value) != n:
        return None
    try:
        out = [float(x) for x in value]
    except (TypeError, ValueError):
        return None
    return out if all(math.isfinite(x) for x in out) else None


class _Document:
    """The JSON document, its buffers (loaded on first use, kept inside root) and problems met."""

    def __init__(self, path: Path, root: Path, document: dict, binary: bytes | None):
        self.path = path
        self.root = root
        self.doc = document
        self.binary = binary
        self.problems: list[ReadProblem] = []
        self._buffers: dict[int, bytes | None] = {}
        self._why: dict[int, str] = {}  # why a buffer cannot be read
        self.last_problem = ""
        self._images: dict[int, _Image | None] = {}

    # --- helpers

    def problem(self, code: str, message: str, where: str | None = None) -> str:
        entry = ReadProblem(code, f"{self.path.name}: {message}", where)
        self.last_problem = message
        if entry not in self.problems:
            self.problems.append(entry)
            log.warning("%s", entry.message)
        return message

    def error(self, message: str) -> MeshReadError:
        return MeshReadError(message, path=self.path)

    def entry(self, kind: str, index: Any) -> dict:
        items = self.doc.get(kind)
        i = _int(index)
        if not isinstance(items, list) or i is None or not 0 <= i < len(items) or not isinstance(items[i], dict):
            raise self.error(f"{kind}[{index}] is referenced but the file has no such entry")
        return items[i]

    # --- references

    def _reference(self, uri: str, what: str) -> tuple[bytes | None, Path | None]:
        """A URI's bytes (data URI) or its file (inside root). (None, None) after reporting a problem."""
        if uri.startswith("data:"):
            header, comma, payload = uri.partition(",")
            if not comma:
                raise self.error(f"{what}: malformed data URI (no comma)")
            try:
                if header.endswith(";base64"):
                    return base64.b64decode(payload, validate=True), None
                return unquote_to_bytes(payload), None
            except (binascii.Error, ValueError) as exc:
                raise self.error(f"{what}: malformed base64 in its data URI") from exc
        parts = urlsplit(uri)
        scheme = parts.scheme.lower()
        if scheme == "file":
            if parts.netloc not in ("", "localhost"):
                self.problem("unsafe_reference", f"{what} refers to {uri!r} on another host: not read", uri)
                return None, None
            reference = unquote(parts.path)
        elif scheme and len(scheme) > 1:
            self.problem("unsafe_reference", f"{what} refers to {uri!r}: llvscan reads no remote data", uri)
            return None, None
        else:
            reference = unquote(uri if len(scheme) == 1 else parts.path)  # "C:/x" stays a path
        try:
            target = resolve_inside(self.root, self.path.parent, reference, referrer=self.path)
        except UnsafePathError:
            self.problem("unsafe_reference", f"{what} refers to {uri!r}, which resolves outside the collection "
                         f"root {self.root}: not read", uri)
            return None, None
        except (OSError, ValueError, RuntimeError):  # NUL bytes, symlink loops
            self.problem("unsafe_reference", f"{what} refers to {uri!r}, which is not a usable path: not read", uri)
            return None, None
        return None, target

    def buffer(self, index: Any) -> bytes | None:
        """Buffer ``index`` (None when it is missing, unsafe or a meshopt fallback without data)."""
        i = _int(index)
        if i in self._buffers:
            return self._buffers[i]
        entry = self.entry("buffers", index)
        assert i is not None
        claimed = _int(entry.get("byteLength"))
        if claimed is None or claimed < 0:
            raise self.error(f"buffers[{i}].byteLength is missing or invalid")
        uri = entry.get("uri")
        data: bytes | None = None
        if uri is None:
            if i == 0 and self.binary is not None:
                data = self.binary
            elif _MESHOPT in _dict(entry.get("extensions")):  # a fallback buffer without data
                raise _Unsupported(_MESHOPT)
            else:
                self.problem("missing_buffer", f"buffers[{i}] has no URI and no GLB BIN chunk holds it")
        elif not isinstance(uri, str):
            raise self.error(f"buffers[{i}].uri is not a string")
        else:
            data, target = self._reference(uri, f"buffers[{i}]")
            if target is not None:
                try:
                    if not target.is_file():
                        self.problem("missing_buffer", f"buffers[{i}]: {uri!r} is not found", str(target))
                    elif target.stat().st_size < claimed:
                        raise self.error(f"buffers[{i}] claims {claimed:,} bytes but {target.name} has "
                                         f"{target.stat().st_size:,}: truncated")
                    else:
                        with target.open("rb") as fh:
                            data = fh.read(claimed)
                except MeshReadError:
                    raise
                except OSError as exc:
                    self.problem("missing_buffer", f"buffers[{i}]: cannot read {uri!r} ({exc.strerror})",
                                 str(target))
        if data is not None and len(data) < claimed:
            raise self.error(f"buffers[{i}] claims {claimed:,} bytes but holds {len(data):,}: truncated or corrupt")
        if data is not None:
            data = data[:claimed]
        else:
            self._why[i] = self.last_problem
        self._buffers[i] = data
        return data

    def view(self, index: Any, *, what: str) -> tuple[memoryview, int]:
        """BufferView ``index`` as bytes, and its byteStride (0 when tightly packed)."""
        entry = self.entry("bufferViews", index)
        data = self.buffer(entry.get("buffer"))
        if data is None:
            why = self._why.get(entry["buffer"], "")
            raise self.error(f"{what}: the buffer holding it cannot be read: {why}")
        offset = _int(entry.get("byteOffset"), 0)
        length = _int(entry.get("byteLength"))
        stride = _int(entry.get("byteStride"), 0)
        if offset is None or length is None or stride is None or offset < 0 or length < 0 or not 0 <= stride <= 252:
            raise self.error(f"bufferViews[{index}]: byteOffset/byteLength/byteStride missing or invalid")
        if offset + length > len(data):
            raise self.error(f"bufferViews[{index}] spans bytes {offset:,}..{offset + length:,} but "
                             f"buffers[{entry.get('buffer')}] has {len(data):,}")
        return memoryview(data)[offset:offset + length], stride

    # --- accessors

    def accessor(self, index: Any, *, what: str, limit: int, normalize: bool = True) -> np.ndarray:
        """Accessor ``index`` as a (count, width) array: float64 for attributes (normalised integers
        scaled per the spec), the raw integers for indices (``normalize=False``). Accessors without a
        bufferView (zeros plus sparse values) may hold at most ``limit`` elements."""
        entry = self.entry("accessors", index)
        where = f"{what} (accessors[{index}])"
        dtype = _COMPONENT.get(_int(entry.get("componentType")))
        width = _WIDTH.get(entry.get("type") if isinstance(entry.get("type"), str) else None)
        count = _int(entry.get("count"))
        if dtype is None or width is None or count is None or count < 1:
            raise self.error(f"{where}: componentType/type/count missing or not a vector llvscan reads")
        element = dtype.itemsize * width
        if "bufferView" in entry:
            raw, stride = self.view(entry["bufferView"], what=where)
            offset = _int(entry.get("byteOffset"), 0)
            if offset is None or offset < 0:
                raise self.error(f"{where}: invalid byteOffset")
            stride = stride or element
            if stride < element:
                raise self.error(f"{where}: byteStride {stride} is smaller than an element ({element} bytes)")
            needed = offset + stride * (count - 1) + element
            if needed > len(raw):
                raise self.error(f"{where} claims {count:,} elements needing {needed:,} bytes but its bufferView "
                                 f"has {len(raw):,}: truncated or corrupt")
            values = np.ndarray((count, width), dtype=dtype, buffer=raw, offset=offset,
                                strides=(stride, dtype.itemsize)).copy()
        else:
            if count > limit:
                raise ResourceLimitError(f"{where} claims {count:,} elements without data, above the limit "
                                         f"{limit:,} the face limit allows", path=self.path)
            values = np.zeros((count, width), dtype=dtype)
        sparse = entry.get("sparse")
        if sparse is not None:
            self._apply_sparse(sparse, values, where)
        if not normalize:
            return values
        out = values.astype(np.float64)
        if entry.get("normalized") and dtype.kind in "iu":
            top = float(np.iinfo(dtype).max)
            out = out / top if dtype.kind == "u" else np.maximum(out / top, -1.0)
        return out

    def _apply_sparse(self, sparse: Any, values: np.ndarray, where: str) -> None:
        if not isinstance(sparse, dict) or not isinstance(sparse.get("indices"), dict) \
                or not isinstance(sparse.get("values"), dict):
            raise self.error(f"{where}: malformed sparse block")
        n = _int(sparse.get("count"))
        if n is None or not 1 <= n <= len(values):
            raise self.error(f"{where}: sparse.count {sparse.get('count')!r} is not within 1..{len(values)}")
        idx_info, val_info = sparse["indices"], sparse["values"]
        idx_dtype = _COMPONENT.get(_int(idx_info.get("componentType")))
        if idx_dtype is None or idx_dtype.kind != "u":
            raise self.error(f"{where}: sparse indices must be unsigned integers")
        indices = self._packed(idx_info, n, idx_dtype, 1, f"{where} sparse indices").reshape(-1)
        if indices.size and int(indices.max()) >= len(values):
            raise self.error(f"{where}: a sparse index {int(indices.max())} is beyond its {len(values)} elements")
        width = values.shape[1]
        values[indices.astype(np.int64)] = self._packed(val_info, n, values.dtype, width, f"{where} sparse values")

    def _packed(self, info: dict, count: int, dtype: np.dtype, width: int, where: str) -> np.ndarray:
        raw, _ = self.view(info.get("bufferView"), what=where)
        offset = _int(info.get("byteOffset"), 0)
        if offset is None or offset < 0 or offset + count * width * dtype.itemsize > len(raw):
            raise self.error(f"{where}: {count:,} elements beyond their bufferView ({len(raw):,} bytes)")
        return np.frombuffer(raw, dtype=dtype, count=count * width, offset=offset).reshape(count, width).copy()

    def accessor_count(self, index: Any, what: str) -> int:
        count = _int(self.entry("accessors", index).get("count"))
        if count is None or count < 0:
            raise self.error(f"{what} (accessors[{index}]): count missing or invalid")
        return count

    # --- images

    def image(self, index: int) -> _Image | None:
        if index in self._images:
            return self._images[index]
        entry = self.entry("images", index)
        label = f"{self.path.name}#images/{index}"
        result: _Image | None = None
        if "bufferView" in entry:
            try:
                raw, _ = self.view(entry["bufferView"], what=f"images[{index}]")
                data = bytes(raw)
                size = image_size(data)
                result = _Image(label, data, size[:2] if size else None)
            except MeshReadError as exc:
                self.problem("missing_texture", f"images[{index}] cannot be read: {exc.message}", label)
            except _Unsupported as exc:
                self.problem("unsupported_extension", f"images[{index}] is stored with {exc.extension}, "
                             "which llvscan cannot decode", label)
        elif isinstance(entry.get("uri"), str):
            uri = entry["uri"]
            try:
                data_or_none, target = self._reference(uri, f"images[{index}]")
            except MeshReadError as exc:
                self.problem("missing_texture", f"images[{index}]: {exc.message}", label)
                data_or_none, target = None, None
            if data_or_none is not None:
                size = image_size(data_or_none)
                result = _Image(label, data_or_none, size[:2] if size else None)
            elif target is not None:
                if not target.is_file():
                    self.problem("missing_texture", f"images[{index}]: {uri!r} is not found", str(target))
                    result = _Image(str(target), None, None)
                else:
                    try:
                        with target.open("rb") as fh:
                            size = image_size(fh.read(_HEADER_BYTES))
                    except OSError:
                        size = None
                    result = _Image(str(target), None, size[:2] if size else None)
        else:
            self.problem("missing_texture", f"images[{index}] has neither a uri nor a bufferView", label)
        self._images[index] = result
        return result


# --- scene and transforms -----------------------------------------------------------------------

def _local_matrix(doc: _Document, node: dict, index: int) -> np.ndarray:
    if "matrix" in node:
        values = _floats(node["matrix"], 16, [])
        if values is None:
            raise doc.error(f"nodes[{index}].matrix is not 16 finite numbers")
        return np.array(values, dtype=np.float64).reshape(4, 4).T  # glTF stores it column-major
    t = _floats(node.get("translation"), 3, [0.0, 0.0, 0.0])
    r = _floats(node.get("rotation"), 4, [0.0, 0.0, 0.0, 1.0])
    s = _floats(node.get("scale"), 3, [1.0, 1.0, 1.0])
    if t is None or r is None or s is None:
        raise doc.error(f"nodes[{index}]: translation/rotation/scale are not finite numbers of the right count")
    x, y, z, w = r
    norm = math.sqrt(x * x + y * y + z * z + w * w)
    if norm == 0.0:
        raise doc.error(f"nodes[{index}].rotation is a zero quaternion")
    x, y, z, w = x / norm, y / norm, z / norm, w / norm
    rotation = np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])
    matrix = np.eye(4)
    matrix[:3, :3] = rotation * np.array(s)[None, :]
    matrix[:3, 3] = t
    return matrix


def _mesh_nodes(doc: _Document) -> Iterator[tuple[int, np.ndarray]]:
    """(mesh index, world matrix) of every node with a mesh under the default scene's roots."""
    nodes = doc.doc.get("nodes") or []
    if not isinstance(nodes, list):
        raise doc.error("nodes is not a list")
    scenes = doc.doc.get("scenes")
    if isinstance(scenes, list) and scenes:
        scene = doc.entry("scenes", doc.doc.get("scene", 0))
        roots = scene.get("nodes") or []
    else:  # no scene: every node that is no node's child
        children = {c for n in nodes if isinstance(n, dict) for c in (n.get("children") or []) if isinstance(c, int)}
        roots = [i for i in range(len(nodes)) if i not in children]
    if not isinstance(roots, list):
        raise doc.error("the scene's nodes is not a list")
    stack: list[tuple[Any, np.ndarray, tuple[int, ...]]] = [(r, np.eye(4), ()) for r in reversed(roots)]
    while stack:
        index, parent, ancestors = stack.pop()
        node = doc.entry("nodes", index)
        if index in ancestors or len(ancestors) > _MAX_NODE_DEPTH:
            raise doc.error(f"nodes[{index}] is its own ancestor (or the hierarchy is deeper than "
                            f"{_MAX_NODE_DEPTH}): not a tree")
        world = parent @ _local_matrix(doc, node, index)
        if "mesh" in node:
            yield node["mesh"], world
        kids = node.get("children") or []
        if not isinstance(kids, list):
            raise doc.error(f"nodes[{index}].children is not a list")
        stack.extend((c, world, (*ancestors, index)) for c in reversed(kids))


# --- primitives ---------------------------------------------------------------------------------

@dataclass
class _Part:
    """One primitive, read and transformed."""

    positions: np.ndarray  # (n, 3)
    faces: np.ndarray  # (m, 3) local indices
    normals: np.ndarray | None
    uv: np.ndarray | None  # llvscan's convention (v up), transform applied
    colors: np.ndarray | None  # (n, 4) uint8 sRGB
    material: int  # glTF material index, -1 for none


def _triangles(indices: np.ndarray, mode: int) -> np.ndarray:
    """(m, 3) triangles from a TRIANGLES/STRIP/FAN index list; strips and fans lose their degenerate
    (stitching) triangles."""
    n = len(indices)
    if mode == _TRIANGLES:
        return indices[: n - n % 3].reshape(-1, 3)
    if n < 3:
        return np.empty((0, 3), dtype=indices.dtype)
    i = np.arange(n - 2)
    if mode == _TRIANGLE_STRIP:  # {v_i, v_{i+1+i%2}, v_{i+2-i%2}}: every other triangle reversed
        tris = np.stack([indices[i], indices[i + 1 + i % 2], indices[i + 2 - i % 2]], axis=1)
    else:  # fan: {v_{i+1}, v_{i+2}, v_0}
        tris = np.stack([indices[i + 1], indices[i + 2], np.full(n - 2, indices[0])], axis=1)
    keep = (tris[:, 0] != tris[:, 1]) & (tris[:, 1] != tris[:, 2]) & (tris[:, 0] != tris[:, 2])
    return tris[keep]


def _face_count(count: int, mode: int) -> int:
    return count // 3 if mode == _TRIANGLES else max(count - 2, 0)


def _texture_info(material: dict | None) -> tuple[int, dict]:
    """(TEXCOORD set, KHR_texture_transform) of a material's base-colour texture."""
    info = _dict(_dict(material).get("pbrMetallicRoughness")).get("baseColorTexture")
    if not isinstance(info, dict):
        return 0, {}
    transform = _dict(_dict(info.get("extensions")).get("KHR_texture_transform"))
    tex_coord = _int(transform.get("texCoord"), None)
    if tex_coord is None:
        tex_coord = _int(info.get("texCoord"), 0) or 0
    return tex_coord, transform


def _transform_uv(doc: _Document, uv: np.ndarray, transform: dict) -> np.ndarray:
    """KHR_texture_transform: uv' = T · R · S · uv, in glTF's UV space (origin top-left)."""
    offset = _floats(transform.get("offset"), 2, [0.0, 0.0])
    scale = _floats(transform.get("scale"), 2, [1.0, 1.0])
    rotation = transform.get("rotation", 0.0)
    if offset is None or scale is None or isinstance(rotation, bool) or not isinstance(rotation, int | float) \
            or not math.isfinite(rotation):
        doc.problem("unsupported_extension", "a malformed KHR_texture_transform was ignored")
        return uv
    c, s = math.cos(rotation), math.sin(rotation)
    matrix = np.array([[c, s], [-s, c]]) @ np.diag(scale)
    return uv @ matrix.T + np.array(offset)


def _srgb_bytes(linear: np.ndarray) -> np.ndarray:
    """(n, 3|4) linear colours in [0, 1] → (n, 4) sRGB bytes: the inverse of ``glb.srgb_to_linear16``."""
    c = np.clip(np.nan_to_num(linear[:, :3]), 0.0, 1.0)
    srgb = np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1 / 2.4) - 0.055)
    out = np.full((len(linear), 4), 255, dtype=np.uint8)
    out[:, :3] = np.rint(srgb * 255.0)
    if linear.shape[1] == 4:
        out[:, 3] = np.rint(np.clip(np.nan_to_num(linear[:, 3]), 0.0, 1.0) * 255.0)
    return out


def _draco_arrays(doc: _Document, primitive: dict, where: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Indices and attributes of a KHR_draco_mesh_compression primitive, decoded by DracoPy."""
    try:
        import DracoPy
    except ImportError as exc:
        raise _Unsupported(_DRACO) from exc
    ext = primitive["extensions"][_DRACO]
    if not isinstance(ext, dict) or not isinstance(ext.get("attributes"), dict):
        raise doc.error(f"{where}: malformed {_DRACO} block")
    raw, _ = doc.view(ext.get("bufferView"), what=f"{where} Draco data")
    try:
        decoded = DracoPy.decode(bytes(raw))
    except Exception as exc:  # DracoPy raises whatever its decoder reports
        raise doc.error(f"{where}: the Draco data cannot be decoded ({type(exc).__name__}: {exc})") from exc
    faces = np.asarray(getattr(decoded, "faces", np.empty((0, 3))), dtype=np.int64).reshape(-1, 3)
    attributes: dict[str, np.ndarray] = {}
    accessors = primitive.get("attributes") or {}
    for name, unique_id in ext["attributes"].items():
        attribute = decoded.get_attribute_by_unique_id(unique_id) if isinstance(unique_id, int) else None
        if attribute is None:
            raise doc.error(f"{where}: the Draco data has no attribute {unique_id!r} for {name}")
        values = np.asarray(attribute["data"])
        values = values.reshape(len(values), -1)
        info = doc.entry("accessors", accessors[name]) if name in accessors else {}
        if values.dtype.kind in "iu" and info.get("normalized"):
            top = float(np.iinfo(values.dtype).max)
            values = values / top if values.dtype.kind == "u" else np.maximum(values / top, -1.0)
        attributes[name] = values.astype(np.float64)
    return faces, attributes


def _read_primitive(doc: _Document, primitive: dict, world: np.ndarray, where: str, budget: int) -> _Part:
    attributes = primitive.get("attributes")
    if not isinstance(attributes, dict) or "POSITION" not in attributes:
        raise doc.error(f"{where} has no POSITION attribute")
    mode = _int(primitive.get("mode"), _TRIANGLES)
    material_index = _int(primitive.get("material"), -1)
    if material_index is None:
        raise doc.error(f"{where}.material is not an index")
    material = doc.entry("materials", material_index) if material_index >= 0 else None
    tex_coord, transform = _texture_info(material)
    uv_name = f"TEXCOORD_{tex_coord}" if f"TEXCOORD_{tex_coord}" in attributes else "TEXCOORD_0"
    wanted = {"POSITION", "NORMAL", uv_name, "COLOR_0"}

    extensions = _dict(primitive.get("extensions"))
    index_key = primitive.get("indices")
    if index_key is not None:
        n_faces = _face_count(doc.accessor_count(index_key, f"{where} indices"), mode or 0)
    else:
        n_faces = _face_count(doc.accessor_count(attributes["POSITION"], f"{where} POSITION"), mode or 0)
    if n_faces > budget:
        raise ResourceLimitError(f"{where} brings the face count above the face limit", path=doc.path)
    limit = 3 * max(budget, 1)
    decoded: dict[str, np.ndarray] = {}
    if _DRACO in extensions:
        flat, decoded = _draco_arrays(doc, primitive, where)
        flat = flat.reshape(-1)
    elif index_key is not None:
        flat = doc.accessor(index_key, what=f"{where} indices", limit=limit, normalize=False)
        if flat.shape[1] != 1 or flat.dtype.kind != "u":
            raise doc.error(f"{where}: indices must be unsigned integer scalars")
        flat = flat.reshape(-1).astype(np.int64)
    else:
        flat = None
    arrays: dict[str, np.ndarray] = {}
    for name in wanted & set(attributes):
        arrays[name] = decoded[name] if name in decoded else \
            doc.accessor(attributes[name], what=f"{where} {name}", limit=limit)
    positions = arrays["POSITION"]
    n = len(positions)
    if positions.shape[1] != 3:
        raise doc.error(f"{where}: POSITION is not VEC3")
    for name, values in arrays.items():
        if len(values) != n:
            raise doc.error(f"{where}: {name} has {len(values)} elements but POSITION has {n}")
    if flat is None:
        flat = np.arange(n, dtype=np.int64)
    faces = _triangles(flat, mode or 0)
    if len(faces) > budget:
        raise ResourceLimitError(f"{where} brings the face count above the face limit", path=doc.path)
    if faces.size and (int(faces.max()) >= n or int(faces.min()) < 0):
        raise doc.error(f"{where}: a face refers to vertex {int(faces.max())} but the primitive has {n} vertices")
    if not np.isfinite(positions).all():
        raise doc.error(f"{where}: non-finite vertex positions")

    linear = world[:3, :3]
    positions = positions @ linear.T + world[:3, 3]
    if np.linalg.det(linear) < 0:  # a mirroring transform turns the winding clockwise: turn it back
        faces = faces[:, [0, 2, 1]]
    normals = None
    if "NORMAL" in arrays and arrays["NORMAL"].shape[1] == 3:
        try:
            normal_matrix = np.linalg.inv(linear).T
        except np.linalg.LinAlgError:
            normal_matrix = linear
        normals = arrays["NORMAL"] @ normal_matrix.T
        length = np.linalg.norm(normals, axis=1, keepdims=True)
        normals = np.divide(normals, length, out=np.zeros_like(normals), where=length > 0)
    uv = None
    if uv_name in arrays and arrays[uv_name].shape[1] == 2:
        uv = _transform_uv(doc, arrays[uv_name], transform) if transform else arrays[uv_name]
        uv = np.column_stack([uv[:, 0], 1.0 - uv[:, 1]])  # glTF's origin is the image's top-left
    colors = None
    if "COLOR_0" in arrays and arrays["COLOR_0"].shape[1] in (3, 4):
        colors = _srgb_bytes(arrays["COLOR_0"])
    return _Part(positions, faces, normals, uv, colors, material_index)


# --- materials ----------------------------------------------------------------------------------

def _texture_image(doc: _Document, info: Any, what: str) -> _Image | None:
    if not isinstance(info, dict):
        return None
    texture = doc.entry("textures", info.get("index"))
    extensions = _dict(texture.get("extensions"))
    source = texture.get("source")
    if source is None and isinstance(extensions.get("EXT_texture_webp"), dict):
        source = extensions["EXT_texture_webp"].get("source")
    if source is None:
        others = sorted(name for name in extensions if name != "EXT_texture_webp")
        named = others[0] if others else "no image"
        doc.problem("unsupported_extension", f"{what}: its only image source uses {named}, which llvscan cannot "
                    "decode: read without this texture", None)
        return None
    image = _int(source)
    if image is None:
        raise doc.error(f"{what}: texture source {source!r} is not an index")
    return doc.image(image)


def _material(doc: _Document, index: int) -> Material:
    entry = doc.entry("materials", index)
    name = entry["name"] if isinstance(entry.get("name"), str) else f"material_{index}"
    pbr: dict = entry["pbrMetallicRoughness"] if isinstance(entry.get("pbrMetallicRoughness"), dict) else {}
    factor = _floats(pbr.get("baseColorFactor"), 4, [1.0, 1.0, 1.0, 1.0]) or [1.0, 1.0, 1.0, 1.0]
    base = _texture_image(doc, pbr.get("baseColorTexture"), f"material {name!r} base colour")
    maps = []
    parent: dict
    for slot, key, parent, scale_key in (("normal", "normalTexture", entry, "scale"),
                                         ("occlusion", "occlusionTexture", entry, "strength"),
                                         ("emissive", "emissiveTexture", entry, None),
                                         ("metallic_roughness", "metallicRoughnessTexture", pbr, None)):
        info: Any = parent.get(key)
        image = _texture_image(doc, info, f"material {name!r} {key}")
        if image is not None:
            scale = info.get(scale_key, 1.0) if scale_key else 1.0
            scale = float(scale) if isinstance(scale, int | float) and not isinstance(scale, bool) else 1.0
            maps.append(TextureMap(slot, image.uri, image.data, image.size, scale))
    alpha_mode = entry.get("alphaMode", "OPAQUE")
    cutoff = entry.get("alphaCutoff", 0.5)
    emissive = _floats(entry.get("emissiveFactor"), 3, [0.0, 0.0, 0.0])
    metallic, roughness = pbr.get("metallicFactor", 1.0), pbr.get("roughnessFactor", 1.0)

    def number(value: Any, default: float) -> float:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        return float(value) if ok else default

    return Material(
        name=name,
        texture=base.uri if base else None,
        texture_size=base.size if base else None,
        color=(factor[0], factor[1], factor[2]) if "baseColorFactor" in pbr else None,
        texture_data=base.data if base else None,
        opacity=factor[3],
        alpha_mode=alpha_mode if alpha_mode in ("OPAQUE", "MASK", "BLEND") else "OPAQUE",
        alpha_cutoff=number(cutoff, 0.5),
        double_sided=entry.get("doubleSided") is True,
        maps=tuple(maps),
        emissive=(emissive[0], emissive[1], emissive[2]) if emissive and "emissiveFactor" in entry else None,
        metallic=number(metallic, 1.0),
        roughness=number(roughness, 1.0),
    )


# --- the reader ---------------------------------------------------------------------------------

def _load(path: Path, root: Path) -> _Document:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MeshReadError("cannot open the file", path=path, detail=exc.strerror) from exc
    if data[:4] == _GLB_MAGIC:
        text, binary = _split_glb(path, data)
    elif path.suffix.lower() == ".glb":
        raise MeshReadError("not a GLB file (no 'glTF' magic)", path=path)
    else:
        text, binary = data, None
    return _Document(path, root, _parse_json(path, text), binary)


def _check_extensions(doc: _Document) -> None:
    required = doc.doc.get("extensionsRequired") or []
    if not isinstance(required, list):
        return
    for name in required:
        if not isinstance(name, str):
            continue
        if name == _DRACO:
            try:
                import DracoPy  # noqa: F401
            except ImportError:
                doc.problem("unsupported_extension", f"requires {_DRACO} but DracoPy is not installed "
                            "(pip install DracoPy)")
            continue
        if name not in SUPPORTED_EXTENSIONS:
            doc.problem("unsupported_extension", f"requires the extension {name}, which llvscan does not "
                        "support: what it changes is not read")


def read_gltf(path: Path, *, max_faces: int, root: Path | None = None) -> Mesh:
    """A glTF 2.0 file (.glb or .gltf) as one ``Mesh`` in metres (see the module docstring).

    Raises ``MeshReadError`` (naming the file) when it is not a readable glTF, when geometry it needs
    lies outside the bytes present or in a missing buffer, or when no triangle can be read (naming the
    unsupported extension when that is why); ``ResourceLimitError`` above ``max_faces`` faces. What it
    reads past (points and lines, unsafe references, missing textures, unsupported extensions) is
    listed in ``Mesh.problems``.
    """
    path = Path(path)
    root = (Path(root) if root is not None else path.parent).resolve()
    doc = _load(path, root)
    _check_extensions(doc)

    parts: list[_Part] = []
    skipped: dict[str, int] = {}
    unsupported: set[str] = set()
    n_faces = 0
    for mesh_index, world in _mesh_nodes(doc):
        mesh = doc.entry("meshes", mesh_index)
        primitives = mesh.get("primitives")
        if not isinstance(primitives, list):
            raise doc.error(f"meshes[{mesh_index}].primitives is not a list")
        for p, primitive in enumerate(primitives):
            where = f"meshes[{mesh_index}].primitives[{p}]"
            if not isinstance(primitive, dict):
                raise doc.error(f"{where} is not an object")
            mode = _int(primitive.get("mode"), _TRIANGLES)
            if mode not in (_TRIANGLES, _TRIANGLE_STRIP, _TRIANGLE_FAN):
                name = _MODE_NAMES.get(mode, f"mode {primitive.get('mode')!r}")  # type: ignore[arg-type]
                skipped[name] = skipped.get(name, 0) + 1
                continue
            try:
                part = _read_primitive(doc, primitive, world, where, max_faces - n_faces)
            except _Unsupported as exc:
                unsupported.add(exc.extension)
                skipped[exc.extension] = skipped.get(exc.extension, 0) + 1
                continue
            n_faces += len(part.faces)
            parts.append(part)
    for extension in sorted(unsupported):
        doc.problem("unsupported_extension", f"{skipped[extension]} primitive(s) stored with {extension}, "
                    "which llvscan cannot decode, were skipped")
    lines = {k: v for k, v in skipped.items() if k not in unsupported}
    if lines:
        listed = ", ".join(f"{v} {k}" for k, v in sorted(lines.items()))
        doc.problem("skipped_primitives", f"primitives that are not triangles were skipped: {listed}")
    if n_faces == 0:
        why = f": its geometry needs {', '.join(sorted(unsupported))}, which llvscan cannot decode" \
            if unsupported else " (no triangle primitive in the scene)"
        raise MeshReadError(f"no faces could be read{why}", path=path)
    return _assemble(doc, parts)


def _assemble(doc: _Document, parts: list[_Part]) -> Mesh:
    offsets = np.cumsum([0] + [len(part.positions) for part in parts])
    n = int(offsets[-1])
    vertices = np.concatenate([part.positions for part in parts])
    faces = np.concatenate([part.faces + offsets[i] for i, part in enumerate(parts)]).astype(np.int64)

    def per_vertex(name: str, width: int, fill: float) -> tuple[np.ndarray | None, np.ndarray]:
        has = np.zeros(n, dtype=bool)
        if all(getattr(part, name) is None for part in parts):
            return None, has
        values = np.full((n, width), fill)
        for i, part in enumerate(parts):
            array = getattr(part, name)
            if array is not None:
                values[offsets[i]:offsets[i + 1]] = array
                has[offsets[i]:offsets[i + 1]] = True
        return values, has

    uv, has_uv = per_vertex("uv", 2, 0.0)
    normals, has_normal = per_vertex("normals", 3, 0.0)
    colors, _ = per_vertex("colors", 4, 255.0)

    used = sorted({part.material for part in parts if part.material >= 0},
                  key=[part.material for part in parts].index)
    slot = {m: i for i, m in enumerate(used)}
    materials = tuple(_material(doc, m) for m in used)
    face_material = None
    if materials:
        face_material = np.concatenate([np.full(len(part.faces), slot.get(part.material, -1), dtype=np.int32)
                                        for part in parts])
    return Mesh(
        vertices=vertices.astype(np.float64),
        faces=faces,
        uv=uv,
        uv_faces=np.where(has_uv[faces], faces, -1) if uv is not None else None,
        normals=normals,
        normal_faces=np.where(has_normal[faces], faces, -1) if normals is not None else None,
        vertex_colors=colors.astype(np.uint8) if colors is not None else None,
        materials=materials,
        face_material=face_material,
        units="m",
        path=str(doc.path),
        format="glb" if doc.path.suffix.lower() == ".glb" else "gltf",
        problems=tuple(doc.problems),
    )
