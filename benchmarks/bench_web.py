"""Web levels of detail: llvscan's ``voyager`` recipe as it was, with Draco, and with baked maps, beside
gltfpack and gltf-transform on the same levels, in one run.

Inputs (generated, cached under ``--out``/cache):

* ``scan``: the decimation benchmark's textured scan (noisy bust cube-sphere, 6-chart atlas, 4096² JPEG),
  built by ``bench_lods.make_scan``; ``--n 120`` gives 172,800 faces;
* ``relief``: the same bust with fine relief (three families of sharp engraving-like ridges and a few
  hundred small bumps, under a millimetre on a 300 mm bust) and a flat-ish painted 2048² atlas, so that a
  20k-face level visibly loses relief that only a baked normal map can give back; ``--relief-n`` lists its
  sizes (12 n² faces each).

Variants of ``RECIPES["voyager"]`` (levels changed with ``dataclasses.replace``):

1. ``today``: ``compression="none"``, no baking, no unwrap on every level (what llvscan wrote before);
2. ``draco``: ``compression="draco"``, no baking;
3. ``draco+baked``: the preset unchanged (Draco; normal and occlusion baked onto Thumb/Low/Medium/High/AR,
   ``unwrap="auto"``). If building it raises, the error is printed and the rest goes on.

For each: the ``build_lods`` seconds and peak RSS (``_harness.peak_rss``), and per level the bytes, faces,
SSIM/PSNR from ``LodResult`` (renders of the level's mesh), bake seconds. ``s`` in a variant's level rows
is that level's share of the build (decimation + bake + texture/write/measure).

Peers, run on the ``today`` variant's GLB files (same geometry and textures, so bytes compare fairly):
``gltfpack -c`` and ``-cc`` (meshopt + quantisation; textures left as they are, no ``-tc``), and the
``gltf-transform`` CLI's ``draco`` and ``meshopt`` commands. They are installed with npm into
``--out``/cache/node the first time the benchmark runs (never a dependency of llvscan); a peer that cannot
be installed or run is printed as "not available (why)". ``s`` in a peer row is its encode wall time, the
median of ``--repeat`` runs (Node's start-up included).

Every written file, llvscan's and the peers', is also read back and rendered against the original
(``ssim_file``/``psnr_file``): llvscan reads Draco and KHR_mesh_quantization itself; a file it cannot read
(EXT_meshopt_compression) is first decoded to a plain GLB by a small Node script (@gltf-transform/core +
extensions + functions' ``dequantize``, meshoptimizer's decoder). Decode time in a browser is measured
only where Chromium is installed, and is otherwise reported as "not measured (no browser)".

The goals of the issue are checked from the measured numbers, per input: the draco+baked web levels at
most 30 % of today's bytes at equal SSIM (within 0.005 of today's, on the files read back); the baked
Thumb's SSIM at least the unbaked Low's; the whole recipe with baking at most 2× today's build time.
The numba kernels are loaded (or compiled, reported separately) by building every variant on a tiny scan
first.

The real-atlas case (``charts``; ``--charts`` runs it alone, ``--no-charts`` leaves it out): the issue's scan
whose atlas texturing tools cut into hundreds of charts. Input: ``scan``'s bust at ``--charts-n`` (91:
99,372 faces; ``--quick``: 40, 19,200 faces) given a fresh xatlas atlas with its largest chart capped at
1/250 of the surface (~480 charts; llvscan's own ``unwrap``, uncapped, gives ~50 on this bust), the 6-chart
scan's colour baked onto it (``BakeSource``, 2048²), written as OBJ + MTL + JPEG and read back with
``load_mesh``. At 10 % and 1 % (the ``archive`` recipe's levels, uncompressed, each built alone by
``build_lods`` from the full scan): llvscan keeping the seams (``unwrap=False``, no bake), with a fresh atlas
(``unwrap=True``, normal + occlusion baked, base colour re-baked) and ``unwrap="auto"`` (normal + occlusion
asked for, as the voyager preset does; what it chose is printed), beside MeshLab's plain quadric
(``preservetopology``, optimal placement, no UVs: its render is untextured) and its texture-aware quadric
(the OBJ loaded, ``preserveboundary``), as ``bench_decimate`` drives them. Every row is measured the same
way: mean and Hausdorff distance against the input (``DistanceMeter``, 100,000 samples, as ``build_lods``),
SSIM/PSNR of the renders (``FidelityMeter``). Goals at 1 %: the fresh atlas's mean error at most MeshLab's
plain quadric's, and its SSIM above the seam-keeping level's.

    python benchmarks/bench_web.py [--quick] [--n 120] [--relief-n 60,120] [--charts | --no-charts]
        [--charts-n 91] [--repeat 3] [--out benchmarks/results]
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import (
    argument_parser,
    load_sample_generator,
    machine,
    peak_rss,
    print_table,
    write_results,
)
from bench_lods import make_scan

WEB_USAGES = ("Web3D", "App3D")
SSIM_SLACK = 0.005  # "equal SSIM": within this of today's, or better
BYTES_GOAL = 0.30  # web levels at most this fraction of today's bytes
TIME_GOAL = 2.0  # the recipe with baking at most this many times today's build time
GOALS = (f"web levels ≤ {BYTES_GOAL:.0%} of today's bytes at equal SSIM (within {SSIM_SLACK})",
         "baked Thumb SSIM ≥ today's Low SSIM", f"voyager with baking ≤ {TIME_GOAL:g}× today's build time")
NODE_PACKAGES = ["gltfpack", "@gltf-transform/cli", "@gltf-transform/core", "@gltf-transform/extensions",
                 "@gltf-transform/functions", "meshoptimizer", "draco3dgltf"]
# peer name → (bin, arguments before the input and output, how they are placed)
PEERS = {
    "gltfpack -c": ("gltfpack", ["-c"]),
    "gltfpack -cc": ("gltfpack", ["-cc"]),
    "gltf-transform draco": ("gltf-transform", ["draco"]),
    "gltf-transform meshopt": ("gltf-transform", ["meshopt"]),
}
# a compressed/quantised GLB → a plain one llvscan reads: meshopt and Draco decoded, attributes dequantised
DECODE_SCRIPT = """\
import { NodeIO } from '@gltf-transform/core';
import { ALL_EXTENSIONS } from '@gltf-transform/extensions';
import { dequantize } from '@gltf-transform/functions';
import { MeshoptDecoder } from 'meshoptimizer';
import draco3d from 'draco3dgltf';

