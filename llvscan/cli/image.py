"""``llvscan image``: gigapixel masters."""

from __future__ import annotations

from pathlib import Path

import click

from llvscan.cli.options import (
    base_url_option,
    console,
    each_path,
    echo_json,
    exits_on_error,
    json_option,
    max_size_option,
    quality_option,
    tile_size_option,
)


@click.group()
def image() -> None:
    """Tile masters into IIIF / Deep Zoom pyramids and read their headers."""


@image.command()
@click.argument("src", type=click.Path(path_type=Path))
@click.argument("dst", type=click.Path(path_type=Path))
@click.option("--layout", type=click.Choice(["iiif3", "iiif2", "dz", "zoomify", "ptiff", "szi"]), default="iiif3",
              show_default=True, help="iiif3 / iiif2: IIIF Image API level 0 static tiles; dz: Deep Zoom (.dzi); "
              "zoomify; ptiff: tiled pyramidal TIFF (IIPImage, Cantaloupe); szi: Deep Zoom in one zip file.")
@click.option("--identifier", help="IIIF identifier (default: the name of DST).")
@base_url_option
@tile_size_option
@quality_option
@max_size_option
@json_option
@exits_on_error
def tile(src: Path, dst: Path, layout: str, identifier: str | None, base_url: str, tile_size: int,
         quality: int, max_size: int, as_json: bool) -> None:
    """Tile the image SRC into the folder DST (replaced atomically when complete)."""
    from llvscan.imaging import tile_image

    result = tile_image(src, dst, layout=layout, base_url=base_url, identifier=identifier,
                        tile_size=tile_size, quality=quality, max_size=max_size)
    if as_json:
        echo_json(result)
        return
    console().print(f"{result.layout}: {result.width}×{result.height} px → {result.path} "
                    f"({result.files:,} files, {result.bytes / 1e6:.1f} MB, {result.seconds:.2f} s)"
                    + (f"\nIIIF id: {result.service_id}" if result.service_id else ""))


@image.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@json_option
@exits_on_error
def header(paths: tuple[Path, ...], as_json: bool) -> None:
    """Read image headers (size, bands, depth, ICC profile, dpi) without decoding pixels."""
    from llvscan.imaging import read_header

    results, failed = each_path(paths, read_header)
    if as_json:
        echo_json(results)
    else:
        from rich.table import Table

        table = Table("path", "size", "bands", "format", "colour", "ICC", "dpi", "loader")
        for r in results:
            if not isinstance(r, dict):
                table.add_row(r.path, f"{r.width}×{r.height}", str(r.bands), r.band_format, r.interpretation,
                              r.icc_profile or "[yellow]none[/]", str(r.xres_dpi or "—"), r.loader)
        if table.row_count:
            console().print(table)
        for r in results:
            if isinstance(r, dict):
                console(stderr=True).print(f"[red]error:[/] {r['error']}")
    raise SystemExit(1 if failed else 0)
