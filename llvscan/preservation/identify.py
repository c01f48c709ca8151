"""Format identification: a PRONOM PUID, format name and version for a file, from siegfried (``pygfried``).

siegfried matches byte signatures from PRONOM (DROID signature file and container signatures); its
signatures are loaded once per process, on the first call. A file whose extension does not belong to the
format its bytes show is flagged (``extension_mismatch`` and a warning ``Finding``): siegfried's own
"extension mismatch" warning, and a small table of the extensions of the formats llvscan handles.

Formats without a byte signature (binary STL) are identified from the extension alone: ``extension_only``
is then true and an "info" finding says so. A file siegfried cannot match is ``puid == "UNKNOWN"``, with a
warning finding. An empty file is identified (siegfried reports what its extension suggests, often
_UNKNOWN) with a warning finding ``empty_file``; a missing file or a directory raises ``AssetReadError``.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llvscan._json import JsonResult
from llvscan._paths import inside
from llvscan._report import Finding
from llvscan.errors import AssetReadError, MissingDependencyError, UnsafePathError

__all__ = ["FormatIdentification", "ToolInfo", "identify_file", "identify_files", "tool_info"]

log = logging.getLogger(__name__)

_TOOL = "siegfried"
_UNKNOWN = "UNKNOWN"

# The extensions that belong to the PUIDs of the formats llvscan reads and writes (PRONOM's own lists,
# lower case, no dot). A PUID absent from the table is checked by siegfried's warning only.
_TIFF = frozenset({"tif", "tiff"})
_JPEG = frozenset({"jpg", "jpeg", "jpe", "jfif", "jfi", "jif"})
_EXTENSIONS: dict[str, frozenset[str]] = {
    "fmt/353": _TIFF,  # Tagged Image File Format
    "fmt/1917": _TIFF | {"btf", "tf8"},  # BigTIFF
    "fmt/41": _JPEG, "fmt/42": _JPEG, "fmt/43": _JPEG, "fmt/44": _JPEG,  # raw JPEG, JFIF 1.00/1.01/1.02
    "fmt/112": _JPEG, "fmt/645": _JPEG,  # Exif JPEG 2.1 / 2.2
    "fmt/11": frozenset({"png"}), "fmt/12": frozenset({"png"}), "fmt/13": frozenset({"png"}),
    "fmt/566": frozenset({"webp"}), "fmt/567": frozenset({"webp"}), "fmt/568": frozenset({"webp"}),
    "x-fmt/392": frozenset({"jp2"}),  # JP2 (JPEG 2000 part 1)
    "fmt/1794": frozenset({"j2k", "j2c", "jpc"}),  # JPEG 2000 codestream
    "fmt/1210": frozenset({"obj"}),  # Wavefront OBJ
    "fmt/831": frozenset({"ply"}),  # Polygon File Format
    "fmt/865": frozenset({"stl"}), "x-fmt/108": frozenset({"stl"}),  # STL binary / ASCII
    "fmt/1316": frozenset({"glb"}), "fmt/1315": frozenset({"gltf"}),  # glTF binary / text
}


@dataclass(frozen=True)
class ToolInfo(JsonResult):
    """The identifier as a PREMIS agent names it: tool, version and the signatures it used."""

    tool: str  # "siegfried"
    version: str  # siegfried's version, e.g. "1.11.9"
    signature_file: str  # e.g. "default.sig"
    signature_created: str  # when that signature file was built (ISO 8601)
    signature_version: str  # the PRONOM sources, e.g. "DROID_SignatureFile_V125.xml; container-signature-…"
    pygfried_version: str | None

    @property
    def agent_name(self) -> str:
        """One line for a PREMIS agentName / eventDetail: "siegfried 1.11.9 (default.sig; DROID…)"."""
        return f"{self.tool} {self.version} ({self.signature_file}; {self.signature_version})"


@dataclass(frozen=True)
class FormatIdentification(JsonResult):
    """What siegfried says a file is."""

    path: str  # as given, or relative to ``root`` (POSIX) when a root was given
    puid: str  # PRONOM id ("fmt/353"), or "UNKNOWN"
    format_name: str | None
    format_version: str | None
    mime: str | None
    format_class: str | None  # PRONOM's class, e.g. "Image (Raster)"
    basis: str | None  # siegfried's basis, e.g. "extension match tif; byte match at 0, 4"
    warning: str | None  # siegfried's warning, e.g. "extension mismatch", "match on extension only"
    extension_mismatch: bool
    extension_only: bool  # identified from the extension alone (no byte signature matched)
    size: int
    tool: str
    tool_version: str
    signature_version: str  # signature file, its date, and the PRONOM sources it was built from
    finding: Finding | None  # extension mismatch, unknown format, empty file (warning); extension only (info)

    @property
    def identified(self) -> bool:
        return self.puid != _UNKNOWN


def _pygfried() -> Any:
    try:
        import pygfried
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError("format identification needs siegfried: pip install pygfried",
                                     detail=str(exc)) from exc
    return pygfried


@functools.cache
def _pygfried_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pygfried")
    except PackageNotFoundError:  # pragma: no cover
        return None


def _tool_from(result: dict[str, Any]) -> ToolInfo:
    details = "; ".join(i.get("details", "") for i in result.get("identifiers", []) if i.get("details"))
    return ToolInfo(tool=_TOOL, version=str(result.get("siegfried", "")),
                    signature_file=str(result.get("signature", "")),
                    signature_created=str(result.get("created", "")), signature_version=details,
                    pygfried_version=_pygfried_version())


@functools.cache
def tool_info() -> ToolInfo:
    """siegfried's version and signature set (identifies this module's own source once to read them)."""
    return _tool_from(_pygfried().identify(os.path.abspath(__file__), detailed=True))


def _check(path: str | os.PathLike[str], root: Path | None) -> tuple[Path, str]:
    """The absolute file to read and the name to report; refuses missing files, folders and escapes."""
    given = Path(path)
    target = (root / given if root is not None and not given.is_absolute() else given)
    if root is not None:
        if not inside(target.resolve(), root):
            raise UnsafePathError("resolves outside the collection root", path=path)
        shown = target.resolve().relative_to(root).as_posix()
    else:
        shown = os.fspath(path)
    if not target.exists():
        raise AssetReadError("cannot identify the format: no such file", path=shown)
    if not target.is_file():
        raise AssetReadError("cannot identify the format: not a regular file (a directory?)", path=shown)
    return target.absolute(), shown


def _extension(name: str) -> str:
    return Path(name).suffix.lower().lstrip(".")


def _finding(shown: str, ext: str, puid: str, name: str | None, size: int, mismatch: bool, ext_only: bool,
             warning: str | None) -> Finding | None:
    what = f"{name} ({puid})" if name else puid
    dotted = f".{ext}" if ext else "no extension"
    if size == 0:
        said = "no format" if puid == _UNKNOWN else f"{what} from its extension alone"
        return Finding("warning", "empty_file", f"{shown}: the file is empty (0 bytes); siegfried reports {said}")
    if puid == _UNKNOWN:
        return Finding("warning", "unidentified_format", f"{shown}: siegfried matches no known format"
                       + (f" ({warning})" if warning else ""))
    if mismatch:
        return Finding("warning", "extension_mismatch", f"{shown}: the extension is {dotted} but the file is"
                       f" really {what}; rename it or check how it was made")
    if ext_only:
        return Finding("info", "extension_only", f"{shown}: identified as {what} from its extension {dotted}"
                       " alone (no byte signature matched)")
    return None


def _record(entry: dict[str, Any], shown: str, tool: ToolInfo) -> FormatIdentification:
    errors = str(entry.get("errors") or "")
    size = int(entry.get("filesize") or 0)
    if errors and errors != "empty source":
        raise AssetReadError("siegfried cannot read the file", path=shown, detail=errors)
    matches = [m for m in entry.get("matches", []) if m.get("ns", "pronom") == "pronom"] or entry.get("matches", [])
    match: dict[str, Any] = matches[0] if matches else {"id": _UNKNOWN}
    if len(matches) > 1:
        log.debug("%s: siegfried gives %d matches; the first is kept", shown, len(matches))
    puid = str(match.get("id") or _UNKNOWN)
    warning = str(match.get("warning") or "") or None
    basis = str(match.get("basis") or "") or None
    ext = _extension(shown)
    ext_only = puid != _UNKNOWN and (size == 0 or (warning is not None and "match on extension only" in warning))
    mismatch = puid != _UNKNOWN and size > 0 and (
        (warning is not None and "extension mismatch" in warning)
        or (puid in _EXTENSIONS and ext not in _EXTENSIONS[puid]))
    name = str(match.get("format") or "") or None
    finding = _finding(shown, ext, puid, name, size, mismatch, ext_only, warning)
    if finding is not None:
        log.info("%s", finding.message)
    return FormatIdentification(
        path=shown, puid=puid, format_name=name, format_version=str(match.get("version") or "") or None,
        mime=str(match.get("mime") or "") or None, format_class=str(match.get("class") or "") or None,
        basis=basis, warning=warning, extension_mismatch=mismatch, extension_only=ext_only, size=size,
        tool=_TOOL, tool_version=tool.version,
        signature_version=f"{tool.signature_file} ({tool.signature_created}); {tool.signature_version}",
        finding=finding)


def identify_file(path: str | os.PathLike[str], *, root: str | os.PathLike[str] | None = None) -> FormatIdentification:
    """Identify one file. With ``root``, a relative ``path`` is taken inside it, must stay inside it, and
    is reported relative to it. Raises ``AssetReadError`` for a missing file or a directory."""
    root_path = Path(root).resolve() if root is not None else None
    target, shown = _check(path, root_path)
    result = _pygfried().identify(os.fspath(target), detailed=True)
    tool = _tool_from(result)
    files = result.get("files") or []
    if not files:  # pragma: no cover - siegfried always answers one entry per file
        raise AssetReadError("siegfried returned no result", path=shown)
    return _record(files[0], shown, tool)


def identify_files(paths: Iterable[str | os.PathLike[str]], *, root: str | os.PathLike[str] | None = None,
                   workers: int = 1) -> list[FormatIdentification]:
    """Identify many files in one siegfried call (in the order given). Every path is checked first: a
    missing file or a directory raises ``AssetReadError`` before anything is identified."""
    root_path = Path(root).resolve() if root is not None else None
    checked = [_check(p, root_path) for p in paths]
    if not checked:
        return []
    result = _pygfried().identify_many([os.fspath(t) for t, _ in checked], workers=max(1, int(workers)))
    tool = _tool_from(result)
    by_name: dict[str, dict[str, Any]] = {str(f.get("filename")): f for f in result.get("files") or []}
    out = []
    for target, shown in checked:
        entry = by_name.get(os.fspath(target))
        if entry is None:  # pragma: no cover - siegfried answers every file it is given
            raise AssetReadError("siegfried returned no result", path=shown)
        out.append(_record(entry, shown, tool))
    return out
