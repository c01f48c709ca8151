"""The sample collection: deterministic, and every file matches its stated ground truth.

The defective fragment is measured here with plain numpy, independently of llvscan, and
compared with the hand-written ``sample_data/defective_truth.json``.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import pathlib
import struct
from collections import deque
from types import ModuleType

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "sample_data" / "make_sample_data.py"
TRUTH = ROOT / "sample_data" / "defective_truth.json"

LAYOUT = {
    "collection.csv",
    "sculpture/bust.obj",
    "sculpture/bust.mtl",
    "sculpture/bust_albedo.jpg",
    "ceramics/vase.ply",
    "ceramics/figurine.glb",
    "tools/bracket.stl",
    "damaged/fragment.obj",
    "paintings/landscape.tif",
    "paintings/targets/colorchecker-sg.tif",
    "paintings/targets/slanted-edge.tif",
    "photos/condition_photo.jpg",
    "broken/truncated.obj",
    "broken/empty.ply",
    "broken/garbage.tif",
}
ASSETS = {
    "sculpture/bust.obj",
    "ceramics/vase.ply",
    "ceramics/figurine.glb",
    "tools/bracket.stl",
    "damaged/fragment.obj",
    "paintings/landscape.tif",
    "paintings/targets/colorchecker-sg.tif",
    "paintings/targets/slanted-edge.tif",
    "photos/condition_photo.jpg",
}


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_sample_data", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def collection(sample_collection: pathlib.Path) -> pathlib.Path:
    """The session's generated collection (tests/conftest.py), shared with the run tests."""
    return sample_collection


