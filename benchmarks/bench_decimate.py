"""Decimation benchmark: llvscan's texture-aware decimator against its peers, same textured scan, same run.

Input: a generated bust-shaped, noisy, closed cube-sphere scan (``--n``: 12 n² faces; 356 gives 1.52M) with a
6-chart atlas (UV seams) and a 4096² JPEG texture, built once and cached under ``--out``/cache as .npy and as
OBJ + MTL + JPEG (pymeshlab's texture-aware filter only works on a mesh loaded from such an OBJ).

Each method decimates to exactly ``round(ratio * faces)`` faces (10% and 1%) in its own fresh interpreter:

* ``llvscan``: ``decimate`` with the UVs (texture-aware);
* ``fast-simplification``: ``simplify(points, triangles, target_count=…)`` (drops UVs);
* ``open3d``: ``simplify_quadric_decimation`` (drops UVs);
* ``pymeshlab``: quadric edge collapse, preserving topology, optimal placement (no UVs);
* ``pymeshlab-texture``: quadric edge collapse with texture, preserving boundaries (per-wedge UVs).

Only the decimation call is timed (wall and CPU; building the peer's mesh object or loading the OBJ is not). Peak
RSS is reported above the RSS after the imports, the input load and a warm-up on a tiny mesh (``first_s``: imports
plus that first call, numba kernels loaded from the disk cache): ``_harness.peak_rss`` resets the peak there, as
``ru_maxrss`` would also hold earlier transients and the parent's peak. Each case
decimates twice (determinism: sha256 of the output arrays) and saves its output; a separate process per result
then measures it against the input: mean and Hausdorff distance (% of the diagonal), texel drift (UV-keeping
methods), faces turned against the input surface (``llvscan.mesh.flipped_faces``: the face normal against the
input's smoothed normal at the closest point), non-manifold and boundary edges, Euler characteristic.

    python benchmarks/bench_decimate.py [--quick] [--n 356] [--ratios 0.1,0.01] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import (
    CaseError,
    argument_parser,
    load_sample_generator,
    machine,
    peak_rss,
    print_table,
    run_script,
    textured_scan,
    write_results,
)

HERE = Path(__file__).resolve()
TEX = 4096
METHODS = ["llvscan", "fast-simplification", "open3d", "pymeshlab", "pymeshlab-texture"]


def make_inputs(n: int, cache: Path) -> Path:
    """The cached input folder ``scan-<n>``: v/f/uv/uvf .npy arrays, and scan.obj with its MTL and 4096² JPEG."""
    folder = cache / f"scan-{n}"
    obj = folder / "scan.obj"
    if obj.exists():
        return folder
    from PIL import Image

    gen = load_sample_generator()
    scan = textured_scan(n, seed=1921, gutter=6, texture=TEX)
    folder.mkdir(parents=True, exist_ok=True)
    for name, arr in (("v", scan.positions), ("f", scan.faces), ("uv", scan.uv), ("uvf", scan.uv_faces)):
        np.save(folder / f"{name}.npy", arr)
    Image.fromarray(gen.paint_atlas(TEX, scan.rects, seed=17), "RGB").save(folder / "scan_albedo.jpg", quality=88)
    (folder / "scan.mtl").write_text("newmtl scan\nKa 0 0 0\nKd 1 1 1\nKs 0 0 0\nillum 1\nmap_Kd scan_albedo.jpg\n")
    text = gen.textured_obj_text(["mtllib scan.mtl", "usemtl scan"], scan.positions, scan.uv, scan.faces,
                                 scan.uv_faces)
    obj.with_suffix(".tmp").write_text(text)
    obj.with_suffix(".tmp").rename(obj)  # the OBJ last: its presence marks a complete cache
    return folder


def load_input(folder: Path):
    from llvscan.mesh import Material, Mesh

    v, f, uv, uvf = (np.load(folder / f"{k}.npy") for k in ("v", "f", "uv", "uvf"))
    return Mesh(v, f, uv=uv, uv_faces=uvf, materials=(Material("scan", "embedded", (TEX, TEX)),),
                face_material=np.zeros(len(f), np.int32))


def warm_up(method: str) -> None:
    """Import the method's library and decimate a tiny mesh (llvscan: loads its numba kernels)."""
    gen = load_sample_generator()
    unit, tf, _ = gen.cube_sphere(8)
    if method == "llvscan":
        from llvscan.mesh import Material, Mesh, decimate

        uv = gen.chart_uvs(8, gen.atlas_rects(256, 2), 256).reshape(-1, 2)
        tiny = Mesh(unit, tf, uv=uv, uv_faces=gen.chart_uv_faces(8), materials=(Material("w", "embedded", (256, 256)),),
                    face_material=np.zeros(len(tf), np.int32))
        decimate(tiny, target_faces=100, measure=False)
    elif method == "fast-simplification":
        import fast_simplification

        fast_simplification.simplify(unit.astype(np.float32), tf.astype(np.int32), target_count=100)
    elif method == "open3d":
        from llvscan._open3d import import_open3d

        o3d = import_open3d()
        mesh = o3d.geometry.TriangleMesh(o3d.utility.Vector3dVector(unit), o3d.utility.Vector3iVector(tf))
        mesh.simplify_quadric_decimation(target_number_of_triangles=100)
    else:
        import pymeshlab

        ms = pymeshlab.MeshSet()
        ms.add_mesh(pymeshlab.Mesh(vertex_matrix=unit, face_matrix=tf.astype(np.int32)))
        ms.meshing_decimation_quadric_edge_collapse(targetfacenum=100)


