"""glTF reader: inputs built by independent tools (pygltflib, Pillow, hand-written JSON and struct bytes),
checked against ground truth; hostile files refused without reading outside the root."""

from __future__ import annotations

import base64
import io
import json
import math
import pathlib
import struct
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from llvscan.errors import MeshReadError, ResourceLimitError
from llvscan.mesh import Material, Mesh, load_mesh, write_glb
from llvscan.mesh.io.gltf import read_gltf

LIMIT = 1_000_000
FLOAT, BYTE, UBYTE, SHORT, USHORT, UINT = 5126, 5120, 5121, 5122, 5123, 5125

# two unit quads side by side: x in [0, 1] (red material) and x in [2, 3] (blue material), in the z = 0 plane
QUAD = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], dtype=np.float32)
QUAD_UV = np.array([[0.0, 1.0], [1.0, 1.0], [1.0, 0.0], [0.0, 0.0]], dtype=np.float32)  # glTF: v down
QUAD_FACES = np.array([[0, 1, 2], [0, 2, 3]], dtype=np.uint16)


def png(color: str, size: tuple[int, int] = (8, 4)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def decoded_color(data: bytes) -> tuple[int, ...]:
    return Image.open(io.BytesIO(data)).convert("RGB").getpixel((0, 0))


# --- a hand-written glTF builder (json + struct; nothing of llvscan) -------------------------------

class Gltf:
    """A glTF document and its one binary buffer, built by hand."""

    def __init__(self) -> None:
        self.bin = bytearray()
        self.doc: dict = {"asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": []}], "nodes": [],
                          "meshes": [], "accessors": [], "bufferViews": [], "buffers": []}

    def view(self, data: bytes, **extra: object) -> int:
        self.bin += b"\0" * (-len(self.bin) % 4)
        self.doc["bufferViews"].append({"buffer": 0, "byteOffset": len(self.bin), "byteLength": len(data), **extra})
        self.bin += data
        return len(self.doc["bufferViews"]) - 1

    def accessor(self, array: np.ndarray, component: int, kind: str, **extra: object) -> int:
        array = np.ascontiguousarray(array)
        entry = {"bufferView": self.view(array.tobytes()), "componentType": component,
                 "count": int(array.shape[0]), "type": kind, **extra}
        self.doc["accessors"].append(entry)
        return len(self.doc["accessors"]) - 1

    def mesh(self, primitives: list[dict], **node: object) -> int:
        self.doc["meshes"].append({"primitives": primitives})
        self.doc["nodes"].append({"mesh": len(self.doc["meshes"]) - 1, **node})
        index = len(self.doc["nodes"]) - 1
        self.doc["scenes"][0]["nodes"].append(index)
        return index

    def quad(self, offset: float = 0.0, material: int | None = None, **attributes: int) -> dict:
        positions = QUAD + np.array([offset, 0, 0], dtype=np.float32)
        primitive: dict = {"attributes": {"POSITION": self.accessor(positions, FLOAT, "VEC3",
                                                                     min=positions.min(0).tolist(),
                                                                     max=positions.max(0).tolist()),
                                          "TEXCOORD_0": self.accessor(QUAD_UV, FLOAT, "VEC2"), **attributes},
                           "indices": self.accessor(QUAD_FACES.reshape(-1), USHORT, "SCALAR")}
        if material is not None:
            primitive["material"] = material
        return primitive

    def image(self, data: bytes) -> int:
        self.doc.setdefault("images", []).append({"bufferView": self.view(data), "mimeType": "image/png"})
        self.doc.setdefault("textures", []).append({"source": len(self.doc["images"]) - 1})
        return len(self.doc["textures"]) - 1

    def material(self, texture: int | None = None, **entry: object) -> int:
        pbr: dict = {"baseColorTexture": {"index": texture}} if texture is not None else {}
        self.doc.setdefault("materials", []).append({"pbrMetallicRoughness": pbr, **entry})
        return len(self.doc["materials"]) - 1

    def glb(self, path: Path) -> Path:
        self.bin += b"\0" * (-len(self.bin) % 4)
        self.doc["buffers"][:1] = [{"byteLength": len(self.bin)}]
        return glb_file(path, self.doc, bytes(self.bin))

    def gltf(self, path: Path, *, buffer_uri: str | None = None) -> Path:
        """A .gltf with the buffer as ``buffer_uri`` (a file written beside it) or a data URI."""
        if buffer_uri is None:
            uri = "data:application/octet-stream;base64," + base64.b64encode(bytes(self.bin)).decode()
        else:
            uri = buffer_uri
            (path.parent / buffer_uri).write_bytes(bytes(self.bin))
        self.doc["buffers"][:1] = [{"byteLength": len(self.bin), "uri": uri}]
        path.write_text(json.dumps(self.doc))
        return path


def glb_file(path: Path, document: dict, binary: bytes) -> Path:
    text = json.dumps(document).encode()
    text += b" " * (-len(text) % 4)
    path.write_bytes(struct.pack("<III", 0x46546C67, 2, 28 + len(text) + len(binary))
                     + struct.pack("<II", len(text), 0x4E4F534A) + text
                     + struct.pack("<II", len(binary), 0x004E4942) + binary)
    return path


