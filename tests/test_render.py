"""Software rasteriser: ground truth from meshes whose picture is known.

Expected pixel positions come from an independent pinhole projection written here from the documented
camera (look at the bounding-sphere centre from ``radius / sin(fov / 2)`` away), not from the renderer.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import load_generator, unit_cube
from PIL import Image

from llvscan.errors import ImageReadError, InvalidMeshError, InvalidParameterError
from llvscan.mesh import Material, Mesh
from llvscan.mesh.render import render_mesh, render_turntable, save_thumbnail
from llvscan.mesh.render import renderer as render

# the six cube sides: outward axis, sign, colour (distinct hues, so lighting cannot turn one into another)
SIDES = {
    "+x": (0, 1, (230, 40, 40)),  # red
    "-x": (0, -1, (40, 200, 200)),  # cyan
    "+y": (1, 1, (40, 200, 40)),  # green
    "-y": (1, -1, (200, 40, 200)),  # magenta
    "+z": (2, 1, (40, 40, 230)),  # blue
    "-z": (2, -1, (210, 200, 40)),  # yellow
}
WHITE = np.array([255, 255, 255], dtype=np.uint8)


def camera_project(points, *, centre, radius, size, azimuth, elevation, fov=30.0, up="y"):
    """(row, col) floating pixel coordinates of ``points`` under the documented camera."""
    az, el, half_fov = math.radians(azimuth), math.radians(elevation), math.radians(fov) / 2
    back = np.array([math.sin(az) * math.cos(el), math.sin(el), math.cos(az) * math.cos(el)])
    right = np.array([math.cos(az), 0.0, -math.sin(az)])
    if up == "z":
        back, right = back[[0, 2, 1]] * [1, -1, 1], right[[0, 2, 1]] * [1, -1, 1]
    screen_up = np.cross(back, right)  # right-handed: right × up = back
    eye = np.asarray(centre) + radius / math.sin(half_fov) * back
    rel = np.atleast_2d(points) - eye
    depth = rel @ -back
    focal = size / 2 / math.tan(half_fov)
    return size / 2 - focal * (rel @ screen_up) / depth, size / 2 + focal * (rel @ right) / depth


def side_of(normal):
    axis = int(np.argmax(np.abs(normal)))
    sign = 1 if normal[axis] > 0 else -1
    return next(name for name, (a, s, _) in SIDES.items() if (a, s) == (axis, sign))


def classify(pixels):
    """Name of the side whose colour has the nearest chromaticity (colour / its max) to each pixel's."""
    names = list(SIDES)
    refs = np.array([SIDES[n][2] for n in names], dtype=np.float64)
    refs /= refs.max(axis=1, keepdims=True)
    px = pixels.reshape(-1, 3).astype(np.float64)
    px /= np.maximum(px.max(axis=1, keepdims=True), 1)
    nearest = np.argmin(((px[:, None, :] - refs[None]) ** 2).sum(axis=2), axis=1)
    return [names[i] for i in nearest]


def vertex_coloured_cube() -> Mesh:
    """The unit cube with one vertex per triangle corner (36), coloured by the side it belongs to."""
    v, f = unit_cube()
    tri = v[f]
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    colours = np.array([SIDES[side_of(n)][2] + (255,) for n in normals], dtype=np.uint8)
    return Mesh(vertices=tri.reshape(-1, 3), faces=np.arange(36).reshape(12, 3),
                vertex_colors=np.repeat(colours, 3, axis=0), path="cube.ply")


def atlas_cube() -> tuple[Mesh, np.ndarray]:
    """The unit cube (8 shared vertices) textured from a 3×2 atlas of six 32-pixel solid regions."""
    v, f = unit_cube()
    texture = np.zeros((64, 96, 3), dtype=np.uint8)
    uv = np.empty((36, 2))
    for t, face in enumerate(f):
        tri = v[face]
        name = side_of(np.cross(tri[1] - tri[0], tri[2] - tri[0]))
        k = list(SIDES).index(name)
        row, col = divmod(k, 3)
        texture[row * 32:(row + 1) * 32, col * 32:(col + 1) * 32] = SIDES[name][2]
        axis = SIDES[name][0]
        p, q = [d for d in range(3) if d != axis]
        for c in range(3):  # the side's own 2D coordinates, into the middle half of its region
            x = (col * 32 + 8 + 16 * tri[c, p]) / 95
            y_row = row * 32 + 8 + 16 * tri[c, q]
            uv[3 * t + c] = (x, 1 - y_row / 63)
    mesh = Mesh(vertices=v, faces=f, uv=uv, uv_faces=np.arange(36).reshape(12, 3),
                materials=(Material("atlas", texture=None),), face_material=np.zeros(12, dtype=np.int32),
                path="cube.obj")
    return mesh, texture


