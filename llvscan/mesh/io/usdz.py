"""USDZ writer for iOS AR Quick Look (Smithsonian Voyager's "iOSApp3D" derivative), through Pixar's
``usd-core`` (an optional extra: ``pip install 'llvscan[usdz]'``; ``pxr`` is imported when a file is
written, never when this module is imported).

The stage holds one ``Xform`` (the default prim, kind ``component``) with one ``UsdGeom.Mesh`` per used
material (faces grouped by ``Mesh.face_material``; faces with no material form one more mesh without a
binding), each with only the points its faces use, and a ``Materials`` scope of ``UsdPreviewSurface``
materials. It is packaged with ``UsdUtils.CreateNewARKitUsdzPackage``, which ARKit reads.

Decisions llvscan owns:

- **Units.** Points stay in the mesh's units and the stage declares ``metersPerUnit`` from
  ``Mesh.units`` (mm → 0.001); undeclared units are written as metres (1.0), with a warning.
- **Y up.** AR Quick Look wants ``upAxis = "Y"`` (the ARKit compliance rules fail any other), so the
  stage is always Y-up; ``up_axis="z"`` rotates a Z-up scan (x, y, z) → (x, z, −y), as the GLB writer does.
- **One mesh per material** rather than ``GeomSubset``s: the same grouping as the GLB writer's
  primitives, and every viewer draws it.
- **UVs** are written per corner as face-varying ``primvars:st`` (texCoord2f), V up as in OBJ (USD's
  convention too); corners without a UV get (0, 0).
- **Normals** are face-varying: the mesh's per-corner normals, else the area-weighted vertex normal.
  ``subdivisionScheme`` is ``none``: a scan is a polygon mesh, not a subdivision cage.
- **Textures** go into the package as they are when JPEG or PNG (the only image formats ARKit reads);
  anything else libvips decodes (WebP, TIFF…) is converted to PNG, under the pixel limit. Identical
  image bytes are stored once. A texture is read as sRGB.
- **Vertex colours** (sRGB bytes in scans) are written as linear ``primvars:displayColor`` (and
  ``displayOpacity``) when the mesh's material has no texture; its ``diffuseColor`` then reads them
  through a ``UsdPrimvarReader_float3``, its fallback the material's colour.

The file is written atomically: packaged in a temporary folder, then renamed into place.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from llvscan._constants import UP_AXES
from llvscan._json import JsonResult
from llvscan._publish import write_bytes_atomic
from llvscan.errors import ImageReadError, InvalidMeshError, InvalidParameterError, OutputError, vips_error_text
from llvscan.mesh.core.texture import image_size, texture_header
from llvscan.mesh.core.types import Mesh
from llvscan.mesh.core.units import METRES_PER_UNIT
from llvscan.mesh.io.glb import _Z_UP_TO_Y_UP, _Arrays, _checked_arrays, _texture_bytes

__all__ = ["UsdzInfo", "write_usdz", "write_usdz_files"]

log = logging.getLogger(__name__)

_INSTALL_HINT = "USDZ output needs the optional usd-core package: pip install 'llvscan[usdz]'"


@dataclass(frozen=True)
class UsdzInfo(JsonResult):
    """What ``write_usdz`` wrote."""

    path: str
    bytes: int  # size of the file
    faces: int
    vertices: int  # points, summed over the per-material meshes
    textures: int  # distinct images in the package
    meters_per_unit: float  # the stage's metersPerUnit


def _import_pxr(where: str) -> SimpleNamespace:
    """usd-core's modules, by their ``pxr`` names; a usage error when usd-core is not installed."""
    try:
        from pxr import Gf, Kind, Sdf, Tf, Usd, UsdGeom, UsdShade, UsdUtils, Vt
    except ImportError as exc:
        raise InvalidParameterError(_INSTALL_HINT, path=where, detail=str(exc)) from exc
    return SimpleNamespace(Gf=Gf, Kind=Kind, Sdf=Sdf, Tf=Tf, Usd=Usd, UsdGeom=UsdGeom, UsdShade=UsdShade,
                           UsdUtils=UsdUtils, Vt=Vt)


