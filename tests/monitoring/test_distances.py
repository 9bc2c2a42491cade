"""MLRun's distance formulas on hand-computed cases; the extra tests against scipy on the same data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from scipy.spatial import distance

from grafana_proxy.monitoring.distances import hellinger, kld, tvd
from grafana_proxy.monitoring.drift import choose_tests, compare
from grafana_proxy.monitoring.stats import window_stats


def rows(*vectors: list[float]) -> np.ndarray:
    return np.array(vectors, dtype=float)


def test_identical_distributions_are_zero() -> None:
    p = rows([0.1, 0.2, 0.3, 0.4])
    assert tvd(p, p)[0] == 0.0
    assert hellinger(p, p)[0] == pytest.approx(0.0, abs=1e-7)
    assert kld(p, p)[0] == 0.0


def test_disjoint_distributions() -> None:
    t, u = rows([0.5, 0.5, 0.0, 0.0]), rows([0.0, 0.0, 0.5, 0.5])
    assert tvd(t, u)[0] == 1.0
    assert hellinger(t, u)[0] == 1.0
    # Zero actual terms are skipped; zero expected becomes 1e-4: 2 * (2 * 0.5 * ln(0.5 / 1e-4)).
    assert kld(t, u)[0] == pytest.approx(2 * math.log(0.5 / 1e-4))


def test_hand_computed_values() -> None:
    t, u = rows([0.2, 0.3, 0.5]), rows([0.25, 0.25, 0.5])
    assert tvd(t, u)[0] == pytest.approx((0.05 + 0.05) / 2)
    overlap = math.sqrt(0.2 * 0.25) + math.sqrt(0.3 * 0.25) + 0.5
    assert hellinger(t, u)[0] == pytest.approx(math.sqrt(1 - overlap))
    expected = sum(a * math.log(a / b) + b * math.log(b / a) for a, b in ((0.2, 0.25), (0.3, 0.25)))
    assert kld(t, u)[0] == pytest.approx(expected)


def test_rows_are_independent_and_padding_with_zeros_changes_nothing() -> None:
    t = rows([0.2, 0.3, 0.5, 0.0], [1.0, 0.0, 0.0, 0.0])
    u = rows([0.25, 0.25, 0.5, 0.0], [0.0, 1.0, 0.0, 0.0])
    assert tvd(t, u).tolist() == pytest.approx([0.05, 1.0])
    assert tvd(t[:, :3], u[:, :3]).tolist() == pytest.approx(tvd(t, u).tolist())


def midpoint_samples() -> tuple[np.ndarray, np.ndarray, dict[str, dict[str, object]]]:
    """Integers 0..9 with bin edges at the half-integers: each bin holds one value, so histogram-based
    statistics equal the raw-data ones."""
    rng = np.random.default_rng(11)
    ref = rng.integers(0, 10, 4000).astype(float)
    cur = np.clip(rng.integers(0, 10, 3000) + rng.integers(0, 2, 3000), 0, 9).astype(float)
    edges = np.arange(-0.5, 10.0, 1.0)
    counts = np.histogram(ref, bins=edges)[0]
    reference = {"x": {"count": ref.size, "std": float(ref.std(ddof=1)), "hist": [counts.tolist(), edges.tolist()]}}
    return ref, cur, reference


def report_for(reference: dict[str, dict[str, object]], cur: np.ndarray, tests: list[str]) -> dict[str, object]:
    current = window_stats(pd.DataFrame({"x": cur}), reference)
    report = compare(reference, current, cur.size, tests=choose_tests(tests))
    tests_out: dict[str, object] = report.features["x"]["tests"]
    return tests_out


def test_ks_statistic_matches_scipy_when_ecdf_jumps_lie_in_separate_bins() -> None:
    ref, cur, reference = midpoint_samples()
    result = report_for(reference, cur, ["ks"])["ks"]
    expected = sps.ks_2samp(ref, cur, method="asymp")
    assert result["statistic"] == pytest.approx(expected.statistic, rel=1e-12)
    # With ties the Kolmogorov distribution overstates the spread: the binned p-value is smaller.
    assert result["p_value"] <= expected.pvalue
    assert result["drift"] is True


def test_wasserstein_matches_scipy_divided_by_reference_population_std() -> None:
    ref, cur, reference = midpoint_samples()
    result = report_for(reference, cur, ["wasserstein"])["wasserstein"]
    expected = sps.wasserstein_distance(ref, cur) / ref.std(ddof=0)  # Evidently's np.std
    assert result["statistic"] == pytest.approx(expected, rel=1e-9)


def test_chisquare_is_scipys_two_sample_contingency_test() -> None:
    ref, cur, reference = midpoint_samples()
    result = report_for(reference, cur, ["chisquare"])["chisquare"]
    edges = np.arange(-0.5, 10.0, 1.0)
    table = [np.histogram(cur, bins=edges)[0], np.histogram(ref, bins=edges)[0]]
    expected = sps.chi2_contingency(table, correction=False)
    assert result["statistic"] == pytest.approx(expected.statistic, rel=1e-9)
    assert result["p_value"] == pytest.approx(expected.pvalue, rel=1e-6, abs=1e-300)


def test_jensenshannon_matches_scipy_and_psi_matches_hand_formula() -> None:
    ref, cur, reference = midpoint_samples()
    out = report_for(reference, cur, ["jensenshannon", "psi"])
    p = np.histogram(cur, bins=np.arange(-0.5, 10.0, 1.0))[0] / cur.size
    q = np.histogram(ref, bins=np.arange(-0.5, 10.0, 1.0))[0] / ref.size
    assert out["jensenshannon"]["statistic"] == pytest.approx(distance.jensenshannon(p, q), rel=1e-9)
    assert out["psi"]["statistic"] == pytest.approx(float(np.sum((p - q) * np.log(p / q))), rel=1e-12)


def test_same_sample_shows_no_drift_in_any_test() -> None:
    ref, _, reference = midpoint_samples()
    out = report_for(reference, ref, ["ks", "chisquare", "psi", "wasserstein", "jensenshannon"])
    assert {name: r["drift"] for name, r in out.items()} == dict.fromkeys(out, False)
    assert out["ks"]["statistic"] == 0.0 and out["ks"]["p_value"] == 1.0


def test_unknown_test_name_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="unknown drift test.*choose from ks, chisquare, psi"):
        choose_tests(["ks", "anderson"])