def setup(method: str, folder: Path, target: int):
    """(prepare, run): ``prepare()`` (untimed) gives a fresh input, ``run(input)`` (timed) decimates it to
    ``target`` faces and gives (vertices, faces, uv, uv_faces); uv is None when the method drops UVs."""
    if method == "llvscan":
        from llvscan.mesh import decimate

        mesh = load_input(folder)

        def run(m):
            out = decimate(m, target_faces=target, measure=False).mesh
            return out.vertices, out.faces, out.uv, out.uv_faces
        return (lambda: mesh), run
    if method == "pymeshlab-texture":
        import pymeshlab

        def load():  # its texture filter needs wedge UVs and a texture: only an OBJ load gives both
            ms = pymeshlab.MeshSet()
            ms.load_new_mesh(str(folder / "scan.obj"))
            return ms

        def run(ms):
            ms.meshing_decimation_quadric_edge_collapse_with_texture(targetfacenum=target, preserveboundary=True)
            m = ms.current_mesh()
            nf = m.face_number()
            return m.vertex_matrix(), m.face_matrix(), m.wedge_tex_coord_matrix(), np.arange(3 * nf).reshape(nf, 3)
        return load, run
    v, f = np.load(folder / "v.npy"), np.load(folder / "f.npy").astype(np.int32)
    if method == "fast-simplification":
        import fast_simplification

        pts = v.astype(np.float32)  # valid indices only: it segfaults on out-of-range ones

        def run(_):
            out_v, out_f = fast_simplification.simplify(pts, f, target_count=target)
            return out_v, out_f, None, None
        return (lambda: None), run
    if method == "open3d":
        from llvscan._open3d import import_open3d

        o3d = import_open3d()
        mesh = o3d.geometry.TriangleMesh(o3d.utility.Vector3dVector(v), o3d.utility.Vector3iVector(f))

        def run(m):
            out = m.simplify_quadric_decimation(target_number_of_triangles=target)
            return np.asarray(out.vertices), np.asarray(out.triangles), None, None
        return (lambda: mesh), run
    if method == "pymeshlab":
        import pymeshlab

        def build():  # the filter works in place: a fresh MeshSet per run
            ms = pymeshlab.MeshSet()
            ms.add_mesh(pymeshlab.Mesh(vertex_matrix=v, face_matrix=f))
            return ms

        def run(ms):
            ms.meshing_decimation_quadric_edge_collapse(targetfacenum=target, preservetopology=True,
                                                        optimalplacement=True)
            m = ms.current_mesh()
            return m.vertex_matrix(), m.face_matrix(), None, None
        return build, run
    raise ValueError(f"unknown method {method}")


