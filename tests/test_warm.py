"""Cold start: each kernel compiles once per machine (a lock beside its cache entry), and the warm-up
compiles, on a fresh cache, what a run then needs — checked in fresh interpreters with empty caches."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from llvscan.cli import cli
from llvscan.collection import run_collection
from llvscan.collection.warm import TASKS, cold_parts, kernels_needed, warm_kernels
from llvscan.errors import InvalidParameterError

# counts this interpreter's compilations of llvscan kernels (numba's "numba:compile" events)
_COUNTER = """
from numba.core import event
compiled = []
class _Count(event.Listener):
    def on_start(self, ev):
        f = ev.data["dispatcher"].py_func
        if f.__module__.startswith("llvscan."):
            compiled.append(f.__module__ + "." + f.__name__)
    def on_end(self, ev):
        pass
event.register("numba:compile", _Count())
"""


# both interpreters are ready (numba and the kernel module imported) before either calls the kernel
_TOGETHER = """
import pathlib, sys, time
here = pathlib.Path(sys.argv[1])
(here / sys.argv[2]).touch()
while len(list(here.glob("ready-*"))) < 2:
    time.sleep(0.01)
"""


def _race(code: str, folder: Path) -> list[dict]:
    """Run ``code`` in two fresh interpreters sharing an empty numba cache, released together."""
    folder.mkdir()
    prelude, _, call = textwrap.dedent(code).partition("# --- together\n")
    procs = [subprocess.Popen([sys.executable, "-c", _COUNTER + prelude + _TOGETHER + call, str(folder), f"ready-{i}"],
                              text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env={**os.environ, "NUMBA_CACHE_DIR": str(folder / "cache")}) for i in range(2)]
    return [_finish(p) for p in procs]


def _python(code: str, cache: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", _COUNTER + textwrap.dedent(code)], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "NUMBA_CACHE_DIR": str(cache), **env})


def _finish(proc: subprocess.Popen[str]) -> dict:
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


_WALK = """
import json
import numpy as np
from llvscan.bench import _kernels
# --- together
value = _kernels.reference_walk(np.ones(4096), np.arange(4096, dtype=np.int64), 10)
print(json.dumps({"compiled": compiled, "value": value}))
"""


def test_two_processes_compile_a_kernel_once(tmp_path):
    """Two interpreters call the same uncached kernel at the same moment: one compiles it, the other
    waits and loads it from the cache (without the lock both compile: the control below)."""
    runs = _race(_WALK, tmp_path / "race")
    assert runs[0]["value"] == runs[1]["value"]
    assert sorted(len(r["compiled"]) for r in runs) == [0, 1], runs
    assert any(p.name.endswith(".lock") for p in (tmp_path / "race" / "cache").rglob("*"))


def test_without_the_lock_both_compile(tmp_path):
    """The control: the same race with numba's own compile (the lock bypassed) compiles twice."""
    unlocked = "from numba.core import dispatcher\nfrom llvscan import _numba\n" \
               "dispatcher.Dispatcher.compile = _numba._compile  # numba's own\n"
    runs = _race(unlocked + _WALK, tmp_path / "race")
    assert [len(r["compiled"]) for r in runs] == [1, 1]


def test_after_the_image_warm_up_an_image_asset_compiles_nothing(tmp_path, sample_collection):
    """A fresh cache: the warm-up's image part compiles the image kernels; then processing a real image
    asset (the sample's photo) compiles none."""
    collection = tmp_path / "c"
    (collection / "photos").mkdir(parents=True)
    (collection / "photos" / "p.jpg").write_bytes((sample_collection / "photos" / "condition_photo.jpg").read_bytes())
    code = f"""
        import json
        from llvscan.collection.warm import cold_parts, warm_kernels
        before = cold_parts(["image"])
        result = warm_kernels(["image"])
        warmed = list(compiled)
        after = cold_parts(["image"])
        from llvscan.collection import run_collection
        summary = run_collection({str(collection)!r}, {str(tmp_path / 'out')!r}, workers=0, report=False)
        print(json.dumps({{"before": before, "after": after, "task": result.tasks[0].to_dict(),
                          "ok": summary.ok, "compiled": compiled[len(warmed):]}}))
        """
    run = _finish(_python(code, tmp_path / "cache"))
    assert run["before"] == ["image"] and run["after"] == []
    assert run["task"]["error"] is None and run["task"]["compiled"] > 0  # the pool worker compiled them
    assert run["ok"] == 1
    assert run["compiled"] == []


def test_the_parts_a_run_needs():
    from llvscan._numba import compiled_here
    from llvscan.collection import RunRecipe
    from llvscan.collection.warm import _PROBES

    # each part's probe is a kernel that exists (a renamed kernel would make its part look warm forever)
    assert all(compiled_here(*probe) is not None for probe in _PROBES.values()), _PROBES

    assert kernels_needed(["mesh", "image"]) == ["validate", "decimate", "lods", "image"]
    assert kernels_needed(["image", "target"]) == ["image", "qa"]
    assert kernels_needed(["mesh"], RunRecipe().with_mesh(lods=None)) == ["validate"]
    assert kernels_needed(["image"], RunRecipe().with_image(inspect=False)) == []
    assert set(TASKS) == {"validate", "decimate", "lods", "image", "qa"}
    from llvscan.cli.warm import warm as warm_command

    part_option = next(p for p in warm_command.params if p.name == "parts")
    assert set(part_option.type.choices) == set(TASKS)
    with pytest.raises(InvalidParameterError, match="unknown warm-up parts"):
        warm_kernels(["everything"])


def test_a_first_run_compiles_first_and_says_so(sample_collection, tmp_path, monkeypatch):
    """Where the kernels are cached nothing is said or done; on a fresh machine (the cache's answer
    replaced) the run first warms the parts its assets need, saying so before and after."""
    import llvscan._numba
    from llvscan.collection import warm

    collection = tmp_path / "c"
    (collection / "tools").mkdir(parents=True)
    (collection / "tools" / "bracket.stl").write_bytes((sample_collection / "tools" / "bracket.stl").read_bytes())
    heard: list[str] = []
    run_collection(collection, tmp_path / "warm", workers=0, on_notice=heard.append)
    assert cold_parts(["validate", "lods", "decimate"]) == []  # that run compiled them (or found them)
    assert heard == []
    parts: list[list[str]] = []
    real = warm.warm_kernels
    monkeypatch.setattr(llvscan._numba, "compiled_here", lambda module, name: False)  # a fresh machine
    monkeypatch.setattr(warm, "warm_kernels", lambda names, **kw: parts.append(list(names)) or real(["image"], **kw))
    summary = run_collection(collection, tmp_path / "cold", workers=1, on_notice=heard.append)
    assert parts == [["validate", "decimate", "lods"]]
    assert heard[0] == ("the first run on this machine: llvscan's kernels (validate, decimate, lods) compile once, "
                        "on 1 process, before the assets run (about a minute on two cores; later runs load them "
                        "from numba's cache)")
    assert heard[1].startswith("kernels compiled in ") and "not all" not in heard[1]
    assert summary.ok == 1 and summary.notes == []
    heard.clear()
    run_collection(collection, tmp_path / "cold2", workers=1, on_notice=heard.append, warm_up=False)
    assert heard == []


def test_warm_command(tmp_path):
    result = CliRunner().invoke(cli, ["warm", "--part", "image", "--part", "qa", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [t["name"] for t in data["tasks"]] == ["image", "qa"]
    assert [t["error"] for t in data["tasks"]] == [None, None]
    assert CliRunner().invoke(cli, ["warm", "--part", "nothing"]).exit_code == 2
