"""IIIF Presentation 3 for a run's outputs: one manifest per asset, images and meshes, and a collection.

The layout is fixed so that ids and files agree: serving ``dest`` at ``base_url`` answers every id::

    dest/collection.json            id  BASE/collection.json
    dest/manifests/<name>.json      id  BASE/manifests/<name>.json

``<name>`` is the asset's output folder name (``<slug of the file stem>-<start of its id>``, as the run
named ``iiif/<name>`` and ``assets/<name>``): URL-safe, unique within a run, stable across runs.

An image manifest paints the tile set's ``full/max`` on one Canvas, with its ``ImageService3`` at
``tiles_url/<tile folder>`` (the URL ``out/iiif`` is served at, not the id the run wrote into
``info.json``, which may name another host) and a small ``sizes`` rendition as its thumbnail.

A mesh manifest follows what Presentation 3 allows for 3D content: one Canvas (as wide and high as the
thumbnail) painted by a ``Model`` body, the web GLB (the finest ``Web3D`` level of at most 150 000
faces). The IIIF 3D community's Scene container belongs to the Presentation 4 draft; a Presentation 3
client that cannot show a ``Model`` still gets the PNG ``thumbnail``. Every level is listed in
``rendering`` as a download, and the Voyager scene (``scene.svx.json``) in ``seeAlso``.

Labels, summaries and metadata come from the sidecar; they are JSON strings, never HTML.
"""

from __future__ import annotations

import json
import logging
import re
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from llvscan._constants import DEFAULT_IIIF_BASE_URL
from llvscan._json import JsonResult
from llvscan._paths import inside
from llvscan._publish import clear_stale_in, write_bytes_atomic, write_json_atomic
from llvscan.catalog.db import Catalog
from llvscan.catalog.rows import AssetRow, DerivativeRow
from llvscan.errors import OutputError

__all__ = ["WEB_MAX_FACES", "PresentationResult", "iiif_rights", "run_urls", "write_presentation"]

log = logging.getLogger(__name__)

#: The most faces of the level a mesh manifest paints (Voyager's web levels are 150 000 faces).
WEB_MAX_FACES = 150_000

_CONTEXT = "http://iiif.io/api/presentation/3/context.json"
_LABELS = {"object_number": "Object number", "title": "Title", "creator": "Creator", "date": "Date"}
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_THUMB_SIDE = 200  # an image thumbnail: the smallest ``sizes`` entry at least this long, else the largest
_VOYAGER_PROFILE = "https://smithsonian.github.io/dpo-voyager/document/overview/"
_MIME_BY_SUFFIX = {".glb": "model/gltf-binary", ".gltf": "model/gltf+json", ".obj": "model/obj",
                   ".usdz": "model/vnd.usdz+zip", ".ply": "application/ply", ".stl": "model/stl"}


@dataclass(frozen=True)
class PresentationResult(JsonResult):
    collection: str  # path of collection.json, relative to dest
    manifests: int  # manifests written by this call
    images: int  # image manifests the collection lists
    meshes: int  # mesh manifests the collection lists
    base_url: str
    problems: list[str] = field(default_factory=list)  # assets left out: "<file>: why" (their files are gone)


def run_urls(catalog: Catalog) -> tuple[str, str]:
    """(the URL the run's output folder is served at, the URL its ``iiif/`` folder is served at): from
    the IIIF base URL the last run tiled under (its recipe's ``image.base_url``), else the default."""
    runs = catalog.runs()
    image = runs[-1].recipe.get("image") if runs else None
    value = image.get("base_url") if isinstance(image, dict) else None
    if not (isinstance(value, str) and value) and runs:
        value = runs[-1].options.get("base_url")
    tiles = (value if isinstance(value, str) and value else DEFAULT_IIIF_BASE_URL).rstrip("/")
    return (tiles[: -len("/iiif")] if tiles.endswith("/iiif") else tiles.rpartition("/")[0]), tiles


def iiif_rights(value: str | None) -> str | None:
    """``value`` as a Presentation 3 ``rights`` URI, or None when it is not a Creative Commons or
    RightsStatements.org URI. ``https://`` forms become ``http://`` (the validator rejects https CC URIs)."""
    if not value:
        return None
    uri = value.strip()
    for host in ("creativecommons.org/", "rightsstatements.org/"):
        for scheme in ("http://", "https://", "http://www.", "https://www."):
            if uri.lower().startswith(scheme + host):
                return "http://" + host + uri[len(scheme + host):]
    return None


