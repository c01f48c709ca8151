"""Levels of detail for the web and the archive: decimated meshes, resampled textures, GLB, a Voyager scene.

``build_lods(mesh, recipe, out_dir)`` writes one file per level (GLB with its texture embedded, or OBJ +
MTL + texture), a thumbnail rendered without a GPU, and ``scene.svx.json``: a Smithsonian Voyager
document listing every derivative by usage and quality with sizes *measured from the written files*,
and, in its ``process`` meta, llvscan's measured error of each level (Hausdorff and mean distance to
the input, texel drift), where Voyager's own pipeline records only the target face count.

Recipes (``llvscan.mesh.lod.recipe``) are lists of levels. Levels sharing a face count share one
decimation; each decimation starts from the nearest finer level (faster, and measured against the input
all the same); a level at or above the input's face count keeps the input mesh; a ``min_ssim`` level
gets the fewest faces measured to reach it. What a level carries besides its geometry — maps baked
from the full mesh, a fresh atlas for low levels of many-chart scans — is decided in
``llvscan.mesh.lod.dress``; web levels are Draco-compressed unless the recipe says otherwise. Each level's
visual fidelity is measured as it is written (its own textures and normal maps).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from llvscan._constants import UP_AXES
from llvscan._publish import atomic_dir
from llvscan._report import Finding
from llvscan._stages import stage
from llvscan.errors import (
    ImageReadError,
    InvalidMeshError,
    InvalidParameterError,
    ResourceLimitError,
    vips_error_text,
)
from llvscan.mesh.core.texture import TextureSource, resample_texture, texture_header, texture_source
from llvscan.mesh.core.types import Material, Mesh
from llvscan.mesh.core.units import METRES_PER_UNIT, UNITS, guess_units
from llvscan.mesh.distance import CONFIDENT_SAMPLES, DistanceMeter, MeshDistance
from llvscan.mesh.io.glb import GlbInfo
from llvscan.mesh.lod.dress import BAKE_MAX, Baker, dress, strip_atlas, wants_unwrap
from llvscan.mesh.lod.recipe import MESH_FORMATS, TEXTURE_FORMATS, LodLevel, LodRecipe, load_recipe
from llvscan.mesh.lod.results import LodResult, LodSet
from llvscan.mesh.lod.voyager import voyager_scene
from llvscan.mesh.render.fidelity import Fidelity, FidelityMeter
from llvscan.mesh.unwrap import uv_charts

__all__ = ["build_lods"]

log = logging.getLogger(__name__)


def _resolve_targets(recipe: LodRecipe, faces_in: int, by_ssim: Mapping[float, int]) -> dict[str, int]:
    targets = {}
    for level in recipe.levels:
        if level.min_ssim is not None:
            faces = by_ssim[level.min_ssim]
        else:
            faces = level.faces if level.ratio is None else max(4, round(level.ratio * faces_in))
        targets[level.name] = min(faces, faces_in)
    return targets


#: The coarsest a fidelity-targeted level may go, and how many halvings of the bracket refine it.
_SSIM_FLOOR_FACES, _SSIM_REFINE_STEPS = 16, 4


def _faces_for_ssim(mesh: Mesh, goal: float, looks: FidelityMeter) -> tuple[Mesh, float, int]:
    """The fewest faces whose renders reach SSIM ``goal``: halve the face count (each decimation from the
    last that reached it) until one falls short, then bisect between the two. Returns the mesh found, its
    SSIM and the decimations tried. SSIM falls with the face count on any sane mesh; where it does not,
    the search keeps the coarsest count that was *measured* to reach the goal."""
    from llvscan.mesh.simplify.decimate import decimate

    best, best_ssim, tries = mesh, 1.0, 0
    short = 0  # the most faces measured to fall short (0: none did)
    while best.n_faces // 2 >= _SSIM_FLOOR_FACES:
        candidate = decimate(best, target_faces=best.n_faces // 2, measure=False).mesh
        tries += 1
        score = looks.measure(candidate).ssim
        if score < goal:
            short = candidate.n_faces
            break
        best, best_ssim = candidate, score
    for _ in range(_SSIM_REFINE_STEPS if short else 0):
        middle = (best.n_faces + short) // 2
        if middle <= short or middle >= best.n_faces:
            break
        candidate = decimate(best, target_faces=middle, measure=False).mesh
        tries += 1
        score = looks.measure(candidate).ssim
        if score >= goal:
            best, best_ssim = candidate, score
        else:
            short = middle
    return best, best_ssim, tries


def _texture_bytes(source: TextureSource, size: int, fmt: str, quality: int, *, colour: bool = True,
                   name: str | None = None) -> tuple[bytes, tuple[int, int]]:
    """The texture (a file or encoded bytes) resampled (never upscaled) so its longer side is at most
    ``size``, encoded; colour maps in sRGB, data maps (normal, occlusion, metallic-roughness) with their
    values untouched. pyvips streams it with shrink-on-load: a 16k texture is never held whole in memory."""
    import pyvips

    image = resample_texture(source, size, name=name, to_srgb=colour)  # under the pixel limit of image masters
    try:
        if colour and (image.interpretation not in ("srgb", "b-w") or image.format != "uchar"):
            image = image.colourspace("srgb").cast("uchar")
        elif image.format != "uchar":
            image = image.cast("uchar")
        if fmt == "jpg" and image.hasalpha():
            image = image.flatten(background=[255, 255, 255])
        options: dict[str, Any] = {"strip": True}
        if fmt in ("jpg", "webp"):
            options["Q"] = quality
        data = image.write_to_buffer(TEXTURE_FORMATS[fmt][1], **options)
    except pyvips.Error as exc:
        raise ImageReadError("cannot read the texture", path=name or str(source)[:200],
                             detail=vips_error_text(exc)) from exc
    return data, (image.width, image.height)


def build_lods(mesh: Mesh | str | Path, recipe: str | Path | LodRecipe, out_dir: str | Path, *,
               name: str | None = None, samples: int = CONFIDENT_SAMPLES, units: str | None = None, up_axis: str = "y",
               metadata: Mapping[str, str] | None = None) -> LodSet:
    """Write every level of ``recipe`` for ``mesh`` (a ``Mesh`` or a file to load) into ``out_dir``
    (replaced atomically), with a thumbnail and ``scene.svx.json``; return what was written and measured.

    ``units`` declares the units of a mesh whose file does not (from the sidecar or the recipe); without
    either they are guessed from its size as validation guesses them, and a warning finding says so.
    ``up_axis`` is the source's up axis (``"z"`` for most scanners): GLB levels and the thumbnail are Y-up
    as glTF is. ``metadata`` (title, object_number, creator, date, rights) goes into the Voyager scene.
    Each level's distance to the input is measured with ``samples`` area-uniform points a side besides
    every vertex (``llvscan.mesh.distance`` states the confidence of the default, ``CONFIDENT_SAMPLES``);
    a level that keeps the input mesh measures zero without sampling."""
    from llvscan.mesh.io.registry import load_mesh

    started = time.perf_counter()
    recipe = load_recipe(recipe)  # a bad recipe is refused before the mesh is read
    if up_axis not in UP_AXES:
        raise InvalidParameterError(f"up axis must be 'y' or 'z', not {up_axis!r}")
    if units is not None and units not in UNITS:
        raise InvalidParameterError(f"units must be one of {', '.join(UNITS)}, not {units!r}")
    if not isinstance(mesh, Mesh):
        mesh = load_mesh(mesh)
    findings: list[Finding] = []
    if mesh.units is None:
        extent = float(np.ptp(mesh.vertices, axis=0).max()) if mesh.n_vertices else 0.0
        guessed = units or guess_units(extent)
        if units is None:
            findings.append(Finding("warning", "units_guessed", f"the file declares no units: taken as {guessed} "
                                    f"from its size ({extent:.4g} units across); declare them in the sidecar or "
                                    "the recipe", 1))
        mesh = replace(mesh, units=guessed)
    out_dir = Path(out_dir)
    stem = name or (Path(mesh.path).stem if mesh.path else "model")
    notes: list[str] = []
    looks = None
    if recipe.fidelity:
        try:
            with stage("fidelity"):
                looks = FidelityMeter(mesh, up=up_axis)  # the original rendered once
        except ImageReadError as exc:  # a texture that cannot be read: the levels go on, unmeasured
            notes.append(f"visual fidelity not measured: {exc}")
    # levels that target a fidelity: the fewest faces reaching it, found by measuring
    found: dict[int, Mesh] = {}
    by_ssim: dict[float, int] = {}
    for goal in sorted({lvl.min_ssim for lvl in recipe.levels if lvl.min_ssim is not None}):
        if looks is None:
            notes.append(f"min_ssim {goal}: fidelity cannot be measured, so the level keeps every face")
            by_ssim[goal] = mesh.n_faces
            continue
        t_search = time.perf_counter()
        with stage("fidelity-search"):
            chosen, score, tries = _faces_for_ssim(mesh, goal, looks)
        by_ssim[goal] = chosen.n_faces
        if chosen is not mesh:
            found[chosen.n_faces] = chosen
        notes.append(f"min_ssim {goal}: {chosen.n_faces:,} faces reach SSIM {score:.4f} "
                     f"({tries} decimations measured in {time.perf_counter() - t_search:.1f} s)")
    targets = _resolve_targets(recipe, mesh.n_faces, by_ssim)
    textures = [_carried(m.name, texture_source(m), m.texture, findings) for m in mesh.materials]
    maps = [{t.slot: source for t in m.maps
             if (source := _carried(f"{m.name} ({t.slot} map)", t.data if t.data is not None else t.uri, t.uri,
                                    findings)) is not None}
            for m in mesh.materials]

    # one decimation per distinct face count, finest first, each from the nearest finer result
    charts = uv_charts(mesh)
    has_atlas = mesh.uv is not None and charts > 0
    fresh = {lvl.name for lvl in recipe.levels
             if wants_unwrap(lvl, targets[lvl.name], mesh.n_faces, charts, has_atlas)}
    decimate_seconds: dict[str, float] = {}
    meshes = _decimations(mesh, recipe, {n: t for n, t in targets.items() if n not in fresh}, found,
                          decimate_seconds, notes)
    unwrapped = _unwrapped(mesh, recipe, targets, fresh, decimate_seconds, notes)
    fresh &= {lvl.name for lvl in recipe.levels if targets[lvl.name] in unwrapped}  # xatlas may have failed
    for lvl in recipe.levels:
        if lvl.name not in fresh and targets[lvl.name] not in meshes:  # its fresh atlas failed: keep its seams
            meshes.update(_decimations(mesh, recipe, {lvl.name: targets[lvl.name]}, {}, decimate_seconds, notes))

    # what each level carries: its mesh, and the maps baked onto it (levels sharing both share one bake)
    def key(lvl: LodLevel) -> tuple[int, bool]:
        return targets[lvl.name], lvl.name in fresh

    def bakes(lvl: LodLevel) -> tuple[str, ...]:
        if key(lvl)[0] >= mesh.n_faces:
            return ()  # the full mesh: nothing to bake from
        return (*lvl.bake, "base_colour") if lvl.name in fresh and coloured else lvl.bake

    coloured = mesh.vertex_colors is not None or any(t is not None for t in textures) or any(
        m.color is not None for m in mesh.materials)  # else a fresh atlas carries no colour: none to bake
    bake_size: dict[tuple, int] = {}
    for lvl in recipe.levels:
        if bakes(lvl):
            k = (*key(lvl), bakes(lvl))
            bake_size[k] = max(bake_size.get(k, 0), min(lvl.texture_size, BAKE_MAX))
    with stage("measure"):
        meter = DistanceMeter(mesh, samples=samples)  # the input's grid and samples, built once for every level
    with stage("bake"):  # the baker shares the meter's grid of the input's triangles
        baker = Baker(mesh, textures, notes, grid=meter.grid.arrays) if bake_size else None
    baked: dict[tuple, tuple[dict[int, dict[str, bytes]], float]] = {}

    diagonal_m = (float(np.linalg.norm(np.ptp(mesh.vertices, axis=0))) * METRES_PER_UNIT[mesh.units or "m"]
                  or 1.0)  # the compression's errors are in metres, as the GLB is
    distances: dict[tuple, MeshDistance] = {}
    fidelity: dict[tuple, Fidelity] = {}
    encoded: dict[tuple, tuple[bytes, tuple[int, int]]] = {}
    results: list[LodResult] = []
    dressed: dict[str, Mesh] = {}
    written_once: dict[str, str] = {}  # sha256 of a written GLB level → its file
    thumbnail = None
    with atomic_dir(out_dir) as tmp:
        for level in recipe.levels:
            t0 = time.perf_counter()
            target = targets[level.name]
            is_fresh = level.name in fresh
            level_mesh, source, reached = unwrapped[target] if is_fresh else meshes[target]
            if key(level) not in distances:  # a fresh atlas has no texel drift to measure
                with stage("measure"):
                    distances[key(level)] = meter.measure(replace(level_mesh, uv=None, uv_faces=None) if is_fresh
                                                          else level_mesh)
            bake_key = (*key(level), bakes(level))
            bake_seconds = 0.0
            if bakes(level) and bake_key not in baked and baker is not None:
                # the cage: twice the level's measured deviation from the scan, 0.5–10 % of the diagonal
                cage = float(np.clip(2.0 * distances[key(level)].hausdorff, 0.005 * meter.diagonal,
                                     0.1 * meter.diagonal))
                with stage(f"bake:{level.name}"):
                    result = baker.bake(level_mesh, bake_size[bake_key], bakes(level), level.name, cage)
                baked[bake_key] = (result.maps, result.seconds)
                bake_seconds = result.seconds
            level_baked = baked.get(bake_key, ({}, 0.0))[0]
            level_mesh = dress(level_mesh, level_baked, f"{stem}-{level.name}")
            dressed[level.name] = level_mesh
            d = distances[key(level)]
            sources, map_sources = _sources(textures, maps, level_baked, is_fresh)
            level_textures: dict[int, bytes] = {}
            level_maps: dict[int, dict[str, bytes]] = {}
            size = None
            with stage("textures"):
                for mi, texture in sources.items():
                    label = level_mesh.materials[mi].texture
                    level_textures[mi], tex_size = _encoded(encoded, texture, "base", level, level.texture_format,
                                                            label)
                    size = size or tex_size
                for mi, slots in map_sources.items():
                    for slot, texture in slots.items():
                        level_maps.setdefault(mi, {})[slot] = _encoded(encoded, texture, slot, level,
                                                                       level.texture_format, f"{slot} map")[0]
            # how the level looks with what it carries: its own textures, as encoded (renders are 160 px: a
            # texture above 1024 texels looks the same, so levels sharing a mesh up to there share the measure)
            look_key = (bake_key, min(level.texture_size, 1024), level.texture_format, level.texture_quality)
            if looks is not None and look_key not in fidelity:
                with stage("fidelity"):
                    fidelity[look_key] = looks.measure(_as_written(level_mesh, level_textures, level_maps))
            f = fidelity.get(look_key)
            with stage(f"write:{level.name}"):
                uri, texture_uri, info = _write_level(level, level_mesh, level_textures, level_maps, tmp, stem,
                                                      up_axis)
            written = tmp / uri
            data = written.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            if level.format == "glb" and digest in written_once:  # an identical level is stored once, shared
                written.unlink()
                uri = written_once[digest]
            written_once.setdefault(digest, uri)
            carried = tuple(sorted({slot for slots in level_baked.values() for slot in slots}))
            results.append(LodResult(
                name=level.name, usage=level.usage, quality=level.quality, uri=uri,
                mime_type=MESH_FORMATS[level.format], bytes=len(data), sha256=digest,
                target_faces=target, faces=_count_faces(written.suffix, data, level_mesh),
                vertices=level_mesh.n_vertices,
                reached=reached, texture_uri=texture_uri, texture_size=size,
                hausdorff_pct=round(d.hausdorff_pct, 6), mean_pct=round(d.mean_pct, 6),
                texel_drift_median=d.texel_drift_median, texel_drift_p95=d.texel_drift_p95,
                decimated_from=source, decimate_seconds=decimate_seconds.get(level.name, 0.0),
                seconds=round(time.perf_counter() - t0, 3), compression=level.compression,
                compression_error_pct=round(100.0 * info.position_error / diagonal_m, 6) if info else 0.0,
                compression_uv_texels=round(info.uv_error * max(size), 3) if info and size else 0.0,
                ssim=f.ssim if f else None, psnr=f.psnr if f else None, min_ssim=level.min_ssim,
                baked=carried, unwrapped=is_fresh, bake_seconds=bake_seconds))
        t_thumb = time.perf_counter()
        if recipe.thumbnail_size:
            with stage("thumbnail"):
                thumbnail = _thumbnail(recipe, results, dressed, tmp, stem, notes, up_axis)
        t_thumb = time.perf_counter() - t_thumb
        lo, hi = mesh.vertices.min(axis=0), mesh.vertices.max(axis=0)
        lod_set = LodSet(source=mesh.path, recipe=recipe.name, out_dir=str(out_dir), units=mesh.units,
                         faces_in=mesh.n_faces, bbox_min=lo.tolist(), bbox_max=hi.tolist(), levels=results,
                         scene="scene.svx.json", thumbnail=thumbnail, notes=notes, findings=findings,
                         up_axis=up_axis, metadata=dict(metadata or {}),
                         thumbnail_seconds=round(t_thumb, 3))
        with stage("scene"):
            svx = voyager_scene(lod_set, tmp, stem)
            (tmp / "scene.svx.json").write_text(json.dumps(svx, indent=2) + "\n", encoding="utf-8")
    return replace(lod_set, seconds=round(time.perf_counter() - started, 3))


def _carried(name: str, source: TextureSource | None, label: str | None,
             findings: list[Finding]) -> TextureSource | None:
    """``source`` when its header reads, else None and an error finding: the levels go without it."""
    if source is None:
        return None
    try:
        texture_header(source, name=label)
    except ImageReadError as exc:
        findings.append(Finding("error", "texture_not_carried", f"material {name!r}: {exc}; the levels are "
                                "written without it", 1))
        return None
    return source


def _write_level(level: LodLevel, level_mesh: Mesh, level_textures: dict[int, bytes],
                 level_maps: dict[int, dict[str, bytes]], folder: Path, stem: str,
                 up_axis: str) -> tuple[str, str | None, GlbInfo | None]:
    base = f"{stem}-{level.name}"
    # what the level could not carry goes: a texture is this level's resampled image, or none
    level_mesh = replace(level_mesh, materials=tuple(
        replace(m, texture=m.texture if i in level_textures else None, texture_data=None,
                maps=tuple(t for t in m.maps if t.slot in level_maps.get(i, {})))
        for i, m in enumerate(level_mesh.materials)))
    if level.format == "glb":
        from llvscan.mesh.io.glb import write_glb

        info = write_glb(level_mesh, folder / f"{base}.glb", textures=level_textures, maps=level_maps,
                         up_axis=up_axis, compression=level.compression)
        return f"{base}.glb", None, info
    if level.format == "usdz":  # AR Quick Look reads the base colour only
        from llvscan.mesh.io.usdz import write_usdz

        write_usdz(level_mesh, folder / f"{base}.usdz", textures=level_textures, up_axis=up_axis)
        return f"{base}.usdz", None, None
    from llvscan.mesh.io.registry import save_mesh

    ext = TEXTURE_FORMATS[level.texture_format][1]
    materials = list(level_mesh.materials)
    texture_uri = None
    for mi, data in level_textures.items():
        texture_name = f"{base}-{mi}{ext}" if len(level_textures) > 1 else f"{base}{ext}"
        (folder / texture_name).write_bytes(data)
        materials[mi] = replace(materials[mi], texture=str(folder / texture_name))
        texture_uri = texture_uri or texture_name
    for mi, material in enumerate(materials):  # an OBJ level carries the base colour only
        materials[mi] = replace(material, maps=())
    save_mesh(replace(level_mesh, materials=tuple(materials)), folder / f"{base}.obj")
    return f"{base}.obj", texture_uri, None


def _count_faces(suffix: str, data: bytes, written: Mesh) -> int:
    """Faces in a written file's bytes (glTF: index count / 3 over every primitive; OBJ: its ``f`` lines;
    USDZ, a zipped binary crate: the mesh written)."""
    if suffix == ".usdz":
        return written.n_faces
    if suffix == ".glb":
        length = int.from_bytes(data[12:16], "little")
        doc = json.loads(data[20:20 + length])
        return sum(doc["accessors"][primitive["indices"]]["count"] // 3
                   for gmesh in doc.get("meshes", []) for primitive in gmesh.get("primitives", []))
    return sum(1 for line in data.splitlines() if line.startswith(b"f "))


def _thumbnail(recipe: LodRecipe, results: list[LodResult], dressed: Mapping[str, Mesh], folder: Path, stem: str,
               notes: list[str], up_axis: str) -> str | None:
    """Render the finest level at most 1M faces (the coarsest if none), with what it carries, to PNG."""
    from llvscan.mesh.render.renderer import save_thumbnail

    candidates = sorted((r for r in results if r.faces <= 1_000_000), key=lambda r: -r.faces)
    level = candidates[0] if candidates else results[-1]
    uri = f"{stem}-thumbnail.png"
    try:
        save_thumbnail(dressed[level.name], folder / uri, size=recipe.thumbnail_size, up=up_axis)
    except Exception as exc:  # a thumbnail is a nicety: never lose the levels over it
        notes.append(f"thumbnail not rendered: {exc}")
        return None
    return uri


def _decimations(mesh: Mesh, recipe: LodRecipe, targets: Mapping[str, int], found: Mapping[int, Mesh],
                 decimate_seconds: dict[str, float], notes: list[str]) -> dict[int, tuple[Mesh, str | None, bool]]:
    """One decimation per distinct face count, finest first, each from the nearest finer result (a
    fidelity-targeted count uses the search's own decimation). Returns face count → (mesh, decimated
    from, reached)."""
    from llvscan.mesh.simplify.decimate import decimate

    meshes: dict[int, tuple[Mesh, str | None, bool]] = {}
    previous, previous_name = mesh, None
    for target in sorted(set(targets.values()), reverse=True):
        owner = next(lvl.name for lvl in recipe.levels if targets.get(lvl.name) == target)
        if target >= previous.n_faces:
            meshes[target] = (previous, previous_name, True)
            continue
        if target in found:
            meshes[target] = (found[target], "input", True)
            previous, previous_name = found[target], owner
            continue
        with stage(f"decimate:{owner}"):
            result = decimate(previous, target_faces=target, measure=False)
        decimate_seconds[owner] = round(result.seconds, 3)
        if result.note and not result.reached:
            notes.append(f"level {owner!r}: {result.note}")
        meshes[target] = (result.mesh, previous_name or "input", result.reached)
        previous, previous_name = result.mesh, owner
    return meshes


def _unwrapped(mesh: Mesh, recipe: LodRecipe, targets: Mapping[str, int], fresh: set[str],
               decimate_seconds: dict[str, float], notes: list[str]) -> dict[int, tuple[Mesh, str | None, bool]]:
    """The levels that get a fresh atlas: decimated on their geometry alone (finest first, each from the
    last), unwrapped by xatlas at their texture size, their material the scan's first one without its
    textures (the bake gives them back). A level xatlas cannot unwrap is left out, with a note."""
    from llvscan.mesh.simplify.decimate import decimate
    from llvscan.mesh.unwrap import unwrap

    used = [int(m) for m in np.unique(mesh.face_material) if m >= 0] if mesh.face_material is not None else []
    base = replace(mesh.materials[used[0]] if used else Material("baked"), texture=None, texture_data=None,
                   texture_size=None, maps=(), color=None)
    out: dict[int, tuple[Mesh, str | None, bool]] = {}
    previous = strip_atlas(mesh)
    for target in sorted({targets[name] for name in fresh}, reverse=True):
        owner = next(lvl for lvl in recipe.levels if lvl.name in fresh and targets[lvl.name] == target)
        with stage(f"decimate:{owner.name}"):
            result = decimate(previous, target_faces=target, measure=False)
        decimate_seconds[owner.name] = round(decimate_seconds.get(owner.name, 0.0) + result.seconds, 3)
        previous = result.mesh
        size = max(min(lvl.texture_size, BAKE_MAX) for lvl in recipe.levels
                   if lvl.name in fresh and targets[lvl.name] == target)
        try:
            with stage(f"unwrap:{owner.name}"):
                atlas = unwrap(result.mesh, size=size)
        except InvalidMeshError as exc:
            notes.append(f"level {owner.name!r}: no fresh atlas ({exc}); it keeps the scan's")
            continue
        notes.append(f"level {owner.name!r}: a fresh atlas of {atlas.charts} charts ({atlas.utilization:.0%} of "
                     f"{size}², {atlas.seconds:.1f} s), its colour baked from the full mesh")
        out[target] = (replace(atlas.mesh, materials=(base,)), "input", result.reached)
    return out


def _as_written(level_mesh: Mesh, textures: Mapping[int, bytes], maps: Mapping[int, Mapping[str, bytes]]) -> Mesh:
    """The level as a viewer gets it: each material's base colour and maps the encoded bytes written."""
    materials = tuple(
        replace(m, texture=m.texture or f"{m.name}#base_colour", texture_data=textures[i])
        if i in textures else replace(m, texture=None, texture_data=None)
        for i, m in enumerate(level_mesh.materials))
    materials = tuple(replace(m, maps=tuple(replace(t, data=maps[i][t.slot]) for t in m.maps
                                            if t.slot in maps.get(i, {})))
                      for i, m in enumerate(materials))
    return replace(level_mesh, materials=materials)


