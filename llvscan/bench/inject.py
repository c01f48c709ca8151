"""Known slowdowns, injected on purpose: how to prove that a benchmark gate catches what it should.

A gate that never fires looks the same as a gate that works. ``slowdown(DistanceMeter, "measure", 1.2)``
makes every call of that method cost 1.2 times its own time, as a kernel doing 20 % more work would: the
extra is spent computing, not sleeping, and spread over threads as the call spread its own work (this
thread computes for 20 % of the call's wall time, helper threads for the rest of 20 % of its CPU time), so
its wall *and* its CPU time both grow by the factor. The gate's tests and
``benchmarks/bench_gate.py`` run ``llvscan bench`` under it and count how often the verdict names the
slowed stage.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from llvscan.errors import InvalidParameterError

__all__ = ["slowdown"]


_BLOCK = bytes(1 << 16)  # hashing releases the GIL for buffers this large: threads compute in parallel


def _spin(wall: float, cpu: float) -> None:
    """Compute for ``wall`` seconds in this thread, and on helper threads for the rest of ``cpu`` seconds."""
    start = time.perf_counter()

    def work(seconds: float) -> None:
        while time.perf_counter() - start < seconds:
            hashlib.sha256(_BLOCK).digest()

    extra = max(cpu - wall, 0.0)
    count = min(math.ceil(extra / wall), (os.cpu_count() or 1) - 1) if wall > 0 and extra > 0 else 0
    helpers = [threading.Thread(target=work, args=(extra / count,)) for _ in range(count)]
    for helper in helpers:
        helper.start()
    work(wall)
    for helper in helpers:
        helper.join()


@contextmanager
def slowdown(owner: Any, name: str, factor: float) -> Iterator[None]:
    """Inside the block, ``owner.name`` (a function of a module, or a method of a class) takes ``factor``
    times as long as it does: it runs, then computes for ``(factor − 1)`` times what it took."""
    if not factor >= 1.0:
        raise InvalidParameterError(f"a slowdown factor is at least 1, not {factor!r}")
    original: Callable[..., Any] = getattr(owner, name)

    from llvscan._stages import cpu_seconds

    @functools.wraps(original)
    def slowed(*args: Any, **kwargs: Any) -> Any:
        wall0, cpu0 = time.perf_counter(), cpu_seconds()
        try:
            return original(*args, **kwargs)
        finally:
            wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
            _spin((factor - 1.0) * wall, (factor - 1.0) * cpu)

    setattr(owner, name, slowed)
    try:
        yield
    finally:
        setattr(owner, name, original)
