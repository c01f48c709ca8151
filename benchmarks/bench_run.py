"""Quick benchmark of the foundation slice, side by side with the peers on the same input.

* tiling: llvscan ``tile_image`` (IIIF 3 level 0, valid) vs raw libvips ``dzsave`` layout=iiif3
  (invalid as it comes) on the sample collection's 12288×9216 master;
* mesh checks: llvscan ``validate_mesh`` vs trimesh (watertight, winding, area, volume) on the
  150k-face bust, arrays already loaded; numba's first call (compile or cache load) reported apart;
* the whole ``llvscan run`` over the sample collection (2 workers), fresh and resumed.

Every case runs in a fresh interpreter so its peak RSS is its own. Results: a table on stdout and
JSON under ``--out`` (default ``benchmarks/results``).

    python benchmarks/bench_run.py [--quick] [--collection sample_data/collection]
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
from _harness import machine, measure, print_table, run_case, write_results

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]


def case(name: str, collection: Path, repeat: int) -> dict:
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
        if name == "run-resumed":
            from llvscan.collection import run_collection

            run_collection(collection, tmp / "out", workers=2)
            return measure(lambda: run_collection(collection, tmp / "out", workers=2), repeat)
        raise SystemExit(f"unknown case {name}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--collection", type=Path, default=ROOT / "sample_data" / "collection")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--quick", action="store_true", help="3 timed repeats instead of 7")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    repeat = 3 if args.quick else 7
    if args.case:
        print(json.dumps(case(args.case, args.collection.resolve(), repeat)))
        return
    if not (args.collection / "collection.csv").is_file():
        raise SystemExit(f"{args.collection}: no sample collection; run `make sample` first")

    cases = ["tile-llvscan", "tile-dzsave", "mesh-llvscan", "mesh-trimesh", "run-fresh", "run-resumed"]
    results = {}
    for name in cases:
        started = time.perf_counter()
        results[name] = run_case(HERE, name, "--collection", str(args.collection), *(["--quick"] if args.quick else []))
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
