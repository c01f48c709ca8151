"""Scale-out benchmark (issue 8): llvscan runs on Dask against the local process pool, same input, same run.

* overhead per asset: ``--assets`` tiny images (default 10,000) with a catalogue-only recipe (checksums
  and catalog, no tiles), on the local pool and on a Dask cluster of 2 single-threaded worker processes
  (``distributed.LocalCluster``, nannies included), with llvscan's batching and with one asset per task;
* wall time of the sample collection (default recipe: validation, LODs, inspection, tiles; forced) on
  2 Dask workers against the local pool of 2.

Medians of ``--repeat`` runs, each executor warmed first. A table on stdout, JSON under ``--out``.

    python benchmarks/bench_cluster.py [--quick] [--assets 10000] [--collection sample_data/collection]
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import ROOT, argument_parser, machine, print_table, time_runs, write_results
from bench_run import tiny_collection


def median_run(repeat: int, fn) -> tuple[float, list[float]]:
    """The median seconds of ``repeat`` calls, and every call's seconds to 0.01 s."""
    times = time_runs(fn, repeat)
    return statistics.median(times), [round(t, 2) for t in times]


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--collection", type=Path, default=ROOT / "sample_data" / "collection")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2,000 tiny assets, 1 repeat of the sample run")
    args = parser.parse_args()
    if args.quick:
        args.assets, args.repeat = min(args.assets, 2_000), 1
    import distributed

    from llvscan.collection import ImageRecipe, RunRecipe, run_collection

    tmp = Path(tempfile.mkdtemp(prefix="llvscan-bench-cluster-"))
    tiny = tiny_collection(Path(tempfile.gettempdir()) / "llvscan-bench-tiny", args.assets)
    catalogue_only = RunRecipe(image=ImageRecipe(layouts=(), inspect=False))
    rows, results = [], {}
    try:
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster:
            address = cluster.scheduler_address
            cases = (("local pool, batched", None, None), ("local pool, 1 per task", None, 1),
                     ("Dask, batched", address, None), ("Dask, 1 per task", address, 1))
            for index, (name, scheduler, batch) in enumerate(cases):
                def run(out=tmp / f"tiny{index}", scheduler=scheduler, batch=batch):
                    shutil.rmtree(out, ignore_errors=True)
                    summary = run_collection(tiny, out, recipe=catalogue_only, workers=2, scheduler=scheduler,
                                             batch_size=batch)
                    assert summary.ok == args.assets, summary

                run()  # warm: workers started, files in the page cache
                seconds, runs = median_run(args.repeat, run)
                results[name] = {"seconds": round(seconds, 3), "runs": runs}
                rows.append({"case": f"{args.assets:,} tiny assets, {name}", "seconds": round(seconds, 2),
                             "ms_per_asset": round(1000 * seconds / args.assets, 3)})
            sample = tmp / "sample"
            shutil.copytree(args.collection, sample, ignore=shutil.ignore_patterns("broken"))
            for index, (name, scheduler) in enumerate((("local pool of 2", None), ("2 Dask workers", address))):
                def full(scheduler=scheduler, out=tmp / f"sample{index}"):
                    summary = run_collection(sample, out, workers=2, scheduler=scheduler, force=True)
                    assert summary.failed == 0, summary

                full()
                seconds, runs = median_run(args.repeat, full)
                results[name] = {"seconds": round(seconds, 3), "runs": runs}
                rows.append({"case": f"sample collection (7 assets), {name}", "seconds": round(seconds, 2),
                             "ms_per_asset": ""})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    base = results["local pool, batched"]["seconds"]
    for row, name in zip(rows, results, strict=True):
        reference = base if "tiny" in row["case"] else results["local pool of 2"]["seconds"]
        row["vs_local"] = round(results[name]["seconds"] / reference, 2)
    print_table("llvscan on Dask vs the local pool (medians; vs_local = time ÷ the local pool's)", rows,
                ["case", "seconds", "ms_per_asset", "vs_local"])
    path = write_results(args.out, "bench_cluster", {"machine": machine(), "assets": args.assets,
                                                     "repeat": args.repeat, "results": results, "table": rows})
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()
