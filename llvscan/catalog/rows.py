"""What reading the catalog gives: one frozen dataclass per table row, and the short lists built on them.

A row keeps its table's column names and order. The columns that hold JSON (an asset's measurements,
a derivative's detail, a run's options, recipe and libraries) come back decoded; the rest as SQLite
stores them (``is_valid`` is 1, 0 or None).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any, TypeVar

from llvscan._json import JsonResult
from llvscan.catalog.records import JsonValue

__all__ = [
    "AssetFailure",
    "AssetProblem",
    "AssetRow",
    "AttemptRow",
    "DerivativeRow",
    "EventRow",
    "FileRow",
    "FindingRow",
    "InvalidAsset",
    "RunRow",
    "SessionRow",
    "from_rows",
    "json_column",
]

_T = TypeVar("_T")


@dataclass(frozen=True)
class RunRow(JsonResult):
    """A run: when, where, with which llvscan, options, recipe and libraries, and how it ended."""

    id: int
    started_at: str
    finished_at: str | None
    collection: str
    out_dir: str
    llvscan_version: str
    python_version: str
    host: str
    options: dict[str, JsonValue]
    status: str  # running | completed | interrupted
    assets_ok: int
    assets_failed: int
    assets_skipped: int
    recipe: dict[str, JsonValue]
    libraries: dict[str, str | None]
    assets_quarantined: int


@dataclass(frozen=True)
class AssetRow(JsonResult):
    """An asset as last recorded: its checksums, verdict, sidecar metadata and measurements."""

    id: str
    rel_path: str
    kind: str
    format: str | None
    bytes: int | None
    mtime: str | None
    sha256: str | None
    content_sha256: str | None
    recipe_sha256: str
    status: str  # ok | failed | skipped | quarantined | missing
    is_valid: int | None  # 1 valid, 0 invalid, None not checked
    error: str | None
    object_number: str | None
    title: str | None
    creator: str | None
    date: str | None
    rights: str | None
    measurements: dict[str, JsonValue]
    attempts: int
    first_run_id: int | None
    last_run_id: int | None
    updated_at: str
    crashes: int
    session: str | None = None  # the capture session it belongs to (schema 3)
    target: str | None = None  # for a capture target: what it shows (auto, colorchecker-sg, …)


@dataclass(frozen=True)
class FileRow(JsonResult):
    """One source file of an asset."""

    asset_id: str
    rel_path: str
    role: str
    bytes: int
    sha256: str
    mtime_ns: int | None
    puid: str | None = None  # schema 4: PRONOM identification
    format_name: str | None = None
    format_version: str | None = None


@dataclass(frozen=True)
class DerivativeRow(JsonResult):
    """An output of an asset; ``path`` is relative to the output folder."""

    asset_id: str
    role: str
    level: str
    path: str
    bytes: int
    files: int
    sha256: str
    faces: int | None
    texture_size: int | None
    hausdorff_pct: float | None
    detail: dict[str, JsonValue]
    created_run_id: int | None
    puid: str | None = None  # schema 4: PRONOM identification of a single-file output
    format_name: str | None = None
    format_version: str | None = None


@dataclass(frozen=True)
class EventRow(JsonResult):
    """A PREMIS-like event."""

    id: int
    run_id: int
    asset_id: str
    type: str
    time: str
    agent: str
    outcome: str
    detail: str


@dataclass(frozen=True)
class FindingRow(JsonResult):
    """A finding of an asset's validation or inspection report."""

    id: int
    asset_id: str
    run_id: int
    source: str
    level: str
    code: str
    message: str
    count: int
    measure: float | None


@dataclass(frozen=True)
class AttemptRow(JsonResult):
    """One attempt at an asset: its outcome (ok, failed, unchanged, crashed, timeout, memory) and worker."""

    id: int
    run_id: int
    asset_id: str
    number: int
    outcome: str
    started_at: str | None
    seconds: float | None
    worker: str | None
    detail: str


@dataclass(frozen=True)
class AssetFailure(JsonResult):
    """An asset that failed or was quarantined, and why."""

    path: str
    error: str
    status: str  # failed | quarantined


@dataclass(frozen=True)
class InvalidAsset(JsonResult):
    """An asset that was processed and found invalid, with its error findings."""

    path: str
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SessionRow(JsonResult):
    """A capture session: its targets' grades, and the images that carry them. ``passed`` is True when every
    target reached the required level, False when one did not or could not be graded, None when the session
    has no target at all."""

    session: str
    standard: str | None
    level: str | None  # the worst level its targets reached (None: below every level, or not graded)
    required_level: str | None
    passed: bool | None
    targets: list[str]  # their paths
    images: int  # the artwork images of the session
    problems: list[str] = field(default_factory=list)  # why it fails, one line per target


@dataclass(frozen=True)
class AssetProblem(JsonResult):
    """An asset that failed, was quarantined or was found invalid, with its error(s)."""

    path: str
    kind: str
    status: str  # failed | quarantined | invalid
    errors: list[str] = field(default_factory=list)


#: The columns that hold JSON text, per row type.
_JSON_COLUMNS: dict[type, tuple[str, ...]] = {
    RunRow: ("options", "recipe", "libraries"),
    AssetRow: ("measurements",),
    DerivativeRow: ("detail",),
}


def json_column(text: str | None) -> Any:
    """A JSON column's value, decoded: ``{}`` when empty."""
    return json.loads(text) if text else {}


def from_rows(cls: type[_T], rows: list[sqlite3.Row]) -> list[_T]:
    """Rows of a ``SELECT *`` as ``cls`` (a row class), their JSON columns decoded."""
    columns = _JSON_COLUMNS.get(cls, ())
    typed = []
    for row in rows:
        data = dict(row)
        for name in columns:
            data[name] = json_column(data[name])
        typed.append(cls(**data))
    return typed
