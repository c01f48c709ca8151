"""The peak memory of a block of work in this process: what ``llvscan bench`` reports per asset and the
benchmarks per case.

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

import resource
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from llvscan._json import JsonResult

__all__ = ["PeakRSS", "current_rss_mib", "peak_rss"]


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
class PeakRSS(JsonResult):
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
