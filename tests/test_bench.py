"""``llvscan bench``: what it measures, how it judges, and whether the gate catches what it must.

Ground truth: the statistics against scipy's own Mann–Whitney U; verdicts on hand-built results files
(plain dicts, not our writer); real runs on a small piece of the sample collection, with slowdowns of known
size injected into one stage (``llvscan.bench.inject``) and a recipe that lowers a level's faces.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats

from llvscan.bench import BenchResult, FailOn, compare_results, load_result, run_bench
from llvscan.bench.compare import MIN_SECONDS, direction, hodges_lehmann, mann_whitney_greater
from llvscan.bench.inject import slowdown
from llvscan.cli import cli
from llvscan.errors import InvalidParameterError
from llvscan.mesh.distance import DistanceMeter

LOD_RECIPE = """name = "bench-test"
thumbnail_size = 64
[[level]]
name = "low"
usage = "Web3D"
quality = "Low"
ratio = 0.3
texture_size = 256
[[level]]
name = "thumb"
usage = "Web3D"
quality = "Thumb"
ratio = {thumb}
texture_size = 128
"""


# -- statistics --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("n", "m"), [(5, 5), (3, 7), (8, 4), (12, 12)])
def test_mann_whitney_exact_matches_scipy(n, m):
    rng = np.random.default_rng(n * 100 + m)
    for shift in (0.0, 0.5, 2.0):
        before, after = rng.normal(size=n), rng.normal(size=m) + shift
        expected = stats.mannwhitneyu(after, before, alternative="greater", method="exact").pvalue
        assert mann_whitney_greater(list(before), list(after)) == pytest.approx(expected, rel=1e-9)


def test_mann_whitney_asymptotic_matches_scipy():
    rng = np.random.default_rng(7)
    before, after = rng.normal(size=20), rng.normal(size=25) + 0.4
    expected = stats.mannwhitneyu(after, before, alternative="greater", method="asymptotic").pvalue
    assert mann_whitney_greater(list(before), list(after)) == pytest.approx(expected, rel=1e-6)


def test_five_against_five_reach_the_smallest_p():
    assert mann_whitney_greater([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]) == pytest.approx(1 / 252)
    assert mann_whitney_greater([6, 7, 8, 9, 10], [1, 2, 3, 4, 5]) == pytest.approx(1.0)


def test_hodges_lehmann_finds_a_known_shift_despite_an_outlier():
    before = [1.0, 1.02, 0.98, 1.01, 0.99]
    after = [x * 1.3 for x in before[:4]] + [9.0]  # one wild repeat
    assert hodges_lehmann(before, after) == pytest.approx(0.3, abs=0.02)


# -- thresholds --------------------------------------------------------------------------------------------

def test_fail_on_parses_kinds_and_leaves_the_rest_ungated():
    spec = FailOn.parse("time:15%,quality:0")
    assert (spec.time, spec.quality, spec.memory, spec.size, spec.wall) == (0.15, 0.0, None, None, None)
    assert FailOn.parse("time:0.2, size:5%").size == pytest.approx(0.05)
    for bad in ("speed:10%", "time:fast", "time", "time:-5%"):
        with pytest.raises(InvalidParameterError, match="fail-on"):
            FailOn.parse(bad)


@pytest.mark.parametrize(("figure", "way"), [
    ("lod.low.hausdorff_pct", "lower"), ("lod.low.texel_drift_p95", "lower"), ("findings.error", "lower"),
    ("lod.thumb.ssim", "higher"), ("outputs.glb_readable", "higher"), ("lod.low.bytes", "size"),
    ("validator.gltf_errors", "lower"), ("validator.gltf_warnings", "lower"),
    ("lod.low.faces", "exact"), ("status", "exact"), ("valid", "exact"), ("measure.watertight", "exact")])
def test_each_quality_figure_has_a_direction(figure, way):
    assert direction(figure) == way


# -- verdicts on hand-built results ------------------------------------------------------------------------

def _samples(wall, unit, cpu=None):
    return {"wall": wall, "cpu": cpu or wall, "ratio": [w / u for w, u in zip(wall, unit, strict=True)]}


def _result(*, measure=(0.20, 0.202, 0.198, 0.2, 0.204), measure_cpu=None, quality=None, collection="c0ffee",
            recipe="r1", memory=(40.0,) * 5, output_bytes=1000, host="box", versions=None,
            unit=(0.02,) * 5) -> BenchResult:
    unit = list(unit)
    quality = {"status": "ok", "valid": True, "lod.low.faces": 3000, "lod.low.hausdorff_pct": 0.05,
               "lod.low.ssim": 0.98, "lod.low.bytes": 50000, "outputs.glb_readable": True,
               **(quality or {})}
    data = {
        "schema": "llvscan-bench/1", "created": "2026-11-30T00:00:00+00:00",
        "machine": {"hostname": host, "cpu": "test cpu", "cores": 2},
        "versions": versions or {"llvscan": "0.1.0", "numba": "0.61", "libvips": "8.18"},
        "recipe": {}, "recipe_sha256": recipe, "collection": "/c", "collection_sha256": collection, "repeat": 5,
        "calibration": {"workloads": {"vips": unit, "numba": unit, "hash": unit, "memory": unit}, "unit": unit},
        "cold_seconds": 2.0, "compile_seconds": 1.0, "seconds": 5.0, "notes": [],
        "assets": [{"path": "scan.ply", "kind": "mesh", "status": "ok",
                    "stages": {"measure": _samples(list(measure), unit, measure_cpu),
                               "catalog": _samples([0.001] * 5, unit)},
                    "total": _samples([m + 0.4 for m in measure], unit), "peak_rss_mib": [500.0] * 5,
                    "memory_mib": list(memory), "output_bytes": output_bytes, "quality": quality,
                    "cold_seconds": 1.0, "error": None}]}
    return BenchResult.from_dict(json.loads(json.dumps(data)))


def _verdicts(comparison):
    return {(c.stage, c.figure): c.verdict for c in comparison.changes}


def test_the_same_run_is_unchanged_everywhere():
    comparison = compare_results(_result(), _result())
    assert comparison.exit_code == 0 and not comparison.regressions and not comparison.improvements
    assert comparison.basis == "seconds"


def test_a_doubled_stage_is_a_named_regression_and_a_halved_one_an_improvement():
    slow = _result(measure=[2 * x for x in (0.20, 0.202, 0.198, 0.2, 0.204)])
    comparison = compare_results(slow, _result())
    regression = next(c for c in comparison.regressions if c.stage == "measure")
    assert regression.change == pytest.approx(1.0, abs=0.03) and regression.p_value == pytest.approx(1 / 252, abs=1e-4)
    assert "scan.ply, measure, time: 0.2 → 0.4 s (+" in regression.text
    assert comparison.exit_code == 1
    fast = compare_results(_result(), slow)
    assert _verdicts(fast)[("measure", "time")] == "improvement" and fast.exit_code == 0


def test_waiting_is_not_work_unless_wall_time_is_gated():
    """A busy runner stretches elapsed time, not CPU time: the default gate (time = CPU) stays quiet, and
    gating wall time as well catches it."""
    stretched = _result(measure=[0.32, 0.30, 0.34, 0.32, 0.30], measure_cpu=[0.202, 0.2, 0.204, 0.198, 0.2])
    assert _verdicts(compare_results(stretched, _result()))[("measure", "time")] == "unchanged"
    walled = compare_results(stretched, _result(), fail_on="time:15%,wall:15%")
    assert _verdicts(walled)[("measure", "wall")] == "regression"


def test_a_shift_inside_the_noise_or_a_tiny_stage_is_not_a_regression():
    noisy = _result(measure=(0.20, 0.26, 0.18, 0.24, 0.208))  # +~10 %, overlapping: under the threshold
    assert _verdicts(compare_results(noisy, _result()))[("measure", "time")] == "unchanged"
    tiny = compare_results(_result(measure=[0.04] * 5), _result(measure=[0.02] * 5))
    assert MIN_SECONDS > 0.02
    assert _verdicts(tiny)[("measure", "time")] == "not gated"


@pytest.mark.parametrize(("figure", "value", "verdict"), [
    ("lod.low.hausdorff_pct", 0.10, "regression"), ("lod.low.hausdorff_pct", 0.04, "improvement"),
    ("lod.low.ssim", 0.97, "regression"), ("lod.low.ssim", 0.99, "improvement"),
    ("lod.low.faces", 2999, "regression"), ("lod.low.faces", 3001, "regression"),
    ("valid", False, "regression"), ("outputs.glb_readable", False, "regression"),
    ("lod.low.bytes", 60000, "regression"), ("lod.low.bytes", 52000, "unchanged"),
    ("lod.low.hausdorff_pct", 0.05 * (1 + 1e-8), "unchanged")])
def test_quality_figures_are_judged_by_their_direction(figure, value, verdict):
    comparison = compare_results(_result(quality={figure: value}), _result())
    assert _verdicts(comparison)[("", figure)] == verdict


def test_quality_tolerance_and_ungated_kinds():
    worse = _result(quality={"lod.low.hausdorff_pct": 0.0505})  # +1 %
    assert compare_results(worse, _result(), fail_on="quality:2%").exit_code == 0
    assert compare_results(worse, _result(), fail_on="quality:0").exit_code == 1
    assert compare_results(worse, _result(), fail_on="time:15%").exit_code == 0  # quality not gated


def test_a_figure_that_disappears_is_a_regression():
    before = _result(quality={"lod.thumb.faces": 300})
    assert _verdicts(compare_results(_result(), before))[("", "lod.thumb.faces")] == "regression"


def test_memory_and_size_regress_past_their_thresholds():
    assert _verdicts(compare_results(_result(memory=[80.0] * 5), _result()))[("", "memory")] == "regression"
    assert _verdicts(compare_results(_result(memory=[50.0] * 5), _result()))[("", "memory")] == "unchanged"
    assert _verdicts(compare_results(_result(output_bytes=1200), _result()))[("", "output.bytes")] == "regression"


def test_another_collection_is_refused_with_the_reason_and_another_recipe_is_named():
    with pytest.raises(InvalidParameterError, match="another collection"):
        compare_results(_result(collection="beef"), _result())
    comparison = compare_results(_result(recipe="r2"), _result())
    assert any("recipe changed" in note for note in comparison.notes)


def test_another_machine_compares_ratios_and_drops_a_changed_librarys_workload():
    # the other machine is twice as slow at everything: the same work in ratios
    slow_box = _result(measure=[2 * x for x in (0.20, 0.202, 0.198, 0.2, 0.204)], host="other", unit=(0.04,) * 5)
    comparison = compare_results(slow_box, _result())
    assert comparison.basis == "ratio" and _verdicts(comparison)[("measure", "time")] == "unchanged"
    assert any("other machine" in note for note in comparison.notes)
    upgraded = _result(versions={"llvscan": "0.1.0", "numba": "0.62", "libvips": "8.18"})
    notes = compare_results(upgraded, _result(), basis="ratio").notes
    assert any("numba 0.61 → 0.62" in n for n in notes) and any("without numba" in n for n in notes)


def test_damaged_results_files_are_refused_by_name(tmp_path):
    for name, text in (("empty.json", ""), ("other.json", '{"schema": "asv/1"}'),
                       ("broken.json", '{"schema": "llvscan-bench/1", "assets": 3}')):
        (tmp_path / name).write_text(text)
        with pytest.raises(InvalidParameterError, match=name):
            load_result(tmp_path / name)


# -- real runs ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small(sample_collection, tmp_path_factory) -> tuple[Path, Path, Path, Path]:
    """bracket.stl and the condition photo, with a two-level LOD recipe (and one that decimates further);
    and the vase (30,720 faces), whose distance measurement is long enough to be gated."""
    base = tmp_path_factory.mktemp("bench")
    collection = base / "collection"
    for rel in ("tools/bracket.stl", "photos/condition_photo.jpg"):
        (collection / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(sample_collection / rel, collection / rel)
    recipes = []
    for name, thumb in (("run", 0.1), ("worse", 0.02)):
        (base / f"{name}-lods.toml").write_text(LOD_RECIPE.format(thumb=thumb))
        (base / f"{name}.toml").write_text(f'[mesh]\nlods = "{name}-lods.toml"\n')
        recipes.append(base / f"{name}.toml")
    return collection, recipes[0], recipes[1], sample_collection / "ceramics" / "vase.ply"


# four levels: their measurements (the stage slowed below) add up to well over MIN_SECONDS
GATE_RECIPE = """name = "gate"
thumbnail_size = 0
fidelity = false
""" + "".join(f"""[[level]]
name = "l{i}"
usage = "Web3D"
quality = "Low"
ratio = {ratio}
texture_size = 64
""" for i, ratio in enumerate((0.4, 0.2, 0.1, 0.05)))


@pytest.fixture(scope="module")
def baseline(small) -> BenchResult:
    collection, recipe, *_ = small
    return run_bench(collection, recipe=recipe, repeat=5)


def test_a_run_times_every_stage_and_reads_its_outputs_back(baseline, tmp_path):
    mesh = next(a for a in baseline.assets if a.path == "tools/bracket.stl")
    image = next(a for a in baseline.assets if a.path == "photos/condition_photo.jpg")
    assert {"checksum", "load", "validate", "decimate:low", "decimate:thumb", "measure", "fidelity",
            "write:low", "write:thumb", "compress", "thumbnail", "catalog"} <= set(mesh.stages)
    assert {"checksum", "inspect", "tile:iiif3", "catalog"} <= set(image.stages)
    for asset in (mesh, image):
        assert len(asset.total.wall) == 5 and all(len(s.wall) == 5 for s in asset.stages.values())
        covered = [sum(s.wall[r] for s in asset.stages.values()) for r in range(5)]
        for r in range(5):  # the stages are exclusive: they add up to the asset's time, less a little glue
            assert covered[r] <= asset.total.wall[r] + 1e-6
            assert asset.total.wall[r] - covered[r] < 0.05 + 0.1 * asset.total.wall[r]
        unit = baseline.calibration.unit
        assert asset.total.ratio == pytest.approx([w / u for w, u in zip(asset.total.wall, unit, strict=True)],
                                                  rel=1e-3)
    assert mesh.quality["status"] == "ok" and mesh.quality["valid"] is True
    assert mesh.quality["lod.thumb.faces"] == pytest.approx(1000, abs=2)  # 10 % of the torus' 10,000
    assert mesh.quality["outputs.glb_readable"] is True and image.quality["outputs.iiif3_info"] is True
    assert 0 < mesh.quality["lod.thumb.hausdorff_pct"] < 5 and 0 < mesh.quality["lod.thumb.ssim"] <= 1
    assert set(baseline.calibration.workloads) == {"vips", "numba", "hash", "memory"}
    assert {"llvscan", "python", "numpy", "numba", "libvips"} <= set(baseline.versions)
    assert baseline.machine["cores"] >= 1 and len(baseline.collection_sha256) == 64
    assert not baseline.notes  # every quality figure was the same in every repeat
    path = baseline.save(tmp_path / "b.json")
    assert load_result(path).to_dict() == baseline.to_dict()


def test_the_gate_catches_injected_slowdowns_and_never_a_null_change(small, tmp_path):
    """The issue's gate-quality test, on this 2-core machine: the distance measurement (the whole stage
    ``measure``) slowed 2× is flagged every time, 1.2× in most runs, and a null change never flags anything.
    One mesh and one level keep it short; ``benchmarks/bench_gate.py`` measures the rates over more trials."""
    collection = tmp_path / "one"
    collection.mkdir()
    shutil.copy2(small[3], collection)
    (tmp_path / "gate-lods.toml").write_text(GATE_RECIPE)
    recipe = tmp_path / "gate.toml"
    recipe.write_text('[mesh]\nlods = "gate-lods.toml"\n')
    baseline = run_bench(collection, recipe=recipe, repeat=5)
    assert baseline.assets[0].stages["measure"].median_wall > MIN_SECONDS  # long enough to be gated

    def trial(factor: float):
        with slowdown(DistanceMeter, "__init__", factor), slowdown(DistanceMeter, "measure", factor):
            result = run_bench(collection, recipe=recipe, repeat=5)
        comparison = compare_results(result, baseline)
        flagged = any(c.asset == "vase.ply" and c.stage == "measure" and c.figure == "time"
                      for c in comparison.regressions)
        return flagged, comparison

    for _ in range(2):
        flagged, comparison = trial(1.0)
        assert not comparison.regressions, [c.text for c in comparison.regressions]
    for _ in range(2):
        flagged, comparison = trial(2.0)
        assert flagged, [c.text for c in comparison.changes if c.stage == "measure"]
        assert all(c.stage in ("measure", "total") for c in comparison.regressions)
    hits = sum(trial(1.2)[0] for _ in range(3))
    assert hits >= 2


def test_a_recipe_that_lowers_a_levels_faces_is_always_caught(small, baseline):
    collection, _, worse, _ = small
    comparison = compare_results(run_bench(collection, recipe=worse, repeat=2), baseline)
    named = {c.figure: c for c in comparison.regressions if c.asset == "tools/bracket.stl"}
    assert "lod.thumb.faces" in named and "lod.thumb.hausdorff_pct" in named
    assert named["lod.thumb.faces"].before > named["lod.thumb.faces"].after
    assert any("recipe changed" in note for note in comparison.notes)


def test_the_khronos_validator_verdicts_are_quality_figures(small, tmp_path):
    node = shutil.which("node")
    script = Path(__file__).resolve().parents[1] / "tools" / "gltf-validate.mjs"
    if node is None or not (script.parent / "node_modules" / "gltf-validator").is_dir():
        pytest.skip("glTF-Validator not installed: run `npm install --prefix tools` (needs Node.js >= 18); "
                    "without it llvscan bench's validator figures are NOT checked")
    collection, recipe, *_ = small
    result = run_bench(collection, recipe=recipe, repeat=2, gltf_validator_script=script)
    mesh = next(a for a in result.assets if a.path == "tools/bracket.stl")
    assert mesh.quality["validator.gltf_errors"] == 0 and mesh.quality["validator.gltf_warnings"] >= 0
    image = next(a for a in result.assets if a.path == "photos/condition_photo.jpg")
    assert not any(k.startswith("validator.") for k in image.quality)  # no GLB, no verdict
    with pytest.raises(InvalidParameterError, match="validator"):
        run_bench(collection, recipe=recipe, repeat=2, gltf_validator_script=tmp_path / "missing.mjs")


def test_slowdown_restores_what_it_patched():
    original = DistanceMeter.measure
    with slowdown(DistanceMeter, "measure", 1.5):
        assert DistanceMeter.measure is not original
    assert DistanceMeter.measure is original
    with pytest.raises(InvalidParameterError), slowdown(DistanceMeter, "measure", 0.5):
        pass


# -- the command -------------------------------------------------------------------------------------------

def test_cli_saves_judges_and_exits_by_verdict(small, baseline, tmp_path):
    collection, recipe, worse, _ = small
    saved = baseline.save(tmp_path / "baseline.json")
    runner = CliRunner()
    ok = runner.invoke(cli, ["bench", str(collection), "--recipe", str(recipe), "--repeat", "2", "--baseline",
                             str(saved), "--fail-on", "quality:0", "--markdown", str(tmp_path / "b.md"),
                             "--save", str(tmp_path / "new.json")])
    assert ok.exit_code == 0, ok.output
    assert "no regression" in ok.output and "tools/bracket.stl" in ok.output
    assert "No regression" in (tmp_path / "b.md").read_text() and load_result(tmp_path / "new.json").repeat == 2
    bad = runner.invoke(cli, ["bench", str(collection), "--recipe", str(worse), "--repeat", "2", "--baseline",
                              str(saved), "--fail-on", "quality:0", "--json"])
    assert bad.exit_code == 1, bad.output
    verdict = json.loads(bad.output)["comparison"]
    assert verdict["exit_code"] == 1
    assert any(r["figure"] == "lod.thumb.faces" for r in verdict["regressions"])


def test_cli_usage_errors_exit_2(small, tmp_path):
    collection, recipe, *_ = small
    runner = CliRunner()
    assert runner.invoke(cli, ["bench", str(collection), "--fail-on", "speed:5%"]).exit_code == 2
    assert runner.invoke(cli, ["bench", str(collection), "--repeat", "1"]).exit_code == 2
    junk = tmp_path / "junk.json"
    junk.write_text("[1, 2]")
    result = runner.invoke(cli, ["bench", str(collection), "--baseline", str(junk)])
    assert result.exit_code == 2 and "junk.json" in result.output
    other = _result()  # a results file of another collection: refused after the run, before any verdict
    other.save(tmp_path / "other.json")
    refused = runner.invoke(cli, ["bench", str(collection), "--recipe", str(recipe), "--repeat", "2",
                                  "--baseline", str(tmp_path / "other.json")])
    assert refused.exit_code == 2 and "another collection" in refused.output


def test_cli_history_writes_plots_and_a_summary(baseline, tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    for i in range(3):
        data = baseline.to_dict()
        data["created"] = f"2026-11-{10 + i:02d}T00:00:00+00:00"
        (folder / f"run-{i}.json").write_text(json.dumps(data))
    result = CliRunner().invoke(cli, ["bench", "history", str(folder), "--format", "svg", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["runs"] == 3 and any(p.endswith("total.svg") for p in summary["plots"])
    assert "measure" in Path(summary["markdown"]).read_text()
    assert math.isfinite(summary["seconds"])
