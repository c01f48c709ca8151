"""What this llvscan installation runs on: library versions and libvips' formats.

``library_versions`` is the one place that knows which distribution provides which library; ``llvscan
info`` shows the versions and a run records them in its catalog.
"""

from __future__ import annotations

import importlib.metadata
import platform
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field

from llvscan import __version__
from llvscan._json import JsonResult

__all__ = ["LIBRARIES", "EnvironmentInfo", "environment_info", "library_versions"]

#: The libraries llvscan runs on, by the name shown and recorded, each with the distributions that may
#: provide it, the first installed one counting (libvips is the pyvips-binary wheel, when installed).
LIBRARIES: dict[str, tuple[str, ...]] = {
    "numpy": ("numpy",),
    "numba": ("numba",),
    "trimesh": ("trimesh",),
    "open3d": ("open3d", "open3d-cpu"),
    "pyvips": ("pyvips",),
    "libvips": ("pyvips-binary",),
    "pillow": ("pillow",),
    "click": ("click",),
    "rich": ("rich",),
    "bagit": ("bagit",),
    "iiif-prezi3": ("iiif-prezi3",),
    "DracoPy": ("DracoPy",),
    "xatlas": ("xatlas",),
    "jinja2": ("jinja2",),
    "usd-core": ("usd-core",),
}
# what llvscan cannot run without: `llvscan info` names any that is missing as a problem
_REQUIRED = ("numpy", "numba", "trimesh", "open3d", "pyvips", "pillow", "click", "rich")

# Formats worth knowing about in heritage work; libvips is asked which of them it was built with.
_VIPS_FORMATS = (
    "jpeg", "png", "tiff", "webp", "heif", "jp2k", "jxl", "openslide", "pdf", "svg", "magick", "gif",
    "raw", "dcraw", "fits", "vips", "ppm", "dz", "uhdr",
)


@dataclass(frozen=True)
class EnvironmentInfo(JsonResult):
    llvscan: str
    python: str
    platform: str
    libraries: dict[str, str]
    libvips: str
    vips_loaders: list[str] = field(default_factory=list)
    vips_savers: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def library_versions(names: Iterable[str] = LIBRARIES) -> dict[str, str | None]:
    """The installed version of each of these ``LIBRARIES`` (all by default); None when not installed."""
    found: dict[str, str | None] = {}
    for name in names:
        found[name] = None
        for distribution in LIBRARIES[name]:
            try:
                found[name] = importlib.metadata.version(distribution)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
    return found


def environment_info(*, import_libraries: bool = True) -> EnvironmentInfo:
    """Collect versions; with ``import_libraries`` also import open3d and libvips to prove they load."""
    libraries: dict[str, str] = {}
    problems: list[str] = []
    for label, version in library_versions(_REQUIRED).items():
        libraries[label] = version or "not installed"
        if version is None:
            problems.append(f"{label} is not installed")

    libvips = "not loaded"
    loaders: list[str] = []
    savers: list[str] = []
    if import_libraries:
        try:
            from llvscan._open3d import import_open3d

            import_open3d()
        except ImportError as exc:  # the classic trap: libusb-1.0.so.0 missing
            problems.append(f"open3d does not import: {exc}")
        try:
            import pyvips

            libvips = ".".join(str(pyvips.version(i)) for i in range(3))
            loaders = [f for f in _VIPS_FORMATS if pyvips.type_find("VipsOperation", f + "load") != 0]
            savers = [f for f in _VIPS_FORMATS if pyvips.type_find("VipsOperation", f + "save") != 0]
        except Exception as exc:  # pyvips raises plain Exception subclasses when libvips is absent
            problems.append(f"libvips does not load: {exc}")

    return EnvironmentInfo(
        llvscan=__version__,
        python=sys.version.split()[0],
        platform=f"{platform.system()} {platform.machine()}",
        libraries=libraries,
        libvips=libvips,
        vips_loaders=loaders,
        vips_savers=savers,
        problems=problems,
    )
