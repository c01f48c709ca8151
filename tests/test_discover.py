"""Asset discovery: grouping, sidecars, and references that try to leave the collection."""

from __future__ import annotations

import os

from conftest import unit_cube, write_obj

from llvscan.collection import asset_id_for, discover_assets
from llvscan.mesh import load_mesh, validate_mesh


def _textured(folder, mtllib="scan.mtl", texture="scan.jpg"):
    folder.mkdir(parents=True, exist_ok=True)
    v, f = unit_cube()
    write_obj(folder / "scan.obj", v, f, header=f"mtllib {mtllib}\nusemtl m")
    (folder / "scan.mtl").write_text(f"newmtl m\nmap_Kd -s 1 1 1 {texture}\n")
    (folder / "scan.jpg").write_bytes(b"\xff\xd8\xff")


def test_obj_with_mtl_and_texture_is_one_asset(tmp_path):
    _textured(tmp_path / "obj")
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    (tmp_path / "notes.txt").write_text("not an asset")
    found = discover_assets(tmp_path)
    assert [(a.rel_path, a.kind) for a in found.assets] == [("obj/scan.obj", "mesh"), ("photo.jpg", "image")]
    assert [(f.rel_path, f.role) for f in found.assets[0].files] == [
        ("obj/scan.obj", "main"), ("obj/scan.mtl", "material"), ("obj/scan.jpg", "texture")]
    assert found.ignored == ["notes.txt"]
    assert all(a.problem is None for a in found.assets)


def test_asset_ids_are_stable():
    assert asset_id_for("a/b.obj") == asset_id_for("a/b.obj") != asset_id_for("a/c.obj")


def _claimed(asset) -> list[str]:
    return [f.rel_path for f in asset.files]


def test_mtllib_escaping_the_root_is_not_claimed_and_reading_reports_it(tmp_path):
    root = tmp_path / "collection"
    (tmp_path / "outside.mtl").write_text("newmtl m\nKd 1 0 0\n")  # a sentinel next to the root
    _textured(root / "obj", mtllib="../../outside.mtl")
    (asset,) = [a for a in discover_assets(root).assets if a.kind == "mesh"]
    assert asset.problem is None and _claimed(asset) == ["obj/scan.obj"]
    report = validate_mesh(load_mesh(root / asset.rel_path, root=root))
    assert [e.code for e in report.errors] == ["unsafe_reference"]
    assert "outside.mtl" in report.errors[0].message


def test_texture_escaping_the_root_is_not_claimed_and_reading_reports_it(tmp_path):
    root = tmp_path / "collection"
    (tmp_path / "secret.jpg").write_bytes(b"\xff\xd8\xff")
    _textured(root / "obj", texture="../../secret.jpg")
    (asset,) = [a for a in discover_assets(root).assets if a.kind == "mesh"]
    assert asset.problem is None and _claimed(asset) == ["obj/scan.obj", "obj/scan.mtl"]
    report = validate_mesh(load_mesh(root / asset.rel_path, root=root))
    assert "unsafe_reference" in [e.code for e in report.errors]
    assert any("secret.jpg" in e.message for e in report.errors)


def test_a_missing_texture_is_a_finding_not_a_failure(tmp_path):
    _textured(tmp_path, texture="gone.jpg")
    (asset,) = [a for a in discover_assets(tmp_path).assets if a.kind == "mesh"]
    assert asset.problem is None and _claimed(asset) == ["scan.obj", "scan.mtl"]
    report = validate_mesh(load_mesh(tmp_path / "scan.obj", root=tmp_path))
    assert [e.code for e in report.errors] == ["missing_texture"] and report.faces == 12


def test_a_texture_name_with_spaces_and_options_is_claimed(tmp_path):
    _textured(tmp_path, texture="fuze uv.jpg")
    (tmp_path / "fuze uv.jpg").write_bytes(b"\xff\xd8\xff")
    (asset,) = [a for a in discover_assets(tmp_path).assets if a.kind == "mesh"]
    assert _claimed(asset) == ["scan.obj", "scan.mtl", "fuze uv.jpg"]


def test_symlink_out_of_the_root_is_refused(tmp_path):
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(b"\xff\xd8\xff")
    root = tmp_path / "collection"
    root.mkdir()
    os.symlink(outside, root / "link.jpg")
    (asset,) = discover_assets(root).assets
    assert "symlink points outside" in asset.problem


