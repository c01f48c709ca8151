"""``llvscan bench``: benchmark a collection's processing, judge it against a baseline; ``bench history``."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from llvscan.cli.options import console, echo_json, exits_on_error, is_terminal, json_option, new_table, styled

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from llvscan.bench import BenchProgress, BenchResult, Comparison

__all__ = ["bench", "history", "run"]


class _DefaultGroup(click.Group):
    """``llvscan bench [COLLECTION] …`` runs ``bench run``; ``llvscan bench history DIR`` its history."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("-h", "--help")):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_DefaultGroup)
def bench() -> None:
    """Benchmark the processing of a collection and gate on regressions: `llvscan bench [COLLECTION]
    [OPTIONS]` is `llvscan bench run` (see its --help); `llvscan bench history DIR` plots saved results.

    Exit codes: 0 no regression, 1 a regression against the baseline (each one named), 2 usage (including
    a baseline of another collection)."""


def _render_result(result: BenchResult) -> None:
    from llvscan.bench.markdown import significant
    from llvscan.bench.results import median, spread

    table = new_table("asset", "status", "total s", "IQR s", "× unit", "slowest stage", "memory MiB", "bytes",
                      title=f"llvscan bench: {result.collection} ({result.repeat} repeats, warm medians)")
    for asset in result.assets:
        slowest = max(asset.stages.items(), key=lambda item: item[1].median_wall, default=None)
        memory = median(asset.memory_mib)
        table.add_row(asset.path, asset.status if asset.status == "ok" else styled((asset.status, "yellow")),
                      significant(asset.total.median_wall), significant(spread(asset.total.wall)),
                      significant(asset.total.median_ratio),
                      f"{slowest[0]} {significant(slowest[1].median_wall)} s" if slowest else "",
                      significant(memory) if math.isfinite(memory) else "", f"{asset.output_bytes:,}")
    out = console()
    out.print(table)
    out.print(f"calibration unit {significant(median(result.calibration.unit) * 1000)} ms (median of "
              f"{result.repeat}); first pass {significant(result.cold_seconds)} s, of which compiling about "
              f"{significant(result.compile_seconds)} s; whole benchmark {significant(result.seconds)} s")
    for note in result.notes:
        out.print(styled(("note: ", "yellow"), note))


def _render_comparison(comparison: Comparison) -> None:
    out = console()
    for note in comparison.notes:
        out.print(styled(("note: ", "yellow"), note))
    basis = "seconds" if comparison.basis == "seconds" else "ratios to the calibration unit"
    for change in comparison.improvements:
        out.print(styled(("improved: ", "green"), change.text))
    for change in comparison.regressions:
        out.print(styled(("regression: ", "red"), change.text))
    gated = sum(1 for c in comparison.changes if c.verdict in ("unchanged", "regression", "improvement"))
    if comparison.regressions:
        out.print(styled((f"{len(comparison.regressions)} regression(s)", "red"),
                         f" against the baseline of {comparison.baseline} ({gated} figures gated on "
                         f"{comparison.fail_on.describe()}, times as {basis})"))
    else:
        out.print(styled(("no regression", "green"), f" against the baseline of {comparison.baseline} ({gated} "
                         f"figures gated on {comparison.fail_on.describe()}, times as {basis})"))


