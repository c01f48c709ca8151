"""What the bag and the OCFL export share: which assets to package, and each asset's PREMIS and METS."""

from __future__ import annotations

from collections.abc import Iterable

from llvscan import __version__
from llvscan.catalog.rows import AssetRow, DerivativeRow, EventRow, FileRow
from llvscan.errors import InvalidParameterError

__all__ = ["asset_documents", "chosen_assets"]


def chosen_assets(rows: list[AssetRow], wanted: Iterable[str] | str | None) -> list[AssetRow]:
    """The rows named in ``wanted`` (asset ids or collection paths; None: all), in catalog order; a name the
    catalog does not hold is refused."""
    if wanted is None:
        return rows
    keys = list(dict.fromkeys([wanted] if isinstance(wanted, str) else wanted))
    by_key = {a.id: a for a in rows} | {a.rel_path: a for a in rows}
    unknown = [k for k in keys if k not in by_key]
    if unknown:
        raise InvalidParameterError(f"no such asset in the catalog: {', '.join(map(repr, unknown[:5]))}"
                                    + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""))
    picked = {by_key[k].id for k in keys}
    return [a for a in rows if a.id in picked]


def asset_documents(asset: AssetRow, files: list[FileRow], derivatives: list[DerivativeRow], events: list[EventRow],
                    *, source_prefix: str, derivative_prefix: str) -> tuple[bytes, bytes]:
    """The asset's PREMIS 3 document (formats as the run identified them) and its METS document, whose file
    locations start with the prefixes (where the package puts sources and outputs, relative to the METS)."""
    from llvscan.preservation.mets import mets_document
    from llvscan.preservation.premis import catalog_formats, premis_document

    premis = premis_document(asset, files, derivatives, events, agent_version=__version__,
                             formats=catalog_formats(files, derivatives))
    mets = mets_document(asset, files, derivatives, premis=premis, agent_version=__version__,
                         source_prefix=source_prefix, derivative_prefix=derivative_prefix)
    return premis, mets
