"""A static site of a run: what was processed, what was found, and every asset as a person wants to see it.

``build_report(out)`` reads the run's catalog (``OUT/catalog.sqlite``) and writes ``OUT/report/``:

- ``index.html``: counts by kind and status, the assets that failed, were quarantined or are invalid
  with their reasons, findings by code and distributions (faces per mesh, each level's error, image
  sharpness and clipping, time per asset) as SVG charts drawn here, and the runs;
- ``assets.html``: every asset, searchable and filterable by status, kind, finding code and sidecar
  metadata, with thumbnails; the rows live in shards (``data/rows-NNNN.js``, 1,000 assets each) and
  the filters in small index files, loaded as scripts on demand, so the first screen of 220,000 assets
  needs one shard, and everything works from ``file://`` (browsers refuse ``fetch`` there, not scripts);
- ``assets/<name>.html``: a mesh in an interactive viewer (the vendored model-viewer with a local
  Draco decoder) with a level switcher, its findings, each level's measured error and links; an image
  in OpenSeadragon on its IIIF tiles with its histogram plotted; for every asset its sidecar metadata,
  source files with checksums, derivatives and the event history as a timeline;
- ``iiif/``: IIIF Presentation 3 manifests for every asset and a collection of everything
  (``llvscan.catalog.presentation``), ids under ``base_url``;
- ``vendor/`` and ``static/``: the viewers, pinned and licensed, and the site's own script and style.

Nothing is loaded from the network: every page carries a Content-Security-Policy allowing only the
site's own files. Every string from the collection (file names, sidecar metadata, material names,
error messages) is escaped by the templates, and the scripts only ever set text, never markup.

The report is updated incrementally: an asset's page is rewritten only when what it shows changed (a
digest of its catalog rows, kept with its place in the list in ``report/state.sqlite``). An update of a
few assets (a run's) patches their rows into the list's shards and filters and their items into the
IIIF collection, and the overview comes from SQLite's aggregates: no other asset is read.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import json
import logging
import math
import pickle
import shutil
import sqlite3
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from llvscan._constants import CATALOG_NAME
from llvscan._json import JsonResult
from llvscan._paths import slug
from llvscan._publish import clear_stale_in, write_bytes_atomic
from llvscan.catalog.rows import AssetRow, DerivativeRow, EventRow, FileRow, FindingRow
from llvscan.errors import InvalidParameterError, OutputError

__all__ = ["CHUNK", "CSP", "PATCH_AT_MOST", "SHARD_ROWS", "TROUBLE_SHOWN", "ReportResult", "build_report", "page_name"]

log = logging.getLogger(__name__)

_HERE = Path(__file__).parent
SHARD_ROWS = 1000
#: What every page allows: its own files; WebAssembly for the Draco decoder; workers and images from
#: blobs (model-viewer decodes textures into them); inline styles (the viewers' shadow DOM).
CSP = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; "
       "img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self' data: blob:; "
       "object-src 'none'; base-uri 'none'; form-action 'none'")


@dataclass(frozen=True)
class ReportResult(JsonResult):
    """What ``build_report`` wrote."""

    folder: str  # OUT/report
    assets: int
    pages_written: int  # asset pages (re)written this time
    pages_kept: int  # asset pages whose content had not changed
    shards: int
    patched: bool  # an update of a few assets: their rows patched into the list, nothing else read
    seconds: float


def page_name(asset: AssetRow) -> str:
    """The file name (without ``.html``) of an asset's page: its stem slugged and the start of its id,
    as its output folder is named."""
    return f"{slug(Path(asset.rel_path).stem)}-{asset.id[:8]}"


class _Assets:
    """A chunk of assets with the rows their list entries and pages need, grouped once (a large catalog
    is read a chunk at a time: memory stays flat); the rows only a page shows (source files, events) are
    read per asset, for the pages being written."""

    def __init__(self, catalog: Any, ids: set[str]) -> None:
        """The rows of the assets ``ids``."""
        self.catalog = catalog
        self.assets: list[AssetRow] = catalog.assets(ids)  # by path
        self.findings: dict[str, list[FindingRow]] = defaultdict(list)
        self.derivatives: dict[str, list[DerivativeRow]] = defaultdict(list)
        self.seconds: dict[str, float] = {}
        for finding in catalog.findings_for(ids):
            self.findings[finding.asset_id].append(finding)
        for derivative in catalog.derivatives_for(ids):
            self.derivatives[derivative.asset_id].append(derivative)
        for attempt in catalog.attempts_for(ids):
            if attempt.seconds is not None:
                self.seconds[attempt.asset_id] = attempt.seconds  # the latest attempt's

    def files(self, asset_id: str) -> list[FileRow]:
        return list(self.catalog.files(asset_id))

    def events(self, asset_id: str) -> list[EventRow]:
        return list(self.catalog.events(asset_id))


def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(_HERE / "templates")),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters["url"] = lambda path: quote(str(path), safe="/")
    env.filters["size"] = _size
    env.globals["CSP"] = CSP
    return env


def _size(value: Any) -> str:
    if value is None:
        return "—"
    number = float(value)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(number) < 1000 or unit == "TB":
            return f"{number:.0f} {unit}" if unit == "B" else f"{number:.1f} {unit}"
        number /= 1000
    return f"{number:.1f} TB"


# -- charts: SVG drawn here, labels escaped by the templates ------------------------------------------
@dataclass(frozen=True)
class _Bar:
    label: str
    value: float
    y: float
    width: float
    note: str


@dataclass(frozen=True)
class _Chart:
    title: str
    bars: list[_Bar]
    height: int
    unit: str


def _bars(title: str, counts: Sequence[tuple[str, float]], unit: str = "", width: float = 300.0) -> _Chart:
    top = max((v for _, v in counts), default=0) or 1
    bars = [_Bar(label, value, 22.0 * i, width * value / top, f"{value:g}{unit}")
            for i, (label, value) in enumerate(counts)]
    return _Chart(title, bars, 22 * max(len(bars), 1), unit)


def _histogram(title: str, values: Sequence[float], unit: str, *, log: bool = False, bins: int = 10) -> _Chart | None:
    values = [v for v in values if v is not None and math.isfinite(v) and (v > 0 or not log)]
    if not values:
        return None
    lo, hi = min(values), max(values)
    if log:
        lo, hi = math.log10(lo), math.log10(hi)
    if hi == lo:
        return _bars(title, [(_fmt(values[0]), len(values))], "")
    step = (hi - lo) / bins
    counts = [0] * bins
    for v in values:
        x = math.log10(v) if log else v
        counts[min(int((x - lo) / step), bins - 1)] += 1
    edges = [lo + step * i for i in range(bins + 1)]
    labels = [f"{_fmt(10 ** a if log else a)}–{_fmt(10 ** b if log else b)}{unit}"
              for a, b in itertools.pairwise(edges)]
    return _bars(title, list(zip(labels, counts, strict=True)))


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


# -- what each page shows ---------------------------------------------------------------------------
def _read_json(path: Path, limit: int = 20_000_000) -> dict[str, Any]:
    """A JSON report of the run (validation, inspection, svx), or {} when it is missing or too large."""
    try:
        if path.stat().st_size > limit:
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _asset_view(asset: AssetRow, rows: _Assets, out: Path, prefix: str) -> dict[str, Any]:
    """Everything an asset's page and list row show; ``prefix`` leads from the page to ``out``."""
    derivatives = rows.derivatives.get(asset.id, [])
    by_role = {d.role: d for d in derivatives}
    levels = sorted((d for d in derivatives if d.role == "lod"), key=lambda d: -(d.faces or 0))
    thumbnail = by_role.get("thumbnail")
    view: dict[str, Any] = {
        "asset": asset, "name": page_name(asset), "title": asset.title or Path(asset.rel_path).name,
        "findings": sorted(rows.findings.get(asset.id, []), key=lambda f: ({"error": 0, "warning": 1}.get(f.level, 2),
                                                                           f.code)),
        "files": rows.files(asset.id), "derivatives": derivatives,
        "events": sorted(rows.events(asset.id), key=lambda e: (e.time, e.id)),
        "thumbnail": f"{prefix}{thumbnail.path}" if thumbnail else None,
        "levels": [], "web_level": None, "tiles": None, "histogram": None, "problems": [], "samples": [],
        "target": None, "overlay": None,
        "metadata": [(label, getattr(asset, key)) for key, label in
                     (("title", "Title"), ("object_number", "Object number"), ("creator", "Creator"),
                      ("date", "Date"), ("rights", "Rights")) if getattr(asset, key)],
        "measurements": asset.measurements, "seconds": rows.seconds.get(asset.id),
    }
    for level in levels:
        detail = level.detail
        view["levels"].append({
            "name": level.level, "path": f"{prefix}{level.path}", "faces": level.faces, "bytes": level.bytes,
            "texture": level.texture_size, "hausdorff": level.hausdorff_pct, "mean": detail.get("mean_pct"),
            "ssim": detail.get("ssim"), "usage": detail.get("usage"), "quality": detail.get("quality"),
            "compression": detail.get("compression"), "baked": detail.get("baked") or [],
            "glb": level.path.endswith(".glb")})
    web = [lvl for lvl in view["levels"] if lvl["glb"] and (lvl["faces"] or 0) <= 150_000]
    view["web_level"] = (web[0] if web else next((lvl for lvl in view["levels"] if lvl["glb"]), None))
    if "scene" in by_role:
        view["scene"] = f"{prefix}{by_role['scene'].path}"
    tiles = by_role.get("iiif3")
    if tiles is not None:
        info = _read_json(out / tiles.path / "info.json")
        if info:  # OpenSeadragon gets the info inline, its id the tiles' place relative to the page
            info = {**info, "id": f"{prefix}{quote(tiles.path)}"}
            info.pop("@id", None)
            view["tiles"] = info
    if "inspection" in by_role:
        inspection = _read_json(out / by_role["inspection"].path)
        view["inspection"] = inspection
        view["histogram"] = _histogram_chart(inspection)
    if "target" in by_role:  # a capture target: its grade, and the overlay a person checks the detection with
        view["target"] = _read_json(out / by_role["target"].path)
        overlay = by_role.get("target-overlay")
        view["overlay"] = f"{prefix}{quote(overlay.path)}" if overlay else None
    if "validation" in by_role:
        view["validation"] = _read_json(out / by_role["validation"].path)
        view["samples"] = [{"code": str(f.get("code", "")), "count": f.get("count"),
                            "sample": ", ".join(str(i) for i in f["sample"][:20] if isinstance(i, int))}
                           for f in view["validation"].get("findings") or []
                           if isinstance(f, dict) and isinstance(f.get("sample"), list) and f["sample"]]
        web = view["web_level"]
        view["problems"] = _problem_points(view["validation"], out / web["path"][len(prefix):] if web else None)
    return view


