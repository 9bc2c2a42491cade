"""A flavour-neutral panel query and its two renderings: the SimpleJSON target and the Infinity
(backend parser) query against the contract's ``/rows`` route.

Infinity sends only what the query says, so its body carries the time range and interval through
Grafana's macros; dashboard variables inside the target string are interpolated by Grafana in both
flavours."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from grafana_proxy.dashboards.names import DATASOURCES, FlavourName

ColumnType = Literal["string", "number", "timestamp_epoch"]
QueryKind = Literal["timeserie", "table"]

# Column names of a series answer on /rows (contract: one object per point).
SERIES_TIME = "time"
SERIES_VALUE = "value"
SERIES_NAME = "series"


@dataclass(frozen=True)
class Col:
    """A column Infinity extracts from each /rows object (``selector``) and names ``text``."""

    selector: str
    type: ColumnType = "number"
    text: str = ""

    @property
    def name(self) -> str:
        return self.text or self.selector


def cols(spec: str) -> tuple[Col, ...]:
    """``"endpoint_id:s first_request:t accuracy"`` -> columns (s string, t epoch ms, else number)."""
    types: dict[str, ColumnType] = {"s": "string", "t": "timestamp_epoch", "n": "number"}
    out: list[Col] = []
    for item in spec.split():
        name, _, kind = item.partition(":")
        out.append(Col(name, types[kind or "n"]))
    return tuple(out)


@dataclass(frozen=True)
class Query:
    """One request target. ``columns`` (tables) are the columns the panel needs; ``long`` asks
    Infinity for the raw point rows instead of one field per series (for group-by panels)."""

    target: str
    kind: QueryKind = "timeserie"
    columns: tuple[Col, ...] = ()
    long: bool = False
    ref_id: str = "A"


@dataclass(frozen=True)
class Flavour:
    """Renders queries for one datasource type; ``ds_uid`` is the concrete uid or the
    ``${DS_...}`` placeholder of the importable variant."""

    name: FlavourName
    ds_uid: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def plugin_id(self) -> str:
        return DATASOURCES[self.name].plugin_id

    def ref(self) -> dict[str, str]:
        return {"type": self.plugin_id, "uid": self.ds_uid}

    def target(self, query: Query) -> dict[str, Any]:
        if self.name == "simplejson":
            return {"datasource": self.ref(), "refId": query.ref_id, "target": query.target, "type": query.kind}
        return infinity_query(self.ref(), query)

    def variable_query(self, search_target: str, value: Col | None = None, text: Col | None = None) -> Any:
        """The ``query`` of a template variable. SimpleJSON: the target string, sent to /search.
        Infinity: a /rows query; with ``value``/``text`` it reads those table columns as
        ``__value``/``__text``, else the ``value`` key of each object of a search answer."""
        if self.name == "simplejson":
            return search_target
        if value is None:
            columns: tuple[Col, ...] = (Col("value", "string", "__value"),)
        else:
            columns = (Col(value.selector, "string", "__value"),)
            if text is not None:
                columns = (Col(text.selector, "string", "__text"), *columns)
        query = Query(search_target, "table", columns, ref_id="variable")
        return {
            "queryType": "infinity",
            "refId": "variable",
            "query": "",
            "infinityQuery": infinity_query(self.ref(), query, interval=False),
        }


def infinity_body(target: str, interval: bool = True) -> str:
    """The POST body of every Infinity query. Macros stay unquoted numbers: Grafana replaces them
    before the request; the target string is JSON-escaped once, here. Variable queries leave out
    the interval, which Grafana does not define for them (a literal macro would not be JSON)."""
    interval_part = ', "intervalMs": ${__interval_ms}' if interval else ""
    return '{"target": ' + json.dumps(target) + ', "from": ${__from}, "to": ${__to}' + interval_part + "}"


def infinity_query(ref: dict[str, str], query: Query, interval: bool = True) -> dict[str, Any]:
    if query.kind == "timeserie":
        columns: tuple[Col, ...] = (
            Col(SERIES_TIME, "timestamp_epoch", "Time"),
            Col(SERIES_VALUE, "number", "Value"),
            Col(SERIES_NAME, "string", "series"),
        )
        fmt = "table" if query.long else "timeseries"
    else:
        columns, fmt = query.columns, "table"
    return {
        "datasource": ref,
        "refId": query.ref_id,
        "type": "json",
        "source": "url",
        "parser": "backend",
        "format": fmt,
        "url": "/rows",
        "url_options": {
            "method": "POST",
            "body_type": "raw",
            "body_content_type": "application/json",
            "data": infinity_body(query.target, interval),
        },
        "root_selector": "",
        "columns": [{"selector": c.selector, "text": c.name, "type": c.type} for c in columns],
        "filters": [],
    }
