"""Report benchmark: ``llvscan.report.build_report`` on the 220,000-asset catalog of the collection benchmark.

Goals (the issue): the full report from nothing in ≤ 60 s and ≤ 1 GB peak RSS; the update after 10 assets
change in ≤ 2 s.

The catalog is synthetic, built here with fixed seeds (the collection benchmark, ``bench_run.py``, makes its
220,000 rows by *running* a catalogue-only recipe on tiny images, which leaves no findings, derivatives or
sidecar metadata for a report to show): 60 % images, 40 % meshes, ~5 % failed, ~2 % invalid, 1–3 findings
per processed asset from the codes validation and inspection report, sidecar metadata on ~85 %, 2–3 source
files per mesh, per mesh a validation JSON, the 6 levels of the ``voyager`` recipe (faces, Hausdorff, detail),
a Voyager scene and a thumbnail, per image an inspection JSON and an ``iiif3`` tile set, 3–5 events and one
attempt per asset. Rows go through ``Catalog.record`` (the run's own SQL), committed every
``BATCH`` records instead of once per record (a proxy connection swallows ``Catalog``'s per-record commit).

Files on disk: a run leaves the outputs the catalog lists, and ``build_report`` reads them (each image's
``info.json`` and inspection JSON, each mesh's validation JSON and web GLB's header, each thumbnail's PNG
header); the IIIF manifests it writes *require* them (``write_presentation`` raises ``OutputError`` when a
tile set's ``info.json`` or a listed level is missing). So the generator leaves small stand-ins, hard links
to a handful of stub files (a GLB holding only its JSON chunk, a PNG holding only its header, a realistic
``info.json``, validation and inspection JSON): everything the report opens exists, with realistic sizes
for what it parses; tiles and level payloads do not (no manifest gets an image thumbnail: no
``full/<w>,<h>/0/default.jpg``). ``--no-stubs`` leaves them out and builds the report without IIIF.

Measured, each in a fresh interpreter with the harness's ``peak_rss`` (the block around ``build_report``):

1. the full report from nothing: seconds, peak RSS, bytes of ``OUT/report`` (apparent and allocated;
   the vendored viewers within it), files;
2. the update after 10 assets change (re-recorded through ``Catalog.record`` with a new title and one more
   finding, in a run of their own, in a process before): ``build_report(out, assets=[their ids])``;
3. a no-change update, ``assets=[]``;
4. the first screen of ``assets.html``: the bytes of ``data/index.js`` + ``data/rows-0000.js``, and, with
   Chromium (``/usr/bin/chromium``) and Playwright, the time to its first row over a local HTTP server;
5. where the time goes: the update (10 other assets changed) under cProfile, top 15 by cumulative time;
   with ``--profile-full`` (default with ``--quick``) the full build too, last (it rebuilds from nothing).

    python benchmarks/bench_report.py [--quick] [--assets 220000] [--no-stubs] [--profile-full] [--keep]
"""

from __future__ import annotations

import contextlib
import cProfile
import functools
import hashlib
import http.server
import io
import json
import os
import pstats
import random
import shutil
import socketserver
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import argument_parser, machine, peak_rss, print_table, run_case, write_results

SCRIPT = Path(__file__).resolve()
BATCH = 5000  # records per transaction while generating
CHANGED = 10  # assets changed before the update
GOAL_FULL_S, GOAL_FULL_MIB, GOAL_UPDATE_S = 60.0, 1024.0, 2.0
DEPARTMENTS = ("antiquities", "ceramics", "textiles", "natural-history", "photography", "prints", "sculpture")
CREATORS = ("Unknown", "Anonymous", "Rembrandt van Rijn", "Marie Curie", "Atelier Dupont", "Hokusai",
            "Workshop of Verrocchio", "Étienne-Jules Marey", "Julia Margaret Cameron", "Studio Ghibli")
NOUNS = ("bowl", "vase", "figurine", "mask", "helmet", "skull", "shell", "coin", "bracket", "teapot", "jar",
         "fossil", "plate", "amulet", "lamp", "statuette", "portrait", "landscape", "letter", "map")
MESH_CODES = (("warning", "boundary_edges"), ("warning", "non_manifold_edges"), ("info", "duplicate_vertices"),
              ("warning", "units_undeclared"), ("info", "degenerate_faces"), ("warning", "self_intersections"),
              ("info", "unreferenced_vertices"), ("warning", "flipped_normals"))
