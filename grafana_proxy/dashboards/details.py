"""Details: one endpoint's record, overall drift, feature analysis (actual vs expected), incoming
features and drift metrics over time, and the drift status timeline."""

from __future__ import annotations

from grafana_proxy.dashboards import names as n
from grafana_proxy.dashboards.common import Json, dashboard, endpoint_var, project_var
from grafana_proxy.dashboards.overview import ENDPOINT_COLUMNS, endpoint_overrides
from grafana_proxy.dashboards.panels import (
    DRIFT_STATUS_MAPPING,
    DRIFT_THRESHOLDS,
    Board,
    override,
)
from grafana_proxy.dashboards.quality import add_quality_row
from grafana_proxy.dashboards.query import Flavour, Query, cols

ONE = "project=$PROJECT;endpoint_id=$MODELENDPOINT"
DISTANCES = (("tvd", "TVD"), ("hellinger", "Hellinger"), ("kld", "KLD"))


def feature_overrides() -> list[Json]:
    # MLRun labelled expected_max "Expected Min" and expected_min "Expected Max"; each name here
    # is written once, next to its own column.
    titles = {
        "feature_name": "Feature",
        "actual_min": "Actual Min",
        "actual_mean": "Actual Mean",
        "actual_max": "Actual Max",
        "expected_min": "Expected Min",
        "expected_mean": "Expected Mean",
        "expected_max": "Expected Max",
    }
    out = [override(col, displayName=title) for col, title in titles.items()]
    gauge = {"type": "color-background", "mode": "gradient"}
    for col, title in DISTANCES:
        out.append(
            override(
                col,
                displayName=title,
                custom__cellOptions=gauge,
                thresholds=DRIFT_THRESHOLDS,
                color={"mode": "thresholds"},
                decimals=3,
            )
        )
    return out


def build(fl: Flavour) -> Json:
    b = Board(fl)
    b.table(
        "Endpoint",
        "The endpoint's record: model, traffic, errors and drift status.",
        Query("target_endpoint=list_endpoints;project=$PROJECT;uids=$MODELENDPOINT", "table", ENDPOINT_COLUMNS),
        (24, 4),
        endpoint_overrides(),
    )
    b.newline()
    overall = cols("tvd_sum tvd_mean hellinger_sum hellinger_mean kld_sum kld_mean")
    titles = {
        "tvd_sum": "TVD (sum)",
        "tvd_mean": "TVD (mean)",
        "hellinger_sum": "Hellinger (sum)",
        "hellinger_mean": "Hellinger (mean)",
        "kld_sum": "KLD (sum)",
        "kld_mean": "KLD (mean)",
    }
    b.table(
        "Overall drift analysis",
        "Distances between the reference and the current window, summed and averaged over the features.",
        Query(f"target_endpoint=overall_feature_analysis;{ONE}", "table", overall),
        (24, 4),
        [override(c, displayName=t, decimals=3) for c, t in titles.items()],
    )
    b.newline()
    features = cols(
        "feature_name:s actual_min actual_mean actual_max expected_min expected_mean expected_max tvd hellinger kld"
    )
    b.table(
        "Features analysis",
        "Per feature: actual (current window) against expected (reference) statistics and the drift distances.",
        Query(f"target_endpoint=individual_feature_analysis;{ONE}", "table", features),
        (16, 9),
        feature_overrides(),
    )
    b.add(
        "bargauge",
        "Feature drift (TVD)",
        "Total variance distance per feature.",
        [Query(f"target_endpoint=individual_feature_analysis;{ONE}", "table", cols("feature_name:s tvd"))],
        (8, 9),
        {"min": 0, "max": 1, "thresholds": DRIFT_THRESHOLDS, "color": {"mode": "thresholds"}, "decimals": 3},
        options={
            "reduceOptions": {"values": True, "calcs": [], "fields": "/^tvd$/"},
            "orientation": "horizontal",
            "displayMode": "gradient",
            "showUnfilled": True,
            "valueMode": "color",
            "namePlacement": "auto",
            "sizing": "auto",
        },
    )
    b.newline()
    b.timeseries(
        "Incoming features",
        "Sampled values of the endpoint's input features.",
        [Query(f"target_endpoint=incoming_features;{ONE}")],
        (24, 8),
    )
    b.newline()
    b.timeseries(
        "Drift metrics over time",
        "Mean TVD, Hellinger and KLD of each analysed window; 0.5 potential drift, 0.7 detected.",
        [Query(f"target_endpoint=metrics;{ONE};metric={','.join(n.DRIFT_METRICS)}")],
        (16, 8),
        extra={"min": 0},
        steps=DRIFT_THRESHOLDS,
    )
    b.state_timeline(
        "Drift status",
        "Status of the general drift result per analysed window.",
        Query(f"target_endpoint=app_results;{ONE};application={n.DRIFT_APP};name={n.DRIFT_RESULT};field=status"),
        (8, 8),
        DRIFT_STATUS_MAPPING,
    )
    add_quality_row(b)
    return dashboard(
        b,
        n.DETAILS,
        "One model endpoint: its record, drift analysis and incoming features.",
        [project_var(fl), endpoint_var(fl)],
        "target_endpoint=detections;project=$PROJECT;endpoint_id=$MODELENDPOINT",
    )
