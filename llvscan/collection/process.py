"""The work done on one asset, in a worker process: checksums, then validation and LODs (meshes) or
inspection and tiles (images). It never raises: every outcome, failure included, is an ``AssetRecord``
for the driver, the catalog's one writer, to store.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import socket
import time
import traceback
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from llvscan._paths import sha256_file, slug, tree_digest
from llvscan._publish import write_json_atomic
from llvscan._report import Finding, HasFindings
from llvscan._stages import stage
from llvscan.catalog.db import PreviousState
from llvscan.catalog.records import (
    AssetRecord,
    DerivativeRecord,
    EventRecord,
    FileRecord,
    FindingRecord,
    JsonValue,
    utc_now,
)
from llvscan.collection.discover import Asset
from llvscan.collection.recipe import RunRecipe
from llvscan.errors import LlvscanError

if TYPE_CHECKING:
    from llvscan.preservation import FormatIdentification

__all__ = ["LAYOUT_FOLDERS", "AssetJob", "output_name", "outputs_intact", "process_asset", "source_files"]

log = logging.getLogger(__name__)

#: Where each tiling layout's folders go under the output folder (IIIF 3, the default, keeps "iiif/").
LAYOUT_FOLDERS = {"iiif3": "iiif", "iiif2": "iiif2", "dz": "dz", "zoomify": "zoomify", "ptiff": "ptiff",
                  "szi": "szi"}


@dataclass(frozen=True)
class AssetJob:
    """One asset to process; picklable, so it can travel to a worker process or a cluster."""

    asset: Asset
    root: str
    out: str
    recipe: RunRecipe
    previous: PreviousState | None = None
    force: bool = False

    @property
    def cost(self) -> int:
        """Bytes of source: the scheduler sends big assets first and batches small ones."""
        return self.asset.bytes


def outputs_intact(out: Path, derivatives: list[tuple[str, int]]) -> bool:
    """Whether every recorded output still exists with its recorded size (a folder: its total size).
    A recipe that makes no outputs (a catalogue-only run) leaves nothing to check."""
    for rel, size in derivatives:
        path = out / rel
        try:
            if path.is_file():
                if path.stat().st_size != size:
                    return False
            elif path.is_dir():
                if sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) != size:
                    return False
            else:
                return False
        except OSError:
            return False
    return True


def output_name(asset: Asset) -> str:
    """The folder name of an asset's outputs: its file stem (slugged) and the start of its id."""
    return f"{slug(Path(asset.rel_path).stem)}-{asset.asset_id[:8]}"


def _findings(source: str, findings: list[Finding]) -> list[FindingRecord]:
    return [FindingRecord(source, f.level, f.code, f.message, f.count, f.measure) for f in findings]


def _summary(report: HasFindings) -> str:
    return "; ".join(f"{f.level}: {f.message}" for f in report.findings) or "no findings"


def _json_derivative(out: Path, rel: str, role: str, payload: dict[str, Any]) -> DerivativeRecord:
    write_json_atomic(out / rel, payload)
    target = out / rel
    return DerivativeRecord(role, rel, target.stat().st_size, 1, sha256_file(target))


@dataclass
class _Outcome:
    valid: bool | None
    measurements: dict[str, JsonValue]
    derivatives: list[DerivativeRecord]
    events: list[EventRecord]
    findings: list[FindingRecord]


