"""USDZ writer: inputs built with trimesh, numpy and Pillow (never through llvscan's writers), the output
read back with usd-core itself and judged by its ARKit compliance checker."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image
from pxr import Gf, Sdf, Usd, UsdGeom, UsdShade, UsdUtils, UsdValidation

from llvscan.errors import InvalidMeshError, InvalidParameterError
from llvscan.mesh.core.types import Material, Mesh
from llvscan.mesh.io.usdz import UsdzInfo, write_usdz, write_usdz_files

RNG_SEED = 20240611


def _png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _pixels(width: int = 37, height: int = 23, channels: int = 3) -> np.ndarray:
    return np.random.default_rng(RNG_SEED).integers(0, 256, (height, width, channels), dtype=np.uint8)


def _box(extents=(1.0, 2.0, 3.0), **fields) -> Mesh:
    """A trimesh box (8 vertices, 12 faces) with a distinct UV on every corner."""
    box = trimesh.creation.box(extents=extents)
    faces = np.asarray(box.faces, dtype=np.int64)
    uv = np.random.default_rng(RNG_SEED).random((faces.size, 2))
    return Mesh(vertices=np.asarray(box.vertices, dtype=np.float64), faces=faces, uv=uv,
                uv_faces=np.arange(faces.size).reshape(-1, 3), **fields)


def _meshes(stage: Usd.Stage) -> list[UsdGeom.Mesh]:
    return [UsdGeom.Mesh(p) for p in stage.Traverse() if p.IsA(UsdGeom.Mesh)]


def _surface_input(material: UsdShade.Material, name: str) -> UsdShade.Input:
    surface = material.ComputeSurfaceSource()[0]
    assert surface and surface.GetShaderId() == "UsdPreviewSurface"
    return surface.GetInput(name)


def _corners(usd_mesh: UsdGeom.Mesh) -> np.ndarray:
    """(faces, 3, 3) positions of every corner, as USD composes them."""
    points = np.asarray(usd_mesh.GetPointsAttr().Get(), dtype=np.float64)
    counts = np.asarray(usd_mesh.GetFaceVertexCountsAttr().Get())
    assert (counts == 3).all()
    return points[np.asarray(usd_mesh.GetFaceVertexIndicesAttr().Get()).reshape(-1, 3)]


def _arkit_check(path: Path) -> tuple[list[str], list[str]]:
    """(errors, failed checks) of usd-core's ComplianceChecker with the ARKit rules (usdchecker --arkit)."""
    with warnings.catch_warnings():  # deprecated since usd-core 26.x in favour of UsdValidation
        warnings.simplefilter("ignore", DeprecationWarning)
        checker = UsdUtils.ComplianceChecker(arkit=True, skipARKitRootLayerCheck=False, rootPackageOnly=False,
                                             skipVariants=False, verbose=False)
        checker.CheckCompliance(str(path))
    return checker.GetErrors(), checker.GetFailedChecks()


def _validation_errors(path: Path) -> list[str]:
    """Every error of usd-core's validation framework (all registered validators, usdz ones included)."""
    stage = Usd.Stage.Open(str(path))
    context = UsdValidation.ValidationContext(UsdValidation.ValidationRegistry().GetOrLoadAllValidators())
    return [f"{e.GetName()}: {e.GetMessage()}" for e in context.Validate(stage)
            if e.GetType() == UsdValidation.ValidationErrorType.Error]


# --- geometry, units, up axis -----------------------------------------------------------------

def test_counts_units_and_stage_metadata(tmp_path):
    mesh = _box(units="mm", path="scans/amphora.obj")
    info = write_usdz(mesh, tmp_path / "amphora.usdz")
    stage = Usd.Stage.Open(str(tmp_path / "amphora.usdz"))
    meshes = _meshes(stage)
    assert len(meshes) == 1
    assert len(meshes[0].GetFaceVertexCountsAttr().Get()) == 12
    assert len(meshes[0].GetPointsAttr().Get()) == 8
    assert UsdGeom.GetStageMetersPerUnit(stage) == pytest.approx(0.001)
    assert UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.y
    root = stage.GetDefaultPrim()
    assert root and root.GetName() == "amphora" and Usd.ModelAPI(root).GetKind() == "component"
    assert meshes[0].GetSubdivisionSchemeAttr().Get() == UsdGeom.Tokens.none
    assert (info.faces, info.vertices, info.meters_per_unit) == (12, 8, pytest.approx(0.001))
    assert info.bytes == (tmp_path / "amphora.usdz").stat().st_size
    assert json.loads(json.dumps(info.to_dict()))["path"] == str(tmp_path / "amphora.usdz")


