"""The report of a run, opened in a real browser (headless Chromium, WebGL on SwiftShader).

One small run, shared by the module: the sample collection's textured bust (two Draco GLB levels, the
finer one with baked normal and occlusion maps), the damaged fragment (invalid: boundary and
non-manifold edges, shown as hotspots), the landscape painting (a IIIF pyramid), a file that is no
image (a failed asset), and two hostile strings: the bust's sidecar title is an HTML payload, and a
small valid TIFF is named as one. The output folder is served whole from 127.0.0.1, so the pages'
``../../assets/…`` levels and ``../../iiif/…`` tiles resolve as they do when a person serves it.

What a browser must make of it: every page opens without a console error, a failed request, a request
leaving 127.0.0.1 or a dialog (no payload runs); the mesh page draws the bust with its painted texture
and switches levels; the image page reaches the pyramid's full resolution; the list filters by finding
code and status exactly as the catalog says and finds the hostile title as text; axe-core finds nothing
critical; the overview and the list work from file:// too. With ``$LLVSCAN_SCREENSHOTS`` set, the
overview, the mesh page and the image page are saved there as PNGs.
"""

from __future__ import annotations

import colorsys
import csv
import io
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from browser import TIMING_NOTES, axe, open_page, serve
from PIL import Image

from llvscan.catalog import Catalog
from llvscan.collection.recipe import load_run_recipe
from llvscan.collection.runner import run_collection
from llvscan.report.site import page_name

PAYLOAD_TITLE = "<img src=x onerror=alert(1)>"
PAYLOAD_NAME = '"><svg onload=alert(1)>.tif'
PAYLOADS = (PAYLOAD_TITLE, "onerror=alert", "onload=alert", "alert(1)")
WAIT_MS = 90_000  # the machine is slow and shared: SwiftShader draws on the CPU
SCREENSHOTS_ENV = "LLVSCAN_SCREENSHOTS"
IGNORED = TIMING_NOTES  # model-viewer's slow-frame note on a busy CPU (tests/browser.py)

# two GLB levels (Draco, as the web levels always are), the finer one with baked maps; no fidelity
# renders: this run exists to be looked at, and the voyager recipe's six levels take a while on 2 cores
LOD_RECIPE = """\
name = "browser-test"
thumbnail_size = 256
fidelity = false

[[level]]
name = "low"
usage = "Web3D"
quality = "Low"
faces = 20000
texture_size = 512
bake = ["normal", "occlusion"]

[[level]]
name = "thumb"
usage = "Web3D"
quality = "Thumb"
faces = 4000
texture_size = 256
"""
RUN_RECIPE = """\
[mesh]
lods = "lods.toml"
lods_for_invalid = true   # the damaged fragment gets a level, so its problems show as hotspots
"""

# a model is shown once model-viewer says so; `load` events counted from the test's listener on
MODEL_SHOWN = "() => { const m = document.getElementById('model'); return !!m && m.loaded && m.modelIsVisible; }"
OSD_OPEN = "() => self.llvscanViewer && llvscanViewer.world.getItemCount() === 1"
OSD_LOADED = "() => llvscanViewer.world.getItemAt(0).getFullyLoaded()"
LIST_ROWS = "() => Array.from(document.querySelectorAll('#list tbody tr'), tr => tr.dataset.name).sort()"


# ---------------------------------------------------------------------------------------------------
# the run


