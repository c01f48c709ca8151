"""Format identification through siegfried (pygfried) on files made by independent tools.

The PUIDs asserted are the ones siegfried 1.11 with PRONOM signature file V125 gives; binary STL has no
PRONOM byte signature, so siegfried identifies it from the extension alone (and so would any random bytes
named ``.stl``).
"""

from __future__ import annotations

import json
import statistics
import struct
import time
from pathlib import Path

import numpy as np
import pygfried
import pytest

from llvscan.errors import AssetReadError, UnsafePathError
from llvscan.preservation.identify import FormatIdentification, identify_file, identify_files, tool_info

JPEG_FAMILY = {"fmt/41", "fmt/42", "fmt/43", "fmt/44", "fmt/112", "fmt/645"}


def _rgb(seed: int = 0, shape: tuple[int, int] = (37, 53)) -> np.ndarray:
    return (np.random.default_rng(seed).random((*shape, 3)) * 255).astype(np.uint8)


_CUBE_V = [(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (0, 0, 1), (1, 0, 1), (1, 1, 1), (0, 1, 1)]
_CUBE_F = [(0, 2, 1), (0, 3, 2), (4, 5, 6), (4, 6, 7), (0, 1, 5), (0, 5, 4),
           (2, 3, 7), (2, 7, 6), (1, 2, 6), (1, 6, 5), (0, 4, 7), (0, 7, 3)]


def _binary_stl(path: Path) -> None:
    body = b"".join(struct.pack("<12fH", 0, 0, 0, *_CUBE_V[a], *_CUBE_V[b], *_CUBE_V[c], 0) for a, b, c in _CUBE_F)
    path.write_bytes(b"binary stl by hand".ljust(80, b" ") + struct.pack("<I", len(_CUBE_F)) + body)


def _ascii_stl(path: Path) -> None:
    lines = ["solid cube"]
    for face in _CUBE_F:
        lines += ["  facet normal 0 0 0", "    outer loop"]
        lines += [f"      vertex {x} {y} {z}" for x, y, z in (_CUBE_V[i] for i in face)]
        lines += ["    endloop", "  endfacet"]
    path.write_text("\n".join([*lines, "endsolid cube"]) + "\n")


def _obj(path: Path, *, decimals: bool = True) -> None:
    fmt = "v {:.6f} {:.6f} {:.6f}" if decimals else "v {} {} {}"
    lines = ["# cube by hand"] + [fmt.format(*v) for v in _CUBE_V]
    lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in _CUBE_F]
    path.write_text("\n".join(lines) + "\n")


def _ascii_ply(path: Path) -> None:
    head = ["ply", "format ascii 1.0", f"element vertex {len(_CUBE_V)}", "property float x", "property float y",
            "property float z", f"element face {len(_CUBE_F)}", "property list uchar int vertex_indices", "end_header"]
    body = [f"{x} {y} {z}" for x, y, z in _CUBE_V] + [f"3 {a} {b} {c}" for a, b, c in _CUBE_F]
    path.write_text("\n".join(head + body) + "\n")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    import pyvips
    import trimesh
    from PIL import Image

    d = tmp_path_factory.mktemp("identify")
    im = Image.fromarray(_rgb())
    im.save(d / "pil.tif")
    im.save(d / "pil_lzw.tif", compression="tiff_lzw")
    im.save(d / "upper.TIF")
    im.save(d / "long.tiff")
    im.save(d / "pil.jpg")
    im.save(d / "pil.jpeg")
    im.save(d / "pil.png")
    Image.fromarray(np.dstack([_rgb(), _rgb(1)[..., :1]])).save(d / "rgba.png")
    Image.fromarray(_rgb()[..., 0].astype(np.uint16) * 257).save(d / "grey16.png")
    im.save(d / "lossy.webp", quality=80)
    im.save(d / "lossless.webp", lossless=True)
    im.save(d / "pil.jp2")
    im.save(d / "pil.j2k")
    v = pyvips.Image.new_from_array(_rgb(2)).copy(interpretation="srgb")
    v.tiffsave(str(d / "vips_pyramid.tif"), tile=True, pyramid=True, compression="lzw")
    v.tiffsave(str(d / "vips_big.tif"), bigtiff=True)
    _obj(d / "hand.obj")
    _obj(d / "integer_coordinates.obj", decimals=False)
    _ascii_ply(d / "hand_ascii.ply")
    cube = trimesh.Trimesh(vertices=np.array(_CUBE_V, float), faces=np.array(_CUBE_F), process=False)
    cube.export(d / "trimesh_binary.ply")
    _ascii_stl(d / "hand_ascii.stl")
    _binary_stl(d / "hand_binary.stl")
    cube.export(d / "trimesh.glb")
    # Wrong or missing extensions, and bad bytes.
    im.save(d / "really_jpeg.tif", format="JPEG")
    im.save(d / "really_tiff.png", format="TIFF")
    im.save(d / "jpeg_without_extension", format="JPEG")
    (d / "empty.tif").write_bytes(b"")
    (d / "empty.bin").write_bytes(b"")
    rng = np.random.default_rng(7)
    (d / "random_bytes").write_bytes(rng.bytes(4096))
    (d / "random.tif").write_bytes(rng.bytes(4096))
    (d / "random.stl").write_bytes(rng.bytes(4096))
    (d / "folder").mkdir()
    return d