def test_positions_are_in_the_mesh_units_corner_by_corner(tmp_path):
    mesh = _box(extents=(10.0, 20.0, 30.0), units="cm")
    write_usdz(mesh, tmp_path / "box.usdz")
    stage = Usd.Stage.Open(str(tmp_path / "box.usdz"))
    (usd_mesh,) = _meshes(stage)
    np.testing.assert_allclose(_corners(usd_mesh), mesh.vertices[mesh.faces], atol=1e-5)
    assert UsdGeom.GetStageMetersPerUnit(stage) == pytest.approx(0.01)


def test_undeclared_units_are_metres_with_a_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="llvscan.mesh.io.usdz"):
        write_usdz(_box(path="vase.ply"), tmp_path / "vase.usdz")
    assert UsdGeom.GetStageMetersPerUnit(Usd.Stage.Open(str(tmp_path / "vase.usdz"))) == 1.0
    assert any("vase.ply" in r.getMessage() and "units undeclared" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(("up_axis", "tallest"), [("z", 1), ("y", 2)])
def test_a_z_up_scan_stands_up(tmp_path, up_axis, tallest):
    """A box 3 tall along Z: read as Z-up it must come out tallest along Y; read as Y-up it stays as is."""
    write_usdz(_box(extents=(1.0, 2.0, 3.0), units="m"), tmp_path / "tall.usdz", up_axis=up_axis)
    stage = Usd.Stage.Open(str(tmp_path / "tall.usdz"))
    cache = UsdGeom.BBoxCache(Usd.TimeCode.Default(), [UsdGeom.Tokens.default_])
    size = cache.ComputeWorldBound(stage.GetDefaultPrim()).ComputeAlignedRange().GetSize()
    assert int(np.argmax(list(size))) == tallest
    assert max(size) == pytest.approx(3.0)
    assert UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.y


def test_z_up_normals_turn_with_the_points(tmp_path):
    mesh = _box(units="m")
    up = np.tile([0.0, 0.0, 1.0], (1, 1))
    mesh = Mesh(vertices=mesh.vertices, faces=mesh.faces, normals=up,
                normal_faces=np.zeros_like(mesh.faces), units="m")
    write_usdz(mesh, tmp_path / "n.usdz", up_axis="z")
    stage = Usd.Stage.Open(str(tmp_path / "n.usdz"))  # kept: a schema on a closed stage is invalid
    (usd_mesh,) = _meshes(stage)
    assert usd_mesh.GetNormalsInterpolation() == UsdGeom.Tokens.faceVarying
    np.testing.assert_allclose(np.asarray(usd_mesh.GetNormalsAttr().Get()), np.tile([0.0, 1.0, 0.0], (36, 1)),
                               atol=1e-6)


# --- UVs and textures ---------------------------------------------------------------------------

def test_uvs_read_back_per_corner_with_v_up(tmp_path):
    pixels = _pixels()
    mesh = _box(materials=(Material("skin"),), face_material=np.zeros(12, dtype=np.int64), units="mm")
    write_usdz(mesh, tmp_path / "uv.usdz", textures={0: _png(pixels)})
    stage = Usd.Stage.Open(str(tmp_path / "uv.usdz"))
    (usd_mesh,) = _meshes(stage)
    st = UsdGeom.PrimvarsAPI(usd_mesh).GetPrimvar("st")
    assert st.GetTypeName() == Sdf.ValueTypeNames.TexCoord2fArray
    assert st.GetInterpolation() == UsdGeom.Tokens.faceVarying
    values = np.asarray(st.ComputeFlattened(), dtype=np.float64).reshape(-1, 3, 2)
    np.testing.assert_allclose(values, mesh.uv[mesh.uv_faces], atol=1e-6)  # no V flip: USD's st has V up
    np.testing.assert_allclose(_corners(usd_mesh), mesh.vertices[mesh.faces], atol=1e-6)


def _bound_texture(stage: Usd.Stage, usd_mesh: UsdGeom.Mesh) -> tuple[UsdShade.Material, str]:
    material = UsdShade.MaterialBindingAPI(usd_mesh.GetPrim()).ComputeBoundMaterial()[0]
    assert material, "the mesh has no bound material"
    source = _surface_input(material, "diffuseColor").GetConnectedSources()[0]
    assert len(source) == 1
    texture = UsdShade.Shader(source[0].source.GetPrim())
    assert texture.GetShaderId() == "UsdUVTexture"
    assert texture.GetInput("sourceColorSpace").Get() == "sRGB"
    st_source = texture.GetInput("st").GetConnectedSources()[0][0].source
    reader = UsdShade.Shader(st_source.GetPrim())
    assert reader.GetShaderId() == "UsdPrimvarReader_float2" and reader.GetInput("varname").Get() == "st"
    return material, texture.GetInput("file").Get().path


def test_the_packaged_texture_is_the_input_and_is_bound(tmp_path):
    pixels = _pixels(channels=4)
    mesh = _box(materials=(Material("skin", texture_data=_png(pixels)),), face_material=np.zeros(12, dtype=int),
                units="mm")
    info = write_usdz(mesh, tmp_path / "tex.usdz")
    stage = Usd.Stage.Open(str(tmp_path / "tex.usdz"))
    (usd_mesh,) = _meshes(stage)
    material, asset = _bound_texture(stage, usd_mesh)
    assert material.GetPrim().GetName() == "skin"
    with zipfile.ZipFile(tmp_path / "tex.usdz") as package:
        names = package.namelist()
        assert names[0].endswith(".usdc")  # ARKit reads the first file as the root layer
        member = asset.removeprefix("./")
        assert member in names and member.endswith(".png")
        decoded = np.asarray(Image.open(io.BytesIO(package.read(member))))
    np.testing.assert_array_equal(decoded, pixels)
    assert info.textures == 1


def test_a_webp_texture_is_converted_to_png_pixel_for_pixel(tmp_path):
    pixels = _pixels(41, 19)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="WEBP", lossless=True)
    mesh = _box(materials=(Material("skin"),), face_material=np.zeros(12, dtype=int), units="m")
    write_usdz(mesh, tmp_path / "webp.usdz", textures={0: buffer.getvalue()})
    stage = Usd.Stage.Open(str(tmp_path / "webp.usdz"))
    _, asset = _bound_texture(stage, _meshes(stage)[0])
    with zipfile.ZipFile(tmp_path / "webp.usdz") as package:
        assert all(n.endswith((".usdc", ".png", ".jpg")) for n in package.namelist())
        image = Image.open(io.BytesIO(package.read(asset.removeprefix("./"))))
        assert image.format == "PNG"
        np.testing.assert_array_equal(np.asarray(image.convert("RGB")), pixels)


