"""Quick benchmark of the foundation slice, side by side with the peers on the same input.

* tiling: llvscan ``tile_image`` (IIIF 3 level 0, valid) vs raw libvips ``dzsave`` layout=iiif3
  (invalid as it comes) on the sample collection's 12288×9216 master;
* mesh checks: llvscan ``validate_mesh`` vs trimesh (watertight, winding, area, volume) on the
  150k-face bust, arrays already loaded; numba's first call (compile or cache load) reported apart;
* the whole ``llvscan run`` over the sample collection (2 workers), fresh and resumed;
* scale (issue 7): a synthetic collection of ``--assets`` tiny images (default 220,000) run with a
  catalogue-only recipe (no tiles, no inspection), so what is timed is llvscan's own overhead per asset:
  discovery, planning, checksums in the workers, scheduling and one catalog transaction each; then the
  resume over the unchanged collection;
* workers (issue 7): the sample collection's real assets, copied ``--copies`` times, processed with the
  default recipe (LODs, validation, inspection, tiles) by 1 and by 2 workers.

Every case runs in a fresh interpreter so its peak RSS is its own. Results: a table on stdout and
JSON under ``--out`` (default ``benchmarks/results``).

    python benchmarks/bench_run.py [--quick] [--collection sample_data/collection] [--assets 220000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import ROOT, argument_parser, machine, measure, peak_rss, print_table, run_case, write_results

from llvscan._constants import CATALOG_NAME

HERE = Path(__file__).resolve()


def tiny_collection(folder: Path, count: int) -> Path:
    """``count`` 8×8 PNG masters, 1,000 to a folder, written once and reused between runs."""
    marker = folder / f".complete-{count}"
    if marker.is_file():
        return folder
    import pyvips

    shutil.rmtree(folder, ignore_errors=True)
    data = pyvips.Image.black(8, 8, bands=3).pngsave_buffer()
    for i in range(count):
        sub = folder / f"box{i // 1000:04d}"
        if i % 1000 == 0:
            sub.mkdir(parents=True)
        (sub / f"item{i:06d}.png").write_bytes(data)
    marker.write_text("")
    return folder


def timed(fn) -> dict:
    start = time.perf_counter()
    result = fn()
    return {"seconds": round(time.perf_counter() - start, 3), "result": result}


def scale_case(assets: int, workers: int) -> dict:
    from llvscan.collection import ImageRecipe, RunRecipe, run_collection

    folder = tiny_collection(Path(tempfile.gettempdir()) / "llvscan-bench-tiny", assets)
    out = Path(tempfile.mkdtemp(prefix="llvscan-bench-scale-"))
    try:
        recipe = RunRecipe(image=ImageRecipe(layouts=(), inspect=False))
        with peak_rss() as driver:  # this process only: the workers are other processes
            fresh = timed(lambda: run_collection(folder, out, recipe=recipe, workers=workers))
            resumed = timed(lambda: run_collection(folder, out, recipe=recipe, workers=workers))
        catalog_mib = round((out / CATALOG_NAME).stat().st_size / 2**20, 1)
        f, r = fresh["result"], resumed["result"]
        assert (f.total, f.ok, r.skipped) == (assets, assets, assets), (f, r)
        return {"assets": assets, "workers": workers, "fresh_s": fresh["seconds"],
                "per_asset_ms": round(1000 * fresh["seconds"] / assets, 3), "resume_s": resumed["seconds"],
                "resume_per_asset_ms": round(1000 * resumed["seconds"] / assets, 4), "catalog_mib": catalog_mib,
                "peak_rss_mib": round(driver.peak_mib, 1)}
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _burn(_: int) -> float:
    x = 0
    for i in range(20_000_000):
        x += i * i
    return x


def cpu_ceiling() -> float:
    """What 2 processes get over 1 on this machine for pure CPU work: the bound on any 2-worker speed-up."""
    import multiprocessing

    start = time.perf_counter()
    _burn(0)
    one = time.perf_counter() - start
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(_burn, [0])  # started
        start = time.perf_counter()
        pool.map(_burn, [0, 1], chunksize=1)
        two = time.perf_counter() - start
    return round(2 * one / two, 2)


def workers_case(collection: Path, copies: int, repeat: int) -> dict:
    """Median wall time of a forced run over ``copies`` copies of the sample collection, 1 vs 2 workers."""
    import statistics

    from llvscan.collection import run_collection

    tmp = Path(tempfile.mkdtemp(prefix="llvscan-bench-workers-"))
    try:
        source = tmp / "collection"
        for i in range(copies):
            shutil.copytree(collection, source / f"copy{i}", ignore=shutil.ignore_patterns("broken", "*.csv"))
        run_collection(source, tmp / "warm", workers=2)  # numba caches, page cache
        # (workers, library threads per worker): 1 worker gets every core's threads by default
        configs = {"1x2": (1, None), "1x1": (1, 1), "2x1": (2, None)}
        times: dict[str, list[float]] = {name: [] for name in configs}
        for _ in range(repeat):
            for name, (workers, threads) in configs.items():
                start = time.perf_counter()
                summary = run_collection(source, tmp / f"out{name}", workers=workers, threads=threads, force=True)
                times[name].append(time.perf_counter() - start)
                assert summary.failed == 0 and summary.ok == summary.total, summary
        median = {name: statistics.median(t) for name, t in times.items()}
        return {"assets": summary.total, "copies": copies, "one_worker_s": round(median["1x2"], 2),
                "one_worker_one_thread_s": round(median["1x1"], 2), "two_workers_s": round(median["2x1"], 2),
                "speedup": round(median["1x2"] / median["2x1"], 2),
                "speedup_per_core": round(median["1x1"] / median["2x1"], 2), "cpu_ceiling": cpu_ceiling(),
                "runs": {k: [round(t, 2) for t in v] for k, v in times.items()}}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def case(name: str, collection: Path, repeat: int, assets: int = 220_000, copies: int = 3) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="llvscan-bench-"))
    try:
        master = collection / "paintings" / "landscape.tif"
        if name == "tile-llvscan":
            from llvscan.imaging import tile_image

            return measure(lambda: tile_image(master, tmp / "iiif" / "landscape"), repeat)
        if name == "tile-dzsave":
            import pyvips

            def raw():
                shutil.rmtree(tmp / "raw", ignore_errors=True)
                image = pyvips.Image.new_from_file(str(master), access="sequential")
                image.dzsave(str(tmp / "raw"), layout="iiif3", tile_size=512, Q=85)

            return measure(raw, repeat)
        if name in ("mesh-llvscan", "mesh-trimesh"):
            from llvscan.mesh import Mesh, load_mesh, validate_mesh

            mesh = load_mesh(collection / "sculpture" / "bust.obj")
            if name == "mesh-llvscan":
                return measure(lambda: validate_mesh(mesh), repeat)
            import trimesh

            def peer():
                t = trimesh.Trimesh(mesh.vertices, mesh.faces, process=False)
                t.merge_vertices()
                return t.is_watertight, t.is_winding_consistent, t.area, t.volume

            assert isinstance(mesh, Mesh)
            return measure(peer, repeat)
        if name == "run-fresh":
            from llvscan.collection import run_collection

            def fresh():
                shutil.rmtree(tmp / "out", ignore_errors=True)
                run_collection(collection, tmp / "out", workers=2)

            return measure(fresh, repeat)
        if name == "scale":
            return scale_case(assets, 2)
        if name == "workers":
            return workers_case(collection, copies, repeat)
        if name == "run-resumed":
            from llvscan.collection import run_collection

            run_collection(collection, tmp / "out", workers=2)
            return measure(lambda: run_collection(collection, tmp / "out", workers=2), repeat)
        raise SystemExit(f"unknown case {name}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def collection_benchmark(extra: list[str]) -> dict:
    """Issue 7's table: overhead per asset at scale, resume, and 2 workers against 1."""
    results = {name: run_case(HERE, name, *extra) for name in ("scale", "workers")}
    scale, workers = results["scale"], results["workers"]
    rows = [
        {"measure": f"overhead per asset, {scale['assets']:,} tiny assets, 2 workers", "value": scale["per_asset_ms"],
         "unit": "ms", "goal": "≤ 5", "met": scale["per_asset_ms"] <= 5},
        {"measure": "fresh run, whole collection", "value": scale["fresh_s"], "unit": "s", "goal": "", "met": ""},
        {"measure": "resume over the unchanged collection", "value": scale["resume_s"], "unit": "s",
         "goal": "≤ 60 (at 220,000)", "met": scale["resume_s"] * 220_000 / scale["assets"] <= 60},
        {"measure": "catalog size", "value": scale["catalog_mib"], "unit": "MiB", "goal": "", "met": ""},
        {"measure": "driver peak RSS", "value": scale["peak_rss_mib"], "unit": "MiB", "goal": "", "met": ""},
        {"measure": f"sample assets ×{workers['copies']} ({workers['assets']}), 1 worker (2 library threads)",
         "value": workers["one_worker_s"], "unit": "s", "goal": "", "met": ""},
        {"measure": "the same, 1 worker with 1 thread", "value": workers["one_worker_one_thread_s"], "unit": "s",
         "goal": "", "met": ""},
        {"measure": "the same, 2 workers (1 thread each)", "value": workers["two_workers_s"], "unit": "s", "goal": "",
         "met": ""},
        {"measure": "speed-up, 2 workers ÷ 1 worker", "value": workers["speedup"], "unit": "×", "goal": "≥ 1.8",
         "met": workers["speedup"] >= 1.8},
        {"measure": "speed-up, 2 workers ÷ 1 worker, 1 thread each", "value": workers["speedup_per_core"], "unit": "×",
         "goal": "≥ 1.8", "met": workers["speedup_per_core"] >= 1.8},
        {"measure": "pure-CPU ceiling of this machine, 2 processes ÷ 1", "value": workers["cpu_ceiling"], "unit": "×",
         "goal": "", "met": ""},
    ]
    print_table("llvscan collection runs (issue 7)", rows, ["measure", "value", "unit", "goal", "met"])
    return results


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--collection", type=Path, default=ROOT / "sample_data" / "collection")
    parser.add_argument("--quick", action="store_true", help="3 timed repeats instead of 7")
    parser.add_argument("--assets", type=int, default=None,
                        help="tiny assets in the scale case [default 220000; --quick 20000]")
    parser.add_argument("--copies", type=int, default=3, help="copies of the sample collection in the workers case")
    parser.add_argument("--only", choices=["foundation", "collection"], help="run one part of the benchmark")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    repeat = 3 if args.quick else 7
    if args.assets is None:
        args.assets = 20_000 if args.quick else 220_000
    if args.case:
        print(json.dumps(case(args.case, args.collection.resolve(), repeat, args.assets, args.copies)))
        return
    if not (args.collection / "collection.csv").is_file():
        raise SystemExit(f"{args.collection}: no sample collection; run `make sample` first")

    extra = ["--collection", str(args.collection), "--assets", str(args.assets), "--copies", str(args.copies),
             *(["--quick"] if args.quick else [])]
    results = {}
    if args.only != "foundation":
        results.update(collection_benchmark(extra))
    if args.only == "collection":
        path = write_results(args.out, "bench_run", {"machine": machine(), "repeat": repeat, "cases": results})
        print(f"\nresults: {path}")
        return
    cases = ["tile-llvscan", "tile-dzsave", "mesh-llvscan", "mesh-trimesh", "run-fresh", "run-resumed"]
    for name in cases:
        started = time.perf_counter()
        results[name] = run_case(HERE, name, *extra)
        print(f"{name}: median {results[name]['median_s']} s ({time.perf_counter() - started:.1f} s total)",
              file=sys.stderr)

    rows = []
    for name, peer in (("tile-llvscan", "tile-dzsave"), ("mesh-llvscan", "mesh-trimesh")):
        ours, theirs = results[name], results[peer]
        rows.append({"case": name, "peer": peer, "ours_s": ours["median_s"], "peer_s": theirs["median_s"],
                     "ratio": round(ours["median_s"] / theirs["median_s"], 2),
                     "first_call_s": ours["first_s"], "ours_rss_mib": ours["peak_rss_mib"],
                     "peer_rss_mib": theirs["peak_rss_mib"]})
    for name in ("run-fresh", "run-resumed"):
        rows.append({"case": name, "ours_s": results[name]["median_s"], "first_call_s": results[name]["first_s"],
                     "ours_rss_mib": results[name]["peak_rss_mib"]})
    print_table("llvscan foundation benchmark (medians; ratio = llvscan / peer, < 1 is faster)", rows,
                ["case", "peer", "ours_s", "peer_s", "ratio", "first_call_s", "ours_rss_mib", "peer_rss_mib"])
    path = write_results(args.out, "bench_run", {"machine": machine(), "repeat": repeat, "cases": results,
                                                  "table": rows})
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()
