"""PLY as scanners and MeshLab write it, read with numpy: ascii, binary little- and big-endian, every
PLY scalar type, list properties with any count and item types, elements other than ``vertex`` and
``face`` stepped over (list properties included).

Kept as the file stores it, unlike trimesh (which splits vertices along texture seams and drops the
``TextureFile`` comments): vertex colours (``red green blue [alpha]``, uchar or float in 0..1, or
MeshLab's ``diffuse_red``…), vertex normals, per-vertex UVs (``s t``, ``u v``, ``texture_u
texture_v``), MeshLab's per-corner ``texcoord`` face lists with one material per ``comment
TextureFile`` and the face ``texnumber`` choosing among them. Polygons are fan-triangulated.

Guards: a header that claims more elements than the file can hold is refused before anything is
allocated, as is a face count above the face limit; a texture reference that leaves the collection root
is a ``ReadProblem`` (``unsafe_reference``), a missing one too (``missing_texture``); faces that name a
missing vertex are dropped and counted. Every parse failure is a ``MeshReadError`` naming the file and
the header line, body line (ascii) or element row (binary).
"""

from __future__ import annotations

import logging
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llvscan._paths import resolve_inside
from llvscan.errors import MeshReadError, ResourceLimitError, UnsafePathError
from llvscan.mesh.core.types import Material, Mesh, ReadProblem
from llvscan.mesh.core.units import declared_units

__all__ = ["read_ply"]

log = logging.getLogger(__name__)

_HEADER_LIMIT = 65536
_SCALARS = {
    "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1",
    "short": "i2", "int16": "i2", "ushort": "u2", "uint16": "u2",
    "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
    "float": "f4", "float32": "f4", "double": "f8", "float64": "f8",
    "int64": "i8", "uint64": "u8",  # not in the specification, but written by some tools
}
_STRUCT_CODES = {"i1": "b", "u1": "B", "i2": "h", "u2": "H", "i4": "i", "u4": "I", "i8": "q", "u8": "Q"}
_FORMATS = {"ascii": "", "binary_little_endian": "<", "binary_big_endian": ">"}
_FACE_LISTS = ("vertex_indices", "vertex_index")
_UV_PAIRS = (("s", "t"), ("u", "v"), ("texture_u", "texture_v"), ("texture_s", "texture_t"))
_COLOR_SETS = (("red", "green", "blue", "alpha"), ("diffuse_red", "diffuse_green", "diffuse_blue", "diffuse_alpha"))


@dataclass(frozen=True)
class _Property:
    name: str
    type: str  # numpy kind+size of the value (items, for a list), without byte order
    count: str | None = None  # numpy type of a list's count; None for a scalar


@dataclass(frozen=True)
class _Element:
    name: str
    count: int
    properties: tuple[_Property, ...]
    line: int  # header line of its "element" declaration


@dataclass(frozen=True)
class _Header:
    endian: str  # "" for ascii, "<" or ">" for binary
    elements: tuple[_Element, ...]
    textures: tuple[str, ...]
    body: int  # byte offset of the first element
    lines: int  # number of header lines


@dataclass
class _Columns:
    """One element's values: scalars as (n,) arrays, lists as CSR (counts (n,), flat values)."""

    scalars: dict[str, np.ndarray]
    lists: dict[str, tuple[np.ndarray, np.ndarray]]
    lines: np.ndarray | None = None  # ascii: the line of every row


# ------------------------------------------------------------------------------------------- header


