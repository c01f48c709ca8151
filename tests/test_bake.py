"""Baking normal, occlusion and base-colour maps (``llvscan.mesh.bake``) and glTF tangents
(``vertex_tangents``), against analytic ground truth: a height field whose normal is known everywhere, an
inside corner whose occlusion is a known fraction of the hemisphere, a texture whose colour is known at
every surface point. Inputs are built with numpy and trimesh only."""

from __future__ import annotations

import math

import numpy as np
import pytest

from llvscan.errors import InvalidMeshError, InvalidParameterError
from llvscan.mesh.bake import BakedMaps, BakeSource
from llvscan.mesh.core.geometry import vertex_normals, vertex_tangents
from llvscan.mesh.core.types import Mesh

AMPLITUDE, SIGMA = 0.05, 0.12  # the bump: h(x, y) = A exp(−((x − ½)² + (y − ½)²) / 2σ²)
GRID = 200  # the height field's quads a side: spacing Δ = 1/200


def _height(x, y):
    return AMPLITUDE * np.exp(-((x - 0.5) ** 2 + (y - 0.5) ** 2) / (2 * SIGMA**2))


def _analytic_normal(x, y):
    h = _height(x, y)
    hx, hy = -(x - 0.5) / SIGMA**2 * h, -(y - 0.5) / SIGMA**2 * h
    n = np.stack([-hx, -hy, np.ones_like(hx)], axis=-1)
    return n / np.linalg.norm(n, axis=-1, keepdims=True)


def _grid(n, x0=0.0, x1=1.0):
    """Vertices (x, y) of an (n + 1)² grid over [x0, x1]² and its 2n² counter-clockwise triangles."""
    t = np.linspace(x0, x1, n + 1)
    x, y = np.meshgrid(t, t, indexing="xy")
    ids = np.arange((n + 1) ** 2).reshape(n + 1, n + 1)
    a, b, c, d = ids[:-1, :-1].ravel(), ids[:-1, 1:].ravel(), ids[1:, 1:].ravel(), ids[1:, :-1].ravel()
    return x.ravel(), y.ravel(), np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)])


@pytest.fixture(scope="module")
def bump():
    """The bump as the full-resolution mesh, UV = (x, y)."""
    x, y, faces = _grid(GRID)
    vertices = np.stack([x, y, _height(x, y)], axis=1)
    return Mesh(vertices, faces, uv=np.stack([x, y], axis=1), uv_faces=faces.copy())


def _square(uv, z=0.0):
    """The flat unit square as two triangles, its corners (0,0) (1,0) (1,1) (0,1) carrying ``uv``."""
    vertices = np.array([[0, 0, z], [1, 0, z], [1, 1, z], [0, 1, z]], dtype=np.float64)
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    return Mesh(vertices, faces, uv=np.asarray(uv, dtype=np.float64), uv_faces=faces.copy())


FLAT_UV = [[0, 0], [1, 0], [1, 1], [0, 1]]


def _texel_uv(size):
    """(u, v) of every texel centre of a size² map, V up: row 0 is v = 1."""
    rows, cols = np.mgrid[0:size, 0:size]
    return (cols + 0.5) / size, 1.0 - (rows + 0.5) / size


def _decode(normal_map):
    n = normal_map.astype(np.float64) / 255.0 * 2.0 - 1.0
    return n / np.linalg.norm(n, axis=-1, keepdims=True)


# --- 1. the normal map of a height field ---------------------------------------------------------

