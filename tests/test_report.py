"""The static report: what it writes, that hostile collection data stays text, that every link it makes
resolves, and that an update rewrites only what changed. (What a browser makes of it is tested in
``test_report_browser.py``.)

The collection is a small piece of the sample one, plus a JPEG whose file name is an HTML payload, a
file that is not an image, and a sidecar whose title and creator are script payloads.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from click.testing import CliRunner

from llvscan.cli import cli
from llvscan.collection.runner import run_collection
from llvscan.report import build_report

PAYLOAD_NAME = '"><img src=x onerror=alert(1)>.jpg'
PAYLOAD_TITLE = "<img src=x onerror=alert(1)>"
PAYLOAD_CREATOR = "</script><script>alert(2)</script>"


@pytest.fixture(scope="module")
def hostile_run(sample_collection, tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("report")
    collection = base / "collection"
    for folder in ("photos", "tools"):
        shutil.copytree(sample_collection / folder, collection / folder)
    shutil.copy(sample_collection / "photos" / "condition_photo.jpg", collection / "photos" / PAYLOAD_NAME)
    (collection / "photos" / "not-an-image.tif").write_bytes(b"II*\x00 this is no TIFF")
    with (sample_collection / "collection.csv").open(encoding="utf-8") as fh:
        rows = [row for row in csv.DictReader(fh) if row["file"].startswith(("photos/", "tools/"))]
    for row in rows:
        if row["file"] == "tools/bracket.stl":
            row.update(title=PAYLOAD_TITLE, creator=PAYLOAD_CREATOR)
    with (collection / "collection.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    out = base / "out"
    summary = run_collection(collection, out, workers=0)
    assert summary.report == str(out / "report")
    return out


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.scripts: list[str] = []
        self.csp: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("href", "src", "poster"):
            if attrs.get(key):
                self.links.append(attrs[key])
        if tag == "meta" and attrs.get("http-equiv") == "Content-Security-Policy":
            self.csp.append(attrs["content"])
        self._in_script = tag == "script" and attrs.get("type") != "application/json"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.scripts.append(data)


def pages(report: Path) -> list[Path]:
    return sorted(report.glob("*.html")) + sorted((report / "assets").glob("*.html"))


def test_every_asset_has_a_page_and_every_page_resolves_its_links(hostile_run):
    report = hostile_run / "report"
    assets = sorted((report / "assets").glob("*.html"))
    assert len(assets) == 4  # the photo, its hostile twin, the bracket, the broken TIFF
    for page in pages(report):
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        assert parser.csp and "default-src 'self'" in parser.csp[0], page
        assert not parser.scripts, f"{page.name} has an inline script"  # the CSP would block it anyway
        for link in parser.links:
            parts = urlsplit(link)
            if parts.scheme == "data":
                continue
            assert not parts.scheme and not parts.netloc, f"{page.name} links outside the site: {link}"
            target = (page.parent / unquote(parts.path)).resolve()
            assert target.exists(), f"{page.name}: {link} does not exist"


def test_hostile_names_and_metadata_stay_text(hostile_run):
    report = hostile_run / "report"
    for path in [*pages(report), *(report / "data").glob("*.js")]:
        text = path.read_text(encoding="utf-8")
        assert "<img src=x" not in text and "<script>alert" not in text, path
    bracket = next((report / "assets").glob("bracket-*.html")).read_text(encoding="utf-8")
    assert "&lt;img src=x onerror=alert(1)&gt;" in bracket and "&lt;/script&gt;&lt;script&gt;alert(2)" in bracket
    twin = [p for p in (report / "assets").glob("*.html") if "onerror" in p.read_text(encoding="utf-8")]
    assert any("&#34;&gt;&lt;img src=x onerror=alert(1)&gt;.jpg" in p.read_text(encoding="utf-8") for p in twin)
    rows = (report / "data" / "rows-0000.js").read_text(encoding="utf-8")
    assert "\\u003cimg src=x onerror=alert(1)>" in rows  # in the data, "<" never starts a tag


def test_the_overview_names_the_failed_asset_and_the_list_index_counts_facets(hostile_run):
    report = hostile_run / "report"
    overview = report / "index.html"
    assert "photos/not-an-image.tif" in overview.read_text(encoding="utf-8")
    index = json.loads(re.fullmatch(r"llvscan\.index\((.*)\);\n", (report / "data" / "index.js").read_text())[1])
    assert index["total"] == 4 and index["facets"]["status"] == {"failed": 1, "ok": 3}
    rows = json.loads(re.fullmatch(r"llvscan\.rows\((.*)\);\n", (report / "data" / "rows-0000.js").read_text())[1])
    for code, count in index["facets"]["code"].items():
        facet = next((report / "data").glob(f"facet-code-{code.replace('_', '-')}*.js"), None) or next(
            p for p in (report / "data").glob("facet-code-*.js") if f'"key":"{code}"' in p.read_text())
        numbers = json.loads(re.fullmatch(r"llvscan\.facet\((.*)\);\n", facet.read_text())[1])["rows"]
        assert len(numbers) == count
        assert numbers == [n for n, row in enumerate(rows["rows"]) if code in row[6]]


def test_an_update_rewrites_only_what_changed(hostile_run):
    report = hostile_run / "report"
    before = {p: p.stat().st_mtime_ns for p in (report / "assets").glob("*.html")}
    again = build_report(hostile_run)
    assert again.pages_written == 0 and again.pages_kept == 4
    assert {p: p.stat().st_mtime_ns for p in (report / "assets").glob("*.html")} == before


def test_the_cli_writes_the_report_and_refuses_a_folder_without_a_catalog(hostile_run, tmp_path):
    result = CliRunner().invoke(cli, ["report", str(hostile_run), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["assets"] == 4
    empty = CliRunner().invoke(cli, ["report", str(tmp_path)])
    assert empty.exit_code == 2 and "catalog" in empty.output


def test_a_missing_output_costs_its_manifest_not_the_report(hostile_run, tmp_path):
    """A GLB deleted after the run: the report is still written, the mesh keeps its page, its manifest goes."""
    out = tmp_path / "out"
    shutil.copytree(hostile_run, out)
    glbs = sorted(out.glob("assets/bracket-*/lods/*.glb"))
    assert glbs
    for glb in glbs:
        glb.unlink()
    shutil.rmtree(out / "report")
    result = build_report(out)
    assert result.assets == 4
    bracket = next((out / "report" / "assets").glob("bracket-*.html"))
    assert bracket.is_file()
    assert not list((out / "report" / "iiif" / "manifests").glob("bracket-*.json"))
    collection = json.loads((out / "report" / "iiif" / "collection.json").read_text())
    assert collection["items"] and all("bracket" not in item["id"] for item in collection["items"])


def test_a_patched_update_gives_the_list_a_full_build_gives(hostile_run, tmp_path):
    """One asset changes (its title, and its findings replaced by a new code): the update patches its row
    into the shards and filters, and the result is byte for byte what a report made from nothing says."""
    import sqlite3

    out = tmp_path / "out"
    shutil.copytree(hostile_run, out)
    with sqlite3.connect(out / "catalog.sqlite") as db:
        asset_id, run_id = db.execute("SELECT id, last_run_id FROM assets WHERE rel_path = 'tools/bracket.stl'"
                                      ).fetchone()
        db.execute("UPDATE assets SET title = 'Patched <title>' WHERE id = ?", (asset_id,))
        db.execute("DELETE FROM findings WHERE asset_id = ?", (asset_id,))
        db.execute("INSERT INTO findings (asset_id, run_id, source, level, code, message, count) "
                   "VALUES (?, ?, 'validation', 'warning', 'patched_code', 'a new finding', 1)", (asset_id, run_id))
    update = build_report(out, assets=[asset_id])
    assert update.patched and update.pages_written == 1 and update.pages_kept == 0
    fresh = tmp_path / "fresh"
    shutil.copytree(out, fresh)
    shutil.rmtree(fresh / "report")
    full = build_report(fresh)
    assert not full.patched and full.pages_written == 4
    patched = {p.name: p.read_bytes() for p in (out / "report" / "data").iterdir()}
    made = {p.name: p.read_bytes() for p in (fresh / "report" / "data").iterdir()}
    assert patched == made
    assert any(name.startswith("facet-code-") and b'"key":"patched_code"' in data for name, data in made.items())
    page = next((out / "report" / "assets").glob("bracket-*.html")).read_text(encoding="utf-8")
    assert "Patched &lt;title&gt;" in page and "patched_code" in page
    assert (out / "report" / "assets.html").read_bytes() == (fresh / "report" / "assets.html").read_bytes()


def test_an_update_over_a_damaged_list_makes_it_again(hostile_run, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(hostile_run, out)
    (out / "report" / "data" / "rows-0000.js").write_text("garbage")
    from llvscan.catalog import Catalog

    with Catalog(out / "catalog.sqlite", readonly=True) as catalog:
        first = catalog.assets()[0].id
    result = build_report(out, assets=[first])
    assert not result.patched and result.pages_written == 4
    assert (out / "report" / "data" / "rows-0000.js").read_text().startswith("llvscan.rows(")


def test_manifest_ids_follow_the_url_the_run_was_tiled_for(hostile_run, tmp_path):
    """Without --base-url, the report's IIIF ids are under the run's own base URL (its recipe's
    image.base_url, where its tiles say they are served) with /iiif taken off."""
    import sqlite3

    out = tmp_path / "out"
    shutil.copytree(hostile_run, out)
    with sqlite3.connect(out / "catalog.sqlite") as db:
        db.execute("UPDATE runs SET recipe = json_set(recipe, '$.image.base_url', 'https://museum.example/scans/iiif')")
    shutil.rmtree(out / "report")
    build_report(out)
    collection = json.loads((out / "report" / "iiif" / "collection.json").read_text())
    assert collection["id"] == "https://museum.example/scans/report/iiif/collection.json"
    assert collection["items"] and all(i["id"].startswith("https://museum.example/scans/report/iiif/manifests/")
                                       for i in collection["items"])