def _histogram_chart(inspection: dict[str, Any]) -> dict[str, Any] | None:
    """The image's histogram as SVG polylines, one per band (its bins scaled to 256 × 100)."""
    lines = []
    for band in inspection.get("band_statistics") or []:
        counts = band.get("histogram") if isinstance(band, dict) else None
        if not isinstance(counts, list) or not counts:
            continue
        top = max(counts) or 1
        step = 256 / len(counts)
        points = " ".join(f"{i * step:.1f},{100 - 100 * c / top:.1f}" for i, c in enumerate(counts))
        lines.append({"channel": str(band.get("name", "")), "points": points})
    return {"lines": lines} if lines else None


def _problem_points(validation: dict[str, Any], glb: Path | None) -> list[dict[str, Any]]:
    """The validation report's problem locations (boundary, non-manifold, self-intersecting…) in the web
    level's coordinates (metres, Y-up: the scale and up axis the GLB writer records in its extras), for
    the viewer's hotspots."""
    found = validation.get("problem_points")
    if not isinstance(found, dict) or not found or glb is None:
        return []
    extras = _glb_extras(glb)
    scale = extras.get("scale_to_metres", 1.0)
    scale = float(scale) if isinstance(scale, int | float) and math.isfinite(scale) else 1.0
    z_up = extras.get("source_up_axis") == "z"
    points = []
    for kind, rows in sorted(found.items()):
        for row in rows[:50] if isinstance(rows, list) else []:
            if not (isinstance(row, list) and len(row) == 3 and all(isinstance(c, int | float) for c in row)):
                continue
            x, y, z = (float(c) * scale for c in row)
            if z_up:  # as the GLB writer turns a Z-up scan upright: (x, y, z) → (x, z, −y)
                x, y, z = x, z, -y
            points.append({"kind": str(kind), "position": f"{x:.6g}m {y:.6g}m {z:.6g}m"})
    return points


