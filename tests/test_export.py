"""Exports of a run: JSON, CSV, Parquet (optional dependency), IIIF Presentation 3, BagIt."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from llvscan.catalog import Catalog
from llvscan.catalog.export import export_catalog, iiif_rights
from llvscan.cli import cli
from llvscan.collection import run_collection
from llvscan.errors import CatalogError, InvalidParameterError, MissingDependencyError

PHOTO = "photos/condition_photo.jpg"


@pytest.fixture(scope="module")
def run_out(sample_collection, tmp_path_factory) -> Path:
    """A run over a small subset of the sample collection: one image, one mesh, and the sidecar."""
    base = tmp_path_factory.mktemp("export")
    collection = base / "collection"
    for folder in ("photos", "tools"):
        shutil.copytree(sample_collection / folder, collection / folder)
    shutil.copy(sample_collection / "collection.csv", collection / "collection.csv")
    out = base / "out"
    summary = run_collection(collection, out, workers=0)
    assert (summary.ok, summary.failed) == (2, 0)
    return out


@pytest.fixture(scope="module")
def catalog_rows(run_out):
    with Catalog(run_out / "catalog.sqlite", readonly=True) as cat:
        return {a.rel_path: a for a in cat.assets()}


@pytest.fixture(scope="module")
def sidecar(sample_collection) -> dict[str, dict[str, str]]:
    with (sample_collection / "collection.csv").open(encoding="utf-8") as fh:
        return {row["file"]: row for row in csv.DictReader(fh)}


def test_json_has_every_asset(run_out, catalog_rows, tmp_path):
    result = export_catalog(run_out, tmp_path / "json", format="json")
    assert (result.format, result.files, result.assets) == ("json", 1, len(catalog_rows))
    data = json.loads((tmp_path / "json" / "catalog.json").read_text(encoding="utf-8"))
    assert {a["rel_path"] for a in data["assets"]} == set(catalog_rows)
    assert set(data) >= {"assets", "files", "derivatives", "findings", "attempts", "events", "runs"}
    assert {f["rel_path"] for f in data["files"]} >= set(catalog_rows)
    # the bracket: validation, 6 LOD levels, scene, thumbnail; the photo: inspection and tiles
    assert len(data["derivatives"]) == 11 and data["events"] and len(data["attempts"]) == 2
    assert data["runs"][0]["recipe"]["image"]["layouts"] == ["iiif3"]
    assert {f["code"] for f in data["findings"]} >= {"clipped_highlights"}
    photo = next(a for a in data["assets"] if a["rel_path"] == PHOTO)
    assert photo["measurements"]["width"] == 1237  # decoded, not a JSON string


def test_csv_rows_and_sidecar_columns(run_out, catalog_rows, sidecar, tmp_path):
    export_catalog(run_out, tmp_path / "csv", format="csv")
    with (tmp_path / "csv" / "assets.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(catalog_rows)
    for row in rows:
        for column in ("object_number", "title", "creator", "date", "rights"):
            assert row[column] == sidecar[row["rel_path"]][column]
    photo = next(r for r in rows if r["rel_path"] == PHOTO)
    assert (photo["measurements.width"], photo["measurements.height"]) == ("1237", "811")
    with (tmp_path / "csv" / "derivatives.csv").open(encoding="utf-8", newline="") as fh:
        derivatives = list(csv.DictReader(fh))
    assert {(d["asset_path"], d["role"]) for d in derivatives} == {
        (PHOTO, "iiif3"), (PHOTO, "inspection"), *(("tools/bracket.stl", role) for role in
                                                   ("validation", "lod", "scene", "thumbnail"))}
    thumb = next(d for d in derivatives if d["level"] == "thumb")
    assert int(thumb["faces"]) <= 20_000 and float(thumb["hausdorff_pct"]) >= 0
    with (tmp_path / "csv" / "findings.csv").open(encoding="utf-8", newline="") as fh:
        findings = list(csv.DictReader(fh))
    assert (PHOTO, "inspection", "warning", "clipped_highlights") in {
        (f["asset_path"], f["source"], f["level"], f["code"]) for f in findings}


def test_parquet_without_pyarrow_names_the_pip_command(run_out, tmp_path):
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("pyarrow is installed")
    with pytest.raises(MissingDependencyError, match="pip install pyarrow"):
        export_catalog(run_out, tmp_path / "parquet", format="parquet")
    assert not (tmp_path / "parquet").exists()


def test_iiif_manifest_per_ok_asset(run_out, catalog_rows, sidecar, tmp_path):
    dest = tmp_path / "iiif"
    result = export_catalog(run_out, dest, format="iiif")
    collection = json.loads((dest / "collection.json").read_text(encoding="utf-8"))
    shown = [a for a in catalog_rows.values() if a.kind in ("image", "mesh") and a.status == "ok"]
    assert result.assets == len(collection["items"]) == len(shown) == 2  # the photo and the bracket
    assert collection["type"] == "Collection"
    assert collection["id"] == "http://localhost:8000/manifests/collection.json"
    photo = catalog_rows[PHOTO]
    name = f"condition_photo-{photo.id[:8]}"
    # served at its base URL, DEST answers every id: BASE/manifests/<name>.json is DEST/manifests/<name>.json
    ref = next(item for item in collection["items"] if name in item["id"])
    assert ref["id"] == f"http://localhost:8000/manifests/manifests/{name}.json"
    assert (ref["type"], ref["label"]) == ("Manifest", {"none": [sidecar[PHOTO]["title"]]})
    manifest = json.loads((dest / "manifests" / f"{name}.json").read_text(encoding="utf-8"))
    assert ref["thumbnail"] == manifest["thumbnail"]
    info = json.loads((run_out / "iiif" / name / "info.json").read_text(encoding="utf-8"))
    measurements = photo.measurements
    assert manifest["@context"] == "http://iiif.io/api/presentation/3/context.json"
    assert manifest["id"] == ref["id"]
    (canvas,) = manifest["items"]
    assert (canvas["width"], canvas["height"]) == (measurements["width"], measurements["height"]) == (1237, 811)
    (page,) = canvas["items"]
    (annotation,) = page["items"]
    assert annotation["motivation"] == "painting" and annotation["target"] == canvas["id"]
    body = annotation["body"]
    assert body["type"] == "Image" and body["id"] == f"{info['id']}/full/max/0/default.jpg"
    assert (run_out / "iiif" / name / "full" / "max" / "0" / "default.jpg").is_file()
    (service,) = body["service"]
    assert service == {"id": info["id"], "type": "ImageService3", "profile": "level0"}  # the run's base URL
    (thumb,) = manifest["thumbnail"]
    w, h = thumb["width"], thumb["height"]
    assert {"width": w, "height": h} in info["sizes"] and thumb["id"] == f"{info['id']}/full/{w},{h}/0/default.jpg"
    assert (run_out / "iiif" / name / "full" / f"{w},{h}" / "0" / "default.jpg").is_file()
    row = sidecar[PHOTO]
    assert manifest["rights"] == row["rights"] == "http://creativecommons.org/licenses/by/4.0/"
    values = {m["label"]["en"][0]: m["value"]["none"][0] for m in manifest["metadata"]}
    assert values == {"Object number": row["object_number"], "Title": row["title"], "Creator": row["creator"],
                      "Date": row["date"]}
    assert row["creator"] in manifest["summary"]["none"][0]


def test_iiif_explicit_base_url(run_out, tmp_path):
    export_catalog(run_out, tmp_path / "iiif", format="iiif", base_url="https://museum.example/p3/")
    collection = json.loads((tmp_path / "iiif" / "collection.json").read_text(encoding="utf-8"))
    assert collection["id"] == "https://museum.example/p3/collection.json"
    ids = sorted(item["id"] for item in collection["items"])
    assert ids[0].startswith("https://museum.example/p3/manifests/bracket-")
    assert ids[1].startswith("https://museum.example/p3/manifests/condition_photo-")
    for item_id in ids:
        assert (tmp_path / "iiif" / item_id.removeprefix("https://museum.example/p3/")).is_file()


@pytest.mark.parametrize(("value", "expected"), [
    ("http://creativecommons.org/licenses/by/4.0/", "http://creativecommons.org/licenses/by/4.0/"),
    ("https://creativecommons.org/publicdomain/zero/1.0/", "http://creativecommons.org/publicdomain/zero/1.0/"),
    ("https://rightsstatements.org/vocab/InC/1.0/", "http://rightsstatements.org/vocab/InC/1.0/"),
    ("© Museum, all rights reserved", None),
    ("https://museum.example/licence", None),
    ("", None),
    (None, None),
])
def test_iiif_rights(value, expected):
    assert iiif_rights(value) == expected


def test_export_replaces_dest_atomically(run_out, tmp_path):
    dest = tmp_path / "json"
    dest.mkdir()
    (dest / "stale.txt").write_text("old")
    export_catalog(run_out, dest, format="json")
    assert sorted(p.name for p in dest.iterdir()) == ["catalog.json"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_missing_catalog(tmp_path):
    with pytest.raises(CatalogError, match="no catalog") as info:
        export_catalog(tmp_path, tmp_path.parent / "dest", format="json")
    assert str(tmp_path) in str(info.value)


@pytest.mark.parametrize("inner", ["iiif/x", "assets", "."])
def test_refuses_dest_in_the_output_trees(run_out, inner):
    with pytest.raises(InvalidParameterError):
        export_catalog(run_out, run_out / inner, format="json")
    with pytest.raises(InvalidParameterError):
        export_catalog(run_out, run_out.parent, format="json")


def test_unknown_format(run_out, tmp_path):
    with pytest.raises(InvalidParameterError, match="json, csv"):
        export_catalog(run_out, tmp_path / "x", format="xml")


def test_cli_export(run_out, tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["catalog", "export", str(run_out), str(tmp_path / "j"), "--format", "json",
                                 "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["files"] == 1
    result = runner.invoke(cli, ["catalog", "export", str(run_out), str(tmp_path / "i"), "--format", "iiif"])
    assert result.exit_code == 0, result.output
    assert "2 asset(s)" in result.output
    assert runner.invoke(cli, ["catalog", "export", str(tmp_path / "nothing"), str(tmp_path / "d"),
                               "--format", "csv"]).exit_code == 1
    assert runner.invoke(cli, ["catalog", "export", str(run_out), str(run_out / "iiif"),
                               "--format", "csv"]).exit_code == 2
    assert runner.invoke(cli, ["catalog", "export", str(run_out), str(tmp_path / "d"),
                               "--format", "xml"]).exit_code == 2
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        result = runner.invoke(cli, ["catalog", "export", str(run_out), str(tmp_path / "p"), "--format", "parquet"])
        assert result.exit_code == 1 and "pip install pyarrow" in result.output