def test_normal_map_of_a_height_field_matches_the_analytic_normal(bump):
    size = 128
    result = BakeSource(bump).bake(_square(FLAT_UV), size, maps=("normal",))
    assert isinstance(result, BakedMaps) and result.size == (size, size)
    assert result.normal is not None and result.normal.shape == (size, size, 3) and result.normal.dtype == np.uint8
    assert result.occlusion is None and result.base_colour is None
    assert result.covered == 1.0 and result.hits == 1.0
    # the level is the plane z = 0 with normal +Z, tangent +X, bitangent +Y: the line through a texel's
    # (x, y) = (u, v) runs along Z and meets the bump directly above, so the decoded normal must be the
    # height field's normal at (u, v).
    u, v = _texel_uv(size)
    error = np.degrees(np.arccos(np.clip((_decode(result.normal) * _analytic_normal(u, v)).sum(-1), -1, 1)))
    # Bound. Quantisation: each channel is rounded to 2/255 steps, an error ≤ 1/255 per component, so at
    # most √3/255 rad = 0.39° (rms ≈ √2 · (1/255)/√3 rad ≈ 0.18° from the two tangential components).
    # Tessellation: on a regular grid the area-weighted vertex normal is exact to O(Δ²) (its six faces are
    # point-symmetric about the vertex) and linear interpolation adds ≤ Δ²/8 · max|∂²n| ≈ 2.5e-5/8 · 2A/σ³
    # ≈ 2e-4 rad, so ≲ 0.05° together with Δ = 1/200, A/σ³ ≈ 29. Hence max < 0.39° + 0.1°, mean < 0.3°.
    assert error.max() < 0.5, error.max()
    assert error.mean() < 0.3, error.mean()
    # a coarser tessellation of the same bump is measurably worse: the bound is not vacuous
    x, y, faces = _grid(12)
    coarse = Mesh(np.stack([x, y, _height(x, y)], axis=1), faces)
    rough = BakeSource(coarse).bake(_square(FLAT_UV), size, maps=("normal",))
    assert np.degrees(np.arccos(np.clip((_decode(rough.normal) * _analytic_normal(u, v)).sum(-1), -1, 1))).max() > 2


