"""GLB writer: ground truth on a unit cube, round trips through trimesh, and the Khronos glTF-Validator."""

from __future__ import annotations

import io
import json
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, unit_cube
from PIL import Image

import llvscan.mesh.io.glb as gltf
from llvscan.errors import ImageReadError, InvalidMeshError, InvalidParameterError
from llvscan.mesh import GlbInfo, Material, Mesh, write_glb
from llvscan.mesh.core.texture import image_size
from llvscan.mesh.core.types import TextureMap

VALIDATOR = ROOT / "tools" / "gltf-validate.mjs"
COMPONENT = {5121: np.uint8, 5123: np.uint16, 5125: np.uint32, 5126: np.float32}
WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}


# --- helpers ------------------------------------------------------------------------------------

def read_glb(path: Path) -> tuple[dict, bytes]:
    """A minimal GLB reader (independent of the writer): the JSON document and the BIN chunk."""
    data = path.read_bytes()
    magic, version, length = struct.unpack_from("<III", data, 0)
    assert (magic, version, length) == (0x46546C67, 2, len(data))
    json_len, json_type = struct.unpack_from("<II", data, 12)
    assert json_type == 0x4E4F534A and json_len % 4 == 0
    document = json.loads(data[20:20 + json_len])
    bin_len, bin_type = struct.unpack_from("<II", data, 20 + json_len)
    assert bin_type == 0x004E4942 and bin_len % 4 == 0
    assert 28 + json_len + bin_len == len(data)
    return document, data[28 + json_len:]


def accessor(document: dict, binary: bytes, index: int) -> np.ndarray:
    acc = document["accessors"][index]
    view = document["bufferViews"][acc["bufferView"]]
    assert view["byteOffset"] % 4 == 0 and "byteStride" not in view
    dtype = COMPONENT[acc["componentType"]]
    width = WIDTH[acc["type"]]
    raw = binary[view["byteOffset"]:view["byteOffset"] + view["byteLength"]]
    assert len(raw) == acc["count"] * width * np.dtype(dtype).itemsize
    return np.frombuffer(raw, dtype=dtype).reshape(acc["count"], width)


def draco_arrays(document: dict, binary: bytes, primitive: dict) -> dict[str, np.ndarray]:
    """A KHR_draco_mesh_compression primitive decoded by DracoPy (Google's decoder): each attribute by
    the unique id the extension names, in the accessor's component type."""
    import DracoPy

    extension = primitive["extensions"]["KHR_draco_mesh_compression"]
    view = document["bufferViews"][extension["bufferView"]]
    decoded = DracoPy.decode(binary[view.get("byteOffset", 0):view.get("byteOffset", 0) + view["byteLength"]])
    arrays = {}
    for name, unique_id in extension["attributes"].items():
        acc = document["accessors"][primitive["attributes"][name]]
        values = np.asarray(decoded.get_attribute_by_unique_id(unique_id)["data"])
        arrays[name] = values.reshape(acc["count"], WIDTH[acc["type"]]).astype(COMPONENT[acc["componentType"]])
    arrays["indices"] = np.asarray(decoded.faces).reshape(-1, 3)
    return arrays


def primitive_arrays(path: Path) -> list[dict[str, np.ndarray]]:
    """Every primitive's attributes and triangles, Draco-compressed primitives decoded with DracoPy."""
    document, binary = read_glb(path)
    out = []
    for primitive in document["meshes"][0]["primitives"]:
        if "KHR_draco_mesh_compression" in primitive.get("extensions", {}):
            out.append(draco_arrays(document, binary, primitive))
            continue
        arrays = {name: accessor(document, binary, i) for name, i in primitive["attributes"].items()}
        arrays["indices"] = accessor(document, binary, primitive["indices"]).reshape(-1, 3)
        out.append(arrays)
    return out