def textured_quad(z=0.0, **mesh_options) -> Mesh:
    v = np.array([[0, 0, z], [1, 0, z], [1, 1, z], [0, 1, z]], dtype=np.float64)
    f = np.array([[0, 1, 2], [0, 2, 3]])
    return Mesh(vertices=v, faces=f, uv=v[:, :2].copy(), uv_faces=f.copy(), path="quad.obj", **mesh_options)


def gradient_texture():
    """64×64: red = 4 × column, green = 4 × row, blue 200 (bilinear sampling of it is exact)."""
    rows, cols = np.mgrid[0:64, 0:64]
    return np.stack([4 * cols, 4 * rows, np.full_like(rows, 200)], axis=2).astype(np.uint8)


@pytest.mark.parametrize("source", ["vertex colours", "texture"])
@pytest.mark.parametrize(("up", "visible", "top"), [("y", {"+x", "+y", "+z"}, "+y"), ("z", {"+x", "-y", "+z"}, "+z")])
def test_cube_sides_seen_from_three_quarters(source, up, visible, top):
    if source == "texture":
        mesh, texture = atlas_cube()
    else:
        mesh, texture = vertex_coloured_cube(), None
    size = 96
    image = render_mesh(mesh, size=size, azimuth=45, elevation=30, up=up, texture=texture, supersample=1)
    assert image.shape == (size, size, 3) and image.dtype == np.uint8
    for corner in (image[0, 0], image[0, -1], image[-1, 0], image[-1, -1]):
        assert (corner == WHITE).all()
    centre, radius = (0.5, 0.5, 0.5), math.sqrt(3) / 2
    rows = {}
    for name in visible:
        axis, sign, _ = SIDES[name]
        point = np.full(3, 0.5)
        point[axis] = 0.5 + 0.5 * sign
        r, c = camera_project(point, centre=centre, radius=radius, size=size, azimuth=45, elevation=30, up=up)
        rows[name] = r[0]
        window = image[int(r[0]) - 2:int(r[0]) + 3, int(c[0]) - 2:int(c[0]) + 3]
        assert set(classify(window)) == {name}, (name, window[2, 2])
    assert min(rows, key=rows.get) == top  # the up side is at the top of the picture
    drawn = image[(image != WHITE).any(axis=2)]
    seen = classify(drawn)
    assert set(seen) == visible  # hidden sides' colours appear nowhere
    counts = {name: seen.count(name) for name in visible}
    assert min(counts.values()) > 0.15 * len(seen)  # each visible side takes a fair share