def _process_mesh(asset: Asset, root: Path, out: Path, recipe: RunRecipe) -> _Outcome:
    from llvscan.mesh import build_lods, load_mesh, validate_mesh

    with stage("load"):
        mesh = load_mesh(root / asset.rel_path, max_faces=recipe.mesh.max_faces, root=root)
    with stage("validate"):
        report = validate_mesh(mesh, thresholds=recipe.mesh.thresholds())
    data = {**report.to_dict(), "path": asset.rel_path}
    folder = f"assets/{output_name(asset)}"
    derivatives = [_json_derivative(out, f"{folder}/validation.json", "validation", data)]
    findings = _findings("validation", report.findings)
    events = [EventRecord("validation", "success" if report.is_valid else "failure",
                          f"{report.faces} faces, watertight={report.watertight}; {_summary(report)}")]
    measurements: dict[str, JsonValue] = {k: data[k] for k in ("vertices", "faces", "watertight", "bbox_size",
                                                               "units", "surface_area", "boundary_edges",
                                                               "non_manifold_edges")}
    measurements["errors"] = [f.message for f in report.errors]
    lod_recipe = recipe.mesh.lod_recipe()
    if lod_recipe is not None and (report.is_valid or recipe.mesh.lods_for_invalid):
        with stage("lods-other"):  # what the LOD stages inside leave: planning, atlases, the folder swap
            lods = build_lods(mesh, lod_recipe, out / folder / "lods", name=Path(asset.rel_path).stem,
                              units=recipe.mesh.units, up_axis=recipe.mesh.up_axis, metadata=asset.metadata)
        findings += _findings("lods", lods.findings)
        base = f"{folder}/lods"
        for level in lods.levels:
            side = max(level.texture_size) if level.texture_size else None
            detail: dict[str, JsonValue] = {
                "usage": level.usage, "quality": level.quality, "mime_type": level.mime_type,
                "target_faces": level.target_faces, "mean_pct": level.mean_pct,
                "texel_drift_median": level.texel_drift_median, "texel_drift_p95": level.texel_drift_p95,
                "decimated_from": level.decimated_from, "ssim": level.ssim, "psnr": level.psnr,
                "compression": level.compression, "compression_error_pct": level.compression_error_pct,
                "baked": list(level.baked), "unwrapped": level.unwrapped}
            derivatives.append(DerivativeRecord("lod", f"{base}/{level.uri}", level.bytes, 1, level.sha256, detail,
                                                level=level.name, faces=level.faces, texture_size=side,
                                                hausdorff_pct=level.hausdorff_pct))
        with stage("checksum"):
            for role, rel in (("scene", lods.scene), ("thumbnail", lods.thumbnail)):
                if rel:
                    target = out / base / rel
                    derivatives.append(DerivativeRecord(role, f"{base}/{rel}", target.stat().st_size, 1,
                                                        sha256_file(target)))
        worst = max((level.hausdorff_pct for level in lods.levels), default=0.0)
        events.append(EventRecord("creation", "success",
                                  f"{len(lods.levels)} levels of detail ({lod_recipe.name}) in {lods.seconds:.2f} s; "
                                  f"worst Hausdorff {worst:.3f} % of the diagonal"
                                  + "".join(f"; {note}" for note in lods.notes)))
    elif lod_recipe is not None:
        events.append(EventRecord("creation", "skipped", "levels of detail not built: the mesh failed validation"))
    return _Outcome(report.is_valid, measurements, derivatives, events, findings)