def _glb_extras(path: Path) -> dict[str, Any]:
    """``asset.extras`` of a GLB (its JSON chunk only is read), {} when it cannot be read."""
    try:
        with path.open("rb") as fh:
            header = fh.read(20)
            if len(header) < 20 or header[:4] != b"glTF":
                return {}
            length = int.from_bytes(header[12:16], "little")
            if length > 64 * 2**20:
                return {}
            document = json.loads(fh.read(length))
    except (OSError, ValueError):
        return {}
    extras = document.get("asset", {}).get("extras", {}) if isinstance(document, dict) else {}
    return extras if isinstance(extras, dict) else {}


def _row(asset: AssetRow, rows: _Assets) -> list[Any]:
    """One asset in the list's shards: name, title, rel_path, kind, status, valid, codes, object number,
    creator, thumbnail (relative to the report), faces. From the catalog's rows only: no file is read."""
    codes = sorted({f.code for f in rows.findings.get(asset.id, [])})
    thumbnail = next((d.path for d in rows.derivatives.get(asset.id, []) if d.role == "thumbnail"), None)
    return [page_name(asset), asset.title or Path(asset.rel_path).name, asset.rel_path, asset.kind, asset.status,
            asset.is_valid, codes, asset.object_number, asset.creator,
            f"../{quote(thumbnail)}" if thumbnail else None, asset.measurements.get("faces")]