const [input, output] = process.argv.slice(2);
await MeshoptDecoder.ready;
const io = new NodeIO().registerExtensions(ALL_EXTENSIONS).registerDependencies({
  'meshopt.decoder': MeshoptDecoder,
  'draco3d.decoder': await draco3d.createDecoderModule(),
});
const doc = await io.read(input);
await doc.transform(dequantize());
const gone = ['EXT_meshopt_compression', 'KHR_draco_mesh_compression', 'KHR_mesh_quantization'];
for (const ext of doc.getRoot().listExtensionsUsed()) {
  if (gone.includes(ext.extensionName)) ext.dispose();
}
await io.write(output, doc);
"""


# -- inputs -----------------------------------------------------------------------------------------------

def relief_field(unit: np.ndarray, seed: int) -> np.ndarray:
    """Fine radial relief on unit directions: sharp ridges (engraving-like lines, ~27 mm apart on the bust)
    and small round bumps, both under 1 % of the radius."""
    rng = np.random.default_rng(seed)
    relief = np.zeros(len(unit))
    for _ in range(3):
        axis = rng.normal(size=3)
        axis /= np.linalg.norm(axis)
        wave = np.sin(rng.uniform(28.0, 40.0) * (unit @ axis) + rng.uniform(0, 2 * np.pi))
        relief += 0.004 * (1.0 - np.abs(wave)) ** 6
    centres = rng.normal(size=(300, 3))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    for chunk in np.array_split(centres, 10):  # (V, 30) at a time
        d2 = ((unit[:, None, :] - chunk[None]) ** 2).sum(axis=2)
        relief += 0.003 * np.exp(-d2 / (2 * 0.035**2)).sum(axis=1)
    return relief


def make_relief(n: int, cache: Path, texture: int = 2048) -> Path:
    """The bust with fine relief as OBJ + MTL + a flat-ish painted JPEG (cached)."""
    folder = cache / f"web-relief-{n}"
    obj = folder / "relief.obj"
    if obj.is_file():
        return obj
    from PIL import Image

    gen = load_sample_generator()
    folder.mkdir(parents=True, exist_ok=True)
    unit, faces, _ = gen.cube_sphere(n)
    positions = gen.bust_positions(unit * (1.0 + relief_field(unit, seed=7))[:, None], seed=1921)
    rects = gen.atlas_rects(texture, 6)
    uv = gen.chart_uvs(n, rects, texture).reshape(-1, 2)
    painted = gen.paint_atlas(texture, rects, seed=17).astype(np.float32)
    flat = np.clip(0.25 * painted + 0.75 * 200.0, 0, 255).astype(np.uint8)  # the relief, not the paint, shows
    Image.fromarray(flat, "RGB").save(folder / "relief_albedo.jpg", quality=90)
    (folder / "relief.mtl").write_text("newmtl relief\nKd 1 1 1\nmap_Kd relief_albedo.jpg\n")
    text = gen.textured_obj_text(["# units: mm", "mtllib relief.mtl", "usemtl relief"], positions, uv, faces,
                                 gen.chart_uv_faces(n))
    obj.with_suffix(".tmp").write_text(text)
    obj.with_suffix(".tmp").rename(obj)  # the OBJ last: its presence marks a complete cache
    return obj


def variants() -> dict:
    """today, draco and draco+baked: the voyager preset's levels, changed only where the variant says."""
    from llvscan.mesh.lod.recipe import RECIPES

    voyager = RECIPES["voyager"]

    def each(**changes: object):
        return replace(voyager, levels=tuple(replace(level, **changes) for level in voyager.levels))

    return {"today": each(compression="none", bake=(), unwrap=False),
            "draco": each(compression="draco", bake=(), unwrap=False),
            "draco+baked": voyager}


# -- llvscan's builds -------------------------------------------------------------------------------------

def warm_kernels(cache: Path, recipes: dict) -> tuple[float, list[str]]:
    """Build every variant on a tiny textured scan: numba kernels compiled or loaded from their cache."""
    from llvscan.mesh import build_lods, load_mesh

    mesh = load_mesh(make_scan(6, cache))
    notes = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for name, recipe in recipes.items():
            try:
                build_lods(mesh, recipe, Path(tmp) / name)
            except Exception as exc:  # reported again, in full, on the real input
                notes.append(f"warm-up of {name} failed: {type(exc).__name__}: {exc}")
    return time.perf_counter() - t0, notes


def build_variant(mesh, recipe, out: Path) -> dict:
    from llvscan.mesh import build_lods

    with peak_rss() as memory:
        t0 = time.perf_counter()
        lods = build_lods(mesh, recipe, out)
        seconds = time.perf_counter() - t0
    wanted = {level.name: level for level in recipe.levels}
    notes = list(lods.notes)
    asked = [r for r in lods.levels if wanted[r.name].bake]
    if asked and not any(r.baked for r in lods.levels):
        notes.append("bake asked for but no level carries baked maps" if any(r.faces < lods.faces_in for r in asked)
                     else "bake asked for, but every such level keeps the input's faces: nothing to bake")
    return {"seconds": round(seconds, 3), "peak_rss_mib": round(memory.peak_mib, 1), "notes": notes,
            "out_dir": str(out), "levels": [r.to_dict() for r in lods.levels]}


