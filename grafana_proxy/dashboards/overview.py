"""Overview: the project's KPIs, the models table (drift colours, links into Details/Performance),
heatmaps of predictions/s and latency across endpoints, and errors over time."""

from __future__ import annotations

from grafana_proxy.dashboards import names as n
from grafana_proxy.dashboards.common import ENDPOINT_LINKS, NAME_LINKS, Json, dashboard, project_var
from grafana_proxy.dashboards.panels import DRIFT_STATUS_MAPPING, Board, override, thresholds
from grafana_proxy.dashboards.query import Flavour, Query, cols

SUMMARY = "target_endpoint=project_summary;project=$PROJECT"
ENDPOINT_COLUMNS = cols(
    "endpoint_name:s endpoint_id:s endpoint_function:s endpoint_model:s endpoint_model_class:s "
    "first_request:t last_request:t accuracy error_count drift_status predictions_per_second "
    "latency_avg_1h sampling_percentage"
)


def endpoint_overrides() -> list[Json]:
    """Column titles, units and colours of an endpoints table (Overview and Details)."""
    drift_cell = {"type": "color-background", "mode": "basic"}
    return [
        override("endpoint_name", displayName="Name", links=NAME_LINKS),
        override("endpoint_id", displayName="Endpoint ID", links=ENDPOINT_LINKS),
        override("endpoint_function", displayName="Function"),
        override("endpoint_model", displayName="Model"),
        override("endpoint_model_class", displayName="Model Class"),
        override("first_request", displayName="First Request", unit="dateTimeFromNow"),
        override("last_request", displayName="Last Request", unit="dateTimeFromNow"),
        override("accuracy", displayName="Accuracy", unit="percentunit", decimals=3),
        override("error_count", displayName="Errors", unit="short"),
        override(
            "drift_status",
            displayName="Drift Status",
            mappings=[DRIFT_STATUS_MAPPING],
            custom__cellOptions=drift_cell,
            color={"mode": "thresholds"},
            thresholds=thresholds(("text", None), ("green", 0), ("orange", 1), ("red", 2)),
        ),
        override("predictions_per_second", displayName="Predictions/s", unit="reqps", decimals=2),
        override("latency_avg_1h", displayName="Avg Latency (1h)", unit="µs", decimals=0),
        override("sampling_percentage", displayName="Sampling", unit="percent"),
    ]


def build(fl: Flavour) -> Json:
    b = Board(fl)
    kpi = (4, 4)
    b.stat(
        "Endpoints",
        "Model endpoints of the project (routers not counted).",
        Query(SUMMARY, "table", cols("endpoints")),
        "endpoints",
        kpi,
    )
    b.stat(
        "Predictions/s (5 minute average)",
        "Sum over the project's endpoints, routers excluded.",
        Query(SUMMARY, "table", cols("predictions_per_second")),
        "predictions_per_second",
        kpi,
        unit="reqps",
        decimals=2,
    )
    b.stat(
        "Average latency (last hour)",
        "Mean of the endpoints' 1-hour latency averages.",
        Query(SUMMARY, "table", cols("latency_avg_1h")),
        "latency_avg_1h",
        kpi,
        unit="µs",
        decimals=0,
    )
    b.stat(
        "Errors",
        "Errors recorded by the project's endpoints.",
        Query(SUMMARY, "table", cols("error_count")),
        "error_count",
        kpi,
        steps=thresholds(("green", None), ("red", 1)),
    )
    b.stat(
        "Drift detected",
        "Endpoints whose drift status is Detected.",
        Query(SUMMARY, "table", cols("drift_detected")),
        "drift_detected",
        kpi,
        steps=thresholds(("green", None), ("red", 1)),
    )
    b.stat(
        "Potential drift",
        "Endpoints whose drift status is Potential Drift.",
        Query(SUMMARY, "table", cols("drift_potential")),
        "drift_potential",
        kpi,
        steps=thresholds(("green", None), ("orange", 1)),
    )
    b.newline()
    b.table(
        "Models",
        "Every endpoint of the project with its traffic and drift status in the selected "
        "time range. Click a name or an ID to open it in Details or Performance.",
        Query("target_endpoint=list_endpoints;project=$PROJECT", "table", ENDPOINT_COLUMNS),
        (24, 9),
        endpoint_overrides(),
        hidden=("endpoint_model",),
    )
    b.newline()
    b.heatmap(
        "Predictions/s across endpoints",
        "Distribution of the endpoints' 5-minute average predictions/s.",
        Query(f"target_endpoint=metrics;project=$PROJECT;metric={n.PREDICTIONS_PER_SECOND};filter_router=true"),
        (12, 8),
        "reqps",
    )
    b.heatmap(
        "Average latency across endpoints",
        "Distribution of the 1-hour latency average across endpoints.",
        Query(f"target_endpoint=metrics;project=$PROJECT;metric={n.LATENCY_1H};filter_router=true"),
        (12, 8),
        "µs",
    )
    b.newline()
    b.timeseries(
        "Errors over time",
        "Errors per endpoint over time.",
        [Query(f"target_endpoint=metrics;project=$PROJECT;metric={n.ERROR_COUNT};agg=sum;filter_router=true")],
        (24, 8),
        draw="bars",
    )
    return dashboard(
        b,
        n.OVERVIEW,
        "Project-wide view of the model endpoints: traffic, latency, errors and drift.",
        [project_var(fl)],
        "target_endpoint=detections;project=$PROJECT",
        refresh="30s",
    )