# Observed with siegfried 1.11.9, DROID_SignatureFile_V125 + container-signature-20260119.
EXPECTED = {
    "pil.tif": ("fmt/353", "Tagged Image File Format", "image/tiff"),
    "pil_lzw.tif": ("fmt/353", "Tagged Image File Format", "image/tiff"),
    "upper.TIF": ("fmt/353", "Tagged Image File Format", "image/tiff"),
    "long.tiff": ("fmt/353", "Tagged Image File Format", "image/tiff"),
    "vips_pyramid.tif": ("fmt/353", "Tagged Image File Format", "image/tiff"),
    "vips_big.tif": ("fmt/1917", "BigTIFF", None),
    "pil.jpg": ("fmt/43", "JPEG File Interchange Format", "image/jpeg"),  # Pillow writes JFIF 1.01
    "pil.jpeg": ("fmt/43", "JPEG File Interchange Format", "image/jpeg"),
    "pil.png": ("fmt/11", "Portable Network Graphics", "image/png"),  # PNG 1.0 (no 1.1/1.2-only chunks)
    "rgba.png": ("fmt/11", "Portable Network Graphics", "image/png"),
    "grey16.png": ("fmt/11", "Portable Network Graphics", "image/png"),
    "lossy.webp": ("fmt/566", "WebP", "image/webp"),
    "lossless.webp": ("fmt/567", "WebP", "image/webp"),
    "pil.jp2": ("x-fmt/392", "JP2 (JPEG 2000 part 1)", "image/jp2"),
    "pil.j2k": ("fmt/1794", "JPEG 2000 Codestream", "image/jp2"),
    "hand.obj": ("fmt/1210", "Wavefront OBJ File", None),
    "hand_ascii.ply": ("fmt/831", "Polygon File Format", None),
    "trimesh_binary.ply": ("fmt/831", "Polygon File Format", None),
    "hand_ascii.stl": ("x-fmt/108", "STL (Standard Tessellation Language) ASCII", None),
    "hand_binary.stl": ("fmt/865", "STL (Standard Tessellation Language) Binary", None),
    "trimesh.glb": ("fmt/1316", "GL Transmission Format (Binary)", "model/gltf-binary"),
}
EXTENSION_ONLY = {"hand_binary.stl"}  # no PRONOM byte signature for binary STL


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_puids_of_generated_files(files, name):
    puid, format_name, mime = EXPECTED[name]
    r = identify_file(files / name)
    assert (r.puid, r.format_name, r.mime) == (puid, format_name, mime)
    assert r.tool == "siegfried" and r.tool_version == pygfried.version()
    assert r.size == (files / name).stat().st_size
    assert r.extension_mismatch is False
    assert r.extension_only is (name in EXTENSION_ONLY)
    if name in EXTENSION_ONLY:
        assert r.finding is not None and (r.finding.level, r.finding.code) == ("info", "extension_only")
        assert r.warning == "match on extension only" and "byte match" not in (r.basis or "")
    else:
        assert r.finding is None and r.warning is None
        assert "byte match" in (r.basis or "")


def test_versions_reported(files):
    assert identify_file(files / "pil.jpg").format_version == "1.01"
    assert identify_file(files / "pil.png").format_version == "1.0"
    assert identify_file(files / "lossy.webp").format_version == "Lossy"
    assert identify_file(files / "lossless.webp").format_version == "Lossless"
    assert identify_file(files / "pil.tif").format_version is None


def test_jpeg_named_tif_is_a_finding(files):
    r = identify_file(files / "really_jpeg.tif")
    assert r.puid in JPEG_FAMILY and r.puid == "fmt/43"
    assert r.extension_mismatch is True and "extension mismatch" in (r.warning or "")
    assert r.finding is not None and (r.finding.level, r.finding.code) == ("warning", "extension_mismatch")
    assert "really_jpeg.tif" in r.finding.message and ".tif" in r.finding.message
    assert "JPEG File Interchange Format" in r.finding.message and "fmt/43" in r.finding.message


def test_tiff_named_png_and_jpeg_without_extension_mismatch(files):
    r = identify_file(files / "really_tiff.png")
    assert (r.puid, r.extension_mismatch, r.finding.code) == ("fmt/353", True, "extension_mismatch")
    assert ".png" in r.finding.message
    r = identify_file(files / "jpeg_without_extension")
    assert (r.puid, r.extension_mismatch) == ("fmt/43", True)
    assert "no extension" in r.finding.message


def test_empty_files(files):
    r = identify_file(files / "empty.tif")
    assert r.size == 0 and r.puid == "UNKNOWN" and not r.identified
    assert r.finding is not None and (r.finding.level, r.finding.code) == ("warning", "empty_file")
    assert "empty.tif" in r.finding.message
    r = identify_file(files / "empty.bin")  # siegfried names a format from the extension only
    assert r.size == 0 and r.extension_only and not r.extension_mismatch and r.finding.code == "empty_file"


