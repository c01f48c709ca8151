"""What ``llvscan bench`` measures and saves: one :class:`BenchResult` per run, as JSON.

A results file holds everything needed to judge a later run against it, and to refuse a comparison that
would mean nothing: the machine, the versions of llvscan and every library it runs, the hash of the
recipe, the checksum of the collection, the calibration workloads timed on the same machine in the same
repeats, and per asset: every stage's wall and CPU seconds per repeat (and the same as ratios to the
calibration), the peak memory, the bytes written and the quality figures the pipeline computed.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llvscan._json import JsonResult
from llvscan.errors import InvalidParameterError

__all__ = ["SCHEMA", "AssetBench", "BenchResult", "Calibration", "QualityValue", "Samples", "load_result",
           "median", "spread"]

#: The results format; a file of another schema is refused, never half-read.
SCHEMA = "llvscan-bench/1"

#: A quality figure: a count, a measure, a verdict or a status.
QualityValue = bool | int | float | str | None


def median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def spread(values: list[float]) -> float:
    """The interquartile range over the repeats (0 for fewer than two)."""
    if len(values) < 2:
        return 0.0
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[2] - q[0]


@dataclass(frozen=True)
class Samples(JsonResult):
    """One timed figure over the repeats: wall and CPU seconds, and wall as a ratio to the calibration
    unit of the same repeat (``ratio[i] = wall[i] / Calibration.unit[i]``)."""

    wall: list[float]
    cpu: list[float]
    ratio: list[float]

    @property
    def median_wall(self) -> float:
        return median(self.wall)

    @property
    def median_cpu(self) -> float:
        return median(self.cpu)

    @property
    def median_ratio(self) -> float:
        return median(self.ratio)


@dataclass(frozen=True)
class Calibration(JsonResult):
    """Fixed workloads timed on the same machine, once per repeat before the assets: ``workloads`` maps
    each (``vips``: a raw libvips pyramid, ``numba``: a reference kernel, ``hash``: SHA-256 of a fixed
    buffer, ``memory``: copying one) to its seconds per repeat; ``unit`` is their geometric mean per
    repeat, the yardstick the ratios divide by."""

    workloads: dict[str, list[float]]
    unit: list[float]


@dataclass(frozen=True)
class AssetBench(JsonResult):
    """One asset: its stages (exclusive times, see ``llvscan._stages``), its total, its memory and output,
    and the quality figures of its outputs (``"validation.valid"``, ``"lod.Low.hausdorff_pct"``…)."""

    path: str
    kind: str
    status: str  # ok / failed: the pipeline's own outcome, itself a compared figure
    stages: dict[str, Samples]
    total: Samples
    peak_rss_mib: list[float]  # per repeat: this process's peak while the asset ran (absolute)
    output_bytes: int
    quality: dict[str, QualityValue]
    cold_seconds: float  # the first, unmeasured pass: kernels compiled or loaded, files cached
    error: str | None = None
    memory_mib: list[float] = field(default_factory=list)  # per repeat: that peak above the RSS at the start


@dataclass(frozen=True)
class BenchResult(JsonResult):
    """A whole ``llvscan bench`` run."""

    created: str  # ISO 8601, UTC
    machine: dict[str, Any]  # hostname, platform, cpu model, cores, memory
    versions: dict[str, str]  # llvscan, python, and every library the pipeline runs
    recipe: dict[str, Any]  # the run recipe as used
    recipe_sha256: str
    collection: str
    collection_sha256: str  # over every source file's path and SHA-256, and the sidecar rows
    repeat: int
    calibration: Calibration
    cold_seconds: float  # the first pass over every asset (compiles numba kernels on a fresh machine)
    compile_seconds: float  # that pass less the warm median: the one-off cost, reported apart
    assets: list[AssetBench]
    seconds: float  # the whole benchmark, first pass and calibration included
    notes: list[str] = field(default_factory=list)
    schema: str = SCHEMA

    def save(self, path: str | Path) -> Path:
        from llvscan._publish import write_json_atomic

        path = Path(path)
        write_json_atomic(path, self.to_dict())
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "results") -> BenchResult:
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            found = data.get("schema") if isinstance(data, dict) else type(data).__name__
            raise InvalidParameterError(f"not an llvscan bench results file (schema {found!r}, expected {SCHEMA!r})",
                                        path=where)
        try:
            calibration = Calibration(**data["calibration"])
            assets = [AssetBench(**{**a, "total": Samples(**a["total"]),
                                    "stages": {k: Samples(**v) for k, v in a["stages"].items()}})
                      for a in data["assets"]]
            fields = {k: v for k, v in data.items() if k not in ("calibration", "assets")}
            return cls(**fields, calibration=calibration, assets=assets)
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise InvalidParameterError(f"a damaged bench results file ({type(exc).__name__}: {exc})",
                                        path=where) from None


def load_result(path: str | Path) -> BenchResult:
    """Read a results file written by ``llvscan bench --save``; a file that is not one is refused by name."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidParameterError("no such bench results file", path=path) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidParameterError(f"cannot read bench results ({exc})", path=path) from None
    return BenchResult.from_dict(data, where=str(path))
