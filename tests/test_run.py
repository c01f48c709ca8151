"""End to end: a collection run over the generated sample collection, resume, crashes."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import unit_cube, write_obj

from llvscan.catalog import Catalog
from llvscan.cli import cli
from llvscan.collection import RunOptions, discover_assets, process_asset, run_collection
from llvscan.collection.runner import _execute, _Job

BROKEN = {"broken/truncated.obj", "broken/empty.ply", "broken/garbage.tif"}
GOOD = {"sculpture/bust.obj", "ceramics/vase.ply", "ceramics/figurine.glb", "tools/bracket.stl",
        "damaged/fragment.obj", "paintings/landscape.tif", "photos/condition_photo.jpg"}


@pytest.fixture(scope="module")
def first_run(sample_collection, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "out"
    result = CliRunner().invoke(cli, ["run", str(sample_collection), "--out", str(out), "--workers", "2", "--json"])
    return out, result


def test_run_exits_1_and_reports_every_asset(first_run):
    _, result = first_run
    assert result.exit_code == 1, result.output
    summary = json.loads(result.output)
    assert (summary["total"], summary["ok"], summary["failed"], summary["skipped"]) == (10, 7, 3, 0)
    assert summary["invalid"] == 1  # the defective fragment
    assert summary["invalid_assets"] == [
        {"path": "damaged/fragment.obj", "errors": ["1 edge shared by more than two faces"]}]
    assert {f["path"] for f in summary["failures"]} == BROKEN


def test_catalog_rows(first_run):
    out, _ = first_run
    with Catalog(out / "catalog.sqlite", readonly=True) as cat:
        assets = {a["rel_path"]: a for a in cat.assets()}
        derivatives = cat.derivatives()
        events = cat.events()
    assert set(assets) == GOOD | BROKEN
    for path in GOOD:
        row = assets[path]
        assert row["status"] == "ok" and len(row["sha256"]) == 64 and row["error"] is None
        assert row["object_number"] and row["rights"].startswith("http://")
    assert assets["damaged/fragment.obj"]["is_valid"] == 0
    assert assets["sculpture/bust.obj"]["is_valid"] == 1
    assert "empty file" in assets["broken/empty.ply"]["error"]
    assert "no faces" in assets["broken/truncated.obj"]["error"]
    assert "not a readable image" in assets["broken/garbage.tif"]["error"]
    for path in BROKEN:
        assert assets[path]["status"] == "failed"
        assert assets[path]["error"].startswith(path)
    assert len(derivatives) == 7
    assert {e["type"] for e in events} >= {"message digest calculation", "validation", "creation"}


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
    assert (summary.ok, summary.skipped, summary.failed) == (0, 7, 3)
    assert summary.exit_code == 1 and summary.invalid == 1
    with Catalog(out / "catalog.sqlite", readonly=True) as cat:
        assert len(cat.assets()) == 10
        assert [r["status"] for r in cat.runs()] == ["completed", "completed"]


def test_changed_or_damaged_output_is_redone(sample_collection, tmp_path):
    import shutil

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
    # a different recipe redoes everything
    assert run_collection(collection, out, workers=0, options=RunOptions(quality=70)).ok == 2
    assert run_collection(collection, out, workers=0, options=RunOptions(quality=70), force=True).ok == 2


def test_output_inside_the_collection_is_a_usage_error(tmp_path):
    (tmp_path / "c").mkdir()
    result = CliRunner().invoke(cli, ["run", str(tmp_path / "c"), "--out", str(tmp_path / "c" / "out")])
    assert result.exit_code == 2
    assert "must not lie inside the collection" in result.output


def crash_on_second(job: _Job):
    """Worker that dies outright (like a segfault) on one asset."""
    if job.asset.rel_path == "b.obj":
        os.abort()
    return process_asset(job)


def test_a_worker_crash_fails_only_that_asset(tmp_path):
    v, f = unit_cube()
    collection = tmp_path / "c"
    collection.mkdir()
    for name in "abcd":
        write_obj(collection / f"{name}.obj", v, f)
    jobs = [_Job(a, str(collection), str(tmp_path / "out"), RunOptions(), None, False)
            for a in discover_assets(collection).assets]
    records = {r.rel_path: r for r in _execute(jobs, 2, crash_on_second)}
    assert set(records) == {"a.obj", "b.obj", "c.obj", "d.obj"}
    assert records["b.obj"].status == "failed"
    assert "worker process died" in records["b.obj"].error
    assert all(records[n].status == "ok" for n in ("a.obj", "c.obj", "d.obj"))


def test_records_name_paths_relative_to_the_collection(first_run):
    out, _ = first_run
    db = sqlite3.connect(out / "catalog.sqlite")
    root = db.execute("SELECT collection FROM runs").fetchone()[0]
    for (error,) in db.execute("SELECT error FROM assets WHERE error IS NOT NULL"):
        assert root not in error
    assert Path(root).is_absolute()


def test_catalog_verify_catches_altered_and_missing_outputs(sample_collection, tmp_path):
    import shutil

    from llvscan.catalog import verify_outputs

    collection = tmp_path / "c"
    shutil.copytree(sample_collection / "tools", collection / "tools")
    shutil.copytree(sample_collection / "photos", collection / "photos")
    out = tmp_path / "out"
    run_collection(collection, out, workers=0)
    report = verify_outputs(out)
    assert report.is_intact and report.checked == report.ok == 2
    assert CliRunner().invoke(cli, ["catalog", "verify", str(out)]).exit_code == 0

    tile = next((out / "iiif").rglob("default.jpg"))
    data = bytearray(tile.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one changed byte, same size: only a checksum sees it
    tile.write_bytes(bytes(data))
    (next((out / "assets").rglob("validation.json"))).unlink()
    report = verify_outputs(out)
    assert sorted((p.role, p.problem) for p in report.problems) == [("iiif3", "altered"), ("validation", "missing")]
    result = CliRunner().invoke(cli, ["catalog", "verify", str(out), "--json"])
    assert result.exit_code == 1 and json.loads(result.output)["is_intact"] is False
    empty = CliRunner().invoke(cli, ["catalog", "verify", str(tmp_path)])
    assert empty.exit_code == 1 and "no catalog here" in empty.output


def test_catalog_show_failed_lists_failures_and_invalid_assets(first_run):
    out, _ = first_run
    result = CliRunner().invoke(cli, ["catalog", "show", str(out), "--failed", "--json"])
    assert result.exit_code == 0, result.output
    problems = {p["path"]: p for p in json.loads(result.output)}
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
    import shutil
    import signal
    import subprocess
    import sys
    import time

    from llvscan.catalog import verify_outputs

    collection = tmp_path / "c"
    for part in ("tools", "photos", "paintings"):
        shutil.copytree(sample_collection / part, collection / part)
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
    assert report.is_intact and report.checked == 3, report.problems
    with Catalog(out / "catalog.sqlite", readonly=True) as catalog:
        paths = [a["rel_path"] for a in catalog.assets()]
    assert sorted(paths) == ["paintings/landscape.tif", "photos/condition_photo.jpg", "tools/bracket.stl"]
    leftovers = [p.relative_to(out) for p in out.rglob(".*") if ".tmp-" in p.name or ".old-" in p.name]
    assert leftovers == []  # the killed runs' temporaries were cleared by the next run


def test_temporaries_of_dead_writers_are_cleared_and_live_ones_kept(tmp_path):
    import subprocess
    import sys

    from llvscan._publish import atomic_dir, write_bytes_atomic

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / f".tiles.tmp-{dead.pid}").mkdir()
    (tmp_path / f".tiles.tmp-{dead.pid}" / "half.jpg").write_bytes(b"x")
    (tmp_path / f".tiles.old-{dead.pid}").mkdir()
    (tmp_path / f".tiles.tmp-{os.getppid()}").mkdir()  # a live process's: not ours to remove
    (tmp_path / f".report.json.tmp-{dead.pid}").write_bytes(b"{")
    with atomic_dir(tmp_path / "tiles") as folder:
        (folder / "info.json").write_text("{}")
    write_bytes_atomic(tmp_path / "report.json", b"{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f".tiles.tmp-{os.getppid()}", "report.json", "tiles"])
