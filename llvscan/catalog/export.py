"""Exports of a run's catalog and outputs: JSON, CSV, Parquet, IIIF Presentation 3, BagIt.

Every export reads the catalog read-only and writes ``dest`` atomically: a temporary sibling folder is
filled and renamed into place, so an interrupted export leaves the previous one (or none), never half.
"""

from __future__ import annotations

import csv
import json
import logging
import shutil
import sqlite3
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from llvscan._constants import CATALOG_NAME, DEFAULT_IIIF_BASE_URL
from llvscan._json import JsonResult
from llvscan._paths import inside
from llvscan._publish import atomic_dir, write_json_atomic
from llvscan.catalog.db import Catalog
from llvscan.catalog.rows import AssetRow, DerivativeRow, FindingRow
from llvscan.errors import CatalogError, InvalidParameterError, MissingDependencyError, OutputError

__all__ = ["EXPORT_FORMATS", "ExportResult", "export_catalog", "iiif_rights"]

log = logging.getLogger(__name__)

EXPORT_FORMATS = ("json", "csv", "parquet", "iiif", "bagit")
_OUTPUT_TREES = ("assets", "iiif")
_LABELS = {"object_number": "Object number", "title": "Title", "creator": "Creator", "date": "Date"}

# a flat table of the CSV and Parquet exports: its columns, and one dict per row
_Table = tuple[list[str], list[dict[str, Any]]]


@dataclass(frozen=True)
class ExportResult(JsonResult):
    format: str
    path: str  # the export folder
    files: int  # files written under ``path``
    assets: int  # assets the export covers (IIIF: manifests written)
    seconds: float


# -- shared ---------------------------------------------------------------------------------------
def _check_dest(out: Path, dest: Path) -> None:
    if dest == out or inside(out, dest):
        raise InvalidParameterError("the export folder must not be the output folder or contain it "
                                    "(it is replaced as a whole): choose a new folder", path=dest)
    for tree in _OUTPUT_TREES:
        if inside(dest, out / tree):
            raise InvalidParameterError(f"the export folder must not lie inside the run's {tree}/ tree; "
                                        "choose a folder outside it", path=dest)
    if dest.exists() and not dest.is_dir():
        raise InvalidParameterError("the export destination is an existing file; choose a folder", path=dest)


def _count_files(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file())


def _cell(value: Any) -> Any:
    """A JSON value as one cell: lists and objects JSON-encoded."""
    return json.dumps(value, sort_keys=True) if isinstance(value, list | dict) else value


def _flat_assets(assets: list[AssetRow]) -> _Table:
    """One flat row per asset: the table's columns, sidecar fields included, measurements as
    ``measurements.<key>`` columns."""
    base = [f.name for f in fields(AssetRow) if f.name != "measurements"]
    rows, extra = [], []
    for asset in assets:
        row = {c: getattr(asset, c) for c in base}
        for key, value in asset.measurements.items():
            column = f"measurements.{key}"
            if column not in extra:
                extra.append(column)
            row[column] = _cell(value)
        rows.append(row)
    columns = base + sorted(extra)
    return columns, [{c: r.get(c) for c in columns} for r in rows]


def _flat_derivatives(derivatives: list[DerivativeRow], assets: list[AssetRow]) -> _Table:
    paths = {a.id: a.rel_path for a in assets}
    columns = ["asset_id", "asset_path", "role", "level", "path", "bytes", "files", "sha256", "faces",
               "texture_size", "hausdorff_pct", "detail", "created_run_id"]
    rows = [{c: paths.get(d.asset_id) if c == "asset_path" else _cell(getattr(d, c)) for c in columns}
            for d in derivatives]
    return columns, rows


def _flat_findings(findings: list[FindingRow], assets: list[AssetRow]) -> _Table:
    paths = {a.id: a.rel_path for a in assets}
    columns = ["asset_id", "asset_path", "source", "level", "code", "message", "count", "measure", "run_id"]
    rows = [{c: paths.get(f.asset_id) if c == "asset_path" else getattr(f, c) for c in columns} for f in findings]
    return columns, rows


def _tables(catalog: Catalog) -> list[tuple[str, _Table]]:
    """The flat tables of the CSV and Parquet exports."""
    assets = catalog.assets()
    return [("assets", _flat_assets(assets)), ("derivatives", _flat_derivatives(catalog.derivatives(), assets)),
            ("findings", _flat_findings(catalog.findings(), assets))]


