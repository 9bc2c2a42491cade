"""Drift analysis speed: 100 features x 1,000,000 window rows (the goal is < 2 s).

Run: ``python benchmarks/drift_bench.py [--features 100] [--rows 1000000] [--repeat 3]``.
Prints the best and median wall time of ``drift.analyze`` (live stats on the padded reference bins,
TVD/Hellinger/KLD, aggregates), with and without the five extra tests. The window columns are
contiguous float64 arrays, as a DataFrame read from Parquet has them; 5% of one feature is missing and
half of the features are shifted so the drifted path is measured too."""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from grafana_proxy.monitoring.drift import analyze, choose_tests
from grafana_proxy.monitoring.stats import reference_stats


def build(features: int, rows: int, seed: int = 7) -> tuple[pd.DataFrame, dict[str, dict[str, object]]]:
    rng = np.random.default_rng(seed)
    names = [f"f{i:03d}" for i in range(features)]
    training = pd.DataFrame({n: rng.normal(size=100_000) for n in names})
    window = pd.DataFrame({n: rng.normal(loc=0.3 * (i % 2), size=rows) for i, n in enumerate(names)})
    window.loc[window.index[: rows // 20], names[0]] = np.nan
    return window, reference_stats(training)


def timed(run: Callable[[], object], repeat: int) -> tuple[list[float], list[float]]:
    """Wall and process CPU seconds per run. CPU time (all threads) shows the work itself when the
    machine is shared: on an otherwise idle machine wall time is about CPU time / cores used."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return walls, cpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=int, default=100)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    window, reference = build(args.features, args.rows)
    all_tests = choose_tests(["ks", "chisquare", "psi", "wasserstein", "jensenshannon"])
    print(f"drift: {args.features} features x {args.rows:,} rows, {os.cpu_count()} CPUs")  # noqa: T201
    for label, tests in (("distances only", ()), ("with 5 extra tests", all_tests)):
        walls, cpus = timed(lambda tests=tests: analyze(window, reference, tests=tests), args.repeat)
        print(  # noqa: T201
            f"  {label:20s} wall best {min(walls):.3f} s, median {statistics.median(walls):.3f} s; "
            f"CPU best {min(cpus):.3f} s"
        )
    print(f"  load average at the end: {os.getloadavg()[0]:.1f}")  # noqa: T201


if __name__ == "__main__":
    main()