def _digest(arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        if a is not None:
            h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def case(method: str, folder: Path, ratio: float, result: Path) -> dict:
    started = time.perf_counter()
    warm_up(method)
    first_s = time.perf_counter() - started
    faces_in = len(np.load(folder / "f.npy", mmap_mode="r"))
    target = round(ratio * faces_in)
    prepare, run = setup(method, folder, target)
    data = prepare()
    with peak_rss() as memory:
        wall, cpu = time.perf_counter(), time.process_time()
        out = run(data)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    del data
    again = run(prepare())
    v, f, uv, uvf = out
    arrays = {"v": np.asarray(v, np.float64), "f": np.asarray(f, np.int64)}
    if uv is not None:
        arrays |= {"uv": np.asarray(uv, np.float64), "uvf": np.asarray(uvf, np.int64)}
    np.savez(result, **arrays)
    return {"method": method, "ratio": ratio, "target": target, "faces": len(f), "first_s": round(first_s, 2),
            "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "baseline_rss_mib": round(memory.baseline_mib, 1),
            "peak_rss_mib": round(memory.above_baseline_mib, 1), "sha256": _digest(out)[:16],
            "deterministic": _digest(out) == _digest(again)}


def measure(folder: Path, result: Path | None) -> dict:
    """Distance, texel drift (when the result has UVs), flips, topology of ``result`` (None: the input)."""
    from llvscan.mesh import Mesh, build_topology, flipped_faces, mesh_distance

    ref = load_input(folder)
    out: dict = {}
    if result is None:
        v, f = ref.vertices, ref.faces
    else:
        data = np.load(result)
        v, f = data["v"], data["f"]
        uv = (data["uv"], data["uvf"]) if "uv" in data else (None, None)
        dist = mesh_distance(Mesh(v, f, uv=uv[0], uv_faces=uv[1]), ref, samples=200_000, texture_size=(TEX, TEX))
        out |= {"mean_pct": round(dist.mean_pct, 4), "hausdorff_pct": round(dist.hausdorff_pct, 3)}
        if dist.texel_drift_median is not None:
            out |= {"uv_med_tx": round(dist.texel_drift_median, 2), "uv_p95_tx": round(dist.texel_drift_p95, 2)}
    out["flipped"] = flipped_faces(Mesh(v, f), ref)
    topo = build_topology(f, len(v))
    out |= {"nonmanifold": int(topo.non_manifold.sum()), "boundary": int(topo.boundary.sum()),
            "euler": int(len(np.unique(f)) - topo.n_edges + len(f))}
    return out


def _subprocess(args: list[str], limit: float) -> dict:
    """Run this script with ``args`` in a fresh interpreter; a crash or timeout becomes {"error": …}."""
    try:
        return run_script(HERE, *args, timeout=limit)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {limit:.0f} s"}
    except CaseError as exc:
        tail = (exc.stderr.strip().splitlines() or [f"exit status {exc.returncode}"])[-1]
        return {"error": f"rc {exc.returncode}: {tail[:200]}"}


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--n", type=int, help="cube-sphere resolution: 12 n² faces (default 356, 1.52M faces)")
    parser.add_argument("--quick", action="store_true", help="n=120 (173k faces): a fast smoke run")
    parser.add_argument("--ratios", default="0.1,0.01")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--limit", type=float, default=900, help="seconds before a case is abandoned")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--ratio", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(case(args.case, args.folder, args.ratio, args.result)))
        return
    if args.measure:
        print(json.dumps(measure(args.folder, None if args.measure == "input" else Path(args.measure))))
        return
    n = args.n or (120 if args.quick else 356)
    started = time.perf_counter()
    folder = make_inputs(n, args.out / "cache")
    faces_in = 12 * n * n
    print(f"input: n={n}, {faces_in:,} faces, 6 charts, {TEX}² texture ({time.perf_counter() - started:.0f} s)",
          file=sys.stderr)
    reference = _subprocess(["--measure", "input", "--folder", str(folder)], args.limit)
    rows = []
    for ratio in (float(r) for r in args.ratios.split(",")):
        for method in args.methods.split(","):
            result = folder / f"out-{method}-{ratio:g}.npz"
            result.unlink(missing_ok=True)
            row = {"method": method, "ratio": ratio}
            row |= _subprocess(["--case", method, "--folder", str(folder), "--ratio", str(ratio),
                                "--result", str(result)], args.limit)
            if "error" not in row:
                row["exact"] = "yes" if row["faces"] == row["target"] else "no"
                row |= _subprocess(["--measure", str(result), "--folder", str(folder)], args.limit)
            print(f"{method} {ratio:g}: {row.get('error') or row.get('wall_s')}", file=sys.stderr)
            rows.append(row)
        ours = next((r for r in rows if r["method"] == "llvscan" and r["ratio"] == ratio and "cpu_s" in r), None)
        for r in rows:
            if r["ratio"] == ratio and ours and r.get("cpu_s"):
                r["llvscan_cpu_x"] = round(ours["cpu_s"] / r["cpu_s"], 2)
    columns = ["method", "ratio", "faces", "exact", "wall_s", "cpu_s", "llvscan_cpu_x", "first_s", "peak_rss_mib",
               "mean_pct", "hausdorff_pct", "uv_med_tx", "uv_p95_tx", "flipped", "nonmanifold", "boundary", "euler",
               "deterministic"]
    if any("error" in r for r in rows):
        columns.append("error")
    print_table(f"decimation of {faces_in:,} faces (llvscan_cpu_x = llvscan CPU s / this method's CPU s; "
                "peak_rss_mib above the inputs + warm-up)", rows, columns)
    print(f"\ninput for reference: flipped {reference.get('flipped')}, non-manifold {reference.get('nonmanifold')}, "
          f"boundary {reference.get('boundary')}, euler {reference.get('euler')}{reference.get('error', '')}")
    path = write_results(args.out, "bench_decimate", {"machine": machine(), "n": n, "faces_in": faces_in,
                                                      "input": reference, "results": rows})
    print(f"results: {path}")


if __name__ == "__main__":
    main()
