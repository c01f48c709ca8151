"""``llvscan bench history``: the step finder, the series, the plots and the Markdown.

The results files are built here as plain dicts and written with ``json.dump``, not with
``BenchResult.save``: the history must read what the format says, not what the writer happens to write.
The timings carry a known step (decimate ×2 from run 6 of 12) under ±3 % noise; everything else is flat.
"""

from __future__ import annotations

import json
import math
import random
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

from llvscan.bench.history import (
    HistoryResult,
    Step,
    bench_history,
    detect_steps,
    history_markdown,
    load_history,
    stage_series,
)
from llvscan.errors import InvalidParameterError, MissingDependencyError

COLLECTION_SHA = "c" * 64
RECIPE_SHA = "r" * 64
UNIT = 2.0  # calibration unit (seconds): wall = ratio × UNIT, exact in binary
REPEAT = 3
# per asset: the stages' calibrated ratios before the step; total = stages + OVERHEAD
STAGES = {"load": 1.0, "decimate:Low": 0.04, "decimate:Medium": 0.04, "write:thumb": 0.5}
OVERHEAD = 1.0


def _samples(level: float, rng: random.Random) -> dict:
    ratio = [level * (1 + rng.uniform(-0.005, 0.005)) for _ in range(REPEAT)]
    return {"wall": [r * UNIT for r in ratio], "cpu": [r * UNIT * 0.9 for r in ratio], "ratio": ratio}


def _result(run: int, *, rng: random.Random, decimate: float = 1.0, collection_sha: str = COLLECTION_SHA,
            recipe_sha: str = RECIPE_SHA, collection: str = "/data/collection", version: str = "1.4.0",
            created: str | None = None) -> dict:
    """A results file as the schema describes it: two assets, each stage's level with ±3 % run noise."""
    assets = []
    for name in ("a.obj", "b.ply"):
        stages, total = {}, OVERHEAD
        for stage, level in STAGES.items():
            value = level * (decimate if stage.startswith("decimate") else 1.0) * (1 + rng.uniform(-0.03, 0.03))
            stages[stage] = _samples(value, rng)
            total += value
        assets.append({"path": name, "kind": "mesh", "status": "ok", "stages": stages,
                       "total": _samples(total, rng), "peak_rss_mib": [100.0] * REPEAT, "output_bytes": 1234,
                       "quality": {"validation.valid": True}, "cold_seconds": 1.5, "error": None})
    return {
        "schema": "llvscan-bench/1",
        "created": created or f"2026-03-{run + 1:02d}T04:00:00+00:00",
        "machine": {"hostname": "ci-runner", "cpu": "Test CPU", "cores": 4},
        "versions": {"llvscan": version, "python": "3.11.9"},
        "recipe": {"lods": ["Low", "Medium"]},
        "recipe_sha256": recipe_sha,
        "collection": collection,
        "collection_sha256": collection_sha,
        "repeat": REPEAT,
        "calibration": {"workloads": {"hash": [UNIT] * REPEAT}, "unit": [UNIT] * REPEAT},
        "cold_seconds": 3.0,
        "compile_seconds": 1.0,
        "assets": assets,
        "seconds": 60.0,
        "notes": [],
    }


def _write(folder: Path, name: str, data: object) -> None:
    with (folder / name).open("w", encoding="utf-8") as fh:
        json.dump(data, fh)


def _history(folder: Path, runs: int = 12, step_at: int | None = 6, seed: int = 1, **kwargs) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    for run in range(runs):
        decimate = 2.0 if step_at is not None and run >= step_at else 1.0
        # file names not in time order: the history sorts by `created`
        _write(folder, f"run-{(run * 7) % runs:02d}-{run:02d}.json", _result(run, rng=rng, decimate=decimate, **kwargs))
    return folder


@pytest.fixture(scope="module")
def stepped(tmp_path_factory) -> tuple[Path, HistoryResult]:
    folder = _history(tmp_path_factory.mktemp("bench") / "results")
    return folder, bench_history(folder, formats=("png", "svg"))


# ------------------------------------------------------------------------------------------ the step finder


def _noisy(levels: list[float], rng: random.Random) -> list[float]:
    return [level * (1 + rng.uniform(-0.03, 0.03)) for level in levels]


@pytest.mark.parametrize("seed", range(20))
def test_a_clean_doubling_is_found_exactly_where_it_starts(seed):
    rng = random.Random(seed)
    n = rng.randint(8, 80)
    at = rng.randint(1, n - 1)
    assert detect_steps(_noisy([1.0] * at + [2.0] * (n - at), rng)) == [at]
    assert detect_steps(_noisy([2.0] * at + [1.0] * (n - at), rng)) == [at]  # an improvement is a step too


@pytest.mark.parametrize("seed", range(20))
def test_pure_noise_has_no_step(seed):
    rng = random.Random(100 + seed)
    assert detect_steps(_noisy([3.7] * rng.randint(2, 120), rng)) == []