def two_quads(textures: bool = True) -> Gltf:
    g = Gltf()
    red = g.material(g.image(png("red")) if textures else None, name="red")
    blue = g.material(g.image(png("blue", (4, 2))) if textures else None, name="blue")
    g.mesh([g.quad(0.0, red), g.quad(2.0, blue)])
    return g


def expected_vertices() -> np.ndarray:
    return np.concatenate([QUAD, QUAD + np.array([2, 0, 0], dtype=np.float32)]).astype(np.float64)


def check_two_quads(mesh: Mesh) -> None:
    assert mesh.n_vertices == 8 and mesh.n_faces == 4 and mesh.units == "m"
    np.testing.assert_array_equal(mesh.vertices, expected_vertices())
    np.testing.assert_array_equal(mesh.faces, np.concatenate([QUAD_FACES, QUAD_FACES + 4]))
    assert [m.name for m in mesh.materials] == ["red", "blue"]
    np.testing.assert_array_equal(mesh.face_material, [0, 0, 1, 1])
    flipped = np.column_stack([QUAD_UV[:, 0], 1.0 - QUAD_UV[:, 1]])
    np.testing.assert_array_equal(mesh.uv, np.concatenate([flipped, flipped]))
    np.testing.assert_array_equal(mesh.uv_faces, mesh.faces)


@pytest.fixture
def opened(monkeypatch) -> list[Path]:
    """Every file opened through pathlib during the test (read_bytes goes through Path.open)."""
    paths: list[Path] = []
    original = pathlib.Path.open

    def recording(self, *args, **kwargs):
        paths.append(Path(self).resolve())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "open", recording)
    return paths


# --- ground truth ---------------------------------------------------------------------------------

def test_two_material_glb_built_by_pygltflib(tmp_path):
    import pygltflib

    blob = bytearray()

    def view(data: bytes) -> int:
        blob.extend(b"\0" * (-len(blob) % 4))
        views.append(pygltflib.BufferView(buffer=0, byteOffset=len(blob), byteLength=len(data)))
        blob.extend(data)
        return len(views) - 1

    views: list = []
    accessors, primitives = [], []
    for k, offset in enumerate((0.0, 2.0)):
        positions = QUAD + np.array([offset, 0, 0], dtype=np.float32)
        base = len(accessors)
        accessors += [
            pygltflib.Accessor(bufferView=view(positions.tobytes()), componentType=FLOAT, count=4, type="VEC3",
                               min=positions.min(0).tolist(), max=positions.max(0).tolist()),
            pygltflib.Accessor(bufferView=view(QUAD_UV.tobytes()), componentType=FLOAT, count=4, type="VEC2"),
            pygltflib.Accessor(bufferView=view(QUAD_FACES.tobytes()), componentType=USHORT, count=6, type="SCALAR"),
        ]
        primitives.append(pygltflib.Primitive(attributes=pygltflib.Attributes(POSITION=base, TEXCOORD_0=base + 1),
                                              indices=base + 2, material=k))
    images = [pygltflib.Image(bufferView=view(png(c)), mimeType="image/png") for c in ("red", "blue")]
    blob.extend(b"\0" * (-len(blob) % 4))
    gltf = pygltflib.GLTF2(
        scene=0, scenes=[pygltflib.Scene(nodes=[0])], nodes=[pygltflib.Node(mesh=0)],
        meshes=[pygltflib.Mesh(primitives=primitives)], accessors=accessors, bufferViews=views,
        buffers=[pygltflib.Buffer(byteLength=len(blob))], images=images,
        textures=[pygltflib.Texture(source=0), pygltflib.Texture(source=1)],
        materials=[pygltflib.Material(name=name, pbrMetallicRoughness=pygltflib.PbrMetallicRoughness(
            baseColorTexture=pygltflib.TextureInfo(index=k))) for k, name in enumerate(("red", "blue"))])
    gltf.set_binary_blob(bytes(blob))
    path = tmp_path / "quads.glb"
    gltf.save_binary(str(path))

    mesh = read_gltf(path, max_faces=LIMIT)
    check_two_quads(mesh)
    assert mesh.format == "glb" and mesh.path == str(path) and mesh.problems == ()
    red, blue = mesh.materials
    assert red.texture == "quads.glb#images/0" and blue.texture == "quads.glb#images/1"
    assert decoded_color(red.texture_data) == (255, 0, 0) and decoded_color(blue.texture_data) == (0, 0, 255)
    assert red.texture_size == (8, 4)


def test_gltf_with_external_bin_and_pngs(tmp_path):
    g = two_quads(textures=False)
    (tmp_path / "red.png").write_bytes(png("red", (16, 8)))
    (tmp_path / "blue.png").write_bytes(png("blue"))
    g.doc["images"] = [{"uri": "red.png"}, {"uri": "blue.png"}]
    g.doc["textures"] = [{"source": 0}, {"source": 1}]
    for k, material in enumerate(g.doc["materials"]):
        material["pbrMetallicRoughness"]["baseColorTexture"] = {"index": k}
    path = g.gltf(tmp_path / "quads.gltf", buffer_uri="quads.bin")
    mesh = read_gltf(path, max_faces=LIMIT)
    check_two_quads(mesh)
    assert mesh.format == "gltf" and mesh.problems == ()
    red, blue = mesh.materials
    assert Path(red.texture) == (tmp_path / "red.png").resolve() and red.texture_data is None
    assert red.texture_size == (16, 8) and blue.texture_size == (8, 4)
    assert load_mesh(path).materials[1].texture == blue.texture  # the registry uses this reader


