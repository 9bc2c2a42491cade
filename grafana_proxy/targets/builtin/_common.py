"""Helpers the built-in targets share: resolving endpoints (404 for unknown ones), parsing the
``list_endpoints`` filter parameters and choice parameters, and turning JSON stats into table cells.
Private (leading underscore), so the registry does not load it as a target module."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from enum import IntEnum
from typing import Any

from grafana_proxy.model import EndpointFilter, EndpointRecord, EndpointSummary, EndpointType
from grafana_proxy.targets.base import QueryContext, TargetError
from grafana_proxy.targets.params import parse_bool, parse_list

# Parameters of every target that selects endpoints the way list_endpoints does.
FILTER_PARAMS: tuple[str, ...] = ("model", "function", "labels", "uids", "filter_router")


def unknown_endpoint(project: str, uid: str) -> TargetError:
    return TargetError(f"model endpoint {uid!r} not found in project {project!r}", status=404)


def get_record(ctx: QueryContext, project: str, uid: str) -> EndpointRecord:
    """The full endpoint record, or 404 naming project and uid."""
    record = ctx.stores.endpoints.get(project, uid)
    if record is None:
        raise unknown_endpoint(project, uid)
    return record


def required_record(ctx: QueryContext) -> tuple[str, EndpointRecord]:
    """``project`` (access-checked) and the record named by the required ``endpoint_id``."""
    project = ctx.project()
    return project, get_record(ctx, project, ctx.require("endpoint_id"))


def summaries_for(
    ctx: QueryContext, project: str, uids: Sequence[str], exclude_routers: bool = False
) -> list[EndpointSummary]:
    """Summaries of the listed endpoints (all of the project when ``uids`` is empty), in the order
    asked for. An explicitly listed uid that does not exist is a 404 rather than a silently empty
    panel; a listed router dropped by ``exclude_routers`` is not an error."""
    if not uids:
        return ctx.stores.endpoints.summaries(project, EndpointFilter(exclude_routers=exclude_routers))
    # Routers are dropped here, not in the store, so that "router" and "does not exist" stay apart.
    by_uid = {s.uid: s for s in ctx.stores.endpoints.summaries(project, EndpointFilter(uids=tuple(uids)))}
    for uid in uids:
        if uid not in by_uid:
            raise unknown_endpoint(project, uid)
    ordered = [by_uid[uid] for uid in dict.fromkeys(uids)]
    if exclude_routers:
        ordered = [s for s in ordered if s.endpoint_type != EndpointType.router]
    return ordered


def parse_labels(value: str | None) -> dict[str, str]:
    """``labels=a=1,b:2`` -> ``{"a": "1", "b": "2"}``; each item needs a key and a value."""
    labels: dict[str, str] = {}
    for item in parse_list(value):
        eq, colon = item.find("="), item.find(":")
        positions = [p for p in (eq, colon) if p >= 0]
        if not positions:
            raise TargetError(f"label {item!r} must be key=value or key:value (comma-separated list)")
        cut = min(positions)
        key, val = item[:cut].strip(), item[cut + 1 :].strip()
        if not key:
            raise TargetError(f"label {item!r} has an empty key; expected key=value or key:value")
        labels[key] = val
    return labels


def endpoint_filter(ctx: QueryContext) -> EndpointFilter:
    """The ``list_endpoints`` filter parameters as a store filter."""
    return EndpointFilter(
        model=ctx.param("model"),
        function=ctx.param("function"),
        labels=parse_labels(ctx.param("labels")),
        uids=tuple(parse_list(ctx.param("uids"))),
        exclude_routers=parse_bool(ctx.param("filter_router"), "filter_router"),
    )


def choice(ctx: QueryContext, key: str, allowed: Sequence[str], default: str) -> str:
    """A parameter restricted to ``allowed``; anything else is a 400 listing the allowed values."""
    value = ctx.param(key, default)
    assert value is not None
    if value not in allowed:
        raise TargetError(f"parameter {key!r} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def number(value: Any) -> int | float | None:
    """A JSON number as a table cell: non-numbers (strings, bools, dicts), NaN and infinities -> None,
    because stats written by clients may hold anything and JSON cannot carry NaN."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def stat(stats: Any, *keys: str) -> int | float | None:
    """``stats[k1][k2]...`` as a number, or None when any level is missing or not a dict."""
    current = stats
    for key in keys:
        if not isinstance(current, Mapping):
            return None
        current = current.get(key)
    return number(current)


def endpoint_label(summary: EndpointSummary) -> str:
    """How an endpoint is named in series names: its name, or its uid when it has none."""
    return summary.name or summary.uid


def enum_name(enum: type[IntEnum], value: int) -> str | None:
    """The MLRun name of a result kind or status; None for a number outside the enum (clients may
    write newer values than this version knows)."""
    try:
        return enum(value).name
    except ValueError:
        return None
