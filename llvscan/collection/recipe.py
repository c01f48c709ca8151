"""What a collection run does to each kind of asset: the run recipe, read from TOML or built in code.

A recipe has one section per kind. Its hash, taken per kind, is what decides whether a finished asset
must be redone: changing the image section redoes the images and leaves the meshes alone. A LOD
recipe named by file is hashed by content, so editing that file redoes the meshes too::

    # run.toml
    [mesh]
    lods = "voyager"          # "voyager", "archive", "none", or a LOD recipe file (relative to this one)
    lods_for_invalid = false  # build LODs of meshes that failed validation too
    max_faces = 200000000

    [mesh.validation]         # llvscan.mesh.ValidationThresholds
    sliver_angle = 1.0
    min_object_mm = 3.0

    [image]
    layouts = ["iiif3"]       # any of iiif3, iiif2, dz, zoomify, ptiff, szi
    inspect = true
    base_url = "https://iiif.example.org/iiif"
    tile_size = 512
    quality = 85
    max_size = 2048
    pixel_limit = 20000000000

    [image.inspection]        # llvscan.imaging.InspectionThresholds
    clipped_error_percent = 5.0
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from llvscan.errors import InvalidParameterError, LlvscanError

__all__ = ["PROCESSING_VERSION", "ImageRecipe", "MeshRecipe", "RunRecipe", "load_run_recipe"]

#: Bump when per-asset processing changes in a way that should redo finished assets.
PROCESSING_VERSION = 2

_LAYOUTS = ("iiif3", "iiif2", "dz", "zoomify", "ptiff", "szi")  # llvscan.imaging.tiles.LAYOUTS, without the import


@dataclass(frozen=True)
class MeshRecipe:
    """Meshes: validate, then (when valid, or always with ``lods_for_invalid``) build levels of detail."""

    lods: str | None = "voyager"  # a preset name, a LOD recipe file (absolute), or None for no LODs
    lods_for_invalid: bool = False
    max_faces: int = 200_000_000
    validation: dict[str, Any] = field(default_factory=dict)  # ValidationThresholds fields that differ

    def __post_init__(self) -> None:
        if not isinstance(self.max_faces, int) or self.max_faces < 1:
            raise InvalidParameterError(f"mesh max_faces must be a positive whole number, not {self.max_faces!r}")

    def thresholds(self) -> Any:
        from llvscan.mesh.validate import ValidationThresholds

        return ValidationThresholds(**self.validation)

    def lod_recipe(self) -> Any:
        from llvscan.mesh.lods import load_recipe

        return None if self.lods is None else load_recipe(self.lods)


@dataclass(frozen=True)
class ImageRecipe:
    """Images: inspect the master, then tile it in every layout listed."""

    layouts: tuple[str, ...] = ("iiif3",)
    inspect: bool = True
    base_url: str = "http://localhost:8000/iiif"
    tile_size: int = 512
    quality: int = 85
    max_size: int = 2048
    pixel_limit: int = 20_000_000_000
    inspection: dict[str, Any] = field(default_factory=dict)  # InspectionThresholds fields that differ

    def __post_init__(self) -> None:
        layouts = tuple(self.layouts)
        object.__setattr__(self, "layouts", layouts)
        unknown = [name for name in layouts if name not in _LAYOUTS]
        if unknown:
            raise InvalidParameterError(f"image layouts {unknown} unknown; choose from {', '.join(_LAYOUTS)}")
        if len(set(layouts)) != len(layouts):
            raise InvalidParameterError(f"image layouts repeat: {list(layouts)}")
        if not 16 <= self.tile_size <= 4096:
            raise InvalidParameterError(f"tile_size {self.tile_size} is outside 16–4096")
        if not 1 <= self.quality <= 100:
            raise InvalidParameterError(f"quality {self.quality} is outside 1–100")
        if self.max_size < 1 or self.pixel_limit < 1:
            raise InvalidParameterError("max_size and pixel_limit must be positive")

    def thresholds(self) -> Any:
        from llvscan.imaging.inspect import InspectionThresholds

        return InspectionThresholds(**self.inspection)


@dataclass(frozen=True)
class RunRecipe:
    """The whole recipe of a run; ``RunRecipe()`` is the default one."""

    mesh: MeshRecipe = field(default_factory=MeshRecipe)
    image: ImageRecipe = field(default_factory=ImageRecipe)
    source: str | None = None  # the TOML file it came from
    # per-kind hashes, computed once per recipe object (a LOD recipe file is read once, not per asset)
    _hashes: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)

    def check(self) -> RunRecipe:
        """Build the thresholds and LOD recipe once, so a bad value fails before any asset is touched."""
        self.mesh.thresholds()
        self.mesh.lod_recipe()
        self.image.thresholds()
        return self

    def section(self, kind: str) -> dict[str, Any]:
        """What the per-kind hash covers: the section, with a LOD recipe file replaced by its content."""
        if kind == "mesh":
            data = asdict(self.mesh)
            lods = self.mesh.lod_recipe()
            data["lods"] = None if lods is None else asdict(lods)
            return data
        if kind == "image":
            return asdict(self.image)
        return {}

    def sha256(self, kind: str) -> str:
        if kind not in self._hashes:
            payload = json.dumps({"processing": PROCESSING_VERSION, "kind": kind, **self.section(kind)},
                                 sort_keys=True, default=str)
            self._hashes[kind] = hashlib.sha256(payload.encode()).hexdigest()
        return self._hashes[kind]

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "mesh": self.section("mesh"), "image": self.section("image")}

    def with_image(self, **changes: Any) -> RunRecipe:
        return replace(self, image=replace(self.image, **changes))


def _section(data: dict[str, Any], name: str, cls: type, nested: str, path: Path) -> dict[str, Any]:
    section = data.get(name, {})
    if not isinstance(section, dict):
        raise InvalidParameterError(f"[{name}] must be a table", path=path)
    allowed = {f.name for f in fields(cls)} - {"source"}
    unknown = sorted(set(section) - allowed)
    if unknown:
        raise InvalidParameterError(f"[{name}]: unknown keys {unknown}; known: {sorted(allowed)}", path=path)
    if nested in section and not isinstance(section[nested], dict):
        raise InvalidParameterError(f"[{name}.{nested}] must be a table", path=path)
    return dict(section)


def load_run_recipe(path: str | Path) -> RunRecipe:
    """Read a run recipe from TOML (see the module docstring); every value is checked, naming the file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InvalidParameterError("no such recipe file", path=path) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidParameterError("not a valid TOML run recipe", path=path, detail=str(exc)) from exc
    unknown = sorted(set(data) - {"mesh", "image"})
    if unknown:
        raise InvalidParameterError(f"unknown sections {unknown}; a run recipe has [mesh] and [image]", path=path)
    mesh = _section(data, "mesh", MeshRecipe, "validation", path)
    image = _section(data, "image", ImageRecipe, "inspection", path)
    lods = mesh.get("lods", "voyager")
    if lods in ("none", "", False):
        mesh["lods"] = None
    elif isinstance(lods, str) and (lods.endswith(".toml") or "/" in lods):
        mesh["lods"] = str((path.parent / lods).resolve())
    try:
        return RunRecipe(MeshRecipe(**mesh), ImageRecipe(**image), source=str(path)).check()
    except (TypeError, LlvscanError) as exc:
        message = str(exc).replace(f"{path}: ", "")
        raise InvalidParameterError(message, path=path) from exc
