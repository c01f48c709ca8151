"""``llvscan bench``: process a collection as a run does, several times, and measure every stage.

How a benchmark runs (:func:`run_bench`):

1. The collection is discovered and checksummed (every source file's SHA-256 and sidecar row), the recipe
   hashed: the two things a later comparison must share with this one.
2. A first pass processes every asset once, unmeasured but timed: it compiles (or loads) the numba
   kernels and warms the file cache. Its time, less the warm median, is the *compile* cost, reported apart.
3. ``repeat`` measured passes. Each starts with the calibration workloads (``llvscan.bench.calibrate``),
   then processes every asset in this process, one after another, exactly as a worker of ``llvscan run``
   does (``process_asset``, then the record stored in a catalog), into a fresh output folder. Each asset's
   stages (``llvscan._stages``) are timed wall and CPU, exclusive of their nested stages; its peak RSS is
   this process's high-water mark while it ran, and the same above the RSS it started from, which is what
   is compared (``llvscan.bench.memory``; xatlas' child process is not in it). Before each asset the
   garbage is collected, freed memory given back to the system and caches a worker would not have (the
   Draco stream cache) cleared.
4. The quality figures come from the records the pipeline wrote (validity, findings, faces reached,
   Hausdorff and mean error, texel drift, SSIM/PSNR, compression error, bytes), plus two checks of the
   outputs: every GLB level loads back with as many faces as recorded, and every IIIF ``info.json``
   describes the source's size. A figure that differs between repeats is a finding in ``notes``.

Assets run one at a time on purpose: a benchmark measures the work of one asset, not the scheduler.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import gc
import hashlib
import json
import logging
import os
import platform
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llvscan import __version__
from llvscan._json import JsonResult
from llvscan._stages import StageLog, cpu_seconds, recording, stage
from llvscan.bench.calibrate import WORKLOADS, calibrate, unit, warm_up
from llvscan.bench.memory import PeakRSS, peak_rss
from llvscan.bench.results import AssetBench, BenchResult, Calibration, QualityValue, Samples, median
from llvscan.catalog.db import Catalog
from llvscan.catalog.records import AssetRecord
from llvscan.collection.discover import Asset, discover_assets
from llvscan.collection.process import AssetJob, process_asset
from llvscan.collection.recipe import RunRecipe, load_run_recipe
from llvscan.errors import InvalidParameterError

__all__ = ["BenchProgress", "collection_checksum", "gltf_validator", "machine_info", "run_bench",
           "sample_collection", "versions"]

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class BenchProgress(JsonResult):
    """What :func:`run_bench` tells its ``progress`` callback: the pass (0 = the first, unmeasured one),
    the asset about to run (None when a pass starts) and how many assets in all."""

    repeat: int
    repeats: int
    asset: str | None
    index: int
    total: int


def sample_collection(cache: str | Path | None = None) -> Path:
    """The generated sample collection (``llvscan.sample``), made once per version of its generator in
    ``cache`` (default: ``$XDG_CACHE_HOME/llvscan`` or ``~/.cache/llvscan``) and reused after."""
    from llvscan import sample

    source = Path(sample.__file__).read_bytes()
    tag = hashlib.sha256(source).hexdigest()[:12]
    base = Path(cache) if cache else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "llvscan"
    folder = base / f"sample-{tag}"
    if not (folder / "collection.csv").is_file():
        sample.generate(folder)  # written aside and renamed into place: never half there
    return folder


def versions() -> dict[str, str]:
    """llvscan's, Python's and every installed library's version (libvips: the one pyvips runs)."""
    from llvscan.info import library_versions

    found = {"llvscan": __version__, "python": platform.python_version()}
    found.update({name: v for name, v in library_versions().items() if v is not None})
    try:
        import pyvips

        found["libvips"] = ".".join(str(pyvips.version(i)) for i in range(3))
    except Exception:  # pragma: no cover - pyvips is a dependency; a broken libvips is reported elsewhere
        pass
    return found


