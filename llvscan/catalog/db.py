"""The embedded SQLite catalog: one file per output folder, WAL mode, versioned schema.

One writer (the run's driver) commits once per asset, so a killed run loses at most the asset in
flight. Readers (exports, ``llvscan catalog show``) may open it while a run writes.
"""

from __future__ import annotations

import json
import platform
import socket
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llvscan import __version__
from llvscan._constants import SIDECAR_FIELDS
from llvscan._json import JsonResult
from llvscan.catalog.records import AssetRecord, JsonValue, utc_now
from llvscan.catalog.rows import (
    AssetFailure,
    AssetProblem,
    AssetRow,
    AttemptRow,
    DerivativeRow,
    EventRow,
    FileRow,
    FindingRow,
    InvalidAsset,
    RunRow,
    SessionRow,
    from_rows,
    json_column,
)
from llvscan.errors import CatalogError
from llvscan.info import library_versions

__all__ = ["SCHEMA_VERSION", "Catalog", "CatalogAggregates", "CatalogContents", "CatalogSummary", "PreviousState",
           "copy_catalog"]

SCHEMA_VERSION = 4

# Migrations: index i brings a catalog from schema version i to i + 1.
_MIGRATIONS: list[str] = [
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        collection TEXT NOT NULL,
        out_dir TEXT NOT NULL,
        llvscan_version TEXT NOT NULL,
        python_version TEXT NOT NULL,
        host TEXT NOT NULL,
        options TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'running',
        assets_ok INTEGER NOT NULL DEFAULT 0,
        assets_failed INTEGER NOT NULL DEFAULT 0,
        assets_skipped INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE assets (
        id TEXT PRIMARY KEY,
        rel_path TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        format TEXT,
        bytes INTEGER,
        mtime TEXT,
        sha256 TEXT,
        content_sha256 TEXT,
        recipe_sha256 TEXT NOT NULL,
        status TEXT NOT NULL,
        is_valid INTEGER,
        error TEXT,
        object_number TEXT,
        title TEXT,
        creator TEXT,
        date TEXT,
        rights TEXT,
        measurements TEXT NOT NULL DEFAULT '{}',
        attempts INTEGER NOT NULL DEFAULT 0,
        first_run_id INTEGER REFERENCES runs(id),
        last_run_id INTEGER REFERENCES runs(id),
        updated_at TEXT NOT NULL
    );
    CREATE INDEX assets_status_kind ON assets(status, kind);
    CREATE TABLE asset_files (
        asset_id TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
        rel_path TEXT NOT NULL,
        role TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        PRIMARY KEY (asset_id, rel_path)
    );
    CREATE TABLE derivatives (
        asset_id TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
        role TEXT NOT NULL,
        path TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        files INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '{}',
        created_run_id INTEGER REFERENCES runs(id),
        PRIMARY KEY (asset_id, role)
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id),
        asset_id TEXT NOT NULL,
        type TEXT NOT NULL,
        time TEXT NOT NULL,
        agent TEXT NOT NULL,
        outcome TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    CREATE INDEX events_asset ON events(asset_id);
    """,
    # 2: the run's recipe and library versions; findings and attempts tables; LOD levels as derivatives
    # (several per role); source files' mtimes for a fast resume; crash counts for quarantine
    """
    ALTER TABLE runs ADD COLUMN recipe TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE runs ADD COLUMN libraries TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE runs ADD COLUMN assets_quarantined INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE assets ADD COLUMN crashes INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE asset_files ADD COLUMN mtime_ns INTEGER;
    CREATE TABLE derivatives_2 (
        asset_id TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
        role TEXT NOT NULL,
        level TEXT NOT NULL DEFAULT '',
        path TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        files INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        faces INTEGER,
        texture_size INTEGER,
        hausdorff_pct REAL,
        detail TEXT NOT NULL DEFAULT '{}',
        created_run_id INTEGER REFERENCES runs(id),
        PRIMARY KEY (asset_id, role, level)
    );
    INSERT INTO derivatives_2 (asset_id, role, path, bytes, files, sha256, detail, created_run_id)
        SELECT asset_id, role, path, bytes, files, sha256, detail, created_run_id FROM derivatives;
    DROP TABLE derivatives;
    ALTER TABLE derivatives_2 RENAME TO derivatives;
    CREATE TABLE findings (
        id INTEGER PRIMARY KEY,
        asset_id TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
        run_id INTEGER NOT NULL REFERENCES runs(id),
        source TEXT NOT NULL,
        level TEXT NOT NULL,
        code TEXT NOT NULL,
        message TEXT NOT NULL,
        count INTEGER NOT NULL DEFAULT 0,
        measure REAL
    );
    CREATE INDEX findings_asset ON findings(asset_id);
    CREATE INDEX findings_code ON findings(code, level);
    CREATE TABLE attempts (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id),
        asset_id TEXT NOT NULL,
        number INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        started_at TEXT,
        seconds REAL,
        worker TEXT,
        detail TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX attempts_asset ON attempts(asset_id);
    """,
    # 3: capture sessions: each image's session, the targets among them, and each target's grade
    """
    ALTER TABLE assets ADD COLUMN session TEXT;
    ALTER TABLE assets ADD COLUMN target TEXT;
    CREATE INDEX assets_session ON assets(session);
    CREATE TABLE target_grades (
        asset_id TEXT PRIMARY KEY REFERENCES assets(id) ON DELETE CASCADE,
        run_id INTEGER NOT NULL REFERENCES runs(id),
        standard TEXT NOT NULL,
        level TEXT,
        level_rank INTEGER,
        required_level TEXT,
        passed INTEGER NOT NULL,
        complete INTEGER NOT NULL,
        metrics TEXT NOT NULL DEFAULT '{}',
        problems TEXT NOT NULL DEFAULT '[]'
    );
    """,
    # 4: each source file's and each single-file output's PRONOM format (siegfried)
    """
    ALTER TABLE asset_files ADD COLUMN puid TEXT;
    ALTER TABLE asset_files ADD COLUMN format_name TEXT;
    ALTER TABLE asset_files ADD COLUMN format_version TEXT;
    ALTER TABLE derivatives ADD COLUMN puid TEXT;
    ALTER TABLE derivatives ADD COLUMN format_name TEXT;
    ALTER TABLE derivatives ADD COLUMN format_version TEXT;
    """,
]
# what a run records of its libraries: those its outputs depend on
_OUTPUT_LIBRARIES = ("numpy", "numba", "pyvips", "libvips", "open3d", "trimesh", "pillow", "bagit", "iiif-prezi3")


@dataclass(frozen=True)
class PreviousState(JsonResult):
    """What the catalog remembers of an asset, enough to decide whether to redo it."""

    content_sha256: str | None
    recipe_sha256: str
    status: str
    derivatives: list[tuple[str, int]]  # (path relative to the output folder, bytes)
    files: dict[str, tuple[int, int | None]] = field(default_factory=dict)  # rel_path: (bytes, mtime_ns)
    crashes: int = 0
    error: str | None = None


@dataclass(frozen=True)
class CatalogSummary(JsonResult):
    path: str
    schema_version: int
    runs: int
    assets: int
    by_status: dict[str, int]
    by_kind: dict[str, int]
    invalid: int
    derivatives: int
    events: int
    failures: list[AssetFailure]
    sessions: list[SessionRow] = field(default_factory=list)


@dataclass(frozen=True)
class CatalogContents(JsonResult):
    """The whole catalog as rows: what the JSON export writes."""

    summary: CatalogSummary
    runs: list[RunRow]
    assets: list[AssetRow]
    derivatives: list[DerivativeRow]
    findings: list[FindingRow]
    files: list[FileRow]
    events: list[EventRow]
    attempts: list[AttemptRow]


@dataclass(frozen=True)
class CatalogAggregates(JsonResult):
    """What a report's overview plots, computed by SQLite (no row of a large catalog reaches Python
    except the values plotted)."""

    by_kind_status: list[tuple[str, str, int]]
    finding_codes: list[tuple[str, int]]  # code, findings; most frequent first
    mesh_faces: list[float]
    level_worst_hausdorff: list[tuple[str, float]]  # LOD level, its largest Hausdorff % over the assets
    image_sharpness: list[float]  # variance of the Laplacian
    image_clipping: list[float]  # the worst band's clipped %, where the run recorded it
    asset_seconds: list[float]  # each asset's latest attempt


class Catalog:
    """Open (creating or migrating) the catalog at ``path``. Use as a context manager."""

    def __init__(self, path: str | Path, *, readonly: bool = False):
        self.path = Path(path)
        if readonly and not self.path.is_file():
            raise CatalogError("no catalog here", path=self.path)
        try:
            if readonly:
                self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(self.path, timeout=30)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.row_factory = sqlite3.Row
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise CatalogError("not a usable SQLite catalog", path=self.path, detail=str(exc)) from exc
        if version > SCHEMA_VERSION:
            raise CatalogError(f"catalog schema {version} is newer than this llvscan understands "
                               f"({SCHEMA_VERSION}); upgrade llvscan", path=self.path)
        if version < SCHEMA_VERSION:
            if readonly:
                raise CatalogError(f"catalog schema {version} needs migrating; open it writable",
                                   path=self.path)
            self._migrate(version)

    def _migrate(self, version: int) -> None:
        for target in range(version, SCHEMA_VERSION):
            with self._db:
                self._db.executescript(_MIGRATIONS[target])
                self._db.execute(f"PRAGMA user_version = {target + 1}")

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    # -- runs ---------------------------------------------------------------------------------
    def begin_run(self, *, collection: Path, out_dir: Path, options: Mapping[str, JsonValue],
                  recipe: Mapping[str, Any] | None = None) -> int:
        """Record the start of a run (its options, its recipe as JSON, the library versions); its id."""
        with self._db:
            cur = self._db.execute(
                "INSERT INTO runs (started_at, collection, out_dir, llvscan_version, python_version, host,"
                " options, recipe, libraries) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (utc_now(), str(collection), str(out_dir), __version__, platform.python_version(),
                 socket.gethostname(), json.dumps(options, sort_keys=True),
                 json.dumps(recipe or {}, sort_keys=True, default=str),
                 json.dumps(library_versions(_OUTPUT_LIBRARIES))),
            )
        if cur.lastrowid is None:
            raise CatalogError("the run was not recorded", path=self.path)
        return cur.lastrowid

    def finish_run(self, run_id: int, *, status: str, ok: int, failed: int, skipped: int,
                   quarantined: int = 0) -> None:
        with self._db:
            self._db.execute(
                "UPDATE runs SET finished_at=?, status=?, assets_ok=?, assets_failed=?, assets_skipped=?,"
                " assets_quarantined=? WHERE id=?", (utc_now(), status, ok, failed, skipped, quarantined, run_id))

    # -- assets -------------------------------------------------------------------------------
    def previous(self, asset_id: str) -> PreviousState | None:
        return self.previous_states([asset_id]).get(asset_id)

    def previous_states(self, asset_ids: list[str] | None = None) -> dict[str, PreviousState]:
        """What the catalog remembers of these assets (all when None), in three queries."""
        states: dict[str, dict[str, Any]] = {}
        for row in self._db.execute("SELECT id, content_sha256, recipe_sha256, status, crashes, error FROM assets"):
            states[row[0]] = {"content_sha256": row[1], "recipe_sha256": row[2], "status": row[3],
                              "crashes": row[4], "error": row[5], "derivatives": [], "files": {}}
        for asset_id, path, size in self._db.execute(
                "SELECT asset_id, path, bytes FROM derivatives ORDER BY asset_id, role, level"):
            states[asset_id]["derivatives"].append((path, size))
        for asset_id, rel, size, mtime_ns in self._db.execute(
                "SELECT asset_id, rel_path, bytes, mtime_ns FROM asset_files"):
            states[asset_id]["files"][rel] = (size, mtime_ns)
        wanted = states.keys() if asset_ids is None else [i for i in asset_ids if i in states]
        return {i: PreviousState(**states[i]) for i in wanted}

    def record(self, run_id: int, record: AssetRecord, *, agent: str) -> None:
        """Store one asset's outcome in a single transaction. A skipped asset gains its events and, when
        its files were only touched, their new dates; nothing else of it changes."""
        now = utc_now()
        meta = [record.metadata.get(k) for k in SIDECAR_FIELDS]
        session = [record.metadata.get("session"), record.metadata.get("target")]
        with self._db:
            if record.status == "skipped":
                self._db.executemany(
                    "UPDATE asset_files SET bytes=?, mtime_ns=? WHERE asset_id=? AND rel_path=?",
                    [(f.bytes, f.mtime_ns, record.asset_id, f.rel_path) for f in record.files])
                if record.metadata:  # the sidecar may have changed: its metadata is kept current
                    self._db.execute(
                        "UPDATE assets SET object_number=?, title=?, creator=?, date=?, rights=?, session=?"
                        " WHERE id=?", (*meta, session[0], record.asset_id))
            else:
                self._db.execute(
                    """INSERT INTO assets (id, rel_path, kind, format, bytes, mtime, sha256, content_sha256,
                        recipe_sha256, status, is_valid, error, object_number, title, creator, date, rights,
                        session, target, measurements, attempts, crashes, first_run_id, last_run_id, updated_at)
                       VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
                       ON CONFLICT(id) DO UPDATE SET rel_path=excluded.rel_path, kind=excluded.kind,
                        format=excluded.format, bytes=excluded.bytes, mtime=excluded.mtime,
                        sha256=excluded.sha256, content_sha256=excluded.content_sha256,
                        recipe_sha256=excluded.recipe_sha256, status=excluded.status,
                        is_valid=excluded.is_valid, error=excluded.error,
                        object_number=excluded.object_number, title=excluded.title,
                        creator=excluded.creator, date=excluded.date, rights=excluded.rights,
                        session=excluded.session, target=excluded.target, measurements=excluded.measurements,
                        attempts=assets.attempts + excluded.attempts,
                        crashes=excluded.crashes, last_run_id=excluded.last_run_id,
                        updated_at=excluded.updated_at""",
                    (record.asset_id, record.rel_path, record.kind, record.format, record.bytes,
                     record.mtime, record.sha256, record.content_sha256, record.recipe_sha256,
                     record.status, None if record.is_valid is None else int(record.is_valid),
                     record.error, *meta, *session, json.dumps(record.measurements, sort_keys=True),
                     record.attempts, record.crashes, run_id, run_id, now),
                )
                self._db.execute("DELETE FROM asset_files WHERE asset_id=?", (record.asset_id,))
                self._db.executemany(
                    "INSERT INTO asset_files (asset_id, rel_path, role, bytes, sha256, mtime_ns, puid, format_name,"
                    " format_version) VALUES (?,?,?,?,?,?,?,?,?)",
                    [(record.asset_id, f.rel_path, f.role, f.bytes, f.sha256, f.mtime_ns, f.puid, f.format_name,
                      f.format_version) for f in record.files])
                if record.status != "quarantined":  # a crash leaves the last good outputs and findings listed
                    self._db.execute("DELETE FROM derivatives WHERE asset_id=?", (record.asset_id,))
                    self._db.executemany(
                        "INSERT INTO derivatives (asset_id, role, level, path, bytes, files, sha256, faces,"
                        " texture_size, hausdorff_pct, detail, created_run_id, puid, format_name, format_version)"
                        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        [(record.asset_id, d.role, d.level, d.path, d.bytes, d.files, d.sha256, d.faces,
                          d.texture_size, d.hausdorff_pct, json.dumps(d.detail, sort_keys=True), run_id, d.puid,
                          d.format_name, d.format_version) for d in record.derivatives])
                    self._db.execute("DELETE FROM findings WHERE asset_id=?", (record.asset_id,))
                    self._db.executemany(
                        "INSERT INTO findings (asset_id, run_id, source, level, code, message, count, measure)"
                        " VALUES (?,?,?,?,?,?,?,?)",
                        [(record.asset_id, run_id, f.source, f.level, f.code, f.message, f.count, f.measure)
                         for f in record.findings])
                    self._record_grade(run_id, record)
            if record.started_at is not None:
                outcome = {"ok": "ok", "skipped": "unchanged"}.get(record.status, "failed")
                self._db.execute(
                    "INSERT INTO attempts (run_id, asset_id, number, outcome, started_at, seconds, worker, detail)"
                    " VALUES (?,?,?,?,?,?,?,?)",
                    (run_id, record.asset_id, record.attempts, outcome, record.started_at, record.seconds,
                     record.worker, record.error or ""))
            self._db.executemany(
                "INSERT INTO events (run_id, asset_id, type, time, agent, outcome, detail)"
                " VALUES (?,?,?,?,?,?,?)",
                [(run_id, record.asset_id, e.type, e.time, agent, e.outcome, e.detail) for e in record.events])

    def _record_grade(self, run_id: int, record: AssetRecord) -> None:
        """A capture target's grade (``measurements["target"]``, see ``collection.process``); a target that
        failed keeps no grade, so its session fails."""
        self._db.execute("DELETE FROM target_grades WHERE asset_id=?", (record.asset_id,))
        grade = record.measurements.get("target")
        if record.status != "ok" or not isinstance(grade, Mapping):
            return
        self._db.execute(
            "INSERT INTO target_grades (asset_id, run_id, standard, level, level_rank, required_level, passed,"
            " complete, metrics, problems) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (record.asset_id, run_id, grade.get("standard"), grade.get("level"), grade.get("level_rank"),
             grade.get("required_level"), int(bool(grade.get("passed"))), int(bool(grade.get("complete"))),
             json.dumps(grade.get("metrics", {}), sort_keys=True),
             json.dumps(record.measurements.get("errors", []))))

    def sessions(self) -> list[SessionRow]:
        """Every capture session, by name: its targets' worst grade and how many images carry it."""
        rows = self._db.execute(
            "SELECT a.session, a.rel_path, a.target, a.status, a.error, g.standard, g.level, g.level_rank,"
            " g.required_level, g.passed, g.problems FROM assets a LEFT JOIN target_grades g ON g.asset_id = a.id"
            " WHERE a.session IS NOT NULL AND a.status != 'missing' ORDER BY a.session, a.rel_path").fetchall()
        sessions: dict[str, dict[str, Any]] = {}
        for name, path, target, status, error, standard, level, rank, required, passed, problems in rows:
            entry = sessions.setdefault(name, {"targets": [], "images": 0, "grades": [], "problems": []})
            if target is None:
                entry["images"] += 1
                continue
            entry["targets"].append(path)
            if passed is None:
                entry["problems"].append(f"{path}: not graded ({error or status})")
                continue
            entry["grades"].append((rank, level, standard, required, bool(passed)))
            if not passed:
                why = "; ".join(str(p) for p in json.loads(problems or "[]")) or "below the required level"
                entry["problems"].append(f"{path}: {why}")
        out = []
        for name, entry in sessions.items():
            grades = entry["grades"]
            worst = max(grades, key=lambda g: float("inf") if g[0] is None else g[0]) if grades else None
            passed = None if not entry["targets"] else (not entry["problems"] and all(g[4] for g in grades))
            out.append(SessionRow(session=name, standard=worst[2] if worst else None,
                                  level=worst[1] if worst else None, required_level=worst[3] if worst else None,
                                  passed=passed, targets=entry["targets"], images=entry["images"],
                                  problems=entry["problems"]))
        return out

    def record_attempt(self, run_id: int, asset_id: str, *, number: int, outcome: str, detail: str,
                       started_at: str | None = None, seconds: float | None = None, worker: str | None = None) -> None:
        """An attempt that left no record of its own: its worker crashed, ran out of time or of memory."""
        with self._db:
            self._db.execute(
                "INSERT INTO attempts (run_id, asset_id, number, outcome, started_at, seconds, worker, detail)"
                " VALUES (?,?,?,?,?,?,?,?)", (run_id, asset_id, number, outcome, started_at, seconds, worker, detail))

    def mark_missing(self, run_id: int, asset_ids: list[str], *, agent: str) -> list[str]:
        """Mark assets whose source files are gone from the collection; their records and outputs stay."""
        notes = []
        with self._db:
            for asset_id in asset_ids:
                row = self._db.execute("SELECT rel_path FROM assets WHERE id=?", (asset_id,)).fetchone()
                message = f"{row[0]}: no longer in the collection; its record and outputs are kept"
                self._db.execute("UPDATE assets SET status='missing', error=?, last_run_id=?, updated_at=?"
                                 " WHERE id=?", (message, run_id, utc_now(), asset_id))
                self._db.execute("INSERT INTO events (run_id, asset_id, type, time, agent, outcome, detail)"
                                 " VALUES (?,?,?,?,?,?,?)",
                                 (run_id, asset_id, "fixity check", utc_now(), agent, "failure", message))
                notes.append(message)
        return sorted(notes)

    def invalid_assets(self, asset_ids: list[str]) -> list[InvalidAsset]:
        """Those of these assets that were processed and found invalid, with their error findings."""
        self._db.execute("CREATE TEMP TABLE IF NOT EXISTS _ids (id TEXT PRIMARY KEY)")
        with self._db:
            self._db.execute("DELETE FROM _ids")
            self._db.executemany("INSERT OR IGNORE INTO _ids VALUES (?)", [(i,) for i in asset_ids])
        rows = self._db.execute("SELECT rel_path, measurements FROM assets JOIN _ids USING (id)"
                                " WHERE is_valid = 0 ORDER BY rel_path").fetchall()
        return [InvalidAsset(r[0], _errors(r[1])) for r in rows]

    def problems(self) -> list[AssetProblem]:
        """Every asset that failed or was quarantined (with its error) or was found invalid (with its
        error findings)."""
        rows = self._db.execute("SELECT rel_path, kind, status, error, measurements FROM assets"
                                " WHERE status IN ('failed', 'quarantined') OR is_valid = 0"
                                " ORDER BY rel_path").fetchall()
        broken = ("failed", "quarantined")
        return [AssetProblem(r[0], r[1], r[2], [r[3] or ""]) if r[2] in broken
                else AssetProblem(r[0], r[1], "invalid", _errors(r[4])) for r in rows]

    def _select(self, table: str, order: str, asset_id: str | None = None) -> list[sqlite3.Row]:
        where, args = ("", ()) if asset_id is None else (" WHERE asset_id=?", (asset_id,))
        return self._db.execute(f"SELECT * FROM {table}{where} ORDER BY {order}", args).fetchall()

    def findings(self, asset_id: str | None = None) -> list[FindingRow]:
        return from_rows(FindingRow, self._select("findings", "asset_id, id", asset_id))

    def attempts(self, asset_id: str | None = None) -> list[AttemptRow]:
        return from_rows(AttemptRow, self._select("attempts", "id", asset_id))

    def assets(self, ids: Iterable[str] | None = None) -> list[AssetRow]:
        """Every asset (by path), or those whose id is in ``ids``."""
        if ids is None:
            return from_rows(AssetRow, self._select("assets", "rel_path"))
        wanted = sorted(set(ids))
        rows: list[sqlite3.Row] = []
        for start in range(0, len(wanted), 500):  # SQLite's bound-parameter limit
            chunk = wanted[start:start + 500]
            rows += self._db.execute(f"SELECT * FROM assets WHERE id IN ({','.join('?' * len(chunk))})",
                                     chunk).fetchall()
        return sorted(from_rows(AssetRow, rows), key=lambda a: a.rel_path)

    def asset_ids(self) -> set[str]:
        return {row[0] for row in self._db.execute("SELECT id FROM assets")}

    def asset_ids_by_path(self) -> list[str]:
        """Every asset's id, in the order of their paths (to read a large catalog a chunk at a time)."""
        return [row[0] for row in self._db.execute("SELECT id FROM assets ORDER BY rel_path")]

    def _select_in(self, table: str, order: str, ids: Iterable[str]) -> list[sqlite3.Row]:
        wanted = sorted(set(ids))
        rows: list[sqlite3.Row] = []
        for start in range(0, len(wanted), 500):  # SQLite's bound-parameter limit
            chunk = wanted[start:start + 500]
            rows += self._db.execute(f"SELECT * FROM {table} WHERE asset_id IN ({','.join('?' * len(chunk))})"
                                     f" ORDER BY {order}", chunk).fetchall()
        return rows

    def findings_for(self, ids: Iterable[str]) -> list[FindingRow]:
        return from_rows(FindingRow, self._select_in("findings", "asset_id, id", ids))

    def derivatives_for(self, ids: Iterable[str]) -> list[DerivativeRow]:
        return from_rows(DerivativeRow, self._select_in("derivatives", "asset_id, role, level", ids))

    def attempts_for(self, ids: Iterable[str]) -> list[AttemptRow]:
        return from_rows(AttemptRow, self._select_in("attempts", "id", ids))

    def aggregates(self) -> CatalogAggregates:
        """The distributions a report's overview shows (see ``CatalogAggregates``)."""
        one = self._db.execute

        def values(sql: str) -> list[float]:
            return [float(row[0]) for row in one(sql) if isinstance(row[0], int | float)]

        return CatalogAggregates(
            by_kind_status=[(r[0], r[1], int(r[2])) for r in
                            one("SELECT kind, status, count(*) FROM assets GROUP BY kind, status")],
            finding_codes=[(r[0], int(r[1])) for r in
                           one("SELECT code, count(*) FROM findings GROUP BY code ORDER BY count(*) DESC, code")],
            mesh_faces=values("SELECT json_extract(measurements, '$.faces') FROM assets WHERE kind = 'mesh'"),
            level_worst_hausdorff=[(r[0], float(r[1])) for r in one(
                "SELECT level, max(hausdorff_pct) FROM derivatives WHERE role = 'lod' AND hausdorff_pct IS NOT NULL"
                " GROUP BY level ORDER BY level")],
            image_sharpness=values("SELECT json_extract(measurements, '$.laplacian_variance') FROM assets"
                                   " WHERE kind = 'image'"),
            image_clipping=values("SELECT json_extract(measurements, '$.clipped_percent') FROM assets"
                                  " WHERE kind = 'image'"),
            asset_seconds=values("SELECT a.seconds FROM attempts a JOIN (SELECT max(id) AS id FROM attempts"
                                 " GROUP BY asset_id) latest ON a.id = latest.id"),
        )

    def troubled(self, limit: int | None = None) -> tuple[list[AssetRow], dict[str, list[FindingRow]], int]:
        """The assets that failed, were quarantined or are invalid (by path, at most ``limit``), their
        findings, and how many there are in all."""
        where = "status IN ('failed', 'quarantined') OR is_valid = 0"
        total = int(self._db.execute(f"SELECT count(*) FROM assets WHERE {where}").fetchone()[0])
        cap = "" if limit is None else f" LIMIT {int(limit)}"
        assets = from_rows(AssetRow, self._db.execute(f"SELECT * FROM assets WHERE {where} ORDER BY rel_path{cap}")
                           .fetchall())
        findings: dict[str, list[FindingRow]] = {}
        for asset in assets:
            findings[asset.id] = self.findings(asset.id)
        return assets, findings, total

    def files(self, asset_id: str | None = None) -> list[FileRow]:
        return from_rows(FileRow, self._select("asset_files", "asset_id, rel_path", asset_id))

    def derivatives(self, asset_id: str | None = None) -> list[DerivativeRow]:
        return from_rows(DerivativeRow, self._select("derivatives", "asset_id, role, level", asset_id))

    def events(self, asset_id: str | None = None) -> list[EventRow]:
        return from_rows(EventRow, self._select("events", "id", asset_id))

    def runs(self) -> list[RunRow]:
        return from_rows(RunRow, self._select("runs", "id"))

    def summary(self) -> CatalogSummary:
        one = self._db.execute
        return CatalogSummary(
            path=str(self.path),
            schema_version=int(one("PRAGMA user_version").fetchone()[0]),
            runs=int(one("SELECT count(*) FROM runs").fetchone()[0]),
            assets=int(one("SELECT count(*) FROM assets").fetchone()[0]),
            by_status=dict(one("SELECT status, count(*) FROM assets GROUP BY status ORDER BY status").fetchall()),
            by_kind=dict(one("SELECT kind, count(*) FROM assets GROUP BY kind ORDER BY kind").fetchall()),
            invalid=int(one("SELECT count(*) FROM assets WHERE is_valid = 0").fetchone()[0]),
            derivatives=int(one("SELECT count(*) FROM derivatives").fetchone()[0]),
            events=int(one("SELECT count(*) FROM events").fetchone()[0]),
            failures=[AssetFailure(r[0], r[1] or "", r[2]) for r in
                      one("SELECT rel_path, error, status FROM assets WHERE status IN ('failed', 'quarantined')"
                          " ORDER BY rel_path")],
            sessions=self.sessions(),
        )

    def contents(self) -> CatalogContents:
        """The whole catalog: its summary and every row of every table (the JSON export)."""
        return CatalogContents(summary=self.summary(), runs=self.runs(), assets=self.assets(),
                               derivatives=self.derivatives(), findings=self.findings(), files=self.files(),
                               events=self.events(), attempts=self.attempts())


def _errors(measurements: str | None) -> list[str]:
    """The error findings' messages an asset's measurements keep."""
    errors = json_column(measurements).get("errors", [])
    return [str(e) for e in errors]


def copy_catalog(db: Path, target: Path) -> None:
    """A consistent single-file copy of a (possibly WAL, possibly being written) catalog: a bag's or a
    package's snapshot."""
    src = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.DatabaseError as exc:
        raise CatalogError("cannot copy the catalog", path=db, detail=str(exc)) from exc
    finally:
        dst.close()
        src.close()