def test_normal_map_channels_follow_gltf(bump):
    # glTF 2.0, material.normalTexture: "The normal vectors use the convention +X is right and +Y is up.
    # +Z points toward the viewer." Right is increasing U; up in the image is toward row 0, i.e. increasing
    # v in llvscan's V-up UVs (decreasing t in glTF's top-left-origin UVs). three.js agrees: with vertex
    # tangents it uses B = w · (N × T) as the map's +Y unchanged, and only when it derives the frame from
    # dP/dt itself does it negate normalScale.y (GLTFLoader, three.js issue 11438).
    # A surface rising toward +x has a normal tilted toward −x: red < 128 there; rising toward +v (+y),
    # tilted toward −y: green < 128 there.
    size = 64
    normal = BakeSource(bump).bake(_square(FLAT_UV), size, maps=("normal",)).normal.astype(int)
    u, v = _texel_uv(size)
    near = lambda a: (np.abs(a - 0.5) > 0.05) & (np.abs(a - 0.5) < 0.3)  # noqa: E731  (where the slope shows)
    left, right = near(u) & (u < 0.5) & (np.abs(v - 0.5) < 0.1), near(u) & (u > 0.5) & (np.abs(v - 0.5) < 0.1)
    below, above = near(v) & (v < 0.5) & (np.abs(u - 0.5) < 0.1), near(v) & (v > 0.5) & (np.abs(u - 0.5) < 0.1)
    assert (normal[..., 0][left] < 128).all() and (normal[..., 0][right] > 128).all()
    assert (normal[..., 1][below] < 128).all() and (normal[..., 1][above] > 128).all()
    assert normal[..., 1][above].max() > 150  # a real tilt, not noise
    # image rows run downward: "above" (v > ½) is the top half of the array
    assert (normal[size // 2 - 16: size // 2 - 4, size // 2, 1] > 128).all()


def test_a_mirrored_layout_mirrors_the_map_and_flips_red(bump):
    # the level's UV u = 1 − x: T = −X, and w = −1 keeps B = +Y (up in the image); the baked map is the
    # flat layout's mirrored left–right, red negated, green and blue unchanged.
    size = 64
    source = BakeSource(bump)
    flat = _decode(source.bake(_square(FLAT_UV), size, maps=("normal",)).normal)
    mirrored = _decode(source.bake(_square([[1, 0], [0, 0], [0, 1], [1, 1]]), size, maps=("normal",)).normal)
    expected = flat[:, ::-1] * np.array([-1.0, 1.0, 1.0])
    assert np.abs(mirrored - expected).max() < 0.02


# --- 2. tangents ----------------------------------------------------------------------------------

def _gltf(uv):
    uv = np.asarray(uv, dtype=np.float64).copy()
    uv[:, 1] = 1.0 - uv[:, 1]
    return uv


def test_tangents_of_a_flat_quad():
    quad = _square(FLAT_UV)
    normals = np.tile([0.0, 0.0, 1.0], (4, 1))
    tangents = vertex_tangents(quad.vertices, quad.faces, _gltf(FLAT_UV), normals)
    assert tangents.shape == (4, 4)
    assert np.allclose(tangents, [[1.0, 0.0, 0.0, 1.0]] * 4)
    # the bitangent w · N × T is +Y: up in the image, as the baker's green channel (test above)
    assert np.allclose(tangents[:, 3:] * np.cross(normals, tangents[:, :3]), [0.0, 1.0, 0.0])
    # three.js without tangents uses dP/dt (t: glTF's downward V) and negates the map's y: the same +Y
    assert np.allclose(-(quad.vertices[3] - quad.vertices[0]), [0.0, -1.0, 0.0])  # dP/dt = −Y
    # mirrored in U: the tangent follows U (−X) and w flips, so that the bitangent is still up
    mirrored = vertex_tangents(quad.vertices, quad.faces, _gltf([[1, 0], [0, 0], [0, 1], [1, 1]]), normals)
    assert np.allclose(mirrored, [[-1.0, 0.0, 0.0, -1.0]] * 4)
    assert np.allclose(mirrored[:, 3:] * np.cross(normals, mirrored[:, :3]), [0.0, 1.0, 0.0])
    # a UV layout turned 90° (u along +Y): T = +Y
    turned = vertex_tangents(quad.vertices, quad.faces, _gltf([[0, 1], [0, 0], [1, 0], [1, 1]]), normals)
    assert np.allclose(turned[:, :3], [0.0, 1.0, 0.0]) and np.allclose(turned[:, 3], 1.0)
    # degenerate UVs: any unit vector orthogonal to the normal, w = 1
    flat = vertex_tangents(quad.vertices, quad.faces, np.zeros((4, 2)), normals)
    assert np.allclose(np.linalg.norm(flat[:, :3], axis=1), 1.0) and np.allclose(flat[:, 2], 0.0)
    assert np.allclose(flat[:, 3], 1.0)


def test_tangents_on_a_uv_sphere_are_unit_and_orthogonal():
    rings, segments = 24, 48
    theta = np.linspace(0, np.pi, rings + 1)[:, None]  # from the north pole
    phi = np.linspace(0, 2 * np.pi, segments + 1)[None, :]  # the seam duplicated: u = 0 and u = 1
    vertices = np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi),
                         np.cos(theta) * np.ones_like(phi)], axis=-1).reshape(-1, 3)
    uv = np.stack([(phi / (2 * np.pi)) * np.ones_like(theta), 1 - theta / np.pi * np.ones_like(phi)],
                  axis=-1).reshape(-1, 2)
    ids = np.arange((rings + 1) * (segments + 1)).reshape(rings + 1, segments + 1)
    a, b, c, d = ids[:-1, :-1].ravel(), ids[1:, :-1].ravel(), ids[1:, 1:].ravel(), ids[:-1, 1:].ravel()
    faces = np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)])
    normals = vertex_normals(vertices, faces)
    normals[np.linalg.norm(normals, axis=1) == 0] = [0.0, 0.0, 1.0]
    tangents = vertex_tangents(vertices, faces, _gltf(uv), normals)
    assert np.allclose(np.linalg.norm(tangents[:, :3], axis=1), 1.0)
    assert np.abs(np.einsum("ij,ij->i", tangents[:, :3], normals)).max() < 1e-9
    assert set(np.unique(tangents[:, 3])) <= {-1.0, 1.0}
    # away from the poles: T is the direction of increasing longitude, B = w N × T points north (V up)
    middle = np.abs(vertices[:, 2]) < 0.9
    east = np.stack([-np.sin(np.arctan2(vertices[:, 1], vertices[:, 0])),
                     np.cos(np.arctan2(vertices[:, 1], vertices[:, 0])), np.zeros(len(vertices))], axis=1)
    assert np.einsum("ij,ij->i", tangents[middle, :3], east[middle]).min() > 0.99
    bitangent = tangents[:, 3:] * np.cross(normals, tangents[:, :3])
    assert (bitangent[middle, 2] > 0).all() and np.allclose(tangents[middle, 3], 1.0)