def test_gltf_with_data_uris(tmp_path):
    g = two_quads(textures=False)
    g.doc["images"] = [{"uri": "data:image/png;base64," + base64.b64encode(png(c)).decode()} for c in ("red", "blue")]
    g.doc["textures"] = [{"source": 0}, {"source": 1}]
    for k, material in enumerate(g.doc["materials"]):
        material["pbrMetallicRoughness"]["baseColorTexture"] = {"index": k}
    mesh = read_gltf(g.gltf(tmp_path / "inline.gltf"), max_faces=LIMIT)
    check_two_quads(mesh)
    red, blue = mesh.materials
    assert red.texture == "inline.gltf#images/0"
    assert decoded_color(red.texture_data) == (255, 0, 0) and decoded_color(blue.texture_data) == (0, 0, 255)


def test_nested_node_transforms(tmp_path):
    g = Gltf()
    positions = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float32)
    normals = np.array([[1, 0, 0], [1, 0, 0], [1, 0, 0]], dtype=np.float32)
    primitive = {"attributes": {"POSITION": g.accessor(positions, FLOAT, "VEC3"),
                                "NORMAL": g.accessor(normals, FLOAT, "VEC3")}}
    g.doc["meshes"].append({"primitives": [primitive]})
    s = math.sqrt(0.5)  # 90° about Y: x → −z, z → x
    g.doc["nodes"] = [{"translation": [1, 2, 3], "children": [1]},
                      {"rotation": [0, s, 0, s], "children": [2]},
                      {"scale": [2, 2, 2], "mesh": 0}]
    g.doc["scenes"][0]["nodes"] = [0]
    mesh = read_gltf(g.glb(tmp_path / "nested.glb"), max_faces=LIMIT)
    np.testing.assert_allclose(mesh.vertices, [[1, 2, 1], [1, 4, 3], [3, 2, 3]], atol=1e-12)
    np.testing.assert_allclose(mesh.normals, [[0, 0, -1]] * 3, atol=1e-12)

    # the same as one column-major matrix on the node: same result
    matrix = np.array([[0, 0, 2, 1], [0, 2, 0, 2], [-2, 0, 0, 3], [0, 0, 0, 1]], dtype=float)
    g.doc["nodes"] = [{"matrix": matrix.T.reshape(-1).tolist(), "mesh": 0}]
    mesh = read_gltf(g.glb(tmp_path / "matrix.glb"), max_faces=LIMIT)
    np.testing.assert_allclose(mesh.vertices, [[1, 2, 1], [1, 4, 3], [3, 2, 3]], atol=1e-12)


def test_mirroring_transform_keeps_counter_clockwise_winding(tmp_path):
    g = Gltf()
    g.mesh([g.quad()], scale=[-1, 1, 1])
    mesh = read_gltf(g.glb(tmp_path / "mirror.glb"), max_faces=LIMIT)
    a, b, c = (mesh.vertices[mesh.faces[:, k]] for k in range(3))
    assert (np.cross(b - a, c - a)[:, 2] > 0).all()  # still facing +z, as the unmirrored quad


@pytest.mark.parametrize(("mode", "faces"), [(5, [[0, 1, 2], [1, 3, 2], [2, 3, 4]]),
                                             (6, [[1, 2, 0], [2, 3, 0], [3, 4, 0]])])
def test_strip_and_fan(tmp_path, mode, faces):
    g = Gltf()
    if mode == 5:  # a zigzag strip in the z = 0 plane
        positions = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 2, 0]], dtype=np.float32)
    else:  # a fan around the origin
        positions = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [-1, 1, 0]], dtype=np.float32)
    g.mesh([{"attributes": {"POSITION": g.accessor(positions, FLOAT, "VEC3")},
             "indices": g.accessor(np.arange(5, dtype=np.uint8), UBYTE, "SCALAR"), "mode": mode}])
    mesh = read_gltf(g.glb(tmp_path / "strip.glb"), max_faces=LIMIT)
    np.testing.assert_array_equal(mesh.faces, faces)
    a, b, c = (mesh.vertices[mesh.faces[:, k]] for k in range(3))
    assert (np.cross(b - a, c - a)[:, 2] > 0).all()  # every triangle counter-clockwise


