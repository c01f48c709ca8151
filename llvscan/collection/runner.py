"""Running a whole collection: every asset in its own worker process, one catalog writer.

The driver discovers assets, asks the catalog what was done before, hands each asset to a process
pool and stores each returned ``AssetRecord`` in one transaction. A Python exception in a worker
becomes a failed record; a worker that dies outright (a segfault in a C extension) breaks the pool,
and the assets that were in flight are retried one at a time so the one that kills its worker is
identified and marked failed while the rest complete.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import multiprocessing
import os
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from llvscan import __version__
from llvscan._paths import inside, sha256_file, slug, tree_digest
from llvscan._publish import write_json_atomic
from llvscan.catalog.db import Catalog, PreviousState
from llvscan.catalog.records import AssetRecord, DerivativeRecord, EventRecord, FileRecord
from llvscan.collection.discover import Asset, discover_assets
from llvscan.errors import InvalidParameterError, LlvscanError

__all__ = ["CATALOG_NAME", "RunOptions", "RunSummary", "process_asset", "run_collection"]

log = logging.getLogger(__name__)

CATALOG_NAME = "catalog.sqlite"
#: Bump when per-asset processing changes in a way that should redo finished assets.
PROCESSING_VERSION = 1


@dataclass(frozen=True)
class RunOptions:
    """What to do to each asset. Its hash decides whether a finished asset must be redone."""

    base_url: str = "http://localhost:8000/iiif"
    tile_size: int = 512
    quality: int = 85
    max_size: int = 2048
    pixel_limit: int = 20_000_000_000
    max_faces: int = 200_000_000

    def recipe_sha256(self) -> str:
        payload = json.dumps({"processing": PROCESSING_VERSION, **asdict(self)}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True)
class RunSummary:
    run_id: int
    collection: str
    out_dir: str
    catalog: str
    total: int
    ok: int
    failed: int
    skipped: int
    invalid: int
    seconds: float
    failures: list[dict[str, str]] = field(default_factory=list)
    invalid_assets: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 when every asset was processed and valid, 1 when any failed or is invalid."""
        return 1 if self.failed or self.invalid else 0


@dataclass(frozen=True)
class _Job:
    asset: Asset
    root: str
    out: str
    options: RunOptions
    previous: PreviousState | None
    force: bool


# -- per-asset work (runs in the worker process) -------------------------------------------------
def _outputs_intact(out: Path, derivatives: list[tuple[str, int]]) -> bool:
    for rel, size in derivatives:
        path = out / rel
        if path.is_file():
            if path.stat().st_size != size:
                return False
        elif path.is_dir():
            if sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) != size:
                return False
        else:
            return False
    return bool(derivatives)


def _output_name(asset: Asset) -> str:
    return f"{slug(Path(asset.rel_path).stem)}-{asset.asset_id[:8]}"


def _process_mesh(asset: Asset, root: Path, out: Path, options: RunOptions) -> tuple[dict, list, list, bool]:
    from llvscan.mesh.io import load_mesh
    from llvscan.mesh.validate import validate_mesh

    report = validate_mesh(load_mesh(root / asset.rel_path, max_faces=options.max_faces))
    data = report.to_dict()
    data["path"] = asset.rel_path
    rel = f"assets/{_output_name(asset)}/validation.json"
    write_json_atomic(out / rel, data)
    target = out / rel
    derivative = DerivativeRecord("validation", rel, target.stat().st_size, 1, sha256_file(target))
    outcome = "success" if report.is_valid else "failure"
    findings = "; ".join(f"{f.level}: {f.message}" for f in report.findings) or "no findings"
    event = EventRecord("validation", outcome, f"{report.faces} faces, watertight={report.watertight}; {findings}")
    measurements = {k: data[k] for k in ("vertices", "faces", "watertight", "bbox_size", "units",
                                         "surface_area", "boundary_edges", "non_manifold_edges")}
    measurements["errors"] = [f.message for f in report.errors]
    return measurements, [derivative], [event], report.is_valid


