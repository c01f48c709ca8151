"""How a collection's benchmark changed over time: ``llvscan bench history DIR``, like asv's history view.

One results file says how fast a run was; a folder of them, saved by a CI job run after run, says when it
became slower. ``bench_history(DIR)`` reads every results file in the folder and writes, into
``DIR/history/`` by default:

- ``<family>.png`` / ``<family>.svg``: one plot per stage family (``decimate:Low`` and ``decimate:Medium``
  are the family ``decimate``) and one for the assets' ``total``: x is the run, in time order, labelled
  with its date (and the llvscan version wherever it changes), y the median over the repeats summed over
  the assets, with the interquartile range summed the same way as error bars, and a dashed line where a
  step was detected;
- ``history.md``: one table, a row per family (its first run, the last five, the change of the last
  against the one before), the detected steps and the files that were left out: ready to append to a CI
  job summary (``cat history.md >> $GITHUB_STEP_SUMMARY``).

Only comparable runs are drawn: those of the same collection and the same recipe (their checksums) as the
newest run; the rest are listed as skipped, as is every file that is not a readable results file. A
folder of results is whatever a CI job leaves there, so a stray file never stops the history.

The basis is the elapsed time as a ratio to the calibration unit by default (``"ratio"``): runs on
different machines stay comparable. ``"seconds"`` plots the elapsed times themselves, ``"cpu"`` the CPU
times (the work, which a busy runner does not stretch: what ``llvscan bench``'s gate judges by default).

Steps are found as asv finds them: the series is fitted with a piecewise-constant function that
minimises the sum of absolute deviations from each segment's median plus a penalty per segment (exact,
by dynamic programming: fine for hundreds of runs), the penalty scaled to the series' own noise (the
median of successive differences); a boundary is reported only where the medians on either side differ
by at least ``min_change`` (10 %). Absolute deviations and medians make one odd run a blip, not a step.

Results files are untrusted input: a field of the wrong type skips the file, every string that comes
from one is escaped in the Markdown, and Matplotlib's mathtext is off for the labels drawn from them.
"""

from __future__ import annotations

import heapq
import io
import itertools
import math
import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llvscan._json import JsonResult
from llvscan._paths import slug
from llvscan._publish import clear_stale_in, write_bytes_atomic
from llvscan.bench.markdown import escape as _md
from llvscan.bench.markdown import percent as _percent
from llvscan.bench.markdown import significant as _sig
from llvscan.bench.results import AssetBench, BenchResult, Samples, load_result, median, spread
from llvscan.errors import InvalidParameterError, LlvscanError, MissingDependencyError, OutputError

__all__ = ["BASES", "FORMATS", "TOTAL", "HistoryResult", "Step", "bench_history", "detect_steps", "history_markdown",
           "load_history", "stage_series"]

#: What a series measures: the median ratio to the calibration unit, or the median wall seconds.
BASES = ("ratio", "seconds", "cpu")
#: The plot formats written.
FORMATS = ("png", "svg")
#: The family of the assets' whole time (``AssetBench.total``).
TOTAL = "total"

_LAST_COLUMNS = 5  # runs shown in the Markdown table after the first
_MAX_TICKS = 12  # date labels on a plot's x axis, version changes besides
_INSTALL = "pip install 'llvscan[plots]'"


@dataclass(frozen=True)
class Step(JsonResult):
    """A change point in one family's series: from ``run`` on (its index among the compared runs, in time
    order) the fitted level is ``after`` instead of ``before``; ``change = after / before - 1``."""

    stage: str
    run: int
    created: str
    before: float
    after: float
    change: float


@dataclass(frozen=True)
class HistoryResult(JsonResult):
    """What ``bench_history`` read and wrote."""

    folder: str  # the folder of results files read
    runs: int  # the comparable runs drawn
    plots: list[str]  # the plot files written
    markdown: str  # the path of history.md
    steps: list[Step]
    skipped: list[str]  # "file: reason"
    basis: str
    seconds: float


# --------------------------------------------------------------------------------------------- loading


