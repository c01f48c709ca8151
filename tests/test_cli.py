"""The command line: help everywhere, fast start, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from llvscan import __version__, errors
from llvscan.cli import cli


def _walk(group: click.Group, ctx: click.Context, prefix: tuple[str, ...] = ()):
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from _walk(command, ctx, (*prefix, name))


COMMANDS = list(_walk(cli, click.Context(cli)))


def test_every_expected_command_exists():
    for expected in [("info",), ("mesh",), ("mesh", "validate"), ("mesh", "decimate"), ("mesh", "lods"),
                     ("mesh", "render"), ("image",), ("image", "tile"), ("image", "inspect"),
                     ("image", "header"), ("catalog",), ("catalog", "show"), ("catalog", "verify"),
                     ("catalog", "export"), ("run",), ("bench",), ("bench", "run"), ("bench", "history")]:
        assert expected in COMMANDS


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_for_every_command(command):
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_help_imports_no_heavy_library():
    code = ("import sys\nfrom llvscan.cli import cli\n"
            "try:\n    cli(['--help'] , standalone_mode=False)\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('numpy', 'numba', 'open3d', 'pyvips', 'trimesh', 'rich') if m in sys.modules]\n"
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_help_answers_fast():
    import time

    timings = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "llvscan", "--help"], capture_output=True, check=True)
        timings.append(time.perf_counter() - start)
    assert sorted(timings)[1] < 0.8, timings


def test_unknown_option_is_usage_error():
    result = CliRunner().invoke(cli, ["run", "--no-such-option"])
    assert result.exit_code == 2


def test_info_json_lists_libraries():
    result = CliRunner().invoke(cli, ["info", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["llvscan"] == __version__
    for name in ("numpy", "numba", "trimesh", "open3d", "pyvips"):
        assert data["libraries"][name] != "not installed"
    assert data["libvips"].count(".") == 2
    assert "jpeg" in data["vips_savers"] and "dz" in data["vips_savers"]
    assert data["problems"] == []


def test_open3d_imports_without_system_libusb():
    from llvscan._open3d import import_open3d

    o3d = import_open3d()
    mesh = o3d.geometry.TriangleMesh.create_box()
    assert len(mesh.triangles) == 12


@pytest.mark.parametrize(
    ("error", "exit_code"),
    [
        (errors.InvalidParameterError, 2),  # an impossible option or recipe: usage
        (errors.InvalidMeshError, 1),  # bad data is an asset that fails, never usage
        (errors.MeshReadError, 1),
        (errors.ImageReadError, 1),
        (errors.ResourceLimitError, 1),
        (errors.UnsafePathError, 1),
        (errors.OutputError, 1),
        (errors.CatalogError, 1),
    ],
    ids=lambda value: getattr(value, "__name__", str(value)),
)
def test_exits_on_error_maps_only_invalid_parameters_to_usage(error, exit_code):
    from llvscan.cli.options import exits_on_error

    @click.command()
    @exits_on_error
    def command() -> None:
        raise error("a message [with brackets]", path="[red]scan [1].obj", detail="upstream [bold]says")

    result = CliRunner().invoke(command, [], env={"COLUMNS": "20"})
    assert result.exit_code == exit_code
    message = "[red]scan [1].obj: a message [with brackets] (upstream [bold]says)"
    if exit_code == 2:
        assert "Usage:" in result.stderr and f"Error: {message}" in result.stderr.splitlines()
    else:
        assert result.stderr == f"error: {message}\n"
    assert result.stdout == ""


def test_an_option_error_in_a_batch_is_usage_not_a_failed_file():
    from llvscan.cli.options import each_path

    def read(path):
        if path == "bad":
            raise errors.ImageReadError("not a readable image", path=path)
        raise errors.InvalidParameterError("tile size 3 is outside 64–4096 pixels")

    results, failed = each_path(("bad",), read)
    assert failed and results == [{"path": "bad", "error": "bad: not a readable image"}]
    with pytest.raises(errors.InvalidParameterError):
        each_path(("bad", "good"), read)