def test_sphere_silhouette_fills_the_inscribed_circle():
    """The framing camera sees the bounding sphere's outline as the circle inscribed in the image."""
    unit, faces, _ = load_generator().cube_sphere(24)
    size = 128
    image = render_mesh(Mesh(vertices=unit, faces=faces), size=size, supersample=1, background=(0, 0, 0))
    covered = np.count_nonzero(image.any(axis=2))
    assert covered == pytest.approx(math.pi / 4 * size * size, rel=0.01)
    assert not image[[0, 0, -1, -1], [0, -1, 0, -1]].any()
    assert image[size // 2].all() and image[:, size // 2].all()  # touches all four sides
    assert not image[1].any(axis=1)[:40].any()  # …only there


@pytest.mark.parametrize(("azimuth", "elevation"), [(0, 0), (60, 0), (-35, 25)])
def test_textured_quad_perspective_correct(azimuth, elevation):
    """Pixels show the texel of the point their centre's ray hits, not an affine interpolation."""
    size, centre, radius = 96, np.array([0.5, 0.5, 0.0]), math.sqrt(0.5)
    image = render_mesh(textured_quad(), size=size, azimuth=azimuth, elevation=elevation,
                        texture=gradient_texture(), supersample=1).astype(np.float64)
    for u, v in [(0.5, 0.5), (0.2, 0.3), (0.8, 0.75), (0.3, 0.85)]:
        r, c = camera_project([u, v, 0.0], centre=centre, radius=radius, size=size, azimuth=azimuth,
                              elevation=elevation)
        row, col = int(r[0]), int(c[0])
        # where the ray through that pixel's centre meets the quad's plane z = 0: its exact UV
        az, el = math.radians(azimuth), math.radians(elevation)
        back = np.array([math.sin(az) * math.cos(el), math.sin(el), math.cos(az) * math.cos(el)])
        right = np.array([math.cos(az), 0.0, -math.sin(az)])
        screen_up = np.cross(back, right)
        eye = centre + radius / math.sin(math.radians(15)) * back
        focal = size / 2 / math.tan(math.radians(15))
        ray = -back + ((col + 0.5 - size / 2) * right - (row + 0.5 - size / 2) * screen_up) / focal
        hit = eye + ray * (-eye[2] / ray[2])
        expected = np.array([252 * hit[0], 252 * (1 - hit[1]), 200.0])
        pixel = image[row, col]
        light = pixel[2] / 200
        assert 0.3 <= light <= 1.0
        assert pixel / light == pytest.approx(expected, abs=2.5), ((u, v), pixel / light, expected)
    assert (image[0, 0] == 255).all()


def test_centre_pixel_is_the_texture_centre():
    texture = gradient_texture()
    image = render_mesh(textured_quad(), size=64, azimuth=0, elevation=0, texture=texture, supersample=1)
    # pixel (32, 32) is centred half a pixel right of and below the image centre (UV 0.5, 0.5)
    pixel = image[32, 32].astype(np.float64)
    light = pixel[2] / 200
    assert pixel[:2] / light == pytest.approx([126, 126], abs=5)


def coloured_quads(first_near: bool) -> Mesh:
    """A large red quad at z = 0 and a small green one at z = 0.5 in front of its middle."""
    far = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], dtype=np.float64)
    near = np.array([[0.25, 0.25, 0.5], [0.75, 0.25, 0.5], [0.75, 0.75, 0.5], [0.25, 0.75, 0.5]])
    quad = np.array([[0, 1, 2], [0, 2, 3]])
    parts = [(near, (40, 200, 40, 255)), (far, (230, 40, 40, 255))]
    if not first_near:
        parts.reverse()
    vertices = np.concatenate([p for p, _ in parts])
    faces = np.concatenate([quad, quad + 4])
    colours = np.repeat(np.array([c for _, c in parts], dtype=np.uint8), 4, axis=0)
    return Mesh(vertices=vertices, faces=faces, vertex_colors=colours, path="quads.ply")


@pytest.mark.parametrize("first_near", [True, False])
def test_depth_test_nearer_colour_wins(first_near):
    mesh = coloured_quads(first_near)
    front = render_mesh(mesh, size=64, azimuth=0, elevation=0, supersample=1)
    assert classify(front[30:34, 30:34]) == ["+y"] * 16  # green, in front
    ring = front[(front != WHITE).any(axis=2)]
    assert {"+x", "+y"} == set(classify(ring))  # the red quad shows around it
    behind = render_mesh(mesh, size=64, azimuth=180, elevation=0, supersample=1)  # back sides are drawn too
    assert classify(behind[30:34, 30:34]) == ["+x"] * 16  # from -Z the red quad is nearer


def test_material_colour_when_the_texture_file_is_missing(tmp_path):
    material = Material("m", texture=str(tmp_path / "missing.png"), color=(0.1, 0.1, 0.9))
    mesh = textured_quad(materials=(material,), face_material=np.zeros(2, dtype=np.int32))
    image = render_mesh(mesh, size=32, azimuth=0, elevation=0)
    assert set(classify(image[8:24, 8:24])) == {"+z"}  # blue


def test_texture_file_read_shrunk_per_material(tmp_path):
    """Two materials, two texture files (one 4× too large for max_texture): each face shows its own."""
    big = np.zeros((200, 300, 3), dtype=np.uint8)
    big[:] = SIDES["+x"][2]
    Image.fromarray(big).save(tmp_path / "red.png")
    small = np.zeros((8, 8, 4), dtype=np.uint8)
    small[:] = SIDES["+z"][2] + (255,)
    Image.fromarray(small).save(tmp_path / "blue.png")  # RGBA: alpha dropped
    materials = (Material("red", texture=str(tmp_path / "red.png")),
                 Material("blue", texture=str(tmp_path / "blue.png")))
    mesh = textured_quad(materials=materials, face_material=np.array([0, 1]))
    image = render_mesh(mesh, size=64, azimuth=0, elevation=0, max_texture=75, supersample=1)
    # face 0 is the lower-right triangle (below the diagonal), face 1 the upper-left one
    assert set(classify(image[40:44, 36:40])) == {"+x"}
    assert set(classify(image[22:26, 24:28])) == {"+z"}
    shrunk = render._load_texture(materials[0], mesh, 75)
    assert shrunk.shape == (50, 75, 3) and shrunk.dtype == np.uint8
    # the same image carried as bytes (as a glTF carries it) renders the same
    from_bytes = Material("red", texture="scan.glb#images/0", texture_data=(tmp_path / "red.png").read_bytes())
    assert np.array_equal(render._load_texture(from_bytes, mesh, 75), shrunk)