def test_small_changes_and_gaps():
    rng = random.Random(7)
    five_percent = [1.0] * 20 + [1.05] * 20
    assert detect_steps(five_percent) == []  # below the default 10 %
    assert detect_steps(five_percent, min_change=0.02) == [20]
    gapped = _noisy([1.0] * 5 + [2.0] * 5, rng)
    gapped[5] = gapped[2] = math.nan  # runs without the stage: indices stay those of the input
    assert detect_steps(gapped) == [6]
    assert detect_steps([]) == [] and detect_steps([1.0]) == [] and detect_steps([math.nan] * 4) == []
    with pytest.raises(InvalidParameterError):
        detect_steps([1.0, 2.0], min_change=-1)


# ------------------------------------------------------------------------------------------ the whole history


def test_the_injected_step_is_found_in_decimate_only(stepped):
    folder, result = stepped
    assert result.runs == 12 and result.folder == str(folder) and result.basis == "ratio"
    assert [(s.stage, s.run) for s in result.steps] == [("decimate", 6)]
    step = result.steps[0]
    assert step.created.startswith("2026-03-07")
    assert step.before == pytest.approx(4 * 0.04, rel=0.05) and step.after == pytest.approx(8 * 0.04, rel=0.05)
    assert step.change == pytest.approx(1.0, abs=0.1)
    assert json.loads(json.dumps(result.to_dict()))["steps"][0]["run"] == 6


def test_series_sum_the_family_over_stages_and_assets(stepped):
    folder, _ = stepped
    results, skipped = load_history(folder)
    assert skipped == []
    assert [r.created for r in results] == sorted(r.created for r in results)  # time order, not file order
    series = stage_series(results)
    assert list(series) == ["total", "load", "decimate", "write"]
    assert all(len(values) == 12 for values in series.values())
    # two assets × (Low + Medium), each 0.04 before the step
    assert series["decimate"][0] == pytest.approx(0.16, rel=0.05)
    assert series["decimate"][-1] == pytest.approx(0.32, rel=0.05)
    assert series["total"][0] == pytest.approx(2 * (OVERHEAD + sum(STAGES.values())), rel=0.05)
    by_hand = sum(sorted(a.stages[s].ratio)[1] for a in results[3].assets for s in ("decimate:Low", "decimate:Medium"))
    assert series["decimate"][3] == pytest.approx(by_hand)


def test_basis_seconds_uses_the_wall_times(stepped):
    folder, _ = stepped
    results, _ = load_history(folder)
    ratio, seconds = stage_series(results), stage_series(results, basis="seconds")
    for family in ratio:
        assert seconds[family] == pytest.approx([UNIT * v for v in ratio[family]])
    result = bench_history(folder, folder / "seconds", formats=(), basis="seconds")
    assert result.basis == "seconds" and result.plots == []
    assert [(s.stage, s.run) for s in result.steps] == [("decimate", 6)]
    assert result.steps[0].before == pytest.approx(UNIT * 0.16, rel=0.05)
    assert "seconds" in Path(result.markdown).read_text(encoding="utf-8")
    with pytest.raises(InvalidParameterError):
        stage_series(results, basis="minutes")


def test_a_family_missing_from_a_run_is_a_gap(tmp_path):
    rng = random.Random(3)
    for run in range(4):
        data = _result(run, rng=rng)
        if run == 2:
            for asset in data["assets"]:
                del asset["stages"]["write:thumb"]
        _write(tmp_path, f"{run}.json", data)
    series = stage_series(load_history(tmp_path)[0])
    assert math.isnan(series["write"][2]) and all(math.isfinite(series["write"][i]) for i in (0, 1, 3))


def test_plots_are_real_images(stepped):
    folder, result = stepped
    out = folder / "history"
    assert sorted(Path(p).name for p in result.plots) == sorted(
        f"{family}.{fmt}" for family in ("total", "load", "decimate", "write") for fmt in ("png", "svg"))
    for path in result.plots:
        assert Path(path).parent == out
        if path.endswith(".png"):
            with Image.open(path) as image:
                image.verify()
                assert image.format == "PNG" and image.size[0] > 300
        else:
            assert ET.parse(path).getroot().tag.endswith("svg")
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no temporaries left


def test_a_rerun_writes_identical_svg(stepped, tmp_path):
    folder, result = stepped
    again = bench_history(folder, tmp_path / "again", formats=("svg",))
    first = {Path(p).name: Path(p).read_bytes() for p in result.plots if p.endswith(".svg")}
    second = {Path(p).name: Path(p).read_bytes() for p in again.plots}
    assert first == second
    assert Path(again.markdown).read_bytes() == Path(result.markdown).read_bytes()


