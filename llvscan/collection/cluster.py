"""Collection runs on a Dask cluster: the same per-asset work, the same records, sent to Dask workers.

The driver stays the catalog's one writer. Each Dask task carries a batch of assets (small ones
together: a Dask task costs ~1.7 ms, a local one ~0.1 ms). Inside the Dask worker the batch runs in
a one-process ``WorkerPool`` that lives as long as the Dask worker, so a segfault, a timeout or a
memory overrun costs exactly one attempt of exactly one asset, as it does locally, and the Dask worker
itself survives. A Dask worker that dies (a node lost, a worker killed) is Dask's to handle: it
reschedules the worker's tasks on the others, and the driver stores each asset's record once, from
the run of the task that finished. A task that keeps killing whole Dask workers (``KilledWorker``)
is split into single assets; a single asset that does is quarantined.

Shared storage: every worker must see the collection and the output folder at the same paths (an
NFS, SMB, Lustre or similar mount). ``check_storage`` proves it at the start of a run: the driver
writes a probe file with a random token into the output folder, and each worker must read the token
back, find the collection's first asset with its size, write into the output folder and run the same
llvscan version. A worker that cannot is named at once, not after hours.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from llvscan import __version__
from llvscan.collection.pool import Crash, TaskQueue, WorkerPool
from llvscan.errors import ClusterError, MissingDependencyError

__all__ = ["DaskPool", "check_storage", "connect", "run_batch"]

log = logging.getLogger(__name__)

_INSTALL = "pip install 'llvscan[dask]'"


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise MissingDependencyError(f"running on a Dask cluster needs Dask distributed: {_INSTALL}",
                                     detail=str(exc)) from exc
    return distributed


def _probe(address: str, timeout: float) -> None:
    """Fail within ``timeout`` seconds when nothing that speaks Dask answers at ``address`` (a plain
    ``Client`` waits forever on a socket that accepts and stays silent)."""
    distributed = _distributed()
    try:
        scheme, location = distributed.comm.parse_address(address)
        if scheme == "tcp":  # a refused port fails now, not after the handshake's timeout
            host, port = distributed.comm.parse_host_port(location)
            socket.create_connection((host, port), timeout=timeout).close()
    except ValueError as exc:
        raise ClusterError(f"{address!r} is not a Dask scheduler address (tcp://HOST:8786)", detail=str(exc)) from exc
    except OSError as exc:
        raise ClusterError(f"no Dask scheduler answers at {address}: {exc.strerror or exc}; is `dask scheduler` "
                           "running there, and is the port open?") from exc

    async def handshake() -> None:
        comm = await distributed.comm.connect(address, timeout=timeout)
        await comm.close()

    try:
        asyncio.run(asyncio.wait_for(handshake(), timeout + 1))
    except ValueError as exc:  # unknown scheme, malformed address
        raise ClusterError(f"{address!r} is not a Dask scheduler address (tcp://HOST:8786)", detail=str(exc)) from exc
    except (OSError, TimeoutError, MemoryError) as exc:
        raise ClusterError(f"no Dask scheduler answers at {address} within {timeout:g} s; is `dask scheduler` "
                           "running there, and is the port open?", detail=str(exc) or type(exc).__name__) from exc


@contextlib.contextmanager
def connect(scheduler: str, *, workers: int | None = None, timeout: float = 10.0) -> Iterator[Any]:
    """A ``distributed.Client`` (closed on exit): to the scheduler at ``scheduler`` (tcp://HOST:PORT), or,
    for ``"local"``, to a new ``LocalCluster`` of ``workers`` single-threaded worker processes (with
    Dask's dashboard when bokeh is installed), shut down on exit. Raises ``ClusterError`` when the
    scheduler does not answer or has no workers."""
    distributed = _distributed()
    if scheduler == "local":
        try:
            import bokeh  # noqa: F401

            dashboard: str | None = ":8787"
        except ImportError:
            dashboard = None
        with (distributed.LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                                       processes=True, dashboard_address=dashboard) as cluster,
              distributed.Client(cluster) as client):
            if dashboard:
                log.warning("Dask dashboard: %s", client.dashboard_link)
            yield client
        return
    _probe(scheduler, timeout)
    with distributed.Client(scheduler, timeout=timeout) as client:
        try:
            client.wait_for_workers(1, timeout=max(timeout, 30))
        except TimeoutError as exc:
            raise ClusterError(f"the Dask scheduler at {scheduler} has no workers; start some with "
                               f"`dask worker {scheduler}`") from exc
        yield client


def _see_storage(root: str, out: str, probe: str, token: str, sample: str | None, size: int | None) -> str | None:
    """Run on each worker: None when it sees the same collection and output folder, else the reason."""
    import llvscan

    if llvscan.__version__ != __version__:
        return f"runs llvscan {llvscan.__version__}, the driver {__version__}"
    if not os.path.isdir(root):
        return f"cannot see the collection at {root}"
    if sample is not None:
        path = os.path.join(root, sample)
        if not os.path.isfile(path) or os.path.getsize(path) != size:
            return f"sees a different collection at {root} ({sample} missing or of another size)"
    try:
        with open(os.path.join(out, probe), encoding="utf-8") as fh:
            if fh.read() != token:
                return f"sees a different output folder at {out}"
    except OSError:
        return f"cannot see the output folder at {out} (the driver's probe file is not there)"
    check = os.path.join(out, f".{probe}-{os.getpid()}")
    try:
        with open(check, "w", encoding="utf-8") as fh:
            fh.write(token)
        os.unlink(check)
    except OSError as exc:
        return f"cannot write into the output folder at {out}: {exc}"
    return None


def check_storage(client: Any, root: Path, out: Path, sample: tuple[str, int] | None) -> int:
    """Check that every worker sees ``root`` and ``out`` as the driver does; return the number of
    worker threads. ``sample``: one asset's (relative path, size) to look for."""
    token = uuid.uuid4().hex
    probe = f".llvscan-probe-{token[:12]}"
    (out / probe).write_text(token, encoding="utf-8")
    try:
        answers = client.run(_see_storage, str(root), str(out), probe, token, *(sample or (None, None)),
                             on_error="return")
    finally:
        (out / probe).unlink(missing_ok=True)
    if not answers:
        raise ClusterError("the Dask cluster has no workers")
    problems = {worker: answer for worker, answer in answers.items() if answer is not None}
    if problems:
        lines = "; ".join(f"{worker}: {problem}" for worker, problem in sorted(problems.items(), key=str))
        raise ClusterError(f"{len(problems)} of {len(answers)} Dask workers cannot work on this run ({lines}); "
                           "every worker must see the collection and the output folder at the same paths")
    return sum(client.nthreads().values())


# -- on the Dask worker ---------------------------------------------------------------------------
_LOCAL = threading.local()


def run_batch(batch: list[Any], work: Callable[[Any], Any], timeout: float | None, memory_limit: int | None,
              threads: int | None) -> list[Any]:
    """Run a batch on this Dask worker, each task in the worker's own one-process ``WorkerPool``
    (started on first use, kept for the worker's lifetime): results and ``Crash``es, as locally."""
    settings = (work, timeout, memory_limit, threads)
    pool = getattr(_LOCAL, "pool", None)
    if pool is None or _LOCAL.settings != settings:
        if pool is not None:
            pool.close()
        pool = WorkerPool(1, work, timeout=timeout, memory_limit=memory_limit, threads=threads or 1)
        _LOCAL.pool, _LOCAL.settings = pool, settings
    for task in batch:
        pool.submit(task)
    return list(pool.results())


# -- on the driver ----------------------------------------------------------------------------------
class DaskPool(TaskQueue):
    """``WorkerPool``'s interface (``submit``, ``results``, ``close``) over a Dask client."""

    def __init__(self, client: Any, work: Callable[[Any], Any], *, workers: int, timeout: float | None = None,
                 memory_limit: int | None = None, threads: int | None = None, batch_items: int = 64,
                 batch_cost: int = 32 << 20, cost: Callable[[Any], int] = lambda task: 1):
        super().__init__(batch_items=batch_items, batch_cost=batch_cost, cost=cost)
        self._client, self._work, self._workers = client, work, max(1, workers)
        self._options = (timeout, memory_limit, threads)
        self._futures: dict[Any, list[Any]] = {}
        self._completed = _distributed().as_completed()

    def close(self) -> None:
        if self._futures:
            self._client.cancel(list(self._futures))
            self._futures.clear()

    def _send(self, batch: list[Any]) -> None:
        future = self._client.submit(run_batch, batch, self._work, *self._options, pure=False)
        self._futures[future] = batch
        self._completed.add(future)

    def _flush(self) -> None:
        while self._queue:
            self._send(self._next_batch(self._workers))

    def results(self) -> Iterator[Any]:
        distributed = _distributed()
        self._flush()
        while self._futures:
            future = next(self._completed)
            batch = self._futures.pop(future)
            try:
                outcomes = future.result()
            except distributed.KilledWorker as exc:
                if len(batch) > 1:  # find which asset it is: each on its own
                    for task in batch:
                        self._send([task])
                else:
                    yield Crash(batch[0], "crashed", f"every Dask worker that ran it died "
                                                     f"({exc.allowed_failures + 1} of them)", str(exc.last_worker))
            except distributed.client.FutureCancelledError as exc:
                raise ClusterError("the Dask scheduler cancelled the run's tasks (was it restarted?)",
                                   detail=str(exc)) from exc
            except Exception as exc:  # the task could not run at all: an environment problem, not an asset's
                raise ClusterError(f"a Dask task failed outside llvscan ({type(exc).__name__}); do the scheduler "
                                   "and the workers run the same environment as the driver?", detail=str(exc)) from exc
            else:
                yield from outcomes
            self._flush()