def test_a_texture_file_on_disk_is_packaged(tmp_path):
    pixels = _pixels(13, 7)
    Image.fromarray(pixels).save(tmp_path / "albedo.jpg", quality=95)
    mesh = _box(materials=(Material("skin", texture=str(tmp_path / "albedo.jpg")),),
                face_material=np.zeros(12, dtype=int), units="m")
    write_usdz(mesh, tmp_path / "jpg.usdz")
    stage = Usd.Stage.Open(str(tmp_path / "jpg.usdz"))
    _, asset = _bound_texture(stage, _meshes(stage)[0])
    with zipfile.ZipFile(tmp_path / "jpg.usdz") as package:
        assert package.read(asset.removeprefix("./")) == (tmp_path / "albedo.jpg").read_bytes()


# --- materials and colours ----------------------------------------------------------------------

def test_two_materials_give_two_bound_materials(tmp_path):
    face_material = np.array([0] * 5 + [1] * 7)
    mesh = _box(materials=(Material("bronze", color=(0.6, 0.4, 0.2)), Material("glass", color=(0.1, 0.2, 0.9),
                                                                            opacity=0.25)),
                face_material=face_material, units="mm")
    write_usdz(mesh, tmp_path / "two.usdz")
    stage = Usd.Stage.Open(str(tmp_path / "two.usdz"))
    found = {}
    for usd_mesh in _meshes(stage):
        material = UsdShade.MaterialBindingAPI(usd_mesh.GetPrim()).ComputeBoundMaterial()[0]
        assert material
        found[material.GetPrim().GetName()] = (len(usd_mesh.GetFaceVertexCountsAttr().Get()),
                                               _surface_input(material, "diffuseColor").Get(),
                                               _surface_input(material, "opacity").Get())
    assert set(found) == {"bronze", "glass"}
    assert found["bronze"][0] == 5 and found["glass"][0] == 7
    assert Gf.IsClose(found["bronze"][1], Gf.Vec3f(0.6, 0.4, 0.2), 1e-6) and found["bronze"][2] == 1.0
    assert Gf.IsClose(found["glass"][1], Gf.Vec3f(0.1, 0.2, 0.9), 1e-6)
    assert found["glass"][2] == pytest.approx(0.25)


