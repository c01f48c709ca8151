"""A PREMIS 3 document per asset, from the catalog's rows: what an archive's ingest reads about its files.

``premis_document`` describes one asset as PREMIS 3 (namespace ``http://www.loc.gov/premis/v3``):

- an *intellectual entity* for the asset (identified by llvscan's asset id and the sidecar's object number);
- a *file* object per source file and per single-file derivative, with SHA-256 fixity, size, format
  (PRONOM PUID when ``formats`` gives one, else a name from the file extension, flagged as not identified),
  original name and relationships: derivation (a derivative *has source* each source file, a source *is
  source of* each derivative) and structure (the entity *includes* every object);
- a *representation* object per multi-file derivative (a tile set: its row holds the digest of the folder's
  manifest, not of a file, so it gets no file fixity but the manifest digest as a significant property);
- the events, typed from the Library of Congress vocabulary (``EVENT_TYPES``), linked to their objects and
  agents; the llvscan agents (software, name and version); the sidecar's rights as a rights statement.

The document is a function of the rows alone (no clock, no random id), so a rerun that changes nothing
writes the same bytes: an OCFL export adds no version for it. Every string from the collection goes through
``xml_safe`` and ElementTree: no string formatting builds XML.
"""

from __future__ import annotations

import logging
import posixpath
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from llvscan.catalog.rows import AssetRow, DerivativeRow, EventRow, FileRow

__all__ = [
    "EVENT_TYPES",
    "EVENT_TYPE_VOCABULARY",
    "KNOWN_FORMATS",
    "PREMIS_NAMESPACE",
    "PREMIS_SCHEMA_URL",
    "XSI_NAMESPACE",
    "FileFormat",
    "LocTerm",
    "catalog_formats",
    "identifier_type",
    "premis_document",
    "xml_safe",
]

log = logging.getLogger(__name__)

PREMIS_NAMESPACE = "http://www.loc.gov/premis/v3"
PREMIS_SCHEMA_URL = "http://www.loc.gov/standards/premis/v3/premis-v3-0.xsd"
XSI_NAMESPACE = "http://www.w3.org/2001/XMLSchema-instance"
EVENT_TYPE_VOCABULARY = "http://id.loc.gov/vocabulary/preservation/eventType"


class LocTerm(NamedTuple):
    """A term of the Library of Congress PREMIS event type vocabulary: its label and code."""

    label: str
    code: str

    @property
    def uri(self) -> str:
        return f"{EVENT_TYPE_VOCABULARY}/{self.code}"


#: llvscan's event types → the Library of Congress term each is written as. Five are LoC labels already;
#: "processing" (llvscan records it when making an asset's derivatives fails) has no LoC term of its own and
#: becomes "creation", the event that failed; the document keeps llvscan's word in the event detail.
EVENT_TYPES: dict[str, LocTerm] = {
    "message digest calculation": LocTerm("message digest calculation", "mes"),
    "validation": LocTerm("validation", "val"),
    "creation": LocTerm("creation", "cre"),
    "fixity check": LocTerm("fixity check", "fix"),
    "ingestion": LocTerm("ingestion", "ing"),
    "processing": LocTerm("creation", "cre"),
    "format identification": LocTerm("format identification", "for"),
    "metadata extraction": LocTerm("metadata extraction", "mee"),
    "migration": LocTerm("migration", "mig"),  # the JP2 master; code not yet checked against id.loc.gov
}


class FileFormat(NamedTuple):
    """What a file extension says of a format: a name for PREMIS, a MIME type for METS (None: no IANA type)."""

    name: str
    mime: str | None


