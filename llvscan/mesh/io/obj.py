"""Wavefront OBJ + MTL reading with llvscan's numba parser (``_obj_kernels``).

Two passes over the memory-mapped bytes: one sizes the arrays, one fills them. Quads and polygons are
fan-triangulated, negative indices resolved, ``v x y z r g b`` vertex colours read. A face that names a
vertex, UV or normal the file does not have is left out and counted (``Mesh.dropped_faces``, with line
numbers) so the validator can report it; a malformed line is a ``MeshReadError`` naming the line.

MTL files are read as exporters (Blender, MeshLab, Metashape, RealityCapture, 3ds Max) write them:
texture options before the file name (``map_Kd -s 1 1 1 -bm 0.5 fuze uv.jpg``: each option takes its
own number of arguments and the rest of the line is the name, spaces and all), quoted names, ``./`` and
backslash paths, several ``mtllib`` lines or several files on one. ``Kd``, ``d``/``Tr``, ``Ke``, ``Pr``,
``Pm``, ``map_Kd``, ``map_Bump``/``bump``/``norm`` (normal) and ``map_Ke`` (emissive) are read.

Every reference must resolve inside the collection root. What the reader meets and reads past is a
``ReadProblem`` on the mesh, never a failure: ``missing_mtl``, ``unreadable_mtl``, ``missing_texture``
(the material keeps the resolved path, so texture checks still name it), ``unsafe_reference`` (a
reference leaving the root, symlinks followed: not read, not used) and ``texture_options_ignored``
(``-s``/``-o`` that would move the texture on the UVs: llvscan keeps the UVs as stored and says so).
"""

from __future__ import annotations

import itertools
import math
import mmap
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from llvscan._paths import resolve_inside
from llvscan.errors import MeshReadError, ResourceLimitError, UnsafePathError
from llvscan.mesh.core.types import Material, Mesh, ReadProblem, TextureMap
from llvscan.mesh.core.units import declared_units

__all__ = ["obj_references", "read_mtl", "read_obj"]

_USEMTL_RE = re.compile(rb"^[ \t]*usemtl\b[ \t]*([^\r\n#]*)", re.MULTILINE)
_MTLLIB_RE = re.compile(rb"^[ \t]*mtllib[ \t]+([^\r\n#]+)", re.MULTILINE)
_MESSAGES = {1: "malformed number", 2: "too few coordinates", 3: "malformed face"}

_MAX_MTL_BYTES = 16 << 20  # an MTL is a few kilobytes; a bigger "MTL" is not one, and is not read
_KEY_RE = re.compile(r"(\S+)\s*(.*)$")
_WORD_RE = re.compile(r"\S+")
_QUOTED_RE = re.compile(r"\"([^\"]*)\"|'([^']*)'|(\S+)")
_NUMBER_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_WINDOWS_ABSOLUTE_RE = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\)")  # C:\… or \\server\…
# texture options (MTL spec, "Texture map statements"): option → at most how many arguments it takes;
# numeric options take only numbers (-s/-o/-t take "u [v [w]]"), the others one word (on/off, r|g|b|m|l|z)
_MAP_OPTIONS = {"-blendu": 1, "-blendv": 1, "-cc": 1, "-clamp": 1, "-imfchan": 1, "-type": 1,
                "-bm": 1, "-boost": 1, "-texres": 1, "-mm": 2, "-o": 3, "-s": 3, "-t": 3}
_NUMERIC_OPTIONS = frozenset({"-bm", "-boost", "-texres", "-mm", "-o", "-s", "-t"})
# MTL keyword → texture slot (None: the base colour)
_MAP_KEYS = {"map_kd": None, "map_bump": "normal", "bump": "normal", "norm": "normal", "map_norm": "normal",
             "map_ke": "emissive"}


