"""Collection runs on a real Dask cluster: a `dask scheduler` and two `dask worker` processes on
127.0.0.1, started by the tests. Same records and outputs as a local run; a worker killed mid-run
loses and duplicates nothing; an address that does not answer fails within seconds."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import distributed  # the test extra installs it: these tests never skip
import pytest

from llvscan.catalog import Catalog
from llvscan.collection import run_collection
from llvscan.collection.cluster import _see_storage
from llvscan.errors import ClusterError, MissingDependencyError

DASK = str(Path(sys.executable).parent / "dask")
# roles whose files are deterministic (reports carry their own timings, so they differ run to run)
DETERMINISTIC = ("lod", "thumbnail", "iiif3")


class Cluster:
    def __init__(self, folder: Path, workers: int = 2):
        folder.mkdir(parents=True, exist_ok=True)
        scheduler_file = folder / "scheduler.json"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self.scheduler = subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(scheduler_file)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=env)
        deadline = time.monotonic() + 60
        while not scheduler_file.is_file() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.address = json.loads(scheduler_file.read_text())["address"]
        self.workers = [subprocess.Popen(
            [DASK, "worker", self.address, "--nthreads", "1", "--nworkers", "1", "--memory-limit", "4GiB",
             "--no-dashboard", "--name", f"w{i}", "--local-directory", str(folder / f"w{i}"),
             "--death-timeout", "30"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=env)
            for i in range(workers)]
        with distributed.Client(self.address, timeout=30) as client:
            client.wait_for_workers(workers, timeout=60)

    def kill_worker(self, index: int) -> None:
        os.killpg(self.workers[index].pid, signal.SIGKILL)  # the nanny and its worker, for good

    def stop(self) -> None:
        for proc in self.workers:  # workers first, then the scheduler: all at once takes ~10 s
            if proc.poll() is None:
                proc.terminate()
        for proc in [*self.workers, self.scheduler]:
            if proc is self.scheduler and proc.poll() is None:
                proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture
def cluster(tmp_path):
    running = Cluster(tmp_path / "dask")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def small_collection(sample_collection, tmp_path):
    collection = tmp_path / "c"
    for part in ("sculpture", "tools", "ceramics", "photos", "broken"):
        shutil.copytree(sample_collection / part, collection / part)
    return collection


def _catalog(out: Path) -> tuple[dict, dict]:
    with Catalog(out / "catalog.sqlite", readonly=True) as catalog:
        assets = {a.rel_path: (a.status, a.sha256, a.content_sha256, a.is_valid, a.error) for a in catalog.assets()}
        derivatives = {(d.asset_id, d.role, d.level): (d.path, d.sha256 if d.role in DETERMINISTIC else None)
                       for d in catalog.derivatives()}
    return assets, derivatives


def test_a_cluster_run_records_what_a_local_run_does(cluster, small_collection, tmp_path):
    local = run_collection(small_collection, tmp_path / "local", workers=2)
    remote = run_collection(small_collection, tmp_path / "remote", scheduler=cluster.address)
    assert (remote.total, remote.ok, remote.failed) == (local.total, local.ok, local.failed) == (8, 5, 3)
    assert remote.failures == local.failures and remote.invalid_assets == local.invalid_assets
    assert _catalog(tmp_path / "remote") == _catalog(tmp_path / "local")
    with Catalog(tmp_path / "remote" / "catalog.sqlite", readonly=True) as catalog:
        workers = {a.worker.split(":")[0] for a in catalog.attempts()}
        run = catalog.runs()[0]
    assert workers == {socket.gethostname()} and run.options["scheduler"] == cluster.address
    # resume across executors: a local rerun skips what the cluster did, and the other way round
    again = run_collection(small_collection, tmp_path / "remote", workers=1)
    assert (again.ok, again.skipped) == (0, 5)
    touched = small_collection / "photos" / "condition_photo.jpg"
    touched.write_bytes(touched.read_bytes() + b"\0")  # a changed master: redone on the cluster alone
    back = run_collection(small_collection, tmp_path / "remote", scheduler=cluster.address)
    assert (back.ok, back.skipped) == (1, 4)


def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(cluster, small_collection, tmp_path):
    seen: list[str] = []

    def on_record(record) -> None:
        seen.append(record.rel_path)
        if len(seen) == 1:
            cluster.kill_worker(0)  # the other worker takes over whatever it held

    summary = run_collection(small_collection, tmp_path / "out", scheduler=cluster.address, on_record=on_record)
    assert (summary.total, summary.ok, summary.failed, summary.quarantined) == (8, 5, 3, 0)
    assert sorted(seen) == sorted(set(seen)) and len(seen) == 8
    with Catalog(tmp_path / "out" / "catalog.sqlite", readonly=True) as catalog:
        assert len(catalog.assets()) == 8
        assert not [a for a in catalog.attempts() if a.outcome not in ("ok", "failed")]


def test_a_scheduler_that_does_not_answer_fails_within_seconds(small_collection, tmp_path):
    with socket.socket() as sock:  # a port where nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(ClusterError, match=f"no Dask scheduler answers at tcp://127.0.0.1:{port}"):
        run_collection(small_collection, tmp_path / "out", scheduler=f"tcp://127.0.0.1:{port}")
    assert time.monotonic() - started < 20
    with socket.socket() as silent:  # accepts connections and never speaks: a plain Client would hang
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        started = time.monotonic()
        with pytest.raises(ClusterError, match="no Dask scheduler answers"):
            run_collection(small_collection, tmp_path / "out", scheduler=f"tcp://127.0.0.1:{silent.getsockname()[1]}")
        assert time.monotonic() - started < 20
    with pytest.raises(ClusterError, match="is not a Dask scheduler address"):
        run_collection(small_collection, tmp_path / "out", scheduler="ftp://127.0.0.1:1")


def test_the_cli_names_the_unreachable_scheduler(small_collection, tmp_path):
    from click.testing import CliRunner

    from llvscan.cli import cli

    result = CliRunner().invoke(cli, ["run", str(small_collection), "--out", str(tmp_path / "out")],
                                env={"LLVSCAN_SCHEDULER": "tcp://127.0.0.1:1"})
    assert result.exit_code == 1 and "no Dask scheduler answers at tcp://127.0.0.1:1" in result.output
    both = CliRunner().invoke(cli, ["run", str(small_collection), "--out", str(tmp_path / "out"),
                                    "--scheduler", "tcp://127.0.0.1:1", "--cluster", "local"])
    assert both.exit_code == 2


def test_workers_that_cannot_see_the_storage_are_named(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".probe").write_text("token")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "a.obj").write_text("v 0 0 0\n")
    assert _see_storage(str(tmp_path / "c"), str(out), ".probe", "token", "a.obj", 8) is None
    assert "cannot see the collection" in _see_storage(str(tmp_path / "nope"), str(out), ".probe", "token", None, None)
    assert "different collection" in _see_storage(str(tmp_path / "c"), str(out), ".probe", "token", "a.obj", 9)
    assert "different output folder" in _see_storage(str(tmp_path / "c"), str(out), ".probe", "other", None, None)
    assert "cannot see the output folder" in _see_storage(str(tmp_path / "c"), str(tmp_path), ".probe", "token",
                                                          None, None)


def test_without_distributed_the_error_names_the_install_command(small_collection, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'llvscan\[dask\]'"):
        run_collection(small_collection, tmp_path / "out", scheduler="tcp://127.0.0.1:8786")
