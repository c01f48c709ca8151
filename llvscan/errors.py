"""The one error tree of llvscan.

Every error names the file it is about (``.path``) and keeps the upstream diagnostic (``.detail``).
Each class also inherits the built-in exception it resembles, so ``except OSError`` keeps working.

    LlvscanError
    ├── InvalidParameterError (ValueError)      a caller passed an impossible option (exit 2: usage)
    ├── InvalidMeshError (ValueError)           mesh data that cannot be processed: NaN vertices,
    │                                           face indices out of range, an empty mesh (exit 1: data)
    ├── UnsafePathError (PermissionError)       a path resolves outside the collection root
    ├── ResourceLimitError (ValueError)         an input exceeds a configured guard (pixels, faces)
    ├── MissingDependencyError (ImportError)    an optional library is not installed
    ├── AssetReadError (OSError)                an input cannot be read or parsed
    │   ├── MeshReadError
    │   ├── ImageReadError
    │   └── ChartNotFoundError                  no capture target (ColorChecker) in a target image
    ├── OutputError (OSError)                   an output cannot be written
    ├── CatalogError (RuntimeError)             the catalog database is unusable
    └── ClusterError (ConnectionError)          a Dask cluster cannot be reached or cannot see the storage

Bad *data* is never a usage error: only ``InvalidParameterError`` maps to exit code 2.
"""

from __future__ import annotations

import os

__all__ = [
    "AssetReadError",
    "CatalogError",
    "ChartNotFoundError",
    "ClusterError",
    "ImageReadError",
    "InvalidMeshError",
    "InvalidParameterError",
    "LlvscanError",
    "MeshReadError",
    "MissingDependencyError",
    "OutputError",
    "ResourceLimitError",
    "UnsafePathError",
    "vips_error_text",
]


class LlvscanError(Exception):
    """Root of llvscan's errors: ``str(err)`` reads "<path>: <message>"."""

    def __init__(self, message: str, *, path: str | os.PathLike[str] | None = None, detail: str | None = None):
        super().__init__(message)  # first: ImportError's own __init__ resets .path
        self.message = message
        self.path = os.fspath(path) if path is not None else None
        self.detail = detail

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}" if self.path else self.message
        if self.detail and self.detail not in text:
            text = f"{text} ({self.detail})"
        return text


class InvalidParameterError(LlvscanError, ValueError):
    """An option value that cannot work (ratio 0, tile size 3, unknown layout)."""


class InvalidMeshError(LlvscanError, ValueError):
    """Mesh data that cannot be processed (non-finite vertices, face indices out of range, no faces).

    A property of the input, not of the options: the CLI exits 1, as for any asset that fails.
    """


class UnsafePathError(LlvscanError, PermissionError):
    """A referenced path (mtllib, texture, symlink) resolves outside the collection root."""


class ResourceLimitError(LlvscanError, ValueError):
    """An input exceeds a guard (pixel limit, face limit); raised before decoding it."""


class MissingDependencyError(LlvscanError, ImportError):
    """An optional library is missing; the message names the pip command that installs it."""


class AssetReadError(LlvscanError, OSError):
    """An input file is unreadable: missing, empty, truncated, corrupt or of an unsupported format."""


class MeshReadError(AssetReadError):
    """A mesh file cannot be read as a triangle mesh."""


class ImageReadError(AssetReadError):
    """An image file cannot be read as an image."""


class ChartNotFoundError(AssetReadError):
    """A target image in which the chart looked for is not found (the message says what was seen)."""


class OutputError(LlvscanError, OSError):
    """An output file or folder cannot be written."""


class CatalogError(LlvscanError, RuntimeError):
    """The catalog database is unusable (newer schema, corrupt file)."""


class ClusterError(LlvscanError, ConnectionError):
    """A Dask scheduler does not answer, has no workers, or its workers cannot see the shared storage."""


def vips_error_text(exc: BaseException, *, limit: int = 300) -> str:
    """libvips' own diagnosis on one line: its last lines, without the "unable to load from file b'…'"
    preamble, at most ``limit`` characters. The one place libvips error text is cleaned for a message."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith("unable to ")] or lines
    text = " ".join(" ".join(useful).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
