"""Cold start: the first ``llvscan run`` on a fresh machine against the same run warm (issue 18's goal: ≤ 1.5×).

Each case runs the whole sample collection (the demo's run: 2 workers, the default recipe, the report) in a
fresh interpreter whose numba cache (``NUMBA_CACHE_DIR``) is a new empty folder, so each starts as a fresh
machine does; the workers inherit the cache folder. Cases:

* ``before``: ``run_collection(warm_up=False)``: the kernels compile inside the first assets, each worker
  compiling what its assets need (the first version's behaviour, less the lock: a worker that reaches a
  kernel the other is compiling now waits for it);
* ``run-warms``: ``run_collection()`` as ``llvscan run`` calls it: it finds the cache empty and first compiles
  the parts its assets need on both processes side by side (``warm`` seconds reported apart);
* ``install-warms``: ``llvscan warm`` (what ``make demo``/``make test`` run after installing), then the run;
* ``warm``: the same run again over the now full cache of the last case (the reference), ``--repeat`` times.

Every case's outputs go to a fresh folder. Reported: wall seconds, the run's ratio to the warm median, and for
the warm-ups their parts. Quote ratios measured in one invocation; the machine's noise is in the spread of
the warm runs.

    python benchmarks/bench_cold.py [--repeat 3] [--out benchmarks/results]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import argument_parser, machine, print_table, write_results

HERE = Path(__file__).resolve()


def _child(case: str, collection: str, out: str) -> None:
    """In the fresh interpreter: one case, its timings as JSON on the last line."""
    from llvscan.collection import run_collection

    result: dict = {}
    if case == "install-warms":
        from llvscan.collection.warm import warm_kernels

        started = time.perf_counter()
        warm = warm_kernels()
        result["warm_s"] = round(time.perf_counter() - started, 2)
        result["parts"] = {t.name: [t.seconds, t.compiled] for t in warm.tasks}
    notices: list[str] = []
    started = time.perf_counter()
    summary = run_collection(collection, out, workers=2, warm_up=case != "before", on_notice=notices.append)
    result["run_s"] = round(time.perf_counter() - started, 2)
    result["notices"] = notices
    result["ok"], result["failed"] = summary.ok, summary.failed
    print(json.dumps(result))


def _case(case: str, collection: Path, cache: Path, scratch: Path) -> dict:
    out = Path(tempfile.mkdtemp(prefix=f"{case}-", dir=scratch))
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, str(HERE), "--case", case, str(collection), str(out)], env=env,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{case} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["total_s"] = round(time.perf_counter() - started, 2)
    return result


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="warm runs (the reference)")
    parser.add_argument("--case", help="(internal) run one case in this interpreter")
    parser.add_argument("args", nargs="*", help="(internal)")
    args = parser.parse_args()
    if args.case:
        _child(args.case, *args.args)
        return
    from llvscan.bench.run import sample_collection

    collection = sample_collection()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp:
        scratch = Path(tmp)
        results = {}
        for case in ("before", "run-warms", "install-warms"):
            cache = Path(tempfile.mkdtemp(prefix=f"cache-{case}-", dir=scratch))
            results[case] = _case(case, collection, cache, scratch)
            print(case, results[case], flush=True)
        warm = [_case("warm", collection, cache, scratch)["run_s"] for _ in range(args.repeat)]
    reference = statistics.median(warm)
    for case, r in results.items():
        warm_s = r.get("warm_s")
        rows.append({"case": case, "run s": r["run_s"], "run ÷ warm": round(r["run_s"] / reference, 2),
                     "warm-up s": warm_s if warm_s is not None else "",
                     "warm-up + run ÷ warm": round((r["run_s"] + (warm_s or 0)) / reference, 2),
                     "ok/failed": f"{r['ok']}/{r['failed']}"})
    rows.append({"case": "warm (reference)", "run s": reference, "run ÷ warm": 1.0,
                 "ok/failed": "", "warm-up s": f"runs {warm}"})
    print_table(f"first run on a fresh machine vs warm, sample collection, 2 workers ({machine()['cpus']} cores)",
                rows, ["case", "run s", "run ÷ warm", "warm-up s", "warm-up + run ÷ warm", "ok/failed"])
    for case, r in results.items():
        for notice in r["notices"]:
            print(f"  {case}: note: {notice}")
        if "parts" in r:
            print(f"  {case}: parts (seconds, kernels compiled): {r['parts']}")
    path = write_results(args.out, "cold", {"machine": machine(), "results": results, "warm_runs": warm,
                                            "rows": rows})
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()
