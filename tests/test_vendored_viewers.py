"""The viewers vendored under llvscan/report/vendor/ work on their own, offline, in a real browser.

A static page that loads only the vendored files, under a strict Content-Security-Policy, shows a
Draco-compressed textured GLB in model-viewer (its Draco decoder served locally) and a IIIF Image API 3
pyramid written by libvips in OpenSeadragon; Debian's Chromium (WebGL on SwiftShader) opens it from a
local server. Ground truth: the plane's texture is half pure red, half pure blue, so both colours must
be on the rendered canvas; the pyramid's deepest level must be requested (zoomed to 1:1) without a
404; nothing may leave 127.0.0.1; the console stays clean; axe-core finds nothing critical.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from browser import TIMING_NOTES, axe, open_page, serve
from PIL import Image

from llvscan.mesh import write_glb
from llvscan.mesh.core.types import Material, Mesh

VENDOR = Path(__file__).resolve().parents[1] / "llvscan" / "report" / "vendor"
IMAGE_SIZE = (1237, 811)  # awkward on purpose: 5×4 tiles of 256 at full size, partial edge tiles

# script-src 'wasm-unsafe-eval': the Draco decoder is WebAssembly (instantiated in a worker);
# worker-src blob: three's DRACOLoader starts its workers from a Blob of the wrapper's source;
# style-src 'unsafe-inline': this page's <style> and the inline styles OpenSeadragon sets;
# img-src data:/blob:, connect-src data:/blob:: GLB textures are decoded from blob: URLs, the favicon is data:.
CSP = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; "
       "img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self' data: blob:")

PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>Vendored viewers</title>
<link rel="icon" href="data:,">
<style>
  body {{ background: #fff; margin: 0; font-family: sans-serif; }}
  model-viewer, #osd {{ display: block; width: 480px; height: 360px; background: #fff; }}
  #osd {{ background: #000; }}
</style>
</head>
<body>
<main>
<h1>Vendored viewers</h1>
<script src="vendor/model-viewer/model-viewer-umd.min.js"></script>
<script src="config.js"></script>
<model-viewer id="mesh" src="plane.glb" alt="A test plane, half red, half blue" camera-controls
              camera-orbit="0deg 90deg auto" interaction-prompt="none" loading="eager"></model-viewer>
<div id="osd" role="region" aria-label="Test image, zoomable"></div>
</main>
<script src="vendor/openseadragon/openseadragon.min.js"></script>
<script src="page.js"></script>
</body>
</html>
"""

# The UMD build replaces window.ModelViewerElement with its exports object, so the settings go on
# that object after the script and before the first <model-viewer> is created (each element's
# constructor reads them, and falls back to gstatic.com / jsdelivr.net without them).
CONFIG_JS = """\
Object.assign(self.ModelViewerElement, {
  dracoDecoderLocation: new URL('vendor/draco/', document.baseURI).href,
  ktx2TranscoderLocation: new URL('vendor/basis/', document.baseURI).href,
  lottieLoaderLocation: new URL('vendor/lottie/LottieLoader.js', document.baseURI).href,
});
"""

# libvips writes an example `id` into info.json; tiles live next to info.json wherever it is served,
# so the page sets the id from the URL it fetched it from.
PAGE_JS = """\
const infoUrl = new URL('iiif/img/info.json', document.baseURI);
fetch(infoUrl).then(r => r.json()).then(info => {
  info.id = new URL('.', infoUrl).href.replace(/\\/$/, '');
  const viewer = OpenSeadragon({
    element: document.getElementById('osd'),
    prefixUrl: 'vendor/openseadragon/images/',
    tileSources: info,
    animationTime: 0,
  });
  viewer.addHandler('open-failed', e => console.error('OpenSeadragon: ' + e.message));
  window.osdViewer = viewer;
});
"""


def _plane_glb(path: Path) -> None:
    """A unit square facing +Z, textured left half pure red, right half pure blue; Draco-compressed."""
    texture = Image.new("RGB", (64, 64), (0, 0, 255))
    texture.paste((255, 0, 0), (0, 0, 32, 64))
    png = io.BytesIO()
    texture.save(png, format="PNG")
    vertices = np.array([[-0.5, -0.5, 0], [0.5, -0.5, 0], [0.5, 0.5, 0], [-0.5, 0.5, 0]], dtype=np.float64)
    faces = np.array([[0, 1, 2], [0, 2, 3]], dtype=np.int64)
    mesh = Mesh(vertices, faces, uv=vertices[:, :2] + 0.5, uv_faces=faces.copy(),
                materials=(Material("paint", double_sided=True),), face_material=np.zeros(2, dtype=np.int64),
                units="m", path="plane.obj")
    info = write_glb(mesh, path, textures={0: png.getvalue()}, compression="draco")
    assert info.compression == "draco"


