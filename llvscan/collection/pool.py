"""A process pool that knows which task killed its worker.

``concurrent.futures.ProcessPoolExecutor`` answers a dead worker by breaking the whole pool: every task
in flight fails alike and the culprit is unknown. Here each worker is a fresh interpreter
(``python -m llvscan.collection._worker``, never a fork: libvips and numba run threads) on its own
pipe, so it also runs inside daemonic processes such as Dask's workers. It announces each task as it
starts it, so when a worker dies (a segfault in a C library, the
kernel's OOM killer), runs past ``timeout`` seconds or grows past ``memory_limit`` bytes of resident
memory, exactly that task is reported as a ``Crash`` and the tasks queued behind it go back to the
queue untouched. The dead worker is replaced and the pool goes on.

Small tasks travel in batches (up to ``batch_items`` tasks or ``batch_cost`` units of cost, bytes of
source for a collection run) so the per-task pipe round trip is paid once per batch; the costliest
tasks are handed out first, so the last task to finish is a small one.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from multiprocessing import Pipe
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar

from llvscan._json import JsonResult
from llvscan.errors import LlvscanError

__all__ = ["Crash", "TaskQueue", "WorkerPool", "serve", "take_batch"]

log = logging.getLogger(__name__)

_Task = TypeVar("_Task")


@dataclass(frozen=True)
class Crash(JsonResult, Generic[_Task]):
    """A task whose worker did not come back: it died, ran out of time, or out of memory."""

    task: _Task
    outcome: str  # crashed | timeout | memory
    reason: str
    worker: str
    started_at: float | None = None  # time.time() when the worker began the task
    seconds: float | None = None


_THREAD_VARIABLES = ("VIPS_CONCURRENCY", "NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                     "MKL_NUM_THREADS")


def serve(conn: Connection, work_name: str, quiet: bool) -> None:
    """A worker's loop: receive a batch, announce and run each task, send each result back."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    if quiet:  # what a worker has to say goes into its records, not onto the terminal
        logging.getLogger("llvscan").setLevel(logging.ERROR)
    module, _, name = work_name.partition(":")
    work: Any = importlib.import_module(module)
    for part in name.split("."):
        work = getattr(work, part)
    while True:
        try:
            batch = conn.recv()
        except (EOFError, OSError):
            return
        if batch is None:
            return
        for index, task in enumerate(batch):
            conn.send(("start", index, time.time()))
            conn.send(("done", index, work(task)))


