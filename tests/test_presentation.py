"""IIIF Presentation 3 for images and meshes: ids and files agree, over HTTP too.

No IIIF Presentation validator installs from PyPI (``iiif-presentation-validator``, the IIIF
presentation-validator project, is not published there, and it pins ``jsonschema<4.18``), so every
document is loaded back into ``iiif_prezi3``'s models (generated from the Presentation 3 schema) and
its shape is checked here: language maps, painting annotations that target their canvas.
"""

from __future__ import annotations

import csv
import functools
import json
import os
import re
import struct
import threading
import urllib.request
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import gradient_image

from llvscan.catalog import Catalog
from llvscan.catalog.presentation import WEB_MAX_FACES, PresentationResult, write_presentation
from llvscan.collection import RunRecipe, run_collection
from llvscan.collection.recipe import ImageRecipe, MeshRecipe

HOSTILE_TITLE = "<img src=x onerror=alert(1)>"
HOSTILE_FILE = '"><script>x.png'
BASE = "https://museum.example/p3"

# two levels, no baking, no fidelity renders: LODs of a 1280-face sphere in well under a second
TINY_LODS = """name = "tiny"
thumbnail_size = 64
fidelity = false
[[level]]
name = "web"
usage = "Web3D"
quality = "Low"
faces = 300
texture_size = 64
[[level]]
name = "full"
usage = "Editorial3D"
quality = "Highest"
ratio = 1.0
texture_size = 64
compression = "none"
"""


