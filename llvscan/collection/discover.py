"""Finding the assets of a collection folder.

An asset is what a museum catalogues as one thing: an OBJ with its MTL and textures, a glTF with its
buffers and images, a PLY, an STL, a GLB, an image master. Textures claimed by a mesh and sidecar
files (CSV, MTL, JSON, text) are not assets of their own. Every reference is resolved and must stay
inside the collection root; one that escapes, or a symlink that does, makes that asset fail.

Capture sessions: an image in a folder named ``targets`` is a target (a ColorChecker or slanted-edge image
shot with the session's light and camera); its session is the folder holding ``targets/``, and every other
image below that folder belongs to the same session (the nearest such folder wins). The sidecar's
``session``, ``target`` and ``corners`` columns say the same for any layout and override the folders.
A target's metadata has ``target`` (what to look for, "auto" by default) and ``session``; an artwork's
has ``session`` when it belongs to one.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar
from urllib.parse import unquote

from llvscan._constants import QA_TARGETS, SIDECAR_FIELDS, SIDECAR_MESH_OPTIONS, SIDECAR_QA_FIELDS, TARGETS_FOLDER
from llvscan._json import JsonResult
from llvscan._paths import inside, resolve_inside
from llvscan.errors import InvalidParameterError, LlvscanError, UnsafePathError
from llvscan.imaging.tiles import IMAGE_SUFFIXES
from llvscan.mesh import MESH_SUFFIXES

__all__ = ["SIDECAR_NAME", "Asset", "AssetFile", "Discovery", "asset_id_for", "discover_assets"]

log = logging.getLogger(__name__)

SIDECAR_NAME = "collection.csv"
_ASSET_NAMESPACE = uuid.UUID("6f1c3c1e-5d0b-4c35-9a3e-0b7c1c2d9e41")


@dataclass(frozen=True)
class AssetFile(JsonResult):
    rel_path: str
    role: str  # main | material | texture | buffer
    bytes: int = 0  # size and modification time when discovered: a rerun compares them with the catalog's
    mtime_ns: int = 0


@dataclass(frozen=True)
class Asset(JsonResult):
    _json_properties: ClassVar[tuple[str, ...]] = ("bytes",)

    asset_id: str
    rel_path: str
    kind: str  # mesh | image
    format: str
    files: tuple[AssetFile, ...]
    metadata: dict[str, str] = field(default_factory=dict)
    problem: str | None = None  # set when the asset cannot be processed safely (reason given)

    @property
    def bytes(self) -> int:
        return sum(f.bytes for f in self.files)

    @property
    def recipe_kind(self) -> str:
        """The recipe section that decides this asset's processing (and its hash): a target image is graded
        by ``[qa]``, not tiled by ``[image]``."""
        return "target" if self.kind == "image" and "target" in self.metadata else self.kind


@dataclass(frozen=True)
class Discovery(JsonResult):
    root: str
    assets: list[Asset]
    ignored: list[str]  # files that are neither assets nor part of one
    notes: list[str]  # sidecar rows naming missing files, and similar


def asset_id_for(rel_path: str) -> str:
    """A stable UUID for an asset: the same relative path gives the same id in every run."""
    return str(uuid.uuid5(_ASSET_NAMESPACE, rel_path))


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _obj_parts(obj: Path, root: Path) -> list[AssetFile]:
    """The MTLs and textures an OBJ refers to, found as the OBJ reader finds them (texture options, names
    with spaces, backslashes). What is missing or outside the root is not claimed: reading the OBJ
    reports it as a finding, and the asset is still read."""
    from llvscan.mesh.io.obj import obj_references

    return [AssetFile(_rel(part, root), "material" if part.suffix.lower() == ".mtl" else "texture")
            for part in obj_references(obj, root=root)]


def _gltf_parts(gltf: Path, root: Path) -> list[AssetFile]:
    try:
        document = json.loads(gltf.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise LlvscanError("not a glTF JSON document", path=_rel(gltf, root), detail=str(exc)) from exc
    parts = []
    for section, role in (("buffers", "buffer"), ("images", "texture")):
        items = document.get(section, []) if isinstance(document, dict) else []
        for item in items if isinstance(items, list) else []:
            uri = item.get("uri") if isinstance(item, dict) else None
            if not isinstance(uri, str) or not uri or uri.startswith("data:") or ":" in uri.split("/")[0]:
                continue  # embedded, or a scheme (file:, http:): the reader refuses it, with a finding
            try:
                target = resolve_inside(root, gltf.parent, unquote(uri), referrer=gltf)
            except UnsafePathError:
                continue  # outside the root: never claimed, never read; reading the glTF reports it
            if target.is_file():
                parts.append(AssetFile(_rel(target, root), role))
    return parts


def _read_sidecar(root: Path, notes: list[str]) -> dict[str, dict[str, str]]:
    sidecar = root / SIDECAR_NAME
    if not sidecar.is_file():
        return {}
    rows: dict[str, dict[str, str]] = {}
    with sidecar.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or "file" not in reader.fieldnames:
            notes.append(f"{SIDECAR_NAME}: no 'file' column; metadata ignored")
            return {}
        for line, row in enumerate(reader, start=2):
            name = (row.get("file") or "").strip().replace("\\", "/")
            if not name:
                notes.append(f"{SIDECAR_NAME}: line {line}: empty 'file' value")
                continue
            rows[name] = {k: (row.get(k) or "").strip() for k in SIDECAR_FIELDS + SIDECAR_QA_FIELDS
                          if (row.get(k) or "").strip()}
            target = rows[name].get("target", "").lower()
            if target in ("yes", "true", "1"):
                rows[name]["target"] = "auto"
            elif target in ("no", "false", "0"):
                rows[name]["target"] = ""
            elif target and target not in QA_TARGETS:
                notes.append(f"{SIDECAR_NAME}: line {line}: target {target!r} ignored; use yes, no or one of "
                             f"{', '.join(QA_TARGETS)}")
                del rows[name]["target"]
            for key, allowed in SIDECAR_MESH_OPTIONS.items():
                value = (row.get(key) or "").strip().lower()
                if value in allowed:
                    rows[name][key] = value
                elif value:
                    notes.append(f"{SIDECAR_NAME}: line {line}: {key} {value!r} ignored; use one of "
                                 f"{', '.join(allowed)}")
    return rows


def _stat(part: AssetFile, root: Path) -> AssetFile:
    try:
        stat = (root / part.rel_path).stat()
    except OSError:  # reading it will report the problem
        return part
    return AssetFile(part.rel_path, part.role, stat.st_size, stat.st_mtime_ns)


def _walk(root: Path) -> list[Path]:
    files: list[Path] = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        files.extend(Path(folder) / n for n in sorted(names) if not n.startswith("."))
    return files


def _sessions(assets: list[Asset]) -> list[Asset]:
    """Apply the ``targets/`` folder convention to images whose sidecar row does not already say."""
    folders = {str(Path(a.rel_path).parent.parent) for a in assets
               if a.kind == "image" and Path(a.rel_path).parent.name.lower() == TARGETS_FOLDER}
    out = []
    for asset in assets:
        if asset.kind != "image":
            out.append(asset)
            continue
        metadata = dict(asset.metadata)
        parent = Path(asset.rel_path).parent
        if "target" not in metadata and parent.name.lower() == TARGETS_FOLDER:
            metadata["target"] = "auto"
        if metadata.get("target") == "":
            del metadata["target"]
        if "session" not in metadata:
            holders = [str(p) for p in (parent, *parent.parents) if str(p) in folders]
            if holders:
                metadata["session"] = holders[0]
        if "target" in metadata and "session" not in metadata:
            metadata["session"] = str(parent)  # a target named by the sidecar alone: its folder's session
        out.append(asset if metadata == asset.metadata else
                   Asset(asset.asset_id, asset.rel_path, asset.kind, asset.format, asset.files, metadata,
                         asset.problem))
    return out


def discover_assets(root: str | Path) -> Discovery:
    """List the assets under ``root``; problems are attached to assets, never raised mid-walk."""
    root = Path(root).resolve()
    if not root.is_dir():
        raise InvalidParameterError("not a folder", path=root)
    notes: list[str] = []
    metadata = _read_sidecar(root, notes)
    candidates: list[tuple[Path, str]] = []
    ignored: list[str] = []
    for path in _walk(root):
        suffix = path.suffix.lower()
        kind = "mesh" if suffix in MESH_SUFFIXES else "image" if suffix in IMAGE_SUFFIXES else None
        if kind is None:
            if path.name != SIDECAR_NAME and suffix != ".mtl":
                ignored.append(_rel(path, root))
            continue
        candidates.append((path, kind))

    assets: list[Asset] = []
    claimed: set[str] = set()
    for path, kind in candidates:
        rel = _rel(path, root)
        files = [AssetFile(rel, "main")]
        problem = None
        try:
            if path.is_symlink() and not inside(path.resolve(), root):
                raise LlvscanError("symlink points outside the collection root", path=rel)
            if path.suffix.lower() == ".obj":
                files += _obj_parts(path, root)
            elif path.suffix.lower() == ".gltf":
                files += _gltf_parts(path, root)
        except (LlvscanError, OSError, ValueError) as exc:
            problem = str(exc)
        claimed.update(f.rel_path for f in files[1:])
        files = [_stat(f, root) for f in files]
        assets.append(Asset(asset_id_for(rel), rel, kind, path.suffix.lower()[1:], tuple(files),
                            metadata.get(rel, {}), problem))
    assets = sorted((a for a in assets if not (a.kind == "image" and a.rel_path in claimed)),
                    key=lambda a: a.rel_path)
    assets = _sessions(assets)
    known = {a.rel_path for a in assets}
    notes += [f"{SIDECAR_NAME}: {name!r} is not an asset in the collection" for name in metadata
              if name not in known]
    log.info("discovered %d assets under %s (%d ignored files)", len(assets), root, len(ignored))
    return Discovery(str(root), assets, ignored, notes)