# -- peers ------------------------------------------------------------------------------------------------

def install_peers(node_dir: Path) -> tuple[dict[str, Path], str | None, dict[str, str]]:
    """The peers' bins (installed with npm on first use), the decode script, the installed versions, or why
    not. Returns (bins, reason when none, versions)."""
    bins = {name: node_dir / "node_modules" / ".bin" / name for name in ("gltfpack", "gltf-transform")}
    if not all(path.exists() for path in bins.values()):
        npm = shutil.which("npm")
        if npm is None:
            return {}, "npm not found", {}
        node_dir.mkdir(parents=True, exist_ok=True)
        try:
            proc = subprocess.run([npm, "install", "--prefix", str(node_dir), "--no-audit", "--no-fund",
                                   *NODE_PACKAGES], capture_output=True, text=True, timeout=600, check=False)
        except subprocess.TimeoutExpired:
            return {}, "npm install took over 10 minutes", {}
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
            return {}, f"npm install failed: {tail[:200]}", {}
    (node_dir / "decode.mjs").write_text(DECODE_SCRIPT)
    versions = {}
    for package in NODE_PACKAGES:
        try:
            meta = json.loads((node_dir / "node_modules" / package / "package.json").read_text())
            versions[package] = meta.get("version", "?")
        except (OSError, ValueError):
            versions[package] = "missing"
    return {name: path for name, path in bins.items() if path.exists()}, None, versions


def run_peer(argv: list[str], output: Path, repeat: int) -> dict:
    """Encode ``repeat`` times; the median wall time and the output's bytes, or why it failed."""
    times = []
    for _ in range(repeat):
        output.unlink(missing_ok=True)
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
        except subprocess.TimeoutExpired:
            return {"error": "over 10 minutes"}
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0 or not output.is_file():
            text = (proc.stderr or proc.stdout).strip().splitlines() or [f"exit {proc.returncode}"]
            return {"error": text[-1][:200]}
    return {"bytes": output.stat().st_size, "seconds": round(statistics.median(times), 3),
            "runs": [round(t, 3) for t in times]}


# -- reading files back -----------------------------------------------------------------------------------

class FileLooks:
    """SSIM/PSNR of a written GLB read back, against the original's renders (``FidelityMeter``)."""

    def __init__(self, original, node_dir: Path | None) -> None:
        from llvscan.mesh.render.fidelity import FidelityMeter

        self.meter = FidelityMeter(original)
        self.units = original.units
        self.node_dir = node_dir

    def _read(self, path: Path):
        """The file as llvscan reads it; one that needs an extension llvscan does not read (meshopt) is first
        decoded to a plain GLB by Node (read as is, llvscan would skip its primitives, and log that)."""
        from llvscan.mesh import load_mesh
        from llvscan.mesh.io.gltf import SUPPORTED_EXTENSIONS

        data = path.read_bytes()
        document = json.loads(data[20:20 + int.from_bytes(data[12:16], "little")])
        unread = sorted(set(document.get("extensionsRequired", [])) - SUPPORTED_EXTENSIONS)
        if not unread:
            mesh = load_mesh(path)
            unread = [p.message for p in mesh.problems if p.code in ("unsupported_extension", "skipped_primitives")]
            if not unread:
                return mesh, "read"
        if self.node_dir is None or not (self.node_dir / "decode.mjs").is_file():
            raise RuntimeError(f"llvscan does not read {', '.join(unread)} and there is no Node decoder")
        plain = path.with_name(path.stem + "-decoded.glb")
        proc = subprocess.run(["node", str(self.node_dir / "decode.mjs"), str(path), str(plain)],
                              capture_output=True, text=True, timeout=600, check=False)
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
            raise RuntimeError(f"llvscan does not read {', '.join(unread)}; the Node decoder failed: {tail[:200]}")
        mesh = load_mesh(plain)
        if mesh.problems:
            raise RuntimeError(f"the decoded file still reads with problems: {mesh.problems[0].message}")
        return mesh, "decoded by Node"

    def measure(self, path: Path) -> dict:
        from llvscan.mesh.core.units import METRES_PER_UNIT

        try:
            mesh, how = self._read(path)
        except Exception as exc:
            return {"error": f"{type(exc).__name__}: {exc}"[:300]}
        scale = METRES_PER_UNIT[self.units or "m"] / METRES_PER_UNIT[mesh.units or "m"]  # GLB metres → original
        mesh = replace(mesh, vertices=mesh.vertices / scale, units=self.units)
        looks = self.meter.measure(mesh)
        return {"ssim": looks.ssim, "psnr": looks.psnr, "read": how, "faces": mesh.n_faces}


# -- one input --------------------------------------------------------------------------------------------

