"""Colour measured from a target: pixels to CIE L*a*b* (D50) through the image's ICC profile, the CIEDE2000
colour difference, and the colour metrics of a chart (accuracy, tone, white balance, noise, gain modulation,
illuminance non-uniformity).

Colour management
    ``to_lab`` hands the pixels to libvips' ``icc_import`` (Little CMS) with the image's embedded profile, the
    relative colorimetric intent and the Lab profile connection space: the result is CIE L*a*b* relative to
    the ICC PCS white, D50 — the illuminant the charts' reference values are given in. An image without a
    profile is converted all the same, with the assumption stated in ``ColourManagement.assumption``: RGB is
    taken as sRGB (IEC 61966-2-1), one band as grey on the sRGB tone curve (libvips' built-in profiles).
    CMYK needs its profile. 8- and 16-bit unsigned pixels are accepted; float, signed and 32-bit integer
    pixels are refused (they have no ICC encoding libvips can import). Alpha is dropped. Every function works
    on any libvips region (``image.crop(...)``) and only builds a lazy pipeline: pixels are computed when the
    caller reads them.

Metrics (the names are the contract with ``standards`` and ``grade``)
    Neutral patches are those whose reference chroma C*ab is below ``NEUTRAL_CHROMA_LIMIT`` (5.0: the Classic's
    white is 3.1, the SG's least chromatic colour patch 7.9). Neutral *levels* are neutral patches grouped by
    reference L*: sorted by L*, a patch within 1.0 L* of the previous one joins its level (the SG's fifteen
    whites, seventeen greys and fifteen blacks are three levels).

    - ``delta_e_mean`` / ``delta_e_max`` / ``delta_e_p90``: CIEDE2000 between each patch's mean L*a*b* and its
      reference, over every measured patch (p90: numpy's linear-interpolated 90th percentile).
    - ``tone_delta_l_max``: max |L*meas − L*ref| over the neutral patches.
    - ``white_balance_max``: max sqrt(Δa*² + Δb*²) over the neutral patches.
    - ``white_balance_de2000_max``: max over the neutral patches of CIEDE2000 with ΔL* set to 0 (the
      measured a*, b* at the reference L*): Metamorfoze's white balance, which weighs a* about 1.5× for
      neutrals.
    - ``noise_max``: max over the neutral patches of the standard deviation of L* over the sampled pixels.
    - ``gain_modulation_min`` / ``_max``: ISO 19264-1's gain modulation, the local slope of the tone
      reproduction curve against the reference: for each pair of adjacent neutral levels (sorted by reference
      L*), (L*meas,j+1 − L*meas,j) / (L*ref,j+1 − L*ref,j), each level's L* being the mean over its patches.
      1.0 is a perfect tone curve; a curve stretched by k about any point gives k for every step.
      This is the gain modulation of ISO/TS 19264-1:2017 and Metamorfoze 2.0 (FADGI does not use it) as
      described by I2S ("Le gain modulation", blog.i2s.fr/?p=553: the slope between two successive patches,
      measured ΔL* over reference ΔL*) and implemented in J. Pereira's ImageQA (oecf_class.getGain:
      diff(L*meas) / diff(L*ref) over the grey scale). I2S notes that a 0.2 L* error over a 5 L* step already
      moves it by 0.04; the SG's smallest step is 4.3 L*.
    - ``gain_modulation_highlight_min`` / ``_max``: the same over the highlight steps only, those whose darker
      level has reference L* ≥ ``HIGHLIGHT_L_MIN`` (75; the published boundary could not be read): on the
      Classic the white → neutral 8 step, on the SG the three steps from L* 75, 80 and 89.
    - ``nonuniformity``: illuminance non-uniformity in %, from the patches that share a reference: for every
      neutral level with three patches or more and reference L* ≥ 30 (black is dominated by flare and
      quantisation), each patch's mean luminance Y over its reference Y; (max − min) / mean × 100 of those
      ratios; the largest over such levels. None for a chart without repeated patches (the Classic).
    - ``nonuniformity_delta_l``: the same levels in L*: max − min of (L*meas − L*ref) over a level's patches,
      the largest over the levels (Metamorfoze's illumination limit).

    A metric that the data cannot give is None, and ``ColourMetrics.not_measured`` says why.
"""

