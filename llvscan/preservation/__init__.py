"""Preservation packages (issue 20, in progress): PRONOM format identification (siegfried through pygfried),
lossless JPEG 2000 masters validated by jpylyzer, PREMIS 3 and METS documents per asset, OCFL 1.1 storage
roots and BagIt bags with a declared profile.

Names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvscan._lazy import lazy_exports

if TYPE_CHECKING:
    from llvscan.preservation.bag import (
        PROFILE_IDENTIFIER,
        BagProblem,
        BagValidation,
        PreservationBag,
        validate_preservation_bag,
        write_preservation_bag,
    )
    from llvscan.preservation.identify import FormatIdentification, ToolInfo, identify_file, identify_files, tool_info
    from llvscan.preservation.jp2 import (
        Jp2Master,
        Jp2Validation,
        PixelComparison,
        validate_jp2,
        verify_lossless,
        write_jp2_master,
    )
    from llvscan.preservation.mets import mets_document, validate_xml
    from llvscan.preservation.ocfl import OcflExport, OcflValidation, export_ocfl, validate_ocfl
    from llvscan.preservation.premis import EVENT_TYPES, premis_document

__all__ = [
    "EVENT_TYPES",
    "PROFILE_IDENTIFIER",
    "BagProblem",
    "BagValidation",
    "FormatIdentification",
    "Jp2Master",
    "Jp2Validation",
    "OcflExport",
    "OcflValidation",
    "PixelComparison",
    "PreservationBag",
    "ToolInfo",
    "export_ocfl",
    "identify_file",
    "identify_files",
    "mets_document",
    "premis_document",
    "tool_info",
    "validate_jp2",
    "validate_ocfl",
    "validate_preservation_bag",
    "validate_xml",
    "verify_lossless",
    "write_jp2_master",
    "write_preservation_bag",
]

__getattr__, __dir__ = lazy_exports(__name__, {
    **dict.fromkeys(("PROFILE_IDENTIFIER", "BagProblem", "BagValidation", "PreservationBag",
                     "validate_preservation_bag", "write_preservation_bag"), "bag"),
    **dict.fromkeys(("FormatIdentification", "ToolInfo", "identify_file", "identify_files", "tool_info"), "identify"),
    **dict.fromkeys(("Jp2Master", "Jp2Validation", "PixelComparison", "validate_jp2", "verify_lossless",
                     "write_jp2_master"), "jp2"),
    **dict.fromkeys(("mets_document", "validate_xml"), "mets"),
    **dict.fromkeys(("OcflExport", "OcflValidation", "export_ocfl", "validate_ocfl"), "ocfl"),
    **dict.fromkeys(("EVENT_TYPES", "premis_document"), "premis"),
})
