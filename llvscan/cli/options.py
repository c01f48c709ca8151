"""Options and output helpers shared by the commands; the one place errors become exit codes."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import click

from llvscan._json import to_jsonable
from llvscan.errors import InvalidParameterError, LlvscanError

F = TypeVar("F", bound=Callable[..., Any])

json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of tables.")
base_url_option = click.option(
    "--base-url", default="http://localhost:8000/iiif", show_default=True,
    help="Public URL under which the IIIF tile folders will be served; ids are BASE_URL/IDENTIFIER.")
tile_size_option = click.option("--tile-size", default=512, show_default=True, type=click.IntRange(64, 4096),
                                help="Tile edge in pixels.")
quality_option = click.option("--quality", default=85, show_default=True, type=click.IntRange(1, 100),
                              help="JPEG quality of tiles.")
max_size_option = click.option("--max-size", default=2048, show_default=True, type=click.IntRange(64),
                               help="Largest whole-image size published (IIIF full/max).")


class ByteSize(click.ParamType):
    """A size such as 4GiB, 500MB, 2G or a plain number of bytes."""

    name = "size"
    _UNITS: ClassVar[dict[str, int]] = {
        "": 1, "b": 1, "k": 10**3, "kb": 10**3, "kib": 2**10, "m": 10**6, "mb": 10**6, "mib": 2**20,
        "g": 10**9, "gb": 10**9, "gib": 2**30, "t": 10**12, "tb": 10**12, "tib": 2**40}

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip().lower().replace(" ", "")
        number = text.rstrip("kmgtib")
        unit = text[len(number):]
        try:
            size = int(float(number) * self._UNITS[unit])
        except (ValueError, KeyError):
            self.fail(f"{value!r} is not a size such as 4GiB, 500MB or 2000000000", param, ctx)
        if size <= 0:
            self.fail(f"{value!r} must be more than 0 bytes", param, ctx)
        return size


def given(name: str) -> bool:
    """Whether the option ``name`` was set on the command line (not left at its default)."""
    source = click.get_current_context().get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def echo_json(value: Any) -> None:
    click.echo(json.dumps(to_jsonable(value), indent=2, ensure_ascii=False))


def console(stderr: bool = False):  # rich is imported only by commands that render
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def each_path(paths: tuple[Any, ...], read: Callable[[Any], Any]) -> tuple[list[Any], bool]:
    """Apply ``read`` to every path; an unreadable one becomes ``{"path", "error"}`` and the batch fails."""
    results, failed = [], False
    for path in paths:
        try:
            results.append(read(path))
        except LlvscanError as exc:
            failed = True
            results.append({"path": str(path), "error": str(exc)})
    return results, failed


def show_reports(results: list[Any], as_json: bool, render: Callable[[Any], None]) -> None:
    """Print ``each_path`` results: as JSON (reports by their ``to_dict``), or each rendered, with the
    unreadable ones as errors on stderr."""
    if as_json:
        echo_json([r if isinstance(r, dict) else r.to_dict() for r in results])
        return
    for r in results:
        if isinstance(r, dict):
            console(stderr=True).print(f"[red]error:[/] {r['error']}")
        else:
            render(r)


def exits_on_error(func: F) -> F:
    """Map llvscan errors to exit codes: invalid parameters are usage errors (2), others 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except InvalidParameterError as exc:
            raise click.UsageError(str(exc)) from exc
        except LlvscanError as exc:
            console(stderr=True).print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]
