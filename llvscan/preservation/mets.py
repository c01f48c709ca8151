"""A METS document per asset, and the schema validation both METS and PREMIS documents go through.

``mets_document`` writes METS 1.12 with xml.etree rather than through metsrw: metsrw gives every section
and file a random UUID id (a rerun would rewrite every document, and an OCFL export would add a version
for nothing), builds its file tree from an Archivematica-shaped model and needs lxml; llvscan's rows map
straight onto five METS sections, which ElementTree writes deterministically and escapes for us.

- ``dmdSec``: the sidecar's metadata as simple Dublin Core (dc:title, dc:creator, dc:date, dc:identifier for
  the object number, dc:rights) — absent when the sidecar gave nothing;
- ``amdSec``: the PREMIS document split as METS expects: each object in a techMD, the rights statement in a
  rightsMD, each event and agent in a digiprovMD; each file points at its own with ADMID;
- ``fileSec``: a fileGrp ``sources`` and a fileGrp ``derivatives``; each file with SHA-256 CHECKSUM, SIZE,
  MIMETYPE when known and an FLocat with a relative, percent-encoded URL (``LOCTYPE="URL"``);
- ``structMap``: the asset, its sources and its derivatives.

``validate_xml`` checks a document against a local XSD; xmlschema (pure Python) is then needed.
"""

from __future__ import annotations

import functools
import io
import os
import posixpath
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llvscan.catalog.rows import AssetRow, DerivativeRow, FileRow
from llvscan.errors import AssetReadError, InvalidParameterError, MissingDependencyError
from llvscan.preservation.premis import (
    KNOWN_FORMATS,
    PREMIS_NAMESPACE,
    XSI_NAMESPACE,
    identifier_type,
    xml_safe,
)

__all__ = [
    "DC_NAMESPACE",
    "METS_NAMESPACE",
    "METS_SCHEMA_URL",
    "XLINK_NAMESPACE",
    "mets_document",
    "validate_xml",
]

METS_NAMESPACE = "http://www.loc.gov/METS/"
METS_SCHEMA_URL = "http://www.loc.gov/standards/mets/mets.xsd"
XLINK_NAMESPACE = "http://www.w3.org/1999/xlink"
DC_NAMESPACE = "http://purl.org/dc/elements/1.1/"
_XML_NAMESPACE = "http://www.w3.org/XML/1998/namespace"


def _m(tag: str) -> str:
    return f"{{{METS_NAMESPACE}}}{tag}"


def _sub(parent: ET.Element, tag: str, attrib: dict[str, object] | None = None, text: object = None) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: xml_safe(v) for k, v in (attrib or {}).items() if v is not None})
    if text is not None:
        element.text = xml_safe(text)
    return element


def _href(prefix: str, path: str, *, folder: bool = False) -> str:
    """A relative URL for ``prefix + path``; refuses absolute paths and ``..`` (a package must not point out)."""
    full = prefix + path
    parts = full.replace("\\", "/").split("/")
    if full.startswith(("/", "\\")) or (len(full) > 1 and full[1] == ":") or ".." in parts or "://" in full:
        raise InvalidParameterError(f"{full!r} is not a relative path inside the package", path=path)
    return urllib.parse.quote(xml_safe(full).rstrip("/") + ("/" if folder else ""), safe="/")


def _premis_sections(premis: bytes) -> tuple[list[ET.Element], list[ET.Element], list[ET.Element], list[ET.Element]]:
    """The PREMIS document's objects, rights, events and agents, as elements to wrap."""
    try:
        root = ET.fromstring(premis)
    except ET.ParseError as exc:
        raise InvalidParameterError("the PREMIS document is not well-formed XML", detail=str(exc)) from exc
    if root.tag != f"{{{PREMIS_NAMESPACE}}}premis":
        raise InvalidParameterError(f"the PREMIS document's root is {root.tag}, not premis:premis (PREMIS 3)")
    pick = {name: root.findall(f"{{{PREMIS_NAMESPACE}}}{name}") for name in ("object", "rights", "event", "agent")}
    return pick["object"], pick["rights"], pick["event"], pick["agent"]


def _identifier(obj: ET.Element) -> tuple[str, str]:
    ns = f"{{{PREMIS_NAMESPACE}}}"
    first = obj.find(f"{ns}objectIdentifier")
    if first is None:
        return ("", "")
    return (first.findtext(f"{ns}objectIdentifierType") or "", first.findtext(f"{ns}objectIdentifierValue") or "")


def _wrap(parent: ET.Element, section: str, section_id: str, mdtype: str, element: ET.Element) -> None:
    holder = _sub(parent, _m(section), {"ID": section_id})
    wrap = _sub(holder, _m("mdWrap"), {"MDTYPE": "PREMIS:" + mdtype, "MDTYPEVERSION": "3.0"})
    element.set("version", "3.0")
    _sub(wrap, _m("xmlData")).append(element)


