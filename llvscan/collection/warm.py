"""Compile llvscan's numba kernels into numba's cache once per machine, on all cores, before a run needs them.

A kernel compiles on its first call and is then loaded from numba's cache by every later process. On a
fresh machine the first run would compile them inside its first assets: about a minute and a half of
one core's time (the decimator alone takes a quarter of it), during which every worker compiles the
same kernels. ``warm_kernels`` compiles them instead in a few processes side by side, each taking a
different part of the pipeline on tiny generated inputs through the same functions a run calls, so the
kernels compile with exactly the argument types real assets give them:

- ``validate``: loading every mesh format (OBJ, PLY, GLB, STL) and validating each;
- ``decimate``: the decimator on a small textured scan;
- ``lods``: the run's level-of-detail recipe (faces scaled down to the small inputs, textures to
  256 px) on a textured OBJ and a vertex-coloured PLY: measuring, baking, rendering, compressing. It
  first compiles what needs no decimated level (the recipe with every face kept, a distance, a bake), so
  it does not wait for the ``decimate`` part running beside it;
- ``image``: an image asset, processed as a run processes it (inspection and tiles).

Processes that reach a kernel another one is compiling wait for it rather than compile it twice (see
``llvscan._numba``). ``llvscan run`` calls this before its workers start when the kernels its assets
need are not in the cache; ``llvscan warm`` (and ``make``'s install step) call it ahead of any run, for
example when building a container image. Nothing here is required: a kernel it misses compiles in the
run, as before.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from llvscan._json import JsonResult
from llvscan.collection.recipe import RunRecipe
from llvscan.errors import InvalidParameterError

__all__ = ["TASKS", "WarmResult", "WarmTask", "cold_parts", "kernels_needed", "warm_kernels", "warm_part"]

log = logging.getLogger(__name__)

#: The warm-up's parts, with their single-core compile seconds as measured on a fresh cache (a 2-core
#: machine): the longest start first, so the last to finish is a short one.
TASKS = {"validate": 27.0, "decimate": 28.0, "lods": 22.0, "image": 4.0, "qa": 4.0}

#: A kernel per part whose compiled copy stands for the rest of its part.
_PROBES = {"validate": ("llvscan.mesh._validate_kernels", "grid_crossings"),
           "decimate": ("llvscan.mesh.simplify._kernels", "decimate"),
           "lods": ("llvscan.mesh._distance_kernels", "closest_points"),
           "image": ("llvscan.imaging._kernels", "histogram"),
           "qa": ("llvscan.imaging.qa._detect_kernels", "region_moments")}


@dataclass(frozen=True)
class WarmTask(JsonResult):
    """One part of the warm-up, as it went."""

    name: str
    seconds: float
    compiled: int  # kernels (signatures) this part compiled itself; 0 when all came from the cache
    error: str | None = None  # what went wrong: the run then compiles what this part missed


@dataclass(frozen=True)
class WarmResult(JsonResult):
    seconds: float
    workers: int
    tasks: list[WarmTask]

    @property
    def compiled(self) -> int:
        return sum(t.compiled for t in self.tasks)


def kernels_needed(kinds: Iterable[str], recipe: RunRecipe | None = None) -> list[str]:
    """The warm-up parts a run of assets of ``kinds`` ("mesh", "image", "target": ``Asset.recipe_kind``) with
    ``recipe`` needs."""
    recipe = recipe or RunRecipe()
    kinds = set(kinds)
    parts = []
    if "mesh" in kinds:
        parts.append("validate")
        if recipe.mesh.lods is not None:
            parts += ["decimate", "lods"]
    if "image" in kinds and recipe.image.inspect:  # tiling alone runs no kernel of llvscan's
        parts.append("image")
    if "target" in kinds:
        parts.append("qa")
    return parts


def cold_parts(parts: Iterable[str]) -> list[str]:
    """Those of ``parts`` whose kernels are not in this machine's numba cache."""
    from llvscan._numba import compiled_here

    return [p for p in parts if compiled_here(*_PROBES[p]) is False]