def _created(result: BenchResult) -> datetime:
    """The run's time, aware (a time without an offset is taken as UTC, as ``llvscan bench`` writes it)."""
    when = datetime.fromisoformat(result.created)
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _numbers_ok(values: Any) -> bool:
    if not isinstance(values, list):
        return False
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        try:
            float(value)
        except OverflowError:
            return False
    return True


def _samples_ok(samples: Any) -> bool:
    return (isinstance(samples, Samples) and _numbers_ok(samples.wall) and _numbers_ok(samples.cpu)
            and _numbers_ok(samples.ratio))


def _damage(result: BenchResult) -> str | None:
    """Why a parsed results file cannot be drawn (a field of the wrong type), or None."""
    for name in ("created", "recipe_sha256", "collection", "collection_sha256"):
        if not isinstance(getattr(result, name), str):
            return f"a damaged bench results file ({name} is not a string)"
    try:
        _created(result)
    except ValueError:
        return "a damaged bench results file (created is not an ISO 8601 time)"
    if not isinstance(result.versions, dict) or not isinstance(result.machine, dict):
        return "a damaged bench results file (versions or machine is not an object)"
    if not isinstance(result.assets, list):
        return "a damaged bench results file (assets is not a list)"
    for asset in result.assets:
        if not isinstance(asset, AssetBench) or not isinstance(asset.stages, dict):
            return "a damaged bench results file (an asset is not an object)"
        if not _samples_ok(asset.total) or not all(_samples_ok(s) for s in asset.stages.values()):
            return "a damaged bench results file (a timing is not a list of numbers)"
    return None


def load_history(folder: str | Path) -> tuple[list[BenchResult], list[str]]:
    """The comparable results in ``folder`` (every ``*.json`` in it, not below), oldest first, and the files
    left out as ``"file: reason"``: not a results file, damaged, or of another collection or recipe than
    the newest run. No readable results file at all is an ``InvalidParameterError`` naming the folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidParameterError("not a folder of bench results", path=folder)
    skipped: list[tuple[str, str]] = []
    loaded: list[tuple[datetime, str, BenchResult]] = []
    for path in sorted(p for p in folder.glob("*.json") if p.is_file()):
        try:
            result = load_result(path)
        except LlvscanError as exc:
            skipped.append((path.name, exc.message))
            continue
        except (ValueError, TypeError, AttributeError, KeyError, RecursionError, OSError) as exc:
            skipped.append((path.name, f"a damaged bench results file ({type(exc).__name__})"))
            continue
        reason = _damage(result)
        if reason is not None:
            skipped.append((path.name, reason))
            continue
        loaded.append((_created(result), path.name, result))
    if not loaded:
        raise InvalidParameterError("no readable bench results file (*.json) in this folder"
                                    + (f" ({len(skipped)} skipped)" if skipped else ""), path=folder)
    loaded.sort(key=lambda item: (item[0], item[1]))
    newest = loaded[-1][2]
    results = []
    for _, name, result in loaded:
        if result.collection_sha256 != newest.collection_sha256:
            skipped.append((name, "another collection"))
        elif result.recipe_sha256 != newest.recipe_sha256:
            skipped.append((name, "another recipe"))
        else:
            results.append(result)
    return results, [f"{name}: {reason}" for name, reason in sorted(skipped)]


# --------------------------------------------------------------------------------------------- series


def _check_basis(basis: str) -> None:
    if basis not in BASES:
        raise InvalidParameterError(f"unknown basis {basis!r}: one of {', '.join(BASES)}")


def _family(stage: str) -> str:
    family = stage.split(":", 1)[0]
    return f"{TOTAL}-stage" if family == TOTAL else family  # never merged with the assets' total


def _aggregate(results: Sequence[BenchResult], basis: str, statistic: str) -> dict[str, list[float]]:
    """Per family, per run: the sum over assets and the family's stages of ``statistic`` (the median or the
    interquartile range) of the basis; NaN where the run has none of the family's stages."""
    _check_basis(basis)

    def value(samples: Samples) -> float:
        values = {"ratio": samples.ratio, "seconds": samples.wall, "cpu": samples.cpu}[basis]
        return float(median(values) if statistic == "median" else spread(values))

    families: dict[str, list[float]] = {TOTAL: []}
    per_run: list[dict[str, list[float]]] = []
    for result in results:
        sums: dict[str, list[float]] = {TOTAL: []}
        for asset in result.assets:
            sums[TOTAL].append(value(asset.total))
            for stage, samples in asset.stages.items():
                family = _family(stage)
                families.setdefault(family, [])
                sums.setdefault(family, []).append(value(samples))
        per_run.append(sums)
    for sums in per_run:
        for family, column in families.items():
            finite = [v for v in sums.get(family, ()) if math.isfinite(v)]
            column.append(math.fsum(finite) if finite else math.nan)
    return families


