"""The SQLite catalog: schema, upserts without duplicates, refusal of unusable files."""

from __future__ import annotations

import sqlite3
from dataclasses import replace

import pytest

from llvscan.catalog import (
    SCHEMA_VERSION,
    AssetFailure,
    AssetProblem,
    AssetRecord,
    Catalog,
    DerivativeRecord,
    EventRecord,
    FileRecord,
    InvalidAsset,
)
from llvscan.errors import CatalogError


def _record(status="ok", sha="a" * 64, valid=True):
    return AssetRecord(
        asset_id="id-1", rel_path="scans/bust.obj", kind="mesh", format="obj", status=status,
        recipe_sha256="r" * 64, bytes=10, sha256=sha, content_sha256=sha, is_valid=valid,
        metadata={"object_number": "1921.4.17", "title": "Bust", "rights": "http://rightsstatements.org/vocab/InC/1.0/"},
        files=[FileRecord("scans/bust.obj", "main", 10, sha), FileRecord("scans/bust.mtl", "material", 5, "b" * 64)],
        derivatives=[DerivativeRecord("validation", "assets/bust/validation.json", 100, 1, "c" * 64)],
        events=[EventRecord("message digest calculation", "success", "sha256")],
    )


def test_new_catalog_is_wal_and_at_current_schema(tmp_path):
    with Catalog(tmp_path / "c.sqlite") as cat:
        summary = cat.summary()
    assert summary.schema_version == SCHEMA_VERSION
    db = sqlite3.connect(tmp_path / "c.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_recording_twice_keeps_one_row_per_asset(tmp_path):
    with Catalog(tmp_path / "c.sqlite") as cat:
        run1 = cat.begin_run(collection=tmp_path, out_dir=tmp_path, options={})
        cat.record(run1, _record(), agent="test")
        run2 = cat.begin_run(collection=tmp_path, out_dir=tmp_path, options={})
        cat.record(run2, _record(sha="d" * 64, valid=False), agent="test")
        cat.finish_run(run2, status="completed", ok=1, failed=0, skipped=0)
        assets = cat.assets()
        assert len(assets) == 1
        assert assets[0].sha256 == "d" * 64
        assert assets[0].first_run_id == run1 and assets[0].last_run_id == run2
        assert assets[0].attempts == 2
        assert assets[0].object_number == "1921.4.17"
        assert len(cat.derivatives()) == 1
        assert len(cat.events()) == 2
        assert cat.invalid_assets(["id-1", "other"]) == [InvalidAsset("scans/bust.obj", [])]
        assert cat.invalid_assets(["other"]) == []
        assert cat.problems() == [AssetProblem("scans/bust.obj", "mesh", "invalid", [])]
        assert cat.runs()[-1].status == "completed"
        previous = cat.previous("id-1")
        assert previous.content_sha256 == "d" * 64
        assert previous.derivatives == [("assets/bust/validation.json", 100)]


def test_skipped_record_only_adds_an_event(tmp_path):
    with Catalog(tmp_path / "c.sqlite") as cat:
        run = cat.begin_run(collection=tmp_path, out_dir=tmp_path, options={})
        cat.record(run, _record(), agent="test")
        cat.record(run, _record(status="skipped", sha=None), agent="test")
        assert cat.assets()[0].sha256 == "a" * 64
        assert cat.assets()[0].status == "ok"
        assert len(cat.events()) == 2


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "c.sqlite"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(CatalogError, match=r"newer than this llvscan"):
        Catalog(path)


def test_garbage_file_is_refused_by_name(tmp_path):
    path = tmp_path / "c.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CatalogError, match=r"c.sqlite: not a usable SQLite catalog"):
        Catalog(path)


def test_readonly_missing_catalog(tmp_path):
    with pytest.raises(CatalogError, match=r"no catalog here"):
        Catalog(tmp_path / "none.sqlite", readonly=True)


def test_a_version_1_catalog_is_migrated_keeping_its_rows(tmp_path):
    from llvscan.catalog.db import _MIGRATIONS

    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(_MIGRATIONS[0])
    db.execute("PRAGMA user_version = 1")
    db.execute("INSERT INTO runs (started_at, collection, out_dir, llvscan_version, python_version, host, options)"
               " VALUES ('2026-01-01T00:00:00Z', '/c', '/o', '0.1', '3.11', 'h', '{}')")
    db.execute("INSERT INTO assets (id, rel_path, kind, recipe_sha256, status, updated_at, first_run_id, last_run_id)"
               " VALUES ('id-1', 'scans/bust.obj', 'mesh', 'r', 'ok', 'now', 1, 1)")
    db.execute("INSERT INTO asset_files VALUES ('id-1', 'scans/bust.obj', 'main', 10, 'a')")
    db.execute("INSERT INTO derivatives (asset_id, role, path, bytes, files, sha256, created_run_id)"
               " VALUES ('id-1', 'validation', 'assets/bust/validation.json', 100, 1, 'c', 1)")
    db.commit()
    db.close()
    with Catalog(path) as cat:
        assert cat.summary().schema_version == SCHEMA_VERSION == 4
        assert [(a.session, a.target) for a in cat.assets()] == [(None, None)] and cat.sessions() == []
        assert [(d.role, d.level, d.path) for d in cat.derivatives()] == [
            ("validation", "", "assets/bust/validation.json")]
        previous = cat.previous("id-1")
        assert previous.files == {"scans/bust.obj": (10, None)} and previous.crashes == 0
        assert cat.runs()[0].recipe == {} and cat.findings() == [] and cat.attempts() == []
        # and it takes version-2 records: several LOD levels under one role, findings, attempts
        run = cat.begin_run(collection=tmp_path, out_dir=tmp_path, options={}, recipe={"mesh": {}})
        from llvscan.catalog import FindingRecord

        lods = [DerivativeRecord("lod", f"assets/bust/lods/{n}.glb", 5, 1, "d" * 64, level=n, faces=f)
                for n, f in (("thumb", 20), ("high", 150))]
        cat.record(run, replace(_record(), derivatives=lods, started_at="now", seconds=1.0, worker="h:1",
                                findings=[FindingRecord("validation", "warning", "slivers", "3 slivers", 3)]),
                   agent="test")
        assert [(d.level, d.faces) for d in cat.derivatives()] == [("high", 150), ("thumb", 20)]
        assert [(f.code, f.count) for f in cat.findings()] == [("slivers", 3)]
        assert [(a.outcome, a.worker) for a in cat.attempts()] == [("ok", "h:1")]


def test_a_touched_skip_refreshes_file_dates_only(tmp_path):
    with Catalog(tmp_path / "c.sqlite") as cat:
        run = cat.begin_run(collection=tmp_path, out_dir=tmp_path, options={})
        cat.record(run, _record(), agent="test")
        touched = [FileRecord("scans/bust.obj", "main", 10, "a" * 64, mtime_ns=123)]
        cat.record(run, replace(_record(status="skipped"), files=touched, derivatives=[]), agent="test")
        assert cat.previous("id-1").files["scans/bust.obj"] == (10, 123)
        assert len(cat.derivatives()) == 1 and cat.assets()[0].status == "ok"


def test_rows_are_typed_and_the_whole_catalog_is_one_json_result(tmp_path):
    """Every read gives frozen dataclasses; JSON columns come back decoded; ``to_dict`` is plain JSON."""
    import json

    with Catalog(tmp_path / "c.sqlite") as cat:
        run = cat.begin_run(collection=tmp_path, out_dir=tmp_path, options={"workers": 2}, recipe={"mesh": {}})
        failed = replace(_record(status="failed", valid=None), error="scans/bust.obj: no faces",
                         measurements={"faces": 0, "bbox_size": [1.0, 2.0, 3.0]},
                         derivatives=[replace(_record().derivatives[0], detail={"sizes": [[4, 3]]})])
        cat.record(run, failed, agent="test")
        cat.finish_run(run, status="completed", ok=0, failed=1, skipped=0)
        contents = cat.contents()
        problems = cat.problems()
    assert contents.runs[0].options == {"workers": 2} and contents.runs[0].recipe == {"mesh": {}}
    assert contents.runs[0].libraries["numpy"]  # the library versions, recorded by name
    assert contents.assets[0].measurements == {"faces": 0, "bbox_size": [1.0, 2.0, 3.0]}
    assert contents.derivatives[0].detail == {"sizes": [[4, 3]]}
    assert contents.summary.failures == [AssetFailure("scans/bust.obj", "scans/bust.obj: no faces", "failed")]
    assert problems == [AssetProblem("scans/bust.obj", "mesh", "failed", ["scans/bust.obj: no faces"])]
    data = json.loads(json.dumps(contents.to_dict()))
    assert list(data) == ["summary", "runs", "assets", "derivatives", "findings", "files", "events", "attempts"]
    assert data["summary"]["failures"] == [{"path": "scans/bust.obj", "error": "scans/bust.obj: no faces",
                                            "status": "failed"}]
    assert data["assets"][0]["measurements"]["bbox_size"] == [1.0, 2.0, 3.0]
    assert {f["rel_path"] for f in data["files"]} == {"scans/bust.obj", "scans/bust.mtl"}