def _checked(mesh: Mesh, where: str, rotation: np.ndarray) -> _Arrays:
    """The GLB writer's checks (indices, UVs, normals, colours, materials), USDZ's words for the first two."""
    vertices = np.asarray(mesh.vertices)
    faces = np.asarray(mesh.faces)
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise InvalidMeshError(f"vertices must be an (N, 3) array, got {vertices.shape}", path=where)
    n_faces = int(faces.shape[0]) if faces.ndim == 2 else 0
    if n_faces == 0 or len(vertices) == 0:
        raise InvalidMeshError(f"empty mesh ({len(vertices)} vertices, {n_faces} faces): nothing to write "
                               "as USDZ", path=where)
    bad = np.flatnonzero(~np.isfinite(vertices.astype(np.float64)).all(axis=1))
    if bad.size:
        raise InvalidMeshError(f"vertex {int(bad[0])} is {vertices[bad[0]].tolist()} ({bad.size} non-finite "
                               "vertices): USD points must be finite", path=where)
    return _checked_arrays(mesh, where, 1.0, rotation)


class _Images:
    """The images of the package under construction, written into its folder; identical bytes stored once."""

    def __init__(self, folder: Path, where: str) -> None:
        self.folder = folder
        self.where = where
        self._names: dict[bytes, str] = {}

    def __len__(self) -> int:
        return len(self._names)

    def add(self, data: bytes, stem: str, named: str) -> str:
        """The package-relative path of ``data``, converted to PNG unless it is JPEG or PNG already."""
        digest = hashlib.sha256(data).digest()
        if digest in self._names:
            return self._names[digest]
        header = image_size(data)
        if header is not None and header[2] in ("image/jpeg", "image/png"):
            suffix = ".jpg" if header[2] == "image/jpeg" else ".png"
            encoded = data
        else:
            encoded, suffix = _to_png(data, named, self.where), ".png"
        name = f"textures/{stem}_{len(self._names)}{suffix}"
        target = self.folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(encoded)
        self._names[digest] = name
        return name


def _to_png(data: bytes, named: str, where: str) -> bytes:
    """``data`` (any image libvips reads) as PNG bytes: USDZ allows JPEG and PNG only."""
    import pyvips

    texture_header(data, owner=where, name=named)  # refuses a header above the pixel limit before decoding
    try:
        png: bytes = pyvips.Image.new_from_buffer(data, "").pngsave_buffer()
    except pyvips.Error as exc:
        raise ImageReadError("cannot convert the texture to PNG for USDZ", path=named,
                             detail=vips_error_text(exc)) from exc
    log.info("%s: texture %s converted to PNG (USDZ allows JPEG and PNG only)", where, named)
    return png


