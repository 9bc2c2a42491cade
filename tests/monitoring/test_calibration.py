"""Calibration of the p-value tests: on windows drawn from the training distribution a test at
threshold 0.05 must flag drift in about 5% of them, whatever the window size.

Each case analyses FEATURES null windows in one call: every feature is an independent training column
and an independent window from the same distribution, so one vectorised ``compare`` gives hundreds of
draws of the test's null distribution. Seeds are fixed; the bounds are 3 binomial standard deviations
around the threshold (0.05 ± 0.033 for 400 windows)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from grafana_proxy.monitoring.distances import TESTS
from grafana_proxy.monitoring.drift import choose_tests, compare
from grafana_proxy.monitoring.stats import reference_stats, window_stats

FEATURES = 400
ALPHA = 0.05
SPREAD = 3 * math.sqrt(ALPHA * (1 - ALPHA) / FEATURES)
CATEGORIES = np.array(["a", "b", "c", "d", "e"])
SHARES = np.array([0.5, 0.25, 0.15, 0.07, 0.03])

Draw = Callable[[np.random.Generator, int], np.ndarray]
DRAWS: dict[str, Draw] = {
    "normal": lambda rng, n: rng.normal(size=(n, FEATURES)),
    "lognormal": lambda rng, n: rng.lognormal(size=(n, FEATURES)),  # most mass in the first bins
    "categorical": lambda rng, n: CATEGORIES[rng.choice(CATEGORIES.size, size=(n, FEATURES), p=SHARES)],
}


def null_windows(kind: str, n_ref: int, n_cur: int, seed: int) -> dict[str, list[dict[str, object]]]:
    """Per p-value test: its result on each of the FEATURES null windows."""
    rng = np.random.default_rng(seed)
    names = [f"f{i}" for i in range(FEATURES)]
    training = pd.DataFrame(DRAWS[kind](rng, n_ref), columns=names)
    window = pd.DataFrame(DRAWS[kind](rng, n_cur), columns=names)
    reference = reference_stats(training)
    numerical = kind != "categorical"
    tests = [n for n, s in TESTS.items() if s.p_value and (s.numerical if numerical else s.categorical)]
    report = compare(reference, window_stats(window, reference), n_cur, tests=choose_tests(tests))
    return {t: [report.features[n]["tests"][t] for n in names] for t in tests}


CASES = [
    ("normal", 5000, 30),
    ("normal", 5000, 200),
    ("normal", 5000, 5000),
    ("normal", 200, 200),
    ("lognormal", 5000, 200),
    ("lognormal", 5000, 5000),
    ("categorical", 5000, 30),
    ("categorical", 5000, 200),
    ("categorical", 5000, 5000),
    ("categorical", 200, 200),
]


@pytest.mark.parametrize(("kind", "n_ref", "n_cur"), CASES)
def test_false_positive_rate_is_close_to_the_threshold(kind: str, n_ref: int, n_cur: int) -> None:
    results = null_windows(kind, n_ref, n_cur, seed=n_ref + n_cur)
    rates = {test: float(np.mean([r["drift"] for r in rows])) for test, rows in results.items()}
    # Both sides: a test that never fires (binned KS on the Kolmogorov distribution: 0.3-3.7%) is not
    # calibrated either.
    assert all(ALPHA - SPREAD <= rate <= ALPHA + SPREAD for rate in rates.values()), rates


@pytest.mark.parametrize("kind", ["normal", "categorical"])
def test_five_values_are_too_few_for_chisquare_and_ks_keeps_its_threshold(kind: str) -> None:
    results = null_windows(kind, 5000, 5, seed=5)
    # Five values cannot fill two pools of five expected values: no χ² p-value, never drift.
    assert all(r["p_value"] is None and r["drift"] is False for r in results["chisquare"])
    assert all(r.get("reason") == "too few values for this test" for r in results["chisquare"])
    if kind == "normal":
        assert ALPHA - SPREAD <= np.mean([r["drift"] for r in results["ks"]]) <= ALPHA + SPREAD
