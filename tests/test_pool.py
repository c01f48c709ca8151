"""The worker pool: each task's result exactly once; the task that kills, hangs or bloats its worker
is named; the rest go on."""

from __future__ import annotations

import os
import time

import pytest

from llvscan.collection.pool import Crash, WorkerPool


def square(n: int) -> tuple[int, int]:
    return n, n * n


def dies_on_13(n: int) -> tuple[int, int]:
    if n == 13:
        os._exit(3)
    return square(n)


def hangs_on_2(n: int) -> tuple[int, int]:
    if n == 2:
        time.sleep(60)
    return square(n)


def bloats_on_1(n: int) -> tuple[int, int]:
    if n == 1:
        block = bytearray(400 << 20)  # 400 MiB, touched
        block[::4096] = b"x" * len(block[::4096])
        time.sleep(30)
    return square(n)


def collect(pool: WorkerPool, tasks: list[int]) -> tuple[list, list[Crash]]:
    for task in tasks:
        pool.submit(task)
    results, crashes = [], []
    for item in pool.results():
        (crashes if isinstance(item, Crash) else results).append(item)
    return results, crashes


def test_every_task_once_in_batches():
    with WorkerPool(2, square, batch_items=16) as pool:
        results, crashes = collect(pool, list(range(500)))
    assert sorted(results) == [(n, n * n) for n in range(500)] and crashes == []


def test_a_death_mid_batch_names_that_task_and_requeues_the_rest():
    with WorkerPool(2, dies_on_13, batch_items=16) as pool:
        results, crashes = collect(pool, list(range(200)))
    assert sorted(r[0] for r in results) == [n for n in range(200) if n != 13]  # none lost, none twice
    assert [(c.task, c.outcome, c.reason) for c in crashes] == [(13, "crashed",
                                                                 "the worker process exited with status 3")]


def test_a_retry_goes_first_and_a_fresh_worker_takes_it():
    with WorkerPool(1, dies_on_13) as pool:
        pool.submit(13)
        pool.submit(1)
        seen = []
        for item in pool.results():
            seen.append(item)
            if isinstance(item, Crash) and len([s for s in seen if isinstance(s, Crash)]) < 2:
                pool.submit(item.task, first=True)
    assert [s.task if isinstance(s, Crash) else s for s in seen] == [13, 13, (1, 1)]


def test_a_task_past_the_timeout_is_stopped():
    started = time.monotonic()
    with WorkerPool(2, hangs_on_2, timeout=1.5) as pool:
        results, crashes = collect(pool, [1, 2, 3])
    assert sorted(results) == [(1, 1), (3, 9)]
    assert [(c.task, c.outcome) for c in crashes] == [(2, "timeout")] and "after 1.5 s" in crashes[0].reason
    assert crashes[0].seconds >= 1.5 and time.monotonic() - started < 30


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="the memory watch reads /proc (Linux)")
def test_a_worker_past_the_memory_limit_is_stopped():
    with WorkerPool(1, bloats_on_1, memory_limit=300 << 20) as pool:
        results, crashes = collect(pool, [1, 2])
    assert results == [(2, 4)]
    assert [(c.task, c.outcome) for c in crashes] == [(1, "memory")] and "0.3 GiB" in crashes[0].reason


def test_a_pool_needs_a_worker():
    with pytest.raises(ValueError):
        WorkerPool(0, square)