def stage_series(results: Sequence[BenchResult], *, basis: str = "ratio") -> dict[str, list[float]]:
    """Family (``"total"`` first, then the stage families in pipeline order) → one value per run: the
    per-asset median (``median_ratio``, or ``median_wall`` for ``basis="seconds"``) summed over the assets
    and the family's stages; NaN for a run without that family (a gap in the plot)."""
    return _aggregate(results, basis, "median")


# --------------------------------------------------------------------------------------------- steps


def _segment_costs(y: list[float]) -> list[list[float]]:
    """``cost[i][j - i - 1]``: the sum of absolute deviations of ``y[i:j]`` from its median, for every
    segment, in O(n² log n): a running median (two heaps with their sums) per start."""
    n = len(y)
    costs = []
    for i in range(n):
        lower: list[float] = []  # max-heap (negated): the smaller half, one more when odd
        upper: list[float] = []
        lower_sum = upper_sum = 0.0
        row = []
        for x in y[i:]:
            if not lower or x <= -lower[0]:
                heapq.heappush(lower, -x)
                lower_sum += x
            else:
                heapq.heappush(upper, x)
                upper_sum += x
            if len(lower) > len(upper) + 1:
                moved = -heapq.heappop(lower)
                lower_sum -= moved
                heapq.heappush(upper, moved)
                upper_sum += moved
            elif len(upper) > len(lower):
                moved = heapq.heappop(upper)
                upper_sum -= moved
                heapq.heappush(lower, -moved)
                lower_sum += moved
            m = -lower[0]
            row.append(max(0.0, (m * len(lower) - lower_sum) + (upper_sum - m * len(upper))))
        costs.append(row)
    return costs


def _fit(values: Sequence[float], min_change: float) -> list[tuple[int, float, float]]:
    """The reported steps as (index in ``values``, median before, median after)."""
    if not min_change >= 0 or not math.isfinite(min_change):
        raise InvalidParameterError(f"min_change must be a finite fraction ≥ 0, not {min_change!r}")
    index = [i for i, v in enumerate(values) if math.isfinite(v)]
    y = [float(values[i]) for i in index]
    n = len(y)
    if n < 2:
        return []
    # the noise: successive differences ignore the level, their median ignores the few steps
    noise = statistics.median(abs(b - a) for a, b in itertools.pairwise(y)) / 0.954  # σ of a normal
    scale = statistics.median(abs(v) for v in y)
    penalty = 4.0 * max(noise, 1e-3 * scale, 1e-12) * math.log(n + 1)
    costs = _segment_costs(y)
    best = [0.0] + [math.inf] * n
    start = [0] * (n + 1)
    for j in range(1, n + 1):
        for i in range(j):
            total = best[i] + costs[i][j - i - 1] + penalty
            if total < best[j]:
                best[j], start[j] = total, i
    bounds = []
    j = n
    while j > 0:
        bounds.append(j)
        j = start[j]
    bounds = [0, *reversed(bounds)]
    levels = [statistics.median(y[a:b]) for a, b in itertools.pairwise(bounds)]
    steps = []
    for k in range(1, len(levels)):
        before, after = levels[k - 1], levels[k]
        if before != 0 and abs(after / before - 1) >= min_change:
            steps.append((index[bounds[k]], before, after))
    return steps


def detect_steps(values: Sequence[float], *, min_change: float = 0.10) -> list[int]:
    """The indices in ``values`` where a step starts (the first value after it): boundaries of the best
    piecewise-constant L1 fit whose adjacent segment medians differ by at least ``min_change`` (relative).
    NaN values (runs without the stage) are left out of the fit; an index always refers to ``values``."""
    return [i for i, _, _ in _fit(values, min_change)]