def warm_kernels(parts: Iterable[str] | None = None, *, recipe: RunRecipe | None = None, workers: int | None = None,
                 on_task: Callable[[WarmTask], None] | None = None) -> WarmResult:
    """Compile the kernels of ``parts`` (default: all of ``TASKS``) into numba's cache, ``workers``
    processes side by side (default: one per part, at most the cores). ``recipe``: the run's, whose LOD
    recipe the ``lods`` part follows. ``on_task`` hears of each part as it finishes. Never raises for a
    part that fails: its ``error`` says what happened."""
    from llvscan.collection.pool import Crash, WorkerPool

    names = list(TASKS) if parts is None else list(dict.fromkeys(parts))
    unknown = [n for n in names if n not in TASKS]
    if unknown:
        raise InvalidParameterError(f"unknown warm-up parts {unknown}; choose from {', '.join(TASKS)}")
    recipe = (recipe or RunRecipe()).check()
    workers = min(len(names), workers or os.cpu_count() or 1) or 1
    started = time.perf_counter()
    tasks: list[WarmTask] = []
    if names:
        pool = WorkerPool(workers, warm_part, threads=1, batch_items=1)
        with pool:
            for name in sorted(names, key=lambda n: -TASKS[n]):
                pool.submit((name, recipe))
            for item in pool.results():
                if isinstance(item, Crash):
                    item = WarmTask(item.task[0], item.seconds or 0.0, 0, f"the process died: {item.reason}")
                tasks.append(item)
                if on_task:
                    on_task(item)
    return WarmResult(round(time.perf_counter() - started, 2), workers, tasks)


def warm_part(task: tuple[str, RunRecipe]) -> WarmTask:
    """Run one part in this process (a pool worker); count the kernels it had to compile."""
    from numba.core import event

    name, recipe = task
    compiled = 0

    class _Count(event.Listener):
        def on_start(self, ev: event.Event) -> None:
            nonlocal compiled
            compiled += 1

        def on_end(self, ev: event.Event) -> None:
            pass

    started = time.perf_counter()
    error = None
    try:
        with event.install_listener("numba:compile", _Count()), \
                tempfile.TemporaryDirectory(prefix="llvscan-warm-") as tmp:
            _PARTS[name](Path(tmp), recipe)
    except Exception as exc:  # the run compiles whatever this part missed: say it, never stop
        log.debug("warm-up part %s failed", name, exc_info=True)
        error = f"{type(exc).__name__}: {exc}"
    return WarmTask(name, round(time.perf_counter() - started, 2), compiled, error)


# -- the parts: small inputs through the functions a run calls ---------------------------------------

def _textured_obj(folder: Path, n: int = 12) -> Path:
    """A small bust scan as OBJ + MTL + JPEG, made like the sample's (charts, painted atlas)."""
    from PIL import Image

    from llvscan import sample

    unit, faces, _ = sample.cube_sphere(n)
    rects = sample.atlas_rects(256, gutter=4)
    uvs = sample.chart_uvs(n, rects, 256).reshape(-1, 2)
    header = ["# llvscan warm-up", "mtllib warm.mtl", "usemtl warm"]
    path = folder / "warm.obj"
    path.write_text(sample.textured_obj_text(header, sample.bust_positions(unit, seed=1), uvs, faces,
                                             sample.chart_uv_faces(n)), encoding="utf-8")
    (folder / "warm.mtl").write_text("newmtl warm\nKd 1 1 1\nmap_Kd warm.jpg\n", encoding="utf-8")
    Image.fromarray(sample.paint_atlas(256, rects, seed=2), "RGB").save(folder / "warm.jpg", quality=90)
    return path


def _meshes(folder: Path) -> list[Path]:
    from llvscan import sample

    return [_textured_obj(folder), *sample.make_vase(folder), *sample.make_figurine(folder),
            *sample.make_bracket(folder)]


def _small_recipe(recipe: RunRecipe):  # -> LodRecipe | None
    """The run's LOD recipe with every level a fraction of a small input (so each level is decimated,
    baked and measured as on a real scan) and textures of at most 256 px."""
    lods = recipe.mesh.lod_recipe()
    if lods is None:
        return None
    levels = tuple(replace(level, faces=0, ratio=None if level.min_ssim is not None else 0.5 / (i + 1),
                           texture_size=min(level.texture_size, 256))
                   for i, level in enumerate(lods.levels))
    return replace(lods, levels=levels, thumbnail_size=min(lods.thumbnail_size, 64))


