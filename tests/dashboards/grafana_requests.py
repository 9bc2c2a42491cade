"""What Grafana and each plugin send for a panel or a variable, built from the dashboard JSON:
SimpleJSON posts Grafana's whole DataQueryRequest to /query (targets reduced to target, refId, hide,
type; variables interpolated with the ``regex`` format) and the variable's string to /search;
Infinity posts exactly the body written in the query, with Grafana's macros and the dashboard
variables (default ``glob`` format for multi-values) replaced."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tests.dashboards.walk import resolve_macros

Json = dict[str, Any]
INTERVAL_MS = 60_000
MAX_POINTS = 1000


def escape_regex(value: str) -> str:
    """Grafana's escapeRegex (templateSrv's ``regex`` format of a single value)."""
    return re.sub(r"[\\^$*+?.()|\[\]{}/]", lambda m: "\\" + m[0], value)


@dataclass
class Variables:
    values: dict[str, list[str]]

    def regex(self, text: str) -> str:
        return self._replace(
            text, lambda vs: escape_regex(vs[0]) if len(vs) == 1 else "(" + "|".join(escape_regex(v) for v in vs) + ")"
        )

    def glob(self, text: str) -> str:
        return self._replace(text, lambda vs: vs[0] if len(vs) == 1 else "{" + ",".join(vs) + "}")

    def _replace(self, text: str, fmt: Any) -> str:
        for name in sorted(self.values, key=len, reverse=True):
            text = text.replace("${" + name + "}", fmt(self.values[name])).replace("$" + name, fmt(self.values[name]))
        return text

    def scoped(self) -> Json:
        return {
            name: {"text": vs[0] if len(vs) == 1 else vs, "value": vs[0] if len(vs) == 1 else vs}
            for name, vs in self.values.items()
        }


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def simplejson_query(dash: Json, panel: Json, start: int, end: int, variables: Variables) -> Json:
    raw = {"from": dash["time"]["from"], "to": dash["time"]["to"]}
    scoped = {
        "__interval": {"text": "1m", "value": "1m"},
        "__interval_ms": {"text": str(INTERVAL_MS), "value": INTERVAL_MS},
        **variables.scoped(),
    }
    return {
        "app": "dashboard",
        "requestId": f"SQR{panel['id']}",
        "timezone": "browser",
        "panelId": panel["id"],
        "dashboardUID": dash["uid"],
        "range": {"from": iso(start), "to": iso(end), "raw": raw},
        "rangeRaw": raw,
        "interval": "1m",
        "intervalMs": INTERVAL_MS,
        "maxDataPoints": MAX_POINTS,
        "targets": [
            {
                "target": variables.regex(t["target"]),
                "refId": t["refId"],
                "hide": False,
                "type": t.get("type") or "timeserie",
            }
            for t in panel["targets"]
        ],
        "scopedVars": scoped,
        "startTime": end,
        "cacheTimeout": None,
        "adhocFilters": [],
    }


def simplejson_annotation(annotation: Json, start: int, end: int, raw: Json, variables: Variables) -> Json:
    return {
        "range": {"from": iso(start), "to": iso(end), "raw": raw},
        "rangeRaw": raw,
        "annotation": {
            "name": annotation["name"],
            "datasource": annotation["datasource"],
            "enable": True,
            "iconColor": annotation["iconColor"],
            "query": variables.glob(annotation["query"]),
        },
    }


def infinity_body(query: Json, start: int, end: int, variables: Variables) -> Json:
    text = resolve_macros(query["url_options"]["data"], start, end, INTERVAL_MS)
    body: Json = json.loads(variables.glob(text))
    return body