def _process_image(asset: Asset, root: Path, out: Path, options: RunOptions) -> tuple[dict, list, list, bool]:
    from llvscan.imaging.tiles import tile_image

    rel = f"iiif/{_output_name(asset)}"
    tiles = tile_image(root / asset.rel_path, out / rel, layout="iiif3", base_url=options.base_url,
                       tile_size=options.tile_size, quality=options.quality, max_size=options.max_size,
                       pixel_limit=options.pixel_limit)
    digest, total, count = tree_digest(out / rel)
    detail = {"service_id": tiles.service_id, "scale_factors": tiles.scale_factors, "sizes": tiles.sizes}
    derivative = DerivativeRecord("iiif3", rel, total, count, digest, detail)
    event = EventRecord("creation", "success",
                        f"IIIF Image API 3 level 0 tile set, {count} files, {tiles.seconds:.2f} s")
    measurements = {"width": tiles.width, "height": tiles.height,
                    "icc_profile": tiles.source_icc_profile}
    return measurements, [derivative], [event], True


def process_asset(job: _Job) -> AssetRecord:
    """Checksum, then validate (meshes) or tile (images) one asset. Never raises: failures are records."""
    asset, root, out = job.asset, Path(job.root), Path(job.out)
    recipe = job.options.recipe_sha256()
    base = AssetRecord(asset_id=asset.asset_id, rel_path=asset.rel_path, kind=asset.kind, format=asset.format,
                       status="failed", recipe_sha256=recipe, metadata=asset.metadata)
    if asset.problem:
        return replace(base, error=asset.problem,
                       events=[EventRecord("ingestion", "failure", asset.problem)])
    events: list[EventRecord] = []
    try:
        main = root / asset.rel_path
        stat = main.stat()
        files = [FileRecord(f.rel_path, f.role, (root / f.rel_path).stat().st_size, sha256_file(root / f.rel_path))
                 for f in asset.files]
        content = hashlib.sha256("".join(f"{f.rel_path} {f.sha256}\n" for f in files).encode()).hexdigest()
        base = replace(base, bytes=stat.st_size, sha256=files[0].sha256, content_sha256=content, files=files,
                       mtime=dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC).isoformat(timespec="seconds"))
        events.append(EventRecord("message digest calculation", "success",
                                  f"sha256 of {len(files)} file(s): {files[0].sha256}"))
        previous = job.previous
        if (not job.force and previous is not None and previous.status == "ok"
                and previous.content_sha256 == content and previous.recipe_sha256 == recipe
                and _outputs_intact(out, previous.derivatives)):
            return replace(base, status="skipped", events=[EventRecord(
                "fixity check", "success", "unchanged since the last run and outputs intact: skipped")])
        process = _process_mesh if asset.kind == "mesh" else _process_image
        measurements, derivatives, more_events, valid = process(asset, root, out, job.options)
        return replace(base, status="ok", is_valid=valid, measurements=measurements,
                       derivatives=derivatives, events=events + more_events)
    except LlvscanError as exc:
        message = str(exc).replace(str(root) + os.sep, "")
    except Exception as exc:  # a bug or an upstream surprise: keep the run going, keep the trace
        log.debug("unexpected failure on %s", asset.rel_path, exc_info=True)
        message = f"{asset.rel_path}: unexpected {type(exc).__name__}: {exc}"
        events.append(EventRecord("processing", "failure", traceback.format_exc(limit=5)))
    return replace(base, error=message, events=[*events, EventRecord("processing", "failure", message)])


# -- the driver ------------------------------------------------------------------------------
def _crash_record(job: _Job, attempts: int) -> AssetRecord:
    message = (f"{job.asset.rel_path}: the worker process died while processing this asset "
               f"({attempts} attempts); a library crashed on it")
    return AssetRecord(asset_id=job.asset.asset_id, rel_path=job.asset.rel_path, kind=job.asset.kind,
                       format=job.asset.format, status="failed", recipe_sha256=job.options.recipe_sha256(),
                       error=message, metadata=job.asset.metadata, attempts=attempts,
                       events=[EventRecord("processing", "failure", message)])


