"""llvscan's own PLY reader against files written by hand (text, and ``struct`` for binary) and by
trimesh's exporter; trimesh's reader as a peer on what both keep (geometry, vertex colours)."""

from __future__ import annotations

import struct
import time

import numpy as np
import pytest
from conftest import unit_cube

from llvscan.errors import MeshReadError, ResourceLimitError
from llvscan.mesh import load_mesh
from llvscan.mesh.io.ply import read_ply

LIMIT = 10_000_000
SQUARE = [(0.0, 0.0, 0.0), (1.0, 0.0, 0.0), (1.0, 1.0, 0.0), (0.0, 1.0, 0.0)]
_STRUCT = {"char": "b", "uchar": "B", "short": "h", "ushort": "H", "int": "i", "uint": "I", "float": "f",
           "double": "d", "int8": "b", "uint8": "B", "int16": "h", "uint16": "H", "int32": "i",
           "uint32": "I", "float32": "f", "float64": "d"}


def binary_ply(endian: str, comments: list[str], elements: list[tuple[str, list[str], list[list]]]) -> bytes:
    """A binary PLY: ``elements`` are (name, property lines, rows); a row holds one value a scalar
    property and one Python list a list property."""
    order = "<" if endian == "little" else ">"
    header = ["ply", f"format binary_{endian}_endian 1.0", *(f"comment {c}" for c in comments)]
    body = b""
    for name, properties, rows in elements:
        header.append(f"element {name} {len(rows)}")
        header += [f"property {p}" for p in properties]
        for row in rows:
            for p, value in zip(properties, row, strict=True):
                words = p.split()
                if words[0] == "list":
                    body += struct.pack(order + _STRUCT[words[1]], len(value))
                    body += struct.pack(order + _STRUCT[words[2]] * len(value), *value)
                else:
                    code = _STRUCT[words[0]]
                    body += struct.pack(order + code, value if code in "fd" else int(value))
    return ("\n".join([*header, "end_header"]) + "\n").encode() + body


def write(tmp_path, data: bytes | str, name: str = "m.ply"):
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


MESHLAB_ASCII = """ply
format ascii 1.0
comment VCGLIB generated
comment TextureFile tex.png
element vertex 4
property float x
property float y
property float z
property float quality
element face 2
property list uchar int vertex_indices
property list uchar float texcoord
end_header
0 0 0 0.5
1 0 0 0.5
1 1 0 0.5
0 1 0 0.5
3 0 1 2 6 0 0 1 0 1 1
3 0 2 3 6 0 0 1 1 0 1
"""


def test_meshlab_ascii_with_a_texture_and_per_corner_uvs(tmp_path):
    (tmp_path / "tex.png").write_bytes(b"not decoded by the reader")
    m = load_mesh(write(tmp_path, MESHLAB_ASCII))
    assert (m.n_vertices, m.n_faces, m.format) == (4, 2, "ply")  # positions are not split along seams
    assert m.faces.tolist() == [[0, 1, 2], [0, 2, 3]]
    assert m.corner_uv.tolist() == [[[0, 0], [1, 0], [1, 1]], [[0, 0], [1, 1], [0, 1]]]
    assert len(m.uv) == 4 and m.uv_faces.shape == (2, 3)  # six corners, four distinct UVs
    assert [x.texture for x in m.materials] == [str((tmp_path / "tex.png").resolve())]
    assert m.face_material.tolist() == [0, 0]
    assert m.problems == () and m.vertex_colors is None and m.normals is None


def _two_texture_binary(endian: str) -> bytes:
    vertex = ["float x", "float y", "float z", "uchar red", "uchar green", "uchar blue", "uchar alpha",
              "int flags"]
    rows = [[*p, 10 * i, 20 * i, 30 * i, 255 - i, 0] for i, p in enumerate(SQUARE)]
    grid = ["list uchar int vertex_indices"]  # an element to step over, with a list property
    face = ["list uchar int vertex_indices", "list uchar float texcoord", "int texnumber"]
    faces = [[[0, 1, 2], [0, 0, 1, 0, 1, 1], 1], [[0, 2, 3], [0, 0, 0.5, 0.5, 0, 1], 0]]
    return binary_ply(endian, ["TextureFile front.jpg", "TextureFile back.jpg"],
                      [("vertex", vertex, rows), ("range_grid", grid, [[[1, 2]], [[]], [[0, 3, 2]]]),
                       ("face", face, faces)])