from __future__ import annotations

import functools
import itertools
import logging
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from llvscan._json import JsonResult
from llvscan.errors import ImageReadError, InvalidParameterError, vips_error_text

if TYPE_CHECKING:
    import pyvips

    from llvscan.imaging.qa.charts import ChartSpec

__all__ = [
    "HIGHLIGHT_L_MIN",
    "INTENTS",
    "NEUTRAL_CHROMA_LIMIT",
    "ColourManagement",
    "ColourMetrics",
    "PatchMeasure",
    "colour_management",
    "delta_e_2000",
    "lightness_to_luminance",
    "measure_patches",
    "to_lab",
    "to_linear_rgb",
    "to_luminance",
]

log = logging.getLogger(__name__)

INTENTS = ("relative", "perceptual", "saturation", "absolute")
NEUTRAL_CHROMA_LIMIT = 5.0  # C*ab below which a reference patch counts as neutral
HIGHLIGHT_L_MIN = 75.0  # a gain step whose darker level has at least this reference L* is a highlight step
_LEVEL_GAP_L = 1.0  # neutral patches within this L* of each other share a level
_UNIFORMITY_MIN_PATCHES = 3
_UNIFORMITY_MIN_L = 30.0
# The ICC PCS white (D50, ICC.1:2010 §7.2.16) and the CIE constants of L* (CIE 15:2004).
_PCS_WHITE = (0.9642, 1.0, 0.8249)
_EPSILON_L = 8.0  # L* at the joint of the cube root and the linear segment: (6/29)³ · κ
_KAPPA = 24389.0 / 27.0
# sRGB's colorants adapted to D50 with Bradford, as in every sRGB ICC profile (columns: R, G, B).
_SRGB_D50 = ((0.4360747, 0.3850649, 0.1430804),
             (0.2225045, 0.7168786, 0.0606169),
             (0.0139322, 0.0971045, 0.7141733))


@dataclass(frozen=True)
class ColourManagement(JsonResult):
    """How pixels became L*a*b*: the profile used and, when the image has none, the assumption made."""

    profile_description: str | None  # the profile used ("sRGB IEC61966-2.1", "libvips built-in sRGB")
    embedded: bool  # the image carries an ICC profile and it was used
    assumption: str | None  # None when the embedded profile was used; otherwise what was assumed and why
    intent: str | None  # the rendering intent ("relative"); None when no profile transform ran
    colour_space: str  # "rgb", "grey", "cmyk" or "lab" (pixels already L*a*b*)
    bits: int  # 8 or 16 (32 for float L*a*b*)


@dataclass(frozen=True)
class PatchMeasure(JsonResult):
    """One patch: its mean L*a*b* (D50) over the sampled pixels against its reference."""

    id: str
    lab: tuple[float, float, float]
    reference: tuple[float, float, float]
    delta_e: float  # CIEDE2000
    delta_l: float  # L*meas − L*ref (signed)
    delta_ab: float  # sqrt(Δa*² + Δb*²)
    l_std: float  # standard deviation of L* over the sampled pixels (ddof=1; 0 for one pixel)
    luminance: float  # mean relative luminance Y (0..1, PCS) over the sampled pixels
    pixels: int  # pixels sampled (non-finite ones dropped)
    neutral: bool