#: Formats llvscan reads or writes, by lower-case extension; used when no identification is given.
KNOWN_FORMATS: dict[str, FileFormat] = {
    ".tif": FileFormat("Tagged Image File Format", "image/tiff"),
    ".tiff": FileFormat("Tagged Image File Format", "image/tiff"),
    ".jpg": FileFormat("JPEG File Interchange Format", "image/jpeg"),
    ".jpeg": FileFormat("JPEG File Interchange Format", "image/jpeg"),
    ".png": FileFormat("Portable Network Graphics", "image/png"),
    ".webp": FileFormat("WebP", "image/webp"),
    ".jp2": FileFormat("JPEG 2000 JP2", "image/jp2"),
    ".obj": FileFormat("Wavefront OBJ", "model/obj"),
    ".mtl": FileFormat("Wavefront Material Template Library", "model/mtl"),
    ".ply": FileFormat("Polygon File Format", None),
    ".stl": FileFormat("Stereolithography", "model/stl"),
    ".glb": FileFormat("glTF Binary", "model/gltf-binary"),
    ".gltf": FileFormat("glTF", "model/gltf+json"),
    ".usdz": FileFormat("Universal Scene Description Zip", "model/vnd.usdz+zip"),
    ".ktx2": FileFormat("KTX 2.0", "image/ktx2"),
    ".json": FileFormat("JSON", "application/json"),
    ".html": FileFormat("HTML", "text/html"),
    ".csv": FileFormat("Comma Separated Values", "text/csv"),
    ".xml": FileFormat("XML", "application/xml"),
    ".sqlite": FileFormat("SQLite Database", "application/vnd.sqlite3"),
}

# the identifier types of the objects, events, agents and rights statements llvscan writes
_ASSET = "llvscan asset"
_OBJECT_NUMBER = "object number"
_SOURCE = "llvscan source file"
_DERIVATIVE = "llvscan derivative"
_EVENT = "llvscan event"
_AGENT = "llvscan agent"
_RIGHTS = "llvscan rights statement"


def identifier_type(kind: str) -> str:
    """The objectIdentifierType llvscan gives an object of ``kind`` (asset, source or derivative); METS uses it
    to find each file's PREMIS object."""
    return {"asset": _ASSET, "source": _SOURCE, "derivative": _DERIVATIVE}[kind]


#: What XML 1.0 cannot hold: C0 controls other than tab, LF and CR; lone surrogates; U+FFFE and U+FFFF.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: object) -> str:
    """``text`` as a string XML 1.0 can carry: each character XML forbids (NUL, other C0 controls, lone
    surrogates, U+FFFE/U+FFFF) becomes U+FFFD, the replacement character, so a reader sees that something was
    there. Markup characters need nothing here: ElementTree escapes them."""
    return _NOT_XML.sub("\ufffd", str(text))


def _q(tag: str) -> str:
    return f"{{{PREMIS_NAMESPACE}}}{tag}"


def _register() -> None:
    # the xsi:type values ("premis:file") name the prefix, so serialisation must use exactly this one
    ET.register_namespace("premis", PREMIS_NAMESPACE)
    ET.register_namespace("xsi", XSI_NAMESPACE)


def _sub(parent: ET.Element, tag: str, text: object = None, attrib: Mapping[str, str] | None = None) -> ET.Element:
    element = ET.SubElement(parent, _q(tag), {k: xml_safe(v) for k, v in (attrib or {}).items()})
    if text is not None:
        element.text = xml_safe(text)
    return element


def _pair(parent: ET.Element, tag: str, prefix: str, type_: str, value: str,
          extra: Sequence[tuple[str, str]] = ()) -> ET.Element:
    """``<tag><prefixType>…</prefixType><prefixValue>…</prefixValue>[extra]</tag>``: PREMIS's identifier shape."""
    element = _sub(parent, tag)
    _sub(element, f"{prefix}Type", type_)
    _sub(element, f"{prefix}Value", value)
    for name, text in extra:
        _sub(element, name, text)
    return element


_Ident = tuple[str, str]


def _format(parent: ET.Element, path: str, formats: Mapping[str, tuple[str | None, str | None, str | None]] | None,
            detail_mime: str | None = None) -> None:
    element = _sub(parent, "format")
    puid, name, version = (formats or {}).get(path) or (None, None, None)
    if puid and puid.upper() == "UNKNOWN":  # siegfried's answer when nothing matched
        puid = None
    if puid or name:
        if name:
            designation = _sub(element, "formatDesignation")
            _sub(designation, "formatName", name)
            if version:
                _sub(designation, "formatVersion", version)
        if puid:
            registry = _sub(element, "formatRegistry")
            _sub(registry, "formatRegistryName", "PRONOM")
            _sub(registry, "formatRegistryKey", puid)
            _sub(registry, "formatRegistryRole", "specification")
        return
    known = KNOWN_FORMATS.get(posixpath.splitext(path)[1].lower())
    designation = _sub(element, "formatDesignation")
    _sub(designation, "formatName", known.name if known else (detail_mime or "unknown"))
    _sub(element, "formatNote", "named from the file extension; the format was not identified")


