"""OBJ + MTL as exporters write them: texture options, names with spaces, several MTLs, colours and
opacity, other texture maps; missing files are findings, references leaving the root are refused unread."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from llvscan.mesh import load_mesh
from llvscan.mesh.core.types import ReadProblem, TextureMap
from llvscan.mesh.io.obj import read_mtl

# a 3×3 grid of vertices (9), UVs equal to x, y; faces in three usemtl blocks: 2 quads (4 triangles),
# 3 triangles, 1 triangle → 8 triangles
GRID = "".join(f"v {x} {y} 0\n" for y in range(3) for x in range(3))
GRID += "".join(f"vt {x / 2} {y / 2}\n" for y in range(3) for x in range(3))
FACES = ("usemtl fuze\nf 1/1 2/2 5/5 4/4\nf 2/2 3/3 6/6 5/5\n"
         "usemtl stone\nf 4/4 5/5 8/8\nf 4/4 8/8 7/7\nf 5/5 6/6 9/9\n"
         "usemtl plain\nf 5/5 9/9 8/8\n")

FIRST_MTL = """# Blender-like, with options before names that hold spaces
newmtl fuze
Ns 250.000000
Ka 1.000000 1.000000 1.000000
Kd 0.800000 0.800000 0.800000
Ks 0.500000 0.500000 0.500000
Ke 0.000000 0.000000 0.000000
Ni 1.450000
d 0.25
illum 2
map_Kd -s 1 1 1 -bm 0.5 ..\\textures\\fuze uv.jpg
map_Bump -bm 0.5 ./normal map.png
map_Ke glow.png

