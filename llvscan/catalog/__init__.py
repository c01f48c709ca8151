"""The collection catalog: an embedded SQLite database of assets, checksums, derivatives, events."""

from llvscan.catalog.db import SCHEMA_VERSION, Catalog, CatalogSummary, PreviousState
from llvscan.catalog.records import AssetRecord, DerivativeRecord, EventRecord, FileRecord
from llvscan.catalog.verify import FixityProblem, VerifyReport, verify_outputs

__all__ = [
    "SCHEMA_VERSION",
    "AssetRecord",
    "Catalog",
    "CatalogSummary",
    "DerivativeRecord",
    "EventRecord",
    "FileRecord",
    "FixityProblem",
    "PreviousState",
    "VerifyReport",
    "verify_outputs",
]