# --- 3. occlusion ------------------------------------------------------------------------------------

def test_a_sphere_is_unoccluded():
    import trimesh

    sphere = trimesh.creation.icosphere(subdivisions=4)
    occlusion = BakeSource(Mesh(np.asarray(sphere.vertices), np.asarray(sphere.faces))).vertex_occlusion
    assert occlusion.shape == (len(sphere.vertices),)
    assert occlusion.min() >= 0.98


def _inside_corner():
    """A floor (z = 0, x, y in [0.02, 4]) and two walls (x = 0 and y = 0, 4 × 4, facing inward), apart."""
    x, y, floor = _grid(40, 0.02, 4.0)
    floor_vertices = np.stack([x, y, np.zeros_like(x)], axis=1)
    s, t, wall = _grid(8, 0.0, 4.0)
    x_wall = np.stack([np.zeros_like(s), s, t], axis=1)  # x = 0
    y_wall = np.stack([s, np.zeros_like(s), t], axis=1)  # y = 0
    n = len(floor_vertices)
    vertices = np.concatenate([floor_vertices, x_wall, y_wall])
    faces = np.concatenate([floor, wall[:, ::-1] + n, wall + n + len(s)])
    return Mesh(vertices, faces), floor_vertices


@pytest.mark.parametrize("rays, tolerance", [(32, 0.06), (256, 0.03)])
def test_an_inside_corner_is_half_and_quarter_occluded(rays, tolerance):
    # A vertex on a floor beside an unbounded wall sees the half-space of directions pointing toward the
    # wall blocked, whatever the (rotationally symmetric) distribution: 0.5 unoccluded; beside two walls
    # at right angles, 0.25. Finite here: the walls reach 4 ≫ occlusion_distance = 1 in every direction
    # a ray can go, so only the directions with |dx| < δ/D = 0.02 toward a wall at δ = 0.02 escape it:
    # a cosine-weighted direction projects uniformly onto the unit disc, so that is ≈ 2·0.02/π ≈ 0.013 of
    # the hemisphere per wall. The rest is the ray count: K spiral points split by a line through the
    # disc's centre fall within about ±1.5 points of half (±0.05 at K = 32, ±0.01 at K = 256).
    mesh, floor = _inside_corner()
    occlusion = BakeSource(mesh, occlusion_rays=rays, occlusion_distance=1.0).vertex_occlusion
    beside_x = np.flatnonzero((floor[:, 0] == 0.02) & (np.abs(floor[:, 1] - 2.0) < 0.6))
    corner = np.flatnonzero((floor[:, 0] == 0.02) & (floor[:, 1] == 0.02))
    middle = np.flatnonzero((np.abs(floor[:, 0] - 2.0) < 0.5) & (np.abs(floor[:, 1] - 2.0) < 0.5))
    assert len(beside_x) > 3 and len(corner) == 1 and len(middle) > 3
    assert np.abs(occlusion[beside_x] - 0.5 - 0.013).max() < tolerance, occlusion[beside_x]
    assert abs(occlusion[corner[0]] - 0.25 - 0.02) < tolerance, occlusion[corner]
    assert occlusion[middle].min() == 1.0  # both walls more than occlusion_distance away


