"""End to end: a collection run over the generated sample collection, resume, crashes."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import unit_cube, write_obj

from llvscan.catalog import Catalog
from llvscan.cli import cli
from llvscan.collection import AssetJob, RunRecipe, discover_assets, process_asset, run_collection
from llvscan.collection.runner import _execute
from llvscan.errors import CatalogError

BROKEN = {"broken/truncated.obj", "broken/empty.ply", "broken/garbage.tif"}
TARGETS = {"paintings/targets/colorchecker-sg.tif", "paintings/targets/slanted-edge.tif"}
GOOD = {"sculpture/bust.obj", "ceramics/vase.ply", "ceramics/figurine.glb", "tools/bracket.stl",
        "damaged/fragment.obj", "paintings/landscape.tif", "photos/condition_photo.jpg", *TARGETS}
#: copying a part of the sample collection without the paintings' capture targets
NO_TARGETS = shutil.ignore_patterns("targets")


@pytest.fixture(scope="module")
def first_run(sample_collection, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "out"
    result = CliRunner().invoke(cli, ["run", str(sample_collection), "--out", str(out), "--workers", "2", "--json"])
    return out, result


def test_run_exits_1_and_reports_every_asset(first_run):
    _, result = first_run
    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout)
    assert (summary["total"], summary["ok"], summary["failed"], summary["skipped"]) == (12, 9, 3, 0)
    assert summary["invalid"] == 1  # the defective fragment
    assert summary["invalid_assets"] == [
        {"path": "damaged/fragment.obj", "errors": ["1 edge shared by more than two faces"]}]
    assert {f["path"] for f in summary["failures"]} == BROKEN


def test_catalog_rows(first_run):
    out, _ = first_run
    with Catalog(out / "catalog.sqlite", readonly=True) as cat:
        assets = {a.rel_path: a for a in cat.assets()}
        derivatives = cat.derivatives()
        events = cat.events()
    assert set(assets) == GOOD | BROKEN
    for path in GOOD:
        row = assets[path]
        assert row.status == "ok" and len(row.sha256) == 64 and row.error is None
        assert (row.object_number and row.rights.startswith("http://")) or path in TARGETS
    # the paintings' capture session: its two targets graded (FADGI 2023, the default), its painting carries it
    assert {(assets[p].session, assets[p].target, assets[p].is_valid) for p in TARGETS} == {("paintings", "auto", 1)}
    assert assets["paintings/landscape.tif"].session == "paintings"
    assert assets["photos/condition_photo.jpg"].session is None
    with Catalog(out / "catalog.sqlite", readonly=True) as cat:
        (session,) = cat.sessions()
    assert (session.session, session.passed, session.level, session.images) == ("paintings", True, "4 stars", 1)
    assert assets["damaged/fragment.obj"].is_valid == 0
    assert assets["sculpture/bust.obj"].is_valid == 1
    assert "empty file" in assets["broken/empty.ply"].error
    assert "no faces" in assets["broken/truncated.obj"].error
    assert "not a readable image" in assets["broken/garbage.tif"].error
    for path in BROKEN:
        assert assets[path].status == "failed"
        assert assets[path].error.startswith(path)
    # 5 readable meshes validated; the 4 valid ones get the voyager LODs (6 levels, scene, thumbnail);
    # the 2 readable images are inspected and tiled, the 2 targets graded; the invalid fragment gets no LODs
    roles = {}
    for d in derivatives:
        roles[d.role] = roles.get(d.role, 0) + 1
    assert roles == {"validation": 5, "lod": 24, "scene": 4, "thumbnail": 4, "inspection": 2, "iiif3": 2,
                     "target": 2, "target-overlay": 2}
    fragment = assets["damaged/fragment.obj"].id
    assert not [d for d in derivatives if d.asset_id == fragment and d.role == "lod"]
    bust = {d.level: d for d in derivatives if d.asset_id == assets["sculpture/bust.obj"].id}
    assert bust["thumb"].faces == 20_000 and bust["thumb"].texture_size == 512
    assert 0 < bust["thumb"].hausdorff_pct < 1 and bust["highest"].hausdorff_pct == 0
    assert {e.type for e in events} >= {"message digest calculation", "validation", "creation"}


def test_findings_and_attempts_tables(first_run):
    out, _ = first_run
    with Catalog(out / "catalog.sqlite", readonly=True) as cat:
        ids = {a.rel_path: a.id for a in cat.assets()}
        fragment = cat.findings(ids["damaged/fragment.obj"])
        photo = cat.findings(ids["photos/condition_photo.jpg"])
        attempts = cat.attempts()
        run = cat.runs()[0]
    assert {(f.source, f.level, f.code) for f in fragment} >= {("validation", "error", "non_manifold_edges")}
    assert ("inspection", "warning", "clipped_highlights") in {(f.source, f.level, f.code) for f in photo}
    # one attempt per asset, by a named worker, with its outcome
    assert sorted(a.asset_id for a in attempts) == sorted(ids.values())
    assert {a.outcome for a in attempts} == {"ok", "failed"}
    assert all(a.worker and a.seconds is not None and a.number == 1 for a in attempts)
    recipe, libraries = run.recipe, run.libraries
    assert recipe["mesh"]["lods"]["name"] == "voyager" and recipe["image"]["layouts"] == ["iiif3"]
    assert libraries["numba"] and libraries["pyvips"] and libraries["libvips"] and libraries["open3d"]


def test_source_checksums_recorded_for_every_file(first_run, sample_collection):
    import hashlib

    out, _ = first_run
    db = sqlite3.connect(out / "catalog.sqlite")
    rows = db.execute("SELECT rel_path, role, sha256 FROM asset_files").fetchall()
    roles = {(r[0], r[1]) for r in rows}
    assert ("sculpture/bust.mtl", "material") in roles and ("sculpture/bust_albedo.jpg", "texture") in roles
    for rel, _, sha in rows:
        assert hashlib.sha256((sample_collection / rel).read_bytes()).hexdigest() == sha


def test_outputs_exist(first_run):
    out, _ = first_run
    infos = sorted(out.glob("iiif/*/info.json"))
    assert len(infos) == 2
    for info_path in infos:
        info = json.loads(info_path.read_text())
        assert info["id"] == f"http://localhost:8000/iiif/{info_path.parent.name}"
        assert (info_path.parent / "full" / "max" / "0" / "default.jpg").is_file()
    landscape = json.loads(next(p for p in infos if "landscape" in str(p)).read_text())
    assert landscape["width"] >= 12000 and landscape["height"] >= 9000
    reports = sorted(out.glob("assets/*/validation.json"))
    assert len(reports) == 5
    bust = json.loads(next(p for p in reports if "bust" in str(p)).read_text())
    assert bust["path"] == "sculpture/bust.obj" and bust["watertight"] and bust["units"] == "mm"
    assert not list(out.rglob(".*.tmp-*"))


def test_rerun_skips_unchanged_assets_and_never_duplicates(first_run, sample_collection):
    out, _ = first_run
    summary = run_collection(sample_collection, out, workers=2)
    assert (summary.ok, summary.skipped, summary.failed) == (0, 9, 3)
    assert summary.exit_code == 1 and summary.invalid == 1
    data = json.loads(json.dumps(summary.to_dict()))  # what `llvscan run --json` prints
    assert data["exit_code"] == 1 and {f["path"] for f in data["failures"]} == BROKEN
    assert {f["status"] for f in data["failures"]} == {"failed"}
    assert data["invalid_assets"] == [
        {"path": "damaged/fragment.obj", "errors": ["1 edge shared by more than two faces"]}]
    with Catalog(out / "catalog.sqlite", readonly=True) as cat:
        assert len(cat.assets()) == 12
        assert [r.status for r in cat.runs()] == ["completed", "completed"]


def test_changed_or_damaged_output_is_redone(sample_collection, tmp_path):

    collection = tmp_path / "c"
    shutil.copytree(sample_collection / "tools", collection / "tools")
    shutil.copytree(sample_collection / "photos", collection / "photos")
    out = tmp_path / "out"
    assert run_collection(collection, out, workers=0).ok == 2
    # damage a tile: that image is redone; nothing else
    tile = next((out / "iiif").rglob("default.jpg"))
    tile.write_bytes(b"x")
    summary = run_collection(collection, out, workers=0)
    assert (summary.ok, summary.skipped) == (1, 1)
    # a different image recipe redoes the images only; force redoes everything
    summary = run_collection(collection, out, workers=0, recipe=RunRecipe().with_image(quality=70))
    assert (summary.ok, summary.skipped) == (1, 1)
    assert run_collection(collection, out, workers=0, recipe=RunRecipe().with_image(quality=70), force=True).ok == 2


def test_output_inside_the_collection_is_a_usage_error(tmp_path):
    (tmp_path / "c").mkdir()
    result = CliRunner().invoke(cli, ["run", str(tmp_path / "c"), "--out", str(tmp_path / "c" / "out")])
    assert result.exit_code == 2
    assert "must not lie inside the collection" in result.output


def segfault_on_b(job: AssetJob):
    """Worker that dies of a real segmentation fault on one asset."""
    if job.asset.rel_path == "b.obj":
        import ctypes

        ctypes.string_at(0)
    return process_asset(job)


def test_a_segfaulting_asset_is_quarantined_and_the_rest_complete(tmp_path):
    v, f = unit_cube()
    collection = tmp_path / "c"
    collection.mkdir()
    for name in "abcd":
        write_obj(collection / f"{name}.obj", v, f)
    jobs = [AssetJob(a, str(collection), str(tmp_path / "out"), RunRecipe())
            for a in discover_assets(collection).assets]
    crashes = []
    records = {r.rel_path: r for r in _execute(jobs, 2, work=segfault_on_b, max_attempts=2,
                                               on_crash=lambda job, crash, n: crashes.append((job.asset.rel_path, n,
                                                                                              crash.reason)))}
    assert set(records) == {"a.obj", "b.obj", "c.obj", "d.obj"}
    assert records["b.obj"].status == "quarantined" and records["b.obj"].crashes == 2
    assert "quarantined after 2 attempts: the worker process killed by SIGSEGV" in records["b.obj"].error
    assert crashes == [("b.obj", 1, "the worker process killed by SIGSEGV"),
                       ("b.obj", 2, "the worker process killed by SIGSEGV")]
    assert all(records[n].status == "ok" and records[n].attempts == 1 for n in ("a.obj", "c.obj", "d.obj"))


def test_a_worker_killed_mid_run_costs_one_attempt_and_the_run_completes(sample_collection, tmp_path):
    """SIGKILL a real worker while it tiles the master: that asset is retried and recorded, nothing lost."""
    import signal
    import threading
    import time

    collection = tmp_path / "c"
    for part in ("paintings", "tools"):
        shutil.copytree(sample_collection / part, collection / part, ignore=NO_TARGETS)
    killed: list[int] = []

    def children() -> list[int]:  # the pool's workers
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                command = (stat.parent / "cmdline").read_bytes()
            except OSError:
                continue
            if int(fields[1]) == os.getpid() and b"llvscan.collection._worker" in command:
                found.append(int(stat.parent.name))
        return found

    out = tmp_path / "out"

    def assassin() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            # an output's temporary exists: the worker is inside an asset (the master first: the biggest)
            try:
                writing = out.is_dir() and any(".tmp-" in p.name for p in out.rglob(".*"))
            except OSError:  # a folder renamed into place under the scan
                writing = False
            pids = children()
            if writing and pids:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])
            time.sleep(0.02)

    thread = threading.Thread(target=assassin, daemon=True)
    thread.start()
    summary = run_collection(collection, out, workers=1)
    thread.join()
    assert killed
    assert (summary.total, summary.ok, summary.failed, summary.quarantined) == (2, 2, 0, 0)
    with Catalog(tmp_path / "out" / "catalog.sqlite", readonly=True) as catalog:
        attempts = catalog.attempts()
        assets = {a.rel_path: a for a in catalog.assets()}
    crashed = [a for a in attempts if a.outcome == "crashed"]
    assert len(crashed) == 1 and "SIGKILL" in crashed[0].detail
    again = assets["paintings/landscape.tif"] if crashed[0].asset_id == assets["paintings/landscape.tif"].id \
        else assets["tools/bracket.stl"]
    assert again.attempts == 2 and again.status == "ok"
    assert len(attempts) == 3 and len(assets) == 2


def test_records_name_paths_relative_to_the_collection(first_run):
    out, _ = first_run
    db = sqlite3.connect(out / "catalog.sqlite")
    root = db.execute("SELECT collection FROM runs").fetchone()[0]
    for (error,) in db.execute("SELECT error FROM assets WHERE error IS NOT NULL"):
        assert root not in error
    assert Path(root).is_absolute()


def test_catalog_verify_catches_altered_and_missing_outputs(sample_collection, tmp_path):

    from llvscan.catalog import verify_outputs

    collection = tmp_path / "c"
    shutil.copytree(sample_collection / "tools", collection / "tools")
    shutil.copytree(sample_collection / "photos", collection / "photos")
    out = tmp_path / "out"
    run_collection(collection, out, workers=0)
    report = verify_outputs(out)
    # the bracket: its validation report, 6 LOD levels, the scene and thumbnail; the photo: inspection, tiles
    assert report.is_intact and report.checked == report.ok == 11
    assert CliRunner().invoke(cli, ["catalog", "verify", str(out)]).exit_code == 0

    tile = next((out / "iiif").rglob("default.jpg"))
    data = bytearray(tile.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one changed byte, same size: only a checksum sees it
    tile.write_bytes(bytes(data))
    (next((out / "assets").rglob("validation.json"))).unlink()
    # the bracket is below every level's face count and untextured: its six levels are one shared GLB
    assert len(list((out / "assets").rglob("*.glb"))) == 1
    glb = next((out / "assets").rglob("*.glb"))
    glb.write_bytes(glb.read_bytes()[:-4])
    report = verify_outputs(out)
    assert sorted((p.role, p.problem) for p in report.problems) == [
        ("iiif3", "altered"), *[("lod", "altered")] * 6, ("validation", "missing")]
    result = CliRunner().invoke(cli, ["catalog", "verify", str(out), "--json"])
    assert result.exit_code == 1 and json.loads(result.stdout)["is_intact"] is False
    empty = CliRunner().invoke(cli, ["catalog", "verify", str(tmp_path)])
    assert empty.exit_code == 1 and "no catalog here" in empty.output


def test_catalog_show_failed_lists_failures_and_invalid_assets(first_run):
    out, _ = first_run
    result = CliRunner().invoke(cli, ["catalog", "show", str(out), "--failed", "--json"])
    assert result.exit_code == 0, result.output
    problems = {p["path"]: p for p in json.loads(result.stdout)}
    assert set(problems) == BROKEN | {"damaged/fragment.obj"}
    assert problems["damaged/fragment.obj"]["status"] == "invalid"
    assert problems["damaged/fragment.obj"]["errors"] == ["1 edge shared by more than two faces"]
    assert all(problems[p]["status"] == "failed" and problems[p]["errors"][0] for p in BROKEN)
    table = CliRunner().invoke(cli, ["catalog", "show", str(out), "--failed"])
    assert "broken/garbage.tif" in table.output


def test_killed_runs_resume_to_a_verified_catalog(sample_collection, tmp_path):
    """SIGKILL the whole run (driver and workers) at several moments, then finish: the catalog holds each
    asset once and every output it lists verifies; nothing half-written is taken for complete."""
    import random
    import signal
    import subprocess
    import sys
    import time

    from llvscan.catalog import verify_outputs

    collection = tmp_path / "c"
    for part in ("tools", "photos", "paintings"):
        shutil.copytree(sample_collection / part, collection / part, ignore=NO_TARGETS)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "llvscan", "run", str(collection), "--out", str(out), "--workers", "1",
               "--json"]
    rng = random.Random(20261125)
    for _ in range(3):
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        time.sleep(rng.uniform(0.6, 1.8))  # mid-tiling on this box; wherever they land, the end state counts
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    final = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, final.stderr
    summary = json.loads(final.stdout)
    assert (summary["total"], summary["failed"]) == (3, 0)
    assert summary["ok"] + summary["skipped"] == 3
    report = verify_outputs(out)
    assert report.is_intact and report.checked == 9 + 2 + 2, report.problems  # bracket, photo, landscape
    with Catalog(out / "catalog.sqlite", readonly=True) as catalog:
        paths = [a.rel_path for a in catalog.assets()]
    assert sorted(paths) == ["paintings/landscape.tif", "photos/condition_photo.jpg", "tools/bracket.stl"]
    leftovers = [p.relative_to(out) for p in out.rglob(".*") if ".tmp-" in p.name or ".old-" in p.name]
    assert leftovers == []  # the killed runs' temporaries were cleared by the next run


def test_temporaries_of_dead_writers_are_cleared_and_live_ones_kept(tmp_path):
    import subprocess
    import sys

    from llvscan._publish import _HOST, atomic_dir, write_bytes_atomic

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / f".tiles.tmp-{_HOST}-{dead.pid}").mkdir()
    (tmp_path / f".tiles.tmp-{_HOST}-{dead.pid}" / "half.jpg").write_bytes(b"x")
    (tmp_path / f".tiles.old-{_HOST}-{dead.pid}").mkdir()
    (tmp_path / f".tiles.tmp-{dead.pid}").mkdir()  # written by an older llvscan, without the host
    (tmp_path / f".tiles.tmp-{_HOST}-{os.getppid()}").mkdir()  # a live process's: not ours to remove
    (tmp_path / f".tiles.tmp-other-node-7-{dead.pid}").mkdir()  # another host's: only it can tell
    (tmp_path / f".report.json.tmp-{_HOST}-{dead.pid}").write_bytes(b"{")
    with atomic_dir(tmp_path / "tiles") as folder:
        (folder / "info.json").write_text("{}")
    write_bytes_atomic(tmp_path / "report.json", b"{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f".tiles.tmp-{_HOST}-{os.getppid()}", f".tiles.tmp-other-node-7-{dead.pid}", "report.json", "tiles"])


def _cubes(folder: Path, names: str = "abc") -> Path:
    v, f = unit_cube()
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        write_obj(folder / f"{name}.obj", v * 100, f, header="# units: mm")
    return folder


def test_touched_files_are_hashed_once_and_changed_ones_redone(tmp_path):
    collection, out = _cubes(tmp_path / "c"), tmp_path / "out"
    assert run_collection(collection, out, workers=0).ok == 3
    # touched only: the checksums prove it unchanged; it is skipped and its new date remembered
    stamp = (collection / "a.obj").stat().st_mtime + 10
    os.utime(collection / "a.obj", (stamp, stamp))
    # changed: redone, alone
    v, f = unit_cube()
    write_obj(collection / "b.obj", v * 120, f, header="# units: mm")
    summary = run_collection(collection, out, workers=0)
    assert (summary.ok, summary.skipped) == (1, 2)
    with Catalog(out / "catalog.sqlite", readonly=True) as catalog:
        ids = {a.rel_path: a.id for a in catalog.assets()}
        fixity = [e for e in catalog.events(ids["a.obj"]) if e.type == "fixity check"]
        attempts = [(a.asset_id, a.outcome) for a in catalog.attempts() if a.run_id == 2]
        bbox = catalog.assets()[1].measurements["bbox_size"]
    assert len(fixity) == 1 and fixity[0].outcome == "success" and "unchanged" in fixity[0].detail
    assert sorted(attempts) == sorted([(ids["a.obj"], "unchanged"), (ids["b.obj"], "ok")])
    assert bbox == [120.0, 120.0, 120.0]
    # the third run reads nothing: size and date match the catalog now
    summary = run_collection(collection, out, workers=0)
    assert (summary.ok, summary.skipped) == (0, 3)
    with Catalog(out / "catalog.sqlite", readonly=True) as catalog:
        assert not [a for a in catalog.attempts() if a.run_id == 3]
    # --rehash checksums every source again, as a fixity check
    summary = run_collection(collection, out, workers=0, rehash=True)
    assert (summary.ok, summary.skipped) == (0, 3)
    with Catalog(out / "catalog.sqlite", readonly=True) as catalog:
        checks = [e for e in catalog.events() if e.run_id == 4 and e.type == "fixity check"]
    assert len(checks) == 3


def test_missing_sources_are_marked_and_come_back(tmp_path):
    collection, out = _cubes(tmp_path / "c"), tmp_path / "out"
    run_collection(collection, out, workers=0)
    kept = (collection / "c.obj").read_bytes()
    (collection / "c.obj").unlink()
    summary = run_collection(collection, out, workers=0)
    assert summary.exit_code == 0 and summary.total == 2
    assert summary.notes == ["c.obj: no longer in the collection; its record and outputs are kept"]
    with Catalog(out / "catalog.sqlite", readonly=True) as catalog:
        assert {a.rel_path: a.status for a in catalog.assets()}["c.obj"] == "missing"
    assert run_collection(collection, out, workers=0).notes == []  # said once
    (collection / "c.obj").write_bytes(kept)
    summary = run_collection(collection, out, workers=0)
    assert (summary.ok, summary.skipped) == (1, 2)


def test_an_asset_that_keeps_timing_out_is_quarantined_until_forced(sample_collection, tmp_path):

    collection = tmp_path / "c"
    shutil.copytree(sample_collection / "paintings", collection / "paintings", ignore=NO_TARGETS)
    _cubes(collection, "a")
    out = tmp_path / "out"
    # the cube is done first, without a limit: a fresh worker's first mesh (imports, numba's cache) can
    # itself take longer than the 0.4 s the master gets below
    assert run_collection(collection, out, workers=1, only="mesh").ok == 1
    summary = run_collection(collection, out, workers=1, timeout=0.4, max_attempts=2)
    assert (summary.ok, summary.skipped, summary.quarantined, summary.exit_code) == (0, 1, 1, 1)
    assert summary.failures[0].status == "quarantined"
    assert "quarantined after 2 attempts: still running after 0.4 s" in summary.failures[0].error
    with Catalog(out / "catalog.sqlite", readonly=True) as catalog:
        attempts = [(a.number, a.outcome) for a in catalog.attempts() if a.outcome == "timeout"]
        row = {a.rel_path: a for a in catalog.assets()}["paintings/landscape.tif"]
    assert attempts == [(1, "timeout"), (2, "timeout")]
    assert (row.status, row.crashes) == ("quarantined", 2)
    # a later run leaves it alone (same content, same recipe) and still reports it
    again = run_collection(collection, out, workers=1)
    assert (again.ok, again.skipped, again.quarantined) == (0, 1, 1)
    assert "quarantined after 2 attempts" in again.failures[0].error
    # --force tries again; with time enough it succeeds
    forced = run_collection(collection, out, workers=1, force=True)
    assert (forced.ok, forced.quarantined, forced.exit_code) == (2, 0, 0)


def test_run_with_a_recipe_file_from_the_command_line(sample_collection, tmp_path):

    collection = tmp_path / "c"
    shutil.copytree(sample_collection / "photos", collection / "photos")
    _cubes(collection, "a")
    recipe = tmp_path / "run.toml"
    recipe.write_text('[mesh]\nlods = "none"\n[image]\nlayouts = ["iiif3", "dz"]\ninspect = false\n')
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["run", str(collection), "--out", str(out), "--recipe", str(recipe),
                                      "--workers", "0", "--quality", "70", "--json"])
    assert result.exit_code == 0, result.output
    with Catalog(out / "catalog.sqlite", readonly=True) as catalog:
        roles = sorted(d.role for d in catalog.derivatives())
        recorded = catalog.runs()[0].recipe
    assert roles == ["dz", "iiif3", "validation"]
    assert recorded["image"]["quality"] == 70 and recorded["source"] == str(recipe)
    assert (out / "dz").is_dir() and next((out / "dz").rglob("*.dzi"))
    bad = tmp_path / "bad.toml"
    bad.write_text("[image]\nlayouts = ['tiff']\n")
    result = CliRunner().invoke(cli, ["run", str(collection), "--out", str(out), "--recipe", str(bad)])
    assert result.exit_code == 2 and "bad.toml" in result.output and "tiff" in result.output
    result = CliRunner().invoke(cli, ["run", str(collection), "--out", str(out), "--memory-limit", "lots"])
    assert result.exit_code == 2 and "not a size" in result.output


def test_ctrl_c_stops_the_run_and_says_how_to_resume(sample_collection, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    collection = tmp_path / "c"
    # ~3 s of work: time to interrupt
    shutil.copytree(sample_collection / "paintings", collection / "paintings", ignore=NO_TARGETS)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "llvscan", "run", str(collection), "--out", str(out),
                             "--workers", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the run has begun once its row is in the catalog
            try:
                with Catalog(out / "catalog.sqlite", readonly=True) as catalog:
                    if catalog.runs():
                        break
            except CatalogError:  # not there yet, or still being created
                pass
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "run the same command again to resume" in err
    with Catalog(out / "catalog.sqlite", readonly=True) as catalog:
        assert [r.status for r in catalog.runs()] == ["interrupted"]
    assert run_collection(collection, out, workers=1).ok == 1  # and it resumes