def _parse_header(path: Path, head: bytes) -> _Header:
    if not head.startswith(b"ply") or head[3:4] not in (b"\n", b"\r"):
        raise MeshReadError("not a PLY file (no 'ply' magic)", path=path)
    end = head.find(b"end_header")
    if end < 0:
        raise MeshReadError(f"PLY header has no end_header within {_HEADER_LIMIT // 1024} KiB", path=path)
    body = end + len(b"end_header")
    if head[body:body + 1] == b"\r":
        body += 1
    if head[body:body + 1] == b"\n":
        body += 1
    try:  # texture names are UTF-8 today; older files may be Latin-1
        lines = head[:end].decode("utf-8").splitlines()
    except UnicodeDecodeError:
        lines = head[:end].decode("latin-1").splitlines()
    endian: str | None = None
    elements: list[_Element] = []
    current: tuple[str, int, list[_Property], int] | None = None
    textures: list[str] = []

    def fail(number: int, message: str) -> MeshReadError:
        return MeshReadError(f"header line {number}: {message}", path=path)

    for number, raw in enumerate(lines[1:], start=2):
        words = raw.split()
        if not words:
            continue
        keyword = words[0]
        if keyword in ("comment", "obj_info"):
            if len(words) >= 3 and words[1].lower() == "texturefile":
                textures.append(raw.split(None, 2)[2].strip())
        elif keyword == "format":
            if len(words) < 2 or words[1] not in _FORMATS:
                raise fail(number, f"unknown format {raw.strip()!r}: expected ascii, binary_little_endian "
                                   "or binary_big_endian")
            endian = _FORMATS[words[1]]
        elif keyword == "element":
            if len(words) != 3 or not words[2].isdigit():
                raise fail(number, f"malformed element declaration {raw.strip()!r}")
            if current is not None:
                elements.append(_Element(current[0], current[1], tuple(current[2]), current[3]))
            current = (words[1], int(words[2]), [], number)
        elif keyword == "property":
            if current is None:
                raise fail(number, "property before any element")
            if len(words) == 5 and words[1] == "list":
                count, item = _SCALARS.get(words[2]), _SCALARS.get(words[3])
                if count is None or item is None or count[0] == "f":
                    raise fail(number, f"unknown list types in {raw.strip()!r}")
                current[2].append(_Property(words[4], item, count))
            elif len(words) == 3 and words[1] in _SCALARS:
                current[2].append(_Property(words[2], _SCALARS[words[1]]))
            else:
                raise fail(number, f"malformed property {raw.strip()!r}")
        # other keywords are not PLY; they are read past, as other readers do
    if current is not None:
        elements.append(_Element(current[0], current[1], tuple(current[2]), current[3]))
    if endian is None:
        raise MeshReadError("PLY header has no format line", path=path)
    return _Header(endian, tuple(elements), tuple(textures), body, len(lines) + 1)


def _check_sizes(path: Path, header: _Header, size: int, max_faces: int) -> None:
    """Refuse a header that claims more faces than the limit, or more elements than the file can hold."""
    for element in header.elements:
        if element.name == "face" and element.count > max_faces:
            raise ResourceLimitError(f"header claims {element.count:,} faces, above the face limit "
                                     f"{max_faces:,}", path=path)
    total = 0
    for element in header.elements:
        if header.endian:  # the smallest row: every list empty
            row = sum(np.dtype(p.count or p.type).itemsize for p in element.properties)
        else:  # at least one character and one separator a value
            row = 2 * len(element.properties)
        total += element.count * row
    if header.endian == "":
        total -= 1  # the last value may end the file without a newline
    if total > size - header.body:
        raise MeshReadError(f"header claims elements needing at least {total:,} bytes but the file has "
                            f"{size - header.body:,} after its header: truncated or corrupt", path=path)


# ------------------------------------------------------------------------------------------- binary


def _row_layout(path: Path, buf: bytes, offset: int, element: _Element, endian: str,
                row: int) -> tuple[tuple[int, ...], int]:
    """The list counts of the row at ``offset``, and the row's size in bytes."""
    counts = []
    position = offset
    for p in element.properties:
        if p.count is None:
            position += np.dtype(p.type).itemsize
            continue
        count_type = np.dtype(endian + p.count)
        if position + count_type.itemsize > len(buf):
            break
        count = int(np.frombuffer(buf, count_type, count=1, offset=position)[0])
        if count < 0:
            raise MeshReadError(f"element '{element.name}' row {row}: negative list length {count} in "
                                f"'{p.name}'", path=path)
        counts.append(count)
        position += count_type.itemsize + count * np.dtype(p.type).itemsize
    if position > len(buf) or len(counts) < sum(p.count is not None for p in element.properties):
        raise MeshReadError(f"file ends in element '{element.name}' (row {row} of {element.count:,}): "
                            "truncated", path=path)
    return tuple(counts), position - offset


def _row_dtype(element: _Element, endian: str, counts: tuple[int, ...]) -> np.dtype:
    fields: list[tuple[str, object]] = []
    lists = iter(counts)
    for i, p in enumerate(element.properties):
        if p.count is None:
            fields.append((f"p{i}", endian + p.type))
        else:
            fields.append((f"c{i}", endian + p.count))
            fields.append((f"p{i}", (endian + p.type, (next(lists),))))
    return np.dtype(fields)