def test_non_indexed_primitive_with_interleaved_attributes(tmp_path):
    g = Gltf()
    positions = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [5, 0, 0], [6, 0, 0], [5, 1, 0]], dtype=np.float32)
    normals = np.tile(np.array([0, 0, 1], dtype=np.float32), (6, 1))
    interleaved = np.concatenate([positions, normals], axis=1)  # 24-byte stride
    v = g.view(interleaved.tobytes(), byteStride=24)
    g.doc["accessors"] += [{"bufferView": v, "componentType": FLOAT, "count": 6, "type": "VEC3"},
                           {"bufferView": v, "byteOffset": 12, "componentType": FLOAT, "count": 6, "type": "VEC3"}]
    g.mesh([{"attributes": {"POSITION": 0, "NORMAL": 1}}])
    mesh = read_gltf(g.glb(tmp_path / "soup.glb"), max_faces=LIMIT)
    np.testing.assert_array_equal(mesh.faces, [[0, 1, 2], [3, 4, 5]])
    np.testing.assert_array_equal(mesh.vertices, positions)
    np.testing.assert_array_equal(mesh.normals, normals)
    np.testing.assert_array_equal(mesh.normal_faces, mesh.faces)
    assert mesh.uv is None and mesh.materials == () and mesh.face_material is None


def test_quantized_attributes(tmp_path):
    g = Gltf()
    positions = np.array([[0, 0, 0], [1000, 0, 0], [1000, 1000, 0], [0, 1000, -32768]], dtype=np.int16)
    texcoords = np.array([[0, 0], [65535, 0], [65535, 32768], [0, 65535]], dtype=np.uint16)
    normals = np.array([[0, 0, 127, 0], [0, 0, 127, 0], [0, -128, 0, 0], [127, 0, 0, 0]], dtype=np.int8)
    g.mesh([{"attributes": {"POSITION": g.accessor(positions, SHORT, "VEC3"),
                            "TEXCOORD_0": g.accessor(texcoords, USHORT, "VEC2", normalized=True),
                            "NORMAL": g.accessor(normals[:, :3].copy(), BYTE, "VEC3", normalized=True)},
             "indices": g.accessor(QUAD_FACES.reshape(-1), USHORT, "SCALAR")}], scale=[0.001, 0.001, 0.001])
    g.doc["extensionsUsed"] = g.doc["extensionsRequired"] = ["KHR_mesh_quantization"]
    mesh = read_gltf(g.glb(tmp_path / "quantized.glb"), max_faces=LIMIT)
    np.testing.assert_allclose(mesh.vertices, positions * 0.001, rtol=1e-12)
    expected_uv = texcoords / 65535.0
    expected_uv[:, 1] = 1.0 - expected_uv[:, 1]
    np.testing.assert_allclose(mesh.uv, expected_uv, rtol=1e-12)
    np.testing.assert_allclose(mesh.normals, [[0, 0, 1], [0, 0, 1], [0, -1, 0], [1, 0, 0]], atol=1e-12)
    assert mesh.problems == ()


def test_draco_compressed_copy(tmp_path):
    import DracoPy

    positions = expected_vertices()
    faces = np.concatenate([QUAD_FACES, QUAD_FACES + 4]).astype(np.uint32)
    uv = np.concatenate([QUAD_UV, QUAD_UV]).astype(np.float64)
    normals = np.tile([0.0, 0.0, 1.0], (8, 1))
    colors = np.tile(np.array([255, 0, 0, 255], dtype=np.uint8), (8, 1))  # linear red, stored as bytes
    data = DracoPy.encode(positions, faces, tex_coord=uv, normals=normals, colors=colors, preserve_order=True,
                          quantization_bits=16)
    decoded = DracoPy.decode(data)
    ids = {a["attribute_type"]: a["unique_id"] for a in decoded.attributes}  # 0 position 1 normal 2 colour 3 uv
    g = Gltf()
    v = g.view(data)
    g.doc["accessors"] = [{"componentType": FLOAT, "count": 8, "type": "VEC3", "min": [0, 0, 0], "max": [3, 1, 0]},
                          {"componentType": FLOAT, "count": 8, "type": "VEC2"},
                          {"componentType": USHORT, "count": 12, "type": "SCALAR"},
                          {"componentType": FLOAT, "count": 8, "type": "VEC3"},
                          {"componentType": UBYTE, "count": 8, "type": "VEC4", "normalized": True}]
    g.mesh([{"attributes": {"POSITION": 0, "TEXCOORD_0": 1, "NORMAL": 3, "COLOR_0": 4}, "indices": 2,
             "extensions": {"KHR_draco_mesh_compression": {"bufferView": v, "attributes": {
                 "POSITION": ids[0], "TEXCOORD_0": ids[3], "NORMAL": ids[1], "COLOR_0": ids[2]}}}}],
           rotation=[1, 0, 0, 0])  # 180° about X: normals turn to −z
    g.doc["extensionsUsed"] = g.doc["extensionsRequired"] = ["KHR_draco_mesh_compression"]
    mesh = read_gltf(g.glb(tmp_path / "draco.glb"), max_faces=LIMIT)
    assert mesh.n_vertices == 8 and mesh.n_faces == 4 and mesh.problems == ()
    np.testing.assert_allclose(mesh.vertices[mesh.faces], positions[faces] * [1, -1, -1], atol=1e-3)
    np.testing.assert_allclose(mesh.uv[mesh.faces][..., 1], 1.0 - uv[faces][..., 1], atol=1e-6)
    np.testing.assert_allclose(mesh.normals, np.tile([0.0, 0.0, -1.0], (8, 1)), atol=1e-3)
    np.testing.assert_array_equal(mesh.vertex_colors, colors)


