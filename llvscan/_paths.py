"""Paths kept inside a root: every reference an input makes is resolved and checked."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from llvscan.errors import UnsafePathError

__all__ = ["inside", "resolve_inside", "sha256_file", "slug", "tree_digest"]

_SLUG_RE = re.compile(r"[^A-Za-z0-9._-]+")


def inside(path: Path, root: Path) -> bool:
    """Whether ``path`` (already resolved) lies within ``root`` (already resolved)."""
    return path == root or root in path.parents


def resolve_inside(root: Path, base: Path, reference: str, *, referrer: Path) -> Path:
    """Resolve ``reference`` (relative to folder ``base``) and refuse it when it leaves ``root``."""
    candidate = Path(reference.replace("\\", "/"))
    resolved = (candidate if candidate.is_absolute() else base / candidate).resolve()
    if not inside(resolved, root):
        raise UnsafePathError(f"refers to {reference!r}, which resolves outside the collection root",
                              path=referrer)
    return resolved


def sha256_file(path: Path, *, chunk: int = 4 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def slug(text: str) -> str:
    """A file-system and URL safe name: letters, digits, dot, dash, underscore."""
    return _SLUG_RE.sub("-", text).strip("-.") or "asset"


def tree_digest(folder: Path) -> tuple[str, int, int]:
    """(sha256 of the sorted "relpath sha256" manifest, total bytes, file count) of a folder."""
    lines, total, count = [], 0, 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        lines.append(f"{path.relative_to(folder).as_posix()} {sha256_file(path)}\n")
        total += path.stat().st_size
        count += 1
    return hashlib.sha256("".join(lines).encode()).hexdigest(), total, count
