"""OCFL export: a real llvscan run on a tiny collection (a PNG made with Pillow, an OBJ written by hand) is
exported to an OCFL 1.1 storage root and checked with ocfl-py's validator; expected digests and object paths
are computed here with hashlib from the original bytes, never taken from llvscan."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import ocfl
import pytest
from PIL import Image

from llvscan.catalog.db import Catalog
from llvscan.collection import RunRecipe, run_collection
from llvscan.errors import CatalogError, InvalidParameterError
from llvscan.preservation import ocfl as llvscan_ocfl
from llvscan.preservation.ocfl import export_ocfl, validate_ocfl

RECIPE = RunRecipe().with_image(layouts=("iiif3",)).with_mesh(lods=None)
PNG_PATH = "scans #1/pic 50% é.png"  # hostile: space, '#', '%', non-ASCII
OBJ_PATH = "tetra.obj"
TETRA = "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 3 2\nf 1 2 4\nf 1 4 3\nf 2 3 4\n"


def _collection(tmp_path: Path) -> tuple[Path, Path]:
    col = tmp_path / "collection"
    (col / "scans #1").mkdir(parents=True)
    Image.new("RGB", (37, 23), (200, 10, 10)).save(col / PNG_PATH)
    (col / OBJ_PATH).write_text(TETRA)
    out = tmp_path / "out"
    _run(col, out)
    return col, out


def _run(col: Path, out: Path) -> None:
    summary = run_collection(col, out, recipe=RECIPE, workers=0, report=False, warm_up=False)
    assert summary.failed == 0


def _ids(out: Path) -> dict[str, str]:
    with Catalog(out / "catalog.sqlite", readonly=True) as catalog:
        return {a.rel_path: a.id for a in catalog.assets()}


def _object_dir(root: Path, asset_id: str) -> Path:
    """Extension 0003 with its defaults, computed independently: sha256 of the id in three 3-char tuples, then
    the id percent-encoded (lower-case hex)."""
    identifier = f"urn:uuid:{asset_id}"
    digest = hashlib.sha256(identifier.encode()).hexdigest()
    encoded = "".join(c if c.isalnum() or c in "-_" else "".join(f"%{b:02x}" for b in c.encode())
                      for c in identifier)
    return root / digest[0:3] / digest[3:6] / digest[6:9] / encoded


def _inventory(objdir: Path) -> dict:
    return json.loads((objdir / "inventory.json").read_text())


def _state(inventory: dict, version: str | None = None) -> dict[str, str]:
    state = inventory["versions"][version or inventory["head"]]["state"]
    return {path: digest for digest, paths in state.items() for path in paths}


def _content_file(objdir: Path, logical: str) -> Path:
    inventory = _inventory(objdir)
    digest = _state(inventory)[logical]
    return objdir / inventory["manifest"][digest][0]


def test_export_holds_sources_derivatives_and_metadata(tmp_path: Path) -> None:
    col, out = _collection(tmp_path)
    root = tmp_path / "ocfl"
    result = export_ocfl(out, col, root)
    assert (result.objects_created, result.versions_added, result.unchanged, result.problems) == (2, 0, 0, [])
    assert (root / "0=ocfl_1.1").is_file()
    assert json.loads((root / "ocfl_layout.json").read_text())["extension"] == llvscan_ocfl.OCFL_LAYOUT
    check = validate_ocfl(root)
    assert check.is_valid, check.errors
    assert (check.objects_checked, check.valid_objects) == (2, 2)

    ids = _ids(out)
    with Catalog(out / "catalog.sqlite", readonly=True) as catalog:
        derivatives = {path: catalog.derivatives(i) for path, i in ids.items()}
    for rel_path, asset_id in ids.items():
        objdir = _object_dir(root, asset_id)
        inventory = _inventory(objdir)
        assert inventory["id"] == f"urn:uuid:{asset_id}"
        assert inventory["head"] == "v1" and inventory["digestAlgorithm"] == "sha512"
        assert inventory["versions"]["v1"]["user"]["name"].startswith("llvscan ")
        state = _state(inventory)
        original = (col / rel_path).read_bytes()
        assert state[f"sources/{rel_path}"] == hashlib.sha512(original).hexdigest()
        assert _content_file(objdir, f"sources/{rel_path}").read_bytes() == original
        for name in ("premis.xml", "mets.xml", "catalog.json"):
            assert f"metadata/{name}" in state
        rows = json.loads(_content_file(objdir, "metadata/catalog.json").read_text())
        assert rows["asset"]["id"] == asset_id and rows["files"][0]["rel_path"] == rel_path
        assert b"<premis:premis" in _content_file(objdir, "metadata/premis.xml").read_bytes()
        for d in derivatives[rel_path]:
            stored = [p for p in state if p == f"derivatives/{d.path}" or p.startswith(f"derivatives/{d.path}/")]
            assert len(stored) == d.files, d.path  # a tile set file by file
            for logical in stored:
                source = out / logical.removeprefix("derivatives/")
                assert state[logical] == hashlib.sha512(source.read_bytes()).hexdigest()
    assert any(d.files > 1 for rows in derivatives.values() for d in rows)  # the IIIF tile set was exported
    # nothing left behind by the staging
    assert sorted(p.name for p in (root / "extensions").iterdir()) == [llvscan_ocfl.OCFL_LAYOUT]

    again = export_ocfl(out / "catalog.sqlite", col, root)
    assert (again.objects_created, again.versions_added, again.unchanged) == (0, 0, 2)


def test_changed_source_adds_a_version_to_its_object_only(tmp_path: Path) -> None:
    col, out = _collection(tmp_path)
    root = tmp_path / "ocfl"
    export_ocfl(out, col, root)
    changed = TETRA.replace("v 0 0 1", "v 0 0 2").encode()
    (col / OBJ_PATH).write_bytes(changed)
    _run(col, out)
    result = export_ocfl(out, col, root)
    assert (result.objects_created, result.versions_added, result.unchanged) == (0, 1, 1), result
    ids = _ids(out)
    mesh, image = _inventory(_object_dir(root, ids[OBJ_PATH])), _inventory(_object_dir(root, ids[PNG_PATH]))
    assert (mesh["head"], image["head"]) == ("v2", "v1")
    assert _state(mesh, "v1")[f"sources/{OBJ_PATH}"] == hashlib.sha512(TETRA.encode()).hexdigest()
    assert _state(mesh, "v2")[f"sources/{OBJ_PATH}"] == hashlib.sha512(changed).hexdigest()
    assert mesh["versions"]["v2"]["message"].startswith("llvscan ")
    check = validate_ocfl(root)
    assert check.is_valid and check.objects_checked == 2, check.errors


def test_flipped_byte_is_caught_by_the_validator(tmp_path: Path) -> None:
    col, out = _collection(tmp_path)
    root = tmp_path / "ocfl"
    export_ocfl(out, col, root)
    stored = _content_file(_object_dir(root, _ids(out)[PNG_PATH]), f"sources/{PNG_PATH}")
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0x01
    stored.write_bytes(bytes(data))
    check = validate_ocfl(root)
    assert not check.is_valid and check.valid_objects == 1
    assert any("E093" in e or "E092" in e for e in check.errors), check.errors  # content digest mismatch


def test_altered_source_is_refused_and_its_object_kept(tmp_path: Path) -> None:
    col, out = _collection(tmp_path)
    root = tmp_path / "ocfl"
    export_ocfl(out, col, root)
    (col / OBJ_PATH).write_text(TETRA + "# edited after the run\n")  # llvscan not rerun
    result = export_ocfl(out, col, root)
    assert result.unchanged == 1 and result.versions_added == 0
    assert len(result.problems) == 1 and OBJ_PATH in result.problems[0] and "rerun llvscan" in result.problems[0]
    assert _inventory(_object_dir(root, _ids(out)[OBJ_PATH]))["head"] == "v1"


def test_interrupted_export_leaves_no_partial_object(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    col, out = _collection(tmp_path)
    root = tmp_path / "ocfl"
    real_write = ocfl.Object.write_inventory_and_sidecar
    calls = {"create": 0}
    real_create = ocfl.Object.create

    def create(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls["create"] += 1
        if calls["create"] == 2:  # the second object dies half-written, in its staging folder
            monkeypatch.setattr(ocfl.Object, "write_inventory_and_sidecar", _boom)
        return real_create(self, *args, **kwargs)

    def _boom(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(ocfl.Object, "create", create)
    with pytest.raises(KeyboardInterrupt):
        export_ocfl(out, col, root)
    monkeypatch.setattr(ocfl.Object, "write_inventory_and_sidecar", real_write)
    monkeypatch.setattr(ocfl.Object, "create", real_create)
    check = validate_ocfl(root)
    assert check.is_valid and check.objects_checked == 1, check.errors
    assert sorted(p.name for p in (root / "extensions").iterdir()) == [llvscan_ocfl.OCFL_LAYOUT]
    result = export_ocfl(out, col, root)
    assert (result.objects_created, result.unchanged) == (1, 1)
    check = validate_ocfl(root)
    assert check.is_valid and check.objects_checked == 2, check
    assert all("W008" in w for w in check.warnings), check.warnings  # only: the user has no address


def test_killed_between_renames_is_restored(tmp_path: Path) -> None:
    """What a kill -9 between the two renames of an update leaves (the live object moved into its staging
    folder, the new one not yet in place), then the next export."""
    col, out = _collection(tmp_path)
    root = tmp_path / "ocfl"
    export_ocfl(out, col, root)
    live = _object_dir(root, _ids(out)[OBJ_PATH])
    work = root / "extensions" / "llvscan-staging" / "0123abcd"
    work.mkdir(parents=True)
    (work / "target").write_text(live.relative_to(root).as_posix())
    shutil.move(live, work / "old")
    assert validate_ocfl(root).objects_checked == 1  # absent, not half-written
    result = export_ocfl(out, col, root)
    assert (result.objects_created, result.versions_added, result.unchanged) == (0, 0, 2)
    assert _inventory(live)["head"] == "v1"
    assert not (root / "extensions" / "llvscan-staging").exists()
    assert validate_ocfl(root).is_valid


def test_only_some_assets(tmp_path: Path) -> None:
    col, out = _collection(tmp_path)
    root = tmp_path / "ocfl"
    result = export_ocfl(out, col, root, assets=[PNG_PATH])
    assert result.objects_created == 1
    assert validate_ocfl(root).objects_checked == 1
    assert _object_dir(root, _ids(out)[PNG_PATH]).is_dir()


def test_bad_destinations_and_inputs(tmp_path: Path) -> None:
    col, out = _collection(tmp_path)
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(InvalidParameterError):
        export_ocfl(out, col, a_file)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("not an OCFL root")
    with pytest.raises(InvalidParameterError, match="neither empty nor an OCFL"):
        export_ocfl(out, col, busy)
    with pytest.raises(InvalidParameterError):
        export_ocfl(out, col, out / "ocfl")  # inside the output folder
    with pytest.raises(CatalogError):
        export_ocfl(tmp_path / "nowhere", col, tmp_path / "ocfl")
    with pytest.raises(InvalidParameterError, match="no such asset in the catalog"):
        export_ocfl(out, col, tmp_path / "ocfl", assets=["no/such.png"])
    with pytest.raises(InvalidParameterError):
        validate_ocfl(tmp_path / "missing")


def test_validator_reports_a_stray_empty_folder(tmp_path: Path) -> None:
    col, out = _collection(tmp_path)
    root = tmp_path / "ocfl"
    export_ocfl(out, col, root, assets=[OBJ_PATH])
    (root / "abc" / "def").mkdir(parents=True)
    check = validate_ocfl(root)
    assert not check.is_valid and any("E073" in e for e in check.errors), check.errors


def test_foreign_folder_at_an_object_path_is_left_alone(tmp_path: Path) -> None:
    col, out = _collection(tmp_path)
    root = tmp_path / "ocfl"
    export_ocfl(out, col, root, assets=[OBJ_PATH])
    squatter = _object_dir(root, _ids(out)[PNG_PATH])
    squatter.mkdir(parents=True)
    (squatter / "keep.txt").write_text("not llvscan's")
    result = export_ocfl(out, col, root)
    assert result.objects_created == 0 and len(result.problems) == 1 and "no inventory.json" in result.problems[0]
    assert (squatter / "keep.txt").read_text() == "not llvscan's"


def test_update_interrupted_between_renames_rolls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    col, out = _collection(tmp_path)
    root = tmp_path / "ocfl"
    export_ocfl(out, col, root)
    (col / OBJ_PATH).write_text(TETRA.replace("v 0 0 1", "v 0 0 3"))
    _run(col, out)
    real_rename = llvscan_ocfl.os.rename
    calls: list[object] = []

    def rename(src, dst):  # type: ignore[no-untyped-def]
        calls.append(src)
        if len(calls) == 2:  # the live object is already moved aside; the new one never arrives
            raise KeyboardInterrupt("killed")
        real_rename(src, dst)

    monkeypatch.setattr(llvscan_ocfl.os, "rename", rename)
    with pytest.raises(KeyboardInterrupt):
        export_ocfl(out, col, root)
    monkeypatch.setattr(llvscan_ocfl.os, "rename", real_rename)
    assert len(calls) == 3  # the third put the old object back
    live = _object_dir(root, _ids(out)[OBJ_PATH])
    assert _inventory(live)["head"] == "v1"
    assert validate_ocfl(root).is_valid
    result = export_ocfl(out, col, root)
    assert (result.versions_added, result.unchanged) == (1, 1)
    assert _inventory(live)["head"] == "v2" and validate_ocfl(root).is_valid


def test_importing_ocfl_py_leaves_the_process_logging_alone():
    import logging
    import subprocess
    import sys

    script = ("import logging\nfrom llvscan.preservation.ocfl import _ocfl\n_ocfl()\n"
              "root = logging.getLogger()\nprint(len(root.handlers), root.level)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["0", str(logging.WARNING)]
