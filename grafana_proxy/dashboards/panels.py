"""Panel builders shared by the four dashboards. A :class:`Board` places panels on Grafana's
24-column grid left to right, numbers them, and renders their queries for one flavour."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from grafana_proxy.dashboards.query import Flavour, Query

Json = dict[str, Any]

DRIFT_STATUS_MAPPING: Json = {
    "type": "value",
    "options": {
        "-1": {"text": "N/A", "color": "text", "index": 0},
        "0": {"text": "Stable", "color": "green", "index": 1},
        "1": {"text": "Potential Drift", "color": "orange", "index": 2},
        "2": {"text": "Detected", "color": "red", "index": 3},
    },
}
RESULT_STATUS_MAPPING: Json = {
    "type": "value",
    "options": {
        "-1": {"text": "Irrelevant", "color": "text", "index": 0},
        "0": {"text": "No detection", "color": "green", "index": 1},
        "1": {"text": "Potential detection", "color": "orange", "index": 2},
        "2": {"text": "Detected", "color": "red", "index": 3},
    },
}


def thresholds(*steps: tuple[str, float | None]) -> Json:
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in steps]}


GREEN = thresholds(("green", None))
DRIFT_THRESHOLDS = thresholds(("green", None), ("orange", 0.5), ("red", 0.7))
STATUS_THRESHOLDS = thresholds(("text", None), ("green", 0), ("orange", 1), ("red", 2))


def override(name: str, **props: Any) -> Json:
    """A field override by field name; ``props`` are Grafana property ids (dots as ``__``)."""
    return {
        "matcher": {"id": "byName", "options": name},
        "properties": [{"id": key.replace("__", "."), "value": value} for key, value in props.items()],
    }


class Board:
    """Collects the panels of one dashboard."""

    def __init__(self, flavour: Flavour) -> None:
        self.flavour = flavour
        self.panels: list[Json] = []
        self._x = 0
        self._y = 0
        self._row_h = 0

    def _place(self, w: int, h: int) -> Json:
        if self._x + w > 24:
            self.newline()
        pos = {"h": h, "w": w, "x": self._x, "y": self._y}
        self._x += w
        self._row_h = max(self._row_h, h)
        return pos

    def newline(self) -> None:
        if self._x:
            self._y += self._row_h
        self._x, self._row_h = 0, 0

    def add(
        self,
        kind: str,
        title: str,
        description: str,
        queries: Sequence[Query],
        size: tuple[int, int],
        defaults: Json | None = None,
        overrides: Sequence[Json] = (),
        options: Json | None = None,
        transformations: Sequence[Json] = (),
    ) -> Json:
        panel: Json = {
            "id": len(self.panels) + 1,
            "type": kind,
            "title": title,
            "description": description,
            "gridPos": self._place(*size),
            "datasource": self.flavour.ref(),
            "targets": [self.flavour.target(q) for q in queries],
            "fieldConfig": {"defaults": defaults or {}, "overrides": list(overrides)},
            "options": options or {},
        }
        if transformations:
            panel["transformations"] = list(transformations)
        self.panels.append(panel)
        return panel

    def row(self, title: str, description: str) -> Json:
        """A full-width row header (expanded), grouping the panels placed after it."""
        self.newline()
        panel: Json = {
            "id": len(self.panels) + 1,
            "type": "row",
            "title": title,
            "description": description,
            "collapsed": False,
            "gridPos": self._place(24, 1),
            "datasource": self.flavour.ref(),
            "panels": [],
        }
        self.panels.append(panel)
        self.newline()
        return panel

    def stat(
        self,
        title: str,
        description: str,
        query: Query,
        field: str,
        size: tuple[int, int],
        unit: str = "short",
        steps: Json = GREEN,
        decimals: int | None = None,
    ) -> Json:
        """A KPI read from one column (tables) or the last point (series)."""
        defaults: Json = {"unit": unit, "thresholds": steps, "color": {"mode": "thresholds"}}
        if decimals is not None:
            defaults["decimals"] = decimals
        options = {
            "reduceOptions": {"values": False, "calcs": ["lastNotNull"], "fields": f"/^{field}$/" if field else ""},
            "colorMode": "value",
            "graphMode": "none",
            "textMode": "auto",
            "justifyMode": "auto",
            "orientation": "auto",
        }
        return self.add("stat", title, description, [query], size, defaults, options=options)

    def table(
        self,
        title: str,
        description: str,
        query: Query,
        size: tuple[int, int],
        overrides: Sequence[Json] = (),
        hidden: Sequence[str] = (),
    ) -> Json:
        order = {c.name: i for i, c in enumerate(query.columns)}
        organize = {
            "id": "organize",
            "options": {"excludeByName": dict.fromkeys(hidden, True), "indexByName": order, "renameByName": {}},
        }
        defaults: Json = {
            "custom": {"align": "auto", "cellOptions": {"type": "auto"}},
            "thresholds": GREEN,
            "noValue": "N/A",
        }
        options = {"showHeader": True, "cellHeight": "sm", "footer": {"show": False}}
        return self.add("table", title, description, [query], size, defaults, overrides, options, [organize])

    def timeseries(
        self,
        title: str,
        description: str,
        queries: Sequence[Query],
        size: tuple[int, int],
        unit: str = "short",
        extra: Json | None = None,
        steps: Json = GREEN,
        draw: str = "line",
    ) -> Json:
        defaults: Json = {
            "unit": unit,
            "thresholds": steps,
            "color": {"mode": "palette-classic"},
            "custom": {
                "drawStyle": draw,
                "lineWidth": 1,
                "fillOpacity": 10 if draw == "line" else 80,
                "showPoints": "never",
                "spanNulls": False,
                "thresholdsStyle": {"mode": "off" if steps is GREEN else "line"},
            },
            **self.series_naming(),
            **(extra or {}),
        }
        options = {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "none"},
        }
        return self.add("timeseries", title, description, queries, size, defaults, options=options)

    def series_naming(self) -> Json:
        """Infinity turns the long /rows answer into one field per ``series`` label; name the fields
        by that label, as SimpleJSON names them by the series ``target``."""
        return {"displayName": "${__field.labels.series}"} if self.flavour.name == "infinity" else {}

    def heatmap(self, title: str, description: str, query: Query, size: tuple[int, int], unit: str) -> Json:
        options = {
            "calculate": True,
            "calculation": {"yBuckets": {"mode": "count", "value": "10"}},
            "color": {"mode": "scheme", "scheme": "Oranges", "steps": 64, "exponent": 0.5, "fill": "dark-orange"},
            "cellGap": 1,
            "yAxis": {"axisPlacement": "left", "unit": unit},
            "legend": {"show": True},
            "tooltip": {"mode": "single", "yHistogram": False},
            "rowsFrame": {"layout": "auto"},
        }
        return self.add("heatmap", title, description, [query], size, {"unit": unit}, options=options)

    def state_timeline(self, title: str, description: str, query: Query, size: tuple[int, int], mapping: Json) -> Json:
        defaults = {
            "mappings": [mapping],
            "thresholds": STATUS_THRESHOLDS,
            "color": {"mode": "thresholds"},
            "custom": {"fillOpacity": 80, "lineWidth": 0},
            **self.series_naming(),
        }
        options = {
            "showValue": "never",
            "mergeValues": True,
            "rowHeight": 0.9,
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "single", "sort": "none"},
        }
        return self.add("state-timeline", title, description, [query], size, defaults, options=options)
