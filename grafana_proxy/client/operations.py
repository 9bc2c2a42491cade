"""Every call of the client as data: which request to send and how to read the answer. The sync and async
clients only send what these build, so both behave the same by construction."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from grafana_proxy.client.errors import BadRequest
from grafana_proxy.client.types import Application, BatchInfo, MonitoringSettings, UploadState, endpoint_from_json
from grafana_proxy.model import AppResult, EndpointRecord

T = TypeVar("T")
# (bytes sent, total bytes) while a batch file is uploaded.
Progress = Callable[[int, int], None]
DATASOURCE = "/api/v1/grafana-proxy/model-endpoints"


@dataclass(frozen=True)
class Upload:
    """A file sent as the request body, streamed (never read into memory whole)."""

    path: Path
    content_type: str
    delete_after: bool = False
    progress: Progress | None = None


@dataclass(frozen=True)
class Op(Generic[T]):
    method: str
    path: str
    parse: Callable[[Any], T]
    params: Sequence[tuple[str, str]] = ()
    json: Any = None
    upload: Upload | None = None


def _q(value: str) -> str:
    return quote(value, safe="")


def _project(project: str) -> str:
    return f"/api/v1/projects/{_q(project)}"


def _same(data: Any) -> Any:
    return data


def _result(row: Mapping[str, Any]) -> AppResult:
    extra = row.get("extra_data") or "{}"
    return AppResult(
        endpoint_uid=str(row["endpoint_id"]),
        application=str(row["application"]),
        name=str(row["name"]),
        kind=int(row["kind"]),
        status=int(row["status"]),
        value=float(row["value"]),
        start_infer_time=int(row["start_infer_time"]),
        end_infer_time=int(row["time"]),
        extra_data=json.loads(extra) if isinstance(extra, str) else dict(extra),
    )


CONTENT_TYPES = {".parquet": "application/vnd.apache.parquet", ".pq": "application/vnd.apache.parquet"}
CONTENT_TYPES |= {".csv": "text/csv", ".json": "application/json"}


def content_type_of(path: Path) -> str:
    try:
        return CONTENT_TYPES[path.suffix.lower()]
    except KeyError:
        raise ValueError(f"{path}: batch files are .parquet, .csv or .json") from None


# -- endpoints -----------------------------------------------------------------------------------------


def put_endpoint(project: str, uid: str, fields: Mapping[str, Any]) -> Op[EndpointRecord]:
    return Op("PUT", f"{_project(project)}/model-endpoints/{_q(uid)}", endpoint_from_json, json=dict(fields))


def get_endpoint(project: str, uid: str) -> Op[EndpointRecord]:
    return Op("GET", f"{_project(project)}/model-endpoints/{_q(uid)}", endpoint_from_json)


def list_endpoints(project: str) -> Op[list[EndpointRecord]]:
    return Op("GET", f"{_project(project)}/model-endpoints", lambda data: [endpoint_from_json(d) for d in data])


def delete_endpoint(project: str, uid: str) -> Op[Any]:
    return Op("DELETE", f"{_project(project)}/model-endpoints/{_q(uid)}", _same)


# -- series, results, events, ground truth -------------------------------------------------------------


def _written(data: Any) -> int:
    return int(data.get("written", data.get("accepted", 0)))


def post_metrics(project: str, uid: str, points: Iterable[tuple[str, int, float]]) -> Op[int]:
    body = {"points": [{"name": n, "timestamp": t, "value": v} for n, t, v in points]}
    return Op("POST", f"{_project(project)}/model-endpoints/{_q(uid)}/metrics", _written, json=body)


def post_features(project: str, uid: str, samples: Iterable[tuple[int, Mapping[str, float | None]]]) -> Op[int]:
    body = {"samples": [{"timestamp": t, "values": dict(values)} for t, values in samples]}
    return Op("POST", f"{_project(project)}/model-endpoints/{_q(uid)}/features", _written, json=body)


def post_results(project: str, uid: str, results: Iterable[AppResult]) -> Op[int]:
    body = {
        "results": [
            {
                "application": r.application,
                "name": r.name,
                "kind": r.kind,
                "status": r.status,
                "value": r.value,
                "start_infer_time": r.start_infer_time,
                "end_infer_time": r.end_infer_time,
                "extra_data": r.extra_data,
            }
            for r in results
        ]
    }
    return Op("POST", f"{_project(project)}/model-endpoints/{_q(uid)}/results", _written, json=body)


def post_events(project: str, events: Sequence[Mapping[str, Any]]) -> Op[int]:
    return Op("POST", f"{_project(project)}/events", _written, json=[dict(e) for e in events])


def post_ground_truth(project: str, labels: Mapping[str, Any], endpoint: str | None, timestamp: int | None) -> Op[int]:
    items = []
    for request_id, value in labels.items():
        item: dict[str, Any] = {"request_id": request_id, "value": value}
        if endpoint is not None:
            item["endpoint_id"] = endpoint
        if timestamp is not None:
            item["timestamp"] = timestamp
        items.append(item)
    return Op("POST", f"{_project(project)}/ground-truth", _written, json={"labels": items})


def rows(target: str, start: int | str, end: int | str, max_points: int | None = None) -> Op[list[dict[str, Any]]]:
    """Any datasource target as flat rows (the Infinity route Grafana panels can use)."""
    body: dict[str, Any] = {"targets": [{"target": target}], "from": start, "to": end}
    if max_points is not None:
        body["maxDataPoints"] = max_points
    return Op("POST", f"{DATASOURCE}/rows", _same, json=body)


def _series(rows: list[dict[str, Any]], key: str) -> dict[str, list[tuple[int, float | None]]]:
    out: dict[str, list[tuple[int, float | None]]] = {}
    for row in rows:
        out.setdefault(str(row.get(key) or row["series"]), []).append((int(row["time"]), row["value"]))
    return out


def metric_series(
    project: str, endpoint: str, names: Sequence[str], start: int | str, end: int | str, agg: str
) -> Op[dict[str, list[tuple[int, float | None]]]]:
    target = f"target_endpoint=metrics;project={project};endpoint_id={endpoint};metric={','.join(names)};agg={agg}"
    base = rows(target, start, end)
    return Op(base.method, base.path, lambda data: _series(data, "metric"), json=base.json)


def feature_series(
    project: str, endpoint: str, names: Sequence[str] | None, start: int | str, end: int | str
) -> Op[dict[str, list[tuple[int, float | None]]]]:
    target = f"target_endpoint=incoming_features;project={project};endpoint_id={endpoint}"
    if names:
        target += f";features={','.join(names)}"
    base = rows(target, start, end)
    return Op(base.method, base.path, lambda data: _series(data, "series"), json=base.json)


def results(
    project: str, start: int | str, end: int | str, endpoint: str | None, application: str | None, name: str | None
) -> Op[list[AppResult]]:
    target = f"target_endpoint=app_results;project={project};format=table"
    for key, value in (("endpoint_id", endpoint), ("application", application), ("name", name)):
        if value is not None:
            target += f";{key}={value}"
    base = rows(target, start, end)
    return Op(base.method, base.path, lambda data: [_result(r) for r in data], json=base.json)


# -- monitoring ----------------------------------------------------------------------------------------


def put_monitoring(project: str, enabled: bool, base_period_minutes: float | None) -> Op[MonitoringSettings]:
    body: dict[str, Any] = {"enabled": enabled}
    if base_period_minutes is not None:
        body["base_period_minutes"] = base_period_minutes
    return Op("PUT", f"{_project(project)}/monitoring", MonitoringSettings.from_json, json=body)


def get_monitoring(project: str) -> Op[MonitoringSettings]:
    return Op("GET", f"{_project(project)}/monitoring", MonitoringSettings.from_json)


def delete_monitoring(project: str) -> Op[MonitoringSettings]:
    return Op("DELETE", f"{_project(project)}/monitoring", MonitoringSettings.from_json)


def put_application(
    project: str, name: str, application: str, params: Mapping[str, Any] | None, endpoints: Sequence[str] | None
) -> Op[Application]:
    body = {
        "application": application,
        "params": dict(params or {}),
        "endpoints": None if endpoints is None else list(endpoints),
    }
    return Op("PUT", f"{_project(project)}/monitoring/applications/{_q(name)}", Application.from_json, json=body)


def get_application(project: str, name: str) -> Op[Application]:
    return Op("GET", f"{_project(project)}/monitoring/applications/{_q(name)}", Application.from_json)


def list_applications(project: str) -> Op[list[Application]]:
    return Op(
        "GET", f"{_project(project)}/monitoring/applications", lambda data: [Application.from_json(a) for a in data]
    )


def delete_application(project: str, name: str) -> Op[Any]:
    return Op("DELETE", f"{_project(project)}/monitoring/applications/{_q(name)}", _same)


# -- batches -------------------------------------------------------------------------------------------


# Seconds the server holds a status request open until the upload finishes: the client follows an upload
# with one request per this many seconds, and hears of its end at once.
STATUS_WAIT_SECONDS = 10.0
# How long ``submit_batch`` and ``log_reference`` wait for the rows to be stored, by default.
UPLOAD_WAIT_SECONDS = 3600.0


def put_reference_rows(project: str, uid: str, upload: Upload) -> Op[UploadState]:
    """Training rows (Parquet) kept for row-based applications; the answer's ``result`` (once done) has
    ``rows_kept``."""
    path = f"{_project(project)}/model-endpoints/{_q(uid)}/reference-rows"
    return Op("PUT", path, UploadState.from_json, upload=upload)


def upload_status(project: str, upload_id: str, wait: float) -> Op[UploadState]:
    params = [("wait", f"{max(0.0, min(wait, STATUS_WAIT_SECONDS)):.3f}")]
    return Op("GET", f"{_project(project)}/uploads/{_q(upload_id)}", UploadState.from_json, params=params)


def upload_result(state: UploadState) -> dict[str, Any]:
    """What a finished upload stored; a failed one raises ``BadRequest`` with the server's reason, as the
    same check answered at once would have."""
    if state.status == "failed":
        message = state.message or "the upload failed"
        raise BadRequest(400, message, state.error, {"message": message, "error": state.error})
    return dict(state.result or {})


def submit_batch(
    project: str,
    upload: Upload,
    endpoint: str | None,
    job: str | None,
    model: str | None,
    prediction: Sequence[str],
    label: str | None,
    timestamp_column: str | None,
    time: int | str | None,
    features: Sequence[str] | None,
    batch_id: str | None,
) -> Op[UploadState]:
    if (endpoint is None) == (job is None):
        raise ValueError("give endpoint= (an existing endpoint) or job= (the job's own batch endpoint), not both")
    params: list[tuple[str, str]] = [("prediction", p) for p in prediction]
    optional = {"label": label, "timestamp_column": timestamp_column, "batch_id": batch_id, "model": model}
    optional["time"] = None if time is None else str(time)
    optional["features"] = None if features is None else ",".join(features)
    params += [(k, v) for k, v in optional.items() if v is not None]
    if endpoint is not None:
        path = f"{_project(project)}/model-endpoints/{_q(endpoint)}/batches"
    else:
        path = f"{_project(project)}/batches"
        params.append(("job", str(job)))
    return Op("POST", path, UploadState.from_json, params=params, upload=upload)


def list_batches(project: str, endpoint: str) -> Op[list[BatchInfo]]:
    return Op(
        "GET",
        f"{_project(project)}/model-endpoints/{_q(endpoint)}/batches",
        lambda data: [BatchInfo.from_json(b) for b in data],
    )


def get_batch(project: str, batch_id: str) -> Op[BatchInfo]:
    return Op("GET", f"{_project(project)}/batches/{_q(batch_id)}", BatchInfo.from_json)
