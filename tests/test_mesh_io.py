"""Mesh reading: llvscan's OBJ parser against hand-written files and trimesh; the other formats' guards."""

from __future__ import annotations

import time

import numpy as np
import pytest
from conftest import unit_cube, write_obj

from llvscan.errors import MeshReadError, ResourceLimitError
from llvscan.mesh import load_mesh, validate_mesh

SQUARE = "v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\n"


def obj(tmp_path, text, name="m.obj"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_quads_and_polygons_are_fan_triangulated(tmp_path):
    m = load_mesh(obj(tmp_path, SQUARE + "v 0.5 1.5 0\nf 1 2 3 4\nf 4 3 5\nf 1 2 3 5 4\n"))
    assert m.faces.tolist() == [[0, 1, 2], [0, 2, 3], [3, 2, 4], [0, 1, 2], [0, 2, 4], [0, 4, 3]]


def test_negative_indices_slashes_comments_crlf_and_tabs(tmp_path):
    text = ("# scan\r\nv 0 0 0\r\nv 1 0 0 # trailing comment\r\nv\t0 1 0\r\nvt 0 0\r\nvt 1 0\r\nvt 0 1\r\n"
            "vn 0 0 1\r\n\r\nf -3/-3/1 -2/-2/1 -1/-1/1\r\nf 1//1 2//1 3//1\r\nf 1/1 2/2 3/3\r\n")
    m = load_mesh(obj(tmp_path, text))
    assert m.faces.tolist() == [[0, 1, 2]] * 3
    assert m.uv_faces.tolist() == [[0, 1, 2], [-1, -1, -1], [0, 1, 2]]
    assert m.normal_faces.tolist() == [[0, 0, 0], [0, 0, 0], [-1, -1, -1]]
    assert m.normals.tolist() == [[0.0, 0.0, 1.0]]


def test_numbers_parse_like_python(tmp_path):
    """Correctly rounded (equal to Python's float) for exponents within ±22; beyond, within a few ulps."""
    values = ["0", "-1.5", "3.14159265358979", "1e-3", "-2.5E+2", "+7.", ".5", "123456789.123456789",
              "-0.000001"]
    rows = [values[i:i + 3] for i in range(0, 9, 3)]
    text = "".join(f"v {' '.join(r)}\n" for r in rows) + "v 1e300 -4e-310 2.5e-30\nf 1 2 3\n"
    m = load_mesh(obj(tmp_path, text))
    assert m.vertices[:3].tolist() == [[float(x) for x in r] for r in rows]
    assert m.vertices[3] == pytest.approx([1e300, -4e-310, 2.5e-30], rel=1e-14)


def test_materials_and_vertex_colours(tmp_path):
    (tmp_path / "m.mtl").write_text("newmtl stone\nKd 0.5 0.5 0.5\nmap_Kd -s 1 1 1 stone.jpg\n"
                                    "newmtl bronze\nKd 1 0.5 0\n")
    text = ("mtllib m.mtl\nv 0 0 0 1 0 0\nv 1 0 0 0 1 0\nv 1 1 0 0 0 1\nv 0 1 0 1 1 1\n"
            "usemtl bronze\nf 1 2 3\nusemtl stone\nf 1 3 4\nusemtl unknown\nf 1 2 4\n")
    m = load_mesh(obj(tmp_path, text))
    assert [x.name for x in m.materials] == ["stone", "bronze", "unknown"]
    assert m.materials[0].texture == str((tmp_path / "stone.jpg").resolve())
    assert m.materials[1].color == (1.0, 0.5, 0.0)
    assert m.face_material.tolist() == [1, 0, 2]
    assert m.vertex_colors[:, :3].tolist() == [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]]


def test_out_of_range_and_huge_indices_drop_the_face_and_name_the_line(tmp_path):
    m = load_mesh(obj(tmp_path, SQUARE + "f 1 2 3\nf 1 2 90211\nf 1 2 1000000000\nf 0 1 2\n"))
    assert m.faces.tolist() == [[0, 1, 2]]
    assert (m.dropped_faces, m.dropped_face_lines) == (3, (6, 7, 8))
    r = validate_mesh(m)
    assert not r.is_valid and r.out_of_range_faces == 3
    assert r.errors[0].code == "out_of_range_faces" and r.errors[0].sample == [6, 7, 8]


@pytest.mark.parametrize(("text", "message"), [
    ("v 0 0 zero\nf 1 1 1\n", "line 1: malformed number"),
    ("v 0 0\nf 1 1 1\n", "line 1: too few coordinates"),
    (SQUARE + "f 1 2 x\n", "line 5: malformed face"),
    (SQUARE + "f 1/2/3/4 2 3\n", "line 5: malformed face"),
])
def test_malformed_lines_are_read_errors_with_line_numbers(tmp_path, text, message):
    with pytest.raises(MeshReadError, match=message):
        load_mesh(obj(tmp_path, text))


def test_nan_coordinates_become_a_finding(tmp_path):
    r = validate_mesh(obj(tmp_path, "v nan 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 inf\nf 1 2 3\nf 2 3 4\n"))
    assert r.non_finite_vertices == 2 and not r.is_valid


