"""``llvscan info``: versions of llvscan and the libraries it runs on."""

from __future__ import annotations

import click

from llvscan.cli.options import console, echo_json, exits_on_error, json_option, new_table, styled

__all__ = ["info"]


@click.command()
@json_option
@exits_on_error
def info(as_json: bool) -> None:
    """Show versions (python, numpy, numba, open3d, trimesh, pyvips/libvips) and libvips formats."""
    from llvscan.info import environment_info

    env = environment_info()
    if as_json:
        echo_json(env)
    else:
        table = new_table(title=f"llvscan {env.llvscan}", show_header=False)
        table.add_row("python", f"{env.python} ({env.platform})")
        for name, version in env.libraries.items():
            table.add_row(name, version)
        table.add_row("libvips", env.libvips)
        table.add_row("libvips loads", ", ".join(env.vips_loaders))
        table.add_row("libvips saves", ", ".join(env.vips_savers))
        for problem in env.problems:
            table.add_row(styled(("problem", "red")), problem)
        console().print(table)
    if env.problems:
        raise SystemExit(1)