def test_points_and_lines_are_reported_and_skipped(tmp_path):
    g = Gltf()
    points = g.accessor(np.eye(3, dtype=np.float32), FLOAT, "VEC3")
    g.mesh([g.quad(), {"attributes": {"POSITION": points}, "mode": 0}, {"attributes": {"POSITION": points},
                                                                       "mode": 1}])
    mesh = read_gltf(g.glb(tmp_path / "mixed.glb"), max_faces=LIMIT)
    assert mesh.n_faces == 2 and mesh.n_vertices == 4
    (problem,) = mesh.problems
    assert problem.code == "skipped_primitives" and "1 POINTS" in problem.message and "1 LINES" in problem.message

    g = Gltf()
    g.mesh([{"attributes": {"POSITION": g.accessor(np.eye(3, dtype=np.float32), FLOAT, "VEC3")}, "mode": 0}])
    with pytest.raises(MeshReadError, match=r"cloud\.glb: no faces"):
        read_gltf(g.glb(tmp_path / "cloud.glb"), max_faces=LIMIT)


def test_linear_vertex_colours_become_srgb_bytes(tmp_path):
    g = Gltf()
    colors = np.array([[0.2140, 0.2140, 0.2140, 1.0], [0, 0, 0, 0.5], [1, 1, 1, 1], [0.0031308, 1, 0, 1]],
                      dtype=np.float32)
    g.mesh([g.quad(COLOR_0=g.accessor(colors, FLOAT, "VEC4"))])
    mesh = read_gltf(g.glb(tmp_path / "colours.glb"), max_faces=LIMIT)
    assert mesh.vertex_colors.dtype == np.uint8 and mesh.vertex_colors.shape == (4, 4)
    assert abs(int(mesh.vertex_colors[0, 0]) - 128) <= 1
    np.testing.assert_array_equal(mesh.vertex_colors[1:3], [[0, 0, 0, 128], [255, 255, 255, 255]])
    # VEC3 normalised bytes: alpha opaque
    g = Gltf()
    g.mesh([g.quad(COLOR_0=g.accessor(np.full((4, 3), 255, np.uint8), UBYTE, "VEC3", normalized=True))])
    mesh = read_gltf(g.glb(tmp_path / "bytes.glb"), max_faces=LIMIT)
    assert (mesh.vertex_colors == 255).all()


def test_texture_transform_and_texcoord_set(tmp_path):
    g = Gltf()
    texture = g.image(png("red"))
    second = np.array([[0.5, 0.5], [0.75, 0.5], [0.75, 0.25], [0.5, 0.25]], dtype=np.float32)
    offset, rotation, scale = [0.1, 0.2], math.pi / 2, [0.5, 2.0]
    g.doc["materials"] = [{"pbrMetallicRoughness": {"baseColorTexture": {
        "index": texture, "texCoord": 1,
        "extensions": {"KHR_texture_transform": {"offset": offset, "rotation": rotation, "scale": scale}}}}}]
    g.mesh([g.quad(material=0, TEXCOORD_1=g.accessor(second, FLOAT, "VEC2"))])
    mesh = read_gltf(g.glb(tmp_path / "transform.glb"), max_faces=LIMIT)
    # the extension's definition: T(offset) · R(rotation) · S(scale) · (u, v, 1)
    t = np.array([[1, 0, offset[0]], [0, 1, offset[1]], [0, 0, 1]])
    r = np.array([[math.cos(rotation), math.sin(rotation), 0], [-math.sin(rotation), math.cos(rotation), 0],
                  [0, 0, 1]])
    s = np.diag([scale[0], scale[1], 1.0])
    uvw = (t @ r @ s @ np.column_stack([second, np.ones(4)]).T).T
    np.testing.assert_allclose(mesh.uv, np.column_stack([uvw[:, 0], 1.0 - uvw[:, 1]]), atol=1e-7)


def test_sparse_accessor(tmp_path):
    g = Gltf()
    primitive = g.quad()
    indices = g.view(np.array([2, 3], dtype=np.uint16).tobytes())
    values = g.view(np.array([[5, 5, 5], [6, 6, 6]], dtype=np.float32).tobytes())
    g.doc["accessors"][primitive["attributes"]["POSITION"]]["sparse"] = {
        "count": 2, "indices": {"bufferView": indices, "componentType": USHORT}, "values": {"bufferView": values}}
    g.mesh([primitive])
    mesh = read_gltf(g.glb(tmp_path / "sparse.glb"), max_faces=LIMIT)
    np.testing.assert_array_equal(mesh.vertices, [[0, 0, 0], [1, 0, 0], [5, 5, 5], [6, 6, 6]])


