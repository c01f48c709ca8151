"""The Smithsonian Voyager document (svx) of a set of levels of detail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llvscan.mesh.core.units import METRES_PER_UNIT, UNITS
from llvscan.mesh.lod.recipe import TEXTURE_FORMATS
from llvscan.mesh.lod.results import LodSet

__all__ = ["glb_bounds", "voyager_scene"]

# sidecar field → Voyager's collection meta key
_COLLECTION_KEYS = {"title": "title", "object_number": "objectNumber", "creator": "creator", "date": "date",
                    "rights": "rights"}


def glb_bounds(lods: LodSet) -> tuple[list[float], list[float]]:
    """The source's bounding box as the GLB levels hold it: in metres, Y-up (a Z-up source rotated
    (x, y, z) → (x, z, −y), as ``write_glb`` does)."""
    scale = METRES_PER_UNIT.get(lods.units or "m", 1.0)
    (x0, y0, z0), (x1, y1, z1) = lods.bbox_min, lods.bbox_max
    low, high = ([x0, z0, -y1], [x1, z1, -y0]) if lods.up_axis == "z" else ([x0, y0, z0], [x1, y1, z1])
    return [v * scale for v in low], [v * scale for v in high]


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
            mime = next(m for m, ext in TEXTURE_FORMATS.values() if level.texture_uri.endswith(ext))
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
            "decimatedFrom": level.decimated_from, "compression": level.compression,
            "compressionErrorPercentOfDiagonal": level.compression_error_pct,
            "compressionUvErrorTexels": level.compression_uv_texels, "ssim": level.ssim,
            "psnr": level.psnr, "minSsim": level.min_ssim, "baked": list(level.baked),
            "freshAtlas": level.unwrapped} for level in lods.levels},
        "notes": lods.notes,
        "findings": [{"level": f.level, "code": f.code, "message": f.message} for f in lods.findings],
    }
    meta: dict[str, Any] = {"process": process}
    if lods.thumbnail:
        from PIL import Image

        with Image.open(folder / lods.thumbnail) as image:
            width, height = image.size
        meta["images"] = [{"quality": "Thumb", "usage": "Render", "uri": lods.thumbnail,
                           "byteSize": (folder / lods.thumbnail).stat().st_size, "width": width, "height": height}]
    collection = {_COLLECTION_KEYS[k]: v for k, v in lods.metadata.items() if k in _COLLECTION_KEYS and v}
    if collection:
        meta["collection"] = collection  # Voyager shows the title from here ("Missing Title" without it)
    units = lods.units if lods.units in UNITS else "mm"  # the scene's display units: the source's
    low, high = glb_bounds(lods)
    return {
        "asset": {"type": "application/si-dpo-3d.document+json", "version": "1.0",
                  "generator": f"llvscan {__version__}"},
        "scene": 0,
        "scenes": [{"name": stem, "nodes": [0], "meta": 0, "units": units}],
        "nodes": [{"name": stem, "model": 0}],
        "metas": [meta],
        # the model's units and box describe the GLBs as written (metres, Y-up): Voyager reads a derivative's
        # coordinates in the model's units, so a tape measure then shows the real object
        "models": [{"units": "m", "boundingBox": {"min": low, "max": high}, "derivatives": derivatives}],
    }
