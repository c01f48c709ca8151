"""PREMIS 3 and METS documents per asset: valid against the schemas shipped in tests/data/schemas, checked by
two independent validators (xmlschema, pure Python; libxml2 through lxml), and saying what the rows say.

The rows are built by hand; their checksums are hashlib's over hand-written bytes, never llvscan's.
"""

from __future__ import annotations

import hashlib
import re
import urllib.parse
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from lxml import etree as lxml_etree

from llvscan.catalog.rows import AssetRow, DerivativeRow, EventRow, FileRow
from llvscan.errors import AssetReadError, InvalidParameterError
from llvscan.preservation.mets import mets_document, validate_xml
from llvscan.preservation.premis import EVENT_TYPES, premis_document, xml_safe

SCHEMAS = Path(__file__).parent / "data" / "schemas"
PREMIS_XSD = SCHEMAS / "premis-v3-0.xsd"
METS_XSD = SCHEMAS / "mets.xsd"
DC_XSD = SCHEMAS / "simpledc20021212.xsd"
NS = {"premis": "http://www.loc.gov/premis/v3", "mets": "http://www.loc.gov/METS/",
      "dc": "http://purl.org/dc/elements/1.1/", "xlink": "http://www.w3.org/1999/xlink",
      "xsi": "http://www.w3.org/2001/XMLSchema-instance"}
XSI_TYPE = f"{{{NS['xsi']}}}type"
HREF = f"{{{NS['xlink']}}}href"
LOC = "http://id.loc.gov/vocabulary/preservation/eventType/"
# the Library of Congress event types (label → code), as id.loc.gov publishes them
LOC_EVENT_TYPES = {"message digest calculation": "mes", "validation": "val", "creation": "cre",
                   "fixity check": "fix", "ingestion": "ing", "format identification": "for",
                   "metadata extraction": "mee"}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


OBJ, MTL, JPG = b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", b"newmtl a\nmap_Kd vase.jpg\n", b"\xff\xd8\xff\xe0fake"
GLB0, GLB1, REPORT = b"glTF\x02\x00\x00\x00lod0", b"glTF\x02\x00\x00\x00lod1", b'{"faces": 1}'


def _asset(**changes: object) -> AssetRow:
    values: dict[str, object] = dict(
        id="3f2a9c1e", rel_path="scans/amphora 12/vase.obj", kind="mesh", format="obj", bytes=len(OBJ),
        mtime="2026-03-02T10:00:00+00:00", sha256=_sha(OBJ), content_sha256=_sha(b"all"), recipe_sha256=_sha(b"r"),
        status="ok", is_valid=1, error=None, object_number="1987.112.4", title="Red-figure amphora",
        creator="Painter of Berlin", date="c. 490 BC", rights="https://creativecommons.org/licenses/by/4.0/",
        measurements={"faces": 1}, attempts=1, first_run_id=1, last_run_id=2,
        updated_at="2026-03-02T10:05:00+00:00", crashes=0)
    values.update(changes)
    return AssetRow(**values)  # type: ignore[arg-type]


def _files(asset_id: str = "3f2a9c1e", folder: str = "scans/amphora 12") -> list[FileRow]:
    return [FileRow(asset_id, f"{folder}/vase.obj", "main", len(OBJ), _sha(OBJ), 1_700_000_000_000_000_000),
            FileRow(asset_id, f"{folder}/vase.mtl", "material", len(MTL), _sha(MTL), None),
            FileRow(asset_id, f"{folder}/vase.jpg", "texture", len(JPG), _sha(JPG), None)]