def test_material_properties_and_maps(tmp_path):
    g = Gltf()
    base, normal, occlusion = g.image(png("red")), g.image(png("blue", (2, 2))), g.image(png("white", (3, 3)))
    g.doc["materials"] = [{
        "name": "bronze", "alphaMode": "MASK", "alphaCutoff": 0.3, "doubleSided": True,
        "emissiveFactor": [0.1, 0.2, 0.3], "normalTexture": {"index": normal, "scale": 0.5},
        "occlusionTexture": {"index": occlusion, "strength": 0.25}, "emissiveTexture": {"index": base},
        "pbrMetallicRoughness": {"baseColorFactor": [0.5, 0.25, 1.0, 0.75], "baseColorTexture": {"index": base},
                                 "metallicFactor": 0.1, "roughnessFactor": 0.9,
                                 "metallicRoughnessTexture": {"index": occlusion}}}]
    g.mesh([g.quad(material=0), g.quad(2.0)])  # the second quad has no material
    mesh = read_gltf(g.glb(tmp_path / "bronze.glb"), max_faces=LIMIT)
    (m,) = mesh.materials
    assert m == Material("bronze", texture="bronze.glb#images/0", texture_size=(8, 4), color=(0.5, 0.25, 1.0),
                         opacity=0.75, alpha_mode="MASK", alpha_cutoff=0.3, double_sided=True,
                         maps=m.maps, emissive=(0.1, 0.2, 0.3), metallic=0.1, roughness=0.9)
    assert [(t.slot, t.uri, t.size, t.scale) for t in m.maps] == [
        ("normal", "bronze.glb#images/1", (2, 2), 0.5), ("occlusion", "bronze.glb#images/2", (3, 3), 0.25),
        ("emissive", "bronze.glb#images/0", (8, 4), 1.0), ("metallic_roughness", "bronze.glb#images/2", (3, 3), 1.0)]
    assert decoded_color(m.maps[0].data) == (0, 0, 255)
    np.testing.assert_array_equal(mesh.face_material, [0, 0, -1, -1])


def test_webp_texture_through_its_extension(tmp_path):
    out = io.BytesIO()
    Image.new("RGB", (6, 5), "blue").save(out, format="WEBP", lossless=True)
    g = two_quads()
    g.doc["images"][1] = {"bufferView": g.view(out.getvalue()), "mimeType": "image/webp"}
    g.doc["textures"][1] = {"extensions": {"EXT_texture_webp": {"source": 1}}}
    g.doc["extensionsUsed"] = g.doc["extensionsRequired"] = ["EXT_texture_webp"]
    mesh = read_gltf(g.glb(tmp_path / "webp.glb"), max_faces=LIMIT)
    assert mesh.problems == () and mesh.materials[1].texture_size == (6, 5)
    assert decoded_color(mesh.materials[1].texture_data) == (0, 0, 255)


def test_unsupported_texture_and_geometry_extensions(tmp_path):
    g = two_quads()
    g.doc["textures"][1] = {"extensions": {"KHR_texture_basisu": {"source": 1}}}
    g.doc["extensionsUsed"] = g.doc["extensionsRequired"] = ["KHR_texture_basisu"]
    mesh = read_gltf(g.glb(tmp_path / "basis.glb"), max_faces=LIMIT)
    assert mesh.materials[1].texture is None and mesh.materials[0].texture_data is not None
    assert {p.code for p in mesh.problems} == {"unsupported_extension"}
    assert all("KHR_texture_basisu" in p.message for p in mesh.problems)

    # EXT_meshopt_compression: the geometry lives in a fallback buffer with no data
    g = two_quads(textures=False)
    for view in g.doc["bufferViews"]:
        view["extensions"] = {"EXT_meshopt_compression": {"buffer": 0, "byteLength": 4, "count": 1,
                                                          "byteStride": 4, "mode": "ATTRIBUTES"}}
        view["buffer"] = 1
    g.doc["extensionsUsed"] = g.doc["extensionsRequired"] = ["EXT_meshopt_compression"]
    g.doc["buffers"] = [{}, {"byteLength": len(g.bin), "extensions": {"EXT_meshopt_compression": {"fallback": True}}}]
    path = g.glb(tmp_path / "meshopt.glb")
    with pytest.raises(MeshReadError, match=r"meshopt\.glb: .*EXT_meshopt_compression"):
        read_gltf(path, max_faces=LIMIT)


def test_round_trip_through_llvscans_writer(tmp_path):
    v = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], dtype=np.float64)
    f = np.array([[0, 1, 2], [0, 2, 3]])
    uv = np.array([[0.1, 0.2], [0.9, 0.2], [0.9, 0.8], [0.1, 0.8]])
    colors = np.array([[255, 0, 0, 255], [0, 128, 0, 255], [0, 0, 7, 200], [12, 34, 56, 78]], dtype=np.uint8)
    mesh = Mesh(v, f, uv=uv, uv_faces=f, vertex_colors=colors, units="mm",
                materials=(Material("m", texture=str(tmp_path / "t.png")),), face_material=np.zeros(2, np.int64))
    (tmp_path / "t.png").write_bytes(png("red"))
    write_glb(mesh, tmp_path / "out.glb")
    back = read_gltf(tmp_path / "out.glb", max_faces=LIMIT)
    assert back.n_faces == 2 and back.units == "m"
    np.testing.assert_allclose(back.vertices[back.faces], v[f] / 1000, atol=1e-9)
    np.testing.assert_allclose(back.uv[back.uv_faces], uv[f], atol=1e-6)
    np.testing.assert_array_equal(back.vertex_colors[back.faces], colors[f])
    assert decoded_color(back.materials[0].texture_data) == (255, 0, 0)


