"""Levels-of-detail benchmark: the full ``voyager`` recipe on a ≥1.5M-face textured scan.

Input: the same generated scan as ``bench_decimate.py`` (noisy bust cube-sphere, 6-chart atlas, 4096²
JPEG; ``--n 356`` gives 1,520,832 faces), loaded from its OBJ. Reports the total time, each level's
decimation (levels sharing a face count share one) and its texture + write + measure time, the written
bytes, the measured Hausdorff % and texel drift, the thumbnail render time and the peak RSS of loading and
building (``_harness.peak_rss``) and, per stage (``llvscan._stages``: fidelity, decimate:L, measure, bake:L,
textures, write:L, ...), its wall and CPU seconds. The numba kernels are loaded (or compiled, reported
separately) on a tiny mesh first.

    python benchmarks/bench_lods.py [--quick] [--n 356] [--recipe voyager] [--out benchmarks/results]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import (
    argument_parser,
    load_sample_generator,
    machine,
    peak_rss,
    print_table,
    textured_scan,
    write_results,
)


def make_scan(n: int, cache: Path) -> Path:
    """The textured scan as OBJ + MTL + 4096² JPEG (cached)."""
    folder = cache / f"lods-scan-{n}"  # its own: declares its units, unlike bench_decimate's
    obj = folder / "scan.obj"
    if obj.is_file():
        return obj
    from PIL import Image

    gen = load_sample_generator()
    folder.mkdir(parents=True, exist_ok=True)
    scan = textured_scan(n, seed=1921, gutter=6)
    Image.fromarray(gen.paint_atlas(4096, scan.rects, seed=17), "RGB").save(folder / "scan_albedo.jpg", quality=90)
    (folder / "scan.mtl").write_text("newmtl scan\nKd 1 1 1\nmap_Kd scan_albedo.jpg\n")
    text = gen.textured_obj_text(["# units: mm", "mtllib scan.mtl", "usemtl scan"], scan.positions, scan.uv,
                                 scan.faces, scan.uv_faces)
    obj.write_text(text)
    return obj


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--n", type=int, default=356, help="cube-sphere resolution: 12 n² faces")
    parser.add_argument("--quick", action="store_true", help="n = 120 (173k faces)")
    parser.add_argument("--recipe", default="voyager")
    args = parser.parse_args()
    n = 120 if args.quick else args.n
    obj = make_scan(n, args.out / "cache")

    from llvscan.mesh import Mesh, build_lods, decimate, load_mesh

    unit, faces, _ = load_sample_generator().cube_sphere(6)
    t0 = time.perf_counter()
    decimate(Mesh(unit, faces, uv=unit[:, :2].copy(), uv_faces=faces), ratio=0.5, samples=100)
    warm = time.perf_counter() - t0

    from llvscan._stages import recording

    with peak_rss() as memory, tempfile.TemporaryDirectory() as tmp:  # loading and building, not the input's making
        t0 = time.perf_counter()
        mesh = load_mesh(obj)
        load_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        with recording() as stages:
            lods = build_lods(mesh, args.recipe, Path(tmp) / "lods")
        total = time.perf_counter() - t0
    peak = memory.peak_mib
    rows = [{"level": r.name, "quality": r.quality, "faces": r.faces,
             "texture": "x".join(map(str, r.texture_size or ())),
             "MB": round(r.bytes / 1e6, 2), "decimate_s": r.decimate_seconds, "tex+write+measure_s": r.seconds,
             "hausdorff_pct": round(r.hausdorff_pct, 4), "texel_med": None if r.texel_drift_median is None
             else round(r.texel_drift_median, 2), "ssim": r.ssim, "psnr": r.psnr, "from": r.decimated_from}
            for r in lods.levels]
    print_table(f"{args.recipe} recipe on {mesh.n_faces:,} faces: load {load_s:.2f} s, build_lods {total:.1f} s, "
                f"thumbnail {lods.thumbnail_seconds:.2f} s, peak RSS {peak:.0f} MiB (kernels ready in {warm:.1f} s)",
                rows, list(rows[0]))
    stage_rows = [{"stage": name, "wall_s": round(stages.wall[name], 3), "cpu_s": round(stages.cpu[name], 3),
                   "share": f"{stages.wall[name] / total:.0%}"} for name in stages.wall]
    print_table(f"stages of build_lods (exclusive; {sum(stages.wall.values()):.2f} of {total:.2f} s wall)", stage_rows,
                list(stage_rows[0]))
    for note in lods.notes:
        print("note:", note)
    write_results(args.out, "bench_lods", {"machine": machine(), "faces_in": mesh.n_faces, "load_s": load_s,
                                          "total_s": total, "peak_rss_mib": peak, "kernels_s": warm,
                                          "stages": {"wall": stages.wall, "cpu": stages.cpu},
                                          "thumbnail_s": lods.thumbnail_seconds, "lods": lods.to_dict()})


if __name__ == "__main__":
    main()
