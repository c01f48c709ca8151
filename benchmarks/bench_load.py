"""Mesh loading benchmark: llvscan's readers against trimesh and open3d on a 2M-face textured OBJ and a
binary PLY of the same surface (generated once, cached under ``--out``/cache).

llvscan reads OBJ with its own numba parser and PLY through trimesh (fast enough not to need another).

    python benchmarks/bench_load.py [--n 409] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import (
    argument_parser,
    load_sample_generator,
    machine,
    measure,
    print_table,
    run_case,
    textured_scan,
    write_results,
)

HERE = Path(__file__).resolve()


def make_files(n: int, cache: Path) -> tuple[Path, Path]:
    obj, ply = cache / f"scan-{n}.obj", cache / f"scan-{n}.ply"
    if obj.exists() and ply.exists():
        return obj, ply
    import trimesh

    scan = textured_scan(n, seed=7, gutter=4)
    cache.mkdir(parents=True, exist_ok=True)
    obj.write_text(load_sample_generator().textured_obj_text(["# units: mm"], scan.positions, scan.uv, scan.faces,
                                                             scan.uv_faces))
    ply.write_bytes(trimesh.exchange.ply.export_ply(trimesh.Trimesh(scan.positions, scan.faces, process=False)))
    return obj, ply


def case(name: str, path: Path, repeat: int) -> dict:
    if name == "llvscan":
        from llvscan.mesh import load_mesh

        return measure(lambda: load_mesh(path), repeat)
    if name == "trimesh":
        import trimesh

        return measure(lambda: trimesh.load(str(path), process=False), repeat)
    from llvscan._open3d import import_open3d

    o3d = import_open3d()
    return measure(lambda: o3d.io.read_triangle_mesh(str(path)), repeat)


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--n", type=int, default=409, help="cube-sphere n (12 n² faces; 409 → 2.0M)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(case(args.case, args.path, args.repeat)))
        return
    obj, ply = make_files(args.n, args.out / "cache")
    rows, results = [], {}
    for path in (obj, ply):
        timings = {}
        for name in ("llvscan", "trimesh", "open3d"):
            timings[name] = run_case(HERE, name, "--path", str(path), "--repeat", str(args.repeat))
        results[path.suffix] = timings
        for name, t in timings.items():
            rows.append({"file": f"{path.suffix[1:]} ({path.stat().st_size / 2**20:.0f} MiB)", "reader": name,
                         "median_s": t["median_s"], "first_s": t["first_s"],
                         "vs_llvscan": round(t["median_s"] / timings["llvscan"]["median_s"], 2),
                         "peak_rss_mib": t["peak_rss_mib"]})
    print_table(f"mesh loading, {12 * args.n**2:,} faces (vs_llvscan = reader time / llvscan time)", rows,
                ["file", "reader", "median_s", "first_s", "vs_llvscan", "peak_rss_mib"])
    print(f"results: {write_results(args.out, 'bench_load', {'machine': machine(), 'results': results})}")


if __name__ == "__main__":
    main()