def _sources(textures: Sequence[TextureSource | None], maps: Sequence[Mapping[str, TextureSource]],
             baked: Mapping[int, Mapping[str, bytes]],
             fresh: bool) -> tuple[dict[int, TextureSource], dict[int, dict[str, TextureSource]]]:
    """Per material, where a level's base colour and other maps come from: the scan's (unless the level
    has a fresh atlas), with what was baked for it in their place."""
    colour = {} if fresh else {i: t for i, t in enumerate(textures) if t is not None}
    other = {} if fresh else {i: dict(slots) for i, slots in enumerate(maps) if slots}
    for index, slots in baked.items():
        for slot, data in slots.items():
            if slot == "base_colour":
                colour[index] = data
            else:
                other.setdefault(index, {})[slot] = data
    return colour, other


def _encoded(cache: dict[tuple, tuple[bytes, tuple[int, int]]], source: TextureSource, slot: str, level: LodLevel,
             fmt: str, name: str | None) -> tuple[bytes, tuple[int, int]]:
    """A texture resampled and encoded for a level, once per (source, slot, output size, format, quality):
    levels asking for sizes at or above the source's (never upscaled) share one encoding. A normal map is
    never encoded below quality 90: JPEG's blocks show in the light more than in colour."""
    identity = id(source) if isinstance(source, bytes) else str(source)
    quality = max(level.texture_quality, 90) if slot == "normal" else level.texture_quality
    size = level.texture_size
    with contextlib.suppress(ImageReadError, ResourceLimitError):  # unreadable: _texture_bytes says so
        size = min(size, max(texture_header(source, name=name)))
    key = (identity, slot, size, fmt, quality)
    if key not in cache:
        cache[key] = _texture_bytes(source, level.texture_size, fmt, quality, colour=slot in ("base", "emissive"),
                                    name=name)
    return cache[key]