@dataclass(frozen=True)
class ColourMetrics(JsonResult):
    """The colour metrics of one chart image; ``metrics()`` gives them keyed by the standards' names."""

    chart: str
    patches: tuple[PatchMeasure, ...]
    unmeasured_patches: tuple[str, ...]  # patches with no finite pixel (off the image, say)
    neutral_ids: tuple[str, ...]
    neutral_chroma_limit: float | None  # None when the caller named the neutral patches
    delta_e_mean: float | None
    delta_e_max: float | None
    delta_e_p90: float | None
    tone_delta_l_max: float | None
    white_balance_max: float | None
    white_balance_de2000_max: float | None
    noise_max: float | None
    gain_modulation_min: float | None
    gain_modulation_max: float | None
    gain_modulation_highlight_min: float | None
    gain_modulation_highlight_max: float | None
    nonuniformity: float | None
    nonuniformity_delta_l: float | None
    # (reference L* of the darker level, of the lighter level, gain) for every adjacent pair of neutral levels
    gain_steps: tuple[tuple[float, float, float], ...] = ()
    # (reference L*, patches, non-uniformity %, max − min ΔL*) for every level that qualifies
    nonuniformity_levels: tuple[tuple[float, int, float, float], ...] = ()
    not_measured: dict[str, str] = field(default_factory=dict)  # metric → why it is None

    _METRICS = ("delta_e_mean", "delta_e_max", "delta_e_p90", "tone_delta_l_max", "white_balance_max",
                "white_balance_de2000_max", "noise_max", "gain_modulation_min", "gain_modulation_max",
                "gain_modulation_highlight_min", "gain_modulation_highlight_max", "nonuniformity",
                "nonuniformity_delta_l")

    def metrics(self) -> dict[str, float | None]:
        """The metrics keyed by their names in the standards' table."""
        return {name: getattr(self, name) for name in self._METRICS}


# --------------------------------------------------------------------------------------------------------
# Colour management


def _profile_bytes(image: pyvips.Image) -> bytes | None:
    if not image.get_typeof("icc-profile-data"):
        return None
    data = image.get("icc-profile-data")
    return bytes(data) if data else None


@functools.lru_cache(maxsize=16)
def _unreadable(profile: bytes) -> str | None:
    """Why Little CMS cannot open the profile, or None. libvips would fall back to sRGB with only a warning;
    llvscan refuses instead of measuring under a silent assumption. Cached: ``to_lab`` runs once per crop."""
    import io

    from PIL import ImageCms

    try:
        ImageCms.ImageCmsProfile(io.BytesIO(profile))
    except (OSError, ImageCms.PyCMSError) as exc:
        return str(exc) or type(exc).__name__
    return None


def _profile_header(profile: bytes, path: str | None) -> tuple[str, str]:
    """The profile's device class and data colour space signatures ("mntr", "RGB "), once it is known valid."""
    if len(profile) < 132 or profile[36:40] != b"acsp":
        raise ImageReadError("the embedded ICC profile is corrupt (no 'acsp' signature in its header); "
                             "re-export the image with a valid profile", path=path)
    problem = _unreadable(profile)
    if problem is not None:
        raise ImageReadError("the embedded ICC profile is corrupt: Little CMS cannot open it; re-export the "
                             "image with a valid profile", path=path, detail=problem)
    return profile[12:16].decode("latin-1"), profile[16:20].decode("latin-1")


_COLOUR_SPACES = {"RGB ": "rgb", "GRAY": "grey", "CMYK": "cmyk"}


