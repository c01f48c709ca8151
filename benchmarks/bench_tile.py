"""Tiling benchmark: llvscan's IIIF 3 level-0 tile sets against raw libvips ``dzsave`` and zimeon's ``iiif_static``.

Inputs: the sample generator's landscape as RGB tiled TIFFs (JPEG Q90 tiles, no pyramid, sRGB ICC profile),
20000×15000 and 40000×30000 (``--quick``: 8000×6000 and 16000×12000), plus JPEG crops of the smaller one for
iiif_static (it uses Pillow and re-decodes the whole source for every file it writes, so its time per pixel grows
with the image: it is measured on two crop sizes, 2048² and 4096² (quick: 1024², 2048²), and modelled at full
size as files · (a + k · source Mpx), a and k fitted on the two crops). All cached under ``--out``/cache.

* ``dzsave``: ``new_from_file(access="sequential").dzsave(layout="iiif3", tile_size=512, overlap=0, Q=85)``;
* ``llvscan``: ``tile_image(layout="iiif3", tile_size=512, quality=85, max_size=2048)`` (adds ``full/max``,
  ``sizes``, every ``full/w,h``, colour conversion, atomic publishing);
* ``llvscan-asset``: what a collection run does per image: tiles + inspection + sha256 of the master, from one
  decode with ``tile_and_inspect`` (columns ``sha256_s`` and ``inspect_s`` are then n/a: nothing separates them);
  an llvscan without it runs ``tile_image``, ``sha256_file`` and ``inspect_image`` one after the other;
* ``llvscan-apart``: those three one after the other (three reads, two decodes), for comparison;
* ``iiif_static`` on the crops (JPEG quality is not settable there: Pillow's default, 75), and ``llvscan`` on
  the same crops.

Every run is a fresh interpreter after an ``os.sync()``; runs go round-robin over the cases (``--repeat`` rounds,
odd rounds in reverse order) so the machine's noise hits all alike; ratios are medians of ratios within a round.
Peak RSS (``_harness.peak_rss``): reset once the libraries are imported (and inspect_image's numba kernels loaded on
a tiny image, as in a collection run), read after the run; ``base_mib`` is the RSS at the reset.
``missing``: IIIF 3 canonical files (tiles, ``sizes``, ``full/max``) that info.json implies and are absent.

    python benchmarks/bench_tile.py [--quick] [--repeat 3] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import argument_parser, load_sample_generator, machine, peak_rss, print_table, run_case, write_results

HERE = Path(__file__).resolve()
SIZES = {"full": [(20000, 15000), (40000, 30000)], "quick": [(8000, 6000), (16000, 12000)]}
CROPS = {"full": [2048, 4096], "quick": [1024, 2048]}
GOALS = {"vs_dzsave": 1.10, "vs_iiif_static": 500, "rss_mib": 256, "rss_growth": 1.5}


def _inspect_image():
    return getattr(importlib.import_module("llvscan.imaging"), "inspect_image", None)


def iiif_missing(folder: Path) -> list[str]:
    """The IIIF 3 canonical paths that ``folder/info.json`` promises to a level-0 client and that are absent."""
    info = json.loads((folder / "info.json").read_text())
    width, height, tiles = info["width"], info["height"], info["tiles"][0]
    tw, th = tiles["width"], tiles.get("height", tiles["width"])
    want = ["full/max/0/default.jpg"]
    want += [f"full/{s['width']},{s['height']}/0/default.jpg" for s in info.get("sizes", [])]
    for s in tiles["scaleFactors"]:
        for y in range(0, height, th * s):
            for x in range(0, width, tw * s):
                w, h = min(tw * s, width - x), min(th * s, height - y)
                region = "full" if (w, h) == (width, height) else f"{x},{y},{w},{h}"
                want.append(f"{region}/{math.ceil(w / s)},{math.ceil(h / s)}/0/default.jpg")
    missing = [p for p in want if not (folder / p).is_file()]
    return missing + ([] if info.get("sizes") else ["info.json: no sizes"])


def case(name: str, src: Path, work: Path) -> dict:
    """One run of one case in this (fresh) process; libraries are loaded before the peak is reset."""
    import pyvips

    from llvscan._paths import sha256_file
    from llvscan.imaging import tile_image

    inspect_image = _inspect_image()
    tile_and_inspect = getattr(importlib.import_module("llvscan.imaging"), "tile_and_inspect", None)
    if name == "iiif_static":
        import logging

        from iiif.static import IIIFStatic
        from PIL import Image

        logging.getLogger("iiif").setLevel(logging.WARNING)
    if name in ("llvscan-asset", "llvscan-apart") and inspect_image is not None:  # load its numba kernels, as a run has
        tiny = work / f"tiny-{os.getpid()}.tif"
        pyvips.Image.black(64, 64, bands=3).tiffsave(str(tiny))
        inspect_image(tiny)
        tiny.unlink()
    tmp = Path(tempfile.mkdtemp(dir=work))
    out = tmp / "tiles"
    result: dict = {}
    try:
        with peak_rss() as memory:
            cpu, start = time.process_time(), time.perf_counter()
            if name == "dzsave":
                pyvips.Image.new_from_file(str(src), access="sequential").dzsave(
                    str(out), layout="iiif3", tile_size=512, overlap=0, Q=85, keep="none")
            elif name == "llvscan-asset" and tile_and_inspect is not None:  # one decode for all three
                done = tile_and_inspect(src, out, layout="iiif3", tile_size=512, quality=85, max_size=2048,
                                        checksum=True)
                result.update(single_decode=done.single_decode, inspect_s=None, sha256_s=None)
            elif name.startswith("llvscan"):
                tile_image(src, out, layout="iiif3", tile_size=512, quality=85, max_size=2048)
                if name in ("llvscan-asset", "llvscan-apart"):  # three passes: tiles, sha256, inspection
                    result["tile_s"] = time.perf_counter() - start
                    t = time.perf_counter()
                    sha256_file(src)
                    result["sha256_s"] = time.perf_counter() - t
                    if inspect_image is not None:
                        t = time.perf_counter()
                        inspect_image(src)
                        result["inspect_s"] = time.perf_counter() - t
            elif name == "iiif_static":
                with Image.open(src) as im:
                    pixels = im.width * im.height
                if Image.MAX_IMAGE_PIXELS and pixels > Image.MAX_IMAGE_PIXELS:
                    Image.MAX_IMAGE_PIXELS, result["bomb_guard"] = None, "off"  # this process only
                IIIFStatic(dst=str(tmp), tilesize=512, api_version="3.0").generate(str(src), identifier=out.name)
            else:
                raise ValueError(f"unknown case {name!r}")
            result.update(wall_s=time.perf_counter() - start, cpu_s=time.process_time() - cpu)
        result.update(peak_rss_mib=memory.peak_mib, baseline_mib=memory.baseline_mib, peak_reset=memory.reset)
        files = [p for p in out.rglob("*") if p.is_file()]
        result.update(files=len(files), bytes=sum(p.stat().st_size for p in files))
        missing = iiif_missing(out)
        result.update(missing=len(missing), missing_first=missing[:5],
                      info_id=json.loads((out / "info.json").read_text()).get("id"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return result


def make_master(width: int, height: int, cache: Path) -> Path:
    """The landscape as an RGB tiled TIFF (JPEG Q90 tiles, no pyramid, sRGB profile), cached."""
    import pyvips

    path = cache / f"landscape-{width}x{height}.tif"
    if path.exists():
        return path
    gen = load_sample_generator()
    cache.mkdir(parents=True, exist_ok=True)
    image = gen.landscape_image(width, height, seed=1962).copy()
    image.set_type(pyvips.GValue.blob_type, "icc-profile-data", gen.srgb_icc_profile())
    tmp = path.with_suffix(".tmp.tif")
    started = time.perf_counter()
    image.tiffsave(str(tmp), tile=True, tile_width=256, tile_height=256, pyramid=False, compression="jpeg", Q=90,
                   xres=300 / 25.4, yres=300 / 25.4, resunit="inch")
    tmp.replace(path)
    print(f"generated {path.name} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return path


def make_crop(master: Path, size: int, cache: Path) -> Path:
    """A ``size``² centre crop of ``master`` as JPEG Q95 (Pillow decodes it for iiif_static), cached."""
    import pyvips

    path = cache / f"{master.stem}-crop{size}.jpg"
    if not path.exists():
        image = pyvips.Image.new_from_file(str(master))
        image.crop((image.width - size) // 2, (image.height - size) // 2, size, size).jpegsave(str(path), Q=95)
    return path


def _median(runs: list[dict], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--quick", action="store_true", help="8000×6000 and 16000×12000, 1024² and 2048² crops")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--src", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(case(args.case, args.src, args.work)))
        return
    mode = "quick" if args.quick else "full"
    cache, work = args.out / "cache", args.out / "work"
    work.mkdir(parents=True, exist_ok=True)
    masters = [make_master(w, h, cache) for w, h in SIZES[mode]]
    jobs: dict[str, tuple[str, Path, str, int]] = {}  # key: (case, src, input label, pixels)
    for (w, h), master in zip(SIZES[mode], masters, strict=True):
        for name in ("dzsave", "llvscan", "llvscan-asset", "llvscan-apart"):
            jobs[f"{name}@{w}x{h}"] = (name, master, f"{w}x{h} tif", w * h)
    for size in CROPS[mode]:
        crop = make_crop(masters[0], size, cache)
        for name in ("iiif_static", "llvscan"):
            jobs[f"{name}@crop{size}"] = (name, crop, f"crop {size}x{size} jpg", size * size)
    runs: dict[str, list[dict]] = {key: [] for key in jobs}
    errors: dict[str, str] = {}
    for round_ in range(args.repeat):  # odd rounds run in reverse order, so no case always follows another
        for key in list(jobs)[:: -1 if round_ % 2 else 1]:
            name, src = jobs[key][:2]
            if key in errors:
                continue
            os.sync()  # the previous run's written (and deleted) tiles are not flushed during this one
            try:
                runs[key].append(run_case(HERE, name, "--src", str(src), "--work", str(work)))
                print(f"round {round_ + 1} {key}: {runs[key][-1]['wall_s']:.2f} s", file=sys.stderr)
            except (RuntimeError, ValueError) as exc:
                errors[key] = str(exc).strip().splitlines()[-1][:200]
                print(f"round {round_ + 1} {key}: FAILED {errors[key]}", file=sys.stderr)

    rows, summary = [], {}
    for key, (name, _, label, pixels) in jobs.items():
        mpx, rs = pixels / 1e6, runs[key]
        wall = _median(rs, "wall_s")
        base = runs.get(f"dzsave@{key.split('@')[1]}", [])
        paired = [r["wall_s"] / b["wall_s"] for r, b in zip(rs, base, strict=False)]
        summary[key] = {"wall_s": wall, "s_per_mpx": wall / mpx if wall else None,
                        "vs_dzsave": statistics.median(paired) if paired and name != "dzsave" else None,
                        "peak_max_mib": max((r["peak_rss_mib"] for r in rs), default=None)}
        last = rs[-1] if rs else {}
        summary[key].update(files=last.get("files"), mpx=mpx)
        rows.append({
            "case": name, "input": label, "Mpx": f"{mpx:.1f}", "wall_s": _fmt(wall),
            "cpu_s": _fmt(_median(rs, "cpu_s")),
            "peak_rss_mib": _fmt(_median(rs, "peak_rss_mib"), 0), "base_mib": _fmt(_median(rs, "baseline_mib"), 0),
            "Mpx/s": _fmt(mpx / wall if wall else None, 1),
            "vs_dzsave": _fmt(summary[key]["vs_dzsave"], 3) if summary[key]["vs_dzsave"] else "",
            "files": last.get("files", ""), "MB": _fmt(last["bytes"] / 1e6, 1) if last else "",
            "missing": last.get("missing", ""),
            "sha256_s": _fmt(_median(rs, "sha256_s"), 3) if name.startswith("llvscan-a") else "",
            "inspect_s": _fmt(_median(rs, "inspect_s"), 3) if name.startswith("llvscan-a") else "",
            "error": errors.get(key, "") + (" bomb guard off" if last.get("bomb_guard") else ""),
        })
    print_table(f"tiling, IIIF 3 level 0, 512 px tiles, Q85 (medians of {args.repeat} fresh-process runs; "
                "vs_dzsave = median of same-round wall ratios)", rows,
                ["case", "input", "Mpx", "wall_s", "cpu_s", "peak_rss_mib", "base_mib", "Mpx/s", "vs_dzsave", "files",
                 "MB", "missing", "sha256_s", "inspect_s", "error"])

    goals: list[str] = []
    small, big = (f"{w}x{h}" for w, h in SIZES[mode])
    for size in (small, big):
        ratio = summary[f"llvscan@{size}"]["vs_dzsave"]
        ok = ratio is not None and ratio <= GOALS["vs_dzsave"]
        goals.append(f"llvscan ≤{GOALS['vs_dzsave']}× dzsave wall, {size}: {_fmt(ratio, 3)} {'PASS' if ok else 'FAIL'}")
    for size in CROPS[mode]:
        theirs = summary[f"iiif_static@crop{size}"]["s_per_mpx"]
        for against in (f"llvscan@{big}", f"llvscan@crop{size}"):
            ours = summary[against]["s_per_mpx"]
            speedup = theirs / ours if theirs and ours else None
            goals.append(f"per pixel, iiif_static crop{size} ({_fmt(theirs, 3)} s/Mpx) vs {against} "
                         f"({_fmt(ours, 4)} s/Mpx): {_fmt(speedup, 0)}× (goal ≥{GOALS['vs_iiif_static']}×)")
    # iiif_static decodes the whole source for every file it writes: t ≈ files · (a + k · source Mpx)
    st = [summary[f"iiif_static@crop{size}"] for size in CROPS[mode]]
    for size in (small, big):
        ll = summary[f"llvscan@{size}"]
        if not all(x["wall_s"] and x["files"] for x in [*st, ll]):
            continue
        (p0, m0), (p1, m1) = ((x["wall_s"] / x["files"], x["mpx"]) for x in (st[0], st[-1]))
        k = (p1 - p0) / (m1 - m0)
        modelled = ll["files"] * (p0 + k * (ll["mpx"] - m0))
        speedup = modelled / ll["wall_s"]
        summary[f"iiif_static_model@{size}"] = {"a_s": p0 - k * m0, "k_s_per_mpx": k, "modelled_s": modelled,
                                                "speedup": speedup}
        goals.append(f"modelled iiif_static on {size} (per file {(p0 - k * m0) * 1e3:.1f} ms + {k * 1e3:.2f} ms × "
                     f"source Mpx, fitted on the crops): {modelled:,.0f} s for {ll['files']} files = {speedup:,.0f}× "
                     f"llvscan's {ll['wall_s']:.1f} s {'PASS' if speedup >= GOALS['vs_iiif_static'] else 'FAIL'} "
                     f"(goal ≥{GOALS['vs_iiif_static']}×)")
    for size in (small, big):
        ratio = summary[f"llvscan-asset@{size}"]["vs_dzsave"]
        ok = ratio is not None and ratio <= GOALS["vs_dzsave"]
        goals.append(f"llvscan-asset (tiles + inspection + sha256) ≤{GOALS['vs_dzsave']}× dzsave wall, {size}: "
                     f"{_fmt(ratio, 3)} {'PASS' if ok else 'FAIL'}")
    for name in ("llvscan", "llvscan-asset"):
        peaks = [summary[f"{name}@{size}"]["peak_max_mib"] for size in (small, big)]
        growth = peaks[1] / peaks[0] if all(peaks) else None
        ok = all(peaks) and max(peaks) <= GOALS["rss_mib"] and growth <= GOALS["rss_growth"]
        goals.append(f"{name} peak RSS (max of runs) {small}: {_fmt(peaks[0], 0)} MiB, {big}: {_fmt(peaks[1], 0)} MiB, "
                     f"growth {_fmt(growth)}× for 4× pixels: {'PASS' if ok else 'FAIL'} "
                     f"(goal ≤{GOALS['rss_mib']} MiB, ≤{GOALS['rss_growth']}×)")
    inspected = any("inspect_s" in r for rs in runs.values() for r in rs)
    goals.append("inspect_image: " + ("included in llvscan-asset" if inspected else "n/a (not importable)"))
    print("\ngoals (issue):\n  " + "\n  ".join(goals))
    try:
        from importlib.metadata import version

        peer = f"iiif {version('iiif')}"
    except ImportError:
        peer = "iiif not installed"
    payload = {"machine": machine(), "mode": mode, "repeat": args.repeat, "iiif_package": peer,
               "jobs": {k: [v[0], str(v[1]), v[2], v[3]] for k, v in jobs.items()}, "runs": runs,
               "errors": errors, "summary": summary, "table": rows, "goals": goals}
    print(f"results: {write_results(args.out, 'bench_tile', payload)}")


if __name__ == "__main__":
    main()