def fmt(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def run_input(label: str, obj: Path, recipes: dict, peers: dict, node_dir: Path | None, repeat: int,
              work: Path) -> dict:
    from llvscan.mesh import load_mesh

    mesh = load_mesh(obj)
    print(f"\n== {label}: {mesh.n_faces:,} faces ({obj})", flush=True)
    looks = FileLooks(mesh, node_dir)
    built: dict[str, dict] = {}
    for name, recipe in recipes.items():
        try:
            built[name] = build_variant(mesh, recipe, work / label / name)
        except Exception as exc:
            built[name] = {"error": f"{type(exc).__name__}: {exc}"[:400]}
            print(f"{name}: not available yet ({built[name]['error']})", flush=True)
            continue
        print(f"{name}: built in {built[name]['seconds']:.1f} s, peak RSS {built[name]['peak_rss_mib']:.0f} MiB",
              flush=True)
        seen: dict[str, dict] = {}
        for level in built[name]["levels"]:
            if level["uri"] not in seen:
                seen[level["uri"]] = looks.measure(Path(built[name]["out_dir"]) / level["uri"])
            level["file"] = seen[level["uri"]]

    peer_results: dict[str, dict] = {}
    today = built.get("today", {})
    files = list(dict.fromkeys(level["uri"] for level in today.get("levels", [])))
    for peer, (tool, options) in peers.items():
        if isinstance(tool, str) and tool.startswith("not available"):
            peer_results[peer] = {"error": tool}
            continue
        if not files:
            peer_results[peer] = {"error": "not available (today's levels were not built)"}
            continue
        folder = work / label / "peers" / peer.replace(" ", "_")
        folder.mkdir(parents=True, exist_ok=True)
        per_file = {}
        for uri in files:
            source, output = Path(today["out_dir"]) / uri, folder / uri
            argv = ([str(tool), *options, "-i", str(source), "-o", str(output)] if tool.name == "gltfpack"
                    else [str(tool), *options, str(source), str(output)])
            result = run_peer(argv, output, repeat)
            if "error" not in result:
                result["file"] = looks.measure(output)
            per_file[uri] = result
        peer_results[peer] = {"files": per_file}
        print(f"{peer}: done", flush=True)
    return {"faces_in": mesh.n_faces, "variants": built, "peers": peer_results,
            "goals": goals(built), "rows": table_rows(built, peer_results)}


def table_rows(built: dict, peer_results: dict) -> list[dict]:
    today = {lvl["name"]: lvl for lvl in built.get("today", {}).get("levels", [])}
    order = [lvl["name"] for lvl in next((b["levels"] for b in built.values() if "levels" in b), [])]
    rows = []

    def share(nbytes: int | None, level: str) -> str:
        base = today.get(level, {}).get("bytes")
        return "—" if nbytes is None or not base else f"{100 * nbytes / base:.1f}"

    for level in order:
        for name, variant in built.items():
            if "levels" not in variant:
                rows.append({"level": level, "variant/peer": name, "note": "not available yet"})
                continue
            r = next(lvl for lvl in variant["levels"] if lvl["name"] == level)
            extra = [*r.get("baked", ()), *(["unwrapped"] if r.get("unwrapped") else [])]
            if f"-{r['name']}." not in r["uri"]:  # an identical level, stored once
                extra.append(f"same file as {r['uri']}")
            rows.append({"level": level, "variant/peer": name, "faces": r["faces"], "bytes": r["bytes"],
                         "% today": share(r["bytes"], level), "ssim": fmt(r.get("ssim"), 4),
                         "psnr": fmt(r.get("psnr"), 2), "ssim_file": fmt(r["file"].get("ssim"), 4),
                         "psnr_file": fmt(r["file"].get("psnr"), 2),
                         "s": f"{r['decimate_seconds'] + r['seconds'] + r.get('bake_seconds', 0.0):.2f}",
                         "bake_s": f"{r.get('bake_seconds', 0.0):.2f}", "note": " ".join(extra)})
        uri = today.get(level, {}).get("uri")
        for peer, result in peer_results.items():
            if "error" in result:
                rows.append({"level": level, "variant/peer": peer, "note": result["error"]})
                continue
            r = result["files"][uri]
            if "error" in r:
                rows.append({"level": level, "variant/peer": peer, "note": f"failed: {r['error']}"})
                continue
            note = r["file"].get("error") or ("" if r["file"].get("read") == "read" else r["file"].get("read", ""))
            faces = r["file"].get("faces", "—")  # as read back from the peer's file
            rows.append({"level": level, "variant/peer": peer, "faces": faces, "bytes": r["bytes"],
                         "% today": share(r["bytes"], level), "ssim": "—", "psnr": "—",
                         "ssim_file": fmt(r["file"].get("ssim"), 4), "psnr_file": fmt(r["file"].get("psnr"), 2),
                         "s": f"{r['seconds']:.2f}", "bake_s": "", "note": note})
    return rows


# -- goals ------------------------------------------------------------------------------------------------

def _ssim(level: dict) -> float | None:
    """The SSIM a viewer gets: of the file read back, else of the level's mesh (LodResult)."""
    return level.get("file", {}).get("ssim", level.get("ssim"))


def goals(built: dict) -> list[dict]:
    today, baked = built.get("today", {}), built.get("draco+baked", {})
    if "levels" not in today:
        return [{"goal": g, "status": "not measured", "detail": "today's levels were not built"} for g in GOALS]
    if "levels" not in baked:
        why = f"draco+baked not available ({baked.get('error', '?')})"
        return [{"goal": g, "status": "not measured", "detail": why} for g in GOALS]
    old = {lvl["name"]: lvl for lvl in today["levels"]}
    new = {lvl["name"]: lvl for lvl in baked["levels"]}
    out = []
    web = [name for name, lvl in new.items() if lvl["usage"] in WEB_USAGES and lvl["uri"].endswith(".glb")]
    ratios = {name: new[name]["bytes"] / old[name]["bytes"] for name in web}
    drops = {name: (_ssim(old[name]) or 0.0) - (_ssim(new[name]) or 0.0) for name in web}
    worst = max(ratios, key=ratios.__getitem__)
    total = sum(new[n]["bytes"] for n in web) / sum(old[n]["bytes"] for n in web)
    ok = all(r <= BYTES_GOAL for r in ratios.values()) and all(d <= SSIM_SLACK for d in drops.values())
    out.append({"goal": GOALS[0],
                "status": "met" if ok else "missed",
                "detail": f"worst {worst} {ratios[worst]:.1%}, all web levels together {total:.1%}; largest "
                          f"SSIM drop {max(drops.values()):+.4f} ({max(drops, key=drops.__getitem__)})"})
    thumb = next((lvl for lvl in new.values() if lvl["quality"] == "Thumb"), None)
    low = next((lvl for lvl in old.values() if lvl["quality"] == "Low"), None)
    if thumb is None or low is None or _ssim(thumb) is None or _ssim(low) is None:
        out.append({"goal": GOALS[1], "status": "not measured", "detail": "no Thumb/Low level or no SSIM"})
    else:
        out.append({"goal": GOALS[1],
                    "status": "met" if _ssim(thumb) >= _ssim(low) else "missed",
                    "detail": f"Thumb ({thumb['faces']:,} faces, baked {list(thumb.get('baked', []))}) "
                              f"{_ssim(thumb):.4f} vs Low ({low['faces']:,} faces) {_ssim(low):.4f}"})
    ratio = baked["seconds"] / today["seconds"]
    out.append({"goal": GOALS[2],
                "status": "met" if ratio <= TIME_GOAL else "missed",
                "detail": f"{baked['seconds']:.1f} s vs {today['seconds']:.1f} s = {ratio:.2f}×"})
    return out


# -- the real-atlas case: a scan whose atlas has hundreds of charts -------------------------------------------

CHARTS_N = 91  # 12 n² = 99,372 faces: the issue's ~100k-face scan
CHARTS_N_QUICK = 40  # 19,200 faces
CHART_AREA_SHARE = 1 / 250  # xatlas' largest chart: this share of the surface (~460 charts at n = 91)
CHART_TEXTURE = 2048
CHART_RATIOS = (0.1, 0.01)
CHART_GOALS = ("at 1 %: fresh-atlas mean error ≤ MeshLab plain quadric's",
               "at 1 %: fresh-atlas SSIM > seam-keeping SSIM")
# llvscan's variants of the archive recipe's 10 % and 1 % levels (uncompressed GLB, textures 2048 at most here)
CHART_VARIANTS = {
    "seam-keeping": {"unwrap": False, "bake": ()},
    "fresh atlas": {"unwrap": True, "bake": ("normal", "occlusion")},
    "auto": {"unwrap": "auto", "bake": ("normal", "occlusion")},
}
# xatlas in a child process (it crashes on some inputs), with a cap on the chart area so that the atlas is cut
# into hundreds of charts as texturing tools cut a scan's (llvscan's own ``unwrap`` gives ~50 on this bust)
ATLAS_SCRIPT = """\
import sys
import numpy as np
import xatlas

with np.load(sys.argv[1]) as data:
    vertices, faces = data["vertices"], data["faces"]
    area, size = float(data["area"]), int(data["size"])
atlas = xatlas.Atlas()
atlas.add_mesh(vertices, faces)
chart = xatlas.ChartOptions()
chart.max_chart_area = area
pack = xatlas.PackOptions()
pack.resolution, pack.padding, pack.bilinear, pack.rotate_charts = size, 4, True, True
atlas.generate(chart, pack)
if atlas.atlas_count != 1:
    raise SystemExit(f"the charts need {atlas.atlas_count} atlases")
mapping, indices, uv = atlas[0]
np.savez(sys.argv[2], mapping=mapping, indices=indices, uv=uv, charts=atlas.chart_count)
"""


def many_charts(vertices: np.ndarray, faces: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, int]:
    """A fresh xatlas atlas of hundreds of charts: (uv with V up, uv_faces, xatlas' chart count)."""
    corners = vertices[faces]
    area = 0.5 * np.linalg.norm(np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), axis=1).sum()
    with tempfile.TemporaryDirectory(prefix="bench-web-atlas-") as folder:
        given, got = Path(folder) / "in.npz", Path(folder) / "out.npz"
        np.savez(given, vertices=vertices.astype(np.float32), faces=faces.astype(np.uint32),
                 area=CHART_AREA_SHARE * area, size=size)
        proc = subprocess.run([sys.executable, "-c", ATLAS_SCRIPT, str(given), str(got)], capture_output=True,
                              text=True, timeout=1200, check=False)
        if proc.returncode != 0 or not got.is_file():
            raise RuntimeError(f"xatlas failed (exit {proc.returncode}): {proc.stderr.strip()[-300:]}")
        with np.load(got) as out:
            mapping, indices = out["mapping"].astype(np.int64), out["indices"].astype(np.int64).reshape(-1, 3)
            uv, charts = out["uv"].astype(np.float64), int(out["charts"])
    if not np.array_equal(mapping[indices], faces):
        raise RuntimeError("xatlas changed the faces")
    uv[:, 1] = 1.0 - uv[:, 1]  # xatlas' V grows down the image; OBJ's (and llvscan's) up
    return uv, indices, charts


