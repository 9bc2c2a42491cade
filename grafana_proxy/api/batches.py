"""Batch inference in: ``POST /api/v1/projects/{project}/model-endpoints/{uid}/batches`` (an existing
endpoint) or ``POST /api/v1/projects/{project}/batches?job=NAME`` (the job's own batch endpoint). The body
is a Parquet or CSV file, or JSON records; it is streamed to disk, so its size is bounded by
``batch_max_bytes``, not by memory. What is cheap to check (format, CSV header, JSON records, the columns
asked for) is checked here; then the file is staged for the ingest role (``api.uploads``), which reads it
chunk by chunk. 202 carries the status URL: once it says done, the rows are stored and the batch is
queued for the controller, which analyses it as one window.

The api role never loads pandas or pyarrow for a batch: the ingest role reads it."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from grafana_proxy.api.schemas import NAME_PATTERN
from grafana_proxy.api.uploads import accepted, spooled_body, stage_upload
from grafana_proxy.auth import ReadableProject, WritableProject
from grafana_proxy.clock import InvalidTime, now_ms, parse_time
from grafana_proxy.deps import RuntimeDep
from grafana_proxy.errors import ApiError, json_response
from grafana_proxy.model import Upload, UploadKind
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores

router = APIRouter(prefix="/api/v1/projects/{project}", tags=["batch"])

Uid = Annotated[str, Path(min_length=1, max_length=64, pattern=NAME_PATTERN)]
Name = Annotated[str, Query(min_length=1, max_length=128, pattern=NAME_PATTERN)]
_DESCRIPTION = (
    "Body: Parquet (Content-Type application/vnd.apache.parquet or application/octet-stream), CSV (text/csv) "
    'or JSON records (application/json: [{...}, ...] or {"records": [...]}). Columns: features, the '
    "prediction column(s) (`prediction`, repeatable), an optional label (ground truth, default `label` when "
    "present) and an optional timestamp column (default `timestamp` when present); without one, `time` (or "
    "now) is the time of every row. `features` (comma list) picks the feature columns (default: the rest). "
    "Answers 202 with `status_url`: GET it (with `wait=` seconds) until `status` is `done` (`result`: rows, "
    "labels, time range) or `failed` (`message`: what to fix)."
)


def _time(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return parse_time(value, now=now_ms(), field="time")
    except InvalidTime as error:
        raise ApiError(400, str(error)) from None


async def _submit(
    request: Request,
    project: str,
    uid: str,
    record_fields: dict[str, Any] | None,
    stores: Stores,
    settings: Settings,
    spec_args: dict[str, Any],
    batch_id: str | None,
    fmt: str | None,
) -> Response:
    from grafana_proxy.batch.ingest import BatchSpec
    from grafana_proxy.batch.precheck import check_batch
    from grafana_proxy.batch.reader import BadBatch, BatchFormat, format_of

    try:
        kind = BatchFormat(fmt) if fmt else format_of(request.headers.get("content-type"))
    except (BadBatch, ValueError) as error:
        raise ApiError(415 if fmt is None else 400, str(error), "unsupported batch format") from None
    path = await spooled_body(request, settings)
    if kind is BatchFormat.json and path.stat().st_size > settings.max_body_bytes:
        path.unlink(missing_ok=True)  # JSON is parsed whole: large batches go as Parquet or CSV, read in chunks
        raise ApiError(
            413,
            f"JSON batches are limited to {settings.max_body_bytes} bytes (GRAFANA_PROXY_MAX_BODY_BYTES); "
            "send larger batches as Parquet or CSV",
            "payload too large",
        )
    params = {
        "spec": {k: list(v) if isinstance(v, tuple) else v for k, v in spec_args.items()},
        "batch_id": batch_id or uuid.uuid4().hex[:16],
        "record_fields": record_fields,
    }

    def work() -> Upload:
        try:
            check_batch(path, kind, BatchSpec(**spec_args))
        except BadBatch as error:
            path.unlink(missing_ok=True)
            raise ApiError(400, str(error), "invalid batch") from None
        return stage_upload(settings, stores, path, UploadKind.batch, project, uid, kind.value, params)

    return accepted(await run_in_threadpool(work))


def _spec(
    prediction: list[str] | None,
    label: str | None,
    timestamp_column: str | None,
    time: str | None,
    features: str | None,
) -> dict[str, Any]:
    return {
        "predictions": tuple(prediction or ["prediction"]),
        "label": label,
        "timestamp": timestamp_column,
        "time": _time(time),
        "features": None if features is None else tuple(f.strip() for f in features.split(",") if f.strip()),
    }


Prediction = Annotated[list[str] | None, Query(description="Prediction column; repeatable. Default: prediction.")]
Label = Annotated[str | None, Query(description="Label column (ground truth).")]
TimestampColumn = Annotated[str | None, Query(description="Column with each row's time.")]
Time = Annotated[str | None, Query(description="Time of every row (epoch ms or ISO 8601) without a column.")]
Features = Annotated[str | None, Query(description="Feature columns, comma separated.")]
BatchId = Annotated[str | None, Query(min_length=1, max_length=64, pattern=NAME_PATTERN)]
Format = Annotated[str | None, Query(pattern="^(parquet|csv|json)$", description="Overrides the Content-Type.")]


@router.post(
    "/model-endpoints/{uid}/batches", summary="Submit a batch of inferences of an endpoint", description=_DESCRIPTION
)
async def post_endpoint_batch(
    project: WritableProject,
    uid: Uid,
    request: Request,
    runtime: RuntimeDep,
    prediction: Prediction = None,
    label: Label = None,
    timestamp_column: TimestampColumn = None,
    time: Time = None,
    features: Features = None,
    batch_id: BatchId = None,
    format: Format = None,
) -> Response:
    stores, settings = runtime.stores, runtime.settings
    spec = _spec(prediction, label, timestamp_column, time, features)
    if await run_in_threadpool(stores.endpoints.get, project, uid) is None:
        raise ApiError(
            404,
            f"model endpoint {uid!r} not found in project {project!r}; create it with PUT, or POST the batch "
            f"to /api/v1/projects/{project}/batches?job=<job name> for a batch endpoint",
        )
    return await _submit(request, project, uid, None, stores, settings, spec, batch_id, format)


@router.post(
    "/batches", summary="Submit a batch of a job (its endpoint derived from the job name)", description=_DESCRIPTION
)
async def post_job_batch(
    project: WritableProject,
    request: Request,
    runtime: RuntimeDep,
    job: Name,
    model: Annotated[str | None, Query(min_length=1, max_length=128, pattern=NAME_PATTERN)] = None,
    prediction: Prediction = None,
    label: Label = None,
    timestamp_column: TimestampColumn = None,
    time: Time = None,
    features: Features = None,
    batch_id: BatchId = None,
    format: Format = None,
) -> Response:
    from grafana_proxy.batch.ingest import job_endpoint

    stores, settings = runtime.stores, runtime.settings
    spec = _spec(prediction, label, timestamp_column, time, features)
    uid, fields = job_endpoint(project, job, model)
    return await _submit(request, project, uid, fields, stores, settings, spec, batch_id, format)


def _batch_view(batch: Any) -> dict[str, Any]:
    return {
        "batch_id": batch.batch_id,
        "endpoint_id": batch.endpoint_uid,
        "start": batch.start_ms,
        "end": batch.end_ms,
        "rows": batch.rows,
        "submitted_at": batch.submitted_at,
        "analysed_at": batch.analysed_at,
    }


@router.get("/model-endpoints/{uid}/batches", summary="The batches of an endpoint")
async def list_batches(project: ReadableProject, uid: Uid, runtime: RuntimeDep) -> Response:
    stores = runtime.stores

    found = await run_in_threadpool(stores.monitoring.batches, project, uid)
    return json_response([_batch_view(b) for b in found])


@router.get("/batches/{batch_id}", summary="One batch (analysed_at is set once the controller analysed it)")
async def get_batch(
    project: ReadableProject, batch_id: Annotated[str, Path(max_length=64)], runtime: RuntimeDep
) -> Response:
    stores = runtime.stores

    found = await run_in_threadpool(stores.monitoring.batch, project, batch_id)
    if found is None:
        raise ApiError(404, f"batch {batch_id!r} not found in project {project!r}")
    return json_response(_batch_view(found))