@pytest.mark.parametrize("endian", ["little", "big"])
def test_binary_with_two_textures_chosen_by_texnumber(tmp_path, endian):
    for name in ("front.jpg", "back.jpg"):
        (tmp_path / name).write_bytes(b"jpeg")
    m = load_mesh(write(tmp_path, _two_texture_binary(endian)))
    assert m.faces.tolist() == [[0, 1, 2], [0, 2, 3]]
    assert m.vertices.tolist() == [list(p) for p in SQUARE]
    assert [x.texture for x in m.materials] == [str((tmp_path / n).resolve()) for n in ("front.jpg", "back.jpg")]
    assert m.face_material.tolist() == [1, 0]
    assert m.corner_uv.tolist() == [[[0, 0], [1, 0], [1, 1]], [[0, 0], [0.5, 0.5], [0, 1]]]
    assert m.vertex_colors.tolist() == [[10 * i, 20 * i, 30 * i, 255 - i] for i in range(4)]
    assert m.problems == ()


COUNT_TYPES = ["uchar", "char", "ushort", "short", "int", "uint"]
INDEX_TYPES = ["int", "uint", "uchar", "char", "short", "ushort"]
COORD_TYPES = ["float", "double", "short", "int", "char", "uchar", "float32", "float64"]


@pytest.mark.parametrize("endian", ["little", "big"])
@pytest.mark.parametrize(("coord", "count", "index"), list(zip(COORD_TYPES, COUNT_TYPES + COUNT_TYPES[:2],
                                                                INDEX_TYPES + INDEX_TYPES[:2], strict=True)))
def test_every_scalar_type_and_list_types_in_both_byte_orders(tmp_path, endian, coord, count, index):
    v, f = unit_cube()
    data = binary_ply(endian, [], [("vertex", [f"{coord} x", f"{coord} y", f"{coord} z"], v.tolist()),
                                   ("face", [f"list {count} {index} vertex_indices"], [[r] for r in f.tolist()])])
    m = read_ply(write(tmp_path, data), max_faces=LIMIT)
    assert m.vertices.tolist() == v.tolist() and m.faces.tolist() == f.tolist()


def test_uchar_vertex_colours_agree_with_trimesh(tmp_path):
    import trimesh

    sphere = trimesh.creation.icosphere(subdivisions=2)
    colors = np.random.default_rng(7).integers(0, 256, (len(sphere.vertices), 4), dtype=np.uint8)
    for encoding in ("ascii", "binary"):
        mesh = trimesh.Trimesh(sphere.vertices, sphere.faces, vertex_colors=colors, process=False)
        path = write(tmp_path, mesh.export(file_type="ply", encoding=encoding), f"{encoding}.ply")
        ours = read_ply(path, max_faces=LIMIT)
        peer = trimesh.load(path, process=False)
        assert ours.n_faces == len(peer.faces) == 320
        assert np.array_equal(ours.faces, peer.faces)
        assert np.allclose(ours.vertices, peer.vertices, atol=1e-6)
        assert np.array_equal(ours.vertex_colors, peer.visual.vertex_colors)
        assert np.array_equal(ours.vertex_colors, colors)


def test_float_vertex_colours_scale_to_bytes_and_alpha_defaults_to_opaque(tmp_path):
    text = ("ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\n"
            "property float red\nproperty float green\nproperty double blue\nelement face 1\n"
            "property list uchar int vertex_indices\nend_header\n"
            "0 0 0 1 0 0.5\n1 0 0 0 1 0.2\n0 1 0 2 -1 0.003921\n3 0 1 2\n")
    m = read_ply(write(tmp_path, text), max_faces=LIMIT)
    assert m.vertex_colors.dtype == np.uint8
    assert m.vertex_colors.tolist() == [[255, 0, 128, 255], [0, 255, 51, 255], [255, 0, 1, 255]]