def mets_document(asset: AssetRow, files: Sequence[FileRow], derivatives: Sequence[DerivativeRow], *,
                  premis: bytes | None = None, agent_version: str | None = None, source_prefix: str = "",
                  derivative_prefix: str = "") -> bytes:
    """The METS document (UTF-8 XML bytes) of one asset.

    ``premis`` (from ``premis_document``) fills the amdSec; without it there is none. FLocat URLs are
    ``source_prefix + rel_path`` and ``derivative_prefix + path``, relative to the document's package (a bag's
    ``data/`` say); a multi-file derivative (a tile set) is listed as its folder, with SIZE but no CHECKSUM
    (its row holds the digest of the folder's manifest, which is in the PREMIS). ``agent_version`` adds a
    metsHdr naming llvscan as the creator. Deterministic: no clock, no random id.
    """
    for prefix in (source_prefix, derivative_prefix):
        if prefix:
            _href(prefix, "x")
    ET.register_namespace("mets", METS_NAMESPACE)
    ET.register_namespace("xlink", XLINK_NAMESPACE)
    ET.register_namespace("dc", DC_NAMESPACE)
    ET.register_namespace("premis", PREMIS_NAMESPACE)
    ET.register_namespace("xsi", XSI_NAMESPACE)
    root = ET.Element(_m("mets"), {"OBJID": xml_safe(asset.id), f"{{{XSI_NAMESPACE}}}schemaLocation":
                                   f"{METS_NAMESPACE} {METS_SCHEMA_URL}"})
    if asset.title:
        root.set("LABEL", xml_safe(asset.title))
    if agent_version:
        header = _sub(root, _m("metsHdr"))
        agent = _sub(header, _m("agent"), {"ROLE": "CREATOR", "TYPE": "OTHER", "OTHERTYPE": "SOFTWARE"})
        _sub(agent, _m("name"), text=f"llvscan {agent_version}")

    dc_fields = [("title", asset.title), ("creator", asset.creator), ("date", asset.date),
                 ("identifier", asset.object_number), ("rights", asset.rights)]
    dc_fields = [(name, value) for name, value in dc_fields if value]
    if dc_fields:
        dmd = _sub(root, _m("dmdSec"), {"ID": "dmd-1"})
        wrap = _sub(dmd, _m("mdWrap"), {"MDTYPE": "DC", "LABEL": "sidecar metadata"})
        data = _sub(wrap, _m("xmlData"))
        for name, value in dc_fields:
            _sub(data, f"{{{DC_NAMESPACE}}}{name}", text=value)

    tech: dict[tuple[str, str], str] = {}
    rights_ids: list[str] = []
    provenance: list[str] = []
    if premis is not None:
        objects, rights, events, agents = _premis_sections(premis)
        amd = _sub(root, _m("amdSec"), {"ID": "amd-1"})
        for n, obj in enumerate(objects, 1):
            tech[_identifier(obj)] = f"techmd-{n}"
            _wrap(amd, "techMD", f"techmd-{n}", "OBJECT", obj)
        for n, statement in enumerate(rights, 1):
            rights_ids.append(f"rightsmd-{n}")
            _wrap(amd, "rightsMD", f"rightsmd-{n}", "RIGHTS", statement)
        for n, element in enumerate([*events, *agents], 1):
            provenance.append(f"digiprovmd-{n}")
            _wrap(amd, "digiprovMD", f"digiprovmd-{n}", "EVENT" if element in events else "AGENT", element)

    def admid(kind: str, key: str) -> str | None:
        ids = [i for i in [tech.get((identifier_type(kind), key))] if i] + rights_ids
        return " ".join(ids) or None

    Entry = tuple[str, dict[str, object], str]  # (file id, attributes, href)
    groups: list[tuple[str, list[Entry]]] = []
    entries: list[Entry] = []
    for n, f in enumerate(files, 1):
        known = KNOWN_FORMATS.get(posixpath.splitext(f.rel_path)[1].lower())
        entries.append((f"file-source-{n}", {
            "ID": f"file-source-{n}", "USE": f.role, "MIMETYPE": known.mime if known else None, "SIZE": int(f.bytes),
            "CHECKSUM": f.sha256, "CHECKSUMTYPE": "SHA-256", "ADMID": admid("source", f.rel_path)},
            _href(source_prefix, f.rel_path)))
    groups.append(("sources", entries))
    entries = []
    for n, d in enumerate(derivatives, 1):
        multi = d.files != 1
        mime = d.detail.get("mime_type") if isinstance(d.detail, dict) else None
        known = KNOWN_FORMATS.get(posixpath.splitext(d.path)[1].lower())
        attrib: dict[str, object] = {"ID": f"file-derivative-{n}", "USE": d.role}
        if not multi:
            attrib["MIMETYPE"] = mime if isinstance(mime, str) and mime else (known.mime if known else None)
        attrib["SIZE"] = int(d.bytes)
        if not multi:
            attrib |= {"CHECKSUM": d.sha256, "CHECKSUMTYPE": "SHA-256"}
        attrib["ADMID"] = admid("derivative", d.path)
        entries.append((f"file-derivative-{n}", attrib, _href(derivative_prefix, d.path, folder=multi)))
    groups.append(("derivatives", entries))

    if any(listed for _, listed in groups):
        file_sec = _sub(root, _m("fileSec"))
        for use, listed in groups:
            if listed:
                group = _sub(file_sec, _m("fileGrp"), {"ID": f"grp-{use}", "USE": use})
                for _, attrib, href in listed:
                    element = _sub(group, _m("file"), attrib)
                    _sub(element, _m("FLocat"), {"LOCTYPE": "URL", f"{{{XLINK_NAMESPACE}}}href": href})

    struct = _sub(root, _m("structMap"), {"ID": "structmap-1", "TYPE": "physical"})
    entity_ids = [i for i in [tech.get((identifier_type("asset"), asset.id))] if i] + rights_ids + provenance
    top = _sub(struct, _m("div"), {"ID": "div-asset", "TYPE": "asset", "LABEL": asset.title or asset.rel_path,
                                   "DMDID": "dmd-1" if dc_fields else None,
                                   "ADMID": " ".join(entity_ids) or None})
    for use, listed in groups:
        if listed:
            div = _sub(top, _m("div"), {"ID": f"div-{use}", "TYPE": use, "LABEL": use})
            for file_id, _, _ in listed:
                _sub(div, _m("fptr"), {"FILEID": file_id})
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


