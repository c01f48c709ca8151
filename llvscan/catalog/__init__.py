"""The collection catalog: an embedded SQLite database of assets, checksums, derivatives, events."""

from llvscan.catalog.db import SCHEMA_VERSION, Catalog, CatalogSummary, PreviousState
from llvscan.catalog.export import EXPORT_FORMATS, ExportResult, export_catalog, iiif_rights
from llvscan.catalog.records import AssetRecord, DerivativeRecord, EventRecord, FileRecord, FindingRecord
from llvscan.catalog.verify import FixityProblem, VerifyReport, verify_outputs

__all__ = [
    "EXPORT_FORMATS",
    "SCHEMA_VERSION",
    "AssetRecord",
    "Catalog",
    "CatalogSummary",
    "DerivativeRecord",
    "EventRecord",
    "ExportResult",
    "FileRecord",
    "FindingRecord",
    "FixityProblem",
    "PreviousState",
    "VerifyReport",
    "export_catalog",
    "iiif_rights",
    "verify_outputs",
]