def make_charted(n: int, cache: Path, texture: int = CHART_TEXTURE) -> tuple[Path, dict]:
    """The textured scan (``bench_lods.make_scan``: the bust, its 6-chart painted 4096² atlas) given a fresh
    atlas of hundreds of charts by xatlas, its colour baked onto that atlas from the 6-chart scan
    (``BakeSource``, same geometry), written as OBJ + MTL + ``texture``² JPEG (cached). Returns the OBJ and
    how it was made (xatlas' chart count, seconds, and the SSIM of its renders against the 6-chart scan's:
    how faithfully the colour moved to the new atlas)."""
    folder = cache / f"web-charts-{n}"
    obj, info_path = folder / "charts.obj", folder / "charts.json"
    if obj.is_file() and info_path.is_file():
        return obj, json.loads(info_path.read_text())
    import pyvips
    from PIL import Image

    from llvscan.mesh import load_mesh
    from llvscan.mesh.bake import BakeSource
    from llvscan.mesh.render.fidelity import FidelityMeter

    gen = load_sample_generator()
    scan = load_mesh(make_scan(n, cache))
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    uv, uv_faces, charts = many_charts(scan.vertices, scan.faces, texture)
    atlas_s = time.perf_counter() - t0
    fresh = replace(scan, uv=uv, uv_faces=uv_faces, normals=None, normal_faces=None)
    image = np.ascontiguousarray(pyvips.Image.new_from_file(scan.materials[0].texture).numpy()[..., :3])
    t0 = time.perf_counter()
    baked = BakeSource(scan, textures=[image]).bake(fresh, texture, maps=("base_colour",))
    bake_s = time.perf_counter() - t0
    Image.fromarray(np.ascontiguousarray(baked.base_colour[..., :3]), "RGB").save(folder / "charts_albedo.jpg",
                                                                                   quality=90)
    (folder / "charts.mtl").write_text("newmtl charts\nKd 1 1 1\nmap_Kd charts_albedo.jpg\n")
    text = gen.textured_obj_text(["# units: mm", "mtllib charts.mtl", "usemtl charts"], scan.vertices, uv,
                                 scan.faces, uv_faces)
    obj.with_suffix(".tmp").write_text(text)
    obj.with_suffix(".tmp").rename(obj)
    looks = FidelityMeter(scan).measure(load_mesh(obj))
    info = {"xatlas_charts": charts, "xatlas_s": round(atlas_s, 2), "bake_s": round(bake_s, 2),
            "bake_covered": round(baked.covered, 4), "bake_hits": round(baked.hits, 4),
            "ssim_vs_6_chart_scan": looks.ssim, "psnr_vs_6_chart_scan": looks.psnr}
    info_path.write_text(json.dumps(info, indent=2) + "\n")
    return obj, info


