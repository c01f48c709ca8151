"""Judging a benchmark against a baseline: which figures got worse, by how much, and how sure we are.

Two runs are compared only when they processed the same inputs: the same collection (checksum of every
source file and sidecar row); otherwise :func:`compare_results` refuses, with the reason, for the figures
of other files say nothing about a change. A different recipe, machine or library version is what a gate
is for: the comparison goes on and names it in the notes ("the recipe changed: the changes below are its
effect").

**Times** are compared per asset and per stage over the repeats, never one run against one run. ``time`` is
the CPU time (the work done, by every thread and child process), ``wall`` the elapsed time. The default
gate is on ``time``: measured here with a second benchmark competing for the two cores, elapsed times of
the parallel stages rose 40–60 % while their CPU times moved under 5 %; counting work, not waiting, keeps
a shared runner quiet (CodSpeed's lesson). Gate ``wall`` too on a dedicated runner: only it sees a stage
that lost its parallelism. The change is the Hodges–Lehmann estimate of the shift between the two samples'
logarithms (the median of every pairwise log ratio, robust to an outlier repeat); a *regression* needs the
change above the threshold **and** a one-sided Mann–Whitney U test saying the new times are larger
(p < 0.05; exact for small samples, so five repeats against five reach p = 0.004). A stage whose baseline
median is under ``MIN_SECONDS`` of wall time is too short to time on a shared machine and is not gated
(the asset's total still is). On the same machine times are compared in seconds; on another
(``basis="ratio"``, or ``"auto"`` when the machines differ) as ratios to each repeat's calibration unit,
which cancels the machine's speed. When the two runs used different versions of libvips or numba, that
library's calibration workload leaves the unit on both sides, so an upgrade cannot hide its own slowdown.

**Memory** (the asset's peak above the process's RSS when it started, median over repeats) and **size**
(bytes written) regress when they grow by more than their threshold (memory: and by more than 16 MiB).

**Quality** figures are deterministic and compared figure by figure with a direction: errors (Hausdorff,
mean, texel drift, compression error, findings) must not rise, fidelity (SSIM, PSNR) and output checks must
not fall, and the rest (status, validity, faces reached, measurements) must not change. ``quality:0``
tolerates nothing beyond float noise (a relative 1e-6); ``quality:2%`` a relative worsening of 2 %.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from llvscan._json import JsonResult
from llvscan.bench.calibrate import WORKLOAD_LIBRARY, unit
from llvscan.bench.results import BenchResult, QualityValue, median
from llvscan.errors import InvalidParameterError

__all__ = ["ALPHA", "DEFAULT_FAIL_ON", "MIN_MEMORY_MIB", "MIN_SECONDS", "QUALITY_FLOOR", "Change", "Comparison",
           "FailOn", "check_comparable", "compare_results", "direction", "hodges_lehmann", "mann_whitney_greater"]

#: Stages faster than this (median wall seconds, both runs) are reported but not gated.
MIN_SECONDS = 0.1
#: Memory growth below this is allocator noise, whatever the ratio.
MIN_MEMORY_MIB = 16.0
#: The significance a time regression must reach.
ALPHA = 0.05
#: Float noise allowed on quality figures when their tolerance is 0.
QUALITY_FLOOR = 1e-6

DEFAULT_FAIL_ON = "time:15%,memory:25%,size:10%,quality:0"  # time: CPU seconds; add wall:N% on a quiet runner
_KINDS = ("time", "wall", "memory", "size", "quality")


@dataclass(frozen=True)
class FailOn(JsonResult):
    """The thresholds of a comparison, relative (0.15 = 15 %); None: that kind is reported, not gated.
    ``time`` is CPU time (the work), ``wall`` elapsed time."""

    time: float | None = 0.15
    wall: float | None = None
    memory: float | None = 0.25
    size: float | None = 0.10
    quality: float | None = 0.0

    @classmethod
    def parse(cls, text: str) -> FailOn:
        """``"time:15%,quality:0"``: the kinds named, each with its threshold (``%`` or a fraction); the
        kinds not named are not gated. Unknown kinds and bad numbers are refused."""
        values: dict[str, float | None] = dict.fromkeys(_KINDS)
        for part in filter(None, (p.strip() for p in text.split(","))):
            match = re.fullmatch(r"([a-z]+)\s*:\s*([0-9]*\.?[0-9]+)\s*(%?)", part)
            if match is None or match.group(1) not in _KINDS:
                raise InvalidParameterError(f"--fail-on {part!r}: expected KIND:THRESHOLD with KIND one of "
                                            f"{', '.join(_KINDS)} (e.g. time:15%,quality:0)")
            number = float(match.group(2)) / (100.0 if match.group(3) else 1.0)
            values[match.group(1)] = number
        return cls(**values)

    def describe(self) -> str:
        return ",".join(f"{k}:{v * 100:g}%" for k in _KINDS if (v := getattr(self, k)) is not None) or "nothing"


@dataclass(frozen=True)
class Change(JsonResult):
    """One compared figure. ``verdict``: regression, improvement, unchanged, not gated (too short, or a
    kind without threshold), new or gone."""

    _json_properties: ClassVar[tuple[str, ...]] = ("text",)

    asset: str
    stage: str  # a stage name, "total", or "" for an asset-wide figure
    figure: str  # time (CPU), wall, memory, output.bytes, or a quality figure's name
    kind: str  # time, wall, memory, size, quality
    before: QualityValue
    after: QualityValue
    change: float | None  # relative (0.23 = +23 %); None for a non-numeric figure
    verdict: str
    p_value: float | None = None
    unit: str = ""

    @property
    def text(self) -> str:
        """"vase.ply, decimate:thumb, time: 0.085 → 0.170 s (+100 %, p = 0.004)"."""
        where = ", ".join(part for part in (self.asset, self.stage) if part)

        def show(value: QualityValue) -> str:
            if isinstance(value, float):
                return f"{value:.4g}"
            return "none" if value is None else str(value)

        detail = []
        if self.change is not None and math.isfinite(self.change):
            detail.append(f"{self.change * 100:+.1f} %")
        if self.p_value is not None:
            detail.append(f"p = {self.p_value:.3g}")
        suffix = f" ({', '.join(detail)})" if detail else ""
        unit = f" {self.unit}" if self.unit else ""
        return f"{where}, {self.figure}: {show(self.before)} → {show(self.after)}{unit}{suffix}"


@dataclass(frozen=True)
class Comparison(JsonResult):
    """A run judged against a baseline: every compared figure, and the verdict (``exit_code``)."""

    _json_properties: ClassVar[tuple[str, ...]] = ("exit_code", "regressions", "improvements")

    baseline: str  # the baseline's creation time
    current: str
    basis: str  # "seconds" or "ratio"
    fail_on: FailOn
    changes: list[Change]
    notes: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> list[Change]:
        return [c for c in self.changes if c.verdict == "regression"]

    @property
    def improvements(self) -> list[Change]:
        return [c for c in self.changes if c.verdict == "improvement"]

    @property
    def exit_code(self) -> int:
        """1 when any figure regressed, else 0."""
        return 1 if self.regressions else 0


# -- statistics ---------------------------------------------------------------------------------------------

def hodges_lehmann(before: Sequence[float], after: Sequence[float]) -> float:
    """The relative shift from ``before`` to ``after``: exp(median of log(b/a) over every pair) − 1."""
    logs = sorted(math.log(b / a) for a in before for b in after if a > 0 and b > 0)
    if not logs:
        return math.nan
    return math.exp(median(logs)) - 1.0


def _u_counts(n: int, m: int) -> list[int]:
    """How many of the C(n+m, n) orderings give each value of U (0…n·m), by the usual recursion."""
    # f[i][j][u]: orderings of i x's and j y's with U = u (U counts pairs with y above x)
    table = [[[1] for _ in range(m + 1)] for _ in range(n + 1)]
    for i in range(n + 1):
        for j in range(m + 1):
            if i == 0 or j == 0:
                table[i][j] = [1]
                continue
            # the largest value is a y (it is above all i x's: U grows by i) or an x
            with_y, with_x = table[i][j - 1], table[i - 1][j]
            counts = [0] * (i * j + 1)
            for u, c in enumerate(with_y):
                counts[u + i] += c
            for u, c in enumerate(with_x):
                counts[u] += c
            table[i][j] = counts
    return table[n][m]


def mann_whitney_greater(before: Sequence[float], after: Sequence[float]) -> float:
    """One-sided Mann–Whitney U p-value for "``after`` tends to be larger than ``before``" (ties count a
    half). Exact up to 12 values a side, the normal approximation (with continuity correction) beyond."""
    n, m = len(before), len(after)
    if n == 0 or m == 0:
        return 1.0
    u = sum(1.0 if b > a else 0.5 if b == a else 0.0 for a in before for b in after)
    if n <= 12 and m <= 12:
        counts = _u_counts(n, m)
        total = sum(counts)
        threshold = math.ceil(u - 1e-9)  # with ties U can be a half: count the orderings at least that high
        return sum(counts[threshold:]) / total
    mean, sd = n * m / 2.0, math.sqrt(n * m * (n + m + 1) / 12.0)
    z = (u - 0.5 - mean) / sd
    return 0.5 * math.erfc(z / math.sqrt(2.0))


# -- figures ------------------------------------------------------------------------------------------------

_LOWER = ("hausdorff_pct", "mean_pct", "texel_drift_median", "texel_drift_p95", "compression_error_pct")
_HIGHER = ("ssim", "psnr")


def direction(figure: str) -> str:
    """How a quality figure is judged: "lower" (errors, findings, validator issues), "higher" (fidelity,
    output checks), "size"
    (bytes, judged as size), or "exact" (status, validity, faces, measurements)."""
    last = figure.rsplit(".", 1)[-1]
    if last == "bytes":
        return "size"
    if last in _LOWER or figure.startswith(("findings.", "validator.")):
        return "lower"
    if last in _HIGHER or figure.startswith("outputs."):
        return "higher"
    return "exact"


def _quality_change(asset: str, figure: str, before: QualityValue, after: QualityValue,
                    fail_on: FailOn) -> Change:
    way = direction(figure)
    kind = "size" if way == "size" else "quality"
    tolerance = fail_on.size if kind == "size" else fail_on.quality
    numeric = (isinstance(before, int | float) and isinstance(after, int | float)
               and not isinstance(before, bool) and not isinstance(after, bool))
    change = (float(after) - float(before)) / abs(float(before)) if numeric and before else None  # type: ignore[arg-type]
    if before == after:
        verdict = "unchanged"
    elif tolerance is None:
        verdict = "not gated"
    elif not numeric:
        worse = (way == "higher" and before is True) or way != "higher"
        verdict = "regression" if worse else "improvement"
    else:
        allowed = max(tolerance, QUALITY_FLOOR) * abs(float(before)) + 1e-12  # type: ignore[arg-type]
        delta = float(after) - float(before)  # type: ignore[arg-type]
        if abs(delta) <= allowed:
            verdict = "unchanged"
        elif way in ("lower", "size"):
            verdict = "regression" if delta > 0 else "improvement"
        elif way == "higher":
            verdict = "regression" if delta < 0 else "improvement"
        else:
            verdict = "regression"  # an exact figure that moved: a changed result is a regression to look at
    return Change(asset, "", figure, kind, before, after, change, verdict, unit="bytes" if kind == "size" else "")


def _time_change(asset: str, stage: str, kind: str, before: list[float], after: list[float],
                 before_wall: list[float], threshold: float | None, unit_label: str) -> Change:
    shift = hodges_lehmann(before, after)
    p_worse = mann_whitney_greater(before, after)
    p_better = mann_whitney_greater(after, before)
    m_before, m_after = median(before), median(after)
    if median(before_wall) < MIN_SECONDS:
        verdict, p = "not gated", None
    elif threshold is None:
        verdict, p = "not gated", min(p_worse, p_better)
    elif shift > threshold and p_worse < ALPHA:
        verdict, p = "regression", p_worse
    elif shift < 1.0 / (1.0 + threshold) - 1.0 and p_better < ALPHA:
        verdict, p = "improvement", p_better
    else:
        verdict, p = "unchanged", min(p_worse, p_better)
    return Change(asset, stage, kind, kind, round(m_before, 6), round(m_after, 6),
                  None if math.isnan(shift) else round(shift, 4), verdict, round(p, 4) if p is not None else None,
                  unit_label)


def _same_machine(a: BenchResult, b: BenchResult) -> bool:
    keys = ("hostname", "cpu", "cores")
    return all(a.machine.get(k) == b.machine.get(k) for k in keys)


def check_comparable(baseline: BenchResult, *, collection: str, collection_sha256: str) -> None:
    """Refuse (InvalidParameterError) a baseline that measured another collection, with the reason."""
    if baseline.collection_sha256 != collection_sha256:
        raise InvalidParameterError(
            f"cannot compare: the baseline measured another collection ({baseline.collection} "
            f"{baseline.collection_sha256[:12]}, now {collection} {collection_sha256[:12]}): a changed, added "
            "or removed file or sidecar row; save a new baseline of this collection")


def compare_results(current: BenchResult, baseline: BenchResult, *, fail_on: FailOn | str | None = None,
                    basis: str = "auto") -> Comparison:
    """Judge ``current`` against ``baseline`` (see the module docstring). Refuses (InvalidParameterError,
    exit 2) a baseline of another collection or results format."""
    if isinstance(fail_on, str):
        fail_on = FailOn.parse(fail_on)
    fail_on = fail_on or FailOn.parse(DEFAULT_FAIL_ON)
    if basis not in ("auto", "seconds", "ratio"):
        raise InvalidParameterError(f"basis must be auto, seconds or ratio, not {basis!r}")
    check_comparable(baseline, collection=current.collection, collection_sha256=current.collection_sha256)
    notes: list[str] = []
    if baseline.recipe_sha256 != current.recipe_sha256:
        notes.append(f"the recipe changed ({baseline.recipe_sha256[:12]} → {current.recipe_sha256[:12]}): the "
                     "changes below are its effect; save a new baseline once they are meant")
    same = _same_machine(baseline, current)
    if basis == "auto":
        basis = "seconds" if same else "ratio"
    if not same:
        notes.append(f"other machine: {baseline.machine.get('cpu')} ×{baseline.machine.get('cores')} then, "
                     f"{current.machine.get('cpu')} ×{current.machine.get('cores')} now; times compared as "
                     f"{'ratios to the calibration' if basis == 'ratio' else 'seconds'}")
    changed = sorted(k for k in {*baseline.versions, *current.versions}
                     if baseline.versions.get(k) != current.versions.get(k))
    if changed:
        notes.append("versions changed: " + ", ".join(
            f"{k} {baseline.versions.get(k, 'none')} → {current.versions.get(k, 'none')}" for k in changed))
    exclude = [w for w, lib in WORKLOAD_LIBRARY.items()
               if baseline.versions.get(lib) != current.versions.get(lib)]
    if exclude and basis == "ratio":
        notes.append(f"calibration unit without {', '.join(exclude)} (its library changed version)")
    unit_before = unit(baseline.calibration.workloads, exclude)
    unit_after = unit(current.calibration.workloads, exclude)

    def scaled(wall: list[float], units: list[float]) -> list[float]:
        return wall if basis == "seconds" else [w / u for w, u in zip(wall, units, strict=True)]

    time_unit = "s" if basis == "seconds" else "× unit"
    changes: list[Change] = []
    before_assets = {a.path: a for a in baseline.assets}
    for asset in current.assets:
        old = before_assets.pop(asset.path, None)
        if old is None:
            changes.append(Change(asset.path, "", "asset", "quality", None, asset.status, None, "new"))
            continue
        timed = [("total", old.total, asset.total)]
        timed += [(name, old.stages[name], asset.stages[name]) for name in asset.stages if name in old.stages]
        for name, a, b in timed:
            changes.append(_time_change(asset.path, name, "time", scaled(a.cpu, unit_before),
                                        scaled(b.cpu, unit_after), a.wall, fail_on.time, time_unit))
            changes.append(_time_change(asset.path, name, "wall", scaled(a.wall, unit_before),
                                        scaled(b.wall, unit_after), a.wall, fail_on.wall, time_unit))
        for name in sorted(set(old.stages) - set(asset.stages)):
            changes.append(Change(asset.path, name, "time", "time", old.stages[name].median_wall, None, None, "gone"))
        for name in sorted(set(asset.stages) - set(old.stages)):
            changes.append(Change(asset.path, name, "time", "time", None, asset.stages[name].median_wall, None, "new"))
        changes.append(_memory_change(asset.path, old.memory_mib, asset.memory_mib, fail_on.memory))
        changes.append(_quality_change(asset.path, "output.bytes", old.output_bytes, asset.output_bytes, fail_on))
        for figure in sorted({*old.quality, *asset.quality}):
            if figure not in asset.quality:  # a level or check that is gone; a validator not run this time
                gated = fail_on.quality is not None and not figure.startswith("validator.")
                changes.append(Change(asset.path, "", figure, "quality", old.quality[figure], None, None,
                                      "regression" if gated else "gone"))
            elif figure not in old.quality:
                changes.append(Change(asset.path, "", figure, "quality", None, asset.quality[figure], None, "new"))
            else:
                changes.append(_quality_change(asset.path, figure, old.quality[figure], asset.quality[figure],
                                               fail_on))
    for path in before_assets:  # cannot happen with equal checksums, but a hand-edited file might
        changes.append(Change(path, "", "asset", "quality", "present", None, None, "regression"))
    return Comparison(baseline=baseline.created, current=current.created, basis=basis, fail_on=fail_on,
                      changes=changes, notes=notes)


def _memory_change(asset: str, before: list[float], after: list[float], threshold: float | None) -> Change:
    m_before, m_after = median(before), median(after)
    change = (m_after - m_before) / m_before if m_before > 0 else None
    grew = m_after - m_before
    if threshold is None:
        verdict = "not gated"
    elif grew > MIN_MEMORY_MIB and grew > threshold * max(m_before, 0.0):
        verdict = "regression"
    elif -grew > MIN_MEMORY_MIB and -grew > threshold * max(m_after, 0.0):
        verdict = "improvement"
    else:
        verdict = "unchanged"
    return Change(asset, "", "memory", "memory", round(m_before, 1), round(m_after, 1),
                  None if change is None else round(change, 4), verdict, unit="MiB")
