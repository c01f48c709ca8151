"""Mesh validation benchmark: llvscan's full report against trimesh's and open3d's subsets, same mesh.

Meshes: generated closed, noisy "cube-sphere" scans of about 1M and 10M faces (``--sizes``), built once
and cached as .npy under ``--out``/cache so each case, in its own fresh interpreter, only loads the
arrays; peak RSS is reported above the RSS the interpreter and libraries had before the mesh existed,
as a multiple of the mesh arrays' own size.

* ``llvscan``: ``validate_mesh`` (everything, self-intersections included), and without self-intersections;
* ``trimesh``: is_watertight, is_winding_consistent, euler_number, body_count, duplicate and degenerate
  faces, duplicate vertices (merge_vertices), from a fresh ``Trimesh`` each time (trimesh caches);
* ``open3d``: is_edge_manifold, is_vertex_manifold, and (1M only, under a time limit) is_self_intersecting.

numba: the first call in a process loads the compiled kernels from the cache; the cold compile time
(empty cache) is measured separately.

    python benchmarks/bench_validate.py [--sizes 1M,10M] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import (
    CaseError,
    argument_parser,
    current_rss_mib,
    load_sample_generator,
    machine,
    measure,
    print_table,
    run_case,
    write_results,
)

HERE = Path(__file__).resolve()
SIZES = {"1M": 289, "10M": 913}  # cube-sphere n: 12 n² faces


def make_mesh(n: int, cache: Path) -> tuple[Path, Path]:
    """A closed, deformed, noisy cube-sphere with welded positions; cached."""
    vpath, fpath = cache / f"cubesphere-{n}-v.npy", cache / f"cubesphere-{n}-f.npy"
    if vpath.exists() and fpath.exists():
        return vpath, fpath
    gen = load_sample_generator()
    unit, faces, _ = gen.cube_sphere(n)
    vertices = gen.bust_positions(unit, seed=7)  # the sample bust's shape and scan noise
    cache.mkdir(parents=True, exist_ok=True)
    faces = faces.astype(np.int64)
    np.save(vpath, vertices.astype(np.float64))
    np.save(fpath, faces.astype(np.int64))
    return vpath, fpath


def case(name: str, vpath: Path, fpath: Path, repeat: int, limit: float) -> dict:
    # load libraries and compiled kernels on a tiny mesh first: the baseline holds them, not the mesh
    tiny_v, tiny_f = np.random.default_rng(0).random((4, 3)), np.array([[0, 1, 2], [0, 2, 3]])
    if name.startswith("llvscan"):
        from llvscan.mesh import Mesh, validate_mesh

        validate_mesh(Mesh(tiny_v, tiny_f))
    elif name.startswith("open3d"):
        from llvscan._open3d import import_open3d

        o3d = import_open3d()
        o3d.geometry.TriangleMesh(o3d.utility.Vector3dVector(tiny_v), o3d.utility.Vector3iVector(tiny_f))
    else:
        import trimesh

        trimesh.Trimesh(tiny_v, tiny_f).is_watertight  # noqa: B018
    baseline = current_rss_mib()
    vertices, faces = np.load(vpath), np.load(fpath)
    mesh_mib = (vertices.nbytes + faces.nbytes) / 2**20
    result: dict = {"faces": len(faces), "mesh_mib": round(mesh_mib, 1)}
    if name.startswith("llvscan"):
        from llvscan.mesh import Mesh, ValidationThresholds, validate_mesh

        thresholds = ValidationThresholds(self_intersections=name == "llvscan")
        mesh = Mesh(vertices, faces, units="mm")
        report = None

        def run():
            nonlocal report
            report = validate_mesh(mesh, thresholds=thresholds)

        result.update(measure(run, repeat))
        result["check"] = {"watertight": report.watertight, "euler": report.euler_characteristic,
                           "self_intersections": report.self_intersections}
    elif name == "trimesh":
        import trimesh

        def run():
            t = trimesh.Trimesh(vertices, faces, process=False)
            out = (t.is_watertight, t.is_winding_consistent, t.euler_number, t.body_count,
                   len(t.faces) - len(t.unique_faces()), int((~t.nondegenerate_faces()).sum()))
            t.merge_vertices()
            return out

        result.update(measure(run, repeat))
    elif name.startswith("open3d"):
        from llvscan._open3d import import_open3d

        o3d = import_open3d()

        def run():
            m = o3d.geometry.TriangleMesh(o3d.utility.Vector3dVector(vertices), o3d.utility.Vector3iVector(faces))
            out = [m.is_edge_manifold(), m.is_vertex_manifold()]
            if name == "open3d-self":
                out.append(m.is_self_intersecting())
            return out

        result.update(measure(run, repeat))
    result["peak_over_baseline_mib"] = round(result["peak_rss_mib"] - baseline, 1)
    result["peak_over_mesh"] = round(result["peak_over_baseline_mib"] / mesh_mib, 2)
    return result


def timed_case(name: str, size: str, vpath: Path, fpath: Path, repeat: int, limit: float) -> dict:
    """One case in a fresh interpreter, with its whole process's seconds; {"timed_out_s": limit} past ``limit``."""
    started = time.perf_counter()
    try:
        out = run_case(HERE, name, "--vpath", str(vpath), "--fpath", str(fpath), "--repeat", str(repeat),
                       timeout=limit)
    except subprocess.TimeoutExpired:
        return {"timed_out_s": limit}
    except CaseError as exc:
        raise RuntimeError(f"{name} {size} failed:\n{exc.stderr[-3000:]}") from None
    out["process_s"] = round(time.perf_counter() - started, 1)
    return out


