"""``llvscan bench``: a benchmark gate a museum's CI can trust.

:func:`run_bench` processes a collection as a run does, several times, timing every stage of every asset
(wall and CPU, warm, the first pass's compile cost apart), with its peak memory, output bytes and quality
figures, beside calibration workloads timed on the same machine. :func:`compare_results` judges a run
against a saved baseline (a statistical test on times, exact or tolerance-bound on quality) and refuses
unlike runs; :func:`bench_history` plots saved runs over time. :func:`bench_markdown` writes either for a
CI job summary.
"""

from llvscan.bench.compare import Change, Comparison, FailOn, compare_results
from llvscan.bench.history import HistoryResult, bench_history
from llvscan.bench.markdown import bench_markdown
from llvscan.bench.results import AssetBench, BenchResult, Samples, load_result
from llvscan.bench.run import BenchProgress, run_bench, sample_collection

__all__ = ["AssetBench", "BenchProgress", "BenchResult", "Change", "Comparison", "FailOn", "HistoryResult",
           "Samples", "bench_history", "bench_markdown", "compare_results", "load_result", "run_bench",
           "sample_collection"]
