"""Exports of a run's catalog and outputs: JSON, CSV, Parquet, IIIF Presentation 3, BagIt.

Every export reads the catalog read-only and writes ``dest`` atomically: a temporary sibling folder is
filled and renamed into place, so an interrupted export leaves the previous one (or none), never half.
"""

from __future__ import annotations

import csv
import json
import logging
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from llvscan._constants import CATALOG_NAME
from llvscan._json import JsonResult
from llvscan._paths import inside
from llvscan._publish import atomic_dir, write_json_atomic
from llvscan.catalog.db import Catalog
from llvscan.catalog.presentation import iiif_rights, run_urls, write_presentation
from llvscan.catalog.rows import AssetRow, DerivativeRow, FindingRow
from llvscan.errors import CatalogError, InvalidParameterError, MissingDependencyError, OutputError

__all__ = ["EXPORT_FORMATS", "ExportResult", "export_catalog", "iiif_rights"]

log = logging.getLogger(__name__)

EXPORT_FORMATS = ("json", "csv", "parquet", "iiif")
_OUTPUT_TREES = ("assets", "iiif")

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
def _export_iiif(catalog: Catalog, out: Path, tmp: Path, base_url: str | None) -> int:
    files_url, tiles_url = run_urls(catalog)
    base = base_url.rstrip("/") if base_url else files_url + "/manifests"
    result = write_presentation(catalog, out, tmp, base_url=base, tiles_url=tiles_url, files_url=files_url)
    return result.manifests


# -- entry point ----------------------------------------------------------------------------------
def export_catalog(out_dir: str | Path, dest: str | Path, *, format: str, base_url: str | None = None) -> ExportResult:
    """Export the catalog of the run folder ``out_dir`` into ``dest`` (a BagIt bag or an OCFL storage root:
    ``llvscan.preservation``).

    ``format``: json (``catalog.json``), csv (``assets.csv``, ``derivatives.csv``), parquet (the same
    tables; needs pyarrow), iiif (``collection.json`` + ``manifests/<name>.json`` for every image and
    mesh, ids ``base_url/collection.json`` and ``base_url/manifests/<name>.json``, so serving ``dest`` at
    ``base_url`` answers them; default the run's IIIF base URL with ``/iiif`` replaced by ``/manifests``;
    image services under the run's IIIF base URL, GLBs and thumbnails under that URL less ``/iiif``:
    see ``llvscan.catalog.presentation``). ``dest`` is replaced as a whole.
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
                else:
                    assets = _export_iiif(catalog, out, tmp, base_url)
        except PermissionError as exc:
            raise OutputError("cannot write the export", path=target, detail=str(exc)) from exc
    log.info("exported %s of %s to %s", format, out, target)
    return ExportResult(format, str(target), _count_files(target), assets, round(time.perf_counter() - started, 3))
