"""The Python client of grafana-proxy: ``Client`` (blocking) and ``AsyncClient`` (asyncio), both on httpx.

    from grafana_proxy.client import Client

    with Client("http://127.0.0.1:8080", key=KEY, project="shop") as gp:
        gp.log_reference(train_df, endpoint=uid, label="label")
        gp.enable_monitoring(base_period_minutes=10)
        gp.set_application("drift", "histogram-data-drift", params={"drift_detected": 0.6})
        gp.submit_batch(scored_df, endpoint=uid, label="label")
        gp.results(endpoint=uid)

A refused call raises ``ServerError`` (``BadRequest``, ``AccessDenied``, ``NotFound``) with the server's
message. ``submit_batch`` and ``log_reference`` return once the server has stored the rows (its ingest
role reads uploaded files); a file it refuses then raises ``BadRequest`` like a refused call."""

from grafana_proxy.client.aio import AsyncClient
from grafana_proxy.client.errors import (
    AccessDenied,
    BadRequest,
    GrafanaProxyError,
    NotFound,
    ServerError,
    UploadTimeout,
)
from grafana_proxy.client.sync import Client
from grafana_proxy.client.types import Application, BatchInfo, BatchReport, MonitoringSettings

__all__ = [
    "AccessDenied",
    "Application",
    "AsyncClient",
    "BadRequest",
    "BatchInfo",
    "BatchReport",
    "Client",
    "GrafanaProxyError",
    "MonitoringSettings",
    "NotFound",
    "ServerError",
    "UploadTimeout",
]
