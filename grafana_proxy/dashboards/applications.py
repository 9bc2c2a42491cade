"""Applications: results of one monitoring application by name — latest status and value, value
over time, detection history and the distribution of statuses."""

from __future__ import annotations

from grafana_proxy.dashboards import names as n
from grafana_proxy.dashboards.common import (
    RESULT_SEARCH,
    Json,
    application_var,
    dashboard,
    endpoint_var,
    metric_var,
    project_var,
)
from grafana_proxy.dashboards.panels import RESULT_STATUS_MAPPING, STATUS_THRESHOLDS, Board, override
from grafana_proxy.dashboards.query import Flavour, Query

RESULTS = (
    "target_endpoint=app_results;project=$PROJECT;endpoint_id=$MODELENDPOINT;application=$APPLICATION;name=$METRIC"
)


def build(fl: Flavour) -> Json:
    b = Board(fl)
    status = Query(f"{RESULTS};field=status")
    value = Query(f"{RESULTS};field=value")
    latest = b.stat("Latest status", "Status of the latest result.", status, "", (6, 6), steps=STATUS_THRESHOLDS)
    latest["fieldConfig"]["defaults"]["mappings"] = [RESULT_STATUS_MAPPING]
    b.stat("Latest value", "Value of the latest result.", value, "", (6, 6), decimals=3)
    # The distribution counts the status points of the range: the series are merged into one frame,
    # status values become strings, are grouped, and the status mapping names each slice.
    b.add(
        "piechart",
        "Status distribution",
        "How often each status occurred in the time range.",
        [Query(f"{RESULTS};field=status", long=True)],
        (12, 12),
        {"color": {"mode": "palette-classic"}},
        [override("Value", mappings=[RESULT_STATUS_MAPPING])],
        {
            "reduceOptions": {"values": True, "calcs": [], "fields": "/.*count.*/"},
            "pieType": "donut",
            "displayLabels": ["name", "percent"],
            "legend": {"displayMode": "table", "placement": "right", "showLegend": True, "values": ["value"]},
            "tooltip": {"mode": "single", "sort": "none"},
        },
        [
            {"id": "merge", "options": {}},
            {
                "id": "convertFieldType",
                "options": {"conversions": [{"targetField": "Value", "destinationType": "string"}], "fields": {}},
            },
            {
                "id": "groupBy",
                "options": {
                    "fields": {
                        "Value": {"operation": "groupby", "aggregations": []},
                        "Time": {"operation": "aggregate", "aggregations": ["count"]},
                    }
                },
            },
        ],
    )
    b.newline()
    b.timeseries("Value over time", "Result value per analysed window.", [value], (24, 8))
    b.newline()
    b.state_timeline("Detection history", "Result status per analysed window.", status, (24, 6), RESULT_STATUS_MAPPING)
    return dashboard(
        b,
        n.APPLICATIONS,
        "Results of the monitoring applications of one model endpoint.",
        [
            project_var(fl),
            endpoint_var(fl),
            application_var(fl),
            metric_var(fl, "Result", multi=True, search=RESULT_SEARCH),
        ],
        "target_endpoint=detections;project=$PROJECT;endpoint_id=$MODELENDPOINT;application=$APPLICATION",
        time_from="now-24h",
    )