def _read_binary(path: Path, buf: bytes, offset: int, element: _Element, endian: str) -> tuple[_Columns, int]:
    """The columns of a binary element, and the offset after it.

    Rows of one layout (list lengths) are read at once as a structured array: a file of triangles only is
    one block. Where the layout changes every few rows (mixed triangles and quads), the rest of the rows
    are walked one by one for their offsets and their values gathered at once (``_walk``)."""
    pieces: list[_Columns] = []
    list_ids = [i for i, p in enumerate(element.properties) if p.count is not None]
    done, window = 0, element.count
    dtypes: dict[tuple[int, ...], np.dtype] = {}
    short_runs = 0
    while done < element.count and element.properties:
        if short_runs >= 8:
            piece, offset = _walk(path, buf, offset, element, endian, done)
            pieces.append(piece)
            break
        counts, row_size = _row_layout(path, buf, offset, element, endian, done)
        dtype = dtypes.get(counts)
        if dtype is None:
            dtype = dtypes[counts] = _row_dtype(element, endian, counts)
        take = min(element.count - done, window, (len(buf) - offset) // max(row_size, 1))
        rows = np.frombuffer(buf, dtype, count=take, offset=offset)
        same = np.ones(take, dtype=bool)
        for i, c in zip(list_ids, counts, strict=True):
            same &= rows[f"c{i}"] == c
        kept = take if same.all() else int(np.argmin(same))
        pieces.append(_block_columns(element, counts, rows[:kept]))
        offset += kept * dtype.itemsize
        done += kept
        short_runs = short_runs + 1 if kept < 16 else 0
        window = max(64, 2 * window if kept == take else 2 * kept)
    return _concatenate(element, pieces), offset


def _block_columns(element: _Element, layout: tuple[int, ...], rows: np.ndarray) -> _Columns:
    columns = _Columns({}, {})
    k = 0
    for i, p in enumerate(element.properties):
        if p.count is None:
            columns.scalars[p.name] = rows[f"p{i}"].astype(p.type)
        else:
            columns.lists[p.name] = (np.full(len(rows), layout[k], dtype=np.int64),
                                     rows[f"p{i}"].reshape(-1).astype(p.type))
            k += 1
    return columns


def _concatenate(element: _Element, pieces: list[_Columns]) -> _Columns:
    if len(pieces) == 1:
        return pieces[0]
    columns = _Columns({}, {})
    for p in element.properties:
        if p.count is None:
            columns.scalars[p.name] = np.concatenate([x.scalars[p.name] for x in pieces] or
                                                     [np.empty(0, p.type)])
        else:
            columns.lists[p.name] = (np.concatenate([x.lists[p.name][0] for x in pieces] or
                                                    [np.empty(0, np.int64)]),
                                     np.concatenate([x.lists[p.name][1] for x in pieces] or
                                                    [np.empty(0, p.type)]))
    return columns


def _walk(path: Path, buf: bytes, offset: int, element: _Element, endian: str,
          first: int) -> tuple[_Columns, int]:
    """Rows ``first``… of a binary element whose list lengths vary row to row: one Python step a row
    finds the offsets and list lengths, then every property is gathered with numpy."""
    n = element.count - first
    plan = []  # per list: (bytes before its count, struct of the count, item size)
    fixed = 0
    for p in element.properties:
        if p.count is None:
            fixed += np.dtype(p.type).itemsize
        else:
            plan.append((fixed, struct.Struct(endian + _STRUCT_CODES[p.count]), np.dtype(p.type).itemsize))
            fixed = 0
    offsets = np.empty(n, dtype=np.int64)
    lengths = np.empty((n, len(plan)), dtype=np.int64)
    position, size = offset, len(buf)
    row = 0
    try:
        for row in range(n):
            offsets[row] = position
            for j, (before, count_struct, item) in enumerate(plan):
                position += before
                c = count_struct.unpack_from(buf, position)[0]
                if c < 0:
                    raise MeshReadError(f"element '{element.name}' row {first + row}: negative list length {c}",
                                        path=path)
                lengths[row, j] = c
                position += count_struct.size + c * item
            position += fixed
            if position > size:
                raise struct.error
    except struct.error:
        raise MeshReadError(f"file ends in element '{element.name}' (row {first + row} of "
                            f"{element.count:,}): truncated", path=path) from None
    data = np.frombuffer(buf, dtype=np.uint8)
    columns = _Columns({}, {})
    at = offsets.copy()
    j = 0
    for p in element.properties:
        kind = np.dtype(endian + p.type)
        if p.count is None:
            columns.scalars[p.name] = _gather(data, at, kind).astype(p.type)
            at += kind.itemsize
            continue
        at += np.dtype(p.count).itemsize
        counts = lengths[:, j]
        starts = np.repeat(at - np.concatenate([[0], np.cumsum(counts)[:-1]]) * kind.itemsize, counts)
        items = starts + np.arange(int(counts.sum())) * kind.itemsize
        columns.lists[p.name] = (counts, _gather(data, items, kind).astype(p.type))
        at += counts * kind.itemsize
        j += 1
    return columns, position


def _gather(data: np.ndarray, positions: np.ndarray, kind: np.dtype) -> np.ndarray:
    """Values of type ``kind`` at byte ``positions`` of ``data``."""
    raw = data[positions[:, None] + np.arange(kind.itemsize)]
    return np.ascontiguousarray(raw).view(kind).reshape(-1)


# -------------------------------------------------------------------------------------------- ascii


def _numbers(path: Path, tokens: list[bytes], lines: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Float64 of the tokens; a malformed one is an error naming its line (``where[i]``: index into lines)."""
    try:
        return np.array(tokens, dtype=bytes).astype(np.float64) if tokens else np.empty(0)
    except ValueError:
        for token, row in zip(tokens, where, strict=True):
            try:
                float(token)
            except ValueError:
                raise MeshReadError(f"line {lines[row]}: malformed number {token.decode('latin-1')!r}",
                                    path=path) from None
        raise


def _fit(path: Path, values: np.ndarray, p: _Property, ids: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """``values`` (k rows of ``ids``) checked to fit property ``p``'s integer type; a misfit names its line."""
    kind = np.dtype(p.type)
    if kind.kind == "f":
        return values
    info = np.iinfo(kind)
    ok = np.isfinite(values) & (values == np.round(values)) & (values >= info.min) & (values <= info.max)
    if not ok.all():
        row = int(np.flatnonzero(~ok.all(axis=1))[0])
        raise MeshReadError(f"line {lines[ids[row]]}: '{p.name}' must be an integer of type {p.type} "
                            f"({values[row][~ok[row]][0]!r} is not)", path=path)
    return values.astype(kind)


def _blocks_of_rows(path: Path, rows: list[list[bytes]], lines: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Rows of words as blocks of rows with the same number of values: (row indices, (k, width) values)."""
    widths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    blocks = []
    for width in np.unique(widths):
        ids = np.flatnonzero(widths == width)
        tokens = [t for i in ids for t in rows[i]]
        values = _numbers(path, tokens, lines, np.repeat(ids, width))
        blocks.append((ids, values.reshape(len(ids), int(width))))
    return blocks


def _fast_blocks(region: bytes, element: _Element) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """The rows of an ascii element that is one row a line and one list layout throughout, converted at
    once; None when it is not (the row-by-row path then finds and names any bad line)."""
    n = element.count
    first = region[:region.find(b"\n") if b"\n" in region else len(region)].split()
    width = 0
    for p in element.properties:
        if p.count is not None:
            if width >= len(first) or not first[width].isdigit():
                return None
            width += int(first[width])
        width += 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy warns, then stops, at a value it cannot read
        try:
            values = np.fromstring(region.decode("latin-1"), sep=" ") if n else np.empty(0)
        except (ValueError, DeprecationWarning):
            return None
    if values.shape[0] != n * width:
        return None
    values = values.reshape(n, width)
    column = 0
    for p in element.properties:
        if p.count is not None:
            c = int(first[column])
            if not (values[:, column] == c).all():
                return None
            column += c
        column += 1
    return [(np.arange(n), values)]


def _columns(path: Path, element: _Element, blocks: list[tuple[np.ndarray, np.ndarray]],
             lines: np.ndarray) -> _Columns:
    """Columns of an ascii element from blocks of rows: a block whose list lengths differ is split by them."""
    n = element.count
    columns = _Columns({p.name: np.empty(n, dtype=p.type) for p in element.properties if p.count is None}, {},
                       lines)
    list_counts = {p.name: np.zeros(n, dtype=np.int64) for p in element.properties if p.count is not None}
    flat_parts: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {name: [] for name in list_counts}
    while blocks:
        ids, values = blocks.pop()
        column, split = 0, False
        for p in element.properties:
            if column >= values.shape[1]:
                raise MeshReadError(f"line {lines[ids[0]]}: too few values for element '{element.name}'",
                                    path=path)
            if p.count is None:
                column += 1
                continue
            counts = values[:, column]
            first = counts[0]
            if not (counts == first).all():  # split the block by this list's length and look again
                for c in np.unique(counts):
                    blocks.append((ids[counts == c], values[counts == c]))
                split = True
                break
            if not np.isfinite(first) or first < 0 or first != int(first):
                raise MeshReadError(f"line {lines[ids[0]]}: malformed list length in '{p.name}'", path=path)
            column += 1 + int(first)
        if split:
            continue
        if column != values.shape[1]:
            raise MeshReadError(f"line {lines[ids[0]]}: {values.shape[1]} values where element "
                                f"'{element.name}' has {column}", path=path)
        column = 0
        for p in element.properties:
            if p.count is None:
                columns.scalars[p.name][ids] = _fit(path, values[:, column:column + 1], p, ids, lines)[:, 0]
                column += 1
            else:
                c = int(values[0, column])
                list_counts[p.name][ids] = c
                flat_parts[p.name].append((ids, _fit(path, values[:, column + 1:column + 1 + c], p, ids, lines)))
                column += 1 + c
    for p in element.properties:
        if p.count is None:
            continue
        counts = list_counts[p.name]
        starts = np.concatenate([[0], np.cumsum(counts)])
        flat = np.empty(int(starts[-1]), dtype=p.type)
        for ids, values in flat_parts[p.name]:
            if values.shape[1]:
                flat[(starts[ids][:, None] + np.arange(values.shape[1])).reshape(-1)] = values.reshape(-1)
        columns.lists[p.name] = (counts, flat)
    return columns


def _ascii_rows(path: Path, data: bytes, header: _Header, needed: set[str]) -> dict[str, _Columns]:
    body = data[header.body:]
    ends = np.flatnonzero(np.frombuffer(body, dtype=np.uint8) == ord("\n"))
    ends = np.append(ends, len(body))
    found: dict[str, _Columns] = {}
    index = 0  # the next line of the body
    for element in header.elements:
        if not needed - set(found):
            break
        wanted = element.name in needed and element.name not in found
        n = element.count
        if wanted and index + n <= len(ends):  # one row a line: converted at once
            start = int(ends[index - 1]) + 1 if index else 0
            stop = int(ends[index + n - 1]) if n else start
            blocks = _fast_blocks(body[start:stop], element)
            if blocks is not None:
                found[element.name] = _columns(path, element, blocks,
                                               np.arange(n) + header.lines + 1 + index)
                index += n
                continue
        rows: list[list[bytes]] = []
        lines: list[int] = []
        while len(rows) < n:
            if index >= len(ends):
                raise MeshReadError(f"file ends in element '{element.name}' (row {len(rows)} of "
                                    f"{n:,}): truncated", path=path)
            words = body[int(ends[index - 1]) + 1 if index else 0:int(ends[index])].split()
            if words:
                rows.append(words)
                lines.append(header.lines + 1 + index)
            index += 1
        if wanted:
            line_numbers = np.array(lines, dtype=np.int64)
            found[element.name] = _columns(path, element, _blocks_of_rows(path, rows, line_numbers),
                                           line_numbers)
    return found


# --------------------------------------------------------------------------------------------- mesh


def _first(scalars: dict[str, np.ndarray], names: tuple[str, ...]) -> list[np.ndarray] | None:
    return [scalars[n] for n in names] if all(n in scalars for n in names) else None


def _vertex_colors(element: _Element, scalars: dict[str, np.ndarray]) -> np.ndarray | None:
    types = {p.name: p.type for p in element.properties}
    for names in _COLOR_SETS:
        rgb = _first(scalars, names[:3])
        if rgb is None:
            continue
        channels = [*rgb, scalars.get(names[3])]
        out = np.full((len(rgb[0]), 4), 255, dtype=np.uint8)
        for k, (name, values) in enumerate(zip(names, channels, strict=True)):
            if values is None:
                continue
            kind = types[name]
            if kind[0] == "f":
                scaled = np.rint(np.clip(np.nan_to_num(values.astype(np.float64)), 0.0, 1.0) * 255.0)
            elif kind in ("u1", "i1"):
                scaled = np.clip(values.astype(np.int64), 0, 255)
            else:  # 16 bits or more: full range of the type to 0..255
                top = float(np.iinfo(np.dtype(kind)).max)
                scaled = np.rint(np.clip(values.astype(np.float64), 0.0, top) * (255.0 / top))
            out[:, k] = scaled.astype(np.uint8)
        return out
    return None


def _materials(path: Path, root: Path, textures: tuple[str, ...]) -> tuple[list[Material], list[ReadProblem]]:
    """One material per ``TextureFile``, its texture resolved inside ``root``; what went wrong, as problems."""
    materials: list[Material] = []
    problems: list[ReadProblem] = []
    for i, name in enumerate(textures):
        label = Path(name.replace("\\", "/")).stem or f"texture{i}"
        try:
            resolved = resolve_inside(root, path.parent, name, referrer=path)
        except UnsafePathError:
            problems.append(ReadProblem("unsafe_reference", f"TextureFile {name!r} resolves outside the "
                                        "collection root: not read", path=name))
            materials.append(Material(label))
            continue
        if not resolved.is_file():
            problems.append(ReadProblem("missing_texture", f"TextureFile {name!r} not found: expected at "
                                        f"{resolved}", path=str(resolved)))
        materials.append(Material(label, str(resolved)))
    return materials, problems


def _corner_uv(counts: np.ndarray, uv_counts: np.ndarray, uv_flat: np.ndarray,
               corners: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
    """MeshLab's per-corner ``texcoord`` lists (two floats a corner) as deduplicated UVs and their
    (M, 3) indices per triangle corner; a face whose list has another length has no UVs (-1)."""
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    uv_starts = np.concatenate([[0], np.cumsum(uv_counts)[:-1]]).astype(np.int64)
    polygon_of_corner = np.repeat(np.arange(len(counts)), counts)
    at = np.flatnonzero((uv_counts == 2 * counts)[polygon_of_corner])
    if len(at) == 0:
        return None, None
    source = uv_starts[polygon_of_corner[at]] + 2 * (at - starts[polygon_of_corner[at]])
    pairs = np.stack([uv_flat[source], uv_flat[source + 1]], axis=1).astype(np.float64)
    uv, inverse = np.unique(pairs, axis=0, return_inverse=True)
    corner_index = np.full(len(polygon_of_corner), -1, dtype=np.int64)
    corner_index[at] = inverse.reshape(-1)
    return uv, corner_index[corners]


def _fan(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fan triangulation of polygons with ``counts`` corners: for every triangle its polygon, and the
    positions of its three corners in the flat corner list."""
    if (counts == 3).all():  # triangles only, as scanners write them
        return np.arange(len(counts)), np.arange(3 * len(counts)).reshape(-1, 3)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    per = np.clip(counts - 2, 0, None)
    polygon = np.repeat(np.arange(len(counts)), per)
    first = np.concatenate([[0], np.cumsum(per)[:-1]]).astype(np.int64)
    k = np.arange(len(polygon)) - np.repeat(first, per)
    base = starts[polygon]
    return polygon, np.stack([base, base + k + 1, base + k + 2], axis=1)


def read_ply(path: str | Path, *, max_faces: int, root: Path | None = None) -> Mesh:
    """A PLY file as a ``Mesh`` (see the module docstring); texture references must stay inside ``root``
    (by default the file's folder)."""
    path = Path(path)
    root = (Path(root) if root is not None else path.parent).resolve()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MeshReadError("cannot open the file", path=path, detail=exc.strerror) from exc
    header = _parse_header(path, data[:_HEADER_LIMIT])
    _check_sizes(path, header, len(data), max_faces)
    elements = {e.name: e for e in reversed(header.elements)}  # the first of a name counts
    vertex = elements.get("vertex")
    if vertex is None:
        raise MeshReadError("no 'vertex' element in the PLY header", path=path)
    face = elements.get("face")
    if face is None or face.count == 0:
        raise MeshReadError(f"point cloud: {vertex.count:,} vertices and no faces — llvscan reads "
                            "triangle meshes", path=path)
    names = {p.name for p in vertex.properties}
    if not {"x", "y", "z"} <= names:
        raise MeshReadError("the 'vertex' element has no x, y, z properties", path=path)
    index_name = next((p.name for p in face.properties if p.count is not None and p.name in _FACE_LISTS), None)
    if index_name is None:
        raise MeshReadError("the 'face' element has no vertex_indices list", path=path)

    needed = {"vertex", "face"}
    columns: dict[str, _Columns] = {}
    if header.endian:
        offset = header.body
        for element in header.elements:
            if not needed - set(columns):
                break
            read, offset = _read_binary(path, data, offset, element, header.endian)
            if element.name in needed and element.name not in columns:
                columns[element.name] = read
    else:
        columns = _ascii_rows(path, data, header, needed)
    v, f = columns["vertex"], columns["face"]

    vertices = np.stack([v.scalars["x"], v.scalars["y"], v.scalars["z"]], axis=1).astype(np.float64)
    counts, flat = f.lists[index_name]
    polygon, corners = _fan(counts)
    if (counts < 3).any():
        log.warning("%s: %d faces with fewer than 3 vertices left out", path, int((counts < 3).sum()))
    if len(polygon) > max_faces:
        raise ResourceLimitError(f"{len(polygon):,} triangles exceed the face limit {max_faces:,}", path=path)
    faces = flat.astype(np.int64).reshape(-1, 3) if len(flat) == 3 * len(counts) == 3 * len(polygon) \
        else flat.astype(np.int64)[corners]
    bad = ((faces < 0) | (faces >= len(vertices))).any(axis=1)
    dropped_polygons = np.unique(polygon[bad]) if bad.any() else np.empty(0, dtype=np.int64)
    if len(dropped_polygons):
        keep = ~np.isin(polygon, dropped_polygons)
        faces, polygon, corners = faces[keep], polygon[keep], corners[keep]
    if len(faces) == 0:
        raise MeshReadError(f"none of its {face.count:,} faces is usable (they name missing vertices, or "
                            "have fewer than 3)", path=path)
    dropped_lines = tuple(int(x) for x in f.lines[dropped_polygons]) if f.lines is not None else ()

    uv = uv_faces = None
    materials: list[Material] = []
    problems: list[ReadProblem] = []
    face_material = None
    if header.textures:
        materials, problems = _materials(path, root, header.textures)
    if "texcoord" in f.lists:
        uv, uv_faces = _corner_uv(counts, *f.lists["texcoord"], corners)
        if materials:
            numbers = f.scalars.get("texnumber")
            face_material = (np.zeros(len(faces), dtype=np.int32) if numbers is None
                             else numbers.astype(np.int64)[polygon])
            face_material = np.where((face_material >= 0) & (face_material < len(materials)),
                                     face_material, -1).astype(np.int32)
    else:
        pair = next((p for p in _UV_PAIRS if p[0] in v.scalars and p[1] in v.scalars), None)
        if pair is not None:
            uv = np.stack([v.scalars[pair[0]], v.scalars[pair[1]]], axis=1).astype(np.float64)
            uv_faces = faces
        if materials:
            face_material = np.zeros(len(faces), dtype=np.int32)
    normals = normal_faces = None
    if {"nx", "ny", "nz"} <= set(v.scalars):
        normals = np.stack([v.scalars["nx"], v.scalars["ny"], v.scalars["nz"]], axis=1).astype(np.float64)
        normal_faces = faces
    for problem in problems:
        log.warning("%s: %s", path, problem.message)
    return Mesh(
        vertices=vertices,
        faces=faces,
        uv=uv,
        uv_faces=uv_faces,
        normals=normals,
        normal_faces=normal_faces,
        vertex_colors=_vertex_colors(vertex, v.scalars),
        materials=tuple(materials),
        face_material=face_material,
        units=declared_units(path),
        path=str(path),
        format="ply",
        dropped_faces=len(dropped_polygons),
        dropped_face_lines=dropped_lines,
        problems=tuple(problems),
    )
