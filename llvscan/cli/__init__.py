"""The ``llvscan`` command. Sub-commands load on demand, so ``llvscan --help`` imports no heavy library."""

from __future__ import annotations

import importlib
import logging

import click

from llvscan import __version__

__all__ = ["LazyGroup", "cli", "main"]


class LazyGroup(click.Group):
    """A group whose sub-commands are ``"module:attribute"`` strings imported when first used."""

    def __init__(self, *args, lazy_subcommands: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = lazy_subcommands or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_subcommands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_subcommands:
            module_name, attribute = self.lazy_subcommands[cmd_name].split(":")
            return getattr(importlib.import_module(module_name), attribute)
        return super().get_command(ctx, cmd_name)


@click.group(
    cls=LazyGroup,
    lazy_subcommands={
        "info": "llvscan.cli.info:info",
        "mesh": "llvscan.cli.mesh:mesh",
        "image": "llvscan.cli.image:image",
        "catalog": "llvscan.cli.catalog:catalog",
        "run": "llvscan.cli.run:run",
        "report": "llvscan.cli.report:report",
        "bench": "llvscan.cli.bench:bench",
        "warm": "llvscan.cli.warm:warm",
    },
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="llvscan")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
def cli(verbose: int, quiet: bool) -> None:
    """llvscan: validate and decimate 3D scans, tile gigapixel masters, catalog whole collections.

    Exit codes: 0 all good, 1 some asset failed or is invalid, 2 usage error.
    """
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def main() -> None:
    cli(prog_name="llvscan")
