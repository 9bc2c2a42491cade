"""The built-in applications on hand-made windows: drift thresholds per project and endpoint, segments,
system performance thresholds, model performance joined with ground truth in a real store."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from grafana_proxy.apps.histogram_data_drift import HistogramDataDrift
from grafana_proxy.apps.model_performance import ModelPerformance
from grafana_proxy.apps.system_performance import SystemPerformance
from grafana_proxy.model import EndpointRecord, GroundTruth, ResultKind, ResultStatus
from grafana_proxy.monitoring.applications import ApplicationContext, EndpointUpdate, MetricValue, ResultValue, Window
from grafana_proxy.monitoring.config import MonitoringConfig
from grafana_proxy.monitoring.drift import Segment, choose_tests
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores

REFERENCE = {"x": {"count": 100, "mean": 5.0, "hist": [[50, 50], [0.0, 5.0, 10.0]]}}


def context(
    events: pd.DataFrame,
    labels: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    model_class: str = "",
    stores: Stores | None = None,
) -> ApplicationContext:
    record = EndpointRecord(
        project="p",
        uid="ep",
        feature_stats=REFERENCE,
        feature_names=["x"],
        labels=labels or {},
        model_class=model_class,
    )
    ground_truth = stores.ground_truth if stores is not None else None
    merged = MonitoringConfig.from_settings(Settings()).params_for("p") | (params or {})
    return ApplicationContext("p", "app", Window(events, record), 0, 600_000, merged, ground_truth)


def by_name(outputs: list[Any]) -> dict[str, Any]:
    return {o.name: o for o in outputs if isinstance(o, ResultValue | MetricValue)}


# 60% of the values in the reference's first bin: general drift = (0.1 + hellinger) / 2 ≈ 0.1.
SKEWED = pd.DataFrame({"x": [1.0] * 60 + [9.0] * 40, "country": ["DE"] * 50 + ["FR"] * 50})


def test_drift_app_outputs_mlrun_names_and_record_fields() -> None:
    outputs = HistogramDataDrift().do_tracking(context(SKEWED))
    named = by_name(outputs)
    assert {"tvd_mean", "hellinger_mean", "kld_mean", "missing_share_mean", "missing_share.x"} <= set(named)
    result = named["general_drift"]
    assert result.kind == ResultKind.data_drift and result.status == ResultStatus.no_detection
    assert result.value == pytest.approx((named["tvd_mean"].value + named["hellinger_mean"].value) / 2)
    update = next(o for o in outputs if isinstance(o, EndpointUpdate))
    assert set(update.fields) == {"current_stats", "drift_measures", "drift_status"}
    assert update.fields["drift_measures"]["tvd_mean"] == pytest.approx(0.1)


def test_drift_app_counts_infinities_apart_and_never_calls_an_all_infinite_window_drift() -> None:
    some = SKEWED.assign(x=[np.inf] * 10 + [1.0] * 50 + [9.0] * 40)
    named = by_name(HistogramDataDrift().do_tracking(context(some)))
    assert named["infinite_share_mean"].value == pytest.approx(0.1)
    assert named["general_drift"].status == ResultStatus.no_detection
    infinite = SKEWED.assign(x=[np.inf, -np.inf] * 50)
    result = by_name(HistogramDataDrift().do_tracking(context(infinite, params={"drift_tests": ["ks"]})))
    assert result["general_drift"].status == ResultStatus.irrelevant
    assert result["general_drift"].extra_data["not_comparable"] == {"x": "the window has no finite value"}
    assert "ks_drift" not in result


def test_drift_thresholds_from_project_params_and_endpoint_labels() -> None:
    project = HistogramDataDrift().do_tracking(context(SKEWED, params={"drift_potential": 0.05, "drift_detected": 0.5}))
    assert by_name(project)["general_drift"].status == ResultStatus.potential_detection
    labelled = context(
        SKEWED,
        labels={"drift_potential": "0.01", "drift_detected": "0.02"},
        params={"drift_potential": 0.05, "drift_detected": 0.5},
    )
    assert by_name(HistogramDataDrift().do_tracking(labelled))["general_drift"].status == ResultStatus.detected
    with pytest.raises(ValueError, match="0 < potential < detected < 1"):
        HistogramDataDrift().do_tracking(context(SKEWED, labels={"drift_potential": "0.9", "drift_detected": "0.8"}))
    with pytest.raises(ValueError, match="'drift_detected' must be a number"):
        HistogramDataDrift().do_tracking(context(SKEWED, labels={"drift_detected": "high"}))


def test_drift_app_segments_and_extra_tests() -> None:
    params = {
        "drift_segments": [Segment("country=DE", "country", "DE"), {"column": "tier", "value": 1}],
        "drift_tests": choose_tests(["psi", "ks"]),
    }
    named = by_name(HistogramDataDrift().do_tracking(context(SKEWED, params=params)))
    assert named["general_drift[country=DE]"].extra_data["segment"] == "country=DE"
    assert named["general_drift[country=DE]"].extra_data["rows"] == 50
    assert named["tvd_mean[country=DE]"].value == pytest.approx(0.5)  # all 50 German rows are 1.0
    assert named["general_drift[tier=1]"].status == ResultStatus.irrelevant
    assert {"psi_drift", "ks_drift", "psi_drift_share", "ks_drift_share[country=DE]"} <= set(named)


def test_drift_app_without_reference_is_irrelevant() -> None:
    ctx = context(SKEWED)
    ctx.window.endpoint.feature_stats = {}
    (result,) = HistogramDataDrift().do_tracking(ctx)
    assert isinstance(result, ResultValue) and result.status == ResultStatus.irrelevant


def test_system_performance_thresholds() -> None:
    events = pd.DataFrame({"latency": np.linspace(1000, 2_000_000, 100), "error": [None] * 97 + ["boom"] * 3})
    named = by_name(SystemPerformance().do_tracking(context(events)))
    assert named["latency_p95"].status == ResultStatus.detected
    assert named["latency_p95"].kind == ResultKind.system_performance
    assert (
        named["error_rate"].value == pytest.approx(0.03)
        and named["error_rate"].status == ResultStatus.potential_detection
    )
    window_rate = named["window_error_rate"]
    assert isinstance(window_rate, MetricValue) and window_rate.value == pytest.approx(0.03)
    relaxed = by_name(
        SystemPerformance().do_tracking(
            context(
                events, labels={"latency_potential_us": 3e6, "latency_detected_us": 4e6, "error_rate_detected": 0.5}
            )
        )
    )
    assert relaxed["latency_p95"].status == ResultStatus.no_detection
    with pytest.raises(ValueError, match="latency thresholds"):
        SystemPerformance().do_tracking(context(events, labels={"latency_potential_us": 5e6}))


def test_model_performance_classifier_joins_ground_truth(sqlite_stores: Stores) -> None:
    events = pd.DataFrame(
        {
            "request_id": ["a", "b", "c", "d", "e"],
            "row": [0] * 5,
            "prediction": [1.0, 0.0, 1.0, np.nan, 1.0],
            "output": ["1", "0", "1", '["1"]', "1"],
        }
    )
    sqlite_stores.ground_truth.write(
        "p",
        [
            GroundTruth("a", 1, 1),
            GroundTruth("b", "0", 1),
            GroundTruth("c", 0, 1),
            GroundTruth("d", [1], 1),
        ],
    )
    outputs = ModelPerformance().do_tracking(
        context(events, model_class="RandomForestClassifier", stores=sqlite_stores)
    )
    named = by_name(outputs)
    assert named["labelled_count"].value == 4  # "e" has no label yet
    assert named["accuracy"].value == pytest.approx(0.75)
    # class 1: tp=2 fp=1 fn=0 -> 0.8; class 0: tp=1 fp=0 fn=1 -> 2/3
    assert named["f1_macro"].value == pytest.approx((0.8 + 2 / 3) / 2)
    assert named["accuracy"].status == ResultStatus.potential_detection
    assert any(isinstance(o, EndpointUpdate) and o.fields == {"accuracy": 0.75} for o in outputs)


def test_model_performance_regressor(sqlite_stores: Stores) -> None:
    events = pd.DataFrame({"request_id": ["a", "b"], "row": [0, 0], "prediction": [2.5, 4.0], "output": ["2.5", "4"]})
    sqlite_stores.ground_truth.write("p", [GroundTruth("a", 2.0, 1), GroundTruth("b", 1.0, 1)])
    named = by_name(
        ModelPerformance().do_tracking(context(events, params={"task": "regression"}, stores=sqlite_stores))
    )
    assert named["mae"].value == pytest.approx(1.75) and named["rmse"].value == pytest.approx(np.sqrt((0.25 + 9) / 2))
    assert named["mae"].status == ResultStatus.irrelevant
    assert ModelPerformance().delay_ms({"ground_truth_delay_minutes": 30}) == 1_800_000
