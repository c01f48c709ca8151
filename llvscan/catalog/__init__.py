"""The collection catalog: an embedded SQLite database of assets, checksums, derivatives, events."""

from llvscan.catalog.db import SCHEMA_VERSION, Catalog, CatalogContents, CatalogSummary, PreviousState
from llvscan.catalog.export import EXPORT_FORMATS, ExportResult, export_catalog, iiif_rights
from llvscan.catalog.presentation import PresentationResult, write_presentation
from llvscan.catalog.records import AssetRecord, DerivativeRecord, EventRecord, FileRecord, FindingRecord
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
)
from llvscan.catalog.verify import FixityProblem, VerifyReport, verify_outputs

__all__ = [
    "EXPORT_FORMATS",
    "SCHEMA_VERSION",
    "AssetFailure",
    "AssetProblem",
    "AssetRecord",
    "AssetRow",
    "AttemptRow",
    "Catalog",
    "CatalogContents",
    "CatalogSummary",
    "DerivativeRecord",
    "DerivativeRow",
    "EventRecord",
    "EventRow",
    "ExportResult",
    "FileRecord",
    "FileRow",
    "FindingRecord",
    "FindingRow",
    "FixityProblem",
    "InvalidAsset",
    "PresentationResult",
    "PreviousState",
    "RunRow",
    "VerifyReport",
    "export_catalog",
    "iiif_rights",
    "verify_outputs",
    "write_presentation",
]