class _Progress:
    """A bar on a terminal; one line per pass on stderr otherwise (a CI log shows the job is alive)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar: Progress | None = None
        self.task: TaskID | None = None
        if not quiet and is_terminal(sys.stderr):
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), console=console(stderr=True), transient=True)

    def __call__(self, p: BenchProgress) -> None:
        if self.quiet:
            return
        what = ("first pass (compiles the kernels on a fresh machine)" if p.repeat == 0
                else f"repeat {p.repeat}/{p.repeats}")
        if self.bar is None:
            if p.asset is None:
                click.echo(f"bench: {what}, {p.total} assets", err=True)
            return
        if self.task is None:
            self.bar.start()
            self.task = self.bar.add_task(what, total=p.total * (p.repeats + 1))
        if p.asset is not None:
            self.bar.update(self.task, description=f"{what}: {p.asset}",
                            completed=p.repeat * p.total + p.index)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


@bench.command("run")
@click.argument("collection", required=False, type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--recipe", type=click.Path(path_type=Path, dir_okay=False), metavar="RUN.toml",
              help="The run recipe to benchmark (default: the default recipe, as `llvscan run` uses).")
@click.option("--repeat", default=5, show_default=True, type=click.IntRange(2, 100),
              help="Measured passes over the collection (after one unmeasured first pass).")
@click.option("--save", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE",
              help="Write the results (JSON) here: a baseline for later runs, or one point of a history.")
@click.option("--baseline", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE",
              help="Judge this run against saved results; exit 1 on a regression.")
@click.option("--fail-on", default=None, metavar="SPEC",
              help="Thresholds, e.g. time:15%,quality:0. Kinds: time (CPU seconds: the work, steady on a shared "
                   "runner), wall (elapsed; add it on a dedicated runner), memory, size, quality; kinds not named "
                   "are reported, not gated. Default: time:15%,memory:25%,size:10%,quality:0.")
@click.option("--basis", type=click.Choice(["auto", "seconds", "ratio"]), default="auto", show_default=True,
              help="Compare times in seconds or as ratios to the calibration (auto: ratios when the baseline "
                   "ran on another machine).")
@click.option("--markdown", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE",
              help="Also write the results (and the verdict) as Markdown, e.g. for $GITHUB_STEP_SUMMARY.")
@click.option("--gltf-validator", type=click.Path(path_type=Path, dir_okay=False), metavar="SCRIPT",
              envvar="LLVSCAN_GLTF_VALIDATOR",
              help="Also run the Khronos glTF-Validator on every GLB level (a Node script such as llvscan's "
                   "tools/gltf-validate.mjs); its error and warning counts become quality figures.")
@json_option
@exits_on_error
def run(collection: Path | None, recipe: Path | None, repeat: int, save: Path | None, baseline: Path | None,
        fail_on: str | None, basis: str, markdown: Path | None, gltf_validator: Path | None, as_json: bool) -> None:
    """Process COLLECTION (default: the generated sample artefacts) as `llvscan run` does, once unmeasured
    and then --repeat times, and time every stage of every asset (wall and CPU), its peak memory, output
    bytes and quality figures, beside calibration workloads timed on this machine."""
    from llvscan._publish import write_bytes_atomic
    from llvscan.bench import FailOn, bench_markdown, compare_results, load_result, run_bench
    from llvscan.bench.compare import DEFAULT_FAIL_ON

    thresholds = FailOn.parse(fail_on if fail_on is not None else DEFAULT_FAIL_ON)  # refused before any work
    before = load_result(baseline) if baseline is not None else None
    progress = _Progress(quiet=as_json)
    try:
        result = run_bench(collection, recipe=recipe, repeat=repeat, progress=progress, baseline=before,
                           gltf_validator_script=gltf_validator)
    finally:
        progress.stop()
    if save is not None:
        result.save(save)
    comparison = compare_results(result, before, fail_on=thresholds, basis=basis) if before is not None else None
    if markdown is not None:
        write_bytes_atomic(markdown, bench_markdown(result, comparison).encode("utf-8"))
    if as_json:
        payload: dict[str, Any] = {"result": result.to_dict()}
        if comparison is not None:
            payload["comparison"] = comparison.to_dict()
        echo_json(payload)
    else:
        _render_result(result)
        if comparison is not None:
            _render_comparison(comparison)
    if comparison is not None and comparison.exit_code:
        sys.exit(comparison.exit_code)


@bench.command("history")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Where the plots and history.md go (default: FOLDER/history).")
@click.option("--format", "formats", type=click.Choice(["png", "svg"]), multiple=True, default=("png",),
              show_default=True, help="Plot format (repeat for both).")
@click.option("--basis", type=click.Choice(["ratio", "seconds", "cpu"]), default="ratio", show_default=True,
              help="Plot elapsed time as ratios to the calibration unit (comparable across machines), in "
                   "seconds, or CPU seconds (the work, what the gate judges by default).")
@json_option
@exits_on_error
def history(folder: Path, out: Path | None, formats: tuple[str, ...], basis: str, as_json: bool) -> None:
    """Plot every saved results file in FOLDER (`llvscan bench --save`) per stage over time, mark the steps,
    and write history.md, a table ready for a CI job summary."""
    from llvscan.bench import bench_history

    result = bench_history(folder, out, formats=formats, basis=basis)
    if as_json:
        echo_json(result)
        return
    output = console()
    output.print(f"{result.markdown}: {result.runs} runs, {len(result.plots)} plots, {len(result.steps)} steps")
    for step in result.steps:
        output.print(styled(("step: ", "yellow"), f"{step.stage} from run {step.run} ({step.created}): "
                            f"{step.before:.4g} → {step.after:.4g} ({step.change * 100:+.1f} %)"))
    for reason in result.skipped:
        output.print(styled(("skipped: ", "yellow"), reason))
