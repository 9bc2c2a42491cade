"""Prometheus metrics of the service and of the models it watches.

Wiring (``create_app``): ``install_metrics(app, runtime)`` adds ``GET /metrics`` and the request
middleware on the runtime's ``ServiceMetrics``. Hooks for the other parts of the program (on the
runtime, so nothing is global):

- ingest: ``runtime.metrics.set_ingest_provider(lambda: IngestSnapshot(...))``, called at scrape time.
- controller: ``with runtime.metrics.controller_run() as failed: ...`` (append failing application
  names to ``failed``), or ``runtime.metrics.observe_controller_run(seconds, failed)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI

from grafana_proxy.observability.models import ModelMetrics
from grafana_proxy.observability.service import IngestProvider, IngestSnapshot, ServiceMetrics

if TYPE_CHECKING:
    from grafana_proxy.runtime import Runtime

__all__ = ["IngestProvider", "IngestSnapshot", "ModelMetrics", "ServiceMetrics", "install_metrics"]


def install_metrics(app: FastAPI, runtime: Runtime) -> None:
    """``/metrics`` and the request middleware on the runtime's metrics. Call it after the other
    middleware is added, so the request metrics see every answer (413s too)."""
    # Imported here: the HTTP side needs auth, which needs the runtime, which holds these metrics.
    from grafana_proxy.observability.http import HttpMetricsMiddleware, router

    app.include_router(router)
    app.add_middleware(HttpMetricsMiddleware, metrics=runtime.metrics)
