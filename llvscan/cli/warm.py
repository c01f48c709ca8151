"""``llvscan warm``: compile llvscan's numba kernels into this machine's cache ahead of any run."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from llvscan.cli.options import console, echo_json, exits_on_error, json_option, new_table, styled

__all__ = ["warm"]


@click.command()
@click.option("--recipe", "recipe_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Run recipe (TOML) whose levels of detail the kernels are compiled for (default: the "
                   "built-in recipe).")
@click.option("--part", "parts", multiple=True, type=click.Choice(["validate", "decimate", "lods", "image", "qa"]),
              help="Only these parts of the pipeline (repeatable; default: all).")
@click.option("-j", "--workers", type=click.IntRange(min=1), default=None,
              help="Processes side by side (default: one per part, at most the cores).")
@json_option
@exits_on_error
def warm(recipe_path: Path | None, parts: tuple[str, ...], workers: int | None, as_json: bool) -> None:
    """Compile llvscan's kernels into numba's cache now, so that the first run on this machine does not wait
    for them (a run does this itself when it finds them missing). Use it when building a container
    image or a CI cache; parts already in the cache take seconds. Exit 1 if a part failed (a run then
    compiles what that part missed)."""
    from llvscan.collection import RunRecipe, load_run_recipe
    from llvscan.collection.warm import warm_kernels

    recipe = load_run_recipe(recipe_path) if recipe_path else RunRecipe()
    out = console(stderr=True)
    if not as_json:
        out.print("compiling llvscan's kernels (about a minute on two cores, seconds when cached)")
    result = warm_kernels(parts or None, recipe=recipe, workers=workers)
    failed = any(t.error for t in result.tasks)
    if as_json:
        echo_json(result.to_dict())
    else:
        table = new_table("part", "seconds", "kernels compiled", "error",
                          title=f"kernels warmed in {result.seconds:.1f} s on {result.workers} processes")
        for task in result.tasks:
            table.add_row(task.name, f"{task.seconds:.1f}", str(task.compiled),
                          styled((task.error, "red")) if task.error else "")
        console().print(table)
    sys.exit(1 if failed else 0)