@pytest.fixture(scope="module")
def run_out(tmp_path_factory) -> Path:
    """A run over two images (one with a hostile title, one with a hostile file name) and one mesh."""
    import trimesh

    base = tmp_path_factory.mktemp("presentation")
    root = base / "collection"
    (root / "img").mkdir(parents=True)
    (root / "mesh").mkdir()
    gradient_image(root / "img" / "plate.tif", 301, 203)
    gradient_image(root / "img" / HOSTILE_FILE, 97, 61)
    trimesh.creation.icosphere(subdivisions=3).export(root / "mesh" / "ball.obj")
    with (root / "collection.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "title", "creator", "date", "object_number", "rights"])
        writer.writerow(["img/plate.tif", HOSTILE_TITLE, "A & B", "1900", "OBJ-1",
                         "https://creativecommons.org/licenses/by/4.0/"])
        writer.writerow(["mesh/ball.obj", "Ball", "Maker", "2001", "OBJ-2", "© all rights reserved"])
    (base / "tiny.toml").write_text(TINY_LODS, encoding="utf-8")
    recipe = RunRecipe(mesh=MeshRecipe(lods=str(base / "tiny.toml"), units="mm"),
                       image=ImageRecipe(max_size=256, tile_size=128))
    summary = run_collection(root, base / "out", workers=0, recipe=recipe)
    assert (summary.ok, summary.failed) == (3, 0)
    return base / "out"


@pytest.fixture(scope="module")
def rows(run_out):
    with Catalog(run_out / "catalog.sqlite", readonly=True) as cat:
        return {a.rel_path: a for a in cat.assets()}, cat.derivatives()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def serve() -> Iterator:
    """serve(folder) -> the http://127.0.0.1:PORT URL a threaded server answers for ``folder`` at."""
    servers = []

    def start(folder: Path) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200, url
        return response.read()


def _write(run_out: Path, dest: Path, base: str = BASE, files: str = "http://files.example",
           **kwargs) -> PresentationResult:
    with Catalog(run_out / "catalog.sqlite", readonly=True) as cat:
        return write_presentation(cat, run_out, dest, base_url=base, tiles_url=files + "/iiif", files_url=files,
                                  **kwargs)


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _documents(dest: Path) -> list[dict]:
    return [_load(dest / "collection.json"), *(_load(p) for p in sorted((dest / "manifests").glob("*.json")))]


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def _by_label(dest: Path, label: str) -> dict:
    return next(m for m in _documents(dest)[1:] if m["label"]["none"] == [label])


def test_ids_and_files_agree_over_http(run_out, rows, tmp_path, serve):
    dest = tmp_path / "p3"
    dest.mkdir()
    base, files = serve(dest), serve(run_out)
    result = _write(run_out, dest, base=base + "/", files=files)
    assert (result.collection, result.manifests, result.images, result.meshes) == ("collection.json", 3, 2, 1)
    assert result.base_url == base
    collection = _load(dest / "collection.json")
    assert collection["id"] == f"{base}/collection.json" and collection["type"] == "Collection"
    assert json.loads(_fetch(collection["id"])) == collection
    assert len(collection["items"]) == 3
    assert sorted(p.name for p in (dest / "manifests").iterdir()) == sorted(
        item["id"].rpartition("/")[2] for item in collection["items"])
    for ref in collection["items"]:
        assert ref["id"].startswith(f"{base}/manifests/")
        path = dest / ref["id"].removeprefix(base + "/")
        manifest = _load(path)
        assert manifest["id"] == ref["id"] and manifest["label"] == ref["label"]
        assert json.loads(_fetch(ref["id"])) == manifest
        assert manifest["thumbnail"] == ref["thumbnail"]
        for thumb in manifest["thumbnail"]:
            assert _fetch(thumb["id"])
        (canvas,) = manifest["items"]
        body = canvas["items"][0]["items"][0]["body"]
        assert _fetch(body["id"])
        for service in body.get("service", []):  # tiles_url, not the host the run wrote into info.json
            info = json.loads(_fetch(service["id"] + "/info.json"))
            assert service["id"].startswith(f"{files}/iiif/") and info["id"] != service["id"]
            assert (canvas["width"], canvas["height"]) == (info["width"], info["height"])
            (thumb,) = manifest["thumbnail"]
            assert {"width": thumb["width"], "height": thumb["height"]} in info["sizes"]


def test_mesh_manifest(run_out, rows, tmp_path, serve):
    assets, derivatives = rows
    ball = assets["mesh/ball.obj"]
    lods = {d.level: d for d in derivatives if d.asset_id == ball.id and d.role == "lod"}
    scene = next(d for d in derivatives if d.asset_id == ball.id and d.role == "scene")
    files = serve(run_out)
    _write(run_out, tmp_path / "p3", files=files)
    manifest = _by_label(tmp_path / "p3", "Ball")
    assert manifest["id"] == f"{BASE}/manifests/ball-{ball.id[:8]}.json"
    (canvas,) = manifest["items"]
    (page,) = canvas["items"]
    (annotation,) = page["items"]
    assert (annotation["motivation"], annotation["target"]) == ("painting", canvas["id"])
    body = annotation["body"]
    # the web level: the finest Web3D level of at most WEB_MAX_FACES faces
    assert lods["web"].detail["usage"] == "Web3D" and lods["web"].faces <= WEB_MAX_FACES
    assert body == {"id": f"{files}/{lods['web'].path}", "type": "Model", "format": "model/gltf-binary"}
    assert _fetch(body["id"])[:4] == b"glTF"
    (thumb,) = manifest["thumbnail"]
    assert (thumb["type"], thumb["format"]) == ("Image", "image/png")
    assert _png_size(_fetch(thumb["id"])) == (thumb["width"], thumb["height"]) == (64, 64)
    assert (canvas["width"], canvas["height"]) == (64, 64)
    rendering = {r["label"]["en"][0]: r for r in manifest["rendering"]}
    assert set(rendering) == {f"{name} ({d.faces:,} faces)" for name, d in lods.items()}
    for name, level in lods.items():
        entry = rendering[f"{name} ({level.faces:,} faces)"]
        assert (entry["id"], entry["type"], entry["format"]) == (f"{files}/{level.path}", "Model",
                                                                  level.detail["mime_type"])
        assert _fetch(entry["id"])[:4] == b"glTF"
    (svx,) = manifest["seeAlso"]
    assert svx["id"] == f"{files}/{scene.path}" and svx["format"] == "application/json"
    assert "dpo-voyager" in svx["profile"] and "Voyager" in svx["label"]["en"][0]
    assert json.loads(_fetch(svx["id"]))["asset"]["type"] == "application/si-dpo-3d.document+json"
    assert "rights" not in manifest  # free text: kept as metadata
    assert {"label": {"en": ["Rights"]}, "value": {"none": ["© all rights reserved"]}} in manifest["metadata"]


def test_every_document_loads_into_the_presentation_3_models(run_out, tmp_path):
    from iiif_prezi3 import Collection, Manifest

    _write(run_out, tmp_path / "p3")
    collection, *manifests = _documents(tmp_path / "p3")
    assert json.loads(Collection(**collection).json())["items"] == collection["items"]
    for manifest in manifests:
        assert manifest["@context"] == "http://iiif.io/api/presentation/3/context.json"
        loaded = json.loads(Manifest(**manifest).json())
        assert loaded["items"] == manifest["items"] and loaded["id"] == manifest["id"]
        for language_map in [manifest["label"], *(m[k] for m in manifest.get("metadata", []) for k in ("label",
                                                                                                        "value"))]:
            assert all(isinstance(v, list) and all(isinstance(s, str) for s in v) for v in language_map.values())
        if "rights" in manifest:
            assert re.match(r"^http://(creativecommons|rightsstatements)\.org/", manifest["rights"])


def test_hostile_metadata_stays_a_plain_string(run_out, rows, tmp_path):
    assets, _ = rows
    _write(run_out, tmp_path / "p3")
    plate = _by_label(tmp_path / "p3", HOSTILE_TITLE)
    assert {"label": {"en": ["Title"]}, "value": {"none": [HOSTILE_TITLE]}} in plate["metadata"]
    assert plate["summary"] == {"none": ["A & B, 1900 (OBJ-1)"]}  # not &amp;
    assert plate["rights"] == "http://creativecommons.org/licenses/by/4.0/"
    odd = _by_label(tmp_path / "p3", HOSTILE_FILE)  # no title: the file name, as it is
    hostile = assets[f"img/{HOSTILE_FILE}"]
    assert odd["id"] == f"{BASE}/manifests/script-x-{hostile.id[:8]}.json"
    text = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "p3" / "manifests").glob("*.json"))
    assert "&lt;" not in text and "&quot;" not in text
    for document in _documents(tmp_path / "p3"):
        for ref in [document, *document.get("items", [])]:
            assert re.fullmatch(r"https?://[A-Za-z0-9.:/_,-]+\.json|https?://[A-Za-z0-9.:/_,-]+", ref["id"])


