"""What a collection run does to each kind of asset: the run recipe, read from TOML or built in code.

A recipe has one section per kind. Its hash, taken per kind, is what decides whether a finished asset
must be redone: changing the image section redoes the images and leaves the meshes alone. A LOD
recipe named by file is hashed by content, so editing that file redoes the meshes too::

    # run.toml
    [mesh]
    lods = "voyager"          # "voyager", "archive", "none", or a LOD recipe file (relative to this one)
    lods_for_invalid = false  # build LODs of meshes that failed validation too
    max_faces = 200000000
    units = "mm"              # for files that declare none (else guessed from the size, with a warning)
    up_axis = "z"             # the scans' up axis; GLB levels and thumbnails are Y-up

    [mesh.validation]         # llvscan.mesh.ValidationThresholds
    sliver_angle = 1.0
    min_object_mm = 3.0

    [image]
    layouts = ["iiif3"]       # any of iiif3, iiif2, dz, zoomify, ptiff, szi
    inspect = true
    jp2_master = false        # also write a lossless JPEG 2000 preservation master (validated, bit-exact)
    base_url = "https://iiif.example.org/iiif"
    tile_size = 512
    quality = 85
    max_size = 2048
    pixel_limit = 20000000000

    [image.inspection]        # llvscan.imaging.InspectionThresholds
    clipped_error_percent = 5.0

    [qa]                      # capture targets (images in a targets/ folder, or marked in the sidecar)
    standard = "fadgi-2023"   # fadgi-2023, metamorfoze-2.0 or iso-19264
    level = "3 stars"         # the level every session must reach (default: any level of the standard)
    overlay = true            # write each target's overlay (the sampled patches drawn) beside its report
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from llvscan._constants import (
    DEFAULT_IIIF_BASE_URL,
    DEFAULT_MAX_FACES,
    DEFAULT_MAX_SIZE,
    DEFAULT_PIXEL_LIMIT,
    DEFAULT_QUALITY,
    DEFAULT_TILE_SIZE,
    LAYOUTS,
    QA_STANDARDS,
    SIDECAR_MESH_OPTIONS,
    UNITS,
    UP_AXES,
)
from llvscan._json import NOT_IN_JSON, JsonResult, to_jsonable
from llvscan.errors import InvalidParameterError, LlvscanError

if TYPE_CHECKING:  # for the annotations only: a recipe stays light, the thresholds load on use
    from llvscan.imaging import InspectionThresholds
    from llvscan.mesh import LodRecipe, ValidationThresholds

__all__ = ["PROCESSING_VERSION", "ImageRecipe", "MeshRecipe", "QaRecipe", "RunRecipe", "ThresholdValue",
           "load_run_recipe"]

#: Bump when per-asset processing changes in a way that should redo finished assets.
PROCESSING_VERSION = 3  # 3: the svx model describes the GLBs in metres; units and up axis per recipe

#: A value of a ``[mesh.validation]`` or ``[image.inspection]`` table: a threshold or a switch.
ThresholdValue: TypeAlias = bool | int | float


@dataclass(frozen=True)
class MeshRecipe(JsonResult):
    """Meshes: validate, then (when valid, or always with ``lods_for_invalid``) build levels of detail."""

    lods: str | None = "voyager"  # a preset name, a LOD recipe file (absolute), or None for no LODs
    lods_for_invalid: bool = False
    max_faces: int = DEFAULT_MAX_FACES
    validation: dict[str, ThresholdValue] = field(default_factory=dict)  # ValidationThresholds fields that differ
    units: str | None = None  # for files that declare none; None: guessed from the size, with a warning
    up_axis: str = "y"  # the sources' up axis ("z" for most scanners); GLB levels are Y-up

    def __post_init__(self) -> None:
        if not isinstance(self.max_faces, int) or self.max_faces < 1:
            raise InvalidParameterError(f"mesh max_faces must be a positive whole number, not {self.max_faces!r}")
        if self.units is not None and self.units not in UNITS:
            raise InvalidParameterError(f"mesh units must be one of {', '.join(UNITS)}, not {self.units!r}")
        if self.up_axis not in UP_AXES:
            raise InvalidParameterError(f"mesh up_axis must be 'y' or 'z', not {self.up_axis!r}")

    def thresholds(self) -> ValidationThresholds:
        from llvscan.mesh import ValidationThresholds

        overrides: dict[str, Any] = dict(self.validation)  # as TOML gave them: the constructor checks each
        return ValidationThresholds(**overrides)

    def lod_recipe(self) -> LodRecipe | None:
        from llvscan.mesh import load_recipe

        return None if self.lods is None else load_recipe(self.lods)


@dataclass(frozen=True)
class ImageRecipe(JsonResult):
    """Images: inspect the master, then tile it in every layout listed."""

    layouts: tuple[str, ...] = ("iiif3",)
    inspect: bool = True
    base_url: str = DEFAULT_IIIF_BASE_URL
    tile_size: int = DEFAULT_TILE_SIZE
    quality: int = DEFAULT_QUALITY
    max_size: int = DEFAULT_MAX_SIZE
    pixel_limit: int = DEFAULT_PIXEL_LIMIT
    inspection: dict[str, ThresholdValue] = field(default_factory=dict)  # InspectionThresholds fields that differ
    jp2_master: bool = False  # a lossless JPEG 2000 preservation master of each image (llvscan.preservation.jp2)

    def __post_init__(self) -> None:
        layouts = tuple(self.layouts)
        object.__setattr__(self, "layouts", layouts)
        unknown = [name for name in layouts if name not in LAYOUTS]
        if unknown:
            raise InvalidParameterError(f"image layouts {unknown} unknown; choose from {', '.join(LAYOUTS)}")
        if len(set(layouts)) != len(layouts):
            raise InvalidParameterError(f"image layouts repeat: {list(layouts)}")
        if not 64 <= self.tile_size <= 4096:  # as tile_image checks it
            raise InvalidParameterError(f"tile_size {self.tile_size} is outside 64–4096")
        if not 1 <= self.quality <= 100:
            raise InvalidParameterError(f"quality {self.quality} is outside 1–100")
        if self.max_size < 1 or self.pixel_limit < 1:
            raise InvalidParameterError("max_size and pixel_limit must be positive")

    def thresholds(self) -> InspectionThresholds:
        from llvscan.imaging.inspect import InspectionThresholds

        overrides: dict[str, Any] = dict(self.inspection)  # as TOML gave them: the constructor checks each
        return InspectionThresholds(**overrides)


@dataclass(frozen=True)
class QaRecipe(JsonResult):
    """Capture targets: grade each to ``standard``; a session passes when its targets reach ``level``."""

    standard: str = "fadgi-2023"
    level: str | None = None
    overlay: bool = True

    def __post_init__(self) -> None:
        if self.standard not in QA_STANDARDS:
            raise InvalidParameterError(f"qa standard {self.standard!r} unknown; choose from {', '.join(QA_STANDARDS)}")

    def check(self) -> None:
        if self.level is None:
            return
        from llvscan.imaging.qa.standards import STANDARDS

        levels = STANDARDS[self.standard].levels
        if self.level not in levels:
            raise InvalidParameterError(f"qa level {self.level!r} is not a level of {self.standard}: "
                                        f"{', '.join(levels)}")


@dataclass(frozen=True)
class RunRecipe(JsonResult):
    """The whole recipe of a run; ``RunRecipe()`` is the default one.

    ``to_dict()`` is what the catalog records: each section as its hash covers it, a LOD recipe file
    replaced by its content (the file may change after the run; the record should not).
    """

    mesh: MeshRecipe = field(default_factory=MeshRecipe)
    image: ImageRecipe = field(default_factory=ImageRecipe)
    qa: QaRecipe = field(default_factory=QaRecipe)
    source: str | None = None  # the TOML file it came from
    # per-kind hashes, computed once per recipe object (a LOD recipe file is read once, not per asset)
    _hashes: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False,
                                    metadata=NOT_IN_JSON)

    def check(self) -> RunRecipe:
        """Build the thresholds and LOD recipe once, so a bad value fails before any asset is touched."""
        self.mesh.thresholds()
        self.mesh.lod_recipe()
        self.image.thresholds()
        self.qa.check()
        return self

    def section(self, kind: str) -> dict[str, Any]:
        """What the per-kind hash covers: the section, with a LOD recipe file replaced by its content.
        Plain ``asdict`` on purpose: a change in how results become JSON must not redo every asset."""
        if kind == "mesh":
            data = asdict(self.mesh)
            lods = self.mesh.lod_recipe()
            data["lods"] = None if lods is None else asdict(lods)
            return data
        if kind == "image":
            return asdict(self.image)
        if kind == "target":  # a target's grade depends on the standard and on what image it may open
            return {**asdict(self.qa), "pixel_limit": self.image.pixel_limit}
        return {}

    def sha256(self, kind: str) -> str:
        if kind not in self._hashes:
            payload = json.dumps({"processing": PROCESSING_VERSION, "kind": kind, **self.section(kind)},
                                 sort_keys=True, default=str)
            self._hashes[kind] = hashlib.sha256(payload.encode()).hexdigest()
        return self._hashes[kind]

    def to_dict(self) -> dict[str, Any]:
        """The JSON the catalog records: the sections the hashes cover, and the file they came from."""
        data: dict[str, Any] = to_jsonable({"source": self.source, "mesh": self.section("mesh"),
                                            "image": self.section("image"), "qa": asdict(self.qa)})
        return data

    def with_image(self, **changes: Any) -> RunRecipe:
        return replace(self, image=replace(self.image, **changes))

    def with_mesh(self, **changes: Any) -> RunRecipe:
        return replace(self, mesh=replace(self.mesh, **changes))

    def for_asset(self, kind: str, metadata: Mapping[str, str]) -> RunRecipe:
        """The recipe for one asset: a mesh's sidecar ``units`` and ``up_axis`` override the recipe's (and
        so enter its hash: changing them redoes that asset). Itself when nothing is overridden."""
        changes = {k: metadata[k] for k in SIDECAR_MESH_OPTIONS if k in metadata} if kind == "mesh" else {}
        if all(getattr(self.mesh, k) == v for k, v in changes.items()):
            return self
        return self.with_mesh(**changes)


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
    unknown = sorted(set(data) - {"mesh", "image", "qa"})
    if unknown:
        raise InvalidParameterError(f"unknown sections {unknown}; a run recipe has [mesh], [image] and [qa]",
                                    path=path)
    mesh = _section(data, "mesh", MeshRecipe, "validation", path)
    image = _section(data, "image", ImageRecipe, "inspection", path)
    qa = _section(data, "qa", QaRecipe, "", path)
    lods = mesh.get("lods", "voyager")
    if lods in ("none", "", False):
        mesh["lods"] = None
    elif isinstance(lods, str) and (lods.endswith(".toml") or "/" in lods):
        mesh["lods"] = str((path.parent / lods).resolve())
    try:
        return RunRecipe(MeshRecipe(**mesh), ImageRecipe(**image), QaRecipe(**qa), source=str(path)).check()
    except (TypeError, LlvscanError) as exc:
        message = str(exc).replace(f"{path}: ", "")
        raise InvalidParameterError(message, path=path) from exc
