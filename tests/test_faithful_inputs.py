"""Real inputs in, faithful derivatives out, end to end: for every kind of textured input a museum
receives, every LOD level and the thumbnail carry every material's texture.

Inputs are built independently of llvscan's writers: glTF by hand (``test_gltf_reader.Gltf``: json +
struct) and DracoPy, OBJ/MTL and PLY as text. Two quads side by side, the left one red, the right one
blue (or three materials for the OBJ); the written GLBs are read back with the tests' own GLB parser
and their images decoded with Pillow.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_gltf import read_glb, validate
from test_gltf_reader import FLOAT, QUAD_FACES, QUAD_UV, USHORT, Gltf, expected_vertices, png, two_quads

from llvscan.mesh import build_lods, load_mesh, validate_mesh
from llvscan.mesh.lod.recipe import LodLevel, LodRecipe

RECIPE = LodRecipe("faithful", (LodLevel("keep", "Web3D", "High", 10_000, 64),
                                LodLevel("small", "Web3D", "Thumb", 4, 16, texture_format="png")), thumbnail_size=96)
COLOURS = {"red": (255, 0, 0), "blue": (0, 0, 255), "green": (0, 128, 0)}


def _textures_gltf(g: Gltf, folder: Path, *, external: bool) -> None:
    names = ("red", "blue")
    if external:
        for name in names:
            (folder / f"{name} map.png").write_bytes(png(name))  # a space in the name, %20 in the URI
        g.doc["images"] = [{"uri": f"{name}%20map.png"} for name in names]
    else:
        import base64

        g.doc["images"] = [{"uri": "data:image/png;base64," + base64.b64encode(png(n)).decode()} for n in names]
    g.doc["textures"] = [{"source": 0}, {"source": 1}]
    for k, material in enumerate(g.doc["materials"]):
        material["pbrMetallicRoughness"]["baseColorTexture"] = {"index": k}


def glb_bin(folder: Path) -> tuple[Path, dict[str, str]]:
    return two_quads().glb(folder / "quads.glb"), {"red": "red", "blue": "blue"}


def gltf_external(folder: Path) -> tuple[Path, dict[str, str]]:
    g = two_quads(textures=False)
    _textures_gltf(g, folder, external=True)
    return g.gltf(folder / "quads.gltf", buffer_uri="quads.bin"), {"red": "red", "blue": "blue"}


def gltf_data_uri(folder: Path) -> tuple[Path, dict[str, str]]:
    g = two_quads(textures=False)
    _textures_gltf(g, folder, external=False)
    return g.gltf(folder / "inline.gltf"), {"red": "red", "blue": "blue"}


def glb_draco(folder: Path) -> tuple[Path, dict[str, str]]:
    import DracoPy

    g = Gltf()
    red = g.material(g.image(png("red")), name="red")
    blue = g.material(g.image(png("blue")), name="blue")
    primitives = []
    for offset, material in ((0.0, red), (2.0, blue)):
        positions = expected_vertices()[:4] + np.array([offset, 0.0, 0.0])
        data = DracoPy.encode(positions, QUAD_FACES.astype(np.uint32), tex_coord=QUAD_UV.astype(np.float64),
                              preserve_order=True, quantization_bits=16)
        ids = {a["attribute_type"]: a["unique_id"] for a in DracoPy.decode(data).attributes}
        g.doc["accessors"] += [
            {"componentType": FLOAT, "count": 4, "type": "VEC3", "min": positions.min(0).tolist(),
             "max": positions.max(0).tolist()},
            {"componentType": FLOAT, "count": 4, "type": "VEC2"},
            {"componentType": USHORT, "count": 6, "type": "SCALAR"}]
        a = len(g.doc["accessors"]) - 3
        primitives.append({"attributes": {"POSITION": a, "TEXCOORD_0": a + 1}, "indices": a + 2, "material": material,
                           "extensions": {"KHR_draco_mesh_compression": {
                               "bufferView": g.view(data), "attributes": {"POSITION": ids[0], "TEXCOORD_0": ids[3]}}}})
    g.mesh(primitives)
    g.doc["extensionsUsed"] = g.doc["extensionsRequired"] = ["KHR_draco_mesh_compression"]
    return g.glb(folder / "draco.glb"), {"red": "red", "blue": "blue"}


def obj_three_materials(folder: Path) -> tuple[Path, dict[str, str]]:
    (folder / "maps").mkdir()
    Image.new("RGB", (8, 8), COLOURS["red"]).save(folder / "maps" / "fuze red.png")
    Image.new("RGB", (8, 8), COLOURS["blue"]).save(folder / "maps" / "fuze blue.png")
    (folder / "scan.mtl").write_text(
        "newmtl red\nKd 0.8 0.8 0.8\nmap_Kd -s 1 1 1 -bm 0.5 .\\maps\\fuze red.png\n"
        "newmtl blue\nmap_Kd -clamp on ./maps/fuze blue.png\n"
        "newmtl green\nKd 0 0.5 0\n")
    lines = ["mtllib scan.mtl"]
    for x in (0.0, 2.0, 4.0):
        lines += [f"v {x} 0 0", f"v {x + 1} 0 0", f"v {x + 1} 1 0", f"v {x} 1 0"]
    lines += ["vt 0 0", "vt 1 0", "vt 1 1", "vt 0 1"]
    for k, name in enumerate(("red", "blue", "green")):
        a = 4 * k
        lines += [f"usemtl {name}", f"f {a + 1}/1 {a + 2}/2 {a + 3}/3", f"f {a + 1}/1 {a + 3}/3 {a + 4}/4"]
    (folder / "scan.obj").write_text("\n".join(lines) + "\n")
    return folder / "scan.obj", {"red": "red", "blue": "blue"}


def ply_meshlab(folder: Path) -> tuple[Path, dict[str, str]]:
    Image.new("RGB", (8, 8), COLOURS["red"]).save(folder / "left.png")
    Image.new("RGB", (8, 8), COLOURS["blue"]).save(folder / "right.png")
    corners = "0 0 1 0 1 1"
    text = ["ply", "format ascii 1.0", "comment TextureFile left.png", "comment TextureFile right.png",
            "element vertex 8", "property float x", "property float y", "property float z",
            "element face 4", "property list uchar int vertex_indices", "property list uchar float texcoord",
            "property int texnumber", "end_header"]
    for x in (0.0, 2.0):
        text += [f"{x} 0 0", f"{x + 1} 0 0", f"{x + 1} 1 0", f"{x} 1 0"]
    for k in (0, 1):
        a = 4 * k
        text += [f"3 {a} {a + 1} {a + 2} 6 {corners} {k}", f"3 {a} {a + 2} {a + 3} 6 0 0 1 1 0 1 {k}"]
    (folder / "scan.ply").write_text("\n".join(text) + "\n")
    return folder / "scan.ply", {"left": "red", "right": "blue"}


KINDS: dict[str, Callable[[Path], tuple[Path, dict[str, str]]]] = {
    "GLB, two materials, images in the BIN chunk": glb_bin,
    "glTF, external .bin and PNGs (names with spaces)": gltf_external,
    "glTF, buffer and images as data URIs": gltf_data_uri,
    "GLB, KHR_draco_mesh_compression": glb_draco,
    "OBJ + MTL, three materials, texture options, backslashes": obj_three_materials,
    "PLY (MeshLab), two TextureFiles chosen by texnumber": ply_meshlab,
}


def _mean(document: dict, binary: bytes, texture: int) -> np.ndarray:
    image = document["images"][document["textures"][texture]["source"]]
    view = document["bufferViews"][image["bufferView"]]
    with Image.open(io.BytesIO(binary[view["byteOffset"]:view["byteOffset"] + view["byteLength"]])) as decoded:
        return np.asarray(decoded.convert("RGB"), dtype=np.float64).reshape(-1, 3).mean(axis=0)


def carried(path: Path, out: Path) -> tuple[int, list[dict[str, tuple[int, int, int]]], set[str]]:
    """Textured materials in, per level the decoded colour of each material's texture, and the colours
    seen on the thumbnail."""
    mesh = load_mesh(path)
    textured_in = sum(1 for m in mesh.materials if m.texture)
    lods = build_lods(mesh, RECIPE, out)
    levels = []
    for level in lods.levels:
        document, binary = read_glb(out / level.uri)
        colours = {}
        for material in document["materials"]:
            texture = material["pbrMetallicRoughness"].get("baseColorTexture")
            if texture is not None:
                colours[material["name"]] = tuple(round(c) for c in _mean(document, binary, texture["index"]))
        levels.append(colours)
    with Image.open(out / lods.thumbnail) as thumb:
        pixels = np.asarray(thumb.convert("RGB"), dtype=np.int64).reshape(-1, 3)
    seen = set()
    if ((pixels[:, 0] > 120) & (pixels[:, 2] < 60)).sum() > 20:
        seen.add("red")
    if ((pixels[:, 2] > 120) & (pixels[:, 0] < 60)).sum() > 20:
        seen.add("blue")
    return textured_in, levels, seen


def _colour_name(rgb: tuple[int, int, int]) -> str:
    return min(COLOURS, key=lambda name: sum((a - b) ** 2 for a, b in zip(COLOURS[name], rgb, strict=True)))


@pytest.mark.parametrize("kind", KINDS)
def test_every_level_and_the_thumbnail_carry_every_texture(tmp_path, kind):
    path, expected = KINDS[kind](tmp_path)
    report = validate_mesh(load_mesh(path))
    assert [f.code for f in report.errors] == []  # nothing missing, nothing read past
    textured_in, levels, seen = carried(path, tmp_path / "lods")
    assert textured_in == len(expected)
    for colours in levels:
        assert {name: _colour_name(rgb) for name, rgb in colours.items()} == expected, kind
    assert seen == set(expected.values()), kind
    for level in sorted((tmp_path / "lods").glob("*.glb")):  # and every level passes the Khronos validator
        code, report = validate(level)
        assert (code, report["numErrors"]) == (0, 0), (kind, level.name, report["messages"][:3])


def test_vertex_colours_of_a_ply_reach_every_level(tmp_path):
    """A PLY with uchar vertex colours (written by trimesh's exporter, an independent writer)."""
    import trimesh
    from test_gltf import primitive_arrays

    left = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], dtype=np.float64)
    vertices = np.concatenate([left, left + np.array([2.0, 0.0, 0.0])])
    faces = np.concatenate([QUAD_FACES, QUAD_FACES + 4]).astype(np.int64)
    colours = np.repeat(np.array([[255, 0, 0, 255], [0, 0, 255, 255]], dtype=np.uint8), 4, axis=0)
    (tmp_path / "coloured.ply").write_bytes(
        trimesh.Trimesh(vertices, faces, vertex_colors=colours, process=False).export(file_type="ply"))
    mesh = load_mesh(tmp_path / "coloured.ply")
    np.testing.assert_array_equal(mesh.vertex_colors, colours)
    lods = build_lods(mesh, RECIPE, tmp_path / "lods")
    for level in lods.levels:
        [arrays] = primitive_arrays(tmp_path / "lods" / level.uri)
        colour = arrays["COLOR_0"]  # written linear, as glTF defines COLOR_0 (8-bit when Draco carries it)
        linear = colour.astype(np.float64) / np.iinfo(colour.dtype).max
        srgb = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055) * 255
        left_side = arrays["POSITION"][:, 0] < 1.5
        assert np.allclose(srgb[left_side, :3], [255, 0, 0], atol=1) and np.allclose(srgb[~left_side, :3],
                                                                                     [0, 0, 255], atol=1)
