"""Alert rules on the Infinity flavour (the only one Grafana can evaluate: its backend parser).

Thresholds (change them here, then run ``grafana-proxy dashboards build``):
- ``DRIFT_STATUS_MIN`` = 2: fire when an endpoint's drift status is Detected (general drift >= 0.7).
- ``LATENCY_MAX_US`` = 200000: fire when an endpoint's 5-minute average latency exceeds 200 ms.
- ``ERROR_RATE_MAX`` = 0.05: fire when more than 5 % of an endpoint's requests failed (5-minute window).
Rules cover every project the datasource's key may read (``project=*``, answered once per project on
``/rows``), one series per endpoint labelled ``project``, ``endpoint_name`` and ``endpoint_id``, so a
new project or endpoint is watched without regenerating anything. ``provision --project P`` limits
the rules to the projects named.

The queries carry no ``${...}`` macros: Grafana expands environment variables in provisioning
files, and the service answers the last hour when no range is given, which is the rules' window."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import yaml

from grafana_proxy.dashboards import names as n
from grafana_proxy.dashboards.query import Col, Query, cols, infinity_query

Json = dict[str, Any]

DRIFT_STATUS_MIN = 2
LATENCY_MAX_US = 200_000
ERROR_RATE_MAX = 0.05
ALL_PROJECTS = "*"
ALERT_PROJECTS: tuple[str, ...] = (ALL_PROJECTS,)
# Labels every alert series carries: which endpoint of which project.
LABELS = ("project", "endpoint_name", "endpoint_id")
INTERVAL = "1m"
WINDOW_S = 3600


def _query(ref_id: str, query: Query, fmt: str = "table") -> Json:
    ds = n.DATASOURCES["infinity"]
    model = infinity_query({"type": ds.plugin_id, "uid": ds.uid}, query)
    # Time series: Infinity turns the time-ordered long rows into one field per label set.
    model["format"] = fmt
    model["url_options"]["data"] = json.dumps({"target": query.target})
    model.update({"refId": ref_id, "intervalMs": 60_000, "maxDataPoints": 43_200})
    return {"refId": ref_id, "relativeTimeRange": {"from": WINDOW_S, "to": 0}, "datasourceUid": ds.uid, "model": model}


def _expr(ref_id: str, model: Json) -> Json:
    return {
        "refId": ref_id,
        "relativeTimeRange": {"from": 0, "to": 0},
        "datasourceUid": "__expr__",
        "model": {"refId": ref_id, "datasource": {"type": "__expr__", "uid": "__expr__"}, **model},
    }


def _threshold(ref_id: str, source: str, limit: float) -> Json:
    return _expr(
        ref_id,
        {"type": "threshold", "expression": source, "conditions": [{"evaluator": {"type": "gt", "params": [limit]}}]},
    )


def _last(ref_id: str, source: str) -> Json:
    return _expr(ref_id, {"type": "reduce", "expression": source, "reducer": "last", "settings": {"mode": "dropNN"}})


def _rule(uid: str, title: str, condition: str, data: list[Json], wait: str, summary: str, severity: str) -> Json:
    return {
        "uid": uid,
        "title": title,
        "condition": condition,
        "data": data,
        "noDataState": "OK",
        "execErrState": "Error",
        "for": wait,
        "annotations": {"summary": summary},
        "labels": {"severity": severity, "source": "grafana-proxy"},
        "isPaused": False,
    }


def _series(project: str, metric: str) -> Query:
    columns = (Col("time", "timestamp_epoch", "Time"), Col("value", "number", "Value"), *_labels())
    return Query(f"target_endpoint=metrics;project={project};metric={metric};filter_router=true", "table", columns)


def _labels() -> tuple[Col, ...]:
    return tuple(Col(label, "string") for label in LABELS)


def rules(project: str = ALL_PROJECTS) -> list[Json]:
    """The three rules of one project (``*``: every project), with fixed uids (``gp-<kind>-<project>``,
    at most 40 chars)."""
    key = "all" if project == ALL_PROJECTS else project[:24]
    scope = "" if project == ALL_PROJECTS else f" ({project})"
    endpoints = Query(
        f"target_endpoint=list_endpoints;project={project};filter_router=true",
        "table",
        (*_labels(), *cols("drift_status")),
    )
    if project != ALL_PROJECTS:  # one project: its rows carry no project column
        endpoints = replace(endpoints, columns=endpoints.columns[1:])
    where = "{{ $labels.endpoint_name }} ({{ $labels.endpoint_id }}) of project "
    where += "{{ $labels.project }}" if project == ALL_PROJECTS else project
    return [
        _rule(
            f"gp-drift-{key}",
            f"Drift detected{scope}",
            "B",
            [_query("A", endpoints), _threshold("B", "A", DRIFT_STATUS_MIN - 0.5)],
            "1m",
            "Drift detected on endpoint " + where,
            "critical",
        ),
        _rule(
            f"gp-latency-{key}",
            f"Latency above {LATENCY_MAX_US // 1000} ms{scope}",
            "C",
            [
                _query("A", _series(project, n.LATENCY_5M), "timeseries"),
                _last("B", "A"),
                _threshold("C", "B", LATENCY_MAX_US),
            ],
            "5m",
            "5-minute average latency of " + where + " is {{ $values.B }} µs",
            "warning",
        ),
        _rule(
            f"gp-errors-{key}",
            f"Error rate above {ERROR_RATE_MAX:.0%}{scope}",
            "C",
            [
                _query("A", _series(project, n.ERROR_RATE), "timeseries"),
                _last("B", "A"),
                _threshold("C", "B", ERROR_RATE_MAX),
            ],
            "5m",
            "Error rate of " + where + " is {{ $values.B }}",
            "warning",
        ),
    ]


def api_rules(projects: Sequence[str], folder_uid: str) -> list[Json]:
    """Rules in the shape of Grafana's provisioning HTTP API (POST/PUT /api/v1/provisioning/alert-rules)."""
    return [
        {**rule, "folderUID": folder_uid, "ruleGroup": n.ALERT_GROUP, "orgID": 1}
        for project in projects
        for rule in rules(project)
    ]


HEADER = """\
# Grafana alert rules on the grafana-proxy Infinity datasource (uid grafana-proxy-infinity).
# Generated by `grafana-proxy dashboards build` from grafana_proxy/dashboards/alerts.py: edit there.
# Thresholds:
#   drift:      fire when an endpoint's drift status >= {drift} (Detected; general drift >= 0.7)
#   latency:    fire when an endpoint's 5-minute average latency > {latency} µs
#   error rate: fire when an endpoint's 5-minute error rate > {errors}
# Projects: {projects} (* = every project the key may read; labels project, endpoint_name, endpoint_id).
# Queries read the last hour (the service's default range).
"""


def provisioning_yaml(projects: Sequence[str] = ALERT_PROJECTS) -> str:
    """Grafana's alerting file-provisioning format (apiVersion 1, groups of rules)."""
    doc = {
        "apiVersion": 1,
        "groups": [
            {
                "orgId": 1,
                "name": n.ALERT_GROUP,
                "folder": n.FOLDER_TITLE,
                "interval": INTERVAL,
                "rules": [rule for project in projects for rule in rules(project)],
            }
        ],
    }
    header = HEADER.format(
        drift=DRIFT_STATUS_MIN, latency=LATENCY_MAX_US, errors=ERROR_RATE_MAX, projects=", ".join(projects)
    )
    return header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=110)