def _characteristics(parent: ET.Element, sha256: str, size: int, path: str,
                     formats: Mapping[str, tuple[str | None, str | None, str | None]] | None,
                     mime: str | None = None) -> None:
    chars = _sub(parent, "objectCharacteristics")
    _sub(chars, "compositionLevel", "0")
    fixity = _sub(chars, "fixity")
    _sub(fixity, "messageDigestAlgorithm", "SHA-256",
         {"authority": "cryptographicHashFunctions",
          "authorityURI": "http://id.loc.gov/vocabulary/preservation/cryptographicHashFunctions"})
    _sub(fixity, "messageDigest", sha256)
    _sub(fixity, "messageDigestOriginator", "llvscan")
    _sub(chars, "size", str(int(size)))
    _format(chars, path, formats, mime)


def _relationship(parent: ET.Element, kind: str, subtype: str, related: Sequence[_Ident]) -> None:
    if not related:
        return
    element = _sub(parent, "relationship")
    _sub(element, "relationshipType", kind)
    _sub(element, "relationshipSubType", subtype)
    for type_, value in related:
        _pair(element, "relatedObjectIdentifier", "relatedObjectIdentifier", type_, value)


def _links(parent: ET.Element, events: Sequence[_Ident], rights: _Ident | None) -> None:
    for type_, value in events:
        _pair(parent, "linkingEventIdentifier", "linkingEventIdentifier", type_, value)
    if rights:
        _pair(parent, "linkingRightsStatementIdentifier", "linkingRightsStatementIdentifier", *rights)


def _event_objects(event: EventRow, entity: _Ident, sources: list[_Ident],
                   derivatives: list[tuple[_Ident, DerivativeRow]]) -> list[tuple[_Ident, str]]:
    """The objects an event concerns, each with its role (LoC eventRelatedObjectRole: source, outcome)."""
    kind = event.type
    if kind in ("message digest calculation", "fixity check", "validation", "metadata extraction") and sources:
        return [(s, "source") for s in sources]
    if kind == "format identification":
        return [(s, "source") for s in sources] + [(d, "source") for d, _ in derivatives] or [(entity, "source")]
    if kind == "creation":
        made = [d for d, row in derivatives if row.created_run_id == event.run_id] or [d for d, _ in derivatives]
        linked = [(s, "source") for s in sources] + [(d, "outcome") for d in made]
        return linked or [(entity, "source")]
    return [(entity, "source")]


def _agent_parts(agent: str) -> tuple[str, str | None]:
    name, _, version = agent.partition(" ")
    return (name, version) if name == "llvscan" and version else (agent, None)