@pytest.fixture(scope="module")
def run_out(sample_collection: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    import pyvips

    base = tmp_path_factory.mktemp("report-browser")
    collection = base / "collection"
    for folder in ("sculpture", "damaged", "paintings"):
        shutil.copytree(sample_collection / folder, collection / folder)
    (collection / "broken").mkdir()
    shutil.copy(sample_collection / "broken" / "garbage.tif", collection / "broken" / "garbage.tif")
    # a small valid image named as a payload: its page, tiles and list row all carry the name
    xy = pyvips.Image.xyz(96, 64)
    tiny = (xy[0] * 2 + 40).bandjoin([xy[1] * 3 + 30, xy[0] * 0 + 128]).cast("uchar").copy(interpretation="srgb")
    tiny.write_to_file(str(collection / "paintings" / PAYLOAD_NAME))
    with (sample_collection / "collection.csv").open(encoding="utf-8") as fh:
        rows = [row for row in csv.DictReader(fh)
                if row["file"].startswith(("sculpture/", "damaged/", "paintings/"))]
    for row in rows:
        if row["file"] == "sculpture/bust.obj":
            row["title"] = PAYLOAD_TITLE
    with (collection / "collection.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (base / "lods.toml").write_text(LOD_RECIPE, encoding="utf-8")
    (base / "run.toml").write_text(RUN_RECIPE, encoding="utf-8")
    out = base / "out"
    summary = run_collection(collection, out, workers=0, recipe=load_run_recipe(base / "run.toml"))
    assert summary.report == str(out / "report")
    assert (summary.total, summary.ok, summary.failed) == (7, 6, 1), summary
    return out


@pytest.fixture(scope="module")
def catalog(run_out: Path) -> dict[str, Any]:
    """What the pages should show, read from the catalog: pages by asset, codes, levels."""
    with Catalog(run_out / "catalog.sqlite", readonly=True) as db:
        assets = db.assets()
        findings = db.findings()
        derivatives = db.derivatives()
    names = {a.id: page_name(a) for a in assets}
    by_path = {a.rel_path: a for a in assets}
    return {
        "assets": assets, "names": names, "by_path": by_path,
        "codes": {code: sorted({names[f.asset_id] for f in findings if f.code == code})
                  for code in {f.code for f in findings}},
        "levels": {d.path: d.faces for d in derivatives if d.role == "lod"},
    }


@pytest.fixture(scope="module")
def site(run_out: Path) -> Iterator[str]:
    """The whole output folder served; yields the report's URL (…/report)."""
    with serve(run_out) as base:
        yield f"{base}/report"


# ---------------------------------------------------------------------------------------------------
# helpers


def _open(chromium: Any, url: str, viewport: tuple[int, int] = (1280, 900)) -> tuple[Any, Any, list[str]]:
    """``open_page`` with every console message recorded too (not only errors and warnings)."""
    page, log = open_page(chromium, "about:blank", viewport=viewport, timeout_ms=WAIT_MS)
    said: list[str] = []
    page.on("console", lambda message: said.append(f"{message.type}: {message.text}"))
    page.goto(url, wait_until="load")
    return page, log, said


def _wait(page: Any, log: Any, expression: str, what: str, arg: Any = None, timeout: float = WAIT_MS) -> None:
    """``wait_for_function`` that fails saying what did not happen and what the page logged."""
    try:
        page.wait_for_function(expression, arg=arg, timeout=timeout, polling=100)
    except Exception as exc:
        raise AssertionError(f"{what} (after {timeout / 1000:.0f} s on {page.url}); the page's problems: "
                             f"{log.problems(ignore=IGNORED)}") from exc


def _assert_clean(page: Any, log: Any, said: list[str], origin: str | None) -> None:
    """No problem, no dialog, no payload in the console, and (served) nothing asked of another host."""
    assert log.dialogs == [], f"{page.url}: a payload ran: {log.dialogs}"
    assert log.problems(ignore=IGNORED) == [], f"{page.url}: {log.problems(ignore=IGNORED)}"
    echoed = [line for line in said if any(p in line for p in PAYLOADS)]
    assert echoed == [], f"{page.url}: the console mentions a payload: {echoed}"
    injected = page.evaluate("() => document.querySelectorAll('img[src=\"x\"], svg[onload], [onerror]').length")
    assert injected == 0, f"{page.url}: a payload became markup"
    if origin is not None:
        strays = [u for u in log.requests if not u.startswith((origin, "data:", "blob:"))]
        assert strays == [], f"{page.url}: requests outside {origin}: {strays}"


def _origin(url: str) -> str:
    return re.match(r"https?://[^/]+/", url)[0]


def _screenshot(page: Any, name: str, **options: Any) -> None:
    folder = os.environ.get(SCREENSHOTS_ENV)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), **options)


def _critical(violations: list[dict]) -> list[tuple[str, str, int]]:
    return [(v["id"], v["help"], len(v["nodes"])) for v in violations if v.get("impact") == "critical"]


def _page_url(site: str, catalog: dict[str, Any], rel_path: str) -> str:
    return f"{site}/assets/{catalog['names'][catalog['by_path'][rel_path].id]}.html"