def test_the_occlusion_map_interpolates_the_vertex_occlusion():
    mesh, _ = _inside_corner()
    source = BakeSource(mesh, occlusion_rays=64, occlusion_distance=1.0)
    # a level: the floor's square [0.02, 1]², UV = its (x, y) scaled to [0, 1]
    low = Mesh(np.array([[0.02, 0.02, 0], [1, 0.02, 0], [1, 1, 0], [0.02, 1, 0]], dtype=np.float64),
               np.array([[0, 1, 2], [0, 2, 3]]), uv=np.array(FLAT_UV, dtype=np.float64),
               uv_faces=np.array([[0, 1, 2], [0, 2, 3]]))
    result = source.bake(low, 32, maps=("occlusion",))
    assert result.hits == 1.0 and result.occlusion.dtype == np.uint8
    occlusion = result.occlusion.astype(float) / 255
    assert occlusion[0, -1] > 0.95  # row 0 is v = 1 (y = 1), last column u = 1: far from both walls
    assert abs(occlusion[-1, 0] - 0.3) < 0.1  # the corner
    assert abs(occlusion[0, 0] - 0.5) < 0.1  # beside the x = 0 wall


# --- 4. base colour -----------------------------------------------------------------------------------

TEXTURE_SIZE = 64


def _texture():
    """R = 40 + 200 u, G = 40 + 200 v at texel centres (row 0 is v = 1), B = 90, A = 255."""
    u, v = _texel_uv(TEXTURE_SIZE)
    return np.stack([40 + 200 * u, 40 + 200 * v, np.full_like(u, 90), np.full_like(u, 255)],
                    axis=-1).round().astype(np.uint8)


def test_base_colour_from_a_texture_through_a_different_layout(bump):
    # the level's UVs are the surface's (x, y) turned 90° and scaled into the middle half of the atlas:
    # (s, t) = (0.25 + 0.5 y, 0.25 + 0.5 (1 − x)); the colour at a texel must be the texture's at (x, y).
    size = 96
    low = _square([[0.25, 0.75], [0.25, 0.25], [0.75, 0.25], [0.75, 0.75]])
    result = BakeSource(bump, textures=[_texture()]).bake(low, size, maps=("base_colour",))
    assert result.base_colour.shape == (size, size, 4) and result.base_colour.dtype == np.uint8
    assert result.covered == pytest.approx(0.25, abs=0.03) and result.hits == 1.0
    s, t = _texel_uv(size)
    inside = (np.abs(s - 0.5) < 0.24) & (np.abs(t - 0.5) < 0.24)
    x, y = 1.0 - (t - 0.25) / 0.5, (s - 0.25) / 0.5
    interior = inside & (np.minimum(x, y) > 1 / TEXTURE_SIZE) & (np.maximum(x, y) < 1 - 1 / TEXTURE_SIZE)
    colour = result.base_colour.astype(float)
    assert np.abs(colour[..., 0][interior] - (40 + 200 * x[interior])).mean() < 1.0
    assert np.abs(colour[..., 1][interior] - (40 + 200 * y[interior])).mean() < 1.0
    assert (result.base_colour[..., 2][inside] == 90).all() and (result.base_colour[..., 3] == 255).all()


def test_base_colour_from_vertex_colours_without_a_texture(bump):
    x, y = bump.vertices[:, 0], bump.vertices[:, 1]
    colours = np.stack([255 * x, 255 * y, np.full_like(x, 30), np.full_like(x, 255)], axis=1).round().astype(np.uint8)
    high = Mesh(bump.vertices, bump.faces, vertex_colors=colours)
    result = BakeSource(high).bake(_square(FLAT_UV), 64, maps=("base_colour",))
    u, v = _texel_uv(64)
    colour = result.base_colour.astype(float)
    assert np.abs(colour[..., 0] - 255 * u).max() <= 1.5 and np.abs(colour[..., 1] - 255 * v).max() <= 1.5
    assert (result.base_colour[..., 2] == 30).all()


