"""What the commands print off a terminal: each message on one line however long its path, file names
printed literally (``[red]x.tif`` is a name, not markup), and the exit code that says what went wrong
(0 all good, 1 an asset failed or is invalid, 2 usage).

Every case runs twice: in process through click's CliRunner, and as a real ``python -m llvscan``
subprocess, with $COLUMNS unset and set to 40 (narrower than any of the paths).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from llvscan.cli import cli

#: A folder name of 60+ characters, itself with brackets that rich would take for markup.
LONG = "[bold]scans of the winter campaign, batch 7, kept under a long folder name"
assert len(LONG) >= 60

TRIANGLE_OBJ = "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n"
#: A tetrahedron whose fourth vertex is NaN: 4 vertices, 4 faces, one of them not finite.
NAN_OBJ = "v 0 0 0\nv 1 0 0\nv 0 1 0\nv nan 0 0\nf 1 3 2\nf 1 2 4\nf 2 3 4\nf 3 1 4\n"
GARBAGE = b"\x00\xffnot an image, not a mesh\x01" * 8

Invoke = Callable[[list[str], str | None], tuple[int, str, str]]


def _in_process(args: list[str], columns: str | None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, args, env={"COLUMNS": columns})
    return result.exit_code, result.stdout, result.stderr


def _subprocess(args: list[str], columns: str | None) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns is not None:
        env["COLUMNS"] = columns
    done = subprocess.run([sys.executable, "-m", "llvscan", *args], env=env, capture_output=True, text=True,
                          timeout=300)
    return done.returncode, done.stdout, done.stderr


@pytest.fixture(params=[_in_process, _subprocess], ids=["clirunner", "subprocess"])
def invoke(request) -> Invoke:
    return request.param


@pytest.fixture(params=[None, "40"], ids=["columns-unset", "columns-40"])
def columns(request) -> str | None:
    return request.param


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A long-named folder holding small hand-written inputs with brackets in their names."""
    from PIL import Image

    folder = tmp_path / LONG
    folder.mkdir()
    Image.new("RGB", (37, 23), (200, 30, 30)).save(folder / "[red]x.png")
    (folder / "[red]x.tif").write_bytes(GARBAGE)
    (folder / "scan [1].obj").write_text(TRIANGLE_OBJ)
    (folder / "garbage [2].obj").write_bytes(GARBAGE)
    (folder / "nan [3].obj").write_text(NAN_OBJ)
    return folder


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _one_error_line(err: str) -> str:
    lines = _lines(err)
    assert len(lines) == 1, err
    return lines[0]


# ---- an asset that is missing or garbage: "error: <path>: …" on one line, exit 1 ----------------------

ASSET_ERRORS = {
    # name: (arguments, the file the message is about, what it says)
    "image header, garbage": (["image", "header", "{f}/[red]x.tif"], "[red]x.tif", "not a readable image"),
    "image inspect, garbage": (["image", "inspect", "{f}/[red]x.tif"], "[red]x.tif", "not a readable image"),
    "image tile, garbage": (["image", "tile", "{f}/[red]x.tif", "{f}/tiles [1]"], "[red]x.tif",
                            "not a readable image"),
    "image header, missing": (["image", "header", "{f}/[red]gone.tif"], "[red]gone.tif", "no such file"),
    "mesh validate, missing": (["mesh", "validate", "{f}/missing [1].obj"], "missing [1].obj", ""),
    "mesh validate, garbage": (["mesh", "validate", "{f}/garbage [2].obj"], "garbage [2].obj", ""),
    "mesh decimate, missing": (["mesh", "decimate", "{f}/missing [1].obj", "{f}/out [1].obj", "--ratio", "0.5"],
                               "missing [1].obj", ""),
    "catalog verify, no catalog": (["catalog", "verify", "{f}"], "catalog.sqlite", "no catalog here"),
}


@pytest.mark.parametrize("case", ASSET_ERRORS, ids=str)
def test_an_asset_error_is_one_literal_line_and_exit_1(case, folder, invoke, columns):
    arguments, name, says = ASSET_ERRORS[case]
    code, out, err = invoke([a.replace("{f}", str(folder)) for a in arguments], columns)
    assert code == 1, (out, err)
    line = _one_error_line(err)
    assert line.startswith(f"error: {folder / name}: "), line
    assert says in line
    assert "Usage:" not in err and "Traceback" not in err
    assert out == ""


# ---- results: tables and titles keep each path whole and literal on one line, exit 0 -----------------


def test_a_header_table_keeps_a_bracketed_long_path_on_one_line(folder, invoke, columns):
    png = folder / "[red]x.png"
    code, out, err = invoke(["image", "header", str(png)], columns)
    assert code == 0, (out, err)
    row = next(line for line in out.splitlines() if str(png) in line)
    assert "37×23" in row and "pngload" in row
    assert err == ""


def test_an_inspection_title_keeps_a_bracketed_long_path_on_one_line(folder, invoke, columns):
    png = folder / "[red]x.png"
    code, out, err = invoke(["image", "inspect", str(png)], columns)
    assert code == 0, (out, err)  # warnings (no ICC profile, soft focus) are not errors
    assert out.splitlines()[0].startswith(f"{png} — warnings (")
    assert "no embedded ICC profile" in out


def test_a_header_lists_the_good_file_and_reports_the_bad_one(folder, invoke, columns):
    png, bad = folder / "[red]x.png", folder / "[red]x.tif"
    code, out, err = invoke(["image", "header", str(png), str(bad)], columns)
    assert code == 1
    assert any(str(png) in line and "37×23" in line for line in out.splitlines())
    assert _one_error_line(err).startswith(f"error: {bad}: not a readable image")