def test_meshlab_diffuse_colours_normals_and_units(tmp_path):
    text = ("ply\nformat ascii 1.0\ncomment units mm\nelement vertex 3\nproperty float x\nproperty float y\n"
            "property float z\nproperty float nx\nproperty float ny\nproperty float nz\n"
            "property uchar diffuse_red\nproperty uchar diffuse_green\nproperty uchar diffuse_blue\n"
            "element face 1\nproperty list uchar int vertex_index\nend_header\n"
            "0 0 0 0 0 1 1 2 3\n1 0 0 0 0 1 4 5 6\n0 1 0 0 0 1 7 8 9\n3 0 1 2\n")
    m = load_mesh(write(tmp_path, text))
    assert m.units == "mm"
    assert m.vertex_colors.tolist() == [[1, 2, 3, 255], [4, 5, 6, 255], [7, 8, 9, 255]]
    assert m.normals.tolist() == [[0, 0, 1]] * 3 and m.normal_faces.tolist() == [[0, 1, 2]]


@pytest.mark.parametrize(("u", "v"), [("s", "t"), ("u", "v"), ("texture_u", "texture_v")])
def test_per_vertex_uvs_share_the_face_indices(tmp_path, u, v):
    (tmp_path / "t.jpg").write_bytes(b"jpeg")
    text = ("ply\nformat ascii 1.0\ncomment TextureFile t.jpg\nelement vertex 3\nproperty float x\n"
            f"property float y\nproperty float z\nproperty float {u}\nproperty float {v}\nelement face 1\n"
            "property list uchar int vertex_indices\nend_header\n0 0 0 0 0\n1 0 0 1 0\n0 1 0 0 1\n3 0 1 2\n")
    m = read_ply(write(tmp_path, text), max_faces=LIMIT)
    assert m.uv.tolist() == [[0, 0], [1, 0], [0, 1]] and m.uv_faces.tolist() == [[0, 1, 2]]
    assert len(m.materials) == 1 and m.face_material.tolist() == [0]


def test_quads_and_polygons_are_fan_triangulated_alike_in_ascii_and_binary(tmp_path):
    points = [*SQUARE, (0.5, 1.5, 0.0)]
    polygons = [[0, 1, 2, 3], [3, 2, 4], [0, 1, 2, 4, 3]]
    expected = [[0, 1, 2], [0, 2, 3], [3, 2, 4], [0, 1, 2], [0, 2, 4], [0, 4, 3]]
    text = ("ply\nformat ascii 1.0\nelement vertex 5\nproperty float x\nproperty float y\nproperty float z\n"
            "element face 3\nproperty list uchar int vertex_indices\nend_header\n"
            + "".join(" ".join(map(str, p)) + "\n" for p in points)
            + "".join(f"{len(p)} {' '.join(map(str, p))}\n" for p in polygons))
    data = binary_ply("little", [], [("vertex", ["float x", "float y", "float z"], [list(p) for p in points]),
                                     ("face", ["list uchar int vertex_indices"], [[p] for p in polygons])])
    for path in (write(tmp_path, text, "a.ply"), write(tmp_path, data, "b.ply")):
        assert read_ply(path, max_faces=LIMIT).faces.tolist() == expected


def test_many_mixed_polygons_in_binary_read_fast_and_right(tmp_path):
    rng = np.random.default_rng(3)
    sizes = rng.choice([3, 4, 5], size=20_000, p=[0.6, 0.3, 0.1])
    polygons = [list(range(k)) for k in sizes]
    points = [list(p) for p in [*SQUARE, SQUARE[0]]]
    data = binary_ply("big", [], [("vertex", ["float x", "float y", "float z"], points),
                                  ("face", ["list uchar uint vertex_indices"], [[p] for p in polygons])])
    start = time.perf_counter()
    m = read_ply(write(tmp_path, data), max_faces=LIMIT)
    assert time.perf_counter() - start < 5.0
    assert m.n_faces == int((sizes - 2).sum())
    first = np.concatenate([[0], np.cumsum(sizes - 2)[:-1]])
    assert (m.faces[first, 0] == 0).all() and (m.faces[:, 2] == m.faces[:, 1] + 1).all()


@pytest.mark.parametrize("faces", ["", "element face 0\nproperty list uchar int vertex_indices\n"])
def test_a_point_cloud_is_named_as_such(tmp_path, faces):
    text = ("ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\n"
            f"{faces}end_header\n0 0 0\n1 0 0\n0 1 0\n")
    with pytest.raises(MeshReadError, match=r"m\.ply: point cloud: 3 vertices and no faces"):
        load_mesh(write(tmp_path, text))