def test_sidecar_metadata_and_unknown_rows(tmp_path):
    _textured(tmp_path / "obj")
    (tmp_path / "collection.csv").write_text(
        "file,object_number,title,creator,date,rights\n"
        "obj/scan.obj,1921.4.17,Bust,Käthe Kollwitz,1921,http://creativecommons.org/publicdomain/zero/1.0/\n"
        "missing.tif,1,Gone,,,\n", encoding="utf-8")
    found = discover_assets(tmp_path)
    assert found.assets[0].metadata["creator"] == "Käthe Kollwitz"
    assert found.notes == ["collection.csv: 'missing.tif' is not an asset in the collection"]


def test_sidecar_mesh_options_reach_the_asset_and_its_recipe_hash(tmp_path):
    from llvscan.collection import RunRecipe

    _textured(tmp_path / "a")
    _textured(tmp_path / "b")
    (tmp_path / "collection.csv").write_text("file,title,up_axis,units\na/scan.obj,A,Z,mm\nb/scan.obj,B,x,ft\n")
    found = discover_assets(tmp_path)
    a, b = [x for x in found.assets if x.kind == "mesh"]
    assert a.metadata == {"title": "A", "up_axis": "z", "units": "mm"} and b.metadata == {"title": "B"}
    assert sorted(n for n in found.notes if "ignored" in n) == [
        "collection.csv: line 3: units 'ft' ignored; use one of mm, cm, m, in",
        "collection.csv: line 3: up_axis 'x' ignored; use one of y, z"]
    recipe = RunRecipe()
    assert recipe.for_asset("mesh", b.metadata) is recipe
    per_asset = recipe.for_asset("mesh", a.metadata)
    assert (per_asset.mesh.up_axis, per_asset.mesh.units) == ("z", "mm")
    assert per_asset.sha256("mesh") != recipe.sha256("mesh") and per_asset.sha256("image") == recipe.sha256("image")


def _image(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8\xff")


def test_a_targets_folder_makes_a_capture_session(tmp_path):
    for rel in ("2026-11-28/targets/sg.tif", "2026-11-28/a.tif", "2026-11-28/box/b.tif",
                "2026-11-28/box/targets/edge.tif", "2026-11-28/box/c.tif", "loose.tif", "targets/root.tif"):
        _image(tmp_path / rel)
    found = {a.rel_path: a.metadata for a in discover_assets(tmp_path).assets}
    assert found["2026-11-28/targets/sg.tif"] == {"target": "auto", "session": "2026-11-28"}
    assert found["2026-11-28/a.tif"] == {"session": "2026-11-28"}
    # the nearest folder holding targets/ wins
    assert found["2026-11-28/box/b.tif"] == found["2026-11-28/box/c.tif"] == {"session": "2026-11-28/box"}
    assert found["2026-11-28/box/targets/edge.tif"] == {"target": "auto", "session": "2026-11-28/box"}
    # targets/ at the root: the whole collection is one session, "."
    assert found["targets/root.tif"] == {"target": "auto", "session": "."} and found["loose.tif"] == {"session": "."}
    assets = {a.rel_path: a for a in discover_assets(tmp_path).assets}
    assert assets["2026-11-28/targets/sg.tif"].recipe_kind == "target" and assets["loose.tif"].recipe_kind == "image"


def test_the_sidecar_marks_targets_and_sessions(tmp_path):
    for rel in ("day1/chart.tif", "day1/painting.tif", "targets/not-a-target.tif", "odd.tif"):
        _image(tmp_path / rel)
    (tmp_path / "collection.csv").write_text(
        "file,session,target,corners\n"
        "day1/chart.tif,day-1,colorchecker-sg,\"10,10 90,10 90,60 10,60\"\n"
        "day1/painting.tif,day-1,,\n"
        "targets/not-a-target.tif,,no,\n"
        "odd.tif,,colourchecker,\n")
    found = discover_assets(tmp_path)
    meta = {a.rel_path: a.metadata for a in found.assets}
    assert meta["day1/chart.tif"] == {"session": "day-1", "target": "colorchecker-sg",
                                      "corners": "10,10 90,10 90,60 10,60"}
    assert meta["day1/painting.tif"] == {"session": "day-1"}
    assert "target" not in meta["targets/not-a-target.tif"]  # the sidecar overrides the folder
    assert "target" not in meta["odd.tif"]
    assert any("target 'colourchecker' ignored" in note for note in found.notes)