def _pool(workers: int) -> ProcessPoolExecutor:
    # spawn: libvips and numba start threads; forking a threaded parent can deadlock the child
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))


def _execute(jobs: list[_Job], workers: int,
             work: Callable[[_Job], AssetRecord] = process_asset) -> Iterator[AssetRecord]:
    """Yield one record per job, in completion order; ``work`` must be a picklable module function."""
    if workers == 0:  # in this process: for debugging and profiling
        yield from map(work, jobs)
        return
    suspects: list[_Job] = []
    with _pool(workers) as pool:
        futures: dict[Future[AssetRecord], _Job] = {pool.submit(work, j): j for j in jobs}
        for future in as_completed(futures):
            try:
                yield future.result()
            except BrokenProcessPool:
                suspects.append(futures[future])
    # A worker died: retry the assets it may have taken down with it, one at a time, to find the culprit.
    pool = None
    for job in suspects:
        pool = pool or _pool(1)
        try:
            yield replace(pool.submit(work, job).result(), attempts=2)
        except BrokenProcessPool:
            pool.shutdown(wait=False)
            pool = None
            yield _crash_record(job, attempts=2)
    if pool is not None:
        pool.shutdown()


def run_collection(
    collection: str | Path,
    out: str | Path,
    *,
    options: RunOptions | None = None,
    workers: int | None = None,
    only: str | None = None,
    force: bool = False,
    on_start: Callable[[int], None] | None = None,
    on_record: Callable[[AssetRecord], None] | None = None,
) -> RunSummary:
    """Process every asset of ``collection`` into ``out`` (outputs + ``catalog.sqlite``).

    ``workers``: processes (default: all cores; 0 runs in this process). ``only``: "mesh" or "image".
    ``force``: redo assets even when unchanged. Finished, unchanged assets are skipped.
    """
    options = options or RunOptions()
    root, out = Path(collection).resolve(), Path(out).resolve()
    if only not in (None, "mesh", "image"):
        raise InvalidParameterError(f"--only must be 'mesh' or 'image', not {only!r}")
    if inside(out, root):
        raise InvalidParameterError("the output folder must not lie inside the collection", path=out)
    workers = (os.cpu_count() or 1) if workers is None else workers
    if workers < 0:
        raise InvalidParameterError(f"workers must be 0 or more, not {workers}")
    started = time.perf_counter()
    discovery = discover_assets(root)
    assets = [a for a in discovery.assets if only is None or a.kind == only]
    out.mkdir(parents=True, exist_ok=True)
    counts = {"ok": 0, "failed": 0, "skipped": 0}
    failures: list[dict[str, str]] = []
    with Catalog(out / CATALOG_NAME) as catalog:
        run_id = catalog.begin_run(collection=root, out_dir=out,
                                   options={**asdict(options), "only": only, "force": force, "workers": workers})
        agent = f"llvscan {__version__} (recipe {options.recipe_sha256()[:12]})"
        jobs = [_Job(a, str(root), str(out), options, catalog.previous(a.asset_id), force) for a in assets]
        if on_start:
            on_start(len(jobs))
        status = "interrupted"
        try:
            for record in _execute(jobs, workers):
                catalog.record(run_id, record, agent=agent)
                counts[record.status] += 1
                if record.status == "failed":
                    failures.append({"path": record.rel_path, "error": record.error or ""})
                if on_record:
                    on_record(record)
            status = "completed"
        finally:
            catalog.finish_run(run_id, status=status, **counts)
        # skipped assets keep their verdict from the run that validated them
        invalid = catalog.invalid_assets([a.asset_id for a in assets])
    return RunSummary(run_id=run_id, collection=str(root), out_dir=str(out), catalog=str(out / CATALOG_NAME),
                      total=len(jobs), invalid=len(invalid), invalid_assets=invalid,
                      seconds=round(time.perf_counter() - started, 2),
                      failures=sorted(failures, key=lambda f: f["path"]), notes=discovery.notes, **counts)