def machine_info() -> dict[str, Any]:
    """What identifies the machine: host, OS, CPU model and count, memory."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    with contextlib.suppress(ValueError, OSError, AttributeError):
        memory = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    affinity = getattr(os, "sched_getaffinity", None)
    return {"hostname": socket.gethostname(), "platform": platform.platform(), "cpu": cpu,
            "cores": len(affinity(0)) if affinity else os.cpu_count(), "memory_gib": memory}


def collection_checksum(assets: list[Asset], root: Path) -> str:
    """SHA-256 over every asset's files (path and content digest) and its sidecar metadata, in path order."""
    from llvscan._paths import sha256_file

    digest = hashlib.sha256()
    for asset in sorted(assets, key=lambda a: a.rel_path):
        digest.update(f"{asset.rel_path}\n{json.dumps(asset.metadata, sort_keys=True)}\n".encode())
        for part in sorted(asset.files, key=lambda f: f.rel_path):
            path = root / part.rel_path
            content = sha256_file(path) if path.is_file() else "missing"
            digest.update(f"  {part.rel_path} {content}\n".encode())
    return digest.hexdigest()


_READ_BACK = ("outputs.", "validator.")  # figures of the read-back, made in the last repeat only


def _quality(record: AssetRecord, out: Path, *, read_back: bool,
             validator: Path | None = None) -> dict[str, QualityValue]:
    """The asset's quality figures, flat: ``figure → value`` (see ``llvscan.bench.compare.direction``);
    with ``read_back``, the checks that read the outputs again (``outputs.*``, and with a glTF
    ``validator`` its errors and warnings, ``validator.gltf_*``)."""
    figures: dict[str, QualityValue] = {"status": record.status, "valid": record.is_valid}
    for level in ("error", "warning"):
        figures[f"findings.{level}"] = sum(1 for f in record.findings if f.level == level)
    for key in ("vertices", "faces", "watertight", "boundary_edges", "non_manifold_edges", "surface_area",
                "width", "height", "bands", "bit_depth", "laplacian_variance", "noise_sigma", "clipped_percent"):
        value = record.measurements.get(key)
        if isinstance(value, bool | int | float | str):
            figures[f"measure.{key}"] = value
    for d in record.derivatives:
        if d.role == "lod":
            name = f"lod.{d.level}"
            figures[f"{name}.faces"] = d.faces
            figures[f"{name}.hausdorff_pct"] = d.hausdorff_pct
            for key in ("mean_pct", "texel_drift_median", "texel_drift_p95", "ssim", "psnr", "compression_error_pct"):
                value = d.detail.get(key)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    figures[f"{name}.{key}"] = value
            figures[f"{name}.bytes"] = d.bytes
        elif d.role in ("iiif3", "iiif2", "dz", "zoomify", "ptiff", "szi"):
            figures[f"tiles.{d.role}.files"] = d.files
            figures[f"tiles.{d.role}.bytes"] = d.bytes
    if read_back:
        figures.update(_output_checks(record, out))
        if validator is not None:
            figures.update(_gltf_verdicts(record, out, validator))
    return figures


def gltf_validator(script: str | Path) -> Path:
    """The glTF validator script to run with Node (``tools/gltf-validate.mjs``: the Khronos glTF-Validator,
    printing ``numErrors``/``numWarnings`` per file as JSON); refused by name when it or Node is missing."""
    path = Path(script)
    if not path.is_file():
        raise InvalidParameterError("no such glTF validator script", path=path)
    if shutil.which("node") is None:
        raise InvalidParameterError("the glTF validator needs Node.js (`node`), which is not on PATH", path=path)
    return path.resolve()


def _gltf_verdicts(record: AssetRecord, out: Path, validator: Path) -> dict[str, QualityValue]:
    """The Khronos glTF-Validator's error and warning counts over the asset's GLB levels (-1: it failed)."""
    files = [str(out / d.path) for d in record.derivatives if d.role == "lod" and d.path.endswith(".glb")]
    if not files:
        return {}
    try:
        done = subprocess.run(["node", str(validator), *files], capture_output=True, text=True, timeout=600,
                              check=False)
        reports = json.loads(done.stdout)
        reports = reports if isinstance(reports, list) else [reports]
        return {"validator.gltf_errors": sum(int(r["numErrors"]) for r in reports),
                "validator.gltf_warnings": sum(int(r["numWarnings"]) for r in reports)}
    except (OSError, ValueError, KeyError, TypeError, subprocess.TimeoutExpired) as exc:
        log.warning("%s: the glTF validator did not answer: %s", record.rel_path, exc)
        return {"validator.gltf_errors": -1, "validator.gltf_warnings": -1}