# --------------------------------------------------------------------------------------------- output

def _labels(results: Sequence[BenchResult]) -> list[str]:
    """A run's label: its date, with the time of day when two runs share a date."""
    dates = [r.created[:10] for r in results]
    if len(set(dates)) == len(dates):
        return dates
    return [r.created[:16].replace("T", " ") for r in results]


def _version(result: BenchResult) -> str:
    return str(result.versions.get("llvscan", "?"))


def history_markdown(results: Sequence[BenchResult], series: dict[str, list[float]], steps: Sequence[Step], *,
                     basis: str, skipped: Sequence[str] = ()) -> str:
    """The history as Markdown for a CI job summary: a title, the newest run's machine and version, one table
    (a row per family: the first run, the last up to five, the change of the last against the previous
    one), the detected steps and the skipped files."""
    _check_basis(basis)
    labels = _labels(results)
    newest = results[-1] if results else None
    unit = {"ratio": "multiples of the calibration unit", "seconds": "wall seconds", "cpu": "CPU seconds"}[basis]
    lines = ["# llvscan bench history", ""]
    if newest is not None:
        machine = ", ".join(f"{_md(k, 40)}: {_md(v, 80)}" for k, v in newest.machine.items()) or "unknown"
        lines += [f"Collection {_md(newest.collection)}: {len(results)} comparable runs, "
                  f"{_md(labels[0])} to {_md(labels[-1])}. Newest run: llvscan {_md(_version(newest), 40)} "
                  f"on {machine}.", "",
                  f"Each value is the median over the repeats in {unit}, summed over the assets and the "
                  "stages of the family.", ""]
    first = [0] if results else []
    last = list(range(max(1, len(results) - _LAST_COLUMNS), len(results)))
    header = ["stage", *(f"first run ({_md(labels[i])})" for i in first), *(_md(labels[i]) for i in last),
              "change"]
    lines += ["| " + " | ".join(header) + " |", "|" + "|".join([" --- "] + [" ---: "] * (len(header) - 1)) + "|"]
    for family, values in series.items():
        change = values[-1] / values[-2] - 1 if len(values) >= 2 and values[-2] else math.nan
        cells = [_md(family), *(_sig(values[i]) for i in first + last), _percent(change)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "## Steps", ""]
    if steps:
        for step in steps:
            version = _version(results[step.run]) if 0 <= step.run < len(results) else "?"
            when = _md(step.created[:16].replace("T", " "))
            lines.append(f"- **{_md(step.stage)}** from run {step.run} ({when}, llvscan "
                         f"{_md(version, 40)}): {_sig(step.before)} → {_sig(step.after)} ({_percent(step.change)})")
    else:
        lines.append("No step detected.")
    if skipped:
        lines += ["", f"## Skipped ({len(skipped)})", ""]
        lines += [f"- {_md(reason)}" for reason in skipped[:50]]
        if len(skipped) > 50:
            lines.append(f"- … and {len(skipped) - 50} more")
    return "\n".join(lines) + "\n"