def _derivatives(asset_id: str = "3f2a9c1e") -> list[DerivativeRow]:
    base = "assets/vase-3f2a9c1e"
    return [DerivativeRow(asset_id, "validation", "", f"{base}/validation.json", len(REPORT), 1, _sha(REPORT),
                          None, None, None, {}, 1),
            DerivativeRow(asset_id, "lod", "lod0", f"{base}/lods/vase-lod0.glb", len(GLB0), 1, _sha(GLB0),
                          1, 2048, 0.0, {"mime_type": "model/gltf-binary"}, 1),
            DerivativeRow(asset_id, "lod", "lod1", f"{base}/lods/vase-lod1.glb", len(GLB1), 1, _sha(GLB1),
                          1, 1024, 0.42, {"mime_type": "model/gltf-binary"}, 2),
            DerivativeRow(asset_id, "iiif3", "", "iiif/vase-3f2a9c1e", 48_213, 37, _sha(b"manifest"),
                          None, 4096, None, {"entry": "info.json"}, 2)]


def _events(asset_id: str = "3f2a9c1e") -> list[EventRow]:
    agent = "llvscan 0.9.0"
    return [EventRow(11, 1, asset_id, "message digest calculation", "2026-03-01T09:00:00+00:00", "llvscan 0.8.2",
                     "success", f"sha256 of 3 file(s): {_sha(OBJ)}"),
            EventRow(12, 1, asset_id, "validation", "2026-03-01T09:00:01+00:00", "llvscan 0.8.2", "success",
                     "3 faces, watertight=False"),
            EventRow(13, 1, asset_id, "creation", "2026-03-01T09:00:05+00:00", "llvscan 0.8.2", "success",
                     "2 levels of detail"),
            EventRow(21, 2, asset_id, "fixity check", "2026-03-02T10:00:00+00:00", agent, "success",
                     "sha256 of 3 file(s) unchanged since the last run; outputs intact"),
            EventRow(22, 2, asset_id, "creation", "2026-03-02T10:00:03+00:00", agent, "success", "iiif3 tile set"),
            EventRow(23, 2, asset_id, "processing", "2026-03-02T10:00:04+00:00", agent, "failure",
                     "unexpected KeyError"),
            EventRow(24, 2, asset_id, "ingestion", "2026-03-02T10:00:05+00:00", agent, "success", "")]


FORMATS = {"scans/amphora 12/vase.obj": ("fmt/1210", "Wavefront OBJ", ""),
           "scans/amphora 12/vase.jpg": ("fmt/43", "JPEG File Interchange Format", "1.01"),
           "scans/amphora 12/vase.mtl": ("UNKNOWN", None, None),  # siegfried found nothing
           "assets/vase-3f2a9c1e/lods/vase-lod0.glb": ("fmt/1288", "glTF Binary", "2.0")}


def _premis(asset: AssetRow | None = None, **options: object) -> bytes:
    asset = asset or _asset()
    return premis_document(asset, _files(asset.id), _derivatives(asset.id), _events(asset.id),
                           agent_version="0.9.0", formats=FORMATS, **options)  # type: ignore[arg-type]


class _LocalSchemas(lxml_etree.Resolver):
    """libxml2 reads an imported schema from the file of the same name in tests/data/schemas."""

    def resolve(self, url, pubid, context):  # type: ignore[no-untyped-def]
        local = SCHEMAS / url.rsplit("/", 1)[-1]
        return self.resolve_filename(str(local), context) if local.is_file() else None


def _lxml_schema(path: Path) -> lxml_etree.XMLSchema:
    parser = lxml_etree.XMLParser(no_network=True)
    parser.resolvers.add(_LocalSchemas())
    return lxml_etree.XMLSchema(lxml_etree.parse(str(path), parser))


# METS holds PREMIS and Dublin Core laxly: libxml2 validates them only when one schema imports all three
_DRIVER = b"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:import namespace="http://www.loc.gov/METS/" schemaLocation="mets.xsd"/>
  <xs:import namespace="http://www.loc.gov/premis/v3" schemaLocation="premis-v3-0.xsd"/>
  <xs:import namespace="http://purl.org/dc/elements/1.1/" schemaLocation="simpledc20021212.xsd"/>
