"""Performance: one endpoint's latency, traffic, error rate, custom metrics and model-performance
results over time."""

from __future__ import annotations

from grafana_proxy.dashboards import names as n
from grafana_proxy.dashboards.common import Json, dashboard, endpoint_var, metric_var, project_var
from grafana_proxy.dashboards.panels import Board, thresholds
from grafana_proxy.dashboards.query import Flavour, Query

ONE = "project=$PROJECT;endpoint_id=$MODELENDPOINT"


def metrics(*names: str) -> Query:
    return Query(f"target_endpoint=metrics;{ONE};metric={','.join(names)}")


def build(fl: Flavour) -> Json:
    b = Board(fl)
    b.timeseries(
        "Average latency",
        "Mean latency over the last 5 minutes and the last hour.",
        [metrics(n.LATENCY_5M, n.LATENCY_1H)],
        (12, 8),
        unit="µs",
    )
    b.timeseries(
        "Predictions/s (5 minute average)",
        "Predictions per second.",
        [metrics(n.PREDICTIONS_PER_SECOND)],
        (12, 8),
        unit="reqps",
    )
    b.newline()
    b.timeseries(
        "Predictions count",
        "Predictions in the last 5 minutes and the last hour.",
        [metrics(n.COUNT_5M, n.COUNT_1H)],
        (12, 8),
    )
    b.timeseries(
        "Error rate",
        "Share of requests that failed (5-minute window).",
        [metrics(n.ERROR_RATE)],
        (12, 8),
        unit="percentunit",
        extra={"min": 0},
        steps=thresholds(("green", None), ("orange", 0.01), ("red", 0.05)),
    )
    b.newline()
    b.timeseries(
        "Custom metrics",
        "The metrics chosen in the Metric variable.",
        [Query(f"target_endpoint=metrics;{ONE};metric=$METRIC")],
        (12, 8),
    )
    b.timeseries(
        "Model performance",
        "Results of the model-performance application (accuracy, F1 for "
        "classifiers; MAE, RMSE for regressors) per analysed window.",
        [Query(f"target_endpoint=app_results;{ONE};application={n.MODEL_PERFORMANCE_APP};field=value")],
        (12, 8),
    )
    return dashboard(
        b,
        n.PERFORMANCE,
        "One model endpoint: latency, traffic, errors and model performance.",
        [project_var(fl), endpoint_var(fl), metric_var(fl, "Custom metrics", multi=True)],
        "target_endpoint=detections;project=$PROJECT;endpoint_id=$MODELENDPOINT",
    )