# --- hostile input --------------------------------------------------------------------------------

@pytest.fixture
def collection(tmp_path) -> tuple[Path, Path]:
    """(root, sentinel): a collection folder and a file outside it that must never be read."""
    root = tmp_path / "root"
    root.mkdir()
    sentinel = tmp_path / "outside.png"
    sentinel.write_bytes(png("green"))
    (tmp_path / "outside.bin").write_bytes(bytes(4096))
    return root, sentinel


def assert_stayed_inside(opened: list[Path], root: Path) -> None:
    outside = [p for p in opened if root.resolve() not in p.parents]
    assert outside == [], f"read outside the root: {outside}"


@pytest.mark.parametrize("uri", ["../outside.png", "/etc/passwd", "file:///etc/passwd", "%2e%2e/outside.png",
                                 "link.png", "http://example.com/x.png"])
def test_image_uri_outside_the_root(collection, opened, uri):
    root, sentinel = collection
    (root / "link.png").symlink_to(sentinel)
    g = two_quads(textures=False)
    g.doc["images"] = [{"uri": uri}]
    g.doc["textures"] = [{"source": 0}]
    g.doc["materials"][0]["pbrMetallicRoughness"]["baseColorTexture"] = {"index": 0}
    path = g.gltf(root / "model.gltf", buffer_uri="model.bin")
    opened.clear()
    mesh = read_gltf(path, max_faces=LIMIT)
    assert mesh.n_faces == 4 and mesh.materials[0].texture is None and mesh.materials[0].texture_data is None
    (problem,) = mesh.problems
    assert problem.code == "unsafe_reference" and "model.gltf" in problem.message
    assert_stayed_inside(opened, root)


@pytest.mark.parametrize("uri", ["../outside.bin", "%2e%2e/outside.bin", "file:///etc/passwd", "/etc/passwd",
                                 "link.bin"])
def test_buffer_uri_outside_the_root(collection, opened, uri):
    root, _ = collection
    (root / "link.bin").symlink_to(root.parent / "outside.bin")
    g = two_quads(textures=False)
    path = g.gltf(root / "model.gltf", buffer_uri="model.bin")
    document = json.loads(path.read_text())
    document["buffers"][0]["uri"] = uri
    path.write_text(json.dumps(document))
    opened.clear()
    with pytest.raises(MeshReadError, match=r"model\.gltf: .*buffers\[0\] refers to .*(outside the collection "
                                            r"root|not read)"):
        read_gltf(path, max_faces=LIMIT)
    assert_stayed_inside(opened, root)


def test_missing_files(tmp_path):
    g = two_quads(textures=False)
    g.doc["images"] = [{"uri": "gone.png"}]
    g.doc["textures"] = [{"source": 0}]
    g.doc["materials"][0]["pbrMetallicRoughness"]["baseColorTexture"] = {"index": 0}
    path = g.gltf(tmp_path / "model.gltf", buffer_uri="model.bin")
    mesh = read_gltf(path, max_faces=LIMIT)
    (problem,) = mesh.problems
    assert problem.code == "missing_texture" and problem.path == mesh.materials[0].texture
    (tmp_path / "model.bin").write_bytes((tmp_path / "model.bin").read_bytes()[:50])
    with pytest.raises(MeshReadError, match=r"model\.gltf: buffers\[0\] claims \d+ bytes but model\.bin has 50"):
        read_gltf(path, max_faces=LIMIT)
    (tmp_path / "model.bin").unlink()
    with pytest.raises(MeshReadError, match=r"model\.gltf: .*buffers\[0\]: 'model\.bin' is not found"):
        read_gltf(path, max_faces=LIMIT)