# -- small readers --------------------------------------------------------------------------------
def _png_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from a PNG's IHDR chunk, or None when ``path`` is no PNG."""
    try:
        with path.open("rb") as fh:
            head = fh.read(24)
    except OSError:
        return None
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", head[16:24])
    return (int(width), int(height)) if width and height else None


def _url(root: str, rel: str) -> str:
    """``root`` joined with the relative path ``rel``, each segment percent-encoded."""
    return root + "/" + "/".join(quote(part, safe="") for part in PurePosixPath(rel).parts)


def _lang(text: str) -> dict[str, list[str]]:
    return {"none": [text]}


def _en(text: str) -> dict[str, list[str]]:
    return {"en": [text]}


# -- what one asset becomes -----------------------------------------------------------------------
@dataclass(frozen=True)
class _Entry:
    asset: AssetRow
    kind: str  # image | mesh
    name: str
    derivatives: tuple[DerivativeRow, ...]


def _folder_name(asset: AssetRow, derivatives: list[DerivativeRow]) -> tuple[str, str] | None:
    """(kind, output folder name) of an asset the collection can show, or None."""
    if asset.kind == "image":
        tiles = next((d for d in derivatives if d.role == "iiif3"), None)
        return ("image", PurePosixPath(tiles.path).name) if tiles else None
    lods = [d for d in derivatives if d.role == "lod"]
    if asset.kind == "mesh" and lods:
        parts = PurePosixPath(lods[0].path).parts  # assets/<name>/lods/<file>
        return ("mesh", parts[1] if len(parts) > 2 else asset.id)
    return None


#: A large catalog is read this many assets at a time (its memory stays flat).
_CHUNK = 2000


def _all_entries(catalog: Catalog) -> Iterator[_Entry]:
    """``_entries`` of every asset, read a chunk at a time, in the order of their paths."""
    ids = catalog.asset_ids_by_path()
    taken: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        yield from _entries(catalog, set(ids[start:start + _CHUNK]), taken)


def _entries(catalog: Catalog, ids: set[str], taken: set[str] | None = None) -> list[_Entry]:
    """The assets of ``ids`` with status ok that have tiles or levels of detail, each with a URL-safe
    name unique among ``taken`` (which it joins)."""
    by_asset: dict[str, list[DerivativeRow]] = {}
    for d in catalog.derivatives_for(ids):
        by_asset.setdefault(d.asset_id, []).append(d)
    entries, taken = [], set() if taken is None else taken
    for asset in catalog.assets(ids):
        if asset.status != "ok":
            continue
        found = _folder_name(asset, by_asset.get(asset.id, []))
        if found is None:
            continue
        kind, name = found
        if not _SAFE_NAME.match(name) or name in taken:
            name = asset.id  # a UUID: URL-safe and unique
        taken.add(name)
        entries.append(_Entry(asset, kind, name, tuple(by_asset[asset.id])))
    return entries


def _descriptive(asset: AssetRow) -> dict[str, Any]:
    """label, summary, metadata and rights from the sidecar: plain strings."""
    metadata = [{"label": _en(label), "value": _lang(str(getattr(asset, key)))}
                for key, label in _LABELS.items() if getattr(asset, key)]
    rights = iiif_rights(asset.rights)
    if asset.rights and rights is None:  # free text or another URI: kept, as metadata
        metadata.append({"label": _en("Rights"), "value": _lang(asset.rights)})
    summary = ", ".join(v for v in (asset.creator, asset.date) if v)
    if asset.object_number:
        summary = f"{summary} ({asset.object_number})" if summary else asset.object_number
    properties: dict[str, Any] = {"label": _lang(asset.title or PurePosixPath(asset.rel_path).name)}
    if summary:
        properties["summary"] = _lang(summary)
    if metadata:
        properties["metadata"] = metadata
    if rights:
        properties["rights"] = rights
    return properties


def _canvas(manifest_id: str, width: int, height: int, body: dict[str, Any]) -> dict[str, Any]:
    base = manifest_id[: -len(".json")]
    canvas_id = f"{base}/canvas/1"
    annotation = {"id": f"{base}/annotation/1", "type": "Annotation", "motivation": "painting", "body": body,
                  "target": canvas_id}
    return {"id": canvas_id, "type": "Canvas", "width": width, "height": height,
            "items": [{"id": f"{base}/page/1", "type": "AnnotationPage", "items": [annotation]}]}