def _digest(view: dict[str, Any]) -> str:
    """What an asset's page shows, as a digest of its catalog rows: the page is rewritten only when it
    changes. (Pickled: the rows are frozen dataclasses of plain values, so the bytes are as stable as the
    rows; turning them into JSON first cost more than rendering the page.)"""
    parts = (view["asset"], view["findings"], view["derivatives"], view["files"], view["events"])
    return hashlib.sha256(pickle.dumps(parts, protocol=5)).hexdigest()


def _script(callback: str, payload: Any) -> bytes:
    """A data file loadable as a classic script (works from file://): ``llvscan.<callback>(payload)``.
    JSON is valid JavaScript; ``<`` is escaped so no payload can close a tag."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
    return f"llvscan.{callback}({text});\n".encode()


def build_report(out_dir: str | Path, *, base_url: str | None = None, assets: Iterable[str] | None = None,
                 iiif: bool = True) -> ReportResult:
    """Write (or update) ``OUT/report`` for the run in ``out_dir``; see the module docstring.

    ``base_url`` is the URL the output folder is served at (default: the run's, from its IIIF base URL):
    the IIIF manifests' ids are under ``base_url/report/iiif``. ``assets`` (ids): the assets whose pages
    may have changed (the run passes the assets it processed). With them, and a report of the same assets
    made by the same templates already there, the update touches only those assets: their pages (when
    what they show changed), their rows in the list's shards and filters, their manifests; the overview
    is recomputed by SQLite. Otherwise every page is considered (and rewritten when it changed). Raises
    ``InvalidParameterError`` when ``out_dir`` holds no catalog, ``OutputError`` when the report cannot
    be written."""
    from llvscan.catalog.db import Catalog

    started = time.perf_counter()
    out = Path(out_dir)
    db = out / CATALOG_NAME
    if not db.is_file():
        raise InvalidParameterError(f"no catalog here ({CATALOG_NAME}): run `llvscan run` first", path=out)
    folder = out / "report"
    env = _environment()
    only = set(assets) if assets is not None else None
    try:
        clear_stale_in(folder)
        with _State(folder / "state.sqlite", _site_digest()) as state, Catalog(db, readonly=True) as catalog:
            summary = catalog.summary()
            patch = (only is not None and len(only) <= PATCH_AT_MOST and state.complete
                     and catalog.asset_ids() == state.asset_ids())
            # one sweep of each folder for a killed writer's temporaries; an update writes a few files
            for sub in ("data", "iiif") if patch else ("data", "iiif", "iiif/manifests", "assets"):
                clear_stale_in(folder / sub)
            (folder / "assets").mkdir(exist_ok=True)
            (folder / "iiif" / "manifests").mkdir(exist_ok=True)
            if iiif:  # first: a page links its manifest when there is one
                _write_iiif(catalog=catalog, out=out, folder=folder, base_url=base_url,
                            only=only if state.complete else None)
            _copy_tree(_HERE / "vendor", folder / "vendor")
            _copy_tree(_HERE / "static", folder / "static")
            ids = sorted(only) if patch and only is not None else catalog.asset_ids_by_path()
            digests = state.digests(set(ids) if patch else None)
            written = kept = shards = 0
            list_rows: list[list[Any]] = []
            places: list[tuple[str, str, int, int]] = []
            touched: list[AssetRow] = []
            for start in range(0, len(ids), CHUNK):
                rows = _Assets(catalog, set(ids[start:start + CHUNK]))
                for asset in rows.assets:
                    name = page_name(asset)
                    if patch:
                        touched.append(asset)
                    else:
                        places.append((asset.id, "", len(list_rows) // SHARD_ROWS, len(list_rows) % SHARD_ROWS))
                        list_rows.append(_row(asset, rows))
                    page = folder / "assets" / f"{name}.html"
                    if only is not None and asset.id not in only and asset.id in digests and page.is_file():
                        kept += 1  # not processed by this run, and written before: unchanged
                        continue
                    view = _asset_view(asset, rows, out, "../../")
                    digest = _digest(view)
                    if digests.get(asset.id) == digest and page.is_file():
                        kept += 1
                        continue
                    write_bytes_atomic(page, _render_page(env, view, folder, name).encode("utf-8"), many=True)
                    digests[asset.id] = digest
                    written += 1
                if patch:
                    patched = _patch_list(folder, env, rows, state.positions({a.id for a in rows.assets}))
                    if patched is None:  # the list's files are not what state.sqlite says: make it all again
                        state.forget()
                        return build_report(out_dir, base_url=base_url, iiif=iiif)
                    shards = patched
            if patch:
                state.save_digests({a.id: digests[a.id] for a in touched if a.id in digests})
            else:
                shards = _write_list(folder, list_rows, env)
                names = {row[0] for row in list_rows}
                for stale in (folder / "assets").glob("*.html"):  # assets no longer in the catalog
                    if stale.stem not in names:
                        stale.unlink(missing_ok=True)
                state.replace_all([(i, digests.get(i, ""), shard, position) for i, _, shard, position in places])
            _write_overview(folder, env, catalog, catalog.runs(), summary)
    except (OSError, sqlite3.Error) as exc:
        raise OutputError("cannot write the report", path=folder, detail=getattr(exc, "strerror", None) or str(exc)) \
            from exc
    return ReportResult(folder=str(folder), assets=summary.assets, pages_written=written, pages_kept=kept,
                        shards=shards, patched=patch, seconds=round(time.perf_counter() - started, 3))


#: An update of at most this many assets patches the list instead of writing it again.
PATCH_AT_MOST = 2000
#: A large catalog is read this many assets at a time.
CHUNK = 2000


def _render_page(env: Any, view: dict[str, Any], folder: Path, name: str) -> str:
    """An asset's page; when its reports hold something the kind's template cannot show (a report of an
    older llvscan, a hand-edited file), the page without them, said in the log."""
    import jinja2

    manifest = folder / "iiif" / "manifests" / f"{name}.json"
    context = {"v": view, "root": "../", "manifest": f"../iiif/manifests/{name}.json" if manifest.is_file() else None}
    template = {"mesh": "mesh.html", "image": "image.html"}.get(view["asset"].kind, "asset.html")
    try:
        return str(env.get_template(template).render(**context))
    except jinja2.TemplateError as exc:
        log.warning("%s: its page shows its catalog rows only (%s)", view["asset"].rel_path, exc)
        return str(env.get_template("asset.html").render(**context))


class _State:
    """What the report was made of (``report/state.sqlite``): the templates' digest, and per asset the
    digest of its page and its place in the list's shards. Forgotten (every page made again) when the
    templates, scripts or viewers change."""

    def __init__(self, path: Path, site: str) -> None:
        self.db = sqlite3.connect(path)
        self.db.executescript("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);"
                              "CREATE TABLE IF NOT EXISTS pages (asset_id TEXT PRIMARY KEY, digest TEXT,"
                              " shard INTEGER, position INTEGER);")
        row = self.db.execute("SELECT value FROM meta WHERE key = 'site'").fetchone()
        if row is None or row[0] != site:
            self.db.execute("DELETE FROM pages")
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('site', ?)", (site,))
        complete = self.db.execute("SELECT value FROM meta WHERE key = 'complete'").fetchone()
        self.complete = bool(complete and complete[0] == "1" and row is not None and row[0] == site)

    def __enter__(self) -> _State:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.db.commit()
        self.db.close()

    def asset_ids(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT asset_id FROM pages")}

    def digests(self, ids: set[str] | None) -> dict[str, str]:
        if ids is None:
            return {r[0]: r[1] for r in self.db.execute("SELECT asset_id, digest FROM pages") if r[1]}
        return {i: row[0] for i in ids
                if (row := self.db.execute("SELECT digest FROM pages WHERE asset_id = ?", (i,)).fetchone())}

    def positions(self, ids: set[str]) -> dict[str, tuple[int, int]]:
        return {i: (row[0], row[1]) for i in ids
                if (row := self.db.execute("SELECT shard, position FROM pages WHERE asset_id = ?", (i,)).fetchone())}

    def save_digests(self, digests: dict[str, str]) -> None:
        self.db.executemany("UPDATE pages SET digest = ? WHERE asset_id = ?", [(d, i) for i, d in digests.items()])

    def forget(self) -> None:
        self.db.execute("DELETE FROM pages")
        self.db.execute("DELETE FROM meta WHERE key = 'complete'")
        self.db.commit()

    def replace_all(self, rows: list[tuple[str, str, int, int]]) -> None:
        self.db.execute("DELETE FROM pages")
        self.db.executemany("INSERT INTO pages VALUES (?, ?, ?, ?)", rows)
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('complete', '1')")


def _site_digest() -> str:
    """The templates, scripts, styles and viewers that make the pages, and llvscan's version, as a digest."""
    from llvscan import __version__

    digest = hashlib.sha256(__version__.encode())
    for sub in ("templates", "static", "vendor"):
        for path in sorted((_HERE / sub).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(_HERE)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _copy_tree(source: Path, target: Path) -> None:
    """Copy the package's files into the report, leaving files already identical alone."""
    if not source.is_dir():
        raise OutputError("the report's files are missing from the installation", path=source)
    for path in source.rglob("*"):
        if path.is_dir() or path.name.startswith(".") or "__pycache__" in path.parts:
            continue
        destination = target / path.relative_to(source)
        if destination.is_file() and destination.stat().st_size == path.stat().st_size \
                and destination.read_bytes() == path.read_bytes():
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)


def _write_list(folder: Path, rows: list[list[Any]], env: Any) -> int:
    """The list's shards and its index: facets (status, kind, finding code) as lists of row numbers."""
    data = folder / "data"
    data.mkdir(exist_ok=True)
    shards = max(1, math.ceil(len(rows) / SHARD_ROWS))
    for i in range(shards):
        chunk = rows[i * SHARD_ROWS:(i + 1) * SHARD_ROWS]
        write_bytes_atomic(data / f"rows-{i:04d}.js", _script("rows", {"shard": i, "rows": chunk}), many=True)
    for old in data.glob("rows-*.js"):
        if int(old.stem.split("-")[1]) >= shards:
            old.unlink()
    facets: dict[str, dict[str, list[int]]] = {"status": defaultdict(list), "kind": defaultdict(list),
                                               "code": defaultdict(list)}
    for number, row in enumerate(rows):
        facets["status"][row[4]].append(number)
        facets["kind"][row[3]].append(number)
        for code in row[6]:
            facets["code"][code].append(number)
    counts = {name: {key: len(v) for key, v in sorted(values.items())} for name, values in facets.items()}
    index = {"total": len(rows), "shard_rows": SHARD_ROWS, "shards": shards, "facets": counts}
    write_bytes_atomic(data / "index.js", _script("index", index), many=True)
    written = set()
    for name, values in facets.items():
        for key, numbers in values.items():
            path = data / f"facet-{name}-{slug(key)}.js"
            write_bytes_atomic(path, _script("facet", {"facet": name, "key": key, "rows": numbers}), many=True)
            written.add(path.name)
    for old_facet in data.glob("facet-*.js"):  # values no asset has any more
        if old_facet.name not in written:
            old_facet.unlink()
    _write_list_page(folder, env, counts)
    return shards


#: The overview lists at most this many troubled assets (the list filtered by status shows them all).
TROUBLE_SHOWN = 500


def _read_script(path: Path, callback: str) -> Any:
    """The payload of a data file written by ``_script`` (None when it is missing or not one)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    head, tail = f"llvscan.{callback}(", ");\n"
    if not (text.startswith(head) and text.endswith(tail)):
        return None
    return json.loads(text[len(head):-len(tail)])


_FACETS = (("status", 4), ("kind", 3), ("code", 6))


def _keys(row: list[Any], column: int) -> set[str]:
    value = row[column]
    return set(value) if isinstance(value, list) else {value}


def _patch_list(folder: Path, env: Any, rows: _Assets, positions: dict[str, tuple[int, int]]) -> int | None:
    """Put the given assets' new rows in place in the list's shards and filters, and write only the
    files that changed (the shards holding them, the filters they enter or leave, the index). None (and
    nothing written) when the list's files are missing or not as the state says."""
    data = folder / "data"
    index = _read_script(data / "index.js", "index")
    if index is None:
        return None
    shards: dict[int, dict] = {}
    facets: dict[tuple[str, str], list[int]] = {}

    def facet(name: str, key: str) -> list[int]:
        if (name, key) not in facets:
            found = _read_script(data / f"facet-{name}-{slug(key)}.js", "facet")
            facets[(name, key)] = list(found["rows"]) if found else []
        return facets[(name, key)]

    for asset in rows.assets:
        shard, position = positions[asset.id]
        if shard not in shards:
            shards[shard] = _read_script(data / f"rows-{shard:04d}.js", "rows")
        if shards[shard] is None or position >= len(shards[shard]["rows"]):
            return None
        old, new = shards[shard]["rows"][position], _row(asset, rows)
        shards[shard]["rows"][position] = new
        number = shard * SHARD_ROWS + position
        for name, column in _FACETS:
            before, after = _keys(old, column), _keys(new, column)
            for key in before - after:
                numbers = facet(name, key)
                if number in numbers:
                    numbers.remove(number)
            for key in after - before:
                bisect.insort(facet(name, key), number)
    for shard, payload in shards.items():
        write_bytes_atomic(data / f"rows-{shard:04d}.js", _script("rows", payload), many=True)
    for (name, key), numbers in facets.items():
        path = data / f"facet-{name}-{slug(key)}.js"
        counts = index["facets"].setdefault(name, {})
        if numbers:
            write_bytes_atomic(path, _script("facet", {"facet": name, "key": key, "rows": numbers}), many=True)
            counts[key] = len(numbers)
        else:
            path.unlink(missing_ok=True)
            counts.pop(key, None)
    for name in index["facets"]:
        index["facets"][name] = dict(sorted(index["facets"][name].items()))
    write_bytes_atomic(data / "index.js", _script("index", index), many=True)
    _write_list_page(folder, env, index["facets"])
    return int(index["shards"])


def _write_list_page(folder: Path, env: Any, facets: dict[str, dict[str, int]]) -> None:
    html = env.get_template("assets.html").render(root="", facets=facets,
                                                  slugs={k: slug(k) for f in facets.values() for k in f})
    write_bytes_atomic(folder / "assets.html", html.encode("utf-8"), many=True)


def _write_overview(folder: Path, env: Any, catalog: Any, runs: list[Any], summary: Any) -> None:
    """The overview, from SQLite's aggregates: no asset row but the troubled ones reaches Python."""
    agg = catalog.aggregates()
    counts = {(kind, status): n for kind, status, n in agg.by_kind_status}
    kinds = sorted({kind for kind, _ in counts})
    statuses = sorted({status for _, status in counts})
    troubled, findings, total = catalog.troubled(TROUBLE_SHOWN)
    trouble = [{"asset": a, "name": page_name(a), "findings": findings.get(a.id, [])} for a in troubled]
    charts = [c for c in (
        _bars("Findings by code", agg.finding_codes[:30]),
        _histogram("Faces per mesh", agg.mesh_faces, "", log=True),
        _bars("Worst Hausdorff error of each level (% of the diagonal)",
              [(level, round(value, 4)) for level, value in agg.level_worst_hausdorff], " %"),
        _histogram("Image sharpness (variance of the Laplacian)", agg.image_sharpness, "", log=True),
        _histogram("Clipped pixels per image (worst band, %)", agg.image_clipping, " %"),
        _histogram("Seconds per asset (last attempt)", agg.asset_seconds, " s", log=True),
    ) if c is not None]
    html = env.get_template("index.html").render(
        root="", kinds=kinds, statuses=statuses, counts=defaultdict(int, counts), total=summary.assets,
        trouble=trouble, trouble_total=total, charts=charts, runs=runs,
        durations={r.id: _duration(r.started_at, r.finished_at) for r in runs}, summary=summary)
    write_bytes_atomic(folder / "index.html", html.encode("utf-8"), many=True)


def _duration(started: str, finished: str | None) -> str:
    """A run's length, h:mm:ss, from its ISO timestamps ("—" while it runs or when they do not parse)."""
    import datetime as dt

    try:
        seconds = (dt.datetime.fromisoformat(finished) - dt.datetime.fromisoformat(started)).total_seconds() \
            if finished else None
    except ValueError:
        return "—"
    if seconds is None or seconds < 0:
        return "—"
    return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{seconds % 60:04.1f}"


def _write_iiif(*, catalog: Any, out: Path, folder: Path, base_url: str | None, only: set[str] | None) -> None:
    """IIIF Presentation 3 for every asset, ids under ``base_url``/report/iiif."""
    from llvscan.catalog.presentation import run_urls, write_presentation

    base = (base_url or run_urls(catalog)[0]).rstrip("/")
    write_presentation(catalog, out, folder / "iiif", base_url=f"{base}/report/iiif", tiles_url=f"{base}/iiif",
                       files_url=base, assets=only)
