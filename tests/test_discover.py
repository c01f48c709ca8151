"""Asset discovery: grouping, sidecars, and references that try to leave the collection."""

from __future__ import annotations

import os

from conftest import unit_cube, write_obj

from llvscan.collection import asset_id_for, discover_assets


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


def test_mtllib_escaping_the_root_is_refused(tmp_path):
    root = tmp_path / "collection"
    _textured(root / "obj", mtllib="../../../etc/passwd")
    (asset,) = [a for a in discover_assets(root).assets if a.kind == "mesh"]
    assert "resolves outside the collection root" in asset.problem
    assert "obj/scan.obj" in asset.problem or "scan.obj" in asset.problem


def test_texture_escaping_the_root_is_refused(tmp_path):
    root = tmp_path / "collection"
    _textured(root / "obj", texture="../../secret.jpg")
    (asset,) = [a for a in discover_assets(root).assets if a.kind == "mesh"]
    assert "'../../secret.jpg'" in asset.problem and "outside the collection root" in asset.problem


def test_missing_texture_is_a_problem(tmp_path):
    _textured(tmp_path, texture="gone.jpg")
    (asset,) = [a for a in discover_assets(tmp_path).assets if a.kind == "mesh"]
    assert "texture 'gone.jpg'" in asset.problem


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