def test_a_binary_file_truncated_anywhere_is_a_read_error(tmp_path):
    full = _two_texture_binary("little")
    assert read_ply(write(tmp_path, full), max_faces=LIMIT).n_faces == 2
    for cut in range(0, len(full), 3):
        with pytest.raises(MeshReadError):
            read_ply(write(tmp_path, full[:cut]), max_faces=LIMIT)
    with pytest.raises(MeshReadError, match=r"m\.ply: file ends in element 'face' \(row 1 of 2\): truncated"):
        read_ply(write(tmp_path, full[:-10]), max_faces=LIMIT)


@pytest.mark.parametrize("encoding", ["ascii", "binary_little_endian"])
def test_a_header_claiming_a_billion_vertices_is_refused_at_once(tmp_path, encoding):
    head = (f"ply\nformat {encoding} 1.0\nelement vertex 1000000000\nproperty float x\nproperty float y\n"
            "property float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n")
    path = write(tmp_path, head.encode() + b"0" * 100)
    start = time.perf_counter()
    with pytest.raises(MeshReadError, match=r"m\.ply: header claims elements needing at least"):
        load_mesh(path)
    assert time.perf_counter() - start < 1.0
    write(tmp_path, head.replace("element face 1", "element face 300000000").encode() + b"0" * 100)
    with pytest.raises(ResourceLimitError, match="above the face limit"):
        load_mesh(path)


def test_a_list_length_past_the_end_is_a_read_error_not_an_allocation(tmp_path):
    data = binary_ply("little", [], [("vertex", ["float x", "float y", "float z"], [list(p) for p in SQUARE]),
                                     ("face", ["list uint int vertex_indices"], [[[0, 1, 2]]])])
    data = data[:-16] + struct.pack("<I", 2_000_000_000) + data[-12:]
    with pytest.raises(MeshReadError, match="truncated"):
        read_ply(write(tmp_path, data), max_faces=LIMIT)


@pytest.mark.parametrize("reference", ["../../outside.png", "ABSOLUTE"])
def test_a_texture_outside_the_root_is_an_unsafe_reference_and_not_used(tmp_path, reference):
    folder = tmp_path / "a" / "b"
    folder.mkdir(parents=True)
    outside = tmp_path / "outside.png"
    outside.write_bytes(b"secret")
    reference = str(outside) if reference == "ABSOLUTE" else reference
    m = load_mesh(write(folder, MESHLAB_ASCII.replace("tex.png", reference)))
    assert m.n_faces == 2 and m.uv is not None
    assert [p.code for p in m.problems] == ["unsafe_reference"]
    assert m.materials[0].texture is None and m.textures == ()
    inside = load_mesh(folder / "m.ply", root=tmp_path)  # the collection root holds it: allowed
    assert inside.problems == () and inside.textures == (str(outside.resolve()),)


def test_a_missing_texture_is_a_problem_and_the_mesh_is_still_read(tmp_path):
    m = load_mesh(write(tmp_path, MESHLAB_ASCII))
    assert m.n_faces == 2
    assert [(p.code, p.path) for p in m.problems] == [("missing_texture", str((tmp_path / "tex.png").resolve()))]
    assert m.materials[0].texture == str((tmp_path / "tex.png").resolve())


def test_faces_naming_missing_vertices_are_dropped_and_their_lines_named(tmp_path):
    text = ("ply\nformat ascii 1.0\nelement vertex 4\nproperty float x\nproperty float y\nproperty float z\n"
            "element face 3\nproperty list uchar int vertex_indices\nend_header\n"
            "0 0 0\n1 0 0\n1 1 0\n0 1 0\n3 0 1 2\n4 0 1 2 9\n3 0 2 -1\n")
    m = read_ply(write(tmp_path, text), max_faces=LIMIT)
    assert m.faces.tolist() == [[0, 1, 2]]
    assert (m.dropped_faces, m.dropped_face_lines) == (2, (15, 16))


