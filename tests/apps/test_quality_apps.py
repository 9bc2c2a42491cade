"""The built-in data-quality and outliers applications on hand-made windows with known answers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from grafana_proxy.apps.data_quality import DataQuality
from grafana_proxy.apps.outliers import Outliers
from grafana_proxy.model import EndpointRecord, ResultKind, ResultStatus
from grafana_proxy.monitoring.applications import ApplicationContext, MetricValue, ResultValue, Window
from grafana_proxy.monitoring.stats import reference_stats

rng = np.random.default_rng(7)
TRAIN = pd.DataFrame(
    {
        "age": rng.normal(40, 10, 5000),
        "income": rng.normal(50_000, 8_000, 5000),
        "colour": rng.choice(["red", "green", "blue"], 5000),
    }
)
REFERENCE = reference_stats(TRAIN)


def context(
    events: pd.DataFrame, labels: dict[str, Any] | None = None, params: dict[str, Any] | None = None
) -> ApplicationContext:
    record = EndpointRecord(
        project="p", uid="ep", feature_stats=REFERENCE, feature_names=["age", "income", "colour"], labels=labels or {}
    )
    return ApplicationContext("p", "app", Window(events, record), 0, 600_000, params or {})


def results(outputs: list[Any]) -> dict[str, ResultValue]:
    return {o.name: o for o in outputs if isinstance(o, ResultValue)}


def metrics(outputs: list[Any]) -> dict[str, float]:
    return {o.name: o.value for o in outputs if isinstance(o, MetricValue)}


def window(n: int = 1000) -> pd.DataFrame:
    return TRAIN.sample(n, random_state=1).reset_index(drop=True)


def test_a_clean_window_has_no_findings() -> None:
    out = DataQuality().do_tracking(context(window()))
    named = results(out)
    for check in ("missing_share", "wrong_type_share", "out_of_range_share", "unseen_category_share"):
        assert named[check].status == ResultStatus.no_detection, (check, named[check])
        assert named[check].kind == ResultKind.data_drift
    assert named["out_of_range_share"].value == 0.0  # sampled from the training rows: inside min/max
    assert named["row_count"].value == 1000 and named["row_count"].status == ResultStatus.irrelevant
    assert named["row_count"].kind == ResultKind.system_performance


def test_each_check_counts_its_own_problem() -> None:
    events = window(1000)
    events.loc[:99, "age"] = None  # 10% missing
    events.loc[100:399, "income"] = 1e9  # 30% out of range
    events["colour"] = events["colour"].astype(object)
    events.loc[:49, "colour"] = "purple"  # 5% unseen
    events.loc[50:69, "colour"] = "3.5"  # 2% numbers where the training had words
    named = results(DataQuality().do_tracking(context(events)))
    assert named["missing_share"].value == pytest.approx(0.1)
    assert named["missing_share"].status == ResultStatus.potential_detection
    assert named["missing_share"].extra_data["worst_feature"] == "age"
    assert named["out_of_range_share"].value == pytest.approx(0.3)
    assert named["out_of_range_share"].status == ResultStatus.detected
    assert named["out_of_range_share"].extra_data["flagged"] == ["income"]
    assert named["unseen_category_share"].value == pytest.approx(0.07)  # purple and "3.5" are both unseen
    assert named["wrong_type_share"].value == pytest.approx(0.02)
    assert named["wrong_type_share"].status == ResultStatus.potential_detection


def test_text_in_a_numeric_feature_is_the_wrong_type_and_thresholds_come_from_labels() -> None:
    events = window(200)
    events["age"] = events["age"].astype(object)
    events.loc[:9, "age"] = "forty"
    out = DataQuality().do_tracking(context(events))
    assert results(out)["wrong_type_share"].value == pytest.approx(0.05)
    assert results(out)["wrong_type_share"].status == ResultStatus.detected
    assert metrics(out)["data_quality.wrong_type_share.age"] == pytest.approx(0.05)
    relaxed = context(events, labels={"wrong_type_share_potential": "0.1", "wrong_type_share_detected": "0.2"})
    assert results(DataQuality().do_tracking(relaxed))["wrong_type_share"].status == ResultStatus.no_detection
    with pytest.raises(ValueError, match="potential < detected"):
        DataQuality().do_tracking(
            context(events, params={"missing_share_potential": 0.5, "missing_share_detected": 0.1})
        )


def test_row_count_against_the_expected_rate() -> None:
    # 600 s window at 1 row/s expects 600 rows.
    named = results(DataQuality().do_tracking(context(window(500), params={"expected_rows_per_second": 1})))
    assert named["row_count"].status == ResultStatus.no_detection
    assert named["row_count"].extra_data["expected_rows"] == 600
    low = results(DataQuality().do_tracking(context(window(100), params={"expected_rows_per_second": 1})))
    assert low["row_count"].status == ResultStatus.detected  # 6x fewer than expected
    high = results(DataQuality().do_tracking(context(window(1800), params={"expected_rows_per_second": 1})))
    assert high["row_count"].status == ResultStatus.potential_detection  # 3x more


def test_a_feature_missing_from_the_window_is_all_missing() -> None:
    named = results(DataQuality().do_tracking(context(window().drop(columns=["income"]))))
    assert named["missing_share"].value == 1.0 and named["missing_share"].status == ResultStatus.detected
    assert named["missing_share"].extra_data["absent_features"] == ["income"]


def test_outliers_share_of_rows_beyond_the_far_out_fences() -> None:
    clean = Outliers().do_tracking(context(window(2000)))
    assert results(clean)["outlier_share"].status == ResultStatus.no_detection
    assert results(clean)["outlier_share"].kind == ResultKind.mm_app_anomaly
    assert results(clean)["outlier_share"].value < 0.005
    events = window(1000)
    # Rows 0-39 far out on age (200 is 16 sd above the mean), rows 30-69 on income: 70 rows in all.
    events.loc[:39, "age"] = 200.0
    events.loc[30:69, "income"] = -1e6
    out = Outliers().do_tracking(context(events))
    named = results(out)
    assert named["outlier_share"].value == pytest.approx(0.07 + results(clean)["outlier_share"].value, abs=0.004)
    assert named["outlier_share"].status == ResultStatus.detected
    assert named["outlier_share"].extra_data["features"]["age"] == pytest.approx(0.04, abs=0.002)
    assert metrics(out)["outlier_share"] == named["outlier_share"].value
    # Tukey's "outside" (1.5 IQR) instead of "far out" flags more rows.
    wider = results(Outliers().do_tracking(context(window(2000), params={"outlier_fence": 1.5})))
    assert wider["outlier_share"].value > results(clean)["outlier_share"].value


def test_outliers_without_numerical_reference_is_irrelevant() -> None:
    record = EndpointRecord(
        project="p", uid="ep", feature_stats={"colour": REFERENCE["colour"]}, feature_names=["colour"]
    )
    ctx = ApplicationContext("p", "app", Window(window()[["colour"]], record), 0, 600_000, {})
    assert results(Outliers().do_tracking(ctx))["outlier_share"].status == ResultStatus.irrelevant
