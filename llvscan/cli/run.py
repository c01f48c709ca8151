"""``llvscan run``: process a whole collection folder."""

from __future__ import annotations

from pathlib import Path

import click

from llvscan.cli.options import (
    base_url_option,
    console,
    echo_json,
    exits_on_error,
    json_option,
    max_size_option,
    quality_option,
    tile_size_option,
)


def _render_summary(summary) -> None:
    from rich.table import Table

    table = Table(title=f"llvscan run {summary.run_id}: {summary.collection}", show_header=False,
                  title_justify="left")
    table.add_row("assets", f"{summary.total} in {summary.seconds:.1f} s")
    table.add_row("processed", f"[green]{summary.ok}[/]")
    table.add_row("skipped (unchanged)", str(summary.skipped))
    table.add_row("failed", f"[red]{summary.failed}[/]" if summary.failed else "0")
    table.add_row("invalid", f"[yellow]{summary.invalid}[/]" if summary.invalid else "0")
    table.add_row("catalog", summary.catalog)
    for failure in summary.failures:
        table.add_row("[red]failed[/]", failure["error"])
    for item in summary.invalid_assets:
        table.add_row("[yellow]invalid[/]", f"{item['path']}: " + "; ".join(item["errors"]))
    for note in summary.notes:
        table.add_row("[yellow]note[/]", note)
    console().print(table)


@click.command()
@click.argument("collection", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder: catalog.sqlite, validation reports, IIIF tiles.")
@click.option("--workers", type=click.IntRange(0), default=None,
              help="Worker processes [default: all cores; 0 runs in this process].")
@click.option("--only", type=click.Choice(["mesh", "image"]), help="Process one kind of asset only.")
@click.option("--force", is_flag=True, help="Redo assets even when unchanged since the last run.")
@base_url_option
@tile_size_option
@quality_option
@max_size_option
@json_option
@exits_on_error
def run(collection: Path, out: Path, workers: int | None, only: str | None, force: bool, base_url: str,
        tile_size: int, quality: int, max_size: int, as_json: bool) -> None:
    """Process every asset of COLLECTION: checksums, mesh validation, IIIF tiles, catalog.

    Resumable: unchanged assets whose outputs are intact are skipped. Exit 1 if any asset failed
    or is invalid.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from llvscan.collection import RunOptions, run_collection

    options = RunOptions(base_url=base_url, tile_size=tile_size, quality=quality, max_size=max_size)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("[red]{task.fields[failed]} failed"), TimeRemainingColumn(),
                        console=console(stderr=True), disable=as_json, transient=True)
    with progress:
        task = progress.add_task("assets", total=None, failed=0)
        failed = 0

        def on_record(record) -> None:
            nonlocal failed
            failed += record.status == "failed"
            progress.update(task, advance=1, failed=failed, description=record.rel_path[-40:])

        summary = run_collection(collection, out, options=options, workers=workers, only=only, force=force,
                                 on_start=lambda n: progress.update(task, total=n), on_record=on_record)
    if as_json:
        echo_json({**summary.__dict__, "exit_code": summary.exit_code})
    else:
        _render_summary(summary)
    raise SystemExit(summary.exit_code)
