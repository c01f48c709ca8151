"""Reading the few ICC profile fields llvscan needs, without a colour management library."""

from __future__ import annotations

import struct

__all__ = ["icc_description", "is_srgb"]


def icc_description(profile: bytes) -> str | None:
    """The profile's ``desc`` text (ICC v2 ``desc`` or v4 ``mluc``), or None when absent or malformed."""
    try:
        (count,) = struct.unpack_from(">I", profile, 128)
        for i in range(min(count, 256)):
            signature, offset, size = struct.unpack_from(">4sII", profile, 132 + 12 * i)
            if signature != b"desc":
                continue
            data = profile[offset:offset + size]
            if data[:4] == b"desc":
                (length,) = struct.unpack_from(">I", data, 8)
                return data[12:12 + length].split(b"\0", 1)[0].decode("latin-1").strip() or None
            if data[:4] == b"mluc":
                (n_records,) = struct.unpack_from(">I", data, 8)
                if n_records == 0:
                    return None
                length, start = struct.unpack_from(">II", data, 16 + 4)
                return data[start:start + length].decode("utf-16-be").strip("\0 ") or None
    except (struct.error, UnicodeDecodeError):
        return None
    return None


def is_srgb(profile: bytes) -> bool:
    """Whether a profile describes itself as sRGB (then pixels need no conversion for the web)."""
    description = icc_description(profile) or ""
    return "srgb" in description.lower().replace(" ", "")
