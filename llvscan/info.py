"""What this llvscan installation runs on: library versions and libvips' formats."""

from __future__ import annotations

import importlib.metadata
import platform
import sys
from dataclasses import dataclass, field

from llvscan import __version__

__all__ = ["EnvironmentInfo", "environment_info"]

# Formats worth knowing about in heritage work; libvips is asked which of them it was built with.
_VIPS_FORMATS = (
    "jpeg", "png", "tiff", "webp", "heif", "jp2k", "jxl", "openslide", "pdf", "svg", "magick", "gif",
    "raw", "dcraw", "fits", "vips", "ppm", "dz", "uhdr",
)


@dataclass(frozen=True)
class EnvironmentInfo:
    llvscan: str
    python: str
    platform: str
    libraries: dict[str, str]
    libvips: str
    vips_loaders: list[str] = field(default_factory=list)
    vips_savers: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _distribution_version(*names: str) -> str | None:
    for name in names:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def environment_info(*, import_libraries: bool = True) -> EnvironmentInfo:
    """Collect versions; with ``import_libraries`` also import open3d and libvips to prove they load."""
    libraries: dict[str, str] = {}
    problems: list[str] = []
    for label, dists in {
        "numpy": ("numpy",),
        "numba": ("numba",),
        "trimesh": ("trimesh",),
        "open3d": ("open3d-cpu", "open3d"),
        "pyvips": ("pyvips",),
        "pillow": ("pillow",),
        "click": ("click",),
        "rich": ("rich",),
    }.items():
        version = _distribution_version(*dists)
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