@pytest.mark.parametrize(("body", "message"), [
    ("0 0 0\n1 0 zero\n0 1 0\n3 0 1 2\n", r"line 11: malformed number 'zero'"),
    ("0 0 0\n1 0 0\n0 1 0\n3 0 1 2 7\n", r"line 13: 5 values where element 'face' has 4"),
    ("0 0 0\n1 0\n0 1 0\n3 0 1 2\n", r"line 11: too few values for element 'vertex'"),
    ("0 0 0\n1 0 0\n0 1 0\n" + " " * 20, r"file ends in element 'face' \(row 0 of 1\)"),
])
def test_malformed_ascii_names_the_line(tmp_path, body, message):
    head = ("ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\n"
            "element face 1\nproperty list uchar int vertex_indices\nend_header\n")
    with pytest.raises(MeshReadError, match=r"m\.ply: " + message):
        read_ply(write(tmp_path, head + body), max_faces=LIMIT)


@pytest.mark.parametrize(("header", "message"), [
    ("ply\nformat ebcdic 1.0\n", "header line 2: unknown format"),
    ("ply\nformat ascii 1.0\nelement vertex 3\nproperty quad x\n", "header line 4: malformed property"),
    ("ply\nformat ascii 1.0\nproperty float x\n", "header line 3: property before any element"),
    ("plx\n", "not a PLY file"),
])
def test_malformed_headers(tmp_path, header, message):
    with pytest.raises(MeshReadError, match=message):
        read_ply(write(tmp_path, header + "end_header\n0 0 0\n"), max_faces=LIMIT)


def test_more_triangles_than_the_limit_after_triangulation(tmp_path):
    text = ("ply\nformat ascii 1.0\nelement vertex 4\nproperty float x\nproperty float y\nproperty float z\n"
            "element face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0\n1 0 0\n1 1 0\n0 1 0\n"
            "4 0 1 2 3\n")
    with pytest.raises(ResourceLimitError, match="2 triangles exceed the face limit 1"):
        read_ply(write(tmp_path, text), max_faces=1)


@pytest.mark.parametrize("encoding", ["ascii", "little", "big"])
def test_flipped_bytes_give_a_mesh_or_a_read_error_never_a_crash(tmp_path, encoding):
    if encoding == "ascii":
        full = MESHLAB_ASCII.replace("property float quality", "property uchar red").replace(" 0.5\n", " 7\n").encode()
    else:
        full = _two_texture_binary(encoding)
    body = full.index(b"end_header") + 11
    rng = np.random.default_rng(11)
    outcomes = set()
    for _ in range(300):
        data = bytearray(full)
        for at in rng.integers(body if rng.random() < 0.8 else 0, len(full), size=int(rng.integers(1, 4))):
            data[at] = int(rng.choice([ord("9"), ord("-"), ord("x"), ord(" "), 0, 255, int(rng.integers(0, 256))]))
        try:
            m = read_ply(write(tmp_path, bytes(data)), max_faces=LIMIT)
            outcomes.add("mesh")
            assert m.faces.shape[1] == 3 and m.faces.min() >= 0 and m.faces.max() < m.n_vertices
        except (MeshReadError, ResourceLimitError):
            outcomes.add("error")
    assert outcomes == {"mesh", "error"}


def test_ascii_with_crlf_blank_lines_and_an_element_to_step_over_reads_like_binary(tmp_path):
    for name in ("front.jpg", "back.jpg"):
        (tmp_path / name).write_bytes(b"jpeg")
    binary = read_ply(write(tmp_path, _two_texture_binary("little"), "b.ply"), max_faces=LIMIT)
    text = ("ply\r\nformat ascii 1.0\r\ncomment TextureFile front.jpg\r\ncomment TextureFile back.jpg\r\n"
            "element vertex 4\r\nproperty float x\r\nproperty float y\r\nproperty float z\r\n"
            "property uchar red\r\nproperty uchar green\r\nproperty uchar blue\r\nproperty uchar alpha\r\n"
            "property int flags\r\nelement range_grid 3\r\nproperty list uchar int vertex_indices\r\n"
            "element face 2\r\nproperty list uchar int vertex_indices\r\nproperty list uchar float texcoord\r\n"
            "property int texnumber\r\nend_header\r\n"
            "0 0 0 0 0 0 255 0\r\n1 0 0 10 20 30 254 0\r\n\r\n1 1 0 20 40 60 253 0\r\n0 1 0 30 60 90 252 0\r\n"
            "2 1 2\r\n0\r\n3 0 3 2\r\n"
            "3 0 1 2 6 0 0 1 0 1 1 1\r\n\r\n3 0 2 3 6 0 0 0.5 0.5 0 1 0\r\n")
    ascii_ = read_ply(write(tmp_path, text, "a.ply"), max_faces=LIMIT)
    for key in ("vertices", "faces", "uv", "uv_faces", "vertex_colors", "face_material"):
        assert np.array_equal(getattr(ascii_, key), getattr(binary, key)), key
    assert ascii_.textures == binary.textures and len(ascii_.textures) == 2


