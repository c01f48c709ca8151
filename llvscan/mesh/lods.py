"""Levels of detail for the web and the archive: decimated meshes, resampled textures, GLB, a Voyager scene.

``build_lods(mesh, recipe, out_dir)`` writes one file per level (GLB with its texture embedded, or OBJ +
MTL + texture), a thumbnail rendered without a GPU, and ``scene.svx.json``: a Smithsonian Voyager
document listing every derivative by usage and quality with sizes *measured from the written files*,
and, in its ``process`` meta, llvscan's measured error of each level (Hausdorff and mean distance to
the input, texel drift), where Voyager's own pipeline records only the target face count.

Recipes are lists of levels; ``voyager`` follows Smithsonian Voyager's recipe (Thumb 20k faces with a
512 texture; Low/Medium/High sharing one 150k mesh with 1024/2048/4096 textures; AR 100k with 2048;
Highest, the download, up to 1M with 8192) and ``archive`` keeps the full mesh plus a 10 % and a 1 %
level. A recipe may also be read from TOML (``load_recipe(path)``), see ``docs`` in the README.
Levels sharing a face count share one decimation; each decimation starts from the nearest finer
level (faster, and measured against the input all the same); a level at or above the input's face
count keeps the input mesh.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import tomllib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from llvscan._publish import atomic_dir
from llvscan.errors import ImageReadError, InvalidParameterError
from llvscan.mesh.io import Material, Mesh

__all__ = ["QUALITIES", "RECIPES", "USAGES", "LodLevel", "LodRecipe", "LodResult", "LodSet", "build_lods",
           "load_recipe", "voyager_scene"]

log = logging.getLogger(__name__)

USAGES = ("Web3D", "App3D", "iOSApp3D", "Print3D", "Editorial3D", "Image2D")
QUALITIES = ("Thumb", "Low", "Medium", "High", "Highest", "AR", "LOD", "Stream")
_TEXTURE_FORMATS = {"jpg": ("image/jpeg", ".jpg"), "png": ("image/png", ".png"), "webp": ("image/webp", ".webp")}
_MESH_FORMATS = {"glb": "model/gltf-binary", "obj": "model/obj"}


@dataclass(frozen=True)
class LodLevel:
    """One derivative: what to decimate to, which texture to make, how to write it."""

    name: str
    usage: str  # Voyager derivative usage: Web3D, App3D, ...
    quality: str  # Voyager derivative quality: Thumb, Low, Medium, High, Highest, AR
    faces: int  # target face count (0 with a ratio); at or above the input's, the input mesh is kept
    texture_size: int  # longer side of the texture in pixels (never upscaled)
    texture_quality: int = 85  # JPEG/WebP quality (PNG ignores it)
    texture_format: str = "jpg"  # jpg | png | webp
    format: str = "glb"  # glb | obj
    ratio: float | None = None  # instead of faces: this fraction of the input's faces

    def __post_init__(self) -> None:
        where = f"level {self.name!r}"
        if not self.name or not all(c.isalnum() or c in "-_" for c in self.name):
            raise InvalidParameterError(f"{where}: a level name is letters, digits, '-' and '_'")
        if self.usage not in USAGES:
            raise InvalidParameterError(f"{where}: usage {self.usage!r} is not one of {', '.join(USAGES)}")
        if self.quality not in QUALITIES:
            raise InvalidParameterError(f"{where}: quality {self.quality!r} is not one of {', '.join(QUALITIES)}")
        if self.ratio is not None:
            if not (isinstance(self.ratio, int | float) and 0 < self.ratio <= 1) or self.faces:
                raise InvalidParameterError(f"{where}: give faces or a ratio in (0, 1], not both")
        elif not isinstance(self.faces, int) or self.faces < 4:
            raise InvalidParameterError(f"{where}: {self.faces} faces — a level needs at least 4")
        if not isinstance(self.texture_size, int) or not 16 <= self.texture_size <= 16384:
            raise InvalidParameterError(f"{where}: texture size {self.texture_size} is outside 16–16384 pixels")
        if not 1 <= self.texture_quality <= 100:
            raise InvalidParameterError(f"{where}: texture quality {self.texture_quality} is outside 1–100")
        if self.texture_format not in _TEXTURE_FORMATS:
            raise InvalidParameterError(f"{where}: texture format {self.texture_format!r} is not jpg, png or webp")
        if self.format not in _MESH_FORMATS:
            raise InvalidParameterError(f"{where}: format {self.format!r} is not glb or obj")


@dataclass(frozen=True)
class LodRecipe:
    name: str
    levels: tuple[LodLevel, ...]
    thumbnail_size: int = 512  # 0: no thumbnail

    def __post_init__(self) -> None:
        if not self.levels:
            raise InvalidParameterError(f"recipe {self.name!r} has no levels")
        names = [level.name for level in self.levels]
        if len(set(names)) != len(names):
            raise InvalidParameterError(f"recipe {self.name!r}: level names repeat ({', '.join(names)})")
        if self.thumbnail_size and not 16 <= self.thumbnail_size <= 4096:
            raise InvalidParameterError(f"recipe {self.name!r}: thumbnail size {self.thumbnail_size} "
                                        "is outside 16–4096")


RECIPES: dict[str, LodRecipe] = {
    "voyager": LodRecipe("voyager", (
        LodLevel("thumb", "Web3D", "Thumb", 20_000, 512, 80),
        LodLevel("low", "Web3D", "Low", 150_000, 1024),
        LodLevel("medium", "Web3D", "Medium", 150_000, 2048),
        LodLevel("high", "Web3D", "High", 150_000, 4096),
        LodLevel("ar", "App3D", "AR", 100_000, 2048),
        LodLevel("highest", "Web3D", "Highest", 1_000_000, 8192, 90),
    )),
    # the archive keeps the full mesh and a lossless texture, with GLBs at 10 % and 1 % for access
    "archive": LodRecipe("archive", (
        LodLevel("full", "Editorial3D", "Highest", 0, 16384, 95, "png", "obj", ratio=1.0),
        LodLevel("tenth", "Web3D", "High", 0, 8192, 90, ratio=0.1),
        LodLevel("hundredth", "Web3D", "Medium", 0, 2048, ratio=0.01),
    )),
}


def load_recipe(recipe: str | Path | LodRecipe) -> LodRecipe:
    """A preset by name (``voyager``, ``archive``), a ``LodRecipe``, or a TOML file::

        name = "museum-web"
        thumbnail_size = 512
        [[level]]
        name = "high"
        usage = "Web3D"
        quality = "High"
        faces = 150000
        texture_size = 4096
        texture_quality = 85    # optional
        texture_format = "jpg"  # optional: jpg | png | webp
        format = "glb"          # optional: glb | obj
        # or, instead of faces: ratio = 0.1  (a fraction of the input's faces)
    """
    if isinstance(recipe, LodRecipe):
        return recipe
    if str(recipe) in RECIPES:
        return RECIPES[str(recipe)]
    path = Path(recipe)
    if not path.is_file():
        raise InvalidParameterError(f"no recipe named {recipe!r} (presets: {', '.join(RECIPES)}) and no such file",
                                    path=path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidParameterError("not a valid TOML recipe", path=path, detail=str(exc)) from exc
    levels = data.get("level")
    if not isinstance(levels, list) or not levels:
        raise InvalidParameterError("a recipe needs at least one [[level]] table", path=path)
    allowed = {f for f in LodLevel.__dataclass_fields__}
    built = []
    for i, entry in enumerate(levels):
        unknown = set(entry) - allowed
        missing = {"name", "usage", "quality", "texture_size"} - set(entry)
        if "faces" not in entry and "ratio" not in entry:
            missing.add("faces")
        if unknown or missing:
            what = "; ".join(filter(None, [f"unknown keys {sorted(unknown)}" if unknown else "",
                                           f"missing {sorted(missing)}" if missing else ""]))
            raise InvalidParameterError(f"level {i + 1}: {what}", path=path)
        try:
            built.append(LodLevel(**{"faces": 0, **entry}))
        except InvalidParameterError as exc:
            raise InvalidParameterError(str(exc), path=path) from exc
    try:
        return LodRecipe(str(data.get("name", path.stem)), tuple(built), int(data.get("thumbnail_size", 512)))
    except InvalidParameterError as exc:
        raise InvalidParameterError(str(exc), path=path) from exc


@dataclass(frozen=True)
class LodResult:
    """One written level, measured. Field names are stable: the catalog stores them."""

    name: str
    usage: str
    quality: str
    uri: str  # relative to the output folder
    mime_type: str
    bytes: int
    sha256: str
    target_faces: int
    faces: int
    vertices: int
    reached: bool
    texture_uri: str | None  # for OBJ levels; GLB levels embed their texture
    texture_size: tuple[int, int] | None  # (width, height) of the level's texture
    hausdorff_pct: float
    mean_pct: float
    texel_drift_median: float | None
    texel_drift_p95: float | None
    decimated_from: str | None  # the level (or "input") this one's mesh was decimated from
    decimate_seconds: float  # the decimation this level owns (0 when it shares another level's)
    seconds: float  # texture, writing and measuring this level


@dataclass(frozen=True)
class LodSet:
    source: str | None
    recipe: str
    out_dir: str
    units: str | None
    faces_in: int
    bbox_min: list[float]
    bbox_max: list[float]
    levels: list[LodResult]
    scene: str  # the svx document, relative to out_dir
    thumbnail: str | None
    notes: list[str] = field(default_factory=list)
    thumbnail_seconds: float = 0.0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _resolve_targets(recipe: LodRecipe, faces_in: int) -> dict[str, int]:
    targets = {}
    for level in recipe.levels:
        faces = level.faces if level.ratio is None else max(4, round(level.ratio * faces_in))
        targets[level.name] = min(faces, faces_in)
    return targets


def _texture_bytes(source: Path, size: int, fmt: str, quality: int) -> tuple[bytes, tuple[int, int]]:
    """The texture resampled (never upscaled) so its longer side is at most ``size``, in sRGB, encoded.
    pyvips streams it with shrink-on-load: a 16k texture is never held whole in Python memory."""
    import pyvips

    try:
        image = pyvips.Image.thumbnail(str(source), size, height=size, size="down")
        if image.interpretation not in ("srgb", "b-w") or image.format != "uchar":
            image = image.colourspace("srgb").cast("uchar")
        if fmt == "jpg" and image.hasalpha():
            image = image.flatten(background=[255, 255, 255])
        options: dict[str, Any] = {"strip": True}
        if fmt in ("jpg", "webp"):
            options["Q"] = quality
        data = image.write_to_buffer(_TEXTURE_FORMATS[fmt][1], **options)
    except pyvips.Error as exc:
        raise ImageReadError("cannot read the texture", path=source, detail=" ".join(str(exc).split())[:300]) from exc
    return data, (image.width, image.height)


def build_lods(mesh: Mesh | str | Path, recipe: str | Path | LodRecipe, out_dir: str | Path, *,
               name: str | None = None, samples: int = 100_000) -> LodSet:
    """Write every level of ``recipe`` for ``mesh`` (a ``Mesh`` or a file to load) into ``out_dir``
    (replaced atomically), with a thumbnail and ``scene.svx.json``; return what was written and measured."""
    from llvscan.mesh.decimate import decimate
    from llvscan.mesh.io import load_mesh

    started = time.perf_counter()
    recipe = load_recipe(recipe)  # a bad recipe is refused before the mesh is read
    if not isinstance(mesh, Mesh):
        mesh = load_mesh(mesh)
    out_dir = Path(out_dir)
    stem = name or (Path(mesh.path).stem if mesh.path else "model")
    targets = _resolve_targets(recipe, mesh.n_faces)
    notes: list[str] = []
    textures = [Path(m.texture) if m.texture and m.texture != "embedded" and Path(m.texture).is_file() else None
                for m in mesh.materials]
    for material, path in zip(mesh.materials, textures, strict=True):
        if material.texture and path is None:
            notes.append(f"material {material.name!r}: texture {material.texture} is not a readable file; "
                         "levels are written without it")

    # one decimation per distinct face count, finest first, each from the nearest finer result
    meshes: dict[int, tuple[Mesh, str | None, bool]] = {}
    decimate_seconds: dict[str, float] = {}
    previous, previous_name = mesh, None
    for target in sorted(set(targets.values()), reverse=True):
        owner = next(lvl.name for lvl in recipe.levels if targets[lvl.name] == target)
        if target >= previous.n_faces:
            meshes[target] = (previous, previous_name, True)
            continue
        result = decimate(previous, target_faces=target, measure=False)
        decimate_seconds[owner] = round(result.seconds, 3)
        if result.note and not result.reached:
            notes.append(f"level {owner!r}: {result.note}")
        meshes[target] = (result.mesh, previous_name or "input", result.reached)
        previous, previous_name = result.mesh, owner

    from llvscan.mesh.distance import DistanceMeter

    meter = DistanceMeter(mesh, samples=samples)  # the input's grid and samples, built once for every level
    distances: dict[int, Any] = {}
    encoded: dict[tuple[int, int, str, int], tuple[bytes, tuple[int, int]]] = {}
    results: list[LodResult] = []
    thumbnail = None
    with atomic_dir(out_dir) as tmp:
        for level in recipe.levels:
            t0 = time.perf_counter()
            target = targets[level.name]
            level_mesh, source, reached = meshes[target]
            if target not in distances:
                distances[target] = meter.measure(level_mesh)
            d = distances[target]
            level_textures: dict[int, bytes] = {}
            size = None
            for mi, path in enumerate(textures):
                if path is None:
                    continue
                key = (mi, level.texture_size, level.texture_format, level.texture_quality)
                if key not in encoded:
                    encoded[key] = _texture_bytes(path, level.texture_size, level.texture_format,
                                                  level.texture_quality)
                level_textures[mi], tex_size = encoded[key]
                size = size or tex_size
            uri, texture_uri = _write_level(level, level_mesh, level_textures, tmp, stem)
            written = tmp / uri
            data = written.read_bytes()
            results.append(LodResult(
                name=level.name, usage=level.usage, quality=level.quality, uri=uri,
                mime_type=_MESH_FORMATS[level.format], bytes=len(data), sha256=hashlib.sha256(data).hexdigest(),
                target_faces=target, faces=_count_faces(written.suffix, data), vertices=level_mesh.n_vertices,
                reached=reached, texture_uri=texture_uri, texture_size=size,
                hausdorff_pct=round(d.hausdorff_pct, 6), mean_pct=round(d.mean_pct, 6),
                texel_drift_median=d.texel_drift_median, texel_drift_p95=d.texel_drift_p95,
                decimated_from=source, decimate_seconds=decimate_seconds.get(level.name, 0.0),
                seconds=round(time.perf_counter() - t0, 3)))
        t_thumb = time.perf_counter()
        if recipe.thumbnail_size:
            thumbnail = _thumbnail(recipe, results, meshes, targets, tmp, stem, notes)
        t_thumb = time.perf_counter() - t_thumb
        lo, hi = mesh.vertices.min(axis=0), mesh.vertices.max(axis=0)
        lod_set = LodSet(source=mesh.path, recipe=recipe.name, out_dir=str(out_dir), units=mesh.units,
                         faces_in=mesh.n_faces, bbox_min=lo.tolist(), bbox_max=hi.tolist(), levels=results,
                         scene="scene.svx.json", thumbnail=thumbnail, notes=notes,
                         thumbnail_seconds=round(t_thumb, 3))
        svx = voyager_scene(lod_set, tmp, stem)
        (tmp / "scene.svx.json").write_text(json.dumps(svx, indent=2) + "\n", encoding="utf-8")
    return replace(lod_set, seconds=round(time.perf_counter() - started, 3))


def _write_level(level: LodLevel, level_mesh: Mesh, level_textures: dict[int, bytes], folder: Path,
                 stem: str) -> tuple[str, str | None]:
    base = f"{stem}-{level.name}"
    if level.format == "glb":
        from llvscan.mesh.gltf import write_glb

        write_glb(level_mesh, folder / f"{base}.glb", textures=level_textures)
        return f"{base}.glb", None
    from llvscan.mesh.write import save_mesh

    ext = _TEXTURE_FORMATS[level.texture_format][1]
    materials = list(level_mesh.materials)
    texture_uri = None
    for mi, data in level_textures.items():
        texture_name = f"{base}-{mi}{ext}" if len(level_textures) > 1 else f"{base}{ext}"
        (folder / texture_name).write_bytes(data)
        materials[mi] = replace(materials[mi], texture=str(folder / texture_name))
        texture_uri = texture_uri or texture_name
    for mi, material in enumerate(materials):  # a texture not re-encoded is not referenced from elsewhere
        if mi not in level_textures and material.texture:
            materials[mi] = Material(material.name, None, None, material.color)
    save_mesh(replace(level_mesh, materials=tuple(materials)), folder / f"{base}.obj")
    return f"{base}.obj", texture_uri


def _count_faces(suffix: str, data: bytes) -> int:
    """Faces in a written file's bytes (glTF: index count / 3 over every primitive; OBJ: its ``f`` lines)."""
    if suffix == ".glb":
        length = int.from_bytes(data[12:16], "little")
        doc = json.loads(data[20:20 + length])
        return sum(doc["accessors"][primitive["indices"]]["count"] // 3
                   for gmesh in doc.get("meshes", []) for primitive in gmesh.get("primitives", []))
    return sum(1 for line in data.splitlines() if line.startswith(b"f "))