def _digests(root: pathlib.Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _obj_records(path: pathlib.Path, tag: str) -> list[list[str]]:
    prefix = tag + " "
    return [
        line.split()[1:] for line in path.read_text(encoding="utf-8").splitlines() if line.startswith(prefix)
    ]


# --------------------------------------------------------------------------------------
# Whole collection
# --------------------------------------------------------------------------------------


def test_layout(collection: pathlib.Path) -> None:
    assert set(_digests(collection)) == LAYOUT
    assert not list(collection.parent.glob(".collection*")), "staging folder left behind"


def test_generation_is_deterministic(
    generator: ModuleType, collection: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    again = tmp_path / "collection"
    generator.generate(again)
    assert _digests(again) == _digests(collection)


def test_generate_replaces_an_old_folder(generator: ModuleType, tmp_path: pathlib.Path) -> None:
    out = tmp_path / "collection"
    (out / "stale").mkdir(parents=True)
    (out / "stale" / "old.txt").write_text("old")
    generator.generate(out)
    assert not (out / "stale").exists()
    assert set(_digests(out)) == LAYOUT


def test_catalog(collection: pathlib.Path) -> None:
    with (collection / "collection.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["file", "object_number", "title", "creator", "date", "rights", "up_axis", "units"]
    assert {row["file"]: row["up_axis"] for row in rows if row["up_axis"]} == {
        "sculpture/bust.obj": "z", "ceramics/vase.ply": "z", "tools/bracket.stl": "z"}
    artworks = {a for a in ASSETS if "/targets/" not in a}  # capture targets are not catalogued objects
    assert {row["file"] for row in rows} == artworks
    assert len(rows) == len(artworks)
    assert all(row["rights"].startswith("http://") for row in rows)
    assert any(not row["creator"].isascii() for row in rows)


# --------------------------------------------------------------------------------------
# Meshes
# --------------------------------------------------------------------------------------


def test_bust(collection: pathlib.Path) -> None:
    import trimesh
    from PIL import Image

    obj = collection / "sculpture" / "bust.obj"
    mesh = trimesh.load(obj, process=False)
    n_faces = len(mesh.faces)
    n = round((n_faces / 12) ** 0.5)
    assert n_faces == 12 * n * n and 100_000 <= n_faces <= 300_000

    v = np.array(_obj_records(obj, "v"), dtype=float)
    vt = np.array(_obj_records(obj, "vt"), dtype=float)
    f = np.array([[c.split("/") for c in rec] for rec in _obj_records(obj, "f")], dtype=int) - 1
    assert len(f) == n_faces
    assert len(v) == 6 * n * n + 2
    assert len(vt) > len(v)  # UV seams: positions with several UVs
    assert vt.min() >= 0.0 and vt.max() <= 1.0
    a, b, c = (v[f[:, k, 0]] for k in range(3))
    assert np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6 > 0
    height = np.ptp(v[:, 2])
    assert 250 < height < 350  # millimetres

    text = obj.read_text(encoding="utf-8").splitlines()
    assert "# units: mm" in text
    assert "mtllib bust.mtl" in text
    mtl = (collection / "sculpture" / "bust.mtl").read_text(encoding="utf-8")
    assert "map_Kd bust_albedo.jpg" in mtl.splitlines()
    with Image.open(collection / "sculpture" / "bust_albedo.jpg") as im:
        assert (im.format, im.size, im.mode) == ("JPEG", (2048, 2048), "RGB")


def test_vase(collection: pathlib.Path) -> None:
    import trimesh

    path = collection / "ceramics" / "vase.ply"
    assert path.read_bytes().startswith(b"ply\nformat binary_little_endian 1.0\n")
    mesh = trimesh.load(path)
    assert 20_000 <= len(mesh.faces) <= 40_000
    assert mesh.is_watertight and mesh.is_winding_consistent
    assert mesh.volume > 0 and mesh.euler_number == 2
    assert mesh.visual.kind == "vertex"
    assert len(np.unique(mesh.visual.vertex_colors[:, :3], axis=0)) > 10


def test_figurine(collection: pathlib.Path) -> None:
    import trimesh

    mesh = trimesh.load(collection / "ceramics" / "figurine.glb", force="mesh")
    assert 5_000 <= len(mesh.faces) <= 20_000
    assert mesh.visual.kind == "texture"
    assert mesh.visual.uv.shape == (len(mesh.vertices), 2)
    image = mesh.visual.material.baseColorTexture
    assert image is not None and 256 <= image.size[0] <= 512
    mesh.merge_vertices(merge_tex=True, merge_norm=True)  # weld the UV seams
    assert mesh.is_watertight and mesh.volume > 0
    assert 0.05 < mesh.extents.max() < 0.5  # glTF is metres: a figurine of about 115 mm


def test_bracket(collection: pathlib.Path) -> None:
    import trimesh

    path = collection / "tools" / "bracket.stl"
    data = path.read_bytes()
    (count,) = struct.unpack_from("<I", data, 80)
    assert len(data) == 84 + 50 * count and not data.startswith(b"solid")
    mesh = trimesh.load(path)
    assert len(mesh.faces) == count
    assert mesh.is_watertight and mesh.euler_number == 0 and mesh.volume > 0


# --------------------------------------------------------------------------------------
# The defective fragment, measured with plain numpy
# --------------------------------------------------------------------------------------


def _boundary_loops(boundary: np.ndarray) -> list[int]:
    """Walk the boundary edge graph; every vertex on it must have degree 2."""
    neighbours: dict[int, list[int]] = {}
    for a, b in boundary.tolist():
        neighbours.setdefault(a, []).append(b)
        neighbours.setdefault(b, []).append(a)
    assert all(len(nb) == 2 for nb in neighbours.values()), "boundary is not simple loops"
    seen: set[int] = set()
    perimeters = []
    for start in sorted(neighbours):
        if start in seen:
            continue
        prev, cur, length = -1, start, 0
        while True:
            seen.add(cur)
            nxt = neighbours[cur][0] if neighbours[cur][0] != prev else neighbours[cur][1]
            prev, cur, length = cur, nxt, length + 1
            if cur == start:
                break
        perimeters.append(length)
    return sorted(perimeters)


def _flipped_faces(faces: np.ndarray, pairs: np.ndarray, same_direction: np.ndarray) -> list[int]:
    """Faces whose orientation disagrees with the majority of their component.

    Components and relative orientation come from a BFS over manifold edges: two faces
    that traverse their shared edge in the same direction have opposite orientation.
    """
    adjacency: list[list[tuple[int, int]]] = [[] for _ in range(len(faces))]
    for (f, g), flip in zip(pairs.tolist(), same_direction.tolist(), strict=True):
        adjacency[f].append((g, int(flip)))
        adjacency[g].append((f, int(flip)))
    parity = np.full(len(faces), -1)
    flipped: list[int] = []
    for seed in range(len(faces)):
        if parity[seed] >= 0:
            continue
        parity[seed] = 0
        component, queue = [seed], deque([seed])
        while queue:
            f = queue.popleft()
            for g, flip in adjacency[f]:
                if parity[g] < 0:
                    parity[g] = parity[f] ^ flip
                    component.append(g)
                    queue.append(g)
        comp = np.array(component)
        ones = comp[parity[comp] == 1]
        zeros = comp[parity[comp] == 0]
        assert len(ones) != len(zeros), "orientation majority is ambiguous"
        flipped += (ones if len(ones) < len(zeros) else zeros).tolist()
    return sorted(flipped)


def _fan_split_vertices(faces: np.ndarray, occurrences: list[tuple[tuple[int, int], np.ndarray]]) -> set[int]:
    """Vertices whose incident faces form more than one edge-connected fan."""
    parent = np.arange(faces.size)  # one node per face corner (face * 3 + k)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return int(x)

    corner = {(f, int(vtx)): f * 3 + k for f, row in enumerate(faces) for k, vtx in enumerate(row)}
    for (a, b), occ in occurrences:
        for g in occ[1:]:
            for vtx in (a, b):
                parent[find(corner[(int(g), vtx)])] = find(corner[(int(occ[0]), vtx)])
    roots: dict[int, set[int]] = {}
    for (_, vtx), c in corner.items():
        roots.setdefault(vtx, set()).add(find(c))
    return {vtx for vtx, r in roots.items() if len(r) > 1}


def measure_defects(vertices: np.ndarray, faces: np.ndarray) -> dict[str, object]:
    """Every field of defective_truth.json, computed from scratch."""
    n_faces = len(faces)
    directed = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    owner = np.tile(np.arange(n_faces), 3)
    undirected = np.sort(directed, axis=1)
    edges, inverse, counts = np.unique(undirected, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    order = np.argsort(inverse, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)])
    occurrences = [
        (tuple(edges[e].tolist()), owner[order[starts[e] : starts[e + 1]]]) for e in range(len(edges))
    ]

    boundary = edges[counts == 1]
    non_manifold = edges[counts > 2]
    manifold = np.flatnonzero(counts == 2)
    occ_rows = order[starts[manifold][:, None] + np.arange(2)]  # (m, 2) rows of `directed`
    forward = directed[occ_rows, 0] < directed[occ_rows, 1]
    same_direction = forward[:, 0] == forward[:, 1]
    flipped = _flipped_faces(faces, owner[occ_rows], same_direction)

    nm_vertices = set(non_manifold.ravel().tolist()) | _fan_split_vertices(faces, occurrences)

    _, group, group_size = np.unique(vertices, axis=0, return_inverse=True, return_counts=True)
    group = group.ravel()
    duplicate_pairs = sorted(np.flatnonzero(group == g).tolist() for g in np.flatnonzero(group_size > 1))
    assert all(len(p) == 2 for p in duplicate_pairs)
    unreferenced = sorted(set(range(len(vertices))) - set(faces.ravel().tolist()))

    a, b, c = (vertices[faces[:, k]] for k in range(3))
    area = 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)
    diag2 = float(np.sum(np.ptp(vertices, axis=0) ** 2))
    degenerate = np.flatnonzero(area < 1e-12 * diag2)
    repeated = (faces[:, 0] == faces[:, 1]) | (faces[:, 1] == faces[:, 2]) | (faces[:, 2] == faces[:, 0])

    perimeters = _boundary_loops(boundary)
    return {
        "vertices": len(vertices),
        "faces": n_faces,
        "boundary_edges": len(boundary),
        "boundary_loops": len(perimeters),
        "hole_perimeters": perimeters,
        "non_manifold_edges": len(non_manifold),
        "non_manifold_vertices": len(nm_vertices),
        "duplicate_vertex_pairs": len(duplicate_pairs),
        "unreferenced_vertices": len(unreferenced),
        "degenerate_faces": len(degenerate),
        "repeated_index_faces": int(repeated.sum()),
        "flipped_faces": len(flipped),
        "inconsistent_edges": int(same_direction.sum()),
        "indices": {
            "non_manifold_edges": sorted(non_manifold.tolist()),
            "non_manifold_vertices": sorted(nm_vertices),
            "duplicate_vertex_pairs": duplicate_pairs,
            "unreferenced_vertices": unreferenced,
            "degenerate_faces": degenerate.tolist(),
            "flipped_faces": flipped,
        },
    }


def test_fragment_matches_truth(collection: pathlib.Path) -> None:
    truth = json.loads(TRUTH.read_text(encoding="utf-8"))
    path = collection / truth["file"]
    assert "# units: mm" in path.read_text(encoding="utf-8").splitlines()
    vertices = np.array(_obj_records(path, "v"), dtype=float)
    faces = np.array(_obj_records(path, "f"), dtype=np.int64) - 1
    measured = measure_defects(vertices, faces)
    for key, value in measured.items():
        assert value == truth[key], key


def test_measure_defects_on_a_clean_closed_mesh(generator: ModuleType) -> None:
    vertices, faces, _ = generator.cube_sphere(6)
    measured = measure_defects(vertices, faces)
    assert measured["boundary_edges"] == measured["non_manifold_vertices"] == 0
    assert measured["flipped_faces"] == measured["inconsistent_edges"] == 0
    assert measured["duplicate_vertex_pairs"] == measured["degenerate_faces"] == 0


# --------------------------------------------------------------------------------------
# Images and broken files
# --------------------------------------------------------------------------------------


def _tiff_tags(path: pathlib.Path) -> set[int]:
    """Tag numbers of the first IFD of a classic TIFF."""
    with path.open("rb") as fh:
        head = fh.read(8)
        endian = {b"II": "<", b"MM": ">"}[head[:2]]
        (offset,) = struct.unpack(endian + "I", head[4:8])
        fh.seek(offset)
        (count,) = struct.unpack(endian + "H", fh.read(2))
        entries = fh.read(12 * count)
    return {struct.unpack_from(endian + "H", entries, 12 * i)[0] for i in range(count)}


def test_landscape(collection: pathlib.Path) -> None:
    import pyvips

    path = collection / "paintings" / "landscape.tif"
    image = pyvips.Image.new_from_file(str(path))
    assert image.width >= 12000 and image.height >= 9000
    assert (image.bands, image.format) == (3, "uchar")
    assert image.get_typeof("icc-profile-data") != 0
    assert image.xres == pytest.approx(300 / 25.4, rel=1e-4)
    assert image.yres == pytest.approx(300 / 25.4, rel=1e-4)
    assert {322, 323} <= _tiff_tags(path)  # TileWidth, TileLength
    assert path.stat().st_size < 40 * 2**20


def test_condition_photo(collection: pathlib.Path) -> None:
    from PIL import ExifTags, Image

    with Image.open(collection / "photos" / "condition_photo.jpg") as im:
        assert im.size == (1237, 811)
        assert im.info.get("icc_profile")
        exif = im.getexif()
        sub = exif.get_ifd(ExifTags.IFD.Exif)
    assert exif[ExifTags.Base.Make] == "Hasselblad"
    assert exif[ExifTags.Base.Model] == "X2D 100C"
    assert sub[ExifTags.Base.DateTimeOriginal] == "2026:03:14 10:22:05"
    assert float(sub[ExifTags.Base.ExposureTime]) == pytest.approx(1 / 125)
    assert float(sub[ExifTags.Base.FNumber]) == 8
    assert sub[ExifTags.Base.ISOSpeedRatings] == 100


def test_broken_files(collection: pathlib.Path) -> None:
    import pyvips

    broken = collection / "broken"
    assert (broken / "empty.ply").stat().st_size == 0
    text = (broken / "truncated.obj").read_text(encoding="ascii")
    assert not any(line.startswith("f ") for line in text.splitlines())
    assert text.count("\nv ") > 10 and not text.endswith("\n")
    assert (broken / "garbage.tif").stat().st_size == 4096
    with pytest.raises(pyvips.Error):
        pyvips.Image.new_from_file(str(broken / "garbage.tif")).avg()