def chart_recipes() -> dict[tuple[str, float], object]:
    """(variant, ratio) → a one-level recipe: the archive recipe's 10 % or 1 % level as the variant says,
    without a thumbnail (each level built alone: its time is its own, decimated from the full scan)."""
    from llvscan.mesh.lod.recipe import RECIPES, LodRecipe

    by_ratio = {level.ratio: level for level in RECIPES["archive"].levels}
    return {(variant, ratio): LodRecipe(f"charts-{variant.replace(' ', '-')}",
                                        (replace(by_ratio[ratio], compression="none", **changes),),
                                        thumbnail_size=0)
            for ratio in CHART_RATIOS for variant, changes in CHART_VARIANTS.items()}


def meshlab_levels(obj: Path, mesh, ratio: float, meter, looks) -> list[dict]:
    """MeshLab's plain quadric (preserving topology, optimal placement, from the arrays: no UVs) and its
    texture-aware quadric (the OBJ loaded, preserving boundaries) as ``bench_decimate`` drives them, measured
    as llvscan's levels are: ``DistanceMeter`` against the input, ``FidelityMeter`` renders."""
    try:
        import pymeshlab
    except ImportError as exc:
        return [{"method": f"MeshLab {k}", "note": f"not available ({exc})"} for k in ("plain", "texture")]
    from llvscan.mesh import Mesh

    target = round(ratio * mesh.n_faces)
    rows = []
    for kind in ("plain", "texture"):
        row: dict = {"method": f"MeshLab {kind}"}
        try:
            ms = pymeshlab.MeshSet()
            if kind == "plain":
                ms.add_mesh(pymeshlab.Mesh(vertex_matrix=mesh.vertices, face_matrix=mesh.faces.astype(np.int32)))
                t0 = time.perf_counter()
                ms.meshing_decimation_quadric_edge_collapse(targetfacenum=target, preservetopology=True,
                                                            optimalplacement=True)
            else:
                ms.load_new_mesh(str(obj))  # its texture filter needs an OBJ's wedge UVs and map_Kd
                t0 = time.perf_counter()
                ms.meshing_decimation_quadric_edge_collapse_with_texture(targetfacenum=target, preserveboundary=True)
            seconds = time.perf_counter() - t0
            m = ms.current_mesh()
            v, f = np.asarray(m.vertex_matrix(), np.float64), np.asarray(m.face_matrix(), np.int64)
            if kind == "plain":  # no UVs: its render is untextured (the material's colour only)
                out = Mesh(v, f, materials=(replace(mesh.materials[0], texture=None, texture_data=None),),
                           face_material=np.zeros(len(f), np.int64), units=mesh.units)
                row["note"] = "no UVs: untextured render"
            else:
                out = Mesh(v, f, uv=np.asarray(m.wedge_tex_coord_matrix(), np.float64),
                           uv_faces=np.arange(3 * len(f)).reshape(-1, 3), materials=mesh.materials,
                           face_material=np.zeros(len(f), np.int64), units=mesh.units)
                row["note"] = "input's texture on its UVs"
            d = meter.measure(out)
            fid = looks.measure(out)
        except Exception as exc:  # a peer that fails is reported, the rest goes on
            rows.append({**row, "note": f"failed: {type(exc).__name__}: {exc}"[:300]})
            continue
        rows.append({**row, "faces": len(f), "mean_pct": d.mean_pct, "hausdorff_pct": d.hausdorff_pct,
                     "texel_med": d.texel_drift_median, "ssim": fid.ssim, "psnr": fid.psnr,
                     "decimate_s": round(seconds, 3), "bake_s": 0.0, "s": round(seconds, 3)})
    return rows