def _thumbnail(recipe: LodRecipe, results: list[LodResult], meshes: dict, targets: dict, folder: Path, stem: str,
               notes: list[str]) -> str | None:
    """Render the finest Web3D level at most 1M faces (the input if none) to PNG."""
    from llvscan.mesh.render import save_thumbnail

    candidates = sorted((r for r in results if r.faces <= 1_000_000), key=lambda r: -r.faces)
    level = candidates[0] if candidates else results[-1]
    level_mesh = meshes[targets[level.name]][0]
    uri = f"{stem}-thumbnail.png"
    try:
        save_thumbnail(level_mesh, folder / uri, size=recipe.thumbnail_size)
    except Exception as exc:  # a thumbnail is a nicety: never lose the levels over it
        notes.append(f"thumbnail not rendered: {exc}")
        return None
    return uri


def voyager_scene(lods: LodSet, folder: Path, stem: str) -> dict[str, Any]:
    """The Smithsonian Voyager document (svx) for ``lods``: one model, its derivatives by usage and quality,
    sizes read from the written files; llvscan's measured error of each level in ``metas[0].process``."""
    from llvscan import __version__

    by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for level in lods.levels:
        asset: dict[str, Any] = {"uri": level.uri, "type": "Model", "mimeType": level.mime_type,
                                 "byteSize": (folder / level.uri).stat().st_size, "numFaces": level.faces}
        if level.texture_size:
            asset["imageSize"] = max(level.texture_size)
        assets = [asset]
        if level.texture_uri:
            mime = next(m for m, ext in _TEXTURE_FORMATS.values() if level.texture_uri.endswith(ext))
            assets.append({"uri": level.texture_uri, "type": "Texture", "mimeType": mime, "mapType": "Color",
                           "byteSize": (folder / level.texture_uri).stat().st_size,
                           "imageSize": max(level.texture_size or (0, 0))})
        by_key.setdefault((level.usage, level.quality), []).extend(assets)
    derivatives = [{"usage": usage, "quality": quality, "assets": assets}
                   for (usage, quality), assets in by_key.items()]
    process = {
        "generator": f"llvscan {__version__}",
        "recipe": lods.recipe,
        "source": {"uri": Path(lods.source).name if lods.source else None, "numFaces": lods.faces_in},
        "levels": {level.name: {
            "targetFaces": level.target_faces, "numFaces": level.faces, "reached": level.reached,
            "hausdorffPercentOfDiagonal": level.hausdorff_pct, "meanDistancePercentOfDiagonal": level.mean_pct,
            "texelDriftMedian": level.texel_drift_median, "texelDriftP95": level.texel_drift_p95,
            "decimatedFrom": level.decimated_from} for level in lods.levels},
        "notes": lods.notes,
    }
    meta: dict[str, Any] = {"process": process}
    if lods.thumbnail:
        from PIL import Image

        with Image.open(folder / lods.thumbnail) as image:
            width, height = image.size
        meta["images"] = [{"quality": "Thumb", "usage": "Render", "uri": lods.thumbnail,
                           "byteSize": (folder / lods.thumbnail).stat().st_size, "width": width, "height": height}]
    units = lods.units if lods.units in ("mm", "cm", "m", "in") else "mm"
    return {
        "asset": {"type": "application/si-dpo-3d.document+json", "version": "1.0",
                  "generator": f"llvscan {__version__}"},
        "scene": 0,
        "scenes": [{"name": stem, "nodes": [0], "meta": 0, "units": units}],
        "nodes": [{"name": stem, "model": 0}],
        "metas": [meta],
        "models": [{"units": units, "boundingBox": {"min": lods.bbox_min, "max": lods.bbox_max},
                    "derivatives": derivatives}],
    }