def take_batch(queue: deque[Any], workers: int, items: int, max_cost: int, cost: Callable[[Any], int]) -> list[Any]:
    """Take the next batch from the head of ``queue``: up to ``items`` tasks or ``max_cost`` of cost, and
    never so many that some of ``workers`` would run out of work before the end."""
    limit = max(1, min(items, len(queue) // (2 * workers)))
    batch = [queue.popleft()]
    total = cost(batch[0])
    while queue and len(batch) < limit and total + cost(queue[0]) <= max_cost:
        batch.append(queue.popleft())
        total += cost(batch[-1])
    return batch


class TaskQueue:
    """What every pool shares: a queue of tasks that leave in batches, and ``submit``. A pool adds
    ``results()`` and ``close()``."""

    def __init__(self, *, batch_items: int, batch_cost: int, cost: Callable[[Any], int]):
        self._batch_items, self._batch_cost, self._cost = batch_items, batch_cost, cost
        self._queue: deque[Any] = deque()

    def __enter__(self) -> TaskQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        raise NotImplementedError

    def submit(self, task: Any, *, first: bool = False) -> None:
        """Queue a task; ``first`` puts it at the head (a retry goes before the rest)."""
        if first:
            self._queue.appendleft(task)
        else:
            self._queue.append(task)

    def _next_batch(self, workers: int) -> list[Any]:
        return take_batch(self._queue, workers, self._batch_items, self._batch_cost, self._cost)


@dataclass
class _Worker:
    process: subprocess.Popen
    conn: Connection
    batch: list[Any] = field(default_factory=list)
    done: int = 0
    current: int | None = None
    started: float = 0.0

    @property
    def name(self) -> str:
        return f"{socket.gethostname()}:{self.process.pid}"

    @property
    def busy(self) -> bool:
        return self.done < len(self.batch)


def _rss(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None  # not Linux, or gone


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exited with status {exitcode}"


class WorkerPool(TaskQueue):
    """``workers`` worker processes (fresh interpreters) running ``work`` (a module-level function) on tasks.

    Each worker's libraries (libvips, numba, OpenMP, BLAS) get ``threads`` threads (default: the cores
    shared out between the workers), so the workers do not oversubscribe the machine.

    ``submit`` tasks (also while iterating), then iterate ``results()``: it yields ``work(task)`` for
    each task, in completion order, or a ``Crash``. Use as a context manager; leaving it stops the
    workers (killing them if they do not stop within a few seconds).
    """

    def __init__(self, workers: int, work: Callable[[Any], Any], *, timeout: float | None = None,
                 memory_limit: int | None = None, batch_items: int = 32, batch_cost: int = 8 << 20,
                 cost: Callable[[Any], int] = lambda task: 1, threads: int | None = None, quiet: bool = True):
        if workers < 1:
            raise ValueError("a pool needs at least one worker")
        super().__init__(batch_items=batch_items, batch_cost=batch_cost, cost=cost)
        self._size, self._quiet = workers, quiet
        self._work = f"{work.__module__}:{work.__qualname__}"  # imported by the worker, after its set-up
        self._threads = threads or max(1, (os.cpu_count() or 1) // workers)
        self.timeout, self.memory_limit = timeout, memory_limit
        self._workers: list[_Worker] = []
        self._failed_starts = 0

    # -- lifecycle ----------------------------------------------------------------------------
    def _spawn(self) -> _Worker:
        parent, child = Pipe()
        # the worker's libraries read their thread counts at import: N workers × all-core pools would fight
        env = {**os.environ, **dict.fromkeys(_THREAD_VARIABLES, str(self._threads)),
               "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}  # what this process can import
        command = [sys.executable, "-m", "llvscan.collection._worker", str(child.fileno()), self._work,
                   str(int(self._quiet))]
        process = subprocess.Popen(command, pass_fds=[child.fileno()], env=env, stdin=subprocess.DEVNULL)
        child.close()  # the worker holds the only other end: its death closes the pipe
        worker = _Worker(process, parent)
        self._workers.append(worker)
        return worker

    def close(self) -> None:
        for worker in self._workers:
            with contextlib.suppress(OSError):
                worker.conn.send(None)
        deadline = time.monotonic() + 5
        for worker in self._workers:
            try:
                worker.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()
            worker.conn.close()
        self._workers.clear()

    # -- tasks --------------------------------------------------------------------------------
    def _dispatch(self) -> None:
        for worker in list(self._workers):
            if not self._queue:
                return
            if not worker.busy:
                batch = self._next_batch(self._size)
                worker.batch, worker.done, worker.current = batch, 0, None
                try:
                    worker.conn.send(batch)
                except OSError:  # it died idle: its replacement takes the batch
                    self._queue.extendleft(reversed(batch))
                    worker.batch = []
                    self._replace(worker)
        while self._queue and len(self._workers) < self._size:
            self._spawn()
            self._dispatch()

    def _replace(self, worker: _Worker) -> None:
        self._workers.remove(worker)
        worker.conn.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.process.wait(5)
        self._spawn()

    def _lost(self, worker: _Worker, outcome: str, reason: str) -> Crash | None:
        """The worker is gone: report the task it was on; queue the ones it had not started."""
        crash = None
        if worker.current is not None:
            crash = Crash(worker.batch[worker.current], outcome, reason, worker.name, worker.started,
                          round(time.time() - worker.started, 3))
            rest = worker.batch[worker.current + 1:]
            self._failed_starts = 0
        else:  # it died before starting anything: an environment problem, not a task's fault
            rest = worker.batch[worker.done:]
            self._failed_starts += 1
            if self._failed_starts > 3 * self._size:
                raise LlvscanError(f"worker processes keep dying before they start a task ({reason})")
        self._queue.extendleft(reversed(rest))
        worker.batch = []
        self._replace(worker)
        return crash

    def _drain(self, worker: _Worker) -> Generator[Any, None, bool]:
        """Yield the results the worker has sent; return False when its pipe is closed (it died)."""
        while worker.conn.poll():
            try:
                message = worker.conn.recv()
            except (EOFError, OSError):
                return False
            if message[0] == "start":
                worker.current, worker.started = message[1], message[2]
            else:
                worker.done, worker.current = message[1] + 1, None
                yield message[2]
        return True

    def results(self) -> Iterator[Any]:
        """Yield each task's result or ``Crash`` as it comes; ends when the queue and workers are empty."""
        while True:
            self._dispatch()
            busy = [w for w in self._workers if w.busy]
            if not busy:
                return
            ready = set(wait([w.conn for w in busy], timeout=1.0 if (self.timeout or self.memory_limit) else None))
            now = time.time()
            for worker in busy:
                alive = True
                if worker.conn in ready:
                    alive = yield from self._drain(worker)
                if not alive or worker.process.poll() is not None:
                    if worker.busy:
                        with contextlib.suppress(subprocess.TimeoutExpired):
                            worker.process.wait(5)
                        crash = self._lost(worker, "crashed", f"the worker process {_death(worker.process.returncode)}")
                        if crash:
                            yield crash
                    continue
                if worker.current is None:
                    continue
                if self.timeout and now - worker.started > self.timeout:
                    self._kill(worker)
                    crash = self._lost(worker, "timeout", f"still running after {self.timeout:g} s; the worker "
                                                          "was stopped")
                    if crash:
                        yield crash
                elif self.memory_limit and (_rss(worker.process.pid) or 0) > self.memory_limit:
                    self._kill(worker)
                    crash = self._lost(worker, "memory", f"the worker grew past the memory limit of "
                                                         f"{self.memory_limit / 2**30:.1f} GiB and was stopped")
                    if crash:
                        yield crash

    @staticmethod
    def _kill(worker: _Worker) -> None:
        worker.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.process.wait(5)