def _process_image(asset: Asset, root: Path, out: Path, recipe: RunRecipe) -> _Outcome:
    """Inspection and the first layout's tiles come from one decode of the master (``tile_and_inspect``); further
    layouts are tiled from the master again. Stages: ``tile:LAYOUT`` holds the one pass, the inspection's pixel
    work included (it runs alongside the tiling, so no clock can split them); ``inspect`` what is left of the
    inspection (its report, findings and JSON) — or all of it when the recipe makes no tiles."""
    from llvscan.imaging import inspect_image, tile_and_inspect, tile_image

    source, options = root / asset.rel_path, recipe.image
    name = output_name(asset)
    derivatives: list[DerivativeRecord] = []
    events: list[EventRecord] = []
    findings: list[FindingRecord] = []
    measurements: dict[str, JsonValue] = {}
    valid: bool | None = None
    layouts = list(options.layouts)
    tile_options: dict[str, Any] = dict(base_url=options.base_url, identifier=name, tile_size=options.tile_size,
                                         quality=options.quality, max_size=options.max_size,
                                         pixel_limit=options.pixel_limit)
    first_tiles = None
    if options.inspect:
        if layouts:
            layout = layouts.pop(0)
            with stage(f"tile:{layout}"):  # the source's sha256 was taken before, in process_asset
                done = tile_and_inspect(source, out / f"{LAYOUT_FOLDERS[layout]}/{name}", layout=layout,
                                        thresholds=options.thresholds(), checksum=False,
                                        **tile_options)
            report, first_tiles = done.report, (layout, done.tiles)
        else:
            with stage("inspect"):
                report = inspect_image(source, pixel_limit=options.pixel_limit, thresholds=options.thresholds())
        assert report is not None
        with stage("inspect"):
            data = {**report.to_dict(), "path": asset.rel_path}
            derivatives.append(_json_derivative(out, f"assets/{name}/inspection.json", "inspection", data))
        events.append(EventRecord("validation", "success" if report.is_valid else "failure",
                                  f"image inspection: {_summary(report)}"))
        findings, valid = _findings("inspection", report.findings), report.is_valid
        measurements = {k: data.get(k) for k in ("width", "height", "bands", "bit_depth", "interpretation",
                                                 "icc_profile", "format", "laplacian_variance", "noise_sigma")}
        measurements["errors"] = [f.message for f in report.errors]
        bands = report.band_statistics  # the worst band's clipping, for the report's distributions
        measurements["clipped_percent"] = max((b.clipped_low_percent + b.clipped_high_percent for b in bands),
                                              default=None)
    if options.jp2_master:
        derivatives.append(_jp2_master(source, out, name, options.pixel_limit))
        made = derivatives[-1].detail
        events.append(EventRecord("migration", "success",
                                  f"lossless JPEG 2000 master ({made['bytes_ratio']:.3f} of the source's bytes), "
                                  "bit-exact"))
        events.append(EventRecord("validation", "success", f"JPEG 2000 master valid ({made['validator']})"))
    todo = ([first_tiles] if first_tiles else []) + [(layout, None) for layout in layouts]
    for layout, tiles in todo:
        rel = f"{LAYOUT_FOLDERS[layout]}/{name}"
        if tiles is None:
            with stage(f"tile:{layout}"):
                tiles = tile_image(source, out / rel, layout=layout, **tile_options)
        with stage("checksum"):
            digest, total, count = tree_digest(out / rel)
        detail: dict[str, JsonValue] = {
            "service_id": tiles.service_id, "scale_factors": tiles.scale_factors, "sizes": tiles.sizes,
            "width": tiles.width, "height": tiles.height, "entry": tiles.entry}
        derivatives.append(DerivativeRecord(layout, rel, total, count, digest, detail,
                                            texture_size=max(tiles.width, tiles.height)))
        events.append(EventRecord("creation", "success", f"{layout} tile set, {count} files, {tiles.seconds:.2f} s"))
        measurements.setdefault("width", tiles.width)
        measurements.setdefault("height", tiles.height)
        measurements.setdefault("icc_profile", tiles.source_icc_profile)
    return _Outcome(valid, measurements, derivatives, events, findings)


def _process_target(asset: Asset, root: Path, out: Path, recipe: RunRecipe) -> _Outcome:
    """A capture target: graded to the recipe's standard (``grade_target``), not tiled. Its report (and the
    overlay a person checks the detection with) are outputs; the grade goes to the catalog's sessions."""
    from llvscan.imaging.qa import STANDARDS, grade_target, parse_corners

    name, qa = output_name(asset), recipe.qa
    text = asset.metadata.get("corners")
    corners = parse_corners(text, source="the sidecar's corners") if text else None
    overlay = out / f"assets/{name}/target-overlay.png" if qa.overlay else None
    with stage("qa"):
        report = grade_target(root / asset.rel_path, target=asset.metadata.get("target") or "auto",
                              standard=qa.standard, required_level=qa.level, corners=corners, overlay=overlay,
                              pixel_limit=recipe.image.pixel_limit)
    derivatives = [_json_derivative(out, f"assets/{name}/target.json", "target",
                                    {**report.to_dict(), "path": asset.rel_path,
                                     "overlay": None if overlay is None or report.overlay is None
                                     else f"assets/{name}/target-overlay.png"})]
    if report.overlay is not None and overlay is not None:
        rel = f"assets/{name}/target-overlay.png"
        derivatives.append(DerivativeRecord("target-overlay", rel, overlay.stat().st_size, 1, sha256_file(overlay)))
    grade = "not graded" if report.grade is None else f"{report.standard} {report.level or 'below every level'}"
    events = [EventRecord("validation", "success" if report.passed else "failure",
                          f"capture target ({report.target}) graded: {grade}; {_summary(report)}")]
    measurements: dict[str, JsonValue] = {
        "width": report.width, "height": report.height, "session": asset.metadata.get("session"),
        "target": {"kind": report.target, "standard": report.standard, "level": report.level,
                   "level_rank": None if report.level is None else STANDARDS[qa.standard].levels.index(report.level),
                   "required_level": report.required_level, "passed": report.passed,
                   "complete": bool(report.grade and report.grade.complete),
                   "metrics": dict(report.metrics)},
        "errors": [f.message for f in report.errors]}
    return _Outcome(report.passed, measurements, derivatives, events, _findings("qa", report.findings))