def _prepare(image: pyvips.Image, path: str | None, intent: str) -> tuple[pyvips.Image, ColourManagement]:
    """The image cut to its colour bands and labelled for ``icc_import``, and how it will be managed."""
    from llvscan.imaging._icc import icc_description

    if intent not in INTENTS:
        raise InvalidParameterError(f"unknown rendering intent {intent!r}: use one of {', '.join(INTENTS)}")
    interpretation = str(image.interpretation)
    fmt = str(image.format)
    if interpretation in ("lab", "labq", "labs"):
        return image, ColourManagement(
            profile_description=None, embedded=False, intent=None, colour_space="lab", bits=32,
            assumption="the pixels are CIE L*a*b* already; taken as relative to D50 (the ICC PCS)")
    if fmt not in ("uchar", "ushort"):
        raise ImageReadError(f"{fmt} pixels cannot be colour-managed: llvscan measures 8- and 16-bit unsigned "
                             f"images (convert this one to 16-bit with its ICC profile)", path=path)
    bits = 8 if fmt == "uchar" else 16
    profile = _profile_bytes(image)
    profile_space = None
    if profile is not None:
        device_class, signature = _profile_header(profile, path)
        if device_class in ("link", "abst", "nmcl"):
            raise ImageReadError(f"the embedded ICC profile is a {device_class!r} profile, which cannot convert "
                                 f"pixels to L*a*b*", path=path)
        profile_space = _COLOUR_SPACES.get(signature)
        if profile_space is None:
            raise ImageReadError(f"the embedded ICC profile is for {signature.strip()!r} data; llvscan measures "
                                 f"RGB, grey and CMYK images", path=path)
    if interpretation == "cmyk" or profile_space == "cmyk":
        space, colour_bands = "cmyk", 4
    elif image.bands in (1, 2):
        space, colour_bands = "grey", 1
    elif image.bands in (3, 4):
        space, colour_bands = "rgb", 3
    else:
        raise ImageReadError(f"{image.bands} bands cannot be read as RGB, grey or CMYK", path=path)
    if image.bands < colour_bands:
        raise ImageReadError(f"a CMYK image needs 4 bands, this one has {image.bands}", path=path)
    if profile_space is not None and profile_space != space:
        raise ImageReadError(f"the embedded ICC profile is for {profile_space} data but the image is {space} "
                             f"({image.bands} band{'s' if image.bands > 1 else ''})", path=path)
    if space == "cmyk" and profile is None:
        raise ImageReadError("a CMYK image without an embedded ICC profile cannot be measured: CMYK has no "
                             "default meaning (embed the profile the separation was made with)", path=path)
    if image.bands > colour_bands:
        image = image.extract_band(0, n=colour_bands)
    label = {"grey": "b-w" if bits == 8 else "grey16", "rgb": "srgb" if bits == 8 else "rgb16", "cmyk": "cmyk"}
    image = image.copy(interpretation=label[space])
    if profile is not None:
        management = ColourManagement(
            profile_description=icc_description(profile) or "(unnamed profile)", embedded=True, assumption=None,
            intent=intent, colour_space=space, bits=bits)
    elif space == "rgb":
        management = ColourManagement(
            profile_description="libvips built-in sRGB", embedded=False, intent=intent, colour_space=space,
            bits=bits, assumption="no embedded ICC profile: the RGB values are assumed to be sRGB (IEC 61966-2-1)")
    else:
        management = ColourManagement(
            profile_description="libvips built-in sRGB grey", embedded=False, intent=intent, colour_space=space,
            bits=bits, assumption="no embedded ICC profile: the grey values are assumed to follow the sRGB tone "
                                  "curve (close to gamma 2.2) with a D50 white")
    return image, management


def colour_management(image: pyvips.Image, *, path: str | None = None,
                      intent: str = "relative") -> ColourManagement:
    """How ``to_lab`` would convert ``image`` (its profile, or the assumption made), without converting."""
    return _prepare(image, path, intent)[1]


def to_lab(image: pyvips.Image, *, path: str | None = None,
           intent: str = "relative") -> tuple[pyvips.Image, ColourManagement]:
    """``image`` as CIE L*a*b* float (3 bands, D50 PCS) through its embedded ICC profile, and how.

    ``path`` only names the file in error messages. ``intent``: one of ``INTENTS``; relative colorimetric
    (the default) maps the medium white to the PCS white, as a chart's reference values assume.
    """
    import pyvips

    prepared, management = _prepare(image, path, intent)
    if management.colour_space == "lab":
        lab = prepared
        if prepared.interpretation == "labq":
            lab = prepared.LabQ2Lab()
        elif prepared.interpretation == "labs":
            lab = prepared.LabS2Lab()
        return lab.extract_band(0, n=3).cast("float").copy(interpretation="lab"), management
    options: dict[str, Any] = {"pcs": "lab", "intent": intent, "embedded": management.embedded}
    if not management.embedded:
        options["input_profile"] = "srgb"  # libvips picks its grey profile for one band
    try:
        lab = prepared.icc_import(**options)
    except pyvips.Error as exc:
        raise ImageReadError("the ICC profile cannot convert the pixels to L*a*b*", path=path,
                             detail=vips_error_text(exc)) from None
    return lab, management


def _luminance_from_l(lightness: pyvips.Image) -> pyvips.Image:
    cube = ((lightness + 16.0) / 116.0) ** 3
    return (lightness > _EPSILON_L).ifthenelse(cube, lightness / _KAPPA)