def test_undecodable_texture_raises_naming_it(tmp_path):
    bad = tmp_path / "albedo.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    mesh = textured_quad(materials=(Material("m", texture=str(bad)),), face_material=np.zeros(2, dtype=np.int32))
    with pytest.raises(ImageReadError, match=r"albedo\.jpg") as info:
        render_mesh(mesh, size=32)
    assert info.value.path == str(bad) and "quad.obj" in str(info.value)


def bust(n=20) -> Mesh:
    gen = load_generator()
    unit, faces, _ = gen.cube_sphere(n)
    return Mesh(vertices=gen.bust_positions(unit, seed=1921), faces=faces, path="bust.obj")


def test_renders_are_byte_identical():
    mesh = bust()
    rng = np.random.default_rng(5)
    texture = rng.integers(0, 256, size=(37, 53, 3), dtype=np.uint8)
    uv = rng.random((mesh.n_vertices, 2))
    textured = Mesh(vertices=mesh.vertices, faces=mesh.faces, uv=uv, uv_faces=mesh.faces, path=mesh.path)
    first = render_mesh(textured, size=80, up="z", texture=texture)
    second = render_mesh(textured, size=80, up="z", texture=texture)
    assert first.tobytes() == second.tobytes()
    assert (first != WHITE).any(axis=2).mean() > 0.3


def test_turntable_frames_are_the_single_views():
    mesh = bust(12)
    strip = render_turntable(mesh, frames=4, size=32, up="z", azimuth=10)
    assert strip.shape == (32, 128, 3) and strip.dtype == np.uint8
    for k in range(4):
        single = render_mesh(mesh, size=32, up="z", azimuth=10 + 90 * k)
        assert (strip[:, 32 * k:32 * (k + 1)] == single).all()
    assert (strip[:, :32] != strip[:, 64:96]).any()  # front and back differ


def test_save_thumbnail_writes_png_atomically(tmp_path):
    mesh = vertex_coloured_cube()
    out = save_thumbnail(mesh, tmp_path / "thumbs" / "cube.png", size=48)
    strip = save_thumbnail(mesh, tmp_path / "thumbs" / "cube_turntable.png", size=32, turntable_frames=3,
                           elevation=10)
    assert out == tmp_path / "thumbs" / "cube.png"
    with Image.open(out) as image:
        assert image.format == "PNG" and image.size == (48, 48) and image.mode == "RGB"
        assert (np.asarray(image) == render_mesh(mesh, size=48)).all()
    with Image.open(strip) as image:
        assert image.size == (96, 32)
    assert sorted(p.name for p in (tmp_path / "thumbs").iterdir()) == ["cube.png", "cube_turntable.png"]


def test_triangles_crossing_the_near_plane_are_skipped():
    from llvscan.mesh.render import _kernels as rk

    faces = np.array([[0, 1, 2]])
    for w in ([0.5, 0.5, 0.5], [0.5, 0.5, 0.0], [0.5, 0.5, 20.0]):  # in front; behind the camera; nearer than 1/10
        screen = np.array([[2.0, 2.0, w[0]], [30.0, 2.0, w[1]], [2.0, 30.0, w[2]]])
        depth = np.zeros((32, 32))
        face_id = np.full((32, 32), -1, dtype=np.int32)
        rk.rasterize(screen, faces, 10.0, depth, face_id)
        assert np.count_nonzero(face_id == 0) == (406 if w[2] == 0.5 else 0)  # centres inside: 28·29/2


def test_collapsed_mesh_renders_background():
    mesh = Mesh(vertices=np.ones((3, 3)), faces=np.array([[0, 1, 2]]), path="dot.obj")
    assert (render_mesh(mesh, size=16, background=(1, 2, 3)) == [1, 2, 3]).all()


def nan_mesh():
    v, f = unit_cube()
    v[3, 1] = np.nan
    return Mesh(vertices=v, faces=f, path="scan_42.obj")


def cube_mesh(**options):
    v, f = unit_cube()
    return Mesh(vertices=v, faces=f, path="scan_42.obj", **options)


