"""Prometheus metrics of the service and of the models it watches.

Wiring (``create_app``)::

    install_metrics(app, stores)   # registry on app.state.metrics, GET /metrics, request middleware

Hooks for the other parts of the program (each takes the app, so nothing is global):

- ingest: ``set_ingest_provider(app, lambda: IngestSnapshot(accepted_events_total=..., backlog_records=...))``
  — called at scrape time; and ``model_metrics(app).observe_predictions(project, uid, n, latencies_us, errors)``
  once per folded batch and endpoint, for predictions totals and the latency histogram.
- controller: ``with service_metrics(app).controller_run() as failed: ...`` (append failing application
  names to ``failed``), or ``service_metrics(app).observe_controller_run(seconds, failed)``. A controller
  in its own process makes its own ``ServiceMetrics()`` and serves it with
  ``prometheus_client.start_http_server(port, registry=metrics.registry)``.
"""

from __future__ import annotations

from fastapi import FastAPI

from grafana_proxy.observability.http import HttpMetricsMiddleware, router
from grafana_proxy.observability.models import ModelMetrics
from grafana_proxy.observability.service import IngestProvider, IngestSnapshot, ServiceMetrics
from grafana_proxy.stores.base import Stores

__all__ = [
    "IngestProvider",
    "IngestSnapshot",
    "ModelMetrics",
    "ServiceMetrics",
    "install_metrics",
    "model_metrics",
    "service_metrics",
    "set_ingest_provider",
]


def install_metrics(app: FastAPI, stores: Stores) -> ServiceMetrics:
    """Give ``app`` its own registry, the request middleware, the target observer and ``/metrics``.
    Call it after the other middleware is added, so the request metrics see every answer (413s too)."""
    metrics = ServiceMetrics()
    app.state.metrics = metrics
    app.state.model_metrics = ModelMetrics(stores)
    app.state.target_observer = metrics.observe_target
    app.include_router(router)
    app.add_middleware(HttpMetricsMiddleware, metrics=metrics)
    return metrics


def service_metrics(app: FastAPI) -> ServiceMetrics:
    metrics: ServiceMetrics = app.state.metrics
    return metrics


def model_metrics(app: FastAPI) -> ModelMetrics:
    models: ModelMetrics = app.state.model_metrics
    return models


def set_ingest_provider(app: FastAPI, provider: IngestProvider | None) -> None:
    """Report the ingest pipeline's counters at scrape time (None stops reporting, e.g. on shutdown)."""
    service_metrics(app).set_ingest_provider(provider)
