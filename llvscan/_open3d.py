"""Import open3d on machines without a system libusb.

open3d's Linux wheels link ``libusb-1.0.so.0`` (for RealSense cameras we never use); a bare
Linux box has no such library and ``import open3d`` fails. The ``libusb-package`` wheel ships the
library; loading it globally first satisfies the dynamic linker.
"""

from __future__ import annotations

import ctypes
import sys
from types import ModuleType

__all__ = ["import_open3d"]


def _preload_libusb() -> None:
    try:
        import libusb_package
    except ImportError:  # not Linux, or installed without it: let open3d report for itself
        return
    path = libusb_package.get_library_path()
    if path is not None:
        ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)


def import_open3d() -> ModuleType:
    """Return the ``open3d`` module, preloading the packaged libusb on Linux."""
    if "open3d" in sys.modules:
        return sys.modules["open3d"]
    if sys.platform.startswith("linux"):
        _preload_libusb()
    import open3d

    return open3d