def _pyramid(folder: Path) -> None:
    import pyvips

    xy = pyvips.Image.xyz(*IMAGE_SIZE)
    image = (xy[0] % 256).bandjoin([xy[1] % 256, xy[0] * 0 + 128]).cast("uchar").copy(interpretation="srgb")
    image.dzsave(str(folder / "img"), layout="iiif3", tile_size=256)


@pytest.fixture
def site(tmp_path) -> Path:
    root = tmp_path / "site"
    shutil.copytree(VENDOR, root / "vendor")
    (root / "index.html").write_text(PAGE, encoding="utf-8")
    (root / "config.js").write_text(CONFIG_JS, encoding="utf-8")
    (root / "page.js").write_text(PAGE_JS, encoding="utf-8")
    _plane_glb(root / "plane.glb")
    (root / "iiif").mkdir()
    _pyramid(root / "iiif")
    return root


def test_vendored_files_are_present():
    for name in ("openseadragon/openseadragon.min.js", "openseadragon/images/home_rest.png",
                 "openseadragon/LICENSE.txt", "model-viewer/model-viewer-umd.min.js", "model-viewer/LICENSE",
                 "draco/draco_decoder.wasm", "draco/draco_wasm_wrapper.js", "draco/LICENSE", "VENDORED.md"):
        assert (VENDOR / name).is_file(), f"{name} is missing: run tools/vendor-viewers.sh"


def test_viewers_show_a_draco_glb_and_a_iiif_pyramid_offline(site, chromium):
    with serve(site) as base:
        page, log = open_page(chromium, f"{base}/index.html", viewport=(1000, 900))
        try:
            page.wait_for_function("() => { const m = document.getElementById('mesh');"
                                   " return m.loaded && m.modelIsVisible; }", timeout=60_000)
        except Exception as exc:  # show what the page said, not only the timeout
            raise AssertionError(f"model-viewer did not show the model: {log.problems()}") from exc
        page.wait_for_timeout(300)  # a few more frames on SwiftShader
        pixels = np.asarray(Image.open(io.BytesIO(page.locator("#mesh").screenshot())).convert("RGB")).astype(int)
        r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
        drawn = (np.abs(pixels - 255).max(axis=2) > 30).mean()
        red = ((r > 120) & (r > 2 * np.maximum(g, b) + 20)).mean()
        blue = ((b > 120) & (b > 2 * np.maximum(r, g) + 20)).mean()
        assert drawn > 0.05 and red > 0.02 and blue > 0.02, (drawn, red, blue, log.problems())
        assert f"{base}/vendor/draco/draco_decoder.wasm" in log.requests  # decoded here, by the vendored decoder

        # OpenSeadragon: zoom to 1:1 so that the deepest level (scale factor 1) is drawn
        page.wait_for_function("() => window.osdViewer && osdViewer.world.getItemCount() === 1")

        def full_resolution(request) -> bool:  # {id}/{x},{y},{w},{h}/{w},{h}/0/default.jpg with equal sizes
            parts = request.url.split("/")
            return ("/iiif/img/" in request.url and request.url.endswith("/default.jpg")
                    and parts[-4].split(",")[2:] == parts[-3].split(","))

        with page.expect_response(full_resolution, timeout=30_000):  # the deepest level asked for…
            page.evaluate("() => { const v = osdViewer.viewport; v.zoomTo(v.imageToViewportZoom(1), null, true);"
                          " v.panTo(v.getHomeBounds().getCenter(), true); }")
        # …and drawn (a slow shared machine may take a while)
        page.wait_for_function("() => osdViewer.world.getItemAt(0).getFullyLoaded()", timeout=30_000)
        page.wait_for_timeout(200)

        info = json.loads((site / "iiif" / "img" / "info.json").read_text())
        assert (info["width"], info["height"]) == IMAGE_SIZE
        tiles = [u for u in log.requests if "/iiif/img/" in u and u.endswith("/default.jpg")]
        # a tile URL is {id}/{x},{y},{w},{h}/{w},{h}/0/default.jpg: full resolution when the size is the region's
        full = [u for u in tiles if u.split("/")[-4].split(",")[2:] == u.split("/")[-3].split(",")]
        assert full, tiles
        violations = axe(page)
        critical = [(v["id"], v["help"], len(v["nodes"])) for v in violations if v["impact"] == "critical"]
        assert critical == []
        assert log.problems(ignore=TIMING_NOTES) == []
        assert all(u.startswith(base) or u.startswith(("data:", "blob:")) for u in log.requests), log.requests
        page.context.close()
