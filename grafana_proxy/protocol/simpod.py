"""simPod's JSON datasource additions: /metrics (the builder's target list with typed payload
fields), /metric-payload-options (choices for a select field) and /variable (query variables).
Its /query is served by :mod:`grafana_proxy.protocol.simplejson`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from grafana_proxy.errors import json_response
from grafana_proxy.protocol.dispatch import RequestScope, ScopeDep, run_choices, target_params
from grafana_proxy.protocol.requests import (
    MetricsRequest,
    PayloadOptionsRequest,
    VariableRequest,
    read_body,
)
from grafana_proxy.targets.base import TargetError

router = APIRouter()

# Payload fields whose choices come from a search target, and the search that lists them.
_DYNAMIC_OPTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "project": ("list_projects", ()),
    "endpoint_id": ("list_endpoints", ("project",)),
    "uids": ("list_endpoints", ("project",)),
    "metric": ("list_metrics", ("project", "endpoint_id")),
    "name": ("list_metrics", ("project", "endpoint_id")),
    "application": ("list_applications", ("project", "endpoint_id")),
}
_STATIC_OPTIONS: dict[str, tuple[str, ...]] = {
    "filter_router": ("false", "true"),
    "agg": ("avg", "min", "max", "sum", "count", "last"),
    "field": ("value", "status"),
    "format": ("series", "table"),
}
_MULTI = ("uids", "metric", "features")


def _payload_field(name: str) -> dict[str, Any]:
    field: dict[str, Any] = {"name": name, "label": name.replace("_", " ")}
    if name in _STATIC_OPTIONS:
        field["type"] = "select"
        field["options"] = [{"label": value, "value": value} for value in _STATIC_OPTIONS[name]]
    elif name in _DYNAMIC_OPTIONS:
        field["type"] = "multi-select" if name in _MULTI else "select"
        field["reloadMetric"] = name == "project"
    else:
        field["type"] = "input"
    return field


@router.post("/metrics", summary="simPod: targets and their payload fields")
async def metrics(request: Request, scope: ScopeDep) -> Response:
    await read_body(request, MetricsRequest)
    answer = [
        {
            "label": target.name,
            "value": target.name,
            "payloads": [_payload_field(name) for name in target.params],
        }
        for target in scope.registry
        if target.query is not None
    ]
    return json_response(answer)


def _options(scope: RequestScope, body: PayloadOptionsRequest) -> list[dict[str, str]]:
    if body.name in _STATIC_OPTIONS:
        return [{"label": value, "value": value} for value in _STATIC_OPTIONS[body.name]]
    source = _DYNAMIC_OPTIONS.get(body.name)
    if source is None:
        return []
    search, needs = source
    params = {"target_endpoint": search}
    for key in needs:
        value = body.payload.get(key)
        if value in (None, "", []):
            return []  # the field it depends on is not chosen yet
        params[key] = ",".join(value) if isinstance(value, list) else str(value)
    return [{"label": c.text, "value": c.value} for c in run_choices(scope, params)]


@router.post("/metric-payload-options", summary="simPod: choices of one payload field")
async def metric_payload_options(request: Request, scope: ScopeDep) -> Response:
    body = await read_body(request, PayloadOptionsRequest)
    return json_response(await run_in_threadpool(_options, scope, body))


@router.post("/variable", summary="simPod: query variables")
async def variable(request: Request, scope: ScopeDep) -> Response:
    body = await read_body(request, VariableRequest)
    payload = body.payload
    if isinstance(payload, dict) and isinstance(payload.get("target"), str):
        params = target_params(payload["target"], None)
    elif isinstance(payload, dict) and payload:
        params = target_params(None, payload)
    elif isinstance(payload, str):
        params = target_params(payload, None)
    else:
        raise TargetError('variable payload is empty; expected {"target": "target_endpoint=list_projects"}')
    choices = await run_in_threadpool(run_choices, scope, params)
    return json_response([{"__text": c.text, "__value": c.value} for c in choices])
