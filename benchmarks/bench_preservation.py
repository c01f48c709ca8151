"""Preservation packaging benchmark: the sample collection ×N (default 10), per asset: format identification
(siegfried), lossless JPEG 2000 masters (glymur, validated by jpylyzer, compared pixel for pixel) with their
size against the same image as an LZW TIFF, and the OCFL export, and the BagIt bag.

The collection is the sample's copied N times (``copy-00/`` …), run once by llvscan (validation, tiles, LODs
off to keep the run short: ``[mesh] lods = "none"``), then each packaging step is timed on its own.

    python benchmarks/bench_preservation.py [--copies 10] [--quick]
"""

from __future__ import annotations

import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import argument_parser, load_sample_generator, machine, peak_rss, print_table, write_results


def _collection(cache: Path, copies: int) -> Path:
    root = cache / f"sample-x{copies}"
    if root.is_dir():
        return root
    sample = cache / "sample"
    if not sample.is_dir():
        load_sample_generator().generate(sample)
    staging = root.with_name(root.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for i in range(copies):
        shutil.copytree(sample, staging / f"copy-{i:02d}", ignore=shutil.ignore_patterns("collection.csv"))
    staging.rename(root)
    return root


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="2 copies")
    args = parser.parse_args()
    copies = 2 if args.quick else args.copies
    from llvscan.catalog import Catalog
    from llvscan.collection import RunRecipe, run_collection
    from llvscan.preservation import identify_files, write_jp2_master
    from llvscan.preservation.bag import write_preservation_bag
    from llvscan.preservation.ocfl import export_ocfl

    cache = args.out / "cache"
    root = _collection(cache, copies)
    work = args.out / "cache" / f"preservation-x{copies}"
    shutil.rmtree(work, ignore_errors=True)
    out = work / "out"
    recipe = RunRecipe().with_mesh(lods=None)
    started = time.perf_counter()
    summary = run_collection(root, out, recipe=recipe, report=False)
    run_s = time.perf_counter() - started
    with Catalog(out / "catalog.sqlite", readonly=True) as cat:
        assets = [a for a in cat.assets() if a.status == "ok"]
        files = cat.files()
    rows = []

    paths = [root / f.rel_path for f in files]
    with peak_rss() as memory:
        t0 = time.perf_counter()
        found = identify_files(paths)
        seconds = time.perf_counter() - t0
    unknown = sum(f.puid == "UNKNOWN" for f in found)
    rows.append({"step": "identify (siegfried)", "items": f"{len(paths)} files", "s per asset":
                 f"{seconds / len(assets):.4f}", "peak MiB": round(memory.peak_mib), "note": f"{unknown} unknown"})

    images = [a for a in assets if a.kind == "image" and not a.target]
    ratios, lzw, per_mp = [], [], []
    with peak_rss() as memory:
        t0 = time.perf_counter()
        for a in images:
            m = write_jp2_master(root / a.rel_path, work / "jp2" / f"{a.id}.jp2", compare_lzw=True)
            ratios.append(m.ratio)
            lzw.append(m.lzw_ratio)
            per_mp.append(m.seconds / (m.width * m.height / 1e6))
        seconds = time.perf_counter() - t0
    rows.append({"step": "JP2 masters (write, jpylyzer, compare)", "items": f"{len(images)} images",
                 "s per asset": f"{seconds / max(1, len(images)):.2f}", "peak MiB": round(memory.peak_mib),
                 "note": f"JP2/LZW TIFF median {statistics.median(lzw):.3f} (min {min(lzw):.3f}, max {max(lzw):.3f});"
                         f" JP2/source median {statistics.median(ratios):.3f}; {statistics.median(per_mp):.2f} s/MP"})

    for name, step in (("OCFL export (first)", lambda: export_ocfl(out, root, work / "ocfl")),
                       ("OCFL export (rerun, unchanged)", lambda: export_ocfl(out, root, work / "ocfl")),
                       ("BagIt bag with sources", lambda: write_preservation_bag(out, root, work / "bag"))):
        with peak_rss() as memory:
            t0 = time.perf_counter()
            result = step()
            seconds = time.perf_counter() - t0
        rows.append({"step": name, "items": f"{len(assets)} assets", "s per asset": f"{seconds / len(assets):.3f}",
                     "peak MiB": round(memory.peak_mib), "note": type(result).__name__})

    print(f"sample ×{copies}: {summary.total} assets ({len(assets)} ok), llvscan run {run_s:.1f} s "
          f"(LODs off), {sum(f.bytes for f in files) / 1e6:.0f} MB of sources")
    print_table("packaging, per asset", rows, ["step", "items", "s per asset", "peak MiB", "note"])
    write_results(args.out, "bench_preservation", {"machine": machine(), "copies": copies, "rows": rows})


if __name__ == "__main__":
    main()