def _output_checks(record: AssetRecord, out: Path) -> dict[str, QualityValue]:
    """Read the outputs back: GLB levels load with their recorded faces; IIIF info.json says the size."""
    checks: dict[str, QualityValue] = {}
    levels = [d for d in record.derivatives if d.role == "lod" and d.path.endswith(".glb")]
    if levels:
        from llvscan.mesh import load_mesh

        readable = True
        for d in levels:
            try:
                readable &= load_mesh(out / d.path).n_faces == d.faces
            except Exception as exc:  # any failure to read back is the finding
                log.warning("%s: the level does not load back: %s", d.path, exc)
                readable = False
        checks["outputs.glb_readable"] = readable
    for d in record.derivatives:
        if d.role in ("iiif3", "iiif2"):
            try:
                info = json.loads((out / d.path / "info.json").read_text(encoding="utf-8"))
                checks[f"outputs.{d.role}_info"] = (info.get("width"), info.get("height")) == (
                    record.measurements.get("width"), record.measurements.get("height"))
            except (OSError, ValueError):
                checks[f"outputs.{d.role}_info"] = False
    return checks


def _settle() -> None:
    """Start an asset as a fresh worker would: the last one's garbage collected, and the memory it freed
    given back to the system (glibc keeps freed heap pages otherwise, and the next asset's peak would hide
    in them); caches a worker would not have (Draco streams) cleared."""
    from llvscan.mesh.io.glb import clear_stream_cache

    clear_stream_cache()
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # glibc only; elsewhere the peak is just less precise
        ctypes.CDLL(None).malloc_trim(0)


def _run_one(job: AssetJob, catalog: Catalog, run_id: int) -> tuple[AssetRecord, StageLog, float, float, PeakRSS]:
    """Process one asset as a worker does, and store its record: (record, stages, wall, cpu, memory)."""
    _settle()
    with peak_rss() as memory, recording() as stages:
        wall0, cpu0 = time.perf_counter(), cpu_seconds()
        record = process_asset(job)
        with stage("catalog"):
            catalog.record(run_id, record, agent=f"llvscan {__version__} bench")
        wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
    return record, stages, wall, cpu, memory


def _load_recipe(recipe: str | Path | RunRecipe | None) -> RunRecipe:
    if recipe is None:
        return RunRecipe()
    return recipe if isinstance(recipe, RunRecipe) else load_run_recipe(recipe)


