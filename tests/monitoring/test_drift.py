"""The drift report: aggregates, general drift and its classification, missing values, categorical
features, features absent on either side, segments."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from grafana_proxy.model import ResultStatus
from grafana_proxy.monitoring.drift import DriftThresholds, Segment, analyze, analyze_segments
from grafana_proxy.monitoring.stats import reference_stats

RNG = np.random.default_rng(5)
TRAIN = pd.DataFrame(
    {"a": RNG.normal(size=4000), "b": RNG.uniform(0, 10, 4000), "c": RNG.choice(["x", "y", "z"], 4000)}
)
REFERENCE = reference_stats(TRAIN)


def test_same_data_as_reference_has_zero_drift() -> None:
    report = analyze(TRAIN, REFERENCE)
    assert report.aggregates["tvd_sum"] == 0.0 and report.aggregates["kld_mean"] == 0.0
    assert report.aggregates["hellinger_mean"] == pytest.approx(0.0, abs=1e-7)
    assert report.status == ResultStatus.no_detection


def test_disjoint_window_is_detected_and_aggregates_are_sums_and_means() -> None:
    window = pd.DataFrame({"a": np.full(100, 50.0), "b": np.full(100, -50.0), "c": ["w"] * 100})
    report = analyze(window, REFERENCE)
    for name in ("a", "b", "c"):
        assert report.features[name]["tvd"] == pytest.approx(1.0)
        assert report.features[name]["hellinger"] == pytest.approx(1.0)
    assert report.aggregates["tvd_sum"] == pytest.approx(3.0)
    assert report.aggregates["tvd_mean"] == pytest.approx(1.0)
    kld = [report.features[n]["kld"] for n in ("a", "b", "c")]
    assert report.aggregates["kld_mean"] == pytest.approx(sum(kld) / 3)
    assert report.general_drift == pytest.approx(1.0)
    assert report.status == ResultStatus.detected
    measures = report.drift_measures()
    assert set(measures) >= {"a", "b", "c", "tvd_sum", "tvd_mean", "hellinger_sum", "hellinger_mean", "kld_sum"}


@pytest.mark.parametrize(
    ("value", "status"),
    [
        (0.0, ResultStatus.no_detection),
        (0.49, ResultStatus.no_detection),
        (0.5, ResultStatus.potential_detection),
        (0.69, ResultStatus.potential_detection),
        (0.7, ResultStatus.detected),
        (None, ResultStatus.irrelevant),
    ],
)
def test_classifier_default_thresholds(value: float | None, status: ResultStatus) -> None:
    assert DriftThresholds().classify(value) == status


@pytest.mark.parametrize(("potential", "detected"), [(0.7, 0.5), (0.5, 0.5), (0.0, 0.5), (0.5, 1.0), (-1, 0.5)])
def test_thresholds_must_be_ordered_inside_zero_one(potential: float, detected: float) -> None:
    with pytest.raises(ValueError, match="0 < potential < detected < 1"):
        DriftThresholds(potential, detected)


def test_custom_thresholds_change_the_status() -> None:
    shifted = TRAIN.assign(a=TRAIN["a"] + 1.0)
    report = analyze(shifted, REFERENCE)
    assert report.status == ResultStatus.no_detection
    assert analyze(shifted, REFERENCE, DriftThresholds(0.05, 0.1)).status == ResultStatus.detected


def test_missing_values_are_their_own_measure_and_dropped_before_histograms() -> None:
    window = TRAIN.copy()
    window.loc[:1999, "a"] = np.nan
    report = analyze(window, REFERENCE)
    assert report.features["a"]["missing_share"] == pytest.approx(0.5)
    assert report.features["b"]["missing_share"] == 0.0
    assert report.current_stats["a"]["count"] == 2000
    assert sum(report.current_stats["a"]["hist"][0]) == 2000
    assert report.features["a"]["tvd"] < 0.1  # the remaining half still looks like the reference
    assert report.missing_share_mean == pytest.approx(0.5 / 3)


def test_all_missing_feature_is_reported_but_left_out_of_the_means() -> None:
    window = TRAIN.assign(a=np.nan)
    report = analyze(window, REFERENCE)
    assert report.features["a"]["tvd"] is None and report.features["a"]["missing_share"] == 1.0
    assert report.aggregates["tvd_mean"] == pytest.approx(
        (report.features["b"]["tvd"] + report.features["c"]["tvd"]) / 2
    )


def test_categorical_uses_category_frequencies() -> None:
    window = pd.DataFrame({"c": ["x"] * 50 + ["y"] * 50})
    report = analyze(window, {"c": REFERENCE["c"]})
    ref = REFERENCE["c"]["categories"]
    total = sum(ref.values())
    expected = (abs(0.5 - ref["x"] / total) + abs(0.5 - ref["y"] / total) + ref["z"] / total) / 2
    assert report.features["c"]["tvd"] == pytest.approx(expected)
    assert report.features["c"]["kind"] == "categorical"


def test_absent_features_are_reported_not_fatal() -> None:
    reference = {**REFERENCE, "text": {"count": 10, "unique": 3, "top": "q", "freq": 5}}
    window = pd.DataFrame({"a": TRAIN["a"], "new_feature": 1.0})
    report = analyze(window, reference)
    assert report.unreferenced == ["new_feature"]
    assert report.not_comparable == {
        "text": "the reference has neither a histogram nor category counts",
        "b": "the window has no finite value",
        "c": "the window has no value",
    }
    assert report.features["b"]["missing_share"] == 1.0 and report.features["b"]["tvd"] is None
    assert report.aggregates["tvd_mean"] == pytest.approx(report.features["a"]["tvd"])


def test_window_without_any_comparable_value_is_irrelevant() -> None:
    report = analyze(pd.DataFrame({"zzz": [1.0, 2.0]}), REFERENCE)
    assert report.general_drift is None and report.status == ResultStatus.irrelevant
    assert report.aggregates["tvd_mean"] is None


def test_segments_analyse_only_matching_rows() -> None:
    n = 2000
    window = pd.DataFrame({"a": RNG.normal(size=n), "b": RNG.uniform(0, 10, n), "c": ["x"] * n})
    events = pd.DataFrame({"country": ["DE"] * (n // 2) + ["FR"] * (n // 2), "store": [1] * n})
    window.loc[: n // 2 - 1, "a"] = 40.0  # only the German rows drift
    segments = [
        Segment.parse({"name": "country=DE", "column": "country", "value": "DE"}),
        Segment.parse({"column": "country", "value": "FR"}),
        Segment.parse({"column": "store", "value": 1}),
        Segment.parse({"column": "region", "value": "EU"}),
    ]
    reports = analyze_segments(window, events, {"a": REFERENCE["a"]}, segments)
    assert set(reports) == {"country=DE", "country=FR", "store=1", "region=EU"}
    de, fr, store = reports["country=DE"], reports["country=FR"], reports["store=1"]
    assert de is not None and fr is not None and store is not None
    assert de.rows == fr.rows == n // 2 and store.rows == n
    assert de.features["a"]["tvd"] == pytest.approx(1.0)
    assert fr.features["a"]["tvd"] < 0.1
    assert reports["region=EU"] is None


def test_segment_definition_needs_column_and_value() -> None:
    with pytest.raises(ValueError, match="missing 'value'"):
        Segment.parse({"column": "country"})
