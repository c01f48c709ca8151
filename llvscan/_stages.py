"""Where the time of an asset goes: named stages that cost nothing unless someone is listening.

The pipeline marks its stages with ``with stage("decimate:Low"):``. Outside ``llvscan bench`` no log is
active and ``stage`` does nothing but a context-variable lookup. Under :func:`recording`, each stage's wall
and CPU time is added to the log under its name, *exclusive* of the stages nested in it: "write" does not
count the "compress" inside it, and the stages of an asset add up to its total, less what no stage covers.
CPU time (:func:`cpu_seconds`) is the work done: every thread of this process (libvips' and numba's
threads count) and every child process it waited for (xatlas runs in one).
"""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

__all__ = ["StageLog", "cpu_seconds", "recording", "stage"]


def cpu_seconds() -> float:
    """CPU seconds used so far by this process (all threads) and by the children it has waited for."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


@dataclass
class StageLog:
    """Seconds per stage name, exclusive of nested stages; names keep the order they first ran in."""

    wall: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    _stack: list[list[float]] = field(default_factory=list)  # per open stage: [child wall, child cpu]

    def add(self, name: str, wall: float, cpu: float) -> None:
        self.wall[name] = self.wall.get(name, 0.0) + wall
        self.cpu[name] = self.cpu.get(name, 0.0) + cpu


_ACTIVE: ContextVar[StageLog | None] = ContextVar("llvscan_stage_log", default=None)


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Time the block as stage ``name`` when a :func:`recording` is active; otherwise do nothing."""
    log = _ACTIVE.get()
    if log is None:
        yield
        return
    children = [0.0, 0.0]
    log._stack.append(children)
    wall0, cpu0 = time.perf_counter(), cpu_seconds()
    try:
        yield
    finally:
        wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
        log._stack.pop()
        log.add(name, max(wall - children[0], 0.0), max(cpu - children[1], 0.0))
        if log._stack:  # the parent's exclusive time leaves this block out
            log._stack[-1][0] += wall
            log._stack[-1][1] += cpu


@contextmanager
def recording() -> Iterator[StageLog]:
    """Collect the stages run inside the block (this thread and context only) into a fresh :class:`StageLog`."""
    log = StageLog()
    token = _ACTIVE.set(log)
    try:
        yield log
    finally:
        _ACTIVE.reset(token)