def cube_uv() -> tuple[np.ndarray, np.ndarray]:
    """24 UVs for the cube: each face (two triangles) its own cell of a 3×2 atlas, shared by its 4 corners."""
    v, f = unit_cube()
    uv = np.zeros((24, 2))
    uv_faces = np.zeros((12, 3), dtype=np.int64)
    for quad in range(6):
        tris = f[2 * quad:2 * quad + 2]
        corners = sorted(set(tris.ravel().tolist()))
        axis = int(np.flatnonzero(np.ptp(v[corners], axis=0) == 0)[0])  # the axis the face is flat along
        a, b = [k for k in range(3) if k != axis]
        for rank, vertex in enumerate(corners):
            uv[4 * quad + rank] = ((quad % 3 + 0.1 + 0.8 * v[vertex, a]) / 3,
                                   (quad // 3 + 0.1 + 0.8 * v[vertex, b]) / 2)
        uv_faces[2 * quad:2 * quad + 2] = 4 * quad + np.searchsorted(corners, tris)
    return uv, uv_faces


def cube_mesh(**kwargs) -> Mesh:
    v, f = unit_cube()
    return Mesh(**({"vertices": v, "faces": f, "units": "mm", "path": "scan.obj"} | kwargs))


def uv_cube(**kwargs) -> Mesh:
    uv, uv_faces = cube_uv()
    return cube_mesh(uv=uv, uv_faces=uv_faces, **kwargs)


def area_weighted_normals(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Reference vertex normals, computed face by face."""
    normals = np.zeros_like(v)
    for a, b, c in f.tolist():
        normals[[a, b, c]] += np.cross(v[b] - v[a], v[c] - v[a])
    return normals / np.linalg.norm(normals, axis=1, keepdims=True)


def image_bytes(fmt: str, size: tuple[int, int], **save) -> bytes:
    image = Image.new("RGB", size, (200, 120, 40))
    image.putpixel((0, 0), (0, 0, 255))
    buf = io.BytesIO()
    image.save(buf, format=fmt, **save)
    return buf.getvalue()


def two_material_cube(tmp_path: Path) -> tuple[Mesh, dict[int, bytes], bytes, bytes]:
    """Faces 0-5 use a PNG (37×23) from Material.texture; faces 6-11 a JPEG (19×11) passed as bytes."""
    png, jpeg = image_bytes("PNG", (37, 23)), image_bytes("JPEG", (19, 11), quality=90)
    (tmp_path / "albedo.png").write_bytes(png)
    materials = (Material("stone", texture=str(tmp_path / "albedo.png")), Material("wood", texture="embedded"))
    mesh = uv_cube(materials=materials, face_material=np.repeat([0, 1], 6))
    return mesh, {1: jpeg}, png, jpeg


def load_trimesh(path: Path):
    import trimesh

    loaded = trimesh.load(str(path), process=False)
    return loaded.to_mesh() if isinstance(loaded, trimesh.Scene) else loaded


# --- geometry -----------------------------------------------------------------------------------

def test_public_api_matches_all():
    public = {n for n, v in vars(gltf).items()
              if not n.startswith("_") and getattr(v, "__module__", "") == gltf.__name__}
    assert public <= set(gltf.__all__)
    assert {"GlbInfo", "write_glb"} <= set(gltf.__all__) <= set(dir(gltf))


def test_unit_cube_mm_round_trips_through_trimesh(tmp_path):
    uv, uv_faces = cube_uv()
    out = tmp_path / "cube.glb"
    # trimesh keeps UVs only on a primitive with a material: give it one, with an 8×8 texture
    mesh = uv_cube(materials=(Material("m"),), face_material=np.zeros(12, dtype=np.int64))
    info = write_glb(mesh, out, textures={0: image_bytes("PNG", (8, 8))})
    assert info == GlbInfo(path=str(out), bytes=out.stat().st_size, faces=12, vertices=24, primitives=1,
                           textures=[(8, 8, "image/png")], scale_to_metres=0.001)

    mesh = load_trimesh(out)
    assert len(mesh.faces) == 12
    positions = np.unique(np.round(np.asarray(mesh.vertices), 12), axis=0)
    assert len(positions) == 8  # 24 glTF vertices (split at the UV seams) weld back to the cube's 8
    np.testing.assert_allclose(mesh.bounds, [[0, 0, 0], [0.001, 0.001, 0.001]], atol=1e-9)
    np.testing.assert_allclose(abs(mesh.volume), 1e-9, rtol=1e-6)
    # trimesh flips v back; per corner, the UVs are the input's
    np.testing.assert_allclose(mesh.visual.uv[mesh.faces], uv[uv_faces], atol=1e-7)

    (arrays,) = primitive_arrays(out)
    np.testing.assert_allclose(arrays["TEXCOORD_0"][arrays["indices"]][..., 1], 1 - uv[uv_faces][..., 1], atol=1e-7)
    np.testing.assert_allclose(np.linalg.norm(arrays["NORMAL"], axis=1), 1, atol=1e-6)


def test_position_min_max_are_the_float32_extremes_and_units_recorded(tmp_path):
    out = tmp_path / "cube.glb"
    write_glb(cube_mesh(units="in"), out)
    document, binary = read_glb(out)
    acc = document["accessors"][document["meshes"][0]["primitives"][0]["attributes"]["POSITION"]]
    data = accessor(document, binary, document["meshes"][0]["primitives"][0]["attributes"]["POSITION"])
    assert acc["min"] == data.min(axis=0).tolist() and acc["max"] == data.max(axis=0).tolist()
    assert acc["max"] == [float(np.float32(0.0254))] * 3
    assert document["asset"]["version"] == "2.0" and document["asset"]["generator"] == "llvscan"
    assert document["asset"]["extras"] == {"units": "in", "scale_to_metres": 0.0254}


def test_undeclared_units_are_written_as_metres_and_said_so(tmp_path):
    out = tmp_path / "cube.glb"
    info = write_glb(cube_mesh(units=None), out, generator="test 1.0")
    document, _ = read_glb(out)
    assert info.scale_to_metres == 1.0
    assert document["asset"]["generator"] == "test 1.0"
    assert document["asset"]["extras"]["units"] is None
    assert "undeclared" in document["asset"]["extras"]["units_note"]
    np.testing.assert_allclose(load_trimesh(out).bounds, [[0, 0, 0], [1, 1, 1]])


def test_computed_normals_are_area_weighted_and_unit(tmp_path):
    v, f = unit_cube()
    out = tmp_path / "cube.glb"
    write_glb(cube_mesh(units="m"), out)
    (arrays,) = primitive_arrays(out)
    source = np.array([np.flatnonzero((v == p).all(axis=1))[0] for p in arrays["POSITION"].astype(np.float64)])
    np.testing.assert_allclose(arrays["NORMAL"], area_weighted_normals(v, f)[source], atol=1e-6)
    corner0 = arrays["NORMAL"][source == 0][0]
    np.testing.assert_allclose(corner0, -np.ones(3) / np.sqrt(3), atol=1e-6)  # three faces, equal areas


def test_given_normals_split_vertices_and_are_normalised(tmp_path):
    v, f = unit_cube()
    flat = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])  # per face, length 1 (half a unit square ×2)
    normals = np.repeat(flat * 3.0, 1, axis=0)  # deliberately not unit length
    normal_faces = np.repeat(np.arange(12)[:, None], 3, axis=1)
    normal_faces[0, 0] = -1  # one corner without a normal: gets the vertex normal
    out = tmp_path / "flat.glb"
    info = write_glb(cube_mesh(normals=normals, normal_faces=normal_faces), out)
    (arrays,) = primitive_arrays(out)
    corner_normals = arrays["NORMAL"][arrays["indices"]]
    expected = np.repeat((flat / np.linalg.norm(flat, axis=1, keepdims=True))[:, None], 3, axis=1)
    expected[0, 0] = area_weighted_normals(v, f)[f[0, 0]]
    np.testing.assert_allclose(corner_normals, expected, atol=1e-6)
    assert info.vertices == len(np.unique(np.stack([f.ravel(), normal_faces.ravel()], 1), axis=0))


def test_z_up_is_rotated_to_y_up(tmp_path):
    out = tmp_path / "zup.glb"
    write_glb(cube_mesh(), out, up_axis="z")
    np.testing.assert_allclose(load_trimesh(out).bounds, [[0, 0, -0.001], [0.001, 0.001, 0]], atol=1e-9)
    (arrays,) = primitive_arrays(out)
    origin = np.flatnonzero((np.abs(arrays["POSITION"]) < 1e-9).all(axis=1))[0]
    np.testing.assert_allclose(arrays["NORMAL"][origin], np.array([-1, -1, 1]) / np.sqrt(3), atol=1e-6)
    assert read_glb(out)[0]["asset"]["extras"]["source_up_axis"] == "z"


@pytest.mark.parametrize(("n_vertices", "component"), [(65535, 5123), (65536, 5125)])
def test_index_type_switches_above_65535_vertices(tmp_path, n_vertices, component):
    i = np.arange(n_vertices)
    v = np.stack([i // 2, i % 2, np.zeros(n_vertices)], axis=1).astype(np.float64)
    f = np.stack([i[:-2], i[1:-1], i[2:]], axis=1)
    f[1::2] = f[1::2, ::-1]  # consistent winding along the strip
    out = tmp_path / "strip.glb"
    info = write_glb(Mesh(v, f, units="m"), out)
    document, binary = read_glb(out)
    primitive = document["meshes"][0]["primitives"][0]
    assert document["accessors"][primitive["indices"]]["componentType"] == component
    assert info.vertices == n_vertices
    assert accessor(document, binary, primitive["indices"]).max() == n_vertices - 1


def test_vertex_colours_are_written_linear(tmp_path):
    """COLOR_0 is linear: sRGB bytes go through the sRGB transfer function (alpha does not), as 16 bits."""
    v, _ = unit_cube()
    colors = np.random.default_rng(7).integers(0, 256, (8, 4), dtype=np.uint8)
    colors[0] = [0, 10, 128, 255]
    colors[1] = [255, 188, 1, 0]
    out = tmp_path / "colours.glb"
    write_glb(uv_cube(vertex_colors=colors), out)
    document, _ = read_glb(out)
    primitive = document["meshes"][0]["primitives"][0]
    acc = document["accessors"][primitive["attributes"]["COLOR_0"]]
    assert (acc["componentType"], acc["type"], acc["normalized"]) == (5123, "VEC4", True)
    (arrays,) = primitive_arrays(out)
    source = [np.flatnonzero((np.abs(v * 0.001 - p) < 1e-9).all(axis=1))[0] for p in arrays["POSITION"]]
    written = arrays["COLOR_0"].astype(np.float64) / 65535
    srgb = colors[source].astype(np.float64) / 255
    expected = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    np.testing.assert_allclose(written[:, :3], expected[:, :3], atol=1 / 65535)
    np.testing.assert_allclose(written[:, 3], srgb[:, 3], atol=1 / 65535)
    row = source.index(0)  # known values: 10/255 → 0.003035, 128/255 → 0.215861, 0 → 0
    np.testing.assert_allclose(written[row], [0.0, 0.0030353, 0.2158605, 1.0], atol=2e-5)


def test_faces_without_material_form_their_own_primitive(tmp_path):
    mesh = cube_mesh(materials=(Material("grey", color=(0.5, 0.25, 2.0)),), face_material=np.array([0] * 4 + [-1] * 8))
    out = tmp_path / "mixed.glb"
    info = write_glb(mesh, out)
    document, _ = read_glb(out)
    primitives = document["meshes"][0]["primitives"]
    assert info.primitives == 2 and [p.get("material") for p in primitives] == [0, None]
    assert [len(a["indices"]) for a in primitive_arrays(out)] == [4, 8]
    assert document["materials"] == [{"name": "grey", "pbrMetallicRoughness": {
        "baseColorFactor": [0.5, 0.25, 1.0, 1.0], "metallicFactor": 0.0, "roughnessFactor": 1.0},
        "doubleSided": False}]


# --- textures -----------------------------------------------------------------------------------

def test_two_textured_materials_embed_png_and_jpeg(tmp_path):
    mesh, textures, png, jpeg = two_material_cube(tmp_path)
    out = tmp_path / "textured.glb"
    info = write_glb(mesh, out, textures=textures)
    assert info.primitives == 2 and info.vertices == 24
    assert info.textures == [(37, 23, "image/png"), (19, 11, "image/jpeg")]

    document, binary = read_glb(out)
    assert [i["mimeType"] for i in document["images"]] == ["image/png", "image/jpeg"]
    for image, expected in zip(document["images"], (png, jpeg), strict=True):
        view = document["bufferViews"][image["bufferView"]]
        assert binary[view["byteOffset"]:view["byteOffset"] + view["byteLength"]] == expected
        assert "target" not in view
    assert document["samplers"] == [{"magFilter": 9729, "minFilter": 9987, "wrapS": 10497, "wrapT": 10497}]
    pbr = [m["pbrMetallicRoughness"] for m in document["materials"]]
    assert [p["baseColorTexture"]["index"] for p in pbr] == [0, 1]
    assert all(p["metallicFactor"] == 0 and p["roughnessFactor"] == 1 for p in pbr)
    assert [p.get("material") for p in document["meshes"][0]["primitives"]] == [0, 1]

    import trimesh  # peer: trimesh finds two textured geometries with the images' sizes

    scene = trimesh.load(str(out), process=False)
    sizes = sorted(g.visual.material.baseColorTexture.size for g in scene.geometry.values())
    assert sizes == [(19, 11), (37, 23)]


def test_identical_images_are_stored_once(tmp_path):
    png = image_bytes("PNG", (5, 3))
    mesh = uv_cube(materials=(Material("a"), Material("b")), face_material=np.repeat([0, 1], 6))
    info = write_glb(mesh, tmp_path / "same.glb", textures={0: png, 1: png})
    document, _ = read_glb(tmp_path / "same.glb")
    assert info.textures == [(5, 3, "image/png")] and len(document["images"]) == 1
    assert [m["pbrMetallicRoughness"]["baseColorTexture"]["index"] for m in document["materials"]] == [0, 0]


def test_webp_uses_ext_texture_webp(tmp_path):
    webp = image_bytes("WEBP", (13, 7), quality=80)
    mesh = uv_cube(materials=(Material("m"),), face_material=np.zeros(12, dtype=np.int64))
    info = write_glb(mesh, tmp_path / "webp.glb", textures={0: webp})
    document, _ = read_glb(tmp_path / "webp.glb")
    assert info.textures == [(13, 7, "image/webp")]
    assert document["extensionsUsed"] == document["extensionsRequired"] == ["EXT_texture_webp"]
    assert document["textures"] == [{"sampler": 0, "extensions": {"EXT_texture_webp": {"source": 0}}}]


def test_texture_without_uvs_or_file_is_left_out(tmp_path):
    png = image_bytes("PNG", (4, 4))
    mesh = cube_mesh(materials=(Material("m", texture="missing.png", color=(1, 0, 0)),),
                     face_material=np.zeros(12, dtype=np.int64))
    for textures in (None, {0: png}):  # no file to embed; no UVs to map it with
        info = write_glb(mesh, tmp_path / "plain.glb", textures=textures)
        document, _ = read_glb(tmp_path / "plain.glb")
        assert info.textures == [] and "images" not in document
        assert document["materials"][0]["pbrMetallicRoughness"]["baseColorFactor"] == [1.0, 0.0, 0.0, 1.0]


@pytest.mark.parametrize(("fmt", "save"), [
    ("PNG", {}), ("JPEG", {"quality": 90}), ("JPEG", {"progressive": True}),
    ("WEBP", {"quality": 80}), ("WEBP", {"lossless": True}), ("WEBP", {"quality": 80, "exif": b"Exif\0\0"}),
])
def test_image_size_matches_pillow_and_survives_truncation(fmt, save):
    data = image_bytes(fmt, (1237, 811) if fmt != "WEBP" else (611, 409), **save)
    expected = Image.open(io.BytesIO(data)).size
    assert image_size(data)[:2] == expected
    for cut in range(0, min(len(data), 4096), 3):  # never an exception, never a wrong size
        assert image_size(data[:cut]) in (None, image_size(data))
    assert image_size(b"GIF89a" + data[6:]) is None


# --- files and errors ---------------------------------------------------------------------------

def test_output_is_deterministic_atomic_and_sized(tmp_path):
    mesh, textures, _, _ = two_material_cube(tmp_path)
    first, second = tmp_path / "out" / "a.glb", tmp_path / "out" / "b.glb"
    info = write_glb(mesh, first, textures=textures)
    write_glb(mesh, second, textures=textures)
    assert info.bytes == first.stat().st_size
    assert first.read_bytes() == second.read_bytes()
    before = first.read_bytes()
    write_glb(mesh, first, textures=textures)  # rewriting in place
    assert first.read_bytes() == before
    assert sorted(p.name for p in first.parent.iterdir()) == ["a.glb", "b.glb"]


def _with(mesh: Mesh, **changes) -> Mesh:
    fields = {k: getattr(mesh, k) for k in mesh.__dataclass_fields__} | changes
    return Mesh(**fields)


@pytest.mark.parametrize(("change", "words"), [
    ({"faces": np.empty((0, 3), dtype=np.int64)}, "empty mesh"),
    ({"vertices": np.empty((0, 3))}, "empty mesh"),
    ({"vertices": np.where(np.arange(24).reshape(8, 3) == 13, np.nan, unit_cube()[0])}, "vertex 4"),
    ({"faces": np.where(unit_cube()[1] == 6, 8, unit_cube()[1])}, "has 8 vertices"),
    ({"faces": np.where(unit_cube()[1] == 6, -1, unit_cube()[1])}, r"indices 0\.\.7"),
    ({"uv_faces": np.full((12, 3), 24)}, "uv_faces"),
    ({"uv": np.full((24, 2), np.inf)}, "non-finite UVs"),
    ({"materials": (Material("m"),), "face_material": np.full(12, 1)}, "material 1"),
    ({"units": "ft"}, "unknown units"),
])
def test_bad_input_is_refused_naming_the_mesh(tmp_path, change, words):
    out = tmp_path / "bad.glb"
    with pytest.raises(InvalidMeshError, match=words) as err:  # bad data, not a usage error
        write_glb(_with(uv_cube(), **change), out)
    assert err.value.path == "scan.obj" and "scan.obj" in str(err.value)
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_bad_input_without_mesh_path_names_the_output(tmp_path):
    out = tmp_path / "bad.glb"
    with pytest.raises(InvalidMeshError) as err:
        write_glb(cube_mesh(path=None, faces=np.array([[0, 1, 99]])), out)
    assert err.value.path == str(out)


def test_texture_that_is_not_an_image_is_refused(tmp_path):
    mesh = uv_cube(materials=(Material("m"),), face_material=np.zeros(12, dtype=np.int64))
    with pytest.raises(ImageReadError, match="not a JPEG, PNG or WebP"):
        write_glb(mesh, tmp_path / "x.glb", textures={0: b"GIF89a" + bytes(40)})
    with pytest.raises(ImageReadError, match="cannot read"):
        write_glb(mesh, tmp_path / "x.glb", textures={0: tmp_path / "nope.png"})
    with pytest.raises(InvalidParameterError, match="textures"):
        write_glb(mesh, tmp_path / "x.glb", textures={3: b""})


# --- the Khronos glTF-Validator -----------------------------------------------------------------

def validator() -> str:
    node = shutil.which("node")
    if node is None or not (ROOT / "tools" / "node_modules" / "gltf-validator").is_dir():
        pytest.skip("glTF-Validator not installed: run `npm install --prefix tools` (needs Node.js >= 18) so that "
                    "llvscan's GLB files are checked against the Khronos validator; without it they are NOT checked")
    return node


def validate(path: Path) -> tuple[int, dict]:
    run = subprocess.run([validator(), str(VALIDATOR), str(path)], capture_output=True, text=True, timeout=120)
    assert run.returncode in (0, 1), run.stderr
    return run.returncode, json.loads(run.stdout)


def grid(n: int) -> Mesh:
    """An n×n vertex height field in mm (2(n−1)² faces), with UVs on the vertices."""
    x, y = np.meshgrid(np.arange(n, dtype=np.float64), np.arange(n, dtype=np.float64))
    v = np.stack([x.ravel(), y.ravel(), np.sin(x.ravel() / 7) * 3], axis=1)
    i = np.arange(n * n).reshape(n, n)[:-1, :-1].ravel()
    f = np.concatenate([np.stack([i, i + 1, i + n + 1], 1), np.stack([i, i + n + 1, i + n], 1)])
    return Mesh(v, f, uv=v[:, :2] / (n - 1), uv_faces=f, units="mm", path="grid.ply",
                materials=(Material("grid", maps=(TextureMap("normal", "n.png", image_bytes("PNG", (4, 4))),)),),
                face_material=np.zeros(len(f), dtype=np.int64))


def test_a_normal_mapped_primitive_carries_its_tangents_unless_draco(tmp_path):
    """On the height field z = 3 sin(x / 7) with UV = (x, y): the tangent is the unit direction of growing
    x along the surface, (1, 0, cos(x/7)·3/7) normalised, and the bitangent w·(n × t) points along +y
    (image-up: V grows up)."""
    mesh = grid(12)
    write_glb(mesh, tmp_path / "plain.glb")
    [arrays] = primitive_arrays(tmp_path / "plain.glb")
    tangent = arrays["TANGENT"].astype(np.float64)
    x = arrays["POSITION"][:, 0] * 1000.0  # the file is in metres
    expected = np.stack([np.ones_like(x), np.zeros_like(x), np.cos(x / 7) * 3 / 7], axis=1)
    expected /= np.linalg.norm(expected, axis=1)[:, None]
    assert np.abs(tangent[:, :3] - expected).max() < 0.05
    bitangent = tangent[:, 3:] * np.cross(arrays["NORMAL"].astype(np.float64), tangent[:, :3])
    assert (bitangent[:, 1] > 0.9).all()
    write_glb(mesh, tmp_path / "draco.glb", compression="draco")
    [arrays] = primitive_arrays(tmp_path / "draco.glb")
    assert "TANGENT" not in arrays and "NORMAL" in arrays


def validator_cases(tmp_path: Path) -> dict[str, tuple[Mesh, dict]]:
    mesh, textures, _, _ = two_material_cube(tmp_path)
    colors = np.random.default_rng(1).integers(0, 256, (8, 4), dtype=np.uint8)
    return {
        "plain": (cube_mesh(), {}),
        "uv": (uv_cube(units=None), {}),
        "textured-2-materials": (mesh, {"textures": textures}),
        "vertex-colours": (uv_cube(vertex_colors=colors), {}),
        "z-up-mm": (uv_cube(), {"up_axis": "z"}),
        "webp": (uv_cube(materials=(Material("m"),), face_material=np.zeros(12, dtype=np.int64)),
                 {"textures": {0: image_bytes("WEBP", (13, 7))}}),
        "material-and-none": (cube_mesh(materials=(Material("grey", color=(0.5, 0.5, 0.5)),),
                                        face_material=np.array([0] * 5 + [-1] * 7)), {}),
        "uint32-indices": (grid(260), {}),
        "normal-mapped": (grid(12), {"maps": {0: {"normal": image_bytes("PNG", (16, 16))}}}),
    }


@pytest.mark.parametrize("case", ["plain", "uv", "textured-2-materials", "vertex-colours", "z-up-mm", "webp",
                                  "material-and-none", "uint32-indices", "normal-mapped"])
def test_khronos_validator_finds_no_errors(tmp_path, case):
    validator()
    mesh, options = validator_cases(tmp_path)[case]
    out = tmp_path / f"{case}.glb"
    info = write_glb(mesh, out, **options)
    rc, report = validate(out)
    assert (rc, report["numErrors"], report["numWarnings"]) == (0, 0, 0), report["messages"]
    assert report["info"]["totalTriangleCount"] == info.faces
    assert report["info"]["totalVertexCount"] == info.vertices


def test_khronos_validator_catches_a_broken_file(tmp_path):
    """The check is real: a GLB whose POSITION max is wrong fails with exit 1."""
    validator()
    out = tmp_path / "cube.glb"
    write_glb(cube_mesh(), out)
    document, binary = read_glb(out)
    document["accessors"][0]["max"] = [1.0, 1.0, 1.0]
    text = json.dumps(document).encode()
    text += b" " * (-len(text) % 4)
    out.write_bytes(struct.pack("<III", 0x46546C67, 2, 28 + len(text) + len(binary))
                    + struct.pack("<II", len(text), 0x4E4F534A) + text
                    + struct.pack("<II", len(binary), 0x004E4942) + binary)
    rc, report = validate(out)
    assert rc == 1 and report["numErrors"] >= 1
    assert "ACCESSOR_MAX_MISMATCH" in {m["code"] for m in report["messages"]}