IMAGE_CODES = (("warning", "soft_focus"), ("info", "eight_bit"), ("warning", "clipped_highlights"),
               ("warning", "clipped_shadows"), ("info", "no_icc_profile"), ("warning", "noisy"),
               ("info", "small_image"))
LEVELS = (("thumb", "Web3D", 20_000, 512), ("low", "Web3D", 150_000, 1024), ("medium", "Web3D", 150_000, 2048),
          ("high", "Web3D", 150_000, 4096), ("ar", "App3D", 100_000, 2048), ("highest", "Web3D", 1_000_000, 8192))
MAX_LINKS = 60_000  # hard links per stub file (ext4 allows 65,000)


# -- the synthetic catalog ------------------------------------------------------------------------------

def asset_id(i: int) -> str:
    return str(uuid.UUID(bytes=hashlib.md5(f"bench-report-{i}".encode()).digest(), version=4))


def _when(i: int, offset: float = 0.0) -> str:
    seconds = 1_790_000_000 + i * 2 + offset
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int(offset * 1000) % 1000:03d}Z"


def make_record(i: int, revision: int = 0) -> Any:
    """Asset ``i`` of the synthetic collection as the run's worker would record it (fixed seed per asset);
    ``revision`` > 0: the same asset changed (title and one more finding)."""
    from llvscan._paths import slug
    from llvscan.catalog.records import AssetRecord, DerivativeRecord, EventRecord, FileRecord, FindingRecord

    rng = random.Random(i)
    aid = asset_id(i)
    image = rng.random() < 0.6
    dept = DEPARTMENTS[rng.randrange(len(DEPARTMENTS))]
    noun = NOUNS[rng.randrange(len(NOUNS))]
    if image:
        rel = f"photos/{dept}/box-{i // 500:04d}/IMG_{i:07d}.tif"
    else:
        rel = f"scans/{dept}/{noun}-{i // 50:05d}/{noun}_{i:07d}.obj"
    stem = Path(rel).stem
    name = f"{slug(stem)}-{aid[:8]}"
    failed = rng.random() < 0.05
    invalid = not failed and rng.random() < 0.02
    metadata = {}
    if rng.random() < 0.85:
        metadata = {"object_number": f"{dept[:3].upper()}.{1900 + i % 120}.{i % 997}",
                    "title": f"{noun.capitalize()} with {rng.choice(('lid', 'handle', 'inscription', 'glaze'))}"
                             f" no. {i}", "creator": rng.choice(CREATORS)}
        if rng.random() < 0.5:
            metadata["date"] = f"c. {1500 + rng.randrange(500)}"
        if rng.random() < 0.5:
            metadata["rights"] = "https://creativecommons.org/publicdomain/zero/1.0/"
    if revision:
        metadata = {**metadata, "title": f"{metadata.get('title', noun)} (revised {revision})"}
    sha = hashlib.sha256(rel.encode()).hexdigest()
    main_bytes = rng.randrange(2_000_000, 400_000_000) if image else rng.randrange(5_000_000, 900_000_000)
    files = [FileRecord(rel, "main", main_bytes, sha, 1_700_000_000_000_000_000 + i)]
    if not image:
        files.append(FileRecord(rel[:-4] + ".mtl", "material", rng.randrange(200, 2000),
                                hashlib.sha256((rel + "mtl").encode()).hexdigest(), 1_700_000_000_000_000_000 + i))
        if rng.random() < 0.8:
            files.append(FileRecord(rel[:-4] + "_u1_v1.jpg", "texture", rng.randrange(1_000_000, 60_000_000),
                                    hashlib.sha256((rel + "tex").encode()).hexdigest(), 1_700_000_000_000_000_000 + i))
    events = [EventRecord("message digest calculation", "success", f"sha256 of {len(files)} file(s): {sha}",
                          _when(i, 0.1))]
    derivatives, findings, measurements = [], [], {}
    valid: bool | None = None
    error = None
    seconds = round(rng.uniform(0.5, 4.0) if image else rng.lognormvariate(3.0, 1.0), 3)
    if failed:
        reason = rng.choice(("truncated file", "unsupported compression", "not a mesh: no faces", "out of memory"))
        error = f"{rel}: {reason}"
        events.append(EventRecord("processing", "failure", error, _when(i, 0.5)))
    elif image:
        width, height = rng.randrange(2000, 12000), rng.randrange(2000, 9000)
        valid = not invalid
        measurements = {"width": width, "height": height, "bands": 3, "bit_depth": rng.choice((8, 16)),
                        "interpretation": "srgb", "icc_profile": rng.choice(("sRGB IEC61966-2.1", None)),
                        "format": "tiff", "laplacian_variance": round(rng.lognormvariate(4, 1.5), 2),
                        "noise_sigma": round(rng.uniform(0.2, 4), 3), "clipped_pct": round(rng.expovariate(2), 3),
                        "errors": ["the image is blank"] if invalid else []}
        codes = rng.sample(IMAGE_CODES, rng.randint(1, 3))
        if invalid:
            codes = [("error", "blank_image"), *codes[:1]]
        findings = [FindingRecord("inspection", level, code, f"{code.replace('_', ' ')} ({rng.random():.3f})",
                                  rng.randrange(0, 1000), round(rng.random(), 4)) for level, code in codes]
        derivatives = [DerivativeRecord("inspection", f"assets/{name}/inspection.json", 6200, 1,
                                        hashlib.sha256((name + "insp").encode()).hexdigest()),
                       DerivativeRecord("iiif3", f"iiif/{name}", width * height // 9, rng.randrange(50, 3000),
                                        hashlib.sha256((name + "tiles").encode()).hexdigest(),
                                        {"service_id": f"https://example.org/iiif/{name}",
                                         "scale_factors": [1, 2, 4, 8, 16, 32], "sizes": [[width // 32, height // 32]],
                                         "width": width, "height": height, "entry": "info.json"},
                                        texture_size=max(width, height))]
        events += [EventRecord("validation", "success" if valid else "failure", "image inspection: "
                               + "; ".join(f.message for f in findings), _when(i, 0.2)),
                   EventRecord("creation", "success", f"iiif3 tile set, {derivatives[1].files} files, "
                               f"{seconds * 0.7:.2f} s", _when(i, 0.9))]
    else:
        faces = int(10 ** rng.uniform(4, 6.8))
        valid = not invalid
        measurements = {"vertices": faces // 2, "faces": faces, "watertight": rng.random() < 0.4,
                        "bbox_size": [round(rng.uniform(10, 900), 2) for _ in range(3)], "units": "mm",
                        "surface_area": round(rng.uniform(100, 1e6), 1), "boundary_edges": rng.randrange(0, 5000),
                        "non_manifold_edges": rng.randrange(0, 50),
                        "errors": ["the mesh has no faces left after cleaning"] if invalid else []}
        codes = rng.sample(MESH_CODES, rng.randint(1, 3))
        if invalid:
            codes = [("error", "degenerate_mesh"), *codes[:1]]
        findings = [FindingRecord("validation", level, code, f"{rng.randrange(1, 9000)} {code.replace('_', ' ')}",
                                  rng.randrange(1, 9000), None) for level, code in codes]
        derivatives = [DerivativeRecord("validation", f"assets/{name}/validation.json", 3400, 1,
                                        hashlib.sha256((name + "val").encode()).hexdigest())]
        events.append(EventRecord("validation", "success" if valid else "failure",
                                  f"{faces} faces, watertight={measurements['watertight']}", _when(i, 0.3)))
        if valid:
            for level, usage, target, texture in LEVELS:
                got = min(faces, target)
                derivatives.append(DerivativeRecord(
                    "lod", f"assets/{name}/lods/{stem}-{level}.glb", got * 14 + texture * texture // 6, 1,
                    hashlib.sha256((name + level).encode()).hexdigest(),
                    {"usage": usage, "quality": level.capitalize(), "mime_type": "model/gltf-binary",
                     "target_faces": target, "mean_pct": round(rng.uniform(0.001, 0.05), 5),
                     "texel_drift_median": round(rng.uniform(0, 0.5), 3),
                     "texel_drift_p95": round(rng.uniform(0, 2), 3),
                     "decimated_from": faces, "ssim": round(rng.uniform(0.9, 1.0), 4),
                     "psnr": round(rng.uniform(30, 50), 2), "compression": "draco",
                     "compression_error_pct": round(rng.uniform(0, 0.01), 5),
                     "baked": ["normal", "occlusion"] if level != "highest" else [], "unwrapped": False},
                    level=level, faces=got, texture_size=texture, hausdorff_pct=round(rng.uniform(0.005, 0.5), 4)))
            derivatives += [DerivativeRecord("scene", f"assets/{name}/lods/scene.svx.json", 4100, 1,
                                             hashlib.sha256((name + "svx").encode()).hexdigest()),
                            DerivativeRecord("thumbnail", f"assets/{name}/lods/{stem}-thumbnail.png", 60_000, 1,
                                             hashlib.sha256((name + "png").encode()).hexdigest())]
            events.append(EventRecord("creation", "success", f"6 levels of detail (voyager) in {seconds * 0.9:.2f} s;"
                                      " worst Hausdorff 0.412 % of the diagonal", _when(i, 1.2)))
        else:
            events.append(EventRecord("creation", "skipped", "levels of detail not built: the mesh failed validation",
                                      _when(i, 0.4)))
    if revision:
        findings = [*findings, FindingRecord("validation" if not image else "inspection", "warning",
                                             "revised", f"changed in revision {revision}", revision, None)]
        events.append(EventRecord("fixity check", "success", f"revision {revision}", _when(i, 3.0 + revision)))
    if rng.random() < 0.4:
        events.insert(0, EventRecord("ingestion", "success", "sidecar row matched", _when(i, 0.0)))
    return AssetRecord(
        asset_id=aid, rel_path=rel, kind="image" if image else "mesh", format="tiff" if image else "obj",
        status="failed" if failed else "ok", recipe_sha256=hashlib.sha256(b"recipe" + bytes([image])).hexdigest(),
        bytes=main_bytes, mtime="2023-11-14T22:13:20", sha256=sha,
        content_sha256=hashlib.sha256("".join(f.sha256 for f in files).encode()).hexdigest(), is_valid=valid,
        error=error, metadata=metadata, measurements=measurements, files=files, derivatives=derivatives,
        events=events, findings=findings, started_at=_when(i), seconds=seconds, worker=f"bench:{4000 + i % 16}")


class _OneTransaction:
    """Stands in for ``Catalog._db``: ``with self._db:`` no longer commits, the generator commits every BATCH
    records (a commit per record costs an fsync-free WAL append each; batching halves the generation time)."""

    def __init__(self, db: Any) -> None:
        self._real = db

    def __enter__(self) -> _OneTransaction:
        return self

    def __exit__(self, kind: object, *rest: object) -> None:
        if kind is not None:
            self._real.rollback()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


# -- stand-in files --------------------------------------------------------------------------------------

def _glb_stub() -> bytes:
    document = json.dumps({"asset": {"version": "2.0", "generator": "llvscan bench",
                                     "extras": {"scale_to_metres": 0.001, "source_up_axis": "z"}}}).encode()
    document += b" " * (-len(document) % 4)
    chunk = struct.pack("<II", len(document), 0x4E4F534A) + document
    return b"glTF" + struct.pack("<II", 2, 12 + len(chunk)) + chunk


def _png_stub() -> bytes:
    import zlib

    ihdr = struct.pack(">IIBBBBB", 512, 512, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr
            + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)))