def _identifier(tf: Any, text: str, taken: set[str]) -> str:
    """A valid, unused prim name made from ``text``."""
    base = tf.MakeValidIdentifier(text or "_")
    name, n = base, 1
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def _define_material(pxr: SimpleNamespace, stage: Any, scope: str, name: str, mesh: Mesh, index: int,
                     texture: str | None, vertex_colors: bool) -> Any:
    """A ``UsdPreviewSurface`` material for material ``index``: its texture (sRGB) or colour, opacity,
    metallic and roughness; its colour read from ``displayColor`` when ``vertex_colors``."""
    gf, sdf, usd_shade = pxr.Gf, pxr.Sdf, pxr.UsdShade
    material = mesh.materials[index]
    path = f"{scope}/{name}"
    usd_material = usd_shade.Material.Define(stage, path)
    surface = usd_shade.Shader.Define(stage, f"{path}/PreviewSurface")
    surface.CreateIdAttr("UsdPreviewSurface")
    surface.CreateInput("useSpecularWorkflow", sdf.ValueTypeNames.Int).Set(0)
    surface.CreateInput("metallic", sdf.ValueTypeNames.Float).Set(
        float(0.0 if material.metallic is None else np.clip(material.metallic, 0.0, 1.0)))
    surface.CreateInput("roughness", sdf.ValueTypeNames.Float).Set(
        float(1.0 if material.roughness is None else np.clip(material.roughness, 0.0, 1.0)))
    opacity = float(np.clip(np.nan_to_num(material.opacity, nan=1.0), 0.0, 1.0))
    color = np.clip(np.nan_to_num(np.asarray(material.color or (1.0, 1.0, 1.0), dtype=np.float64)[:3]), 0.0, 1.0)
    diffuse = surface.CreateInput("diffuseColor", sdf.ValueTypeNames.Color3f)
    opacity_input = surface.CreateInput("opacity", sdf.ValueTypeNames.Float)
    if material.alpha_mode == "MASK":
        surface.CreateInput("opacityThreshold", sdf.ValueTypeNames.Float).Set(float(material.alpha_cutoff))
    if texture is not None:
        reader = usd_shade.Shader.Define(stage, f"{path}/TexCoordReader")
        reader.CreateIdAttr("UsdPrimvarReader_float2")
        reader.CreateInput("varname", sdf.ValueTypeNames.String).Set("st")
        reader.CreateOutput("result", sdf.ValueTypeNames.Float2)
        image = usd_shade.Shader.Define(stage, f"{path}/BaseColorTexture")
        image.CreateIdAttr("UsdUVTexture")
        image.CreateInput("file", sdf.ValueTypeNames.Asset).Set(f"./{texture}")
        image.CreateInput("sourceColorSpace", sdf.ValueTypeNames.Token).Set("sRGB")
        image.CreateInput("wrapS", sdf.ValueTypeNames.Token).Set("repeat")
        image.CreateInput("wrapT", sdf.ValueTypeNames.Token).Set("repeat")
        image.CreateInput("st", sdf.ValueTypeNames.Float2).ConnectToSource(reader.ConnectableAPI(), "result")
        diffuse.ConnectToSource(image.ConnectableAPI(), "rgb")
        image.CreateOutput("rgb", sdf.ValueTypeNames.Float3)
        if material.alpha_mode in ("MASK", "BLEND"):  # the texture's alpha counts, scaled by the opacity
            image.CreateOutput("a", sdf.ValueTypeNames.Float)
            opacity_input.ConnectToSource(image.ConnectableAPI(), "a")
            if opacity < 1.0:
                image.CreateInput("scale", sdf.ValueTypeNames.Float4).Set(gf.Vec4f(1.0, 1.0, 1.0, opacity))
        else:
            opacity_input.Set(opacity)
    elif vertex_colors:
        reader = usd_shade.Shader.Define(stage, f"{path}/VertexColorReader")
        reader.CreateIdAttr("UsdPrimvarReader_float3")
        reader.CreateInput("varname", sdf.ValueTypeNames.String).Set("displayColor")
        reader.CreateInput("fallback", sdf.ValueTypeNames.Float3).Set(gf.Vec3f(*color.tolist()))
        reader.CreateOutput("result", sdf.ValueTypeNames.Float3)
        diffuse.ConnectToSource(reader.ConnectableAPI(), "result")
        opacity_input.Set(opacity)
    else:
        diffuse.Set(gf.Vec3f(*color.tolist()))
        opacity_input.Set(opacity)
    usd_material.CreateSurfaceOutput().ConnectToSource(surface.ConnectableAPI(), "surface")
    return usd_material


