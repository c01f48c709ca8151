"""Options and output helpers shared by the commands; the one place errors become exit codes."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import click

from llvscan._constants import (
    DEFAULT_IIIF_BASE_URL,
    DEFAULT_MAX_SIZE,
    DEFAULT_QUALITY,
    DEFAULT_TILE_SIZE,
    UNITS,
    UP_AXES,
)
from llvscan._json import to_jsonable
from llvscan.errors import InvalidParameterError, LlvscanError

if TYPE_CHECKING:  # rich loads only when a command renders
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

__all__ = [
    "UNWRAPPED_WIDTH",
    "ByteSize",
    "base_url_option",
    "console",
    "each_path",
    "echo_json",
    "exits_on_error",
    "given",
    "is_terminal",
    "json_option",
    "max_size_option",
    "new_table",
    "print_error",
    "quality_option",
    "show_reports",
    "styled",
    "tile_size_option",
    "units_option",
    "up_option",
]

_F = TypeVar("_F", bound=Callable[..., Any])

json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of tables.")
base_url_option = click.option(
    "--base-url", default=DEFAULT_IIIF_BASE_URL, show_default=True,
    help="Public URL under which the IIIF tile folders will be served; ids are BASE_URL/IDENTIFIER.")
tile_size_option = click.option("--tile-size", default=DEFAULT_TILE_SIZE, show_default=True,
                                type=click.IntRange(64, 4096), help="Tile edge in pixels.")
quality_option = click.option("--quality", default=DEFAULT_QUALITY, show_default=True, type=click.IntRange(1, 100),
                              help="JPEG quality of tiles.")
up_option = click.option("--up", "up_axis", type=click.Choice(UP_AXES), default="y", show_default=True,
                         help="The meshes' up axis (most scanners: z). GLB levels and thumbnails are Y-up.")
units_option = click.option("--units", type=click.Choice(UNITS),
                            help="Units of meshes whose files declare none (default: guessed from the size, "
                                 "with a warning).")
max_size_option = click.option("--max-size", default=DEFAULT_MAX_SIZE, show_default=True, type=click.IntRange(64),
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


#: Width given to rich off a terminal: wide enough that no message, path or table is ever folded.
UNWRAPPED_WIDTH = 1_000_000


def is_terminal(stream: Any) -> bool:
    """Whether ``stream`` is an interactive terminal (pipes, files, CliRunner and CI logs are not)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def console(stderr: bool = False) -> Console:
    """A rich Console on stdout (or stderr) that prints data literally: no markup, emoji or highlighting,
    so a file named ``[red]x.tif`` or ``scan [1].obj`` is printed as it is; style comes only from
    ``styled`` text. Off a terminal nothing is ever wrapped: each message is one line however long,
    whatever $COLUMNS says. Rich is imported here, by the commands that render, never at start-up."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    if is_terminal(stream):
        return Console(file=stream, markup=False, emoji=False, highlight=False)
    return Console(file=stream, markup=False, emoji=False, highlight=False, soft_wrap=True, width=UNWRAPPED_WIDTH)


def styled(*parts: str | tuple[str, str]) -> Text:
    """One piece of text from literal parts, some of them ``(text, style)``: ``styled(path, " — ",
    ("invalid", "red"))``. The only way commands colour output; a part is never parsed as markup."""
    from rich.text import Text

    return Text.assemble(*parts)


def new_table(*columns: str, title: str | Text | None = None, **options: Any) -> Table:
    """A rich Table for stdout. Off a terminal its title is one line however long (the console then is
    wide enough that no cell folds either); cells given as ``str`` are literal, as everywhere."""
    from rich.table import Table
    from rich.text import Text

    if title is not None:
        title = Text(title) if isinstance(title, str) else title.copy()
        if not is_terminal(sys.stdout):
            title.no_wrap, title.overflow = True, "ignore"
    return Table(*columns, title=title, **options)


def print_error(message: object, *, label: str = "error", colour: str = "red") -> None:
    """The one way a command reports a problem: "<label>: <message>" as one line on stderr, the message
    literal (brackets are not markup; line breaks become spaces) and never wrapped; the label is
    coloured on a terminal only."""
    text = " ".join(str(message).splitlines())
    click.echo(f"{click.style(label + ':', fg=colour, bold=True)} {text}", err=True)


def each_path(paths: tuple[Any, ...], read: Callable[[Any], Any]) -> tuple[list[Any], bool]:
    """Apply ``read`` to every path; an unreadable one becomes ``{"path", "error"}`` and the batch fails.
    An impossible option is not a file's problem: ``InvalidParameterError`` goes on to ``exits_on_error``."""
    results, failed = [], False
    for path in paths:
        try:
            results.append(read(path))
        except InvalidParameterError:
            raise
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
            print_error(r["error"])
        else:
            render(r)


def exits_on_error(func: _F) -> _F:
    """The one place errors become exit codes: an impossible option or recipe (``InvalidParameterError``)
    is a usage error (2); every other llvscan error (bad or unreadable data, a limit, an output that
    cannot be written) is "error: <message>" on stderr and exit 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except InvalidParameterError as exc:
            message = " ".join(str(exc).splitlines())
            raise click.UsageError(message, ctx=click.get_current_context(silent=True)) from exc
        except LlvscanError as exc:
            print_error(exc)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]
