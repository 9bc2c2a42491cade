"""The Infinity-friendly form: ``GET`` or ``POST <prefix>/rows`` answers one target as a flat JSON array
of objects, the shape Infinity's backend parser (and so Grafana alerting) reads without a root
selector. The target and the time range may come from query parameters, the body or the target
string; a missing range means the last hour."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from grafana_proxy.errors import json_response
from grafana_proxy.protocol.dispatch import (
    RequestScope,
    ScopeDep,
    run_annotations,
    run_choices,
    run_query,
    target_params,
)
from grafana_proxy.protocol.encode import annotation_row, apply_filters, flat_rows, with_project
from grafana_proxy.protocol.requests import QueryRequest, read_body
from grafana_proxy.targets.base import Frame, TargetError
from grafana_proxy.targets.params import require_target_endpoint

router = APIRouter()


def _number(value: str | None, name: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):  # "inf"/"nan" parse as floats but are no resolution (500 before)
        raise TargetError(f"query parameter {name!r} must be a finite number, got {value!r}")
    return number


# ``project=*`` on /rows: the target once per project the key may read, rows labelled by project
# (how one alert rule covers every project and endpoint).
ALL_PROJECTS = "*"


def _frames(scope: RequestScope, params: dict[str, str]) -> list[Frame]:
    if params.get("project") != ALL_PROJECTS:
        return apply_filters(run_query(scope, params), scope.filters)
    frames: list[Frame] = []
    for project in scope.principal.access.visible(scope.runtime.stores.endpoints.projects()):
        for frame in apply_filters(run_query(scope, {**params, "project": project}), scope.filters):
            frames.append(with_project(frame, project))
    return frames


def rows_for(scope: RequestScope, targets: list[tuple[str, str | None, dict[str, Any] | None]]) -> list[Any]:
    rows: list[dict[str, Any]] = []
    for ref_id, text, payload in targets:
        params = target_params(text, payload)
        name = require_target_endpoint(params)
        if name in scope.registry.names("query"):
            project = params.get("project")
            extra = {"project": project} if project and project != ALL_PROJECTS else {}
            rows.extend(flat_rows(_frames(scope, params), extra))
        elif name in scope.registry.names("annotations"):  # detections: one row per region
            rows.extend(annotation_row(a) for a in run_annotations(scope, params))
        else:  # search-only targets (list_projects, ...) become {text, value} rows for variables
            rows.extend({"text": c.text, "value": c.value} for c in run_choices(scope, params))
        if len(targets) > 1:
            for row in rows:
                row.setdefault("refId", ref_id)
    return rows


def _scope_from(scope: RequestScope, request: Request, body: QueryRequest) -> RequestScope:
    query = dict(request.query_params)
    interval = body.interval_ms if body.interval_ms is not None else _number(query.get("intervalMs"), "intervalMs")
    points = body.max_data_points
    if points is None and query.get("maxDataPoints"):
        points = int(_number(query.get("maxDataPoints"), "maxDataPoints") or 0) or None
    return replace(
        scope,
        range_sources=body.range_sources(),
        interval_ms=interval,
        max_data_points=points,
        filters=[f.model_dump() for f in body.all_filters()],
        extra_params={k: v for k, v in query.items() if k in ("from", "to")},
    )


async def _rows(request: Request, scope: RequestScope, body: QueryRequest) -> Response:
    targets = [(t.ref_id, t.target, t.merged_payload) for t in body.all_targets() if not t.hide]
    query_target = request.query_params.get("target")
    if query_target:
        targets.insert(0, ("A", query_target, None))
    if not targets:
        raise TargetError('no target: pass ?target=target_endpoint=... or a body {"target": ...}')
    scoped = _scope_from(scope, request, body)
    return json_response(await run_in_threadpool(rows_for, scoped, targets))


@router.get("/rows", summary="Infinity: one target as flat rows (query parameters)")
async def rows_get(request: Request, scope: ScopeDep) -> Response:
    return await _rows(request, scope, QueryRequest())


@router.post("/rows", summary="Infinity: targets as flat rows (JSON body)")
async def rows_post(request: Request, scope: ScopeDep) -> Response:
    return await _rows(request, scope, await read_body(request, QueryRequest))
