"""The write API for endpoint records, metrics, feature samples and application results, under
``/api/v1/projects/{project}/model-endpoints``. A 2xx means the write is committed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from grafana_proxy.api.artifacts import KeeperDep
from grafana_proxy.api.schemas import NAME_PATTERN, EndpointPatch, FeaturesIn, MetricsIn, ResultsIn
from grafana_proxy.auth import ReadableProject, WritableProject
from grafana_proxy.deps import RuntimeDep
from grafana_proxy.errors import ApiError, json_response
from grafana_proxy.model import AppResult, SeriesKind
from grafana_proxy.stores.base import Point, Stores

router = APIRouter(prefix="/api/v1/projects/{project}/model-endpoints", tags=["write API"])

Uid = Annotated[str, Path(min_length=1, max_length=64, pattern=NAME_PATTERN)]


def _existing(stores: Stores, project: str, uid: str) -> None:
    if stores.endpoints.get(project, uid) is None:
        raise ApiError(404, f"model endpoint {uid!r} not found in project {project!r}; create it with PUT first")


@router.put("/{uid}", summary="Create or update (partially) an endpoint record")
def put_endpoint(project: WritableProject, uid: Uid, body: EndpointPatch, runtime: RuntimeDep) -> Response:
    stores = runtime.stores
    fields = body.model_dump(exclude_unset=True)
    try:
        record = stores.endpoints.upsert(project, uid, fields)
    except ValueError as exc:
        raise ApiError(422, str(exc)) from None
    return json_response(record.to_dict())


@router.get("/{uid}", summary="One endpoint record")
def get_endpoint(project: ReadableProject, uid: Uid, runtime: RuntimeDep) -> Response:
    stores = runtime.stores
    record = stores.endpoints.get(project, uid)
    if record is None:
        raise ApiError(404, f"model endpoint {uid!r} not found in project {project!r}")
    return json_response(record.to_dict())


@router.get("", summary="Every endpoint record of the project")
def list_endpoints(project: ReadableProject, runtime: RuntimeDep) -> Response:
    stores = runtime.stores
    return json_response([record.to_dict() for record in stores.endpoints.records(project)])


@router.delete("/{uid}", summary="Delete an endpoint with its series, results and artifacts")
def delete_endpoint(project: WritableProject, uid: Uid, runtime: RuntimeDep, artifacts: KeeperDep) -> Response:
    stores = runtime.stores
    if not stores.endpoints.delete(project, uid):
        raise ApiError(404, f"model endpoint {uid!r} not found in project {project!r}")
    artifacts.forget_endpoint(project, uid)
    return json_response({"deleted": uid})


@router.post("/{uid}/metrics", summary="Append metric points")
async def post_metrics(project: WritableProject, uid: Uid, body: MetricsIn, runtime: RuntimeDep) -> Response:
    stores = runtime.stores
    points = [Point(p.name, p.timestamp, p.value) for p in body.points]
    return json_response(await run_in_threadpool(_write_series, stores, project, uid, SeriesKind.metric, points))


@router.post("/{uid}/features", summary="Append samples of incoming feature values")
async def post_features(project: WritableProject, uid: Uid, body: FeaturesIn, runtime: RuntimeDep) -> Response:
    stores = runtime.stores
    points = [
        Point(name, sample.timestamp, value)
        for sample in body.samples
        for name, value in sample.values.items()
        if value is not None  # a missing feature value is a gap, not a zero
    ]
    return json_response(await run_in_threadpool(_write_series, stores, project, uid, SeriesKind.feature, points))


def _write_series(stores: Stores, project: str, uid: str, kind: SeriesKind, points: list[Point]) -> dict[str, Any]:
    _existing(stores, project, uid)
    written = stores.series.write(project, uid, kind, points)
    return {"received": len(points), "written": written}


@router.post("/{uid}/results", summary="Store results of monitoring applications")
async def post_results(project: WritableProject, uid: Uid, body: ResultsIn, runtime: RuntimeDep) -> Response:
    stores = runtime.stores
    for index, item in enumerate(body.results):
        if item.end_infer_time < item.start_infer_time:
            raise ApiError(422, f"results[{index}].end_infer_time is before start_infer_time")
    results = [
        AppResult(
            endpoint_uid=uid,
            application=item.application,
            name=item.name,
            kind=int(item.kind),
            status=int(item.status),
            value=item.value,
            start_infer_time=item.start_infer_time,
            end_infer_time=item.end_infer_time,
            extra_data=item.extra_data,
        )
        for item in body.results
    ]

    def write() -> dict[str, Any]:
        _existing(stores, project, uid)
        return {"received": len(results), "written": stores.results.write(project, results)}

    return json_response(await run_in_threadpool(write))