def to_luminance(image: pyvips.Image, *, path: str | None = None) -> pyvips.Image:
    """Relative luminance Y (one float band, 0..1 for white, D50 PCS) through the image's profile — linear
    light for the slanted-edge SFR. Same profile rules and assumptions as ``to_lab``."""
    lab, _ = to_lab(image, path=path)
    return _luminance_from_l(lab.extract_band(0))


def _colorants(profile: bytes | None) -> np.ndarray | None:
    """The D50 colorant matrix (columns rXYZ, gXYZ, bXYZ) of a matrix/shaper RGB profile, else None."""
    if profile is None:
        return np.array(_SRGB_D50)
    try:
        (count,) = struct.unpack_from(">I", profile, 128)
        tags = {}
        for i in range(min(count, 256)):
            signature, offset, size = struct.unpack_from(">4sII", profile, 132 + 12 * i)
            tags[signature] = (offset, size)
        columns = []
        for name in (b"rXYZ", b"gXYZ", b"bXYZ"):
            if name not in tags:
                return None
            offset, _ = tags[name]
            if profile[offset:offset + 4] != b"XYZ ":
                return None
            columns.append([v / 65536.0 for v in struct.unpack_from(">iii", profile, offset + 8)])
    except struct.error:
        return None
    matrix = np.array(columns).T
    return matrix if abs(np.linalg.det(matrix)) > 1e-6 else None


def to_linear_rgb(image: pyvips.Image, *, path: str | None = None) -> pyvips.Image:
    """The image's RGB channels in linear light (3 float bands, 0..1), through its profile — for the colour
    channel misregistration.

    For a matrix/shaper RGB profile (sRGB, Adobe RGB, eciRGB, ProPhoto…) and for an image without a profile
    (sRGB assumed) the channels are exactly the image's own, linearised: PCS XYZ times the inverse of the
    profile's colorant matrix. For a LUT-based profile they are linear sRGB primaries, a linear mix of the
    image's channels. A grey image gives its one luminance band.
    """
    lab, management = to_lab(image, path=path)
    if management.colour_space == "grey":
        return _luminance_from_l(lab.extract_band(0))
    matrix = _colorants(_profile_bytes(image)) if management.colour_space == "rgb" else None
    if matrix is None:
        matrix = np.array(_SRGB_D50)
    fy = (lab.extract_band(0) + 16.0) / 116.0
    fx = fy + lab.extract_band(1) / 500.0
    fz = fy - lab.extract_band(2) / 200.0

    def finv(f: pyvips.Image) -> pyvips.Image:
        return (f > 6.0 / 29.0).ifthenelse(f ** 3, (f - 4.0 / 29.0) * (3.0 * (6.0 / 29.0) ** 2))

    xyz = finv(fx).multiply(_PCS_WHITE[0]).bandjoin([_luminance_from_l(lab.extract_band(0)),
                                                     finv(fz).multiply(_PCS_WHITE[2])])
    return xyz.recomb(np.linalg.inv(matrix).tolist()).copy(interpretation="scrgb")


# --------------------------------------------------------------------------------------------------------
# CIEDE2000


