"""Level-of-detail recipes: the level model, the built-in recipes (``voyager``, ``archive``) and TOML loading.

``voyager`` follows Smithsonian Voyager's recipe (Thumb 20k faces with a 512 texture; Low/Medium/High
sharing one 150k mesh with 1024/2048/4096 textures; AR 100k with 2048; Highest, the download, up to 1M
with 8192); ``archive`` keeps the full mesh plus a 10 % and a 1 % level. A recipe may also be read from
TOML (``load_recipe(path)``), see the README.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from llvscan._json import JsonResult
from llvscan.errors import InvalidParameterError

__all__ = ["BAKED_MAPS", "COMPRESSIONS", "MESH_FORMATS", "QUALITIES", "RECIPES", "TEXTURE_FORMATS", "USAGES",
           "LodLevel", "LodRecipe", "load_recipe"]

USAGES = ("Web3D", "App3D", "iOSApp3D", "Print3D", "Editorial3D", "Image2D")
QUALITIES = ("Thumb", "Low", "Medium", "High", "Highest", "AR", "LOD", "Stream")
TEXTURE_FORMATS = {"jpg": ("image/jpeg", ".jpg"), "png": ("image/png", ".png"), "webp": ("image/webp", ".webp")}
# usdz: iOS AR Quick Look (Voyager's iOSApp3D), with the optional usd-core (pip install 'llvscan[usdz]')
MESH_FORMATS = {"glb": "model/gltf-binary", "obj": "model/obj", "usdz": "model/vnd.usdz+zip"}
COMPRESSIONS = ("auto", "none", "draco")
BAKED_MAPS = ("normal", "occlusion")


@dataclass(frozen=True)
class LodLevel(JsonResult):
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
    # geometry of a GLB level: none | draco (KHR_draco_mesh_compression) | auto: draco for the GLB levels
    # people download (Web3D, App3D), none otherwise; resolved when the level is made
    compression: str = "auto"
    bake: tuple[str, ...] = ()  # maps baked from the full-resolution mesh onto the level: normal, occlusion
    unwrap: bool | str = False  # a fresh atlas (xatlas) with the base colour re-baked: True | False | "auto"
    min_ssim: float | None = None  # instead of faces: the fewest faces whose renders reach this SSIM

    def __post_init__(self) -> None:
        where = f"level {self.name!r}"
        if not self.name or not all(c.isalnum() or c in "-_" for c in self.name):
            raise InvalidParameterError(f"{where}: a level name is letters, digits, '-' and '_'")
        if self.usage not in USAGES:
            raise InvalidParameterError(f"{where}: usage {self.usage!r} is not one of {', '.join(USAGES)}")
        if self.quality not in QUALITIES:
            raise InvalidParameterError(f"{where}: quality {self.quality!r} is not one of {', '.join(QUALITIES)}")
        if self.min_ssim is not None:
            if not (isinstance(self.min_ssim, int | float) and 0 < self.min_ssim < 1) or self.faces or self.ratio:
                raise InvalidParameterError(f"{where}: give one of faces, ratio or min_ssim (in (0, 1))")
        elif self.ratio is not None:
            if not (isinstance(self.ratio, int | float) and 0 < self.ratio <= 1) or self.faces:
                raise InvalidParameterError(f"{where}: give faces or a ratio in (0, 1], not both")
        elif not isinstance(self.faces, int) or self.faces < 4:
            raise InvalidParameterError(f"{where}: {self.faces} faces — a level needs at least 4")
        if not isinstance(self.texture_size, int) or not 16 <= self.texture_size <= 16384:
            raise InvalidParameterError(f"{where}: texture size {self.texture_size} is outside 16–16384 pixels")
        if not 1 <= self.texture_quality <= 100:
            raise InvalidParameterError(f"{where}: texture quality {self.texture_quality} is outside 1–100")
        if self.texture_format not in TEXTURE_FORMATS:
            raise InvalidParameterError(f"{where}: texture format {self.texture_format!r} is not jpg, png or webp")
        if self.format not in MESH_FORMATS:
            raise InvalidParameterError(f"{where}: format {self.format!r} is not {', '.join(MESH_FORMATS)}")
        if self.compression not in COMPRESSIONS or (self.compression == "draco" and self.format != "glb"):
            raise InvalidParameterError(f"{where}: compression {self.compression!r} is not "
                                        f"{', '.join(COMPRESSIONS)} (draco for GLB levels only)")
        if self.compression == "auto":
            web = self.format == "glb" and self.usage in ("Web3D", "App3D")
            object.__setattr__(self, "compression", "draco" if web else "none")
        if isinstance(self.bake, str | list):  # TOML gives a list; one map may be given as a string
            object.__setattr__(self, "bake", (self.bake,) if isinstance(self.bake, str) else tuple(self.bake))
        if not set(self.bake) <= set(BAKED_MAPS) or len(set(self.bake)) != len(self.bake):
            raise InvalidParameterError(f"{where}: bake {list(self.bake)} — each of {', '.join(BAKED_MAPS)} "
                                        "at most once")
        if self.unwrap not in (True, False, "auto"):
            raise InvalidParameterError(f"{where}: unwrap {self.unwrap!r} is not true, false or \"auto\"")
        if (self.bake or self.unwrap is True) and self.format != "glb":
            raise InvalidParameterError(f"{where}: baked maps and fresh atlases are written to GLB levels only")


@dataclass(frozen=True)
class LodRecipe(JsonResult):
    name: str
    levels: tuple[LodLevel, ...]
    thumbnail_size: int = 512  # 0: no thumbnail
    fidelity: bool = True  # measure each level's SSIM and PSNR against the original's renders

    def __post_init__(self) -> None:
        if not self.levels:
            raise InvalidParameterError(f"recipe {self.name!r} has no levels")
        names = [level.name for level in self.levels]
        if len(set(names)) != len(names):
            raise InvalidParameterError(f"recipe {self.name!r}: level names repeat ({', '.join(names)})")
        if not self.fidelity and any(level.min_ssim is not None for level in self.levels):
            raise InvalidParameterError(f"recipe {self.name!r}: a level targets min_ssim, which needs fidelity = true")
        if self.thumbnail_size and not 16 <= self.thumbnail_size <= 4096:
            raise InvalidParameterError(f"recipe {self.name!r}: thumbnail size {self.thumbnail_size} "
                                        "is outside 16–4096")


_COOK_BAKE = ("normal", "occlusion")  # what Smithsonian's Cook bakes onto its web levels

RECIPES: dict[str, LodRecipe] = {
    # web levels Draco-compressed, normal and occlusion baked from the full mesh onto all but the
    # download; a level whose atlas has too many charts for its face count gets a fresh atlas ("auto")
    "voyager": LodRecipe("voyager", (
        LodLevel("thumb", "Web3D", "Thumb", 20_000, 512, 80, bake=_COOK_BAKE, unwrap="auto"),
        LodLevel("low", "Web3D", "Low", 150_000, 1024, bake=_COOK_BAKE, unwrap="auto"),
        LodLevel("medium", "Web3D", "Medium", 150_000, 2048, bake=_COOK_BAKE, unwrap="auto"),
        LodLevel("high", "Web3D", "High", 150_000, 4096, bake=_COOK_BAKE, unwrap="auto"),
        LodLevel("ar", "App3D", "AR", 100_000, 2048, bake=_COOK_BAKE, unwrap="auto"),
        LodLevel("highest", "Web3D", "Highest", 1_000_000, 8192, 90),
    )),
    # the archive stays lossless: the full mesh and a PNG texture, with uncompressed GLBs at 10 % and 1 %
    "archive": LodRecipe("archive", (
        LodLevel("full", "Editorial3D", "Highest", 0, 16384, 95, "png", "obj", ratio=1.0, compression="none"),
        LodLevel("tenth", "Web3D", "High", 0, 8192, 90, ratio=0.1, compression="none"),
        LodLevel("hundredth", "Web3D", "Medium", 0, 2048, ratio=0.01, compression="none"),
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
        format = "glb"          # optional: glb | obj | usdz (needs pip install 'llvscan[usdz]')
        compression = "auto"    # optional: auto (draco for Web3D/App3D GLBs) | draco | none
        bake = ["normal", "occlusion"]  # optional: maps baked from the full-resolution mesh
        unwrap = "auto"         # optional: true | false | "auto" (a fresh atlas, base colour re-baked)
        # or, instead of faces: ratio = 0.1  (a fraction of the input's faces)
        # or min_ssim = 0.97: the fewest faces whose renders reach that SSIM against the original
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
        if not {"faces", "ratio", "min_ssim"} & set(entry):
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
        return LodRecipe(str(data.get("name", path.stem)), tuple(built), int(data.get("thumbnail_size", 512)),
                         bool(data.get("fidelity", True)))
    except InvalidParameterError as exc:
        raise InvalidParameterError(str(exc), path=path) from exc