def test_lying_lengths_are_refused_fast(tmp_path):
    start = time.perf_counter()
    good = two_quads().glb(tmp_path / "good.glb").read_bytes()
    json_length = struct.unpack_from("<I", good, 12)[0]

    cases = {
        "json-chunk": good[:12] + struct.pack("<I", len(good) * 10) + good[16:],
        "header": good[:8] + struct.pack("<I", len(good) + 100) + good[12:],
    }
    for name, data in cases.items():
        (tmp_path / f"{name}.glb").write_bytes(data)
        with pytest.raises(MeshReadError, match=rf"{name}\.glb: GLB"):
            read_gltf(tmp_path / f"{name}.glb", max_faces=LIMIT)

    def patched(name: str, change) -> Path:
        g = two_quads()
        change(g.doc)
        return g.glb(tmp_path / f"{name}.glb")

    huge = patched("huge", lambda d: d["accessors"][0].update(count=10**9))
    with pytest.raises(MeshReadError, match=r"huge\.glb: .*claims 1,000,000,000 elements"):
        read_gltf(huge, max_faces=LIMIT)
    empty = patched("empty", lambda d: d["accessors"][0].pop("bufferView") and d["accessors"][0].update(count=10**9))
    with pytest.raises(ResourceLimitError, match=r"empty\.glb"):
        read_gltf(empty, max_faces=LIMIT)
    beyond = patched("beyond", lambda d: d["bufferViews"][d["accessors"][0]["bufferView"]].update(byteLength=10**9))
    with pytest.raises(MeshReadError, match=r"beyond\.glb: bufferViews\[2\] spans"):
        read_gltf(beyond, max_faces=LIMIT)
    index = patched("index", lambda d: d["accessors"][1].update(count=3))  # uv count ≠ position count
    with pytest.raises(MeshReadError, match=r"index\.glb: .*TEXCOORD_0 has 3 elements"):
        read_gltf(index, max_faces=LIMIT)
    with pytest.raises(ResourceLimitError, match=r"good\.glb: .*face limit"):
        read_gltf(tmp_path / "good.glb", max_faces=3)

    g = two_quads()
    g.doc["meshes"][0]["primitives"][0]["indices"] = g.accessor(np.array([0, 1, 9], np.uint16), USHORT, "SCALAR")
    with pytest.raises(MeshReadError, match=r"bad\.glb: .*refers to vertex 9 but the primitive has 4"):
        read_gltf(g.glb(tmp_path / "bad.glb"), max_faces=LIMIT)

    g = two_quads(textures=False)
    path = g.gltf(tmp_path / "short.gltf")
    document = json.loads(path.read_text())
    document["buffers"][0]["byteLength"] += 1000  # the data URI holds less than it claims
    path.write_text(json.dumps(document))
    with pytest.raises(MeshReadError, match=r"short\.gltf: buffers\[0\] claims"):
        read_gltf(path, max_faces=LIMIT)

    (tmp_path / "broken.gltf").write_text('{"asset": {"version": "2.0"}, "meshes": [')
    with pytest.raises(MeshReadError, match=r"broken\.gltf: malformed glTF JSON"):
        read_gltf(tmp_path / "broken.gltf", max_faces=LIMIT)
    assert time.perf_counter() - start < 5.0
    assert json_length % 4 == 0


def test_every_truncation_and_byte_flip_is_caught(tmp_path):
    good = two_quads().glb(tmp_path / "good.glb").read_bytes()
    path = tmp_path / "cut.glb"
    rng = np.random.default_rng(7)
    variants = [good[:n] for n in range(0, len(good), 7)]
    for _ in range(200):
        data = bytearray(good)
        data[int(rng.integers(len(good)))] = int(rng.integers(256))
        variants.append(bytes(data))
    for data in variants:
        path.write_bytes(data)
        try:
            read_gltf(path, max_faces=LIMIT)
        except (MeshReadError, ResourceLimitError) as exc:
            assert "cut.glb" in str(exc)


def test_node_cycle_is_refused(tmp_path):
    g = two_quads()
    g.doc["nodes"][0]["children"] = [1]
    g.doc["nodes"].append({"children": [0]})
    with pytest.raises(MeshReadError, match=r"cycle\.glb: nodes\[0\] is its own ancestor"):
        read_gltf(g.glb(tmp_path / "cycle.glb"), max_faces=LIMIT)


def test_unknown_required_extension_is_reported(tmp_path):
    g = two_quads()
    g.doc["extensionsUsed"] = g.doc["extensionsRequired"] = ["KHR_materials_variants", "KHR_mesh_quantization"]
    mesh = read_gltf(g.glb(tmp_path / "variants.glb"), max_faces=LIMIT)
    check_two_quads(mesh)
    (problem,) = mesh.problems
    assert problem.code == "unsupported_extension" and "KHR_materials_variants" in problem.message


JUNK = [None, -1, 0, 10**12, 1.5, "x", "../../etc/passwd", [], [1, 2], {}, {"index": 0}, True, float("inf")]


def test_junk_in_any_json_field_is_caught(tmp_path):
    """Replace one value anywhere in the document by junk: the reader reads it or refuses it with a
    MeshReadError/ResourceLimitError naming the file, never another exception."""
    g = two_quads()
    g.doc["nodes"][0].update(translation=[0, 1, 0], children=[])
    g.doc["materials"][0].update(alphaMode="BLEND", normalTexture={"index": 1, "scale": 2})
    g.glb(tmp_path / "base.glb")
    base = json.loads(json.dumps(g.doc))

    def slots(value, trail=()):
        yield trail
        children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        for key, child in children:
            yield from slots(child, (*trail, key))

    rng = np.random.default_rng(11)
    places = [t for t in slots(base) if t]
    path = tmp_path / "junk.glb"
    for k in range(400):
        doc = json.loads(json.dumps(base))
        trail = places[int(rng.integers(len(places)))]
        target = doc
        for key in trail[:-1]:
            target = target[key]
        target[trail[-1]] = JUNK[k % len(JUNK)]
        glb_file(path, doc, bytes(g.bin))
        try:
            read_gltf(path, max_faces=LIMIT)
        except (MeshReadError, ResourceLimitError) as exc:
            assert "junk.glb" in str(exc)