newmtl stone
Kd 0.5 0.5 0.5
Tr 0.1
map_Kd -s 1 1 1 -bm 0.5 -clamp on -imfchan l ./../textures/stone albedo.png
"""
SECOND_MTL = "newmtl plain\r\nKa 0 0 0\r\nKd 0.6 0.4 0.2\r\nillum 1\r\n"


def _image(path: Path, size=(8, 4)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, "red").save(path)
    return path


def _collection(tmp_path: Path, *, mtllib: str = "mtllib ./materials/first.mtl\nmtllib sub\\second.mtl\n",
                textures: bool = True) -> Path:
    root = tmp_path / "collection"
    (root / "materials").mkdir(parents=True)
    (root / "sub").mkdir()
    (root / "materials" / "first.mtl").write_text(FIRST_MTL)
    (root / "sub" / "second.mtl").write_bytes(SECOND_MTL.encode())
    if textures:
        _image(root / "textures" / "fuze uv.jpg")
        _image(root / "textures" / "stone albedo.png")
        _image(root / "materials" / "normal map.png")
        _image(root / "materials" / "glow.png")
    path = root / "scan.obj"
    path.write_text(mtllib + GRID + FACES)
    return path


def test_three_materials_from_two_mtl_files(tmp_path):
    path = _collection(tmp_path)
    root = path.parent.resolve()
    m = load_mesh(path)
    assert m.problems == ()
    assert [x.name for x in m.materials] == ["fuze", "stone", "plain"]
    fuze, stone, plain = m.materials
    assert fuze.texture == str(root / "textures" / "fuze uv.jpg")
    assert stone.texture == str(root / "textures" / "stone albedo.png")
    assert plain.texture is None and plain.maps == ()
    assert (fuze.color, stone.color, plain.color) == ((0.8, 0.8, 0.8), (0.5, 0.5, 0.5), (0.6, 0.4, 0.2))
    assert fuze.opacity == 0.25 and fuze.alpha_mode == "BLEND"
    assert stone.opacity == pytest.approx(0.9) and plain.opacity == 1.0 and plain.alpha_mode == "OPAQUE"
    assert fuze.maps == (TextureMap("normal", str(root / "materials" / "normal map.png"), scale=0.5),
                         TextureMap("emissive", str(root / "materials" / "glow.png")))
    assert fuze.emissive == (0.0, 0.0, 0.0)
    assert m.n_faces == 8
    assert np.bincount(m.face_material, minlength=3).tolist() == [4, 3, 1]
    assert m.face_material.tolist() == [0, 0, 0, 0, 1, 1, 1, 2]


def test_trimesh_agrees_on_the_face_count(tmp_path):
    import trimesh

    path = _collection(tmp_path)
    peer = trimesh.load(path, process=False)
    geometries = peer.geometry.values() if isinstance(peer, trimesh.Scene) else [peer]
    assert sum(len(g.faces) for g in geometries) == load_mesh(path).n_faces == 8


OPTIONS = ["", "-s 1 1 1", "-s 1", "-o 0 0 0", "-o 0", "-t 0.1 0.1 0", "-t 0.1", "-clamp on", "-clamp off",
           "-blendu on", "-blendv off", "-bm 0.5", "-bm -1", "-mm 0 1", "-mm 0.2 0.8", "-texres 1024",
           "-imfchan r", "-imfchan m", "-boost 2.5", "-cc on", "-cc off", "-type sphere",
           "-s 1 1 1 -o 0 0 0 -bm 0.5 -clamp on -blendu off -blendv off -mm 0 1 -texres 512 -imfchan l -cc on"]


@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("name", ["fuze uv.jpg", "fuze  uv.jpg", "tex.png", "1.png", "-dash.png"])
def test_every_texture_option_takes_its_arguments_and_leaves_the_name(tmp_path, options, name):
    mtl = tmp_path / "m.mtl"
    mtl.write_text(f"newmtl m\nmap_Kd {options} {name}  \n")
    _image(tmp_path / name)
    materials, problems = read_mtl(mtl)
    assert problems == []
    assert materials[0].texture == str((tmp_path / name).resolve())


@pytest.mark.parametrize("line", ['map_Kd "fuze uv.jpg"', "map_Kd -bm 1 'fuze uv.jpg'", "map_kd\tfuze uv.jpg",
                                  "MAP_KD .\\fuze uv.jpg", "map_Kd C:\\Users\\scan\\Desktop\\fuze uv.jpg",
                                  "map_Kd \\\\server\\scans\\fuze uv.jpg", "map_Kd FUZE UV.JPG"])
def test_quoted_tabbed_and_foreign_absolute_names(tmp_path, line):
    mtl = tmp_path / "m.mtl"
    mtl.write_text(f"newmtl m\n{line}\n")
    _image(tmp_path / "fuze uv.jpg")
    materials, problems = read_mtl(mtl)
    assert (materials[0].texture, problems) == (str((tmp_path / "fuze uv.jpg").resolve()), [])


@pytest.mark.parametrize(("options", "ignored"), [
    ("-s 2 2 1", "-s 2 2 1"), ("-o 0.5 0 0", "-o 0.5 0 0"), ("-s 1 1 1 -o 0 0.25", "-o 0 0.25"),
    ("-s 1 1 3 -o 0 0 7", None),  # w does not move a 2-D texture
])
def test_scale_and_offset_are_reported_not_silently_applied(tmp_path, options, ignored):
    mtl = tmp_path / "m.mtl"
    mtl.write_text(f"newmtl m\nmap_Kd {options} t.png\n")
    _image(tmp_path / "t.png")
    materials, problems = read_mtl(mtl)
    assert materials[0].texture == str((tmp_path / "t.png").resolve())
    if ignored is None:
        assert problems == []
    else:
        assert [p.code for p in problems] == ["texture_options_ignored"]
        assert ignored in problems[0].message and "'m'" in problems[0].message
        assert problems[0].path == str(mtl)


def test_kd_d_tr_and_pbr_values(tmp_path):
    mtl = tmp_path / "m.mtl"
    mtl.write_text("newmtl grey\nKd 0.3\nd -halo 0.5\n\nnewmtl both\nd 1\nTr 0.7\n"
                   "newmtl pbr\nKd 1 0 0 # red\nPr 0.4\nPm 1\nKe 1 1 0\n"
                   "newmtl spectral\nKd spectral ident.rfl\n")
    materials, problems = read_mtl(mtl)
    assert problems == []
    grey, both, pbr, spectral = materials
    assert (grey.color, grey.opacity) == ((0.3, 0.3, 0.3), 0.5)
    assert both.opacity == 1.0  # d wins over Tr
    assert (pbr.color, pbr.roughness, pbr.metallic, pbr.emissive) == ((1.0, 0.0, 0.0), 0.4, 1.0, (1.0, 1.0, 0.0))
    assert spectral.color is None


def test_bom_and_latin1_files_from_windows_tools(tmp_path):
    _image(tmp_path / "Büste.jpg")
    (tmp_path / "utf8.mtl").write_bytes("\ufeffnewmtl Büste\nmap_Kd Büste.jpg\n".encode())
    (tmp_path / "latin1.mtl").write_bytes("newmtl Büste\r\nmap_Kd Büste.jpg\r\n".encode("latin-1"))
    for name in ("utf8.mtl", "latin1.mtl"):
        materials, problems = read_mtl(tmp_path / name)
        assert [(x.name, x.texture) for x in materials] == [("Büste", str((tmp_path / "Büste.jpg").resolve()))]
        assert problems == []


def test_read_mtl_alone_reports_a_missing_file(tmp_path):
    materials, problems = read_mtl(tmp_path / "gone.mtl")
    assert materials == []
    assert problems == [ReadProblem("missing_mtl", "gone.mtl: not found", str(tmp_path.resolve() / "gone.mtl"))]


def test_mtllib_names_with_spaces_and_several_files_per_line(tmp_path):
    (tmp_path / "my materials.mtl").write_text("newmtl a\nKd 1 0 0\n")
    (tmp_path / "b.mtl").write_text("newmtl b\nKd 0 1 0\n")
    (tmp_path / "c.mtl").write_text("newmtl c\nKd 0 0 1\n")
    (tmp_path / "d e.mtl").write_text("newmtl d\n")
    face = "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n"
    for header, names in [("mtllib my materials.mtl\n", ["a"]), ("mtllib b.mtl c.mtl\n", ["b", "c"]),
                          ("mtllib b.mtl d e.mtl\n", ["b", "d"]), ('mtllib "my materials.mtl" c.mtl\n', ["a", "c"]),
                          ("mtllib b.mtl\nmtllib c.mtl b.mtl\n", ["b", "c"])]:
        (tmp_path / "s.obj").write_text(header + face)
        m = load_mesh(tmp_path / "s.obj")
        assert ([x.name for x in m.materials], m.problems) == (names, ()), header


def test_missing_mtl_is_a_finding_and_the_mesh_is_read(tmp_path):
    path = _collection(tmp_path, mtllib="mtllib ./materials/gone.mtl\n")
    m = load_mesh(path)
    assert m.n_faces == 8 and m.uv is not None
    missing = str(path.parent.resolve() / "materials" / "gone.mtl")
    assert m.problems == (ReadProblem("missing_mtl", "scan.obj: mtllib './materials/gone.mtl' not found", missing),)
    assert [x.name for x in m.materials] == ["fuze", "stone", "plain"]  # named by usemtl, nothing else known
    assert all(x.texture is None and x.color is None for x in m.materials)
    assert m.face_material.tolist() == [0, 0, 0, 0, 1, 1, 1, 2]


def test_every_missing_file_is_listed_once(tmp_path):
    path = _collection(tmp_path, mtllib="mtllib gone.mtl ./materials/first.mtl also gone.mtl\n"
                                        "mtllib gone.mtl\n", textures=False)
    root = path.parent.resolve()
    m = load_mesh(path)
    assert m.n_faces == 8
    # "also gone.mtl" is read as one name: every part then ends in .mtl; gone.mtl is listed once
    assert [(p.code, p.path) for p in m.problems] == [
        ("missing_mtl", str(root / "gone.mtl")),
        ("missing_texture", str(root / "textures" / "fuze uv.jpg")),
        ("missing_texture", str(root / "materials" / "normal map.png")),
        ("missing_texture", str(root / "materials" / "glow.png")),
        ("missing_texture", str(root / "textures" / "stone albedo.png")),
        ("missing_mtl", str(root / "also gone.mtl")),
    ]
    assert m.materials[0].texture == str(root / "textures" / "fuze uv.jpg")  # kept for the texture check


def test_missing_texture_keeps_its_path_and_is_a_finding(tmp_path):
    path = _collection(tmp_path)
    (path.parent / "textures" / "stone albedo.png").unlink()
    m = load_mesh(path)
    expected = str(path.parent.resolve() / "textures" / "stone albedo.png")
    assert m.materials[1].texture == expected
    assert [(p.code, p.path) for p in m.problems] == [("missing_texture", expected)]
    assert m.problems[0].message.startswith("scan.obj: ") and "stone albedo.png" in m.problems[0].message
    assert m.materials[0].texture.endswith("fuze uv.jpg") and m.n_faces == 8


# -- references leaving the root ---------------------------------------------------------------------------

_OPENED: list[str] = []  # while a load is watched: "<watching>", then every path opened


def _audit(event: str, args: tuple) -> None:
    if event == "open" and _OPENED and isinstance(args[0], str | bytes):
        _OPENED.append(os.fsdecode(args[0]))


def _load_watching_opens(path: Path, **kwargs):
    """``load_mesh`` and every file it opened (Python's audit events: open(), pathlib, mmap's files alike)."""
    if not getattr(_audit, "installed", False):  # a hook cannot be removed: installed once, idle when unwatched
        sys.addaudithook(_audit)
        _audit.installed = True  # type: ignore[attr-defined]
    _OPENED[:] = ["<watching>"]
    try:
        mesh = load_mesh(path, **kwargs)
    finally:
        opened, _OPENED[:] = _OPENED[1:], []
    return mesh, [Path(p).resolve() for p in opened]


@pytest.fixture
def hostile(tmp_path):
    """A collection root with sentinels beside it (outside): an MTL that would add a material, an image."""
    root = tmp_path / "collection"
    (root / "sub").mkdir(parents=True)
    (tmp_path / "outside.mtl").write_text("newmtl stolen\nKd 1 0 0\nmap_Kd stolen.png\n")
    _image(tmp_path / "outside.png")
    return root


def _assert_nothing_outside_read(tmp_path, root, opened):
    assert opened, "the watch saw no file opened at all"
    outside = [p for p in opened if (tmp_path in p.parents and root.resolve() not in p.parents)
               or p == Path("/etc/passwd")]
    assert outside == []


def test_mtllib_outside_the_root_is_refused_unread(tmp_path, hostile):
    path = hostile / "sub" / "scan.obj"
    path.write_text("mtllib ../../outside.mtl\n" + GRID + FACES)
    m, opened = _load_watching_opens(path, root=hostile)
    assert m.n_faces == 8 and [x.name for x in m.materials] == ["fuze", "stone", "plain"]
    assert [(p.code, p.path) for p in m.problems] == [("unsafe_reference", str(path))]
    assert "'../../outside.mtl'" in m.problems[0].message and m.problems[0].message.startswith("scan.obj: ")
    _assert_nothing_outside_read(tmp_path, hostile, opened)


@pytest.mark.parametrize("reference", ["/etc/passwd", "{outside}", "..\\..\\outside.png", "../../outside.png",
                                       "./../../outside.png", "link.png",
                                       "LINK.PNG", "//etc/passwd", "bad\0name.png"])
def test_texture_outside_the_root_is_refused_unread(tmp_path, hostile, reference):
    reference = reference.format(outside=tmp_path / "outside.png")
    (hostile / "sub" / "link.png").symlink_to(tmp_path / "outside.png")
    mtl = hostile / "sub" / "m.mtl"
    mtl.write_text(f"newmtl fuze\nKd 1 1 1\nmap_Kd {reference}\nmap_Bump {reference}\nmap_Ke -bm 1 {reference}\n")
    path = hostile / "sub" / "scan.obj"
    path.write_text("mtllib m.mtl\n" + GRID + FACES)
    m, opened = _load_watching_opens(path, root=hostile)
    fuze = m.materials[0]
    assert (fuze.name, fuze.texture, fuze.maps, fuze.color) == ("fuze", None, (), (1.0, 1.0, 1.0))
    assert {p.code for p in m.problems} == {"unsafe_reference"} and len(m.problems) == 3
    assert all(repr(reference) in p.message and "m.mtl" in p.message and p.path == str(mtl) for p in m.problems)
    _assert_nothing_outside_read(tmp_path, hostile, opened)


def test_symlinked_mtl_leaving_the_root_is_refused(tmp_path, hostile):
    (hostile / "sub" / "m.mtl").symlink_to(tmp_path / "outside.mtl")
    path = hostile / "sub" / "scan.obj"
    path.write_text("mtllib m.mtl\n" + GRID + FACES)
    m, opened = _load_watching_opens(path, root=hostile)
    assert "stolen" not in [x.name for x in m.materials]
    assert [p.code for p in m.problems] == ["unsafe_reference"]
    _assert_nothing_outside_read(tmp_path, hostile, opened)


def test_default_root_is_the_obj_folder(tmp_path, hostile):
    path = hostile / "sub" / "scan.obj"
    (hostile / "up.mtl").write_text("newmtl fuze\n")
    path.write_text("mtllib ../up.mtl\n" + GRID + FACES)
    assert [p.code for p in load_mesh(path).problems] == ["unsafe_reference"]
    assert load_mesh(path, root=hostile).problems == ()