def _image_parts(entry: _Entry, out: Path, tiles_url: str) -> tuple[tuple[int, int], dict[str, Any],
                                                                    list[dict[str, Any]]]:
    """(the canvas size, its painting body, the thumbnail) of an image, from its tile set on disk."""
    tiles = next(d for d in entry.derivatives if d.role == "iiif3")
    folder = (out / tiles.path).resolve()
    info_path = folder / "info.json"
    if not inside(folder, (out / "iiif").resolve()) or folder == (out / "iiif").resolve() or not info_path.is_file():
        raise OutputError("the IIIF tile set the catalog lists is missing; rerun `llvscan run`", path=info_path)
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
        width, height = int(info["width"]), int(info["height"])
        sizes = [(int(s["width"]), int(s["height"])) for s in info.get("sizes") or []]
    except (ValueError, KeyError, TypeError) as exc:
        raise OutputError("the tile set's info.json is not IIIF Image API JSON; rerun `llvscan run`",
                          path=info_path, detail=str(exc)) from exc
    service_id = _url(tiles_url, folder.relative_to((out / "iiif").resolve()).as_posix())
    service = [{"id": service_id, "type": "ImageService3", "profile": str(info.get("profile", "level0"))}]
    largest = max(sizes or [(width, height)])
    body = {"id": f"{service_id}/full/max/0/default.jpg", "type": "Image", "format": "image/jpeg",
            "width": largest[0], "height": largest[1], "service": service}
    small = [s for s in sorted(sizes) if max(s) >= _THUMB_SIDE] or sorted(sizes)[-1:]
    thumbs = []
    if small and (folder / "full" / f"{small[0][0]},{small[0][1]}" / "0" / "default.jpg").is_file():
        w, h = small[0]
        thumbs.append({"id": f"{service_id}/full/{w},{h}/0/default.jpg", "type": "Image", "format": "image/jpeg",
                       "width": w, "height": h, "service": service})
    elif (folder / "full" / "max" / "0" / "default.jpg").is_file():
        thumbs.append(dict(body))
    return (width, height), body, thumbs


def _web_level(lods: list[DerivativeRow]) -> DerivativeRow:
    """The level a viewer shows: the finest Web3D GLB of at most WEB_MAX_FACES faces, else the
    lightest GLB, else the first level."""
    glbs = [d for d in lods if _mime(d) == "model/gltf-binary"]
    web = [d for d in glbs if d.detail.get("usage") == "Web3D" and (d.faces or 0) <= WEB_MAX_FACES]
    if web:
        return max(web, key=lambda d: d.faces or 0)
    return min(glbs, key=lambda d: d.faces or 0) if glbs else lods[0]


def _mime(level: DerivativeRow) -> str:
    mime = level.detail.get("mime_type")
    if isinstance(mime, str) and mime:
        return mime
    return _MIME_BY_SUFFIX.get(PurePosixPath(level.path).suffix.lower(), "application/octet-stream")


def _download(level: DerivativeRow, files_url: str) -> dict[str, Any]:
    """A ``rendering`` entry: a level of detail as a download, labelled with its name and faces."""
    mime = _mime(level)
    name = level.level or PurePosixPath(level.path).stem
    return {"id": _url(files_url, level.path), "type": "Model" if mime.startswith("model/") else "Dataset",
            "label": _en(f"{name} ({level.faces:,} faces)" if level.faces else name), "format": mime}


def _mesh_parts(entry: _Entry, out: Path, files_url: str) -> dict[str, Any]:
    """The canvas body and size, thumbnail, rendering and seeAlso of a mesh."""
    lods = sorted((d for d in entry.derivatives if d.role == "lod"), key=lambda d: (d.faces or 0, d.level))
    for level in lods:
        if not (out / level.path).is_file():
            raise OutputError("a level of detail the catalog lists is missing; rerun `llvscan run`",
                              path=out / level.path)
    web = _web_level(lods)
    parts: dict[str, Any] = {"body": {"id": _url(files_url, web.path), "type": "Model", "format": _mime(web)}}
    canvas = (1024, 1024)
    thumbnail = next((d for d in entry.derivatives if d.role == "thumbnail"), None)
    size = _png_size(out / thumbnail.path) if thumbnail else None
    if thumbnail and size:
        canvas = size
        parts["thumbnail"] = [{"id": _url(files_url, thumbnail.path), "type": "Image", "format": "image/png",
                               "width": size[0], "height": size[1]}]
    parts["canvas"] = canvas
    parts["rendering"] = [_download(level, files_url) for level in lods]
    scene = next((d for d in entry.derivatives if d.role == "scene"), None)
    if scene and (out / scene.path).is_file():
        parts["seeAlso"] = [{"id": _url(files_url, scene.path), "type": "Dataset", "format": "application/json",
                             "profile": _VOYAGER_PROFILE, "label": _en("Smithsonian Voyager scene (svx)")}]
    return parts