def _validate(folder: Path, recipe: RunRecipe) -> None:
    from llvscan.mesh import load_mesh, validate_mesh

    for path in _meshes(folder):
        if path.suffix in (".obj", ".ply", ".glb", ".stl"):
            validate_mesh(load_mesh(path, max_faces=recipe.mesh.max_faces, root=folder),
                          thresholds=recipe.mesh.thresholds())


def _decimate(folder: Path, recipe: RunRecipe) -> None:
    from llvscan.mesh import decimate, load_mesh

    mesh = load_mesh(_textured_obj(folder, n=16), root=folder)
    decimate(mesh, target_faces=mesh.n_faces // 2, measure=False)


def _lods(folder: Path, recipe: RunRecipe) -> None:
    from llvscan import sample
    from llvscan.mesh import BakeSource, build_lods, load_mesh
    from llvscan.mesh.distance import DistanceMeter

    lods = _small_recipe(recipe)
    if lods is None:
        return
    options = {"units": recipe.mesh.units, "up_axis": recipe.mesh.up_axis}
    for path in (_textured_obj(folder), *sample.make_vase(folder)):
        mesh = load_mesh(path, max_faces=recipe.mesh.max_faces, root=folder)
        if path.suffix == ".obj":
            # first what needs no decimator (the decimate part is compiling it meanwhile): levels that keep
            # every face (renders, textures, Draco, writing), a distance, normal and occlusion bakes
            keep = replace(lods, levels=tuple(replace(level, ratio=1.0, min_ssim=None) for level in lods.levels))
            build_lods(mesh, keep, folder / "keep-lods", name=path.stem, **options)
            meter = DistanceMeter(mesh, samples=1000)
            moved = replace(mesh, vertices=mesh.vertices * 1.001)
            meter.measure(moved)
            BakeSource(mesh, grid=meter.grid.arrays).bake(moved, 64, maps=("normal", "occlusion"))
        build_lods(mesh, lods, folder / f"{path.stem}-lods", name=path.stem, **options)


def _image(folder: Path, recipe: RunRecipe) -> None:
    import pyvips

    from llvscan import sample
    from llvscan.collection.discover import discover_assets
    from llvscan.collection.process import AssetJob, process_asset

    root, out = folder / "collection", folder / "out"
    root.mkdir()
    sample.landscape_image(640, 480, seed=1).tiffsave(str(root / "warm.tif"), tile=True, tile_width=256,
                                                      tile_height=256, compression="jpeg", Q=85, profile="srgb")
    pyvips.Image.black(320, 240, bands=3).jpegsave(str(root / "warm.jpg"))
    for asset in discover_assets(root).assets:
        record = process_asset(AssetJob(asset, str(root), str(out), recipe.for_asset(asset.kind, {}), None, True))
        if record.status != "ok":
            raise RuntimeError(record.error)


def _qa(folder: Path, recipe: RunRecipe) -> None:
    """A small ColorChecker SG and a slanted edge, graded as a run grades its targets."""
    from llvscan import sample
    from llvscan.imaging.qa import grade_target

    chart, px_per_mm = sample.colorchecker_target("colorchecker-sg", 800, 540, seed=1)
    chart.tiffsave(str(folder / "chart.tif"), xres=px_per_mm, yres=px_per_mm, profile="srgb")
    sample.slanted_edge_target(240, 180, seed=2).tiffsave(str(folder / "edge.tif"), profile="srgb")
    for name in ("chart.tif", "edge.tif"):
        report = grade_target(folder / name, standard=recipe.qa.standard, overlay=folder / f"{name}.png")
        if report.grade is None:
            raise RuntimeError(f"the warm-up's {name} was not graded: {report.findings}")


_PARTS: dict[str, Callable[[Path, RunRecipe], None]] = {"validate": _validate, "decimate": _decimate,
                                                        "lods": _lods, "image": _image, "qa": _qa}