def test_a_quad_mesh_has_as_many_triangles_as_trimesh_makes(tmp_path):
    import trimesh

    quads = [[0, 3, 2, 1], [4, 5, 6, 7], [0, 1, 5, 4], [2, 3, 7, 6], [1, 2, 6, 5], [0, 4, 7, 3]]
    v, _ = unit_cube()
    data = binary_ply("little", [], [("vertex", ["double x", "double y", "double z"], v.tolist()),
                                     ("face", ["list uchar int vertex_indices"], [[q] for q in quads])])
    path = write(tmp_path, data)
    ours = load_mesh(path)
    peer = trimesh.load(path, process=False)
    assert ours.n_faces == len(peer.faces) == 12
    assert ours.faces[::2].tolist() == [[q[0], q[1], q[2]] for q in quads]
    assert abs(trimesh.Trimesh(ours.vertices, ours.faces).volume) == pytest.approx(1.0)


def test_a_utf8_texture_name_resolves(tmp_path):
    (tmp_path / "tête.png").write_bytes(b"png")
    m = load_mesh(write(tmp_path, MESHLAB_ASCII.replace("tex.png", "tête.png")))
    assert m.problems == () and m.textures == (str((tmp_path / "tête.png").resolve()),)


@pytest.mark.parametrize("endian", ["little", "big"])
def test_mixed_polygons_with_texcoords_read_alike_in_binary_and_ascii(tmp_path, endian):
    rng = np.random.default_rng(5)
    n_v, n_f = 50, 3000
    points = rng.random((n_v, 3)).round(3).tolist()
    polygons = [rng.choice(n_v, size=int(k), replace=False).tolist() for k in rng.choice([3, 4, 6], size=n_f)]
    texcoords = [rng.random(2 * len(p)).round(2).tolist() for p in polygons]
    texnumbers = rng.integers(0, 2, n_f).tolist()
    face = ["list uchar int vertex_indices", "list int float texcoord", "int texnumber"]
    rows = [[p, t, k] for p, t, k in zip(polygons, texcoords, texnumbers, strict=True)]
    comments = ["TextureFile a.png", "TextureFile b.png"]
    data = binary_ply(endian, comments, [("vertex", ["double x", "double y", "double z"], points),
                                         ("face", face, rows)])
    text = ("ply\nformat ascii 1.0\n" + "".join(f"comment {c}\n" for c in comments)
            + f"element vertex {n_v}\nproperty double x\nproperty double y\nproperty double z\n"
            + f"element face {n_f}\n" + "".join(f"property {p}\n" for p in face) + "end_header\n"
            + "".join(" ".join(map(str, p)) + "\n" for p in points)
            + "".join(f"{len(p)} {' '.join(map(str, p))} {len(t)} {' '.join(map(str, t))} {k}\n"
                      for p, t, k in rows))
    binary = read_ply(write(tmp_path, data, "b.ply"), max_faces=LIMIT)
    ascii_ = read_ply(write(tmp_path, text, "a.ply"), max_faces=LIMIT)
    n_tri = sum(len(p) - 2 for p in polygons)
    assert binary.n_faces == ascii_.n_faces == n_tri
    for key in ("vertices", "faces", "uv_faces", "face_material"):
        assert np.array_equal(getattr(ascii_, key), getattr(binary, key)), key
    assert np.allclose(ascii_.corner_uv, binary.corner_uv)
    last = polygons[-1]
    assert binary.faces[-1].tolist() == [last[0], last[-2], last[-1]]
    assert np.array_equal(binary.corner_uv[-1], np.array(texcoords[-1], np.float32).reshape(-1, 2)[[0, -2, -1]])
    assert binary.face_material[-1] == texnumbers[-1]