def test_a_validation_title_keeps_a_bracketed_long_path_on_one_line(folder, invoke, columns):
    obj = folder / "scan [1].obj"
    code, out, err = invoke(["mesh", "validate", str(obj)], columns)
    assert code == 0, (out, err)  # an open triangle: a warning, not an error
    assert out.splitlines()[0].startswith(f"{obj} — valid (")
    row = next(line for line in out.splitlines() if "vertices / faces / edges" in line)
    assert "3 / 1 / 3" in row


def test_a_run_summary_names_a_failed_bracketed_file_on_one_line(folder, tmp_path, invoke, columns):
    collection = folder / "collection [a]"
    collection.mkdir()
    (collection / "[red]x.tif").write_bytes(GARBAGE)
    (folder / "[red]x.png").rename(collection / "[red]x.png")
    out_dir = tmp_path / "out [b]"
    code, out, err = invoke(["run", str(collection), "--out", str(out_dir), "--workers", "0"], columns)
    assert code == 1, (out, err)  # one asset failed
    assert out.splitlines()[0].rstrip() == f"llvscan run 1: {collection}"
    assert any("[red]x.tif: not a readable image" in line for line in out.splitlines()), out
    assert any(str(out_dir / "catalog.sqlite") in line for line in out.splitlines()), out
    assert err == ""  # no progress bar off a terminal

    code, out, err = invoke(["catalog", "show", str(out_dir), "--failed"], columns)
    assert code == 0, (out, err)
    assert len(_lines(out)) == 1
    assert out.startswith("failed [red]x.tif: [red]x.tif: not a readable image"), out


# ---- usage: options and recipes exit 2 with click's usage and the message on one line -----------------


def test_a_bad_option_is_usage(folder, invoke, columns):
    code, out, err = invoke(["image", "tile", str(folder / "[red]x.png"), str(folder / "t"), "--tile-size", "3"],
                            columns)
    assert code == 2
    assert "Usage:" in err
    assert "Error: Invalid value for '--tile-size': 3 is not in the range 64<=x<=4096." in err.splitlines()
    assert out == ""


def test_a_missing_recipe_is_usage_named_literally_on_one_line(folder, tmp_path, invoke, columns):
    recipe = folder / "[bold] recipe.toml"
    code, out, err = invoke(["run", str(folder), "--out", str(tmp_path / "out"), "--recipe", str(recipe)], columns)
    assert code == 2
    assert "Usage:" in err
    assert f"Error: {recipe}: no such recipe file" in err.splitlines()
    assert out == ""
    assert not (tmp_path / "out").exists()


def test_a_broken_recipe_is_usage(folder, tmp_path, invoke, columns):
    recipe = folder / "[bold] recipe.toml"
    recipe.write_text("[image\nlayouts = 3\n")
    code, _, err = invoke(["run", str(folder), "--out", str(tmp_path / "out"), "--recipe", str(recipe)], columns)
    assert code == 2
    assert any(line.startswith(f"Error: {recipe}: not a valid TOML run recipe") for line in err.splitlines()), err


def test_an_impossible_ratio_is_usage(folder, invoke, columns):
    code, _, err = invoke(["mesh", "decimate", str(folder / "scan [1].obj"), str(folder / "o.obj"), "--ratio", "0"],
                          columns)
    assert code == 2
    assert "Usage:" in err
    assert any(line.startswith("Error: ") and "ratio" in line for line in err.splitlines()), err


# ---- bad mesh data is an asset that fails (1), never usage (2) ----------------------------------------


def test_the_obj_reader_takes_a_nan_vertex_as_a_mesh(folder):
    import numpy as np

    from llvscan.mesh.io import load_mesh

    mesh = load_mesh(folder / "nan [3].obj")
    assert len(mesh.vertices) == 4 and len(mesh.faces) == 4
    assert np.isnan(np.asarray(mesh.vertices)).any(axis=1).sum() == 1


@pytest.mark.parametrize("command", [["mesh", "decimate", "{src}", "{f}/out.obj", "--ratio", "0.5"],
                                     ["mesh", "render", "{src}", "{f}/out.png", "--size", "32"]],
                         ids=lambda c: " ".join(c[:2]))
def test_a_nan_vertex_fails_the_asset_not_the_usage(command, folder, invoke, columns):
    src = folder / "nan [3].obj"
    code, out, err = invoke([a.replace("{src}", str(src)).replace("{f}", str(folder)) for a in command], columns)
    assert code == 1, (out, err)
    assert _one_error_line(err).startswith(f"error: {src}: ")
    assert "Usage:" not in err + out


# ---- the helpers themselves ---------------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_is_styled_but_data_is_still_never_markup(monkeypatch):
    from llvscan.cli.options import console, styled

    stream = _Terminal()
    monkeypatch.setattr(sys, "stdout", stream)
    monkeypatch.setenv("COLUMNS", "120")  # a terminal may wrap at its width; this test is about markup only
    console().print(styled(("[red]x.tif", "bold"), " and [bold] :smile: scan [1].obj"))
    console().print("[red]y.tif")
    text = stream.getvalue()
    assert "[red]x.tif" in text and " and [bold] :smile: scan [1].obj" in text and "[red]y.tif" in text


def test_print_error_is_one_literal_line(capsys):
    from llvscan.cli.options import print_error

    print_error("scan [1].obj: line 3:\nface refers to vertex [9]")
    captured = capsys.readouterr()
    assert captured.err == "error: scan [1].obj: line 3: face refers to vertex [9]\n"
    assert captured.out == ""