def _manifest(entry: _Entry, out: Path, manifest_id: str, tiles_url: str, files_url: str) -> dict[str, Any]:
    manifest: dict[str, Any] = {"@context": _CONTEXT, "id": manifest_id, "type": "Manifest",
                                **_descriptive(entry.asset)}
    if entry.kind == "image":
        (width, height), body, thumbs = _image_parts(entry, out, tiles_url)
        if thumbs:
            manifest["thumbnail"] = thumbs
        manifest["items"] = [_canvas(manifest_id, width, height, body)]
    else:
        parts = _mesh_parts(entry, out, files_url)
        if "thumbnail" in parts:
            manifest["thumbnail"] = parts["thumbnail"]
        width, height = parts["canvas"]
        manifest["items"] = [_canvas(manifest_id, width, height, parts["body"])]
        manifest["rendering"] = parts["rendering"]
        if "seeAlso" in parts:
            manifest["seeAlso"] = parts["seeAlso"]
    return manifest


def _reference(manifest: dict[str, Any]) -> dict[str, Any]:
    """A collection's item for ``manifest``: id, type, label and its thumbnail."""
    ref = {"id": manifest["id"], "type": "Manifest", "label": manifest["label"]}
    if manifest.get("thumbnail"):
        ref["thumbnail"] = manifest["thumbnail"]
    return ref


# -- entry point ----------------------------------------------------------------------------------
def write_presentation(catalog: Catalog, out: Path, dest: Path, *, base_url: str, tiles_url: str,
                       files_url: str, assets: Iterable[str] | None = None) -> PresentationResult:
    """Write IIIF Presentation 3 manifests of the run in ``out`` (its catalog: ``catalog``) into ``dest``.

    ``dest/collection.json`` (id ``base_url/collection.json``) lists one manifest per asset with status
    ok that has tiles or levels of detail: ``dest/manifests/<name>.json`` (id
    ``base_url/manifests/<name>.json``). ``tiles_url``: the URL ``out/iiif`` is served at (image
    services); ``files_url``: the URL ``out`` is served at (GLBs, thumbnails, Voyager scenes).
    ``assets``: asset ids whose manifests to (re)write; the others are kept as they are (rewritten only
    when their id names another base URL; left out of the collection when never written), and the
    manifest of a listed asset that is no longer shown is removed. None writes every manifest and
    removes the manifests of assets the collection no longer lists. The collection is always
    rewritten. Every file is written atomically.
    """
    out, dest = Path(out).resolve(), Path(dest).resolve()
    base, tiles, files = base_url.rstrip("/"), tiles_url.rstrip("/"), files_url.rstrip("/")
    wanted = None if assets is None else set(assets)
    folder = dest / "manifests"
    folder.mkdir(parents=True, exist_ok=True)
    if wanted is not None and len(wanted) <= _PATCH_AT_MOST:
        items = _collection_items(dest / "collection.json", f"{base}/collection.json")
        if items is not None:  # a few files written: the folder is not swept (the next full write does it)
            return _patch(catalog, out, dest, items, wanted, base, tiles, files)
    clear_stale_in(folder)
    entries = _all_entries(catalog)
    before: dict[str, dict] = {}  # an update lists the assets it was not given as the collection did
    if wanted is not None and (dest / "collection.json").is_file():
        try:
            old = json.loads((dest / "collection.json").read_text(encoding="utf-8"))
            before = {ref["id"]: ref for ref in old.get("items", []) if isinstance(ref, dict) and "id" in ref}
        except (OSError, ValueError, AttributeError):
            before = {}
    refs, listed, written, kinds = [], set(), 0, {"image": 0, "mesh": 0}
    problems: list[str] = []
    for entry in entries:
        manifest_id = f"{base}/manifests/{entry.name}.json"
        path = folder / f"{entry.name}.json"
        if wanted is None or entry.asset.id in wanted:
            try:
                manifest = _manifest(entry, out, manifest_id, tiles, files)
            except OutputError as exc:  # its files are gone: the others are still published
                problems.append(f"{entry.asset.rel_path}: {exc}")
                log.warning("IIIF manifest of %s not written: %s", entry.asset.rel_path, exc)
                continue
            write_json_atomic(path, manifest, many=True)
            written += 1
        elif manifest_id in before and path.is_file():
            refs.append(before[manifest_id])
            listed.add(path.name)
            kinds[entry.kind] += 1
            continue
        elif path.is_file():
            try:
                manifest = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                manifest = {}
            if manifest.get("id") != manifest_id:  # written for another base URL: rewrite it
                try:
                    manifest = _manifest(entry, out, manifest_id, tiles, files)
                except OutputError as exc:
                    problems.append(f"{entry.asset.rel_path}: {exc}")
                    continue
                write_json_atomic(path, manifest, many=True)
                written += 1
        else:
            continue
        refs.append(_reference(manifest))
        listed.add(path.name)
        kinds[entry.kind] += 1
    for stale in folder.glob("*.json"):  # a full write keeps only what it lists; an incremental one
        # removes the manifests of the assets it was given that are no longer shown
        if stale.name not in listed and (wanted is None or stale.stem in wanted or _owner(stale, wanted)):
            stale.unlink(missing_ok=True)
    collection = {"@context": _CONTEXT, "id": f"{base}/collection.json", "type": "Collection",
                  "label": _en("llvscan collection"), "items": refs}
    _write_collection(dest / "collection.json", collection)
    log.info("IIIF Presentation 3: %d manifest(s) written, %d listed, in %s", written, len(refs), dest)
    return PresentationResult("collection.json", written, kinds["image"], kinds["mesh"], base, problems)