def run_charts(n: int, cache: Path, work: Path) -> dict:
    """The issue's real-atlas case: llvscan's seam-keeping, fresh-atlas and auto levels at 10 % and 1 %
    beside MeshLab's plain and texture-aware quadric, one scan, one run."""
    from llvscan.mesh import build_lods, load_mesh
    from llvscan.mesh.distance import DistanceMeter
    from llvscan.mesh.lod.dress import AUTO_UNWRAP_MAX_FACES, CHARTS_PER_FACE
    from llvscan.mesh.render.fidelity import FidelityMeter
    from llvscan.mesh.unwrap import uv_charts

    t0 = time.perf_counter()
    obj, made = make_charted(n, cache)
    made_s = time.perf_counter() - t0
    mesh = load_mesh(obj)
    charts = uv_charts(mesh)
    print(f"\n== charts-{n}: {mesh.n_faces:,} faces, {charts} charts (xatlas said {made['xatlas_charts']}); "
          f"colour re-baked onto the atlas renders at SSIM {made['ssim_vs_6_chart_scan']} against the 6-chart "
          f"scan ({obj}, ready in {made_s:.1f} s)", flush=True)
    recipes = chart_recipes()
    warm, warm_notes = warm_kernels(cache, {f"{v} {r:g}": recipe for (v, r), recipe in recipes.items()})
    print(f"numba kernels ready in {warm:.1f} s", flush=True)
    meter = DistanceMeter(mesh, samples=100_000)  # as build_lods measures its levels (default samples)
    looks = FidelityMeter(mesh)
    rows: list[dict] = []
    notes: list[str] = list(warm_notes)
    chose: dict[str, str] = {}
    for ratio in CHART_RATIOS:
        for variant in CHART_VARIANTS:
            recipe = recipes[(variant, ratio)]
            row: dict = {"ratio": f"{ratio:.0%}", "method": f"llvscan {variant}"}
            try:
                t1 = time.perf_counter()
                lods = build_lods(mesh, recipe, work / "charts" / f"{variant}-{ratio:g}")
                build_s = time.perf_counter() - t1
            except Exception as exc:
                rows.append({**row, "note": f"failed: {type(exc).__name__}: {exc}"[:300]})
                print(f"{row['method']} {ratio:.0%}: failed ({exc})", flush=True)
                continue
            r = lods.levels[0]
            notes += [f"{variant} {ratio:.0%}: {note}" for note in lods.notes]
            extra = [f"baked {'+'.join(r.baked)}" if r.baked else "", "unwrapped" if r.unwrapped else "seams kept",
                     "" if r.faces <= r.target_faces + 2 else f"(target {r.target_faces:,} not reached)"]
            if variant == "auto":
                chose[f"{ratio:.0%}"] = "fresh atlas" if r.unwrapped else "seams kept"
            rows.append({**row, "faces": r.faces, "mean_pct": r.mean_pct, "hausdorff_pct": r.hausdorff_pct,
                         "texel_med": r.texel_drift_median, "ssim": r.ssim, "psnr": r.psnr,
                         "decimate_s": r.decimate_seconds, "bake_s": r.bake_seconds,
                         "s": round(r.decimate_seconds + r.seconds + r.bake_seconds, 3),
                         "build_s": round(build_s, 2), "note": " ".join(filter(None, extra))})
            print(f"{row['method']} {ratio:.0%}: built in {build_s:.1f} s", flush=True)
        for m in meshlab_levels(obj, mesh, ratio, meter, looks):
            rows.append({"ratio": f"{ratio:.0%}", **m})
            print(f"{m['method']} {ratio:.0%}: done", flush=True)
    rule = (f"auto unwraps a level of at most {AUTO_UNWRAP_MAX_FACES:,} faces when the atlas has more than "
            f"{CHARTS_PER_FACE:g} chart per face of the level ({charts} charts: levels under "
            f"{charts / CHARTS_PER_FACE:,.0f} faces)")
    return {"n": n, "faces_in": mesh.n_faces, "charts": charts, "input": made, "obj": str(obj),
            "kernels_s": round(warm, 3), "auto_chose": chose, "auto_rule": rule, "notes": notes, "rows": rows,
            "goals": chart_goals(rows)}


def chart_goals(rows: list[dict]) -> list[dict]:
    def at_1(method: str) -> dict:
        return next((r for r in rows if r["ratio"] == "1%" and r["method"] == method), {})

    fresh, keep, plain = at_1("llvscan fresh atlas"), at_1("llvscan seam-keeping"), at_1("MeshLab plain")
    out = []
    if fresh.get("mean_pct") is None or plain.get("mean_pct") is None:
        out.append({"goal": CHART_GOALS[0], "status": "not measured",
                    "detail": fresh.get("note") or plain.get("note") or "?"})
    else:
        out.append({"goal": CHART_GOALS[0], "status": "met" if fresh["mean_pct"] <= plain["mean_pct"] else "missed",
                    "detail": f"{fresh['mean_pct']:.4f} % vs {plain['mean_pct']:.4f} % of the diagonal "
                              f"(Hausdorff {fresh['hausdorff_pct']:.3f} % vs {plain['hausdorff_pct']:.3f} %)"})
    if fresh.get("ssim") is None or keep.get("ssim") is None:
        out.append({"goal": CHART_GOALS[1], "status": "not measured",
                    "detail": fresh.get("note") or keep.get("note") or "no SSIM"})
    else:
        out.append({"goal": CHART_GOALS[1], "status": "met" if fresh["ssim"] > keep["ssim"] else "missed",
                    "detail": f"{fresh['ssim']:.4f} vs {keep['ssim']:.4f}"})
    return out


