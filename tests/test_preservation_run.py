"""A collection run identifies every source file's format (PRONOM, siegfried) into the catalog."""

from __future__ import annotations

from PIL import Image

from llvscan.catalog import Catalog
from llvscan.collection import run_collection


def test_a_run_records_each_source_format_and_flags_a_disguised_file(tmp_path):
    root = tmp_path / "c"
    root.mkdir()
    Image.new("RGB", (64, 48), (10, 20, 30)).save(root / "real.tif")
    Image.new("RGB", (64, 48), (10, 20, 30)).save(root / "fake.tif", format="JPEG")  # a JPEG named .tif
    (root / "cube.obj").write_text("v 0.0 0.0 0.0\nv 1.0 0.0 0.0\nv 0.0 1.0 0.0\nv 0.0 0.0 1.0\n"
                                   "f 1 3 2\nf 1 2 4\nf 1 4 3\nf 2 3 4\n")
    summary = run_collection(root, tmp_path / "out", workers=0, report=False, warm_up=False)
    assert summary.failed == 0
    with Catalog(tmp_path / "out" / "catalog.sqlite", readonly=True) as cat:
        files = {f.rel_path: f for f in cat.files()}
        findings = [(f.source, f.code, f.message) for f in cat.findings()]
        events = [e for e in cat.events() if e.type == "format identification"]
    assert (files["real.tif"].puid, files["fake.tif"].puid, files["cube.obj"].puid) == ("fmt/353", "fmt/43", "fmt/1210")
    assert files["real.tif"].format_name == "Tagged Image File Format"
    assert [f for f in findings if f[0] == "identification"] == [
        ("identification", "extension_mismatch", "fake.tif: the extension is .tif but the file is really JPEG File "
         "Interchange Format (fmt/43); rename it or check how it was made")]
    sources = [e for e in events if ": outputs: " not in e.detail]  # one event for the sources, one for the outputs
    assert len(sources) == 3 and len(events) == 6
    assert all("siegfried" in e.detail and "DROID" in e.detail for e in events)
    assert sorted(e.outcome for e in sources) == ["success", "success", "warning"]


def test_a_recipe_asks_for_lossless_jpeg_2000_masters(tmp_path):
    import numpy as np
    import pyvips

    from llvscan.collection import RunRecipe

    root = tmp_path / "c"
    root.mkdir()
    pixels = np.random.default_rng(7).integers(0, 65536, (61, 83, 3), dtype=np.uint16)
    pyvips.Image.new_from_array(pixels).copy(interpretation="rgb16").tiffsave(str(root / "scan.tif"))
    summary = run_collection(root, tmp_path / "out", workers=0, report=False, warm_up=False,
                             recipe=RunRecipe().with_image(jp2_master=True))
    assert summary.failed == 0
    with Catalog(tmp_path / "out" / "catalog.sqlite", readonly=True) as cat:
        (master,) = [d for d in cat.derivatives() if d.role == "jp2-master"]
        events = {e.type for e in cat.events()}
    assert master.detail["lossless"] is True and master.detail["reversible"] is True
    assert "migration" in events
    # decoded independently (glymur reads it back), the 16-bit pixels are the source's exactly
    import glymur

    assert np.array_equal(glymur.Jp2k(str(tmp_path / "out" / master.path))[:], pixels)


def test_catalog_verify_sources_catches_a_flipped_byte_in_a_master(tmp_path):
    from click.testing import CliRunner

    from llvscan.catalog import verify_outputs
    from llvscan.cli import cli

    root = tmp_path / "c"
    root.mkdir()
    Image.new("RGB", (64, 48), (10, 20, 30)).save(root / "scan.tif")
    run_collection(root, tmp_path / "out", workers=0, report=False, warm_up=False)
    assert verify_outputs(tmp_path / "out", sources=True).is_intact
    data = bytearray((root / "scan.tif").read_bytes())
    data[-7] ^= 0x01  # same size, one bit
    (root / "scan.tif").write_bytes(bytes(data))
    assert verify_outputs(tmp_path / "out").is_intact  # the outputs alone do not see it
    report = verify_outputs(tmp_path / "out", sources=True)
    assert [(p.role, p.path, p.problem) for p in report.problems] == [("source:main", "scan.tif", "altered")]
    result = CliRunner().invoke(cli, ["catalog", "verify", str(tmp_path / "out"), "--sources"])
    assert result.exit_code == 1 and "scan.tif" in result.output


def test_catalog_export_ocfl_adds_a_version_when_a_source_changes(tmp_path):
    import json

    from click.testing import CliRunner

    from llvscan.cli import cli
    from llvscan.preservation import validate_ocfl

    root = tmp_path / "c"
    root.mkdir()
    Image.new("RGB", (64, 48), (10, 20, 30)).save(root / "a.tif")
    Image.new("RGB", (64, 48), (90, 20, 30)).save(root / "b.tif")
    out, dest = tmp_path / "out", tmp_path / "ocfl"
    run_collection(root, out, workers=0, report=False, warm_up=False)
    first = CliRunner().invoke(cli, ["catalog", "export", str(out), str(dest), "--format", "ocfl", "--json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["objects_created"] == 2 and validate_ocfl(dest).is_valid
    Image.new("RGB", (64, 48), (10, 200, 30)).save(root / "a.tif")
    run_collection(root, out, workers=0, report=False, warm_up=False)
    again = json.loads(CliRunner().invoke(cli, ["catalog", "export", str(out), str(dest), "--format", "ocfl",
                                                "--json"]).stdout)
    assert (again["objects_created"], again["versions_added"], again["unchanged"]) == (0, 1, 1)
    assert validate_ocfl(dest).is_valid


def test_catalog_export_bagit_holds_the_sources_and_passes_its_profile(tmp_path):
    import json

    import bagit
    from click.testing import CliRunner

    from llvscan.cli import cli
    from llvscan.preservation import validate_preservation_bag

    root = tmp_path / "c"
    root.mkdir()
    Image.new("RGB", (64, 48), (10, 20, 30)).save(root / "a.tif")
    out, dest = tmp_path / "out", tmp_path / "bag"
    run_collection(root, out, workers=0, report=False, warm_up=False)
    result = CliRunner().invoke(cli, ["catalog", "export", str(out), str(dest), "--format", "bagit", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["assets"] == 1
    assert validate_preservation_bag(dest).is_valid
    bag = bagit.Bag(str(dest))
    assert any(p.endswith("sources/a.tif") for p in bag.payload_files())
    assert any(p.endswith("premis.xml") for p in bag.payload_files())
    assert "BagIt-Profile-Identifier" in bag.info


def test_premis_in_the_bag_names_the_pronom_formats_the_run_identified(tmp_path):
    import xml.etree.ElementTree as ET

    from llvscan.preservation import write_preservation_bag

    root = tmp_path / "c"
    root.mkdir()
    Image.new("RGB", (64, 48), (10, 20, 30)).save(root / "a.tif")
    out = tmp_path / "out"
    run_collection(root, out, workers=0, report=False, warm_up=False)
    with Catalog(out / "catalog.sqlite", readonly=True) as cat:
        outputs = {d.role: d.puid for d in cat.derivatives()}
    assert outputs["inspection"] is not None and outputs["iiif3"] is None  # a JSON report; a folder of tiles
    write_preservation_bag(out, root, tmp_path / "bag")
    (premis,) = (tmp_path / "bag" / "data").rglob("premis.xml")
    ns = {"p": "http://www.loc.gov/premis/v3"}
    keys = [e.text for e in ET.parse(premis).getroot().iterfind(".//p:formatRegistryKey", ns)]
    assert "fmt/353" in keys
