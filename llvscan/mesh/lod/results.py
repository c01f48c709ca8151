"""What building levels of detail gives: one ``LodResult`` per written level, in a ``LodSet``."""

from __future__ import annotations

from dataclasses import dataclass, field

from llvscan._json import JsonResult
from llvscan._report import Finding

__all__ = ["LodResult", "LodSet"]


@dataclass(frozen=True)
class LodResult(JsonResult):
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
    compression: str = "none"  # none | draco
    compression_error_pct: float = 0.0  # largest position change the compression made, % of the diagonal
    compression_uv_texels: float = 0.0  # largest UV change the compression made, texels of the level's texture
    ssim: float | None = None  # of the level's renders against the original's (1: identical); None: not measured
    psnr: float | None = None  # dB, same renders; None when identical or not measured
    min_ssim: float | None = None  # the fidelity the recipe asked for instead of a face count
    baked: tuple[str, ...] = ()  # maps baked from the full-resolution mesh: normal, occlusion, base_colour
    unwrapped: bool = False  # a fresh atlas (xatlas), the base colour re-baked onto it
    bake_seconds: float = 0.0  # unwrapping and baking this level's maps (0 when it shares another level's)


@dataclass(frozen=True)
class LodSet(JsonResult):
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
    findings: list[Finding] = field(default_factory=list)  # a texture not carried (error), units guessed (warning)
    up_axis: str = "y"  # the source's up axis; the GLB levels are Y-up
    metadata: dict[str, str] = field(default_factory=dict)  # title, object_number, creator, date, rights
    thumbnail_seconds: float = 0.0
    seconds: float = 0.0
