"""Texture helpers every layer shares: image sizes from headers, reading under the pixel limit, resampling.

Textures referenced by meshes are opened under the same pixel limit as image masters
(``DEFAULT_PIXEL_LIMIT``, from ``llvscan._constants``): a header that claims more pixels is refused before anything
is decoded. Resampling goes through libvips' ``thumbnail`` (shrink-on-load), so a 16k texture is never
held whole in memory.
"""

from __future__ import annotations

import contextlib
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llvscan._constants import DEFAULT_PIXEL_LIMIT
from llvscan.errors import ImageReadError, ResourceLimitError, vips_error_text
from llvscan.mesh.core.types import Material, Mesh

if TYPE_CHECKING:
    import pyvips

__all__ = ["DEFAULT_PIXEL_LIMIT", "TextureSource", "has_icc_profile", "image_size", "resample_texture",
           "texture_header", "texture_sizes", "texture_source"]

# JPEG start-of-frame markers (baseline, progressive, lossless, arithmetic); C4/C8/CC are not frames
_JPEG_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def _mime_type(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image or start of scan before any frame header
            return None
        (length,) = struct.unpack_from(">H", data, pos + 2)
        if marker in _JPEG_SOF:
            if pos + 9 > len(data):
                return None
            height, width = struct.unpack_from(">HH", data, pos + 5)
            return width, height
        pos += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack_from("<HH", data, 26)
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        (bits,) = struct.unpack_from("<I", data, 21)
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    return None


def image_size(data: bytes) -> tuple[int, int, str] | None:
    """(width, height, mime type) of a JPEG, PNG or WebP from its header, or None if it is none of them
    or the header is truncated. Reads a few bytes only: nothing is decoded."""
    mime = _mime_type(data)
    size: tuple[int, int] | None = None
    if mime == "image/png":
        if len(data) >= 24 and data[12:16] == b"IHDR":
            size = struct.unpack_from(">II", data, 16)
    elif mime == "image/jpeg":
        size = _jpeg_size(data)
    elif mime == "image/webp":
        size = _webp_size(data)
    if mime is None or size is None or min(size) <= 0:
        return None
    return int(size[0]), int(size[1]), mime


#: A texture as the layers pass it on: a file path, or the encoded bytes of an image stored in a mesh file.
TextureSource = str | Path | bytes


def texture_source(material: Material) -> TextureSource | None:
    """Where ``material``'s base-colour image is read from: its encoded bytes when the mesh file holds
    them (glTF), else its file path; None without a texture."""
    if material.texture_data is not None:
        return material.texture_data
    return material.texture


def _label(source: TextureSource, name: str | None) -> str:
    return name or ("<image bytes>" if isinstance(source, bytes) else str(source))


def texture_header(source: TextureSource, *, pixel_limit: int = DEFAULT_PIXEL_LIMIT,
                   owner: str | None = None, name: str | None = None) -> tuple[int, int]:
    """(width, height) of a texture (a file, or encoded bytes) from its header, refused above
    ``pixel_limit`` pixels.

    Raises ``ImageReadError`` when the file is missing or not an image libvips reads, and
    ``ResourceLimitError`` when its header claims more than ``pixel_limit`` pixels; the messages name
    the texture (``.path``: the file, or ``name`` for bytes) and the mesh that uses it (``owner``).
    """
    import pyvips

    where = _label(source, name)
    what = f"texture of {owner}" if owner else "texture"
    try:
        if isinstance(source, bytes):
            image = pyvips.Image.new_from_buffer(source, "")  # header only: pixels are decoded on demand
        else:
            if not Path(source).is_file():
                raise ImageReadError(f"the {what} is not found", path=where)
            image = pyvips.Image.new_from_file(str(source))
    except pyvips.Error as exc:
        raise ImageReadError(f"the {what} is not a readable image", path=where, detail=vips_error_text(exc)) from exc
    if image.width * image.height > pixel_limit:
        raise ResourceLimitError(f"the {what} has {image.width}×{image.height} pixels, above the pixel limit "
                                 f"{pixel_limit:,}", path=where)
    return int(image.width), int(image.height)


def texture_sizes(mesh: Mesh, *, pixel_limit: int = DEFAULT_PIXEL_LIMIT) -> list[tuple[int, int] | None]:
    """(width, height) of each material's base-colour texture: from its header, else the size the reader
    recorded (``Material.texture_size``), else None."""
    sizes: list[tuple[int, int] | None] = []
    for material in mesh.materials:
        source = texture_source(material)
        size = material.texture_size
        if source is not None:
            with contextlib.suppress(ImageReadError, ResourceLimitError):
                size = texture_header(source, pixel_limit=pixel_limit)
        sizes.append(size)
    return sizes


def has_icc_profile(source: TextureSource) -> bool:
    """Whether the image (a file, or encoded bytes) embeds an ICC profile (read from its header)."""
    import pyvips

    try:
        image = (pyvips.Image.new_from_buffer(source, "") if isinstance(source, bytes)
                 else pyvips.Image.new_from_file(str(source)))
    except pyvips.Error:
        return False
    return bool(image.get_typeof("icc-profile-data"))


def resample_texture(source: TextureSource, size: int, *, pixel_limit: int = DEFAULT_PIXEL_LIMIT,
                     owner: str | None = None, name: str | None = None, to_srgb: bool = False,
                     **options: Any) -> pyvips.Image:
    """The texture (a file, or encoded bytes) shrunk (never enlarged) so that its longer side is at most
    ``size``.

    ``to_srgb`` (colour maps): an image that embeds an ICC profile (Adobe RGB, eciRGB, ProPhoto…) is
    converted through it to sRGB, as a viewer shows glTF textures as sRGB; one without a profile is taken
    as sRGB already. Data maps (normals, occlusion) are never converted. Checked against ``pixel_limit``
    first; ``options`` go to ``pyvips.Image.thumbnail``. The image is lazy: errors while decoding its
    pixels surface when the caller reads them (``pyvips.Error``).
    """
    import pyvips

    texture_header(source, pixel_limit=pixel_limit, owner=owner, name=name)
    if to_srgb and has_icc_profile(source):
        options = {"export_profile": "srgb", "intent": "relative", **options}
    try:  # thumbnail shrinks on load (JPEG, WebP, pyramids): a 16k texture is never decoded at full size
        if isinstance(source, bytes):
            return pyvips.Image.thumbnail_buffer(source, size, height=size, size="down", **options)
        return pyvips.Image.thumbnail(str(source), size, height=size, size="down", **options)
    except pyvips.Error as exc:
        what = f"texture of {owner}" if owner else "texture"
        raise ImageReadError(f"cannot read the {what}", path=_label(source, name),
                             detail=vips_error_text(exc)) from exc
