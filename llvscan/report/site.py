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

The report is updated incrementally: an asset's page is rewritten only when what it shows changed
(a digest of its catalog rows, kept in ``report/state.json``); the overview and the list are rebuilt.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import pickle
import shutil
import time
from collections import Counter, defaultdict
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

__all__ = ["CSP", "SHARD_ROWS", "ReportResult", "build_report", "page_name"]

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
    bytes: int  # the report folder's size on disk, vendored viewers included
    seconds: float


def page_name(asset: AssetRow) -> str:
    """The file name (without ``.html``) of an asset's page: its stem slugged and the start of its id,
    as its output folder is named."""
    return f"{slug(Path(asset.rel_path).stem)}-{asset.id[:8]}"


class _Assets:
    """Every asset with the rows the overview and the list need, grouped once; the rows only a page shows
    (source files, events) are read per asset, for the pages being written."""

    def __init__(self, catalog: Any) -> None:
        self.catalog = catalog
        self.assets: list[AssetRow] = sorted(catalog.assets(), key=lambda a: a.rel_path)
        self.findings: dict[str, list[FindingRow]] = defaultdict(list)
        for finding in catalog.findings():
            self.findings[finding.asset_id].append(finding)
        self.derivatives: dict[str, list[DerivativeRow]] = defaultdict(list)
        for derivative in catalog.derivatives():
            self.derivatives[derivative.asset_id].append(derivative)
        self.seconds: dict[str, float] = {}
        for attempt in catalog.attempts():
            if attempt.seconds is not None:
                self.seconds[attempt.asset_id] = attempt.seconds  # the latest attempt's
        self.runs = catalog.runs()

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
        "levels": [], "web_level": None, "tiles": None, "histogram": None, "problems": [],
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
    if "validation" in by_role:
        view["validation"] = _read_json(out / by_role["validation"].path)
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
    the IIIF manifests' ids are under ``base_url/report/iiif``. ``assets`` (ids) limits the asset pages
    considered for rewriting (the run passes the assets it processed); pages are rewritten only when
    what they show changed either way. Raises ``InvalidParameterError`` when ``out_dir`` holds no catalog,
    ``OutputError`` when the report cannot be written."""
    from llvscan.catalog.db import Catalog

    started = time.perf_counter()
    out = Path(out_dir)
    db = out / CATALOG_NAME
    if not db.is_file():
        raise InvalidParameterError(f"no catalog here ({CATALOG_NAME}): run `llvscan run` first", path=out)
    folder = out / "report"
    env = _environment()
    state_path = folder / "state.json"
    state: dict[str, str] = {}
    site = _site_digest()
    if state_path.is_file():
        try:
            saved = json.loads(state_path.read_text(encoding="utf-8"))
            # pages made by other templates or scripts (another llvscan) are all made again
            state = saved.get("pages", {}) if saved.get("site") == site else {}
        except (OSError, ValueError, AttributeError):
            state = {}
    only = set(assets) if assets is not None else None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for sub in ("", "assets", "data", "iiif", "iiif/manifests"):
            clear_stale_in(folder / sub)
        with Catalog(db, readonly=True) as catalog:
            rows = _Assets(catalog)
            summary = catalog.summary()
            if iiif:  # first: a page links its manifest when there is one
                _write_iiif(catalog=catalog, out=out, folder=folder, base_url=base_url, only=only if state else None)
            _copy_tree(_HERE / "vendor", folder / "vendor")
            _copy_tree(_HERE / "static", folder / "static")
            written = kept = 0
            list_rows = []
            for asset in rows.assets:
                name = page_name(asset)
                list_rows.append(_row(asset, rows))
                page = folder / "assets" / f"{name}.html"
                if only is not None and asset.id not in only and name in state and page.is_file():
                    kept += 1  # not processed by this run, and written before: unchanged
                    continue
                view = _asset_view(asset, rows, out, "../../")
                digest = _digest(view)
                if state.get(name) == digest and page.is_file():
                    kept += 1
                    continue
                template = {"mesh": "mesh.html", "image": "image.html"}.get(asset.kind, "asset.html")
                manifest = folder / "iiif" / "manifests" / f"{name}.json"
                html = env.get_template(template).render(
                    v=view, root="../", manifest=f"../iiif/manifests/{name}.json" if manifest.is_file() else None)
                write_bytes_atomic(page, html.encode("utf-8"), many=True)
                state[name] = digest
                written += 1
        shards = _write_list(folder, list_rows, env)
        _write_overview(folder, env, rows, summary)
        names = {row[0] for row in list_rows}
        for stale in set(state) - names:  # assets no longer in the catalog
            (folder / "assets" / f"{stale}.html").unlink(missing_ok=True)
            state.pop(stale)
        write_bytes_atomic(state_path, json.dumps({"site": site, "pages": state}, sort_keys=True).encode())
    except OSError as exc:
        raise OutputError("cannot write the report", path=folder, detail=exc.strerror or str(exc)) from exc
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return ReportResult(folder=str(folder), assets=len(rows.assets), pages_written=written, pages_kept=kept,
                        shards=shards, bytes=size, seconds=round(time.perf_counter() - started, 3))


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
    index = {"total": len(rows), "shard_rows": SHARD_ROWS, "shards": shards,
             "facets": {name: {key: len(v) for key, v in sorted(values.items())} for name, values in facets.items()}}
    write_bytes_atomic(data / "index.js", _script("index", index))
    for name, values in facets.items():
        for key, numbers in values.items():
            write_bytes_atomic(data / f"facet-{name}-{slug(key)}.js",
                               _script("facet", {"facet": name, "key": key, "rows": numbers}), many=True)
    html = env.get_template("assets.html").render(root="", facets=index["facets"],
                                                  slugs={k: slug(k) for f in facets.values() for k in f})
    write_bytes_atomic(folder / "assets.html", html.encode("utf-8"))
    return shards


def _write_overview(folder: Path, env: Any, rows: _Assets, summary: Any) -> None:
    assets = rows.assets
    by_kind_status = Counter((a.kind, a.status) for a in assets)
    kinds = sorted({a.kind for a in assets})
    statuses = sorted({a.status for a in assets})
    trouble = [{"asset": a, "name": page_name(a), "findings": rows.findings.get(a.id, [])}
               for a in assets if a.status in ("failed", "quarantined") or a.is_valid == 0]
    codes = Counter(f.code for findings in rows.findings.values() for f in findings)
    faces = [a.measurements.get("faces") for a in assets if a.kind == "mesh"]
    per_level: dict[str, list[float]] = defaultdict(list)
    for derivatives in rows.derivatives.values():
        for d in derivatives:
            if d.role == "lod" and d.hausdorff_pct is not None:
                per_level[d.level].append(d.hausdorff_pct)
    sharpness = [a.measurements.get("laplacian_variance") for a in assets if a.kind == "image"]
    clipping = [a.measurements.get("clipped_pct") for a in assets if a.kind == "image"]
    charts = [c for c in (
        _bars("Findings by code", codes.most_common(30)),
        _histogram("Faces per mesh", [float(f) for f in faces if isinstance(f, int | float)], "", log=True),
        _bars("Worst Hausdorff error of each level (% of the diagonal)",
              [(level, round(max(values), 4)) for level, values in sorted(per_level.items())], " %"),
        _histogram("Image sharpness (variance of the Laplacian)",
                   [float(s) for s in sharpness if isinstance(s, int | float)], "", log=True),
        _histogram("Clipped pixels per image (%)", [float(c) for c in clipping if isinstance(c, int | float)], " %"),
        _histogram("Seconds per asset (last attempt)", list(rows.seconds.values()), " s", log=True),
    ) if c is not None]
    html = env.get_template("index.html").render(
        root="", kinds=kinds, statuses=statuses, counts=by_kind_status, total=len(assets), trouble=trouble,
        charts=charts, runs=rows.runs, durations={r.id: _duration(r.started_at, r.finished_at) for r in rows.runs},
        summary=summary)
    write_bytes_atomic(folder / "index.html", html.encode("utf-8"))


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
    from llvscan.catalog.presentation import write_presentation

    base = (base_url or _run_base(catalog)).rstrip("/")
    write_presentation(catalog, out, folder / "iiif", base_url=f"{base}/report/iiif", tiles_url=f"{base}/iiif",
                       files_url=base, assets=only)


def _run_base(catalog: Any) -> str:
    """The URL the run's output folder is served at, from the run's IIIF base URL (…/iiif)."""
    from llvscan._constants import DEFAULT_IIIF_BASE_URL

    runs = catalog.runs()
    run_base = runs[-1].options.get("base_url") if runs else None
    run_base = (run_base if isinstance(run_base, str) and run_base else DEFAULT_IIIF_BASE_URL).rstrip("/")
    return run_base[: -len("/iiif")] if run_base.endswith("/iiif") else run_base