def _define_mesh(pxr: SimpleNamespace, stage: Any, path: str, arrays: _Arrays, rows: np.ndarray, *, with_uv: bool,
                 with_colors: bool, double_sided: bool) -> int:
    """A ``UsdGeom.Mesh`` of the faces ``rows``: its own points, face-varying normals and UVs. Returns
    its number of points."""
    sdf, usd_geom, vt = pxr.Sdf, pxr.UsdGeom, pxr.Vt
    faces = arrays.faces[rows]
    used, local = np.unique(faces.reshape(-1), return_inverse=True)
    points = arrays.positions[used].astype(np.float32)
    mesh = usd_geom.Mesh.Define(stage, path)
    mesh.CreateSubdivisionSchemeAttr(usd_geom.Tokens.none)
    mesh.CreateOrientationAttr(usd_geom.Tokens.rightHanded)
    mesh.CreateDoubleSidedAttr(bool(double_sided))
    mesh.CreatePointsAttr(vt.Vec3fArray.FromNumpy(points))
    mesh.CreateExtentAttr(vt.Vec3fArray.FromNumpy(np.stack([points.min(axis=0), points.max(axis=0)])))
    mesh.CreateFaceVertexCountsAttr(vt.IntArray.FromNumpy(np.full(len(faces), 3, dtype=np.int32)))
    mesh.CreateFaceVertexIndicesAttr(vt.IntArray.FromNumpy(local.reshape(-1).astype(np.int32)))

    corner_normal = arrays.normal_faces[rows].reshape(-1)
    normals = np.empty((corner_normal.size, 3))
    given = corner_normal >= 0
    normals[given] = arrays.normals[corner_normal[given]]
    if arrays.vertex_normals is not None:
        normals[~given] = arrays.vertex_normals[faces.reshape(-1)[~given]]
    mesh.CreateNormalsAttr(vt.Vec3fArray.FromNumpy(normals.astype(np.float32)))
    mesh.SetNormalsInterpolation(usd_geom.Tokens.faceVarying)

    primvars = usd_geom.PrimvarsAPI(mesh)
    if with_uv and arrays.uv is not None:
        corner_uv = arrays.uv_faces[rows].reshape(-1)
        st = np.where((corner_uv >= 0)[:, None], arrays.uv[np.clip(corner_uv, 0, None)], 0.0)
        primvars.CreatePrimvar("st", sdf.ValueTypeNames.TexCoord2fArray, usd_geom.Tokens.faceVarying).Set(
            vt.Vec2fArray.FromNumpy(st.astype(np.float32)))
    if with_colors and arrays.colors is not None:
        linear = arrays.colors[used].astype(np.float32) / 65535.0  # the GLB writer's linear 16-bit colours
        mesh.CreateDisplayColorPrimvar(usd_geom.Tokens.vertex).Set(vt.Vec3fArray.FromNumpy(linear[:, :3]))
        if (arrays.colors[used, 3] < 65535).any():
            mesh.CreateDisplayOpacityPrimvar(usd_geom.Tokens.vertex).Set(
                vt.FloatArray.FromNumpy(np.ascontiguousarray(linear[:, 3])))
    return len(used)