def _decode(data: bytes) -> str:
    """UTF-8 (a BOM dropped); files from older Windows tools that are not UTF-8 are read as Latin-1."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def _numbers(words: list[str]) -> list[float]:
    try:
        return [float(w) for w in words]
    except ValueError:
        return []


def _parse_map(rest: str) -> tuple[str, dict[str, list[str]]]:
    """A texture statement's options and file name: ``-s 1 1 1 -bm 0.5 fuze uv.jpg`` →
    (``fuze uv.jpg``, {"-s": ["1", "1", "1"], "-bm": ["0.5"]}). The name is the rest of the line after
    the options, so it may hold spaces; at least one word is always left for it."""
    words = list(_WORD_RE.finditer(rest))
    options: dict[str, list[str]] = {}
    i = 0
    while i < len(words) - 1:
        option = words[i].group().lower()
        if option not in _MAP_OPTIONS:
            break
        args: list[str] = []
        j = i + 1
        while (len(args) < _MAP_OPTIONS[option] and j < len(words) - 1
               and (option not in _NUMERIC_OPTIONS or _NUMBER_RE.match(words[j].group()))):
            args.append(words[j].group())
            j += 1
        options[option] = args
        i = j
    name = rest[words[i].start():].strip() if i < len(words) else ""
    return _unquote(name), options


def _moves_texture(options: dict[str, list[str]]) -> str | None:
    """The ``-s``/``-o`` options that would move the texture on the UVs (u and v; w is for 3-D textures)."""
    moved = []
    for option, identity in (("-s", 1.0), ("-o", 0.0)):
        values = _numbers(options.get(option, []))[:2]
        if any(v != identity for v in values):
            moved.append(f"{option} {' '.join(options[option])}")
    return ", ".join(moved) or None


def _locate(root: Path, base: Path, reference: str, *, referrer: Path) -> Path:
    """``reference`` resolved inside ``root`` (``UnsafePathError`` when it leaves it). A Windows absolute
    path (``C:\\scans\\tex.jpg``, written by exporters on the machine that made the file) names a file on
    another machine: the file of that name beside the referrer is used, as other readers do."""
    if _WINDOWS_ABSOLUTE_RE.match(reference):
        reference = reference.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    try:
        resolved = resolve_inside(root, base, reference, referrer=referrer)
        if not os.path.lexists(resolved):  # made on Windows, where "Scan.JPG" opens scan.jpg
            other = _same_name_ignoring_case(resolved)
            if other is not None:
                resolved = resolve_inside(root, other.parent, other.name, referrer=referrer)
        return resolved
    except UnsafePathError:
        raise
    except (OSError, ValueError, RuntimeError) as exc:  # a NUL byte, a symlink loop: not followed further
        raise UnsafePathError(f"refers to {reference!r}, which cannot be resolved", path=referrer,
                              detail=str(exc)) from exc


def _same_name_ignoring_case(path: Path) -> Path | None:
    """The one entry of ``path``'s folder whose name matches ``path``'s but for case, if there is one."""
    wanted = path.name.casefold()
    try:
        with os.scandir(path.parent) as entries:
            found = [entry.name for entry in entries if entry.name.casefold() == wanted]
    except OSError:
        return None
    return path.parent / found[0] if len(found) == 1 else None


def _is_file(path: Path) -> bool:
    return os.path.isfile(path)


@dataclass
class _Draft:
    """A material while its MTL block is read."""

    name: str
    texture: str | None = None
    color: tuple[float, float, float] | None = None
    d: float | None = None
    tr: float | None = None
    emissive: tuple[float, float, float] | None = None
    metallic: float | None = None
    roughness: float | None = None
    maps: dict[str, TextureMap] = field(default_factory=dict)

    def material(self) -> Material:
        opacity = self.d if self.d is not None else 1.0 - self.tr if self.tr is not None else 1.0
        opacity = min(max(opacity, 0.0), 1.0) if math.isfinite(opacity) else 1.0
        return Material(self.name, self.texture, None, self.color, opacity=opacity,
                        alpha_mode="BLEND" if opacity < 1.0 else "OPAQUE", maps=tuple(self.maps.values()),
                        emissive=self.emissive, metallic=self.metallic, roughness=self.roughness)


def _color(words: list[str]) -> tuple[float, float, float] | None:
    """``Kd r [g b]`` (g and b default to r); ``Kd spectral …`` and ``Kd xyz …`` are not read."""
    values = _numbers(words[:3])
    if len(values) == 1:
        values *= 3
    return (values[0], values[1], values[2]) if len(values) == 3 else None


class _MtlReader:
    """Reads MTL files for one mesh, collecting its ``ReadProblem``s (each problem once)."""

    def __init__(self, root: Path, subject: str):
        self.root = root
        self.subject = subject  # the name messages start with: the OBJ's (or the MTL's when read alone)
        self.problems: list[ReadProblem] = []
        self._seen: set[tuple[str, str | None]] = set()

    def problem(self, code: str, message: str, path: Path | str | None) -> None:
        where = None if path is None else str(path)
        # a missing file is listed once; a refused reference or ignored option once per statement
        key = (code, message if code in ("unsafe_reference", "texture_options_ignored") else where)
        if key not in self._seen:
            self._seen.add(key)
            self.problems.append(ReadProblem(code, f"{self.subject}: {message}", where))

    def resolve(self, base: Path, reference: str, *, referrer: Path, what: str) -> Path | None:
        try:
            return _locate(self.root, base, reference, referrer=referrer)
        except UnsafePathError:
            self.problem("unsafe_reference", f"{what} {reference!r} in {referrer.name} resolves outside the "
                         "collection root (or cannot be resolved); it was not read", referrer)
            return None

    def read(self, path: Path) -> list[Material]:
        """The materials of the MTL at ``path`` (already resolved inside the root)."""
        try:
            size = path.stat().st_size
            if size > _MAX_MTL_BYTES:
                self.problem("unreadable_mtl", f"{path.name} is {size:,} bytes, too large for an MTL; "
                             "not read", path)
                return []
            text = _decode(path.read_bytes())
        except OSError as exc:
            self.problem("unreadable_mtl", f"{path.name} cannot be read ({exc.strerror or exc})", path)
            return []
        materials: list[Material] = []
        draft: _Draft | None = None
        for raw in text.splitlines():
            match = _KEY_RE.match(raw.strip())
            if not match or match.group(1).startswith("#"):
                continue
            key, rest = match.group(1).lower(), match.group(2)
            if key == "newmtl":
                if draft is not None:
                    materials.append(draft.material())
                draft = _Draft(" ".join(rest.split()) or "material")
                continue
            if draft is None:
                continue
            words = rest.split("#", 1)[0].split()
            if key in _MAP_KEYS:
                self._map(draft, path, match.group(1), rest)
            elif key == "kd":
                draft.color = _color(words)
            elif key == "ke":
                draft.emissive = _color(words)
            elif key in ("d", "tr", "pr", "pm") and (values := _numbers([w for w in words if w != "-halo"][:1])):
                if key == "d":
                    draft.d = values[0]
                elif key == "tr":
                    draft.tr = values[0]
                elif key == "pr":
                    draft.roughness = values[0]
                else:
                    draft.metallic = values[0]
        if draft is not None:
            materials.append(draft.material())
        return materials

    def _map(self, draft: _Draft, mtl: Path, key: str, rest: str) -> None:
        """A texture statement (``key`` as written: ``map_Kd``, ``bump``…) of the material being read."""
        reference, options = _parse_map(rest)
        if not reference:
            return
        statement = f"{key} of material {draft.name!r}"
        texture = self.resolve(mtl.parent, reference, referrer=mtl, what=f"texture ({statement})")
        if texture is None:
            return
        if not _is_file(texture):
            self.problem("missing_texture", f"texture {reference!r} ({statement} in {mtl.name}) not found",
                         texture)
        moved = _moves_texture(options)
        if moved:
            self.problem("texture_options_ignored", f"{statement} in {mtl.name} has {moved}; llvscan keeps "
                         "the UVs as stored, so the texture would be placed differently: bake the scale "
                         "and offset into the UVs, or remove the options", mtl)
        slot = _MAP_KEYS[key.lower()]
        if slot is None:
            draft.texture = str(texture)
        else:
            bm = _numbers(options.get("-bm", []))
            scale = bm[0] if slot == "normal" and bm else 1.0
            draft.maps[slot] = TextureMap(slot, str(texture), scale=scale)


def read_mtl(path: str | Path, *, root: str | Path | None = None) -> tuple[list[Material], list[ReadProblem]]:
    """Materials of an MTL file (base colour ``Kd``/``map_Kd``, opacity ``d``/``Tr``, normal and emissive
    maps, textures resolved) and the problems met reading it (missing or unsafe textures, ignored texture
    options; a missing MTL is one ``missing_mtl`` problem, an unreadable one ``unreadable_mtl``). Every
    reference must resolve inside ``root`` (default: the MTL's folder)."""
    path = Path(path)
    reader = _MtlReader(Path(root if root is not None else path.parent).resolve(), path.name)
    target = reader.resolve(path.parent, path.name, referrer=path, what="MTL")
    if target is None:
        return [], reader.problems
    if not _is_file(target):
        reader.problem("missing_mtl", "not found", target)
        return [], reader.problems
    return reader.read(target), reader.problems


def _mtllib_names(text: str, exists: Callable[[str], bool]) -> list[str]:
    """The file names of one ``mtllib`` line. Names are separated by spaces, but some exporters write one
    name with spaces unquoted: of the ways to split the line, the one naming the most existing files wins,
    then one whose parts all end in ``.mtl``, then the one with the most parts (the spec's reading)."""
    text = text.strip()
    if '"' in text or "'" in text:
        return [next(g for g in m.groups() if g is not None) for m in _QUOTED_RE.finditer(text)]
    words = list(_WORD_RE.finditer(text))
    if len(words) <= 1 or len(words) > 8:
        return [w.group() for w in words]
    best: tuple[tuple[int, bool, int], list[str]] | None = None
    for cuts in itertools.product((False, True), repeat=len(words) - 1):
        parts, start = [], words[0].start()
        for k, cut in enumerate(cuts):
            if cut:
                parts.append(text[start:words[k].end()])
                start = words[k + 1].start()
        parts.append(text[start:])
        score = (sum(exists(p) for p in parts), all(p.lower().endswith(".mtl") for p in parts), len(parts))
        if best is None or score > best[0]:
            best = (score, parts)
    assert best is not None
    return best[1]


def _materials(path: Path, data: mmap.mmap, root: Path,
               mtl_files: list[Path] | None = None) -> tuple[list[Material], list[str], list[ReadProblem]]:
    """Materials from every mtllib (the first definition of a name wins), the usemtl names in file order,
    and the problems met (missing MTLs and textures, unsafe references); the MTL files read are added to
    ``mtl_files`` when it is given."""
    reader = _MtlReader(root, path.name)
    materials: list[Material] = []
    names: set[str] = set()
    read: set[Path] = set()

    known: dict[str, bool] = {}

    def exists(name: str) -> bool:
        if name not in known:
            try:
                known[name] = _is_file(_locate(root, path.parent, name, referrer=path))
            except UnsafePathError:
                known[name] = False
        return known[name]

    for match in _MTLLIB_RE.finditer(data):
        for name in _mtllib_names(_decode(match.group(1)), exists):
            mtl = reader.resolve(path.parent, name, referrer=path, what="mtllib")
            if mtl is None or mtl in read:
                continue
            read.add(mtl)
            if not _is_file(mtl):
                reader.problem("missing_mtl", f"mtllib {name!r} not found", mtl)
                continue
            if mtl_files is not None:
                mtl_files.append(mtl)
            for material in reader.read(mtl):
                if material.name not in names:
                    names.add(material.name)
                    materials.append(material)
    uses = [" ".join(_decode(m.group(1)).split()) for m in _USEMTL_RE.finditer(data)]
    return materials, uses, reader.problems


def obj_references(path: str | Path, *, root: str | Path | None = None) -> list[Path]:
    """The MTL and texture files an OBJ refers to that exist inside ``root`` (default: its folder), each
    once, in the order met, as the reader resolves them: what a collection's discovery claims and
    checksums with the OBJ. Missing or outside references are not listed: the reader reports them."""
    path = Path(path)
    root_path = Path(root if root is not None else path.parent).resolve()
    if path.stat().st_size == 0:
        return []
    mtl_files: list[Path] = []
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        materials, _, _ = _materials(path, data, root_path, mtl_files)
    found = [*mtl_files]
    for material in materials:
        found += [Path(material.texture)] if material.texture else []
        found += [Path(m.uri) for m in material.maps]
    unique = dict.fromkeys(p for p in found if _is_file(p))
    return list(unique)


def read_obj(path: str | Path, *, max_faces: int, root: str | Path | None = None) -> Mesh:
    """Read an OBJ and its MTL files. References (MTL, textures) must resolve inside ``root`` (default:
    the OBJ's folder); a missing, unreadable or unsafe one is a ``ReadProblem`` in ``Mesh.problems``."""
    from llvscan.mesh.io import _obj_kernels as k

    path = Path(path)
    root = Path(root if root is not None else path.parent).resolve()
    with path.open("rb") as fh:
        data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    # the array views the mapping; both are released together when this function returns
    buf = np.frombuffer(data, dtype=np.uint8)
    sizes = k.count(buf)
    n_v, n_vt, n_vn, n_tri, n_use = (int(x) for x in sizes[:5])
    if n_tri == 0:
        raise MeshReadError(f"no faces in the file ({n_v} vertices): truncated, or a point cloud",
                            path=path)
    if n_tri > max_faces:
        raise ResourceLimitError(f"{n_tri:,} faces exceed the face limit {max_faces:,}", path=path)
    materials, uses, problems = _materials(path, data, root)
    index = {m.name: i for i, m in enumerate(materials)}
    for name in uses:
        if name not in index:
            index[name] = len(materials)
            materials.append(Material(name))
    use_ids = (np.array([index[u] for u in uses], dtype=np.int64) if len(uses) == n_use
               else np.full(n_use, -1, dtype=np.int64))
    vertices = np.zeros((n_v, 3))
    colors = np.zeros((n_v if sizes[6] else 0, 3))
    uv = np.zeros((n_vt, 2))
    normals = np.zeros((n_vn, 3))
    faces = np.empty((n_tri, 3), dtype=np.int64)
    uv_faces = np.empty((n_tri if n_vt else 0, 3), dtype=np.int32)
    normal_faces = np.empty((n_tri if n_vn else 0, 3), dtype=np.int32)
    face_material = np.empty(n_tri, dtype=np.int32)
    bad_lines = np.zeros(16, dtype=np.int64)
    info = k.fill(buf, sizes, use_ids, k._POW10, vertices, colors, uv, normals, faces, uv_faces,
                  normal_faces, face_material, bad_lines)
    status, line, kept, dropped, short, n_bad = (int(x) for x in info)
    if status:
        raise MeshReadError(f"line {line}: {_MESSAGES[status]}", path=path)
    if kept == 0:
        raise MeshReadError(f"none of its {dropped + short} faces is usable (they name missing vertices)",
                            path=path)
    if kept < n_tri:
        faces, face_material = faces[:kept], face_material[:kept]
        uv_faces, normal_faces = uv_faces[:kept], normal_faces[:kept]
    vertex_colors = None
    if colors.shape[0]:
        scale = 255.0 if np.nanmax(colors, initial=0.0) <= 1.0 else 1.0
        rgb = np.clip(np.nan_to_num(colors) * scale + 0.5, 0, 255).astype(np.uint8)
        vertex_colors = np.concatenate([rgb, np.full((n_v, 1), 255, dtype=np.uint8)], axis=1)
    return Mesh(
        vertices=vertices,
        faces=faces,
        uv=uv if n_vt else None,
        uv_faces=uv_faces if n_vt else None,
        normals=normals if n_vn else None,
        normal_faces=normal_faces if n_vn else None,
        vertex_colors=vertex_colors,
        materials=tuple(materials),
        face_material=face_material if materials else None,
        units=declared_units(path),
        path=str(path),
        format="obj",
        dropped_faces=dropped + short,
        dropped_face_lines=tuple(int(x) for x in bad_lines[:n_bad]),
        problems=tuple(problems),
    )