def print_charts(result: dict) -> None:
    columns = ["ratio", "method", "faces", "mean_pct", "hausdorff_pct", "texel_med", "ssim", "psnr", "decimate_s",
               "bake_s", "s", "build_s", "note"]
    shown = [{k: ("—" if v is None else f"{v:.4f}" if k in ("mean_pct", "ssim") and isinstance(v, float)
                  else f"{v:.3f}" if k == "hausdorff_pct" and isinstance(v, float)
                  else f"{v:.2f}" if k in ("texel_med", "psnr") and isinstance(v, float) else v)
              for k, v in row.items()} for row in result["rows"]]
    print_table(f"charts-{result['n']}: {result['faces_in']:,} faces, {result['charts']} charts, "
                f"{CHART_TEXTURE}² texture (mean/Hausdorff: % of the diagonal; s: the level's share of its build, "
                "MeshLab's: the filter alone; build_s: the whole build_lods)", shown, columns)
    chose = ", ".join(f"{k} → {v}" for k, v in result["auto_chose"].items())
    print(f"auto chose: {chose}; {result['auto_rule']}")
    for note in result["notes"]:
        print("note:", note)
    print("goals:")
    for goal in result["goals"]:
        print(f"  [{goal['status']}] {goal['goal']}: {goal['detail']}")


# -- driver -----------------------------------------------------------------------------------------------

def run_web(args, n: int, relief_sizes: list[int], cache: Path) -> dict:
    """The scan and relief inputs: llvscan's variants and the peers; prints their tables and goals and returns
    what goes into the results file."""
    inputs = {f"scan-{n}": make_scan(n, cache)}
    inputs.update({f"relief-{r}": make_relief(r, cache) for r in relief_sizes})

    recipes = variants()
    warm, warm_notes = warm_kernels(cache, recipes)
    print(f"numba kernels ready in {warm:.1f} s (every variant built once on a 432-face scan)")
    for note in warm_notes:
        print("note:", note)

    node_dir: Path | None = cache / "node"
    peers: dict = {}
    versions: dict[str, str] = {}
    if args.no_peers:
        node_dir = None
    else:
        bins, why, versions = install_peers(node_dir)
        if why:
            node_dir = None
        for peer, (tool, options) in PEERS.items():
            if tool in bins:
                peers[peer] = (bins[tool], options)
            else:
                peers[peer] = (f"not available ({why or tool + ' not installed'})", options)
        if versions:
            print("peers:", ", ".join(f"{k} {v}" for k, v in versions.items()))
    browser = ("not measured (no browser)" if not Path("/usr/bin/chromium").exists()
               else "not measured (Chromium is installed; this script does not drive it yet)")

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, obj in inputs.items():
            results[label] = run_input(label, obj, recipes, peers, node_dir, args.repeat, Path(tmp))
    columns = ["level", "variant/peer", "faces", "bytes", "% today", "ssim", "psnr", "ssim_file", "psnr_file",
               "s", "bake_s", "note"]
    for label, result in results.items():
        built = result["variants"]
        totals = ", ".join(f"{name} {v['seconds']:.1f} s ({v['peak_rss_mib']:.0f} MiB peak)" if "seconds" in v
                           else f"{name} not available yet" for name, v in built.items())
        print_table(f"{label}: {result['faces_in']:,} faces; build_lods {totals}", result["rows"], columns)
        for name, v in built.items():
            for note in v.get("notes", []):
                print(f"note ({name}): {note}")
            if "error" in v:
                print(f"{name}: not available yet ({v['error']})")
        print("goals:")
        for goal in result["goals"]:
            print(f"  [{goal['status']}] {goal['goal']}: {goal['detail']}")
    print(f"\nbrowser decode time: {browser}")
    print(f"numba kernels: {warm:.1f} s")
    return {"kernels_s": round(warm, 3), "warm_notes": warm_notes, "node_packages": versions,
            "browser_decode": browser, "repeat": args.repeat, "inputs": results}


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--n", type=int, default=120, help="the scan's cube-sphere resolution: 12 n² faces")
    parser.add_argument("--relief-n", default="60,120",
                        help="comma-separated resolutions of the fine-relief input (12 n² faces each)")
    parser.add_argument("--charts-n", type=int, default=CHARTS_N,
                        help=f"the many-chart scan's resolution: 12 n² faces (default {CHARTS_N}: 99,372)")
    parser.add_argument("--charts", action="store_true", help="only the many-chart (real atlas) case")
    parser.add_argument("--no-charts", action="store_true", help="leave the many-chart case out")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each peer encode (the median is reported)")
    parser.add_argument("--no-peers", action="store_true", help="llvscan's variants only")
    parser.add_argument("--quick", action="store_true",
                        help=f"n = 40 (19,200 faces), relief n = 60 only, charts n = {CHARTS_N_QUICK}")
    args = parser.parse_args()
    n = 40 if args.quick else args.n
    relief_sizes = [60] if args.quick else [int(v) for v in args.relief_n.split(",") if v.strip()]
    charts_n = CHARTS_N_QUICK if args.quick else args.charts_n
    cache = args.out / "cache"

    payload: dict = {"machine": machine()}
    if not args.charts:
        payload |= run_web(args, n, relief_sizes, cache)
    if not args.no_charts:
        with tempfile.TemporaryDirectory() as tmp:
            payload["charts"] = run_charts(charts_n, cache, Path(tmp))
        print_charts(payload["charts"])
    print(f"machine: {machine()}")
    path = write_results(args.out, "bench_web", payload)
    print(f"results: {path}")

if __name__ == "__main__":
    main()
