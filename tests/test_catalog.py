"""The SQLite catalog: schema, upserts without duplicates, refusal of unusable files."""

from __future__ import annotations

import sqlite3

import pytest

from llvscan.catalog import SCHEMA_VERSION, AssetRecord, Catalog, DerivativeRecord, EventRecord, FileRecord
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
        assert assets[0]["sha256"] == "d" * 64
        assert assets[0]["first_run_id"] == run1 and assets[0]["last_run_id"] == run2
        assert assets[0]["attempts"] == 2
        assert assets[0]["object_number"] == "1921.4.17"
        assert len(cat.derivatives()) == 1
        assert len(cat.events()) == 2
        assert cat.invalid_assets(["id-1", "other"]) == [{"path": "scans/bust.obj", "errors": []}]
        assert cat.invalid_assets(["other"]) == []
        assert cat.runs()[-1]["status"] == "completed"
        previous = cat.previous("id-1")
        assert previous.content_sha256 == "d" * 64
        assert previous.derivatives == [("assets/bust/validation.json", 100)]


def test_skipped_record_only_adds_an_event(tmp_path):
    with Catalog(tmp_path / "c.sqlite") as cat:
        run = cat.begin_run(collection=tmp_path, out_dir=tmp_path, options={})
        cat.record(run, _record(), agent="test")
        cat.record(run, _record(status="skipped", sha=None), agent="test")
        assert cat.assets()[0]["sha256"] == "a" * 64
        assert cat.assets()[0]["status"] == "ok"
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