def compile_time() -> float:
    """Seconds for the first validation in a process whose numba cache is empty (cold compile)."""
    code = ("import time, numpy as np\nfrom llvscan.mesh import Mesh, validate_mesh\n"
            "v = np.random.default_rng(0).random((4, 3))\nt = time.perf_counter()\n"
            "validate_mesh(Mesh(v, np.array([[0, 1, 2], [0, 2, 3]])))\nprint(time.perf_counter() - t)")
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return round(float(out.stdout.strip().splitlines()[-1]), 1)


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--sizes", default="1M,10M")
    parser.add_argument("--quick", action="store_true", help="1M only, 2 repeats, no open3d self-intersection")
    parser.add_argument("--limit", type=float, default=600, help="seconds before a case is abandoned")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--vpath", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--fpath", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(case(args.case, args.vpath, args.fpath, args.repeat, args.limit)))
        return
    sizes = ["1M"] if args.quick else args.sizes.split(",")
    results: dict = {"compile_s": compile_time()}
    print(f"numba cold compile (first validation, empty cache): {results['compile_s']} s", file=sys.stderr)
    rows = []
    for size in sizes:
        vpath, fpath = make_mesh(SIZES[size], args.out / "cache")
        repeat = 2 if args.quick or size != "1M" else 3
        cases = ["llvscan", "llvscan-noself", "trimesh", "open3d"]
        if size == "1M" and not args.quick:
            cases.append("open3d-self")
        for name in cases:
            res = timed_case(name, size, vpath, fpath, repeat, args.limit if name == "open3d-self" else 3 * args.limit)
            results[f"{name}-{size}"] = res
            print(f"{size} {name}: {res.get('median_s', res)}", file=sys.stderr)
        ours = results[f"llvscan-{size}"]
        for name in cases:
            res = results[f"{name}-{size}"]
            median = res.get("median_s")
            rows.append({
                "size": size, "faces": f"{ours['faces']:,}", "case": name,
                "median_s": median if median is not None else f">{res['timed_out_s']:.0f}",
                "llvscan_speedup": (round(median / ours["median_s"], 2) if median
                                    else f">{res['timed_out_s'] / ours['median_s']:.0f}"),
                "first_call_s": res.get("first_s", ""), "peak_over_mesh": res.get("peak_over_mesh", ""),
                "peak_rss_mib": res.get("peak_rss_mib", ""),
            })
    print_table("mesh validation (medians; llvscan_speedup = peer time / llvscan full-report time)", rows,
                ["size", "faces", "case", "median_s", "llvscan_speedup", "first_call_s", "peak_over_mesh",
                 "peak_rss_mib"])
    print(f"\nnumba cold compile: {results['compile_s']} s (once per machine; cached afterwards)")
    path = write_results(args.out, "bench_validate", {"machine": machine(), "results": results, "table": rows})
    print(f"results: {path}")


if __name__ == "__main__":
    main()