def _jp2_master(source: Path, out: Path, name: str, pixel_limit: int) -> DerivativeRecord:
    """The image's lossless JPEG 2000 preservation master: written, validated by jpylyzer and compared pixel for
    pixel before it appears (``write_jp2_master`` raises otherwise, and the asset fails)."""
    from llvscan.preservation import write_jp2_master

    rel = f"masters/{name}.jp2"
    with stage("jp2"):
        master = write_jp2_master(source, out / rel, pixel_limit=pixel_limit)
    with stage("checksum"):
        digest = sha256_file(out / rel)
    v = master.validation
    detail: dict[str, JsonValue] = {
        "bytes_ratio": round(master.ratio, 4), "resolutions": master.resolutions, "tile_size": master.tile_size,
        "progression": master.progression, "icc_kept": master.icc_kept, "lossless": master.lossless,
        "validator": f"{v.tool} {v.tool_version}", "reversible": v.reversible}
    return DerivativeRecord("jp2-master", rel, master.bytes, 1, digest, detail,
                            texture_size=max(master.width, master.height))


def source_files(asset: Asset, root: Path) -> list[FileRecord]:
    files = []
    for f in asset.files:
        stat = (root / f.rel_path).stat()
        files.append(FileRecord(f.rel_path, f.role, stat.st_size, sha256_file(root / f.rel_path), stat.st_mtime_ns))
    return files


_Named = TypeVar("_Named", FileRecord, DerivativeRecord)


def _with_formats(records: list[_Named], paths: list[Path]) -> tuple[list[_Named], list[FormatIdentification]]:
    """``records`` with the PRONOM format siegfried finds in each of ``paths`` (one call for them all)."""
    from llvscan.preservation import identify_files

    found = identify_files(paths)
    named = [replace(r, puid=i.puid, format_name=i.format_name or None, format_version=i.format_version or None)
             for r, i in zip(records, found, strict=True)]
    return named, found


def _identify(files: list[FileRecord], root: Path) -> tuple[list[FileRecord], EventRecord, list[FindingRecord]]:
    """Each source file's PRONOM format, the PREMIS "format identification" event naming the tool and its
    signatures, and a finding per file whose extension says otherwise."""
    from llvscan.preservation import tool_info

    named, found = _with_formats(files, [root / f.rel_path for f in files])
    findings = [FindingRecord("identification", i.finding.level, i.finding.code,
                              i.finding.message.replace(str(root) + os.sep, ""))
                for i in found if i.finding is not None and i.finding.level in ("error", "warning")]
    detail = "; ".join(f"{f.rel_path}: {f.puid} {f.format_name or ''}".rstrip() for f in named)
    outcome = "warning" if findings else "success"
    return named, EventRecord("format identification", outcome, f"{tool_info().agent_name}: {detail}"), findings


