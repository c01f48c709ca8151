"""Capture-target grading benchmark: a 100-megapixel target graded end to end, and its e-SFR against an
independent implementation on the same edges.

Inputs (generated once, cached under ``--out``/cache): two 12240 × 8160 (99.9 Mpx) 8-bit sRGB tiled TIFFs
with an embedded sRGB profile, as a session's two target shots: a ColorChecker Digital SG rendered from the
published L*a*b* values (colour-science), turned by 3°, on a mid-grey wall with noise; and a dark square
tilted by 5° on the same wall, its edges a point-sampled Gaussian blur of σ px in linear light (the known
MTF: exp(−2π²σ²f²), MTF50 = 0.1874/σ cycles/pixel).

Cases, each in a fresh interpreter, ``grade_target(target="auto")`` to FADGI 2023 with the overlay:

* ``chart``: finds the SG, measures its 140 patches at full resolution, true ppi;
* ``edges``: finds no chart, finds the square's edges and measures them at full resolution.

Wall time (median of ``--repeat`` after a first call, which loads the numba kernels and is reported
apart), CPU time and peak RSS of the process.

SFR agreement: for each edge ``edges`` measured, the same region of the master is linearised
independently (colour-science's sRGB decoding of the stored 8-bit values) and measured by
``sfr_reference.py`` (an sfrmat3-style e-SFR written apart from llvscan's); MTF50 and MTF10 of both, and the
truth, are printed.

    python benchmarks/bench_qa.py [--sigma 1.5] [--repeat 3] [--quick]
"""

from __future__ import annotations

import json
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import argument_parser, machine, peak_rss, print_table, run_case, write_results

HERE = Path(__file__).resolve()
WIDTH, HEIGHT = 12240, 8160


def _srgb8(lab: np.ndarray) -> np.ndarray:
    import colour

    d50 = colour.CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]["D50"]
    rgb = colour.XYZ_to_RGB(colour.Lab_to_XYZ(lab, d50), "sRGB", illuminant=d50,
                            chromatic_adaptation_transform="Bradford", apply_cctf_encoding=True)
    return np.clip(np.rint(rgb * 255), 0, 255).astype(np.uint8)


