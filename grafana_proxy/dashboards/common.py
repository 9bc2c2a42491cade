"""Dashboard-level pieces: template variables, links between the dashboards, annotations and the
dashboard object itself."""

from __future__ import annotations

from typing import Any

from grafana_proxy.dashboards.names import ALL_DASHBOARDS, DETAILS, PERFORMANCE, SCHEMA_VERSION, DashboardId
from grafana_proxy.dashboards.panels import Board
from grafana_proxy.dashboards.query import Col, Flavour, Query, cols

Json = dict[str, Any]

PROJECT_SEARCH = "target_endpoint=list_projects"
ENDPOINT_SEARCH = "target_endpoint=list_endpoints;project=$PROJECT"
APPLICATION_SEARCH = "target_endpoint=list_applications;project=$PROJECT;endpoint_id=$MODELENDPOINT"
METRIC_SEARCH = "target_endpoint=list_metrics;project=$PROJECT;endpoint_id=$MODELENDPOINT;kind=metric"
# Results of the chosen application only: the Applications panels draw app_results of that application.
RESULT_SEARCH = (
    "target_endpoint=list_metrics;project=$PROJECT;endpoint_id=$MODELENDPOINT;kind=result;application=$APPLICATION"
)


def variable(fl: Flavour, name: str, label: str, search: str, query: Any, multi: bool = False) -> Json:
    return {
        "type": "query",
        "name": name,
        "label": label,
        "datasource": fl.ref(),
        "query": query,
        "definition": search,
        "refresh": 1,
        "regex": "",
        "sort": 1,
        "multi": multi,
        "includeAll": multi,
        "hide": 0,
        "skipUrlSync": False,
        # Multi-value variables start on "All" (every option), single ones on Grafana's first option.
        "current": {"text": ["All"], "value": ["$__all"]} if multi else {},
        "options": [],
    }


def project_var(fl: Flavour) -> Json:
    return variable(fl, "PROJECT", "Project", PROJECT_SEARCH, fl.variable_query(PROJECT_SEARCH))


def endpoint_var(fl: Flavour) -> Json:
    # Infinity reads the endpoints table, so the drop-down shows names while the value stays the uid.
    query = fl.variable_query(ENDPOINT_SEARCH, Col("endpoint_id", "string"), Col("endpoint_name", "string"))
    return variable(fl, "MODELENDPOINT", "Model endpoint", ENDPOINT_SEARCH, query)


def application_var(fl: Flavour) -> Json:
    return variable(fl, "APPLICATION", "Application", APPLICATION_SEARCH, fl.variable_query(APPLICATION_SEARCH))


def metric_var(fl: Flavour, label: str = "Metric", multi: bool = False, search: str = METRIC_SEARCH) -> Json:
    """The METRIC variable: metric series names (``METRIC_SEARCH``) or one application's result names
    (``RESULT_SEARCH``), never both, so every option is something the dashboard's panels can draw."""
    return variable(fl, "METRIC", label, search, fl.variable_query(search), multi)


def dashboard_links(current: DashboardId) -> list[Json]:
    """Links to the other three dashboards carrying every variable and the time range."""
    return [
        {
            "title": other.title.removeprefix("Model Monitoring - "),
            "type": "link",
            "url": f"/d/{other.uid}/{other.slug}",
            "includeVars": True,
            "keepTime": True,
            "asDropdown": False,
            "icon": "dashboard",
            "tags": [],
            "targetBlank": False,
            "tooltip": other.title,
        }
        for other in ALL_DASHBOARDS
        if other != current
    ]


def endpoint_link(target: DashboardId, uid_expr: str = "${__value.raw}") -> Json:
    """A table cell link into a per-endpoint dashboard: MLRun's links passed ``var-MODEL`` to a
    dashboard whose variable is ``MODELENDPOINT`` and dropped the time range; these carry both."""
    return {
        "title": f"Open in {target.title.removeprefix('Model Monitoring - ')}",
        "url": f"/d/{target.uid}/{target.slug}?${{PROJECT:queryparam}}&var-MODELENDPOINT={uid_expr}"
        "&${__url_time_range}",
        "targetBlank": False,
    }


ENDPOINT_LINKS = [endpoint_link(DETAILS), endpoint_link(PERFORMANCE)]
NAME_LINKS = [
    endpoint_link(DETAILS, "${__data.fields.endpoint_id}"),
    endpoint_link(PERFORMANCE, "${__data.fields.endpoint_id}"),
]


def annotation_list(fl: Flavour, query: str) -> Json:
    """Grafana's built-in annotations, plus result detections: SimpleJSON posts the query to
    /annotations; Infinity reads /rows of the annotation target, whose columns carry the names
    Grafana maps to annotation fields (time, timeEnd, title, text, tags)."""
    items: list[Json] = [
        {
            "builtIn": 1,
            "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True,
            "hide": True,
            "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts",
            "type": "dashboard",
        }
    ]
    detections: Json = {"datasource": fl.ref(), "enable": True, "hide": False, "iconColor": "red", "name": "Detections"}
    if fl.name == "simplejson":
        detections["query"] = query
    else:
        columns = (*cols("time:t timeEnd:t title:s text:s tags:s"),)
        detections["target"] = fl.target(Query(query, "table", columns, ref_id="Anno"))
    items.append(detections)
    return {"list": items}


def dashboard(
    board: Board,
    ident: DashboardId,
    description: str,
    variables: list[Json],
    annotation_query: str,
    time_from: str = "now-6h",
    refresh: str = "1m",
) -> Json:
    return {
        "uid": ident.uid,
        "title": ident.title,
        "description": description,
        "tags": ["model-monitoring", "grafana-proxy"],
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "weekStart": "",
        "time": {"from": time_from, "to": "now"},
        "timepicker": {},
        "refresh": refresh,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "links": dashboard_links(ident),
        "annotations": annotation_list(board.flavour, annotation_query),
        "templating": {"list": variables},
        "panels": board.panels,
    }
