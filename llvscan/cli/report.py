"""``llvscan report``: the static report and publication site of a run."""

from __future__ import annotations

from pathlib import Path

import click

from llvscan.cli.options import console, echo_json, exits_on_error, json_option

__all__ = ["report"]


@click.command()
@click.argument("out", type=click.Path(path_type=Path, file_okay=False))
@click.option("--base-url", default=None, metavar="URL",
              help="The URL OUT is served at, for the IIIF manifests' ids (default: the run's IIIF base URL "
                   "without /iiif).")
@json_option
@exits_on_error
def report(out: Path, base_url: str | None, as_json: bool) -> None:
    """Write OUT/report/index.html: the run's overview, every asset (3D viewer, deep-zoom image, findings,
    checksums, events) and IIIF manifests. Serve OUT with any static server (from file://, browsers refuse
    to load the 3D models; the rest works); nothing is loaded from the network. Only pages whose content
    changed are rewritten."""
    from llvscan.report import build_report

    result = build_report(out, base_url=base_url)
    if as_json:
        echo_json(result)
        return
    console().print(f"{result.folder}/index.html: {result.assets} assets, {result.pages_written} pages written, "
                    f"{result.pages_kept} unchanged, {result.shards} list shards, in {result.seconds:.1f} s")