def _rights(root: ET.Element, value: str, rights: _Ident, entity: _Ident, jurisdiction: str | None) -> None:
    """The sidecar's rights: a Creative Commons licence URI → a *license* basis; a RightsStatements.org URI or
    the Public Domain Mark → a *copyright* basis (status copyrighted, public domain or unknown); anything else
    (free text, another URI) → an *other* basis that keeps the text."""
    uri = value.strip()
    lower = re.sub(r"^https?://(www\.)?", "", uri.lower())
    element = _sub(_sub(root, "rights"), "rightsStatement")
    _pair(element, "rightsStatementIdentifier", "rightsStatementIdentifier", *rights)
    if lower.startswith("creativecommons.org/") and not lower.startswith("creativecommons.org/publicdomain/mark/"):
        _sub(element, "rightsBasis", "license")
        licence = _sub(element, "licenseInformation")
        _pair(licence, "licenseDocumentationIdentifier", "licenseDocumentationIdentifier", "URI", uri,
              [("licenseDocumentationRole", "license")])
        _sub(licence, "licenseNote", "the rights given in the collection's sidecar")
    elif lower.startswith("rightsstatements.org/") or lower.startswith("creativecommons.org/publicdomain/mark/"):
        code = lower.split("/vocab/", 1)[1].split("/", 1)[0].lower() if "/vocab/" in lower else "pdm"
        status = ("copyrighted" if code.startswith("inc") else
                  "public domain" if code.startswith("noc") or code == "pdm" else "unknown")
        where = jurisdiction or ("us" if code == "noc-us" else "unknown")
        _sub(element, "rightsBasis", "copyright")
        copyright_ = _sub(element, "copyrightInformation")
        _sub(copyright_, "copyrightStatus", status)
        _sub(copyright_, "copyrightJurisdiction", where)
        if where == "unknown":
            _sub(copyright_, "copyrightNote", "jurisdiction not recorded by llvscan")
        _pair(copyright_, "copyrightDocumentationIdentifier", "copyrightDocumentationIdentifier", "URI", uri,
              [("copyrightDocumentationRole", "rights statement")])
    else:
        _sub(element, "rightsBasis", "other")
        other = _sub(element, "otherRightsInformation")
        if re.match(r"^[a-z][a-z0-9+.-]*://\S+$", uri, re.I):
            _pair(other, "otherRightsDocumentationIdentifier", "otherRightsDocumentationIdentifier", "URI", uri)
        _sub(other, "otherRightsBasis", "sidecar rights")
        _sub(other, "otherRightsNote", value)
    _pair(element, "linkingObjectIdentifier", "linkingObjectIdentifier", *entity)


def catalog_formats(files: Sequence[FileRow], derivatives: Sequence[DerivativeRow]
                    ) -> dict[str, tuple[str | None, str | None, str | None]]:
    """``premis_document``'s ``formats`` from the catalog: the PRONOM identification a run stored for each
    source file and each single-file output (schema 4)."""
    found: dict[str, tuple[str | None, str | None, str | None]] = {}
    for f in files:
        if f.puid:
            found[f.rel_path] = (f.puid, f.format_name, f.format_version)
    for d in derivatives:
        if d.puid:
            found[d.path] = (d.puid, d.format_name, d.format_version)
    return found


