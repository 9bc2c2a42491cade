"""``AsyncClient``: the grafana-proxy API from Python, with asyncio (httpx); the methods of ``Client``."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from grafana_proxy.client import _http
from grafana_proxy.client import operations as ops
from grafana_proxy.client.errors import NotFound, UploadTimeout
from grafana_proxy.client.sync import batch_upload
from grafana_proxy.client.types import Application, BatchInfo, BatchReport, MonitoringSettings, UploadState
from grafana_proxy.model import AppResult, EndpointRecord

if TYPE_CHECKING:
    import pandas as pd

T = TypeVar("T")


class AsyncClient:
    """``AsyncClient(url, key=..., project=...)``; ``async with`` it, or ``await client.close()``."""

    def __init__(
        self,
        url: str,
        key: str | None = None,
        project: str | None = None,
        timeout: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.project = project
        self._http = httpx.AsyncClient(base_url=url, headers=_http.headers(key), timeout=timeout, transport=transport)

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    def _p(self, project: str | None) -> str:
        chosen = project or self.project
        if not chosen:
            raise ValueError("no project: pass project= or create the client with project=")
        return chosen

    async def _call(self, op: ops.Op[T]) -> T:
        args = _http.request_args(op)
        try:
            if op.upload is not None:
                args["content"] = _http.file_chunks_async(op.upload)
            return _http.answer(op, await self._http.request(op.method, op.path, **args))
        finally:
            _http.done(op.upload)

    async def _stored(self, state: UploadState, wait_timeout: float) -> dict[str, Any]:
        """Follow an accepted upload until the server has stored it (its result) or refused it (raises)."""
        deadline = time.monotonic() + wait_timeout
        while not state.finished:
            left = deadline - time.monotonic()
            if left <= 0:
                raise UploadTimeout(
                    f"upload {state.upload_id} is still {state.status} after {wait_timeout:g} s (is an ingest "
                    f"process running?); it stays queued: GET {state.status_url} to follow it",
                    state.upload_id,
                    state.status_url,
                )
            state = await self._call(ops.upload_status(state.project, state.upload_id, left))
        return ops.upload_result(state)

    # -- endpoints -----------------------------------------------------------------------------------

    async def endpoint(self, uid: str, *, project: str | None = None) -> EndpointRecord:
        return await self._call(ops.get_endpoint(self._p(project), uid))

    async def endpoints(self, *, project: str | None = None) -> list[EndpointRecord]:
        return await self._call(ops.list_endpoints(self._p(project)))

    async def put_endpoint(self, uid: str, *, project: str | None = None, **fields: Any) -> EndpointRecord:
        """Create the endpoint or update the given fields (MLRun's field names)."""
        return await self._call(ops.put_endpoint(self._p(project), uid, fields))

    async def delete_endpoint(self, uid: str, *, project: str | None = None) -> None:
        await self._call(ops.delete_endpoint(self._p(project), uid))

    async def log_reference(
        self,
        df: pd.DataFrame,
        endpoint: str,
        *,
        label: str | None = None,
        exclude: Sequence[str] = (),
        project: str | None = None,
        wait_timeout: float = ops.UPLOAD_WAIT_SECONDS,
    ) -> EndpointRecord:
        """Reference (training) statistics of ``df`` as the endpoint's ``feature_stats``: the same
        histograms the server computes, so drift compares like with like. A sample of the rows (at most
        20,000) is kept on the server too, for applications that compare rows (Evidently's reports)."""
        from grafana_proxy.client.frames import reference_fields, reference_rows_file

        try:
            record: EndpointRecord | None = await self.endpoint(endpoint, project=project)
        except NotFound:
            record = None
        updated = await self.put_endpoint(endpoint, project=project, **reference_fields(df, label, exclude, record))
        upload = ops.Upload(
            reference_rows_file(df, label, exclude), "application/vnd.apache.parquet", delete_after=True
        )
        await self._stored(await self._call(ops.put_reference_rows(self._p(project), endpoint, upload)), wait_timeout)
        return updated

    # -- data in ---------------------------------------------------------------------------------------

    async def log_metrics(
        self, endpoint: str, points: Iterable[tuple[str, int, float]], *, project: str | None = None
    ) -> int:
        """Points ``(name, epoch ms, value)``; returns how many were new."""
        return await self._call(ops.post_metrics(self._p(project), endpoint, points))

    async def log_features(
        self, endpoint: str, samples: Iterable[tuple[int, Mapping[str, float | None]]], *, project: str | None = None
    ) -> int:
        """Samples ``(epoch ms, {feature: value})``."""
        return await self._call(ops.post_features(self._p(project), endpoint, samples))

    async def log_results(self, endpoint: str, results: Iterable[AppResult], *, project: str | None = None) -> int:
        return await self._call(ops.post_results(self._p(project), endpoint, results))

    async def send_events(self, events: Sequence[Mapping[str, Any]], *, project: str | None = None) -> int:
        """Inference events (what the gateway records); returns how many were accepted (durable)."""
        return await self._call(ops.post_events(self._p(project), events))

    async def log_ground_truth(
        self,
        labels: Mapping[str, Any],
        *,
        endpoint: str | None = None,
        timestamp: int | None = None,
        project: str | None = None,
    ) -> int:
        """True labels by request id: ``{request_id: label}``."""
        return await self._call(ops.post_ground_truth(self._p(project), labels, endpoint, timestamp))

    # -- reading -------------------------------------------------------------------------------------

    async def metrics(
        self,
        endpoint: str,
        names: Sequence[str],
        start: int | str = "now-24h",
        end: int | str = "now",
        *,
        agg: str = "avg",
        project: str | None = None,
    ) -> dict[str, list[tuple[int, float | None]]]:
        """Metric series of an endpoint, bucketed as the panels get them: name -> [(epoch ms, value)]."""
        return await self._call(ops.metric_series(self._p(project), endpoint, names, start, end, agg))

    async def features(
        self,
        endpoint: str,
        names: Sequence[str] | None = None,
        start: int | str = "now-24h",
        end: int | str = "now",
        *,
        project: str | None = None,
    ) -> dict[str, list[tuple[int, float | None]]]:
        """Sampled incoming feature values: feature -> [(epoch ms, value)]."""
        return await self._call(ops.feature_series(self._p(project), endpoint, names, start, end))

    async def results(
        self,
        start: int | str = "now-24h",
        end: int | str = "now",
        *,
        endpoint: str | None = None,
        application: str | None = None,
        name: str | None = None,
        project: str | None = None,
    ) -> list[AppResult]:
        """Application results whose window ended in ``[start, end)``, as the dashboards read them."""
        return await self._call(ops.results(self._p(project), start, end, endpoint, application, name))

    async def rows(self, target: str, start: int | str = "now-1h", end: int | str = "now") -> list[dict[str, Any]]:
        """Any datasource target (``target_endpoint=...;project=...``) as flat rows."""
        return await self._call(ops.rows(target, start, end))

    # -- monitoring ------------------------------------------------------------------------------------

    async def enable_monitoring(
        self, base_period_minutes: float | None = None, *, project: str | None = None
    ) -> MonitoringSettings:
        """Monitor the project, every ``base_period_minutes`` (a change applies from the next window)."""
        return await self._call(ops.put_monitoring(self._p(project), True, base_period_minutes))

    async def disable_monitoring(self, *, project: str | None = None) -> MonitoringSettings:
        return await self._call(ops.delete_monitoring(self._p(project)))

    async def monitoring(self, *, project: str | None = None) -> MonitoringSettings:
        return await self._call(ops.get_monitoring(self._p(project)))

    async def set_application(
        self,
        name: str,
        application: str | None = None,
        *,
        params: Mapping[str, Any] | None = None,
        endpoints: Sequence[str] | None = None,
        project: str | None = None,
    ) -> Application:
        """Set a monitoring application: a built-in name or ``package.module:Class`` (default: ``name``)."""
        return await self._call(ops.put_application(self._p(project), name, application or name, params, endpoints))

    async def application(self, name: str, *, project: str | None = None) -> Application:
        return await self._call(ops.get_application(self._p(project), name))

    async def applications(self, *, project: str | None = None) -> list[Application]:
        return await self._call(ops.list_applications(self._p(project)))

    async def remove_application(self, name: str, *, project: str | None = None) -> None:
        await self._call(ops.delete_application(self._p(project), name))

    # -- batches ---------------------------------------------------------------------------------------

    async def submit_batch(
        self,
        data: pd.DataFrame | str | Path,
        *,
        endpoint: str | None = None,
        job: str | None = None,
        model: str | None = None,
        prediction: Sequence[str] = ("prediction",),
        label: str | None = None,
        timestamp_column: str | None = None,
        time: int | str | None = None,
        features: Sequence[str] | None = None,
        batch_id: str | None = None,
        progress: ops.Progress | None = None,
        project: str | None = None,
        wait_timeout: float = ops.UPLOAD_WAIT_SECONDS,
    ) -> BatchReport:
        """Batch inference results (a DataFrame, or a .parquet/.csv/.json file) for an existing
        ``endpoint``, or for ``job``'s own batch endpoint; streamed, ``progress(sent, total)`` bytes. Returns
        once the server has stored the rows (an ingest process reads the file), waiting ``wait_timeout``
        seconds at most (then ``UploadTimeout``; the batch stays queued)."""
        upload = batch_upload(data, progress)
        op = ops.submit_batch(
            self._p(project),
            upload,
            endpoint,
            job,
            model,
            prediction,
            label,
            timestamp_column,
            time,
            features,
            batch_id,
        )
        return BatchReport.from_json(await self._stored(await self._call(op), wait_timeout))

    async def batches(self, endpoint: str, *, project: str | None = None) -> list[BatchInfo]:
        return await self._call(ops.list_batches(self._p(project), endpoint))

    async def batch(self, batch_id: str, *, project: str | None = None) -> BatchInfo:
        return await self._call(ops.get_batch(self._p(project), batch_id))
