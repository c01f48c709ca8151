"""Length units: the one table of the units a mesh may declare, and how a file declares them."""

from __future__ import annotations

import re
from pathlib import Path

from llvscan._constants import UNITS

__all__ = ["METRES_PER_UNIT", "UNITS", "declared_units", "guess_units", "millimetres_per_unit"]

METRES_PER_UNIT = dict(zip(UNITS, (0.001, 0.01, 1.0, 0.0254), strict=True))
_UNIT_WORDS = {"mm": "mm", "millimeter": "mm", "millimetre": "mm", "millimeters": "mm", "millimetres": "mm",
               "cm": "cm", "centimeter": "cm", "centimetre": "cm", "m": "m", "meter": "m", "metre": "m",
               "meters": "m", "metres": "m", "in": "in", "inch": "in", "inches": "in"}
_UNITS_RE = re.compile(rb"^\s*(?:#|comment)\s*units?\s*[:=]?\s*([A-Za-z]+)\s*$", re.IGNORECASE)


def millimetres_per_unit(units: str) -> float:
    """How many millimetres one ``units`` is (``"in"`` → 25.4)."""
    return METRES_PER_UNIT[units] * 1000.0


def guess_units(extent: float) -> str:
    """A guess for undeclared units from the largest bounding-box side (scans export in mm or m)."""
    return "m" if extent < 10 else "mm"


def declared_units(path: Path, *, head_bytes: int = 4096) -> str | None:
    """Units a file declares: glTF is metres by specification; OBJ/PLY may say ``# units: mm``."""
    suffix = path.suffix.lower()
    if suffix in {".glb", ".gltf"}:
        return "m"
    if suffix not in {".obj", ".ply"}:
        return None
    with path.open("rb") as fh:
        head = fh.read(head_bytes)
    for line in head.splitlines():
        match = _UNITS_RE.match(line)
        if match:
            return _UNIT_WORDS.get(match.group(1).decode("ascii").lower())
    return None
