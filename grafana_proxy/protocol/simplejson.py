"""The SimpleJSON protocol (grafana-simple-json-datasource, and MLRun's proxy): health, /search,
/query, /annotations, /tag-keys, /tag-values. simPod's /query is the same route: its targets carry a
``payload`` and its ad hoc filters arrive as ``filters``; both are read here."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from grafana_proxy.auth import authenticate
from grafana_proxy.errors import json_response
from grafana_proxy.protocol.dispatch import (
    RequestScope,
    ScopeDep,
    run_annotations,
    run_choices,
    run_query,
    run_search,
    target_params,
)
from grafana_proxy.protocol.encode import annotation_json, apply_filters, simplejson_frame
from grafana_proxy.protocol.requests import (
    AnnotationRequest,
    QueryRequest,
    QueryTarget,
    SearchRequest,
    TagValuesRequest,
    read_body,
)
from grafana_proxy.targets.base import TargetError

router = APIRouter()

TAG_KEYS = ("project", "endpoint_id", "model", "function")


def with_body(scope: RequestScope, body: QueryRequest) -> RequestScope:
    return replace(
        scope,
        range_sources=body.range_sources(),
        interval_ms=body.interval_ms,
        max_data_points=body.max_data_points,
        filters=[f.model_dump() for f in body.all_filters()],
    )


@router.get("", summary="Save & test (simPod, MLRun)", dependencies=[Depends(authenticate)])
@router.get("/", summary="Save & test (SimpleJSON)", dependencies=[Depends(authenticate)])
def health() -> Response:
    # Both plugins only check for a 200; the body helps a human with curl.
    return json_response({"status": "ok", "message": "Data source is working"})


@router.post("/search", summary="Template variables and the metric picker")
async def search(request: Request, scope: ScopeDep) -> Response:
    body = await read_body(request, SearchRequest)
    if not (body.target or "").strip() and body.payload is None:
        # The query editor asks with an empty target: offer the query targets to pick from.
        return json_response([f"target_endpoint={name}" for name in scope.registry.names("query")])
    params = target_params(body.target, body.payload)
    choices = await run_in_threadpool(run_choices, scope, params)
    # The plugin shows a string as is and an object with both "text" and "value" as text -> value.
    return json_response([c.value if c.text == c.value else {"text": c.text, "value": c.value} for c in choices])


def answer_targets(scope: RequestScope, targets: list[QueryTarget]) -> list[dict[str, Any]]:
    """Every visible target in order; a bad one fails the request with its refId in the message."""
    answer: list[dict[str, Any]] = []
    for target in targets:
        if target.hide:
            continue
        try:
            if not (target.target or "").strip() and target.merged_payload is None:
                raise TargetError("the target is empty; expected e.g. target_endpoint=list_endpoints;project=P")
            params = target_params(target.target, target.merged_payload)
            frames = apply_filters(run_query(scope, params), scope.filters)
        except TargetError as exc:
            raise TargetError(f"query {target.ref_id}: {exc.message}", exc.status) from None
        answer.extend(simplejson_frame(frame, target.ref_id) for frame in frames)
    return answer


@router.post("/query", summary="Panel data (SimpleJSON, simPod, minimal Infinity bodies)")
async def query(request: Request, scope: ScopeDep) -> Response:
    body = await read_body(request, QueryRequest)
    return json_response(await run_in_threadpool(answer_targets, with_body(scope, body), body.all_targets()))


@router.post("/annotations", summary="Detections of monitoring applications as annotations")
async def annotation_query(request: Request, scope: ScopeDep) -> Response:
    body = await read_body(request, AnnotationRequest)
    scoped = replace(scope, range_sources=body.range_sources())
    query_text = body.annotation.get("query") or body.annotation.get("target") or ""
    if not isinstance(query_text, str):
        raise TargetError("annotation.query must be a target string such as project=P;endpoint_id=E")
    params = target_params(query_text, None)
    found = await run_in_threadpool(run_annotations, scoped, params)
    return json_response([annotation_json(item, body.annotation) for item in found])


@router.post("/tag-keys", summary="Ad hoc filter keys", dependencies=[Depends(authenticate)])
def tag_keys() -> Response:
    return json_response([{"type": "string", "text": key} for key in TAG_KEYS])


@router.post("/tag-values", summary="Ad hoc filter values of one key")
async def tag_values(request: Request, scope: ScopeDep) -> Response:
    body = await read_body(request, TagValuesRequest)
    if body.key not in TAG_KEYS:
        raise TargetError(f"unknown tag key {body.key!r}; supported keys: {', '.join(TAG_KEYS)}")
    params = {"target_endpoint": "tag_values", "key": body.key}
    values = await run_in_threadpool(run_search, scope, params)
    return json_response([{"text": value} for value in values])