def delta_e_2000(lab1: Any, lab2: Any, *, k_l: float = 1.0, k_c: float = 1.0, k_h: float = 1.0) -> np.ndarray:
    """CIEDE2000 colour difference between L*a*b* arrays of shape (..., 3) (broadcast), as float64.

    Sharma, Wu & Dalal, "The CIEDE2000 color-difference formula: implementation notes, supplementary test
    data, and mathematical observations", Color Res. Appl. 30 (2005) 21–30, equations (1)–(22), including
    their conventions for a zero chroma (hue 0, Δh' 0, mean hue the sum).
    """
    lab1 = np.asarray(lab1, dtype=np.float64)
    lab2 = np.asarray(lab2, dtype=np.float64)
    if lab1.shape[-1:] != (3,) or lab2.shape[-1:] != (3,):
        raise InvalidParameterError(f"L*a*b* arrays need 3 values in their last axis, not shapes "
                                    f"{lab1.shape} and {lab2.shape}")
    l1, a1, b1 = np.moveaxis(lab1, -1, 0)
    l2, a2, b2 = np.moveaxis(lab2, -1, 0)
    c_bar7 = ((np.hypot(a1, b1) + np.hypot(a2, b2)) / 2.0) ** 7
    g = 0.5 * (1.0 - np.sqrt(c_bar7 / (c_bar7 + 25.0 ** 7)))
    a1p, a2p = (1.0 + g) * a1, (1.0 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.where(c1p == 0, 0.0, np.degrees(np.arctan2(b1, a1p)) % 360.0)
    h2p = np.where(c2p == 0, 0.0, np.degrees(np.arctan2(b2, a2p)) % 360.0)
    chroma_zero = (c1p * c2p) == 0

    dlp = l2 - l1
    dcp = c2p - c1p
    dh = h2p - h1p
    dhp = np.where(chroma_zero, 0.0, np.where(dh > 180.0, dh - 360.0, np.where(dh < -180.0, dh + 360.0, dh)))
    d_hp = 2.0 * np.sqrt(c1p * c2p) * np.sin(np.radians(dhp) / 2.0)

    lp_bar = (l1 + l2) / 2.0
    cp_bar = (c1p + c2p) / 2.0
    h_sum = h1p + h2p
    hp_bar = np.where(chroma_zero, h_sum,
                      np.where(np.abs(h1p - h2p) <= 180.0, h_sum / 2.0,
                               np.where(h_sum < 360.0, (h_sum + 360.0) / 2.0, (h_sum - 360.0) / 2.0)))
    t = (1.0 - 0.17 * np.cos(np.radians(hp_bar - 30.0)) + 0.24 * np.cos(np.radians(2.0 * hp_bar))
         + 0.32 * np.cos(np.radians(3.0 * hp_bar + 6.0)) - 0.20 * np.cos(np.radians(4.0 * hp_bar - 63.0)))
    d_theta = 30.0 * np.exp(-(((hp_bar - 275.0) / 25.0) ** 2))
    cp_bar7 = cp_bar ** 7
    r_c = 2.0 * np.sqrt(cp_bar7 / (cp_bar7 + 25.0 ** 7))
    s_l = 1.0 + 0.015 * (lp_bar - 50.0) ** 2 / np.sqrt(20.0 + (lp_bar - 50.0) ** 2)
    s_c = 1.0 + 0.045 * cp_bar
    s_h = 1.0 + 0.015 * cp_bar * t
    r_t = -np.sin(np.radians(2.0 * d_theta)) * r_c
    tl, tc, th = dlp / (k_l * s_l), dcp / (k_c * s_c), d_hp / (k_h * s_h)
    result: np.ndarray = np.sqrt(np.maximum(tl ** 2 + tc ** 2 + th ** 2 + r_t * tc * th, 0.0))
    return result


def lightness_to_luminance(lightness: Any) -> np.ndarray:
    """Relative luminance Y (white 1) of CIE L* values (CIE 15:2004), elementwise, as float64."""
    lightness = np.asarray(lightness, dtype=np.float64)
    result: np.ndarray = np.where(lightness > _EPSILON_L, ((lightness + 16.0) / 116.0) ** 3, lightness / _KAPPA)
    return result


# --------------------------------------------------------------------------------------------------------
# Chart metrics


def _neutral_levels(reference_l: np.ndarray, neutral: list[int]) -> list[list[int]]:
    """Neutral patch indices grouped into levels of (nearly) the same reference L*, darkest first."""
    levels: list[list[int]] = []
    last = -math.inf
    for index in sorted(neutral, key=lambda i: reference_l[i]):
        if levels and reference_l[index] - last <= _LEVEL_GAP_L:
            levels[-1].append(index)
        else:
            levels.append([index])
        last = reference_l[index]
    return levels


def _check_inputs(patch_lab: Sequence[Any], reference: Any, chart: ChartSpec,
                  neutral: Sequence[int] | None) -> tuple[list[np.ndarray], np.ndarray, list[int] | None]:
    count = len(chart.patch_ids)
    reference = np.asarray(reference, dtype=np.float64)
    if reference.shape != (count, 3):
        raise InvalidParameterError(f"the reference of {chart.name} needs shape ({count}, 3), not "
                                    f"{reference.shape}")
    if not np.isfinite(reference).all():
        raise InvalidParameterError("the reference L*a*b* values contain NaN or infinity")
    if len(patch_lab) != count:
        raise InvalidParameterError(f"{chart.name} has {count} patches; {len(patch_lab)} were sampled")
    samples = []
    for index, pixels in enumerate(patch_lab):
        array = np.asarray(pixels, dtype=np.float64)
        if array.size == 0:
            array = array.reshape(0, 3)
        if array.ndim != 2 or array.shape[1] != 3:
            raise InvalidParameterError(f"patch {chart.patch_ids[index]!r}: samples need shape (n, 3), not "
                                        f"{array.shape}")
        samples.append(array[np.isfinite(array).all(axis=1)])
    chosen = None
    if neutral is not None:
        chosen = [int(i) for i in neutral]
        if len(set(chosen)) != len(chosen) or any(not 0 <= i < count for i in chosen):
            raise InvalidParameterError(f"neutral patch indices must be distinct and within 0..{count - 1}, "
                                        f"not {list(neutral)}")
    return samples, reference, chosen


def measure_patches(patch_lab: Sequence[Any], reference: Any, *, chart: ChartSpec,
                    neutral: Sequence[int] | None = None) -> ColourMetrics:
    """The colour metrics of a chart from each patch's sampled L*a*b* (D50) pixels.

    ``patch_lab``: one (n, 3) array per patch, in ``chart.patch_ids`` order (an empty array for a patch that
    could not be sampled; non-finite pixels are dropped). ``reference``: (N, 3) L*a*b* (D50), same order.
    ``neutral``: indices of the neutral patches; by default those whose reference C*ab is below
    ``NEUTRAL_CHROMA_LIMIT``. The metrics are defined in this module's docstring.
    """
    samples, reference, chosen = _check_inputs(patch_lab, reference, chart, neutral)
    ref_chroma = np.hypot(reference[:, 1], reference[:, 2])
    neutral_set = set(chosen) if chosen is not None else {
        i for i in range(len(samples)) if ref_chroma[i] < NEUTRAL_CHROMA_LIMIT}
    not_measured: dict[str, str] = {}

    patches: list[PatchMeasure] = []
    by_index: dict[int, PatchMeasure] = {}
    unmeasured = []
    for index, pixels in enumerate(samples):
        pid = chart.patch_ids[index]
        if len(pixels) == 0:
            unmeasured.append(pid)
            continue
        mean = pixels.mean(axis=0)
        ref = reference[index]
        measure = PatchMeasure(
            id=pid, lab=(float(mean[0]), float(mean[1]), float(mean[2])),
            reference=(float(ref[0]), float(ref[1]), float(ref[2])),
            delta_e=float(delta_e_2000(mean, ref)), delta_l=float(mean[0] - ref[0]),
            delta_ab=float(math.hypot(mean[1] - ref[1], mean[2] - ref[2])),
            l_std=float(pixels[:, 0].std(ddof=1)) if len(pixels) > 1 else 0.0,
            luminance=float(lightness_to_luminance(pixels[:, 0]).mean()),
            pixels=len(pixels), neutral=index in neutral_set)
        patches.append(measure)
        by_index[index] = measure
    if unmeasured:
        log.warning("%s: %d patches could not be sampled: %s", chart.name, len(unmeasured), ", ".join(unmeasured))

    delta_e = np.array([p.delta_e for p in patches])
    de_mean = de_max = de_p90 = None
    if len(delta_e):
        de_mean, de_max, de_p90 = float(delta_e.mean()), float(delta_e.max()), float(np.percentile(delta_e, 90))
    else:
        for name in ("delta_e_mean", "delta_e_max", "delta_e_p90"):
            not_measured[name] = "no patch could be sampled"

    neutral_measured = [by_index[i] for i in sorted(neutral_set) if i in by_index]
    tone = white = white_de = noise = None
    if neutral_measured:
        tone = max(abs(p.delta_l) for p in neutral_measured)
        white = max(p.delta_ab for p in neutral_measured)
        at_reference_l = np.array([(p.reference[0], p.lab[1], p.lab[2]) for p in neutral_measured])
        white_de = float(delta_e_2000(at_reference_l, np.array([p.reference for p in neutral_measured])).max())
        noise = max(p.l_std for p in neutral_measured)
    else:
        reason = "no neutral patch was sampled" if neutral_set else "the chart's reference has no neutral patch"
        for name in ("tone_delta_l_max", "white_balance_max", "white_balance_de2000_max", "noise_max"):
            not_measured[name] = reason

    levels = _neutral_levels(reference[:, 0], [i for i in neutral_set if i in by_index])
    gain_steps = _gain_steps(levels, reference, by_index)
    gain_min = gain_max = None
    if gain_steps:
        gain_min, gain_max = min(s[2] for s in gain_steps), max(s[2] for s in gain_steps)
    else:
        not_measured["gain_modulation_min"] = not_measured["gain_modulation_max"] = (
            f"gain modulation needs two neutral levels; {len(levels)} were sampled")
    highlight = [s[2] for s in gain_steps if s[0] >= HIGHLIGHT_L_MIN]
    high_min, high_max = (min(highlight), max(highlight)) if highlight else (None, None)
    if not highlight:
        not_measured["gain_modulation_highlight_min"] = not_measured["gain_modulation_highlight_max"] = (
            f"no step between two sampled neutral levels of reference L* ≥ {HIGHLIGHT_L_MIN:g}")

    uniformity = _nonuniformity(levels, reference, by_index)
    nonuniformity = max((u[2] for u in uniformity), default=None)
    nonuniformity_l = max((u[3] for u in uniformity), default=None)
    if nonuniformity is None:
        not_measured["nonuniformity"] = not_measured["nonuniformity_delta_l"] = (
            f"{chart.name} has no neutral level with {_UNIFORMITY_MIN_PATCHES} or more sampled patches of "
            f"reference L* ≥ {_UNIFORMITY_MIN_L:g} spread over the field")

    return ColourMetrics(
        chart=chart.name, patches=tuple(patches), unmeasured_patches=tuple(unmeasured),
        neutral_ids=tuple(chart.patch_ids[i] for i in sorted(neutral_set)),
        neutral_chroma_limit=NEUTRAL_CHROMA_LIMIT if chosen is None else None,
        delta_e_mean=de_mean, delta_e_max=de_max, delta_e_p90=de_p90, tone_delta_l_max=tone,
        white_balance_max=white, white_balance_de2000_max=white_de, noise_max=noise, gain_modulation_min=gain_min,
        gain_modulation_max=gain_max, gain_modulation_highlight_min=high_min, gain_modulation_highlight_max=high_max,
        nonuniformity=nonuniformity, nonuniformity_delta_l=nonuniformity_l, gain_steps=tuple(gain_steps),
        nonuniformity_levels=tuple(uniformity),
        not_measured=not_measured)


def _gain_steps(levels: list[list[int]], reference: np.ndarray,
                by_index: dict[int, PatchMeasure]) -> list[tuple[float, float, float]]:
    means = [(float(np.mean([reference[i, 0] for i in level])), float(np.mean([by_index[i].lab[0] for i in level])))
             for level in levels]
    steps = []
    for (ref0, meas0), (ref1, meas1) in itertools.pairwise(means):
        steps.append((ref0, ref1, (meas1 - meas0) / (ref1 - ref0)))
    return steps


def _nonuniformity(levels: list[list[int]], reference: np.ndarray,
                   by_index: dict[int, PatchMeasure]) -> list[tuple[float, int, float, float]]:
    out = []
    for level in levels:
        ref_l = float(np.mean([reference[i, 0] for i in level]))
        if len(level) < _UNIFORMITY_MIN_PATCHES or ref_l < _UNIFORMITY_MIN_L:
            continue
        ratios = np.array([by_index[i].luminance for i in level]) / lightness_to_luminance(reference[level, 0])
        delta_l = np.array([by_index[i].delta_l for i in level])
        out.append((ref_l, len(level), float((ratios.max() - ratios.min()) / ratios.mean() * 100.0),
                    float(delta_l.max() - delta_l.min())))
    return out