@pytest.mark.parametrize(("make", "call", "message", "error"), [
    # bad mesh data: a data error (exit 1)
    (lambda: Mesh(vertices=np.zeros((0, 3)), faces=np.zeros((0, 3), dtype=np.int64), path="scan_42.obj"),
     render_mesh, "empty mesh", InvalidMeshError),
    (nan_mesh, render_mesh, "NaN", InvalidMeshError),
    (lambda: Mesh(vertices=unit_cube()[0], faces=unit_cube()[1] + 1, path="scan_42.obj"), render_mesh, "vertex 8",
     InvalidMeshError),
    (lambda: cube_mesh(vertex_colors=np.zeros((3, 4), dtype=np.uint8)), render_mesh, "vertex_colors",
     InvalidMeshError),
    # impossible options: a usage error (exit 2)
    (cube_mesh, lambda m: render_mesh(m, size=15), "size", InvalidParameterError),
    (cube_mesh, lambda m: render_mesh(m, size=8193), "size", InvalidParameterError),
    (cube_mesh, lambda m: render_mesh(m, size=64.0), "size", InvalidParameterError),
    (cube_mesh, lambda m: render_mesh(m, up="x"), "up", InvalidParameterError),
    (cube_mesh, lambda m: render_mesh(m, fov=0), "fov", InvalidParameterError),
    (cube_mesh, lambda m: render_mesh(m, elevation=95), "elevation", InvalidParameterError),
    (cube_mesh, lambda m: render_mesh(m, background=(0, 0, 300)), "background", InvalidParameterError),
    (cube_mesh, lambda m: render_mesh(m, texture=np.zeros((4, 4, 3), dtype=np.float32)), "texture",
     InvalidParameterError),
    (cube_mesh, lambda m: render_turntable(m, frames=0), "frames", InvalidParameterError),
    (cube_mesh, lambda m: save_thumbnail(m, "never.png", turntable_frames=-1), "turntable_frames",
     InvalidParameterError),
])
def test_bad_input_raises_naming_the_mesh(make, call, message, error, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error, match=message) as info:
        call(make())
    assert type(info.value) is error  # a data error is never a usage error, nor the reverse
    assert "scan_42.obj" in str(info.value)
    assert not list(tmp_path.iterdir())


def test_public_api():
    public = {n for n, v in vars(render).items() if not n.startswith("_") and getattr(v, "__module__", "") ==
              render.__name__}
    assert public <= set(render.__all__) | {"log"}
    assert {"render_mesh", "render_turntable", "save_thumbnail"} <= set(render.__all__)


def _flat_png(colour: tuple[int, int, int]) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize(("normal", "occlusion"), [((0.0, 0.0, 1.0), 255), ((0.6, 0.0, 0.8), 255),
                                                   ((0.0, 0.6, 0.8), 255), ((-0.6, 0.0, 0.8), 128)])
def test_normal_and_occlusion_maps_light_the_surface_as_glTF_defines(normal, occlusion):
    """A white square in the XY plane, UV = (x, y), seen head-on: its tangent frame is T = +X, B = +Y
    (glTF: +X right, +Y up in the image), N = +Z, so a map normal (a, b, c) is the world normal (a, b, c).
    The key light is (−0.3, 0.4, 1) normalised: the factor is 0.3 · occlusion + 0.7 · |n·l|."""
    from llvscan.mesh import Material
    from llvscan.mesh.core.types import TextureMap

    encoded = tuple(round((c * 0.5 + 0.5) * 255) for c in normal)
    vertices = np.array([[-1.0, -1.0, 0.0], [1.0, -1.0, 0.0], [1.0, 1.0, 0.0], [-1.0, 1.0, 0.0]])
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    material = Material("m", texture="w.png", texture_data=_flat_png((255, 255, 255)),
                        maps=(TextureMap("normal", "n.png", _flat_png(encoded)),
                              TextureMap("occlusion", "o.png", _flat_png((occlusion, occlusion, occlusion)))))
    mesh = Mesh(vertices, faces, uv=(vertices[:, :2] + 1) / 2, uv_faces=faces.copy(), materials=(material,),
                face_material=np.zeros(2, dtype=np.int64))
    image = render_mesh(mesh, size=64, azimuth=0, elevation=0, supersample=1)
    light = np.array([-0.3, 0.4, 1.0]) / np.linalg.norm([-0.3, 0.4, 1.0])
    decoded = np.array(encoded) / 127.5 - 1.0
    factor = 0.3 * occlusion / 255 + 0.7 * abs(decoded @ light) / np.linalg.norm(decoded)
    assert np.asarray(image)[24:40, 24:40].reshape(-1, 3).mean(axis=0) == pytest.approx([255 * factor] * 3, abs=1.0)