def _write_collection(path: Path, collection: dict) -> None:
    """The collection, compact: with 200,000 items an indented one takes Python's slow encoder seconds."""
    write_bytes_atomic(path, json.dumps(collection, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


#: An update of at most this many assets patches the collection instead of listing the catalog again.
_PATCH_AT_MOST = 2000


def _collection_items(path: Path, collection_id: str) -> list[dict] | None:
    """The items of the collection at ``path`` when it was written for ``collection_id``, else None."""
    try:
        collection = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    items = collection.get("items") if isinstance(collection, dict) else None
    if collection.get("id") != collection_id or not isinstance(items, list):
        return None
    return [item for item in items if isinstance(item, dict) and isinstance(item.get("id"), str)]


def _patch(catalog: Catalog, out: Path, dest: Path, items: list[dict], wanted: set[str], base: str, tiles: str,
           files: str) -> PresentationResult:
    """An update of a few assets: their manifests rewritten (or removed when they are no longer shown)
    and their items replaced in the collection, which keeps its order; nothing else is read."""
    folder = dest / "manifests"
    entries = _entries(catalog, wanted)
    shown = {entry.asset.id for entry in entries}
    gone = {asset_id for asset_id in wanted if asset_id not in shown}
    for stale in folder.glob("*.json") if gone else ():
        if _owner(stale, gone):
            stale.unlink(missing_ok=True)
    items = [item for item in items if not any(item["id"].endswith(f"-{i[:8]}.json") for i in gone)]
    where = {item["id"]: k for k, item in enumerate(items)}
    written, problems = 0, []
    for entry in entries:
        manifest_id = f"{base}/manifests/{entry.name}.json"
        try:
            manifest = _manifest(entry, out, manifest_id, tiles, files)
        except OutputError as exc:
            problems.append(f"{entry.asset.rel_path}: {exc}")
            (folder / f"{entry.name}.json").unlink(missing_ok=True)
            items = [item for item in items if item["id"] != manifest_id]
            where = {item["id"]: k for k, item in enumerate(items)}
            continue
        write_json_atomic(folder / f"{entry.name}.json", manifest, many=True)
        written += 1
        if manifest_id in where:
            items[where[manifest_id]] = _reference(manifest)
        else:
            where[manifest_id] = len(items)
            items.append(_reference(manifest))
    collection = {"@context": _CONTEXT, "id": f"{base}/collection.json", "type": "Collection",
                  "label": _en("llvscan collection"), "items": items}
    _write_collection(dest / "collection.json", collection)
    # a mesh's manifest has the PNG render as its thumbnail, an image's a JPEG of its tiles
    meshes = sum(1 for item in items if any(t.get("format") == "image/png" for t in item.get("thumbnail", [])))
    return PresentationResult("collection.json", written, len(items) - meshes, meshes, base, problems)


def _owner(path: Path, wanted: set[str]) -> bool:
    """Whether the unlisted manifest at ``path`` is one of the ``wanted`` assets' (its name ends with
    the start of their id, as output folder names do)."""
    return any(path.stem.endswith(f"-{asset_id[:8]}") for asset_id in wanted)