def _identify_outputs(derivatives: list[DerivativeRecord], out: Path) -> tuple[list[DerivativeRecord],
                                                                              list[EventRecord]]:
    """The PRONOM format of every single-file output (reports, GLB levels, thumbnails, JP2 masters); a tile
    set's folder is left unidentified."""
    from llvscan.preservation import tool_info

    single = [i for i, d in enumerate(derivatives) if d.files == 1 and (out / d.path).is_file()]
    if not single:
        return derivatives, []
    named, _ = _with_formats([derivatives[i] for i in single], [out / derivatives[i].path for i in single])
    result = list(derivatives)
    for i, record in zip(single, named, strict=True):
        result[i] = record
    detail = "; ".join(f"{d.path}: {d.puid}" for d in named)
    return result, [EventRecord("format identification", "success", f"{tool_info().agent_name}: outputs: {detail}")]


def process_asset(job: AssetJob) -> AssetRecord:
    """Checksum one asset, then process it as the recipe says. Never raises: failures are records."""
    started, clock = utc_now(), time.perf_counter()
    asset, root, out = job.asset, Path(job.root), Path(job.out)
    recipe_hash = job.recipe.sha256(asset.recipe_kind)
    base = AssetRecord(asset_id=asset.asset_id, rel_path=asset.rel_path, kind=asset.kind, format=asset.format,
                       status="failed", recipe_sha256=recipe_hash, metadata=asset.metadata, started_at=started,
                       worker=f"{socket.gethostname()}:{os.getpid()}")
    if asset.problem:
        return replace(base, error=asset.problem, seconds=0.0,
                       events=[EventRecord("ingestion", "failure", asset.problem)])
    events: list[EventRecord] = []
    try:
        with stage("checksum"):
            files = source_files(asset, root)
        content = hashlib.sha256("".join(f"{f.rel_path} {f.sha256}\n" for f in files).encode()).hexdigest()
        mtime_ns = files[0].mtime_ns
        mtime = (None if mtime_ns is None
                 else dt.datetime.fromtimestamp(mtime_ns / 1e9, dt.UTC).isoformat(timespec="seconds"))
        base = replace(base, bytes=files[0].bytes, sha256=files[0].sha256, content_sha256=content, files=files,
                       mtime=mtime)
        previous = job.previous
        if (not job.force and previous is not None and previous.status == "ok"
                and previous.content_sha256 == content and previous.recipe_sha256 == recipe_hash
                and outputs_intact(out, previous.derivatives)):
            # touched but not changed: the checksums prove it; only the files' dates are refreshed
            return replace(base, status="skipped", seconds=round(time.perf_counter() - clock, 3), events=[
                EventRecord("fixity check", "success",
                            f"sha256 of {len(files)} file(s) unchanged since the last run; outputs intact")])
        events.append(EventRecord("message digest calculation", "success",
                                  f"sha256 of {len(files)} file(s): {files[0].sha256}"))
        with stage("identify"):
            files, identified, found = _identify(files, root)
        base = replace(base, files=files, findings=found)
        events.append(identified)
        process = {"mesh": _process_mesh, "target": _process_target}.get(asset.recipe_kind, _process_image)
        outcome = process(asset, root, out, job.recipe)
        with stage("identify"):
            derivatives, outputs_identified = _identify_outputs(outcome.derivatives, out)
        return replace(base, status="ok", is_valid=outcome.valid, measurements=outcome.measurements,
                       derivatives=derivatives, events=events + outcome.events + outputs_identified,
                       findings=found + outcome.findings, seconds=round(time.perf_counter() - clock, 3))
    except LlvscanError as exc:
        message = str(exc).replace(str(root) + os.sep, "")
    except Exception as exc:  # a bug or an upstream surprise: keep the run going, keep the trace
        log.debug("unexpected failure on %s", asset.rel_path, exc_info=True)
        message = f"{asset.rel_path}: unexpected {type(exc).__name__}: {exc}"
        events.append(EventRecord("processing", "failure", traceback.format_exc(limit=5)))
    return replace(base, error=message, seconds=round(time.perf_counter() - clock, 3),
                   events=[*events, EventRecord("processing", "failure", message)])