def _file_names(families: Iterable[str]) -> dict[str, str]:
    """Family → a file-name stem, unique even on a case-insensitive file system."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for family in families:
        stem = slug(family)[:80]
        candidate, k = stem, 2
        while candidate.casefold() in taken or candidate.casefold() == "history":
            candidate, k = f"{stem}-{k}", k + 1
        taken.add(candidate.casefold())
        names[family] = candidate
    return names


def _import_matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError as exc:
        raise MissingDependencyError(f"the history plots need matplotlib: {_INSTALL}", detail=str(exc)) from exc
    matplotlib.use("Agg")
    return matplotlib


def _plot(family: str, values: list[float], errors: list[float], results: Sequence[BenchResult],
          steps: Sequence[Step], basis: str, formats: Sequence[str]) -> dict[str, bytes]:
    """One family's plot, as bytes per format."""
    matplotlib = _import_matplotlib()
    from matplotlib.figure import Figure

    n = len(values)
    labels = _labels(results)
    ticks = set(range(0, n, max(1, math.ceil(n / _MAX_TICKS)))) | ({n - 1} if n else set())
    names = []
    for i, result in enumerate(results):
        version = _version(result)[:24]
        changed = i == 0 or version != _version(results[i - 1])[:24]
        if changed:
            ticks.add(i)
        names.append(f"{labels[i]}\nllvscan {version}" if changed else labels[i])
    rc = {"svg.hashsalt": "llvscan-bench-history", "svg.fonttype": "path", "text.parse_math": False}
    out = {}
    for fmt in formats:  # a fresh figure per format: a layout drawn for one renderer would shift the next
        with matplotlib.rc_context(rc):
            figure = Figure(figsize=(max(6.0, min(16.0, 0.35 * n + 4)), 4.2), layout="constrained")
            axes = figure.add_subplot()
            half = [e / 2 if math.isfinite(e) else 0.0 for e in errors]
            axes.errorbar(range(n), values, yerr=half, fmt="o-", color="tab:blue", ecolor="tab:gray",
                          markersize=4, linewidth=1.2, capsize=2)
            for step in steps:
                axes.axvline(step.run - 0.5, color="tab:red", linestyle="--", linewidth=1)
                axes.annotate(_percent(step.change), xy=(step.run - 0.5, 0.0), xycoords=("data", "axes fraction"),
                              xytext=(3, 4), textcoords="offset points", color="tab:red", fontsize=8)
            shown = sorted(ticks)
            axes.set_xticks(shown, [names[i] for i in shown], rotation=30, ha="right", fontsize=7)
            axes.set_xlim(-0.5, max(n - 0.5, 0.5))
            axes.set_ylim(bottom=0)
            axes.set_ylabel({"ratio": "× calibration unit", "seconds": "seconds", "cpu": "CPU seconds"}[basis])
            axes.set_title(f"{family[:80]}: median over repeats, summed over assets (error bars: IQR)",
                           fontsize=10)
            axes.grid(True, axis="y", alpha=0.3)
            buffer = io.BytesIO()
            figure.savefig(buffer, format=fmt, dpi=100, metadata={"Date": None} if fmt == "svg" else None)
            out[fmt] = buffer.getvalue()
            figure.clear()  # not pyplot's: nothing holds it once this returns
    return out


def bench_history(folder: str | Path, out: str | Path | None = None, *, formats: Sequence[str] = ("png",),
                  basis: str = "ratio", min_change: float = 0.10) -> HistoryResult:
    """Read every results file in ``folder`` and write a plot per stage family (``OUT/<family>.<fmt>``) and
    ``OUT/history.md``; ``out`` defaults to ``folder/history``. See the module's docstring."""
    begun = time.perf_counter()
    folder = Path(folder)
    out = folder / "history" if out is None else Path(out)
    formats = (formats,) if isinstance(formats, str) else tuple(dict.fromkeys(formats))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise InvalidParameterError(f"unknown plot format {unknown[0]!r}: one of {', '.join(FORMATS)}")
    _check_basis(basis)
    if formats:
        _import_matplotlib()  # before any work: a missing library is said at once
    results, skipped = load_history(folder)
    series = stage_series(results, basis=basis)
    errors = _aggregate(results, basis, "spread")
    steps = [Step(stage=family, run=i, created=results[i].created, before=before, after=after,
                  change=after / before - 1)
             for family, values in series.items() for i, before, after in _fit(values, min_change)]
    markdown = history_markdown(results, series, steps, basis=basis, skipped=skipped)
    try:
        clear_stale_in(out)
        plots = []
        for family, stem in _file_names(series).items():
            if not formats:
                break
            drawn = _plot(family, series[family], errors[family], results,
                          [s for s in steps if s.stage == family], basis, formats)
            for fmt, data in drawn.items():
                path = out / f"{stem}.{fmt}"
                write_bytes_atomic(path, data, many=True)
                plots.append(str(path))
        md_path = out / "history.md"
        write_bytes_atomic(md_path, markdown.encode("utf-8"), many=True)
    except OSError as exc:
        if isinstance(exc, LlvscanError):
            raise
        raise OutputError("cannot write the bench history", path=out, detail=str(exc)) from exc
    return HistoryResult(folder=str(folder), runs=len(results), plots=plots, markdown=str(md_path), steps=steps,
                         skipped=skipped, basis=basis, seconds=time.perf_counter() - begun)