def test_vertex_colours_become_linear_display_color(tmp_path):
    mesh = _box(units="m")
    colors = np.random.default_rng(RNG_SEED).integers(0, 256, (8, 4), dtype=np.uint8)
    colors[:, 3] = 255
    mesh = Mesh(vertices=mesh.vertices, faces=mesh.faces, vertex_colors=colors, units="m")
    write_usdz(mesh, tmp_path / "colours.usdz")
    stage = Usd.Stage.Open(str(tmp_path / "colours.usdz"))
    (usd_mesh,) = _meshes(stage)
    primvar = usd_mesh.GetDisplayColorPrimvar()
    assert primvar.GetInterpolation() == UsdGeom.Tokens.vertex
    points = np.asarray(usd_mesh.GetPointsAttr().Get(), dtype=np.float64)
    # match each point back to its input vertex: the writer may keep only the used points, in its own order
    source = [int(np.argmin(np.linalg.norm(mesh.vertices - p, axis=1))) for p in points]
    srgb = colors[source, :3] / 255.0
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    np.testing.assert_allclose(np.asarray(primvar.Get()), linear, atol=1e-4)


# --- ARKit compliance ---------------------------------------------------------------------------

def test_the_arkit_compliance_checker_accepts_the_package(tmp_path):
    colors = np.full((8, 4), 200, dtype=np.uint8)
    mesh = _box(materials=(Material("skin"), Material("base", color=(0.2, 0.2, 0.2)),
                           Material("cut", alpha_mode="MASK", alpha_cutoff=0.3)),
                face_material=np.array([0] * 4 + [1] * 4 + [2] * 2 + [-1] * 2), vertex_colors=colors,
                units="mm")
    write_usdz(mesh, tmp_path / "ar.usdz", textures={0: _png(_pixels()), 2: _png(_pixels(channels=4))})
    errors, failed = _arkit_check(tmp_path / "ar.usdz")
    assert errors == [] and failed == []
    assert _validation_errors(tmp_path / "ar.usdz") == []


def test_the_compliance_checker_catches_a_z_up_package(tmp_path):
    """The oracle itself: a package that ARKit refuses (upAxis Z) fails it."""
    stage = Usd.Stage.CreateNew(str(tmp_path / "bad.usdc"))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    root = UsdGeom.Xform.Define(stage, "/bad")
    stage.SetDefaultPrim(root.GetPrim())
    UsdGeom.Mesh.Define(stage, "/bad/mesh")
    stage.GetRootLayer().Save()
    assert UsdUtils.CreateNewUsdzPackage(str(tmp_path / "bad.usdc"), str(tmp_path / "bad.usdz"))
    _, failed = _arkit_check(tmp_path / "bad.usdz")
    assert any("upAxis" in f for f in failed)


# --- failures -----------------------------------------------------------------------------------