def _edge_block(size: int, sigma: float, angle: float) -> np.ndarray:
    """A dark square tilted by ``angle`` degrees on white, 8-bit sRGB-encoded from linear light."""
    import colour
    from scipy.special import ndtr

    ys, xs = np.mgrid[0:size, 0:size] + 0.5
    t = math.radians(angle)
    u = (xs - size / 2) * math.cos(t) + (ys - size / 2) * math.sin(t)
    v = -(xs - size / 2) * math.sin(t) + (ys - size / 2) * math.cos(t)
    d = np.maximum(np.abs(u), np.abs(v)) - size * 0.3
    linear = 0.04 + 0.86 * ndtr(d / sigma)
    grey = np.rint(colour.cctf_encoding(linear, function="sRGB") * 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def _wall():
    import pyvips

    wall = pyvips.Image.black(WIDTH, HEIGHT, bands=3).linear(1.0, [118.0, 116.0, 112.0])
    return (wall + pyvips.Image.gaussnoise(WIDTH, HEIGHT, sigma=2.0)).cast("uchar").copy(interpretation="srgb")


def _save(image, path: Path, px_per_mm: float) -> Path:
    import pyvips
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image = image.copy()
    image.set_type(pyvips.GValue.blob_type, "icc-profile-data", profile)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.tif")
    image.tiffsave(str(tmp), tile=True, tile_width=512, tile_height=512, xres=px_per_mm, yres=px_per_mm,
                   bigtiff=True)
    tmp.rename(path)
    return path


def make_edge_target(cache: Path, sigma: float) -> Path:
    """The slanted-edge shot: a 4800-px tilted dark square on the wall."""
    path = cache / f"edge-{WIDTH}x{HEIGHT}-sigma{sigma:g}.tif"
    if path.exists():
        return path
    import pyvips

    size = 4800
    block = pyvips.Image.new_from_array(_edge_block(size, sigma, 5.0)).copy(interpretation="srgb")
    return _save(_wall().insert(block, (WIDTH - size) // 2, (HEIGHT - size) // 2), path, 600 / 25.4)


def make_target(cache: Path) -> Path:
    """The chart shot: the SG over 62 % of the width (about 690 ppi), turned by 3°."""
    path = cache / f"chart-{WIDTH}x{HEIGHT}.tif"
    if path.exists():
        return path
    import pyvips

    from llvscan.imaging.qa.charts import CHARTS, reference_lab

    spec = CHARTS["colorchecker-sg"]
    mm = 0.62 * WIDTH / spec.width_mm
    card_w, card_h = round(spec.width_mm * mm), round(spec.height_mm * mm)
    card = np.full((card_h, card_w, 3), 20, np.uint8)
    colours = _srgb8(reference_lab("colorchecker-sg"))
    half = spec.patch_mm * mm / 2
    for i, rgb in enumerate(colours):
        cx, cy = (c * mm for c in spec.patch_centre_mm(i))
        card[round(cy - half):round(cy + half), round(cx - half):round(cx + half)] = rgb
    chart = pyvips.Image.new_from_array(card).copy(interpretation="srgb").similarity(angle=3.0)
    return _save(_wall().insert(chart, (WIDTH - chart.width) // 2, (HEIGHT - chart.height) // 2), path, mm)


def _case(args) -> dict:
    from llvscan.imaging.qa import grade_target

    target = "auto"
    overlay = Path(args.scratch) / f"overlay-{args.case}.png"
    times, cpus, report = [], [], None
    with peak_rss() as memory:
        start = time.perf_counter()
        first = grade_target(args.image, target=target, overlay=overlay)
        first_s = time.perf_counter() - start
        for _ in range(args.repeat):
            cpu0, t0 = time.process_time(), time.perf_counter()
            report = grade_target(args.image, target=target, overlay=overlay)
            times.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - cpu0)
    report = report or first
    return {"case": args.case, "first_s": round(first_s, 2), "median_s": round(statistics.median(times), 2),
            "cpu_s": round(statistics.median(cpus), 2), "peak_rss_mib": round(memory.peak_mib),
            "baseline_mib": round(memory.baseline_mib), "target": report.target,
            "level": report.level, "metrics": report.metrics,
            "edges": [{"roi": list(e.roi), "mtf50": e.mtf50, "mtf10": e.mtf10, "angle": e.angle_deg}
                      for e in report.edges]}


def _agreement(image: Path, edges: list[dict], sigma: float) -> list[dict]:
    import colour
    import pyvips
    from sfr_reference import sfrmat3

    master = pyvips.Image.new_from_file(str(image))
    rows = []
    for edge in edges:
        x, y, w, h = edge["roi"]
        crop = master.crop(x, y, w, h).extract_band(1)  # grey: every band holds the same value
        encoded = np.ndarray(buffer=crop.write_to_memory(), dtype=np.uint8, shape=(h, w)) / 255.0
        linear = colour.cctf_decoding(encoded, function="sRGB")
        freq, mtf, angle = sfrmat3(linear)
        rows.append({"roi": f"{x},{y} {w}×{h}", "angle": f"{edge['angle']:.2f}/{angle:.2f}",
                     "mtf50 llvscan": f"{edge['mtf50']:.4f}", "mtf50 sfrmat3": f"{_crossing(freq, mtf, 0.5):.4f}",
                     "mtf50 truth": f"{0.1874 / sigma:.4f}",
                     "mtf10 llvscan": f"{edge['mtf10']:.4f}", "mtf10 sfrmat3": f"{_crossing(freq, mtf, 0.1):.4f}",
                     "mtf10 truth": f"{math.sqrt(math.log(10) / 2) / (math.pi * sigma):.4f}"})
    return rows


def _crossing(freq: np.ndarray, mtf: np.ndarray, level: float) -> float:
    below = np.nonzero(mtf < level)[0]
    if not len(below) or below[0] == 0:
        return float("nan")
    i = below[0]
    return float(freq[i - 1] + (mtf[i - 1] - level) / (mtf[i - 1] - mtf[i]) * (freq[i] - freq[i - 1]))


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--sigma", type=float, default=0.8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one repeat")
    parser.add_argument("--case")
    parser.add_argument("--image")
    parser.add_argument("--scratch")
    args = parser.parse_args()
    if args.case:
        print(json.dumps(_case(args)))
        return
    repeat = 1 if args.quick else args.repeat
    image, edges = make_target(args.out / "cache"), make_edge_target(args.out / "cache", args.sigma)
    scratch = args.out / "cache"
    results = [run_case(HERE, case, "--image", str(path), "--scratch", str(scratch), "--repeat", str(repeat))
               for case, path in (("chart", image), ("edges", edges))]
    print(f"targets: {image.name} and {edges.name}, {WIDTH * HEIGHT / 1e6:.1f} Mpx each, "
          f"{image.stat().st_size / 1e6:.0f} MB; σ = {args.sigma} px")
    print_table("grade_target end to end (detection, every metric, overlay); fresh process each",
                [{**r, "metrics": None} for r in results],
                ["case", "target", "level", "first_s", "median_s", "cpu_s", "peak_rss_mib", "baseline_mib"])
    for result in results:
        print(f"\nmetrics ({result['case']}): " + ", ".join(f"{k} {v:.3g}" for k, v in result["metrics"].items()
                                                          if v is not None))
    agreement = _agreement(edges, results[1]["edges"], args.sigma)
    print_table("e-SFR on the same edges: llvscan vs an independent sfrmat3-style implementation, and the truth",
                agreement, list(agreement[0]) if agreement else ["roi"]) if agreement else print("\nno edge measured")
    write_results(args.out, "bench_qa", {"machine": machine(), "sigma": args.sigma, "cases": results,
                                         "agreement": agreement})


if __name__ == "__main__":
    main()
