"""Benchmarks as Markdown, for a CI job summary (``cat bench.md >> $GITHUB_STEP_SUMMARY``) or a merge request.

:func:`bench_markdown` renders one run (and, given one, its comparison with a baseline): the verdict first,
each regression named (asset, stage, figure, before → after), then a table per asset of its slowest stages.
Every string that comes from a results file (paths, versions, machine names) is escaped: a results file,
like a collection, is untrusted input.
"""

from __future__ import annotations

import math
import re
from typing import Any

from llvscan.bench.compare import Comparison
from llvscan.bench.results import BenchResult, median, spread

__all__ = ["LISTED", "TOP_STAGES", "bench_markdown", "escape", "percent", "significant"]

#: Stages listed per asset (its slowest), and regressions/improvements listed before "… and N more".
TOP_STAGES = 6
LISTED = 40

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~!&])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def escape(text: Any, limit: int = 200) -> str:
    """A string from a results file, safe inside a Markdown table cell: one line, no markup, no ``|``."""
    text = _CONTROL.sub(" ", str(text))
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return _MD_SPECIAL.sub(r"\\\1", text)


def significant(value: float) -> str:
    """``value`` to 3 significant digits, without an exponent for everyday magnitudes; "—" for NaN."""
    if not math.isfinite(value):
        return "—"
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    if magnitude < -3 or magnitude > 8:
        return f"{value:.2e}"
    digits = 2 - magnitude
    return f"{value:.{digits}f}" if digits > 0 else f"{round(value, digits):.0f}"


def percent(fraction: float) -> str:
    if not math.isfinite(fraction):
        return "—"
    text = significant(100 * fraction)
    return f"{'+' if fraction >= 0 and not text.startswith('-') else ''}{text} %"


def _changes(title: str, changes: list[Any]) -> list[str]:
    if not changes:
        return []
    lines = [f"### {title} ({len(changes)})", ""]
    lines += [f"- {escape(c.text, 300)}" for c in changes[:LISTED]]
    if len(changes) > LISTED:
        lines.append(f"- … and {len(changes) - LISTED} more (see the JSON)")
    return [*lines, ""]


def bench_markdown(result: BenchResult, comparison: Comparison | None = None) -> str:
    """``result`` (and its ``comparison`` with a baseline, when given) as Markdown."""
    unit = median(result.calibration.unit)
    lines = [f"# llvscan bench: {escape(result.collection)}", ""]
    machine = result.machine
    lines += [f"llvscan {escape(result.versions.get('llvscan', '?'), 40)} on {escape(machine.get('cpu', '?'), 80)} "
              f"×{escape(machine.get('cores', '?'), 8)}, {result.repeat} repeats, {len(result.assets)} assets, "
              f"{result.created}. Calibration unit {significant(unit * 1000)} ms; first pass "
              f"{significant(result.cold_seconds)} s, of which compiling about "
              f"{significant(result.compile_seconds)} s.",
              ""]
    if comparison is not None:
        regressions, improvements = comparison.regressions, comparison.improvements
        verdict = (f"**{len(regressions)} regression{'s' if len(regressions) != 1 else ''}**" if regressions
                   else "**No regression**")
        lines += [f"## {verdict} against the baseline of {escape(comparison.baseline)}", "",
                  f"Thresholds {escape(comparison.fail_on.describe())}; times compared as "
                  f"{'seconds' if comparison.basis == 'seconds' else 'ratios to the calibration unit'}.", ""]
        lines += [f"- {escape(note, 400)}" for note in comparison.notes]
        if comparison.notes:
            lines.append("")
        lines += _changes("Regressions", regressions)
        lines += _changes("Improvements", improvements)
    lines += ["## Assets", "", "| asset | status | total s (IQR) | × unit | slowest stages (median s) | "
              "memory MiB | output bytes |", "| --- | --- | ---: | ---: | --- | ---: | ---: |"]
    for asset in result.assets:
        stages = sorted(asset.stages.items(), key=lambda item: -item[1].median_wall)[:TOP_STAGES]
        slowest = ", ".join(f"{escape(name, 60)} {significant(s.median_wall)}" for name, s in stages
                            if s.median_wall > 0)
        memory = median(asset.memory_mib)
        lines.append(f"| {escape(asset.path)} | {escape(asset.status, 20)} | {significant(asset.total.median_wall)} "
                     f"({significant(spread(asset.total.wall))}) | {significant(asset.total.median_ratio)} | "
                     f"{slowest or '—'} | {significant(memory) if math.isfinite(memory) else '—'} | "
                     f"{asset.output_bytes:,} |")
    if result.notes:
        lines += ["", "## Notes", ""] + [f"- {escape(note, 400)}" for note in result.notes]
    return "\n".join(lines) + "\n"
