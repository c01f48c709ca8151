"""Running a whole collection: every asset in a worker process, one catalog writer.

The driver discovers the assets and asks the catalog what was done before. An asset whose source
files have the size and modification time the catalog recorded, whose recipe is unchanged and whose
outputs are all in place is skipped without being read (``rehash=True`` checksums it anyway, as a
fixity check). The rest go to a ``WorkerPool``, biggest first, small ones in batches; each returned
``AssetRecord`` is stored in one transaction. A Python exception in a worker is a failed record. A
worker that dies (a segfault in a C extension), runs past ``timeout`` or past ``memory_limit`` costs
that asset one attempt, recorded; it is retried on a fresh worker, and after ``max_attempts`` such
attempts it is *quarantined*: recorded with the reason and left alone by later runs until its content
or recipe changes (or ``force``). The run goes on in every case.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from llvscan import __version__
from llvscan._constants import CATALOG_NAME
from llvscan._json import JsonResult
from llvscan._paths import inside
from llvscan.catalog.db import Catalog, PreviousState
from llvscan.catalog.records import AssetRecord, EventRecord
from llvscan.catalog.rows import AssetFailure, InvalidAsset
from llvscan.collection.discover import Asset, discover_assets
from llvscan.collection.pool import Crash, WorkerPool
from llvscan.collection.process import AssetJob, outputs_intact, process_asset, source_files
from llvscan.collection.recipe import RunRecipe
from llvscan.errors import InvalidParameterError, LlvscanError

if TYPE_CHECKING:
    from llvscan.collection.cluster import DaskPool

__all__ = ["CATALOG_NAME", "RunSummary", "run_collection"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunSummary(JsonResult):
    _json_properties: ClassVar[tuple[str, ...]] = ("exit_code",)

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
    quarantined: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    failures: list[AssetFailure] = field(default_factory=list)
    invalid_assets: list[InvalidAsset] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    report: str | None = None  # OUT/report, when it was written

    @property
    def exit_code(self) -> int:
        """0 when every asset was processed and valid, 1 when any failed, was quarantined or is invalid."""
        return 1 if self.failed or self.invalid or self.quarantined else 0


def _unchanged(asset: Asset, previous: PreviousState) -> bool:
    """The catalog's size and mtime of every source file match the disk's (as rsync and make decide)."""
    files = {f.rel_path: (f.bytes, f.mtime_ns) for f in asset.files}
    return files == previous.files


def _plan(asset: Asset, previous: PreviousState | None, recipe: RunRecipe, out: Path, *, force: bool,
          rehash: bool) -> str:
    """'skipped' (unchanged and intact), 'quarantined' (still the asset that killed its workers) or 'run'."""
    if force or previous is None or asset.problem or previous.recipe_sha256 != recipe.sha256(asset.recipe_kind):
        return "run"
    if previous.status == "quarantined" and _unchanged(asset, previous):
        return "quarantined"
    if (not rehash and previous.status == "ok" and _unchanged(asset, previous)
            and outputs_intact(out, previous.derivatives)):
        return "skipped"
    return "run"


def _skipped(asset: Asset, recipe: RunRecipe, status: str = "skipped", error: str | None = None) -> AssetRecord:
    return AssetRecord(asset_id=asset.asset_id, rel_path=asset.rel_path, kind=asset.kind, format=asset.format,
                       status=status, recipe_sha256=recipe.sha256(asset.recipe_kind), error=error, attempts=0,
                       metadata=asset.metadata)


def _crash_record(job: AssetJob, crash: Crash, crashes: int) -> AssetRecord:
    message = (f"{job.asset.rel_path}: quarantined after {crashes} attempts: {crash.reason}; "
               "a library crashes on it or it needs more time or memory than allowed")
    try:  # checksummed here: later runs recognise the same content and leave it alone
        files = source_files(job.asset, Path(job.root))
    except OSError:
        files = []
    return AssetRecord(asset_id=job.asset.asset_id, rel_path=job.asset.rel_path, kind=job.asset.kind,
                       format=job.asset.format, status="quarantined",
                       recipe_sha256=job.recipe.sha256(job.asset.recipe_kind),
                       error=message, metadata=job.asset.metadata, attempts=crashes, crashes=crashes, files=files,
                       sha256=files[0].sha256 if files else None, bytes=files[0].bytes if files else None,
                       events=[EventRecord("processing", "failure", message)])


def _execute(jobs: list[AssetJob], workers: int, *, work: Callable[[AssetJob], AssetRecord] = process_asset,
             max_attempts: int = 3, timeout: float | None = None, memory_limit: int | None = None,
             threads: int | None = None, client: Any = None, batch_size: int | None = None,
             on_crash: Callable[[AssetJob, Crash, int], None] | None = None) -> Iterator[AssetRecord]:
    """Yield one record per job, in completion order. ``work`` must be an importable module function.

    A job whose worker crashes is retried (first in the queue) until it has cost ``max_attempts``
    workers; then its record is a quarantine. ``on_crash(job, crash, attempt)`` hears of every crash.
    With a Dask ``client`` the jobs run on its cluster (``workers`` is then its thread count).
    """
    if workers == 0 and client is None:  # in this process: for debugging and profiling; no crash protection
        yield from map(work, jobs)
        return
    crashes: Counter[str] = Counter()
    jobs = sorted(jobs, key=lambda j: -j.cost)
    pool: WorkerPool | DaskPool
    if client is not None:
        from llvscan.collection.cluster import DaskPool

        pool = DaskPool(client, work, workers=workers, timeout=timeout, memory_limit=memory_limit,
                        threads=threads, cost=lambda j: j.cost, batch_items=batch_size or 64)
    else:
        pool = WorkerPool(workers, work, timeout=timeout, memory_limit=memory_limit, cost=lambda j: j.cost,
                          threads=threads, batch_items=batch_size or 32)
    with pool:
        for job in jobs:
            pool.submit(job)
        for item in pool.results():
            if not isinstance(item, Crash):
                attempt = crashes[item.asset_id] + 1
                yield replace(item, attempts=attempt) if attempt > 1 else item
                continue
            job = item.task
            crashes[job.asset.asset_id] += 1
            attempt = crashes[job.asset.asset_id]
            log.warning("%s: attempt %d: %s", job.asset.rel_path, attempt, item.reason)
            if on_crash:
                on_crash(job, item, attempt)
            if attempt < max_attempts:
                pool.submit(job, first=True)
            else:
                yield _crash_record(job, item, attempt)


def run_collection(
    collection: str | Path,
    out: str | Path,
    *,
    recipe: RunRecipe | None = None,
    workers: int | None = None,
    only: str | None = None,
    force: bool = False,
    rehash: bool = False,
    max_attempts: int = 3,
    timeout: float | None = None,
    memory_limit: int | None = None,
    threads: int | None = None,
    scheduler: str | None = None,
    batch_size: int | None = None,
    on_start: Callable[[dict[str, int]], None] | None = None,
    on_record: Callable[[AssetRecord], None] | None = None,
    on_notice: Callable[[str], None] | None = None,
    report: bool = True,
    warm_up: bool = True,
) -> RunSummary:
    """Process every asset of ``collection`` into ``out`` (outputs + ``catalog.sqlite``).

    ``recipe``: what to do per kind (default ``RunRecipe()``). ``workers``: processes (default: all
    cores; 0 runs in this process, without crash protection). ``only``: "mesh" or "image". ``force``:
    redo every asset. ``rehash``: checksum unchanged-looking assets instead of trusting size and mtime.
    ``max_attempts``, ``timeout`` (seconds per asset) and ``memory_limit`` (bytes per worker): see the
    module docstring. ``threads``: library threads per worker (default: the cores shared out).
    ``scheduler``: a Dask scheduler address (tcp://HOST:8786) or "local" (a ``LocalCluster`` of
    ``workers`` processes) to run the assets on; see ``llvscan.collection.cluster``. ``batch_size``: the
    most small assets sent as one task (default 32 locally, 64 on Dask; big assets always go alone).
    ``on_start`` receives the number of assets per kind; ``on_record`` every record; ``on_notice`` what the
    user should know before the assets run (the first run on a machine compiles the kernels). ``report``: update
    the static report (``OUT/report``, ``llvscan.report``) at the end, rewriting only the pages of the
    assets this run processed whose content changed; a report that cannot be written is a note, never a
    failed run. ``warm_up``: where numba's cache lacks kernels the assets need, compile them first, once,
    on the run's processes side by side (``llvscan.collection.warm``; not on a Dask cluster).
    """
    recipe = (recipe or RunRecipe()).check()
    root, out = Path(collection).resolve(), Path(out).resolve()
    if only not in (None, "mesh", "image"):
        raise InvalidParameterError(f"--only must be 'mesh' or 'image', not {only!r}")
    if inside(out, root):
        raise InvalidParameterError("the output folder must not lie inside the collection", path=out)
    workers = (os.cpu_count() or 1) if workers is None else workers
    if workers < 0:
        raise InvalidParameterError(f"workers must be 0 or more, not {workers}")
    if max_attempts < 1:
        raise InvalidParameterError(f"max_attempts must be 1 or more, not {max_attempts}")
    if (timeout is not None and timeout <= 0) or (memory_limit is not None and memory_limit <= 0):
        raise InvalidParameterError("the timeout and the memory limit must be positive")
    if threads is not None and threads < 1:
        raise InvalidParameterError(f"threads must be 1 or more, not {threads}")
    if batch_size is not None and batch_size < 1:
        raise InvalidParameterError(f"batch_size must be 1 or more, not {batch_size}")
    started = time.perf_counter()
    discovery = discover_assets(root)
    assets = [a for a in discovery.assets if only is None or a.kind == only]
    out.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        client = None
        if scheduler is not None:
            from llvscan.collection.cluster import check_storage, connect

            client = stack.enter_context(connect(scheduler, workers=workers or None))
            sample = next(((a.rel_path, a.files[0].bytes) for a in assets if not a.problem), None)
            workers = check_storage(client, root, out, sample)
        counts: Counter[str] = Counter()
        touched: set[str] = set()
        failures: list[AssetFailure] = []
        notes = list(discovery.notes)
        with Catalog(out / CATALOG_NAME) as catalog:
            options = {"only": only, "force": force, "rehash": rehash, "workers": workers, "max_attempts": max_attempts,
                       "timeout": timeout, "memory_limit": memory_limit, "threads": threads, "scheduler": scheduler}
            status = "interrupted"

            def take(record: AssetRecord) -> None:
                counts[record.status] += 1
                if record.status != "skipped":  # an unchanged asset's page is as it was
                    touched.add(record.asset_id)
                if record.status in ("failed", "quarantined"):
                    failures.append(AssetFailure(record.rel_path, record.error or "", record.status))
                if on_record:
                    on_record(record)

            def crashed(job: AssetJob, crash: Crash, attempt: int) -> None:
                started_at = (dt.datetime.fromtimestamp(crash.started_at, dt.UTC).isoformat(timespec="milliseconds")
                              if crash.started_at else None)
                catalog.record_attempt(run_id, job.asset.asset_id, number=attempt, outcome=crash.outcome,
                                       detail=crash.reason, started_at=started_at, seconds=crash.seconds,
                                       worker=crash.worker)

            run_id = catalog.begin_run(collection=root, out_dir=out, options=options, recipe=recipe.to_dict())
            try:  # from here on, whatever stops the run (Ctrl-C included) leaves it marked
                previous = catalog.previous_states()
                agent = f"llvscan {__version__}"
                if only is None:
                    notes += _missing(catalog, run_id, previous, {a.asset_id for a in assets}, agent)
                jobs, settled = [], []
                for asset in assets:
                    state = previous.get(asset.asset_id)
                    asset_recipe = recipe.for_asset(asset.kind, asset.metadata)
                    decision = _plan(asset, state, asset_recipe, out, force=force, rehash=rehash)
                    if decision == "run":
                        jobs.append(AssetJob(asset, str(root), str(out), asset_recipe, state, force))
                    else:
                        error = state.error if state is not None and decision == "quarantined" else None
                        settled.append(_skipped(asset, asset_recipe, decision, error))
                if on_start:
                    on_start(dict(Counter(a.kind for a in assets)))
                for record in settled:
                    take(record)
                if warm_up and scheduler is None and jobs:  # a cluster's workers keep caches of their own
                    _warm_up(jobs, recipe, workers, on_notice)
                for record in _execute(jobs, workers, max_attempts=max_attempts, timeout=timeout,
                                       memory_limit=memory_limit, threads=threads, client=client,
                                       batch_size=batch_size, on_crash=crashed):
                    catalog.record(run_id, record, agent=agent)
                    take(record)
                status = "completed"
            finally:
                catalog.finish_run(run_id, status=status, ok=counts["ok"], failed=counts["failed"],
                                   skipped=counts["skipped"], quarantined=counts["quarantined"])
            # skipped assets keep their verdict from the run that validated them
            invalid = catalog.invalid_assets([a.asset_id for a in assets])
        report_folder = None
        if report:
            from llvscan.report import build_report

            try:
                report_folder = build_report(out, assets=touched).folder
            except (LlvscanError, OSError) as exc:  # the run's outputs stand without it
                notes.append(f"the report was not updated: {exc}")
        return RunSummary(run_id=run_id, collection=str(root), out_dir=str(out), catalog=str(out / CATALOG_NAME),
                          total=len(assets), ok=counts["ok"], failed=counts["failed"], skipped=counts["skipped"],
                          quarantined=counts["quarantined"], by_kind=dict(Counter(a.kind for a in assets)),
                          invalid=len(invalid), invalid_assets=invalid, seconds=round(time.perf_counter() - started, 2),
                          failures=sorted(failures, key=lambda f: f.path), notes=notes, report=report_folder)


def _warm_up(jobs: list[AssetJob], recipe: RunRecipe, workers: int,
             on_notice: Callable[[str], None] | None) -> None:
    """On a machine whose numba cache lacks the kernels these jobs need, compile them first, once, on all
    the run's processes side by side (``llvscan.collection.warm``), saying so: not a silent minute inside
    the first assets, with every worker compiling the same kernels."""
    from llvscan.collection.warm import cold_parts, kernels_needed, warm_kernels

    parts = cold_parts(kernels_needed({job.asset.recipe_kind for job in jobs}, recipe))
    if not parts:
        return
    processes = min(len(parts), workers or os.cpu_count() or 1)
    if on_notice:
        on_notice(f"the first run on this machine: llvscan's kernels ({', '.join(parts)}) compile once, "
                  f"on {processes} process{'es' if processes > 1 else ''}, before the assets run (about a minute "
                  "on two cores; later runs load them from numba's cache)")
    warm = warm_kernels(parts, recipe=recipe, workers=processes)
    failed = [f"{t.name}: {t.error}" for t in warm.tasks if t.error]
    if on_notice:
        on_notice(f"kernels compiled in {warm.seconds:.0f} s"
                  + (f"; not all: {'; '.join(failed)} (the assets compile what is missing)" if failed else ""))


def _missing(catalog: Catalog, run_id: int, previous: dict[str, PreviousState], found: Iterable[str],
             agent: str) -> list[str]:
    """Assets the catalog knows that are no longer in the collection: marked missing, said once."""
    gone = [i for i in previous.keys() - set(found) if previous[i].status != "missing"]
    return catalog.mark_missing(run_id, gone, agent=agent)