def _model_pixels(page: Any) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(page.locator("#model").screenshot())).convert("RGB")).astype(int)


def _hues(pixels: np.ndarray, background: np.ndarray) -> tuple[float, np.ndarray, float]:
    """(share of the element drawn over the background, hue histogram of the drawn coloured pixels in
    12 bins of 30°, share of drawn pixels that are coloured).

    The bust's atlas is pastel (lit by model-viewer's neutral environment its saturation is 0.09–0.17,
    median 0.11; the front view shows a green chart, a pink and an orange one and a little blue): coloured
    is saturation above 0.06, which an untextured grey model (saturation ~0) never reaches."""
    drawn = np.abs(pixels - background).max(axis=2) > 30
    model = pixels[drawn] / 255.0
    if not len(model):
        return 0.0, np.zeros(12), 0.0
    hsv = np.array([colorsys.rgb_to_hsv(*p) for p in model[:: max(1, len(model) // 20_000)]])
    coloured = hsv[(hsv[:, 1] > 0.06) & (hsv[:, 2] > 0.15)]
    histogram = np.histogram(coloured[:, 0] * 360, bins=12, range=(0, 360))[0] / max(len(coloured), 1)
    return float(drawn.mean()), histogram, len(coloured) / len(hsv)


# ---------------------------------------------------------------------------------------------------
# the tests


def test_every_page_opens_clean_and_no_payload_runs(chromium, site, catalog):
    """Check 1: every page (overview, list, each asset's) without a console error, a failed or foreign
    request, a dialog or a payload echoed; mesh pages after their model loaded, image pages after the
    tiles of the first view did; the damaged fragment's hotspots appear when asked for."""
    pages = [f"{site}/index.html", f"{site}/assets.html"]
    pages += [f"{site}/assets/{catalog['names'][a.id]}.html" for a in catalog["assets"]]
    for url in pages:
        page, log, said = _open(chromium, url)
        try:
            kind = page.evaluate("() => document.getElementById('model') ? 'mesh' :"
                                 " document.getElementById('osd') ? 'image' :"
                                 " document.getElementById('list') ? 'list' : 'page'")
            if kind == "mesh":
                _wait(page, log, MODEL_SHOWN, "model-viewer did not show the model")
            elif kind == "image":
                _wait(page, log, OSD_OPEN, "OpenSeadragon did not open the tiles")
                _wait(page, log, OSD_LOADED, "OpenSeadragon did not load the first view's tiles")
            elif kind == "list":
                _wait(page, log, "n => document.querySelectorAll('#list tbody tr').length === n",
                      "the list did not show every asset", arg=len(catalog["assets"]))
            if page.locator("#problems").count():
                expected = len(page.evaluate("() => JSON.parse(document.getElementById('model').dataset.problems)"))
                assert expected > 0
                page.locator("#problems").check()
                _wait(page, log, "n => document.querySelectorAll('#model .hotspot').length === n",
                      f"the {expected} problem hotspots did not appear", arg=expected)
                kinds = set(page.evaluate("() => Array.from(document.querySelectorAll('#model .hotspot'),"
                                          " b => b.classList[1])"))
                assert {"boundary_edges", "non_manifold_edges"} <= kinds, kinds
            page.wait_for_timeout(200)  # late console messages of the last frames
            _assert_clean(page, log, said, _origin(site))
        finally:
            page.context.close()


def test_the_mesh_page_draws_the_textured_bust_and_switches_levels(chromium, site, catalog):
    """Check 2: the bust drawn with its painted atlas (a spread of hues, not a flat grey); choosing the
    other level shows its face count, points model-viewer at its GLB and loads it. Draco is decoded by
    the vendored decoder."""
    page, log, said = _open(chromium, _page_url(site, catalog, "sculpture/bust.obj"))
    try:
        _wait(page, log, MODEL_SHOWN, "model-viewer did not show the bust")
        page.wait_for_timeout(500)  # a few more frames: the textures arrive after the geometry
        background = np.array([238, 238, 238])  # .viewer's #eee behind the transparent canvas
        drawn, hues, coloured = _hues(_model_pixels(page), background)
        assert drawn > 0.05, f"the model covers {drawn:.1%} of the viewer: {log.problems()}"
        assert coloured > 0.5, f"only {coloured:.1%} of the model is coloured: the texture is missing"
        assert (hues > 0.05).sum() >= 2, f"the model shows one hue only: {np.round(hues, 3)}"
        assert any("/vendor/draco/draco_decoder.wasm" in u for u in log.requests), log.requests
        _screenshot(page, "mesh")

        options = page.evaluate("() => Array.from(document.getElementById('level').options,"
                                " o => ({value: o.value, faces: o.dataset.faces, selected: o.selected}))")
        assert len(options) >= 2, options
        levels = {path: faces for path, faces in catalog["levels"].items() if "/bust-" in path}
        assert len(set(levels.values())) >= 2, levels
        current = next(o for o in options if o["selected"])
        assert page.locator("#faces").inner_text() == f"{int(current['faces']):,} faces"
        other = next(o for o in options if not o["selected"] and o["faces"] != current["faces"])
        faces = levels[other["value"].removeprefix("../../")]
        assert int(other["faces"]) == faces
        page.evaluate("() => { window.loads = 0;"
                      " document.getElementById('model').addEventListener('load', () => { window.loads += 1; }); }")
        page.select_option("#level", other["value"])
        assert page.locator("#faces").inner_text() == f"{faces:,} faces"
        assert page.locator("#model").get_attribute("src") == other["value"]
        _wait(page, log, f"() => window.loads > 0 && ({MODEL_SHOWN})()", f"the {faces}-face level did not load")
        wanted = other["value"].removeprefix("../..")
        assert any(u.endswith(wanted) for u in log.requests), (wanted, log.requests)
        page.wait_for_timeout(300)
        drawn, _, coloured = _hues(_model_pixels(page), background)
        assert drawn > 0.05 and coloured > 0.5, (drawn, coloured, log.problems())

        violations = axe(page)
        assert _critical(violations) == [], _critical(violations)
        _assert_clean(page, log, said, _origin(site))
    finally:
        page.context.close()


def test_the_image_page_reaches_full_resolution(chromium, site, catalog):
    """Check 3: OpenSeadragon on the painting's pyramid, zoomed to 1:1, loads full-resolution tiles and
    no tile is missing."""
    asset = catalog["by_path"]["paintings/landscape.tif"]
    page, log, said = _open(chromium, _page_url(site, catalog, "paintings/landscape.tif"))
    try:
        _wait(page, log, OSD_OPEN, "OpenSeadragon did not open the painting's tiles")
        _wait(page, log, OSD_LOADED, "OpenSeadragon did not load the first view")
        _screenshot(page, "image")
        # "fully loaded" still holds for the last view until the next frame: count the deepest level's
        # tiles as they load (and any tile that fails) from before the zoom on
        page.evaluate("""() => {
            window.deepest = []; window.tileFailures = [];
            llvscanViewer.addHandler('tile-loaded', e => {
                if (e.tile.level === e.tiledImage.source.maxLevel) { deepest.push(e.tile.level); } });
            llvscanViewer.addHandler('tile-load-failed', e => { tileFailures.push(String(e.message)); });
            const v = llvscanViewer.viewport;
            v.zoomTo(v.imageToViewportZoom(1), null, true);
            v.panTo(v.getHomeBounds().getCenter(), true);
        }""")
        _wait(page, log, f"() => deepest.length > 0 && ({OSD_LOADED})()",
              "OpenSeadragon did not load the full-resolution tiles at 1:1")
        page.wait_for_timeout(200)
        assert page.evaluate("() => tileFailures") == []
        folder = f"/iiif/{catalog['names'][asset.id]}/"
        tiles = [u for u in log.requests if folder in u and u.endswith("/default.jpg")]
        # {id}/{x},{y},{w},{h}/{w},{h}/0/default.jpg is full resolution when the size is the region's
        full = [u for u in tiles if u.split("/")[-4].split(",")[2:] == u.split("/")[-3].split(",")]
        assert full, f"no full-resolution tile was asked for: {tiles}"
        assert not [line for line in log.failed_requests if folder in line], log.failed_requests

        violations = axe(page)
        assert _critical(violations) == [], _critical(violations)
        _assert_clean(page, log, said, _origin(site))
    finally:
        page.context.close()


def test_the_list_filters_as_the_catalog_says_and_shows_the_payload_as_text(chromium, site, catalog):
    """Check 4: each finding code and each status shows exactly the assets the catalog gives it; a
    search for the hostile title finds the bust, its title written as text."""
    page, log, said = _open(chromium, f"{site}/assets.html")
    try:
        everything = sorted(catalog["names"].values())
        _wait(page, log, f"e => JSON.stringify(({LIST_ROWS})()) === JSON.stringify(e)",
              "the list did not show every asset", arg=everything)
        assert "non_manifold_edges" in catalog["codes"], catalog["codes"]
        assert page.locator("#code option").count() == len(catalog["codes"]) + 1
        for code, expected in sorted(catalog["codes"].items()):
            page.select_option("#code", code)
            _wait(page, log, f"e => JSON.stringify(({LIST_ROWS})()) === JSON.stringify(e)",
                  f"filtering by {code} did not show {expected} (shown: {page.evaluate(LIST_ROWS)})", arg=expected)
            assert page.locator("#count").inner_text() == f"{len(expected)} of {len(everything)} assets"
        page.select_option("#code", "")
        statuses = {a.status for a in catalog["assets"]}
        assert "failed" in statuses
        for status in sorted(statuses):
            expected = sorted(catalog["names"][a.id] for a in catalog["assets"] if a.status == status)
            page.select_option("#status", status)
            _wait(page, log, f"e => JSON.stringify(({LIST_ROWS})()) === JSON.stringify(e)",
                  f"status {status} did not show {expected} (shown: {page.evaluate(LIST_ROWS)})", arg=expected)
        page.select_option("#status", "")

        bust = catalog["names"][catalog["by_path"]["sculpture/bust.obj"].id]
        page.fill("#q", PAYLOAD_TITLE)
        _wait(page, log, f"e => JSON.stringify(({LIST_ROWS})()) === JSON.stringify(e)",
              "searching for the hostile title did not find the bust alone", arg=[bust])
        link = page.locator("#list tbody tr a")
        assert link.inner_text() == PAYLOAD_TITLE
        assert link.evaluate("a => a.children.length") == 0  # text, not an element
        page.fill("#q", "svg onload")
        hostile = catalog["names"][catalog["by_path"][f"paintings/{PAYLOAD_NAME}"].id]
        _wait(page, log, f"e => JSON.stringify(({LIST_ROWS})()) === JSON.stringify(e)",
              "searching for the hostile file name did not find it", arg=[hostile])
        assert page.locator("#list tbody tr .path").inner_text() == f"paintings/{PAYLOAD_NAME}"
        _assert_clean(page, log, said, _origin(site))
    finally:
        page.context.close()


def test_overview_and_list_have_no_critical_accessibility_violation(chromium, site):
    """Check 5 (overview and list; the mesh and image pages are checked in their tests). Serious
    violations are printed, not asserted."""
    for name in ("index.html", "assets.html"):
        page, log, said = _open(chromium, f"{site}/{name}")
        try:
            if name == "assets.html":
                _wait(page, log, "() => document.querySelectorAll('#list tbody tr').length > 0",
                      "the list shows no row")
            else:
                _screenshot(page, "overview", full_page=True)
            violations = axe(page)
            for v in violations:
                if v.get("impact") == "serious":
                    print(f"axe serious on {name}: {v['id']}: {v['help']} ({len(v['nodes'])} nodes)")
            assert _critical(violations) == [], (name, _critical(violations))
            _assert_clean(page, log, said, _origin(site))
        finally:
            page.context.close()


def test_overview_and_list_open_from_file_urls(chromium, run_out, catalog):
    """Check 6: opened as files (no server), the overview shows and the list loads its data scripts and
    shows every row (the 3D model is not expected to load from file://)."""
    report = run_out / "report"
    for name in ("index.html", "assets.html"):
        page, log, said = _open(chromium, (report / name).as_uri())
        try:
            assert page.locator("h1").count() == 1
            if name == "assets.html":
                _wait(page, log, "n => document.querySelectorAll('#list tbody tr').length === n",
                      "the list shows no rows from file://", arg=len(catalog["assets"]))
                assert page.locator("#count").inner_text() == f"{len(catalog['assets'])} of " \
                                                               f"{len(catalog['assets'])} assets"
            assert log.page_errors == [], log.page_errors
            _assert_clean(page, log, said, None)
        finally:
            page.context.close()
