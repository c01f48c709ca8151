"""The static report and publication site of a run (``llvscan report``): see ``llvscan.report.site``."""

from __future__ import annotations

from llvscan._lazy import lazy_exports

__all__ = ["ReportResult", "build_report", "page_name"]

__getattr__, __dir__ = lazy_exports(__name__, {"ReportResult": "site", "build_report": "site", "page_name": "site"})
