from __future__ import annotations

import math

import numpy as np
import pytest

from grafana_proxy.seeding.histograms import (
    describe,
    drift_measures,
    general_drift_status,
    hellinger,
    kld,
    padded_edges,
    reference_probabilities,
    tvd,
)


def test_distances_of_identical_and_disjoint_distributions() -> None:
    same = np.array([[0.25, 0.25, 0.5, 0.0]])
    assert tvd(same, same)[0] == pytest.approx(0.0)
    assert hellinger(same, same)[0] == pytest.approx(0.0, abs=1e-7)
    assert kld(same, same)[0] == pytest.approx(0.0)
    left, right = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])
    assert tvd(left, right)[0] == pytest.approx(1.0)
    assert hellinger(left, right)[0] == pytest.approx(1.0)
    # Zero expected probabilities are replaced by 1e-4 (MLRun): finite, symmetric, 2 * log(1e4).
    assert kld(left, right)[0] == pytest.approx(2 * math.log(1e4))


def test_kld_is_symmetric_and_matches_the_formula() -> None:
    t, u = np.array([[0.2, 0.3, 0.5]]), np.array([[0.4, 0.4, 0.2]])
    expected = sum(a * math.log(a / b) + b * math.log(b / a) for a, b in zip(t[0], u[0], strict=True))
    assert kld(t, u)[0] == pytest.approx(expected)
    assert kld(u, t)[0] == pytest.approx(expected)


def test_describe_is_mlrun_feature_stats() -> None:
    values = np.arange(1000, dtype=np.float64)
    stats = describe(values)
    assert stats["count"] == 1000 and stats["min"] == 0 and stats["max"] == 999
    assert stats["50%"] == pytest.approx(499.5) and stats["mean"] == pytest.approx(499.5)
    counts, edges = stats["hist"]
    assert len(counts) == 20 and len(edges) == 21 and sum(counts) == 1000
    padded = padded_edges(np.asarray(edges))
    assert len(padded) == 23 and padded[0] < -1e300 and padded[-1] > 1e300
    probs = reference_probabilities(stats)
    assert len(probs) == 22 and probs[0] == 0 and probs[-1] == 0 and probs.sum() == pytest.approx(1.0)


def test_drift_measures_and_status() -> None:
    measures = drift_measures(
        {"a": {"tvd": 0.2, "hellinger": 0.4, "kld": 1.0}, "b": {"tvd": 0.4, "hellinger": 0.6, "kld": 3.0}}
    )
    assert measures["tvd_sum"] == pytest.approx(0.6) and measures["tvd_mean"] == pytest.approx(0.3)
    assert measures["kld_mean"] == pytest.approx(2.0) and measures["a"]["tvd"] == 0.2
    assert [general_drift_status(v) for v in (0.1, 0.5, 0.69, 0.7, 1.0)] == [0, 1, 1, 2, 2]
