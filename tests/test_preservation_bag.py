"""Preservation bags: a real run over a tiny collection (a Pillow PNG, a hand-written OBJ, hostile names) bagged
whole, checked by bagit and bagit-profile directly, broken on purpose, and interrupted mid-way."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import urllib.parse
import xml.etree.ElementTree as ET
from pathlib import Path

import bagit
import bagit_profile
import pytest
from PIL import Image

import llvscan
from llvscan._paths import slug
from llvscan.catalog import Catalog
from llvscan.collection import RunRecipe, run_collection
from llvscan.errors import AssetReadError, InvalidParameterError, OutputError
from llvscan.preservation import bag as bag_module
from llvscan.preservation.bag import (
    PROFILE_IDENTIFIER,
    PROFILE_PATH,
    load_profile,
    validate_preservation_bag,
    write_preservation_bag,
)
from llvscan.preservation.mets import validate_xml

SCHEMAS = Path(__file__).parent / "data" / "schemas"
METS = "{http://www.loc.gov/METS/}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"

CUBE_OBJ = """\
v 0 0 0
v 1 0 0
v 1 1 0
v 0 1 0
v 0 0 1
v 1 0 1
v 1 1 1
v 0 1 1
f 1 3 2
f 1 4 3
f 5 6 7
f 5 7 8
f 1 2 6
f 1 6 5
f 3 4 8
f 3 8 7
f 2 3 7
f 2 7 6
f 1 5 8
f 1 8 4
"""
# names a shell, a URL, XML, a manifest line or a careless splitter would trip on
HOSTILE = [" lead.png", "a b%20#ü &<x>.png", "new\nline.png", "sub dir/tab\there.png", "-dash;$(rm).png"]
UNREPRESENTABLE = "x%0Ay.png"  # bagit reads %0A back as a newline: it cannot carry this name


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("bag")
    collection, out = base / "collection", base / "out"
    (collection / "sub dir").mkdir(parents=True)
    for n, name in enumerate(["pic.png", *HOSTILE, UNREPRESENTABLE]):
        Image.new("RGB", (23 + n, 17), (200, 12 * n, 30)).save(collection / name, format="PNG")
    (collection / "cube.obj").write_text(CUBE_OBJ)
    summary = run_collection(collection, out, recipe=RunRecipe().with_mesh(lods=None), workers=0, report=False,
                             warm_up=False)
    assert (summary.ok, summary.failed) == (len(HOSTILE) + 3, 0)
    return collection, out


def _rows(out: Path):
    with Catalog(out / "catalog.sqlite", readonly=True) as cat:
        return cat.assets(), cat.files(), cat.derivatives()


def _folder(asset) -> str:
    return f"{slug(Path(asset.rel_path).stem)}-{asset.id[:8]}"


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_bag_is_valid_and_whole(run, tmp_path):
    collection, out = run
    dest = tmp_path / "bag"
    result = write_preservation_bag(out, collection, dest, source_organization="Musée d'Essai")
    assets, files, derivatives = _rows(out)
    assert [p.path for p in result.problems] == [UNREPRESENTABLE]
    assert result.problems[0].problem == "unrepresentable"
    assert result.assets == len(assets) - 1

    bag = bagit.Bag(str(dest))
    bag.validate()  # bagit itself, in full
    assert {"sha256", "sha512"} <= set(bag.algorithms)
    assert (dest / "tagmanifest-sha256.txt").is_file()
    info = bag.info
    assert info["BagIt-Profile-Identifier"] == PROFILE_IDENTIFIER
    assert info["Bag-Software-Agent"] == f"llvscan {llvscan.__version__}"
    assert info["Source-Organization"] == "Musée d'Essai"
    assert info["External-Identifier"].startswith("urn:uuid:") and len(info["Bagging-Date"]) == 10
    payload = [p for p in (dest / "data").rglob("*") if p.is_file()]
    assert info["Payload-Oxum"] == f"{sum(p.stat().st_size for p in payload)}.{len(payload)}"
    assert (result.files, result.bytes) == (len(payload), sum(p.stat().st_size for p in payload))
    profile = bagit_profile.Profile(PROFILE_IDENTIFIER, profile=json.loads(PROFILE_PATH.read_text()))
    assert profile.validate(bag), profile.report
    assert profile.validate_serialization(str(dest))
    check = validate_preservation_bag(dest)
    assert check.is_valid and check.to_dict()["is_valid"], check

    kept = [a for a in assets if a.rel_path != UNREPRESENTABLE]
    assert {p.name for p in (dest / "data").iterdir()} == {_folder(a) for a in kept} | {"catalog.sqlite"}
    for f in files:
        asset = next(a for a in assets if a.id == f.asset_id)
        copy = dest / "data" / _folder(asset) / "sources" / f.rel_path
        if asset.rel_path == UNREPRESENTABLE:
            assert not (dest / "data" / _folder(asset)).exists()
            continue
        assert hashlib.sha256(copy.read_bytes()).hexdigest() == f.sha256
        assert copy.read_bytes() == (collection / f.rel_path).read_bytes()
    for d in derivatives:
        asset = next(a for a in assets if a.id == d.asset_id)
        if asset.rel_path != UNREPRESENTABLE:
            assert (dest / "data" / _folder(asset) / "derivatives" / d.path).exists(), d.path
    for asset in kept:
        home = dest / "data" / _folder(asset)
        premis, mets = (home / "premis.xml").read_bytes(), (home / "mets.xml").read_bytes()
        assert validate_xml(premis, SCHEMAS / "premis-v3-0.xsd") == []
        assert validate_xml(mets, SCHEMAS / "mets.xsd") == []
        hrefs = [e.get(XLINK_HREF) for e in ET.fromstring(mets).iter(f"{METS}FLocat")]
        assert hrefs and all((dest / "data" / urllib.parse.unquote(h)).exists() for h in hrefs), hrefs
    with sqlite3.connect(f"file:{dest / 'data' / 'catalog.sqlite'}?mode=ro", uri=True) as db:
        assert db.execute("SELECT count(*) FROM assets").fetchone()[0] == len(assets)
    assert not list((dest / "data").glob("catalog.sqlite-*"))  # one file, no WAL beside it


def test_a_flipped_byte_of_the_same_size_is_caught(run, tmp_path):
    collection, out = run
    dest = tmp_path / "bag"
    write_preservation_bag(out, collection, dest)
    victim = next((dest / "data").glob("pic-*/sources/pic.png"))
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    bagit.Bag(str(dest)).validate(fast=True)  # the size is the same: only the checksums see it
    check = validate_preservation_bag(dest)
    assert not check.is_valid and check.profile_errors == []
    assert any("pic.png" in e for e in check.errors), check.errors


def test_changed_and_missing_sources_leave_their_asset_out(run, tmp_path):
    collection, out = run
    moved = tmp_path / "collection"
    shutil.copytree(collection, moved)
    with Image.open(moved / "pic.png") as im:
        im.convert("L").convert("RGB").save(moved / "pic.png")  # a new scan, after the run
    (moved / " lead.png").unlink()
    dest = tmp_path / "bag"
    result = write_preservation_bag(out, moved, dest)
    found = {p.path: p for p in result.problems}
    assert found["pic.png"].problem == "changed" and "pic.png" in found["pic.png"].message
    assert found[" lead.png"].problem == "missing"
    assert not list((dest / "data").glob("pic-*")) and not list((dest / "data").glob("lead-*"))
    assert list((dest / "data").glob("cube-*/sources/cube.obj"))
    assert validate_preservation_bag(dest).is_valid
    with pytest.raises(AssetReadError, match="changed since the run") as info:
        write_preservation_bag(out, moved, tmp_path / "strict", assets=["pic.png"], strict=True)
    assert info.value.path == str(moved / "pic.png")
    assert not (tmp_path / "strict").exists()


def test_a_changed_output_leaves_its_asset_out(run, tmp_path):
    collection, out = run
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    inspection = next(copy.glob("assets/pic-*/inspection.json"))
    inspection.write_text(inspection.read_text() + " ")
    result = write_preservation_bag(copy, collection, tmp_path / "bag", assets=["pic.png", "cube.obj"])
    assert [(p.problem, p.path) for p in result.problems] == [
        ("changed", inspection.relative_to(copy).as_posix())]
    assert result.assets == 1


def test_an_interrupted_export_leaves_the_previous_bag(run, tmp_path, monkeypatch):
    collection, out = run
    dest = tmp_path / "bag"
    write_preservation_bag(out, collection, dest, assets=["cube.obj"])
    before = _tree(dest)
    calls = []

    def broken(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("power cut")
        return real(*args, **kwargs)

    real = bag_module.asset_documents
    monkeypatch.setattr(bag_module, "asset_documents", broken)
    with pytest.raises(RuntimeError, match="power cut"):
        write_preservation_bag(out, collection, dest)
    assert _tree(dest) == before
    monkeypatch.setattr(bag_module, "asset_documents", real)
    monkeypatch.setattr(bag_module, "validate_preservation_bag",
                        lambda path: bag_module.BagValidation(str(path), ["injected"], []))
    with pytest.raises(OutputError, match="does not validate"):
        write_preservation_bag(out, collection, dest)
    assert _tree(dest) == before
    with pytest.raises(OutputError):
        write_preservation_bag(out, collection, tmp_path / "fresh")
    assert not (tmp_path / "fresh").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bag"]  # no temporary left beside it


def test_a_rerun_replaces_the_bag(run, tmp_path):
    collection, out = run
    dest = tmp_path / "bag"
    write_preservation_bag(out, collection, dest)
    result = write_preservation_bag(out, collection, dest, assets="cube.obj", external_identifier="acc-2024-17",
                                    source_organization="Museum\nBagIt-Profile-Identifier: evil")
    assert result.assets == 1 and result.problems == []
    assert validate_preservation_bag(dest).is_valid  # the newline cannot smuggle a second tag in
    assert {p.name for p in (dest / "data").iterdir()} == {"catalog.sqlite", *(p.name for p in
                                                                               (dest / "data").glob("cube-*"))}
    assert bagit.Bag(str(dest)).info["External-Identifier"] == "acc-2024-17"


def test_impossible_destinations_and_assets(run, tmp_path):
    collection, out = run
    for dest in (collection / "bag", collection, collection.parent, out, out / "assets" / "bag", out / "iiif"):
        with pytest.raises(InvalidParameterError, match="bag"):
            write_preservation_bag(out, collection, dest)
    (tmp_path / "file").write_text("x")
    with pytest.raises(InvalidParameterError, match="existing file"):
        write_preservation_bag(out, collection, tmp_path / "file")
    with pytest.raises(InvalidParameterError, match="not a folder"):
        write_preservation_bag(out, tmp_path / "no-collection", tmp_path / "bag")
    with pytest.raises(InvalidParameterError, match="no such asset"):
        write_preservation_bag(out, collection, tmp_path / "bag", assets=["nope.png"])
    assert not (tmp_path / "bag").exists() and not (collection / "bag").exists()
    assert (tmp_path / "file").read_text() == "x"


def test_the_profile_catches_what_it_forbids(tmp_path):
    profile = load_profile()
    assert profile["BagIt-Profile-Info"]["BagIt-Profile-Identifier"] == PROFILE_IDENTIFIER
    bagit_profile.Profile(PROFILE_IDENTIFIER, profile=profile)  # the profile itself is well-formed
    payload = tmp_path / "plain"
    payload.mkdir()
    (payload / "catalog.sqlite").write_bytes(b"not llvscan")
    bagit.make_bag(str(payload), {"Bagging-Date": "2024-01-01"}, checksums=["md5"])
    check = validate_preservation_bag(payload)
    assert check.errors == []  # a valid bag, but not an llvscan one
    text = " ".join(check.profile_errors)
    for expected in ("BagIt-Profile-Identifier", "sha256", "md5"):
        assert expected in text, (expected, check.profile_errors)
    nearly = tmp_path / "nearly"  # the profile named, sha256, but no External-Identifier
    nearly.mkdir()
    (nearly / "catalog.sqlite").write_bytes(b"x")
    bagit.make_bag(str(nearly), {"BagIt-Profile-Identifier": PROFILE_IDENTIFIER}, checksums=["sha256"])
    check = validate_preservation_bag(nearly)
    assert check.errors == [] and len(check.profile_errors) == 1 and "External-Identifier" in check.profile_errors[0]
    (nearly / "data" / "catalog.sqlite").unlink()
    assert "catalog.sqlite" in " ".join(validate_preservation_bag(nearly).profile_errors)
    (payload / "fetch.txt").write_text("")
    assert any("etch" in e for e in validate_preservation_bag(payload).profile_errors)
    with pytest.raises(AssetReadError):
        validate_preservation_bag(tmp_path / "nothing")