def write_usdz(mesh: Mesh, path: str | Path, *, textures: Mapping[int, bytes] | None = None,
               up_axis: str = "y") -> UsdzInfo:
    """Write ``mesh`` as a USDZ package at ``path`` (atomically) for AR Quick Look, and describe it.

    ``textures`` maps a material index to the encoded bytes of its base-colour image; materials without
    an entry use the bytes they carry (``Material.texture_data``), else ``Material.texture`` when that is
    a readable file. JPEG and PNG are packaged as they are, other formats converted to PNG.
    ``up_axis`` is the mesh's up axis, ``"y"`` (written as is) or ``"z"`` (rotated into USDZ's Y-up).

    Raises ``InvalidParameterError`` when usd-core is not installed or for impossible options;
    ``InvalidMeshError`` (naming the mesh's path) for an empty mesh, non-finite vertices or UVs,
    out-of-range indices or unknown units; ``ImageReadError`` for a texture that cannot be read;
    ``ResourceLimitError`` for one above the pixel limit that needs converting; ``OutputError`` when the
    file cannot be written.
    """
    path = Path(path)
    where = mesh.path or str(path)
    textures = dict(textures or {})
    if up_axis not in UP_AXES:
        raise InvalidParameterError(f"up_axis must be 'y' or 'z', got {up_axis!r}", path=where)
    for key in textures:
        if not 0 <= key < len(mesh.materials):
            raise InvalidParameterError(f"textures[{key}]: the mesh has {len(mesh.materials)} materials", path=where)
    if mesh.units is not None and mesh.units not in METRES_PER_UNIT:
        raise InvalidMeshError(f"unknown units {mesh.units!r}: use one of {', '.join(METRES_PER_UNIT)} "
                               "or None", path=where)
    pxr = _import_pxr(where)
    tf, usd, usd_geom, usd_shade = pxr.Tf, pxr.Usd, pxr.UsdGeom, pxr.UsdShade
    arrays = _checked(mesh, where, _Z_UP_TO_Y_UP if up_axis == "z" else np.eye(3))
    meters_per_unit = METRES_PER_UNIT.get(mesh.units or "m", 1.0)
    if mesh.units is None:
        log.warning("%s: units undeclared; written as metres (metersPerUnit 1)", where)

    counts = np.bincount(arrays.face_material + 1, minlength=len(mesh.materials) + 1)  # [none, material 0, …]
    used = np.flatnonzero(counts[1:]).tolist()
    by_material = np.argsort(arrays.face_material, kind="stable")  # keeps the face order within a mesh
    starts = np.concatenate([[0], np.cumsum(counts)])
    stem = Path(mesh.path).stem if mesh.path else path.stem

    with tempfile.TemporaryDirectory(prefix="llvscan-usdz-") as tmp:
        folder = Path(tmp)
        root = f"/{tf.MakeValidIdentifier(stem or 'model')}"
        layer = folder / "model.usdc"
        stage = usd.Stage.CreateNew(str(layer))
        usd_geom.SetStageUpAxis(stage, usd_geom.Tokens.y)
        usd_geom.SetStageMetersPerUnit(stage, meters_per_unit)
        top = usd_geom.Xform.Define(stage, root).GetPrim()
        stage.SetDefaultPrim(top)
        usd.ModelAPI(top).SetKind(pxr.Kind.Tokens.component)

        if used:
            usd_geom.Scope.Define(stage, f"{root}/Materials")
        images = _Images(folder, where)
        names: set[str] = {"Materials"}
        material_names: set[str] = set()
        n_points = 0
        for m in [*used, -1] if counts[0] else used:
            rows = by_material[starts[m + 1]:starts[m + 2]]
            material = mesh.materials[m] if m >= 0 else None
            texture = None
            if material is not None:
                data = _texture_bytes(mesh, m, textures.get(m), where)
                if data is not None and arrays.uv is None:
                    log.warning("%s: material %r has a texture but the mesh has no UVs; written without it",
                                where, material.name)
                elif data is not None:
                    texture = images.add(data, f"material{m}", material.texture or f"texture of material {m}")
            with_colors = texture is None and arrays.colors is not None
            name = _identifier(tf, material.name if material else "no_material", names)
            n_points += _define_mesh(pxr, stage, f"{root}/{name}", arrays, rows, with_uv=texture is not None,
                                     with_colors=with_colors,
                                     double_sided=bool(material.double_sided) if material else False)
            if material is not None:
                usd_material = _define_material(pxr, stage, f"{root}/Materials",
                                                _identifier(tf, material.name, material_names), mesh, m, texture,
                                                with_colors)
                prim = stage.GetPrimAtPath(f"{root}/{name}")
                usd_shade.MaterialBindingAPI.Apply(prim).Bind(usd_material)
        stage.GetRootLayer().Save()
        del stage

        package = folder / "package.usdz"
        if not pxr.UsdUtils.CreateNewARKitUsdzPackage(str(layer), str(package)) or not package.is_file():
            raise OutputError("usd-core could not package the USDZ", path=path)
        data_out = package.read_bytes()
    try:
        write_bytes_atomic(path, data_out)
    except OSError as exc:
        raise OutputError("cannot write the USDZ", path=path, detail=exc.strerror or str(exc)) from exc
    return UsdzInfo(path=str(path), bytes=len(data_out), faces=len(arrays.faces), vertices=n_points,
                    textures=len(images), meters_per_unit=meters_per_unit)


def write_usdz_files(mesh: Mesh, path: Path) -> list[Path]:
    """``write_usdz`` for the writer registry: a USDZ is one file, textures inside."""
    write_usdz(mesh, path)
    return [path]