# -- formats --------------------------------------------------------------------------------------
def _export_json(catalog: Catalog, tmp: Path) -> int:
    contents = catalog.contents()
    write_json_atomic(tmp / "catalog.json", contents.to_dict())
    return len(contents.assets)


def _write_csv(path: Path, columns: list[str], rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def _export_csv(catalog: Catalog, tmp: Path) -> int:
    tables = _tables(catalog)
    for name, (columns, rows) in tables:
        _write_csv(tmp / f"{name}.csv", columns, rows)
    return len(tables[0][1][1])


def _require_pyarrow() -> Any:
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise MissingDependencyError("the Parquet export needs pyarrow: pip install pyarrow",
                                     detail=str(exc)) from exc
    return pq


def _export_parquet(catalog: Catalog, tmp: Path) -> int:
    pq = _require_pyarrow()
    import pyarrow as pa

    tables = _tables(catalog)
    for name, (columns, rows) in tables:
        table = pa.Table.from_pylist(rows) if rows else pa.table({c: pa.array([], pa.string()) for c in columns})
        pq.write_table(table, tmp / f"{name}.parquet")
    return len(tables[0][1][1])


# -- IIIF Presentation 3 --------------------------------------------------------------------------
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


def _iiif_base(catalog: Catalog, base_url: str | None) -> str:
    if base_url:
        return base_url.rstrip("/")
    runs = catalog.runs()
    run_base = runs[-1].options.get("base_url") if runs else None
    run_base = (run_base if isinstance(run_base, str) and run_base else DEFAULT_IIIF_BASE_URL).rstrip("/")
    return run_base[: -len("/iiif")] + "/manifests" if run_base.endswith("/iiif") else run_base + "/manifests"


def _lang(text: str) -> dict[str, list[str]]:
    return {"none": [text]}


def _manifest(asset: AssetRow, info: dict[str, Any], manifest_id: str) -> Any:
    from iiif_prezi3 import Annotation, AnnotationBody, AnnotationPage, Canvas, KeyValueString, Manifest, ServiceV3

    base = manifest_id[: -len(".json")]
    width, height = int(info["width"]), int(info["height"])
    largest = max(info.get("sizes") or [{"width": width, "height": height}], key=lambda s: s["width"])
    service = ServiceV3(id=info["id"], type="ImageService3", profile=info.get("profile", "level0"))
    body = AnnotationBody(id=f"{info['id']}/full/max/0/default.jpg", type="Image", format="image/jpeg",
                          width=largest["width"], height=largest["height"], service=[service])
    canvas_id = f"{base}/canvas/1"
    annotation = Annotation(id=f"{base}/annotation/1", motivation="painting", body=body, target=canvas_id)
    canvas = Canvas(id=canvas_id, width=width, height=height,
                    items=[AnnotationPage(id=f"{base}/page/1", items=[annotation])])
    metadata = [KeyValueString(label={"en": [label]}, value=_lang(str(getattr(asset, key))))
                for key, label in _LABELS.items() if getattr(asset, key)]
    rights = iiif_rights(asset.rights)
    if asset.rights and rights is None:  # free text or another URI: keep it, as metadata
        metadata.append(KeyValueString(label={"en": ["Rights"]}, value=_lang(asset.rights)))
    title = asset.title or Path(asset.rel_path).name
    summary = ", ".join(v for v in (asset.creator, asset.date) if v)
    if asset.object_number:
        summary = f"{summary} ({asset.object_number})" if summary else asset.object_number
    properties: dict[str, Any] = {"id": manifest_id, "label": _lang(title), "items": [canvas]}
    if summary:
        properties["summary"] = _lang(summary)
    if metadata:
        properties["metadata"] = metadata
    if rights:
        properties["rights"] = rights
    return Manifest(**properties)


def _export_iiif(catalog: Catalog, out: Path, tmp: Path, base_url: str | None) -> int:
    try:
        from iiif_prezi3 import Collection, ManifestRef
    except ImportError as exc:
        raise MissingDependencyError("the IIIF export needs iiif-prezi3: pip install iiif-prezi3",
                                     detail=str(exc)) from exc
    base = _iiif_base(catalog, base_url)
    tile_sets = {d.asset_id: d.path for d in catalog.derivatives() if d.role == "iiif3"}
    refs = []
    (tmp / "manifests").mkdir()
    for asset in catalog.assets():
        if asset.kind != "image" or asset.status != "ok" or asset.id not in tile_sets:
            continue
        folder = (out / tile_sets[asset.id]).resolve()
        info_path = folder / "info.json"
        if not inside(folder, out / "iiif") or not info_path.is_file():
            raise OutputError("the IIIF tile set the catalog lists is missing; rerun `llvscan run`",
                              path=info_path)
        info = json.loads(info_path.read_text(encoding="utf-8"))
        name = folder.name
        manifest_id = f"{base}/{name}.json"
        manifest = _manifest(asset, info, manifest_id)
        write_json_atomic(tmp / "manifests" / f"{name}.json", json.loads(manifest.json()))
        refs.append(ManifestRef(id=manifest_id, type="Manifest", label=manifest.label))
    collection = Collection(id=f"{base}/collection.json", label={"en": ["llvscan collection"]}, items=refs)
    write_json_atomic(tmp / "collection.json", json.loads(collection.json()))
    return len(refs)


# -- BagIt ----------------------------------------------------------------------------------------
def _copy_catalog(db: Path, target: Path) -> None:
    """A consistent single-file copy of a (possibly WAL, possibly being written) catalog."""
    src = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.DatabaseError as exc:
        raise CatalogError("cannot copy the catalog", path=db, detail=str(exc)) from exc
    finally:
        dst.close()
        src.close()


def _export_bagit(catalog: Catalog, out: Path, tmp: Path, source_organization: str | None) -> int:
    try:
        import bagit
    except ImportError as exc:
        raise MissingDependencyError("the BagIt export needs bagit: pip install bagit", detail=str(exc)) from exc
    for tree in _OUTPUT_TREES:
        if (out / tree).is_dir():
            shutil.copytree(out / tree, tmp / tree, symlinks=False)
    _copy_catalog(catalog.path, tmp / CATALOG_NAME)
    info = {"External-Description": "llvscan run outputs"}
    if source_organization:
        info["Source-Organization"] = source_organization
    try:
        bagit.make_bag(str(tmp), info, processes=1, checksums=["sha256", "sha512"])
    except (bagit.BagError, OSError) as exc:
        raise OutputError("cannot make the bag", path=tmp, detail=str(exc)) from exc
    return len(catalog.assets())


# -- entry point ----------------------------------------------------------------------------------
def export_catalog(out_dir: str | Path, dest: str | Path, *, format: str, base_url: str | None = None,
                   source_organization: str | None = None) -> ExportResult:
    """Export the catalog (and, for ``bagit``, the outputs) of the run folder ``out_dir`` into ``dest``.

    ``format``: json (``catalog.json``), csv (``assets.csv``, ``derivatives.csv``), parquet (the same
    tables; needs pyarrow), iiif (``collection.json`` + ``manifests/<name>.json``, ids under ``base_url``,
    default the run's IIIF base URL with ``/iiif`` replaced by ``/manifests``), bagit (a BagIt bag of
    ``assets/``, ``iiif/`` and a consistent copy of the catalog). ``dest`` is replaced as a whole.
    """
    started = time.perf_counter()
    if format not in EXPORT_FORMATS:
        raise InvalidParameterError(f"export format must be one of {', '.join(EXPORT_FORMATS)}, not {format!r}")
    out, target = Path(out_dir).resolve(), Path(dest).resolve()
    db = out / CATALOG_NAME
    if not db.is_file():
        raise CatalogError("no catalog here: run `llvscan run COLLECTION --out DIR` first", path=db)
    _check_dest(out, target)
    if format == "parquet":
        _require_pyarrow()  # before creating anything
    with Catalog(db, readonly=True) as catalog:
        try:
            with atomic_dir(target) as tmp:
                if format == "json":
                    assets = _export_json(catalog, tmp)
                elif format == "csv":
                    assets = _export_csv(catalog, tmp)
                elif format == "parquet":
                    assets = _export_parquet(catalog, tmp)
                elif format == "iiif":
                    assets = _export_iiif(catalog, out, tmp, base_url)
                else:
                    assets = _export_bagit(catalog, out, tmp, source_organization)
        except PermissionError as exc:
            raise OutputError("cannot write the export", path=target, detail=str(exc)) from exc
    log.info("exported %s of %s to %s", format, out, target)
    return ExportResult(format, str(target), _count_files(target), assets, round(time.perf_counter() - started, 3))