</xs:schema>"""


@pytest.fixture(scope="module")
def libxml2() -> dict[str, lxml_etree.XMLSchema]:
    parser = lxml_etree.XMLParser(no_network=True)
    parser.resolvers.add(_LocalSchemas())
    driver = lxml_etree.XMLSchema(lxml_etree.fromstring(_DRIVER, parser, base_url=str(SCHEMAS / "driver.xsd")))
    return {"premis": _lxml_schema(PREMIS_XSD), "mets": driver, "dc": _lxml_schema(DC_XSD)}


def _valid_both(document: bytes, xsd: Path, libxml2: dict[str, lxml_etree.XMLSchema], name: str) -> None:
    assert validate_xml(document, xsd) == []
    schema = libxml2[name]
    ok = schema.validate(lxml_etree.fromstring(document))
    assert ok, schema.error_log


def _identifier(obj: ET.Element) -> tuple[str, str]:
    return (obj.findtext("premis:objectIdentifier/premis:objectIdentifierType", namespaces=NS) or "",
            obj.findtext("premis:objectIdentifier/premis:objectIdentifierValue", namespaces=NS) or "")


def _objects(root: ET.Element) -> dict[str, ET.Element]:
    return {_identifier(o)[1]: o for o in root.findall("premis:object", NS)}


# -- PREMIS ---------------------------------------------------------------------------------------------------
def test_premis_is_valid_for_both_validators(libxml2):
    _valid_both(_premis(), PREMIS_XSD, libxml2, "premis")


def test_premis_objects_carry_fixity_size_format_and_names():
    root = ET.fromstring(_premis())
    objects = _objects(root)
    assert objects["3f2a9c1e"].get(XSI_TYPE) == "premis:intellectualEntity"
    ids = [(i.findtext("premis:objectIdentifierType", namespaces=NS), i.findtext("premis:objectIdentifierValue",
                                                                                  namespaces=NS))
           for i in objects["3f2a9c1e"].findall("premis:objectIdentifier", NS)]
    assert ("object number", "1987.112.4") in ids
    for row in [*_files(), *_derivatives()[:3]]:
        path = row.rel_path if isinstance(row, FileRow) else row.path
        obj = objects[path]
        assert obj.get(XSI_TYPE) == "premis:file"
        chars = obj.find("premis:objectCharacteristics", NS)
        assert chars is not None
        assert chars.findtext("premis:fixity/premis:messageDigestAlgorithm", namespaces=NS) == "SHA-256"
        assert chars.findtext("premis:fixity/premis:messageDigest", namespaces=NS) == row.sha256
        assert int(chars.findtext("premis:size", namespaces=NS) or -1) == row.bytes
        assert obj.findtext("premis:originalName", namespaces=NS) == path
        registry = chars.find("premis:format/premis:formatRegistry", NS)
        if path in FORMATS and FORMATS[path][0] != "UNKNOWN":
            assert registry is not None
            assert registry.findtext("premis:formatRegistryName", namespaces=NS) == "PRONOM"
            assert registry.findtext("premis:formatRegistryKey", namespaces=NS) == FORMATS[path][0]
            assert chars.findtext("premis:format/premis:formatDesignation/premis:formatName",
                                  namespaces=NS) == FORMATS[path][1]
        else:  # not identified: a name from the extension, and a note that says so
            assert registry is None
            assert "not identified" in (chars.findtext("premis:format/premis:formatNote", namespaces=NS) or "")
    assert objects["scans/amphora 12/vase.jpg"].findtext(
        "premis:objectCharacteristics/premis:format/premis:formatDesignation/premis:formatVersion",
        namespaces=NS) == "1.01"
    # the tile set is a representation: no file fixity, its manifest digest kept as a significant property
    tiles = objects["iiif/vase-3f2a9c1e"]
    assert tiles.get(XSI_TYPE) == "premis:representation"
    values = [p.findtext("premis:significantPropertiesValue", namespaces=NS)
              for p in tiles.findall("premis:significantProperties", NS)]
    assert _sha(b"manifest") in values and "37" in values


def test_premis_relationships_run_from_sources_to_derivatives():
    objects = _objects(ET.fromstring(_premis()))
    sources = {f.rel_path for f in _files()}
    derived = {d.path for d in _derivatives()}

    def related(obj: ET.Element, kind: str, subtype: str) -> set[str]:
        found = set()
        for rel in obj.findall("premis:relationship", NS):
            if (rel.findtext("premis:relationshipType", namespaces=NS) == kind
                    and rel.findtext("premis:relationshipSubType", namespaces=NS) == subtype):
                found |= {r.findtext("premis:relatedObjectIdentifierValue", namespaces=NS)
                          for r in rel.findall("premis:relatedObjectIdentifier", NS)}
        return found

    for path in derived:
        assert related(objects[path], "derivation", "has source") == sources
    for path in sources:
        assert related(objects[path], "derivation", "is source of") == derived
    assert related(objects["3f2a9c1e"], "structural", "includes") == sources | derived


def test_premis_events_use_the_loc_vocabulary_and_link_objects_and_agents():
    root = ET.fromstring(_premis())
    events = {e.findtext("premis:eventIdentifier/premis:eventIdentifierValue", namespaces=NS): e
              for e in root.findall("premis:event", NS)}
    assert set(events) == {str(e.id) for e in _events()}
    for row in _events():
        element = events[str(row.id)]
        kind = element.find("premis:eventType", NS)
        assert kind is not None and kind.text in LOC_EVENT_TYPES
        assert kind.get("valueURI") == LOC + LOC_EVENT_TYPES[kind.text]
        assert element.findtext("premis:eventDateTime", namespaces=NS) == row.time
        assert element.findtext("premis:eventOutcomeInformation/premis:eventOutcome", namespaces=NS) == row.outcome
        assert element.findtext("premis:linkingAgentIdentifier/premis:linkingAgentIdentifierValue",
                                namespaces=NS) == row.agent
    # llvscan's "processing" is written as the LoC "creation" that failed, its own word kept in the detail
    processing = events["23"]
    assert processing.findtext("premis:eventType", namespaces=NS) == "creation"
    assert processing.findtext("premis:eventDetailInformation/premis:eventDetail",
                               namespaces=NS) == "llvscan processing: unexpected KeyError"
    assert EVENT_TYPES["processing"].uri == LOC + "cre"

    def linked(event_id: str) -> dict[str, str]:
        return {link.findtext("premis:linkingObjectIdentifierValue", namespaces=NS) or "":
                link.findtext("premis:linkingObjectRole", namespaces=NS) or ""
                for link in events[event_id].findall("premis:linkingObjectIdentifier", NS)}

    assert set(linked("11")) == {f.rel_path for f in _files()}
    # a creation links the sources and the derivatives that run made
    assert linked("13") == {**{f.rel_path: "source" for f in _files()},
                            "assets/vase-3f2a9c1e/validation.json": "outcome",
                            "assets/vase-3f2a9c1e/lods/vase-lod0.glb": "outcome"}
    assert linked("24") == {"3f2a9c1e": "source"}
    # and the objects link back to their events
    jpg = _objects(root)["scans/amphora 12/vase.jpg"]
    back = {e.text for e in jpg.findall("premis:linkingEventIdentifier/premis:linkingEventIdentifierValue", NS)}
    assert back == {"11", "12", "13", "21", "22"}
    # one agent per llvscan version, software, with its version
    agents = {a.findtext("premis:agentIdentifier/premis:agentIdentifierValue", namespaces=NS): a
              for a in root.findall("premis:agent", NS)}
    assert set(agents) == {"llvscan 0.9.0", "llvscan 0.8.2"}
    for value, agent in agents.items():
        assert agent.findtext("premis:agentName", namespaces=NS) == "llvscan"
        assert agent.findtext("premis:agentType", namespaces=NS) == "software"
        assert agent.findtext("premis:agentVersion", namespaces=NS) == value.split()[1]


@pytest.mark.parametrize(("rights", "basis", "status"), [
    ("https://creativecommons.org/licenses/by/4.0/", "license", None),
    ("http://creativecommons.org/publicdomain/zero/1.0/", "license", None),
    ("http://rightsstatements.org/vocab/InC/1.0/", "copyright", "copyrighted"),
    ("http://rightsstatements.org/vocab/NoC-US/1.0/", "copyright", "public domain"),
    ("https://creativecommons.org/publicdomain/mark/1.0/", "copyright", "public domain"),
    ("http://rightsstatements.org/vocab/CNE/1.0/", "copyright", "unknown"),
    ("© Museum of Antiquities, all rights reserved", "other", None),
])
def test_premis_rights_follow_the_sidecar(rights, basis, status, libxml2):
    document = _premis(_asset(rights=rights))
    _valid_both(document, PREMIS_XSD, libxml2, "premis")
    root = ET.fromstring(document)
    statement = root.find("premis:rights/premis:rightsStatement", NS)
    assert statement is not None
    assert statement.findtext("premis:rightsBasis", namespaces=NS) == basis
    assert statement.findtext("premis:linkingObjectIdentifier/premis:linkingObjectIdentifierValue",
                              namespaces=NS) == "3f2a9c1e"
    assert rights in "".join(statement.itertext())
    if status:
        assert statement.findtext("premis:copyrightInformation/premis:copyrightStatus", namespaces=NS) == status
    if "NoC-US" in rights:
        assert statement.findtext("premis:copyrightInformation/premis:copyrightJurisdiction", namespaces=NS) == "us"


# -- METS -----------------------------------------------------------------------------------------------------
def test_mets_is_valid_for_both_validators_with_premis_and_dc_inside(libxml2):
    document = mets_document(_asset(), _files(), _derivatives(), premis=_premis(), agent_version="0.9.0",
                             source_prefix="data/sources/", derivative_prefix="data/outputs/")
    _valid_both(document, METS_XSD, libxml2, "mets")
    root = ET.fromstring(document)
    # libxml2 checks the embedded PREMIS and Dublin Core against their own schemas too
    for obj in root.iterfind(".//mets:xmlData/premis:*", NS):
        assert libxml2["premis"].validate(lxml_etree.fromstring(ET.tostring(obj))), libxml2["premis"].error_log


def test_mets_file_section_lists_sources_and_derivatives_with_checksums():
    document = mets_document(_asset(), _files(), _derivatives(), premis=_premis(),
                             source_prefix="data/sources/", derivative_prefix="data/outputs/")
    root = ET.fromstring(document)
    groups = {g.get("USE"): g for g in root.findall("mets:fileSec/mets:fileGrp", NS)}
    assert set(groups) == {"sources", "derivatives"}
    techmd = {t.get("ID"): t for t in root.findall("mets:amdSec/mets:techMD", NS)}
    rows = [("sources", "data/sources/", f.rel_path, f.sha256, f.bytes, True) for f in _files()] + [
        ("derivatives", "data/outputs/", d.path, d.sha256, d.bytes, d.files == 1) for d in _derivatives()]
    listed = {use: g.findall("mets:file", NS) for use, g in groups.items()}
    assert [len(listed["sources"]), len(listed["derivatives"])] == [3, 4]
    for use, prefix, path, sha, size, single in rows:
        element = next(f for f in listed[use]
                       if urllib.parse.unquote(f.find("mets:FLocat", NS).get(HREF)
                                               ).rstrip("/") == prefix + path)
        assert element.get("SIZE") == str(size)
        assert element.find("mets:FLocat", NS).get("LOCTYPE") == "URL"
        if single:
            assert (element.get("CHECKSUM"), element.get("CHECKSUMTYPE")) == (sha, "SHA-256")
        else:
            assert element.get("CHECKSUM") is None  # a folder: its manifest digest is in the PREMIS
        # ADMID leads to the PREMIS object of that very file
        tech = [techmd[i] for i in element.get("ADMID", "").split() if i in techmd]
        assert len(tech) == 1
        assert _identifier(tech[0].find(".//premis:object", NS))[1] == path
    mimes = {f.get("USE"): f.get("MIMETYPE") for f in listed["sources"]}
    assert mimes == {"main": "model/obj", "material": "model/mtl", "texture": "image/jpeg"}
    # the structMap points at every file once
    pointers = [p.get("FILEID") for p in root.iter(f"{{{NS['mets']}}}fptr")]
    assert sorted(pointers) == sorted(f.get("ID") for g in listed.values() for f in g)


def test_mets_carries_the_sidecar_as_dublin_core():
    root = ET.fromstring(mets_document(_asset(), _files(), _derivatives()))
    data = root.find("mets:dmdSec/mets:mdWrap[@MDTYPE='DC']/mets:xmlData", NS)
    assert data is not None
    assert {e.tag.split("}")[1]: e.text for e in data} == {
        "title": "Red-figure amphora", "creator": "Painter of Berlin", "date": "c. 490 BC",
        "identifier": "1987.112.4", "rights": "https://creativecommons.org/licenses/by/4.0/"}
    assert root.find("mets:structMap/mets:div", NS).get("DMDID") == "dmd-1"
    assert root.find("mets:amdSec", NS) is None  # no PREMIS given


def test_no_sidecar_metadata_gives_no_dmdsec_and_no_rights(libxml2):
    bare = _asset(object_number=None, title=None, creator=None, date=None, rights=None)
    premis = _premis(bare)
    _valid_both(premis, PREMIS_XSD, libxml2, "premis")
    assert ET.fromstring(premis).find("premis:rights", NS) is None
    mets = mets_document(bare, _files(), _derivatives(), premis=premis)
    _valid_both(mets, METS_XSD, libxml2, "mets")
    root = ET.fromstring(mets)
    assert root.find("mets:dmdSec", NS) is None
    assert root.find("mets:structMap/mets:div", NS).get("DMDID") is None
    assert root.find("mets:amdSec/mets:rightsMD", NS) is None


def test_an_asset_without_files_still_validates(libxml2):
    """An asset that failed at ingestion: no files, no derivatives, one event on the entity."""
    asset = _asset(status="failed", error="unreadable")
    event = EventRow(1, 1, asset.id, "ingestion", "2026-03-01T09:00:00+00:00", "llvscan 0.9.0", "failure", "gone")
    premis = premis_document(asset, [], [], [event], agent_version="0.9.0")
    _valid_both(premis, PREMIS_XSD, libxml2, "premis")
    mets = mets_document(asset, [], [], premis=premis)
    _valid_both(mets, METS_XSD, libxml2, "mets")
    assert ET.fromstring(mets).find("mets:fileSec", NS) is None


# -- hostile strings ------------------------------------------------------------------------------------------
HOSTILE = "<b>&amp; \"q\" 'a' ]]> \x00\x01\x08\x0b\x0c\x1b\x7f \ud800 \ufffe\uffff é 漢 \U0001f3fa\ttab\nline"


def test_hostile_strings_are_escaped_or_replaced(libxml2):
    folder = "scans/<odd> & \"dir\" #1?"
    asset = _asset(title=HOSTILE, creator=HOSTILE, date=HOSTILE, object_number=HOSTILE, rights=HOSTILE,
                   rel_path=f"{folder}/vase.obj")
    files = _files(folder=folder)
    events = [EventRow(1, 1, asset.id, "validation", "2026-03-01T09:00:00+00:00", "llvscan 0.9.0", "failure",
                       HOSTILE)]
    premis = premis_document(asset, files, _derivatives(), events, agent_version=HOSTILE, formats=FORMATS)
    _valid_both(premis, PREMIS_XSD, libxml2, "premis")
    mets = mets_document(asset, files, _derivatives(), premis=premis, agent_version=HOSTILE)
    _valid_both(mets, METS_XSD, libxml2, "mets")
    # what XML 1.0 forbids became U+FFFD, one for one; the rest (markup, quotes, tabs, astral) survives
    expected = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]", "\ufffd", HOSTILE)
    assert expected == xml_safe(HOSTILE) and expected.count("\ufffd") == 9
    root = ET.fromstring(mets)
    title = root.find("mets:dmdSec//dc:title", NS)
    assert title is not None and title.text == expected
    assert root.get("LABEL") == expected  # tab and newline too: ElementTree writes them as character references
    event = ET.fromstring(premis).find("premis:event", NS)
    assert event.findtext("premis:eventDetailInformation/premis:eventDetail", namespaces=NS) == expected
    # the paths are percent-encoded URLs that decode to the path
    hrefs = [urllib.parse.unquote(f.get(HREF)) for f in root.iter(f"{{{NS['mets']}}}FLocat")]
    assert f"{folder}/vase.obj" in hrefs
    for raw in (b"<b>", b"\x00", b"\x1b"):
        assert raw not in mets and raw not in premis


def test_paths_leaving_the_package_are_refused():
    bad = [DerivativeRow("x", "lod", "", "../../etc/passwd", 1, 1, _sha(b""), None, None, None, {}, 1)]
    with pytest.raises(InvalidParameterError, match="relative path"):
        mets_document(_asset(), _files(), bad)
    with pytest.raises(InvalidParameterError):
        mets_document(_asset(), _files(), [], source_prefix="/abs/")


# -- the validator fails where it must --------------------------------------------------------------------------
def test_a_document_missing_a_required_element_fails_validation(libxml2):
    premis = _premis()
    broken = re.sub(rb"<premis:eventDateTime>[^<]*</premis:eventDateTime>", b"", premis, count=1)
    assert broken != premis
    errors = validate_xml(broken, PREMIS_XSD)
    assert errors and "eventDateTime" in errors[0]
    assert not libxml2["premis"].validate(lxml_etree.fromstring(broken))
    # a METS without its structMap, and one whose embedded PREMIS lost a required element
    mets = mets_document(_asset(), _files(), _derivatives(), premis=premis)
    no_struct = re.sub(rb"<mets:structMap.*</mets:structMap>", b"", mets, flags=re.S)
    assert validate_xml(no_struct, METS_XSD)
    assert not libxml2["mets"].validate(lxml_etree.fromstring(no_struct))
    inner = re.sub(rb"<premis:messageDigest>[^<]*</premis:messageDigest>", b"", mets, count=1)
    assert any("messageDigest" in e for e in validate_xml(inner, METS_XSD))
    # a Dublin Core element holding markup is not simple Dublin Core
    assert validate_xml(mets.replace(b"<dc:title>", b"<dc:title><b/>", 1), METS_XSD)


def test_not_well_formed_and_entity_documents_are_reported_not_raised():
    assert validate_xml(b"<premis:premis", PREMIS_XSD)[0].startswith("not well-formed")
    bomb = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaa">]><x>&a;</x>'
    assert validate_xml(bomb, PREMIS_XSD)
    with pytest.raises(AssetReadError):
        validate_xml(b"<x/>", SCHEMAS / "no-such.xsd")


def test_documents_are_deterministic():
    assert _premis() == _premis()
    one = mets_document(_asset(), _files(), _derivatives(), premis=_premis(), agent_version="0.9.0")
    assert one == mets_document(_asset(), _files(), _derivatives(), premis=_premis(), agent_version="0.9.0")


def test_the_shipped_schemas_are_the_published_ones():
    """The schema files are the published versions (see tests/data/schemas/README.md), not edited copies."""
    expected = {
        "mets.xsd": "92a993a3886d7c7d64d1a6d19b573ede5783b1f5bf938b1ba92b93ca37590004",
        "premis-v3-0.xsd": "03b8a77a20b32b882ad799e12262671d07ad18210c60233f4e613a1289491cba",
        "xlink.xsd": "f1f5bb6003165cdd8f6c1fcc32f8fd1f965e1681010f3b9806d9460bcffa8a3c",
    }
    for name, digest in expected.items():
        assert _sha((SCHEMAS / name).read_bytes()) == digest, name
    text = PREMIS_XSD.read_text(encoding="utf-8")
    assert 'targetNamespace="http://www.loc.gov/premis/v3"' in text and "VERSION 3.0" in text
    assert "Version 1.12.1" in METS_XSD.read_text(encoding="utf-8")
