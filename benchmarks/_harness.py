"""Shared harness for llvscan benchmarks: the one way to load inputs, run a case, time it, measure its memory,
and report.

How a benchmark is laid out: the script's ``main()`` (the *driver*) prepares cached inputs, then runs each case
in a fresh interpreter with :func:`run_case` (the script re-invoked with ``--case NAME``), which prints one JSON
line; the driver collects those, prints a table with :func:`print_table` and saves JSON with
:func:`write_results`. Inside a case, :func:`measure` (warm-up, then a median of timed calls) or
:func:`peak_rss` (a block) report the peak resident set size.

Peak RSS, and why it is measured this way
-----------------------------------------
The figure wanted is the most memory the measured work held at once, in one process. Linux keeps a
high-water mark for each process image (``VmHWM`` in ``/proc/self/status``) and lets the process reset it
to the current RSS by writing ``5`` to ``/proc/self/clear_refs`` (Linux ≥ 4.0). :func:`peak_rss` does that
reset when its block starts and reads ``VmHWM`` when it ends, so the peak is that block's alone: not the
imports before it, not an earlier case's transient, not the input generation. It is still an *absolute*
RSS (what was resident at the start counts), hence ``baseline_mib`` beside it.

Not used, on purpose:

* ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` is a high-water mark for the whole life of the process
  that never resets, and on Linux it starts at the *parent's* peak (fork + exec carries the parent's
  mark over), so a driver that once generated a large input inflates every case it starts after. Several
  peers measured one after another in one process would all report the largest so far. It is only the
  fallback where ``/proc`` is absent (macOS: there in bytes, here converted).
* ``RUSAGE_CHILDREN`` is the largest ``ru_maxrss`` among *all* children ever waited for, with the same
  carry-over: it cannot tell one child from the next. Each case therefore measures itself inside its
  own fresh interpreter and reports the figure in its JSON line.
* tracemalloc / psutil: tracemalloc sees only Python's allocator (not numpy's, numba's, libvips' or
  open3d's C allocations); psutil is an extra dependency for the same numbers ``/proc`` gives.

RSS counts every thread of this process (numba, libvips and open3d threads included) but no child process:
a worker pool's memory is not in a driver's figure. ``peak_rss`` blocks must not nest (the inner reset
clears the outer block's peak).
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SAMPLE_GENERATOR = ROOT / "sample_data" / "make_sample_data.py"


# -- inputs -----------------------------------------------------------------------------------------------

@functools.cache
def load_sample_generator() -> ModuleType:
    """The sample-data generator ``sample_data/make_sample_data.py`` as a module (loaded once per process).

    ``sample_data`` is not a package, so it is loaded from its path; its builders (``cube_sphere``,
    ``bust_positions``, ``paint_atlas``, ``landscape_image``…) make every benchmark input, with fixed seeds.
    """
    spec = importlib.util.spec_from_file_location("make_sample_data", SAMPLE_GENERATOR)
    if spec is None or spec.loader is None:
        raise ImportError(f"{SAMPLE_GENERATOR}: cannot load the sample generator")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


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


# -- memory -----------------------------------------------------------------------------------------------

def _status_mib(field: str) -> float | None:
    """A ``/proc/self/status`` size field (``VmRSS``, ``VmHWM``) in MiB; None where there is no /proc."""
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return None


def _ru_maxrss_mib() -> float:
    """``ru_maxrss`` of this process in MiB (KiB on Linux, bytes on macOS): the fallback, see the module doc."""
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss / 2**20 if sys.platform == "darwin" else maxrss / 1024


def current_rss_mib() -> float:
    """This process's resident set size now, MiB (``VmRSS``; without /proc, the high-water mark so far)."""
    rss = _status_mib("VmRSS")
    return rss if rss is not None else _ru_maxrss_mib()


def _high_water_mib() -> float:
    """The process's peak RSS since it started or since the last reset (``VmHWM``; without /proc, ``ru_maxrss``)."""
    hwm = _status_mib("VmHWM")
    return hwm if hwm is not None else _ru_maxrss_mib()


@dataclass
class PeakRSS:
    """What a :func:`peak_rss` block held.

    ``baseline_mib``: RSS when the block began. ``peak_mib``: the highest RSS during the block (set when it
    ends). ``reset``: whether the peak is the block's own; when False (no writable ``/proc/self/clear_refs``)
    ``peak_mib`` is the process's high-water mark since it started, which may predate the block, and
    ``baseline_mib`` the mark when the block began: ``above_baseline_mib`` then says how far the block raised
    the mark, a lower bound for its own growth.
    """

    baseline_mib: float
    reset: bool
    peak_mib: float = float("nan")

    @property
    def above_baseline_mib(self) -> float:
        return self.peak_mib - self.baseline_mib


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS (Linux ≥ 4.0)
    except OSError:
        return False
    return True


@contextmanager
def peak_rss() -> Iterator[PeakRSS]:
    """Measure the peak RSS of this process while the ``with`` block runs.

        with peak_rss() as memory:
            work()
        memory.peak_mib, memory.baseline_mib, memory.above_baseline_mib

    Run the block in a fresh process per case (:func:`run_case`) so that one case's allocator state does not
    become the next one's baseline. Blocks do not nest. See the module docstring for why this and not
    ``ru_maxrss``.
    """
    reset = _reset_peak()
    usage = PeakRSS(baseline_mib=current_rss_mib() if reset else _high_water_mib(), reset=reset)
    try:
        yield usage
    finally:
        usage.peak_mib = _high_water_mib()


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