@pytest.mark.parametrize("breakage", ["nan_vertex", "face_out_of_range", "uv_out_of_range", "empty"])
def test_bad_mesh_data_is_an_invalid_mesh_error_naming_the_mesh(tmp_path, breakage):
    mesh = _box(path="scans/broken.obj")
    vertices, faces, uv_faces = mesh.vertices.copy(), mesh.faces.copy(), mesh.uv_faces.copy()
    if breakage == "nan_vertex":
        vertices[3, 1] = np.nan
    elif breakage == "face_out_of_range":
        faces[5, 2] = 8
    elif breakage == "uv_out_of_range":
        uv_faces[2, 0] = len(mesh.uv)
    else:
        faces = faces[:0]
        uv_faces = uv_faces[:0]
    broken = Mesh(vertices=vertices, faces=faces, uv=mesh.uv, uv_faces=uv_faces, path=mesh.path)
    with pytest.raises(InvalidMeshError) as caught:
        write_usdz(broken, tmp_path / "broken.usdz")
    assert caught.value.path == "scans/broken.obj"
    assert not (tmp_path / "broken.usdz").exists()


def test_without_usd_core_it_is_a_usage_error_with_the_pip_hint(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pxr", None)  # `from pxr import …` now raises ImportError
    with pytest.raises(InvalidParameterError) as caught:
        write_usdz(_box(units="m", path="scan.obj"), tmp_path / "none.usdz")
    assert "pip install 'llvscan[usdz]'" in str(caught.value)
    assert caught.value.path == "scan.obj"
    assert not (tmp_path / "none.usdz").exists()


def test_an_unknown_up_axis_is_a_usage_error(tmp_path):
    with pytest.raises(InvalidParameterError, match="up_axis"):
        write_usdz(_box(units="m"), tmp_path / "x.usdz", up_axis="x")


def test_importing_the_module_does_not_import_usd_core():
    code = "import sys, llvscan.mesh.io.usdz; print('pxr' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


def test_the_registry_form_writes_one_file_and_no_temporaries(tmp_path):
    out = tmp_path / "out" / "scan.usdz"
    assert write_usdz_files(_box(units="mm"), out) == [out]
    assert sorted(p.name for p in out.parent.iterdir()) == ["scan.usdz"]
    assert isinstance(write_usdz(_box(units="mm"), out), UsdzInfo)  # overwriting works too
    assert sorted(p.name for p in out.parent.iterdir()) == ["scan.usdz"]


def test_a_recipe_level_may_be_usdz_for_ar_quick_look(tmp_path):
    """An ``iOSApp3D`` level written as USDZ next to a GLB level: decimated like any level, read back
    by usd-core, listed in the Voyager scene with its MIME type, passing the ARKit rules."""
    from llvscan.mesh import build_lods
    from llvscan.mesh.lod.recipe import LodLevel, LodRecipe

    sphere = trimesh.creation.icosphere(subdivisions=4)
    mesh = Mesh(np.asarray(sphere.vertices) * 100.0, np.asarray(sphere.faces, dtype=np.int64), units="mm",
                path="ball.ply")
    recipe = LodRecipe("ar", (LodLevel("web", "Web3D", "Low", 2000, 64),
                              LodLevel("ios", "iOSApp3D", "AR", 1000, 64, format="usdz")), thumbnail_size=0)
    lods = build_lods(mesh, recipe, tmp_path / "lods", name="ball")
    ios = lods.levels[1]
    assert ios.uri == "ball-ios.usdz" and ios.mime_type == "model/vnd.usdz+zip" and ios.compression == "none"
    stage = Usd.Stage.Open(str(tmp_path / "lods" / ios.uri))
    assert sum(len(m.GetFaceVertexCountsAttr().Get()) for m in _meshes(stage)) == ios.faces == 1000
    assert UsdGeom.GetStageMetersPerUnit(stage) == pytest.approx(0.001)
    errors, failed = _arkit_check(tmp_path / "lods" / ios.uri)
    assert not errors and not failed
    svx = json.loads((tmp_path / "lods" / "scene.svx.json").read_text())
    [derivative] = [d for d in svx["models"][0]["derivatives"] if d["usage"] == "iOSApp3D"]
    assert derivative["assets"][0]["mimeType"] == "model/vnd.usdz+zip"
