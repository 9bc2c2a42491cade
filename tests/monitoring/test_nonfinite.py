"""NaN and ±inf in training data and in windows: counted apart, never binned, never drift.

Before: an all-NaN or ±inf-containing training column produced an all-zero reference histogram that was
still compared, so every window of it was "detected" (TVD 0.5, Hellinger 1.0, KS p 0)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from grafana_proxy.apps.histogram_data_drift import outputs_of
from grafana_proxy.model import ResultStatus
from grafana_proxy.monitoring.applications import ResultValue
from grafana_proxy.monitoring.drift import analyze, choose_tests
from grafana_proxy.monitoring.stats import reference_stats

ALL_TESTS = choose_tests(["ks", "chisquare", "psi", "wasserstein", "jensenshannon"])
RNG = np.random.default_rng(15)


def training(n: int = 5000) -> pd.DataFrame:
    return pd.DataFrame({"x": RNG.normal(size=n), "y": RNG.uniform(0, 1, n)})


def test_all_nan_training_column_is_not_comparable_and_never_drift() -> None:
    train = training().assign(empty=np.nan)
    reference = reference_stats(train)
    assert reference["empty"]["count"] == 0 and reference["empty"]["missing"] == 5000
    window = training(2000).assign(empty=RNG.normal(size=2000))
    report = analyze(window, reference, tests=ALL_TESTS)
    assert report.not_comparable == {"empty": "the reference has no finite value"}
    assert "empty" not in report.features and "empty" not in report.current_stats
    assert report.general_drift is not None and report.general_drift < 0.1
    assert report.status == ResultStatus.no_detection
    x, y = report.features["x"]["tvd"], report.features["y"]["tvd"]
    assert report.aggregates["tvd_mean"] == pytest.approx((x + y) / 2)


def test_a_few_infinities_in_training_leave_the_finite_histogram_intact() -> None:
    train = training()
    finite = train["x"].to_numpy().copy()
    train.loc[[10, 20, 30], "x"] = [np.inf, -np.inf, np.inf]
    reference = reference_stats(train)["x"]
    kept = np.delete(finite, [10, 20, 30])
    counts, edges = np.histogram(kept, bins=20)
    assert reference["hist"] == [counts.tolist(), edges.tolist()]
    assert reference["count"] == 4997 and reference["infinite"] == 3 and reference["missing"] == 0
    assert reference["max"] == pytest.approx(kept.max()) and reference["std"] == pytest.approx(kept.std(ddof=1))
    window = RNG.normal(size=5000)
    report = analyze(pd.DataFrame({"x": window}), {"x": reference}, tests=ALL_TESTS)
    tests = report.features["x"]["tests"]
    assert {name: r["drift"] for name, r in tests.items()} == dict.fromkeys(tests, False)
    assert tests["ks"]["p_value"] > 0.05 and tests["ks"]["statistic"] <= sps.ks_2samp(kept, window).statistic
    assert report.status == ResultStatus.no_detection


def test_infinities_in_a_window_are_counted_apart_without_a_numpy_warning() -> None:
    # pytest turns warnings into errors here (pyproject filterwarnings), so a RuntimeWarning fails.
    reference = reference_stats(training())
    window = training(1000)
    window.loc[:99, "x"] = np.inf
    window.loc[100:149, "x"] = -np.inf
    window.loc[150:199, "x"] = np.nan
    report = analyze(window, reference, tests=ALL_TESTS)
    stats = report.current_stats["x"]
    assert stats["count"] == 800 and stats["infinite"] == 150 and stats["missing"] == 50
    assert sum(stats["hist"][0]) == 800 and stats["hist"][0][0] + stats["hist"][0][-1] < 5
    assert report.features["x"]["infinite_share"] == pytest.approx(0.15)
    assert report.features["x"]["missing_share"] == pytest.approx(0.05)
    assert report.features["x"]["tests"]["ks"]["drift"] is False


def test_window_without_a_finite_value_is_not_comparable_and_irrelevant() -> None:
    reference = reference_stats(training())
    window = pd.DataFrame({"x": [np.inf, -np.inf, np.nan] * 100, "y": [np.inf] * 300})
    report = analyze(window, reference, tests=ALL_TESTS)
    reason = "the window has no finite value"
    assert report.not_comparable == {"x": reason, "y": reason}
    assert report.features["x"]["tvd"] is None and "tests" not in report.features["x"]
    assert report.general_drift is None and report.status == ResultStatus.irrelevant
    assert report.test_shares == {}
    result = next(o for o in outputs_of(report, 0.5) if isinstance(o, ResultValue) and o.name == "general_drift")
    assert result.status == ResultStatus.irrelevant
    assert result.extra_data["not_comparable"] == {"x": reason, "y": reason}


def test_reference_stored_with_an_empty_histogram_is_not_comparable() -> None:
    # What the previous version stored for a column with ±inf: a real count, an all-zero histogram.
    stale = {"count": 5000, "mean": None, "std": None, "hist": [[0] * 20, [0.0] * 21]}
    report = analyze(pd.DataFrame({"x": RNG.normal(size=100)}), {"x": stale}, tests=ALL_TESTS)
    assert report.not_comparable == {"x": "the reference has no finite value"}
    assert report.status == ResultStatus.irrelevant and report.features == {}


@pytest.mark.parametrize(
    ("stats", "reason"),
    [
        (
            {"count": 3, "hist": [[1, 2], [0.0, None, 2.0]]},
            "the reference histogram edges are not ascending finite numbers",
        ),
        (
            {"count": 3, "hist": [[1, 2], [0.0, np.inf, 2.0]]},
            "the reference histogram edges are not ascending finite numbers",
        ),
        (
            {"count": 3, "hist": [[1, 2], [2.0, 1.0, 0.0]]},
            "the reference histogram edges are not ascending finite numbers",
        ),
        ({"count": 3, "hist": [["a", 2], [0.0, 1.0, 2.0]]}, "the reference counts are not numbers"),
        ({"count": 0, "categories": {}}, "the reference has no value"),
        ({"count": 3, "hist": [3, 4]}, "the reference has neither a histogram nor category counts"),
    ],
)
def test_malformed_reference_features_are_not_comparable_not_a_crash(stats: dict[str, object], reason: str) -> None:
    reference = {"bad": stats, "x": reference_stats(training())["x"]}
    report = analyze(pd.DataFrame({"bad": [1.0, 2.0], "x": RNG.normal(size=2)}), reference, tests=ALL_TESTS)
    assert report.not_comparable == {"bad": reason}
    assert set(report.features) == {"x"}