def test_incremental_rewrites_one_manifest_and_the_collection(run_out, rows, tmp_path):
    assets, _ = rows
    dest = tmp_path / "p3"
    _write(run_out, dest)
    old = 1_000_000_000
    for path in [dest / "collection.json", *(dest / "manifests").iterdir()]:
        os.utime(path, ns=(old, old))
    ball = assets["mesh/ball.obj"]
    result = _write(run_out, dest, assets=[ball.id])
    assert (result.manifests, result.images, result.meshes) == (1, 2, 1)
    times = {p.name: p.stat().st_mtime_ns for p in (dest / "manifests").iterdir()}
    assert {name for name, t in times.items() if t != old} == {f"ball-{ball.id[:8]}.json"}
    assert len(times) == 3 and (dest / "collection.json").stat().st_mtime_ns != old
    assert len(_load(dest / "collection.json")["items"]) == 3


def test_incremental_starts_from_nothing_and_a_full_write_drops_strays(run_out, rows, tmp_path):
    assets, _ = rows
    dest = tmp_path / "p3"
    ball = assets["mesh/ball.obj"]
    _write(run_out, dest, assets=[ball.id])
    assert [item["id"] for item in _load(dest / "collection.json")["items"]] == [
        f"{BASE}/manifests/ball-{ball.id[:8]}.json"]
    (dest / "manifests" / "gone-0123abcd.json").write_text("{}", encoding="utf-8")
    result = _write(run_out, dest)
    assert result.manifests == 3 and not (dest / "manifests" / "gone-0123abcd.json").exists()
    assert not [p for p in dest.rglob(".*")]  # no temporaries left behind