def premis_document(asset: AssetRow, files: Sequence[FileRow], derivatives: Sequence[DerivativeRow],
                    events: Sequence[EventRow], *, agent_version: str,
                    formats: Mapping[str, tuple[str | None, str | None, str | None]] | None = None,
                    jurisdiction: str | None = None) -> bytes:
    """The PREMIS 3 document (UTF-8 XML bytes) of one asset.

    ``formats`` maps a file's path as its row gives it (a source's ``rel_path``, a derivative's ``path``) to its
    identified (PUID, format name, format version); any of them may be None or empty, and a PUID of "UNKNOWN"
    counts as none (the file then gets the extension's name and a "not identified" note). ``jurisdiction`` is the
    copyright jurisdiction (ISO 3166 code) written with a RightsStatements.org statement; unknown when None.
    ``agent_version`` is the llvscan version that writes the document.
    """
    _register()
    root = ET.Element(_q("premis"), {"version": "3.0",
                                     f"{{{XSI_NAMESPACE}}}schemaLocation": f"{PREMIS_NAMESPACE} {PREMIS_SCHEMA_URL}"})
    entity: _Ident = (_ASSET, asset.id)
    sources: list[_Ident] = [(_SOURCE, f.rel_path) for f in files]
    derived: list[tuple[_Ident, DerivativeRow]] = [((_DERIVATIVE, d.path), d) for d in derivatives]
    rights: _Ident | None = (_RIGHTS, f"{asset.id}/rights") if asset.rights and asset.rights.strip() else None
    ordered = sorted(events, key=lambda e: (e.time, e.id))
    linked = {e.id: _event_objects(e, entity, sources, derived) for e in ordered}
    events_of: dict[_Ident, list[_Ident]] = {}
    for event in ordered:
        for target, _role in linked[event.id]:
            events_of.setdefault(target, []).append((_EVENT, str(event.id)))

    def new_object(kind: str) -> ET.Element:
        return _sub(root, "object", attrib={f"{{{XSI_NAMESPACE}}}type": f"premis:{kind}"})

    # the intellectual entity
    obj = new_object("intellectualEntity")
    _pair(obj, "objectIdentifier", "objectIdentifier", *entity)
    if asset.object_number:
        _pair(obj, "objectIdentifier", "objectIdentifier", _OBJECT_NUMBER, asset.object_number)
    _sub(obj, "originalName", asset.rel_path)
    _relationship(obj, "structural", "includes", sources + [d for d, _ in derived])
    _links(obj, events_of.get(entity, []), rights)

    for source, ident in zip(files, sources, strict=True):
        obj = new_object("file")
        _pair(obj, "objectIdentifier", "objectIdentifier", *ident)
        _characteristics(obj, source.sha256, source.bytes, source.rel_path, formats)
        _sub(obj, "originalName", source.rel_path)
        _relationship(obj, "structural", "is included in", [entity])
        _relationship(obj, "derivation", "is source of", [d for d, _ in derived])
        _links(obj, events_of.get(ident, []), rights)

    for ident, row in derived:
        multi = row.files != 1
        obj = new_object("representation" if multi else "file")
        _pair(obj, "objectIdentifier", "objectIdentifier", *ident)
        properties: list[tuple[str, object]] = [("role", row.role), ("level", row.level), ("faces", row.faces),
                                                ("texture size", row.texture_size),
                                                ("Hausdorff distance, % of the diagonal", row.hausdorff_pct)]
        if multi:
            properties += [("files", row.files), ("bytes", row.bytes),
                           ("sha256 of the sorted 'path sha256' manifest of its files", row.sha256)]
        for name, value in properties:
            if value not in (None, ""):
                significant = _sub(obj, "significantProperties")
                _sub(significant, "significantPropertiesType", name)
                _sub(significant, "significantPropertiesValue", value)
        mime = row.detail.get("mime_type") if isinstance(row.detail, dict) else None
        if not multi:
            _characteristics(obj, row.sha256, row.bytes, row.path, formats, mime if isinstance(mime, str) else None)
        _sub(obj, "originalName", row.path)
        _relationship(obj, "structural", "is included in", [entity])
        _relationship(obj, "derivation", "has source", sources)
        _links(obj, events_of.get(ident, []), rights)

    agents = dict.fromkeys([f"llvscan {agent_version}", *(e.agent for e in ordered)])
    for event in ordered:
        element = _sub(root, "event")
        _pair(element, "eventIdentifier", "eventIdentifier", _EVENT, str(event.id))
        term = EVENT_TYPES.get(event.type)
        if term is None:
            log.debug("event type %r is not mapped to the LoC vocabulary; written as it is", event.type)
            _sub(element, "eventType", event.type)
        else:
            _sub(element, "eventType", term.label, {"authority": "eventType", "authorityURI": EVENT_TYPE_VOCABULARY,
                                                    "valueURI": term.uri})
        _sub(element, "eventDateTime", event.time)
        detail = event.detail if term is None or term.label == event.type else f"llvscan {event.type}: {event.detail}"
        if detail:
            _sub(_sub(element, "eventDetailInformation"), "eventDetail", detail)
        _sub(_sub(element, "eventOutcomeInformation"), "eventOutcome", event.outcome)
        _pair(element, "linkingAgentIdentifier", "linkingAgentIdentifier", _AGENT, event.agent,
              [("linkingAgentRole", "executing program")])
        for (type_, value), role in linked[event.id]:
            _pair(element, "linkingObjectIdentifier", "linkingObjectIdentifier", type_, value,
                  [("linkingObjectRole", role)])

    for agent in agents:
        element = _sub(root, "agent")
        _pair(element, "agentIdentifier", "agentIdentifier", _AGENT, agent)
        name, version = _agent_parts(agent)
        _sub(element, "agentName", name)
        _sub(element, "agentType", "software")
        if version:
            _sub(element, "agentVersion", version)

    if rights and asset.rights:
        _rights(root, asset.rights, rights, entity, jurisdiction)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