def run_bench(collection: str | Path | None = None, *, recipe: str | Path | RunRecipe | None = None,
              repeat: int = 5, progress: Callable[[BenchProgress], None] | None = None,
              cache: str | Path | None = None, baseline: BenchResult | None = None,
              gltf_validator_script: str | Path | None = None) -> BenchResult:
    """Benchmark ``collection`` (default: the generated sample, see :func:`sample_collection`) processed
    with ``recipe`` (a ``RunRecipe``, a TOML file, or None for the default): a first pass, then ``repeat``
    measured passes, each after the calibration. See the module docstring. Given the ``baseline`` it will
    be compared with, a collection that is not the baseline's is refused before anything is measured.
    With ``gltf_validator_script`` (see :func:`gltf_validator`), every GLB level's validator verdict is a
    quality figure too."""
    started, created = time.perf_counter(), dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    if not isinstance(repeat, int) or repeat < 2:
        raise InvalidParameterError(f"repeat must be at least 2 (a comparison needs a spread), not {repeat!r}")
    run_recipe = _load_recipe(recipe)
    validator = gltf_validator(gltf_validator_script) if gltf_validator_script is not None else None
    root = Path(collection) if collection is not None else sample_collection(cache)
    discovery = discover_assets(root)
    root = Path(discovery.root)
    assets = sorted(discovery.assets, key=lambda a: a.rel_path)
    if not assets:
        raise InvalidParameterError("no assets to benchmark in the collection", path=root)
    notes = list(discovery.notes)
    checksum = collection_checksum(assets, root)
    if baseline is not None:
        from llvscan.bench.compare import check_comparable

        check_comparable(baseline, collection=str(root), collection_sha256=checksum)
    recipe_hash = hashlib.sha256("".join(run_recipe.sha256(kind) for kind in ("mesh", "image")).encode()).hexdigest()

    def tell(r: int, asset: str | None, index: int) -> None:
        if progress is not None:
            progress(BenchProgress(r, repeat, asset, index, len(assets)))

    workloads: dict[str, list[float]] = {name: [] for name in WORKLOADS}
    per_asset: dict[str, dict[str, Any]] = {a.rel_path: {"stages": {}, "wall": [], "cpu": [], "rss": [], "memory": [],
                                                          "quality": None, "cold": 0.0} for a in assets}
    with tempfile.TemporaryDirectory(prefix="llvscan-bench-") as scratch:
        work = Path(scratch)
        with Catalog(work / "catalog.sqlite") as catalog:
            run_id = catalog.begin_run(collection=root, out_dir=work, options={"bench": True},
                                       recipe=run_recipe.to_dict())
            # the first pass: compiles or loads the kernels, warms caches; timed, not measured
            cold_started = time.perf_counter()
            warm_up()
            tell(0, None, 0)
            for i, asset in enumerate(assets):
                tell(0, asset.rel_path, i)
                t0 = time.perf_counter()
                _run_one(AssetJob(asset, str(root), str(work / "cold"), run_recipe, force=True), catalog, run_id)
                per_asset[asset.rel_path]["cold"] = time.perf_counter() - t0
            cold_seconds = time.perf_counter() - cold_started
            shutil.rmtree(work / "cold", ignore_errors=True)
            for r in range(1, repeat + 1):
                tell(r, None, 0)
                for name, seconds in calibrate().items():
                    workloads[name].append(seconds)
                out = work / f"repeat-{r}"
                for i, asset in enumerate(assets):
                    tell(r, asset.rel_path, i)
                    job = AssetJob(asset, str(root), str(out), run_recipe, force=True)
                    record, stages, wall, cpu, rss = _run_one(job, catalog, run_id)
                    entry = per_asset[asset.rel_path]
                    # in the order stages first ran; a stage a repeat skipped took 0 s there
                    for name in [*entry["stages"], *(n for n in stages.wall if n not in entry["stages"])]:
                        times = entry["stages"].setdefault(name, {"wall": [0.0] * (r - 1), "cpu": [0.0] * (r - 1)})
                        times["wall"].append(stages.wall.get(name, 0.0))
                        times["cpu"].append(stages.cpu.get(name, 0.0))
                    entry["wall"].append(wall)
                    entry["cpu"].append(cpu)
                    entry["rss"].append(rss.peak_mib)
                    entry["memory"].append(max(rss.above_baseline_mib, 0.0))
                    quality = _quality(record, out, read_back=r == repeat, validator=validator)  # read back once
                    if entry["quality"] is not None:
                        changed = sorted(k for k in {*quality, *entry["quality"]}
                                         if not k.startswith(_READ_BACK) and quality.get(k) != entry["quality"].get(k))
                        if changed:
                            notes.append(f"{asset.rel_path}: quality figures differ between repeats "
                                         f"({', '.join(changed)})")
                    entry["quality"], entry["record"] = quality, record
                if r < repeat:
                    shutil.rmtree(out, ignore_errors=True)
            catalog.finish_run(run_id, status="finished", ok=0, failed=0, skipped=0)

    units = unit(workloads)
    results = []
    warm_total = 0.0
    for asset in assets:
        entry = per_asset[asset.rel_path]
        record = entry["record"]

        def samples(wall: list[float], cpu: list[float]) -> Samples:
            return Samples([round(w, 6) for w in wall], [round(c, 6) for c in cpu],
                           [round(w / u, 6) for w, u in zip(wall, units, strict=True)])

        warm_total += median(entry["wall"])
        results.append(AssetBench(
            path=asset.rel_path, kind=asset.kind, status=record.status,
            stages={name: samples(t["wall"], t["cpu"]) for name, t in entry["stages"].items()},
            total=samples(entry["wall"], entry["cpu"]), peak_rss_mib=[round(m, 1) for m in entry["rss"]],
            memory_mib=[round(m, 1) for m in entry["memory"]],
            output_bytes=sum(d.bytes for d in record.derivatives), quality=entry["quality"],
            cold_seconds=round(entry["cold"], 3), error=record.error))
    return BenchResult(
        created=created, machine=machine_info(), versions=versions(), recipe=run_recipe.to_dict(),
        recipe_sha256=recipe_hash, collection=str(root), collection_sha256=checksum, repeat=repeat,
        calibration=Calibration({k: [round(s, 6) for s in v] for k, v in workloads.items()},
                                [round(u, 6) for u in units]),
        cold_seconds=round(cold_seconds, 3), compile_seconds=round(max(cold_seconds - warm_total, 0.0), 3),
        assets=results, seconds=round(time.perf_counter() - started, 3), notes=notes)

