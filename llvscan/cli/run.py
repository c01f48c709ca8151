"""``llvscan run``: process a whole collection folder."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from llvscan.cli.options import (
    ByteSize,
    base_url_option,
    console,
    echo_json,
    exits_on_error,
    given,
    is_terminal,
    json_option,
    max_size_option,
    new_table,
    print_error,
    quality_option,
    styled,
    tile_size_option,
    units_option,
    up_option,
)

__all__ = ["run"]


def _render_summary(summary) -> None:
    table = new_table(title=f"llvscan run {summary.run_id}: {summary.collection}", show_header=False,
                  title_justify="left")
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(summary.by_kind.items()))
    table.add_row("assets", f"{summary.total} ({kinds}) in {summary.seconds:.1f} s" if kinds
                  else f"{summary.total} in {summary.seconds:.1f} s")
    table.add_row("processed", styled((str(summary.ok), "green")))
    table.add_row("skipped (unchanged)", str(summary.skipped))
    table.add_row("failed", styled((str(summary.failed), "red")) if summary.failed else "0")
    table.add_row("quarantined", styled((str(summary.quarantined), "red")) if summary.quarantined else "0")
    table.add_row("invalid", styled((str(summary.invalid), "yellow")) if summary.invalid else "0")
    table.add_row("catalog", summary.catalog)
    if summary.report:
        table.add_row("report", f"{summary.report}/index.html")
    for failure in summary.failures:
        table.add_row(styled((failure.status, "red")), failure.error)
    for item in summary.invalid_assets:
        table.add_row(styled(("invalid", "yellow")), f"{item.path}: " + "; ".join(item.errors))
    for note in summary.notes:
        table.add_row(styled(("note", "yellow")), note)
    console().print(table)


class _Progress:
    """A rich progress bar: assets done per kind, failures, time left."""

    def __init__(self, disable: bool):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        # markup=False: a description is data, printed as it is
        self.bar = Progress(TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[failed]} failed", style="red", markup=False),
                            TimeRemainingColumn(),
                            console=console(stderr=True), disable=disable, transient=True)
        self.task = self.bar.add_task("assets", total=None, failed=0)
        self.totals: dict[str, int] = {}
        self.done: dict[str, int] = {}
        self.failed = 0

    def notice(self, message: str) -> None:
        """A line above the bar (or on stderr off a terminal), said before the assets run."""
        self.bar.console.print(styled(("note: ", "yellow"), message))

    def start(self, totals: dict[str, int]) -> None:
        self.totals, self.done = totals, dict.fromkeys(totals, 0)
        self.bar.update(self.task, total=sum(totals.values()), description=self._describe())

    def _describe(self) -> str:
        return " · ".join(f"{kind} {self.done[kind]}/{n}" for kind, n in sorted(self.totals.items())) or "assets"

    def record(self, record) -> None:
        self.done[record.kind] = self.done.get(record.kind, 0) + 1
        self.failed += record.status in ("failed", "quarantined")
        self.bar.update(self.task, advance=1, failed=self.failed, description=self._describe())


@click.command()
@click.argument("collection", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder: catalog.sqlite, reports, levels of detail, tiles.")
@click.option("--recipe", "recipe_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Run recipe (TOML): validation thresholds and LODs for meshes, inspection and tile "
                   "layouts for images. [default: voyager LODs, IIIF 3 tiles, inspection]")
@click.option("--workers", type=click.IntRange(0), default=None,
              help="Worker processes [default: all cores; 0 runs in this process].")
@click.option("--threads", type=click.IntRange(1), default=None,
              help="Library threads (libvips, numba) per worker [default: cores ÷ workers].")
@click.option("--only", type=click.Choice(["mesh", "image"]), help="Process one kind of asset only.")
@click.option("--force", is_flag=True, help="Redo every asset, even unchanged ones.")
@click.option("--rehash", is_flag=True,
              help="Checksum unchanged-looking sources (a fixity check) instead of trusting size and date.")
@click.option("--max-attempts", type=click.IntRange(1), default=3, show_default=True,
              help="Attempts an asset may cost (worker crash, timeout, memory) before it is quarantined.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Seconds one asset may take before its worker is stopped [default: no limit].")
@click.option("--memory-limit", type=ByteSize(), default=None,
              help="Resident memory per worker (e.g. 8GiB) past which it is stopped [default: no limit].")
@click.option("--scheduler", envvar="LLVSCAN_SCHEDULER", metavar="tcp://HOST:8786",
              help="Run the assets on this Dask scheduler's workers (they must see COLLECTION and OUT at the "
                   "same paths) [env: LLVSCAN_SCHEDULER].")
@click.option("--batch-size", type=click.IntRange(1), default=None,
              help="Most small assets sent to a worker as one task [default: 32; 64 on Dask].")
@click.option("--cluster", type=click.Choice(["local"]),
              help="Start a Dask LocalCluster of --workers processes, for Dask's dashboard on one machine.")
@up_option
@units_option
@base_url_option
@tile_size_option
@quality_option
@max_size_option
@json_option
@exits_on_error
def run(collection: Path, out: Path, recipe_path: Path | None, workers: int | None, threads: int | None,
        only: str | None, force: bool,
        rehash: bool, max_attempts: int, timeout: float | None, memory_limit: int | None, scheduler: str | None,
        batch_size: int | None, cluster: str | None, up_axis: str, units: str | None, base_url: str,
        tile_size: int, quality: int, max_size: int, as_json: bool) -> None:
    """Process every asset of COLLECTION: checksums, validation and LODs of meshes, inspection and
    tiles of images, all recorded in OUT/catalog.sqlite.

    Resumable: unchanged assets whose outputs are intact are skipped. The image options, --up and --units
    given here override the recipe's. Exit 1 if any asset failed, was quarantined or is invalid.
    """
    from llvscan.collection import RunRecipe, load_run_recipe, run_collection

    if scheduler and cluster:
        raise click.UsageError("give --scheduler or --cluster, not both")
    recipe = load_run_recipe(recipe_path) if recipe_path else RunRecipe()
    overrides = {k: v for k, v in (("base_url", base_url), ("tile_size", tile_size), ("quality", quality),
                                   ("max_size", max_size)) if given(k)}
    recipe = recipe.with_image(**overrides)
    recipe = recipe.with_mesh(**{k: v for k, v in (("up_axis", up_axis), ("units", units)) if given(k)})
    progress = _Progress(disable=as_json or not is_terminal(sys.stderr))  # a bar is for people, not for logs
    try:
        with progress.bar:
            summary = run_collection(collection, out, recipe=recipe, workers=workers, only=only, force=force,
                                     rehash=rehash, max_attempts=max_attempts, timeout=timeout,
                                     memory_limit=memory_limit, threads=threads, scheduler=scheduler or cluster,
                                     batch_size=batch_size, on_start=progress.start, on_record=progress.record,
                                     on_notice=progress.notice)
    except KeyboardInterrupt:
        print_error(f"after {sum(progress.done.values())} assets: the catalog keeps every finished one; "
                    "run the same command again to resume", label="interrupted", colour="yellow")
        raise SystemExit(130) from None
    if as_json:
        echo_json(summary)  # exit_code included
    else:
        _render_summary(summary)
    raise SystemExit(summary.exit_code)