def test_random_bytes_are_unknown(files):
    r = identify_file(files / "random_bytes")
    assert (r.puid, r.format_name, r.mime, r.identified) == ("UNKNOWN", None, None, False)
    assert r.finding is not None and (r.finding.level, r.finding.code) == ("warning", "unidentified_format")
    assert "random_bytes" in r.finding.message
    r = identify_file(files / "random.tif")  # a TIFF extension does not make a TIFF: siegfried lists candidates
    assert r.puid == "UNKNOWN" and "fmt/353" in (r.warning or "") and r.finding.code == "unidentified_format"


def test_random_bytes_named_stl_pass_on_extension_alone(files):
    """The known limit: binary STL has no signature, so any bytes named .stl are 'STL' (extension only)."""
    r = identify_file(files / "random.stl")
    assert r.puid == "fmt/865" and r.extension_only and r.finding.code == "extension_only"


def test_obj_with_integer_coordinates_is_unknown(files):
    """The known limit: PRONOM's OBJ signature (fmt/1210) wants "v" lines with decimal points, so a valid OBJ
    written as "v 0 0 0" is not identified (siegfried lists fmt/1210 among the extension's candidates)."""
    r = identify_file(files / "integer_coordinates.obj")
    assert r.puid == "UNKNOWN" and "fmt/1210" in (r.warning or "") and r.finding.code == "unidentified_format"


def test_missing_file_and_directory_raise(files):
    with pytest.raises(AssetReadError, match=r"nothing_here\.tif"):
        identify_file(files / "nothing_here.tif")
    with pytest.raises(AssetReadError, match="folder"):
        identify_file(files / "folder")
    with pytest.raises(AssetReadError, match=r"nothing_here\.tif"):
        identify_files([files / "pil.tif", files / "nothing_here.tif"])


def test_root_relative_paths(files):
    r = identify_file("pil.png", root=files)
    assert r.path == "pil.png" and r.puid == "fmt/11"
    r = identify_file(files / "pil.png", root=files.parent)
    assert r.path == f"{files.name}/pil.png"
    with pytest.raises(UnsafePathError):
        identify_file("../outside.png", root=files)


def test_identify_files_matches_one_by_one(files):
    names = ["pil.jp2", "really_jpeg.tif", "hand.obj", "empty.tif", "random_bytes", "pil.jp2", "trimesh.glb"]
    many = identify_files([files / n for n in names])
    assert [m.path for m in many] == [str(files / n) for n in names]
    assert many == [identify_file(files / n) for n in names]
    parallel = identify_files([files / n for n in names], workers=2)
    assert [m.puid for m in parallel] == [m.puid for m in many]
    assert identify_files([]) == []


def test_tool_info_for_premis_agent():
    info = tool_info()
    assert info.tool == "siegfried" and info.version == pygfried.version()
    assert info.signature_file == "default.sig" and info.signature_created
    assert "DROID_SignatureFile" in info.signature_version
    assert info.agent_name.startswith(f"siegfried {info.version} (default.sig; DROID_SignatureFile")


def test_json_form(files):
    r = identify_file(files / "really_jpeg.tif")
    data = json.loads(json.dumps(r.to_dict()))
    assert data["puid"] == "fmt/43" and data["finding"]["code"] == "extension_mismatch"
    assert isinstance(r, FormatIdentification) and info_fields_present(data)


def info_fields_present(data: dict) -> bool:
    return {"path", "puid", "format_name", "format_version", "mime", "basis", "warning", "tool", "tool_version",
            "signature_version", "extension_mismatch", "finding"} <= set(data)


def test_seconds_per_file(files):
    """After the first call (signatures load once), a small file takes well under 20 ms."""
    identify_file(files / "pil.png")
    times = []
    for name in sorted(EXPECTED):
        t = time.perf_counter()
        identify_file(files / name)
        times.append(time.perf_counter() - t)
    assert statistics.median(times) < 0.02


def test_own_extension_table_backs_up_siegfried():
    """When siegfried does not warn, llvscan's table of extensions per PUID still flags a mismatch (here on a
    synthetic siegfried answer: PNG bytes named .jpg, with the warning left out)."""
    from llvscan.preservation.identify import _record

    entry = {"filename": "x.jpg", "filesize": 10, "errors": "",
             "matches": [{"ns": "pronom", "id": "fmt/11", "format": "Portable Network Graphics", "version": "1.0",
                          "mime": "image/png", "class": "Image (Raster)", "basis": "byte match at 0, 16",
                          "warning": ""}]}
    r = _record(entry, "x.jpg", tool_info())
    assert r.extension_mismatch and r.finding.code == "extension_mismatch" and ".jpg" in r.finding.message
    entry["filename"] = "x.png"
    assert not _record(entry, "x.png", tool_info()).extension_mismatch
