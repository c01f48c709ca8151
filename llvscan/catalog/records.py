"""What a collection run records about each asset: plain frozen dataclasses, JSON-ready.

Workers build an ``AssetRecord``; the run's driver, the catalog's single writer, stores it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

from llvscan._json import JsonResult

__all__ = ["AssetRecord", "DerivativeRecord", "EventRecord", "FileRecord", "FindingRecord", "JsonValue", "utc_now"]

#: What ``json.loads`` may give back (and ``json.dumps`` takes): measurements, details, recorded options.
JsonValue: TypeAlias = str | int | float | bool | Sequence["JsonValue"] | Mapping[str, "JsonValue"] | None


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class FileRecord(JsonResult):
    """One source file of an asset (an OBJ asset has its MTL and textures too)."""

    rel_path: str
    role: str  # main | material | texture | buffer
    bytes: int
    sha256: str
    mtime_ns: int | None = None  # a rerun trusts size + mtime as unchanged, as rsync and make do
    puid: str | None = None  # PRONOM format identifier (siegfried), "UNKNOWN" when nothing matched
    format_name: str | None = None
    format_version: str | None = None


@dataclass(frozen=True)
class DerivativeRecord(JsonResult):
    """An output: a validation report, a tile set. ``path`` is relative to the output folder."""

    role: str  # validation | inspection | lod | scene | thumbnail | iiif3 | iiif2 | dz | zoomify | ptiff | szi
    path: str
    bytes: int
    files: int
    sha256: str  # of the file; for a folder, of its sorted "path sha256" manifest
    detail: dict[str, JsonValue] = field(default_factory=dict)
    level: str = ""  # the LOD level's name
    faces: int | None = None
    texture_size: int | None = None  # longer side, pixels
    hausdorff_pct: float | None = None  # measured error against the source, % of its bounding-box diagonal
    puid: str | None = None  # PRONOM format of a single-file output (siegfried); None for folders
    format_name: str | None = None
    format_version: str | None = None


@dataclass(frozen=True)
class FindingRecord(JsonResult):
    """One finding of a validation or inspection report."""

    source: str  # validation | inspection
    level: str  # error | warning | info
    code: str
    message: str
    count: int = 0
    measure: float | None = None


@dataclass(frozen=True)
class EventRecord(JsonResult):
    """A PREMIS-like event: what was done to the asset, by which agent, with what outcome."""

    type: str  # PREMIS event types: message digest calculation, validation, creation, …
    outcome: str  # success | failure | warning | skipped
    detail: str
    time: str = field(default_factory=utc_now)


@dataclass(frozen=True)
class AssetRecord(JsonResult):
    asset_id: str
    rel_path: str
    kind: str  # mesh | image | unknown
    format: str | None
    status: str  # ok | failed | skipped | quarantined
    recipe_sha256: str
    bytes: int | None = None
    mtime: str | None = None
    sha256: str | None = None  # of the main file
    content_sha256: str | None = None  # of every source file together
    is_valid: bool | None = None
    error: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    measurements: dict[str, JsonValue] = field(default_factory=dict)
    files: list[FileRecord] = field(default_factory=list)
    derivatives: list[DerivativeRecord] = field(default_factory=list)
    events: list[EventRecord] = field(default_factory=list)
    findings: list[FindingRecord] = field(default_factory=list)
    attempts: int = 1
    crashes: int = 0  # consecutive attempts that killed their worker (crash, timeout, memory limit)
    started_at: str | None = None
    seconds: float | None = None
    worker: str | None = None  # host:pid of the process that did the work