# -- validation ----------------------------------------------------------------------------------------------
def _target_namespace(path: Path) -> str | None:
    try:
        for _, element in ET.iterparse(path, events=("start",)):
            return element.get("targetNamespace")
    except (OSError, ET.ParseError):
        return None
    return None


@functools.lru_cache(maxsize=8)
def _compiled(path: str, _mtime_ns: int) -> Any:
    import xmlschema

    folder = Path(path).parent

    def local(uri: str) -> str:
        """A remote schema location → the file of the same name beside the schema, when there is one."""
        if uri.startswith(("http://", "https://")):
            candidate = folder / posixpath.basename(urllib.parse.urlsplit(uri).path)
            if candidate.is_file():
                return str(candidate)
        return uri

    own = _target_namespace(Path(path))
    # schemas beside it for other namespaces: content that METS holds laxly (PREMIS, DC) is validated too
    extra = [(ns, str(p)) for p in sorted(folder.glob("*.xsd")) if str(p) != path
             and (ns := _target_namespace(p)) and ns not in (own, _XML_NAMESPACE, XLINK_NAMESPACE)]
    try:
        return xmlschema.XMLSchema10(path, locations=extra, uri_mapper=local, allow="sandbox", defuse="always")
    except (xmlschema.XMLSchemaException, OSError) as exc:
        raise AssetReadError("the schema cannot be loaded", path=path, detail=str(exc)) from exc


def validate_xml(document: bytes, schema: str | os.PathLike[str]) -> list[str]:
    """The problems of ``document`` against the XSD at ``schema`` (a local file): [] when it is valid.

    Schemas it imports by URL, and schemas for other namespaces, are read from the .xsd files beside it
    (never from the network): with mets.xsd, premis-v3-0.xsd and simpledc20021212.xsd in one folder, a METS
    document's embedded PREMIS and Dublin Core are validated too. Needs xmlschema.
    """
    try:
        import xmlschema
    except ImportError as exc:
        raise MissingDependencyError("validating XML needs xmlschema: pip install xmlschema",
                                     detail=str(exc)) from exc
    path = Path(schema).resolve()
    if not path.is_file():
        raise AssetReadError("no such schema file", path=path)
    compiled = _compiled(str(path), path.stat().st_mtime_ns)
    try:
        ET.fromstring(document)
    except ET.ParseError as exc:
        return [f"not well-formed XML: {exc}"]
    try:
        # the document's own schemaLocation hints are ignored, and it may load nothing
        resource = xmlschema.XMLResource(io.BytesIO(document), allow="none", defuse="always")
        return [f"{error.path or '/'}: {error.reason or error.message}"
                for error in compiled.iter_errors(resource, use_location_hints=False)]
    except xmlschema.XMLResourceError as exc:  # a DTD or entity the defused parser refuses
        return [f"refused: {exc}"]