# --- 5. padding ---------------------------------------------------------------------------------------

def test_padding_fills_every_texel(bump):
    size = 64
    low = _square([[0.25, 0.75], [0.25, 0.25], [0.75, 0.25], [0.75, 0.75]])
    maps = ("normal", "occlusion", "base_colour")
    source = BakeSource(bump, textures=[_texture()], occlusion_rays=8)
    padded = source.bake(low, size, maps=maps, padding=4)
    bare = source.bake(low, size, maps=maps, padding=0)
    for name in maps:
        image = getattr(padded, name)
        assert (image > 0).all(), name  # no black texel anywhere
    s, t = _texel_uv(size)
    inside = (np.abs(s - 0.5) < 0.25) & (np.abs(t - 0.5) < 0.25)
    ring = ~inside & (np.abs(s - 0.5) < 0.25 + 1.0 / size) & (np.abs(t - 0.5) < 0.25 + 1.0 / size)
    far = (np.abs(s - 0.5) > 0.25 + 5.0 / size) | (np.abs(t - 0.5) > 0.25 + 5.0 / size)
    colour = padded.base_colour.astype(int)
    # the texel just outside the footprint repeats its covered neighbours, not the atlas mean
    rows, cols = np.nonzero(ring)
    inner_rows = np.where(t[rows, 0] > 0.75, rows + 1, np.where(t[rows, 0] < 0.25, rows - 1, rows))
    inner_cols = np.where(s[0, cols] > 0.75, cols - 1, np.where(s[0, cols] < 0.25, cols + 1, cols))
    assert np.abs(colour[rows, cols] - colour[inner_rows, inner_cols]).max() <= 8
    mean = bare.base_colour[inside].astype(float).mean(axis=0)
    assert np.abs(colour[far] - mean).max() <= 1  # beyond the padding: the covered texels' mean
    assert np.array_equal(padded.base_colour[inside], bare.base_colour[inside])  # padding never overwrites


# --- 6. bad input -------------------------------------------------------------------------------------

def test_bad_input_is_refused(bump):
    source = BakeSource(bump)
    square = _square(FLAT_UV)
    with pytest.raises(InvalidMeshError):
        source.bake(Mesh(square.vertices, square.faces), 16)
    with pytest.raises(InvalidMeshError):
        BakeSource(Mesh(np.full((3, 3), np.nan), np.array([[0, 1, 2]])))
    nan_level = square.vertices.copy()
    nan_level[2, 0] = np.nan
    with pytest.raises(InvalidMeshError):
        source.bake(Mesh(nan_level, square.faces, uv=square.uv, uv_faces=square.uv_faces), 16)
    with pytest.raises(InvalidMeshError):
        source.bake(Mesh(square.vertices, np.array([[0, 1, 7]]), uv=square.uv, uv_faces=np.array([[0, 1, 2]])), 16)
    for size in (0, -4, (16, 0), 1.5):
        with pytest.raises(InvalidParameterError):
            source.bake(square, size)
    for maps in (("normals",), ("normal", "roughness"), ()):
        with pytest.raises(InvalidParameterError):
            source.bake(square, 16, maps=maps)
    for options in ({"max_distance": 0.0}, {"padding": -1}, {"material": 3}):
        with pytest.raises(InvalidParameterError):
            source.bake(square, 16, **options)
    with pytest.raises(InvalidParameterError):
        BakeSource(bump, occlusion_rays=0)
    with pytest.raises(InvalidParameterError):
        BakeSource(bump, textures=[np.zeros((4, 4), dtype=np.uint8)])


# --- 7. determinism -----------------------------------------------------------------------------------

