"""Shared harness for llvscan benchmarks: the one way to load inputs, run a case, time it, measure its memory,
and report.

How a benchmark is laid out: the script's ``main()`` (the *driver*) prepares cached inputs, then runs each case
in a fresh interpreter with :func:`run_case` (the script re-invoked with ``--case NAME``), which prints one JSON
line; the driver collects those, prints a table with :func:`print_table` and saves JSON with
:func:`write_results`. Inside a case, :func:`measure` (warm-up, then a median of timed calls) or
:func:`peak_rss` (a block) report the peak resident set size.

Peak RSS is measured by :func:`llvscan.bench.memory.peak_rss` (its docstring says why it is done that
way); ``llvscan bench`` measures its assets with the same function.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, NamedTuple

from llvscan.bench.memory import PeakRSS, current_rss_mib, peak_rss  # noqa: F401  (the harness's API)

if TYPE_CHECKING:
    import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


# -- inputs -----------------------------------------------------------------------------------------------

def load_sample_generator() -> ModuleType:
    """The sample-data generator, ``llvscan.sample``: its builders (``cube_sphere``, ``bust_positions``,
    ``paint_atlas``, ``landscape_image``…) make every benchmark input, with fixed seeds."""
    from llvscan import sample

    return sample


class TexturedScan(NamedTuple):
    positions: np.ndarray  # (V, 3) float64
    faces: np.ndarray  # (F, 3)
    uv: np.ndarray  # (T, 2) texel coordinates
    uv_faces: np.ndarray  # (F, 3) indices into uv
    rects: np.ndarray  # the atlas charts, for paint_atlas


def textured_scan(n: int, *, seed: int, gutter: int, texture: int = 4096) -> TexturedScan:
    """The generator's noisy bust-shaped cube-sphere (12 n² faces) with its 6-chart atlas on a ``texture``²
    image, charts ``gutter`` texels apart: the scan the mesh benchmarks load, decimate and build LODs from."""
    gen = load_sample_generator()
    unit, faces, _ = gen.cube_sphere(n)
    rects = gen.atlas_rects(texture, gutter)
    uv = gen.chart_uvs(n, rects, texture).reshape(-1, 2)
    return TexturedScan(gen.bust_positions(unit, seed=seed), faces, uv, gen.chart_uv_faces(n), rects)


# -- memory: llvscan.bench.memory (peak_rss, current_rss_mib), shared with `llvscan bench` -------------

# -- time -------------------------------------------------------------------------------------------------

def time_runs(fn: Callable[[], object], repeat: int) -> list[float]:
    """Wall seconds of each of ``repeat`` calls of ``fn``, unrounded."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def measure(fn: Callable[[], object], repeat: int) -> dict:
    """Run ``fn`` once to warm up (JIT, caches), then ``repeat`` times: the first call's seconds, the median,
    every run, and the peak RSS of the process over all the calls (:func:`peak_rss`; the first call included)."""
    with peak_rss() as memory:
        start = time.perf_counter()
        fn()
        first = time.perf_counter() - start
        times = time_runs(fn, repeat)
    return {"first_s": round(first, 4), "median_s": round(statistics.median(times), 4),
            "runs": [round(t, 4) for t in times], "peak_rss_mib": round(memory.peak_mib, 1)}


# -- cases in fresh interpreters --------------------------------------------------------------------------

class CaseError(RuntimeError):
    """A case's interpreter exited with an error; ``returncode`` and ``stderr`` kept."""

    def __init__(self, message: str, returncode: int, stderr: str) -> None:
        super().__init__(message)
        self.returncode, self.stderr = returncode, stderr


def run_script(script: Path, *args: str, timeout: float | None = None) -> dict:
    """Run ``script *args`` in a fresh interpreter, so that its time and peak memory are its own, and return the
    JSON object it printed on its last line. Raises :class:`CaseError` when it fails and lets
    ``subprocess.TimeoutExpired`` through after ``timeout`` seconds (the child is killed)."""
    proc = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=timeout,
                          check=False)
    if proc.returncode != 0:
        raise CaseError(f"{' '.join(args[:2])} failed:\n{proc.stderr[-2000:]}", proc.returncode, proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_case(script: Path, case: str, *args: str, timeout: float | None = None) -> dict:
    """:func:`run_script` with ``--case CASE *args``: how a driver runs each of its cases."""
    return run_script(script, "--case", case, *args, timeout=timeout)


# -- reporting --------------------------------------------------------------------------------------------

def argument_parser(doc: str | None) -> argparse.ArgumentParser:
    """The parser every benchmark starts from: the script's docstring as its help, and ``--out``."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder (inputs cached in its cache/)")
    return parser


def machine() -> dict:
    return {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()}


def write_results(out_dir: Path, name: str, payload: dict) -> Path:
    """``payload`` as ``out_dir/<name>-<timestamp>.json``; returns the path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def print_table(title: str, rows: list[dict], columns: list[str]) -> None:
    """``rows`` as a plain-text table of ``columns`` (missing cells blank) under ``title``."""
    print(f"\n{title}")
    widths = [max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    for r in rows:
        print("  ".join(str(r.get(c, "")).ljust(w) for c, w in zip(columns, widths, strict=True)))