def _stub_contents() -> dict[str, bytes]:
    rng = random.Random(7)
    info = {"@context": "http://iiif.io/api/image/3/context.json", "id": "https://example.org/iiif/stub",
            "type": "ImageService3", "protocol": "http://iiif.io/api/image", "profile": "level0",
            "width": 8000, "height": 6000, "tiles": [{"width": 512, "scaleFactors": [1, 2, 4, 8, 16, 32]}],
            "sizes": [{"width": 8000 // s, "height": 6000 // s} for s in (32, 16, 8, 4)],
            "extraFormats": ["webp"], "preferredFormats": ["webp"]}
    inspection = {"path": "stub.tif", "width": 8000, "height": 6000, "bands": 3, "bit_depth": 16,
                  "is_valid": True, "laplacian_variance": 412.5, "noise_sigma": 1.2,
                  "band_statistics": [{"name": n, "min": 0, "max": 65535, "mean": rng.uniform(1e4, 4e4),
                                       "histogram": [rng.randrange(0, 90_000) for _ in range(64)]}
                                      for n in ("red", "green", "blue")],
                  "findings": [{"level": "warning", "code": "soft_focus", "message": "soft focus"}]}
    validation = {"path": "stub.obj", "vertices": 120_000, "faces": 240_000, "watertight": False,
                  "is_valid": True, "bbox_size": [120.0, 80.5, 64.2], "units": "mm",
                  "problem_points": {"boundary": [[rng.uniform(-60, 60) for _ in range(3)] for _ in range(30)],
                                     "non_manifold": [[rng.uniform(-60, 60) for _ in range(3)] for _ in range(8)]},
                  "findings": [{"level": "warning", "code": "boundary_edges", "message": "412 boundary edges"}]}
    return {"glb": _glb_stub(), "png": _png_stub(), "info": json.dumps(info, indent=2).encode(),
            "inspection": json.dumps(inspection).encode(), "validation": json.dumps(validation).encode(),
            "svx": json.dumps({"asset": {"type": "application/si-dpo-3d.document+json", "version": "1.0"},
                               "scenes": [{"nodes": [0]}], "nodes": [{"name": "stub", "model": 0}]}).encode()}


class _Stubs:
    """Hard links to a few stub files (a fresh copy of a stub every MAX_LINKS links)."""

    def __init__(self, out: Path) -> None:
        self.folder = out / "_stubs"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.contents = _stub_contents()
        self.sources: dict[str, tuple[Path, int]] = {}
        self.made = 0

    def link(self, kind: str, target: Path) -> None:
        source, used = self.sources.get(kind, (None, MAX_LINKS))
        if used >= MAX_LINKS:
            source = self.folder / f"{kind}-{len(list(self.folder.glob(kind + '-*')))}"
            source.write_bytes(self.contents[kind])
            used = 0
        target.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.link(source, target)
        self.sources[kind] = (source, used + 1)
        self.made += 1

    def for_record(self, out: Path, record: Any) -> None:
        for d in record.derivatives:
            kind = {"validation": "validation", "inspection": "inspection", "scene": "svx", "thumbnail": "png",
                    "lod": "glb", "iiif3": "info"}[d.role]
            self.link(kind, out / d.path / "info.json" if kind == "info" else out / d.path)


def generate(out: Path, assets: int, stubs: bool) -> dict:
    from llvscan.catalog.db import Catalog

    start = time.perf_counter()
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    stubber = _Stubs(out) if stubs else None
    stub_s = 0.0
    with Catalog(out / "catalog.sqlite") as catalog:
        real = catalog._db
        real.execute("PRAGMA synchronous=OFF")
        run_id = catalog.begin_run(collection=Path("/collections/bench"), out_dir=out,
                                   options={"base_url": "https://example.org/iiif", "workers": 2})
        catalog._db = _OneTransaction(real)
        counts = {"ok": 0, "failed": 0}
        for i in range(assets):
            record = make_record(i)
            catalog.record(run_id, record, agent="llvscan bench_report")
            counts[record.status] += 1
            if stubber is not None:
                t = time.perf_counter()
                stubber.for_record(out, record)
                stub_s += time.perf_counter() - t
            if (i + 1) % BATCH == 0:
                real.commit()
        real.commit()
        catalog._db = real
        catalog.finish_run(run_id, status="completed", ok=counts["ok"], failed=counts["failed"], skipped=0)
        summary = catalog.summary()
        tables = {t: real.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("assets", "asset_files", "derivatives", "findings", "events", "attempts")}
        real.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return {"seconds": round(time.perf_counter() - start, 1), "stub_seconds": round(stub_s, 1),
            "stub_files": stubber.made if stubber else 0,
            "catalog_mib": round((out / "catalog.sqlite").stat().st_size / 2**20, 1), "rows": tables,
            "by_status": summary.by_status, "by_kind": summary.by_kind, "invalid": summary.invalid}


def changed_indices(assets: int, revision: int) -> list[int]:
    """CHANGED assets spread over the catalog, with status ok (a different set per revision)."""
    picked, step = [], max(1, assets // CHANGED)
    for k in range(CHANGED):
        i = (k * step + 7 * revision) % assets
        while make_record(i).status != "ok" or i in picked:
            i = (i + 1) % assets
        picked.append(i)
    return picked


def change(out: Path, assets: int, revision: int, stubs: bool) -> dict:
    """Re-record CHANGED assets (new title, one more finding) in a run of their own, as a rerun would."""
    from llvscan.catalog.db import Catalog

    start = time.perf_counter()
    indices = changed_indices(assets, revision)
    stubber = _Stubs(out) if stubs else None
    with Catalog(out / "catalog.sqlite") as catalog:
        run_id = catalog.begin_run(collection=Path("/collections/bench"), out_dir=out,
                                   options={"base_url": "https://example.org/iiif", "workers": 2})
        for i in indices:
            record = make_record(i, revision=revision)
            catalog.record(run_id, record, agent="llvscan bench_report")
            if stubber is not None:
                stubber.for_record(out, record)
        catalog.finish_run(run_id, status="completed", ok=len(indices), failed=0, skipped=0)
    ids = [asset_id(i) for i in indices]
    (out.parent / f"changed-{revision}.json").write_text(json.dumps(ids))
    return {"seconds": round(time.perf_counter() - start, 3), "ids": ids}


# -- measuring the report ----------------------------------------------------------------------------------

def _tree(folder: Path) -> tuple[int, int, int]:
    """(files, apparent bytes, allocated bytes) under ``folder``."""
    files = size = blocks = 0
    for root, _, names in os.walk(folder):
        for name in names:
            st = os.stat(os.path.join(root, name))
            files += 1
            size += st.st_size
            blocks += st.st_blocks * 512
    return files, size, blocks


def report_case(out: Path, assets: list[str] | None, iiif: bool) -> dict:
    from llvscan.report import build_report

    with peak_rss() as memory:
        start = time.perf_counter()
        result = build_report(out, assets=assets, iiif=iiif)
        seconds = time.perf_counter() - start
    folder = out / "report"
    files, size, blocks = _tree(folder)
    vendor_files, vendor_size, vendor_blocks = _tree(folder / "vendor")
    first = sum((folder / "data" / name).stat().st_size for name in ("index.js", "rows-0000.js"))
    manifests = sum(1 for _ in (folder / "iiif" / "manifests").glob("*.json")) if iiif else 0
    return {"seconds": round(seconds, 3), "result": result.to_dict(), "peak_rss_mib": round(memory.peak_mib, 1),
            "baseline_mib": round(memory.baseline_mib, 1), "peak_reset": memory.reset, "files": files,
            "bytes": size, "disk_bytes": blocks, "vendor_files": vendor_files, "vendor_bytes": vendor_size,
            "vendor_disk_bytes": vendor_blocks, "first_screen_bytes": first, "manifests": manifests}


def setup_case(out: Path, iiif: bool) -> dict:
    """NOT a measurement: the full report built with ``_publish``'s per-write scan of the folder for stale
    temporaries and its fsync switched off in this process, only to give the update cases a report (and its
    ``state.json``) to update when the full build ran past ``--full-timeout``."""
    import llvscan._publish as publish
    from llvscan.report import build_report

    shutil.rmtree(out / "report", ignore_errors=True)
    publish._clear_stale = lambda path: None
    os.fsync = lambda fd: None
    start = time.perf_counter()
    result = build_report(out, iiif=iiif)
    return {"seconds": round(time.perf_counter() - start, 3), "pages_written": result.pages_written}


def profile_case(out: Path, assets: list[str] | None, iiif: bool, top: int = 15) -> dict:
    from llvscan.report import build_report

    if assets is None:
        shutil.rmtree(out / "report", ignore_errors=True)
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    result = build_report(out, assets=assets, iiif=iiif)
    profiler.disable()
    seconds = time.perf_counter() - start
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(top)
    tottime = io.StringIO()
    pstats.Stats(profiler, stream=tottime).sort_stats("tottime").print_stats(top)
    return {"seconds": round(seconds, 3), "pages_written": result.pages_written,
            "cumulative": _stats_lines(text.getvalue()), "tottime": _stats_lines(tottime.getvalue())}


def _stats_lines(text: str) -> list[str]:
    lines = text.splitlines()
    start = next((n for n, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
    head = [line.strip() for line in lines[:start] if "function calls" in line]
    return head + [line.rstrip() for line in lines[start:] if line.strip()]


# -- the first screen in a browser --------------------------------------------------------------------------

class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,  # noqa: RUF012
                      ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                      ".css": "text/css; charset=utf-8", ".png": "image/png"}

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


def first_row(out: Path, loads: int = 3) -> dict:
    """Milliseconds from navigation start to the first row of ``assets.html`` (``#list tbody tr``),
    served over HTTP from 127.0.0.1; each load in a fresh browser context. {} with a reason when
    Chromium or Playwright is missing."""
    chromium = next((c for c in (os.environ.get("LLVSCAN_CHROMIUM"), shutil.which("chromium"),
                                 "/usr/bin/chromium") if c and os.access(c, os.X_OK)), None)
    if chromium is None:
        return {"skipped": "no Chromium"}
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"skipped": "playwright is not importable"}
    server = _Server(("127.0.0.1", 0), functools.partial(_Handler, directory=str(out)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/report/assets.html"
    args = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    in_page, wall, requests = [], [], []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=args)
            try:
                for _ in range(loads):
                    context = browser.new_context()
                    page = context.new_page()
                    seen: list[str] = []
                    page.on("request", lambda r, seen=seen: seen.append(r.url.rsplit("/report/", 1)[-1]))
                    start = time.perf_counter()
                    page.goto(url, wait_until="commit")
                    handle = page.wait_for_function(
                        "() => document.querySelector('#list tbody tr') ? performance.now() : false",
                        polling=5, timeout=60_000)
                    in_page.append(float(handle.json_value()))
                    wall.append((time.perf_counter() - start) * 1000)
                    rows = page.evaluate("document.querySelectorAll('#list tbody tr').length")
                    requests.append([u for u in seen if "/data/" in u or u.startswith("data/")])
                    context.close()
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()
    return {"ms_in_page": [round(t) for t in in_page], "ms_wall": [round(t) for t in wall],
            "median_ms": round(statistics.median(in_page)), "rows_drawn": rows, "data_requests": requests[-1]}


# -- the driver -----------------------------------------------------------------------------------------------

def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--assets", type=int, default=None, help="assets in the catalog [default 220000; --quick 5000]")
    parser.add_argument("--quick", action="store_true", help="5,000 assets, the full build profiled too")
    parser.add_argument("--no-stubs", dest="stubs", action="store_false",
                        help="no stand-in output files; the report is then built without IIIF (iiif=False)")
    parser.add_argument("--profile-full", action="store_true", help="also profile the full build (rebuilds it)")
    parser.add_argument("--work", type=Path, default=None, help="where the catalog and report go [a temp folder]")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--full-timeout", type=float, default=900,
                        help="seconds after which the full build is killed and reported as missed; the updates "
                             "are then measured on a report built with the scan and fsync off [default 900]")
    parser.add_argument("--case", help=argparse_suppress())
    parser.add_argument("--revision", type=int, default=1, help=argparse_suppress())
    args = parser.parse_args()
    if args.assets is None:
        args.assets = 5_000 if args.quick else 220_000
    if args.case:
        out = args.work / "out"
        ids = (json.loads((args.work / f"changed-{args.revision}.json").read_text())
               if args.case in ("update", "profile-update") else None)
        payload = {"generate": lambda: generate(out, args.assets, args.stubs),
                   "change": lambda: change(out, args.assets, args.revision, args.stubs),
                   "full": lambda: report_case(out, None, args.stubs),
                   "setup": lambda: setup_case(out, args.stubs),
                   "update": lambda: report_case(out, ids, args.stubs),
                   "noop": lambda: report_case(out, [], args.stubs),
                   "profile-update": lambda: profile_case(out, ids, args.stubs),
                   "profile-full": lambda: profile_case(out, None, args.stubs)}[args.case]()
        print(json.dumps(payload))
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="llvscan-bench-report-"))
    work.mkdir(parents=True, exist_ok=True)
    common = ("--work", str(work), "--assets", str(args.assets), *(() if args.stubs else ("--no-stubs",)))

    def case(name: str, *extra: str, timeout: float | None = None) -> dict:
        print(f"  {name}…", file=sys.stderr, flush=True)
        return run_case(SCRIPT, name, *common, *extra, timeout=timeout)

    results: dict[str, Any] = {}
    try:
        results["generate"] = case("generate")
        print(f"  catalog: {json.dumps(results['generate'])}", file=sys.stderr)
        try:
            results["full"] = case("full", timeout=args.full_timeout)
        except subprocess.TimeoutExpired:
            results["full"] = {"timed_out": args.full_timeout}
            results["setup"] = case("setup")
            print(f"  full build killed after {args.full_timeout:g} s; report for the updates built with the "
                  f"scan and fsync off in {results['setup']['seconds']} s", file=sys.stderr)
        results["change"] = case("change", "--revision", "1")
        results["update"] = case("update", "--revision", "1")
        results["noop"] = case("noop")
        results["browser"] = first_row(work / "out")
        results["change_2"] = case("change", "--revision", "2")
        results["profile_update"] = case("profile-update", "--revision", "2")
        if args.profile_full or args.quick:
            results["profile_full"] = case("profile-full")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    full, update, noop, browser = results["full"], results["update"], results["noop"], results["browser"]
    gib = 2**30
    if "timed_out" in full:
        limit = full["timed_out"]
        rows = [{"measure": "full report: seconds", "value": f"> {limit:g} (killed)", "goal": f"≤ {GOAL_FULL_S:g} s",
                 "met": "missed"},
                {"measure": "full report: peak RSS, bytes, files", "value": "not measured (killed)", "goal": "",
                 "met": ""},
                {"measure": "  (report for the updates built with the scan and fsync off)",
                 "value": f"{results['setup']['seconds']} s", "goal": "", "met": ""}]
        first_bytes = update["first_screen_bytes"]
    else:
        rows = full_rows(full, gib)
        first_bytes = full["first_screen_bytes"]
    rows += [
        {"measure": f"update after {CHANGED} changed: seconds", "value": update["seconds"],
         "goal": f"≤ {GOAL_UPDATE_S:g} s", "met": "met" if update["seconds"] <= GOAL_UPDATE_S else "missed"},
        {"measure": f"update after {CHANGED} changed: pages written", "value": update["result"]["pages_written"],
         "goal": str(CHANGED), "met": "met" if update["result"]["pages_written"] == CHANGED else "missed"},
        {"measure": f"update after {CHANGED} changed: peak RSS (MiB)", "value": update["peak_rss_mib"],
         "goal": "", "met": ""},
        {"measure": "no-change update: seconds", "value": noop["seconds"], "goal": "", "met": ""},
        {"measure": "no-change update: pages written", "value": noop["result"]["pages_written"], "goal": "0",
         "met": "met" if noop["result"]["pages_written"] == 0 else "missed"},
        {"measure": "first screen: index.js + rows-0000.js (kB)", "value": round(first_bytes / 1000, 1),
         "goal": "", "met": ""},
        {"measure": "first screen: ms to first row (Chromium, HTTP)",
         "value": browser.get("median_ms", browser.get("skipped")), "goal": "", "met": ""},
    ]
    gen = results["generate"]
    print_table(f"build_report on {args.assets:,} synthetic assets ({gen['by_kind']}, {gen['by_status']}, "
                f"{gen['invalid']} invalid; catalog {gen['catalog_mib']} MiB made in {gen['seconds']} s"
                f"{', with stand-in output files' if args.stubs else ', no output files, iiif=False'})",
                rows, ["measure", "value", "goal", "met"])
    for key, title in (("profile_update", "the update (10 other assets changed) under cProfile"),
                       ("profile_full", "the full build under cProfile")):
        if key in results:
            print(f"\n{title}: {results[key]['seconds']} s, by cumulative time")
            print("\n".join(results[key]["cumulative"]))
    path = write_results(args.out, "bench_report", {"machine": machine(), "assets": args.assets,
                                                    "stubs": args.stubs, "results": results, "table": rows})
    print(f"\nresults: {path}")


def full_rows(full: dict, gib: int) -> list[dict]:
    """The table's rows for a full build that finished."""
    return [
        {"measure": "full report: seconds", "value": full["seconds"], "goal": f"≤ {GOAL_FULL_S:g} s",
         "met": "met" if full["seconds"] <= GOAL_FULL_S else "missed"},
        {"measure": "full report: peak RSS (MiB)", "value": full["peak_rss_mib"], "goal": f"≤ {GOAL_FULL_MIB:g} MiB",
         "met": "met" if full["peak_rss_mib"] <= GOAL_FULL_MIB else "missed"},
        {"measure": "full report: bytes (apparent / on disk)",
         "value": f"{full['bytes'] / gib:.2f} GiB / {full['disk_bytes'] / gib:.2f} GiB", "goal": "", "met": ""},
        {"measure": "  of which vendored viewers", "value": f"{full['vendor_bytes'] / 2**20:.1f} MiB / "
         f"{full['vendor_disk_bytes'] / 2**20:.1f} MiB ({full['vendor_files']} files)", "goal": "", "met": ""},
        {"measure": "full report: files", "value": f"{full['files']:,} ({full['result']['pages_written']:,} pages, "
         f"{full['manifests']:,} manifests, {full['result']['shards']} shards)", "goal": "", "met": ""},
    ]


def argparse_suppress() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
