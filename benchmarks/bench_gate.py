"""How good is the ``llvscan bench`` gate? Detection and false-alarm rates, measured on this machine.

A baseline run of a small collection (the vase, the bracket and the condition photo, two web levels),
then ``--trials`` runs for each of: no change (the null), and the distance measurement (the whole stage
``measure``: ``DistanceMeter`` built and measuring) slowed 2×, 1.2× and 1.1× (``llvscan.bench.inject``);
each judged against the baseline with the default thresholds. A run *flags* a case when the ``measure``
stage of the asset where it is longest is named a time regression. A *false alarm* is any regression
outside the slowed stage and the totals of the assets it is in: in the null runs, any regression at all,
on any figure (times, memory, size, quality). ``--full`` uses the whole sample collection and the default
recipe instead (slower). ``--contend N`` runs N busy processes beside every trial (not beside the baseline):
a shared runner's neighbours. ``--fail-on`` sets the thresholds (default: the command's).

    python benchmarks/bench_gate.py [--trials 10] [--repeat 5] [--full] [--contend 1] [--fail-on SPEC]
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import argument_parser, print_table, write_results

from llvscan.bench import compare_results, run_bench, sample_collection
from llvscan.bench.compare import DEFAULT_FAIL_ON
from llvscan.bench.inject import slowdown
from llvscan.mesh.distance import DistanceMeter

CASES = (("null", 1.0), ("2×", 2.0), ("1.2×", 1.2), ("1.1×", 1.1))
SMALL = ("ceramics/vase.ply", "tools/bracket.stl", "photos/condition_photo.jpg")
#: The small collection's recipe: two web levels with their fidelity measured, as the tests' (the voyager
#: preset's fresh atlas and bakes would triple the time of a trial and add nothing to the question).
LODS = """name = "gate"
thumbnail_size = 128
[[level]]
name = "low"
usage = "Web3D"
quality = "Low"
ratio = 0.3
texture_size = 512
[[level]]
name = "thumb"
usage = "Web3D"
quality = "Thumb"
ratio = 0.05
texture_size = 256
"""


def small_collection(root: Path, into: Path) -> tuple[Path, Path]:
    """The small collection and its recipe file."""
    collection = into / "collection"
    for rel in SMALL:
        (collection / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, collection / rel)
    (into / "gate-lods.toml").write_text(LODS)
    (into / "gate.toml").write_text('[mesh]\nlods = "gate-lods.toml"\n')
    return collection, into / "gate.toml"


def main() -> int:
    parser = argument_parser(__doc__)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--full", action="store_true", help="the whole sample collection")
    parser.add_argument("--contend", type=int, default=0, help="busy processes beside each trial")
    parser.add_argument("--fail-on", default=DEFAULT_FAIL_ON)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a killed benchmark stops its busy processes too
    sample = sample_collection()
    with tempfile.TemporaryDirectory() as scratch:
        collection, recipe = (sample, None) if args.full else small_collection(sample, Path(scratch))
        started = time.perf_counter()
        baseline = run_bench(collection, recipe=recipe, repeat=args.repeat)
        target = max(baseline.assets, key=lambda a: a.stages["measure"].median_wall if "measure" in a.stages else 0)
        print(f"baseline in {time.perf_counter() - started:.1f} s; slowed: {target.path}, stage measure "
              f"({target.stages['measure'].median_wall * 1000:.0f} ms median)", file=sys.stderr)
        rows, runs = [], []
        burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.contend)]
        try:
            run_cases(args, collection, recipe, baseline, target, rows, runs)
        finally:
            for burner in burners:
                burner.kill()
        where = "sample collection" if args.full else "small collection"
        print_table(f"llvscan bench gate ({where}, repeat {args.repeat}, {args.fail_on}, "
                    f"{args.contend} busy processes beside the trials)", rows,
                    ["case", "trials", "measure flagged", "other regressions", "median shift", "shift range"])
        write_results(args.out, "gate", {"rows": rows, "runs": runs, "repeat": args.repeat, "full": args.full,
                                         "contend": args.contend, "fail_on": args.fail_on})
    return 0


def run_cases(args, collection: Path, recipe: Path | None, baseline, target, rows: list, runs: list) -> None:
    for label, factor in CASES:
        flagged, others, shifts = 0, 0, []
        for trial in range(args.trials):
            with slowdown(DistanceMeter, "__init__", factor), slowdown(DistanceMeter, "measure", factor):
                result = run_bench(collection, recipe=recipe, repeat=args.repeat)
            verdict = compare_results(result, baseline, fail_on=args.fail_on)
            hit = [c for c in verdict.regressions if c.asset == target.path and c.stage == "measure"
                   and c.figure == "time"]
            flagged += bool(hit)
            slowed = {a.path for a in baseline.assets if "measure" in a.stages} if factor > 1 else set()
            others += sum(1 for c in verdict.regressions
                          if not (c.asset in slowed and c.stage in ("measure", "total")))
            shift = next(c.change for c in verdict.changes if c.asset == target.path and c.stage == "measure"
                         and c.figure == "time")
            shifts.append(shift)
            runs.append({"case": label, "trial": trial, "flagged": bool(hit), "shift": shift,
                         "regressions": [c.text for c in verdict.regressions]})
            print(f"{label} trial {trial}: shift {shift:+.3f}, flagged {bool(hit)}, "
                  f"{len(verdict.regressions)} regressions", file=sys.stderr)
        alarmed = sum(bool(r["regressions"]) for r in runs if r["case"] == label)  # the null's runs
        rows.append({"case": label, "trials": args.trials,
                     "measure flagged": f"{flagged}/{args.trials}" if factor > 1 else "—",
                     "other regressions": f"{others} figures" if factor > 1 else
                     f"{alarmed}/{args.trials} runs ({others} figures)",
                     "median shift": f"{sorted(shifts)[len(shifts) // 2] * 100:+.1f} %",
                     "shift range": f"{min(shifts) * 100:+.1f} … {max(shifts) * 100:+.1f} %"})


if __name__ == "__main__":
    raise SystemExit(main())
