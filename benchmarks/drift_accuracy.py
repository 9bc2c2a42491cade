"""How far the drift statistics can be trusted: false-positive rates and approximation errors.

Run: ``python benchmarks/drift_accuracy.py [--windows 1000] [--repeats 40]`` (about a minute).

1. False-positive rate of every test at its default threshold on null windows (training column and
   window drawn from the same distribution), per distribution and (training rows, window rows). Each
   null window is one feature of a single ``compare`` call, as in ``tests/monitoring/test_calibration.py``.
2. Error of the binned statistics against the raw-data ones (scipy): KS statistic vs
   ``scipy.stats.ks_2samp``, normed Wasserstein vs ``scipy.stats.wasserstein_distance / np.std(ref)``,
   over ``--repeats`` seeded draws per scenario; for Wasserstein also with the outer bins' mass placed
   halfway to the window's min/max (what window stats without ``outer_means`` fall back to). Errors
   are also shown relative to their proven bounds (max bin share for KS, one bin width for W)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from grafana_proxy.monitoring.distances import TESTS
from grafana_proxy.monitoring.drift import choose_tests, compare
from grafana_proxy.monitoring.stats import reference_stats, window_stats

CATEGORIES = np.array(list("abcde"))
SHARES = np.array([0.5, 0.25, 0.15, 0.07, 0.03])
Sampler = Callable[[np.random.Generator, tuple[int, ...]], np.ndarray]
NULLS: dict[str, Sampler] = {
    "normal": lambda rng, shape: rng.normal(size=shape),
    "lognormal": lambda rng, shape: rng.lognormal(size=shape),
    "integers 0-9": lambda rng, shape: rng.integers(0, 10, size=shape).astype(float),
    "categorical 5": lambda rng, shape: CATEGORIES[rng.choice(5, size=shape, p=SHARES)],
}
SIZES = ((5000, 5), (5000, 30), (5000, 200), (5000, 5000), (200, 200), (30, 30))


def false_positive_rates(windows: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    names = [f"f{i}" for i in range(windows)]
    lines = [
        f"## False-positive rate at the default threshold ({windows} null windows per cell)\n",
        "| distribution | n_ref | n_cur | " + " | ".join(TESTS) + " |",
        "|---|---|---|" + "---|" * len(TESTS),
    ]
    for kind, draw in NULLS.items():
        categorical = kind.startswith("categorical")
        tests = [n for n, s in TESTS.items() if (s.categorical if categorical else s.numerical)]
        for n_ref, n_cur in SIZES:
            reference = reference_stats(pd.DataFrame(draw(rng, (n_ref, windows)), columns=names))
            window = pd.DataFrame(draw(rng, (n_cur, windows)), columns=names)
            report = compare(reference, window_stats(window, reference), n_cur, tests=choose_tests(tests))
            cells = []
            for test in TESTS:
                if test not in tests:
                    cells.append("–")
                    continue
                results = [report.features[n]["tests"][test] for n in names]
                tested = [r for r in results if r["statistic"] is not None]
                cells.append(f"{np.mean([r['drift'] for r in tested]):.3f}" if tested else "n/a")
            lines.append(f"| {kind} | {n_ref} | {n_cur} | " + " | ".join(cells) + " |")
    return [*lines, ""]


SCENARIOS: dict[str, tuple[Sampler, Sampler]] = {
    "normal, no shift": (lambda r, n: r.normal(size=n), lambda r, n: r.normal(size=n)),
    "normal, shift 0.2σ": (lambda r, n: r.normal(size=n), lambda r, n: r.normal(0.2, size=n)),
    "normal, shift 1σ": (lambda r, n: r.normal(size=n), lambda r, n: r.normal(1.0, size=n)),
    "normal, std x2": (lambda r, n: r.normal(size=n), lambda r, n: r.normal(0, 2, size=n)),
    "lognormal, no shift": (lambda r, n: r.lognormal(size=n), lambda r, n: r.lognormal(size=n)),
    "lognormal, x1.5": (lambda r, n: r.lognormal(size=n), lambda r, n: 1.5 * r.lognormal(size=n)),
    "student t df=2, no shift": (lambda r, n: r.standard_t(2, size=n), lambda r, n: r.standard_t(2, size=n)),
    "student t df=2, shift 0.5": (lambda r, n: r.standard_t(2, size=n), lambda r, n: 0.5 + r.standard_t(2, size=n)),
    "uniform, shift 0.1": (lambda r, n: r.uniform(size=n), lambda r, n: r.uniform(0.1, 1.1, size=n)),
}


def approximation_errors(repeats: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    lines = [
        f"## Binned vs raw-data statistic (max |error| over {repeats} draws; 5,000 training rows)\n",
        "| scenario | n_cur | KS D raw (median) | KS D error | KS D error / max bin share |"
        " W raw (median) | W error | W error / bin width | W error, outer mass halfway |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, (train_draw, window_draw) in SCENARIOS.items():
        for n_cur in (200, 5000):
            rows: list[dict[str, float]] = []
            for _ in range(repeats):
                ref, cur = train_draw(rng, 5000), window_draw(rng, n_cur)
                rows.append(_errors(ref, cur))
            frame = pd.DataFrame(rows)
            lines.append(
                f"| {name} | {n_cur} | {frame.ks_raw.median():.4f} | {frame.ks_err.abs().max():.4f} | "
                f"{frame.ks_ratio.max():.2f} | {frame.w_raw.median():.4f} | {frame.w_err.abs().max():.4f} | "
                f"{frame.w_ratio.max():.2f} | {frame.w_old_err.abs().max():.4f} |"
            )
    return [*lines, ""]


def _errors(ref: np.ndarray, cur: np.ndarray) -> dict[str, float]:
    reference = reference_stats(pd.DataFrame({"x": ref}))
    current = window_stats(pd.DataFrame({"x": cur}), reference)
    tests = choose_tests(["ks", "wasserstein"])
    out: dict[str, Any] = compare(reference, current, cur.size, tests=tests).features["x"]["tests"]
    halfway = {"x": {k: v for k, v in current["x"].items() if k != "outer_means"}}
    old = compare(reference, halfway, cur.size, tests=tests).features["x"]["tests"]
    ks_raw = float(sps.ks_2samp(ref, cur).statistic)
    w_raw = float(sps.wasserstein_distance(ref, cur) / np.std(ref))
    shares = max(np.max(current["x"]["hist"][0]) / cur.size, np.max(reference["x"]["hist"][0]) / ref.size)
    ks_err = out["ks"]["statistic"] - ks_raw
    edges = reference["x"]["hist"][1]
    width = (edges[1] - edges[0]) / np.std(ref)  # one bin, in units of the normalising std
    w_err = out["wasserstein"]["statistic"] - w_raw
    return {
        "ks_raw": ks_raw,
        "ks_err": ks_err,
        "ks_ratio": abs(ks_err) / shares,
        "w_raw": w_raw,
        "w_err": w_err,
        "w_ratio": abs(w_err) / width,
        "w_old_err": old["wasserstein"]["statistic"] - w_raw,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    lines = false_positive_rates(args.windows, args.seed) + approximation_errors(args.repeats, args.seed)
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
