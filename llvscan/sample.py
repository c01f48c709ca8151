"""The llvscan sample collection: a small, deterministic museum digitisation project.

``generate(DIR)`` writes it; ``llvscan bench`` with no collection benchmarks it (generated once per
version of this module into the user's cache), and ``sample_data/make_sample_data.py`` (the demo's and
the tests' generator) calls it. It lives in the package so an installed llvscan can make it anywhere.

Every file is built from fixed seeds, so two runs with the same library versions give byte-identical
files. The collection is written into a temporary sibling folder and renamed into place at the end, so
an interrupted run never leaves a half collection behind.

Files and their ground truth (all meshes in millimetres):

``collection.csv``
    Sidecar metadata (not an asset): ``file,object_number,title,creator,date,rights,up_axis,units``,
    one row per readable asset, UTF-8, rights given as URIs.
``sculpture/bust.obj`` (+ ``bust.mtl``, ``bust_albedo.jpg``)
    Photogrammetry-like textured scan: a cube-sphere with n = 112 (12·n² = 150,528
    triangles), deformed into a head-like blob about 300 mm tall with seeded scan noise.
    Positions are welded (6·n² + 2 = 75,266 ``v`` lines); each of the 6 cube faces is its
    own UV chart in a 3x2 atlas with a gutter, so there are 6·(n+1)² = 76,614 ``vt`` lines
    and real UV seams. CCW winding, outward normals (positive signed volume). The texture is
    a 2048x2048 sRGB JPEG: a marble-like pattern in a different hue per chart plus a thin
    grid; the gutter is neutral grey.
``ceramics/vase.ply``
    Binary little-endian PLY: a thin-walled vase revolved from a closed profile (foot,
    outer wall, rounded lip, inner wall, inner floor): 30,720 triangles, welded,
    watertight, genus 0, outward winding, per-vertex RGB glaze colours.
``ceramics/figurine.glb``
    Small textured figurine: cube-sphere n = 32 (12,288 triangles) with per-chart UVs
    (vertices split along the 6 chart seams, closed once positions are welded) and an
    embedded 512x512 PNG base-colour texture.
``tools/bracket.stl``
    Binary STL torus (100x50 sections, 10,000 triangles): watertight, genus 1,
    Euler characteristic 0.
``damaged/fragment.obj``
    Defective mesh (``v``/``f`` only) built from a closed cube-sphere (n = 16, radius
    50 mm) with known injected defects: two holes (perimeters 4 and 8 edges), one
    non-manifold edge (a tetrahedron glued on it), 5 duplicate vertices, 3 zero-area faces
    and a flipped fan of 6 faces. Exact counts and indices: ``defective_truth.json``.
``paintings/landscape.tif``
    12288x9216 RGB 8-bit "painting", built lazily with libvips (gradients, Perlin and
    Worley noise, hills, a sun): tiled 256x256 JPEG-compressed TIFF (Q 85), 300 dpi,
    embedded sRGB ICC profile.
``paintings/targets/colorchecker-sg.tif``, ``paintings/targets/slanted-edge.tif``
    The capture session's targets (``paintings/`` is the session): a ColorChecker Digital SG rendered from
    its published L*a*b* values (2400x1600, the chart turned by 2°, 153 ppi declared and true) and a
    dark square tilted by 5° whose edges are a Gaussian blur of σ = 0.6 px in linear light (1200x900), both
    8-bit sRGB TIFFs with an sRGB profile and a little noise. They grade at FADGI's top levels.
``photos/condition_photo.jpg``
    1237x811 photo-like JPEG (studio sweep, object, colour chart, sensor noise) with EXIF
    (Hasselblad X2D 100C, 2026:03:14 10:22:05, 1/125 s, f/8, ISO 100) and an sRGB ICC
    profile (LittleCMS stamps the creation time into the profile header; it is fixed here).
``broken/truncated.obj``
    The first 40 % of a small textured OBJ, cut mid-line, before any ``f`` line: no faces.
``broken/empty.ply``
    Zero bytes.
``broken/garbage.tif``
    4096 seeded random bytes with a ``.tif`` name.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import pathlib
import shutil
import struct
import tempfile
import time
from collections.abc import Sequence

import numpy as np
import pyvips
import trimesh
from PIL import Image, ImageCms, TiffImagePlugin

__all__ = [
    "BUST_N",
    "CATALOG",
    "DEFAULT_OUT",
    "FIGURINE_N",
    "FRAGMENT_N",
    "MESH_OPTIONS",
    "RIGHTS_BY",
    "RIGHTS_CC0",
    "RIGHTS_INC",
    "TRUNCATED_N",
    "atlas_rects",
    "build_fragment",
    "bust_positions",
    "chart_uv_faces",
    "chart_uvs",
    "colorchecker_target",
    "condition_photo",
    "cube_sphere",
    "figurine_positions",
    "generate",
    "landscape_image",
    "main",
    "make_bracket",
    "make_broken",
    "make_bust",
    "make_figurine",
    "make_fragment",
    "make_landscape",
    "make_photo",
    "make_targets",
    "make_vase",
    "paint_atlas",
    "photo_exif",
    "signed_volume",
    "slanted_edge_target",
    "srgb_icc_profile",
    "textured_obj_text",
    "torus",
    "vase_colors",
    "vase_profile",
    "write_binary_ply",
    "write_binary_stl",
    "write_catalog",
    "write_plain_obj",
]

DEFAULT_OUT = pathlib.Path("sample_data") / "collection"

BUST_N = 112
FIGURINE_N = 32
FRAGMENT_N = 16
TRUNCATED_N = 8

RIGHTS_CC0 = "http://creativecommons.org/publicdomain/zero/1.0/"
RIGHTS_INC = "http://rightsstatements.org/vocab/InC/1.0/"
RIGHTS_BY = "http://creativecommons.org/licenses/by/4.0/"

#: (file, object_number, title, creator, date, rights) for each readable asset.
CATALOG: tuple[tuple[str, str, str, str, str, str], ...] = (
    (
        "sculpture/bust.obj",
        "1921.4.17",
        "Bust of a Young Woman",
        "Anaïs Lefèvre",
        "1898",
        RIGHTS_CC0,
    ),
    (
        "ceramics/vase.ply",
        "1956.112.3",
        "Celadon Baluster Vase",
        "Unknown (Longquan kilns)",
        "c. 1300-1350",
        RIGHTS_CC0,
    ),
    ("ceramics/figurine.glb", "1987.22.5", "Seated Figure", "Unknown", "19th century", RIGHTS_BY),
    (
        "tools/bracket.stl",
        "2003.9.41",
        "Ring Bracket from a Mill Gear",
        "Gebrüder Sölter",
        "c. 1880",
        RIGHTS_CC0,
    ),
    (
        "damaged/fragment.obj",
        "1934.7.2",
        "Fragment of a Marble Sphere",
        "Unknown",
        "2nd century CE",
        RIGHTS_BY,
    ),
    (
        "paintings/landscape.tif",
        "1968.3.8",
        "River Landscape at Dusk",
        "Ilse Brandtner",
        "1962",
        RIGHTS_INC,
    ),
    (
        "photos/condition_photo.jpg",
        "2026.0.14",
        "Condition photograph of 1921.4.17",
        "Museum photography studio",
        "2026-03-14",
        RIGHTS_BY,
    ),
)

# --------------------------------------------------------------------------------------
# Cube-sphere geometry
# --------------------------------------------------------------------------------------

#: Each cube face: lattice origin, U and V directions with U x V = outward normal.
_CUBE_CHARTS: tuple[tuple[tuple[int, int, int], tuple[int, int, int], tuple[int, int, int]], ...] = (
    ((1, 0, 0), (0, 1, 0), (0, 0, 1)),  # +X
    ((0, 0, 0), (0, 0, 1), (0, 1, 0)),  # -X
    ((0, 1, 0), (0, 0, 1), (1, 0, 0)),  # +Y
    ((0, 0, 0), (1, 0, 0), (0, 0, 1)),  # -Y
    ((0, 0, 1), (1, 0, 0), (0, 1, 0)),  # +Z
    ((0, 0, 0), (0, 1, 0), (1, 0, 0)),  # -Z
)


def cube_sphere(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return a welded unit cube-sphere.

    Returns ``(positions, faces, grid)``: ``positions`` (6n²+2, 3) float64 on the unit
    sphere, ``faces`` (12n², 3) int64 CCW seen from outside, ordered chart, i, j,
    triangle; ``grid`` (6, n+1, n+1) maps chart lattice points to position indices.
    """
    i, j = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    lattice = []
    for origin, u, v in _CUBE_CHARTS:
        pts = (np.asarray(origin) * n)[None, None] + i[..., None] * u + j[..., None] * v
        lattice.append(pts)
    lattice_arr = np.stack(lattice)  # (6, n+1, n+1, 3) ints in [0, n]
    keys = (lattice_arr[..., 0] * (n + 1) + lattice_arr[..., 1]) * (n + 1) + lattice_arr[..., 2]
    unique_keys, inverse = np.unique(keys.ravel(), return_inverse=True)
    grid = inverse.reshape(keys.shape)
    coords = np.stack(
        [unique_keys // (n + 1) ** 2, (unique_keys // (n + 1)) % (n + 1), unique_keys % (n + 1)],
        axis=1,
    )
    cube = np.tan((2.0 * coords / n - 1.0) * (math.pi / 4))  # equal-angle warp
    positions = cube / np.linalg.norm(cube, axis=1, keepdims=True)
    faces = _grid_faces(grid)
    assert len(positions) == 6 * n * n + 2
    return positions, faces, grid


def _grid_faces(grid: np.ndarray) -> np.ndarray:
    """Two CCW triangles per lattice quad of each chart of ``grid`` (charts, n+1, n+1)."""
    p00 = grid[:, :-1, :-1]
    p10 = grid[:, 1:, :-1]
    p11 = grid[:, 1:, 1:]
    p01 = grid[:, :-1, 1:]
    tri_a = np.stack([p00, p10, p11], axis=-1)
    tri_b = np.stack([p00, p11, p01], axis=-1)
    return np.stack([tri_a, tri_b], axis=-2).reshape(-1, 3).astype(np.int64)


def atlas_rects(size: int, gutter: int) -> np.ndarray:
    """Pixel rectangles ``(x0, y0, x1, y1)`` of the 6 charts in a 3x2 atlas."""
    cols = np.round(np.linspace(0, size, 4)).astype(int)
    rows = np.round(np.linspace(0, size, 3)).astype(int)
    rects = [
        (
            cols[k % 3] + gutter,
            rows[k // 3] + gutter,
            cols[k % 3 + 1] - gutter,
            rows[k // 3 + 1] - gutter,
        )
        for k in range(6)
    ]
    return np.asarray(rects, dtype=np.float64)


def chart_uvs(n: int, rects: np.ndarray, size: int) -> np.ndarray:
    """UVs (6, n+1, n+1, 2) of every chart lattice point; v points up, charts not mirrored."""
    s = np.arange(n + 1) / n
    x = rects[:, None, None, 0] + (rects[:, None, None, 2] - rects[:, None, None, 0]) * s[None, :, None]
    y = rects[:, None, None, 1] + (rects[:, None, None, 3] - rects[:, None, None, 1]) * (1 - s)[None, None, :]
    x, y = np.broadcast_arrays(x, y)
    return np.stack([x / size, 1.0 - y / size], axis=-1)


def chart_uv_faces(n: int) -> np.ndarray:
    """``vt`` index triples matching ``cube_sphere(n)`` faces: one UV per chart lattice point."""
    return _grid_faces(np.arange(6 * (n + 1) ** 2).reshape(6, n + 1, n + 1))


def signed_volume(positions: np.ndarray, faces: np.ndarray) -> float:
    """Signed volume enclosed by triangles (positive for outward CCW winding)."""
    a, b, c = (positions[faces[:, k]] for k in range(3))
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def _harmonics(directions: np.ndarray, rng: np.random.Generator, count: int, amplitude: float) -> np.ndarray:
    """Smooth low-frequency field on the sphere: a sum of seeded plane sinusoids."""
    field = np.zeros(len(directions))
    for _ in range(count):
        axis = rng.normal(size=3)
        axis /= np.linalg.norm(axis)
        freq = rng.uniform(1.0, 3.0)
        phase = rng.uniform(0, 2 * math.pi)
        field += rng.uniform(0.3, 1.0) * amplitude * np.sin(freq * directions @ axis + phase)
    return field


def _bump(directions: np.ndarray, centre: Sequence[float], width: float) -> np.ndarray:
    """Gaussian bump on the sphere around ``centre``."""
    c = np.asarray(centre, dtype=np.float64)
    c /= np.linalg.norm(c)
    return np.exp(-np.sum((directions - c) ** 2, axis=1) / (2 * width**2))


def bust_positions(unit: np.ndarray, seed: int) -> np.ndarray:
    """Deform unit-sphere positions into a head-and-shoulders blob about 300 mm tall."""
    rng = np.random.default_rng(seed)
    radial = 1.0 + _harmonics(unit, rng, 6, 0.035)
    radial += 0.10 * _bump(unit, (0.0, -1.0, 0.1), 0.12)  # nose
    radial += 0.05 * _bump(unit, (0.0, -1.0, -0.25), 0.18)  # chin
    radial -= 0.04 * _bump(unit, (0.35, -0.9, 0.3), 0.10) + 0.04 * _bump(unit, (-0.35, -0.9, 0.3), 0.10)
    radial += rng.normal(scale=0.002, size=len(unit))  # scan noise, per welded position
    p = unit * radial[:, None]
    z = p[:, 2]
    shoulders = 1.0 + 0.7 * np.clip((-0.45 - z) / 0.55, 0.0, 1.0) ** 2
    neck = 1.0 - 0.18 * np.exp(-(((z + 0.45) / 0.12) ** 2))
    p[:, 0] *= 0.72 * shoulders * neck
    p[:, 1] *= 0.85 * neck
    return p * 150.0  # mm: z spans about -150 .. 150


def figurine_positions(unit: np.ndarray, seed: int) -> np.ndarray:
    """Deform unit-sphere positions into a small squat figure (about 120 mm tall)."""
    rng = np.random.default_rng(seed)
    radial = 1.0 + _harmonics(unit, rng, 5, 0.06) + 0.25 * _bump(unit, (0, 0, 1), 0.35)
    p = unit * radial[:, None]
    return p * np.array([38.0, 30.0, 50.0])


# --------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------


def _rows(fmt: str, values: np.ndarray) -> str:
    """Format a 2-D array row by row with one ``%`` operation (fast, no per-line loop)."""
    values = np.asarray(values)
    return (fmt * len(values)) % tuple(values.ravel().tolist())


def textured_obj_text(
    header: Sequence[str],
    positions: np.ndarray,
    uvs: np.ndarray,
    faces: np.ndarray,
    face_uvs: np.ndarray,
) -> str:
    """``v``/``vt``/``f v/vt`` OBJ text (0-based indices in, 1-based out)."""
    corners = np.stack([faces + 1, face_uvs + 1], axis=-1).reshape(len(faces), 6)
    return "".join(
        [
            "".join(line + "\n" for line in header),
            _rows("v %.4f %.4f %.4f\n", positions),
            _rows("vt %.6f %.6f\n", uvs),
            _rows("f %d/%d %d/%d %d/%d\n", corners),
        ]
    )


def write_plain_obj(
    path: pathlib.Path, header: Sequence[str], positions: np.ndarray, faces: np.ndarray
) -> None:
    """Write ``v``/``f a b c`` OBJ text; positions with 5 decimals so midpoints stay exact."""
    text = "".join(line + "\n" for line in header)
    text += _rows("v %.5f %.5f %.5f\n", positions) + _rows("f %d %d %d\n", faces + 1)
    path.write_text(text, encoding="utf-8", newline="\n")


def write_binary_ply(
    path: pathlib.Path,
    positions: np.ndarray,
    faces: np.ndarray,
    colors: np.ndarray,
    comments: Sequence[str],
) -> None:
    """Write a binary little-endian PLY with float xyz, uchar RGB and int face lists."""
    vertex = np.empty(len(positions), dtype=[("xyz", "<f4", 3), ("rgb", "u1", 3)])
    vertex["xyz"] = positions
    vertex["rgb"] = colors
    face = np.empty(len(faces), dtype=[("n", "u1"), ("idx", "<i4", 3)])
    face["n"] = 3
    face["idx"] = faces
    header = ["ply", "format binary_little_endian 1.0"]
    header += [f"comment {c}" for c in comments]
    header += [
        f"element vertex {len(positions)}",
        "property float x",
        "property float y",
        "property float z",
        "property uchar red",
        "property uchar green",
        "property uchar blue",
        f"element face {len(faces)}",
        "property list uchar int vertex_indices",
        "end_header",
    ]
    path.write_bytes(("\n".join(header) + "\n").encode("ascii") + vertex.tobytes() + face.tobytes())


def write_binary_stl(path: pathlib.Path, positions: np.ndarray, faces: np.ndarray, title: str) -> None:
    """Write a binary STL with a fixed 80-byte header and per-face unit normals."""
    tris = positions[faces].astype(np.float32)
    normals = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    record = np.zeros(len(faces), dtype=[("n", "<f4", 3), ("v", "<f4", (3, 3)), ("attr", "<u2")])
    record["n"] = normals
    record["v"] = tris
    header = title.encode("ascii").ljust(80, b" ")[:80]
    path.write_bytes(header + struct.pack("<I", len(faces)) + record.tobytes())


def srgb_icc_profile() -> bytes:
    """Pillow/LittleCMS sRGB profile with its creation date fixed (LittleCMS stamps 'now')."""
    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    profile[24:36] = struct.pack(">6H", 2026, 3, 14, 10, 22, 5)
    assert profile[84:100] == bytes(16), "profile ID would need recomputing"
    return bytes(profile)


# --------------------------------------------------------------------------------------
# Textures and images
# --------------------------------------------------------------------------------------

_CHART_HUES = np.array(
    [
        [222, 214, 196],
        [196, 210, 222],
        [214, 200, 222],
        [204, 222, 200],
        [230, 206, 190],
        [222, 222, 186],
    ],
    dtype=np.float32,
)


def paint_atlas(size: int, rects: np.ndarray, seed: int, grid_cells: int = 16) -> np.ndarray:
    """Marble-like atlas (size, size, 3) uint8: one hue per chart, a thin grid, grey gutter."""
    rng = np.random.default_rng(seed)
    image = np.full((size, size, 3), 128, dtype=np.uint8)
    line_px = max(1.0, size / 1400)
    for k, (x0, y0, x1, y1) in enumerate(rects):
        xs, ys = int(x0), int(y0)
        w, h = int(x1) - xs, int(y1) - ys
        t, s = np.mgrid[0:h, 0:w].astype(np.float32)
        s = (s + 0.5) / w
        t = (t + 0.5) / h
        turb = np.zeros_like(s)
        for octave in range(4):
            fx, fy = rng.uniform(0.5, 1.5, size=2) * 2**octave
            turb += np.sin(2 * np.pi * (fx * s + fy * t) + rng.uniform(0, 2 * np.pi)) / 2**octave
        vein = np.sin(2 * np.pi * (rng.uniform(1, 2) * s + rng.uniform(0.5, 1.5) * t) + 2.5 * turb)
        marble = 0.88 + 0.06 * turb - 0.3 * np.exp(-10.0 * vein**2)
        colour = _CHART_HUES[k][None, None, :] * marble[..., None]
        gx = np.abs((s * grid_cells + 0.5) % 1.0 - 0.5) * w / grid_cells
        gy = np.abs((t * grid_cells + 0.5) % 1.0 - 0.5) * h / grid_cells
        colour[(gx < line_px) | (gy < line_px)] *= 0.45
        image[ys : ys + h, xs : xs + w] = np.clip(colour, 0, 255).astype(np.uint8)
    return image


def _smoothstep(x: pyvips.Image, lo: float, hi: float) -> pyvips.Image:
    t = ((x - lo) / (hi - lo)).clamp(min=0, max=1)
    return t * t * (3 - 2 * t)


def _ridge(width: int, height: int, base: float, waves: Sequence[tuple[float, float, float]]) -> pyvips.Image:
    """A float image whose every row holds the same hill silhouette (y as a function of x)."""
    x = np.arange(width, dtype=np.float64) / width
    y = base + sum((a * np.sin(2 * np.pi * f * x + p) for a, f, p in waves), np.zeros(width))
    row = np.ascontiguousarray((y * height).astype(np.float32))
    return pyvips.Image.new_from_memory(row.tobytes(), width, 1, 1, "float").replicate(1, height)


def _blend(bottom: pyvips.Image, top: pyvips.Image, alpha: pyvips.Image) -> pyvips.Image:
    return bottom + (top - bottom) * alpha


def landscape_image(width: int, height: int, seed: int) -> pyvips.Image:
    """Lazy libvips pipeline for a painterly landscape; nothing is held in memory whole."""
    scale = 4  # paint at 1/4 resolution, enlarge smoothly, then add full-resolution grain
    w, h = width // scale, height // scale
    x, y = pyvips.Image.xyz(w, h).bandsplit()
    clouds = pyvips.Image.perlin(w, h, cell_size=256, seed=seed)
    sky = _blend(
        pyvips.Image.black(w, h).new_from_image([38, 64, 128]),
        pyvips.Image.black(w, h).new_from_image([236, 178, 120]),
        (y / (0.55 * h)).clamp(min=0, max=1),
    )
    sky = _blend(sky, sky.new_from_image([246, 236, 222]), _smoothstep(clouds, 0.05, 0.45) * 0.6)
    sun = ((x - 0.68 * w) ** 2 + (y - 0.40 * h) ** 2) ** 0.5
    sky = _blend(sky, sky.new_from_image([255, 226, 160]), 1 - _smoothstep(sun, 0.04 * h, 0.06 * h))
    strokes = pyvips.Image.worley(w, h, cell_size=48, seed=seed + 1) / 48
    grass = pyvips.Image.perlin(w, h, cell_size=96, seed=seed + 2)
    far = _ridge(w, h, 0.50, [(0.03, 1.3, 0.4), (0.015, 4.1, 1.9), (0.006, 11.0, 0.3)])
    near = _ridge(w, h, 0.66, [(0.05, 0.8, 2.2), (0.02, 3.3, 0.7), (0.008, 9.0, 4.0)])
    far_hills = (strokes * [8, 8, 10] + [96, 108, 132]) + grass * [14, 14, 18] + y * [0.02, 0.02, 0]
    near_hills = (strokes * [30, 26, 10] + [70, 96, 44]) + grass * [30, 36, 16]
    river_centre = _ridge(w, h, 0.84, [(0.03, 0.7, 1.0), (0.01, 2.3, 0.2)])
    river = 1 - _smoothstep((y - river_centre - (x - 0.5 * w) * 0.05).abs(), 0.02 * h, 0.03 * h)
    image = _blend(sky, far_hills, _smoothstep(y - far, 0, 3))
    image = _blend(image, near_hills, _smoothstep(y - near, 0, 3))
    image = _blend(image, grass * [20, 20, 20] + [88, 118, 150], river * _smoothstep(y - near, 0, 3))
    image = image.resize(scale, kernel="linear")
    grain = pyvips.Image.perlin(width, height, cell_size=24, seed=seed + 3)
    image = image + grain * [9, 9, 9]
    return image.cast("uchar").copy(interpretation="srgb", xres=300 / 25.4, yres=300 / 25.4)


def condition_photo(width: int, height: int, seed: int) -> Image.Image:
    """A studio condition photo: grey sweep, a lit marble object, a colour chart, noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    u, v = xx / width, yy / height
    vignette = 1.0 - 0.35 * ((u - 0.5) ** 2 + (v - 0.45) ** 2)
    img = (np.float32(150) + 60 * (1 - v))[..., None] * vignette[..., None] * [1.0, 1.0, 1.02]
    ex, ey, rx, ry = 0.47 * width, 0.50 * height, 0.20 * width, 0.38 * height
    d = ((xx - ex) / rx) ** 2 + ((yy - ey) / ry) ** 2
    inside = d < 1.0
    shade = np.clip(1.05 - 0.55 * (xx - ex + 0.6 * (yy - ey)) / rx, 0.35, 1.2)
    veins = 0.93 + 0.07 * np.sin(0.05 * xx + 0.03 * yy + 3 * np.sin(0.011 * yy))
    img[inside] = np.array([232, 226, 214]) * (shade * veins)[inside, None]
    shadow = np.exp(-(((xx - ex - 40) / (1.4 * rx)) ** 2 + ((yy - ey - ry) / 25) ** 2))
    img *= (1 - 0.4 * shadow * ~inside)[..., None]
    patches = rng.integers(20, 240, size=(4, 6, 3))
    cx0, cy0, cell = int(0.76 * width), int(0.62 * height), 40
    for r in range(4):
        for c in range(6):
            if r == 3:
                patches[r, c] = 245 - c * 45
            img[
                cy0 + r * cell + 3 : cy0 + (r + 1) * cell - 3,
                cx0 - 6 * cell // 2 + c * cell + 3 : cx0 - 6 * cell // 2 + (c + 1) * cell - 3,
            ] = patches[r, c]
    img += rng.normal(scale=2.5, size=img.shape)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def photo_exif() -> Image.Exif:
    """EXIF block of a Hasselblad condition photograph."""
    exif = Image.Exif()
    exif[0x010F] = "Hasselblad"  # Make
    exif[0x0110] = "X2D 100C"  # Model
    exif[0x0131] = "llvscan sample generator"  # Software
    exif[0x0132] = "2026:03:14 10:22:05"  # DateTime
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = "2026:03:14 10:22:05"  # DateTimeOriginal
    sub[0x829A] = TiffImagePlugin.IFDRational(1, 125)  # ExposureTime
    sub[0x829D] = TiffImagePlugin.IFDRational(8, 1)  # FNumber
    sub[0x8827] = 100  # ISOSpeedRatings
    sub[0xA434] = "XCD 3,5/120 Macro"  # LensModel
    return exif


# --------------------------------------------------------------------------------------
# Assets
# --------------------------------------------------------------------------------------


def make_bust(folder: pathlib.Path) -> list[pathlib.Path]:
    """The textured bust scan: OBJ + MTL + 2048² albedo JPEG."""
    n, size = BUST_N, 2048
    unit, faces, _ = cube_sphere(n)
    positions = bust_positions(unit, seed=1921)
    assert signed_volume(positions, faces) > 0
    rects = atlas_rects(size, gutter=6)
    uvs = chart_uvs(n, rects, size).reshape(-1, 2)
    header = ["# llvscan sample: bust", "# units: mm", "mtllib bust.mtl", "usemtl bust"]
    obj = folder / "bust.obj"
    text = textured_obj_text(header, positions, uvs, faces, chart_uv_faces(n))
    obj.write_text(text, encoding="utf-8", newline="\n")
    mtl = folder / "bust.mtl"
    mtl.write_text(
        "# llvscan sample: bust material\nnewmtl bust\nKa 0 0 0\nKd 1 1 1\nKs 0 0 0\n"
        "illum 1\nmap_Kd bust_albedo.jpg\n",
        encoding="utf-8",
        newline="\n",
    )
    albedo = folder / "bust_albedo.jpg"
    Image.fromarray(paint_atlas(size, rects, seed=17), "RGB").save(albedo, quality=88)
    return [obj, mtl, albedo]


def vase_profile(samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Closed half-profile (r, z) from the bottom pole over the lip to the inner-floor pole."""
    z = np.linspace(0.0, 1.0, 400)
    outer_r = 30 + 45 * np.sin(np.pi * np.clip(z * 1.25, 0, 1)) ** 1.5 + 8 * z**6
    outer = np.stack([outer_r, 8 + 232 * z], axis=1)  # mm, foot at 8 mm, lip at 240 mm
    wall = 4.0
    lip_angle = np.linspace(0, np.pi, 24)[1:-1]
    lip = np.stack(
        [
            outer[-1, 0] - wall / 2 + wall / 2 * np.cos(lip_angle),
            outer[-1, 1] + wall / 2 * np.sin(lip_angle),
        ],
        axis=1,
    )
    inner = outer[::-1] - [wall, 0]
    inner = inner[inner[:, 1] >= 14.0]
    foot = np.array([[0.0, 0.0], [28.0, 0.0], [30.0, 4.0]])
    floor = np.array([[inner[-1, 0], 14.0], [0.0, 14.0]])
    path = np.concatenate([foot, outer, lip, inner, floor])
    seg = np.linalg.norm(np.diff(path, axis=0), axis=1)
    arc = np.concatenate([[0], np.cumsum(seg)])
    t = np.linspace(0, arc[-1], samples)
    return np.interp(t, arc, path[:, 0]), np.interp(t, arc, path[:, 1])


def make_vase(folder: pathlib.Path) -> list[pathlib.Path]:
    """Binary PLY vase: revolved closed profile, welded, watertight, per-vertex glaze colour."""
    segments, samples = 128, 122
    r, z = vase_profile(samples)
    r[0] = r[-1] = 0.0
    theta = np.arange(segments) * (2 * np.pi / segments)
    rings = len(r) - 2
    ring_r, ring_z = r[1:-1, None], np.broadcast_to(z[1:-1, None], (rings, segments))
    ring_pts = np.stack([ring_r * np.cos(theta), ring_r * np.sin(theta), ring_z], axis=-1)
    positions = np.concatenate([[[0, 0, z[0]]], ring_pts.reshape(-1, 3), [[0, 0, z[-1]]]])
    idx = 1 + np.arange(rings * segments).reshape(rings, segments)
    nxt = np.roll(idx, -1, axis=1)
    body_a = np.stack([idx[:-1], nxt[:-1], nxt[1:]], axis=-1).reshape(-1, 3)
    body_b = np.stack([idx[:-1], nxt[1:], idx[1:]], axis=-1).reshape(-1, 3)
    top = len(positions) - 1
    bottom_fan = np.stack([np.zeros(segments, int), nxt[0], idx[0]], axis=1)
    top_fan = np.stack([idx[-1], nxt[-1], np.full(segments, top)], axis=1)
    faces = np.concatenate([bottom_fan, body_a, body_b, top_fan]).astype(np.int64)
    assert signed_volume(positions, faces) > 0
    colors = vase_colors(positions)
    path = folder / "vase.ply"
    write_binary_ply(path, positions, faces, colors, ["llvscan sample: vase", "units: mm"])
    return [path]


def vase_colors(positions: np.ndarray) -> np.ndarray:
    """Celadon glaze with drips over an unglazed clay foot."""
    x, y, z = positions.T
    angle = np.arctan2(y, x)
    glaze_edge = 26 + 6 * np.sin(5 * angle) + 3 * np.sin(13 * angle + 1.0)
    celadon = np.array([150, 184, 160]) * (0.85 + 0.15 * np.cos(z / 18.0))[:, None]
    clay = np.array([176, 120, 84], dtype=np.float64)
    mix = np.clip((z - glaze_edge) / 2.0, 0, 1)[:, None]
    colour = clay + (celadon - clay) * mix
    return np.clip(np.round(colour), 0, 255).astype(np.uint8)


def make_figurine(folder: pathlib.Path) -> list[pathlib.Path]:
    """GLB figurine with per-chart UVs and an embedded 512² PNG base-colour texture."""
    n, size = FIGURINE_N, 512
    unit, _, grid = cube_sphere(n)
    welded = figurine_positions(unit, seed=1987)
    # glTF is metres by specification: the 115 mm figurine is written as 0.115 m
    positions = welded[grid.reshape(-1)] / 1000.0  # split along chart seams, same coordinates
    rects = atlas_rects(size, gutter=3)
    uvs = chart_uvs(n, rects, size).reshape(-1, 2)
    faces = chart_uv_faces(n)  # one vertex per chart lattice point, like the UVs
    texture = Image.fromarray(paint_atlas(size, rects, seed=5, grid_cells=8), "RGB")
    material = trimesh.visual.material.PBRMaterial(
        name="figurine", baseColorTexture=texture, metallicFactor=0.0, roughnessFactor=0.8
    )
    visual = trimesh.visual.TextureVisuals(uv=uvs, material=material)
    mesh = trimesh.Trimesh(positions, faces, visual=visual, process=False)
    assert mesh.volume > 0
    path = folder / "figurine.glb"
    path.write_bytes(trimesh.exchange.gltf.export_glb(mesh, include_normals=False))
    return [path]


def torus(major: float, minor: float, sections: int, rings: int) -> tuple[np.ndarray, np.ndarray]:
    """Welded torus around z with an elliptical cross-section; outward CCW faces."""
    theta = np.arange(sections) * (2 * np.pi / sections)
    phi = np.arange(rings) * (2 * np.pi / rings)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    rad = major + minor * np.cos(p)
    positions = np.stack([rad * np.cos(t), rad * np.sin(t), 0.7 * minor * np.sin(p)], -1).reshape(-1, 3)
    idx = np.arange(sections * rings).reshape(sections, rings)
    i1, j1 = np.roll(idx, -1, axis=0), np.roll(idx, -1, axis=1)
    ij1 = np.roll(i1, -1, axis=1)
    faces = np.concatenate(
        [np.stack([idx, i1, ij1], -1).reshape(-1, 3), np.stack([idx, ij1, j1], -1).reshape(-1, 3)]
    )
    return positions, faces


def make_bracket(folder: pathlib.Path) -> list[pathlib.Path]:
    """Binary STL torus: watertight, genus 1."""
    positions, faces = torus(60.0, 12.0, 100, 50)
    assert signed_volume(positions, faces) > 0
    path = folder / "bracket.stl"
    write_binary_stl(path, positions, faces, "llvscan sample: bracket (torus), units mm")
    return [path]


def build_fragment() -> tuple[np.ndarray, np.ndarray]:
    """The defective fragment; see ``defective_truth.json`` for what each step leaves."""
    n = FRAGMENT_N
    unit, faces, grid = cube_sphere(n)
    positions = np.round(unit * 50.0, 4)

    def quad_faces(chart: int, i: int, j: int) -> list[int]:
        first = ((chart * n + i) * n + j) * 2
        return [first, first + 1]

    # Holes: one quad on chart 0, a 1x3 strip of quads on chart 1 (removed at the end).
    removed = quad_faces(0, 8, 8) + [f for j in (6, 7, 8) for f in quad_faces(1, 8, j)]
    # Flipped fan: the 6 faces around lattice vertex (8, 8) of chart 5.
    centre = grid[5, 8, 8]
    fan = np.flatnonzero((faces == centre).any(axis=1))
    assert len(fan) == 6
    faces[fan] = faces[fan, ::-1]
    # Zero-area faces on chart 4: move the right-angle corner c of (a, c, b) to mid(a, b).
    for i, j in ((3, 3), (3, 12), (12, 7)):
        a, c, b = faces[quad_faces(4, i, j)[0]]
        positions[c] = (positions[a] + positions[b]) / 2
    # Duplicate vertices on chart 3: append a copy, re-point every face to it.
    for i, j in ((3, 3), (3, 12), (8, 8), (12, 3), (12, 12)):
        original = grid[3, i, j]
        positions = np.vstack([positions, positions[original]])
        faces[faces == original] = len(positions) - 1
    # Non-manifold edge on chart 2: glue a closed tetrahedron onto interior edge (u, v).
    u, v = grid[2, 8, 8], grid[2, 9, 8]
    mid = (positions[u] + positions[v]) / 2
    normal = mid / np.linalg.norm(mid)
    side = np.cross(normal, positions[v] - positions[u])
    side /= np.linalg.norm(side)
    w1, w2 = len(positions), len(positions) + 1
    tet = np.array([[u, v, w1], [v, u, w2], [u, w1, w2], [v, w2, w1]])
    tips = np.round([mid + 6 * normal + 3 * side, mid + 6 * normal - 3 * side], 4)
    if signed_volume(np.vstack([positions, tips]), tet) < 0:
        tips = tips[::-1]
    positions = np.vstack([positions, tips])
    faces = np.concatenate([np.delete(faces, removed, axis=0), tet])
    assert (len(positions), len(faces)) == (6 * n * n + 2 + 7, 12 * n * n - 8 + 4)
    return positions, faces


def make_fragment(folder: pathlib.Path) -> list[pathlib.Path]:
    positions, faces = build_fragment()
    path = folder / "fragment.obj"
    header = [
        "# llvscan sample: fragment (defective, see sample_data/defective_truth.json)",
        "# units: mm",
    ]
    write_plain_obj(path, header, positions, faces)
    return [path]


def make_landscape(folder: pathlib.Path) -> list[pathlib.Path]:
    """12288x9216 tiled JPEG TIFF at 300 dpi with an sRGB profile, streamed by libvips."""
    path = folder / "landscape.tif"
    landscape_image(12288, 9216, seed=1962).tiffsave(
        str(path),
        tile=True,
        tile_width=256,
        tile_height=256,
        compression="jpeg",
        Q=85,
        xres=300 / 25.4,
        yres=300 / 25.4,
        resunit="inch",
        profile="srgb",
    )
    return [path]


def colorchecker_target(chart: str, width: int, height: int, *, seed: int, fraction: float = 0.7,
                        angle: float = 2.0, noise: float = 0.6) -> tuple[pyvips.Image, float]:
    """A photograph-like 8-bit sRGB image of ``chart`` ("colorchecker-sg" or "colorchecker-classic") drawn
    from its published L*a*b* values (D50, Bradford-adapted to sRGB) on a grey copy stand, its width
    ``fraction`` of the image, turned by ``angle`` degrees; and its true pixels per millimetre."""
    import colour

    from llvscan.imaging.qa.charts import CHARTS, reference_lab

    spec = CHARTS[chart]
    d50 = colour.CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]["D50"]
    rgb = colour.XYZ_to_RGB(colour.Lab_to_XYZ(reference_lab(chart), d50), "sRGB", illuminant=d50,
                            chromatic_adaptation_transform="Bradford", apply_cctf_encoding=True)
    palette = np.vstack([np.clip(np.rint(rgb * 255), 0, 255), [22, 22, 22], [128, 126, 122]]).astype(np.uint8)
    px_per_mm = fraction * width / spec.width_mm
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64) + 0.5
    t = math.radians(angle)
    dx, dy = xs - width / 2, ys - height / 2
    u = (dx * math.cos(t) + dy * math.sin(t)) / px_per_mm + spec.width_mm / 2  # card millimetres
    v = (-dx * math.sin(t) + dy * math.cos(t)) / px_per_mm + spec.height_mm / 2
    index = np.full((height, width), len(palette) - 1, np.int64)
    index[(u >= 0) & (u < spec.width_mm) & (v >= 0) & (v < spec.height_mm)] = len(palette) - 2
    centres = np.array([spec.patch_centre_mm(i) for i in range(spec.rows * spec.columns)])
    col = np.rint((u - centres[0, 0]) / spec.pitch_mm[0]).astype(np.int64)
    row = np.rint((v - centres[0, 1]) / spec.pitch_mm[1]).astype(np.int64)
    inside = (col >= 0) & (col < spec.columns) & (row >= 0) & (row < spec.rows)
    cu = centres[0, 0] + col * spec.pitch_mm[0]
    cv = centres[0, 1] + row * spec.pitch_mm[1]
    inside &= (np.abs(u - cu) < spec.patch_mm / 2) & (np.abs(v - cv) < spec.patch_mm / 2)
    index[inside] = (row * spec.columns + col)[inside]
    pixels = palette[index].astype(np.float32)
    pixels += np.random.default_rng(seed).normal(0.0, noise, pixels.shape).astype(np.float32)
    image = np.clip(np.rint(pixels), 0, 255).astype(np.uint8)
    return pyvips.Image.new_from_array(image).copy(interpretation="srgb"), px_per_mm


def slanted_edge_target(width: int, height: int, *, seed: int, sigma: float = 0.6, angle: float = 5.0,
                        noise: float = 0.6) -> pyvips.Image:
    """A dark square tilted by ``angle`` degrees on white, its edges a Gaussian blur of ``sigma`` px in linear
    light (point-sampled: MTF(f) = exp(−2π²σ²f²)), 8-bit sRGB-encoded, three equal bands."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64) + 0.5
    t = math.radians(angle)
    dx, dy = xs - width / 2, ys - height / 2
    u, v = dx * math.cos(t) + dy * math.sin(t), -dx * math.sin(t) + dy * math.cos(t)
    d = np.maximum(np.abs(u), np.abs(v)) - 0.3 * min(width, height)
    erf = np.vectorize(math.erf, otypes=[np.float64])
    linear = 0.04 + 0.84 * 0.5 * (1.0 + erf(d / (sigma * math.sqrt(2.0))))
    encoded = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055) * 255
    encoded += np.random.default_rng(seed).normal(0.0, noise, encoded.shape)
    grey = np.clip(np.rint(encoded), 0, 255).astype(np.uint8)
    return pyvips.Image.new_from_array(np.repeat(grey[..., None], 3, axis=2)).copy(interpretation="srgb")


def make_targets(folder: pathlib.Path) -> list[pathlib.Path]:
    """The paintings' capture session's targets, in ``targets/``: a ColorChecker SG and a slanted edge."""
    folder.mkdir(exist_ok=True)
    chart, px_per_mm = colorchecker_target("colorchecker-sg", 2400, 1600, seed=19)
    edge = slanted_edge_target(1200, 900, seed=20)
    written = []
    for name, image, resolution in (("colorchecker-sg.tif", chart, px_per_mm), ("slanted-edge.tif", edge, 600 / 25.4)):
        path = folder / name
        image.tiffsave(str(path), compression="deflate", xres=resolution, yres=resolution, resunit="inch",
                       profile="srgb")
        written.append(path)
    return written


def make_photo(folder: pathlib.Path) -> list[pathlib.Path]:
    path = folder / "condition_photo.jpg"
    condition_photo(1237, 811, seed=2026).save(
        path, quality=90, exif=photo_exif().tobytes(), icc_profile=srgb_icc_profile()
    )
    return [path]


def make_broken(folder: pathlib.Path) -> list[pathlib.Path]:
    """A truncated OBJ (no faces), an empty PLY and random bytes named .tif."""
    n, size = TRUNCATED_N, 256
    unit, faces, _ = cube_sphere(n)
    uvs = chart_uvs(n, atlas_rects(size, gutter=2), size).reshape(-1, 2)
    header = ["# llvscan sample: small scan", "# units: mm"]
    text = textured_obj_text(header, unit * 40.0, uvs, faces, chart_uv_faces(n)).encode("ascii")
    cut = int(0.4 * len(text))
    while text[cut - 1 : cut + 1].count(b"\n") or text[cut - 1 : cut] == b" ":
        cut += 1  # land strictly inside a number, mid-line
    assert b"\nf " not in text[:cut]
    truncated, empty, garbage = (
        folder / "truncated.obj",
        folder / "empty.ply",
        folder / "garbage.tif",
    )
    truncated.write_bytes(text[:cut])
    empty.write_bytes(b"")
    garbage.write_bytes(np.random.default_rng(404).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    return [truncated, empty, garbage]


#: Per-asset mesh options (up_axis, units) the sidecar declares: the scans stand on +Z, as scanners
#: write them; the STL's header says "units mm" in words that no reader takes as a declaration.
MESH_OPTIONS = {"sculpture/bust.obj": ("z", ""), "ceramics/vase.ply": ("z", ""), "tools/bracket.stl": ("z", "mm")}


def write_catalog(path: pathlib.Path) -> list[pathlib.Path]:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["file", "object_number", "title", "creator", "date", "rights", "up_axis", "units"])
        writer.writerows(row + MESH_OPTIONS.get(row[0], ("", "")) for row in CATALOG)
    return [path]


# --------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------


def _write_all(root: pathlib.Path) -> list[pathlib.Path]:
    steps = (
        ("sculpture", make_bust),
        ("ceramics", make_vase),
        ("ceramics", make_figurine),
        ("tools", make_bracket),
        ("damaged", make_fragment),
        ("paintings", make_landscape),
        ("paintings/targets", make_targets),
        ("photos", make_photo),
        ("broken", make_broken),
    )
    written = write_catalog(root / "collection.csv")
    for sub, step in steps:
        folder = root / sub
        folder.mkdir(exist_ok=True)
        written += step(folder)
    return written


def generate(out_dir: pathlib.Path) -> list[pathlib.Path]:
    """Generate the collection into ``out_dir`` (replaced as a whole); return written files."""
    out_dir = pathlib.Path(out_dir).resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = pathlib.Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        written = _write_all(staging)
        if out_dir.exists():
            old = staging.with_name(staging.name + ".old")
            os.replace(out_dir, old)
            shutil.rmtree(old)
        os.replace(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    os.chmod(out_dir, 0o755)  # mkdtemp creates 0o700
    return sorted(out_dir / p.relative_to(staging) for p in written)


def main(argv: Sequence[str] | None = None, *, default_out: pathlib.Path = DEFAULT_OUT) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--out",
        type=pathlib.Path,
        default=default_out,
        help=f"output folder, replaced as a whole (default: {default_out})",
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    files = generate(args.out)
    for path in files:
        print(f"{path.stat().st_size:>12,d}  {path.relative_to(args.out.resolve())}")
    print(f"{len(files)} files in {args.out} ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
