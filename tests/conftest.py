"""Shared fixtures: generated inputs with known answers."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from browser import chromium  # noqa: F401  (the session's headless Chromium, for the browser tests)

ROOT = Path(__file__).resolve().parents[1]


def load_generator():
    spec = importlib.util.spec_from_file_location("make_sample_data", ROOT / "sample_data" / "make_sample_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def sample_collection(tmp_path_factory) -> Path:
    """The demo's sample collection, generated once per test session."""
    out = tmp_path_factory.mktemp("sample") / "collection"
    load_generator().generate(out)
    return out


def unit_cube() -> tuple[np.ndarray, np.ndarray]:
    """Unit cube [0,1]³: 8 vertices, 12 outward-wound triangles, area 6, volume 1, Euler 2."""
    v = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0],
                  [0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]], dtype=np.float64)
    f = np.array([[0, 2, 1], [0, 3, 2], [4, 5, 6], [4, 6, 7], [0, 1, 5], [0, 5, 4],
                  [2, 3, 7], [2, 7, 6], [1, 2, 6], [1, 6, 5], [0, 4, 7], [0, 7, 3]], dtype=np.int64)
    return v, f


def write_obj(path: Path, vertices: np.ndarray, faces: np.ndarray, header: str = "") -> Path:
    lines = [header] if header else []
    lines += [f"v {x!r} {y!r} {z!r}" for x, y, z in vertices.tolist()]
    lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in faces.tolist()]
    path.write_text("\n".join(lines) + "\n")
    return path


def gradient_image(path: Path, width: int = 1237, height: int = 811) -> Path:
    """An sRGB image whose red channel is x mod 256 and green channel y mod 256 (blue 128)."""
    import pyvips

    xy = pyvips.Image.xyz(width, height)
    image = (xy[0] % 256).bandjoin([xy[1] % 256, xy[0] * 0 + 128]).cast("uchar").copy(interpretation="srgb")
    image.write_to_file(str(path), **({"Q": 95} if path.suffix == ".jpg" else {}))
    return path