def test_markdown_table(stepped):
    _, result = stepped
    assert result.markdown.endswith("history.md")
    text = Path(result.markdown).read_text(encoding="utf-8")
    assert text.startswith("# llvscan bench history\n")
    rows = {line.split(" | ")[0].strip("| "): line for line in text.splitlines() if line.startswith("| ")}
    assert {"stage", "total", "load", "decimate", "write"} <= set(rows)
    # stage | first run | the last five runs | change
    assert rows["stage"].count(" | ") == 7 and "first run (2026-03-01)" in rows["stage"]
    assert "2026-03-12" in rows["stage"] and "2026-03-07" not in rows["stage"]
    cells = rows["decimate"].strip("| ").split(" | ")
    assert len(cells) == 8 and cells[-1].endswith(" %")
    assert all(len(c.replace(".", "").lstrip("0")) == 3 for c in cells[1:-1])  # 3 significant digits
    assert "decimate" in text.split("## Steps", 1)[1] and "from run 6" in text
    assert "Test CPU" in text and "llvscan 1.4.0" in text


def test_markdown_escapes_what_the_results_files_say(tmp_path):
    hostile = "/data/evil|path\n| injected | row |"
    folder = _history(tmp_path / "results", runs=3, step_at=None, collection=hostile, version="9.9|x\ny")
    result = bench_history(folder, formats=())
    text = Path(result.markdown).read_text(encoding="utf-8")
    assert "evil|path" not in text and "\n| injected" not in text and "9.9|x" not in text
    assert r"evil\|path \| injected \| row \|" in text and r"9.9\|x y" in text
    table = [line for line in text.splitlines() if line.startswith("|")]
    assert {line.count(" | ") - line.count(r"\| ") for line in table} == {table[0].count(" | ")}
    assert history_markdown([], {}, [], basis="ratio").startswith("# llvscan bench history")


def test_a_hostile_stage_name_is_escaped_and_gets_a_safe_file_name(tmp_path):
    rng = random.Random(5)
    for run in range(3):
        data = _result(run, rng=rng)
        data["assets"][0]["stages"]["../../x|y\n$\\alpha$:1"] = data["assets"][0]["stages"]["load"]
        _write(tmp_path, f"{run}.json", data)
    result = bench_history(tmp_path, tmp_path / "out", formats=("svg",))
    assert all(Path(p).parent == tmp_path / "out" for p in result.plots) and len(result.plots) == 5
    assert r"x\|y" in Path(result.markdown).read_text(encoding="utf-8")


def test_stray_files_and_other_runs_are_skipped_with_reasons(tmp_path):
    folder = _history(tmp_path / "results", runs=4, step_at=None)
    _write(folder, "notes.json", {"hello": "world"})
    (folder / "garbage.json").write_bytes(b"\x00\xff{ not json")
    (folder / "readme.txt").write_text("not even looked at")
    damaged = _result(0, rng=random.Random(0))
    damaged["created"] = 12
    _write(folder, "damaged.json", damaged)
    rng = random.Random(9)
    older = "2026-02-27T23:00:00Z"
    _write(folder, "older-collection.json", _result(0, rng=rng, created=older, collection_sha="d" * 64))
    _write(folder, "older-recipe.json", _result(0, rng=rng, created=older, recipe_sha="e" * 64))
    (folder / "sub").mkdir()
    _write(folder / "sub", "deeper.json", _result(1, rng=rng))  # not recursive
    results, skipped = load_history(folder)
    assert len(results) == 4
    reasons = dict(line.split(": ", 1) for line in skipped)
    assert sorted(reasons) == ["damaged.json", "garbage.json", "notes.json", "older-collection.json",
                               "older-recipe.json"]
    assert "not an llvscan bench results file" in reasons["notes.json"]
    assert "cannot read" in reasons["garbage.json"]
    assert "created" in reasons["damaged.json"]
    assert reasons["older-collection.json"] == "another collection"
    assert reasons["older-recipe.json"] == "another recipe"
    result = bench_history(folder, formats=())
    assert result.skipped == skipped and result.runs == 4
    assert "another collection" in Path(result.markdown).read_text(encoding="utf-8")


def test_the_newest_run_decides_what_is_comparable(tmp_path):
    folder = _history(tmp_path, runs=3, step_at=None)
    _write(folder, "newest.json", _result(9, rng=random.Random(2), collection_sha="f" * 64))
    results, skipped = load_history(folder)
    assert len(results) == 1 and results[0].collection_sha256 == "f" * 64
    assert len(skipped) == 3 and all(s.endswith(": another collection") for s in skipped)


def test_no_results_is_a_usage_error(tmp_path):
    with pytest.raises(InvalidParameterError) as caught:
        bench_history(tmp_path, formats=())
    assert caught.value.path == str(tmp_path)
    _write(tmp_path, "notes.json", [1, 2, 3])
    with pytest.raises(InvalidParameterError, match="1 skipped"):
        load_history(tmp_path)
    with pytest.raises(InvalidParameterError):
        load_history(tmp_path / "missing")
    with pytest.raises(InvalidParameterError):
        bench_history(tmp_path, formats=("gif",))


def test_missing_matplotlib_names_the_install(tmp_path, monkeypatch):
    folder = _history(tmp_path, runs=2, step_at=None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'llvscan\[plots\]'"):
        bench_history(folder)
    assert not (folder / "history").exists()


def test_results_are_json():
    step = Step(stage="decimate", run=6, created="2026-03-07", before=1.0, after=2.0, change=1.0)
    assert step.to_dict()["change"] == 1.0