def test_same_geometry_and_uvs_as_trimesh(sample_collection):
    import trimesh

    path = sample_collection / "sculpture" / "bust.obj"
    ours = load_mesh(path)
    peer = trimesh.load(path, force="mesh", process=False)
    assert np.array_equal(ours.vertices[ours.faces], np.asarray(peer.vertices)[peer.faces])
    assert np.allclose(ours.corner_uv, np.asarray(peer.visual.uv)[peer.faces])
    vertices, faces, _ = ours.split_by_uv()
    assert len(vertices) == len(peer.vertices) == 76_614  # one vertex per (position, UV) pair
    assert np.array_equal(vertices[faces], ours.vertices[ours.faces])
    assert ours.units == "mm" and ours.textures[0].endswith("bust_albedo.jpg")


def test_obj_truncated_at_many_offsets_never_crashes(tmp_path):
    v, f = unit_cube()
    lines = [f"v {x} {y} {z}" for x, y, z in v.tolist()] + ["vt 0 0", "vt 1 0", "vt 0 1"]
    lines += [f"f {a + 1}/1 {b + 1}/2 {c + 1}/3" for a, b, c in f.tolist()]
    full = ("\n".join(lines) + "\n").encode()
    outcomes = set()
    for cut in range(0, len(full), 5):
        path = tmp_path / "t.obj"
        path.write_bytes(full[:cut])
        try:
            r = validate_mesh(path)
            outcomes.add("report")
            assert r.faces <= 12
        except MeshReadError:
            outcomes.add("error")
    assert outcomes == {"report", "error"}


@pytest.mark.parametrize("seed", range(5))
def test_a_garbage_number_is_named_by_its_line(tmp_path, seed):
    """A cube whose one coordinate, on a line drawn at random, is garbage: the one right answer is a
    MeshReadError naming the file and that line."""
    rng = np.random.default_rng(seed)
    v, f = unit_cube()
    lines = [f"v {x} {y} {z}" for x, y, z in v.tolist()] + [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in f.tolist()]
    row, column = int(rng.integers(0, len(v))), int(rng.integers(1, 4))
    words = lines[row].split()
    words[column] = str(rng.choice(["1.2.3", "--4", "e5", "0x1f", "1e+-2", "1,5", "abc", "1..2", ".", "-"]))
    lines[row] = " ".join(words)
    path = tmp_path / "garbage.obj"
    path.write_text("# a cube\n" + "\n".join(lines) + "\n")
    with pytest.raises(MeshReadError) as info:
        validate_mesh(path)
    assert str(info.value) == f"{path}: line {row + 2}: malformed number"


def test_ply_header_claiming_a_billion_vertices_is_refused_at_once(tmp_path):
    path = tmp_path / "bomb.ply"
    path.write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex 1000000000\nproperty float x\n"
                     b"property float y\nproperty float z\nelement face 1\nproperty list uchar int vertex_indices\n"
                     b"end_header\n" + b"\0" * 100)
    start = time.perf_counter()
    with pytest.raises(MeshReadError, match=r"bomb\.ply: header claims"):
        load_mesh(path)
    assert time.perf_counter() - start < 1.0
    path.write_bytes(path.read_bytes().replace(b"element face 1", b"element face 300000000"))
    with pytest.raises(ResourceLimitError, match="above the face limit"):
        load_mesh(path)


@pytest.mark.parametrize("kind", ["ply-ascii", "ply-binary", "stl-ascii", "stl-binary"])
def test_other_formats_read_a_cube(tmp_path, kind):
    import trimesh

    v, f = unit_cube()
    cube = trimesh.Trimesh(v, f, process=False)
    fmt, encoding = kind.split("-")
    path = tmp_path / f"cube.{fmt}"
    data = (trimesh.exchange.ply.export_ply(cube, encoding=encoding) if fmt == "ply"
            else trimesh.exchange.stl.export_stl_ascii(cube) if encoding == "ascii"
            else trimesh.exchange.stl.export_stl(cube))
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    r = validate_mesh(path)
    assert r.faces == 12 and r.watertight and r.volume == pytest.approx(1.0) and r.euler_characteristic == 2


def test_gltf_with_an_external_texture(tmp_path):
    import trimesh
    from PIL import Image

    v, f = unit_cube()
    uv = v[:, :2]
    material = trimesh.visual.material.PBRMaterial(baseColorTexture=Image.new("RGB", (64, 32), "red"))
    cube = trimesh.Trimesh(v, f, visual=trimesh.visual.TextureVisuals(uv=uv, material=material), process=False)
    for name, data in trimesh.exchange.gltf.export_gltf(cube).items():
        (tmp_path / name).write_bytes(data)
    m = load_mesh(tmp_path / "model.gltf")
    assert m.uv is not None and m.units == "m"
    assert m.materials[0].texture_size == (64, 32)
    r = validate_mesh(m)
    assert r.textures[0].readable and r.textures[0].width == 64


def test_obj_without_faces_and_garbage_names(tmp_path):
    v, f = unit_cube()
    full = write_obj(tmp_path / "full.obj", v, f).read_bytes()
    cut = tmp_path / "cut.obj"
    cut.write_bytes(full[: full.index(b"\nf ")])
    with pytest.raises(MeshReadError, match=r"cut\.obj: no faces in the file \(8 vertices\)"):
        load_mesh(cut)
