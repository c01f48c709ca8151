"""Conformance: llvscan's IIIF tiles of the validator's own test image pass the IIIF Image API validator
(level 0, Image API 3 and 2), served from a local HTTP server; the other layouts follow their viewers'
conventions."""

from __future__ import annotations

import functools
import http.server
import json
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from llvscan.imaging import tile_image

TEST_IMAGE = Path(__file__).resolve().parent / "data" / "iiif-validator-test-image.png"
IDENTIFIER = "67352ccc-d1b0-11e1-89ae-279075081939.png"  # the validator asks for this id


@pytest.fixture
def server(tmp_path):
    """A local HTTP server on 127.0.0.1 (ephemeral port) serving ``tmp_path``."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield tmp_path, f"127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_the_validator_test_image_is_here():
    assert TEST_IMAGE.is_file(), f"{TEST_IMAGE} is missing: the conformance tests need it"


@pytest.mark.parametrize(("layout", "version"), [("iiif3", "3.0"), ("iiif2", "2.0")])
def test_iiif_validator_level0_passes(server, layout, version):
    root, host = server
    tile_image(TEST_IMAGE, root / layout / IDENTIFIER, layout=layout, base_url=f"http://{host}/{layout}",
               identifier=IDENTIFIER, tile_size=256)
    validator = Path(sys.executable).with_name("iiif-validate.py")
    run = subprocess.run([sys.executable, str(validator), "-s", host, "-p", layout, "-i", IDENTIFIER,
                          f"--version={version}", "--level", "0"], capture_output=True, text=True, timeout=300)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output  # its exit code is the number of failures
    assert " 0 failures" in output and "FAIL" not in output, output


def test_deep_zoom_follows_openseadragon_conventions(tmp_path):
    result = tile_image(TEST_IMAGE, tmp_path / "dz", layout="dz", identifier="scan", tile_size=254)
    dzi = ET.parse(tmp_path / "dz" / "scan.dzi").getroot()
    assert dzi.get("TileSize") == "254" and dzi.get("Overlap") == "1" and dzi.get("Format") == "jpeg"
    size = dzi[0]
    assert (size.get("Width"), size.get("Height")) == ("1000", "1000")
    levels = sorted(int(p.name) for p in (tmp_path / "dz" / "scan_files").iterdir())
    assert levels == list(range(11))  # 0 (1×1) … 10 (1000×1000): ceil(log2(1000)) + 1 levels
    assert (tmp_path / "dz" / "scan_files" / "10" / "3_3.jpeg").is_file()  # column_row
    assert result.entry == "scan.dzi"


def test_single_file_layouts(tmp_path):
    szi = tile_image(TEST_IMAGE, tmp_path / "szi", layout="szi", identifier="scan")
    with zipfile.ZipFile(tmp_path / "szi" / szi.entry) as archive:
        names = archive.namelist()
    assert any(n.endswith("scan.dzi") for n in names) and any("scan_files/" in n for n in names)
    ptiff = tile_image(TEST_IMAGE, tmp_path / "ptiff", layout="ptiff", identifier="scan", tile_size=256)
    import pyvips

    pages = [pyvips.Image.new_from_file(str(tmp_path / "ptiff" / ptiff.entry), page=i).width for i in range(3)]
    assert pages == [1000, 500, 250]  # the pyramid, each level half the one above


def test_zoomify_properties(tmp_path):
    result = tile_image(TEST_IMAGE, tmp_path / "z", layout="zoomify", tile_size=256)
    props = ET.parse(tmp_path / "z" / result.entry).getroot()
    assert (props.get("WIDTH"), props.get("HEIGHT"), props.get("TILESIZE")) == ("1000", "1000", "256")
    assert (tmp_path / "z" / "TileGroup0" / "0-0-0.jpg").is_file()


def test_iiif2_info_is_level0(tmp_path):
    result = tile_image(TEST_IMAGE, tmp_path / "v2" / "img", layout="iiif2", base_url="https://example.org/iiif",
                        tile_size=256, max_size=512)
    info = json.loads((tmp_path / "v2" / "img" / "info.json").read_text())
    assert info["@id"] == "https://example.org/iiif/img" == result.service_id
    assert info["profile"][0] == "http://iiif.io/api/image/2/level0.json"
    assert info["profile"][1]["maxWidth"] == 512
    for size in info["sizes"]:
        assert (tmp_path / "v2" / "img" / "full" / f"{size['width']}," / "0" / "default.jpg").is_file()
    assert (tmp_path / "v2" / "img" / "full" / "max" / "0" / "default.jpg").is_file()