def test_two_bakes_are_byte_identical(bump):
    maps = ("normal", "occlusion", "base_colour")
    low = _square([[0.1, 0.9], [0.2, 0.1], [0.9, 0.2], [0.8, 0.8]])
    first = BakeSource(bump, textures=[_texture()], occlusion_rays=8).bake(low, 80, maps=maps)
    second = BakeSource(bump, textures=[_texture()], occlusion_rays=8).bake(low, 80, maps=maps)
    for name in maps:
        assert getattr(first, name).tobytes() == getattr(second, name).tobytes(), name
    assert first.to_dict()["hits"] == second.to_dict()["hits"] and "normal" not in first.to_dict()


def test_a_distance_meters_grid_bakes_the_same_maps(bump):
    """The grid a DistanceMeter built of the same mesh stands in for the baker's own: identical maps."""
    from llvscan.mesh.distance import DistanceMeter

    maps = ("normal", "occlusion")
    low = _square([[0.1, 0.9], [0.2, 0.1], [0.9, 0.2], [0.8, 0.8]])
    own = BakeSource(bump, occlusion_rays=8).bake(low, 64, maps=maps)
    shared = BakeSource(bump, occlusion_rays=8, grid=DistanceMeter(bump, samples=10).grid.arrays).bake(low, 64,
                                                                                                       maps=maps)
    for name in maps:
        assert getattr(own, name).tobytes() == getattr(shared, name).tobytes(), name
    other = DistanceMeter(_square(FLAT_UV), samples=10).grid.arrays  # a grid of another mesh's 2 triangles
    lo, cell, dims, start, items = other
    with pytest.raises(InvalidParameterError, match="grid"):
        BakeSource(bump, grid=(lo, cell, dims, start[:-1], items))


@pytest.mark.parametrize("z", [0.02, 0.2])  # the level inside the bump's grid box (both ways share a cell), above it
def test_texel_lines_find_the_hits_of_two_separate_marches(bump, z):
    """bake_texels tests the first cell's triangles once for both directions: the hits are exactly those of
    a march each way (the nearer wins; the backward line stops at the forward hit)."""
    from llvscan.mesh.bake import _kernels as bk
    from llvscan.mesh.bake.maps import _Level

    source = BakeSource(bump, occlusion_rays=4)
    lo, cell, dims, start, items = source.grid
    low = _square(FLAT_UV, z)
    tilted = Mesh(low.vertices + np.array([[0, 0, 0], [0, 0, 0.03], [0, 0, 0.03], [0, 0, 0]]), low.faces,
                  uv=low.uv, uv_faces=low.uv_faces)
    for level_mesh in (low, tilted):
        level = _Level(level_mesh)
        rng = np.random.default_rng(11)
        face = rng.integers(0, 2, 400)
        bary = rng.dirichlet([1, 1, 1], 400)
        reach = 0.3
        hit, hit_bary, _, _ = bk.bake_texels(face, bary, level.vertices, level.faces, level.corner_normals,
                                             level.corner_tangents, reach, lo, cell, dims, start, items,
                                             source.vertices, source.faces, source.corner_normals, np.empty(0))
        for q in range(400):
            b0, b1, b2 = (float(x) for x in bary[q])  # the point and normal as the kernel sums them
            corners = level.vertices[level.faces[face[q]]]
            normals = level.corner_normals[face[q]]
            p = [b0 * corners[0, k] + b1 * corners[1, k] + b2 * corners[2, k] for k in range(3)]
            n = [b0 * normals[0, k] + b1 * normals[1, k] + b2 * normals[2, k] for k in range(3)]
            length = math.sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2])
            n = np.array([n[0] / length, n[1] / length, n[2] / length])
            march = (lo, cell, dims, start, items, source.vertices, source.faces, -1, False)
            g, t, u, v = bk._march(*p, *n, 0.0, reach, *march)
            g2, t2, u2, v2 = bk._march(*p, *(-n), 0.0, t if g >= 0 else reach, *march)
            if g2 >= 0 and (g < 0 or t2 < t):
                g, u, v = g2, u2, v2
            assert hit[q] == g
            if g >= 0:
                assert tuple(hit_bary[q]) == (1.0 - u - v, u, v)
        assert (hit >= 0).mean() > 0.9  # the lines do reach the bump
